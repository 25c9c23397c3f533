/*
 * refsheet.c
 *		The expat reference reader for worksheets (see refsheet.h).
 *
 * Written apart from sheet.c, on expat's events, from the rules in
 * test/xlsx/README.md: elements by local name (after the last ':', expat
 * runs without namespace processing), <row> in <sheetData> in the root,
 * <c> in <row>, <v>/<f>/<is> in <c>, <t> in <is> or in an <r> of it; the
 * last <v> or <is> of a cell is its value; empty values are no value except
 * for strings; rows and columns ascend; references within XFD1048576.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <expat.h>

#include "refsheet.h"

typedef enum RCtx
{
	R_DOC, R_ROOT, R_SHEETDATA, R_ROW, R_CELL, R_V, R_IS, R_IS_R, R_T, R_OTHER
} RCtx;

struct RefReader
{
	XML_Parser	parser;
	const XlsxSst *sst;
	const uint8_t *xf_kind;
	uint32_t	nxf;
	RefRowFn	fn;
	void	   *arg;
	bool		failed;
	bool		stopped;
	char		msg[300];

	RCtx	   *stack;			/* context inside each open element */
	int			depth;
	int			cap;

	/* row */
	long		row;
	long		last_row;
	long		last_col;
	XlsxCell   *cells;
	char	  **texts;			/* each cell's own copy */
	int			ncells;
	int			cells_cap;

	/* cell */
	long		col;
	char		t[16];			/* the t attribute, "" when absent */
	XlsxFormatKind fmt;
	bool		formula;
	int			source;			/* 0 none, 1 <v>, 2 <is> */
	char	   *val;
	size_t		val_len;
	size_t		val_cap;
};

/*
 * ref_fail
 *		Record a semantic error and stop expat.
 */
static void
ref_fail(RefReader *ref, const char *fmt, const char *arg)
{
	if (ref->failed)
		return;
	ref->failed = true;
	snprintf(ref->msg, sizeof(ref->msg), fmt, arg);
	XML_StopParser(ref->parser, XML_FALSE);
}

/*
 * attr
 *		The value of the unprefixed attribute 'name', or NULL.
 */
static const char *
attr(const char **atts, const char *name)
{
	for (int i = 0; atts[i]; i += 2)
		if (strcmp(atts[i], name) == 0)
			return atts[i + 1];
	return NULL;
}

/*
 * all_digits_value
 *		A non-empty run of ASCII digits without a leading zero as a number
 *		(saturating past 1e11); -1 otherwise.
 */
static long
all_digits_value(const char *s)
{
	long		v = 0;

	if (*s == '\0')
		return -1;
	/* attribute numbers: no leading zero (a lone "0" is fine) */
	if (s[0] == '0' && s[1] != '\0')
		return -1;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return -1;
		if (v < 100000000000L)
			v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * flush_row
 *		A row closed: hand it over if it has cells.
 */
static void
flush_row(RefReader *ref)
{
	XlsxRow		row;

	if (ref->ncells == 0)
		return;
	for (int i = 0; i < ref->ncells; i++)
		ref->cells[i].text = ref->texts[i];
	row.rownum = (uint32_t) ref->row;
	row.ncells = ref->ncells;
	row.cells = ref->cells;
	if (!ref->fn(ref->arg, &row))
	{
		ref->stopped = true;
		XML_StopParser(ref->parser, XML_FALSE);
	}
	for (int i = 0; i < ref->ncells; i++)
		free(ref->texts[i]);
	ref->ncells = 0;
}

/*
 * open_row
 *		<row>: its number, explicit or the previous plus one.
 */
static void
open_row(RefReader *ref, const char **atts)
{
	const char *r = attr(atts, "r");
	long		n;

	if (r)
	{
		n = all_digits_value(r);
		if (n < 0)
			return ref_fail(ref, "row \"%s\": malformed row number", r);
		if (n < 1 || n > XLSX_MAX_ROWS)
			return ref_fail(ref, "row %s out of range", r);
		if (n <= ref->last_row)
			return ref_fail(ref, "row %s out of order", r);
	}
	else
	{
		n = ref->last_row + 1;
		if (n > XLSX_MAX_ROWS)
			return ref_fail(ref, "%s", "row past 1048576");
	}
	ref->row = n;
	ref->last_row = n;
	ref->last_col = -1;
	ref->ncells = 0;
}

/*
 * parse_a1
 *		"AB12" -> col 27, row 12; false if it is not letters then digits.
 *		Range errors show as values past the limits.
 */
static bool
parse_a1(const char *s, long *col, long *row)
{
	long		c = 0;
	const char *p = s;

	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
	{
		int			letter = (*p >= 'a') ? *p - 'a' : *p - 'A';

		if (c < 1000000)
			c = c * 26 + letter + 1;
		p++;
	}
	if (p == s || c == 0)
		return false;
	*row = all_digits_value(p);
	if (*row < 0)
		return false;
	*col = c - 1;
	return true;
}

/*
 * open_cell
 *		<c>: column, type and format.
 */
static void
open_cell(RefReader *ref, const char **atts)
{
	const char *r = attr(atts, "r");
	const char *t = attr(atts, "t");
	const char *s = attr(atts, "s");
	long		col;
	long		row;

	if (r)
	{
		if (!parse_a1(r, &col, &row))
			return ref_fail(ref, "malformed cell reference \"%s\"", r);
		if (col >= XLSX_MAX_COLUMNS)
			return ref_fail(ref, "cell %s: column past XFD", r);
		if (row < 1 || row > XLSX_MAX_ROWS)
			return ref_fail(ref, "cell %s: row out of range", r);
		if (row != ref->row)
			return ref_fail(ref, "cell %s: not in its row", r);
		if (col <= ref->last_col)
			return ref_fail(ref, "cell %s: out of order", r);
	}
	else
	{
		col = ref->last_col + 1;
		if (col >= XLSX_MAX_COLUMNS)
			return ref_fail(ref, "%s", "column past XFD");
	}
	ref->col = col;
	ref->last_col = col;

	ref->t[0] = '\0';
	if (t)
	{
		static const char *const known[] = {"n", "s", "str", "inlineStr", "b", "e", "d"};
		bool		ok = false;

		for (int i = 0; i < 7; i++)
			ok = ok || strcmp(t, known[i]) == 0;
		if (!ok)
			return ref_fail(ref, "unknown cell type \"%s\"", t);
		strcpy(ref->t, t);
	}
	ref->fmt = XLSX_FORMAT_GENERAL;
	if (s)
	{
		long		idx = all_digits_value(s);

		if (idx >= 0 && idx < (long) ref->nxf)
			ref->fmt = (XlsxFormatKind) ref->xf_kind[idx];
	}
	ref->formula = false;
	ref->source = 0;
	ref->val_len = 0;
}

/*
 * put_utf8
 *		Append code point cp to out in UTF-8; the number of bytes.
 */
static size_t
put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * escape_at
 *		The value of an "_xHHHH_" escape starting at text + i, or -1.
 */
static long
escape_at(const char *text, size_t len, size_t i)
{
	char		hex[5];
	char	   *end;
	long		v;

	if (i + 7 > len || strncmp(text + i, "_x", 2) != 0 || text[i + 6] != '_')
		return -1;
	memcpy(hex, text + i + 2, 4);
	hex[4] = '\0';
	if (strspn(hex, "0123456789abcdefABCDEF") != 4)
		return -1;
	v = strtol(hex, &end, 16);
	return v;
}

/*
 * unescape
 *		ST_Xstring, from the rules in test/xlsx/README.md: each "_xHHHH_" is
 *		the UTF-16 unit HHHH, a surrogate pair joins, and an escape that is
 *		no character (0, a lone surrogate, FFFE, FFFF) stays as written.
 *		Returns a malloc'd copy; *len updated.
 */
static char *
unescape(const char *text, size_t *len)
{
	char	   *out = malloc(*len + 1);
	size_t		o = 0;
	size_t		i = 0;

	while (i < *len)
	{
		long		v = escape_at(text, *len, i);
		long		lo = escape_at(text, *len, i + 7);

		if (v >= 0xD800 && v < 0xDC00 && lo >= 0xDC00 && lo < 0xE000)
		{
			o += put_utf8(out + o, 0x10000 + (((unsigned long) v - 0xD800) << 10) + ((unsigned long) lo - 0xDC00));
			i += 14;
		}
		else if (v > 0 && !(v >= 0xD800 && v < 0xE000) && v != 0xFFFE && v != 0xFFFF)
		{
			o += put_utf8(out + o, (unsigned long) v);
			i += 7;
		}
		else
			out[o++] = text[i++];
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/*
 * close_cell
 *		</c>: decide the cell's value, keep it or leave it out.
 */
static void
close_cell(RefReader *ref)
{
	XlsxCellType type = XLSX_CELL_STRING;
	const char *text = ref->val;
	size_t		len = ref->val_len;
	bool		is_str = strcmp(ref->t, "str") == 0 || strcmp(ref->t, "inlineStr") == 0;

	if (ref->source == 0)
		return;
	if (ref->source == 1)
	{
		if (len == 0 && !is_str)
			return;
		if (ref->t[0] == '\0' || strcmp(ref->t, "n") == 0)
			type = XLSX_CELL_NUMBER;
		else if (strcmp(ref->t, "b") == 0)
			type = XLSX_CELL_BOOLEAN;
		else if (strcmp(ref->t, "e") == 0)
			type = XLSX_CELL_ERROR;
		else if (strcmp(ref->t, "d") == 0)
			type = XLSX_CELL_ISO_DATE;
		else if (strcmp(ref->t, "s") == 0)
		{
			long		idx = 0;

			/* the index in <v>: digits, leading zeros allowed */
			for (size_t i = 0; i < len && idx >= 0; i++)
			{
				if (text[i] < '0' || text[i] > '9')
					idx = -1;
				else if (idx < 100000000000L)
					idx = idx * 10 + (text[i] - '0');
			}
			if (idx < 0)
				return ref_fail(ref, "%s", "shared string index is not a number");
			if (ref->sst == NULL || idx >= (long) ref->sst->count)
				return ref_fail(ref, "%s", "shared string index out of range");
			text = ref->sst->arena + ref->sst->offsets[idx];
			len = ref->sst->offsets[idx + 1] - ref->sst->offsets[idx] - 1;
		}
	}

	if (ref->ncells == ref->cells_cap)
	{
		ref->cells_cap = ref->cells_cap ? ref->cells_cap * 2 : 32;
		ref->cells = realloc(ref->cells, sizeof(XlsxCell) * (size_t) ref->cells_cap);
		ref->texts = realloc(ref->texts, sizeof(char *) * (size_t) ref->cells_cap);
	}
	if (type == XLSX_CELL_STRING && !(ref->source == 1 && strcmp(ref->t, "s") == 0))
		ref->texts[ref->ncells] = unescape(text, &len);	/* not a shared string */
	else
	{
		ref->texts[ref->ncells] = malloc(len + 1);
		memcpy(ref->texts[ref->ncells], text, len);
		ref->texts[ref->ncells][len] = '\0';
	}
	ref->cells[ref->ncells].col = (uint32_t) ref->col;
	ref->cells[ref->ncells].type = type;
	ref->cells[ref->ncells].format = ref->fmt;
	ref->cells[ref->ncells].has_formula = ref->formula;
	ref->cells[ref->ncells].len = len;
	ref->ncells++;
}

/*
 * on_start
 *		Which element is this, given where we are?
 */
static void
on_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	RefReader  *ref = data;
	const char *colon = strrchr(name, ':');
	const char *local = colon ? colon + 1 : name;
	RCtx		here = ref->depth ? ref->stack[ref->depth - 1] : R_DOC;
	RCtx		next = R_OTHER;

	if (ref->failed || ref->stopped)
		return;
	if (here == R_DOC)
		next = R_ROOT;
	else if (here == R_ROOT && strcmp(local, "sheetData") == 0)
		next = R_SHEETDATA;
	else if (here == R_SHEETDATA && strcmp(local, "row") == 0)
	{
		open_row(ref, atts);
		next = R_ROW;
	}
	else if (here == R_ROW && strcmp(local, "c") == 0)
	{
		open_cell(ref, atts);
		next = R_CELL;
	}
	else if (here == R_CELL && strcmp(local, "v") == 0)
	{
		ref->source = 1;
		ref->val_len = 0;
		next = R_V;
	}
	else if (here == R_CELL && strcmp(local, "is") == 0)
	{
		ref->source = 2;
		ref->val_len = 0;
		next = R_IS;
	}
	else if (here == R_CELL && strcmp(local, "f") == 0)
		ref->formula = true;
	else if ((here == R_IS || here == R_IS_R) && strcmp(local, "t") == 0)
		next = R_T;
	else if (here == R_IS && strcmp(local, "r") == 0)
		next = R_IS_R;

	if (ref->depth == ref->cap)
	{
		ref->cap = ref->cap ? ref->cap * 2 : 64;
		ref->stack = realloc(ref->stack, sizeof(RCtx) * (size_t) ref->cap);
	}
	ref->stack[ref->depth++] = next;
}

/*
 * on_end
 *		Close an element: a cell or a row may be complete.
 */
static void
on_end(void *data, const XML_Char *name)
{
	RefReader  *ref = data;
	RCtx		closing;

	if (ref->failed || ref->stopped)
		return;
	closing = ref->stack[--ref->depth];
	if (closing == R_CELL)
		close_cell(ref);
	else if (closing == R_ROW)
		flush_row(ref);
}

/*
 * on_text
 *		Character data counts only directly inside <v> or a <t> of an <is>.
 */
static void
on_text(void *data, const XML_Char *s, int len)
{
	RefReader  *ref = data;
	RCtx		here = ref->depth ? ref->stack[ref->depth - 1] : R_DOC;

	if (ref->failed || ref->stopped || (here != R_V && here != R_T))
		return;
	if (ref->val_len + (size_t) len + 1 > ref->val_cap)
	{
		while (ref->val_len + (size_t) len + 1 > ref->val_cap)
			ref->val_cap = ref->val_cap ? ref->val_cap * 2 : 256;
		ref->val = realloc(ref->val, ref->val_cap);
	}
	memcpy(ref->val + ref->val_len, s, (size_t) len);
	ref->val_len += (size_t) len;
}

/*
 * on_doctype
 *		No DTDs in a worksheet.
 */
static void
on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
		   const XML_Char *pubid, int has_internal)
{
	ref_fail((RefReader *) data, "%s", "DOCTYPE not allowed");
}

RefReader *
RefCreate(const XlsxSst *sst, const uint8_t *xf_kind, uint32_t nxf,
		  RefRowFn fn, void *arg)
{
	RefReader  *ref = calloc(1, sizeof(RefReader));

	ref->parser = XML_ParserCreate(NULL);
	ref->sst = sst;
	ref->xf_kind = xf_kind;
	ref->nxf = xf_kind ? nxf : 0;
	ref->fn = fn;
	ref->arg = arg;
	ref->last_row = 0;
	ref->val_cap = 256;
	ref->val = malloc(ref->val_cap);
	XML_SetUserData(ref->parser, ref);
	XML_SetElementHandler(ref->parser, on_start, on_end);
	XML_SetCharacterDataHandler(ref->parser, on_text);
	XML_SetStartDoctypeDeclHandler(ref->parser, on_doctype);
	return ref;
}

bool
RefFeed(RefReader *ref, const char *data, size_t len, bool final)
{
	if (ref->failed)
		return false;
	if (ref->stopped)
		return true;
	if (XML_Parse(ref->parser, data, (int) len, final) == XML_STATUS_ERROR)
	{
		if (!ref->failed && !ref->stopped)
		{
			ref->failed = true;
			snprintf(ref->msg, sizeof(ref->msg), "expat: %s at byte %ld",
					 XML_ErrorString(XML_GetErrorCode(ref->parser)),
					 (long) XML_GetCurrentByteIndex(ref->parser));
		}
	}
	return !ref->failed;
}

const char *
RefError(const RefReader *ref)
{
	return ref->msg;
}

void
RefDestroy(RefReader *ref)
{
	for (int i = 0; i < ref->ncells; i++)
		free(ref->texts[i]);
	free(ref->texts);
	free(ref->cells);
	free(ref->stack);
	free(ref->val);
	XML_ParserFree(ref->parser);
	free(ref);
}
