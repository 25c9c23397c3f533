--
-- loyalty: the SQL API that only records (no node here: the TAP tests
-- 021/022 run the dispatcher against anvil). The examples of docs/loyalty.md.
--
CREATE EXTENSION IF NOT EXISTS megamarket;
SET client_min_messages = warning;

INSERT INTO megamarket.customers (code, name) VALUES ('L1', 'Ana'), ('L2', 'Luis'), ('L3', 'Eva');

-- register: the address is stored in its EIP-55 form, whatever case it came in
SELECT megamarket.loyalty_register(customer_id, '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed')
  FROM megamarket.customers WHERE code = 'L1';
SELECT megamarket.loyalty_register(customer_id, '0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359')
  FROM megamarket.customers WHERE code = 'L2';
SELECT c.code, l.address, l.state, m.wallet_address
  FROM megamarket.loyalty_customers l JOIN megamarket.customers c USING (customer_id)
  JOIN megamarket.customers m USING (customer_id) ORDER BY 1;

-- award: 10 points per whole unit, cents dropped; under one unit: no award
SELECT megamarket.loyalty_award(customer_id, 23.75) IS NOT NULL AS queued FROM megamarket.customers WHERE code = 'L1';
SELECT megamarket.loyalty_award(customer_id, 100) IS NOT NULL AS queued FROM megamarket.customers WHERE code = 'L1';
SELECT megamarket.loyalty_award(customer_id, 0.99) AS none FROM megamarket.customers WHERE code = 'L2';
SELECT megamarket.loyalty_award(customer_id, 1000000000000.99) IS NOT NULL AS largest FROM megamarket.customers WHERE code = 'L2';
SELECT purchase_amount, units, points, state, nonce, tx_hash
  FROM megamarket.loyalty_award_status ORDER BY award_id;
SELECT customer_id > 0 AS ok, registration, confirmed_points, pending_points, failed_awards
  FROM megamarket.loyalty_ledger ORDER BY address;

-- bad input: clear errors, nothing recorded
\set VERBOSITY default
SELECT megamarket.loyalty_award(customer_id, -1) FROM megamarket.customers WHERE code = 'L1';
SELECT megamarket.loyalty_award(customer_id, 'NaN') FROM megamarket.customers WHERE code = 'L1';
SELECT megamarket.loyalty_award(customer_id, 1000000000001) FROM megamarket.customers WHERE code = 'L1';
SELECT megamarket.loyalty_award(customer_id, 5) FROM megamarket.customers WHERE code = 'L3';
SELECT megamarket.loyalty_award(NULL, 5);
SELECT megamarket.loyalty_register(customer_id, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD') FROM megamarket.customers WHERE code = 'L3';
SELECT megamarket.loyalty_register(customer_id, '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae') FROM megamarket.customers WHERE code = 'L3';
SELECT megamarket.loyalty_register(customer_id, '') FROM megamarket.customers WHERE code = 'L3';
SELECT megamarket.loyalty_register(customer_id, repeat('0x', 100000)) FROM megamarket.customers WHERE code = 'L3';
SELECT megamarket.loyalty_register(customer_id, '0x0000000000000000000000000000000000000000') FROM megamarket.customers WHERE code = 'L3';
SELECT megamarket.loyalty_register(customer_id, '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359') FROM megamarket.customers WHERE code = 'L3';
SELECT megamarket.loyalty_register(customer_id, '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB') FROM megamarket.customers WHERE code = 'L1';
SELECT megamarket.loyalty_register(-1, '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB');
SELECT count(*) AS customers, (SELECT count(*) FROM megamarket.loyalty_awards) AS awards FROM megamarket.loyalty_customers;

-- a rolled-back award leaves nothing
BEGIN;
SELECT megamarket.loyalty_award(customer_id, 50) IS NOT NULL AS queued FROM megamarket.customers WHERE code = 'L2';
ROLLBACK;
SELECT count(*) AS awards FROM megamarket.loyalty_awards;

-- the node-facing functions need their settings (none here)
SELECT megamarket.loyalty_balance(1);
SELECT megamarket.loyalty_deploy();
CALL megamarket.loyalty_dispatch();
BEGIN;
CALL megamarket.loyalty_dispatch();
ROLLBACK;
SET megamarket.loyalty_contract = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD';
SET megamarket.eth_chain_id = 1;
SET megamarket.eth_rpc_url = 'ftp://example.com';

-- privileges: nothing for PUBLIC; the documented grant for a till role
CREATE ROLE regress_till;
SET ROLE regress_till;
SELECT megamarket.loyalty_award(1, 10);
SELECT megamarket.loyalty_balance(1);
SELECT count(*) FROM megamarket.loyalty_awards;
SHOW megamarket.signer_key_file;
RESET ROLE;
GRANT EXECUTE ON FUNCTION megamarket.loyalty_award(integer, numeric) TO regress_till;
SET ROLE regress_till;
SELECT megamarket.loyalty_award(customer_id, 10) IS NOT NULL AS queued FROM (SELECT 1 AS customer_id) x
  WHERE false;  -- the till sees no customers table: ids come from the till
RESET ROLE;
SELECT customer_id AS l2 FROM megamarket.customers WHERE code = 'L2' \gset
SET ROLE regress_till;
SELECT megamarket.loyalty_award(:l2, 10) IS NOT NULL AS queued;
RESET ROLE;
SELECT count(*) AS awards FROM megamarket.loyalty_awards;
REVOKE EXECUTE ON FUNCTION megamarket.loyalty_award(integer, numeric) FROM regress_till;
DROP ROLE regress_till;

-- which functions PUBLIC may run (none of the loyalty ones)
SELECT p.oid::regprocedure AS callable_by_public
  FROM pg_proc p
 WHERE p.pronamespace = 'megamarket'::regnamespace AND p.proname ~ 'loyalty'
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;

DELETE FROM megamarket.loyalty_awards;
DELETE FROM megamarket.loyalty_customers;
UPDATE megamarket.customers SET wallet_address = NULL;
DELETE FROM megamarket.customers WHERE code IN ('L1', 'L2', 'L3');
