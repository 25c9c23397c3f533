/*
 * test_arima.c
 *		The ARIMA core (src/mining/arima.c) against R: every case of
 *		reference.txt (written by make_reference.R with stats::arima and
 *		forecast::Arima) is fitted again and compared to 3 significant
 *		digits (coefficients, standard errors, sigma^2, log-likelihood, AIC,
 *		forecasts and their standard errors); a simulated ARMA with known
 *		parameters is recovered; bad input and cancellation give their
 *		errors. Built with ASan/UBSan by the Makefile beside it.
 *
 *		./test_arima [-v] [reference.txt] [data-dir]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "mining/arima.h"

static int	failures = 0;
static int	checks = 0;
static int	verbose = 0;
static long cancel_after = -1;	/* interrupted() says yes after this many calls */
static long calls = 0;

static void *
t_alloc(void *ctx, size_t size)
{
	return malloc(size);
}

static void
t_free(void *ctx, void *p)
{
	free(p);
}

static bool
t_interrupted(void *ctx)
{
	calls++;
	return cancel_after >= 0 && calls > cancel_after;
}

static void
env_init(MiningEnv *env)
{
	memset(env, 0, sizeof(*env));
	env->alloc = t_alloc;
	env->free = t_free;
	env->interrupted = t_interrupted;
}

/* |got - want| within rel of want (or abs_floor), counted */
static void
check(const char *cs, const char *what, double got, double want, double rel, double abs_floor)
{
	double		tol = fmax(rel * fabs(want), abs_floor);
	bool		ok;

	checks++;
	if (isnan(want))
		ok = isnan(got);
	else
		ok = fabs(got - want) <= tol;
	if (!ok)
	{
		failures++;
		printf("FAIL %s %s: got %.10g, R %.10g (diff %.3g, tol %.3g)\n", cs, what, got, want,
			   fabs(got - want), tol);
	}
	else if (verbose)
		printf("ok   %s %s: %.8g vs %.8g (rel %.2g)\n", cs, what, got, want,
			   want != 0 ? fabs(got - want) / fabs(want) : fabs(got));
}

static double *
load_data(const char *dir, const char *name, size_t *n)
{
	char		path[512];
	FILE	   *f;
	char		line[128];
	size_t		cap = 64;
	double	   *v = malloc(cap * sizeof(double));

	snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
	f = fopen(path, "r");
	if (f == NULL)
	{
		printf("cannot open %s\n", path);
		exit(2);
	}
	*n = 0;
	while (fgets(line, sizeof(line), f))
	{
		if (*n == cap)
		{
			cap *= 2;
			v = realloc(v, cap * sizeof(double));
		}
		v[(*n)++] = strncmp(line, "NA", 2) == 0 ? NAN : strtod(line, NULL);
	}
	fclose(f);
	return v;
}

typedef struct RefCase
{
	char		name[64],
				data[64],
				method[16];
	ArimaSpec	spec;
	int			ncoef;
	char		term[ARIMA_MAX_COEF][16];
	double		coef[ARIMA_MAX_COEF],
				se[ARIMA_MAX_COEF];
	double		sigma2,
				loglik,
				aic;
	int			h;
	double		fc[64],
				fse[64];
} RefCase;

static void
run_case(const RefCase *rc, const char *dir)
{
	MiningEnv	env;
	MiningError err;
	ArimaModel *m;
	size_t		n;
	double	   *y = load_data(dir, rc->data, &n);
	double		mean[64],
				se[64];
	int			i,
				j;

	env_init(&env);
	if (!ArimaFit(&env, y, n, &rc->spec, &m, &err))
	{
		failures++;
		printf("FAIL %s: %s (%s)\n", rc->name, err.message, err.detail);
		free(y);
		return;
	}
	if (verbose)
		printf("-- %s: %d iterations\n", rc->name, m->iterations);
	check(rc->name, "ncoef", m->ncoef, rc->ncoef, 0, 0);
	for (i = 0; i < rc->ncoef && i < m->ncoef; i++)
	{
		char		what[64];
		/* 3 significant digits; a coefficient near zero to 1e-3 of its s.e. */
		double		floor = 1e-3 * rc->se[i];

		j = i;
		if (strcmp(m->term[j], rc->term[i]) != 0 &&
			!(strcmp(rc->term[i], "intercept") == 0 && strcmp(m->term[j], "intercept") == 0))
		{
			failures++;
			printf("FAIL %s: term %d is %s, R has %s\n", rc->name, i, m->term[j], rc->term[i]);
		}
		snprintf(what, sizeof(what), "coef %s", rc->term[i]);
		check(rc->name, what, m->coef[j], rc->coef[i], 1e-3, floor);
		snprintf(what, sizeof(what), "se %s", rc->term[i]);
		check(rc->name, what, m->se[j], rc->se[i], 1e-3, 0);
	}
	check(rc->name, "sigma2", m->sigma2, rc->sigma2, 1e-3, 0);
	check(rc->name, "loglik", m->loglik, rc->loglik, 1e-3, 1e-3);
	check(rc->name, "aic", m->aic, rc->aic, 1e-3, 1e-3);
	if (!ArimaForecast(&env, m, rc->h, mean, se, &err))
	{
		failures++;
		printf("FAIL %s forecast: %s\n", rc->name, err.message);
	}
	else
		for (i = 0; i < rc->h; i++)
		{
			char		what[64];

			snprintf(what, sizeof(what), "forecast %d", i + 1);
			/* the mean to 1e-3 of its standard error as well */
			check(rc->name, what, mean[i], rc->fc[i], 1e-3, 1e-3 * rc->fse[i]);
			snprintf(what, sizeof(what), "forecast se %d", i + 1);
			check(rc->name, what, se[i], rc->fse[i], 1e-3, 0);
		}
	ArimaFree(&env, m);
	if (env.used_bytes != 0)
	{
		failures++;
		printf("FAIL %s: %zu bytes not given back\n", rc->name, env.used_bytes);
	}
	free(y);
}

static void
run_reference(const char *ref, const char *dir)
{
	FILE	   *f = fopen(ref, "r");
	char		line[512];
	RefCase		rc;
	int			ncases = 0;

	if (f == NULL)
	{
		printf("cannot open %s\n", ref);
		exit(2);
	}
	memset(&rc, 0, sizeof(rc));
	while (fgets(line, sizeof(line), f))
	{
		char		key[32];

		if (sscanf(line, "%31s", key) != 1)
			continue;
		if (strcmp(key, "case") == 0)
		{
			memset(&rc, 0, sizeof(rc));
			sscanf(line, "case %63s", rc.name);
		}
		else if (strcmp(key, "data") == 0)
			sscanf(line, "data %63s", rc.data);
		else if (strcmp(key, "order") == 0)
			sscanf(line, "order %d %d %d %d %d %d %d", &rc.spec.p, &rc.spec.d, &rc.spec.q,
				   &rc.spec.P, &rc.spec.D, &rc.spec.Q, &rc.spec.s);
		else if (strcmp(key, "mean") == 0)
		{
			int			mn,
						dr;

			sscanf(line, "mean %d %d", &mn, &dr);
			rc.spec.include_mean = mn;
			rc.spec.include_drift = dr;
		}
		else if (strcmp(key, "method") == 0)
		{
			sscanf(line, "method %15s", rc.method);
			if (!ArimaMethodParse(rc.method, &rc.spec.method))
			{
				printf("bad method %s\n", rc.method);
				exit(2);
			}
		}
		else if (strcmp(key, "coef") == 0)
		{
			sscanf(line, "coef %15s %lf %lf", rc.term[rc.ncoef], &rc.coef[rc.ncoef], &rc.se[rc.ncoef]);
			rc.ncoef++;
		}
		else if (strcmp(key, "sigma2") == 0)
			sscanf(line, "sigma2 %lf", &rc.sigma2);
		else if (strcmp(key, "loglik") == 0)
			sscanf(line, "loglik %lf", &rc.loglik);
		else if (strcmp(key, "aic") == 0)
		{
			char		v[64];

			sscanf(line, "aic %63s", v);
			rc.aic = strcmp(v, "NaN") == 0 ? NAN : strtod(v, NULL);
		}
		else if (strcmp(key, "fc") == 0)
		{
			int			i;
			double		a,
						b;

			sscanf(line, "fc %d %lf %lf", &i, &a, &b);
			rc.fc[i - 1] = a;
			rc.fse[i - 1] = b;
			rc.h = i;
		}
		else if (strcmp(key, "end") == 0)
		{
			run_case(&rc, dir);
			ncases++;
		}
	}
	fclose(f);
	printf("reference: %d cases from %s\n", ncases, ref);
}

/*
 * A simulated ARMA(2,1) with mean and a seasonal ARIMA(1,0,1)(0,1,1)[7],
 * known parameters, n = 3000: each estimate within 4 standard errors of
 * the truth.
 */
static void
run_simulated(void)
{
	gsl_rng    *rng = gsl_rng_alloc(gsl_rng_mt19937);
	size_t		n = 3000,
				burn = 500,
				t;
	double	   *y = malloc((n + burn) * sizeof(double));
	double	   *e = malloc((n + burn) * sizeof(double));
	MiningEnv	env;
	MiningError err;
	ArimaModel *m;
	ArimaSpec	spec = {0};
	const double truth[] = {0.6, -0.3, 0.4, 50.0};
	int			i;

	gsl_rng_set(rng, 42);
	env_init(&env);
	for (t = 0; t < n + burn; t++)
	{
		e[t] = gsl_ran_gaussian(rng, 2.0);
		y[t] = e[t];
		if (t >= 1)
			y[t] += 0.6 * y[t - 1] + 0.4 * e[t - 1];
		if (t >= 2)
			y[t] += -0.3 * y[t - 2];
	}
	for (t = 0; t < n; t++)
		y[t] = y[t + burn] + 50.0;
	spec.p = 2;
	spec.q = 1;
	spec.include_mean = true;
	if (!ArimaFit(&env, y, n, &spec, &m, &err))
	{
		failures++;
		printf("FAIL simulated ARMA(2,1): %s\n", err.message);
	}
	else
	{
		for (i = 0; i < 4; i++)
		{
			checks++;
			if (fabs(m->coef[i] - truth[i]) > 4 * m->se[i])
			{
				failures++;
				printf("FAIL simulated ARMA(2,1) %s: %g (se %g), truth %g\n", m->term[i], m->coef[i], m->se[i], truth[i]);
			}
			else if (verbose)
				printf("ok   simulated %s: %g (se %g), truth %g\n", m->term[i], m->coef[i], m->se[i], truth[i]);
		}
		checks++;
		if (fabs(m->sigma2 - 4.0) > 0.3)
		{
			failures++;
			printf("FAIL simulated sigma2 %g, truth 4\n", m->sigma2);
		}
		ArimaFree(&env, m);
	}

	/* seasonal: (1 - 0.5B)(1 - B^7) y = (1 + 0.3B)(1 - 0.6B^7) e */
	for (t = 0; t < n + burn; t++)
	{
		double		v = e[t];

		if (t >= 1)
			v += 0.3 * e[t - 1];
		if (t >= 7)
			v += -0.6 * e[t - 7];
		if (t >= 8)
			v += -0.18 * e[t - 8];
		/* w_t = 0.5 w_{t-1} + v; y_t = y_{t-7} + w_t */
		y[t] = v;
	}
	{
		double	   *wv = malloc((n + burn) * sizeof(double));
		const double st[] = {0.5, 0.3, -0.6};

		for (t = 0; t < n + burn; t++)
		{
			wv[t] = y[t] + (t >= 1 ? 0.5 * wv[t - 1] : 0.0);
			y[t] = wv[t] + (t >= 7 ? y[t - 7] : 0.0);
		}
		for (t = 0; t < n; t++)
			y[t] = y[t + burn];
		memset(&spec, 0, sizeof(spec));
		spec.p = 1;
		spec.q = 1;
		spec.D = 1;
		spec.Q = 1;
		spec.s = 7;
		if (!ArimaFit(&env, y, n, &spec, &m, &err))
		{
			failures++;
			printf("FAIL simulated seasonal: %s\n", err.message);
		}
		else
		{
			for (i = 0; i < 3; i++)
			{
				checks++;
				if (fabs(m->coef[i] - st[i]) > 4 * m->se[i])
				{
					failures++;
					printf("FAIL simulated seasonal %s: %g (se %g), truth %g\n", m->term[i], m->coef[i], m->se[i], st[i]);
				}
				else if (verbose)
					printf("ok   simulated seasonal %s: %g (se %g), truth %g\n", m->term[i], m->coef[i], m->se[i], st[i]);
			}
			ArimaFree(&env, m);
		}
		free(wv);
	}
	free(y);
	free(e);
	gsl_rng_free(rng);
}

/*
 * Two filters, one likelihood: a series without missing values is fitted
 * through the Chandrasekhar recursions (O(r) a step), the same series with
 * a missing value appended through the Kalman filter that updates P
 * (O(r^2) a step); the missing value adds nothing to the likelihood. The
 * test differences the series itself (d, D) and fits the ARMA part, so
 * both runs take the ARMA filter (with d + D > 0 and a missing value the
 * fit would take the diffuse filter, kappa = 1e6, which differs by ~1e-5).
 * Both ML fits must agree: log-likelihood to 1e-8, coefficients to 1e-3
 * (the over-parametrised (2,0,3)(2,1,2) has a flat likelihood: its optimum
 * moves by 1e-4 when the objective changes in the last digits).
 */
static void
run_filters(const char *dir)
{
	static const struct
	{
		const char *data;
		int			p, d, q, P, D, Q, s;
		bool		mean;
	}			cases[] = {
		{"lh", 1, 0, 0, 0, 0, 0, 0, true},
		{"lh", 3, 0, 0, 0, 0, 0, 0, true},
		{"lh", 1, 0, 1, 0, 0, 0, 0, true},
		{"LakeHuron", 2, 0, 0, 0, 0, 0, 0, true},
		{"LakeHuron", 1, 0, 2, 0, 0, 0, 0, true},
		{"WWWusage", 1, 1, 1, 0, 0, 0, 0, false},
		{"USAccDeaths", 0, 1, 1, 0, 1, 1, 12, false},
		{"logAirPassengers", 0, 1, 1, 0, 1, 1, 12, false},
		{"logAirPassengers", 2, 1, 1, 1, 1, 0, 12, false},
		{"nottem", 1, 0, 0, 2, 0, 0, 12, true},
		{"sim7", 1, 0, 1, 0, 1, 1, 7, false},
		{"sim7", 1, 0, 1, 1, 1, 1, 7, false},
		{"sim7", 2, 0, 3, 2, 1, 2, 7, false},
		/* long seasonal polynomials: a 49-term AR, a 29-term MA */
		{"nottem", 1, 0, 0, 4, 0, 0, 12, true},
		{"sim7", 0, 0, 1, 0, 1, 4, 7, false},
	};
	int			c,
				i;

	for (c = 0; c < (int) (sizeof(cases) / sizeof(cases[0])); c++)
	{
		size_t		n,
					t;
		double	   *y = load_data(dir, cases[c].data, &n);
		double	   *y2 = malloc((n + 1) * sizeof(double));
		ArimaSpec	spec = {0};
		ArimaModel *m1,
				   *m2;
		MiningEnv	env;
		MiningError err;
		char		name[96];

		env_init(&env);
		for (i = 0; i < cases[c].d; i++, n--)
			for (t = 0; t + 1 < n; t++)
				y[t] = y[t + 1] - y[t];
		for (i = 0; i < cases[c].D; i++, n -= cases[c].s)
			for (t = 0; t + cases[c].s < n; t++)
				y[t] = y[t + cases[c].s] - y[t];
		memcpy(y2, y, n * sizeof(double));
		y2[n] = NAN;
		spec.p = cases[c].p;
		spec.q = cases[c].q;
		spec.P = cases[c].P;
		spec.Q = cases[c].Q;
		spec.s = cases[c].s;
		spec.include_mean = cases[c].mean;
		spec.method = ARIMA_ML;
		snprintf(name, sizeof(name), "filters %s (%d,%d,%d)(%d,%d,%d)[%d]", cases[c].data,
				 spec.p, cases[c].d, spec.q, spec.P, cases[c].D, spec.Q, spec.s);
		if (!ArimaFit(&env, y, n, &spec, &m1, &err))
		{
			failures++;
			printf("FAIL %s: %s\n", name, err.message);
		}
		else if (!ArimaFit(&env, y2, n + 1, &spec, &m2, &err))
		{
			failures++;
			printf("FAIL %s with a missing value: %s\n", name, err.message);
			ArimaFree(&env, m1);
		}
		else
		{
			check(name, "loglik", m1->loglik, m2->loglik, 1e-8, 0);
			for (i = 0; i < m1->ncoef; i++)
				check(name, m1->term[i], m1->coef[i], m2->coef[i], 1e-3, 1e-3);
			ArimaFree(&env, m1);
			ArimaFree(&env, m2);
		}
		free(y);
		free(y2);
	}
}

/* one bad input: the fit must fail with code, nothing left allocated */
static void
expect_error(const char *what, const double *y, size_t n, const ArimaSpec *spec,
			 MiningErrorCode code)
{
	MiningEnv	env;
	MiningError err;
	ArimaModel *m = NULL;

	env_init(&env);
	checks++;
	if (ArimaFit(&env, y, n, spec, &m, &err))
	{
		failures++;
		printf("FAIL %s: fitted, expected error %d\n", what, code);
		ArimaFree(&env, m);
		return;
	}
	if (err.code != code || env.used_bytes != 0 || m != NULL)
	{
		failures++;
		printf("FAIL %s: code %d (want %d), %zu bytes left: %s\n", what, err.code, code,
			   env.used_bytes, err.message);
	}
	else if (verbose)
		printf("ok   %s: %s\n", what, err.message);
}

static void
run_hostile(const char *dir)
{
	size_t		n;
	double	   *y = load_data(dir, "lh", &n);
	double		c[100];
	double	   *big;
	ArimaSpec	spec = {0};
	int			i;

	for (i = 0; i < 100; i++)
		c[i] = 7.0;
	spec.p = 1;
	spec.include_mean = true;
	expect_error("constant series", c, 100, &spec, MINING_ERR_DATA);
	for (i = 0; i < 100; i++)
		c[i] = i;
	spec.d = 1;
	expect_error("linear series, d = 1", c, 100, &spec, MINING_ERR_DATA);
	spec.d = 0;
	expect_error("too short", y, 3, &spec, MINING_ERR_DATA);
	expect_error("empty", y, 0, &spec, MINING_ERR_DATA);
	spec.p = 21;
	expect_error("p too large", y, n, &spec, MINING_ERR_ARGUMENT);
	spec.p = -1;
	expect_error("negative p", y, n, &spec, MINING_ERR_ARGUMENT);
	spec.p = 1;
	spec.d = 3;
	expect_error("d too large", y, n, &spec, MINING_ERR_ARGUMENT);
	spec.d = 0;
	spec.P = 1;
	spec.s = 1;
	expect_error("seasonal period 1", y, n, &spec, MINING_ERR_ARGUMENT);
	spec.s = 366;
	spec.P = 2;
	expect_error("state too large", y, n, &spec, MINING_ERR_ARGUMENT);
	spec.P = 0;
	spec.s = 0;
	for (i = 0; i < 48; i++)
		c[i] = y[i];
	c[10] = INFINITY;
	expect_error("infinite value", c, 48, &spec, MINING_ERR_DATA);
	for (i = 0; i < 48; i++)
		c[i] = NAN;
	expect_error("all missing", c, 48, &spec, MINING_ERR_DATA);
	/* beyond 1e150 the squares would overflow: an error, not a wrong fit */
	for (i = 0; i < 48; i++)
		c[i] = y[i] * 1e200;
	expect_error("values too large", c, 48, &spec, MINING_ERR_DATA);
	/* huge values below that: scale does not matter */
	for (i = 0; i < 48; i++)
		c[i] = y[i] * 1e140;
	{
		MiningEnv	env;
		MiningError err;
		ArimaModel *m;

		env_init(&env);
		checks++;
		if (!ArimaFit(&env, c, 48, &spec, &m, &err))
		{
			failures++;
			printf("FAIL huge values: %s\n", err.message);
		}
		else
		{
			if (fabs(m->coef[0] - 0.5739) > 1e-3)
			{
				failures++;
				printf("FAIL huge values: ar1 %g\n", m->coef[0]);
			}
			ArimaFree(&env, m);
		}
	}
	/* a memory budget too small */
	{
		MiningEnv	env;
		MiningError err;
		ArimaModel *m;

		env_init(&env);
		env.max_bytes = 1000;
		checks++;
		if (ArimaFit(&env, y, n, &spec, &m, &err) || err.code != MINING_ERR_LIMIT || env.used_bytes != 0)
		{
			failures++;
			printf("FAIL memory budget: code %d\n", err.code);
		}
	}
	/* cancel: after a few interrupt checks the fit stops with CANCELED */
	big = malloc(200000 * sizeof(double));
	for (i = 0; i < 200000; i++)
		big[i] = sin(i * 0.9) + 0.01 * (i % 13);
	spec.p = 2;
	spec.q = 1;
	calls = 0;
	cancel_after = 5;
	expect_error("canceled", big, 200000, &spec, MINING_ERR_CANCELED);
	cancel_after = -1;
	free(big);
	free(y);
}

/*
 * Automatic selection against forecast::auto.arima (reference_auto.txt):
 * the same orders, constant and AICc.
 */
static void
run_auto(const char *ref, const char *dir)
{
	FILE	   *f = fopen(ref, "r");
	char		line[512];

	if (f == NULL)
	{
		printf("cannot open %s\n", ref);
		exit(2);
	}
	while (fgets(line, sizeof(line), f))
	{
		char		name[64];
		int			s,
					o[6],
					mean,
					drift;
		double		aicc;
		size_t		n;
		double	   *y;
		MiningEnv	env;
		MiningError err;
		ArimaModel *m;
		ArimaAutoSpec spec;

		if (sscanf(line, "auto %63s %d %d %d %d %d %d %d %d %d %lf", name, &s, &o[0], &o[1],
				   &o[2], &o[3], &o[4], &o[5], &mean, &drift, &aicc) != 11)
			continue;
		y = load_data(dir, name, &n);
		env_init(&env);
		ArimaAutoDefaults(&spec, s);
		checks++;
		if (!ArimaAuto(&env, y, n, &spec, &m, &err))
		{
			failures++;
			printf("FAIL auto %s: %s\n", name, err.message);
			free(y);
			continue;
		}
		if (m->spec.p != o[0] || m->spec.d != o[1] || m->spec.q != o[2] ||
			m->spec.P != o[3] || m->spec.D != o[4] || m->spec.Q != o[5] ||
			m->has_mean != mean || m->has_drift != drift)
		{
			failures++;
			printf("FAIL auto %s: ARIMA(%d,%d,%d)(%d,%d,%d)[%d] mean %d drift %d AICc %.4f; "
				   "auto.arima ARIMA(%d,%d,%d)(%d,%d,%d) mean %d drift %d AICc %.4f\n",
				   name, m->spec.p, m->spec.d, m->spec.q, m->spec.P, m->spec.D, m->spec.Q, s,
				   m->has_mean, m->has_drift, m->aicc, o[0], o[1], o[2], o[3], o[4], o[5],
				   mean, drift, aicc);
		}
		else
			check(name, "auto AICc", m->aicc, aicc, 1e-4, 1e-3);
		ArimaFree(&env, m);
		if (env.used_bytes != 0)
		{
			failures++;
			printf("FAIL auto %s: %zu bytes not given back\n", name, env.used_bytes);
		}
		free(y);
	}
	fclose(f);
}

int
main(int argc, char **argv)
{
	const char *ref = "reference.txt";
	const char *dir = "data";
	const char *auto_ref = "reference_auto.txt";
	int			argi = 1;

	if (argi < argc && strcmp(argv[argi], "-v") == 0)
	{
		verbose = 1;
		argi++;
	}
	if (argi < argc)
		ref = argv[argi++];
	if (argi < argc)
		dir = argv[argi++];
	if (argi < argc)
		auto_ref = argv[argi++];
	run_reference(ref, dir);
	run_auto(auto_ref, dir);
	run_simulated();
	run_filters(dir);
	run_hostile(dir);
	printf("%d checks, %d failed\n", checks, failures);
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures == 0 ? 0 : 1;
}
