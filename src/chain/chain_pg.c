/*
 * chain_pg.c
 *		The backend adapter of the chain library: a ChainEnv on palloc, the
 *		one place where ChainError classes become SQLSTATEs, an RPC client
 *		freed with its memory context, and the SQL functions of the chain
 *		module (hashing, addresses, decoding, a JSON-RPC call). None of them
 *		takes or returns a private key: signing is the dispatcher's, which
 *		reads the key file itself (src/loyalty).
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "chain/chain_pg.h"

/* ---- the env ---- */

/*
 * Allocations carry their size in a header so that realloc can copy without
 * repalloc (which throws, and libcurl's callbacks must not see a throw).
 */
#define CHAIN_PG_HDR	MAXALIGN(sizeof(size_t))

static void *
pg_alloc(void *ctx, size_t size)
{
	char	   *p;

	if (size > MaxAllocHugeSize - CHAIN_PG_HDR)
		return NULL;
	p = MemoryContextAllocExtended((MemoryContext) ctx, size + CHAIN_PG_HDR,
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (p == NULL)
		return NULL;
	*(size_t *) p = size;
	return p + CHAIN_PG_HDR;
}

static void
pg_free(void *ctx, void *ptr)
{
	if (ptr != NULL)
		pfree((char *) ptr - CHAIN_PG_HDR);
}

static void *
pg_realloc(void *ctx, void *ptr, size_t size)
{
	void	   *n;
	size_t		old;

	if (ptr == NULL)
		return pg_alloc(ctx, size);
	old = *(size_t *) ((char *) ptr - CHAIN_PG_HDR);
	n = pg_alloc(ctx, size);
	if (n == NULL)
		return NULL;
	memcpy(n, ptr, Min(old, size));
	pg_free(ctx, ptr);
	return n;
}

/* A cancel or termination is pending: stop what the library is doing. */
static bool
pg_interrupted(void *ctx)
{
	return QueryCancelPending || ProcDiePending;
}

void
ChainEnvInitPg(ChainEnv *env, MemoryContext cxt, long connect_timeout_ms, long timeout_ms)
{
	memset(env, 0, sizeof(*env));
	env->alloc = pg_alloc;
	env->realloc = pg_realloc;
	env->free = pg_free;
	env->interrupted = pg_interrupted;
	env->ctx = cxt ? cxt : CurrentMemoryContext;
	env->connect_timeout_ms = connect_timeout_ms;
	env->timeout_ms = timeout_ms;
}

/* ---- errors: the one mapping ---- */

int
ChainErrorSqlstate(const ChainError *err)
{
	switch (err->code)
	{
		case CHAIN_ERR_ARGUMENT:
		case CHAIN_ERR_KEY:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case CHAIN_ERR_ADDRESS:
			return ERRCODE_INVALID_TEXT_REPRESENTATION;
		case CHAIN_ERR_DECODE:
			return ERRCODE_INVALID_BINARY_REPRESENTATION;
		case CHAIN_ERR_CONNECT:
			return ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
		case CHAIN_ERR_TIMEOUT:
			return ERRCODE_CONNECTION_FAILURE;
		case CHAIN_ERR_HTTP:
		case CHAIN_ERR_PROTOCOL:
			return ERRCODE_PROTOCOL_VIOLATION;
		case CHAIN_ERR_NODE:
		case CHAIN_ERR_REVERT:
			return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
		case CHAIN_ERR_LIMIT:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case CHAIN_ERR_CANCELED:
			return ERRCODE_QUERY_CANCELED;
		case CHAIN_ERR_NOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case CHAIN_OK:
		case CHAIN_ERR_INTERNAL:
			break;
	}
	return ERRCODE_INTERNAL_ERROR;
}

void
ChainReportError(const char *where, const ChainError *err, const char *url)
{
	if (err->code == CHAIN_ERR_CANCELED)
		CHECK_FOR_INTERRUPTS();
	ereport(ERROR,
			(errcode(ChainErrorSqlstate(err)),
			 where ? errmsg("%s: %s", where, err->message) : errmsg("%s", err->message),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 err->hint[0] ? errhint("%s", err->hint) : 0,
			 url ? errcontext("Ethereum node at \"%s\"", url) : 0));
	pg_unreachable();
}

/* ---- an RPC client owned by a memory context ---- */

static void
rpc_reset_callback(void *arg)
{
	ChainRpcDestroy((ChainRpc *) arg);
}

ChainRpc *
ChainRpcCreatePg(MemoryContext cxt, const char *url, long connect_timeout_ms, long timeout_ms)
{
	ChainEnv   *env = MemoryContextAlloc(cxt, sizeof(ChainEnv));
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	ChainError	err;
	ChainRpc   *rpc;

	ChainEnvInitPg(env, cxt, connect_timeout_ms, timeout_ms);
	rpc = ChainRpcCreate(env, url, &err);
	if (rpc == NULL)
		ChainReportError(NULL, &err, NULL);
	cb->func = rpc_reset_callback;
	cb->arg = rpc;
	MemoryContextRegisterResetCallback(cxt, cb);
	return rpc;
}

/* ---- SQL functions ---- */

/* The bytes of a bytea argument (detoasted). */
#define BYTEA_DATA(b) ((const uint8_t *) VARDATA_ANY(b))
#define BYTEA_LEN(b) ((size_t) VARSIZE_ANY_EXHDR(b))

static bytea *
make_bytea(const uint8_t *p, size_t n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), p, n);
	return b;
}

/*
 * eth_keccak256(data bytea) returns bytea
 *		Keccak-256 as Ethereum uses it (not SHA3-256).
 */
PG_FUNCTION_INFO_V1(chain_eth_keccak256);
Datum
chain_eth_keccak256(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const uint8_t *p = BYTEA_DATA(in);
	size_t		len = BYTEA_LEN(in);
	ChainKeccak k;
	uint8_t		h[CHAIN_HASH_LEN];

	/* hash in 1 MB steps so that a cancel is seen on a huge input */
	ChainKeccakInit(&k);
	while (len > 0)
	{
		size_t		n = Min(len, (size_t) 1024 * 1024);

		CHECK_FOR_INTERRUPTS();
		ChainKeccakUpdate(&k, p, n);
		p += n;
		len -= n;
	}
	ChainKeccakFinal(&k, h);
	PG_RETURN_BYTEA_P(make_bytea(h, sizeof(h)));
}

/*
 * eth_address_checksum(address text) returns text
 *		The EIP-55 form of an address; a mixed-case input must already carry
 *		a correct checksum.
 */
PG_FUNCTION_INFO_V1(chain_eth_address_checksum);
Datum
chain_eth_address_checksum(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	uint8_t		addr[CHAIN_ADDRESS_LEN];
	char		out[CHAIN_ADDRESS_TEXT_LEN];
	ChainError	err;

	if (!ChainAddressParse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), addr, false, &err))
		ChainReportError(NULL, &err, NULL);
	PG_RETURN_TEXT_P(cstring_to_text(ChainAddressToText(addr, out)));
}

/*
 * eth_address_is_valid(address text, require_checksum boolean) returns boolean
 *		Whether the text is an address (and, when asked, checksummed); never
 *		an error for bad input.
 */
PG_FUNCTION_INFO_V1(chain_eth_address_is_valid);
Datum
chain_eth_address_is_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	bool		require = PG_GETARG_BOOL(1);
	uint8_t		addr[CHAIN_ADDRESS_LEN];
	ChainError	err;

	PG_RETURN_BOOL(ChainAddressParse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), addr, require, &err));
}

/*
 * eth_contract_address(sender text, nonce bigint) returns text
 *		The address a contract deployed by sender with nonce gets (CREATE).
 */
PG_FUNCTION_INFO_V1(chain_eth_contract_address);
Datum
chain_eth_contract_address(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int64		nonce = PG_GETARG_INT64(1);
	uint8_t		addr[CHAIN_ADDRESS_LEN];
	uint8_t		out[CHAIN_ADDRESS_LEN];
	char		txt[CHAIN_ADDRESS_TEXT_LEN];
	ChainError	err;

	if (nonce < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nonce must not be negative")));
	if (!ChainAddressParse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), addr, false, &err))
		ChainReportError(NULL, &err, NULL);
	ChainContractAddress(addr, (uint64_t) nonce, out);
	PG_RETURN_TEXT_P(cstring_to_text(ChainAddressToText(out, txt)));
}

/*
 * eth_function_selector(signature text) returns bytea
 *		The 4-byte selector of a function signature ("transfer(address,uint256)").
 */
PG_FUNCTION_INFO_V1(chain_eth_function_selector);
Datum
chain_eth_function_selector(PG_FUNCTION_ARGS)
{
	char	   *sig = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint8_t		sel[CHAIN_SELECTOR_LEN];

	if (strchr(sig, '(') == NULL || sig[strlen(sig) - 1] != ')' || strchr(sig, ' ') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid function signature \"%s\"", sig),
				 errhint("Write the canonical form, name and types without spaces or argument names, e.g. \"transfer(address,uint256)\".")));
	ChainAbiSelector(sig, sel);
	PG_RETURN_BYTEA_P(make_bytea(sel, sizeof(sel)));
}

/*
 * eth_revert_reason(data bytea) returns text
 *		What a revert's return data says: the Error(string) text, a panic's
 *		meaning, or the custom error's selector.
 */
PG_FUNCTION_INFO_V1(chain_eth_revert_reason);
Datum
chain_eth_revert_reason(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	ChainRevert rv;

	ChainAbiDecodeRevert(BYTEA_DATA(in), BYTEA_LEN(in), &rv);
	PG_RETURN_TEXT_P(cstring_to_text(rv.reason));
}

static Datum
u256_numeric(const ChainU256 *v)
{
	char		dec[CHAIN_U256_DEC_LEN];

	ChainU256ToDecimal(v, dec);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(dec),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

static Datum
u64_int8(uint64_t v, const char *field)
{
	if (v > (uint64_t) PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("transaction field \"%s\" is out of range for type bigint", field)));
	return Int64GetDatum((int64) v);
}

/*
 * eth_decode_transaction(raw bytea) returns record
 *		A signed transaction's fields, its hash and its sender (recovered from
 *		the signature), so that stored raw bytes can be read in SQL.
 */
PG_FUNCTION_INFO_V1(chain_eth_decode_transaction);
Datum
chain_eth_decode_transaction(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	TupleDesc	tupdesc;
	ChainTx		tx;
	ChainSignedTx sig;
	uint8_t		from[CHAIN_ADDRESS_LEN];
	ChainError	err;
	Datum		values[12];
	bool		nulls[12] = {0};
	char		addr[CHAIN_ADDRESS_TEXT_LEN];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "eth_decode_transaction must return a record");
	tupdesc = BlessTupleDesc(tupdesc);
	if (!ChainTxDecode(BYTEA_DATA(in), BYTEA_LEN(in), &tx, &sig, from, &err))
		ChainReportError("eth_decode_transaction", &err, NULL);

	values[0] = Int32GetDatum((int32) tx.type);
	values[1] = u64_int8(tx.chain_id, "chainId");
	values[2] = u64_int8(tx.nonce, "nonce");
	values[3] = CStringGetTextDatum(ChainAddressToText(from, addr));
	if (tx.has_to)
		values[4] = CStringGetTextDatum(ChainAddressToText(tx.to, addr));
	else
		nulls[4] = true;
	values[5] = u256_numeric(&tx.value);
	values[6] = u64_int8(tx.gas_limit, "gas");
	if (tx.type == CHAIN_TX_LEGACY)
	{
		values[7] = u256_numeric(&tx.gas_price);
		nulls[8] = nulls[9] = true;
	}
	else
	{
		nulls[7] = true;
		values[8] = u256_numeric(&tx.max_fee_per_gas);
		values[9] = u256_numeric(&tx.max_priority_fee_per_gas);
	}
	values[10] = PointerGetDatum(make_bytea(tx.data ? tx.data : (const uint8_t *) "", tx.data_len));
	values[11] = PointerGetDatum(make_bytea(sig.hash, CHAIN_HASH_LEN));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The backend's cached client: one libcurl handle, so consecutive calls to
 * the same node reuse the connection. Rebuilt when the URL or timeout
 * changes; lives in its own context under TopMemoryContext.
 */
static MemoryContext rpc_cxt;
static ChainRpc *rpc_cached;
static char *rpc_cached_url;
static long rpc_cached_timeout;

static ChainRpc *
get_rpc(const char *url, long timeout_ms)
{
	if (rpc_cached && strcmp(rpc_cached_url, url) == 0 && rpc_cached_timeout == timeout_ms)
		return rpc_cached;
	if (rpc_cxt == NULL)
		rpc_cxt = AllocSetContextCreate(TopMemoryContext, "megamarket eth_rpc",
										ALLOCSET_SMALL_SIZES);
	rpc_cached = NULL;
	MemoryContextReset(rpc_cxt);	/* destroys the old handle */
	rpc_cached = ChainRpcCreatePg(rpc_cxt, url, Min(timeout_ms, 10000L), timeout_ms);
	rpc_cached_url = MemoryContextStrdup(rpc_cxt, url);
	rpc_cached_timeout = timeout_ms;
	return rpc_cached;
}

/*
 * eth_rpc(url text, method text, params jsonb, timeout_ms integer) returns jsonb
 *		One JSON-RPC call; the node's result as jsonb. A node error is raised
 *		(38000) with the node's code and message; transport failures as
 *		08001 (connect), 08006 (timeout), 08P01 (not JSON-RPC). Not for
 *		PUBLIC: it makes the server send requests to any URL.
 */
PG_FUNCTION_INFO_V1(chain_eth_rpc);
Datum
chain_eth_rpc(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *method = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *params = PG_GETARG_JSONB_P(2);
	int32		timeout_ms = PG_GETARG_INT32(3);
	char	   *ptext;
	ChainRpc   *rpc;
	ChainRpcReply reply;
	ChainError	err;

	if (timeout_ms < 1 || timeout_ms > 3600 * 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("eth_rpc timeout must be between 1 and 3600000 ms")));
	if (!JB_ROOT_IS_ARRAY(params) || JB_ROOT_IS_SCALAR(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("eth_rpc params must be a JSON array"),
				 errhint("Pass the parameters as jsonb_build_array(...).")));
	ptext = JsonbToCString(NULL, &params->root, VARSIZE(params));
	rpc = get_rpc(url, timeout_ms);
	if (!ChainRpcCall(rpc, method, ptext, &reply, &err))
	{
		ChainRpcReleaseReplies(rpc);
		ChainReportError("eth_rpc", &err, NULL);
	}
	if (reply.error_message)
	{
		ChainRpcReplyError(&reply, method, &err);	/* copies what it needs */
		ChainRpcReleaseReplies(rpc);
		ChainReportError("eth_rpc", &err, ChainRpcDisplayUrl(rpc));
	}
	{
		Datum		result;

		/* the cached handle lives long: drop the reply once jsonb has it */
		PG_TRY();
		{
			result = DirectFunctionCall1(jsonb_in, CStringGetDatum(reply.result));
		}
		PG_FINALLY();
		{
			ChainRpcReleaseReplies(rpc);
		}
		PG_END_TRY();
		PG_RETURN_DATUM(result);
	}
}
