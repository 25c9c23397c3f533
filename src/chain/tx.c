/*
 * tx.c
 *		Keys, addresses and EIP-55 checksums, and transactions: the signing
 *		hash, signing with libsecp256k1 (recoverable, RFC 6979 deterministic
 *		nonces, low-s: the library only produces low-s signatures), the signed
 *		encoding of legacy EIP-155 and EIP-1559 (type 2) transactions, and a
 *		strict decoder that also recovers the sender.
 *
 * Key material: a private key is read from the caller's buffer only; the
 * library's own copies are libsecp256k1's on the stack of one call. Nothing
 * derived from the key but the public key and signature leaves a function.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "chain/chain_internal.h"

static secp256k1_context *secp_ctx;

/*
 * ChainSecpContext: the process-wide signing context, made and randomised
 * (blinding against side channels) on first use. libsecp256k1 allocates it
 * with malloc; it lives as long as the process.
 */
const struct secp256k1_context_struct *
ChainSecpContext(ChainError *err)
{
	if (secp_ctx == NULL)
	{
		unsigned char seed[32];
		secp256k1_context *ctx;

		ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
		if (ctx == NULL)
		{
			ChainSetError(err, CHAIN_ERR_NOMEM, "could not create the libsecp256k1 context");
			return NULL;
		}
		if (getrandom(seed, sizeof(seed), 0) == (ssize_t) sizeof(seed))
		{
			if (!secp256k1_context_randomize(ctx, seed))
			{
				ChainWipe(seed, sizeof(seed));
				secp256k1_context_destroy(ctx);
				ChainSetError(err, CHAIN_ERR_INTERNAL, "could not randomise the libsecp256k1 context");
				return NULL;
			}
		}
		ChainWipe(seed, sizeof(seed));
		secp_ctx = ctx;
	}
	return secp_ctx;
}

/* ---- keys and addresses ---- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool
ChainKeyParse(const char *text, size_t len, uint8_t key[CHAIN_KEY_LEN], ChainError *err)
{
	const secp256k1_context *ctx;
	size_t		b = 0,
				e = len;

	memset(key, 0, CHAIN_KEY_LEN);
	while (b < e && is_space(text[b]))
		b++;
	while (e > b && is_space(text[e - 1]))
		e--;
	if (e - b >= 2 && text[b] == '0' && (text[b + 1] == 'x' || text[b + 1] == 'X'))
		b += 2;
	if (e - b != 2 * CHAIN_KEY_LEN)
		return ChainSetError(err, CHAIN_ERR_KEY,
							 "private key must be 64 hex digits, found %zu characters", e - b);
	for (size_t i = 0; i < CHAIN_KEY_LEN; i++)
	{
		int			hi = ChainHexValue((unsigned char) text[b + 2 * i]);
		int			lo = ChainHexValue((unsigned char) text[b + 2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			ChainWipe(key, CHAIN_KEY_LEN);
			return ChainSetError(err, CHAIN_ERR_KEY,
								 "private key has a character that is not a hex digit at position %zu",
								 b + 2 * i + (hi < 0 ? 0 : 1) + 1);
		}
		key[i] = (uint8_t) (hi << 4 | lo);
	}
	if ((ctx = ChainSecpContext(err)) == NULL)
	{
		ChainWipe(key, CHAIN_KEY_LEN);
		return false;
	}
	if (!secp256k1_ec_seckey_verify(ctx, key))
	{
		ChainWipe(key, CHAIN_KEY_LEN);
		return ChainSetError(err, CHAIN_ERR_KEY,
							 "private key is out of range for secp256k1 (zero or not below the group order)");
	}
	return true;
}

/* The address of an uncompressed public key (65 bytes, 0x04 || X || Y). */
static void
pubkey_address(const uint8_t pub65[65], uint8_t addr[CHAIN_ADDRESS_LEN])
{
	uint8_t		h[CHAIN_HASH_LEN];

	ChainKeccak256(pub65 + 1, 64, h);
	memcpy(addr, h + 12, CHAIN_ADDRESS_LEN);
}

bool
ChainKeyAddress(const uint8_t key[CHAIN_KEY_LEN], uint8_t addr[CHAIN_ADDRESS_LEN],
				ChainError *err)
{
	const secp256k1_context *ctx = ChainSecpContext(err);
	secp256k1_pubkey pub;
	uint8_t		ser[65];
	size_t		serlen = sizeof(ser);

	if (ctx == NULL)
		return false;
	if (!secp256k1_ec_pubkey_create(ctx, &pub, key))
		return ChainSetError(err, CHAIN_ERR_KEY,
							 "private key is out of range for secp256k1 (zero or not below the group order)");
	secp256k1_ec_pubkey_serialize(ctx, ser, &serlen, &pub, SECP256K1_EC_UNCOMPRESSED);
	pubkey_address(ser, addr);
	return true;
}

/* EIP-55: upper-case the letter at i when nibble i of keccak(lower hex) >= 8 */
char *
ChainAddressToText(const uint8_t addr[CHAIN_ADDRESS_LEN], char out[CHAIN_ADDRESS_TEXT_LEN])
{
	uint8_t		h[CHAIN_HASH_LEN];

	ChainHexEncode(addr, CHAIN_ADDRESS_LEN, out, true);
	ChainKeccak256(out + 2, 40, h);
	for (int i = 0; i < 40; i++)
	{
		int			nib = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 15;
		char	   *c = &out[2 + i];

		if (*c >= 'a' && *c <= 'f' && nib >= 8)
			*c = (char) (*c - 'a' + 'A');
	}
	return out;
}

bool
ChainAddressParse(const char *text, size_t len, uint8_t addr[CHAIN_ADDRESS_LEN],
				  bool require_checksum, ChainError *err)
{
	bool		has_lower = false,
				has_upper = false;
	char		want[CHAIN_ADDRESS_TEXT_LEN];

	if (len != 42 || text[0] != '0' || text[1] != 'x')
	{
		ChainSetError(err, CHAIN_ERR_ADDRESS,
					  "invalid Ethereum address: expected \"0x\" and 40 hex digits, found %zu characters",
					  len);
		if (len == 40 && !(text[0] == '0' && text[1] == 'x'))
			snprintf(err->hint, sizeof(err->hint), "Write the address with its \"0x\" prefix.");
		return false;
	}
	for (size_t i = 2; i < 42; i++)
	{
		char		c = text[i];

		if (ChainHexValue((unsigned char) c) < 0)
			return ChainSetError(err, CHAIN_ERR_ADDRESS,
								 "invalid Ethereum address: character %zu is not a hex digit", i + 1);
		if (c >= 'a' && c <= 'f')
			has_lower = true;
		if (c >= 'A' && c <= 'F')
			has_upper = true;
	}
	if (!ChainHexDecode(text, len, addr, CHAIN_ADDRESS_LEN, NULL, "address", err))
		return false;
	if (!has_lower && !has_upper)
		return true;			/* digits only: nothing to check */
	if ((has_lower != has_upper) && !require_checksum)
		return true;			/* one case: EIP-55 says unchecksummed */
	ChainAddressToText(addr, want);
	for (size_t i = 2; i < 42; i++)
	{
		if (want[i] != text[i])
		{
			ChainSetError(err, CHAIN_ERR_ADDRESS,
						  "invalid Ethereum address: EIP-55 checksum mismatch at character %zu",
						  i + 1);
			snprintf(err->detail, sizeof(err->detail),
					 has_lower != has_upper
					 ? "The address is all in one case and a checksummed address is required."
					 : "A mixed-case address must match its EIP-55 checksum; this one has a mistyped letter or digit, or a letter in the wrong case.");
			snprintf(err->hint, sizeof(err->hint),
					 "Copy the address again from its source; do not retype it.");
			memset(addr, 0, CHAIN_ADDRESS_LEN);
			return false;
		}
	}
	return true;
}

void
ChainContractAddress(const uint8_t sender[CHAIN_ADDRESS_LEN], uint64_t nonce,
					 uint8_t out[CHAIN_ADDRESS_LEN])
{
	/* rlp([sender, nonce]) is at most 1 + 21 + 9 bytes: build it by hand */
	uint8_t		enc[40];
	uint8_t		h[CHAIN_HASH_LEN];
	size_t		n = 1;
	uint8_t		nb[8];
	int			k = 0;

	enc[n++] = 0x80 + 20;
	memcpy(enc + n, sender, 20);
	n += 20;
	for (uint64_t v = nonce; v > 0; v >>= 8)
		nb[k++] = (uint8_t) v;
	if (k == 0)
		enc[n++] = 0x80;
	else if (k == 1 && nb[0] < 0x80)
		enc[n++] = nb[0];
	else
	{
		enc[n++] = (uint8_t) (0x80 + k);
		for (int i = k - 1; i >= 0; i--)
			enc[n++] = nb[i];
	}
	enc[0] = (uint8_t) (0xc0 + (n - 1));
	ChainKeccak256(enc, n, h);
	memcpy(out, h + 12, CHAIN_ADDRESS_LEN);
}

/* ---- transactions ---- */

static bool
check_tx(const ChainTx *tx, ChainError *err)
{
	if (tx->type != CHAIN_TX_LEGACY && tx->type != CHAIN_TX_EIP1559)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT, "transaction type %d is not supported",
							 (int) tx->type);
	if (tx->chain_id == 0)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT, "chain id must be positive");
	if (tx->type == CHAIN_TX_LEGACY && tx->chain_id > (UINT64_MAX - 36) / 2)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT, "chain id is too large for EIP-155");
	if (tx->type == CHAIN_TX_EIP1559 &&
		ChainU256Cmp(&tx->max_priority_fee_per_gas, &tx->max_fee_per_gas) > 0)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT,
							 "max priority fee per gas is greater than max fee per gas");
	if (tx->data_len > 0 && tx->data == NULL)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT, "transaction data is missing");
	return true;
}

/* The fields common to both encodings, in each one's order, up to data. */
static void
put_fields(ChainBuf *buf, const ChainTx *tx)
{
	if (tx->type == CHAIN_TX_EIP1559)
	{
		ChainRlpPutU64(buf, tx->chain_id);
		ChainRlpPutU64(buf, tx->nonce);
		ChainRlpPutU256(buf, &tx->max_priority_fee_per_gas);
		ChainRlpPutU256(buf, &tx->max_fee_per_gas);
	}
	else
	{
		ChainRlpPutU64(buf, tx->nonce);
		ChainRlpPutU256(buf, &tx->gas_price);
	}
	ChainRlpPutU64(buf, tx->gas_limit);
	ChainRlpPutBytes(buf, tx->to, tx->has_to ? CHAIN_ADDRESS_LEN : 0);
	ChainRlpPutU256(buf, &tx->value);
	ChainRlpPutBytes(buf, tx->data, tx->data_len);
	if (tx->type == CHAIN_TX_EIP1559)
	{
		size_t		al = ChainRlpBeginList(buf);	/* empty access list */

		ChainRlpEndList(buf, al);
	}
}

/* Encode tx: unsigned (sig NULL) for the signing hash, or signed. */
static void
encode_tx(ChainBuf *buf, const ChainTx *tx, const ChainSignedTx *sig)
{
	size_t		mark;

	if (tx->type == CHAIN_TX_EIP1559)
	{
		uint8_t		t = 0x02;

		ChainBufAppend(buf, &t, 1);
	}
	mark = ChainRlpBeginList(buf);
	put_fields(buf, tx);
	if (sig == NULL)
	{
		if (tx->type == CHAIN_TX_LEGACY)
		{
			ChainRlpPutU64(buf, tx->chain_id);
			ChainRlpPutU64(buf, 0);
			ChainRlpPutU64(buf, 0);
		}
	}
	else
	{
		ChainU256	r,
					s;

		ChainRlpPutU64(buf, sig->v);
		memcpy(r.be, sig->r, 32);
		memcpy(s.be, sig->s, 32);
		ChainRlpPutU256(buf, &r);
		ChainRlpPutU256(buf, &s);
	}
	ChainRlpEndList(buf, mark);
}

/* A first guess of the encoded size, so that one allocation usually does. */
static size_t
size_hint(const ChainTx *tx)
{
	return tx->data_len <= SIZE_MAX - 512 ? tx->data_len + 512 : SIZE_MAX;
}

bool
ChainTxSigningHash(const ChainEnv *env, const ChainTx *tx, uint8_t out[CHAIN_HASH_LEN],
				   ChainError *err)
{
	ChainBuf	buf;

	if (!check_tx(tx, err))
		return false;
	ChainBufInit(&buf, env);
	ChainBufExtend(&buf, size_hint(tx));
	ChainBufReset(&buf);
	encode_tx(&buf, tx, NULL);
	if (!ChainBufCheck(&buf, "transaction", err))
	{
		ChainBufFree(&buf);
		return false;
	}
	ChainKeccak256(buf.data, buf.len, out);
	ChainBufFree(&buf);
	return true;
}

bool
ChainSignDigest(const uint8_t digest[CHAIN_HASH_LEN], const uint8_t key[CHAIN_KEY_LEN],
				uint8_t sig64[64], int *recid, ChainError *err)
{
	const secp256k1_context *ctx = ChainSecpContext(err);
	secp256k1_ecdsa_recoverable_signature sig;

	if (ctx == NULL)
		return false;
	/* NULL nonce function: RFC 6979 (secp256k1_nonce_function_default) */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest, key, NULL, NULL))
		return ChainSetError(err, CHAIN_ERR_KEY,
							 "private key is out of range for secp256k1 (zero or not below the group order)");
	secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig64, recid, &sig);
	return true;
}

bool
ChainSignTx(const ChainEnv *env, const ChainTx *tx, const uint8_t key[CHAIN_KEY_LEN],
			ChainSignedTx *out, ChainError *err)
{
	ChainBuf	buf;
	uint8_t		digest[CHAIN_HASH_LEN];
	uint8_t		sig64[64];
	int			recid;

	memset(out, 0, sizeof(*out));
	if (!check_tx(tx, err))
		return false;
	ChainBufInit(&buf, env);
	ChainBufExtend(&buf, size_hint(tx));
	ChainBufReset(&buf);
	encode_tx(&buf, tx, NULL);
	if (!ChainBufCheck(&buf, "transaction", err))
	{
		ChainBufFree(&buf);
		return false;
	}
	ChainKeccak256(buf.data, buf.len, digest);

	if (!ChainSignDigest(digest, key, sig64, &recid, err))
	{
		ChainBufFree(&buf);
		return false;
	}
	memcpy(out->r, sig64, 32);
	memcpy(out->s, sig64 + 32, 32);
	out->y_parity = (uint8_t) recid;
	out->v = tx->type == CHAIN_TX_LEGACY ? tx->chain_id * 2 + 35 + (uint64_t) recid
		: (uint64_t) recid;

	ChainBufReset(&buf);
	encode_tx(&buf, tx, out);
	if (!ChainBufCheck(&buf, "signed transaction", err))
	{
		ChainBufFree(&buf);
		memset(out, 0, sizeof(*out));
		return false;
	}
	ChainKeccak256(buf.data, buf.len, out->hash);
	/* hand the buffer over: raw is freed with ChainSignedTxFree */
	out->raw = buf.data;
	out->raw_len = buf.len;
	return true;
}

void
ChainSignedTxFree(const ChainEnv *env, ChainSignedTx *stx)
{
	if (stx->raw)
		env->free(env->ctx, stx->raw);
	stx->raw = NULL;
	stx->raw_len = 0;
}

/* The group order's half, n / 2: a low-s signature has s <= this. */
static const uint8_t half_order[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0
};

/* next list element, or a decode error naming the field */
static bool
next_field(const ChainRlpItem *list, size_t *pos, ChainRlpItem *item, const char *field,
		   ChainError *err)
{
	if (ChainRlpNext(list, pos, item, err))
		return true;
	if (err && err->code == CHAIN_OK)
		ChainSetError(err, CHAIN_ERR_DECODE, "transaction ends before its \"%s\" field", field);
	return false;
}

static bool
field_u256(const ChainRlpItem *list, size_t *pos, ChainU256 *out, const char *field,
		   ChainError *err)
{
	ChainRlpItem it;

	if (!next_field(list, pos, &it, field, err))
		return false;
	if (!ChainRlpToU256(&it, out, err))
		return ChainSetError(err, CHAIN_ERR_DECODE, "transaction field \"%s\" is not a canonical integer", field);
	return true;
}

static bool
field_u64(const ChainRlpItem *list, size_t *pos, uint64_t *out, const char *field,
		  ChainError *err)
{
	ChainRlpItem it;

	if (!next_field(list, pos, &it, field, err))
		return false;
	if (!ChainRlpToU64(&it, out, err))
		return ChainSetError(err, CHAIN_ERR_DECODE, "transaction field \"%s\" is not a canonical 64-bit integer", field);
	return true;
}

bool
ChainTxDecode(const uint8_t *raw, size_t len, ChainTx *tx, ChainSignedTx *sig,
			  uint8_t from[CHAIN_ADDRESS_LEN], ChainError *err)
{
	ChainRlpItem list,
				it;
	size_t		used,
				pos = 0;
	const uint8_t *body = raw;
	size_t		blen = len;
	ChainU256	r,
				s;
	uint64_t	v;
	ChainEnv	env;
	uint8_t		digest[CHAIN_HASH_LEN];

	memset(tx, 0, sizeof(*tx));
	memset(sig, 0, sizeof(*sig));
	if (len == 0)
		return ChainSetError(err, CHAIN_ERR_DECODE, "raw transaction is empty");
	if (raw[0] == 0x02)
	{
		tx->type = CHAIN_TX_EIP1559;
		body++;
		blen--;
	}
	else if (raw[0] < 0xc0)
		return ChainSetError(err, CHAIN_ERR_DECODE,
							 "raw transaction type 0x%02x is not supported", raw[0]);
	else
		tx->type = CHAIN_TX_LEGACY;
	if (!ChainRlpDecode(body, blen, &list, &used, err))
		return false;
	if (!list.is_list)
		return ChainSetError(err, CHAIN_ERR_DECODE, "raw transaction is not an RLP list");
	if (used != blen)
		return ChainSetError(err, CHAIN_ERR_DECODE,
							 "raw transaction has %zu trailing bytes after its end", blen - used);

	if (tx->type == CHAIN_TX_EIP1559)
	{
		if (!field_u64(&list, &pos, &tx->chain_id, "chainId", err) ||
			!field_u64(&list, &pos, &tx->nonce, "nonce", err) ||
			!field_u256(&list, &pos, &tx->max_priority_fee_per_gas, "maxPriorityFeePerGas", err) ||
			!field_u256(&list, &pos, &tx->max_fee_per_gas, "maxFeePerGas", err))
			return false;
	}
	else if (!field_u64(&list, &pos, &tx->nonce, "nonce", err) ||
			 !field_u256(&list, &pos, &tx->gas_price, "gasPrice", err))
		return false;
	if (!field_u64(&list, &pos, &tx->gas_limit, "gas", err))
		return false;
	if (!next_field(&list, &pos, &it, "to", err))
		return false;
	if (it.is_list || (it.len != 0 && it.len != CHAIN_ADDRESS_LEN))
		return ChainSetError(err, CHAIN_ERR_DECODE, "transaction field \"to\" is not an address");
	tx->has_to = it.len == CHAIN_ADDRESS_LEN;
	if (tx->has_to)
		memcpy(tx->to, it.data, CHAIN_ADDRESS_LEN);
	if (!field_u256(&list, &pos, &tx->value, "value", err))
		return false;
	if (!next_field(&list, &pos, &it, "data", err))
		return false;
	if (it.is_list)
		return ChainSetError(err, CHAIN_ERR_DECODE, "transaction field \"data\" is a list");
	tx->data = it.data;
	tx->data_len = it.len;
	if (tx->type == CHAIN_TX_EIP1559)
	{
		if (!next_field(&list, &pos, &it, "accessList", err))
			return false;
		if (!it.is_list)
			return ChainSetError(err, CHAIN_ERR_DECODE, "transaction field \"accessList\" is not a list");
		if (it.len != 0)
			return ChainSetError(err, CHAIN_ERR_DECODE, "transactions with an access list are not supported");
	}
	if (!field_u64(&list, &pos, &v, tx->type == CHAIN_TX_EIP1559 ? "yParity" : "v", err) ||
		!field_u256(&list, &pos, &r, "r", err) ||
		!field_u256(&list, &pos, &s, "s", err))
		return false;
	if (pos != list.len)
		return ChainSetError(err, CHAIN_ERR_DECODE, "transaction has more fields than its type allows");

	if (tx->type == CHAIN_TX_EIP1559)
	{
		if (v > 1)
			return ChainSetError(err, CHAIN_ERR_DECODE, "transaction yParity must be 0 or 1");
		sig->y_parity = (uint8_t) v;
	}
	else
	{
		if (v < 37)
			return ChainSetError(err, CHAIN_ERR_DECODE,
								 "legacy transaction without an EIP-155 chain id (v = %llu)",
								 (unsigned long long) v);
		tx->chain_id = (v - 35) / 2;
		sig->y_parity = (uint8_t) ((v - 35) % 2);
	}
	sig->v = v;
	if (ChainU256IsZero(&r) || ChainU256IsZero(&s))
		return ChainSetError(err, CHAIN_ERR_DECODE, "transaction signature has a zero r or s");
	if (memcmp(s.be, half_order, 32) > 0)
		return ChainSetError(err, CHAIN_ERR_DECODE, "transaction signature is not low-s");
	memcpy(sig->r, r.be, 32);
	memcpy(sig->s, s.be, 32);
	ChainKeccak256(raw, len, sig->hash);

	if (from)
	{
		const secp256k1_context *ctx = ChainSecpContext(err);
		secp256k1_ecdsa_recoverable_signature rsig;
		secp256k1_pubkey pub;
		uint8_t		sig64[64];
		uint8_t		ser[65];
		size_t		serlen = sizeof(ser);

		if (ctx == NULL)
			return false;
		ChainEnvInitMalloc(&env);
		if (!ChainTxSigningHash(&env, tx, digest, err))
			return false;
		memcpy(sig64, r.be, 32);
		memcpy(sig64 + 32, s.be, 32);
		if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig64, sig->y_parity) ||
			!secp256k1_ecdsa_recover(ctx, &pub, &rsig, digest))
			return ChainSetError(err, CHAIN_ERR_DECODE, "transaction signature does not recover a public key");
		secp256k1_ec_pubkey_serialize(ctx, ser, &serlen, &pub, SECP256K1_EC_UNCOMPRESSED);
		pubkey_address(ser, from);
	}
	return true;
}
