// SPDX-License-Identifier: MIT
/*
 * Digital update unit: accumulation order and sign, transfer with the
 * remainder kept, clamping, the saturation rule and the accounting.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "duu.h"

static struct cim_fw_config cfg;
static struct cim_xbar xb;
static float eps;

static void tile_init(void)
{
	unit_config_ideal(&cfg);
	ck_assert_int_eq(cim_xbar_init(&xb, &cfg, 0), 0);
	eps = 1.0f / (float)(cfg.levels - 1);
}

static const struct cim_xbar_win one_cell = { 2, 1, 3, 1 };

static size_t cell23(void)
{
	return (size_t)2 * xb.cols + 3;
}

static void set_levels(size_t cell, unsigned int kp, unsigned int km)
{
	xb.kp[cell] = (uint8_t)kp;
	xb.km[cell] = (uint8_t)km;
	xb.kdiff[cell] = (float)kp - (float)km;
	xb.lev_valid = false;
}

START_TEST(test_duu_remainder_kept)
{
	struct cim_duu_report rep;
	struct cim_meter m = { 0 };
	float chi0;

	tile_init();
	chi0 = 2.7f * eps;
	xb.chi[cell23()] = chi0;
	cim_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_float_eq(xb.chi[cell23()], chi0 - 2.0f * eps);
	ck_assert_uint_eq(xb.kp[cell23()], 2);
	ck_assert_uint_eq(xb.km[cell23()], 0);
	ck_assert_uint_eq(rep.cells_pulsed, 1);
	ck_assert_uint_eq(rep.pulses_pos, 2);
	ck_assert_uint_eq(rep.pulses_neg, 0);
	ck_assert_uint_eq(rep.clamped, 0);
	ck_assert_uint_eq(rep.saturated, 0);
	/* the remainder adds up with the next update */
	xb.chi[cell23()] += 0.5f * eps;
	cim_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(xb.kp[cell23()], 3);
	ck_assert_uint_eq(m.pulses_pos, 3);
	cim_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_clamp_keeps_excess)
{
	struct cim_duu_report rep;
	struct cim_meter m = { 0 };
	float chi0;

	tile_init();
	chi0 = -40.25f * eps;
	set_levels(cell23(), 0, 0);
	xb.chi[cell23()] = chi0;
	cim_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_float_eq(xb.chi[cell23()], chi0 + 31.0f * eps);
	ck_assert_uint_eq(rep.clamped, 1);
	ck_assert_uint_eq(rep.pulses_neg, 31);
	ck_assert_uint_eq(xb.km[cell23()], 31);
	/* the excess goes out with the next transfer */
	cim_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(rep.clamped, 0);
	ck_assert_uint_eq(rep.pulses_neg, 9);
	ck_assert_uint_eq(xb.km[cell23()], 40);
	ck_assert_float_lt(fabsf(xb.chi[cell23()]), eps);
	/* huge chi: the conversion is guarded, the clamp still applies */
	xb.chi[cell23()] = 1e30f;
	cim_duu_transfer(&xb, &one_cell, eps, 5, &rep, &m);
	ck_assert_uint_eq(rep.pulses_pos, 5);
	ck_assert_uint_eq(rep.clamped, 1);
	cim_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_sign_convention)
{
	struct cim_duu_report rep;
	struct cim_meter m = { 0 };
	struct cim_xbar_win w = { 0, 2, 0, 2 };
	float x[2] = { 1.0f, 0.0f }, d[2] = { -1.0f, 2.0f };
	float wt[4];

	tile_init();
	/* chi = -lr x d: d < 0 raises the weight, d > 0 lowers it */
	cim_duu_accumulate(&xb, &w, 1, x, d, 0.5f, &m);
	ck_assert_float_eq(xb.chi[0], 0.5f);
	ck_assert_float_eq(xb.chi[1], -1.0f);
	ck_assert_float_eq(xb.chi[xb.cols], 0.0f);
	cim_duu_transfer(&xb, &w, eps, 255, &rep, &m);
	cim_xbar_read_weights(&xb, &w, wt);
	ck_assert_float_gt(wt[0], 0.0f);
	ck_assert_float_lt(wt[1], 0.0f);
	ck_assert_float_eq(wt[2], 0.0f);
	/* trunc(0.5 / eps) = 63 levels up, about 127 down */
	ck_assert_uint_eq(xb.kp[0], 63);
	ck_assert_uint_eq(xb.km[1], (unsigned int)(1.0f / eps));
	ck_assert_uint_eq(rep.pulses_pos, 63);
	ck_assert_uint_eq(rep.pulses_neg, (unsigned int)(1.0f / eps));
	cim_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_saturation_rule)
{
	struct cim_duu_report rep;
	struct cim_meter m = { 0 };
	unsigned int top;
	size_t c;

	tile_init();
	top = cfg.levels - 1;
	c = cell23();
	/* G+ at max: a raise depresses G- instead */
	set_levels(c, top, 10);
	xb.chi[c] = 3.5f * eps;
	cim_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(xb.kp[c], top);
	ck_assert_uint_eq(xb.km[c], 7);
	ck_assert_uint_eq(rep.saturated, 1);
	ck_assert_uint_eq(rep.pulses_pos, 3);
	ck_assert_uint_eq(rep.cells_pulsed, 1);
	/* mirror: G- at max, a lowering depresses G+ */
	set_levels(c, 20, top);
	xb.chi[c] = -4.5f * eps;
	cim_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(xb.kp[c], 16);
	ck_assert_uint_eq(rep.saturated, 1);
	ck_assert_uint_eq(rep.pulses_neg, 4);
	/* both routes closed: nothing moves, no pulse, chi still drained */
	set_levels(c, top, 0);
	xb.chi[c] = 2.5f * eps;
	cim_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(xb.kp[c], top);
	ck_assert_uint_eq(xb.km[c], 0);
	ck_assert_uint_eq(rep.saturated, 1);
	ck_assert_uint_eq(rep.pulses_pos, 0);
	ck_assert_uint_eq(rep.cells_pulsed, 0);
	ck_assert_float_eq(xb.chi[c], 2.5f * eps - 2.0f * eps);
	cim_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_below_threshold)
{
	struct cim_duu_report rep;
	struct cim_meter m = { 0 };
	struct cim_xbar_win w = { 0, 64, 0, 48 };
	size_t c, n;

	tile_init();
	n = (size_t)xb.rows * xb.cols;
	for (c = 0; c < n; c++)
		xb.chi[c] = (c % 2 ? 0.99f : -0.99f) * eps;
	cim_duu_transfer(&xb, &w, eps, 31, &rep, &m);
	ck_assert_uint_eq(rep.cells_pulsed, 0);
	ck_assert_uint_eq(rep.pulses_pos + rep.pulses_neg, 0);
	ck_assert_double_eq(m.energy_fj[CIM_UNIT_PULSE], 0.0);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_PULSE], 0.0);
	for (c = 0; c < n; c++) {
		ck_assert_float_eq(xb.chi[c], (c % 2 ? 0.99f : -0.99f) * eps);
		ck_assert_uint_eq(xb.kp[c] + xb.km[c], 0);
	}
	cim_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_batch_equals_sequential)
{
	enum { B = 8, R = 20, C = 30 };
	struct cim_meter m = { 0 };
	struct cim_xbar_win w = { 5, R, 7, C };
	float x[B * R], d[B * C], *chi1;
	struct cim_rng r;
	unsigned int b, i, j;
	size_t c;

	tile_init();
	cim_rng_seed(&r, 21, 21);
	for (i = 0; i < B * R; i++)
		x[i] = (float)cim_rng_uniform(&r);
	for (i = 0; i < B * C; i++)
		d[i] = (float)(cim_rng_uniform(&r) - 0.5);
	cim_duu_accumulate(&xb, &w, B, x, d, 0.1f, &m);
	ck_assert_uint_eq(m.duu_macs, B * R * C);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_DUU],
				B * R * C * cfg.cost.e_duu_mac_fj, 1e-6);
	ck_assert_double_eq_tol(m.busy_ps[CIM_UNIT_DUU],
				B * R * C / cfg.cost.duu_macs_per_ns * 1e3,
				1e-6);
	chi1 = malloc(sizeof(*chi1) * xb.rows * xb.cols);
	memcpy(chi1, xb.chi, sizeof(*chi1) * xb.rows * xb.cols);
	memset(xb.chi, 0, sizeof(*chi1) * xb.rows * xb.cols);
	for (b = 0; b < B; b++)
		cim_duu_accumulate(&xb, &w, 1, x + b * R, d + b * C, 0.1f, &m);
	for (i = 0; i < xb.rows; i++) {
		for (j = 0; j < xb.cols; j++) {
			c = (size_t)i * xb.cols + j;
			ck_assert_double_eq_tol(xb.chi[c], chi1[c], 1e-6);
			if (i < 5 || i >= 5 + R || j < 7 || j >= 7 + C)
				ck_assert_float_eq(chi1[c], 0.0f);
		}
	}
	/* spot check one cell against the definition */
	{
		double ref = 0;

		for (b = 0; b < B; b++)
			ref -= 0.1 * x[b * R + 3] * d[b * C + 4];
		ck_assert_double_eq_tol(chi1[(size_t)8 * xb.cols + 11], ref,
					1e-6);
	}
	free(chi1);
	cim_xbar_fini(&xb);
}
END_TEST

/*
 * eps = 1/(levels-1) is one level: on ideal devices w + chi is conserved
 * by a transfer. A coarser eps moves proportionally more per unit.
 */
START_TEST(test_duu_eps_choice)
{
	struct cim_duu_report rep;
	struct cim_meter m = { 0 };
	struct cim_xbar_win w = { 0, 64, 0, 48 };
	struct cim_rng r;
	float *w0, *w1;
	size_t c, n;

	tile_init();
	n = (size_t)xb.rows * xb.cols;
	w0 = malloc(sizeof(*w0) * n);
	w1 = malloc(sizeof(*w1) * n);
	cim_rng_seed(&r, 4, 4);
	for (c = 0; c < n; c++) {
		set_levels(c, 40, 20);
		xb.chi[c] = (float)((cim_rng_uniform(&r) - 0.5) * 0.3);
	}
	cim_xbar_read_weights(&xb, &w, w0);
	for (c = 0; c < n; c++)
		w0[c] += xb.chi[c];
	cim_duu_transfer(&xb, &w, eps, 31, &rep, &m);
	ck_assert_uint_gt(rep.cells_pulsed, n / 2);
	cim_xbar_read_weights(&xb, &w, w1);
	for (c = 0; c < n; c++) {
		ck_assert_double_eq_tol(w1[c] + xb.chi[c], w0[c], 1e-5);
		ck_assert_float_lt(fabsf(xb.chi[c]), eps);
	}
	/* eps of two levels: one pulse per 2 eps of chi */
	set_levels(cell23(), 50, 0);
	xb.chi[cell23()] = 4.5f * eps;
	cim_duu_transfer(&xb, &one_cell, 2.0f * eps, 31, &rep, &m);
	ck_assert_uint_eq(rep.pulses_pos, 2);
	ck_assert_uint_eq(xb.kp[cell23()], 52);
	free(w0);
	free(w1);
	cim_xbar_fini(&xb);
}
END_TEST

/* rows one after another, columns in parallel */
START_TEST(test_duu_transfer_cost)
{
	struct cim_duu_report rep;
	struct cim_meter m = { 0 };
	struct cim_xbar_win w = { 0, 3, 0, 3 };

	tile_init();
	xb.chi[0] = 2.5f * eps;
	xb.chi[1] = -5.5f * eps;
	xb.chi[(size_t)2 * xb.cols + 2] = 3.5f * eps;
	cim_duu_transfer(&xb, &w, eps, 31, &rep, &m);
	ck_assert_uint_eq(rep.cells_pulsed, 3);
	ck_assert_uint_eq(m.pulses_pos, 5);
	ck_assert_uint_eq(m.pulses_neg, 5);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_PULSE],
				10 * cfg.cost.e_pulse_fj, 1e-6);
	ck_assert_double_eq_tol(m.busy_ps[CIM_UNIT_PULSE],
				(5 + 3) * cfg.cost.t_pulse_ps, 1e-6);
	cim_xbar_fini(&xb);
}
END_TEST

Suite *duu_suite(void)
{
	Suite *s = suite_create("duu");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_duu_remainder_kept);
	tcase_add_test(tc, test_duu_clamp_keeps_excess);
	tcase_add_test(tc, test_duu_sign_convention);
	tcase_add_test(tc, test_duu_saturation_rule);
	tcase_add_test(tc, test_duu_below_threshold);
	tcase_add_test(tc, test_duu_batch_equals_sequential);
	tcase_add_test(tc, test_duu_eps_choice);
	tcase_add_test(tc, test_duu_transfer_cost);
	suite_add_tcase(s, tc);
	return s;
}
