/*
 * profile.c
 *		megamarket.mining_profile(query): per numeric column of a query, the
 *		counts, range, mean, standard deviation and exact median. What to look
 *		at before clustering (scales that differ by orders of magnitude call
 *		for kmeans(..., scale => true)); and the smallest user of the shared
 *		query reader, budget and cancellation, so it tests them on its own.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "mining/mining_pg.h"

/* per column: the numbers (not NULL, not NaN) in one growing block */
typedef struct ProfileColumn
{
	double	   *v;
	size_t		n;
	size_t		cap;
	int64		nulls;
	int64		nans;
	double		min;
	double		max;
	double		mean;			/* Welford's running mean and M2 */
	double		m2;
} ProfileColumn;

/*
 * The k-th smallest of v[0..n) (0-based), reordering v: quickselect with a
 * median-of-three pivot, checking for interrupts per partition pass. Returns
 * false when interrupted.
 */
static bool
select_kth(MiningEnv *env, double *v, size_t n, size_t k, double *out)
{
	size_t		lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		double		a = v[lo],
					b = v[mid],
					c = v[hi],
					pivot;
		size_t		i = lo,
					j = hi;

		if (MiningInterrupted(env))
			return false;
		pivot = (a < b) ? ((b < c) ? b : (a < c ? c : a)) : ((a < c) ? a : (b < c ? c : b));
		while (i <= j)
		{
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
			{
				double		t = v[i];

				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	*out = v[k];
	return true;
}

PG_FUNCTION_INFO_V1(mining_mining_profile);
Datum
mining_mining_profile(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	static const MiningColumnKind kinds[] = {MINING_COL_FLOAT8};
	MiningEnv	env;
	MiningError err;
	MiningQuery *q;
	ProfileColumn *cols;
	char	  **names;
	int			ncols;
	HeapTuple	tuple;

	InitMaterializedSRF(fcinfo, 0);
	MiningEnvInit(&env, MiningMemoryLimit());
	q = MiningQueryOpen("mining_profile", query, 1, -1, kinds, 1);
	ncols = q->natts;
	cols = MiningAlloc(&env, ncols, sizeof(ProfileColumn), true, "column summaries", &err);
	names = MiningAlloc(&env, ncols, sizeof(char *), true, "column names", &err);
	if (cols == NULL || names == NULL)
		MiningReportError("mining_profile", &err);
	for (int c = 0; c < ncols; c++)
	{
		MemoryContext old = MemoryContextSwitchTo(env.ctx);

		names[c] = pstrdup(NameStr(TupleDescAttr(q->tupdesc, c)->attname));
		MemoryContextSwitchTo(old);
	}

	while ((tuple = MiningQueryNext(q)) != NULL)
	{
		for (int c = 0; c < ncols; c++)
		{
			ProfileColumn *pc = &cols[c];
			bool		isnull;
			double		x = MiningQueryFloat8(q, tuple, c, &isnull);
			double		delta;

			if (isnull)
			{
				pc->nulls++;
				continue;
			}
			if (isnan(x))
			{
				pc->nans++;
				continue;
			}
			if (pc->n == pc->cap)
			{
				size_t		cap = pc->cap == 0 ? 1024 : pc->cap + pc->cap / 2;
				double	   *v = MiningRealloc(&env, pc->v, pc->cap, cap, sizeof(double),
											  "column values", &err);

				if (v == NULL)
					MiningReportError("mining_profile", &err);
				pc->v = v;
				pc->cap = cap;
			}
			pc->v[pc->n++] = x;
			if (pc->n == 1 || x < pc->min)
				pc->min = x;
			if (pc->n == 1 || x > pc->max)
				pc->max = x;
			delta = x - pc->mean;
			pc->mean += delta / (double) pc->n;
			pc->m2 += delta * (x - pc->mean);
		}
	}
	MiningQueryClose(q);

	for (int c = 0; c < ncols; c++)
	{
		ProfileColumn *pc = &cols[c];
		Datum		values[10];
		bool		nulls[10] = {false};
		bool		have = pc->n > 0;

		values[0] = Int32GetDatum(c + 1);
		values[1] = CStringGetTextDatum(names[c]);
		values[2] = Int64GetDatum((int64) pc->n);
		values[3] = Int64GetDatum(pc->nulls);
		values[4] = Int64GetDatum(pc->nans);
		values[5] = Float8GetDatum(pc->min);
		values[6] = Float8GetDatum(pc->max);
		values[7] = Float8GetDatum(pc->mean);
		nulls[5] = nulls[6] = nulls[7] = !have;
		if (pc->n >= 2)
			values[8] = Float8GetDatum(sqrt(pc->m2 / (double) (pc->n - 1)));
		else
			nulls[8] = true;
		if (have)
		{
			double		hi,
						lo;

			if (!select_kth(&env, pc->v, pc->n, pc->n / 2, &hi))
			{
				MiningSetError(&err, MINING_ERR_CANCELED, "canceled");
				MiningReportError("mining_profile", &err);
			}
			if (pc->n % 2 == 0)
			{
				/* the lower middle: the largest of the part left of n/2 */
				lo = pc->v[0];
				for (size_t i = 1; i < pc->n / 2; i++)
					if (pc->v[i] > lo)
						lo = pc->v[i];
				hi = (lo + hi) / 2;
			}
			values[9] = Float8GetDatum(hi);
		}
		else
			nulls[9] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
