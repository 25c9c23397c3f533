-- ---------------------------------------------------------------------------
-- xlsx: Excel workbooks as foreign tables
-- ---------------------------------------------------------------------------

CREATE FUNCTION megamarket.xlsx_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'xlsx_fdw_handler'
LANGUAGE C STRICT;
COMMENT ON FUNCTION megamarket.xlsx_fdw_handler() IS 'xlsx_fdw: foreign-data wrapper handler';

CREATE FUNCTION megamarket.xlsx_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'xlsx_fdw_validator'
LANGUAGE C STRICT;
COMMENT ON FUNCTION megamarket.xlsx_fdw_validator(text[], oid) IS 'xlsx_fdw: option validator';

CREATE FOREIGN DATA WRAPPER xlsx_fdw
    HANDLER megamarket.xlsx_fdw_handler
    VALIDATOR megamarket.xlsx_fdw_validator;
COMMENT ON FOREIGN DATA WRAPPER xlsx_fdw IS 'Excel .xlsx workbooks as foreign tables';

CREATE FUNCTION megamarket.xlsx_sheets(filename text)
RETURNS TABLE ("position" integer, name text, visibility text, dimension text, xml_bytes bigint)
AS 'MODULE_PATHNAME', 'xlsx_sheets'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION megamarket.xlsx_sheets(text) IS
'the sheets of a workbook: position, name, visibility, dimension and size of the sheet XML';
-- reads a server file: as pg_read_file(), not for PUBLIC
REVOKE ALL ON FUNCTION megamarket.xlsx_sheets(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION megamarket.xlsx_sheets(text) TO pg_read_server_files;
