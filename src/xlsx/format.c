/*
 * format.c
 *		Number formats, date serials and cell references of the .xlsx reader.
 *
 * Everything here is pure computation on short strings: it classifies the
 * number formats of styles.xml, turns the exact decimal text of a date
 * serial into a calendar date and a time of day (never through a double),
 * and parses and prints A1-style references.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "xlsx.h"
#include "xlsx_internal.h"

/* Last day we convert: 9999-12-31 as a day count since 0000-03-01. */
#define MAX_YEAR			9999
/* Longest exponent accepted in a serial ("4.5E+4"); more is nonsense. */
#define MAX_EXPONENT		400
/* Microseconds in a day. */
#define USEC_PER_DAY		INT64_C(86400000000)

/*
 * XlsxBuiltinFormat
 *		Classify one of the builtin number formats (ECMA-376 18.8.30).
 *
 * Ids 27-36 and 50-58 are the East Asian locales' date formats; they are
 * only defined there, and we read them as dates (some of them show a time
 * of day in zh/ja, which then comes out as a date: a known limitation).
 */
XlsxFormatKind
XlsxBuiltinFormat(int numFmtId)
{
	if (numFmtId >= 14 && numFmtId <= 17)
		return XLSX_FORMAT_DATE;
	if (numFmtId >= 18 && numFmtId <= 21)
		return XLSX_FORMAT_TIME;
	if (numFmtId == 22)
		return XLSX_FORMAT_DATETIME;
	if ((numFmtId >= 27 && numFmtId <= 36) || (numFmtId >= 50 && numFmtId <= 58))
		return XLSX_FORMAT_DATE;
	if (numFmtId >= 45 && numFmtId <= 47)
		return XLSX_FORMAT_TIME;
	if (numFmtId == 49)
		return XLSX_FORMAT_TEXT;
	return XLSX_FORMAT_GENERAL;
}

/*
 * XlsxResolveFormat
 *		The kind of a cellXfs entry: its custom code when styles.xml defines
 *		one for the id (custom codes may even redefine low ids), else builtin.
 */
XlsxFormatKind
XlsxResolveFormat(int numFmtId, const char *custom_code)
{
	if (custom_code != NULL)
		return XlsxClassifyFormat(custom_code);
	return XlsxBuiltinFormat(numFmtId);
}

/* Token kinds met while classifying a format section. */
typedef enum FmtTok
{
	FT_NONE,
	FT_DATE,					/* d, y, e (era year), or an m read as month */
	FT_HOUR,
	FT_MIN_OR_MONTH,			/* an m run, resolved by its neighbours */
	FT_MINUTE,					/* [mm] elapsed */
	FT_SECOND
} FmtTok;

/*
 * lower_ascii
 *		ASCII lower case of one byte (format codes are ASCII where it matters).
 */
static inline char
lower_ascii(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/*
 * XlsxClassifyFormat
 *		Classify a custom number format code.
 *
 * Only the first section (up to an unquoted ';') counts. Quoted literals,
 * backslash escapes, _x spacers, *x fills, and bracketed colours, locales
 * and conditions are skipped; [h], [mm], [ss] are elapsed times. An m run is
 * minutes when the nearest date/time code before it is an hour or the next
 * one after it is a second, months otherwise (Excel's rule).
 */
XlsxFormatKind
XlsxClassifyFormat(const char *code)
{
	FmtTok		toks[64];
	int			ntoks = 0;
	bool		has_date = false;
	bool		has_time = false;
	bool		has_at = false;
	const char *p;

	if (code == NULL)
		return XLSX_FORMAT_GENERAL;

	for (p = code; *p != '\0' && *p != ';'; p++)
	{
		char		c = lower_ascii(*p);
		FmtTok		tok = FT_NONE;

		if (*p == '"')
		{
			/* quoted literal: skip to the closing quote */
			p++;
			while (*p != '\0' && *p != '"')
				p++;
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == '\\' || *p == '_' || *p == '*')
		{
			/* escape, spacer or fill: the next character is not a code */
			if (p[1] == '\0')
				break;
			p++;
			continue;
		}
		if (*p == '[')
		{
			const char *close = strchr(p, ']');
			size_t		n;

			if (close == NULL)
				break;
			n = (size_t) (close - p - 1);
			/* [h], [hh], [m], [mm], [s], [ss]: elapsed time */
			if (n >= 1 && n <= 2 && (n == 1 || lower_ascii(p[1]) == lower_ascii(p[2])))
			{
				char		e = lower_ascii(p[1]);

				if (e == 'h')
					tok = FT_HOUR;
				else if (e == 'm')
					tok = FT_MINUTE;
				else if (e == 's')
					tok = FT_SECOND;
			}
			p = close;
			if (tok != FT_NONE && ntoks < 64)
				toks[ntoks++] = tok;
			continue;
		}
		if (c == 'g' && strncasecmp(p, "general", 7) == 0)
		{
			p += 6;
			continue;
		}
		if (c == 'e' && (p[1] == '+' || p[1] == '-'))
		{
			/* scientific notation, not an era year */
			p++;
			continue;
		}
		if (*p == '@')
		{
			has_at = true;
			continue;
		}
		if (c == 'a' && (strncasecmp(p, "am/pm", 5) == 0 || strncasecmp(p, "a/p", 3) == 0))
		{
			/* a 12-hour marker: part of a time, not a code of its own */
			p += (strncasecmp(p, "am/pm", 5) == 0) ? 4 : 2;
			continue;
		}

		if (c == 'd' || c == 'y' || c == 'e')
			tok = FT_DATE;
		else if (c == 'h')
			tok = FT_HOUR;
		else if (c == 's')
			tok = FT_SECOND;
		else if (c == 'm')
			tok = FT_MIN_OR_MONTH;
		else
			continue;

		/* a run of the same letter ("yyyy", "mm") is one code */
		while (lower_ascii(p[1]) == c)
			p++;
		if (ntoks < 64)
			toks[ntoks++] = tok;
	}

	/* resolve m runs by their neighbours, then see what is left */
	for (int i = 0; i < ntoks; i++)
	{
		FmtTok		t = toks[i];

		if (t == FT_MIN_OR_MONTH)
		{
			bool		after_hour = (i > 0 && toks[i - 1] == FT_HOUR);
			bool		before_sec = (i + 1 < ntoks && toks[i + 1] == FT_SECOND);

			t = (after_hour || before_sec) ? FT_MINUTE : FT_DATE;
		}
		if (t == FT_DATE)
			has_date = true;
		else if (t != FT_NONE)
			has_time = true;
	}

	if (has_date && has_time)
		return XLSX_FORMAT_DATETIME;
	if (has_date)
		return XLSX_FORMAT_DATE;
	if (has_time)
		return XLSX_FORMAT_TIME;
	if (has_at)
		return XLSX_FORMAT_TEXT;
	return XLSX_FORMAT_GENERAL;
}

/*
 * days_from_civil
 *		Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 *		algorithm), and its inverse below.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= (m <= 2);
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * civil_from_days
 *		The calendar date of a day count since 1970-01-01.
 */
static void
civil_from_days(int64_t z, int *year, int *month, int *day)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;
	int64_t		y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day = (int) (doy - (153 * mp + 2) / 5 + 1);
	*month = (int) (mp < 10 ? mp + 3 : mp - 9);
	*year = (int) (y + (*month <= 2));
}

/*
 * XlsxSerialToDateTime
 *		Convert the decimal text of a date serial exactly.
 *
 * Accepts digits with an optional fraction and an optional exponent
 * ("45658", "45658.5", ".5", "4.5E+4"); no sign, no spaces. The value is
 * handled as a decimal digit string with a point position, so the time of
 * day is round-half-up(fraction * 86400e6) computed by long multiplication
 * on the digits: exact for any number of digits.
 *
 * 1900 system: serials 1-59 are 1900-01-01..1900-02-28, 60 is Excel's
 * fictitious 1900-02-29 (false, *nonexistent), from 61 on days since
 * 1899-12-30. Serial 0 (Excel shows "1900-01-00") is read as 1899-12-31,
 * so that a time-only value 0.5 becomes 1899-12-31 12:00. 1904 system: days
 * since 1904-01-01.
 */
bool
XlsxSerialToDateTime(const char *text, size_t len, bool date1904,
					 XlsxDateTime *out, bool *nonexistent)
{
	const char *mant = text;	/* mantissa digits, '.' included */
	size_t		nint = 0;		/* digits before the '.' */
	size_t		ndig = 0;		/* digits in the mantissa */
	bool		seen_point = false;
	long		exp10 = 0;
	long		point;			/* digits of the value before its point */
	int64_t		days = 0;
	int64_t		usec;
	uint64_t	carry = 0;
	int			first_frac = 0; /* leading fractional digit of the product */
	int64_t		base;
	int64_t		civil;
	size_t		i;

	if (nonexistent)
		*nonexistent = false;
	if (text == NULL || len == 0)
		return false;

	/* mantissa: digits with at most one point */
	for (i = 0; i < len; i++)
	{
		char		c = text[i];

		if (c >= '0' && c <= '9')
		{
			ndig++;
			if (!seen_point)
				nint++;
		}
		else if (c == '.' && !seen_point)
			seen_point = true;
		else
			break;
	}
	if (ndig == 0)
		return false;

	/* optional exponent */
	if (i < len && (text[i] == 'e' || text[i] == 'E'))
	{
		bool		neg = false;
		size_t		edig = 0;

		i++;
		if (i < len && (text[i] == '+' || text[i] == '-'))
			neg = (text[i++] == '-');
		for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
		{
			if (exp10 <= MAX_EXPONENT)
				exp10 = exp10 * 10 + (text[i] - '0');
			edig++;
		}
		if (edig == 0 || exp10 > MAX_EXPONENT)
			return false;
		if (neg)
			exp10 = -exp10;
	}
	if (i != len)
		return false;

	/*
	 * The value is the digit string d[0..ndig) with its point after
	 * 'point' digits (negative: leading zeros; past ndig: trailing zeros).
	 * digit(j) below reads d[j], skipping the '.' in the text.
	 */
	point = (long) nint + exp10;

#define DIGIT(j) \
	(((j) < 0 || (size_t) (j) >= ndig) ? 0 : \
	 (mant[(size_t) (j) + (((size_t) (j) >= nint && seen_point) ? 1 : 0)] - '0'))

	/* integer part, refusing anything past 9999-12-31 early */
	for (long j = 0; j < point; j++)
	{
		days = days * 10 + DIGIT(j);
		if (days > 4000000)
			return false;
	}

	/*
	 * Fraction times 86400e6 by long multiplication from the last digit up:
	 * the final carry is the whole microseconds, the last digit produced the
	 * first fractional digit of the product, which decides the rounding.
	 */
	for (long j = (long) ndig - 1; j >= point; j--)
	{
		uint64_t	t = (uint64_t) DIGIT(j) * (uint64_t) USEC_PER_DAY + carry;

		first_frac = (int) (t % 10);
		carry = t / 10;
	}
#undef DIGIT
	usec = (int64_t) carry + (first_frac >= 5 ? 1 : 0);
	if (usec >= USEC_PER_DAY)
	{
		days += 1;
		usec -= USEC_PER_DAY;
	}

	/* days to a calendar date, by system */
	if (date1904)
		base = days_from_civil(1904, 1, 1);
	else if (days == 60)
	{
		if (nonexistent)
			*nonexistent = true;
		return false;
	}
	else if (days < 60)
		base = days_from_civil(1899, 12, 31);
	else
		base = days_from_civil(1899, 12, 30);

	civil = base + days;
	if (civil > days_from_civil(MAX_YEAR, 12, 31))
		return false;
	civil_from_days(civil, &out->year, &out->month, &out->day);
	out->usec = usec;
	return true;
}

/*
 * XlsxParseRefStatus
 *		Parse a full cell reference ("B7", letters then digits without a
 *		leading zero, upper or lower case, no '$') and say why it is bad.
 */
XlsxRefStatus
XlsxParseRefStatus(const char *ref, size_t len, uint32_t *col, uint32_t *row)
{
	size_t		i = 0;
	uint64_t	c = 0;
	uint64_t	r = 0;
	size_t		nletters;
	size_t		ndigits;

	/* letters: base 26 without a zero digit */
	while (i < len && ((ref[i] >= 'A' && ref[i] <= 'Z') || (ref[i] >= 'a' && ref[i] <= 'z')))
	{
		if (c <= XLSX_MAX_COLUMNS)
			c = c * 26 + (uint64_t) (lower_ascii(ref[i]) - 'a' + 1);
		i++;
	}
	nletters = i;
	while (i < len && ref[i] >= '0' && ref[i] <= '9')
	{
		if (r <= XLSX_MAX_ROWS)
			r = r * 10 + (uint64_t) (ref[i] - '0');
		i++;
	}
	ndigits = i - nletters;
	/* no leading zeros: Excel never writes "A01" */
	if (nletters == 0 || ndigits == 0 || i != len || ref[nletters] == '0')
		return XLSX_REF_MALFORMED;
	if (c > XLSX_MAX_COLUMNS)
		return XLSX_REF_COL_RANGE;
	if (r == 0 || r > XLSX_MAX_ROWS)
		return XLSX_REF_ROW_RANGE;
	*col = (uint32_t) (c - 1);
	*row = (uint32_t) r;
	return XLSX_REF_OK;
}

/*
 * XlsxParseCellRef
 *		Parse "C17" (or "$C$17") into a 0-based column and a 1-based row.
 *
 * With row == NULL the reference must be a column alone ("H", as in the
 * range "B3:H"); with row set it must be a full reference. Case-insensitive.
 */
bool
XlsxParseCellRef(const char *ref, size_t len, uint32_t *col, uint32_t *row)
{
	char		tmp[32];
	size_t		n = 0;
	uint32_t	c;
	uint32_t	r;

	if (ref == NULL || len == 0 || len >= sizeof(tmp))
		return false;
	/* drop the '$' of absolute references (only before letters/digits) */
	for (size_t i = 0; i < len; i++)
	{
		if (ref[i] == '$')
		{
			if (i + 1 == len || ref[i + 1] == '$')
				return false;
			continue;
		}
		tmp[n++] = ref[i];
	}

	if (row == NULL)
	{
		/* a column alone: append a row to reuse the full parser */
		if (n + 1 >= sizeof(tmp))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!((tmp[i] >= 'A' && tmp[i] <= 'Z') || (tmp[i] >= 'a' && tmp[i] <= 'z')))
				return false;
		tmp[n++] = '1';
		if (XlsxParseRefStatus(tmp, n, &c, &r) != XLSX_REF_OK)
			return false;
		*col = c;
		return true;
	}

	if (XlsxParseRefStatus(tmp, n, &c, &r) != XLSX_REF_OK)
		return false;
	*col = c;
	*row = r;
	return true;
}

/*
 * XlsxColumnName
 *		Column letters of a 0-based column: 0 -> "A", 16383 -> "XFD". Up to
 *		three letters fit the 4-byte buffer ("ZZZ" is 18277); past that "?".
 */
void
XlsxColumnName(uint32_t col, char *buf)
{
	char		tmp[4];
	int			n = 0;
	uint32_t	v = col + 1;

	if (col > 18277)
	{
		strcpy(buf, "?");
		return;
	}
	/* bijective base 26, least significant letter first */
	while (v > 0 && n < 3)
	{
		v--;
		tmp[n++] = (char) ('A' + v % 26);
		v /= 26;
	}
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
}

/*
 * xstring_unit
 *		The code unit of an "_xHHHH_" escape at s (7 bytes available), or -1.
 */
static int32_t
xstring_unit(const char *s)
{
	int32_t		v = 0;

	if (s[0] != '_' || s[1] != 'x' || s[6] != '_')
		return -1;
	for (int i = 2; i < 6; i++)
	{
		char		c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * XlsxDecodeXstring
 *		Decode the ST_Xstring escapes of s[0..len) in place: "_xHHHH_" is the
 *		UTF-16 code unit HHHH ("_x000D_" a carriage return, "_x005F_" the
 *		underscore, so "_x005F_x0041_" is the text "_x0041_"); a high and a
 *		low surrogate escaped one after the other are one character. An
 *		escape that would give no valid text (U+0000, a lone surrogate,
 *		U+FFFE, U+FFFF) is kept as written. The result is never longer;
 *		returns its length and NUL-terminates it.
 */
size_t
XlsxDecodeXstring(char *s, size_t len)
{
	char	   *first = len >= 7 ? memchr(s, '_', len - 6) : NULL;
	size_t		in;
	size_t		out;

	if (first == NULL)
	{
		s[len] = '\0';
		return len;
	}
	in = out = (size_t) (first - s);
	while (in < len)
	{
		int32_t		cp = (in + 7 <= len) ? xstring_unit(s + in) : -1;
		size_t		used = 7;

		if (cp >= 0xD800 && cp <= 0xDBFF)
		{
			int32_t		lo = (in + 14 <= len) ? xstring_unit(s + in + 7) : -1;

			if (lo >= 0xDC00 && lo <= 0xDFFF)
			{
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				used = 14;
			}
			else
				cp = -1;
		}
		if (cp <= 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
		{
			s[out++] = s[in++];
			continue;
		}
		if (cp < 0x80)
			s[out++] = (char) cp;
		else if (cp < 0x800)
		{
			s[out++] = (char) (0xC0 | (cp >> 6));
			s[out++] = (char) (0x80 | (cp & 0x3F));
		}
		else if (cp < 0x10000)
		{
			s[out++] = (char) (0xE0 | (cp >> 12));
			s[out++] = (char) (0x80 | ((cp >> 6) & 0x3F));
			s[out++] = (char) (0x80 | (cp & 0x3F));
		}
		else
		{
			s[out++] = (char) (0xF0 | (cp >> 18));
			s[out++] = (char) (0x80 | ((cp >> 12) & 0x3F));
			s[out++] = (char) (0x80 | ((cp >> 6) & 0x3F));
			s[out++] = (char) (0x80 | (cp & 0x3F));
		}
		in += used;
	}
	s[out] = '\0';
	return out;
}
