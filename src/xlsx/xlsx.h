/*
 * xlsx.h
 *		The .xlsx reader core: zip container (libzip), workbook, relationships,
 *		shared strings and styles (expat), and the streaming worksheet scanner
 *		(hand-written). No backend headers: the FDW, the command-line dump
 *		tool, the differential test and the fuzzer all build on this API.
 *
 * Memory: everything is allocated through XlsxEnv (the FDW passes palloc in
 * a scan context; the tools pass malloc). A scan holds the shared-strings
 * table, the style table and one row, however many rows the sheet has.
 *
 * Errors: functions that can fail take an XlsxError and return NULL / false /
 * -1; the error's code says what class of problem it is and its message names
 * the part and the place (never a backend ereport from here).
 */
#ifndef MEGAMARKET_XLSX_H
#define MEGAMARKET_XLSX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Excel's own limits (XFD1048576); a cell reference past them is an error. */
#define XLSX_MAX_COLUMNS	16384
#define XLSX_MAX_ROWS		1048576

typedef enum XlsxErrorCode
{
	XLSX_OK = 0,
	XLSX_ERR_IO,				/* open/read failed (errno in sys_errno) */
	XLSX_ERR_NOT_FILE,			/* not a regular file (a FIFO, a device, a
								 * directory): refused before any read */
	XLSX_ERR_NOT_ZIP,			/* not a zip container at all */
	XLSX_ERR_OLD_XLS,			/* an OLE2 compound file: a .xls saved as .xlsx */
	XLSX_ERR_ENCRYPTED,			/* an OLE2 file holding an encrypted workbook */
	XLSX_ERR_CORRUPT,			/* zip damaged: truncated, bad CRC, bad header */
	XLSX_ERR_MISSING_PART,		/* a required part (workbook.xml, a sheet) absent */
	XLSX_ERR_XML,				/* malformed XML, or a DTD / entity declaration */
	XLSX_ERR_LIMIT,				/* a size limit: cell past XFD1048576, a part or
								 * shared-strings table over its budget, a
								 * compression ratio no real workbook has */
	XLSX_ERR_NO_SHEET,			/* the requested sheet does not exist */
	XLSX_ERR_CANCELED,			/* env->interrupted() returned true */
	XLSX_ERR_NOMEM
} XlsxErrorCode;

typedef struct XlsxError
{
	XlsxErrorCode code;
	int			sys_errno;		/* for XLSX_ERR_IO */
	char		message[512];	/* lower case, names the part/place, no period;
								 * never the file's path: the caller names it */
} XlsxError;

/*
 * What the caller provides. alloc and realloc must never throw or longjmp
 * (they run inside expat's callbacks): out of memory is a NULL, which the
 * core reports as XLSX_ERR_NOMEM after stopping the library. interrupted may
 * be NULL; when set, long loops (shared strings, styles, relationships,
 * skipping to a row, inflating) call it every few hundred KB or few thousand
 * items and stop with XLSX_ERR_CANCELED when it says so.
 */
typedef struct XlsxEnv
{
	void	   *(*alloc) (void *ctx, size_t size);
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);
	void		(*free) (void *ctx, void *ptr);
	bool		(*interrupted) (void *ctx);
	void	   *ctx;
	size_t		max_shared_strings_bytes;	/* arena + offsets; 0: 256 MB */
	const char *max_shared_strings_name;	/* the setting that sets it, for
											 * messages (NULL: none) */
	size_t		max_part_bytes; /* inflated workbook/styles/rels parts; 0: 64 MB */
	bool		inflate_ahead;	/* a large worksheet may be inflated by a
								 * thread of its own, ahead of the scan
								 * (zip.c); false: all in the caller's */
	size_t		inflate_ahead_min;	/* from what inflated size; 0: 4 MB (the
									 * tests lower it to reach the thread
									 * with small inputs) */
} XlsxEnv;

/* What a cell held in the file. */
typedef enum XlsxCellType
{
	XLSX_CELL_NUMBER,			/* t="n" or no t: text is the number as written */
	XLSX_CELL_STRING,			/* t="s" (resolved), t="inlineStr", t="str" */
	XLSX_CELL_BOOLEAN,			/* t="b": text is "0" or "1" */
	XLSX_CELL_ERROR,			/* t="e": text is "#N/A", "#DIV/0!", ... */
	XLSX_CELL_ISO_DATE			/* t="d": text is an ISO 8601 date/time */
} XlsxCellType;

/* How a cell's number format displays a number (from styles.xml). */
typedef enum XlsxFormatKind
{
	XLSX_FORMAT_GENERAL,		/* a plain number */
	XLSX_FORMAT_DATE,			/* date only (d, m, y codes; builtin 14-17) */
	XLSX_FORMAT_DATETIME,		/* date and time (builtin 22) */
	XLSX_FORMAT_TIME,			/* time only or elapsed (builtin 18-21, 45-47) */
	XLSX_FORMAT_TEXT			/* "@" */
} XlsxFormatKind;

typedef struct XlsxCell
{
	uint32_t	col;			/* 0-based column (A = 0) */
	XlsxCellType type;
	XlsxFormatKind format;		/* resolved from the s attribute */
	bool		has_formula;	/* an <f> was present; text is its cached value */
	const char *text;			/* decoded value, NUL-terminated, never NULL;
								 * valid until the next XlsxSheetNextRow */
	size_t		len;
} XlsxCell;

typedef struct XlsxRow
{
	uint32_t	rownum;			/* 1-based, as in the sheet */
	int			ncells;			/* cells present, ascending col; empty cells
								 * (no value) are left out */
	XlsxCell   *cells;
} XlsxRow;

typedef enum XlsxSheetState
{
	XLSX_SHEET_VISIBLE,
	XLSX_SHEET_HIDDEN,
	XLSX_SHEET_VERY_HIDDEN
} XlsxSheetState;

typedef struct XlsxSheetInfo
{
	int			position;		/* 1-based, workbook order */
	const char *name;
	XlsxSheetState state;
	const char *part;			/* e.g. "xl/worksheets/sheet1.xml" */
	const char *dimension;		/* the <dimension ref> if the sheet has one, else
								 * NULL (read lazily by XlsxSheetDimension) */
	int64_t		inflated_size;	/* uncompressed size of the part, from the zip */
	int64_t		compressed_size;
} XlsxSheetInfo;

/* What identifies the file a workbook was opened from, as fstat saw it. */
typedef struct XlsxFileId
{
	uint64_t	dev;
	uint64_t	ino;
	int64_t		size;
	int64_t		mtime_sec;
	int64_t		mtime_nsec;
} XlsxFileId;

typedef struct XlsxWorkbook XlsxWorkbook;
typedef struct XlsxSheetReader XlsxSheetReader;

/*
 * Open a workbook: the zip directory, [Content_Types], workbook.xml and its
 * relationships. Shared strings and styles are loaded by XlsxLoadSharedData,
 * so that listing sheets stays cheap.
 */
extern XlsxWorkbook *XlsxOpen(const char *path, const XlsxEnv *env, XlsxError *err);
extern void XlsxClose(XlsxWorkbook *wb);
extern const XlsxFileId *XlsxGetFileId(const XlsxWorkbook *wb);

extern int	XlsxSheetCount(const XlsxWorkbook *wb);
extern const XlsxSheetInfo *XlsxGetSheet(const XlsxWorkbook *wb, int position);	/* 1-based */
extern const XlsxSheetInfo *XlsxFindSheet(const XlsxWorkbook *wb, const char *name);	/* exact, then case-insensitive */
extern bool XlsxDate1904(const XlsxWorkbook *wb);

/*
 * The sheet's <dimension ref="A1:H1000001"> (read from the head of the part,
 * stopping at <sheetData>), or NULL when absent. Result owned by wb.
 */
extern const char *XlsxSheetDimension(XlsxWorkbook *wb, int position, XlsxError *err);

/* Load sharedStrings.xml and styles.xml (each optional in a workbook). */
extern bool XlsxLoadSharedData(XlsxWorkbook *wb, XlsxError *err);

/* Stream one sheet's rows. */
extern XlsxSheetReader *XlsxSheetOpen(XlsxWorkbook *wb, int position, XlsxError *err);
/* 1: *row set; 0: end of sheet; -1: error. Rows with no cells are skipped. */
extern int	XlsxSheetNextRow(XlsxSheetReader *reader, XlsxRow **row, XlsxError *err);
extern void XlsxSheetClose(XlsxSheetReader *reader);

/*
 * A projection: the caller needs only the cells of columns below ncols (0:
 * none, only the rows, as count(*) does); by default every cell. Once a row
 * has a value and its cells have passed that column, the rest of the row is
 * skipped without being decoded: the same rows come out, with at least the
 * cells below ncols (and others). What the skipped part of a row is not
 * checked for (only rows whose rest is plain cell markup are skipped): the
 * syntax of its tags and their nesting, cell references (order, their row,
 * XFD), t and s attributes, shared-string indexes. Everything else is: row
 * numbers, characters, references, comments, the document's structure.
 */
extern void XlsxSheetNeedColumns(XlsxSheetReader *reader, uint32_t ncols);

/* Bytes of sheet XML inflated so far (for EXPLAIN ANALYZE and progress). */
extern int64_t XlsxSheetBytesRead(const XlsxSheetReader *reader);

/*
 * Cell references. "C17" -> col 2, row 17. Returns false on a malformed or
 * out-of-range reference. row may be NULL (column-only refs like "B" in a
 * range "B3:H").
 */
extern bool XlsxParseCellRef(const char *ref, size_t len, uint32_t *col, uint32_t *row);
/* col 2 -> "C"; buf at least 4 bytes. */
extern void XlsxColumnName(uint32_t col, char *buf);

/*
 * Date serials. Excel stores dates as days since 1899-12-30 (1900 system,
 * with the fictitious 1900-02-29 at serial 60) or since 1904-01-01. Converts
 * the exact decimal text of a serial to a calendar date and a time of day in
 * microseconds, without passing through a double.
 *
 * Serial 60 in the 1900 system is the day that never was: returns false with
 * *nonexistent set. Serials 1-59 are Jan/Feb 1900 (Excel's own reading).
 * Returns false on text that is not a non-negative decimal number or is past
 * 9999-12-31.
 */
typedef struct XlsxDateTime
{
	int			year;
	int			month;
	int			day;
	int64_t		usec;			/* time of day, 0 .. 86399999999, rounded to
								 * the nearest microsecond */
} XlsxDateTime;

extern bool XlsxSerialToDateTime(const char *text, size_t len, bool date1904,
								 XlsxDateTime *out, bool *nonexistent);

/* Classify a number format code (custom formats in styles.xml). */
extern XlsxFormatKind XlsxClassifyFormat(const char *code);
/* Classify a builtin numFmtId (0-163). */
extern XlsxFormatKind XlsxBuiltinFormat(int numFmtId);

#endif							/* MEGAMARKET_XLSX_H */
