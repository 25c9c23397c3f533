/*
 * test_crc.c
 *		XlsxCrc32 (zip.c: folded with PCLMULQDQ where the CPU has it) against
 *		zlib's crc32, the independent oracle, and both against the published
 *		check value of CRC-32 ("123456789" -> 0xcbf43926): every length from
 *		0 to 600 at every alignment 0-15, from several starting CRCs, and a
 *		1 MB buffer split at random points (the CRC of a stream in pieces).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "xlsx.h"
#include "xlsx_internal.h"

int
main(void)
{
	size_t		big = 1 << 20;
	unsigned char *buf = malloc(big + 64);
	int			failures = 0;
	long		checks = 0;
	uint32_t	starts[] = {0, 1, 0xcbf43926, 0xffffffff, 0x80000000};
	unsigned	seed = 12345;

	if (buf == NULL)
		return 2;
	for (size_t i = 0; i < big + 64; i++)
	{
		seed = seed * 1103515245 + 12345;
		buf[i] = (unsigned char) (seed >> 16);
	}

	if (XlsxCrc32(0, "123456789", 9) != 0xcbf43926 ||
		XlsxCrc32(0, "123456789012345678901234567890123456789012345678901234567890123456789", 69) !=
		(uint32_t) crc32(0, (const Bytef *) "123456789012345678901234567890123456789012345678901234567890123456789", 69))
	{
		printf("FAIL check value\n");
		failures++;
	}
	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++)
		for (size_t align = 0; align < 16; align++)
			for (size_t len = 0; len <= 600; len++)
			{
				uint32_t	want = (uint32_t) crc32(starts[s], buf + align, (uInt) len);
				uint32_t	got = XlsxCrc32(starts[s], buf + align, len);

				checks++;
				if (got != want)
				{
					if (failures++ < 10)
						printf("FAIL start %08x align %zu len %zu: %08x, zlib %08x\n",
							   starts[s], align, len, got, want);
				}
			}
	for (int round = 0; round < 200; round++)
	{
		uint32_t	want = (uint32_t) crc32(0, buf, (uInt) big);
		uint32_t	got = 0;
		size_t		off = 0;

		while (off < big)
		{
			size_t		n;

			seed = seed * 1103515245 + 12345;
			n = (seed >> 8) % (round < 100 ? 300 : 70000);
			if (n > big - off)
				n = big - off;
			got = XlsxCrc32(got, buf + off, n);
			off += n;
		}
		checks++;
		if (got != want)
		{
			if (failures++ < 10)
				printf("FAIL split round %d: %08x, zlib %08x\n", round, got, want);
		}
	}
	printf("test_crc: %ld checks, %d failure(s)\n", checks, failures);
	free(buf);
	return failures ? 1 : 0;
}
