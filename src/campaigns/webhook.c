/*
 * webhook.c
 *		Delivering campaign webhooks: POST each due row of
 *		megamarket.webhook_deliveries to its rule's endpoint with libcurl,
 *		signed with HMAC-SHA256 (PostgreSQL's common/hmac.c), and record the
 *		outcome: delivered, retried later with exponential back-off, or
 *		failed for good. See src/campaigns/campaigns.sql for the tables.
 *
 * The signature: X-MegaMarket-Signature: sha256=<hex of HMAC-SHA256(secret,
 * timestamp + "." + body)>, with the timestamp (Unix seconds) sent as
 * X-MegaMarket-Timestamp, so a receiver can refuse old or replayed requests.
 * The body is the payload column's text, byte for byte what is signed.
 *
 * webhook_dispatch() runs one round in the caller's transaction: the rows it
 * claims stay locked (FOR UPDATE SKIP LOCKED, so two dispatchers never POST
 * the same delivery at once) until the caller commits. A crash or an error
 * after a POST and before commit undoes the bookkeeping, and the delivery is
 * POSTed again later: receivers see a delivery at least once, and recognise
 * repeats by its Idempotency-Key.
 *
 * libcurl keeps its memory on its own allocator; the easy handle and header
 * list are freed on every path (PG_FINALLY). Its progress callback stops a
 * transfer when a cancel or termination is pending, and CHECK_FOR_INTERRUPTS
 * then raises the real error. Secrets never reach a message.
 */
#include "postgres.h"

#include <curl/curl.h>
#include <math.h>
#include <time.h>

#include "common/hmac.h"
#include "common/sha2.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "megamarket.h"

static int	megamarket_webhook_timeout = 10000;	/* ms */
static int	megamarket_webhook_backoff = 30000; /* ms, first retry */

#define WEBHOOK_BACKOFF_MAX_MS	(24 * 3600 * 1000.0)	/* never wait more than a day */

/*
 * WebhookInit
 *		The settings of the webhook dispatcher.
 */
void
WebhookInit(void)
{
	DefineCustomIntVariable("megamarket.webhook_timeout",
							"Time a webhook POST may take, connection included.",
							NULL,
							&megamarket_webhook_timeout,
							10000, 100, 300000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("megamarket.webhook_backoff",
							"Wait before the first retry of a failed webhook; each further retry waits twice as long.",
							"Waits are capped at a day.",
							&megamarket_webhook_backoff,
							30000, 1, 3600000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* A delivery claimed for this round (copied out of SPI's memory). */
typedef struct Delivery
{
	int64		id;
	int			attempts;		/* before this one */
	int			max_attempts;
	char	   *body;
	char	   *key;
	char	   *endpoint;
	char	   *secret;
} Delivery;

/* What one POST came to. */
typedef struct Outcome
{
	long		http_status;	/* 0: no answer */
	bool		delivered;
	bool		retryable;
	char		error[256];		/* empty when delivered */
	double		duration_ms;
} Outcome;

/* Stop a transfer when the backend is asked to cancel or die. */
static int
progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/* The answer's body is not needed: count it and drop it. */
static size_t
discard_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	return size * nmemb;
}

/*
 * webhook_curl
 *		An easy handle set up for webhook POSTs: time-outs, no redirects,
 *		http and https only, cancel-aware, the answer's body dropped.
 */
static CURL *
webhook_curl(void)
{
	CURL	   *curl = curl_easy_init();

	if (curl == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialise libcurl for webhooks")));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) megamarket_webhook_timeout);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long) megamarket_webhook_timeout);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	return curl;
}

/*
 * sign
 *		hex of HMAC-SHA256(secret, timestamp "." body) into out (65 bytes).
 */
static void
sign(const char *secret, const char *timestamp, const char *body, char *out)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	static const char hex[] = "0123456789abcdef";

	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_hmac_init(ctx, (const uint8 *) secret, strlen(secret)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) timestamp, strlen(timestamp)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) ".", 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) body, strlen(body)) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
	{
		const char *why = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		elog(ERROR, "could not compute the webhook signature: %s", why);
	}
	pg_hmac_free(ctx);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
	{
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[2 * PG_SHA256_DIGEST_LENGTH] = '\0';
}

/*
 * post_one
 *		POST one delivery with the (reused) easy handle; fills *out.
 */
static void
post_one(CURL *curl, const Delivery *d, Outcome *out)
{
	struct curl_slist *volatile headers = NULL;
	char		errbuf[CURL_ERROR_SIZE];
	char		timestamp[32];
	char		signature[2 * PG_SHA256_DIGEST_LENGTH + 1];
	char	   *h;
	CURLcode	rc;
	instr_time	start,
				duration;

	memset(out, 0, sizeof(*out));
	snprintf(timestamp, sizeof(timestamp), "%lld", (long long) time(NULL));
	sign(d->secret, timestamp, d->body, signature);

	PG_TRY();
	{
		struct curl_slist *l = NULL;

		l = curl_slist_append(l, "Content-Type: application/json");
		l = l ? curl_slist_append(l, "User-Agent: megamarket-webhook/1") : NULL;
		h = psprintf("X-MegaMarket-Timestamp: %s", timestamp);
		l = l ? curl_slist_append(l, h) : NULL;
		h = psprintf("X-MegaMarket-Signature: sha256=%s", signature);
		l = l ? curl_slist_append(l, h) : NULL;
		h = psprintf("Idempotency-Key: %s", d->key);
		l = l ? curl_slist_append(l, h) : NULL;
		/* no "Expect: 100-continue" round trip for a small body */
		l = l ? curl_slist_append(l, "Expect:") : NULL;
		headers = l;
		if (headers == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

		errbuf[0] = '\0';
		curl_easy_setopt(curl, CURLOPT_URL, d->endpoint);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, d->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(d->body));
		curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);

		INSTR_TIME_SET_CURRENT(start);
		rc = curl_easy_perform(curl);
		INSTR_TIME_SET_CURRENT(duration);
		INSTR_TIME_SUBTRACT(duration, start);
		out->duration_ms = INSTR_TIME_GET_MILLISEC(duration);

		/* a cancel stopped the transfer: raise it now */
		CHECK_FOR_INTERRUPTS();

		if (rc != CURLE_OK)
		{
			/* no answer: time-out, refused, DNS, TLS ... all worth a retry */
			out->retryable = true;
			snprintf(out->error, sizeof(out->error), "%s%s%s", curl_easy_strerror(rc),
					 errbuf[0] ? ": " : "", errbuf);
		}
		else
		{
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->http_status);
			if (out->http_status >= 200 && out->http_status < 300)
				out->delivered = true;
			else
			{
				out->retryable = out->http_status >= 500 || out->http_status == 408 ||
					out->http_status == 429;
				snprintf(out->error, sizeof(out->error), "HTTP status %ld", out->http_status);
			}
		}
	}
	PG_FINALLY();
	{
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
		curl_slist_free_all(headers);
	}
	PG_END_TRY();
}

/*
 * record
 *		Write the attempt and the delivery's new state.
 */
static void
record(const Delivery *d, const Outcome *o, TimestampTz started, int64 *delivered,
	   int64 *retried, int64 *failed)
{
	int			attempt = d->attempts + 1;
	const char *status;
	double		wait_ms = 0;
	Oid			argtypes[6] = {INT8OID, INT4OID, TIMESTAMPTZOID, FLOAT8OID, INT4OID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	if (o->delivered)
	{
		status = "delivered";
		(*delivered)++;
	}
	else if (o->retryable && attempt < d->max_attempts)
	{
		status = "queued";
		wait_ms = megamarket_webhook_backoff * pow(2.0, attempt - 1);
		if (wait_ms > WEBHOOK_BACKOFF_MAX_MS)
			wait_ms = WEBHOOK_BACKOFF_MAX_MS;
		(*retried)++;
	}
	else
	{
		status = "failed";
		(*failed)++;
	}

	values[0] = Int64GetDatum(d->id);
	values[1] = Int32GetDatum(attempt);
	values[2] = TimestampTzGetDatum(started);
	values[3] = Float8GetDatum(o->duration_ms);
	values[4] = Int32GetDatum((int32) o->http_status);
	if (o->http_status == 0)
		nulls[4] = 'n';
	values[5] = CStringGetTextDatum(o->error);
	if (o->delivered)
		nulls[5] = 'n';
	if (SPI_execute_with_args(
							  "INSERT INTO megamarket.webhook_attempts "
							  "(delivery_id, attempt, started_at, duration_ms, http_status, error) "
							  "VALUES ($1, $2, $3, round($4::numeric, 3), $5, $6)",
							  6, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record webhook attempt");

	{
		Oid			types2[6] = {INT8OID, TEXTOID, INT4OID, INT4OID, TEXTOID, FLOAT8OID};
		Datum		v2[6];
		char		n2[6] = {' ', ' ', ' ', ' ', ' ', ' '};

		v2[0] = Int64GetDatum(d->id);
		v2[1] = CStringGetTextDatum(status);
		v2[2] = Int32GetDatum(attempt);
		v2[3] = Int32GetDatum((int32) o->http_status);
		if (o->http_status == 0)
			n2[3] = 'n';
		v2[4] = CStringGetTextDatum(o->error);
		if (o->delivered)
			n2[4] = 'n';
		v2[5] = Float8GetDatum(wait_ms);
		if (SPI_execute_with_args(
								  "UPDATE megamarket.webhook_deliveries SET status = $2, attempts = $3, "
								  "last_http_status = $4, last_error = $5, "
								  "next_attempt_at = clock_timestamp() + $6 * interval '1 millisecond', "
								  "finished_at = CASE WHEN $2 = 'queued' THEN NULL ELSE clock_timestamp() END "
								  "WHERE delivery_id = $1",
								  6, types2, v2, n2, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record webhook delivery");
	}
}

/* The secrets do not outlive the call. */
static pg_noinline void
wipe_secrets(Delivery *deliveries, uint64 n)
{
	for (uint64 i = 0; i < n; i++)
		if (deliveries[i].secret)
			explicit_bzero(deliveries[i].secret, strlen(deliveries[i].secret));
}

/* Release and delete a resource owner made for work outside a transaction. */
static void
release_owner(ResourceOwner owner, bool isCommit)
{
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_BEFORE_LOCKS, isCommit, true);
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_LOCKS, isCommit, true);
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_AFTER_LOCKS, isCommit, true);
	ResourceOwnerDelete(owner);
}

/*
 * post_claimed
 *		POST each claimed delivery into outcomes[] (started[]: when each
 *		began). One easy handle for the round (connections to the same
 *		endpoint are reused), freed on every path, and the secrets wiped.
 *		Outside a transaction (the worker) there is no resource owner, and
 *		PostgreSQL's HMAC registers its context with one: the POSTs get their
 *		own.
 */
static void
post_claimed(Delivery *deliveries, uint64 n, Outcome *outcomes, TimestampTz *started)
{
	CURL	   *volatile curl = NULL;
	ResourceOwner saved_owner = CurrentResourceOwner;
	ResourceOwner volatile owner = NULL;

	if (saved_owner == NULL)
	{
		owner = ResourceOwnerCreate(NULL, "megamarket webhooks");
		CurrentResourceOwner = owner;
	}
	PG_TRY();
	{
		curl = webhook_curl();
		for (uint64 i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			started[i] = GetCurrentTimestamp();
			post_one(curl, &deliveries[i], &outcomes[i]);
		}
	}
	PG_CATCH();
	{
		if (curl)
			curl_easy_cleanup(curl);
		wipe_secrets(deliveries, n);
		CurrentResourceOwner = saved_owner;
		if (owner)
			release_owner(owner, false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	curl_easy_cleanup(curl);
	wipe_secrets(deliveries, n);
	CurrentResourceOwner = saved_owner;
	if (owner)
		release_owner(owner, true);
}

/*
 * claim
 *		Take up to max due deliveries and copy them into cxt. In the caller's
 *		transaction (webhook_dispatch) they stay locked until it ends; for
 *		the worker (mark) they are marked 'delivering' and the claim is
 *		committed before any POST.
 */
static Delivery *
claim(int max, bool mark, MemoryContext cxt, uint64 *n)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(max)};
	Delivery   *deliveries;
	const char *select =
		"SELECT d.delivery_id, d.attempts, d.payload::text, d.idempotency_key, "
		"       r.endpoint, r.secret, r.max_attempts "
		"FROM megamarket.webhook_deliveries d "
		"JOIN megamarket.campaign_rules r ON r.rule_id = d.rule_id "
		"WHERE d.status = 'queued' AND d.next_attempt_at <= clock_timestamp() "
		"ORDER BY d.next_attempt_at, d.delivery_id "
		"LIMIT $1 FOR UPDATE OF d SKIP LOCKED";
	/* the worker marks what it claims, in the same statement */
	if (mark)
		select = psprintf("WITH c AS (%s), "
						  "u AS (UPDATE megamarket.webhook_deliveries w SET status = 'delivering', "
						  "      claimed_at = clock_timestamp() FROM c WHERE w.delivery_id = c.delivery_id) "
						  "SELECT * FROM c", select);
	if (SPI_execute_with_args(select, 1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not claim webhook deliveries");

	*n = SPI_processed;
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		TupleDesc	td = SPI_tuptable->tupdesc;

		deliveries = palloc0(sizeof(Delivery) * (*n > 0 ? *n : 1));
		for (uint64 i = 0; i < *n; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			bool		isnull;

			deliveries[i].id = DatumGetInt64(SPI_getbinval(t, td, 1, &isnull));
			deliveries[i].attempts = DatumGetInt32(SPI_getbinval(t, td, 2, &isnull));
			deliveries[i].body = SPI_getvalue(t, td, 3);
			deliveries[i].key = SPI_getvalue(t, td, 4);
			deliveries[i].endpoint = SPI_getvalue(t, td, 5);
			deliveries[i].secret = SPI_getvalue(t, td, 6);
			deliveries[i].max_attempts = DatumGetInt32(SPI_getbinval(t, td, 7, &isnull));
		}
		MemoryContextSwitchTo(old);
	}
	return deliveries;
}

/*
 * campaigns_webhook_dispatch
 *		webhook_dispatch(max_deliveries int) RETURNS TABLE(delivered, retried,
 *		failed): one round in the caller's transaction.
 */
PG_FUNCTION_INFO_V1(campaigns_webhook_dispatch);
Datum
campaigns_webhook_dispatch(PG_FUNCTION_ARGS)
{
	int32		max = PG_GETARG_INT32(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext callcxt = CurrentMemoryContext;
	Delivery   *deliveries;
	uint64		n;
	int64		counts[3] = {0, 0, 0};	/* delivered, retried, failed */
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (max < 1 || max > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("webhook_dispatch: max_deliveries must be between 1 and 100000, not %d", max)));

	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	deliveries = claim(max, false, callcxt, &n);

	if (n > 0)
	{
		Outcome    *outcomes = palloc0(sizeof(Outcome) * n);
		TimestampTz *started = palloc0(sizeof(TimestampTz) * n);

		post_claimed(deliveries, n, outcomes, started);
		for (uint64 i = 0; i < n; i++)
			record(&deliveries[i], &outcomes[i], started[i], &counts[0], &counts[1], &counts[2]);
	}

	SPI_finish();

	values[0] = Int64GetDatum(counts[0]);
	values[1] = Int64GetDatum(counts[1]);
	values[2] = Int64GetDatum(counts[2]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * worker_step_begin
 *		Start one short transaction of the worker's round, unless the
 *		extension is gone or going: never wait for DROP EXTENSION or DROP
 *		DATABASE (the loyalty dispatcher does the same).
 */
static bool
worker_step_begin(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!MegamarketLockTable("webhook_deliveries", RowExclusiveLock))
	{
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		return false;
	}
	pgstat_report_activity(STATE_RUNNING, "megamarket dispatcher: webhooks");
	return true;
}

static void
worker_step_end(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * CampaignsWorkerRound
 *		The dispatcher worker's share of campaigns and real time, each step in
 *		a short transaction of its own, so that no lock is held across a
 *		network call:
 *		1. send the NOTIFY payloads writers queued (megamarket.live_notify =
 *		   relay); put back deliveries a crash or an error left 'delivering'
 *		   (all of them on the first round, else those claimed 10 minutes ago);
 *		   claim due deliveries, marking them 'delivering'; commit;
 *		2. POST them, outside any transaction;
 *		3. record each outcome; commit.
 *		A crash between 1 and 3 POSTs those deliveries again later: receivers
 *		deduplicate by Idempotency-Key. Errors are the caller's to catch.
 *		Returns true when more deliveries may be due at once.
 */
bool
CampaignsWorkerRound(MemoryContext cxt, bool first)
{
	const int	batch = 100;
	Delivery   *deliveries;
	Outcome    *outcomes;
	TimestampTz *started;
	uint64		n;
	int64		counts[3] = {0, 0, 0};

	if (!worker_step_begin())
		return false;
	if (SPI_execute("SELECT megamarket.live_relay()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not relay notifications");
	if (SPI_execute(first ?
					"UPDATE megamarket.webhook_deliveries SET status = 'queued' WHERE status = 'delivering'" :
					"UPDATE megamarket.webhook_deliveries SET status = 'queued' WHERE status = 'delivering' "
					"AND claimed_at < clock_timestamp() - interval '10 minutes'",
					false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not put back webhook deliveries");
	deliveries = claim(batch, true, cxt, &n);
	worker_step_end();
	if (n == 0)
		return false;

	outcomes = MemoryContextAllocZero(cxt, sizeof(Outcome) * n);
	started = MemoryContextAllocZero(cxt, sizeof(TimestampTz) * n);

	post_claimed(deliveries, n, outcomes, started);

	if (!worker_step_begin())
		return false;			/* the extension went away meanwhile */
	for (uint64 i = 0; i < n; i++)
		record(&deliveries[i], &outcomes[i], started[i], &counts[0], &counts[1], &counts[2]);
	worker_step_end();
	return n == (uint64) batch;
}
