-- ---------------------------------------------------------------------------
-- mining: what the mining functions share (docs/mining.md)
--
-- Every mining function takes a query text and runs it with the caller's
-- rights (never SECURITY DEFINER) through a read-only cursor; the memory one
-- call may hold is megamarket.mining_max_memory.
-- ---------------------------------------------------------------------------

CREATE FUNCTION megamarket.mining_profile(query text)
RETURNS TABLE (column_number integer, column_name text, numbers bigint,
               nulls bigint, nans bigint, min float8, max float8, mean float8,
               stddev float8, median float8)
AS 'MODULE_PATHNAME', 'mining_mining_profile'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION megamarket.mining_profile(text) IS
'per numeric column of a query: numbers, NULLs and NaNs counted, min, max, mean, sample standard deviation and exact median (of the numbers); a look at the features before kmeans';
