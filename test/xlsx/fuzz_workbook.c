/*
 * fuzz_workbook.c
 *		libFuzzer target over the whole open-and-scan path: the input is a
 *		zip file, read as the FDW reads it: the zip directory, the package
 *		and workbook relationships, workbook.xml, the shared strings, the
 *		styles, each sheet's dimension, then every sheet streamed from the
 *		zip by the scanner and, in lockstep, by the expat reference reader
 *		(diff.c), which must agree as README.md says. With
 *		XLSX_INFLATE_AHEAD=1 XLSX_INFLATE_AHEAD_MIN=1 (make fuzz-workbook-ahead)
 *		every sheet is inflated by a thread; the reference reader always reads
 *		through an archive of its own.
 *
 * Budgets are small (4 MB of shared strings, 4 MB per workbook part), and
 * `make fuzz-workbook` runs with -rss_limit_mb and -malloc_limit_mb, so an
 * allocation a file can make run away shows up as a failure, not as a slow
 * run. Crashes, sanitizer reports, leaks and broken contracts abort.
 *
 * The core opens files by path (as the backend does: O_NONBLOCK, fstat), so
 * each input is written to one scratch file per process first. An input that
 * starts with "PK" is that file as it is (mutations reach the zip directory
 * and the deflate streams); any other input is a list of parts,
 * "@@<name>\n<bytes>" one after the other, zipped here with libzip (stored
 * or deflated, by the first byte's low bit), so that mutations reach the XML
 * of every part instead of breaking CRCs. seeds.py writes both forms of
 * every seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "diff.h"
#include "testutil.h"
#include "xlsx_internal.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];

static ssize_t
zip_read(void *arg, char *buf, size_t len, XlsxError *err)
{
	return XlsxZipStreamRead((XlsxZipStream *) arg, buf, len, err);
}

/*
 * scan_sheet
 *		One sheet through the scanner and the reference reader at once.
 */
static void
scan_sheet(XlsxWorkbook *wb, XlsxWorkbook *ref, int pos)
{
	const XlsxSheetInfo *si = XlsxGetSheet(wb, pos);
	int64_t		index = XlsxZipLocate(wb->zip, si->part);
	XlsxZipStream *stream;
	XlsxSheetReader *scanner;
	XlsxError	err;
	DiffResult	res;

	if (index < 0)
		return;
	/* the reference reads through its own archive (the scanner's stream may
	 * be inflated by a thread that owns wb's) */
	stream = XlsxZipStreamOpen(ref->zip, index, si->part, XLSX_STREAM_SHEET, &err);
	scanner = stream ? XlsxSheetOpen(wb, pos, &err) : NULL;
	if (scanner == NULL)
	{
		XlsxZipStreamClose(stream);
		return;
	}
	DiffRun(zip_read, stream, scanner, &wb->sst, wb->xf_kind, wb->nxf, &res);
	XlsxSheetClose(scanner);
	XlsxZipStreamClose(stream);
	if (!res.consistent)
	{
		fprintf(stderr, "contract broken in %s: %s\n", si->part, res.report);
		abort();
	}
}

/*
 * write_parts
 *		Zip a part list ("@@name\nbytes"...) into the scratch file; false
 *		when libzip will not (then the input is skipped).
 */
static bool
write_parts(const uint8_t *data, size_t size)
{
	const char *p = (const char *) data;
	const char *end = p + size;
	bool		deflate = size > 0 && (data[0] & 1);
	int			zerr;
	zip_t	   *za = zip_open(scratch, ZIP_CREATE | ZIP_TRUNCATE, &zerr);

	if (za == NULL)
		return false;
	p = memmem(p, (size_t) (end - p), "@@", 2);
	while (p != NULL && p < end)
	{
		const char *name = p + 2;
		const char *nl = memchr(name, '\n', (size_t) (end - name));
		const char *body;
		const char *next;
		char		namebuf[256];
		zip_source_t *src;
		zip_int64_t idx;

		if (nl == NULL || nl - name >= (long) sizeof(namebuf) || nl == name)
			break;
		memcpy(namebuf, name, (size_t) (nl - name));
		namebuf[nl - name] = '\0';
		body = nl + 1;
		next = memmem(body, (size_t) (end - body), "@@", 2);
		src = zip_source_buffer(za, body, (zip_uint64_t) ((next ? next : end) - body), 0);
		if (src == NULL)
			break;
		idx = zip_file_add(za, namebuf, src, ZIP_FL_ENC_UTF_8);
		if (idx < 0)
			zip_source_free(src);	/* a name twice: libzip refuses it */
		else
			zip_set_file_compression(za, (zip_uint64_t) idx,
									 deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 1);
		p = next;
	}
	if (zip_close(za) != 0)
	{
		zip_discard(za);
		return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	XlsxEnv		env = TestEnv();
	XlsxError	err;
	XlsxWorkbook *wb;
	FILE	   *f;

	if (scratch[0] == '\0')
		snprintf(scratch, sizeof(scratch), "/tmp/fuzz_workbook.%ld.xlsx", (long) getpid());
	if (size >= 2 && data[0] == 'P' && data[1] == 'K')
	{
		f = fopen(scratch, "wb");
		if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
			abort();
	}
	else
	{
		unlink(scratch);
		if (!write_parts(data, size))
			return 0;
	}

	env.max_shared_strings_bytes = (size_t) 4 << 20;
	env.max_part_bytes = (size_t) 4 << 20;
	wb = XlsxOpen(scratch, &env, &err);
	if (wb == NULL)
		return 0;
	/* what xlsx_sheets and the planner read: the list and each dimension */
	for (int pos = 1; pos <= XlsxSheetCount(wb) && pos <= 16; pos++)
	{
		(void) XlsxSheetDimension(wb, pos, &err);
		(void) XlsxFindSheet(wb, XlsxGetSheet(wb, pos)->name);
	}
	/* what a scan reads: shared strings, styles, then the sheets */
	if (XlsxLoadSharedData(wb, &err))
	{
		XlsxEnv		ref_env = env;
		XlsxWorkbook *ref;

		ref_env.inflate_ahead = false;
		ref = XlsxOpen(scratch, &ref_env, &err);
		for (int pos = 1; ref != NULL && pos <= XlsxSheetCount(wb) && pos <= 4; pos++)
			scan_sheet(wb, ref, pos);
		XlsxClose(ref);
	}
	XlsxClose(wb);
	return 0;
}
