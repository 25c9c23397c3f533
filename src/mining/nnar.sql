-- ---------------------------------------------------------------------------
-- mining: neural network autoregression (docs/mining.md, "nnar_forecast")
--
-- The query returns (t, y) or (series, t, y), as for arima_forecast; it runs
-- with the caller's rights through a read-only cursor.
-- ---------------------------------------------------------------------------

CREATE FUNCTION megamarket.nnar_forecast(
    query text,
    horizon integer,
    p integer DEFAULT NULL,
    "P" integer DEFAULT 1,
    size integer DEFAULT NULL,
    repeats integer DEFAULT 20,
    seed integer DEFAULT 0,
    period integer DEFAULT NULL,
    decay float8 DEFAULT 0,
    maxit integer DEFAULT 100,
    intervals boolean DEFAULT false,
    npaths integer DEFAULT 1000,
    bootstrap boolean DEFAULT false,
    scale_inputs boolean DEFAULT true)
RETURNS TABLE (series text, step integer, t text, forecast float8,
               lo80 float8, hi80 float8, lo95 float8, hi95 float8,
               model text, error text)
AS 'MODULE_PATHNAME', 'mining_nnar_forecast'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION megamarket.nnar_forecast(text, integer, integer, integer, integer, integer, integer, integer, float8, integer, boolean, integer, boolean, boolean) IS
'forecasts horizon steps ahead for each series of a query (t, y) or (series, t, y) with a neural network autoregression as R''s forecast::nnetar: p lags and P seasonal lags of the scaled series, one hidden layer of size logistic units, the average of repeats nets fitted by BFGS from seeded random starts, iterated; 80 % / 95 % intervals by simulation when intervals => true; a series that cannot be fitted gives one row with the reason in error';
