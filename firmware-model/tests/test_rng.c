// SPDX-License-Identifier: MIT
/* The model's random streams: reproducible, independent, well distributed. */
#include <math.h>

#include "unit.h"
#include "rng.h"
#include "simd.h"

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

/*
 * The lanes' fill at every SIMD level this CPU has draws the bits of the
 * portable fill, whole rounds and partial ones, and leaves the same state.
 */
START_TEST(test_rng_lanes_levels_agree)
{
	enum cimfw_simd prev = cimfw_simd_level();
	struct cimfw_rng_lanes a, b;
	static float va[1000], vb[1000];
	unsigned int sizes[] = { 256, 13, 8, 100, 7, 1, 48, 33, 64 }, k;
	unsigned int off = 0;
	double s2 = 0;

	if (cimfw_simd_force(_i) != (enum cimfw_simd)_i) {
		cimfw_simd_force(prev);
		return;
	}
	cimfw_rng_lanes_seed(&a, 5, CIMFW_RNG_READ);
	cimfw_rng_lanes_seed(&b, 5, CIMFW_RNG_READ);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		cimfw_rng_lanes_normal_fill(&a, va + off, sizes[k]);
		cimfw_rng_lanes_normal_fill_generic(&b, vb + off, sizes[k]);
		off += sizes[k];
	}
	cimfw_simd_force(prev);
	ck_assert_mem_eq(va, vb, off * sizeof(float));
	ck_assert_mem_eq(&a, &b, sizeof(a));
	for (k = 0; k < off; k++)
		s2 += (double)va[k] * va[k];
	ck_assert_double_eq_tol(s2 / off, 1.0, 0.2);
}
END_TEST

/*
 * At every SIMD level, skipping rounds leaves the state that fills of
 * those rounds leave.
 */
START_TEST(test_rng_lanes_skip)
{
	enum cimfw_simd prev = cimfw_simd_level();
	struct cimfw_rng_lanes a, b;
	static float va[16 * 37 + 40], vb[40];

	if (cimfw_simd_force(_i) != (enum cimfw_simd)_i) {
		cimfw_simd_force(prev);
		return;
	}
	cimfw_rng_lanes_seed(&a, 9, CIMFW_RNG_READ);
	b = a;
	cimfw_rng_lanes_normal_fill(&a, va, 16 * 37);
	cimfw_rng_lanes_skip(&b, 37);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	cimfw_rng_lanes_normal_fill(&a, va, 40);
	cimfw_rng_lanes_normal_fill(&b, vb, 40);
	cimfw_simd_force(prev);
	ck_assert_mem_eq(va, vb, sizeof(vb));
	ck_assert_mem_eq(&a, &b, sizeof(a));
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
	tcase_add_loop_test(tc, test_rng_lanes_levels_agree, CIMFW_SIMD_C,
			    CIMFW_SIMD_LEVELS);
	tcase_add_loop_test(tc, test_rng_lanes_skip, CIMFW_SIMD_C,
			    CIMFW_SIMD_LEVELS);
	suite_add_tcase(s, tc);
	return s;
}
