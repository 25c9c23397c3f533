/*
 * apriori_pg.c
 *		megamarket.apriori(query, ...) and megamarket.frequent_itemsets(query,
 *		...): read the caller's (transaction, item) rows through the shared
 *		query reader, hand them to the core (apriori.c), return the rules or
 *		the itemsets in materialize mode.
 *
 * Values are compared as text: the item column's text is what the core
 * interns and sorts. Two shortcuts give the same text as the output
 * functions, faster: integer columns are formatted with pg_lltoa (what
 * int2out/int4out/int8out do), and text / varchar columns are read in place.
 * A transaction key of an integer type is compared by its 8-byte value,
 * which equals comparing its text; big-endian, so that keys read in
 * ascending order are seen to be (the core then skips looking them up).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "mining/apriori.h"
#include "mining/mining_pg.h"

PG_FUNCTION_INFO_V1(mining_apriori);
PG_FUNCTION_INFO_V1(mining_frequent_itemsets);

/* How one column's values become the bytes the core compares */
typedef enum ColumnWay
{
	WAY_INT,					/* int2/int4/int8: pg_lltoa, or the int64 */
	WAY_TEXT,					/* text, varchar: the bytes in place */
	WAY_OUTPUT					/* anything else: the output function */
} ColumnWay;

typedef struct ColumnReader
{
	ColumnWay	way;
	Oid			type;			/* base type */
	FmgrInfo	out;			/* for WAY_OUTPUT */
	char		buf[24];		/* an integer's text or value */
} ColumnReader;

static void
column_reader_init(ColumnReader *r, MiningQuery *q, int col)
{
	r->type = q->types[col];
	switch (r->type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			r->way = WAY_INT;
			break;
		case TEXTOID:
		case VARCHAROID:
			r->way = WAY_TEXT;
			break;
		default:
			{
				Oid			outfunc;
				bool		varlena;

				r->way = WAY_OUTPUT;
				getTypeOutputInfo(TupleDescAttr(q->tupdesc, col)->atttypid, &outfunc, &varlena);
				fmgr_info(outfunc, &r->out);
			}
	}
}

static int64
int_value(Oid type, Datum d)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/*
 * The bytes of a value: as text (as_key false), or as a key that compares
 * like its text (as_key true: integers by value). Allocations go into the
 * reader's per-row context, reset by MiningQueryNext.
 */
static const char *
column_bytes(ColumnReader *r, MiningQuery *q, Datum d, bool as_key, size_t *len)
{
	switch (r->way)
	{
		case WAY_INT:
			{
				int64		v = int_value(r->type, d);

				if (as_key)
				{
					/* big-endian, sign flipped: bytewise order is numeric order */
					uint64		u = (uint64) v ^ (UINT64CONST(1) << 63);
					int			i;

					for (i = 7; i >= 0; i--)
					{
						r->buf[i] = (char) (u & 0xFF);
						u >>= 8;
					}
					*len = 8;
				}
				else
					*len = (size_t) pg_lltoa(v, r->buf);
				return r->buf;
			}
		case WAY_TEXT:
			{
				struct varlena *t = (struct varlena *) DatumGetPointer(d);

				if (VARATT_IS_EXTENDED(t))
				{
					MemoryContext old = MemoryContextSwitchTo(q->row_cxt);

					t = pg_detoast_datum_packed(t);
					MemoryContextSwitchTo(old);
				}
				*len = VARSIZE_ANY_EXHDR(t);
				return VARDATA_ANY(t);
			}
		case WAY_OUTPUT:
		default:
			{
				MemoryContext old = MemoryContextSwitchTo(q->row_cxt);
				char	   *s = OutputFunctionCall(&r->out, d);

				MemoryContextSwitchTo(old);
				*len = strlen(s);
				return s;
			}
	}
}

/*
 * The arguments every call checks, the run made, the query read into it
 * (and closed) and the itemsets mined. The core's memory is in a context of
 * its own under the caller's, charged to megamarket.mining_max_memory.
 */
static Apriori *
read_and_mine(const char *fn, text *query, const AprioriOptions *opt, MiningEnv *env)
{
	static const MiningColumnKind kinds[2] = {MINING_COL_ANY, MINING_COL_ANY};
	MiningError err;
	Apriori    *a;
	MiningQuery *q;
	ColumnReader tidr,
				itemr;
	HeapTuple	tuple;

	a = AprioriCreate(env, opt, &err);
	if (a == NULL)
		MiningReportError(fn, &err);

	q = MiningQueryOpen(fn, text_to_cstring(query), 2, 2, kinds, 2);
	column_reader_init(&tidr, q, 0);
	column_reader_init(&itemr, q, 1);
	while ((tuple = MiningQueryNext(q)) != NULL)
	{
		const char *tid,
				   *item = NULL;
		size_t		tidlen,
					itemlen = 0;

		if (q->nulls[0])
		{
			MiningSetError(&err, MINING_ERR_DATA, "%s query returned a NULL transaction", fn);
			MiningSetDetail(&err, "Row %llu has NULL in column 1 (\"%s\").",
							(unsigned long long) q->rows_read,
							NameStr(TupleDescAttr(q->tupdesc, 0)->attname));
			MiningSetHint(&err, "Leave such rows out (WHERE ... IS NOT NULL): a transaction needs a key.");
			MiningReportError(fn, &err);
		}
		tid = column_bytes(&tidr, q, q->values[0], true, &tidlen);
		if (!q->nulls[1])
			item = column_bytes(&itemr, q, q->values[1], false, &itemlen);
		if (!AprioriAdd(a, tid, tidlen, item, itemlen, &err))
			MiningReportError(fn, &err);
	}
	MiningQueryClose(q);

	if (!AprioriMine(a, &err))
		MiningReportError(fn, &err);
	return a;
}

/* A text[] of n items */
static Datum
items_array(const char **items, const size_t *lens, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = PointerGetDatum(cstring_to_text_with_len(items[i], (int) lens[i]));
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static void
options_from_args(FunctionCallInfo fcinfo, AprioriOptions *opt, bool rules)
{
	int64		max_itemsets;

	memset(opt, 0, sizeof(*opt));
	opt->min_support = PG_GETARG_FLOAT8(1);
	if (rules)
	{
		opt->min_confidence = PG_GETARG_FLOAT8(2);
		opt->max_length = PG_GETARG_INT32(3);
		opt->min_lift = PG_GETARG_FLOAT8(4);
		max_itemsets = PG_GETARG_INT64(5);
	}
	else
	{
		opt->min_confidence = 0;
		opt->max_length = PG_GETARG_INT32(2);
		opt->min_lift = 0;
		max_itemsets = PG_GETARG_INT64(3);
	}
	/* a negative limit reaches the core as 0, which it refuses */
	opt->max_itemsets = max_itemsets < 1 ? 0 : (uint64_t) max_itemsets;
}

/*
 * mining_apriori
 *		apriori(query text, min_support float8, min_confidence float8,
 *				max_length int, min_lift float8, max_itemsets bigint)
 *		RETURNS TABLE(antecedent text[], consequent text[], support float8,
 *					  confidence float8, lift float8, transactions bigint)
 */
Datum
mining_apriori(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AprioriOptions opt;
	MemoryContext cxt,
				old,
				rowcxt;
	MiningEnv	env;
	MiningError err;
	Apriori    *a;
	const char **ante,
			  **cons;
	size_t	   *antelens,
			   *conslens;
	size_t		i,
				nrules;

	options_from_args(fcinfo, &opt, true);
	InitMaterializedSRF(fcinfo, 0);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "apriori", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	MiningEnvInit(&env, MiningMemoryLimit());
	a = read_and_mine("apriori", PG_GETARG_TEXT_PP(0), &opt, &env);
	if (!AprioriMakeRules(a, &err))
		MiningReportError("apriori", &err);

	ante = palloc(sizeof(char *) * 64);
	cons = palloc(sizeof(char *) * 64);
	antelens = palloc(sizeof(size_t) * 64);
	conslens = palloc(sizeof(size_t) * 64);
	rowcxt = AllocSetContextCreate(cxt, "apriori row", ALLOCSET_DEFAULT_SIZES);
	nrules = AprioriRuleCount(a);
	for (i = 0; i < nrules; i++)
	{
		AprioriRuleOut r;
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		if (i % 4096 == 0)
			CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(rowcxt);
		AprioriRule(a, i, &r, ante, antelens, cons, conslens);
		values[0] = items_array(ante, antelens, r.nante);
		values[1] = items_array(cons, conslens, r.ncons);
		values[2] = Float8GetDatum(r.support);
		values[3] = Float8GetDatum(r.confidence);
		values[4] = Float8GetDatum(r.lift);
		values[5] = Int64GetDatum((int64) r.count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(rowcxt);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/*
 * mining_frequent_itemsets
 *		frequent_itemsets(query text, min_support float8, max_length int,
 *						  max_itemsets bigint)
 *		RETURNS TABLE(itemset text[], support float8, transactions bigint)
 */
Datum
mining_frequent_itemsets(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AprioriOptions opt;
	MemoryContext cxt,
				old,
				rowcxt;
	MiningEnv	env;
	Apriori    *a;
	const char **items;
	size_t	   *lens;
	size_t		i,
				nsets;
	double		n;

	options_from_args(fcinfo, &opt, false);
	InitMaterializedSRF(fcinfo, 0);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "frequent_itemsets", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	MiningEnvInit(&env, MiningMemoryLimit());
	a = read_and_mine("frequent_itemsets", PG_GETARG_TEXT_PP(0), &opt, &env);

	items = palloc(sizeof(char *) * 64);
	lens = palloc(sizeof(size_t) * 64);
	rowcxt = AllocSetContextCreate(cxt, "frequent_itemsets row", ALLOCSET_DEFAULT_SIZES);
	nsets = AprioriItemsetCount(a);
	n = (double) AprioriTransactions(a);
	for (i = 0; i < nsets; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		uint64_t	count;
		int			len;

		if (i % 4096 == 0)
			CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(rowcxt);
		len = AprioriItemset(a, i, items, lens, &count);
		values[0] = items_array(items, lens, len);
		values[1] = Float8GetDatum((double) count / n);
		values[2] = Int64GetDatum((int64) count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(rowcxt);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
