--
-- nnar_forecast against independent oracles:
--   - R's forecast::nnetar: test/mining/nnar/reference.txt (written by
--     make_reference.R beside it) holds the lags, p, P and size nnetar
--     chooses, and its 20-net forecast of a strongly structured series;
--     both are read here (the same weights giving the same forecast to
--     rounding is checked by test/mining/nnar, on the core);
--   - planted truth: a noisy logistic map (its formula in make_reference.R)
--     is forecast better than by arima_forecast's AR of the same lag, and
--     deterministic store series are forecast close to their formula;
--   - hostile input: clear errors, nothing changed, a row per bad series.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS megamarket;
RESET client_min_messages;
SET search_path = megamarket, public;
\getenv abs_srcdir PG_ABS_SRCDIR
\set refdir :abs_srcdir '/test/mining/nnar/'

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

-- R's series, one value a line
CREATE TEMP TABLE raw (id serial, v text);
CREATE TEMP TABLE obs (data text, t integer, y float8);
\set f :refdir 'data/lynx.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'lynx', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/lh.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'lh', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/WWWusage.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'WWWusage', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/LakeHuron.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'LakeHuron', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/USAccDeaths.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'USAccDeaths', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/wave.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'wave', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
\set f :refdir 'data/lmap.txt'
COPY raw (v) FROM :'f';
INSERT INTO obs SELECT 'lmap', row_number() OVER (ORDER BY id), v::float8 FROM raw; TRUNCATE raw;
SELECT data, count(*) FROM obs GROUP BY data ORDER BY data;

-- nnetar's lines
CREATE TEMP TABLE ref_lines (id serial, line text);
\set f :refdir 'reference.txt'
COPY ref_lines (line) FROM :'f';
CREATE TEMP VIEW ref AS
SELECT id, split_part(line, ' ', 1) AS key,
       regexp_split_to_array(trim(line), ' +') AS f
FROM ref_lines;

-- the model nnetar chooses by default (p by AIC of an AR, size from the
-- lags), named as nnetar names it; period 12 for the monthly series (t is
-- an integer here, so no period follows from it). USAccDeaths is seasonal:
-- p comes from a seasonally adjusted series (see docs/mining.md).
SELECT r.f[2] AS data,
       'NNAR(' || r.f[4] || CASE WHEN r.f[5] <> '0' THEN ',' || r.f[5] ELSE '' END || ',' || r.f[6] || ')'
         || CASE WHEN r.f[5] <> '0' THEN '[' || r.f[3] || ']' ELSE '' END AS nnetar,
       split_part(n.model, ', average', 1) AS ours
FROM ref r,
     nnar_forecast(format('SELECT t, y FROM obs WHERE data = %L', r.f[2]), 1,
                   repeats => 1, maxit => 0, period => r.f[3]::int) n
WHERE r.key = 'choice' AND r.f[2] IN ('lynx', 'lh', 'WWWusage', 'LakeHuron', 'USAccDeaths', 'wave')
ORDER BY r.id;

-- nnetar's 20-net forecast of a strongly structured monthly series: ours
-- (20 nets from other random starts) within a tenth of the series' sd
WITH a AS (
    SELECT id, f FROM ref WHERE key = 'avg' AND f[2] = 'wave'
), fc AS (
    SELECT (r.f[2])::int AS step, r.f[3]::float8 AS nnetar
    FROM ref r, a
    WHERE r.key = 'fc' AND r.id > a.id AND r.id <= a.id + a.f[7]::int
)
SELECT count(*) AS steps,
       max(abs(n.forecast - fc.nnetar)) < 0.1 * (SELECT f[8]::float8 FROM a) AS within_tenth_sd,
       min(split_part(n.model, ', sigma', 1)) AS model
FROM fc JOIN nnar_forecast('SELECT t, y FROM obs WHERE data = ''wave''', 24, p => 1, "P" => 1, period => 12) n
     USING (step);

-- (a) planted truth, a noisy logistic map x' = 3.6 x (1 - x) + N(0, 0.01^2):
-- from 8 origins near the end, 3 steps ahead, NNAR(1) against the AR(1)
-- arima_forecast fits; the network's RMSE is a fraction of the linear one
CREATE TEMP TABLE planted AS
SELECT o.origin, n.step, n.forecast AS nnar, a.forecast AS ar,
       (SELECT y FROM obs WHERE data = 'lmap' AND t = o.origin + n.step) AS truth
FROM generate_series(270, 291, 3) o(origin),
     LATERAL nnar_forecast(format('SELECT t, y FROM obs WHERE data = ''lmap'' AND t <= %s', o.origin),
                           3, p => 1, size => 3, repeats => 10) n
     JOIN LATERAL arima_forecast(format('SELECT t, y FROM obs WHERE data = ''lmap'' AND t <= %s', o.origin),
                                 3, 1, 0, 0) a USING (step);
SELECT count(*) AS forecasts,
       sqrt(avg((nnar - truth) ^ 2)) < 0.5 * sqrt(avg((ar - truth) ^ 2)) AS nnar_rmse_below_half_ar,
       sqrt(avg((nnar - truth) ^ 2) FILTER (WHERE step = 1)) < 0.025 AS one_step_near_noise
FROM planted;

-- several series in one call: each store its own networks; the bad ones give
-- a row with the reason and do not stop the others. Norte and Sur are
-- exact formulas (the truth to compare with); daily dates: period 7.
CREATE TEMP TABLE sales (store text, day date, amount numeric);
INSERT INTO sales
SELECT 'Norte', DATE '2024-01-01' + i, 1000 + 200 * sin(2 * pi() * i / 7) + 30 * sin(i * 1.7) FROM generate_series(0, 139) i;
INSERT INTO sales
SELECT 'Sur', DATE '2024-01-01' + i, 800 + 100 * cos(2 * pi() * i / 7) + 20 * cos(i * 2.3) FROM generate_series(0, 139) i;
INSERT INTO sales VALUES ('Centro', '2024-01-01', 5), ('Centro', '2024-01-02', 5), ('Centro', '2024-01-03', 5);
INSERT INTO sales SELECT 'Constante', DATE '2024-01-01' + i, 42 FROM generate_series(0, 59) i;
INSERT INTO sales VALUES ('Doble', '2024-01-01', 1), ('Doble', '2024-01-01', 2);
INSERT INTO sales SELECT 'Nulo', DATE '2024-01-01' + i, CASE WHEN i = 5 THEN NULL ELSE i % 7 END FROM generate_series(0, 59) i;
INSERT INTO sales SELECT 'Hueco', DATE '2024-01-01' + i, i % 7 + sin(i) FROM generate_series(0, 59) i WHERE i <> 58;
SELECT series, step, t,
       CASE series
         WHEN 'Norte' THEN abs(forecast - (1000 + 200 * sin(2 * pi() * (139 + step) / 7) + 30 * sin((139 + step) * 1.7))) < 60
         WHEN 'Sur' THEN abs(forecast - (800 + 100 * cos(2 * pi() * (139 + step) / 7) + 20 * cos((139 + step) * 2.3))) < 30
       END AS near_truth,
       lo80 IS NULL AS no_intervals, split_part(model, ', sigma', 1) AS model, error
FROM nnar_forecast('SELECT store, day, amount FROM sales', 3, p => 2)
ORDER BY series, step;

-- the documented example: a forecast per store with 80 % and 95 % intervals
SELECT series, step, t, lo95 < lo80 AND lo80 < hi80 AND hi80 < hi95 AS nested,
       lo95 < forecast AND forecast < hi95 AS inside, split_part(model, ', sigma', 1) AS model
FROM megamarket.nnar_forecast('SELECT store, day, amount FROM sales WHERE store IN (''Norte'', ''Sur'')',
                              3, p => 2, intervals => true)
ORDER BY series, step;
-- bootstrapped innovations
SELECT count(*) AS steps, bool_and(lo95 <= lo80 AND lo80 < hi80 AND hi80 <= hi95) AS nested
FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lynx''', 4, p => 2, intervals => true, bootstrap => true, npaths => 500);

-- the same seed, the same forecast; another seed, another one
SELECT (SELECT array_agg(forecast ORDER BY step) FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, p => 2, repeats => 5))
     = (SELECT array_agg(forecast ORDER BY step) FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, p => 2, repeats => 5)) AS same_seed_same,
       (SELECT array_agg(forecast ORDER BY step) FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, p => 2, repeats => 5))
     = (SELECT array_agg(forecast ORDER BY step) FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, p => 2, repeats => 5, seed => 7)) AS other_seed_same;
-- monthly dates step by months (period 12 follows); t continues the query's t
SELECT step, t, split_part(model, ', average', 1) AS model FROM nnar_forecast($$SELECT (DATE '2020-01-01' + make_interval(months => i))::date, 100 + 10 * sin(i * pi() / 6) + i * 0.5 FROM generate_series(0, 47) i$$, 3, p => 1, repeats => 2);
-- rows in any order
SELECT (SELECT array_agg(forecast ORDER BY step) FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh'' ORDER BY y', 2, p => 1, repeats => 2))
     = (SELECT array_agg(forecast ORDER BY step) FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh'' ORDER BY t DESC', 2, p => 1, repeats => 2)) AS same;

-- hostile input: clear errors naming the argument
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 0, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', NULL, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 100001, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast(NULL, 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 0)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, -5)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 101)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, -1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, 11)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, NULL)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, size => 0)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, size => 1000000)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 500) i', 3, 100, size => 100)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, repeats => 0)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, repeats => 2000000000)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, period => 0)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, period => 367)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, decay => -0.1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, decay => 'NaN')$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, maxit => -1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, npaths => 0)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, npaths => 1000000)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 3, 1, intervals => NULL)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t::text, y FROM obs WHERE data = ''lh''', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, data FROM obs WHERE data = ''lh''', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t FROM obs', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT 1, 2, 3, 4', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs WHERE false', 3, 1)$$);
SELECT count(*) AS no_rows_multi FROM nnar_forecast('SELECT data, t, y FROM obs WHERE false', 3, 1);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT 1, 2.0', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, 7 FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 50) i', 3, 48)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 30) i', 3, 1, 3, period => 12)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT 1, 1.0 UNION ALL SELECT 1, 2.0 UNION ALL SELECT 2, 3.0', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, CASE WHEN i = 9 THEN NULL ELSE i % 5 END FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, ''Infinity''::float8 FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, sin(i) * 1e300 FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 50) i WHERE i <> 49', 3, 2)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i * i, sin(i) FROM generate_series(1, 50) i', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('DELETE FROM obs RETURNING t, y', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT t, y FROM obs FOR UPDATE', 3, 1)$$);
SELECT count(*) AS obs_untouched FROM obs;
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT ''infinity''::date, 1.0', 3, 1)$$);
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT 1/0, 1.0', 3, 1)$$);
-- a tiny memory budget: the limit, named
SET megamarket.mining_max_memory = '1MB';
SELECT pg_temp.try($$SELECT * FROM nnar_forecast('SELECT i, sin(i) FROM generate_series(1, 5000) i', 3, 8, size => 50, repeats => 1000)$$);
RESET megamarket.mining_max_memory;

-- cancel: long training stops at statement_timeout, and the session goes on
SET statement_timeout = '1s';
SELECT * FROM nnar_forecast('SELECT i, sin(i * 0.9) + (i % 13) * 0.01 FROM generate_series(1, 50000) i', 3, 20, size => 40, repeats => 1000);
RESET statement_timeout;
SELECT count(*) FROM nnar_forecast('SELECT t, y FROM obs WHERE data = ''lh''', 2, 1, repeats => 2);

DROP EXTENSION megamarket;
