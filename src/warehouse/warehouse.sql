-- ---------------------------------------------------------------------------
-- warehouse: the snowflake schema
--
--   sales, losses                  facts (one row per ticket line / loss event)
--   dates                          date dimension, key yyyymmdd, filled by fill_dates()
--   stores -> cities -> regions    where
--   products -> categories -> departments
--   customers -> segments          who
--   campaigns -> channels, segments
--   loss_reasons
--
-- Surrogate keys are serial/bigserial (pg_dump keeps sequences of extension
-- config tables; identity sequences it did not before PostgreSQL 16.x).
-- Every dimension also has a natural key (code, sku, name ...) with a UNIQUE
-- constraint: the import upserts on it. Facts have theirs too: a sale is
-- (ticket_id, line_no), a loss is loss_ref.
-- ---------------------------------------------------------------------------

-- Geography ------------------------------------------------------------------

CREATE TABLE megamarket.regions (
    region_id   serial PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CONSTRAINT regions_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name))
);
COMMENT ON TABLE megamarket.regions IS 'dimension: regions of the country the chain operates in (top of stores -> cities -> regions)';
COMMENT ON COLUMN megamarket.regions.region_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.regions.name IS 'region name, natural key (trimmed, not empty)';

CREATE TABLE megamarket.cities (
    city_id     serial PRIMARY KEY,
    name        text NOT NULL
                CONSTRAINT cities_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)),
    region_id   integer NOT NULL REFERENCES megamarket.regions,
    UNIQUE (name, region_id)
);
CREATE INDEX cities_region_id_idx ON megamarket.cities (region_id);
COMMENT ON TABLE megamarket.cities IS 'dimension: cities, each in one region';
COMMENT ON COLUMN megamarket.cities.city_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.cities.name IS 'city name; natural key together with region_id';
COMMENT ON COLUMN megamarket.cities.region_id IS 'the region the city belongs to';

CREATE TABLE megamarket.stores (
    store_id    serial PRIMARY KEY,
    code        text NOT NULL UNIQUE
                CONSTRAINT stores_code_format CHECK (megamarket.is_store_code(code)),
    name        text NOT NULL UNIQUE
                CONSTRAINT stores_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)),
    location    text,
    city_id     integer REFERENCES megamarket.cities,
    opened_on   date
);
CREATE INDEX stores_city_id_idx ON megamarket.stores (city_id);
COMMENT ON TABLE megamarket.stores IS 'dimension: the chain''s branches (sucursales); Norte, Centro and Sur ship with the extension';
COMMENT ON COLUMN megamarket.stores.store_id IS 'surrogate key; 1, 2 and 3 are the shipped branches Norte, Centro and Sur';
COMMENT ON COLUMN megamarket.stores.code IS 'branch code, natural key (upper-case letters, digits, _ and -)';
COMMENT ON COLUMN megamarket.stores.name IS 'branch name as people say it, unique';
COMMENT ON COLUMN megamarket.stores.location IS 'street address or other free-text location';
COMMENT ON COLUMN megamarket.stores.city_id IS 'the city the branch is in; NULL until known';
COMMENT ON COLUMN megamarket.stores.opened_on IS 'opening date, if known';

-- Products -------------------------------------------------------------------

CREATE TABLE megamarket.departments (
    department_id serial PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CONSTRAINT departments_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name))
);
COMMENT ON TABLE megamarket.departments IS 'dimension: store departments (top of products -> categories -> departments)';
COMMENT ON COLUMN megamarket.departments.department_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.departments.name IS 'department name, natural key';

CREATE TABLE megamarket.categories (
    category_id serial PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CONSTRAINT categories_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)),
    department_id integer NOT NULL REFERENCES megamarket.departments
);
CREATE INDEX categories_department_id_idx ON megamarket.categories (department_id);
COMMENT ON TABLE megamarket.categories IS 'dimension: product categories, each in one department';
COMMENT ON COLUMN megamarket.categories.category_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.categories.name IS 'category name, natural key';
COMMENT ON COLUMN megamarket.categories.department_id IS 'the department the category belongs to';

CREATE TABLE megamarket.products (
    product_id  serial PRIMARY KEY,
    sku         text NOT NULL UNIQUE
                CONSTRAINT products_sku_format CHECK (megamarket.is_sku(sku)),
    name        text NOT NULL
                CONSTRAINT products_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)),
    category_id integer NOT NULL REFERENCES megamarket.categories,
    price       numeric(12,2) NOT NULL CONSTRAINT products_price_not_negative CHECK (price OPERATOR(pg_catalog.>=) 0)
);
CREATE INDEX products_category_id_idx ON megamarket.products (category_id);
COMMENT ON TABLE megamarket.products IS 'dimension: products sold';
COMMENT ON COLUMN megamarket.products.product_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.products.sku IS 'stock-keeping unit, natural key';
COMMENT ON COLUMN megamarket.products.name IS 'product name';
COMMENT ON COLUMN megamarket.products.category_id IS 'the product''s category';
COMMENT ON COLUMN megamarket.products.price IS 'current list price per unit (the amount actually paid is in sales.amount)';

-- Customers ------------------------------------------------------------------

CREATE TABLE megamarket.segments (
    segment_id  serial PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CONSTRAINT segments_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)),
    description text
);
COMMENT ON TABLE megamarket.segments IS 'dimension: customer segments (from the workbook or from segment_customers())';
COMMENT ON COLUMN megamarket.segments.segment_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.segments.name IS 'segment name, natural key';
COMMENT ON COLUMN megamarket.segments.description IS 'what characterises the segment';

CREATE TABLE megamarket.customers (
    customer_id serial PRIMARY KEY,
    code        text NOT NULL UNIQUE
                CONSTRAINT customers_code_not_blank CHECK (code OPERATOR(pg_catalog.<>) '' AND code OPERATOR(pg_catalog.=) pg_catalog.btrim(code)),
    name        text NOT NULL
                CONSTRAINT customers_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)),
    email       text
                CONSTRAINT customers_email_format CHECK (email OPERATOR(pg_catalog.~) '^[a-z0-9._%+''-]+@[a-z0-9.-]+\.[a-z]{2,}$'),
    segment_id  integer REFERENCES megamarket.segments,
    wallet_address text UNIQUE
                CONSTRAINT customers_wallet_address_format CHECK (wallet_address OPERATOR(pg_catalog.~) '^0x[0-9a-f]{40}$')
);
CREATE INDEX customers_segment_id_idx ON megamarket.customers (segment_id);
COMMENT ON TABLE megamarket.customers IS 'dimension: customers (clientes)';
COMMENT ON COLUMN megamarket.customers.customer_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.customers.code IS 'customer number from the source system, natural key';
COMMENT ON COLUMN megamarket.customers.name IS 'full name';
COMMENT ON COLUMN megamarket.customers.email IS 'e-mail address, stored in lower case';
COMMENT ON COLUMN megamarket.customers.segment_id IS 'current segment, NULL when not yet segmented';
COMMENT ON COLUMN megamarket.customers.wallet_address IS 'Ethereum address for loyalty points: 0x and 40 lower-case hex digits';

-- Dates ----------------------------------------------------------------------

-- Spanish month and weekday names, as the date dimension stores them. IMMUTABLE
-- on purpose: they depend on nothing but the argument (not on lc_time).
CREATE FUNCTION megamarket.month_name_es(month integer)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (ARRAY['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio',
              'agosto', 'septiembre', 'octubre', 'noviembre', 'diciembre'])[month];
COMMENT ON FUNCTION megamarket.month_name_es(integer) IS
'Spanish name of month 1-12 (enero ... diciembre); NULL outside 1-12';

CREATE FUNCTION megamarket.weekday_name_es(isodow integer)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (ARRAY['lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado',
              'domingo'])[isodow];
COMMENT ON FUNCTION megamarket.weekday_name_es(integer) IS
'Spanish name of ISO weekday 1-7 (1 = lunes ... 7 = domingo); NULL outside 1-7';

CREATE TABLE megamarket.dates (
    date_id     integer PRIMARY KEY,
    date        date NOT NULL UNIQUE
                CONSTRAINT dates_date_range CHECK (date OPERATOR(pg_catalog.>=) '1900-01-01' AND date OPERATOR(pg_catalog.<=) '2999-12-31'),
    day         smallint NOT NULL,
    month       smallint NOT NULL,
    month_name  text NOT NULL,
    quarter     smallint NOT NULL,
    year        smallint NOT NULL,
    weekday     smallint NOT NULL,
    weekday_name text NOT NULL,
    is_weekend  boolean NOT NULL,
    -- Every attribute is a function of "date"; the constraint keeps rows honest
    -- however they were written (fill_dates, COPY, a hand-made INSERT).
    CONSTRAINT dates_consistent CHECK (
        date_id OPERATOR(pg_catalog.=) megamarket.date_id(date)
        AND day OPERATOR(pg_catalog.=) pg_catalog.date_part('day', date)
        AND month OPERATOR(pg_catalog.=) pg_catalog.date_part('month', date)
        AND month_name OPERATOR(pg_catalog.=) megamarket.month_name_es(month)
        AND quarter OPERATOR(pg_catalog.=) pg_catalog.date_part('quarter', date)
        AND year OPERATOR(pg_catalog.=) pg_catalog.date_part('year', date)
        AND weekday OPERATOR(pg_catalog.=) pg_catalog.date_part('isodow', date)
        AND weekday_name OPERATOR(pg_catalog.=) megamarket.weekday_name_es(weekday)
        AND is_weekend OPERATOR(pg_catalog.=) (weekday OPERATOR(pg_catalog.>=) 6))
);
CREATE INDEX dates_year_month_idx ON megamarket.dates (year, month);
COMMENT ON TABLE megamarket.dates IS 'dimension: calendar days, filled by megamarket.fill_dates()';
COMMENT ON COLUMN megamarket.dates.date_id IS 'key yyyymmdd, e.g. 20250131';
COMMENT ON COLUMN megamarket.dates.date IS 'the calendar day (1900-01-01 to 2999-12-31)';
COMMENT ON COLUMN megamarket.dates.day IS 'day of the month, 1-31';
COMMENT ON COLUMN megamarket.dates.month IS 'month, 1-12';
COMMENT ON COLUMN megamarket.dates.month_name IS 'month name in Spanish (enero ... diciembre)';
COMMENT ON COLUMN megamarket.dates.quarter IS 'calendar quarter, 1-4';
COMMENT ON COLUMN megamarket.dates.year IS 'calendar year';
COMMENT ON COLUMN megamarket.dates.weekday IS 'ISO weekday, 1 = lunes ... 7 = domingo';
COMMENT ON COLUMN megamarket.dates.weekday_name IS 'weekday name in Spanish (lunes ... domingo)';
COMMENT ON COLUMN megamarket.dates.is_weekend IS 'true on sábado and domingo';

CREATE FUNCTION megamarket.fill_dates(from_date date, to_date date)
RETURNS integer
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    added integer;
BEGIN
    IF from_date > to_date THEN
        RAISE EXCEPTION 'fill_dates: from_date % is after to_date %', from_date, to_date
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the earlier date first.';
    END IF;
    IF from_date < date '1900-01-01' OR to_date > date '2999-12-31' THEN
        RAISE EXCEPTION 'fill_dates: range % to % is outside the date dimension', from_date, to_date
            USING ERRCODE = 'datetime_field_overflow',
                  DETAIL = 'megamarket.dates holds days from 1900-01-01 to 2999-12-31.';
    END IF;

    INSERT INTO megamarket.dates (date_id, date, day, month, month_name, quarter,
                                  year, weekday, weekday_name, is_weekend)
    SELECT megamarket.date_id(d),
           d,
           date_part('day', d),
           date_part('month', d),
           megamarket.month_name_es(date_part('month', d)::integer),
           date_part('quarter', d),
           date_part('year', d),
           date_part('isodow', d),
           megamarket.weekday_name_es(date_part('isodow', d)::integer),
           date_part('isodow', d) >= 6
    FROM generate_series(from_date::timestamp, to_date::timestamp, interval '1 day') AS g(t),
         LATERAL (SELECT t::date AS d) AS x
    ON CONFLICT (date_id) DO NOTHING;

    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END
$$;
COMMENT ON FUNCTION megamarket.fill_dates(date, date) IS
'adds every day from from_date to to_date (inclusive) to megamarket.dates; days already there are kept; returns the number added';

-- Campaigns ------------------------------------------------------------------

CREATE TABLE megamarket.channels (
    channel_id  serial PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CONSTRAINT channels_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name))
);
COMMENT ON TABLE megamarket.channels IS 'dimension: marketing channels a campaign runs on (e-mail, redes sociales, ...)';
COMMENT ON COLUMN megamarket.channels.channel_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.channels.name IS 'channel name, natural key';

CREATE TABLE megamarket.campaigns (
    campaign_id serial PRIMARY KEY,
    code        text NOT NULL UNIQUE
                CONSTRAINT campaigns_code_not_blank CHECK (code OPERATOR(pg_catalog.<>) '' AND code OPERATOR(pg_catalog.=) pg_catalog.btrim(code)),
    name        text NOT NULL
                CONSTRAINT campaigns_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)),
    channel_id  integer REFERENCES megamarket.channels,
    target_segment_id integer REFERENCES megamarket.segments,
    start_date  date NOT NULL,
    end_date    date NOT NULL,
    budget      numeric(14,2) NOT NULL CONSTRAINT campaigns_budget_not_negative CHECK (budget OPERATOR(pg_catalog.>=) 0),
    CONSTRAINT campaigns_dates_ordered CHECK (end_date OPERATOR(pg_catalog.>=) start_date)
);
CREATE INDEX campaigns_channel_id_idx ON megamarket.campaigns (channel_id);
CREATE INDEX campaigns_target_segment_id_idx ON megamarket.campaigns (target_segment_id);
COMMENT ON TABLE megamarket.campaigns IS 'dimension: marketing campaigns (campañas)';
COMMENT ON COLUMN megamarket.campaigns.campaign_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.campaigns.code IS 'campaign code, natural key';
COMMENT ON COLUMN megamarket.campaigns.name IS 'campaign name';
COMMENT ON COLUMN megamarket.campaigns.channel_id IS 'the channel it runs on';
COMMENT ON COLUMN megamarket.campaigns.target_segment_id IS 'the customer segment it targets, NULL for everyone';
COMMENT ON COLUMN megamarket.campaigns.start_date IS 'first day of the campaign';
COMMENT ON COLUMN megamarket.campaigns.end_date IS 'last day of the campaign (inclusive, not before start_date)';
COMMENT ON COLUMN megamarket.campaigns.budget IS 'budget in the chain''s currency, not negative';

-- Losses dimension -----------------------------------------------------------

CREATE TABLE megamarket.loss_reasons (
    reason_id   serial PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CONSTRAINT loss_reasons_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name))
);
COMMENT ON TABLE megamarket.loss_reasons IS 'dimension: why stock was lost (caducidad, robo, daño, ...)';
COMMENT ON COLUMN megamarket.loss_reasons.reason_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.loss_reasons.name IS 'reason, natural key';

-- Facts ----------------------------------------------------------------------
--
-- Both facts are partitioned by month on date_id (declarative range
-- partitioning, one partition per calendar month: sales_2025_01 holds
-- date_id 20250101 to 20250131). Partitions are made by the import, which
-- bulk-loads the months it does not hold yet into fresh tables and attaches
-- them, or by megamarket.add_months() for writers that insert rows one by
-- one (src/warehouse/partition.sql). There is no default partition: its rows
-- would have to be scanned, and it locked, on every attach.
--
-- Keys, foreign keys and indexes are those of each partition, all made by
-- partition.sql (megamarket._facts_meta() lists them), not declared on the
-- parents. Declared on a parent, an extension's table, CREATE EXTENSION
-- would make them before pg_restore loads any data: the restore's ATTACH
-- would then give each partition its foreign keys before the dimensions'
-- rows are back, and indexes that the dump makes again. Per partition they
-- are ordinary post-data objects of the dump, restored after all the rows.
--   sales:  PRIMARY KEY (sale_id), UNIQUE (ticket_id, line_no), foreign keys
--           to customers, products, stores, dates, campaigns; indexes
--           (date_id, store_id) and (customer_id)
--   losses: PRIMARY KEY (loss_id), UNIQUE (loss_ref), foreign keys to
--           products, stores, dates, loss_reasons; index (date_id, store_id)
-- The unpartitioned design had seven indexes on sales. (store_id, date_id)
-- is (date_id, store_id) once the month is pruned; product_id, campaign_id
-- and reason_id filter whole-month scans (a few hundred products, three
-- stores), and deleting a product, campaign or reason (rare) scans the
-- facts once.
--
-- The natural keys across months: a narrow key table, sale_keys (ticket_id,
-- line_no) and loss_keys (loss_ref), primary keys, kept by statement
-- triggers on the parents (transition tables: one set statement per
-- statement) and filled by the bulk loader itself for the partitions it
-- attaches. A line that moves to another day keeps its key row (an UPDATE,
-- even one that moves the row to another partition, leaves it as it is).
-- Why not a foreign key from sales to the key table: making a partition's
-- foreign keys takes SHARE ROW EXCLUSIVE on every table they reference,
-- until commit, and the real-time writer inserts into the key table: it
-- would wait for the import. The dimensions are only read by that writer
-- (FOR KEY SHARE), which that lock lets through.

CREATE TABLE megamarket.sales (
    sale_id     bigserial NOT NULL,
    ticket_id   text NOT NULL
                CONSTRAINT sales_ticket_id_not_blank CHECK (ticket_id OPERATOR(pg_catalog.<>) '' AND ticket_id OPERATOR(pg_catalog.=) pg_catalog.btrim(ticket_id)),
    line_no     integer NOT NULL CONSTRAINT sales_line_no_positive CHECK (line_no OPERATOR(pg_catalog.>) 0),
    customer_id integer,
    product_id  integer NOT NULL,
    store_id    integer NOT NULL,
    date_id     integer NOT NULL,
    campaign_id integer,
    quantity    integer NOT NULL CONSTRAINT sales_quantity_positive CHECK (quantity OPERATOR(pg_catalog.>) 0),
    amount      numeric(12,2) NOT NULL CONSTRAINT sales_amount_not_negative CHECK (amount OPERATOR(pg_catalog.>=) 0)
) PARTITION BY RANGE (date_id);
COMMENT ON TABLE megamarket.sales IS 'fact: one row per ticket line (ventas); partitioned by month on date_id';
COMMENT ON COLUMN megamarket.sales.sale_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.sales.ticket_id IS 'the ticket (basket) the line belongs to, unique across the chain';
COMMENT ON COLUMN megamarket.sales.line_no IS 'line number within the ticket, from 1; (ticket_id, line_no) is the natural key, unique across months through megamarket.sale_keys';
COMMENT ON COLUMN megamarket.sales.customer_id IS 'the customer (megamarket.customers), NULL for anonymous purchases';
COMMENT ON COLUMN megamarket.sales.product_id IS 'the product sold (megamarket.products)';
COMMENT ON COLUMN megamarket.sales.store_id IS 'the branch that sold it (megamarket.stores)';
COMMENT ON COLUMN megamarket.sales.date_id IS 'the day of the sale (megamarket.dates); the partition key, one partition per month';
COMMENT ON COLUMN megamarket.sales.campaign_id IS 'the campaign the sale is attributed to, if any (megamarket.campaigns)';
COMMENT ON COLUMN megamarket.sales.quantity IS 'units sold, positive (returns are not sales)';
COMMENT ON COLUMN megamarket.sales.amount IS 'amount paid for the line, not negative';

CREATE TABLE megamarket.losses (
    loss_id     bigserial NOT NULL,
    loss_ref    text NOT NULL
                CONSTRAINT losses_loss_ref_not_blank CHECK (loss_ref OPERATOR(pg_catalog.<>) '' AND loss_ref OPERATOR(pg_catalog.=) pg_catalog.btrim(loss_ref)),
    product_id  integer NOT NULL,
    store_id    integer NOT NULL,
    date_id     integer NOT NULL,
    reason_id   integer NOT NULL,
    quantity    integer NOT NULL CONSTRAINT losses_quantity_positive CHECK (quantity OPERATOR(pg_catalog.>) 0),
    amount      numeric(12,2) NOT NULL CONSTRAINT losses_amount_not_negative CHECK (amount OPERATOR(pg_catalog.>=) 0)
) PARTITION BY RANGE (date_id);
COMMENT ON TABLE megamarket.losses IS 'fact: one row per loss event (pérdidas); partitioned by month on date_id';
COMMENT ON COLUMN megamarket.losses.loss_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.losses.loss_ref IS 'the source''s reference for the loss, natural key, unique across months through megamarket.loss_keys';
COMMENT ON COLUMN megamarket.losses.product_id IS 'the product lost (megamarket.products)';
COMMENT ON COLUMN megamarket.losses.store_id IS 'the branch where it was lost (megamarket.stores)';
COMMENT ON COLUMN megamarket.losses.date_id IS 'the day it was recorded (megamarket.dates); the partition key, one partition per month';
COMMENT ON COLUMN megamarket.losses.reason_id IS 'why it was lost (megamarket.loss_reasons)';
COMMENT ON COLUMN megamarket.losses.quantity IS 'units lost, positive';
COMMENT ON COLUMN megamarket.losses.amount IS 'value of the loss at cost, not negative';

-- The natural keys across months.
CREATE TABLE megamarket.sale_keys (
    ticket_id   text NOT NULL,
    line_no     integer NOT NULL,
    PRIMARY KEY (ticket_id, line_no)
);
COMMENT ON TABLE megamarket.sale_keys IS 'the natural key of every sale, whatever its month: keeps (ticket_id, line_no) unique across the partitions of sales';
COMMENT ON COLUMN megamarket.sale_keys.ticket_id IS 'sales.ticket_id';
COMMENT ON COLUMN megamarket.sale_keys.line_no IS 'sales.line_no';

CREATE TABLE megamarket.loss_keys (
    loss_ref    text PRIMARY KEY
);
COMMENT ON TABLE megamarket.loss_keys IS 'the natural key of every loss, whatever its month: keeps loss_ref unique across the partitions of losses';
COMMENT ON COLUMN megamarket.loss_keys.loss_ref IS 'losses.loss_ref';

-- The key tables follow each statement on the parents. An insert of a key
-- that exists fails on the key table's primary key: the same error, SQLSTATE
-- 23505, as a unique constraint on the facts would give. SECURITY DEFINER:
-- a writer needs rights on the facts, not on their key tables. Statements
-- on a partition itself (not through the parent) do not fire them: write
-- through the parents (bulk loads that attach partitions fill the keys
-- themselves).
CREATE FUNCTION megamarket.sales_keys_sync()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO megamarket.sale_keys (ticket_id, line_no)
        SELECT n.ticket_id, n.line_no FROM mm_new n;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM megamarket.sale_keys k USING mm_old o
         WHERE k.ticket_id = o.ticket_id AND k.line_no = o.line_no;
    ELSIF EXISTS (SELECT 1 FROM mm_old o FULL JOIN mm_new n
                      ON n.ticket_id = o.ticket_id AND n.line_no = o.line_no
                   WHERE o.ticket_id IS NULL OR n.ticket_id IS NULL) THEN
        -- an UPDATE that changed natural keys (most change none)
        DELETE FROM megamarket.sale_keys k USING mm_old o
         WHERE k.ticket_id = o.ticket_id AND k.line_no = o.line_no
           AND NOT EXISTS (SELECT 1 FROM mm_new n
                            WHERE n.ticket_id = o.ticket_id AND n.line_no = o.line_no);
        INSERT INTO megamarket.sale_keys (ticket_id, line_no)
        SELECT n.ticket_id, n.line_no FROM mm_new n
         WHERE NOT EXISTS (SELECT 1 FROM mm_old o
                            WHERE o.ticket_id = n.ticket_id AND o.line_no = n.line_no);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION megamarket.sales_keys_sync() IS
'statement trigger on sales: keeps megamarket.sale_keys equal to the natural keys of the sales';

CREATE FUNCTION megamarket.losses_keys_sync()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO megamarket.loss_keys (loss_ref)
        SELECT n.loss_ref FROM mm_new n;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM megamarket.loss_keys k USING mm_old o WHERE k.loss_ref = o.loss_ref;
    ELSIF EXISTS (SELECT 1 FROM mm_old o FULL JOIN mm_new n ON n.loss_ref = o.loss_ref
                   WHERE o.loss_ref IS NULL OR n.loss_ref IS NULL) THEN
        DELETE FROM megamarket.loss_keys k USING mm_old o
         WHERE k.loss_ref = o.loss_ref
           AND NOT EXISTS (SELECT 1 FROM mm_new n WHERE n.loss_ref = o.loss_ref);
        INSERT INTO megamarket.loss_keys (loss_ref)
        SELECT n.loss_ref FROM mm_new n
         WHERE NOT EXISTS (SELECT 1 FROM mm_old o WHERE o.loss_ref = n.loss_ref);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION megamarket.losses_keys_sync() IS
'statement trigger on losses: keeps megamarket.loss_keys equal to the natural keys of the losses';

CREATE FUNCTION megamarket.facts_keys_truncate()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'sales' THEN
        TRUNCATE megamarket.sale_keys;
    ELSE
        TRUNCATE megamarket.loss_keys;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION megamarket.facts_keys_truncate() IS
'statement trigger on TRUNCATE of sales or losses: empties its key table';

CREATE TRIGGER sales_keys_insert AFTER INSERT ON megamarket.sales
    REFERENCING NEW TABLE AS mm_new
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket.sales_keys_sync();
CREATE TRIGGER sales_keys_update AFTER UPDATE ON megamarket.sales
    REFERENCING OLD TABLE AS mm_old NEW TABLE AS mm_new
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket.sales_keys_sync();
CREATE TRIGGER sales_keys_delete AFTER DELETE ON megamarket.sales
    REFERENCING OLD TABLE AS mm_old
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket.sales_keys_sync();
CREATE TRIGGER sales_keys_truncate AFTER TRUNCATE ON megamarket.sales
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket.facts_keys_truncate();
CREATE TRIGGER losses_keys_insert AFTER INSERT ON megamarket.losses
    REFERENCING NEW TABLE AS mm_new
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket.losses_keys_sync();
CREATE TRIGGER losses_keys_update AFTER UPDATE ON megamarket.losses
    REFERENCING OLD TABLE AS mm_old NEW TABLE AS mm_new
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket.losses_keys_sync();
CREATE TRIGGER losses_keys_delete AFTER DELETE ON megamarket.losses
    REFERENCING OLD TABLE AS mm_old
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket.losses_keys_sync();
CREATE TRIGGER losses_keys_truncate AFTER TRUNCATE ON megamarket.losses
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket.facts_keys_truncate();

-- Reference rows -------------------------------------------------------------

INSERT INTO megamarket.stores (store_id, code, name) VALUES
    (1, 'NORTE', 'Norte'),
    (2, 'CENTRO', 'Centro'),
    (3, 'SUR', 'Sur');
SELECT pg_catalog.setval('megamarket.stores_store_id_seq', 3);

-- pg_dump keeps the data of extension configuration tables: restore runs
-- CREATE EXTENSION (which makes the three shipped branches again) and then
-- COPYs the dumped rows, shipped branches included. So that they are not
-- refused as duplicates, and so that what the DBA changed in them (city,
-- address) survives, an insert of a shipped branch that is still exactly as
-- shipped replaces it. Any other duplicate is an error as usual.
CREATE FUNCTION megamarket.stores_restore_shipped()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    IF NEW.store_id BETWEEN 1 AND 3 THEN
        UPDATE megamarket.stores s
           SET code = NEW.code, name = NEW.name, location = NEW.location,
               city_id = NEW.city_id, opened_on = NEW.opened_on
         WHERE s.store_id = NEW.store_id
           AND (s.store_id, s.code, s.name) IN ((1, 'NORTE', 'Norte'), (2, 'CENTRO', 'Centro'), (3, 'SUR', 'Sur'))
           AND s.location IS NULL AND s.city_id IS NULL AND s.opened_on IS NULL;
        IF FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION megamarket.stores_restore_shipped() IS
'trigger: lets pg_restore replace a shipped branch (Norte, Centro, Sur) that is still as CREATE EXTENSION made it';

CREATE TRIGGER stores_restore_shipped
    BEFORE INSERT ON megamarket.stores
    FOR EACH ROW EXECUTE FUNCTION megamarket.stores_restore_shipped();

-- pg_dump keeps the data (and sequence positions) of every warehouse table.
-- (One call per statement: each call updates the same pg_extension row.)
SELECT pg_catalog.pg_extension_config_dump('megamarket.regions', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.regions_region_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.cities', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.cities_city_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.stores', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.stores_store_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.departments', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.departments_department_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.categories', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.categories_category_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.products', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.products_product_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.segments', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.segments_segment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.customers', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.customers_customer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.dates', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.channels', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.channels_channel_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.campaigns', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.campaigns_campaign_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loss_reasons', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loss_reasons_reason_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.sales', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.sales_sale_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.losses', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.losses_loss_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.sale_keys', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loss_keys', '');
