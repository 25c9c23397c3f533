/*
 * megamarket.h
 *		What src/megamarket.c needs from each module: its init function,
 *		called once from _PG_init.
 *
 * A module's init defines its GUCs (all under "megamarket.") and, when we are
 * preloaded, registers its background workers and shared memory.
 */
#ifndef MEGAMARKET_H
#define MEGAMARKET_H

/* src/megamarket.c: for the worker's rounds */
extern bool MegamarketLockTable(const char *relname, int lockmode);

extern void XlsxFdwInit(void);	/* src/xlsx/open.c */
/* src/warehouse/live.c */
extern void WarehouseLiveInit(void);

/* src/campaigns/webhook.c */
extern void WebhookInit(void);
extern bool CampaignsWorkerRound(MemoryContext cxt, bool first);
/* src/mining/mining_pg.c: megamarket.mining_max_memory */
extern void MiningInit(void);

#endif							/* MEGAMARKET_H */
