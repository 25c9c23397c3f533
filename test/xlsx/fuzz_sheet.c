/*
 * fuzz_sheet.c
 *		libFuzzer target: the differential check (diff.c) on arbitrary
 *		bytes, the scanner reading them whole and in small pieces. Any break
 *		of the contract in README.md aborts with the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "testutil.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * run_once
 *		One differential run with the scanner reading 'chunk' bytes a time.
 */
static void
run_once(const uint8_t *data, size_t size, size_t chunk, bool fast)
{
	XlsxEnv		env = TestEnv();
	MemSource	ref_src = {(const char *) data, size, 0, 0};
	MemSource	scan_src = {(const char *) data, size, 0, chunk};
	XlsxSst		sst;
	const uint8_t *xf;
	uint32_t	nxf;
	XlsxError	err;
	XlsxSheetReader *scanner;
	DiffResult	res;

	SyntheticTables(&sst, &xf, &nxf);
	scanner = XlsxScanOpen(&env, "fuzz", MemSourceRead, NULL, &scan_src, &sst, xf, nxf, &err);
	if (scanner == NULL)
		abort();
	XlsxScanSetFast(scanner, fast);
	DiffRun(MemSourceRead, &ref_src, scanner, &sst, xf, nxf, &res);
	XlsxSheetClose(scanner);
	if (!res.consistent)
	{
		fprintf(stderr, "contract broken (chunk %zu%s): %s\n", chunk,
				fast ? "" : ", fast path off", res.report);
		abort();
	}
}

/*
 * run_projection
 *		A scan told it needs only the first ncols columns against the full
 *		scan (ProjDiffRun), both reading 'chunk' bytes a time.
 */
static void
run_projection(const uint8_t *data, size_t size, size_t chunk, uint32_t ncols)
{
	XlsxEnv		env = TestEnv();
	MemSource	full_src = {(const char *) data, size, 0, chunk};
	MemSource	proj_src = {(const char *) data, size, 0, chunk};
	XlsxSst		sst;
	const uint8_t *xf;
	uint32_t	nxf;
	XlsxError	err;
	XlsxSheetReader *full;
	XlsxSheetReader *proj;
	DiffResult	res;

	SyntheticTables(&sst, &xf, &nxf);
	full = XlsxScanOpen(&env, "fuzz", MemSourceRead, NULL, &full_src, &sst, xf, nxf, &err);
	proj = XlsxScanOpen(&env, "fuzz", MemSourceRead, NULL, &proj_src, &sst, xf, nxf, &err);
	if (full == NULL || proj == NULL)
		abort();
	ProjDiffRun(full, proj, ncols, &res);
	XlsxSheetClose(full);
	XlsxSheetClose(proj);
	if (!res.consistent)
	{
		fprintf(stderr, "projection contract broken (chunk %zu): %s\n", chunk, res.report);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/*
	 * whole, in pieces of 1..8 bytes and of 9..136 bytes picked from the
	 * input (the fast path reads whole cells: the larger pieces cut them at
	 * every point), and whole with the fast path off
	 */
	run_once(data, size, 0, true);
	run_once(data, size, 1 + (size ? data[size / 2] % 8 : 0), true);
	run_once(data, size, 9 + (size ? data[size / 3] % 128 : 0), true);
	run_once(data, size, 0, false);
	/* projections: none (count(*)) and a few columns picked from the input */
	run_projection(data, size, 0, 0);
	run_projection(data, size, 9 + (size ? data[size / 5] % 128 : 0),
				   size ? data[size / 7] % 6 : 1);
	return 0;
}
