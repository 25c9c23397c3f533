/*
 * open.c
 *		The reader core on the backend: its memory comes from a memory
 *		context, its errors become ereports with the right SQLSTATE, and its
 *		libzip handle is closed however the query ends.
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "xlsx/xlsx_fdw.h"

static void check_pinned(XlsxFdwFile *file);

/* megamarket.xlsx_max_shared_strings, in kB */
int			megamarket_xlsx_max_shared_strings = 256 * 1024;
/* megamarket.xlsx_inflate_ahead */
bool		megamarket_xlsx_inflate_ahead = true;

/*
 * XlsxFdwInit
 *		Define xlsx_fdw's settings (called from _PG_init).
 */
void
XlsxFdwInit(void)
{
	DefineCustomIntVariable("megamarket.xlsx_max_shared_strings",
							"Largest shared-strings table one workbook may load.",
							"The table (text plus 8 bytes per string) is held "
							"in memory for the whole scan; a workbook needing "
							"more is refused.",
							&megamarket_xlsx_max_shared_strings,
							256 * 1024, 64, (int) Min((Size) INT_MAX, MaxAllocHugeSize / 1024),
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("megamarket.xlsx_inflate_ahead",
							 "Inflate a large worksheet in a second thread, ahead of the scan.",
							 "A worksheet part of 4 MB or more is decompressed by a "
							 "thread of the backend while the backend reads its rows, "
							 "on machines with more than one CPU. The thread runs only "
							 "zlib and libzip, never PostgreSQL code.",
							 &megamarket_xlsx_inflate_ahead,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

/*
 * The core's allocator. It runs inside expat callbacks, so it must never
 * throw: out of memory (or a size palloc would refuse with an ERROR) is a
 * NULL, which the core reports after stopping the parser. PostgreSQL 15 has
 * no non-throwing repalloc, so every block carries its size in a header and
 * realloc is alloc + copy + free.
 */
typedef struct EnvChunk
{
	Size		size;
	Size		pad;			/* keep the payload MAXALIGNed */
} EnvChunk;

static void *
env_alloc(void *ctx, size_t size)
{
	EnvChunk   *c;

	if (size > MaxAllocHugeSize - sizeof(EnvChunk))
		return NULL;
	c = MemoryContextAllocExtended((MemoryContext) ctx, sizeof(EnvChunk) + Max(size, 1),
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (c == NULL)
		return NULL;
	c->size = size;
	return c + 1;
}

static void *
env_realloc(void *ctx, void *ptr, size_t size)
{
	EnvChunk   *old;
	void	   *p;

	if (ptr == NULL)
		return env_alloc(ctx, size);
	old = (EnvChunk *) ptr - 1;
	p = env_alloc(ctx, size);
	if (p == NULL)
		return NULL;			/* the old block stays valid, as realloc's */
	memcpy(p, ptr, Min(old->size, size));
	pfree(old);
	return p;
}

static void
env_free(void *ctx, void *ptr)
{
	if (ptr)
		pfree((EnvChunk *) ptr - 1);
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
		case XLSX_ERR_NOT_FILE:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a regular file", fn),
					 errdetail("The path names %s.", err->message),
					 errhint("xlsx_fdw reads only regular files.")));
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
			if (strstr(err->message, "megamarket.xlsx_max_shared_strings") != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("workbook \"%s\" exceeds a limit: %s", fn, err->message),
						 errhint("A superuser can raise megamarket.xlsx_max_shared_strings if the workbook is genuine.")));
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
 *		its shared strings and styles. whole_sheets says the caller reads
 *		sheets to their end (a scan, not a sample or a dimension): then a
 *		large one may be inflated ahead, per megamarket.xlsx_inflate_ahead.
 *		The handle closes when the context is reset or deleted, so an error
 *		anywhere leaks nothing.
 */
XlsxFdwFile *
XlsxFdwOpen(const char *filename, bool shared_data, bool whole_sheets)
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
	file->env.max_shared_strings_bytes = (size_t) megamarket_xlsx_max_shared_strings * 1024;
	file->env.max_shared_strings_name = "megamarket.xlsx_max_shared_strings";
	/* only a scan reads a sheet to its end: worth a thread (zip.c) */
	file->env.inflate_ahead = whole_sheets && megamarket_xlsx_inflate_ahead;

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
	check_pinned(file);
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
 * The files whose checksum this transaction took (file_fingerprint), as
 * fstat saw them then: every later open of the same path in the same
 * transaction must find the same file, so that what import_workbook logs
 * as the file's SHA-256 is what it loaded (it opens the path once per
 * sheet). Backend-local, tagged with the local transaction id.
 */
typedef struct PinnedFile
{
	char	   *filename;
	XlsxFileId	id;
} PinnedFile;

static List *pinned_files = NIL;
static LocalTransactionId pinned_lxid = InvalidLocalTransactionId;

static void
stat_to_id(const struct stat *st, XlsxFileId *id)
{
	id->dev = (uint64_t) st->st_dev;
	id->ino = (uint64_t) st->st_ino;
	id->size = (int64_t) st->st_size;
	id->mtime_sec = (int64_t) st->st_mtim.tv_sec;
	id->mtime_nsec = (int64_t) st->st_mtim.tv_nsec;
}

static bool
same_file(const XlsxFileId *a, const XlsxFileId *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
		a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

/* The pins of this transaction (those of an earlier one are dropped). */
static List *
current_pins(void)
{
	if (pinned_lxid != MyProc->lxid)
	{
		/* the list lived in TopMemoryContext; drop an old transaction's */
		list_free_deep(pinned_files);
		pinned_files = NIL;
		pinned_lxid = MyProc->lxid;
	}
	return pinned_files;
}

/*
 * XlsxFdwPinFile
 *		After a checksum of filename read through fd (opened when before was
 *		taken): refuse if the file changed while it was read, then pin it
 *		for the rest of the transaction (see PinnedFile).
 */
void
XlsxFdwPinFile(const char *filename, int fd, const struct stat *before)
{
	struct stat after;
	XlsxFileId	id;
	XlsxFileId	id_after;
	PinnedFile *pin;
	MemoryContext old;

	if (fstat(fd, &after) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", filename)));
	stat_to_id(before, &id);
	stat_to_id(&after, &id_after);
	if (!same_file(&id, &id_after))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("file \"%s\" changed while its checksum was computed", filename),
				 errhint("Import the file once whatever writes it has finished.")));
	current_pins();
	old = MemoryContextSwitchTo(TopMemoryContext);
	pin = palloc(sizeof(PinnedFile));
	pin->filename = pstrdup(filename);
	pin->id = id;
	pinned_files = lappend(pinned_files, pin);
	MemoryContextSwitchTo(old);
}

/*
 * check_pinned
 *		A workbook just opened must be the file this transaction took the
 *		checksum of, if it took one.
 */
static void
check_pinned(XlsxFdwFile *file)
{
	ListCell   *lc;
	const XlsxFileId *id = XlsxGetFileId(file->wb);

	foreach(lc, current_pins())
	{
		PinnedFile *pin = lfirst(lc);

		if (strcmp(pin->filename, file->filename) != 0 || same_file(&pin->id, id))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("workbook \"%s\" changed since its checksum was taken", file->filename),
				 errdetail("Size, modification time or inode differ from the file that megamarket.file_fingerprint() read in this transaction."),
				 errhint("Import the file again once whatever writes it has finished.")));
	}
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

	info = XlsxFindSheet(file->wb, XlsxFdwUtf8Text(sheet));
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

/*
 * XlsxFdwServerText, XlsxFdwUtf8Text
 *		A workbook's text is UTF-8. In a database of another encoding, cell
 *		text, headers and sheet names are converted to it (a character it
 *		cannot hold is an error, ERRCODE_UNTRANSLATABLE_CHARACTER, naming the
 *		bytes), and names from SQL are converted to UTF-8 before they are
 *		matched with the workbook's. In a UTF-8 (or SQL_ASCII) database both
 *		return their argument: no copy, no cost.
 */
char *
XlsxFdwServerText(const char *utf8, size_t len)
{
	int			enc = GetDatabaseEncoding();

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return (char *) utf8;
	return pg_any_to_server(utf8, (int) len, PG_UTF8);
}

char *
XlsxFdwUtf8Text(const char *server)
{
	int			enc = GetDatabaseEncoding();

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return (char *) server;
	return pg_server_to_any(server, (int) strlen(server), PG_UTF8);
}

/* "C17" from 0-based column and 1-based row, palloc'd. */
char *
XlsxFdwCellName(uint32_t col, uint32_t row)
{
	char		letters[8];

	XlsxColumnName(col, letters);
	return psprintf("%s%u", letters, row);
}
