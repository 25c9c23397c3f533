/*
 * testenv.h
 *		A MiningEnv on malloc for the unit tests: every block is tracked and
 *		freed by TestEnvReset (as the backend's memory context is), an
 *		interrupt after a given number of checks, and a tiny test harness.
 */
#ifndef TESTENV_H
#define TESTENV_H

#include <stdio.h>

#include "mining/mining.h"

typedef struct TestEnv
{
	MiningEnv	env;
	long		checks;			/* interrupt checks so far */
	long		interrupt_after;	/* -1: never */
	size_t		nblocks;		/* live blocks */
	void	  **blocks;
	size_t		cap;
} TestEnv;

extern void TestEnvInit(TestEnv *t, size_t max_bytes);
extern void TestEnvReset(TestEnv *t);	/* free every live block */

extern int	test_failures;
extern int	test_passes;

#define CHECK(cond, ...) \
	do { \
		if (cond) test_passes++; \
		else { test_failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
	} while (0)

#endif							/* TESTENV_H */
