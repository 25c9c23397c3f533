/*
 * scanbench.c
 *		How fast is the worksheet scanner, against its floor (inflating the
 *		part) and against expat on the same part?
 *
 *	  scanbench FILE.xlsx [SHEET [KIND...]]
 *
 * Each measurement runs in a forked child (so each gets its own peak RSS,
 * from wait4) and is the best of three runs:
 *	  inflate        zip_fread of the sheet part, bytes discarded
 *	  scan           XlsxSheetOpen + XlsxSheetNextRow over every row
 *	  rows           the same, needing no cells (XlsxSheetNeedColumns(0): what
 *	                 count(*) asks); the same rows must come out
 *	  expat-bare     inflate + expat with no handlers (the parse floor)
 *	  expat-ref      inflate + the expat reference reader (same cells)
 * Shared strings and styles are loaded before the clock starts. Naming
 * KINDs after SHEET runs only those (e.g. "scanbench big.xlsx 1 inflate
 * scan" while tuning); the ratios are printed for the kinds that ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <expat.h>

#include "refsheet.h"
#include "testutil.h"

typedef struct Result
{
	double		seconds;
	double		cpu;			/* user + system seconds of the same work */
	long		rows;
	long		cells;
	int64_t		bytes;
	int			ok;
} Result;

static const char *path;
static int	position = 1;

/*
 * now
 *		Monotonic seconds.
 */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * cpu
 *		User + system seconds of this process.
 */
static double
cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
		(double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

/*
 * count_row
 *		Reference callback: count.
 */
static bool
count_row(void *arg, const XlsxRow *row)
{
	Result	   *res = arg;

	res->rows++;
	res->cells += row->ncells;
	return true;
}

/*
 * run
 *		One measurement of the given kind, in this process.
 */
static Result
run(const char *kind)
{
	XlsxEnv		env = TestEnv();
	XlsxError	err;
	XlsxWorkbook *wb = XlsxOpen(path, &env, &err);
	Result		res = {0, 0, 0, 0, 0, 0};
	const XlsxSheetInfo *si;
	double		t0;
	double		c0;

	if (wb == NULL || !XlsxLoadSharedData(wb, &err))
	{
		fprintf(stderr, "scanbench: %s\n", err.message);
		return res;
	}
	si = XlsxGetSheet(wb, position);
	if (si == NULL)
	{
		fprintf(stderr, "scanbench: no sheet %d\n", position);
		return res;
	}
	t0 = now();
	c0 = cpu();
	if (strcmp(kind, "scan") == 0 || strcmp(kind, "rows") == 0)
	{
		XlsxSheetReader *r = XlsxSheetOpen(wb, position, &err);
		XlsxRow    *row;
		int			rc;

		if (r != NULL && strcmp(kind, "rows") == 0)
			XlsxSheetNeedColumns(r, 0);

		while ((rc = XlsxSheetNextRow(r, &row, &err)) == 1)
		{
			res.rows++;
			res.cells += row->ncells;
		}
		res.bytes = XlsxSheetBytesRead(r);
		XlsxSheetClose(r);
		res.ok = (rc == 0);
		if (rc < 0)
			fprintf(stderr, "scanbench: %s\n", err.message);
	}
	else
	{
		XlsxZipStream *s = XlsxZipStreamOpen(wb->zip, XlsxZipLocate(wb->zip, si->part),
											 si->part, XLSX_STREAM_SHEET | XLSX_STREAM_AHEAD, &err);
		XML_Parser	bare = NULL;
		RefReader  *ref = NULL;
		char	   *buf = malloc(XLSX_CHUNK);
		ssize_t		n;

		if (strcmp(kind, "expat-bare") == 0)
			bare = XML_ParserCreate(NULL);
		else if (strcmp(kind, "expat-ref") == 0)
			ref = RefCreate(&wb->sst, wb->xf_kind, wb->nxf, count_row, &res);
		res.ok = 1;
		do
		{
			n = XlsxZipStreamRead(s, buf, XLSX_CHUNK, &err);
			if (n < 0)
				res.ok = 0;
			else if (bare && XML_Parse(bare, buf, (int) n, n == 0) != XML_STATUS_OK)
				res.ok = 0;
			else if (ref && !RefFeed(ref, buf, (size_t) n, n == 0))
				res.ok = 0;
			res.bytes += n > 0 ? n : 0;
		} while (n > 0 && res.ok);
		if (bare)
			XML_ParserFree(bare);
		if (ref)
			RefDestroy(ref);
		free(buf);
		XlsxZipStreamClose(s);
	}
	res.seconds = now() - t0;
	res.cpu = cpu() - c0;
	XlsxClose(wb);
	return res;
}

/*
 * measure
 *		Best of three runs, each in a child; peak RSS in KB from wait4.
 */
static Result
measure(const char *kind, long *rss_kb)
{
	Result		best = {1e30, 1e30, 0, 0, 0, 0};
	const char *runs = getenv("SCANBENCH_RUNS");	/* 1: under valgrind */
	int			nruns = runs ? atoi(runs) : 3;

	*rss_kb = 0;
	for (int i = 0; i < nruns; i++)
	{
		int			fds[2];
		pid_t		pid;
		Result		res;
		struct rusage ru;
		int			status;

		if (pipe(fds) != 0)
			exit(1);
		pid = fork();
		if (pid == 0)
		{
			res = run(kind);
			if (write(fds[1], &res, sizeof(res)) != sizeof(res))
				_exit(1);
			_exit(0);
		}
		close(fds[1]);
		if (read(fds[0], &res, sizeof(res)) != sizeof(res))
			res.ok = 0;
		close(fds[0]);
		wait4(pid, &status, 0, &ru);
		if (ru.ru_maxrss > *rss_kb)
			*rss_kb = ru.ru_maxrss;
		if (!res.ok)
		{
			fprintf(stderr, "scanbench: %s failed\n", kind);
			exit(1);
		}
		if (res.seconds < best.seconds)
		{
			double		c = best.cpu;

			best = res;
			best.cpu = c;
		}
		if (res.cpu < best.cpu)
			best.cpu = res.cpu;
	}
	return best;
}

int
main(int argc, char **argv)
{
	const char *kinds[] = {"inflate", "scan", "expat-bare", "expat-ref", "rows"};
	Result		res[5];
	long		rss[5];
	bool		want[5] = {true, true, true, true, true};

	if (argc < 2)
	{
		fprintf(stderr, "usage: scanbench FILE.xlsx [SHEET-POSITION [KIND...]]\n");
		return 2;
	}
	path = argv[1];
	if (argc > 2)
		position = atoi(argv[2]);
	if (argc > 3)
	{
		for (int i = 0; i < 5; i++)
			want[i] = false;
		for (int a = 3; a < argc; a++)
		{
			int			i;

			for (i = 0; i < 5 && strcmp(argv[a], kinds[i]) != 0; i++)
				;
			if (i == 5)
			{
				fprintf(stderr, "scanbench: unknown kind \"%s\"\n", argv[a]);
				return 2;
			}
			want[i] = true;
		}
	}
	for (int i = 0; i < 5; i++)
	{
		if (!want[i])
			continue;
		res[i] = measure(kinds[i], &rss[i]);
		printf("%-11s %8.3f s  %8.1f MB/s  peak RSS %7.1f MB  cpu %.3f s", kinds[i], res[i].seconds,
			   (double) res[i].bytes / 1e6 / res[i].seconds, rss[i] / 1024.0, res[i].cpu);
		if (i == 1 || i == 3 || i == 4)
			printf("  rows %ld cells %ld", res[i].rows, res[i].cells);
		putchar('\n');
	}
	if (want[0])
		printf("sheet XML: %lld bytes\n", (long long) res[0].bytes);
	if (want[0] && want[1])
		printf("ratio scan/inflate       %.2f\n", res[1].seconds / res[0].seconds);
	if (want[0] && want[1])
		printf("ratio scan/inflate cpu   %.2f\n", res[1].cpu / res[0].cpu);
	if (want[0] && want[4])
		printf("ratio rows/inflate       %.2f (cpu %.2f)\n", res[4].seconds / res[0].seconds,
			   res[4].cpu / res[0].cpu);
	if (want[1] && want[4] && res[1].rows != res[4].rows)
	{
		printf("scan and rows disagree on rows\n");
		return 1;
	}
	if (want[0] && want[2])
		printf("ratio expat-bare/inflate %.2f\n", res[2].seconds / res[0].seconds);
	if (want[0] && want[3])
		printf("ratio expat-ref/inflate  %.2f\n", res[3].seconds / res[0].seconds);
	if (want[1] && want[3])
	{
		printf("ratio expat-ref/scan     %.2f\n", res[3].seconds / res[1].seconds);
		if (res[1].rows != res[3].rows || res[1].cells != res[3].cells)
		{
			printf("scan and expat-ref disagree on rows/cells\n");
			return 1;
		}
	}
	return 0;
}
