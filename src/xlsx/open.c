/*
 * open.c
 *		The reader core on the backend: its memory comes from a memory
 *		context, its errors become ereports with the right SQLSTATE, and its
 *		libzip handle is closed however the query ends.
 */
#include "postgres.h"

#include <errno.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "xlsx/xlsx_fdw.h"

/* Allocation without throwing: the core reports XLSX_ERR_NOMEM itself. */
static void *
env_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, Max(size, 1),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void *
env_realloc(void *ctx, void *ptr, size_t size)
{
	if (ptr == NULL)
		return env_alloc(ctx, size);
	return repalloc_huge(ptr, Max(size, 1));
}

static void
env_free(void *ctx, void *ptr)
{
	if (ptr)
		pfree(ptr);
}

/* Long loops in the core ask this; the real cancel error comes after. */
static bool
env_interrupted(void *ctx)
{
	return QueryCancelPending || ProcDiePending;
}

/* Memory-context reset callback: the libzip handle is not on palloc. */
static void
close_on_reset(void *arg)
{
	XlsxFdwFile *file = (XlsxFdwFile *) arg;

	if (file->wb)
	{
		XlsxClose(file->wb);
		file->wb = NULL;
	}
}

/*
 * XlsxFdwReportError
 *		Raise the core's error with a SQLSTATE that says what went wrong and a
 *		hint that says what to do.
 */
void
XlsxFdwReportError(XlsxFdwFile *file, const XlsxError *err)
{
	const char *fn = file ? file->filename : "";

	switch (err->code)
	{
		case XLSX_ERR_CANCELED:
			CHECK_FOR_INTERRUPTS();
			elog(ERROR, "xlsx reader stopped for a cancel that did not arrive");
			break;
		case XLSX_ERR_IO:
			errno = err->sys_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", fn)));
			break;
		case XLSX_ERR_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory reading workbook \"%s\"", fn),
					 errdetail("%s", err->message)));
			break;
		case XLSX_ERR_NOT_ZIP:
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("file \"%s\" is not an .xlsx workbook", fn),
					 errdetail("The file is %s.", err->message),
					 errhint("xlsx_fdw reads Office Open XML workbooks (.xlsx), which are zip files.")));
			break;
		case XLSX_ERR_OLD_XLS:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("file \"%s\" is an Excel 97-2003 (.xls) workbook, not .xlsx", fn),
					 errhint("Open it in Excel or LibreOffice and save it as .xlsx.")));
			break;
		case XLSX_ERR_ENCRYPTED:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("workbook \"%s\" is encrypted", fn),
					 errhint("Save a copy without a password to read it.")));
			break;
		case XLSX_ERR_CORRUPT:
		case XLSX_ERR_MISSING_PART:
		case XLSX_ERR_XML:
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("workbook \"%s\" is damaged: %s", fn, err->message)));
			break;
		case XLSX_ERR_LIMIT:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("workbook \"%s\" exceeds a limit: %s", fn, err->message)));
			break;
		case XLSX_ERR_NO_SHEET:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
					 errmsg("%s", err->message),
					 errhint("megamarket.xlsx_sheets('%s') lists the sheets.", fn)));
			break;
		case XLSX_OK:
			break;
	}
	elog(ERROR, "xlsx reader error %d: %s", (int) err->code, err->message);
}

/*
 * XlsxFdwOpen
 *		Open a workbook in CurrentMemoryContext; with shared_data, also load
 *		its shared strings and styles. The handle closes when the context is
 *		reset or deleted, so an error anywhere leaks nothing.
 */
XlsxFdwFile *
XlsxFdwOpen(const char *filename, bool shared_data)
{
	XlsxFdwFile *file = palloc0(sizeof(XlsxFdwFile));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	XlsxError	err;

	file->filename = pstrdup(filename);
	file->env.alloc = env_alloc;
	file->env.realloc = env_realloc;
	file->env.free = env_free;
	file->env.interrupted = env_interrupted;
	file->env.ctx = CurrentMemoryContext;
	/* The shared-strings table is the one thing a scan keeps whole. */
	file->env.max_shared_strings_bytes = (size_t) MaxAllocHugeSize / 2;

	cb->func = close_on_reset;
	cb->arg = file;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);

	memset(&err, 0, sizeof(err));
	file->wb = XlsxOpen(filename, &file->env, &err);
	if (file->wb == NULL)
	{
		if (err.code == XLSX_ERR_IO && err.sys_errno == ENOENT)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("could not open file \"%s\": No such file or directory", filename),
					 errhint("A relative path is relative to the server's data directory.")));
		XlsxFdwReportError(file, &err);
	}
	if (shared_data && !XlsxLoadSharedData(file->wb, &err))
		XlsxFdwReportError(file, &err);
	return file;
}

void
XlsxFdwClose(XlsxFdwFile *file)
{
	close_on_reset(file);
}

/*
 * XlsxFdwResolveSheet
 *		The position of the sheet the "sheet" option names: a name (exact,
 *		then ignoring case), a 1-based position, or NULL for the first visible
 *		sheet.
 */
int
XlsxFdwResolveSheet(XlsxFdwFile *file, const char *sheet)
{
	int			n = XlsxSheetCount(file->wb);
	const XlsxSheetInfo *info;

	if (sheet == NULL)
	{
		for (int i = 1; i <= n; i++)
		{
			if (XlsxGetSheet(file->wb, i)->state == XLSX_SHEET_VISIBLE)
				return i;
		}
		ereport(ERROR,
				(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
				 errmsg("workbook \"%s\" has no visible sheet", file->filename),
				 errhint("Name the sheet with the \"sheet\" option.")));
	}

	info = XlsxFindSheet(file->wb, sheet);
	if (info)
		return info->position;

	if (strspn(sheet, "0123456789") == strlen(sheet))
	{
		int			pos = atoi(sheet);

		if (pos >= 1 && pos <= n)
			return pos;
		ereport(ERROR,
				(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
				 errmsg("workbook \"%s\" has no sheet %d", file->filename, pos),
				 errdetail_plural("It has %d sheet.", "It has %d sheets.", n, n)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
			 errmsg("workbook \"%s\" has no sheet \"%s\"", file->filename, sheet),
			 errhint("megamarket.xlsx_sheets('%s') lists the sheets.", file->filename)));
	return 0;					/* keep compiler quiet */
}

/* "C17" from 0-based column and 1-based row, palloc'd. */
char *
XlsxFdwCellName(uint32_t col, uint32_t row)
{
	char		letters[8];

	XlsxColumnName(col, letters);
	return psprintf("%s%u", letters, row);
}
