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

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/*
 * keccak_f: the 24-round permutation on the 5x5 lanes (lane x + 5y), fully
 * unrolled within a round so that the 25 lanes live in registers (the loop
 * form with index tables ran at a third of the speed).
 */
static void
keccak_f(uint64_t st[25])
{
	uint64_t	a0 = st[0], a1 = st[1], a2 = st[2], a3 = st[3], a4 = st[4],
				a5 = st[5], a6 = st[6], a7 = st[7], a8 = st[8], a9 = st[9],
				a10 = st[10], a11 = st[11], a12 = st[12], a13 = st[13], a14 = st[14],
				a15 = st[15], a16 = st[16], a17 = st[17], a18 = st[18], a19 = st[19],
				a20 = st[20], a21 = st[21], a22 = st[22], a23 = st[23], a24 = st[24];
	uint64_t	b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24;
	uint64_t	c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;

	for (int round = 0; round < 24; round++)
	{
		/* theta */
		c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
		c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
		c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
		c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
		c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
		d0 = c4 ^ ROL64(c1, 1);
		d1 = c0 ^ ROL64(c2, 1);
		d2 = c1 ^ ROL64(c3, 1);
		d3 = c2 ^ ROL64(c4, 1);
		d4 = c3 ^ ROL64(c0, 1);
		/* rho and pi: b[y, 2x + 3y] = rol(a[x, y] ^ d[x], r[x, y]) */
		b0 = (a0 ^ d0);
		b10 = ROL64(a1 ^ d1, 1);
		b20 = ROL64(a2 ^ d2, 62);
		b5 = ROL64(a3 ^ d3, 28);
		b15 = ROL64(a4 ^ d4, 27);
		b16 = ROL64(a5 ^ d0, 36);
		b1 = ROL64(a6 ^ d1, 44);
		b11 = ROL64(a7 ^ d2, 6);
		b21 = ROL64(a8 ^ d3, 55);
		b6 = ROL64(a9 ^ d4, 20);
		b7 = ROL64(a10 ^ d0, 3);
		b17 = ROL64(a11 ^ d1, 10);
		b2 = ROL64(a12 ^ d2, 43);
		b12 = ROL64(a13 ^ d3, 25);
		b22 = ROL64(a14 ^ d4, 39);
		b23 = ROL64(a15 ^ d0, 41);
		b8 = ROL64(a16 ^ d1, 45);
		b18 = ROL64(a17 ^ d2, 15);
		b3 = ROL64(a18 ^ d3, 21);
		b13 = ROL64(a19 ^ d4, 8);
		b14 = ROL64(a20 ^ d0, 18);
		b24 = ROL64(a21 ^ d1, 2);
		b9 = ROL64(a22 ^ d2, 61);
		b19 = ROL64(a23 ^ d3, 56);
		b4 = ROL64(a24 ^ d4, 14);
		/* chi */
		a0 = b0 ^ (~b1 & b2);
		a1 = b1 ^ (~b2 & b3);
		a2 = b2 ^ (~b3 & b4);
		a3 = b3 ^ (~b4 & b0);
		a4 = b4 ^ (~b0 & b1);
		a5 = b5 ^ (~b6 & b7);
		a6 = b6 ^ (~b7 & b8);
		a7 = b7 ^ (~b8 & b9);
		a8 = b8 ^ (~b9 & b5);
		a9 = b9 ^ (~b5 & b6);
		a10 = b10 ^ (~b11 & b12);
		a11 = b11 ^ (~b12 & b13);
		a12 = b12 ^ (~b13 & b14);
		a13 = b13 ^ (~b14 & b10);
		a14 = b14 ^ (~b10 & b11);
		a15 = b15 ^ (~b16 & b17);
		a16 = b16 ^ (~b17 & b18);
		a17 = b17 ^ (~b18 & b19);
		a18 = b18 ^ (~b19 & b15);
		a19 = b19 ^ (~b15 & b16);
		a20 = b20 ^ (~b21 & b22);
		a21 = b21 ^ (~b22 & b23);
		a22 = b22 ^ (~b23 & b24);
		a23 = b23 ^ (~b24 & b20);
		a24 = b24 ^ (~b20 & b21);
		/* iota */
		a0 ^= round_constants[round];
	}
	st[0] = a0;
	st[1] = a1;
	st[2] = a2;
	st[3] = a3;
	st[4] = a4;
	st[5] = a5;
	st[6] = a6;
	st[7] = a7;
	st[8] = a8;
	st[9] = a9;
	st[10] = a10;
	st[11] = a11;
	st[12] = a12;
	st[13] = a13;
	st[14] = a14;
	st[15] = a15;
	st[16] = a16;
	st[17] = a17;
	st[18] = a18;
	st[19] = a19;
	st[20] = a20;
	st[21] = a21;
	st[22] = a22;
	st[23] = a23;
	st[24] = a24;
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
			uint64_t	lane;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			memcpy(&lane, p + 8 * i, 8);	/* lanes are little-endian */
#else
			lane = 0;
			for (int b = 7; b >= 0; b--)
				lane = (lane << 8) | p[8 * i + b];
#endif
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
