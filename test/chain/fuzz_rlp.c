/*
 * fuzz_rlp.c
 *		libFuzzer target for the RLP decoder and the transaction decoder.
 *		Contracts checked on every input, beyond "no crash, no sanitizer
 *		report": a fully decoded RLP item re-encodes to exactly the input (the
 *		decoder accepts canonical encodings only); a decoded transaction's
 *		hash is keccak256 of the input and its body is canonical RLP; revert
 *		data always yields a NUL-terminated reason of valid UTF-8 inside its
 *		buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ChainEnv env;

static void
violated(const char *what)
{
	fprintf(stderr, "contract violated: %s\n", what);
	abort();
}

/* decode recursively, re-encoding into out; false when the input is refused */
static bool
reencode(ChainBuf *out, const uint8_t *in, size_t len, size_t *used, int depth)
{
	ChainRlpItem it;
	ChainError	err;

	if (!ChainRlpDecode(in, len, &it, used, &err))
	{
		if (err.code != CHAIN_ERR_DECODE || err.message[0] == '\0')
			violated("RLP refusal without a decode error message");
		return false;
	}
	if (*used > len || it.len > len || (it.len > 0 && (it.data < in || it.data + it.len > in + len)))
		violated("RLP item outside its input");
	if (!it.is_list)
		ChainRlpPutBytes(out, it.data, it.len);
	else
	{
		size_t		m = ChainRlpBeginList(out);
		size_t		pos = 0;
		ChainRlpItem child;

		if (depth > 200)
			return false;
		while (pos < it.len)
		{
			size_t		u;

			if (!reencode(out, it.data + pos, it.len - pos, &u, depth + 1))
				return false;
			pos += u;
		}
		/* ChainRlpNext walks the same children */
		pos = 0;
		while (ChainRlpNext(&it, &pos, &child, &err))
			;
		if (err.code != CHAIN_OK)
			violated("ChainRlpNext refuses what ChainRlpDecode accepted");
		ChainRlpEndList(out, m);
	}
	return true;
}

static bool
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		int			k = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;

		if (k == 0)
			return false;
		for (int i = 1; i < k; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += k;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ChainBuf	b;
	size_t		used;
	ChainTx		tx;
	ChainSignedTx sig;
	uint8_t		from[20];
	ChainError	err;
	ChainRevert rv;

	if (env.alloc == NULL)
		ChainEnvInitMalloc(&env);

	ChainBufInit(&b, &env);
	if (reencode(&b, data, size, &used, 0) && used == size &&
		(b.len != size || memcmp(b.data, data, size) != 0))
		violated("accepted RLP does not re-encode to itself");
	ChainBufFree(&b);

	if (ChainTxDecode(data, size, &tx, &sig, from, &err))
	{
		uint8_t		h[32];
		const uint8_t *body = data[0] == 0x02 ? data + 1 : data;
		size_t		blen = data[0] == 0x02 ? size - 1 : size;

		ChainKeccak256(data, size, h);
		if (memcmp(h, sig.hash, 32) != 0)
			violated("decoded transaction's hash is not keccak(raw)");
		ChainBufInit(&b, &env);
		if (!reencode(&b, body, blen, &used, 0) || used != blen ||
			b.len != blen || memcmp(b.data, body, blen) != 0)
			violated("decoded transaction is not canonical RLP");
		ChainBufFree(&b);
		if (tx.data_len > 0 && (tx.data < data || tx.data + tx.data_len > data + size))
			violated("transaction data outside the input");
	}
	else if (err.code != CHAIN_ERR_DECODE && err.code != CHAIN_ERR_ARGUMENT)
		violated("transaction refusal with an unexpected error class");

	ChainAbiDecodeRevert(data, size, &rv);
	if (memchr(rv.reason, '\0', sizeof(rv.reason)) == NULL || !valid_utf8(rv.reason))
		violated("revert reason not a valid C string of UTF-8");
	return 0;
}
