/*
 * arima.h
 *		Seasonal ARIMA estimation and forecasting, as R's stats::arima does it
 *		(exact Gaussian likelihood by a Kalman filter on the state-space form,
 *		CSS starting values, BFGS on transformed parameters), plus the
 *		Hyndman-Khandakar automatic order selection. No backend headers: the
 *		core builds alone into test/mining/arima and bench/arima.
 */
#ifndef MEGAMARKET_ARIMA_H
#define MEGAMARKET_ARIMA_H

#include "mining/mining.h"

/* limits (an order past them is "too large", 22023) */
#define ARIMA_MAX_P			20		/* p, q */
#define ARIMA_MAX_SP		4		/* P, Q */
#define ARIMA_MAX_D			2		/* d */
#define ARIMA_MAX_SD		1		/* D */
#define ARIMA_MAX_PERIOD	366		/* s */
#define ARIMA_MAX_STATE		400		/* r + d + s*D, the state dimension */
#define ARIMA_MAX_COEF		(2 * ARIMA_MAX_P + 2 * ARIMA_MAX_SP + 2)
#define ARIMA_MAX_HORIZON	100000

typedef enum ArimaMethod
{
	ARIMA_CSS_ML = 0,			/* CSS for starting values, then ML */
	ARIMA_ML,
	ARIMA_CSS
} ArimaMethod;

typedef struct ArimaSpec
{
	int			p,
				d,
				q;
	int			P,
				D,
				Q,
				s;				/* s = 0 or P = D = Q = 0: no seasonal part */
	bool		include_mean;	/* an intercept, when d + D = 0 (else ignored) */
	bool		include_drift;	/* a drift (slope on 1..n), when d + D <= 1 */
	ArimaMethod method;
	bool		quick;			/* minimise as R's optim(method = "BFGS")
								 * does, R's gradient, unfinished runs
								 * accepted: auto's candidates */
} ArimaSpec;

typedef struct ArimaModel
{
	ArimaSpec	spec;
	int			ncoef;
	double		coef[ARIMA_MAX_COEF];
	double		se[ARIMA_MAX_COEF];		/* NaN when the Hessian is singular */
	char		term[ARIMA_MAX_COEF][16];	/* ar1 .. ma1 .. sar1 .. sma1 ..
											 * intercept, drift (R's names) */
	double		sigma2;
	double		loglik;			/* NaN for CSS (R gives none either) */
	double		aic,
				aicc,
				bic;			/* NaN for CSS */
	int			nobs;			/* observations used: non-missing - d - s*D */
	int			iterations;		/* BFGS iterations, both stages */
	bool		converged;
	bool		has_mean,
				has_drift;

	/* the filtered state at the end of the series, for forecasting */
	size_t		n;				/* series length (missing included) */
	int			r,
				rd,
				np,
				nq,
				nd;				/* full AR/MA/difference polynomial lengths */
	double	   *phi;			/* np */
	double	   *theta;			/* r - 1 (padded) */
	double	   *delta;			/* nd */
	double	   *a;				/* rd */
	double	   *P;				/* rd * rd */
} ArimaModel;

/* options of the automatic search (forecast::auto.arima's defaults) */
typedef struct ArimaAutoSpec
{
	int			s;				/* seasonal period; <= 1 none */
	int			max_p,
				max_q,
				max_P,
				max_Q,
				max_order,
				max_d,
				max_D;
	int			d,
				D;				/* < 0: chosen by the tests */
	bool		allow_mean;		/* intercept or drift allowed */
	bool		stepwise;		/* false: every model up to max_order */
	int			max_models;		/* stepwise: 94 */
} ArimaAutoSpec;

extern void ArimaAutoDefaults(ArimaAutoSpec *spec, int s);

/* Check orders and period alone (MINING_ERR_ARGUMENT). */
extern bool ArimaCheckSpec(const ArimaSpec *spec, MiningError *err);

/*
 * Fit spec to y[0..n-1] (NaN = missing). On success *out is a model
 * allocated through env (ArimaFree). On failure err says why:
 * MINING_ERR_ARGUMENT for orders, MINING_ERR_DATA for the series,
 * MINING_ERR_NO_CONVERGENCE, MINING_ERR_CANCELED, MINING_ERR_LIMIT/NOMEM.
 */
extern bool ArimaFit(MiningEnv *env, const double *y, size_t n,
					 const ArimaSpec *spec, ArimaModel **out, MiningError *err);

/* Forecast h steps: mean[h], se[h] (standard errors of the forecast). */
extern bool ArimaForecast(MiningEnv *env, const ArimaModel *m, int h,
						  double *mean, double *se, MiningError *err);

/*
 * Choose the orders and fit (Hyndman & Khandakar 2008): d by repeated KPSS
 * tests, D by the seasonal strength of a classical decomposition, then a
 * stepwise search on AICc. *out as for ArimaFit.
 */
extern bool ArimaAuto(MiningEnv *env, const double *y, size_t n,
					  const ArimaAutoSpec *spec, ArimaModel **out, MiningError *err);

/* The unit-root helpers, exported for the tests. */
extern int	ArimaNdiffs(MiningEnv *env, const double *y, size_t n, int max_d);
extern int	ArimaNsdiffs(MiningEnv *env, const double *y, size_t n, int s, int max_D);
extern double ArimaKpssStat(const double *x, size_t n);	/* x without NaN */
extern double ArimaSeasonalStrength(MiningEnv *env, const double *y, size_t n, int s);

extern void ArimaFree(MiningEnv *env, ArimaModel *m);

extern const char *ArimaMethodName(ArimaMethod m);
extern bool ArimaMethodParse(const char *name, ArimaMethod *m);

#endif							/* MEGAMARKET_ARIMA_H */
