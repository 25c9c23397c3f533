/*
 * apriori.h
 *		Frequent itemsets and association rules over baskets: the core of
 *		megamarket.apriori() and megamarket.frequent_itemsets(). No backend
 *		headers (see mining.h): it builds alone into the unit test
 *		(test/mining/apriori) and the benchmark's core timer.
 *
 * Use: AprioriCreate, then AprioriAdd once per (transaction, item) row,
 * AprioriMine, then read the itemsets (AprioriItemset) or make the rules
 * (AprioriMakeRules, AprioriRule), AprioriDestroy. Every function that can
 * fail fills a MiningError and returns false / NULL.
 *
 * The results are exactly those of textbook Apriori (Agrawal & Srikant,
 * VLDB 1994): every itemset of at most max_length items contained in at
 * least min_count transactions, and every rule X -> Y with X, Y non-empty,
 * disjoint, X u Y frequent, confidence count(X u Y) / count(X) at least
 * min_confidence and lift confidence / (count(Y) / N) at least min_lift.
 */
#ifndef MEGAMARKET_APRIORI_H
#define MEGAMARKET_APRIORI_H

#include "mining/mining.h"

/*
 * How the itemsets are found; every way gives the same itemsets. AUTO is the
 * one measured fastest on retail baskets (docs/mining.md, bench/apriori).
 */
typedef enum AprioriAlgorithm
{
	APRIORI_ALGO_AUTO = 0,
	APRIORI_ALGO_LEVELWISE,		/* Apriori over a prefix tree, level by level;
								 * pairs in a triangular array */
	APRIORI_ALGO_DEPTHFIRST,	/* projections with occurrence delivery */
	APRIORI_ALGO_ECLAT			/* Eclat over bit vectors of transactions,
								 * depth first; pairs in a triangular array */
} AprioriAlgorithm;

typedef struct AprioriOptions
{
	double		min_support;	/* < 1: fraction of transactions; >= 1: count */
	double		min_confidence; /* 0 .. 1 */
	double		min_lift;		/* >= 0 */
	int			max_length;		/* items in an itemset, >= 1 */
	uint64_t	max_itemsets;	/* output limit: frequent itemsets held, and
								 * rules made; >= 1 */
	AprioriAlgorithm algorithm;
} AprioriOptions;

#define APRIORI_DEFAULT_MAX_ITEMSETS 1000000

typedef struct Apriori Apriori;

/* Check opt (MINING_ERR_ARGUMENT naming the bad one) and make an empty run. */
extern Apriori *AprioriCreate(MiningEnv *env, const AprioriOptions *opt, MiningError *err);

/*
 * One input row: transaction key tid (tidlen bytes, compared bytewise) and
 * item text (itemlen bytes, no NUL inside; compared and sorted bytewise).
 * item == NULL registers the transaction without an item (a row whose item
 * was NULL: the basket still counts in N). A repeated (tid, item) counts
 * once. Rows of one transaction need not be adjacent (adjacent is faster).
 */
extern bool AprioriAdd(Apriori *a, const char *tid, size_t tidlen,
					   const char *item, size_t itemlen, MiningError *err);

/* Find the frequent itemsets. MINING_ERR_DATA if no row was added. */
extern bool AprioriMine(Apriori *a, MiningError *err);

/* After AprioriMine: the search that ran (AUTO resolved, and the level-wise
 * search when Eclat's bit vectors did not fit in the budget) */
extern AprioriAlgorithm AprioriAlgorithmUsed(const Apriori *a);

/* After AprioriMine: transactions N, and the absolute support threshold */
extern uint64_t AprioriTransactions(const Apriori *a);
extern uint64_t AprioriMinCount(const Apriori *a);

/*
 * Frequent itemsets, ordered by length, then by their items (bytewise);
 * items[]/lens[] (room for max_length entries) get the items, sorted
 * bytewise; returns the number of items, *count the transactions holding it.
 */
extern size_t AprioriItemsetCount(const Apriori *a);
extern int	AprioriItemset(const Apriori *a, size_t i, const char **items, size_t *lens,
						   uint64_t *count);

/* Make the rules (after AprioriMine); MINING_ERR_LIMIT past max_itemsets. */
extern bool AprioriMakeRules(Apriori *a, MiningError *err);
extern size_t AprioriRuleCount(const Apriori *a);

typedef struct AprioriRuleOut
{
	int			nante;			/* antecedent: ante[0..nante), sorted */
	int			ncons;			/* consequent: cons[0..ncons), sorted */
	uint64_t	count;			/* transactions holding antecedent and
								 * consequent */
	double		support;		/* count / N */
	double		confidence;		/* count / count(antecedent) */
	double		lift;			/* confidence / (count(consequent) / N) */
} AprioriRuleOut;

/* Rule i; ante/antelens and cons/conslens have room for max_length items. */
extern void AprioriRule(const Apriori *a, size_t i, AprioriRuleOut *out,
						const char **ante, size_t *antelens,
						const char **cons, size_t *conslens);

/* Free everything (NULL is fine). */
extern void AprioriDestroy(Apriori *a);

#endif							/* MEGAMARKET_APRIORI_H */
