/*
 * live.c
 *		Settings of the real-time layer (src/warehouse/live.sql): the
 *		triggers that keep megamarket.live_store_day exact read them with
 *		current_setting().
 */
#include "postgres.h"

#include "utils/guc.h"

#include "megamarket.h"

/* megamarket.live_notify: how the fact triggers notify (live.sql reads it) */
typedef enum LiveNotifyMode
{
	LIVE_NOTIFY_DIRECT,			/* NOTIFY in the writer's transaction */
	LIVE_NOTIFY_RELAY,			/* queue it; the dispatcher worker notifies */
	LIVE_NOTIFY_OFF
} LiveNotifyMode;

static const struct config_enum_entry live_notify_options[] = {
	{"direct", LIVE_NOTIFY_DIRECT, false},
	{"relay", LIVE_NOTIFY_RELAY, false},
	{"off", LIVE_NOTIFY_OFF, false},
	{"on", LIVE_NOTIFY_DIRECT, true},
	{"true", LIVE_NOTIFY_DIRECT, true},
	{"false", LIVE_NOTIFY_OFF, true},
	{NULL, 0, false}
};

static int	megamarket_live_notify = LIVE_NOTIFY_DIRECT;

/*
 * WarehouseLiveInit
 *		Define megamarket.live_notify. It is a setting rather than a fixed
 *		behaviour because of what NOTIFY costs: a transaction that notifies
 *		takes PostgreSQL's notification-queue lock at commit and holds it
 *		through the commit record's flush, so concurrent notifying writers
 *		commit one after another (bench/realtime measures it). "relay" moves
 *		that cost to one process: the writers queue the payload in a table
 *		and the dispatcher worker, woken at their commit, notifies.
 */
void
WarehouseLiveInit(void)
{
	DefineCustomEnumVariable("megamarket.live_notify",
							 "How each statement that changes sales sends NOTIFY megamarket_sales: direct, relay or off.",
							 "direct notifies in the writer's transaction, whose commit then holds PostgreSQL's "
							 "notification lock, so concurrent writers commit one at a time; relay queues the "
							 "notification and the dispatcher worker sends it after the commit.",
							 &megamarket_live_notify,
							 LIVE_NOTIFY_DIRECT,
							 live_notify_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}
