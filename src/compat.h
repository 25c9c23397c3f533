/*
 * compat.h
 *		Shims across the PostgreSQL versions megamarket compiles against.
 *
 * 15 is the target and the only version built and tested here; 16 and 17
 * should keep compiling (nothing used here has changed there). 14 is not
 * supported: besides MarkGUCPrefixReserved, it lacks InitMaterializedSRF
 * (and its predecessor SetSingleFuncCall), which every set-returning
 * function here uses, so this header no longer pretends to cover it.
 *
 * Every #if PG_VERSION_NUM lives here, so the modules read as plain PG 15.
 * Files that use a shimmed function include this header.
 */
#ifndef MEGAMARKET_COMPAT_H
#define MEGAMARKET_COMPAT_H

#include "funcapi.h"

#if PG_VERSION_NUM < 150001
/* 15.0 named it SetSingleFuncCall; 15.1 renamed it (and kept the old name). */
#define InitMaterializedSRF(fcinfo, flags) SetSingleFuncCall(fcinfo, flags)
#endif

/*
 * Resize a palloc'd block, huge sizes allowed, NULL instead of an error when
 * memory is short (the old block then stays valid): what the mining
 * allocator promises its cores. PG 16 has repalloc_extended; before it,
 * repalloc_huge's out-of-memory error is caught (nothing else happened
 * between the call and the error, so flushing it is safe).
 */
#include "utils/elog.h"
#include "utils/memutils.h"

static inline void *
mm_repalloc_huge_no_oom(void *ptr, size_t size)
{
#if PG_VERSION_NUM >= 160000
	return repalloc_extended(ptr, size, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
#else
	MemoryContext oldcxt = CurrentMemoryContext;
	void	   *volatile result = NULL;

	PG_TRY();
	{
		result = repalloc_huge(ptr, size);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_OUT_OF_MEMORY)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(edata);
		result = NULL;
	}
	PG_END_TRY();
	return result;
#endif
}

#endif							/* MEGAMARKET_COMPAT_H */
