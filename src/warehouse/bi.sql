-- ---------------------------------------------------------------------------
-- megamarket_bi: what Power BI (or any SQL client) reads
--
-- The schema holds only views, named for people, with types that Power BI
-- maps cleanly (numeric with a scale, date, bigint, integer, text). Nothing
-- in it exposes a customer's name, e-mail or wallet. A read-only login gets
-- USAGE on this schema and SELECT on its views and nothing else
-- (docs/powerbi.md); the views read the warehouse with their owner's rights.
--
-- Views that would otherwise aggregate the fact tables read small summaries
-- instead: live_store_day (kept by triggers, see live.sql) and
-- customer_stats (kept by refresh_bi()), so that each answers in
-- milliseconds on millions of sales lines (bench/bi).
-- ---------------------------------------------------------------------------

CREATE SCHEMA megamarket_bi;
COMMENT ON SCHEMA megamarket_bi IS
'megamarket: read-only views for Power BI and other BI tools (grant USAGE and SELECT to a reporting role)';

-- Per customer totals, for the segment views; refreshed by refresh_bi().
CREATE TABLE megamarket.customer_stats (
    customer_id   integer PRIMARY KEY REFERENCES megamarket.customers ON DELETE CASCADE,
    tickets       bigint NOT NULL,
    lines         bigint NOT NULL,
    revenue       numeric(16,2) NOT NULL,
    first_date_id integer NOT NULL,
    last_date_id  integer NOT NULL,
    refreshed_at  timestamptz NOT NULL
);
COMMENT ON TABLE megamarket.customer_stats IS
'per customer totals of the sales facts (tickets, lines, revenue, first and last day), refreshed by refresh_bi()';
COMMENT ON COLUMN megamarket.customer_stats.customer_id IS 'the customer';
COMMENT ON COLUMN megamarket.customer_stats.tickets IS 'tickets (baskets) the customer bought';
COMMENT ON COLUMN megamarket.customer_stats.lines IS 'ticket lines';
COMMENT ON COLUMN megamarket.customer_stats.revenue IS 'sum of sales.amount';
COMMENT ON COLUMN megamarket.customer_stats.first_date_id IS 'first day with a purchase (yyyymmdd)';
COMMENT ON COLUMN megamarket.customer_stats.last_date_id IS 'last day with a purchase (yyyymmdd)';
COMMENT ON COLUMN megamarket.customer_stats.refreshed_at IS 'when refresh_bi() computed the row';

-- calendar: the date table Power BI marks as such.
CREATE VIEW megamarket_bi.calendar AS
SELECT d.date_id,
       d.date,
       d.year::integer AS year,
       d.quarter::integer AS quarter,
       d.month::integer AS month,
       d.month_name,
       pg_catalog.make_date(d.year, d.month, 1) AS month_start,
       pg_catalog.to_char(d.date, 'YYYY-MM') AS year_month,
       d.day::integer AS day,
       d.weekday::integer AS weekday,
       d.weekday_name,
       d.is_weekend
FROM megamarket.dates d;
COMMENT ON VIEW megamarket_bi.calendar IS
'date table: one row per day of megamarket.dates, with year, quarter, month (Spanish names), weekday; mark it as the date table in Power BI';

-- The stores with their city and region (names), shared by the views below.
CREATE VIEW megamarket_bi.stores AS
SELECT s.store_id, s.code, s.name AS store, c.name AS city, r.name AS region, s.opened_on
FROM megamarket.stores s
LEFT JOIN megamarket.cities c ON c.city_id OPERATOR(pg_catalog.=) s.city_id
LEFT JOIN megamarket.regions r ON r.region_id OPERATOR(pg_catalog.=) c.region_id;
COMMENT ON VIEW megamarket_bi.stores IS
'the branches with their city and region (NULL where unknown)';

CREATE VIEW megamarket_bi.sales_by_store_month AS
SELECT l.store_id,
       st.store,
       st.region,
       pg_catalog.make_date(d.year, d.month, 1) AS month_start,
       d.year::integer AS year,
       d.month::integer AS month,
       d.month_name,
       sum(l.revenue)::numeric(16,2) AS revenue,
       sum(l.units)::bigint AS units,
       sum(l.lines)::bigint AS lines,
       sum(l.tickets)::bigint AS tickets,
       (sum(l.revenue) OPERATOR(pg_catalog./) NULLIF(sum(l.tickets), 0))::numeric(14,2) AS avg_ticket,
       count(*) FILTER (WHERE l.lines OPERATOR(pg_catalog.>) 0)::bigint AS trading_days
FROM megamarket.live_store_day l
JOIN megamarket.dates d ON d.date_id OPERATOR(pg_catalog.=) l.date_id
JOIN megamarket_bi.stores st ON st.store_id OPERATOR(pg_catalog.=) l.store_id
GROUP BY l.store_id, st.store, st.region, d.year, d.month, d.month_name
HAVING sum(l.lines) OPERATOR(pg_catalog.>) 0;
COMMENT ON VIEW megamarket_bi.sales_by_store_month IS
'sales per branch and calendar month: revenue, units, ticket lines, tickets, average ticket, days with sales';

CREATE VIEW megamarket_bi.losses_by_store_month AS
SELECT f.store_id,
       st.store,
       pg_catalog.make_date(d.year, d.month, 1) AS month_start,
       d.year::integer AS year,
       d.month::integer AS month,
       d.month_name,
       r.name AS reason,
       sum(f.amount)::numeric(16,2) AS loss_amount,
       sum(f.quantity)::bigint AS units,
       count(*)::bigint AS events
FROM megamarket.losses f
JOIN megamarket.dates d ON d.date_id OPERATOR(pg_catalog.=) f.date_id
JOIN megamarket.loss_reasons r ON r.reason_id OPERATOR(pg_catalog.=) f.reason_id
JOIN megamarket_bi.stores st ON st.store_id OPERATOR(pg_catalog.=) f.store_id
GROUP BY f.store_id, st.store, d.year, d.month, d.month_name, r.name;
COMMENT ON VIEW megamarket_bi.losses_by_store_month IS
'losses per branch, calendar month and reason: value at cost, units, events';

CREATE VIEW megamarket_bi.margin_by_store_month AS
SELECT l.store_id,
       st.store,
       pg_catalog.make_date(d.year, d.month, 1) AS month_start,
       d.year::integer AS year,
       d.month::integer AS month,
       d.month_name,
       sum(l.revenue)::numeric(16,2) AS revenue,
       sum(l.loss_amount)::numeric(16,2) AS loss_amount,
       (sum(l.revenue) OPERATOR(pg_catalog.-) sum(l.loss_amount))::numeric(16,2) AS revenue_after_losses,
       (sum(l.loss_amount) OPERATOR(pg_catalog./) NULLIF(sum(l.revenue), 0))::numeric(9,6) AS loss_ratio
FROM megamarket.live_store_day l
JOIN megamarket.dates d ON d.date_id OPERATOR(pg_catalog.=) l.date_id
JOIN megamarket_bi.stores st ON st.store_id OPERATOR(pg_catalog.=) l.store_id
GROUP BY l.store_id, st.store, d.year, d.month, d.month_name;
COMMENT ON VIEW megamarket_bi.margin_by_store_month IS
'per branch and month: revenue, losses at cost, revenue after losses and the loss ratio (losses / revenue); the warehouse holds no purchase costs, so this is the margin lost to shrinkage, not a gross margin';

-- Campaign performance. The window is start_date .. end_date; the baseline
-- is a period of the same length just before it, moved back by whole weeks
-- (7 * ceil(days / 7) days) so that it has the same weekdays, over the same
-- stores (those that sold during the window).
--
-- Sales just before a window are not what the window would have sold without
-- the campaign when the season changes between the two (a January sale
-- against the December peak, a September one against the August dip). So
-- the baseline is scaled by the seasonal profile measured on the days no
-- campaign ran: per store a mean of tickets per day, per weekday and per
-- calendar month a factor (mean of tickets / the store's mean, then / the
-- weekday factor), and
--     expected = baseline sales * sum over window days of (weekday x month factor)
--                              / sum over baseline days of (weekday x month factor)
-- uplift_pct = window / expected - 1; raw_uplift_pct compares with the baseline
-- as it is. incremental_revenue = window - expected; roi = (incremental
-- revenue - budget) / budget. A baseline that starts before the first day
-- with sales is incomplete: its figures are NULL (baseline_complete false).
CREATE VIEW megamarket_bi.campaign_performance AS
WITH c AS (
    SELECT ca.campaign_id, ca.code, ca.name, ch.name AS channel, sg.name AS target_segment,
           ca.start_date, ca.end_date, ca.budget,
           ((ca.end_date OPERATOR(pg_catalog.-) ca.start_date) OPERATOR(pg_catalog.+) 1) AS days,
           7 OPERATOR(pg_catalog.*) (((ca.end_date OPERATOR(pg_catalog.-) ca.start_date) OPERATOR(pg_catalog.+) 7) OPERATOR(pg_catalog./) 7) AS shift
    FROM megamarket.campaigns ca
    LEFT JOIN megamarket.channels ch ON ch.channel_id OPERATOR(pg_catalog.=) ca.channel_id
    LEFT JOIN megamarket.segments sg ON sg.segment_id OPERATOR(pg_catalog.=) ca.target_segment_id
), span AS (
    SELECT min(date_id) AS lo, max(date_id) AS hi FROM megamarket.live_store_day WHERE lines OPERATOR(pg_catalog.>) 0
), store_days AS (
    -- every store and day in the span of the facts, days without sales as 0
    SELECT st.store_id, d.date_id, d.date, d.weekday, d.month,
           coalesce(l.tickets, 0) AS tickets,
           EXISTS (SELECT 1 FROM megamarket.campaigns x
                   WHERE d.date OPERATOR(pg_catalog.>=) x.start_date AND d.date OPERATOR(pg_catalog.<=) x.end_date) AS in_campaign
    FROM span
    JOIN megamarket.dates d ON d.date_id OPERATOR(pg_catalog.>=) span.lo AND d.date_id OPERATOR(pg_catalog.<=) span.hi
    CROSS JOIN (SELECT DISTINCT store_id FROM megamarket.live_store_day) st
    LEFT JOIN megamarket.live_store_day l ON l.store_id OPERATOR(pg_catalog.=) st.store_id AND l.date_id OPERATOR(pg_catalog.=) d.date_id
), store_mean AS (
    SELECT store_id, avg(tickets) AS m FROM store_days WHERE NOT in_campaign GROUP BY store_id
), wd AS (
    SELECT sd.weekday, avg(sd.tickets OPERATOR(pg_catalog./) NULLIF(sm.m, 0)) AS f
    FROM store_days sd JOIN store_mean sm USING (store_id)
    WHERE NOT sd.in_campaign GROUP BY sd.weekday
), mo AS (
    SELECT sd.month, avg(sd.tickets OPERATOR(pg_catalog./) NULLIF(sm.m OPERATOR(pg_catalog.*) wd.f, 0)) AS f
    FROM store_days sd JOIN store_mean sm USING (store_id) JOIN wd USING (weekday)
    WHERE NOT sd.in_campaign GROUP BY sd.month
), profile AS (
    SELECT d.date_id, d.date, coalesce(wd.f OPERATOR(pg_catalog.*) mo.f, 1) AS f
    FROM span
    JOIN megamarket.dates d ON d.date_id OPERATOR(pg_catalog.>=) span.lo AND d.date_id OPERATOR(pg_catalog.<=) span.hi
    LEFT JOIN wd ON wd.weekday OPERATOR(pg_catalog.=) d.weekday
    LEFT JOIN mo ON mo.month OPERATOR(pg_catalog.=) d.month
), w AS (
    SELECT c.campaign_id, l.store_id, sum(l.revenue) AS revenue, sum(l.tickets) AS tickets
    FROM c
    JOIN megamarket.dates d ON d.date OPERATOR(pg_catalog.>=) c.start_date AND d.date OPERATOR(pg_catalog.<=) c.end_date
    JOIN megamarket.live_store_day l ON l.date_id OPERATOR(pg_catalog.=) d.date_id
    GROUP BY c.campaign_id, l.store_id
    HAVING sum(l.lines) OPERATOR(pg_catalog.>) 0
), b AS (
    SELECT c.campaign_id, l.store_id, sum(l.revenue) AS revenue, sum(l.tickets) AS tickets
    FROM c
    JOIN megamarket.dates d ON d.date OPERATOR(pg_catalog.>=) (c.start_date OPERATOR(pg_catalog.-) c.shift)
                           AND d.date OPERATOR(pg_catalog.<=) (c.end_date OPERATOR(pg_catalog.-) c.shift)
    JOIN megamarket.live_store_day l ON l.date_id OPERATOR(pg_catalog.=) d.date_id
    GROUP BY c.campaign_id, l.store_id
), season AS (
    -- the seasonal ratio of window to baseline, and whether the baseline lies
    -- wholly inside the span of the facts
    SELECT c.campaign_id,
           (SELECT sum(p.f) FROM profile p WHERE p.date OPERATOR(pg_catalog.>=) c.start_date AND p.date OPERATOR(pg_catalog.<=) c.end_date)
             OPERATOR(pg_catalog./)
           NULLIF((SELECT sum(p.f) FROM profile p WHERE p.date OPERATOR(pg_catalog.>=) (c.start_date OPERATOR(pg_catalog.-) c.shift)
                                                    AND p.date OPERATOR(pg_catalog.<=) (c.end_date OPERATOR(pg_catalog.-) c.shift)), 0) AS ratio,
           (SELECT count(*) FROM profile p WHERE p.date OPERATOR(pg_catalog.>=) (c.start_date OPERATOR(pg_catalog.-) c.shift)
                                             AND p.date OPERATOR(pg_catalog.<=) (c.end_date OPERATOR(pg_catalog.-) c.shift))
             OPERATOR(pg_catalog.=) c.days AS complete
    FROM c
), cmp AS (
    SELECT w.campaign_id,
           count(*) AS stores,
           sum(w.revenue) AS window_revenue, sum(w.tickets) AS window_tickets,
           sum(coalesce(b.revenue, 0)) AS baseline_revenue, sum(coalesce(b.tickets, 0)) AS baseline_tickets
    FROM w LEFT JOIN b ON b.campaign_id OPERATOR(pg_catalog.=) w.campaign_id AND b.store_id OPERATOR(pg_catalog.=) w.store_id
    GROUP BY w.campaign_id
), attributed AS (
    SELECT s.campaign_id, sum(s.amount) AS revenue
    FROM megamarket.sales s
    WHERE s.campaign_id IS NOT NULL
    GROUP BY s.campaign_id
), r AS (
    SELECT c.*, cmp.stores, cmp.window_revenue, cmp.window_tickets,
           CASE WHEN se.complete THEN cmp.baseline_revenue END AS baseline_revenue,
           CASE WHEN se.complete THEN cmp.baseline_tickets END AS baseline_tickets,
           CASE WHEN se.complete THEN cmp.baseline_revenue OPERATOR(pg_catalog.*) se.ratio END AS expected_revenue,
           CASE WHEN se.complete THEN cmp.baseline_tickets OPERATOR(pg_catalog.*) se.ratio END AS expected_tickets,
           se.ratio, coalesce(se.complete, false) AS complete, a.revenue AS attributed_revenue
    FROM c
    LEFT JOIN cmp ON cmp.campaign_id OPERATOR(pg_catalog.=) c.campaign_id
    LEFT JOIN season se ON se.campaign_id OPERATOR(pg_catalog.=) c.campaign_id
    LEFT JOIN attributed a ON a.campaign_id OPERATOR(pg_catalog.=) c.campaign_id
)
SELECT r.campaign_id,
       r.code,
       r.name AS campaign,
       r.channel,
       r.target_segment,
       r.start_date,
       r.end_date,
       r.days,
       (r.start_date OPERATOR(pg_catalog.-) r.shift) AS baseline_start,
       (r.end_date OPERATOR(pg_catalog.-) r.shift) AS baseline_end,
       r.complete AS baseline_complete,
       coalesce(r.stores, 0)::bigint AS stores,
       r.budget::numeric(14,2) AS budget,
       coalesce(r.window_revenue, 0)::numeric(16,2) AS window_revenue,
       r.baseline_revenue::numeric(16,2) AS baseline_revenue,
       r.expected_revenue::numeric(16,2) AS expected_revenue,
       coalesce(r.window_tickets, 0)::bigint AS window_tickets,
       r.baseline_tickets::bigint AS baseline_tickets,
       r.ratio::numeric(10,4) AS seasonal_ratio,
       (100 OPERATOR(pg_catalog.*) ((r.window_revenue OPERATOR(pg_catalog./) NULLIF(r.expected_revenue, 0)) OPERATOR(pg_catalog.-) 1))::numeric(12,2) AS uplift_pct,
       (100 OPERATOR(pg_catalog.*) ((r.window_tickets OPERATOR(pg_catalog./) NULLIF(r.expected_tickets, 0)) OPERATOR(pg_catalog.-) 1))::numeric(12,2) AS ticket_uplift_pct,
       (100 OPERATOR(pg_catalog.*) ((r.window_revenue OPERATOR(pg_catalog./) NULLIF(r.baseline_revenue, 0)) OPERATOR(pg_catalog.-) 1))::numeric(12,2) AS raw_uplift_pct,
       (r.window_revenue OPERATOR(pg_catalog.-) r.expected_revenue)::numeric(16,2) AS incremental_revenue,
       (((r.window_revenue OPERATOR(pg_catalog.-) r.expected_revenue) OPERATOR(pg_catalog.-) r.budget)
         OPERATOR(pg_catalog./) NULLIF(r.budget, 0))::numeric(12,4) AS roi,
       coalesce(r.attributed_revenue, 0)::numeric(16,2) AS attributed_revenue
FROM r;
COMMENT ON VIEW megamarket_bi.campaign_performance IS
'per campaign: sales in its window against a weekday-matched baseline of the same length just before (same stores), scaled by the seasonal profile of days without campaigns; uplift %, incremental revenue, ROI on the budget, and the revenue of lines attributed to it';

CREATE VIEW megamarket_bi.customer_segments AS
SELECT sg.segment_id,
       coalesce(sg.name, 'sin segmento') AS segment,
       sg.description,
       count(*)::bigint AS customers,
       (count(*)::numeric OPERATOR(pg_catalog./) sum(count(*)) OVER ())::numeric(9,6) AS share_of_customers,
       coalesce(sum(cs.tickets), 0)::bigint AS tickets,
       coalesce(sum(cs.revenue), 0)::numeric(16,2) AS revenue,
       (sum(cs.revenue) OPERATOR(pg_catalog./) NULLIF(count(cs.customer_id), 0))::numeric(14,2) AS revenue_per_customer,
       (sum(cs.revenue) OPERATOR(pg_catalog./) NULLIF(sum(cs.tickets), 0))::numeric(14,2) AS avg_ticket
FROM megamarket.customers cu
LEFT JOIN megamarket.segments sg ON sg.segment_id OPERATOR(pg_catalog.=) cu.segment_id
LEFT JOIN megamarket.customer_stats cs ON cs.customer_id OPERATOR(pg_catalog.=) cu.customer_id
GROUP BY sg.segment_id, sg.name, sg.description;
COMMENT ON VIEW megamarket_bi.customer_segments IS
'per customer segment (segment_customers() or the workbook''s): customers, their share, tickets, revenue, revenue per customer and average ticket, from customer_stats as of the last refresh_bi()';

-- Loyalty points per month, from the outbox (src/loyalty): awards queued in
-- the month and what became of them.
CREATE VIEW megamarket_bi.loyalty_trends AS
SELECT pg_catalog.date_trunc('month', a.queued_at)::date AS month_start,
       pg_catalog.date_part('year', a.queued_at)::integer AS year,
       pg_catalog.date_part('month', a.queued_at)::integer AS month,
       count(*)::bigint AS awards,
       count(DISTINCT a.customer_id)::bigint AS customers,
       sum(a.purchase_amount)::numeric(16,2) AS purchase_amount,
       coalesce(sum(a.points) FILTER (WHERE a.state OPERATOR(pg_catalog.=) 'confirmed'), 0)::bigint AS confirmed_points,
       coalesce(sum(a.points) FILTER (WHERE a.state OPERATOR(pg_catalog.<>) ALL (ARRAY['confirmed', 'failed'])), 0)::bigint AS pending_points,
       count(*) FILTER (WHERE a.state OPERATOR(pg_catalog.=) 'failed')::bigint AS failed_awards
FROM megamarket.loyalty_awards a
GROUP BY 1, 2, 3;
COMMENT ON VIEW megamarket_bi.loyalty_trends IS
'loyalty points per month the awards were queued: awards, customers, purchase amount, points confirmed on chain, pending and failed awards';

-- Stored forecasts of each store's daily revenue (refresh_bi() writes them
-- with arima_forecast over live_store_day).
CREATE TABLE megamarket.sales_forecasts (
    store_id     integer NOT NULL REFERENCES megamarket.stores ON DELETE CASCADE,
    day          date NOT NULL,
    step         integer NOT NULL,
    forecast     numeric(16,2) NOT NULL,
    lo80         numeric(16,2),
    hi80         numeric(16,2),
    lo95         numeric(16,2),
    hi95         numeric(16,2),
    model        text NOT NULL,
    generated_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, day)
);
COMMENT ON TABLE megamarket.sales_forecasts IS
'forecast daily revenue per store, with 80 % and 95 % prediction intervals, as of the last refresh_bi()';
COMMENT ON COLUMN megamarket.sales_forecasts.store_id IS 'the branch';
COMMENT ON COLUMN megamarket.sales_forecasts.day IS 'the day forecast';
COMMENT ON COLUMN megamarket.sales_forecasts.step IS 'days after the last day with data (1 = the next day)';
COMMENT ON COLUMN megamarket.sales_forecasts.forecast IS 'point forecast of the day''s revenue';
COMMENT ON COLUMN megamarket.sales_forecasts.lo80 IS 'lower end of the 80 % prediction interval';
COMMENT ON COLUMN megamarket.sales_forecasts.hi80 IS 'upper end of the 80 % prediction interval';
COMMENT ON COLUMN megamarket.sales_forecasts.lo95 IS 'lower end of the 95 % prediction interval';
COMMENT ON COLUMN megamarket.sales_forecasts.hi95 IS 'upper end of the 95 % prediction interval';
COMMENT ON COLUMN megamarket.sales_forecasts.model IS 'the ARIMA model chosen for the store, e.g. ARIMA(1,0,1)(0,1,1)[7]';
COMMENT ON COLUMN megamarket.sales_forecasts.generated_at IS 'when refresh_bi() computed it';
SELECT pg_catalog.pg_extension_config_dump('megamarket.sales_forecasts', '');

CREATE VIEW megamarket_bi.sales_forecast AS
SELECT f.store_id, st.store, f.day, pg_catalog.make_date(pg_catalog.date_part('year', f.day)::integer,
                                                         pg_catalog.date_part('month', f.day)::integer, 1) AS month_start,
       f.step, f.forecast, f.lo80, f.hi80, f.lo95, f.hi95, f.model, f.generated_at
FROM megamarket.sales_forecasts f
JOIN megamarket_bi.stores st ON st.store_id OPERATOR(pg_catalog.=) f.store_id;
COMMENT ON VIEW megamarket_bi.sales_forecast IS
'forecast daily revenue per branch with 80 % and 95 % intervals (ARIMA, chosen automatically per branch), as of the last refresh_bi()';

CREATE VIEW megamarket_bi.product_associations AS
SELECT pg_catalog.array_to_string(a.antecedent, ' + ') AS if_bought,
       pg_catalog.array_to_string(a.consequent, ' + ') AS then_also,
       pg_catalog.array_to_string(a.antecedent_skus, ' + ') AS if_bought_skus,
       pg_catalog.array_to_string(a.consequent_skus, ' + ') AS then_also_skus,
       pg_catalog.cardinality(a.antecedent) OPERATOR(pg_catalog.+) pg_catalog.cardinality(a.consequent) AS products,
       a.support::numeric(9,6) AS support,
       a.confidence::numeric(9,6) AS confidence,
       a.lift::numeric(12,4) AS lift,
       a.tickets
FROM megamarket.product_associations a;
COMMENT ON VIEW megamarket_bi.product_associations IS
'products bought together (association rules over the tickets): if these were bought, then also those, with support, confidence and lift, as of the last refresh_bi()';

-- refresh_bi: recompute the stored results the views read. Each step runs in
-- a subtransaction: a step that fails (too few customers to segment, a
-- series too short to forecast) reports its error and the others go on; the
-- function then ends with a WARNING naming the failed steps.
CREATE FUNCTION megamarket.refresh_bi(segments integer DEFAULT 4,
                                      forecast_days integer DEFAULT 31,
                                      min_support float8 DEFAULT 0.01)
RETURNS TABLE (step text, rows bigint, seconds numeric, error text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    t0 timestamptz;
    n bigint;
    failed text[] := '{}';
BEGIN
    IF segments IS NULL OR segments < 1 OR forecast_days IS NULL OR forecast_days < 1 OR forecast_days > 366
       OR min_support IS NULL OR min_support <= 0 THEN
        RAISE EXCEPTION 'refresh_bi: segments must be at least 1, forecast_days 1 to 366 and min_support above 0'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- customer statistics
    step := 'customer_stats'; error := NULL; t0 := clock_timestamp();
    BEGIN
        DELETE FROM megamarket.customer_stats;
        INSERT INTO megamarket.customer_stats
               (customer_id, tickets, lines, revenue, first_date_id, last_date_id, refreshed_at)
        SELECT s.customer_id, count(*) FILTER (WHERE s.line_no = 1), count(*), sum(s.amount),
               min(s.date_id), max(s.date_id), now()
        FROM megamarket.sales s
        WHERE s.customer_id IS NOT NULL
        GROUP BY s.customer_id;
        GET DIAGNOSTICS n = ROW_COUNT;
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN RAISE;
              WHEN OTHERS THEN error := SQLERRM; n := NULL; failed := failed || step;
    END;
    rows := n; seconds := round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3);
    RETURN NEXT;

    -- customer segments (k-means on recency, frequency, monetary value)
    step := 'segments'; error := NULL; t0 := clock_timestamp();
    BEGIN
        SELECT sum(x.customers) INTO n FROM megamarket.segment_customers(segments) x;
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN RAISE;
              WHEN OTHERS THEN error := SQLERRM; n := NULL; failed := failed || step;
    END;
    rows := n; seconds := round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3);
    RETURN NEXT;

    -- products bought together
    step := 'product_associations'; error := NULL; t0 := clock_timestamp();
    BEGIN
        n := megamarket.refresh_product_associations(min_support => min_support);
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN RAISE;
              WHEN OTHERS THEN error := SQLERRM; n := NULL; failed := failed || step;
    END;
    rows := n; seconds := round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3);
    RETURN NEXT;

    -- each store's daily revenue, forecast_days ahead (weekly seasonality)
    step := 'sales_forecast'; error := NULL; t0 := clock_timestamp();
    BEGIN
        IF to_regclass('pg_temp.mm_forecast') IS NOT NULL THEN
            DROP TABLE pg_temp.mm_forecast;
        END IF;
        CREATE TEMP TABLE mm_forecast ON COMMIT DROP AS
        SELECT f.*
        FROM megamarket.arima_forecast(
                $q$SELECT st.store_id::text, d.date, coalesce(l.revenue, 0)::float8
                   FROM (SELECT store_id, min(date_id) AS lo, max(date_id) AS hi
                         FROM megamarket.live_store_day WHERE lines > 0 GROUP BY store_id) st
                   JOIN megamarket.dates d ON d.date_id BETWEEN st.lo AND st.hi
                   LEFT JOIN megamarket.live_store_day l ON l.store_id = st.store_id AND l.date_id = d.date_id
                   ORDER BY 1, 2$q$,
                forecast_days, auto => true, period => 7) f;
        DELETE FROM megamarket.sales_forecasts;
        INSERT INTO megamarket.sales_forecasts
               (store_id, day, step, forecast, lo80, hi80, lo95, hi95, model, generated_at)
        SELECT f.series::integer, f.t::date, f.step, f.forecast, f.lo80, f.hi80, f.lo95, f.hi95, f.model, now()
        FROM pg_temp.mm_forecast f
        WHERE f.error IS NULL;
        GET DIAGNOSTICS n = ROW_COUNT;
        -- a store whose series could not be fitted: its reason, the others stored
        SELECT string_agg(DISTINCT 'store ' || f.series || ': ' || f.error, '; ') INTO error
        FROM pg_temp.mm_forecast f WHERE f.error IS NOT NULL;
        IF error IS NOT NULL THEN
            failed := failed || step;
        END IF;
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN RAISE;
              WHEN OTHERS THEN error := SQLERRM; n := NULL; failed := failed || step;
    END;
    rows := n; seconds := round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3);
    RETURN NEXT;

    IF cardinality(failed) > 0 THEN
        RAISE WARNING 'refresh_bi: % failed', array_to_string(failed, ', ')
            USING HINT = 'The rows of the failed steps say why; the other steps were refreshed.';
    END IF;
END
$$;
COMMENT ON FUNCTION megamarket.refresh_bi(integer, integer, float8) IS
'recomputes the stored results megamarket_bi views read: customer statistics, segments (segment_customers(segments)), product associations (min_support), each store''s revenue forecast forecast_days ahead; one row per step with rows, time and error; schedule it nightly with pg_cron after the import';
REVOKE ALL ON FUNCTION megamarket.refresh_bi(integer, integer, float8) FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('megamarket.customer_stats', '');
