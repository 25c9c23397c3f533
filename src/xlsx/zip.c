/*
 * zip.c
 *		The .xlsx zip container, on libzip, and the helpers the reader core
 *		shares (errors, allocation through XlsxEnv).
 *
 * A workbook is opened from a file descriptor we open ourselves, so that
 * the first bytes can be checked before libzip sees them: an OLE2 compound
 * file is a .xls renamed, or an encrypted OOXML workbook (which Excel stores
 * as a compound file holding "EncryptionInfo" and "EncryptedPackage"
 * streams). Members are streamed in chunks; each member's declared sizes
 * are checked against budgets before inflating (zip bombs), and the bytes
 * actually inflated are counted too, since headers can lie.
 *
 * Deflated members (all that Excel writes) are inflated here with zlib from
 * the raw bytes libzip hands over (ZIP_FL_COMPRESSED), with our own CRC
 * and size checks at the end: about 5% faster than zip_fread's layers on a
 * large sheet, and the sheet is read at about the speed of inflate. Other
 * methods (stored, and whatever else libzip reads) go through zip_fread.
 *
 * ZIP_CHECKCONS is not used: it re-reads every local header at open and
 * refuses files from writers with harmless header discrepancies, while
 * damage that matters is caught anyway when a member is read (zlib errors,
 * CRC check at the end of each member, sizes counted here).
 *
 * libzip's memory stays on libzip's allocator: every zip_t and zip_file_t is
 * closed on every path, error paths included.
 *
 * Inflating ahead. A large worksheet spends about a third of its scan in
 * zlib's inflate. When the caller's XlsxEnv allows it (inflate_ahead) and
 * the machine has more than one CPU, a deflated worksheet of at least
 * ZIP_AHEAD_MIN bytes is inflated by a thread of its own, ZIP_AHEAD_SLOTS
 * chunks ahead of the scanner, so the two overlap. The thread runs nothing
 * but libzip's raw reads, zlib and the CRC (stream_pull), on memory that is
 * all malloc'd (the stream, its part name and its input buffer: no memory
 * context reset can free them under it); it has every signal blocked, so
 * the backend's handlers only ever run in the main thread; it reports
 * errors through an XlsxError that the main thread hands on; and
 * XlsxZipStreamClose, which every path that ends a stream calls (the scan's
 * end, and memory-context reset callbacks on error), stops and joins it.
 * The main thread waits on it in slices of ZIP_AHEAD_WAIT_MS, checking for
 * a cancel in between. If the thread cannot be started, the stream is read
 * in the calling thread, as it is for every other part.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <emmintrin.h>
#include <wmmintrin.h>
#define XLSX_CRC_CLMUL 1
#endif

#include "xlsx.h"
#include "xlsx_internal.h"

/* The OLE2 compound file signature. */
static const unsigned char ole2_magic[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};

/* A member's name and index, for the sorted directories below. */
typedef struct ZipName
{
	const char *name;			/* libzip's, valid while za is open */
	int64_t		index;
} ZipName;

struct XlsxZip
{
	const XlsxEnv *env;
	zip_t	   *za;
	char	   *path;
	XlsxFileId	id;				/* fstat at open */
	/* the directory sorted by name, exactly and ignoring ASCII case */
	ZipName    *by_name;
	ZipName    *by_nocase;
	int64_t		nnames;
};

/* Compressed bytes read at a time when we inflate ourselves. */
#define ZIP_IN_CHUNK	(64 * 1024)

/* Inflating ahead (above): from what size (unless the env says), how far,
 * how long a wait. */
#define ZIP_AHEAD_MIN		(4 * 1024 * 1024)
#define ZIP_AHEAD_SLOTS		4
#define ZIP_AHEAD_WAIT_MS	50

/*
 * The chunks a thread inflates ahead: a ring of ZIP_AHEAD_SLOTS buffers of
 * XLSX_CHUNK bytes. The main thread reads slot[head] (from offset); the
 * thread fills slot[(head + count) % ZIP_AHEAD_SLOTS]. All malloc'd.
 */
typedef struct ZipAhead
{
	pthread_t	thread;
	pthread_mutex_t lock;
	pthread_cond_t filled;		/* a slot filled, or the thread ended */
	pthread_cond_t freed;		/* a slot freed, or stop set */
	char	   *slot[ZIP_AHEAD_SLOTS];
	size_t		slot_len[ZIP_AHEAD_SLOTS];
	int			head;
	int			count;
	size_t		offset;
	bool		stop;			/* main thread: stop at the next chunk */
	bool		ended;			/* thread: no more chunks (end or error) */
	bool		failed;			/* ... and why: err */
	XlsxError	err;
} ZipAhead;

struct XlsxZipStream
{
	XlsxZip    *zip;
	zip_file_t *zf;
	char	   *part;
	int64_t		declared;		/* inflated size from the directory */
	int64_t		compressed;
	int64_t		total;			/* bytes inflated so far */

	/* raw deflate data inflated here (zf opened ZIP_FL_COMPRESSED) */
	bool		raw;
	bool		in_eof;			/* all compressed bytes read */
	bool		done;			/* end of the deflate stream seen, checked */
	z_stream	zs;				/* zlib's own allocator; inflateEnd on close */
	unsigned char *in;
	uint32_t	crc;
	uint32_t	declared_crc;

	ZipAhead   *ahead;			/* inflated ahead by a thread, or NULL */
	bool		on_malloc;		/* this struct, part and in are malloc'd */
};

/*
 * XlsxSetError
 *		Fill an XlsxError (err may be NULL when the caller does not care).
 */
void
XlsxSetError(XlsxError *err, XlsxErrorCode code, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	err->code = code;
	err->sys_errno = 0;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/*
 * XlsxAlloc, XlsxRealloc, XlsxFree, XlsxStrdup
 *		Allocation through the caller's XlsxEnv (palloc in the backend,
 *		malloc in the tools). NULL means out of memory (tools only).
 */
void *
XlsxAlloc(const XlsxEnv *env, size_t size)
{
	return env->alloc(env->ctx, size == 0 ? 1 : size);
}

void *
XlsxRealloc(const XlsxEnv *env, void *ptr, size_t size)
{
	if (ptr == NULL)
		return XlsxAlloc(env, size);
	return env->realloc(env->ctx, ptr, size == 0 ? 1 : size);
}

void
XlsxFree(const XlsxEnv *env, void *ptr)
{
	if (ptr != NULL)
		env->free(env->ctx, ptr);
}

char *
XlsxStrdup(const XlsxEnv *env, const char *s)
{
	size_t		n = strlen(s) + 1;
	char	   *copy = XlsxAlloc(env, n);

	if (copy != NULL)
		memcpy(copy, s, n);
	return copy;
}

/*
 * zip_error_to_xlsx
 *		Map a libzip error to our error classes, with libzip's text.
 */
static void
zip_error_to_xlsx(zip_error_t *ze, const char *what, XlsxError *err)
{
	int			code = zip_error_code_zip(ze);
	XlsxErrorCode xc;

	switch (code)
	{
		case ZIP_ER_NOZIP:
			xc = XLSX_ERR_NOT_ZIP;
			break;
		case ZIP_ER_OPEN:
		case ZIP_ER_READ:
		case ZIP_ER_SEEK:
			xc = XLSX_ERR_IO;
			break;
		case ZIP_ER_MEMORY:
			xc = XLSX_ERR_NOMEM;
			break;
		case ZIP_ER_ENCRNOTSUPP:
		case ZIP_ER_NOPASSWD:
		case ZIP_ER_WRONGPASSWD:
			xc = XLSX_ERR_ENCRYPTED;
			break;
		default:
			/* CRC, INCONS, ZLIB, EOF, COMPNOTSUPP, ...: a damaged file */
			xc = XLSX_ERR_CORRUPT;
			break;
	}
	if (xc == XLSX_ERR_CORRUPT)
		XlsxSetError(err, xc, "%s: damaged zip data (%s)", what, zip_error_strerror(ze));
	else
		XlsxSetError(err, xc, "%s: %s", what, zip_error_strerror(ze));
	if (err != NULL && xc == XLSX_ERR_IO)
		err->sys_errno = zip_error_code_system(ze);
}

/*
 * ole2_is_encrypted
 *		Does an OLE2 compound file name an "EncryptionInfo" stream? Directory
 *		entry names are UTF-16LE; the directory may sit anywhere in the file,
 *		so the whole file is searched (only ever for a file we will refuse).
 */
static bool
ole2_is_encrypted(int fd, const XlsxEnv *env)
{
	static const char pattern[] = "E\0n\0c\0r\0y\0p\0t\0i\0o\0n\0I\0n\0f\0o\0";
	const size_t plen = sizeof(pattern) - 1;
	char		buf[65536];
	size_t		have = 0;
	off_t		off = 0;

	for (;;)
	{
		ssize_t		n = pread(fd, buf + have, sizeof(buf) - have, off);

		if (n <= 0)
			return false;
		off += n;
		have += (size_t) n;
		if (memmem(buf, have, pattern, plen) != NULL)
			return true;
		/* keep a tail in case the name straddles two reads */
		memmove(buf, buf + have - (plen - 1 < have ? plen - 1 : have),
				plen - 1 < have ? plen - 1 : have);
		have = plen - 1 < have ? plen - 1 : have;
		if (env->interrupted && env->interrupted(env->ctx))
			return false;
	}
}

/*
 * name_cmp, nocase_cmp
 *		qsort / bsearch orders of ZipName: by name (exact or ignoring ASCII
 *		case), then by index, so that the first of equal names is the first
 *		in the directory.
 */
static int
name_cmp(const void *a, const void *b)
{
	const ZipName *x = a;
	const ZipName *y = b;
	int			c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int
nocase_cmp(const void *a, const void *b)
{
	const ZipName *x = a;
	const ZipName *y = b;
	int			c = strcasecmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* bsearch keys: the name alone */
static int
name_cmp_key(const void *key, const void *elem)
{
	return strcmp(((const ZipName *) key)->name, ((const ZipName *) elem)->name);
}

static int
nocase_cmp_key(const void *key, const void *elem)
{
	return strcasecmp(((const ZipName *) key)->name, ((const ZipName *) elem)->name);
}

/*
 * index_names
 *		Sort the directory's names once, so that each lookup is a binary
 *		search (libzip's own case-insensitive lookup is a linear scan, and a
 *		workbook can ask for one part per sheet). Two members whose names are
 *		equal, or equal ignoring case, are refused: OPC part names are
 *		unique without regard to case, and which of the two a reader took
 *		would be anyone's guess.
 */
static bool
index_names(XlsxZip *zip, XlsxError *err)
{
	const XlsxEnv *env = zip->env;
	zip_int64_t n = zip_get_num_entries(zip->za, 0);
	int64_t		k = 0;

	if (n <= 0)
		return true;
	if ((uint64_t) n > SIZE_MAX / sizeof(ZipName))
	{
		XlsxSetError(err, XLSX_ERR_LIMIT, "zip central directory: too many entries");
		return false;
	}
	zip->by_name = XlsxAlloc(env, sizeof(ZipName) * (size_t) n);
	zip->by_nocase = XlsxAlloc(env, sizeof(ZipName) * (size_t) n);
	if (zip->by_name == NULL || zip->by_nocase == NULL)
	{
		XlsxSetError(err, XLSX_ERR_NOMEM, "zip central directory: out of memory");
		return false;
	}
	for (zip_int64_t i = 0; i < n; i++)
	{
		const char *name = zip_get_name(zip->za, (zip_uint64_t) i, 0);

		if (name == NULL)
			continue;
		zip->by_name[k].name = name;
		zip->by_name[k].index = (int64_t) i;
		k++;
		if ((i & 16383) == 0 && env->interrupted && env->interrupted(env->ctx))
		{
			XlsxSetError(err, XLSX_ERR_CANCELED, "zip central directory: canceled");
			return false;
		}
	}
	zip->nnames = k;
	memcpy(zip->by_nocase, zip->by_name, sizeof(ZipName) * (size_t) k);
	qsort(zip->by_name, (size_t) k, sizeof(ZipName), name_cmp);
	qsort(zip->by_nocase, (size_t) k, sizeof(ZipName), nocase_cmp);
	for (int64_t i = 1; i < k; i++)
	{
		if (strcasecmp(zip->by_nocase[i - 1].name, zip->by_nocase[i].name) == 0)
		{
			if (strcmp(zip->by_nocase[i - 1].name, zip->by_nocase[i].name) == 0)
				XlsxSetError(err, XLSX_ERR_CORRUPT,
							 "%s: the zip holds two members of this name, which a workbook may not",
							 zip->by_nocase[i].name);
			else
				XlsxSetError(err, XLSX_ERR_CORRUPT,
							 "%s: the zip also holds \"%s\", the same part name in another case, which a workbook may not",
							 zip->by_nocase[i].name, zip->by_nocase[i - 1].name);
			return false;
		}
	}
	return true;
}

/*
 * XlsxZipOpen
 *		Open path as a zip container, or say precisely why it is not one.
 *		The messages do not name the file: the caller names it, once.
 */
XlsxZip *
XlsxZipOpen(const char *path, const XlsxEnv *env, XlsxError *err)
{
	int			fd;
	struct stat st;
	unsigned char head[8];
	ssize_t		nhead;
	int			zerr = 0;
	zip_t	   *za;
	XlsxZip    *zip;

	/*
	 * O_NONBLOCK: a FIFO (or a device) as the filename would block open()
	 * beyond any cancel; with it, open returns and fstat tells what it is.
	 * Nothing but a regular file is read.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
	{
		int			save = errno;

		XlsxSetError(err, XLSX_ERR_IO, "could not open file: %s", strerror(save));
		if (err)
			err->sys_errno = save;
		return NULL;
	}
	if (fstat(fd, &st) != 0)
	{
		int			save = errno;

		XlsxSetError(err, XLSX_ERR_IO, "could not read file: %s", strerror(save));
		if (err)
			err->sys_errno = save;
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
	{
		XlsxSetError(err, XLSX_ERR_NOT_FILE, "%s, not a regular file",
					 S_ISDIR(st.st_mode) ? "a directory" :
					 S_ISFIFO(st.st_mode) ? "a FIFO" :
					 S_ISSOCK(st.st_mode) ? "a socket" :
					 S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "something else");
		close(fd);
		return NULL;
	}
	/* a regular file: back to ordinary blocking reads */
	(void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);

	/* look at the signature before libzip does */
	nhead = pread(fd, head, sizeof(head), 0);
	if (nhead == (ssize_t) sizeof(head) && memcmp(head, ole2_magic, 8) == 0)
	{
		if (ole2_is_encrypted(fd, env))
			XlsxSetError(err, XLSX_ERR_ENCRYPTED,
						 "encrypted workbook (password protected)");
		else
			XlsxSetError(err, XLSX_ERR_OLD_XLS,
						 "OLE2 compound file (an Excel 97-2003 .xls), not an .xlsx workbook");
		close(fd);
		return NULL;
	}
	if (nhead < 4 || st.st_size < 22)
	{
		XlsxSetError(err, XLSX_ERR_NOT_ZIP, "not a zip archive (too short to be an .xlsx workbook)");
		close(fd);
		return NULL;
	}

	/* libzip takes over fd on success only */
	za = zip_fdopen(fd, ZIP_RDONLY, &zerr);
	if (za == NULL)
	{
		zip_error_t ze;

		close(fd);
		zip_error_init_with_code(&ze, zerr);
		if (zerr == ZIP_ER_NOZIP && memcmp(head, "PK\003\004", 4) == 0)
			XlsxSetError(err, XLSX_ERR_CORRUPT,
						 "zip archive without a central directory (truncated?)");
		else if (zerr == ZIP_ER_NOZIP)
			XlsxSetError(err, XLSX_ERR_NOT_ZIP, "not a zip archive (not an .xlsx workbook)");
		else
			zip_error_to_xlsx(&ze, "zip central directory", err);
		zip_error_fini(&ze);
		return NULL;
	}

	zip = XlsxAlloc(env, sizeof(XlsxZip));
	if (zip == NULL || (zip->path = XlsxStrdup(env, path)) == NULL)
	{
		XlsxFree(env, zip);
		zip_discard(za);
		XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
		return NULL;
	}
	zip->env = env;
	zip->za = za;
	zip->id.dev = (uint64_t) st.st_dev;
	zip->id.ino = (uint64_t) st.st_ino;
	zip->id.size = (int64_t) st.st_size;
	zip->id.mtime_sec = (int64_t) st.st_mtim.tv_sec;
	zip->id.mtime_nsec = (int64_t) st.st_mtim.tv_nsec;
	zip->by_name = zip->by_nocase = NULL;
	zip->nnames = 0;
	if (!index_names(zip, err))
	{
		XlsxZipClose(zip);
		return NULL;
	}
	return zip;
}

/*
 * XlsxZipClose
 *		Release the archive (read-only: nothing to write back).
 */
void
XlsxZipClose(XlsxZip *zip)
{
	if (zip == NULL)
		return;
	zip_discard(zip->za);
	XlsxFree(zip->env, zip->by_name);
	XlsxFree(zip->env, zip->by_nocase);
	XlsxFree(zip->env, zip->path);
	XlsxFree(zip->env, zip);
}

/*
 * XlsxZipFileId
 *		The file's identity as fstat saw it at open.
 */
const XlsxFileId *
XlsxZipFileId(const XlsxZip *zip)
{
	return &zip->id;
}

/*
 * XlsxZipLocate
 *		Index of a member by name: exact first, then ignoring case (writers
 *		disagree on the case of part names and relationship targets).
 */
int64_t
XlsxZipLocate(XlsxZip *zip, const char *name)
{
	ZipName		key;
	ZipName    *hit;

	if (zip->nnames == 0)
		return -1;
	/* equal names are refused at open, so any match is the only one */
	key.name = name;
	key.index = 0;
	hit = bsearch(&key, zip->by_name, (size_t) zip->nnames, sizeof(ZipName), name_cmp_key);
	if (hit == NULL)
		hit = bsearch(&key, zip->by_nocase, (size_t) zip->nnames, sizeof(ZipName), nocase_cmp_key);
	return hit ? hit->index : -1;
}

/*
 * XlsxZipSizes
 *		Declared inflated and compressed sizes of a member.
 */
bool
XlsxZipSizes(XlsxZip *zip, int64_t index, int64_t *inflated, int64_t *compressed)
{
	zip_stat_t	st;

	zip_stat_init(&st);
	if (zip_stat_index(zip->za, (zip_uint64_t) index, 0, &st) != 0)
		return false;
	*inflated = (st.valid & ZIP_STAT_SIZE) ? (int64_t) st.size : -1;
	*compressed = (st.valid & ZIP_STAT_COMP_SIZE) ? (int64_t) st.comp_size : -1;
	return true;
}

static void ahead_start(XlsxZipStream *stream);

/*
 * stream_open
 *		Start inflating a member, after checking its declared sizes: the
 *		ratio always, the byte budget unless it is 0 (worksheets).
 */
static XlsxZipStream *
stream_open(XlsxZip *zip, int64_t index, const char *part, size_t budget,
			bool may_ahead, XlsxError *err)
{
	const XlsxEnv *env = zip->env;
	zip_stat_t	st;
	zip_file_t *zf;
	XlsxZipStream *stream;
	bool		raw;
	bool		ahead;

	zip_stat_init(&st);
	if (zip_stat_index(zip->za, (zip_uint64_t) index, 0, &st) != 0)
	{
		zip_error_to_xlsx(zip_get_error(zip->za), part, err);
		return NULL;
	}
	if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
	{
		XlsxSetError(err, XLSX_ERR_ENCRYPTED, "%s: part is encrypted", part);
		return NULL;
	}
	if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
	{
		XlsxSetError(err, XLSX_ERR_CORRUPT, "%s: zip entry has no sizes", part);
		return NULL;
	}

	/* a compression ratio no workbook has: a zip bomb */
	if ((int64_t) st.size > XLSX_RATIO_MIN_BYTES &&
		(st.comp_size == 0 || st.size / st.comp_size > XLSX_MAX_RATIO))
	{
		XlsxSetError(err, XLSX_ERR_LIMIT,
					 "%s: compression ratio over %d (%llu bytes from %llu): refusing a likely zip bomb",
					 part, XLSX_MAX_RATIO, (unsigned long long) st.size,
					 (unsigned long long) st.comp_size);
		return NULL;
	}
	if (budget != 0 && st.size > budget)
	{
		XlsxSetError(err, XLSX_ERR_LIMIT,
					 "%s: part is %llu bytes inflated, over the limit of %zu bytes",
					 part, (unsigned long long) st.size, budget);
		return NULL;
	}

	/* deflate with a known CRC: inflate here from the raw bytes */
	raw = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_DEFLATE &&
		(st.valid & ZIP_STAT_CRC);
	/* a large one, when allowed and worth it: inflated ahead (above) */
	ahead = may_ahead && raw && env->inflate_ahead &&
		st.size >= (env->inflate_ahead_min ? env->inflate_ahead_min : ZIP_AHEAD_MIN) &&
		sysconf(_SC_NPROCESSORS_ONLN) > 1;
	zf = zip_fopen_index(zip->za, (zip_uint64_t) index, raw ? ZIP_FL_COMPRESSED : 0);
	if (zf == NULL)
	{
		zip_error_to_xlsx(zip_get_error(zip->za), part, err);
		return NULL;
	}
	stream = ahead ? malloc(sizeof(XlsxZipStream)) : XlsxAlloc(env, sizeof(XlsxZipStream));
	if (stream != NULL)
	{
		memset(stream, 0, sizeof(XlsxZipStream));
		stream->zip = zip;
		stream->on_malloc = ahead;
		stream->part = ahead ? strdup(part) : XlsxStrdup(env, part);
	}
	if (stream == NULL || stream->part == NULL)
	{
		if (stream != NULL)
			XlsxZipStreamClose(stream);
		zip_fclose(zf);
		XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
		return NULL;
	}
	/* the rest is zero: total, in_eof, done, in, crc (crc32(0L, Z_NULL, 0)) */
	stream->zf = zf;
	stream->declared = (int64_t) st.size;
	stream->compressed = (int64_t) st.comp_size;
	stream->raw = raw;
	stream->declared_crc = st.crc;
	if (raw)
	{
		stream->in = ahead ? malloc(ZIP_IN_CHUNK) : XlsxAlloc(env, ZIP_IN_CHUNK);
		if (stream->in == NULL || inflateInit2(&stream->zs, -MAX_WBITS) != Z_OK)
		{
			/* inflateEnd is harmless on a z_stream inflateInit2 refused */
			XlsxZipStreamClose(stream);
			XlsxSetError(err, XLSX_ERR_NOMEM, "out of memory");
			return NULL;
		}
	}
	if (ahead)
		ahead_start(stream);
	return stream;
}

/*
 * XlsxZipStreamOpen
 *		Stream a member; only worksheets may exceed max_part_bytes, and only
 *		a worksheet read to its end may be inflated ahead.
 */
XlsxZipStream *
XlsxZipStreamOpen(XlsxZip *zip, int64_t index, const char *part, int flags,
				  XlsxError *err)
{
	size_t		budget = zip->env->max_part_bytes ? zip->env->max_part_bytes : XLSX_DEFAULT_MAX_PART;
	bool		is_sheet = (flags & XLSX_STREAM_SHEET) != 0;

	return stream_open(zip, index, part, is_sheet ? 0 : budget,
					   is_sheet && (flags & XLSX_STREAM_AHEAD), err);
}

/*
 * stream_fail
 *		A damaged member found while inflating here, in libzip's words (as
 *		zip_fread would have said it).
 */
static ssize_t
stream_fail(XlsxZipStream *stream, int zip_code, int sys_code, XlsxError *err)
{
	zip_error_t ze;

	zip_error_init(&ze);
	zip_error_set(&ze, zip_code, sys_code);
	zip_error_to_xlsx(&ze, stream->part, err);
	zip_error_fini(&ze);
	return -1;
}

/* ---- the CRC of what is inflated ----
 *
 * Every byte of a sheet passes through the CRC check, so its speed counts
 * (zlib's braided crc32 is about 4 instructions a byte). On x86-64 with
 * PCLMULQDQ, blocks of 64 bytes are folded with carry-less multiplies, the
 * method of Intel's "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ Instruction" (Gopal et al., 2009) for the reflected CRC-32 of
 * zip, with its published folding constants (x^(4*128+32), x^(4*128-32),
 * x^(128+32), x^(128-32) mod P, bit-reflected). The 128-bit remainder is
 * then finished by zlib's crc32 as the 16 bytes it stands for, and the tail
 * too, so the only arithmetic here is the folding. The test (test_crc)
 * holds it to zlib's crc32 at every length, alignment and split.
 */
#ifdef XLSX_CRC_CLMUL
/*
 * fold
 *		x times x^k, in the CRC's ring, for the two halves of x.
 */
__attribute__((target("pclmul,sse2")))
static inline __m128i
fold(__m128i x, __m128i k)
{
	return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
						 _mm_clmulepi64_si128(x, k, 0x11));
}

/*
 * crc32_clmul
 *		zlib's crc32(crc, p, len) for len >= 64.
 */
__attribute__((target("pclmul,sse2")))
static uint32_t
crc32_clmul(uint32_t crc, const unsigned char *p, size_t len)
{
	const __m128i k4x = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL);
	const __m128i k1x = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);
	__m128i		x0,
				x1,
				x2,
				x3;
	unsigned char rem[16];

	/* the register's start (~crc) goes into the first four bytes */
	x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *) p),
					   _mm_cvtsi32_si128((int) ~crc));
	x1 = _mm_loadu_si128((const __m128i *) (p + 16));
	x2 = _mm_loadu_si128((const __m128i *) (p + 32));
	x3 = _mm_loadu_si128((const __m128i *) (p + 48));
	p += 64;
	len -= 64;
	while (len >= 64)
	{
		x0 = _mm_xor_si128(fold(x0, k4x), _mm_loadu_si128((const __m128i *) p));
		x1 = _mm_xor_si128(fold(x1, k4x), _mm_loadu_si128((const __m128i *) (p + 16)));
		x2 = _mm_xor_si128(fold(x2, k4x), _mm_loadu_si128((const __m128i *) (p + 32)));
		x3 = _mm_xor_si128(fold(x3, k4x), _mm_loadu_si128((const __m128i *) (p + 48)));
		p += 64;
		len -= 64;
	}
	x0 = _mm_xor_si128(fold(x0, k1x), x1);
	x0 = _mm_xor_si128(fold(x0, k1x), x2);
	x0 = _mm_xor_si128(fold(x0, k1x), x3);
	while (len >= 16)
	{
		x0 = _mm_xor_si128(fold(x0, k1x), _mm_loadu_si128((const __m128i *) p));
		p += 16;
		len -= 16;
	}

	/*
	 * The register after those bytes is the one after these 16 bytes from
	 * a zero start; zlib's crc32 from 0xffffffff starts from zero.
	 */
	_mm_storeu_si128((__m128i *) rem, x0);
	crc = (uint32_t) crc32(0xffffffffUL, rem, 16);
	return (uint32_t) crc32(crc, p, (uInt) len);
}
#endif

/*
 * XlsxCrc32
 *		zlib's crc32(crc, p, len), folded with PCLMULQDQ where the CPU has it.
 */
uint32_t
XlsxCrc32(uint32_t crc, const void *p, size_t len)
{
#ifdef XLSX_CRC_CLMUL
	static int	clmul = -1;

	if (clmul < 0)
		clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
	if (clmul && len >= 64)
		return crc32_clmul(crc, p, len);
#endif
	while (len > 0)
	{
		uInt		n = len > (1U << 30) ? (1U << 30) : (uInt) len;

		crc = (uint32_t) crc32(crc, p, n);
		p = (const char *) p + n;
		len -= n;
	}
	return crc;
}

/*
 * stream_inflate
 *		Inflate raw deflate data into buf: at least one byte unless the
 *		stream has ended (0), or -1. After the end of the deflate stream,
 *		the CRC and the size must be the directory's; like zip_fread, the
 *		last bytes are handed over first and the next call reports.
 */
static ssize_t
stream_inflate(XlsxZipStream *stream, char *buf, size_t len, XlsxError *err)
{
	z_stream   *zs = &stream->zs;
	size_t		n;

	if (stream->done)
	{
		if (stream->total != stream->declared)
			return stream_fail(stream, ZIP_ER_INCONS, 0, err);
		if (stream->crc != stream->declared_crc)
			return stream_fail(stream, ZIP_ER_CRC, 0, err);
		return 0;
	}
	if (len == 0)
		return 0;
	zs->next_out = (Bytef *) buf;
	zs->avail_out = (uInt) len;
	while (zs->avail_out == len)
	{
		int			zr;

		if (zs->avail_in == 0 && !stream->in_eof)
		{
			zip_int64_t got = zip_fread(stream->zf, stream->in, ZIP_IN_CHUNK);

			if (got < 0)
			{
				zip_error_to_xlsx(zip_file_get_error(stream->zf), stream->part, err);
				return -1;
			}
			if (got == 0)
				stream->in_eof = true;
			zs->next_in = stream->in;
			zs->avail_in = (uInt) got;
		}
		zr = inflate(zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
		{
			stream->done = true;
			break;
		}
		if (zr == Z_BUF_ERROR && zs->avail_in == 0 && stream->in_eof)
			return stream_fail(stream, ZIP_ER_EOF, 0, err);
		if (zr == Z_MEM_ERROR)
			return stream_fail(stream, ZIP_ER_MEMORY, 0, err);
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return stream_fail(stream, ZIP_ER_ZLIB, zr, err);
	}
	n = len - zs->avail_out;
	stream->crc = XlsxCrc32(stream->crc, buf, n);
	if (n == 0)
		return stream_inflate(stream, buf, len, err);	/* ended: check */
	return (ssize_t) n;
}

/*
 * stream_pull
 *		Inflate up to len bytes (at most one chunk), counting them against the
 *		declared size. No XlsxEnv: the inflating thread runs it too.
 */
static ssize_t
stream_pull(XlsxZipStream *stream, char *buf, size_t len, XlsxError *err)
{
	zip_int64_t n;

	if (len > XLSX_CHUNK)
		len = XLSX_CHUNK;
	if (stream->raw)
	{
		n = stream_inflate(stream, buf, len, err);
		if (n < 0)
			return -1;
	}
	else
	{
		n = zip_fread(stream->zf, buf, len);
		if (n < 0)
		{
			zip_error_to_xlsx(zip_file_get_error(stream->zf), stream->part, err);
			return -1;
		}
	}
	stream->total += n;

	/* the header lied about the size: never inflate past what it declared */
	if (stream->total > stream->declared)
	{
		XlsxSetError(err, XLSX_ERR_CORRUPT,
					 "%s: part inflates past its declared size of %lld bytes",
					 stream->part, (long long) stream->declared);
		return -1;
	}
	return (ssize_t) n;
}

/*
 * ahead_main
 *		The inflating thread: fill free slots until the member ends, fails,
 *		or the main thread says stop.
 */
static void *
ahead_main(void *arg)
{
	XlsxZipStream *stream = arg;
	ZipAhead   *a = stream->ahead;

	for (;;)
	{
		int			slot;
		ssize_t		n;
		XlsxError	err;

		pthread_mutex_lock(&a->lock);
		while (a->count == ZIP_AHEAD_SLOTS && !a->stop)
			pthread_cond_wait(&a->freed, &a->lock);
		if (a->stop)
		{
			pthread_mutex_unlock(&a->lock);
			break;
		}
		/* the main thread never reads this slot until count covers it */
		slot = (a->head + a->count) % ZIP_AHEAD_SLOTS;
		pthread_mutex_unlock(&a->lock);

		memset(&err, 0, sizeof(err));
		n = stream_pull(stream, a->slot[slot], XLSX_CHUNK, &err);

		pthread_mutex_lock(&a->lock);
		if (n > 0)
		{
			a->slot_len[slot] = (size_t) n;
			a->count++;
		}
		else
		{
			a->ended = true;
			a->failed = n < 0;
			a->err = err;
		}
		pthread_cond_signal(&a->filled);
		pthread_mutex_unlock(&a->lock);
		if (n <= 0)
			break;
	}
	return NULL;
}

/*
 * ahead_free
 *		Release a ring whose thread is not running.
 */
static void
ahead_free(ZipAhead *a, bool sync_objects)
{
	for (int i = 0; i < ZIP_AHEAD_SLOTS; i++)
		free(a->slot[i]);
	if (sync_objects)
	{
		pthread_cond_destroy(&a->freed);
		pthread_cond_destroy(&a->filled);
		pthread_mutex_destroy(&a->lock);
	}
	free(a);
}

/*
 * ahead_start
 *		Start inflating a (malloc'd) stream ahead. Any failure leaves it
 *		read in the calling thread instead, which is always correct.
 */
static void
ahead_start(XlsxZipStream *stream)
{
	ZipAhead   *a = calloc(1, sizeof(ZipAhead));
	sigset_t	all;
	sigset_t	old;
	int			rc;

	if (a == NULL)
		return;
	for (int i = 0; i < ZIP_AHEAD_SLOTS; i++)
	{
		if ((a->slot[i] = malloc(XLSX_CHUNK)) == NULL)
		{
			ahead_free(a, false);
			return;
		}
	}
	if (pthread_mutex_init(&a->lock, NULL) != 0)
	{
		ahead_free(a, false);
		return;
	}
	if (pthread_cond_init(&a->filled, NULL) != 0)
	{
		pthread_mutex_destroy(&a->lock);
		ahead_free(a, false);
		return;
	}
	if (pthread_cond_init(&a->freed, NULL) != 0)
	{
		pthread_cond_destroy(&a->filled);
		pthread_mutex_destroy(&a->lock);
		ahead_free(a, false);
		return;
	}
	/* settle the CRC's CPU check here, not racing in two threads */
	(void) XlsxCrc32(0, "", 0);
	stream->ahead = a;

	/* the thread inherits this mask: every signal stays with the caller */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->thread, NULL, ahead_main, stream);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
	{
		stream->ahead = NULL;
		ahead_free(a, true);
	}
}

/*
 * ahead_read
 *		The main thread's read from the ring: what is ready, up to len bytes;
 *		0 at the end; -1 with the thread's error, or on a cancel.
 */
static ssize_t
ahead_read(XlsxZipStream *stream, char *buf, size_t len, XlsxError *err)
{
	ZipAhead   *a = stream->ahead;
	const XlsxEnv *env = stream->zip->env;
	size_t		n;

	pthread_mutex_lock(&a->lock);
	while (a->count == 0 && !a->ended)
	{
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += ZIP_AHEAD_WAIT_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L)
		{
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&a->filled, &a->lock, &until) == ETIMEDOUT)
		{
			/* slow storage: let a cancel through while waiting */
			pthread_mutex_unlock(&a->lock);
			if (env->interrupted && env->interrupted(env->ctx))
			{
				XlsxSetError(err, XLSX_ERR_CANCELED, "%s: canceled", stream->part);
				return -1;
			}
			pthread_mutex_lock(&a->lock);
		}
	}
	if (a->count == 0)
	{
		/* ended, and everything before was read */
		pthread_mutex_unlock(&a->lock);
		if (a->failed)
		{
			if (err != NULL)
				*err = a->err;
			return -1;
		}
		return 0;
	}
	pthread_mutex_unlock(&a->lock);

	/* slot[head] is ours until it is handed back */
	n = a->slot_len[a->head] - a->offset;
	if (n > len)
		n = len;
	memcpy(buf, a->slot[a->head] + a->offset, n);
	a->offset += n;
	if (a->offset == a->slot_len[a->head])
	{
		pthread_mutex_lock(&a->lock);
		a->head = (a->head + 1) % ZIP_AHEAD_SLOTS;
		a->count--;
		a->offset = 0;
		pthread_cond_signal(&a->freed);
		pthread_mutex_unlock(&a->lock);
	}
	return (ssize_t) n;
}

/*
 * XlsxZipStreamRead
 *		Inflate up to len bytes (at most one chunk per call, so that the
 *		interrupt check runs every XLSX_CHUNK bytes).
 */
ssize_t
XlsxZipStreamRead(XlsxZipStream *stream, char *buf, size_t len, XlsxError *err)
{
	const XlsxEnv *env = stream->zip->env;

	if (env->interrupted && env->interrupted(env->ctx))
	{
		XlsxSetError(err, XLSX_ERR_CANCELED, "%s: canceled", stream->part);
		return -1;
	}
	if (stream->ahead != NULL)
		return ahead_read(stream, buf, len, err);
	return stream_pull(stream, buf, len, err);
}

/*
 * XlsxZipStreamClose
 *		Release a member stream (NULL is fine); a thread inflating it ahead
 *		is stopped and joined first.
 */
void
XlsxZipStreamClose(XlsxZipStream *stream)
{
	const XlsxEnv *env;

	if (stream == NULL)
		return;
	if (stream->ahead != NULL)
	{
		ZipAhead   *a = stream->ahead;

		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_signal(&a->freed);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
		ahead_free(a, true);
		stream->ahead = NULL;
	}
	if (stream->in != NULL)
		inflateEnd(&stream->zs);
	if (stream->zf != NULL)
		zip_fclose(stream->zf);
	if (stream->on_malloc)
	{
		free(stream->in);
		free(stream->part);
		free(stream);
		return;
	}
	env = stream->zip->env;
	XlsxFree(env, stream->in);
	XlsxFree(env, stream->part);
	XlsxFree(env, stream);
}

/*
 * XlsxZipReadPart
 *		Inflate a whole small part into memory, NUL-terminated.
 */
char *
XlsxZipReadPart(XlsxZip *zip, int64_t index, const char *part, size_t limit,
				size_t *len, XlsxError *err)
{
	const XlsxEnv *env = zip->env;
	XlsxZipStream *stream;
	char	   *data;
	size_t		cap;
	size_t		have = 0;

	if (limit == 0)
		limit = env->max_part_bytes ? env->max_part_bytes : XLSX_DEFAULT_MAX_PART;
	stream = stream_open(zip, index, part, limit, false, err);
	if (stream == NULL)
		return NULL;

	cap = (size_t) stream->declared + 1;
	data = XlsxAlloc(env, cap);
	if (data == NULL)
	{
		XlsxZipStreamClose(stream);
		XlsxSetError(err, XLSX_ERR_NOMEM, "%s: out of memory", part);
		return NULL;
	}
	for (;;)
	{
		ssize_t		n;

		/* the stream refuses to go past the declared size: room is there */
		n = XlsxZipStreamRead(stream, data + have, cap - have, err);
		if (n < 0)
		{
			XlsxFree(env, data);
			XlsxZipStreamClose(stream);
			return NULL;
		}
		if (n == 0)
			break;
		have += (size_t) n;
		if (have > cap - 1)
		{
			XlsxFree(env, data);
			XlsxZipStreamClose(stream);
			XlsxSetError(err, XLSX_ERR_CORRUPT, "%s: part inflates past its declared size", part);
			return NULL;
		}
	}
	XlsxZipStreamClose(stream);
	data[have] = '\0';
	*len = have;
	return data;
}
