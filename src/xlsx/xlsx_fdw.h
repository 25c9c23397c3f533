/*
 * xlsx_fdw.h
 *		Backend side of xlsx_fdw: what options.c, open.c, cells.c, fdw.c and
 *		import.c share. The reader core (xlsx.h) knows nothing of this.
 */
#ifndef MEGAMARKET_XLSX_FDW_H
#define MEGAMARKET_XLSX_FDW_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

#include "xlsx/xlsx.h"

/* Table (and server) options, merged: table wins over server. */
typedef struct XlsxFdwOptions
{
	char	   *filename;
	char	   *sheet;			/* name or 1-based position as text; NULL: first visible */
	bool		header;
	bool		errors_as_null; /* error cells (#N/A ...) become NULL; else an error */
	uint32_t	first_col;		/* 0-based, from range */
	uint32_t	last_col;		/* inclusive; XLSX_MAX_COLUMNS - 1 when open */
	uint32_t	first_row;		/* 1-based, from range, plus skip_rows */
	uint32_t	last_row;		/* inclusive; XLSX_MAX_ROWS when open */
} XlsxFdwOptions;

/* A column's options. */
typedef struct XlsxFdwColumnOptions
{
	const char *column_name;	/* header text to match, or NULL */
	const char *column;			/* sheet column letters, or NULL */
	bool		row_number;		/* holds the sheet row number */
} XlsxFdwColumnOptions;

/* options.c */
extern void XlsxFdwGetColumnOptions(Oid relid, AttrNumber attnum, XlsxFdwColumnOptions *out);
extern void XlsxFdwGetOptions(Oid foreigntableid, XlsxFdwOptions *opts);
extern void XlsxFdwCheckReadPrivilege(const char *what);
extern bool XlsxFdwParseRange(const char *range, XlsxFdwOptions *opts);
extern bool XlsxFdwParseColumn(const char *letters, uint32_t *col);

/* open.c: the reader core on palloc, errors as ereport; settings */
extern int	megamarket_xlsx_max_shared_strings;
extern bool megamarket_xlsx_inflate_ahead;
extern void XlsxFdwInit(void);

typedef struct XlsxFdwFile
{
	XlsxWorkbook *wb;
	const char *filename;
	XlsxEnv		env;
} XlsxFdwFile;

extern XlsxFdwFile *XlsxFdwOpen(const char *filename, bool shared_data, bool whole_sheets);
struct stat;
extern void XlsxFdwPinFile(const char *filename, int fd, const struct stat *before);
extern void XlsxFdwClose(XlsxFdwFile *file);
extern int	XlsxFdwResolveSheet(XlsxFdwFile *file, const char *sheet);
extern void XlsxFdwReportError(XlsxFdwFile *file, const XlsxError *err) pg_attribute_noreturn();
extern char *XlsxFdwCellName(uint32_t col, uint32_t row);
extern char *XlsxFdwServerText(const char *utf8, size_t len);
extern char *XlsxFdwUtf8Text(const char *server);

/* cells.c: a cell into a column's type */
typedef struct XlsxColumn
{
	Oid			typid;
	int32		typmod;
	FmgrInfo	input;
	Oid			ioparam;
	char		kind;			/* see cells.c */
	Oid			plain_int;		/* INT2OID/INT4OID/INT8OID itself (not a domain): parsed here */
} XlsxColumn;

extern void XlsxColumnInit(XlsxColumn *col, Oid typid, int32 typmod);
extern Datum XlsxCellToDatum(XlsxColumn *col, const XlsxCell *cell,
							 bool date1904, bool errors_as_null, bool *isnull);
extern bool XlsxCellToDatumQuick(XlsxColumn *col, const XlsxCell *cell, bool date1904,
								 Datum *out);

/* Normalised header text for matching (lower case, no accents or spaces). */
extern char *XlsxNormaliseName(const char *name);

/* import.c */
extern List *XlsxImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid);

#endif							/* MEGAMARKET_XLSX_FDW_H */
