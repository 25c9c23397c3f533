\echo Use "CREATE EXTENSION megamarket" to load this file. \quit

-- Extension-wide objects. The schema is created here, not by the control
-- file, so that it belongs to the extension and DROP EXTENSION removes it.
CREATE SCHEMA megamarket;
GRANT USAGE ON SCHEMA megamarket TO PUBLIC;

COMMENT ON SCHEMA megamarket IS 'megamarket: warehouse tables, import, mining and loyalty functions';

CREATE FUNCTION megamarket.library_versions()
RETURNS TABLE (library text, version text, purpose text)
AS 'MODULE_PATHNAME', 'megamarket_library_versions'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION megamarket.library_versions() IS
'the C libraries megamarket is linked with and their loaded versions';
