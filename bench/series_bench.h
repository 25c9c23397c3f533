/*
 * series_bench.h
 *		What bench/arima_core.c and bench/nnar_core.c share: a malloc-backed
 *		MiningEnv, the clocks, the simulated daily series both write for R to
 *		fit too, and the reader of one CSV line of a series. Header-only
 *		(static functions): each timing program is one file built by its
 *		bench script.
 */
#ifndef SERIES_BENCH_H
#define SERIES_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "mining/mining.h"

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

/* an environment on malloc, no interrupts, no limits */
static inline void
bench_env(MiningEnv *env)
{
	*env = (MiningEnv) {0};
	env->alloc = b_alloc;
	env->free = b_free;
}

/* CPU seconds of this process (the machine may be shared) */
static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * n series of len days, one a line: a store's daily sales: level, weekly
 * pattern, ARMA(1,1) noise (u = 0.5 u + e + ma e_prev; ma = 0: AR(1)),
 * slow drift.
 */
static inline int
gen_series(int n, int len, unsigned long seed, double ma, const char *path)
{
	gsl_rng    *rng = gsl_rng_alloc(gsl_rng_mt19937);
	FILE	   *f = fopen(path, "w");

	if (f == NULL)
		return 1;
	gsl_rng_set(rng, seed);
	for (int i = 0; i < n; i++)
	{
		double		level = 500 + 1000 * gsl_rng_uniform(rng);
		double		week[7];
		double		e_prev = 0,
					u = 0,
					drift = gsl_ran_gaussian(rng, 0.05);

		for (int t = 0; t < 7; t++)
			week[t] = gsl_ran_gaussian(rng, 0.15) * level;
		for (int t = 0; t < len; t++)
		{
			double		e = gsl_ran_gaussian(rng, 0.05 * level);

			u = 0.5 * u + e + ma * e_prev;
			e_prev = e;
			fprintf(f, "%s%.4f", t ? "," : "", level + week[t % 7] + u + drift * t);
		}
		fputc('\n', f);
	}
	fclose(f);
	gsl_rng_free(rng);
	return 0;
}

/* the comma-separated values of one line into *y (grown as needed); their count */
static inline size_t
read_series(const char *line, double **y, size_t *ycap)
{
	size_t		n = 0;
	const char *s = line;
	char	   *end;

	for (;;)
	{
		double		v = strtod(s, &end);

		if (end == s)
			break;
		if (n == *ycap)
		{
			*ycap = *ycap ? 2 * *ycap : 1024;
			*y = realloc(*y, *ycap * sizeof(double));
			if (*y == NULL)
			{
				perror("realloc");
				exit(1);
			}
		}
		(*y)[n++] = v;
		s = end;
		if (*s == ',')
			s++;
	}
	return n;
}

#endif							/* SERIES_BENCH_H */
