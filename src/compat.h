/*
 * compat.h
 *		Shims across the PostgreSQL versions megamarket compiles against
 *		(15 is the target; 14 to 17 should keep compiling).
 *
 * Every #if PG_VERSION_NUM lives here, so the modules read as plain PG 15.
 */
#ifndef MEGAMARKET_COMPAT_H
#define MEGAMARKET_COMPAT_H

#include "utils/guc.h"

#if PG_VERSION_NUM < 150000
/* PG 15 renamed EmitWarningsOnPlaceholders and made it reserve the prefix. */
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

#endif							/* MEGAMARKET_COMPAT_H */
