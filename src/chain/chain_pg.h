/*
 * chain_pg.h
 *		The backend side of the chain library: a ChainEnv on palloc, the one
 *		mapping of ChainError to SQLSTATEs, and an RPC client whose libcurl
 *		handle is freed with a memory context. Include after postgres.h.
 */
#ifndef MEGAMARKET_CHAIN_PG_H
#define MEGAMARKET_CHAIN_PG_H

#include "utils/palloc.h"

#include "chain/chain.h"

/*
 * A ChainEnv allocating in cxt (CurrentMemoryContext when NULL; huge
 * allocations allowed; NULL instead of an error on OOM, so it is safe inside
 * libcurl's callbacks), interrupted when a cancel or termination is pending,
 * with the given timeouts (0: the library's defaults). The env must live as
 * long as whatever is made with it (put it in cxt too for an RPC handle).
 */
extern void ChainEnvInitPg(ChainEnv *env, MemoryContext cxt,
						   long connect_timeout_ms, long timeout_ms);

/*
 * Report err with its SQLSTATE (the only mapping, see chain_pg.c). where
 * names the SQL function or step ("loyalty_award") and prefixes the message;
 * url (may be NULL) is the node, as ChainRpcDisplayUrl shows it. For
 * CHAIN_ERR_CANCELED, CHECK_FOR_INTERRUPTS raises the cancel itself.
 */
extern void ChainReportError(const char *where, const ChainError *err,
							 const char *url) pg_attribute_noreturn();

/* The SQLSTATE ChainReportError would use (for the dispatcher's records). */
extern int	ChainErrorSqlstate(const ChainError *err);

/*
 * An RPC client allocated in cxt, destroyed (curl handle freed) when cxt is
 * reset or deleted. Reports errors itself.
 */
extern ChainRpc *ChainRpcCreatePg(MemoryContext cxt, const char *url,
								  long connect_timeout_ms, long timeout_ms);

#endif							/* MEGAMARKET_CHAIN_PG_H */
