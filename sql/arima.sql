--
-- arima_fit / arima_forecast against R. The oracle is R itself:
-- test/mining/arima/reference.txt holds stats::arima's estimates, standard
-- errors, log-likelihoods, AICs and predict() forecasts for R's classic
-- series (lh, LakeHuron, USAccDeaths, log AirPassengers, presidents,
-- nottem, WWWusage, ...), written by make_reference.R beside it, and
-- reference_auto.txt forecast::auto.arima's choices. Both are read here and
-- only the values that differ by more than 1 in 1000 are shown.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS megamarket;
RESET client_min_messages;
SET search_path = megamarket, public;
\getenv abs_srcdir PG_ABS_SRCDIR
\set refdir :abs_srcdir '/test/mining/arima/'

-- An error as SQLSTATE, message, detail and hint.
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
    h text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM
        || coalesce(' DETAIL: ' || nullif(d, ''), '')
        || coalesce(' HINT: ' || nullif(h, ''), '');
END
$$;

-- R's data sets, one value a line, NA for missing (left out here: a gap in t)
CREATE TEMP TABLE raw (id serial, v text);
CREATE TEMP TABLE obs (data text, t integer, y float8);
\set f :refdir 'data/lh.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'lh', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/lh_na.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT * FROM (SELECT 'lh_na', row_number() OVER (ORDER BY id) AS t, nullif(v, 'NA')::float8 AS y FROM raw) s WHERE y IS NOT NULL; TRUNCATE raw;
\set f :refdir 'data/presidents.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT * FROM (SELECT 'presidents', row_number() OVER (ORDER BY id) AS t, nullif(v, 'NA')::float8 AS y FROM raw) s WHERE y IS NOT NULL; TRUNCATE raw;
\set f :refdir 'data/LakeHuron.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'LakeHuron', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/USAccDeaths.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'USAccDeaths', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/logAirPassengers.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'logAirPassengers', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/nottem.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'nottem', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/sim7.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'sim7', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/WWWusage.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'WWWusage', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/austres.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'austres', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
SELECT data, count(*) FROM obs GROUP BY data ORDER BY data;

-- R's fits: one line a fact, grouped into cases
CREATE TEMP TABLE ref_lines (id serial, line text);
\set f :refdir 'reference.txt'
COPY ref_lines (line) FROM :'f';
CREATE TEMP VIEW ref AS
SELECT sum((split_part(line, ' ', 1) = 'case')::int) OVER (ORDER BY id) AS cid,
       split_part(line, ' ', 1) AS key, string_to_array(trim(line), ' ') AS f
FROM ref_lines;
CREATE TEMP TABLE cases AS
SELECT cid,
       max(f[2]) FILTER (WHERE key = 'case') AS name,
       max(f[2]) FILTER (WHERE key = 'data') AS data,
       max(f[2]) FILTER (WHERE key = 'method') AS method,
       string_to_array(trim(max(array_to_string(f, ' ')) FILTER (WHERE key = 'order')), ' ') AS ord,
       string_to_array(trim(max(array_to_string(f, ' ')) FILTER (WHERE key = 'mean')), ' ') AS mn
FROM ref GROUP BY cid;
-- the drift cases need a regressor that arima_fit has only in auto mode
DELETE FROM cases WHERE mn[3] = '1';
SELECT count(*) AS cases FROM cases;

CREATE TEMP TABLE ours AS
SELECT c.cid, r.*
FROM cases c,
     arima_fit(format('SELECT t, y FROM obs WHERE data = %L', c.data),
               c.ord[2]::int, c.ord[3]::int, c.ord[4]::int,
               ARRAY[c.ord[5]::int, c.ord[6]::int, c.ord[7]::int, c.ord[8]::int],
               c.mn[2] = '1', c.method) r;

-- coefficients and standard errors: 3 significant digits (a coefficient near
-- zero to 1e-3 of its standard error)
SELECT c.name, f[2] AS term, o.estimate, f[3]::float8 AS r_estimate, o.std_error, f[4]::float8 AS r_se
FROM ref JOIN cases c USING (cid) LEFT JOIN ours o ON o.cid = c.cid AND o.term = f[2]
WHERE key = 'coef'
  AND (o.estimate IS NULL
       OR abs(o.estimate - f[3]::float8) > greatest(1e-3 * abs(f[3]::float8), 1e-3 * f[4]::float8)
       OR abs(o.std_error - f[4]::float8) > 1e-3 * f[4]::float8);
SELECT count(*) AS coefficients_compared
FROM ref JOIN cases c USING (cid) JOIN ours o ON o.cid = c.cid AND o.term = f[2] WHERE key = 'coef';

-- sigma^2, log-likelihood, AIC (NaN for CSS, as R)
SELECT c.name, key, o.estimate, f[2] AS r
FROM ref JOIN cases c USING (cid) LEFT JOIN ours o ON o.cid = c.cid AND o.term = key
WHERE key IN ('sigma2', 'loglik', 'aic')
  AND NOT (f[2] = 'NaN' AND o.estimate IS NULL)
  AND (o.estimate IS NULL OR abs(o.estimate - f[2]::float8) > 1e-3 * abs(f[2]::float8));
SELECT count(*) AS statistics_compared
FROM ref JOIN cases c USING (cid) WHERE key IN ('sigma2', 'loglik', 'aic');

-- every fit has its model row and statistics
SELECT c.name, o.note FROM cases c JOIN ours o USING (cid) WHERE o.term = 'model' ORDER BY c.cid;
SELECT term, count(*) FROM ours WHERE std_error IS NULL AND term <> 'model' GROUP BY term ORDER BY term;

-- forecasts and their intervals against predict(): the interval half-width
-- at 95 % is 1.96 standard errors
CREATE TEMP TABLE fc AS
SELECT c.cid, r.*
FROM cases c,
     LATERAL (SELECT max(f[2]::int) AS h FROM ref WHERE ref.cid = c.cid AND key = 'fc') hh,
     arima_forecast(format('SELECT t, y FROM obs WHERE data = %L', c.data), hh.h,
                    c.ord[2]::int, c.ord[3]::int, c.ord[4]::int,
                    ARRAY[c.ord[5]::int, c.ord[6]::int, c.ord[7]::int, c.ord[8]::int],
                    c.mn[2] = '1', c.method) r;
SELECT c.name, o.step, o.forecast, f[3] AS r_forecast, (o.hi95 - o.forecast) / 1.959963984540054 AS se, f[4] AS r_se
FROM ref JOIN cases c USING (cid) LEFT JOIN fc o ON o.cid = c.cid AND o.step = f[2]::int
WHERE key = 'fc'
  AND (o.forecast IS NULL
       OR abs(o.forecast - f[3]::float8) > greatest(1e-3 * abs(f[3]::float8), 1e-3 * f[4]::float8)
       OR abs((o.hi95 - o.forecast) / 1.959963984540054 - f[4]::float8) > 1e-3 * f[4]::float8
       OR abs((o.forecast - o.lo80) / 1.2815515655446004 - f[4]::float8) > 1e-3 * f[4]::float8);
SELECT count(*) AS forecasts_compared FROM fc;
-- t continues the query's t
SELECT step, t FROM fc JOIN cases USING (cid) WHERE name = 'lh_ar1' AND step <= 3 ORDER BY step;

-- automatic selection: forecast::auto.arima's orders, and one call for every
-- series when the query has a series column (period given, as t is integer)
CREATE TEMP TABLE auto_ref (data text, s int, p int, d int, q int, sp int, sd int, sq int, mean int, drift int, aicc float8);
\set f :refdir 'reference_auto.txt'
CREATE TEMP TABLE auto_lines (line text);
COPY auto_lines FROM :'f';
INSERT INTO auto_ref
SELECT a[2], a[3]::int, a[4]::int, a[5]::int, a[6]::int, a[7]::int, a[8]::int, a[9]::int, a[10]::int, a[11]::int, a[12]::float8
FROM (SELECT string_to_array(trim(line), ' ') AS a FROM auto_lines) s;
SELECT a.data, a.s, o.note,
       format('ARIMA(%s,%s,%s)', a.p, a.d, a.q)
       || CASE WHEN a.s > 1 THEN format('(%s,%s,%s)[%s]', a.sp, a.sd, a.sq, a.s) ELSE '' END
       || CASE WHEN a.mean = 1 THEN ' with non-zero mean' WHEN a.drift = 1 THEN ' with drift' ELSE '' END AS auto_arima,
       abs(aic.estimate - a.aicc) < 1e-3 * abs(a.aicc) AS same_aicc
FROM auto_ref a,
     arima_fit(format('SELECT data, t, y FROM obs WHERE data = %L', a.data), auto => true, period => a.s) o,
     arima_fit(format('SELECT data, t, y FROM obs WHERE data = %L', a.data), auto => true, period => a.s) aic
WHERE o.term = 'model' AND aic.term = 'aicc' AND a.data IN ('lh', 'LakeHuron', 'WWWusage', 'USAccDeaths')
ORDER BY a.data;

-- the documented arima_fit example: R's arima(lh, order = c(1, 0, 0)) gives
-- ar1 0.5739 (s.e. 0.1161), intercept 2.4133 (0.1466), sigma^2 0.1975,
-- log likelihood -29.38, aic 64.76 (AICc and BIC by their formulas:
-- 64.7583 + 2*3*4/44 = 65.3038, 64.7583 + 3*(log(48) - 2) = 70.3719)
SELECT term, round(estimate::numeric, 4) AS estimate, round(std_error::numeric, 4) AS std_error, note
FROM arima_fit('SELECT t, y FROM obs WHERE data = ''lh''', 1, 0, 0);

-- several series in one call: each store its own model; the bad ones give a
-- row with the reason and do not stop the others
CREATE TEMP TABLE sales (store text, day date, amount numeric);
INSERT INTO sales
SELECT 'Norte', DATE '2024-01-01' + i, 1000 + 200 * sin(2 * pi() * i / 7) + 30 * sin(i * 1.7) FROM generate_series(0, 139) i;
INSERT INTO sales
SELECT 'Sur', DATE '2024-01-01' + i, 800 + 100 * cos(2 * pi() * i / 7) + 20 * cos(i * 2.3) FROM generate_series(0, 139) i;
INSERT INTO sales VALUES ('Centro', '2024-01-01', 5), ('Centro', '2024-01-02', 5), ('Centro', '2024-01-03', 5);
INSERT INTO sales SELECT 'Constante', DATE '2024-01-01' + i, 42 FROM generate_series(0, 59) i;
INSERT INTO sales VALUES ('Doble', '2024-01-01', 1), ('Doble', '2024-01-01', 2);
INSERT INTO sales SELECT 'Nulo', DATE '2024-01-01' + i, CASE WHEN i = 5 THEN NULL ELSE i % 7 END FROM generate_series(0, 59) i;
SELECT series, step, t, round(forecast) AS forecast, lo95 < forecast AND forecast < hi95 AS inside,
       lo95 < lo80 AND hi80 < hi95 AS nested, model, error
FROM arima_forecast('SELECT store, day, amount FROM sales', 3, 1, 0, 1, '{0,1,1,7}')
ORDER BY series, step;
-- auto: the period follows t (daily dates: 7)
SELECT series, step, t, model, error IS NULL AS ok
FROM arima_forecast('SELECT store, day, amount FROM sales WHERE store IN (''Norte'', ''Sur'')', 2, auto => true)
ORDER BY series, step;
-- monthly dates step by months
SELECT step, t FROM arima_forecast($$SELECT (DATE '2020-01-01' + make_interval(months => i))::date, 100 + i % 12 + i * 0.5 + sin(i) FROM generate_series(0, 47) i$$, 3, 1, 1, 0);
SELECT step, t FROM arima_forecast($$SELECT TIMESTAMP '2024-03-01 00:00' + make_interval(hours => i), sin(i / 3.0) + cos(i) FROM generate_series(0, 99) i$$, 2, 1);
-- rows in any order; a gap is a missing value
SELECT step, t, round(forecast::numeric, 4) = (SELECT round(forecast::numeric, 4) FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh'' ORDER BY t', 1, 1) LIMIT 1) AS same
FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh'' ORDER BY y', 1, 1);

-- hostile input: clear errors
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 0, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', NULL, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast(NULL, 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, method => 'OLS')$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 21)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, -1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, seasonal => '{1,1}')$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, seasonal => '{1,0,0,1}')$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, seasonal => '{2,1,2,366}')$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t::text, y FROM obs WHERE data = ''lh''', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, data FROM obs WHERE data = ''lh''', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t FROM obs', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT 1, 2, 3, 4', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT t, y FROM obs WHERE false', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT 1, 2.0', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT i, 7 FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT i, i FROM generate_series(1, 50) i', 3, 0, 1, 0)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT 1, 1.0 UNION ALL SELECT 1, 2.0 UNION ALL SELECT 2, 3.0', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT i, CASE WHEN i = 9 THEN NULL ELSE i % 5 END FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT i, ''Infinity''::float8 FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT i * i, sin(i) FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT i, sin(i) * 1e300 FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM arima_forecast('DELETE FROM obs RETURNING t, y', 3, 1)$$);
SELECT count(*) AS obs_untouched FROM obs;
SELECT pg_temp.try($$SELECT * FROM arima_forecast('SELECT ''infinity''::date, 1.0', 3, 1)$$);

-- cancel: a long fit stops at statement_timeout, and the session goes on
CREATE TEMP TABLE long AS SELECT i, sin(i * 0.9) + (i % 13) * 0.01 AS y FROM generate_series(1, 300000) i;
SET statement_timeout = '1s';
SELECT * FROM arima_forecast('SELECT i, y FROM long', 3, 3, 0, 3);
RESET statement_timeout;
SELECT count(*) FROM arima_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 2, 1);

DROP EXTENSION megamarket;
