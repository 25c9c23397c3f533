-- ---------------------------------------------------------------------------
-- live: per store and day totals kept exact as facts are written
--
-- megamarket.live_store_day holds, for every store and day that has facts,
-- the revenue, units, lines and tickets of its sales and the amount, units
-- and events of its losses. Statement-level triggers with transition tables
-- on sales and losses add each statement's changes as deltas, with one
-- INSERT ... ON CONFLICT DO UPDATE per statement (rows taken in key order, so
-- two writers lock the rows they share in the same order and cannot
-- deadlock on them). Concurrent writers each add their own delta under the
-- row lock, a rolled-back statement's delta rolls back with it: the totals
-- equal a recomputation from the facts at every commit.
--
-- Tickets are counted as lines with line_no = 1: every ticket has exactly
-- one, so the count is additive across statements (a distinct count would
-- not be).
--
-- What the triggers do not see, live_refresh() recomputes: rows that reach
-- a fact table without passing through its parent's statement triggers
-- (a partition attached after a bulk load, COPY ... FREEZE into a partition
-- directly, session_replication_role = replica).
--
-- Each statement on sales also sends NOTIFY megamarket_sales with a small
-- JSON payload: the operation, the rows, the stores and days touched and the
-- revenue delta. Listeners receive it at commit, never for a rollback.
-- SET megamarket.live_notify = off skips it (a notifying transaction holds
-- PostgreSQL's notification lock while it commits: concurrent notifying
-- writers commit one at a time).
-- ---------------------------------------------------------------------------

CREATE TABLE megamarket.live_store_day (
    store_id     integer NOT NULL REFERENCES megamarket.stores,
    date_id      integer NOT NULL REFERENCES megamarket.dates,
    revenue      numeric(16,2) NOT NULL DEFAULT 0,
    units        bigint NOT NULL DEFAULT 0,
    lines        bigint NOT NULL DEFAULT 0,
    tickets      bigint NOT NULL DEFAULT 0,
    loss_amount  numeric(16,2) NOT NULL DEFAULT 0,
    loss_units   bigint NOT NULL DEFAULT 0,
    loss_events  bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
    PRIMARY KEY (store_id, date_id)
);
CREATE INDEX live_store_day_date_id_idx ON megamarket.live_store_day (date_id);
COMMENT ON TABLE megamarket.live_store_day IS
'per store and day totals of sales and losses, kept exact by statement triggers on the fact tables (see live_refresh())';
COMMENT ON COLUMN megamarket.live_store_day.store_id IS 'the branch';
COMMENT ON COLUMN megamarket.live_store_day.date_id IS 'the day (megamarket.dates)';
COMMENT ON COLUMN megamarket.live_store_day.revenue IS 'sum of sales.amount';
COMMENT ON COLUMN megamarket.live_store_day.units IS 'sum of sales.quantity';
COMMENT ON COLUMN megamarket.live_store_day.lines IS 'number of sales rows (ticket lines)';
COMMENT ON COLUMN megamarket.live_store_day.tickets IS 'number of tickets (sales rows with line_no = 1)';
COMMENT ON COLUMN megamarket.live_store_day.loss_amount IS 'sum of losses.amount';
COMMENT ON COLUMN megamarket.live_store_day.loss_units IS 'sum of losses.quantity';
COMMENT ON COLUMN megamarket.live_store_day.loss_events IS 'number of losses rows';
COMMENT ON COLUMN megamarket.live_store_day.updated_at IS 'start of the statement that last changed the row';

-- Derived data, so pg_dump does not keep it: a restore loads the facts
-- through the parents' triggers, which build it again (run live_refresh()
-- after restoring partitions one by one).

-- Notifications waiting for the dispatcher worker (megamarket.live_notify =
-- relay). Unlogged: a crash loses unsent notifications, which NOTIFY itself
-- would have lost too (they are not kept across a restart either).
CREATE UNLOGGED TABLE megamarket.live_notify_queue (
    id       bigserial PRIMARY KEY,
    payload  text NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE megamarket.live_notify_queue IS
'NOTIFY megamarket_sales payloads queued by writers with megamarket.live_notify = relay, sent by the dispatcher worker (or live_relay())';

-- live_relay: send the queued notifications (the dispatcher worker calls it
-- each round; pg_cron or a session may too). Returns how many it sent.
CREATE FUNCTION megamarket.live_relay()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    WITH sent AS (
        DELETE FROM megamarket.live_notify_queue q
         WHERE q.id IN (SELECT id FROM megamarket.live_notify_queue ORDER BY id LIMIT 10000
                        FOR UPDATE SKIP LOCKED)
        RETURNING q.id, q.payload
    )
    SELECT count(pg_notify('megamarket_sales', payload)) INTO n
    FROM (SELECT payload FROM sent ORDER BY id) s;
    RETURN n;
END
$$;
COMMENT ON FUNCTION megamarket.live_relay() IS
'sends up to 10,000 queued NOTIFY megamarket_sales payloads (megamarket.live_notify = relay) in queue order; returns how many';
REVOKE ALL ON FUNCTION megamarket.live_relay() FROM PUBLIC;

-- The trigger functions run as the extension's owner (SECURITY DEFINER, a
-- fixed search_path, reading only the transition tables), so a role that may
-- write sales needs no rights on live_store_day or the loyalty outbox.
-- The trigger functions. Each aggregates its transition tables by (store,
-- day) and upserts the deltas in key order. One function serves the three
-- events: plpgsql plans a statement when it first runs it, so the branch of
-- another event, naming a transition table this trigger does not have, is
-- never planned.
CREATE FUNCTION megamarket._live_sales_change()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    payload jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO megamarket.live_store_day AS l (store_id, date_id, revenue, units, lines, tickets)
        SELECT n.store_id, n.date_id, sum(n.amount), sum(n.quantity), count(*),
               count(*) FILTER (WHERE n.line_no = 1)
        FROM new_rows n GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (store_id, date_id) DO UPDATE
           SET revenue = l.revenue + excluded.revenue, units = l.units + excluded.units,
               lines = l.lines + excluded.lines, tickets = l.tickets + excluded.tickets,
               updated_at = statement_timestamp();
        -- every purchase of a registered customer earns points exactly once:
        -- one award per ticket (its lines in this statement) into the
        -- loyalty outbox, which the dispatcher sends in this transaction's
        -- wake (src/loyalty); rolled back with the statement
        INSERT INTO megamarket.loyalty_awards (customer_id, purchase_amount, units, points)
        SELECT n.customer_id, sum(n.amount), floor(sum(n.amount))::bigint, floor(sum(n.amount))::bigint * 10
        FROM new_rows n
        JOIN megamarket.loyalty_customers lc ON lc.customer_id = n.customer_id AND lc.state <> 'failed'
        GROUP BY n.ticket_id, n.customer_id
        HAVING floor(sum(n.amount)) >= 1
        ORDER BY n.ticket_id;
        IF FOUND THEN
            PERFORM megamarket._loyalty_wake_at_commit();
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO megamarket.live_store_day AS l (store_id, date_id, revenue, units, lines, tickets)
        SELECT o.store_id, o.date_id, -sum(o.amount), -sum(o.quantity), -count(*),
               -count(*) FILTER (WHERE o.line_no = 1)
        FROM old_rows o GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (store_id, date_id) DO UPDATE
           SET revenue = l.revenue + excluded.revenue, units = l.units + excluded.units,
               lines = l.lines + excluded.lines, tickets = l.tickets + excluded.tickets,
               updated_at = statement_timestamp();
    ELSE
        INSERT INTO megamarket.live_store_day AS l (store_id, date_id, revenue, units, lines, tickets)
        SELECT store_id, date_id, sum(amount), sum(quantity), sum(lines), sum(tickets)
        FROM (SELECT n.store_id, n.date_id, n.amount, n.quantity, 1 AS lines,
                     (n.line_no = 1)::integer AS tickets
              FROM new_rows n
              UNION ALL
              SELECT o.store_id, o.date_id, -o.amount, -o.quantity, -1, -((o.line_no = 1)::integer)
              FROM old_rows o) x
        GROUP BY 1, 2
        HAVING sum(amount) <> 0 OR sum(quantity) <> 0 OR sum(lines) <> 0 OR sum(tickets) <> 0
        ORDER BY 1, 2
        ON CONFLICT (store_id, date_id) DO UPDATE
           SET revenue = l.revenue + excluded.revenue, units = l.units + excluded.units,
               lines = l.lines + excluded.lines, tickets = l.tickets + excluded.tickets,
               updated_at = statement_timestamp();
    END IF;

    IF current_setting('megamarket.live_notify') = 'off' THEN
        RETURN NULL;
    END IF;
    -- {"op", "rows", "revenue" (the change), "stores", "from_date_id", "to_date_id"}
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_build_object('op', TG_OP, 'rows', count(*), 'revenue', sum(amount),
                                  'stores', jsonb_agg(DISTINCT store_id),
                                  'from_date_id', min(date_id), 'to_date_id', max(date_id))
          INTO payload FROM new_rows HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_build_object('op', TG_OP, 'rows', count(*), 'revenue', -sum(amount),
                                  'stores', jsonb_agg(DISTINCT store_id),
                                  'from_date_id', min(date_id), 'to_date_id', max(date_id))
          INTO payload FROM old_rows HAVING count(*) > 0;
    ELSE
        SELECT jsonb_build_object('op', TG_OP, 'rows', count(*) FILTER (WHERE side = 1),
                                  'revenue', sum(side * amount),
                                  'stores', jsonb_agg(DISTINCT store_id),
                                  'from_date_id', min(date_id), 'to_date_id', max(date_id))
          INTO payload
        FROM (SELECT 1 AS side, n.amount, n.store_id, n.date_id FROM new_rows n
              UNION ALL
              SELECT -1, o.amount, o.store_id, o.date_id FROM old_rows o) x
        HAVING count(*) > 0;
    END IF;
    IF payload IS NULL THEN
        RETURN NULL;
    ELSIF current_setting('megamarket.live_notify') = 'relay' THEN
        INSERT INTO megamarket.live_notify_queue (payload) VALUES (payload::text);
        PERFORM megamarket._loyalty_wake_at_commit();
    ELSE
        PERFORM pg_notify('megamarket_sales', payload::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION megamarket._live_losses_change()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    -- one function for the three events: the transition tables that the
    -- event has are read, the others are empty stand-ins
    IF TG_OP = 'INSERT' THEN
        INSERT INTO megamarket.live_store_day AS l
               (store_id, date_id, loss_amount, loss_units, loss_events)
        SELECT n.store_id, n.date_id, sum(n.amount), sum(n.quantity), count(*)
        FROM new_rows n GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (store_id, date_id) DO UPDATE
           SET loss_amount = l.loss_amount + excluded.loss_amount,
               loss_units = l.loss_units + excluded.loss_units,
               loss_events = l.loss_events + excluded.loss_events,
               updated_at = statement_timestamp();
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO megamarket.live_store_day AS l
               (store_id, date_id, loss_amount, loss_units, loss_events)
        SELECT o.store_id, o.date_id, -sum(o.amount), -sum(o.quantity), -count(*)
        FROM old_rows o GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (store_id, date_id) DO UPDATE
           SET loss_amount = l.loss_amount + excluded.loss_amount,
               loss_units = l.loss_units + excluded.loss_units,
               loss_events = l.loss_events + excluded.loss_events,
               updated_at = statement_timestamp();
    ELSE
        INSERT INTO megamarket.live_store_day AS l
               (store_id, date_id, loss_amount, loss_units, loss_events)
        SELECT store_id, date_id, sum(amount), sum(quantity), sum(events)
        FROM (SELECT n.store_id, n.date_id, n.amount, n.quantity, 1 AS events FROM new_rows n
              UNION ALL
              SELECT o.store_id, o.date_id, -o.amount, -o.quantity, -1 FROM old_rows o) x
        GROUP BY 1, 2
        HAVING sum(amount) <> 0 OR sum(quantity) <> 0 OR sum(events) <> 0
        ORDER BY 1, 2
        ON CONFLICT (store_id, date_id) DO UPDATE
           SET loss_amount = l.loss_amount + excluded.loss_amount,
               loss_units = l.loss_units + excluded.loss_units,
               loss_events = l.loss_events + excluded.loss_events,
               updated_at = statement_timestamp();
    END IF;
    RETURN NULL;
END
$$;

-- TRUNCATE has no transition table: zero the affected columns.
CREATE FUNCTION megamarket._live_truncate()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'sales' THEN
        UPDATE megamarket.live_store_day
           SET revenue = 0, units = 0, lines = 0, tickets = 0, updated_at = statement_timestamp();
    ELSE
        UPDATE megamarket.live_store_day
           SET loss_amount = 0, loss_units = 0, loss_events = 0, updated_at = statement_timestamp();
    END IF;
    DELETE FROM megamarket.live_store_day
     WHERE lines = 0 AND loss_events = 0;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION megamarket._live_sales_change() IS 'trigger: applies a statement''s inserted, changed or deleted sales to live_store_day and notifies megamarket_sales';
COMMENT ON FUNCTION megamarket._live_losses_change() IS 'trigger: applies a statement''s inserted, changed or deleted losses to live_store_day';
COMMENT ON FUNCTION megamarket._live_truncate() IS 'trigger: zeroes live_store_day''s columns for a truncated fact table';

CREATE TRIGGER live_sales_insert AFTER INSERT ON megamarket.sales
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._live_sales_change();
CREATE TRIGGER live_sales_update AFTER UPDATE ON megamarket.sales
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._live_sales_change();
CREATE TRIGGER live_sales_delete AFTER DELETE ON megamarket.sales
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._live_sales_change();
CREATE TRIGGER live_sales_truncate AFTER TRUNCATE ON megamarket.sales
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._live_truncate();
CREATE TRIGGER live_losses_insert AFTER INSERT ON megamarket.losses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._live_losses_change();
CREATE TRIGGER live_losses_update AFTER UPDATE ON megamarket.losses
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._live_losses_change();
CREATE TRIGGER live_losses_delete AFTER DELETE ON megamarket.losses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._live_losses_change();
CREATE TRIGGER live_losses_truncate AFTER TRUNCATE ON megamarket.losses
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._live_truncate();

-- _live_bulk_loaded: what the statement triggers would have done for rows
-- that reach the facts without them: months the import loads in bulk into
-- fresh partitions and then attaches (partition.sql). rows is a table with
-- the fact table's columns holding exactly those rows. Those months had no
-- partition before, so no other session can have facts there: the totals
-- are added without locking the fact tables. Sales of registered customers
-- earn their loyalty awards here too, one per ticket, as the trigger does;
-- lines that only moved here from another day (pg_temp.mm_facts_moved,
-- partition.sql) are no new purchase and earn nothing again.
CREATE FUNCTION megamarket._live_bulk_loaded(kind text, rows regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF kind = 'sales' THEN
        EXECUTE format($f$
            INSERT INTO megamarket.live_store_day AS l (store_id, date_id, revenue, units, lines, tickets)
            SELECT store_id, date_id, sum(amount), sum(quantity), count(*), count(*) FILTER (WHERE line_no = 1)
            FROM %s GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (store_id, date_id) DO UPDATE
               SET revenue = l.revenue + excluded.revenue, units = l.units + excluded.units,
                   lines = l.lines + excluded.lines, tickets = l.tickets + excluded.tickets,
                   updated_at = statement_timestamp()$f$, rows);
        EXECUTE format($f$
            INSERT INTO megamarket.loyalty_awards (customer_id, purchase_amount, units, points)
            SELECT n.customer_id, sum(n.amount), floor(sum(n.amount))::bigint, floor(sum(n.amount))::bigint * 10
            FROM %s n
            JOIN megamarket.loyalty_customers lc ON lc.customer_id = n.customer_id AND lc.state <> 'failed'
            %s
            GROUP BY n.ticket_id, n.customer_id
            HAVING floor(sum(n.amount)) >= 1
            ORDER BY n.ticket_id$f$, rows,
            CASE WHEN to_regclass('pg_temp.mm_facts_moved') IS NULL THEN ''
                 ELSE 'WHERE NOT EXISTS (SELECT 1 FROM pg_temp.mm_facts_moved v
                                         WHERE v.ticket_id = n.ticket_id AND v.line_no = n.line_no)' END);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            PERFORM megamarket._loyalty_wake_at_commit();
        END IF;
    ELSIF kind = 'losses' THEN
        EXECUTE format($f$
            INSERT INTO megamarket.live_store_day AS l (store_id, date_id, loss_amount, loss_units, loss_events)
            SELECT store_id, date_id, sum(amount), sum(quantity), count(*)
            FROM %s GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (store_id, date_id) DO UPDATE
               SET loss_amount = l.loss_amount + excluded.loss_amount,
                   loss_units = l.loss_units + excluded.loss_units,
                   loss_events = l.loss_events + excluded.loss_events,
                   updated_at = statement_timestamp()$f$, rows);
    ELSE
        RAISE EXCEPTION 'megamarket: unknown fact table "%"', kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION megamarket._live_bulk_loaded(text, regclass) IS
'(internal to the bulk import) adds rows loaded without the fact triggers to live_store_day, and their loyalty awards';
REVOKE ALL ON FUNCTION megamarket._live_bulk_loaded(text, regclass) FROM PUBLIC;

-- live_refresh: recompute the totals of a range of days from the facts.
CREATE FUNCTION megamarket.live_refresh(from_date_id integer DEFAULT NULL,
                                        to_date_id integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    lo integer := coalesce(from_date_id, 0);
    hi integer := coalesce(to_date_id, 2147483647);
    n bigint;
BEGIN
    IF lo > hi THEN
        RAISE EXCEPTION 'live_refresh: from_date_id % is after to_date_id %', lo, hi
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the earlier day first, as yyyymmdd.';
    END IF;
    -- Writers of the range wait for the recomputation (and it for them), so
    -- nothing is counted twice or missed.
    LOCK TABLE megamarket.sales, megamarket.losses IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM megamarket.live_store_day WHERE date_id BETWEEN lo AND hi;
    INSERT INTO megamarket.live_store_day
           (store_id, date_id, revenue, units, lines, tickets, loss_amount, loss_units, loss_events)
    SELECT store_id, date_id,
           sum(revenue), sum(units), sum(lines), sum(tickets),
           sum(loss_amount), sum(loss_units), sum(loss_events)
    FROM (SELECT store_id, date_id, sum(amount) AS revenue, sum(quantity) AS units,
                 count(*) AS lines, count(*) FILTER (WHERE line_no = 1) AS tickets,
                 0 AS loss_amount, 0 AS loss_units, 0 AS loss_events
          FROM megamarket.sales WHERE date_id BETWEEN lo AND hi GROUP BY 1, 2
          UNION ALL
          SELECT store_id, date_id, 0, 0, 0, 0, sum(amount), sum(quantity), count(*)
          FROM megamarket.losses WHERE date_id BETWEEN lo AND hi GROUP BY 1, 2) x
    GROUP BY store_id, date_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION megamarket.live_refresh(integer, integer) IS
'recomputes live_store_day for days from_date_id to to_date_id (yyyymmdd; NULL: unbounded) from the facts; returns the rows written';
REVOKE ALL ON FUNCTION megamarket.live_refresh(integer, integer) FROM PUBLIC;
