-- The five-minute tour, run by scripts/demo on a throwaway cluster.
\set ECHO queries
\pset footer off
CREATE EXTENSION megamarket;
SET search_path = megamarket, public;

-- the date dimension for the demo period (Spanish month and weekday names)
SELECT fill_dates('2025-01-01', '2025-03-31') AS days_added;

-- where: the shipped branches Norte, Centro, Sur, placed in cities and regions
INSERT INTO regions (name) VALUES ('Norte'), ('Centro'), ('Sur');
INSERT INTO cities (name, region_id)
SELECT c, r.region_id FROM (VALUES ('Monteverde', 'Norte'), ('Villa Central', 'Centro'), ('Puerto Sur', 'Sur')) v(c, reg)
JOIN regions r ON r.name = v.reg;
UPDATE stores s SET city_id = c.city_id
FROM cities c WHERE c.name = CASE s.code WHEN 'NORTE' THEN 'Monteverde' WHEN 'CENTRO' THEN 'Villa Central' ELSE 'Puerto Sur' END;

-- what: a few products in categories and departments
INSERT INTO departments (name) VALUES ('Alimentación'), ('Hogar');
INSERT INTO categories (name, department_id) VALUES ('Lácteos', 1), ('Panadería', 1), ('Limpieza', 2);
INSERT INTO products (sku, name, category_id, price) VALUES
    ('LAC-001', 'Leche entera 1 L', 1, 1.15),
    ('PAN-001', 'Pan de molde', 2, 2.40),
    ('LIM-001', 'Detergente 3 L', 3, 7.95);

-- who: customers
INSERT INTO customers (code, name, email) VALUES
    ('C-0001', 'Ana Pérez', 'ana.perez@example.com'),
    ('C-0002', 'Luis Gómez', 'luis.gomez@example.com');

-- facts: a quarter of ticket lines, deterministic
INSERT INTO sales (ticket_id, line_no, customer_id, product_id, store_id, date_id, quantity, amount)
SELECT 'T' || t, l, CASE WHEN t % 3 = 0 THEN NULL ELSE 1 + t % 2 END,
       p.product_id, 1 + t % 3, d.date_id, q, q * p.price
FROM generate_series(1, 900) t
CROSS JOIN LATERAL generate_series(1, 1 + t % 3) l
JOIN products p ON p.product_id = 1 + (t + l) % 3
JOIN dates d ON d.date = date '2025-01-01' + (t % 90)
CROSS JOIN LATERAL (SELECT 1 + (t * l) % 4 AS q) x;

-- the star query: sales by store and month
SELECT s.name AS sucursal, r.name AS region, d.year AS año, d.month_name AS mes,
       count(DISTINCT f.ticket_id) AS tickets, sum(f.quantity) AS unidades, sum(f.amount) AS importe
FROM sales f
JOIN stores s USING (store_id)
JOIN cities c USING (city_id)
JOIN regions r USING (region_id)
JOIN dates d USING (date_id)
GROUP BY s.store_id, s.name, r.name, d.year, d.month, d.month_name
ORDER BY s.store_id, d.month;
