/*
 * options.c
 *		xlsx_fdw's options: the validator, merging server and table options,
 *		the range syntax, and the file-access privilege check.
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "xlsx/xlsx_fdw.h"

/* The options, each checked at most once per list (seen[] in the validator). */
typedef enum XlsxFdwOptionId
{
	OPT_FILENAME,
	OPT_SHEET,
	OPT_HEADER,
	OPT_RANGE,
	OPT_SKIP_ROWS,
	OPT_ERROR_CELLS,
	OPT_COLUMN_NAME,
	OPT_ROW_NUMBER,
	OPT_COLUMN,
	OPT_COUNT
} XlsxFdwOptionId;

/* Which option goes where. */
typedef struct XlsxFdwOption
{
	const char *name;
	Oid			context;
	XlsxFdwOptionId id;
} XlsxFdwOption;

static const XlsxFdwOption valid_options[] = {
	{"filename", ForeignServerRelationId, OPT_FILENAME},
	{"filename", ForeignTableRelationId, OPT_FILENAME},
	{"sheet", ForeignTableRelationId, OPT_SHEET},
	{"header", ForeignTableRelationId, OPT_HEADER},
	{"range", ForeignTableRelationId, OPT_RANGE},
	{"skip_rows", ForeignTableRelationId, OPT_SKIP_ROWS},
	{"error_cells", ForeignTableRelationId, OPT_ERROR_CELLS},
	{"column_name", AttributeRelationId, OPT_COLUMN_NAME},
	{"row_number", AttributeRelationId, OPT_ROW_NUMBER},
	{"column", AttributeRelationId, OPT_COLUMN},
	{NULL, InvalidOid, OPT_COUNT}
};

PG_FUNCTION_INFO_V1(xlsx_fdw_validator);

/*
 * XlsxFdwCheckReadPrivilege
 *		Reading a server file is for superusers and members of
 *		pg_read_server_files, as with file_fdw and COPY FROM a file: a foreign
 *		table would otherwise let anyone read any file the server can.
 */
static bool
may_read_server_files(void)
{
	return has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES);
}

void
XlsxFdwCheckReadPrivilege(const char *what)
{
	if (!may_read_server_files())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("Only roles with privileges of the \"%s\" role may read server files.",
						   "pg_read_server_files")));
}

/*
 * XlsxFdwParseColumn
 *		"C" or "c" (a sheet column by its letters, A to XFD) into a 0-based
 *		column number. False for anything else.
 */
bool
XlsxFdwParseColumn(const char *letters, uint32_t *col)
{
	char		buf[8];
	size_t		len = strlen(letters);

	if (len == 0 || len > 3)
		return false;
	for (size_t i = 0; i <= len; i++)
		buf[i] = pg_ascii_toupper((unsigned char) letters[i]);
	if (strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != len)
		return false;
	return XlsxParseCellRef(buf, len, col, NULL);
}

/*
 * XlsxFdwParseRange
 *		"B3:H", "B3:H200", "B3", "A:C" into the options' bounds. Returns false
 *		on a malformed range or one whose end is before its start.
 */
bool
XlsxFdwParseRange(const char *range_in, XlsxFdwOptions *opts)
{
	char	   *range = pstrdup(range_in);	/* "b3:h" means "B3:H" */
	const char *colon;

	for (char *p = range; *p; p++)
		*p = pg_ascii_toupper((unsigned char) *p);
	colon = strchr(range, ':');
	{
	size_t		len1 = colon ? (size_t) (colon - range) : strlen(range);
	uint32_t	c1,
				r1 = 0,
				c2 = XLSX_MAX_COLUMNS - 1,
				r2 = 0;

	if (len1 == 0 || !XlsxParseCellRef(range, len1, &c1, &r1))
		return false;
	if (colon)
	{
		const char *end = colon + 1;
		bool		has_row = strpbrk(end, "0123456789") != NULL;

		/* "H" (a whole column) has no row: the core parses it with row NULL */
		if (*end == '\0' ||
			!XlsxParseCellRef(end, strlen(end), &c2, has_row ? &r2 : NULL))
			return false;
	}
	if (r1 == 0)
		r1 = 1;
	if (r2 == 0)
		r2 = XLSX_MAX_ROWS;
	if (c2 < c1 || r2 < r1)
		return false;
	opts->first_col = c1;
	opts->last_col = c2;
	opts->first_row = r1;
	opts->last_row = r2;
	return true;
	}
}

/* The list of valid options for a context, for the hint. */
static char *
valid_option_names(Oid context)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const XlsxFdwOption *opt = valid_options; opt->name; opt++)
	{
		if (opt->context == context)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", opt->name);
	}
	return buf.data;
}

/*
 * XlsxFdwGetColumnOptions
 *		A column's options, read once: column_name, column (letters) and
 *		row_number (the validator has checked their values).
 */
void
XlsxFdwGetColumnOptions(Oid relid, AttrNumber attnum, XlsxFdwColumnOptions *out)
{
	ListCell   *lc;

	memset(out, 0, sizeof(*out));
	foreach(lc, GetForeignColumnOptions(relid, attnum))
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "column_name") == 0)
			out->column_name = defGetString(def);
		else if (strcmp(def->defname, "column") == 0)
			out->column = defGetString(def);
		else if (strcmp(def->defname, "row_number") == 0)
			out->row_number = defGetBoolean(def);
	}
}

/*
 * xlsx_fdw_validator
 *		Checks every option of CREATE/ALTER SERVER, FOREIGN TABLE and of a
 *		column: known names in the right place, each at most once, and a value
 *		that parses.
 */
Datum
xlsx_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options_list = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *cell;
	bool		seen[OPT_COUNT] = {false};
	bool		row_number = false;

	foreach(cell, options_list)
	{
		DefElem    *def = (DefElem *) lfirst(cell);
		const XlsxFdwOption *known = NULL;

		for (const XlsxFdwOption *opt = valid_options; opt->name; opt++)
		{
			if (opt->context == catalog && strcmp(opt->name, def->defname) == 0)
				known = opt;
		}
		if (known == NULL)
		{
			const char *names = valid_option_names(catalog);

			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 names[0]
					 ? errhint("Valid options in this context are: %s.", names)
					 : errhint("There are no valid options in this context.")));
		}
		if (seen[known->id])
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("conflicting or redundant options"),
					 errdetail("Option \"%s\" is given more than once.", def->defname)));
		seen[known->id] = true;

		if (strcmp(def->defname, "filename") == 0)
		{
			/*
			 * As file_fdw: only those who may read server files may point a
			 * table at one, or every user of the table could read it.
			 */
			if (!may_read_server_files())
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to set the \"%s\" option of an xlsx_fdw %s",
								"filename", catalog == ForeignServerRelationId ? "server" : "foreign table"),
						 errdetail("Only roles with privileges of the \"%s\" role may set this option.",
								   "pg_read_server_files")));
			if (defGetString(def)[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"filename\" must not be empty")));
		}
		else if (strcmp(def->defname, "sheet") == 0)
		{
			const char *v = defGetString(def);

			if (v[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"sheet\" must not be empty"),
						 errhint("Give a sheet name, or its position from 1.")));
			if (strspn(v, "0123456789") == strlen(v) &&
				(strlen(v) > 5 || atoi(v) < 1))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"sheet\": \"%s\"", v),
						 errhint("Sheet positions start at 1.")));
		}
		else if (strcmp(def->defname, "header") == 0)
		{
			(void) defGetBoolean(def);	/* errors out on a non-boolean */
		}
		else if (strcmp(def->defname, "range") == 0)
		{
			XlsxFdwOptions o;

			if (!XlsxFdwParseRange(defGetString(def), &o))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"range\": \"%s\"", defGetString(def)),
						 errhint("Write a range as Excel does, from its top-left cell: \"B3:H\", \"B3:H200\" or \"B3\".")));
		}
		else if (strcmp(def->defname, "skip_rows") == 0)
		{
			char	   *v = defGetString(def);
			char	   *end;
			long		n;

			errno = 0;
			n = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || errno != 0 || n < 0 || n >= XLSX_MAX_ROWS)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"skip_rows\": \"%s\"", v),
						 errhint("Give a whole number from 0 to %d.", XLSX_MAX_ROWS - 1)));
		}
		else if (strcmp(def->defname, "error_cells") == 0)
		{
			const char *v = defGetString(def);

			if (strcmp(v, "null") != 0 && strcmp(v, "error") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"error_cells\": \"%s\"", v),
						 errhint("Valid values are \"null\" (the default) and \"error\".")));
		}
		else if (strcmp(def->defname, "column_name") == 0)
		{
			if (defGetString(def)[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"column_name\" must not be empty")));
		}
		else if (strcmp(def->defname, "column") == 0)
		{
			const char *v = defGetString(def);
			uint32_t	col;

			if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != strlen(v) ||
				!XlsxFdwParseColumn(v, &col))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"column\": \"%s\"", v),
						 errhint("Give the sheet column's letters, from \"A\" to \"XFD\".")));
		}
		else if (strcmp(def->defname, "row_number") == 0)
		{
			row_number = defGetBoolean(def);
		}
	}

	/* A column is read by header text, by letter, or is the row number. */
	if (seen[OPT_COLUMN] && seen[OPT_COLUMN_NAME])
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("options \"column\" and \"column_name\" cannot be used together"),
				 errdetail("\"column\" names the sheet column by its letters; \"column_name\" by its header.")));
	if (row_number && seen[OPT_COLUMN])
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("options \"row_number\" and \"column\" cannot be used together"),
				 errdetail("A row_number column holds the sheet row number; it is not read from a cell.")));
	if (row_number && seen[OPT_COLUMN_NAME])
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("options \"row_number\" and \"column_name\" cannot be used together"),
				 errdetail("A row_number column holds the sheet row number; it is not read from a cell.")));

	/* A foreign table needs a file, here or on its server: checked at scan time. */
	PG_RETURN_VOID();
}

/*
 * XlsxFdwGetOptions
 *		The options of a foreign table, with its server's filename as the
 *		default, turned into an XlsxFdwOptions.
 */
void
XlsxFdwGetOptions(Oid foreigntableid, XlsxFdwOptions *opts)
{
	ForeignTable *table = GetForeignTable(foreigntableid);
	ForeignServer *server = GetForeignServer(table->serverid);
	List	   *options = list_concat(list_copy(server->options), table->options);
	ListCell   *lc;
	long		skip = 0;

	memset(opts, 0, sizeof(*opts));
	opts->header = true;
	opts->errors_as_null = true;
	opts->first_col = 0;
	opts->last_col = XLSX_MAX_COLUMNS - 1;
	opts->first_row = 1;
	opts->last_row = XLSX_MAX_ROWS;

	/* later entries (the table's) override earlier ones (the server's) */
	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "filename") == 0)
			opts->filename = defGetString(def);
		else if (strcmp(def->defname, "sheet") == 0)
			opts->sheet = defGetString(def);
		else if (strcmp(def->defname, "header") == 0)
			opts->header = defGetBoolean(def);
		else if (strcmp(def->defname, "range") == 0)
			(void) XlsxFdwParseRange(defGetString(def), opts);
		else if (strcmp(def->defname, "skip_rows") == 0)
			skip = strtol(defGetString(def), NULL, 10);
		else if (strcmp(def->defname, "error_cells") == 0)
			opts->errors_as_null = strcmp(defGetString(def), "null") == 0;
	}
	opts->first_row = Min((long) opts->first_row + skip, (long) XLSX_MAX_ROWS + 1);

	if (opts->filename == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("foreign table \"%s\" has no \"filename\" option",
						get_rel_name(foreigntableid)),
				 errhint("Set it on the table or on server \"%s\".", server->servername)));
}
