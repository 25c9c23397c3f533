/*
 * fdw.c
 *		xlsx_fdw: Excel workbooks as foreign tables. Planner and executor
 *		callbacks, ANALYZE, and megamarket.xlsx_sheets().
 *
 * A scan opens the workbook, loads its shared strings and styles, and streams
 * one worksheet row by row (src/xlsx/sheet.c): memory is the shared-strings
 * table plus one row. The header row maps sheet columns to table columns;
 * only the columns the query uses are converted.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/htup_details.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/pg_foreign_table.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "commands/vacuum.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"

#include "compat.h"
#include "xlsx/xlsx_fdw.h"

/* Planner's view of the sheet, kept in baserel->fdw_private. */
typedef struct XlsxPlanState
{
	XlsxFdwOptions opts;
	double		ntuples;
	double		bytes;
} XlsxPlanState;

/* Executor state of one scan. */
typedef struct XlsxScanState
{
	Relation	rel;
	XlsxFdwOptions opts;
	MemoryContext scancxt;		/* the workbook, the reader, the maps */
	MemoryContext rowcxt;		/* one row's values, reset per row */
	XlsxFdwFile *file;
	int			sheetpos;
	const char *sheetname;
	bool		date1904;
	XlsxSheetReader *reader;
	int			natts;
	XlsxColumn *columns;		/* per attribute */
	bool	   *needed;			/* per attribute: does the query use it */
	bool	   *is_rownum;		/* per attribute: a row_number column */
	XlsxFdwColumnOptions *colopts;	/* per attribute, read once */
	int		   *rownum_atts;	/* the needed row_number attributes ... */
	int			nrownum;		/* ... and how many: set per row */
	int		   *att_of_col;		/* per sheet column from first_col: attribute or -1 */
	uint32_t	ncols;
	uint32_t	need_cols;		/* sheet columns up to the last one converted */
	uint32_t	data_row;		/* first row of data (after the header) */
	uint32_t	cur_row;		/* for error messages */
	uint32_t	cur_col;
	bool		in_cell;
} XlsxScanState;

PG_FUNCTION_INFO_V1(xlsx_fdw_handler);
PG_FUNCTION_INFO_V1(xlsx_sheets);

/* ----------------------------------------------------------------------
 * The scan: open, map the header, read rows
 * ----------------------------------------------------------------------
 */

/* Rows before the data: read the header row (if any) and map columns. */
static void
map_columns(XlsxScanState *st)
{
	TupleDesc	tupdesc = RelationGetDescr(st->rel);
	char	  **header = NULL;
	char	  **header_norm = NULL;
	uint32_t	header_row = 0;
	XlsxError	err;

	st->ncols = st->opts.last_col - st->opts.first_col + 1;
	st->att_of_col = palloc(sizeof(int) * st->ncols);
	for (uint32_t c = 0; c < st->ncols; c++)
		st->att_of_col[c] = -1;

	if (st->opts.header)
	{
		XlsxRow    *row;
		int			rc;

		/* the first row with cells at or after the range's first row */
		while ((rc = XlsxSheetNextRow(st->reader, &row, &err)) > 0)
		{
			CHECK_FOR_INTERRUPTS();
			if (row->rownum < st->opts.first_row)
				continue;
			if (row->rownum > st->opts.last_row)
				break;
			header_row = row->rownum;
			header = palloc0(sizeof(char *) * st->ncols);
			header_norm = palloc0(sizeof(char *) * st->ncols);
			for (int i = 0; i < row->ncells; i++)
			{
				const XlsxCell *cell = &row->cells[i];

				if (cell->col < st->opts.first_col || cell->col > st->opts.last_col)
					continue;
				/* normalised once here, compared once per table column below */
				header[cell->col - st->opts.first_col] = pstrdup(XlsxFdwServerText(cell->text, cell->len));
				header_norm[cell->col - st->opts.first_col] = XlsxNormaliseName(cell->text);
			}
			break;
		}
		if (rc < 0)
			XlsxFdwReportError(st->file, &err);
		if (header == NULL)
		{
			/* an empty sheet: no header, no rows */
			st->data_row = XLSX_MAX_ROWS + 1;
			return;
		}
		st->data_row = header_row + 1;
	}
	else
		st->data_row = st->opts.first_row;

	for (int att = 0, pos = 0; att < tupdesc->natts; att++)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, att);
		const char *name;
		const char *letters;
		char	   *want;
		int			found = -1;

		if (attr->attisdropped || st->is_rownum[att])
			continue;

		/* the column option "column": the sheet column by its letters */
		letters = st->colopts[att].column;
		if (letters)
		{
			uint32_t	col;

			if (!XlsxFdwParseColumn(letters, &col) ||
				col < st->opts.first_col || col > st->opts.last_col)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_COLUMN_NAME),
						 errmsg("column \"%s\" of foreign table \"%s\" reads sheet column %s, outside the table's range",
								NameStr(attr->attname), RelationGetRelationName(st->rel), letters)));
			found = (int) (col - st->opts.first_col);
			goto mapped;
		}

		if (!st->opts.header)
		{
			/* by position: the n-th column of the table is the n-th of the range */
			if ((uint32_t) pos < st->ncols)
				st->att_of_col[pos] = att;
			pos++;
			continue;
		}

		name = st->colopts[att].column_name ? st->colopts[att].column_name : NameStr(attr->attname);
		want = XlsxNormaliseName(XlsxFdwUtf8Text(name));
		for (uint32_t c = 0; c < st->ncols; c++)
		{
			if (header_norm[c] == NULL || strcmp(header_norm[c], want) != 0)
				continue;
			if (found >= 0)
			{
				char		a[8],
							b[8];

				XlsxColumnName(st->opts.first_col + found, a);
				XlsxColumnName(st->opts.first_col + c, b);
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_COLUMN_NAME),
						 errmsg("column \"%s\" of foreign table \"%s\" matches two header cells in sheet \"%s\": %s%u and %s%u",
								NameStr(attr->attname), RelationGetRelationName(st->rel),
								st->sheetname, a, header_row, b, header_row),
						 errhint("Name the header cell exactly with the column option column_name.")));
			}
			found = (int) c;
		}
		if (found < 0)
		{
			StringInfoData names;

			initStringInfo(&names);
			for (uint32_t c = 0; c < st->ncols; c++)
			{
				if (header[c])
					appendStringInfo(&names, "%s\"%s\"", names.len ? ", " : "", header[c]);
			}
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("column \"%s\" of foreign table \"%s\" has no header cell \"%s\" in sheet \"%s\"",
							NameStr(attr->attname), RelationGetRelationName(st->rel), name,
							st->sheetname),
					 errdetail("The header is row %u: %s.", header_row, names.data),
					 errhint("Rename the column, or set its column_name option to the header's text.")));
		}
mapped:
		if (st->att_of_col[found] >= 0)
		{
			char		a[8];

			XlsxColumnName(st->opts.first_col + found, a);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_COLUMN_NAME),
					 errmsg("columns \"%s\" and \"%s\" of foreign table \"%s\" both read column %s of sheet \"%s\"",
							NameStr(TupleDescAttr(tupdesc, st->att_of_col[found])->attname),
							NameStr(attr->attname), RelationGetRelationName(st->rel),
							a, st->sheetname),
					 errhint("Read the cell into one column and cast it in the query.")));
		}
		st->att_of_col[found] = att;
	}
}

/*
 * Memory-context reset callback: the sheet reader's libzip stream is not on
 * palloc, and it holds the archive's file open even after the workbook is
 * closed. end_scan closes it; this does when an error ends the scan.
 * Registered after the workbook's callback, so it runs first.
 */
static void
close_reader_on_reset(void *arg)
{
	XlsxScanState *st = (XlsxScanState *) arg;

	if (st->reader)
	{
		XlsxSheetClose(st->reader);
		st->reader = NULL;
	}
}

/* Open the workbook and the sheet, and map the columns. */
static void
open_sheet(XlsxScanState *st)
{
	XlsxError	err;
	uint32_t	need = 0;

	st->reader = XlsxSheetOpen(st->file->wb, st->sheetpos, &err);
	if (st->reader == NULL)
		XlsxFdwReportError(st->file, &err);
	map_columns(st);

	/*
	 * The data rows need only the columns up to the last one the query uses
	 * (none for count(*)): the reader may skip the rest of each row.
	 */
	for (uint32_t c = 0; c < st->ncols; c++)
		if (st->att_of_col[c] >= 0 && st->needed[st->att_of_col[c]])
			need = st->opts.first_col + c + 1;
	st->need_cols = need;
	XlsxSheetNeedColumns(st->reader, need);
}

/*
 * begin_scan
 *		All that a scan needs, in a new memory context under the current one.
 *		needed_attnos: the 1-based attributes to convert, or NIL for all.
 */
static XlsxScanState *
begin_scan(Relation rel, List *needed_attnos, bool all)
{
	XlsxScanState *st = palloc0(sizeof(XlsxScanState));
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MemoryContext old;
	MemoryContextCallback *cb;
	ListCell   *lc;

	st->rel = rel;
	XlsxFdwGetOptions(RelationGetRelid(rel), &st->opts);
	st->scancxt = AllocSetContextCreate(CurrentMemoryContext, "xlsx_fdw scan",
										ALLOCSET_DEFAULT_SIZES);
	st->rowcxt = AllocSetContextCreate(st->scancxt, "xlsx_fdw row",
									   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(st->scancxt);

	st->natts = tupdesc->natts;
	st->columns = palloc0(sizeof(XlsxColumn) * st->natts);
	st->needed = palloc0(sizeof(bool) * st->natts);
	st->is_rownum = palloc0(sizeof(bool) * st->natts);
	st->colopts = palloc0(sizeof(XlsxFdwColumnOptions) * st->natts);
	st->rownum_atts = palloc(sizeof(int) * st->natts);
	foreach(lc, needed_attnos)
	{
		int			attno = lfirst_int(lc);

		if (attno >= 1 && attno <= st->natts)
			st->needed[attno - 1] = true;
	}
	for (int att = 0; att < st->natts; att++)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, att);

		if (attr->attisdropped)
		{
			st->needed[att] = false;
			continue;
		}
		if (all)
			st->needed[att] = true;
		if (st->needed[att])
			XlsxColumnInit(&st->columns[att], attr->atttypid, attr->atttypmod);
		XlsxFdwGetColumnOptions(RelationGetRelid(rel), attr->attnum, &st->colopts[att]);
		st->is_rownum[att] = st->colopts[att].row_number;
		if (st->is_rownum[att] && st->needed[att])
			st->rownum_atts[st->nrownum++] = att;
	}

	st->file = XlsxFdwOpen(st->opts.filename, true, true);
	cb = palloc0(sizeof(MemoryContextCallback));
	cb->func = close_reader_on_reset;
	cb->arg = st;
	MemoryContextRegisterResetCallback(st->scancxt, cb);
	st->sheetpos = XlsxFdwResolveSheet(st->file, st->opts.sheet);
	st->sheetname = XlsxGetSheet(st->file->wb, st->sheetpos)->name;
	st->date1904 = XlsxDate1904(st->file->wb);
	open_sheet(st);

	MemoryContextSwitchTo(old);
	return st;
}

/* Error context: which table, sheet and row we were reading. */
static void
scan_error_callback(void *arg)
{
	XlsxScanState *st = (XlsxScanState *) arg;

	if (st->cur_row > 0)
		errcontext("foreign table \"%s\", sheet \"%s\", row %u",
				   RelationGetRelationName(st->rel), st->sheetname, st->cur_row);
	else
		errcontext("foreign table \"%s\", sheet \"%s\"",
				   RelationGetRelationName(st->rel), st->sheetname);
}

/* The attribute a cell feeds, or -1 when its column is not needed. */
static inline int
needed_att(const XlsxScanState *st, const XlsxCell *cell)
{
	int			att;

	if (cell->col < st->opts.first_col || cell->col > st->opts.last_col)
		return -1;
	att = st->att_of_col[cell->col - st->opts.first_col];
	return att >= 0 && st->needed[att] ? att : -1;
}

/*
 * next_row
 *		The next data row's values (in rowcxt). Returns false at the end.
 *		A conversion error is re-thrown with the sheet and cell in front of
 *		the input function's message, SQLSTATE unchanged:
 *		sheet "Ventas", cell C17: invalid input syntax for type integer: "abc"
 */
static bool
next_row(XlsxScanState *st, Datum *values, bool *nulls)
{
	XlsxRow    *row;
	XlsxError	err;
	int			rc;
	MemoryContext old;

	for (;;)
	{
		rc = XlsxSheetNextRow(st->reader, &row, &err);
		if (rc < 0)
			XlsxFdwReportError(st->file, &err);
		if (rc == 0 || row->rownum > st->opts.last_row)
			return false;
		if (row->rownum >= st->data_row)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	CHECK_FOR_INTERRUPTS();
	st->cur_row = row->rownum;

	/* no cell to convert (count(*)): the row alone */
	if (st->need_cols == 0 && st->nrownum == 0)
	{
		memset(nulls, true, sizeof(bool) * st->natts);
		return true;
	}

	MemoryContextReset(st->rowcxt);
	old = MemoryContextSwitchTo(st->rowcxt);
	memset(nulls, true, sizeof(bool) * st->natts);

	/* row_number columns: the sheet row, through the column's input function */
	for (int i = 0; i < st->nrownum; i++)
	{
		int			att = st->rownum_atts[i];
		char		buf[16];

		snprintf(buf, sizeof(buf), "%u", row->rownum);
		values[att] = InputFunctionCall(&st->columns[att].input, buf,
										st->columns[att].ioparam,
										st->columns[att].typmod);
		nulls[att] = false;
	}

	/*
	 * The direct conversions, which cannot fail, first: a row they all take
	 * (nearly every row of a typed sheet) needs no error handling set up.
	 */
	{
		bool		quick = true;

		for (int i = 0; i < row->ncells && quick; i++)
		{
			const XlsxCell *cell = &row->cells[i];
			int			att = needed_att(st, cell);

			if (att < 0)
				continue;
			if (XlsxCellToDatumQuick(&st->columns[att], cell, st->date1904, &values[att]))
				nulls[att] = false;
			else
				quick = false;
		}
		if (quick)
		{
			MemoryContextSwitchTo(old);
			return true;
		}
	}

	PG_TRY();
	{
		for (int i = 0; i < row->ncells; i++)
		{
			const XlsxCell *cell = &row->cells[i];
			int			att = needed_att(st, cell);

			if (att < 0)
				continue;
			st->cur_col = cell->col;
			st->in_cell = true;
			values[att] = XlsxCellToDatum(&st->columns[att], cell, st->date1904,
										  st->opts.errors_as_null, &nulls[att]);
			st->in_cell = false;
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(st->scancxt);
		edata = CopyErrorData();
		if (!st->in_cell || edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->elevel > ERROR)
			PG_RE_THROW();
		FlushErrorState();
		edata->message = psprintf("sheet \"%s\", cell %s: %s", st->sheetname,
								  XlsxFdwCellName(st->cur_col, st->cur_row),
								  edata->message);
		st->in_cell = false;
		ReThrowError(edata);
	}
	PG_END_TRY();

	MemoryContextSwitchTo(old);
	return true;
}

static void
end_scan(XlsxScanState *st)
{
	if (st->reader)
		XlsxSheetClose(st->reader);
	st->reader = NULL;
	XlsxFdwClose(st->file);
	MemoryContextDelete(st->scancxt);
}

/* ----------------------------------------------------------------------
 * Planner
 * ----------------------------------------------------------------------
 */

/* Rows in the sheet: from its <dimension>, else guessed from its size. */
static void
estimate_size(XlsxPlanState *ps, RelOptInfo *baserel)
{
	struct stat st;
	XlsxFdwFile *file;
	const XlsxSheetInfo *info;
	const char *dim;
	XlsxError	err;
	int			pos;
	uint32_t	c1,
				r1,
				c2,
				r2;

	ps->ntuples = 1000;
	ps->bytes = 1000000;
	if (stat(ps->opts.filename, &st) != 0)
		return;					/* the scan will say what is wrong */

	file = XlsxFdwOpen(ps->opts.filename, false, false);
	pos = XlsxFdwResolveSheet(file, ps->opts.sheet);
	info = XlsxGetSheet(file->wb, pos);
	ps->bytes = (double) info->inflated_size;
	/* about 40 bytes of XML per cell */
	ps->ntuples = Max(1.0, ps->bytes / (40.0 * Max(1, baserel->reltarget->width / 8 + 1)));

	memset(&err, 0, sizeof(err));
	dim = XlsxSheetDimension(file->wb, pos, &err);
	if (dim)
	{
		const char *colon = strchr(dim, ':');

		if (colon && XlsxParseCellRef(dim, colon - dim, &c1, &r1) &&
			XlsxParseCellRef(colon + 1, strlen(colon + 1), &c2, &r2) && r2 >= r1)
		{
			uint32_t	lo = Max(r1, ps->opts.first_row);
			uint32_t	hi = Min(r2, ps->opts.last_row);

			ps->ntuples = hi >= lo ? (double) (hi - lo + 1) : 1.0;
			if (ps->opts.header && ps->ntuples > 1)
				ps->ntuples -= 1;
		}
	}
	XlsxFdwClose(file);
}

/*
 * may_select
 *		Could the executor's permission check pass: SELECT on the table or on
 *		one of its columns, for the role the query runs as? Planning (and so
 *		a plain EXPLAIN) would otherwise open and parse the file, and its
 *		messages ("has no sheet", "It has N sheets") would let a role without
 *		SELECT probe the workbook.
 */
static bool
may_select(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	Oid			userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();

	return pg_class_aclcheck(foreigntableid, userid, ACL_SELECT) == ACLCHECK_OK ||
		pg_attribute_aclcheck_all(foreigntableid, userid, ACL_SELECT, ACLMASK_ANY) == ACLCHECK_OK;
}

/*
 * xlsxGetForeignRelSize
 *		Obtain relation size estimates for a foreign table: the sheet's
 *		<dimension>, else its XML size (the file is opened only for a role
 *		that may SELECT from the table).
 */
static void
xlsxGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	XlsxPlanState *ps = palloc0(sizeof(XlsxPlanState));

	XlsxFdwGetOptions(foreigntableid, &ps->opts);
	if (may_select(root, baserel, foreigntableid))
		estimate_size(ps, baserel);
	else
	{
		/* no file access: the executor's check reports the error */
		ps->ntuples = 1000;
		ps->bytes = 1000000;
	}
	baserel->fdw_private = ps;
	baserel->rows = clamp_row_est(ps->ntuples *
								  clauselist_selectivity(root, baserel->baserestrictinfo,
														 0, JOIN_INNER, NULL));
	baserel->tuples = ps->ntuples;
}

/*
 * xlsxGetForeignPaths
 *		Create the one access path: a scan that inflates and reads the whole
 *		sheet.
 */
static void
xlsxGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	XlsxPlanState *ps = (XlsxPlanState *) baserel->fdw_private;
	Cost		startup = baserel->baserestrictcost.startup + 10.0;
	Cost		run;

	/* inflating and scanning every byte, then converting the used cells */
	run = ps->bytes / BLCKSZ * seq_page_cost +
		ps->ntuples * (cpu_tuple_cost * 4 + baserel->baserestrictcost.per_tuple);

	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
									 startup, startup + run, NIL, NULL, NULL, NIL));
}

/*
 * The attributes the query uses, from the target list and the quals (as
 * file_fdw decides on selective conversion). A whole-row reference uses all.
 */
static List *
needed_attnos(RelOptInfo *baserel)
{
	Bitmapset  *attrs = NULL;
	List	   *out = NIL;
	int			i = -1;
	ListCell   *lc;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = (RestrictInfo *) lfirst(lc);

		pull_varattnos((Node *) rinfo->clause, baserel->relid, &attrs);
	}
	while ((i = bms_next_member(attrs, i)) >= 0)
	{
		int			attno = i + FirstLowInvalidHeapAttributeNumber;

		if (attno == 0)
			return list_make1_int(0);	/* whole row */
		if (attno > 0)
			out = lappend_int(out, attno);
	}
	return out;
}

/*
 * xlsxGetForeignPlan
 *		Create a ForeignScan plan node; fdw_private holds the attribute
 *		numbers the query needs (0 alone: the whole row).
 */
static ForeignScan *
xlsxGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				   ForeignPath *best_path, List *tlist, List *scan_clauses,
				   Plan *outer_plan)
{
	scan_clauses = extract_actual_clauses(scan_clauses, false);
	return make_foreignscan(tlist, scan_clauses, baserel->relid, NIL,
							list_make1(needed_attnos(baserel)), NIL, NIL, outer_plan);
}

/*
 * xlsxExplainForeignScan
 *		Produce extra output for EXPLAIN: the file, the sheet, its size and,
 *		with ANALYZE, the bytes read.
 */
static void
xlsxExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	Relation	rel = node->ss.ss_currentRelation;
	XlsxScanState *st = (XlsxScanState *) node->fdw_state;
	XlsxFdwOptions opts;
	XlsxFdwFile *file;
	const XlsxSheetInfo *info;

	XlsxFdwGetOptions(RelationGetRelid(rel), &opts);
	ExplainPropertyText("Xlsx File", opts.filename, es);
	file = XlsxFdwOpen(opts.filename, false, false);
	info = XlsxGetSheet(file->wb, XlsxFdwResolveSheet(file, opts.sheet));
	ExplainPropertyText("Xlsx Sheet", XlsxFdwServerText(info->name, strlen(info->name)), es);
	if (es->costs)
		ExplainPropertyInteger("Xlsx Sheet Size", "bytes", info->inflated_size, es);
	if (es->analyze && st && st->reader)
		ExplainPropertyInteger("Xlsx Sheet Read", "bytes", XlsxSheetBytesRead(st->reader), es);
	XlsxFdwClose(file);
}

/* ----------------------------------------------------------------------
 * Executor
 * ----------------------------------------------------------------------
 */

/*
 * xlsxBeginForeignScan
 *		Initiate access to the workbook (nothing for EXPLAIN without ANALYZE).
 */
static void
xlsxBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	List	   *attnos = (List *) linitial(plan->fdw_private);
	bool		all = list_length(attnos) == 1 && linitial_int(attnos) == 0;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	node->fdw_state = begin_scan(node->ss.ss_currentRelation, attnos, all);
}

/*
 * xlsxIterateForeignScan
 *		Read the next row of the sheet into the slot; an empty slot at the
 *		end. Conversion errors name the cell (error context callback).
 */
static TupleTableSlot *
xlsxIterateForeignScan(ForeignScanState *node)
{
	XlsxScanState *st = (XlsxScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ErrorContextCallback errcallback;
	bool		found;

	errcallback.callback = scan_error_callback;
	errcallback.arg = st;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	ExecClearTuple(slot);
	found = next_row(st, slot->tts_values, slot->tts_isnull);
	if (found)
		ExecStoreVirtualTuple(slot);

	error_context_stack = errcallback.previous;
	return slot;
}

/*
 * xlsxReScanForeignScan
 *		Rescan the table: the sheet is read again from its start.
 */
static void
xlsxReScanForeignScan(ForeignScanState *node)
{
	XlsxScanState *st = (XlsxScanState *) node->fdw_state;
	MemoryContext old = MemoryContextSwitchTo(st->scancxt);

	XlsxSheetClose(st->reader);
	st->reader = NULL;
	open_sheet(st);
	MemoryContextSwitchTo(old);
}

/*
 * xlsxEndForeignScan
 *		Finish scanning the foreign table and close the workbook.
 */
static void
xlsxEndForeignScan(ForeignScanState *node)
{
	XlsxScanState *st = (XlsxScanState *) node->fdw_state;

	if (st)
		end_scan(st);
}

/* ----------------------------------------------------------------------
 * ANALYZE: a reservoir sample of the rows, as file_fdw takes one
 * ----------------------------------------------------------------------
 */

/*
 * xlsxAcquireSampleRows
 *		Sample rows for ANALYZE: reservoir sampling over one pass.
 */
static int
xlsxAcquireSampleRows(Relation onerel, int elevel, HeapTuple *rows, int targrows,
					  double *totalrows, double *totaldeadrows)
{
	TupleDesc	tupdesc = RelationGetDescr(onerel);
	MemoryContext callercxt = CurrentMemoryContext;
	XlsxScanState *st = begin_scan(onerel, NIL, true);
	Datum	   *values = palloc(sizeof(Datum) * tupdesc->natts);
	bool	   *nulls = palloc(sizeof(bool) * tupdesc->natts);
	ReservoirStateData rstate;
	double		rowstoskip = -1;
	double		seen = 0;
	int			numrows = 0;
	ErrorContextCallback errcallback;

	errcallback.callback = scan_error_callback;
	errcallback.arg = st;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	reservoir_init_selection_state(&rstate, targrows);
	while (next_row(st, values, nulls))
	{
		HeapTuple	tuple;

		MemoryContextSwitchTo(callercxt);
		if (numrows < targrows)
			rows[numrows++] = heap_form_tuple(tupdesc, values, nulls);
		else
		{
			if (rowstoskip < 0)
				rowstoskip = reservoir_get_next_S(&rstate, seen, targrows);
			if (rowstoskip <= 0)
			{
				int			k = (int) (targrows * sampler_random_fract(&rstate.randstate));

				tuple = heap_form_tuple(tupdesc, values, nulls);
				heap_freetuple(rows[k]);
				rows[k] = tuple;
			}
			rowstoskip -= 1;
		}
		seen += 1;
	}
	error_context_stack = errcallback.previous;

	end_scan(st);
	*totalrows = seen;
	*totaldeadrows = 0;
	ereport(elevel,
			(errmsg("\"%s\": sheet contains %.0f rows; %d rows in sample",
					RelationGetRelationName(onerel), seen, numrows)));
	return numrows;
}

/*
 * xlsxAnalyzeForeignTable
 *		Test whether analyzing this foreign table is supported (it is).
 */
static bool
xlsxAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
						BlockNumber *totalpages)
{
	XlsxFdwOptions opts;
	struct stat st;

	XlsxFdwGetOptions(RelationGetRelid(relation), &opts);
	if (stat(opts.filename, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", opts.filename)));
	*func = xlsxAcquireSampleRows;
	*totalpages = Max(1, (BlockNumber) (st.st_size / BLCKSZ));
	return true;
}

/*
 * xlsxImportForeignSchema
 *		IMPORT FOREIGN SCHEMA: one table per sheet (import.c).
 */
static List *
xlsxImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	return XlsxImportForeignSchema(stmt, serverOid);
}

Datum
xlsx_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = xlsxGetForeignRelSize;
	routine->GetForeignPaths = xlsxGetForeignPaths;
	routine->GetForeignPlan = xlsxGetForeignPlan;
	routine->ExplainForeignScan = xlsxExplainForeignScan;
	routine->BeginForeignScan = xlsxBeginForeignScan;
	routine->IterateForeignScan = xlsxIterateForeignScan;
	routine->ReScanForeignScan = xlsxReScanForeignScan;
	routine->EndForeignScan = xlsxEndForeignScan;
	routine->AnalyzeForeignTable = xlsxAnalyzeForeignTable;
	routine->ImportForeignSchema = xlsxImportForeignSchema;
	PG_RETURN_POINTER(routine);
}

/* ----------------------------------------------------------------------
 * megamarket.xlsx_sheets(filename)
 * ----------------------------------------------------------------------
 */

/*
 * xlsx_sheets
 *		Each sheet's position, name, visibility and <dimension>.
 */
Datum
xlsx_sheets(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *filename = text_to_cstring(PG_GETARG_TEXT_PP(0));
	XlsxFdwFile *file;
	static const char *const states[] = {"visible", "hidden", "very hidden"};

	XlsxFdwCheckReadPrivilege("read workbooks with xlsx_sheets()");
	InitMaterializedSRF(fcinfo, 0);
	file = XlsxFdwOpen(filename, false, false);
	for (int i = 1; i <= XlsxSheetCount(file->wb); i++)
	{
		const XlsxSheetInfo *info = XlsxGetSheet(file->wb, i);
		XlsxError	err;
		const char *dim;
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		CHECK_FOR_INTERRUPTS();
		memset(&err, 0, sizeof(err));
		dim = XlsxSheetDimension(file->wb, i, &err);
		if (dim == NULL && err.code != XLSX_OK)
			XlsxFdwReportError(file, &err);
		values[0] = Int32GetDatum(info->position);
		values[1] = CStringGetTextDatum(XlsxFdwServerText(info->name, strlen(info->name)));
		values[2] = CStringGetTextDatum(states[info->state]);
		if (dim)
			values[3] = CStringGetTextDatum(dim);
		else
			nulls[3] = true;
		values[4] = Int64GetDatum(info->inflated_size);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	XlsxFdwClose(file);
	return (Datum) 0;
}
