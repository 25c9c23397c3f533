-- ---------------------------------------------------------------------------
-- campaigns: rules that tell a marketing platform when a customer enters a
-- segment or a campaign starts, delivered as signed webhooks
--
--   campaign_rules        a segment (and optionally a campaign) -> an endpoint
--   webhook_deliveries    the outbox: one row per (rule, event, customer),
--                         unique by its idempotency key
--   webhook_attempts      every POST made, with its outcome
--
-- Deliveries are queued in the transaction that causes them (a customer's
-- segment_id changes; campaign_start_deliveries() finds a campaign that has
-- started), so a rolled-back change queues nothing. webhook_dispatch() POSTs
-- what is due (src/campaigns/webhook.c): JSON body, X-MegaMarket-Timestamp,
-- X-MegaMarket-Signature: sha256=HMAC-SHA256(secret, timestamp + "." + body),
-- Idempotency-Key. The dispatcher worker does the same round in short
-- transactions of its own (claim and commit, POST outside any transaction,
-- record), so no lock is held across a network call. A 2xx delivers; a time-out, connection failure, 408, 429
-- or 5xx is retried with exponential back-off until the rule's max_attempts;
-- any other answer fails the delivery at once. A receiver may see a delivery
-- more than once (a retry after a lost answer): the idempotency key is how it
-- recognises it.
-- ---------------------------------------------------------------------------

CREATE TABLE megamarket.campaign_rules (
    rule_id      serial PRIMARY KEY,
    name         text NOT NULL UNIQUE
                 CONSTRAINT campaign_rules_name_not_blank CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)),
    segment_id   integer NOT NULL REFERENCES megamarket.segments ON DELETE CASCADE,
    campaign_id  integer REFERENCES megamarket.campaigns ON DELETE CASCADE,
    endpoint     text NOT NULL
                 CONSTRAINT campaign_rules_endpoint_http CHECK (endpoint OPERATOR(pg_catalog.~) '^https?://[^[:space:]]+$'
                                                             AND pg_catalog.length(endpoint) OPERATOR(pg_catalog.<=) 2048),
    secret       text NOT NULL
                 CONSTRAINT campaign_rules_secret_length CHECK (pg_catalog.octet_length(secret) OPERATOR(pg_catalog.>=) 16),
    max_attempts integer NOT NULL DEFAULT 8
                 CONSTRAINT campaign_rules_max_attempts_range CHECK (max_attempts OPERATOR(pg_catalog.>=) 1 AND max_attempts OPERATOR(pg_catalog.<=) 100),
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX campaign_rules_segment_id_idx ON megamarket.campaign_rules (segment_id);
CREATE INDEX campaign_rules_campaign_id_idx ON megamarket.campaign_rules (campaign_id);
COMMENT ON TABLE megamarket.campaign_rules IS
'campaign automation: when a customer enters segment_id (or, with campaign_id, when that campaign starts, for every customer of the segment), POST a signed webhook to endpoint';
COMMENT ON COLUMN megamarket.campaign_rules.rule_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.campaign_rules.name IS 'rule name, natural key';
COMMENT ON COLUMN megamarket.campaign_rules.segment_id IS 'the segment the rule targets';
COMMENT ON COLUMN megamarket.campaign_rules.campaign_id IS 'the campaign the deliveries name; when set, its start also queues a delivery per customer of the segment';
COMMENT ON COLUMN megamarket.campaign_rules.endpoint IS 'http or https URL the deliveries are POSTed to';
COMMENT ON COLUMN megamarket.campaign_rules.secret IS 'HMAC-SHA256 key of the X-MegaMarket-Signature header (at least 16 bytes); never shown in deliveries, attempts, logs or errors';
COMMENT ON COLUMN megamarket.campaign_rules.max_attempts IS 'POSTs tried before a delivery is given up (1-100)';
COMMENT ON COLUMN megamarket.campaign_rules.enabled IS 'false: queue nothing for this rule';
COMMENT ON COLUMN megamarket.campaign_rules.created_at IS 'when the rule was made';

CREATE TABLE megamarket.webhook_deliveries (
    delivery_id     bigserial PRIMARY KEY,
    rule_id         integer NOT NULL REFERENCES megamarket.campaign_rules ON DELETE CASCADE,
    event           text NOT NULL CONSTRAINT webhook_deliveries_event_known CHECK (event OPERATOR(pg_catalog.=) ANY (ARRAY['segment_entered', 'campaign_started'])),
    customer_id     integer NOT NULL REFERENCES megamarket.customers ON DELETE CASCADE,
    idempotency_key text NOT NULL UNIQUE,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'queued'
                    CONSTRAINT webhook_deliveries_status_known CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'delivering', 'delivered', 'failed'])),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    claimed_at      timestamptz,
    last_http_status integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    finished_at     timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON megamarket.webhook_deliveries (next_attempt_at) WHERE status OPERATOR(pg_catalog.=) 'queued';
CREATE INDEX webhook_deliveries_rule_id_idx ON megamarket.webhook_deliveries (rule_id);
CREATE INDEX webhook_deliveries_customer_id_idx ON megamarket.webhook_deliveries (customer_id);
COMMENT ON TABLE megamarket.webhook_deliveries IS
'outbox of campaign webhooks: one row per rule, event and customer, unique by idempotency_key; webhook_dispatch() POSTs the due ones';
COMMENT ON COLUMN megamarket.webhook_deliveries.delivery_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.webhook_deliveries.rule_id IS 'the rule that queued it';
COMMENT ON COLUMN megamarket.webhook_deliveries.event IS 'segment_entered or campaign_started';
COMMENT ON COLUMN megamarket.webhook_deliveries.customer_id IS 'the customer it is about';
COMMENT ON COLUMN megamarket.webhook_deliveries.idempotency_key IS 'sent as Idempotency-Key and in the body: the same event always has the same key';
COMMENT ON COLUMN megamarket.webhook_deliveries.payload IS 'the JSON body sent';
COMMENT ON COLUMN megamarket.webhook_deliveries.status IS 'queued (due at next_attempt_at), delivering (claimed by the dispatcher worker, POST in progress), delivered (a 2xx answer) or failed (given up)';
COMMENT ON COLUMN megamarket.webhook_deliveries.attempts IS 'POSTs made so far';
COMMENT ON COLUMN megamarket.webhook_deliveries.next_attempt_at IS 'when a queued delivery is next due';
COMMENT ON COLUMN megamarket.webhook_deliveries.claimed_at IS 'when the dispatcher worker last claimed it';
COMMENT ON COLUMN megamarket.webhook_deliveries.last_http_status IS 'HTTP status of the last attempt, NULL if no answer';
COMMENT ON COLUMN megamarket.webhook_deliveries.last_error IS 'why the last attempt did not deliver';
COMMENT ON COLUMN megamarket.webhook_deliveries.created_at IS 'when it was queued';
COMMENT ON COLUMN megamarket.webhook_deliveries.finished_at IS 'when it was delivered or given up';

CREATE TABLE megamarket.webhook_attempts (
    delivery_id  bigint NOT NULL REFERENCES megamarket.webhook_deliveries ON DELETE CASCADE,
    attempt      integer NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  numeric(12,3) NOT NULL,
    http_status  integer,
    error        text,
    PRIMARY KEY (delivery_id, attempt)
);
COMMENT ON TABLE megamarket.webhook_attempts IS 'every webhook POST made: when, how long, the HTTP status or the error';
COMMENT ON COLUMN megamarket.webhook_attempts.delivery_id IS 'the delivery';
COMMENT ON COLUMN megamarket.webhook_attempts.attempt IS '1 for the first POST, then 2, 3, ...';
COMMENT ON COLUMN megamarket.webhook_attempts.started_at IS 'when the POST started';
COMMENT ON COLUMN megamarket.webhook_attempts.duration_ms IS 'how long until the answer or the failure';
COMMENT ON COLUMN megamarket.webhook_attempts.http_status IS 'the answer''s HTTP status, NULL without one';
COMMENT ON COLUMN megamarket.webhook_attempts.error IS 'time-out, connection failure or the status line, NULL when delivered';

-- Rules are checked by a trigger before the constraints: a constraint that
-- fails reports the whole row (secret included) in its detail, and the
-- secret must never reach an error message or the server log.
CREATE FUNCTION megamarket._campaign_rules_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    IF NEW.name IS NULL OR NEW.name = '' OR NEW.name <> btrim(NEW.name) THEN
        RAISE EXCEPTION 'campaign rule name must be non-empty and trimmed'
            USING ERRCODE = 'check_violation', HINT = 'Give the rule a name without leading or trailing spaces.';
    END IF;
    IF NEW.segment_id IS NULL THEN
        RAISE EXCEPTION 'campaign rule "%" needs a segment_id', NEW.name
            USING ERRCODE = 'not_null_violation';
    END IF;
    IF NEW.endpoint IS NULL OR NEW.endpoint !~ '^https?://[^[:space:]]+$' OR length(NEW.endpoint) > 2048 THEN
        RAISE EXCEPTION 'campaign rule "%": endpoint must be an http or https URL', NEW.name
            USING ERRCODE = 'check_violation',
                  HINT = 'For example https://hooks.example.com/megamarket (at most 2048 characters).';
    END IF;
    IF NEW.secret IS NULL OR octet_length(NEW.secret) < 16 THEN
        RAISE EXCEPTION 'campaign rule "%": the secret must have at least 16 bytes', NEW.name
            USING ERRCODE = 'check_violation',
                  HINT = 'Use the signing secret your marketing platform gives you, or encode(gen_random_bytes(32), ''hex'') from pgcrypto.';
    END IF;
    IF NEW.max_attempts IS NULL OR NEW.max_attempts NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'campaign rule "%": max_attempts must be between 1 and 100', NEW.name
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION megamarket._campaign_rules_check() IS
'trigger: checks a campaign rule with messages that never show its secret';
CREATE TRIGGER campaign_rules_check BEFORE INSERT OR UPDATE ON megamarket.campaign_rules
    FOR EACH ROW EXECUTE FUNCTION megamarket._campaign_rules_check();

-- The body of a delivery: who, which segment, which campaign, the key.
CREATE FUNCTION megamarket._webhook_payload(event text, rule megamarket.campaign_rules,
                                            customer_id integer, idempotency_key text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, megamarket, pg_temp
RETURN (
    SELECT jsonb_build_object(
        'event', event,
        'idempotency_key', idempotency_key,
        'rule', rule.name,
        'customer', jsonb_build_object('code', c.code, 'name', c.name, 'email', c.email),
        'segment', jsonb_build_object('name', s.name, 'description', s.description),
        'campaign', CASE WHEN ca.campaign_id IS NULL THEN NULL ELSE
                        jsonb_build_object('code', ca.code, 'name', ca.name,
                                           'start_date', ca.start_date, 'end_date', ca.end_date) END,
        'occurred_at', now())
    FROM megamarket.customers c
    JOIN megamarket.segments s ON s.segment_id = rule.segment_id
    LEFT JOIN megamarket.campaigns ca ON ca.campaign_id = rule.campaign_id
    WHERE c.customer_id = _webhook_payload.customer_id);

-- Queue segment_entered deliveries for customers whose segment changed into
-- one a rule targets. The key names the rule, the customer, the segment and
-- the transaction that moved them: a later move back and forth is a new
-- event; this one is delivered once.
CREATE FUNCTION megamarket._campaign_segment_moves()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    INSERT INTO megamarket.webhook_deliveries (rule_id, event, customer_id, idempotency_key, payload)
    SELECT r.rule_id, 'segment_entered', n.customer_id, k.key,
           megamarket._webhook_payload('segment_entered', r, n.customer_id, k.key)
    FROM new_rows n
    JOIN old_rows o ON o.customer_id = n.customer_id
    JOIN megamarket.campaign_rules r ON r.segment_id = n.segment_id AND r.enabled
    CROSS JOIN LATERAL (SELECT format('seg-%s-%s-%s-%s', r.rule_id, n.customer_id, n.segment_id,
                                      pg_current_xact_id()) AS key) k
    WHERE n.segment_id IS DISTINCT FROM o.segment_id
    ORDER BY r.rule_id, n.customer_id
    ON CONFLICT (idempotency_key) DO NOTHING;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION megamarket._campaign_segment_moves() IS
'trigger: queues a segment_entered webhook for each customer whose segment changed into one a campaign rule targets';

CREATE TRIGGER campaign_segment_moves AFTER UPDATE ON megamarket.customers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION megamarket._campaign_segment_moves();

-- campaign_start_deliveries: queue campaign_started deliveries for the
-- campaigns that have started by as_of, once per rule, campaign and customer.
CREATE FUNCTION megamarket.campaign_start_deliveries(as_of date DEFAULT CURRENT_DATE)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'campaign_start_deliveries: as_of must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass a date, or call it without arguments for today.';
    END IF;
    INSERT INTO megamarket.webhook_deliveries (rule_id, event, customer_id, idempotency_key, payload)
    SELECT r.rule_id, 'campaign_started', c.customer_id, k.key,
           megamarket._webhook_payload('campaign_started', r, c.customer_id, k.key)
    FROM megamarket.campaign_rules r
    JOIN megamarket.campaigns ca ON ca.campaign_id = r.campaign_id
    JOIN megamarket.customers c ON c.segment_id = r.segment_id
    CROSS JOIN LATERAL (SELECT format('camp-%s-%s-%s', r.rule_id, ca.campaign_id, c.customer_id) AS key) k
    WHERE r.enabled AND ca.start_date <= as_of AND ca.end_date >= as_of
    ORDER BY r.rule_id, c.customer_id
    ON CONFLICT (idempotency_key) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION megamarket.campaign_start_deliveries(date) IS
'queues a campaign_started webhook for every customer of each enabled rule''s segment whose campaign runs on as_of (once per rule, campaign and customer); returns the deliveries queued';
REVOKE ALL ON FUNCTION megamarket.campaign_start_deliveries(date) FROM PUBLIC;

CREATE FUNCTION megamarket.webhook_dispatch(max_deliveries integer DEFAULT 100)
RETURNS TABLE (delivered bigint, retried bigint, failed bigint)
AS 'MODULE_PATHNAME', 'campaigns_webhook_dispatch'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION megamarket.webhook_dispatch(integer) IS
'POSTs up to max_deliveries due webhook deliveries (signed, with back-off on failures) in the caller''s transaction; returns how many were delivered, will be retried, and failed for good';
REVOKE ALL ON FUNCTION megamarket.webhook_dispatch(integer) FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('megamarket.campaign_rules', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.campaign_rules_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.webhook_deliveries', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.webhook_deliveries_delivery_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.webhook_attempts', '');
