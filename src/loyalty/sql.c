/*
 * sql.c
 *		The loyalty SQL functions that talk to the node: loyalty_balance
 *		(eth_call), loyalty_deploy (a contract creation, signed and sent here),
 *		and the procedure loyalty_dispatch (one dispatcher round in this
 *		session, committing between its steps).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lock.h"
#include "utils/builtins.h"

#include "chain/chain.h"
#include "chain/chain_pg.h"
#include "loyalty/loyalty.h"
#include "loyalty/loyalty_int.h"

/*
 * loyalty_balance(customer_id)
 *		The contract's getPointsBalance for the customer's registered address,
 *		at the latest block. Needs no key.
 */
PG_FUNCTION_INFO_V1(loyalty_loyalty_balance);
Datum
loyalty_loyalty_balance(PG_FUNCTION_ARGS)
{
	int32		customer = PG_GETARG_INT32(0);
	Oid			types[1] = {INT4OID};
	Datum		values[1];
	char	   *address;
	uint8_t		addr[CHAIN_ADDRESS_LEN];
	uint8_t		contract[CHAIN_ADDRESS_LEN];
	ChainError	err;
	ChainEnv	env;
	ChainBuf	data;
	ChainRpc   *rpc;
	ChainRpcReply reply;
	ChainU256	v;
	char		dec[CHAIN_U256_DEC_LEN];
	char	   *params;
	char	   *hex;
	uint8_t    *bytes;
	size_t		len;

	if (megamarket_eth_rpc_url == NULL || megamarket_eth_rpc_url[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("megamarket.eth_rpc_url is not set")));
	if (megamarket_loyalty_contract == NULL || megamarket_loyalty_contract[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("megamarket.loyalty_contract is not set"),
				 errhint("Deploy the contract with megamarket.loyalty_deploy() and set megamarket.loyalty_contract to its address.")));
	if (!ChainAddressParse(megamarket_loyalty_contract, strlen(megamarket_loyalty_contract),
						   contract, false, &err))
		ChainReportError("megamarket.loyalty_contract", &err, NULL);

	SPI_connect();
	values[0] = Int32GetDatum(customer);
	if (SPI_execute_with_args("SELECT address FROM megamarket.loyalty_customers WHERE customer_id = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("customer %d is not registered for loyalty points", customer),
				 errhint("Register the customer's address first with megamarket.loyalty_register().")));
	address = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (!ChainAddressParse(address, strlen(address), addr, false, &err))
		ChainReportError("loyalty_balance", &err, NULL);
	SPI_finish();

	ChainEnvInitPg(&env, CurrentMemoryContext, 0, 0);
	ChainBufInit(&data, &env);
	ChainAbiGetPointsBalance(&data, addr);
	if (!ChainBufCheck(&data, "call data", &err))
		ChainReportError("loyalty_balance", &err, NULL);
	hex = palloc(data.len * 2 + 3);
	ChainHexEncode(data.data, data.len, hex, true);
	{
		char		ct[CHAIN_ADDRESS_TEXT_LEN];

		params = psprintf("[{\"to\":\"%s\",\"data\":\"%s\"},\"latest\"]",
						  ChainAddressToText(contract, ct), hex);
	}
	rpc = ChainRpcCreatePg(CurrentMemoryContext, megamarket_eth_rpc_url,
						   Min(megamarket_eth_timeout, 5000), megamarket_eth_timeout);
	if (!ChainRpcCall(rpc, "eth_call", params, &reply, &err))
		ChainReportError("loyalty_balance", &err, ChainRpcDisplayUrl(rpc));
	if (reply.error_message)
	{
		ChainRpcReplyError(&reply, "eth_call", &err);
		ChainReportError("loyalty_balance", &err, ChainRpcDisplayUrl(rpc));
	}
	if (reply.result_string == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("loyalty_balance: eth_call returned no data")));
	len = strlen(reply.result_string) / 2 + 1;
	bytes = palloc(len);
	if (!ChainHexDecode(reply.result_string, strlen(reply.result_string), bytes, len, &len,
						"eth_call result", &err))
		ChainReportError("loyalty_balance", &err, ChainRpcDisplayUrl(rpc));
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("loyalty_balance: no contract at %s", megamarket_loyalty_contract),
				 errhint("Check megamarket.loyalty_contract and megamarket.eth_rpc_url.")));
	if (!ChainAbiDecodeU256(bytes, len, 0, &v, &err))
		ChainReportError("loyalty_balance", &err, ChainRpcDisplayUrl(rpc));
	ChainU256ToDecimal(&v, dec);
	PG_RETURN_DATUM(DirectFunctionCall3(numeric_in, CStringGetDatum(dec),
										ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/*
 * loyalty_deploy()
 *		Deploy the contract (the bytecode of contracts/MegaMarketLoyalty.json,
 *		built into the extension) from the signer's address, wait up to a
 *		minute for the receipt and return the new contract's address. Unlike
 *		awards, it signs, records and sends in the caller's transaction: a
 *		deployment repeated after a rollback only costs gas, and the nonce it
 *		used is found again by the dispatcher ("nonce too low", then the
 *		node's count). Superuser only: it reads the key file.
 */
PG_FUNCTION_INFO_V1(loyalty_loyalty_deploy);
Datum
loyalty_loyalty_deploy(PG_FUNCTION_ARGS)
{
	LoyaltyCtx	c;
	LoyaltyRoundResult res;
	Oid			t2[2] = {INT8OID, TEXTOID};
	Datum		v2[2];
	bool		isnull;
	int64		nonce;
	bytea	   *code;
	ChainTx		tx;
	ChainSignedTx out;
	ChainRpcReply reply;
	ChainError	err;
	uint64		gas;
	char	   *hash;
	char	   *raw_hex;
	char	   *volatile receipt = NULL;
	char		addr_text[CHAIN_ADDRESS_TEXT_LEN];
	uint8_t		addr[CHAIN_ADDRESS_LEN];

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to deploy the loyalty contract"),
				 errdetail("Only superusers may sign with the server's key (megamarket.signer_key_file).")));
	memset(&c, 0, sizeof(c));
	memset(&res, 0, sizeof(res));
	c.mode = LOYALTY_MODE_PROCEDURE;	/* node failures are raised */
	c.res = &res;
	PG_TRY();
	{
		LoyaltyConnect(&c, false);

		/* the nonce row (from the node the first time) */
		SPI_connect();
		v2[0] = Int64GetDatum((int64) c.chain_id);
		v2[1] = CStringGetTextDatum(c.sender);
		if (SPI_execute_with_args("SELECT megamarket._loyalty_lock_nonce($1, $2)",
								  2, t2, v2, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI failed");
		nonce = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull)
		{
			uint64		count;
			Oid			t3[3] = {INT8OID, TEXTOID, INT8OID};
			Datum		v3[3];

			if (!ChainRpcCall(c.rpc, "eth_getTransactionCount",
							  psprintf("[\"%s\",\"pending\"]", c.sender), &reply, &err) ||
				reply.result_string == NULL ||
				!ChainParseQuantityU64(reply.result_string, strlen(reply.result_string), &count,
									   "eth_getTransactionCount", &err))
				ChainReportError("loyalty_deploy", &err, ChainRpcDisplayUrl(c.rpc));
			v3[0] = v2[0];
			v3[1] = v2[1];
			v3[2] = Int64GetDatum((int64) count);
			if (SPI_execute_with_args("SELECT megamarket._loyalty_sync_nonce($1, $2, $3)",
									  3, t3, v3, NULL, false, 0) != SPI_OK_SELECT ||
				SPI_execute_with_args("SELECT megamarket._loyalty_lock_nonce($1, $2)",
									  2, t2, v2, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "SPI failed");
			nonce = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		/* checked under the nonce row's lock: the dispatcher cannot sign meanwhile */
		if (SPI_execute_with_args("SELECT count(*) FROM megamarket.loyalty_transactions "
								  "WHERE chain_id = $1 AND sender = $2 AND state IN ('signed', 'sent')",
								  2, t2, v2, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI failed");
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("the loyalty dispatcher has transactions in flight"),
					 errhint("Deploy when megamarket.loyalty_transactions has no signed or sent row.")));
		if (SPI_execute("SELECT megamarket._loyalty_contract_bytecode()", true, 1) != SPI_OK_SELECT)
			elog(ERROR, "SPI failed");
		code = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		/* gas: the node's estimate plus a fifth */
		raw_hex = palloc(VARSIZE_ANY_EXHDR(code) * 2 + 3);
		ChainHexEncode((uint8_t *) VARDATA_ANY(code), VARSIZE_ANY_EXHDR(code), raw_hex, true);
		if (!ChainRpcCall(c.rpc, "eth_estimateGas",
						  psprintf("[{\"from\":\"%s\",\"data\":\"%s\"}]", c.sender, raw_hex), &reply, &err))
			ChainReportError("loyalty_deploy", &err, ChainRpcDisplayUrl(c.rpc));
		if (reply.error_message)
		{
			ChainRpcReplyError(&reply, "eth_estimateGas", &err);
			ChainReportError("loyalty_deploy", &err, ChainRpcDisplayUrl(c.rpc));
		}
		if (reply.result_string == NULL ||
			!ChainParseQuantityU64(reply.result_string, strlen(reply.result_string), &gas,
								   "eth_estimateGas", &err))
			ChainReportError("loyalty_deploy", &err, ChainRpcDisplayUrl(c.rpc));
		if (!LoyaltyFees(&c))
			elog(ERROR, "unreachable");

		memset(&tx, 0, sizeof(tx));
		tx.nonce = (uint64) nonce;
		ChainU256FromU64(&tx.max_priority_fee_per_gas, c.priority_fee);
		ChainU256FromU64(&tx.max_fee_per_gas, c.max_fee);
		tx.gas_limit = gas + gas / 5;
		tx.has_to = false;
		tx.data = (const uint8_t *) VARDATA_ANY(code);
		tx.data_len = VARSIZE_ANY_EXHDR(code);
		LoyaltySign(&c, &tx, &out);
		ChainWipe(c.key, sizeof(c.key));
		LoyaltyRecordSigned(&c, "deploy", (Datum) 0, nonce, NULL, tx.gas_limit, &out,
							c.max_fee, c.priority_fee);
		ChainContractAddress(c.sender_bin, (uint64) nonce, addr);
		ChainAddressToText(addr, addr_text);

		hash = palloc(CHAIN_HASH_LEN * 2 + 3);
		ChainHexEncode(out.hash, CHAIN_HASH_LEN, hash, true);
		raw_hex = palloc(out.raw_len * 2 + 3);
		ChainHexEncode(out.raw, out.raw_len, raw_hex, true);
		if (!ChainRpcCall(c.rpc, "eth_sendRawTransaction", psprintf("[\"%s\"]", raw_hex), &reply, &err))
			ChainReportError("loyalty_deploy", &err, ChainRpcDisplayUrl(c.rpc));
		if (reply.error_message && reply.error_kind != CHAIN_NODE_ALREADY_KNOWN)
		{
			ChainRpcReplyError(&reply, "eth_sendRawTransaction", &err);
			ChainReportError("loyalty_deploy", &err, ChainRpcDisplayUrl(c.rpc));
		}

		/* the receipt: up to a minute */
		for (int i = 0; i < 600 && receipt == NULL; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (!ChainRpcCall(c.rpc, "eth_getTransactionReceipt", psprintf("[\"%s\"]", hash), &reply, &err))
				ChainReportError("loyalty_deploy", &err, ChainRpcDisplayUrl(c.rpc));
			if (reply.result && strcmp(reply.result, "null") != 0)
				receipt = pstrdup(reply.result);
			else
				pg_usleep(100000L);
			ChainRpcReleaseReplies(c.rpc);
		}
		if (receipt == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("loyalty_deploy: transaction %s was not mined within a minute", hash),
					 errhint("Check the node; the transaction may still be mined: look for a contract at %s.", addr_text)));
		{
			Oid			t3[3] = {INT8OID, TEXTOID, TEXTOID};
			Datum		v3[3];
			char	   *status = LoyaltyJsonField(receipt, "status");

			v3[0] = Int64GetDatum((int64) c.chain_id);
			v3[1] = CStringGetTextDatum(hash);
			v3[2] = CStringGetTextDatum(receipt);
			if (SPI_execute_with_args("SELECT megamarket._loyalty_settle(tx_id, $3::jsonb, "
									  "CASE WHEN ($3::jsonb ->> 'status') = '0x1' THEN NULL ELSE 'deployment reverted' END) "
									  "FROM megamarket.loyalty_transactions WHERE chain_id = $1 AND tx_hash = $2",
									  3, t3, v3, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "SPI failed");
			if (status == NULL || strcmp(status, "0x1") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("loyalty_deploy: the deployment %s reverted", hash)));
		}
		SPI_finish();
	}
	PG_CATCH();
	{
		ChainWipe(c.key, sizeof(c.key));
		PG_RE_THROW();
	}
	PG_END_TRY();
	ChainWipe(c.key, sizeof(c.key));
	PG_RETURN_TEXT_P(cstring_to_text(addr_text));
}

/*
 * CALL loyalty_dispatch()
 *		One dispatcher round in this session, for pg_cron or when the worker
 *		is not running. A procedure, because exactly-once needs the signed
 *		bytes committed before they are sent: it commits between its steps,
 *		so it cannot run inside a transaction block. When the worker (or
 *		another session) is dispatching, it does nothing.
 */
PG_FUNCTION_INFO_V1(loyalty_loyalty_dispatch);
Datum
loyalty_loyalty_dispatch(PG_FUNCTION_ARGS)
{
	LoyaltyRoundResult res;
	LOCKTAG		tag;
	bool		atomic = true;

	if (fcinfo->context && IsA(fcinfo->context, CallContext))
		atomic = castNode(CallContext, fcinfo->context)->atomic;
	if (atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("megamarket.loyalty_dispatch() cannot run inside a transaction block"),
				 errdetail("It commits the signed transactions before sending them."),
				 errhint("Run CALL megamarket.loyalty_dispatch() on its own.")));
	LoyaltyDispatcherLockTag(&tag);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		ereport(NOTICE,
				(errmsg("another loyalty dispatcher is running in this database"),
				 errdetail("The dispatcher worker or another session holds the dispatcher's lock; nothing was done.")));
		PG_RETURN_VOID();
	}
	PG_TRY();
	{
		if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect_ext failed");
		LoyaltyRound(LOYALTY_MODE_PROCEDURE, true, &res);
		SPI_finish();
	}
	PG_CATCH();
	{
		LockRelease(&tag, ExclusiveLock, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	LockRelease(&tag, ExclusiveLock, true);
	if (res.error[0])
		ereport(WARNING,
				(errmsg("loyalty_dispatch: %s", res.error)));
	PG_RETURN_VOID();
}
