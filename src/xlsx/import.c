/*
 * import.c
 *		IMPORT FOREIGN SCHEMA for xlsx_fdw: one foreign table per sheet, its
 *		columns named by the header row, their types inferred from a sample
 *		of the cells.
 *
 *		IMPORT FOREIGN SCHEMA workbook [LIMIT TO (...) | EXCEPT (...)]
 *		  FROM SERVER s INTO public OPTIONS (filename '...', sample_rows '1000');
 *
 * The remote schema name is not used (a workbook has none). LIMIT TO and
 * EXCEPT name sheets, matched exactly or ignoring case and accents.
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "access/htup_details.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "xlsx/xlsx_fdw.h"

/* What the sampled cells of one column looked like. */
typedef struct ColumnSample
{
	char	   *header;
	int			n;
	int			ints;			/* plain integers that fit in bigint */
	int			decimals;		/* other numbers in positional notation */
	int			floats;			/* numbers with an exponent */
	int			dates;			/* date-formatted, whole days */
	int			datetimes;		/* date-formatted with a time, or datetime */
	int			times;			/* time-formatted */
	int			bools;
	int			texts;
} ColumnSample;

/* An identifier from a sheet or header text: lower case, words joined by _. */
static char *
make_identifier(const char *text, const char *fallback)
{
	StringInfoData buf;
	bool		sep = false;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) text; *p; p++)
	{
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p >= 0x80)
		{
			/* Latin-1 capitals (U+00C0-U+00DE but U+00D7) in UTF-8: C3 80-9E */
			if (p[0] == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97)
			{
				if (sep && buf.len)
					appendStringInfoChar(&buf, '_');
				appendStringInfoChar(&buf, (char) 0xC3);
				appendStringInfoChar(&buf, (char) (p[1] + 0x20));
				p++;
				sep = false;
				continue;
			}
			if (sep && buf.len)
				appendStringInfoChar(&buf, '_');
			appendStringInfoChar(&buf, (char) *p);
			sep = false;
		}
		else if (*p >= 'A' && *p <= 'Z')
		{
			if (sep && buf.len)
				appendStringInfoChar(&buf, '_');
			appendStringInfoChar(&buf, (char) (*p + ('a' - 'A')));
			sep = false;
		}
		else
			sep = true;
		if (buf.len >= NAMEDATALEN - 8)
			break;
	}
	if (buf.len == 0)
		return pstrdup(fallback);
	return buf.data;
}

/* A header's normalised text and its column, for finding repeats. */
typedef struct HeaderKey
{
	const char *norm;
	uint32_t	col;
} HeaderKey;

static int
header_key_cmp(const void *a, const void *b)
{
	return strcmp(((const HeaderKey *) a)->norm, ((const HeaderKey *) b)->norm);
}

/*
 * repeated_headers
 *		Per column, does another column's header match it as a scan matches
 *		(XlsxNormaliseName)? Sorted once: O(n log n) over up to 16,384
 *		header cells, where comparing every pair was quadratic.
 */
static bool *
repeated_headers(const ColumnSample *cols, uint32_t ncols)
{
	bool	   *repeated = palloc0(sizeof(bool) * Max(ncols, 1));
	HeaderKey  *keys = palloc(sizeof(HeaderKey) * Max(ncols, 1));
	uint32_t	n = 0;

	for (uint32_t c = 0; c < ncols; c++)
	{
		if ((c & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (cols[c].header)
		{
			keys[n].norm = XlsxNormaliseName(cols[c].header);
			keys[n].col = c;
			n++;
		}
	}
	qsort(keys, n, sizeof(HeaderKey), header_key_cmp);
	for (uint32_t i = 1; i < n; i++)
	{
		if (strcmp(keys[i - 1].norm, keys[i].norm) == 0)
			repeated[keys[i - 1].col] = repeated[keys[i].col] = true;
	}
	pfree(keys);
	return repeated;
}

/* An entry of the column-name tables below (keys fit: see make_identifier). */
typedef struct NameEntry
{
	char		name[NAMEDATALEN];
	int			next_suffix;	/* for a base name: the next "_N" to try */
} NameEntry;

static HTAB *
name_table(const char *what)
{
	HASHCTL		ctl;

	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(NameEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(what, 256, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * unique_name
 *		base, or base_2, base_3 ...: the first not taken yet. Each base
 *		remembers where its search stopped, so n equal headers cost O(n),
 *		not O(n^2) probes.
 */
static char *
unique_name(HTAB *used, HTAB *bases, const char *base)
{
	NameEntry  *be;
	bool		found;
	char	   *name = pstrdup(base);

	be = hash_search(bases, base, HASH_ENTER, &found);
	if (!found)
		be->next_suffix = 2;
	for (;;)
	{
		hash_search(used, name, HASH_ENTER, &found);
		if (!found)
			return name;
		CHECK_FOR_INTERRUPTS();
		name = psprintf("%s_%d", base, be->next_suffix++);
	}
}

/* Is this number text a plain integer that fits in bigint? */
static bool
is_bigint_text(const char *s)
{
	const char *p = s;
	int			digits;

	if (*p == '-')
		p++;
	digits = strspn(p, "0123456789");
	if (digits == 0 || p[digits] != '\0')
		return false;
	return digits < 19 || (digits == 19 && strcmp(p, *s == '-' ? "9223372036854775808" : "9223372036854775807") <= 0);
}

static void
sample_cell(ColumnSample *cs, const XlsxCell *cell)
{
	cs->n++;
	switch (cell->type)
	{
		case XLSX_CELL_BOOLEAN:
			cs->bools++;
			break;
		case XLSX_CELL_ERROR:
			cs->n--;			/* #N/A says nothing about the type */
			break;
		case XLSX_CELL_ISO_DATE:
			cs->datetimes++;
			break;
		case XLSX_CELL_STRING:
			cs->texts++;
			break;
		case XLSX_CELL_NUMBER:
			if (cell->format == XLSX_FORMAT_DATE || cell->format == XLSX_FORMAT_DATETIME)
			{
				if (cell->format == XLSX_FORMAT_DATE && strchr(cell->text, '.') == NULL)
					cs->dates++;
				else
					cs->datetimes++;
			}
			else if (cell->format == XLSX_FORMAT_TIME)
				cs->times++;
			else if (cell->format == XLSX_FORMAT_TEXT)
				cs->texts++;
			else if (strpbrk(cell->text, "eE"))
				cs->floats++;
			else if (is_bigint_text(cell->text))
				cs->ints++;
			else
				cs->decimals++;
			break;
	}
}

/* The narrowest type every sampled cell fits. */
static const char *
infer_type(const ColumnSample *cs)
{
	int			numbers = cs->ints + cs->decimals + cs->floats;

	if (cs->n == 0 || cs->texts > 0)
		return "text";
	if (cs->bools == cs->n)
		return "boolean";
	if (numbers == cs->n)
	{
		if (cs->floats > 0)
			return "double precision";
		return cs->decimals > 0 ? "numeric" : "bigint";
	}
	if (cs->dates == cs->n)
		return "date";
	if (cs->dates + cs->datetimes == cs->n)
		return "timestamp";
	if (cs->times == cs->n)
		return "time";
	return "text";
}

/* Does a LIMIT TO / EXCEPT entry name this sheet? */
static const char *
listed_name(List *tables, const char *sheet)
{
	ListCell   *lc;
	char	   *norm = XlsxNormaliseName(sheet);

	foreach(lc, tables)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);

		const char *relname = XlsxFdwUtf8Text(rv->relname);

		if (strcmp(relname, sheet) == 0 ||
			strcmp(XlsxNormaliseName(relname), norm) == 0)
			return rv->relname;
	}
	return NULL;
}

/*
 * A sheet reader tied to the memory context: closed by a reset callback if
 * an error ends the statement while it is open (the callback runs before
 * the workbook's own, registered earlier).
 */
typedef struct ReaderHolder
{
	XlsxSheetReader *reader;
} ReaderHolder;

static void
close_held_reader(void *arg)
{
	ReaderHolder *holder = arg;

	if (holder->reader)
	{
		XlsxSheetClose(holder->reader);
		holder->reader = NULL;
	}
}

static ReaderHolder *
hold_reader(XlsxFdwFile *file)
{
	ReaderHolder *holder = palloc0(sizeof(ReaderHolder));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	cb->func = close_held_reader;
	cb->arg = holder;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return holder;
}

/* CREATE FOREIGN TABLE for one sheet. */
static char *
sheet_table(XlsxFdwFile *file, const XlsxSheetInfo *info, const char *tablename,
			ImportForeignSchemaStmt *stmt, const char *servername,
			const char *filename_option, bool header, long sample_rows)
{
	XlsxSheetReader *reader;
	XlsxRow    *row;
	XlsxError	err;
	ColumnSample *cols = NULL;
	uint32_t	ncols = 0;
	long		sampled = 0;
	bool		first = true;
	int			rc;
	StringInfoData sql;
	HTAB	   *used;
	HTAB	   *bases;
	bool	   *repeated;
	int			ncolumns = 0;
	bool		first_column = true;
	ReaderHolder *holder;

	/* an error while sampling must not leak the reader's zlib and libzip state */
	holder = hold_reader(file);
	reader = XlsxSheetOpen(file->wb, info->position, &err);
	if (reader == NULL)
		XlsxFdwReportError(file, &err);
	holder->reader = reader;

	while (sampled < sample_rows && (rc = XlsxSheetNextRow(reader, &row, &err)) > 0)
	{
		uint32_t	need;

		CHECK_FOR_INTERRUPTS();
		if (row->ncells == 0)
			continue;
		need = row->cells[row->ncells - 1].col + 1;
		if (need > ncols)
		{
			cols = cols ? repalloc(cols, sizeof(ColumnSample) * need)
				: palloc(sizeof(ColumnSample) * need);
			memset(cols + ncols, 0, sizeof(ColumnSample) * (need - ncols));
			ncols = need;
		}
		for (int i = 0; i < row->ncells; i++)
		{
			if (first && header)
				cols[row->cells[i].col].header = pstrdup(row->cells[i].text);
			else
				sample_cell(&cols[row->cells[i].col], &row->cells[i]);
		}
		if (!(first && header))
			sampled++;
		first = false;
	}
	if (sampled < sample_rows && rc < 0)
		XlsxFdwReportError(file, &err);
	holder->reader = NULL;
	XlsxSheetClose(reader);

	/* a table PostgreSQL could not create: say so before any work */
	for (uint32_t c = 0; c < ncols; c++)
	{
		if (!header || (cols[c].header != NULL && cols[c].header[0] != '\0'))
			ncolumns++;
	}
	if (ncolumns > MaxHeapAttributeNumber)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_COLUMNS),
				 errmsg("sheet \"%s\" has %d columns, more than the %d a table can have",
						info->name, ncolumns, MaxHeapAttributeNumber),
				 errhint("Create the foreign table by hand with the columns you need (option \"column\"), or EXCEPT this sheet.")));

	repeated = header ? repeated_headers(cols, ncols) : NULL;
	used = name_table("xlsx import column names");
	bases = name_table("xlsx import base names");
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE FOREIGN TABLE %s.%s (",
					 quote_identifier(stmt->local_schema), quote_identifier(tablename));
	for (uint32_t c = 0; c < ncols; c++)
	{
		char		letters[8];
		char	   *name;
		char	   *base;

		if ((c & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		XlsxColumnName(c, letters);
		/* with a header, a column without header text cannot be matched: left out */
		if (header && (cols[c].header == NULL || cols[c].header[0] == '\0'))
			continue;

		base = header && cols[c].header
			? make_identifier(cols[c].header, psprintf("col_%s", letters))
			: make_identifier(letters, "col");
		name = unique_name(used, bases, XlsxFdwServerText(base, strlen(base)));

		appendStringInfo(&sql, "%s\n  %s %s", first_column ? "" : ",",
						 quote_identifier(name), infer_type(&cols[c]));
		first_column = false;
		if (header && cols[c].header && repeated[c])
			/* two cells with this header: the text cannot tell them apart */
			appendStringInfo(&sql, " OPTIONS (\"column\" %s)", quote_literal_cstr(letters));
		else if (header && cols[c].header)
			appendStringInfo(&sql, " OPTIONS (column_name %s)",
							 quote_literal_cstr(XlsxFdwServerText(cols[c].header, strlen(cols[c].header))));
	}
	appendStringInfo(&sql, "\n) SERVER %s OPTIONS (", quote_identifier(servername));
	if (filename_option)
		appendStringInfo(&sql, "filename %s, ", quote_literal_cstr(filename_option));
	appendStringInfo(&sql, "sheet %s", quote_literal_cstr(XlsxFdwServerText(info->name, strlen(info->name))));
	if (!header)
		appendStringInfoString(&sql, ", header 'false'");
	appendStringInfoString(&sql, ")");
	return sql.data;
}

/*
 * XlsxImportForeignSchema
 *		The CREATE FOREIGN TABLE commands for the workbook's sheets.
 */
List *
XlsxImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	const char *filename = NULL;
	const char *stmt_filename = NULL;
	bool		header = true;
	long		sample_rows = 1000;
	ListCell   *lc;
	XlsxFdwFile *file;
	List	   *commands = NIL;

	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "filename") == 0)
			filename = defGetString(def);
	}
	foreach(lc, stmt->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "filename") == 0)
			filename = stmt_filename = defGetString(def);
		else if (strcmp(def->defname, "header") == 0)
			header = defGetBoolean(def);
		else if (strcmp(def->defname, "sample_rows") == 0)
		{
			char	   *end;

			sample_rows = strtol(defGetString(def), &end, 10);
			if (*end != '\0' || sample_rows < 1 || sample_rows > 1000000)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"sample_rows\": \"%s\"", defGetString(def)),
						 errhint("Give a whole number from 1 to 1000000.")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 errhint("Valid options in this context are: filename, header, sample_rows.")));
	}
	if (filename == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("IMPORT FOREIGN SCHEMA needs a workbook"),
				 errhint("Give OPTIONS (filename '...') in the statement or on server \"%s\".",
						 server->servername)));
	XlsxFdwCheckReadPrivilege("import foreign tables from a workbook");

	file = XlsxFdwOpen(filename, true, false);
	for (int i = 1; i <= XlsxSheetCount(file->wb); i++)
	{
		const XlsxSheetInfo *info = XlsxGetSheet(file->wb, i);
		const char *listed = listed_name(stmt->table_list, info->name);
		const char *tablename;

		if (stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO && listed == NULL)
			continue;
		if (stmt->list_type == FDW_IMPORT_SCHEMA_EXCEPT && listed != NULL)
			continue;
		/*
		 * The core keeps only commands whose table name is in LIMIT TO, so a
		 * listed sheet's table takes the name as the statement spelt it.
		 */
		if (listed)
			tablename = listed;
		else
		{
			tablename = make_identifier(info->name, psprintf("sheet%d", i));
			tablename = XlsxFdwServerText(tablename, strlen(tablename));
		}
		commands = lappend(commands,
						   sheet_table(file, info, tablename, stmt, server->servername,
									   stmt_filename, header, sample_rows));
	}
	XlsxFdwClose(file);
	return commands;
}
