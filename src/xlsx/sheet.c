/*
 * sheet.c
 *		The streaming worksheet scanner: worksheet XML to rows of cells,
 *		written by hand for speed, checked against expat (test/xlsx).
 *
 * The scanner reads its part in chunks into one buffer and walks it with
 * table-driven loops: a byte class table per context (text, attribute
 * value, comment/PI/CDATA), so the common bytes cost one load and one
 * compare, and nothing is called per byte. A NUL sentinel after the last
 * byte stops every loop at the end of the buffer.
 *
 * Markup (a tag, a reference, a comment, a PI, a CDATA section) is parsed
 * only when it is whole in the buffer: when a parse runs off the end, the
 * buffer keeps the unparsed tail, reads more, and the markup is parsed
 * again from its start (parsing has no side effects until it succeeds).
 * Text between tags is streamed: it never has to fit in the buffer.
 *
 * Rows and cells of the common shapes skip all that: fast_scan (and
 * quick_cell before it) reads a whole cell at a time straight from the
 * buffer and falls back to the general path, with nothing changed, on
 * anything unusual or on a cell the buffer ends inside (see "the fast
 * path" below). The general path alone gives the same cells; the tests
 * check both.
 *
 * It is a full well-formedness checker, not a pattern matcher: end tags
 * must match start tags (a stack of names), attributes must be unique, and
 * characters must be valid UTF-8 XML characters, everywhere in the part,
 * including what it skips (<extLst>, <mergeCells>, ...). The contract,
 * tested by sheet_diff and fuzz_sheet: where expat rejects a document, the
 * scanner fails too; where expat accepts it, the scanner yields the same
 * cells, except for what XlsxScanUnsupported() reports (other encodings,
 * non-ASCII names, implementation limits).
 *
 * Elements are recognised by local name (any prefix) and position only:
 * <row> directly in <sheetData> directly in the root, <c> in a <row>, <v>,
 * <f>, <is> in a <c>, <t> in an <is> or in one of its <r> runs. Anything
 * else is skipped with everything in it (its text never reaches a cell).
 *
 * Memory: the buffer (one chunk, more only for markup longer than a chunk),
 * the element stack, and one row (cells array and text buffer, reused).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "xlsx.h"
#include "xlsx_internal.h"

/* Implementation limits (XlsxScanUnsupported reports them). */
#define MAX_TOKEN		((size_t) 16 << 20) /* one tag, comment, PI, CDATA */
#define MAX_DEPTH		100000	/* element nesting */
#define MAX_NAMES		((size_t) 1 << 20)	/* names of the open elements */
#define MAX_ROW_TEXT	((size_t) 256 << 20)	/* decoded text of one row */

/*
 * Slack after the input buffer's sentinel: the fast path loads and copies
 * 16 bytes at a time and may run past the sentinel by up to 15 bytes (it
 * never uses what it finds there).
 */
#define BUF_PAD			32

/* Byte classes. 0 is "ordinary" in every table. */
enum
{
	BC_OK = 0,
	BC_LT,						/* '<' */
	BC_AMP,						/* '&' */
	BC_RBRACKET,				/* ']' (text: "]]>" is forbidden) */
	BC_CR,						/* '\r' (text: line ends are normalized) */
	BC_QUOTE,					/* '"' or '\'' (attribute values) */
	BC_DASH,					/* '-' (comments) */
	BC_QMARK,					/* '?' (processing instructions) */
	BC_U2,						/* lead byte of a 2-byte UTF-8 sequence */
	BC_U3,
	BC_U4,
	BC_BAD						/* never valid: controls, stray bytes, NUL */
};

/* Where we are: what the element being read means. */
typedef enum Ctx
{
	CTX_DOC,					/* outside the root element */
	CTX_ROOT,
	CTX_SHEETDATA,
	CTX_ROW,
	CTX_CELL,
	CTX_V,						/* collecting a <v> */
	CTX_IS,
	CTX_IS_R,
	CTX_T,						/* collecting a <t> of an <is> */
	CTX_SKIP					/* inside anything else */
} Ctx;

typedef enum Phase
{
	PH_START,					/* nothing read: a BOM or XML declaration may come */
	PH_PROLOG,
	PH_CONTENT,
	PH_EPILOG,
	PH_DONE,
	PH_FAILED
} Phase;

/* Cell types as the t attribute says them. */
typedef enum TAttr
{
	TA_N,
	TA_S,
	TA_STR,
	TA_INLINE,
	TA_B,
	TA_E,
	TA_D
} TAttr;

/* Where a cell's value came from: none yet, a <v>, an <is>. */
typedef enum Src
{
	SRC_NONE,
	SRC_V,
	SRC_IS
} Src;

typedef struct StackEntry
{
	uint32_t	name_off;		/* in the names arena */
	uint32_t	name_len;
	uint8_t		ctx;			/* the context inside this element */
} StackEntry;

/* An attribute of the tag being parsed (pointers into the buffer). */
typedef struct Attr
{
	const unsigned char *name;
	size_t		name_len;
	const unsigned char *value;
	size_t		value_len;
	bool		has_ref;		/* value holds references to decode */
} Attr;

/* Results of markup parsers. */
#define NEED_MORE	0
#define FAILED		(-1)

struct XlsxSheetReader
{
	const XlsxEnv *env;
	char	   *part;
	XlsxReadFn	read;
	XlsxCloseFn close;
	void	   *arg;
	const XlsxSst *sst;
	const uint8_t *xf_kind;
	uint32_t	nxf;

	/* input buffer: bytes [pos, end) unread, buf[end] is a NUL sentinel */
	unsigned char *buf;
	size_t		bufsize;
	size_t		pos;
	size_t		end;
	bool		eof;
	int64_t		base_off;		/* document offset of buf[0] */
	int64_t		bytes_read;

	/* XML state */
	Phase		phase;
	Ctx			ctx;
	StackEntry *stack;
	int			depth;
	int			stack_cap;
	char	   *names;
	size_t		names_len;
	size_t		names_cap;
	Attr	   *attrs;
	int			nattrs;
	int			attrs_cap;
	int			attr_r;			/* index of the r, t, s attributes, or -1 */
	int			attr_t;
	int			attr_s;
	bool		unsupported;
	bool		fast;			/* use fast_scan (tests turn it off) */
	bool		bom_done;		/* a UTF-8 byte order mark was skipped */
	XlsxError	saved_err;		/* the error, repeated on later calls */

	/* dimension mode: stop at <sheetData>, keep <dimension ref> */
	bool		head_only;
	bool		head_done;
	char	   *dimension;

	/* the row being built */
	uint32_t	rownum;
	char		row_digits[8];	/* rownum in decimal, for cell references */
	size_t		row_ndigits;
	uint64_t	row_key;		/* the digits and '"' as 8 bytes, masked */
	uint64_t	row_key_mask;
	uint32_t	prev_row;
	int64_t		prev_col;
	bool		row_ready;
	XlsxCell   *cells;
	size_t	   *cell_off;		/* text offset per cell, SIZE_MAX: shared */
	int			ncells;
	int			cells_cap;
	char	   *text;
	size_t		text_len;
	size_t		text_cap;
	XlsxRow		row;

	/* the cell being built */
	uint32_t	cell_col;
	TAttr		cell_t;
	XlsxFormatKind cell_fmt;
	bool		cell_formula;
	Src			cell_src;
	size_t		cell_start;
};

/* Byte class tables, built once (idempotent, so benign if raced). */
static uint8_t text_class[256];
static uint8_t attr_class[256];
static uint8_t misc_class[256];
static uint8_t name_start[256];
static uint8_t name_char[256];
static uint8_t is_ws[256];
static uint8_t plain_class[256];
static bool tables_ready = false;

/*
 * init_tables
 *		Build the byte class tables: XML 1.0 characters in UTF-8, with the
 *		bytes each context must stop at.
 */
static void
init_tables(void)
{
	for (int c = 0; c < 256; c++)
	{
		uint8_t		base;

		if (c < 0x20)
			base = (c == '\t' || c == '\n' || c == '\r') ? BC_OK : BC_BAD;
		else if (c < 0x80)
			base = BC_OK;
		else if (c >= 0xC2 && c <= 0xDF)
			base = BC_U2;
		else if (c >= 0xE0 && c <= 0xEF)
			base = BC_U3;
		else if (c >= 0xF0 && c <= 0xF4)
			base = BC_U4;
		else
			base = BC_BAD;

		text_class[c] = base;
		attr_class[c] = base;
		misc_class[c] = base;
		name_start[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
		name_char[c] = name_start[c] || (c >= '0' && c <= '9') || c == '.' || c == '-';
		is_ws[c] = (c == ' ' || c == '\t' || c == '\n' || c == '\r');
		plain_class[c] = c >= 0x20 && c < 0x80 && c != '<' && c != '&' && c != ']';
	}
	text_class['<'] = BC_LT;
	text_class['&'] = BC_AMP;
	text_class[']'] = BC_RBRACKET;
	text_class['\r'] = BC_CR;
	attr_class['<'] = BC_LT;
	attr_class['&'] = BC_AMP;
	attr_class['"'] = BC_QUOTE;
	attr_class['\''] = BC_QUOTE;
	misc_class['-'] = BC_DASH;
	misc_class['?'] = BC_QMARK;
	misc_class[']'] = BC_RBRACKET;
	tables_ready = true;
}

/*
 * scan_error
 *		Record an error naming the part and, for XML errors, the byte offset.
 */
static int
scan_error(XlsxSheetReader *r, XlsxError *err, XlsxErrorCode code,
		   const char *fmt,...) XLSX_PRINTF(4, 5);

static int
scan_error(XlsxSheetReader *r, XlsxError *err, XlsxErrorCode code,
		   const char *fmt,...)
{
	char		msg[400];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	XlsxSetError(&r->saved_err, code, "%s: %s", r->part, msg);
	if (err)
		*err = r->saved_err;
	r->phase = PH_FAILED;
	return FAILED;
}

/*
 * xml_error
 *		A well-formedness error at a position of the buffer.
 */
static int
xml_error(XlsxSheetReader *r, XlsxError *err, const unsigned char *at, const char *what)
{
	int64_t		off = r->base_off + (at ? (int64_t) (at - r->buf) : (int64_t) r->end);

	return scan_error(r, err, XLSX_ERR_XML, "malformed XML at byte %lld: %s",
					  (long long) off, what);
}

/*
 * unsupported
 *		Input we refuse though it may be well-formed (see the file header).
 */
static int
unsupported(XlsxSheetReader *r, XlsxError *err, XlsxErrorCode code,
			const unsigned char *at, const char *what)
{
	int64_t		off = r->base_off + (at ? (int64_t) (at - r->buf) : 0);

	r->unsupported = true;
	return scan_error(r, err, code, "unsupported XML at byte %lld: %s",
					  (long long) off, what);
}

/*
 * cell_name
 *		"B7" for messages.
 */
static void
cell_name(uint32_t col, uint32_t row, char *buf, size_t size)
{
	char		letters[4];

	XlsxColumnName(col, letters);
	snprintf(buf, size, "%s%u", letters, row);
}

/*
 * refill
 *		Keep the unread bytes [pos, end), move them to the front, and read
 *		more. Grows the buffer when a single markup token fills it.
 *		Returns false on a read error or limit (err set).
 */
static bool
refill(XlsxSheetReader *r, XlsxError *err)
{
	size_t		keep = r->end - r->pos;
	ssize_t		n;

	if (r->pos > 0)
	{
		memmove(r->buf, r->buf + r->pos, keep);
		r->base_off += (int64_t) r->pos;
		r->end = keep;
		r->pos = 0;
	}
	if (r->eof)
		return true;
	if (r->end >= r->bufsize / 2 && r->end > 0)
	{
		/* one token fills half the buffer: make room for it */
		size_t		newsize = r->bufsize * 2;
		unsigned char *p;

		if (newsize > MAX_TOKEN + XLSX_CHUNK)
		{
			unsupported(r, err, XLSX_ERR_LIMIT, r->buf, "a single tag, comment or CDATA section longer than 16 MB");
			return false;
		}
		p = XlsxRealloc(r->env, r->buf, newsize + 1 + BUF_PAD);
		if (p == NULL)
		{
			scan_error(r, err, XLSX_ERR_NOMEM, "out of memory");
			return false;
		}
		memset(p + newsize + 1, 0, BUF_PAD);
		r->buf = p;
		r->bufsize = newsize;
	}
	if (r->env->interrupted && r->env->interrupted(r->env->ctx))
	{
		scan_error(r, err, XLSX_ERR_CANCELED, "canceled");
		return false;
	}
	n = r->read(r->arg, (char *) r->buf + r->end, r->bufsize - r->end, &r->saved_err);
	if (n < 0)
	{
		if (err)
			*err = r->saved_err;
		r->phase = PH_FAILED;
		return false;
	}
	if (n == 0)
		r->eof = true;
	r->end += (size_t) n;
	r->bytes_read += n;
	r->buf[r->end] = '\0';
	return true;
}

/*
 * small_copy, small_eq
 *		Copy and compare the few bytes of names and values inline: a libc
 *		call per tag costs more than the tag.
 */
static inline void
small_copy(char *dst, const void *src, size_t n)
{
	const unsigned char *s = src;

	if (n > 16)
	{
		memcpy(dst, src, n);
		return;
	}
	while (n-- > 0)
		*dst++ = (char) *s++;
}

static inline bool
small_eq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a;
	const unsigned char *y = b;

	if (n > 16)
		return memcmp(a, b, n) == 0;
	while (n-- > 0)
		if (*x++ != *y++)
			return false;
	return true;
}

/*
 * text_reserve
 *		Room for n more bytes of row text.
 */
static bool
text_reserve(XlsxSheetReader *r, size_t n, XlsxError *err)
{
	size_t		newcap;
	char	   *p;

	if (r->text_len + n <= r->text_cap)
		return true;
	if (r->text_len + n > MAX_ROW_TEXT)
	{
		unsupported(r, err, XLSX_ERR_LIMIT, NULL, "a row with more than 256 MB of text");
		return false;
	}
	newcap = r->text_cap * 2;
	while (newcap < r->text_len + n)
		newcap *= 2;
	p = XlsxRealloc(r->env, r->text, newcap);
	if (p == NULL)
	{
		scan_error(r, err, XLSX_ERR_NOMEM, "out of memory");
		return false;
	}
	r->text = p;
	r->text_cap = newcap;
	return true;
}

/*
 * text_append
 *		Add decoded text to the cell being read.
 */
static inline bool
text_append(XlsxSheetReader *r, const void *s, size_t n, XlsxError *err)
{
	if (r->text_len + n > r->text_cap && !text_reserve(r, n, err))
		return false;
	small_copy(r->text + r->text_len, s, n);
	r->text_len += n;
	return true;
}

/*
 * utf8_check
 *		Length of the valid UTF-8 sequence at p (an XML character: no
 *		surrogates, no U+FFFE/U+FFFF, nothing past U+10FFFF), 0 if the buffer
 *		ends inside it, -1 if invalid.
 */
static inline int
utf8_check(const unsigned char *p, const unsigned char *e)
{
	unsigned	b0 = p[0];
	unsigned	lo = 0x80;
	unsigned	hi = 0xBF;

	if (b0 >= 0xC2 && b0 <= 0xDF)
	{
		if (e - p < 2)
			return 0;
		return (p[1] >= 0x80 && p[1] <= 0xBF) ? 2 : -1;
	}
	if (b0 >= 0xE0 && b0 <= 0xEF)
	{
		if (e - p < 3)
			return 0;
		if (b0 == 0xE0)
			lo = 0xA0;
		else if (b0 == 0xED)
			hi = 0x9F;
		if (p[1] < lo || p[1] > hi || p[2] < 0x80 || p[2] > 0xBF)
			return -1;
		if (b0 == 0xEF && p[1] == 0xBF && p[2] >= 0xBE)
			return -1;
		return 3;
	}
	if (b0 >= 0xF0 && b0 <= 0xF4)
	{
		if (e - p < 4)
			return 0;
		if (b0 == 0xF0)
			lo = 0x90;
		else if (b0 == 0xF4)
			hi = 0x8F;
		if (p[1] < lo || p[1] > hi || p[2] < 0x80 || p[2] > 0xBF ||
			p[3] < 0x80 || p[3] > 0xBF)
			return -1;
		return 4;
	}
	return -1;
}

/*
 * utf8_encode
 *		Encode a code point (already checked valid); returns its length.
 */
static int
utf8_encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80)
	{
		out[0] = (unsigned char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (unsigned char) (0xC0 | (cp >> 6));
		out[1] = (unsigned char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (unsigned char) (0xE0 | (cp >> 12));
		out[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char) (0xF0 | (cp >> 18));
	out[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char) (0x80 | (cp & 0x3F));
	return 4;
}

/* What decode_ref found wrong (its negative results). */
typedef enum RefFault
{
	RF_RANGE = -1,
	RF_MALFORMED_CHAR = -2,
	RF_INVALID_CHAR = -3,
	RF_UNDEFINED = -4,
	RF_MALFORMED = -5
} RefFault;

/*
 * decode_ref
 *		A reference at p ('&'): a character reference &#NN; / &#xHH; or one
 *		of the five predefined entities (there is no DTD, so no others).
 *		Returns its length with *cp set, NEED_MORE (0) when the buffer ends
 *		inside it, or a RefFault. No side effects: the fast path uses it
 *		to try, parse_ref to report.
 */
static inline int
decode_ref(const unsigned char *p, const unsigned char *e, uint32_t *cp)
{
	const unsigned char *q = p + 1;

	if (q >= e)
		return NEED_MORE;
	if (*q == '#')
	{
		uint32_t	v = 0;
		bool		hex;
		const unsigned char *digits;

		q++;
		if (q >= e)
			return NEED_MORE;
		hex = (*q == 'x');
		if (hex)
			q++;
		digits = q;
		for (;; q++)
		{
			unsigned	d;

			if (q >= e)
				return NEED_MORE;
			if (*q >= '0' && *q <= '9')
				d = *q - '0';
			else if (hex && *q >= 'a' && *q <= 'f')
				d = *q - 'a' + 10;
			else if (hex && *q >= 'A' && *q <= 'F')
				d = *q - 'A' + 10;
			else
				break;
			v = v * (hex ? 16 : 10) + d;
			if (v > 0x10FFFF)
				return RF_RANGE;
		}
		if (q == digits || *q != ';')
			return RF_MALFORMED_CHAR;
		/* XML characters only: no NUL, controls, surrogates, U+FFFE/F */
		if ((v < 0x20 && v != 0x9 && v != 0xA && v != 0xD) ||
			(v >= 0xD800 && v <= 0xDFFF) || v == 0xFFFE || v == 0xFFFF)
			return RF_INVALID_CHAR;
		*cp = v;
		return (int) (q + 1 - p);
	}

	/* an entity name */
	if (*q >= 0x80)
		return RF_UNDEFINED;
	if (!name_start[*q])
		return RF_MALFORMED;
	while (q < e && name_char[*q])
		q++;
	if (q >= e)
		return NEED_MORE;
	if (*q != ';')
		return *q >= 0x80 ? RF_UNDEFINED : RF_MALFORMED;
	{
		size_t		n = (size_t) (q - p - 1);
		const char *nm = (const char *) p + 1;

		if (n == 2 && nm[0] == 'l' && nm[1] == 't')
			*cp = '<';
		else if (n == 2 && nm[0] == 'g' && nm[1] == 't')
			*cp = '>';
		else if (n == 3 && memcmp(nm, "amp", 3) == 0)
			*cp = '&';
		else if (n == 4 && memcmp(nm, "quot", 4) == 0)
			*cp = '"';
		else if (n == 4 && memcmp(nm, "apos", 4) == 0)
			*cp = '\'';
		else
			return RF_UNDEFINED;
	}
	return (int) (q + 1 - p);
}

/*
 * parse_ref
 *		decode_ref, reporting what is wrong. Returns the reference's length
 *		with *cp set, NEED_MORE, or FAILED.
 */
static int
parse_ref(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
		  uint32_t *cp, XlsxError *err)
{
	int			k = decode_ref(p, e, cp);

	switch (k)
	{
		case RF_RANGE:
			return xml_error(r, err, p, "character reference out of range");
		case RF_MALFORMED_CHAR:
			return xml_error(r, err, p, "malformed character reference");
		case RF_INVALID_CHAR:
			return xml_error(r, err, p, "character reference to an invalid character");
		case RF_UNDEFINED:
			return xml_error(r, err, p, "undefined entity");
		case RF_MALFORMED:
			return xml_error(r, err, p, "malformed reference");
		default:
			return k;
	}
}

/*
 * decode_attr
 *		Decode an attribute value we interpret (r, t, s) into out (size
 *		outsize, NUL-terminated). Returns false when it does not fit: such a
 *		value is never a valid reference, type or index anyway.
 */
static bool
decode_attr(XlsxSheetReader *r, const Attr *a, char *out, size_t outsize)
{
	size_t		n = 0;
	const unsigned char *p = a->value;
	const unsigned char *e = a->value + a->value_len;

	if (!a->has_ref)
	{
		if (a->value_len >= outsize)
			return false;
		memcpy(out, a->value, a->value_len);
		out[a->value_len] = '\0';
		return true;
	}
	while (p < e)
	{
		if (*p == '&')
		{
			uint32_t	cp = 0;
			unsigned char tmp[4];
			int			len = decode_ref(p, e, &cp);
			int			k;

			/* validated when the tag was parsed */
			if (len <= 0)
				return false;
			k = utf8_encode(cp, tmp);
			if (n + (size_t) k >= outsize)
				return false;
			memcpy(out + n, tmp, (size_t) k);
			n += (size_t) k;
			p += len;
		}
		else
		{
			if (n + 1 >= outsize)
				return false;
			out[n++] = (char) *p++;
		}
	}
	out[n] = '\0';
	return true;
}

/*
 * attr_value
 *		The value of an attribute as a span: the bytes in the buffer,
 *		or decoded into buf when it holds references. False if it does not
 *		fit (never a valid value then).
 */
static inline bool
attr_value(XlsxSheetReader *r, const Attr *a, char *buf, size_t size,
		   const char **val, size_t *len)
{
	if (!a->has_ref)
	{
		*val = (const char *) a->value;
		*len = a->value_len;
		return true;
	}
	if (!decode_attr(r, a, buf, size))
		return false;
	*val = buf;
	*len = strlen(buf);
	return true;
}

/*
 * find_attr
 *		The attribute of the current tag named exactly name (no prefix).
 */
static const Attr *
find_attr(XlsxSheetReader *r, const char *name, size_t len)
{
	for (int i = 0; i < r->nattrs; i++)
		if (r->attrs[i].name_len == len && memcmp(r->attrs[i].name, name, len) == 0)
			return &r->attrs[i];
	return NULL;
}

/*
 * attr_cmp
 *		qsort order of attribute names, for the duplicate check of tags with
 *		many attributes.
 */
static int
attr_cmp(const void *a, const void *b)
{
	const Attr *x = a;
	const Attr *y = b;
	size_t		n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int			c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/*
 * has_duplicate_attr
 *		XML forbids an attribute twice in one tag.
 */
static bool
has_duplicate_attr(XlsxSheetReader *r)
{
	if (r->nattrs <= 16)
	{
		for (int i = 1; i < r->nattrs; i++)
			for (int j = 0; j < i; j++)
				if (r->attrs[i].name_len == r->attrs[j].name_len &&
					small_eq(r->attrs[i].name, r->attrs[j].name, r->attrs[i].name_len))
					return true;
		return false;
	}
	/* many attributes: sort a copy (only names matter) */
	{
		Attr	   *copy = XlsxAlloc(r->env, sizeof(Attr) * (size_t) r->nattrs);
		bool		dup = false;

		if (copy == NULL)
			return false;
		memcpy(copy, r->attrs, sizeof(Attr) * (size_t) r->nattrs);
		qsort(copy, (size_t) r->nattrs, sizeof(Attr), attr_cmp);
		for (int i = 1; i < r->nattrs && !dup; i++)
			dup = attr_cmp(&copy[i - 1], &copy[i]) == 0;
		XlsxFree(r->env, copy);
		return dup;
	}
}

/*
 * parse_name
 *		An XML name at q: returns its end, NULL after an error (non-ASCII
 *		names are refused as unsupported), or e when the buffer ends in it.
 */
static inline const unsigned char *
parse_name(XlsxSheetReader *r, const unsigned char *q, const unsigned char *e,
		   XlsxError *err)
{
	if (q >= e)
		return e;
	if (!name_start[*q])
	{
		if (*q >= 0x80)
			unsupported(r, err, XLSX_ERR_XML, q, "non-ASCII element or attribute name");
		else
			xml_error(r, err, q, "invalid name");
		return NULL;
	}
	q++;
	while (name_char[*q])
		q++;
	if (q < e && *q >= 0x80)
	{
		unsupported(r, err, XLSX_ERR_XML, q, "non-ASCII element or attribute name");
		return NULL;
	}
	return q;
}

/*
 * parse_start_tag
 *		A start tag or empty-element tag at p ('<'): name and attributes
 *		into r->attrs; name, namelen and selfclose describe it. Returns its
 *		length, NEED_MORE or FAILED.
 */
static int
parse_start_tag(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
				const unsigned char **name, size_t *namelen, bool *selfclose,
				XlsxError *err)
{
	const unsigned char *q = parse_name(r, p + 1, e, err);

	if (q == NULL)
		return FAILED;
	if (q >= e)
		return NEED_MORE;
	*name = p + 1;
	*namelen = (size_t) (q - p - 1);
	r->nattrs = 0;
	r->attr_r = r->attr_t = r->attr_s = -1;

	for (;;)
	{
		const unsigned char *an;
		const unsigned char *av;
		unsigned char quote;
		bool		has_ref = false;
		size_t		anlen;
		Attr	   *a;

		if (q >= e)
			return NEED_MORE;
		if (*q == '>')
		{
			*selfclose = false;
			q++;
			break;
		}
		if (*q == '/')
		{
			if (q + 1 >= e)
				return NEED_MORE;
			if (q[1] != '>')
				return xml_error(r, err, q, "expected \"/>\"");
			*selfclose = true;
			q += 2;
			break;
		}
		if (!is_ws[*q])
			return xml_error(r, err, q, "expected whitespace, \">\" or \"/>\" in a tag");
		while (is_ws[*q])
			q++;
		if (q >= e)
			return NEED_MORE;
		if (*q == '>' || *q == '/')
			continue;

		/* name S? = S? quoted value */
		an = q;
		q = parse_name(r, q, e, err);
		if (q == NULL)
			return FAILED;
		if (q >= e)
			return NEED_MORE;
		anlen = (size_t) (q - an);
		while (is_ws[*q])
			q++;
		if (q >= e)
			return NEED_MORE;
		if (*q != '=')
			return xml_error(r, err, q, "expected \"=\" after an attribute name");
		q++;
		while (is_ws[*q])
			q++;
		if (q >= e)
			return NEED_MORE;
		if (*q != '"' && *q != '\'')
			return xml_error(r, err, q, "expected a quoted attribute value");
		quote = *q++;
		av = q;
		for (;;)
		{
			int			k;

			while (attr_class[*q] == BC_OK)
				q++;
			if (q >= e)
				return NEED_MORE;
			if (*q == quote)
				break;
			switch (attr_class[*q])
			{
				case BC_QUOTE:
					q++;
					break;
				case BC_LT:
					return xml_error(r, err, q, "\"<\" in an attribute value");
				case BC_AMP:
					{
						uint32_t	cp;

						k = parse_ref(r, q, e, &cp, err);
						if (k <= 0)
							return k;
						has_ref = true;
						q += k;
						break;
					}
				case BC_U2:
				case BC_U3:
				case BC_U4:
					k = utf8_check(q, e);
					if (k == 0)
						return NEED_MORE;
					if (k < 0)
						return xml_error(r, err, q, "invalid UTF-8 or character");
					q += k;
					break;
				default:
					return xml_error(r, err, q, "invalid character");
			}
		}

		/* keep it */
		if (r->nattrs == r->attrs_cap)
		{
			int			newcap = r->attrs_cap * 2;
			Attr	   *na = XlsxRealloc(r->env, r->attrs, sizeof(Attr) * (size_t) newcap);

			if (na == NULL)
				return scan_error(r, err, XLSX_ERR_NOMEM, "out of memory");
			r->attrs = na;
			r->attrs_cap = newcap;
		}
		/* note the attributes cells and rows use, by index */
		if (anlen == 1)
		{
			if (an[0] == 'r')
				r->attr_r = r->nattrs;
			else if (an[0] == 't')
				r->attr_t = r->nattrs;
			else if (an[0] == 's')
				r->attr_s = r->nattrs;
		}
		a = &r->attrs[r->nattrs++];
		a->name = an;
		a->name_len = anlen;
		a->value = av;
		a->value_len = (size_t) (q - av);
		a->has_ref = has_ref;
		q++;					/* the closing quote */
	}

	if (r->nattrs > 1 && has_duplicate_attr(r))
		return xml_error(r, err, p, "duplicate attribute");
	return (int) (q - p);
}

/*
 * scan_misc
 *		Check the characters of a comment, PI or CDATA body from q up to the
 *		terminator (stop, "--" + '>' for comments). Returns the terminator's
 *		position, NULL after an error, or e when the buffer ends first.
 */
static const unsigned char *
scan_misc(XlsxSheetReader *r, const unsigned char *q, const unsigned char *e,
		  int kind, XlsxError *err)
{
	for (;;)
	{
		int			k;

		while (misc_class[*q] == BC_OK)
			q++;
		if (q >= e)
			return e;
		switch (misc_class[*q])
		{
			case BC_DASH:
				if (kind == BC_DASH)
				{
					if (q + 1 >= e)
						return e;
					if (q[1] == '-')
						return q;
				}
				q++;
				break;
			case BC_QMARK:
				if (kind == BC_QMARK)
				{
					if (q + 1 >= e)
						return e;
					if (q[1] == '>')
						return q;
				}
				q++;
				break;
			case BC_RBRACKET:
				if (kind == BC_RBRACKET)
				{
					if (q + 2 >= e)
						return e;
					if (q[1] == ']' && q[2] == '>')
						return q;
				}
				q++;
				break;
			case BC_U2:
			case BC_U3:
			case BC_U4:
				k = utf8_check(q, e);
				if (k == 0)
					return e;
				if (k < 0)
				{
					xml_error(r, err, q, "invalid UTF-8 or character");
					return NULL;
				}
				q += k;
				break;
			default:
				xml_error(r, err, q, "invalid character");
				return NULL;
		}
	}
}

/*
 * pseudo_attr
 *		One pseudo-attribute of the XML declaration, exactly as expat reads
 *		them: whitespace, a name of ASCII characters up to '=' or whitespace,
 *		'=', a quoted value of [A-Za-z0-9._-]. *name NULL at the end.
 */
static bool
pseudo_attr(const unsigned char **pp, const unsigned char *end,
			const unsigned char **name, size_t *nlen,
			const unsigned char **val, size_t *vlen)
{
	const unsigned char *p = *pp;
	const unsigned char *nend;
	unsigned char open;

	*name = NULL;
	if (p == end)
		return true;
	if (!is_ws[*p])
		return false;
	while (p < end && is_ws[*p])
		p++;
	if (p == end)
		return true;
	*name = p;
	for (;;)
	{
		if (p == end || *p >= 0x80)
			return false;
		if (*p == '=')
		{
			nend = p;
			break;
		}
		if (is_ws[*p])
		{
			nend = p;
			while (p < end && is_ws[*p])
				p++;
			if (p == end || *p != '=')
				return false;
			break;
		}
		p++;
	}
	if (nend == *name)
		return false;
	*nlen = (size_t) (nend - *name);
	p++;
	while (p < end && is_ws[*p])
		p++;
	if (p == end || (*p != '"' && *p != '\''))
		return false;
	open = *p++;
	*val = p;
	for (;;)
	{
		if (p == end)
			return false;
		if (*p == open)
			break;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return false;
		p++;
	}
	*vlen = (size_t) (p - *val);
	*pp = p + 1;
	return true;
}

/*
 * parse_xml_decl
 *		<?xml version="..." [encoding="..."] [standalone="yes|no"] ?>, body
 *		[p, end). Only UTF-8 is supported.
 */
static int
parse_xml_decl(XlsxSheetReader *r, const unsigned char *p, const unsigned char *end,
			   XlsxError *err)
{
	const unsigned char *name;
	const unsigned char *val;
	size_t		nlen = 0;
	size_t		vlen = 0;

	if (!pseudo_attr(&p, end, &name, &nlen, &val, &vlen) || name == NULL ||
		nlen != 7 || memcmp(name, "version", 7) != 0)
		return xml_error(r, err, p, "malformed XML declaration");
	if (!pseudo_attr(&p, end, &name, &nlen, &val, &vlen))
		return xml_error(r, err, p, "malformed XML declaration");
	if (name != NULL && nlen == 8 && memcmp(name, "encoding", 8) == 0)
	{
		if (vlen == 0 || !((val[0] >= 'a' && val[0] <= 'z') || (val[0] >= 'A' && val[0] <= 'Z')))
			return xml_error(r, err, val, "malformed encoding name");
		if (!(vlen == 5 && strncasecmp((const char *) val, "utf-8", 5) == 0))
			return unsupported(r, err, XLSX_ERR_XML, val, "encodings other than UTF-8");
		if (!pseudo_attr(&p, end, &name, &nlen, &val, &vlen))
			return xml_error(r, err, p, "malformed XML declaration");
	}
	if (name != NULL)
	{
		if (!(nlen == 10 && memcmp(name, "standalone", 10) == 0) ||
			!((vlen == 3 && memcmp(val, "yes", 3) == 0) || (vlen == 2 && memcmp(val, "no", 2) == 0)))
			return xml_error(r, err, name, "malformed XML declaration");
		while (p < end && is_ws[*p])
			p++;
		if (p != end)
			return xml_error(r, err, p, "malformed XML declaration");
	}
	return 1;
}

/*
 * parse_pi
 *		A processing instruction at p ("<?"), or the XML declaration when it
 *		opens the part. Returns its length, NEED_MORE or FAILED.
 */
static int
parse_pi(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
		 XlsxError *err)
{
	const unsigned char *target = p + 2;
	const unsigned char *q = parse_name(r, target, e, err);
	const unsigned char *body;
	const unsigned char *stop;
	size_t		tlen;

	if (q == NULL)
		return FAILED;
	if (q >= e)
		return NEED_MORE;
	tlen = (size_t) (q - target);
	if (*q == '?')
	{
		if (q + 1 >= e)
			return NEED_MORE;
		if (q[1] != '>')
			return xml_error(r, err, q, "malformed processing instruction");
		stop = q;
		body = q;
	}
	else
	{
		if (!is_ws[*q])
			return xml_error(r, err, q, "malformed processing instruction");
		body = q;
		stop = scan_misc(r, q, e, BC_QMARK, err);
		if (stop == NULL)
			return FAILED;
		if (stop >= e)
			return NEED_MORE;
	}

	/* "xml" is the declaration, only first; other cases of it are reserved */
	if (tlen == 3 && (target[0] | 0x20) == 'x' && (target[1] | 0x20) == 'm' &&
		(target[2] | 0x20) == 'l')
	{
		if (memcmp(target, "xml", 3) != 0 || r->phase != PH_START)
			return xml_error(r, err, p, "XML declaration not at the start, or reserved target");
		if (parse_xml_decl(r, body, stop, err) < 0)
			return FAILED;
	}
	return (int) (stop + 2 - p);
}

/*
 * parse_bang
 *		"<!": a comment, a CDATA section (inside the root only; its text is
 *		collected when a <v> or <t> is open) or a DOCTYPE (refused).
 */
static int
parse_bang(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
		   XlsxError *err)
{
	size_t		avail = (size_t) (e - p);
	const unsigned char *stop;

	if (avail >= 4 && p[2] == '-' && p[3] == '-')
	{
		stop = scan_misc(r, p + 4, e, BC_DASH, err);
		if (stop == NULL)
			return FAILED;
		if (stop + 2 >= e)
			return NEED_MORE;
		if (stop[2] != '>')
			return xml_error(r, err, stop, "\"--\" inside a comment");
		return (int) (stop + 3 - p);
	}
	if (avail >= 3 && p[2] == '[')
	{
		if (avail < 9)
			return (memcmp(p, "<![CDATA[", avail) == 0) ? NEED_MORE :
				xml_error(r, err, p, "malformed markup");
		if (memcmp(p, "<![CDATA[", 9) != 0 || r->ctx == CTX_DOC)
			return xml_error(r, err, p, "CDATA section outside the root element or malformed");
		stop = scan_misc(r, p + 9, e, BC_RBRACKET, err);
		if (stop == NULL)
			return FAILED;
		if (stop >= e)
			return NEED_MORE;
		if (r->ctx == CTX_V || r->ctx == CTX_T)
		{
			/* collect, normalizing line ends as text does */
			const unsigned char *s = p + 9;

			if (!text_reserve(r, (size_t) (stop - s), err))
				return FAILED;
			while (s < stop)
			{
				if (*s == '\r')
				{
					r->text[r->text_len++] = '\n';
					s += (s + 1 < stop && s[1] == '\n') ? 2 : 1;
				}
				else
					r->text[r->text_len++] = (char) *s++;
			}
		}
		return (int) (stop + 3 - p);
	}
	if (avail >= 9 && memcmp(p, "<!DOCTYPE", 9) == 0)
		return scan_error(r, err, XLSX_ERR_XML, "DOCTYPE declarations are not allowed");
	if (avail < 9 && !r->eof && memcmp(p, "<!DOCTYPE", avail) == 0)
		return NEED_MORE;
	if (avail < 4 && !r->eof && memcmp(p, "<!--", avail) == 0)
		return NEED_MORE;
	return xml_error(r, err, p, "malformed markup after \"<!\"");
}

/*
 * push
 *		Open an element: remember its name for the end tag.
 */
static bool
push(XlsxSheetReader *r, const unsigned char *name, size_t len, Ctx ctx, XlsxError *err)
{
	StackEntry *se;

	if (r->depth == r->stack_cap)
	{
		int			newcap = r->stack_cap * 2;
		StackEntry *ns;

		if (r->depth >= MAX_DEPTH)
		{
			unsupported(r, err, XLSX_ERR_LIMIT, NULL, "elements nested more than 100000 deep");
			return false;
		}
		ns = XlsxRealloc(r->env, r->stack, sizeof(StackEntry) * (size_t) newcap);
		if (ns == NULL)
		{
			scan_error(r, err, XLSX_ERR_NOMEM, "out of memory");
			return false;
		}
		r->stack = ns;
		r->stack_cap = newcap;
	}
	if (len > MAX_NAMES - r->names_len)
	{
		/* nesting x 16 MB names would be terabytes: a fixed bound */
		unsupported(r, err, XLSX_ERR_LIMIT, NULL,
					"names of the open elements longer than 1 MB in all");
		return false;
	}
	if (r->names_len + len > r->names_cap)
	{
		size_t		newcap = r->names_cap * 2;
		char	   *nn;

		while (newcap < r->names_len + len)
			newcap *= 2;
		if (newcap > MAX_NAMES)
			newcap = MAX_NAMES;
		nn = XlsxRealloc(r->env, r->names, newcap);
		if (nn == NULL)
		{
			scan_error(r, err, XLSX_ERR_NOMEM, "out of memory");
			return false;
		}
		r->names = nn;
		r->names_cap = newcap;
	}
	se = &r->stack[r->depth++];
	se->name_off = (uint32_t) r->names_len;
	se->name_len = (uint32_t) len;
	se->ctx = (uint8_t) ctx;
	small_copy(r->names + r->names_len, name, len);
	r->names_len += len;
	r->ctx = ctx;
	return true;
}

/*
 * row_begin
 *		Start row n (checked): an empty row, and its number's digits for
 *		quick_ref and quick_cell.
 */
static void
row_begin(XlsxSheetReader *r, uint32_t n)
{
	char		tmp[8];
	unsigned char key[8] = {0};
	unsigned char mask[8] = {0};
	size_t		k = 0;
	bool		next = (n == r->rownum + 1 && r->row_ndigits > 0);

	r->rownum = n;
	r->prev_row = n;
	if (next)
	{
		/* the usual next row: add one to the digits */
		size_t		i = r->row_ndigits;

		while (i > 0 && r->row_digits[i - 1] == '9')
			r->row_digits[--i] = '0';
		if (i == 0)
			next = false;		/* 99 -> 100: one more digit */
		else
			r->row_digits[i - 1]++;
	}
	if (!next)
	{
		/* n <= 1048576: at most 7 digits */
		do
		{
			tmp[k++] = (char) ('0' + n % 10);
			n /= 10;
		} while (n > 0);
		r->row_ndigits = k;
		for (size_t i = 0; i < k; i++)
			r->row_digits[i] = tmp[k - 1 - i];
	}
	k = r->row_ndigits;
	for (size_t i = 0; i < k; i++)
	{
		key[i] = (unsigned char) r->row_digits[i];
		mask[i] = 0xFF;
	}
	key[k] = '"';
	mask[k] = 0xFF;
	memcpy(&r->row_key, key, 8);
	memcpy(&r->row_key_mask, mask, 8);
	r->prev_col = -1;
	r->ncells = 0;
	r->text_len = 0;
}

/*
 * row_start
 *		<row [r="N"]>: rows ascend; without r (a NULL), a row follows the
 *		previous. Numbers in r and s attributes must not have leading zeros:
 *		that keeps them short, and Excel never writes them.
 */
static bool
row_start(XlsxSheetReader *r, const Attr *a, XlsxError *err)
{
	uint64_t	n = 0;

	if (a != NULL)
	{
		char		v[32];
		size_t		i;

		/* digits, no leading zero (Excel writes none) */
		if (!decode_attr(r, a, v, sizeof(v)) || v[0] == '\0' || v[0] == '0')
		{
			scan_error(r, err, XLSX_ERR_CORRUPT, "row after row %u: malformed row number", r->prev_row);
			return false;
		}
		for (i = 0; v[i] >= '0' && v[i] <= '9'; i++)
			if (n <= XLSX_MAX_ROWS)
				n = n * 10 + (uint64_t) (v[i] - '0');
		if (v[i] != '\0')
		{
			scan_error(r, err, XLSX_ERR_CORRUPT, "row \"%s\": malformed row number", v);
			return false;
		}
		if (n == 0 || n > XLSX_MAX_ROWS)
		{
			scan_error(r, err, XLSX_ERR_LIMIT, "row %s: row number %s", v,
					   n == 0 ? "0 (rows start at 1)" : "past 1048576");
			return false;
		}
		if (n <= r->prev_row)
		{
			scan_error(r, err, XLSX_ERR_CORRUPT, "row %u: rows out of order (after row %u)",
					   (unsigned) n, r->prev_row);
			return false;
		}
	}
	else
	{
		n = (uint64_t) r->prev_row + 1;
		if (n > XLSX_MAX_ROWS)
		{
			scan_error(r, err, XLSX_ERR_LIMIT, "row %u: row number past 1048576", (unsigned) n);
			return false;
		}
	}
	row_begin(r, (uint32_t) n);
	return true;
}

/*
 * quick_ref
 *		The common cell reference: 1-3 capital letters and this row's number
 *		as row_start wrote it. False for anything else, which
 *		XlsxParseRefStatus then reads (and explains when it is bad).
 */
static inline bool
quick_ref(const XlsxSheetReader *r, const char *val, size_t len, uint32_t *col)
{
	uint32_t	c = 0;
	size_t		i;

	for (i = 0; i < len && i < 3 && val[i] >= 'A' && val[i] <= 'Z'; i++)
		c = c * 26 + (uint32_t) (val[i] - 'A' + 1);
	if (i == 0 || c > XLSX_MAX_COLUMNS || len - i != r->row_ndigits ||
		!small_eq(val + i, r->row_digits, r->row_ndigits))
		return false;
	*col = c - 1;
	return true;
}

/*
 * cell_start
 *		<c [r="B7"] [t=".."] [s=".."]>: place, type and format of a cell,
 *		from those attributes (NULL when absent).
 */
static bool
cell_start(XlsxSheetReader *r, const Attr *ra, const Attr *ta, const Attr *sa,
		   XlsxError *err)
{
	char		buf[40];
	char		v[44];
	char		where[32];
	const char *val = "";
	size_t		len = 0;
	uint32_t	col = 0;
	uint32_t	row = 0;

	if (ra != NULL)
	{
		XlsxRefStatus st = XLSX_REF_MALFORMED;

		if (attr_value(r, ra, buf, sizeof(buf), &val, &len))
		{
			if (quick_ref(r, val, len, &col))
			{
				st = XLSX_REF_OK;
				row = r->rownum;
			}
			else
				st = XlsxParseRefStatus(val, len, &col, &row);
		}
		if (st != XLSX_REF_OK || row != r->rownum || (int64_t) col <= r->prev_col)
		{
			/* the error path: the reference as written, for the message */
			if (st == XLSX_REF_MALFORMED && len >= 40)
				strcpy(v, "(too long)");
			else
				snprintf(v, sizeof(v), "%.*s", (int) len, val);
			if (st == XLSX_REF_MALFORMED)
				scan_error(r, err, XLSX_ERR_CORRUPT, "row %u: malformed cell reference \"%s\"",
						   r->rownum, v);
			else if (st == XLSX_REF_COL_RANGE)
				scan_error(r, err, XLSX_ERR_LIMIT, "cell %s: column past XFD", v);
			else if (st == XLSX_REF_ROW_RANGE)
				scan_error(r, err, XLSX_ERR_LIMIT, "cell %s: row past 1048576", v);
			else if (row != r->rownum)
				scan_error(r, err, XLSX_ERR_CORRUPT, "cell %s: not in its row %u", v, r->rownum);
			else
				scan_error(r, err, XLSX_ERR_CORRUPT, "cell %s: cells out of order in row %u",
						   v, r->rownum);
			return false;
		}
	}
	else
	{
		if (r->prev_col + 1 >= XLSX_MAX_COLUMNS)
		{
			cell_name(XLSX_MAX_COLUMNS, r->rownum, where, sizeof(where));
			scan_error(r, err, XLSX_ERR_LIMIT, "cell %s: column past XFD", where);
			return false;
		}
		col = (uint32_t) (r->prev_col + 1);
	}
	r->cell_col = col;
	r->prev_col = col;

	/* t: how to read the value */
	r->cell_t = TA_N;
	if (ta != NULL)
	{
		int			t = -1;

		if (attr_value(r, ta, buf, sizeof(buf), &val, &len))
		{
			if (len == 1)
			{
				switch (val[0])
				{
					case 'n':
						t = TA_N;
						break;
					case 's':
						t = TA_S;
						break;
					case 'b':
						t = TA_B;
						break;
					case 'e':
						t = TA_E;
						break;
					case 'd':
						t = TA_D;
						break;
				}
			}
			else if (len == 3 && small_eq(val, "str", 3))
				t = TA_STR;
			else if (len == 9 && small_eq(val, "inlineStr", 9))
				t = TA_INLINE;
		}
		if (t < 0)
		{
			cell_name(col, r->rownum, where, sizeof(where));
			snprintf(v, sizeof(v), "%.*s", (int) (len < 40 ? len : 40), val);
			scan_error(r, err, XLSX_ERR_CORRUPT, "cell %s: unknown cell type \"%s\"", where, v);
			return false;
		}
		r->cell_t = (TAttr) t;
	}

	/* s: the cellXfs index; anything unusable means General */
	r->cell_fmt = XLSX_FORMAT_GENERAL;
	if (sa != NULL && attr_value(r, sa, buf, sizeof(buf), &val, &len) &&
		len > 0 && len <= 10 && (val[0] != '0' || len == 1))
	{
		uint64_t	idx = 0;
		size_t		i;

		for (i = 0; i < len && val[i] >= '0' && val[i] <= '9'; i++)
			idx = idx * 10 + (uint64_t) (val[i] - '0');
		if (i == len && idx < r->nxf)
			r->cell_fmt = (XlsxFormatKind) r->xf_kind[idx];
	}
	r->cell_formula = false;
	r->cell_src = SRC_NONE;
	r->cell_start = r->text_len;
	return true;
}

/*
 * cell_end
 *		</c>: keep the cell if it has a value. Empty values are no value,
 *		except for strings (t="str", an <is>), where "" is a value.
 */
static bool
cell_end(XlsxSheetReader *r, XlsxError *err)
{
	size_t		len = r->text_len - r->cell_start;
	XlsxCell   *cell;
	XlsxCellType type = XLSX_CELL_STRING;
	size_t		off = r->cell_start;
	const char *shared = NULL;
	size_t		shared_len = 0;

	if (r->cell_src == SRC_NONE)
		goto omit;
	if (r->cell_src == SRC_V)
	{
		switch (r->cell_t)
		{
			case TA_N:
				type = XLSX_CELL_NUMBER;
				break;
			case TA_S:
				type = XLSX_CELL_STRING;
				break;
			case TA_STR:
			case TA_INLINE:
				type = XLSX_CELL_STRING;
				break;
			case TA_B:
				type = XLSX_CELL_BOOLEAN;
				break;
			case TA_E:
				type = XLSX_CELL_ERROR;
				break;
			case TA_D:
				type = XLSX_CELL_ISO_DATE;
				break;
		}
		if (len == 0 && r->cell_t != TA_STR && r->cell_t != TA_INLINE)
			goto omit;
		if (r->cell_t == TA_S)
		{
			/* a shared-string index: the text lives in the table */
			uint64_t	idx = 0;
			char		where[32];
			uint32_t	count = r->sst ? r->sst->count : 0;

			for (size_t i = 0; i < len; i++)
			{
				char		c = r->text[r->cell_start + i];

				if (c < '0' || c > '9')
				{
					cell_name(r->cell_col, r->rownum, where, sizeof(where));
					scan_error(r, err, XLSX_ERR_CORRUPT,
							   "cell %s: shared string index is not a number", where);
					return false;
				}
				if (idx <= UINT32_MAX)
					idx = idx * 10 + (uint64_t) (c - '0');
			}
			if (idx >= count)
			{
				cell_name(r->cell_col, r->rownum, where, sizeof(where));
				scan_error(r, err, XLSX_ERR_CORRUPT,
						   "cell %s: shared string %llu does not exist (the table has %u)",
						   where, (unsigned long long) idx, count);
				return false;
			}
			shared = r->sst->arena + r->sst->offsets[idx];
			shared_len = r->sst->offsets[idx + 1] - r->sst->offsets[idx] - 1;
			r->text_len = r->cell_start;
		}
	}

	/* append the cell */
	if (r->ncells == r->cells_cap)
	{
		int			newcap = r->cells_cap * 2;
		XlsxCell   *nc = XlsxRealloc(r->env, r->cells, sizeof(XlsxCell) * (size_t) newcap);
		size_t	   *no;

		if (nc == NULL)
			return scan_error(r, err, XLSX_ERR_NOMEM, "out of memory") >= 0;
		r->cells = nc;
		no = XlsxRealloc(r->env, r->cell_off, sizeof(size_t) * (size_t) newcap);
		if (no == NULL)
			return scan_error(r, err, XLSX_ERR_NOMEM, "out of memory") >= 0;
		r->cell_off = no;
		r->cells_cap = newcap;
	}
	cell = &r->cells[r->ncells];
	cell->col = r->cell_col;
	cell->type = type;
	cell->format = r->cell_fmt;
	cell->has_formula = r->cell_formula;
	if (shared != NULL)
	{
		cell->text = shared;
		cell->len = shared_len;
		r->cell_off[r->ncells] = SIZE_MAX;
	}
	else
	{
		if (r->text_len + 1 > r->text_cap && !text_reserve(r, 1, err))
			return false;
		r->text[r->text_len++] = '\0';
		cell->len = len;
		r->cell_off[r->ncells] = off;
	}
	r->ncells++;
	return true;

omit:
	r->text_len = r->cell_start;
	return true;
}

/*
 * row_end
 *		</row>: a row with cells is ready; its text pointers are fixed now
 *		that the text buffer will not move until the next row.
 */
static void
row_end(XlsxSheetReader *r)
{
	if (r->ncells == 0)
		return;
	for (int i = 0; i < r->ncells; i++)
		if (r->cell_off[i] != SIZE_MAX)
		{
			XlsxCell   *cell = &r->cells[i];

			cell->text = r->text + r->cell_off[i];
			/* inline and formula strings: _xHHHH_ escapes (the shared
			 * strings were decoded when loaded); the text only shrinks */
			if (cell->type == XLSX_CELL_STRING && cell->len >= 7)
				cell->len = XlsxDecodeXstring(r->text + r->cell_off[i], cell->len);
		}
	r->row.rownum = r->rownum;
	r->row.ncells = r->ncells;
	r->row.cells = r->cells;
	r->row_ready = true;
}

/*
 * local_is
 *		Does the local part (after any prefix) of a name equal lit?
 */
static inline bool
local_is(const unsigned char *local, size_t len, const char *lit, size_t litlen)
{
	return len == litlen && memcmp(local, lit, len) == 0;
}

/*
 * element_end
 *		What closing an element of context ctx does.
 */
static bool
element_end(XlsxSheetReader *r, Ctx ctx, XlsxError *err)
{
	switch (ctx)
	{
		case CTX_CELL:
			return cell_end(r, err);
		case CTX_ROW:
			row_end(r);
			break;
		case CTX_ROOT:
			r->phase = PH_EPILOG;
			if (r->head_only)
				r->head_done = true;
			break;
		default:
			break;
	}
	return true;
}

/*
 * start_element
 *		A start tag has been parsed: decide its context, act, open it.
 */
static bool
start_element(XlsxSheetReader *r, const unsigned char *name, size_t len,
			  bool selfclose, XlsxError *err)
{
	const unsigned char *local = name;
	size_t		llen = len;
	Ctx			ctx = CTX_SKIP;

	/* the local name: after the last colon */
	for (size_t i = len; i > 0; i--)
		if (name[i - 1] == ':')
		{
			local = name + i;
			llen = len - i;
			break;
		}

	switch (r->ctx)
	{
		case CTX_DOC:
			ctx = CTX_ROOT;
			r->phase = PH_CONTENT;
			break;
		case CTX_ROOT:
			if (local_is(local, llen, "sheetData", 9))
			{
				ctx = CTX_SHEETDATA;
				if (r->head_only)
					r->head_done = true;
			}
			else if (r->head_only && local_is(local, llen, "dimension", 9) && r->dimension == NULL)
			{
				const Attr *a = find_attr(r, "ref", 3);
				char		v[64];

				if (a && decode_attr(r, a, v, sizeof(v)))
					r->dimension = XlsxStrdup(r->env, v);
			}
			break;
		case CTX_SHEETDATA:
			if (local_is(local, llen, "row", 3))
			{
				if (!row_start(r, r->attr_r >= 0 ? &r->attrs[r->attr_r] : NULL, err))
					return false;
				ctx = CTX_ROW;
			}
			break;
		case CTX_ROW:
			if (local_is(local, llen, "c", 1))
			{
				if (!cell_start(r, r->attr_r >= 0 ? &r->attrs[r->attr_r] : NULL,
								r->attr_t >= 0 ? &r->attrs[r->attr_t] : NULL,
								r->attr_s >= 0 ? &r->attrs[r->attr_s] : NULL, err))
					return false;
				ctx = CTX_CELL;
			}
			break;
		case CTX_CELL:
			if (local_is(local, llen, "v", 1))
			{
				r->text_len = r->cell_start;
				r->cell_src = SRC_V;
				ctx = CTX_V;
			}
			else if (local_is(local, llen, "is", 2))
			{
				r->text_len = r->cell_start;
				r->cell_src = SRC_IS;
				ctx = CTX_IS;
			}
			else if (local_is(local, llen, "f", 1))
				r->cell_formula = true;
			break;
		case CTX_IS:
			if (local_is(local, llen, "t", 1))
				ctx = CTX_T;
			else if (local_is(local, llen, "r", 1))
				ctx = CTX_IS_R;
			break;
		case CTX_IS_R:
			if (local_is(local, llen, "t", 1))
				ctx = CTX_T;
			break;
		default:
			break;
	}

	if (selfclose)
		return element_end(r, ctx, err);
	return push(r, name, len, ctx, err);
}

/*
 * parse_end_tag
 *		"</name S?>" at p: must close the innermost open element.
 */
static int
parse_end_tag(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
			  XlsxError *err)
{
	const unsigned char *q = parse_name(r, p + 2, e, err);
	StackEntry *se;
	size_t		len;
	Ctx			closed;

	if (q == NULL)
		return FAILED;
	if (q >= e)
		return NEED_MORE;
	len = (size_t) (q - p - 2);
	while (is_ws[*q])
		q++;
	if (q >= e)
		return NEED_MORE;
	if (*q != '>')
		return xml_error(r, err, q, "malformed end tag");
	if (r->depth == 0)
		return xml_error(r, err, p, "end tag outside the root element");
	se = &r->stack[r->depth - 1];
	if (se->name_len != len || !small_eq(r->names + se->name_off, p + 2, len))
		return xml_error(r, err, p, "end tag does not match the open element");

	/* pop, back to the parent's context */
	closed = (Ctx) se->ctx;
	r->names_len = se->name_off;
	r->depth--;
	r->ctx = r->depth > 0 ? (Ctx) r->stack[r->depth - 1].ctx : CTX_DOC;
	if (!element_end(r, closed, err))
		return FAILED;
	return (int) (q + 1 - p);
}

/*
 * scan_markup
 *		Dispatch the markup at p ('<'). Returns its length, NEED_MORE or
 *		FAILED.
 */
static int
scan_markup(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
			XlsxError *err)
{
	const unsigned char *name = NULL;
	size_t		namelen = 0;
	bool		selfclose = false;
	int			n;

	if (p + 1 >= e)
		return NEED_MORE;
	switch (p[1])
	{
		case '/':
			return parse_end_tag(r, p, e, err);
		case '?':
			return parse_pi(r, p, e, err);
		case '!':
			return parse_bang(r, p, e, err);
		default:
			if (r->phase == PH_EPILOG)
				return xml_error(r, err, p, "content after the root element");
			n = parse_start_tag(r, p, e, &name, &namelen, &selfclose, err);
			if (n <= 0)
				return n;
			if (!start_element(r, name, namelen, selfclose, err))
				return FAILED;
			return n;
	}
}

/*
 * scan_text
 *		Character data from r->pos up to the next '<': checked, and appended
 *		to the cell when a <v> or <t> is open. Returns 1 at a '<', NEED_MORE
 *		when the buffer ends (r->pos says where to resume), FAILED.
 */
static int
scan_text(XlsxSheetReader *r, XlsxError *err)
{
	const unsigned char *p = r->buf + r->pos;
	const unsigned char *e = r->buf + r->end;
	const unsigned char *run = p;
	bool		collect = (r->ctx == CTX_V || r->ctx == CTX_T);
	int			k;

	if (r->ctx == CTX_DOC)
	{
		/* outside the root only whitespace may appear */
		while (is_ws[*p])
			p++;
		r->pos = (size_t) (p - r->buf);
		if (p >= e)
			return NEED_MORE;
		if (*p == '<')
			return 1;
		return xml_error(r, err, p, r->phase == PH_EPILOG ?
						 "content after the root element" : "text before the root element");
	}

	for (;;)
	{
		while (text_class[*p] == BC_OK)
			p++;
		if (p >= e)
			break;
		switch (text_class[*p])
		{
			case BC_LT:
				if (collect && !text_append(r, run, (size_t) (p - run), err))
					return FAILED;
				r->pos = (size_t) (p - r->buf);
				return 1;
			case BC_AMP:
				{
					uint32_t	cp;
					unsigned char tmp[4];

					k = parse_ref(r, p, e, &cp, err);
					if (k < 0)
						return FAILED;
					if (k == NEED_MORE)
						goto need;
					if (collect)
					{
						int			nb = utf8_encode(cp, tmp);

						if (!text_append(r, run, (size_t) (p - run), err) ||
							!text_reserve(r, 4, err))
							return FAILED;
						for (int i = 0; i < nb; i++)
							r->text[r->text_len++] = (char) tmp[i];
					}
					p += k;
					run = p;
					break;
				}
			case BC_RBRACKET:
				if (e - p < 3)
				{
					if (!r->eof)
						goto need;
					p++;
					break;
				}
				if (p[1] == ']' && p[2] == '>')
					return xml_error(r, err, p, "\"]]>\" in text");
				p++;
				break;
			case BC_CR:
				/* "\r\n" and a lone "\r" read as "\n" */
				if (p + 1 >= e && !r->eof)
					goto need;
				if (collect)
				{
					if (!text_append(r, run, (size_t) (p - run), err) ||
						!text_append(r, "\n", 1, err))
						return FAILED;
				}
				p += (p + 1 < e && p[1] == '\n') ? 2 : 1;
				run = p;
				break;
			case BC_U2:
			case BC_U3:
			case BC_U4:
				k = utf8_check(p, e);
				if (k == 0)
				{
					if (!r->eof)
						goto need;
					return xml_error(r, err, p, "truncated UTF-8 sequence");
				}
				if (k < 0)
					return xml_error(r, err, p, "invalid UTF-8 or character");
				p += k;
				break;
			default:
				return xml_error(r, err, p, "invalid character");
		}
	}

need:
	/* keep what was read; resume at p */
	if (collect && !text_append(r, run, (size_t) (p - run), err))
		return FAILED;
	r->pos = (size_t) (p - r->buf);
	return NEED_MORE;
}

/*
 * scan_start
 *		The very start of the part: a UTF-8 byte order mark, UTF-16 (refused),
 *		and the XML declaration, which may appear only here.
 */
static int
scan_start(XlsxSheetReader *r, XlsxError *err)
{
	const unsigned char *p = r->buf + r->pos;
	size_t		avail = r->end - r->pos;
	int			n;

	if (avail < 6 && !r->eof)
		return NEED_MORE;
	if (avail >= 2 && ((p[0] == 0xFE && p[1] == 0xFF) || (p[0] == 0xFF && p[1] == 0xFE) ||
					   p[0] == 0 || p[1] == 0))
		return unsupported(r, err, XLSX_ERR_XML, p, "encodings other than UTF-8");
	if (!r->bom_done && avail >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
	{
		r->bom_done = true;
		p += 3;
		r->pos += 3;
		avail -= 3;
		if (avail < 6 && !r->eof)
			return NEED_MORE;
	}
	if (avail >= 6 && memcmp(p, "<?xml", 5) == 0 && (is_ws[p[5]] || p[5] == '?'))
	{
		n = parse_pi(r, p, r->buf + r->end, err);
		if (n <= 0)
			return n;
		r->pos += (size_t) n;
	}
	r->phase = PH_PROLOG;
	return 1;
}

/* ---- the fast path ----
 *
 * Nearly all of a real worksheet is rows of cells of a few shapes:
 *
 *	  <row r="2" spans="1:8"><c r="B2" s="1" t="s"><v>12</v></c>...</row>
 *	  <c r="G2" s="2"><f>E2*F2</f><v>2.48</v></c>
 *	  <c r="C2" t="inlineStr"><is><t>text</t></is></c>
 *
 * fast_scan reads these straight from the buffer, a whole cell at a time,
 * without the element stack, the attribute array or a call per token. It
 * accepts a strict subset of what the general path accepts, with the same
 * checks (names, attribute syntax and uniqueness, characters, references),
 * and gives the same cells through the same row_start, cell_start and
 * cell_end. On anything else (a prefix, a comment, CDATA, a rich text run,
 * a '\r' in a value, an unknown element, a cell the buffer ends inside, a
 * malformed byte) it stops before that row or cell without any side
 * effect, and the general path takes over for one token; so it never has
 * to report a syntax error itself, only what row_start, cell_start and
 * cell_end find.
 */

/* Attributes a fast-path tag may have (more: the general path). */
#define FAST_MAX_ATTRS	8

typedef struct FastTag
{
	int			nattrs;
	bool		selfclose;
	Attr		attrs[FAST_MAX_ATTRS];
} FastTag;

/* Fast-path results besides a length (> 0) and FAILED. */
#define FAST_FALLBACK	0

/*
 * fast_attrs
 *		The attributes of a start tag from q (just after its name) to its
 *		'>' or "/>": returns the position after it, or NULL when the tag is
 *		unusual, malformed or not whole. Values with references are left
 *		to the general path. The NUL sentinel at e stops every loop.
 */
static inline const unsigned char *
fast_attrs(const unsigned char *q, FastTag *t)
{
	t->nattrs = 0;
	for (;;)
	{
		const unsigned char *an;
		const unsigned char *av;
		unsigned char quote;
		Attr	   *a;

		if (*q == '>')
		{
			t->selfclose = false;
			return q + 1;
		}
		if (*q == '/')
		{
			if (q[1] != '>')
				return NULL;
			t->selfclose = true;
			return q + 2;
		}
		if (!is_ws[*q])
			return NULL;
		while (is_ws[*q])
			q++;
		if (*q == '>' || *q == '/')
			continue;
		if (!name_start[*q])
			return NULL;
		an = q++;
		while (name_char[*q])
			q++;
		a = &t->attrs[t->nattrs];
		a->name = an;
		a->name_len = (size_t) (q - an);
		while (is_ws[*q])
			q++;
		if (*q != '=')
			return NULL;
		q++;
		while (is_ws[*q])
			q++;
		if (*q != '"' && *q != '\'')
			return NULL;
		quote = *q++;
		av = q;
		for (;;)
		{
			while (attr_class[*q] == BC_OK)
				q++;
			if (*q == quote)
				break;
			if (attr_class[*q] != BC_QUOTE)
				return NULL;
			q++;
		}
		a->value = av;
		a->value_len = (size_t) (q - av);
		a->has_ref = false;
		q++;
		for (int i = 0; i < t->nattrs; i++)
			if (t->attrs[i].name_len == a->name_len &&
				small_eq(t->attrs[i].name, a->name, a->name_len))
				return NULL;
		if (++t->nattrs == FAST_MAX_ATTRS)
			return NULL;
	}
}

/*
 * fast_text
 *		Character data from q up to the next '<', checked as scan_text
 *		checks it and, when collect, decoded onto the row text. Returns
 *		the '<', or NULL to fall back (*failed set when an append failed:
 *		err is set then).
 */
static inline const unsigned char *
fast_text(XlsxSheetReader *r, const unsigned char *q, const unsigned char *e,
		  bool collect, bool *failed, XlsxError *err)
{
	const unsigned char *run = q;

	for (;;)
	{
		int			k;

		while (text_class[*q] == BC_OK)
			q++;
		switch (text_class[*q])
		{
			case BC_LT:
				if (collect && q > run && !text_append(r, run, (size_t) (q - run), err))
				{
					*failed = true;
					return NULL;
				}
				return q;
			case BC_AMP:
				{
					uint32_t	cp;
					unsigned char tmp[4];

					k = decode_ref(q, e, &cp);
					if (k <= 0)
						return NULL;
					if (collect)
					{
						int			nb = utf8_encode(cp, tmp);

						if (!text_append(r, run, (size_t) (q - run), err) ||
							!text_reserve(r, 4, err))
						{
							*failed = true;
							return NULL;
						}
						for (int i = 0; i < nb; i++)
							r->text[r->text_len++] = (char) tmp[i];
					}
					q += k;
					run = q;
					break;
				}
			case BC_RBRACKET:
				if (e - q < 3 || (q[1] == ']' && q[2] == '>'))
					return NULL;
				q++;
				break;
			case BC_CR:
				/* line ends in a value need normalizing: general path */
				if (collect)
					return NULL;
				q++;
				break;
			case BC_U2:
			case BC_U3:
			case BC_U4:
				k = utf8_check(q, e);
				if (k <= 0)
					return NULL;
				q += k;
				break;
			default:
				/* a bad byte, or the sentinel at e */
				return NULL;
		}
	}
}

/*
 * fast_end_tag
 *		"</name S?>" at q for the given unprefixed name: the position after
 *		it, or NULL.
 */
static inline const unsigned char *
fast_end_tag(const unsigned char *q, const char *name, size_t len)
{
	if (q[0] != '<' || q[1] != '/')
		return NULL;
	q += 2;
	for (size_t i = 0; i < len; i++)
		if (q[i] != (unsigned char) name[i])
			return NULL;
	q += len;
	while (is_ws[*q])
		q++;
	return *q == '>' ? q + 1 : NULL;
}

/*
 * fast_is_tag
 *		Is there a start tag of this unprefixed name at q ('<')?
 */
static inline bool
fast_is_tag(const unsigned char *q, const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (q[1 + i] != (unsigned char) name[i])
			return false;
	return !name_char[q[1 + len]];
}

/*
 * fast_cell
 *		A whole <c> element at p, read and then applied: its length, 0 to
 *		fall back (nothing changed), or FAILED.
 */
static int
fast_cell(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
		  XlsxError *err)
{
	FastTag		tag;
	FastTag		sub;
	const Attr *ra = NULL;
	const Attr *ta = NULL;
	const Attr *sa = NULL;
	const unsigned char *q;
	size_t		start = r->text_len;
	size_t		vend = start;
	Src			src = SRC_NONE;
	bool		formula = false;
	bool		failed = false;

	q = fast_attrs(p + 2, &tag);
	if (q == NULL)
		return FAST_FALLBACK;
	for (int i = 0; i < tag.nattrs; i++)
		if (tag.attrs[i].name_len == 1)
		{
			if (tag.attrs[i].name[0] == 'r')
				ra = &tag.attrs[i];
			else if (tag.attrs[i].name[0] == 't')
				ta = &tag.attrs[i];
			else if (tag.attrs[i].name[0] == 's')
				sa = &tag.attrs[i];
		}

	while (!tag.selfclose)
	{
		if (*q != '<')
		{
			/* text directly in <c>: checked, not kept */
			q = fast_text(r, q, e, false, &failed, err);
			if (q == NULL)
				goto fallback;
		}
		if (q[1] == '/')
		{
			q = fast_end_tag(q, "c", 1);
			if (q == NULL)
				goto fallback;
			break;
		}
		if (fast_is_tag(q, "v", 1))
		{
			/* the value: the last <v> or <is> wins */
			q = fast_attrs(q + 2, &sub);
			if (q == NULL)
				goto fallback;
			r->text_len = start;
			src = SRC_V;
			if (!sub.selfclose)
			{
				q = fast_text(r, q, e, true, &failed, err);
				if (q == NULL || (q = fast_end_tag(q, "v", 1)) == NULL)
					goto fallback;
			}
			vend = r->text_len;
		}
		else if (fast_is_tag(q, "f", 1))
		{
			q = fast_attrs(q + 2, &sub);
			if (q == NULL)
				goto fallback;
			formula = true;
			if (!sub.selfclose)
			{
				q = fast_text(r, q, e, false, &failed, err);
				if (q == NULL || (q = fast_end_tag(q, "f", 1)) == NULL)
					goto fallback;
			}
		}
		else if (fast_is_tag(q, "is", 2))
		{
			/* an inline string of plain <t> (rich runs: general path) */
			q = fast_attrs(q + 3, &sub);
			if (q == NULL)
				goto fallback;
			r->text_len = start;
			src = SRC_IS;
			while (!sub.selfclose)
			{
				if (*q != '<')
				{
					q = fast_text(r, q, e, false, &failed, err);
					if (q == NULL)
						goto fallback;
				}
				if (q[1] == '/')
				{
					q = fast_end_tag(q, "is", 2);
					if (q == NULL)
						goto fallback;
					break;
				}
				if (!fast_is_tag(q, "t", 1))
					goto fallback;
				q = fast_attrs(q + 2, &sub);
				if (q == NULL)
					goto fallback;
				if (!sub.selfclose)
				{
					q = fast_text(r, q, e, true, &failed, err);
					if (q == NULL || (q = fast_end_tag(q, "t", 1)) == NULL)
						goto fallback;
				}
				sub.selfclose = false;
			}
			vend = r->text_len;
		}
		else
			goto fallback;
	}

	/* the cell is whole and well-formed: apply it as the general path would */
	r->text_len = start;
	if (!cell_start(r, ra, ta, sa, err))
		return FAILED;
	r->text_len = vend;
	r->cell_src = src;
	r->cell_formula = formula;
	if (!cell_end(r, err))
		return FAILED;
	return (int) (q - p);

fallback:
	r->text_len = start;
	return failed ? FAILED : FAST_FALLBACK;
}

/*
 * plain_run
 *		The end of the run of plain bytes at q: printable ASCII but '<', '&'
 *		and ']' (plain_class). The sentinel ends every run. With SSE2, 16
 *		bytes a step, reading up to 15 bytes past the sentinel (BUF_PAD).
 */
static inline const unsigned char *
plain_run(const unsigned char *q)
{
#if defined(__SSE2__)
	const __m128i lt = _mm_set1_epi8('<');
	const __m128i amp = _mm_set1_epi8('&');
	const __m128i rb = _mm_set1_epi8(']');
	const __m128i low = _mm_set1_epi8(0x20);

	for (;;)
	{
		__m128i		x = _mm_loadu_si128((const __m128i *) q);

		/* signed: bytes below 0x20 and from 0x80 up are both "less" */
		__m128i		m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, lt),
												  _mm_cmpeq_epi8(x, amp)),
									 _mm_or_si128(_mm_cmpeq_epi8(x, rb),
												  _mm_cmplt_epi8(x, low)));
		unsigned	bits = (unsigned) _mm_movemask_epi8(m);

		if (bits != 0)
			return q + __builtin_ctz(bits);
		q += 16;
	}
#else
	while (plain_class[*q])
		q++;
	return q;
#endif
}

/*
 * quick_cell
 *		The commonest cells by literal match, before fast_cell's general
 *		reading: <c r="REF"[ s="N"][ t="T"]>, an optional <f>..</f>, a
 *		<v>..</v>, </c>, single spaces, double quotes, no references and no
 *		bytes text_class does not pass, REF this row's next column, and room
 *		in the row's arrays. Returns the cell's length, or 0 with nothing
 *		changed for fast_cell to read it (and report what is wrong, if
 *		anything is).
 */
static inline int
quick_cell(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e)
{
	const unsigned char *q = p + 6;
	const unsigned char *v = NULL;
	const unsigned char *vend = NULL;
	uint32_t	c = 0;
	int			nl = 0;
	TAttr		t = TA_N;
	XlsxFormatKind fmt = XLSX_FORMAT_GENERAL;
	bool		seen_s = false;
	bool		seen_t = false;
	bool		formula = false;
	XlsxCell   *cell;
	size_t		len;

	/* r: this row's number after the column letters */
	if (e - p < 16 || memcmp(p, "<c r=\"", 6) != 0)
		return 0;
	while (nl < 3 && *q >= 'A' && *q <= 'Z')
	{
		c = c * 26 + (uint32_t) (*q++ - 'A' + 1);
		nl++;
	}
	if (nl == 0 || c > XLSX_MAX_COLUMNS || (int64_t) c - 1 <= r->prev_col ||
		e - q < 16)
		return 0;
	{
		uint64_t	w;

		memcpy(&w, q, 8);
		if ((w & r->row_key_mask) != r->row_key)
			return 0;
	}
	q += r->row_ndigits + 1;

	/* s and t, in either order, then '>' */
	for (;;)
	{
		if (e - q < 16)
			return 0;
		if (*q == '>')
		{
			q++;
			break;
		}
		if (q[0] != ' ' || q[2] != '=' || q[3] != '"')
			return 0;
		if (q[1] == 's' && !seen_s)
		{
			uint32_t	idx = 0;
			int			nd = 0;

			q += 4;
			while (nd < 9 && *q >= '0' && *q <= '9')
			{
				idx = idx * 10 + (uint32_t) (*q++ - '0');
				nd++;
			}
			if (*q != '"' || nd == 0 || (nd > 1 && q[-nd] == '0'))
				return 0;
			q++;
			if (idx < r->nxf)
				fmt = (XlsxFormatKind) r->xf_kind[idx];
			seen_s = true;
		}
		else if (q[1] == 't' && !seen_t)
		{
			q += 4;
			if (q[1] == '"')
			{
				switch (q[0])
				{
					case 's':
						t = TA_S;
						break;
					case 'n':
						t = TA_N;
						break;
					case 'b':
						t = TA_B;
						break;
					case 'e':
						t = TA_E;
						break;
					case 'd':
						t = TA_D;
						break;
					default:
						return 0;
				}
				q += 2;
			}
			else if (memcmp(q, "str\"", 4) == 0)
			{
				t = TA_STR;
				q += 4;
			}
			else
				return 0;
			seen_t = true;
		}
		else
			return 0;
	}

	/* <f>..</f> and <v>..</v>, any number, then </c> */
	for (;;)
	{
		if (e - q < 8 || q[0] != '<')
			return 0;
		if (q[1] == 'v' && q[2] == '>')
		{
			v = q + 3;
			q = plain_run(v);
			vend = q;
			if (e - q < 4 || memcmp(q, "</v>", 4) != 0)
				return 0;
			q += 4;
		}
		else if (q[1] == 'f' && q[2] == '>')
		{
			q = plain_run(q + 3);
			if (e - q < 4 || memcmp(q, "</f>", 4) != 0)
				return 0;
			q += 4;
			formula = true;
		}
		else if (q[1] == '/' && q[2] == 'c' && q[3] == '>')
		{
			q += 4;
			break;
		}
		else
			return 0;
	}

	/* the cell, as cell_start and cell_end would make it */
	len = (size_t) (vend - v);
	if (v == NULL || (len == 0 && t != TA_STR))
	{
		/* no value: only the column counts */
		r->prev_col = (int64_t) c - 1;
		return (int) (q - p);
	}
	/* room (growing, and its limit, are for fast_cell) */
	if (r->ncells == r->cells_cap || r->text_len + len + 17 > r->text_cap ||
		r->text_len + len + 1 > MAX_ROW_TEXT)
		return 0;
	cell = &r->cells[r->ncells];
	if (t == TA_S)
	{
		uint32_t	idx = 0;

		if (len > 9 || r->sst == NULL)
			return 0;
		for (size_t i = 0; i < len; i++)
		{
			if (v[i] < '0' || v[i] > '9')
				return 0;
			idx = idx * 10 + (uint32_t) (v[i] - '0');
		}
		if (idx >= r->sst->count)
			return 0;
		cell->type = XLSX_CELL_STRING;
		cell->text = r->sst->arena + r->sst->offsets[idx];
		cell->len = r->sst->offsets[idx + 1] - r->sst->offsets[idx] - 1;
		r->cell_off[r->ncells] = SIZE_MAX;
	}
	else
	{
		static const XlsxCellType types[] = {
			[TA_N] = XLSX_CELL_NUMBER,
			[TA_STR] = XLSX_CELL_STRING,
			[TA_B] = XLSX_CELL_BOOLEAN,
			[TA_E] = XLSX_CELL_ERROR,
			[TA_D] = XLSX_CELL_ISO_DATE
		};

		cell->type = types[t];
		/* short values: one fixed copy (room checked, BUF_PAD behind v) */
		if (len <= 16)
			memcpy(r->text + r->text_len, v, 16);
		else
			memcpy(r->text + r->text_len, v, len);
		r->cell_off[r->ncells] = r->text_len;
		r->text_len += len;
		r->text[r->text_len++] = '\0';
		cell->len = len;
	}
	cell->col = c - 1;
	cell->format = fmt;
	cell->has_formula = formula;
	r->ncells++;
	r->prev_col = (int64_t) c - 1;
	return (int) (q - p);
}

/*
 * quick_row
 *		<row r="N"> or <row r="N" spans="..">, N past the previous row, by
 *		literal match: opens the row and returns the tag's length, or 0 for
 *		the general reading of the tag.
 */
static inline int
quick_row(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
		  XlsxError *err)
{
	const unsigned char *q = p + 8;
	uint32_t	n = 0;
	int			nd = 0;

	if (e - p < 32 || memcmp(p, "<row r=\"", 8) != 0 || *q == '0')
		return 0;
	while (nd < 7 && *q >= '0' && *q <= '9')
	{
		n = n * 10 + (uint32_t) (*q++ - '0');
		nd++;
	}
	if (*q != '"' || nd == 0 || n <= r->prev_row || n > XLSX_MAX_ROWS)
		return 0;
	q++;
	if (e - q >= 9 && memcmp(q, " spans=\"", 8) == 0)
	{
		q += 8;
		while ((*q >= '0' && *q <= '9') || *q == ':')
			q++;
		if (*q != '"')
			return 0;
		q++;
	}
	if (*q != '>')
		return 0;
	row_begin(r, n);
	if (!push(r, (const unsigned char *) "row", 3, CTX_ROW, err))
		return FAILED;
	return (int) (q + 1 - p);
}

/*
 * fast_scan
 *		Rows and cells in sheetData from r->pos, as long as they have the
 *		common shapes. Returns 1 when a row is ready, 0 when the general
 *		path must read the next token, FAILED.
 */
static int
fast_scan(XlsxSheetReader *r, XlsxError *err)
{
	const unsigned char *base = r->buf;
	const unsigned char *p = base + r->pos;
	const unsigned char *e = base + r->end;
	int			rc = 0;

	for (;;)
	{
		const unsigned char *q;
		bool		failed = false;

		if (*p != '<')
		{
			/* text between rows or cells: checked, not kept */
			q = fast_text(r, p, e, false, &failed, err);
			if (q == NULL)
				break;
			p = q;
		}
		if (r->ctx == CTX_ROW)
		{
			if (fast_is_tag(p, "c", 1))
			{
				int			n = quick_cell(r, p, e);

				if (n > 0)
				{
					p += n;
					continue;
				}
				n = fast_cell(r, p, e, err);

				if (n <= 0)
				{
					rc = n;
					break;
				}
				p += n;
				continue;
			}
			if (p[1] == '/' && (q = fast_end_tag(p, "row", 3)) != NULL)
			{
				StackEntry *se = &r->stack[r->depth - 1];

				/* the row may have been opened by the general path */
				if (se->name_len != 3 || !small_eq(r->names + se->name_off, "row", 3))
					break;
				r->names_len = se->name_off;
				r->depth--;
				r->ctx = (Ctx) r->stack[r->depth - 1].ctx;
				p = q;
				row_end(r);
				if (r->row_ready)
				{
					rc = 1;
					break;
				}
				continue;
			}
			break;
		}
		else
		{
			FastTag		tag;
			const Attr *ra = NULL;
			int			n = quick_row(r, p, e, err);

			if (n != 0)
			{
				if (n < 0)
				{
					rc = FAILED;
					break;
				}
				p += n;
				continue;
			}
			if (!fast_is_tag(p, "row", 3) || (q = fast_attrs(p + 4, &tag)) == NULL)
				break;
			for (int i = 0; i < tag.nattrs; i++)
				if (tag.attrs[i].name_len == 1 && tag.attrs[i].name[0] == 'r')
					ra = &tag.attrs[i];
			if (!row_start(r, ra, err) ||
				(!tag.selfclose && !push(r, (const unsigned char *) "row", 3, CTX_ROW, err)))
			{
				rc = FAILED;
				break;
			}
			p = q;
		}
	}
	r->pos = (size_t) (p - base);
	return rc;
}

/*
 * scan
 *		Run until a row is ready (1), the part ends (0) or an error (-1).
 */
static int
scan(XlsxSheetReader *r, XlsxError *err)
{
	for (;;)
	{
		int			n;

		if (r->phase == PH_FAILED)
		{
			if (err)
				*err = r->saved_err;
			return -1;
		}
		if (r->phase == PH_DONE)
			return 0;

		if (r->phase == PH_START)
			n = scan_start(r, err);
		else if ((r->ctx == CTX_ROW || r->ctx == CTX_SHEETDATA) && r->fast && !r->head_only &&
				 r->pos < r->end && (n = fast_scan(r, err)) != 0)
		{
			if (n == FAILED)
				return -1;
			r->row_ready = false;
			return 1;
		}
		else if (r->pos < r->end && r->buf[r->pos] == '<')
		{
			n = scan_markup(r, r->buf + r->pos, r->buf + r->end, err);
			if (n > 0)
			{
				r->pos += (size_t) n;
				if (r->row_ready)
				{
					r->row_ready = false;
					return 1;
				}
				if (r->head_done)
					return 0;
				continue;
			}
		}
		else
		{
			n = scan_text(r, err);
			if (n > 0)
				continue;
		}
		if (n == FAILED)
			return -1;
		if (n > 0)
			continue;

		/* NEED_MORE: at the end of the part, or read on */
		if (r->eof)
		{
			if (r->pos < r->end)
				return xml_error(r, err, r->buf + r->pos, "unexpected end of the part inside markup");
			if (r->phase != PH_EPILOG)
				return xml_error(r, err, NULL, r->phase == PH_CONTENT ?
								 "unexpected end of the part: an element is not closed" :
								 "no root element");
			r->phase = PH_DONE;
			return 0;
		}
		if (!refill(r, err))
			return -1;
	}
}

/*
 * XlsxScanOpen
 *		A scanner over any byte source (see xlsx_internal.h).
 */
XlsxSheetReader *
XlsxScanOpen(const XlsxEnv *env, const char *part, XlsxReadFn read,
			 XlsxCloseFn close, void *arg, const XlsxSst *sst,
			 const uint8_t *xf_kind, uint32_t nxf, XlsxError *err)
{
	XlsxSheetReader *r;

	if (!tables_ready)
		init_tables();
	r = XlsxAlloc(env, sizeof(XlsxSheetReader));
	if (r == NULL)
	{
		XlsxSetError(err, XLSX_ERR_NOMEM, "%s: out of memory", part);
		return NULL;
	}
	memset(r, 0, sizeof(*r));
	r->env = env;
	r->read = read;
	r->close = close;
	r->arg = arg;
	r->sst = sst;
	r->xf_kind = xf_kind;
	r->nxf = xf_kind ? nxf : 0;
	r->phase = PH_START;
	r->ctx = CTX_DOC;
	r->prev_col = -1;
	r->fast = true;
	r->bufsize = XLSX_CHUNK;
	r->stack_cap = 32;
	r->names_cap = 256;
	r->attrs_cap = 8;
	r->cells_cap = 64;
	r->text_cap = 4096;
	r->part = XlsxStrdup(env, part);
	r->buf = XlsxAlloc(env, r->bufsize + 1 + BUF_PAD);
	r->stack = XlsxAlloc(env, sizeof(StackEntry) * (size_t) r->stack_cap);
	r->names = XlsxAlloc(env, r->names_cap);
	r->attrs = XlsxAlloc(env, sizeof(Attr) * (size_t) r->attrs_cap);
	r->cells = XlsxAlloc(env, sizeof(XlsxCell) * (size_t) r->cells_cap);
	r->cell_off = XlsxAlloc(env, sizeof(size_t) * (size_t) r->cells_cap);
	r->text = XlsxAlloc(env, r->text_cap);
	if (!r->part || !r->buf || !r->stack || !r->names || !r->attrs || !r->cells ||
		!r->cell_off || !r->text)
	{
		/* the caller still owns arg: do not close it */
		r->close = NULL;
		XlsxSheetClose(r);
		XlsxSetError(err, XLSX_ERR_NOMEM, "%s: out of memory", part);
		return NULL;
	}
	memset(r->buf, 0, r->bufsize + 1 + BUF_PAD);
	return r;
}

/*
 * XlsxScanDimension
 *		Read the head of a sheet up to <sheetData> for <dimension ref>.
 */
int
XlsxScanDimension(XlsxSheetReader *reader, char **ref, XlsxError *err)
{
	int			rc;

	reader->head_only = true;
	rc = scan(reader, err);
	if (rc < 0)
		return -1;
	*ref = reader->dimension;
	reader->dimension = NULL;
	return *ref ? 1 : 0;
}

/*
 * XlsxScanSetFast
 *		Tests only: fast path on or off (see xlsx_internal.h).
 */
void
XlsxScanSetFast(XlsxSheetReader *reader, bool on)
{
	reader->fast = on;
}

/*
 * XlsxScanUnsupported
 *		Was the failure a refusal of input outside the scanner's scope?
 */
bool
XlsxScanUnsupported(const XlsxSheetReader *reader)
{
	return reader->unsupported;
}

/*
 * XlsxSheetNextRow
 *		The next row with at least one value (1), the end (0), an error (-1).
 */
int
XlsxSheetNextRow(XlsxSheetReader *reader, XlsxRow **row, XlsxError *err)
{
	int			rc = scan(reader, err);

	if (rc == 1)
		*row = &reader->row;
	return rc;
}

/*
 * XlsxSheetBytesRead
 *		Bytes of XML read from the part so far.
 */
int64_t
XlsxSheetBytesRead(const XlsxSheetReader *reader)
{
	return reader->bytes_read;
}

/*
 * XlsxSheetClose
 *		Release a reader and its source.
 */
void
XlsxSheetClose(XlsxSheetReader *reader)
{
	const XlsxEnv *env;

	if (reader == NULL)
		return;
	env = reader->env;
	if (reader->close)
		reader->close(reader->arg);
	XlsxFree(env, reader->part);
	XlsxFree(env, reader->buf);
	XlsxFree(env, reader->stack);
	XlsxFree(env, reader->names);
	XlsxFree(env, reader->attrs);
	XlsxFree(env, reader->cells);
	XlsxFree(env, reader->cell_off);
	XlsxFree(env, reader->text);
	XlsxFree(env, reader->dimension);
	XlsxFree(env, reader);
}

/*
 * zip_source_read, zip_source_close
 *		The zip stream as a scanner source.
 */
static ssize_t
zip_source_read(void *arg, char *buf, size_t len, XlsxError *err)
{
	return XlsxZipStreamRead((XlsxZipStream *) arg, buf, len, err);
}

static void
zip_source_close(void *arg)
{
	XlsxZipStreamClose((XlsxZipStream *) arg);
}

/*
 * open_sheet_part
 *		A scanner on sheet 'position' of a workbook.
 */
static XlsxSheetReader *
open_sheet_part(XlsxWorkbook *wb, int position, XlsxError *err)
{
	const XlsxSheetInfo *si = XlsxGetSheet(wb, position);
	XlsxZipStream *stream;
	XlsxSheetReader *r;
	int64_t		index;

	if (si == NULL)
	{
		XlsxSetError(err, XLSX_ERR_NO_SHEET, "sheet %d does not exist (the workbook has %d)",
					 position, wb->nsheets);
		return NULL;
	}
	index = XlsxZipLocate(wb->zip, si->part);
	if (index < 0)
	{
		XlsxSetError(err, XLSX_ERR_MISSING_PART, "%s: part of sheet \"%s\" missing from the workbook",
					 si->part, si->name);
		return NULL;
	}
	stream = XlsxZipStreamOpen(wb->zip, index, si->part, true, err);
	if (stream == NULL)
		return NULL;
	r = XlsxScanOpen(&wb->env, si->part, zip_source_read, zip_source_close, stream,
					 &wb->sst, wb->xf_kind, wb->nxf, err);
	if (r == NULL)
		XlsxZipStreamClose(stream);
	return r;
}

/*
 * XlsxSheetOpen
 *		Stream the rows of a sheet (loading shared strings and styles first
 *		if the caller has not).
 */
XlsxSheetReader *
XlsxSheetOpen(XlsxWorkbook *wb, int position, XlsxError *err)
{
	if (!XlsxLoadSharedData(wb, err))
		return NULL;
	return open_sheet_part(wb, position, err);
}

/*
 * XlsxSheetDimension
 *		The <dimension ref> of a sheet, read once from the head of its part.
 */
const char *
XlsxSheetDimension(XlsxWorkbook *wb, int position, XlsxError *err)
{
	XlsxSheetReader *r;
	char	   *ref = NULL;
	int			rc;

	if (position >= 1 && position <= wb->nsheets && wb->dimension_read[position - 1])
		return wb->sheets[position - 1].dimension;
	r = open_sheet_part(wb, position, err);
	if (r == NULL)
		return NULL;
	rc = XlsxScanDimension(r, &ref, err);
	XlsxSheetClose(r);
	if (rc < 0)
		return NULL;
	wb->sheets[position - 1].dimension = ref;
	wb->dimension_read[position - 1] = true;
	return ref;
}
