/*
 * common.c
 *		What every part of the chain library shares: the malloc env, errors,
 *		wiping key material, the growable buffer, and hex.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain_internal.h"

static void *
malloc_alloc(void *ctx, size_t size)
{
	return malloc(size ? size : 1);
}

static void *
malloc_realloc(void *ctx, void *ptr, size_t size)
{
	return realloc(ptr, size ? size : 1);
}

static void
malloc_free(void *ctx, void *ptr)
{
	free(ptr);
}

/* ChainEnvInitMalloc: an env for the tools and tests. */
void
ChainEnvInitMalloc(ChainEnv *env)
{
	memset(env, 0, sizeof(*env));
	env->alloc = malloc_alloc;
	env->realloc = malloc_realloc;
	env->free = malloc_free;
}

/* ChainSetError: fill err's code and message; detail and hint emptied. */
bool
ChainSetError(ChainError *err, ChainErrorCode code, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return false;
	err->code = code;
	err->node_kind = CHAIN_NODE_NONE;
	err->node_code = 0;
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

/*
 * ChainWipe: explicit_bzero is not optimised away even when the buffer is
 * dead afterwards (glibc 2.25+), which memset would be.
 */
void
ChainWipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

/* ---- ChainBuf ---- */

void
ChainBufInit(ChainBuf *buf, const ChainEnv *env)
{
	memset(buf, 0, sizeof(*buf));
	buf->env = env;
}

void
ChainBufFree(ChainBuf *buf)
{
	if (buf->data)
		buf->env->free(buf->env->ctx, buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
	buf->failed = buf->nomem = false;
}

void
ChainBufReset(ChainBuf *buf)
{
	buf->len = 0;
	buf->failed = buf->nomem = false;
}

/*
 * Make room for n more bytes (doubling); false and the buffer marked failed
 * when the size would pass max_len or the allocator says no.
 */
static bool
buf_reserve(ChainBuf *buf, size_t n)
{
	size_t		max = buf->max_len ? buf->max_len : SIZE_MAX / 2;
	size_t		need;
	size_t		cap;
	uint8_t    *p;

	if (buf->failed)
		return false;
	if (n > max || buf->len > max - n)
	{
		buf->failed = true;
		return false;
	}
	need = buf->len + n;
	if (need <= buf->cap)
		return true;
	cap = buf->cap ? buf->cap : 64;
	while (cap < need)
		cap = (cap > max / 2) ? max : cap * 2;
	p = buf->data ? buf->env->realloc(buf->env->ctx, buf->data, cap)
		: buf->env->alloc(buf->env->ctx, cap);
	if (p == NULL)
	{
		buf->failed = buf->nomem = true;
		return false;
	}
	buf->data = p;
	buf->cap = cap;
	return true;
}

void
ChainBufAppend(ChainBuf *buf, const void *p, size_t n)
{
	if (n == 0 || !buf_reserve(buf, n))
		return;
	memcpy(buf->data + buf->len, p, n);
	buf->len += n;
}

/* ChainBufExtend: reserve n bytes and return where they start (NULL if failed). */
uint8_t *
ChainBufExtend(ChainBuf *buf, size_t n)
{
	uint8_t    *p;

	if (!buf_reserve(buf, n))
		return NULL;
	p = buf->data + buf->len;
	buf->len += n;
	return p;
}

bool
ChainBufCheck(const ChainBuf *buf, const char *what, ChainError *err)
{
	if (!buf->failed)
		return true;
	if (buf->nomem)
		return ChainSetError(err, CHAIN_ERR_NOMEM, "out of memory building %s", what);
	return ChainSetError(err, CHAIN_ERR_LIMIT, "%s is too large", what);
}

/* ---- hex ---- */

char *
ChainHexEncode(const uint8_t *data, size_t len, char *out, bool prefix)
{
	static const char digits[] = "0123456789abcdef";
	char	   *o = out;

	if (prefix)
	{
		*o++ = '0';
		*o++ = 'x';
	}
	for (size_t i = 0; i < len; i++)
	{
		*o++ = digits[data[i] >> 4];
		*o++ = digits[data[i] & 15];
	}
	*o = '\0';
	return out;
}

/* ChainHexValue: value of a hex digit, or -1. */
int
ChainHexValue(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
ChainHexDecode(const char *text, size_t len, uint8_t *out, size_t outcap,
			   size_t *outlen, const char *what, ChainError *err)
{
	size_t		start = 0;
	size_t		n;

	if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		start = 2;
	if ((len - start) % 2 != 0)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT,
							 "%s has an odd number of hex digits", what);
	n = (len - start) / 2;
	if (n > outcap)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT,
							 "%s is too long: %zu bytes, at most %zu", what, n, outcap);
	for (size_t i = 0; i < n; i++)
	{
		int			hi = ChainHexValue((unsigned char) text[start + 2 * i]);
		int			lo = ChainHexValue((unsigned char) text[start + 2 * i + 1]);

		if (hi < 0 || lo < 0)
			return ChainSetError(err, CHAIN_ERR_ARGUMENT,
								 "%s has a character that is not a hex digit at position %zu",
								 what, start + 2 * i + (hi < 0 ? 0 : 1) + 1);
		out[i] = (uint8_t) (hi << 4 | lo);
	}
	if (outlen)
		*outlen = n;
	return true;
}
