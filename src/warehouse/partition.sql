-- ---------------------------------------------------------------------------
-- warehouse: month partitions of the facts, and their bulk load
--
--   add_months(from, to)            empty month partitions, for row-by-row writers
--   _import_facts(kind, staging)    the import's fact load: upsert into the
--                                   months the warehouse holds, bulk load of
--                                   the months it does not (fresh tables,
--                                   indexes after, foreign keys checked per
--                                   set by ATTACH)
--
-- A month partition is made as a plain table with a CHECK constraint equal
-- to its partition bound, loaded, given its keys, indexes and foreign keys
-- (each foreign key checked by one anti-join), then attached with ALTER
-- TABLE ... ATTACH PARTITION. The attach takes SHARE UPDATE EXCLUSIVE on the
-- parent (readers, and writers of the other months, go on) and skips its
-- scan (the CHECK constraint implies the bound). Until commit nobody else
-- sees the new table. Adding the foreign keys holds SHARE ROW EXCLUSIVE on
-- the referenced dimensions until commit: writers of new sales only read
-- those (FOR KEY SHARE) and are not blocked; a session that deletes or
-- updates a dimension row waits for the import, and one that deleted a row
-- before makes the import fail (foreign_key_violation), cleanly.
-- ---------------------------------------------------------------------------

-- (internal) What the partitions of each fact table are made of: the
-- parent, its key table and natural key, the columns a load gives, the
-- surrogate key and its sequence, and each partition's keys, foreign keys
-- and indexes (in "ddl": %1$s is the partition, %2$s its bare name). These
-- are the warehouse's constraints on the facts (warehouse.sql says why they
-- are per partition).
CREATE FUNCTION megamarket._facts_meta(kind text,
    OUT parent regclass, OUT key_table regclass, OUT key_cols text,
    OUT cols text, OUT id_col text, OUT id_seq regclass, OUT ddl text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    CASE kind
        WHEN 'sales' THEN
            parent := 'megamarket.sales';
            key_table := 'megamarket.sale_keys';
            key_cols := 'ticket_id, line_no';
            cols := 'ticket_id, line_no, customer_id, product_id, store_id, date_id, campaign_id, quantity, amount';
            id_col := 'sale_id';
            id_seq := 'megamarket.sales_sale_id_seq';
            ddl := ARRAY[
                'ALTER TABLE %1$s ADD CONSTRAINT %2$s_pkey PRIMARY KEY (sale_id),
                   ADD CONSTRAINT %2$s_ticket_line_key UNIQUE (ticket_id, line_no)',
                'CREATE INDEX %2$s_date_id_store_id_idx ON %1$s (date_id, store_id)',
                'CREATE INDEX %2$s_customer_id_idx ON %1$s (customer_id)',
                'ALTER TABLE %1$s
                   ADD CONSTRAINT %2$s_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES megamarket.customers,
                   ADD CONSTRAINT %2$s_product_id_fkey FOREIGN KEY (product_id) REFERENCES megamarket.products,
                   ADD CONSTRAINT %2$s_store_id_fkey FOREIGN KEY (store_id) REFERENCES megamarket.stores,
                   ADD CONSTRAINT %2$s_date_id_fkey FOREIGN KEY (date_id) REFERENCES megamarket.dates,
                   ADD CONSTRAINT %2$s_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES megamarket.campaigns'];
        WHEN 'losses' THEN
            parent := 'megamarket.losses';
            key_table := 'megamarket.loss_keys';
            key_cols := 'loss_ref';
            cols := 'loss_ref, product_id, store_id, date_id, reason_id, quantity, amount';
            id_col := 'loss_id';
            id_seq := 'megamarket.losses_loss_id_seq';
            ddl := ARRAY[
                'ALTER TABLE %1$s ADD CONSTRAINT %2$s_pkey PRIMARY KEY (loss_id),
                   ADD CONSTRAINT %2$s_loss_ref_key UNIQUE (loss_ref)',
                'CREATE INDEX %2$s_date_id_store_id_idx ON %1$s (date_id, store_id)',
                'ALTER TABLE %1$s
                   ADD CONSTRAINT %2$s_product_id_fkey FOREIGN KEY (product_id) REFERENCES megamarket.products,
                   ADD CONSTRAINT %2$s_store_id_fkey FOREIGN KEY (store_id) REFERENCES megamarket.stores,
                   ADD CONSTRAINT %2$s_date_id_fkey FOREIGN KEY (date_id) REFERENCES megamarket.dates,
                   ADD CONSTRAINT %2$s_reason_id_fkey FOREIGN KEY (reason_id) REFERENCES megamarket.loss_reasons'];
        ELSE
            RAISE EXCEPTION 'megamarket: unknown fact table "%"', kind
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The partitioned fact tables are "sales" and "losses".';
    END CASE;
END
$$;
COMMENT ON FUNCTION megamarket._facts_meta(text) IS
'(internal to the fact partitions) the parent, key table, natural key, columns and per-partition constraints of a fact table';

-- (internal) The first date_id after month m (yyyymm): the upper bound of
-- its partition, as 20250201 for 202501 and 20260101 for 202512. In bigint:
-- a staging's date_id near 2^31 makes a month whose end is past integer
-- (_facts_new_month refuses that month; computing its end must not fail first).
CREATE FUNCTION megamarket._month_end(m integer)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (CASE WHEN m OPERATOR(pg_catalog.%) 100 OPERATOR(pg_catalog.=) 12
             THEN (m::bigint OPERATOR(pg_catalog./) 100 OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.*) 100 OPERATOR(pg_catalog.+) 1
             ELSE m::bigint OPERATOR(pg_catalog.+) 1 END) OPERATOR(pg_catalog.*) 100 OPERATOR(pg_catalog.+) 1;
COMMENT ON FUNCTION megamarket._month_end(integer) IS
'(internal to the fact partitions) the first date_id after a month (yyyymm): its partition''s upper bound';

-- (internal) The yyyymm months (date_id / 100) among "months" that no
-- partition of "parent" covers.
CREATE FUNCTION megamarket._facts_missing_months(parent regclass, months integer[])
RETURNS integer[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, megamarket, pg_temp
RETURN ARRAY(
    SELECT m FROM unnest(months) AS m
     WHERE NOT EXISTS (
        SELECT 1
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid,
               LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                    'FROM \((-?\d+)\) TO \((-?\d+)\)') AS b
         WHERE i.inhparent = parent
           AND b[1]::bigint <= m::bigint * 100 + 1 AND m::bigint * 100 + 1 < b[2]::bigint)
     ORDER BY m);
COMMENT ON FUNCTION megamarket._facts_missing_months(regclass, integer[]) IS
'(internal to the fact partitions) the months (yyyymm) no partition of the table covers';

-- (internal) A new, unattached table for month m (yyyymm) of a fact: the
-- parent's columns, defaults and CHECK constraints, and a CHECK constraint
-- equal to the month's partition bound, so that ATTACH need not scan it.
CREATE FUNCTION megamarket._facts_new_month(kind text, m integer)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    meta record := megamarket._facts_meta(kind);
    part text := format('%s_%s_%s', kind, m / 100, lpad((m % 100)::text, 2, '0'));
    lo integer := m * 100 + 1;
    hi bigint := megamarket._month_end(m);
BEGIN
    IF m % 100 NOT BETWEEN 1 AND 12 OR m / 100 NOT BETWEEN 1900 AND 2999 THEN
        RAISE EXCEPTION 'megamarket: % is not a month of the date dimension', m
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('CREATE TABLE megamarket.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
                                                CONSTRAINT %I CHECK (date_id >= %s AND date_id < %s))',
                   part, meta.parent, part || '_month', lo, hi);
    EXECUTE format('COMMENT ON TABLE megamarket.%I IS %L', part,
                   format('partition of %s: %s-%s', kind, m / 100, lpad((m % 100)::text, 2, '0')));
    RETURN format('megamarket.%I', part)::regclass;
END
$$;
COMMENT ON FUNCTION megamarket._facts_new_month(text, integer) IS
'(internal to the fact partitions) makes the unattached table for one month (yyyymm) of a fact';

-- (internal) Give a loaded month table its keys, indexes and foreign keys
-- (_facts_meta), after the load: an index is built once from sorted rows,
-- and each foreign key is checked with one anti-join of the month against
-- the dimension. Then attach it; the CHECK constraint equal to the bound
-- spares the attach its scan.
CREATE FUNCTION megamarket._facts_attach(kind text, part regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    meta record := megamarket._facts_meta(kind);
    pname text := (SELECT c.relname FROM pg_class c WHERE c.oid = part);
    lo integer;
    hi integer;
    stmt text;
    msg text;
    det text;
    con text;
BEGIN
    SELECT (regexp_match(pg_get_constraintdef(k.oid), '>= (\d+)'))[1]::integer,
           (regexp_match(pg_get_constraintdef(k.oid), '< (\d+)'))[1]::integer
      INTO lo, hi
      FROM pg_constraint k WHERE k.conrelid = part AND k.conname = pname || '_month';
    IF lo IS NULL THEN
        RAISE EXCEPTION 'megamarket: table % has no month constraint "%"', part, pname || '_month'
            USING ERRCODE = 'invalid_table_definition';
    END IF;
    FOREACH stmt IN ARRAY meta.ddl LOOP
        BEGIN
            EXECUTE format(stmt, part, pname);
        EXCEPTION WHEN foreign_key_violation THEN
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, con = CONSTRAINT_NAME;
            RAISE EXCEPTION 'megamarket: % of % refer to a row that is not there (%)',
                    kind, substr(pname, length(kind) + 2), con
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = det,
                      HINT = 'Another session deleted the row while the import ran; run the import again.',
                      TABLE = pname, SCHEMA = 'megamarket', CONSTRAINT = con;
        END;
    END LOOP;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                   meta.parent, part, lo, hi);
END
$$;
COMMENT ON FUNCTION megamarket._facts_attach(text, regclass) IS
'(internal to the fact partitions) adds keys, indexes and foreign keys to a loaded month table and attaches it';

-- Empty month partitions for writers that insert facts row by row (the
-- real-time path): every month that overlaps from_date .. to_date gets a
-- partition of sales and of losses if it has none. Returns how many were
-- made. The import does not need them (it makes the months it loads), and
-- months made here in advance are loaded by upsert, not in bulk.
CREATE FUNCTION megamarket.add_months(from_date date, to_date date)
RETURNS integer
LANGUAGE plpgsql VOLATILE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    months integer[];
    kind text;
    m integer;
    made integer := 0;
BEGIN
    IF from_date > to_date THEN
        RAISE EXCEPTION 'add_months: from_date % is after to_date %', from_date, to_date
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the earlier date first.';
    END IF;
    IF from_date < date '1900-01-01' OR to_date > date '2999-12-31' THEN
        RAISE EXCEPTION 'add_months: range % to % is outside the date dimension', from_date, to_date
            USING ERRCODE = 'datetime_field_overflow',
                  DETAIL = 'megamarket.dates holds days from 1900-01-01 to 2999-12-31.';
    END IF;
    IF NOT has_table_privilege(session_user, 'megamarket.sales', 'INSERT')
       OR NOT has_table_privilege(session_user, 'megamarket.losses', 'INSERT') THEN
        -- (SECURITY DEFINER: current_user is the owner; the caller is the session's role)
        RAISE EXCEPTION 'permission denied to add months to the fact tables'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'add_months() needs INSERT on megamarket.sales and megamarket.losses.';
    END IF;
    -- one maker of partitions at a time (the import takes the same lock)
    PERFORM pg_advisory_xact_lock(hashtext('megamarket.fact_partitions'));
    months := ARRAY(SELECT (extract(year FROM g) * 100 + extract(month FROM g))::integer
                      FROM generate_series(date_trunc('month', from_date), to_date, interval '1 month') AS g);
    FOREACH kind IN ARRAY ARRAY['sales', 'losses'] LOOP
        FOREACH m IN ARRAY megamarket._facts_missing_months((megamarket._facts_meta(kind)).parent, months) LOOP
            PERFORM megamarket._facts_attach(kind, megamarket._facts_new_month(kind, m));
            made := made + 1;
        END LOOP;
    END LOOP;
    RETURN made;
END
$$;
COMMENT ON FUNCTION megamarket.add_months(date, date) IS
'makes the month partitions of sales and losses, empty, for every month from from_date to to_date that has none; returns how many';
REVOKE ALL ON FUNCTION megamarket.add_months(date, date) FROM PUBLIC;

-- (internal to import_workbook) Load cleaned fact rows into sales or losses.
--
-- "staging" is a table or view of rows ready for the fact table: the
-- columns of _facts_meta(kind).cols by name (the natural key, every
-- dimension key resolved, date_id of a day in megamarket.dates), each
-- natural key once. A column err, when the staging has one, marks rows
-- that are not facts (the loader's stage keeps its rejected rows): rows
-- where it is not NULL are left out. Rows of months a partition holds are
-- upserted (updated where a value differs, a line moving to another day
-- moves with its sale_id); rows of the other months, and lines moving into
-- them, are
-- bulk-loaded into a new table per month that is then attached. Returns the
-- rows inserted and updated. SECURITY DEFINER because it makes and attaches
-- tables; it first checks that the calling role may INSERT and UPDATE the
-- fact table. Without JIT: its statements are a few simple expressions over
-- a million rows, and compiling them (with inlining and optimisation, which
-- their cost estimates ask for) took longer than it saved (the comparison
-- of a re-import below, on the large workbook, alternating: 1.24-1.70 s
-- with JIT, 0.99-1.16 s without).
CREATE FUNCTION megamarket._import_facts(kind text, staging regclass,
    OUT inserted bigint, OUT updated bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
SET jit = off
AS $$
DECLARE
    meta record := megamarket._facts_meta(kind);
    missing text;
    data_cols text;
    set_list text;
    key_join text;
    months integer[];
    fresh integer[];
    m integer;
    part regclass;
    n bigint;
    n_moved bigint := 0;
    any_rows boolean;
    seed bigint := (random() * 4611686018427387903)::bigint;
    row_hash text;
    staged jsonb;              -- per month of the staging: {"yyyymm": "count:hash"}
    no_day boolean;            -- a staging row without date_id
    same integer[];            -- months whose staged rows the warehouse holds as they are
    outside text;              -- a predicate on f.date_id: not in those months
    old_work_mem text;
    bulk text := '_bulk_' || kind;
    src text;
BEGIN
    IF NOT has_table_privilege(session_user, meta.parent, 'INSERT, UPDATE') THEN
        RAISE EXCEPTION 'permission denied for table %', meta.parent
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Loading facts needs INSERT and UPDATE on the fact table.';
    END IF;
    -- This function runs as the owner: the staging must be a plain table
    -- the caller may read, without row security, whose columns have the
    -- fact's own types (a view, a policy, or a cast or operator of the
    -- caller's own type would run the caller's code with the owner's rights).
    IF NOT has_table_privilege(session_user, staging, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', staging
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (SELECT c.relkind <> 'r' OR c.relrowsecurity FROM pg_class c WHERE c.oid = staging) THEN
        RAISE EXCEPTION '_import_facts: staging % must be a table without row security', staging
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Copy the rows into a temporary table first.';
    END IF;
    SELECT string_agg(format('"%s" %s', c, format_type(p.atttypid, NULL)), ', ' ORDER BY p.attnum) INTO missing
      FROM unnest(string_to_array(meta.cols, ', ')) AS c
      JOIN pg_attribute p ON p.attrelid = meta.parent AND p.attname = c
     WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = staging AND a.attname = c AND a.atttypid = p.atttypid
                          AND a.attnum > 0 AND NOT a.attisdropped);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '_import_facts: staging % lacks columns %', staging, missing
            USING ERRCODE = 'undefined_column',
                  HINT = format('It needs: %s, with the fact table''s types.', meta.cols);
    END IF;
    data_cols := (SELECT string_agg(c, ', ') FROM unnest(string_to_array(meta.cols, ', ')) AS c
                   WHERE c <> ALL (string_to_array(meta.key_cols, ', ')));
    set_list := (SELECT string_agg(format('%1$I = m.%1$I', c), ', ')
                   FROM unnest(string_to_array(data_cols, ', ')) AS c);
    key_join := (SELECT string_agg(format('f.%1$I = m.%1$I', c), ' AND ')
                   FROM unnest(string_to_array(meta.key_cols, ', ')) AS c);
    inserted := 0;
    updated := 0;
    IF to_regclass('pg_temp.mm_facts_moved') IS NOT NULL THEN
        DROP TABLE pg_temp.mm_facts_moved;
    END IF;

    -- one maker of partitions at a time (add_months takes the same lock)
    PERFORM pg_advisory_xact_lock(hashtext('megamarket.fact_partitions'));
    -- the comparison below hashes a million rows, the keys are sorted: give
    -- them the maintenance budget (maintenance_work_mem) when that is the
    -- larger, for this call
    old_work_mem := current_setting('work_mem');
    IF pg_size_bytes(current_setting('maintenance_work_mem')) > pg_size_bytes(old_work_mem) THEN
        PERFORM set_config('work_mem', current_setting('maintenance_work_mem'), true);
    END IF;

    -- a loader's stage may keep its rejected rows (a column err, set on
    -- them): they are not facts, and are left out of every statement below
    src := CASE WHEN EXISTS (SELECT 1 FROM pg_attribute a
                              WHERE a.attrelid = staging AND a.attname = 'err'
                                AND a.attnum > 0 AND NOT a.attisdropped)
                THEN format('(SELECT * FROM %s WHERE err IS NULL)', staging)
                ELSE staging::text END;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', meta.parent) INTO any_rows;
    -- the staging's months, and each one's fingerprint when the warehouse
    -- holds rows to compare them with: its rows and the XOR of a 64-bit
    -- hash of each row (every column the comparison compares, with a seed
    -- drawn for this call; equal values hash alike, NULL too); the same is
    -- taken of the warehouse's months below
    row_hash := format('pg_catalog.count(*) || '':'' || pg_catalog.bit_xor(megamarket._import_row_hash(%s, %s))',
                       seed, meta.cols);
    EXECUTE format('SELECT pg_catalog.jsonb_object_agg(x.m, x.fp) FILTER (WHERE x.m IS NOT NULL),
                           pg_catalog.bool_or(x.m IS NULL)
                      FROM (SELECT date_id / 100 AS m, %s AS fp FROM %s m GROUP BY 1) x',
                   CASE WHEN any_rows THEN row_hash ELSE 'NULL::text' END, src)
        INTO staged, no_day;
    IF no_day THEN
        RAISE EXCEPTION '_import_facts: staging % has rows without a date_id', staging
            USING ERRCODE = 'not_null_violation',
                  HINT = 'Every fact row needs the day of its fact (a date_id of megamarket.dates).';
    END IF;
    months := ARRAY(SELECT k::integer FROM jsonb_object_keys(coalesce(staged, '{}')) AS k);
    fresh := megamarket._facts_missing_months(meta.parent, months);

    IF to_regclass('pg_temp.mm_facts_todo') IS NOT NULL THEN
        DROP TABLE pg_temp.mm_facts_todo;
    END IF;
    IF any_rows THEN
        -- the months whose staged rows the warehouse holds as they are: the
        -- same number of rows and the same fingerprint. Their rows need no
        -- comparison, and no other staged row can match one of theirs by key
        -- (the staging's keys are unique, and these months hold only its
        -- rows). A month that differs by one row, holds a row the staging
        -- lacks (a later real-time sale) or a line moving away, is compared.
        -- Two different sets of rows of a month pass for the same with odds
        -- of about one in 2^64 (_import_row_hash: every value, NULLs and
        -- their places in the row reach every bit of a row's hash).
        EXECUTE format('SELECT ARRAY(SELECT w.m FROM (SELECT date_id / 100 AS m, %s AS fp FROM %s
                                                        WHERE date_id >= $1 AND date_id < $2 GROUP BY 1) w
                                      WHERE w.fp = $3 ->> w.m::text ORDER BY w.m)',
                       row_hash, meta.parent)
            USING (SELECT min(x) FROM unnest(months) x) * 100 + 1,
                  megamarket._month_end((SELECT max(x) FROM unnest(months) x)),
                  staged
            INTO same;
        -- the rest of the warehouse, as ranges of date_id that the planner
        -- prunes partitions by: before, between and after those months
        outside := (SELECT string_agg(CASE WHEN b.lo IS NULL THEN format('f.date_id < %s', b.hi)
                                           WHEN b.hi IS NULL THEN format('f.date_id >= %s', b.lo)
                                           ELSE format('(f.date_id >= %s AND f.date_id < %s)', b.lo, b.hi) END,
                                      ' OR ')
                      FROM (SELECT lag(megamarket._month_end(s)) OVER (ORDER BY s) AS lo, s * 100 + 1 AS hi
                              FROM unnest(same) AS s
                            UNION ALL
                            SELECT megamarket._month_end(max(s)), NULL FROM unnest(same) AS s) AS b
                     WHERE b.lo IS DISTINCT FROM b.hi);
        -- one comparison of the other staged rows with the rest of the
        -- warehouse: what is new (old_id NULL) or differs (none when every
        -- month is the same: a re-import that changes nothing)
        n := 0;
        IF cardinality(same) < cardinality(months) THEN
            EXECUTE format('CREATE TEMP TABLE mm_facts_todo ON COMMIT DROP AS
                            SELECT %s, f.%I AS old_id, f.date_id AS old_date
                              FROM %s m LEFT JOIN (SELECT * FROM %s f WHERE %s) f ON %s
                             WHERE NOT (m.date_id / 100 = ANY ($1))
                               AND (f.%I IS NULL OR (%s) IS DISTINCT FROM (%s))',
                           (SELECT string_agg('m.' || quote_ident(c), ', ') FROM unnest(string_to_array(meta.key_cols, ', ')) c),
                           meta.id_col, src, meta.parent, coalesce(outside, 'true'), key_join, meta.id_col,
                           (SELECT string_agg('f.' || quote_ident(c), ', ') FROM unnest(string_to_array(data_cols, ', ')) c),
                           (SELECT string_agg('m.' || quote_ident(c), ', ') FROM unnest(string_to_array(data_cols, ', ')) c))
                USING same;
            GET DIAGNOSTICS n = ROW_COUNT;
        END IF;
        IF n > 0 THEN
            -- months the warehouse holds: update what differs (a line moving to
            -- another of these months moves with its id), insert the new
            EXECUTE format('UPDATE %s f SET %s FROM mm_facts_todo t JOIN %s m USING (%s)
                             WHERE t.old_id IS NOT NULL AND f.%I = t.old_id AND f.date_id = t.old_date
                               AND NOT (m.date_id / 100 = ANY ($1))',
                           meta.parent, set_list, src, meta.key_cols, meta.id_col)
                USING fresh;
            GET DIAGNOSTICS updated = ROW_COUNT;
            EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM mm_facts_todo t JOIN %s m USING (%s)
                             WHERE t.old_id IS NULL AND NOT (m.date_id / 100 = ANY ($1))',
                           meta.parent, meta.cols,
                           (SELECT string_agg('m.' || quote_ident(c), ', ') FROM unnest(string_to_array(meta.cols, ', ')) c),
                           src, meta.key_cols)
                USING fresh;
            GET DIAGNOSTICS inserted = ROW_COUNT;
            -- lines moving into a month the warehouse does not hold: out of
            -- their old month now (their keys go with them), into the bulk
            -- load with their id
            IF cardinality(fresh) > 0 THEN
                EXECUTE format('CREATE TEMP TABLE mm_facts_moved ON COMMIT DROP AS
                                WITH d AS (DELETE FROM %s f USING mm_facts_todo t, %s m
                                            WHERE t.old_id IS NOT NULL AND f.%I = t.old_id AND f.date_id = t.old_date
                                              AND %s AND m.date_id / 100 = ANY ($1)
                                           RETURNING f.%I AS id, %s)
                                SELECT * FROM d',
                               meta.parent, src, meta.id_col,
                               (SELECT string_agg(format('m.%1$I = t.%1$I', c), ' AND ')
                                  FROM unnest(string_to_array(meta.key_cols, ', ')) c),
                               meta.id_col,
                               (SELECT string_agg('f.' || quote_ident(c), ', ') FROM unnest(string_to_array(meta.key_cols, ', ')) c))
                    USING fresh;
                GET DIAGNOSTICS n_moved = ROW_COUNT;
                updated := updated + n_moved;
            END IF;
        END IF;
    END IF;
    IF cardinality(fresh) = 0 THEN
        PERFORM set_config('work_mem', old_work_mem, true);
        RETURN;
    END IF;

    -- the new months: fresh tables under a private parent, so that one scan
    -- of the staging rows routes them all; then detached from it
    EXECUTE format('CREATE TABLE megamarket.%I (LIKE %s INCLUDING DEFAULTS) PARTITION BY RANGE (date_id)',
                   bulk, meta.parent);
    FOREACH m IN ARRAY fresh LOOP
        part := megamarket._facts_new_month(kind, m);
        EXECUTE format('ALTER TABLE megamarket.%I ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                       bulk, part, m * 100 + 1, megamarket._month_end(m));
    END LOOP;
    IF n_moved > 0 THEN
        EXECUTE format('INSERT INTO megamarket.%I (%I, %s)
                        SELECT coalesce(v.id, nextval(%L)), %s
                          FROM %s m LEFT JOIN mm_facts_moved v USING (%s)
                         WHERE m.date_id / 100 = ANY ($1)',
                       bulk, meta.id_col, meta.cols, meta.id_seq,
                       (SELECT string_agg('m.' || quote_ident(c), ', ') FROM unnest(string_to_array(meta.cols, ', ')) c),
                       src, meta.key_cols)
            USING fresh;
    ELSE
        EXECUTE format('INSERT INTO megamarket.%I (%s) SELECT %s FROM %s m WHERE m.date_id / 100 = ANY ($1)',
                       bulk, meta.cols, meta.cols, src)
            USING fresh;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    inserted := inserted + n - n_moved;
    -- their natural keys: a key another month already has fails here (23505)
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM megamarket.%I ORDER BY %s',
                   meta.key_table, meta.key_cols, meta.key_cols, bulk, meta.key_cols);

    -- what the parents' statement triggers would have done for these rows:
    -- live_store_day and the loyalty awards (live.sql)
    PERFORM megamarket._live_bulk_loaded(kind, format('megamarket.%I', bulk)::regclass);

    FOREACH m IN ARRAY fresh LOOP
        part := format('megamarket.%I', format('%s_%s_%s', kind, m / 100, lpad((m % 100)::text, 2, '0')))::regclass;
        EXECUTE format('ALTER TABLE megamarket.%I DETACH PARTITION %s', bulk, part);
        PERFORM megamarket._facts_attach(kind, part);
    END LOOP;
    EXECUTE format('DROP TABLE megamarket.%I', bulk);
    PERFORM set_config('work_mem', old_work_mem, true);
END
$$;
COMMENT ON FUNCTION megamarket._import_facts(text, regclass) IS
'(internal to import_workbook) upserts cleaned fact rows; months the warehouse does not hold are bulk-loaded into new partitions';
REVOKE ALL ON FUNCTION megamarket._import_facts(text, regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._facts_meta(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._facts_missing_months(regclass, integer[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._month_end(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._facts_new_month(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._facts_attach(text, regclass) FROM PUBLIC;
