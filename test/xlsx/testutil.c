/*
 * testutil.c
 *		Helpers shared by the test programs (see testutil.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/*
 * env_alloc, env_realloc, env_free
 *		malloc behind the XlsxEnv callbacks.
 */
static void *
env_alloc(void *ctx, size_t size)
{
	return malloc(size);
}

static void *
env_realloc(void *ctx, void *ptr, size_t size)
{
	return realloc(ptr, size);
}

static void
env_free(void *ctx, void *ptr)
{
	free(ptr);
}

/*
 * TestEnv
 *		A malloc environment with the default budgets.
 */
XlsxEnv
TestEnv(void)
{
	XlsxEnv		env;

	memset(&env, 0, sizeof(env));
	env.alloc = env_alloc;
	env.realloc = env_realloc;
	env.free = env_free;
	/* XLSX_INFLATE_AHEAD=1: large sheets inflated by a thread (zip.c);
	 * XLSX_INFLATE_AHEAD_MIN=bytes: from that size instead of 4 MB */
	env.inflate_ahead = getenv("XLSX_INFLATE_AHEAD") != NULL &&
		strcmp(getenv("XLSX_INFLATE_AHEAD"), "1") == 0;
	if (getenv("XLSX_INFLATE_AHEAD_MIN") != NULL)
		env.inflate_ahead_min = (size_t) strtoull(getenv("XLSX_INFLATE_AHEAD_MIN"), NULL, 10);
	return env;
}

/*
 * MemSourceRead
 *		Hand out the buffer in pieces of at most src->chunk bytes, so that
 *		every token can be made to straddle a refill.
 */
ssize_t
MemSourceRead(void *arg, char *buf, size_t len, XlsxError *err)
{
	MemSource  *src = arg;
	size_t		n = src->len - src->pos;

	if (n > len)
		n = len;
	if (src->chunk && n > src->chunk)
		n = src->chunk;
	memcpy(buf, src->data + src->pos, n);
	src->pos += n;
	return (ssize_t) n;
}

/*
 * ReadFile
 *		A whole file in memory (NUL-terminated), or NULL.
 */
char *
ReadFile(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *data = NULL;
	size_t		cap = 0;
	size_t		n = 0;

	if (f == NULL)
		return NULL;
	for (;;)
	{
		size_t		got;

		if (n + 65536 + 1 > cap)
		{
			cap = cap ? cap * 2 : 131072;
			data = realloc(data, cap);
			if (data == NULL)
			{
				fclose(f);
				return NULL;
			}
		}
		got = fread(data + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	data[n] = '\0';
	*len = n;
	return data;
}

/*
 * PrintEscaped
 *		TSV-safe text: backslash, tab, newline and carriage return escaped.
 */
void
PrintEscaped(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		switch (s[i])
		{
			case '\\':
				fputs("\\\\", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			case '\n':
				fputs("\\n", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			default:
				putc(s[i], out);
		}
	}
}

/*
 * CellTypeName, FormatKindName
 *		The words used in xlsxdump's output and in diff reports.
 */
const char *
CellTypeName(XlsxCellType t)
{
	switch (t)
	{
		case XLSX_CELL_NUMBER:
			return "number";
		case XLSX_CELL_STRING:
			return "string";
		case XLSX_CELL_BOOLEAN:
			return "boolean";
		case XLSX_CELL_ERROR:
			return "error";
		case XLSX_CELL_ISO_DATE:
			return "isodate";
	}
	return "?";
}

const char *
FormatKindName(XlsxFormatKind k)
{
	switch (k)
	{
		case XLSX_FORMAT_GENERAL:
			return "general";
		case XLSX_FORMAT_DATE:
			return "date";
		case XLSX_FORMAT_DATETIME:
			return "datetime";
		case XLSX_FORMAT_TIME:
			return "time";
		case XLSX_FORMAT_TEXT:
			return "text";
	}
	return "?";
}

/*
 * SyntheticTables
 *		For raw sheet XML: shared string i is "sst<i>" for i < 100 (string
 *		7 is empty, string 8 has a tab and a newline), and 6 cellXfs cycling
 *		through the format kinds.
 */
void
SyntheticTables(XlsxSst *sst, const uint8_t **xf, uint32_t *nxf)
{
	static char arena[100 * 8];
	static size_t offsets[101];
	static const uint8_t kinds[6] = {
		XLSX_FORMAT_GENERAL, XLSX_FORMAT_DATE, XLSX_FORMAT_DATETIME,
		XLSX_FORMAT_TIME, XLSX_FORMAT_TEXT, XLSX_FORMAT_GENERAL
	};
	size_t		n = 0;

	for (int i = 0; i < 100; i++)
	{
		offsets[i] = n;
		if (i == 7)
			arena[n++] = '\0';
		else if (i == 8)
		{
			memcpy(arena + n, "a\tb\nc", 6);
			n += 6;
		}
		else
			n += (size_t) snprintf(arena + n, 8, "sst%d", i) + 1;
	}
	offsets[100] = n;
	sst->arena = arena;
	sst->offsets = offsets;
	sst->count = 100;
	*xf = kinds;
	*nxf = 6;
}
