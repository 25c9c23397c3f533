/*
 * test_vectors.c
 *		The chain library against published vectors: Keccak-256 (Ethereum's
 *		empty hash, the Keccak team's ShortMsgKAT_256), ethereum/tests
 *		rlptest.json and invalidRLPTest.json, EIP-155's signing example,
 *		EIP-55's checksum examples, well-known key -> address pairs, the
 *		Solidity ABI spec's examples; plus unit tests of the parts with no
 *		published vector (uint256, the JSON-RPC decoder, hostile input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "testutil.h"

static ChainEnv env;

/* ---- Keccak ---- */

static void
test_keccak(void)
{
	static const struct
	{
		const char *msg_hex;
		const char *hash;
	}			v[] = {
		/* Ethereum's empty hash; ShortMsgKAT_256 Len = 0 */
		{"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
		/* ShortMsgKAT_256 Len = 8 */
		{"cc", "eead6dbfc7340a56caedc044696a168870549a6a7f6f56961e84a54bd9970b8a"},
		/* ShortMsgKAT_256 Len = 16 */
		{"41fb", "a8eaceda4d47b3281a795ad9e1ea2122b407baf9aabcb9e18b5717b7873537d2"},
		/* "abc" */
		{"616263", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
		/* "The quick brown fox jumps over the lazy dog" */
		{"54686520717569636b2062726f776e20666f78206a756d7073206f76657220746865206c617a7920646f67",
		"4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"},
		/* "transfer(address,uint256)": the ERC-20 selector a9059cbb */
		{"7472616e7366657228616464726573732c75696e7432353629",
		"a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b"},
	};
	uint8_t		h[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
	{
		size_t		n;
		uint8_t    *m = t_unhex(v[i].msg_hex, &n);
		char		what[64];

		ChainKeccak256(m, n, h);
		snprintf(what, sizeof(what), "keccak256 vector %zu", i);
		t_hex(h, 32, v[i].hash, what);
		free(m);
	}

	/* streaming in odd pieces equals one shot, across block boundaries */
	{
		uint8_t		buf[1000];
		uint8_t		one[32],
					pieces[32];

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t) (i * 7 + 3);
		for (size_t len = 0; len <= sizeof(buf); len += 67)
		{
			ChainKeccak k;
			size_t		pos = 0,
						step = 1;

			ChainKeccak256(buf, len, one);
			ChainKeccakInit(&k);
			while (pos < len)
			{
				size_t		n = step < len - pos ? step : len - pos;

				ChainKeccakUpdate(&k, buf + pos, n);
				pos += n;
				step = step * 3 % 157 + 1;
			}
			ChainKeccakFinal(&k, pieces);
			t_ok(memcmp(one, pieces, 32) == 0, "keccak streaming of %zu bytes", len);
		}
	}
}

/* ---- RLP ---- */

/* A tiny RLP test structure: string or list of children. */
typedef struct R
{
	const char *s;				/* string (NULL: list) */
	size_t		slen;
	const struct R *kids[12];
} R;

static void
encode_r(ChainBuf *b, const R *r)
{
	if (r->s)
		ChainRlpPutBytes(b, (const uint8_t *) r->s, r->slen);
	else
	{
		size_t		m = ChainRlpBeginList(b);

		for (int i = 0; i < 12 && r->kids[i]; i++)
			encode_r(b, r->kids[i]);
		ChainRlpEndList(b, m);
	}
}

/* Decode and re-encode recursively: the decoder's view must round-trip. */
static bool
reencode(ChainBuf *out, const uint8_t *in, size_t len, size_t *used, int depth)
{
	ChainRlpItem it;
	ChainError	err;

	if (depth > 100 || !ChainRlpDecode(in, len, &it, used, &err))
		return false;
	if (!it.is_list)
		ChainRlpPutBytes(out, it.data, it.len);
	else
	{
		size_t		m = ChainRlpBeginList(out);
		size_t		pos = 0;

		while (pos < it.len)
		{
			size_t		u;

			if (!reencode(out, it.data + pos, it.len - pos, &u, depth + 1))
				return false;
			pos += u;
		}
		ChainRlpEndList(out, m);
	}
	return true;
}

static void
check_rlp(const R *r, const char *want, const char *name)
{
	ChainBuf	b,
				b2;
	size_t		used;

	ChainBufInit(&b, &env);
	ChainBufInit(&b2, &env);
	encode_r(&b, r);
	t_hex(b.data, b.len, want, name);
	if (t_ok(reencode(&b2, b.data, b.len, &used, 0), "rlp decode %s", name))
		t_ok(used == b.len && b2.len == b.len && memcmp(b.data, b2.data, b.len) == 0,
			 "rlp round trip %s", name);
	ChainBufFree(&b);
	ChainBufFree(&b2);
}

#define STR(x) {x, sizeof(x) - 1, {0}}

static void
test_rlp(void)
{
	/* ethereum/tests RLPTests/rlptest.json */
	static const R empty = STR("");
	static const R b00 = {"\0", 1, {0}};
	static const R b01 = STR("\x01");
	static const R b7f = STR("\x7f");
	static const R dog = STR("dog");
	static const R god = STR("god");
	static const R cat = STR("cat");
	static const R lorem55 = STR("Lorem ipsum dolor sit amet, consectetur adipisicing eli");
	static const R lorem56 = STR("Lorem ipsum dolor sit amet, consectetur adipisicing elit");
	static const R emptylist = {NULL, 0, {0}};
	static const R stringlist = {NULL, 0, {&dog, &god, &cat}};
	static const R zw = STR("zw");
	static const R four = STR("\x04");
	static const R one = STR("\x01");
	static const R l4 = {NULL, 0, {&four}};
	static const R multilist = {NULL, 0, {&zw, &l4, &one}};
	static const R asdf = STR("asdf"), qwer = STR("qwer"), zxcv = STR("zxcv");
	static const R shortmax = {NULL, 0, {&asdf, &qwer, &zxcv, &asdf, &qwer, &zxcv, &asdf, &qwer, &zxcv, &asdf, &qwer}};
	static const R ll_a = {NULL, 0, {&emptylist, &emptylist}};
	static const R listsoflists = {NULL, 0, {&ll_a, &emptylist}};
	static const R l_e = {NULL, 0, {&emptylist}};
	static const R l_e_le = {NULL, 0, {&emptylist, &l_e}};
	static const R listsoflists2 = {NULL, 0, {&emptylist, &l_e, &l_e_le}};
	static const R k1 = STR("key1"), v1 = STR("val1"), k2 = STR("key2"), v2 = STR("val2");
	static const R k3 = STR("key3"), v3 = STR("val3"), k4 = STR("key4"), v4 = STR("val4");
	static const R p1 = {NULL, 0, {&k1, &v1}}, p2 = {NULL, 0, {&k2, &v2}};
	static const R p3 = {NULL, 0, {&k3, &v3}}, p4 = {NULL, 0, {&k4, &v4}};
	static const R dict = {NULL, 0, {&p1, &p2, &p3, &p4}};

	check_rlp(&empty, "80", "emptystring");
	check_rlp(&b00, "00", "bytestring00");
	check_rlp(&b01, "01", "bytestring01");
	check_rlp(&b7f, "7f", "bytestring7F");
	check_rlp(&dog, "83646f67", "shortstring");
	check_rlp(&lorem55, "b74c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c69", "shortstring2");
	check_rlp(&lorem56, "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c6974", "longstring");
	check_rlp(&emptylist, "c0", "emptylist");
	check_rlp(&stringlist, "cc83646f6783676f6483636174", "stringlist");
	check_rlp(&multilist, "c6827a77c10401", "multilist");
	check_rlp(&shortmax, "f784617364668471776572847a78637684617364668471776572847a78637684617364668471776572847a78637684617364668471776572", "shortListMax1");
	check_rlp(&listsoflists, "c4c2c0c0c0", "listsoflists");
	check_rlp(&listsoflists2, "c7c0c1c0c3c0c1c0", "listsoflists2");
	check_rlp(&dict, "ecca846b6579318476616c31ca846b6579328476616c32ca846b6579338476616c33ca846b6579348476616c34", "dictTest1");

	/* integers: rlptest.json's zero, smallint*, mediumint* */
	{
		static const struct
		{
			const char *dec;
			const char *want;
		}			iv[] = {
			{"0", "80"}, {"1", "01"}, {"16", "10"}, {"79", "4f"}, {"127", "7f"},
			{"128", "8180"}, {"1000", "8203e8"}, {"100000", "830186a0"},
			{"83729609699884896815286331701780722", "8f102030405060708090a0b0c0d0e0f2"},
			{"105315505618206987246253880190783558935785933862974822347068935681",
			"9c0100020003000400050006000700080009000a000b000c000d000e01"},
		};

		for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++)
		{
			ChainU256	v;
			ChainError	err;
			ChainBuf	b;
			ChainRlpItem it;
			size_t		used;
			ChainU256	back;

			ChainBufInit(&b, &env);
			t_ok(ChainU256Parse(iv[i].dec, strlen(iv[i].dec), &v, "int", &err), "parse %s", iv[i].dec);
			ChainRlpPutU256(&b, &v);
			t_hex(b.data, b.len, iv[i].want, iv[i].dec);
			t_ok(ChainRlpDecode(b.data, b.len, &it, &used, &err) && ChainRlpToU256(&it, &back, &err) &&
				 ChainU256Cmp(&v, &back) == 0, "rlp int round trip %s", iv[i].dec);
			ChainBufFree(&b);
		}
	}

	/* ethereum/tests RLPTests/invalidRLPTest.json (and a few of ours) */
	{
		static const char *bad[] = {
			"",					/* emptyEncoding */
			"8100",				/* bytesShouldBeSingleByte00 */
			"8101",				/* bytesShouldBeSingleByte01 */
			"817f",				/* bytesShouldBeSingleByte7F */
			"81",				/* lessThanShortLengthArray1 */
			"8201",				/* lessThanShortLengthArray2 */
			"b90040",			/* leadingZerosInLongLengthArray (and short) */
			"b800",				/* leadingZerosInLongLengthArray2 */
			"b81000112233445566778899aabbccddeeff",	/* nonOptimalLongLengthArray1 */
			"f80180",			/* wrongSizeList / nonOptimalLongLengthList */
			"fb00000040",		/* leadingZerosInLongLengthList1 */
			"bf0f000000000000021111",	/* int32Overflow */
			"ff0f000000000000021111",	/* int32Overflow2 */
			"bfffffffffffffffff", /* length 2^64-1 */
			"c3",				/* list runs past the end */
			"c28300",			/* child runs past its list */
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			size_t		n;
			uint8_t    *m = t_unhex(bad[i], &n);
			ChainBuf	b;
			size_t		used;

			ChainBufInit(&b, &env);
			t_ok(!reencode(&b, m, n, &used, 0), "invalid RLP %s accepted", bad[i]);
			ChainBufFree(&b);
			free(m);
		}
	}

	/* integers: a leading zero byte, 33 bytes */
	{
		ChainRlpItem it = {false, (const uint8_t *) "\x00\x01", 2};
		ChainU256	v;
		ChainError	err;
		uint8_t		big[33] = {1};

		t_ok(!ChainRlpToU256(&it, &v, &err), "rlp integer with leading zero accepted");
		it.data = big;
		it.len = 33;
		t_ok(!ChainRlpToU256(&it, &v, &err), "rlp 33-byte integer accepted");
	}
}

/* ---- keys, addresses, EIP-55 ---- */

static void
test_keys(void)
{
	static const struct
	{
		const char *key;
		const char *addr;
	}			v[] = {
		/* private key 1: the generator point's address */
		{"0000000000000000000000000000000000000000000000000000000000000001",
		"0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"},
		{"0000000000000000000000000000000000000000000000000000000000000002",
		"0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"},
		/* EIP-155's example key */
		{"4646464646464646464646464646464646464646464646464646464646464646",
		"0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"},
		/* anvil / hardhat dev account 0 (published in their docs and output) */
		{"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
		"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},
		{"59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n",
		"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
	{
		uint8_t		key[32],
					addr[20];
		char		txt[CHAIN_ADDRESS_TEXT_LEN];
		ChainError	err;

		if (!t_ok(ChainKeyParse(v[i].key, strlen(v[i].key), key, &err), "key %zu: %s", i, err.message))
			continue;
		t_ok(ChainKeyAddress(key, addr, &err), "address of key %zu", i);
		ChainAddressToText(addr, txt);
		t_ok(strcmp(txt, v[i].addr) == 0, "address of key %zu: got %s want %s", i, txt, v[i].addr);
		ChainWipe(key, sizeof(key));
	}

	/* bad keys: zero, the group order n, n + 1, all ff, short, long, not hex */
	{
		static const char *bad[] = {
			"0000000000000000000000000000000000000000000000000000000000000000",
			"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
			"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142",
			"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			"abcdef",
			"4646464646464646464646464646464646464646464646464646464646464646ab",
			"46464646464646464646464646464646464646464646464646464646464646zz",
			"",
			"0x",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			uint8_t		key[32];
			ChainError	err;
			bool		zero = true;

			t_ok(!ChainKeyParse(bad[i], strlen(bad[i]), key, &err), "bad key %zu accepted", i);
			t_ok(err.code == CHAIN_ERR_KEY, "bad key %zu: code %d", i, err.code);
			/* the message never shows the key (nor 6+ of its digits) */
			if (strlen(bad[i]) >= 6)
				t_ok(strstr(err.message, bad[i] + strlen(bad[i]) - 6) == NULL &&
					 strstr(err.detail, bad[i] + strlen(bad[i]) - 6) == NULL,
					 "bad key %zu shows in its message: %s", i, err.message);
			for (int j = 0; j < 32; j++)
				zero &= key[j] == 0;
			t_ok(zero, "bad key %zu left bytes in the key buffer", i);
		}
	}

	/* EIP-55's examples */
	{
		static const char *eip55[] = {
			"0x52908400098527886E0F7030069857D2E4169EE7",
			"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
			"0xde709f2102306220921060314715629080e2fb77",
			"0x27b1fdb04752bbc536007a920d24acb045561c26",
			"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
			"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
			"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
			"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
		};

		for (size_t i = 0; i < sizeof(eip55) / sizeof(eip55[0]); i++)
		{
			uint8_t		a[20];
			char		txt[CHAIN_ADDRESS_TEXT_LEN];
			ChainError	err;

			t_ok(ChainAddressParse(eip55[i], 42, a, true, &err), "EIP-55 %s: %s", eip55[i], err.message);
			t_ok(strcmp(ChainAddressToText(a, txt), eip55[i]) == 0, "EIP-55 %s: got %s", eip55[i], txt);
		}
	}
	/* every single-letter case flip of a checksummed address is caught */
	{
		const char *good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
		int			caught = 0,
					letters = 0;

		for (int i = 2; i < 42; i++)
		{
			char		t[43];
			uint8_t		a[20];
			ChainError	err;

			memcpy(t, good, 43);
			if (t[i] >= 'a' && t[i] <= 'f')
				t[i] = (char) (t[i] - 32);
			else if (t[i] >= 'A' && t[i] <= 'F')
				t[i] = (char) (t[i] + 32);
			else
				continue;
			letters++;
			if (!ChainAddressParse(t, 42, a, false, &err) && err.code == CHAIN_ERR_ADDRESS)
				caught++;
		}
		t_ok(caught == letters, "case flips caught: %d of %d", caught, letters);
	}
	/* CREATE addresses (the widely cited 0x6ac7...dbf0 example) */
	{
		uint8_t		s[20],
					a[20];
		ChainError	err;

		ChainAddressParse("0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0", 42, s, false, &err);
		ChainContractAddress(s, 0, a);
		t_hex(a, 20, "cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d", "CREATE nonce 0");
		ChainContractAddress(s, 1, a);
		t_hex(a, 20, "343c43a37d37dff08ae8c4a11544c718abb4fcf8", "CREATE nonce 1");
		ChainContractAddress(s, 2, a);
		t_hex(a, 20, "f778b86fa74e846c4f0a1fbd1335fe81c00a0c91", "CREATE nonce 2");
		ChainContractAddress(s, 3, a);
		t_hex(a, 20, "fffd933a0bc612844eaf0c6fe3e5b8e9b6c1d19c", "CREATE nonce 3");
	}
}

/* ---- transactions ---- */

static void
test_tx(void)
{
	/* EIP-155's example */
	ChainTx		tx;
	ChainSignedTx stx;
	ChainError	err;
	uint8_t		key[32],
				h[32],
				from[20];
	ChainTx		back;
	ChainSignedTx sig;
	const char *raw155 = "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";

	memset(&tx, 0, sizeof(tx));
	tx.type = CHAIN_TX_LEGACY;
	tx.chain_id = 1;
	tx.nonce = 9;
	ChainU256FromU64(&tx.gas_price, 20000000000ULL);
	tx.gas_limit = 21000;
	tx.has_to = true;
	memset(tx.to, 0x35, 20);
	ChainU256FromU64(&tx.value, 1000000000000000000ULL);
	memset(key, 0x46, 32);

	t_ok(ChainTxSigningHash(&env, &tx, h, &err), "EIP-155 signing hash");
	t_hex(h, 32, "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53", "EIP-155 signing hash");
	if (t_ok(ChainSignTx(&env, &tx, key, &stx, &err), "EIP-155 sign: %s", err.message))
	{
		t_hex(stx.raw, stx.raw_len, raw155, "EIP-155 signed transaction");
		t_ok(stx.v == 37, "EIP-155 v = %llu", (unsigned long long) stx.v);
		t_hex(stx.r, 32, "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276", "EIP-155 r");
		t_hex(stx.s, 32, "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83", "EIP-155 s");
		ChainKeccak256(stx.raw, stx.raw_len, h);
		t_ok(memcmp(h, stx.hash, 32) == 0, "tx hash is keccak(raw)");
		if (t_ok(ChainTxDecode(stx.raw, stx.raw_len, &back, &sig, from, &err), "decode: %s", err.message))
		{
			t_hex(from, 20, "9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f", "EIP-155 sender");
			t_ok(back.nonce == 9 && back.chain_id == 1 && back.gas_limit == 21000 &&
				 ChainU256Cmp(&back.value, &tx.value) == 0 && back.data_len == 0, "decoded fields");
		}
		ChainSignedTxFree(&env, &stx);
	}

	/* argument checks */
	tx.chain_id = 0;
	t_ok(!ChainSignTx(&env, &tx, key, &stx, &err) && err.code == CHAIN_ERR_ARGUMENT && stx.raw == NULL,
		 "chain id 0 refused");
	tx.chain_id = 1;
	tx.type = CHAIN_TX_EIP1559;
	ChainU256FromU64(&tx.max_fee_per_gas, 1);
	ChainU256FromU64(&tx.max_priority_fee_per_gas, 2);
	t_ok(!ChainSignTx(&env, &tx, key, &stx, &err) && err.code == CHAIN_ERR_ARGUMENT,
		 "priority fee above max fee refused");
	ChainU256FromU64(&tx.max_priority_fee_per_gas, 1);
	{
		uint8_t		zero[32] = {0};

		t_ok(!ChainSignTx(&env, &tx, zero, &stx, &err) && err.code == CHAIN_ERR_KEY,
			 "zero key refused");
	}
	/* a contract creation (no to) signs and decodes with has_to false */
	tx.has_to = false;
	tx.data = (const uint8_t *) "\x60\x00";
	tx.data_len = 2;
	if (t_ok(ChainSignTx(&env, &tx, key, &stx, &err), "creation tx: %s", err.message))
	{
		t_ok(stx.raw[0] == 0x02, "type 2 prefix");
		t_ok(ChainTxDecode(stx.raw, stx.raw_len, &back, &sig, from, &err) && !back.has_to &&
			 back.data_len == 2 && back.type == CHAIN_TX_EIP1559,
			 "creation tx decodes: %s", err.message);
		t_hex(from, 20, "9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f", "type 2 sender");
		/* flip each byte: the decoder refuses or recovers another sender, never crashes */
		for (size_t i = 0; i < stx.raw_len; i++)
		{
			uint8_t		f[20];

			stx.raw[i] ^= 0x01;
			if (ChainTxDecode(stx.raw, stx.raw_len, &back, &sig, f, &err))
				t_ok(memcmp(f, from, 20) != 0 || i == 0, "byte %zu flipped, same sender", i);
			stx.raw[i] ^= 0x01;
		}
		ChainSignedTxFree(&env, &stx);
	}
	ChainWipe(key, sizeof(key));
}

/* ---- uint256, ABI, revert ---- */

static void
test_abi(void)
{
	ChainU256	v,
				w;
	ChainError	err;
	char		dec[CHAIN_U256_DEC_LEN],
				q[67];
	const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
	ChainBuf	b;
	uint8_t		addr[20];

	t_ok(ChainU256Parse(max, strlen(max), &v, "max", &err), "parse 2^256-1");
	t_ok(strcmp(ChainU256ToDecimal(&v, dec), max) == 0, "print 2^256-1: %s", dec);
	t_ok(strcmp(ChainU256ToQuantity(&v, q), "0x" "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff") == 0, "quantity max");
	t_ok(!ChainU256Parse("115792089237316195423570985008687907853269984665640564039457584007913129639936", 78, &v, "x", &err),
		 "2^256 refused");
	t_ok(!ChainU256Parse("-1", 2, &v, "x", &err) && !ChainU256Parse("", 0, &v, "x", &err) &&
		 !ChainU256Parse("0x", 2, &v, "x", &err) && !ChainU256Parse("1.5", 3, &v, "x", &err) &&
		 !ChainU256Parse("0x1g", 4, &v, "x", &err), "bad numbers refused");
	t_ok(ChainU256Parse("0x00000000000000000000000000000000000000000000000000000000000000000000001a", 74, &v, "x", &err) &&
		 ChainU256ToU64(&v, &(uint64_t){0}), "hex with many leading zeros");
	t_ok(ChainU256Parse("0", 1, &v, "x", &err) && strcmp(ChainU256ToQuantity(&v, q), "0x0") == 0 &&
		 strcmp(ChainU256ToDecimal(&v, dec), "0") == 0, "zero");
	{
		uint64_t	u;

		t_ok(ChainParseQuantityU64("0x7a69", 6, &u, "chain id", &err) && u == 31337, "quantity 0x7a69");
		t_ok(!ChainParseQuantityU64("0x10000000000000000", 19, &u, "x", &err), "quantity over 64 bits");
		t_ok(!ChainParseQuantityU64("7a69", 4, &u, "x", &err), "quantity without 0x");
	}
	ChainU256FromU64(&v, UINT64_MAX);
	t_ok(ChainU256MulU64(&w, &v, UINT64_MAX), "mul");
	t_ok(strcmp(ChainU256ToDecimal(&w, dec), "340282366920938463426481119284349108225") == 0, "(2^64-1)^2 = %s", dec);

	/* Solidity ABI spec: baz(uint32,bool) with 69, true */
	ChainBufInit(&b, &env);
	ChainAbiBegin(&b, "baz(uint32,bool)");
	ChainAbiPutU64(&b, 69);
	ChainAbiPutBool(&b, true);
	t_hex(b.data, b.len, "cdcd77c0"
		  "0000000000000000000000000000000000000000000000000000000000000045"
		  "0000000000000000000000000000000000000000000000000000000000000001", "ABI spec baz(69,true)");
	ChainBufReset(&b);
	/* ERC-20 balanceOf (selector 70a08231, as published in EIP-20 tooling) */
	ChainAddressParse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", 42, addr, true, &err);
	ChainAbiBegin(&b, "balanceOf(address)");
	ChainAbiPutAddress(&b, addr);
	t_hex(b.data, b.len, "70a08231" "0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "balanceOf");
	/* the batch with n = 0 is two empty arrays */
	ChainBufReset(&b);
	ChainAbiAwardPointsBatch(&b, NULL, NULL, 0);
	t_ok(b.len == 4 + 4 * 32, "empty batch length %zu", b.len);
	ChainBufFree(&b);

	/* decode */
	{
		uint8_t		word[64] = {0};
		uint8_t		a[20];

		word[31] = 42;
		t_ok(ChainAbiDecodeU256(word, 32, 0, &v, &err) && ChainU256ToU64(&v, &(uint64_t){0}), "decode word 0");
		t_ok(!ChainAbiDecodeU256(word, 31, 0, &v, &err) && err.code == CHAIN_ERR_DECODE, "short word");
		t_ok(!ChainAbiDecodeU256(word, 64, SIZE_MAX, &v, &err), "index overflow");
		t_ok(ChainAbiDecodeAddress(word, 32, 0, a, &err), "address word");
		word[0] = 1;
		t_ok(!ChainAbiDecodeAddress(word, 32, 0, a, &err), "dirty address word");
	}
	/* revert data */
	{
		ChainRevert rv;
		size_t		n;
		uint8_t    *d = t_unhex("08c379a0"
								"0000000000000000000000000000000000000000000000000000000000000020"
								"000000000000000000000000000000000000000000000000000000000000001a"
								"4e6f7420656e6f7567682045746865722070726f76696465642e000000000000", &n);

		ChainAbiDecodeRevert(d, n, &rv);
		t_ok(rv.kind == CHAIN_REVERT_ERROR && strcmp(rv.reason, "Not enough Ether provided.") == 0,
			 "Error(string): %s", rv.reason);
		/* every truncation is malformed, never a crash */
		for (size_t k = 4; k < n - 6; k++)
		{
			ChainAbiDecodeRevert(d, k, &rv);
			t_ok(rv.kind == CHAIN_REVERT_MALFORMED, "truncated at %zu: kind %d", k, rv.kind);
		}
		/* an offset pointing far away */
		d[4 + 31] = 0xff;
		d[4 + 0] = 0xff;
		ChainAbiDecodeRevert(d, n, &rv);
		t_ok(rv.kind == CHAIN_REVERT_MALFORMED, "huge offset");
		free(d);
		/* a 2000-byte reason is cut with "..." inside the buffer */
		{
			size_t		len = 4 + 64 + 2016;
			uint8_t    *big = calloc(1, len);

			memcpy(big, "\x08\xc3\x79\xa0", 4);
			big[4 + 31] = 0x20;
			big[4 + 62] = 2000 >> 8;
			big[4 + 63] = 2000 & 0xff;
			memset(big + 68, 'x', 2000);
			ChainAbiDecodeRevert(big, len, &rv);
			t_ok(rv.kind == CHAIN_REVERT_ERROR && strlen(rv.reason) < sizeof(rv.reason) &&
				 strcmp(rv.reason + strlen(rv.reason) - 3, "...") == 0, "long reason cut");
			free(big);
		}
	}
}

/* ---- JSON-RPC decoder ---- */

static bool
dec1(const char *body, int64_t id, ChainRpcReply *r, ChainBuf *arena, ChainError *err)
{
	return ChainRpcDecode(body, strlen(body), id, 1, false, r, arena, err);
}

static void
test_rpc_decode(void)
{
	ChainBuf	arena;
	ChainRpcReply r[3];
	ChainError	err;

	ChainBufInit(&arena, &env);

	t_ok(dec1("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x7a69\"}", 1, r, &arena, &err) &&
		 strcmp(r[0].result, "\"0x7a69\"") == 0 && strcmp(r[0].result_string, "0x7a69") == 0 &&
		 r[0].error_message == NULL, "simple result");
	t_ok(dec1(" {\"result\" : null , \"id\" : 7, \"jsonrpc\":\"2.0\"} \n", 7, r, &arena, &err) &&
		 strcmp(r[0].result, "null") == 0 && r[0].result_string == NULL, "null result, any order");
	t_ok(dec1("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"a\":[1,2.5e-3,-0,true,false,null,\"x\\\"y\"],\"b\":{}}}", 2, r, &arena, &err) &&
		 strcmp(r[0].result, "{\"a\":[1,2.5e-3,-0,true,false,null,\"x\\\"y\"],\"b\":{}}") == 0, "object result kept raw");
	t_ok(dec1("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32000,\"message\":\"nonce too low\"}}", 3, r, &arena, &err) &&
		 r[0].result == NULL && r[0].error_code == -32000 && strcmp(r[0].error_message, "nonce too low") == 0 &&
		 r[0].error_kind == CHAIN_NODE_NONCE_TOO_LOW, "node error");
	t_ok(dec1("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":3,\"message\":\"execution reverted: x\",\"data\":\"0x08c379a0\"}}", 3, r, &arena, &err) &&
		 r[0].error_kind == CHAIN_NODE_REVERTED && strcmp(r[0].error_data, "\"0x08c379a0\"") == 0 &&
		 strcmp(r[0].error_data_string, "0x08c379a0") == 0, "revert with data");
	t_ok(dec1("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse error\"}}", 5, r, &arena, &err) &&
		 r[0].error_kind == CHAIN_NODE_PARAMS, "null id with an error");
	t_ok(dec1("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"\\u00e9\\ud83d\\ude00\\n\\u0000\\ud800x\"}}", 1, r, &arena, &err) &&
		 strcmp(r[0].error_message, "\xc3\xa9\xf0\x9f\x98\x80\n\xef\xbf\xbd\xef\xbf\xbdx") == 0, "escapes: %s", err.message);

	{
		static const char *bad[] = {
			"",
			"null",
			"[]",
			"{}",
			"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":1}",	/* wrong id */
			"{\"id\":1,\"result\":1}",	/* no jsonrpc */
			"{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":1}",
			"{\"jsonrpc\":\"2.0\",\"id\":1}",	/* neither */
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"m\"}}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"result\":2}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1} x",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":01}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1.}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":-}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":tru}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"a\nb\"}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\\x\"}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\\u12\"}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\xff\"}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\xc0\x80\"}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1,]}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\" 1}}",
			"{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1}",
			"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"result\":1}",
			"{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999,\"result\":1}",
			"{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":1}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"m\"}}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"boom\"}",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"abc",
			"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			t_ok(!dec1(bad[i], 1, r, &arena, &err) && err.code == CHAIN_ERR_PROTOCOL,
				 "bad response %zu accepted", i);
	}
	/* nesting: 60 levels pass, 200 fail cleanly */
	{
		char		body[1024];
		int			n = 0;

		for (int depth = 60; depth <= 200; depth += 140)
		{
			n = snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":");
			for (int i = 0; i < depth; i++)
				body[n++] = '[';
			for (int i = 0; i < depth; i++)
				body[n++] = ']';
			body[n++] = '}';
			body[n] = '\0';
			t_ok(dec1(body, 1, r, &arena, &err) == (depth == 60), "nesting %d", depth);
		}
	}
	/* batches: any order; missing, duplicate, extra, foreign ids refused */
	{
		const char *ok = "[{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":\"c\"},"
			"{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":\"a\"},"
			"{\"jsonrpc\":\"2.0\",\"id\":11,\"error\":{\"code\":-32000,\"message\":\"already known\"}}]";
		const char *bad[] = {
			"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":11,\"result\":1}]",
			"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":11,\"result\":1}]",
			"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":11,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":13,\"result\":1}]",
			"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":11,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":1}]",
			"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"batch not supported\"}}",
			"[]",
		};

		t_ok(ChainRpcDecode(ok, strlen(ok), 10, 3, true, r, &arena, &err) &&
			 strcmp(r[0].result_string, "a") == 0 && r[1].error_kind == CHAIN_NODE_ALREADY_KNOWN &&
			 strcmp(r[2].result_string, "c") == 0, "batch in any order: %s", err.message);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			t_ok(!ChainRpcDecode(bad[i], strlen(bad[i]), 10, 3, true, r, &arena, &err) &&
				 err.code == CHAIN_ERR_PROTOCOL, "bad batch %zu accepted", i);
	}
	ChainBufFree(&arena);

	/* node error classes, from the messages geth, anvil, erigon, nethermind, besu send */
	{
		static const struct
		{
			int64_t		code;
			const char *msg;
			ChainNodeErrorKind kind;
		}			v[] = {
			{-32000, "nonce too low: next nonce 5, tx nonce 3", CHAIN_NODE_NONCE_TOO_LOW},
			{-32003, "Nonce too low", CHAIN_NODE_NONCE_TOO_LOW},
			{-32010, "OldNonce", CHAIN_NODE_NONCE_TOO_LOW},
			{-32000, "already known", CHAIN_NODE_ALREADY_KNOWN},
			{-32010, "Transaction with the same hash was already imported.", CHAIN_NODE_ALREADY_KNOWN},
			{-32000, "replacement transaction underpriced", CHAIN_NODE_UNDERPRICED},
			{-32000, "transaction underpriced", CHAIN_NODE_UNDERPRICED},
			{-32000, "max fee per gas less than block base fee", CHAIN_NODE_UNDERPRICED},
			{-32000, "insufficient funds for gas * price + value", CHAIN_NODE_INSUFFICIENT_FUNDS},
			{-32000, "nonce too high", CHAIN_NODE_NONCE_TOO_HIGH},
			{3, "execution reverted", CHAIN_NODE_REVERTED},
			{-32000, "intrinsic gas too low", CHAIN_NODE_GAS},
			{-32000, "invalid chain id for signer", CHAIN_NODE_CHAIN_ID},
			{-32601, "the method eth_foo does not exist/is not available", CHAIN_NODE_METHOD},
			{-32602, "invalid argument 0", CHAIN_NODE_PARAMS},
			{-32005, "limit exceeded", CHAIN_NODE_LIMIT},
			{-32000, "something else", CHAIN_NODE_OTHER},
		};

		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			t_ok(ChainClassifyNodeError(v[i].code, v[i].msg) == v[i].kind,
				 "classify \"%s\": %d", v[i].msg, ChainClassifyNodeError(v[i].code, v[i].msg));
	}
}

/* ---- hex, buffers ---- */

static void
test_misc(void)
{
	uint8_t		out[4];
	size_t		n;
	ChainError	err;
	ChainBuf	b;

	t_ok(ChainHexDecode("0xDEADbeef", 10, out, 4, &n, "x", &err) && n == 4 && out[0] == 0xde, "hex");
	t_ok(!ChainHexDecode("0xabc", 5, out, 4, &n, "x", &err), "odd hex");
	t_ok(!ChainHexDecode("0xdeadbeef00", 12, out, 4, &n, "x", &err), "hex too long");
	t_ok(!ChainHexDecode("zz", 2, out, 4, &n, "x", &err), "bad hex");
	ChainBufInit(&b, &env);
	b.max_len = 10;
	ChainBufAppend(&b, "0123456789", 10);
	t_ok(ChainBufCheck(&b, "b", &err), "buffer at its limit");
	ChainBufAppend(&b, "x", 1);
	t_ok(!ChainBufCheck(&b, "b", &err) && err.code == CHAIN_ERR_LIMIT, "buffer past its limit");
	ChainBufFree(&b);
}

int
main(void)
{
	ChainEnvInitMalloc(&env);
	test_keccak();
	test_rlp();
	test_keys();
	test_tx();
	test_abi();
	test_rpc_decode();
	test_misc();
	return t_done("test_vectors");
}
