/* SPDX-License-Identifier: MIT */
/*
 * Timing helpers of the benchmarks: a monotonic clock and the median of
 * repeated runs, which shrugs off the odd preempted run on a busy machine.
 */
#ifndef CIM_BENCH_H
#define CIM_BENCH_H

#include <stdlib.h>
#include <time.h>

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of @n samples; sorts @t in place. */
static inline double bench_median(double *t, unsigned int n)
{
	qsort(t, n, sizeof(*t), bench_cmp_double);
	return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/*
 * Seconds per call of fn(arg): @warm untimed calls, then the median of
 * @runs timed runs of @inner calls each.
 */
static inline double bench_time(void (*fn)(void *), void *arg,
				unsigned int warm, unsigned int runs,
				unsigned int inner)
{
	double *t = malloc(runs * sizeof(*t)), t0, med;
	unsigned int r, k;

	if (!t)
		return -1.0;
	for (k = 0; k < warm; k++)
		fn(arg);
	for (r = 0; r < runs; r++) {
		t0 = bench_now();
		for (k = 0; k < inner; k++)
			fn(arg);
		t[r] = (bench_now() - t0) / inner;
	}
	med = bench_median(t, runs);
	free(t);
	return med;
}

#endif /* CIM_BENCH_H */
