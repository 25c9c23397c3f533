/*
 * signbench.c
 *		Complete signed transactions per second (ABI calldata, RLP, Keccak,
 *		signature, signed encoding, hash) against the floor measured in the
 *		same run: libsecp256k1's bare recoverable signing of 32-byte digests.
 *		Also Keccak-256 throughput. Run by bench/loyalty-sign, which adds
 *		ethers.js signing the same transactions.
 *
 *	signbench [SECONDS]		each measurement runs about SECONDS (default 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "chain/chain.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile uint8_t sink;

/* bare libsecp256k1: sign distinct digests, serialise the signature */
static double
bench_bare(const uint8_t key[32], double seconds)
{
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN);
	uint8_t		digest[32];
	uint8_t		sig64[64];
	secp256k1_ecdsa_recoverable_signature sig;
	int			recid;
	long		n = 0;
	double		t0 = now(),
				t;

	memset(digest, 0x5a, 32);
	do
	{
		for (int i = 0; i < 100; i++)
		{
			memcpy(digest, &n, sizeof(n));
			secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest, key, NULL, NULL);
			secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig64, &recid, &sig);
			sink ^= sig64[0];
			n++;
		}
		t = now() - t0;
	} while (t < seconds);
	secp256k1_context_destroy(ctx);
	return n / t;
}

/*
 * Complete transactions: calldata for batch awards of `batch` customers
 * (1: awardPoints), type 2 or legacy, a new nonce each time.
 */
static double
bench_tx(const ChainEnv *env, const uint8_t key[32], ChainTxType type, int batch,
		 double seconds, size_t *raw_len)
{
	uint8_t		(*customers)[20] = malloc((size_t) batch * 20);
	ChainU256  *amounts = malloc((size_t) batch * sizeof(ChainU256));
	ChainBuf	call;
	ChainTx		tx;
	ChainSignedTx stx;
	ChainError	err;
	long		n = 0;
	double		t0,
				t;

	for (int i = 0; i < batch; i++)
	{
		memset(customers[i], i + 1, 20);
		ChainU256FromU64(&amounts[i], 10 * (uint64_t) (i + 1));
	}
	ChainBufInit(&call, env);
	memset(&tx, 0, sizeof(tx));
	tx.type = type;
	tx.chain_id = 31337;
	tx.gas_limit = 60000 + 30000 * (uint64_t) batch;
	tx.has_to = true;
	memset(tx.to, 0x42, 20);
	ChainU256FromU64(&tx.gas_price, 2000000000);
	ChainU256FromU64(&tx.max_fee_per_gas, 2000000000);
	ChainU256FromU64(&tx.max_priority_fee_per_gas, 1000000000);

	t0 = now();
	do
	{
		for (int i = 0; i < 20; i++)
		{
			ChainBufReset(&call);
			if (batch == 1)
				ChainAbiAwardPoints(&call, customers[0], &amounts[0]);
			else
				ChainAbiAwardPointsBatch(&call, (const uint8_t (*)[20]) customers, amounts, (size_t) batch);
			tx.data = call.data;
			tx.data_len = call.len;
			tx.nonce = (uint64_t) n;
			if (!ChainSignTx(env, &tx, key, &stx, &err))
			{
				fprintf(stderr, "sign: %s\n", err.message);
				exit(1);
			}
			*raw_len = stx.raw_len;
			sink ^= stx.hash[0];
			ChainSignedTxFree(env, &stx);
			n++;
		}
		t = now() - t0;
	} while (t < seconds);
	ChainBufFree(&call);
	free(customers);
	free(amounts);
	return n / t;
}

static double
bench_keccak(double seconds)
{
	size_t		len = 1 << 20;
	uint8_t    *buf = calloc(1, len);
	uint8_t		h[32];
	long		n = 0;
	double		t0 = now(),
				t;

	do
	{
		ChainKeccak256(buf, len, h);
		sink ^= h[0];
		n++;
		t = now() - t0;
	} while (t < seconds);
	free(buf);
	return n * (double) len / t / 1e6;
}

/*
 * The machine is shared: measure the floor and each case in alternating
 * slices of 0.1 s, so that both see the same load, and add the slices up.
 */
int
main(int argc, char **argv)
{
	double		seconds = argc > 1 ? atof(argv[1]) : 2.0;
	const char *hexkey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
	uint8_t		key[32];
	ChainEnv	env;
	ChainError	err;
	size_t		raw_len = 0;
	static const struct
	{
		ChainTxType type;
		int			batch;
		const char *name;
		const char *tag;
	}			cases[] = {
		{CHAIN_TX_EIP1559, 1, "type 2, awardPoints", "TYPE2_SINGLE"},
		{CHAIN_TX_LEGACY, 1, "legacy, awardPoints", "LEGACY_SINGLE"},
		{CHAIN_TX_EIP1559, 10, "type 2, awardPointsBatch of 10", "TYPE2_BATCH10"},
		{CHAIN_TX_EIP1559, 100, "type 2, awardPointsBatch of 100", "TYPE2_BATCH100"},
	};
	int			slices = (int) (seconds / 0.1) + 1;
	double		bare_sum = 0;

	ChainEnvInitMalloc(&env);
	if (!ChainKeyParse(hexkey, strlen(hexkey), key, &err))
		return 1;
	printf("signbench: %d alternating slices of 0.1 s per figure, one core\n", slices);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		double		sum = 0,
					bare = 0;

		for (int k = 0; k < slices; k++)
		{
			bare += bench_bare(key, 0.1);
			sum += bench_tx(&env, key, cases[i].type, cases[i].batch, 0.1, &raw_len);
		}
		bare /= slices;
		sum /= slices;
		bare_sum += bare;
		printf("  %-34s %8.0f tx/s  against bare %8.0f digests/s: %5.1f %%   (%zu bytes)\n",
			   cases[i].name, sum, bare, 100.0 * sum / bare, raw_len);
		printf("SIGNBENCH_%s=%.0f SIGNBENCH_%s_BARE=%.0f\n", cases[i].tag, sum, cases[i].tag, bare);
	}
	printf("  %-34s %8.0f MB/s\n", "keccak-256 of 1 MB buffers", bench_keccak(seconds));
	ChainWipe(key, sizeof(key));
	return 0;
}
