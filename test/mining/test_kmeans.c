/*
 * test_kmeans.c
 *		Unit tests of the kmeans core (src/mining/kmeans.c) and the shared
 *		allocator (src/mining/mining.c), under ASan and UBSan.
 *
 * Oracles, none of them our own output:
 *	- hand-worked cases (points on a line, the corners of two squares);
 *	- planted, well-separated Gaussian blobs recovered exactly (adjusted Rand
 *	  index 1.0 against the planted labels);
 *	- the fixed-point conditions of Lloyd's algorithm, checked by brute force:
 *	  every label is the nearest centroid, every centroid the mean of its
 *	  points (this is what Hamerly's pruning must not break);
 *	- Fisher's iris data, k = 3: the published optimum, total within-cluster
 *	  sum of squares 78.85144 with clusters of 50, 62 and 38 points and
 *	  15.15100, 39.82097, 23.87947 each (R's kmeans(iris[, 1:4], 3), the
 *	  best known solution; test/fixtures/mining/README.md).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mining/kmeans.h"
#include "testenv.h"

static const char *fixtures = "../fixtures/mining";

/* a normal deviate from a small LCG-driven Box-Muller (test data only) */
static uint64_t lcg = 88172645463325252ULL;
static double
unif(void)
{
	lcg ^= lcg << 13;
	lcg ^= lcg >> 7;
	lcg ^= lcg << 17;
	return ((lcg >> 11) + 0.5) * 0x1.0p-53;
}

static double
gauss(void)
{
	return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

/* adjusted Rand index of two labelings of n points (Hubert and Arabie 1985) */
static double
ari(const int *a, const int32_t *b, size_t n, int ka, int kb)
{
	double	   *m = calloc((size_t) ka * kb, sizeof(double));
	double	   *ra = calloc(ka, sizeof(double));
	double	   *rb = calloc(kb, sizeof(double));
	double		index = 0,
				sa = 0,
				sb = 0,
				expected,
				maxi,
				total = (double) n * (n - 1) / 2;

	for (size_t i = 0; i < n; i++)
	{
		m[a[i] * kb + b[i]]++;
		ra[a[i]]++;
		rb[b[i]]++;
	}
	for (int i = 0; i < ka * kb; i++)
		index += m[i] * (m[i] - 1) / 2;
	for (int i = 0; i < ka; i++)
		sa += ra[i] * (ra[i] - 1) / 2;
	for (int i = 0; i < kb; i++)
		sb += rb[i] * (rb[i] - 1) / 2;
	expected = sa * sb / total;
	maxi = (sa + sb) / 2;
	free(m);
	free(ra);
	free(rb);
	return (index - expected) / (maxi - expected);
}

static KmeansOptions
options(int k)
{
	KmeansOptions o = {.k = k,.max_iterations = 300,.n_init = 10,.seed = 0,
	.tolerance = 0,.scale = false};

	return o;
}

/*
 * Lloyd's fixed point, by brute force: (nearest) every label is the nearest
 * centroid; every centroid is the mean of its points; total_ss recomputed.
 */
static void
check_fixed_point(const char *what, const double *X, size_t n, int dim,
				  const KmeansResult *r, bool nearest)
{
	size_t		wrong_label = 0;
	double		maxdiff = 0;
	double	   *mean = calloc((size_t) r->k * dim, sizeof(double));
	int64_t    *cnt = calloc(r->k, sizeof(int64_t));
	double		ss = 0;

	for (size_t i = 0; i < n; i++)
	{
		double		best = INFINITY,
					own = 0;

		for (int c = 0; c < r->k; c++)
		{
			double		d = 0;

			for (int j = 0; j < dim; j++)
				d += (X[i * dim + j] - r->centroids[c * dim + j]) *
					(X[i * dim + j] - r->centroids[c * dim + j]);
			if (d < best)
				best = d;
			if (c == r->labels[i])
				own = d;
		}
		if (own > best)
			wrong_label++;
		ss += own;
		cnt[r->labels[i]]++;
		for (int j = 0; j < dim; j++)
			mean[r->labels[i] * dim + j] += X[i * dim + j];
	}
	for (int c = 0; c < r->k; c++)
	{
		CHECK(cnt[c] == r->sizes[c], "%s: cluster %d size %lld, counted %lld", what, c,
			  (long long) r->sizes[c], (long long) cnt[c]);
		for (int j = 0; j < dim; j++)
		{
			double		d = fabs(mean[c * dim + j] / (double) cnt[c] - r->centroids[c * dim + j]);

			if (d > maxdiff)
				maxdiff = d;
		}
	}
	CHECK(!nearest || wrong_label == 0, "%s: %zu points not labelled with their nearest centroid", what, wrong_label);
	CHECK(maxdiff < 1e-9, "%s: a centroid is %g away from the mean of its points", what, maxdiff);
	CHECK(fabs(ss - r->total_ss) <= 1e-9 * (1 + ss), "%s: total_ss %.12g, recomputed %.12g",
		  what, r->total_ss, ss);
	free(mean);
	free(cnt);
}

/* index of the centroid whose first coordinate is nearest v */
static int
centroid_near(const KmeansResult *r, double v)
{
	int			best = 0;

	for (int c = 1; c < r->k; c++)
		if (fabs(r->centroids[c * r->dim] - v) < fabs(r->centroids[best * r->dim] - v))
			best = c;
	return best;
}

static void
test_hand(void)
{
	TestEnv		t;
	MiningError err;
	KmeansResult r;
	KmeansOptions o = options(2);
	double		line[] = {0, 1, 10, 11};
	/* two unit squares, corners at (0,0) and (10,0): centroids at their centres */
	double		sq[] = {0, 0, 0, 1, 1, 0, 1, 1, 10, 0, 10, 1, 11, 0, 11, 1};

	TestEnvInit(&t, 0);
	CHECK(KmeansRun(&t.env, line, 4, 1, &o, &r, &err), "line: %s", err.message);
	{
		int			lo = centroid_near(&r, 0),
					hi = centroid_near(&r, 11);

		CHECK(lo != hi, "line: two clusters");
		CHECK(r.centroids[lo] == 0.5 && r.centroids[hi] == 10.5, "line: centroids %g %g",
			  r.centroids[lo], r.centroids[hi]);
		CHECK(r.within_ss[lo] == 0.5 && r.within_ss[hi] == 0.5 && r.total_ss == 1.0,
			  "line: within_ss %g %g", r.within_ss[lo], r.within_ss[hi]);
		CHECK(r.sizes[lo] == 2 && r.sizes[hi] == 2, "line: sizes");
		CHECK(r.labels[0] == lo && r.labels[1] == lo && r.labels[2] == hi && r.labels[3] == hi,
			  "line: labels");
	}
	TestEnvReset(&t);

	TestEnvInit(&t, 0);
	CHECK(KmeansRun(&t.env, sq, 8, 2, &o, &r, &err), "squares: %s", err.message);
	{
		int			a = centroid_near(&r, 0.5),
					b = centroid_near(&r, 10.5);

		CHECK(r.centroids[a * 2] == 0.5 && r.centroids[a * 2 + 1] == 0.5 &&
			  r.centroids[b * 2] == 10.5 && r.centroids[b * 2 + 1] == 0.5,
			  "squares: centroids");
		/* each corner is 0.5 from the centre: 4 x 0.5 per square */
		CHECK(r.within_ss[a] == 2.0 && r.within_ss[b] == 2.0, "squares: within_ss");
	}
	TestEnvReset(&t);

	/* k = 1: the mean; k = n: every point its own cluster, total 0 */
	{
		double		p[] = {1, 2, 3, 6};

		o = options(1);
		TestEnvInit(&t, 0);
		CHECK(KmeansRun(&t.env, p, 4, 1, &o, &r, &err), "k=1: %s", err.message);
		CHECK(r.centroids[0] == 3 && r.within_ss[0] == 14, "k=1: centroid %g ss %g",
			  r.centroids[0], r.within_ss[0]);
		TestEnvReset(&t);
		o = options(4);
		TestEnvInit(&t, 0);
		CHECK(KmeansRun(&t.env, p, 4, 1, &o, &r, &err), "k=n: %s", err.message);
		CHECK(r.total_ss == 0, "k=n: total %g", r.total_ss);
		TestEnvReset(&t);
	}
}

/* planted blobs: nb blobs of per points each, in dim dimensions, centres 50 apart */
static double *
make_blobs(int nb, int per, int dim, int **truth)
{
	double	   *X = malloc(sizeof(double) * nb * per * dim);

	*truth = malloc(sizeof(int) * nb * per);
	for (int b = 0; b < nb; b++)
		for (int p = 0; p < per; p++)
		{
			size_t		i = (size_t) b * per + p;

			(*truth)[i] = b;
			for (int j = 0; j < dim; j++)
				X[i * dim + j] = (j == b % dim ? 50.0 * (1 + b / dim) : 0) + gauss();
		}
	return X;
}

static void
test_blobs(void)
{
	int			nb = 6,
				per = 500,
				dim = 4;
	int		   *truth;
	double	   *X = make_blobs(nb, per, dim, &truth);
	double	   *copy = malloc(sizeof(double) * nb * per * dim);
	TestEnv		t;
	MiningError err;
	KmeansResult r,
				r2;
	KmeansOptions o = options(nb);
	TestEnv		t2;

	memcpy(copy, X, sizeof(double) * nb * per * dim);
	TestEnvInit(&t, 0);
	CHECK(KmeansRun(&t.env, X, nb * per, dim, &o, &r, &err), "blobs: %s", err.message);
	CHECK(ari(truth, r.labels, nb * per, nb, nb) == 1.0, "blobs: ARI %.6f",
		  ari(truth, r.labels, nb * per, nb, nb));
	CHECK(r.converged, "blobs: converged");
	CHECK(r.distance_skipped > 0, "blobs: the bounds skipped no distance");
	check_fixed_point("blobs", X, nb * per, dim, &r, true);
	CHECK(memcmp(X, copy, sizeof(double) * nb * per * dim) == 0, "blobs: points unchanged without scale");

	/* everything but labels/centroids/sizes/within_ss was given back */
	CHECK(t.env.used_bytes == (size_t) nb * per * 4 + (size_t) nb * dim * 8 + (size_t) nb * 8 * 2,
		  "blobs: %zu bytes still charged", t.env.used_bytes);

	/* the same seed: the same bytes; another seed: the same partition here */
	{
		TestEnvInit(&t2, 0);
		CHECK(KmeansRun(&t2.env, X, nb * per, dim, &o, &r2, &err), "blobs again: %s", err.message);
		CHECK(memcmp(r.centroids, r2.centroids, sizeof(double) * nb * dim) == 0 &&
			  memcmp(r.labels, r2.labels, sizeof(int32_t) * nb * per) == 0 &&
			  r.total_ss == r2.total_ss && r.iterations == r2.iterations &&
			  r.distance_evals == r2.distance_evals,
			  "blobs: same seed, different result");
		TestEnvReset(&t2);
		o.seed = 12345;
		o.n_init = 1;
		TestEnvInit(&t2, 0);
		CHECK(KmeansRun(&t2.env, X, nb * per, dim, &o, &r2, &err), "blobs seed: %s", err.message);
		CHECK(ari(truth, r2.labels, nb * per, nb, nb) == 1.0 || r2.total_ss > r.total_ss,
			  "blobs: another seed found a better optimum than n_init = 10");
		TestEnvReset(&t2);
	}

	/* scale: one feature in thousands; centroids reported in original units */
	{
		for (int i = 0; i < nb * per; i++)
			X[i * dim + 1] *= 1000;
		memcpy(copy, X, sizeof(double) * nb * per * dim);
		o = options(nb);
		o.scale = true;
		TestEnvInit(&t2, 0);
		CHECK(KmeansRun(&t2.env, X, nb * per, dim, &o, &r2, &err), "scale: %s", err.message);
		CHECK(ari(truth, r2.labels, nb * per, nb, nb) == 1.0, "scale: ARI %.6f",
			  ari(truth, r2.labels, nb * per, nb, nb));
		/* labels are nearest in standardised units, not in these */
		check_fixed_point("scale (original units)", copy, nb * per, dim, &r2, false);
		TestEnvReset(&t2);
	}
	TestEnvReset(&t);
	free(X);
	free(copy);
	free(truth);
}

static void
test_iris(void)
{
	char		path[512];
	FILE	   *f;
	double		X[150 * 4];
	size_t		n = 0;
	char		line[256];
	TestEnv		t;
	MiningError err;
	KmeansResult r;
	KmeansOptions o = options(3);
	int64_t		want_size[3] = {50, 62, 38};
	double		want_ss[3] = {15.15100, 39.82097, 23.87947};

	snprintf(path, sizeof(path), "%s/iris.csv", fixtures);
	f = fopen(path, "r");
	CHECK(f != NULL, "cannot open %s", path);
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) == NULL)	/* header */
		abort();
	while (n < 150 && fgets(line, sizeof(line), f))
	{
		int			id;

		if (sscanf(line, "%d,%lf,%lf,%lf,%lf", &id, &X[n * 4], &X[n * 4 + 1],
				   &X[n * 4 + 2], &X[n * 4 + 3]) == 5)
			n++;
	}
	fclose(f);
	CHECK(n == 150, "iris: %zu rows", n);

	o.tolerance = 1e-4;
	TestEnvInit(&t, 0);
	CHECK(KmeansRun(&t.env, X, n, 4, &o, &r, &err), "iris: %s", err.message);
	CHECK(fabs(r.total_ss - 78.85144) < 5e-6, "iris: total within-SS %.8f, published 78.85144",
		  r.total_ss);
	/* clusters by size: 50 (setosa), 62, 38 */
	for (int w = 0; w < 3; w++)
	{
		int			found = -1;

		for (int c = 0; c < 3; c++)
			if (r.sizes[c] == want_size[w])
				found = c;
		CHECK(found >= 0 && fabs(r.within_ss[found] - want_ss[w]) < 5e-6,
			  "iris: no cluster of %lld points with within-SS %.5f", (long long) want_size[w], want_ss[w]);
	}
	check_fixed_point("iris", X, n, 4, &r, true);
	TestEnvReset(&t);
}

static void
test_errors(void)
{
	TestEnv		t;
	MiningError err;
	KmeansResult r;
	KmeansOptions o = options(2);
	double		p[] = {1, 1, 1, 2};
	double		dup[] = {1, 1, 1, 1};

	TestEnvInit(&t, 0);
	o.k = 0;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_ARGUMENT,
		  "k = 0 accepted");
	o.k = 5;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_DATA &&
		  strstr(err.message, "5 clusters of 4 points"), "k > n: %s", err.message);
	o.k = 3;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_DATA &&
		  strstr(err.message, "3 clusters of 2 distinct points"), "k > distinct: %s", err.message);
	o.k = 2;
	CHECK(!KmeansRun(&t.env, dup, 4, 1, &o, &r, &err) && err.code == MINING_ERR_DATA,
		  "all points equal, k = 2 accepted");
	CHECK(!KmeansRun(&t.env, p, 0, 1, &o, &r, &err) && err.code == MINING_ERR_DATA &&
		  strstr(err.message, "no points"), "no points: %s", err.message);
	p[2] = NAN;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_DATA &&
		  strstr(err.message, "point 3"), "NaN: %s", err.message);
	p[2] = INFINITY;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_DATA,
		  "infinity accepted");
	p[2] = 1e300;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_DATA &&
		  strstr(err.message, "too large"), "1e300: %s", err.message);
	p[2] = 1;
	o.tolerance = -1;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_ARGUMENT,
		  "negative tolerance accepted");
	o.tolerance = NAN;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_ARGUMENT,
		  "NaN tolerance accepted");
	o = options(2);
	o.n_init = 0;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_ARGUMENT,
		  "n_init = 0 accepted");
	o = options(2);
	o.max_iterations = 0;
	CHECK(!KmeansRun(&t.env, p, 4, 1, &o, &r, &err) && err.code == MINING_ERR_ARGUMENT,
		  "max_iterations = 0 accepted");
	TestEnvReset(&t);
}

static void
test_limits_and_cancel(void)
{
	int		   *truth;
	int			nb = 4,
				per = 5000,
				dim = 3;
	double	   *X = make_blobs(nb, per, dim, &truth);
	TestEnv		t;
	MiningError err;
	KmeansResult r;
	KmeansOptions o = options(nb);
	void	   *p;

	/* the budget: 24 bytes per point of work arrays do not fit in 100 kB */
	TestEnvInit(&t, 100 * 1024);
	CHECK(!KmeansRun(&t.env, X, nb * per, dim, &o, &r, &err) && err.code == MINING_ERR_LIMIT &&
		  strstr(err.message, "memory limit"), "budget: %s", err.message);
	TestEnvReset(&t);

	/* canceled at the 1st, 5th, 50th interrupt check: stops, nothing leaks (TestEnvReset frees) */
	for (long after = 0; after <= 50; after = after ? after * 10 : 5)
	{
		TestEnvInit(&t, 0);
		t.interrupt_after = after;
		CHECK(!KmeansRun(&t.env, X, nb * per, dim, &o, &r, &err) && err.code == MINING_ERR_CANCELED,
			  "cancel after %ld checks not honoured", after);
		CHECK(t.checks == after + 1, "cancel after %ld: %ld checks", after, t.checks);
		TestEnvReset(&t);
	}

	/* the allocator: overflow, budget, realloc charging the difference */
	TestEnvInit(&t, 1000);
	CHECK(MiningAlloc(&t.env, SIZE_MAX / 2, 4, false, "huge", &err) == NULL &&
		  err.code == MINING_ERR_LIMIT && strstr(err.message, "huge"), "overflow: %s", err.message);
	p = MiningAlloc(&t.env, 100, 8, true, "block", &err);
	CHECK(p != NULL && t.env.used_bytes == 800, "alloc: %zu charged", t.env.used_bytes);
	CHECK(MiningRealloc(&t.env, p, 100, 200, 8, "block", &err) == NULL && err.code == MINING_ERR_LIMIT,
		  "realloc past the budget");
	CHECK(t.env.used_bytes == 800, "failed realloc changed the charge: %zu", t.env.used_bytes);
	p = MiningRealloc(&t.env, p, 100, 120, 8, "block", &err);
	CHECK(p != NULL && t.env.used_bytes == 960, "realloc: %zu charged", t.env.used_bytes);
	p = MiningRealloc(&t.env, p, 120, 10, 8, "block", &err);
	CHECK(p != NULL && t.env.used_bytes == 80, "shrink: %zu charged", t.env.used_bytes);
	t.env.realloc = NULL;		/* the fallback: alloc, copy, free */
	((double *) p)[9] = 42;
	p = MiningRealloc(&t.env, p, 10, 20, 8, "block", &err);
	CHECK(p != NULL && ((double *) p)[9] == 42 && t.env.used_bytes == 160, "fallback realloc");
	MiningFree(&t.env, p, 20, 8);
	CHECK(t.env.used_bytes == 0 && t.nblocks == 0, "free: %zu charged, %zu blocks",
		  t.env.used_bytes, t.nblocks);
	TestEnvReset(&t);
	free(X);
	free(truth);
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		fixtures = argv[1];
	test_hand();
	test_blobs();
	test_iris();
	test_errors();
	test_limits_and_cancel();
	printf("test_kmeans: %d passed, %d failed\n", test_passes, test_failures);
	return test_failures != 0;
}
