--
-- The mining module's shared parts, through mining_profile(): the query
-- reader (shapes, types, conversions, caller's rights, read-only), the
-- memory budget megamarket.mining_max_memory, and cancellation. The expected
-- values are worked out by hand or computed by PostgreSQL's own aggregates
-- (min, max, avg, stddev_samp, percentile_cont) in the same statement.
--
CREATE EXTENSION megamarket;
SET search_path = megamarket, public;

-- An error as SQLSTATE, message, detail, hint and context.
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
    h text;
    c text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT,
                            c = PG_EXCEPTION_CONTEXT;
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]{20,}', '<digits>')
        || coalesce(' DETAIL: ' || nullif(d, ''), '')
        || coalesce(' HINT: ' || nullif(h, ''), '')
        || coalesce(' CONTEXT: ' || nullif(split_part(c, E'\n', 1), ''), '');
END
$$;

-- the setting: 1 GB by default, in kB, per session
SHOW megamarket.mining_max_memory;
SELECT setting, unit, context, min_val FROM pg_settings WHERE name = 'megamarket.mining_max_memory';

-- Hand-checked, every number type. a, b, c: 1, 2, 4, 3, 5, NULL: 5 numbers,
-- mean 3, sample stddev sqrt(10/4) = 1.58113883008, median 3. d, e, f: 1, 2,
-- 4, 3, NaN, NULL: 4 numbers, mean 2.5, stddev sqrt(5/3) = 1.29099444874,
-- median (2+3)/2 = 2.5.
SELECT column_number, column_name, numbers, nulls, nans, min, max, mean,
       round(stddev::numeric, 11) AS stddev, median
FROM mining_profile($$
    SELECT * FROM (VALUES (1::int2, 1::int4, 1::int8, 1::float4, 1::float8, 1::numeric),
                          (2, 2, 2, 2, 2, 2), (4, 4, 4, 4, 4, 4), (3, 3, 3, 3, 3, 3),
                          (5, 5, 5, 'NaN', 'NaN', 'NaN'),
                          (NULL, NULL, NULL, NULL, NULL, NULL)) AS t(a, b, c, d, e, f)$$)
ORDER BY column_number;

-- an odd count; infinity is a number; a query with no rows gives NULLs
SELECT numbers, min, max, median FROM mining_profile('VALUES (3.0), (1), (2)');
SELECT numbers, max, median FROM mining_profile($$VALUES (1::float8), ('Infinity'), (0)$$);
SELECT * FROM mining_profile('SELECT 1::float8 AS x WHERE false');

-- Against PostgreSQL's aggregates on 10,001 pseudo-random values with
-- repeats (the median must survive duplicates and an odd and even count).
CREATE TEMP TABLE r AS
SELECT g AS id, ((g * 7919) % 1013)::float8 / 7 AS x, (g % 17)::numeric AS y
FROM generate_series(1, 10001) g;
SELECT p.column_name,
       p.numbers = a.n AS n_ok,
       p.min = a.mn AS min_ok, p.max = a.mx AS max_ok,
       abs(p.mean - a.av) < 1e-9 AS mean_ok,
       abs(p.stddev - a.sd) < 1e-9 AS stddev_ok,
       p.median = a.med AS median_ok
FROM mining_profile('SELECT x, y FROM r') p
JOIN (SELECT 'x' AS c, count(x) n, min(x) mn, max(x) mx, avg(x) av, stddev_samp(x) sd,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY x) med FROM r
      UNION ALL
      SELECT 'y', count(y), min(y), max(y), avg(y), stddev_samp(y),
             percentile_cont(0.5) WITHIN GROUP (ORDER BY y) FROM r) a ON a.c = p.column_name
ORDER BY 1;
SELECT p.median = (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM r WHERE id < 10001) AS even_median_ok
FROM mining_profile('SELECT x FROM r WHERE id < 10001') p;

-- Shapes and types: the bad column named by position, name and type.
SELECT pg_temp.try($$SELECT * FROM mining_profile('SELECT 1 AS a, ''x''::text AS segment')$$);
SELECT pg_temp.try($$SELECT * FROM mining_profile('SELECT ARRAY[1.0] AS v')$$);
SELECT pg_temp.try($$SELECT * FROM mining_profile('SELECT FROM r')$$);
SELECT pg_temp.try($$SELECT * FROM mining_profile('')$$);
SELECT pg_temp.try($$SELECT * FROM mining_profile('SELEC 1')$$);
SELECT pg_temp.try($$SELECT * FROM mining_profile('SELECT 1; SELECT 2')$$);
SELECT pg_temp.try($$SELECT * FROM mining_profile('SELECT x FROM no_such_table')$$);
-- a numeric too large for float8: the row and column are named
SELECT pg_temp.try($$SELECT * FROM mining_profile('VALUES (1::numeric), (1e400)')$$);
-- domains over number types are numbers
CREATE DOMAIN pg_temp.price AS numeric CHECK (VALUE >= 0);
SELECT numbers, mean FROM mining_profile('SELECT 2.5::pg_temp.price UNION ALL SELECT 3.5');

-- Read only: nothing the query could change is changed.
CREATE TEMP TABLE victim (v int);
INSERT INTO victim VALUES (1);
SELECT pg_temp.try($$SELECT * FROM mining_profile('INSERT INTO victim VALUES (2) RETURNING v')$$);
SELECT pg_temp.try($$SELECT * FROM mining_profile('WITH d AS (DELETE FROM victim RETURNING v) SELECT v FROM d')$$);
SELECT pg_temp.try($$SELECT * FROM mining_profile('UPDATE victim SET v = 3')$$);
SELECT * FROM victim;

-- The caller's rights: a role that may not read a table cannot profile it.
CREATE ROLE regress_mining_reader;
CREATE TABLE public.mining_secret (x float8);
INSERT INTO public.mining_secret VALUES (42);
GRANT USAGE ON SCHEMA public TO regress_mining_reader;
SET ROLE regress_mining_reader;
SELECT pg_temp.try($$SELECT * FROM megamarket.mining_profile('SELECT x FROM public.mining_secret')$$);
RESET ROLE;
GRANT SELECT ON public.mining_secret TO regress_mining_reader;
SET ROLE regress_mining_reader;
SELECT numbers, max FROM megamarket.mining_profile('SELECT x FROM public.mining_secret');
RESET ROLE;
DROP TABLE public.mining_secret;
REVOKE USAGE ON SCHEMA public FROM regress_mining_reader;
DROP ROLE regress_mining_reader;

-- The memory budget: 64 kB holds 8192 numbers less the column summaries,
-- so 5,000 fit and 20,000 do not (54000, naming what, with a hint).
SET megamarket.mining_max_memory = '64kB';
SELECT numbers FROM mining_profile('SELECT g::float8 FROM generate_series(1, 5000) g');
SELECT pg_temp.try($$SELECT * FROM mining_profile('SELECT g::float8 FROM generate_series(1, 20000) g')$$);
SELECT pg_temp.try($$SET megamarket.mining_max_memory = '10kB'$$);
RESET megamarket.mining_max_memory;
SELECT numbers FROM mining_profile('SELECT g::float8 FROM generate_series(1, 20000) g');

-- Cancellation: a read of 100 million rows stops at statement_timeout
-- (the backend is usable afterwards).
SET statement_timeout = '300ms';
SELECT * FROM mining_profile('SELECT g::float8 FROM generate_series(1, 100000000) g');
RESET statement_timeout;
SELECT numbers FROM mining_profile('SELECT 1');

DROP EXTENSION megamarket;
