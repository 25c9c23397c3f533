/*
 * loyalty_int.h
 *		What dispatcher.c shares with sql.c (loyalty_deploy, loyalty_balance):
 *		the context of a round and its node helpers.
 */
#ifndef MEGAMARKET_LOYALTY_INT_H
#define MEGAMARKET_LOYALTY_INT_H

#include "chain/chain.h"
#include "loyalty/loyalty.h"

typedef struct LoyaltyCtx
{
	LoyaltyMode mode;
	LoyaltyRoundResult *res;
	ChainRpc   *rpc;
	uint64		chain_id;
	bool		has_contract;
	uint8_t		contract[CHAIN_ADDRESS_LEN];
	char		contract_text[CHAIN_ADDRESS_TEXT_LEN];
	bool		have_key;
	uint8_t		key[CHAIN_KEY_LEN];
	uint8_t		sender_bin[CHAIN_ADDRESS_LEN];
	char		sender[CHAIN_ADDRESS_TEXT_LEN];
	bool		have_fees;
	uint64		max_fee;
	uint64		priority_fee;
} LoyaltyCtx;

extern bool LoyaltyConnect(LoyaltyCtx *c, bool need_contract);
extern bool LoyaltyFees(LoyaltyCtx *c);
extern bool LoyaltyEnsureNonce(LoyaltyCtx *c);
extern void LoyaltySign(LoyaltyCtx *c, ChainTx *tx, ChainSignedTx *out);
extern int64 LoyaltyRecordSigned(LoyaltyCtx *c, const char *kind, Datum ids, int64 nonce,
								 const char *contract, uint64 gas_limit,
								 const ChainSignedTx *out, uint64 max_fee, uint64 tip);
extern char *LoyaltyJsonField(const char *json, const char *key);

#endif							/* MEGAMARKET_LOYALTY_INT_H */
