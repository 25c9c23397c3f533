/*
 * workbook.c
 *		The workbook-level parts of an .xlsx, parsed with expat: the package
 *		relationships (_rels/.rels), xl/workbook.xml and its relationships,
 *		the shared strings and the styles.
 *
 * Every part is streamed from the zip into expat in chunks (XML_GetBuffer +
 * XML_ParseBuffer), so no part is held whole. Elements are matched on their
 * local names, whatever their prefix ("x:sheet" is a sheet): the parser is
 * created without namespace processing, as writers differ in prefixes and a
 * few leave them undeclared. A DOCTYPE or entity declaration stops the
 * parser (no entity is ever expanded, no external one ever fetched).
 *
 * Expat's memory stays on expat's allocator; each parser is freed on every
 * path. Our results are allocated through the XlsxEnv and owned by the
 * workbook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <expat.h>

#include "xlsx.h"
#include "xlsx_internal.h"

#ifndef Max
#define Max(a, b)	((a) > (b) ? (a) : (b))
#endif

/* The officeDocument part when the package has no relationships. */
#define DEFAULT_WORKBOOK_PART	"xl/workbook.xml"

/* One relationship of a .rels part. */
typedef struct Rel
{
	int			seq;			/* position in the part */
	char	   *id;
	char	   *type;
	char	   *target;			/* resolved to a zip member name */
} Rel;

typedef struct RelList
{
	Rel		   *items;
	int			n;
	int			cap;
} RelList;

/* A <sheet> of workbook.xml before its relationship is resolved. */
typedef struct SheetEntry
{
	char	   *name;
	char	   *rid;
	XlsxSheetState state;
} SheetEntry;

/* A custom <numFmt> of styles.xml. */
typedef struct NumFmt
{
	int			id;
	int			seq;			/* position in the part */
	char	   *code;
} NumFmt;

/*
 * The state of one expat parse; the fields after 'depth' belong to the
 * part being parsed.
 */
typedef struct ParseCtx
{
	XlsxWorkbook *wb;
	const XlsxEnv *env;
	XML_Parser	parser;
	const char *part;
	const char *base_dir;		/* for resolving .rels targets */
	XlsxError  *err;
	bool		failed;			/* err is set; the parser was stopped */
	int			depth;

	/* .rels */
	RelList    *rels;

	/* workbook.xml */
	SheetEntry *sheets;
	int			nsheets;
	int			sheets_cap;

	/* sharedStrings.xml */
	XlsxSst    *sst;
	size_t		arena_len;
	size_t		arena_cap;
	size_t		offsets_cap;	/* entries of sst->offsets */
	size_t		sst_budget;
	int			si_depth;		/* depth of the open <si>, or 0 */
	int			r_depth;		/* depth of an open <r> in it, or 0 */
	int			t_depth;		/* depth of the <t> being collected, or 0 */

	/* styles.xml */
	NumFmt	   *numfmts;
	int			nnumfmts;
	int			numfmts_cap;
	int		   *xf_ids;
	uint32_t	nxf;
	uint32_t	xf_cap;
	int			cellxfs_depth;
} ParseCtx;

/*
 * local_name
 *		The name without its namespace prefix.
 */
static const char *
local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

/*
 * find_attr
 *		An attribute's value by local name; with want_prefixed, one with a
 *		prefix is preferred ("r:id" over a plain "id").
 */
static const char *
find_attr(const char **atts, const char *name, bool want_prefixed)
{
	const char *plain = NULL;

	for (int i = 0; atts[i] != NULL; i += 2)
	{
		if (strcmp(local_name(atts[i]), name) != 0)
			continue;
		if (!want_prefixed || strchr(atts[i], ':') != NULL)
			return atts[i + 1];
		plain = atts[i + 1];
	}
	return plain;
}

/*
 * fail
 *		Record an error and stop the parser (expat callbacks never longjmp).
 */
static void
fail(ParseCtx *pc, XlsxErrorCode code, const char *msg, const char *arg)
{
	if (pc->failed)
		return;
	pc->failed = true;
	if (arg)
		XlsxSetError(pc->err, code, "%s: %s \"%s\"", pc->part, msg, arg);
	else
		XlsxSetError(pc->err, code, "%s: %s", pc->part, msg);
	XML_StopParser(pc->parser, XML_FALSE);
}

/*
 * interrupted
 *		Ask the env whether to stop a long loop; sets err when it says so.
 */
static bool
interrupted(const XlsxEnv *env, const char *part, XlsxError *err)
{
	if (env->interrupted == NULL || !env->interrupted(env->ctx))
		return false;
	XlsxSetError(err, XLSX_ERR_CANCELED, "%s: canceled", part);
	return true;
}

/*
 * grow
 *		Make room for one more element in a growable array.
 */
static bool
grow(ParseCtx *pc, void **array, int *cap, int n, size_t elem)
{
	void	   *p;
	int			newcap;

	if (n < *cap)
		return true;
	newcap = *cap ? *cap * 2 : 16;
	p = XlsxRealloc(pc->env, *array, (size_t) newcap * elem);
	if (p == NULL)
	{
		fail(pc, XLSX_ERR_NOMEM, "out of memory", NULL);
		return false;
	}
	*array = p;
	*cap = newcap;
	return true;
}

/*
 * dup_or_fail
 *		Copy a string through the env; NULL (and the parse stopped) if out of
 *		memory.
 */
static char *
dup_or_fail(ParseCtx *pc, const char *s)
{
	char	   *copy = XlsxStrdup(pc->env, s);

	if (copy == NULL)
		fail(pc, XLSX_ERR_NOMEM, "out of memory", NULL);
	return copy;
}

/*
 * on_doctype, on_entity
 *		A DTD or an entity declaration in a workbook part: refused outright.
 */
static void
on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
		   const XML_Char *pubid, int has_internal)
{
	fail((ParseCtx *) data, XLSX_ERR_XML, "DOCTYPE declarations are not allowed", NULL);
}

static void
on_entity(void *data, const XML_Char *name, int is_param, const XML_Char *value,
		  int value_len, const XML_Char *base, const XML_Char *sysid,
		  const XML_Char *pubid, const XML_Char *notation)
{
	fail((ParseCtx *) data, XLSX_ERR_XML, "entity declarations are not allowed", NULL);
}

/*
 * hex_value
 *		Value of a hex digit, or -1.
 */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * resolve_target
 *		Turn a relationship target into a zip member name: absolute targets
 *		("/xl/worksheets/sheet1.xml") drop the slash, relative ones are taken
 *		from base_dir; "." and ".." segments and %XX escapes are resolved.
 */
static char *
resolve_target(const XlsxEnv *env, const char *base_dir, const char *target)
{
	size_t		cap = strlen(base_dir) + strlen(target) + 2;
	char	   *joined = XlsxAlloc(env, cap);
	char	   *out;
	size_t		n = 0;
	const char *p;

	if (joined == NULL)
		return NULL;
	out = XlsxAlloc(env, cap);
	if (out == NULL)
	{
		XlsxFree(env, joined);
		return NULL;
	}
	if (target[0] == '/' || target[0] == '\\')
		snprintf(joined, cap, "%s", target + 1);
	else
		snprintf(joined, cap, "%s%s", base_dir, target);

	/* walk the segments, popping on ".." */
	p = joined;
	while (*p != '\0')
	{
		const char *seg = p;
		size_t		len;

		while (*p != '\0' && *p != '/' && *p != '\\')
			p++;
		len = (size_t) (p - seg);
		if (*p != '\0')
			p++;
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
		{
			/* drop the previous segment */
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		if (n > 0)
			out[n++] = '/';
		/* copy, decoding %XX */
		for (size_t i = 0; i < len; i++)
		{
			int			hi = (i + 2 < len) ? hex_value(seg[i + 1]) : -1;
			int			lo = (i + 2 < len) ? hex_value(seg[i + 2]) : -1;

			if (seg[i] == '%' && hi >= 0 && lo >= 0)
			{
				out[n++] = (char) (hi * 16 + lo);
				i += 2;
			}
			else
				out[n++] = seg[i];
		}
	}
	out[n] = '\0';
	XlsxFree(env, joined);
	return out;
}

/*
 * rels_start
 *		<Relationship Id Type Target [TargetMode]> of a .rels part.
 */
static void
rels_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	ParseCtx   *pc = data;
	const char *id;
	const char *type;
	const char *target;
	const char *mode;
	Rel		   *rel;

	pc->depth++;
	if (pc->failed || pc->depth != 2 || strcmp(local_name(name), "Relationship") != 0)
		return;
	id = find_attr(atts, "Id", false);
	type = find_attr(atts, "Type", false);
	target = find_attr(atts, "Target", false);
	mode = find_attr(atts, "TargetMode", false);
	if (id == NULL || target == NULL || (mode && strcmp(mode, "External") == 0))
		return;
	if (!grow(pc, (void **) &pc->rels->items, &pc->rels->cap, pc->rels->n, sizeof(Rel)))
		return;
	rel = &pc->rels->items[pc->rels->n];
	rel->seq = pc->rels->n;
	rel->id = dup_or_fail(pc, id);
	rel->type = rel->id ? dup_or_fail(pc, type ? type : "") : NULL;
	rel->target = rel->type ? resolve_target(pc->env, pc->base_dir, target) : NULL;
	if (rel->target == NULL)
	{
		XlsxFree(pc->env, rel->id);
		XlsxFree(pc->env, rel->type);
		fail(pc, XLSX_ERR_NOMEM, "out of memory", NULL);
		return;
	}
	pc->rels->n++;
}

/*
 * depth_end
 *		End handler of the parts that only track depth.
 */
static void
depth_end(void *data, const XML_Char *name)
{
	((ParseCtx *) data)->depth--;
}

/*
 * workbook_start
 *		<workbookPr date1904> and <sheets><sheet name sheetId r:id state>.
 */
static void
workbook_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	ParseCtx   *pc = data;
	const char *ln = local_name(name);

	pc->depth++;
	if (pc->failed)
		return;
	if (pc->depth == 2 && strcmp(ln, "workbookPr") == 0)
	{
		const char *v = find_attr(atts, "date1904", false);

		pc->wb->date1904 = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	}
	else if (pc->depth == 3 && strcmp(ln, "sheet") == 0)
	{
		const char *sname = find_attr(atts, "name", false);
		const char *rid = find_attr(atts, "id", true);
		const char *state = find_attr(atts, "state", false);
		SheetEntry *se;

		if (sname == NULL || rid == NULL)
		{
			fail(pc, XLSX_ERR_CORRUPT, "sheet without a name or relationship id", NULL);
			return;
		}
		if (!grow(pc, (void **) &pc->sheets, &pc->sheets_cap, pc->nsheets, sizeof(SheetEntry)))
			return;
		se = &pc->sheets[pc->nsheets];
		se->name = dup_or_fail(pc, sname);
		se->rid = se->name ? dup_or_fail(pc, rid) : NULL;
		if (se->rid == NULL)
		{
			XlsxFree(pc->env, se->name);
			return;
		}
		se->state = XLSX_SHEET_VISIBLE;
		if (state && strcmp(state, "hidden") == 0)
			se->state = XLSX_SHEET_HIDDEN;
		else if (state && strcmp(state, "veryHidden") == 0)
			se->state = XLSX_SHEET_VERY_HIDDEN;
		pc->nsheets++;
	}
}

/*
 * sst_fits
 *		Would an arena of arena_cap bytes and offsets_cap offsets stay within
 *		the shared-strings budget? (Sizes checked for overflow.)
 */
static bool
sst_fits(const ParseCtx *pc, size_t arena_cap, size_t offsets_cap)
{
	size_t		obytes;

	if (offsets_cap > SIZE_MAX / sizeof(size_t))
		return false;
	obytes = offsets_cap * sizeof(size_t);
	return arena_cap <= SIZE_MAX - obytes && arena_cap + obytes <= pc->sst_budget;
}

/*
 * sst_over_budget
 *		Stop the parse: the table would pass its budget. The message names
 *		the part, the limit and (in the backend) the setting that sets it.
 */
static void
sst_over_budget(ParseCtx *pc)
{
	char		msg[256];
	const char *setting = pc->env->max_shared_strings_name;

	if (setting != NULL)
		snprintf(msg, sizeof(msg),
				 "shared strings table exceeds %s (%zu kB) at string %u",
				 setting, pc->sst_budget / 1024, pc->sst->count + 1);
	else
		snprintf(msg, sizeof(msg),
				 "shared strings table exceeds the limit of %zu bytes at string %u",
				 pc->sst_budget, pc->sst->count + 1);
	fail(pc, XLSX_ERR_LIMIT, msg, NULL);
}

/*
 * sst_append
 *		Add bytes to the shared-strings arena, within the budget (the arena's
 *		capacity and the offsets' both count, so no allocation passes it).
 */
static bool
sst_append(ParseCtx *pc, const char *s, size_t len)
{
	size_t		need;

	if (len > SIZE_MAX - pc->arena_len ||
		!sst_fits(pc, (need = pc->arena_len + len), pc->offsets_cap))
	{
		sst_over_budget(pc);
		return false;
	}
	if (need > pc->arena_cap)
	{
		size_t		newcap = pc->arena_cap ? pc->arena_cap : 65536;
		char	   *p;

		while (newcap < need && newcap <= SIZE_MAX / 2)
			newcap *= 2;
		/* doubling past the budget: an eighth, or up to it (see sst_start) */
		if (newcap < need || !sst_fits(pc, newcap, pc->offsets_cap))
		{
			size_t		room = pc->sst_budget - pc->offsets_cap * sizeof(size_t);

			newcap = Max(need, pc->arena_cap + pc->arena_cap / 8);
			if (newcap > room)
				newcap = room;
		}
		p = XlsxRealloc(pc->env, pc->sst->arena, newcap);
		if (p == NULL)
		{
			fail(pc, XLSX_ERR_NOMEM, "out of memory", NULL);
			return false;
		}
		pc->sst->arena = p;
		pc->arena_cap = newcap;
	}
	memcpy(pc->sst->arena + pc->arena_len, s, len);
	pc->arena_len += len;
	return true;
}

/*
 * sst_start
 *		<si> opens a string; <t> directly in it or in one of its <r> runs
 *		collects text; <rPh> phonetic runs and anything else are ignored.
 */
static void
sst_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	ParseCtx   *pc = data;
	const char *ln = local_name(name);

	pc->depth++;
	if (pc->failed)
		return;
	if (pc->depth == 2 && strcmp(ln, "si") == 0)
	{
		/* a new string: offsets[count] and, at its end, offsets[count + 1] */
		size_t		need = (size_t) pc->sst->count + 2;

		if (pc->sst->count >= UINT32_MAX - 2)
		{
			fail(pc, XLSX_ERR_LIMIT, "more than 4294967293 shared strings", NULL);
			return;
		}
		if (need > pc->offsets_cap)
		{
			size_t		newcap = pc->offsets_cap ? pc->offsets_cap * 2 : 1024;
			size_t	   *p;

			if (!sst_fits(pc, pc->arena_cap, need))
			{
				sst_over_budget(pc);
				return;
			}
			/*
			 * Doubling past the budget: grow by an eighth, or up to the
			 * budget. Steps stay geometric, so the copies a growth costs
			 * stay linear in the table's size.
			 */
			if (!sst_fits(pc, pc->arena_cap, newcap))
			{
				size_t		room = (pc->sst_budget - pc->arena_cap) / sizeof(size_t);

				newcap = Max(need, pc->offsets_cap + pc->offsets_cap / 8);
				if (newcap > room)
					newcap = room;
			}
			p = XlsxRealloc(pc->env, pc->sst->offsets, newcap * sizeof(size_t));
			if (p == NULL)
			{
				fail(pc, XLSX_ERR_NOMEM, "out of memory", NULL);
				return;
			}
			pc->sst->offsets = p;
			pc->offsets_cap = newcap;
		}
		pc->sst->offsets[pc->sst->count] = pc->arena_len;
		pc->si_depth = pc->depth;
		if ((pc->sst->count & 4095) == 0 && pc->env->interrupted &&
			pc->env->interrupted(pc->env->ctx))
			fail(pc, XLSX_ERR_CANCELED, "canceled", NULL);
	}
	else if (pc->si_depth && pc->depth == pc->si_depth + 1 && strcmp(ln, "r") == 0)
		pc->r_depth = pc->depth;
	else if (pc->si_depth && strcmp(ln, "t") == 0 &&
			 (pc->depth == pc->si_depth + 1 ||
			  (pc->r_depth && pc->depth == pc->r_depth + 1)))
		pc->t_depth = pc->depth;
}

/*
 * sst_end
 *		Close <t>, <r>, <si>; a closed <si> gets its NUL and its count.
 */
static void
sst_end(void *data, const XML_Char *name)
{
	ParseCtx   *pc = data;

	if (!pc->failed)
	{
		if (pc->depth == pc->t_depth)
			pc->t_depth = 0;
		else if (pc->depth == pc->r_depth)
			pc->r_depth = 0;
		else if (pc->depth == pc->si_depth)
		{
			size_t		start = pc->sst->offsets[pc->sst->count];

			if (sst_append(pc, "", 1))
			{
				/* the string is whole: decode its _xHHHH_ escapes in place */
				pc->arena_len = start + 1 +
					XlsxDecodeXstring(pc->sst->arena + start, pc->arena_len - start - 1);
				pc->sst->count++;
				pc->sst->offsets[pc->sst->count] = pc->arena_len;
			}
			pc->si_depth = 0;
		}
	}
	pc->depth--;
}

/*
 * sst_text
 *		Character data: kept only directly inside a collecting <t>.
 */
static void
sst_text(void *data, const XML_Char *s, int len)
{
	ParseCtx   *pc = data;

	if (!pc->failed && pc->t_depth && pc->depth == pc->t_depth)
		sst_append(pc, s, (size_t) len);
}

/*
 * styles_start
 *		<numFmts><numFmt numFmtId formatCode> and <cellXfs><xf numFmtId>.
 */
static void
styles_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	ParseCtx   *pc = data;
	const char *ln = local_name(name);

	pc->depth++;
	if (pc->failed)
		return;
	if (pc->depth == 2 && strcmp(ln, "cellXfs") == 0)
		pc->cellxfs_depth = pc->depth;
	else if (pc->depth == 3 && strcmp(ln, "numFmt") == 0)
	{
		const char *id = find_attr(atts, "numFmtId", false);
		const char *code = find_attr(atts, "formatCode", false);

		if (id == NULL || code == NULL)
			return;
		if (!grow(pc, (void **) &pc->numfmts, &pc->numfmts_cap, pc->nnumfmts, sizeof(NumFmt)))
			return;
		pc->numfmts[pc->nnumfmts].id = atoi(id);
		pc->numfmts[pc->nnumfmts].seq = pc->nnumfmts;
		pc->numfmts[pc->nnumfmts].code = dup_or_fail(pc, code);
		if (pc->numfmts[pc->nnumfmts].code != NULL)
			pc->nnumfmts++;
	}
	else if (pc->cellxfs_depth && pc->depth == pc->cellxfs_depth + 1 && strcmp(ln, "xf") == 0)
	{
		const char *id = find_attr(atts, "numFmtId", false);
		int			cap = (int) pc->xf_cap;

		if (!grow(pc, (void **) &pc->xf_ids, &cap, (int) pc->nxf, sizeof(int)))
			return;
		pc->xf_cap = (uint32_t) cap;
		pc->xf_ids[pc->nxf++] = id ? atoi(id) : 0;
	}
}

/*
 * styles_end
 *		Leave <cellXfs>.
 */
static void
styles_end(void *data, const XML_Char *name)
{
	ParseCtx   *pc = data;

	if (pc->depth == pc->cellxfs_depth)
		pc->cellxfs_depth = 0;
	pc->depth--;
}

/*
 * parse_part
 *		Stream one part through a fresh expat parser with the given handlers.
 *		no_budget: no max_part_bytes (the shared strings have their own).
 */
static bool
parse_part(XlsxWorkbook *wb, ParseCtx *pc, const char *part, bool no_budget,
		   XML_StartElementHandler start, XML_EndElementHandler end,
		   XML_CharacterDataHandler text, XlsxError *err)
{
	int64_t		index = XlsxZipLocate(wb->zip, part);
	XlsxZipStream *stream;
	XML_Parser	parser;
	bool		ok = true;

	if (index < 0)
	{
		XlsxSetError(err, XLSX_ERR_MISSING_PART, "%s: part missing from the workbook", part);
		return false;
	}
	stream = XlsxZipStreamOpen(wb->zip, index, part, no_budget ? XLSX_STREAM_SHEET : 0, err);
	if (stream == NULL)
		return false;
	parser = XML_ParserCreate(NULL);
	if (parser == NULL)
	{
		XlsxZipStreamClose(stream);
		XlsxSetError(err, XLSX_ERR_NOMEM, "%s: out of memory", part);
		return false;
	}
	pc->wb = wb;
	pc->env = &wb->env;
	pc->parser = parser;
	pc->part = part;
	pc->err = err;
	pc->failed = false;
	pc->depth = 0;
	XML_SetUserData(parser, pc);
	XML_SetElementHandler(parser, start, end);
	if (text)
		XML_SetCharacterDataHandler(parser, text);
	XML_SetStartDoctypeDeclHandler(parser, on_doctype);
	XML_SetEntityDeclHandler(parser, on_entity);
	XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER);

	/* inflate straight into expat's buffer */
	for (;;)
	{
		void	   *buf = XML_GetBuffer(parser, XLSX_CHUNK);
		ssize_t		n;

		if (buf == NULL)
		{
			XlsxSetError(err, XLSX_ERR_NOMEM, "%s: out of memory", part);
			ok = false;
			break;
		}
		n = XlsxZipStreamRead(stream, buf, XLSX_CHUNK, err);
		if (n < 0)
		{
			ok = false;
			break;
		}
		if (XML_ParseBuffer(parser, (int) n, n == 0) == XML_STATUS_ERROR)
		{
			if (!pc->failed)
				XlsxSetError(err, XLSX_ERR_XML, "%s: malformed XML at line %lu, column %lu: %s",
							 part, (unsigned long) XML_GetCurrentLineNumber(parser),
							 (unsigned long) XML_GetCurrentColumnNumber(parser),
							 XML_ErrorString(XML_GetErrorCode(parser)));
			ok = false;
			break;
		}
		if (pc->failed)
		{
			ok = false;
			break;
		}
		if (n == 0)
			break;
	}
	XML_ParserFree(parser);
	XlsxZipStreamClose(stream);
	return ok;
}

/*
 * free_rels
 *		Release a relationship list.
 */
static void
free_rels(const XlsxEnv *env, RelList *rels)
{
	for (int i = 0; i < rels->n; i++)
	{
		XlsxFree(env, rels->items[i].id);
		XlsxFree(env, rels->items[i].type);
		XlsxFree(env, rels->items[i].target);
	}
	XlsxFree(env, rels->items);
	rels->items = NULL;
	rels->n = rels->cap = 0;
}

/*
 * type_is
 *		Does a relationship type end with "/<what>"? (Transitional and Strict
 *		OOXML use different namespaces for the same types.)
 */
static bool
type_is(const char *type, const char *what)
{
	size_t		tl = strlen(type);
	size_t		wl = strlen(what);

	return tl > wl && type[tl - wl - 1] == '/' && strcmp(type + tl - wl, what) == 0;
}

/*
 * load_rels
 *		Parse the .rels of a part ("xl/workbook.xml" -> "xl/_rels/
 *		workbook.xml.rels"; "" -> "_rels/.rels"). A missing .rels is an
 *		empty list.
 */
static bool
load_rels(XlsxWorkbook *wb, const char *source, RelList *rels, XlsxError *err)
{
	const char *slash = strrchr(source, '/');
	size_t		dirlen = slash ? (size_t) (slash - source + 1) : 0;
	size_t		cap = strlen(source) + 16;
	char	   *relpart = XlsxAlloc(&wb->env, cap);
	char	   *base = XlsxAlloc(&wb->env, dirlen + 1);
	ParseCtx	pc;
	bool		ok = true;

	if (relpart == NULL || base == NULL)
	{
		XlsxFree(&wb->env, relpart);
		XlsxFree(&wb->env, base);
		XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
		return false;
	}
	memcpy(base, source, dirlen);
	base[dirlen] = '\0';
	snprintf(relpart, cap, "%s_rels/%s.rels", base, source + dirlen);

	memset(&pc, 0, sizeof(pc));
	pc.rels = rels;
	pc.base_dir = base;
	if (XlsxZipLocate(wb->zip, relpart) >= 0)
		ok = parse_part(wb, &pc, relpart, false, rels_start, depth_end, NULL, err);
	XlsxFree(&wb->env, relpart);
	XlsxFree(&wb->env, base);
	return ok;
}

/*
 * rel_cmp
 *		qsort order of relationships: by id, then by position in the part.
 */
static int
rel_cmp(const void *a, const void *b)
{
	const Rel  *x = a;
	const Rel  *y = b;
	int			c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * find_rel
 *		The target of relationship id in a list sorted by rel_cmp: the last
 *		definition of the id wins. NULL when none.
 */
static const char *
find_rel(const RelList *sorted, const char *id)
{
	int			lo = 0;
	int			hi = sorted->n;

	/* the first entry past id; the one before it is its last definition */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (strcmp(sorted->items[mid].id, id) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && strcmp(sorted->items[lo - 1].id, id) == 0)
		return sorted->items[lo - 1].target;
	return NULL;
}

/*
 * XlsxOpen
 *		Open a workbook: find the officeDocument part, read its sheet list
 *		and resolve each sheet's part. Shared strings and styles wait for
 *		XlsxLoadSharedData.
 */
XlsxWorkbook *
XlsxOpen(const char *path, const XlsxEnv *env, XlsxError *err)
{
	XlsxWorkbook *wb;
	RelList		rels = {0};
	RelList		sorted = {0};
	ParseCtx	pc;
	const char *docpart = DEFAULT_WORKBOOK_PART;
	bool		ok;

	if (err)
	{
		err->code = XLSX_OK;
		err->sys_errno = 0;
		err->message[0] = '\0';
	}
	wb = XlsxAlloc(env, sizeof(XlsxWorkbook));
	if (wb == NULL)
	{
		XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
		return NULL;
	}
	memset(wb, 0, sizeof(XlsxWorkbook));
	wb->env = *env;
	if (wb->env.max_part_bytes == 0)
		wb->env.max_part_bytes = XLSX_DEFAULT_MAX_PART;
	if (wb->env.max_shared_strings_bytes == 0)
		wb->env.max_shared_strings_bytes = XLSX_DEFAULT_MAX_SST;

	wb->zip = XlsxZipOpen(path, &wb->env, err);
	if (wb->zip == NULL)
	{
		XlsxFree(env, wb);
		return NULL;
	}

	/* the package relationships name the workbook part */
	if (!load_rels(wb, "", &rels, err))
		goto fail;
	for (int i = 0; i < rels.n; i++)
		if (type_is(rels.items[i].type, "officeDocument"))
		{
			docpart = rels.items[i].target;
			break;
		}
	wb->workbook_part = XlsxStrdup(&wb->env, docpart);
	free_rels(&wb->env, &rels);
	if (wb->workbook_part == NULL)
	{
		XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (strlen(wb->workbook_part) > 4 &&
		strcmp(wb->workbook_part + strlen(wb->workbook_part) - 4, ".bin") == 0)
	{
		XlsxSetError(err, XLSX_ERR_MISSING_PART,
					 "%s: binary workbooks (.xlsb) are not supported", wb->workbook_part);
		goto fail;
	}
	if (XlsxZipLocate(wb->zip, wb->workbook_part) < 0)
	{
		XlsxSetError(err, XLSX_ERR_MISSING_PART,
					 "%s: part missing: the file is a zip archive but not an Excel workbook",
					 wb->workbook_part);
		goto fail;
	}

	/* the sheet list */
	memset(&pc, 0, sizeof(pc));
	ok = parse_part(wb, &pc, wb->workbook_part, false, workbook_start, depth_end, NULL, err);
	if (ok)
		ok = load_rels(wb, wb->workbook_part, &rels, err);
	if (ok && rels.n > 0)
	{
		/* by id for the sheets' lookups; rels itself keeps the part's order */
		sorted.items = XlsxAlloc(&wb->env, sizeof(Rel) * (size_t) rels.n);
		if (sorted.items == NULL)
		{
			XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
			ok = false;
		}
		else
		{
			memcpy(sorted.items, rels.items, sizeof(Rel) * (size_t) rels.n);
			sorted.n = rels.n;
			qsort(sorted.items, (size_t) sorted.n, sizeof(Rel), rel_cmp);
		}
	}
	if (ok && pc.nsheets > 0)
	{
		wb->sheets = XlsxAlloc(&wb->env, sizeof(XlsxSheetInfo) * (size_t) pc.nsheets);
		wb->dimension_read = XlsxAlloc(&wb->env, sizeof(bool) * (size_t) pc.nsheets);
		if (wb->sheets == NULL || wb->dimension_read == NULL)
		{
			XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
			ok = false;
		}
	}
	for (int i = 0; ok && i < pc.nsheets; i++)
	{
		XlsxSheetInfo *si = &wb->sheets[i];
		const char *target = NULL;
		int64_t		index;

		if ((i & 1023) == 0 && interrupted(&wb->env, wb->workbook_part, err))
		{
			ok = false;
			break;
		}
		target = find_rel(&sorted, pc.sheets[i].rid);
		if (target == NULL)
		{
			XlsxSetError(err, XLSX_ERR_MISSING_PART,
						 "%s: sheet \"%s\" refers to relationship \"%s\", which %s does not define",
						 wb->workbook_part, pc.sheets[i].name, pc.sheets[i].rid,
						 "the workbook's .rels");
			ok = false;
			break;
		}
		memset(si, 0, sizeof(*si));
		wb->dimension_read[i] = false;
		wb->nsheets = i + 1;
		si->position = i + 1;
		si->name = pc.sheets[i].name;
		pc.sheets[i].name = NULL;
		si->state = pc.sheets[i].state;
		si->part = XlsxStrdup(&wb->env, target);
		si->inflated_size = si->compressed_size = -1;
		if (si->part == NULL)
		{
			XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
			ok = false;
			break;
		}
		index = XlsxZipLocate(wb->zip, si->part);
		if (index >= 0)
			XlsxZipSizes(wb->zip, index, &si->inflated_size, &si->compressed_size);
	}

	/* where the shared strings and styles are (both optional) */
	for (int j = 0; ok && j < rels.n; j++)
	{
		if (type_is(rels.items[j].type, "sharedStrings") && wb->sst_part == NULL)
			wb->sst_part = XlsxStrdup(&wb->env, rels.items[j].target);
		else if (type_is(rels.items[j].type, "styles") && wb->styles_part == NULL)
			wb->styles_part = XlsxStrdup(&wb->env, rels.items[j].target);
	}
	if (ok && wb->sst_part == NULL && XlsxZipLocate(wb->zip, "xl/sharedStrings.xml") >= 0)
		wb->sst_part = XlsxStrdup(&wb->env, "xl/sharedStrings.xml");
	if (ok && wb->styles_part == NULL && XlsxZipLocate(wb->zip, "xl/styles.xml") >= 0)
		wb->styles_part = XlsxStrdup(&wb->env, "xl/styles.xml");

	/* what the sheet list kept is owned by wb now; drop the rest */
	for (int i = 0; i < pc.nsheets; i++)
	{
		XlsxFree(&wb->env, pc.sheets[i].name);
		XlsxFree(&wb->env, pc.sheets[i].rid);
	}
	XlsxFree(&wb->env, pc.sheets);
	XlsxFree(&wb->env, sorted.items);	/* the strings are rels' */
	free_rels(&wb->env, &rels);
	if (!ok)
		goto fail;
	return wb;

fail:
	free_rels(&wb->env, &rels);
	XlsxClose(wb);
	return NULL;
}

/*
 * XlsxClose
 *		Release a workbook and everything it owns.
 */
void
XlsxClose(XlsxWorkbook *wb)
{
	const XlsxEnv *env;

	if (wb == NULL)
		return;
	env = &wb->env;
	for (int i = 0; i < wb->nsheets; i++)
	{
		XlsxFree(env, (void *) wb->sheets[i].name);
		XlsxFree(env, (void *) wb->sheets[i].part);
		XlsxFree(env, (void *) wb->sheets[i].dimension);
	}
	XlsxFree(env, wb->sheets);
	XlsxFree(env, wb->dimension_read);
	XlsxFree(env, wb->workbook_part);
	XlsxFree(env, wb->sst_part);
	XlsxFree(env, wb->styles_part);
	XlsxFree(env, wb->sst.arena);
	XlsxFree(env, wb->sst.offsets);
	XlsxFree(env, wb->xf_kind);
	XlsxZipClose(wb->zip);
	/* wb itself was allocated with the caller's env, which wb->env copies */
	env->free(env->ctx, wb);
}

/*
 * XlsxSheetCount, XlsxGetSheet, XlsxFindSheet, XlsxDate1904
 *		The sheet list.
 */
int
XlsxSheetCount(const XlsxWorkbook *wb)
{
	return wb->nsheets;
}

const XlsxSheetInfo *
XlsxGetSheet(const XlsxWorkbook *wb, int position)
{
	if (position < 1 || position > wb->nsheets)
		return NULL;
	return &wb->sheets[position - 1];
}

/* Exact name first; then ignoring ASCII case (non-ASCII compares exactly). */
const XlsxSheetInfo *
XlsxFindSheet(const XlsxWorkbook *wb, const char *name)
{
	for (int i = 0; i < wb->nsheets; i++)
		if (strcmp(wb->sheets[i].name, name) == 0)
			return &wb->sheets[i];
	for (int i = 0; i < wb->nsheets; i++)
		if (strcasecmp(wb->sheets[i].name, name) == 0)
			return &wb->sheets[i];
	return NULL;
}

bool
XlsxDate1904(const XlsxWorkbook *wb)
{
	return wb->date1904;
}

const XlsxFileId *
XlsxGetFileId(const XlsxWorkbook *wb)
{
	return XlsxZipFileId(wb->zip);
}

/*
 * load_sst
 *		The shared strings: one arena of NUL-terminated strings, with offsets.
 */
static bool
load_sst(XlsxWorkbook *wb, XlsxError *err)
{
	ParseCtx	pc;

	memset(&pc, 0, sizeof(pc));
	pc.sst = &wb->sst;
	pc.sst_budget = wb->env.max_shared_strings_bytes;
	if (!parse_part(wb, &pc, wb->sst_part, true, sst_start, sst_end, sst_text, err))
		return false;
	if (wb->sst.offsets == NULL)
	{
		/* no strings at all: still give offsets[0] */
		wb->sst.offsets = XlsxAlloc(&wb->env, sizeof(size_t));
		if (wb->sst.offsets == NULL)
		{
			XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
			return false;
		}
		wb->sst.offsets[0] = 0;
	}
	return true;
}

/*
 * numfmt_cmp
 *		qsort order of custom formats: by id, then by position in the part.
 */
static int
numfmt_cmp(const void *a, const void *b)
{
	const NumFmt *x = a;
	const NumFmt *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * load_styles
 *		The cellXfs table, each entry's number format classified once.
 */
static bool
load_styles(XlsxWorkbook *wb, XlsxError *err)
{
	ParseCtx	pc;
	bool		ok;

	memset(&pc, 0, sizeof(pc));
	ok = parse_part(wb, &pc, wb->styles_part, false, styles_start, styles_end, NULL, err);
	if (ok && pc.nxf > 0)
	{
		wb->xf_kind = XlsxAlloc(&wb->env, pc.nxf);
		if (wb->xf_kind == NULL)
		{
			XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
			ok = false;
		}
	}
	/* sorted by id, then by position: the last definition of an id wins */
	if (ok && pc.nnumfmts > 1)
		qsort(pc.numfmts, (size_t) pc.nnumfmts, sizeof(NumFmt), numfmt_cmp);
	for (uint32_t i = 0; ok && i < pc.nxf; i++)
	{
		const char *code = NULL;
		int			lo = 0;
		int			hi = pc.nnumfmts;

		if ((i & 4095) == 0 && interrupted(&wb->env, wb->styles_part, err))
		{
			ok = false;
			break;
		}
		/* the first entry past the id; the one before it is its last */
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (pc.numfmts[mid].id <= pc.xf_ids[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && pc.numfmts[lo - 1].id == pc.xf_ids[i])
			code = pc.numfmts[lo - 1].code;
		wb->xf_kind[i] = (uint8_t) XlsxResolveFormat(pc.xf_ids[i], code);
	}
	if (ok)
		wb->nxf = pc.nxf;
	for (int j = 0; j < pc.nnumfmts; j++)
		XlsxFree(&wb->env, pc.numfmts[j].code);
	XlsxFree(&wb->env, pc.numfmts);
	XlsxFree(&wb->env, pc.xf_ids);
	return ok;
}

/*
 * XlsxLoadSharedData
 *		Load the shared strings and styles once (each is optional).
 */
bool
XlsxLoadSharedData(XlsxWorkbook *wb, XlsxError *err)
{
	if (wb->shared_loaded)
		return true;
	if (wb->sst_part != NULL && !load_sst(wb, err))
		goto fail;
	if (wb->styles_part != NULL && !load_styles(wb, err))
		goto fail;
	wb->shared_loaded = true;
	return true;

fail:
	/* leave no half-loaded table behind */
	XlsxFree(&wb->env, wb->sst.arena);
	XlsxFree(&wb->env, wb->sst.offsets);
	XlsxFree(&wb->env, wb->xf_kind);
	memset(&wb->sst, 0, sizeof(wb->sst));
	wb->xf_kind = NULL;
	wb->nxf = 0;
	return false;
}
