/*
 * xlsxdump.c
 *		Dump a workbook with the reader core, for eyes and for comparison
 *		with an independent dump (openpyxl). Output format: README.md.
 *
 *	  xlsxdump FILE           the date system, then one line per sheet
 *	  xlsxdump FILE SHEET     one line per cell of SHEET (name, or position)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/*
 * state_name
 *		A sheet's visibility as printed.
 */
static const char *
state_name(XlsxSheetState s)
{
	return s == XLSX_SHEET_HIDDEN ? "hidden" : s == XLSX_SHEET_VERY_HIDDEN ? "veryHidden" : "visible";
}

int
main(int argc, char **argv)
{
	XlsxEnv		env = TestEnv();
	XlsxError	err;
	XlsxWorkbook *wb;
	const XlsxSheetInfo *si;
	XlsxSheetReader *reader;
	XlsxRow    *row;
	int			rc;

	if (argc < 2 || argc > 3)
	{
		fprintf(stderr, "usage: xlsxdump FILE [SHEET]\n");
		return 2;
	}
	wb = XlsxOpen(argv[1], &env, &err);
	if (wb == NULL)
	{
		fprintf(stderr, "xlsxdump: %s: %s\n", argv[1], err.message);
		return 1;
	}

	if (argc == 2)
	{
		/* the sheet list, after the workbook's date system */
		printf("date1904\t%s\n", XlsxDate1904(wb) ? "true" : "false");
		for (int i = 1; i <= XlsxSheetCount(wb); i++)
		{
			const char *dim;

			si = XlsxGetSheet(wb, i);
			dim = XlsxSheetDimension(wb, i, &err);
			printf("%d\t", si->position);
			PrintEscaped(stdout, si->name, strlen(si->name));
			printf("\t%s\t%s\t%s\n", state_name(si->state), si->part, dim ? dim : "");
		}
		XlsxClose(wb);
		return 0;
	}

	/* a sheet by name, else by position */
	si = XlsxFindSheet(wb, argv[2]);
	if (si == NULL && strspn(argv[2], "0123456789") == strlen(argv[2]))
		si = XlsxGetSheet(wb, atoi(argv[2]));
	if (si == NULL)
	{
		fprintf(stderr, "xlsxdump: sheet \"%s\" not found\n", argv[2]);
		XlsxClose(wb);
		return 1;
	}
	reader = XlsxSheetOpen(wb, si->position, &err);
	if (reader == NULL)
	{
		fprintf(stderr, "xlsxdump: %s\n", err.message);
		XlsxClose(wb);
		return 1;
	}
	while ((rc = XlsxSheetNextRow(reader, &row, &err)) == 1)
	{
		for (int i = 0; i < row->ncells; i++)
		{
			const XlsxCell *c = &row->cells[i];
			char		col[4];

			XlsxColumnName(c->col, col);
			printf("%s%u\t%s\t%s\t", col, row->rownum, CellTypeName(c->type),
				   FormatKindName(c->format));
			PrintEscaped(stdout, c->text, c->len);
			putchar('\n');
		}
	}
	XlsxSheetClose(reader);
	XlsxClose(wb);
	if (rc < 0)
	{
		fflush(stdout);
		fprintf(stderr, "xlsxdump: %s\n", err.message);
		return 1;
	}
	return 0;
}
