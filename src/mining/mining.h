/*
 * mining.h
 *		What the data-mining cores (kmeans.c, apriori.c, arima.c, nnar.c)
 *		share: an environment of allocator, interrupt check and memory budget,
 *		and an error classified once. No backend headers: every core builds
 *		alone into unit tests, sanitizer builds and benchmarks (as the xlsx
 *		reader core does, see src/xlsx/xlsx.h).
 *
 * The backend side (reading the caller's query through SPI, turning a
 * MiningError into an ereport with its SQLSTATE) is in mining_pg.h; it is the
 * only place that maps MiningErrorCode to SQLSTATEs.
 *
 * Rules for a core:
 *	- allocate only through MiningAlloc/MiningFree (overflow-checked sizes in
 *	  size_t, charged to env->max_bytes); the allocator never throws, so a
 *	  core may call it inside a library callback (GSL);
 *	- call MiningInterrupted(env) in every loop that the input can make long
 *	  (per iteration, per few thousand points), and stop with
 *	  MINING_ERR_CANCELED when it says so;
 *	- report failure by filling a MiningError (MiningSetError) and returning
 *	  false / NULL; never exit, abort or print.
 */
#ifndef MEGAMARKET_MINING_H
#define MEGAMARKET_MINING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum MiningErrorCode
{
	MINING_OK = 0,
	MINING_ERR_ARGUMENT,		/* a bad argument: k < 1, support out of range
								 * (22023 invalid_parameter_value) */
	MINING_ERR_DATA,			/* input the method cannot use: NaN, ragged
								 * arrays, too few points, a constant series
								 * (22000 data_exception) */
	MINING_ERR_LIMIT,			/* the memory budget or an output limit was
								 * reached (54000 program_limit_exceeded) */
	MINING_ERR_NO_CONVERGENCE,	/* an optimiser gave up (22000, own message) */
	MINING_ERR_CANCELED,		/* env->interrupted said so: the adapter lets
								 * CHECK_FOR_INTERRUPTS raise the real error */
	MINING_ERR_NOMEM,			/* the allocator returned NULL (53200) */
	MINING_ERR_INTERNAL			/* cannot happen (XX000) */
} MiningErrorCode;

typedef struct MiningError
{
	MiningErrorCode code;
	char		message[256];	/* lower case, no final period */
	char		detail[512];	/* whole sentences, or empty */
	char		hint[256];		/* what to do, or empty */
} MiningError;

/*
 * What the caller provides. alloc returns NULL on failure and never throws
 * (the backend passes palloc_extended(..., MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM)
 * in a context that is reset or deleted when the call ends, so a core that
 * stops early leaks nothing). interrupted may be NULL.
 */
typedef struct MiningEnv
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*free) (void *ctx, void *ptr);
	/* may be NULL: MiningRealloc then allocates, copies and frees */
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);
	bool		(*interrupted) (void *ctx);
	void	   *ctx;
	size_t		max_bytes;		/* budget for MiningAlloc; 0: no budget */
	size_t		used_bytes;		/* charged so far (kept by MiningAlloc) */
	size_t		peak_bytes;		/* the most used_bytes has been */
} MiningEnv;

/*
 * nmemb * size bytes (checked for overflow), charged to the budget. On
 * failure fills err (MINING_ERR_LIMIT naming what, MINING_ERR_NOMEM) and
 * returns NULL. what names the allocation in the error ("points", "prefix
 * tree"). The block is not zeroed unless zero is true.
 */
extern void *MiningAlloc(MiningEnv *env, size_t nmemb, size_t size, bool zero,
						 const char *what, MiningError *err);
/*
 * Grow or shrink a block from MiningAlloc (or NULL: a new block) from
 * old_nmemb to new_nmemb elements of size bytes, charging the difference. On
 * failure fills err as MiningAlloc does and returns NULL; the old block is
 * then still valid and still charged. A reader that does not know its row
 * count grows its one block this way (palloc's realloc of a huge block moves
 * pages, it does not copy them).
 */
extern void *MiningRealloc(MiningEnv *env, void *ptr, size_t old_nmemb,
						   size_t new_nmemb, size_t size,
						   const char *what, MiningError *err);
/* Give back a block from MiningAlloc (size as allocated, for the budget). */
extern void MiningFree(MiningEnv *env, void *ptr, size_t nmemb, size_t size);

/* a * b, false on overflow */
static inline bool
MiningMulSize(size_t a, size_t b, size_t *out)
{
	if (b != 0 && a > SIZE_MAX / b)
		return false;
	*out = a * b;
	return true;
}

static inline bool
MiningInterrupted(const MiningEnv *env)
{
	return env->interrupted != NULL && env->interrupted(env->ctx);
}

/* Fill err (message printf-style); returns false for "return MiningSetError(...)". */
extern bool MiningSetError(MiningError *err, MiningErrorCode code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void MiningSetDetail(MiningError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void MiningSetHint(MiningError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

#endif							/* MEGAMARKET_MINING_H */
