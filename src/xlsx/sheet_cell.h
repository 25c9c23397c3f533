/*
 * sheet_cell.h
 *		What a row's and a cell's attributes and values mean, as static
 *		inline helpers shared by sheet.c's two paths: the general one
 *		(row_start, cell_start, cell_end) and the fast one (quick_row,
 *		quick_cell), so the fast path cannot drift from the general one.
 *		Private to sheet.c.
 */
#ifndef MEGAMARKET_XLSX_SHEET_CELL_H
#define MEGAMARKET_XLSX_SHEET_CELL_H

#include "xmlscan.h"

/*
 * row_number
 *		A row number as written in <row r="N">: digits, no leading zero
 *		(Excel writes none; that keeps them short). False when malformed;
 *		*n saturates past XLSX_MAX_ROWS.
 */
static inline bool
row_number(const char *v, size_t len, uint64_t *n)
{
	uint64_t	x = 0;

	if (len == 0 || v[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (v[i] < '0' || v[i] > '9')
			return false;
		if (x <= XLSX_MAX_ROWS)
			x = x * 10 + (uint64_t) (v[i] - '0');
	}
	*n = x;
	return true;
}

/*
 * row_number_ok
 *		Row n may come now: in 1..1048576 and past the previous row.
 */
static inline bool
row_number_ok(const XlsxSheetReader *r, uint64_t n)
{
	return n >= 1 && n <= XLSX_MAX_ROWS && n > r->prev_row;
}

/*
 * ref_letters
 *		The column letters (1-3 capitals, at most max bytes) at the start of
 *		a cell reference: how many, and the 1-based column they name.
 */
static inline size_t
ref_letters(const unsigned char *p, size_t max, uint32_t *col)
{
	uint32_t	c = 0;
	size_t		i;

	for (i = 0; i < max && i < 3 && p[i] >= 'A' && p[i] <= 'Z'; i++)
		c = c * 26 + (uint32_t) (p[i] - 'A' + 1);
	*col = c;
	return i;
}

/*
 * cell_t_attr
 *		The t attribute of a <c>: its TAttr, or -1 for an unknown type.
 */
static inline int
cell_t_attr(const char *val, size_t len)
{
	if (len == 1)
	{
		switch (val[0])
		{
			case 'n':
				return TA_N;
			case 's':
				return TA_S;
			case 'b':
				return TA_B;
			case 'e':
				return TA_E;
			case 'd':
				return TA_D;
		}
	}
	else if (len == 3 && small_eq(val, "str", 3))
		return TA_STR;
	else if (len == 9 && small_eq(val, "inlineStr", 9))
		return TA_INLINE;
	return -1;
}

/*
 * cell_s_attr
 *		The s attribute of a <c>: the cellXfs index's format. Anything
 *		unusable (not digits, a leading zero, past the table) means General.
 */
static inline XlsxFormatKind
cell_s_attr(const XlsxSheetReader *r, const char *val, size_t len)
{
	uint64_t	idx = 0;

	if (len == 0 || len > 10 || (val[0] == '0' && len > 1))
		return XLSX_FORMAT_GENERAL;
	for (size_t i = 0; i < len; i++)
	{
		if (val[i] < '0' || val[i] > '9')
			return XLSX_FORMAT_GENERAL;
		idx = idx * 10 + (uint64_t) (val[i] - '0');
	}
	return idx < r->nxf ? (XlsxFormatKind) r->xf_kind[idx] : XLSX_FORMAT_GENERAL;
}

/*
 * cell_value_type
 *		What a <v> of a cell of type t holds.
 */
static inline XlsxCellType
cell_value_type(TAttr t)
{
	switch (t)
	{
		case TA_N:
			return XLSX_CELL_NUMBER;
		case TA_B:
			return XLSX_CELL_BOOLEAN;
		case TA_E:
			return XLSX_CELL_ERROR;
		case TA_D:
			return XLSX_CELL_ISO_DATE;
		case TA_S:
		case TA_STR:
		case TA_INLINE:
			break;
	}
	return XLSX_CELL_STRING;
}

/*
 * cell_value_omitted
 *		An empty <v> is no value, except for strings (t="str", "inlineStr"),
 *		where "" is a value.
 */
static inline bool
cell_value_omitted(TAttr t, size_t len)
{
	return len == 0 && t != TA_STR && t != TA_INLINE;
}

/* cell_shared_string's results */
#define SST_OK			0
#define SST_NOT_NUMBER	1
#define SST_MISSING		2

/*
 * cell_shared_string
 *		The shared string a t="s" cell's <v> (v, len > 0) names: its text
 *		and length, or why not (*idx says which index was asked for).
 */
static inline int
cell_shared_string(const XlsxSheetReader *r, const char *v, size_t len,
				   uint64_t *idx, const char **text, size_t *tlen)
{
	uint64_t	x = 0;
	uint32_t	count = r->sst ? r->sst->count : 0;

	for (size_t i = 0; i < len; i++)
	{
		if (v[i] < '0' || v[i] > '9')
			return SST_NOT_NUMBER;
		if (x <= UINT32_MAX)
			x = x * 10 + (uint64_t) (v[i] - '0');
	}
	*idx = x;
	if (x >= count)
		return SST_MISSING;
	*text = r->sst->arena + r->sst->offsets[x];
	*tlen = r->sst->offsets[x + 1] - r->sst->offsets[x] - 1;
	return SST_OK;
}

#endif							/* MEGAMARKET_XLSX_SHEET_CELL_H */
