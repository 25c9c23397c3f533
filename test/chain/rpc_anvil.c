/*
 * rpc_anvil.c
 *		The JSON-RPC client against a real node (the anvil scripts/test
 *		starts), and against small local servers that misbehave on purpose.
 *
 *	  - eth_chainId, eth_accounts (our address of anvil's published dev key 0
 *		must be anvil's account 0), eth_getTransactionCount;
 *	  - a type-2 and a legacy (EIP-155) transfer signed here, sent with
 *		eth_sendRawTransaction: the node's hash equals ours, the receipt
 *		says status 1, eth_getTransactionByHash gives back our fields;
 *	  - the node's answers the dispatcher must read (automine off while we
 *		look): a duplicate pending ("already known"), a same-nonce
 *		replacement with the same fee ("underpriced"), one with a higher fee
 *		(accepted, and the only one mined), a mined one re-sent ("nonce too
 *		low"), a nonce gap (queued without a word, mined once filled), a
 *		wrong chain id, no funds, an unknown method;
 *	  - a batch; connection reuse (one connect for many calls);
 *	  - unreachable node (CONNECT with libcurl's text), a node that never
 *		answers (TIMEOUT), one that answers HTTP 500 (HTTP), garbage
 *		(PROTOCOL), a body over the limit (LIMIT), a cancel (CANCELED, well
 *		before the timeout).
 *
 * Uses anvil's dev account 0; scripts/test runs this after the TAP tests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "testutil.h"

static ChainEnv env;
static ChainRpc *rpc;
static const char *DEV0 = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
static uint8_t key0[32];
static uint8_t addr0[20];
static uint8_t addr1[20];
static uint64_t chain_id;

/* call, and die on a transport failure (the node is supposed to be up) */
static ChainRpcReply
call(const char *method, const char *params)
{
	ChainRpcReply r;
	ChainError	err;

	if (!ChainRpcCall(rpc, method, params, &r, &err))
	{
		fprintf(stderr, "%s: %s (%s)\n", method, err.message, err.detail);
		exit(1);
	}
	return r;
}

static uint64_t
quantity(const char *method, const char *params)
{
	ChainRpcReply r = call(method, params);
	uint64_t	v = 0;
	ChainError	err;

	if (!r.result_string || !ChainParseQuantityU64(r.result_string, strlen(r.result_string), &v, method, &err))
	{
		fprintf(stderr, "%s: no quantity in %s\n", method, r.result ? r.result : r.error_message);
		exit(1);
	}
	return v;
}

static uint64_t
pending_nonce(void)
{
	char		p[128],
				a[43];

	snprintf(p, sizeof(p), "[\"%s\",\"pending\"]", ChainHexEncode(addr0, 20, a, true));
	return quantity("eth_getTransactionCount", p);
}

/* a signed transfer of value wei from account 0 to account 1 */
static ChainSignedTx
transfer(ChainTxType type, uint64_t cid, uint64_t nonce, uint64_t fee, uint64_t value,
		 const uint8_t *key)
{
	ChainTx		tx;
	ChainSignedTx s;
	ChainError	err;

	memset(&tx, 0, sizeof(tx));
	tx.type = type;
	tx.chain_id = cid;
	tx.nonce = nonce;
	tx.gas_limit = 21000;
	tx.has_to = true;
	memcpy(tx.to, addr1, 20);
	ChainU256FromU64(&tx.value, value);
	if (type == CHAIN_TX_LEGACY)
		ChainU256FromU64(&tx.gas_price, fee);
	else
	{
		ChainU256FromU64(&tx.max_fee_per_gas, fee);
		ChainU256FromU64(&tx.max_priority_fee_per_gas, fee / 10);
	}
	if (!ChainSignTx(&env, &tx, key, &s, &err))
	{
		fprintf(stderr, "sign: %s\n", err.message);
		exit(1);
	}
	return s;
}

/* eth_sendRawTransaction of s; returns the reply */
static ChainRpcReply
send_raw(const ChainSignedTx *s)
{
	char	   *p = malloc(2 * s->raw_len + 16);

	strcpy(p, "[\"");
	ChainHexEncode(s->raw, s->raw_len, p + 2, true);
	strcat(p, "\"]");
	{
		ChainRpcReply r = call("eth_sendRawTransaction", p);

		free(p);
		return r;
	}
}

static void
hash_params(const ChainSignedTx *s, char *p)
{
	char		h[67];

	sprintf(p, "[\"%s\"]", ChainHexEncode(s->hash, 32, h, true));
}

/*
 * The receipt's raw JSON, or NULL (not mined). Receipts can lag the send:
 * with wait, poll for up to 5 s.
 */
static char *
receipt_wait(const ChainSignedTx *s, bool wait)
{
	char		p[80];
	ChainRpcReply r;

	hash_params(s, p);
	for (int i = 0; i < (wait ? 250 : 1); i++)
	{
		r = call("eth_getTransactionReceipt", p);
		if (r.result != NULL && strcmp(r.result, "null") != 0)
			return strdup(r.result);
		if (wait)
			usleep(20000);
	}
	return NULL;
}

#define receipt(s) receipt_wait((s), true)

static void
test_node(void)
{
	ChainRpcReply r;
	ChainError	err;
	char		a[43],
				h[67];
	uint64_t	nonce,
				gas_price;
	ChainSignedTx s2,
				sl;

	chain_id = quantity("eth_chainId", NULL);
	t_ok(chain_id == 31337, "eth_chainId: %llu", (unsigned long long) chain_id);

	/* our address for the published key must be anvil's account 0 */
	r = call("eth_accounts", "[]");
	ChainHexEncode(addr0, 20, a, true);
	t_ok(r.result && strstr(r.result, a) != NULL, "account 0 %s in eth_accounts %.60s", a, r.result);

	gas_price = quantity("eth_gasPrice", NULL);
	nonce = pending_nonce();

	/* a type-2 transfer */
	s2 = transfer(CHAIN_TX_EIP1559, chain_id, nonce, 2 * gas_price + 1000, 12345, key0);
	r = send_raw(&s2);
	t_ok(r.result_string != NULL, "type 2 sent: %s", r.error_message ? r.error_message : "");
	ChainHexEncode(s2.hash, 32, h, true);
	t_ok(r.result_string && strcmp(r.result_string, h) == 0, "node's hash %s is ours %s", r.result_string, h);
	{
		char	   *rc = receipt(&s2);

		t_ok(rc && strstr(rc, "\"status\":\"0x1\""), "type 2 receipt with status 1: %.80s", rc ? rc : "none");
		free(rc);
	}
	/* the node reads our fields back */
	{
		char		p[80];

		hash_params(&s2, p);
		r = call("eth_getTransactionByHash", p);
		ChainHexEncode(addr1, 20, a, true);
		t_ok(r.result && strstr(r.result, "\"type\":\"0x2\"") && strstr(r.result, "\"value\":\"0x3039\"") &&
			 strstr(r.result, a), "eth_getTransactionByHash fields: %.200s", r.result);
	}
	/* re-sent after it was mined: nonce too low */
	r = send_raw(&s2);
	t_ok(r.error_kind == CHAIN_NODE_NONCE_TOO_LOW, "re-sent mined tx: kind %d \"%s\"", r.error_kind,
		 r.error_message ? r.error_message : "(accepted)");
	ChainRpcReplyError(&r, "eth_sendRawTransaction", &err);
	t_ok(err.code == CHAIN_ERR_NODE && strstr(err.message, "eth_sendRawTransaction") != NULL,
		 "node error as ChainError: %s", err.message);

	/* a legacy (EIP-155) transfer */
	sl = transfer(CHAIN_TX_LEGACY, chain_id, nonce + 1, 2 * gas_price, 1, key0);
	r = send_raw(&sl);
	t_ok(r.result_string != NULL, "legacy sent: %s", r.error_message ? r.error_message : "");
	{
		char	   *rc = receipt(&sl);

		t_ok(rc && strstr(rc, "\"status\":\"0x1\"") && strstr(rc, "\"type\":\"0x0\""),
			 "legacy receipt: %.80s", rc ? rc : "none");
		free(rc);
	}
	ChainSignedTxFree(&env, &s2);
	ChainSignedTxFree(&env, &sl);

	/* wrong chain id, no funds, unknown method */
	{
		ChainSignedTx w = transfer(CHAIN_TX_EIP1559, 1, pending_nonce(), 2 * gas_price, 1, key0);
		uint8_t		poor[32];

		r = send_raw(&w);
		t_ok(r.error_message != NULL, "wrong chain id refused (kind %d \"%s\")", r.error_kind,
			 r.error_message ? r.error_message : "accepted!");
		printf("rpc_anvil: wrong chain id -> kind %d, code %lld, \"%s\"\n", r.error_kind,
			   (long long) r.error_code, r.error_message ? r.error_message : "");
		t_ok(r.error_kind == CHAIN_NODE_CHAIN_ID, "wrong chain id classified: %d", r.error_kind);
		ChainSignedTxFree(&env, &w);
		memset(poor, 0x77, 32);
		w = transfer(CHAIN_TX_EIP1559, chain_id, 0, 2 * gas_price, 1, poor);
		r = send_raw(&w);
		t_ok(r.error_kind == CHAIN_NODE_INSUFFICIENT_FUNDS, "no funds: kind %d \"%s\"", r.error_kind,
			 r.error_message ? r.error_message : "accepted!");
		ChainSignedTxFree(&env, &w);
		r = call("eth_noSuchMethod", "[]");
		t_ok(r.error_kind == CHAIN_NODE_METHOD, "unknown method: kind %d \"%s\"", r.error_kind,
			 r.error_message ? r.error_message : "accepted!");
	}
}

/* With automine off: duplicates, replacements, gaps. */
static void
test_pending(void)
{
	ChainRpcReply r;
	uint64_t	nonce = pending_nonce();
	uint64_t	gas_price = quantity("eth_gasPrice", NULL);
	ChainSignedTx a,
				b,
				c,
				gap;
	char	   *rc;

	call("evm_setAutomine", "[false]");

	a = transfer(CHAIN_TX_EIP1559, chain_id, nonce, 2 * gas_price, 100, key0);
	r = send_raw(&a);
	t_ok(r.result_string != NULL, "pending tx accepted");
	r = send_raw(&a);
	printf("rpc_anvil: duplicate pending -> code %lld, \"%s\"\n", (long long) r.error_code,
		   r.error_message ? r.error_message : "(accepted)");
	t_ok(r.error_kind == CHAIN_NODE_ALREADY_KNOWN, "duplicate pending: already known (kind %d)",
		 r.error_kind);

	b = transfer(CHAIN_TX_EIP1559, chain_id, nonce, 2 * gas_price, 101, key0);
	r = send_raw(&b);
	printf("rpc_anvil: same-fee replacement -> code %lld, \"%s\"\n", (long long) r.error_code,
		   r.error_message ? r.error_message : "(accepted)");
	t_ok(r.error_kind == CHAIN_NODE_UNDERPRICED, "same-fee replacement underpriced (kind %d)", r.error_kind);

	c = transfer(CHAIN_TX_EIP1559, chain_id, nonce, 3 * gas_price, 102, key0);
	r = send_raw(&c);
	t_ok(r.result_string != NULL, "higher-fee replacement accepted: %s", r.error_message ? r.error_message : "");

	/* a gap: nonce + 2 with nothing at nonce + 1 is taken without a word */
	gap = transfer(CHAIN_TX_EIP1559, chain_id, nonce + 2, 3 * gas_price, 103, key0);
	r = send_raw(&gap);
	t_ok(r.result_string != NULL, "nonce gap accepted silently: %s", r.error_message ? r.error_message : "");

	call("evm_mine", "[]");
	rc = receipt(&c);
	t_ok(rc != NULL, "the replacement is mined");
	free(rc);
	rc = receipt_wait(&a, false);
	t_ok(rc == NULL, "the replaced one is not");
	free(rc);
	rc = receipt_wait(&gap, false);
	t_ok(rc == NULL, "the gapped one waits");
	free(rc);
	ChainSignedTxFree(&env, &b);
	/* fill the gap: both mined */
	b = transfer(CHAIN_TX_EIP1559, chain_id, nonce + 1, 3 * gas_price, 104, key0);
	r = send_raw(&b);
	t_ok(r.result_string != NULL, "gap filled");
	call("evm_mine", "[]");
	rc = receipt(&gap);
	t_ok(rc != NULL, "the gapped one is mined once the gap is filled");
	free(rc);

	call("evm_setAutomine", "[true]");
	ChainSignedTxFree(&env, &a);
	ChainSignedTxFree(&env, &b);
	ChainSignedTxFree(&env, &c);
	ChainSignedTxFree(&env, &gap);
}

static void
test_batch_and_reuse(void)
{
	const char *methods[3] = {"eth_chainId", "eth_blockNumber", "eth_noSuchMethod"};
	const char *params[3] = {NULL, "[]", "[]"};
	ChainRpcReply r[3];
	ChainError	err;
	long		before;

	t_ok(ChainRpcBatch(rpc, 3, methods, params, r, &err), "batch: %s", err.message);
	t_ok(r[0].result_string && strcmp(r[0].result_string, "0x7a69") == 0, "batch reply 0");
	t_ok(r[1].result_string != NULL, "batch reply 1");
	t_ok(r[2].error_kind == CHAIN_NODE_METHOD, "batch reply 2 is an error");

	/* replies stay valid across later calls, until released */
	for (int i = 0; i < 50; i++)
		quantity("eth_blockNumber", "[]");
	t_ok(r[0].result_string && strcmp(r[0].result_string, "0x7a69") == 0 &&
		 r[2].error_message && r[2].error_kind == CHAIN_NODE_METHOD,
		 "batch replies intact after 50 more calls");
	ChainRpcReleaseReplies(rpc);

	before = ChainRpcConnectCount(rpc);
	for (int i = 0; i < 200; i++)
		quantity("eth_blockNumber", "[]");
	ChainRpcReleaseReplies(rpc);
	t_ok(ChainRpcConnectCount(rpc) == before, "200 calls on one connection (%ld new connects)",
		 ChainRpcConnectCount(rpc) - before);
}

/* ---- misbehaving local servers ---- */

typedef enum
{
	SRV_SILENT, SRV_500, SRV_GARBAGE, SRV_HUGE
} SrvMode;

typedef struct
{
	int			fd;
	SrvMode		mode;
} Srv;

static void *
serve(void *arg)
{
	Srv		   *s = arg;

	for (;;)
	{
		int			c = accept(s->fd, NULL, NULL);
		char		buf[4096];

		if (c < 0)
			return NULL;
		(void) !read(c, buf, sizeof(buf));
		if (s->mode == SRV_SILENT)
		{
			sleep(5);
		}
		else if (s->mode == SRV_500)
		{
			const char *m = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 19\r\nConnection: close\r\n\r\nupstream \x01 exploded";

			(void) !write(c, m, strlen(m));
		}
		else if (s->mode == SRV_GARBAGE)
		{
			const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n<html>hi</html>";

			(void) !write(c, m, strlen(m));
		}
		else
		{
			const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n";
			char		chunk[65536];

			memset(chunk, ' ', sizeof(chunk));
			(void) !write(c, m, strlen(m));
			for (int i = 0; i < 160; i++)
				if (write(c, chunk, sizeof(chunk)) < 0)
					break;
		}
		close(c);
	}
}

static int
start_server(SrvMode mode, char *url)
{
	struct sockaddr_in sa;
	socklen_t	sl = sizeof(sa);
	Srv		   *s = malloc(sizeof(Srv));
	pthread_t	t;

	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	s->mode = mode;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->fd, (struct sockaddr *) &sa, sizeof(sa)) != 0 || listen(s->fd, 8) != 0 ||
		getsockname(s->fd, (struct sockaddr *) &sa, &sl) != 0)
	{
		perror("server");
		exit(1);
	}
	sprintf(url, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
	pthread_create(&t, NULL, serve, s);
	pthread_detach(t);
	return s->fd;
}

static bool cancel_now;

static bool
interrupted(void *ctx)
{
	return cancel_now;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static ChainErrorCode
try_url(const char *url, long timeout_ms, size_t max_body, ChainError *err)
{
	ChainEnv	e;
	ChainRpc   *r;
	ChainRpcReply reply;

	ChainEnvInitMalloc(&e);
	e.timeout_ms = timeout_ms;
	e.max_response_bytes = max_body;
	e.interrupted = interrupted;
	r = ChainRpcCreate(&e, url, err);
	if (r == NULL)
		return err->code;
	if (ChainRpcCall(r, "eth_chainId", NULL, &reply, err))
		err->code = CHAIN_OK;
	ChainRpcDestroy(r);
	return err->code;
}

static void
test_failures(void)
{
	char		url[64];
	ChainError	err;
	double		t0;

	t_ok(try_url("http://127.0.0.1:1/", 2000, 0, &err) == CHAIN_ERR_CONNECT &&
		 strstr(err.message, "127.0.0.1:1") && err.detail[0], "unreachable: %s / %s", err.message, err.detail);
	t_ok(try_url("http://user:pw@127.0.0.1:1/v3/SECRETKEY?x=1", 2000, 0, &err) == CHAIN_ERR_CONNECT &&
		 strstr(err.message, "SECRETKEY") == NULL && strstr(err.message, "pw") == NULL &&
		 strstr(err.detail, "SECRETKEY") == NULL, "URL secrets kept out of messages: %s", err.message);
	t_ok(try_url("file:///etc/passwd", 2000, 0, &err) == CHAIN_ERR_ARGUMENT, "file URL refused");
	t_ok(try_url("http://127.0.0.1:1/ x", 2000, 0, &err) == CHAIN_ERR_ARGUMENT, "URL with a space refused");

	start_server(SRV_SILENT, url);
	t0 = now();
	t_ok(try_url(url, 300, 0, &err) == CHAIN_ERR_TIMEOUT, "silent node: timeout (%s)", err.message);
	t_ok(now() - t0 < 3, "timeout after %.1f s", now() - t0);
	/* a cancel while waiting: the progress callback stops the transfer */
	cancel_now = true;
	t0 = now();
	t_ok(try_url(url, 20000, 0, &err) == CHAIN_ERR_CANCELED, "cancel: %s", err.message);
	t_ok(now() - t0 < 3, "canceled after %.1f s (timeout was 20 s)", now() - t0);
	cancel_now = false;

	start_server(SRV_500, url);
	t_ok(try_url(url, 2000, 0, &err) == CHAIN_ERR_HTTP && strstr(err.message, "500") &&
		 strchr(err.detail, '\x01') == NULL, "HTTP 500: %s / %s", err.message, err.detail);
	start_server(SRV_GARBAGE, url);
	t_ok(try_url(url, 2000, 0, &err) == CHAIN_ERR_PROTOCOL, "garbage: %s / %s", err.message, err.detail);
	start_server(SRV_HUGE, url);
	t_ok(try_url(url, 5000, 1024 * 1024, &err) == CHAIN_ERR_LIMIT, "huge body: %s", err.message);
}

int
main(int argc, char **argv)
{
	ChainError	err;

	if (argc != 2)
	{
		fprintf(stderr, "usage: rpc_anvil URL\n");
		return 2;
	}
	ChainEnvInitMalloc(&env);
	env.timeout_ms = 10000;
	if (!ChainKeyParse(DEV0, strlen(DEV0), key0, &err) || !ChainKeyAddress(key0, addr0, &err))
		return 1;
	ChainAddressParse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 42, addr1, true, &err);
	rpc = ChainRpcCreate(&env, argv[1], &err);
	if (rpc == NULL)
	{
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	test_node();
	test_pending();
	test_batch_and_reuse();
	test_failures();
	ChainRpcDestroy(rpc);
	ChainWipe(key0, sizeof(key0));
	return t_done("rpc_anvil");
}
