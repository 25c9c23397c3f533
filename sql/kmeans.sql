--
-- kmeans(), kmeans_assign(), segment_customers(). Expected values are worked
-- out by hand (points on a line, planted groups), published (Fisher's iris,
-- k = 3: R's kmeans() gives clusters of 50, 62 and 38 points with
-- within-cluster sums of squares 15.15100, 39.82097, 23.87947, total
-- 78.85144, and the centroids below), or checked by a formula computed here
-- from the planted labels (the adjusted Rand index), never pasted from our
-- output.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set iris :abs_srcdir '/test/fixtures/mining/iris.csv'
CREATE EXTENSION megamarket;
SET search_path = megamarket, public;

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

-- Hand-checked: 0, 1, 10, 11 in two clusters: centroids 0.5 and 10.5, each
-- 2 points at 0.5 from it: within_ss 0.25 + 0.25 = 0.5. Both query shapes.
SELECT * FROM kmeans('VALUES (1, ARRAY[0.0]), (2, ARRAY[1]), (3, ARRAY[10]), (4, ARRAY[11])', 2);
SELECT * FROM kmeans('VALUES (''a'', 0), (''b'', 1), (''c'', 10), (''d'', 11)', 2);
-- two unit squares with corners at (0,0) and (10,0): their centres, 4 x 0.5 each
SELECT * FROM kmeans($$SELECT i, x::float8, y::int FROM (VALUES (1, 0, 0), (2, 0, 1), (3, 1, 0),
    (4, 1, 1), (5, 10, 0), (6, 10, 1), (7, 11, 0), (8, 11, 1)) v(i, x, y)$$, 2);
-- k = 1 is the mean (1+2+3+6)/4 = 3, within_ss 4+1+0+9 = 14; k = n puts each point alone
SELECT * FROM kmeans('VALUES (1, 1), (2, 2), (3, 3), (4, 6)', 1);
SELECT cluster, centroid, size, within_ss FROM kmeans('VALUES (1, 1), (2, 2), (3, 3), (4, 6)', 4);

-- kmeans_assign: the nearest centroid, numbered as kmeans numbers clusters;
-- a tie goes to the first
SELECT kmeans_assign(ARRAY[1.0], '{{0.5},{10.5}}'),
       kmeans_assign(ARRAY[9.0], '{{0.5},{10.5}}'),
       kmeans_assign(ARRAY[5.5], '{{0.5},{10.5}}'),
       kmeans_assign(ARRAY[0, 10], '{{0,0},{0,9},{10,10}}');
SELECT pg_temp.try($$SELECT kmeans_assign(ARRAY[1.0, 2], '{{0.5},{10.5}}')$$);
SELECT pg_temp.try($$SELECT kmeans_assign(ARRAY[1.0], '{0.5, 10.5}')$$);
SELECT pg_temp.try($$SELECT kmeans_assign(ARRAY[NULL, 1.0], '{{0.5, 1},{10.5, 1}}')$$);
SELECT pg_temp.try($$SELECT kmeans_assign(ARRAY['NaN'::float8], '{{0.5},{10.5}}')$$);
SELECT pg_temp.try($$SELECT kmeans_assign('{{1}}', '{{0.5},{10.5}}')$$);
SELECT pg_temp.try($$SELECT kmeans_assign('{1}', '{}')$$);

-- Fisher's iris (test/fixtures/mining/README.md), k = 3: the published optimum.
CREATE TEMP TABLE iris (id int, sepal_length float8, sepal_width float8,
                        petal_length float8, petal_width float8, species text);
COPY iris FROM :'iris' WITH (FORMAT csv, HEADER true);
SELECT cluster, (SELECT array_agg(round(c::numeric, 6)) FROM unnest(centroid) c) AS centroid,
       size, round(within_ss::numeric, 5) AS within_ss
FROM kmeans('SELECT id, sepal_length, sepal_width, petal_length, petal_width FROM iris', 3);
SELECT round(sum(within_ss)::numeric, 5) AS total_within_ss
FROM kmeans('SELECT id, ARRAY[sepal_length, sepal_width, petal_length, petal_width] FROM iris', 3);
-- the same seed, the same result, bit for bit; every seed finds this optimum here
SELECT (SELECT array_agg(t ORDER BY cluster) FROM kmeans('SELECT id, sepal_length, sepal_width, petal_length, petal_width FROM iris', 3, seed => 7) t)
     = (SELECT array_agg(t ORDER BY cluster) FROM kmeans('SELECT id, sepal_length, sepal_width, petal_length, petal_width FROM iris', 3, seed => 7) t)
  AS same_seed_same_result;
SELECT s AS seed, round(sum(within_ss)::numeric, 5) AS total
FROM generate_series(1, 3) s,
     kmeans('SELECT id, sepal_length, sepal_width, petal_length, petal_width FROM iris', 3, seed => s)
GROUP BY s ORDER BY s;
-- assigning every flower to its nearest centroid reproduces the sizes
WITH c AS (SELECT array_agg(centroid ORDER BY cluster) AS cs
           FROM kmeans('SELECT id, sepal_length, sepal_width, petal_length, petal_width FROM iris', 3))
SELECT kmeans_assign(ARRAY[sepal_length, sepal_width, petal_length, petal_width], c.cs) AS cluster,
       count(*), count(*) FILTER (WHERE species = 'setosa') AS setosa
FROM iris, c GROUP BY 1 ORDER BY 1;

-- Planted blobs: 4 groups of 250 points in 3-D, centres 100 apart, noise
-- within +-5 (a fixed pseudo-random function of the row). The adjusted Rand
-- index (Hubert and Arabie 1985) of the clusters against the groups is 1.
CREATE TEMP TABLE blobs AS
SELECT i, (i - 1) / 250 AS grp,
       (CASE (i - 1) / 250 WHEN 1 THEN 100 ELSE 0 END) + 5 * sin(i * 12.9898) AS x,
       (CASE (i - 1) / 250 WHEN 2 THEN 100 ELSE 0 END) + 5 * sin(i * 78.233) AS y,
       (CASE (i - 1) / 250 WHEN 3 THEN 100 ELSE 0 END) + 5 * sin(i * 37.719) AS z
FROM generate_series(1, 1000) i;
CREATE FUNCTION pg_temp.ari(labels text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE r float8;
BEGIN
    EXECUTE format($q$
    WITH l AS (%s),
    ct AS (SELECT a, b, count(*)::float8 n FROM l GROUP BY a, b),
    pairs AS (SELECT sum(n * (n - 1) / 2) s FROM ct),
    ra AS (SELECT sum(n * (n - 1) / 2) s FROM (SELECT count(*)::float8 n FROM l GROUP BY a) x),
    rb AS (SELECT sum(n * (n - 1) / 2) s FROM (SELECT count(*)::float8 n FROM l GROUP BY b) x),
    tot AS (SELECT count(*)::float8 * (count(*) - 1) / 2 t FROM l)
    SELECT (pairs.s - ra.s * rb.s / tot.t) / ((ra.s + rb.s) / 2 - ra.s * rb.s / tot.t)
    FROM pairs, ra, rb, tot$q$, labels) INTO r;
    RETURN r;
END
$$;
WITH c AS (SELECT array_agg(centroid ORDER BY cluster) cs FROM kmeans('SELECT i, x, y, z FROM blobs', 4))
SELECT pg_temp.ari(format('SELECT grp AS a, kmeans_assign(ARRAY[x, y, z], %L) AS b FROM blobs', c.cs)) AS ari
FROM c;
SELECT cluster, size, (SELECT array_agg(round(v::numeric)) FROM unnest(centroid) v) AS centroid
FROM kmeans('SELECT i, x, y, z FROM blobs', 4);
-- the ARI itself, checked on a labelling that is half right: groups {1,1,2,2} vs {1,2,1,2} give -0.5
SELECT round(pg_temp.ari('SELECT * FROM (VALUES (1, 1), (1, 2), (2, 1), (2, 2)) v(a, b)')::numeric, 12) AS ari_of_crossed_pairs;

-- scale: x in units, y in thousands; the groups differ only in x. Unscaled,
-- y's spread wins; scaled, x separates them, and centroids come back in
-- original units (the means of each group: x 0 and 10, y 5000).
CREATE TEMP TABLE units AS
SELECT i, (i % 2) * 10 + 0.1 * sin(i) AS x, 5000 + 3000 * sin(i * 7.1) AS y FROM generate_series(1, 200) i;
WITH c AS (SELECT array_agg(centroid ORDER BY cluster) cs
           FROM kmeans('SELECT i, x, y FROM units', 2, scale => true))
SELECT pg_temp.ari(format($q$SELECT i %% 2 AS a,
    kmeans_assign(ARRAY[(x - avg(x) OVER ()) / stddev_pop(x) OVER (), (y - avg(y) OVER ()) / stddev_pop(y) OVER ()],
                  (SELECT array_agg(ARRAY[(cs[r][1] - mx) / sx, (cs[r][2] - my) / sy] ORDER BY r)
                   FROM generate_series(1, 2) r)) AS b
    FROM units, (SELECT %L::float8[] cs, avg(x) mx, stddev_pop(x) sx, avg(y) my, stddev_pop(y) sy FROM units) s$q$,
    c.cs)) AS ari_scaled
FROM c;
SELECT cluster, size, round(centroid[1]::numeric, 6) = round(g.mx::numeric, 6) AS x_is_group_mean,
       round(centroid[2]::numeric, 6) = round(g.my::numeric, 6) AS y_is_group_mean
FROM kmeans('SELECT i, x, y FROM units', 2, scale => true) k
JOIN (SELECT i % 2 + 1 AS grp, avg(x) mx, avg(y) my FROM units GROUP BY 1) g ON g.grp = k.cluster
ORDER BY cluster;
SELECT max(size) < 200 AND min(size) <> 100 AS unscaled_splits_on_y
FROM kmeans('SELECT i, x, y FROM units', 2);

-- Bad input: a clear error naming the row id or column, nothing changed.
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, 1.0), (2, 2)', 0)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, 1.0), (2, 2)', 3)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, 1.0), (2, 1), (3, 1), (4, 2)', 3)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('SELECT 1, 1.0 WHERE false', 2)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, ARRAY[1.0, 2]), (2, ARRAY[1.0]), (3, ARRAY[3.0, 1])', 2)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, ARRAY[1.0, 2]), (22, NULL), (3, ARRAY[3.0, 1])', 2)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, ARRAY[1.0, 2]), (7, ARRAY[NULL, 2.0])', 2)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, ARRAY[1.0, 2]), (9, ARRAY[''NaN''::float8, 2.0])', 2)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, ''{}''::float8[]), (2, ''{}'')', 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans($q$VALUES ('x', 1.0, 2.0), ('y', 'Infinity', 2.0)$q$, 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans($q$SELECT 5 AS id, 1.0 AS a, NULL::int AS b$q$, 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans($q$SELECT 1 AS id, 2.0 AS spend, 'gold'::text AS segment$q$, 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans($q$SELECT 1 AS id, ARRAY['a'] AS features$q$, 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans($q$SELECT 1 AS id, ARRAY[1.0] AS f, ARRAY[2.0] AS g$q$, 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('SELECT 1', 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('DELETE FROM iris RETURNING id, sepal_length', 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('WITH d AS (DELETE FROM iris RETURNING *) SELECT id, sepal_length FROM d', 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('SELECT id, sepal_length FROM iris FOR UPDATE', 1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, 1.0), (2, 2)', 1, tolerance => -1)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, 1.0), (2, 2)', 1, n_init => 0)$$);
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, 1.0), (2, 2)', 1, max_iterations => 0)$$);
-- hostile sizes: the largest k, a 100,000-wide feature array against a
-- small budget, a two-dimensional feature array (read in storage order)
SELECT pg_temp.try($$SELECT * FROM kmeans('VALUES (1, 1.0), (2, 2)', 2147483647)$$);
SET megamarket.mining_max_memory = '1MB';
SELECT pg_temp.try($$SELECT * FROM kmeans('SELECT i, array_fill(i::float8, ARRAY[100000]) FROM generate_series(1, 10) i', 2)$$);
RESET megamarket.mining_max_memory;
SELECT * FROM kmeans($$VALUES (1, '{{0,0},{0,0}}'::float8[]), (2, '{{0,0},{0,2}}'), (3, '{{9,9},{9,9}}')$$, 2);
SELECT count(*) AS iris_rows_still_there FROM iris;
-- NULL arguments: STRICT, no rows
SELECT count(*) FROM kmeans(NULL, 2);

-- Memory: 10,000 points x 3 need 240 kB of points and 240 kB of work arrays
SET megamarket.mining_max_memory = '256kB';
SELECT pg_temp.try($$SELECT * FROM kmeans('SELECT i, random(), random(), random() FROM generate_series(1, 10000) i', 2)$$);
RESET megamarket.mining_max_memory;

-- Cancel: a run that would take minutes (1000 runs of k = 40 over 20,000
-- points) stops at statement_timeout, and the session goes on.
CREATE TEMP TABLE many AS SELECT i, sin(i * 1.1) AS x, sin(i * 2.3) AS y FROM generate_series(1, 20000) i;
SET statement_timeout = '1s';
SELECT * FROM kmeans('SELECT i, x, y FROM many', 40, n_init => 1000);
RESET statement_timeout;
SELECT count(*) FROM kmeans('SELECT i, x, y FROM many', 2, n_init => 1);
-- max_iterations reached: a NOTICE, and the result of the best run so far
SELECT count(*) FROM kmeans('SELECT i, x, y FROM many', 40, max_iterations => 2, n_init => 1);

-- segment_customers: three planted groups of 30 customers each, as of 2025-06-30
--   A: last purchase 1-5 days before (mean 3), 24-26 tickets (25), 50.00 each (1250)
--   B: 180/190/200 days (190), 1-2 tickets (1.5), 10.00 each (15)
--   C: 40-42 days (41), 7-9 tickets (8), 30.00 each (240)
-- Means over all: 78 days, 11.5 tickets, 501.67 spent. A description word
-- says whether a segment's mean is 1.5 times above or below the overall one.
SELECT fill_dates('2024-01-01', '2025-06-30');
SELECT add_months('2024-01-01', '2025-06-30') > 0 AS partitions_made;  -- the facts' month partitions
INSERT INTO departments (name) VALUES ('Alimentación');
INSERT INTO categories (name, department_id) SELECT 'Despensa', department_id FROM departments;
INSERT INTO products (sku, name, category_id, price) SELECT 'P1', 'Arroz', category_id, 1 FROM categories;
INSERT INTO segments (name, description) VALUES ('VIP', 'from the workbook');
INSERT INTO customers (code, name, segment_id)
SELECT 'C' || g || '-' || i, 'Cliente ' || g || i, NULL FROM unnest(ARRAY['A', 'B', 'C']) g, generate_series(1, 30) i;
INSERT INTO customers (code, name, segment_id)
SELECT 'NOSALES', 'Sin compras', segment_id FROM segments WHERE name = 'VIP';
CREATE TEMP TABLE plan AS
SELECT c.customer_id, substr(c.code, 2, 1) AS grp, split_part(c.code, '-', 2)::int AS i
FROM customers c WHERE c.code LIKE 'C_-%';
ALTER TABLE plan ADD recency int, ADD tickets int, ADD amount numeric;
UPDATE plan SET recency = CASE grp WHEN 'A' THEN 1 + i % 5 WHEN 'B' THEN 180 + (i % 3) * 10 ELSE 40 + i % 3 END,
                tickets = CASE grp WHEN 'A' THEN 24 + i % 3 WHEN 'B' THEN 1 + i % 2 ELSE 7 + i % 3 END,
                amount = CASE grp WHEN 'A' THEN 50 WHEN 'B' THEN 10 ELSE 30 END;
INSERT INTO sales (ticket_id, line_no, customer_id, product_id, store_id, date_id, quantity, amount)
SELECT 'T' || p.customer_id || '-' || t, 1, p.customer_id, (SELECT product_id FROM products), 1 + t % 3,
       to_char(date '2025-06-30' - p.recency - 3 * t, 'YYYYMMDD')::int, 1, p.amount
FROM plan p, generate_series(0, p.tickets - 1) t;
-- anonymous sales do not count
INSERT INTO sales (ticket_id, line_no, customer_id, product_id, store_id, date_id, quantity, amount)
SELECT 'ANON' || t, 1, NULL, (SELECT product_id FROM products), 1, 20250630, 1, 999 FROM generate_series(1, 5) t;
SELECT grp, avg(recency) AS r, avg(tickets) AS f, avg(tickets * amount) AS m FROM plan GROUP BY grp ORDER BY grp;

SELECT name, description, customers, recency_days, frequency, round(monetary::numeric, 2) AS monetary
FROM segment_customers(3, '2025-06-30');
-- each planted group is exactly one segment
SELECT p.grp, s.name, count(*) FROM plan p JOIN customers c USING (customer_id) JOIN segments s USING (segment_id)
GROUP BY 1, 2 ORDER BY 1;
-- as_of defaults to the last sale
SELECT name, customers FROM segment_customers(3) ORDER BY name;
-- re-running changes nothing: same segments, same ids, same customers
CREATE TEMP TABLE before AS SELECT c.customer_id, c.segment_id, s.name FROM customers c LEFT JOIN segments s USING (segment_id);
SELECT count(*) FROM segment_customers(3, '2025-06-30');
SELECT count(*) AS changed FROM customers c JOIN before b USING (customer_id)
WHERE c.segment_id IS DISTINCT FROM b.segment_id;
-- a customer without sales keeps the workbook's segment
SELECT c.code, s.name FROM customers c JOIN segments s USING (segment_id) WHERE c.code = 'NOSALES';
-- fewer segments: C is nearer A than B in every standardised feature, so
-- A and C (60 customers, mean spend 745) are rfm-1 and B is rfm-2; rfm-3
-- goes (nothing refers to it any more)
SELECT name, customers FROM segment_customers(2, '2025-06-30') ORDER BY name;
SELECT name FROM segments ORDER BY name;
-- errors: k < 1, more segments than distinct customers, no sales before as_of
SELECT pg_temp.try($$SELECT * FROM segment_customers(0)$$);
SELECT pg_temp.try($$SELECT * FROM segment_customers(500)$$);
SELECT pg_temp.try($$SELECT * FROM segment_customers(2, '2000-01-01')$$);
SELECT name FROM segments ORDER BY name;
-- not for PUBLIC: it writes segments and customers
CREATE ROLE regress_kmeans_user;
SET ROLE regress_kmeans_user;
SELECT pg_temp.try($$SELECT * FROM megamarket.segment_customers(2)$$);
SELECT size FROM megamarket.kmeans('VALUES (1, 1.0), (2, 2)', 1);
RESET ROLE;
DROP ROLE regress_kmeans_user;

DROP EXTENSION megamarket;
