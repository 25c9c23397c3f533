/*
 * test_apriori.c
 *		Unit tests of the apriori core (src/mining/apriori.c), without a
 *		server: a hand-checked textbook example, a brute-force counter as the
 *		oracle on random data (every itemset and every rule), input quirks
 *		(repeats, NULL items, scattered transactions), bad arguments, the
 *		output limit, the memory budget, cancellation, and that everything
 *		allocated is given back. Built with ASan and UBSan by the Makefile.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mining/apriori.h"

static int	failures = 0;
static int	checks = 0;

#define CHECK(cond, ...) \
	do { \
		checks++; \
		if (!(cond)) \
		{ \
			failures++; \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n"); \
		} \
	} while (0)

/* ---- the environment: malloc with a budget, a countdown to "cancel" ---- */
typedef struct TestCtx
{
	long		calls_left;		/* interrupted() answers true at 0; < 0: never */
	size_t		live_blocks;
} TestCtx;

static void *
t_alloc(void *ctx, size_t size)
{
	void	   *p = malloc(size);

	if (p != NULL)
		((TestCtx *) ctx)->live_blocks++;
	return p;
}

static void
t_free(void *ctx, void *p)
{
	((TestCtx *) ctx)->live_blocks--;
	free(p);
}

static void *
t_realloc(void *ctx, void *p, size_t size)
{
	return realloc(p, size);
}

/* odd cases: MiningRealloc copies through alloc and free instead */
static bool use_realloc = true;

static bool
t_interrupted(void *ctx)
{
	TestCtx    *c = ctx;

	if (c->calls_left < 0)
		return false;
	if (c->calls_left == 0)
		return true;
	c->calls_left--;
	return false;
}

static void
env_init(MiningEnv *env, TestCtx *ctx, size_t max_bytes)
{
	ctx->calls_left = -1;
	ctx->live_blocks = 0;
	env->alloc = t_alloc;
	env->free = t_free;
	env->realloc = use_realloc ? t_realloc : NULL;
	env->interrupted = t_interrupted;
	env->ctx = ctx;
	env->max_bytes = max_bytes;
	env->used_bytes = 0;
}

/* the algorithm every case runs with (main runs them all with each) */
static AprioriAlgorithm test_algorithm = APRIORI_ALGO_LEVELWISE;

static AprioriOptions
opts(double sup, double conf, int maxlen)
{
	AprioriOptions o;

	o.min_support = sup;
	o.min_confidence = conf;
	o.min_lift = 0;
	o.max_length = maxlen;
	o.max_itemsets = APRIORI_DEFAULT_MAX_ITEMSETS;
	o.algorithm = test_algorithm;
	return o;
}

static bool
add(Apriori *a, const char *tid, const char *item, MiningError *err)
{
	return AprioriAdd(a, tid, strlen(tid), item, item ? strlen(item) : 0, err);
}

/* An itemset or rule side as "a,b,c" */
static void
join(char *buf, size_t size, const char **items, const size_t *lens, int n)
{
	size_t		pos = 0;
	int			i;

	buf[0] = '\0';
	for (i = 0; i < n; i++)
		pos += snprintf(buf + pos, size - pos, "%s%.*s", i ? "," : "", (int) lens[i], items[i]);
}

/* ---- 1. the textbook example ----
 * J. Han, M. Kamber, J. Pei, Data Mining: Concepts and Techniques, 3rd ed.
 * (2012), section 6.2.1, Table 6.1 (AllElectronics, nine transactions) and
 * Figure 6.2 (the frequent itemsets at min_sup count 2), Example 6.4 (the
 * rules from {I1, I2, I5}). Counted again by hand for this test:
 *   L1: I1 6, I2 7, I3 6, I4 2, I5 2
 *   L2: I1,I2 4; I1,I3 4; I1,I5 2; I2,I3 4; I2,I4 2; I2,I5 2
 *   L3: I1,I2,I3 2; I1,I2,I5 2
 * Rules of {I1,I2,I5}: I1,I2->I5 2/4; I1,I5->I2 2/2; I2,I5->I1 2/2;
 * I1->I2,I5 2/6; I2->I1,I5 2/7; I5->I1,I2 2/2.
 */
static void
test_textbook(void)
{
	static const char *const db[9][4] = {
		{"I1", "I2", "I5"}, {"I2", "I4"}, {"I2", "I3"}, {"I1", "I2", "I4"}, {"I1", "I3"},
		{"I2", "I3"}, {"I1", "I3"}, {"I1", "I2", "I3", "I5"}, {"I1", "I2", "I3"}};
	static const char *const want_sets[] = {
		"I1=6", "I2=7", "I3=6", "I4=2", "I5=2",
		"I1,I2=4", "I1,I3=4", "I1,I5=2", "I2,I3=4", "I2,I4=2", "I2,I5=2",
		"I1,I2,I3=2", "I1,I2,I5=2"};
	MiningEnv	env;
	TestCtx		ctx;
	MiningError err;
	AprioriOptions o = opts(2, 0, 4);
	Apriori    *a;
	size_t		i;
	int			t,
				found_rules = 0;

	env_init(&env, &ctx, 0);
	a = AprioriCreate(&env, &o, &err);
	CHECK(a != NULL, "create: %s", err.message);
	for (t = 0; t < 9; t++)
	{
		char		tid[32];
		int			j;

		snprintf(tid, sizeof(tid), "T%d00", t + 1);
		for (j = 0; j < 4 && db[t][j]; j++)
			CHECK(add(a, tid, db[t][j], &err), "add");
	}
	CHECK(AprioriMine(a, &err), "mine: %s", err.message);
	CHECK(AprioriTransactions(a) == 9, "N");
	CHECK(AprioriMinCount(a) == 2, "min count");
	CHECK(AprioriItemsetCount(a) == 13, "13 itemsets, got %zu", AprioriItemsetCount(a));
	for (i = 0; i < AprioriItemsetCount(a) && i < 13; i++)
	{
		const char *items[8];
		size_t		lens[8];
		uint64_t	count;
		char		buf[128],
					got[160];
		int			n = AprioriItemset(a, i, items, lens, &count);

		join(buf, sizeof(buf), items, lens, n);
		snprintf(got, sizeof(got), "%s=%llu", buf, (unsigned long long) count);
		CHECK(strcmp(got, want_sets[i]) == 0, "itemset %zu: got %s want %s", i, got, want_sets[i]);
	}
	CHECK(AprioriMakeRules(a, &err), "rules: %s", err.message);
	for (i = 0; i < AprioriRuleCount(a); i++)
	{
		AprioriRuleOut r;
		const char *an[8],
				   *co[8];
		size_t		al[8],
					cl[8];
		char		x[64],
					y[64];

		AprioriRule(a, i, &r, an, al, co, cl);
		join(x, sizeof(x), an, al, r.nante);
		join(y, sizeof(y), co, cl, r.ncons);
		if (r.nante + r.ncons != 3 || strcmp(x, "I3") == 0 || strcmp(y, "I3") == 0 ||
			strstr(x, "I3") || strstr(y, "I3"))
			continue;
		found_rules++;
		CHECK(r.count == 2, "count");
		if (strcmp(x, "I1,I2") == 0)
			CHECK(strcmp(y, "I5") == 0 && fabs(r.confidence - 0.5) < 1e-15 &&
				  fabs(r.lift - 0.5 / (2.0 / 9)) < 1e-12, "I1,I2->I5");
		else if (strcmp(x, "I1") == 0)
			CHECK(strcmp(y, "I2,I5") == 0 && fabs(r.confidence - 2.0 / 6) < 1e-15, "I1->I2,I5");
		else if (strcmp(x, "I2") == 0)
			CHECK(strcmp(y, "I1,I5") == 0 && fabs(r.confidence - 2.0 / 7) < 1e-15, "I2->I1,I5");
		else
			CHECK(fabs(r.confidence - 1.0) < 1e-15, "%s->%s conf %g", x, y, r.confidence);
		CHECK(fabs(r.support - 2.0 / 9) < 1e-15, "support");
	}
	CHECK(found_rules == 6, "six rules of {I1,I2,I5}, got %d", found_rules);
	/* total rules at min_confidence 0: 6 pairs x 2 + 2 triples x 6 = 24 */
	CHECK(AprioriRuleCount(a) == 24, "24 rules, got %zu", AprioriRuleCount(a));
	AprioriDestroy(a);
	CHECK(ctx.live_blocks == 0 && env.used_bytes == 0, "leak: %zu blocks %zu bytes", ctx.live_blocks, env.used_bytes);

	/* min_confidence 0.7 keeps Example 6.4's three strong rules of {I1,I2,I5} */
	env_init(&env, &ctx, 0);
	o = opts(2.0 / 9, 0.7, 3);	/* the same threshold as a fraction */
	a = AprioriCreate(&env, &o, &err);
	for (t = 0; t < 9; t++)
	{
		char		tid[32];
		int			j;

		snprintf(tid, sizeof(tid), "T%d00", t + 1);
		for (j = 0; j < 4 && db[t][j]; j++)
			add(a, tid, db[t][j], &err);
	}
	CHECK(AprioriMine(a, &err) && AprioriMinCount(a) == 2, "fraction 2/9 -> count 2");
	CHECK(AprioriMakeRules(a, &err), "rules");
	found_rules = 0;
	for (i = 0; i < AprioriRuleCount(a); i++)
	{
		AprioriRuleOut r;
		const char *an[8],
				   *co[8];
		size_t		al[8],
					cl[8];
		char		x[64],
					y[64];

		AprioriRule(a, i, &r, an, al, co, cl);
		join(x, sizeof(x), an, al, r.nante);
		join(y, sizeof(y), co, cl, r.ncons);
		if ((strcmp(x, "I1,I5") == 0 && strcmp(y, "I2") == 0) ||
			(strcmp(x, "I2,I5") == 0 && strcmp(y, "I1") == 0) ||
			(strcmp(x, "I5") == 0 && strcmp(y, "I1,I2") == 0))
			found_rules++;
		CHECK(r.confidence >= 0.7, "confidence filter");
	}
	CHECK(found_rules == 3, "three strong rules, got %d", found_rules);
	AprioriDestroy(a);
	CHECK(ctx.live_blocks == 0, "leak");
}

/* ---- 2. random data against a brute-force counter ---- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double
rnd01(void)
{
	return (rnd() >> 11) * (1.0 / 9007199254740992.0);
}

#define MAXI 64

/* the index of an item text in names[] */
static int
item_index(char names[][32], int nitems, const char *s, size_t len)
{
	int			i;

	for (i = 0; i < nitems; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	return -1;
}

static int
popcount64(uint64_t x)
{
	int			n = 0;

	while (x)
	{
		x &= x - 1;
		n++;
	}
	return n;
}

/* transactions holding every item of mask */
static uint64_t
brute_count(const uint64_t *tx, int ntx, uint64_t mask)
{
	uint64_t	c = 0;
	int			t;

	for (t = 0; t < ntx; t++)
		c += (tx[t] & mask) == mask;
	return c;
}

/* the itemset of texts as a mask */
static uint64_t
to_mask(char names[][32], int nitems, const char **items, const size_t *lens, int n, bool *sorted)
{
	uint64_t	m = 0;
	int			i;

	*sorted = true;
	for (i = 0; i < n; i++)
	{
		int			k = item_index(names, nitems, items[i], lens[i]);

		if (k < 0)
			return 0;
		m |= UINT64_C(1) << k;
		if (i > 0)
		{
			size_t		l = lens[i - 1] < lens[i] ? lens[i - 1] : lens[i];
			int			c = memcmp(items[i - 1], items[i], l);

			if (c > 0 || (c == 0 && lens[i - 1] >= lens[i]))
				*sorted = false;
		}
	}
	return m;
}

/*
 * One random case: ntx transactions over nitems items, written as rows in
 * random order (so transactions are scattered), with repeated rows and
 * NULL items. full: every itemset up to max_length is enumerated (nitems
 * small); otherwise itemsets up to 3 items.
 */
static void
random_case(int seed, int ntx, int nitems, double density, bool full)
{
	static char names[MAXI][32];
	uint64_t   *tx = calloc(ntx, sizeof(uint64_t));
	int			nrows = 0,
				caprows = ntx * (nitems + 4) + 16,
				t,
				i;
	int		   *rt = malloc(caprows * sizeof(int));
	int		   *ri = malloc(caprows * sizeof(int));
	MiningEnv	env;
	TestCtx		ctx;
	MiningError err;
	AprioriOptions o;
	Apriori    *a;
	uint64_t	minc,
				n_itemsets = 0,
				n_rules = 0;
	size_t		s;
	int			maxlen;

	rng_state = (uint64_t) seed * 7919 + 17;
	for (i = 0; i < nitems; i++)
	{
		/* names whose byte order differs from their index: "b", "ab", "a1" */
		static const char *const stems[] = {"b", "ab", "a", "zz", "A", "é"};

		snprintf(names[i], sizeof(names[i]), "%s%d", stems[i % 6], (int) (rnd() % 50));
		/* keep them distinct */
		for (t = 0; t < i; t++)
			if (strcmp(names[t], names[i]) == 0)
			{
				snprintf(names[i], sizeof(names[i]), "%s%d", stems[i % 6], 50 + i);
				break;
			}
	}
	/* popularity: a few common items, a tail */
	for (t = 0; t < ntx; t++)
	{
		for (i = 0; i < nitems; i++)
		{
			double		p = density * (i < 3 ? 3.0 : 8.0 / (i + 2));

			if (rnd01() < p)
			{
				tx[t] |= UINT64_C(1) << i;
				rt[nrows] = t;
				ri[nrows++] = i;
				if (rnd01() < 0.1)	/* a repeated pair */
				{
					rt[nrows] = t;
					ri[nrows++] = i;
				}
			}
		}
		if (rnd01() < 0.1 || tx[t] == 0)	/* a NULL item; empty baskets too */
		{
			rt[nrows] = t;
			ri[nrows++] = -1;
		}
	}
	/* shuffle the rows, or keep them grouped, or half-grouped */
	if (seed % 3 != 0)
	{
		int			lim = seed % 3 == 1 ? nrows : nrows / 2;

		for (i = lim - 1; i > 0; i--)
		{
			int			j = (int) (rnd() % (uint64_t) (i + 1)),
						x;

			x = rt[i], rt[i] = rt[j], rt[j] = x;
			x = ri[i], ri[i] = ri[j], ri[j] = x;
		}
	}

	/* options: support as a fraction or a count */
	maxlen = 1 + (int) (rnd() % 5);
	if (seed % 2 == 0)
		o = opts(0.02 + rnd01() * 0.2, rnd01() * 0.9, maxlen);
	else
		o = opts(1 + (double) (rnd() % (ntx / 5 + 1)), rnd01() * 0.9, maxlen);
	o.min_lift = (seed % 4 == 0) ? 0 : (seed % 4 == 1 ? 1.0 : 0.8 + rnd01());
	if (!full && maxlen > 3)
		o.max_length = maxlen = 3;

	/* the oracle's threshold: count / N >= s, in double */
	if (o.min_support >= 1)
		minc = (uint64_t) ceil(o.min_support);
	else
		for (minc = 1; (double) minc / ntx < o.min_support; minc++)
			;

	env_init(&env, &ctx, 0);
	a = AprioriCreate(&env, &o, &err);
	CHECK(a != NULL, "create");
	for (i = 0; i < nrows; i++)
	{
		char		tid[32];

		/* zero-padded: grouped rows then come in ascending key order */
		snprintf(tid, sizeof(tid), seed % 2 ? "t%d" : "t%06d", rt[i]);
		CHECK(AprioriAdd(a, tid, strlen(tid), ri[i] < 0 ? NULL : names[ri[i]],
						 ri[i] < 0 ? 0 : strlen(names[ri[i]]), &err), "add");
	}
	CHECK(AprioriMine(a, &err), "seed %d mine: %s", seed, err.message);
	CHECK(AprioriTransactions(a) == (uint64_t) ntx, "seed %d: N %llu want %d", seed,
		  (unsigned long long) AprioriTransactions(a), ntx);
	CHECK(AprioriMinCount(a) == minc, "seed %d: min count %llu want %llu", seed,
		  (unsigned long long) AprioriMinCount(a), (unsigned long long) minc);

	/* every itemset returned is right, sorted, and in order */
	{
		uint64_t	prevmask = 0;
		int			prevlen = 0;

		for (s = 0; s < AprioriItemsetCount(a); s++)
		{
			const char *items[64];
			size_t		lens[64];
			uint64_t	count,
						m;
			bool		sorted;
			int			n = AprioriItemset(a, s, items, lens, &count);

			m = to_mask(names, nitems, items, lens, n, &sorted);
			CHECK(m != 0 && popcount64(m) == n, "seed %d: itemset %zu items", seed, s);
			CHECK(sorted, "seed %d: itemset %zu not sorted", seed, s);
			CHECK(n >= prevlen, "seed %d: order by length", seed);
			CHECK(m != prevmask, "seed %d: duplicate itemset", seed);
			CHECK(n <= maxlen, "seed %d: longer than max_length", seed);
			CHECK(count == brute_count(tx, ntx, m), "seed %d: itemset %zu count %llu want %llu",
				  seed, s, (unsigned long long) count, (unsigned long long) brute_count(tx, ntx, m));
			CHECK(count >= minc, "seed %d: infrequent itemset returned", seed);
			prevmask = m;
			prevlen = n;
		}
	}
	/* and none is missing: count the frequent itemsets by brute force */
	{
		uint64_t	m;

		if (full)
		{
			for (m = 1; m < (UINT64_C(1) << nitems); m++)
				if (popcount64(m) <= maxlen && brute_count(tx, ntx, m) >= minc)
					n_itemsets++;
		}
		else
		{
			int			x,
						y,
						z;

			for (x = 0; x < nitems; x++)
			{
				uint64_t	mx = UINT64_C(1) << x;

				if (brute_count(tx, ntx, mx) < minc)
					continue;
				n_itemsets++;
				for (y = x + 1; y < nitems && maxlen >= 2; y++)
				{
					uint64_t	my = mx | UINT64_C(1) << y;

					if (brute_count(tx, ntx, my) < minc)
						continue;
					n_itemsets++;
					for (z = y + 1; z < nitems && maxlen >= 3; z++)
						n_itemsets += brute_count(tx, ntx, my | UINT64_C(1) << z) >= minc;
				}
			}
		}
		CHECK(n_itemsets == AprioriItemsetCount(a), "seed %d: %zu itemsets, brute force %llu",
			  seed, AprioriItemsetCount(a), (unsigned long long) n_itemsets);
	}

	/* rules: each right, and as many as brute force finds */
	CHECK(AprioriMakeRules(a, &err), "seed %d rules: %s", seed, err.message);
	for (s = 0; s < AprioriRuleCount(a); s++)
	{
		AprioriRuleOut r;
		const char *an[64],
				   *co[64];
		size_t		al[64],
					cl[64];
		bool		s1,
					s2;
		uint64_t	mx,
					my,
					cz,
					cx,
					cy;
		double		conf,
					lift;

		AprioriRule(a, s, &r, an, al, co, cl);
		mx = to_mask(names, nitems, an, al, r.nante, &s1);
		my = to_mask(names, nitems, co, cl, r.ncons, &s2);
		CHECK(mx && my && (mx & my) == 0 && s1 && s2, "seed %d: rule %zu sides", seed, s);
		cz = brute_count(tx, ntx, mx | my);
		cx = brute_count(tx, ntx, mx);
		cy = brute_count(tx, ntx, my);
		conf = (double) cz / cx;
		lift = conf / ((double) cy / ntx);
		CHECK(r.count == cz && cz >= minc, "seed %d: rule count", seed);
		CHECK(fabs(r.support - (double) cz / ntx) <= 1e-15, "seed %d: support", seed);
		CHECK(fabs(r.confidence - conf) <= 1e-15 && conf >= o.min_confidence, "seed %d: confidence", seed);
		CHECK(fabs(r.lift - lift) <= 1e-12 * lift && lift >= o.min_lift, "seed %d: lift", seed);
	}
	if (full)
	{
		uint64_t	m;

		for (m = 1; m < (UINT64_C(1) << nitems); m++)
		{
			uint64_t	cz,
						x;

			if (popcount64(m) < 2 || popcount64(m) > maxlen || (cz = brute_count(tx, ntx, m)) < minc)
				continue;
			/* every non-empty proper subset x of m as antecedent */
			for (x = (m - 1) & m; x != 0; x = (x - 1) & m)
			{
				double		conf = (double) cz / brute_count(tx, ntx, x);
				double		lift = conf / ((double) brute_count(tx, ntx, m & ~x) / ntx);

				if (conf >= o.min_confidence && lift >= o.min_lift)
					n_rules++;
			}
		}
		CHECK(n_rules == AprioriRuleCount(a), "seed %d: %zu rules, brute force %llu", seed,
			  AprioriRuleCount(a), (unsigned long long) n_rules);
	}
	AprioriDestroy(a);
	CHECK(ctx.live_blocks == 0 && env.used_bytes == 0, "seed %d: leak", seed);
	free(tx);
	free(rt);
	free(ri);
}

/* ---- 3. errors, limits, cancel ---- */

static void
test_errors(void)
{
	MiningEnv	env;
	TestCtx		ctx;
	MiningError err;
	AprioriOptions o;
	Apriori    *a;
	int			i,
				t;
	static const double bad_support[] = {0, -0.5, NAN, INFINITY};

	env_init(&env, &ctx, 0);
	for (i = 0; i < 4; i++)
	{
		o = opts(bad_support[i], 0.5, 4);
		CHECK(AprioriCreate(&env, &o, &err) == NULL && err.code == MINING_ERR_ARGUMENT &&
			  strstr(err.message, "min_support"), "support %g: %s", bad_support[i], err.message);
	}
	o = opts(0.1, 1.5, 4);
	CHECK(AprioriCreate(&env, &o, &err) == NULL && strstr(err.message, "min_confidence"), "conf 1.5");
	o = opts(0.1, NAN, 4);
	CHECK(AprioriCreate(&env, &o, &err) == NULL && strstr(err.message, "min_confidence"), "conf NaN");
	o = opts(0.1, -0.1, 4);
	CHECK(AprioriCreate(&env, &o, &err) == NULL && strstr(err.message, "min_confidence"), "conf < 0");
	o = opts(0.1, 0.5, 0);
	CHECK(AprioriCreate(&env, &o, &err) == NULL && strstr(err.message, "max_length"), "max_length 0");
	o = opts(0.1, 0.5, 4);
	o.min_lift = -1;
	CHECK(AprioriCreate(&env, &o, &err) == NULL && strstr(err.message, "min_lift"), "lift -1");
	o = opts(0.1, 0.5, 4);
	o.max_itemsets = 0;
	CHECK(AprioriCreate(&env, &o, &err) == NULL && strstr(err.message, "max_itemsets"), "max_itemsets 0");
	CHECK(ctx.live_blocks == 0, "leak after bad arguments");

	/* empty input */
	o = opts(0.1, 0.5, 4);
	a = AprioriCreate(&env, &o, &err);
	CHECK(!AprioriMine(a, &err) && err.code == MINING_ERR_DATA && strstr(err.message, "no rows"), "empty: %s", err.message);
	AprioriDestroy(a);

	/* only NULL items: N counts them, nothing is frequent */
	a = AprioriCreate(&env, &o, &err);
	add(a, "1", NULL, &err);
	add(a, "2", NULL, &err);
	CHECK(AprioriMine(a, &err) && AprioriTransactions(a) == 2 && AprioriItemsetCount(a) == 0, "NULL items");
	CHECK(AprioriMakeRules(a, &err) && AprioriRuleCount(a) == 0, "no rules");
	AprioriDestroy(a);

	/* a threshold above N: nothing, no error */
	o = opts(5, 0.5, 4);
	a = AprioriCreate(&env, &o, &err);
	add(a, "1", "x", &err);
	CHECK(AprioriMine(a, &err) && AprioriItemsetCount(a) == 0, "count above N");
	AprioriDestroy(a);

	/* max_length beyond 64 is accepted (capped) */
	o = opts(1, 0.5, 1000);
	a = AprioriCreate(&env, &o, &err);
	CHECK(a != NULL, "max_length 1000");
	add(a, "1", "x", &err);
	add(a, "1", "y", &err);
	CHECK(AprioriMine(a, &err) && AprioriItemsetCount(a) == 3, "x, y, xy");
	AprioriDestroy(a);
	CHECK(ctx.live_blocks == 0, "leak");

	/* the output limit: 20 items always together = 2^20 - 1 itemsets */
	o = opts(1, 0.5, 64);
	o.max_itemsets = 5000;
	a = AprioriCreate(&env, &o, &err);
	for (t = 0; t < 3; t++)
		for (i = 0; i < 20; i++)
		{
			char		tid[32],
						item[32];

			snprintf(tid, sizeof(tid), "%d", t);
			snprintf(item, sizeof(item), "p%02d", i);
			add(a, tid, item, &err);
		}
	CHECK(!AprioriMine(a, &err) && err.code == MINING_ERR_LIMIT &&
		  strstr(err.message, "more than 5000 frequent itemsets") &&
		  strstr(err.detail, "stopped at") && strstr(err.hint, "max_itemsets"),
		  "limit: %s / %s / %s", err.message, err.detail, err.hint);
	fprintf(stderr, "  output limit: %s\n  DETAIL: %s\n  HINT: %s\n", err.message, err.detail, err.hint);
	AprioriDestroy(a);
	CHECK(ctx.live_blocks == 0 && env.used_bytes == 0, "leak after limit");

	/* the rule limit */
	o = opts(1, 0, 3);
	o.max_itemsets = 100;
	a = AprioriCreate(&env, &o, &err);
	for (i = 0; i < 8; i++)
	{
		char		item[32];

		snprintf(item, sizeof(item), "p%d", i);
		add(a, "1", item, &err);
	}
	/* 8 + 28 + 56 = 92 itemsets fit, 28*2 + 56*6 rules do not */
	CHECK(AprioriMine(a, &err) && AprioriItemsetCount(a) == 92, "92 itemsets");
	CHECK(!AprioriMakeRules(a, &err) && err.code == MINING_ERR_LIMIT && strstr(err.message, "rules"), "rule limit");
	AprioriDestroy(a);

	/*
	 * The memory budget, at every size from tiny to enough (1 kB steps):
	 * fails cleanly, or gives the same result as without a budget (the
	 * budgets where Eclat's bit vectors do not fit run the level-wise
	 * search instead).
	 */
	{
		size_t		ref_sets = 0,
					ref_rules = 0;
		int			budget;

		for (budget = 0; budget < 1200; budget += (budget == 0 ? 4 : 1))
		{
			bool		ok = true;
			int			r;

			env_init(&env, &ctx, (size_t) budget * 1024);
			o = opts(12, 0.1, 4);
			a = AprioriCreate(&env, &o, &err);
			for (r = 0; a != NULL && r < 6000 && ok; r++)
			{
				char		tid[32],
							item[32];

				snprintf(tid, sizeof(tid), "ticket-%d", r / 8);
				snprintf(item, sizeof(item), "product-%d", (int) ((unsigned) (r * 2654435761u) >> 27));
				ok = add(a, tid, item, &err);
			}
			if (ok && a != NULL)
				ok = AprioriMine(a, &err) && AprioriMakeRules(a, &err);
			CHECK(ok || err.code == MINING_ERR_LIMIT, "budget %d kB: %s", budget, err.message);
			CHECK(env.max_bytes == 0 || env.used_bytes <= env.max_bytes, "over budget");
			if (ok && budget == 0)
			{
				ref_sets = AprioriItemsetCount(a);
				ref_rules = AprioriRuleCount(a);
				CHECK(ref_sets > 100, "a case with itemsets: %zu", ref_sets);
			}
			else if (ok)
				CHECK(AprioriItemsetCount(a) == ref_sets && AprioriRuleCount(a) == ref_rules,
					  "budget %d kB: %zu itemsets, %zu without a budget", budget,
					  AprioriItemsetCount(a), ref_sets);
			AprioriDestroy(a);
			CHECK(ctx.live_blocks == 0 && env.used_bytes == 0, "budget %d: leak", budget);
		}
	}

	/*
	 * Eclat's bit vectors (400 items x 50,000 baskets: 2.5 MB) not fitting
	 * in what the budget leaves after reading: the level-wise search runs
	 * instead, with the same result.
	 */
	if (test_algorithm == APRIORI_ALGO_AUTO)
	{
		size_t		ref_sets = 0;
		int			budget,
					fallbacks = 0,
					eclats = 0;

		for (budget = 0; budget <= 6144; budget += (budget == 0 ? 2048 : 64))
		{
			bool		ok = true;
			int			t;

			env_init(&env, &ctx, (size_t) budget * 1024);
			o = opts(5, 0.1, 3);
			a = AprioriCreate(&env, &o, &err);
			for (t = 0; t < 50000 && ok; t++)
			{
				char		tid[32],
							item[32];
				int			j;

				snprintf(tid, sizeof(tid), "%08d", t);
				for (j = 0; j < 3 && ok; j++)
				{
					snprintf(item, sizeof(item), "p%d", (t + j) % 400);
					ok = add(a, tid, item, &err);
				}
			}
			ok = ok && AprioriMine(a, &err);
			CHECK(ok || err.code == MINING_ERR_LIMIT, "budget %d kB: %s", budget, err.message);
			if (ok && budget == 0)
				ref_sets = AprioriItemsetCount(a);
			else if (ok)
			{
				CHECK(AprioriItemsetCount(a) == ref_sets, "budget %d kB: %zu itemsets, %zu without a budget",
					  budget, AprioriItemsetCount(a), ref_sets);
				fallbacks += AprioriAlgorithmUsed(a) == APRIORI_ALGO_LEVELWISE;
				eclats += AprioriAlgorithmUsed(a) == APRIORI_ALGO_ECLAT;
			}
			AprioriDestroy(a);
			CHECK(ctx.live_blocks == 0, "leak");
		}
		CHECK(ref_sets == 400 + 800 + 400, "itemsets of the ring: %zu", ref_sets);
		CHECK(fallbacks > 0 && eclats > 0, "budgets with and without room for the bit vectors: %d, %d",
			  fallbacks, eclats);
	}

	/* cancel at every point of a run */
	for (i = 0; i < 40; i++)
	{
		bool		ok = true;
		int			r;

		env_init(&env, &ctx, 0);
		o = opts(3, 0.1, 4);
		a = AprioriCreate(&env, &o, &err);
		for (r = 0; r < 60000; r++)
		{
			char		tid[32],
						item[32];

			snprintf(tid, sizeof(tid), "%d", (r * 31) % 12000);
			snprintf(item, sizeof(item), "p%d", (int) ((unsigned) (r * 2654435761u) % 40));
			add(a, tid, item, &err);
		}
		ctx.calls_left = i;
		ok = AprioriMine(a, &err) && AprioriMakeRules(a, &err);
		CHECK(ok || err.code == MINING_ERR_CANCELED, "cancel %d: %s", i, err.message);
		AprioriDestroy(a);
		CHECK(ctx.live_blocks == 0 && env.used_bytes == 0, "cancel %d: leak", i);
	}
}

int
main(int argc, char **argv)
{
	int			seed,
				nseeds = argc > 1 ? atoi(argv[1]) : 300,
				algo;
	static const AprioriAlgorithm algos[] = {APRIORI_ALGO_LEVELWISE, APRIORI_ALGO_DEPTHFIRST, APRIORI_ALGO_ECLAT, APRIORI_ALGO_AUTO};

	for (algo = 0; algo < 4; algo++)
	{
		test_algorithm = algos[algo];
		fprintf(stderr, "algorithm %d\n", (int) test_algorithm);
		test_textbook();
		test_errors();
		for (seed = 1; seed <= nseeds; seed++)
		{
			use_realloc = seed % 2 == 0;
			/* small catalogues, every itemset; larger ones, up to triples */
			random_case(seed, 20 + (int) (seed * 37 % 200), 4 + seed % 11, 0.15 + (seed % 5) * 0.05, true);
			if (seed % 10 == 0)
				random_case(seed, 500 + seed * 3, 40 + seed % 24, 0.08, false);
		}
	}
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures > 0;
}
