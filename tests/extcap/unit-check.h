/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unit-check.h - the check macro of vsockdump's C unit tests: a failed
 * check prints where and why and counts, the test goes on; main() returns
 * failures != 0.
 */
#ifndef VSOCKDUMP_UNIT_CHECK_H
#define VSOCKDUMP_UNIT_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		printf("FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); \
		putchar('\n'); \
		failures++; \
	} \
} while (0)

#endif /* VSOCKDUMP_UNIT_CHECK_H */
