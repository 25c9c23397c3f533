--
-- Issue 14's values: ST_Xstring escapes (_xHHHH_) in shared strings, inline
-- strings and header cells, and date-times rounded to the millisecond, in
-- workbooks written by xlsxwriter, openpyxl, pandas (both engines) and
-- LibreOffice (test/fixtures/xlsx/gen/make_values.py). The expected values
-- are the ones each producer was asked to write, spelt out here.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set vx :abs_srcdir '/test/fixtures/xlsx/values/'
\set vxw :vx 'values-xlsxwriter.xlsx'
\set vxl :vx 'values-libreoffice.xlsx'
CREATE EXTENSION megamarket;
CREATE SERVER vx FOREIGN DATA WRAPPER xlsx_fdw;

-- what each producer wrote (keys 3 and 4 only where it can: openpyxl, and so
-- pandas' openpyxl engine, refuses control characters and writes "_x0041_"
-- unescaped, which OOXML then reads as "A"; pandas' frames here leave them out)
CREATE TEMP TABLE want_text (clave int, texto text);
INSERT INTO want_text VALUES
    (1, E'a\rb\tc'), (2, E'l1\r\nl2'), (3, '_x0041_'), (4, E'ctl\x01x'),
    (5, 'plain_x_y'), (6, U&'caf\00E9 \+01F600');
CREATE TEMP TABLE want_time (clave int, momento timestamp, hora time);
INSERT INTO want_time VALUES
    (1, '2024-02-29 23:59:59', '23:59:59'),
    (2, '2024-03-10 13:45:30', '13:45:30'),
    (3, '2024-01-01 23:59:59.5', '23:59:59.5');

CREATE FUNCTION pg_temp.read(producer text)
RETURNS TABLE (clave int, texto text, total int, momento timestamp, momento_tz timestamptz, hora time, as_text text)
LANGUAGE plpgsql AS $$
DECLARE
    f text := current_setting('vx.dir') || 'values-' || producer || '.xlsx';
BEGIN
    EXECUTE format('CREATE FOREIGN TABLE pg_temp.t (clave int, texto text) SERVER vx OPTIONS (filename %L, sheet %L)', f, 'Textos');
    -- pandas' frame has no time-of-day column: its "hora" is read from no cell
    EXECUTE format('CREATE FOREIGN TABLE pg_temp.d (clave int, momento timestamp, hora time %s) SERVER vx OPTIONS (filename %L, sheet %L)',
                   CASE WHEN producer LIKE 'pandas%' THEN 'OPTIONS ("column" ''Z'')' ELSE '' END, f, 'Fechas');
    EXECUTE format('CREATE FOREIGN TABLE pg_temp.dz (clave int, momento timestamptz) SERVER vx OPTIONS (filename %L, sheet %L)', f, 'Fechas');
    EXECUTE format('CREATE FOREIGN TABLE pg_temp.dt (clave int, momento text) SERVER vx OPTIONS (filename %L, sheet %L)', f, 'Fechas');
    RETURN QUERY
        SELECT coalesce(t.clave, d.clave), t.texto, NULL::int, d.momento, dz.momento, d.hora, dt.momento
        FROM pg_temp.t FULL JOIN pg_temp.d USING (clave) LEFT JOIN pg_temp.dz USING (clave)
             LEFT JOIN pg_temp.dt USING (clave);
    DROP FOREIGN TABLE pg_temp.t, pg_temp.d, pg_temp.dz, pg_temp.dt;
END $$;
SELECT set_config('vx.dir', :'vx', false) IS NOT NULL AS dir_set;
SET timezone = 'UTC';

-- every text and time as written, per producer; only mismatches are listed
-- (LibreOffice stores a CR LF typed in a cell as LF: key 2 reads 'l1\nl2')
SELECT p AS producer, r.clave, r.texto, w.texto AS expected
FROM unnest(ARRAY['xlsxwriter', 'openpyxl', 'pandas-openpyxl', 'pandas-xlsxwriter', 'libreoffice']) p,
     LATERAL pg_temp.read(p) r JOIN want_text w USING (clave)
WHERE r.texto IS NOT NULL
  AND r.texto IS DISTINCT FROM (CASE WHEN p = 'libreoffice' AND clave = 2 THEN E'l1\nl2' ELSE w.texto END);
SELECT p AS producer, r.clave, r.momento, r.momento_tz, r.hora, r.as_text
FROM unnest(ARRAY['xlsxwriter', 'openpyxl', 'pandas-openpyxl', 'pandas-xlsxwriter', 'libreoffice']) p,
     LATERAL pg_temp.read(p) r JOIN want_time w USING (clave)
WHERE r.momento IS NOT NULL
  AND (r.momento <> w.momento OR r.momento_tz <> (w.momento AT TIME ZONE 'UTC')
       OR r.hora IS DISTINCT FROM (CASE WHEN p LIKE 'pandas%' THEN NULL ELSE w.hora END)
       OR r.as_text <> to_char(w.momento, 'YYYY-MM-DD HH24:MI:SS') || CASE WHEN clave = 3 THEN '.5' ELSE '' END);
-- and how many cells each producer gave (so an empty read cannot pass)
SELECT p AS producer, count(texto) AS texts, count(momento) AS moments, count(hora) AS hours
FROM unnest(ARRAY['xlsxwriter', 'openpyxl', 'pandas-openpyxl', 'pandas-xlsxwriter', 'libreoffice']) p,
     LATERAL pg_temp.read(p) r
GROUP BY p ORDER BY p;

-- a header written with an escape: xlsxwriter stores the literal header
-- text "Total_x0041_" as "Total_x005F_x0041_"; it matches as written
CREATE FOREIGN TABLE totals (clave int, "Total_x0041_" int)
    SERVER vx OPTIONS (filename :'vxw', sheet 'Textos');
SELECT * FROM totals ORDER BY clave;
CREATE FOREIGN TABLE totals_lo (clave int, "Total_x0041_" int)
    SERVER vx OPTIONS (filename :'vxl', sheet 'Textos');
SELECT sum("Total_x0041_") FROM totals_lo;

-- IMPORT FOREIGN SCHEMA names the column from the decoded header
CREATE SCHEMA imp;
IMPORT FOREIGN SCHEMA x LIMIT TO ("Textos") FROM SERVER vx INTO imp
    OPTIONS (filename :'vxw');
SELECT attname, atttypid::regtype FROM pg_attribute
WHERE attrelid = 'imp."Textos"'::regclass AND attnum > 0 ORDER BY attnum;
DROP SCHEMA imp CASCADE;
DROP SERVER vx CASCADE;
DROP EXTENSION megamarket;
