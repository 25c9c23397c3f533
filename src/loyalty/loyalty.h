/*
 * loyalty.h
 *		The loyalty module: GUCs, the signer key file, the dispatcher's round
 *		(shared by the background worker and CALL loyalty_dispatch()), and the
 *		wake-up of the worker at commit.
 */
#ifndef MEGAMARKET_LOYALTY_H
#define MEGAMARKET_LOYALTY_H

#include "chain/chain.h"

/* GUCs (loyalty.c) */
extern char *megamarket_eth_rpc_url;
extern int	megamarket_eth_chain_id;
extern char *megamarket_loyalty_contract;
extern char *megamarket_signer_key_file;
extern char *megamarket_dispatcher_databases;
extern int	megamarket_dispatcher_naptime;
extern int	megamarket_loyalty_batch_size;
extern int	megamarket_loyalty_replace_after;
extern int	megamarket_eth_timeout;
extern int	megamarket_loyalty_debug_pause;

/* points where the dispatcher can be told to stop (tests kill it there) */
typedef enum LoyaltyPause
{
	LOYALTY_PAUSE_NONE,
	LOYALTY_PAUSE_AFTER_SIGN,	/* signed, not committed */
	LOYALTY_PAUSE_AFTER_COMMIT, /* committed, not sent */
	LOYALTY_PAUSE_AFTER_SEND	/* sent, outcome not recorded */
} LoyaltyPause;

/* src/megamarket.c calls this from _PG_init */
extern void LoyaltyInit(void);

/* Read and check the signer key file; ERROR (never showing the key) if bad. */
extern void LoyaltyReadKey(uint8_t key[CHAIN_KEY_LEN]);

/* Stop at a debug pause point if megamarket.loyalty_debug_pause says so. */
extern void LoyaltyMaybePause(LoyaltyPause where);

/* The worker puts its latch where committing backends can set it. */
extern void LoyaltyWorkerAttach(void);

/* dispatcher.c: how a round runs */
typedef enum LoyaltyMode
{
	LOYALTY_MODE_WORKER,		/* own transactions per step */
	LOYALTY_MODE_PROCEDURE		/* CALL: SPI connected non-atomic, SPI_commit */
} LoyaltyMode;

typedef struct LoyaltyRoundResult
{
	int			signed_txs;
	int			sent_txs;
	int			settled_txs;
	bool		more;			/* work is left: run again soon */
	bool		node_down;		/* the node could not be reached */
	bool		skipped;		/* extension missing or locked, or busy */
	char		error[512];		/* what went wrong with the node, or "" */
} LoyaltyRoundResult;

/*
 * One round: settle what is mined, sign and commit queued work, send in
 * nonce order, read receipts. Failures of the node are returned (worker) or
 * raised (procedure); bugs are ERRORs.
 */
extern void LoyaltyRound(LoyaltyMode mode, bool resend_all, LoyaltyRoundResult *res);

/* worker.c */
struct LOCKTAG;
extern void LoyaltyDispatcherLockTag(struct LOCKTAG *tag);
extern void LoyaltyWorkerMain(Datum main_arg) pg_attribute_noreturn();

#endif							/* MEGAMARKET_LOYALTY_H */
