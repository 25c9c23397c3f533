/*
 * import.c
 *		The C helpers of megamarket.import_workbook() (src/warehouse/import.sql):
 *		parsing the values people type into Excel, the file's fingerprint for
 *		the run log, header matching, and progress reporting.
 *
 * The import itself is set-based SQL over xlsx_fdw foreign tables; these
 * functions are the per-value work that SQL would do slowly (regular
 * expressions per cell) or cannot do at all (hash a server file as a stream,
 * report progress from inside one INSERT ... SELECT).
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "common/cryptohash.h"
#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "common/sha2.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

#include "xlsx/xlsx_fdw.h"

PG_FUNCTION_INFO_V1(warehouse_header_key);
PG_FUNCTION_INFO_V1(warehouse_header_distance);
PG_FUNCTION_INFO_V1(warehouse_clean_text);
PG_FUNCTION_INFO_V1(warehouse_parse_decimal);
PG_FUNCTION_INFO_V1(warehouse_parse_integer);
PG_FUNCTION_INFO_V1(warehouse_parse_day);
PG_FUNCTION_INFO_V1(warehouse_date_id);
PG_FUNCTION_INFO_V1(warehouse_file_fingerprint);
PG_FUNCTION_INFO_V1(warehouse_import_progress);
PG_FUNCTION_INFO_V1(warehouse_import_activity);
PG_FUNCTION_INFO_V1(warehouse_import_key_repeats);
PG_FUNCTION_INFO_V1(warehouse_import_row_hash);

/* White space a cell may carry around its value, no-break space included. */
static bool
is_space_at(const char *p, const char *end, int *len)
{
	if (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
	{
		*len = 1;
		return true;
	}
	if (end - p >= 2 && (unsigned char) p[0] == 0xC2 && (unsigned char) p[1] == 0xA0)
	{
		*len = 2;
		return true;
	}
	return false;
}

/* The text of a text datum without surrounding white space. */
static void
trimmed(text *t, const char **start, const char **stop)
{
	const char *p = VARDATA_ANY(t);
	const char *end = p + VARSIZE_ANY_EXHDR(t);
	int			n;

	while (is_space_at(p, end, &n))
		p += n;
	for (;;)
	{
		if (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
			end--;
		else if (end - p >= 2 && (unsigned char) end[-2] == 0xC2 && (unsigned char) end[-1] == 0xA0)
			end -= 2;
		else
			break;
	}
	*start = p;
	*stop = end;
}

/*
 * header_key(text)
 *		The key xlsx_fdw matches headers by: lower case, Latin-1 accents
 *		dropped, spaces and underscores removed. "Segmento objetivo" and
 *		"segmento_objetivo" have the same key.
 */
Datum
warehouse_header_key(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_TEXT_P(cstring_to_text(XlsxNormaliseName(s)));
}

/*
 * header_distance(a, b) -> integer
 *		Levenshtein distance between the header keys of two texts (so case,
 *		accents, spaces and underscores cost nothing), for import_preview()'s
 *		"closest name". Keys are cut to 255 bytes (at a character boundary),
 *		the limit of core's varstr_levenshtein(): a header longer than that
 *		is no one's near miss.
 */
Datum
warehouse_header_distance(PG_FUNCTION_ARGS)
{
	char	   *a = XlsxNormaliseName(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	char	   *b = XlsxNormaliseName(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	int			la = pg_mbcliplen(a, strlen(a), 255);
	int			lb = pg_mbcliplen(b, strlen(b), 255);

	PG_RETURN_INT32(varstr_levenshtein(a, la, b, lb, 1, 1, 1, false));
}

/*
 * parse_decimal(text) -> numeric
 *		A number as a cell shows it, or NULL when the text is not one. After
 *		trimming: an optional sign, digits, and at most one decimal separator
 *		(point or comma) followed by digits; or the exponent form a number
 *		cell's value may have (1.5E-3, point only). No thousands separators:
 *		"1.234,50" and "9,58,5" are not numbers, since they are ambiguous.
 *		The value comes from the text, never through a double.
 */
static bool
parse_decimal(text *t, Datum *result)
{
	const char *p,
			   *end;
	char		buf[128];
	int			n = 0;
	int			digits = 0;
	bool		comma = false;
	bool		neg = false;
	int64		v = 0;			/* the digits as a whole number, while */
	int			ndig = 0;		/* there are at most 18 of them */
	int			scale = 0;		/* digits after the separator */

	trimmed(t, &p, &end);
	if (end - p <= 0 || end - p >= (ptrdiff_t) sizeof(buf))
		return false;
	if (*p == '-' || *p == '+')
	{
		neg = *p == '-';
		buf[n++] = *p++;
	}
	while (p < end && isdigit((unsigned char) *p))
	{
		if (++ndig <= 18)
			v = v * 10 + (*p - '0');
		buf[n++] = *p++, digits++;
	}
	if (digits == 0)
		return false;
	if (p < end && (*p == '.' || *p == ','))
	{
		comma = *p == ',';
		buf[n++] = '.';
		p++;
		digits = 0;
		while (p < end && isdigit((unsigned char) *p))
		{
			if (++ndig <= 18)
				v = v * 10 + (*p - '0');
			buf[n++] = *p++, digits++;
		}
		if (digits == 0)
			return false;
		scale = digits;
	}
	/* the common case, 18 digits or fewer and no exponent: no numeric_in() */
	if (p == end && ndig <= 18)
	{
		*result = NumericGetDatum(int64_div_fast_to_numeric(neg ? -v : v, scale));
		return true;
	}
	if (p < end && (*p == 'e' || *p == 'E') && !comma)
	{
		buf[n++] = 'e';
		p++;
		if (p < end && (*p == '-' || *p == '+'))
			buf[n++] = *p++;
		digits = 0;
		while (p < end && isdigit((unsigned char) *p))
			buf[n++] = *p++, digits++;
		/* up to 1e999: beyond that it is noise, not a quantity or an amount */
		if (digits == 0 || digits > 3)
			return false;
	}
	if (p != end)
		return false;
	buf[n] = '\0';
	*result = DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
								  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	return true;
}

Datum
warehouse_parse_decimal(PG_FUNCTION_ARGS)
{
	Datum		n;

	if (!parse_decimal(PG_GETARG_TEXT_PP(0), &n))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(n);
}

/*
 * parse_integer(text) -> bigint
 *		parse_decimal()'s value when it is a whole number within bigint, else
 *		NULL. The import parses its whole-number fields (ticket, line,
 *		quantity, ...) with it: plain digits, and digits followed by a
 *		separator and zeros ("12", "-3", "12,00"), are read here without a
 *		numeric; anything else (an exponent, 19 digits or more) goes through
 *		parse_decimal() and is kept when whole and in range, so the two agree
 *		on every text (sql/import.sql holds them to each other).
 */
Datum
warehouse_parse_integer(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *p,
			   *end;
	bool		neg = false;
	int64		v = 0;
	int			digits = 0;
	Datum		n;

	trimmed(t, &p, &end);
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	while (p < end && isdigit((unsigned char) *p) && digits < 18)
		v = v * 10 + (*p++ - '0'), digits++;
	if (digits > 0 && p < end && (*p == '.' || *p == ',') && end - p >= 2)
	{
		const char *q = p + 1;

		while (q < end && *q == '0')
			q++;
		if (q == end)
			p = end;			/* "12.00": whole */
	}
	if (digits > 0 && p == end)
		PG_RETURN_INT64(neg ? -v : v);

	/* the rest, exactly as parse_decimal() reads it */
	if (!parse_decimal(t, &n))
		PG_RETURN_NULL();
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, n,
										  DirectFunctionCall2(numeric_trunc, n, Int32GetDatum(0)))))
		PG_RETURN_NULL();
	if (DatumGetBool(DirectFunctionCall2(numeric_lt, n, NumericGetDatum(int64_to_numeric(PG_INT64_MIN)))) ||
		DatumGetBool(DirectFunctionCall2(numeric_gt, n, NumericGetDatum(int64_to_numeric(PG_INT64_MAX)))))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall1(numeric_int8, n));
}

/*
 * date_id(date) -> integer
 *		The date dimension's key of a day, yyyymmdd: year * 10000 + month *
 *		100 + day, the year as date_part('year') gives it (1 BC is -1). A
 *		day whose key does not fit an integer is an error and an infinite
 *		one NULL, as with the formula in SQL (sql/import.sql compares them).
 *		In C because the import computes one per fact row.
 */
Datum
warehouse_date_id(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	int			y,
				m,
				d;
	int64		key;

	/* date_part('month') of an infinite day is NULL, and so the formula */
	if (DATE_NOT_FINITE(day))
		PG_RETURN_NULL();
	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	if (y <= 0)
		y -= 1;					/* no year 0: 1 BC is -1, as date_part says */
	key = (int64) y * 10000 + m * 100 + d;
	if (key < PG_INT32_MIN || key > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("integer out of range")));
	PG_RETURN_INT32((int32) key);
}

/* Up to maxlen digits at *p as a number; false when there are none. */
static bool
take_int(const char **p, const char *end, int maxlen, int *out)
{
	int			v = 0,
				len = 0;

	while (*p < end && isdigit((unsigned char) **p) && len < maxlen)
	{
		v = v * 10 + (**p - '0');
		(*p)++;
		len++;
	}
	*out = v;
	return len > 0 && !(*p < end && isdigit((unsigned char) **p));
}

/* Whether [p, end) is digits only. */
static bool
all_digits(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!isdigit((unsigned char) *p))
			return false;
	return true;
}

/*
 * parse_day(text) -> date
 *		A day as it comes out of a workbook, or NULL when the text is not one:
 *		ISO "yyyy-mm-dd" (what xlsx_fdw makes of a date cell in a text column,
 *		optionally followed by a time, which is dropped), "dd/mm/yyyy" (a
 *		date typed as text, day first as in Spain; one-digit day and month
 *		allowed), or "yyyymmdd", eight digits (a date_id, as the proposal's
 *		Ventas carry it). The day must exist and lie in the date dimension's
 *		range, 1900-01-01 to 2999-12-31. No guessing at other orders: a slash
 *		date is always day first, "03/04/2025" is 3 April even though it could
 *		be read month first, and "04/15/2025" is not a day.
 */
Datum
warehouse_parse_day(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *p,
			   *end;
	int			y,
				m,
				d;

	trimmed(t, &p, &end);
	if (end - p == 8 && all_digits(p, end))
	{
		/* yyyymmdd: a date_id, as a number cell or text */
		y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
		m = (p[4] - '0') * 10 + (p[5] - '0');
		d = (p[6] - '0') * 10 + (p[7] - '0');
	}
	else if (end - p >= 10 && p[4] == '-')
	{
		/* yyyy-mm-dd[ time] */
		if (!take_int(&p, end, 4, &y) || p >= end || *p++ != '-' ||
			!take_int(&p, end, 2, &m) || p >= end || *p++ != '-' ||
			!take_int(&p, end, 2, &d))
			PG_RETURN_NULL();
		if (p < end && *p != ' ' && *p != 'T')
			PG_RETURN_NULL();
	}
	else
	{
		/* d/m/yyyy */
		if (!take_int(&p, end, 2, &d) || p >= end || *p++ != '/' ||
			!take_int(&p, end, 2, &m) || p >= end || *p++ != '/' ||
			end - p != 4 || !take_int(&p, end, 4, &y))
			PG_RETURN_NULL();
	}
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 ||
		d > day_tab[isleap(y)][m - 1])
		PG_RETURN_NULL();
	PG_RETURN_DATEADT(date2j(y, m, d) - POSTGRES_EPOCH_JDATE);
}

/*
 * file_fingerprint(filename, OUT size, OUT sha256, OUT modified)
 *		Size, SHA-256 (hex) and modification time of a server file, for the
 *		import's run log. Streams the file in 64 kB reads (cancellable), so
 *		memory does not grow with its size. Needs pg_read_server_files, as
 *		pg_read_binary_file() does.
 */
Datum
warehouse_file_fingerprint(PG_FUNCTION_ARGS)
{
	char	   *filename = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TupleDesc	tupdesc;
	struct stat st;
	int			fd;
	pg_cryptohash_ctx *ctx;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	char	   *buf;
	ssize_t		n;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	XlsxFdwCheckReadPrivilege("read a server file");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	/* O_NONBLOCK: a FIFO must not block open() beyond cancel (issue 14) */
	fd = OpenTransientFile(filename, O_RDONLY | PG_BINARY | O_NONBLOCK);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", filename)));
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", filename)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a regular file", filename)));

	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256 context: %s", pg_cryptohash_error(ctx));
	buf = palloc(65536);
	PG_TRY();
	{
		while ((n = read(fd, buf, 65536)) > 0)
		{
			CHECK_FOR_INTERRUPTS();
			if (pg_cryptohash_update(ctx, (uint8 *) buf, n) < 0)
				elog(ERROR, "could not update SHA-256 context: %s", pg_cryptohash_error(ctx));
		}
		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", filename)));
		if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
			elog(ERROR, "could not finalize SHA-256 context: %s", pg_cryptohash_error(ctx));
	}
	PG_FINALLY();
	{
		pg_cryptohash_free(ctx);
	}
	PG_END_TRY();
	/* the checksum is of one file: later reads in this transaction check it */
	XlsxFdwPinFile(filename, fd, &st);
	CloseTransientFile(fd);
	pfree(buf);

	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);

	values[0] = Int64GetDatum((int64) st.st_size);
	values[1] = CStringGetTextDatum(hex);
	values[2] = TimestampTzGetDatum(time_t_to_timestamptz(st.st_mtime));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* "megamarket.import_workbook: <what>" as this backend's query in pg_stat_activity. */
static void
show_activity(const char *what)
{
	char	   *msg = psprintf("megamarket.import_workbook: %s", what);

	pgstat_report_activity(STATE_RUNNING, msg);
	pfree(msg);
}

/* Per call site of import_progress(): rows counted so far. */
typedef struct ProgressState
{
	int64		rows;
} ProgressState;

/*
 * import_progress(label text, every bigint) -> true
 *		Called once per row inside the import's INSERT ... SELECT: every
 *		"every" rows it raises a NOTICE and shows the count in
 *		pg_stat_activity.query, so a DBA can watch a long import. The count
 *		lives with the call site (fn_extra), so it starts from zero in each
 *		statement. Always returns true, to sit in a WHERE clause.
 */
Datum
warehouse_import_progress(PG_FUNCTION_ARGS)
{
	ProgressState *ps = (ProgressState *) fcinfo->flinfo->fn_extra;
	int64		every = PG_GETARG_INT64(1);

	if (ps == NULL)
	{
		ps = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ProgressState));
		fcinfo->flinfo->fn_extra = ps;
	}
	ps->rows++;
	if (every > 0 && ps->rows % every == 0)
	{
		char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(0));
		char	   *msg = psprintf("%s: " INT64_FORMAT " rows read", label, ps->rows);

		ereport(NOTICE, (errmsg("%s", msg)));
		show_activity(msg);
		pfree(msg);
		pfree(label);
	}
	PG_RETURN_BOOL(true);
}

/*
 * clean_text(text)
 *		The text without surrounding white space (spaces, tabs, line breaks,
 *		no-break spaces), or NULL when nothing is left: an empty cell.
 */
Datum
warehouse_clean_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *p,
			   *end;

	trimmed(t, &p, &end);
	if (end == p)
		PG_RETURN_NULL();
	if (end - p == (ptrdiff_t) VARSIZE_ANY_EXHDR(t))
		PG_RETURN_TEXT_P(t);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(p, end - p));
}

/*
 * import_activity(text)
 *		Show what the import is doing in pg_stat_activity.query of this
 *		backend ("megamarket.import_workbook: Ventas: inserting 992710
 *		rows"); NULL shows the statement's own text again. The next statement
 *		the session runs replaces it in any case.
 */
Datum
warehouse_import_activity(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
	else
		show_activity(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/*
 * A row's 64-bit hash, the arguments from "first" on: each value by its
 * type's extended hash function (under the call's collation: equal values
 * hash alike), a NULL as a constant, combined in order (the same values in
 * other columns hash otherwise) and finished by the splitmix64 finalizer, so
 * that every bit of every value reaches every bit of the hash. Shared by
 * _import_key_repeats() and _import_row_hash().
 */
typedef struct RowHasher
{
	int			first;			/* the first argument hashed */
	int			nargs;			/* how many from there */
	FmgrInfo   *hash;			/* nargs extended hash functions */
	Oid			collation;		/* the call's input collation */
} RowHasher;

/* The hash functions of a call site's arguments, in its fn_mcxt. */
static void
row_hasher_init(RowHasher *rh, FunctionCallInfo fcinfo, int first, const char *fname)
{
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;

	rh->first = first;
	rh->nargs = PG_NARGS() - first;
	rh->hash = MemoryContextAllocZero(cxt, sizeof(FmgrInfo) * Max(rh->nargs, 1));
	rh->collation = PG_GET_COLLATION();
	for (int i = 0; i < rh->nargs; i++)
	{
		Oid			type = get_fn_expr_argtype(fcinfo->flinfo, first + i);
		TypeCacheEntry *tc;

		if (!OidIsValid(type))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: cannot tell the type of value %d", fname, i + 1)));
		tc = lookup_type_cache(type, TYPECACHE_HASH_EXTENDED_PROC_FINFO);
		if (!OidIsValid(tc->hash_extended_proc_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("%s: type %s has no extended hash function",
							fname, format_type_be(type)),
					 errhint("The values need types that GROUP BY can hash.")));
		fmgr_info_copy(&rh->hash[i], &tc->hash_extended_proc_finfo, cxt);
	}
}

static uint64
row_hasher_hash(const RowHasher *rh, FunctionCallInfo fcinfo, uint64 seed)
{
	uint64		h = seed;

	for (int i = 0; i < rh->nargs; i++)
	{
		int			a = rh->first + i;
		uint64		hi;

		if (PG_ARGISNULL(a))
			hi = UINT64CONST(0x9E3779B97F4A7C15);
		else
			hi = DatumGetUInt64(FunctionCall2Coll(&rh->hash[i], rh->collation,
												  PG_GETARG_DATUM(a),
												  UInt64GetDatum(seed)));
		h = hash_combine64(h, hi);
	}
	/* the finalizer of splitmix64 */
	h ^= h >> 30;
	h *= UINT64CONST(0xBF58476D1CE4E5B9);
	h ^= h >> 27;
	h *= UINT64CONST(0x94D049BB133111EB);
	h ^= h >> 31;
	return h;
}

/*
 * Per call site of _import_key_repeats(): the 64-bit hashes of the keys seen
 * so far in this statement, in an open-addressing table (0 marks a free
 * slot).
 */
typedef struct KeySeenState
{
	uint64	   *slots;			/* capacity entries; NULL once over the
								 * memory budget: every key repeats */
	uint64		capacity;		/* a power of two */
	uint64		used;
	uint64		seed;			/* random per statement: no crafted clustering */
	RowHasher	hasher;
} KeySeenState;

/* The budget of the table: work_mem (the import raises it for this). */
static Size
key_seen_budget(void)
{
	return (Size) work_mem * 1024;
}

/* Put h in a table known to have room; true when it was there already. */
static bool
key_seen_put(uint64 *slots, uint64 capacity, uint64 h)
{
	uint64		mask = capacity - 1;
	uint64		i = h & mask;

	for (;;)
	{
		if (slots[i] == h)
			return true;
		if (slots[i] == 0)
		{
			slots[i] = h;
			return false;
		}
		i = (i + 1) & mask;
	}
}

/* Double the table, or give up (every later key counts as repeated). */
static void
key_seen_grow(KeySeenState *st, MemoryContext cxt)
{
	uint64		newcap = st->capacity * 2;
	uint64	   *slots = NULL;

	/* capacity is at most the budget's slots: no overflow below */
	if (newcap * sizeof(uint64) <= key_seen_budget())
		slots = MemoryContextAllocExtended(cxt, (Size) newcap * sizeof(uint64),
										   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (slots == NULL)
	{
		pfree(st->slots);
		st->slots = NULL;
		return;
	}
	for (uint64 i = 0; i < st->capacity; i++)
	{
		if (st->slots[i] != 0)
			(void) key_seen_put(slots, newcap, st->slots[i]);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(st->slots);
	st->slots = slots;
	st->capacity = newcap;
}

/*
 * _import_key_repeats(VARIADIC "any") -> boolean
 *		True when a key (the arguments, NULLs equal to each other as in GROUP
 *		BY) hashes like one this call site saw earlier in the statement: the
 *		candidates of the duplicate rule (_import_duplicates), which compares
 *		them exactly. A key's first row is never a candidate unless its hash
 *		collides; a repeated key's later rows always are. So one pass finds
 *		the few repeated keys without sorting or grouping a million.
 *
 *		The table has 8 bytes a slot and at least two slots a key (16 to 32
 *		bytes a key): 1,000,000 keys take 16 MB. Past work_mem it gives up
 *		and answers true for every later key, so the exact comparison sees
 *		them all and the rule gives the same result, only slower. Hashes are
 *		the types' own extended hash functions under the arguments'
 *		collations (equal values hash alike), with a random seed per
 *		statement.
 */
Datum
warehouse_import_key_repeats(PG_FUNCTION_ARGS)
{
	KeySeenState *st = (KeySeenState *) fcinfo->flinfo->fn_extra;
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;
	uint64		h;

	if (st == NULL)
	{
		st = MemoryContextAllocZero(cxt, sizeof(KeySeenState));
		row_hasher_init(&st->hasher, fcinfo, 0, "_import_key_repeats");
		st->seed = pg_prng_uint64(&pg_global_prng_state);
		st->capacity = 1024;
		st->slots = MemoryContextAllocZero(cxt, st->capacity * sizeof(uint64));
		fcinfo->flinfo->fn_extra = st;
	}
	if (st->slots == NULL)
		PG_RETURN_BOOL(true);

	h = row_hasher_hash(&st->hasher, fcinfo, st->seed);
	if (h == 0)
		h = 1;

	/* keep the load at most one half */
	if ((st->used + 1) * 2 > st->capacity)
	{
		key_seen_grow(st, cxt);
		if (st->slots == NULL)
			PG_RETURN_BOOL(true);
	}
	if (key_seen_put(st->slots, st->capacity, h))
		PG_RETURN_BOOL(true);
	st->used++;
	PG_RETURN_BOOL(false);
}

/*
 * _import_row_hash(seed bigint, VARIADIC "any") -> bigint
 *		A 64-bit hash of a row (the values after the seed, NULLs included),
 *		as _import_key_repeats() hashes a key: equal rows hash alike, under
 *		the same seed. _import_facts() takes the XOR of it over each month of
 *		the staging and of the warehouse (with count(*)), and leaves out of
 *		its row-by-row comparison the months where both agree. A seed drawn
 *		per import keeps the hashes unknown in advance.
 */
Datum
warehouse_import_row_hash(PG_FUNCTION_ARGS)
{
	RowHasher  *rh = (RowHasher *) fcinfo->flinfo->fn_extra;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("_import_row_hash: the seed must not be NULL")));
	if (rh == NULL)
	{
		rh = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RowHasher));
		row_hasher_init(rh, fcinfo, 1, "_import_row_hash");
		fcinfo->flinfo->fn_extra = rh;
	}
	PG_RETURN_INT64((int64) row_hasher_hash(rh, fcinfo, (uint64) PG_GETARG_INT64(0)));
}
