--
-- apriori() and frequent_itemsets(): a hand-checked textbook example; an
-- independent brute-force counter in SQL (self-joins and GROUP BY) as the
-- oracle on random data, itemset by itemset and rule by rule; input quirks;
-- bad input; the output and memory limits; cancellation; the demo table.
--
-- (quietly dropped first: sql/mining.sql, run before, leaves it installed)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS megamarket CASCADE;
RESET client_min_messages;
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

-- 1. The textbook example: J. Han, M. Kamber, J. Pei, "Data Mining: Concepts
-- and Techniques", 3rd ed., section 6.2.1, Table 6.1 (AllElectronics, nine
-- transactions) and Figure 6.2: at a minimum support count of 2 the frequent
-- itemsets are L1 = I1:6 I2:7 I3:6 I4:2 I5:2, L2 = {I1,I2}:4 {I1,I3}:4
-- {I1,I5}:2 {I2,I3}:4 {I2,I4}:2 {I2,I5}:2, L3 = {I1,I2,I3}:2 {I1,I2,I5}:2
-- (counted again by hand). Example 6.4: of the rules of {I1,I2,I5}, those
-- of confidence >= 70 % are I1^I5=>I2, I2^I5=>I1 and I5=>I1^I2 (100 % each).
CREATE TEMP TABLE allelectronics (tid text, item text);
INSERT INTO allelectronics VALUES
  ('T100','I1'),('T100','I2'),('T100','I5'), ('T200','I2'),('T200','I4'),
  ('T300','I2'),('T300','I3'), ('T400','I1'),('T400','I2'),('T400','I4'),
  ('T500','I1'),('T500','I3'), ('T600','I2'),('T600','I3'), ('T700','I1'),('T700','I3'),
  ('T800','I1'),('T800','I2'),('T800','I3'),('T800','I5'), ('T900','I1'),('T900','I2'),('T900','I3');
SELECT itemset, transactions, round(support::numeric, 4) AS support
FROM frequent_itemsets('SELECT tid, item FROM allelectronics', 2);
-- the same threshold as a fraction (2/9); rules of {I1,I2,I5} at 70 %
SELECT antecedent, consequent, transactions, confidence,
       round(lift::numeric, 4) AS lift   -- 1 / (count(consequent) / 9)
FROM apriori('SELECT tid, item FROM allelectronics', 2.0 / 9, 0.7)
WHERE antecedent || consequent @> ARRAY['I1','I2','I5']
ORDER BY antecedent, consequent;
-- all rules at confidence 0: 6 pairs x 2 + 2 triples x 6 = 24
SELECT count(*) FROM apriori('SELECT tid, item FROM allelectronics', 2, 0);

-- 2. Random data against a brute-force counter. 400 transactions over 12
-- items of uneven popularity (names chosen so that byte order differs from
-- other orders), rows in random order, about 10 % repeated, some NULL items
-- and some transactions whose only row has a NULL item (they count in N).
SELECT setseed(0.1234);
CREATE TEMP TABLE raw (tid integer, item text);
INSERT INTO raw
SELECT t, (ARRAY['b', 'B', 'a', 'ab', 'Zed', 'é', 'a b', '10', '9', 'x', 'y', 'z'])[i]
FROM generate_series(1, 400) t, generate_series(1, 12) i
WHERE random() < 0.55 / sqrt(i) + 0 * t;   -- "+ 0 * t": drawn per row, not once per item
INSERT INTO raw SELECT tid, item FROM raw WHERE random() < 0.1;           -- repeats
INSERT INTO raw SELECT t, NULL FROM generate_series(1, 420, 7) t;          -- NULL items, 20 new tids
CREATE TEMP TABLE data AS SELECT * FROM raw ORDER BY random();
SELECT count(*) AS rows, count(DISTINCT tid) AS transactions, count(*) - count(item) AS null_items FROM data;

-- The oracle: every itemset of up to 3 items by self-joins of the distinct
-- (transaction, item) pairs, sorted bytewise (COLLATE "C"), with its count.
CREATE TEMP TABLE brute AS
WITH d AS (SELECT DISTINCT tid, item COLLATE "C" AS item FROM data WHERE item IS NOT NULL)
SELECT ARRAY[a.item] AS s, count(*) AS c FROM d a GROUP BY 1
UNION ALL
SELECT ARRAY[a.item, b.item], count(*) FROM d a JOIN d b ON a.tid = b.tid AND a.item < b.item GROUP BY 1
UNION ALL
SELECT ARRAY[a.item, b.item, c.item], count(*)
FROM d a JOIN d b ON a.tid = b.tid AND a.item < b.item JOIN d c ON c.tid = a.tid AND b.item < c.item
GROUP BY 1;
CREATE TEMP TABLE n AS SELECT count(DISTINCT tid)::float8 AS n FROM data;

-- Itemsets at several thresholds (fractions and counts): the rows that differ
-- (expected none), and how many there are.
CREATE FUNCTION pg_temp.itemsets_differ(thr float8) RETURNS TABLE (threshold float8, differ bigint, itemsets bigint)
LANGUAGE sql AS $$
    WITH f AS (SELECT itemset::text[] COLLATE "C" AS s, transactions AS c, support
               FROM megamarket.frequent_itemsets('SELECT tid, item FROM data', thr, 3)),
         b AS (SELECT brute.s, brute.c FROM brute, n
               WHERE CASE WHEN thr < 1 THEN brute.c / n.n >= thr ELSE brute.c >= thr END)
    SELECT thr,
           (SELECT count(*) FROM f FULL JOIN b USING (s)
            WHERE f.c IS DISTINCT FROM b.c OR abs(f.support - b.c / (SELECT n FROM n)) > 1e-15),
           (SELECT count(*) FROM f)
$$;
SELECT * FROM pg_temp.itemsets_differ(0.3)
UNION ALL SELECT * FROM pg_temp.itemsets_differ(0.1)
UNION ALL SELECT * FROM pg_temp.itemsets_differ(0.05)
UNION ALL SELECT * FROM pg_temp.itemsets_differ(0.01)
UNION ALL SELECT * FROM pg_temp.itemsets_differ(25)
UNION ALL SELECT * FROM pg_temp.itemsets_differ(2);

-- Rules: from the brute-force itemsets, every split into antecedent and
-- consequent (bit masks over the sorted itemset), confidence and lift
-- computed here; compared with apriori() rule by rule.
CREATE FUNCTION pg_temp.rules_differ(thr float8, conf float8, minlift float8)
RETURNS TABLE (threshold float8, differ bigint, rules bigint)
LANGUAGE sql AS $$
    WITH fz AS (SELECT brute.s, brute.c FROM brute, n
                WHERE CASE WHEN thr < 1 THEN brute.c / n.n >= thr ELSE brute.c >= thr END),
         split AS (
            SELECT fz.s, fz.c,
                   ARRAY(SELECT fz.s[i] FROM generate_subscripts(fz.s, 1) i WHERE (m >> (i - 1)) & 1 = 1) AS x,
                   ARRAY(SELECT fz.s[i] FROM generate_subscripts(fz.s, 1) i WHERE (m >> (i - 1)) & 1 = 0) AS y
            FROM fz, generate_series(1, (1 << cardinality(fz.s)) - 2) m
            WHERE cardinality(fz.s) >= 2),
         b AS (
            SELECT split.x, split.y, split.c,
                   split.c::float8 / bx.c AS confidence,
                   (split.c::float8 / bx.c) / (by.c / (SELECT n FROM n)) AS lift
            FROM split JOIN brute bx ON bx.s = split.x JOIN brute by ON by.s = split.y),
         bf AS (SELECT * FROM b WHERE b.confidence >= conf AND b.lift >= minlift),
         a AS (SELECT antecedent::text[] COLLATE "C" AS x, consequent::text[] COLLATE "C" AS y,
                      transactions AS c, confidence, lift, support
               FROM megamarket.apriori('SELECT tid, item FROM data', thr, conf, 3, minlift))
    SELECT thr,
           (SELECT count(*) FROM a FULL JOIN bf USING (x, y)
            WHERE a.c IS DISTINCT FROM bf.c OR abs(a.confidence - bf.confidence) > 1e-15
               OR abs(a.lift - bf.lift) > 1e-12 * bf.lift OR abs(a.support - bf.c / (SELECT n FROM n)) > 1e-15),
           (SELECT count(*) FROM a)
$$;
SELECT * FROM pg_temp.rules_differ(0.1, 0.5, 0)
UNION ALL SELECT * FROM pg_temp.rules_differ(0.05, 0.2, 1.0)
UNION ALL SELECT * FROM pg_temp.rules_differ(0.02, 0, 0)
UNION ALL SELECT * FROM pg_temp.rules_differ(10, 0.6, 1.2);

-- Item arrays are sorted bytewise, and the rows come by length, then items
SELECT bool_and(itemset::text[] COLLATE "C" = ARRAY(SELECT unnest(itemset) COLLATE "C" ORDER BY 1)) AS sorted
FROM frequent_itemsets('SELECT tid, item FROM data', 0.02, 3);
SELECT itemset FROM frequent_itemsets('SELECT tid, item FROM data', 0.2, 1);

-- 3. Input quirks. Items of any type are compared as their text: 10 < 9,
-- 1.0 and 1.00 are two items; transactions of any type (here dates).
SELECT itemset, transactions FROM frequent_itemsets($$VALUES (1, 9), (1, 10), (2, 10), (2, 9)$$, 2);
SELECT itemset, transactions FROM frequent_itemsets($$VALUES (1, 1.0), (2, 1.00), (3, 1.0)$$, 1);
SELECT itemset, transactions FROM frequent_itemsets(
    $$VALUES ('2025-01-01'::date, true), ('2025-01-02', false), ('2025-01-02', true)$$, 1, 2);
-- a repeated pair counts once; a NULL item is ignored, its transaction counts
SELECT itemset, support, transactions FROM frequent_itemsets(
    $$VALUES (1, 'milk'), (1, 'milk'), (1, 'milk'), (2, NULL), (3, 'milk'), (3, NULL)$$, 1);
-- transactions of one row only, or only NULL items: no itemsets, no error
SELECT count(*) FROM frequent_itemsets($$VALUES (1, NULL::text), (2, NULL)$$, 0.5);
SELECT count(*) FROM apriori($$VALUES (1, 'a'), (2, 'b')$$, 0.5);
-- max_length 1: no rules; a threshold above N: nothing
SELECT count(*) FROM apriori('SELECT tid, item FROM allelectronics', 2, 0, 1);
SELECT count(*) FROM frequent_itemsets('SELECT tid, item FROM allelectronics', 10);
-- column names and types do not matter; domains and arrays as items
CREATE DOMAIN pg_temp.sku AS text CHECK (VALUE <> '');
SELECT itemset FROM frequent_itemsets($$SELECT 1::bigint AS x, 'p'::pg_temp.sku AS y UNION ALL SELECT 1, 'q'$$, 1);
SELECT itemset FROM frequent_itemsets($$VALUES (1, ARRAY[1,2]), (1, ARRAY[3])$$, 1);

-- 4. Bad input: clear errors, nothing run.
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 0)$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', -0.5)$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 'NaN')$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 'Infinity')$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 0.1, 1.5)$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 0.1, -0.1)$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 0.1, 'NaN')$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 0.1, 0.5, 0)$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 0.1, 0.5, 3, -1)$$);
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT tid, item FROM data', 0.1, max_itemsets => 0)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT tid, item FROM data', 0.1, -3)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT tid FROM data', 0.1)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT tid, item, 1 FROM data', 0.1)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT tid, item FROM data WHERE false', 0.1)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets($q$VALUES (1, 'a'), (NULL, 'b')$q$, 0.1)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELEC 1', 0.1)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('', 0.1)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT 1, 2; SELECT 3, 4', 0.1)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT tid, item FROM no_such_table', 0.1)$$);
CREATE TEMP TABLE victim (tid int, item text);
INSERT INTO victim VALUES (1, 'a');
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('INSERT INTO victim VALUES (2, ''b'') RETURNING tid, item', 0.1)$$);
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d', 0.1)$$);
SELECT * FROM victim;
-- NULL arguments: the functions are strict
SELECT count(*) FROM frequent_itemsets(NULL, 0.1);
SELECT count(*) FROM apriori('SELECT tid, item FROM data', NULL);

-- The caller's rights: a role that may not read a table cannot mine it.
CREATE ROLE regress_apriori_reader;
CREATE TABLE public.apriori_secret AS SELECT * FROM allelectronics;
GRANT USAGE ON SCHEMA public TO regress_apriori_reader;
SET ROLE regress_apriori_reader;
SELECT pg_temp.try($$SELECT * FROM megamarket.frequent_itemsets('SELECT tid, item FROM public.apriori_secret', 2)$$);
RESET ROLE;
GRANT SELECT ON public.apriori_secret TO regress_apriori_reader;
SET ROLE regress_apriori_reader;
SELECT count(*) FROM megamarket.frequent_itemsets('SELECT tid, item FROM public.apriori_secret', 2);
-- refreshing the demo table is not for everyone
SELECT pg_temp.try($$SELECT megamarket.refresh_product_associations()$$);
RESET ROLE;
DROP TABLE public.apriori_secret;
REVOKE USAGE ON SCHEMA public FROM regress_apriori_reader;
DROP ROLE regress_apriori_reader;

-- 5. The output limit: 16 items always bought together make 2^16 - 1 =
-- 65535 frequent itemsets; max_itemsets 1000 stops the search with 54000,
-- saying how many it had reached; raising it lets it finish.
CREATE TEMP TABLE together AS
SELECT t, 'p' || lpad(i::text, 2, '0') AS item FROM generate_series(1, 3) t, generate_series(1, 16) i;
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT * FROM together', 1, 16, max_itemsets => 1000)$$);
SELECT count(*) FROM frequent_itemsets('SELECT * FROM together', 1, 16, max_itemsets => 70000);
-- rules count against the same limit
SELECT pg_temp.try($$SELECT * FROM apriori('SELECT * FROM together', 1, 0, 3, max_itemsets => 1000)$$);
-- default limit 1,000,000: 20 items together (2^20 - 1 itemsets) stop
SELECT pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT t, i FROM generate_series(1, 3) t, generate_series(1, 20) i', 1, 20)$$);

-- The memory budget: 64 kB cannot hold 20,000 transactions.
SET megamarket.mining_max_memory = '64kB';
SELECT regexp_replace(pg_temp.try($$SELECT * FROM frequent_itemsets('SELECT g, g % 7 FROM generate_series(1, 20000) g', 0.1)$$),
                      'needs \d+ bytes more, \d+ are in use', 'needs N bytes more, M are in use');  -- sizes of our structs
RESET megamarket.mining_max_memory;
SELECT count(*) FROM frequent_itemsets('SELECT g, g % 7 FROM generate_series(1, 20000) g', 0.1);

-- 6. Cancellation, while mining: 26 items always together ask for 2^26 - 1
-- itemsets (more than the memory allows, which would take seconds to
-- reach); statement_timeout stops it first, and the session goes on.
SET megamarket.mining_max_memory = '2GB';
SET statement_timeout = '200ms';
SELECT count(*) FROM frequent_itemsets('SELECT t, i FROM generate_series(1, 3) t, generate_series(1, 26) i',
                                       1, 26, max_itemsets => 1000000000000);
RESET statement_timeout;
RESET megamarket.mining_max_memory;
-- and while reading
SET statement_timeout = '200ms';
SELECT count(*) FROM frequent_itemsets('SELECT g / 8, g % 500 FROM generate_series(1, 1000000000) g', 0.01);
RESET statement_timeout;
SELECT count(*) FROM frequent_itemsets('SELECT tid, item FROM allelectronics', 2);

-- 7. The demo: products bought together over the warehouse's tickets.
-- Ten tickets: bread and milk together in six (bread alone in one more),
-- wine in four, two of them with cheese.
SELECT fill_dates('2025-01-01', '2025-01-31');
SELECT add_months('2025-01-01', '2025-01-31') > 0 AS partitions_made;  -- the facts' month partitions
INSERT INTO departments (name) VALUES ('Alimentación');
INSERT INTO categories (name, department_id) SELECT 'Básicos', department_id FROM departments;
INSERT INTO products (sku, name, category_id, price)
SELECT sku, name, (SELECT category_id FROM categories), 1
FROM (VALUES ('PAN-001', 'Pan de molde'), ('LAC-001', 'Leche entera'),
             ('VIN-001', 'Vino tinto'), ('QUE-001', 'Queso curado')) v(sku, name);
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
SELECT t.ticket, t.line, p.product_id, 1, 20250110, 1, 1
FROM (VALUES ('1', 1, 'PAN-001'), ('1', 2, 'LAC-001'), ('2', 1, 'PAN-001'), ('2', 2, 'LAC-001'),
             ('3', 1, 'LAC-001'), ('3', 2, 'PAN-001'), ('4', 1, 'PAN-001'), ('4', 2, 'LAC-001'),
             ('5', 1, 'PAN-001'), ('5', 2, 'LAC-001'), ('5', 3, 'VIN-001'),
             ('6', 1, 'PAN-001'), ('6', 2, 'LAC-001'), ('6', 3, 'VIN-001'), ('6', 4, 'QUE-001'),
             ('7', 1, 'PAN-001'), ('8', 1, 'VIN-001'), ('8', 2, 'QUE-001'), ('9', 1, 'VIN-001'),
             ('10', 1, 'QUE-001')) t(ticket, line, sku)
JOIN products p USING (sku);
-- at 20 % support (2 tickets), 60 % confidence, lift >= 1
SELECT refresh_product_associations(0.2, 0.6, 3, 1);
SELECT antecedent, consequent, antecedent_skus, tickets, support, round(confidence::numeric, 4) AS confidence,
       round(lift::numeric, 4) AS lift
FROM product_associations ORDER BY antecedent_skus, consequent_skus;
SELECT from_date, to_date, min_support, min_confidence, max_length, min_lift, rules
FROM product_association_refreshes;
-- refreshing replaces the rules; a date window with no sales is an error
SELECT refresh_product_associations(0.5, 0.5);
SELECT count(*) FROM product_associations;
SELECT pg_temp.try($$SELECT refresh_product_associations(from_date => '2024-01-01', to_date => '2024-12-31')$$);
SELECT count(*) FROM product_associations;
DROP EXTENSION megamarket;
