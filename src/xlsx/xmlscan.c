/*
 * xmlscan.c
 *		The streaming XML tokenizer of the worksheet scanner: the input
 *		buffer, UTF-8 and XML characters, references, names, tags and
 *		attributes, comments, PIs, CDATA, the XML declaration and the element
 *		stack. What the elements mean is sheet.c's (see xmlscan.h).
 *
 * The tokenizer reads its part in chunks into one buffer and walks it with
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
 * It is a full well-formedness checker, not a pattern matcher: end tags
 * must match start tags (a stack of names), attributes must be unique, and
 * characters must be valid UTF-8 XML characters, everywhere in the part,
 * including what the worksheet skips (<extLst>, <mergeCells>, ...).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlsx.h"
#include "xlsx_internal.h"
#include "xmlscan.h"

/* Byte class tables, built once (idempotent, so benign if raced). */
uint8_t		XlsxScanTextClass[256];
uint8_t		XlsxScanAttrClass[256];
uint8_t		XlsxScanMiscClass[256];
uint8_t		XlsxScanNameStart[256];
uint8_t		XlsxScanNameChar[256];
uint8_t		XlsxScanIsWs[256];
uint8_t		XlsxScanPlainClass[256];
static bool tables_ready = false;

/*
 * XlsxScanInitTables
 *		Build the byte class tables: XML 1.0 characters in UTF-8, with the
 *		bytes each context must stop at.
 */
void
XlsxScanInitTables(void)
{
	if (tables_ready)
		return;
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

		XlsxScanTextClass[c] = base;
		XlsxScanAttrClass[c] = base;
		XlsxScanMiscClass[c] = base;
		XlsxScanNameStart[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
		XlsxScanNameChar[c] = XlsxScanNameStart[c] || (c >= '0' && c <= '9') || c == '.' || c == '-';
		XlsxScanIsWs[c] = (c == ' ' || c == '\t' || c == '\n' || c == '\r');
		XlsxScanPlainClass[c] = c >= 0x20 && c < 0x80 && c != '<' && c != '&' && c != ']';
	}
	XlsxScanTextClass['<'] = BC_LT;
	XlsxScanTextClass['&'] = BC_AMP;
	XlsxScanTextClass[']'] = BC_RBRACKET;
	XlsxScanTextClass['\r'] = BC_CR;
	XlsxScanAttrClass['<'] = BC_LT;
	XlsxScanAttrClass['&'] = BC_AMP;
	XlsxScanAttrClass['"'] = BC_QUOTE;
	XlsxScanAttrClass['\''] = BC_QUOTE;
	XlsxScanMiscClass['-'] = BC_DASH;
	XlsxScanMiscClass['?'] = BC_QMARK;
	XlsxScanMiscClass[']'] = BC_RBRACKET;
	tables_ready = true;
}

/*
 * XlsxScanError
 *		Record an error naming the part and, for XML errors, the byte offset.
 */
int
XlsxScanError(XlsxSheetReader *r, XlsxError *err, XlsxErrorCode code,
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
 * XlsxScanXmlError
 *		A well-formedness error at a position of the buffer.
 */
int
XlsxScanXmlError(XlsxSheetReader *r, XlsxError *err, const unsigned char *at, const char *what)
{
	int64_t		off = r->base_off + (at ? (int64_t) (at - r->buf) : (int64_t) r->end);

	return XlsxScanError(r, err, XLSX_ERR_XML, "malformed XML at byte %lld: %s",
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
	return XlsxScanError(r, err, code, "unsupported XML at byte %lld: %s",
					  (long long) off, what);
}

/*
 * XlsxScanRefill
 *		Keep the unread bytes [pos, end), move them to the front, and read
 *		more. Grows the buffer when a single markup token fills it.
 *		Returns false on a read error or limit (err set).
 */
bool
XlsxScanRefill(XlsxSheetReader *r, XlsxError *err)
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
			XlsxScanError(r, err, XLSX_ERR_NOMEM, "out of memory");
			return false;
		}
		memset(p + newsize + 1, 0, BUF_PAD);
		r->buf = p;
		r->bufsize = newsize;
	}
	if (r->env->interrupted && r->env->interrupted(r->env->ctx))
	{
		XlsxScanError(r, err, XLSX_ERR_CANCELED, "canceled");
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
 * XlsxScanTextReserve
 *		Room for n more bytes of row text.
 */
bool
XlsxScanTextReserve(XlsxSheetReader *r, size_t n, XlsxError *err)
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
		XlsxScanError(r, err, XLSX_ERR_NOMEM, "out of memory");
		return false;
	}
	r->text = p;
	r->text_cap = newcap;
	return true;
}

/*
 * XlsxScanTextAppend
 *		Add decoded text to the cell being read.
 */
bool
XlsxScanTextAppend(XlsxSheetReader *r, const void *s, size_t n, XlsxError *err)
{
	if (r->text_len + n > r->text_cap && !XlsxScanTextReserve(r, n, err))
		return false;
	small_copy(r->text + r->text_len, s, n);
	r->text_len += n;
	return true;
}

/*
 * XlsxScanUtf8Check
 *		Length of the valid UTF-8 sequence at p (an XML character: no
 *		surrogates, no U+FFFE/U+FFFF, nothing past U+10FFFF), 0 if the buffer
 *		ends inside it, -1 if invalid.
 */
int
XlsxScanUtf8Check(const unsigned char *p, const unsigned char *e)
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
 * XlsxScanUtf8Encode
 *		Encode a code point (already checked valid); returns its length.
 */
int
XlsxScanUtf8Encode(uint32_t cp, unsigned char *out)
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
 * XlsxScanDecodeRef
 *		A reference at p ('&'): a character reference &#NN; / &#xHH; or one
 *		of the five predefined entities (there is no DTD, so no others).
 *		Returns its length with *cp set, NEED_MORE (0) when the buffer ends
 *		inside it, or a RefFault. No side effects: the fast path uses it
 *		to try, parse_ref to report.
 */
int
XlsxScanDecodeRef(const unsigned char *p, const unsigned char *e, uint32_t *cp)
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
	if (!XlsxScanNameStart[*q])
		return RF_MALFORMED;
	while (q < e && XlsxScanNameChar[*q])
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
	int			k = XlsxScanDecodeRef(p, e, cp);

	switch (k)
	{
		case RF_RANGE:
			return XlsxScanXmlError(r, err, p, "character reference out of range");
		case RF_MALFORMED_CHAR:
			return XlsxScanXmlError(r, err, p, "malformed character reference");
		case RF_INVALID_CHAR:
			return XlsxScanXmlError(r, err, p, "character reference to an invalid character");
		case RF_UNDEFINED:
			return XlsxScanXmlError(r, err, p, "undefined entity");
		case RF_MALFORMED:
			return XlsxScanXmlError(r, err, p, "malformed reference");
		default:
			return k;
	}
}

/*
 * XlsxScanDecodeAttr
 *		Decode an attribute value we interpret (r, t, s) into out (size
 *		outsize, NUL-terminated). Returns false when it does not fit: such a
 *		value is never a valid reference, type or index anyway.
 */
bool
XlsxScanDecodeAttr(XlsxSheetReader *r, const Attr *a, char *out, size_t outsize)
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
			int			len = XlsxScanDecodeRef(p, e, &cp);
			int			k;

			/* validated when the tag was parsed */
			if (len <= 0)
				return false;
			k = XlsxScanUtf8Encode(cp, tmp);
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
 * XlsxScanAttrValue
 *		The value of an attribute as a span: the bytes in the buffer,
 *		or decoded into buf when it holds references. False if it does not
 *		fit (never a valid value then).
 */
bool
XlsxScanAttrValue(XlsxSheetReader *r, const Attr *a, char *buf, size_t size,
		   const char **val, size_t *len)
{
	if (!a->has_ref)
	{
		*val = (const char *) a->value;
		*len = a->value_len;
		return true;
	}
	if (!XlsxScanDecodeAttr(r, a, buf, size))
		return false;
	*val = buf;
	*len = strlen(buf);
	return true;
}

/*
 * XlsxScanFindAttr
 *		The attribute of the current tag named exactly name (no prefix).
 */
const Attr *
XlsxScanFindAttr(XlsxSheetReader *r, const char *name, size_t len)
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
	if (!XlsxScanNameStart[*q])
	{
		if (*q >= 0x80)
			unsupported(r, err, XLSX_ERR_XML, q, "non-ASCII element or attribute name");
		else
			XlsxScanXmlError(r, err, q, "invalid name");
		return NULL;
	}
	q++;
	while (XlsxScanNameChar[*q])
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
				return XlsxScanXmlError(r, err, q, "expected \"/>\"");
			*selfclose = true;
			q += 2;
			break;
		}
		if (!XlsxScanIsWs[*q])
			return XlsxScanXmlError(r, err, q, "expected whitespace, \">\" or \"/>\" in a tag");
		while (XlsxScanIsWs[*q])
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
		while (XlsxScanIsWs[*q])
			q++;
		if (q >= e)
			return NEED_MORE;
		if (*q != '=')
			return XlsxScanXmlError(r, err, q, "expected \"=\" after an attribute name");
		q++;
		while (XlsxScanIsWs[*q])
			q++;
		if (q >= e)
			return NEED_MORE;
		if (*q != '"' && *q != '\'')
			return XlsxScanXmlError(r, err, q, "expected a quoted attribute value");
		quote = *q++;
		av = q;
		for (;;)
		{
			int			k;

			while (XlsxScanAttrClass[*q] == BC_OK)
				q++;
			if (q >= e)
				return NEED_MORE;
			if (*q == quote)
				break;
			switch (XlsxScanAttrClass[*q])
			{
				case BC_QUOTE:
					q++;
					break;
				case BC_LT:
					return XlsxScanXmlError(r, err, q, "\"<\" in an attribute value");
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
					k = XlsxScanUtf8Check(q, e);
					if (k == 0)
						return NEED_MORE;
					if (k < 0)
						return XlsxScanXmlError(r, err, q, "invalid UTF-8 or character");
					q += k;
					break;
				default:
					return XlsxScanXmlError(r, err, q, "invalid character");
			}
		}

		/* keep it */
		if (r->nattrs == r->attrs_cap)
		{
			int			newcap = r->attrs_cap * 2;
			Attr	   *na = XlsxRealloc(r->env, r->attrs, sizeof(Attr) * (size_t) newcap);

			if (na == NULL)
				return XlsxScanError(r, err, XLSX_ERR_NOMEM, "out of memory");
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
		return XlsxScanXmlError(r, err, p, "duplicate attribute");
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

		while (XlsxScanMiscClass[*q] == BC_OK)
			q++;
		if (q >= e)
			return e;
		switch (XlsxScanMiscClass[*q])
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
				k = XlsxScanUtf8Check(q, e);
				if (k == 0)
					return e;
				if (k < 0)
				{
					XlsxScanXmlError(r, err, q, "invalid UTF-8 or character");
					return NULL;
				}
				q += k;
				break;
			default:
				XlsxScanXmlError(r, err, q, "invalid character");
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
	if (!XlsxScanIsWs[*p])
		return false;
	while (p < end && XlsxScanIsWs[*p])
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
		if (XlsxScanIsWs[*p])
		{
			nend = p;
			while (p < end && XlsxScanIsWs[*p])
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
	while (p < end && XlsxScanIsWs[*p])
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
		return XlsxScanXmlError(r, err, p, "malformed XML declaration");
	if (!pseudo_attr(&p, end, &name, &nlen, &val, &vlen))
		return XlsxScanXmlError(r, err, p, "malformed XML declaration");
	if (name != NULL && nlen == 8 && memcmp(name, "encoding", 8) == 0)
	{
		if (vlen == 0 || !((val[0] >= 'a' && val[0] <= 'z') || (val[0] >= 'A' && val[0] <= 'Z')))
			return XlsxScanXmlError(r, err, val, "malformed encoding name");
		if (!(vlen == 5 && strncasecmp((const char *) val, "utf-8", 5) == 0))
			return unsupported(r, err, XLSX_ERR_XML, val, "encodings other than UTF-8");
		if (!pseudo_attr(&p, end, &name, &nlen, &val, &vlen))
			return XlsxScanXmlError(r, err, p, "malformed XML declaration");
	}
	if (name != NULL)
	{
		if (!(nlen == 10 && memcmp(name, "standalone", 10) == 0) ||
			!((vlen == 3 && memcmp(val, "yes", 3) == 0) || (vlen == 2 && memcmp(val, "no", 2) == 0)))
			return XlsxScanXmlError(r, err, name, "malformed XML declaration");
		while (p < end && XlsxScanIsWs[*p])
			p++;
		if (p != end)
			return XlsxScanXmlError(r, err, p, "malformed XML declaration");
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
			return XlsxScanXmlError(r, err, q, "malformed processing instruction");
		stop = q;
		body = q;
	}
	else
	{
		if (!XlsxScanIsWs[*q])
			return XlsxScanXmlError(r, err, q, "malformed processing instruction");
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
			return XlsxScanXmlError(r, err, p, "XML declaration not at the start, or reserved target");
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
			return XlsxScanXmlError(r, err, stop, "\"--\" inside a comment");
		return (int) (stop + 3 - p);
	}
	if (avail >= 3 && p[2] == '[')
	{
		if (avail < 9)
			return (memcmp(p, "<![CDATA[", avail) == 0) ? NEED_MORE :
				XlsxScanXmlError(r, err, p, "malformed markup");
		if (memcmp(p, "<![CDATA[", 9) != 0 || r->ctx == CTX_DOC)
			return XlsxScanXmlError(r, err, p, "CDATA section outside the root element or malformed");
		stop = scan_misc(r, p + 9, e, BC_RBRACKET, err);
		if (stop == NULL)
			return FAILED;
		if (stop >= e)
			return NEED_MORE;
		if (r->ctx == CTX_V || r->ctx == CTX_T)
		{
			/* collect, normalizing line ends as text does */
			const unsigned char *s = p + 9;

			if (!XlsxScanTextReserve(r, (size_t) (stop - s), err))
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
		return XlsxScanError(r, err, XLSX_ERR_XML, "DOCTYPE declarations are not allowed");
	if (avail < 9 && !r->eof && memcmp(p, "<!DOCTYPE", avail) == 0)
		return NEED_MORE;
	if (avail < 4 && !r->eof && memcmp(p, "<!--", avail) == 0)
		return NEED_MORE;
	return XlsxScanXmlError(r, err, p, "malformed markup after \"<!\"");
}

/*
 * XlsxScanPush
 *		Open an element: remember its name for the end tag.
 */
bool
XlsxScanPush(XlsxSheetReader *r, const unsigned char *name, size_t len, Ctx ctx, XlsxError *err)
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
			XlsxScanError(r, err, XLSX_ERR_NOMEM, "out of memory");
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
			XlsxScanError(r, err, XLSX_ERR_NOMEM, "out of memory");
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
	while (XlsxScanIsWs[*q])
		q++;
	if (q >= e)
		return NEED_MORE;
	if (*q != '>')
		return XlsxScanXmlError(r, err, q, "malformed end tag");
	if (r->depth == 0)
		return XlsxScanXmlError(r, err, p, "end tag outside the root element");
	se = &r->stack[r->depth - 1];
	if (se->name_len != len || !small_eq(r->names + se->name_off, p + 2, len))
		return XlsxScanXmlError(r, err, p, "end tag does not match the open element");

	/* pop, back to the parent's context */
	closed = (Ctx) se->ctx;
	r->names_len = se->name_off;
	r->depth--;
	r->ctx = r->depth > 0 ? (Ctx) r->stack[r->depth - 1].ctx : CTX_DOC;
	if (!XlsxSheetElementEnd(r, closed, err))
		return FAILED;
	return (int) (q + 1 - p);
}

/*
 * XlsxScanMarkup
 *		Dispatch the markup at p ('<'). Returns its length, NEED_MORE or
 *		FAILED.
 */
int
XlsxScanMarkup(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
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
				return XlsxScanXmlError(r, err, p, "content after the root element");
			n = parse_start_tag(r, p, e, &name, &namelen, &selfclose, err);
			if (n <= 0)
				return n;
			if (!XlsxSheetStartElement(r, name, namelen, selfclose, err))
				return FAILED;
			return n;
	}
}

/*
 * XlsxScanText
 *		Character data from r->pos up to the next '<': checked, and appended
 *		to the cell when a <v> or <t> is open. Returns 1 at a '<', NEED_MORE
 *		when the buffer ends (r->pos says where to resume), FAILED.
 */
int
XlsxScanText(XlsxSheetReader *r, XlsxError *err)
{
	const unsigned char *p = r->buf + r->pos;
	const unsigned char *e = r->buf + r->end;
	const unsigned char *run = p;
	bool		collect = (r->ctx == CTX_V || r->ctx == CTX_T);
	int			k;

	if (r->ctx == CTX_DOC)
	{
		/* outside the root only whitespace may appear */
		while (XlsxScanIsWs[*p])
			p++;
		r->pos = (size_t) (p - r->buf);
		if (p >= e)
			return NEED_MORE;
		if (*p == '<')
			return 1;
		return XlsxScanXmlError(r, err, p, r->phase == PH_EPILOG ?
						 "content after the root element" : "text before the root element");
	}

	for (;;)
	{
		while (XlsxScanTextClass[*p] == BC_OK)
			p++;
		if (p >= e)
			break;
		switch (XlsxScanTextClass[*p])
		{
			case BC_LT:
				if (collect && !XlsxScanTextAppend(r, run, (size_t) (p - run), err))
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
						int			nb = XlsxScanUtf8Encode(cp, tmp);

						if (!XlsxScanTextAppend(r, run, (size_t) (p - run), err) ||
							!XlsxScanTextReserve(r, 4, err))
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
					return XlsxScanXmlError(r, err, p, "\"]]>\" in text");
				p++;
				break;
			case BC_CR:
				/* "\r\n" and a lone "\r" read as "\n" */
				if (p + 1 >= e && !r->eof)
					goto need;
				if (collect)
				{
					if (!XlsxScanTextAppend(r, run, (size_t) (p - run), err) ||
						!XlsxScanTextAppend(r, "\n", 1, err))
						return FAILED;
				}
				p += (p + 1 < e && p[1] == '\n') ? 2 : 1;
				run = p;
				break;
			case BC_U2:
			case BC_U3:
			case BC_U4:
				k = XlsxScanUtf8Check(p, e);
				if (k == 0)
				{
					if (!r->eof)
						goto need;
					return XlsxScanXmlError(r, err, p, "truncated UTF-8 sequence");
				}
				if (k < 0)
					return XlsxScanXmlError(r, err, p, "invalid UTF-8 or character");
				p += k;
				break;
			default:
				return XlsxScanXmlError(r, err, p, "invalid character");
		}
	}

need:
	/* keep what was read; resume at p */
	if (collect && !XlsxScanTextAppend(r, run, (size_t) (p - run), err))
		return FAILED;
	r->pos = (size_t) (p - r->buf);
	return NEED_MORE;
}

/*
 * XlsxScanStart
 *		The very start of the part: a UTF-8 byte order mark, UTF-16 (refused),
 *		and the XML declaration, which may appear only here.
 */
int
XlsxScanStart(XlsxSheetReader *r, XlsxError *err)
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
	if (avail >= 6 && memcmp(p, "<?xml", 5) == 0 && (XlsxScanIsWs[p[5]] || p[5] == '?'))
	{
		n = parse_pi(r, p, r->buf + r->end, err);
		if (n <= 0)
			return n;
		r->pos += (size_t) n;
	}
	r->phase = PH_PROLOG;
	return 1;
}

