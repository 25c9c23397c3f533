/*
 * dispatcher.c
 *		One round of the loyalty dispatcher, shared by the background worker
 *		(worker.c) and CALL megamarket.loyalty_dispatch() (sql.c).
 *
 * Exactly once (DESIGN.md): awards and registrations are rows of an outbox.
 * A round
 *	1. settles: asks the node for the receipt of every attempt of every open
 *	   transaction (signed or sent) and records the mined ones, confirmed or
 *	   failed with the revert reason; replaces the ones stuck too long
 *	   (same nonce, same call, higher fee: whichever attempt is mined, the
 *	   awards land once);
 *	2. signs: claims queued rows, assigns the next nonce, builds the call,
 *	   signs, and COMMITS the signed bytes and hash before anything is sent;
 *	3. sends every committed, unsettled transaction in nonce order, outside
 *	   any transaction (re-sending the same bytes is harmless: the node says
 *	   "already known", or "nonce too low" once mined);
 *	4. settles again (receipts of what was just sent).
 * A crash anywhere leaves either nothing (before the commit: the claim rolls
 * back) or committed bytes that the next round re-sends and settles by
 * receipt. Nothing holds a transaction or a lock across a network call in
 * the worker; the procedure's open transaction between steps holds no lock.
 *
 * The node failing (unreachable, timeouts, refusals) is data: the worker
 * logs it, records it in loyalty_signers.last_error and backs off; the
 * procedure raises it. ERROR is for bugs.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "chain/chain.h"
#include "chain/chain_pg.h"
#include "megamarket.h"
#include "loyalty/loyalty.h"
#include "loyalty/loyalty_int.h"

/* how many transactions one claim transaction signs, and how many may be open */
#define TXS_PER_COMMIT	16
#define MAX_OPEN_TXS	64
#define RPC_CHUNK		100
/* a sent transaction without receipt this long is sent again */
#define REBROADCAST_MS	5000

/* An open transaction as _loyalty_open returns it. */
typedef struct OpenTx
{
	int64		tx_id;
	int64		nonce;
	bool		sent;
	char		kind[16];
	int			nhashes;
	char	  **hashes;
	bytea	   *raw;
	uint64		max_fee;
	uint64		priority_fee;
	int64		age_ms;
	bool		nonce_low;		/* the node said "nonce too low" to a send */
} OpenTx;

/* ---- transactions: one per step ---- */

static bool
step_begin(LoyaltyCtx *c)
{
	if (c->mode == LOYALTY_MODE_PROCEDURE)
		return true;			/* the CALL's transaction (SPI_commit renews it) */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The extension may be gone or going: never wait for DROP EXTENSION or
	 * DROP DATABASE (pg_net's is_extension_locked).
	 */
	if (!MegamarketLockTable("loyalty_transactions", AccessShareLock))
	{
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		return false;
	}
	pgstat_report_activity(STATE_RUNNING, "megamarket dispatcher round");
	return true;
}

static void
step_end(LoyaltyCtx *c)
{
	if (c->mode == LOYALTY_MODE_PROCEDURE)
	{
		SPI_commit();
		return;
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* ---- SPI helpers ---- */

static void
spi_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expect)
		elog(ERROR, "loyalty dispatcher: SPI failed (%d) on: %s", rc, sql);
}

static Datum
text_datum(const char *s)
{
	return CStringGetTextDatum(s);
}

static Datum
numeric_u64(uint64 v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), UINT64_FORMAT, v);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

static uint64
u64_of_numeric_text(const char *s)
{
	uint64		v = 0;

	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			elog(ERROR, "loyalty dispatcher: bad stored fee \"%s\"", s);
		v = v * 10 + (uint64) (*s - '0');
	}
	return v;
}

/* ---- node helpers ---- */

/* Record a transport failure (false) or a node error; returns false. */
static bool
node_failed(LoyaltyCtx *c, const ChainError *err, const char *what)
{
	if (c->mode == LOYALTY_MODE_PROCEDURE)
		ChainReportError(what, err, ChainRpcDisplayUrl(c->rpc));
	c->res->node_down = (err->code == CHAIN_ERR_CONNECT || err->code == CHAIN_ERR_TIMEOUT ||
						 err->code == CHAIN_ERR_HTTP || err->code == CHAIN_ERR_PROTOCOL ||
						 err->code == CHAIN_ERR_CANCELED);
	snprintf(c->res->error, sizeof(c->res->error), "%s: %s%s%s", what, err->message,
			 err->detail[0] ? ": " : "", err->detail);
	return false;
}

/* A call that must succeed; its result string (or JSON text). */
static bool
rpc_call(LoyaltyCtx *c, const char *method, const char *params, ChainRpcReply *reply)
{
	ChainError	err;

	if (!ChainRpcCall(c->rpc, method, params, reply, &err))
		return node_failed(c, &err, method);
	if (reply->error_message)
	{
		ChainRpcReplyError(reply, method, &err);
		return node_failed(c, &err, method);
	}
	return true;
}

static bool
rpc_u64(LoyaltyCtx *c, const char *method, const char *params, uint64 *out)
{
	ChainRpcReply reply;
	ChainError	err;

	if (!rpc_call(c, method, params, &reply))
		return false;
	if (reply.result_string == NULL ||
		!ChainParseQuantityU64(reply.result_string, strlen(reply.result_string), out, method, &err))
	{
		ChainSetError(&err, CHAIN_ERR_PROTOCOL, "%s returned no quantity", method);
		return node_failed(c, &err, method);
	}
	return true;
}

/* The value of a top-level key of a JSON object (text), or NULL. */
char *
LoyaltyJsonField(const char *json, const char *key)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(jb))
		return NULL;
	v = getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * LoyaltyConnect
 *		Settings, key, node: everything a round needs before it touches the
 *		queue. The node must report the configured chain id (a transaction
 *		signed for another chain would never be accepted and block the nonce
 *		sequence).
 */
bool
LoyaltyConnect(LoyaltyCtx *c, bool need_contract)
{
	ChainError	err;
	uint64		node_chain;
	char		params[64];

	if (megamarket_eth_rpc_url == NULL || megamarket_eth_rpc_url[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("megamarket.eth_rpc_url is not set"),
				 errhint("Set it to the Ethereum node's JSON-RPC URL, e.g. ALTER SYSTEM SET megamarket.eth_rpc_url = 'http://127.0.0.1:8545'.")));
	if (megamarket_eth_chain_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("megamarket.eth_chain_id is not set"),
				 errhint("Set it to the chain's id: 1 mainnet, 11155111 Sepolia, 137 Polygon, 31337 anvil.")));
	c->chain_id = (uint64) megamarket_eth_chain_id;
	c->has_contract = false;
	if (megamarket_loyalty_contract && megamarket_loyalty_contract[0])
	{
		if (!ChainAddressParse(megamarket_loyalty_contract, strlen(megamarket_loyalty_contract),
							   c->contract, false, &err))
			ChainReportError("megamarket.loyalty_contract", &err, NULL);
		ChainAddressToText(c->contract, c->contract_text);
		c->has_contract = true;
	}
	else if (need_contract)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("megamarket.loyalty_contract is not set"),
				 errhint("Deploy the contract with megamarket.loyalty_deploy() and set megamarket.loyalty_contract to its address.")));

	LoyaltyReadKey(c->key);
	c->have_key = true;
	if (!ChainKeyAddress(c->key, c->sender_bin, &err))
		ChainReportError("megamarket.signer_key_file", &err, NULL);
	ChainAddressToText(c->sender_bin, c->sender);

	c->rpc = ChainRpcCreatePg(CurrentMemoryContext, megamarket_eth_rpc_url,
							  Min(megamarket_eth_timeout, 5000), megamarket_eth_timeout);
	if (!rpc_u64(c, "eth_chainId", NULL, &node_chain))
		return false;
	if (node_chain != c->chain_id)
	{
		snprintf(params, sizeof(params), UINT64_FORMAT, node_chain);
		if (c->mode != LOYALTY_MODE_WORKER)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("Ethereum node at \"%s\" is on chain %s, not megamarket.eth_chain_id %d",
							ChainRpcDisplayUrl(c->rpc), params, megamarket_eth_chain_id),
					 errhint("Point megamarket.eth_rpc_url at a node of chain %d, or correct megamarket.eth_chain_id.",
							 megamarket_eth_chain_id)));
		snprintf(c->res->error, sizeof(c->res->error),
				 "node is on chain %s, not megamarket.eth_chain_id %d: nothing signed",
				 params, megamarket_eth_chain_id);
		return false;
	}
	return true;
}

/* Fees for new transactions: priority tip, and twice the gas price above it. */
bool
LoyaltyFees(LoyaltyCtx *c)
{
	uint64		gas_price;
	uint64		tip;

	if (c->have_fees)
		return true;
	if (!rpc_u64(c, "eth_gasPrice", NULL, &gas_price))
		return false;
	if (!rpc_u64(c, "eth_maxPriorityFeePerGas", NULL, &tip))
		return false;
	if (gas_price > UINT64_MAX / 4)
		elog(ERROR, "loyalty dispatcher: gas price out of range");
	c->priority_fee = tip;
	c->max_fee = gas_price * 2 + tip;
	c->have_fees = true;
	return true;
}

/* The nonce row of the sender, made from the node's count the first time. */
bool
LoyaltyEnsureNonce(LoyaltyCtx *c)
{
	char		params[128];
	uint64		count;
	bool		known;
	Oid			types[3] = {INT8OID, TEXTOID, INT8OID};
	Datum		values[3];

	if (!step_begin(c))
		return false;
	values[0] = Int64GetDatum((int64) c->chain_id);
	values[1] = text_datum(c->sender);
	spi_exec("SELECT 1 FROM megamarket.loyalty_signers WHERE chain_id = $1 AND address = $2",
			 2, types, values, NULL, SPI_OK_SELECT);
	known = SPI_processed > 0;
	step_end(c);
	if (known)
		return true;
	snprintf(params, sizeof(params), "[\"%s\",\"pending\"]", c->sender);
	if (!rpc_u64(c, "eth_getTransactionCount", params, &count))
		return false;
	if (!step_begin(c))
		return false;
	/* made again: the first step's SPI memory is gone */
	values[0] = Int64GetDatum((int64) c->chain_id);
	values[1] = text_datum(c->sender);
	values[2] = Int64GetDatum((int64) count);
	spi_exec("SELECT megamarket._loyalty_sync_nonce($1, $2, $3)", 3, types, values, NULL, SPI_OK_SELECT);
	step_end(c);
	return true;
}

/* Sign tx (the context's key and chain) into out; ERROR if the library fails. */
void
LoyaltySign(LoyaltyCtx *c, ChainTx *tx, ChainSignedTx *out)
{
	ChainError	err;
	ChainEnv	env;

	ChainEnvInitPg(&env, CurrentMemoryContext, 0, 0);
	tx->type = CHAIN_TX_EIP1559;
	tx->chain_id = c->chain_id;
	if (!ChainSignTx(&env, tx, c->key, out, &err))
		ChainReportError("loyalty dispatcher", &err, NULL);
}

static char *
hex_of(const uint8_t *p, size_t n)
{
	char	   *s = palloc(2 * n + 3);

	return ChainHexEncode(p, n, s, true);
}

/* ---- step: load open transactions ---- */

static OpenTx *
load_open(LoyaltyCtx *c, int *n)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	OpenTx	   *txs;
	MemoryContext outer = CurrentMemoryContext;

	*n = 0;
	if (!step_begin(c))
		return NULL;
	values[0] = Int64GetDatum((int64) c->chain_id);
	values[1] = text_datum(c->sender);
	spi_exec("SELECT tx_id, nonce, state, kind, hashes, raw, max_fee::text, priority_fee::text, age_ms "
			 "FROM megamarket._loyalty_open($1, $2)", 2, types, values, NULL, SPI_OK_SELECT);
	txs = MemoryContextAllocZero(outer, sizeof(OpenTx) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		OpenTx	   *o = &txs[i];
		ArrayType  *arr;
		Datum	   *elems;
		int			nelems;
		MemoryContext old;

		o->tx_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		o->nonce = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		o->sent = strcmp(SPI_getvalue(t, d, 3), "sent") == 0;
		strlcpy(o->kind, SPI_getvalue(t, d, 4), sizeof(o->kind));
		arr = DatumGetArrayTypeP(SPI_getbinval(t, d, 5, &isnull));
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
		old = MemoryContextSwitchTo(outer);
		o->nhashes = nelems;
		o->hashes = palloc(sizeof(char *) * nelems);
		for (int k = 0; k < nelems; k++)
			o->hashes[k] = TextDatumGetCString(elems[k]);
		o->raw = DatumGetByteaPCopy(SPI_getbinval(t, d, 6, &isnull));
		MemoryContextSwitchTo(old);
		o->max_fee = u64_of_numeric_text(SPI_getvalue(t, d, 7));
		o->priority_fee = u64_of_numeric_text(SPI_getvalue(t, d, 8));
		o->age_ms = DatumGetInt64(SPI_getbinval(t, d, 9, &isnull));
	}
	*n = (int) SPI_processed;
	step_end(c);
	return txs;
}

/* ---- step: settle by receipts ---- */

/* The revert reason of a mined, failed call: replay it with eth_call. */
static char *
revert_reason(LoyaltyCtx *c, const OpenTx *o, const char *block)
{
	ChainTx		tx;
	ChainSignedTx sig;
	ChainError	err;
	ChainRpcReply reply;
	StringInfoData p;
	char		to[CHAIN_ADDRESS_TEXT_LEN];

	if (!ChainTxDecode((const uint8_t *) VARDATA_ANY(o->raw), VARSIZE_ANY_EXHDR(o->raw), &tx, &sig, NULL, &err))
		return pstrdup("reverted (the stored transaction does not decode)");
	initStringInfo(&p);
	appendStringInfo(&p, "[{\"from\":\"%s\",", c->sender);
	if (tx.has_to)
		appendStringInfo(&p, "\"to\":\"%s\",", ChainAddressToText(tx.to, to));
	appendStringInfo(&p, "\"gas\":\"0x%lx\",\"data\":\"%s\"},\"%s\"]",
					 (unsigned long) tx.gas_limit, hex_of(tx.data, tx.data_len), block);
	if (!ChainRpcCall(c->rpc, "eth_call", p.data, &reply, &err))
		return pstrdup("reverted (the node could not replay the call)");
	if (reply.error_kind == CHAIN_NODE_REVERTED && reply.error_data_string)
	{
		uint8_t    *data = palloc(strlen(reply.error_data_string) / 2 + 1);
		size_t		len;
		ChainRevert rv;

		if (ChainHexDecode(reply.error_data_string, strlen(reply.error_data_string), data,
						   strlen(reply.error_data_string) / 2 + 1, &len, "revert data", &err))
		{
			ChainAbiDecodeRevert(data, len, &rv);
			return pstrdup(rv.reason);
		}
	}
	if (reply.error_message)
		return psprintf("reverted: %s", reply.error_message);
	if (tx.gas_limit > 0)
		return pstrdup("reverted (out of gas, or the reason is not reproducible at that block)");
	return pstrdup("reverted");
}

typedef struct Settlement
{
	int64		tx_id;
	char	   *receipt;		/* JSON text, or NULL: dropped */
	char	   *reason;
} Settlement;

/*
 * settle
 *		Receipts for every attempt of every open transaction (JSON-RPC
 *		batches). Mined ones are recorded in one transaction. A transaction
 *		whose send met "nonce too low" and of which no attempt is mined or
 *		known to the node lost its nonce to another sender's transaction: it
 *		is dropped and its items queued again. Returns false if the node
 *		failed.
 */
static bool
settle(LoyaltyCtx *c, OpenTx *txs, int n, bool *settled_any)
{
	int			total = 0;
	const char **methods;
	const char **params;
	ChainRpcReply *replies;
	int		   *owner;
	Settlement *st;
	char	  **receipts;
	int			nst = 0;
	bool		resync = false;
	ChainError	err;

	*settled_any = false;
	for (int i = 0; i < n; i++)
		total += txs[i].nhashes;
	if (total == 0)
		return true;
	methods = palloc(sizeof(char *) * total);
	params = palloc(sizeof(char *) * total);
	replies = palloc0(sizeof(ChainRpcReply) * total);
	owner = palloc(sizeof(int) * total);
	st = palloc0(sizeof(Settlement) * n);
	for (int i = 0, k = 0; i < n; i++)
		for (int h = 0; h < txs[i].nhashes; h++, k++)
		{
			methods[k] = "eth_getTransactionReceipt";
			params[k] = psprintf("[\"%s\"]", txs[i].hashes[h]);
			owner[k] = i;
		}
	/* a reply's text lives until the next call on the handle: copy it now */
	receipts = palloc0(sizeof(char *) * total);
	for (int k = 0; k < total; k += RPC_CHUNK)
	{
		int			m = Min(RPC_CHUNK, total - k);

		CHECK_FOR_INTERRUPTS();
		if (!ChainRpcBatch(c->rpc, m, methods + k, params + k, replies + k, &err))
			return node_failed(c, &err, "eth_getTransactionReceipt");
		for (int j = k; j < k + m; j++)
			if (replies[j].error_message == NULL && replies[j].result &&
				strcmp(replies[j].result, "null") != 0)
				receipts[j] = pstrdup(replies[j].result);
		ChainRpcReleaseReplies(c->rpc);
	}
	for (int i = 0, k = 0; i < n; i++)
	{
		char	   *found = NULL;

		for (int h = 0; h < txs[i].nhashes; h++, k++)
			if (receipts[k])
				found = receipts[k];
		if (found)
		{
			char	   *status = LoyaltyJsonField(found, "status");

			st[nst].tx_id = txs[i].tx_id;
			st[nst].receipt = found;
			if (status == NULL || strcmp(status, "0x1") != 0)
			{
				char	   *block = LoyaltyJsonField(found, "blockNumber");

				st[nst].reason = revert_reason(c, &txs[i], block ? block : "latest");
			}
			nst++;
		}
		else if (txs[i].nonce_low)
		{
			/* no receipt: is any attempt of ours still known to the node? */
			bool		known = false;

			for (int h = 0; h < txs[i].nhashes && !known; h++)
			{
				ChainRpcReply r;

				if (!rpc_call(c, "eth_getTransactionByHash", psprintf("[\"%s\"]", txs[i].hashes[h]), &r))
					return false;
				known = r.result && strcmp(r.result, "null") != 0;
			}
			if (!known)
			{
				st[nst].tx_id = txs[i].tx_id;
				st[nst].receipt = NULL;
				st[nst].reason = psprintf("nonce %lld was used by another transaction of %s",
										  (long long) txs[i].nonce, c->sender);
				nst++;
				resync = true;
			}
		}
	}
	if (nst == 0 && !resync)
		return true;
	if (!step_begin(c))
		return false;
	for (int i = 0; i < nst; i++)
	{
		Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
		Datum		values[3];
		char		nulls[3] = {' ', ' ', ' '};

		values[0] = Int64GetDatum(st[i].tx_id);
		if (st[i].receipt == NULL)
		{
			values[1] = text_datum(st[i].reason);
			spi_exec("SELECT megamarket._loyalty_drop($1, $2)", 2, types, values, NULL, SPI_OK_SELECT);
			ereport(LOG,
					(errmsg("megamarket loyalty dispatcher: transaction %lld dropped: %s",
							(long long) st[i].tx_id, st[i].reason),
					 errdetail("Its awards are queued again.")));
			continue;
		}
		values[1] = text_datum(st[i].receipt);
		if (st[i].reason)
			values[2] = text_datum(st[i].reason);
		else
			nulls[2] = 'n';
		spi_exec("SELECT megamarket._loyalty_settle($1, $2::jsonb, $3)", 3, types, values, nulls, SPI_OK_SELECT);
	}
	step_end(c);
	c->res->settled_txs += nst;
	*settled_any = nst > 0;
	if (resync)
	{
		/* move past the nonces something else used (never backwards) */
		uint64		count;
		Oid			types[3] = {INT8OID, TEXTOID, INT8OID};
		Datum		values[3];

		if (!rpc_u64(c, "eth_getTransactionCount", psprintf("[\"%s\",\"latest\"]", c->sender), &count))
			return false;
		if (!step_begin(c))
			return false;
		values[0] = Int64GetDatum((int64) c->chain_id);
		values[1] = text_datum(c->sender);
		values[2] = Int64GetDatum((int64) count);
		spi_exec("SELECT megamarket._loyalty_sync_nonce($1, $2, $3)", 3, types, values, NULL, SPI_OK_SELECT);
		step_end(c);
	}
	return true;
}

/* ---- step: replace stuck transactions ---- */

static bool
replace_stuck(LoyaltyCtx *c, OpenTx *txs, int n)
{
	bool		any = false;

	for (int i = 0; i < n; i++)
		if (txs[i].sent && txs[i].age_ms >= megamarket_loyalty_replace_after)
			any = true;
	if (!any)
		return true;
	if (!LoyaltyFees(c))
		return false;
	if (!step_begin(c))
		return false;
	for (int i = 0; i < n; i++)
	{
		OpenTx	   *o = &txs[i];
		ChainTx		tx;
		ChainSignedTx sig;
		ChainSignedTx out;
		ChainError	err;
		uint64		tip;
		uint64		fee;
		Oid			types[5] = {INT8OID, TEXTOID, BYTEAOID, NUMERICOID, NUMERICOID};
		Datum		values[5];
		char	   *hash;
		bytea	   *raw;

		if (!o->sent || o->age_ms < megamarket_loyalty_replace_after)
			continue;
		if (!ChainTxDecode((const uint8_t *) VARDATA_ANY(o->raw), VARSIZE_ANY_EXHDR(o->raw), &tx, &sig, NULL, &err))
			ChainReportError("loyalty dispatcher", &err, NULL);
		/* same nonce, same call; at least 25 % more (nodes ask for 10 %) */
		tip = Max(o->priority_fee + o->priority_fee / 4 + 1, c->priority_fee);
		fee = Max(o->max_fee + o->max_fee / 4 + 1, c->max_fee);
		fee = Max(fee, tip);
		ChainU256FromU64(&tx.max_priority_fee_per_gas, tip);
		ChainU256FromU64(&tx.max_fee_per_gas, fee);
		LoyaltySign(c, &tx, &out);
		hash = hex_of(out.hash, CHAIN_HASH_LEN);
		raw = palloc(VARHDRSZ + out.raw_len);
		SET_VARSIZE(raw, VARHDRSZ + out.raw_len);
		memcpy(VARDATA(raw), out.raw, out.raw_len);
		values[0] = Int64GetDatum(o->tx_id);
		values[1] = text_datum(hash);
		values[2] = PointerGetDatum(raw);
		values[3] = numeric_u64(fee);
		values[4] = numeric_u64(tip);
		spi_exec("SELECT megamarket._loyalty_replaced($1, $2, $3, $4, $5)", 5, types, values, NULL, SPI_OK_SELECT);
		ereport(LOG,
				(errmsg("megamarket loyalty dispatcher: nonce %lld had no receipt after %lld ms: replaced by %s with max fee %llu wei",
						(long long) o->nonce, (long long) o->age_ms, hash, (unsigned long long) fee)));
	}
	step_end(c);
	return true;
}

/* ---- step: claim, sign, commit ---- */

/* Gas for a call: generous, measured on anvil (docs/loyalty.md); unused gas is not paid. */
static uint64
gas_for(const char *kind, int n)
{
	if (strcmp(kind, "register") == 0)
		return 80000;
	return 60000 + 20000 * (uint64) n;
}

/*
 * sign_queued
 *		Up to TXS_PER_COMMIT transactions per database transaction: claim,
 *		build, sign, record; then commit. Repeats while work is queued and
 *		fewer than MAX_OPEN_TXS transactions are open.
 */
static bool
sign_queued(LoyaltyCtx *c, int open_now)
{
	if (!c->has_contract)
		return true;
	while (open_now < MAX_OPEN_TXS)
	{
		int			made = 0;
		bool		empty = false;

		if (!LoyaltyFees(c))
			return false;
		if (!step_begin(c))
			return false;
		while (made < TXS_PER_COMMIT && open_now < MAX_OPEN_TXS)
		{
			Oid			t2[2] = {INT8OID, TEXTOID};
			Datum		v2[2];
			Oid			t1[1] = {INT4OID};
			Datum		v1[1];
			bool		isnull;
			int64		nonce;
			char	   *kind;
			Datum	   *ids;
			Datum	   *addrs;
			Datum	   *units;
			int			n;
			ChainBuf	data;
			ChainEnv	env;
			ChainError	err;
			ChainTx		tx;
			ChainSignedTx out;
			HeapTuple	tup;
			TupleDesc	desc;
			ArrayType  *ids_arr;

			CHECK_FOR_INTERRUPTS();
			v2[0] = Int64GetDatum((int64) c->chain_id);
			v2[1] = text_datum(c->sender);
			spi_exec("SELECT megamarket._loyalty_lock_nonce($1, $2)", 2, t2, v2, NULL, SPI_OK_SELECT);
			if (SPI_processed != 1)
				elog(ERROR, "loyalty dispatcher: no nonce row for %s", c->sender);
			nonce = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			if (isnull)
				elog(ERROR, "loyalty dispatcher: no nonce row for %s", c->sender);

			v1[0] = Int32GetDatum(megamarket_loyalty_batch_size);
			spi_exec("SELECT kind, ids, addresses, units FROM megamarket._loyalty_claim($1)",
					 1, t1, v1, NULL, SPI_OK_SELECT);
			tup = SPI_tuptable->vals[0];
			desc = SPI_tuptable->tupdesc;
			kind = SPI_getvalue(tup, desc, 1);
			if (kind == NULL)
			{
				empty = true;
				break;
			}
			ids_arr = DatumGetArrayTypePCopy(SPI_getbinval(tup, desc, 2, &isnull));
			deconstruct_array(ids_arr, INT8OID, 8, true, TYPALIGN_DOUBLE, &ids, NULL, &n);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)),
							  TEXTOID, -1, false, TYPALIGN_INT, &addrs, NULL, &n);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)),
							  INT8OID, 8, true, TYPALIGN_DOUBLE, &units, NULL, &n);

			/* the call */
			ChainEnvInitPg(&env, CurrentMemoryContext, 0, 0);
			ChainBufInit(&data, &env);
			if (strcmp(kind, "register") == 0)
			{
				uint8_t		a[CHAIN_ADDRESS_LEN];
				char	   *s = TextDatumGetCString(addrs[0]);

				if (!ChainAddressParse(s, strlen(s), a, false, &err))
					ChainReportError("loyalty dispatcher", &err, NULL);
				ChainAbiRegisterCustomer(&data, a);
			}
			else
			{
				uint8_t		(*a)[CHAIN_ADDRESS_LEN] = palloc(sizeof(*a) * n);
				ChainU256  *amt = palloc(sizeof(ChainU256) * n);

				for (int k = 0; k < n; k++)
				{
					char	   *s = TextDatumGetCString(addrs[k]);

					if (!ChainAddressParse(s, strlen(s), a[k], false, &err))
						ChainReportError("loyalty dispatcher", &err, NULL);
					ChainU256FromU64(&amt[k], (uint64) DatumGetInt64(units[k]));
				}
				if (n == 1)
					ChainAbiAwardPoints(&data, a[0], &amt[0]);
				else
					ChainAbiAwardPointsBatch(&data, (const uint8_t (*)[CHAIN_ADDRESS_LEN]) a, amt, n);
			}
			if (!ChainBufCheck(&data, "call data", &err))
				ChainReportError("loyalty dispatcher", &err, NULL);

			/* the transaction */
			memset(&tx, 0, sizeof(tx));
			tx.nonce = (uint64) nonce;
			ChainU256FromU64(&tx.max_priority_fee_per_gas, c->priority_fee);
			ChainU256FromU64(&tx.max_fee_per_gas, c->max_fee);
			tx.gas_limit = gas_for(kind, n);
			tx.has_to = true;
			memcpy(tx.to, c->contract, CHAIN_ADDRESS_LEN);
			tx.data = data.data;
			tx.data_len = data.len;
			LoyaltySign(c, &tx, &out);
			LoyaltyRecordSigned(c, kind, PointerGetDatum(ids_arr), nonce, c->contract_text,
								tx.gas_limit, &out, c->max_fee, c->priority_fee);
			made++;
			open_now++;
		}
		if (made > 0)
			LoyaltyMaybePause(LOYALTY_PAUSE_AFTER_SIGN);
		step_end(c);
		c->res->signed_txs += made;
		if (made > 0)
			LoyaltyMaybePause(LOYALTY_PAUSE_AFTER_COMMIT);
		if (empty || made == 0)
			return true;
	}
	c->res->more = true;		/* the open-transaction window is full */
	return true;
}

/* Insert a signed transaction (inside the caller's step). */
int64
LoyaltyRecordSigned(LoyaltyCtx *c, const char *kind, Datum ids, int64 nonce, const char *contract,
					uint64 gas_limit, const ChainSignedTx *out, uint64 max_fee, uint64 tip)
{
	Oid			types[11] = {TEXTOID, INT8ARRAYOID, INT8OID, TEXTOID, INT8OID, TEXTOID, INT8OID,
	TEXTOID, BYTEAOID, NUMERICOID, NUMERICOID};
	Datum		values[11];
	char		nulls[11];
	bytea	   *raw = palloc(VARHDRSZ + out->raw_len);
	bool		isnull;

	memset(nulls, ' ', sizeof(nulls));
	SET_VARSIZE(raw, VARHDRSZ + out->raw_len);
	memcpy(VARDATA(raw), out->raw, out->raw_len);
	values[0] = text_datum(kind);
	values[1] = ids;
	if (ids == (Datum) 0)
		nulls[1] = 'n';
	values[2] = Int64GetDatum((int64) c->chain_id);
	values[3] = text_datum(c->sender);
	values[4] = Int64GetDatum(nonce);
	values[5] = contract ? text_datum(contract) : (Datum) 0;
	if (contract == NULL)
		nulls[5] = 'n';
	values[6] = Int64GetDatum((int64) gas_limit);
	values[7] = text_datum(hex_of(out->hash, CHAIN_HASH_LEN));
	values[8] = PointerGetDatum(raw);
	values[9] = numeric_u64(max_fee);
	values[10] = numeric_u64(tip);
	spi_exec("SELECT megamarket._loyalty_signed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
			 11, types, values, nulls, SPI_OK_SELECT);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* ---- step: send in nonce order ---- */

/*
 * send_open
 *		eth_sendRawTransaction for the open transactions not yet taken by the
 *		node (all of them after a restart: the node may have lost its pool),
 *		in nonce order, one request each (a JSON-RPC batch may be taken in any
 *		order, and anvil then shelves the ones past a gap). What the node says:
 *		  a hash / "already known"  -> sent
 *		  "nonce too low"           -> mined or replaced: settle by receipt
 *		  "underpriced"             -> kept; replaced later with a higher fee
 *		  anything else             -> recorded on the transaction, retried
 */
static bool
send_open(LoyaltyCtx *c, OpenTx *txs, int n, bool resend_all)
{
	ChainError	err;
	Datum	   *sent = palloc(sizeof(Datum) * Max(n, 1));
	char	  **errors = palloc0(sizeof(char *) * Max(n, 1));
	int			nsent = 0;
	int			nerr = 0;
	int			m = 0;

	for (int i = 0; i < n; i++)
	{
		OpenTx	   *o = &txs[i];
		ChainRpcReply r;
		char	   *hex;

		/*
		 * Sent ones again only after a restart, or when their receipt is
		 * late (a node that lost or shelved them takes them back: harmless).
		 */
		if (o->sent && !resend_all && o->age_ms < REBROADCAST_MS)
			continue;
		CHECK_FOR_INTERRUPTS();
		hex = palloc(VARSIZE_ANY_EXHDR(o->raw) * 2 + 3);
		ChainHexEncode((const uint8_t *) VARDATA_ANY(o->raw), VARSIZE_ANY_EXHDR(o->raw), hex, true);
		if (!ChainRpcCall(c->rpc, "eth_sendRawTransaction", psprintf("[\"%s\"]", hex), &r, &err))
		{
			if (m == 0)
				return node_failed(c, &err, "eth_sendRawTransaction");
			node_failed(c, &err, "eth_sendRawTransaction");
			break;				/* record what was sent before the failure */
		}
		m++;
		if (r.error_message == NULL || r.error_kind == CHAIN_NODE_ALREADY_KNOWN)
		{
			if (!o->sent)
				sent[nsent++] = Int64GetDatum(o->tx_id);
		}
		else if (r.error_kind == CHAIN_NODE_NONCE_TOO_LOW)
			o->nonce_low = true;
		else
		{
			errors[i] = psprintf("eth_sendRawTransaction: %s", r.error_message);
			if (nerr++ == 0)
				snprintf(c->res->error, sizeof(c->res->error), "eth_sendRawTransaction of nonce %lld: %s",
						 (long long) o->nonce, r.error_message);
		}
		ChainRpcReleaseReplies(c->rpc);
	}
	if (m == 0)
		return true;
	LoyaltyMaybePause(LOYALTY_PAUSE_AFTER_SEND);

	if (!step_begin(c))
		return false;
	for (int i = 0; i < n; i++)
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		values[2];

		if (errors[i] == NULL)
			continue;
		values[0] = Int64GetDatum(txs[i].tx_id);
		values[1] = text_datum(errors[i]);
		spi_exec("SELECT megamarket._loyalty_tx_error($1, $2)", 2, types, values, NULL, SPI_OK_SELECT);
	}
	if (nsent > 0)
	{
		Oid			types[1] = {INT8ARRAYOID};
		Datum		values[1];

		values[0] = PointerGetDatum(construct_array(sent, nsent, INT8OID, 8, true, TYPALIGN_DOUBLE));
		spi_exec("SELECT megamarket._loyalty_sent($1)", 1, types, values, NULL, SPI_OK_SELECT);
	}
	step_end(c);
	c->res->sent_txs += nsent;
	return c->res->node_down ? false : true;
}

/* ---- the round ---- */

static void
record_signer_error(LoyaltyCtx *c, const char *msg)
{
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	if (c->sender[0] == '\0' || c->mode != LOYALTY_MODE_WORKER)
		return;
	if (!step_begin(c))
		return;
	values[0] = Int64GetDatum((int64) c->chain_id);
	values[1] = text_datum(c->sender);
	if (msg && msg[0])
		values[2] = text_datum(msg);
	else
		nulls[2] = 'n';
	spi_exec("SELECT megamarket._loyalty_signer_error($1, $2, $3)", 3, types, values, nulls, SPI_OK_SELECT);
	step_end(c);
}

static bool
round_body(LoyaltyCtx *c, bool resend_all)
{
	OpenTx	   *txs;
	int			n;
	bool		settled;

	if (!LoyaltyConnect(c, false))
		return false;
	if (!LoyaltyEnsureNonce(c))
		return false;

	/* 1. settle what is mined; replace what is stuck */
	txs = load_open(c, &n);
	if (txs == NULL)
		return false;
	if (!settle(c, txs, n, &settled))
		return false;
	if (settled)
	{
		txs = load_open(c, &n);
		if (txs == NULL)
			return false;
	}
	if (!replace_stuck(c, txs, n))
		return false;

	/* 2. sign and commit queued work */
	if (!sign_queued(c, n))
		return false;

	/* 3. send, in nonce order */
	txs = load_open(c, &n);
	if (txs == NULL)
		return false;
	if (!send_open(c, txs, n, resend_all))
		return false;

	/* 4. receipts of what was just sent */
	if (!settle(c, txs, n, &settled))
		return false;
	/*
	 * Progress made: look again at once (receipts of what was just sent, the
	 * rest of the queue). Transactions merely waiting for a block do not
	 * spin the loop: the next nap (or commit) comes soon enough.
	 */
	if (c->res->signed_txs > 0 || c->res->settled_txs > 0)
		c->res->more = true;
	return true;
}

/*
 * LoyaltyRound
 *		Run one round. The key is read at the start and wiped at the end,
 *		whatever happens.
 */
void
LoyaltyRound(LoyaltyMode mode, bool resend_all, LoyaltyRoundResult *res)
{
	LoyaltyCtx	c;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.mode = mode;
	c.res = res;
	PG_TRY();
	{
		if (!round_body(&c, resend_all) && res->error[0] == '\0')
			res->skipped = true;
		if (mode == LOYALTY_MODE_WORKER && c.sender[0] && !res->skipped)
			record_signer_error(&c, res->error);
	}
	PG_CATCH();
	{
		ChainWipe(c.key, sizeof(c.key));
		PG_RE_THROW();
	}
	PG_END_TRY();
	ChainWipe(c.key, sizeof(c.key));
}
