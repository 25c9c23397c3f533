/*-------------------------------------------------------------------------
 *
 * gencommon.c
 *	  PRNG, date and number helpers shared by mksales and mkworkbook.
 *
 * tools/gencommon.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gencommon.h"

/*
 * GenRngInit
 *		Seed the generator.  Seed 0 is as good as any other for splitmix64.
 */
void
GenRngInit(GenRng *rng, uint64_t seed)
{
	rng->state = seed ^ UINT64_C(0x6d65676d61726b74);	/* "megamarkt" */
}

/*
 * GenRngNext
 *		Next 64 random bits (splitmix64, Steele, Lea and Flood 2014).
 */
uint64_t
GenRngNext(GenRng *rng)
{
	uint64_t	z;

	z = (rng->state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/*
 * GenRngUniform
 *		A double uniform in [0, 1), from the top 53 bits.
 */
double
GenRngUniform(GenRng *rng)
{
	return (double) (GenRngNext(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * GenRngRange
 *		An integer uniform in [lo, hi], both included.
 */
int
GenRngRange(GenRng *rng, int lo, int hi)
{
	uint64_t	span = (uint64_t) ((int64_t) hi - lo + 1);

	return lo + (int) (GenRngNext(rng) % span);
}

/*
 * GenRngChance
 *		True with probability p.
 */
int
GenRngChance(GenRng *rng, double p)
{
	return GenRngUniform(rng) < p;
}

/*
 * GenRngPoisson
 *		A Poisson variate.  Knuth's product method for small means (exact),
 *		a rounded normal approximation above 30, where the generators only
 *		need the right mean and spread.
 */
int
GenRngPoisson(GenRng *rng, double lambda)
{
	if (lambda <= 0.0)
		return 0;
	if (lambda < 30.0)
	{
		double		limit = exp(-lambda);
		double		p = 1.0;
		int			k = 0;

		do
		{
			k++;
			p *= GenRngUniform(rng);
		} while (p > limit);
		return k - 1;
	}
	else
	{
		/* Box-Muller; one of the pair is thrown away to keep state simple */
		double		u1 = GenRngUniform(rng) + 1e-300;
		double		u2 = GenRngUniform(rng);
		double		n = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
		long		k = lround(lambda + sqrt(lambda) * n);

		return k < 0 ? 0 : (int) k;
	}
}

/*
 * GenDaysFromCivil
 *		Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
 */
int32_t
GenDaysFromCivil(int y, int m, int d)
{
	int			era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t) doe - 719468;
}

/*
 * GenCivilFromDays
 *		The inverse of GenDaysFromCivil.
 */
void
GenCivilFromDays(int32_t z, int *y, int *m, int *d)
{
	int			era;
	unsigned	doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned) (z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) yoe + era * 400 + (*m <= 2);
}

/*
 * GenIsoWeekday
 *		ISO weekday of a day number: 1 = Monday ... 7 = Sunday.
 *		1970-01-01 was a Thursday.
 */
int
GenIsoWeekday(int32_t z)
{
	int			w = (int) ((z % 7 + 7 + 3) % 7);	/* 0 = Monday */

	return w + 1;
}

/*
 * GenExcelSerial
 *		The 1900-system Excel serial of a day after 1900-02-28: days since
 *		1899-12-30 (Excel's phantom 1900-02-29 is behind us).
 */
double
GenExcelSerial(int32_t z)
{
	return (double) (z + 25569);
}

/*
 * put_digits
 *		Write the last "width" decimal digits of a non-negative v, zero-padded.
 */
static void
put_digits(char *buf, int v, int width)
{
	int			i;

	for (i = width - 1; i >= 0; i--)
	{
		buf[i] = (char) ('0' + v % 10);
		v /= 10;
	}
}

/*
 * GenFormatIso
 *		yyyy-mm-dd into buf (at least 11 bytes).
 */
void
GenFormatIso(int32_t z, char *buf)
{
	int			y,
				m,
				d;

	GenCivilFromDays(z, &y, &m, &d);
	put_digits(buf, y, 4);
	buf[4] = '-';
	put_digits(buf + 5, m, 2);
	buf[7] = '-';
	put_digits(buf + 8, d, 2);
	buf[10] = '\0';
}

/*
 * GenFormatDmy
 *		dd/mm/yyyy into buf (at least 11 bytes), as people type dates in Spain.
 */
void
GenFormatDmy(int32_t z, char *buf)
{
	int			y,
				m,
				d;

	GenCivilFromDays(z, &y, &m, &d);
	put_digits(buf, d, 2);
	buf[2] = '/';
	put_digits(buf + 3, m, 2);
	buf[5] = '/';
	put_digits(buf + 6, y, 4);
	buf[10] = '\0';
}

/*
 * GenFormatCents
 *		An amount in cents as text with exactly two decimals and the given
 *		decimal separator ('.' or ','), e.g. 1250 -> "12.50".  buf needs 32 bytes.
 */
void
GenFormatCents(int64_t cents, char *buf, char sep)
{
	const char *sign = cents < 0 ? "-" : "";
	uint64_t	abs_cents = cents < 0 ? (uint64_t) (-(cents + 1)) + 1 : (uint64_t) cents;

	snprintf(buf, 32, "%s%llu%c%02llu", sign,
			 (unsigned long long) (abs_cents / 100), sep,
			 (unsigned long long) (abs_cents % 100));
}

/*
 * GenParseU64
 *		A non-negative decimal integer from the command line, or exit(2)
 *		naming the option.
 */
uint64_t
GenParseU64(const char *s, const char *what)
{
	char	   *end;
	unsigned long long v;

	errno = 0;
	if (s == NULL || *s == '\0' || *s == '-')
	{
		fprintf(stderr, "invalid value for %s: \"%s\"\n", what, s ? s : "");
		exit(2);
	}
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
	{
		fprintf(stderr, "invalid value for %s: \"%s\"\n", what, s);
		exit(2);
	}
	return (uint64_t) v;
}

/*
 * GenCentsExact
 *		Whether an amount of cents, written as the double cents / 100.0 by
 *		libxlsxwriter (printf "%.16g"), comes out as its exact short decimal
 *		text.  About 4% of two-decimal values do not: 9.45 is stored as
 *		9.4499999999999993, which prints as "9.449999999999999".  Generators
 *		draw again when this is false, so every amount cell they write has
 *		the exact text a person would type.
 */
int
GenCentsExact(int64_t cents)
{
	char		printed[64];
	char		expected[32];
	size_t		len;

	snprintf(printed, sizeof(printed), "%.16g", (double) cents / 100.0);
	GenFormatCents(cents, expected, '.');
	/* "12.50" -> "12.5", "30.00" -> "30", as %g drops trailing zeros */
	len = strlen(expected);
	while (expected[len - 1] == '0')
		expected[--len] = '\0';
	if (expected[len - 1] == '.')
		expected[--len] = '\0';
	return strcmp(printed, expected) == 0;
}
