--
-- The shape of the snowflake: tables, columns, keys, indexes, comments, and
-- their registration with pg_dump. The "must be empty" queries state a rule
-- and list what breaks it.
--
CREATE EXTENSION megamarket;

-- tables and columns
SELECT c.relname AS "table", a.attname AS "column",
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS "default"
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'megamarket'::regnamespace AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum;

-- check constraints
SELECT conrelid::regclass AS "table", conname
FROM pg_constraint
WHERE contype = 'c' AND connamespace = 'megamarket'::regnamespace
ORDER BY 1, 2;

-- primary keys
SELECT conrelid::regclass AS "table", pg_get_constraintdef(oid) AS primary_key
FROM pg_constraint
WHERE contype = 'p' AND connamespace = 'megamarket'::regnamespace
ORDER BY 1;

-- the snowflake's edges: every foreign key, child -> parent
SELECT conrelid::regclass AS child, pg_get_constraintdef(oid) AS foreign_key
FROM pg_constraint
WHERE contype = 'f' AND connamespace = 'megamarket'::regnamespace
ORDER BY 1, 2;

-- natural keys the import upserts on
SELECT conrelid::regclass AS "table", pg_get_constraintdef(oid) AS natural_key
FROM pg_constraint
WHERE contype = 'u' AND connamespace = 'megamarket'::regnamespace
ORDER BY 1, 2;

-- must be empty: a foreign key whose columns no index leads with (star joins
-- and cascading checks would scan the child)
SELECT c.conrelid::regclass AS "table", c.conname
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = 'megamarket'::regnamespace
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      WHERE i.indrelid = c.conrelid
        AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey);

-- must be empty: a table or column without a comment
SELECT c.relname, a.attname
FROM pg_class c
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'megamarket'::regnamespace AND c.relkind IN ('r', 'p')
  AND (obj_description(c.oid, 'pg_class') IS NULL
       OR (a.attnum IS NOT NULL AND col_description(c.oid, a.attnum) IS NULL));

-- must be empty: a table or sequence pg_dump would not keep (except the
-- import's format tables, fixed reference data that CREATE EXTENSION makes)
SELECT c.oid::regclass
FROM pg_class c
WHERE c.relnamespace = 'megamarket'::regnamespace AND c.relkind IN ('r', 'p', 'S')
  AND c.oid <> ALL (SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'megamarket')
  AND c.oid NOT IN ('megamarket.import_sheets'::regclass, 'megamarket.import_fields'::regclass);

-- must be empty: a function of ours without a comment
SELECT p.oid::regprocedure
FROM pg_proc p
WHERE p.pronamespace = 'megamarket'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL;

-- the facts' keys, foreign keys and indexes belong to each month partition
-- (partition.sql; warehouse.sql says why): the ones of a month add_months() makes
SELECT megamarket.add_months('2025-03-10', '2025-03-10') AS made;
SELECT c.relname AS partition, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent IN ('megamarket.sales'::regclass, 'megamarket.losses'::regclass)
ORDER BY 1;
SELECT conrelid::regclass AS "table", conname, pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE conrelid IN ('megamarket.sales_2025_03'::regclass, 'megamarket.losses_2025_03'::regclass)
  AND contype <> 'c'
ORDER BY 1, 2;
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) AS definition
FROM pg_index
WHERE indrelid IN ('megamarket.sales_2025_03'::regclass, 'megamarket.losses_2025_03'::regclass)
ORDER BY 1;
-- the partitions are not extension members: pg_dump keeps them as tables of
-- their own (definition, data, then keys and foreign keys after all data)
SELECT count(*) AS members FROM pg_depend
WHERE classid = 'pg_class'::regclass AND deptype = 'e'
  AND objid IN ('megamarket.sales_2025_03'::regclass, 'megamarket.losses_2025_03'::regclass);

-- the shipped branches
SELECT store_id, code, name FROM megamarket.stores ORDER BY store_id;

DROP EXTENSION megamarket;
