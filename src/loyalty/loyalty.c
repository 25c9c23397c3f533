/*
 * loyalty.c
 *		The loyalty module's GUCs, worker registration, shared memory (the
 *		dispatchers' latches), the wake-up at commit, and the signer key file.
 *
 * The key file is read by the dispatcher only (and by loyalty_deploy), at
 * each round, into a caller's 32-byte buffer that is wiped afterwards; its
 * path is a superuser-only setting and its content never reaches a table, a
 * message or pg_stat_activity.
 */
#include "postgres.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "chain/chain.h"
#include "loyalty/loyalty.h"

#define LOYALTY_MAX_DISPATCHERS 8

char	   *megamarket_eth_rpc_url = NULL;
int			megamarket_eth_chain_id = 0;
char	   *megamarket_loyalty_contract = NULL;
char	   *megamarket_signer_key_file = NULL;
char	   *megamarket_dispatcher_databases = NULL;
int			megamarket_dispatcher_naptime = 1000;
int			megamarket_loyalty_batch_size = 100;
int			megamarket_loyalty_replace_after = 60000;
int			megamarket_eth_timeout = 10000;
int			megamarket_loyalty_debug_pause = LOYALTY_PAUSE_NONE;

static const struct config_enum_entry pause_options[] = {
	{"none", LOYALTY_PAUSE_NONE, false},
	{"after_sign", LOYALTY_PAUSE_AFTER_SIGN, false},
	{"after_commit", LOYALTY_PAUSE_AFTER_COMMIT, false},
	{"after_send", LOYALTY_PAUSE_AFTER_SEND, false},
	{NULL, 0, false}
};

/* The dispatchers' latches, one slot per database (shared memory). */
typedef struct LoyaltyShared
{
	slock_t		mutex;
	struct
	{
		Oid			dboid;
		Latch	   *latch;
	}			slot[LOYALTY_MAX_DISPATCHERS];
} LoyaltyShared;

static LoyaltyShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool wake_pending = false;
static bool xact_callback_registered = false;

/* ---- GUC checks ---- */

static bool
check_rpc_url(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (strncmp(*newval, "http://", 7) != 0 && strncmp(*newval, "https://", 8) != 0)
	{
		GUC_check_errdetail("The Ethereum node's URL must start with http:// or https://.");
		return false;
	}
	return true;
}

static bool
check_contract(char **newval, void **extra, GucSource source)
{
	uint8_t		addr[CHAIN_ADDRESS_LEN];
	ChainError	err;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (!ChainAddressParse(*newval, strlen(*newval), addr, false, &err))
	{
		GUC_check_errdetail("%s", err.message);
		return false;
	}
	return true;
}

/* ---- shared memory and the wake-up ---- */

static void
loyalty_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(LoyaltyShared)));
}

static void
loyalty_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("megamarket loyalty", sizeof(LoyaltyShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(*shared));
		SpinLockInit(&shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
worker_detach(int code, Datum arg)
{
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < LOYALTY_MAX_DISPATCHERS; i++)
		if (shared->slot[i].latch == MyLatch)
			shared->slot[i].latch = NULL;
	SpinLockRelease(&shared->mutex);
}

void
LoyaltyWorkerAttach(void)
{
	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < LOYALTY_MAX_DISPATCHERS; i++)
	{
		if (shared->slot[i].dboid == MyDatabaseId || shared->slot[i].dboid == InvalidOid)
		{
			shared->slot[i].dboid = MyDatabaseId;
			shared->slot[i].latch = MyLatch;
			break;
		}
	}
	SpinLockRelease(&shared->mutex);
	on_shmem_exit(worker_detach, (Datum) 0);
}

/* Set this database's dispatcher latch when the transaction commits. */
static void
wake_xact_callback(XactEvent event, void *arg)
{
	if (!wake_pending)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
	{
		wake_pending = false;
		if (shared == NULL)
			return;
		SpinLockAcquire(&shared->mutex);
		for (int i = 0; i < LOYALTY_MAX_DISPATCHERS; i++)
			if (shared->slot[i].dboid == MyDatabaseId && shared->slot[i].latch)
				SetLatch(shared->slot[i].latch);
		SpinLockRelease(&shared->mutex);
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_pending = false;	/* a rolled-back award wakes nobody */
}

/*
 * _loyalty_wake_at_commit()
 *		Called by loyalty_award/loyalty_register: the dispatcher starts on the
 *		new work as soon as it is committed (never before: it could not see
 *		it), instead of at its next nap's end.
 */
PG_FUNCTION_INFO_V1(loyalty__loyalty_wake_at_commit);
Datum
loyalty__loyalty_wake_at_commit(PG_FUNCTION_ARGS)
{
	if (shared == NULL)
		PG_RETURN_VOID();		/* not preloaded: no worker to wake */
	if (!xact_callback_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		xact_callback_registered = true;
	}
	wake_pending = true;
	PG_RETURN_VOID();
}

/* ---- the key file ---- */

/*
 * LoyaltyReadKey
 *		Read megamarket.signer_key_file: a regular file owned by the server's
 *		user, without group or world access (as the server's SSL key), that
 *		holds 64 hex digits. Opened O_NONBLOCK and checked with fstat before
 *		reading (a FIFO or device never blocks us). The text is wiped from
 *		the stack before returning or reporting.
 */
void
LoyaltyReadKey(uint8_t key[CHAIN_KEY_LEN])
{
	const char *path = megamarket_signer_key_file;
	char		buf[257];
	struct stat st;
	ssize_t		n;
	int			fd;
	int			save_errno;
	ChainError	err;

	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("megamarket.signer_key_file is not set"),
				 errhint("Write the signer's private key (64 hex digits) to a file readable only by the server's user and set megamarket.signer_key_file to its path.")));
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not open signer key file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0)
	{
		save_errno = errno;
		close(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not stat signer key file \"%s\": %m", path)));
	}
	if (!S_ISREG(st.st_mode))
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signer key file \"%s\" is not a regular file", path)));
	}
	if (st.st_uid != geteuid())
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signer key file \"%s\" must be owned by the database server user", path)));
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO))
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signer key file \"%s\" has group or world access", path),
				 errdetail("File must have permissions u=rw (0600) or less.")));
	}
	n = read(fd, buf, sizeof(buf) - 1);
	save_errno = errno;
	close(fd);
	if (n < 0)
	{
		errno = save_errno;
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not read signer key file \"%s\": %m", path)));
	}
	if (n == (ssize_t) sizeof(buf) - 1)
	{
		ChainWipe(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signer key file \"%s\" is too large to hold a private key", path),
				 errhint("The file holds the key as 64 hex digits, optionally with 0x and a newline.")));
	}
	buf[n] = '\0';
	if (!ChainKeyParse(buf, (size_t) n, key, &err))
	{
		ChainWipe(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signer key file \"%s\" does not hold a valid private key", path),
				 errdetail("%s", err.message),
				 errhint("The file holds the key as 64 hex digits, optionally with 0x and a newline.")));
	}
	ChainWipe(buf, sizeof(buf));
}

/* ---- debug pause points ---- */

void
LoyaltyMaybePause(LoyaltyPause where)
{
	if (megamarket_loyalty_debug_pause != (int) where)
		return;
	elog(LOG, "megamarket loyalty dispatcher: paused at %s (megamarket.loyalty_debug_pause)",
		 pause_options[where].name);
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		pg_usleep(100000L);
	}
}

/* ---- init ---- */

static void
register_workers(void)
{
	char	   *list = pstrdup(megamarket_dispatcher_databases ? megamarket_dispatcher_databases : "");
	List	   *names = NIL;
	ListCell   *lc;

	if (!SplitIdentifierString(list, ',', &names))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in parameter \"megamarket.dispatcher_databases\"")));
	if (list_length(names) > LOYALTY_MAX_DISPATCHERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("megamarket.dispatcher_databases names more than %d databases",
						LOYALTY_MAX_DISPATCHERS)));
	foreach(lc, names)
	{
		const char *db = lfirst(lc);
		BackgroundWorker w;

		if (strlen(db) >= BGW_EXTRALEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("database name \"%s\" in megamarket.dispatcher_databases is too long", db)));
		memset(&w, 0, sizeof(w));
		w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		w.bgw_start_time = BgWorkerStart_RecoveryFinished;
		w.bgw_restart_time = 5;
		snprintf(w.bgw_library_name, BGW_MAXLEN, "megamarket");
		snprintf(w.bgw_function_name, BGW_MAXLEN, "LoyaltyWorkerMain");
		snprintf(w.bgw_name, BGW_MAXLEN, "megamarket dispatcher for database %s", db);
		snprintf(w.bgw_type, BGW_MAXLEN, "megamarket dispatcher");
		strlcpy(w.bgw_extra, db, BGW_EXTRALEN);
		RegisterBackgroundWorker(&w);
	}
}

void
LoyaltyInit(void)
{
	DefineCustomStringVariable("megamarket.eth_rpc_url",
							   "URL of the Ethereum node's JSON-RPC endpoint.",
							   NULL, &megamarket_eth_rpc_url, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, check_rpc_url, NULL, NULL);
	DefineCustomIntVariable("megamarket.eth_chain_id",
							"Chain id the loyalty transactions are signed for (0: not set).",
							"The dispatcher refuses to sign when the node reports another chain id.",
							&megamarket_eth_chain_id, 0, 0, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("megamarket.loyalty_contract",
							   "Address of the MegaMarketLoyalty contract.",
							   NULL, &megamarket_loyalty_contract, "",
							   PGC_SIGHUP, 0, check_contract, NULL, NULL);
	DefineCustomStringVariable("megamarket.signer_key_file",
							   "File holding the loyalty signer's private key (hex).",
							   "Must be owned by the server's user, without group or world access.",
							   &megamarket_signer_key_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("megamarket.dispatcher_naptime",
							"Time the dispatcher sleeps when it has nothing to do.",
							NULL, &megamarket_dispatcher_naptime, 1000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("megamarket.loyalty_batch_size",
							"Largest number of awards in one awardPointsBatch transaction.",
							NULL, &megamarket_loyalty_batch_size, 100, 1, 256,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("megamarket.loyalty_replace_after",
							"Time after which a sent transaction without receipt is replaced with a higher fee.",
							NULL, &megamarket_loyalty_replace_after, 60000, 100, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("megamarket.eth_timeout",
							"Timeout of one JSON-RPC request to the Ethereum node.",
							NULL, &megamarket_eth_timeout, 10000, 100, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomEnumVariable("megamarket.loyalty_debug_pause",
							 "Testing only: stop the dispatcher at a point of its round.",
							 NULL, &megamarket_loyalty_debug_pause, LOYALTY_PAUSE_NONE, pause_options,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);

	/*
	 * The worker's databases are read once, at server start: a postmaster
	 * setting, which can only be defined while preloading (a backend that
	 * loads the library later must not try: that is FATAL).
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable("megamarket.dispatcher_databases",
							   "Databases in which a loyalty dispatcher worker runs (comma-separated).",
							   NULL, &megamarket_dispatcher_databases, "",
							   PGC_POSTMASTER, GUC_LIST_INPUT, NULL, NULL, NULL);
	if (IsBinaryUpgrade)
		return;
	register_workers();
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = loyalty_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = loyalty_shmem_startup;
}
