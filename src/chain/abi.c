/*
 * abi.c
 *		256-bit unsigned integers, and the Solidity ABI of the loyalty
 *		contract's calls: function selectors, static words, the two dynamic
 *		arrays of awardPointsBatch, uint256 results and revert data
 *		(Error(string), Panic(uint256), custom errors).
 */
#include <stdio.h>
#include <string.h>

#include "chain/chain_internal.h"

/* ---- uint256 ---- */

void
ChainU256FromU64(ChainU256 *out, uint64_t v)
{
	memset(out->be, 0, 32);
	for (int i = 0; i < 8; i++)
		out->be[31 - i] = (uint8_t) (v >> (8 * i));
}

bool
ChainU256ToU64(const ChainU256 *v, uint64_t *out)
{
	uint64_t	r = 0;

	for (int i = 0; i < 24; i++)
		if (v->be[i])
			return false;
	for (int i = 24; i < 32; i++)
		r = (r << 8) | v->be[i];
	*out = r;
	return true;
}

bool
ChainU256IsZero(const ChainU256 *v)
{
	for (int i = 0; i < 32; i++)
		if (v->be[i])
			return false;
	return true;
}

int
ChainU256Cmp(const ChainU256 *a, const ChainU256 *b)
{
	return memcmp(a->be, b->be, 32);
}

bool
ChainU256Add(ChainU256 *out, const ChainU256 *a, const ChainU256 *b)
{
	unsigned	carry = 0;
	ChainU256	r;

	for (int i = 31; i >= 0; i--)
	{
		unsigned	s = (unsigned) a->be[i] + b->be[i] + carry;

		r.be[i] = (uint8_t) s;
		carry = s >> 8;
	}
	if (carry)
		return false;
	*out = r;
	return true;
}

bool
ChainU256MulU64(ChainU256 *out, const ChainU256 *a, uint64_t m)
{
	/* 32-bit limbs so that limb * m fits in 128 bits */
	unsigned __int128 carry = 0;
	ChainU256	r;

	for (int i = 31; i >= 0; i--)
	{
		unsigned __int128 p = (unsigned __int128) a->be[i] * m + carry;

		r.be[i] = (uint8_t) p;
		carry = p >> 8;
	}
	if (carry)
		return false;
	*out = r;
	return true;
}

bool
ChainU256Parse(const char *text, size_t len, ChainU256 *out, const char *what,
			   ChainError *err)
{
	ChainU256	r;

	memset(r.be, 0, 32);
	if (len == 0)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT, "%s is empty", what);
	if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
	{
		size_t		i = 2;

		if (len == 2)
			return ChainSetError(err, CHAIN_ERR_ARGUMENT, "%s has no digits after \"0x\"", what);
		/* skip leading zeros, then at most 64 digits */

		while (i < len - 1 && text[i] == '0')
			i++;
		if (len - i > 64)
			return ChainSetError(err, CHAIN_ERR_ARGUMENT, "%s is out of range for uint256", what);
		for (size_t j = len; j > i; j--)
		{
			int			d = ChainHexValue((unsigned char) text[j - 1]);
			size_t		pos = len - j;	/* nibble index from the right */

			if (d < 0)
				return ChainSetError(err, CHAIN_ERR_ARGUMENT,
									 "%s has a character that is not a hex digit at position %zu",
									 what, j);
			r.be[31 - pos / 2] |= (uint8_t) (pos % 2 ? d << 4 : d);
		}
		for (size_t j = 2; j < i; j++)
			if (text[j] != '0')
				return ChainSetError(err, CHAIN_ERR_ARGUMENT, "%s is not a hex number", what);
	}
	else
	{
		if (len > 78)
			return ChainSetError(err, CHAIN_ERR_ARGUMENT, "%s is out of range for uint256", what);
		for (size_t i = 0; i < len; i++)
		{
			ChainU256	d;

			if (text[i] < '0' || text[i] > '9')
				return ChainSetError(err, CHAIN_ERR_ARGUMENT,
									 "%s has a character that is not a decimal digit at position %zu",
									 what, i + 1);
			ChainU256FromU64(&d, (uint64_t) (text[i] - '0'));
			if (!ChainU256MulU64(&r, &r, 10) || !ChainU256Add(&r, &r, &d))
				return ChainSetError(err, CHAIN_ERR_ARGUMENT, "%s is out of range for uint256", what);
		}
	}
	*out = r;
	return true;
}

char *
ChainU256ToDecimal(const ChainU256 *v, char *out)
{
	uint8_t		n[32];
	char		tmp[CHAIN_U256_DEC_LEN];
	int			k = 0;

	memcpy(n, v->be, 32);
	/* repeated division by 10 of the big-endian number */
	for (;;)
	{
		unsigned	rem = 0;
		bool		zero = true;

		for (int i = 0; i < 32; i++)
		{
			unsigned	cur = rem * 256 + n[i];

			n[i] = (uint8_t) (cur / 10);
			rem = cur % 10;
			if (n[i])
				zero = false;
		}
		tmp[k++] = (char) ('0' + rem);
		if (zero)
			break;
	}
	for (int i = 0; i < k; i++)
		out[i] = tmp[k - 1 - i];
	out[k] = '\0';
	return out;
}

char *
ChainU256ToQuantity(const ChainU256 *v, char out[67])
{
	char		hex[65];
	const char *p;

	ChainHexEncode(v->be, 32, hex, false);
	p = hex;
	while (*p == '0' && p[1] != '\0')
		p++;
	snprintf(out, 67, "0x%s", p);
	return out;
}

bool
ChainParseQuantityU64(const char *text, size_t len, uint64_t *out, const char *what,
					  ChainError *err)
{
	ChainU256	v;

	if (len < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
		return ChainSetError(err, CHAIN_ERR_PROTOCOL, "%s is not a hex quantity", what);
	if (!ChainU256Parse(text, len, &v, what, err))
	{
		err->code = CHAIN_ERR_PROTOCOL;
		return false;
	}
	if (!ChainU256ToU64(&v, out))
		return ChainSetError(err, CHAIN_ERR_PROTOCOL, "%s does not fit in 64 bits", what);
	return true;
}

/* ---- ABI encoding ---- */

void
ChainAbiSelector(const char *signature, uint8_t out[CHAIN_SELECTOR_LEN])
{
	uint8_t		h[CHAIN_HASH_LEN];

	ChainKeccak256(signature, strlen(signature), h);
	memcpy(out, h, CHAIN_SELECTOR_LEN);
}

void
ChainAbiBegin(ChainBuf *buf, const char *signature)
{
	uint8_t		sel[CHAIN_SELECTOR_LEN];

	ChainAbiSelector(signature, sel);
	ChainBufAppend(buf, sel, sizeof(sel));
}

void
ChainAbiPutAddress(ChainBuf *buf, const uint8_t addr[CHAIN_ADDRESS_LEN])
{
	static const uint8_t zeros[12];

	ChainBufAppend(buf, zeros, sizeof(zeros));
	ChainBufAppend(buf, addr, CHAIN_ADDRESS_LEN);
}

void
ChainAbiPutU256(ChainBuf *buf, const ChainU256 *v)
{
	ChainBufAppend(buf, v->be, 32);
}

void
ChainAbiPutU64(ChainBuf *buf, uint64_t v)
{
	ChainU256	w;

	ChainU256FromU64(&w, v);
	ChainAbiPutU256(buf, &w);
}

void
ChainAbiPutBool(ChainBuf *buf, bool v)
{
	ChainAbiPutU64(buf, v ? 1 : 0);
}

/*
 * The loyalty calls' selectors, hashed once per process: a signing loop
 * should not pay a Keccak permutation per call for a constant.
 */
typedef struct KnownSelector
{
	const char *signature;
	bool		done;
	uint8_t		sel[CHAIN_SELECTOR_LEN];
} KnownSelector;

static KnownSelector sel_register = {"registerCustomer(address)", false, {0}};
static KnownSelector sel_award = {"awardPoints(address,uint256)", false, {0}};
static KnownSelector sel_batch = {"awardPointsBatch(address[],uint256[])", false, {0}};
static KnownSelector sel_redeem = {"redeemPoints(uint256)", false, {0}};
static KnownSelector sel_balance = {"getPointsBalance(address)", false, {0}};

static void
begin_known(ChainBuf *buf, KnownSelector *k)
{
	if (!k->done)
	{
		ChainAbiSelector(k->signature, k->sel);
		k->done = true;
	}
	ChainBufAppend(buf, k->sel, CHAIN_SELECTOR_LEN);
}

void
ChainAbiRegisterCustomer(ChainBuf *buf, const uint8_t customer[CHAIN_ADDRESS_LEN])
{
	begin_known(buf, &sel_register);
	ChainAbiPutAddress(buf, customer);
}

void
ChainAbiAwardPoints(ChainBuf *buf, const uint8_t customer[CHAIN_ADDRESS_LEN],
					const ChainU256 *amount)
{
	begin_known(buf, &sel_award);
	ChainAbiPutAddress(buf, customer);
	ChainAbiPutU256(buf, amount);
}

/*
 * ChainAbiAwardPointsBatch: head = offsets of the two arrays (0x40, and
 * 0x40 + 32 * (n + 1)), then each array as its length and n words.
 */
void
ChainAbiAwardPointsBatch(ChainBuf *buf, const uint8_t (*customers)[CHAIN_ADDRESS_LEN],
						 const ChainU256 *amounts, size_t n)
{
	begin_known(buf, &sel_batch);
	if (n > (SIZE_MAX / 64) - 4)
	{
		buf->failed = true;
		return;
	}
	ChainAbiPutU64(buf, 0x40);
	ChainAbiPutU64(buf, 0x40 + 32 * ((uint64_t) n + 1));
	ChainAbiPutU64(buf, n);
	for (size_t i = 0; i < n; i++)
		ChainAbiPutAddress(buf, customers[i]);
	ChainAbiPutU64(buf, n);
	for (size_t i = 0; i < n; i++)
		ChainAbiPutU256(buf, &amounts[i]);
}

void
ChainAbiRedeemPoints(ChainBuf *buf, const ChainU256 *points)
{
	begin_known(buf, &sel_redeem);
	ChainAbiPutU256(buf, points);
}

void
ChainAbiGetPointsBalance(ChainBuf *buf, const uint8_t customer[CHAIN_ADDRESS_LEN])
{
	begin_known(buf, &sel_balance);
	ChainAbiPutAddress(buf, customer);
}

/* ---- ABI decoding ---- */

bool
ChainAbiDecodeU256(const uint8_t *data, size_t len, size_t index, ChainU256 *out,
				   ChainError *err)
{
	if (index > SIZE_MAX / 32 - 1 || len < 32 * (index + 1))
		return ChainSetError(err, CHAIN_ERR_DECODE,
							 "ABI result of %zu bytes has no word %zu", len, index);
	memcpy(out->be, data + 32 * index, 32);
	return true;
}

bool
ChainAbiDecodeAddress(const uint8_t *data, size_t len, size_t index,
					  uint8_t out[CHAIN_ADDRESS_LEN], ChainError *err)
{
	ChainU256	w;

	if (!ChainAbiDecodeU256(data, len, index, &w, err))
		return false;
	for (int i = 0; i < 12; i++)
		if (w.be[i])
			return ChainSetError(err, CHAIN_ERR_DECODE,
								 "ABI word %zu is not an address (high bytes set)", index);
	memcpy(out, w.be + 12, CHAIN_ADDRESS_LEN);
	return true;
}

/* The meaning of Solidity's panic codes (docs: "Panic via assert"). */
static const char *
panic_text(uint64_t code)
{
	switch (code)
	{
		case 0x00:
			return "generic panic";
		case 0x01:
			return "assertion failed";
		case 0x11:
			return "arithmetic overflow or underflow";
		case 0x12:
			return "division or modulo by zero";
		case 0x21:
			return "invalid enum value";
		case 0x22:
			return "invalid storage byte array";
		case 0x31:
			return "pop on an empty array";
		case 0x32:
			return "array index out of bounds";
		case 0x41:
			return "too much memory allocated";
		case 0x51:
			return "call to an uninitialised function";
		default:
			return "unknown panic code";
	}
}

/*
 * Length of the valid UTF-8 sequence at s[0..n) (shortest form, no
 * surrogates, at most U+10FFFF), or 0 if it is not one.
 */
static size_t
utf8_seq(const uint8_t *s, size_t n)
{
	size_t		k;
	uint32_t	cp;

	if (s[0] < 0x80)
		return 1;
	else if ((s[0] & 0xe0) == 0xc0)
		k = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		k = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
	{
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
		cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/*
 * Copy a reason string into out: valid UTF-8 as it is, control characters,
 * backslash and invalid bytes as \xNN (so the text is safe in a message and
 * in a text column), cut with "..." when full.
 */
static void
copy_reason(const uint8_t *s, size_t n, char *out, size_t outsz)
{
	size_t		o = 0;
	size_t		i = 0;

	while (i < n)
	{
		size_t		k = utf8_seq(s + i, n - i);
		char		esc[5];
		const char *src;
		size_t		need;

		if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\')))
		{
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			src = esc;
			need = 4;
			k = 1;
		}
		else
		{
			src = (const char *) s + i;
			need = k;
		}
		if (o + need + 4 > outsz)
		{
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, src, need);
		o += need;
		i += k;
	}
	out[o] = '\0';
}

void
ChainAbiDecodeRevert(const uint8_t *data, size_t len, ChainRevert *out)
{
	static const uint8_t error_sel[4] = {0x08, 0xc3, 0x79, 0xa0};	/* Error(string) */
	static const uint8_t panic_sel[4] = {0x4e, 0x48, 0x7b, 0x71};	/* Panic(uint256) */

	memset(out, 0, sizeof(*out));
	if (len == 0)
	{
		out->kind = CHAIN_REVERT_EMPTY;
		snprintf(out->reason, sizeof(out->reason), "no reason given");
		return;
	}
	if (len < 4)
	{
		out->kind = CHAIN_REVERT_MALFORMED;
		snprintf(out->reason, sizeof(out->reason), "malformed revert data of %zu bytes", len);
		return;
	}
	memcpy(out->selector, data, 4);
	if (memcmp(data, error_sel, 4) == 0)
	{
		const uint8_t *body = data + 4;
		size_t		blen = len - 4;
		ChainU256	w;
		uint64_t	off,
					slen;

		/* offset word, then at offset: length word and the bytes */
		if (blen >= 32 && (memcpy(w.be, body, 32), ChainU256ToU64(&w, &off)) &&
			off <= blen && blen - off >= 32 &&
			(memcpy(w.be, body + off, 32), ChainU256ToU64(&w, &slen)) &&
			slen <= blen - off - 32)
		{
			out->kind = CHAIN_REVERT_ERROR;
			copy_reason(body + off + 32, (size_t) slen, out->reason, sizeof(out->reason));
			return;
		}
		out->kind = CHAIN_REVERT_MALFORMED;
		snprintf(out->reason, sizeof(out->reason), "malformed Error(string) revert data");
		return;
	}
	if (memcmp(data, panic_sel, 4) == 0)
	{
		ChainU256	w;

		if (len == 36 && (memcpy(w.be, data + 4, 32), ChainU256ToU64(&w, &out->panic_code)))
		{
			out->kind = CHAIN_REVERT_PANIC;
			snprintf(out->reason, sizeof(out->reason), "panic 0x%02llx (%s)",
					 (unsigned long long) out->panic_code, panic_text(out->panic_code));
			return;
		}
		out->kind = CHAIN_REVERT_MALFORMED;
		snprintf(out->reason, sizeof(out->reason), "malformed Panic(uint256) revert data");
		return;
	}
	out->kind = CHAIN_REVERT_CUSTOM;
	snprintf(out->reason, sizeof(out->reason), "custom error 0x%02x%02x%02x%02x",
			 data[0], data[1], data[2], data[3]);
}
