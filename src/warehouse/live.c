/*
 * live.c
 *		Settings of the real-time layer (src/warehouse/live.sql): the
 *		triggers that keep megamarket.live_store_day exact read them with
 *		current_setting().
 */
#include "postgres.h"

#include "utils/guc.h"

#include "megamarket.h"

static bool megamarket_live_notify = true;

/*
 * WarehouseLiveInit
 *		Define megamarket.live_notify. It is a setting rather than a fixed
 *		behaviour because of what NOTIFY costs: a transaction that notifies
 *		takes PostgreSQL's notification-queue lock at commit and holds it
 *		through the commit record's flush, so concurrent notifying writers
 *		commit one after another (bench/realtime measures it).
 */
void
WarehouseLiveInit(void)
{
	DefineCustomBoolVariable("megamarket.live_notify",
							 "Sends NOTIFY megamarket_sales for each statement that changes sales.",
							 "A notifying transaction holds PostgreSQL's notification lock while it commits, "
							 "so concurrent writers that notify commit one at a time; "
							 "turn this off for writers no one listens to.",
							 &megamarket_live_notify,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}
