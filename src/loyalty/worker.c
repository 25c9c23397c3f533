/*
 * worker.c
 *		The "megamarket dispatcher" background worker: worker_spi's skeleton,
 *		one per database of megamarket.dispatcher_databases. It loops on its
 *		latch (set at commit by loyalty_award/loyalty_register, see loyalty.c),
 *		runs a round (dispatcher.c), and naps; while the node is unreachable it
 *		backs off exponentially up to a minute. SIGHUP reloads the settings,
 *		SIGTERM stops it between two steps (die, at CHECK_FOR_INTERRUPTS).
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "megamarket.h"
#include "loyalty/loyalty.h"

#define BACKOFF_MAX_MS	60000

/*
 * The dispatcher's advisory lock (session level): one dispatcher per
 * database at a time, the worker or a CALL loyalty_dispatch().
 */
void
LoyaltyDispatcherLockTag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0x4d4d4c59, 1, 2);
}

/*
 * In a round's PG_CATCH: end the failed transaction and log the error, once
 * while the same message repeats (last_error holds the previous one, 512
 * bytes).
 */
static void
log_round_error(const char *who, char *last_error)
{
	ErrorData  *edata;

	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(TopMemoryContext);
	edata = CopyErrorData();
	FlushErrorState();
	AbortOutOfAnyTransaction();
	RESUME_INTERRUPTS();
	if (strcmp(last_error, edata->message) != 0)
		ereport(LOG,
				(errmsg("%s: %s", who, edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s", edata->hint) : 0));
	strlcpy(last_error, edata->message, 512);
	FreeErrorData(edata);
}

/*
 * One round, its errors caught: a bug or a wrong setting is logged (once
 * while it repeats) and answered with a back-off, not a worker restart.
 * Returns true if the round failed.
 */
static bool
run_round(MemoryContext round_cxt, bool first, LoyaltyRoundResult *res, char *last_error)
{
	volatile bool failed = false;

	MemoryContextSwitchTo(round_cxt);
	PG_TRY();
	{
		LoyaltyRound(LOYALTY_MODE_WORKER, first, res);
	}
	PG_CATCH();
	{
		log_round_error("megamarket dispatcher", last_error);
		failed = true;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextReset(round_cxt);
	return failed;
}

/*
 * The campaigns' share of a round (webhooks, relayed notifications:
 * CampaignsWorkerRound in src/campaigns/webhook.c), its errors caught and
 * logged once while they repeat. Returns true if more is due at once.
 */
static bool
run_campaigns_round(MemoryContext round_cxt, bool first, char *last_error)
{
	volatile bool more = false;

	MemoryContextSwitchTo(round_cxt);
	PG_TRY();
	{
		more = CampaignsWorkerRound(round_cxt, first);
		last_error[0] = '\0';
	}
	PG_CATCH();
	{
		log_round_error("megamarket dispatcher (webhooks)", last_error);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextReset(round_cxt);
	return more;
}

void
LoyaltyWorkerMain(Datum main_arg)
{
	MemoryContext round_cxt;
	long		backoff = 0;
	bool		first = true;
	bool		locked = false;
	char		last_error[512] = "";
	char		campaigns_error[512] = "";
	bool		campaigns_first = true;
	bool		campaigns_more = false;
	LOCKTAG		tag;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(MyBgworkerEntry->bgw_extra, NULL, 0);
	pgstat_report_appname("megamarket dispatcher");
	LoyaltyWorkerAttach();
	LoyaltyDispatcherLockTag(&tag);
	round_cxt = AllocSetContextCreate(TopMemoryContext, "megamarket dispatcher round",
									  ALLOCSET_DEFAULT_SIZES);
	ereport(LOG,
			(errmsg("megamarket dispatcher started for database \"%s\"", MyBgworkerEntry->bgw_extra)));

	for (;;)
	{
		LoyaltyRoundResult res;
		long		nap;
		bool		failed = false;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			backoff = 0;		/* new settings: try at once */
		}

		memset(&res, 0, sizeof(res));
		if (!locked)
		{
			StartTransactionCommand();
			locked = LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
			CommitTransactionCommand();
		}
		if (locked)
		{
			failed = run_round(round_cxt, first, &res, last_error);
			campaigns_more = run_campaigns_round(round_cxt, campaigns_first, campaigns_error);
			campaigns_first = false;
		}
		if (!failed && res.error[0])
		{
			if (strcmp(last_error, res.error) != 0)
				ereport(LOG, (errmsg("megamarket dispatcher: %s", res.error)));
			strlcpy(last_error, res.error, sizeof(last_error));
			failed = true;
		}
		else if (!failed && last_error[0] && !res.skipped)
		{
			ereport(LOG, (errmsg("megamarket dispatcher: the node answers again")));
			last_error[0] = '\0';
		}
		if (!failed && !res.skipped)
			first = false;

		if (failed)
		{
			backoff = backoff == 0 ? megamarket_dispatcher_naptime : Min(backoff * 2, BACKOFF_MAX_MS);
			nap = backoff;
		}
		else
		{
			backoff = 0;
			nap = (res.more || campaigns_more) ? 10 : megamarket_dispatcher_naptime;
		}

		if (failed)
		{
			/* back off: commits do not shorten it, a reload does */
			TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), nap);

			for (;;)
			{
				long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

				if (left <= 0 || ConfigReloadPending)
					break;
				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 left, PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
				CHECK_FOR_INTERRUPTS();
			}
		}
		else
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 nap, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}
