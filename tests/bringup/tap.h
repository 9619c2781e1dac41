/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP 13 reporting for the guest tests, in the output format of
 * kselftest (plan first, one "ok N name" or "not ok N name" per test,
 * diagnostics as "# " lines, exit code 0 pass, 1 fail, 4 skip).
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef __CIM_TAP_H__
#define __CIM_TAP_H__

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define TAP_EXIT_PASS	0
#define TAP_EXIT_FAIL	1
#define TAP_EXIT_SKIP	4

/**
 * struct tap_test - one running test
 * @name: printed in the result line
 * @failed: set by the first failed expectation
 * @skip: if not NULL, the test is reported as skipped with this reason
 */
struct tap_test {
	const char *name;
	bool failed;
	const char *skip;
};

struct tap_state {
	int planned;
	int done;
	int failed;
	int skipped;
};

extern struct tap_state tap;

static inline void tap_plan(int n)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%d\n", n);
	tap.planned = n;
}

__attribute__((format(printf, 1, 2)))
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Print the result of @t */
static inline void tap_report(const struct tap_test *t)
{
	tap.done++;
	if (t->skip) {
		tap.skipped++;
		printf("ok %d %s # SKIP %s\n", tap.done, t->name, t->skip);
	} else if (t->failed) {
		tap.failed++;
		printf("not ok %d %s\n", tap.done, t->name);
	} else {
		printf("ok %d %s\n", tap.done, t->name);
	}
	fflush(stdout);
}

/* Exit code after the last result: a missing result counts as a failure */
static inline int tap_finish(void)
{
	if (tap.done != tap.planned) {
		tap_diag("planned %d tests, ran %d", tap.planned, tap.done);
		return TAP_EXIT_FAIL;
	}
	tap_diag("totals: pass:%d fail:%d skip:%d", tap.done - tap.failed -
		 tap.skipped, tap.failed, tap.skipped);
	if (tap.failed)
		return TAP_EXIT_FAIL;
	return tap.skipped == tap.done ? TAP_EXIT_SKIP : TAP_EXIT_PASS;
}

/*
 * Record an expectation of test @t; on failure print where and why. Returns
 * @cond so that a test can stop: if (!EXPECT(t, x == 1, "x %d", x)) return;
 */
#define EXPECT(t, cond, ...) \
	tap_expect((t), (cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

__attribute__((format(printf, 6, 7)))
static inline bool tap_expect(struct tap_test *t, bool cond, const char *file,
			      int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	if (cond)
		return true;
	t->failed = true;
	printf("# %s: %s:%d: failed: %s: ", t->name, file, line, expr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	return false;
}

/* EXPECT for two integers, printing both */
#define EXPECT_EQ(t, got, want) \
	tap_expect((t), (unsigned long long)(got) == (unsigned long long)(want), \
		   __FILE__, __LINE__, #got " == " #want, "0x%llx, expected 0x%llx", \
		   (unsigned long long)(got), (unsigned long long)(want))

#endif /* __CIM_TAP_H__ */
