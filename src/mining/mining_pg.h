/*
 * mining_pg.h
 *		The backend side the mining functions share: a MiningEnv on palloc,
 *		the one mapping of MiningError to SQLSTATEs, and reading the caller's
 *		query. Include after postgres.h.
 *
 * A function taking a query text runs it with the caller's rights (never
 * SECURITY DEFINER) through a read-only SPI cursor fetched in batches,
 * checks the column count and types before any work (naming the bad
 * column), and checks for interrupts per batch.
 */
#ifndef MEGAMARKET_MINING_PG_H
#define MEGAMARKET_MINING_PG_H

#include "executor/spi.h"

#include "mining/mining.h"

/* megamarket.mining_max_memory, in kB (GUC_UNIT_KB) */
extern int	megamarket_mining_max_memory;

/* Define the mining GUCs; called from _PG_init (declared in megamarket.h). */
extern void MiningInit(void);

/* megamarket.mining_max_memory in bytes: the budget every mining call gets. */
extern size_t MiningMemoryLimit(void);

/*
 * A MiningEnv allocating in the memory context current at this call (huge
 * allocations allowed, NULL instead of an error on OOM; SPI_connect later
 * does not move it), interrupted when a cancel or termination is pending,
 * with a budget of max_bytes (0: none; pass MiningMemoryLimit()).
 */
extern void MiningEnvInit(MiningEnv *env, size_t max_bytes);

/*
 * Report err with its SQLSTATE; fn names the SQL function ("kmeans") and is
 * prefixed to the message when the message does not name it already. For
 * MINING_ERR_CANCELED, CHECK_FOR_INTERRUPTS raises the cancel itself.
 */
extern void MiningReportError(const char *fn, const MiningError *err) pg_attribute_noreturn();

/* The kind of value a query column may hold, as a core sees it. */
typedef enum MiningColumnKind
{
	MINING_COL_FLOAT8,			/* int2/4/8, float4/8, numeric: read as float8 */
	MINING_COL_FLOAT8_ARRAY,	/* float8[], also int and numeric arrays */
	MINING_COL_TEXT,			/* anything else, through its output function */
	MINING_COL_ANY				/* accept any type; read as text */
} MiningColumnKind;

/*
 * A query being read: opened with SPI_connect + SPI_cursor_open (read only),
 * fetched MINING_QUERY_BATCH rows at a time.
 */
#define MINING_QUERY_BATCH 10000

typedef struct MiningQuery
{
	const char *fn;				/* SQL function name, for messages */
	Portal		portal;
	TupleDesc	tupdesc;		/* the query's result shape */
	int			natts;
	SPITupleTable *batch;		/* the current batch (NULL before the first) */
	uint64		batch_rows;
	uint64		batch_pos;
	uint64		rows_read;		/* rows handed out so far */
	Oid		   *types;			/* per column: its base type */
	MemoryContext row_cxt;		/* reset per row: detoasted values, text */
	Datum	   *values;			/* the current row, deformed once */
	bool	   *nulls;
	int			reading_col;	/* for the error context: column being read */
} MiningQuery;

/*
 * Run query for function fn and check its shape: at least min_cols and at
 * most max_cols columns (max_cols < 0: any), each column i (0-based) of the
 * kind kinds[i] (the last kind repeats for columns past nkinds). A column of
 * the wrong type is reported with 22023, naming it by position and name:
 *   kmeans query must return only numeric columns
 *   DETAIL: Column 3 ("segment") has type text.
 */
extern MiningQuery *MiningQueryOpen(const char *fn, const char *query,
									int min_cols, int max_cols,
									const MiningColumnKind *kinds, int nkinds);

/*
 * Check one column (0-based) against a kind after opening with a looser one
 * (kmeans accepts (id, float8[]) or (id, f1, f2, ...) and decides which from
 * the column count); reports as MiningQueryOpen does.
 */
extern void MiningQueryCheckColumn(MiningQuery *q, int col, MiningColumnKind kind);

/*
 * Check every column from col (0-based) on against kind, reported as a
 * repeated kind is by MiningQueryOpen ("... only numeric columns after
 * column 1").
 */
extern void MiningQueryCheckColumnsFrom(MiningQuery *q, int col, MiningColumnKind kind);

/* Whether column col (0-based) is an array of numbers (MINING_COL_FLOAT8_ARRAY). */
extern bool MiningQueryColumnIsArray(MiningQuery *q, int col);

/*
 * Next row, or NULL at the end; checks for interrupts per row and frees the
 * previous row's conversions. The tuple stays valid until the next call.
 */
extern HeapTuple MiningQueryNext(MiningQuery *q);

/*
 * A column (0-based) of the current row as float8 / text; *isnull set.
 * Conversion errors (a numeric too large for float8) carry a context line
 * naming the row and column. Text is palloc'd in a per-row context: copy it
 * to keep it past the next MiningQueryNext.
 */
extern double MiningQueryFloat8(MiningQuery *q, HeapTuple tuple, int col, bool *isnull);
extern char *MiningQueryText(MiningQuery *q, HeapTuple tuple, int col, bool *isnull);

/*
 * An array column of the current row as float8 (a multi-dimensional array is
 * read in storage order): writes at most maxlen elements into out and returns
 * the element count, or -1 when an element is NULL. *isnull is set for a NULL
 * array (and 0 returned). float8[] without NULLs is copied as it is.
 */
extern int	MiningQueryFloat8Array(MiningQuery *q, HeapTuple tuple, int col,
								   double *out, int maxlen, bool *isnull);

/* Close the cursor and SPI_finish (results copied out before this call). */
extern void MiningQueryClose(MiningQuery *q);

/* -------------------------------------------------------------------------
 * Time series queries: (t, y) or (series, t, y), shared by the forecasting
 * functions (arima_fit, arima_forecast, nnar_forecast).
 *
 * t is an integer, a date or a timestamp; rows may come in any order (each
 * series is sorted by t). The sampling step is the greatest common divisor
 * of the differences of consecutive t (whole months for dates on the same
 * day of the month), and a missing step is a missing value (NaN).
 * -------------------------------------------------------------------------
 */

/* one row of the query */
typedef struct MiningSeriesRow
{
	const char *series;			/* shared by consecutive rows of a series */
	int64		t;
	double		y;
	bool		ynull;
	bool		tnull;
	uint64		rowno;
} MiningSeriesRow;

/* every row of the query, sorted by (series, t) */
typedef struct MiningSeriesSet
{
	const char *fn;				/* SQL function, for messages */
	bool		multi;			/* the query has a series column */
	Oid			ttyp;			/* base type of t */
	MemoryContext cxt;			/* holds the rows; deleted by MiningSeriesSetFree */
	MiningSeriesRow *rows;
	size_t		nrows;
} MiningSeriesSet;

/* one series, ready for a core */
typedef struct MiningSeries
{
	const char *name;			/* the series key, NULL for (t, y) or a NULL key */
	double	   *y;				/* NaN for a missing step */
	size_t		n;
	int64		t0;				/* first t (days, usec, integer or month index) */
	int64		step;
	bool		months;			/* t0/step in months (dates) */
	int			day;			/* day of month in month mode */
} MiningSeries;

/*
 * Run the query (argument 0 of the SQL function, a NULL is an error), check
 * its shape ((t, y) or (series, t, y), t an integer, date or timestamp, y a
 * number) and read every row. A (t, y) query returning no rows is an error;
 * a (series, t, y) one gives an empty set.
 */
extern MiningSeriesSet *MiningSeriesRead(const char *fn, text *query);

/*
 * The next series of the set: rows [*start, *end). Returns false after the
 * last. Start with *end = 0.
 */
extern bool MiningSeriesNext(const MiningSeriesSet *set, size_t *start, size_t *end);

/*
 * Build the series of rows [start, end) in env's memory. On a problem (NULL
 * or infinite t or y, t repeated, too many gaps) fills err with
 * MINING_ERR_DATA and returns false.
 */
extern bool MiningSeriesBuild(MiningEnv *env, const MiningSeriesSet *set, size_t start,
							  size_t end, MiningSeries *s, MiningError *err);

/*
 * Whether a failure of one series ends the call: always for a (t, y) query,
 * and for cancel, out of memory and internal errors; otherwise the series
 * gets a row with the reason and the others go on.
 */
extern bool MiningSeriesFailIsFatal(const MiningSeriesSet *set, const MiningError *err);

/* The text of t at index k of the series (t0 + k * step), NULL when out of range. */
extern char *MiningSeriesTText(const MiningSeries *s, int64 k, Oid ttyp);

/*
 * The seasonal period t suggests: 7 for daily dates or timestamps, 12 for
 * monthly dates, 4 for quarterly ones, 24 for hourly timestamps, else 1.
 */
extern int	MiningSeriesPeriod(const MiningSeries *s, Oid ttyp);

/*
 * The rows of one series in the shape arima_forecast and nnar_forecast return
 * (series, step, t, forecast, lo80, hi80, lo95, hi95, model, error): with
 * failed, one row with the reason; else a row per step, t continuing the
 * series, the bands NULL when bands is NULL (else lo80, hi80, lo95, hi95).
 */
extern void MiningForecastEmit(ReturnSetInfo *rsinfo, const char *series,
							   const MiningSeries *s, Oid ttyp, int horizon,
							   const double *mean, const double *const bands[4],
							   const char *model, const MiningError *failed);

/* The reason of a failed series in one line: "message: detail". */
extern char *MiningErrorText(const MiningError *err);

extern void MiningSeriesSetFree(MiningSeriesSet *set);

#endif							/* MEGAMARKET_MINING_PG_H */
