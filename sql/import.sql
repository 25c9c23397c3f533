--
-- import_workbook()'s helpers and its argument checks. The values here were
-- worked out by hand (and the SHA-256 with coreutils' sha256sum), not read off
-- our output. The import itself is tested against workbooks with a planted
-- truth in test/t/004_import.pl.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx :abs_srcdir '/test/fixtures/xlsx/'
\set hostile :abs_srcdir '/test/fixtures/hostile/'
\set types :fx 'types-xlsxwriter.xlsx'
CREATE EXTENSION megamarket;
SET search_path = megamarket, public;

-- An error as SQLSTATE, message, detail and hint, the fixture directory masked.
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
    h text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '"/[^"]*/', '".../', 'g')
        || coalesce(' DETAIL: ' || nullif(regexp_replace(d, '"/[^"]*/', '".../', 'g'), ''), '')
        || coalesce(' HINT: ' || nullif(h, ''), '');
END
$$;

-- clean_text: white space around (no-break space too) goes; nothing left is NULL
SELECT v, clean_text(v) AS cleaned, clean_text(v) IS NULL AS is_null
FROM (VALUES ('  Sofía Martín'), (E'\tMadrid\n'), (E'\u00a0Norte\u00a0'), ('a  b'),
             ('   '), (''), (E'\u00a0')) AS t(v);

-- parse_decimal: exact, decimal point or comma, no thousands separators
SELECT v, parse_decimal(v) AS n
FROM (VALUES ('12.50'), ('12,50'), (' -3 '), ('+5'), ('0.1'), ('1.5E-3'), ('4.5e+4'),
             ('2500,00'), ('100001'), ('9,58,5'), ('1.234,50'), ('1 234'), ('dos'),
             ('.5'), ('5.'), ('1,5E3'), ('1e'), ('1e1000'), ('--1'), ('0x10'), ('')) AS t(v);
-- the largest exponent taken, and a digit string too long to be a quantity
SELECT parse_decimal('1e999') = 10::numeric ^ 999 AS e999,
       parse_decimal(repeat('9', 200)) IS NULL AS long_null,
       parse_decimal(repeat('9', 100)) = 10::numeric ^ 100 - 1 AS hundred_nines;

-- parse_integer: parse_decimal's value when whole and within bigint, else NULL
SELECT v, parse_integer(v) AS i
FROM (VALUES ('12'), (' -3 '), ('+5'), ('12,00'), ('12.0'), ('12.50'), ('12.'), ('1.5E3'),
             ('1.5E-3'), ('1e18'), ('9223372036854775807'), ('9223372036854775808'),
             ('-9223372036854775808'), ('-9223372036854775809'), ('000000000000000000007'),
             ('-0'), ('1,5E3'), ('dos'), ('')) AS t(v);
-- the same as the formula on parse_decimal, on every text below: digits of
-- every length to 25, with signs, separators, zeros, exponents and blanks
WITH parts AS (
    SELECT s FROM unnest(ARRAY['', '-', '+', ' ']) AS s),
     bodies AS (
    SELECT b FROM unnest(ARRAY['0', '7', '00', '10', '123', '4294967296', '922337203685477580',
                               '9223372036854775807', '9223372036854775808', '99999999999999999999',
                               '1234567890123456789012345', '1.0', '1,00', '1.5', '1.', '1.0E2',
                               '1.5E1', '1.25E1', '5E-1', '1E19', '9.223372036854775807E18',
                               '0.000', ',0', 'x', '1e', '1 0']) AS b),
     digits AS (
    SELECT repeat('9', k) AS b FROM generate_series(1, 25) AS k
    UNION ALL SELECT '1' || repeat('0', k) FROM generate_series(1, 25) AS k),
     texts AS (
    SELECT p.s || b.b || t.s AS v FROM parts p, (SELECT b FROM bodies UNION ALL SELECT b FROM digits) b, parts t)
SELECT count(*) AS texts,
       count(*) FILTER (WHERE parse_integer(v) IS DISTINCT FROM
                              CASE WHEN parse_decimal(v) = trunc(parse_decimal(v))
                                    AND parse_decimal(v) BETWEEN -9223372036854775808 AND 9223372036854775807
                                   THEN parse_decimal(v)::bigint END) AS differ
FROM texts;

-- parse_decimal against PostgreSQL's own numeric input (value and scale,
-- compared as text), on every text it takes among these: the family above
-- and decimals of up to 25 digits, leading zeros and signs (up to 18 digits
-- and no exponent it builds the numeric itself, else numeric_in does)
WITH parts AS (
    SELECT s FROM unnest(ARRAY['', '-', '+', ' ']) AS s),
     bodies AS (
    SELECT b FROM unnest(ARRAY['0', '7', '00', '10', '123', '0.5', '12.50', '12,50', '0.000', '-0.0',
                               '1.0', '1,00', '1.5', '1.0E2', '1.5E1', '1.25E1', '5E-1', '1E19',
                               '9.223372036854775807E18', '99999999.99', '0.000000000000000001',
                               '00000000000000000012.5', '9999999999999999.99', '999999999999999999.9']) AS b
    UNION ALL SELECT repeat('9', k) || '.' || repeat('9', j) FROM generate_series(1, 20) AS k, generate_series(1, 5) AS j
    UNION ALL SELECT '1' || repeat('0', k) || ',' || repeat('0', j) || '1' FROM generate_series(1, 20) AS k, generate_series(0, 3) AS j),
     texts AS (
    SELECT p.s || b.b || t.s AS v FROM parts p, bodies b, parts t)
SELECT count(*) AS taken,
       count(*) FILTER (WHERE x.d::text <> replace(btrim(x.v), ',', '.')::numeric::text) AS differ
FROM (SELECT v, parse_decimal(v) AS d FROM texts OFFSET 0) AS x
WHERE x.d IS NOT NULL;

-- parse_day: a date cell read as text (ISO, a time dropped) or dd/mm/yyyy text
SELECT v, parse_day(v) AS d
FROM (VALUES ('2024-02-29'), ('2023-02-29'), ('2024-01-05 13:45:00'), ('28/01/2023'),
             ('1/2/2024'), ('31/02/2024'), ('00/05/2024'), ('32/01/2023'), ('29/02/1900'),
             ('28/01/23'), ('2023/01/28'), ('1899-12-31'), ('1900-01-01'), ('2999-12-31'),
             ('3000-01-01'), ('ayer'), ('45000'), (' 05/06/2024 '), ('05/06/2024x'), (''),
             ('20230128'), ('20240229'), ('20230229'), ('2023012'), ('202301280'), ('19991301'),
             ('03/04/2025'), ('04/15/2025')) AS t(v);

-- header_key: how headers are matched (as xlsx_fdw does)
SELECT v, header_key(v) FROM (VALUES ('Segmento objetivo'), ('CATEGORÍA'), ('Línea'),
                                     ('Campaña'), ('segmento_objetivo'), (E'Fecha\u00a0')) AS t(v);

-- header_distance: edit distance of the header keys
SELECT left(a, 20) AS a, length(a) AS len, b, header_distance(a, b)
FROM (VALUES ('Importe total', 'Importe'), ('CATEGORÍA', 'categoria'), ('Fecha', 'Fechas'),
             ('', 'abc'), (repeat('x', 300), 'x')) AS t(a, b);

-- the shared definitions (src/warehouse/definitions.sql)
SELECT key_max_length(),
       is_store_code('NORTE') AS norte, is_store_code('norte') AS lower, is_store_code('') AS empty,
       is_store_code(repeat('A', 32)) AS a32, is_store_code(repeat('A', 33)) AS a33,
       is_sku('LAC-001') AS sku, is_sku('LAC 001') AS sku_space, is_sku('a.b_c-1') AS sku_marks,
       date_id('2025-01-31') AS jan31, date_id('1900-01-01') AS first, date_id('2999-12-31') AS last,
       date_id(NULL) IS NULL AS strict;
-- date_id in C against the formula it stands for, on every day of 1900-2999
-- and days far before and after; an infinite day is NULL both ways, a key
-- past integer an error
SELECT count(*) AS days,
       count(*) FILTER (WHERE date_id(d) IS DISTINCT FROM
                              (date_part('year', d) * 10000 + date_part('month', d) * 100
                               + date_part('day', d))::integer) AS differ
FROM (SELECT d::date FROM generate_series(date '1900-01-01', date '2999-12-31', interval '1 day') AS d
      UNION ALL
      SELECT date '0001-01-01' + k * 997 FROM generate_series(-1700, 1000) AS k
      UNION ALL
      VALUES (date '4713-01-01 BC'), (date '0001-12-31 BC'), (date '0001-01-01'), (date '214748-12-31')) AS t(d);
SELECT date_id('infinity') AS infinity, date_id('-infinity') AS minus_infinity;
SELECT date_id('214749-01-01');
SELECT (date_part('year', date 'infinity') * 10000 + date_part('month', date 'infinity') * 100
        + date_part('day', date 'infinity'))::integer AS the_formula;

SELECT n, column_letters(n) FROM (VALUES (1), (26), (27), (52), (702), (703), (16384)) AS t(n);
SELECT column_letters(0);
SELECT column_letters(16385);

-- file_fingerprint: size and SHA-256 as stat and sha256sum give them
SELECT size, sha256, modified IS NOT NULL AS has_mtime FROM file_fingerprint(:'types');
SELECT pg_temp.try(format('SELECT file_fingerprint(%L)', f))
FROM (VALUES (:'fx' || 'no-such.xlsx'), (:'fx')) AS t(f);

-- _import_key_repeats, the duplicate rule's first pass. Planted truth: the
-- keys (x % 1000, x % 7) over 100,000 rows take 7,000 values (1000 and 7 are
-- coprime), so 93,000 rows repeat an earlier key; NULLs equal each other, as
-- in GROUP BY (keys 1, 2, NULL over 10 rows: 7 repeats); each statement, and
-- each call site, starts empty
SELECT count(*) FILTER (WHERE _import_key_repeats(x % 1000, (x % 7)::text)) AS repeats
FROM generate_series(1, 100000) AS x;
SELECT count(*) FILTER (WHERE _import_key_repeats(NULLIF(x % 3, 0), 'a'::text)) AS repeats
FROM generate_series(1, 10) AS x;
SELECT count(*) FILTER (WHERE _import_key_repeats(x)) AS first,
       count(*) FILTER (WHERE _import_key_repeats(x, x)) AS second
FROM generate_series(1, 5) AS x;
-- over its budget (work_mem: 8 bytes a slot, at most half full) it answers
-- true for every later key: 64 kB holds 4,096 keys, so of 100,000 rows with
-- 50,000 keys the first 4,096 pass and the other 95,904 are candidates
SET work_mem = '64kB';
SELECT count(*) FILTER (WHERE _import_key_repeats(x % 50000, 1)) AS candidates
FROM generate_series(1, 100000) AS x;
RESET work_mem;
SELECT _import_key_repeats(point '(1,2)');
-- _import_row_hash, the month fingerprints of the fact load. Hand-checked
-- truth: equal rows hash alike under one seed (1.5 and 1.50 are one number;
-- two NULLs are equal); a value in another column, a NULL for a value,
-- trailing blanks, another seed, each hash otherwise; 100,000 distinct rows
-- give 100,000 distinct hashes; a NULL seed and a type without a hash fail
SELECT _import_row_hash(7, 'T-1'::text, 1, 1.5::numeric) = _import_row_hash(7, 'T-1'::text, 1, 1.50::numeric(12,2)) AS same_number,
       _import_row_hash(7, NULL::int, NULL::int) = _import_row_hash(7, NULL::int, NULL::int) AS same_nulls,
       _import_row_hash(7, 1, NULL::int) = _import_row_hash(7, NULL::int, 1) AS swapped,
       _import_row_hash(7, 'a'::text, 0) = _import_row_hash(7, 'a'::text, NULL::int) AS null_for_zero,
       _import_row_hash(7, 'a'::text) = _import_row_hash(7, 'a '::text) AS trailing_blank,
       _import_row_hash(7, 'a'::text) = _import_row_hash(8, 'a'::text) AS other_seed;
SELECT count(DISTINCT _import_row_hash(42, 'T-' || (x / 4), x % 4 + 1, (x % 100)::numeric)) AS distinct_hashes
FROM generate_series(1, 100000) AS x;
SELECT _import_row_hash(NULL, 1);
SELECT _import_row_hash(1, point '(1,2)');
-- the rule on a stage: each key three times, so 60,000 later rows are
-- duplicates; key 5's rows hold 'other', 'same', 'other' (x = 5, 30005,
-- 60005): one duplicate_key, and 59,999 duplicate_row. The same with the
-- first pass over its budget from the 4,097th key (more candidates, the same
-- marks: the candidates are compared exactly)
CREATE TEMP TABLE mm_dupcheck AS
SELECT x AS _row, (x % 30000)::text AS k_v, 1 AS l_v,
       CASE WHEN x % 60000 = 5 THEN 'other' ELSE 'same' END AS v_v,
       (x % 30000)::text AS k_raw, NULL::text[] AS err
FROM generate_series(1, 90000) AS x;
SELECT _import_duplicates('mm_dupcheck', 'k_v, l_v', 'v_v', 'k', 'k_raw');
SELECT err[1] AS reason, count(*), min(_row), max(_row) FROM pg_temp.mm_dupcheck GROUP BY 1 ORDER BY 1;
CREATE TEMP TABLE mm_dupcheck_marks AS SELECT _row, err FROM pg_temp.mm_dupcheck;
UPDATE pg_temp.mm_dupcheck SET err = NULL;
SET work_mem = '64kB';
SELECT _import_duplicates('mm_dupcheck', 'k_v, l_v', 'v_v', 'k', 'k_raw');
RESET work_mem;
SELECT count(*) AS rows, count(*) FILTER (WHERE m.err IS DISTINCT FROM d.err) AS differ
FROM pg_temp.mm_dupcheck d JOIN pg_temp.mm_dupcheck_marks m USING (_row);
DROP TABLE pg_temp.mm_dupcheck, pg_temp.mm_dupcheck_marks;

-- the format and the mapping table
SELECT sheet, load_order, loads FROM import_sheets ORDER BY load_order;
SELECT sheet, string_agg(field || CASE WHEN required THEN '*' ELSE '' END, ', ' ORDER BY position)
FROM import_fields GROUP BY sheet ORDER BY min(position), sheet;
-- a name means one thing: two sheets cannot share one, nor two columns of a sheet
INSERT INTO import_names (sheet, field, name) VALUES ('products', NULL, 'VENTAS');
INSERT INTO import_names (sheet, field, name) VALUES ('sales', 'amount', 'fecha');
INSERT INTO import_names (sheet, field, name) VALUES ('sales', 'nonsense', 'X');
INSERT INTO import_names (sheet, field, name) VALUES ('sales', 'amount', '  ');

-- bad arguments: errors that name the problem; nothing is logged
SELECT * FROM import_workbook(:'types', '[]');
SELECT * FROM import_workbook(:'types', '{"dryrun": true}');
SELECT * FROM import_workbook(:'types', '{"dry_run": "yes"}');
SELECT * FROM import_workbook(:'types', '{"sheets": "Ventas"}');
SELECT * FROM import_workbook(:'types', '{"sheets": ["Ventas", 3]}');
SELECT * FROM import_workbook(:'types', '{"max_rejects": -1}');
SELECT * FROM import_workbook(:'types', '{"max_rejects": 1.5}');
SELECT * FROM import_workbook(:'types', '{"max_reject_ratio": 2}');
SELECT * FROM import_workbook(:'types', '{"sheets": ["Inventario"]}');
SELECT * FROM import_workbook(NULL);
SELECT * FROM import_preview(NULL);
-- the preview of a workbook without the chain's sheets: what it has and lacks
SELECT sheet, kind, "column", header, field, samples, note, closest_header, closest_names, fix
FROM import_preview(:'types') ORDER BY sheet NULLS LAST, kind, "column", field NULLS FIRST;
SELECT count(*) AS runs_after_preview FROM import_runs;
SELECT f, pg_temp.try(format('SELECT import_workbook(%L)', :'hostile' || f))
FROM (VALUES ('no-such.xlsx'), ('text-renamed.xlsx'), ('truncated-half.xlsx'),
             ('encrypted.xlsx'), ('zip-bomb.xlsx'), ('billion-laughs.xlsx'),
             ('empty.xlsx')) AS t(f);
-- the preview fails as the import does, with the same errors
SELECT f, pg_temp.try(format('SELECT import_preview(%L)', :'hostile' || f))
FROM (VALUES ('no-such.xlsx'), ('text-renamed.xlsx'), ('truncated-half.xlsx'),
             ('encrypted.xlsx'), ('zip-bomb.xlsx'), ('billion-laughs.xlsx'),
             ('empty.xlsx')) AS t(f);
SELECT count(*) AS runs FROM import_runs;

-- least privilege
CREATE ROLE import_nobody;
SET ROLE import_nobody;
SELECT * FROM megamarket.import_workbook(:'types');
SELECT * FROM megamarket.import_preview(:'types');
SELECT * FROM megamarket.file_fingerprint(:'types');
SELECT * FROM megamarket.xlsx_sheets(:'types');
SELECT megamarket.import_activity('nothing to see here');
SELECT megamarket.parse_day('28/01/2023'), megamarket.clean_text(' x ');
SELECT megamarket._import_key_repeats(1);
SELECT megamarket._import_row_hash(1, 1);
RESET ROLE;
DROP ROLE import_nobody;

DROP EXTENSION megamarket;
