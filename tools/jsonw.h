/*-------------------------------------------------------------------------
 *
 * jsonw.h
 *	  A tiny streaming JSON writer for the generators' manifests.
 *
 * It writes one value at a time, indents two spaces per level, puts the
 * commas in, and escapes strings as RFC 8259 asks (quote, backslash and the
 * control characters; UTF-8 passes through).  Nesting depth is bounded by
 * JSONW_MAX_DEPTH.
 *
 * tools/jsonw.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef JSONW_H
#define JSONW_H

#include <stdint.h>
#include <stdio.h>

#define JSONW_MAX_DEPTH 32

typedef struct JsonWriter
{
	FILE	   *fp;
	int			depth;
	int			count[JSONW_MAX_DEPTH];	/* values written at each level */
	int			after_key;		/* a key was written, its value is next */
} JsonWriter;

extern void JsonInit(JsonWriter *w, FILE *fp);
extern void JsonBeginObject(JsonWriter *w);
extern void JsonEndObject(JsonWriter *w);
extern void JsonBeginArray(JsonWriter *w);
extern void JsonEndArray(JsonWriter *w);
extern void JsonKey(JsonWriter *w, const char *key);
extern void JsonString(JsonWriter *w, const char *s);
extern void JsonInt(JsonWriter *w, int64_t v);
extern void JsonDouble(JsonWriter *w, double v, int decimals);
extern void JsonBool(JsonWriter *w, int v);
extern void JsonNull(JsonWriter *w);
extern void JsonCents(JsonWriter *w, int64_t cents);
extern void JsonFinish(JsonWriter *w);

#endif							/* JSONW_H */
