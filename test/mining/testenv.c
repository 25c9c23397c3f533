/*
 * testenv.c
 *		The unit tests' MiningEnv (see testenv.h).
 */
#include <stdlib.h>
#include <string.h>

#include "testenv.h"

int			test_failures = 0;
int			test_passes = 0;

static void
track(TestEnv *t, void *p)
{
	if (t->nblocks == t->cap)
	{
		t->cap = t->cap ? 2 * t->cap : 64;
		t->blocks = realloc(t->blocks, t->cap * sizeof(void *));
		if (t->blocks == NULL)
			abort();
	}
	t->blocks[t->nblocks++] = p;
}

static void
untrack(TestEnv *t, void *p)
{
	for (size_t i = t->nblocks; i-- > 0;)
		if (t->blocks[i] == p)
		{
			t->blocks[i] = t->blocks[--t->nblocks];
			return;
		}
	abort();					/* freeing a block we never gave out */
}

static void *
t_alloc(void *ctx, size_t size)
{
	void	   *p = malloc(size);

	if (p)
		track(ctx, p);
	return p;
}

static void *
t_realloc(void *ctx, void *ptr, size_t size)
{
	void	   *p;

	untrack(ctx, ptr);			/* before realloc may free it */
	p = realloc(ptr, size);
	track(ctx, p ? p : ptr);	/* on failure the old block stays ours */
	return p;
}

static void
t_free(void *ctx, void *ptr)
{
	untrack(ctx, ptr);
	free(ptr);
}

static bool
t_interrupted(void *ctx)
{
	TestEnv    *t = ctx;

	t->checks++;
	return t->interrupt_after >= 0 && t->checks > t->interrupt_after;
}

void
TestEnvInit(TestEnv *t, size_t max_bytes)
{
	memset(t, 0, sizeof(*t));
	t->env.alloc = t_alloc;
	t->env.realloc = t_realloc;
	t->env.free = t_free;
	t->env.interrupted = t_interrupted;
	t->env.ctx = t;
	t->env.max_bytes = max_bytes;
	t->interrupt_after = -1;
}

void
TestEnvReset(TestEnv *t)
{
	for (size_t i = 0; i < t->nblocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	t->blocks = NULL;
	t->nblocks = t->cap = 0;
	t->env.used_bytes = 0;
	t->checks = 0;
}
