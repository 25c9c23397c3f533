/*-------------------------------------------------------------------------
 *
 * jsonw.c
 *	  A tiny streaming JSON writer (see jsonw.h).
 *
 * tools/jsonw.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gencommon.h"
#include "jsonw.h"

/*
 * JsonInit
 *		Start writing one JSON document to fp.
 */
void
JsonInit(JsonWriter *w, FILE *fp)
{
	w->fp = fp;
	w->depth = 0;
	w->count[0] = 0;
	w->after_key = 0;
}

/*
 * value_prefix
 *		Emit what goes before a value or key: a comma after an earlier
 *		sibling, then a new line and indentation.  Nothing after a key.
 */
static void
value_prefix(JsonWriter *w)
{
	int			i;

	if (w->after_key)
	{
		w->after_key = 0;
		return;
	}
	if (w->count[w->depth] > 0)
		fputc(',', w->fp);
	w->count[w->depth]++;
	if (w->depth > 0)
	{
		fputc('\n', w->fp);
		for (i = 0; i < w->depth; i++)
			fputs("  ", w->fp);
	}
}

/*
 * open_container
 *		Begin an object or array.
 */
static void
open_container(JsonWriter *w, char c)
{
	value_prefix(w);
	fputc(c, w->fp);
	if (w->depth + 1 >= JSONW_MAX_DEPTH)
	{
		fprintf(stderr, "jsonw: nesting deeper than %d\n", JSONW_MAX_DEPTH);
		exit(1);
	}
	w->depth++;
	w->count[w->depth] = 0;
}

/*
 * close_container
 *		End an object or array; an empty one stays on one line.
 */
static void
close_container(JsonWriter *w, char c)
{
	int			i;
	int			had_values = w->count[w->depth] > 0;

	w->depth--;
	if (had_values)
	{
		fputc('\n', w->fp);
		for (i = 0; i < w->depth; i++)
			fputs("  ", w->fp);
	}
	fputc(c, w->fp);
}

/*
 * JsonBeginObject
 *		Start an object.
 */
void
JsonBeginObject(JsonWriter *w)
{
	open_container(w, '{');
}

/*
 * JsonEndObject
 *		End the innermost object.
 */
void
JsonEndObject(JsonWriter *w)
{
	close_container(w, '}');
}

/*
 * JsonBeginArray
 *		Start an array.
 */
void
JsonBeginArray(JsonWriter *w)
{
	open_container(w, '[');
}

/*
 * JsonEndArray
 *		End the innermost array.
 */
void
JsonEndArray(JsonWriter *w)
{
	close_container(w, ']');
}

/*
 * write_escaped
 *		A JSON string literal: quote, backslash and control characters
 *		escaped, bytes >= 0x80 (UTF-8) as they are.
 */
static void
write_escaped(FILE *fp, const char *s)
{
	const unsigned char *p;

	fputc('"', fp);
	for (p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				fputs("\\\"", fp);
				break;
			case '\\':
				fputs("\\\\", fp);
				break;
			case '\n':
				fputs("\\n", fp);
				break;
			case '\r':
				fputs("\\r", fp);
				break;
			case '\t':
				fputs("\\t", fp);
				break;
			case '\b':
				fputs("\\b", fp);
				break;
			case '\f':
				fputs("\\f", fp);
				break;
			default:
				if (*p < 0x20)
					fprintf(fp, "\\u%04x", *p);
				else
					fputc(*p, fp);
		}
	}
	fputc('"', fp);
}

/*
 * JsonKey
 *		The key of the next member of the current object.
 */
void
JsonKey(JsonWriter *w, const char *key)
{
	value_prefix(w);
	write_escaped(w->fp, key);
	fputs(": ", w->fp);
	w->after_key = 1;
}

/*
 * JsonString
 *		A string value; NULL writes null.
 */
void
JsonString(JsonWriter *w, const char *s)
{
	value_prefix(w);
	if (s == NULL)
		fputs("null", w->fp);
	else
		write_escaped(w->fp, s);
}

/*
 * JsonInt
 *		An integer value.
 */
void
JsonInt(JsonWriter *w, int64_t v)
{
	value_prefix(w);
	fprintf(w->fp, "%lld", (long long) v);
}

/*
 * JsonDouble
 *		A number with a fixed count of decimals; JSON has no NaN or
 *		infinity, so those become null.
 */
void
JsonDouble(JsonWriter *w, double v, int decimals)
{
	value_prefix(w);
	if (!isfinite(v))
		fputs("null", w->fp);
	else
		fprintf(w->fp, "%.*f", decimals, v);
}

/*
 * JsonBool
 *		true or false.
 */
void
JsonBool(JsonWriter *w, int v)
{
	value_prefix(w);
	fputs(v ? "true" : "false", w->fp);
}

/*
 * JsonNull
 *		null.
 */
void
JsonNull(JsonWriter *w)
{
	value_prefix(w);
	fputs("null", w->fp);
}

/*
 * JsonCents
 *		An amount of cents as a string with two decimals ("12.50"): a JSON
 *		number would be read back as a double by most parsers.
 */
void
JsonCents(JsonWriter *w, int64_t cents)
{
	char		buf[32];

	GenFormatCents(cents, buf, '.');
	JsonString(w, buf);
}

/*
 * JsonFinish
 *		End the document with a new line.
 */
void
JsonFinish(JsonWriter *w)
{
	fputc('\n', w->fp);
}
