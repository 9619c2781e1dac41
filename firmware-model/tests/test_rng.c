// SPDX-License-Identifier: MIT
/* The model's random streams: reproducible, independent, well distributed. */
#include <math.h>

#include "unit.h"
#include "rng.h"

START_TEST(test_rng_same_seed_same_bits)
{
	struct cimfw_rng a, b;
	int i;

	cimfw_rng_seed(&a, 42, 7);
	cimfw_rng_seed(&b, 42, 7);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(cimfw_rng_next(&a), cimfw_rng_next(&b));
}
END_TEST

START_TEST(test_rng_streams_differ)
{
	struct cimfw_rng a, b;
	int i, same = 0;

	cimfw_rng_seed(&a, 42, 1);
	cimfw_rng_seed(&b, 42, 2);
	for (i = 0; i < 1000; i++)
		same += cimfw_rng_next(&a) == cimfw_rng_next(&b);
	ck_assert_int_eq(same, 0);
}
END_TEST

START_TEST(test_rng_normal_moments)
{
	struct cimfw_rng r;
	double sum = 0, sum2 = 0, v;
	const int n = 200000;
	int i;

	cimfw_rng_seed(&r, 1, 1);
	for (i = 0; i < n; i++) {
		v = cimfw_rng_normal(&r);
		sum += v;
		sum2 += v * v;
	}
	/* 5 standard errors: mean 1/sqrt(n), variance sqrt(2/n) */
	ck_assert_double_le(fabs(sum / n), 5.0 / sqrt(n));
	ck_assert_double_le(fabs(sum2 / n - 1.0), 5.0 * sqrt(2.0 / n));
}
END_TEST

START_TEST(test_rng_uniform_range)
{
	struct cimfw_rng r;
	double v, lo = 1, hi = 0;
	int i;

	cimfw_rng_seed(&r, 3, 3);
	for (i = 0; i < 100000; i++) {
		v = cimfw_rng_uniform(&r);
		ck_assert(v >= 0.0 && v < 1.0);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	ck_assert_double_lt(lo, 1e-3);
	ck_assert_double_gt(hi, 1.0 - 1e-3);
}
END_TEST

Suite *rng_suite(void)
{
	Suite *s = suite_create("rng");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rng_same_seed_same_bits);
	tcase_add_test(tc, test_rng_streams_differ);
	tcase_add_test(tc, test_rng_normal_moments);
	tcase_add_test(tc, test_rng_uniform_range);
	suite_add_tcase(s, tc);
	return s;
}
