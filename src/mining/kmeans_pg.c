/*
 * kmeans_pg.c
 *		The SQL side of k-means: megamarket.kmeans(query, k, ...) reads the
 *		caller's query into one contiguous block of float8 points and runs
 *		the core (kmeans.c); megamarket.kmeans_assign(point, centroids) gives
 *		a point's nearest centroid.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "mining/kmeans.h"
#include "mining/mining_pg.h"

/* the points read so far: n rows of dim doubles in one block */
typedef struct PointBlock
{
	double	   *v;
	size_t		n;
	size_t		cap;			/* rows */
	int			dim;
} PointBlock;

/* report a bad point naming its id (the query's first column) */
static void
point_error(MiningQuery *q, HeapTuple tuple, const char *what, const char *detail)
{
	bool		isnull;
	char	   *id = MiningQueryText(q, tuple, 0, &isnull);
	MiningError err;

	MiningSetError(&err, MINING_ERR_DATA, "point with id %s %s", isnull ? "NULL" : id, what);
	if (detail)
		MiningSetDetail(&err, "%s", detail);
	MiningSetHint(&err, "Filter such rows out in the query, or give them a value.");
	MiningReportError("kmeans", &err);
}

/* room for one more row: grow the block by half (palloc's realloc of a huge block moves pages) */
static double *
next_row(MiningEnv *env, PointBlock *pb)
{
	if (pb->n == pb->cap)
	{
		MiningError err;
		/* start with 64 kB worth of rows (at least one, at most 1024), then grow by half */
		size_t		first = 65536 / ((size_t) pb->dim * sizeof(double));
		size_t		cap = pb->cap > 0 ? pb->cap + pb->cap / 2 + 1
			: (first < 1 ? 1 : first > 1024 ? 1024 : first);
		double	   *v = MiningRealloc(env, pb->v, pb->cap * pb->dim, cap * pb->dim,
									  sizeof(double), "points", &err);

		if (v == NULL)
			MiningReportError("kmeans", &err);
		pb->v = v;
		pb->cap = cap;
	}
	return pb->v + pb->n * pb->dim;
}

/*
 * Read the query: (id, float8[]) or (id, f1, f2, ...), every feature a finite
 * number, every array as long as the first.
 */
static void
read_points(MiningEnv *env, const char *query, PointBlock *pb)
{
	static const MiningColumnKind kinds[] = {MINING_COL_ANY, MINING_COL_ANY};
	MiningQuery *q = MiningQueryOpen("kmeans", query, 2, -1, kinds, 2);
	bool		arrays = q->natts == 2 && MiningQueryColumnIsArray(q, 1);
	HeapTuple	tuple;

	if (!arrays)
		MiningQueryCheckColumnsFrom(q, 1, MINING_COL_FLOAT8);
	pb->dim = arrays ? 0 : q->natts - 1;

	while ((tuple = MiningQueryNext(q)) != NULL)
	{
		double	   *row;
		bool		isnull;

		if (arrays)
		{
			int			len;

			if (pb->dim == 0)
			{
				/* the first point sets the dimension */
				double		probe;

				len = MiningQueryFloat8Array(q, tuple, 1, &probe, 0, &isnull);
				if (isnull)
					point_error(q, tuple, "has a NULL feature array", NULL);
				if (len == 0)
					point_error(q, tuple, "has an empty feature array", NULL);
				if (len < 0)
					point_error(q, tuple, "has a NULL in its feature array", NULL);
				pb->dim = len;
			}
			row = next_row(env, pb);
			len = MiningQueryFloat8Array(q, tuple, 1, row, pb->dim, &isnull);
			if (isnull)
				point_error(q, tuple, "has a NULL feature array", NULL);
			if (len < 0)
				point_error(q, tuple, "has a NULL in its feature array", NULL);
			if (len != pb->dim)
				point_error(q, tuple, psprintf("has %d features where the first point has %d", len, pb->dim),
							"Every feature array must have the same length.");
		}
		else
		{
			row = next_row(env, pb);
			for (int j = 0; j < pb->dim; j++)
			{
				row[j] = MiningQueryFloat8(q, tuple, j + 1, &isnull);
				if (isnull)
					point_error(q, tuple,
								psprintf("has a NULL in column %d (\"%s\")", j + 2,
										 NameStr(TupleDescAttr(q->tupdesc, j + 1)->attname)),
								NULL);
			}
		}
		for (int j = 0; j < pb->dim; j++)
			if (!isfinite(row[j]))
				point_error(q, tuple, psprintf("has feature %d = %g, not a finite number", j + 1, row[j]),
							NULL);
		pb->n++;
	}
	MiningQueryClose(q);
}

/* CPU seconds of the backend, for the DEBUG1 figures (wall time includes other processes) */
static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* centroids in lexicographic order, so that cluster numbers do not depend on the seeding */
static const double *sort_centroids;
static int	sort_dim;

static int
centroid_cmp(const void *a, const void *b)
{
	const double *x = sort_centroids + (size_t) *(const int *) a * sort_dim;
	const double *y = sort_centroids + (size_t) *(const int *) b * sort_dim;

	for (int j = 0; j < sort_dim; j++)
		if (x[j] != y[j])
			return x[j] < y[j] ? -1 : 1;
	return *(const int *) a - *(const int *) b;
}

PG_FUNCTION_INFO_V1(mining_kmeans);
Datum
mining_kmeans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	KmeansOptions opt;
	KmeansResult res;
	MiningEnv	env;
	MiningError err;
	PointBlock	pb = {0};
	double		t0,
				t1,
				t2;
	int		   *order;

	opt.k = PG_GETARG_INT32(1);
	opt.max_iterations = PG_GETARG_INT32(2);
	opt.n_init = PG_GETARG_INT32(3);
	opt.seed = (uint64_t) PG_GETARG_INT64(4);
	opt.tolerance = PG_GETARG_FLOAT8(5);
	opt.scale = PG_GETARG_BOOL(6);

	/* arguments first, before reading anything */
	if (opt.k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans: k must be at least 1"),
				 errdetail("k is %d.", opt.k)));
	if (opt.max_iterations < 1 || opt.n_init < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans: %s must be at least 1", opt.n_init < 1 ? "n_init" : "max_iterations"),
				 errdetail("It is %d.", opt.n_init < 1 ? opt.n_init : opt.max_iterations)));
	if (!(opt.tolerance >= 0) || isinf(opt.tolerance))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans: tolerance must be a finite number not below 0"),
				 errdetail("tolerance is %g.", opt.tolerance)));

	InitMaterializedSRF(fcinfo, 0);
	MiningEnvInit(&env, MiningMemoryLimit());

	t0 = cpu_seconds();
	read_points(&env, query, &pb);
	t1 = cpu_seconds();
	if (!KmeansRun(&env, pb.v, pb.n, pb.dim > 0 ? pb.dim : 1, &opt, &res, &err))
		MiningReportError("kmeans", &err);
	t2 = cpu_seconds();

	/* what bench/kmeans reads (SET client_min_messages = debug1) */
	ereport(DEBUG1,
			(errmsg_internal("kmeans: %zu points x %d, k %d, best of %d runs: run %d, %d iterations "
							 "(%d in all), %s; %llu distance evaluations, %llu skipped by the bounds; "
							 "CPU seconds: read %.3f, clustered %.3f (seeding %.3f, full passes %.3f, Lloyd %.3f); peak %zu bytes",
							 pb.n, pb.dim, opt.k, opt.n_init, res.best_run + 1, res.iterations,
							 res.total_iterations, res.converged ? "converged" : "not converged",
							 (unsigned long long) res.distance_evals,
							 (unsigned long long) res.distance_skipped,
							 t1 - t0, t2 - t1,
							 res.seeding_seconds, res.full_seconds, res.lloyd_seconds, env.peak_bytes)));
	if (!res.converged)
		ereport(NOTICE,
				(errmsg("kmeans: the best run did not converge in %d iterations", opt.max_iterations),
				 errhint("Raise max_iterations or the tolerance.")));

	order = palloc(sizeof(int) * res.k);
	for (int c = 0; c < res.k; c++)
		order[c] = c;
	sort_centroids = res.centroids;
	sort_dim = res.dim;
	qsort(order, res.k, sizeof(int), centroid_cmp);

	for (int r = 0; r < res.k; r++)
	{
		int			c = order[r];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		Datum	   *elems = palloc(sizeof(Datum) * res.dim);

		for (int j = 0; j < res.dim; j++)
			elems[j] = Float8GetDatum(res.centroids[(size_t) c * res.dim + j]);
		values[0] = Int32GetDatum(r + 1);
		values[1] = PointerGetDatum(construct_array(elems, res.dim, FLOAT8OID, sizeof(float8),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[2] = Int64GetDatum(res.sizes[c]);
		values[3] = Float8GetDatum(res.within_ss[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/*
 * kmeans_assign(point float8[], centroids float8[]): the 1-based number of
 * the nearest centroid (the first on a tie); centroids is k x dim, as
 * array_agg(centroid ORDER BY cluster) makes it.
 */
PG_FUNCTION_INFO_V1(mining_kmeans_assign);
Datum
mining_kmeans_assign(PG_FUNCTION_ARGS)
{
	ArrayType  *point = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *cents = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *pe,
			   *ce;
	int			np,
				nc,
				k,
				dim;
	double	   *p,
			   *c;

	if (ARR_NDIM(cents) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_assign: centroids must be a two-dimensional array"),
				 errdetail("It has %d dimensions.", ARR_NDIM(cents)),
				 errhint("Pass array_agg(centroid ORDER BY cluster) of kmeans()'s result.")));
	if (ARR_NDIM(point) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_assign: point must be a one-dimensional array"),
				 errdetail("It has %d dimensions.", ARR_NDIM(point))));
	k = ARR_DIMS(cents)[0];
	dim = ARR_DIMS(cents)[1];
	if (ARR_DIMS(point)[0] != dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans_assign: point has %d coordinates, the centroids have %d",
						ARR_DIMS(point)[0], dim)));
	if (array_contains_nulls(point) || array_contains_nulls(cents))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("kmeans_assign: %s has a NULL element",
						array_contains_nulls(point) ? "point" : "centroids")));
	deconstruct_array(point, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &pe, NULL, &np);
	deconstruct_array(cents, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &ce, NULL, &nc);
	p = palloc(sizeof(double) * np);
	c = palloc(sizeof(double) * nc);
	for (int i = 0; i < np; i++)
	{
		p[i] = DatumGetFloat8(pe[i]);
		if (!isfinite(p[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("kmeans_assign: point coordinate %d is %g, not a finite number", i + 1, p[i])));
	}
	for (int i = 0; i < nc; i++)
	{
		c[i] = DatumGetFloat8(ce[i]);
		if (!isfinite(c[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("kmeans_assign: centroid %d has a coordinate that is not a finite number",
							i / dim + 1)));
	}
	PG_RETURN_INT32(KmeansNearest(p, c, k, dim, NULL) + 1);
}
