/*-------------------------------------------------------------------------
 *
 * gencommon.h
 *	  Shared helpers of the megamarket data generators (mksales, mkworkbook):
 *	  a seeded PRNG, civil-date arithmetic and Excel date serials.
 *
 * The generators must be deterministic for a seed on every platform, so they
 * carry their own PRNG (splitmix64) instead of rand().
 *
 * tools/gencommon.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GENCOMMON_H
#define GENCOMMON_H

#include <stdint.h>

/* State of the splitmix64 generator. */
typedef struct GenRng
{
	uint64_t	state;
} GenRng;

extern void GenRngInit(GenRng *rng, uint64_t seed);
extern uint64_t GenRngNext(GenRng *rng);
extern double GenRngUniform(GenRng *rng);
extern int	GenRngRange(GenRng *rng, int lo, int hi);
extern int	GenRngPoisson(GenRng *rng, double lambda);
extern int	GenRngChance(GenRng *rng, double p);

extern int32_t GenDaysFromCivil(int y, int m, int d);
extern void GenCivilFromDays(int32_t z, int *y, int *m, int *d);
extern int	GenIsoWeekday(int32_t z);
extern double GenExcelSerial(int32_t z);
extern void GenFormatIso(int32_t z, char *buf);
extern void GenFormatDmy(int32_t z, char *buf);
extern void GenFormatCents(int64_t cents, char *buf, char sep);
extern int	GenCentsExact(int64_t cents);
extern uint64_t GenParseU64(const char *s, const char *what);

#endif							/* GENCOMMON_H */
