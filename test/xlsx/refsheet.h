/*
 * refsheet.h
 *		The reference worksheet reader: expat, with the same row and cell
 *		semantics as the hand-written scanner (sheet.c). It is the oracle of
 *		sheet_diff and fuzz_sheet, and the expat baseline of scanbench.
 */
#ifndef XLSX_REFSHEET_H
#define XLSX_REFSHEET_H

#include "xlsx.h"
#include "xlsx_internal.h"

/* Called per row with at least one value; return false to stop parsing. */
typedef bool (*RefRowFn) (void *arg, const XlsxRow *row);

typedef struct RefReader RefReader;

extern RefReader *RefCreate(const XlsxSst *sst, const uint8_t *xf_kind, uint32_t nxf,
							RefRowFn fn, void *arg);
/* Feed bytes; false once the document is rejected (see RefError). */
extern bool RefFeed(RefReader *ref, const char *data, size_t len, bool final);
extern const char *RefError(const RefReader *ref);
extern void RefDestroy(RefReader *ref);

#endif
