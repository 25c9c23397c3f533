/*
 * diff.c
 *		The differential check of the worksheet scanner against expat.
 *
 * Both run in lockstep: each row the reference produces pulls the next row
 * from the scanner and compares every field, so memory stays bounded even
 * on a 1M-row sheet. The contract (README.md): expat rejects -> the scanner
 * fails somewhere; expat accepts -> the scanner yields the same rows and
 * ends cleanly, unless it refused the input as unsupported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "refsheet.h"
#include "testutil.h"

typedef struct Lockstep
{
	XlsxSheetReader *scanner;
	DiffResult *res;
	bool		scan_failed;
	bool		scan_ended;
	bool		mismatch;
	XlsxError	err;
} Lockstep;

/*
 * describe_cell
 *		One cell for a report.
 */
static void
describe_cell(char *buf, size_t size, uint32_t rownum, const XlsxCell *c)
{
	char		col[4];

	XlsxColumnName(c->col, col);
	snprintf(buf, size, "%s%u %s %s%s [%.*s]", col, rownum, CellTypeName(c->type),
			 FormatKindName(c->format), c->has_formula ? " formula" : "",
			 (int) (c->len > 60 ? 60 : c->len), c->text);
}

/*
 * on_ref_row
 *		A row from the reference: the scanner must produce the same one now.
 */
static bool
on_ref_row(void *arg, const XlsxRow *ref)
{
	Lockstep   *ls = arg;
	XlsxRow    *row = NULL;
	int			rc;
	char		a[200];
	char		b[200];

	ls->res->rows++;
	ls->res->cells += ref->ncells;
	if (ls->scan_failed || ls->mismatch)
		return true;
	rc = XlsxSheetNextRow(ls->scanner, &row, &ls->err);
	if (rc < 0)
	{
		ls->scan_failed = true;
		return true;
	}
	if (rc == 0)
	{
		ls->mismatch = true;
		snprintf(ls->res->report, sizeof(ls->res->report),
				 "scanner ended before reference row %u", ref->rownum);
		return false;
	}
	if (row->rownum != ref->rownum || row->ncells != ref->ncells)
	{
		ls->mismatch = true;
		snprintf(ls->res->report, sizeof(ls->res->report),
				 "row differs: reference row %u with %d cells, scanner row %u with %d cells",
				 ref->rownum, ref->ncells, row->rownum, row->ncells);
		return false;
	}
	for (int i = 0; i < ref->ncells; i++)
	{
		const XlsxCell *x = &ref->cells[i];
		const XlsxCell *y = &row->cells[i];

		if (x->col != y->col || x->type != y->type || x->format != y->format ||
			x->has_formula != y->has_formula || x->len != y->len ||
			memcmp(x->text, y->text, x->len) != 0 || y->text[y->len] != '\0')
		{
			describe_cell(a, sizeof(a), ref->rownum, x);
			describe_cell(b, sizeof(b), row->rownum, y);
			ls->mismatch = true;
			snprintf(ls->res->report, sizeof(ls->res->report),
					 "cell differs: reference %s, scanner %s", a, b);
			return false;
		}
	}
	return true;
}

void
DiffRun(XlsxReadFn ref_read, void *ref_arg, XlsxSheetReader *scanner,
		const XlsxSst *sst, const uint8_t *xf, uint32_t nxf, DiffResult *res)
{
	Lockstep	ls;
	RefReader  *ref;
	char	   *buf = malloc(XLSX_CHUNK);
	XlsxError	rerr;
	bool		ok = true;
	char		read_error[600] = "";

	memset(res, 0, sizeof(*res));
	memset(&ls, 0, sizeof(ls));
	ls.scanner = scanner;
	ls.res = res;
	ref = RefCreate(sst, xf, nxf, on_ref_row, &ls);

	/* the reference reads its own copy of the bytes */
	for (;;)
	{
		ssize_t		n = ref_read(ref_arg, buf, XLSX_CHUNK, &rerr);

		if (n < 0)
		{
			/* damaged input (CRC, lying sizes): a rejection like expat's */
			snprintf(read_error, sizeof(read_error), "%s", rerr.message);
			ok = false;
			break;
		}
		ok = RefFeed(ref, buf, (size_t) n, n == 0);
		if (!ok || n == 0 || ls.mismatch)
			break;
	}
	free(buf);
	res->ref_ok = ok;

	if (ls.mismatch)
	{
		RefDestroy(ref);
		return;
	}

	/* the reference is done: the scanner must end the same way */
	if (ok)
	{
		if (!ls.scan_failed)
		{
			XlsxRow    *row;
			int			rc = XlsxSheetNextRow(scanner, &row, &ls.err);

			if (rc == 1)
			{
				snprintf(res->report, sizeof(res->report),
						 "scanner has a row %u the reference does not", row->rownum);
				RefDestroy(ref);
				return;
			}
			ls.scan_failed = (rc < 0);
		}
		res->scan_ok = !ls.scan_failed;
		res->unsupported = ls.scan_failed && XlsxScanUnsupported(scanner);
		if (ls.scan_failed && !res->unsupported)
			snprintf(res->report, sizeof(res->report),
					 "expat accepts, scanner fails: %s", ls.err.message);
		else
		{
			res->consistent = true;
			if (res->unsupported)
				snprintf(res->report, sizeof(res->report), "unsupported: %s", ls.err.message);
		}
	}
	else
	{
		/* expat rejected it: the scanner must fail somewhere */
		XlsxRow    *row;
		int			rc = ls.scan_failed ? -1 : 1;

		while (rc == 1)
			rc = XlsxSheetNextRow(scanner, &row, &ls.err);
		res->scan_ok = (rc == 0);
		res->unsupported = (rc < 0) && XlsxScanUnsupported(scanner);
		if (rc == 0)
			snprintf(res->report, sizeof(res->report),
					 "scanner accepts what expat rejects (%s)", *read_error ? read_error : RefError(ref));
		else
		{
			res->consistent = true;
			snprintf(res->report, sizeof(res->report), "both reject: reference: %s; scanner: %s",
					 *read_error ? read_error : RefError(ref), ls.err.message);
		}
	}
	RefDestroy(ref);
}

/*
 * same_cell
 *		Every field of two cells equal?
 */
static bool
same_cell(const XlsxCell *a, const XlsxCell *b)
{
	return a->col == b->col && a->type == b->type && a->format == b->format &&
		a->has_formula == b->has_formula && a->len == b->len &&
		memcmp(a->text, b->text, a->len) == 0 && a->text[a->len] == '\0';
}

/*
 * ProjDiffRun
 *		The projected scanner against the full one (see diff.h).
 */
void
ProjDiffRun(XlsxSheetReader *full, XlsxSheetReader *proj, uint32_t ncols, DiffResult *res)
{
	XlsxError	ferr;
	XlsxError	perr;
	char		a[200];
	char		b[200];

	memset(res, 0, sizeof(*res));
	res->consistent = true;
	XlsxSheetNeedColumns(proj, ncols);
	for (;;)
	{
		XlsxRow    *frow = NULL;
		XlsxRow    *prow = NULL;
		int			frc = XlsxSheetNextRow(full, &frow, &ferr);
		int			prc;
		int			j = 0;

		if (frc < 0)
		{
			/* the full scan failed: proj may fail or go on */
			res->ref_ok = false;
			snprintf(res->report, sizeof(res->report), "full scan failed: %s", ferr.message);
			return;
		}
		prc = XlsxSheetNextRow(proj, &prow, &perr);
		if (prc < 0)
		{
			res->consistent = false;
			snprintf(res->report, sizeof(res->report),
					 "projection to %u columns failed where the full scan %s: %s", ncols,
					 frc ? "yields a row" : "ends", perr.message);
			return;
		}
		if (frc == 0 || prc == 0)
		{
			res->ref_ok = res->scan_ok = (frc == 0 && prc == 0);
			if (frc != prc)
			{
				res->consistent = false;
				snprintf(res->report, sizeof(res->report),
						 "projection to %u columns %s", ncols,
						 frc == 0 ? "yields a row after the full scan's end" :
						 "ends before the full scan");
			}
			return;
		}
		res->rows++;
		res->cells += prow->ncells;
		if (prow->rownum != frow->rownum)
		{
			res->consistent = false;
			snprintf(res->report, sizeof(res->report),
					 "projection to %u columns: row %u where the full scan has row %u",
					 ncols, prow->rownum, frow->rownum);
			return;
		}
		/* proj's cells: a subset of full's, holding all below ncols */
		for (int i = 0; i < frow->ncells; i++)
		{
			const XlsxCell *fc = &frow->cells[i];

			if (j < prow->ncells && prow->cells[j].col == fc->col)
			{
				if (!same_cell(fc, &prow->cells[j]))
				{
					describe_cell(a, sizeof(a), frow->rownum, fc);
					describe_cell(b, sizeof(b), prow->rownum, &prow->cells[j]);
					res->consistent = false;
					snprintf(res->report, sizeof(res->report),
							 "projection to %u columns: cell differs: full %s, projected %s",
							 ncols, a, b);
					return;
				}
				j++;
			}
			else if (fc->col < ncols)
			{
				describe_cell(a, sizeof(a), frow->rownum, fc);
				res->consistent = false;
				snprintf(res->report, sizeof(res->report),
						 "projection to %u columns: cell missing: %s", ncols, a);
				return;
			}
		}
		if (j != prow->ncells)
		{
			describe_cell(b, sizeof(b), prow->rownum, &prow->cells[j]);
			res->consistent = false;
			snprintf(res->report, sizeof(res->report),
					 "projection to %u columns: cell the full scan does not have: %s",
					 ncols, b);
			return;
		}
	}
}
