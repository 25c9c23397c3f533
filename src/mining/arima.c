/*
 * arima.c
 *		Seasonal ARIMA fitted as R's stats::arima fits it, and forecast.
 *
 * The model (1 - phi(B))(1 - Phi(B^s)) (1-B)^d (1-B^s)^D (y_t - mu - beta t)
 *		= (1 + theta(B))(1 + Theta(B^s)) e_t
 * is put in the state-space form of Gardner, Harvey and Phillips (1980) that
 * R uses (makeARIMA): an ARMA state of dimension r = max(p + sP, q + sQ + 1)
 * followed by d + sD states holding past values for the differencing, which
 * start diffuse (variance kappa = 1e6; an innovation whose variance is still
 * above 1e4 is left out of the likelihood, as R does). The Kalman filter
 * gives the exact Gaussian likelihood with missing values (NaN) skipped.
 * While optimising on a series without missing values the likelihood is
 * computed on the differenced series by the Chandrasekhar recursions
 * (kalman_fast: the same numbers in O(r) a step instead of O(r^2)).
 * sigma^2 is concentrated out, so the optimiser sees
 *		0.5 * (log(ssq / nu) + sum(log F_t) / nu)
 * per observation. The stationary part's initial covariance solves
 * P = T P T' + R R' (by doubling; R uses Gardner's AS154, the same matrix).
 *
 * Estimation follows stats::arima step by step: conditional sum of squares
 * from zeros for starting values ('CSS-ML'), then BFGS (GSL's vector_bfgs2,
 * central-difference gradients) on parameters whose AR parts go through
 * tanh and the Durbin-Levinson recursion (partial autocorrelations in
 * (-1, 1), so every trial point is stationary), MA parts made invertible
 * (roots flipped) before and after; standard errors from the numerical
 * Hessian of the same objective times the number of observations, mapped
 * back through the transformation's Jacobian (delta method). Regression
 * coefficients (intercept, drift) are optimised in units of 10 standard
 * errors of their least-squares start, as R's parscale does.
 *
 * GSL's error handler is switched off (gsl_set_error_handler_off): GSL
 * reports through status codes only and never aborts the server.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_poly.h>

#include "mining/arima.h"

#define KAPPA		1e6			/* prior variance of the differencing states */
#define BIG			1e10		/* objective outside the admissible region */
#define MAXIT		200			/* BFGS iterations per stage */
#define GRAD_STEP	1e-5		/* central-difference step (scaled units) */
#define RELTOL		1e-10		/* relative change of the objective that stops BFGS */
#define STEADY_TOL	1e-13		/* relative change of P that ends the filter's transient */
#define HESS_STEP	1e-3		/* R's optim ndeps */
#define R_NDEPS		1e-3		/* the same, for minimise_r's gradient */

typedef enum
{
	OBJ_CSS,
	OBJ_ML
} ObjKind;

/* Everything one fit needs, allocated once. */
typedef struct Work
{
	MiningEnv  *env;
	MiningError *err;
	ArimaSpec	spec;
	size_t		n;
	const double *y;
	double	   *x;				/* y minus the regression part */
	double	   *xd;				/* x differenced (n - nd values) */
	bool		full;			/* ML on the full state (missing values) */
	double	   *w;				/* CSS: differenced series */
	double	   *resid;			/* CSS residuals */
	int			p,
				q,
				P,
				Q,
				s;
	int			narma,
				ncoef;
	bool		has_mean,
				has_drift;
	int			np,
				nq,
				r,
				nd,
				rd;
	double	   *phi;			/* np (at least 1) */
	double	   *theta;			/* r - 1 (at least 1) */
	double	   *delta;			/* nd (at least 1) */
	int		   *dnz;			/* indices of non-zero delta */
	int			ndnz;
	double	   *a,
			   *anew,
			   *Pm,
			   *Pnew,
			   *mm,
			   *M;				/* Kalman state */
	double	   *q0,
			   *qa,
			   *qt,
			   *qt2;			/* r*r scratch for the initial covariance */
	double	   *ck,
			   *cw,
			   *ca,
			   *cph,
			   *cu,
			   *gam,
			   *psi,
			   *gsys;			/* the fast filter (kalman_fast) */
	bool		anymiss;		/* the series has missing values */
	double		parscale[ARIMA_MAX_COEF];
	ObjKind		kind;
	bool		trans;
	int			ncond;
	double		nused;
	bool		canceled;
	bool		evalfail;		/* minimise_r met an inadmissible point */
	bool		reg_dirty;
	double		reg_last[2];
} Work;

const char *
ArimaMethodName(ArimaMethod m)
{
	switch (m)
	{
		case ARIMA_CSS_ML:
			return "CSS-ML";
		case ARIMA_ML:
			return "ML";
		case ARIMA_CSS:
			return "CSS";
	}
	return "?";
}

bool
ArimaMethodParse(const char *name, ArimaMethod *m)
{
	if (strcmp(name, "CSS-ML") == 0)
		*m = ARIMA_CSS_ML;
	else if (strcmp(name, "ML") == 0)
		*m = ARIMA_ML;
	else if (strcmp(name, "CSS") == 0)
		*m = ARIMA_CSS;
	else
		return false;
	return true;
}

/* ---------------------------------------------------------------------- */
/* parameters																  */
/* ---------------------------------------------------------------------- */

/*
 * partrans
 *		(-inf, inf)^p -> coefficients of a stationary AR(p): tanh gives the
 *		partial autocorrelations, Durbin-Levinson the coefficients (R's
 *		partrans in arima.c, the same recursion).
 */
static void
partrans(int p, const double *raw, double *out)
{
	double		work[ARIMA_MAX_P + 1];
	int			j,
				k;

	for (j = 0; j < p; j++)
		work[j] = out[j] = tanh(raw[j]);
	for (j = 1; j < p; j++)
	{
		double		a = out[j];

		for (k = 0; k < j; k++)
			work[k] -= a * out[j - k - 1];
		for (k = 0; k < j; k++)
			out[k] = work[k];
	}
}

/* The inverse: AR coefficients -> atanh of the partial autocorrelations. */
static bool
invpartrans(int p, const double *phi, double *out)
{
	double		work[ARIMA_MAX_P + 1];
	int			j,
				k;

	for (j = 0; j < p; j++)
		work[j] = out[j] = phi[j];
	for (j = p - 1; j > 0; j--)
	{
		double		a = out[j];

		if (fabs(a) >= 1.0)
			return false;
		for (k = 0; k < j; k++)
			work[k] = (out[k] + a * out[j - k - 1]) / (1 - a * a);
		for (k = 0; k < j; k++)
			out[k] = work[k];
	}
	for (j = 0; j < p; j++)
	{
		if (fabs(out[j]) >= 1.0)
			return false;
		out[j] = atanh(out[j]);
	}
	return true;
}

/*
 * Roots of 1 + c[0] z + ... + c[m-1] z^m (m >= 1, c[m-1] != 0), as
 * complex pairs in z[2m]. false if GSL fails.
 */
static bool
poly_roots(const double *c, int m, double *z)
{
	double		coef[ARIMA_MAX_STATE + 2];
	gsl_poly_complex_workspace *ws;
	int			status;
	int			i;

	if (m < 1 || m > ARIMA_MAX_STATE)
		return false;
	coef[0] = 1.0;
	for (i = 0; i < m; i++)
		coef[i + 1] = c[i];
	ws = gsl_poly_complex_workspace_alloc(m + 1);
	if (ws == NULL)
		return false;
	status = gsl_poly_complex_solve(coef, m + 1, ws, z);
	gsl_poly_complex_workspace_free(ws);
	return status == GSL_SUCCESS;
}

/* R's arCheck: all roots of 1 - ar_1 z - ... outside the unit circle. */
static bool
ar_check(const double *ar, int p)
{
	double		c[ARIMA_MAX_P] = {0};
	double		z[2 * ARIMA_MAX_P];
	int			m = 0,
				i;

	for (i = 0; i < p; i++)
		if (ar[i] != 0.0)
			m = i + 1;
	if (m == 0)
		return true;
	for (i = 0; i < m; i++)
		c[i] = -ar[i];
	if (!poly_roots(c, m, z))
		return false;
	for (i = 0; i < m; i++)
		if (hypot(z[2 * i], z[2 * i + 1]) <= 1.0)
			return false;
	return true;
}

/*
 * R's maInvert: the roots of 1 + ma_1 z + ... inside the unit circle are
 * replaced by their inverses (same autocorrelations, invertible).
 */
static void
ma_invert(double *ma, int q)
{
	double		z[2 * ARIMA_MAX_P];
	double		xr[ARIMA_MAX_P + 1],
				xi[ARIMA_MAX_P + 1];
	int			q0 = 0,
				i,
				k,
				len;
	bool		any = false;

	for (i = 0; i < q; i++)
		if (ma[i] != 0.0)
			q0 = i + 1;
	if (q0 == 0)
		return;
	if (!poly_roots(ma, q0, z))
		return;
	for (i = 0; i < q0; i++)
		if (hypot(z[2 * i], z[2 * i + 1]) < 1.0)
			any = true;
	if (!any)
		return;
	if (q0 == 1)
	{
		ma[0] = 1.0 / ma[0];
		return;
	}
	for (i = 0; i < q0; i++)
	{
		double		re = z[2 * i],
					im = z[2 * i + 1],
					m2 = re * re + im * im;

		if (m2 < 1.0)
		{
			/* 1/z = conj(z)/|z|^2 */
			z[2 * i] = re / m2;
			z[2 * i + 1] = -im / m2;
		}
	}
	/* x <- 1; for (r in roots) x <- c(x, 0) - c(0, x) / r */
	xr[0] = 1.0;
	xi[0] = 0.0;
	len = 1;
	for (i = 0; i < q0; i++)
	{
		double		re = z[2 * i],
					im = z[2 * i + 1],
					m2 = re * re + im * im;
		double		ir = re / m2,
					ii = -im / m2;	/* 1/root */

		xr[len] = 0.0;
		xi[len] = 0.0;
		for (k = len; k >= 1; k--)
		{
			/* x[k] -= x[k-1] * (1/root) */
			double		pr = xr[k - 1] * ir - xi[k - 1] * ii;
			double		pi = xr[k - 1] * ii + xi[k - 1] * ir;

			xr[k] -= pr;
			xi[k] -= pi;
		}
		len++;
	}
	for (i = 0; i < q0; i++)
		ma[i] = xr[i + 1];
}

/*
 * coef (natural scale, AR untransformed) from the optimiser's vector u:
 * u_i * parscale_i, then the AR parts through partrans when trans.
 */
static void
coef_from_u(const Work *w, const double *u, double *coef)
{
	int			i;

	for (i = 0; i < w->ncoef; i++)
		coef[i] = u[i] * w->parscale[i];
	if (w->trans)
	{
		double		tmp[ARIMA_MAX_P];

		if (w->p > 0)
		{
			partrans(w->p, coef, tmp);
			memcpy(coef, tmp, sizeof(double) * w->p);
		}
		if (w->P > 0)
		{
			partrans(w->P, coef + w->p + w->q, tmp);
			memcpy(coef + w->p + w->q, tmp, sizeof(double) * w->P);
		}
	}
}

/*
 * The multiplied-out polynomials (R's ARIMA_transPars without trans):
 * phi = (1 - phi(B))(1 - Phi(B^s)), theta = (1 + theta(B))(1 + Theta(B^s)).
 */
static void
expand(Work *w, const double *coef)
{
	const double *ar = coef,
			   *ma = coef + w->p,
			   *sar = coef + w->p + w->q,
			   *sma = coef + w->p + w->q + w->P;
	int			i,
				j,
				s = w->s;

	memset(w->phi, 0, sizeof(double) * (w->np > 0 ? w->np : 1));
	memset(w->theta, 0, sizeof(double) * (w->r > 1 ? w->r - 1 : 1));
	for (i = 0; i < w->p; i++)
		w->phi[i] = ar[i];
	for (i = 0; i < w->q; i++)
		w->theta[i] = ma[i];
	for (j = 0; j < w->P; j++)
	{
		w->phi[(j + 1) * s - 1] += sar[j];
		for (i = 0; i < w->p; i++)
			w->phi[(j + 1) * s + i] -= ar[i] * sar[j];
	}
	for (j = 0; j < w->Q; j++)
	{
		w->theta[(j + 1) * s - 1] += sma[j];
		for (i = 0; i < w->q; i++)
			w->theta[(j + 1) * s + i] += ma[i] * sma[j];
	}
}

/* x = y - intercept - drift * (t + 1), recomputed only when they changed. */
static void
set_regression(Work *w, const double *coef)
{
	double		mu = 0.0,
				beta = 0.0;
	size_t		t;
	int			k = w->narma;

	if (w->has_mean)
		mu = coef[k++];
	if (w->has_drift)
		beta = coef[k];
	if (!w->reg_dirty && mu == w->reg_last[0] && beta == w->reg_last[1])
		return;
	for (t = 0; t < w->n; t++)
		w->x[t] = w->y[t] - mu - beta * (double) (t + 1);
	if (!w->full)
	{
		/* xd[t - nd] = x[t] - sum delta_k x[t - 1 - k] */
		for (t = (size_t) w->nd; t < w->n; t++)
		{
			double		v = w->x[t];
			int			k2;

			for (k2 = 0; k2 < w->ndnz; k2++)
				v -= w->delta[w->dnz[k2]] * w->x[t - 1 - w->dnz[k2]];
			w->xd[t - w->nd] = v;
		}
	}
	w->reg_last[0] = mu;
	w->reg_last[1] = beta;
	w->reg_dirty = false;
}

/* ---------------------------------------------------------------------- */
/* likelihoods																  */
/* ---------------------------------------------------------------------- */

/* C = A B, all r x r row-major */
static void
matmul(int r, const double *A, const double *B, double *C)
{
	int			i,
				j,
				k;

	for (i = 0; i < r; i++)
	{
		double	   *c = C + (size_t) i * r;

		for (j = 0; j < r; j++)
			c[j] = 0.0;
		for (k = 0; k < r; k++)
		{
			double		aik = A[(size_t) i * r + k];
			const double *b = B + (size_t) k * r;

			if (aik == 0.0)
				continue;
			for (j = 0; j < r; j++)
				c[j] += aik * b[j];
		}
	}
}

/*
 * The stationary covariance of the ARMA state: Q0 = sum_k T^k R R' T'^k,
 * summed by doubling (S <- S + A S A', A <- A A). false when it does not
 * converge (a non-stationary AR part).
 */
static bool
initial_cov(Work *w)
{
	int			r = w->r,
				i,
				j,
				it;
	double	   *S = w->q0,
			   *A = w->qa,
			   *T1 = w->qt,
			   *T2 = w->qt2;

	if (r == 1)
	{
		double		ph = w->np > 0 ? w->phi[0] : 0.0;

		if (fabs(ph) >= 1.0)
			return false;
		S[0] = 1.0 / (1.0 - ph * ph);
		return true;
	}
	for (i = 0; i < r; i++)
	{
		double		ri = i == 0 ? 1.0 : w->theta[i - 1];

		for (j = 0; j < r; j++)
		{
			double		rj = j == 0 ? 1.0 : w->theta[j - 1];

			S[i * r + j] = ri * rj;
			A[i * r + j] = 0.0;
		}
		if (i < w->np)
			A[i * r] = w->phi[i];
		if (i < r - 1)
			A[i * r + i + 1] = 1.0;
	}
	for (it = 0; it < 64; it++)
	{
		double		smax = 0.0,
					dmax = 0.0;

		/* T2 = A S A' */
		matmul(r, A, S, T1);
		for (i = 0; i < r; i++)
			for (j = 0; j < r; j++)
			{
				double		acc = 0.0;
				int			k;

				for (k = 0; k < r; k++)
					acc += T1[i * r + k] * A[j * r + k];
				T2[i * r + j] = acc;
			}
		for (i = 0; i < r * r; i++)
		{
			S[i] += T2[i];
			if (fabs(S[i]) > smax)
				smax = fabs(S[i]);
			if (fabs(T2[i]) > dmax)
				dmax = fabs(T2[i]);
		}
		if (!isfinite(smax) || smax > 1e12)
			return false;
		if (dmax <= 1e-16 * smax)
			return true;
		matmul(r, A, A, T1);
		memcpy(A, T1, sizeof(double) * r * r);
	}
	return false;
}

/*
 * The Kalman filter (R's ARIMA_Like with up = 0). full: over x with the
 * differencing states, diffuse, as R does (the final state is then in
 * w->a / w->Pm, for forecasting). Otherwise over xd, the differenced
 * series, with the ARMA states alone: the diffuse likelihood equals the
 * likelihood of the differenced series (Kohn & Ansley 1986), R's kappa =
 * 1e6 approximates it to about 1e-6, and a state of r instead of r + d +
 * sD elements makes each step several times cheaper. Used while
 * optimising when the series has no missing values. Returns false when the
 * state is unusable or the run was canceled.
 */
static bool
kalman(Work *w, bool full, double *ssq_out, double *sumlog_out, int *nu_out)
{
	int			r = w->r,
				rd = full ? w->rd : w->r,
				ndnz = full ? w->ndnz : 0,
				np = w->np,
				i,
				j,
				k;
	size_t		l,
				n = full ? w->n : w->n - w->nd;
	const double *x = full ? w->x : w->xd;
	double		ssq = 0.0,
				sumlog = 0.0,
				gain = 1.0;
	int			nu = 0;
	bool		steady = false;
	double	   *a = w->a,
			   *anew = w->anew,
			   *Pm = w->Pm,
			   *Pn = w->Pnew,
			   *mm = w->mm,
			   *M = w->M;
	const double *phi = w->phi,
			   *delta = w->delta;

	if (!initial_cov(w))
		return false;
	for (i = 0; i < rd; i++)
		a[i] = 0.0;
	memset(Pn, 0, sizeof(double) * rd * rd);
	for (i = 0; i < r; i++)
		for (j = 0; j < r; j++)
			Pn[i * rd + j] = w->q0[i * r + j];
	for (i = r; i < rd; i++)
		Pn[i * rd + i] = KAPPA;

	for (l = 0; l < n; l++)
	{
		bool		obs = !isnan(x[l]);

		if ((l & 1023) == 1023 && MiningInterrupted(w->env))
		{
			w->canceled = true;
			return false;
		}
		/* a missing value leaves the steady state (P grows again) */
		if (!obs)
			steady = false;
		/* anew = T a */
		for (i = 0; i < r; i++)
		{
			double		tmp = i < r - 1 ? a[i + 1] : 0.0;

			if (i < np)
				tmp += phi[i] * a[0];
			anew[i] = tmp;
		}
		if (rd > r)
		{
			double		tmp = a[0];

			for (k = 0; k < ndnz; k++)
				tmp += delta[w->dnz[k]] * a[r + w->dnz[k]];
			for (i = rd - 1; i > r; i--)
				anew[i] = a[i - 1];
			anew[r] = tmp;
		}
		if (l > 0 && !steady)
		{
			/* mm = T P */
			for (i = 0; i < r; i++)
			{
				double	   *row = mm + (size_t) i * rd;
				double		ph = i < np ? phi[i] : 0.0;

				for (j = 0; j < rd; j++)
					row[j] = (i < r - 1 ? Pm[(i + 1) * rd + j] : 0.0) + ph * Pm[j];
			}
			if (rd > r)
			{
				double	   *row = mm + (size_t) r * rd;

				for (j = 0; j < rd; j++)
				{
					double		tmp = Pm[j];

					for (k = 0; k < ndnz; k++)
						tmp += delta[w->dnz[k]] * Pm[(r + w->dnz[k]) * rd + j];
					row[j] = tmp;
				}
				for (i = r + 1; i < rd; i++)
					memcpy(mm + (size_t) i * rd, Pm + (size_t) (i - 1) * rd, sizeof(double) * rd);
			}
			/* Pnew = mm T' + V */
			for (i = 0; i < rd; i++)
			{
				const double *row = mm + (size_t) i * rd;
				double	   *out = Pn + (size_t) i * rd;

				for (j = 0; j < r; j++)
					out[j] = (j < r - 1 ? row[j + 1] : 0.0) + (j < np ? phi[j] * row[0] : 0.0);
				if (rd > r)
				{
					double		tmp = row[0];

					for (k = 0; k < ndnz; k++)
						tmp += delta[w->dnz[k]] * row[r + w->dnz[k]];
					out[r] = tmp;
					for (j = r + 1; j < rd; j++)
						out[j] = row[j - 1];
				}
			}
			for (i = 0; i < r; i++)
			{
				double		vi = i == 0 ? 1.0 : w->theta[i - 1];

				if (vi == 0.0)
					continue;
				for (j = 0; j < r; j++)
				{
					double		vj = j == 0 ? 1.0 : w->theta[j - 1];

					Pn[i * rd + j] += vi * vj;
				}
			}
		}
		if (obs)
		{
			double		resid0 = x[l] - anew[0];

			for (k = 0; k < ndnz; k++)
				resid0 -= delta[w->dnz[k]] * anew[r + w->dnz[k]];
			if (!steady)
			{
				for (i = 0; i < rd; i++)
				{
					double		tmp = Pn[i * rd];

					for (k = 0; k < ndnz; k++)
						tmp += Pn[i * rd + r + w->dnz[k]] * delta[w->dnz[k]];
					M[i] = tmp;
				}
				gain = M[0];
				for (k = 0; k < ndnz; k++)
					gain += delta[w->dnz[k]] * M[r + w->dnz[k]];
				if (!(gain > 0.0) || !isfinite(gain))
					return false;
			}
			if (gain < 1e4)
			{
				nu++;
				ssq += resid0 * resid0 / gain;
				sumlog += log(gain);
			}
			for (i = 0; i < rd; i++)
				a[i] = anew[i] + M[i] * resid0 / gain;
			if (!steady)
			{
				double		change = 0.0,
							scale = 0.0;

				for (i = 0; i < rd; i++)
				{
					double		mi = M[i] / gain;

					for (j = 0; j < rd; j++)
					{
						double		v = Pn[i * rd + j] - mi * M[j];
						double		dv = fabs(v - Pm[i * rd + j]);

						if (dv > change)
							change = dv;
						if (fabs(v) > scale)
							scale = fabs(v);
						Pm[i * rd + j] = v;
					}
				}
				/*
				 * The filter has converged when P no longer changes: from
				 * then on P, the gain and M stay as they are (the steady
				 * state; an observation costs O(rd) instead of O(rd^2)).
				 */
				if (l > 0 && gain < 1e4 && change <= STEADY_TOL * scale)
					steady = true;
			}
		}
		else
		{
			memcpy(a, anew, sizeof(double) * rd);
			memcpy(Pm, Pn, sizeof(double) * rd * rd);
		}
	}
	*ssq_out = ssq;
	*sumlog_out = sumlog;
	*nu_out = nu;
	return true;
}

/*
 * The Kalman filter of the ARMA part alone over the differenced series xd
 * (see kalman): R's d = 0 recursion, P kept symmetric and only its upper
 * triangle computed, the steady state detected as in kalman. The
 * optimiser's hot loop.
 */
static bool
kalman_arma(Work *w, double *ssq_out, double *sumlog_out, int *nu_out)
{
	int			r = w->r,
				np = w->np,
				i,
				j;
	size_t		l,
				n = w->n - w->nd;
	const double *x = w->xd,
			   *phi = w->phi;
	double	   *a = w->a,
			   *anew = w->anew,
			   *Pm = w->Pm,
			   *Pn = w->Pnew,
			   *Rv = w->M;
	double		ssq = 0.0,
				sumlog = 0.0;
	int			nu = 0;
	bool		steady = false;

	if (!initial_cov(w))
		return false;
	/* R = (1, theta_1, ..., theta_{r-1}); phi padded with zeros to r */
	for (i = 0; i < r; i++)
	{
		Rv[i] = i == 0 ? 1.0 : w->theta[i - 1];
		a[i] = 0.0;
		w->mm[i] = i < np ? phi[i] : 0.0;
	}
	phi = w->mm;
	memcpy(Pn, w->q0, sizeof(double) * r * r);

	for (l = 0; l < n; l++)
	{
		double		resid,
					gain,
					a0 = a[0];

		if ((l & 1023) == 1023 && MiningInterrupted(w->env))
		{
			w->canceled = true;
			return false;
		}
		for (i = 0; i < r - 1; i++)
			anew[i] = a[i + 1] + phi[i] * a0;
		anew[r - 1] = phi[r - 1] * a0;
		if (isnan(x[l]))
			steady = false;
		if (l > 0 && !steady)
		{
			double		p00 = Pm[0];

			for (i = 0; i < r; i++)
			{
				double		phii = phi[i];
				double		pi1 = i < r - 1 ? Pm[i + 1] : 0.0;	/* P[i+1][0] */

				for (j = i; j < r; j++)
				{
					double		v = Rv[i] * Rv[j] + phii * phi[j] * p00;

					if (j < r - 1)
					{
						v += phii * Pm[j + 1];
						if (i < r - 1)
							v += Pm[(i + 1) * r + j + 1];
					}
					v += phi[j] * pi1;
					Pn[i * r + j] = v;
					Pn[j * r + i] = v;
				}
			}
		}
		if (isnan(x[l]))
		{
			memcpy(a, anew, sizeof(double) * r);
			memcpy(Pm, Pn, sizeof(double) * r * r);
			continue;
		}
		resid = x[l] - anew[0];
		gain = Pn[0];
		if (!(gain > 0.0) || !isfinite(gain))
			return false;
		nu++;
		ssq += resid * resid / gain;
		sumlog += log(gain);
		for (i = 0; i < r; i++)
			a[i] = anew[i] + Pn[i] * resid / gain;	/* M = first column */
		if (!steady)
		{
			double		change = 0.0,
						scale = 0.0;

			for (i = 0; i < r; i++)
			{
				double		mi = Pn[i] / gain;

				for (j = i; j < r; j++)
				{
					double		v = Pn[i * r + j] - mi * Pn[j];
					double		dv = fabs(v - Pm[i * r + j]);

					if (dv > change)
						change = dv;
					if (fabs(v) > scale)
						scale = fabs(v);
					Pm[i * r + j] = v;
					Pm[j * r + i] = v;
				}
			}
			if (l > 0 && change <= STEADY_TOL * scale)
				steady = true;
		}
	}
	*ssq_out = ssq;
	*sumlog_out = sumlog;
	*nu_out = nu;
	return true;
}

/*
 * arma_acov
 *		The autocovariances gamma(0..r) of the ARMA part with unit innovation
 *		variance (Brockwell & Davis 3.3.8: a linear system for gamma(0..np),
 *		the AR recursion above it), its psi weights psi(0..r-1), and from
 *		them the first column of the stationary state covariance Q0 (the
 *		state of kalman_arma), in w->cu[0..r-1]:
 *			Q0[j][0] = sum_{k>j} phi_k gamma(k - j) + sum_{k>=j} theta_k psi(k - j)
 *		(state element j is sum_{k>j} phi_k y_{t+j-k} + sum_{k>=j} theta_k
 *		e_{t+j-k}). false when the system is singular or the variance not
 *		positive (a non-stationary AR part).
 */
static bool
arma_acov(Work *w)
{
	int			r = w->r,
				np = w->np,
				nq = w->nq,
				n1 = np + 1,
				i,
				j,
				k;
	const double *phi = w->phi,
			   *theta = w->theta;
	double	   *gam = w->gam,
			   *psi = w->psi,
			   *A = w->gsys,
			   *q = w->cu;

#define TH(j) ((j) == 0 ? 1.0 : ((j) <= nq ? theta[(j) - 1] : 0.0))
	for (j = 0; j < r; j++)
	{
		double		v = TH(j);

		for (i = 1; i <= j && i <= np; i++)
			v += phi[i - 1] * psi[j - i];
		psi[j] = v;
	}
	/* rows k = 0..np of [A | c]: gamma(k) - sum_i phi_i gamma(|k - i|) = c_k */
	for (k = 0; k < n1; k++)
	{
		double	   *row = A + (size_t) k * (n1 + 1);
		double		c = 0.0;

		for (j = 0; j <= n1; j++)
			row[j] = 0.0;
		row[k] += 1.0;
		for (i = 1; i <= np; i++)
			row[abs(k - i)] -= phi[i - 1];
		for (j = k; j <= nq; j++)
			c += TH(j) * psi[j - k];
		row[n1] = c;
	}
	/* Gaussian elimination with partial pivoting */
	for (k = 0; k < n1; k++)
	{
		int			piv = k;
		double		best = fabs(A[(size_t) k * (n1 + 1) + k]);

		for (i = k + 1; i < n1; i++)
			if (fabs(A[(size_t) i * (n1 + 1) + k]) > best)
			{
				best = fabs(A[(size_t) i * (n1 + 1) + k]);
				piv = i;
			}
		if (!(best > 1e-14))
			return false;
		if (piv != k)
			for (j = k; j <= n1; j++)
			{
				double		t = A[(size_t) k * (n1 + 1) + j];

				A[(size_t) k * (n1 + 1) + j] = A[(size_t) piv * (n1 + 1) + j];
				A[(size_t) piv * (n1 + 1) + j] = t;
			}
		for (i = k + 1; i < n1; i++)
		{
			double		f = A[(size_t) i * (n1 + 1) + k] / A[(size_t) k * (n1 + 1) + k];

			if (f == 0.0)
				continue;
			for (j = k; j <= n1; j++)
				A[(size_t) i * (n1 + 1) + j] -= f * A[(size_t) k * (n1 + 1) + j];
		}
	}
	for (k = n1 - 1; k >= 0; k--)
	{
		double		v = A[(size_t) k * (n1 + 1) + n1];

		for (j = k + 1; j < n1; j++)
			v -= A[(size_t) k * (n1 + 1) + j] * gam[j];
		gam[k] = v / A[(size_t) k * (n1 + 1) + k];
	}
	for (k = n1; k <= r; k++)
	{
		double		v = 0.0;

		for (i = 1; i <= np; i++)
			v += phi[i - 1] * gam[k - i];
		for (j = k; j <= nq; j++)
			v += TH(j) * psi[j - k];
		gam[k] = v;
	}
	if (!(gam[0] > 0.0) || !(gam[0] < 1e12))
		return false;
	for (j = 0; j < r; j++)
	{
		double		v = 0.0;

		for (k = j + 1; k <= r && k <= np; k++)
			v += phi[k - 1] * gam[k - j];
		for (k = j; k < r && k <= nq; k++)
			v += TH(k) * psi[k - j];
		q[j] = v;
	}
#undef TH
	return isfinite(q[0]);
}

/*
 * kalman_fast
 *		kalman_arma's likelihood by the Chandrasekhar recursions (Morf, Sidhu
 *		and Kailath 1974; for ARMA models Melard 1984, AS 197): started from
 *		the stationary covariance, P_{t+1} - P_t of the time-invariant filter
 *		keeps rank one, M W W', so the gain K = T P Z' and the innovation
 *		variance F = Z P Z' follow in O(r) a step instead of the O(r^2) of
 *		updating P:
 *			F' = F + M w0^2,  K' = K + M w0 T W,
 *			W' = T W - (w0 / F) K,  M' = M F / F'		(w0 = W[0])
 *		starting from K = W = T Q0 Z', M = -1 / F, F = Q0[0][0]. The same
 *		numbers as kalman_arma up to rounding; only for series without
 *		missing values (a missing value breaks the rank-one update).
 */
static bool
kalman_fast(Work *w, double *ssq_out, double *sumlog_out, int *nu_out)
{
	int			r = w->r,
				i;
	size_t		l,
				n = w->n - w->nd;
	const double *x = w->xd;
	double	   *restrict a = w->ca,
			   *restrict K = w->ck,
			   *restrict W = w->cw,
			   *restrict ph = w->cph,
			   *q = w->cu;
	double		ssq = 0.0,
				sumlog = 0.0,
				F,
				invF,
				M,
				logF = 0.0,
				prodF = 1.0;
	bool		steady = false;

	if (!arma_acov(w))
		return false;
	/* phi padded to r; a and W end in a zero (the shift's last element) */
	for (i = 0; i < r; i++)
		ph[i] = i < w->np ? w->phi[i] : 0.0;
	F = q[0];
	for (i = 0; i < r; i++)
	{
		K[i] = ph[i] * q[0] + (i < r - 1 ? q[i + 1] : 0.0);
		W[i] = K[i];
		a[i] = 0.0;
	}
	a[r] = W[r] = 0.0;
	M = -1.0 / F;
	invF = 1.0 / F;
	for (l = 0; l < n; l++)
	{
		double		a0 = a[0],
					v = x[l] - a0,
					vf = v * invF;

		if ((l & 1023) == 1023 && MiningInterrupted(w->env))
		{
			w->canceled = true;
			return false;
		}
		ssq += v * vf;
		/* a <- T a + K v / F (the next prediction) */
		for (i = 0; i < r; i++)
			a[i] = ph[i] * a0 + a[i + 1] + K[i] * vf;
		if (steady)
		{
			sumlog += logF;
			continue;
		}
		/* sum log F as the log of a product: one log per factor 2^20 */
		prodF *= F;
		if (prodF > 1048576.0 || prodF < 1.0 / 1048576.0)
		{
			sumlog += log(prodF);
			prodF = 1.0;
		}
		{
			double		w0 = W[0],
						wf = w0 * invF,
						mw = M * w0,
						Fn = F + mw * w0;

			for (i = 0; i < r; i++)
			{
				double		u = ph[i] * w0 + W[i + 1];

				W[i] = u - wf * K[i];
				K[i] += mw * u;
			}
			M *= F / Fn;
			F = Fn;
			if (!(F > 0.0) || !isfinite(F))
				return false;
			invF = 1.0 / F;
		}
		/* P changes by M W W' next: below STEADY_TOL of F, it stays */
		if ((l & 7) == 7)
		{
			double		wmax = 0.0;

			for (i = 0; i < r; i++)
				if (fabs(W[i]) > wmax)
					wmax = fabs(W[i]);
			if (fabs(M) * wmax * wmax <= STEADY_TOL * F)
			{
				steady = true;
				logF = log(F);
			}
		}
	}
	*ssq_out = ssq;
	*sumlog_out = sumlog + log(prodF);
	*nu_out = (int) n;
	return true;
}

/*
 * Conditional sum of squares (R's ARIMA_CSS): residuals of the differenced
 * series from ncond on, earlier ones taken as zero. Returns ssq / nu.
 */
static double
css(Work *w, int *nu_out)
{
	size_t		n = w->n,
				l,
				off = 0;
	int			i,
				j,
				nzp = 0,
				nzq = 0;
	double		ssq = 0.0;
	int			nu = 0;
	const double *x;
	double	   *res = w->resid;
	int			ip[ARIMA_MAX_STATE + 1],
				iq[ARIMA_MAX_STATE + 1];
	double		cp[ARIMA_MAX_STATE + 1],
				cq[ARIMA_MAX_STATE + 1];

	if (w->full)
	{
		/* missing values: difference x here, NaN where a term is missing */
		double	   *xw = w->w;

		memcpy(xw, w->x, sizeof(double) * n);
		for (i = 0; i < w->spec.d; i++)
			for (l = n - 1; l > 0; l--)
				xw[l] -= xw[l - 1];
		for (i = 0; i < w->spec.D; i++)
			for (l = n - 1; l >= (size_t) w->s; l--)
				xw[l] -= xw[l - w->s];
		x = xw;
	}
	else
	{
		/* set_regression's differenced series: x[l] is xd[l - nd] */
		x = w->xd;
		off = (size_t) w->nd;
	}
	/* the non-zero coefficients only (seasonal products are sparse) */
	for (j = 0; j < w->np; j++)
		if (w->phi[j] != 0.0)
		{
			ip[nzp] = j + 1;
			cp[nzp++] = w->phi[j];
		}
	for (j = 0; j < w->nq; j++)
		if (w->theta[j] != 0.0)
		{
			iq[nzq] = j + 1;
			cq[nzq++] = w->theta[j];
		}
	for (l = 0; l < (size_t) w->ncond && l < n; l++)
		res[l] = 0.0;
	for (l = w->ncond; l < n; l++)
	{
		double		tmp = x[l - off];
		size_t		lim = l - w->ncond;	/* residuals before ncond are 0 */

		if ((l & 4095) == 4095 && MiningInterrupted(w->env))
		{
			w->canceled = true;
			return NAN;
		}
		for (j = 0; j < nzp; j++)
			tmp -= cp[j] * x[l - off - ip[j]];
		/* longest lag first: res[l - 1] enters last (a short dependency chain) */
		for (j = nzq - 1; j >= 0; j--)
			if ((size_t) iq[j] <= lim)
				tmp -= cq[j] * res[l - iq[j]];
		res[l] = tmp;
		if (!isnan(tmp))
		{
			nu++;
			ssq += tmp * tmp;
		}
	}
	*nu_out = nu;
	return nu > 0 ? ssq / nu : NAN;
}

/* The objective at natural-scale coefficients coef. */
static double
objective_coef(Work *w, const double *coef)
{
	double		v;

	if (w->canceled)
		return BIG;
	expand(w, coef);
	set_regression(w, coef);
	if (w->kind == OBJ_CSS)
	{
		int			nu;
		double		s2 = css(w, &nu);

		v = 0.5 * log(s2);
	}
	else
	{
		double		ssq,
					sumlog;
		int			nu;

		if (!(w->full ? kalman(w, true, &ssq, &sumlog, &nu) :
			  w->anymiss ? kalman_arma(w, &ssq, &sumlog, &nu) :
			  kalman_fast(w, &ssq, &sumlog, &nu)) || nu == 0)
			return BIG;
		v = 0.5 * (log(ssq / nu) + sumlog / nu);
	}
	return isfinite(v) ? v : BIG;
}

static double
gsl_f(const gsl_vector *u, void *arg)
{
	Work	   *w = arg;
	double		coef[ARIMA_MAX_COEF];

	coef_from_u(w, u->data, coef);
	return objective_coef(w, coef);
}

/* central-difference gradient */
static void
gsl_df(const gsl_vector *u, void *arg, gsl_vector *g)
{
	Work	   *w = arg;
	double		uu[ARIMA_MAX_COEF],
				coef[ARIMA_MAX_COEF];
	int			i;

	memcpy(uu, u->data, sizeof(double) * w->ncoef);
	for (i = 0; i < w->ncoef; i++)
	{
		double		h = GRAD_STEP * fmax(1.0, fabs(uu[i]));
		double		fp,
					fm;

		uu[i] = u->data[i] + h;
		coef_from_u(w, uu, coef);
		fp = objective_coef(w, coef);
		uu[i] = u->data[i] - h;
		coef_from_u(w, uu, coef);
		fm = objective_coef(w, coef);
		uu[i] = u->data[i];
		gsl_vector_set(g, i, (fp >= BIG || fm >= BIG) ? 0.0 : (fp - fm) / (2 * h));
	}
}

static void
gsl_fdf(const gsl_vector *u, void *arg, double *f, gsl_vector *g)
{
	*f = gsl_f(u, arg);
	gsl_df(u, arg, g);
}

/*
 * R's numerical gradient of optim: central differences with step 1e-3 in
 * the scaled parameters (optim's ndeps). false when an evaluation is
 * outside the admissible region (optim stops with an error there).
 */
static bool
r_gradient(Work *w, const double *u, double *g)
{
	double		uu[ARIMA_MAX_COEF],
				coef[ARIMA_MAX_COEF];
	int			i;

	memcpy(uu, u, sizeof(double) * w->ncoef);
	for (i = 0; i < w->ncoef; i++)
	{
		double		fp,
					fm;

		uu[i] = u[i] + R_NDEPS;
		coef_from_u(w, uu, coef);
		fp = objective_coef(w, coef);
		uu[i] = u[i] - R_NDEPS;
		coef_from_u(w, uu, coef);
		fm = objective_coef(w, coef);
		uu[i] = u[i];
		if (fp >= BIG || fm >= BIG)
			return false;
		g[i] = (fp - fm) / (2 * R_NDEPS);
	}
	return true;
}

/*
 * minimise_r
 *		The variable metric method of R's optim(method = "BFGS") (Nash 1990,
 *		Compact Numerical Methods, algorithm 21): an inverse-Hessian
 *		approximation B started at the identity, a backtracking line search
 *		from step 1 (factor 0.2, sufficient decrease 1e-4 of the slope), the
 *		BFGS update when the curvature is positive, B reset to the identity
 *		when the search fails or goes uphill (the run ends when a fresh B
 *		fails too) and every 2n gradients, stop when f changes by less than
 *		reltol = sqrt(DBL_EPSILON) relatively, or after 100 gradients.
 *		With R's gradient (r_gradient) it follows R's path, so the automatic
 *		search's candidates land where auto.arima's land (GSL's BFGS can
 *		end in another local minimum of a CSS surface near non-invertible
 *		MA parts). *ok false when the evaluation failed or the limit was
 *		reached (R's convergence code 1). false only on cancel.
 */
static bool
minimise_r(Work *w, double *u, double *fmin, int *iters, bool *ok)
{
	int			n = w->ncoef,
				i,
				j,
				count,
				gradcount = 1,
				ilast,
				iter = 0;
	double		B[ARIMA_MAX_COEF][ARIMA_MAX_COEF];
	double		g[ARIMA_MAX_COEF],
				t[ARIMA_MAX_COEF],
				X[ARIMA_MAX_COEF],
				c[ARIMA_MAX_COEF],
				coef[ARIMA_MAX_COEF];
	double		f,
				Fmin;
	const double reltol = 1.490116119384765625e-8;	/* sqrt(DBL_EPSILON) */

	*ok = true;
	*iters = 0;
	w->evalfail = false;
	coef_from_u(w, u, coef);
	f = objective_coef(w, coef);
	*fmin = f;
	if (w->canceled)
		return MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
	if (f >= BIG)
	{
		*ok = false;
		w->evalfail = true;
		return true;
	}
	if (n == 0)
		return true;
	Fmin = f;
	if (!r_gradient(w, u, g))
	{
		*ok = false;
		w->evalfail = true;
		return !w->canceled || MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
	}
	iter++;
	ilast = gradcount;
	do
	{
		double		gradproj = 0.0,
					steplength;

		if (MiningInterrupted(w->env))
			w->canceled = true;
		if (w->canceled)
			return MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
		if (ilast == gradcount)
			for (i = 0; i < n; i++)
				for (j = 0; j < n; j++)
					B[i][j] = i == j ? 1.0 : 0.0;
		for (i = 0; i < n; i++)
		{
			X[i] = u[i];
			c[i] = g[i];
		}
		/* t = -B g, the search direction */
		for (i = 0; i < n; i++)
		{
			double		s = 0.0;

			for (j = 0; j < n; j++)
				s -= B[i][j] * g[j];
			t[i] = s;
			gradproj += s * g[i];
		}
		if (gradproj < 0.0)
		{
			bool		accpoint = false;

			steplength = 1.0;
			do
			{
				count = 0;
				for (i = 0; i < n; i++)
				{
					u[i] = X[i] + steplength * t[i];
					if (10.0 + X[i] == 10.0 + u[i])
						count++;
				}
				if (count < n)
				{
					coef_from_u(w, u, coef);
					f = objective_coef(w, coef);
					accpoint = f < BIG && f <= Fmin + gradproj * steplength * 1e-4;
					if (!accpoint)
						steplength *= 0.2;
				}
			} while (!(count == n || accpoint));
			if (w->canceled)
				return MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
			if (!(fabs(f - Fmin) > reltol * (fabs(Fmin) + reltol)))
			{
				/* relative change below reltol: done */
				count = n;
				Fmin = f;
			}
			if (count < n)
			{
				double		D1 = 0.0;

				Fmin = f;
				if (!r_gradient(w, u, g))
				{
					*ok = false;
					w->evalfail = true;
					*fmin = Fmin;
					return !w->canceled || MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
				}
				gradcount++;
				iter++;
				for (i = 0; i < n; i++)
				{
					t[i] *= steplength;
					c[i] = g[i] - c[i];
					D1 += t[i] * c[i];
				}
				if (D1 > 0)
				{
					double		D2 = 0.0;

					for (i = 0; i < n; i++)
					{
						double		s = 0.0;

						for (j = 0; j < n; j++)
							s += B[i][j] * c[j];
						X[i] = s;
						D2 += s * c[i];
					}
					D2 = 1.0 + D2 / D1;
					for (i = 0; i < n; i++)
						for (j = 0; j < n; j++)
							B[i][j] += (D2 * t[i] * t[j] - X[i] * t[j] - t[i] * X[j]) / D1;
				}
				else
					ilast = gradcount;
			}
			else if (ilast < gradcount)
			{
				/* no progress: reset B and try again */
				count = 0;
				ilast = gradcount;
			}
		}
		else
		{
			/* uphill: reset, unless just reset */
			count = 0;
			if (ilast == gradcount)
				count = n;
			else
				ilast = gradcount;
		}
		if (iter >= 100)
			break;
		if (gradcount - ilast > 2 * n)
			ilast = gradcount;	/* periodic restart */
	} while (count != n || ilast != gradcount);
	/* the point of Fmin: u holds the last trial when the search ended there */
	if (count == n && !(f == Fmin))
		memcpy(u, X, sizeof(double) * n);
	*fmin = Fmin;
	*iters = iter;
	if (iter >= 100)
		*ok = false;			/* R's convergence code 1 */
	return true;
}

/*
 * Minimise the current objective from u (in place). Returns the minimum;
 * *iters and *ok report the run. false only on cancel or when GSL cannot
 * start (out of memory).
 */
static bool
minimise(Work *w, double *u, double *fmin, int *iters, bool *ok)
{
	gsl_multimin_function_fdf fn;
	gsl_multimin_fdfminimizer *mz;
	gsl_vector_view start = gsl_vector_view_array(u, w->ncoef);
	int			it = 0,
				flat = 0,
				status = GSL_CONTINUE;
	double		f0;

	/* auto's candidates: R's own method, so the search goes where R's goes */
	if (w->spec.quick)
		return minimise_r(w, u, fmin, iters, ok);
	*ok = true;
	*iters = 0;
	f0 = gsl_f(&start.vector, w);
	if (w->ncoef == 0)
	{
		*fmin = f0;
		return !w->canceled;
	}
	if (f0 >= BIG)
	{
		*fmin = f0;
		*ok = false;
		return !w->canceled;
	}
	fn.n = w->ncoef;
	fn.f = gsl_f;
	fn.df = gsl_df;
	fn.fdf = gsl_fdf;
	fn.params = w;
	mz = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, w->ncoef);
	if (mz == NULL)
		return MiningSetError(w->err, MINING_ERR_NOMEM, "out of memory in the BFGS minimiser");
	gsl_multimin_fdfminimizer_set(mz, &fn, &start.vector, 0.1, 0.1);
	while (it < MAXIT)
	{
		double		fprev = mz->f;

		it++;
		if (MiningInterrupted(w->env))
			w->canceled = true;
		if (w->canceled)
			break;
		status = gsl_multimin_fdfminimizer_iterate(mz);
		if (status != GSL_SUCCESS)
			break;
		status = gsl_multimin_test_gradient(mz->gradient, 1e-7);
		if (status == GSL_SUCCESS)
			break;
		/*
		 * R's optim stops when the objective changes by less than reltol
		 * (1.5e-8) of itself; we ask RELTOL for two iterations in a row, so
		 * a flat ridge ends the search without ending it early. (The
		 * automatic search's candidates take minimise_r instead.)
		 */
		if (fabs(fprev - mz->f) <= RELTOL * (fabs(mz->f) + RELTOL))
		{
			if (++flat >= 2)
			{
				status = GSL_SUCCESS;
				break;
			}
		}
		else
			flat = 0;
	}
	if (w->canceled)
	{
		gsl_multimin_fdfminimizer_free(mz);
		return MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
	}
	/* no progress possible is a minimum when the gradient is small */
	if (status != GSL_SUCCESS)
		*ok = gsl_blas_dnrm2(mz->gradient) < 1e-3;
	memcpy(u, mz->x->data, sizeof(double) * w->ncoef);
	*fmin = mz->f;
	*iters = it;
	gsl_multimin_fdfminimizer_free(mz);
	if (!isfinite(*fmin) || *fmin >= BIG)
		*ok = false;
	return true;
}

/*
 * Covariance of the estimates: inverse of n * Hessian of the objective in
 * the optimiser's coordinates (u), mapped to natural coefficients with the
 * Jacobian of coef_from_u (delta method, as R's ARIMA_Gradtrans does).
 */
static void
standard_errors(Work *w, const double *u, double *se)
{
	int			k = w->ncoef,
				i,
				j;
	double		H[ARIMA_MAX_COEF * ARIMA_MAX_COEF];
	double		J[ARIMA_MAX_COEF * ARIMA_MAX_COEF];
	double		uu[ARIMA_MAX_COEF],
				c1[ARIMA_MAX_COEF],
				c2[ARIMA_MAX_COEF];
	double		f0,
				h = HESS_STEP;
	gsl_matrix_view Hv;
	gsl_permutation *perm;
	gsl_matrix *inv;
	int			sgn;

	for (i = 0; i < k; i++)
		se[i] = NAN;
	if (k <= 0 || k > ARIMA_MAX_COEF)
		return;
	memcpy(uu, u, sizeof(double) * (size_t) k);
	coef_from_u(w, uu, c1);
	f0 = objective_coef(w, c1);
	for (i = 0; i < k; i++)
	{
		for (j = i; j < k; j++)
		{
			double		fpp,
						fpm,
						fmp,
						fmm;

			if (i == j)
			{
				/* R's optimhess differences a central gradient: step 2h */
				uu[i] = u[i] + 2 * h;
				coef_from_u(w, uu, c1);
				fpp = objective_coef(w, c1);
				uu[i] = u[i] - 2 * h;
				coef_from_u(w, uu, c1);
				fmm = objective_coef(w, c1);
				uu[i] = u[i];
				H[i * k + i] = (fpp - 2 * f0 + fmm) / (4 * h * h);
			}
			else
			{
				uu[i] = u[i] + h;
				uu[j] = u[j] + h;
				coef_from_u(w, uu, c1);
				fpp = objective_coef(w, c1);
				uu[j] = u[j] - h;
				coef_from_u(w, uu, c1);
				fpm = objective_coef(w, c1);
				uu[i] = u[i] - h;
				coef_from_u(w, uu, c1);
				fmm = objective_coef(w, c1);
				uu[j] = u[j] + h;
				coef_from_u(w, uu, c1);
				fmp = objective_coef(w, c1);
				uu[i] = u[i];
				uu[j] = u[j];
				H[i * k + j] = H[j * k + i] = (fpp - fpm - fmp + fmm) / (4 * h * h);
			}
			if (w->canceled)
				return;
		}
	}
	for (i = 0; i < k * k; i++)
	{
		if (!isfinite(H[i]) || fabs(H[i]) > BIG / 10)
			return;
		H[i] *= w->nused;
	}
	/* J[i][j] = d coef_i / d u_j, forward differences as ARIMA_Gradtrans */
	coef_from_u(w, uu, c2);
	for (j = 0; j < k; j++)
	{
		double		hj = 1e-3;

		uu[j] = u[j] + hj;
		coef_from_u(w, uu, c1);
		uu[j] = u[j];
		for (i = 0; i < k; i++)
			J[i * k + j] = (c1[i] - c2[i]) / hj;
	}
	Hv = gsl_matrix_view_array(H, k, k);
	perm = gsl_permutation_alloc(k);
	inv = gsl_matrix_alloc(k, k);
	if (perm != NULL && inv != NULL &&
		gsl_linalg_LU_decomp(&Hv.matrix, perm, &sgn) == GSL_SUCCESS &&
		gsl_linalg_LU_det(&Hv.matrix, sgn) != 0.0 &&
		gsl_linalg_LU_invert(&Hv.matrix, perm, inv) == GSL_SUCCESS)
	{
		for (i = 0; i < k; i++)
		{
			/* var_ii = sum_ab J_ia Hinv_ab J_ia */
			double		v = 0.0;
			int			a,
						b;

			for (a = 0; a < k; a++)
				for (b = 0; b < k; b++)
					v += J[i * k + a] * gsl_matrix_get(inv, a, b) * J[i * k + b];
			se[i] = v > 0 ? sqrt(v) : NAN;
		}
	}
	if (perm)
		gsl_permutation_free(perm);
	if (inv)
		gsl_matrix_free(inv);
}

/* ---------------------------------------------------------------------- */
/* the fit																	  */
/* ---------------------------------------------------------------------- */

bool
ArimaCheckSpec(const ArimaSpec *spec, MiningError *err)
{
	bool		seasonal = spec->P > 0 || spec->D > 0 || spec->Q > 0;

	if (spec->p < 0 || spec->d < 0 || spec->q < 0 || spec->P < 0 || spec->D < 0 ||
		spec->Q < 0 || spec->s < 0)
		return MiningSetError(err, MINING_ERR_ARGUMENT, "orders must not be negative");
	if (spec->p > ARIMA_MAX_P || spec->q > ARIMA_MAX_P)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "order (%d,%d,%d) is too large", spec->p, spec->d, spec->q);
		MiningSetDetail(err, "p and q may be at most %d.", ARIMA_MAX_P);
		return false;
	}
	if (spec->d > ARIMA_MAX_D || spec->D > ARIMA_MAX_SD)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "differencing order d = %d, D = %d is too large", spec->d, spec->D);
		MiningSetDetail(err, "d may be at most %d and D at most %d.", ARIMA_MAX_D, ARIMA_MAX_SD);
		return false;
	}
	if (spec->P > ARIMA_MAX_SP || spec->Q > ARIMA_MAX_SP)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "seasonal order (%d,%d,%d) is too large", spec->P, spec->D, spec->Q);
		MiningSetDetail(err, "P and Q may be at most %d.", ARIMA_MAX_SP);
		return false;
	}
	if (seasonal && (spec->s < 2 || spec->s > ARIMA_MAX_PERIOD))
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "seasonal period %d is out of range", spec->s);
		MiningSetDetail(err, "A seasonal model needs a period from 2 to %d.", ARIMA_MAX_PERIOD);
		return false;
	}
	return true;
}

/* Allocate the work area for spec over a series of n. */
static bool
work_init(Work *w, MiningEnv *env, const double *y, size_t n, const ArimaSpec *spec,
		  MiningError *err)
{
	int			s,
				i,
				k,
				rr;
	double		dpoly[ARIMA_MAX_D + ARIMA_MAX_PERIOD * ARIMA_MAX_SD + 1];
	int			dlen;

	memset(w, 0, sizeof(*w));
	w->env = env;
	w->err = err;
	w->spec = *spec;
	w->y = y;
	w->n = n;
	s = (spec->P > 0 || spec->D > 0 || spec->Q > 0) ? spec->s : 0;
	if (s == 0)
	{
		w->spec.P = w->spec.D = w->spec.Q = 0;
		w->spec.s = 0;
	}
	w->p = spec->p;
	w->q = spec->q;
	w->P = w->spec.P;
	w->Q = w->spec.Q;
	w->s = s;
	w->narma = w->p + w->q + w->P + w->Q;
	w->has_mean = spec->include_mean && spec->d + w->spec.D == 0;
	w->has_drift = spec->include_drift && spec->d + w->spec.D <= 1;
	w->ncoef = w->narma + (w->has_mean ? 1 : 0) + (w->has_drift ? 1 : 0);
	w->np = w->p + s * w->P;
	w->nq = w->q + s * w->Q;
	w->r = w->np > w->nq + 1 ? w->np : w->nq + 1;

	/* Delta: -(coefficients of (1-B)^d (1-B^s)^D past the leading 1) */
	dpoly[0] = 1.0;
	dlen = 1;
	for (k = 0; k < spec->d + w->spec.D; k++)
	{
		int			lag = k < spec->d ? 1 : s;

		for (i = dlen; i < dlen + lag; i++)
			dpoly[i] = 0.0;
		for (i = dlen + lag - 1; i >= lag; i--)
			dpoly[i] -= dpoly[i - lag];
		dlen += lag;
	}
	w->nd = dlen - 1;
	w->rd = w->r + w->nd;
	if (w->rd > ARIMA_MAX_STATE)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "orders are too large: the state would have %d elements", w->rd);
		MiningSetDetail(err, "max(p + s*P, q + s*Q + 1) + d + s*D may be at most %d.", ARIMA_MAX_STATE);
		MiningSetHint(err, "Use smaller orders or a shorter seasonal period.");
		return false;
	}
	rr = w->r;
#define ALLOC(field, cnt, what) \
	do { \
		if ((w->field = MiningAlloc(env, (cnt), sizeof(*w->field), true, what, err)) == NULL) \
			return false; \
	} while (0)
	ALLOC(x, n, "the series");
	ALLOC(xd, n, "the series");
	ALLOC(w, n, "the series");
	ALLOC(resid, n, "the residuals");
	ALLOC(phi, w->np + 1, "the model");
	ALLOC(theta, rr + 1, "the model");
	ALLOC(delta, w->nd + 1, "the model");
	ALLOC(dnz, w->nd + 1, "the model");
	ALLOC(a, w->rd, "the state");
	ALLOC(anew, w->rd, "the state");
	ALLOC(M, w->rd, "the state");
	ALLOC(Pm, (size_t) w->rd * w->rd, "the state");
	ALLOC(Pnew, (size_t) w->rd * w->rd, "the state");
	ALLOC(mm, (size_t) w->rd * w->rd, "the state");
	ALLOC(q0, (size_t) rr * rr, "the state");
	ALLOC(qa, (size_t) rr * rr, "the state");
	ALLOC(qt, (size_t) rr * rr, "the state");
	ALLOC(qt2, (size_t) rr * rr, "the state");
	ALLOC(ck, rr + 1, "the state");
	ALLOC(cw, rr + 1, "the state");
	ALLOC(ca, rr + 1, "the state");
	ALLOC(cph, rr + 1, "the state");
	ALLOC(cu, rr + 1, "the state");
	ALLOC(gam, rr + 1, "the state");
	ALLOC(psi, rr + 1, "the state");
	ALLOC(gsys, (size_t) (w->np + 1) * (w->np + 2), "the state");
#undef ALLOC
	for (i = 0; i < w->nd; i++)
	{
		w->delta[i] = -dpoly[i + 1];
		if (w->delta[i] != 0.0)
			w->dnz[w->ndnz++] = i;
	}
	for (i = 0; i < w->ncoef; i++)
		w->parscale[i] = 1.0;
	w->reg_dirty = true;
	return true;
}

static void
work_free(Work *w)
{
	MiningEnv  *env = w->env;
	size_t		rr = (size_t) w->r * w->r,
				rd2 = (size_t) w->rd * w->rd;

	if (env == NULL)
		return;
	MiningFree(env, w->x, w->n, sizeof(double));
	MiningFree(env, w->xd, w->n, sizeof(double));
	MiningFree(env, w->w, w->n, sizeof(double));
	MiningFree(env, w->resid, w->n, sizeof(double));
	MiningFree(env, w->phi, w->np + 1, sizeof(double));
	MiningFree(env, w->theta, w->r + 1, sizeof(double));
	MiningFree(env, w->delta, w->nd + 1, sizeof(double));
	MiningFree(env, w->dnz, w->nd + 1, sizeof(int));
	MiningFree(env, w->a, w->rd, sizeof(double));
	MiningFree(env, w->anew, w->rd, sizeof(double));
	MiningFree(env, w->M, w->rd, sizeof(double));
	MiningFree(env, w->Pm, rd2, sizeof(double));
	MiningFree(env, w->Pnew, rd2, sizeof(double));
	MiningFree(env, w->mm, rd2, sizeof(double));
	MiningFree(env, w->q0, rr, sizeof(double));
	MiningFree(env, w->qa, rr, sizeof(double));
	MiningFree(env, w->qt, rr, sizeof(double));
	MiningFree(env, w->qt2, rr, sizeof(double));
	MiningFree(env, w->ck, w->r + 1, sizeof(double));
	MiningFree(env, w->cw, w->r + 1, sizeof(double));
	MiningFree(env, w->ca, w->r + 1, sizeof(double));
	MiningFree(env, w->cph, w->r + 1, sizeof(double));
	MiningFree(env, w->cu, w->r + 1, sizeof(double));
	MiningFree(env, w->gam, w->r + 1, sizeof(double));
	MiningFree(env, w->psi, w->r + 1, sizeof(double));
	MiningFree(env, w->gsys, (size_t) (w->np + 1) * (w->np + 2), sizeof(double));
	w->env = NULL;
}

/*
 * Check the series: finite or NaN, enough observations, not constant after
 * differencing. Fills starting values and scales of the regression terms.
 */
static bool
check_series(Work *w, double *init)
{
	size_t		n = w->n,
				nonmiss = 0,
				t,
				cnt = 0;
	int			i,
				need;
	double		mean = 0.0,
				m2 = 0.0,
				ymax = 0.0;
	double	   *dx = w->w;

	for (t = 0; t < n; t++)
	{
		if (isnan(w->y[t]))
			continue;
		if (!isfinite(w->y[t]))
		{
			MiningSetError(w->err, MINING_ERR_DATA, "series has an infinite value at position %zu", t + 1);
			return false;
		}
		nonmiss++;
		if (fabs(w->y[t]) > ymax)
			ymax = fabs(w->y[t]);
	}
	need = w->nd + w->np + w->ncoef + 2;
	if (nonmiss < (size_t) need)
	{
		MiningSetError(w->err, MINING_ERR_DATA, "series is too short for the model: %zu observations", nonmiss);
		MiningSetDetail(w->err, "ARIMA(%d,%d,%d)(%d,%d,%d)[%d] with %d coefficients needs at least %d non-missing observations.",
						w->p, w->spec.d, w->q, w->P, w->spec.D, w->Q, w->s, w->ncoef, need);
		MiningSetHint(w->err, "Use a longer series or smaller orders.");
		return false;
	}
	w->nused = (double) nonmiss - w->nd;

	/* the differenced series: its mean starts the drift, its spread the scale */
	memcpy(dx, w->y, sizeof(double) * n);
	for (i = 0; i < w->spec.d; i++)
		for (t = n - 1; t > 0; t--)
			dx[t] -= dx[t - 1];
	for (i = 0; i < w->spec.D; i++)
		for (t = n - 1; t >= (size_t) w->s; t--)
			dx[t] -= dx[t - w->s];
	for (t = (size_t) w->nd; t < n; t++)
	{
		double		d;

		if (isnan(dx[t]))
			continue;
		cnt++;
		d = dx[t] - mean;
		mean += d / cnt;
		m2 += d * (dx[t] - mean);
	}
	if (ymax > 1e150)
	{
		MiningSetError(w->err, MINING_ERR_DATA, "series values are too large: up to %g", ymax);
		MiningSetHint(w->err, "Rescale the series (for example divide it by a power of ten).");
		return false;
	}
	if (cnt < 2)
	{
		MiningSetError(w->err, MINING_ERR_DATA, "series has too few observations after differencing: %zu", cnt);
		MiningSetDetail(w->err, "A difference needs both of its values; missing values leave gaps.");
		return false;
	}
	if (sqrt(m2 / (cnt - 1)) <= 1e-10 * (ymax > 0 ? ymax : 1.0))
	{
		if (w->nd > 0)
			MiningSetError(w->err, MINING_ERR_DATA, "series is constant after differencing");
		else
			MiningSetError(w->err, MINING_ERR_DATA, "series is constant");
		MiningSetDetail(w->err, "An ARIMA model needs a series that varies; a constant one has nothing to fit.");
		return false;
	}
	for (i = 0; i < w->ncoef; i++)
		init[i] = 0.0;
	i = w->narma;
	if (w->has_mean)
	{
		/* lm(x ~ 1): the mean, its standard error */
		w->parscale[i] = 10 * sqrt(m2 / (cnt - 1) / cnt);
		init[i++] = mean;
	}
	if (w->has_drift)
	{
		if (w->nd > 0)
		{
			/*
			 * R regresses the differenced series on the differenced
			 * regressor: with d + D = 1 the drift's difference is the
			 * constant nd (1, or s for a seasonal difference), so
			 * lm(dx ~ dt - 1) gives mean(dx) / nd and its standard error.
			 */
			w->parscale[i] = 10 * sqrt(m2 / (cnt - 1) / cnt) / w->nd;
			init[i] = mean / w->nd;
		}
		else
		{
			/* lm(x ~ 1 + t): slope and its standard error */
			double		st = 0,
						sy = 0,
						stt = 0,
						sty = 0,
						syy = 0,
						k = 0,
						b,
						c0,
						rss;

			for (t = 0; t < n; t++)
			{
				double		tt = (double) (t + 1);

				if (isnan(w->y[t]))
					continue;
				k++;
				st += tt;
				sy += w->y[t];
				stt += tt * tt;
				sty += tt * w->y[t];
				syy += w->y[t] * w->y[t];
			}
			b = (k * sty - st * sy) / (k * stt - st * st);
			c0 = (sy - b * st) / k;
			rss = syy - c0 * sy - b * sty;
			if (rss < 0)
				rss = 0;
			w->parscale[i] = 10 * sqrt(rss / (k - 2) / (stt - st * st / k));
			init[i] = b;
			if (w->has_mean)
			{
				init[i - 1] = c0;
			}
		}
		if (!(w->parscale[i] > 0))
			w->parscale[i] = 1.0;
	}
	if (w->has_mean && !(w->parscale[w->narma] > 0))
		w->parscale[w->narma] = 1.0;
	return true;
}

static void
name_terms(ArimaModel *m, const Work *w)
{
	int			k = 0,
				i;

	for (i = 0; i < w->p; i++)
		snprintf(m->term[k++], sizeof(m->term[0]), "ar%d", i + 1);
	for (i = 0; i < w->q; i++)
		snprintf(m->term[k++], sizeof(m->term[0]), "ma%d", i + 1);
	for (i = 0; i < w->P; i++)
		snprintf(m->term[k++], sizeof(m->term[0]), "sar%d", i + 1);
	for (i = 0; i < w->Q; i++)
		snprintf(m->term[k++], sizeof(m->term[0]), "sma%d", i + 1);
	if (w->has_mean)
		snprintf(m->term[k++], sizeof(m->term[0]), "intercept");
	if (w->has_drift)
		snprintf(m->term[k++], sizeof(m->term[0]), "drift");
}

/* Keep the final state in the model (allocated through env). */
static bool
keep_state(ArimaModel *m, Work *w)
{
	MiningEnv  *env = w->env;
	size_t		rd2 = (size_t) w->rd * w->rd;

	m->n = w->n;
	m->r = w->r;
	m->rd = w->rd;
	m->np = w->np;
	m->nq = w->nq;
	m->nd = w->nd;
	if ((m->phi = MiningAlloc(env, w->np + 1, sizeof(double), false, "the model", w->err)) == NULL ||
		(m->theta = MiningAlloc(env, w->r + 1, sizeof(double), false, "the model", w->err)) == NULL ||
		(m->delta = MiningAlloc(env, w->nd + 1, sizeof(double), false, "the model", w->err)) == NULL ||
		(m->a = MiningAlloc(env, w->rd, sizeof(double), false, "the model", w->err)) == NULL ||
		(m->P = MiningAlloc(env, rd2, sizeof(double), false, "the model", w->err)) == NULL)
		return false;
	memcpy(m->phi, w->phi, sizeof(double) * (w->np + 1));
	memcpy(m->theta, w->theta, sizeof(double) * (w->r + 1));
	memcpy(m->delta, w->delta, sizeof(double) * (w->nd + 1));
	memcpy(m->a, w->a, sizeof(double) * w->rd);
	memcpy(m->P, w->Pm, sizeof(double) * rd2);
	return true;
}

void
ArimaFree(MiningEnv *env, ArimaModel *m)
{
	if (m == NULL)
		return;
	MiningFree(env, m->phi, m->np + 1, sizeof(double));
	MiningFree(env, m->theta, m->r + 1, sizeof(double));
	MiningFree(env, m->delta, m->nd + 1, sizeof(double));
	MiningFree(env, m->a, m->rd, sizeof(double));
	MiningFree(env, m->P, (size_t) m->rd * m->rd, sizeof(double));
	MiningFree(env, m, 1, sizeof(ArimaModel));
}

/*
 * Fit w's model into m. css_coef, when given for 'CSS-ML', is the result
 * of the CSS stage already known (the automatic search fitted the same
 * model by CSS from the same start): the stage is not run again.
 */
static bool
fit_work(Work *w, ArimaModel *m, const double *css_coef)
{
	double		init[ARIMA_MAX_COEF],
				u[ARIMA_MAX_COEF],
				coef[ARIMA_MAX_COEF];
	double		fmin = 0,
				ssq,
				sumlog,
				value;
	int			it,
				nu,
				i;
	bool		ok = true,
				ok2;
	ArimaMethod method = w->spec.method;
	bool		anymiss = false;
	size_t		t;

	if (!check_series(w, init))
		return false;
	for (t = 0; t < w->n; t++)
		if (isnan(w->y[t]))
			anymiss = true;
	if (method == ARIMA_CSS_ML && anymiss)
		method = ARIMA_ML;
	w->full = anymiss && w->nd > 0;
	w->anymiss = anymiss;
	w->reg_dirty = true;
	m->iterations = 0;

	if (method == ARIMA_CSS_ML && css_coef != NULL)
	{
		if (ar_check(css_coef, w->p) && ar_check(css_coef + w->p + w->q, w->P))
			memcpy(init, css_coef, sizeof(double) * w->ncoef);
		else if (w->spec.quick)
			return MiningSetError(w->err, MINING_ERR_NO_CONVERGENCE, "non-stationary AR part from CSS");
	}
	else if (method == ARIMA_CSS || method == ARIMA_CSS_ML)
	{
		w->kind = OBJ_CSS;
		w->trans = false;
		w->ncond = w->nd + w->np;
		for (i = 0; i < w->ncoef; i++)
			u[i] = init[i] / w->parscale[i];
		if (!minimise(w, u, &fmin, &it, &ok))
			return false;
		m->iterations += it;
		if (method == ARIMA_CSS)
		{
			/* R accepts an unfinished search (a warning), not a failed one */
			if (!ok && !(w->spec.quick && !w->evalfail))
			{
				MiningSetError(w->err, MINING_ERR_NO_CONVERGENCE, "conditional sum of squares did not converge");
				MiningSetHint(w->err, "Try method 'ML' or other orders.");
				return false;
			}
			coef_from_u(w, u, coef);
			standard_errors(w, u, m->se);
			if (w->canceled)
				return MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
			memcpy(m->coef, coef, sizeof(double) * w->ncoef);
			expand(w, coef);
			set_regression(w, coef);
			m->sigma2 = css(w, &nu);
			if (!kalman(w, true, &ssq, &sumlog, &nu))
			{
				if (w->canceled)
					return MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
				MiningSetError(w->err, MINING_ERR_NO_CONVERGENCE, "the CSS estimates give a non-stationary model");
				MiningSetHint(w->err, "Use method 'CSS-ML' or 'ML', which keep the model stationary.");
				return false;
			}
			value = 2 * w->nused * fmin + w->nused + w->nused * log(2 * M_PI);
			m->loglik = -0.5 * value;
			m->aic = m->aicc = m->bic = NAN;
			m->converged = ok;
			return true;
		}
		/* CSS-ML: CSS starting values when they converged and are stationary */
		coef_from_u(w, u, coef);
		if (ok && ar_check(coef, w->p) && ar_check(coef + w->p + w->q, w->P))
			memcpy(init, coef, sizeof(double) * w->ncoef);
		else if (ok && w->spec.quick)
		{
			/* R's arima stops there: the candidate is rejected */
			return MiningSetError(w->err, MINING_ERR_NO_CONVERGENCE, "non-stationary AR part from CSS");
		}
	}

	/* ML on transformed parameters */
	w->kind = OBJ_ML;
	w->ncond = 0;
	if (w->p > 0 && !invpartrans(w->p, init, init))
		memset(init, 0, sizeof(double) * w->p);
	if (w->P > 0 && !invpartrans(w->P, init + w->p + w->q, init + w->p + w->q))
		memset(init + w->p + w->q, 0, sizeof(double) * w->P);
	ma_invert(init + w->p, w->q);
	ma_invert(init + w->p + w->q + w->P, w->Q);
	for (i = 0; i < w->ncoef; i++)
		u[i] = init[i] / w->parscale[i];
	w->trans = true;
	if (!minimise(w, u, &fmin, &it, &ok2))
		return false;
	m->iterations += it;
	if (!ok2 && !(w->spec.quick && !w->evalfail))
	{
		MiningSetError(w->err, MINING_ERR_NO_CONVERGENCE, "maximum likelihood estimation did not converge");
		MiningSetDetail(w->err, "BFGS stopped after %d iterations away from a minimum.", it);
		MiningSetHint(w->err, "Try other orders, method 'CSS', or a longer series.");
		return false;
	}
	coef_from_u(w, u, coef);
	/* MA parts invertible: flip roots, then take the point as the new u */
	{
		double		before[ARIMA_MAX_COEF];

		memcpy(before, coef, sizeof(double) * w->ncoef);
		ma_invert(coef + w->p, w->q);
		ma_invert(coef + w->p + w->q + w->P, w->Q);
		if (memcmp(before, coef, sizeof(double) * w->ncoef) != 0)
		{
			double		tmp[ARIMA_MAX_COEF];
			gsl_vector_view uv;

			memcpy(tmp, coef, sizeof(double) * w->ncoef);
			if (w->p > 0)
				invpartrans(w->p, coef, tmp);
			if (w->P > 0)
				invpartrans(w->P, coef + w->p + w->q, tmp + w->p + w->q);
			for (i = 0; i < w->ncoef; i++)
				u[i] = tmp[i] / w->parscale[i];
			uv = gsl_vector_view_array(u, w->ncoef);
			fmin = gsl_f(&uv.vector, w);
		}
	}
	standard_errors(w, u, m->se);
	if (w->canceled)
		return MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
	memcpy(m->coef, coef, sizeof(double) * w->ncoef);
	expand(w, coef);
	set_regression(w, coef);
	if (!kalman(w, true, &ssq, &sumlog, &nu))
	{
		if (w->canceled)
			return MiningSetError(w->err, MINING_ERR_CANCELED, "canceled");
		return MiningSetError(w->err, MINING_ERR_NO_CONVERGENCE, "the fitted model is not stationary");
	}
	m->sigma2 = ssq / w->nused;
	value = 2 * w->nused * fmin + w->nused + w->nused * log(2 * M_PI);
	m->loglik = -0.5 * value;
	{
		double		npar = w->ncoef + 1;

		m->aic = value + 2 * npar;
		m->aicc = w->nused - npar - 1 > 0 ? m->aic + 2 * npar * (npar + 1) / (w->nused - npar - 1) : INFINITY;
		m->bic = m->aic + npar * (log(w->nused) - 2);
	}
	m->converged = ok2;
	return true;
}

static bool fit_start(MiningEnv *env, const double *y, size_t n, const ArimaSpec *spec,
					  const double *css_coef, ArimaModel **out, MiningError *err);

bool
ArimaFit(MiningEnv *env, const double *y, size_t n, const ArimaSpec *spec,
		 ArimaModel **out, MiningError *err)
{
	return fit_start(env, y, n, spec, NULL, out, err);
}

/* ArimaFit, with the CSS stage's result when known (fit_work) */
static bool
fit_start(MiningEnv *env, const double *y, size_t n, const ArimaSpec *spec,
		  const double *css_coef, ArimaModel **out, MiningError *err)
{
	Work		w;
	ArimaModel *m;
	bool		ok;

	gsl_set_error_handler_off();
	*out = NULL;
	if (!ArimaCheckSpec(spec, err))
		return false;
	if (n > (size_t) 100000000)
	{
		MiningSetError(err, MINING_ERR_LIMIT, "series is too long: %zu values", n);
		MiningSetDetail(err, "A series may have at most 100000000 values.");
		return false;
	}
	m = MiningAlloc(env, 1, sizeof(ArimaModel), true, "the model", err);
	if (m == NULL)
		return false;
	if (!work_init(&w, env, y, n, spec, err))
	{
		work_free(&w);
		MiningFree(env, m, 1, sizeof(ArimaModel));
		return false;
	}
	m->spec = w.spec;
	m->ncoef = w.ncoef;
	m->has_mean = w.has_mean;
	m->has_drift = w.has_drift;
	m->nobs = (int) 0;
	name_terms(m, &w);
	err->code = MINING_OK;
	ok = fit_work(&w, m, css_coef);
	if (!ok && w.canceled)
		MiningSetError(err, MINING_ERR_CANCELED, "canceled");
	else if (!ok && err->code == MINING_OK)
		MiningSetError(err, MINING_ERR_INTERNAL, "ARIMA fit failed without a reason");
	if (ok)
	{
		m->nobs = (int) w.nused;
		ok = keep_state(m, &w);
	}
	work_free(&w);
	if (!ok)
	{
		ArimaFree(env, m);
		return false;
	}
	*out = m;
	return true;
}

/*
 * ArimaForecast
 *		R's KalmanForecast on the final state, plus the regression part;
 *		se is sqrt(sigma^2 * Z P Z').
 */
bool
ArimaForecast(MiningEnv *env, const ArimaModel *m, int h, double *mean, double *se,
			  MiningError *err)
{
	int			rd = m->rd,
				r = m->r,
				i,
				j,
				k,
				l;
	size_t		rd2 = (size_t) rd * rd;
	double	   *a,
			   *anew,
			   *P,
			   *mm;
	double		mu = 0,
				beta = 0;
	bool		ok = true;

	if (h < 1 || h > ARIMA_MAX_HORIZON)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "horizon %d is out of range", h);
		MiningSetDetail(err, "The horizon must be from 1 to %d steps.", ARIMA_MAX_HORIZON);
		return false;
	}
	a = MiningAlloc(env, rd, sizeof(double), false, "the forecast", err);
	anew = MiningAlloc(env, rd, sizeof(double), false, "the forecast", err);
	P = MiningAlloc(env, rd2, sizeof(double), false, "the forecast", err);
	mm = MiningAlloc(env, rd2, sizeof(double), false, "the forecast", err);
	if (a == NULL || anew == NULL || P == NULL || mm == NULL)
	{
		ok = false;
		goto done;
	}
	memcpy(a, m->a, sizeof(double) * rd);
	memcpy(P, m->P, sizeof(double) * rd2);
	k = m->ncoef - (m->has_mean ? 1 : 0) - (m->has_drift ? 1 : 0);
	if (m->has_mean)
		mu = m->coef[k++];
	if (m->has_drift)
		beta = m->coef[k];

	for (l = 0; l < h; l++)
	{
		double		fc,
					var;

		if ((l & 255) == 255 && MiningInterrupted(env))
		{
			ok = MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			goto done;
		}
		for (i = 0; i < r; i++)
			anew[i] = (i < r - 1 ? a[i + 1] : 0.0) + (i < m->np ? m->phi[i] * a[0] : 0.0);
		if (rd > r)
		{
			double		tmp = a[0];

			for (k = 0; k < m->nd; k++)
				tmp += m->delta[k] * a[r + k];
			for (i = rd - 1; i > r; i--)
				anew[i] = a[i - 1];
			anew[r] = tmp;
		}
		memcpy(a, anew, sizeof(double) * rd);
		fc = a[0];
		for (k = 0; k < m->nd; k++)
			fc += m->delta[k] * a[r + k];

		/* mm = T P */
		for (i = 0; i < r; i++)
			for (j = 0; j < rd; j++)
				mm[i * rd + j] = (i < r - 1 ? P[(i + 1) * rd + j] : 0.0) +
					(i < m->np ? m->phi[i] * P[j] : 0.0);
		if (rd > r)
		{
			for (j = 0; j < rd; j++)
			{
				double		tmp = P[j];

				for (k = 0; k < m->nd; k++)
					tmp += m->delta[k] * P[(r + k) * rd + j];
				mm[r * rd + j] = tmp;
			}
			for (i = r + 1; i < rd; i++)
				memcpy(mm + (size_t) i * rd, P + (size_t) (i - 1) * rd, sizeof(double) * rd);
		}
		/* P = mm T' + V */
		for (i = 0; i < rd; i++)
		{
			const double *row = mm + (size_t) i * rd;

			for (j = 0; j < r; j++)
				P[i * rd + j] = (j < r - 1 ? row[j + 1] : 0.0) + (j < m->np ? m->phi[j] * row[0] : 0.0);
			if (rd > r)
			{
				double		tmp = row[0];

				for (k = 0; k < m->nd; k++)
					tmp += m->delta[k] * row[r + k];
				P[i * rd + r] = tmp;
				for (j = r + 1; j < rd; j++)
					P[i * rd + j] = row[j - 1];
			}
		}
		for (i = 0; i < r; i++)
			for (j = 0; j < r; j++)
				P[i * rd + j] += (i == 0 ? 1.0 : m->theta[i - 1]) * (j == 0 ? 1.0 : m->theta[j - 1]);
		/* var = Z P Z' */
		var = 0.0;
		for (i = 0; i < rd; i++)
		{
			double		zi = i == 0 ? 1.0 : (i >= r ? m->delta[i - r] : 0.0);
			double		acc = 0.0;

			if (zi == 0.0)
				continue;
			for (j = 0; j < rd; j++)
			{
				double		zj = j == 0 ? 1.0 : (j >= r ? m->delta[j - r] : 0.0);

				if (zj != 0.0)
					acc += P[i * rd + j] * zj;
			}
			var += zi * acc;
		}
		mean[l] = fc + mu + beta * (double) (m->n + l + 1);
		se[l] = sqrt(var * m->sigma2);
	}
done:
	MiningFree(env, a, rd, sizeof(double));
	MiningFree(env, anew, rd, sizeof(double));
	MiningFree(env, P, rd2, sizeof(double));
	MiningFree(env, mm, rd2, sizeof(double));
	return ok;
}

/* ---------------------------------------------------------------------- */
/* automatic order selection (Hyndman & Khandakar 2008; forecast 8.20)		  */
/* ---------------------------------------------------------------------- */

void
ArimaAutoDefaults(ArimaAutoSpec *spec, int s)
{
	memset(spec, 0, sizeof(*spec));
	spec->s = s;
	spec->max_p = 5;
	spec->max_q = 5;
	spec->max_P = 2;
	spec->max_Q = 2;
	spec->max_order = 5;
	spec->max_d = 2;
	spec->max_D = 1;
	spec->d = -1;
	spec->D = -1;
	spec->allow_mean = true;
	spec->stepwise = true;
	spec->max_models = 94;
}

/* forecast's is.constant: all equal to the first within all.equal's 1.5e-8 */
static bool
is_constant(const double *x, size_t n)
{
	double		sdiff = 0,
				sabs = 0;
	size_t		i,
				cnt = 0;
	double		first = NAN;

	for (i = 0; i < n; i++)
		if (!isnan(x[i]))
		{
			first = x[i];
			break;
		}
	if (isnan(first))
		return true;
	for (i = 0; i < n; i++)
	{
		if (isnan(x[i]))
			continue;
		sdiff += fabs(x[i] - first);
		sabs += fabs(x[i]);
		cnt++;
	}
	if (sabs > 0)
		return sdiff / sabs < 1.5e-8;
	return sdiff == 0;
}

/*
 * The KPSS level-stationarity statistic (urca's ur.kpss, type "mu", with
 * forecast's lag trunc(3 sqrt(n) / 13)) of x[0..n-1] (no NaN).
 */
double
ArimaKpssStat(const double *x, size_t m)
{
	double		mean = 0,
				s2 = 0,
				cum = 0,
				eta = 0;
	size_t		i,
				lag,
				k;

	if (m < 2)
		return NAN;
	for (i = 0; i < m; i++)
		mean += x[i];
	mean /= m;
	for (i = 0; i < m; i++)
	{
		double		e = x[i] - mean;

		cum += e;
		eta += cum * cum;
		s2 += e * e;
	}
	lag = (size_t) trunc(3 * sqrt((double) m) / 13);
	for (k = 1; k <= lag && k < m; k++)
	{
		double		acc = 0;

		for (i = k; i < m; i++)
			acc += (x[i] - mean) * (x[i - k] - mean);
		s2 += 2 * (1 - (double) k / (lag + 1)) * acc;
	}
	s2 /= m;
	eta /= (double) m * m;
	return s2 > 0 ? eta / s2 : NAN;
}

/*
 * forecast's ndiffs(test = "kpss", alpha = 0.05): difference while the
 * KPSS statistic is above its 5% critical value 0.463.
 */
int
ArimaNdiffs(MiningEnv *env, const double *y, size_t n, int max_d)
{
	double	   *x;
	size_t		m = 0,
				i;
	int			d = 0;
	MiningError err;

	x = MiningAlloc(env, n, sizeof(double), false, "the series", &err);
	if (x == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!isnan(y[i]))
			x[m++] = y[i];
	if (is_constant(x, m))
	{
		MiningFree(env, x, n, sizeof(double));
		return 0;
	}
	while (d < max_d && m > 2)
	{
		double		st = ArimaKpssStat(x, m);

		if (!(st > 0.463))
			break;
		d++;
		for (i = 0; i + 1 < m; i++)
			x[i] = x[i + 1] - x[i];
		m--;
		if (is_constant(x, m))
			break;
	}
	MiningFree(env, x, n, sizeof(double));
	return d;
}

/*
 * Seasonal strength max(0, 1 - Var(R) / Var(S + R)) from a classical
 * additive decomposition: trend by the centred moving average of order s
 * (2 x s when s is even), seasonal by the mean detrended value of each
 * season (centred), R the rest. forecast's "seas" test computes the same
 * measure from an STL decomposition.
 */
double
ArimaSeasonalStrength(MiningEnv *env, const double *y, size_t n, int s)
{
	MiningError err;
	double	   *tr,
			   *sidx,
			   *cnt;
	size_t		i,
				h = (size_t) s / 2;
	double		smean = 0,
				mr = 0,
				m2r = 0,
				msr = 0,
				m2sr = 0,
				strength;
	size_t		k = 0;

	if (s < 2 || n < 2 * (size_t) s)
		return 0;
	tr = MiningAlloc(env, n, sizeof(double), false, "the decomposition", &err);
	sidx = MiningAlloc(env, s, sizeof(double), true, "the decomposition", &err);
	cnt = MiningAlloc(env, s, sizeof(double), true, "the decomposition", &err);
	if (tr == NULL || sidx == NULL || cnt == NULL)
	{
		MiningFree(env, tr, n, sizeof(double));
		MiningFree(env, sidx, s, sizeof(double));
		MiningFree(env, cnt, s, sizeof(double));
		return 0;
	}
	for (i = 0; i < n; i++)
	{
		tr[i] = NAN;
		if (i < h || i + h >= n)
			continue;
		if (s % 2 == 1)
		{
			double		acc = 0;
			size_t		j;

			for (j = i - h; j <= i + h; j++)
				acc += y[j];
			tr[i] = acc / s;
		}
		else
		{
			double		acc = 0.5 * (y[i - h] + y[i + h]);
			size_t		j;

			for (j = i - h + 1; j < i + h; j++)
				acc += y[j];
			tr[i] = acc / s;
		}
	}
	for (i = 0; i < n; i++)
		if (!isnan(tr[i]) && !isnan(y[i]))
		{
			sidx[i % s] += y[i] - tr[i];
			cnt[i % s] += 1;
		}
	for (i = 0; i < (size_t) s; i++)
	{
		sidx[i] = cnt[i] > 0 ? sidx[i] / cnt[i] : 0;
		smean += sidx[i];
	}
	smean /= s;
	for (i = 0; i < (size_t) s; i++)
		sidx[i] -= smean;
	for (i = 0; i < n; i++)
	{
		double		rem,
					sr,
					d;

		if (isnan(tr[i]) || isnan(y[i]))
			continue;
		rem = y[i] - tr[i] - sidx[i % s];
		sr = rem + sidx[i % s];
		k++;
		d = rem - mr;
		mr += d / k;
		m2r += d * (rem - mr);
		d = sr - msr;
		msr += d / k;
		m2sr += d * (sr - msr);
	}
	MiningFree(env, tr, n, sizeof(double));
	MiningFree(env, sidx, s, sizeof(double));
	MiningFree(env, cnt, s, sizeof(double));
	if (k < 2 || m2sr <= 0)
		return 0;
	strength = 1 - m2r / m2sr;
	return strength < 0 ? 0 : (strength > 1 ? 1 : strength);
}

/* forecast's nsdiffs(test = "seas"): D = 1 when the strength is above 0.64 */
int
ArimaNsdiffs(MiningEnv *env, const double *y, size_t n, int s, int max_D)
{
	if (max_D < 1 || s < 2 || (size_t) s >= n || is_constant(y, n))
		return 0;
	return ArimaSeasonalStrength(env, y, n, s) > 0.64 ? 1 : 0;
}

/* the smallest root modulus of 1 - sum c_i z^i (sign -1) or 1 + sum (sign 1) */
static double
min_root(const double *c, int len, double sign)
{
	double		cc[ARIMA_MAX_STATE + 1] = {0};
	double		z[2 * (ARIMA_MAX_STATE + 1)];
	int			last = 0,
				i;
	double		mr = 2.0;

	for (i = 0; i < len && i < ARIMA_MAX_STATE; i++)
		if (fabs(c[i]) > 1e-8)
			last = i + 1;
	if (last == 0)
		return mr;
	for (i = 0; i < last; i++)
		cc[i] = sign * c[i];
	if (!poly_roots(cc, last, z))
		return 0.0;				/* as forecast: a failed root search rejects */
	for (i = 0; i < last; i++)
	{
		double		mod = hypot(z[2 * i], z[2 * i + 1]);

		if (mod < mr)
			mr = mod;
	}
	return mr;
}

typedef struct AutoCtx
{
	MiningEnv  *env;
	const double *y;
	size_t		n;
	int			d,
				D,
				s;
	bool		approx;
	double		offset;
	int			nmodels;
	int			tried[128][7];	/* p, q, P, Q, constant, -, - */
	double		ic[128];
	double		css[128][ARIMA_MAX_COEF];	/* the CSS estimates (approx) */
	bool		has_css[128];
	int			max_models;
} AutoCtx;

/*
 * forecast's myarima: fit, information criterion (AICc; for CSS, AIC from
 * sigma^2 plus the offset of the approximation), INFINITY for a failed fit,
 * a root within 1.01 of the unit circle, or a NaN standard error. Sets
 * *fit to the model (caller frees) when finite. false only on cancel /
 * out of memory (err set).
 */
static bool
try_model(AutoCtx *ac, int p, int q, int P, int Q, bool constant, bool approx,
		  const double *css_in, double *css_out, double *ic, ArimaModel **fit,
		  MiningError *err)
{
	ArimaSpec	spec;
	ArimaModel *m = NULL;
	MiningError e2;
	int			i,
				npar;
	double		aic,
				nstar;

	*ic = INFINITY;
	*fit = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.p = p;
	spec.d = ac->d;
	spec.q = q;
	spec.P = P;
	spec.D = ac->D;
	spec.Q = Q;
	spec.s = ac->s > 1 ? ac->s : 0;
	spec.include_mean = constant && ac->d + ac->D == 0;
	spec.include_drift = constant && ac->d + ac->D == 1;
	spec.method = approx ? ARIMA_CSS : ARIMA_CSS_ML;
	spec.quick = true;
	if (!fit_start(ac->env, ac->y, ac->n, &spec, css_in, &m, &e2))
	{
		if (e2.code == MINING_ERR_CANCELED || e2.code == MINING_ERR_NOMEM ||
			e2.code == MINING_ERR_LIMIT)
		{
			*err = e2;
			return false;
		}
		return true;			/* a model that does not fit is skipped */
	}
	if (css_out != NULL && m->converged)
		memcpy(css_out, m->coef, sizeof(double) * m->ncoef);
	npar = m->ncoef + 1;
	nstar = m->nobs;
	aic = approx ? ac->offset + nstar * log(m->sigma2) + 2 * npar : m->aic;
	if (isfinite(aic) && nstar - npar - 1 > 0)
		*ic = aic + 2.0 * npar * (npar + 1) / (nstar - npar - 1);
	if (p + P > 0 && min_root(m->phi, m->np, -1.0) < 1.01)
		*ic = INFINITY;
	if (q + Q > 0 && min_root(m->theta, m->nq, 1.0) < 1.01)
		*ic = INFINITY;
	for (i = 0; i < m->ncoef; i++)
		if (isnan(m->se[i]))
			*ic = INFINITY;
	if (!isfinite(*ic))
	{
		ArimaFree(ac->env, m);
		return true;
	}
	m->aicc = approx ? m->aicc : *ic;
	*fit = m;
	return true;
}

static bool
auto_seen(const AutoCtx *ac, int p, int q, int P, int Q, int c)
{
	int			i;

	for (i = 0; i < ac->nmodels; i++)
		if (ac->tried[i][0] == p && ac->tried[i][1] == q && ac->tried[i][2] == P &&
			ac->tried[i][3] == Q && ac->tried[i][4] == c)
			return true;
	return false;
}

/* try a candidate; keep it as best when its IC is lower. */
static bool
auto_step(AutoCtx *ac, int p, int q, int P, int Q, bool c, ArimaModel **best,
		  double *best_ic, bool *improved, MiningError *err)
{
	ArimaModel *m;
	double		ic;

	*improved = false;
	if (ac->nmodels >= ac->max_models || ac->nmodels >= 128)
		return true;
	ac->has_css[ac->nmodels] = false;
	ac->css[ac->nmodels][0] = NAN;
	if (!try_model(ac, p, q, P, Q, c, ac->approx, NULL, ac->css[ac->nmodels], &ic, &m, err))
		return false;
	/* the CSS estimates start the refit by ML (the same CSS stage) */
	ac->has_css[ac->nmodels] = ac->approx && !isnan(ac->css[ac->nmodels][0]);
	ac->tried[ac->nmodels][0] = p;
	ac->tried[ac->nmodels][1] = q;
	ac->tried[ac->nmodels][2] = P;
	ac->tried[ac->nmodels][3] = Q;
	ac->tried[ac->nmodels][4] = c;
	ac->ic[ac->nmodels] = ic;
	ac->nmodels++;
	if (m != NULL && ic < *best_ic)
	{
		ArimaFree(ac->env, *best);
		*best = m;
		*best_ic = ic;
		*improved = true;
	}
	else if (m != NULL)
		ArimaFree(ac->env, m);
	return true;
}

bool
ArimaAuto(MiningEnv *env, const double *y, size_t n, const ArimaAutoSpec *spec,
		  ArimaModel **out, MiningError *err)
{
	AutoCtx		ac;
	int			m,
				max_p,
				max_q,
				max_P,
				max_Q,
				p,
				q,
				P,
				Q;
	size_t		len = 0,
				i;
	bool		constant,
				allow;
	ArimaModel *best = NULL;
	double		best_ic = INFINITY;
	bool		imp;
	double	   *dx;

	gsl_set_error_handler_off();
	*out = NULL;
	err->code = MINING_OK;
	for (i = 0; i < n; i++)
	{
		if (!isnan(y[i]))
			len++;
		else if (!isfinite(y[i]) && !isnan(y[i]))
			break;
	}
	if (len < 3)
		return MiningSetError(err, MINING_ERR_DATA, "series is too short for automatic order selection: %zu observations", len);
	if (is_constant(y, n))
	{
		MiningSetError(err, MINING_ERR_DATA, "series is constant");
		MiningSetDetail(err, "An ARIMA model needs a series that varies; a constant one has nothing to fit.");
		return false;
	}
	m = spec->s > 1 ? spec->s : 1;
	if (m > ARIMA_MAX_PERIOD)
		return MiningSetError(err, MINING_ERR_ARGUMENT, "seasonal period %d is out of range", m);
	memset(&ac, 0, sizeof(ac));
	ac.env = env;
	ac.y = y;
	ac.n = n;
	ac.s = m;
	ac.max_models = spec->max_models > 0 ? spec->max_models : 94;
	max_p = spec->max_p < (int) (len / 3) ? spec->max_p : (int) (len / 3);
	max_q = spec->max_q < (int) (len / 3) ? spec->max_q : (int) (len / 3);
	max_P = spec->max_P < (int) (len / 3 / m) ? spec->max_P : (int) (len / 3 / m);
	max_Q = spec->max_Q < (int) (len / 3 / m) ? spec->max_Q : (int) (len / 3 / m);

	/* D by the seasonal strength, then d by KPSS on the seasonal difference */
	if (m == 1)
	{
		ac.D = 0;
		max_P = max_Q = 0;
	}
	else if (spec->D >= 0)
		ac.D = spec->D;
	else if (n <= 2 * (size_t) m)
		ac.D = 0;
	else
		ac.D = ArimaNsdiffs(env, y, n, m, spec->max_D);
	dx = MiningAlloc(env, n, sizeof(double), false, "the series", err);
	if (dx == NULL)
		return false;
	memcpy(dx, y, sizeof(double) * n);
	if (ac.D > 0)
		for (i = n - 1; i >= (size_t) m; i--)
			dx[i] -= dx[i - m];
	if (spec->d >= 0)
		ac.d = spec->d;
	else
		ac.d = ArimaNdiffs(env, dx + (ac.D > 0 ? m : 0), n - (ac.D > 0 ? m : 0), spec->max_d);
	MiningFree(env, dx, n, sizeof(double));
	if (m > 1)
	{
		if (max_P > 0 && max_p > m - 1)
			max_p = m - 1;
		if (max_Q > 0 && max_q > m - 1)
			max_q = m - 1;
	}
	/* the approximation: CSS during the search, with an offset */
	ac.approx = len > 150 || m > 12;
	if (ac.approx)
	{
		ArimaSpec	s0;
		ArimaModel *f0;
		MiningError e0;

		memset(&s0, 0, sizeof(s0));
		s0.d = ac.d;
		s0.D = ac.D;
		s0.s = ac.D > 0 ? m : 0;
		s0.method = ARIMA_CSS_ML;
		if (ArimaFit(env, y, n, &s0, &f0, &e0))
		{
			ac.offset = -2 * f0->loglik - (double) len * log(f0->sigma2);
			ArimaFree(env, f0);
		}
		else if (e0.code == MINING_ERR_CANCELED)
		{
			*err = e0;
			return false;
		}
	}
	allow = spec->allow_mean && ac.d + ac.D <= 1;
	constant = allow;

	/* the four starting models */
	p = 2 < max_p ? 2 : max_p;
	q = 2 < max_q ? 2 : max_q;
	P = 1 < max_P ? 1 : max_P;
	Q = 1 < max_Q ? 1 : max_Q;
	if (len < 10)
	{
		p = p < 1 ? p : 1;
		q = q < 1 ? q : 1;
		P = Q = 0;
	}
#define STEP(pp, qq, PP, QQ, cc) \
	(auto_step(&ac, (pp), (qq), (PP), (QQ), (cc), &best, &best_ic, &imp, err) ? true : (ArimaFree(env, best), false))
	if (!STEP(p, q, P, Q, constant))
		return false;
	if (!STEP(0, 0, 0, 0, constant))
		return false;
	if (imp)
		p = q = P = Q = 0;
	if (max_p > 0 || max_P > 0)
	{
		int			p1 = max_p > 0,
					P1 = m > 1 && max_P > 0;

		if (!STEP(p1, 0, P1, 0, constant))
			return false;
		if (imp)
		{
			p = p1;
			P = P1;
			q = Q = 0;
		}
	}
	if (max_q > 0 || max_Q > 0)
	{
		int			q1 = max_q > 0,
					Q1 = m > 1 && max_Q > 0;

		if (!STEP(0, q1, 0, Q1, constant))
			return false;
		if (imp)
		{
			p = P = 0;
			q = q1;
			Q = Q1;
		}
	}
	if (constant)
	{
		if (!STEP(0, 0, 0, 0, false))
			return false;
		if (imp)
			p = q = P = Q = 0;
	}

	/* the neighbourhood, in forecast's order; restart after each improvement */
	for (;;)
	{
		int			before = ac.nmodels;
		bool		moved = false;

#define TRY(cond, pp, qq, PP, QQ, cc) \
		if (!moved && (cond) && !auto_seen(&ac, (pp), (qq), (PP), (QQ), (cc)) && \
			ac.nmodels < ac.max_models) \
		{ \
			if (!STEP((pp), (qq), (PP), (QQ), (cc))) \
				return false; \
			if (imp) \
			{ \
				p = (pp); q = (qq); P = (PP); Q = (QQ); constant = (cc); \
				moved = true; \
			} \
		}
		TRY(P > 0, p, q, P - 1, Q, constant);
		TRY(Q > 0, p, q, P, Q - 1, constant);
		TRY(P < max_P, p, q, P + 1, Q, constant);
		TRY(Q < max_Q, p, q, P, Q + 1, constant);
		TRY(Q > 0 && P > 0, p, q, P - 1, Q - 1, constant);
		TRY(Q < max_Q && P > 0, p, q, P - 1, Q + 1, constant);
		TRY(Q > 0 && P < max_P, p, q, P + 1, Q - 1, constant);
		TRY(Q < max_Q && P < max_P, p, q, P + 1, Q + 1, constant);
		TRY(p > 0, p - 1, q, P, Q, constant);
		TRY(q > 0, p, q - 1, P, Q, constant);
		TRY(p < max_p, p + 1, q, P, Q, constant);
		TRY(q < max_q, p, q + 1, P, Q, constant);
		TRY(q > 0 && p > 0, p - 1, q - 1, P, Q, constant);
		TRY(q < max_q && p > 0, p - 1, q + 1, P, Q, constant);
		TRY(q > 0 && p < max_p, p + 1, q - 1, P, Q, constant);
		TRY(q < max_q && p < max_p, p + 1, q + 1, P, Q, constant);
		TRY(allow, p, q, P, Q, !constant);
#undef TRY
		if (ac.nmodels == before || ac.nmodels >= ac.max_models)
			break;
	}

	/* the approximation's winner refitted by ML, best IC first */
	if (ac.approx)
	{
		int			order[128];
		int			k,
					j;

		ArimaFree(env, best);
		best = NULL;
		for (k = 0; k < ac.nmodels; k++)
			order[k] = k;
		for (k = 1; k < ac.nmodels; k++)
			for (j = k; j > 0 && ac.ic[order[j]] < ac.ic[order[j - 1]]; j--)
			{
				int			t = order[j];

				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		for (k = 0; k < ac.nmodels; k++)
		{
			int		   *t = ac.tried[order[k]];
			double		ic;

			if (!isfinite(ac.ic[order[k]]))
				break;
			if (!try_model(&ac, t[0], t[1], t[2], t[3], t[4], false,
						   ac.has_css[order[k]] ? ac.css[order[k]] : NULL, NULL,
						   &ic, &best, err))
				return false;
			if (best != NULL)
				break;
		}
	}
#undef STEP
	/* the winner fitted again to full precision */
	if (best != NULL)
	{
		ArimaSpec	fs = best->spec;
		ArimaModel *f2;
		MiningError e2;

		fs.quick = false;
		if (ArimaFit(env, y, n, &fs, &f2, &e2))
		{
			ArimaFree(env, best);
			best = f2;
		}
		else if (e2.code == MINING_ERR_CANCELED || e2.code == MINING_ERR_NOMEM)
		{
			ArimaFree(env, best);
			*err = e2;
			return false;
		}
	}
	if (best == NULL)
	{
		MiningSetError(err, MINING_ERR_NO_CONVERGENCE, "no suitable ARIMA model found");
		MiningSetDetail(err, "Every candidate model failed to fit or had a root near the unit circle.");
		MiningSetHint(err, "Give the orders yourself (auto => false) or check the series.");
		return false;
	}
	*out = best;
	return true;
}
