/*
 * testutil.h
 *		Helpers shared by the .xlsx reader's test programs: a malloc-based
 *		XlsxEnv, byte sources over memory, file reading, TSV escaping.
 */
#ifndef XLSX_TESTUTIL_H
#define XLSX_TESTUTIL_H

#include <stdio.h>
#include <sys/types.h>

#include "xlsx.h"
#include "xlsx_internal.h"

/* A source over a memory buffer, returning at most 'chunk' bytes a call. */
typedef struct MemSource
{
	const char *data;
	size_t		len;
	size_t		pos;
	size_t		chunk;
} MemSource;

extern XlsxEnv TestEnv(void);
extern ssize_t MemSourceRead(void *arg, char *buf, size_t len, XlsxError *err);
extern char *ReadFile(const char *path, size_t *len);
extern void PrintEscaped(FILE *out, const char *s, size_t len);
extern const char *CellTypeName(XlsxCellType t);
extern const char *FormatKindName(XlsxFormatKind k);

/* The synthetic tables used for raw sheet XML (no workbook around it). */
extern void SyntheticTables(XlsxSst *sst, const uint8_t **xf, uint32_t *nxf);

#endif
