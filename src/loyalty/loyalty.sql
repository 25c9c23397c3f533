-- The loyalty module (src/loyalty/): customers' points on the
-- MegaMarketLoyalty contract, awarded exactly once through an outbox.
--
--   loyalty_register / loyalty_award  record only (rows in the outbox)
--   the dispatcher (background worker, or CALL loyalty_dispatch())
--       claims queued rows, assigns the next nonce, signs, and COMMITS the
--       signed bytes before sending; sends in nonce order; reads receipts;
--       marks confirmed or failed (with the revert reason)
--
-- The _loyalty_* functions are the dispatcher's steps; each runs inside one
-- short transaction of the dispatcher. None is for PUBLIC.

-- The signer's nonce, per chain and sender address: taken from the node the
-- first time, then kept here (the node's "pending" count cannot be trusted
-- while our own transactions are in flight).
CREATE TABLE megamarket.loyalty_signers (
    chain_id      bigint NOT NULL CHECK (chain_id OPERATOR(pg_catalog.>) 0),
    address       text NOT NULL CHECK (address OPERATOR(pg_catalog.~) '^0x[0-9a-fA-F]{40}$'),
    next_nonce    bigint NOT NULL CHECK (next_nonce OPERATOR(pg_catalog.>=) 0),
    last_error    text,
    last_error_at timestamptz,
    PRIMARY KEY (chain_id, address)
);
COMMENT ON TABLE megamarket.loyalty_signers IS
'loyalty: the signing address per chain and the next nonce it will use; the last node error seen';

-- One row per nonce we signed (a "logical" transaction); its attempts (the
-- first signature and fee-bumped replacements, same nonce, same call) are in
-- loyalty_tx_attempts.
CREATE TABLE megamarket.loyalty_transactions (
    tx_id         bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['deploy', 'register', 'award'])),
    chain_id      bigint NOT NULL,
    sender        text NOT NULL,
    nonce         bigint NOT NULL CHECK (nonce OPERATOR(pg_catalog.>=) 0),
    contract      text,
    state         text NOT NULL DEFAULT 'signed'
                  CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['signed', 'sent', 'confirmed', 'failed', 'dropped'])),
    item_count    integer NOT NULL,
    gas_limit     bigint NOT NULL,
    tx_hash       text,
    block_number  bigint,
    gas_used      bigint,
    effective_gas_price numeric,
    revert_reason text,
    last_error    text,
    attempts      integer NOT NULL DEFAULT 1,
    signed_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    sent_at       timestamptz,
    settled_at    timestamptz
);
-- a nonce is used once per sender and chain (a dropped row gave its nonce up)
CREATE UNIQUE INDEX loyalty_transactions_nonce_key ON megamarket.loyalty_transactions (chain_id, sender, nonce)
    WHERE state OPERATOR(pg_catalog.<>) 'dropped';
CREATE INDEX loyalty_transactions_open_idx ON megamarket.loyalty_transactions (nonce)
    WHERE state OPERATOR(pg_catalog.=) ANY (ARRAY['signed', 'sent']);
COMMENT ON TABLE megamarket.loyalty_transactions IS
'loyalty: one row per signed nonce: kind, state (signed, sent, confirmed, failed, dropped), hash, block, gas used, revert reason';

CREATE TABLE megamarket.loyalty_tx_attempts (
    tx_id         bigint NOT NULL REFERENCES megamarket.loyalty_transactions ON DELETE CASCADE,
    attempt       integer NOT NULL,
    tx_hash       text NOT NULL UNIQUE,
    raw           bytea NOT NULL,
    max_fee_per_gas numeric NOT NULL,
    max_priority_fee_per_gas numeric NOT NULL,
    signed_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tx_id, attempt)
);
COMMENT ON TABLE megamarket.loyalty_tx_attempts IS
'loyalty: the signed bytes of each attempt at a nonce (the first and every fee-bumped replacement), committed before sending';

CREATE TABLE megamarket.loyalty_customers (
    customer_id   integer PRIMARY KEY REFERENCES megamarket.customers,
    address       text NOT NULL UNIQUE CHECK (address OPERATOR(pg_catalog.~) '^0x[0-9a-fA-F]{40}$'),
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'signed', 'sent', 'confirmed', 'failed'])),
    tx_id         bigint REFERENCES megamarket.loyalty_transactions,
    revert_reason text,
    queued_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    settled_at    timestamptz
);
CREATE INDEX loyalty_customers_queued_idx ON megamarket.loyalty_customers (customer_id)
    WHERE state OPERATOR(pg_catalog.=) 'queued';
CREATE INDEX loyalty_customers_tx_idx ON megamarket.loyalty_customers (tx_id);
COMMENT ON TABLE megamarket.loyalty_customers IS
'loyalty: customers registered on the contract (EIP-55 address) and the state of their registration';

CREATE TABLE megamarket.loyalty_awards (
    award_id      bigserial PRIMARY KEY,
    customer_id   integer NOT NULL REFERENCES megamarket.loyalty_customers,
    purchase_amount numeric NOT NULL,
    units         bigint NOT NULL CHECK (units OPERATOR(pg_catalog.>) 0),
    points        bigint NOT NULL CHECK (points OPERATOR(pg_catalog.=) (units OPERATOR(pg_catalog.*) 10)),
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'signed', 'sent', 'confirmed', 'failed'])),
    solo          boolean NOT NULL DEFAULT false,
    tx_id         bigint REFERENCES megamarket.loyalty_transactions,
    revert_reason text,
    queued_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    settled_at    timestamptz
);
CREATE INDEX loyalty_awards_queued_idx ON megamarket.loyalty_awards (award_id)
    WHERE state OPERATOR(pg_catalog.=) 'queued';
CREATE INDEX loyalty_awards_tx_idx ON megamarket.loyalty_awards (tx_id);
CREATE INDEX loyalty_awards_customer_idx ON megamarket.loyalty_awards (customer_id);
COMMENT ON TABLE megamarket.loyalty_awards IS
'loyalty: the outbox of awards: purchase amount, whole units and points, state (queued, signed, sent, confirmed, failed) and revert reason';
COMMENT ON COLUMN megamarket.loyalty_awards.units IS
'whole currency units sent to the contract: floor(purchase_amount); the contract gives 10 points per unit';
COMMENT ON COLUMN megamarket.loyalty_awards.solo IS
'true after the award''s batch reverted: it is retried in a transaction of its own, to pin the reason on the right award';

COMMENT ON COLUMN megamarket.loyalty_signers.chain_id IS 'the chain (EIP-155 id) the address signs for';
COMMENT ON COLUMN megamarket.loyalty_signers.address IS 'the signers address (EIP-55), derived from megamarket.signer_key_file';
COMMENT ON COLUMN megamarket.loyalty_signers.next_nonce IS 'the nonce the next signed transaction takes (from the node the first time, then from here)';
COMMENT ON COLUMN megamarket.loyalty_signers.last_error IS 'the nodes last failure seen by the dispatcher, NULL once it answers again';
COMMENT ON COLUMN megamarket.loyalty_signers.last_error_at IS 'when last_error was recorded';
COMMENT ON COLUMN megamarket.loyalty_transactions.tx_id IS 'surrogate key';
COMMENT ON COLUMN megamarket.loyalty_transactions.kind IS 'deploy, register or award';
COMMENT ON COLUMN megamarket.loyalty_transactions.chain_id IS 'the chain it is signed for';
COMMENT ON COLUMN megamarket.loyalty_transactions.sender IS 'the signing address';
COMMENT ON COLUMN megamarket.loyalty_transactions.nonce IS 'the senders nonce: unique per chain and sender unless dropped';
COMMENT ON COLUMN megamarket.loyalty_transactions.contract IS 'the contract called (or created, for deploy)';
COMMENT ON COLUMN megamarket.loyalty_transactions.state IS 'signed (committed, not yet taken by the node), sent, confirmed, failed (reverted), dropped (nonce taken by another transaction)';
COMMENT ON COLUMN megamarket.loyalty_transactions.item_count IS 'awards or registrations it carries';
COMMENT ON COLUMN megamarket.loyalty_transactions.gas_limit IS 'gas limit signed';
COMMENT ON COLUMN megamarket.loyalty_transactions.tx_hash IS 'hash of the latest attempt, or of the mined one once settled';
COMMENT ON COLUMN megamarket.loyalty_transactions.block_number IS 'block it was mined in';
COMMENT ON COLUMN megamarket.loyalty_transactions.gas_used IS 'gas used, from the receipt';
COMMENT ON COLUMN megamarket.loyalty_transactions.effective_gas_price IS 'price paid per gas (wei), from the receipt';
COMMENT ON COLUMN megamarket.loyalty_transactions.revert_reason IS 'why it reverted (replayed with eth_call)';
COMMENT ON COLUMN megamarket.loyalty_transactions.last_error IS 'the nodes last refusal of a send, if any';
COMMENT ON COLUMN megamarket.loyalty_transactions.attempts IS 'signatures made for this nonce (replacements add one)';
COMMENT ON COLUMN megamarket.loyalty_transactions.signed_at IS 'when it was signed and committed';
COMMENT ON COLUMN megamarket.loyalty_transactions.sent_at IS 'when the node took it (reset by a replacement)';
COMMENT ON COLUMN megamarket.loyalty_transactions.settled_at IS 'when its receipt was recorded';
COMMENT ON COLUMN megamarket.loyalty_tx_attempts.tx_id IS 'the transaction (nonce) this attempt signs';
COMMENT ON COLUMN megamarket.loyalty_tx_attempts.attempt IS '1 for the first signature, then one per replacement';
COMMENT ON COLUMN megamarket.loyalty_tx_attempts.tx_hash IS 'keccak-256 of the signed bytes';
COMMENT ON COLUMN megamarket.loyalty_tx_attempts.raw IS 'the signed bytes sent with eth_sendRawTransaction';
COMMENT ON COLUMN megamarket.loyalty_tx_attempts.max_fee_per_gas IS 'EIP-1559 max fee (wei)';
COMMENT ON COLUMN megamarket.loyalty_tx_attempts.max_priority_fee_per_gas IS 'EIP-1559 priority fee (wei)';
COMMENT ON COLUMN megamarket.loyalty_tx_attempts.signed_at IS 'when signed';
COMMENT ON COLUMN megamarket.loyalty_customers.customer_id IS 'the customer (megamarket.customers)';
COMMENT ON COLUMN megamarket.loyalty_customers.address IS 'wallet address, EIP-55 checksummed';
COMMENT ON COLUMN megamarket.loyalty_customers.state IS 'registration: queued, signed, sent, confirmed, failed';
COMMENT ON COLUMN megamarket.loyalty_customers.tx_id IS 'the registerCustomer transaction';
COMMENT ON COLUMN megamarket.loyalty_customers.revert_reason IS 'why the registration reverted';
COMMENT ON COLUMN megamarket.loyalty_customers.queued_at IS 'when loyalty_register was called';
COMMENT ON COLUMN megamarket.loyalty_customers.settled_at IS 'when the registration was confirmed or failed';
COMMENT ON COLUMN megamarket.loyalty_awards.award_id IS 'surrogate key, returned by loyalty_award';
COMMENT ON COLUMN megamarket.loyalty_awards.customer_id IS 'the customer awarded';
COMMENT ON COLUMN megamarket.loyalty_awards.purchase_amount IS 'the purchase as given, in currency units';
COMMENT ON COLUMN megamarket.loyalty_awards.points IS 'points awarded: units times 10';
COMMENT ON COLUMN megamarket.loyalty_awards.state IS 'queued, signed, sent, confirmed, failed';
COMMENT ON COLUMN megamarket.loyalty_awards.tx_id IS 'the transaction carrying it (the latest, after retries)';
COMMENT ON COLUMN megamarket.loyalty_awards.revert_reason IS 'why it failed (or why its batch was retried)';
COMMENT ON COLUMN megamarket.loyalty_awards.queued_at IS 'when loyalty_award was called';
COMMENT ON COLUMN megamarket.loyalty_awards.settled_at IS 'when confirmed or failed';

SELECT pg_catalog.pg_extension_config_dump('megamarket.loyalty_signers', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loyalty_transactions', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loyalty_transactions_tx_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loyalty_tx_attempts', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loyalty_customers', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loyalty_awards', '');
SELECT pg_catalog.pg_extension_config_dump('megamarket.loyalty_awards_award_id_seq', '');

-- Each award with its transaction: what a support desk asks about.
CREATE VIEW megamarket.loyalty_award_status AS
SELECT a.award_id, a.customer_id, c.address, a.purchase_amount, a.units, a.points, a.state,
       t.nonce, t.tx_hash, t.block_number, a.revert_reason, a.queued_at, a.settled_at
  FROM megamarket.loyalty_awards a
  JOIN megamarket.loyalty_customers c USING (customer_id)
  LEFT JOIN megamarket.loyalty_transactions t ON t.tx_id OPERATOR(pg_catalog.=) a.tx_id;
COMMENT ON VIEW megamarket.loyalty_award_status IS
'loyalty: each award, its state and its transaction (nonce, hash, block) or revert reason';

-- Points per customer as the database knows them (confirmed awards only):
-- what the contract's getPointsBalance must say.
CREATE VIEW megamarket.loyalty_ledger AS
SELECT c.customer_id, c.address, c.state AS registration,
       COALESCE(pg_catalog.sum(a.points) FILTER (WHERE a.state OPERATOR(pg_catalog.=) 'confirmed'), 0)::bigint AS confirmed_points,
       COALESCE(pg_catalog.sum(a.points) FILTER (WHERE a.state OPERATOR(pg_catalog.<>) ALL (ARRAY['confirmed', 'failed'])), 0)::bigint AS pending_points,
       pg_catalog.count(*) FILTER (WHERE a.state OPERATOR(pg_catalog.=) 'failed') AS failed_awards
  FROM megamarket.loyalty_customers c
  LEFT JOIN megamarket.loyalty_awards a USING (customer_id)
 GROUP BY c.customer_id, c.address, c.state;
COMMENT ON VIEW megamarket.loyalty_ledger IS
'loyalty: per customer, the points of confirmed awards (equal to the contract''s balance) and of awards in flight';

-- ---------------------------------------------------------------------------
-- The SQL API
-- ---------------------------------------------------------------------------

CREATE FUNCTION megamarket._loyalty_wake_at_commit()
RETURNS void
AS 'MODULE_PATHNAME', 'loyalty__loyalty_wake_at_commit'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION megamarket._loyalty_wake_at_commit() IS
'internal: wake this database''s dispatcher when the current transaction commits';
REVOKE ALL ON FUNCTION megamarket._loyalty_wake_at_commit() FROM PUBLIC;

CREATE FUNCTION megamarket.loyalty_register(customer_id integer, address text)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    checked text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM megamarket.customers c WHERE c.customer_id = loyalty_register.customer_id) THEN
        RAISE EXCEPTION 'customer % does not exist', loyalty_register.customer_id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Register customers that are in megamarket.customers.';
    END IF;
    -- EIP-55: a mixed-case address must carry a correct checksum (22P02)
    checked := megamarket.eth_address_checksum(address);
    IF checked = '0x0000000000000000000000000000000000000000' THEN
        RAISE EXCEPTION 'loyalty address of customer % is the zero address', loyalty_register.customer_id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the customer''s own wallet address.';
    END IF;
    IF EXISTS (SELECT 1 FROM megamarket.loyalty_customers c WHERE c.customer_id = loyalty_register.customer_id) THEN
        RAISE EXCEPTION 'customer % is already registered for loyalty points', loyalty_register.customer_id
            USING ERRCODE = 'unique_violation',
                  DETAIL = format('Its address is %s.', (SELECT c.address FROM megamarket.loyalty_customers c
                                                          WHERE c.customer_id = loyalty_register.customer_id));
    END IF;
    IF EXISTS (SELECT 1 FROM megamarket.loyalty_customers c WHERE lower(c.address) = lower(checked)) THEN
        RAISE EXCEPTION 'address % is already registered for another customer', checked
            USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO megamarket.loyalty_customers (customer_id, address) VALUES (loyalty_register.customer_id, checked);
    UPDATE megamarket.customers c SET wallet_address = lower(checked)
     WHERE c.customer_id = loyalty_register.customer_id
       AND c.wallet_address IS DISTINCT FROM lower(checked);
    PERFORM megamarket._loyalty_wake_at_commit();
END
$$;
COMMENT ON FUNCTION megamarket.loyalty_register(integer, text) IS
'queue the registration of a customer''s address on the loyalty contract (records only; the dispatcher sends it)';
REVOKE ALL ON FUNCTION megamarket.loyalty_register(integer, text) FROM PUBLIC;

CREATE FUNCTION megamarket.loyalty_award(customer_id integer, purchase_amount numeric)
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    u numeric;
    id bigint;
BEGIN
    IF purchase_amount = 'NaN'::numeric THEN
        RAISE EXCEPTION 'purchase amount of customer % is NaN', loyalty_award.customer_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF purchase_amount < 0 THEN
        RAISE EXCEPTION 'purchase amount of customer % is negative: %', loyalty_award.customer_id, purchase_amount
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Returns do not take points back; award only purchases.';
    END IF;
    -- the contract takes whole units: 10 points per whole unit, cents dropped
    u := floor(purchase_amount);
    IF u > 1000000000000 THEN
        RAISE EXCEPTION 'purchase amount of customer % is too large: %', loyalty_award.customer_id, purchase_amount
            USING ERRCODE = 'numeric_value_out_of_range',
                  DETAIL = 'One award carries at most 1000000000000 whole units (the contract''s MAX_PURCHASE_UNITS).';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM megamarket.loyalty_customers c WHERE c.customer_id = loyalty_award.customer_id) THEN
        RAISE EXCEPTION 'customer % is not registered for loyalty points', loyalty_award.customer_id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Register the customer''s address first with megamarket.loyalty_register().';
    END IF;
    IF u = 0 THEN
        RETURN NULL;            -- less than one unit: no points, nothing to send
    END IF;
    INSERT INTO megamarket.loyalty_awards (customer_id, purchase_amount, units, points)
    VALUES (loyalty_award.customer_id, purchase_amount, u::bigint, u::bigint * 10)
    RETURNING award_id INTO id;
    PERFORM megamarket._loyalty_wake_at_commit();
    RETURN id;
END
$$;
COMMENT ON FUNCTION megamarket.loyalty_award(integer, numeric) IS
'queue an award of 10 points per whole unit of purchase_amount (records only); returns the award id, NULL under one unit';
REVOKE ALL ON FUNCTION megamarket.loyalty_award(integer, numeric) FROM PUBLIC;

CREATE FUNCTION megamarket.loyalty_balance(customer_id integer)
RETURNS numeric
AS 'MODULE_PATHNAME', 'loyalty_loyalty_balance'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, megamarket, pg_temp;
COMMENT ON FUNCTION megamarket.loyalty_balance(integer) IS
'the customer''s points balance as the contract reports it (eth_call getPointsBalance at the latest block)';
REVOKE ALL ON FUNCTION megamarket.loyalty_balance(integer) FROM PUBLIC;

CREATE FUNCTION megamarket.loyalty_deploy()
RETURNS text
AS 'MODULE_PATHNAME', 'loyalty_loyalty_deploy'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION megamarket.loyalty_deploy() IS
'deploy MegaMarketLoyalty with the signer key, wait for it to be mined and return its address (superuser)';
REVOKE ALL ON FUNCTION megamarket.loyalty_deploy() FROM PUBLIC;

CREATE PROCEDURE megamarket.loyalty_dispatch()
AS 'MODULE_PATHNAME', 'loyalty_loyalty_dispatch'
LANGUAGE C;
COMMENT ON PROCEDURE megamarket.loyalty_dispatch() IS
'one round of the dispatcher in this session: settle, sign and commit, send, read receipts (CALL it outside a transaction block)';
REVOKE ALL ON PROCEDURE megamarket.loyalty_dispatch() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- The dispatcher's steps (called by src/loyalty/dispatcher.c)
-- ---------------------------------------------------------------------------

-- The next nonce of a sender (locks its row until the transaction ends), or
-- NULL when the sender is new here (the dispatcher then asks the node).
CREATE FUNCTION megamarket._loyalty_lock_nonce(p_chain_id bigint, p_sender text)
RETURNS bigint
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
SELECT next_nonce FROM megamarket.loyalty_signers
 WHERE chain_id = p_chain_id AND address = p_sender FOR UPDATE
$$;

-- Start counting from the node's nonce (first use of a sender), or move past
-- nonces that something else used (never backwards).
CREATE FUNCTION megamarket._loyalty_sync_nonce(p_chain_id bigint, p_sender text, p_node_nonce bigint)
RETURNS bigint
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
INSERT INTO megamarket.loyalty_signers AS s (chain_id, address, next_nonce)
VALUES (p_chain_id, p_sender, p_node_nonce)
ON CONFLICT (chain_id, address) DO UPDATE SET next_nonce = greatest(s.next_nonce, excluded.next_nonce)
RETURNING next_nonce
$$;

CREATE FUNCTION megamarket._loyalty_signer_error(p_chain_id bigint, p_sender text, p_error text)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
UPDATE megamarket.loyalty_signers SET last_error = p_error,
       last_error_at = CASE WHEN p_error IS NULL THEN NULL ELSE now() END
 WHERE chain_id = p_chain_id AND address = p_sender AND last_error IS DISTINCT FROM p_error
$$;

-- The next piece of work for one transaction, oldest first: a queued
-- registration (alone), else an award that must go alone, else up to
-- p_batch queued awards. Claimed rows are locked (SKIP LOCKED) until the
-- caller's transaction ends; _loyalty_signed then moves them out of the
-- queue. addresses and units are parallel arrays.
CREATE FUNCTION megamarket._loyalty_claim(p_batch integer,
    OUT kind text, OUT ids bigint[], OUT addresses text[], OUT units bigint[])
RETURNS record
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    SELECT 'register', ARRAY[c.customer_id::bigint], ARRAY[c.address], ARRAY[0::bigint]
      INTO kind, ids, addresses, units
      FROM megamarket.loyalty_customers c
     WHERE c.state = 'queued'
     ORDER BY c.customer_id
     LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT 'award', ARRAY[a.award_id], ARRAY[c.address], ARRAY[a.units]
      INTO kind, ids, addresses, units
      FROM megamarket.loyalty_awards a JOIN megamarket.loyalty_customers c USING (customer_id)
     WHERE a.state = 'queued' AND a.solo
     ORDER BY a.award_id
     LIMIT 1 FOR UPDATE OF a SKIP LOCKED;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT 'award', array_agg(q.award_id ORDER BY q.award_id), array_agg(q.address ORDER BY q.award_id),
           array_agg(q.units ORDER BY q.award_id)
      INTO kind, ids, addresses, units
      FROM (SELECT a.award_id, c.address, a.units
              FROM megamarket.loyalty_awards a JOIN megamarket.loyalty_customers c USING (customer_id)
             WHERE a.state = 'queued' AND NOT a.solo
             ORDER BY a.award_id
             LIMIT p_batch FOR UPDATE OF a SKIP LOCKED) q;
    IF ids IS NULL THEN
        kind := NULL;
    END IF;
END
$$;

-- Record a signed transaction (committed before it is sent) and move its
-- items and the sender's nonce on.
CREATE FUNCTION megamarket._loyalty_signed(p_kind text, p_ids bigint[], p_chain_id bigint, p_sender text,
    p_nonce bigint, p_contract text, p_gas_limit bigint, p_hash text, p_raw bytea,
    p_max_fee numeric, p_priority_fee numeric)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    t bigint;
BEGIN
    INSERT INTO megamarket.loyalty_transactions
           (kind, chain_id, sender, nonce, contract, item_count, gas_limit, tx_hash)
    VALUES (p_kind, p_chain_id, p_sender, p_nonce, p_contract, coalesce(cardinality(p_ids), 0), p_gas_limit, p_hash)
    RETURNING tx_id INTO t;
    INSERT INTO megamarket.loyalty_tx_attempts (tx_id, attempt, tx_hash, raw, max_fee_per_gas, max_priority_fee_per_gas)
    VALUES (t, 1, p_hash, p_raw, p_max_fee, p_priority_fee);
    IF p_kind = 'register' THEN
        UPDATE megamarket.loyalty_customers SET state = 'signed', tx_id = t, revert_reason = NULL
         WHERE customer_id = ANY (p_ids) AND state = 'queued';
    ELSIF p_kind = 'award' THEN
        UPDATE megamarket.loyalty_awards SET state = 'signed', tx_id = t, revert_reason = NULL
         WHERE award_id = ANY (p_ids) AND state = 'queued';
    END IF;
    IF NOT FOUND AND p_kind <> 'deploy' THEN
        RAISE EXCEPTION 'loyalty dispatcher: claimed items of transaction % vanished', t;
    END IF;
    UPDATE megamarket.loyalty_signers SET next_nonce = p_nonce + 1
     WHERE chain_id = p_chain_id AND address = p_sender AND next_nonce = p_nonce;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty dispatcher: nonce % of % is not the next one', p_nonce, p_sender;
    END IF;
    RETURN t;
END
$$;

-- A replacement of a stuck transaction: same nonce, same call, higher fee.
CREATE FUNCTION megamarket._loyalty_replaced(p_tx_id bigint, p_hash text, p_raw bytea,
    p_max_fee numeric, p_priority_fee numeric)
RETURNS void
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
INSERT INTO megamarket.loyalty_tx_attempts (tx_id, attempt, tx_hash, raw, max_fee_per_gas, max_priority_fee_per_gas)
SELECT p_tx_id, max(attempt) + 1, p_hash, p_raw, p_max_fee, p_priority_fee
  FROM megamarket.loyalty_tx_attempts WHERE tx_id = p_tx_id;
UPDATE megamarket.loyalty_transactions
   SET attempts = attempts + 1, tx_hash = p_hash, state = 'signed', sent_at = NULL
 WHERE tx_id = p_tx_id AND state IN ('signed', 'sent');
$$;

-- The transactions not settled yet, in nonce order, with every attempt's
-- hash (any of them may be the one mined) and the latest attempt's bytes.
CREATE FUNCTION megamarket._loyalty_open(p_chain_id bigint, p_sender text,
    OUT tx_id bigint, OUT nonce bigint, OUT state text, OUT kind text, OUT hashes text[],
    OUT raw bytea, OUT max_fee numeric, OUT priority_fee numeric, OUT age_ms bigint)
RETURNS SETOF record
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
SELECT t.tx_id, t.nonce, t.state, t.kind,
       (SELECT array_agg(x.tx_hash ORDER BY x.attempt DESC) FROM megamarket.loyalty_tx_attempts x WHERE x.tx_id = t.tx_id),
       l.raw, l.max_fee_per_gas, l.max_priority_fee_per_gas,
       (extract(epoch FROM now() - coalesce(t.sent_at, l.signed_at)) * 1000)::bigint
  FROM megamarket.loyalty_transactions t
  JOIN LATERAL (SELECT * FROM megamarket.loyalty_tx_attempts x WHERE x.tx_id = t.tx_id
                 ORDER BY x.attempt DESC LIMIT 1) l ON true
 WHERE t.state IN ('signed', 'sent') AND t.chain_id = p_chain_id AND t.sender = p_sender
 ORDER BY t.nonce
$$;

-- The node took these (or already had them).
CREATE FUNCTION megamarket._loyalty_sent(p_tx_ids bigint[])
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
BEGIN
    UPDATE megamarket.loyalty_transactions SET state = 'sent', sent_at = now(), last_error = NULL
     WHERE tx_id = ANY (p_tx_ids) AND state = 'signed';
    UPDATE megamarket.loyalty_awards SET state = 'sent' WHERE tx_id = ANY (p_tx_ids) AND state = 'signed';
    UPDATE megamarket.loyalty_customers SET state = 'sent' WHERE tx_id = ANY (p_tx_ids) AND state = 'signed';
END
$$;

CREATE FUNCTION megamarket._loyalty_tx_error(p_tx_id bigint, p_error text)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
UPDATE megamarket.loyalty_transactions SET last_error = p_error
 WHERE tx_id = p_tx_id AND last_error IS DISTINCT FROM p_error
$$;

-- A receipt: the transaction is mined (status 1: confirmed; 0: failed, with
-- the revert reason). A reverted batch changed nothing on chain, so its
-- awards go back to the queue, each to be retried alone; a reverted single
-- award or registration is failed for good.
CREATE FUNCTION megamarket._loyalty_settle(p_tx_id bigint, p_receipt jsonb, p_reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    ok boolean := (p_receipt ->> 'status') = '0x1';
    n integer;
BEGIN
    UPDATE megamarket.loyalty_transactions
       SET state = CASE WHEN ok THEN 'confirmed' ELSE 'failed' END,
           tx_hash = p_receipt ->> 'transactionHash',
           block_number = ('x' || lpad(substr(p_receipt ->> 'blockNumber', 3), 16, '0'))::bit(64)::bigint,
           gas_used = ('x' || lpad(substr(p_receipt ->> 'gasUsed', 3), 16, '0'))::bit(64)::bigint,
           effective_gas_price = ('x' || lpad(substr(coalesce(p_receipt ->> 'effectiveGasPrice', '0x0'), 3), 16, '0'))::bit(64)::bigint,
           revert_reason = CASE WHEN ok THEN NULL ELSE coalesce(p_reason, 'no reason given') END,
           contract = coalesce(contract, p_receipt ->> 'contractAddress'),
           last_error = NULL, settled_at = now()
     WHERE tx_id = p_tx_id AND state IN ('signed', 'sent')
    RETURNING item_count INTO n;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF ok THEN
        UPDATE megamarket.loyalty_awards SET state = 'confirmed', settled_at = now() WHERE tx_id = p_tx_id;
        UPDATE megamarket.loyalty_customers SET state = 'confirmed', settled_at = now() WHERE tx_id = p_tx_id;
    ELSIF n > 1 THEN
        UPDATE megamarket.loyalty_awards SET state = 'queued', solo = true, tx_id = NULL,
               revert_reason = 'batch reverted: ' || coalesce(p_reason, 'no reason given')
         WHERE tx_id = p_tx_id;
    ELSE
        UPDATE megamarket.loyalty_awards SET state = 'failed', revert_reason = coalesce(p_reason, 'no reason given'),
               settled_at = now() WHERE tx_id = p_tx_id;
        UPDATE megamarket.loyalty_customers SET state = 'failed', revert_reason = coalesce(p_reason, 'no reason given'),
               settled_at = now() WHERE tx_id = p_tx_id;
    END IF;
END
$$;

-- The nonce went to a transaction that is not ours (no attempt of ours was
-- mined and none can be any more): nothing of it reached the chain, so its
-- items go back to the queue for a new nonce.
CREATE FUNCTION megamarket._loyalty_drop(p_tx_id bigint, p_reason text)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
UPDATE megamarket.loyalty_transactions SET state = 'dropped', last_error = p_reason, settled_at = now()
 WHERE tx_id = p_tx_id AND state IN ('signed', 'sent');
UPDATE megamarket.loyalty_awards SET state = 'queued', tx_id = NULL WHERE tx_id = p_tx_id;
UPDATE megamarket.loyalty_customers SET state = 'queued', tx_id = NULL WHERE tx_id = p_tx_id;
$$;

COMMENT ON FUNCTION megamarket._loyalty_lock_nonce(bigint, text) IS 'dispatcher step: the sender''s next nonce, its row locked';
COMMENT ON FUNCTION megamarket._loyalty_sync_nonce(bigint, text, bigint) IS 'dispatcher step: start from the node''s nonce, or move past nonces used elsewhere';
COMMENT ON FUNCTION megamarket._loyalty_signer_error(bigint, text, text) IS 'dispatcher step: record or clear the node''s last failure';
COMMENT ON FUNCTION megamarket._loyalty_claim(integer) IS 'dispatcher step: claim the next queued registration, solo award or batch of awards';
COMMENT ON FUNCTION megamarket._loyalty_signed(text, bigint[], bigint, text, bigint, text, bigint, text, bytea, numeric, numeric) IS 'dispatcher step: record a signed transaction before it is sent';
COMMENT ON FUNCTION megamarket._loyalty_replaced(bigint, text, bytea, numeric, numeric) IS 'dispatcher step: record a fee-bumped replacement (same nonce, same call)';
COMMENT ON FUNCTION megamarket._loyalty_open(bigint, text) IS 'dispatcher step: the unsettled transactions in nonce order with every attempt''s hash';
COMMENT ON FUNCTION megamarket._loyalty_sent(bigint[]) IS 'dispatcher step: the node took these transactions';
COMMENT ON FUNCTION megamarket._loyalty_tx_error(bigint, text) IS 'dispatcher step: the node refused a send';
COMMENT ON FUNCTION megamarket._loyalty_settle(bigint, jsonb, text) IS 'dispatcher step: record a receipt (confirmed, or failed with the reason; a reverted batch is retried award by award)';
COMMENT ON FUNCTION megamarket._loyalty_drop(bigint, text) IS 'dispatcher step: the nonce went to another transaction; queue the items again';
REVOKE ALL ON FUNCTION megamarket._loyalty_lock_nonce(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_sync_nonce(bigint, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_signer_error(bigint, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_claim(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_signed(text, bigint[], bigint, text, bigint, text, bigint, text, bytea, numeric, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_replaced(bigint, text, bytea, numeric, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_open(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_sent(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_tx_error(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_settle(bigint, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION megamarket._loyalty_drop(bigint, text) FROM PUBLIC;
