/*
 * mining_pg.c
 *		The backend side every mining function shares (see mining_pg.h): the
 *		megamarket.mining_max_memory setting, a MiningEnv on palloc, the one
 *		mapping of MiningErrorCode to SQLSTATEs, and reading the caller's
 *		query through a read-only SPI cursor, in batches, with its shape
 *		checked before any work; and the time series queries of the
 *		forecasting functions, (t, y) or (series, t, y).
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "megamarket.h"
#include "mining/mining_pg.h"

/* default 1 GB: 16 million 8-dimensional points, with room for the work arrays */
int			megamarket_mining_max_memory = 1024 * 1024;

/*
 * MiningInit
 *		Define megamarket.mining_max_memory. A per-query knob (PGC_USERSET), as
 *		work_mem: it bounds what one call holds, and a call over it fails with
 *		54000 naming what did not fit, rather than spilling.
 */
void
MiningInit(void)
{
	DefineCustomIntVariable("megamarket.mining_max_memory",
							"Memory one mining function call may use for its data.",
							"Points, itemsets and series a call of kmeans, apriori or the forecasting "
							"functions holds, with their work arrays; a call that needs more fails.",
							&megamarket_mining_max_memory,
							1024 * 1024,
							64,
							MAX_KILOBYTES,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

size_t
MiningMemoryLimit(void)
{
	return (size_t) megamarket_mining_max_memory * 1024;
}

/* MiningEnv callbacks: ctx is the memory context current at MiningEnvInit */
static void *
env_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void *
env_realloc(void *ctx, void *ptr, size_t size)
{
	return mm_repalloc_huge_no_oom(ptr, size);
}

static void
env_free(void *ctx, void *ptr)
{
	pfree(ptr);
}

/* a cancel or termination is pending: CHECK_FOR_INTERRUPTS will raise it */
static bool
env_interrupted(void *ctx)
{
	return QueryCancelPending || ProcDiePending;
}

void
MiningEnvInit(MiningEnv *env, size_t max_bytes)
{
	memset(env, 0, sizeof(*env));
	env->alloc = env_alloc;
	env->realloc = env_realloc;
	env->free = env_free;
	env->interrupted = env_interrupted;
	env->ctx = CurrentMemoryContext;
	env->max_bytes = max_bytes;
	env->used_bytes = 0;
}

/*
 * MiningReportError
 *		The one place a MiningErrorCode becomes a SQLSTATE.
 */
void
MiningReportError(const char *fn, const MiningError *err)
{
	int			sqlstate;
	size_t		fnlen = strlen(fn);
	const char *msg;
	const char *hint = err->hint[0] ? err->hint : NULL;

	switch (err->code)
	{
		case MINING_ERR_CANCELED:
			/* the real error: 57014 with the reason (user request, timeout) */
			CHECK_FOR_INTERRUPTS();
			sqlstate = ERRCODE_QUERY_CANCELED;
			break;
		case MINING_ERR_ARGUMENT:
			sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case MINING_ERR_DATA:
		case MINING_ERR_NO_CONVERGENCE:
			sqlstate = ERRCODE_DATA_EXCEPTION;
			break;
		case MINING_ERR_LIMIT:
			sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			if (hint == NULL && strstr(err->message, "memory limit") != NULL)
				hint = psprintf("Raise megamarket.mining_max_memory (now %d kB) or pass fewer rows.",
								megamarket_mining_max_memory);
			break;
		case MINING_ERR_NOMEM:
			sqlstate = ERRCODE_OUT_OF_MEMORY;
			break;
		case MINING_OK:
		case MINING_ERR_INTERNAL:
		default:
			sqlstate = ERRCODE_INTERNAL_ERROR;
			break;
	}

	/* "kmeans: k must be at least 1", unless the message starts with "kmeans " */
	if (strncmp(err->message, fn, fnlen) == 0 &&
		(err->message[fnlen] == ' ' || err->message[fnlen] == ':'))
		msg = err->message;
	else
		msg = psprintf("%s: %s", fn, err->message[0] ? err->message : "unknown error");

	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", msg),
			 err->detail[0] ? errdetail_internal("%s", err->detail) : 0,
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

/* -------------------------------------------------------------------------
 * Reading the caller's query
 * -------------------------------------------------------------------------
 */

static bool
is_number_type(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return true;
		default:
			return false;
	}
}

/* the kind column col (0-based) has, as far as the mining functions care */
static bool
column_is(MiningQuery *q, int col, MiningColumnKind kind)
{
	Oid			type = q->types[col];

	switch (kind)
	{
		case MINING_COL_FLOAT8:
			return is_number_type(type);
		case MINING_COL_FLOAT8_ARRAY:
			return is_number_type(get_element_type(type));
		case MINING_COL_TEXT:
		case MINING_COL_ANY:
			return true;
	}
	return false;
}

bool
MiningQueryColumnIsArray(MiningQuery *q, int col)
{
	return col >= 0 && col < q->natts && column_is(q, col, MINING_COL_FLOAT8_ARRAY);
}

/*
 * Report column col (0-based) as not of kind; repeated says the kind applies
 * to every column from the one before first_repeated on, for the message.
 */
static void
report_column(MiningQuery *q, int col, MiningColumnKind kind, int first_repeated)
{
	Form_pg_attribute att = TupleDescAttr(q->tupdesc, col);
	char	   *msg;

	if (kind == MINING_COL_FLOAT8 && first_repeated >= 0 && col >= first_repeated)
		msg = first_repeated == 0
			? psprintf("%s query must return only numeric columns", q->fn)
			: psprintf("%s query must return only numeric columns after column %d",
					   q->fn, first_repeated);
	else if (kind == MINING_COL_FLOAT8)
		msg = psprintf("%s query column %d must be numeric", q->fn, col + 1);
	else
		msg = psprintf("%s query column %d must be an array of numbers", q->fn, col + 1);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", msg),
			 errdetail("Column %d (\"%s\") has type %s.", col + 1,
					   NameStr(att->attname), format_type_be(att->atttypid)),
			 kind == MINING_COL_FLOAT8
			 ? errhint("Cast it to double precision, or leave it out of the query.")
			 : errhint("Build the array with ARRAY[...]::float8[], or return the features as numeric columns.")));
}

void
MiningQueryCheckColumn(MiningQuery *q, int col, MiningColumnKind kind)
{
	if (col < 0 || col >= q->natts)
		elog(ERROR, "column %d out of range", col + 1);
	if (!column_is(q, col, kind))
		report_column(q, col, kind, -1);
}

void
MiningQueryCheckColumnsFrom(MiningQuery *q, int col, MiningColumnKind kind)
{
	for (int i = col; i < q->natts; i++)
		if (!column_is(q, i, kind))
			report_column(q, i, kind, col);
}

/* refuse a query that writes: INSERT/UPDATE/DELETE ... RETURNING, WITH ... DELETE, FOR UPDATE */
static void
foreach_plan_query(SPIPlanPtr plan, const char *fn)
{
	ListCell   *lc;

	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *ps = (CachedPlanSource *) lfirst(lc);
		ListCell   *lq;

		foreach(lq, ps->query_list)
		{
			Query	   *query = lfirst_node(Query, lq);
			const char *why = NULL;

			if (query->commandType != CMD_SELECT)
				why = psprintf("It is %s statement.",
							   query->commandType == CMD_INSERT ? "an INSERT" :
							   query->commandType == CMD_UPDATE ? "an UPDATE" :
							   query->commandType == CMD_DELETE ? "a DELETE" : "a writing");
			else if (query->hasModifyingCTE)
				why = "It has a data-modifying WITH clause.";
			else if (query->rowMarks != NIL)
				why = "It locks rows (FOR UPDATE or FOR SHARE).";
			if (why)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s query must only read", fn),
						 errdetail_internal("%s", why),
						 errhint("Pass a SELECT, VALUES or TABLE statement.")));
		}
	}
}

/*
 * MiningQueryOpen
 *		SPI_connect, plan the query for reading it whole (no fast-start plan),
 *		open it as a read-only cursor (a data-modifying statement is refused by
 *		SPI), and check its shape.
 */
MiningQuery *
MiningQueryOpen(const char *fn, const char *query, int min_cols, int max_cols,
				const MiningColumnKind *kinds, int nkinds)
{
	MiningQuery *q = palloc0(sizeof(MiningQuery));
	SPIPlanPtr	plan;
	int			rc;

	q->fn = fn;
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));

	plan = SPI_prepare_cursor(query, 0, NULL, CURSOR_OPT_NO_SCROLL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s query must be a single statement that returns rows", fn),
				 errhint("Pass a SELECT, VALUES or TABLE statement.")));
	/*
	 * Read only, said in our words (SPI would refuse a write too, as "DELETE
	 * is not allowed in a non-volatile function"). Locking clauses write
	 * row locks: refused as well.
	 */
	foreach_plan_query(plan, fn);
	q->portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	q->tupdesc = q->portal->tupDesc;
	q->natts = q->tupdesc->natts;

	q->types = palloc(sizeof(Oid) * Max(q->natts, 1));
	for (int i = 0; i < q->natts; i++)
		q->types[i] = getBaseType(TupleDescAttr(q->tupdesc, i)->atttypid);

	if (q->natts < min_cols || (max_cols >= 0 && q->natts > max_cols))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 max_cols < 0
				 ? errmsg_plural("%s query must return at least %d column",
								 "%s query must return at least %d columns",
								 min_cols, fn, min_cols)
				 : min_cols == max_cols
				 ? errmsg_plural("%s query must return %d column",
								 "%s query must return %d columns",
								 min_cols, fn, min_cols)
				 : errmsg("%s query must return %d to %d columns", fn, min_cols, max_cols),
				 errdetail_plural("It returns %d column.", "It returns %d columns.",
								  q->natts, q->natts)));

	for (int i = 0; i < q->natts && nkinds > 0; i++)
	{
		MiningColumnKind kind = kinds[Min(i, nkinds - 1)];

		if (!column_is(q, i, kind))
			report_column(q, i, kind, nkinds - 1);
	}

	q->values = palloc(sizeof(Datum) * Max(q->natts, 1));
	q->nulls = palloc(sizeof(bool) * Max(q->natts, 1));
	q->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "mining query row",
									   ALLOCSET_DEFAULT_SIZES);
	q->reading_col = -1;
	return q;
}

HeapTuple
MiningQueryNext(MiningQuery *q)
{
	HeapTuple	tuple;

	CHECK_FOR_INTERRUPTS();
	MemoryContextReset(q->row_cxt);
	if (q->batch == NULL || q->batch_pos >= q->batch_rows)
	{
		if (q->batch != NULL)
		{
			SPI_freetuptable(q->batch);
			q->batch = NULL;
		}
		SPI_cursor_fetch(q->portal, true, MINING_QUERY_BATCH);
		q->batch = SPI_tuptable;
		q->batch_rows = SPI_processed;
		q->batch_pos = 0;
		if (q->batch_rows == 0)
			return NULL;
	}
	tuple = q->batch->vals[q->batch_pos++];
	heap_deform_tuple(tuple, q->tupdesc, q->values, q->nulls);
	q->rows_read++;
	return tuple;
}

/* error context while converting a value: which row and column */
static void
reading_context(void *arg)
{
	MiningQuery *q = (MiningQuery *) arg;

	if (q->reading_col >= 0)
		errcontext("%s query, row %llu, column %d (\"%s\")", q->fn,
				   (unsigned long long) q->rows_read, q->reading_col + 1,
				   NameStr(TupleDescAttr(q->tupdesc, q->reading_col)->attname));
}

/* one number of type type (a number type) as float8 */
static double
number_float8(MiningQuery *q, Datum d, Oid type, int col)
{
	switch (type)
	{
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case NUMERICOID:
			{
				/* may fail (1e400 is out of range for float8): say where */
				ErrorContextCallback cb;
				double		v;

				cb.callback = reading_context;
				cb.arg = q;
				cb.previous = error_context_stack;
				error_context_stack = &cb;
				q->reading_col = col;
				v = DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
				q->reading_col = -1;
				error_context_stack = cb.previous;
				return v;
			}
		default:
			elog(ERROR, "type %u is not a number type", type);
	}
	return 0;					/* keep the compiler quiet */
}

double
MiningQueryFloat8(MiningQuery *q, HeapTuple tuple, int col, bool *isnull)
{
	Assert(col >= 0 && col < q->natts);
	*isnull = q->nulls[col];
	if (*isnull)
		return 0;
	return number_float8(q, q->values[col], q->types[col], col);
}

char *
MiningQueryText(MiningQuery *q, HeapTuple tuple, int col, bool *isnull)
{
	Oid			outfunc;
	bool		varlena;
	MemoryContext old;
	ErrorContextCallback cb;
	char	   *s;

	Assert(col >= 0 && col < q->natts);
	*isnull = q->nulls[col];
	if (*isnull)
		return NULL;
	getTypeOutputInfo(TupleDescAttr(q->tupdesc, col)->atttypid, &outfunc, &varlena);
	cb.callback = reading_context;
	cb.arg = q;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	q->reading_col = col;
	old = MemoryContextSwitchTo(q->row_cxt);
	s = OidOutputFunctionCall(outfunc, q->values[col]);
	MemoryContextSwitchTo(old);
	q->reading_col = -1;
	error_context_stack = cb.previous;
	return s;
}

int
MiningQueryFloat8Array(MiningQuery *q, HeapTuple tuple, int col,
					   double *out, int maxlen, bool *isnull)
{
	MemoryContext old;
	ArrayType  *a;
	int			n;
	Oid			elem;

	Assert(col >= 0 && col < q->natts);
	*isnull = q->nulls[col];
	if (*isnull)
		return 0;
	old = MemoryContextSwitchTo(q->row_cxt);
	a = DatumGetArrayTypeP(q->values[col]);
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	elem = ARR_ELEMTYPE(a);
	if (array_contains_nulls(a))
		n = -1;
	else if (elem == FLOAT8OID)
	{
		/* ARR_DATA_PTR, spelt out: the macro trips -Wsign-compare */
		size_t		off = a->dataoffset != 0 ? (size_t) a->dataoffset
			: (size_t) ARR_OVERHEAD_NONULLS(ARR_NDIM(a));

		memcpy(out, (char *) a + off, sizeof(double) * Min(n, maxlen));
	}
	else
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum	   *elems;
		int			nelems;

		get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
		deconstruct_array(a, elem, typlen, typbyval, typalign, &elems, NULL, &nelems);
		for (int i = 0; i < nelems && i < maxlen; i++)
			out[i] = number_float8(q, elems[i], elem, col);
	}
	MemoryContextSwitchTo(old);
	return n;
}

void
MiningQueryClose(MiningQuery *q)
{
	if (q->batch != NULL)
		SPI_freetuptable(q->batch);
	q->batch = NULL;
	SPI_cursor_close(q->portal);
	q->portal = NULL;
	/* deletes row_cxt, values, nulls, types with SPI's procedure context */
	SPI_finish();
}

/* -------------------------------------------------------------------------
 * Time series queries (arima_fit, arima_forecast, nnar_forecast)
 * -------------------------------------------------------------------------
 */

#define MAX_EXPANDED	10000000	/* series length once gaps are filled */

static int
cmp_series_rows(const void *a, const void *b)
{
	const MiningSeriesRow *x = a,
			   *y = b;

	if (x->series != y->series)
	{
		int			c;

		if (x->series == NULL)
			return 1;
		if (y->series == NULL)
			return -1;
		c = strcmp(x->series, y->series);
		if (c != 0)
			return c;
	}
	return x->t < y->t ? -1 : (x->t > y->t ? 1 : 0);
}

/* t must be an integer, a date or a timestamp */
static void
check_t_type(MiningQuery *q, int col, const char *fn)
{
	Oid			typ = q->types[col];

	switch (typ)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s query column %d (\"%s\") must be an integer, a date or a timestamp",
							fn, col + 1, NameStr(TupleDescAttr(q->tupdesc, col)->attname)),
					 errdetail("It has type %s.", format_type_be(typ)),
					 errhint("Return (t, y) or (series, t, y) with t the time of each observation.")));
	}
}

static int64
t_value(Datum d, Oid typ)
{
	switch (typ)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT8OID:
			return DatumGetInt64(d);
		case DATEOID:
			return DatumGetDateADT(d);
		default:
			return DatumGetTimestamp(d);
	}
}

static bool
t_infinite(int64 v, Oid typ)
{
	if (typ == DATEOID)
		return DATE_NOT_FINITE((DateADT) v);
	if (typ == TIMESTAMPOID || typ == TIMESTAMPTZOID)
		return TIMESTAMP_NOT_FINITE((Timestamp) v);
	return false;
}

/*
 * MiningSeriesRead
 *		Read a (t, y) or (series, t, y) query whole, sorted by (series, t).
 */
MiningSeriesSet *
MiningSeriesRead(const char *fn, text *query)
{
	static const MiningColumnKind kinds[] = {MINING_COL_ANY};
	MiningSeriesSet *set = palloc0(sizeof(MiningSeriesSet));
	MemoryContext old;
	MiningEnv	env;
	MiningError err;
	MiningQuery *q;
	HeapTuple	tuple;
	size_t		cap = 0;
	int			tcol,
				ycol;
	const char *last_series = NULL;

	set->fn = fn;
	if (query == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s query must not be NULL", fn)));
	set->cxt = AllocSetContextCreate(CurrentMemoryContext, "mining series rows",
									 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(set->cxt);
	MiningEnvInit(&env, MiningMemoryLimit());
	MemoryContextSwitchTo(old);

	q = MiningQueryOpen(fn, text_to_cstring(query), 2, 3, kinds, 1);
	set->multi = q->natts == 3;
	tcol = set->multi ? 1 : 0;
	ycol = tcol + 1;
	MiningQueryCheckColumn(q, ycol, MINING_COL_FLOAT8);
	check_t_type(q, tcol, fn);
	set->ttyp = q->types[tcol];

	while ((tuple = MiningQueryNext(q)) != NULL)
	{
		MiningSeriesRow *r;
		bool		isnull;

		if (set->nrows == cap)
		{
			size_t		ncap = cap == 0 ? 4096 : cap * 2;

			set->rows = MiningRealloc(&env, set->rows, cap, ncap, sizeof(MiningSeriesRow),
									  "the query's rows", &err);
			if (set->rows == NULL)
				MiningReportError(fn, &err);
			cap = ncap;
		}
		r = &set->rows[set->nrows++];
		r->rowno = q->rows_read;
		r->series = NULL;
		if (set->multi)
		{
			char	   *sv = MiningQueryText(q, tuple, 0, &isnull);

			if (!isnull)
			{
				if (last_series == NULL || strcmp(last_series, sv) != 0)
					last_series = MemoryContextStrdup(set->cxt, sv);
				r->series = last_series;
			}
		}
		r->tnull = q->nulls[tcol];
		r->t = r->tnull ? 0 : t_value(q->values[tcol], set->ttyp);
		r->y = MiningQueryFloat8(q, tuple, ycol, &r->ynull);
	}
	MiningQueryClose(q);

	if (set->nrows == 0 && !set->multi)
	{
		MiningSetError(&err, MINING_ERR_DATA, "query returned no rows");
		MiningSetHint(&err, "The series to fit is what the query returns.");
		MiningReportError(fn, &err);
	}
	if (set->nrows > 0)
		qsort(set->rows, set->nrows, sizeof(MiningSeriesRow), cmp_series_rows);
	return set;
}

bool
MiningSeriesNext(const MiningSeriesSet *set, size_t *start, size_t *end)
{
	const MiningSeriesRow *rows = set->rows;
	size_t		i;

	*start = *end;
	if (*start >= set->nrows)
		return false;
	for (i = *start + 1; i < set->nrows; i++)
		if (rows[i].series != rows[*start].series &&
			(rows[i].series == NULL || rows[*start].series == NULL ||
			 strcmp(rows[i].series, rows[*start].series) != 0))
			break;
	*end = i;
	return true;
}

static int64
gcd64(int64 a, int64 b)
{
	while (b != 0)
	{
		int64		r = a % b;

		a = b;
		b = r;
	}
	return a;
}

/*
 * MiningSeriesBuild
 *		The series of rows [start, end) (sorted by t), gaps as NaN.
 */
bool
MiningSeriesBuild(MiningEnv *env, const MiningSeriesSet *set, size_t start, size_t end,
				  MiningSeries *s, MiningError *err)
{
	const MiningSeriesRow *rows = set->rows + start;
	size_t		nrows = end - start;
	Oid			typ = set->ttyp;
	size_t		i;
	int64		step = 0;
	bool		months = false;
	int64	   *tv;

	memset(s, 0, sizeof(*s));
	s->name = nrows > 0 ? rows[0].series : NULL;
	for (i = 0; i < nrows; i++)
	{
		if (rows[i].tnull)
			return MiningSetError(err, MINING_ERR_DATA, "t is NULL in row %llu",
								  (unsigned long long) rows[i].rowno);
		if (t_infinite(rows[i].t, typ))
			return MiningSetError(err, MINING_ERR_DATA, "t is infinite in row %llu",
								  (unsigned long long) rows[i].rowno);
		if (rows[i].ynull)
		{
			MiningSetError(err, MINING_ERR_DATA, "y is NULL in row %llu", (unsigned long long) rows[i].rowno);
			MiningSetHint(err, "Leave the row out: a missing time step is a missing value to the model.");
			return false;
		}
		if (isinf(rows[i].y))
			return MiningSetError(err, MINING_ERR_DATA, "y is infinite in row %llu",
								  (unsigned long long) rows[i].rowno);
		if (i > 0 && rows[i].t == rows[i - 1].t)
		{
			MiningSetError(err, MINING_ERR_DATA, "t is repeated in rows %llu and %llu",
						   (unsigned long long) rows[i - 1].rowno, (unsigned long long) rows[i].rowno);
			MiningSetHint(err, "Aggregate to one row per series and t (GROUP BY).");
			return false;
		}
	}
	tv = MiningAlloc(env, nrows, sizeof(int64), false, "the time index", err);
	if (tv == NULL)
		return false;
	for (i = 0; i < nrows; i++)
		tv[i] = rows[i].t;

	/* dates on one day of the month, at least 28 days apart: months */
	if (typ == DATEOID && nrows >= 2)
	{
		int			y,
					m,
					d,
					day0 = 0;
		bool		same = true;
		int64		mind = PG_INT64_MAX;

		for (i = 0; i < nrows && same; i++)
		{
			j2date((int) tv[i] + POSTGRES_EPOCH_JDATE, &y, &m, &d);
			if (i == 0)
				day0 = d;
			else if (d != day0)
				same = false;
			if (i > 0 && tv[i] - tv[i - 1] < mind)
				mind = tv[i] - tv[i - 1];
		}
		if (same && mind >= 28)
		{
			months = true;
			s->day = day0;
			for (i = 0; i < nrows; i++)
			{
				j2date((int) tv[i] + POSTGRES_EPOCH_JDATE, &y, &m, &d);
				tv[i] = (int64) y * 12 + m - 1;
			}
		}
	}
	for (i = 1; i < nrows; i++)
	{
		int64		diff;

		if (pg_sub_s64_overflow(tv[i], tv[i - 1], &diff))
			return MiningSetError(err, MINING_ERR_DATA, "t values are too far apart");
		step = gcd64(diff, step);
	}
	if (step <= 0)
		step = 1;
	{
		int64		span = (tv[nrows - 1] - tv[0]) / step + 1;

		if (span > MAX_EXPANDED || (uint64) span > 10 * (uint64) nrows + 1000)
		{
			MiningSetError(err, MINING_ERR_DATA, "t has too many gaps: %zu observations spread over %lld steps",
						   nrows, (long long) span);
			MiningSetDetail(err, "The step between observations is the greatest common divisor of the differences of t; missing steps count as missing values, and at most 10 of them per observation are allowed.");
			MiningSetHint(err, "Check that t is the time of the observation and that the series is regular.");
			return false;
		}
		s->n = (size_t) span;
	}
	s->y = MiningAlloc(env, s->n, sizeof(double), false, "the series", err);
	if (s->y == NULL)
		return false;
	for (i = 0; i < s->n; i++)
		s->y[i] = NAN;
	for (i = 0; i < nrows; i++)
		s->y[(tv[i] - tv[0]) / step] = rows[i].y;
	s->t0 = tv[0];
	s->step = step;
	s->months = months;
	MiningFree(env, tv, nrows, sizeof(int64));
	return true;
}

bool
MiningSeriesFailIsFatal(const MiningSeriesSet *set, const MiningError *err)
{
	return !set->multi || err->code == MINING_ERR_CANCELED ||
		err->code == MINING_ERR_NOMEM || err->code == MINING_ERR_INTERNAL;
}

/* the rows of one forecast series (mining_pg.h) */
void
MiningForecastEmit(ReturnSetInfo *rsinfo, const char *series, const MiningSeries *s,
				   Oid ttyp, int horizon, const double *mean, const double *const bands[4],
				   const char *model, const MiningError *failed)
{
	Datum		values[10];
	bool		nulls[10];

	memset(nulls, 0, sizeof(nulls));
	nulls[0] = series == NULL;
	values[0] = series ? CStringGetTextDatum(series) : (Datum) 0;
	if (failed)
	{
		for (int i = 1; i < 9; i++)
			nulls[i] = true;
		values[9] = CStringGetTextDatum(MiningErrorText(failed));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		return;
	}
	nulls[9] = true;
	for (int j = 0; j < 4; j++)
		nulls[4 + j] = bands == NULL;
	values[8] = CStringGetTextDatum(model);
	for (int i = 0; i < horizon; i++)
	{
		char	   *tt = MiningSeriesTText(s, (int64) (s->n - 1) + i + 1, ttyp);

		values[1] = Int32GetDatum(i + 1);
		nulls[2] = tt == NULL;
		values[2] = tt ? CStringGetTextDatum(tt) : (Datum) 0;
		values[3] = Float8GetDatum(mean[i]);
		if (bands)
			for (int j = 0; j < 4; j++)
				values[4 + j] = Float8GetDatum(bands[j][i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((i & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}
}

/* the text of t_k = t0 + k * step, in the query's type; NULL when out of range */
char *
MiningSeriesTText(const MiningSeries *s, int64 k, Oid typ)
{
	Oid			out;
	bool		isvarlena;
	Datum		d;
	int64		v;

	if (pg_mul_s64_overflow(k, s->step, &v) || pg_add_s64_overflow(s->t0, v, &v))
		return NULL;
	getTypeOutputInfo(typ, &out, &isvarlena);
	switch (typ)
	{
		case INT2OID:
			if (v < PG_INT16_MIN || v > PG_INT16_MAX)
				return NULL;
			d = Int16GetDatum((int16) v);
			break;
		case INT4OID:
			if (v < PG_INT32_MIN || v > PG_INT32_MAX)
				return NULL;
			d = Int32GetDatum((int32) v);
			break;
		case INT8OID:
			d = Int64GetDatum(v);
			break;
		case DATEOID:
			if (s->months)
			{
				/* v is a month index: year * 12 + month - 1 */
				int			year = (int) (v / 12),
							month = (int) (v % 12) + 1,
							day = s->day;
				int			mdays = day_tab[isleap(year)][month - 1];

				if (v < 0 || year > 5000000)
					return NULL;
				if (day > mdays)
					day = mdays;
				v = date2j(year, month, day) - POSTGRES_EPOCH_JDATE;
			}
			if (!IS_VALID_DATE(v))
				return NULL;
			d = DateADTGetDatum((DateADT) v);
			break;
		default:
			if (!IS_VALID_TIMESTAMP(v))
				return NULL;
			d = TimestampGetDatum((Timestamp) v);
			break;
	}
	return OidOutputFunctionCall(out, d);
}

int
MiningSeriesPeriod(const MiningSeries *s, Oid typ)
{
	if (typ == DATEOID && s->months)
		return s->step == 1 ? 12 : (s->step == 3 ? 4 : 1);
	if (typ == DATEOID && s->step == 1)
		return 7;
	if ((typ == TIMESTAMPOID || typ == TIMESTAMPTZOID) && s->step == USECS_PER_DAY)
		return 7;
	if ((typ == TIMESTAMPOID || typ == TIMESTAMPTZOID) && s->step == USECS_PER_HOUR)
		return 24;
	return 1;
}

char *
MiningErrorText(const MiningError *err)
{
	if (err->detail[0] != '\0')
		return psprintf("%s: %s", err->message, err->detail);
	return pstrdup(err->message);
}

void
MiningSeriesSetFree(MiningSeriesSet *set)
{
	MemoryContextDelete(set->cxt);
	pfree(set);
}
