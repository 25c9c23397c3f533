/*
 * chain_internal.h
 *		What the chain library's files share and nothing else calls.
 */
#ifndef MEGAMARKET_CHAIN_INTERNAL_H
#define MEGAMARKET_CHAIN_INTERNAL_H

#include "chain/chain.h"

/* common.c */
extern uint8_t *ChainBufExtend(ChainBuf *buf, size_t n);
extern int	ChainHexValue(int c);

/* tx.c: the process-wide libsecp256k1 context (made on first use) */
struct secp256k1_context_struct;
extern const struct secp256k1_context_struct *ChainSecpContext(ChainError *err);

#endif							/* MEGAMARKET_CHAIN_INTERNAL_H */
