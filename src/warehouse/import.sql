-- ---------------------------------------------------------------------------
-- warehouse: import_workbook(), the chain's workbook into the warehouse
--
--   import_sheets, import_fields   the workbook format (reference, read-only)
--   import_names                   sheet and column names, Spanish, English and
--                                  the DBA's own (mapping table)
--   import_runs, import_rejects    one row per run; the rows it rejected
--   import_workbook(file, options) the import: xlsx_fdw -> clean -> upsert
--
-- The import reads each sheet through a temporary xlsx_fdw foreign table
-- (server megamarket_import), cleans the rows in set-based SQL with the C
-- helpers parse_decimal(), parse_day() and clean_text(), loads dimensions
-- before facts, and upserts on natural keys. It is one transaction.
-- ---------------------------------------------------------------------------

-- C helpers ------------------------------------------------------------------

CREATE FUNCTION megamarket.clean_text(value text)
RETURNS text
AS 'MODULE_PATHNAME', 'warehouse_clean_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.clean_text(text) IS
'a cell''s text without surrounding white space (spaces, tabs, line breaks, no-break spaces); NULL when nothing is left';

CREATE FUNCTION megamarket.parse_decimal(value text)
RETURNS numeric
AS 'MODULE_PATHNAME', 'warehouse_parse_decimal'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.parse_decimal(text) IS
'a number as a workbook holds it (12.50, 12,50, -3, 1.5E-3), exactly, or NULL when the text is not one; no thousands separators';

CREATE FUNCTION megamarket.parse_day(value text)
RETURNS date
AS 'MODULE_PATHNAME', 'warehouse_parse_day'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.parse_day(text) IS
'a day as a workbook holds it (a date cell read as text, yyyy-mm-dd, or text dd/mm/yyyy), or NULL when it is not a real day in 1900-2999';

CREATE FUNCTION megamarket.header_key(header text)
RETURNS text
AS 'MODULE_PATHNAME', 'warehouse_header_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.header_key(text) IS
'the key headers are matched by (as xlsx_fdw does): lower case, accents, spaces and underscores dropped';

CREATE FUNCTION megamarket.file_fingerprint(filename text,
    OUT size bigint, OUT sha256 text, OUT modified timestamptz)
AS 'MODULE_PATHNAME', 'warehouse_file_fingerprint'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION megamarket.file_fingerprint(text) IS
'size, SHA-256 and modification time of a server file, read as a stream';
REVOKE ALL ON FUNCTION megamarket.file_fingerprint(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION megamarket.file_fingerprint(text) TO pg_read_server_files;

CREATE FUNCTION megamarket.import_progress(label text, every bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'warehouse_import_progress'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION megamarket.import_progress(text, bigint) IS
'true; every "every" calls from one place in a query, a NOTICE and pg_stat_activity show the count (import progress)';

CREATE FUNCTION megamarket.import_activity(what text)
RETURNS void
AS 'MODULE_PATHNAME', 'warehouse_import_activity'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION megamarket.import_activity(text) IS
'shows "megamarket.import_workbook: <what>" as this backend''s query in pg_stat_activity; NULL shows the statement''s own text again';

-- Both rewrite this backend's pg_stat_activity.query: for the import only,
-- not for anyone who would like to hide what they run.
REVOKE ALL ON FUNCTION megamarket.import_progress(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket.import_activity(text) FROM PUBLIC;

-- The workbook format ----------------------------------------------------------

CREATE TABLE megamarket.import_sheets (
    sheet       text PRIMARY KEY,
    load_order  smallint NOT NULL UNIQUE,
    loads       text NOT NULL,
    description text NOT NULL
);
COMMENT ON TABLE megamarket.import_sheets IS 'the sheets import_workbook() knows, in load order (reference data)';
COMMENT ON COLUMN megamarket.import_sheets.sheet IS 'the sheet''s key; its names in a workbook are in import_names';
COMMENT ON COLUMN megamarket.import_sheets.load_order IS 'dimensions before the facts that refer to them';
COMMENT ON COLUMN megamarket.import_sheets.loads IS 'the warehouse tables the sheet fills';
COMMENT ON COLUMN megamarket.import_sheets.description IS 'what one row of the sheet is';

CREATE TABLE megamarket.import_fields (
    sheet       text NOT NULL REFERENCES megamarket.import_sheets,
    field       text NOT NULL,
    position    smallint NOT NULL,
    kind        text NOT NULL
                CONSTRAINT import_fields_kind CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY[
                    'text', 'code', 'store_code', 'sku', 'name', 'email', 'wallet',
                    'date', 'integer', 'quantity', 'money', 'ticket',
                    'store', 'product', 'customer', 'campaign'])),
    required    boolean NOT NULL,
    natural_key boolean NOT NULL DEFAULT false,
    description text NOT NULL,
    PRIMARY KEY (sheet, field),
    UNIQUE (sheet, position)
);
COMMENT ON TABLE megamarket.import_fields IS 'the columns of each sheet, how they are cleaned and whether they are required (reference data)';
COMMENT ON COLUMN megamarket.import_fields.sheet IS 'the sheet (import_sheets)';
COMMENT ON COLUMN megamarket.import_fields.field IS 'the column''s key; its header texts are in import_names';
COMMENT ON COLUMN megamarket.import_fields.position IS 'order of the checks within a row';
COMMENT ON COLUMN megamarket.import_fields.kind IS 'how the cell is cleaned and checked (docs/import.md, "Cleaning rules")';
COMMENT ON COLUMN megamarket.import_fields.required IS 'an empty cell rejects the row (missing_required)';
COMMENT ON COLUMN megamarket.import_fields.natural_key IS 'part of the key rows are upserted on';
COMMENT ON COLUMN megamarket.import_fields.description IS 'where the value goes';

CREATE TABLE megamarket.import_names (
    sheet       text NOT NULL REFERENCES megamarket.import_sheets,
    field       text,
    name        text NOT NULL
                CONSTRAINT import_names_name_not_blank CHECK (megamarket.header_key(name) OPERATOR(pg_catalog.<>) ''),
    builtin     boolean NOT NULL DEFAULT false,
    FOREIGN KEY (sheet, field) REFERENCES megamarket.import_fields
);
CREATE INDEX import_names_sheet_field_idx ON megamarket.import_names (sheet, field);
-- one meaning per name: a sheet name names one sheet, a header one column of it
CREATE UNIQUE INDEX import_names_sheet_key ON megamarket.import_names (megamarket.header_key(name))
    WHERE field IS NULL;
CREATE UNIQUE INDEX import_names_field_key ON megamarket.import_names (sheet, megamarket.header_key(name))
    WHERE field IS NOT NULL;
COMMENT ON TABLE megamarket.import_names IS 'sheet names and column headers import_workbook() recognises; add rows to map other headers';
COMMENT ON COLUMN megamarket.import_names.sheet IS 'the sheet (import_sheets)';
COMMENT ON COLUMN megamarket.import_names.field IS 'the column (import_fields), or NULL for a name of the sheet itself';
COMMENT ON COLUMN megamarket.import_names.name IS 'the text; matched ignoring case, accents, spaces and underscores (header_key)';
COMMENT ON COLUMN megamarket.import_names.builtin IS 'shipped with the extension (Spanish and English); pg_dump keeps only the others';

-- The format is fixed (the import's code depends on it) and not dumped: CREATE
-- EXTENSION makes it. Only import_names is for the DBA to change.
INSERT INTO megamarket.import_sheets VALUES
    ('stores',    1, 'regions, cities, stores', 'a branch (sucursal)'),
    ('products',  2, 'departments, categories, products', 'a product'),
    ('customers', 3, 'segments, customers', 'a customer'),
    ('campaigns', 4, 'channels, segments, campaigns', 'a marketing campaign'),
    ('sales',     5, 'dates, sales', 'a ticket line'),
    ('losses',    6, 'dates, loss_reasons, losses', 'a loss event');

INSERT INTO megamarket.import_fields (sheet, field, position, kind, required, natural_key, description) VALUES
    ('stores', 'code', 1, 'store_code', true, true, 'stores.code, upper-cased'),
    ('stores', 'name', 2, 'name', true, false, 'stores.name'),
    ('stores', 'city', 3, 'name', false, false, 'cities.name (needs the region)'),
    ('stores', 'region', 4, 'name', false, false, 'regions.name'),
    ('stores', 'address', 5, 'text', false, false, 'stores.location'),
    ('stores', 'opened', 6, 'date', false, false, 'stores.opened_on'),
    ('products', 'sku', 1, 'sku', true, true, 'products.sku'),
    ('products', 'name', 2, 'name', true, false, 'products.name'),
    ('products', 'category', 3, 'name', true, false, 'categories.name'),
    ('products', 'department', 4, 'name', true, false, 'departments.name'),
    ('products', 'price', 5, 'money', true, false, 'products.price'),
    ('customers', 'code', 1, 'code', true, true, 'customers.code'),
    ('customers', 'name', 2, 'name', true, false, 'customers.name'),
    ('customers', 'email', 3, 'email', false, false, 'customers.email, lower-cased'),
    ('customers', 'segment', 4, 'name', false, false, 'segments.name'),
    ('customers', 'wallet', 5, 'wallet', false, false, 'customers.wallet_address, lower-cased'),
    ('campaigns', 'code', 1, 'code', true, true, 'campaigns.code'),
    ('campaigns', 'name', 2, 'name', true, false, 'campaigns.name'),
    ('campaigns', 'channel', 3, 'name', false, false, 'channels.name'),
    ('campaigns', 'target_segment', 4, 'name', false, false, 'segments.name of campaigns.target_segment_id'),
    ('campaigns', 'start', 5, 'date', true, false, 'campaigns.start_date'),
    ('campaigns', 'end', 6, 'date', true, false, 'campaigns.end_date'),
    ('campaigns', 'budget', 7, 'money', true, false, 'campaigns.budget'),
    ('sales', 'ticket', 1, 'ticket', true, true, 'sales.ticket_id'),
    ('sales', 'line', 2, 'integer', true, true, 'sales.line_no'),
    ('sales', 'date', 3, 'date', true, false, 'sales.date_id'),
    ('sales', 'store', 4, 'store', true, false, 'sales.store_id, by store name or code'),
    ('sales', 'customer', 5, 'customer', false, false, 'sales.customer_id, by customer code'),
    ('sales', 'sku', 6, 'product', true, false, 'sales.product_id, by SKU'),
    ('sales', 'quantity', 7, 'quantity', true, false, 'sales.quantity'),
    ('sales', 'amount', 8, 'money', true, false, 'sales.amount'),
    ('sales', 'campaign', 9, 'campaign', false, false, 'sales.campaign_id, by campaign code'),
    ('losses', 'reference', 1, 'code', true, true, 'losses.loss_ref'),
    ('losses', 'date', 2, 'date', true, false, 'losses.date_id'),
    ('losses', 'store', 3, 'store', true, false, 'losses.store_id, by store name or code'),
    ('losses', 'sku', 4, 'product', true, false, 'losses.product_id, by SKU'),
    ('losses', 'reason', 5, 'name', true, false, 'loss_reasons.name'),
    ('losses', 'quantity', 6, 'quantity', true, false, 'losses.quantity'),
    ('losses', 'amount', 7, 'money', true, false, 'losses.amount');

INSERT INTO megamarket.import_names (sheet, field, name, builtin) VALUES
    ('stores', NULL, 'Sucursales', true), ('stores', NULL, 'Stores', true),
    ('stores', 'code', 'Código', true), ('stores', 'code', 'Code', true),
    ('stores', 'name', 'Sucursal', true), ('stores', 'name', 'Store', true),
    ('stores', 'city', 'Ciudad', true), ('stores', 'city', 'City', true),
    ('stores', 'region', 'Región', true),  -- "Region" has the same key
    ('stores', 'address', 'Dirección', true), ('stores', 'address', 'Address', true),
    ('stores', 'opened', 'Apertura', true), ('stores', 'opened', 'Opened', true),
    ('products', NULL, 'Productos', true), ('products', NULL, 'Products', true),
    ('products', 'sku', 'SKU', true),
    ('products', 'name', 'Producto', true), ('products', 'name', 'Product', true),
    ('products', 'category', 'Categoría', true), ('products', 'category', 'Category', true),
    ('products', 'department', 'Departamento', true), ('products', 'department', 'Department', true),
    ('products', 'price', 'Precio', true), ('products', 'price', 'Price', true),
    ('customers', NULL, 'Clientes', true), ('customers', NULL, 'Customers', true),
    ('customers', 'code', 'Código', true), ('customers', 'code', 'Code', true),
    ('customers', 'name', 'Nombre', true), ('customers', 'name', 'Name', true),
    ('customers', 'email', 'Email', true), ('customers', 'email', 'Correo', true),
    ('customers', 'segment', 'Segmento', true), ('customers', 'segment', 'Segment', true),
    ('customers', 'wallet', 'Wallet', true), ('customers', 'wallet', 'Cartera', true),
    ('campaigns', NULL, 'Campañas', true), ('campaigns', NULL, 'Campaigns', true),
    ('campaigns', 'code', 'Código', true), ('campaigns', 'code', 'Code', true),
    ('campaigns', 'name', 'Campaña', true), ('campaigns', 'name', 'Campaign', true),
    ('campaigns', 'channel', 'Canal', true), ('campaigns', 'channel', 'Channel', true),
    ('campaigns', 'target_segment', 'Segmento objetivo', true), ('campaigns', 'target_segment', 'Target segment', true),
    ('campaigns', 'start', 'Inicio', true), ('campaigns', 'start', 'Start', true),
    ('campaigns', 'end', 'Fin', true), ('campaigns', 'end', 'End', true),
    ('campaigns', 'budget', 'Presupuesto', true), ('campaigns', 'budget', 'Budget', true),
    ('sales', NULL, 'Ventas', true), ('sales', NULL, 'Sales', true),
    ('sales', 'ticket', 'Ticket', true),
    ('sales', 'line', 'Línea', true), ('sales', 'line', 'Line', true),
    ('sales', 'date', 'Fecha', true), ('sales', 'date', 'Date', true),
    ('sales', 'store', 'Sucursal', true), ('sales', 'store', 'Store', true),
    ('sales', 'customer', 'Cliente', true), ('sales', 'customer', 'Customer', true),
    ('sales', 'sku', 'SKU', true),
    ('sales', 'quantity', 'Cantidad', true), ('sales', 'quantity', 'Quantity', true),
    ('sales', 'amount', 'Importe', true), ('sales', 'amount', 'Amount', true),
    ('sales', 'campaign', 'Campaña', true), ('sales', 'campaign', 'Campaign', true),
    ('losses', NULL, 'Pérdidas', true), ('losses', NULL, 'Losses', true),
    ('losses', 'reference', 'Referencia', true), ('losses', 'reference', 'Reference', true),
    ('losses', 'date', 'Fecha', true), ('losses', 'date', 'Date', true),
    ('losses', 'store', 'Sucursal', true), ('losses', 'store', 'Store', true),
    ('losses', 'sku', 'SKU', true),
    ('losses', 'reason', 'Motivo', true), ('losses', 'reason', 'Reason', true),
    ('losses', 'quantity', 'Cantidad', true), ('losses', 'quantity', 'Quantity', true),
    ('losses', 'amount', 'Importe', true), ('losses', 'amount', 'Amount', true);

-- Run log ----------------------------------------------------------------------

CREATE TABLE megamarket.import_runs (
    run_id      bigserial PRIMARY KEY,
    filename    text NOT NULL,
    file_size   bigint NOT NULL,
    file_sha256 text NOT NULL CONSTRAINT import_runs_sha256_hex CHECK (file_sha256 OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$'),
    file_modified timestamptz NOT NULL,
    options     jsonb NOT NULL,
    dry_run     boolean NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    run_by      name NOT NULL,
    rows_read   bigint NOT NULL,
    inserted    bigint NOT NULL,
    updated     bigint NOT NULL,
    unchanged   bigint NOT NULL,
    rejected    bigint NOT NULL,
    sheets      jsonb NOT NULL
);
CREATE INDEX import_runs_file_sha256_idx ON megamarket.import_runs (file_sha256);
COMMENT ON TABLE megamarket.import_runs IS 'one row per import_workbook() run that finished (a failed run leaves nothing)';
COMMENT ON COLUMN megamarket.import_runs.run_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.import_runs.filename IS 'the workbook, as given';
COMMENT ON COLUMN megamarket.import_runs.file_size IS 'its size in bytes';
COMMENT ON COLUMN megamarket.import_runs.file_sha256 IS 'SHA-256 of its bytes, hex';
COMMENT ON COLUMN megamarket.import_runs.file_modified IS 'its modification time';
COMMENT ON COLUMN megamarket.import_runs.options IS 'the options the run was given';
COMMENT ON COLUMN megamarket.import_runs.dry_run IS 'true: nothing was loaded; the counts say what would have been';
COMMENT ON COLUMN megamarket.import_runs.started_at IS 'when the run started (clock time)';
COMMENT ON COLUMN megamarket.import_runs.finished_at IS 'when it finished';
COMMENT ON COLUMN megamarket.import_runs.run_by IS 'the role that ran it';
COMMENT ON COLUMN megamarket.import_runs.rows_read IS 'data rows read, blank rows not counted';
COMMENT ON COLUMN megamarket.import_runs.inserted IS 'rows added to the warehouse';
COMMENT ON COLUMN megamarket.import_runs.updated IS 'rows that existed and changed';
COMMENT ON COLUMN megamarket.import_runs.unchanged IS 'rows that existed as they are';
COMMENT ON COLUMN megamarket.import_runs.rejected IS 'rows rejected (import_rejects)';
COMMENT ON COLUMN megamarket.import_runs.sheets IS 'the same counts per sheet: [{"sheet", "name", "rows_read", "inserted", "updated", "unchanged", "rejected"}]';

CREATE TABLE megamarket.import_rejects (
    reject_id   bigserial PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES megamarket.import_runs ON DELETE CASCADE,
    sheet       text NOT NULL,
    row_number  integer NOT NULL,
    cell        text,
    field       text,
    value       text,
    reason      text NOT NULL,
    kept        boolean NOT NULL
);
CREATE INDEX import_rejects_run_id_idx ON megamarket.import_rejects (run_id, sheet, row_number);
COMMENT ON TABLE megamarket.import_rejects IS 'rows an import rejected, and values it dropped from rows it kept';
COMMENT ON COLUMN megamarket.import_rejects.reject_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.import_rejects.run_id IS 'the run (import_runs)';
COMMENT ON COLUMN megamarket.import_rejects.sheet IS 'the sheet, as the workbook names it';
COMMENT ON COLUMN megamarket.import_rejects.row_number IS 'the row, as Excel numbers it';
COMMENT ON COLUMN megamarket.import_rejects.cell IS 'the cell (C17), or NULL when the whole row is at fault';
COMMENT ON COLUMN megamarket.import_rejects.field IS 'the column''s key (import_fields), or NULL';
COMMENT ON COLUMN megamarket.import_rejects.value IS 'the cell''s text as read, before cleaning';
COMMENT ON COLUMN megamarket.import_rejects.reason IS 'why: missing_required, bad_date, bad_number, ... (docs/import.md)';
COMMENT ON COLUMN megamarket.import_rejects.kept IS 'true: the row was loaded without this value (bad_email, bad_wallet); false: the row was rejected';

SELECT pg_catalog.pg_extension_config_dump('megamarket.import_names', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('megamarket.import_runs', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.import_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.import_rejects', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.import_rejects_reject_id_seq', '');

-- The server the import's temporary foreign tables use. It has no options:
-- each table names its file.
CREATE SERVER megamarket_import FOREIGN DATA WRAPPER xlsx_fdw;
COMMENT ON SERVER megamarket_import IS 'xlsx_fdw server for import_workbook()''s temporary foreign tables';

-- (internal) Drop a temporary relation of a previous import in this
-- transaction, quietly (DROP ... IF EXISTS would NOTICE every run).
CREATE FUNCTION megamarket._import_drop(kind text, name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF to_regclass('pg_temp.' || quote_ident(name)) IS NOT NULL THEN
        EXECUTE format('DROP %s pg_temp.%I', kind, name);
    END IF;
END
$$;
COMMENT ON FUNCTION megamarket._import_drop(text, text) IS
'(internal to import_workbook) drops a temporary table, view or foreign table if it exists';
REVOKE ALL ON FUNCTION megamarket._import_drop(text, text) FROM PUBLIC;

-- Reading a sheet --------------------------------------------------------------

-- A1-style letters of a 1-based column number: 1 -> A, 27 -> AA.
CREATE FUNCTION megamarket.column_letters(n integer)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text := '';
BEGIN
    IF n < 1 OR n > 16384 THEN
        RAISE EXCEPTION 'column_letters: % is not a worksheet column number', n
            USING ERRCODE = 'numeric_value_out_of_range', HINT = 'Columns run from 1 (A) to 16384 (XFD).';
    END IF;
    WHILE n > 0 LOOP
        s := chr(65 + (n - 1) % 26) || s;
        n := (n - 1) / 26;
    END LOOP;
    RETURN s;
END
$$;
COMMENT ON FUNCTION megamarket.column_letters(integer) IS
'the A1-style letters of a column number: 1 is A, 27 is AA, 16384 is XFD';

-- (internal) Open one sheet of the workbook for the import: a temporary
-- foreign table over it, its header row found and matched against
-- import_names, and a temporary view pg_temp.mm_src_<sheet> with one text
-- column per field (NULL for an optional field the sheet lacks) and _row,
-- the sheet row. Returns {"header_row": n, "cells": {"field": "C", ...}}.
CREATE FUNCTION megamarket._import_open(filename text, sheet_name text, sheet_position integer,
                                        sheet_key text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    ft text := 'mm_ft_' || sheet_key;
    src text := 'mm_src_' || sheet_key;
    cols text;
    arr text;
    nonblank text;
    header_row integer;
    header text[];
    f record;
    matches integer[];
    sel text := '_row';
    cells jsonb := '{}';
    known text;
    cand record;
BEGIN
    PERFORM megamarket._import_drop('VIEW', src);
    PERFORM megamarket._import_drop('FOREIGN TABLE', ft);
    SELECT string_agg(format('c%s text', i), ', ' ORDER BY i),
           string_agg(format('c%s', i), ', ' ORDER BY i),
           string_agg(format('megamarket.clean_text(c%s)', i), ', ' ORDER BY i)
      INTO cols, arr, nonblank
      -- columns A to IV: only the referenced ones are converted, so a wide
      -- foreign table costs nothing on sheets that are narrower
      FROM generate_series(1, 256) AS i;
    EXECUTE format('CREATE FOREIGN TABLE pg_temp.%I (_row integer OPTIONS (row_number %L), %s) '
                   'SERVER megamarket_import OPTIONS (filename %L, sheet %L, header %L)',
                   ft, 'true', cols, filename, sheet_position::text, 'false');

    -- The header: among the first 20 non-blank rows, the first that names
    -- every required field (title rows above the table are common); failing
    -- that, the first non-blank row, whose missing columns are then reported.
    -- (COALESCE, not num_nonnulls(): a function takes at most 100 arguments)
    FOR cand IN EXECUTE format('SELECT _row, ARRAY[%s] AS cells FROM pg_temp.%I WHERE COALESCE(%s) IS NOT NULL LIMIT 20',
                               arr, ft, nonblank)
    LOOP
        IF header_row IS NULL THEN
            header_row := cand._row;
            header := cand.cells;
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM megamarket.import_fields x
             WHERE x.sheet = sheet_key AND x.required
               AND NOT EXISTS (SELECT 1 FROM unnest(cand.cells) AS h(t), megamarket.import_names n
                                WHERE n.sheet = sheet_key AND n.field = x.field
                                  AND megamarket.header_key(h.t) = megamarket.header_key(n.name)))
        THEN
            header_row := cand._row;
            header := cand.cells;
            EXIT;
        END IF;
    END LOOP;
    IF header_row IS NULL THEN
        RAISE EXCEPTION 'import_workbook: sheet "%" is empty', sheet_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A sheet needs a header row naming its columns.',
                  HINT = 'Leave the sheet out with the option "sheets".';
    END IF;

    FOR f IN SELECT x.field, x.required FROM megamarket.import_fields x
              WHERE x.sheet = sheet_key ORDER BY x.position
    LOOP
        SELECT array_agg(h.i ORDER BY h.i) INTO matches
          FROM unnest(header) WITH ORDINALITY AS h(t, i)
         WHERE megamarket.clean_text(h.t) IS NOT NULL
           AND megamarket.header_key(h.t) IN (SELECT megamarket.header_key(n.name)
                                                FROM megamarket.import_names n
                                               WHERE n.sheet = sheet_key AND n.field = f.field);
        IF cardinality(matches) > 1 THEN
            RAISE EXCEPTION 'import_workbook: sheet "%" has two columns for "%": % and %',
                    sheet_name, f.field,
                    megamarket.column_letters(matches[1]) || header_row,
                    megamarket.column_letters(matches[2]) || header_row
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Rename one of the header cells.';
        END IF;
        IF matches IS NULL THEN
            IF f.required THEN
                SELECT string_agg(format('"%s"', n.name), ', ' ORDER BY n.builtin DESC, n.name) INTO known
                  FROM megamarket.import_names n WHERE n.sheet = sheet_key AND n.field = f.field;
                RAISE EXCEPTION 'import_workbook: sheet "%" has no column for "%"', sheet_name, f.field
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = format('The header is row %s: %s. Known names for "%s": %s.',
                                          header_row,
                                          (SELECT string_agg(format('"%s"', t), ', ')
                                             FROM unnest(header) AS t WHERE t IS NOT NULL),
                                          f.field, known),
                          HINT = 'Add the sheet''s header text to megamarket.import_names.';
            END IF;
            sel := sel || format(', NULL::text AS %I', f.field);
        ELSE
            sel := sel || format(', c%s AS %I', matches[1], f.field);
            cells := cells || jsonb_build_object(f.field, megamarket.column_letters(matches[1]));
        END IF;
    END LOOP;

    EXECUTE format('CREATE TEMP VIEW %I AS SELECT %s FROM pg_temp.%I WHERE _row > %s',
                   src, sel, ft, header_row);
    RETURN jsonb_build_object('header_row', header_row, 'cells', cells);
END
$$;
COMMENT ON FUNCTION megamarket._import_open(text, text, integer, text) IS
'(internal to import_workbook) opens a sheet through a temporary xlsx_fdw foreign table and maps its header';

-- (internal) After a sheet's stage table pg_temp.mm_<sheet> is built: its
-- rejects and notes into pg_temp.mm_rejects, its counts into pg_temp.mm_result.
CREATE FUNCTION megamarket._import_record(sheet_key text, sheet_name text, hdr jsonb,
                                          inserted bigint, updated bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n_read bigint;
    n_rej bigint;
    n_kept bigint;
BEGIN
    EXECUTE format($q$
        INSERT INTO pg_temp.mm_rejects (sheet, row_number, cell, field, value, reason, kept)
        SELECT %1$L, m._row, (%2$L::jsonb ->> m.err[2]) || m._row, m.err[2], m.err[3], m.err[1], false
          FROM pg_temp.%3$I m WHERE m.err IS NOT NULL
        UNION ALL
        SELECT %1$L, m._row, (%2$L::jsonb ->> (n ->> 1)) || m._row, n ->> 1, n ->> 2, n ->> 0, true
          FROM pg_temp.%3$I m, jsonb_array_elements(m.notes) AS n
         WHERE m.err IS NULL AND m.notes IS NOT NULL$q$,
        sheet_name, hdr -> 'cells', 'mm_' || sheet_key);
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE err IS NOT NULL) FROM pg_temp.%I',
                   'mm_' || sheet_key)
       INTO n_read, n_rej;
    SELECT count(*) INTO n_kept FROM pg_temp.mm_rejects r WHERE r.sheet = sheet_name AND r.kept;
    INSERT INTO pg_temp.mm_result (sheet, name, rows_read, inserted, updated, unchanged, rejected)
    VALUES (sheet_key, sheet_name, n_read, inserted, updated, n_read - n_rej - inserted - updated, n_rej);
    PERFORM import_activity(NULL);
    RAISE NOTICE 'import_workbook: sheet "%": % rows read, % inserted, % updated, % unchanged, % rejected%',
        sheet_name, n_read, inserted, updated, n_read - n_rej - inserted - updated, n_rej,
        CASE WHEN n_kept > 0 THEN format(', %s values dropped', n_kept) ELSE '' END;
END
$$;
COMMENT ON FUNCTION megamarket._import_record(text, text, jsonb, bigint, bigint) IS
'(internal to import_workbook) records a sheet''s rejects and counts';

-- (internal) Rule 6 on a stage table pg_temp.<stage> whose err is set by the
-- other rules: among its accepted rows, one whose key (key_cols) repeats an
-- earlier row's is a duplicate_row when its values (value_cols) are the same
-- too, else a duplicate_key (on key_field, showing the cell key_raw). Only
-- the repeated keys are sorted, not every row.
CREATE FUNCTION megamarket._import_duplicates(stage text, key_cols text, value_cols text,
                                              key_field text, key_raw text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%1$I m
           SET err = CASE WHEN d.same THEN ARRAY['duplicate_row', NULL, NULL]
                          ELSE ARRAY['duplicate_key', %4$L, m.%5$I] END
          FROM (SELECT x._row, row_number() OVER w AS rn,
                       ROW(%3$s)::text = first_value(ROW(%3$s)::text) OVER w AS same
                  FROM pg_temp.%1$I x
                 WHERE x.err IS NULL
                   AND (%2$s) IN (SELECT %2$s FROM pg_temp.%1$I y WHERE y.err IS NULL
                                   GROUP BY %2$s HAVING count(*) > 1)
                WINDOW w AS (PARTITION BY %2$s ORDER BY x._row)) AS d
         WHERE m._row = d._row AND d.rn > 1$q$,
        stage, key_cols, value_cols, key_field, key_raw);
END
$$;
COMMENT ON FUNCTION megamarket._import_duplicates(text, text, text, text, text) IS
'(internal to import_workbook) marks repeated natural keys in a stage table as duplicate_row or duplicate_key';

-- (internal) Sucursales: regions, cities, stores.
CREATE FUNCTION megamarket._import_stores(sheet_name text, hdr jsonb, every bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n_ins bigint;
    n_upd bigint;
BEGIN
    PERFORM _import_drop('TABLE', 'mm_stores');
    CREATE TEMP TABLE mm_stores ON COMMIT DROP AS
    WITH t AS (
        SELECT s._row, s.code AS code_raw, s.name AS name_raw, s.city AS city_raw,
               s.region AS region_raw, s.address AS address_raw, s.opened AS opened_raw,
               clean_text(s.code) AS code_t, clean_text(s.name) AS name_t,
               clean_text(s.city) AS city_t, clean_text(s.region) AS region_t,
               clean_text(s.address) AS address_t, clean_text(s.opened) AS opened_t
          FROM pg_temp.mm_src_stores s
         WHERE import_progress(sheet_name, every)
    ), p AS (
        SELECT t.*, upper(code_t) AS code_v, parse_day(opened_t) AS opened_v
          FROM t
         WHERE num_nonnulls(code_t, name_t, city_t, region_t, address_t, opened_t) > 0
    ), c AS (
        SELECT p.*,
               CASE
                   WHEN code_t IS NULL THEN ARRAY['missing_required', 'code', code_raw]
                   WHEN name_t IS NULL THEN ARRAY['missing_required', 'name', name_raw]
                   WHEN length(name_t) > 200 THEN ARRAY['too_long', 'name', name_raw]
                   WHEN length(city_t) > 200 THEN ARRAY['too_long', 'city', city_raw]
                   WHEN length(region_t) > 200 THEN ARRAY['too_long', 'region', region_raw]
                   WHEN code_v !~ '^[A-Z0-9_-]{1,32}$' THEN ARRAY['bad_code', 'code', code_raw]
                   WHEN opened_t IS NOT NULL AND opened_v IS NULL THEN ARRAY['bad_date', 'opened', opened_raw]
               END AS err0,
               CASE WHEN city_t IS NOT NULL AND region_t IS NULL
                    THEN jsonb_build_array(jsonb_build_array('missing_region', 'city', city_raw))
               END AS notes
          FROM p
    )
    SELECT c.*, err0 AS err FROM c;
    PERFORM _import_duplicates('mm_stores', 'code_v', 'name_t, city_t, region_t, address_t, opened_v',
                               'code', 'code_raw');

    -- a store name is unique too: a row that would give another store's name
    -- (in the warehouse, or an earlier row of the sheet) to its code is refused
    UPDATE pg_temp.mm_stores m
       SET err = ARRAY['duplicate_name', 'name', m.name_raw]
     WHERE m.err IS NULL
       AND (EXISTS (SELECT 1 FROM stores s WHERE s.name = m.name_t AND s.code <> m.code_v)
            OR EXISTS (SELECT 1 FROM pg_temp.mm_stores o
                        WHERE o.err IS NULL AND o.name_t = m.name_t AND o.code_v <> m.code_v
                          AND o._row < m._row));

    INSERT INTO regions (name)
    SELECT DISTINCT m.region_t FROM pg_temp.mm_stores m
     WHERE m.err IS NULL AND m.region_t IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM regions r WHERE r.name = m.region_t);
    INSERT INTO cities (name, region_id)
    SELECT DISTINCT m.city_t, r.region_id
      FROM pg_temp.mm_stores m JOIN regions r ON r.name = m.region_t
     WHERE m.err IS NULL AND m.city_t IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM cities c WHERE c.name = m.city_t AND c.region_id = r.region_id);

    UPDATE stores s
       SET name = m.name_t, location = m.address_t, city_id = m.city_id, opened_on = m.opened_v
      FROM (SELECT m.*, ci.city_id
              FROM pg_temp.mm_stores m
              LEFT JOIN regions r ON r.name = m.region_t
              LEFT JOIN cities ci ON ci.name = m.city_t AND ci.region_id = r.region_id
             WHERE m.err IS NULL) m
     WHERE s.code = m.code_v
       AND (s.name, s.location, s.city_id, s.opened_on)
           IS DISTINCT FROM (m.name_t, m.address_t, m.city_id, m.opened_v);
    GET DIAGNOSTICS n_upd = ROW_COUNT;

    INSERT INTO stores (code, name, location, city_id, opened_on)
    SELECT m.code_v, m.name_t, m.address_t, ci.city_id, m.opened_v
      FROM pg_temp.mm_stores m
      LEFT JOIN regions r ON r.name = m.region_t
      LEFT JOIN cities ci ON ci.name = m.city_t AND ci.region_id = r.region_id
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM stores s WHERE s.code = m.code_v)
     ORDER BY m._row;
    GET DIAGNOSTICS n_ins = ROW_COUNT;

    PERFORM _import_record('stores', sheet_name, hdr, n_ins, n_upd);
END
$$;
COMMENT ON FUNCTION megamarket._import_stores(text, jsonb, bigint) IS
'(internal to import_workbook) loads the stores sheet';

-- (internal) Productos: departments, categories, products.
CREATE FUNCTION megamarket._import_products(sheet_name text, hdr jsonb, every bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n_ins bigint;
    n_upd bigint;
BEGIN
    PERFORM _import_drop('TABLE', 'mm_products');
    CREATE TEMP TABLE mm_products ON COMMIT DROP AS
    WITH t AS (
        SELECT s._row, s.sku AS sku_raw, s.name AS name_raw, s.category AS category_raw,
               s.department AS department_raw, s.price AS price_raw,
               clean_text(s.sku) AS sku_t, clean_text(s.name) AS name_t,
               clean_text(s.category) AS category_t, clean_text(s.department) AS department_t,
               clean_text(s.price) AS price_t
          FROM pg_temp.mm_src_products s
         WHERE import_progress(sheet_name, every)
    ), p AS (
        SELECT t.*, parse_decimal(price_t) AS price_n
          FROM t
         WHERE num_nonnulls(sku_t, name_t, category_t, department_t, price_t) > 0
    ), c AS (
        SELECT p.*,
               CASE
                   WHEN sku_t IS NULL THEN ARRAY['missing_required', 'sku', sku_raw]
                   WHEN name_t IS NULL THEN ARRAY['missing_required', 'name', name_raw]
                   WHEN category_t IS NULL THEN ARRAY['missing_required', 'category', category_raw]
                   WHEN department_t IS NULL THEN ARRAY['missing_required', 'department', department_raw]
                   WHEN price_t IS NULL THEN ARRAY['missing_required', 'price', price_raw]
                   WHEN length(category_t) > 200 THEN ARRAY['too_long', 'category', category_raw]
                   WHEN length(department_t) > 200 THEN ARRAY['too_long', 'department', department_raw]
                   WHEN sku_t !~ '^[A-Za-z0-9_.-]{1,64}$' THEN ARRAY['bad_code', 'sku', sku_raw]
                   WHEN price_n IS NULL THEN ARRAY['bad_number', 'price', price_raw]
                   WHEN price_n < 0 OR price_n >= 1e10 THEN ARRAY['out_of_range', 'price', price_raw]
               END AS err0,
               NULL::jsonb AS notes
          FROM p
    )
    SELECT c.*, round(price_n, 2) AS price_v, err0 AS err FROM c;
    PERFORM _import_duplicates('mm_products', 'sku_t', 'name_t, category_t, department_t, price_v',
                               'sku', 'sku_raw');

    INSERT INTO departments (name)
    SELECT DISTINCT m.department_t FROM pg_temp.mm_products m
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM departments d WHERE d.name = m.department_t);

    -- a category belongs to one department: the first row naming it decides
    PERFORM _import_drop('TABLE', 'mm_categories');
    CREATE TEMP TABLE mm_categories ON COMMIT DROP AS
    SELECT DISTINCT ON (m.category_t) m.category_t AS name, d.department_id
      FROM pg_temp.mm_products m JOIN departments d ON d.name = m.department_t
     WHERE m.err IS NULL
     ORDER BY m.category_t, m._row;
    UPDATE categories c SET department_id = m.department_id
      FROM pg_temp.mm_categories m
     WHERE c.name = m.name AND c.department_id <> m.department_id;
    INSERT INTO categories (name, department_id)
    SELECT m.name, m.department_id FROM pg_temp.mm_categories m
     WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.name = m.name);

    UPDATE products p
       SET name = m.name_t, category_id = c.category_id, price = m.price_v
      FROM pg_temp.mm_products m JOIN categories c ON c.name = m.category_t
     WHERE m.err IS NULL AND p.sku = m.sku_t
       AND (p.name, p.category_id, p.price) IS DISTINCT FROM (m.name_t, c.category_id, m.price_v);
    GET DIAGNOSTICS n_upd = ROW_COUNT;

    INSERT INTO products (sku, name, category_id, price)
    SELECT m.sku_t, m.name_t, c.category_id, m.price_v
      FROM pg_temp.mm_products m JOIN categories c ON c.name = m.category_t
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = m.sku_t)
     ORDER BY m._row;
    GET DIAGNOSTICS n_ins = ROW_COUNT;

    PERFORM _import_record('products', sheet_name, hdr, n_ins, n_upd);
END
$$;
COMMENT ON FUNCTION megamarket._import_products(text, jsonb, bigint) IS
'(internal to import_workbook) loads the products sheet';

-- (internal) Clientes: segments, customers.
CREATE FUNCTION megamarket._import_customers(sheet_name text, hdr jsonb, every bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n_ins bigint;
    n_upd bigint;
BEGIN
    PERFORM _import_drop('TABLE', 'mm_customers');
    CREATE TEMP TABLE mm_customers ON COMMIT DROP AS
    WITH t AS (
        SELECT s._row, s.code AS code_raw, s.name AS name_raw, s.email AS email_raw,
               s.segment AS segment_raw, s.wallet AS wallet_raw,
               clean_text(s.code) AS code_t, clean_text(s.name) AS name_t,
               lower(clean_text(s.email)) AS email_t, clean_text(s.segment) AS segment_t,
               lower(clean_text(s.wallet)) AS wallet_t
          FROM pg_temp.mm_src_customers s
         WHERE import_progress(sheet_name, every)
    ), p AS (
        SELECT t.*,
               email_t ~ '^[a-z0-9._%+''-]+@[a-z0-9.-]+\.[a-z]{2,}$' AS email_ok,
               wallet_t ~ '^0x[0-9a-f]{40}$' AS wallet_ok
          FROM t
         WHERE num_nonnulls(code_t, name_t, email_t, segment_t, wallet_t) > 0
    ), c AS (
        SELECT p.*,
               CASE
                   WHEN code_t IS NULL THEN ARRAY['missing_required', 'code', code_raw]
                   WHEN name_t IS NULL THEN ARRAY['missing_required', 'name', name_raw]
                   WHEN length(code_t) > 200 THEN ARRAY['too_long', 'code', code_raw]
                   WHEN length(segment_t) > 200 THEN ARRAY['too_long', 'segment', segment_raw]
               END AS err0,
               CASE WHEN email_ok THEN email_t END AS email_v,
               CASE WHEN wallet_ok THEN wallet_t END AS wallet_v0
          FROM p
    ), d AS (
        -- duplicates inline, not with _import_duplicates(): which row keeps
        -- a wallet (below) depends on which rows are duplicates
        SELECT c.*,
               CASE
                   WHEN err0 IS NOT NULL THEN err0
                   WHEN row_number() OVER w > 1 THEN
                       CASE WHEN ROW(name_t, email_v, segment_t, wallet_v0)::text
                                 = first_value(ROW(name_t, email_v, segment_t, wallet_v0)::text) OVER w
                            THEN ARRAY['duplicate_row', NULL, NULL] ELSE ARRAY['duplicate_key', 'code', code_raw] END
               END AS err
          FROM c
        WINDOW w AS (PARTITION BY err0 IS NULL, code_t ORDER BY _row)
    ), e AS (
        -- a wallet belongs to one customer: the first accepted row that has it,
        -- unless another customer of the warehouse already does
        SELECT d.*,
               CASE WHEN wallet_v0 IS NOT NULL AND err IS NULL
                    THEN row_number() OVER (PARTITION BY err IS NULL, wallet_v0 ORDER BY _row) > 1
                         OR EXISTS (SELECT 1 FROM customers x
                                     WHERE x.wallet_address = d.wallet_v0 AND x.code <> d.code_t)
                    ELSE false
               END AS wallet_taken
          FROM d
    )
    SELECT e.*,
           CASE WHEN wallet_taken THEN NULL ELSE wallet_v0 END AS wallet_v,
           NULLIF(
               CASE WHEN email_t IS NOT NULL AND NOT email_ok
                    THEN jsonb_build_array(jsonb_build_array('bad_email', 'email', email_raw))
                    ELSE '[]'::jsonb END
            || CASE WHEN wallet_t IS NOT NULL AND NOT wallet_ok
                    THEN jsonb_build_array(jsonb_build_array('bad_wallet', 'wallet', wallet_raw))
                    WHEN wallet_taken
                    THEN jsonb_build_array(jsonb_build_array('duplicate_wallet', 'wallet', wallet_raw))
                    ELSE '[]'::jsonb END,
               '[]'::jsonb) AS notes
      FROM e;

    INSERT INTO segments (name)
    SELECT DISTINCT m.segment_t FROM pg_temp.mm_customers m
     WHERE m.err IS NULL AND m.segment_t IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM segments g WHERE g.name = m.segment_t);

    -- an empty Segmento keeps the customer's segment (segment_customers() may have set it)
    UPDATE customers c
       SET name = m.name_t, email = m.email_v, wallet_address = m.wallet_v,
           segment_id = coalesce(m.segment_id, c.segment_id)
      FROM (SELECT m.*, g.segment_id FROM pg_temp.mm_customers m
              LEFT JOIN segments g ON g.name = m.segment_t WHERE m.err IS NULL) m
     WHERE c.code = m.code_t
       AND (c.name, c.email, c.wallet_address, c.segment_id)
           IS DISTINCT FROM (m.name_t, m.email_v, m.wallet_v, coalesce(m.segment_id, c.segment_id));
    GET DIAGNOSTICS n_upd = ROW_COUNT;

    INSERT INTO customers (code, name, email, segment_id, wallet_address)
    SELECT m.code_t, m.name_t, m.email_v, g.segment_id, m.wallet_v
      FROM pg_temp.mm_customers m LEFT JOIN segments g ON g.name = m.segment_t
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.code = m.code_t)
     ORDER BY m._row;
    GET DIAGNOSTICS n_ins = ROW_COUNT;

    PERFORM _import_record('customers', sheet_name, hdr, n_ins, n_upd);
END
$$;
COMMENT ON FUNCTION megamarket._import_customers(text, jsonb, bigint) IS
'(internal to import_workbook) loads the customers sheet';

-- (internal) Campañas: channels, segments, campaigns.
CREATE FUNCTION megamarket._import_campaigns(sheet_name text, hdr jsonb, every bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n_ins bigint;
    n_upd bigint;
BEGIN
    PERFORM _import_drop('TABLE', 'mm_campaigns');
    CREATE TEMP TABLE mm_campaigns ON COMMIT DROP AS
    WITH t AS (
        SELECT s._row, s.code AS code_raw, s.name AS name_raw, s.channel AS channel_raw,
               s.target_segment AS target_raw, s.start AS start_raw,
               s."end" AS end_raw, s.budget AS budget_raw,
               clean_text(s.code) AS code_t, clean_text(s.name) AS name_t,
               clean_text(s.channel) AS channel_t, clean_text(s.target_segment) AS target_t,
               clean_text(s.start) AS start_t, clean_text(s."end") AS end_t,
               clean_text(s.budget) AS budget_t
          FROM pg_temp.mm_src_campaigns s
         WHERE import_progress(sheet_name, every)
    ), p AS (
        SELECT t.*, parse_day(start_t) AS start_v, parse_day(end_t) AS end_v,
               parse_decimal(budget_t) AS budget_n
          FROM t
         WHERE num_nonnulls(code_t, name_t, channel_t, target_t, start_t, end_t, budget_t) > 0
    ), c AS (
        SELECT p.*,
               CASE
                   WHEN code_t IS NULL THEN ARRAY['missing_required', 'code', code_raw]
                   WHEN name_t IS NULL THEN ARRAY['missing_required', 'name', name_raw]
                   WHEN start_t IS NULL THEN ARRAY['missing_required', 'start', start_raw]
                   WHEN end_t IS NULL THEN ARRAY['missing_required', 'end', end_raw]
                   WHEN budget_t IS NULL THEN ARRAY['missing_required', 'budget', budget_raw]
                   WHEN length(code_t) > 200 THEN ARRAY['too_long', 'code', code_raw]
                   WHEN length(channel_t) > 200 THEN ARRAY['too_long', 'channel', channel_raw]
                   WHEN length(target_t) > 200 THEN ARRAY['too_long', 'target_segment', target_raw]
                   WHEN start_v IS NULL THEN ARRAY['bad_date', 'start', start_raw]
                   WHEN end_v IS NULL THEN ARRAY['bad_date', 'end', end_raw]
                   WHEN budget_n IS NULL THEN ARRAY['bad_number', 'budget', budget_raw]
                   WHEN end_v < start_v THEN ARRAY['end_before_start', 'end', end_raw]
                   WHEN budget_n < 0 OR budget_n >= 1e12 THEN ARRAY['out_of_range', 'budget', budget_raw]
               END AS err0,
               NULL::jsonb AS notes
          FROM p
    )
    SELECT c.*, round(budget_n, 2) AS budget_v, err0 AS err FROM c;
    PERFORM _import_duplicates('mm_campaigns', 'code_t',
                               'name_t, channel_t, target_t, start_v, end_v, budget_v', 'code', 'code_raw');

    INSERT INTO channels (name)
    SELECT DISTINCT m.channel_t FROM pg_temp.mm_campaigns m
     WHERE m.err IS NULL AND m.channel_t IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM channels h WHERE h.name = m.channel_t);
    INSERT INTO segments (name)
    SELECT DISTINCT m.target_t FROM pg_temp.mm_campaigns m
     WHERE m.err IS NULL AND m.target_t IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM segments g WHERE g.name = m.target_t);

    UPDATE campaigns c
       SET name = m.name_t, channel_id = m.channel_id, target_segment_id = m.segment_id,
           start_date = m.start_v, end_date = m.end_v, budget = m.budget_v
      FROM (SELECT m.*, h.channel_id, g.segment_id FROM pg_temp.mm_campaigns m
              LEFT JOIN channels h ON h.name = m.channel_t
              LEFT JOIN segments g ON g.name = m.target_t
             WHERE m.err IS NULL) m
     WHERE c.code = m.code_t
       AND (c.name, c.channel_id, c.target_segment_id, c.start_date, c.end_date, c.budget)
           IS DISTINCT FROM (m.name_t, m.channel_id, m.segment_id, m.start_v, m.end_v, m.budget_v);
    GET DIAGNOSTICS n_upd = ROW_COUNT;

    INSERT INTO campaigns (code, name, channel_id, target_segment_id, start_date, end_date, budget)
    SELECT m.code_t, m.name_t, h.channel_id, g.segment_id, m.start_v, m.end_v, m.budget_v
      FROM pg_temp.mm_campaigns m
      LEFT JOIN channels h ON h.name = m.channel_t
      LEFT JOIN segments g ON g.name = m.target_t
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.code = m.code_t)
     ORDER BY m._row;
    GET DIAGNOSTICS n_ins = ROW_COUNT;

    PERFORM _import_record('campaigns', sheet_name, hdr, n_ins, n_upd);
END
$$;
COMMENT ON FUNCTION megamarket._import_campaigns(text, jsonb, bigint) IS
'(internal to import_workbook) loads the campaigns sheet';

-- (internal) Store names and codes by their header_key (case, accents and
-- spaces aside), to match a Sucursal cell. A name wins over another store's
-- code.
CREATE FUNCTION megamarket._import_store_keys()
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    PERFORM _import_drop('TABLE', 'mm_store_keys');
    CREATE TEMP TABLE mm_store_keys ON COMMIT DROP AS
    SELECT DISTINCT ON (k.key) k.key, k.store_id
      FROM (SELECT header_key(s.name) AS key, s.store_id, 1 AS pri FROM stores s
            UNION ALL
            SELECT header_key(s.code), s.store_id, 2 FROM stores s) AS k
     ORDER BY k.key, k.pri;
END
$$;
COMMENT ON FUNCTION megamarket._import_store_keys() IS
'(internal to import_workbook) the lookup of stores by name or code';

-- (internal) Ventas: dates, sales.
CREATE FUNCTION megamarket._import_sales(sheet_name text, hdr jsonb, every bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n_ins bigint;
    n_upd bigint;
    lo date;
    hi date;
BEGIN
    PERFORM _import_store_keys();
    PERFORM _import_drop('TABLE', 'mm_sales');
    -- Each level is a subquery fenced with OFFSET 0, so that every cell is
    -- cleaned and parsed once per row: inlined, the planner would repeat the
    -- expressions wherever a later level uses them.
    CREATE TEMP TABLE mm_sales ON COMMIT DROP AS
    SELECT v._row, v.line_raw, v.ticket_id, v.line_no, v.date_v, v.date_id, v.store_id,
           v.customer_id, v.product_id, v.campaign_id, v.quantity_v, v.amount_v,
           v.notes, v.err0 AS err
      FROM (
        SELECT c.*,
               CASE WHEN err0 IS NULL THEN
                   CASE WHEN ticket_n IS NOT NULL THEN trunc(ticket_n)::text ELSE ticket_t END
               END AS ticket_id,
               CASE WHEN err0 IS NULL THEN line_n::integer END AS line_no,
               CASE WHEN err0 IS NULL THEN
                   (date_part('year', date_v) * 10000 + date_part('month', date_v) * 100
                    + date_part('day', date_v))::integer
               END AS date_id,
               CASE WHEN err0 IS NULL THEN quantity_n::integer END AS quantity_v,
               CASE WHEN err0 IS NULL THEN round(amount_n, 2) END AS amount_v
          FROM (
            SELECT p.*, k.store_id, pr.product_id, cu.customer_id, ca.campaign_id,
                   CASE
                       WHEN ticket_t IS NULL THEN ARRAY['missing_required', 'ticket', ticket_raw]
                       WHEN line_t IS NULL THEN ARRAY['missing_required', 'line', line_raw]
                       WHEN date_t IS NULL THEN ARRAY['missing_required', 'date', date_raw]
                       WHEN store_t IS NULL THEN ARRAY['missing_required', 'store', store_raw]
                       WHEN sku_t IS NULL THEN ARRAY['missing_required', 'sku', sku_raw]
                       WHEN quantity_t IS NULL THEN ARRAY['missing_required', 'quantity', quantity_raw]
                       WHEN amount_t IS NULL THEN ARRAY['missing_required', 'amount', amount_raw]
                       WHEN length(ticket_t) > 200 THEN ARRAY['too_long', 'ticket', ticket_raw]
                       WHEN ticket_n IS NOT NULL AND ticket_n <> trunc(ticket_n) THEN ARRAY['bad_number', 'ticket', ticket_raw]
                       WHEN line_n IS NULL OR line_n <> trunc(line_n) THEN ARRAY['bad_number', 'line', line_raw]
                       WHEN date_v IS NULL THEN ARRAY['bad_date', 'date', date_raw]
                       WHEN quantity_n IS NULL OR quantity_n <> trunc(quantity_n) THEN ARRAY['bad_number', 'quantity', quantity_raw]
                       WHEN amount_n IS NULL THEN ARRAY['bad_number', 'amount', amount_raw]
                       WHEN quantity_n <= 0 THEN ARRAY['negative_quantity', 'quantity', quantity_raw]
                       WHEN line_n < 1 OR line_n > 2147483647 THEN ARRAY['out_of_range', 'line', line_raw]
                       WHEN quantity_n > 2147483647 THEN ARRAY['out_of_range', 'quantity', quantity_raw]
                       WHEN amount_n < 0 OR amount_n >= 1e10 THEN ARRAY['out_of_range', 'amount', amount_raw]
                       WHEN k.store_id IS NULL THEN ARRAY['unknown_store', 'store', store_raw]
                       WHEN pr.product_id IS NULL THEN ARRAY['unknown_product', 'sku', sku_raw]
                       WHEN customer_t IS NOT NULL AND cu.customer_id IS NULL THEN ARRAY['unknown_customer', 'customer', customer_raw]
                       WHEN campaign_t IS NOT NULL AND ca.campaign_id IS NULL THEN ARRAY['unknown_campaign', 'campaign', campaign_raw]
                   END AS err0,
                   NULL::jsonb AS notes
              FROM (
                SELECT t.*, parse_decimal(ticket_t) AS ticket_n, parse_decimal(line_t) AS line_n,
                       parse_day(date_t) AS date_v, parse_decimal(quantity_t) AS quantity_n,
                       parse_decimal(amount_t) AS amount_n
                  FROM (
                    SELECT s._row, s.ticket AS ticket_raw, s.line AS line_raw, s.date AS date_raw,
                           s.store AS store_raw, s.customer AS customer_raw, s.sku AS sku_raw,
                           s.quantity AS quantity_raw, s.amount AS amount_raw, s.campaign AS campaign_raw,
                           clean_text(s.ticket) AS ticket_t, clean_text(s.line) AS line_t,
                           clean_text(s.date) AS date_t, clean_text(s.store) AS store_t,
                           clean_text(s.customer) AS customer_t, clean_text(s.sku) AS sku_t,
                           clean_text(s.quantity) AS quantity_t, clean_text(s.amount) AS amount_t,
                           clean_text(s.campaign) AS campaign_t
                      FROM pg_temp.mm_src_sales s
                     WHERE import_progress(sheet_name, every)
                    OFFSET 0) AS t
                 WHERE num_nonnulls(ticket_t, line_t, date_t, store_t, customer_t, sku_t,
                                    quantity_t, amount_t, campaign_t) > 0
                OFFSET 0) AS p
              LEFT JOIN pg_temp.mm_store_keys k ON k.key = header_key(p.store_t)
              LEFT JOIN products pr ON pr.sku = p.sku_t
              LEFT JOIN customers cu ON cu.code = p.customer_t
              LEFT JOIN campaigns ca ON ca.code = p.campaign_t
            OFFSET 0) AS c
      ) AS v;

    PERFORM import_activity(sheet_name || ': checking for duplicate lines');
    PERFORM _import_duplicates('mm_sales', 'ticket_id, line_no',
                               'date_id, store_id, customer_id, product_id, campaign_id, quantity_v, amount_v',
                               'line', 'line_raw');
    ANALYZE pg_temp.mm_sales;

    PERFORM import_activity(sheet_name || ': updating and inserting '
                            || (SELECT count(*) FROM pg_temp.mm_sales m WHERE m.err IS NULL) || ' rows');
    SELECT min(m.date_v), max(m.date_v) INTO lo, hi FROM pg_temp.mm_sales m WHERE m.err IS NULL;
    IF lo IS NOT NULL THEN
        PERFORM fill_dates(lo, hi);
    END IF;

    -- the facts: upsert, new months in bulk (partition.sql)
    PERFORM _import_drop('TABLE', 'mm_sales_facts');
    CREATE TEMP TABLE mm_sales_facts ON COMMIT DROP AS
    SELECT m.ticket_id, m.line_no, m.customer_id, m.product_id, m.store_id, m.date_id,
           m.campaign_id, m.quantity_v AS quantity, m.amount_v AS amount
      FROM pg_temp.mm_sales m WHERE m.err IS NULL;
    SELECT f.inserted, f.updated INTO n_ins, n_upd FROM _import_facts('sales', 'pg_temp.mm_sales_facts') f;

    PERFORM _import_record('sales', sheet_name, hdr, n_ins, n_upd);
END
$$;
COMMENT ON FUNCTION megamarket._import_sales(text, jsonb, bigint) IS
'(internal to import_workbook) loads the sales sheet';

-- (internal) Pérdidas: dates, loss_reasons, losses.
CREATE FUNCTION megamarket._import_losses(sheet_name text, hdr jsonb, every bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n_ins bigint;
    n_upd bigint;
    lo date;
    hi date;
BEGIN
    PERFORM _import_store_keys();
    PERFORM _import_drop('TABLE', 'mm_losses');
    -- fenced levels and a separate duplicate check, as in _import_sales()
    CREATE TEMP TABLE mm_losses ON COMMIT DROP AS
    SELECT v._row, v.reference_raw, v.reference_t, v.date_v, v.date_id, v.store_id,
           v.product_id, v.reason_t, v.quantity_v, v.amount_v, v.notes, v.err0 AS err
      FROM (
        SELECT c.*,
               CASE WHEN err0 IS NULL THEN
                   (date_part('year', date_v) * 10000 + date_part('month', date_v) * 100
                    + date_part('day', date_v))::integer
               END AS date_id,
               CASE WHEN err0 IS NULL THEN quantity_n::integer END AS quantity_v,
               CASE WHEN err0 IS NULL THEN round(amount_n, 2) END AS amount_v
          FROM (
            SELECT p.*, k.store_id, pr.product_id,
                   CASE
                       WHEN reference_t IS NULL THEN ARRAY['missing_required', 'reference', reference_raw]
                       WHEN date_t IS NULL THEN ARRAY['missing_required', 'date', date_raw]
                       WHEN store_t IS NULL THEN ARRAY['missing_required', 'store', store_raw]
                       WHEN sku_t IS NULL THEN ARRAY['missing_required', 'sku', sku_raw]
                       WHEN reason_t IS NULL THEN ARRAY['missing_required', 'reason', reason_raw]
                       WHEN quantity_t IS NULL THEN ARRAY['missing_required', 'quantity', quantity_raw]
                       WHEN amount_t IS NULL THEN ARRAY['missing_required', 'amount', amount_raw]
                       WHEN length(reference_t) > 200 THEN ARRAY['too_long', 'reference', reference_raw]
                       WHEN length(reason_t) > 200 THEN ARRAY['too_long', 'reason', reason_raw]
                       WHEN date_v IS NULL THEN ARRAY['bad_date', 'date', date_raw]
                       WHEN quantity_n IS NULL OR quantity_n <> trunc(quantity_n) THEN ARRAY['bad_number', 'quantity', quantity_raw]
                       WHEN amount_n IS NULL THEN ARRAY['bad_number', 'amount', amount_raw]
                       WHEN quantity_n <= 0 THEN ARRAY['negative_quantity', 'quantity', quantity_raw]
                       WHEN quantity_n > 2147483647 THEN ARRAY['out_of_range', 'quantity', quantity_raw]
                       WHEN amount_n < 0 OR amount_n >= 1e10 THEN ARRAY['out_of_range', 'amount', amount_raw]
                       WHEN k.store_id IS NULL THEN ARRAY['unknown_store', 'store', store_raw]
                       WHEN pr.product_id IS NULL THEN ARRAY['unknown_product', 'sku', sku_raw]
                   END AS err0,
                   NULL::jsonb AS notes
              FROM (
                SELECT t.*, parse_day(date_t) AS date_v, parse_decimal(quantity_t) AS quantity_n,
                       parse_decimal(amount_t) AS amount_n
                  FROM (
                    SELECT s._row, s.reference AS reference_raw, s.date AS date_raw, s.store AS store_raw,
                           s.sku AS sku_raw, s.reason AS reason_raw, s.quantity AS quantity_raw,
                           s.amount AS amount_raw,
                           clean_text(s.reference) AS reference_t, clean_text(s.date) AS date_t,
                           clean_text(s.store) AS store_t, clean_text(s.sku) AS sku_t,
                           clean_text(s.reason) AS reason_t, clean_text(s.quantity) AS quantity_t,
                           clean_text(s.amount) AS amount_t
                      FROM pg_temp.mm_src_losses s
                     WHERE import_progress(sheet_name, every)
                    OFFSET 0) AS t
                 WHERE num_nonnulls(reference_t, date_t, store_t, sku_t, reason_t, quantity_t, amount_t) > 0
                OFFSET 0) AS p
              LEFT JOIN pg_temp.mm_store_keys k ON k.key = header_key(p.store_t)
              LEFT JOIN products pr ON pr.sku = p.sku_t
            OFFSET 0) AS c
      ) AS v;

    PERFORM _import_duplicates('mm_losses', 'reference_t',
                               'date_id, store_id, product_id, reason_t, quantity_v, amount_v',
                               'reference', 'reference_raw');
    ANALYZE pg_temp.mm_losses;

    PERFORM import_activity(sheet_name || ': updating and inserting '
                            || (SELECT count(*) FROM pg_temp.mm_losses m WHERE m.err IS NULL) || ' rows');
    SELECT min(m.date_v), max(m.date_v) INTO lo, hi FROM pg_temp.mm_losses m WHERE m.err IS NULL;
    IF lo IS NOT NULL THEN
        PERFORM fill_dates(lo, hi);
    END IF;

    INSERT INTO loss_reasons (name)
    SELECT DISTINCT m.reason_t FROM pg_temp.mm_losses m
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM loss_reasons r WHERE r.name = m.reason_t);

    -- the facts: upsert, new months in bulk (partition.sql)
    PERFORM _import_drop('TABLE', 'mm_losses_facts');
    CREATE TEMP TABLE mm_losses_facts ON COMMIT DROP AS
    SELECT m.reference_t AS loss_ref, m.product_id, m.store_id, m.date_id, r.reason_id,
           m.quantity_v AS quantity, m.amount_v AS amount
      FROM pg_temp.mm_losses m JOIN loss_reasons r ON r.name = m.reason_t
     WHERE m.err IS NULL;
    SELECT f.inserted, f.updated INTO n_ins, n_upd FROM _import_facts('losses', 'pg_temp.mm_losses_facts') f;

    PERFORM _import_record('losses', sheet_name, hdr, n_ins, n_upd);
END
$$;
COMMENT ON FUNCTION megamarket._import_losses(text, jsonb, bigint) IS
'(internal to import_workbook) loads the losses sheet';

-- The import -------------------------------------------------------------------

CREATE FUNCTION megamarket.import_workbook(filename text, options jsonb DEFAULT '{}')
RETURNS TABLE (sheet text, inserted bigint, updated bigint, rejected bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    valid_options constant text[] := ARRAY['dry_run', 'sheets', 'max_rejects', 'max_reject_ratio', 'progress_every'];
    o_dry_run boolean := false;
    o_sheets text[];
    o_max_rejects bigint;
    o_max_ratio numeric := 0.05;
    o_every bigint := 100000;
    opt record;
    fp record;
    started timestamptz := clock_timestamp();
    s record;
    hdr jsonb;
    missing text;
    unknown text;
    n_rows bigint;
    n_rej bigint;
    saved_result jsonb;
    saved_rejects jsonb;
    run bigint;
BEGIN
    IF filename IS NULL THEN
        RAISE EXCEPTION 'import_workbook: filename must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- options ------------------------------------------------------------
    IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'import_workbook: options must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example ''{"dry_run": true}''.';
    END IF;
    FOR opt IN SELECT * FROM jsonb_each(options) LOOP
        IF NOT opt.key = ANY (valid_options) THEN
            RAISE EXCEPTION 'import_workbook: unknown option "%"', opt.key
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Valid options are: ' || array_to_string(valid_options, ', ') || '.';
        END IF;
        IF (opt.key = 'dry_run' AND jsonb_typeof(opt.value) <> 'boolean')
           OR (opt.key = 'sheets' AND (jsonb_typeof(opt.value) <> 'array'
                                       OR EXISTS (SELECT 1 FROM jsonb_array_elements(opt.value) e
                                                   WHERE jsonb_typeof(e) <> 'string')))
           OR (opt.key IN ('max_rejects', 'progress_every')
               AND (jsonb_typeof(opt.value) <> 'number' OR opt.value::numeric < 0
                    OR opt.value::numeric <> trunc(opt.value::numeric)
                    OR opt.value::numeric > 9223372036854775807))
           OR (opt.key = 'max_reject_ratio'
               AND (jsonb_typeof(opt.value) <> 'number' OR opt.value::numeric NOT BETWEEN 0 AND 1))
        THEN
            RAISE EXCEPTION 'import_workbook: invalid value for option "%": %', opt.key, opt.value
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = CASE opt.key
                          WHEN 'dry_run' THEN 'Use true or false.'
                          WHEN 'sheets' THEN 'Give an array of sheet names, e.g. ["Clientes", "Ventas"].'
                          WHEN 'max_reject_ratio' THEN 'Give a number from 0 to 1, e.g. 0.05.'
                          ELSE 'Give a whole number, 0 or more.' END;
        END IF;
    END LOOP;
    o_dry_run := coalesce((options ->> 'dry_run')::boolean, false);
    o_max_rejects := (options ->> 'max_rejects')::bigint;
    o_max_ratio := coalesce((options ->> 'max_reject_ratio')::numeric, o_max_ratio);
    o_every := coalesce((options ->> 'progress_every')::bigint, o_every);
    IF options ? 'sheets' THEN
        o_sheets := ARRAY(SELECT jsonb_array_elements_text(options -> 'sheets'));
    END IF;

    -- one import at a time: they upsert the same keys
    PERFORM pg_advisory_xact_lock(hashtext('megamarket.import_workbook'));

    -- the file: fingerprint (and the privilege check), then its sheets
    fp := file_fingerprint(filename);

    -- the workbook's sheets, read once
    PERFORM _import_drop('TABLE', 'mm_sheets');
    CREATE TEMP TABLE mm_sheets ON COMMIT DROP AS
    SELECT w."position", w.name FROM xlsx_sheets(filename) AS w;

    PERFORM _import_drop('TABLE', 'mm_plan');
    CREATE TEMP TABLE mm_plan ON COMMIT DROP AS
    SELECT x.sheet, x.load_order, w."position", w.name
      FROM import_sheets x
      LEFT JOIN pg_temp.mm_sheets w
        ON header_key(w.name) IN (SELECT header_key(n.name) FROM import_names n
                                   WHERE n.sheet = x.sheet AND n.field IS NULL);

    IF EXISTS (SELECT 1 FROM pg_temp.mm_plan p GROUP BY p.sheet HAVING count(*) > 1) THEN
        SELECT string_agg(format('"%s"', p.name), ' and ' ORDER BY p."position") INTO unknown
          FROM pg_temp.mm_plan p
         WHERE p.sheet = (SELECT q.sheet FROM pg_temp.mm_plan q GROUP BY q.sheet HAVING count(*) > 1 LIMIT 1);
        RAISE EXCEPTION 'import_workbook: sheets % of "%" hold the same data', unknown, filename
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Rename or remove one of them.';
    END IF;

    IF o_sheets IS NOT NULL THEN
        -- the sheets asked for, by key or by any of their names
        SELECT string_agg(format('"%s"', r), ', ') INTO unknown
          FROM unnest(o_sheets) AS r
         WHERE NOT EXISTS (SELECT 1 FROM import_sheets x WHERE x.sheet = r)
           AND NOT EXISTS (SELECT 1 FROM import_names n
                            WHERE n.field IS NULL AND header_key(n.name) = header_key(r));
        IF unknown IS NOT NULL THEN
            RAISE EXCEPTION 'import_workbook: unknown sheet %', unknown
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name sheets as in megamarket.import_names (Ventas, Sales, ...) or by key (stores, products, customers, campaigns, sales, losses).';
        END IF;
        DELETE FROM pg_temp.mm_plan p
         WHERE NOT EXISTS (SELECT 1 FROM unnest(o_sheets) AS r
                            WHERE r = p.sheet
                               OR header_key(r) IN (SELECT header_key(n.name) FROM import_names n
                                                     WHERE n.field IS NULL AND n.sheet = p.sheet));
    END IF;

    SELECT string_agg(format('%s (%s)', p.sheet,
                             (SELECT string_agg(format('"%s"', n.name), ' or ' ORDER BY n.builtin DESC, n.name)
                                FROM import_names n WHERE n.sheet = p.sheet AND n.field IS NULL)),
                      ', ' ORDER BY p.load_order)
      INTO missing
      FROM pg_temp.mm_plan p WHERE p.name IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'import_workbook: workbook "%" lacks sheets: %', filename, missing
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Its sheets are: %s.',
                                  (SELECT string_agg(format('"%s"', w.name), ', ' ORDER BY w."position")
                                     FROM pg_temp.mm_sheets w)),
                  HINT = 'Import only some sheets with the option "sheets", or map other names in megamarket.import_names.';
    END IF;

    PERFORM _import_drop('TABLE', 'mm_result');
    CREATE TEMP TABLE mm_result (
        sheet text, name text, rows_read bigint, inserted bigint, updated bigint,
        unchanged bigint, rejected bigint
    ) ON COMMIT DROP;
    PERFORM _import_drop('TABLE', 'mm_rejects');
    CREATE TEMP TABLE mm_rejects (
        sheet text, row_number integer, cell text, field text, value text, reason text, kept boolean
    ) ON COMMIT DROP;

    -- the sheets, dimensions first; a dry run undoes them and keeps the counts
    BEGIN
        FOR s IN SELECT * FROM pg_temp.mm_plan p ORDER BY p.load_order LOOP
            RAISE NOTICE 'import_workbook: loading sheet "%" (%)', s.name, s.sheet;
            hdr := _import_open(filename, s.name, s."position", s.sheet);
            CASE s.sheet
                WHEN 'stores' THEN PERFORM _import_stores(s.name, hdr, o_every);
                WHEN 'products' THEN PERFORM _import_products(s.name, hdr, o_every);
                WHEN 'customers' THEN PERFORM _import_customers(s.name, hdr, o_every);
                WHEN 'campaigns' THEN PERFORM _import_campaigns(s.name, hdr, o_every);
                WHEN 'sales' THEN PERFORM _import_sales(s.name, hdr, o_every);
                WHEN 'losses' THEN PERFORM _import_losses(s.name, hdr, o_every);
            END CASE;
            SELECT sum(r.rejected) INTO n_rej FROM pg_temp.mm_result r;
            IF o_max_rejects IS NOT NULL AND n_rej > o_max_rejects AND NOT o_dry_run THEN
                RAISE EXCEPTION 'import_workbook: % rows rejected, more than max_rejects (%); nothing was imported',
                        n_rej, o_max_rejects
                    USING ERRCODE = 'data_exception',
                          DETAIL = (SELECT 'Rejected by reason: ' || string_agg(format('%s %s', x.reason, x.n), ', ' ORDER BY x.n DESC, x.reason) || '.'
                                      FROM (SELECT r.reason, count(*) AS n FROM pg_temp.mm_rejects r
                                             WHERE NOT r.kept GROUP BY r.reason) AS x),
                          HINT = 'Run with {"dry_run": true} to see the rejects in megamarket.import_rejects, or raise max_rejects.';
            END IF;
        END LOOP;

        SELECT sum(r.rows_read), sum(r.rejected) INTO n_rows, n_rej FROM pg_temp.mm_result r;
        IF n_rows > 0 AND n_rej::numeric / n_rows > o_max_ratio AND NOT o_dry_run THEN
            RAISE EXCEPTION '%', format('import_workbook: %s of %s rows rejected (%s%%), more than max_reject_ratio (%s); nothing was imported',
                    n_rej, n_rows, round(100.0 * n_rej / n_rows, 1), o_max_ratio)
                USING ERRCODE = 'data_exception',
                      DETAIL = (SELECT 'Rejected by reason: ' || string_agg(format('%s %s', x.reason, x.n), ', ' ORDER BY x.n DESC, x.reason) || '.'
                                  FROM (SELECT r.reason, count(*) AS n FROM pg_temp.mm_rejects r
                                         WHERE NOT r.kept GROUP BY r.reason) AS x),
                      HINT = 'Run with {"dry_run": true} to see the rejects in megamarket.import_rejects, or raise max_reject_ratio.';
        END IF;

        IF o_dry_run THEN
            SELECT jsonb_agg(r) INTO saved_result FROM pg_temp.mm_result r;
            SELECT jsonb_agg(r) INTO saved_rejects FROM pg_temp.mm_rejects r;
            RAISE SQLSTATE 'MMDRY';
        END IF;
    EXCEPTION WHEN SQLSTATE 'MMDRY' THEN
        INSERT INTO pg_temp.mm_result
        SELECT * FROM jsonb_populate_recordset(NULL::pg_temp.mm_result, saved_result);
        INSERT INTO pg_temp.mm_rejects
        SELECT * FROM jsonb_populate_recordset(NULL::pg_temp.mm_rejects, saved_rejects);
    END;

    -- the run log
    INSERT INTO import_runs (filename, file_size, file_sha256, file_modified, options, dry_run,
                             started_at, finished_at, run_by, rows_read, inserted, updated,
                             unchanged, rejected, sheets)
    SELECT import_workbook.filename, fp.size, fp.sha256, fp.modified, options, o_dry_run,
           started, clock_timestamp(), current_user,
           coalesce(sum(r.rows_read), 0), coalesce(sum(r.inserted), 0), coalesce(sum(r.updated), 0),
           coalesce(sum(r.unchanged), 0), coalesce(sum(r.rejected), 0),
           coalesce(jsonb_agg(to_jsonb(r) ORDER BY p.load_order), '[]')
      FROM pg_temp.mm_result r JOIN import_sheets p ON p.sheet = r.sheet
    RETURNING run_id INTO run;

    INSERT INTO import_rejects (run_id, sheet, row_number, cell, field, value, reason, kept)
    SELECT run, r.sheet, r.row_number, r.cell, r.field, r.value, r.reason, r.kept
      FROM pg_temp.mm_rejects r
     ORDER BY r.sheet, r.row_number, r.kept;

    RAISE NOTICE 'import_workbook: run % %: % rows read, % inserted, % updated, % rejected',
        run, CASE WHEN o_dry_run THEN '(dry run, nothing loaded)' ELSE 'done' END,
        (SELECT sum(r.rows_read) FROM pg_temp.mm_result r),
        (SELECT sum(r.inserted) FROM pg_temp.mm_result r),
        (SELECT sum(r.updated) FROM pg_temp.mm_result r),
        (SELECT sum(r.rejected) FROM pg_temp.mm_result r);

    -- the temporary views and foreign tables would otherwise last the session
    FOR s IN SELECT * FROM pg_temp.mm_plan LOOP
        PERFORM _import_drop('VIEW', 'mm_src_' || s.sheet);
        PERFORM _import_drop('FOREIGN TABLE', 'mm_ft_' || s.sheet);
    END LOOP;

    RETURN QUERY
    SELECT r.name, r.inserted, r.updated, r.rejected
      FROM pg_temp.mm_result r JOIN import_sheets p ON p.sheet = r.sheet
     ORDER BY p.load_order;
END
$$;
COMMENT ON FUNCTION megamarket.import_workbook(text, jsonb) IS
'loads the chain''s workbook (Sucursales, Productos, Clientes, Campañas, Ventas, Pérdidas) into the warehouse in one transaction; see docs/import.md';

-- Writes the warehouse and reads server files: not for PUBLIC. The internal
-- functions are not either; docs/import.md lists the grants a loader role needs.
REVOKE ALL ON FUNCTION megamarket.import_workbook(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_open(text, text, integer, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_record(text, text, jsonb, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_duplicates(text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_stores(text, jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_products(text, jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_customers(text, jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_campaigns(text, jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_store_keys() FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_sales(text, jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_losses(text, jsonb, bigint) FROM PUBLIC;
