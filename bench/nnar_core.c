/*
 * nnar_core.c
 *		bench/nnar's timing program: times the NNAR core (src/mining/nnar.c)
 *		on simulated daily series with weekly seasonality: fit + 14-step
 *		forecast per series. Writes the series as CSV (one series per line)
 *		so that R's nnetar can fit the very same ones.
 *
 *		nnar_core gen N LEN SEED file.csv          write the series
 *		nnar_core fit file.csv p P size repeats    time fits (period 7);
 *		                                            p = 0: chosen by AIC
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "mining/nnar.h"

static void *
b_alloc(void *ctx, size_t size)
{
	return malloc(size);
}

static void
b_free(void *ctx, void *p)
{
	free(p);
}

/* CPU seconds of this process (the machine may be shared) */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* a store's daily sales: level, weekly pattern, AR(1) noise, slow drift */
static int
gen(int n, int len, unsigned long seed, const char *path)
{
	gsl_rng    *rng = gsl_rng_alloc(gsl_rng_mt19937);
	FILE	   *f = fopen(path, "w");
	int			i,
				t;

	if (f == NULL)
		return 1;
	gsl_rng_set(rng, seed);
	for (i = 0; i < n; i++)
	{
		double		level = 500 + 1000 * gsl_rng_uniform(rng);
		double		week[7];
		double		u = 0,
					drift = gsl_ran_gaussian(rng, 0.05);

		for (t = 0; t < 7; t++)
			week[t] = gsl_ran_gaussian(rng, 0.15) * level;
		for (t = 0; t < len; t++)
		{
			u = 0.5 * u + gsl_ran_gaussian(rng, 0.05 * level);
			fprintf(f, "%s%.4f", t ? "," : "", level + week[t % 7] + u + drift * t);
		}
		fputc('\n', f);
	}
	fclose(f);
	gsl_rng_free(rng);
	return 0;
}

static int
fit(const char *path, int p, int P, int size, int repeats)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	double	   *y = NULL;
	size_t		ycap = 0;
	int			nser = 0,
				failed = 0;
	double		t0,
				total = 0,
				checksum = 0,
				w0 = wall();
	NnarSpec	spec;
	char		name[64] = "";

	NnarDefaults(&spec);
	spec.p = p > 0 ? p : -1;
	spec.P = P;
	spec.m = 7;
	spec.size = size > 0 ? size : -1;
	spec.repeats = repeats;
	if (f == NULL)
		return 1;
	while (getline(&line, &cap, f) > 0)
	{
		size_t		n = 0;
		char	   *s = line,
				   *end;
		MiningEnv	env = {0};
		MiningError err;
		NnarModel  *m;
		double		mean[14];
		bool		ok;

		for (;;)
		{
			double		v = strtod(s, &end);

			if (end == s)
				break;
			if (n == ycap)
			{
				ycap = ycap ? 2 * ycap : 1024;
				y = realloc(y, ycap * sizeof(double));
			}
			y[n++] = v;
			s = end;
			if (*s == ',')
				s++;
		}
		env.alloc = b_alloc;
		env.free = b_free;
		spec.seed = (unsigned long) nser;
		t0 = now();
		ok = NnarFit(&env, y, n, &spec, &m, &err);
		if (ok)
			ok = NnarForecast(&env, m, 14, mean, &err);
		total += now() - t0;
		nser++;
		if (!ok)
		{
			failed++;
			fprintf(stderr, "series %d: %s\n", nser, err.message);
			continue;
		}
		checksum += mean[13];
		NnarModelName(m, name, sizeof(name));
		NnarFree(&env, m);
	}
	printf("megamarket %-16s %4d series %2d failed  %.4f s CPU per series  (%.1f s CPU, %.1f s wall)  mean 14-step forecast %.6g\n",
		   name, nser, failed, total / nser, total, wall() - w0, checksum / (nser - failed));
	free(line);
	free(y);
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "gen") == 0)
		return gen(atoi(argv[2]), atoi(argv[3]), strtoul(argv[4], NULL, 10), argv[5]);
	if (argc == 7 && strcmp(argv[1], "fit") == 0)
		return fit(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
	fprintf(stderr, "usage: nnar_core gen N LEN SEED file.csv | fit file.csv p P size repeats\n");
	return 2;
}
