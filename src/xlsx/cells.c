/*
 * cells.c
 *		A worksheet cell into a value of the column's type.
 *
 * Numbers keep their exact text: into numeric and integer columns they go
 * through the type's input function (or numeric's, for "1E+3"), never
 * through a double. A number whose format is a date, a datetime or a time is
 * an Excel serial: it becomes a date/timestamp/time from its decimal text (see
 * XlsxSerialToDateTime), or ISO text in a text column.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "xlsx/xlsx_fdw.h"

/* Column kinds: what a cell may skip on its way in. */
#define KIND_TEXT		's'
#define KIND_INT		'i'
#define KIND_NUMERIC	'n'
#define KIND_FLOAT		'f'
#define KIND_BOOL		'b'
#define KIND_DATE		'd'
#define KIND_TIMESTAMP	'T'
#define KIND_TIMESTAMPTZ 'Z'
#define KIND_TIME		't'
#define KIND_OTHER		'o'

/*
 * XlsxColumnInit
 *		Look up the column type's input function once per scan.
 */
void
XlsxColumnInit(XlsxColumn *col, Oid typid, int32 typmod)
{
	Oid			infunc;

	col->typid = typid;
	col->typmod = typmod;
	col->plain_int = (typid == INT2OID || typid == INT4OID || typid == INT8OID) ? typid : InvalidOid;
	getTypeInputInfo(typid, &infunc, &col->ioparam);
	fmgr_info(infunc, &col->input);

	switch (getBaseType(typid))
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			col->kind = KIND_TEXT;
			break;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			col->kind = KIND_INT;
			break;
		case NUMERICOID:
			col->kind = KIND_NUMERIC;
			break;
		case FLOAT4OID:
		case FLOAT8OID:
			col->kind = KIND_FLOAT;
			break;
		case BOOLOID:
			col->kind = KIND_BOOL;
			break;
		case DATEOID:
			col->kind = KIND_DATE;
			break;
		case TIMESTAMPOID:
			col->kind = KIND_TIMESTAMP;
			break;
		case TIMESTAMPTZOID:
			col->kind = KIND_TIMESTAMPTZ;
			break;
		case TIMEOID:
			col->kind = KIND_TIME;
			break;
		default:
			col->kind = KIND_OTHER;
			break;
	}
	/* a domain keeps its input function, so its checks run */
	if (getBaseType(typid) != typid && col->kind == KIND_TEXT)
		col->kind = KIND_OTHER;
	/* so does a length: varchar(n) refuses, char(n) pads */
	if (col->kind == KIND_TEXT && typid != TEXTOID && typmod >= 0)
		col->kind = KIND_OTHER;
}

static Datum
input(XlsxColumn *col, const char *text)
{
	return InputFunctionCall(&col->input, (char *) text, col->ioparam, col->typmod);
}

/*
 * A numeric column (numeric itself, not a domain) from a number's text, when
 * that is plain decimal digits (at most 18 of them) whose value fits the
 * column's precision and scale without rounding: built straight from the
 * digits, exactly as numeric_in would, without parsing them twice. False for
 * anything else (an exponent, rounding, overflow), which then takes
 * numeric_in and its own errors.
 */
static bool
numeric_from_digits(XlsxColumn *col, const char *text, Datum *out)
{
	const char *p = text;
	uint64		v = 0;
	int			ndig = 0,		/* digits taken into v */
				nfrac = 0,		/* of them after the point */
				nsig_int = 0;	/* integer digits from the first non-zero one */
	bool		neg = (*p == '-');

	if (col->typid != NUMERICOID)
		return false;
	if (neg)
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
	{
		if (++ndig > 18)
			return false;
		if (nsig_int > 0 || *p != '0')
			nsig_int++;
		v = v * 10 + (uint64) (*p - '0');
	}
	if (ndig == 0)
		return false;
	if (*p == '.')
	{
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++)
		{
			if (++ndig > 18)
				return false;
			v = v * 10 + (uint64) (*p - '0');
		}
		if (nfrac == 0)
			return false;
	}
	if (*p != '\0')
		return false;

	if (col->typmod >= (int32) VARHDRSZ)
	{
		int			precision = ((col->typmod - VARHDRSZ) >> 16) & 0xffff;
		int			scale = (((col->typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024;

		if (scale < 0 || nfrac > scale || nsig_int > precision - scale)
			return false;
		/* the column's scale: 12.3 in numeric(12,2) is 12.30 */
		for (; nfrac < scale; nfrac++)
		{
			if (++ndig > 18)
				return false;
			v *= 10;
		}
	}
	*out = NumericGetDatum(int64_div_fast_to_numeric(neg ? -(int64) v : (int64) v, nfrac));
	return true;
}

/*
 * int_from_digits
 *		The common case of an integer column, a plain integer into int2/4/8
 *		itself: parsed here, without the function-call round trip. False for
 *		anything else (a domain, a value out of range, more than 18 digits).
 */
static bool
int_from_digits(XlsxColumn *col, const char *text, Datum *out)
{
	const char *p = text;
	uint64		v = 0;
	int			n = 0;
	bool		neg = (*p == '-');
	int64		x;

	if (col->plain_int == InvalidOid)
		return false;
	if (neg)
		p++;
	for (; *p >= '0' && *p <= '9' && n <= 18; p++, n++)
		v = v * 10 + (uint64) (*p - '0');
	if (*p != '\0' || n == 0 || n > 18)
		return false;
	x = neg ? -(int64) v : (int64) v;
	if (col->plain_int == INT8OID)
		*out = Int64GetDatum(x);
	else if (col->plain_int == INT4OID && x >= PG_INT32_MIN && x <= PG_INT32_MAX)
		*out = Int32GetDatum((int32) x);
	else if (col->plain_int == INT2OID && x >= PG_INT16_MIN && x <= PG_INT16_MAX)
		*out = Int16GetDatum((int16) x);
	else
		return false;
	return true;
}

/*
 * An integer column from a number's text. Plain digits go straight to the
 * input function (or int_from_digits); "1E+3" or "12.0" go through numeric,
 * exactly, and must be whole (a fraction is an error, as "1.5"::integer is).
 */
static Datum
integer_from_text(XlsxColumn *col, const char *text)
{
	Datum		num;
	Datum		whole;
	Oid			base;

	if (int_from_digits(col, text, &num))
		return num;
	if (strpbrk(text, ".eE") == NULL)
		return input(col, text);

	num = DirectFunctionCall3(numeric_in, CStringGetDatum(text),
							  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	whole = DirectFunctionCall2(numeric_trunc, num, Int32GetDatum(0));
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, num, whole)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"",
						format_type_be(col->typid), text)));
	base = getBaseType(col->typid);
	if (base == INT2OID)
		return DirectFunctionCall1(numeric_int2, num);
	if (base == INT4OID)
		return DirectFunctionCall1(numeric_int4, num);
	return DirectFunctionCall1(numeric_int8, num);
}

/*
 * Write v (not negative) in decimal, at least "width" digits with leading
 * zeros, at p; returns the end. Years, months, days and the time of day:
 * called for every date cell a text column reads, where snprintf() cost a
 * tenth of a fact sheet's staging.
 */
static char *
put_digits(char *p, int64 v, int width)
{
	char		rev[24];
	int			n = 0;

	do
	{
		rev[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n < width)
		rev[n++] = '0';
	while (n > 0)
		*p++ = rev[--n];
	return p;
}

/*
 * ISO text of a date/time value, as its number format shows it, into buf
 * (XLSX_ISO_TEXT_MAX bytes): yyyy-mm-dd, hh:mm:ss[.ffffff] without trailing
 * zeros in the fraction, or both. Returns its length; buf ends with a NUL.
 */
#define XLSX_ISO_TEXT_MAX 48
static int
iso_text(const XlsxDateTime *dt, XlsxFormatKind format, char *buf)
{
	char	   *p = buf;

	if (format != XLSX_FORMAT_TIME)
	{
		/* a serial has no sign: years from 1900 (1904) */
		p = put_digits(p, dt->year, 4);
		*p++ = '-';
		p = put_digits(p, dt->month, 2);
		*p++ = '-';
		p = put_digits(p, dt->day, 2);
	}
	if (format != XLSX_FORMAT_DATE)
	{
		int64		secs = dt->usec / USECS_PER_SEC;
		int			frac = (int) (dt->usec % USECS_PER_SEC);

		if (p != buf)
			*p++ = ' ';
		p = put_digits(p, secs / 3600, 2);
		*p++ = ':';
		p = put_digits(p, secs / 60 % 60, 2);
		*p++ = ':';
		p = put_digits(p, secs % 60, 2);
		if (frac != 0)
		{
			*p++ = '.';
			p = put_digits(p, frac, 6);
			while (p[-1] == '0')
				p--;
		}
	}
	*p = '\0';
	return (int) (p - buf);
}

/*
 * round_to_millisecond
 *		Producers store a date-time as a double of days (45351.99998842592
 *		for 2024-02-29 23:59:59), which cannot hold microseconds: read
 *		exactly, it is 23:59:58.999999. Excel, openpyxl and pandas keep
 *		milliseconds, so the time of day is rounded to the nearest one
 *		(half up), carrying into the next day at midnight.
 */
static void
round_to_millisecond(XlsxDateTime *dt)
{
	int64		usec = (dt->usec + 500) / 1000 * 1000;

	if (usec >= USECS_PER_DAY)
	{
		int			jd = date2j(dt->year, dt->month, dt->day) + 1;

		j2date(jd, &dt->year, &dt->month, &dt->day);
		usec -= USECS_PER_DAY;
	}
	dt->usec = usec;
}

/* An Excel serial's exact text to a calendar date and time, or an error. */
static void
serial_to_datetime(XlsxColumn *col, const XlsxCell *cell, bool date1904, XlsxDateTime *dt)
{
	bool		nonexistent = false;

	if (!XlsxSerialToDateTime(cell->text, cell->len, date1904, dt, &nonexistent))
	{
		if (nonexistent)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("date serial 60 is 1900-02-29, a day that does not exist"),
					 errdetail("Excel counts 1900 as a leap year, a bug it keeps for compatibility with Lotus 1-2-3.")));
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date serial \"%s\" is out of range for type %s",
						cell->text, format_type_be(col->typid))));
	}
	/* a date column takes the day as written, time and all */
	if (col->kind != KIND_DATE)
		round_to_millisecond(dt);
}

/*
 * date_from_serial
 *		A whole serial (plain digits, the common date cell) into a date
 *		column: the day straight from the number, as XlsxSerialToDateTime and
 *		date2j make it (serial 36526 is 2000-01-01 in the 1900 system, 35064
 *		in the 1904 one). False for anything else (a fraction, the 1900
 *		system's serials up to 60, past 9999-12-31), which takes the general
 *		path and its errors.
 */
static bool
date_from_serial(const XlsxCell *cell, bool date1904, Datum *out)
{
	int64		v = 0;

	if (cell->len == 0 || cell->len > 7)
		return false;
	for (size_t i = 0; i < cell->len; i++)
	{
		if (cell->text[i] < '0' || cell->text[i] > '9')
			return false;
		v = v * 10 + (cell->text[i] - '0');
	}
	if (date1904)
	{
		if (v > 2957003)		/* 9999-12-31 */
			return false;
		*out = DateADTGetDatum((DateADT) (v - 35064));
	}
	else
	{
		if (v <= 60 || v > 2958465)
			return false;
		*out = DateADTGetDatum((DateADT) (v - 36526));
	}
	return true;
}

/* A date/time value straight into a date, timestamp or time Datum. */
static Datum
datetime_datum(XlsxColumn *col, const XlsxDateTime *dt, XlsxFormatKind format)
{
	int			days = date2j(dt->year, dt->month, dt->day) - POSTGRES_EPOCH_JDATE;

	switch (col->kind)
	{
		case KIND_DATE:
			return DateADTGetDatum((DateADT) days);
		case KIND_TIMESTAMP:
			return TimestampGetDatum((Timestamp) days * USECS_PER_DAY + dt->usec);
		case KIND_TIME:
			return TimeADTGetDatum((TimeADT) dt->usec);
		default:
			{
				/* timestamptz (the session's time zone decides) and the rest */
				char		buf[XLSX_ISO_TEXT_MAX];

				(void) iso_text(dt, format == XLSX_FORMAT_TIME ? XLSX_FORMAT_TIME : XLSX_FORMAT_DATETIME, buf);
				return input(col, buf);
			}
	}
}

/*
 * XlsxCellToDatum
 *		The value of one cell for one column. Errors are the input functions'
 *		own (SQLSTATE and message); the caller adds the sheet and cell.
 */
Datum
XlsxCellToDatum(XlsxColumn *col, const XlsxCell *cell, bool date1904,
				bool errors_as_null, bool *isnull)
{
	*isnull = false;

	switch (cell->type)
	{
		case XLSX_CELL_ERROR:
			if (errors_as_null)
			{
				*isnull = true;
				return (Datum) 0;
			}
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("cell holds the error value %s", cell->text),
					 errhint("Set the foreign table option error_cells to 'null' to read error cells as NULL.")));
			break;

		case XLSX_CELL_BOOLEAN:
			{
				bool		b = cell->text[0] == '1' || cell->text[0] == 't' || cell->text[0] == 'T';

				if (col->kind == KIND_BOOL)
					return BoolGetDatum(b);
				if (col->kind == KIND_TEXT)
					return PointerGetDatum(cstring_to_text(b ? "true" : "false"));
				if (col->kind == KIND_INT || col->kind == KIND_NUMERIC || col->kind == KIND_FLOAT)
					return input(col, b ? "1" : "0");
				return input(col, b ? "true" : "false");
			}

		case XLSX_CELL_NUMBER:
			if (cell->format == XLSX_FORMAT_DATE || cell->format == XLSX_FORMAT_DATETIME ||
				cell->format == XLSX_FORMAT_TIME)
			{
				XlsxDateTime dt;
				Datum		d;

				/* a serial into a number column stays the number it is */
				if (col->kind == KIND_NUMERIC || col->kind == KIND_FLOAT)
					return input(col, cell->text);
				if (col->kind == KIND_INT)
					return integer_from_text(col, cell->text);
				if (col->kind == KIND_DATE && date_from_serial(cell, date1904, &d))
					return d;
				serial_to_datetime(col, cell, date1904, &dt);
				if (col->kind == KIND_TEXT)
				{
					char		buf[XLSX_ISO_TEXT_MAX];
					int			len = iso_text(&dt, cell->format, buf);

					return PointerGetDatum(cstring_to_text_with_len(buf, len));
				}
				return datetime_datum(col, &dt, cell->format);
			}
			switch (col->kind)
			{
				case KIND_TEXT:
					return PointerGetDatum(cstring_to_text_with_len(cell->text, cell->len));
				case KIND_INT:
					return integer_from_text(col, cell->text);
				case KIND_DATE:
				case KIND_TIMESTAMP:
				case KIND_TIME:
					{
						/* an unformatted serial in a date column: still a serial */
						XlsxDateTime dt;
						Datum		d;

						if (col->kind == KIND_DATE && date_from_serial(cell, date1904, &d))
							return d;

						serial_to_datetime(col, cell, date1904, &dt);
						return datetime_datum(col, &dt, XLSX_FORMAT_DATETIME);
					}
				case KIND_NUMERIC:
					{
						Datum		d;

						if (numeric_from_digits(col, cell->text, &d))
							return d;
						return input(col, cell->text);
					}
				default:
					return input(col, cell->text);
			}

		case XLSX_CELL_STRING:
		case XLSX_CELL_ISO_DATE:
			{
				/* UTF-8 into the database's encoding (a no-op in UTF-8) */
				const char *text = XlsxFdwServerText(cell->text, cell->len);

				if (col->kind == KIND_TEXT)
					return PointerGetDatum(cstring_to_text_with_len(text, text == cell->text ? cell->len : strlen(text)));
				return input(col, text);
			}
	}
	elog(ERROR, "unexpected cell type %d", (int) cell->type);
	return (Datum) 0;
}

/*
 * XlsxCellToDatumQuick
 *		The value of a cell for a column when one of XlsxCellToDatum's direct
 *		paths takes it, the same helpers giving the same Datum; none of them
 *		can raise an error (but out of memory): plain integers that fit
 *		int2/int4/int8, numbers that fit numeric's precision and scale, whole
 *		date serials into date, and numbers and strings into text in a UTF-8
 *		database. False for everything else, which XlsxCellToDatum converts
 *		(and reports), so that the caller sets up its error handling only for
 *		rows that need it.
 */
bool
XlsxCellToDatumQuick(XlsxColumn *col, const XlsxCell *cell, bool date1904, Datum *out)
{
	if (cell->type == XLSX_CELL_NUMBER)
	{
		bool		dated = (cell->format == XLSX_FORMAT_DATE ||
							 cell->format == XLSX_FORMAT_DATETIME ||
							 cell->format == XLSX_FORMAT_TIME);

		switch (col->kind)
		{
			case KIND_INT:
				return int_from_digits(col, cell->text, out);
			case KIND_NUMERIC:
				return !dated && numeric_from_digits(col, cell->text, out);
			case KIND_DATE:
				return date_from_serial(cell, date1904, out);
			case KIND_TEXT:
				if (dated)
					return false;
				*out = PointerGetDatum(cstring_to_text_with_len(cell->text, cell->len));
				return true;
			default:
				return false;
		}
	}
	if (cell->type == XLSX_CELL_STRING && col->kind == KIND_TEXT &&
		GetDatabaseEncoding() == PG_UTF8)
	{
		*out = PointerGetDatum(cstring_to_text_with_len(cell->text, cell->len));
		return true;
	}
	return false;
}

/*
 * Latin-1 supplement letters (U+00C0 .. U+00FF) without their accents, for
 * matching headers: "Categoría" and "categoria" are the same column.
 */
static const char unaccented[64 + 1] =
"AAAAAAACEEEEIIIIDNOOOOO*OUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";

/*
 * XlsxNormaliseName
 *		Header text or a column name, for matching: ASCII letters in lower
 *		case, Latin-1 accents dropped, spaces, underscores and non-breaking
 *		spaces removed.
 */
char *
XlsxNormaliseName(const char *name)
{
	size_t		len = strlen(name);
	char	   *out = palloc(len + 1);
	char	   *o = out;

	for (const unsigned char *p = (const unsigned char *) name; *p; p++)
	{
		if (*p == ' ' || *p == '_' || *p == '\t' || *p == '\n' || *p == '\r')
			continue;
		if (p[0] == 0xC2 && p[1] == 0xA0)	/* no-break space */
		{
			p++;
			continue;
		}
		if (p[0] == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF)
		{
			char		c = unaccented[p[1] - 0x80 + 0];

			*o++ = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
			p++;
			continue;
		}
		*o++ = (*p >= 'A' && *p <= 'Z') ? *p + ('a' - 'A') : *p;
	}
	*o = '\0';
	return out;
}
