--
-- The chain module's SQL functions against published vectors: the Keccak
-- team's and Ethereum's hashes, EIP-55's checksum examples, EIP-155's signed
-- example transaction, Solidity's documented revert encoding. Each expected
-- value below is the published one, written into the query: a row says
-- whether the function reproduces it.
--
CREATE EXTENSION megamarket;
SET search_path = megamarket, public;

-- Keccak-256: the empty string (Ethereum's well-known empty hash), "abc",
-- the fox sentence, and the Keccak team's ShortMsgKAT_256 for Len = 8 (0xCC).
SELECT encode(eth_keccak256(''), 'hex') =
       'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470' AS empty_ok,
       encode(eth_keccak256('abc'), 'hex') =
       '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45' AS abc_ok,
       encode(eth_keccak256('The quick brown fox jumps over the lazy dog'), 'hex') =
       '4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15' AS fox_ok,
       encode(eth_keccak256('\xcc'), 'hex') =
       'eead6dbfc7340a56caedc044696a168870549a6a7f6f56961e84a54bd9970b8a' AS kat_cc_ok;

-- the doc example: a selector
SELECT encode(eth_keccak256(convert_to('transfer(address,uint256)', 'UTF8')), 'hex') AS transfer_hash;

-- EIP-55's examples: all caps, all lower, and the mixed-case (checksummed) ones
SELECT a, eth_address_checksum(lower(a)) = a AS checksum_ok, eth_address_is_valid(a, true) AS valid
FROM (VALUES ('0x52908400098527886E0F7030069857D2E4169EE7'),
             ('0x8617E340B3D01FA5F11F306F4090FD50E238070D'),
             ('0xde709f2102306220921060314715629080e2fb77'),
             ('0x27b1fdb04752bbc536007a920d24acb045561c26'),
             ('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'),
             ('0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359'),
             ('0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB'),
             ('0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb')) AS v(a);

-- unchecksummed forms are accepted unless a checksum is required
SELECT eth_address_is_valid('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed') AS lower_ok,
       eth_address_is_valid('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed', true) AS lower_strict,
       eth_address_checksum('0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED') AS from_upper;

-- bad addresses: one letter's case flipped, too short, no prefix, not hex, empty
SELECT eth_address_checksum('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD');  -- ERROR
SELECT eth_address_checksum('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA');  -- ERROR
SELECT eth_address_checksum('5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');  -- ERROR
SELECT eth_address_checksum('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg');  -- ERROR
SELECT eth_address_checksum('');  -- ERROR
SELECT eth_address_is_valid(x) FROM (VALUES (''), ('0x'), ('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD'),
                                            (repeat('f', 100000))) AS v(x);

-- CREATE addresses: the widely cited example (sender 0x6ac7...dbf0)
SELECT lower(eth_contract_address('0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0', 0)) =
       '0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d' AS nonce0_ok,
       lower(eth_contract_address('0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0', 1)) =
       '0x343c43a37d37dff08ae8c4a11544c718abb4fcf8' AS nonce1_ok;
SELECT eth_contract_address('0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0', -1);  -- ERROR

-- selectors from the ERC-20 standard
SELECT encode(eth_function_selector('transfer(address,uint256)'), 'hex') = 'a9059cbb' AS transfer_ok,
       encode(eth_function_selector('balanceOf(address)'), 'hex') = '70a08231' AS balance_of_ok,
       encode(eth_function_selector('Error(string)'), 'hex') = '08c379a0' AS error_ok;
SELECT eth_function_selector('transfer(address to, uint256 amount)');  -- ERROR
SELECT eth_function_selector('transfer');  -- ERROR

-- Solidity docs ("Error handling"): revert data of require(..., "Not enough Ether provided.")
SELECT eth_revert_reason(decode(
  '08c379a0'
  '0000000000000000000000000000000000000000000000000000000000000020'
  '000000000000000000000000000000000000000000000000000000000000001a'
  '4e6f7420656e6f7567682045746865722070726f76696465642e000000000000', 'hex'));
-- Panic(0x11), empty data, a custom error, truncated Error(string)
SELECT eth_revert_reason(decode('4e487b71' || lpad('11', 64, '0'), 'hex')) AS panic,
       eth_revert_reason('') AS empty,
       eth_revert_reason('\xdeadbeef') AS custom,
       eth_revert_reason(decode('08c379a0' || lpad('20', 64, '0') || lpad('ff', 64, '0'), 'hex')) AS truncated;
-- a reason with a control character and invalid UTF-8 comes out escaped
SELECT eth_revert_reason(decode('08c379a0' || lpad('20', 64, '0') || lpad('04', 64, '0') ||
                                rpad('41' || '0a' || 'ff' || '42', 64, '0'), 'hex'));

-- EIP-155's example: nonce 9, gas price 20 gwei, gas 21000, to 0x3535...35,
-- value 1 ether, chain id 1, signed with key 0x4646...46.
SELECT type, chain_id, nonce, "from", "to", value, gas_limit, gas_price, max_fee_per_gas,
       encode(data, 'hex') AS data,
       hash = eth_keccak256(raw) AS hash_ok,
       "from" = '0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F' AS from_ok
FROM (SELECT '\xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83'::bytea AS raw) r,
     LATERAL eth_decode_transaction(raw);

-- hostile raw bytes: empty, truncated, trailing byte, pre-EIP-155 v, a type 1, garbage
SELECT eth_decode_transaction('');  -- ERROR
SELECT eth_decode_transaction('\xf86c0985');  -- ERROR
SELECT eth_decode_transaction('\xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d8300');  -- ERROR
SELECT eth_decode_transaction('\x01c0');  -- ERROR
SELECT eth_decode_transaction('\x02c0');  -- ERROR
SELECT eth_decode_transaction('\xff');  -- ERROR

-- mutations of a valid transaction (ethers.js made it: test/chain/gen_cases.mjs)
-- with one byte changed, cut short, or extended: each decodes or fails with
-- 22P03, never another error or a crash
SELECT setseed(0.20261201);
SELECT "from" IS NOT NULL AS decodes FROM megamarket.eth_decode_transaction('\x02f8718401c7901c0184cd733c50856c6414c1918401c9c38094ad29061a2d5e552dd008def2039e441d72f3f5523c80c080a02aae4049c4999b68d71004a5413c1c879b06ec348d90046054a09ca9fe335ad6a04089719ae5496a5dc649678070e084f2dce2d9747ea499ed7b5c4ae05e29db63');
DO $$
DECLARE
  raw bytea := '\x02f8718401c7901c0184cd733c50856c6414c1918401c9c38094ad29061a2d5e552dd008def2039e441d72f3f5523c80c080a02aae4049c4999b68d71004a5413c1c879b06ec348d90046054a09ca9fe335ad6a04089719ae5496a5dc649678070e084f2dce2d9747ea499ed7b5c4ae05e29db63'::bytea;
  m bytea;
  decoded int := 0;
  refused int := 0;
  other int := 0;
BEGIN
  FOR i IN 1..3000 LOOP
    m := raw;
    CASE i % 3
      WHEN 0 THEN m := set_byte(m, (random() * (length(m) - 1))::int, (random() * 255)::int);
      WHEN 1 THEN m := substr(m, 1, (random() * length(m))::int);
      ELSE m := m || decode(lpad(to_hex((random() * 255)::int), 2, '0'), 'hex');
    END CASE;
    BEGIN
      PERFORM megamarket.eth_decode_transaction(m);
      decoded := decoded + 1;
    EXCEPTION
      WHEN invalid_binary_representation THEN refused := refused + 1;
      WHEN OTHERS THEN other := other + 1;
    END;
  END LOOP;
  RAISE NOTICE 'mutations: %, other errors: %', decoded + refused + other, other;
END
$$;

-- eth_rpc is not for PUBLIC; its argument checks come before any network use
SELECT has_function_privilege('public', 'megamarket.eth_rpc(text,text,jsonb,integer)', 'EXECUTE') AS public_may_rpc,
       has_function_privilege('public', 'megamarket.eth_keccak256(bytea)', 'EXECUTE') AS public_may_hash;
SELECT eth_rpc('ftp://127.0.0.1:1/', 'eth_chainId');  -- ERROR
SELECT eth_rpc('http://127.0.0.1:1/', 'eth_chainId', '{}');  -- ERROR
SELECT eth_rpc('http://127.0.0.1:1/', 'eth_chainId', '[]', 0);  -- ERROR
SELECT eth_rpc('http://127.0.0.1:1/', 'eth_chain"Id');  -- ERROR
-- nothing listens on port 1: could not connect (08001); the message shows
-- the node without user info or path (providers put API keys there).
-- libcurl's text is the detail (its timing varies: see test/t/029_chain.pl)
\set VERBOSITY sqlstate
SELECT eth_rpc('http://user:secret@127.0.0.1:1/v3/apikey', 'eth_chainId');  -- ERROR
\set VERBOSITY terse
SELECT eth_rpc('http://user:secret@127.0.0.1:1/v3/apikey', 'eth_chainId');  -- ERROR
\set VERBOSITY default

DROP EXTENSION megamarket;

-- The examples of docs/chain.md, as written there
CREATE EXTENSION megamarket;
SELECT encode(megamarket.eth_keccak256(''), 'hex');
SELECT megamarket.eth_address_checksum('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed');
SELECT megamarket.eth_address_is_valid('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD');
SELECT megamarket.eth_contract_address('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 0);
SELECT encode(megamarket.eth_function_selector('awardPoints(address,uint256)'), 'hex');
SELECT megamarket.eth_revert_reason(decode('08c379a0'
    '0000000000000000000000000000000000000000000000000000000000000020'
    '0000000000000000000000000000000000000000000000000000000000000015'
    '436c69656e7465206e6f207265676973747261646f0000000000000000000000', 'hex'));
SELECT "from", nonce, "to", value, gas_price, encode(hash, 'hex') AS hash
FROM megamarket.eth_decode_transaction('\xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83');
DROP EXTENSION megamarket;
