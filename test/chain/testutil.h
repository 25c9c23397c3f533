/*
 * testutil.h
 *		Small helpers the chain test programs share: checks that count
 *		failures, hex in and out.
 */
#ifndef CHAIN_TESTUTIL_H
#define CHAIN_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern int	t_failures;
extern int	t_checks;

/* Record one check; print what failed. Returns ok. */
extern bool t_ok(bool ok, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Compare bytes with expected hex (no 0x); prints both on mismatch. */
extern bool t_hex(const uint8_t *got, size_t len, const char *want_hex, const char *what);

/* Decode hex (optional 0x) into a malloc'd buffer; exits on bad hex. */
extern uint8_t *t_unhex(const char *hex, size_t *len);

/* Print "N passed, M failed" and return the exit status. */
extern int	t_done(const char *name);

#endif
