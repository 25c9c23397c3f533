/*
 * kmbench.c
 *		The kmeans core outside the server, for bench/kmeans.
 *
 *	kmbench gen N D K SEED SD points.csv points.bin
 *		N points of D coordinates around K centres (as scikit-learn's
 *		make_blobs: centres uniform in [-10, 10]^D, Gaussian noise of standard
 *		deviation SD), as CSV "id,f1,...,fD" for COPY and as raw float8.
 *	kmbench run points.bin N D K N_INIT
 *		the memory floor (one plain sequential pass summing every coordinate,
 *		best of 5) and the core alone on the same points (no SPI), with its
 *		figures. Times are CPU seconds of the thread (the machine is shared).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mining/kmeans.h"
#include "testenv.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t state;
static double
unif(void)
{
	/* splitmix64 */
	uint64_t	z = (state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	return ((z >> 11) + 0.5) * 0x1.0p-53;
}

static int
gen(size_t n, int d, int k, uint64_t seed, double sd, const char *csv, const char *bin)
{
	double	   *centres = malloc(sizeof(double) * k * d);
	double	   *row = malloc(sizeof(double) * d);
	FILE	   *fc = fopen(csv, "w"),
			   *fb = fopen(bin, "wb");

	if (!centres || !row || !fc || !fb)
	{
		perror("kmbench gen");
		return 1;
	}
	state = seed;
	for (int i = 0; i < k * d; i++)
		centres[i] = -10 + 20 * unif();
	for (size_t i = 0; i < n; i++)
	{
		int			c = (int) (unif() * k);

		fprintf(fc, "%zu", i + 1);
		for (int j = 0; j < d; j++)
		{
			/* Box-Muller */
			double		g = sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());

			row[j] = centres[c * d + j] + sd * g;
			fprintf(fc, ",%.17g", row[j]);
		}
		fputc('\n', fc);
		if (fwrite(row, sizeof(double), d, fb) != (size_t) d)
		{
			perror("kmbench gen");
			return 1;
		}
	}
	fclose(fc);
	fclose(fb);
	free(centres);
	free(row);
	return 0;
}

static int
run(const char *bin, size_t n, int d, int k, int n_init)
{
	double	   *X = malloc(sizeof(double) * n * d);
	FILE	   *fb = fopen(bin, "rb");
	double		best = INFINITY,
				sum = 0,
				t;
	TestEnv		te;
	KmeansOptions o = {.k = k,.max_iterations = 300,.n_init = n_init,.seed = 0,
	.tolerance = 1e-4,.scale = false};
	KmeansResult r;
	MiningError err;

	if (!X || !fb || fread(X, sizeof(double), n * d, fb) != n * d)
	{
		perror("kmbench run");
		return 1;
	}
	fclose(fb);

	/* the floor: read every coordinate once, in order */
	for (int rep = 0; rep < 5; rep++)
	{
		double		s = 0;

		t = now();
		for (size_t i = 0; i < n * d; i++)
			s += X[i];
		t = now() - t;
		sum += s;
		if (t < best)
			best = t;
	}
	printf("floor %.6f s (checksum %g)\n", best, sum);

	TestEnvInit(&te, 0);
	t = now();
	if (!KmeansRun(&te.env, X, n, d, &o, &r, &err))
	{
		fprintf(stderr, "kmbench: %s\n", err.message);
		return 1;
	}
	t = now() - t;
	printf("core %.3f s seeding %.3f s full %.3f s lloyd %.3f s iterations %d total_iterations %d "
		   "evals %llu skipped %llu total_ss %.6f peak %zu\n",
		   t, r.seeding_seconds, r.full_seconds, r.lloyd_seconds, r.iterations, r.total_iterations,
		   (unsigned long long) r.distance_evals, (unsigned long long) r.distance_skipped,
		   r.total_ss, te.env.peak_bytes);
	TestEnvReset(&te);
	free(X);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 9 && strcmp(argv[1], "gen") == 0)
		return gen(strtoull(argv[2], NULL, 10), atoi(argv[3]), atoi(argv[4]),
				   strtoull(argv[5], NULL, 10), atof(argv[6]), argv[7], argv[8]);
	if (argc == 7 && strcmp(argv[1], "run") == 0)
		return run(argv[2], strtoull(argv[3], NULL, 10), atoi(argv[4]), atoi(argv[5]),
				   atoi(argv[6]));
	fprintf(stderr, "usage: kmbench gen N D K SEED SD points.csv points.bin\n"
			"       kmbench run points.bin N D K N_INIT\n");
	return 2;
}
