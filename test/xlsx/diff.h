/*
 * diff.h
 *		The differential check: the scanner against the expat reference on
 *		the same bytes (see README.md for the contract).
 */
#ifndef XLSX_DIFF_H
#define XLSX_DIFF_H

#include "xlsx.h"
#include "xlsx_internal.h"

typedef struct DiffResult
{
	bool		consistent;		/* the contract holds */
	bool		ref_ok;			/* expat accepted the document */
	bool		scan_ok;		/* the scanner read it to the end */
	bool		unsupported;	/* the scanner refused it as out of scope */
	long		rows;
	long		cells;
	char		report[1024];	/* why not consistent, or the errors */
} DiffResult;

/*
 * Run the reference on bytes from ref_read/ref_arg and compare, row by row,
 * with what 'scanner' yields. Does not close the scanner.
 */
extern void DiffRun(XlsxReadFn ref_read, void *ref_arg, XlsxSheetReader *scanner,
					const XlsxSst *sst, const uint8_t *xf, uint32_t nxf,
					DiffResult *res);

/*
 * The projection's contract (XlsxSheetNeedColumns): 'proj', told it needs
 * only columns below ncols, against 'full' on the same bytes, in lockstep.
 * Where full yields a row, proj yields the same row number, the same cells
 * below ncols, and any other cell it gives equal to full's; where full ends,
 * proj ends; where full fails, proj may fail or (the failure lying in a
 * row's skipped rest) go on: nothing more is compared. Proj never fails
 * where full does not. Does not close the scanners.
 */
extern void ProjDiffRun(XlsxSheetReader *full, XlsxSheetReader *proj, uint32_t ncols,
						DiffResult *res);

#endif
