/*
 * xlsx_internal.h
 *		What the files of the .xlsx reader core share with each other and with
 *		the test programs in test/xlsx (the differential test drives the
 *		worksheet scanner on raw bytes). Not for the FDW: it uses xlsx.h.
 *
 * No backend headers here either: zip.c, workbook.c, xmlscan.c, sheet.c and
 * format.c build into megamarket.so and into standalone programs alike.
 */
#ifndef MEGAMARKET_XLSX_INTERNAL_H
#define MEGAMARKET_XLSX_INTERNAL_H

#include <sys/types.h>

#include "xlsx.h"

/* Budgets applied when the XlsxEnv leaves them at 0. */
#define XLSX_DEFAULT_MAX_SST		((size_t) 256 << 20)	/* 256 MB */
#define XLSX_DEFAULT_MAX_PART		((size_t) 64 << 20) /* 64 MB */

/* Inflated/compressed ratio no real workbook part reaches (deflate's own
 * ceiling is about 1032). Checked only on parts past XLSX_RATIO_MIN_BYTES. */
#define XLSX_MAX_RATIO				1000
#define XLSX_RATIO_MIN_BYTES		((int64_t) 1 << 20)

/* Read size for streamed parts. */
#define XLSX_CHUNK					(256 * 1024)

/* ---- common helpers (zip.c) ---- */

#if defined(__GNUC__)
#define XLSX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define XLSX_PRINTF(a, b)
#endif

extern void XlsxSetError(XlsxError *err, XlsxErrorCode code, const char *fmt,...) XLSX_PRINTF(3, 4);
extern void *XlsxAlloc(const XlsxEnv *env, size_t size);
extern void *XlsxRealloc(const XlsxEnv *env, void *ptr, size_t size);
extern void XlsxFree(const XlsxEnv *env, void *ptr);
extern char *XlsxStrdup(const XlsxEnv *env, const char *s);

/* ---- the zip container (zip.c) ---- */

typedef struct XlsxZip XlsxZip;
typedef struct XlsxZipStream XlsxZipStream;

extern XlsxZip *XlsxZipOpen(const char *path, const XlsxEnv *env, XlsxError *err);
extern void XlsxZipClose(XlsxZip *zip);
extern const XlsxFileId *XlsxZipFileId(const XlsxZip *zip);
/* Index of a member (exact name, then case-insensitive), or -1. */
extern int64_t XlsxZipLocate(XlsxZip *zip, const char *name);
extern bool XlsxZipSizes(XlsxZip *zip, int64_t index, int64_t *inflated,
						 int64_t *compressed);

/*
 * Stream a member. XLSX_STREAM_SHEET lifts the max_part_bytes budget
 * (worksheets may be hundreds of MB) but keeps the ratio and actual-size
 * checks; XLSX_STREAM_AHEAD says the caller reads it to the end, so a large
 * one may be inflated ahead by a thread when the env allows (zip.c). That
 * thread reads the archive: while such a stream is open, open or read no
 * other member of the same XlsxZip (libzip's archive is not shared between
 * threads). The scan, IMPORT FOREIGN SCHEMA and the tools read one sheet at
 * a time, after the workbook's own parts.
 */
#define XLSX_STREAM_SHEET	0x01
#define XLSX_STREAM_AHEAD	0x02
extern XlsxZipStream *XlsxZipStreamOpen(XlsxZip *zip, int64_t index,
										const char *part, int flags,
										XlsxError *err);
/* Bytes read (> 0), 0 at the end of the member, -1 on error. */
extern ssize_t XlsxZipStreamRead(XlsxZipStream *stream, char *buf, size_t len,
								 XlsxError *err);
extern void XlsxZipStreamClose(XlsxZipStream *stream);
/* zlib's crc32(crc, p, len), faster where the CPU allows (zip.c) */
extern uint32_t XlsxCrc32(uint32_t crc, const void *p, size_t len);

/*
 * A whole (non-sheet) member in memory, NUL-terminated, within limit bytes
 * (0: the env's max_part_bytes). NULL with err set on failure.
 */
extern char *XlsxZipReadPart(XlsxZip *zip, int64_t index, const char *part,
							 size_t limit, size_t *len, XlsxError *err);

/* ---- the workbook (workbook.c) ---- */

/* Shared strings: one arena of NUL-terminated strings and their offsets. */
typedef struct XlsxSst
{
	char	   *arena;
	size_t	   *offsets;		/* count + 1 entries; string i spans
								 * offsets[i] .. offsets[i + 1] - 1 */
	uint32_t	count;			/* < UINT32_MAX */
} XlsxSst;

struct XlsxWorkbook
{
	XlsxEnv		env;			/* a copy, budgets resolved */
	XlsxZip    *zip;
	char	   *workbook_part;	/* e.g. "xl/workbook.xml" */
	char	   *sst_part;		/* NULL when the workbook has none */
	char	   *styles_part;
	bool		date1904;
	int			nsheets;
	XlsxSheetInfo *sheets;
	bool	   *dimension_read; /* per sheet: XlsxSheetDimension done */
	bool		shared_loaded;
	XlsxSst		sst;
	uint8_t    *xf_kind;		/* XlsxFormatKind per cellXfs index */
	uint32_t	nxf;
};

/* ---- the worksheet scanner (sheet.c) ---- */

/* A byte source: bytes read (> 0), 0 at the end, -1 with err set. */
typedef ssize_t (*XlsxReadFn) (void *arg, char *buf, size_t len, XlsxError *err);
typedef void (*XlsxCloseFn) (void *arg);

/*
 * A scanner over any byte source; XlsxSheetOpen uses it on a zip stream,
 * the tests on memory. part names the source in messages. sst and xf_kind
 * may be empty. close (may be NULL) is called on arg by XlsxSheetClose.
 */
extern XlsxSheetReader *XlsxScanOpen(const XlsxEnv *env, const char *part,
									 XlsxReadFn read, XlsxCloseFn close,
									 void *arg, const XlsxSst *sst,
									 const uint8_t *xf_kind, uint32_t nxf,
									 XlsxError *err);

/*
 * Scan only the head of a sheet, up to <sheetData>, for <dimension ref>.
 * 1: found (*ref allocated with env->alloc), 0: none, -1: error.
 */
extern int	XlsxScanDimension(XlsxSheetReader *reader, char **ref, XlsxError *err);

/*
 * Tests only: turn the scanner's fast path for common rows and cells off
 * (on by default), so that the general path, which must give the same
 * cells, is checked on whole inputs too.
 */
extern void XlsxScanSetFast(XlsxSheetReader *reader, bool on);

/*
 * After an error: true when the input is outside what the scanner supports
 * though it may be well-formed XML (an encoding other than UTF-8, non-ASCII
 * element or attribute names, or an implementation limit). The differential
 * test accepts such a refusal; see test/xlsx/README.md.
 */
extern bool XlsxScanUnsupported(const XlsxSheetReader *reader);

/* ---- formats and references (format.c) ---- */

typedef enum XlsxRefStatus
{
	XLSX_REF_OK,
	XLSX_REF_MALFORMED,
	XLSX_REF_COL_RANGE,			/* column past XFD */
	XLSX_REF_ROW_RANGE			/* row 0 or past 1048576 */
} XlsxRefStatus;

/* A full cell reference "B7" (no '$'), telling why it is bad. */
extern XlsxRefStatus XlsxParseRefStatus(const char *ref, size_t len,
										uint32_t *col, uint32_t *row);

/*
 * Decode "_xHHHH_" escapes (ST_Xstring) in place; returns the new length
 * (never longer) and NUL-terminates. s must have room for that NUL.
 */
extern size_t XlsxDecodeXstring(char *s, size_t len);

/* The cellXfs format of numFmtId with custom code (NULL: builtin). */
extern XlsxFormatKind XlsxResolveFormat(int numFmtId, const char *custom_code);

#endif							/* MEGAMARKET_XLSX_INTERNAL_H */
