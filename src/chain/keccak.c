/*
 * keccak.c
 *		Keccak-256 as Ethereum uses it: Keccak-f[1600], rate 136 bytes,
 *		padding 0x01 ... 0x80 (the submission's padding; FIPS 202's SHA3-256
 *		pads 0x06 and gives other hashes). Written by hand because Debian has
 *		no C library for it; tested against the published vectors
 *		(test/chain/vectors.c) and ethers.js.
 */
#include <string.h>

#include "chain/chain.h"

#define KECCAK_RATE 136			/* (1600 - 2 * 256) / 8 */

static const uint64_t round_constants[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL
};

/* rotation offsets and the pi permutation, in the order of the rho-pi walk */
static const int rho[24] = {
	1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14,
	27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44
};
static const int pi[24] = {
	10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4,
	15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1
};

static inline uint64_t
rol64(uint64_t x, int n)
{
	return (x << n) | (x >> (64 - n));
}

/* keccak_f: the 24-round permutation on the 5x5 lanes (lane x + 5y). */
static void
keccak_f(uint64_t st[25])
{
	uint64_t	bc[5];
	uint64_t	t;

	for (int round = 0; round < 24; round++)
	{
		/* theta */
		for (int i = 0; i < 5; i++)
			bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
		for (int i = 0; i < 5; i++)
		{
			t = bc[(i + 4) % 5] ^ rol64(bc[(i + 1) % 5], 1);
			for (int j = 0; j < 25; j += 5)
				st[j + i] ^= t;
		}
		/* rho and pi */
		t = st[1];
		for (int i = 0; i < 24; i++)
		{
			int			j = pi[i];

			bc[0] = st[j];
			st[j] = rol64(t, rho[i]);
			t = bc[0];
		}
		/* chi */
		for (int j = 0; j < 25; j += 5)
		{
			for (int i = 0; i < 5; i++)
				bc[i] = st[j + i];
			for (int i = 0; i < 5; i++)
				st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
		}
		/* iota */
		st[0] ^= round_constants[round];
	}
}

/* XOR byte b into the state at byte position pos (lanes are little-endian). */
static inline void
absorb_byte(uint64_t st[25], size_t pos, uint8_t b)
{
	st[pos / 8] ^= (uint64_t) b << (8 * (pos % 8));
}

void
ChainKeccakInit(ChainKeccak *k)
{
	memset(k, 0, sizeof(*k));
}

void
ChainKeccakUpdate(ChainKeccak *k, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* finish a partial block byte by byte */
	while (len > 0 && k->pos != 0)
	{
		absorb_byte(k->st, k->pos, *p++);
		len--;
		if (++k->pos == KECCAK_RATE)
		{
			keccak_f(k->st);
			k->pos = 0;
		}
	}
	/* whole blocks, a lane at a time */
	while (len >= KECCAK_RATE)
	{
		for (int i = 0; i < KECCAK_RATE / 8; i++)
		{
			uint64_t	lane = 0;

			for (int b = 7; b >= 0; b--)
				lane = (lane << 8) | p[8 * i + b];
			k->st[i] ^= lane;
		}
		keccak_f(k->st);
		p += KECCAK_RATE;
		len -= KECCAK_RATE;
	}
	while (len > 0)
	{
		absorb_byte(k->st, k->pos++, *p++);
		len--;
	}
}

void
ChainKeccakFinal(ChainKeccak *k, uint8_t out[CHAIN_HASH_LEN])
{
	absorb_byte(k->st, k->pos, 0x01);
	absorb_byte(k->st, KECCAK_RATE - 1, 0x80);
	keccak_f(k->st);
	for (int i = 0; i < CHAIN_HASH_LEN; i++)
		out[i] = (uint8_t) (k->st[i / 8] >> (8 * (i % 8)));
	memset(k, 0, sizeof(*k));
}

void
ChainKeccak256(const void *data, size_t len, uint8_t out[CHAIN_HASH_LEN])
{
	ChainKeccak k;

	ChainKeccakInit(&k);
	ChainKeccakUpdate(&k, data, len);
	ChainKeccakFinal(&k, out);
}
