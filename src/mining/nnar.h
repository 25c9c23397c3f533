/*
 * nnar.h
 *		Neural network autoregression, as R's forecast::nnetar defines it:
 *		lagged values of the scaled series (p non-seasonal lags, P seasonal
 *		lags at the period m) feed one hidden layer of logistic units and a
 *		linear output; each net is fitted by least squares with weight decay
 *		(BFGS, GSL multimin) from random starts, and the forecast is the
 *		average of the nets iterated step by step. Prediction intervals by
 *		simulating future innovations. No backend headers: the core builds
 *		alone into test/mining/nnar and bench/nnar.
 */
#ifndef MEGAMARKET_NNAR_H
#define MEGAMARKET_NNAR_H

#include "mining/mining.h"

/* limits (an argument past them is "out of range", 22023) */
#define NNAR_MAX_P			100		/* p */
#define NNAR_MAX_SP			10		/* P */
#define NNAR_MAX_PERIOD		366		/* m */
#define NNAR_MAX_SIZE		100		/* hidden units */
#define NNAR_MAX_WEIGHTS	10000	/* weights of one net */
#define NNAR_MAX_REPEATS	1000	/* nets averaged */
#define NNAR_MAX_MAXIT		10000	/* BFGS iterations per net */
#define NNAR_MAX_NPATHS		100000	/* simulated paths for intervals */
#define NNAR_MAX_HORIZON	100000

typedef struct NnarSpec
{
	int			p;				/* non-seasonal lags 1..p; < 0: by AIC (as nnetar) */
	int			P;				/* seasonal lags m, 2m, .. Pm (ignored when m <= 1) */
	int			m;				/* seasonal period; <= 1: none */
	int			size;			/* hidden units; < 0: round((lags + 1) / 2) */
	int			repeats;		/* nets averaged (nnetar: 20) */
	double		decay;			/* weight decay (nnetar: 0) */
	int			maxit;			/* BFGS iterations per net (nnet: 100) */
	unsigned long seed;			/* GSL mt19937 seed: the same call, the same nets */
	bool		scale_inputs;	/* centre and scale the series (nnetar: true) */
} NnarSpec;

typedef struct NnarModel
{
	NnarSpec	spec;			/* as fitted: p, P, size resolved */
	int			nlags;			/* inputs */
	int		   *lags;			/* nlags lags, increasing */
	int			maxlag;
	int			nweights;		/* of one net: (nlags + 1) size + size + 1 */
	double	   *weights;		/* repeats x nweights, in nnet's order */
	double		center,
				scale;			/* y scaled = (y - center) / scale */
	double	   *tail;			/* the last maxlag scaled values, newest first */
	size_t		n;				/* series length */
	size_t		nrows;			/* training rows (complete lags and target) */
	double	   *resid;			/* nrows scaled residuals of the averaged net */
	double		sigma2;			/* residual variance, in y's units */
	int			nets_converged; /* nets whose BFGS met a stopping rule before maxit */
	double		mean_iterations;
} NnarModel;

extern void NnarDefaults(NnarSpec *spec);

/* Check arguments alone (MINING_ERR_ARGUMENT naming the argument). */
extern bool NnarCheckSpec(const NnarSpec *spec, MiningError *err);

/*
 * Fit spec to y[0..n-1] (NaN = missing: rows with a missing lag or target
 * are left out). On success *out is a model allocated through env
 * (NnarFree). MINING_ERR_DATA for a series too short for the lags or
 * constant, MINING_ERR_LIMIT for too many weights or memory,
 * MINING_ERR_CANCELED when env says so.
 */
extern bool NnarFit(MiningEnv *env, const double *y, size_t n, const NnarSpec *spec,
					NnarModel **out, MiningError *err);

/* Point forecasts, h steps: the average of the nets, iterated. */
extern bool NnarForecast(MiningEnv *env, const NnarModel *m, int h, double *mean,
						 MiningError *err);

/*
 * Prediction intervals by simulation (forecast.nnetar's PI = TRUE): npaths
 * future paths, each step the average of the nets plus an innovation drawn
 * from N(0, sd of the residuals) or, with bootstrap, from the centred
 * residuals; then per step the quantiles (R's type 8) for 80 % and 95 %.
 * Seeded with spec.seed + 1. Any output array may be NULL.
 */
extern bool NnarIntervals(MiningEnv *env, const NnarModel *m, int h, int npaths,
						  bool bootstrap, double *lo80, double *hi80,
						  double *lo95, double *hi95, MiningError *err);

/*
 * One net's output for inputs x[0..nin-1] (scaled), weights in nnet's
 * order: per hidden unit its bias then one weight per input; then the
 * output's bias and one weight per hidden unit.
 */
extern double NnarNetOutput(const double *w, int nin, int size, const double *x);

/*
 * The order of an AR model chosen by AIC from the Yule-Walker fits of
 * orders 0..min(n - 1, 10 log10 n), as R's ar() does (x without NaN).
 */
extern int	NnarArOrder(MiningEnv *env, const double *x, size_t n, MiningError *err);

/*
 * x[0..n-1] (no NaN) less its STL seasonal component at period m (R's stl
 * with s.window 11, no robustness: forecast's mstl()), into out; x as it is
 * when n <= 2m. Exported for the tests.
 */
extern bool NnarSeasonalAdjust(MiningEnv *env, const double *x, size_t n, int m,
							   double *out, MiningError *err);

/* "NNAR(p,P,k)[m]" or "NNAR(p,k)", as nnetar prints it */
extern void NnarModelName(const NnarModel *m, char *buf, size_t len);

extern void NnarFree(MiningEnv *env, NnarModel *m);

#endif							/* MEGAMARKET_NNAR_H */
