/*
 * mining.c
 *		The helpers every mining core uses: the budgeted allocator and error
 *		filling (see mining.h). No backend headers.
 */
#include <stdio.h>
#include <string.h>

#include "mining/mining.h"

/*
 * MiningAlloc
 *		nmemb * size bytes, overflow-checked and charged to env->max_bytes.
 */
void *
MiningAlloc(MiningEnv *env, size_t nmemb, size_t size, bool zero,
			const char *what, MiningError *err)
{
	size_t		bytes;
	void	   *p;

	if (!MiningMulSize(nmemb, size, &bytes))
	{
		MiningSetError(err, MINING_ERR_LIMIT, "%s would need more memory than can be addressed", what);
		return NULL;
	}
	if (bytes == 0)
		bytes = 1;
	if (env->max_bytes != 0 &&
		(bytes > env->max_bytes || env->used_bytes > env->max_bytes - bytes))
	{
		MiningSetError(err, MINING_ERR_LIMIT, "%s would exceed the memory limit", what);
		MiningSetDetail(err, "It needs %zu bytes more, %zu are in use, and the limit is %zu bytes.",
						bytes, env->used_bytes, env->max_bytes);
		return NULL;
	}
	p = env->alloc(env->ctx, bytes);
	if (p == NULL)
	{
		MiningSetError(err, MINING_ERR_NOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
		return NULL;
	}
	if (zero)
		memset(p, 0, bytes);
	env->used_bytes += bytes;
	if (env->used_bytes > env->peak_bytes)
		env->peak_bytes = env->used_bytes;
	return p;
}

/*
 * MiningRealloc
 *		Resize a block from MiningAlloc, charging only the difference.
 */
void *
MiningRealloc(MiningEnv *env, void *ptr, size_t old_nmemb, size_t new_nmemb,
			  size_t size, const char *what, MiningError *err)
{
	size_t		old_bytes = old_nmemb * size;	/* checked when allocated */
	size_t		bytes;
	void	   *p;

	if (ptr == NULL)
		return MiningAlloc(env, new_nmemb, size, false, what, err);
	if (!MiningMulSize(new_nmemb, size, &bytes))
	{
		MiningSetError(err, MINING_ERR_LIMIT, "%s would need more memory than can be addressed", what);
		return NULL;
	}
	if (bytes == 0)
		bytes = 1;
	if (old_bytes == 0)
		old_bytes = 1;
	if (bytes > old_bytes && env->max_bytes != 0 &&
		(bytes - old_bytes > env->max_bytes ||
		 env->used_bytes > env->max_bytes - (bytes - old_bytes)))
	{
		MiningSetError(err, MINING_ERR_LIMIT, "%s would exceed the memory limit", what);
		MiningSetDetail(err, "It needs %zu bytes more, %zu are in use, and the limit is %zu bytes.",
						bytes - old_bytes, env->used_bytes, env->max_bytes);
		return NULL;
	}
	if (env->realloc != NULL)
		p = env->realloc(env->ctx, ptr, bytes);
	else
	{
		p = env->alloc(env->ctx, bytes);
		if (p != NULL)
		{
			memcpy(p, ptr, old_bytes < bytes ? old_bytes : bytes);
			env->free(env->ctx, ptr);
		}
	}
	if (p == NULL)
	{
		MiningSetError(err, MINING_ERR_NOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
		return NULL;
	}
	if (bytes >= old_bytes)
	{
		env->used_bytes += bytes - old_bytes;
		if (env->used_bytes > env->peak_bytes)
			env->peak_bytes = env->used_bytes;
	}
	else
		env->used_bytes = old_bytes - bytes > env->used_bytes ? 0 : env->used_bytes - (old_bytes - bytes);
	return p;
}

/*
 * MiningFree
 *		Give back a block from MiningAlloc; nmemb and size as allocated.
 */
void
MiningFree(MiningEnv *env, void *ptr, size_t nmemb, size_t size)
{
	size_t		bytes = nmemb * size;	/* checked when allocated */

	if (ptr == NULL)
		return;
	if (bytes == 0)
		bytes = 1;
	env->used_bytes = bytes > env->used_bytes ? 0 : env->used_bytes - bytes;
	env->free(env->ctx, ptr);
}

bool
MiningSetError(MiningError *err, MiningErrorCode code, const char *fmt,...)
{
	va_list		ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	return false;
}

void
MiningSetDetail(MiningError *err, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
MiningSetHint(MiningError *err, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}
