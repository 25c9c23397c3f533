/*
 * rlp.c
 *		Recursive Length Prefix (yellow paper, appendix B): the encoder the
 *		transaction builder uses, and a strict decoder (canonical forms only,
 *		bounds checked before every read) for raw transactions. Tested with
 *		ethereum/tests' rlptest.json examples and the fuzzer.
 */
#include <stdio.h>
#include <string.h>

#include "chain/chain_internal.h"

/* Big-endian bytes of n without leading zeros into out[8]; returns count. */
static int
be_len_bytes(uint64_t n, uint8_t out[8])
{
	int			k = 0;
	uint8_t		tmp[8];

	while (n > 0)
	{
		tmp[k++] = (uint8_t) (n & 0xff);
		n >>= 8;
	}
	for (int i = 0; i < k; i++)
		out[i] = tmp[k - 1 - i];
	return k;
}

/* The header of a string (offset 0x80) or list (0xc0) of n payload bytes. */
static size_t
rlp_header(uint8_t offset, size_t n, uint8_t hdr[9])
{
	uint8_t		lb[8];
	int			k;

	if (n < 56)
	{
		hdr[0] = (uint8_t) (offset + n);
		return 1;
	}
	k = be_len_bytes((uint64_t) n, lb);
	hdr[0] = (uint8_t) (offset + 55 + k);
	memcpy(hdr + 1, lb, k);
	return 1 + (size_t) k;
}

void
ChainRlpPutBytes(ChainBuf *buf, const uint8_t *p, size_t n)
{
	uint8_t		hdr[9];

	if (n == 1 && p[0] < 0x80)
	{
		ChainBufAppend(buf, p, 1);
		return;
	}
	ChainBufAppend(buf, hdr, rlp_header(0x80, n, hdr));
	ChainBufAppend(buf, p, n);
}

void
ChainRlpPutU64(ChainBuf *buf, uint64_t v)
{
	uint8_t		b[8];
	int			k = be_len_bytes(v, b);

	ChainRlpPutBytes(buf, b, (size_t) k);
}

void
ChainRlpPutU256(ChainBuf *buf, const ChainU256 *v)
{
	size_t		i = 0;

	while (i < 32 && v->be[i] == 0)
		i++;
	ChainRlpPutBytes(buf, v->be + i, 32 - i);
}

size_t
ChainRlpBeginList(ChainBuf *buf)
{
	return buf->len;
}

/*
 * ChainRlpEndList: the payload is buf[mark..len); move it right by the
 * header's size and write the header in front.
 */
void
ChainRlpEndList(ChainBuf *buf, size_t mark)
{
	uint8_t		hdr[9];
	size_t		n;
	size_t		h;

	if (buf->failed || mark > buf->len)
		return;
	n = buf->len - mark;
	h = rlp_header(0xc0, n, hdr);
	if (ChainBufExtend(buf, h) == NULL)
		return;
	memmove(buf->data + mark + h, buf->data + mark, n);
	memcpy(buf->data + mark, hdr, h);
}

bool
ChainRlpDecode(const uint8_t *in, size_t len, ChainRlpItem *item,
			   size_t *used, ChainError *err)
{
	uint8_t		b;
	size_t		hlen;
	size_t		plen;

	if (len == 0)
		return ChainSetError(err, CHAIN_ERR_DECODE, "RLP input is empty");
	b = in[0];
	if (b < 0x80)
	{
		item->is_list = false;
		item->data = in;
		item->len = 1;
		*used = 1;
		return true;
	}
	item->is_list = (b >= 0xc0);
	{
		uint8_t		base = item->is_list ? 0xc0 : 0x80;
		uint8_t		s = (uint8_t) (b - base);

		if (s <= 55)
		{
			hlen = 1;
			plen = s;
		}
		else
		{
			size_t		k = (size_t) (s - 55);	/* 1..8 length bytes */

			if (len < 1 + k)
				return ChainSetError(err, CHAIN_ERR_DECODE,
									 "RLP length of %zu bytes runs past the end of the input", k);
			if (in[1] == 0)
				return ChainSetError(err, CHAIN_ERR_DECODE,
									 "RLP length has a leading zero byte");
			if (k > sizeof(size_t))
				return ChainSetError(err, CHAIN_ERR_DECODE, "RLP length is too large");
			plen = 0;
			for (size_t i = 0; i < k; i++)
				plen = (plen << 8) | in[1 + i];
			if (plen < 56)
				return ChainSetError(err, CHAIN_ERR_DECODE,
									 "RLP long form used for a length under 56");
			hlen = 1 + k;
		}
	}
	if (plen > len - hlen)
		return ChainSetError(err, CHAIN_ERR_DECODE,
							 "RLP item of %zu bytes runs past the end of the input (%zu bytes left)",
							 plen, len - hlen);
	if (!item->is_list && plen == 1 && in[hlen] < 0x80)
		return ChainSetError(err, CHAIN_ERR_DECODE,
							 "RLP single byte below 0x80 must not have a header");
	item->data = in + hlen;
	item->len = plen;
	*used = hlen + plen;
	return true;
}

bool
ChainRlpNext(const ChainRlpItem *list, size_t *pos, ChainRlpItem *item, ChainError *err)
{
	size_t		used;

	if (err)
		err->code = CHAIN_OK;
	if (*pos >= list->len)
		return false;
	if (!ChainRlpDecode(list->data + *pos, list->len - *pos, item, &used, err))
	{
		size_t		off = *pos;

		/* name the place inside the list */
		if (err && strlen(err->message) + 40 < sizeof(err->message))
			snprintf(err->message + strlen(err->message), 40, " (at list offset %zu)", off);
		return false;
	}
	*pos += used;
	return true;
}

bool
ChainRlpToU256(const ChainRlpItem *item, ChainU256 *out, ChainError *err)
{
	if (item->is_list)
		return ChainSetError(err, CHAIN_ERR_DECODE, "RLP integer expected, found a list");
	if (item->len > 32)
		return ChainSetError(err, CHAIN_ERR_DECODE, "RLP integer longer than 32 bytes");
	if (item->len > 0 && item->data[0] == 0)
		return ChainSetError(err, CHAIN_ERR_DECODE, "RLP integer has a leading zero byte");
	memset(out->be, 0, 32);
	memcpy(out->be + 32 - item->len, item->data, item->len);
	return true;
}

bool
ChainRlpToU64(const ChainRlpItem *item, uint64_t *out, ChainError *err)
{
	ChainU256	v;

	if (!ChainRlpToU256(item, &v, err))
		return false;
	if (!ChainU256ToU64(&v, out))
		return ChainSetError(err, CHAIN_ERR_DECODE, "RLP integer does not fit in 64 bits");
	return true;
}
