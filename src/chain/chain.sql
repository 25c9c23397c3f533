-- The chain module: Ethereum primitives usable from SQL (src/chain/). None
-- of these takes or returns a private key; signing belongs to the loyalty
-- dispatcher, which reads the key file itself.

CREATE FUNCTION megamarket.eth_keccak256(data bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'chain_eth_keccak256'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION megamarket.eth_keccak256(bytea) IS
'Keccak-256 of data, as Ethereum uses it (not SHA3-256)';

CREATE FUNCTION megamarket.eth_address_checksum(address text)
RETURNS text
AS 'MODULE_PATHNAME', 'chain_eth_address_checksum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION megamarket.eth_address_checksum(text) IS
'the EIP-55 checksummed form of an Ethereum address; a mixed-case input must carry a correct checksum';

CREATE FUNCTION megamarket.eth_address_is_valid(address text, require_checksum boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'chain_eth_address_is_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION megamarket.eth_address_is_valid(text, boolean) IS
'whether text is an Ethereum address (mixed case: with a correct EIP-55 checksum; require_checksum: checksummed only)';

CREATE FUNCTION megamarket.eth_contract_address(sender text, nonce bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'chain_eth_contract_address'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION megamarket.eth_contract_address(text, bigint) IS
'the address of the contract that sender deploys with the given nonce (CREATE)';

CREATE FUNCTION megamarket.eth_function_selector(signature text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'chain_eth_function_selector'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION megamarket.eth_function_selector(text) IS
'the 4-byte ABI selector of a canonical function signature such as ''transfer(address,uint256)''';

CREATE FUNCTION megamarket.eth_revert_reason(data bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'chain_eth_revert_reason'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION megamarket.eth_revert_reason(bytea) IS
'the readable reason in a revert''s return data: Error(string), Panic(uint256) or a custom error''s selector';

CREATE FUNCTION megamarket.eth_decode_transaction(raw bytea,
    OUT type integer, OUT chain_id bigint, OUT nonce bigint, OUT "from" text, OUT "to" text,
    OUT value numeric, OUT gas_limit bigint, OUT gas_price numeric, OUT max_fee_per_gas numeric,
    OUT max_priority_fee_per_gas numeric, OUT data bytea, OUT hash bytea)
RETURNS record
AS 'MODULE_PATHNAME', 'chain_eth_decode_transaction'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION megamarket.eth_decode_transaction(bytea) IS
'the fields, hash and recovered sender of a signed legacy (EIP-155) or type-2 (EIP-1559) transaction';

CREATE FUNCTION megamarket.eth_rpc(url text, method text, params jsonb DEFAULT '[]',
    timeout_ms integer DEFAULT 30000)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'chain_eth_rpc'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION megamarket.eth_rpc(text, text, jsonb, integer) IS
'one JSON-RPC call to the Ethereum node at url; the result as jsonb (not for PUBLIC: the server sends requests where it is told)';

-- The server sending HTTP requests to an arbitrary URL is for trusted roles.
REVOKE ALL ON FUNCTION megamarket.eth_rpc(text, text, jsonb, integer) FROM PUBLIC;
