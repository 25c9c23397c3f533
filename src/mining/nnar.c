/*
 * nnar.c
 *		Neural network autoregression (see nnar.h), following R's
 *		forecast::nnetar 8.20 and nnet::nnet step by step:
 *
 *	- the series is centred and scaled by its mean and standard deviation
 *	  (nnetar's scale.inputs);
 *	- inputs are the lags 1..p and m, 2m, .. Pm (sorted, without repeats);
 *	  p defaults to the AR order R's ar() chooses by AIC (on the series less
 *	  its STL seasonal component when m > 1, as mstl() gives it); size
 *	  defaults to round((lags + 1) / 2)
 *	  (R's round: half to even);
 *	- a training row is a time with its lags and target all present;
 *	- each of `repeats` nets starts from weights uniform on [-0.7, 0.7]
 *	  (nnet's rang) and minimises sum (y - f(x))^2 + decay * sum w^2 (nnet's
 *	  criterion, biases included) by BFGS (GSL vector_bfgs2) with an
 *	  analytic gradient, stopping as nnet's vmmin does: maxit iterations,
 *	  the criterion below 1e-4 (abstol) or changing by less than 1e-8 of
 *	  itself (reltol);
 *	- a forecast step is the average of the nets' outputs; it becomes the
 *	  newest lag of the next step (forecast.nnetar);
 *	- intervals simulate paths with innovations (simulate.nnetar) and take
 *	  R's type 8 quantiles.
 *
 * Random numbers come from GSL's mt19937 seeded with spec.seed, so a call is
 * reproducible; nets differ from R's (another generator, another BFGS), so
 * the tests compare with R what is comparable (lags, scaling, size, the
 * net's output for given weights, forecasts of a structured series).
 *
 * GSL's error handler is switched off: GSL reports through status codes and
 * never aborts the server. The minimiser's and generator's memory is GSL's
 * (malloc), freed on every path; everything else goes through MiningAlloc.
 * Interrupts are asked per BFGS iteration, every 4096 rows of an
 * evaluation, and every few simulated paths.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "mining/nnar.h"

#define RANG	0.7				/* nnet: initial weights on [-rang, rang] */
#define ABSTOL	1e-4			/* nnet: stop when the criterion is below */
#define RELTOL	1e-8			/* nnet: stop when it changes by less than this of itself */
#define CHECK_ROWS 4096

/* What the objective needs: training rows over the scaled series. */
typedef struct Train
{
	MiningEnv  *env;
	const double *xs;			/* the scaled series */
	const size_t *rows;			/* t of each training row */
	size_t		nrows;
	const int  *lags;
	int			nin,
				size,
				nw;
	double		decay;
	double	   *h;				/* size: hidden outputs of a row */
	double	   *x;				/* nin: inputs of a row */
	bool		canceled;
	long		evals;
	/* the last point evaluated, with its criterion and gradient */
	double	   *cache_w;
	double	   *cache_g;
	double		cache_f;
	bool		cache_ok;
} Train;

/* nnetar's defaults: p and size chosen, P = 1, 20 nets, no decay, 100 iterations */
void
NnarDefaults(NnarSpec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->p = -1;
	spec->P = 1;
	spec->m = 1;
	spec->size = -1;
	spec->repeats = 20;
	spec->decay = 0;
	spec->maxit = 100;
	spec->seed = 0;
	spec->scale_inputs = true;
}

/* each argument against its limit, the message naming it */
bool
NnarCheckSpec(const NnarSpec *spec, MiningError *err)
{
	if (spec->p > NNAR_MAX_P || spec->p == 0)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "p %d is out of range", spec->p);
		MiningSetDetail(err, "p, the number of non-seasonal lags, must be from 1 to %d (NULL: chosen by AIC).",
						NNAR_MAX_P);
		return false;
	}
	if (spec->P < 0 || spec->P > NNAR_MAX_SP)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "P %d is out of range", spec->P);
		MiningSetDetail(err, "P, the number of seasonal lags, must be from 0 to %d.", NNAR_MAX_SP);
		return false;
	}
	if (spec->m < 0 || spec->m > NNAR_MAX_PERIOD)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "period %d is out of range", spec->m);
		MiningSetDetail(err, "The seasonal period must be from 1 to %d.", NNAR_MAX_PERIOD);
		return false;
	}
	if (spec->size == 0 || spec->size > NNAR_MAX_SIZE)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "size %d is out of range", spec->size);
		MiningSetDetail(err, "size, the number of hidden units, must be from 1 to %d (NULL: half the inputs plus one, rounded).",
						NNAR_MAX_SIZE);
		return false;
	}
	if (spec->repeats < 1 || spec->repeats > NNAR_MAX_REPEATS)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "repeats %d is out of range", spec->repeats);
		MiningSetDetail(err, "repeats, the number of networks averaged, must be from 1 to %d.",
						NNAR_MAX_REPEATS);
		return false;
	}
	if (!(spec->decay >= 0) || !isfinite(spec->decay))
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "decay %g is out of range", spec->decay);
		MiningSetDetail(err, "decay, the weight decay, must be a finite number, 0 or more.");
		return false;
	}
	if (spec->maxit < 0 || spec->maxit > NNAR_MAX_MAXIT)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "maxit %d is out of range", spec->maxit);
		MiningSetDetail(err, "maxit, the BFGS iterations per network, must be from 0 to %d.",
						NNAR_MAX_MAXIT);
		return false;
	}
	return true;
}

/* logistic, as nnet's sigmoid (saturated far out, never overflowing) */
static inline double
logistic(double v)
{
	if (v < -45)
		return 0;
	if (v > 45)
		return 1;
	return 1 / (1 + exp(-v));
}

/* one forward pass (see nnar.h for the weights' order) */
double
NnarNetOutput(const double *w, int nin, int size, const double *x)
{
	const double *wo = w + (size_t) size * (nin + 1);
	double		out = wo[0];
	int			j,
				i;

	for (j = 0; j < size; j++)
	{
		const double *wj = w + (size_t) j * (nin + 1);
		double		a = wj[0];

		for (i = 0; i < nin; i++)
			a += wj[1 + i] * x[i];
		out += wo[1 + j] * logistic(a);
	}
	return out;
}

/*
 * The criterion and, when grad is not NULL, its gradient (backpropagation).
 */
static double
criterion(Train *tr, const double *w, double *grad)
{
	int			nin = tr->nin,
				size = tr->size;
	const double *wo = w + (size_t) size * (nin + 1);
	double		sse = 0,
				pen = 0;
	size_t		r;
	int			i,
				j;

	tr->evals++;
	if (grad)
		memset(grad, 0, sizeof(double) * tr->nw);
	for (r = 0; r < tr->nrows; r++)
	{
		size_t		t = tr->rows[r];
		double		out = wo[0],
					d;

		if ((r % CHECK_ROWS) == CHECK_ROWS - 1 && MiningInterrupted(tr->env))
		{
			tr->canceled = true;
			return NAN;
		}
		for (i = 0; i < nin; i++)
			tr->x[i] = tr->xs[t - tr->lags[i]];
		for (j = 0; j < size; j++)
		{
			const double *wj = w + (size_t) j * (nin + 1);
			double		a = wj[0];

			for (i = 0; i < nin; i++)
				a += wj[1 + i] * tr->x[i];
			tr->h[j] = logistic(a);
			out += wo[1 + j] * tr->h[j];
		}
		d = out - tr->xs[t];
		sse += d * d;
		if (grad)
		{
			double	   *go = grad + (size_t) size * (nin + 1);
			double		g = 2 * d;

			go[0] += g;
			for (j = 0; j < size; j++)
			{
				double	   *gj = grad + (size_t) j * (nin + 1);
				double		gh = g * wo[1 + j] * tr->h[j] * (1 - tr->h[j]);

				go[1 + j] += g * tr->h[j];
				gj[0] += gh;
				for (i = 0; i < nin; i++)
					gj[1 + i] += gh * tr->x[i];
			}
		}
	}
	if (tr->decay > 0)
	{
		for (i = 0; i < tr->nw; i++)
		{
			pen += w[i] * w[i];
			if (grad)
				grad[i] += 2 * tr->decay * w[i];
		}
		pen *= tr->decay;
	}
	return sse + pen;
}

/*
 * GSL callbacks. BFGS asks for the gradient at most points where it asked
 * for the value (the line search's accepted point), so every evaluation
 * computes both and keeps them for the next call at the same point. A
 * canceled evaluation returns NaN, which stops BFGS.
 */
static void
eval_cached(Train *tr, const double *w, double *f, double *g)
{
	size_t		bytes = sizeof(double) * tr->nw;

	if (!tr->cache_ok || memcmp(tr->cache_w, w, bytes) != 0)
	{
		tr->cache_f = criterion(tr, w, tr->cache_g);
		memcpy(tr->cache_w, w, bytes);
		tr->cache_ok = !tr->canceled;
	}
	*f = tr->cache_f;
	if (g)
		memcpy(g, tr->cache_g, bytes);
}

static double
gsl_f(const gsl_vector *v, void *params)
{
	double		f;

	eval_cached(params, v->data, &f, NULL);
	return f;
}

static void
gsl_df(const gsl_vector *v, void *params, gsl_vector *g)
{
	double		f;

	eval_cached(params, v->data, &f, g->data);
}

static void
gsl_fdf(const gsl_vector *v, void *params, double *f, gsl_vector *g)
{
	eval_cached(params, v->data, f, g->data);
}

/*
 * Train one net from w (in place). false on cancel or when GSL cannot
 * allocate; *converged when a stopping rule other than maxit ended it.
 */
static bool
train_net(Train *tr, double *w, int maxit, int *iters, bool *converged, MiningError *err)
{
	gsl_multimin_function_fdf fn;
	gsl_multimin_fdfminimizer *mz;
	gsl_vector_view start = gsl_vector_view_array(w, tr->nw);
	int			it = 0;

	*iters = 0;
	*converged = false;
	if (maxit == 0)
	{
		*converged = true;
		return true;
	}
	fn.n = tr->nw;
	fn.f = gsl_f;
	fn.df = gsl_df;
	fn.fdf = gsl_fdf;
	fn.params = tr;
	mz = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, tr->nw);
	if (mz == NULL)
		return MiningSetError(err, MINING_ERR_NOMEM, "out of memory in the BFGS minimiser");
	if (gsl_multimin_fdfminimizer_set(mz, &fn, &start.vector, 0.1, 0.1) != GSL_SUCCESS ||
		tr->canceled)
	{
		gsl_multimin_fdfminimizer_free(mz);
		if (tr->canceled || MiningInterrupted(tr->env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		*converged = false;
		return true;
	}
	while (it < maxit)
	{
		double		fprev = mz->f;
		int			status;

		if (MiningInterrupted(tr->env))
			tr->canceled = true;
		if (tr->canceled)
			break;
		it++;
		status = gsl_multimin_fdfminimizer_iterate(mz);
		if (tr->canceled)
			break;
		if (status != GSL_SUCCESS)
		{
			/* no progress possible: a minimum as far as BFGS can tell */
			*converged = true;
			break;
		}
		if (mz->f < ABSTOL || fabs(fprev - mz->f) <= RELTOL * (fabs(mz->f) + RELTOL))
		{
			*converged = true;
			break;
		}
	}
	if (tr->canceled)
	{
		gsl_multimin_fdfminimizer_free(mz);
		return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
	}
	/* the minimiser's point is the best it found */
	if (isfinite(mz->f))
		memcpy(w, mz->x->data, sizeof(double) * tr->nw);
	*iters = it;
	gsl_multimin_fdfminimizer_free(mz);
	return true;
}

/*
 * Yule-Walker fits of every order by the Durbin-Levinson recursion on the
 * autocovariances (divided by n, as acf()), AIC n log(var) + 2 order.
 */
int
NnarArOrder(MiningEnv *env, const double *x, size_t n, MiningError *err)
{
	int			order_max,
				best = 0,
				k,
				j;
	double		mean = 0,
				v,
				best_aic;
	double	   *r,
			   *phi,
			   *prev;
	size_t		t;

	if (n < 2)
		return 0;
	order_max = (int) floor(10 * log10((double) n));
	if ((size_t) order_max > n - 1)
		order_max = (int) (n - 1);
	if (order_max > NNAR_MAX_P)
		order_max = NNAR_MAX_P;
	r = MiningAlloc(env, (size_t) order_max + 1, sizeof(double), true, "the autocovariances", err);
	phi = MiningAlloc(env, (size_t) order_max + 1, sizeof(double), true, "the AR coefficients", err);
	prev = MiningAlloc(env, (size_t) order_max + 1, sizeof(double), true, "the AR coefficients", err);
	if (r == NULL || phi == NULL || prev == NULL)
	{
		best = -1;
		goto done;
	}
	for (t = 0; t < n; t++)
		mean += x[t];
	mean /= (double) n;
	for (k = 0; k <= order_max; k++)
	{
		double		s = 0;

		if (MiningInterrupted(env))
		{
			MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			best = -1;
			goto done;
		}
		for (t = 0; t + k < n; t++)
			s += (x[t] - mean) * (x[t + k] - mean);
		r[k] = s / (double) n;
	}
	if (!(r[0] > 0))
		goto done;
	/* Durbin-Levinson; R: aic = n log(var) + 2 order (+ 2 for the mean, for all) */
	v = r[0];
	best_aic = (double) n * log(v);
	for (k = 1; k <= order_max; k++)
	{
		double		s = r[k],
					kappa,
					aic;

		for (j = 1; j < k; j++)
			s -= prev[j] * r[k - j];
		kappa = s / v;
		phi[k] = kappa;
		for (j = 1; j < k; j++)
			phi[j] = prev[j] - kappa * prev[k - j];
		v *= 1 - kappa * kappa;
		if (!(v > 0))
			break;
		aic = (double) n * log(v) + 2.0 * k;
		if (aic < best_aic)
		{
			best_aic = aic;
			best = k;
		}
		memcpy(prev, phi, sizeof(double) * (k + 1));
	}
done:
	MiningFree(env, r, (size_t) order_max + 1, sizeof(double));
	MiningFree(env, phi, (size_t) order_max + 1, sizeof(double));
	MiningFree(env, prev, (size_t) order_max + 1, sizeof(double));
	return best;
}

/*
 * STL (Cleveland, Cleveland, McRae and Terpenning 1990), as R's stl() runs
 * it without robustness (inner = 2, outer = 0): the seasonal component that
 * forecast's mstl() takes out before nnetar chooses p. Arrays are 1-based
 * below, as in the paper's Fortran (pass x - 1).
 */

/* loess fit at xs from y[nleft..nright], tricube weights (stlest) */
static bool
stl_est(const double *y, int n, int len, int ideg, double xs, double *ys,
		int nleft, int nright, double *w)
{
	double		range = (double) n - 1,
				h,
				h9,
				h1,
				a = 0;
	int			j;

	h = fmax(xs - nleft, nright - xs);
	if (len > n)
		h += (double) ((len - n) / 2);
	h9 = 0.999 * h;
	h1 = 0.001 * h;
	for (j = nleft; j <= nright; j++)
	{
		double		r = fabs(j - xs);

		w[j] = 0;
		if (r <= h9)
		{
			if (r <= h1)
				w[j] = 1;
			else
			{
				double		q = r / h;

				q = 1 - q * q * q;
				w[j] = q * q * q;
			}
			a += w[j];
		}
	}
	if (a <= 0)
		return false;
	for (j = nleft; j <= nright; j++)
		w[j] /= a;
	if (h > 0 && ideg > 0)
	{
		double		b,
					c = 0;

		a = 0;
		for (j = nleft; j <= nright; j++)
			a += w[j] * j;
		b = xs - a;
		for (j = nleft; j <= nright; j++)
			c += w[j] * (j - a) * (j - a);
		if (sqrt(c) > 0.001 * range)
		{
			b /= c;
			for (j = nleft; j <= nright; j++)
				w[j] *= b * (j - a) + 1;
		}
	}
	a = 0;
	for (j = nleft; j <= nright; j++)
		a += w[j] * y[j];
	*ys = a;
	return true;
}

/* loess smoothing of y[1..n] into ys, every njump points, interpolated (stless) */
static void
stl_ess(const double *y, int n, int len, int ideg, int njump, double *ys, double *res)
{
	int			newnj,
				nleft = 1,
				nright = n,
				nsh,
				i,
				j,
				k;

	if (n < 2)
	{
		ys[1] = y[1];
		return;
	}
	newnj = njump < n - 1 ? njump : n - 1;
	if (newnj < 1)
		newnj = 1;
	if (len >= n)
	{
		nleft = 1;
		nright = n;
		for (i = 1; i <= n; i += newnj)
			if (!stl_est(y, n, len, ideg, i, &ys[i], nleft, nright, res))
				ys[i] = y[i];
	}
	else if (newnj == 1)
	{
		nsh = (len + 1) / 2;
		nleft = 1;
		nright = len;
		for (i = 1; i <= n; i++)
		{
			if (i > nsh && nright != n)
			{
				nleft++;
				nright++;
			}
			if (!stl_est(y, n, len, ideg, i, &ys[i], nleft, nright, res))
				ys[i] = y[i];
		}
	}
	else
	{
		nsh = (len + 1) / 2;
		for (i = 1; i <= n; i += newnj)
		{
			if (i < nsh)
			{
				nleft = 1;
				nright = len;
			}
			else if (i >= n - nsh + 1)
			{
				nleft = n - len + 1;
				nright = n;
			}
			else
			{
				nleft = i - nsh + 1;
				nright = len + i - nsh;
			}
			if (!stl_est(y, n, len, ideg, i, &ys[i], nleft, nright, res))
				ys[i] = y[i];
		}
	}
	if (newnj != 1)
	{
		for (i = 1; i <= n - newnj; i += newnj)
		{
			double		delta = (ys[i + newnj] - ys[i]) / newnj;

			for (j = i + 1; j <= i + newnj - 1; j++)
				ys[j] = ys[i] + delta * (j - i);
		}
		k = ((n - 1) / newnj) * newnj + 1;
		if (k != n)
		{
			if (!stl_est(y, n, len, ideg, n, &ys[n], nleft, nright, res))
				ys[n] = y[n];
			if (k != n - 1)
			{
				double		delta = (ys[n] - ys[k]) / (n - k);

				for (j = k + 1; j <= n - 1; j++)
					ys[j] = ys[k] + delta * (j - k);
			}
		}
	}
}

/* moving average of length len (stlma) */
static void
stl_ma(const double *x, int n, int len, double *ave)
{
	int			newn = n - len + 1,
				j;
	double		v = 0;

	for (j = 1; j <= len; j++)
		v += x[j];
	ave[1] = v / len;
	for (j = 2; j <= newn; j++)
	{
		v = v - x[j - 1] + x[len + j - 1];
		ave[j] = v / len;
	}
}

/*
 * The seasonal component of x[1..n] at period np (n > 2 np), into
 * season[1..n]; work holds 5 (n + 2 np + 2) doubles. false when env says
 * to stop (checked per cycle-subseries and per smoothing pass).
 */
static bool
stl_seasonal(MiningEnv *env, const double *x, int n, int np, int ns, double *season,
			 double *work)
{
	int			stride = n + 2 * np + 2;
	double	   *w1 = work,
			   *w2 = work + stride,
			   *w3 = work + 2 * stride,
			   *w4 = work + 3 * stride,
			   *w5 = work + 4 * stride,
			   *trend = season + n + 1;	/* season has 2 (n + 1) */
	int			nt,
				nl = np % 2 ? np : np + 1,
				isdeg = 0,
				itdeg = 1,
				ildeg = 1,
				nsjump,
				ntjump,
				nljump,
				it,
				i,
				j;

	/* R's stl(): t.window = nextodd(ceiling(1.5 np / (1 - 1.5 / s.window))) */
	nt = (int) nearbyint(ceil(1.5 * np / (1 - 1.5 / ns)));
	if (nt % 2 == 0)
		nt++;
	nsjump = (ns + 9) / 10;
	ntjump = (nt + 9) / 10;
	nljump = (nl + 9) / 10;
	for (i = 1; i <= n; i++)
		trend[i] = 0;
	for (it = 0; it < 2; it++)
	{
		for (i = 1; i <= n; i++)
			w1[i] = x[i] - trend[i];
		/* cycle-subseries smoothing (stlss), into w2[1..n + 2 np] */
		for (j = 1; j <= np; j++)
		{
			int			k = (n - j) / np + 1,
						m,
						nright,
						nleft;
			double	   *sub = w3,
					   *sm = w4,	/* sm[1..k + 2] */
					   *res = w5;

			if (MiningInterrupted(env))
				return false;
			for (i = 1; i <= k; i++)
				sub[i] = w1[(i - 1) * np + j];
			stl_ess(sub, k, ns, isdeg, nsjump, sm + 1, res);
			nright = ns < k ? ns : k;
			if (!stl_est(sub, k, ns, isdeg, 0, &sm[1], 1, nright, res))
				sm[1] = sm[2];
			nleft = k - ns + 1 > 1 ? k - ns + 1 : 1;
			if (!stl_est(sub, k, ns, isdeg, k + 1, &sm[k + 2], nleft, k, res))
				sm[k + 2] = sm[k + 1];
			for (m = 1; m <= k + 2; m++)
				w2[(m - 1) * np + j] = sm[m];
		}
		/* low-pass filter of the cycle-subseries (stlfts), then loess */
		stl_ma(w2, n + 2 * np, np, w3);
		stl_ma(w3, n + np + 1, np, w1);
		stl_ma(w1, n + 2, 3, w3);
		stl_ess(w3, n, nl, ildeg, nljump, w1, w4);
		if (MiningInterrupted(env))
			return false;
		for (i = 1; i <= n; i++)
			season[i] = w2[np + i] - w1[i];
		for (i = 1; i <= n; i++)
			w1[i] = x[i] - season[i];
		stl_ess(w1, n, nt, itdeg, ntjump, trend, w3);
	}
	return true;
}

/*
 * The series for choosing p, as nnetar makes it: gaps filled by linear
 * interpolation, and for m > 1 with more than 2m values the seasonal
 * component of mstl() (STL with s.window = 11) taken out.
 */
static double *
series_for_order(MiningEnv *env, const double *xs, size_t n, int m, MiningError *err)
{
	double	   *x = MiningAlloc(env, n, sizeof(double), false, "the series", err);
	size_t		t,
				prev = (size_t) -1;

	if (x == NULL)
		return NULL;
	for (t = 0; t < n; t++)
	{
		x[t] = xs[t];
		if (!isnan(xs[t]))
		{
			if (prev != (size_t) -1 && t - prev > 1)
			{
				size_t		u;

				for (u = prev + 1; u < t; u++)
					x[u] = xs[prev] + (xs[t] - xs[prev]) * (double) (u - prev) / (double) (t - prev);
			}
			prev = t;
		}
	}
	if (!NnarSeasonalAdjust(env, x, n, m, x, err))
		return NULL;
	return x;
}

/* see nnar.h */
bool
NnarSeasonalAdjust(MiningEnv *env, const double *x, size_t n, int m, double *out,
				   MiningError *err)
{
	size_t		t;

	if (out != x)
		memcpy(out, x, sizeof(double) * n);
	if (m > 1 && n > 2 * (size_t) m && n < (size_t) INT32_MAX / 8)
	{
		double	   *season = MiningAlloc(env, 2 * (n + 1), sizeof(double), false, "the seasonal component", err);
		double	   *work = MiningAlloc(env, 5 * (n + 2 * (size_t) m + 2), sizeof(double), false,
									   "the seasonal decomposition", err);

		if (season == NULL || work == NULL)
			return false;
		if (!stl_seasonal(env, x - 1, (int) n, m, 11, season, work))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		for (t = 0; t < n; t++)
			out[t] = x[t] - season[t + 1];
		MiningFree(env, season, 2 * (n + 1), sizeof(double));
		MiningFree(env, work, 5 * (n + 2 * (size_t) m + 2), sizeof(double));
	}
	return true;
}

/* round half to even, as R's round() */
static int
round_even(double v)
{
	return (int) nearbyint(v);
}

/* the model as nnetar's print names it */
void
NnarModelName(const NnarModel *m, char *buf, size_t len)
{
	if (m->spec.P > 0)
		snprintf(buf, len, "NNAR(%d,%d,%d)[%d]", m->spec.p, m->spec.P, m->spec.size, m->spec.m);
	else
		snprintf(buf, len, "NNAR(%d,%d)", m->spec.p, m->spec.size);
}

/*
 * Scale, choose p and size, collect the training rows, fit `repeats` nets
 * from seeded random starts, then the residuals of their average and the
 * series' end for forecasting (see the file header for each step).
 */
bool
NnarFit(MiningEnv *env, const double *y, size_t n, const NnarSpec *spec_in,
		NnarModel **out, MiningError *err)
{
	NnarSpec	spec = *spec_in;
	NnarModel  *m;
	double	   *xs;
	size_t		t,
				nobs = 0,
				r;
	double		mean = 0,
				ss = 0;
	int			i,
				k;
	size_t		nw;
	Train		tr;
	gsl_rng    *rng;
	long		total_iters = 0;
	double	   *fitted;

	*out = NULL;
	gsl_set_error_handler_off();
	if (!NnarCheckSpec(&spec, err))
		return false;
	if (spec.m <= 1)
	{
		spec.m = 1;
		spec.P = 0;				/* nnetar: non-seasonal data, no seasonal lags */
	}
	if (n < 3)
	{
		MiningSetError(err, MINING_ERR_DATA, "series is too short: %zu observation%s", n, n == 1 ? "" : "s");
		MiningSetDetail(err, "A neural network autoregression needs at least 3 observations.");
		return false;
	}
	for (t = 0; t < n; t++)
	{
		if (isnan(y[t]))
			continue;
		if (!isfinite(y[t]) || fabs(y[t]) > 1e150)
			return MiningSetError(err, MINING_ERR_DATA, "y value %g at position %zu is out of range",
								  y[t], t + 1);
		nobs++;
		mean += y[t];
	}
	if (nobs < 3)
	{
		MiningSetError(err, MINING_ERR_DATA, "series is too short: %zu observation%s", nobs, nobs == 1 ? "" : "s");
		MiningSetDetail(err, "A neural network autoregression needs at least 3 observations.");
		return false;
	}
	mean /= (double) nobs;
	for (t = 0; t < n; t++)
		if (!isnan(y[t]))
			ss += (y[t] - mean) * (y[t] - mean);
	if (!(ss > 0) || sqrt(ss / (double) (nobs - 1)) <= 1e-10 * fabs(mean))
	{
		MiningSetError(err, MINING_ERR_DATA, "series is constant");
		MiningSetDetail(err, "All %zu observations equal %g: there is nothing for a network to learn.",
						nobs, mean);
		MiningSetHint(err, "Forecast a constant series by its value.");
		return false;
	}

	m = MiningAlloc(env, 1, sizeof(NnarModel), true, "the model", err);
	if (m == NULL)
		return false;
	m->n = n;
	if (spec.scale_inputs)
	{
		m->center = mean;
		m->scale = sqrt(ss / (double) (nobs - 1));
	}
	else
	{
		m->center = 0;
		m->scale = 1;
	}
	xs = MiningAlloc(env, n, sizeof(double), false, "the scaled series", err);
	if (xs == NULL)
		return false;
	for (t = 0; t < n; t++)
		xs[t] = (y[t] - m->center) / m->scale;

	/* p by AIC of a linear AR, as nnetar when p is missing */
	if (spec.p < 0)
	{
		double	   *xo = series_for_order(env, xs, n, spec.m, err);
		int			order;

		if (xo == NULL)
			return false;
		order = NnarArOrder(env, xo, n, err);
		if (order < 0)
			return false;
		spec.p = order < 1 ? 1 : order;
		MiningFree(env, xo, n, sizeof(double));
	}

	/* lags: 1..p and m, 2m, .. Pm, sorted without repeats */
	m->lags = MiningAlloc(env, (size_t) spec.p + spec.P, sizeof(int), false, "the lags", err);
	if (m->lags == NULL)
		return false;
	for (i = 1; i <= spec.p; i++)
		m->lags[m->nlags++] = i;
	for (k = 1; k <= spec.P; k++)
		if (k * spec.m > spec.p)
			m->lags[m->nlags++] = k * spec.m;
	m->maxlag = m->lags[m->nlags - 1];
	if (n < (size_t) m->maxlag + 3)
	{
		MiningSetError(err, MINING_ERR_DATA, "series is too short for the lags: %zu observations, the largest lag is %d",
					   n, m->maxlag);
		MiningSetDetail(err, "With p = %d and P = %d at period %d, at least %d observations are needed.",
						spec.p, spec.P, spec.m, m->maxlag + 3);
		MiningSetHint(err, "Pass a smaller p or P, or a longer series.");
		return false;
	}
	if (spec.size < 0)
		spec.size = round_even((m->nlags + 1) / 2.0);
	if (spec.size < 1)
		spec.size = 1;
	nw = ((size_t) m->nlags + 1) * spec.size + spec.size + 1;
	if (nw > NNAR_MAX_WEIGHTS)
	{
		MiningSetError(err, MINING_ERR_LIMIT, "the network would have too many weights: %zu", nw);
		MiningSetDetail(err, "%d inputs and %d hidden units make %zu weights; at most %d are allowed.",
						m->nlags, spec.size, nw, NNAR_MAX_WEIGHTS);
		MiningSetHint(err, "Pass a smaller p, P or size.");
		return false;
	}
	m->nweights = (int) nw;

	/* training rows: lags and target all present */
	tr.rows = NULL;
	{
		size_t	   *rows = MiningAlloc(env, n - m->maxlag, sizeof(size_t), false, "the training rows", err);

		if (rows == NULL)
			return false;
		for (t = (size_t) m->maxlag; t < n; t++)
		{
			bool		ok = !isnan(xs[t]);

			if ((t & 65535) == 65535 && MiningInterrupted(env))
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");

			for (i = 0; i < m->nlags && ok; i++)
				ok = !isnan(xs[t - m->lags[i]]);
			if (ok)
				rows[m->nrows++] = t;
		}
		tr.rows = rows;
	}
	if (m->nrows < 2)
	{
		MiningSetError(err, MINING_ERR_DATA, "series has too few complete rows for the lags: %zu",
					   m->nrows);
		MiningSetDetail(err, "A training row needs its value and its %d lagged values present; missing steps leave too few.",
						m->nlags);
		MiningSetHint(err, "Pass a smaller p or P, or fill the gaps.");
		return false;
	}

	m->weights = MiningAlloc(env, (size_t) spec.repeats, nw * sizeof(double), false, "the networks' weights", err);
	tr.h = MiningAlloc(env, (size_t) spec.size, sizeof(double), false, "the hidden units", err);
	tr.x = MiningAlloc(env, (size_t) m->nlags, sizeof(double), false, "the inputs", err);
	if (m->weights == NULL || tr.h == NULL || tr.x == NULL)
		return false;
	tr.env = env;
	tr.xs = xs;
	tr.nrows = m->nrows;
	tr.lags = m->lags;
	tr.nin = m->nlags;
	tr.size = spec.size;
	tr.nw = (int) nw;
	tr.decay = spec.decay;
	tr.canceled = false;
	tr.evals = 0;
	tr.cache_ok = false;
	tr.cache_w = MiningAlloc(env, nw, sizeof(double), false, "the optimiser's cache", err);
	tr.cache_g = MiningAlloc(env, nw, sizeof(double), false, "the optimiser's cache", err);
	if (tr.cache_w == NULL || tr.cache_g == NULL)
		return false;

	rng = gsl_rng_alloc(gsl_rng_mt19937);
	if (rng == NULL)
		return MiningSetError(err, MINING_ERR_NOMEM, "out of memory for the random number generator");
	gsl_rng_set(rng, spec.seed);
	for (k = 0; k < spec.repeats; k++)
	{
		double	   *w = m->weights + (size_t) k * nw;
		int			iters;
		bool		conv;

		for (i = 0; i < (int) nw; i++)
			w[i] = (2 * gsl_rng_uniform(rng) - 1) * RANG;
		if (!train_net(&tr, w, spec.maxit, &iters, &conv, err))
		{
			gsl_rng_free(rng);
			return false;
		}
		total_iters += iters;
		if (conv)
			m->nets_converged++;
	}
	gsl_rng_free(rng);
	m->mean_iterations = (double) total_iters / spec.repeats;

	/* fitted values of the averaged net, residuals */
	m->resid = MiningAlloc(env, m->nrows, sizeof(double), false, "the residuals", err);
	fitted = tr.x;
	if (m->resid == NULL)
		return false;
	{
		double		rs = 0,
					rm = 0;

		for (r = 0; r < m->nrows; r++)
		{
			double		f = 0;

			t = tr.rows[r];
			if ((r % CHECK_ROWS) == CHECK_ROWS - 1 && MiningInterrupted(env))
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			for (i = 0; i < m->nlags; i++)
				fitted[i] = xs[t - m->lags[i]];
			for (k = 0; k < spec.repeats; k++)
				f += NnarNetOutput(m->weights + (size_t) k * nw, m->nlags, spec.size, fitted);
			f /= spec.repeats;
			m->resid[r] = xs[t] - f;
			rm += m->resid[r];
		}
		rm /= (double) m->nrows;
		for (r = 0; r < m->nrows; r++)
			rs += (m->resid[r] - rm) * (m->resid[r] - rm);
		/* sd(res) as simulate.nnetar, in y's units squared */
		m->sigma2 = rs / (double) (m->nrows - 1) * m->scale * m->scale;
	}

	/* the newest maxlag scaled values, newest first */
	m->tail = MiningAlloc(env, (size_t) m->maxlag, sizeof(double), false, "the series' end", err);
	if (m->tail == NULL)
		return false;
	for (i = 0; i < m->maxlag; i++)
		m->tail[i] = xs[n - 1 - i];
	MiningFree(env, xs, n, sizeof(double));
	m->spec = spec;
	*out = m;
	return true;
}

/* the average of the nets at inputs x */
static double
average_output(const NnarModel *m, const double *x)
{
	double		f = 0;
	int			k;

	for (k = 0; k < m->spec.repeats; k++)
		f += NnarNetOutput(m->weights + (size_t) k * m->nweights, m->nlags, m->spec.size, x);
	return f / m->spec.repeats;
}

/* the lags a forecast needs at the end of the series are all present */
static bool
check_tail(const NnarModel *m, MiningError *err)
{
	int			i;

	for (i = 0; i < m->nlags; i++)
		if (isnan(m->tail[m->lags[i] - 1]))
		{
			MiningSetError(err, MINING_ERR_DATA, "series has a missing value %d steps before its end, within the lags",
						   m->lags[i]);
			MiningSetDetail(err, "Each forecast step needs the values at lags %d to %d from the end.",
							m->lags[0], m->maxlag);
			MiningSetHint(err, "Fill the gap or end the series at the last complete step.");
			return false;
		}
	return true;
}

/* iterate the averaged net h steps from the series' end, then unscale */
bool
NnarForecast(MiningEnv *env, const NnarModel *m, int h, double *mean, MiningError *err)
{
	double	   *flag,
			   *x;
	int			s,
				i;

	if (!check_tail(m, err))
		return false;
	flag = MiningAlloc(env, (size_t) m->maxlag, sizeof(double), false, "the forecast lags", err);
	x = MiningAlloc(env, (size_t) m->nlags, sizeof(double), false, "the inputs", err);
	if (flag == NULL || x == NULL)
		return false;
	memcpy(flag, m->tail, sizeof(double) * m->maxlag);
	for (s = 0; s < h; s++)
	{
		double		f;

		if ((s & 255) == 255 && MiningInterrupted(env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		for (i = 0; i < m->nlags; i++)
			x[i] = flag[m->lags[i] - 1];
		f = average_output(m, x);
		memmove(flag + 1, flag, sizeof(double) * (m->maxlag - 1));
		flag[0] = f;
		mean[s] = f * m->scale + m->center;
	}
	MiningFree(env, flag, (size_t) m->maxlag, sizeof(double));
	MiningFree(env, x, (size_t) m->nlags, sizeof(double));
	return true;
}

/* qsort order of doubles */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* R's quantile(type = 8) of sorted v[0..n-1] */
static double
quantile8(const double *v, int n, double p)
{
	double		hh = n * p + (p + 1) / 3.0;
	int			j = (int) floor(hh);
	double		g = hh - j;

	if (j < 1)
		return v[0];
	if (j >= n)
		return v[n - 1];
	return v[j - 1] + g * (v[j] - v[j - 1]);
}

/*
 * Simulate npaths paths step by step together (each path keeps its own
 * lags), so that only one step's values need sorting at a time.
 */
bool
NnarIntervals(MiningEnv *env, const NnarModel *m, int h, int npaths, bool bootstrap,
			  double *lo80, double *hi80, double *lo95, double *hi95, MiningError *err)
{
	double	   *flags,
			   *cur,
			   *x,
			   *res = NULL;
	double		sd,
				rmean = 0;
	gsl_rng    *rng;
	int			s,
				i;
	size_t		pth,
				r;

	if (npaths < 1 || npaths > NNAR_MAX_NPATHS)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "npaths %d is out of range", npaths);
		MiningSetDetail(err, "npaths, the simulated paths for the intervals, must be from 1 to %d.",
						NNAR_MAX_NPATHS);
		return false;
	}
	if (!check_tail(m, err))
		return false;
	flags = MiningAlloc(env, (size_t) npaths, (size_t) m->maxlag * sizeof(double), false,
						"the simulated paths", err);
	cur = MiningAlloc(env, (size_t) npaths, sizeof(double), false, "the simulated paths", err);
	x = MiningAlloc(env, (size_t) m->nlags, sizeof(double), false, "the inputs", err);
	if (flags == NULL || cur == NULL || x == NULL)
		return false;
	sd = sqrt(m->sigma2) / m->scale;	/* innovations in scaled units */
	if (bootstrap)
	{
		res = MiningAlloc(env, m->nrows, sizeof(double), false, "the residuals", err);
		if (res == NULL)
			return false;
		for (r = 0; r < m->nrows; r++)
			rmean += m->resid[r];
		rmean /= (double) m->nrows;
		for (r = 0; r < m->nrows; r++)
			res[r] = m->resid[r] - rmean;
	}
	for (pth = 0; pth < (size_t) npaths; pth++)
		memcpy(flags + pth * m->maxlag, m->tail, sizeof(double) * m->maxlag);
	rng = gsl_rng_alloc(gsl_rng_mt19937);
	if (rng == NULL)
		return MiningSetError(err, MINING_ERR_NOMEM, "out of memory for the random number generator");
	gsl_rng_set(rng, m->spec.seed + 1);
	for (s = 0; s < h; s++)
	{
		for (pth = 0; pth < (size_t) npaths; pth++)
		{
			double	   *flag = flags + pth * m->maxlag;
			double		e,
						f;

			if ((pth & 63) == 63 && MiningInterrupted(env))
			{
				gsl_rng_free(rng);
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			}
			for (i = 0; i < m->nlags; i++)
				x[i] = flag[m->lags[i] - 1];
			e = bootstrap ? res[gsl_rng_uniform_int(rng, m->nrows)] : gsl_ran_gaussian(rng, sd);
			f = average_output(m, x) + e;
			memmove(flag + 1, flag, sizeof(double) * (m->maxlag - 1));
			flag[0] = f;
			cur[pth] = f * m->scale + m->center;
		}
		qsort(cur, (size_t) npaths, sizeof(double), cmp_double);
		if (lo80)
			lo80[s] = quantile8(cur, npaths, 0.10);
		if (hi80)
			hi80[s] = quantile8(cur, npaths, 0.90);
		if (lo95)
			lo95[s] = quantile8(cur, npaths, 0.025);
		if (hi95)
			hi95[s] = quantile8(cur, npaths, 0.975);
	}
	gsl_rng_free(rng);
	MiningFree(env, flags, (size_t) npaths, (size_t) m->maxlag * sizeof(double));
	MiningFree(env, cur, (size_t) npaths, sizeof(double));
	MiningFree(env, x, (size_t) m->nlags, sizeof(double));
	if (res)
		MiningFree(env, res, m->nrows, sizeof(double));
	return true;
}

/* give back the model's blocks (the rest went with the fit's context) */
void
NnarFree(MiningEnv *env, NnarModel *m)
{
	if (m == NULL)
		return;
	MiningFree(env, m->lags, (size_t) m->spec.p + m->spec.P, sizeof(int));
	MiningFree(env, m->weights, (size_t) m->spec.repeats, (size_t) m->nweights * sizeof(double));
	MiningFree(env, m->tail, (size_t) m->maxlag, sizeof(double));
	MiningFree(env, m->resid, m->nrows, sizeof(double));
	MiningFree(env, m, 1, sizeof(NnarModel));
}
