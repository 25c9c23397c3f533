/*
 * megamarket.c
 *		Entry point of the megamarket extension: module magic, _PG_init and
 *		the extension-wide SQL functions.
 *
 * The modules (xlsx, warehouse, mining, chain, loyalty) live in their own
 * folders; _PG_init calls each one's init function so that GUCs exist whether
 * or not the library is preloaded, and background workers are registered only
 * when it is (shared_preload_libraries).
 */
#include "postgres.h"

#include <curl/curl.h>
#include <expat.h>
#include <gsl/gsl_version.h>
#include <secp256k1.h>
#include <zip.h>

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "megamarket.h"
#include "loyalty/loyalty.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Define every module's GUCs, then reserve the "megamarket." prefix so
 *		that a misspelt setting is reported instead of silently kept.
 */
void
_PG_init(void)
{
	XlsxFdwInit();
	secp256k1_selftest();		/* once per load: see library_versions */
	WarehouseLiveInit();
	WebhookInit();
	LoyaltyInit();
	MiningInit();
	MarkGUCPrefixReserved("megamarket");
}

/*
 * megamarket_library_versions
 *		One row per C library the extension is linked with, and the version
 *		that was actually loaded (not the one we were compiled against, where
 *		the library can tell the two apart). A DBA's first question when a
 *		workbook or a signature misbehaves is "which libzip / libsecp256k1?".
 */
PG_FUNCTION_INFO_V1(megamarket_library_versions);
Datum
megamarket_library_versions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
	struct
	{
		const char *library;
		const char *version;
		const char *purpose;
	}			rows[] =
	{
		{"libzip", zip_libzip_version(), "the .xlsx zip container"},
		{"expat", XML_ExpatVersion(), "workbook, styles and shared-strings XML"},
		{"gsl", gsl_version, "ARIMA/NNAR optimisation, linear algebra"},
		{"libcurl", curl->version, "Ethereum JSON-RPC and webhooks"},
		{"libsecp256k1", NULL, "transaction signing"},
	};

	/*
	 * libsecp256k1 exports no version string. Its self test, which aborts
	 * the process on a faulty library, runs once in _PG_init (at server
	 * start when preloaded), never here: a function any role may call must
	 * not be a way to take every session down.
	 */
	InitMaterializedSRF(fcinfo, 0);

	for (size_t i = 0; i < lengthof(rows); i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(rows[i].library);
		if (rows[i].version)
			values[1] = CStringGetTextDatum(rows[i].version);
		else
			nulls[1] = true;
		values[2] = CStringGetTextDatum(rows[i].purpose);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * MegamarketLockTable
 *		Lock one of the extension's tables in lockmode without waiting, for
 *		the background worker's rounds: false if the extension or the table
 *		is gone, or if someone holds a conflicting lock (DROP EXTENSION, DROP
 *		DATABASE), so that the worker never makes them wait (pg_net's
 *		is_extension_locked). Call inside a transaction.
 */
bool
MegamarketLockTable(const char *relname, int lockmode)
{
	Oid			nsp;
	Oid			rel;

	nsp = OidIsValid(get_extension_oid("megamarket", true)) ?
		get_namespace_oid("megamarket", true) : InvalidOid;
	rel = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
	return OidIsValid(rel) && ConditionalLockRelationOid(rel, (LOCKMODE) lockmode);
}
