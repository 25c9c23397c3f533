-- ---------------------------------------------------------------------------
-- warehouse: definitions shared by the tables (their CHECK constraints) and
-- the import (its cleaning rules), so that each is written once.
--
--   key_max_length()       the longest text a natural key may be
--   is_store_code(text)    the shape of a branch code
--   is_sku(text)           the shape of an SKU
--   date_id(date)          the date dimension's key, yyyymmdd
--
-- SQL functions, IMMUTABLE: the planner inlines them into the constraints and
-- the import's queries, so they cost no call per row.
-- ---------------------------------------------------------------------------

CREATE FUNCTION megamarket.key_max_length()
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 200;
COMMENT ON FUNCTION megamarket.key_max_length() IS
'200: the longest text (in characters) a natural key may be, so that it fits a btree index entry whatever its bytes; the import rejects longer ones as too_long';

CREATE FUNCTION megamarket.is_store_code(code text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN code OPERATOR(pg_catalog.~) '^[A-Z0-9_-]{1,32}$';
COMMENT ON FUNCTION megamarket.is_store_code(text) IS
'whether a text is a branch code: 1 to 32 upper-case letters, digits, _ and -';

CREATE FUNCTION megamarket.is_sku(sku text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN sku OPERATOR(pg_catalog.~) '^[A-Za-z0-9_.-]{1,64}$';
COMMENT ON FUNCTION megamarket.is_sku(text) IS
'whether a text is an SKU: 1 to 64 letters, digits, _, . and -';

-- yyyymmdd as (date_part('year') * 10000 + date_part('month') * 100 +
-- date_part('day'))::integer, in C: the import computes one per fact row
CREATE FUNCTION megamarket.date_id(day date)
RETURNS integer
AS 'MODULE_PATHNAME', 'warehouse_date_id'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION megamarket.date_id(date) IS
'the date dimension''s key of a day, yyyymmdd: date_id(''2025-01-31'') is 20250131';
