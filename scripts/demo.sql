-- The tour, run by scripts/demo on a throwaway cluster and a local chain: the
-- whole proposal, in SQL. The chain's workbook (written by tools/mkworkbook,
-- path in :workbook) read through xlsx_fdw and loaded into the warehouse;
-- segments, product rules, forecasts and campaign performance computed in
-- the database; loyalty points awarded on the local Ethereum node (anvil) as
-- sales arrive.
\set ECHO queries
\pset footer off
\set ON_ERROR_STOP on
CREATE EXTENSION megamarket;
SET search_path = megamarket, public;

-- 1. Excel ------------------------------------------------------------------

-- the workbook's sheets, straight from the file
SELECT position, name, dimension, pg_size_pretty(xml_bytes) AS xml FROM xlsx_sheets(:'workbook');

-- a sheet as a foreign table: the first ticket lines, typed from the cells
CREATE SERVER workbooks FOREIGN DATA WRAPPER xlsx_fdw;
CREATE FOREIGN TABLE ventas_xlsx (ticket bigint, "línea" int, fecha date, sucursal text,
                                  cliente text, sku text, cantidad text, importe text)
    SERVER workbooks OPTIONS (filename :'workbook', sheet 'Ventas');
SELECT * FROM ventas_xlsx LIMIT 5;

-- what an import would do, without doing it
SELECT sheet, kind, min(header_row) AS header_row,
       count(*) FILTER (WHERE field IS NOT NULL AND field <> 'ignored') AS fields,
       max(rejected) AS rejected, string_agg(DISTINCT reasons, '; ') AS reasons
FROM import_preview(:'workbook') GROUP BY sheet, kind ORDER BY sheet;

-- 2. The warehouse ------------------------------------------------------------

-- the import: dimensions, then facts (new months in bulk); dirty rows cleaned
-- or rejected
SELECT * FROM import_workbook(:'workbook');

SELECT 'stores' AS "table", count(*) AS "rows" FROM stores UNION ALL
SELECT 'products', count(*) FROM products UNION ALL
SELECT 'customers', count(*) FROM customers UNION ALL
SELECT 'campaigns', count(*) FROM campaigns UNION ALL
SELECT 'sales', count(*) FROM sales UNION ALL
SELECT 'losses', count(*) FROM losses;

-- rejects by reason (kept: the row was loaded without the bad value)
SELECT sheet, reason, kept, count(*) AS "rows", min(cell) AS first_cell, min(value) AS example
FROM import_rejects GROUP BY sheet, reason, kept ORDER BY sheet, count(*) DESC, reason;

-- importing the same file again changes nothing
SELECT * FROM import_workbook(:'workbook');

-- 3. Analytics, as the nightly job refreshes them (pg_cron: docs/powerbi.md) --

SELECT step, rows, seconds, error FROM refresh_bi();

-- customer segments found by k-means on recency, frequency, spend, basket size
SELECT segment, customers, revenue_per_customer, description
FROM megamarket_bi.customer_segments WHERE segment_id IS NOT NULL ORDER BY customers DESC;

-- products bought together (apriori over the tickets), strongest first
SELECT if_bought, then_also, round(support * 100, 2) AS "support %",
       round(confidence * 100, 1) AS "confidence %", round(lift, 2) AS lift
FROM megamarket_bi.product_associations ORDER BY lift DESC, support DESC LIMIT 8;

-- next month's revenue per store (ARIMA chosen per store), with its 80 % band
SELECT store, month_start, sum(forecast) AS forecast, sum(lo80) AS lo80, sum(hi80) AS hi80, min(model) AS model
FROM megamarket_bi.sales_forecast GROUP BY store, month_start ORDER BY store, month_start;

-- the week after the workbook, per store, by ARIMA (orders chosen per store)
-- and by a neural network autoregression (7 daily lags, 20 nets averaged):
-- one statement per model forecasts every store
WITH daily(sql) AS (VALUES ($q$
       SELECT st.name, d.date, coalesce(sum(s.amount), 0)
       FROM megamarket.stores st
       CROSS JOIN megamarket.dates d
       LEFT JOIN megamarket.sales s ON s.store_id = st.store_id AND s.date_id = d.date_id
       WHERE d.date BETWEEN (SELECT min(date) FROM megamarket.dates JOIN megamarket.sales USING (date_id))
                        AND (SELECT max(date) FROM megamarket.dates JOIN megamarket.sales USING (date_id))
       GROUP BY 1, 2$q$)),
arima AS (SELECT f.* FROM daily, arima_forecast(daily.sql, 7, auto => true) f),
nnar AS (SELECT f.* FROM daily, nnar_forecast(daily.sql, 7, p => 7) f)
SELECT a.series AS store, min(a.t) AS week_from, round(sum(a.forecast)) AS arima,
       round(sum(n.forecast)) AS nnar, min(split_part(a.model, ', ', 1)) AS arima_model,
       min(split_part(n.model, ', ', 1)) AS nnar_model
FROM arima a JOIN nnar n USING (series, step) GROUP BY a.series ORDER BY a.series;

-- campaigns: sales in the window against a seasonally scaled baseline
SELECT code, campaign, days, window_revenue, expected_revenue, uplift_pct,
       incremental_revenue, budget, roi
FROM megamarket_bi.campaign_performance ORDER BY start_date;

-- sales by store and month, as Power BI reads them
SELECT store, month_start, revenue, tickets, avg_ticket
FROM megamarket_bi.sales_by_store_month
WHERE month_start >= (SELECT max(month_start) - interval '2 months' FROM megamarket_bi.sales_by_store_month)
ORDER BY store, month_start;

-- 4. Loyalty points on the local chain --------------------------------------

-- deploy the contract with the signer key of megamarket.signer_key_file
SELECT loyalty_deploy() AS contract \gset
ALTER SYSTEM SET megamarket.loyalty_contract = :'contract';
SELECT pg_reload_conf();
DO $$ BEGIN
    FOR i IN 1..100 LOOP
        EXIT WHEN current_setting('megamarket.loyalty_contract') <> '';
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;

-- register the customers who gave a wallet (records only: the dispatcher
-- worker sends them to the chain)
SELECT count(*) AS registered
FROM (SELECT loyalty_register(customer_id, wallet_address) FROM customers
      WHERE wallet_address IS NOT NULL ORDER BY customer_id LIMIT 40) r;

-- sales arrive in real time: today's tickets at the tills. The fact triggers
-- keep live_store_day, queue one award per ticket of a registered customer
-- and NOTIFY megamarket_sales
SELECT fill_dates(current_date, current_date), add_months(current_date, current_date);
LISTEN megamarket_sales;
INSERT INTO sales (ticket_id, line_no, customer_id, product_id, store_id, date_id,
                   quantity, amount)
SELECT 'HOY-' || c.customer_id, l, c.customer_id, p.product_id, 1 + c.customer_id % 3,
       date_id(current_date), l, p.price * l
FROM (SELECT customer_id FROM loyalty_customers ORDER BY customer_id LIMIT 20) c
CROSS JOIN generate_series(1, 3) l
JOIN LATERAL (SELECT product_id, price FROM products ORDER BY product_id
              OFFSET (c.customer_id * 7 + l) % 50 LIMIT 1) p ON true;

SELECT s.name AS store, l.revenue, l.tickets, l.lines
FROM live_store_day l JOIN stores s USING (store_id)
WHERE l.date_id = date_id(current_date) ORDER BY s.store_id;

-- the dispatcher signs in C, commits the signed bytes, sends, reads receipts;
-- wait until every award is confirmed on chain
DO $$ BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM megamarket.loyalty_awards
                              WHERE state NOT IN ('confirmed', 'failed'))
              AND NOT EXISTS (SELECT 1 FROM megamarket.loyalty_customers
                              WHERE state NOT IN ('confirmed', 'failed'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;

SELECT state, count(*) AS awards, sum(points) AS points FROM loyalty_awards GROUP BY state;

-- the database's ledger and the contract agree, customer by customer
SELECT l.customer_id, l.address, l.confirmed_points, loyalty_balance(l.customer_id) AS on_chain
FROM loyalty_ledger l WHERE l.confirmed_points > 0 ORDER BY l.customer_id LIMIT 8;
SELECT count(*) AS customers, sum(confirmed_points) AS ledger_points,
       sum(loyalty_balance(customer_id)) AS chain_points
FROM loyalty_ledger WHERE registration = 'confirmed';

-- the transactions the dispatcher signed: per kind, then the last three
SELECT kind, count(*) AS transactions, min(nonce) AS first_nonce, max(nonce) AS last_nonce,
       sum(item_count) AS items, sum(gas_used) AS gas, string_agg(DISTINCT state, ',') AS states
FROM loyalty_transactions GROUP BY kind ORDER BY min(nonce);
SELECT kind, nonce, left(tx_hash, 18) || '…' AS tx_hash, block_number, gas_used, item_count, state
FROM loyalty_transactions ORDER BY nonce DESC LIMIT 3;

-- the customers' page (web/points.html) reads the contract itself with this
SELECT loyalty_web_config();
