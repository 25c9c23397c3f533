/*
 * arima_core.c
 *		bench/arima's timing program: times the ARIMA core (src/mining/arima.c) on simulated daily series
 *		with weekly seasonality: fit + 14-step forecast per series, for a
 *		fixed order and for automatic selection. Writes the series as CSV
 *		(one series per line) so that R can fit the very same ones.
 *
 *		arima_core gen N LEN SEED file.csv      write the series
 *		arima_core fit file.csv ORDER|auto [orders.txt]
 *		                                        time fits; prints seconds
 *		                                        per series and a checksum;
 *		                                        writes each series' chosen
 *		                                        orders "p d q P D Q constant"
 *		                                        (auto) to orders.txt
 *		ORDER: p,d,q,P,D,Q,s (e.g. 1,0,1,1,1,1,7)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mining/arima.h"
#include "series_bench.h"

static int
fit(const char *path, const char *order, const char *orders_path)
{
	FILE	   *f = fopen(path, "r"),
			   *of = NULL;
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
	ArimaSpec	spec;
	bool		is_auto = strcmp(order, "auto") == 0;
	int			models[64] = {0};

	memset(&spec, 0, sizeof(spec));
	if (!is_auto && sscanf(order, "%d,%d,%d,%d,%d,%d,%d", &spec.p, &spec.d, &spec.q, &spec.P,
						   &spec.D, &spec.Q, &spec.s) != 7)
		return 2;
	spec.include_mean = true;
	if (f == NULL)
		return 1;
	if (orders_path != NULL && (of = fopen(orders_path, "w")) == NULL)
		return 1;
	while (getline(&line, &cap, f) > 0)
	{
		size_t		n = read_series(line, &y, &ycap);
		MiningEnv	env = {0};
		MiningError err;
		ArimaModel *m;
		double		mean[14],
					se[14];
		bool		ok;

		bench_env(&env);
		t0 = now();
		if (is_auto)
		{
			ArimaAutoSpec as;

			ArimaAutoDefaults(&as, 7);
			ok = ArimaAuto(&env, y, n, &as, &m, &err);
		}
		else
			ok = ArimaFit(&env, y, n, &spec, &m, &err);
		if (ok)
			ok = ArimaForecast(&env, m, 14, mean, se, &err);
		total += now() - t0;
		nser++;
		if (!ok)
		{
			failed++;
			fprintf(stderr, "series %d: %s\n", nser, err.message);
			if (of)
				fprintf(of, "failed\n");
			continue;
		}
		checksum += mean[13];
		if (of)
			fprintf(of, "%d %d %d %d %d %d %d\n", m->spec.p, m->spec.d, m->spec.q, m->spec.P,
					m->spec.D, m->spec.Q, m->has_mean || m->has_drift);
		if (is_auto)
			models[(m->spec.p + m->spec.q + m->spec.P + m->spec.Q) % 64]++;
		ArimaFree(&env, m);
	}
	printf("megamarket %-14s %5d series %3d failed  %.4f s CPU per series  (%.1f s CPU, %.1f s wall)  mean 14-step forecast %.6g\n",
		   order, nser, failed, total / nser, total, wall() - w0, checksum / (nser - failed));
	if (is_auto)
	{
		int			k;

		printf("  orders chosen (p+q+P+Q: series):");
		for (k = 0; k < 64; k++)
			if (models[k])
				printf(" %d: %d", k, models[k]);
		printf("\n");
	}
	free(line);
	free(y);
	fclose(f);
	if (of)
		fclose(of);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "gen") == 0)
		return gen_series(atoi(argv[2]), atoi(argv[3]), strtoul(argv[4], NULL, 10), 0.3, argv[5]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "fit") == 0)
		return fit(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	fprintf(stderr, "usage: arima_core gen N LEN SEED file.csv | fit file.csv ORDER|auto [orders.txt]\n");
	return 2;
}
