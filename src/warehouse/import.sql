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

CREATE FUNCTION megamarket.parse_integer(value text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'warehouse_parse_integer'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.parse_integer(text) IS
'parse_decimal()''s value when it is a whole number within bigint (12, -3, 12,00, 1.5E3), else NULL; read without a numeric when it can be';

CREATE FUNCTION megamarket.parse_day(value text)
RETURNS date
AS 'MODULE_PATHNAME', 'warehouse_parse_day'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.parse_day(text) IS
'a day as a workbook holds it (a date cell read as text, yyyy-mm-dd, or text dd/mm/yyyy), or NULL when it is not a real day in 1900-2999';

CREATE FUNCTION megamarket.header_distance(a text, b text)
RETURNS integer
AS 'MODULE_PATHNAME', 'warehouse_header_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.header_distance(text, text) IS
'edit distance between the header keys of two texts (import_preview()''s "closest name")';

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

-- (internal) The duplicate rule's first pass: true for a row whose key (the
-- arguments) hashes like a key seen earlier in the statement at this call
-- site; _import_duplicates() compares the candidates exactly.
CREATE FUNCTION megamarket._import_key_repeats(VARIADIC key "any")
RETURNS boolean
AS 'MODULE_PATHNAME', 'warehouse_import_key_repeats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION megamarket._import_key_repeats("any") IS
'(internal to import_workbook) true when this key''s hash was seen earlier in the statement at this call site: the candidates of the duplicate rule';
REVOKE ALL ON FUNCTION megamarket._import_key_repeats("any") FROM PUBLIC;

-- (internal) A 64-bit hash of a row (the values after the seed, NULLs
-- included), hashed as _import_key_repeats() hashes a key: _import_facts()
-- fingerprints each month of the staging and of the warehouse by the XOR of
-- it, and compares row by row only the months that differ.
CREATE FUNCTION megamarket._import_row_hash(seed bigint, VARIADIC "values" "any")
RETURNS bigint
AS 'MODULE_PATHNAME', 'warehouse_import_row_hash'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION megamarket._import_row_hash(bigint, "any") IS
'(internal to import_workbook) a seeded 64-bit hash of a row: the month fingerprints of the fact load';
REVOKE ALL ON FUNCTION megamarket._import_row_hash(bigint, "any") FROM PUBLIC;

-- Both rewrite this backend's pg_stat_activity.query: for the import only,
-- not for anyone who would like to hide what they run.
REVOKE ALL ON FUNCTION megamarket.import_progress(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket.import_activity(text) FROM PUBLIC;

-- The proposal's Clientes has a registration date; the warehouse keeps it
-- here (a column of its own: nothing else in warehouse.sql changes).
ALTER TABLE megamarket.customers ADD COLUMN registered_on date;
COMMENT ON COLUMN megamarket.customers.registered_on IS 'the day the customer registered, when the workbook says';

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
                    'text', 'code', 'store_code', 'sku', 'name', 'label', 'email', 'wallet',
                    'date', 'integer', 'quantity', 'money', 'ticket',
                    'store', 'product', 'customer', 'campaign'])),
    required    boolean NOT NULL,
    natural_key boolean NOT NULL DEFAULT false,
    stands_for  text[],
    max_value   numeric,
    not_before  text,
    dimension   text,
    description text NOT NULL,
    PRIMARY KEY (sheet, field),
    UNIQUE (sheet, position)
);
COMMENT ON TABLE megamarket.import_fields IS 'the columns of each sheet, how they are cleaned and whether they are required (reference data)';
COMMENT ON COLUMN megamarket.import_fields.sheet IS 'the sheet (import_sheets)';
COMMENT ON COLUMN megamarket.import_fields.field IS 'the column''s key; its header texts are in import_names';
COMMENT ON COLUMN megamarket.import_fields.position IS 'order of the checks within a row';
COMMENT ON COLUMN megamarket.import_fields.kind IS 'how the cell is cleaned and checked (docs/import.md, "Cleaning rules"); the loader reads it';
COMMENT ON COLUMN megamarket.import_fields.required IS 'an empty cell rejects the row (missing_required)';
COMMENT ON COLUMN megamarket.import_fields.natural_key IS 'part of the key rows are upserted on; repeated keys are duplicates';
COMMENT ON COLUMN megamarket.import_fields.max_value IS 'money: the first value out of range (the target column''s precision)';
COMMENT ON COLUMN megamarket.import_fields.not_before IS 'date: a field of the same sheet this one must not precede (reason <field>_before_<that field>)';
COMMENT ON COLUMN megamarket.import_fields.dimension IS 'name: the dimension table (one row per name) the value is a member of; names not there yet are added';
COMMENT ON COLUMN megamarket.import_fields.stands_for IS 'fields of the same sheet this column feeds when the sheet has no column of their own (store_id stands for the code, sale_id for ticket and line)';
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

INSERT INTO megamarket.import_fields (sheet, field, position, kind, required, natural_key, stands_for, description) VALUES
    ('stores', 'code', 1, 'store_code', true, true, NULL, 'stores.code, upper-cased'),
    ('stores', 'name', 2, 'name', true, false, NULL, 'stores.name'),
    ('stores', 'city', 3, 'name', false, false, NULL, 'cities.name (needs the region)'),
    ('stores', 'region', 4, 'name', false, false, NULL, 'regions.name'),
    ('stores', 'address', 5, 'text', false, false, NULL, 'stores.location'),
    ('stores', 'opened', 6, 'date', false, false, NULL, 'stores.opened_on'),
    ('stores', 'store_id', 7, 'store_code', false, true, '{code}', 'stores.code when the sheet has no Code column (the proposal''s store_id)'),
    ('products', 'sku', 1, 'sku', true, true, NULL, 'products.sku'),
    ('products', 'name', 2, 'label', true, false, NULL, 'products.name'),
    ('products', 'category', 3, 'name', false, false, NULL, 'categories.name; none: "Sin asignar"'),
    ('products', 'department', 4, 'name', false, false, NULL, 'departments.name; none: the category''s, else "Sin asignar"'),
    ('products', 'price', 5, 'money', true, false, NULL, 'products.price'),
    ('products', 'product_id', 6, 'sku', false, true, '{sku}', 'products.sku when the sheet has no SKU column (the proposal''s product_id)'),
    ('customers', 'code', 1, 'code', true, true, NULL, 'customers.code'),
    ('customers', 'name', 2, 'label', true, false, NULL, 'customers.name'),
    ('customers', 'email', 3, 'email', false, false, NULL, 'customers.email, lower-cased'),
    ('customers', 'segment', 4, 'name', false, false, NULL, 'segments.name'),
    ('customers', 'wallet', 5, 'wallet', false, false, NULL, 'customers.wallet_address, lower-cased'),
    ('customers', 'registered', 6, 'date', false, false, NULL, 'customers.registered_on'),
    ('customers', 'customer_id', 7, 'code', false, true, '{code}', 'customers.code when the sheet has no Code column (the proposal''s customer_id)'),
    ('campaigns', 'code', 1, 'code', true, true, NULL, 'campaigns.code'),
    ('campaigns', 'name', 2, 'label', true, false, NULL, 'campaigns.name'),
    ('campaigns', 'channel', 3, 'name', false, false, NULL, 'channels.name'),
    ('campaigns', 'target_segment', 4, 'name', false, false, NULL, 'segments.name of campaigns.target_segment_id'),
    ('campaigns', 'start', 5, 'date', true, false, NULL, 'campaigns.start_date'),
    ('campaigns', 'end', 6, 'date', true, false, NULL, 'campaigns.end_date'),
    ('campaigns', 'budget', 7, 'money', true, false, NULL, 'campaigns.budget'),
    ('campaigns', 'campaign_id', 8, 'code', false, true, '{code}', 'campaigns.code when the sheet has no Code column (the proposal''s campaign_id)'),
    ('sales', 'ticket', 1, 'ticket', true, true, NULL, 'sales.ticket_id'),
    ('sales', 'line', 2, 'integer', true, true, NULL, 'sales.line_no'),
    ('sales', 'date', 3, 'date', true, false, NULL, 'sales.date_id'),
    ('sales', 'store', 4, 'store', true, false, NULL, 'sales.store_id, by store name or code'),
    ('sales', 'customer', 5, 'customer', false, false, NULL, 'sales.customer_id, by customer code'),
    ('sales', 'sku', 6, 'product', true, false, NULL, 'sales.product_id, by SKU'),
    ('sales', 'quantity', 7, 'quantity', true, false, NULL, 'sales.quantity'),
    ('sales', 'amount', 8, 'money', true, false, NULL, 'sales.amount'),
    ('sales', 'campaign', 9, 'campaign', false, false, NULL, 'sales.campaign_id, by campaign code'),
    ('sales', 'sale_id', 10, 'integer', false, true, '{line,ticket}', 'the line''s key when the sheet has no Line column: sales.line_no = sale_id, and sales.ticket_id too when it has no Ticket column (the proposal''s sale_id)'),
    ('losses', 'reference', 1, 'code', true, true, NULL, 'losses.loss_ref'),
    ('losses', 'date', 2, 'date', true, false, NULL, 'losses.date_id'),
    ('losses', 'store', 3, 'store', true, false, NULL, 'losses.store_id, by store name or code'),
    ('losses', 'sku', 4, 'product', true, false, NULL, 'losses.product_id, by SKU'),
    ('losses', 'reason', 5, 'name', true, false, NULL, 'loss_reasons.name'),
    ('losses', 'quantity', 6, 'quantity', true, false, NULL, 'losses.quantity'),
    ('losses', 'amount', 7, 'money', true, false, NULL, 'losses.amount'),
    ('losses', 'loss_id', 8, 'code', false, true, '{reference}', 'losses.loss_ref when the sheet has no Reference column (the proposal''s loss_id)');

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

-- money: beyond the target column's precision; a campaign ends on or after its start
UPDATE megamarket.import_fields SET max_value = 1e10 WHERE kind = 'money' AND field <> 'budget';
UPDATE megamarket.import_fields SET max_value = 1e12 WHERE sheet = 'campaigns' AND field = 'budget';
UPDATE megamarket.import_fields SET not_before = 'start' WHERE sheet = 'campaigns' AND field = 'end';
-- names that are members of a flat dimension (cities, categories and
-- departments have parents: their sheets' writes add them)
UPDATE megamarket.import_fields SET dimension = 'regions' WHERE sheet = 'stores' AND field = 'region';
UPDATE megamarket.import_fields SET dimension = 'segments' WHERE sheet = 'customers' AND field = 'segment';
UPDATE megamarket.import_fields SET dimension = 'channels' WHERE sheet = 'campaigns' AND field = 'channel';
UPDATE megamarket.import_fields SET dimension = 'segments' WHERE sheet = 'campaigns' AND field = 'target_segment';
UPDATE megamarket.import_fields SET dimension = 'loss_reasons' WHERE sheet = 'losses' AND field = 'reason';

-- The proposal's own layout (section 4.2: snake_case English, and the same in
-- Spanish), with no setup: its *_id keys, name, location, dates and date_id.
INSERT INTO megamarket.import_names (sheet, field, name, builtin) VALUES
    ('stores', 'store_id', 'store_id', true), ('stores', 'store_id', 'id_sucursal', true),
    ('stores', 'store_id', 'id', true),
    ('stores', 'name', 'Name', true), ('stores', 'name', 'Nombre', true),
    ('stores', 'address', 'Location', true), ('stores', 'address', 'Ubicación', true),
    ('products', 'product_id', 'product_id', true), ('products', 'product_id', 'id_producto', true),
    ('products', 'product_id', 'id', true),
    ('products', 'name', 'Name', true), ('products', 'name', 'Nombre', true),
    ('customers', 'customer_id', 'customer_id', true), ('customers', 'customer_id', 'id_cliente', true),
    ('customers', 'customer_id', 'id', true),
    ('customers', 'registered', 'registration_date', true), ('customers', 'registered', 'fecha_registro', true),
    ('customers', 'registered', 'Registered', true), ('customers', 'registered', 'Alta', true),
    ('customers', 'registered', 'fecha_alta', true),
    ('campaigns', 'campaign_id', 'campaign_id', true), ('campaigns', 'campaign_id', 'id_campaña', true),
    ('campaigns', 'campaign_id', 'id', true),
    ('campaigns', 'name', 'Name', true), ('campaigns', 'name', 'Nombre', true),
    ('campaigns', 'start', 'start_date', true), ('campaigns', 'start', 'fecha_inicio', true),
    ('campaigns', 'end', 'end_date', true), ('campaigns', 'end', 'fecha_fin', true),
    ('sales', 'sale_id', 'sale_id', true), ('sales', 'sale_id', 'id_venta', true),
    ('sales', 'sale_id', 'id', true),
    ('sales', 'ticket', 'ticket_id', true), ('sales', 'ticket', 'id_ticket', true),
    ('sales', 'date', 'date_id', true), ('sales', 'date', 'id_fecha', true),
    ('sales', 'store', 'store_id', true), ('sales', 'store', 'id_sucursal', true),
    ('sales', 'customer', 'customer_id', true), ('sales', 'customer', 'id_cliente', true),
    ('sales', 'sku', 'product_id', true), ('sales', 'sku', 'id_producto', true),
    ('sales', 'campaign', 'campaign_id', true), ('sales', 'campaign', 'id_campaña', true),
    ('sales', 'amount', 'Monto', true),
    ('losses', 'loss_id', 'loss_id', true), ('losses', 'loss_id', 'id_pérdida', true),
    ('losses', 'loss_id', 'id', true),
    ('losses', 'date', 'date_id', true), ('losses', 'date', 'id_fecha', true),
    ('losses', 'store', 'store_id', true), ('losses', 'store', 'id_sucursal', true),
    ('losses', 'sku', 'product_id', true), ('losses', 'sku', 'id_producto', true),
    ('losses', 'amount', 'Monto', true);

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

-- (internal) How a header row maps to a sheet's fields: one row per field,
-- with the column that feeds it (col), a second column naming it too (col2,
-- an error for the import), and via: the stand-in field whose column feeds it
-- when the sheet has no column of its own (store_id for code). Used by the
-- import and by import_preview(); reads only the reference tables.
CREATE FUNCTION megamarket._import_map_header(sheet_key text, header text[])
RETURNS TABLE (field text, required boolean, "position" smallint, col integer, col2 integer, via text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
    WITH h AS (
        SELECT h.i::integer AS i, megamarket.header_key(h.t) AS k
          FROM unnest(header) WITH ORDINALITY AS h(t, i)
         WHERE megamarket.clean_text(h.t) IS NOT NULL
    ), m AS (
        SELECT f.field, f.required, f."position", f.stands_for,
               (SELECT array_agg(h.i ORDER BY h.i) FROM h
                 WHERE h.k IN (SELECT megamarket.header_key(n.name) FROM megamarket.import_names n
                                WHERE n.sheet = sheet_key AND n.field = f.field)) AS cols
          FROM megamarket.import_fields f
         WHERE f.sheet = sheet_key
    )
    SELECT m.field, m.required, m."position",
           coalesce(m.cols[1], s.cols[1]), m.cols[2],
           CASE WHEN m.cols IS NULL THEN s.field END
      FROM m
      LEFT JOIN LATERAL (SELECT s.field, s.cols FROM m s
                          WHERE m.field = ANY (s.stands_for) AND s.cols IS NOT NULL
                          ORDER BY s."position" LIMIT 1) AS s ON true
     ORDER BY m."position"
$$;
COMMENT ON FUNCTION megamarket._import_map_header(text, text[]) IS
'(internal to import_workbook and import_preview) the columns of a header row that feed a sheet''s fields';

-- (internal) The foreign table over a sheet (columns c1 .. c256 as text,
-- _row the sheet row) and its header row: among the first 20 non-blank rows,
-- the first that names every required field (title rows above the table are
-- common); failing that, the first non-blank row. NULL when the sheet is
-- blank. Used by the import and by import_preview().
CREATE FUNCTION megamarket._import_sheet_header(filename text, sheet_position integer,
                                                sheet_key text, ft text,
                                                OUT header_row integer, OUT header text[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    cols text;
    arr text;
    nonblank text;
    cand record;
BEGIN
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
    -- (COALESCE, not num_nonnulls(): a function takes at most 100 arguments)
    FOR cand IN EXECUTE format('SELECT _row, ARRAY[%s] AS cells FROM pg_temp.%I WHERE COALESCE(%s) IS NOT NULL LIMIT 20',
                               arr, ft, nonblank)
    LOOP
        IF header_row IS NULL THEN
            header_row := cand._row;
            header := cand.cells;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM megamarket._import_map_header(sheet_key, cand.cells) m
                        WHERE m.required AND m.col IS NULL) THEN
            header_row := cand._row;
            header := cand.cells;
            EXIT;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION megamarket._import_sheet_header(text, integer, text, text) IS
'(internal to import_workbook and import_preview) a temporary foreign table over a sheet, and its header row';

-- (internal) Open one sheet of the workbook for the import: the foreign
-- table and header of _import_sheet_header(), the header matched against
-- import_names, and a temporary view pg_temp.mm_src_<sheet> with one text
-- column per field (NULL for an optional field the sheet lacks; a stand-in's
-- column for a field the sheet lacks, e.g. store_id for code) and _row, the
-- sheet row. Returns {"header_row": n, "cells": {"field": "C", ...}}.
CREATE FUNCTION megamarket._import_open(filename text, sheet_name text, sheet_position integer,
                                        sheet_key text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    ft text := 'mm_ft_' || sheet_key;
    src text := 'mm_src_' || sheet_key;
    hr record;
    f record;
    sel text := '_row';
    cells jsonb := '{}';
    known text;
    standins text;
BEGIN
    PERFORM megamarket._import_drop('VIEW', src);
    hr := megamarket._import_sheet_header(filename, sheet_position, sheet_key, ft);
    IF hr.header_row IS NULL THEN
        RAISE EXCEPTION 'import_workbook: sheet "%" is empty', sheet_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A sheet needs a header row naming its columns.',
                  HINT = 'Leave the sheet out with the option "sheets".';
    END IF;

    FOR f IN SELECT * FROM megamarket._import_map_header(sheet_key, hr.header) LOOP
        IF f.col2 IS NOT NULL THEN
            RAISE EXCEPTION 'import_workbook: sheet "%" has two columns for "%": % and %',
                    sheet_name, f.field,
                    megamarket.column_letters(f.col) || hr.header_row,
                    megamarket.column_letters(f.col2) || hr.header_row
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Rename one of the header cells, or run megamarket.import_preview() to see how each column is read.';
        END IF;
        IF f.col IS NULL THEN
            IF f.required THEN
                SELECT string_agg(format('"%s"', n.name), ', ' ORDER BY n.builtin DESC, n.name) INTO known
                  FROM megamarket.import_names n WHERE n.sheet = sheet_key AND n.field = f.field;
                SELECT string_agg(format('"%s"', x.field), ' or ') INTO standins
                  FROM megamarket.import_fields x
                 WHERE x.sheet = sheet_key AND f.field = ANY (x.stands_for);
                RAISE EXCEPTION 'import_workbook: sheet "%" has no column for "%"', sheet_name, f.field
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = format('The header is row %s: %s. Known names for "%s": %s.',
                                          hr.header_row,
                                          (SELECT string_agg(format('"%s"', t), ', ')
                                             FROM unnest(hr.header) AS t WHERE t IS NOT NULL),
                                          f.field, known),
                          HINT = 'Add the sheet''s header text to megamarket.import_names'
                                 || coalesce(format(' (or give the sheet a %s column)', standins), '')
                                 || '; megamarket.import_preview() shows the closest names.';
            END IF;
            sel := sel || format(', NULL::text AS %I', f.field);
        ELSE
            sel := sel || format(', c%s AS %I', f.col, f.field);
            cells := cells || jsonb_build_object(f.field, megamarket.column_letters(f.col));
            IF f.via IS NOT NULL THEN
                RAISE NOTICE 'import_workbook: sheet "%": column % ("%") is the sheet''s "%"',
                    sheet_name, megamarket.column_letters(f.col), hr.header[f.col], f.field;
            END IF;
        END IF;
    END LOOP;

    -- a header that names no field of this sheet but fields of others is
    -- not guessed at: said, and ignored
    SELECT string_agg(format('%s ("%s": %s)', column_letters(h.i::integer), h.t, h.fields), ', ' ORDER BY h.i)
      INTO known
      FROM (SELECT t.i, t.t, string_agg(DISTINCT format('%s.%s', n.sheet, n.field), ' or ') AS fields
              FROM unnest(hr.header) WITH ORDINALITY AS t(t, i), megamarket.import_names n
             WHERE megamarket.clean_text(t.t) IS NOT NULL
               AND n.field IS NOT NULL AND n.sheet <> sheet_key
               AND megamarket.header_key(n.name) = megamarket.header_key(t.t)
               AND NOT EXISTS (SELECT 1 FROM megamarket.import_names o
                                WHERE o.sheet = sheet_key AND o.field IS NOT NULL
                                  AND megamarket.header_key(o.name) = megamarket.header_key(t.t))
             GROUP BY t.i, t.t) AS h;
    IF known IS NOT NULL THEN
        RAISE NOTICE 'import_workbook: sheet "%": ambiguous columns ignored: %', sheet_name, known
            USING HINT = 'They name no field of this sheet. Map one in megamarket.import_names if it is meant.';
    END IF;

    EXECUTE format('CREATE TEMP VIEW %I AS SELECT %s FROM pg_temp.%I WHERE _row > %s',
                   src, sel, ft, hr.header_row);
    RETURN jsonb_build_object('header_row', hr.header_row, 'cells', cells);
END
$$;
COMMENT ON FUNCTION megamarket._import_open(text, text, integer, text) IS
'(internal to import_workbook) opens a sheet through a temporary xlsx_fdw foreign table and maps its header';

-- (internal) After a sheet's stage table pg_temp.mm_<sheet> is built: its
-- rejects and notes into pg_temp.mm_rejects (one scan of the stage), its
-- counts into pg_temp.mm_result (n_read: the rows staged).
-- Without JIT: one scan of the stage that keeps only the rejected rows,
-- which the cost estimate of a million-row stage would compile with
-- inlining and optimisation for nothing (Ventas of the large workbook,
-- alternating: 230-275 ms with JIT, 121-154 ms without).
CREATE FUNCTION megamarket._import_record(sheet_key text, sheet_name text, hdr jsonb,
                                          inserted bigint, updated bigint, n_read bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
SET jit = off
AS $$
DECLARE
    n_rej bigint;
    n_kept bigint;
BEGIN
    EXECUTE format($q$
        INSERT INTO pg_temp.mm_rejects (sheet, row_number, cell, field, value, reason, kept)
        SELECT %1$L, m._row, (%2$L::jsonb ->> x.field) || m._row, x.field, x.value, x.reason, x.kept
          FROM pg_temp.%3$I m
          CROSS JOIN LATERAL (
                SELECT m.err[2] AS field, m.err[3] AS value, m.err[1] AS reason, false AS kept
                 WHERE m.err IS NOT NULL
                UNION ALL
                SELECT n ->> 1, n ->> 2, n ->> 0, true
                  FROM jsonb_array_elements(m.notes) AS n
                 WHERE m.err IS NULL) AS x
         WHERE m.err IS NOT NULL OR m.notes IS NOT NULL$q$,
        sheet_name, hdr -> 'cells', 'mm_' || sheet_key);
    SELECT count(*) FILTER (WHERE NOT r.kept), count(*) FILTER (WHERE r.kept) INTO n_rej, n_kept
      FROM pg_temp.mm_rejects r WHERE r.sheet = sheet_name;
    INSERT INTO pg_temp.mm_result (sheet, name, rows_read, inserted, updated, unchanged, rejected)
    VALUES (sheet_key, sheet_name, n_read, inserted, updated, n_read - n_rej - inserted - updated, n_rej);
    PERFORM import_activity(NULL);
    RAISE NOTICE 'import_workbook: sheet "%": % rows read, % inserted, % updated, % unchanged, % rejected%',
        sheet_name, n_read, inserted, updated, n_read - n_rej - inserted - updated, n_rej,
        CASE WHEN n_kept > 0 THEN format(', %s values dropped', n_kept) ELSE '' END;
END
$$;
COMMENT ON FUNCTION megamarket._import_record(text, text, jsonb, bigint, bigint, bigint) IS
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
DECLARE
    n bigint;
BEGIN
    -- the candidates first, in one scan that neither sorts nor groups every
    -- key: _import_key_repeats() passes a row whose key hashes like an
    -- earlier row's, that is every later row of a repeated key (and the rare
    -- key whose hash collides with another's). Most sheets have none, and
    -- then nothing else is read. The update below compares the candidates'
    -- rows exactly: a collision alone marks nothing.
    PERFORM _import_drop('TABLE', 'mm_dup_keys');
    EXECUTE format('CREATE TEMP TABLE mm_dup_keys ON COMMIT DROP AS
                    SELECT DISTINCT %2$s FROM pg_temp.%1$I c
                     WHERE CASE WHEN c.err IS NULL THEN megamarket._import_key_repeats(%2$s) ELSE false END',
                   stage, key_cols);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN;
    END IF;
    EXECUTE format($q$
        UPDATE pg_temp.%1$I m
           SET err = CASE WHEN d.same THEN ARRAY['duplicate_row', NULL, NULL]
                          ELSE ARRAY['duplicate_key', %4$L, m.%5$I] END
          FROM (SELECT x.ctid AS tid, row_number() OVER w AS rn,
                       ROW(%3$s)::text = first_value(ROW(%3$s)::text) OVER w AS same
                  FROM pg_temp.%1$I x
                 WHERE x.err IS NULL
                   AND (%2$s) IN (SELECT %2$s FROM pg_temp.mm_dup_keys)
                WINDOW w AS (PARTITION BY %2$s ORDER BY x._row)) AS d
         WHERE m.ctid = d.tid AND d.rn > 1$q$,
        stage, key_cols, value_cols, key_field, key_raw);
END
$$;
COMMENT ON FUNCTION megamarket._import_duplicates(text, text, text, text, text) IS
'(internal to import_workbook) marks repeated natural keys in a stage table as duplicate_row or duplicate_key';

-- (internal) Stores by the header_key (case, accents and spaces aside) of
-- their name or code, to match a store cell of a fact. A name wins over
-- another store's code.
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
    -- the names and codes exactly as the warehouse writes them, each with
    -- the store its header_key finds above: a cell that is one of them (most
    -- are) is matched without calling header_key() on it
    PERFORM _import_drop('TABLE', 'mm_store_texts');
    CREATE TEMP TABLE mm_store_texts ON COMMIT DROP AS
    SELECT DISTINCT t.text, k.store_id
      FROM (SELECT s.name AS text FROM stores s UNION SELECT s.code FROM stores s) AS t
      JOIN pg_temp.mm_store_keys k ON k.key = header_key(t.text);
    -- their sizes, for the staging's plan: unknown, a temporary table is
    -- taken for a thousand rows or more, and the fact sheets' lookups of a
    -- few stores became sorts and merge joins of the whole sheet (Pérdidas'
    -- 50,000 lines: 280 ms, 180-190 ms with hash joins)
    ANALYZE pg_temp.mm_store_keys;
    ANALYZE pg_temp.mm_store_texts;
END
$$;
COMMENT ON FUNCTION megamarket._import_store_keys() IS
'(internal to import_workbook) the lookup of stores by name or code (pg_temp.mm_store_keys by header_key, pg_temp.mm_store_texts by exact text)';

-- (internal) The loader's first half, the same for every sheet and driven by
-- import_fields: read the sheet's view pg_temp.mm_src_<sheet>, clean each
-- cell by its field's kind, check the rows, resolve references, and mark
-- repeated natural keys. The result is the stage table pg_temp.mm_<sheet>:
-- _row; for each field f (stand-ins aside) f_raw (the cell's text; on the
-- fact sheets only for the natural key) and f_v (the clean value: text,
-- date, integer, numeric(…,2), or the referenced dimension's key); err, the first rule a row breaks as
-- {reason, field, raw text}, NULL when accepted; notes, values dropped from
-- a kept row as [[reason, field, raw], ...].
--
-- The rules, in this order (docs/import.md, "Cleaning rules"): missing
-- required fields, keys too long, values that do not parse, values out of
-- range, references to nothing; then duplicates of an earlier row's key.
-- Within a rule, fields go by import_fields.position.
--
-- The query is one style throughout: levels fenced with OFFSET 0, so that
-- each cell is cleaned and parsed once per row (inlined, the planner would
-- repeat the expressions wherever a later level uses them).
CREATE FUNCTION megamarket._import_stage(sheet_key text, sheet_name text, every bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    stage text := 'mm_' || sheet_key;
    maxlen integer := megamarket.key_max_length();
    f record;
    l1 text := 's._row';       -- raw and trimmed
    l2 text := 't.*';          -- parsed
    refcols text := '';        -- references
    joins text := '';
    l4 text := '_row';         -- clean values
    nonblank text := '';
    req text := '';
    toolong text := '';
    parse text := '';
    range text := '';
    refs text := '';
    notes text := '';
    keys text := '';
    vals text := '';
    key_field text;
    r text;                    -- f_raw
    t text;                    -- f_t
    n text;                    -- f_n, a parsed number
    i text;                    -- f_i, a parsed whole number (bigint)
    dn text;                   -- the exact number of a whole-number field's cell
    whole boolean;             -- a whole-number field (integer, quantity, ticket)
    v text;                    -- f_v
    j text;                    -- the join alias of a reference
    -- a fact sheet (many rows): the stage keeps the clean values, and the
    -- raw text only of the natural key (a rejected row's raw cell is in its
    -- err); a dimension sheet keeps every cell's raw text for its writes'
    -- own rules (_import_apply_stores, ...)
    lean boolean := sheet_key IN ('sales', 'losses');
    old_work_mem text;
    parsed boolean;            -- a number or a day
    nv text;                   -- its parsed value: f_n, or f_v for a day
    tx text;                   -- the trimmed text: f_t, or how to compute it
    nonblank2 text := '';      -- a row is blank when none of these is set either
    n_staged bigint;
BEGIN
    FOR f IN SELECT x.* FROM import_fields x
              WHERE x.sheet = sheet_key AND x.stands_for IS NULL
              ORDER BY x."position"
    LOOP
        r := f.field || '_raw';
        t := f.field || '_t';
        n := f.field || '_n';
        v := f.field || '_v';
        j := 'j_' || f.field;
        -- a parsed field (a number or a day) is parsed from the raw cell (the
        -- parsers trim as clean_text does); its trimmed text, tx, is only
        -- computed where a rule needs it, for a cell that did not parse
        parsed := f.kind IN ('date', 'integer', 'quantity', 'money', 'ticket');
        -- a whole-number field is read as a bigint (parse_integer(), no
        -- numeric); the exact number (dn, parse_decimal()) is only computed
        -- in the rules' branches for a cell that is not one, so every rule
        -- below decides as it would on the number itself
        whole := f.kind IN ('integer', 'quantity', 'ticket');
        i := f.field || '_i';
        dn := format('megamarket.parse_decimal(%I)', r);
        nv := CASE WHEN f.kind = 'date' THEN v WHEN whole THEN i ELSE n END;
        tx := CASE WHEN parsed THEN format('megamarket.clean_text(%I)', r) ELSE quote_ident(t) END;
        IF parsed THEN
            l1 := l1 || format(', s.%I AS %I', f.field, r);
            nonblank := nonblank || CASE WHEN nonblank = '' THEN '' ELSE ', ' END || quote_ident(nv);
            nonblank2 := nonblank2 || CASE WHEN nonblank2 = '' THEN '' ELSE ', ' END || tx;
        ELSE
            l1 := l1 || format(', s.%I AS %I, %s AS %I', f.field, r,
                               CASE WHEN f.kind IN ('email', 'wallet')
                                    THEN format('lower(megamarket.clean_text(s.%I))', f.field)
                                    WHEN f.kind = 'store_code'
                                    THEN format('upper(megamarket.clean_text(s.%I))', f.field)
                                    ELSE format('megamarket.clean_text(s.%I)', f.field) END, t);
            nonblank := nonblank || CASE WHEN nonblank = '' THEN '' ELSE ', ' END || quote_ident(t);
        END IF;
        IF NOT lean OR f.natural_key THEN
            l4 := l4 || format(', %I', r);
        END IF;

        IF f.required THEN
            req := req || format(' WHEN %s%s IS NULL THEN ARRAY[''missing_required'', %L, %I]',
                                 CASE WHEN parsed THEN quote_ident(nv) || ' IS NULL AND ' ELSE '' END, tx, f.field, r);
        END IF;
        IF f.kind IN ('name', 'code', 'ticket') THEN
            toolong := toolong || format(' WHEN %slength(%s) > %s%s THEN ARRAY[''too_long'', %L, %I]',
                                         CASE WHEN parsed THEN quote_ident(nv) || ' IS NULL AND ' ELSE '' END,
                                         tx, maxlen, CASE WHEN whole THEN format(' AND %s IS NULL', dn) ELSE '' END,
                                         f.field, r);
        END IF;

        CASE f.kind
        WHEN 'store_code' THEN
            parse := parse || format(' WHEN NOT megamarket.is_store_code(%I) THEN ARRAY[''bad_code'', %L, %I]', t, f.field, r);
            l4 := l4 || format(', %I AS %I', t, v);
        WHEN 'sku' THEN
            parse := parse || format(' WHEN NOT megamarket.is_sku(%I) THEN ARRAY[''bad_code'', %L, %I]', t, f.field, r);
            l4 := l4 || format(', %I AS %I', t, v);
        WHEN 'date' THEN
            l2 := l2 || format(', megamarket.parse_day(%I) AS %I', r, v);
            parse := parse || format(' WHEN %I IS NULL AND %s IS NOT NULL THEN ARRAY[''bad_date'', %L, %I]', v, tx, f.field, r);
            l4 := l4 || format(', %I', v);
            IF lean THEN
                -- a fact's day is its date dimension key (<field>_id: date_id)
                l4 := l4 || format(', CASE WHEN err IS NULL THEN megamarket.date_id(%I) END AS %I', v, f.field || '_id');
            END IF;
            IF f.not_before IS NOT NULL THEN
                range := range || format(' WHEN %I < %I THEN ARRAY[%L, %L, %I]',
                                         v, f.not_before || '_v', f.field || '_before_' || f.not_before, f.field, r);
            END IF;
        WHEN 'integer', 'quantity' THEN
            -- not a number, or not whole
            l2 := l2 || format(', megamarket.parse_integer(%I) AS %I', r, i);
            parse := parse || format(' WHEN %1$I IS NULL AND %2$s IS NOT NULL AND (%3$s IS NULL OR %3$s <> trunc(%3$s)) THEN ARRAY[''bad_number'', %4$L, %5$I]',
                                     i, tx, dn, f.field, r);
            IF f.kind = 'quantity' THEN
                range := range || format(' WHEN coalesce(%I <= 0, %s <= 0) THEN ARRAY[''negative_quantity'', %L, %I]', i, dn, f.field, r);
            ELSE
                range := range || format(' WHEN coalesce(%I < 1, %s < 1) THEN ARRAY[''out_of_range'', %L, %I]', i, dn, f.field, r);
            END IF;
            range := range || format(' WHEN coalesce(%I > 2147483647, %s > 2147483647) THEN ARRAY[''out_of_range'', %L, %I]', i, dn, f.field, r);
            l4 := l4 || format(', CASE WHEN err IS NULL THEN %I::integer END AS %I', i, v);
        WHEN 'money' THEN
            l2 := l2 || format(', megamarket.parse_decimal(%I) AS %I', r, n);
            parse := parse || format(' WHEN %I IS NULL AND %s IS NOT NULL THEN ARRAY[''bad_number'', %L, %I]', n, tx, f.field, r);
            range := range || format(' WHEN %I < 0 OR %I >= %s THEN ARRAY[''out_of_range'', %L, %I]',
                                     n, n, f.max_value, f.field, r);
            l4 := l4 || format(', CASE WHEN err IS NULL THEN round(%I, 2) END AS %I', n, v);
        WHEN 'ticket' THEN
            -- a whole number is its digits (a number cell or text); other text is the ticket's code
            l2 := l2 || format(', megamarket.parse_integer(%I) AS %I', r, i);
            parse := parse || format(' WHEN %1$I IS NULL AND %2$s IS NOT NULL AND %2$s <> trunc(%2$s) THEN ARRAY[''bad_number'', %3$L, %4$I]',
                                     i, dn, f.field, r);
            l4 := l4 || format(', CASE WHEN err IS NULL THEN coalesce(%I::text, trunc(%s)::text, %s) END AS %I', i, dn, tx, v);
        WHEN 'email', 'wallet' THEN
            -- a bad one is dropped, the row kept (a note)
            l2 := l2 || format(', %I ~ %L AS %I', t,
                               CASE f.kind WHEN 'email' THEN '^[a-z0-9._%+''-]+@[a-z0-9.-]+\.[a-z]{2,}$'
                                           ELSE '^0x[0-9a-f]{40}$' END, f.field || '_ok');
            notes := notes || format(' || CASE WHEN %I IS NOT NULL AND NOT %I THEN jsonb_build_array(jsonb_build_array(%L, %L, %I)) ELSE ''[]'' END',
                                     t, f.field || '_ok', 'bad_' || f.kind, f.field, r);
            l4 := l4 || format(', CASE WHEN %I THEN %I END AS %I', f.field || '_ok', t, v);
        WHEN 'store' THEN
            -- the exact text first; header_key() only for a cell that is not
            -- a store's name or code as written (_import_store_keys)
            joins := joins || format(' LEFT JOIN pg_temp.mm_store_texts %1$I ON %1$I.text = p.%3$I'
                                     ' LEFT JOIN pg_temp.mm_store_keys %2$I'
                                     ' ON %2$I.key = CASE WHEN %1$I.store_id IS NULL THEN megamarket.header_key(p.%3$I) END',
                                     j || '_x', j, t);
            refcols := refcols || format(', coalesce(%I.store_id, %I.store_id) AS %I', j || '_x', j, v);
        WHEN 'product' THEN
            joins := joins || format(' LEFT JOIN megamarket.products %I ON %I.sku = p.%I', j, j, t);
            refcols := refcols || format(', %I.product_id AS %I', j, v);
        WHEN 'customer' THEN
            joins := joins || format(' LEFT JOIN megamarket.customers %I ON %I.code = p.%I', j, j, t);
            refcols := refcols || format(', %I.customer_id AS %I', j, v);
        WHEN 'campaign' THEN
            joins := joins || format(' LEFT JOIN megamarket.campaigns %I ON %I.code = p.%I', j, j, t);
            refcols := refcols || format(', %I.campaign_id AS %I', j, v);
        ELSE
            -- text, name, label, code: the trimmed text
            l4 := l4 || format(', %I AS %I', t, v);
        END CASE;
        IF f.kind IN ('store', 'product', 'customer', 'campaign') THEN
            refs := refs || format(' WHEN %I IS NOT NULL AND %s IS NULL THEN ARRAY[%L, %L, %I]',
                                   t, CASE f.kind WHEN 'store' THEN format('coalesce(%I.store_id, %I.store_id)', j || '_x', j)
                                                  ELSE format('%I.%I', j, f.kind || '_id') END,
                                   'unknown_' || f.kind, f.field, r);
            l4 := l4 || format(', %I', v);
        END IF;

        IF f.natural_key THEN
            keys := keys || CASE WHEN keys = '' THEN '' ELSE ', ' END || quote_ident(v);
            key_field := f.field;     -- the last: a sale's line, as the sheet shows it
        ELSE
            vals := vals || CASE WHEN vals = '' THEN '' ELSE ', ' END || quote_ident(v);
        END IF;
    END LOOP;
    IF keys = '' THEN
        RAISE EXCEPTION 'import_workbook: sheet kind "%" has no natural key in megamarket.import_fields', sheet_key
            USING ERRCODE = 'internal_error';
    END IF;

    PERFORM _import_drop('TABLE', stage);
    EXECUTE format($q$
        CREATE TEMP TABLE %1$I ON COMMIT DROP AS
        SELECT %2$s, err, NULLIF('[]'::jsonb %3$s, '[]'::jsonb) AS notes
          FROM (
            SELECT p.*%4$s,
                   CASE %5$s END AS err
              FROM (
                SELECT %6$s
                  FROM (
                    SELECT %7$s
                      FROM pg_temp.%8$I s
                     WHERE megamarket.import_progress(%9$L, %10$s)
                    OFFSET 0) AS t
                OFFSET 0) AS p %12$s
             WHERE num_nonnulls(%11$s) > 0%13$s
            OFFSET 0) AS c$q$,
        stage, l4, CASE WHEN notes = '' THEN '' ELSE notes END,
        refcols, coalesce(nullif(req || toolong || parse || range || refs, ''), ' WHEN false THEN NULL'),
        l2, l1, 'mm_src_' || sheet_key, sheet_name, every, nonblank, joins,
        CASE WHEN nonblank2 = '' THEN '' ELSE format(' OR num_nonnulls(%s) > 0', nonblank2) END);
    GET DIAGNOSTICS n_staged = ROW_COUNT;

    -- duplicates: among accepted rows, an earlier row with the same key wins;
    -- the keys are sorted in memory, with the maintenance budget when that
    -- is the larger (as _import_facts does)
    PERFORM import_activity(sheet_name || ': checking for duplicate keys');
    old_work_mem := current_setting('work_mem');
    IF pg_size_bytes(current_setting('maintenance_work_mem')) > pg_size_bytes(old_work_mem) THEN
        PERFORM set_config('work_mem', current_setting('maintenance_work_mem'), true);
    END IF;
    PERFORM _import_duplicates(stage, keys, vals, key_field, key_field || '_raw');
    PERFORM set_config('work_mem', old_work_mem, true);
    -- a dimension sheet's writes join its stage; a fact sheet's only copy
    -- its accepted rows out (_import_apply_sales, _losses)
    IF NOT lean THEN
        EXECUTE format('ANALYZE pg_temp.%I', stage);
    END IF;
    RETURN n_staged;
END
$$;
COMMENT ON FUNCTION megamarket._import_stage(text, text, bigint) IS
'(internal to import_workbook) the loader''s cleaning half, driven by import_fields: the stage table pg_temp.mm_<sheet> of clean values and rejects; returns its rows';

-- The loader's second half: each sheet's writes, from its stage table of
-- accepted rows (err IS NULL) with clean values. Each returns the rows it
-- inserted and updated; rules that need the warehouse (a store's name, a
-- customer's wallet) are applied here first.

-- (internal) The members of flat dimensions a sheet names (import_fields.
-- dimension: regions, segments, channels, loss reasons), added when new,
-- from the accepted rows of its stage table.
CREATE FUNCTION megamarket._import_add_members(sheet_key text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT x.field, x.dimension FROM import_fields x
              WHERE x.sheet = sheet_key AND x.dimension IS NOT NULL ORDER BY x."position"
    LOOP
        EXECUTE format('INSERT INTO megamarket.%1$I (name) '
                       'SELECT DISTINCT m.%2$I FROM pg_temp.%3$I m '
                       'WHERE m.err IS NULL AND m.%2$I IS NOT NULL '
                       'AND NOT EXISTS (SELECT 1 FROM megamarket.%1$I d WHERE d.name = m.%2$I)',
                       f.dimension, f.field || '_v', 'mm_' || sheet_key);
    END LOOP;
END
$$;
COMMENT ON FUNCTION megamarket._import_add_members(text) IS
'(internal to import_workbook) adds the new members of the flat dimensions a sheet names';

-- (internal) Sucursales: regions, cities, stores.
CREATE FUNCTION megamarket._import_apply_stores(sheet_name text, OUT inserted bigint, OUT updated bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    adopted text[];
BEGIN
    -- a city needs its region: without one, the store is loaded with no city
    UPDATE pg_temp.mm_stores m
       SET notes = coalesce(m.notes, '[]') || jsonb_build_array(jsonb_build_array('missing_region', 'city', m.city_raw)),
           city_v = NULL
     WHERE m.err IS NULL AND m.city_v IS NOT NULL AND m.region_v IS NULL;

    -- The shipped branches (Norte, Centro, Sur) under the workbook's own keys
    -- (the proposal numbers them 1, 2, 3): a row whose key is new and whose
    -- name is a shipped branch that is still exactly as CREATE EXTENSION made
    -- it takes that branch over, keeping its store_id: the branch's code
    -- becomes the workbook's key. Not when the sheet also has a row with the
    -- shipped code (then that row is the branch, and this one a clash).
    WITH u AS (
        UPDATE stores s
           SET code = m.code_v
          FROM (SELECT DISTINCT ON (m.name_v) m.name_v, m.code_v
                  FROM pg_temp.mm_stores m
                 WHERE m.err IS NULL
                 ORDER BY m.name_v, m._row) AS m
         WHERE s.name = m.name_v
           AND (s.store_id, s.code, s.name) IN ((1, 'NORTE', 'Norte'), (2, 'CENTRO', 'Centro'), (3, 'SUR', 'Sur'))
           AND s.location IS NULL AND s.city_id IS NULL AND s.opened_on IS NULL
           AND NOT EXISTS (SELECT 1 FROM stores x WHERE x.code = m.code_v)
           AND NOT EXISTS (SELECT 1 FROM pg_temp.mm_stores o WHERE o.err IS NULL AND o.code_v = s.code)
        RETURNING s.code)
    SELECT coalesce(array_agg(u.code), '{}') INTO adopted FROM u;

    -- a store name is unique too: a row that would give another store's name
    -- (in the warehouse, or an earlier row of the sheet) to its code is refused
    UPDATE pg_temp.mm_stores m
       SET err = ARRAY['duplicate_name', 'name', m.name_raw]
     WHERE m.err IS NULL
       AND (EXISTS (SELECT 1 FROM stores s WHERE s.name = m.name_v AND s.code <> m.code_v)
            OR EXISTS (SELECT 1 FROM pg_temp.mm_stores o
                        WHERE o.err IS NULL AND o.name_v = m.name_v AND o.code_v <> m.code_v
                          AND o._row < m._row));

    PERFORM _import_add_members('stores');
    INSERT INTO cities (name, region_id)
    SELECT DISTINCT m.city_v, r.region_id
      FROM pg_temp.mm_stores m JOIN regions r ON r.name = m.region_v
     WHERE m.err IS NULL AND m.city_v IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM cities c WHERE c.name = m.city_v AND c.region_id = r.region_id);

    WITH u AS (
        UPDATE stores s
           SET name = m.name_v, location = m.address_v, city_id = m.city_id, opened_on = m.opened_v
          FROM (SELECT m.*, ci.city_id
                  FROM pg_temp.mm_stores m
                  LEFT JOIN regions r ON r.name = m.region_v
                  LEFT JOIN cities ci ON ci.name = m.city_v AND ci.region_id = r.region_id
                 WHERE m.err IS NULL) m
         WHERE s.code = m.code_v
           AND (s.name, s.location, s.city_id, s.opened_on)
               IS DISTINCT FROM (m.name_v, m.address_v, m.city_id, m.opened_v)
        RETURNING s.code)
    -- a branch taken over counts once as updated
    SELECT count(*) + cardinality(adopted) - count(*) FILTER (WHERE u.code = ANY (adopted))
      INTO updated FROM u;

    INSERT INTO stores (code, name, location, city_id, opened_on)
    SELECT m.code_v, m.name_v, m.address_v, ci.city_id, m.opened_v
      FROM pg_temp.mm_stores m
      LEFT JOIN regions r ON r.name = m.region_v
      LEFT JOIN cities ci ON ci.name = m.city_v AND ci.region_id = r.region_id
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM stores s WHERE s.code = m.code_v)
     ORDER BY m._row;
    GET DIAGNOSTICS inserted = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION megamarket._import_apply_stores(text) IS
'(internal to import_workbook) writes the stores sheet''s accepted rows';

-- (internal) Productos: departments, categories, products. No category: the
-- "unassigned" member "Sin asignar"; no department: the category's, else
-- "Sin asignar" (docs/import.md, "Optional levels").
CREATE FUNCTION megamarket._import_apply_products(sheet_name text, OUT inserted bigint, OUT updated bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    UPDATE pg_temp.mm_products m SET category_v = 'Sin asignar'
     WHERE m.err IS NULL AND m.category_v IS NULL;

    INSERT INTO departments (name)
    SELECT DISTINCT coalesce(m.department_v, 'Sin asignar') FROM pg_temp.mm_products m
     WHERE m.err IS NULL
       AND (m.department_v IS NOT NULL
            OR NOT EXISTS (SELECT 1 FROM pg_temp.mm_products o
                            WHERE o.err IS NULL AND o.category_v = m.category_v AND o.department_v IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM categories c WHERE c.name = m.category_v))
       AND NOT EXISTS (SELECT 1 FROM departments d WHERE d.name = coalesce(m.department_v, 'Sin asignar'));

    -- a category belongs to one department: the first row naming one decides
    PERFORM _import_drop('TABLE', 'mm_categories');
    CREATE TEMP TABLE mm_categories ON COMMIT DROP AS
    SELECT DISTINCT ON (m.category_v) m.category_v AS name, d.department_id
      FROM pg_temp.mm_products m JOIN departments d ON d.name = m.department_v
     WHERE m.err IS NULL
     ORDER BY m.category_v, m._row;
    INSERT INTO pg_temp.mm_categories (name, department_id)
    SELECT DISTINCT m.category_v, d.department_id
      FROM pg_temp.mm_products m, departments d
     WHERE m.err IS NULL AND d.name = 'Sin asignar'
       AND NOT EXISTS (SELECT 1 FROM pg_temp.mm_categories x WHERE x.name = m.category_v)
       AND NOT EXISTS (SELECT 1 FROM categories c WHERE c.name = m.category_v);
    UPDATE categories c SET department_id = m.department_id
      FROM pg_temp.mm_categories m
     WHERE c.name = m.name AND c.department_id <> m.department_id;
    INSERT INTO categories (name, department_id)
    SELECT m.name, m.department_id FROM pg_temp.mm_categories m
     WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.name = m.name);

    UPDATE products p
       SET name = m.name_v, category_id = c.category_id, price = m.price_v
      FROM pg_temp.mm_products m JOIN categories c ON c.name = m.category_v
     WHERE m.err IS NULL AND p.sku = m.sku_v
       AND (p.name, p.category_id, p.price) IS DISTINCT FROM (m.name_v, c.category_id, m.price_v);
    GET DIAGNOSTICS updated = ROW_COUNT;

    INSERT INTO products (sku, name, category_id, price)
    SELECT m.sku_v, m.name_v, c.category_id, m.price_v
      FROM pg_temp.mm_products m JOIN categories c ON c.name = m.category_v
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = m.sku_v)
     ORDER BY m._row;
    GET DIAGNOSTICS inserted = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION megamarket._import_apply_products(text) IS
'(internal to import_workbook) writes the products sheet''s accepted rows';

-- (internal) Clientes: segments, customers.
CREATE FUNCTION megamarket._import_apply_customers(sheet_name text, OUT inserted bigint, OUT updated bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    -- a wallet belongs to one customer: the first accepted row that has it,
    -- unless another customer of the warehouse already does
    UPDATE pg_temp.mm_customers m
       SET wallet_v = NULL,
           notes = coalesce(m.notes, '[]') || jsonb_build_array(jsonb_build_array('duplicate_wallet', 'wallet', m.wallet_raw))
      FROM (SELECT x._row,
                   row_number() OVER (PARTITION BY x.wallet_v ORDER BY x._row) > 1
                   OR EXISTS (SELECT 1 FROM customers c
                               WHERE c.wallet_address = x.wallet_v AND c.code <> x.code_v) AS taken
              FROM pg_temp.mm_customers x
             WHERE x.err IS NULL AND x.wallet_v IS NOT NULL) AS w
     WHERE m._row = w._row AND w.taken;

    PERFORM _import_add_members('customers');

    -- an empty Segmento keeps the customer's segment (segment_customers() may
    -- have set it); an empty registration date keeps the one known
    UPDATE customers c
       SET name = m.name_v, email = m.email_v, wallet_address = m.wallet_v,
           segment_id = coalesce(m.segment_id, c.segment_id),
           registered_on = coalesce(m.registered_v, c.registered_on)
      FROM (SELECT m.*, g.segment_id FROM pg_temp.mm_customers m
              LEFT JOIN segments g ON g.name = m.segment_v WHERE m.err IS NULL) m
     WHERE c.code = m.code_v
       AND (c.name, c.email, c.wallet_address, c.segment_id, c.registered_on)
           IS DISTINCT FROM (m.name_v, m.email_v, m.wallet_v, coalesce(m.segment_id, c.segment_id),
                             coalesce(m.registered_v, c.registered_on));
    GET DIAGNOSTICS updated = ROW_COUNT;

    INSERT INTO customers (code, name, email, segment_id, wallet_address, registered_on)
    SELECT m.code_v, m.name_v, m.email_v, g.segment_id, m.wallet_v, m.registered_v
      FROM pg_temp.mm_customers m LEFT JOIN segments g ON g.name = m.segment_v
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.code = m.code_v)
     ORDER BY m._row;
    GET DIAGNOSTICS inserted = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION megamarket._import_apply_customers(text) IS
'(internal to import_workbook) writes the customers sheet''s accepted rows';

-- (internal) Campañas: channels, segments, campaigns.
CREATE FUNCTION megamarket._import_apply_campaigns(sheet_name text, OUT inserted bigint, OUT updated bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    PERFORM _import_add_members('campaigns');

    UPDATE campaigns c
       SET name = m.name_v, channel_id = m.channel_id, target_segment_id = m.segment_id,
           start_date = m.start_v, end_date = m.end_v, budget = m.budget_v
      FROM (SELECT m.*, h.channel_id, g.segment_id FROM pg_temp.mm_campaigns m
              LEFT JOIN channels h ON h.name = m.channel_v
              LEFT JOIN segments g ON g.name = m.target_segment_v
             WHERE m.err IS NULL) m
     WHERE c.code = m.code_v
       AND (c.name, c.channel_id, c.target_segment_id, c.start_date, c.end_date, c.budget)
           IS DISTINCT FROM (m.name_v, m.channel_id, m.segment_id, m.start_v, m.end_v, m.budget_v);
    GET DIAGNOSTICS updated = ROW_COUNT;

    INSERT INTO campaigns (code, name, channel_id, target_segment_id, start_date, end_date, budget)
    SELECT m.code_v, m.name_v, h.channel_id, g.segment_id, m.start_v, m.end_v, m.budget_v
      FROM pg_temp.mm_campaigns m
      LEFT JOIN channels h ON h.name = m.channel_v
      LEFT JOIN segments g ON g.name = m.target_segment_v
     WHERE m.err IS NULL AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.code = m.code_v)
     ORDER BY m._row;
    GET DIAGNOSTICS inserted = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION megamarket._import_apply_campaigns(text) IS
'(internal to import_workbook) writes the campaigns sheet''s accepted rows';

-- (internal) Ventas: dates, sales. The stage pg_temp.mm_sales itself, its
-- clean values renamed as megamarket.sales's columns (resolved dimension
-- keys, date_id), is what _import_facts() (partition.sql) writes the facts
-- from, its rejected rows left out: the lines that differ are updated, the
-- new ones inserted, months the warehouse does not hold loaded in bulk.
CREATE FUNCTION megamarket._import_apply_sales(sheet_name text, OUT inserted bigint, OUT updated bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    lo date;
    hi date;
    n bigint;
BEGIN
    -- the stage itself is the fact rows: its clean values renamed as the
    -- fact's columns (date_id is made by the stage); _import_facts leaves out
    -- its rejected rows (err set)
    ALTER TABLE pg_temp.mm_sales RENAME COLUMN ticket_v TO ticket_id;
    ALTER TABLE pg_temp.mm_sales RENAME COLUMN line_v TO line_no;
    ALTER TABLE pg_temp.mm_sales RENAME COLUMN customer_v TO customer_id;
    ALTER TABLE pg_temp.mm_sales RENAME COLUMN sku_v TO product_id;
    ALTER TABLE pg_temp.mm_sales RENAME COLUMN store_v TO store_id;
    ALTER TABLE pg_temp.mm_sales RENAME COLUMN campaign_v TO campaign_id;
    ALTER TABLE pg_temp.mm_sales RENAME COLUMN quantity_v TO quantity;
    ALTER TABLE pg_temp.mm_sales RENAME COLUMN amount_v TO amount;
    -- the share of accepted rows (without it the planner takes err IS NULL
    -- for a rare case, and might probe every month's index per line)
    ANALYZE pg_temp.mm_sales (err);
    SELECT count(*), min(r.date_v), max(r.date_v) INTO n, lo, hi
      FROM pg_temp.mm_sales r WHERE r.err IS NULL;
    PERFORM import_activity(sheet_name || ': updating and inserting ' || n || ' rows');
    IF lo IS NOT NULL THEN
        PERFORM fill_dates(lo, hi);
    END IF;

    -- the fact rows: upsert by (ticket_id, line_no) into the months the
    -- warehouse holds, months it does not hold loaded in bulk (partition.sql)
    SELECT f.inserted, f.updated INTO inserted, updated
      FROM _import_facts('sales', 'pg_temp.mm_sales') f;
END
$$;
COMMENT ON FUNCTION megamarket._import_apply_sales(text) IS
'(internal to import_workbook) writes the sales sheet''s accepted rows';

-- (internal) Pérdidas: dates, loss_reasons, losses; as sales, from
-- pg_temp.mm_losses_rows shaped as megamarket.losses.
CREATE FUNCTION megamarket._import_apply_losses(sheet_name text, OUT inserted bigint, OUT updated bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    lo date;
    hi date;
BEGIN
    SELECT min(m.date_v), max(m.date_v) INTO lo, hi FROM pg_temp.mm_losses m WHERE m.err IS NULL;
    IF lo IS NOT NULL THEN
        PERFORM fill_dates(lo, hi);
    END IF;
    PERFORM _import_add_members('losses');

    PERFORM _import_drop('TABLE', 'mm_losses_rows');
    CREATE TEMP TABLE mm_losses_rows ON COMMIT DROP AS
    SELECT m.reference_v AS loss_ref, m.sku_v AS product_id, m.store_v AS store_id,
           date_id(m.date_v) AS date_id, r.reason_id, m.quantity_v AS quantity, m.amount_v AS amount
      FROM pg_temp.mm_losses m JOIN loss_reasons r ON r.name = m.reason_v
     WHERE m.err IS NULL;
    -- (no ANALYZE: _import_facts joins it whole, estimated from its size)
    PERFORM import_activity(sheet_name || ': updating and inserting '
                            || (SELECT count(*) FROM pg_temp.mm_losses_rows) || ' rows');

    -- the fact rows: upsert by loss_ref into the months the warehouse
    -- holds, months it does not hold loaded in bulk (partition.sql)
    SELECT f.inserted, f.updated INTO inserted, updated
      FROM _import_facts('losses', 'pg_temp.mm_losses_rows') f;
END
$$;
COMMENT ON FUNCTION megamarket._import_apply_losses(text) IS
'(internal to import_workbook) writes the losses sheet''s accepted rows';

-- (internal) The loader: one sheet, any kind. The cleaning half is
-- _import_stage() (driven by import_fields); the writes are the sheet's
-- _import_apply_<sheet>(); then its rejects and counts.
CREATE FUNCTION megamarket._import_sheet(sheet_key text, sheet_name text, hdr jsonb, every bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    res record;
    n_read bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM import_fields f WHERE f.sheet = sheet_key AND f.kind = 'store') THEN
        PERFORM _import_store_keys();
    END IF;
    n_read := _import_stage(sheet_key, sheet_name, every);
    EXECUTE format('SELECT * FROM megamarket.%I($1)', '_import_apply_' || sheet_key)
       INTO res USING sheet_name;
    PERFORM _import_record(sheet_key, sheet_name, hdr, res.inserted, res.updated, n_read);
END
$$;
COMMENT ON FUNCTION megamarket._import_sheet(text, text, jsonb, bigint) IS
'(internal to import_workbook) loads one sheet: stage, then its writes, then its rejects and counts';

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
    jit_was text;
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

    -- a few rows, but estimated from tables never analysed at hundreds of
    -- thousands: without JIT, whose compiling took 115-225 ms of every
    -- import (the query itself takes under a millisecond)
    PERFORM _import_drop('TABLE', 'mm_plan');
    jit_was := current_setting('jit');
    PERFORM set_config('jit', 'off', true);
    CREATE TEMP TABLE mm_plan ON COMMIT DROP AS
    SELECT x.sheet, x.load_order, w."position", w.name
      FROM import_sheets x
      LEFT JOIN pg_temp.mm_sheets w
        ON header_key(w.name) IN (SELECT header_key(n.name) FROM import_names n
                                   WHERE n.sheet = x.sheet AND n.field IS NULL);
    PERFORM set_config('jit', jit_was, true);

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
            PERFORM _import_sheet(s.sheet, s.name, hdr, o_every);
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
REVOKE ALL ON FUNCTION megamarket._import_map_header(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_sheet_header(text, integer, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_record(text, text, jsonb, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_duplicates(text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_store_keys() FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_stage(text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_sheet(text, text, jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_add_members(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_apply_stores(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_apply_products(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_apply_customers(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_apply_campaigns(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_apply_sales(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._import_apply_losses(text) FROM PUBLIC;

-- The preview -------------------------------------------------------------------

CREATE FUNCTION megamarket.import_preview(filename text)
RETURNS TABLE (sheet text, kind text, header_row integer, "column" text, header text,
               field text, samples text[], rejected bigint, reasons text, note text,
               closest_header text, closest_names text[], fix text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    w record;
    hr record;
    m record;
    i integer;
    h text;
    ft text;
    fed text;
    samp text[];
    loadable text[] := '{}';
    seqs jsonb := '{}';
    hdr jsonb;
    saved_result jsonb;
    saved_rejects jsonb;
    best record;
BEGIN
    IF filename IS NULL THEN
        RAISE EXCEPTION 'import_preview: filename must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- the privilege check and a readable file, as the import would
    PERFORM file_fingerprint(filename);
    PERFORM pg_advisory_xact_lock(hashtext('megamarket.import_workbook'));

    PERFORM _import_drop('TABLE', 'mm_preview');
    CREATE TEMP TABLE mm_preview (
        ord serial, sheet text, kind text, header_row integer, "column" text, header text,
        field text, samples text[], rejected bigint, reasons text, note text,
        closest_header text, closest_names text[], fix text
    ) ON COMMIT DROP;

    -- the workbook's sheets and the kind each matches
    FOR w IN
        SELECT x."position", x.name,
               (SELECT n.sheet FROM import_names n
                 WHERE n.field IS NULL AND header_key(n.name) = header_key(x.name)) AS kind,
               (SELECT y.load_order FROM import_sheets y, import_names n
                 WHERE n.field IS NULL AND header_key(n.name) = header_key(x.name)
                   AND y.sheet = n.sheet) AS load_order
          FROM xlsx_sheets(filename) AS x
         ORDER BY 4 NULLS LAST, 1
    LOOP
        IF w.kind IS NULL THEN
            INSERT INTO pg_temp.mm_preview (sheet, note, closest_names)
            SELECT w.name, 'ignored: not a sheet the import reads'
                   || CASE WHEN header_key(w.name) IN ('fechas', 'dates')
                           THEN ' (the date dimension is made from the facts'' dates)' ELSE '' END,
                   ARRAY(SELECT n.name FROM import_names n WHERE n.field IS NULL
                          ORDER BY header_distance(n.name, w.name), n.name LIMIT 3);
            CONTINUE;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_temp.mm_preview p WHERE p.kind = w.kind AND p.field IS NULL) THEN
            INSERT INTO pg_temp.mm_preview (sheet, kind, note)
            VALUES (w.name, w.kind, 'error: another sheet holds the same data; the import stops');
            CONTINUE;
        END IF;
        ft := 'mm_pv_' || w.kind;
        hr := _import_sheet_header(filename, w."position", w.kind, ft);
        IF hr.header_row IS NULL THEN
            INSERT INTO pg_temp.mm_preview (sheet, kind, note)
            VALUES (w.name, w.kind, 'error: the sheet is empty; the import stops (leave it out with "sheets")');
            CONTINUE;
        END IF;
        INSERT INTO pg_temp.mm_preview (sheet, kind, header_row, note)
        VALUES (w.name, w.kind, hr.header_row, 'the sheet');

        -- each non-blank header cell: the fields it feeds, or why none
        FOR i IN 1 .. coalesce(array_length(hr.header, 1), 0) LOOP
            h := hr.header[i];
            CONTINUE WHEN clean_text(h) IS NULL;
            SELECT string_agg(x.field, ', ' ORDER BY x."position") INTO fed
              FROM _import_map_header(w.kind, hr.header) x
             WHERE x.col = i
               AND NOT EXISTS (SELECT 1 FROM import_fields f
                                WHERE f.sheet = w.kind AND f.field = x.field AND f.stands_for IS NOT NULL);
            -- (a sample is cut to 100 characters: a cell may hold 32,767)
            EXECUTE format('SELECT array_agg(CASE WHEN length(v) > 100 THEN left(v, 99) || ''…'' ELSE v END) '
                           'FROM (SELECT megamarket.clean_text(c%s) AS v FROM pg_temp.%I '
                           'WHERE _row > %s AND megamarket.clean_text(c%s) IS NOT NULL LIMIT 3) AS s',
                           i, ft, hr.header_row, i)
               INTO samp;
            INSERT INTO pg_temp.mm_preview (sheet, kind, header_row, "column", header, field, samples, note)
            SELECT w.name, w.kind, hr.header_row, column_letters(i), h, coalesce(fed, 'ignored'), samp,
                   CASE
                       WHEN fed IS NOT NULL AND EXISTS (SELECT 1 FROM _import_map_header(w.kind, hr.header) x
                                                         WHERE x.col = i AND x.via IS NOT NULL)
                           THEN format('stands in for the missing %s (its "%s")', fed,
                                       (SELECT min(x.via) FROM _import_map_header(w.kind, hr.header) x WHERE x.col = i))
                       WHEN fed IS NOT NULL THEN NULL
                       WHEN EXISTS (SELECT 1 FROM _import_map_header(w.kind, hr.header) x WHERE x.col = i)
                           THEN format('not used: the sheet has its own column for %s',
                                       (SELECT string_agg(array_to_string(f.stands_for, ' and '), ', ')
                                          FROM import_fields f, _import_map_header(w.kind, hr.header) x
                                         WHERE x.col = i AND f.sheet = w.kind AND f.field = x.field))
                       WHEN EXISTS (SELECT 1 FROM import_names n
                                     WHERE n.field IS NOT NULL AND n.sheet <> w.kind
                                       AND header_key(n.name) = header_key(h))
                           THEN 'ambiguous, not used: on this sheet it names no field; elsewhere it is '
                                || (SELECT string_agg(DISTINCT format('%s.%s', n.sheet, n.field), ', ')
                                      FROM import_names n
                                     WHERE n.field IS NOT NULL AND n.sheet <> w.kind
                                       AND header_key(n.name) = header_key(h))
                       ELSE 'not a known name'
                   END;
        END LOOP;

        -- each field the sheet lacks: required ones stop the import
        FOR m IN SELECT * FROM _import_map_header(w.kind, hr.header) x
                  WHERE x.col IS NULL
                    AND NOT EXISTS (SELECT 1 FROM import_fields f
                                     WHERE f.sheet = w.kind AND f.field = x.field AND f.stands_for IS NOT NULL)
        LOOP
            SELECT t.h, column_letters(t.i::integer) AS col,
                   min(header_distance(t.h, n.name)) AS d
              INTO best
              FROM unnest(hr.header) WITH ORDINALITY AS t(h, i), import_names n
             WHERE clean_text(t.h) IS NOT NULL AND n.sheet = w.kind AND n.field = m.field
               -- near enough to be a misspelling: at most half the longer key
               AND header_distance(t.h, n.name) * 2
                   <= greatest(length(header_key(t.h)), length(header_key(n.name)))
               AND NOT EXISTS (SELECT 1 FROM _import_map_header(w.kind, hr.header) x WHERE x.col = t.i)
             GROUP BY t.h, t.i
             ORDER BY d, t.i
             LIMIT 1;
            INSERT INTO pg_temp.mm_preview (sheet, kind, header_row, field, note, closest_header,
                                            closest_names, fix)
            SELECT w.name, w.kind, hr.header_row, m.field,
                   CASE WHEN m.required THEN 'missing: a required field; the import stops'
                        WHEN m.field IN ('category', 'department')
                            THEN 'absent, optional: products go to "Sin asignar"'
                        ELSE 'absent, optional: left empty' END,
                   CASE WHEN m.required AND best.h IS NOT NULL THEN format('%s (%s)', best.h, best.col) END,
                   ARRAY(SELECT n.name FROM import_names n
                          WHERE n.sheet = w.kind AND n.field = m.field
                          ORDER BY CASE WHEN best.h IS NULL THEN 0 ELSE header_distance(best.h, n.name) END,
                                   n.builtin DESC, n.name LIMIT 3),
                   CASE WHEN m.required AND best.h IS NOT NULL
                        THEN format('INSERT INTO megamarket.import_names (sheet, field, name) VALUES (%L, %L, %L);',
                                    w.kind, m.field, best.h) END;
        END LOOP;

        IF NOT EXISTS (SELECT 1 FROM _import_map_header(w.kind, hr.header) x
                        WHERE x.required AND x.col IS NULL OR x.col2 IS NOT NULL) THEN
            loadable := loadable || w.kind;
        ELSE
            UPDATE pg_temp.mm_preview p
               SET note = 'the sheet: not loaded (see the rows below)'
             WHERE p.sheet = w.name AND p.note = 'the sheet';
            INSERT INTO pg_temp.mm_preview (sheet, kind, header_row, field, note)
            SELECT w.name, w.kind, hr.header_row, x.field,
                   format('error: two columns for %s: %s and %s; the import stops', x.field,
                          column_letters(x.col), column_letters(x.col2))
              FROM _import_map_header(w.kind, hr.header) x WHERE x.col2 IS NOT NULL;
        END IF;
    END LOOP;

    -- the sheets the workbook lacks
    INSERT INTO pg_temp.mm_preview (kind, note, closest_names)
    SELECT y.sheet, 'no such sheet: the import stops unless the option "sheets" leaves it out',
           ARRAY(SELECT n.name FROM import_names n WHERE n.sheet = y.sheet AND n.field IS NULL
                  ORDER BY n.builtin DESC, n.name)
      FROM import_sheets y
     WHERE NOT EXISTS (SELECT 1 FROM pg_temp.mm_preview p WHERE p.kind = y.sheet)
     ORDER BY y.load_order;

    -- what the import would reject: the loadable sheets loaded, in load
    -- order, then undone (a subtransaction rolled back)
    PERFORM _import_drop('TABLE', 'mm_result');
    CREATE TEMP TABLE mm_result (
        sheet text, name text, rows_read bigint, inserted bigint, updated bigint,
        unchanged bigint, rejected bigint
    ) ON COMMIT DROP;
    PERFORM _import_drop('TABLE', 'mm_rejects');
    CREATE TEMP TABLE mm_rejects (
        sheet text, row_number integer, cell text, field text, value text, reason text, kept boolean
    ) ON COMMIT DROP;
    -- A rolled-back insert still takes serial numbers. So that the preview
    -- leaves the warehouse's sequences as they were too, it keeps writers out
    -- of the tables it loads (readers go on) until it ends, notes each
    -- sequence's position, and puts it back after the rollback: no one else
    -- can have taken a number meanwhile. (A caller without UPDATE on a
    -- sequence cannot put it back: then that sequence may have moved.)
    LOCK TABLE regions, cities, stores, departments, categories, products, segments, customers,
               channels, campaigns, loss_reasons, sales, losses IN EXCLUSIVE MODE;
    FOR w IN SELECT format('%I.%I', q.schemaname, q.sequencename) AS seq
               FROM pg_sequences q
              WHERE q.schemaname = 'megamarket' AND q.sequencename NOT LIKE 'import\_%'
                AND has_sequence_privilege(format('%I.%I', q.schemaname, q.sequencename), 'SELECT, UPDATE')
    LOOP
        EXECUTE format('SELECT jsonb_build_object(%L, jsonb_build_array(last_value, is_called)) FROM %s',
                       w.seq, w.seq) INTO hdr;
        seqs := seqs || hdr;
    END LOOP;
    BEGIN
        PERFORM set_config('client_min_messages', 'warning', true);
        FOR w IN SELECT DISTINCT p.sheet AS name, p.kind, y.load_order, x."position"
                   FROM pg_temp.mm_preview p
                   JOIN import_sheets y ON y.sheet = p.kind
                   JOIN xlsx_sheets(filename) AS x ON x.name = p.sheet
                  WHERE p.kind = ANY (loadable) AND p.note = 'the sheet'
                  ORDER BY y.load_order
        LOOP
            hdr := _import_open(filename, w.name, w."position", w.kind);
            PERFORM _import_sheet(w.kind, w.name, hdr, 0);
        END LOOP;
        SELECT jsonb_agg(r) INTO saved_result FROM pg_temp.mm_result r;
        SELECT jsonb_agg(r) INTO saved_rejects FROM pg_temp.mm_rejects r;
        RAISE SQLSTATE 'MMPRV';
    EXCEPTION
        WHEN SQLSTATE 'MMPRV' THEN
            NULL;
        WHEN query_canceled THEN
            -- cancelled mid-load (statement_timeout, pg_cancel_backend): the
            -- numbers taken are not rolled back; put the sequences back
            -- (still alone on the tables), then cancel as asked
            PERFORM setval(q.key::regclass, (q.value ->> 0)::bigint, (q.value ->> 1)::boolean)
               FROM jsonb_each(seqs) AS q;
            RAISE;
    END;
    PERFORM setval(q.key::regclass, (q.value ->> 0)::bigint, (q.value ->> 1)::boolean)
       FROM jsonb_each(seqs) AS q;
    PERFORM import_activity(NULL);

    UPDATE pg_temp.mm_preview p
       SET rejected = r.rejected,
           note = format('the sheet: %s rows would be read, %s inserted, %s updated, %s unchanged, %s rejected',
                         r.rows_read, r.inserted, r.updated, r.unchanged, r.rejected),
           reasons = (SELECT string_agg(format('%s %s', x.reason, x.n), ', ' ORDER BY x.n DESC, x.reason)
                        FROM (SELECT j.reason, count(*) AS n
                                FROM jsonb_to_recordset(saved_rejects) AS j(sheet text, reason text, kept boolean)
                               WHERE j.sheet = p.sheet AND NOT j.kept GROUP BY j.reason) AS x)
      FROM jsonb_to_recordset(saved_result) AS r(sheet text, name text, rows_read bigint, inserted bigint,
                                                  updated bigint, unchanged bigint, rejected bigint)
     WHERE r.name = p.sheet AND p.note = 'the sheet';
    UPDATE pg_temp.mm_preview p
       SET rejected = x.n, reasons = x.reasons
      FROM (SELECT j.sheet, regexp_replace(j.cell, '[0-9]+$', '') AS col, count(*) AS n,
                   string_agg(DISTINCT j.reason, ', ') AS reasons
              FROM jsonb_to_recordset(saved_rejects) AS j(sheet text, cell text, reason text, kept boolean)
             WHERE j.cell IS NOT NULL
             GROUP BY 1, 2) AS x
     WHERE x.sheet = p.sheet AND x.col = p."column";

    PERFORM _import_drop('TABLE', 'mm_result');
    PERFORM _import_drop('TABLE', 'mm_rejects');
    FOR w IN SELECT DISTINCT p.kind FROM pg_temp.mm_preview p WHERE p.kind IS NOT NULL LOOP
        PERFORM _import_drop('FOREIGN TABLE', 'mm_pv_' || w.kind);
    END LOOP;

    RETURN QUERY
    SELECT p.sheet, p.kind, p.header_row, p."column", p.header, p.field, p.samples, p.rejected,
           p.reasons, p.note, p.closest_header, p.closest_names, p.fix
      FROM pg_temp.mm_preview p
     ORDER BY p.ord;
    PERFORM _import_drop('TABLE', 'mm_preview');
END
$$;
COMMENT ON FUNCTION megamarket.import_preview(text) IS
'what import_workbook() would do with a workbook, writing nothing: per sheet and column, the field it feeds, samples, rejects and why, and the fix for each missing column; see docs/import.md';
REVOKE ALL ON FUNCTION megamarket.import_preview(text) FROM PUBLIC;
