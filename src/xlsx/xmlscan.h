/*
 * xmlscan.h
 *		The streaming XML tokenizer under the worksheet scanner: what
 *		xmlscan.c (well-formed XML, byte by byte) and sheet.c (what the
 *		worksheet's elements mean, and the fast path) share. Private to
 *		those two files; the rest of the core uses xlsx_internal.h.
 *
 * The tokenizer works on the reader's input buffer, element stack and
 * attribute array, and calls two hooks of sheet.c when an element opens
 * (XlsxSheetStartElement) or closes (XlsxSheetElementEnd); the element
 * stack keeps the Ctx those hooks chose, and XlsxScanText collects the text
 * of <v> and <t> (CTX_V, CTX_T) into the row's text buffer.
 */
#ifndef MEGAMARKET_XLSX_XMLSCAN_H
#define MEGAMARKET_XLSX_XMLSCAN_H

#include <string.h>

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
#define BUF_PAD			64

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
	bool		row_tail_tried; /* skip_row_tail ran on this row */
	int64_t		need_cols;		/* cells needed below this column; -1: all
								 * (XlsxSheetNeedColumns) */
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

/* Byte class tables (xmlscan.c), built by XlsxScanInitTables. */
extern uint8_t XlsxScanTextClass[256];
extern uint8_t XlsxScanAttrClass[256];
extern uint8_t XlsxScanMiscClass[256];
extern uint8_t XlsxScanNameStart[256];
extern uint8_t XlsxScanNameChar[256];
extern uint8_t XlsxScanIsWs[256];
extern uint8_t XlsxScanPlainClass[256];

/* ---- the tokenizer (xmlscan.c) ---- */
extern void XlsxScanInitTables(void);
extern int	XlsxScanError(XlsxSheetReader *r, XlsxError *err, XlsxErrorCode code,
						  const char *fmt,...) XLSX_PRINTF(4, 5);
extern int	XlsxScanXmlError(XlsxSheetReader *r, XlsxError *err, const unsigned char *at,
							 const char *what);
extern bool XlsxScanRefill(XlsxSheetReader *r, XlsxError *err);
extern bool XlsxScanTextReserve(XlsxSheetReader *r, size_t n, XlsxError *err);
extern bool XlsxScanTextAppend(XlsxSheetReader *r, const void *s, size_t n, XlsxError *err);
extern int	XlsxScanUtf8Check(const unsigned char *p, const unsigned char *e);
extern int	XlsxScanUtf8Encode(uint32_t cp, unsigned char *out);
extern int	XlsxScanDecodeRef(const unsigned char *p, const unsigned char *e, uint32_t *cp);
extern bool XlsxScanDecodeAttr(XlsxSheetReader *r, const Attr *a, char *out, size_t outsize);
extern bool XlsxScanAttrValue(XlsxSheetReader *r, const Attr *a, char *buf, size_t size,
							  const char **val, size_t *len);
extern const Attr *XlsxScanFindAttr(XlsxSheetReader *r, const char *name, size_t len);
extern bool XlsxScanPush(XlsxSheetReader *r, const unsigned char *name, size_t len, Ctx ctx,
						 XlsxError *err);
extern int	XlsxScanMarkup(XlsxSheetReader *r, const unsigned char *p, const unsigned char *e,
						   XlsxError *err);
extern int	XlsxScanText(XlsxSheetReader *r, XlsxError *err);
extern int	XlsxScanStart(XlsxSheetReader *r, XlsxError *err);

/* ---- the hooks the tokenizer calls (sheet.c) ---- */
extern bool XlsxSheetStartElement(XlsxSheetReader *r, const unsigned char *name, size_t len,
								  bool selfclose, XlsxError *err);
extern bool XlsxSheetElementEnd(XlsxSheetReader *r, Ctx ctx, XlsxError *err);

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
 * local_is
 *		Does the local part (after any prefix) of a name equal lit?
 */
static inline bool
local_is(const unsigned char *local, size_t len, const char *lit, size_t litlen)
{
	return len == litlen && memcmp(local, lit, len) == 0;
}

#endif							/* MEGAMARKET_XLSX_XMLSCAN_H */
