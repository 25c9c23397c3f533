-- The customers' points page (web/points.html) reads the contract over the
-- node's JSON-RPC, with no server of ours: loyalty_web_config() gives the
-- config.json it reads beside it.
CREATE FUNCTION megamarket.loyalty_web_config(public_rpc_url text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, megamarket, pg_temp
AS $$
DECLARE
    contract text := current_setting('megamarket.loyalty_contract', true);
    url text := coalesce(public_rpc_url, current_setting('megamarket.eth_rpc_url', true));
BEGIN
    IF contract IS NULL OR contract = '' THEN
        RAISE EXCEPTION 'megamarket.loyalty_contract is not set'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Deploy the contract with megamarket.loyalty_deploy() and set megamarket.loyalty_contract to the address it returns.';
    END IF;
    IF url IS NULL OR url !~ '^https?://[^[:space:]]+$' THEN
        RAISE EXCEPTION 'no http(s) JSON-RPC URL for the points page'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the public URL of a node customers may query, or set megamarket.eth_rpc_url.';
    END IF;
    IF current_setting('megamarket.eth_chain_id')::bigint = 0 THEN
        RAISE EXCEPTION 'megamarket.eth_chain_id is not set'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Set it to the chain the contract is on (31337 for a local anvil).';
    END IF;
    RETURN jsonb_build_object('rpcUrl', url,
                              'contract', megamarket.eth_address_checksum(contract),
                              'chainId', current_setting('megamarket.eth_chain_id')::bigint);
END
$$;
COMMENT ON FUNCTION megamarket.loyalty_web_config(text) IS
'the config.json of web/points.html: the contract address, the chain id and a JSON-RPC URL customers'' browsers may use (public_rpc_url, default megamarket.eth_rpc_url)';
REVOKE ALL ON FUNCTION megamarket.loyalty_web_config(text) FROM PUBLIC;
