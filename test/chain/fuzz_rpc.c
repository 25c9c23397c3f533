/*
 * fuzz_rpc.c
 *		libFuzzer target for the JSON-RPC response decoder, as one response
 *		(id 1) and as a batch of three (ids 1..3). Contracts: an accepted
 *		reply has exactly one of result and error; result is NUL-terminated
 *		raw JSON of result_len bytes; every string handed out is valid UTF-8;
 *		a refusal is CHAIN_ERR_PROTOCOL (or LIMIT/NOMEM) with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ChainEnv env;

static void
violated(const char *what)
{
	fprintf(stderr, "contract violated: %s\n", what);
	abort();
}

static bool
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		int			k = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;

		if (k == 0)
			return false;
		for (int i = 1; i < k; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += k;
	}
	return true;
}

static void
check_reply(const ChainRpcReply *r)
{
	if ((r->result == NULL) == (r->error_message == NULL))
		violated("reply with both or neither of result and error");
	if (r->result)
	{
		if (strlen(r->result) != r->result_len || !valid_utf8(r->result))
			violated("result is not result_len bytes of UTF-8");
		if (r->result_string && !valid_utf8(r->result_string))
			violated("result string is not UTF-8");
		if (r->error_kind != CHAIN_NODE_NONE)
			violated("a result with an error kind");
	}
	else
	{
		if (!valid_utf8(r->error_message))
			violated("error message is not UTF-8");
		if (r->error_data && !valid_utf8(r->error_data))
			violated("error data is not UTF-8");
		if (r->error_data_string && !valid_utf8(r->error_data_string))
			violated("error data string is not UTF-8");
		if (r->error_kind == CHAIN_NODE_NONE)
			violated("an error without a kind");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ChainBuf	arena;
	ChainRpcReply r[3];
	ChainError	err;

	if (env.alloc == NULL)
		ChainEnvInitMalloc(&env);
	ChainBufInit(&arena, &env);

	if (ChainRpcDecode((const char *) data, size, 1, 1, false, r, &arena, &err))
		check_reply(&r[0]);
	else if ((err.code != CHAIN_ERR_PROTOCOL && err.code != CHAIN_ERR_LIMIT) || err.message[0] == '\0')
		violated("single refusal without a protocol error");

	if (ChainRpcDecode((const char *) data, size, 1, 3, true, r, &arena, &err))
	{
		for (int i = 0; i < 3; i++)
		{
			check_reply(&r[i]);
			if (r[i].id != i + 1)
				violated("batch reply in the wrong slot");
		}
	}
	else if ((err.code != CHAIN_ERR_PROTOCOL && err.code != CHAIN_ERR_LIMIT) || err.message[0] == '\0')
		violated("batch refusal without a protocol error");

	ChainBufFree(&arena);
	return 0;
}
