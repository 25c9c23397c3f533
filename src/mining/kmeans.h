/*
 * kmeans.h
 *		k-means clustering core: k-means++ seeding (greedy, as scikit-learn),
 *		Lloyd iterations pruned exactly with Hamerly's bounds, the best of
 *		n_init runs by total within-cluster sum of squares, deterministic for
 *		a seed. No backend headers (see mining.h): the SQL side is
 *		kmeans_pg.c, the unit tests are test/mining/.
 */
#ifndef MEGAMARKET_KMEANS_H
#define MEGAMARKET_KMEANS_H

#include "mining/mining.h"

typedef struct KmeansOptions
{
	int			k;				/* clusters, >= 1 */
	int			max_iterations; /* per run, >= 1 */
	int			n_init;			/* runs from different seeds, >= 1 */
	uint64_t	seed;			/* the same seed gives the same result */
	double		tolerance;		/* relative: a run stops when the centroids
								 * moved (sum of squared shifts) at most
								 * tolerance times the mean feature variance,
								 * as scikit-learn's tol */
	bool		scale;			/* standardise each feature (mean 0, sd 1)
								 * first; results in original units */
} KmeansOptions;

typedef struct KmeansResult
{
	int			k;
	int			dim;
	double	   *centroids;		/* k * dim, original units */
	int64_t    *sizes;			/* k */
	double	   *within_ss;		/* k: sum of squared distances of a
								 * cluster's points to its centroid, original
								 * units */
	double		total_ss;		/* sum of within_ss */
	int32_t    *labels;			/* n: each point's cluster (0-based) */

	/* what the runs did, for DEBUG output and bench/kmeans */
	int			best_run;		/* 0-based */
	int			iterations;		/* of the best run */
	int			total_iterations;	/* over all runs */
	bool		converged;		/* the best run stopped before max_iterations */
	uint64_t	distance_evals; /* point-centroid distances computed
								 * (seeding, iterations, final pass) */
	uint64_t	distance_skipped;	/* those the bounds made unnecessary in
									 * the Lloyd passes */
	double		seeding_seconds;	/* CPU time in k-means++, all runs */
	double		full_seconds;	/* in each run's first assignment (every
								 * distance) and last pass (inertia) */
	double		lloyd_seconds;	/* in the Lloyd iterations proper (move the
								 * centroids, bounded assignment): divided by
								 * total_iterations, the time per iteration */
} KmeansResult;

/*
 * Cluster n points of dim coordinates each, stored row after row in points
 * (n * dim doubles). With opt->scale the points are standardised in place
 * (the caller's block is the only copy held). Fills res (its arrays from
 * MiningAlloc). Returns false with err filled on bad arguments (k < 1, k
 * more than the distinct points, ...), non-finite coordinates, the memory
 * budget, or an interrupt (MINING_ERR_CANCELED).
 */
extern bool KmeansRun(MiningEnv *env, double *points, size_t n, int dim,
					  const KmeansOptions *opt, KmeansResult *res, MiningError *err);

/*
 * The nearest of k centroids (k * dim doubles) to point: its 0-based index,
 * ties to the lowest index. Squared distance in *dist2 when not NULL.
 */
extern int	KmeansNearest(const double *point, const double *centroids, int k, int dim,
						  double *dist2);

/* The bytes KmeansRun allocates beyond the points, for n points (docs, limits). */
extern size_t KmeansWorkBytes(size_t n, int dim, int k);

#endif							/* MEGAMARKET_KMEANS_H */
