/*
 * arima_pg.c
 *		megamarket.arima_fit and megamarket.arima_forecast: the SQL side of
 *		the ARIMA core (arima.c).
 *
 * Both take a query returning (t, y) or (series, t, y). t is an integer, a
 * date or a timestamp; rows may come in any order (each series is sorted
 * by t here). The sampling step is the smallest difference between
 * consecutive t (whole months for dates on the same day of the month), and
 * a missing step is a missing value for the Kalman filter. Each series is
 * fitted in its own memory context under megamarket.mining_max_memory. With
 * a series column, a series that cannot be fitted yields one row carrying
 * the reason and the others go on; with (t, y) the reason is the error.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "mining/arima.h"
#include "mining/mining_pg.h"

#define MAX_EXPANDED	10000000	/* series length once gaps are filled */

/* z for 80 % and 95 % intervals: qnorm(0.9), qnorm(0.975) */
#define Z80 1.2815515655446004
#define Z95 1.9599639845400540

typedef enum TKind
{
	T_INT,
	T_DATE,
	T_TIMESTAMP
} TKind;

typedef struct Row
{
	const char *series;			/* shared by consecutive rows of a series */
	int64		t;
	double		y;
	bool		ynull;
	bool		tnull;
	uint64		rowno;
} Row;

/* what the caller asked */
typedef struct Request
{
	const char *fn;
	ArimaSpec	spec;
	bool		is_auto;
	int			period;			/* auto: <= 0 infer from t */
	int			horizon;		/* 0 for arima_fit */
} Request;

/* one series, ready for the core */
typedef struct Series
{
	double	   *y;
	size_t		n;
	int64		t0;				/* first t (days, usec, integer or month index) */
	int64		step;
	bool		months;			/* t0/step in months (dates) */
	int			day;			/* day of month in month mode */
} Series;

static int
cmp_rows(const void *a, const void *b)
{
	const Row  *x = a,
			   *y = b;

	if (x->series != y->series)
	{
		int			c;

		if (x->series == NULL)
			return 1;
		if (y->series == NULL)
			return -1;
		c = strcmp(x->series, y->series);
		if (c != 0)
			return c;
	}
	return x->t < y->t ? -1 : (x->t > y->t ? 1 : 0);
}

static TKind
t_kind(MiningQuery *q, int col, const char *fn)
{
	Oid			typ = q->types[col];

	switch (typ)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return T_INT;
		case DATEOID:
			return T_DATE;
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return T_TIMESTAMP;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s query column %d (\"%s\") must be an integer, a date or a timestamp",
							fn, col + 1, NameStr(TupleDescAttr(q->tupdesc, col)->attname)),
					 errdetail("It has type %s.", format_type_be(typ)),
					 errhint("Return (t, y) or (series, t, y) with t the time of each observation.")));
	}
	return T_INT;				/* not reached */
}

static int64
t_value(Datum d, Oid typ)
{
	switch (typ)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT8OID:
			return DatumGetInt64(d);
		case DATEOID:
			return DatumGetDateADT(d);
		default:
			return DatumGetTimestamp(d);
	}
}

static bool
t_infinite(int64 v, Oid typ)
{
	if (typ == DATEOID)
		return DATE_NOT_FINITE((DateADT) v);
	if (typ == TIMESTAMPOID || typ == TIMESTAMPTZOID)
		return TIMESTAMP_NOT_FINITE((Timestamp) v);
	return false;
}

/* the text of t_k = t0 + k * step, in the query's type; NULL when out of range */
static char *
t_text(const Series *s, int64 k, Oid typ)
{
	Oid			out;
	bool		isvarlena;
	Datum		d;
	int64		v;

	if (pg_mul_s64_overflow(k, s->step, &v) || pg_add_s64_overflow(s->t0, v, &v))
		return NULL;
	getTypeOutputInfo(typ, &out, &isvarlena);
	switch (typ)
	{
		case INT2OID:
			if (v < PG_INT16_MIN || v > PG_INT16_MAX)
				return NULL;
			d = Int16GetDatum((int16) v);
			break;
		case INT4OID:
			if (v < PG_INT32_MIN || v > PG_INT32_MAX)
				return NULL;
			d = Int32GetDatum((int32) v);
			break;
		case INT8OID:
			d = Int64GetDatum(v);
			break;
		case DATEOID:
			if (s->months)
			{
				/* v is a month index: year * 12 + month - 1 */
				int			year = (int) (v / 12),
							month = (int) (v % 12) + 1,
							day = s->day;
				int			mdays = day_tab[isleap(year)][month - 1];

				if (v < 0 || year > 5000000)
					return NULL;
				if (day > mdays)
					day = mdays;
				v = date2j(year, month, day) - POSTGRES_EPOCH_JDATE;
			}
			if (!IS_VALID_DATE(v))
				return NULL;
			d = DateADTGetDatum((DateADT) v);
			break;
		default:
			if (!IS_VALID_TIMESTAMP(v))
				return NULL;
			d = TimestampGetDatum((Timestamp) v);
			break;
	}
	return OidOutputFunctionCall(out, d);
}

static int64
gcd64(int64 a, int64 b)
{
	while (b != 0)
	{
		int64		r = a % b;

		a = b;
		b = r;
	}
	return a;
}

/*
 * Build the series from rows[0..nrows) (sorted by t). On a problem the
 * reason goes into err (MINING_ERR_DATA) and false is returned.
 */
static bool
build_series(MiningEnv *env, const Row *rows, size_t nrows, Oid typ, Series *s,
			 MiningError *err)
{
	size_t		i;
	int64		step = 0;
	bool		months = false;
	int64	   *tv;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nrows; i++)
	{
		if (rows[i].tnull)
			return MiningSetError(err, MINING_ERR_DATA, "t is NULL in row %llu",
								  (unsigned long long) rows[i].rowno);
		if (t_infinite(rows[i].t, typ))
			return MiningSetError(err, MINING_ERR_DATA, "t is infinite in row %llu",
								  (unsigned long long) rows[i].rowno);
		if (rows[i].ynull)
		{
			MiningSetError(err, MINING_ERR_DATA, "y is NULL in row %llu", (unsigned long long) rows[i].rowno);
			MiningSetHint(err, "Leave the row out: a missing time step is a missing value to the model.");
			return false;
		}
		if (isinf(rows[i].y))
			return MiningSetError(err, MINING_ERR_DATA, "y is infinite in row %llu",
								  (unsigned long long) rows[i].rowno);
		if (i > 0 && rows[i].t == rows[i - 1].t)
		{
			MiningSetError(err, MINING_ERR_DATA, "t is repeated in rows %llu and %llu",
						   (unsigned long long) rows[i - 1].rowno, (unsigned long long) rows[i].rowno);
			MiningSetHint(err, "Aggregate to one row per series and t (GROUP BY).");
			return false;
		}
	}
	tv = MiningAlloc(env, nrows, sizeof(int64), false, "the time index", err);
	if (tv == NULL)
		return false;
	for (i = 0; i < nrows; i++)
		tv[i] = rows[i].t;

	/* dates on one day of the month, at least 28 days apart: months */
	if (typ == DATEOID && nrows >= 2)
	{
		int			y,
					m,
					d,
					day0 = 0;
		bool		same = true;
		int64		mind = PG_INT64_MAX;

		for (i = 0; i < nrows && same; i++)
		{
			j2date((int) tv[i] + POSTGRES_EPOCH_JDATE, &y, &m, &d);
			if (i == 0)
				day0 = d;
			else if (d != day0)
				same = false;
			if (i > 0 && tv[i] - tv[i - 1] < mind)
				mind = tv[i] - tv[i - 1];
		}
		if (same && mind >= 28)
		{
			months = true;
			s->day = day0;
			for (i = 0; i < nrows; i++)
			{
				j2date((int) tv[i] + POSTGRES_EPOCH_JDATE, &y, &m, &d);
				tv[i] = (int64) y * 12 + m - 1;
			}
		}
	}
	for (i = 1; i < nrows; i++)
	{
		int64		diff;

		if (pg_sub_s64_overflow(tv[i], tv[i - 1], &diff))
			return MiningSetError(err, MINING_ERR_DATA, "t values are too far apart");
		step = gcd64(diff, step);
	}
	if (step <= 0)
		step = 1;
	{
		int64		span = (tv[nrows - 1] - tv[0]) / step + 1;

		if (span > MAX_EXPANDED || (uint64) span > 10 * (uint64) nrows + 1000)
		{
			MiningSetError(err, MINING_ERR_DATA, "t has too many gaps: %zu observations spread over %lld steps",
						   nrows, (long long) span);
			MiningSetDetail(err, "The step between observations is the greatest common divisor of the differences of t; missing steps count as missing values, and at most 10 of them per observation are allowed.");
			MiningSetHint(err, "Check that t is the time of the observation and that the series is regular.");
			return false;
		}
		s->n = (size_t) span;
	}
	s->y = MiningAlloc(env, s->n, sizeof(double), false, "the series", err);
	if (s->y == NULL)
		return false;
	for (i = 0; i < s->n; i++)
		s->y[i] = NAN;
	for (i = 0; i < nrows; i++)
		s->y[(tv[i] - tv[0]) / step] = rows[i].y;
	s->t0 = tv[0];
	s->step = step;
	s->months = months;
	MiningFree(env, tv, nrows, sizeof(int64));
	return true;
}

/* seasonal period for auto when not given: by the step of t */
static int
infer_period(const Series *s, Oid typ)
{
	if (typ == DATEOID && s->months)
		return s->step == 1 ? 12 : (s->step == 3 ? 4 : 1);
	if (typ == DATEOID && s->step == 1)
		return 7;
	if ((typ == TIMESTAMPOID || typ == TIMESTAMPTZOID) && s->step == USECS_PER_DAY)
		return 7;
	if ((typ == TIMESTAMPOID || typ == TIMESTAMPTZOID) && s->step == USECS_PER_HOUR)
		return 24;
	return 1;
}

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

/* the reason of a failed series, one line: message, detail */
static char *
error_text(const MiningError *err)
{
	if (err->detail[0] != '\0')
		return psprintf("%s: %s", err->message, err->detail);
	return pstrdup(err->message);
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
						const Series *s, Oid ttyp, const ArimaModel *m, MiningEnv *env,
						const MiningError *failed);

/*
 * Read the query, then fit each series and call emit for it (with the
 * model, or with failed set).
 */
static void
run(FunctionCallInfo fcinfo, Request *req, EmitFn emit)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const MiningColumnKind kinds[] = {MINING_COL_ANY};
	char	   *query;
	MemoryContext cxt,
				series_cxt,
				old;
	MiningEnv	env;
	MiningError err;
	MiningQuery *q;
	HeapTuple	tuple;
	Row		   *rows = NULL;
	size_t		nrows = 0,
				cap = 0,
				i,
				start;
	bool		multi;
	int			tcol,
				ycol;
	Oid			ttyp;
	const char *last_series = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s query must not be NULL", req->fn)));
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	InitMaterializedSRF(fcinfo, 0);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "arima rows", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	MiningEnvInit(&env, MiningMemoryLimit());
	MemoryContextSwitchTo(old);

	q = MiningQueryOpen(req->fn, query, 2, 3, kinds, 1);
	multi = q->natts == 3;
	tcol = multi ? 1 : 0;
	ycol = tcol + 1;
	MiningQueryCheckColumn(q, ycol, MINING_COL_FLOAT8);
	(void) t_kind(q, tcol, req->fn);
	ttyp = q->types[tcol];

	while ((tuple = MiningQueryNext(q)) != NULL)
	{
		Row		   *r;
		bool		isnull;

		if (nrows == cap)
		{
			size_t		ncap = cap == 0 ? 4096 : cap * 2;

			rows = MiningRealloc(&env, rows, cap, ncap, sizeof(Row), "the query's rows", &err);
			if (rows == NULL)
				MiningReportError(req->fn, &err);
			cap = ncap;
		}
		r = &rows[nrows++];
		r->rowno = q->rows_read;
		r->series = NULL;
		if (multi)
		{
			char	   *sv = MiningQueryText(q, tuple, 0, &isnull);

			if (!isnull)
			{
				if (last_series == NULL || strcmp(last_series, sv) != 0)
					last_series = MemoryContextStrdup(cxt, sv);
				r->series = last_series;
			}
		}
		r->tnull = q->nulls[tcol];
		r->t = r->tnull ? 0 : t_value(q->values[tcol], ttyp);
		r->y = MiningQueryFloat8(q, tuple, ycol, &r->ynull);
	}
	MiningQueryClose(q);

	if (nrows == 0)
	{
		if (!multi)
		{
			MiningSetError(&err, MINING_ERR_DATA, "query returned no rows");
			MiningSetHint(&err, "The series to fit is what the query returns.");
			MiningReportError(req->fn, &err);
		}
		return;
	}
	qsort(rows, nrows, sizeof(Row), cmp_rows);

	series_cxt = AllocSetContextCreate(cxt, "arima series", ALLOCSET_DEFAULT_SIZES);
	for (start = 0; start < nrows; start = i)
	{
		MiningEnv	senv;
		Series		s;
		ArimaModel *m = NULL;
		bool		ok;

		for (i = start + 1; i < nrows; i++)
			if (rows[i].series != rows[start].series &&
				(rows[i].series == NULL || rows[start].series == NULL ||
				 strcmp(rows[i].series, rows[start].series) != 0))
				break;
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(series_cxt);
		old = MemoryContextSwitchTo(series_cxt);
		MiningEnvInit(&senv, MiningMemoryLimit());
		err.code = MINING_OK;
		ok = build_series(&senv, rows + start, i - start, ttyp, &s, &err);
		if (ok && req->is_auto)
		{
			ArimaAutoSpec as;
			int			period = req->period > 0 ? req->period : infer_period(&s, ttyp);

			ArimaAutoDefaults(&as, period);
			ok = ArimaAuto(&senv, s.y, s.n, &as, &m, &err);
		}
		else if (ok)
			ok = ArimaFit(&senv, s.y, s.n, &req->spec, &m, &err);
		if (!ok)
		{
			if (err.code == MINING_ERR_CANCELED || err.code == MINING_ERR_NOMEM ||
				err.code == MINING_ERR_INTERNAL || !multi)
				MiningReportError(req->fn, &err);
			emit(rsinfo, req, rows[start].series, &s, ttyp, NULL, &senv, &err);
		}
		else
			emit(rsinfo, req, rows[start].series, &s, ttyp, m, &senv, NULL);
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(cxt);
}

static void
emit_fit(ReturnSetInfo *rsinfo, const Request *req, const char *series, const Series *s,
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
		values[4] = CStringGetTextDatum(error_text(failed));
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
emit_forecast(ReturnSetInfo *rsinfo, const Request *req, const char *series, const Series *s,
			  Oid ttyp, const ArimaModel *m, MiningEnv *env, const MiningError *failed)
{
	Datum		values[10];
	bool		nulls[10];
	double	   *mean,
			   *se;
	MiningError err;
	int			h = req->horizon,
				i;
	char	   *model;

	memset(nulls, 0, sizeof(nulls));
	nulls[0] = series == NULL;
	values[0] = series ? CStringGetTextDatum(series) : (Datum) 0;
	if (failed)
	{
		for (i = 1; i < 9; i++)
			nulls[i] = true;
		values[9] = CStringGetTextDatum(error_text(failed));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		return;
	}
	mean = MiningAlloc(env, h, sizeof(double), false, "the forecast", &err);
	se = MiningAlloc(env, h, sizeof(double), false, "the forecast", &err);
	if (mean == NULL || se == NULL || !ArimaForecast(env, m, h, mean, se, &err))
		MiningReportError(req->fn, &err);
	model = model_text(m);
	nulls[9] = true;
	for (i = 0; i < h; i++)
	{
		char	   *tt = t_text(s, (int64) (s->n - 1) + i + 1, ttyp);

		values[1] = Int32GetDatum(i + 1);
		nulls[2] = tt == NULL;
		values[2] = tt ? CStringGetTextDatum(tt) : (Datum) 0;
		values[3] = Float8GetDatum(mean[i]);
		values[4] = Float8GetDatum(mean[i] - Z80 * se[i]);
		values[5] = Float8GetDatum(mean[i] + Z80 * se[i]);
		values[6] = Float8GetDatum(mean[i] - Z95 * se[i]);
		values[7] = Float8GetDatum(mean[i] + Z95 * se[i]);
		values[8] = CStringGetTextDatum(model);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((i & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}
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
