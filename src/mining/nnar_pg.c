/*
 * nnar_pg.c
 *		megamarket.nnar_forecast: the SQL side of the NNAR core (nnar.c).
 *
 * The query returns (t, y) or (series, t, y), read by the shared
 * MiningSeriesRead (mining_pg.c) exactly as arima_forecast reads it. Each
 * series is fitted in its own memory context under
 * megamarket.mining_max_memory; with a series column, a series that cannot
 * be fitted yields one row carrying the reason and the others go on; with
 * (t, y) the reason is the error. The seasonal period is `period`, or
 * follows t as arima_forecast's auto does (7 for days, 12 for months, ...).
 */
#include "postgres.h"

#include <math.h>
#include <string.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "mining/mining_pg.h"
#include "mining/nnar.h"

#define FN "nnar_forecast"

/* what the caller asked */
typedef struct Request
{
	NnarSpec	spec;
	int			period;			/* <= 0: from t */
	int			horizon;
	bool		intervals;
	int			npaths;
	bool		bootstrap;
} Request;

static int
int_arg(FunctionCallInfo fcinfo, int i, int dflt)
{
	return PG_ARGISNULL(i) ? dflt : PG_GETARG_INT32(i);
}

/* a NULL where NULL means nothing: an error naming the argument */
static void
not_null(FunctionCallInfo fcinfo, int i, const char *name)
{
	if (PG_ARGISNULL(i))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s %s must not be NULL", FN, name)));
}

/*
 * p or size given below 1: the core's own message (a negative value there
 * means "choose it"), so that the caller sees the value passed.
 */
static void
explicit_out_of_range(const char *name, int value)
{
	NnarSpec	spec;
	MiningError err;

	NnarDefaults(&spec);
	if (strcmp(name, "p") == 0)
		spec.p = 0;
	else
		spec.size = 0;
	(void) NnarCheckSpec(&spec, &err);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: %s %d is out of range", FN, name, value),
			 errdetail_internal("%s", err.detail)));
}

static void
read_request(FunctionCallInfo fcinfo, Request *req)
{
	MiningError err;

	not_null(fcinfo, 1, "horizon");
	req->horizon = PG_GETARG_INT32(1);
	if (req->horizon < 1 || req->horizon > NNAR_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s horizon %d is out of range", FN, req->horizon),
				 errdetail("The horizon must be from 1 to %d steps.", NNAR_MAX_HORIZON)));
	NnarDefaults(&req->spec);
	req->spec.p = int_arg(fcinfo, 2, -1);
	if (req->spec.p < 1 && !PG_ARGISNULL(2))
		explicit_out_of_range("p", req->spec.p);
	not_null(fcinfo, 3, "P");
	req->spec.P = PG_GETARG_INT32(3);
	req->spec.size = int_arg(fcinfo, 4, -1);
	if (req->spec.size < 1 && !PG_ARGISNULL(4))
		explicit_out_of_range("size", req->spec.size);
	not_null(fcinfo, 5, "repeats");
	req->spec.repeats = PG_GETARG_INT32(5);
	not_null(fcinfo, 6, "seed");
	req->spec.seed = (uint32) PG_GETARG_INT32(6);
	req->period = int_arg(fcinfo, 7, 0);
	if (!PG_ARGISNULL(7) && (req->period < 1 || req->period > NNAR_MAX_PERIOD))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s period %d is out of range", FN, req->period),
				 errdetail("The seasonal period must be from 1 to %d (1: no seasonal lags).",
						   NNAR_MAX_PERIOD)));
	not_null(fcinfo, 8, "decay");
	req->spec.decay = PG_GETARG_FLOAT8(8);
	not_null(fcinfo, 9, "maxit");
	req->spec.maxit = PG_GETARG_INT32(9);
	not_null(fcinfo, 10, "intervals");
	req->intervals = PG_GETARG_BOOL(10);
	not_null(fcinfo, 11, "npaths");
	req->npaths = PG_GETARG_INT32(11);
	if (req->npaths < 1 || req->npaths > NNAR_MAX_NPATHS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s npaths %d is out of range", FN, req->npaths),
				 errdetail("npaths, the simulated paths for the intervals, must be from 1 to %d.",
						   NNAR_MAX_NPATHS)));
	not_null(fcinfo, 12, "bootstrap");
	req->bootstrap = PG_GETARG_BOOL(12);
	not_null(fcinfo, 13, "scale_inputs");
	req->spec.scale_inputs = PG_GETARG_BOOL(13);
	if (!NnarCheckSpec(&req->spec, &err))
		MiningReportError(FN, &err);
}

static char *
model_text(const NnarModel *m)
{
	char		name[64];

	NnarModelName(m, name, sizeof(name));
	return psprintf("%s, average of %d networks %d-%d-1 with %d weights, sigma^2 %.6g",
					name, m->spec.repeats, m->nlags, m->spec.size, m->nweights, m->sigma2);
}

/* forecasts and intervals of one series */
typedef struct SeriesResult
{
	double	   *mean,
			   *lo80,
			   *hi80,
			   *lo95,
			   *hi95;
} SeriesResult;

/*
 * Forecast h steps (and the intervals when asked) into res. false with err
 * set on failure (a missing value within the lags at the end, cancel).
 */
static bool
forecast(MiningEnv *env, const Request *req, const NnarModel *m, SeriesResult *res, MiningError *err)
{
	int			h = req->horizon;

	memset(res, 0, sizeof(*res));
	res->mean = MiningAlloc(env, h, sizeof(double), false, "the forecast", err);
	if (res->mean == NULL || !NnarForecast(env, m, h, res->mean, err))
		return false;
	if (!req->intervals)
		return true;
	if ((res->lo80 = MiningAlloc(env, h, sizeof(double), false, "the intervals", err)) == NULL ||
		(res->hi80 = MiningAlloc(env, h, sizeof(double), false, "the intervals", err)) == NULL ||
		(res->lo95 = MiningAlloc(env, h, sizeof(double), false, "the intervals", err)) == NULL ||
		(res->hi95 = MiningAlloc(env, h, sizeof(double), false, "the intervals", err)) == NULL)
		return false;
	return NnarIntervals(env, m, h, req->npaths, req->bootstrap,
						 res->lo80, res->hi80, res->lo95, res->hi95, err);
}

static void
emit(ReturnSetInfo *rsinfo, const Request *req, const char *series, const MiningSeries *s,
	 Oid ttyp, const NnarModel *m, const SeriesResult *res, const MiningError *failed)
{
	const double *const bands[4] = {
		res ? res->lo80 : NULL, res ? res->hi80 : NULL,
		res ? res->lo95 : NULL, res ? res->hi95 : NULL
	};

	MiningForecastEmit(rsinfo, series, s, ttyp, req->horizon, res ? res->mean : NULL,
					   req->intervals ? bands : NULL, failed ? NULL : model_text(m), failed);
}

PG_FUNCTION_INFO_V1(mining_nnar_forecast);
Datum
mining_nnar_forecast(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Request		req;
	MiningSeriesSet *set;
	MemoryContext series_cxt,
				old;
	size_t		start,
				end = 0;

	read_request(fcinfo, &req);
	set = MiningSeriesRead(FN, PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	InitMaterializedSRF(fcinfo, 0);

	series_cxt = AllocSetContextCreate(set->cxt, "nnar series", ALLOCSET_DEFAULT_SIZES);
	while (MiningSeriesNext(set, &start, &end))
	{
		MiningEnv	senv;
		MiningError err;
		MiningSeries s;
		NnarModel  *m = NULL;
		NnarSpec	spec = req.spec;
		SeriesResult		res;
		bool		ok;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(series_cxt);
		old = MemoryContextSwitchTo(series_cxt);
		MiningEnvInit(&senv, MiningMemoryLimit());
		err.code = MINING_OK;
		ok = MiningSeriesBuild(&senv, set, start, end, &s, &err);
		if (ok)
		{
			spec.m = req.period > 0 ? req.period : MiningSeriesPeriod(&s, set->ttyp);
			ok = NnarFit(&senv, s.y, s.n, &spec, &m, &err) &&
				forecast(&senv, &req, m, &res, &err);
		}
		if (!ok)
		{
			if (MiningSeriesFailIsFatal(set, &err))
				MiningReportError(FN, &err);
			emit(rsinfo, &req, set->rows[start].series, &s, set->ttyp, NULL, NULL, &err);
		}
		else
			emit(rsinfo, &req, set->rows[start].series, &s, set->ttyp, m, &res, NULL);
		MemoryContextSwitchTo(old);
	}
	MiningSeriesSetFree(set);
	PG_RETURN_VOID();
}
