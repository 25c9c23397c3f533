/*
 * test_format.c
 *		Unit tests of format.c against hand-checked values: date serials in
 *		both systems (Excel's own reading of 1900, its fictitious leap day),
 *		builtin and custom number formats, cell references.
 *
 * Expected dates were checked by hand against Excel's documented epochs
 * (serial 1 = 1900-01-01, 61 = 1900-03-01, 45658 = 2025-01-01; 1904 system
 * serial 0 = 1904-01-01), not taken from the code's output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlsx.h"
#include "xlsx_internal.h"

static int	failures = 0;
static int	checks = 0;

/*
 * check_serial
 *		text -> expected date and time (h, m, s, usec), or expect failure.
 */
static void
check_serial(const char *text, bool d1904, bool ok, int y, int mo, int d,
			 int64_t usec, bool nonexistent)
{
	XlsxDateTime dt = {0, 0, 0, 0};
	bool		nx = false;
	bool		got = XlsxSerialToDateTime(text, strlen(text), d1904, &dt, &nx);

	checks++;
	if (got != ok || nx != nonexistent ||
		(ok && (dt.year != y || dt.month != mo || dt.day != d || dt.usec != usec)))
	{
		failures++;
		printf("FAIL serial \"%s\"%s: got %s %04d-%02d-%02d usec=%lld nonexistent=%d\n",
			   text, d1904 ? " (1904)" : "", got ? "ok" : "false", dt.year, dt.month,
			   dt.day, (long long) dt.usec, nx);
	}
}

#define HMS(h, m, s) ((int64_t) (((h) * 3600 + (m) * 60 + (s))) * 1000000)

/*
 * check_kind
 *		A custom format code's classification.
 */
static void
check_kind(const char *code, XlsxFormatKind want)
{
	XlsxFormatKind got = XlsxClassifyFormat(code);

	checks++;
	if (got != want)
	{
		failures++;
		printf("FAIL format \"%s\": got %d, want %d\n", code, got, want);
	}
}

/*
 * check_builtin
 *		A builtin numFmtId's classification.
 */
static void
check_builtin(int id, XlsxFormatKind want)
{
	checks++;
	if (XlsxBuiltinFormat(id) != want)
	{
		failures++;
		printf("FAIL builtin %d: got %d, want %d\n", id, XlsxBuiltinFormat(id), want);
	}
}

/*
 * check_ref
 *		A cell reference (row_wanted false: column-only form).
 */
static void
check_ref(const char *ref, bool row_wanted, bool ok, uint32_t col, uint32_t row)
{
	uint32_t	c = 99999;
	uint32_t	r = 99999;
	bool		got = XlsxParseCellRef(ref, strlen(ref), &c, row_wanted ? &r : NULL);

	checks++;
	if (got != ok || (ok && (c != col || (row_wanted && r != row))))
	{
		failures++;
		printf("FAIL ref \"%s\": got %d col=%u row=%u\n", ref, got, c, r);
	}
}

/*
 * check_colname
 *		Column letters.
 */
static void
check_colname(uint32_t col, const char *want)
{
	char		buf[4];

	XlsxColumnName(col, buf);
	checks++;
	if (strcmp(buf, want) != 0)
	{
		failures++;
		printf("FAIL column %u: got %s, want %s\n", col, buf, want);
	}
}

int
main(void)
{
	uint32_t	c;
	uint32_t	r;

	/* 1900 system: Excel's reading of Jan/Feb 1900 and its leap day */
	check_serial("1", false, true, 1900, 1, 1, 0, false);
	check_serial("59", false, true, 1900, 2, 28, 0, false);
	check_serial("60", false, false, 0, 0, 0, 0, true);
	check_serial("60.5", false, false, 0, 0, 0, 0, true);
	check_serial("61", false, true, 1900, 3, 1, 0, false);
	check_serial("0", false, true, 1899, 12, 31, 0, false);
	check_serial("0.5", false, true, 1899, 12, 31, HMS(12, 0, 0), false);
	check_serial("45658", false, true, 2025, 1, 1, 0, false);
	check_serial("45658.5", false, true, 2025, 1, 1, HMS(12, 0, 0), false);
	check_serial("45658.75", false, true, 2025, 1, 1, HMS(18, 0, 0), false);
	/* 23:59:59 as Excel stores it (15 significant digits) */
	check_serial("0.999988425925926", false, true, 1899, 12, 31, HMS(23, 59, 59), false);
	/* 45000 written by other tools */
	check_serial("45000.0", false, true, 2023, 3, 15, 0, false);
	check_serial("4.5E+4", false, true, 2023, 3, 15, 0, false);
	check_serial("4.5e4", false, true, 2023, 3, 15, 0, false);
	check_serial("450000E-1", false, true, 2023, 3, 15, 0, false);
	check_serial(".5", false, true, 1899, 12, 31, HMS(12, 0, 0), false);
	/* rounding to the microsecond, carrying into the next day */
	check_serial("44197.999999999999", false, true, 2021, 1, 2, 0, false);
	check_serial("44197.99999999", false, true, 2021, 1, 1, INT64_C(86399999136), false);
	check_serial("0.000000000011574074074074074074", false, true, 1899, 12, 31, 1, false);
	check_serial("0.0000000000057870370370370370", false, true, 1899, 12, 31, 0, false);
	check_serial("0.0000000000057870370370370371", false, true, 1899, 12, 31, 1, false);
	check_serial("59.999999999999", false, false, 0, 0, 0, 0, true);
	/* the last day and past it */
	check_serial("2958465", false, true, 9999, 12, 31, 0, false);
	check_serial("2958465.99999", false, true, 9999, 12, 31, INT64_C(86399136000), false);
	check_serial("2958466", false, false, 0, 0, 0, 0, false);
	check_serial("99999999999999999999", false, false, 0, 0, 0, 0, false);
	/* garbage */
	check_serial("", false, false, 0, 0, 0, 0, false);
	check_serial("-1", false, false, 0, 0, 0, 0, false);
	check_serial("+1", false, false, 0, 0, 0, 0, false);
	check_serial("abc", false, false, 0, 0, 0, 0, false);
	check_serial("1.2.3", false, false, 0, 0, 0, 0, false);
	check_serial("1e", false, false, 0, 0, 0, 0, false);
	check_serial(" 1", false, false, 0, 0, 0, 0, false);
	check_serial(".", false, false, 0, 0, 0, 0, false);
	/* 1904 system */
	check_serial("0", true, true, 1904, 1, 1, 0, false);
	check_serial("1", true, true, 1904, 1, 2, 0, false);
	check_serial("60", true, true, 1904, 3, 1, 0, false);
	check_serial("44196", true, true, 2025, 1, 1, 0, false);
	check_serial("44196.25", true, true, 2025, 1, 1, HMS(6, 0, 0), false);

	/* builtin formats */
	check_builtin(0, XLSX_FORMAT_GENERAL);
	check_builtin(2, XLSX_FORMAT_GENERAL);
	check_builtin(14, XLSX_FORMAT_DATE);
	check_builtin(17, XLSX_FORMAT_DATE);
	check_builtin(18, XLSX_FORMAT_TIME);
	check_builtin(21, XLSX_FORMAT_TIME);
	check_builtin(22, XLSX_FORMAT_DATETIME);
	check_builtin(27, XLSX_FORMAT_DATE);
	check_builtin(36, XLSX_FORMAT_DATE);
	check_builtin(37, XLSX_FORMAT_GENERAL);
	check_builtin(45, XLSX_FORMAT_TIME);
	check_builtin(47, XLSX_FORMAT_TIME);
	check_builtin(48, XLSX_FORMAT_GENERAL);
	check_builtin(49, XLSX_FORMAT_TEXT);
	check_builtin(50, XLSX_FORMAT_DATE);
	check_builtin(58, XLSX_FORMAT_DATE);
	check_builtin(59, XLSX_FORMAT_GENERAL);
	check_builtin(164, XLSX_FORMAT_GENERAL);

	/* custom formats */
	check_kind("dd/mm/yyyy", XLSX_FORMAT_DATE);
	check_kind("yyyy-mm-dd hh:mm:ss", XLSX_FORMAT_DATETIME);
	check_kind("hh:mm", XLSX_FORMAT_TIME);
	check_kind("[h]:mm:ss", XLSX_FORMAT_TIME);
	check_kind("[mm]:ss", XLSX_FORMAT_TIME);
	check_kind("#,##0.00", XLSX_FORMAT_GENERAL);
	check_kind("0.00%", XLSX_FORMAT_GENERAL);
	check_kind("\"m\"0", XLSX_FORMAT_GENERAL);
	check_kind("mm:ss", XLSX_FORMAT_TIME);
	check_kind("[$-409]mmmm d, yyyy;@", XLSX_FORMAT_DATE);
	check_kind("@", XLSX_FORMAT_TEXT);
	check_kind("General", XLSX_FORMAT_GENERAL);
	check_kind("0.00E+00", XLSX_FORMAT_GENERAL);
	check_kind("##0.0e-0", XLSX_FORMAT_GENERAL);
	check_kind("[Red]#,##0;[Blue]-#,##0", XLSX_FORMAT_GENERAL);
	check_kind("mmm-yy", XLSX_FORMAT_DATE);
	check_kind("mmmm", XLSX_FORMAT_DATE);
	check_kind("d-mmm", XLSX_FORMAT_DATE);
	check_kind("h:mm AM/PM", XLSX_FORMAT_TIME);
	check_kind("\\d0", XLSX_FORMAT_GENERAL);
	check_kind("yyyy-mm-dd\"T\"hh:mm", XLSX_FORMAT_DATETIME);
	check_kind("m/d/yy h:mm", XLSX_FORMAT_DATETIME);
	check_kind("_(* #,##0_);_(* (#,##0);_(* \"-\"??_);_(@_)", XLSX_FORMAT_GENERAL);
	check_kind("0;[Red]dd/mm/yyyy", XLSX_FORMAT_GENERAL);
	check_kind("[<=9999999]###-####;(###) ###-####", XLSX_FORMAT_GENERAL);
	check_kind("", XLSX_FORMAT_GENERAL);

	/* cell references */
	check_ref("A1", true, true, 0, 1);
	check_ref("B7", true, true, 1, 7);
	check_ref("b7", true, true, 1, 7);
	check_ref("$B$3", true, true, 1, 3);
	check_ref("XFD1048576", true, true, 16383, 1048576);
	check_ref("XFE1", true, false, 0, 0);
	check_ref("A1048577", true, false, 0, 0);
	check_ref("A0", true, false, 0, 0);
	check_ref("A01", true, false, 0, 0);
	check_ref("1A", true, false, 0, 0);
	check_ref("A", true, false, 0, 0);
	check_ref("", true, false, 0, 0);
	check_ref("A1B", true, false, 0, 0);
	check_ref("H", false, true, 7, 0);
	check_ref("XFD", false, true, 16383, 0);
	check_ref("XFE", false, false, 0, 0);
	check_ref("H5", false, false, 0, 0);
	checks++;
	if (XlsxParseRefStatus("XFE1", 4, &c, &r) != XLSX_REF_COL_RANGE ||
		XlsxParseRefStatus("A1048577", 8, &c, &r) != XLSX_REF_ROW_RANGE ||
		XlsxParseRefStatus("A-1", 3, &c, &r) != XLSX_REF_MALFORMED)
	{
		failures++;
		printf("FAIL XlsxParseRefStatus classes\n");
	}
	check_colname(0, "A");
	check_colname(25, "Z");
	check_colname(26, "AA");
	check_colname(701, "ZZ");
	check_colname(702, "AAA");
	check_colname(16383, "XFD");
	check_colname(16384, "XFE");

	printf("test_format: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
