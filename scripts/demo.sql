-- The five-minute tour, run by scripts/demo on a throwaway cluster:
-- the chain's workbook (written by tools/mkworkbook, path in :workbook)
-- read through xlsx_fdw and loaded into the warehouse by import_workbook().
\set ECHO queries
\pset footer off
CREATE EXTENSION megamarket;
SET search_path = megamarket, public;

-- the workbook's sheets, straight from the file
SELECT position, name, dimension, pg_size_pretty(xml_bytes) AS xml FROM xlsx_sheets(:'workbook');

-- a sheet as a foreign table: the first ticket lines, typed from the cells
CREATE SERVER workbooks FOREIGN DATA WRAPPER xlsx_fdw;
CREATE FOREIGN TABLE ventas_xlsx (ticket bigint, "línea" int, fecha date, sucursal text,
                                  cliente text, sku text, cantidad text, importe text)
    SERVER workbooks OPTIONS (filename :'workbook', sheet 'Ventas');
SELECT * FROM ventas_xlsx LIMIT 5;

-- the import: dimensions, then facts; dirty rows cleaned or rejected
SELECT * FROM import_workbook(:'workbook');

-- the report: rows per table
SELECT 'stores' AS "table", count(*) AS "rows" FROM stores UNION ALL
SELECT 'products', count(*) FROM products UNION ALL
SELECT 'customers', count(*) FROM customers UNION ALL
SELECT 'campaigns', count(*) FROM campaigns UNION ALL
SELECT 'dates', count(*) FROM dates UNION ALL
SELECT 'sales', count(*) FROM sales UNION ALL
SELECT 'losses', count(*) FROM losses;

-- rejects by reason (kept: the row was loaded without the bad value)
SELECT sheet, reason, kept, count(*) AS "rows", min(cell) AS first_cell, min(value) AS example
FROM import_rejects GROUP BY sheet, reason, kept ORDER BY sheet, count(*) DESC, reason;

-- the star query: sales by store and month (first six months)
SELECT s.name AS sucursal, r.name AS region, d.year AS "año", d.month_name AS mes,
       count(DISTINCT f.ticket_id) AS tickets, sum(f.quantity) AS unidades, sum(f.amount) AS importe
FROM sales f
JOIN stores s USING (store_id)
JOIN cities c USING (city_id)
JOIN regions r USING (region_id)
JOIN dates d USING (date_id)
WHERE d.date < date '2023-07-01'
GROUP BY s.store_id, s.name, r.name, d.year, d.month, d.month_name
ORDER BY s.store_id, d.year, d.month;

-- products bought together: association rules over the tickets, stored for BI
-- in product_associations (docs/mining.md#apriori)
SELECT refresh_product_associations(min_support => 0.05, min_confidence => 0.4) AS rules;
SELECT antecedent, consequent, tickets, round(confidence::numeric, 2) AS confidence,
       round(lift::numeric, 2) AS lift
FROM product_associations ORDER BY tickets DESC, lift DESC, antecedent_skus, consequent_skus LIMIT 8;

-- importing the same file again changes nothing
SELECT * FROM import_workbook(:'workbook');
SELECT run_id, file_sha256, rows_read, inserted, updated, unchanged, rejected,
       finished_at - started_at AS took
FROM import_runs ORDER BY run_id;
