/*
 * gen_big.c
 *		Write a large test workbook with libxlsxwriter, for scanbench.
 *
 *	  gen_big OUT.xlsx ROWS [inline|shared]
 *
 * Eight columns per row, as a sales sheet: id, date (date format), store,
 * product code, quantity, price, amount (a formula with its cached value),
 * a boolean. "inline" uses constant_memory mode (inline strings, low
 * memory); "shared" the default mode (a shared-strings table, as Excel).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

int
main(int argc, char **argv)
{
	lxw_workbook_options opts = {0};
	lxw_workbook *wb;
	lxw_worksheet *ws;
	lxw_format *datefmt;
	lxw_format *money;
	static const char *stores[] = {"Norte", "Centro", "Sur"};
	long		rows;

	if (argc < 3)
	{
		fprintf(stderr, "usage: gen_big OUT.xlsx ROWS [inline|shared]\n");
		return 2;
	}
	rows = atol(argv[2]);
	opts.constant_memory = !(argc > 3 && strcmp(argv[3], "shared") == 0);
	wb = workbook_new_opt(argv[1], &opts);
	ws = workbook_add_worksheet(wb, "Ventas");
	datefmt = workbook_add_format(wb);
	format_set_num_format(datefmt, "yyyy-mm-dd");
	money = workbook_add_format(wb);
	format_set_num_format(money, "#,##0.00");

	worksheet_write_string(ws, 0, 0, "id", NULL);
	worksheet_write_string(ws, 0, 1, "fecha", NULL);
	worksheet_write_string(ws, 0, 2, "tienda", NULL);
	worksheet_write_string(ws, 0, 3, "producto", NULL);
	worksheet_write_string(ws, 0, 4, "cantidad", NULL);
	worksheet_write_string(ws, 0, 5, "precio", NULL);
	worksheet_write_string(ws, 0, 6, "importe", NULL);
	worksheet_write_string(ws, 0, 7, "devuelto", NULL);
	for (long r = 1; r <= rows; r++)
	{
		char		code[16];
		char		formula[32];
		int			qty = (int) (r * 7 % 13) + 1;
		double		price = (double) ((r * 31) % 10000) / 100.0;

		snprintf(code, sizeof(code), "P-%05ld", r % 5000);
		snprintf(formula, sizeof(formula), "=E%ld*F%ld", r + 1, r + 1);
		worksheet_write_number(ws, (lxw_row_t) r, 0, (double) r, NULL);
		worksheet_write_number(ws, (lxw_row_t) r, 1, 45292 + (double) (r % 366), datefmt);
		worksheet_write_string(ws, (lxw_row_t) r, 2, stores[r % 3], NULL);
		worksheet_write_string(ws, (lxw_row_t) r, 3, code, NULL);
		worksheet_write_number(ws, (lxw_row_t) r, 4, qty, NULL);
		worksheet_write_number(ws, (lxw_row_t) r, 5, price, money);
		worksheet_write_formula_num(ws, (lxw_row_t) r, 6, formula, money, qty * price);
		worksheet_write_boolean(ws, (lxw_row_t) r, 7, r % 17 == 0, NULL);
	}
	if (workbook_close(wb) != LXW_NO_ERROR)
	{
		fprintf(stderr, "gen_big: could not write %s\n", argv[1]);
		return 1;
	}
	return 0;
}
