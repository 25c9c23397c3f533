/*
 * sheet_diff.c
 *		Run the worksheet scanner and the expat reference on the same bytes
 *		and compare every cell.
 *
 *	  sheet_diff [-v] [-d] FILE...   (-v: every check; -d: print raw files' cells)
 *
 * A FILE that is a zip (.xlsx) is opened as a workbook and every worksheet
 * is checked twice: the scanner through XlsxSheetOpen (the real path, the
 * workbook's shared strings and styles) and again on the part's bytes in
 * small pieces. Any other FILE is raw worksheet XML, checked with synthetic
 * shared strings and styles (testutil.c), handed to the scanner whole and
 * in pieces of 1, 2, 3, 7, 13, 29, 64, 100, 1000 and 4096 bytes so that
 * every token straddles a refill somewhere, and the fast path meets cells
 * cut at every point; and whole again with the fast path off, so that the
 * general path is held to the same cells. Then the projections
 * (XlsxSheetNeedColumns: 0, 1, 2, 3, 5, 8 and 30 columns, whole and in
 * pieces) against the full scan (ProjDiffRun). Names starting "bad_" must be rejected by expat,
 * names starting "ok_" accepted. Exits 1 on any difference.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "testutil.h"

static bool verbose = false;
static bool dump = false;
static int	failures = 0;

/*
 * report
 *		Print one check's outcome; count failures.
 */
static void
report(const char *label, size_t chunk, bool fast, const DiffResult *res, int expect)
{
	bool		ok = res->consistent;
	const char *why = res->report;

	if (ok && expect == 1 && !res->ref_ok)
	{
		ok = false;
		why = "expected expat to accept this file";
	}
	if (ok && expect == -1 && res->ref_ok)
	{
		ok = false;
		why = "expected expat to reject this file";
	}
	if (!ok)
		failures++;
	if (!ok || verbose)
	{
		printf("%s %s chunk=%zu%s rows=%ld cells=%ld %s\n", ok ? "ok  " : "FAIL", label,
			   chunk, fast ? "" : " fast=off", res->rows, res->cells,
			   res->ref_ok ? "accepted" : "rejected");
		if (*why)
			printf("     %s\n", why);
	}
}

/*
 * check_memory
 *		The scanner on bytes in memory, in pieces of 'chunk' (0: whole),
 *		with or without its fast path.
 */
static void
check_memory(const char *label, const char *data, size_t len, size_t chunk, bool fast,
			 const XlsxSst *sst, const uint8_t *xf, uint32_t nxf, int expect)
{
	XlsxEnv		env = TestEnv();
	MemSource	ref_src = {data, len, 0, 0};
	MemSource	scan_src = {data, len, 0, chunk};
	XlsxSheetReader *scanner;
	XlsxError	err;
	DiffResult	res;

	scanner = XlsxScanOpen(&env, label, MemSourceRead, NULL, &scan_src, sst, xf, nxf, &err);
	if (scanner == NULL)
	{
		printf("FAIL %s: %s\n", label, err.message);
		failures++;
		return;
	}
	XlsxScanSetFast(scanner, fast);
	DiffRun(MemSourceRead, &ref_src, scanner, sst, xf, nxf, &res);
	XlsxSheetClose(scanner);
	report(label, chunk, fast, &res, expect);
}

/*
 * check_projections
 *		The projected scans of bytes in memory against the full scan.
 */
static void
check_projections(const char *label, const char *data, size_t len, const XlsxSst *sst,
				  const uint8_t *xf, uint32_t nxf)
{
	static const uint32_t ncols[] = {0, 1, 2, 3, 5, 8, 30};
	static const size_t chunks[] = {0, 7, 61, 4093};

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++)
		for (size_t n = 0; n < sizeof(ncols) / sizeof(ncols[0]); n++)
		{
			XlsxEnv		env = TestEnv();
			MemSource	full_src = {data, len, 0, chunks[c]};
			MemSource	proj_src = {data, len, 0, chunks[c]};
			XlsxError	err;
			XlsxSheetReader *full = XlsxScanOpen(&env, label, MemSourceRead, NULL, &full_src,
												 sst, xf, nxf, &err);
			XlsxSheetReader *proj = XlsxScanOpen(&env, label, MemSourceRead, NULL, &proj_src,
												 sst, xf, nxf, &err);
			DiffResult	res;

			if (full == NULL || proj == NULL)
			{
				printf("FAIL %s: %s\n", label, err.message);
				failures++;
				XlsxSheetClose(full);
				XlsxSheetClose(proj);
				return;
			}
			ProjDiffRun(full, proj, ncols[n], &res);
			XlsxSheetClose(full);
			XlsxSheetClose(proj);
			if (!res.consistent)
				failures++;
			if (!res.consistent || verbose)
				printf("%s %s chunk=%zu projection=%u rows=%ld cells=%ld\n%s%s%s",
					   res.consistent ? "ok  " : "FAIL", label, chunks[c], ncols[n],
					   res.rows, res.cells, *res.report ? "     " : "", res.report,
					   *res.report ? "\n" : "");
		}
}

/*
 * zip_read
 *		A zip member stream as a DiffRun source.
 */
static ssize_t
zip_read(void *arg, char *buf, size_t len, XlsxError *err)
{
	return XlsxZipStreamRead((XlsxZipStream *) arg, buf, len, err);
}

/*
 * check_workbook
 *		Every worksheet of an .xlsx.
 */
static void
check_workbook(const char *path)
{
	XlsxEnv		env = TestEnv();
	XlsxEnv		ref_env = TestEnv();
	XlsxError	err;
	XlsxWorkbook *wb = XlsxOpen(path, &env, &err);
	XlsxWorkbook *ref;

	if (wb == NULL || !XlsxLoadSharedData(wb, &err))
	{
		/* refused before any sheet (zip, workbook, shared strings): no
		 * scanner to compare; the refusal itself is tested elsewhere */
		printf("skip %s: refused: %s\n", path, err.message);
		XlsxClose(wb);
		return;
	}
	/*
	 * The reference reads the part through an archive of its own: the
	 * scanner's stream may be inflated by a thread, which owns its archive
	 * while it runs (xlsx_internal.h).
	 */
	ref_env.inflate_ahead = false;
	ref = XlsxOpen(path, &ref_env, &err);
	if (ref == NULL)
	{
		printf("skip %s: refused: %s\n", path, err.message);
		XlsxClose(wb);
		return;
	}
	for (int pos = 1; pos <= XlsxSheetCount(wb); pos++)
	{
		const XlsxSheetInfo *si = XlsxGetSheet(wb, pos);
		char		label[1024];
		int64_t		index = XlsxZipLocate(wb->zip, si->part);
		XlsxZipStream *stream;
		XlsxSheetReader *scanner;
		DiffResult	res;
		char	   *data;
		size_t		len;

		snprintf(label, sizeof(label), "%s:%s", path, si->part);
		if (index < 0)
		{
			printf("skip %s: part missing\n", label);
			continue;
		}

		/* the real path: zip stream, workbook tables */
		stream = XlsxZipStreamOpen(ref->zip, index, si->part, XLSX_STREAM_SHEET, &err);
		scanner = stream ? XlsxSheetOpen(wb, pos, &err) : NULL;
		if (scanner == NULL)
		{
			/* refused at open (a zip bomb, an encrypted part) */
			printf("skip %s: refused: %s\n", label, err.message);
			XlsxZipStreamClose(stream);
			continue;
		}
		DiffRun(zip_read, stream, scanner, &wb->sst, wb->xf_kind, wb->nxf, &res);
		XlsxSheetClose(scanner);
		XlsxZipStreamClose(stream);
		report(label, XLSX_CHUNK, true, &res, 0);

		/* the same bytes in small pieces (small parts only) */
		data = (si->inflated_size >= 0 && si->inflated_size < (64 << 20)) ?
			XlsxZipReadPart(wb->zip, index, si->part, (size_t) 64 << 20, &len, &err) : NULL;
		if (data != NULL)
		{
			if (len < (1 << 20))
				check_memory(label, data, len, 1, true, &wb->sst, wb->xf_kind, wb->nxf, 0);
			check_memory(label, data, len, 61, true, &wb->sst, wb->xf_kind, wb->nxf, 0);
			check_memory(label, data, len, 4093, true, &wb->sst, wb->xf_kind, wb->nxf, 0);
			check_memory(label, data, len, 0, false, &wb->sst, wb->xf_kind, wb->nxf, 0);
			check_projections(label, data, len, &wb->sst, wb->xf_kind, wb->nxf);
			free(data);
		}
	}
	XlsxClose(ref);
	XlsxClose(wb);
}

/*
 * dump_cells
 *		-d: the scanner's cells of a raw file, in xlsxdump's format.
 */
static void
dump_cells(const char *label, const char *data, size_t len, const XlsxSst *sst,
		   const uint8_t *xf, uint32_t nxf)
{
	XlsxEnv		env = TestEnv();
	MemSource	src = {data, len, 0, 0};
	XlsxError	err;
	XlsxSheetReader *r = XlsxScanOpen(&env, label, MemSourceRead, NULL, &src, sst, xf, nxf, &err);
	XlsxRow    *row;
	int			rc;

	while ((rc = XlsxSheetNextRow(r, &row, &err)) == 1)
		for (int i = 0; i < row->ncells; i++)
		{
			char		col[4];

			XlsxColumnName(row->cells[i].col, col);
			printf("%s%u\t%s\t%s%s\t", col, row->rownum, CellTypeName(row->cells[i].type),
				   FormatKindName(row->cells[i].format), row->cells[i].has_formula ? "+f" : "");
			PrintEscaped(stdout, row->cells[i].text, row->cells[i].len);
			putchar('\n');
		}
	if (rc < 0)
		printf("error: %s\n", err.message);
	XlsxSheetClose(r);
}

/*
 * check_raw
 *		A raw worksheet XML file, in many piece sizes.
 */
static void
check_raw(const char *path)
{
	static const size_t chunks[] = {0, 1, 2, 3, 7, 13, 29, 64, 100, 1000, 4096};
	size_t		len;
	char	   *data = ReadFile(path, &len);
	char	   *copy = strdup(path);
	const char *base = basename(copy);
	int			expect = strncmp(base, "bad_", 4) == 0 ? -1 : strncmp(base, "ok_", 3) == 0 ? 1 : 0;
	XlsxSst		sst;
	const uint8_t *xf;
	uint32_t	nxf;

	if (data == NULL)
	{
		printf("FAIL %s: cannot read\n", path);
		failures++;
		free(copy);
		return;
	}
	SyntheticTables(&sst, &xf, &nxf);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
	{
		if (chunks[i] == 1 && len > (1 << 20))
			continue;
		check_memory(path, data, len, chunks[i], true, &sst, xf, nxf, expect);
	}
	check_memory(path, data, len, 0, false, &sst, xf, nxf, expect);
	check_projections(path, data, len, &sst, xf, nxf);
	if (dump)
		dump_cells(path, data, len, &sst, xf, nxf);
	free(data);
	free(copy);
}

int
main(int argc, char **argv)
{
	int			nfiles = 0;

	for (int i = 1; i < argc; i++)
	{
		FILE	   *f;
		char		magic[2] = {0, 0};

		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "-d") == 0)
		{
			verbose = verbose || argv[i][1] == 'v';
			dump = dump || argv[i][1] == 'd';
			continue;
		}
		f = fopen(argv[i], "rb");
		if (f)
		{
			if (fread(magic, 1, 2, f) != 2)
				magic[0] = 0;
			fclose(f);
		}
		if (magic[0] == 'P' && magic[1] == 'K')
			check_workbook(argv[i]);
		else
			check_raw(argv[i]);
		nfiles++;
	}
	printf("sheet_diff: %d file(s), %d failure(s)\n", nfiles, failures);
	return failures ? 1 : 0;
}
