--
-- The warehouse refuses what breaks its rules, with errors that name the
-- constraint and the value; a refused statement changes nothing.
--
CREATE EXTENSION megamarket;
SET search_path = megamarket, public;

-- a small, valid snowflake
SELECT fill_dates('2025-01-30', '2025-02-02');
SELECT add_months('2025-01-30', '2025-02-02');  -- the month partitions of sales and losses
INSERT INTO regions (name) VALUES ('Noroeste'), ('Centro-Sur');
INSERT INTO cities (name, region_id) VALUES ('Villaverde', 1), ('Puerto Sol', 2);
UPDATE stores SET city_id = 1, location = 'Av. del Norte 10' WHERE code = 'NORTE';
UPDATE stores SET city_id = 2 WHERE code IN ('CENTRO', 'SUR');
INSERT INTO departments (name) VALUES ('Alimentación'), ('Hogar');
INSERT INTO categories (name, department_id) VALUES ('Lácteos', 1), ('Panadería', 1), ('Limpieza', 2);
INSERT INTO products (sku, name, category_id, price) VALUES
    ('LAC-001', 'Leche entera 1 L', 1, 1.15),
    ('PAN-001', 'Pan de molde', 2, 2.40),
    ('LIM-001', 'Detergente 3 L', 3, 7.95);
INSERT INTO segments (name) VALUES ('Frecuentes');
INSERT INTO customers (code, name, email, segment_id, wallet_address) VALUES
    ('C-0001', 'Ana Pérez', 'ana.perez@example.com', 1, '0x' || repeat('ab', 20)),
    ('C-0002', 'Luis Gómez', NULL, NULL, NULL);
INSERT INTO channels (name) VALUES ('E-mail');
INSERT INTO campaigns (code, name, channel_id, target_segment_id, start_date, end_date, budget)
VALUES ('CAM-01', 'Vuelta al cole', 1, 1, '2025-01-30', '2025-02-15', 5000);
INSERT INTO loss_reasons (name) VALUES ('Caducidad'), ('Robo');
INSERT INTO sales (ticket_id, line_no, customer_id, product_id, store_id, date_id, campaign_id, quantity, amount) VALUES
    ('N-1', 1, 1, 1, 1, 20250130, 1, 2, 2.30),
    ('N-1', 2, 1, 2, 1, 20250130, 1, 1, 2.40),
    ('C-7', 1, NULL, 3, 2, 20250201, NULL, 1, 7.95),
    ('S-3', 1, 2, 1, 3, 20250202, NULL, 6, 6.90);
INSERT INTO losses (loss_ref, product_id, store_id, date_id, reason_id, quantity, amount) VALUES
    ('P-1', 1, 1, 20250131, 1, 3, 2.10);

-- a star query: sales by region, store and month (hand-summed: Norte 4.70,
-- Centro 7.95, Sur 6.90)
SELECT r.name AS region, s.name AS store, d.year, d.month_name, sum(f.amount) AS amount, sum(f.quantity) AS units
FROM sales f
JOIN stores s USING (store_id)
JOIN cities c USING (city_id)
JOIN regions r USING (region_id)
JOIN dates d USING (date_id)
GROUP BY 1, 2, 3, d.month, 4
ORDER BY 2;

-- foreign keys
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('X-1', 1, 1, 99, 20250130, 1, 1.00);
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('X-1', 1, 1, 1, 20250101, 1, 1.00);
DELETE FROM products WHERE sku = 'LAC-001';
DELETE FROM dates WHERE date_id = 20250130;
INSERT INTO categories (name, department_id) VALUES ('Bebidas', 42);

-- checks
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('X-1', 1, 1, 1, 20250130, 0, 1.00);
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('X-1', 1, 1, 1, 20250130, -2, 1.00);
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('X-1', 1, 1, 1, 20250130, 1, -1.00);
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('X-1', 0, 1, 1, 20250130, 1, 1.00);
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES (' X-1', 1, 1, 1, 20250130, 1, 1.00);
INSERT INTO losses (loss_ref, product_id, store_id, date_id, reason_id, quantity, amount)
VALUES ('P-2', 1, 1, 20250131, 1, 0, 0);
INSERT INTO products (sku, name, category_id, price) VALUES ('BAD-1', 'Oferta', 1, -0.01);
INSERT INTO products (sku, name, category_id, price) VALUES ('SKU CON ESPACIOS', 'Oferta', 1, 1);
INSERT INTO customers (code, name, email) VALUES ('C-0003', 'Eva', 'Eva@Example.com');
INSERT INTO customers (code, name, email) VALUES ('C-0003', 'Eva', 'no-es-un-correo');
INSERT INTO customers (code, name, wallet_address) VALUES ('C-0003', 'Eva', '0x1234');
INSERT INTO customers (code, name, wallet_address) VALUES ('C-0003', 'Eva', '0x' || repeat('AB', 20));
INSERT INTO customers (code, name) VALUES ('C-0003', '   ');
INSERT INTO campaigns (code, name, start_date, end_date, budget)
VALUES ('CAM-02', 'Al revés', '2025-02-15', '2025-02-01', 10);
INSERT INTO campaigns (code, name, start_date, end_date, budget)
VALUES ('CAM-02', 'Sin dinero', '2025-02-01', '2025-02-15', -1);
INSERT INTO stores (code, name) VALUES ('norte 2', 'Norte 2');
-- amounts are kept to the cent; more precision is rounded, not truncated
INSERT INTO products (sku, name, category_id, price) VALUES ('LAC-002', 'Yogur', 1, 0.455) RETURNING price;

-- natural keys
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('N-1', 2, 3, 1, 20250130, 1, 7.95);
-- ... in another month (another partition) too: the key table refuses it
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('N-1', 2, 3, 1, 20250201, 1, 7.95);
-- ... and so in one statement with a new line
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('N-9', 1, 3, 1, 20250130, 1, 1.00), ('N-9', 1, 3, 1, 20250202, 1, 1.00);
INSERT INTO losses (loss_ref, product_id, store_id, date_id, reason_id, quantity, amount)
VALUES ('P-1', 1, 1, 20250201, 1, 1, 1.00);
INSERT INTO products (sku, name, category_id, price) VALUES ('LAC-001', 'Otra leche', 1, 1);
INSERT INTO stores (code, name) VALUES ('NORTE', 'Norte bis');
INSERT INTO customers (code, name, wallet_address) VALUES ('C-0009', 'Otro', '0x' || repeat('ab', 20));

-- nothing refused above changed anything
SELECT (SELECT count(*) FROM sales) AS sales, (SELECT count(*) FROM losses) AS losses,
       (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM customers) AS customers,
       (SELECT count(*) FROM campaigns) AS campaigns, (SELECT count(*) FROM stores) AS stores;

-- a line that moves to another day, in another month: the row moves to the
-- February partition with its sale_id, its key stays the one key row
SELECT sale_id, tableoid::regclass FROM sales WHERE (ticket_id, line_no) = ('N-1', 2);
UPDATE sales SET date_id = 20250201 WHERE (ticket_id, line_no) = ('N-1', 2);
SELECT sale_id, tableoid::regclass, date_id FROM sales WHERE (ticket_id, line_no) = ('N-1', 2);
SELECT count(*) FROM sale_keys WHERE (ticket_id, line_no) = ('N-1', 2);
-- the key tables follow the facts: keys equal, row for row
SELECT (SELECT count(*) FROM sales) = (SELECT count(*) FROM sale_keys)
   AND NOT EXISTS (SELECT ticket_id, line_no FROM sales EXCEPT SELECT ticket_id, line_no FROM sale_keys)
   AND (SELECT count(*) FROM losses) = (SELECT count(*) FROM loss_keys)
   AND NOT EXISTS (SELECT loss_ref FROM losses EXCEPT SELECT loss_ref FROM loss_keys) AS keys_match;
-- a renumbered line, and a deleted one, take their keys along
UPDATE sales SET line_no = 7 WHERE (ticket_id, line_no) = ('N-1', 2);
SELECT ticket_id, line_no FROM sale_keys WHERE ticket_id = 'N-1' ORDER BY 2;
BEGIN;
DELETE FROM sales WHERE ticket_id = 'N-1';
SELECT count(*) FROM sale_keys WHERE ticket_id = 'N-1';
ROLLBACK;
UPDATE sales SET line_no = 2 WHERE (ticket_id, line_no) = ('N-1', 7);

-- shipped branches: an INSERT of one that is still exactly as shipped
-- replaces it (this is what pg_restore does after CREATE EXTENSION) ...
BEGIN;
UPDATE stores SET city_id = NULL, location = NULL WHERE store_id = 3;
INSERT INTO stores (store_id, code, name, location) VALUES (3, 'SUR', 'Sur', 'Calle Mayor 1');
SELECT store_id, code, name, location, city_id FROM stores WHERE store_id = 3;
ROLLBACK;
-- ... but once changed (here: it has a city), a duplicate is an error as usual
INSERT INTO stores (store_id, code, name) VALUES (3, 'SUR', 'Sur');
SELECT store_id, code, name, location, city_id FROM stores WHERE store_id = 3;
-- and a new branch is just a row
INSERT INTO stores (code, name) VALUES ('ESTE', 'Este') RETURNING store_id, code, name;

RESET search_path;
DROP EXTENSION megamarket;
