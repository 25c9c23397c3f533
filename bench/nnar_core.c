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

#include "mining/nnar.h"
#include "series_bench.h"

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
		size_t		n = read_series(line, &y, &ycap);
		MiningEnv	env = {0};
		MiningError err;
		NnarModel  *m;
		double		mean[14];
		bool		ok;

		bench_env(&env);
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
		return gen_series(atoi(argv[2]), atoi(argv[3]), strtoul(argv[4], NULL, 10), 0, argv[5]);
	if (argc == 7 && strcmp(argv[1], "fit") == 0)
		return fit(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
	fprintf(stderr, "usage: nnar_core gen N LEN SEED file.csv | fit file.csv p P size repeats\n");
	return 2;
}
