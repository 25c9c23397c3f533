/*
 * apriori.c
 *		Frequent itemsets and association rules (see apriori.h). No backend
 *		headers: memory comes from the MiningEnv (budgeted, never throws) and
 *		every loop the input can make long asks MiningInterrupted.
 *
 * How it works, and why this way (docs/mining.md has the measurements):
 *
 *	1. Reading. Transaction keys and item texts are interned in two hash
 *	   tables (dense ids). Rows are kept as one uint32 item id each, with a
 *	   "run" per change of transaction key; a key equal to the previous
 *	   row's skips the hash lookup, so input grouped by transaction (the
 *	   usual case: tickets are written line by line) costs one memcmp a row.
 *	2. Baskets. The runs are gathered per transaction (a counting sort, only
 *	   when a transaction came in several runs), each basket is sorted and
 *	   deduplicated (a repeated pair counts once), item supports counted, and
 *	   the transaction keys freed: they are not needed past this point.
 *	3. Frequent items are recoded 0..m-1 by descending support; baskets keep
 *	   only frequent items, sorted by code.
 *	4. Pairs are counted directly in a triangular m x m array (one pass; on
 *	   retail baskets this is the bulk of the counting work, and a
 *	   candidate tree or tid-list intersections do the same work slower).
 *	5. Longer itemsets: Apriori level by level over a prefix tree (Agrawal &
 *	   Srikant's candidate generation with subset pruning, counting by a
 *	   recursive walk of each basket through the tree, as in C. Borgelt's
 *	   apriori). Before each pass, items in no candidate are dropped from the
 *	   baskets and baskets too short for a candidate are dropped.
 *	6. The tree holds every frequent itemset; rules look up the supports of
 *	   antecedent and consequent in it.
 *
 * The support threshold is an absolute count min_count: for a fraction s it
 * is the least c with (double) c / (double) N >= s, so an itemset is
 * frequent exactly when its support, computed as count / N in double, is at
 * least s (what a SQL query computing count(*)::float8 / n >= s would say).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mining/apriori.h"

/* interrupt checks every so many transactions / nodes */
#define APRIORI_CHECK_EVERY 16384

/* ---------------------------------------------------------------------------
 * An interning hash table: byte strings -> dense uint32 ids
 * ---------------------------------------------------------------------------
 */
typedef struct KeyEnt
{
	const char *key;
	uint32_t	len;
	uint32_t	hash;
} KeyEnt;

typedef struct KeyBlock
{
	struct KeyBlock *next;
	size_t		size;			/* bytes of data[] */
	size_t		used;
	char		data[];
} KeyBlock;

/*
 * A slot holds a key of up to 8 bytes itself, so that looking it up (an
 * integer transaction key among a million, in random order) touches one
 * cache line, not three.
 */
typedef struct KeySlot
{
	uint64_t	key8;			/* the key's bytes, zero-padded, if <= 8 */
	uint32_t	id1;			/* entry index + 1; 0: empty */
	uint32_t	tag;			/* hash with its low 4 bits replaced by the
								 * length (15: longer than 8) */
} KeySlot;

typedef struct KeyTab
{
	const char *what;			/* for memory errors */
	KeySlot    *slots;
	size_t		nslots;			/* a power of 2 */
	KeyEnt	   *ents;
	size_t		nents;
	size_t		capents;
	KeyBlock   *blocks;
} KeyTab;

/* A 32-bit hash of len bytes (multiply-mix over 8-byte words). */
static uint32_t
hash_bytes(const char *p, size_t len)
{
	uint64_t	h = 0x9E3779B97F4A7C15ULL ^ (uint64_t) len;

	while (len >= 8)
	{
		uint64_t	w;

		memcpy(&w, p, 8);
		h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
		h ^= h >> 31;
		p += 8;
		len -= 8;
	}
	if (len > 0)
	{
		uint64_t	w = 0;

		memcpy(&w, p, len);
		h = (h ^ w) * 0x94D049BB133111EBULL;
		h ^= h >> 29;
	}
	h *= 0xBF58476D1CE4E5B9ULL;
	return (uint32_t) (h >> 32);
}

/* Make room for one more element in an array of cap elements (doubling). */
static bool
reserve(MiningEnv *env, void **arr, size_t n, size_t *cap, size_t elsize,
		size_t initial, const char *what, MiningError *err)
{
	size_t		newcap;
	void	   *p;

	if (n < *cap)
		return true;
	newcap = *cap == 0 ? initial : *cap * 2;
	if (newcap < *cap)
		return MiningSetError(err, MINING_ERR_LIMIT, "%s would need more memory than can be addressed", what);
	p = MiningRealloc(env, *arr, *cap, newcap, elsize, what, err);
	if (p == NULL)
		return false;
	*arr = p;
	*cap = newcap;
	return true;
}

static void
keytab_init(KeyTab *t, const char *what)
{
	memset(t, 0, sizeof(*t));
	t->what = what;
}

static void
keytab_free(MiningEnv *env, KeyTab *t)
{
	KeyBlock   *b = t->blocks;

	while (b != NULL)
	{
		KeyBlock   *next = b->next;

		MiningFree(env, b, 1, sizeof(KeyBlock) + b->size);
		b = next;
	}
	MiningFree(env, t->slots, t->nslots, sizeof(KeySlot));
	MiningFree(env, t->ents, t->capents, sizeof(KeyEnt));
	keytab_init(t, t->what);
}

/* Copy len bytes into the table's arena. */
static const char *
keytab_store(MiningEnv *env, KeyTab *t, const char *key, size_t len, MiningError *err)
{
	KeyBlock   *b = t->blocks;
	char	   *p;

	if (b == NULL || b->size - b->used < len)
	{
		size_t		size = 256 * 1024;

		if (len > size)
			size = len;
		if (size > SIZE_MAX - sizeof(KeyBlock))
		{
			MiningSetError(err, MINING_ERR_LIMIT, "%s would need more memory than can be addressed", t->what);
			return NULL;
		}
		b = MiningAlloc(env, 1, sizeof(KeyBlock) + size, false, t->what, err);
		if (b == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = t->blocks;
		t->blocks = b;
	}
	p = b->data + b->used;
	if (len > 0)
		memcpy(p, key, len);
	b->used += len;
	return p;
}

/* A slot's tag and inline key for a key of len bytes hashing to h */
static inline uint32_t
key_tag(uint32_t h, size_t len)
{
	return (h & ~UINT32_C(0xF)) | (uint32_t) (len <= 8 ? len : 15);
}

static inline uint64_t
key_short(const char *key, size_t len)
{
	uint64_t	k = 0;

	if (len <= 8)
		memcpy(&k, key, len);
	return k;
}

/* Double the slot array (or make the first) and rehash. */
static bool
keytab_rehash(MiningEnv *env, KeyTab *t, MiningError *err)
{
	size_t		n = t->nslots == 0 ? 1024 : t->nslots * 2;
	KeySlot    *slots;
	size_t		i;

	if (n < t->nslots)
		return MiningSetError(err, MINING_ERR_LIMIT, "%s would need more memory than can be addressed", t->what);
	slots = MiningAlloc(env, n, sizeof(KeySlot), true, t->what, err);
	if (slots == NULL)
		return false;
	for (i = 0; i < t->nents; i++)
	{
		const KeyEnt *e = &t->ents[i];
		size_t		s = e->hash & (n - 1);

		while (slots[s].id1 != 0)
			s = (s + 1) & (n - 1);
		slots[s].id1 = (uint32_t) (i + 1);
		slots[s].tag = key_tag(e->hash, e->len);
		slots[s].key8 = key_short(e->key, e->len);
	}
	MiningFree(env, t->slots, t->nslots, sizeof(KeySlot));
	t->slots = slots;
	t->nslots = n;
	return true;
}

/*
 * Append key as a new entry without looking it up (the caller knows it is
 * new); no slots are kept until keytab_index. UINT32_MAX on error.
 */
static uint32_t
keytab_append(MiningEnv *env, KeyTab *t, const char *key, size_t len, MiningError *err)
{
	KeyEnt	   *e;

	if (len > UINT32_MAX)
	{
		MiningSetError(err, MINING_ERR_DATA, "a value of %zu bytes is too long", len);
		return UINT32_MAX;
	}
	if (t->nents >= (size_t) UINT32_MAX - 2)
	{
		MiningSetError(err, MINING_ERR_LIMIT, "too many distinct %s", t->what);
		MiningSetDetail(err, "At most %u are supported.", (unsigned) (UINT32_MAX - 2));
		return UINT32_MAX;
	}
	if (!reserve(env, (void **) &t->ents, t->nents, &t->capents, sizeof(KeyEnt), 1024, t->what, err))
		return UINT32_MAX;
	e = &t->ents[t->nents];
	e->key = keytab_store(env, t, key, len, err);
	if (e->key == NULL)
		return UINT32_MAX;
	e->len = (uint32_t) len;
	e->hash = 0;				/* computed by keytab_index */
	return (uint32_t) t->nents++;
}

/* Hash the appended entries and build the slots (once, before any intern). */
static bool
keytab_index(MiningEnv *env, KeyTab *t, MiningError *err)
{
	size_t		i;

	for (i = 0; i < t->nents; i++)
		t->ents[i].hash = hash_bytes(t->ents[i].key, t->ents[i].len);
	t->nslots = 512;
	while (t->nslots < 2 * t->nents + 2)
		t->nslots *= 2;
	t->nslots /= 2;				/* keytab_rehash doubles it */
	t->slots = NULL;
	return keytab_rehash(env, t, err);
}

/* The id of key, added if new; UINT32_MAX on error. */
static uint32_t
keytab_intern(MiningEnv *env, KeyTab *t, const char *key, size_t len, MiningError *err)
{
	uint32_t	h = hash_bytes(key, len),
				tag;
	uint64_t	k8;
	size_t		s;
	KeyEnt	   *e;

	if (len > UINT32_MAX)
	{
		MiningSetError(err, MINING_ERR_DATA, "a value of %zu bytes is too long", len);
		return UINT32_MAX;
	}
	if (t->nslots == 0 && !keytab_rehash(env, t, err))
		return UINT32_MAX;
	tag = key_tag(h, len);
	k8 = key_short(key, len);
	s = h & (t->nslots - 1);
	while (t->slots[s].id1 != 0)
	{
		const KeySlot *sl = &t->slots[s];

		if (sl->tag == tag)
		{
			if (len <= 8)
			{
				if (sl->key8 == k8)
					return sl->id1 - 1;
			}
			else
			{
				e = &t->ents[sl->id1 - 1];
				if (e->len == len && memcmp(e->key, key, len) == 0)
					return sl->id1 - 1;
			}
		}
		s = (s + 1) & (t->nslots - 1);
	}
	/* new key: ids stay below UINT32_MAX - 1 */
	if (t->nents >= (size_t) UINT32_MAX - 2)
	{
		MiningSetError(err, MINING_ERR_LIMIT, "too many distinct %s", t->what);
		MiningSetDetail(err, "At most %u are supported.", (unsigned) (UINT32_MAX - 2));
		return UINT32_MAX;
	}
	if (!reserve(env, (void **) &t->ents, t->nents, &t->capents, sizeof(KeyEnt), 1024, t->what, err))
		return UINT32_MAX;
	e = &t->ents[t->nents];
	e->key = keytab_store(env, t, key, len, err);
	if (e->key == NULL)
		return UINT32_MAX;
	e->len = (uint32_t) len;
	e->hash = h;
	t->slots[s].id1 = (uint32_t) (t->nents + 1);
	t->slots[s].tag = tag;
	t->slots[s].key8 = k8;
	t->nents++;
	/* keep the load at most 1/2 */
	if (t->nents * 2 > t->nslots && !keytab_rehash(env, t, err))
		return UINT32_MAX;
	return (uint32_t) (t->nents - 1);
}

/* ---------------------------------------------------------------------------
 * The run
 * ---------------------------------------------------------------------------
 */

/* A node of the prefix tree; the root is node 0, item i's node is 1 + i. */
typedef struct Node
{
	uint32_t	item;			/* item code */
	uint32_t	count;			/* transactions holding the path's itemset */
	uint32_t	parent;
	uint32_t	first_child;	/* children are contiguous, by item */
	uint32_t	nchildren;
} Node;

/* A stretch of rows of one transaction */
typedef struct Run
{
	uint32_t	tid;
	size_t		start;			/* first row */
} Run;

/* An itemset in output order: its item ranks (by text) sorted */
typedef struct OutSet
{
	uint32_t	node;
	uint32_t	len;
	const uint32_t *ranks;
} OutSet;

typedef struct Rule
{
	uint32_t	set;			/* index into out[] */
	uint32_t	mask;			/* antecedent: bits of the set's positions */
	uint32_t	ante_count;
	uint32_t	cons_count;
} Rule;

struct Apriori
{
	MiningEnv  *env;
	AprioriOptions opt;
	bool		mined;

	/* reading */
	KeyTab		tids;
	KeyTab		items;
	uint32_t   *rows;			/* item id per row */
	size_t		nrows;
	size_t		caprows;
	Run		   *runs;
	size_t		nruns;
	size_t		capruns;
	uint32_t	last_tid;		/* tid of the last run */
	const char *last_key;		/* its key: in last_buf when short (hot in
								 * cache), else in the table's arena */
	size_t		last_len;
	char		last_buf[16];
	bool		ascending;		/* every new transaction key so far came
								 * after the previous one (bytewise): no
								 * key can have come before, no lookup */

	/* baskets: items of transaction t are bitems[boff[t] .. boff[t + 1]) */
	uint32_t   *bitems;
	size_t		nbitems;		/* allocated length of bitems */
	size_t	   *boff;
	size_t		nbaskets;		/* baskets in boff (boff has nbaskets + 1) */
	size_t		capboff;		/* allocated length of boff */

	uint64_t	ntrans;			/* N */
	uint64_t	min_count;

	/* frequent items: code -> item id, and code -> rank by text */
	uint32_t	nfreq;
	uint32_t   *code_item;
	uint32_t   *code_rank;
	uint32_t   *rank_code;

	/* the prefix tree, level by level: level k is [level_start[k], level_start[k + 1]) */
	Node	   *nodes;
	size_t		nnodes;
	size_t		capnodes;
	size_t		level_start[66];
	int			nlevels;

	/* output */
	OutSet	   *out;
	size_t		nout;
	uint32_t   *out_ranks;
	size_t		nout_ranks;
	Rule	   *rules;
	size_t		nrules;
	size_t		caprules;
};

/* Bytewise order of two strings, a prefix first (as COLLATE "C") */
static int
cmp_text(const char *ak, size_t al, const char *bk, size_t bl)
{
	int			c = memcmp(ak, bk, al < bl ? al : bl);

	if (c != 0)
		return c;
	return al < bl ? -1 : (al > bl);
}

/*
 * AprioriCreate
 *		Check the options and make an empty run.
 */
Apriori *
AprioriCreate(MiningEnv *env, const AprioriOptions *opt, MiningError *err)
{
	Apriori    *a;

	if (!(opt->min_support > 0) || !isfinite(opt->min_support))
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "min_support must be greater than 0");
		MiningSetDetail(err, "min_support is %g.", opt->min_support);
		MiningSetHint(err, "Give a fraction of transactions below 1 (0.01 is 1 %%), or an absolute count of 1 or more.");
		return NULL;
	}
	if (!(opt->min_confidence >= 0 && opt->min_confidence <= 1))
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "min_confidence must be between 0 and 1");
		MiningSetDetail(err, "min_confidence is %g.", opt->min_confidence);
		return NULL;
	}
	if (!(opt->min_lift >= 0) || !isfinite(opt->min_lift))
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "min_lift must be 0 or more");
		MiningSetDetail(err, "min_lift is %g.", opt->min_lift);
		return NULL;
	}
	if (opt->max_length < 1)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "max_length must be at least 1");
		MiningSetDetail(err, "max_length is %d.", opt->max_length);
		return NULL;
	}
	if (opt->max_itemsets < 1)
	{
		MiningSetError(err, MINING_ERR_ARGUMENT, "max_itemsets must be at least 1");
		return NULL;
	}
	a = MiningAlloc(env, 1, sizeof(Apriori), true, "apriori state", err);
	if (a == NULL)
		return NULL;
	a->env = env;
	a->opt = *opt;
	/* itemsets longer than 64 cannot be held: 2^64 subsets would be frequent */
	if (a->opt.max_length > 64)
		a->opt.max_length = 64;
	keytab_init(&a->tids, "transactions");
	keytab_init(&a->items, "items");
	a->last_tid = UINT32_MAX;
	a->ascending = true;
	return a;
}

/*
 * AprioriAdd
 *		One (transaction, item) row; item NULL: the transaction alone.
 */
bool
AprioriAdd(Apriori *a, const char *tid, size_t tidlen,
		   const char *item, size_t itemlen, MiningError *err)
{
	MiningEnv  *env = a->env;
	uint32_t	t;

	if (a->mined)
		return MiningSetError(err, MINING_ERR_INTERNAL, "rows added after mining");

	/* the same transaction as the previous row: no lookup */
	if (a->last_tid != UINT32_MAX && a->last_len == tidlen &&
		memcmp(a->last_key, tid, tidlen) == 0)
		t = a->last_tid;
	else
	{
		if (a->ascending && a->last_tid != UINT32_MAX &&
			cmp_text(a->last_key, a->last_len, tid, tidlen) >= 0)
		{
			/* out of order: from now on every key is looked up */
			a->ascending = false;
			if (!keytab_index(env, &a->tids, err))
				return false;
		}
		if (a->ascending)
			t = keytab_append(env, &a->tids, tid, tidlen, err);
		else
			t = keytab_intern(env, &a->tids, tid, tidlen, err);
		if (t == UINT32_MAX)
			return false;
		if (!reserve(env, (void **) &a->runs, a->nruns, &a->capruns, sizeof(Run), 4096,
					 "transactions", err))
			return false;
		a->runs[a->nruns].tid = t;
		a->runs[a->nruns].start = a->nrows;
		a->nruns++;
		a->last_tid = t;
		a->last_len = tidlen;
		if (tidlen <= sizeof(a->last_buf))
		{
			memcpy(a->last_buf, tid, tidlen);
			a->last_key = a->last_buf;
		}
		else
			a->last_key = a->tids.ents[t].key;	/* the arena never moves */
	}
	if (item != NULL)
	{
		uint32_t	i = keytab_intern(env, &a->items, item, itemlen, err);

		if (i == UINT32_MAX)
			return false;
		if (!reserve(env, (void **) &a->rows, a->nrows, &a->caprows, sizeof(uint32_t), 65536,
					 "input rows", err))
			return false;
		a->rows[a->nrows++] = i;
	}
	return true;
}

uint64_t
AprioriTransactions(const Apriori *a)
{
	return a->ntrans;
}

AprioriAlgorithm
AprioriAlgorithmUsed(const Apriori *a)
{
	return a->opt.algorithm;
}

uint64_t
AprioriMinCount(const Apriori *a)
{
	return a->min_count;
}

/* Sort a short array of uint32 ascending (insertion sort; baskets are short). */
static void
sort_u32(uint32_t *v, size_t n)
{
	size_t		i;

	if (n > 32)
	{
		/* long baskets: heapsort, O(n log n) whatever the input */
		size_t		start = n / 2,
					end = n;

		for (;;)
		{
			size_t		root,
						child;
			uint32_t	tmp;

			if (start > 0)
				start--;
			else
			{
				end--;
				if (end == 0)
					break;
				tmp = v[end];
				v[end] = v[0];
				v[0] = tmp;
			}
			root = start;
			while ((child = 2 * root + 1) < end)
			{
				if (child + 1 < end && v[child + 1] > v[child])
					child++;
				if (v[root] >= v[child])
					break;
				tmp = v[root];
				v[root] = v[child];
				v[child] = tmp;
				root = child;
			}
		}
		return;
	}
	for (i = 1; i < n; i++)
	{
		uint32_t	x = v[i];
		size_t		j = i;

		while (j > 0 && v[j - 1] > x)
		{
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/*
 * build_baskets
 *		Runs -> one sorted, deduplicated basket per transaction; item
 *		supports into counts[] (one per item id).
 */
static bool
build_baskets(Apriori *a, uint32_t *counts, MiningError *err)
{
	MiningEnv  *env = a->env;
	size_t		ntid = a->tids.nents;
	size_t		t,
				w;

	/* the transaction keys are not needed any more: the runs hold their ids */
	keytab_free(env, &a->tids);

	a->capboff = ntid + 1;
	a->boff = MiningAlloc(env, a->capboff, sizeof(size_t), false, "baskets", err);
	if (a->boff == NULL)
		return false;
	if (a->nruns == ntid)
	{
		/* every transaction in one run: run t is transaction t */
		for (t = 0; t < ntid; t++)
			a->boff[t] = a->runs[t].start;
		a->boff[ntid] = a->nrows;
		a->bitems = a->rows;
		a->nbitems = a->caprows;
		a->rows = NULL;
		a->caprows = 0;
	}
	else
	{
		/* gather the runs of each transaction (a counting sort) */
		size_t		r;
		size_t	   *pos;

		memset(a->boff, 0, a->capboff * sizeof(size_t));
		for (r = 0; r < a->nruns; r++)
		{
			size_t		end = r + 1 < a->nruns ? a->runs[r + 1].start : a->nrows;

			a->boff[a->runs[r].tid + 1] += end - a->runs[r].start;
		}
		for (t = 0; t < ntid; t++)
			a->boff[t + 1] += a->boff[t];
		a->nbitems = a->nrows > 0 ? a->nrows : 1;
		a->bitems = MiningAlloc(env, a->nbitems, sizeof(uint32_t), false, "baskets", err);
		if (a->bitems == NULL)
			return false;
		pos = MiningAlloc(env, ntid, sizeof(size_t), false, "baskets", err);
		if (pos == NULL)
			return false;
		memcpy(pos, a->boff, ntid * sizeof(size_t));
		for (r = 0; r < a->nruns; r++)
		{
			size_t		end = r + 1 < a->nruns ? a->runs[r + 1].start : a->nrows;
			size_t		i;

			if (r % APRIORI_CHECK_EVERY == 0 && MiningInterrupted(env))
			{
				MiningFree(env, pos, ntid, sizeof(size_t));
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			}
			for (i = a->runs[r].start; i < end; i++)
				a->bitems[pos[a->runs[r].tid]++] = a->rows[i];
		}
		MiningFree(env, pos, ntid, sizeof(size_t));
		MiningFree(env, a->rows, a->caprows, sizeof(uint32_t));
		a->rows = NULL;
		a->caprows = 0;
	}
	MiningFree(env, a->runs, a->capruns, sizeof(Run));
	a->runs = NULL;
	a->capruns = 0;

	/* sort and deduplicate each basket in place; count supports */
	w = 0;
	for (t = 0; t < ntid; t++)
	{
		size_t		b = a->boff[t],
					e = a->boff[t + 1],
					i;

		if (t % APRIORI_CHECK_EVERY == 0 && MiningInterrupted(env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		sort_u32(a->bitems + b, e - b);
		a->boff[t] = w;
		for (i = b; i < e; i++)
		{
			if (i > b && a->bitems[i] == a->bitems[i - 1])
				continue;
			a->bitems[w++] = a->bitems[i];
			counts[a->bitems[i]]++;
		}
	}
	a->boff[ntid] = w;
	a->nbaskets = ntid;
	return true;
}

/* qsort context for the frequent items' order (no qsort_r in C99) */
typedef struct CodeSort
{
	uint32_t	item;
	uint32_t	count;
	const char *key;
	uint32_t	len;
} CodeSort;

static int
cmp_by_count(const void *x, const void *y)
{
	const CodeSort *a = x,
			   *b = y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->item < b->item ? -1 : (a->item > b->item);
}


static int
cmp_by_text(const void *x, const void *y)
{
	const CodeSort *a = x,
			   *b = y;

	return cmp_text(a->key, a->len, b->key, b->len);
}

/* Append a node to the tree; UINT32_MAX on error. */
static uint32_t
add_node(Apriori *a, uint32_t item, uint32_t count, uint32_t parent, MiningError *err)
{
	Node	   *n;

	if (a->nnodes >= (size_t) UINT32_MAX - 1)
	{
		MiningSetError(err, MINING_ERR_LIMIT, "the prefix tree of frequent itemsets is too large");
		return UINT32_MAX;
	}
	if (!reserve(a->env, (void **) &a->nodes, a->nnodes, &a->capnodes, sizeof(Node), 1024,
				 "the prefix tree of frequent itemsets", err))
		return UINT32_MAX;
	n = &a->nodes[a->nnodes];
	n->item = item;
	n->count = count;
	n->parent = parent;
	n->first_child = 0;
	n->nchildren = 0;
	return (uint32_t) a->nnodes++;
}

/* The error for "more frequent itemsets than max_itemsets". */
static bool
too_many(Apriori *a, uint64_t reached, int length, MiningError *err)
{
	MiningSetError(err, MINING_ERR_LIMIT,
				   "more than %llu frequent itemsets",
				   (unsigned long long) a->opt.max_itemsets);
	MiningSetDetail(err, "The search stopped at %llu frequent itemsets, while finding those of %d items (support threshold: %llu of %llu transactions).",
					(unsigned long long) reached, length,
					(unsigned long long) a->min_count, (unsigned long long) a->ntrans);
	MiningSetHint(err, "Raise min_support, lower max_length, or raise the limit with the max_itemsets argument.");
	return false;
}

/*
 * recode_baskets
 *		Keep in each basket only the items with keep[item] != UINT32_MAX,
 *		replaced by keep[item], sorted; drop baskets shorter than minlen.
 */
static bool
recode_baskets(Apriori *a, const uint32_t *keep, size_t minlen, MiningError *err)
{
	size_t		t,
				w = 0,
				nb = 0;

	for (t = 0; t < a->nbaskets; t++)
	{
		size_t		b = a->boff[t],
					e = a->boff[t + 1],
					start = w,
					i;

		if (t % APRIORI_CHECK_EVERY == 0 && MiningInterrupted(a->env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		for (i = b; i < e; i++)
		{
			uint32_t	c = keep[a->bitems[i]];

			if (c != UINT32_MAX)
				a->bitems[w++] = c;
		}
		if (w - start < minlen)
		{
			w = start;
			continue;
		}
		sort_u32(a->bitems + start, w - start);
		a->boff[nb++] = start;
	}
	a->boff[nb] = w;
	a->nbaskets = nb;
	return true;
}

/* Count of the itemset codes[0..n) (ascending codes) in the tree, 0 if absent. */
static uint32_t
lookup(const Apriori *a, const uint32_t *codes, int n)
{
	uint32_t	cur = 1 + codes[0];
	int			k;

	for (k = 1; k < n; k++)
	{
		const Node *p = &a->nodes[cur];
		uint32_t	lo = p->first_child,
					hi = p->first_child + p->nchildren;

		while (lo < hi)
		{
			uint32_t	mid = lo + (hi - lo) / 2;

			if (a->nodes[mid].item < codes[k])
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == p->first_child + p->nchildren || a->nodes[lo].item != codes[k])
			return 0;
		cur = lo;
	}
	return a->nodes[cur].count;
}

/*
 * count_walk
 *		Count the candidates rem levels below node ni contained in basket
 *		t[0..len). Children and basket are both sorted: a merge, or a binary
 *		search per basket item when the children far outnumber it.
 */
static void
count_walk(Node *nodes, const uint8_t *alive, uint32_t ni, const uint32_t *t, size_t len, int rem)
{
	const Node *n = &nodes[ni];
	uint32_t	c = n->first_child,
				ce = n->first_child + n->nchildren;
	size_t		i = 0;

	while (c < ce && i + (size_t) rem <= len)
	{
		uint32_t	ci = nodes[c].item;

		if (ci < t[i])
		{
			if (n->nchildren > 16)
			{
				/* skip children below t[i] by binary search */
				uint32_t	lo = c + 1,
							hi = ce;

				while (lo < hi)
				{
					uint32_t	mid = lo + (hi - lo) / 2;

					if (nodes[mid].item < t[i])
						lo = mid + 1;
					else
						hi = mid;
				}
				c = lo;
			}
			else
				c++;
		}
		else if (ci > t[i])
			i++;
		else
		{
			if (rem == 1)
				nodes[c].count++;
			else if (alive[c])
				count_walk(nodes, alive, c, t + i + 1, len - i - 1, rem - 1);
			c++;
			i++;
		}
	}
}

/* Items (codes, ascending) of node ni at depth d into codes[0..d). */
static void
node_path(const Apriori *a, uint32_t ni, int d, uint32_t *codes)
{
	while (d > 0)
	{
		codes[--d] = a->nodes[ni].item;
		ni = a->nodes[ni].parent;
	}
}

/*
 * count_pairs
 *		Level 2: every pair of frequent items in one pass, in a triangular
 *		array; the frequent ones become the children of the level-1 nodes.
 */
static bool
count_pairs(Apriori *a, MiningError *err)
{
	MiningEnv  *env = a->env;
	size_t		m = a->nfreq,
				npairs,
				t;
	uint32_t   *tri;
	uint32_t	x;
	size_t	   *rowbase;

	if (!MiningMulSize(m, m - 1, &npairs))
		return MiningSetError(err, MINING_ERR_LIMIT, "too many frequent items to count their pairs");
	npairs /= 2;
	tri = MiningAlloc(env, npairs, sizeof(uint32_t), true, "pair counts", err);
	if (tri == NULL)
	{
		MiningSetHint(err, "There are %zu frequent items, and every pair of them is counted: raise min_support to have fewer, or raise megamarket.mining_max_memory.", m);
		return false;
	}
	rowbase = MiningAlloc(env, m, sizeof(size_t), false, "pair counts", err);
	if (rowbase == NULL)
	{
		MiningFree(env, tri, npairs, sizeof(uint32_t));
		return false;
	}
	/* pair (x, y), x < y, is at rowbase[x] + y */
	for (x = 0; x < m; x++)
		rowbase[x] = (size_t) x * (2 * m - x - 1) / 2 - x - 1;

	for (t = 0; t < a->nbaskets; t++)
	{
		const uint32_t *b = a->bitems + a->boff[t];
		size_t		n = a->boff[t + 1] - a->boff[t],
					i,
					j;

		if (t % APRIORI_CHECK_EVERY == 0 && MiningInterrupted(env))
		{
			MiningFree(env, rowbase, m, sizeof(size_t));
			MiningFree(env, tri, npairs, sizeof(uint32_t));
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		}
		for (i = 0; i + 1 < n; i++)
		{
			size_t		base = rowbase[b[i]];	/* wraps for x = 0: unsigned */

			for (j = i + 1; j < n; j++)
				tri[base + b[j]]++;
		}
	}

	/* the frequent pairs, as children of their first item */
	a->level_start[2] = a->nnodes;
	for (x = 0; x < m; x++)
	{
		uint32_t	y;
		uint32_t	first = (uint32_t) a->nnodes;

		for (y = x + 1; y < m; y++)
		{
			uint32_t	c = tri[rowbase[x] + y];

			if (c >= a->min_count)
			{
				if (a->nnodes - 1 >= a->opt.max_itemsets)
				{
					MiningFree(env, rowbase, m, sizeof(size_t));
					MiningFree(env, tri, npairs, sizeof(uint32_t));
					return too_many(a, a->nnodes - 1, 2, err);
				}
				if (add_node(a, y, c, 1 + x, err) == UINT32_MAX)
				{
					MiningFree(env, rowbase, m, sizeof(size_t));
					MiningFree(env, tri, npairs, sizeof(uint32_t));
					return false;
				}
			}
		}
		a->nodes[1 + x].first_child = first;
		a->nodes[1 + x].nchildren = (uint32_t) a->nnodes - first;
	}
	a->level_start[3] = a->nnodes;
	a->nlevels = 2;
	MiningFree(env, rowbase, m, sizeof(size_t));
	MiningFree(env, tri, npairs, sizeof(uint32_t));
	return true;
}

/*
 * next_level
 *		Level k (k >= 3): candidates from the frequent (k-1)-itemsets (join of
 *		siblings, every (k-1)-subset frequent), one counting pass, the
 *		infrequent dropped. *more is false when no candidate was made.
 */
static bool
next_level(Apriori *a, int k, bool *more, MiningError *err)
{
	MiningEnv  *env = a->env;
	size_t		pstart = a->level_start[k - 2],
				pend = a->level_start[k - 1],
				cstart = a->nnodes,
				p,
				t,
				nalive;
	uint32_t	path[66],
				sub[66];
	uint8_t    *alive = NULL;
	uint32_t   *keep = NULL;
	bool		ok = false;

	*more = false;
	a->level_start[k] = cstart;
	/* 1. candidates: children of each node at level k - 1 */
	for (p = pstart; p < pend; p++)
	{
		uint32_t	c0 = a->nodes[p].first_child,
					n = a->nodes[p].nchildren,
					i,
					j;

		if ((p - pstart) % 1024 == 0 && MiningInterrupted(env))
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		if (n < 2)
			continue;
		node_path(a, (uint32_t) p, k - 2, path);
		for (i = 0; i < n; i++)
		{
			uint32_t	ci = c0 + i;
			uint32_t	first = (uint32_t) a->nnodes;

			for (j = i + 1; j < n; j++)
			{
				uint32_t	cj = c0 + j;
				bool		all = true;
				int			r;

				/* the subsets leaving out one item of the common prefix */
				for (r = 0; r < k - 2 && all; r++)
				{
					int			q,
								s = 0;

					for (q = 0; q < k - 2; q++)
						if (q != r)
							sub[s++] = path[q];
					sub[s++] = a->nodes[ci].item;
					sub[s++] = a->nodes[cj].item;
					all = lookup(a, sub, s) >= a->min_count;
				}
				if (!all)
					continue;
				if (add_node(a, a->nodes[cj].item, 0, ci, err) == UINT32_MAX)
					return false;
			}
			a->nodes[ci].first_child = first;
			a->nodes[ci].nchildren = (uint32_t) a->nnodes - first;
		}
	}
	if (a->nnodes == cstart)
	{
		a->level_start[k + 1] = a->nnodes;
		return true;
	}

	/* 2. which nodes lead to a candidate; which items are in one */
	alive = MiningAlloc(env, cstart, 1, true, "the prefix tree of frequent itemsets", err);
	keep = MiningAlloc(env, a->nfreq, sizeof(uint32_t), false, "the prefix tree of frequent itemsets", err);
	if (alive == NULL || keep == NULL)
		goto done;
	for (t = 0; t < a->nfreq; t++)
		keep[t] = UINT32_MAX;
	for (t = cstart; t < a->nnodes; t++)
		alive[a->nodes[t].parent] = 1;
	for (t = cstart; t-- > 1;)
	{
		if (alive[t])
		{
			alive[a->nodes[t].parent] = 1;
			keep[a->nodes[t].item] = a->nodes[t].item;
		}
	}
	for (t = cstart; t < a->nnodes; t++)
		keep[a->nodes[t].item] = a->nodes[t].item;

	/* 3. count over the baskets long enough, holding only useful items */
	if (!recode_baskets(a, keep, (size_t) k, err))
		goto done;
	for (t = 0; t < a->nbaskets; t++)
	{
		const uint32_t *b = a->bitems + a->boff[t];
		size_t		n = a->boff[t + 1] - a->boff[t],
					i;

		if (t % APRIORI_CHECK_EVERY == 0 && MiningInterrupted(env))
		{
			MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			goto done;
		}
		/* the root's children are indexed by item */
		for (i = 0; i + (size_t) k <= n; i++)
		{
			uint32_t	c = 1 + b[i];

			if (alive[c])
				count_walk(a->nodes, alive, c, b + i + 1, n - i - 1, k - 1);
		}
	}

	/* 4. keep the frequent candidates, compacting the level in place */
	{
		size_t		w = cstart;

		for (p = a->level_start[k - 1]; p < cstart; p++)
		{
			Node	   *q = &a->nodes[p];
			uint32_t	c = q->first_child,
						ce = q->first_child + q->nchildren;
			uint32_t	first = (uint32_t) w;

			if (q->nchildren == 0)
			{
				q->first_child = 0;
				continue;
			}
			for (; c < ce; c++)
			{
				if (a->nodes[c].count >= a->min_count)
					a->nodes[w++] = a->nodes[c];
			}
			q->first_child = first;
			q->nchildren = (uint32_t) w - first;
		}
		a->nnodes = w;
	}
	nalive = a->nnodes - cstart;
	a->level_start[k + 1] = a->nnodes;
	if (nalive > 0)
	{
		a->nlevels = k;
		*more = true;
	}
	if (a->nnodes - 1 > a->opt.max_itemsets)
	{
		too_many(a, a->nnodes - 1, k, err);
		goto done;
	}
	ok = true;
done:
	if (alive != NULL)
		MiningFree(env, alive, cstart, 1);
	if (keep != NULL)
		MiningFree(env, keep, a->nfreq, sizeof(uint32_t));
	return ok;
}

/* ---------------------------------------------------------------------------
 * Eclat over bit vectors
 * ---------------------------------------------------------------------------
 *
 * After the pairs (counted in the triangular array), every item of a
 * frequent pair gets a bit vector over the baskets. An itemset's count is
 * the popcount of the AND of its items' vectors: the search goes depth first
 * through the prefix tree, keeping the AND of the current prefix per depth,
 * and a candidate P + x + y (x, y frequent siblings) costs one AND-and-count
 * pass. Children are made together in ascending order and visited in
 * descending order, so every subset a candidate needs for Apriori's pruning
 * is already in the tree when it is checked.
 */
typedef struct EclatState
{
	uint64_t  **bits;			/* per item code: its vector, or NULL */
	uint64_t   *block;			/* the vectors, one block */
	size_t		nblock;
	uint32_t   *pidx;			/* per depth: the prefix's non-zero words */
	uint64_t   *pval;			/* ... and their values */
	size_t		words;			/* 64-bit words per vector */
	uint64_t	work;
} EclatState;

/*
 * popcount(val[i] & y[idx[i]]) summed: a prefix's AND kept as its non-zero
 * words only (deep prefixes are sparse), against an item's vector. The
 * POPCNT instruction where the CPU has it.
 */
static inline uint64_t
popcount64_generic(uint64_t v)
{
	v = v - ((v >> 1) & 0x5555555555555555ULL);
	v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
	v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
	return (v * 0x0101010101010101ULL) >> 56;
}

static uint64_t
and_count_generic(const uint32_t *idx, const uint64_t *val, size_t n, const uint64_t *y)
{
	uint64_t	c = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		c += popcount64_generic(val[i] & y[idx[i]]);
	return c;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
__attribute__((target("popcnt")))
static uint64_t
and_count_popcnt(const uint32_t *idx, const uint64_t *val, size_t n, const uint64_t *y)
{
	uint64_t	c0 = 0,
				c1 = 0;
	size_t		i;

	for (i = 0; i + 1 < n; i += 2)
	{
		c0 += (uint64_t) __builtin_popcountll(val[i] & y[idx[i]]);
		c1 += (uint64_t) __builtin_popcountll(val[i + 1] & y[idx[i + 1]]);
	}
	if (i < n)
		c0 += (uint64_t) __builtin_popcountll(val[i] & y[idx[i]]);
	return c0 + c1;
}

static uint64_t
and_count(const uint32_t *idx, const uint64_t *val, size_t n, const uint64_t *y)
{
	static int	has_popcnt = -1;

	if (has_popcnt < 0)
	{
		__builtin_cpu_init();
		has_popcnt = __builtin_cpu_supports("popcnt") ? 1 : 0;
	}
	return has_popcnt ? and_count_popcnt(idx, val, n, y) : and_count_generic(idx, val, n, y);
}
#else
#define and_count and_count_generic
#endif

/* Whether every subset of path + y leaving out one of path[0 .. d - 1) is frequent */
static bool
subsets_frequent(const Apriori *a, const uint32_t *path, int d, uint32_t y)
{
	uint32_t	sub[66];
	int			r,
				q,
				s;

	for (r = 0; r < d - 1; r++)
	{
		s = 0;
		for (q = 0; q < d; q++)
			if (q != r)
				sub[s++] = path[q];
		sub[s++] = y;
		if (lookup(a, sub, s) < a->min_count)
			return false;
	}
	return true;
}

/*
 * eclat_extend
 *		Node n, of depth d (path[0 .. d) its items), whose AND is the sparse
 *		vector idx/val of nnz words: make its children from its later
 *		siblings (unless d == 1: the pairs are made, and the vector is the
 *		item's own, dense: idx NULL), then extend each child, last first.
 */
static bool
eclat_extend(Apriori *a, EclatState *st, uint32_t n, int d, uint32_t *path,
			 const uint32_t *idx, const uint64_t *val, size_t nnz, MiningError *err)
{
	uint32_t	parent = a->nodes[n].parent,
				sib_end = a->nodes[parent].first_child + a->nodes[parent].nchildren,
				first,
				nchildren,
				c;

	if (d >= 2)
	{
		first = (uint32_t) a->nnodes;
		for (c = n + 1; c < sib_end; c++)
		{
			uint32_t	y = a->nodes[c].item;
			uint64_t	count;

			if (!subsets_frequent(a, path, d, y))
				continue;
			if (++st->work % 256 == 0 && MiningInterrupted(a->env))
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			count = and_count(idx, val, nnz, st->bits[y]);
			if (count < a->min_count)
				continue;
			if (a->nnodes - 1 >= a->opt.max_itemsets)
				return too_many(a, a->nnodes - 1, d + 1, err);
			if (add_node(a, y, (uint32_t) count, n, err) == UINT32_MAX)
				return false;
		}
		a->nodes[n].first_child = first;
		a->nodes[n].nchildren = (uint32_t) a->nnodes - first;
	}
	if (d + 1 >= a->opt.max_length)
		return true;
	first = a->nodes[n].first_child;
	nchildren = a->nodes[n].nchildren;
	/* the last child has no later sibling: nothing to extend it with */
	for (c = first + nchildren; c-- > first;)
	{
		uint32_t   *cidx = st->pidx + (size_t) (d + 1) * st->words;
		uint64_t   *cval = st->pval + (size_t) (d + 1) * st->words;
		const uint64_t *y = st->bits[a->nodes[c].item];
		size_t		i,
					cn = 0;

		if (c + 1 >= first + nchildren)
			continue;
		/* the child's AND, its zero words dropped (branch-free) */
		if (idx == NULL)
			for (i = 0; i < nnz; i++)
			{
				uint64_t	v = val[i] & y[i];

				cidx[cn] = (uint32_t) i;
				cval[cn] = v;
				cn += v != 0;
			}
		else
			for (i = 0; i < nnz; i++)
			{
				uint64_t	v = val[i] & y[idx[i]];

				cidx[cn] = idx[i];
				cval[cn] = v;
				cn += v != 0;
			}
		path[d] = a->nodes[c].item;
		if (!eclat_extend(a, st, c, d + 1, path, cidx, cval, cn, err))
			return false;
	}
	return true;
}

/*
 * run_eclat
 *		Levels 3 and up, after count_pairs. *fits is false (and nothing done)
 *		when the bit vectors would not fit in the memory budget.
 */
static bool
run_eclat(Apriori *a, bool *fits, MiningError *err)
{
	MiningEnv  *env = a->env;
	EclatState	st;
	size_t		m = a->nfreq,
				nvec = 0,
				x,
				t,
				bytes;
	uint32_t	path[66];
	uint8_t    *need;
	bool		ok = false;

	*fits = true;
	memset(&st, 0, sizeof(st));
	st.words = (a->nbaskets + 63) / 64;
	if (st.words == 0)
		return true;
	/* the items of a frequent pair, and what their vectors take */
	need = MiningAlloc(env, m, 1, true, "bit vectors", err);
	if (need == NULL)
		return false;
	for (t = a->level_start[2]; t < a->level_start[3]; t++)
	{
		need[a->nodes[t].item] = 1;
		need[a->nodes[a->nodes[t].parent].item] = 1;
	}
	for (x = 0; x < m; x++)
		nvec += need[x];
	/* the vectors, and per depth a sparse vector (word index and value) */
	if (!MiningMulSize(nvec + (size_t) (a->opt.max_length + 1) * 3 / 2 + 1, st.words, &bytes) ||
		!MiningMulSize(bytes, sizeof(uint64_t), &bytes) ||
		(env->max_bytes != 0 && bytes > env->max_bytes - env->used_bytes))
	{
		MiningFree(env, need, m, 1);
		*fits = false;
		return true;
	}
	st.bits = MiningAlloc(env, m, sizeof(uint64_t *), true, "bit vectors", err);
	if (st.bits == NULL)
		goto done;
	st.nblock = nvec * st.words;
	st.block = MiningAlloc(env, st.nblock > 0 ? st.nblock : 1, sizeof(uint64_t), true, "bit vectors", err);
	st.pidx = st.block == NULL ? NULL :
		MiningAlloc(env, (size_t) (a->opt.max_length + 1) * st.words, sizeof(uint32_t), false, "bit vectors", err);
	st.pval = st.pidx == NULL ? NULL :
		MiningAlloc(env, (size_t) (a->opt.max_length + 1) * st.words, sizeof(uint64_t), false, "bit vectors", err);
	if (st.pval == NULL)
		goto done;
	nvec = 0;
	for (x = 0; x < m; x++)
		if (need[x])
			st.bits[x] = st.block + (nvec++) * st.words;
	for (t = 0; t < a->nbaskets; t++)
	{
		const uint32_t *b = a->bitems + a->boff[t];
		size_t		n = a->boff[t + 1] - a->boff[t],
					i;

		if (t % APRIORI_CHECK_EVERY == 0 && MiningInterrupted(env))
		{
			MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			goto done;
		}
		for (i = 0; i < n; i++)
			if (st.bits[b[i]] != NULL)
				st.bits[b[i]][t / 64] |= UINT64_C(1) << (t % 64);
	}
	/* every item with pairs, last first */
	for (x = m; x-- > 0;)
	{
		if (a->nodes[1 + x].nchildren < 2 || a->opt.max_length < 3)
			continue;
		path[0] = (uint32_t) x;
		if (!eclat_extend(a, &st, (uint32_t) (1 + x), 1, path, NULL, st.bits[x], st.words, err))
			goto done;
	}
	ok = true;
done:
	if (st.pval != NULL)
		MiningFree(env, st.pval, (size_t) (a->opt.max_length + 1) * st.words, sizeof(uint64_t));
	if (st.pidx != NULL)
		MiningFree(env, st.pidx, (size_t) (a->opt.max_length + 1) * st.words, sizeof(uint32_t));
	if (st.block != NULL)
		MiningFree(env, st.block, st.nblock > 0 ? st.nblock : 1, sizeof(uint64_t));
	if (st.bits != NULL)
		MiningFree(env, st.bits, m, sizeof(uint64_t *));
	MiningFree(env, need, m, 1);
	return ok;
}

/* ---------------------------------------------------------------------------
 * Depth-first: projections with occurrence delivery
 * ---------------------------------------------------------------------------
 *
 * For an itemset P with the list of its occurrences (basket, position after
 * P's last item), one scan of those basket suffixes counts every extension
 * P + x in a dense counter array; a second scan delivers each occurrence to
 * the list of every frequent extension; then each extension recurses. The
 * children of P are appended together, so the tree is the same prefix tree
 * the level-wise search builds (lookups and output do not care which).
 */
typedef struct Occ
{
	uint32_t	basket;
	uint32_t	pos;			/* first item after the prefix's last */
} Occ;

typedef struct DfsState
{
	uint32_t   *counts;			/* per item code, all zero between uses */
	uint32_t   *slot;			/* per item code: bucket index + 1, or 0 */
	uint32_t   *touched;		/* codes with a count, per depth: m each */
	uint64_t	work;			/* for interrupt checks */
} DfsState;

static bool
dfs(Apriori *a, DfsState *st, uint32_t pnode, int depth, const Occ *occ, size_t nocc,
	MiningError *err)
{
	MiningEnv  *env = a->env;
	uint32_t   *touched = st->touched + (size_t) depth * a->nfreq;
	size_t		ntouched = 0,
				nfreq = 0,
				i,
				total = 0;
	uint32_t	first;
	Occ		   *buckets = NULL;
	size_t	   *bstart = NULL;
	bool		ok = false;

	/* 1. count every extension over the suffixes */
	for (i = 0; i < nocc; i++)
	{
		const uint32_t *b = a->bitems + a->boff[occ[i].basket];
		size_t		len = a->boff[occ[i].basket + 1] - a->boff[occ[i].basket],
					j;

		for (j = occ[i].pos; j < len; j++)
			if (st->counts[b[j]]++ == 0)
				touched[ntouched++] = b[j];
		st->work += len - occ[i].pos + 1;
	}
	if (st->work > APRIORI_CHECK_EVERY * 64)
	{
		st->work = 0;
		if (MiningInterrupted(env))
		{
			for (i = 0; i < ntouched; i++)
				st->counts[touched[i]] = 0;
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		}
	}
	/*
	 * 2. the frequent ones, ascending, become P's children. The root's
	 * children (every frequent item, node 1 + code) are made already; its
	 * counts here only size the buckets.
	 */
	for (i = 0; i < ntouched; i++)
	{
		uint32_t	x = touched[i];

		if (pnode == 0 || st->counts[x] >= a->min_count)
			touched[nfreq++] = x;
		else
			st->counts[x] = 0;
	}
	if (nfreq == 0)
		return true;
	sort_u32(touched, nfreq);
	first = 1;
	if (pnode != 0)
	{
		if (a->nnodes - 1 + nfreq > a->opt.max_itemsets)
		{
			for (i = 0; i < nfreq; i++)
				st->counts[touched[i]] = 0;
			return too_many(a, a->nnodes - 1, depth + 1, err);
		}
		first = (uint32_t) a->nnodes;
		for (i = 0; i < nfreq; i++)
		{
			if (add_node(a, touched[i], st->counts[touched[i]], pnode, err) == UINT32_MAX)
			{
				for (; i < nfreq; i++)
					st->counts[touched[i]] = 0;
				return false;
			}
		}
		a->nodes[pnode].first_child = first;
		a->nodes[pnode].nchildren = (uint32_t) nfreq;
	}
	if (depth + 1 >= a->opt.max_length || nfreq < 2)
	{
		/* no extension can be longer (one child has no sibling to join) */
		for (i = 0; i < nfreq; i++)
			st->counts[touched[i]] = 0;
		return true;
	}

	/*
	 * 3. deliver the occurrences to the frequent extensions: not to the
	 * last one (an extension of it would need a larger frequent sibling),
	 * and not where nothing follows. bstart[i] .. bend[i] is bucket i.
	 */
	bstart = MiningAlloc(env, 2 * nfreq, sizeof(size_t), false, "occurrence lists", err);
	if (bstart == NULL)
		goto done;
	for (i = 0; i + 1 < nfreq; i++)
	{
		bstart[i] = total;
		bstart[nfreq + i] = total;
		total += st->counts[touched[i]];
		st->slot[touched[i]] = (uint32_t) i + 1;
	}
	for (i = 0; i < nfreq; i++)
		st->counts[touched[i]] = 0;
	buckets = MiningAlloc(env, total > 0 ? total : 1, sizeof(Occ), false, "occurrence lists", err);
	if (buckets == NULL)
		goto done;
	for (i = 0; i < nocc; i++)
	{
		const uint32_t *b = a->bitems + a->boff[occ[i].basket];
		size_t		len = a->boff[occ[i].basket + 1] - a->boff[occ[i].basket],
					j;

		for (j = occ[i].pos; j + 1 < len; j++)
		{
			uint32_t	sl = st->slot[b[j]];

			if (sl != 0)
			{
				Occ		   *o = &buckets[bstart[nfreq + sl - 1]++];

				o->basket = occ[i].basket;
				o->pos = (uint32_t) j + 1;
			}
		}
	}
	for (i = 0; i < nfreq; i++)
		st->slot[touched[i]] = 0;

	/* 4. recurse; the next depth has its own row of touched[] */
	for (i = 0; i + 1 < nfreq; i++)
	{
		uint32_t	child = pnode == 0 ? 1 + touched[i] : first + (uint32_t) i;

		if (!dfs(a, st, child, depth + 1, buckets + bstart[i],
				 bstart[nfreq + i] - bstart[i], err))
			goto done;
	}
	ok = true;
done:
	if (buckets != NULL)
		MiningFree(env, buckets, total > 0 ? total : 1, sizeof(Occ));
	if (bstart != NULL)
		MiningFree(env, bstart, 2 * nfreq, sizeof(size_t));
	if (!ok)
		for (i = 0; i < nfreq; i++)
		{
			st->counts[touched[i]] = 0;
			st->slot[touched[i]] = 0;
		}
	return ok;
}

/* The depth-first search from the root: every basket, from its start. */
static bool
run_dfs(Apriori *a, MiningError *err)
{
	MiningEnv  *env = a->env;
	DfsState	st;
	size_t		m = a->nfreq,
				rows = (size_t) a->opt.max_length,
				nb = a->nbaskets,
				t;
	Occ		   *occ;
	bool		ok = false;

	memset(&st, 0, sizeof(st));
	st.counts = MiningAlloc(env, m, sizeof(uint32_t), true, "item counters", err);
	st.slot = st.counts == NULL ? NULL : MiningAlloc(env, m, sizeof(uint32_t), true, "item counters", err);
	st.touched = st.slot == NULL ? NULL : MiningAlloc(env, m * rows, sizeof(uint32_t), false, "item counters", err);
	occ = st.touched == NULL ? NULL : MiningAlloc(env, nb > 0 ? nb : 1, sizeof(Occ), false, "occurrence lists", err);
	if (occ != NULL)
	{
		for (t = 0; t < nb; t++)
		{
			occ[t].basket = (uint32_t) t;
			occ[t].pos = 0;
		}
		ok = dfs(a, &st, 0, 0, occ, nb, err);
		MiningFree(env, occ, nb > 0 ? nb : 1, sizeof(Occ));
	}
	MiningFree(env, st.touched, m * rows, sizeof(uint32_t));
	MiningFree(env, st.slot, m, sizeof(uint32_t));
	MiningFree(env, st.counts, m, sizeof(uint32_t));
	return ok;
}

static int
cmp_outset(const void *x, const void *y)
{
	const OutSet *a = x,
			   *b = y;
	uint32_t	i;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	for (i = 0; i < a->len; i++)
		if (a->ranks[i] != b->ranks[i])
			return a->ranks[i] < b->ranks[i] ? -1 : 1;
	return 0;
}

/*
 * make_output
 *		Every itemset in the tree as sorted text ranks, in output order. A
 *		node's parent comes before it in the array, whichever algorithm
 *		built it, so one pass finds every depth.
 */
static bool
make_output(Apriori *a, MiningError *err)
{
	MiningEnv  *env = a->env;
	size_t		n = a->nnodes - 1,
				total = 0,
				pos = 0,
				i;
	uint8_t    *depth;

	depth = MiningAlloc(env, a->nnodes, 1, false, "frequent itemsets", err);
	if (depth == NULL)
		return false;
	depth[0] = 0;
	for (i = 1; i < a->nnodes; i++)
	{
		depth[i] = depth[a->nodes[i].parent] + 1;
		total += depth[i];		/* at most 64 * UINT32_MAX: no overflow */
	}
	a->out = MiningAlloc(env, n > 0 ? n : 1, sizeof(OutSet), false, "frequent itemsets", err);
	a->nout_ranks = total > 0 ? total : 1;
	a->out_ranks = a->out == NULL ? NULL :
		MiningAlloc(env, a->nout_ranks, sizeof(uint32_t), false, "frequent itemsets", err);
	if (a->out_ranks == NULL)
	{
		MiningFree(env, depth, a->nnodes, 1);
		return false;
	}
	for (i = 1; i < a->nnodes; i++)
	{
		uint32_t   *r = a->out_ranks + pos;
		int			d = depth[i],
					q;

		node_path(a, (uint32_t) i, d, r);
		for (q = 0; q < d; q++)
			r[q] = a->code_rank[r[q]];
		sort_u32(r, (size_t) d);
		a->out[a->nout].node = (uint32_t) i;
		a->out[a->nout].len = (uint32_t) d;
		a->out[a->nout].ranks = r;
		a->nout++;
		pos += (size_t) d;
		if (i % APRIORI_CHECK_EVERY == 0 && MiningInterrupted(env))
		{
			MiningFree(env, depth, a->nnodes, 1);
			return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
		}
	}
	MiningFree(env, depth, a->nnodes, 1);
	qsort(a->out, a->nout, sizeof(OutSet), cmp_outset);
	return true;
}

/*
 * AprioriMine
 *		Find every frequent itemset of at most max_length items.
 */
bool
AprioriMine(Apriori *a, MiningError *err)
{
	MiningEnv  *env = a->env;
	uint32_t   *counts = NULL;
	uint32_t   *keep = NULL;
	CodeSort   *cs = NULL;
	size_t		nitems = a->items.nents,
				i;
	uint32_t	m = 0;
	int			k;
	bool		ok = false;

	if (a->mined)
		return MiningSetError(err, MINING_ERR_INTERNAL, "apriori run mined twice");
	a->mined = true;
	if (a->tids.nents == 0)
	{
		MiningSetError(err, MINING_ERR_DATA, "the query returned no rows");
		MiningSetHint(err, "The query must return one row per (transaction, item) pair.");
		return false;
	}
	a->ntrans = a->tids.nents;

	/* the absolute threshold */
	if (a->opt.min_support >= 1)
	{
		double		c = ceil(a->opt.min_support);

		a->min_count = c >= (double) UINT32_MAX ? UINT32_MAX : (uint64_t) c;
	}
	else
	{
		double		n = (double) a->ntrans;
		uint64_t	c = (uint64_t) ceil(a->opt.min_support * n);

		while (c > 1 && (double) (c - 1) / n >= a->opt.min_support)
			c--;
		while ((double) c / n < a->opt.min_support)
			c++;
		a->min_count = c < 1 ? 1 : c;
	}

	/* 1. baskets and item supports */
	counts = MiningAlloc(env, nitems > 0 ? nitems : 1, sizeof(uint32_t), true, "items", err);
	if (counts == NULL || !build_baskets(a, counts, err))
		goto done;

	/* 2. frequent items, coded by descending support */
	cs = MiningAlloc(env, nitems > 0 ? nitems : 1, sizeof(CodeSort), false, "items", err);
	keep = MiningAlloc(env, nitems > 0 ? nitems : 1, sizeof(uint32_t), false, "items", err);
	if (cs == NULL || keep == NULL)
		goto done;
	for (i = 0; i < nitems; i++)
	{
		keep[i] = UINT32_MAX;
		if (counts[i] >= a->min_count)
		{
			cs[m].item = (uint32_t) i;
			cs[m].count = counts[i];
			cs[m].key = a->items.ents[i].key;
			cs[m].len = a->items.ents[i].len;
			m++;
		}
	}
	if (m > a->opt.max_itemsets)
	{
		too_many(a, m, 1, err);
		goto done;
	}
	qsort(cs, m, sizeof(CodeSort), cmp_by_count);
	a->nfreq = m;
	a->code_item = MiningAlloc(env, m > 0 ? m : 1, sizeof(uint32_t), false, "items", err);
	a->code_rank = MiningAlloc(env, m > 0 ? m : 1, sizeof(uint32_t), false, "items", err);
	a->rank_code = MiningAlloc(env, m > 0 ? m : 1, sizeof(uint32_t), false, "items", err);
	if (a->code_item == NULL || a->code_rank == NULL || a->rank_code == NULL)
		goto done;
	for (i = 0; i < m; i++)
	{
		a->code_item[i] = cs[i].item;
		keep[cs[i].item] = (uint32_t) i;
		cs[i].item = (uint32_t) i;	/* now the code */
	}
	qsort(cs, m, sizeof(CodeSort), cmp_by_text);
	for (i = 0; i < m; i++)
	{
		a->code_rank[cs[i].item] = (uint32_t) i;
		a->rank_code[i] = cs[i].item;
	}

	/* 3. the tree: the root and one node per frequent item */
	if (add_node(a, 0, (uint32_t) a->ntrans, 0, err) == UINT32_MAX)
		goto done;
	a->nodes[0].first_child = 1;
	a->nodes[0].nchildren = m;
	a->level_start[0] = 0;
	a->level_start[1] = 1;
	for (i = 0; i < m; i++)
		if (add_node(a, (uint32_t) i, counts[a->code_item[i]], 0, err) == UINT32_MAX)
			goto done;
	a->level_start[2] = a->nnodes;
	a->nlevels = m > 0 ? 1 : 0;

	/* 4. depth first, or pairs then Eclat or level by level */
	if (a->opt.algorithm == APRIORI_ALGO_AUTO)
		a->opt.algorithm = APRIORI_ALGO_ECLAT;	/* fastest measured */
	if (a->opt.max_length >= 2 && m >= 2 && a->opt.algorithm == APRIORI_ALGO_DEPTHFIRST)
	{
		if (!recode_baskets(a, keep, 2, err) || !run_dfs(a, err))
			goto done;
	}
	else if (a->opt.max_length >= 2 && m >= 2)
	{
		bool		fits = false;

		if (!recode_baskets(a, keep, 2, err) || !count_pairs(a, err))
			goto done;
		if (a->opt.algorithm == APRIORI_ALGO_ECLAT && a->opt.max_length >= 3)
		{
			if (!run_eclat(a, &fits, err))
				goto done;
			if (!fits)
				a->opt.algorithm = APRIORI_ALGO_LEVELWISE;
		}
		/* level by level, unless Eclat did the rest */
		for (k = 3; !fits && k <= a->opt.max_length && a->nlevels == k - 1; k++)
		{
			bool		more;

			if (!next_level(a, k, &more, err))
				goto done;
			if (!more)
				break;
		}
	}

	/* the baskets are not needed any more */
	MiningFree(env, a->bitems, a->nbitems, sizeof(uint32_t));
	a->bitems = NULL;
	MiningFree(env, a->boff, a->capboff, sizeof(size_t));
	a->boff = NULL;

	if (!make_output(a, err))
		goto done;
	ok = true;
done:
	if (counts != NULL)
		MiningFree(env, counts, nitems > 0 ? nitems : 1, sizeof(uint32_t));
	if (cs != NULL)
		MiningFree(env, cs, nitems > 0 ? nitems : 1, sizeof(CodeSort));
	if (keep != NULL)
		MiningFree(env, keep, nitems > 0 ? nitems : 1, sizeof(uint32_t));
	return ok;
}

size_t
AprioriItemsetCount(const Apriori *a)
{
	return a->nout;
}

/* Item text of a rank */
static void
rank_text(const Apriori *a, uint32_t rank, const char **text, size_t *len)
{
	const KeyEnt *e = &a->items.ents[a->code_item[a->rank_code[rank]]];

	*text = e->key;
	*len = e->len;
}

int
AprioriItemset(const Apriori *a, size_t i, const char **items, size_t *lens,
			   uint64_t *count)
{
	const OutSet *s = &a->out[i];
	uint32_t	q;

	for (q = 0; q < s->len; q++)
		rank_text(a, s->ranks[q], &items[q], &lens[q]);
	*count = a->nodes[s->node].count;
	return (int) s->len;
}

/* Count of the items of set s at the positions in mask (or not in it). */
static uint32_t
subset_count(const Apriori *a, const OutSet *s, uint64_t mask, bool in)
{
	uint32_t	codes[64];
	int			n = 0;
	uint32_t	q;

	for (q = 0; q < s->len; q++)
		if (((mask >> q) & 1) == (in ? 1u : 0u))
			codes[n++] = a->rank_code[s->ranks[q]];
	sort_u32(codes, (size_t) n);
	return lookup(a, codes, n);
}

/*
 * AprioriMakeRules
 *		Every rule X -> Y from every frequent itemset of two or more items
 *		with enough confidence and lift; ordered by itemset, then antecedent
 *		(as a bit mask over the itemset's sorted items).
 */
bool
AprioriMakeRules(Apriori *a, MiningError *err)
{
	MiningEnv  *env = a->env;
	double		n = (double) a->ntrans;
	size_t		i;
	uint64_t	work = 0;

	if (!a->mined || a->out == NULL)
		return MiningSetError(err, MINING_ERR_INTERNAL, "rules asked before mining");
	for (i = 0; i < a->nout; i++)
	{
		const OutSet *s = &a->out[i];
		uint32_t	cz = a->nodes[s->node].count;
		uint64_t	mask,
					full;

		if (s->len < 2)
			continue;
		if (s->len > 31)
			return MiningSetError(err, MINING_ERR_LIMIT, "a frequent itemset of %u items has too many rules", s->len);
		full = (UINT64_C(1) << s->len) - 1;
		for (mask = 1; mask < full; mask++)
		{
			uint32_t	cx,
						cy;
			double		conf,
						lift;

			if (++work % APRIORI_CHECK_EVERY == 0 && MiningInterrupted(env))
				return MiningSetError(err, MINING_ERR_CANCELED, "canceled");
			cx = subset_count(a, s, mask, true);
			if (cx == 0)
				return MiningSetError(err, MINING_ERR_INTERNAL, "a subset of a frequent itemset is missing from the prefix tree");
			conf = (double) cz / (double) cx;
			if (conf < a->opt.min_confidence)
				continue;
			cy = subset_count(a, s, mask, false);
			if (cy == 0)
				return MiningSetError(err, MINING_ERR_INTERNAL, "a subset of a frequent itemset is missing from the prefix tree");
			lift = conf / ((double) cy / n);
			if (lift < a->opt.min_lift)
				continue;
			if (a->nrules >= a->opt.max_itemsets)
			{
				MiningSetError(err, MINING_ERR_LIMIT, "more than %llu rules",
							   (unsigned long long) a->opt.max_itemsets);
				MiningSetDetail(err, "Making rules had reached %zu rules from %zu of %zu frequent itemsets when it stopped.",
								a->nrules, i, a->nout);
				MiningSetHint(err, "Raise min_support or min_confidence, lower max_length, or raise the limit with the max_itemsets argument.");
				return false;
			}
			if (!reserve(env, (void **) &a->rules, a->nrules, &a->caprules, sizeof(Rule), 1024,
						 "rules", err))
				return false;
			a->rules[a->nrules].set = (uint32_t) i;
			a->rules[a->nrules].mask = (uint32_t) mask;
			a->rules[a->nrules].ante_count = cx;
			a->rules[a->nrules].cons_count = cy;
			a->nrules++;
		}
	}
	return true;
}

size_t
AprioriRuleCount(const Apriori *a)
{
	return a->nrules;
}

void
AprioriRule(const Apriori *a, size_t i, AprioriRuleOut *out,
			const char **ante, size_t *antelens,
			const char **cons, size_t *conslens)
{
	const Rule *r = &a->rules[i];
	const OutSet *s = &a->out[r->set];
	uint32_t	cz = a->nodes[s->node].count;
	double		n = (double) a->ntrans;
	uint32_t	q;

	out->nante = 0;
	out->ncons = 0;
	for (q = 0; q < s->len; q++)
	{
		if ((r->mask >> q) & 1)
		{
			rank_text(a, s->ranks[q], &ante[out->nante], &antelens[out->nante]);
			out->nante++;
		}
		else
		{
			rank_text(a, s->ranks[q], &cons[out->ncons], &conslens[out->ncons]);
			out->ncons++;
		}
	}
	out->count = cz;
	out->support = (double) cz / n;
	out->confidence = (double) cz / (double) r->ante_count;
	out->lift = out->confidence / ((double) r->cons_count / n);
}

void
AprioriDestroy(Apriori *a)
{
	MiningEnv  *env;

	if (a == NULL)
		return;
	env = a->env;
	keytab_free(env, &a->tids);
	keytab_free(env, &a->items);
	MiningFree(env, a->rows, a->caprows, sizeof(uint32_t));
	MiningFree(env, a->runs, a->capruns, sizeof(Run));
	MiningFree(env, a->bitems, a->nbitems, sizeof(uint32_t));
	MiningFree(env, a->boff, a->capboff, sizeof(size_t));
	MiningFree(env, a->code_item, a->nfreq > 0 ? a->nfreq : 1, sizeof(uint32_t));
	MiningFree(env, a->code_rank, a->nfreq > 0 ? a->nfreq : 1, sizeof(uint32_t));
	MiningFree(env, a->rank_code, a->nfreq > 0 ? a->nfreq : 1, sizeof(uint32_t));
	MiningFree(env, a->nodes, a->capnodes, sizeof(Node));
	MiningFree(env, a->out, a->nnodes > 1 ? a->nnodes - 1 : 1, sizeof(OutSet));
	MiningFree(env, a->out_ranks, a->nout_ranks, sizeof(uint32_t));
	MiningFree(env, a->rules, a->caprules, sizeof(Rule));
	MiningFree(env, a, 1, sizeof(Apriori));
}
