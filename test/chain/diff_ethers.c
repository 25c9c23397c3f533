/*
 * diff_ethers.c
 *		The chain library against a second implementation: reads the cases
 *		gen_cases.mjs made with ethers.js and checks that we produce the same
 *		bytes (hashes, addresses, checksums, RLP, ABI calldata, quantities,
 *		revert reasons, signing hashes, signed transactions and their hashes),
 *		and that our decoder reads ethers' transactions back to the inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "testutil.h"

static ChainEnv env;
static int	lineno;
static int	kinds[16];

#define MAXF 32

static int
split(char *line, char **f)
{
	int			n = 0;

	for (char *p = strtok(line, " \n"); p && n < MAXF; p = strtok(NULL, " \n"))
		f[n++] = p;
	return n;
}

/* "-" means empty */
static uint8_t *
unhex_f(const char *s, size_t *len)
{
	if (strcmp(s, "-") == 0)
	{
		*len = 0;
		return malloc(1);
	}
	return t_unhex(s, len);
}

static ChainU256
u256(const char *s)
{
	ChainU256	v;
	ChainError	err;

	if (!ChainU256Parse(s, strlen(s), &v, "case number", &err))
	{
		fprintf(stderr, "line %d: %s\n", lineno, err.message);
		exit(2);
	}
	return v;
}

static uint64_t
u64(const char *s)
{
	ChainU256	v = u256(s);
	uint64_t	r = 0;

	if (!ChainU256ToU64(&v, &r))
	{
		fprintf(stderr, "line %d: %s too large\n", lineno, s);
		exit(2);
	}
	return r;
}

/* parse "[0x..,[..]]" and encode it as it goes */
static const char *
rlp_parse(const char *p, ChainBuf *b)
{
	if (*p == '[')
	{
		size_t		m = ChainRlpBeginList(b);

		p++;
		while (*p && *p != ']')
		{
			p = rlp_parse(p, b);
			if (*p == ',')
				p++;
		}
		ChainRlpEndList(b, m);
		return *p == ']' ? p + 1 : p;
	}
	else
	{
		const char *e = p + strcspn(p, ",]");
		size_t		n;
		char	   *tmp = strndup(p, (size_t) (e - p));
		uint8_t    *d = t_unhex(tmp, &n);

		ChainRlpPutBytes(b, d, n);
		free(d);
		free(tmp);
		return e;
	}
}

static void
case_tx(char **f, int nf)
{
	ChainTx		tx;
	ChainSignedTx stx;
	ChainError	err;
	uint8_t		key[32],
				h[32],
				from[20],
				kaddr[20];
	size_t		dlen;
	uint8_t    *data;
	ChainTx		back;
	ChainSignedTx sig;
	char		what[64];

	if (nf != 15)
	{
		t_ok(false, "line %d: tx has %d fields", lineno, nf);
		return;
	}
	memset(&tx, 0, sizeof(tx));
	tx.type = atoi(f[1]) == 2 ? CHAIN_TX_EIP1559 : CHAIN_TX_LEGACY;
	tx.chain_id = u64(f[2]);
	tx.nonce = u64(f[3]);
	if (tx.type == CHAIN_TX_LEGACY)
		tx.gas_price = u256(f[4]);
	else
	{
		tx.max_priority_fee_per_gas = u256(f[5]);
		tx.max_fee_per_gas = u256(f[6]);
	}
	tx.gas_limit = u64(f[7]);
	if (strcmp(f[8], "-") != 0)
	{
		tx.has_to = ChainAddressParse(f[8], strlen(f[8]), tx.to, true, &err);
		t_ok(tx.has_to, "line %d: to: %s", lineno, err.message);
	}
	tx.value = u256(f[9]);
	data = unhex_f(f[10], &dlen);
	tx.data = data;
	tx.data_len = dlen;
	{
		size_t		kl = strlen(f[11]);

		if (!ChainKeyParse(f[11], kl, key, &err))
		{
			t_ok(false, "line %d: key: %s", lineno, err.message);
			free(data);
			return;
		}
	}
	snprintf(what, sizeof(what), "line %d: signing hash", lineno);
	if (ChainTxSigningHash(&env, &tx, h, &err))
		t_hex(h, 32, f[12], what);
	else
		t_ok(false, "%s: %s", what, err.message);
	if (t_ok(ChainSignTx(&env, &tx, key, &stx, &err), "line %d: sign: %s", lineno, err.message))
	{
		snprintf(what, sizeof(what), "line %d: signed tx", lineno);
		t_hex(stx.raw, stx.raw_len, f[13], what);
		snprintf(what, sizeof(what), "line %d: tx hash", lineno);
		t_hex(stx.hash, 32, f[14], what);
		ChainSignedTxFree(&env, &stx);
	}
	/* decode ethers' bytes back to the inputs, and the sender to the key's address */
	{
		size_t		rl;
		uint8_t    *raw = t_unhex(f[13], &rl);

		if (t_ok(ChainTxDecode(raw, rl, &back, &sig, from, &err), "line %d: decode: %s", lineno, err.message))
		{
			ChainKeyAddress(key, kaddr, &err);
			t_ok(memcmp(from, kaddr, 20) == 0, "line %d: recovered sender", lineno);
			t_ok(back.type == tx.type && back.chain_id == tx.chain_id && back.nonce == tx.nonce &&
				 back.gas_limit == tx.gas_limit && back.has_to == tx.has_to &&
				 (!tx.has_to || memcmp(back.to, tx.to, 20) == 0) &&
				 ChainU256Cmp(&back.value, &tx.value) == 0 &&
				 ChainU256Cmp(&back.gas_price, &tx.gas_price) == 0 &&
				 ChainU256Cmp(&back.max_fee_per_gas, &tx.max_fee_per_gas) == 0 &&
				 ChainU256Cmp(&back.max_priority_fee_per_gas, &tx.max_priority_fee_per_gas) == 0 &&
				 back.data_len == dlen && (dlen == 0 || memcmp(back.data, data, dlen) == 0),
				 "line %d: decoded fields differ", lineno);
			snprintf(what, sizeof(what), "line %d: decoded hash", lineno);
			t_hex(sig.hash, 32, f[14], what);
		}
		free(raw);
	}
	ChainWipe(key, sizeof(key));
	free(data);
}

static void
case_abi(char **f, int nf)
{
	ChainBuf	b;
	uint8_t		a[20];
	ChainError	err;
	char		what[64];

	ChainBufInit(&b, &env);
	snprintf(what, sizeof(what), "line %d: abi %s", lineno, f[1]);
	if (strcmp(f[1], "awardPointsBatch") == 0)
	{
		size_t		n = 0;
		uint8_t    (*as)[20] = malloc(200 * 20);
		ChainU256  *vs = malloc(200 * sizeof(ChainU256));

		if (strcmp(f[2], "-") != 0)
		{
			char	   *save;

			for (char *p = strtok_r(f[2], ",", &save); p; p = strtok_r(NULL, ",", &save))
				ChainAddressParse(p, strlen(p), as[n++], true, &err);
			n = 0;
			for (char *p = strtok_r(f[3], ",", &save); p; p = strtok_r(NULL, ",", &save))
				vs[n++] = u256(p);
		}
		ChainAbiAwardPointsBatch(&b, (const uint8_t (*)[20]) as, vs, n);
		free(as);
		free(vs);
	}
	else
	{
		ChainU256	v;

		if (strcmp(f[2], "-") != 0)
			t_ok(ChainAddressParse(f[2], strlen(f[2]), a, true, &err), "%s: address", what);
		if (strcmp(f[3], "-") != 0)
			v = u256(f[3]);
		if (strcmp(f[1], "registerCustomer") == 0)
			ChainAbiRegisterCustomer(&b, a);
		else if (strcmp(f[1], "awardPoints") == 0)
			ChainAbiAwardPoints(&b, a, &v);
		else if (strcmp(f[1], "redeemPoints") == 0)
			ChainAbiRedeemPoints(&b, &v);
		else if (strcmp(f[1], "getPointsBalance") == 0)
			ChainAbiGetPointsBalance(&b, a);
	}
	t_ok(ChainBufCheck(&b, "calldata", &err), "%s: %s", what, err.message);
	t_hex(b.data, b.len, f[4], what);
	ChainBufFree(&b);
}

int
main(int argc, char **argv)
{
	FILE	   *fp;
	char	   *line = NULL;
	size_t		cap = 0;

	if (argc != 2 || (fp = fopen(argv[1], "r")) == NULL)
	{
		fprintf(stderr, "usage: diff_ethers cases.txt\n");
		return 2;
	}
	ChainEnvInitMalloc(&env);
	while (getline(&line, &cap, fp) > 0)
	{
		char	   *f[MAXF];
		int			nf;
		ChainError	err;
		char		what[64];

		lineno++;
		if (line[0] == '#')
		{
			printf("diff_ethers: %s", line + 2);
			continue;
		}
		nf = split(line, f);
		if (nf == 0)
			continue;
		snprintf(what, sizeof(what), "line %d: %s", lineno, f[0]);
		if (strcmp(f[0], "keccak") == 0)
		{
			size_t		n;
			uint8_t    *d = unhex_f(f[1], &n);
			uint8_t		h[32];

			ChainKeccak256(d, n, h);
			t_hex(h, 32, f[2], what);
			free(d);
			kinds[0]++;
		}
		else if (strcmp(f[0], "addr") == 0)
		{
			uint8_t		key[32],
						a[20];
			char		txt[CHAIN_ADDRESS_TEXT_LEN];

			if (t_ok(ChainKeyParse(f[1], strlen(f[1]), key, &err) && ChainKeyAddress(key, a, &err),
					 "%s: %s", what, err.message))
				t_ok(strcmp(ChainAddressToText(a, txt), f[2]) == 0, "%s: got %s want %s", what, txt, f[2]);
			ChainWipe(key, sizeof(key));
			kinds[1]++;
		}
		else if (strcmp(f[0], "eip55") == 0)
		{
			uint8_t		a[20];
			char		txt[CHAIN_ADDRESS_TEXT_LEN];

			t_ok(ChainAddressParse(f[1], 42, a, false, &err), "%s: parse", what);
			t_ok(strcmp(ChainAddressToText(a, txt), f[2]) == 0, "%s: got %s want %s", what, txt, f[2]);
			t_ok(ChainAddressParse(f[2], 42, a, true, &err), "%s: checksummed form refused", what);
			kinds[2]++;
		}
		else if (strcmp(f[0], "rlp") == 0)
		{
			ChainBuf	b;

			ChainBufInit(&b, &env);
			rlp_parse(f[1], &b);
			t_hex(b.data, b.len, f[2], what);
			ChainBufFree(&b);
			kinds[3]++;
		}
		else if (strcmp(f[0], "u256") == 0)
		{
			ChainU256	v = u256(f[1]),
						w;
			char		q[67],
						dec[CHAIN_U256_DEC_LEN];

			t_ok(strcmp(ChainU256ToQuantity(&v, q), f[2]) == 0, "%s: quantity %s want %s", what, q, f[2]);
			w = u256(f[2]);
			t_ok(ChainU256Cmp(&v, &w) == 0 && strcmp(ChainU256ToDecimal(&w, dec), f[1]) == 0,
				 "%s: round trip", what);
			kinds[4]++;
		}
		else if (strcmp(f[0], "abi") == 0 && nf == 5)
		{
			case_abi(f, nf);
			kinds[5]++;
		}
		else if (strcmp(f[0], "result") == 0)
		{
			size_t		n;
			uint8_t    *d = t_unhex(f[2], &n);
			ChainU256	v,
						want = u256(f[1]);

			t_ok(ChainAbiDecodeU256(d, n, 0, &v, &err) && ChainU256Cmp(&v, &want) == 0, "%s", what);
			free(d);
			kinds[6]++;
		}
		else if (strcmp(f[0], "revert") == 0)
		{
			size_t		n,
						sl;
			uint8_t    *d = t_unhex(f[1], &n);
			uint8_t    *s = unhex_f(f[2], &sl);
			ChainRevert rv;

			ChainAbiDecodeRevert(d, n, &rv);
			/* reasons that fit are reproduced exactly (ethers' strings are valid UTF-8) */
			if (sl + 4 < sizeof(rv.reason))
				t_ok(rv.kind == CHAIN_REVERT_ERROR && strlen(rv.reason) == sl &&
					 memcmp(rv.reason, s, sl) == 0, "%s: got \"%s\"", what, rv.reason);
			else
				t_ok(rv.kind == CHAIN_REVERT_ERROR && memcmp(rv.reason, s, strlen(rv.reason) - 3) == 0,
					 "%s: long reason", what);
			free(d);
			free(s);
			kinds[7]++;
		}
		else if (strcmp(f[0], "tx") == 0)
		{
			case_tx(f, nf);
			kinds[8]++;
		}
		else
			t_ok(false, "line %d: unknown case \"%s\" (%d fields)", lineno, f[0], nf);
	}
	free(line);
	fclose(fp);
	printf("diff_ethers: %d keccak, %d addresses, %d EIP-55, %d RLP, %d uint256, %d ABI calls, "
		   "%d results, %d reverts, %d signed transactions compared\n",
		   kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5], kinds[6], kinds[7], kinds[8]);
	return t_done("diff_ethers");
}
