/*
 * mining_pg.c
 *		The backend side every mining function shares (see mining_pg.h): the
 *		megamarket.mining_max_memory setting, a MiningEnv on palloc, the one
 *		mapping of MiningErrorCode to SQLSTATEs, and reading the caller's
 *		query through a read-only SPI cursor, in batches, with its shape
 *		checked before any work.
 */
#include "postgres.h"

#include <limits.h>
#include <string.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"

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
