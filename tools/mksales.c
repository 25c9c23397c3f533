/*-------------------------------------------------------------------------
 *
 * mksales.c
 *	  Benchmark data generator: one sheet "Ventas" of N sales lines written
 *	  both as .xlsx (libxlsxwriter, constant_memory) and as CSV, so that
 *	  bench/ can compare reading the workbook with COPY ... CSV HEADER of the
 *	  very same values.
 *
 *	  mksales --rows N [--seed S] [--shape warehouse] OUT.xlsx OUT.csv
 *
 * Columns: sale_id, ticket_id, fecha (a date cell, yyyy-mm-dd), store_id
 * (1-3), product_id, quantity, amount (two decimals), campaign_id (about
 * 90% of the cells absent).  Amounts are drawn as integer cents and written
 * as cents / 100.0 (correctly rounded: the double nearest the two-decimal
 * value).  libxlsxwriter prints doubles with "%.16g", which for about 4% of
 * such values gives a long text (9.45 -> "9.449999999999999"); those draws
 * are rejected and drawn again, so every amount cell's text is the exact
 * short decimal that the CSV holds.
 *
 * --shape warehouse writes the same sales in the shape of the chain's
 * workbook (tools/mkworkbook's Ventas) and warehouse tables: ticket_id,
 * line_no, product_id, store_id, fecha (styled "dd/mm/yyyy"), campaign_id
 * (mostly absent), amount (styled "#,##0.00"), quantity; bench/xlsx reads it
 * into integer, smallint, date and numeric(12,2) columns.
 *
 * Memory does not grow with N: rows are streamed to both files.
 *
 * tools/mksales.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlsxwriter.h"

#include "gencommon.h"

#define MKSALES_PRODUCTS	300
#define MKSALES_CAMPAIGNS	8
#define MKSALES_DAYS		731		/* 2023-01-01 .. 2024-12-31 */

static const char *const column_names[] = {
	"sale_id", "ticket_id", "fecha", "store_id", "product_id",
	"quantity", "amount", "campaign_id"
};
static const char *const warehouse_names[] = {
	"ticket_id", "line_no", "product_id", "store_id", "fecha",
	"campaign_id", "amount", "quantity"
};

/*
 * usage
 *		Print the synopsis and exit with the given status.
 */
static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
			"usage: mksales --rows N [--seed S] [--shape warehouse] OUT.xlsx OUT.csv\n"
			"  writes N sales lines as sheet \"Ventas\" of OUT.xlsx and as OUT.csv\n");
	exit(status);
}

/*
 * check
 *		Exit with a message if a libxlsxwriter call failed.
 */
static void
check(lxw_error err, const char *what)
{
	if (err != LXW_NO_ERROR)
	{
		fprintf(stderr, "mksales: %s: %s\n", what, lxw_strerror(err));
		exit(1);
	}
}

/*
 * main
 *		Parse options, then stream tickets of 1-8 lines in date order.
 */
int
main(int argc, char **argv)
{
	uint64_t	rows = 0;
	uint64_t	seed = 1;
	int			have_rows = 0;
	int			warehouse = 0;
	lxw_format *money_format = NULL;
	const char *xlsx_path = NULL;
	const char *csv_path = NULL;
	GenRng		rng;
	int64_t		price_cents[MKSALES_PRODUCTS + 1];
	lxw_workbook_options options = {.constant_memory = LXW_TRUE,.tmpdir = NULL,.use_zip64 = LXW_TRUE};
	lxw_doc_properties properties = {0};
	lxw_workbook *workbook;
	lxw_worksheet *sheet;
	lxw_format *date_format;
	FILE	   *csv;
	static char csv_buffer[1 << 20];
	int32_t		first_day = GenDaysFromCivil(2023, 1, 1);
	uint64_t	sale_id = 0;
	uint64_t	ticket_id = 0;
	int			i;

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
		{
			rows = GenParseU64(argv[++i], "--rows");
			have_rows = 1;
		}
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = GenParseU64(argv[++i], "--seed");
		else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc &&
				 strcmp(argv[i + 1], "warehouse") == 0)
		{
			warehouse = 1;
			i++;
		}
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			usage(0);
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
		{
			fprintf(stderr, "mksales: unknown option \"%s\"\n", argv[i]);
			usage(2);
		}
		else if (xlsx_path == NULL)
			xlsx_path = argv[i];
		else if (csv_path == NULL)
			csv_path = argv[i];
		else
			usage(2);
	}
	if (!have_rows || xlsx_path == NULL || csv_path == NULL)
		usage(2);
	if (rows > 1048575)
	{
		fprintf(stderr, "mksales: --rows %llu does not fit in one sheet (at most 1048575 data rows)\n",
				(unsigned long long) rows);
		exit(2);
	}

	GenRngInit(&rng, seed);

	/* A fixed price list per seed: 0.50 to 40.00 */
	for (i = 1; i <= MKSALES_PRODUCTS; i++)
		price_cents[i] = GenRngRange(&rng, 50, 4000);

	workbook = workbook_new_opt(xlsx_path, &options);
	if (workbook == NULL)
	{
		fprintf(stderr, "mksales: could not create \"%s\"\n", xlsx_path);
		exit(1);
	}
	sheet = workbook_add_worksheet(workbook, "Ventas");
	if (sheet == NULL)
	{
		fprintf(stderr, "mksales: could not add sheet \"Ventas\"\n");
		exit(1);
	}
	/* a fixed creation time makes the file byte-for-byte reproducible */
	properties.author = "mksales";
	properties.created = 1735689600;	/* 2025-01-01 00:00:00 UTC */
	check(workbook_set_properties(workbook, &properties), "properties");
	date_format = workbook_add_format(workbook);
	format_set_num_format(date_format, warehouse ? "dd/mm/yyyy" : "yyyy-mm-dd");
	if (warehouse)
	{
		money_format = workbook_add_format(workbook);
		format_set_num_format(money_format, "#,##0.00");
	}

	csv = fopen(csv_path, "w");
	if (csv == NULL)
	{
		perror(csv_path);
		exit(1);
	}
	setvbuf(csv, csv_buffer, _IOFBF, sizeof(csv_buffer));

	/* Header row */
	for (i = 0; i < 8; i++)
	{
		const char *name = warehouse ? warehouse_names[i] : column_names[i];

		check(worksheet_write_string(sheet, 0, (lxw_col_t) i, name, NULL), "header");
		fprintf(csv, "%s%s", i ? "," : "", name);
	}
	fputc('\n', csv);

	while (sale_id < rows)
	{
		/* One ticket: its date follows its position, so rows are in date order */
		int			lines = 1 + GenRngPoisson(&rng, 2.5);
		int32_t		day = first_day + (int32_t) ((sale_id * MKSALES_DAYS) / (rows ? rows : 1));
		int			store = GenRngRange(&rng, 1, 3);
		int			campaign = GenRngChance(&rng, 0.10) ? GenRngRange(&rng, 1, MKSALES_CAMPAIGNS) : 0;
		char		date_text[11];
		int			line;

		if (lines > 8)
			lines = 8;
		ticket_id++;
		GenFormatIso(day, date_text);

		for (line = 0; line < lines && sale_id < rows; line++)
		{
			int			product;
			int			quantity;
			int64_t		cents;
			lxw_row_t	row;
			char		amount_text[32];

			/* Draw again until the amount's cell text is exact (see GenCentsExact) */
			do
			{
				product = GenRngRange(&rng, 1, MKSALES_PRODUCTS);
				quantity = GenRngChance(&rng, 0.7) ? 1 : GenRngRange(&rng, 2, 10);
				cents = price_cents[product] * quantity;
			} while (!GenCentsExact(cents));

			sale_id++;
			row = (lxw_row_t) sale_id;
			GenFormatCents(cents, amount_text, '.');

			if (warehouse)
			{
				worksheet_write_number(sheet, row, 0, (double) ticket_id, NULL);
				worksheet_write_number(sheet, row, 1, line + 1, NULL);
				worksheet_write_number(sheet, row, 2, product, NULL);
				worksheet_write_number(sheet, row, 3, store, NULL);
				worksheet_write_number(sheet, row, 4, GenExcelSerial(day), date_format);
				if (campaign)
					worksheet_write_number(sheet, row, 5, campaign, NULL);
				worksheet_write_number(sheet, row, 6, (double) cents / 100.0, money_format);
				worksheet_write_number(sheet, row, 7, quantity, NULL);
				fprintf(csv, "%llu,%d,%d,%d,%s,", (unsigned long long) ticket_id, line + 1,
						product, store, date_text);
				if (campaign)
					fprintf(csv, "%d", campaign);
				fprintf(csv, ",%s,%d\n", amount_text, quantity);
				continue;
			}

			worksheet_write_number(sheet, row, 0, (double) sale_id, NULL);
			worksheet_write_number(sheet, row, 1, (double) ticket_id, NULL);
			worksheet_write_number(sheet, row, 2, GenExcelSerial(day), date_format);
			worksheet_write_number(sheet, row, 3, store, NULL);
			worksheet_write_number(sheet, row, 4, product, NULL);
			worksheet_write_number(sheet, row, 5, quantity, NULL);
			/* cents / 100.0 is the double nearest the 2-decimal value */
			worksheet_write_number(sheet, row, 6, (double) cents / 100.0, NULL);
			if (campaign)
				worksheet_write_number(sheet, row, 7, campaign, NULL);

			if (campaign)
				fprintf(csv, "%llu,%llu,%s,%d,%d,%d,%s,%d\n",
						(unsigned long long) sale_id, (unsigned long long) ticket_id,
						date_text, store, product, quantity, amount_text, campaign);
			else
				fprintf(csv, "%llu,%llu,%s,%d,%d,%d,%s,\n",
						(unsigned long long) sale_id, (unsigned long long) ticket_id,
						date_text, store, product, quantity, amount_text);
		}
	}

	if (fclose(csv) != 0)
	{
		perror(csv_path);
		exit(1);
	}
	check(workbook_close(workbook), "closing the workbook");
	return 0;
}
