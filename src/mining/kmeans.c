/*
 * kmeans.c
 *		k-means clustering (see kmeans.h). No backend headers.
 *
 * One run:
 *	1. Seeding: greedy k-means++ (Arthur and Vassilvitskii 2007, with the
 *	   2 + ln k local trials scikit-learn uses): the first centroid is a point
 *	   drawn uniformly, each next one the best of a few points drawn with
 *	   probability proportional to their squared distance to the nearest
 *	   centroid so far.
 *	2. Lloyd iterations, pruned with Hamerly's bounds (Hamerly 2010, "Making
 *	   k-means even faster"): per point an upper bound u on the distance to
 *	   its centroid and a lower bound l on the distance to every other one.
 *	   After the centroids move by p_j, u grows by p_a and l shrinks by the
 *	   largest other p; a point whose u is within max(l, s_a) (s_a: half the
 *	   distance from its centroid to the nearest other centroid) cannot
 *	   change cluster, so no distance is computed for it. The result is the
 *	   same as plain Lloyd's, step for step (exact pruning); the bounds only
 *	   skip work. At 8 dimensions this beats Elkan's k bounds per point,
 *	   which cost k times the memory traffic.
 *	3. It stops when no point changed cluster, when the centroids moved (sum
 *	   of squared shifts) by at most tolerance x the mean feature variance
 *	   (scikit-learn's tol), or after max_iterations. The labels are always
 *	   those of the nearest final centroid.
 * n_init runs from seeds drawn from one xoshiro256** stream (seeded by
 * splitmix64 from the seed): the run with the least total within-cluster sum
 * of squares wins (the first on a tie), so a seed gives one result.
 *
 * Memory: the points (n * dim doubles, the caller's, standardised in place
 * when scaling) and 24 bytes per point (two label arrays, two bounds), plus
 * O(k * dim); see KmeansWorkBytes.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "mining/kmeans.h"

/* interrupts are checked every this many points in every pass */
#define KMEANS_CHECK_EVERY 4096

/* points per block of a bounded pass (a divisor of KMEANS_CHECK_EVERY) */
#define KMEANS_BLOCK 256

/* k-means++ candidates per step: 2 + ln k, at most this */
#define KMEANS_MAX_TRIALS 16

/* -------------------------------------------------------------------------
 * PRNG: xoshiro256** (Blackman and Vigna), seeded with splitmix64
 * -------------------------------------------------------------------------
 */
typedef struct Rng
{
	uint64_t	s[4];
} Rng;

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
rng_seed(Rng *r, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(Rng *r)
{
	uint64_t   *s = r->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* uniform in [0, 1) */
static double
rng_uniform(Rng *r)
{
	return (double) (rng_next(r) >> 11) * 0x1.0p-53;
}

/* uniform in [0, n), n > 0, without modulo bias (Lemire's rejection) */
static size_t
rng_below(Rng *r, size_t n)
{
	uint64_t	limit = UINT64_MAX - UINT64_MAX % (uint64_t) n;
	uint64_t	x;

	do
		x = rng_next(r);
	while (x >= limit);
	return (size_t) (x % (uint64_t) n);
}

/*
 * CPU seconds of this thread, for the figures bench/kmeans prints: on a
 * shared machine the wall clock mostly measures the other processes.
 */
static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* -------------------------------------------------------------------------
 * Distances
 * -------------------------------------------------------------------------
 */
static inline double
dist2(const double *a, const double *b, int dim)
{
	double		s = 0;

	for (int j = 0; j < dim; j++)
	{
		double		d = a[j] - b[j];

		s += d * d;
	}
	return s;
}

int
KmeansNearest(const double *point, const double *centroids, int k, int dim,
			  double *out_dist2)
{
	int			best = 0;
	double		bestd = dist2(point, centroids, dim);

	for (int c = 1; c < k; c++)
	{
		double		d = dist2(point, centroids + (size_t) c * dim, dim);

		if (d < bestd)
		{
			bestd = d;
			best = c;
		}
	}
	if (out_dist2)
		*out_dist2 = bestd;
	return best;
}

/*
 * Squared distances from x to the four points stored one after the other at
 * P, into s[0..4). Each has its own accumulator summed in coordinate order,
 * so every distance is bit for bit dist2's, but four independent chains of
 * additions keep the FPU busy (one chain waits on each addition's latency).
 */
static inline void
dist2_x4(const double *x, const double *P, int dim, double s[4])
{
	const double *p0 = P;
	const double *p1 = p0 + dim;
	const double *p2 = p1 + dim;
	const double *p3 = p2 + dim;
	double		s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;

	for (int j = 0; j < dim; j++)
	{
		double		xj = x[j];
		double		e0 = xj - p0[j],
					e1 = xj - p1[j],
					e2 = xj - p2[j],
					e3 = xj - p3[j];

		s0 += e0 * e0;
		s1 += e1 * e1;
		s2 += e2 * e2;
		s3 += e3 * e3;
	}
	s[0] = s0;
	s[1] = s1;
	s[2] = s2;
	s[3] = s3;
}

/*
 * Nearest and second-nearest centroid: index of the nearest, both distances
 * squared, four centroids at a time (dist2_x4).
 */
static inline int
nearest2(const double *x, const double *C, int k, int dim, double *d1, double *d2)
{
	int			best = 0;
	double		b1 = INFINITY,
				b2 = INFINITY;
	int			c = 0;
	double		s[4];

#define KMEANS_TAKE(dist, idx) \
	do { \
		double		d_ = (dist); \
		if (d_ < b1) { b2 = b1; b1 = d_; best = (idx); } \
		else if (d_ < b2) b2 = d_; \
	} while (0)

	for (; c + 4 <= k; c += 4)
	{
		dist2_x4(x, C + (size_t) c * dim, dim, s);
		for (int i = 0; i < 4; i++)
			KMEANS_TAKE(s[i], c + i);
	}
	for (; c < k; c++)
		KMEANS_TAKE(dist2(x, C + (size_t) c * dim, dim), c);
#undef KMEANS_TAKE
	*d1 = b1;
	*d2 = b2;
	return best;
}

/*
 * Squared distances from x to m points stored one after the other in P,
 * into out[0..m), four at a time, bit for bit dist2's.
 */
static inline void
dist2_many(const double *x, const double *P, int m, int dim, double *out)
{
	int			c = 0;

	for (; c + 4 <= m; c += 4)
		dist2_x4(x, P + (size_t) c * dim, dim, out + c);
	for (; c < m; c++)
		out[c] = dist2(x, P + (size_t) c * dim, dim);
}

/* -------------------------------------------------------------------------
 * One run's state
 * -------------------------------------------------------------------------
 */
typedef struct Run
{
	MiningEnv  *env;
	const double *X;
	size_t		n;
	int			dim;
	int			k;
	double	   *C;				/* k * dim current centroids */
	double	   *sums;			/* k * dim */
	int64_t    *counts;			/* k */
	double	   *shift;			/* k: how far each centroid moved */
	double	   *half;			/* k: s_j, half the distance to the nearest
								 * other centroid */
	double		max1;			/* the largest shift, of centroid argmax1 */
	double		max2;			/* the second largest */
	int			argmax1;
	double	   *cands;			/* KMEANS_MAX_TRIALS * dim: seeding candidates */
	int32_t    *labels;			/* n */
	double	   *upper;			/* n: u_i; D_i^2 while seeding */
	double	   *lower;			/* n: l_i */
	uint64_t	evals;
	uint64_t	skipped;
} Run;

/*
 * Greedy k-means++ seeding into R->C. R->upper holds each point's squared
 * distance to its nearest centroid so far (D). For each next centroid, the
 * candidates are drawn in one scan of D's running sum (their thresholds
 * sorted), their potentials sum_i min(D_i, d(x_i, candidate)^2) computed in
 * one pass over the points, and D updated in a third: three passes whatever
 * the number of candidates.
 */
static bool
seed_centroids(Run *R, Rng *rng, MiningError *err)
{
	const double *X = R->X;
	size_t		n = R->n;
	int			dim = R->dim;
	int			trials = 2 + (int) log((double) R->k);
	double	   *D = R->upper;
	double		pot = 0;
	size_t		first = rng_below(rng, n);

	if (trials > KMEANS_MAX_TRIALS)
		trials = KMEANS_MAX_TRIALS;
	memcpy(R->C, X + first * dim, sizeof(double) * dim);
	for (size_t i = 0; i < n; i++)
	{
		if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(R->env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		D[i] = dist2(X + i * dim, R->C, dim);
		pot += D[i];
	}
	R->evals += n;

	for (int c = 1; c < R->k; c++)
	{
		double		thr[KMEANS_MAX_TRIALS];
		int			order[KMEANS_MAX_TRIALS];
		size_t		cand[KMEANS_MAX_TRIALS];
		double		cpot[KMEANS_MAX_TRIALS];
		double		cum = 0;
		size_t		last_positive = SIZE_MAX;
		int			next = 0;
		int			best = 0;
		double	   *Cc = R->C + (size_t) c * dim;

		/* draw the candidates: thresholds in draw order, scanned in sorted order */
		for (int t = 0; t < trials; t++)
		{
			thr[t] = rng_uniform(rng) * pot;
			order[t] = t;
			cand[t] = SIZE_MAX;
			cpot[t] = 0;
		}
		for (int a = 1; a < trials; a++)	/* insertion sort of a few */
			for (int b = a; b > 0 && thr[order[b]] < thr[order[b - 1]]; b--)
			{
				int			tmp = order[b];

				order[b] = order[b - 1];
				order[b - 1] = tmp;
			}
		for (size_t i = 0; i < n && next < trials; i++)
		{
			if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(R->env))
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			if (D[i] > 0)
			{
				last_positive = i;
				cum += D[i];
				while (next < trials && cum > thr[order[next]])
					cand[order[next++]] = i;
			}
		}
		if (last_positive == SIZE_MAX)
			return MiningSetError(err, MINING_ERR_INTERNAL,
								  "k-means++ found no point away from the centroids");
		while (next < trials)	/* rounding left a threshold past the sum */
			cand[order[next++]] = last_positive;

		/* each candidate's potential, in one pass */
		for (int t = 0; t < trials; t++)
			memcpy(R->cands + (size_t) t * dim, X + cand[t] * dim, sizeof(double) * dim);
		for (size_t i = 0; i < n; i++)
		{
			double		d[KMEANS_MAX_TRIALS];

			if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(R->env))
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			dist2_many(X + i * dim, R->cands, trials, dim, d);
			for (int t = 0; t < trials; t++)
				cpot[t] += d[t] < D[i] ? d[t] : D[i];
		}
		R->evals += n * trials;
		for (int t = 1; t < trials; t++)
			if (cpot[t] < cpot[best])
				best = t;	/* the first drawn on a tie */

		memcpy(Cc, X + cand[best] * dim, sizeof(double) * dim);
		pot = 0;
		for (size_t i = 0; i < n; i++)
		{
			double		d;

			if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(R->env))
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			d = dist2(X + i * dim, Cc, dim);
			if (d < D[i])
				D[i] = d;
			pot += D[i];
		}
		R->evals += n;
	}
	return true;
}

/* s_j = half the distance from centroid j to the nearest other one */
static void
compute_half(Run *R)
{
	for (int a = 0; a < R->k; a++)
		R->half[a] = INFINITY;
	for (int a = 0; a < R->k; a++)
		for (int b = a + 1; b < R->k; b++)
		{
			double		d = 0.5 * sqrt(dist2(R->C + (size_t) a * R->dim,
											 R->C + (size_t) b * R->dim, R->dim));

			if (d < R->half[a])
				R->half[a] = d;
			if (d < R->half[b])
				R->half[b] = d;
		}
}

/*
 * Assign every point: exactly (all k distances) when full, else with the
 * bounds. A full pass recomputes sums and counts from scratch; a bounded
 * pass only moves the points that change cluster from one sum to the other,
 * so a point the bounds keep where it is costs 20 bytes of bounds and label
 * and not its coordinates (which is how an iteration can cost less than one
 * pass over the points). Returns the number of points that changed cluster,
 * or -1 when interrupted.
 */
static int64_t
assign(Run *R, bool full, MiningError *err)
{
	const double *X = R->X;
	int			dim = R->dim;
	int			k = R->k;
	int64_t		changed = 0;

	const int32_t *labels = R->labels;
	double	   *upper = R->upper;
	double	   *lower = R->lower;
	const double *shift = R->shift;
	const double *half = R->half;
	double		max1 = R->max1,
				max2 = R->max2;
	int			argmax1 = R->argmax1;

	if (full)
	{
		memset(R->sums, 0, sizeof(double) * (size_t) k * dim);
		memset(R->counts, 0, sizeof(int64_t) * k);
	}
	else
		compute_half(R);

	for (size_t i = 0; i < R->n; i++)
	{
		const double *x = X + i * dim;
		int			a = R->labels[i];

		if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(R->env))
		{
			MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			return -1;
		}
		if (full)
		{
			double		d1,
						d2;
			int			b = nearest2(x, R->C, k, dim, &d1, &d2);
			double	   *s = R->sums + (size_t) b * dim;

			if (b != a)
				changed++;
			R->labels[i] = b;
			R->upper[i] = sqrt(d1);
			R->lower[i] = sqrt(d2);
			R->evals += k;
			for (int j = 0; j < dim; j++)
				s[j] += x[j];
			R->counts[b]++;
		}
		else
		{
			/*
			 * A block of points at a time: first the bounds alone (sequential
			 * over 20 bytes a point), noting the points they cannot settle and
			 * prefetching those points' coordinates; then those points. The
			 * coordinates then arrive together instead of one cache miss after
			 * another.
			 */
			size_t		end = i + KMEANS_BLOCK < R->n ? i + KMEANS_BLOCK : R->n;
			size_t		todo[KMEANS_BLOCK];
			int			ntodo = 0;

			/* branch-free: which points go on is data, not a pattern to predict */
			for (size_t p = i; p < end; p++)
			{
				int			pa = labels[p];
				/* the bounds follow the centroids' last move (see move_centroids) */
				double		u = upper[p] + shift[pa];
				double		l = lower[p] - (pa == argmax1 ? max2 : max1);
				double		h = half[pa];
				double		m = h > l ? h : l;

				upper[p] = u;
				lower[p] = l;
				todo[ntodo] = p;
				ntodo += u > m;
			}
			for (int t = 0; t < ntodo; t++)
				__builtin_prefetch(X + todo[t] * dim);
			R->skipped += (uint64_t) (end - i - ntodo) * k;
			for (int t = 0; t < ntodo; t++)
			{
				size_t		p = todo[t];
				const double *xp = X + p * dim;
				int			pa = R->labels[p];
				double		m = R->half[pa] > R->lower[p] ? R->half[pa] : R->lower[p];
				double		d1,
							d2;
				int			b;

				/* tighten u, then test again */
				R->upper[p] = sqrt(dist2(xp, R->C + (size_t) pa * dim, dim));
				R->evals++;
				if (R->upper[p] <= m)
				{
					R->skipped += k - 1;
					continue;
				}
				b = nearest2(xp, R->C, k, dim, &d1, &d2);
				/* the distance to pa was just computed: k - 1 new ones */
				R->evals += k - 1;
				R->upper[p] = sqrt(d1);
				R->lower[p] = sqrt(d2);
				if (b != pa)
				{
					double	   *sa = R->sums + (size_t) pa * dim;
					double	   *sb = R->sums + (size_t) b * dim;

					for (int j = 0; j < dim; j++)
					{
						sa[j] -= xp[j];
						sb[j] += xp[j];
					}
					R->counts[pa]--;
					R->counts[b]++;
					R->labels[p] = b;
					changed++;
				}
			}
			i = end - 1;		/* the for loop's i++ goes on after the block */
		}
	}
	return changed;
}

/*
 * New centroids from sums and counts; an empty cluster takes the point
 * farthest from its centroid (by its upper bound; points already taken are
 * skipped). Fills R->shift, the largest two shifts for the bounds (moved by
 * the next bounded assign), and returns the sum of squared shifts.
 */
static double
move_centroids(Run *R)
{
	int			dim = R->dim;
	int			k = R->k;
	double		total = 0;
	double		max1 = 0,
				max2 = 0;
	int			argmax1 = -1;
	size_t		taken[64];
	int			ntaken = 0;

	for (int c = 0; c < k; c++)
	{
		double	   *Cc = R->C + (size_t) c * dim;
		double		s2;

		if (R->counts[c] > 0)
		{
			double		inv = 1.0 / (double) R->counts[c];
			const double *s = R->sums + (size_t) c * dim;

			s2 = 0;
			for (int j = 0; j < dim; j++)
			{
				double		v = s[j] * inv;
				double		d = v - Cc[j];

				s2 += d * d;
				Cc[j] = v;
			}
		}
		else
		{
			size_t		far = 0;
			double		fard = -1;

			/* empty: drop what rounding left in its running sum */
			memset(R->sums + (size_t) c * dim, 0, sizeof(double) * dim);

			for (size_t i = 0; i < R->n; i++)
			{
				bool		used = false;

				if (R->upper[i] <= fard)
					continue;
				for (int t = 0; t < ntaken; t++)
					used |= taken[t] == i;
				if (!used)
				{
					fard = R->upper[i];
					far = i;
				}
			}
			if (ntaken < 64)
				taken[ntaken++] = far;
			s2 = dist2(Cc, R->X + far * dim, dim);
			memcpy(Cc, R->X + far * dim, sizeof(double) * dim);
		}
		R->shift[c] = sqrt(s2);
		total += s2;
		if (R->shift[c] > max1)
		{
			max2 = max1;
			max1 = R->shift[c];
			argmax1 = c;
		}
		else if (R->shift[c] > max2)
			max2 = R->shift[c];
	}

	/* the bounds move in the next assign pass, which reads them anyway */
	R->max1 = max1;
	R->max2 = max2;
	R->argmax1 = argmax1;
	return total;
}

/* sum over points of the squared distance to their centroid (exact) */
static bool
inertia(Run *R, double *out, MiningError *err)
{
	double		total = 0;

	for (size_t i = 0; i < R->n; i++)
	{
		if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(R->env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		total += dist2(R->X + i * R->dim, R->C + (size_t) R->labels[i] * R->dim, R->dim);
	}
	R->evals += R->n;
	*out = total;
	return true;
}

size_t
KmeansWorkBytes(size_t n, int dim, int k)
{
	return n * (2 * sizeof(int32_t) + 2 * sizeof(double)) +
		(size_t) k * (4 * dim * sizeof(double) + 3 * sizeof(double) + 2 * sizeof(int64_t)) +
		(2 + KMEANS_MAX_TRIALS) * (size_t) dim * sizeof(double);
}

/* whether points hold at least k distinct ones (stops as soon as they do) */
static bool
enough_distinct(MiningEnv *env, const double *X, size_t n, int dim, int k,
				size_t *distinct, MiningError *err)
{
	size_t	   *found;
	size_t		nfound = 0;

	found = MiningAlloc(env, (size_t) k, sizeof(size_t), false, "distinct points", err);
	if (found == NULL)
		return false;
	for (size_t i = 0; i < n && nfound < (size_t) k; i++)
	{
		bool		dup = false;

		if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(env))
		{
			MiningFree(env, found, k, sizeof(size_t));
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		}
		for (size_t f = 0; f < nfound && !dup; f++)
			dup = memcmp(X + i * dim, X + found[f] * dim, sizeof(double) * dim) == 0;
		if (!dup)
			found[nfound++] = i;
	}
	MiningFree(env, found, k, sizeof(size_t));
	*distinct = nfound;
	return true;
}

bool
KmeansRun(MiningEnv *env, double *points, size_t n, int dim,
		  const KmeansOptions *opt, KmeansResult *res, MiningError *err)
{
	int			k = opt->k;
	Run			R;
	Rng			rng;
	double	   *mean = NULL,
			   *sd = NULL;
	double	   *bestC;
	double		best_ss = INFINITY;
	double		tol_abs;
	double		mean_var = 0;
	size_t		distinct = 0;
	size_t		kd;

	memset(res, 0, sizeof(*res));
	memset(&R, 0, sizeof(R));

	/* arguments */
	if (k < 1)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "k must be at least 1");
		MiningSetDetail(err, "k is %d.", k);
		return false;
	}
	if (opt->max_iterations < 1)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "max_iterations must be at least 1");
		MiningSetDetail(err, "max_iterations is %d.", opt->max_iterations);
		return false;
	}
	if (opt->n_init < 1)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "n_init must be at least 1");
		MiningSetDetail(err, "n_init is %d.", opt->n_init);
		return false;
	}
	if (!(opt->tolerance >= 0) || isinf(opt->tolerance))
		return MiningSetError(err, MINING_ERR_ARGUMENT,
							  "tolerance must be a finite number not below 0");
	if (dim < 1)
		return MiningSetError(err, MINING_ERR_DATA, "points must have at least one coordinate");
	if (n == 0)
	{
		MiningSetError(err, MINING_ERR_DATA, "no points to cluster");
		MiningSetHint(err, "Check that the query returns rows.");
		return false;
	}
	if ((size_t) k > n)
	{
		MiningSetError(err, MINING_ERR_DATA, "cannot make %d clusters of %zu points", k, n);
		MiningSetHint(err, "Pass a k of at most the number of distinct points.");
		return false;
	}
	if (!MiningMulSize(n, (size_t) dim, &kd))
		return MiningSetError(err, MINING_ERR_LIMIT, "too many points");

	/* every coordinate finite; per-feature mean and variance (two passes) */
	mean = MiningAlloc(env, dim, sizeof(double), true, "feature means", err);
	sd = MiningAlloc(env, dim, sizeof(double), true, "feature deviations", err);
	if (mean == NULL || sd == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		for (int j = 0; j < dim; j++)
		{
			double		v = points[i * dim + j];

			if (!isfinite(v))
			{
				MiningSetError(err, MINING_ERR_DATA, "point %zu has a coordinate that is not a finite number", i + 1);
				MiningSetDetail(err, "Coordinate %d is %g.", j + 1, v);
				return false;
			}
			mean[j] += v;
		}
	}
	for (int j = 0; j < dim; j++)
		mean[j] /= (double) n;
	for (size_t i = 0; i < n; i++)
	{
		if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		for (int j = 0; j < dim; j++)
		{
			double		d = points[i * dim + j] - mean[j];

			sd[j] += d * d;
		}
	}
	for (int j = 0; j < dim; j++)
	{
		sd[j] = sqrt(sd[j] / (double) n);	/* population sd, as StandardScaler */
		if (!isfinite(sd[j]))
		{
			MiningSetError(err, MINING_ERR_DATA, "coordinates are too large to cluster");
			MiningSetDetail(err, "The squared deviations of coordinate %d overflow a float8.", j + 1);
			MiningSetHint(err, "Rescale the feature, e.g. divide it by a power of ten.");
			return false;
		}
	}

	if (!enough_distinct(env, points, n, dim, k, &distinct, err))
		return false;
	if (distinct < (size_t) k)
	{
		MiningSetError(err, MINING_ERR_DATA, "cannot make %d clusters of %zu distinct points", k, distinct);
		MiningSetHint(err, "Pass a k of at most the number of distinct points.");
		return false;
	}

	/* standardise in place; the variance used for the tolerance is then 1 per non-constant feature */
	if (opt->scale)
	{
		for (size_t i = 0; i < n; i++)
		{
			if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(env))
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			for (int j = 0; j < dim; j++)
			{
				double	   *v = &points[i * dim + j];

				*v = sd[j] > 0 ? (*v - mean[j]) / sd[j] : *v - mean[j];
			}
		}
		for (int j = 0; j < dim; j++)
			mean_var += sd[j] > 0 ? 1.0 : 0.0;
	}
	else
		for (int j = 0; j < dim; j++)
			mean_var += sd[j] * sd[j];
	mean_var /= dim;
	tol_abs = opt->tolerance * mean_var;

	/* one run's work arrays, reused by every run */
	R.env = env;
	R.X = points;
	R.n = n;
	R.dim = dim;
	R.k = k;
	R.C = MiningAlloc(env, (size_t) k * dim, sizeof(double), false, "centroids", err);
	bestC = MiningAlloc(env, (size_t) k * dim, sizeof(double), false, "centroids", err);
	R.sums = MiningAlloc(env, (size_t) k * dim, sizeof(double), false, "centroid sums", err);
	R.counts = MiningAlloc(env, k, sizeof(int64_t), false, "cluster sizes", err);
	R.shift = MiningAlloc(env, k, sizeof(double), false, "centroid shifts", err);
	R.half = MiningAlloc(env, k, sizeof(double), false, "centroid distances", err);
	R.cands = MiningAlloc(env, (size_t) KMEANS_MAX_TRIALS * dim, sizeof(double), false,
						  "seeding candidates", err);
	if (!R.C || !bestC || !R.sums || !R.counts || !R.shift || !R.half || !R.cands)
		return false;
	R.labels = MiningAlloc(env, n, sizeof(int32_t), true, "cluster labels", err);
	if (R.labels == NULL)
		return false;
	res->labels = MiningAlloc(env, n, sizeof(int32_t), false, "cluster labels", err);
	if (res->labels == NULL)
		return false;
	R.upper = MiningAlloc(env, n, sizeof(double), false, "distance bounds", err);
	if (R.upper == NULL)
		return false;
	R.lower = MiningAlloc(env, n, sizeof(double), false, "distance bounds", err);
	if (R.lower == NULL)
		return false;

	rng_seed(&rng, opt->seed);
	for (int run = 0; run < opt->n_init; run++)
	{
		int			iter = 0;
		bool		converged = false;
		double		ss = 0;
		double		t0 = now_seconds(),
					t1,
					t2,
					t3;

		if (!seed_centroids(&R, &rng, err))
			return false;
		t1 = now_seconds();
		res->seeding_seconds += t1 - t0;
		if (assign(&R, true, err) < 0)
			return false;
		t2 = now_seconds();
		while (iter < opt->max_iterations)
		{
			double		shift = move_centroids(&R);
			int64_t		changed;

			iter++;
			changed = assign(&R, false, err);
			if (changed < 0)
				return false;
			if (changed == 0 || shift <= tol_abs)
			{
				converged = true;
				break;
			}
		}
		t3 = now_seconds();
		res->lloyd_seconds += t3 - t2;
		if (!inertia(&R, &ss, err))
			return false;
		res->full_seconds += (t2 - t1) + (now_seconds() - t3);
		res->total_iterations += iter;
		if (ss < best_ss)
		{
			best_ss = ss;
			res->best_run = run;
			res->iterations = iter;
			res->converged = converged;
			memcpy(bestC, R.C, sizeof(double) * (size_t) k * dim);
			memcpy(res->labels, R.labels, sizeof(int32_t) * n);
		}
	}
	res->distance_evals = R.evals;
	res->distance_skipped = R.skipped;

	/* sizes and within-cluster sums of squares, per coordinate so that they scale back */
	res->k = k;
	res->dim = dim;
	res->centroids = bestC;
	res->sizes = MiningAlloc(env, k, sizeof(int64_t), true, "cluster sizes", err);
	res->within_ss = MiningAlloc(env, k, sizeof(double), true, "cluster sums of squares", err);
	if (res->sizes == NULL || res->within_ss == NULL)
		return false;
	memset(R.sums, 0, sizeof(double) * (size_t) k * dim);	/* per cluster, per coordinate SS */
	for (size_t i = 0; i < n; i++)
	{
		int			c = res->labels[i];
		double	   *s = R.sums + (size_t) c * dim;
		const double *x = points + i * dim;
		const double *cc = bestC + (size_t) c * dim;

		if (i % KMEANS_CHECK_EVERY == 0 && MiningInterrupted(env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		for (int j = 0; j < dim; j++)
			s[j] += (x[j] - cc[j]) * (x[j] - cc[j]);
		res->sizes[c]++;
	}
	res->total_ss = 0;
	for (int c = 0; c < k; c++)
	{
		double		w = 0;

		for (int j = 0; j < dim; j++)
		{
			double		f = (opt->scale && sd[j] > 0) ? sd[j] * sd[j] : 1.0;

			w += R.sums[(size_t) c * dim + j] * f;
			if (opt->scale)
				bestC[(size_t) c * dim + j] =
					(sd[j] > 0 ? bestC[(size_t) c * dim + j] * sd[j] : bestC[(size_t) c * dim + j]) + mean[j];
		}
		res->within_ss[c] = w;
		res->total_ss += w;
	}

	MiningFree(env, R.lower, n, sizeof(double));
	MiningFree(env, R.upper, n, sizeof(double));
	MiningFree(env, R.labels, n, sizeof(int32_t));
	MiningFree(env, R.cands, (size_t) KMEANS_MAX_TRIALS * dim, sizeof(double));
	MiningFree(env, R.half, k, sizeof(double));
	MiningFree(env, R.shift, k, sizeof(double));
	MiningFree(env, R.counts, k, sizeof(int64_t));
	MiningFree(env, R.sums, (size_t) k * dim, sizeof(double));
	MiningFree(env, R.C, (size_t) k * dim, sizeof(double));
	MiningFree(env, sd, dim, sizeof(double));
	MiningFree(env, mean, dim, sizeof(double));
	return true;
}
