/*
 * arima_pg.c
 *		megamarket.arima_fit and megamarket.arima_forecast: the SQL side of
 *		the ARIMA core (arima.c).
 *
 * Both take a query returning (t, y) or (series, t, y), read by the shared
 * MiningSeriesRead (mining_pg.c): t an integer, a date or a timestamp, rows
 * in any order, the step the greatest common divisor of the differences of
 * t, a missing step a missing value for the Kalman filter. Each series is
 * fitted in its own memory context under megamarket.mining_max_memory. With
 * a series column, a series that cannot be fitted yields one row carrying
 * the reason and the others go on; with (t, y) the reason is the error.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "mining/arima.h"
#include "mining/mining_pg.h"

/* z for 80 % and 95 % intervals: qnorm(0.9), qnorm(0.975) */
#define Z80 1.2815515655446004
#define Z95 1.9599639845400540

/* what the caller asked */
typedef struct Request
{
	const char *fn;
	ArimaSpec	spec;
	bool		is_auto;
	int			period;			/* auto: <= 0 infer from t */
	int			horizon;		/* 0 for arima_fit */
} Request;

static char *
model_text(const ArimaModel *m)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "ARIMA(%d,%d,%d)", m->spec.p, m->spec.d, m->spec.q);
	if (m->spec.s > 0)
		appendStringInfo(&buf, "(%d,%d,%d)[%d]", m->spec.P, m->spec.D, m->spec.Q, m->spec.s);
	if (m->has_mean)
		appendStringInfoString(&buf, " with non-zero mean");
	if (m->has_drift)
		appendStringInfoString(&buf, " with drift");
	appendStringInfo(&buf, ", %s", ArimaMethodName(m->spec.method));
	return buf.data;
}

/* Read the arguments shared by both functions (from argument 2 on). */
static void
read_request(FunctionCallInfo fcinfo, int first, Request *req)
{
	MiningError err;
	int			argp = first;
	char	   *method;

	memset(&req->spec, 0, sizeof(req->spec));
	req->spec.p = PG_ARGISNULL(argp) ? 0 : PG_GETARG_INT32(argp);
	req->spec.d = PG_ARGISNULL(argp + 1) ? 0 : PG_GETARG_INT32(argp + 1);
	req->spec.q = PG_ARGISNULL(argp + 2) ? 0 : PG_GETARG_INT32(argp + 2);
	if (!PG_ARGISNULL(argp + 3))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(argp + 3);
		Datum	   *elems;
		bool	   *nulls;
		int			nel;

		deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &nel);
		if (ARR_NDIM(arr) > 1 || nel != 4 || nulls[0] || nulls[1] || nulls[2] || nulls[3])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s seasonal must be an array of four integers {P,D,Q,s}", req->fn),
					 errhint("For a weekly pattern in daily data: seasonal => '{1,1,1,7}'.")));
		req->spec.P = DatumGetInt32(elems[0]);
		req->spec.D = DatumGetInt32(elems[1]);
		req->spec.Q = DatumGetInt32(elems[2]);
		req->spec.s = DatumGetInt32(elems[3]);
	}
	req->spec.include_mean = PG_ARGISNULL(argp + 4) ? true : PG_GETARG_BOOL(argp + 4);
	method = PG_ARGISNULL(argp + 5) ? "CSS-ML" : text_to_cstring(PG_GETARG_TEXT_PP(argp + 5));
	if (!ArimaMethodParse(method, &req->spec.method))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s method \"%s\" is not known", req->fn, method),
				 errhint("Use 'CSS-ML' (the default), 'ML' or 'CSS'.")));
	req->is_auto = PG_ARGISNULL(argp + 6) ? false : PG_GETARG_BOOL(argp + 6);
	req->period = PG_ARGISNULL(argp + 7) ? 0 : PG_GETARG_INT32(argp + 7);
	if (req->period < 0 || req->period > ARIMA_MAX_PERIOD)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s period %d is out of range", req->fn, req->period),
				 errdetail("The seasonal period must be from 1 to %d.", ARIMA_MAX_PERIOD)));
	if (!req->is_auto && !ArimaCheckSpec(&req->spec, &err))
		MiningReportError(req->fn, &err);
}

typedef void (*EmitFn) (ReturnSetInfo *rsinfo, const Request *req, const char *series,
						const MiningSeries *s, Oid ttyp, const ArimaModel *m, MiningEnv *env,
						const MiningError *failed);

/*
 * Read the query, then fit each series and call emit for it (with the
 * model, or with failed set).
 */
static void
run(FunctionCallInfo fcinfo, Request *req, EmitFn emit)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext series_cxt,
				old;
	MiningSeriesSet *set;
	size_t		start,
				end = 0;

	set = MiningSeriesRead(req->fn, PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	InitMaterializedSRF(fcinfo, 0);

	series_cxt = AllocSetContextCreate(set->cxt, "arima series", ALLOCSET_DEFAULT_SIZES);
	while (MiningSeriesNext(set, &start, &end))
	{
		MiningEnv	senv;
		MiningError err;
		MiningSeries s;
		ArimaModel *m = NULL;
		bool		ok;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(series_cxt);
		old = MemoryContextSwitchTo(series_cxt);
		MiningEnvInit(&senv, MiningMemoryLimit());
		err.code = MINING_OK;
		ok = MiningSeriesBuild(&senv, set, start, end, &s, &err);
		if (ok && req->is_auto)
		{
			ArimaAutoSpec as;
			int			period = req->period > 0 ? req->period : MiningSeriesPeriod(&s, set->ttyp);

			ArimaAutoDefaults(&as, period);
			ok = ArimaAuto(&senv, s.y, s.n, &as, &m, &err);
		}
		else if (ok)
			ok = ArimaFit(&senv, s.y, s.n, &req->spec, &m, &err);
		if (!ok)
		{
			if (MiningSeriesFailIsFatal(set, &err))
				MiningReportError(req->fn, &err);
			emit(rsinfo, req, set->rows[start].series, &s, set->ttyp, NULL, &senv, &err);
		}
		else
			emit(rsinfo, req, set->rows[start].series, &s, set->ttyp, m, &senv, NULL);
		MemoryContextSwitchTo(old);
	}
	MiningSeriesSetFree(set);
}

static void
emit_fit(ReturnSetInfo *rsinfo, const Request *req, const char *series, const MiningSeries *s,
		 Oid ttyp, const ArimaModel *m, MiningEnv *env, const MiningError *failed)
{
	Datum		values[5];
	bool		nulls[5];
	int			i;
	static const char *stat_names[] = {"sigma2", "loglik", "aic", "aicc", "bic", "nobs"};

	memset(nulls, 0, sizeof(nulls));
	nulls[0] = series == NULL;
	values[0] = series ? CStringGetTextDatum(series) : (Datum) 0;
	if (failed)
	{
		values[1] = CStringGetTextDatum("error");
		nulls[2] = nulls[3] = true;
		values[4] = CStringGetTextDatum(MiningErrorText(failed));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		return;
	}
	values[1] = CStringGetTextDatum("model");
	nulls[2] = nulls[3] = true;
	values[4] = CStringGetTextDatum(model_text(m));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	nulls[2] = false;
	for (i = 0; i < m->ncoef; i++)
	{
		values[1] = CStringGetTextDatum(m->term[i]);
		values[2] = Float8GetDatum(m->coef[i]);
		values[3] = Float8GetDatum(m->se[i]);
		nulls[3] = isnan(m->se[i]);
		nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	for (i = 0; i < 6; i++)
	{
		double		v = i == 0 ? m->sigma2 : i == 1 ? m->loglik : i == 2 ? m->aic :
			i == 3 ? m->aicc : i == 4 ? m->bic : (double) m->nobs;

		values[1] = CStringGetTextDatum(stat_names[i]);
		values[2] = Float8GetDatum(v);
		nulls[2] = isnan(v);
		nulls[3] = true;
		nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

static void
emit_forecast(ReturnSetInfo *rsinfo, const Request *req, const char *series, const MiningSeries *s,
			  Oid ttyp, const ArimaModel *m, MiningEnv *env, const MiningError *failed)
{
	double	   *mean,
			   *se,
			   *b[4];
	MiningError err;
	int			h = req->horizon;

	if (failed)
	{
		MiningForecastEmit(rsinfo, series, s, ttyp, 0, NULL, NULL, NULL, failed);
		return;
	}
	mean = MiningAlloc(env, (size_t) h * 6, sizeof(double), false, "the forecast", &err);
	if (mean == NULL)
		MiningReportError(req->fn, &err);
	se = mean + h;
	for (int j = 0; j < 4; j++)
		b[j] = se + (size_t) (j + 1) * h;
	if (!ArimaForecast(env, m, h, mean, se, &err))
		MiningReportError(req->fn, &err);
	for (int i = 0; i < h; i++)
	{
		b[0][i] = mean[i] - Z80 * se[i];
		b[1][i] = mean[i] + Z80 * se[i];
		b[2][i] = mean[i] - Z95 * se[i];
		b[3][i] = mean[i] + Z95 * se[i];
	}
	MiningForecastEmit(rsinfo, series, s, ttyp, h, mean, (const double *const *) b,
					   model_text(m), NULL);
}

PG_FUNCTION_INFO_V1(mining_arima_fit);
Datum
mining_arima_fit(PG_FUNCTION_ARGS)
{
	Request		req;

	req.fn = "arima_fit";
	req.horizon = 0;
	read_request(fcinfo, 1, &req);
	run(fcinfo, &req, emit_fit);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(mining_arima_forecast);
Datum
mining_arima_forecast(PG_FUNCTION_ARGS)
{
	Request		req;

	req.fn = "arima_forecast";
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arima_forecast horizon must not be NULL")));
	req.horizon = PG_GETARG_INT32(1);
	if (req.horizon < 1 || req.horizon > ARIMA_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arima_forecast horizon %d is out of range", req.horizon),
				 errdetail("The horizon must be from 1 to %d steps.", ARIMA_MAX_HORIZON)));
	read_request(fcinfo, 2, &req);
	run(fcinfo, &req, emit_forecast);
	PG_RETURN_VOID();
}
