-- ---------------------------------------------------------------------------
-- mining: ARIMA fitting and forecasting (docs/mining.md, "forecasting")
--
-- The query returns (t, y) or (series, t, y); it runs with the caller's
-- rights through a read-only cursor.
-- ---------------------------------------------------------------------------

CREATE FUNCTION megamarket.arima_fit(
    query text,
    p integer DEFAULT 0, d integer DEFAULT 0, q integer DEFAULT 0,
    seasonal integer[] DEFAULT NULL,
    include_mean boolean DEFAULT true,
    method text DEFAULT 'CSS-ML',
    auto boolean DEFAULT false,
    period integer DEFAULT NULL)
RETURNS TABLE (series text, term text, estimate float8, std_error float8, note text)
AS 'MODULE_PATHNAME', 'mining_arima_fit'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION megamarket.arima_fit(text, integer, integer, integer, integer[], boolean, text, boolean, integer) IS
'ARIMA(p,d,q)(P,D,Q)[s] fitted to each series of a query (t, y) or (series, t, y) as R''s stats::arima does (exact likelihood by Kalman filter, CSS-ML): one row per coefficient with its standard error, a "model" row, rows sigma2, loglik, aic, aicc, bic, nobs; auto => true chooses the orders';

CREATE FUNCTION megamarket.arima_forecast(
    query text,
    horizon integer,
    p integer DEFAULT 0, d integer DEFAULT 0, q integer DEFAULT 0,
    seasonal integer[] DEFAULT NULL,
    include_mean boolean DEFAULT true,
    method text DEFAULT 'CSS-ML',
    auto boolean DEFAULT false,
    period integer DEFAULT NULL)
RETURNS TABLE (series text, step integer, t text, forecast float8,
               lo80 float8, hi80 float8, lo95 float8, hi95 float8,
               model text, error text)
AS 'MODULE_PATHNAME', 'mining_arima_forecast'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION megamarket.arima_forecast(text, integer, integer, integer, integer, integer[], boolean, text, boolean, integer) IS
'forecasts horizon steps ahead for each series of a query (t, y) or (series, t, y) with an ARIMA model (given orders, or auto => true for the Hyndman-Khandakar stepwise search): point forecast and 80 % / 95 % prediction intervals; a series that cannot be fitted gives one row with the reason in error';
