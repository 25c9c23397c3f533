/*
 * corebench.c
 *		The apriori core alone, without a server: each algorithm on the same
 *		baskets as bench/apriori (log-uniform "Zipf-like" popularity over
 *		500 products, 1 + U{0..16} draws a basket, repeats dropped), timing
 *		the reading (AprioriAdd), the mining and the rules, with the peak of
 *		the core's memory. Used to choose APRIORI_ALGO_AUTO. Times are CPU
 *		seconds of this process (the item texts are formatted inside the
 *		add_s figure, as the server formats them).
 *
 *	  corebench [baskets [products [algorithm [shuffled]]]]
 *		(algorithm: 1, 2, 3; 0 all; shuffled 1: the rows in random order)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mining/apriori.h"

static size_t peak;
static MiningEnv *the_env;

static void *
b_alloc(void *ctx, size_t size)
{
	if (the_env->used_bytes + size > peak)
		peak = the_env->used_bytes + size;
	return malloc(size);
}

static void *
b_realloc(void *ctx, void *p, size_t size)
{
	if (the_env->used_bytes + size > peak)
		peak = the_env->used_bytes + size;
	return realloc(p, size);
}

static void
b_free(void *ctx, void *p)
{
	free(p);
}

static double
now(void)
{
	struct timespec ts;

	/* CPU time of this process: steadier than wall time on a shared machine */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 12345;

static double
rnd01(void)
{
	uint64_t	z = (rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return ((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
}

int
main(int argc, char **argv)
{
	long		nbaskets = argc > 1 ? atol(argv[1]) : 1000000;
	int			nproducts = argc > 2 ? atoi(argv[2]) : 500;
	static const double supports[] = {0.01, 0.001};
	static const char *const names[] = {"auto", "levelwise", "depthfirst", "eclat"};
	uint32_t   *rows_t,
			   *rows_i;
	long		nrows = 0,
				cap = nbaskets * 18,
				b;
	int			s,
				algo,
				only_algo = argc > 3 ? atoi(argv[3]) : 0,
				shuffled = argc > 4 ? atoi(argv[4]) : 0;

	rows_t = malloc(cap * sizeof(uint32_t));
	rows_i = malloc(cap * sizeof(uint32_t));
	for (b = 0; b < nbaskets; b++)
	{
		int			k = 1 + (int) floor(rnd01() * 17),
					seen[20],
					n = 0,
					j;

		for (j = 0; j < k; j++)
		{
			int			item = (int) floor(exp(rnd01() * log(nproducts + 1.0))),
						q,
						dup = 0;

			for (q = 0; q < n; q++)
				dup |= seen[q] == item;
			if (dup)
				continue;
			seen[n++] = item;
			rows_t[nrows] = (uint32_t) b;
			rows_i[nrows++] = (uint32_t) item;
		}
	}
	if (shuffled)
	{
		long		r;

		for (r = nrows - 1; r > 0; r--)
		{
			long		j = (long) (rnd01() * (r + 1));
			uint32_t	x;

			x = rows_t[r], rows_t[r] = rows_t[j], rows_t[j] = x;
			x = rows_i[r], rows_i[r] = rows_i[j], rows_i[j] = x;
		}
	}
	printf("%ld baskets, %ld rows (%.2f items a basket), %d products%s\n",
		   nbaskets, nrows, (double) nrows / nbaskets, nproducts, shuffled ? ", rows shuffled" : "");
	printf("%-10s %-8s %8s %8s %8s %8s %10s %10s\n", "algorithm", "support", "add_s", "mine_s",
		   "rules_s", "itemsets", "rules", "peak_MB");
	for (s = 0; s < 2; s++)
		for (algo = 1; algo <= 3; algo++)
		{
			MiningEnv	env;
			MiningError err;
			AprioriOptions o;
			Apriori    *a;
			double		t0,
						t1,
						t2,
						t3;
			long		r;

			if (only_algo > 0 && algo != only_algo)
				continue;
			memset(&env, 0, sizeof(env));
			env.alloc = b_alloc;
			env.realloc = b_realloc;
			env.free = b_free;
			the_env = &env;
			peak = 0;
			memset(&o, 0, sizeof(o));
			o.min_support = supports[s];
			o.min_confidence = 0.5;
			o.max_length = 4;
			o.max_itemsets = APRIORI_DEFAULT_MAX_ITEMSETS;
			o.algorithm = (AprioriAlgorithm) algo;
			a = AprioriCreate(&env, &o, &err);
			t0 = now();
			for (r = 0; r < nrows; r++)
			{
				/* keys as apriori_pg.c makes them of an integer: big-endian */
				char		key[8] = {(char) 0x80, 0, 0, 0,
					(char) (rows_t[r] >> 24), (char) (rows_t[r] >> 16),
				(char) (rows_t[r] >> 8), (char) rows_t[r]};
				char		buf[16];
				int			len = snprintf(buf, sizeof(buf), "%u", rows_i[r]);

				if (!AprioriAdd(a, key, sizeof(key), buf, (size_t) len, &err))
				{
					fprintf(stderr, "add: %s\n", err.message);
					return 1;
				}
			}
			t1 = now();
			if (!AprioriMine(a, &err))
			{
				fprintf(stderr, "mine: %s\n", err.message);
				return 1;
			}
			t2 = now();
			if (!AprioriMakeRules(a, &err))
			{
				fprintf(stderr, "rules: %s\n", err.message);
				return 1;
			}
			t3 = now();
			printf("%-10s %-8g %8.3f %8.3f %8.3f %8zu %10zu %10.1f\n", names[algo], supports[s],
				   t1 - t0, t2 - t1, t3 - t2, AprioriItemsetCount(a), AprioriRuleCount(a),
				   peak / 1048576.0);
			fflush(stdout);
			AprioriDestroy(a);
		}
	free(rows_t);
	free(rows_i);
	return 0;
}
