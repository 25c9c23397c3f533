/*
 * testutil.c
 *		Helpers for the chain test programs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "testutil.h"

int			t_failures;
int			t_checks;

bool
t_ok(bool ok, const char *fmt,...)
{
	t_checks++;
	if (!ok)
	{
		va_list		ap;

		t_failures++;
		fprintf(stderr, "FAIL: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	return ok;
}

bool
t_hex(const uint8_t *got, size_t len, const char *want_hex, const char *what)
{
	char	   *g = malloc(2 * len + 3);
	bool		ok;

	ChainHexEncode(got, len, g, false);
	if (want_hex[0] == '0' && want_hex[1] == 'x')
		want_hex += 2;
	ok = strcasecmp(g, want_hex) == 0;
	t_ok(ok, "%s:\n  got  %s\n  want %s", what, g, want_hex);
	free(g);
	return ok;
}

uint8_t *
t_unhex(const char *hex, size_t *len)
{
	size_t		n = strlen(hex);
	uint8_t    *out = malloc(n / 2 + 1);
	ChainError	err;

	if (!ChainHexDecode(hex, n, out, n / 2 + 1, len, "test hex", &err))
	{
		fprintf(stderr, "bad hex in a test: %s\n", err.message);
		exit(2);
	}
	return out;
}

int
t_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, t_checks - t_failures, t_failures);
	return t_failures ? 1 : 0;
}
