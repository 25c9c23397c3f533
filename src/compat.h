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

#endif							/* MEGAMARKET_COMPAT_H */
