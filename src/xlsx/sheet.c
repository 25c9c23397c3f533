/*
 * sheet.c
 *		The streaming worksheet scanner: worksheet XML to rows of cells,
 *		written by hand for speed, checked against expat (test/xlsx).
 *
 * The XML itself (buffer, characters, references, tags, the element stack)
 * is xmlscan.c's; this file gives the elements their meaning: rows, cells,
 * their places, types and formats, and the fast path.
 *
 * Rows and cells of the common shapes skip the tokenizer: fast_scan (and
 * quick_cell before it) reads a whole cell at a time straight from the
 * buffer and falls back to the general path, with nothing changed, on
 * anything unusual or on a cell the buffer ends inside (see "the fast
 * path" below). The general path alone gives the same cells; the tests
 * check both. Both paths decide through the same helpers (the t attribute,
 * the s attribute, the shared-string lookup, the row number checks), so
 * they cannot drift apart.
 *
 * The contract, tested by sheet_diff and fuzz_sheet: where expat rejects a
 * document, the scanner fails too; where expat accepts it, the scanner
 * yields the same cells, except for what XlsxScanUnsupported() reports
 * (other encodings, non-ASCII names, implementation limits).
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
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define XLSX_SKIP_AVX2 1
#endif

#include "xlsx.h"
#include "xlsx_internal.h"
#include "xmlscan.h"
#include "sheet_cell.h"

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
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		/* the same bytes as below, by shifts (k is 1 to 7) */
		uint64_t	d;

		(void) key;
		(void) mask;
		memcpy(&d, r->row_digits, 8);
		d &= ((uint64_t) 1 << (8 * k)) - 1;
		r->row_key = d | ((uint64_t) '"' << (8 * k));
		r->row_key_mask = k >= 7 ? ~(uint64_t) 0 : ((uint64_t) 1 << (8 * (k + 1))) - 1;
	}
#else
	for (size_t i = 0; i < k; i++)
	{
		key[i] = (unsigned char) r->row_digits[i];
		mask[i] = 0xFF;
	}
	key[k] = '"';
	mask[k] = 0xFF;
	memcpy(&r->row_key, key, 8);
	memcpy(&r->row_key_mask, mask, 8);
#endif
	r->prev_col = -1;
	r->ncells = 0;
	r->text_len = 0;
	r->row_tail_tried = false;
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

		/* digits, no leading zero (Excel writes none) */
		if (!XlsxScanDecodeAttr(r, a, v, sizeof(v)) || v[0] == '\0' || v[0] == '0')
		{
			XlsxScanError(r, err, XLSX_ERR_CORRUPT, "row after row %u: malformed row number", r->prev_row);
			return false;
		}
		if (!row_number(v, strlen(v), &n))
		{
			XlsxScanError(r, err, XLSX_ERR_CORRUPT, "row \"%s\": malformed row number", v);
			return false;
		}
		if (n == 0 || n > XLSX_MAX_ROWS)
		{
			XlsxScanError(r, err, XLSX_ERR_LIMIT, "row %s: row number %s", v,
					   n == 0 ? "0 (rows start at 1)" : "past 1048576");
			return false;
		}
		if (!row_number_ok(r, n))
		{
			XlsxScanError(r, err, XLSX_ERR_CORRUPT, "row %u: rows out of order (after row %u)",
					   (unsigned) n, r->prev_row);
			return false;
		}
	}
	else
	{
		n = (uint64_t) r->prev_row + 1;
		if (n > XLSX_MAX_ROWS)
		{
			XlsxScanError(r, err, XLSX_ERR_LIMIT, "row %u: row number past 1048576", (unsigned) n);
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
	uint32_t	c;
	size_t		i = ref_letters((const unsigned char *) val, len, &c);

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

		if (XlsxScanAttrValue(r, ra, buf, sizeof(buf), &val, &len))
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
				XlsxScanError(r, err, XLSX_ERR_CORRUPT, "row %u: malformed cell reference \"%s\"",
						   r->rownum, v);
			else if (st == XLSX_REF_COL_RANGE)
				XlsxScanError(r, err, XLSX_ERR_LIMIT, "cell %s: column past XFD", v);
			else if (st == XLSX_REF_ROW_RANGE)
				XlsxScanError(r, err, XLSX_ERR_LIMIT, "cell %s: row past 1048576", v);
			else if (row != r->rownum)
				XlsxScanError(r, err, XLSX_ERR_CORRUPT, "cell %s: not in its row %u", v, r->rownum);
			else
				XlsxScanError(r, err, XLSX_ERR_CORRUPT, "cell %s: cells out of order in row %u",
						   v, r->rownum);
			return false;
		}
	}
	else
	{
		if (r->prev_col + 1 >= XLSX_MAX_COLUMNS)
		{
			cell_name(XLSX_MAX_COLUMNS, r->rownum, where, sizeof(where));
			XlsxScanError(r, err, XLSX_ERR_LIMIT, "cell %s: column past XFD", where);
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

		if (XlsxScanAttrValue(r, ta, buf, sizeof(buf), &val, &len))
			t = cell_t_attr(val, len);
		if (t < 0)
		{
			cell_name(col, r->rownum, where, sizeof(where));
			snprintf(v, sizeof(v), "%.*s", (int) (len < 40 ? len : 40), val);
			XlsxScanError(r, err, XLSX_ERR_CORRUPT, "cell %s: unknown cell type \"%s\"", where, v);
			return false;
		}
		r->cell_t = (TAttr) t;
	}

	/* s: the cellXfs index; anything unusable means General */
	r->cell_fmt = XLSX_FORMAT_GENERAL;
	if (sa != NULL && XlsxScanAttrValue(r, sa, buf, sizeof(buf), &val, &len))
		r->cell_fmt = cell_s_attr(r, val, len);
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
		type = cell_value_type(r->cell_t);
		if (cell_value_omitted(r->cell_t, len))
			goto omit;
		if (r->cell_t == TA_S)
		{
			/* a shared-string index: the text lives in the table */
			uint64_t	idx = 0;
			char		where[32];
			int			st = cell_shared_string(r, r->text + r->cell_start, len,
												&idx, &shared, &shared_len);

			if (st == SST_NOT_NUMBER)
			{
				cell_name(r->cell_col, r->rownum, where, sizeof(where));
				XlsxScanError(r, err, XLSX_ERR_CORRUPT,
							  "cell %s: shared string index is not a number", where);
				return false;
			}
			if (st == SST_MISSING)
			{
				cell_name(r->cell_col, r->rownum, where, sizeof(where));
				XlsxScanError(r, err, XLSX_ERR_CORRUPT,
							  "cell %s: shared string %llu does not exist (the table has %u)",
							  where, (unsigned long long) idx, r->sst ? r->sst->count : 0);
				return false;
			}
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
			return XlsxScanError(r, err, XLSX_ERR_NOMEM, "out of memory") >= 0;
		r->cells = nc;
		no = XlsxRealloc(r->env, r->cell_off, sizeof(size_t) * (size_t) newcap);
		if (no == NULL)
			return XlsxScanError(r, err, XLSX_ERR_NOMEM, "out of memory") >= 0;
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
		if (r->text_len + 1 > r->text_cap && !XlsxScanTextReserve(r, 1, err))
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
 * XlsxSheetElementEnd
 *		What closing an element of context ctx does.
 */
bool
XlsxSheetElementEnd(XlsxSheetReader *r, Ctx ctx, XlsxError *err)
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
 * XlsxSheetStartElement
 *		A start tag has been parsed: decide its context, act, open it.
 */
bool
XlsxSheetStartElement(XlsxSheetReader *r, const unsigned char *name, size_t len,
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
				const Attr *a = XlsxScanFindAttr(r, "ref", 3);
				char		v[64];

				if (a && XlsxScanDecodeAttr(r, a, v, sizeof(v)))
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
		return XlsxSheetElementEnd(r, ctx, err);
	return XlsxScanPush(r, name, len, ctx, err);
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
 * without the element stack, the attribute array or a call per token.
 * Every cell takes one of three paths, tried in this order:
 *
 *	  quick_cell	the commonest shapes by literal match (no references,
 *					double quotes, r first); it builds the cell itself, deciding
 *					through sheet_cell.h's helpers, the same ones cell_start
 *					and cell_end use (t and s attributes, the value's type,
 *					empty values, the shared-string lookup); anything it does
 *					not take, it leaves untouched to fast_cell.
 *	  fast_cell		any well-formed <c> whole in the buffer with plain <v>,
 *					<f>, <is><t>: read here, applied through cell_start and
 *					cell_end themselves.
 *	  general		the tokenizer (xmlscan.c) and XlsxSheetStartElement /
 *					XlsxSheetElementEnd, one token at a time.
 *
 * Rows likewise: quick_row (literal <row r="N"[ spans=".."]>, through
 * row_number and row_number_ok, as row_start checks), then fast_scan's
 * reading of the tag through row_start, then the general path.
 *
 * The fast path accepts a strict subset of what the general path accepts,
 * with the same checks (names, attribute syntax and uniqueness,
 * characters, references), and gives the same cells. On anything else (a prefix, a comment, CDATA, a rich text run,
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
		if (!XlsxScanIsWs[*q])
			return NULL;
		while (XlsxScanIsWs[*q])
			q++;
		if (*q == '>' || *q == '/')
			continue;
		if (!XlsxScanNameStart[*q])
			return NULL;
		an = q++;
		while (XlsxScanNameChar[*q])
			q++;
		a = &t->attrs[t->nattrs];
		a->name = an;
		a->name_len = (size_t) (q - an);
		while (XlsxScanIsWs[*q])
			q++;
		if (*q != '=')
			return NULL;
		q++;
		while (XlsxScanIsWs[*q])
			q++;
		if (*q != '"' && *q != '\'')
			return NULL;
		quote = *q++;
		av = q;
		for (;;)
		{
			while (XlsxScanAttrClass[*q] == BC_OK)
				q++;
			if (*q == quote)
				break;
			if (XlsxScanAttrClass[*q] != BC_QUOTE)
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

		while (XlsxScanTextClass[*q] == BC_OK)
			q++;
		switch (XlsxScanTextClass[*q])
		{
			case BC_LT:
				if (collect && q > run && !XlsxScanTextAppend(r, run, (size_t) (q - run), err))
				{
					*failed = true;
					return NULL;
				}
				return q;
			case BC_AMP:
				{
					uint32_t	cp;
					unsigned char tmp[4];

					k = XlsxScanDecodeRef(q, e, &cp);
					if (k <= 0)
						return NULL;
					if (collect)
					{
						int			nb = XlsxScanUtf8Encode(cp, tmp);

						if (!XlsxScanTextAppend(r, run, (size_t) (q - run), err) ||
							!XlsxScanTextReserve(r, 4, err))
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
				k = XlsxScanUtf8Check(q, e);
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
	while (XlsxScanIsWs[*q])
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
	return !XlsxScanNameChar[q[1 + len]];
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
	while (XlsxScanPlainClass[*q])
		q++;
	return q;
#endif
}

#ifdef XLSX_SKIP_AVX2
/*
 * skip_stop_avx2
 *		skip_row_tail's search with AVX2, 32 bytes a step, reading up to 33
 *		bytes past the sentinel (BUF_PAD): the first byte it must stop at.
 */
__attribute__((target("avx2")))
static const unsigned char *
skip_stop_avx2(const unsigned char *q)
{
	const __m256i lt = _mm256_set1_epi8('<');
	const __m256i slash = _mm256_set1_epi8('/');
	const __m256i bang = _mm256_set1_epi8('!');
	const __m256i qm = _mm256_set1_epi8('?');
	const __m256i rr = _mm256_set1_epi8('r');
	const __m256i amp = _mm256_set1_epi8('&');
	const __m256i rb = _mm256_set1_epi8(']');
	const __m256i low = _mm256_set1_epi8(0x20);

	for (;;)
	{
		__m256i		x = _mm256_loadu_si256((const __m256i *) q);
		__m256i		n1 = _mm256_loadu_si256((const __m256i *) (q + 1));
		__m256i		n2 = _mm256_loadu_si256((const __m256i *) (q + 2));
		__m256i		tag = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(n1, bang),
														  _mm256_cmpeq_epi8(n1, qm)),
										  _mm256_or_si256(_mm256_cmpeq_epi8(n1, rr),
														  _mm256_and_si256(_mm256_cmpeq_epi8(n1, slash),
																		   _mm256_cmpeq_epi8(n2, rr))));
		/* signed: bytes below 0x20 and from 0x80 up are both "less" */
		__m256i		m = _mm256_or_si256(_mm256_and_si256(_mm256_cmpeq_epi8(x, lt), tag),
										_mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, amp),
																		_mm256_cmpeq_epi8(x, rb)),
														_mm256_cmpgt_epi8(low, x)));
		unsigned	bits = (unsigned) _mm256_movemask_epi8(m);

		if (bits != 0)
			return q + __builtin_ctz(bits);
		q += 32;
	}
}

/* Does this CPU have AVX2? -1: not asked yet. */
static int	have_avx2 = -1;
#endif

/*
 * skip_stop
 *		skip_row_tail's search: the first byte at or after q that is '&',
 *		']', a control or non-ASCII byte (the sentinel is one), or a '<'
 *		followed by '!', '?', 'r' or "/r". With SSE2, 16 bytes a step,
 *		reading up to 17 bytes past the sentinel (BUF_PAD); with AVX2 where
 *		the CPU has it, 32.
 */
static inline const unsigned char *
skip_stop(const unsigned char *q)
{
#ifdef XLSX_SKIP_AVX2
	if (have_avx2 < 0)
		have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
	if (have_avx2)
		return skip_stop_avx2(q);
#endif
#if defined(__SSE2__)
	{
		const __m128i lt = _mm_set1_epi8('<');
		const __m128i slash = _mm_set1_epi8('/');
		const __m128i bang = _mm_set1_epi8('!');
		const __m128i qm = _mm_set1_epi8('?');
		const __m128i rr = _mm_set1_epi8('r');
		const __m128i amp = _mm_set1_epi8('&');
		const __m128i rb = _mm_set1_epi8(']');
		const __m128i low = _mm_set1_epi8(0x20);

		for (;;)
		{
			__m128i		x = _mm_loadu_si128((const __m128i *) q);
			__m128i		n1 = _mm_loadu_si128((const __m128i *) (q + 1));
			__m128i		n2 = _mm_loadu_si128((const __m128i *) (q + 2));
			__m128i		tag = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(n1, bang),
														_mm_cmpeq_epi8(n1, qm)),
										   _mm_or_si128(_mm_cmpeq_epi8(n1, rr),
														_mm_and_si128(_mm_cmpeq_epi8(n1, slash),
																	  _mm_cmpeq_epi8(n2, rr))));
			/* signed: bytes below 0x20 and from 0x80 up are both "less" */
			__m128i		m = _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(x, lt), tag),
										 _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, amp),
																   _mm_cmpeq_epi8(x, rb)),
													  _mm_cmplt_epi8(x, low)));
			unsigned	bits = (unsigned) _mm_movemask_epi8(m);

			if (bits != 0)
				return q + __builtin_ctz(bits);
			q += 16;
		}
	}
#else
	for (;; q++)
	{
		if (!XlsxScanPlainClass[*q] && *q != '<')
			return q;
		if (*q == '<' && (q[1] == '!' || q[1] == '?' || q[1] == 'r' ||
						  (q[1] == '/' && q[2] == 'r')))
			return q;
	}
#endif
}

/*
 * skip_row_tail
 *		The rest of a row whose needed cells have been read (see
 *		XlsxSheetNeedColumns): the position of its "</row>", found without
 *		decoding or checking the cells on the way, or NULL to read them one
 *		by one after all. It stops (skip_stop) at what could hide or fake the
 *		row's end or is not plain: a start tag of a name beginning with 'r'
 *		(a nested row, a rich-text run), a comment, PI or CDATA ("<!",
 *		"<?"), a reference ('&'), ']', a control or non-ASCII byte, the
 *		sentinel at the buffer's end; and unless that is the row's "</row>",
 *		the row goes back to the reading of every cell, which checks all of
 *		it.
 */
static inline const unsigned char *
skip_row_tail(const unsigned char *q, const unsigned char *e)
{
	q = skip_stop(q);
	if (e - q >= 8 && q[0] == '<' && q[1] == '/' && q[2] == 'r' && q[3] == 'o' &&
		q[4] == 'w' && (q[5] == '>' || XlsxScanIsWs[q[5]]))
		return q;
	return NULL;
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
	nl = (int) ref_letters(q, 3, &c);
	q += nl;
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
			int			nd = 0;

			q += 4;
			while (nd < 10 && q[nd] >= '0' && q[nd] <= '9')
				nd++;
			if (q[nd] != '"')
				return 0;
			fmt = cell_s_attr(r, (const char *) q, (size_t) nd);
			q += nd + 1;
			seen_s = true;
		}
		else if (q[1] == 't' && !seen_t)
		{
			int			nt = 0;
			int			tt;

			q += 4;
			while (nt < 9 && ((q[nt] >= 'a' && q[nt] <= 'z') || (q[nt] >= 'A' && q[nt] <= 'Z')))
				nt++;
			if (q[nt] != '"' || (tt = cell_t_attr((const char *) q, (size_t) nt)) < 0)
				return 0;
			t = (TAttr) tt;
			q += nt + 1;
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
	if (v == NULL || cell_value_omitted(t, len))
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
		uint64_t	idx;
		const char *shared;
		size_t		shared_len;

		/* a bad index: fast_cell reads it again and reports it */
		if (cell_shared_string(r, (const char *) v, len, &idx, &shared, &shared_len) != SST_OK)
			return 0;
		cell->type = cell_value_type(t);
		cell->text = shared;
		cell->len = shared_len;
		r->cell_off[r->ncells] = SIZE_MAX;
	}
	else
	{
		cell->type = cell_value_type(t);
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
	uint64_t	n = 0;
	int			nd = 0;

	if (e - p < 32 || memcmp(p, "<row r=\"", 8) != 0)
		return 0;
	while (nd < 8 && q[nd] >= '0' && q[nd] <= '9')
		nd++;
	if (q[nd] != '"' || !row_number((const char *) q, (size_t) nd, &n) ||
		!row_number_ok(r, n))
		return 0;
	q += nd + 1;
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
	row_begin(r, (uint32_t) n);
	if (!XlsxScanPush(r, (const unsigned char *) "row", 3, CTX_ROW, err))
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
			/*
			 * The row has a value and its needed cells are read: the rest of
			 * it need not be (once a row; the row must be a plain <row>, as
			 * the end tag below asks).
			 */
			if (r->need_cols >= 0 && r->ncells > 0 && r->prev_col + 1 >= r->need_cols &&
				!r->row_tail_tried)
			{
				StackEntry *se = &r->stack[r->depth - 1];

				r->row_tail_tried = true;
				if (se->name_len == 3 && small_eq(r->names + se->name_off, "row", 3) &&
					(q = skip_row_tail(p, e)) != NULL)
					p = q;
			}
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
				(!tag.selfclose && !XlsxScanPush(r, (const unsigned char *) "row", 3, CTX_ROW, err)))
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
			n = XlsxScanStart(r, err);
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
			n = XlsxScanMarkup(r, r->buf + r->pos, r->buf + r->end, err);
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
			n = XlsxScanText(r, err);
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
				return XlsxScanXmlError(r, err, r->buf + r->pos, "unexpected end of the part inside markup");
			if (r->phase != PH_EPILOG)
				return XlsxScanXmlError(r, err, NULL, r->phase == PH_CONTENT ?
								 "unexpected end of the part: an element is not closed" :
								 "no root element");
			r->phase = PH_DONE;
			return 0;
		}
		if (!XlsxScanRefill(r, err))
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

	XlsxScanInitTables();
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
	r->need_cols = -1;
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
 * XlsxSheetNeedColumns
 *		Only the cells of columns below ncols are needed (see xlsx.h).
 */
void
XlsxSheetNeedColumns(XlsxSheetReader *reader, uint32_t ncols)
{
	reader->need_cols = ncols;
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
 *		A scanner on sheet 'position' of a workbook; flags may add
 *		XLSX_STREAM_AHEAD when the caller reads it to the end.
 */
static XlsxSheetReader *
open_sheet_part(XlsxWorkbook *wb, int position, int flags, XlsxError *err)
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
	stream = XlsxZipStreamOpen(wb->zip, index, si->part, XLSX_STREAM_SHEET | flags, err);
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
	return open_sheet_part(wb, position, XLSX_STREAM_AHEAD, err);
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
	/* only the head of the part: not worth a thread */
	r = open_sheet_part(wb, position, 0, err);
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
