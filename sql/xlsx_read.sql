--
-- Reading real workbooks. The values checked here are the ones written by
-- hand in test/fixtures/xlsx/expected-values-types.md (not read off our
-- output); the same content comes from several producers.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set fx :abs_srcdir '/test/fixtures/xlsx/'
\set hostile :abs_srcdir '/test/fixtures/hostile/'
\set types :fx 'types-xlsxwriter.xlsx'
\set sheets :fx 'sheets-xlsxwriter.xlsx'
CREATE EXTENSION megamarket;
CREATE SERVER fx FOREIGN DATA WRAPPER xlsx_fdw;

SELECT position, name, visibility, dimension IS NOT NULL AS has_dimension
FROM megamarket.xlsx_sheets(:'types');

-- typed columns, matched to the header ignoring case and accents
CREATE FOREIGN TABLE ventas (ticket text, fecha timestamp, sucursal text, producto text,
    cantidad integer, importe numeric, pagado boolean, nota text)
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
-- numbers exactly as written (0.1, not 0.1000000000000000055), the leap day,
-- serial 1 and 61 around Lotus' 1900-02-29, rich text joined, an error cell NULL
SELECT * FROM ventas;

-- each producer's file gives the same hand-checked values (exceljs is known
-- to write 1900-01-01 as serial 2, i.e. 1900-01-02: its row 5 differs, as
-- test/fixtures/xlsx/expected-values-types.md records)
CREATE FUNCTION pg_temp.check_producer(f text) RETURNS TABLE (producer text, ok boolean, wrong text[])
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE FOREIGN TABLE pg_temp.v (ticket text, fecha text, sucursal text, producto text, importe numeric)
                    SERVER fx OPTIONS (filename %L, sheet %L)', f, 'Ventas');
    RETURN QUERY
    WITH want(ticket, fecha, sucursal, importe) AS (VALUES
        ('1', '2024-02-28', 'Peñalolén', 1234.56),
        ('2', '2024-02-29', 'Ñandú', 0.1),
        ('3', '2024-03-01', NULL, -7.5),
        ('9007199254740993', '1900-01-01', 'Negrita normal', 19.99),
        ('5', '1900-03-01', 'Ñuñoa', 0.25)),
    bad AS (SELECT w.ticket FROM want w LEFT JOIN pg_temp.v g ON g.ticket = w.ticket
            WHERE g.ticket IS NULL OR left(g.fecha, 10) IS DISTINCT FROM w.fecha
               OR (w.sucursal IS NOT NULL AND g.sucursal IS DISTINCT FROM w.sucursal)
               OR round(g.importe, 10) IS DISTINCT FROM w.importe)
    SELECT regexp_replace(f, '.*/types-(.*)\.xlsx', '\1'), count(*) = 0, array_agg(ticket) FILTER (WHERE ticket IS NOT NULL) FROM bad;
    DROP FOREIGN TABLE pg_temp.v;
END $$;
SELECT c.* FROM unnest(ARRAY['xlsxwriter', 'libxlsxwriter', 'openpyxl', 'exceljs', 'exceljs-stream', 'gnumeric', 'libreoffice']) p,
     LATERAL pg_temp.check_producer(:'fx' || 'types-' || p || '.xlsx') c;

-- date columns: whole serials (the common cell) become the day straight from
-- the number, the rest (serials up to 60, fractions) through the general
-- path; the same hand-checked days either way (serial 1 is 1900-01-01, 61 is
-- 1900-03-01, the first the direct path takes), in both date systems
-- (test/fixtures/xlsx/expected-values-types*.md; a date-time keeps its day)
CREATE FOREIGN TABLE ventas_d (ticket text, fecha date)
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
SELECT ticket, fecha FROM ventas_d ORDER BY fecha;
\set t1904 :fx 'types1904-xlsxwriter.xlsx'
CREATE FOREIGN TABLE fechas1904 (r int OPTIONS (row_number 'true'), fecha date)
    SERVER fx OPTIONS (filename :'t1904', sheet 'Fechas', range 'A1:A8');
SELECT r, fecha FROM fechas1904 ORDER BY r;

-- a length is the type's: char(n) pads, varchar(n) refuses what is longer
-- (the input function, as COPY would)
CREATE FOREIGN TABLE ventas_len (ticket char(20), sucursal varchar(3))
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
SELECT ticket, octet_length(ticket) FROM ventas_len WHERE ticket IN ('1', '9007199254740993');
SELECT sucursal FROM ventas_len;
DROP FOREIGN TABLE ventas_len;

-- only the referenced columns are converted: a column that would fail is fine unread
CREATE FOREIGN TABLE ventas_bad (ticket text, nota integer)
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
SELECT count(ticket) FROM ventas_bad;
-- and read, it names the sheet, the cell and the value
SELECT nota FROM ventas_bad;

-- a range and no header: by position
CREATE FOREIGN TABLE ventas_bc (b text, c text)
    SERVER fx OPTIONS (filename :'types', sheet '1', range 'C2:D4', header 'false');
SELECT * FROM ventas_bc;

-- error cells as errors, on request
CREATE FOREIGN TABLE ventas_err (nota text) SERVER fx
    OPTIONS (filename :'types', sheet 'Ventas', error_cells 'error');
SELECT nota FROM ventas_err;

-- a missing header names the header's cells
CREATE FOREIGN TABLE ventas_typo (tiket text) SERVER fx
    OPTIONS (filename :'types', sheet 'Ventas');
SELECT * FROM ventas_typo;
CREATE FOREIGN TABLE ventas_nosheet (a text) SERVER fx
    OPTIONS (filename :'types', sheet 'Compras');
DO $$ BEGIN PERFORM * FROM ventas_nosheet;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% %', SQLSTATE, regexp_replace(SQLERRM, '"/[^"]*/', '".../');
END $$;

-- IMPORT FOREIGN SCHEMA: LIMIT TO by sheet name, types inferred
CREATE SCHEMA imp;
IMPORT FOREIGN SCHEMA wb LIMIT TO ("Pérdidas 2024") FROM SERVER fx INTO imp
    OPTIONS (filename :'sheets');
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 'imp';
IMPORT FOREIGN SCHEMA wb EXCEPT ("Pérdidas 2024") FROM SERVER fx INTO imp
    OPTIONS (filename :'sheets');
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 'imp' ORDER BY 1;

-- hostile and broken files: a clear error each, never a crash
-- (sqlstate, message and detail, the fixture directory masked)
CREATE FUNCTION pg_temp.try(f text, OUT state text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count(*) FROM megamarket.xlsx_sheets(f);
    -- every column up to XFD, all used: every cell of every row is read
    EXECUTE format('CREATE FOREIGN TABLE pg_temp.h (a text, b text, z text OPTIONS (column %L)) SERVER fx OPTIONS (filename %L, header %L)', 'XFD', f, 'false');
    BEGIN
        PERFORM count(h.*) FROM pg_temp.h;
    EXCEPTION WHEN OTHERS THEN
        DROP FOREIGN TABLE pg_temp.h;
        RAISE;
    END;
    DROP FOREIGN TABLE pg_temp.h;
    state := 'read';
EXCEPTION WHEN OTHERS THEN
    state := SQLSTATE;
    message := regexp_replace(SQLERRM, '"/[^"]*/', '".../', 'g');
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    detail := nullif(regexp_replace(detail, '"/[^"]*/', '".../', 'g'), '');
END $$;
SELECT f, t.* FROM unnest(ARRAY[
    'text-renamed.xlsx', 'empty.xlsx', 'truncated-half.xlsx', 'truncated-100.xlsx',
    'old-biff8.xlsx', 'encrypted.xlsx', 'no-workbook.xlsx', 'missing-sheet-part.xlsx',
    'no-sheets.xlsx', 'billion-laughs.xlsx', 'xxe-workbook.xlsx', 'zip-bomb.xlsx',
    'lying-size.xlsx', 'bad-crc.xlsx', 'column-xfe1.xlsx', 'row-1048577.xlsx',
    'sst-out-of-range.xlsx', 'malformed-sheet.xlsx',
    'valid.xlsx', 'huge-dimension.xlsx', 'zip64.xlsx']) f, pg_temp.try(:'hostile' || f) t;

-- A query that needs fewer columns skips the rest of each row once the row
-- has a value (docs/xlsx_fdw.md, "Speed and memory"): what lies there is not
-- checked. count(*) of these three damaged sheets, whose damage is in a row's
-- rest (a cell past XFD, a missing shared string, a missing </c>), counts
-- their two rows; every row's start, its number and the document's end are
-- still checked (row-1048577.xlsx still fails).
\set f :hostile 'column-xfe1.xlsx'
CREATE FOREIGN TABLE pg_temp.h1 (a text) SERVER fx OPTIONS (filename :'f', header 'false');
\set f :hostile 'sst-out-of-range.xlsx'
CREATE FOREIGN TABLE pg_temp.h2 (a text) SERVER fx OPTIONS (filename :'f', header 'false');
\set f :hostile 'malformed-sheet.xlsx'
CREATE FOREIGN TABLE pg_temp.h3 (a text) SERVER fx OPTIONS (filename :'f', header 'false');
\set f :hostile 'row-1048577.xlsx'
CREATE FOREIGN TABLE pg_temp.h4 (a text) SERVER fx OPTIONS (filename :'f', header 'false');
SELECT (SELECT count(*) FROM pg_temp.h1) AS xfe1, (SELECT count(*) FROM pg_temp.h2) AS sst,
       (SELECT count(a) FROM pg_temp.h3) AS malformed;
DO $$
BEGIN
    PERFORM count(*) FROM pg_temp.h4;
    RAISE NOTICE 'row-1048577.xlsx: read';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'row-1048577.xlsx: % %', SQLSTATE, regexp_replace(SQLERRM, '"/[^"]*/', '".../', 'g');
END $$;
DROP FOREIGN TABLE pg_temp.h1, pg_temp.h2, pg_temp.h3, pg_temp.h4;

-- Numbers into numeric and integer columns are built from their digits
-- (no numeric_in) when they fit: the result must be what the input function
-- gives, digit for digit (numeric_send); rounding, overflow and
-- exponents take the input function.
CREATE FOREIGN TABLE nums0 (r int OPTIONS (row_number 'true'), importe numeric, cantidad bigint)
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
CREATE FOREIGN TABLE nums2 (r int OPTIONS (row_number 'true'), importe numeric(10,2), cantidad smallint)
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
CREATE FOREIGN TABLE nums1 (r int OPTIONS (row_number 'true'), importe numeric(8,1))
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
SELECT r, a.importe AS imp, b.importe AS imp2, c.importe AS imp1, a.cantidad, b.cantidad AS cant2,
       numeric_send(a.importe) = numeric_send(a.importe::text::numeric) AS same,
       numeric_send(b.importe) = numeric_send(a.importe::text::numeric(10,2)) AS same_10_2,
       numeric_send(c.importe) = numeric_send(a.importe::text::numeric(8,1)) AS same_8_1
FROM nums0 a JOIN nums2 b USING (r) JOIN nums1 c USING (r) ORDER BY r;
-- "column": a sheet column by its letters, whatever its header says (and
-- taking no position when header is false)
CREATE FOREIGN TABLE by_letter (imp numeric OPTIONS ("column" 'f'), fila int OPTIONS (row_number 'true'),
                                nota text OPTIONS ("column" 'H'))
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
SELECT * FROM by_letter WHERE fila <= 4;
CREATE FOREIGN TABLE by_letter_nh (b text OPTIONS ("column" 'B'), a text)
    SERVER fx OPTIONS (filename :'types', sheet 'Sparse', header 'false');
SELECT * FROM by_letter_nh;
CREATE FOREIGN TABLE by_letter_out (c text OPTIONS ("column" 'A'))
    SERVER fx OPTIONS (filename :'types', sheet 'Sparse', range 'B1:C');
SELECT * FROM by_letter_out;
CREATE FOREIGN TABLE bad_letter (c text OPTIONS ("column" 'A1')) SERVER fx;
CREATE FOREIGN TABLE bad_letter (c text OPTIONS ("column" 'XFE')) SERVER fx;
CREATE FOREIGN TABLE bad_letter (c text OPTIONS ("column" 'B', column_name 'x')) SERVER fx;
CREATE FOREIGN TABLE bad_letter (c int OPTIONS ("column" 'B', row_number 'true')) SERVER fx;
-- one cell, two columns: refused, not silently NULL
CREATE FOREIGN TABLE nums_twice (imp numeric OPTIONS (column_name 'Importe'), importe text)
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
SELECT * FROM nums_twice;
CREATE FOREIGN TABLE nums_small (imp numeric(4,2) OPTIONS (column_name 'Importe'))
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
SELECT * FROM nums_small;

-- row_number: the sheet row beside the cells. Ventas row 7 is blank (not
-- written), Sparse has rows 1, 2 (only XFD2), 3 and 10; a row_number column
-- takes no position when header is false.
CREATE FOREIGN TABLE ventas_rows (fila integer OPTIONS (row_number 'true'), ticket text, nota text)
    SERVER fx OPTIONS (filename :'types', sheet 'Ventas');
SELECT fila, ticket, nota FROM ventas_rows;
CREATE FOREIGN TABLE sparse_rows (r bigint OPTIONS (row_number 'true'), a text, b text, c text)
    SERVER fx OPTIONS (filename :'types', sheet 'Sparse', header 'false');
SELECT * FROM sparse_rows;
SELECT count(*) FROM sparse_rows;
CREATE FOREIGN TABLE bad_rows (r integer OPTIONS (row_number 'true', column_name 'x'))
    SERVER fx OPTIONS (filename :'types');
CREATE FOREIGN TABLE bad_rows (r integer OPTIONS (row_number 'maybe'))
    SERVER fx OPTIONS (filename :'types');

DROP EXTENSION megamarket CASCADE;
DROP SCHEMA imp;
