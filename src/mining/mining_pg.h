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

#endif							/* MEGAMARKET_MINING_PG_H */
