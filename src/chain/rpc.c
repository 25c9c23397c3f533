/*
 * rpc.c
 *		JSON-RPC 2.0 over HTTP(S) with libcurl, and the response decoder.
 *
 * One easy handle per ChainRpc, reused for every call so that libcurl keeps
 * the connection alive; timeouts from the env; a progress callback that
 * stops the transfer when env->interrupted says so (pgsql-http's recipe:
 * the backend then lets CHECK_FOR_INTERRUPTS raise the cancel). Callbacks
 * never throw: the write callback appends to a ChainBuf on the env's
 * non-throwing allocator and refuses bodies over max_response_bytes.
 *
 * The decoder is a strict RFC 8259 parser that only walks the envelope
 * (jsonrpc, id, result | error {code, message, data}) and copies the result
 * and error data as raw JSON text, for the backend to read with jsonb_in
 * (DESIGN.md: JSON is parsed with PostgreSQL's own jsonb). It is pure, so
 * the fuzzer drives it without a network.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "chain/chain_internal.h"

#define RPC_MAX_DEPTH	64
#define RPC_DEFAULT_MAX_RESPONSE	(64 * 1024 * 1024)
#define RPC_DEFAULT_CONNECT_MS	10000
#define RPC_DEFAULT_TIMEOUT_MS	30000
#define RPC_KEEP_BYTES	(1024 * 1024)	/* buffer kept between calls */

struct ChainRpc
{
	const ChainEnv *env;
	CURL	   *curl;
	struct curl_slist *headers;
	char	   *url;
	char		display_url[256];
	int64_t		next_id;
	ChainBuf	request;
	ChainBuf	response;
	ChainBuf   *arenas;			/* one per call whose replies are still held */
	size_t		narenas;
	size_t		arenas_cap;
	size_t		max_response;
	bool		canceled;		/* the progress callback stopped the transfer */
	long		connects;		/* connections opened so far */
	char		errbuf[CURL_ERROR_SIZE];
};

/* ================================================================
 * The decoder
 * ================================================================ */

typedef struct JsonIn
{
	const char *s;
	size_t		len;
	size_t		pos;
	ChainError *err;
} JsonIn;

static bool
json_fail(JsonIn *in, const char *what)
{
	return ChainSetError(in->err, CHAIN_ERR_PROTOCOL,
						 "invalid JSON-RPC response: %s at byte %zu", what, in->pos);
}

static void
skip_ws(JsonIn *in)
{
	while (in->pos < in->len)
	{
		char		c = in->s[in->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		in->pos++;
	}
}

static bool
expect_char(JsonIn *in, char c)
{
	skip_ws(in);
	if (in->pos >= in->len || in->s[in->pos] != c)
	{
		char		what[32];

		snprintf(what, sizeof(what), "expected '%c'", c);
		return json_fail(in, what);
	}
	in->pos++;
	return true;
}

/*
 * After a member or element: a ',' means another follows (*more = true), else
 * the container must close with `close` here.
 */
static bool
next_in_container(JsonIn *in, char close, bool *more)
{
	skip_ws(in);
	*more = in->pos < in->len && in->s[in->pos] == ',';
	if (*more)
	{
		in->pos++;
		return true;
	}
	return expect_char(in, close);
}

/* Length of a valid UTF-8 sequence at p (shortest form, no surrogates), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t		k;
	uint32_t	cp;

	if (p[0] < 0x80)
		return 1;
	else if ((p[0] & 0xe0) == 0xc0)
		k = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		k = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		k = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
	{
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
		cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

static int
hex4(const char *p)
{
	int			v = 0;

	for (int i = 0; i < 4; i++)
	{
		int			d = ChainHexValue((unsigned char) p[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * Scan a string starting at its opening quote; [*b, *e) gets the text
 * between the quotes (escapes not resolved). Checks escapes, control
 * characters and UTF-8.
 */
static bool
scan_string(JsonIn *in, size_t *b, size_t *e)
{
	if (in->pos >= in->len || in->s[in->pos] != '"')
		return json_fail(in, "expected a string");
	in->pos++;
	*b = in->pos;
	while (in->pos < in->len)
	{
		unsigned char c = (unsigned char) in->s[in->pos];

		if (c == '"')
		{
			*e = in->pos++;
			return true;
		}
		if (c < 0x20)
			return json_fail(in, "control character in a string");
		if (c == '\\')
		{
			if (in->pos + 1 >= in->len)
				break;
			c = (unsigned char) in->s[in->pos + 1];
			if (c == 'u')
			{
				if (in->len - in->pos < 6 || hex4(in->s + in->pos + 2) < 0)
					return json_fail(in, "bad \\u escape");
				in->pos += 6;
			}
			else if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
				in->pos += 2;
			else
				return json_fail(in, "bad escape");
			continue;
		}
		{
			size_t		k = utf8_len((const unsigned char *) in->s + in->pos, in->len - in->pos);

			if (k == 0)
				return json_fail(in, "invalid UTF-8 in a string");
			in->pos += k;
		}
	}
	return json_fail(in, "unterminated string");
}

/* Append code point cp as UTF-8. */
static void
put_utf8(ChainBuf *out, uint32_t cp)
{
	uint8_t		b[4];
	size_t		n;

	if (cp < 0x80)
		b[0] = (uint8_t) cp, n = 1;
	else if (cp < 0x800)
		b[0] = (uint8_t) (0xc0 | cp >> 6), b[1] = (uint8_t) (0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		b[0] = (uint8_t) (0xe0 | cp >> 12), b[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f)),
			b[2] = (uint8_t) (0x80 | (cp & 0x3f)), n = 3;
	else
		b[0] = (uint8_t) (0xf0 | cp >> 18), b[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f)),
			b[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f)), b[3] = (uint8_t) (0x80 | (cp & 0x3f)), n = 4;
	ChainBufAppend(out, b, n);
}

/*
 * Unescape a scanned string's text into the arena, NUL-terminated; returns
 * its offset. \u0000 and lone surrogates become U+FFFD, so the result is a
 * valid C string of valid UTF-8. Never longer than the escaped text + 1
 * (each escape is at least as long as what it stands for).
 */
static size_t
unescape(const char *s, size_t b, size_t e, ChainBuf *out)
{
	size_t		start = out->len;
	size_t		i = b;

	while (i < e)
	{
		size_t		j = i;

		while (j < e && s[j] != '\\')
			j++;
		ChainBufAppend(out, s + i, j - i);
		i = j;
		if (i >= e)
			break;
		/* an escape (already validated by scan_string) */
		switch (s[i + 1])
		{
			case 'b':
				ChainBufAppend(out, "\b", 1);
				break;
			case 'f':
				ChainBufAppend(out, "\f", 1);
				break;
			case 'n':
				ChainBufAppend(out, "\n", 1);
				break;
			case 'r':
				ChainBufAppend(out, "\r", 1);
				break;
			case 't':
				ChainBufAppend(out, "\t", 1);
				break;
			case 'u':
				{
					uint32_t	cp = (uint32_t) hex4(s + i + 2);

					if (cp >= 0xd800 && cp <= 0xdbff && i + 12 <= e &&
						s[i + 6] == '\\' && s[i + 7] == 'u')
					{
						int			lo = hex4(s + i + 8);

						if (lo >= 0xdc00 && lo <= 0xdfff)
						{
							put_utf8(out, 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t) lo - 0xdc00));
							i += 12;
							continue;
						}
					}
					if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
						cp = 0xfffd;
					put_utf8(out, cp);
					i += 6;
					continue;
				}
			default:			/* " \ / */
				ChainBufAppend(out, s + i + 1, 1);
				break;
		}
		i += 2;
	}
	ChainBufAppend(out, "", 1);
	return start;
}

static bool skip_value(JsonIn *in, int depth);

/* A number, RFC 8259 grammar: -? int frac? exp? */
static bool
scan_number(JsonIn *in)
{
	const char *s = in->s;
	size_t		p = in->pos;

	if (p < in->len && s[p] == '-')
		p++;
	if (p >= in->len || !isdigit((unsigned char) s[p]))
		return json_fail(in, "bad number");
	if (s[p] == '0')
		p++;
	else
		while (p < in->len && isdigit((unsigned char) s[p]))
			p++;
	if (p < in->len && s[p] == '.')
	{
		p++;
		if (p >= in->len || !isdigit((unsigned char) s[p]))
			return json_fail(in, "bad number");
		while (p < in->len && isdigit((unsigned char) s[p]))
			p++;
	}
	if (p < in->len && (s[p] == 'e' || s[p] == 'E'))
	{
		p++;
		if (p < in->len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= in->len || !isdigit((unsigned char) s[p]))
			return json_fail(in, "bad number");
		while (p < in->len && isdigit((unsigned char) s[p]))
			p++;
	}
	in->pos = p;
	return true;
}

static bool
scan_literal(JsonIn *in, const char *lit)
{
	size_t		n = strlen(lit);

	if (in->len - in->pos < n || memcmp(in->s + in->pos, lit, n) != 0)
		return json_fail(in, "unexpected character");
	in->pos += n;
	return true;
}

/*
 * Skip (and validate) one value. Depth is bounded so that hostile nesting
 * cannot exhaust the stack.
 */
static bool
skip_value(JsonIn *in, int depth)
{
	size_t		b = 0,
				e = 0;
	bool		more;

	skip_ws(in);
	if (in->pos >= in->len)
		return json_fail(in, "unexpected end");
	if (depth > RPC_MAX_DEPTH)
		return json_fail(in, "nesting too deep");
	switch (in->s[in->pos])
	{
		case '"':
			return scan_string(in, &b, &e);
		case '{':
			in->pos++;
			skip_ws(in);
			if (in->pos < in->len && in->s[in->pos] == '}')
			{
				in->pos++;
				return true;
			}
			for (;;)
			{
				skip_ws(in);
				if (!scan_string(in, &b, &e) || !expect_char(in, ':') ||
					!skip_value(in, depth + 1))
					return false;
				if (!next_in_container(in, '}', &more))
					return false;
				if (!more)
					return true;
			}
		case '[':
			in->pos++;
			skip_ws(in);
			if (in->pos < in->len && in->s[in->pos] == ']')
			{
				in->pos++;
				return true;
			}
			for (;;)
			{
				if (!skip_value(in, depth + 1))
					return false;
				if (!next_in_container(in, ']', &more))
					return false;
				if (!more)
					return true;
			}
		case 't':
			return scan_literal(in, "true");
		case 'f':
			return scan_literal(in, "false");
		case 'n':
			return scan_literal(in, "null");
		default:
			return scan_number(in);
	}
}

/* Does the scanned key [b, e) equal name (keys we look at have no escapes)? */
static bool
key_is(const JsonIn *in, size_t b, size_t e, const char *name)
{
	size_t		n = strlen(name);

	return e - b == n && memcmp(in->s + b, name, n) == 0;
}

/* A JSON integer value that fits int64 (no fraction or exponent). */
static bool
scan_int64(JsonIn *in, int64_t *out, const char *what)
{
	size_t		b = in->pos;
	bool		neg;
	uint64_t	v = 0;
	size_t		i;
	char		msg[64];

	if (!scan_number(in))
		return false;
	neg = in->s[b] == '-';
	snprintf(msg, sizeof(msg), "%s is not an integer", what);
	for (i = b + (neg ? 1 : 0); i < in->pos; i++)
	{
		char		c = in->s[i];

		if (!isdigit((unsigned char) c))
			return json_fail(in, msg);
		if (v > (UINT64_MAX - 9) / 10)
			return json_fail(in, msg);
		v = v * 10 + (uint64_t) (c - '0');
	}
	if (v > (uint64_t) INT64_MAX)
		return json_fail(in, msg);
	*out = neg ? -(int64_t) v : (int64_t) v;
	return true;
}

/* Copy the raw text [b, e) into the arena, NUL-terminated; its offset. */
static size_t
copy_raw(const char *s, size_t b, size_t e, ChainBuf *out)
{
	size_t		start = out->len;

	ChainBufAppend(out, s + b, e - b);
	ChainBufAppend(out, "", 1);
	return start;
}

/* Offsets into the arena while decoding (pointers are set at the end). */
typedef struct ReplyOffsets
{
	bool		has_id;			/* a numeric id (not null) */
	int64_t		id;
	bool		has_result;
	size_t		result,
				result_len;
	bool		result_is_string;
	size_t		result_string;
	bool		has_error;
	int64_t		error_code;
	size_t		error_message;
	bool		has_data;
	size_t		error_data;
	bool		data_is_string;
	size_t		error_data_string;
} ReplyOffsets;

/* The error object: {"code": int, "message": string, "data"?: any}. */
static bool
parse_error_object(JsonIn *in, ChainBuf *arena, ReplyOffsets *r)
{
	bool		has_code = false,
				has_message = false,
				more;
	size_t		b = 0,
				e = 0;

	if (!expect_char(in, '{'))
		return false;
	skip_ws(in);
	if (in->pos < in->len && in->s[in->pos] == '}')
		return json_fail(in, "error object without code and message");
	for (;;)
	{
		skip_ws(in);
		if (!scan_string(in, &b, &e) || !expect_char(in, ':'))
			return false;
		skip_ws(in);
		if (key_is(in, b, e, "code"))
		{
			if (has_code)
				return json_fail(in, "duplicate \"code\"");
			if (!scan_int64(in, &r->error_code, "error code"))
				return false;
			has_code = true;
		}
		else if (key_is(in, b, e, "message"))
		{
			size_t		sb,
						se;

			if (has_message)
				return json_fail(in, "duplicate \"message\"");
			if (!scan_string(in, &sb, &se))
				return false;
			r->error_message = unescape(in->s, sb, se, arena);
			has_message = true;
		}
		else if (key_is(in, b, e, "data"))
		{
			size_t		vb = in->pos;

			if (r->has_data)
				return json_fail(in, "duplicate \"data\"");
			if (!skip_value(in, 2))
				return false;
			r->has_data = true;
			r->error_data = copy_raw(in->s, vb, in->pos, arena);
			if (in->s[vb] == '"')
			{
				r->data_is_string = true;
				r->error_data_string = unescape(in->s, vb + 1, in->pos - 1, arena);
			}
		}
		else if (!skip_value(in, 2))
			return false;
		if (!next_in_container(in, '}', &more))
			return false;
		if (!more)
			break;
	}
	if (!has_code || !has_message)
		return json_fail(in, "error object without code or message");
	r->has_error = true;
	return true;
}

/* One response object. */
static bool
parse_response(JsonIn *in, ChainBuf *arena, ReplyOffsets *r)
{
	bool		has_jsonrpc = false,
				seen_id = false,
				more;
	size_t		b = 0,
				e = 0;

	memset(r, 0, sizeof(*r));
	if (!expect_char(in, '{'))
		return false;
	for (;;)
	{
		skip_ws(in);
		if (!scan_string(in, &b, &e) || !expect_char(in, ':'))
			return false;
		skip_ws(in);
		if (key_is(in, b, e, "jsonrpc"))
		{
			size_t		sb,
						se;

			if (has_jsonrpc)
				return json_fail(in, "duplicate \"jsonrpc\"");
			if (!scan_string(in, &sb, &se))
				return false;
			if (!(se - sb == 3 && memcmp(in->s + sb, "2.0", 3) == 0))
				return json_fail(in, "\"jsonrpc\" is not \"2.0\"");
			has_jsonrpc = true;
		}
		else if (key_is(in, b, e, "id"))
		{
			if (seen_id)
				return json_fail(in, "duplicate \"id\"");
			seen_id = true;
			if (in->pos < in->len && in->s[in->pos] == 'n')
			{
				if (!scan_literal(in, "null"))
					return false;
			}
			else
			{
				if (!scan_int64(in, &r->id, "id"))
					return false;
				r->has_id = true;
			}
		}
		else if (key_is(in, b, e, "result"))
		{
			size_t		vb = in->pos;

			if (r->has_result)
				return json_fail(in, "duplicate \"result\"");
			if (!skip_value(in, 1))
				return false;
			r->has_result = true;
			r->result = copy_raw(in->s, vb, in->pos, arena);
			r->result_len = in->pos - vb;
			if (in->s[vb] == '"')
			{
				r->result_is_string = true;
				r->result_string = unescape(in->s, vb + 1, in->pos - 1, arena);
			}
		}
		else if (key_is(in, b, e, "error"))
		{
			if (r->has_error)
				return json_fail(in, "duplicate \"error\"");
			if (!parse_error_object(in, arena, r))
				return false;
		}
		else if (!skip_value(in, 1))
			return false;
		if (!next_in_container(in, '}', &more))
			return false;
		if (!more)
			break;
	}
	if (!has_jsonrpc)
		return json_fail(in, "no \"jsonrpc\" member");
	if (!seen_id)
		return json_fail(in, "no \"id\" member");
	if (r->has_result == r->has_error)
		return json_fail(in, r->has_result ? "both \"result\" and \"error\""
						 : "neither \"result\" nor \"error\"");
	if (!r->has_id && !r->has_error)
		return json_fail(in, "a result with a null id");
	return true;
}

/* Turn offsets into pointers (the arena no longer moves). */
static void
fill_reply(const ReplyOffsets *r, const ChainBuf *arena, ChainRpcReply *out)
{
	const char *base = (const char *) arena->data;

	memset(out, 0, sizeof(*out));
	out->id = r->id;
	if (r->has_result)
	{
		out->result = base + r->result;
		out->result_len = r->result_len;
		out->result_string = r->result_is_string ? base + r->result_string : NULL;
		out->error_kind = CHAIN_NODE_NONE;
	}
	else
	{
		out->error_code = r->error_code;
		out->error_message = base + r->error_message;
		out->error_data = r->has_data ? base + r->error_data : NULL;
		out->error_data_string = r->data_is_string ? base + r->error_data_string : NULL;
		out->error_kind = ChainClassifyNodeError(r->error_code, out->error_message);
	}
}

bool
ChainRpcDecode(const char *body, size_t len, int64_t first_id, size_t n, bool batch,
			   ChainRpcReply *replies, ChainBuf *arena, ChainError *err)
{
	JsonIn		in = {body, len, 0, err};
	ReplyOffsets one;
	ReplyOffsets *offs = &one;
	bool	   *seen = NULL;
	size_t		need;
	bool		ok = false;

	if (n == 0 || (!batch && n != 1))
		return ChainSetError(err, CHAIN_ERR_ARGUMENT, "JSON-RPC decode of %zu replies", n);
	/*
	 * Reserve the arena once: every copy is a span of the body plus a NUL,
	 * the raw copy and the unescaped copy of at most two spans per reply, so
	 * 2 * len + 4 per reply bounds it and the arena never moves.
	 */
	if (len > (SIZE_MAX - 64) / 2 || n > (SIZE_MAX / 2 - 2 * len - 64) / 8)
		return ChainSetError(err, CHAIN_ERR_LIMIT, "JSON-RPC response is too large");
	need = 2 * len + 8 * n + 64;
	ChainBufReset(arena);
	if (ChainBufExtend(arena, need) == NULL)
		return ChainBufCheck(arena, "JSON-RPC reply", err);
	ChainBufReset(arena);

	if (batch)
	{
		if (n > SIZE_MAX / sizeof(ReplyOffsets))
			return ChainSetError(err, CHAIN_ERR_LIMIT, "JSON-RPC batch of %zu replies is too large", n);
		offs = arena->env->alloc(arena->env->ctx, n * sizeof(ReplyOffsets));
		seen = arena->env->alloc(arena->env->ctx, n);
		if (offs == NULL || seen == NULL)
		{
			ChainSetError(err, CHAIN_ERR_NOMEM, "out of memory decoding a JSON-RPC batch");
			goto done;
		}
		memset(seen, 0, n);
		skip_ws(&in);
		/* a node that cannot parse a batch answers a single error object */
		if (in.pos < in.len && in.s[in.pos] == '{')
		{
			if (!parse_response(&in, arena, &one))
				goto done;
			if (one.has_error)
			{
				ChainRpcReply r;

				fill_reply(&one, arena, &r);
				ChainSetError(err, CHAIN_ERR_PROTOCOL,
							  "Ethereum node rejected a JSON-RPC batch: %s", r.error_message);
				snprintf(err->detail, sizeof(err->detail), "JSON-RPC error code %lld.",
						 (long long) r.error_code);
			}
			else
				json_fail(&in, "an object where a batch array was expected");
			goto done;
		}
		if (!expect_char(&in, '['))
			goto done;
		for (size_t k = 0;; k++)
		{
			ReplyOffsets r;
			size_t		idx;

			if (k >= n)
			{
				json_fail(&in, "more replies than requests in the batch");
				goto done;
			}
			if (!parse_response(&in, arena, &r))
				goto done;
			if (!r.has_id || r.id < first_id || (uint64_t) (r.id - first_id) >= n)
			{
				json_fail(&in, "a reply whose id matches no request");
				goto done;
			}
			idx = (size_t) (r.id - first_id);
			if (seen[idx])
			{
				json_fail(&in, "two replies with the same id");
				goto done;
			}
			seen[idx] = true;
			offs[idx] = r;
			skip_ws(&in);
			if (in.pos < in.len && in.s[in.pos] == ',')
			{
				in.pos++;
				continue;
			}
			if (!expect_char(&in, ']'))
				goto done;
			break;
		}
		for (size_t k = 0; k < n; k++)
			if (!seen[k])
			{
				ChainSetError(err, CHAIN_ERR_PROTOCOL,
							  "invalid JSON-RPC response: no reply to request %zu of the batch", k + 1);
				goto done;
			}
	}
	else
	{
		if (!parse_response(&in, arena, &one))
			goto done;
		if (one.has_id && one.id != first_id)
		{
			json_fail(&in, "the reply's id does not match the request's");
			goto done;
		}
	}
	skip_ws(&in);
	if (in.pos != in.len)
	{
		json_fail(&in, "text after the response");
		goto done;
	}
	if (!ChainBufCheck(arena, "JSON-RPC reply", err))
		goto done;
	for (size_t k = 0; k < n; k++)
		fill_reply(&offs[k], arena, &replies[k]);
	ok = true;
done:
	if (batch)
	{
		if (offs)
			arena->env->free(arena->env->ctx, offs);
		if (seen)
			arena->env->free(arena->env->ctx, seen);
	}
	return ok;
}

/* ================================================================
 * Node errors
 * ================================================================ */

/* Case-insensitive substring test (ASCII). */
static bool
contains(const char *hay, const char *needle)
{
	size_t		n = strlen(needle);

	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return true;
	return false;
}

/*
 * ChainClassifyNodeError: the messages of geth, anvil/reth, erigon,
 * nethermind and besu for the same conditions, then the standard codes.
 */
ChainNodeErrorKind
ChainClassifyNodeError(int64_t code, const char *message)
{
	const char *m = message ? message : "";

	if (contains(m, "nonce too low") || contains(m, "nonce is too low") ||
		contains(m, "oldnonce") || contains(m, "nonce_too_low"))
		return CHAIN_NODE_NONCE_TOO_LOW;
	if (contains(m, "already known") || contains(m, "already imported") ||
		contains(m, "known transaction") || contains(m, "alreadyknown") ||
		contains(m, "already exists") || contains(m, "already in the pool"))
		return CHAIN_NODE_ALREADY_KNOWN;
	if (contains(m, "underpriced") || contains(m, "fee too low") ||
		contains(m, "less than block base fee") || contains(m, "feetoolow"))
		return CHAIN_NODE_UNDERPRICED;
	if (contains(m, "insufficient funds") || contains(m, "insufficient balance"))
		return CHAIN_NODE_INSUFFICIENT_FUNDS;
	if (contains(m, "nonce too high") || contains(m, "nonce is too high"))
		return CHAIN_NODE_NONCE_TOO_HIGH;
	if (code == 3 || contains(m, "execution reverted") || contains(m, "revert"))
		return CHAIN_NODE_REVERTED;
	if (contains(m, "intrinsic gas") || contains(m, "gas limit") ||
		contains(m, "out of gas") || contains(m, "gas too low"))
		return CHAIN_NODE_GAS;
	if (contains(m, "chain id") || contains(m, "chainid") || contains(m, "invalid sender"))
		return CHAIN_NODE_CHAIN_ID;
	if (code == -32005 || contains(m, "rate limit") || contains(m, "too many requests"))
		return CHAIN_NODE_LIMIT;
	if (code == -32601)
		return CHAIN_NODE_METHOD;
	if (code == -32602 || code == -32600 || code == -32700)
		return CHAIN_NODE_PARAMS;
	return CHAIN_NODE_OTHER;
}

void
ChainRpcReplyError(const ChainRpcReply *reply, const char *method, ChainError *err)
{
	if (reply->error_kind == CHAIN_NODE_REVERTED && reply->error_data_string != NULL)
	{
		const char *d = reply->error_data_string;
		size_t		dl = strlen(d);
		uint8_t    *bytes = malloc(dl / 2 + 1);
		size_t		n;
		ChainError	herr;

		if (bytes != NULL &&
			ChainHexDecode(d, dl, bytes, dl / 2 + 1, &n, "revert data", &herr))
		{
			ChainRevert rv;

			ChainAbiDecodeRevert(bytes, n, &rv);
			free(bytes);
			ChainSetError(err, CHAIN_ERR_REVERT, "%s reverted: %s", method, rv.reason);
			err->node_kind = reply->error_kind;
			err->node_code = reply->error_code;
			snprintf(err->detail, sizeof(err->detail), "The node answered JSON-RPC error %lld: %s",
					 (long long) reply->error_code, reply->error_message);
			return;
		}
		free(bytes);
	}
	ChainSetError(err, reply->error_kind == CHAIN_NODE_REVERTED ? CHAIN_ERR_REVERT : CHAIN_ERR_NODE,
				  "Ethereum node rejected %s: %s", method,
				  reply->error_message ? reply->error_message : "(no message)");
	err->node_kind = reply->error_kind;
	err->node_code = reply->error_code;
	if (reply->error_data)
		snprintf(err->detail, sizeof(err->detail), "JSON-RPC error code %lld, data: %.400s",
				 (long long) reply->error_code, reply->error_data);
	else
		snprintf(err->detail, sizeof(err->detail), "JSON-RPC error code %lld.",
				 (long long) reply->error_code);
}

/* ================================================================
 * The client
 * ================================================================ */

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	ChainRpc   *rpc = userdata;
	size_t		n = size * nmemb;

	if (n > rpc->max_response - rpc->response.len)
	{
		rpc->response.failed = true;	/* too large: ChainBufCheck says LIMIT */
		return 0;
	}
	ChainBufAppend(&rpc->response, ptr, n);
	return rpc->response.failed ? 0 : n;
}

/* libcurl calls this often during a transfer: non-zero stops it. */
static int
progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	ChainRpc   *rpc = clientp;

	if (rpc->env->interrupted && rpc->env->interrupted(rpc->env->ctx))
	{
		rpc->canceled = true;
		return 1;
	}
	return 0;
}

/* scheme://host[:port] of url: no user info, path or query. */
static void
make_display_url(const char *url, char *out, size_t outsz)
{
	const char *p = strstr(url, "://");
	const char *host,
			   *end,
			   *at;

	if (p == NULL)
	{
		snprintf(out, outsz, "(invalid URL)");
		return;
	}
	host = p + 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t) (end - host));
	if (at)
		host = at + 1;
	snprintf(out, outsz, "%.*s://%.*s", (int) (p - url), url, (int) (end - host), host);
}

static bool curl_initialized;

ChainRpc *
ChainRpcCreate(const ChainEnv *env, const char *url, ChainError *err)
{
	ChainRpc   *rpc;
	size_t		ulen;

	if (url == NULL || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
	{
		ChainSetError(err, CHAIN_ERR_ARGUMENT,
					  "Ethereum node URL must start with \"http://\" or \"https://\"");
		return NULL;
	}
	ulen = strlen(url);
	for (size_t i = 0; i < ulen; i++)
		if ((unsigned char) url[i] <= 0x20 || url[i] == 0x7f)
		{
			ChainSetError(err, CHAIN_ERR_ARGUMENT,
						  "Ethereum node URL has a space or control character at position %zu", i + 1);
			return NULL;
		}
	if (!curl_initialized)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		{
			ChainSetError(err, CHAIN_ERR_INTERNAL, "could not initialise libcurl");
			return NULL;
		}
		curl_initialized = true;
	}
	rpc = env->alloc(env->ctx, sizeof(ChainRpc));
	if (rpc == NULL)
	{
		ChainSetError(err, CHAIN_ERR_NOMEM, "out of memory creating a JSON-RPC client");
		return NULL;
	}
	memset(rpc, 0, sizeof(*rpc));
	rpc->env = env;
	rpc->next_id = 1;
	rpc->max_response = env->max_response_bytes ? env->max_response_bytes : RPC_DEFAULT_MAX_RESPONSE;
	ChainBufInit(&rpc->request, env);
	ChainBufInit(&rpc->response, env);
	make_display_url(url, rpc->display_url, sizeof(rpc->display_url));
	rpc->url = env->alloc(env->ctx, ulen + 1);
	rpc->curl = curl_easy_init();
	rpc->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (rpc->url == NULL || rpc->curl == NULL || rpc->headers == NULL)
	{
		ChainRpcDestroy(rpc);
		ChainSetError(err, CHAIN_ERR_NOMEM, "out of memory creating a JSON-RPC client");
		return NULL;
	}
	memcpy(rpc->url, url, ulen + 1);

	/* set once; the handle keeps them, and its connection, across calls */
	if (curl_easy_setopt(rpc->curl, CURLOPT_URL, rpc->url) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85: CURLOPT_PROTOCOLS deprecated */
		curl_easy_setopt(rpc->curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
#else
		curl_easy_setopt(rpc->curl, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK)
#endif
	{
		ChainRpcDestroy(rpc);
		ChainSetError(err, CHAIN_ERR_ARGUMENT, "Ethereum node URL is not valid");
		return NULL;
	}
	curl_easy_setopt(rpc->curl, CURLOPT_HTTPHEADER, rpc->headers);
	curl_easy_setopt(rpc->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(rpc->curl, CURLOPT_NOSIGNAL, 1L);	/* never SIGALRM in a backend */
	curl_easy_setopt(rpc->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(rpc->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(rpc->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(rpc->curl, CURLOPT_CONNECTTIMEOUT_MS,
					 env->connect_timeout_ms > 0 ? env->connect_timeout_ms : (long) RPC_DEFAULT_CONNECT_MS);
	curl_easy_setopt(rpc->curl, CURLOPT_TIMEOUT_MS,
					 env->timeout_ms > 0 ? env->timeout_ms : (long) RPC_DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(rpc->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(rpc->curl, CURLOPT_WRITEDATA, rpc);
	curl_easy_setopt(rpc->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(rpc->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(rpc->curl, CURLOPT_XFERINFODATA, rpc);
	curl_easy_setopt(rpc->curl, CURLOPT_ERRORBUFFER, rpc->errbuf);
	curl_easy_setopt(rpc->curl, CURLOPT_USERAGENT, "megamarket");
	return rpc;
}

void
ChainRpcDestroy(ChainRpc *rpc)
{
	const ChainEnv *env;

	if (rpc == NULL)
		return;
	env = rpc->env;
	if (rpc->curl)
		curl_easy_cleanup(rpc->curl);
	if (rpc->headers)
		curl_slist_free_all(rpc->headers);
	ChainBufFree(&rpc->request);
	ChainBufFree(&rpc->response);
	ChainRpcReleaseReplies(rpc);
	if (rpc->arenas)
		env->free(env->ctx, rpc->arenas);
	if (rpc->url)
		env->free(env->ctx, rpc->url);
	env->free(env->ctx, rpc);
}

const char *
ChainRpcDisplayUrl(const ChainRpc *rpc)
{
	return rpc->display_url;
}

long
ChainRpcConnectCount(const ChainRpc *rpc)
{
	return rpc->connects;
}

/* A method name we put in the request as it is: letters, digits, '_'. */
static bool
check_method(const char *method, ChainError *err)
{
	if (method == NULL || *method == '\0' || strlen(method) > 64)
		return ChainSetError(err, CHAIN_ERR_ARGUMENT, "JSON-RPC method name is empty or too long");
	for (const char *p = method; *p; p++)
		if (!isalnum((unsigned char) *p) && *p != '_')
			return ChainSetError(err, CHAIN_ERR_ARGUMENT,
								 "JSON-RPC method name has a character that is not a letter, digit or underscore");
	return true;
}

static void
append_request(ChainBuf *b, int64_t id, const char *method, const char *params)
{
	char		head[64];

	snprintf(head, sizeof(head), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"", (long long) id);
	ChainBufAppend(b, head, strlen(head));
	ChainBufAppend(b, method, strlen(method));
	ChainBufAppend(b, "\",\"params\":", 11);
	if (params == NULL)
		params = "[]";
	ChainBufAppend(b, params, strlen(params));
	ChainBufAppend(b, "}", 1);
}

/* POST the request buffer; the body ends up in rpc->response. */
static bool
perform(ChainRpc *rpc, const char *what, ChainError *err)
{
	CURLcode	rc;
	long		status = 0;

	if (!ChainBufCheck(&rpc->request, "JSON-RPC request", err))
		return false;
	/*
	 * A long-lived handle keeps its buffers between calls; give back what a
	 * large reply made them grow to, so one big answer does not stay held.
	 */
	if (rpc->response.cap > RPC_KEEP_BYTES)
		ChainBufFree(&rpc->response);
	ChainBufReset(&rpc->response);
	rpc->canceled = false;
	rpc->errbuf[0] = '\0';
	curl_easy_setopt(rpc->curl, CURLOPT_POSTFIELDS, (const char *) rpc->request.data);
	curl_easy_setopt(rpc->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) rpc->request.len);
	rc = curl_easy_perform(rpc->curl);
	{
		long		nc = 0;

		if (curl_easy_getinfo(rpc->curl, CURLINFO_NUM_CONNECTS, &nc) == CURLE_OK)
			rpc->connects += nc;
	}
	if (rc != CURLE_OK)
	{
		const char *text = rpc->errbuf[0] ? rpc->errbuf : curl_easy_strerror(rc);

		if (rpc->canceled)
			return ChainSetError(err, CHAIN_ERR_CANCELED, "JSON-RPC call %s canceled", what);
		if (rc == CURLE_WRITE_ERROR && rpc->response.failed)
		{
			if (rpc->response.nomem)
				return ChainSetError(err, CHAIN_ERR_NOMEM, "out of memory reading the reply to %s", what);
			ChainSetError(err, CHAIN_ERR_LIMIT,
						  "reply of Ethereum node at \"%s\" to %s is larger than %zu bytes",
						  rpc->display_url, what, rpc->max_response);
			return false;
		}
		if (rc == CURLE_OPERATION_TIMEDOUT)
			ChainSetError(err, CHAIN_ERR_TIMEOUT, "Ethereum node at \"%s\" did not answer %s in time",
						  rpc->display_url, what);
		else
			ChainSetError(err, CHAIN_ERR_CONNECT, "could not connect to Ethereum node at \"%s\"",
						  rpc->display_url);
		snprintf(err->detail, sizeof(err->detail), "%s", text);
		/* libcurl's text may end with a newline */
		err->detail[strcspn(err->detail, "\n")] = '\0';
		snprintf(err->hint, sizeof(err->hint),
				 "Check that the node is running and that megamarket.eth_rpc_url is right.");
		return false;
	}
	curl_easy_getinfo(rpc->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
	{
		ChainSetError(err, CHAIN_ERR_HTTP, "Ethereum node at \"%s\" answered HTTP status %ld to %s",
					  rpc->display_url, status, what);
		if (rpc->response.len > 0)
		{
			int			n = rpc->response.len > 200 ? 200 : (int) rpc->response.len;

			snprintf(err->detail, sizeof(err->detail), "The body begins: %.*s", n,
					 (const char *) rpc->response.data);
			/* keep the detail one valid line: cut at a control character */
			for (char *p = err->detail; *p; p++)
				if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x80)
					*p = '?';
		}
		return false;
	}
	return true;
}

/*
 * A new arena for one call's replies. Replies stay valid until
 * ChainRpcReleaseReplies or ChainRpcDestroy, so that a caller may read the
 * replies of several calls (a long batch sent in chunks) together.
 */
static ChainBuf *
new_arena(ChainRpc *rpc, ChainError *err)
{
	if (rpc->narenas == rpc->arenas_cap)
	{
		size_t		cap = rpc->arenas_cap ? 2 * rpc->arenas_cap : 16;
		ChainBuf   *a;

		if (cap > SIZE_MAX / sizeof(ChainBuf))
		{
			ChainSetError(err, CHAIN_ERR_LIMIT, "too many JSON-RPC replies held");
			return NULL;
		}
		a = rpc->arenas ? rpc->env->realloc(rpc->env->ctx, rpc->arenas, cap * sizeof(ChainBuf))
			: rpc->env->alloc(rpc->env->ctx, cap * sizeof(ChainBuf));
		if (a == NULL)
		{
			ChainSetError(err, CHAIN_ERR_NOMEM, "out of memory holding JSON-RPC replies");
			return NULL;
		}
		rpc->arenas = a;
		rpc->arenas_cap = cap;
	}
	ChainBufInit(&rpc->arenas[rpc->narenas], rpc->env);
	return &rpc->arenas[rpc->narenas++];
}

void
ChainRpcReleaseReplies(ChainRpc *rpc)
{
	for (size_t i = 0; i < rpc->narenas; i++)
		ChainBufFree(&rpc->arenas[i]);
	rpc->narenas = 0;
}

bool
ChainRpcCall(ChainRpc *rpc, const char *method, const char *params,
			 ChainRpcReply *reply, ChainError *err)
{
	int64_t		id = rpc->next_id++;
	ChainBuf   *arena;

	if (!check_method(method, err))
		return false;
	ChainBufReset(&rpc->request);
	append_request(&rpc->request, id, method, params);
	if (!perform(rpc, method, err))
		return false;
	if ((arena = new_arena(rpc, err)) == NULL)
		return false;
	if (!ChainRpcDecode((const char *) rpc->response.data, rpc->response.len, id, 1, false,
						reply, arena, err))
	{
		/* name the node and the call beside the decoder's message */
		if (err->code == CHAIN_ERR_PROTOCOL && err->detail[0] == '\0')
			snprintf(err->detail, sizeof(err->detail),
					 "The reply came from the Ethereum node at \"%.200s\" for %s.",
					 rpc->display_url, method);
		return false;
	}
	return true;
}

bool
ChainRpcBatch(ChainRpc *rpc, size_t n, const char *const *methods,
			  const char *const *params, ChainRpcReply *replies, ChainError *err)
{
	int64_t		first = rpc->next_id;
	ChainBuf   *arena;

	if (n == 0)
		return true;
	if (n > (size_t) (INT64_MAX / 2))
		return ChainSetError(err, CHAIN_ERR_LIMIT, "JSON-RPC batch is too large");
	for (size_t i = 0; i < n; i++)
		if (!check_method(methods[i], err))
			return false;
	rpc->next_id += (int64_t) n;
	ChainBufReset(&rpc->request);
	ChainBufAppend(&rpc->request, "[", 1);
	for (size_t i = 0; i < n; i++)
	{
		if (i > 0)
			ChainBufAppend(&rpc->request, ",", 1);
		append_request(&rpc->request, first + (int64_t) i, methods[i], params ? params[i] : NULL);
	}
	ChainBufAppend(&rpc->request, "]", 1);
	if (!perform(rpc, "a batch", err))
		return false;
	if ((arena = new_arena(rpc, err)) == NULL)
		return false;
	return ChainRpcDecode((const char *) rpc->response.data, rpc->response.len, first, n, true,
						  replies, arena, err);
}
