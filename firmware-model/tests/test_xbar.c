// SPDX-License-Identifier: MIT
/*
 * Crossbar tiles: level grid, pulse physics (soft bounds, variation,
 * noise, stuck devices), write-verify, the VMM and its accounting.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "duu.h"
#include "cimfw.h"
#include "simd.h"
#include "xbar.h"

static struct cimfw_config cfg;
static struct cimfw_xbar xb;
static uint64_t clock_ns;

static void tile_init(void)
{
	clock_ns = 0;
	ck_assert_int_eq(cimfw_xbar_init(&xb, &cfg, &clock_ns, 0), 0);
}

/* a tolerance of @lev nominal steps, in microsiemens */
static double tol_of(const struct cimfw_xbar *t, double lev)
{
	return lev * t->dg0 * t->unit_us;
}

/* the nearest level of a device (exact on an ideal tile) */
static unsigned int level_of(const struct cimfw_xbar *t, size_t d)
{
	return (unsigned int)lround(cimfw_xbar_level(t, d));
}

#define KP(t, c) level_of((t), 2 * (size_t)(c))
#define KM(t, c) level_of((t), 2 * (size_t)(c) + 1)

static void win_all(struct cimfw_xbar_win *w, const struct cimfw_xbar *t)
{
	*w = (struct cimfw_xbar_win){ 0, t->rows, 0, t->cols };
}

static void rand_vec(float *v, size_t n, uint64_t seed)
{
	struct cimfw_rng r;
	size_t i;

	cimfw_rng_seed(&r, seed, 77);
	for (i = 0; i < n; i++)
		v[i] = (float)(2.0 * cimfw_rng_uniform(&r) - 1.0);
}

/* put devices at nominal levels directly */
static void set_levels(struct cimfw_xbar *t, size_t cell, unsigned int kp,
		       unsigned int km)
{
	cimfw_xbar_set_g(t, 2 * cell, cimfw_xbar_level_g(t, kp));
	cimfw_xbar_set_g(t, 2 * cell + 1, cimfw_xbar_level_g(t, km));
}

/* copy cell @from of @s into cell @cell of @t */
static void set_pair(struct cimfw_xbar *t, size_t cell,
		     const struct cimfw_xbar *s, size_t from)
{
	cimfw_xbar_set_g(t, 2 * cell, s->g[2 * from]);
	cimfw_xbar_set_g(t, 2 * cell + 1, s->g[2 * from + 1]);
}

START_TEST(test_xbar_level_grid)
{
	struct cimfw_program_stats st;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w;
	unsigned int top, i;
	float *wt, *rd, *g;
	double k;

	unit_config_ideal(&cfg);
	tile_init();
	top = cfg.levels - 1;
	win_all(&w, &xb);
	wt = malloc(sizeof(*wt) * xb.rows * xb.cols);
	rd = malloc(sizeof(*rd) * xb.rows * xb.cols);
	g = malloc(sizeof(*g) * xb.rows * xb.cols * 2);
	rand_vec(wt, xb.rows * xb.cols, 1);
	cimfw_xbar_program(&xb, &w, wt, 10, tol_of(&xb, 0.5), &st, &m);
	ck_assert_uint_eq(st.rep.failed, 0);
	ck_assert_uint_eq(st.rep.cells, xb.rows * xb.cols);
	cimfw_xbar_read_weights(&xb, &w, rd);
	cimfw_xbar_read_g(&xb, &w, g);
	for (i = 0; i < xb.rows * xb.cols; i++) {
		k = rd[i] * top;
		/* within the tolerance of the target, half a step */
		ck_assert_double_le(fabs(k - wt[i] * top), 0.5 + 1e-4);
		ck_assert_float_eq(g[2 * i], (float)(xb.g[2 * i] * xb.unit_us));
		ck_assert_float_eq(g[2 * i + 1],
				   (float)(xb.g[2 * i + 1] * xb.unit_us));
		/* one device of the pair stays at G_min */
		ck_assert(xb.g[2 * i] == xb.gmin[2 * i] ||
			  xb.g[2 * i + 1] == xb.gmin[2 * i + 1]);
	}
	free(wt);
	free(rd);
	free(g);
	cimfw_xbar_fini(&xb);
}
END_TEST

/* mean level change of one up (or down) pulse on every G+ at level k */
static double mean_step(unsigned int k, bool up)
{
	size_t c, n = (size_t)xb.rows * xb.cols;
	double sum = 0;

	for (c = 0; c < n; c++)
		set_levels(&xb, c, k, 0);
	for (c = 0; c < n; c++)
		sum += cimfw_xbar_pulse(&xb, c / xb.cols, c % xb.cols, 0, up,
				      1);
	return sum / n / xb.dg0;
}

START_TEST(test_xbar_soft_bounds)
{
	double top, m0, m32, m96;

	unit_config_ideal(&cfg);
	cfg.gamma = 0.5;
	cfg.xbar_rows = 128;
	cfg.xbar_cols = 128;
	tile_init();
	top = cfg.levels - 1;
	m0 = mean_step(0, true);
	m32 = mean_step(32, true);
	m96 = mean_step(96, true);
	/* exact but for the rounding to a conductance unit */
	ck_assert_double_eq_tol(m0, 1.0, 0.002);
	ck_assert_double_eq_tol(m32, 1.0 - 0.5 * 32 / top, 0.002);
	ck_assert_double_eq_tol(m96, 1.0 - 0.5 * 96 / top, 0.002);
	ck_assert_double_lt(m96, m32);
	/* down steps shrink toward G_min the same way */
	ck_assert_double_eq_tol(-mean_step(96, false), 1.0 - 0.5 * 31 / top,
				0.002);
	/* no move past a bound */
	ck_assert_double_eq(mean_step(cfg.levels - 1, true), 0.0);
	ck_assert_double_eq(mean_step(0, false), 0.0);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_xbar_d2d_statistics)
{
	size_t i, n;
	double *v, mean, std;

	cimfw_config_default(&cfg);
	tile_init();
	n = (size_t)xb.rows * xb.cols * 2;
	v = malloc(sizeof(*v) * n);
	for (i = 0; i < n; i++)
		v[i] = xb.step[i];
	unit_mean_std(v, n, &mean, &std);
	ck_assert_double_eq_tol(mean, 1.0, 0.005);
	ck_assert_double_eq_tol(std, cfg.sigma_d2d, 0.005);
	cimfw_xbar_fini(&xb);
	/* the silicon is the same after a re-init with the same seed */
	tile_init();
	for (i = 0; i < n; i++)
		ck_assert_float_eq(xb.step[i], (float)v[i]);
	free(v);
	cimfw_xbar_fini(&xb);
}
END_TEST

/* level change of n pulses up from G_min on each G+ of the tile */
static void burst_stats(unsigned int n, double *mean, double *std)
{
	size_t c, nc = (size_t)xb.rows * xb.cols;
	double *v = malloc(sizeof(*v) * nc);

	cimfw_xbar_reset(&xb);
	for (c = 0; c < nc; c++)
		v[c] = cimfw_xbar_pulse(&xb, c / xb.cols, c % xb.cols, 0, true,
				      n) / xb.dg0;
	unit_mean_std(v, nc, mean, std);
	free(v);
}

START_TEST(test_xbar_c2c_noise)
{
	double mean, std;

	unit_config_ideal(&cfg);
	cfg.xbar_rows = 128;
	cfg.xbar_cols = 128;
	tile_init();
	burst_stats(16, &mean, &std);
	ck_assert_double_eq_tol(mean, 16.0, 0.002);
	ck_assert_double_lt(std, 0.002);
	cimfw_xbar_fini(&xb);

	cfg.sigma_c2c = 0.3;
	tile_init();
	burst_stats(16, &mean, &std);
	/* 16 * (1 + 0.3 xi / 4): std 1.2; 16384 bursts */
	ck_assert_double_eq_tol(mean, 16.0, 0.05);
	ck_assert_double_ge(std, 1.15);
	ck_assert_double_le(std, 1.25);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_xbar_stuck_devices)
{
	struct cimfw_program_stats st;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w;
	size_t d, c, n, lo = 0, hi = 0, expect_fail = 0;
	unsigned int top;
	float *wt;

	unit_config_ideal(&cfg);
	cfg.xbar_rows = 256;
	cfg.xbar_cols = 256;
	cfg.stuck_prob = 0.1;
	tile_init();
	top = cfg.levels - 1;
	n = (size_t)xb.rows * xb.cols;
	for (d = 0; d < 2 * n; d++) {
		lo += xb.stuck[d] == CIMFW_STUCK_LOW;
		hi += xb.stuck[d] == CIMFW_STUCK_HIGH;
	}
	/* 131072 devices: standard error of the fraction below 0.001 */
	ck_assert_double_eq_tol((double)(lo + hi) / (2 * n), 0.1, 0.005);
	ck_assert_double_eq_tol((double)lo / (2 * n), 0.05, 0.004);
	for (c = 0; c < n; c++) {
		ck_assert_uint_eq(KP(&xb, c),
				  xb.stuck[2 * c] == CIMFW_STUCK_HIGH ? top : 0);
		ck_assert_uint_eq(KM(&xb, c),
				  xb.stuck[2 * c + 1] == CIMFW_STUCK_HIGH ?
				  top : 0);
	}
	/* program +0.5 everywhere: cells a stuck device holds off target fail */
	win_all(&w, &xb);
	wt = malloc(sizeof(*wt) * n);
	for (c = 0; c < n; c++) {
		wt[c] = 0.5f;
		/*
		 * the device that must rise is stuck, or G- stuck high
		 * leaves G+ no room; a G+ stuck high is met by raising G-
		 */
		expect_fail += xb.stuck[2 * c] == CIMFW_STUCK_LOW ||
			       (xb.stuck[2 * c] == CIMFW_STUCK_NONE &&
				xb.stuck[2 * c + 1] == CIMFW_STUCK_HIGH) ||
			       (xb.stuck[2 * c] == CIMFW_STUCK_HIGH &&
				xb.stuck[2 * c + 1] != CIMFW_STUCK_NONE);
	}
	cimfw_xbar_program(&xb, &w, wt, 8, tol_of(&xb, 0.5), &st, &m);
	ck_assert_uint_gt(expect_fail, 0);
	ck_assert_uint_eq(st.rep.failed, expect_fail);
	for (c = 0; c < n; c++) {
		if (xb.stuck[2 * c] == CIMFW_STUCK_HIGH)
			ck_assert_uint_eq(KP(&xb, c), top);
		if (xb.stuck[2 * c] == CIMFW_STUCK_LOW)
			ck_assert_uint_eq(KP(&xb, c), 0);
		/* G+ carries the weight on top of a G- at its floor */
		if (xb.stuck[2 * c] == CIMFW_STUCK_NONE &&
		    xb.stuck[2 * c + 1] != CIMFW_STUCK_HIGH)
			ck_assert_double_le(fabs(cimfw_xbar_level(&xb, 2 * c) -
						 63.5), 0.5 + 1e-3);
	}
	free(wt);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_xbar_write_verify_noisy)
{
	struct cimfw_program_stats st;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w = { 3, 40, 5, 30 };
	unsigned int i, j, top;
	double tp, tm;
	float *wt;
	size_t c;

	cimfw_config_default(&cfg);
	cfg.xbar_rows = 64;
	cfg.xbar_cols = 64;
	cfg.sigma_range = 0.0;	/* every target within reach */
	cfg.g_read_noise_us = 0.0;
	tile_init();
	top = cfg.levels - 1;
	wt = malloc(sizeof(*wt) * w.nrows * w.ncols);
	rand_vec(wt, w.nrows * w.ncols, 5);
	cimfw_xbar_program(&xb, &w, wt, 64, tol_of(&xb, 0.5), &st, &m);
	ck_assert_uint_eq(st.rep.failed, 0);
	ck_assert_uint_eq(st.rep.cells, w.nrows * w.ncols);
	/* ideal devices need 3 reads a cell (2 for G+ or G-, 1 for the other) */
	ck_assert_uint_gt(st.rep.iterations, 3 * st.rep.cells + st.rep.cells / 5);
	ck_assert_uint_eq(m.program_pulses, st.rep.pulses);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_PULSE],
				st.rep.pulses * cfg.cost.e_pulse_fj, 1e-3);
	ck_assert_double_gt(m.busy_ps[CIM_UNIT_PULSE], 0.0);
	for (i = 0; i < w.nrows; i++) {
		for (j = 0; j < w.ncols; j++) {
			c = (size_t)(w.row + i) * xb.cols + w.col + j;
			tp = fmax(wt[i * w.ncols + j], 0.0) * top;
			tm = fmax(-wt[i * w.ncols + j], 0.0) * top;
			ck_assert_double_le(fabs(cimfw_xbar_level(&xb, 2 * c) -
						 tp), 0.5 + 1e-3);
			ck_assert_double_le(fabs(cimfw_xbar_level(&xb,
								  2 * c + 1) -
						 tm), 0.5 + 1e-3);
		}
	}
	/* cells outside the window were not touched */
	ck_assert_uint_eq(KP(&xb, 0), 0);
	ck_assert_uint_eq(KM(&xb, (size_t)63 * 64 + 63), 0);
	/* one round only: the noisy devices do not all make it */
	cimfw_xbar_reset(&xb);
	cimfw_xbar_program(&xb, &w, wt, 1, tol_of(&xb, 0.5), &st, &m);
	ck_assert_uint_gt(st.rep.failed, 0);
	free(wt);
	cimfw_xbar_fini(&xb);
}
END_TEST

/* program random weights on the whole tile, ideal physics */
static void program_random(struct cimfw_xbar *t, float *wt, uint64_t seed)
{
	/* enough rounds for slow devices near the soft bound */
	struct cimfw_program_stats st;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w;

	win_all(&w, t);
	rand_vec(wt, (size_t)t->rows * t->cols, seed);
	cimfw_xbar_program(t, &w, wt, 64, tol_of(&xb, 0.5), &st, &m);
	ck_assert_uint_eq(st.rep.failed, 0);
	cimfw_xbar_read_weights(t, &w, wt);
}

START_TEST(test_xbar_vmm_reference)
{
	enum { B = 5 };
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w;
	unsigned int b, i, j, q, qa, r, c;
	float *wt, x[B * 64], y[B * 48];
	double ref, alpha, ymax, err, tol, sum_err = 0;

	unit_config_ideal(&cfg);
	tile_init();
	r = xb.rows;
	c = xb.cols;
	wt = malloc(sizeof(*wt) * r * c);
	program_random(&xb, wt, 9);
	rand_vec(x, B * r, 10);
	win_all(&w, &xb);
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, B, x, y, false, 0, &m),
			 0);
	q = (1u << (cfg.dac_bits - 1)) - 1;
	qa = (1u << (cfg.adc_bits - 1)) - 1;
	for (b = 0; b < B; b++) {
		alpha = ymax = 0;
		for (i = 0; i < r; i++)
			alpha = fmax(alpha, fabs(x[b * r + i]));
		for (j = 0; j < c; j++) {
			ref = 0;
			for (i = 0; i < r; i++)
				ref += (double)x[b * r + i] * wt[i * c + j];
			ymax = fmax(ymax, fabs(ref));
		}
		for (j = 0; j < c; j++) {
			ref = 0;
			for (i = 0; i < r; i++)
				ref += (double)x[b * r + i] * wt[i * c + j];
			/* DAC: half a code per input; ADC: half an LSB */
			tol = r * alpha / (2 * q) + ymax * 1.05 / (2 * qa);
			err = fabs(y[b * c + j] - ref);
			ck_assert_double_le(err, tol);
			sum_err += err;
		}
	}
	/* on average far better than the worst case */
	ck_assert_double_lt(sum_err / (B * c), 0.02);
	ck_assert_uint_eq(m.vmm_fwd, B);
	ck_assert_uint_eq(m.adc_saturations, 0);
	free(wt);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_xbar_adc_fixed_saturates)
{
	enum { B = 3 };
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w;
	float x[B * 64], y[B * 48];
	unsigned int i, j;
	size_t c;

	unit_config_ideal(&cfg);
	tile_init();
	win_all(&w, &xb);
	for (c = 0; c < (size_t)xb.rows * xb.cols; c++)
		set_levels(&xb, c, cfg.levels - 1, 0);
	for (i = 0; i < B * xb.rows; i++)
		x[i] = i / xb.rows == 1 ? -1.0f : 1.0f;
	/* every output is +-64, far beyond a range of 2 */
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, B, x, y, true, 2.0f, &m),
			 0);
	for (j = 0; j < B * xb.cols; j++)
		ck_assert_float_eq(y[j], j / xb.cols == 1 ? -2.0f : 2.0f);
	ck_assert_uint_eq(m.adc_saturations, B * xb.cols);
	/* within range nothing saturates: y = 64 * 0.5 = 32 < 40 */
	for (i = 0; i < B * xb.rows; i++)
		x[i] = 0.5f;
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, B, x, y, true, 40.0f,
				      &m), 0);
	ck_assert_uint_eq(m.adc_saturations, B * xb.cols);
	for (j = 0; j < B * xb.cols; j++)
		ck_assert_double_eq_tol(y[j], 32.0, 40.0 / 127);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_xbar_transposed_equals_forward)
{
	enum { B = 4 };
	struct cimfw_config cfg_t;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar xt;
	struct cimfw_xbar_win w, wtr;
	float *wt, x[B * 48], y1[B * 64], y2[B * 64];
	unsigned int i, j;

	unit_config_ideal(&cfg);
	tile_init();
	cfg_t = cfg;
	cfg_t.xbar_rows = cfg.xbar_cols;
	cfg_t.xbar_cols = cfg.xbar_rows;
	ck_assert_int_eq(cimfw_xbar_init(&xt, &cfg_t, &clock_ns, 1), 0);
	wt = malloc(sizeof(*wt) * xb.rows * xb.cols);
	program_random(&xb, wt, 11);
	for (i = 0; i < xb.rows; i++)
		for (j = 0; j < xb.cols; j++)
			set_pair(&xt, (size_t)j * xt.cols + i,
				 &xb, (size_t)i * xb.cols + j);
	rand_vec(x, B * xb.cols, 12);
	win_all(&w, &xb);
	win_all(&wtr, &xt);
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, true, B, x, y1, false, 0, &m),
			 0);
	ck_assert_int_eq(cimfw_xbar_vmm(&xt, &wtr, false, B, x, y2, false, 0,
				      &m), 0);
	ck_assert_mem_eq(y1, y2, sizeof(float) * B * xb.rows);
	ck_assert_uint_eq(m.vmm_trans, B);
	ck_assert_uint_eq(m.vmm_fwd, B);
	/* and on a sub-window, against the same window transposed */
	w = (struct cimfw_xbar_win){ 10, 20, 7, 9 };
	wtr = (struct cimfw_xbar_win){ 7, 9, 10, 20 };
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, true, B, x, y1, false, 0, &m),
			 0);
	ck_assert_int_eq(cimfw_xbar_vmm(&xt, &wtr, false, B, x, y2, false, 0,
				      &m), 0);
	ck_assert_mem_eq(y1, y2, sizeof(float) * B * 20);
	free(wt);
	cimfw_xbar_fini(&xt);
	cimfw_xbar_fini(&xb);
}
END_TEST

/*
 * A 1024-row tile at 8-bit DAC and 256 levels: sums reach 1024 * 127 * 255
 * > 2^24, beyond what a float holds exactly, so the model must chunk. Every output must equal the exact
 * integer sum taken through the documented scaling and ADC.
 */
START_TEST(test_xbar_vmm_exact_chunked)
{
	enum { B = 3, R = 1024, C = 8 };
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w;
	float *x, y[B * C];
	double q, qa, den, alpha, yy[C], fs, cq, expect;
	int64_t acc;
	unsigned int b, i, j;
	struct cimfw_rng r;
	int code;

	unit_config_ideal(&cfg);
	cfg.xbar_rows = R;
	cfg.xbar_cols = C;
	cfg.levels = 256;
	tile_init();
	cimfw_rng_seed(&r, 3, 3);
	/* large, mostly positive levels and inputs: odd sums above 2^24 */
	for (i = 0; i < R * C; i++)
		set_levels(&xb, i, 248 + cimfw_rng_next(&r) % 8, 0);
	x = malloc(sizeof(*x) * B * R);
	for (i = 0; i < B * R; i++)
		x[i] = 0.9f + 0.1f * (float)cimfw_rng_uniform(&r);
	win_all(&w, &xb);
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, B, x, y, false, 0, &m),
			 0);
	q = 127;
	qa = 127;
	den = q * xb.range;
	for (b = 0; b < B; b++) {
		alpha = 0;
		for (i = 0; i < R; i++)
			alpha = fmax(alpha, x[b * R + i]);
		fs = 0;
		for (j = 0; j < C; j++) {
			acc = 0;
			for (i = 0; i < R; i++) {
				code = (int)nearbyintf(x[b * R + i] /
						       (float)alpha * 127.0f);
				acc += (int64_t)code *
				       (int64_t)xb.gdiff[i * C + j];
			}
			ck_assert_int_gt(acc, 1 << 24);
			yy[j] = (double)acc * ((double)(float)alpha / den);
			fs = fmax(fs, yy[j]);
		}
		for (j = 0; j < C; j++) {
			cq = nearbyint(yy[j] * (qa / fs));
			expect = (float)(cq * (fs / qa));
			ck_assert_float_eq(y[b * C + j], (float)expect);
		}
	}
	free(x);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_xbar_vmm_accounting)
{
	const struct cimfw_cost_params *k;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w = { 1, 2, 4, 3 };
	float x[2] = { 1.0f, 0.5f }, y[3];
	double dg, g0, g1, e;
	size_t row1, row2;

	unit_config_ideal(&cfg);
	tile_init();
	k = &cfg.cost;
	row1 = (size_t)1 * xb.cols + 4;
	row2 = (size_t)2 * xb.cols + 4;
	set_levels(&xb, row1, 10, 0);
	set_levels(&xb, row1 + 1, 0, 20);
	set_levels(&xb, row1 + 2, 127, 1);
	set_levels(&xb, row2, 3, 0);
	/* a cell outside the window must not count */
	set_levels(&xb, row2 + 3, 100, 100);
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, 1, x, y, false, 0, &m),
			 0);
	/* codes 127 (7 bits set) and 64 (63.5 to even, 1 bit set) */
	dg = (cfg.g_max_us - cfg.g_min_us) / 127;
	g0 = 6 * cfg.g_min_us + (10 + 20 + 127 + 1) * dg;
	g1 = 6 * cfg.g_min_us + 3 * dg;
	e = k->v_read * k->v_read * k->t_read_ps * (7 * g0 + 1 * g1) * 1e-3;
	/* the devices hold their levels to a conductance unit */
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_XBAR_ARRAY], e, e * 1e-4);
	/* per bit-cycle: dac_bits cycles of 2 DACs and 3 ADC conversions */
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_DAC],
				cfg.dac_bits * 2 * k->e_dac_fj, 1e-9);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_ADC],
				cfg.dac_bits * 3 * k->e_adc_fj, 1e-9);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_XBAR_ARRAY],
			    cfg.dac_bits * k->t_read_ps);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_DAC],
			    cfg.dac_bits * k->t_read_ps);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_ADC],
			    cfg.dac_bits * 1 * k->t_adc_ps);
	ck_assert_uint_eq(m.vmm_fwd, 1);
	ck_assert_uint_eq(m.dac_conversions, cfg.dac_bits * 2);
	ck_assert_uint_eq(m.adc_conversions, cfg.dac_bits * 3);
	/* the outputs themselves: w row1 = (10, -20, 126) / 127 */
	ck_assert_double_eq_tol(y[0], (10 + 0.504 * 3) / 127.0, 0.01);
	ck_assert_double_eq_tol(y[2], 126 / 127.0, 0.01);
	cimfw_xbar_fini(&xb);
}
END_TEST

/* the cached line sums of a full-width window follow every pulse */
START_TEST(test_xbar_energy_follows_pulses)
{
	struct cimfw_meter m0 = { 0 }, m1 = { 0 }, m2 = { 0 };
	const struct cimfw_cost_params *k;
	struct cimfw_xbar_win w;
	float x[64], y[64];
	unsigned int i;
	double dg, bit;

	unit_config_ideal(&cfg);
	tile_init();
	k = &cfg.cost;
	win_all(&w, &xb);
	for (i = 0; i < xb.rows; i++)
		x[i] = 1.0f;
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, 1, x, y, false, 0, &m0),
			 0);
	ck_assert_double_eq_tol(cimfw_xbar_pulse(&xb, 5, 7, 1, true, 3) /
				xb.dg0, 3.0, 1e-3);
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, 1, x, y, false, 0, &m1),
			 0);
	/* three levels more on one line, driven by code 127: 7 bits */
	dg = (cfg.g_max_us - cfg.g_min_us) / (cfg.levels - 1);
	bit = k->v_read * k->v_read * k->t_read_ps * 1e-3;
	ck_assert_double_eq_tol(m1.energy_fj[CIM_UNIT_XBAR_ARRAY] -
				m0.energy_fj[CIM_UNIT_XBAR_ARRAY],
				bit * 7 * 3 * dg, bit * 7 * 3 * dg * 1e-3);
	/* transposed: the same cell, now on column 7's line */
	ck_assert_double_eq_tol(cimfw_xbar_pulse(&xb, 5, 7, 0, true, 2) /
				xb.dg0, 2.0, 1e-3);
	for (i = 0; i < xb.cols; i++)
		x[i] = i == 7 ? 1.0f : 0.0f;
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, true, 1, x, y, false, 0, &m2),
			 0);
	ck_assert_double_eq_tol(m2.energy_fj[CIM_UNIT_XBAR_ARRAY],
				bit * 7 * (2 * xb.rows * cfg.g_min_us +
					   5 * dg), bit * 7 * 2 * xb.rows *
				cfg.g_min_us * 1e-4);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_xbar_reset)
{
	enum { B = 2 };
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w;
	float *wt, x[B * 64], y1[B * 48], y2[B * 48];
	size_t c, n;

	cimfw_config_default(&cfg);
	cfg.xbar_rows = 64;
	cfg.xbar_cols = 48;
	cfg.sigma_range = 0.0;	/* every target within reach */
	tile_init();
	n = (size_t)xb.rows * xb.cols;
	wt = malloc(sizeof(*wt) * n);
	program_random(&xb, wt, 13);
	for (c = 0; c < n; c++)
		xb.chi[c] = 0.25f;
	rand_vec(x, B * xb.rows, 14);
	win_all(&w, &xb);
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, B, x, y1, false, 0, &m),
			 0);
	cimfw_xbar_reset(&xb);
	for (c = 0; c < n; c++) {
		ck_assert_uint_eq(KP(&xb, c), 0);
		ck_assert_uint_eq(KM(&xb, c), 0);
		ck_assert_float_eq(xb.gdiff[c], 0.0f);
		ck_assert_float_eq(xb.chi[c], 0.0f);
	}
	/* streams re-seeded: the same history gives the same bits again */
	program_random(&xb, wt, 13);
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, B, x, y2, false, 0, &m),
			 0);
	ck_assert_mem_eq(y1, y2, sizeof(y1));
	/* and read noise is on: a second read differs */
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, false, B, x, y2, false, 0, &m),
			 0);
	ck_assert(memcmp(y1, y2, sizeof(y1)) != 0);
	free(wt);
	cimfw_xbar_fini(&xb);
}
END_TEST

/*
 * Sparse inputs (one-hot vectors and zero vectors) take the line-by-line
 * sums, dense ones BLAS: both must give exactly the documented result,
 * forward and transposed.
 */
START_TEST(test_xbar_vmm_sparse_exact)
{
	enum { B = 40 };
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w;
	float x[B * 64], y[B * 64], code;
	double den, yy[64], fs, alpha;
	unsigned int b, i, j, nin, nout, pass, tr, kd;
	struct cimfw_rng r;
	int64_t acc;

	unit_config_ideal(&cfg);
	tile_init();
	den = 127.0 * xb.range;
	cimfw_rng_seed(&r, 8, 8);
	for (i = 0; i < xb.rows * xb.cols; i++)
		set_levels(&xb, i, cimfw_rng_next(&r) % cfg.levels,
			   cimfw_rng_next(&r) % cfg.levels);
	for (pass = 0; pass < 2; pass++) {
		for (tr = 0; tr < 2; tr++) {
			w = (struct cimfw_xbar_win){ 2, 60, 3, 40 };
			nin = tr ? w.ncols : w.nrows;
			nout = tr ? w.nrows : w.ncols;
			rand_vec(x, (size_t)B * nin, 30 + pass);
			for (b = 0; pass == 0 && b < B; b++)
				for (i = 0; i < nin; i++)
					if (b % 5 == 4 || i != b % nin)
						x[b * nin + i] = 0.0f;
			ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, tr, B, x, y,
						      false, 0, &m), 0);
			for (b = 0; b < B; b++) {
				alpha = 0;
				for (i = 0; i < nin; i++)
					alpha = fmax(alpha, fabs(x[b * nin + i]));
				fs = 0;
				for (j = 0; j < nout; j++) {
					acc = 0;
					for (i = 0; alpha > 0 && i < nin; i++) {
						code = nearbyintf(x[b * nin + i] /
							(float)alpha * 127.0f);
						kd = tr ? (w.row + j) * xb.cols +
							  w.col + i :
							  (w.row + i) * xb.cols +
							  w.col + j;
						acc += (int64_t)code *
						       (int64_t)xb.gdiff[kd];
					}
					yy[j] = (double)acc *
						((double)(float)alpha / den);
					fs = fmax(fs, fabs(yy[j]));
				}
				for (j = 0; j < nout; j++)
					ck_assert_float_eq(y[b * nout + j],
						fs > 0 ? (float)(nearbyint(
							yy[j] * (127.0 / fs)) *
							(fs / 127.0)) : 0.0f);
			}
		}
	}
	cimfw_xbar_fini(&xb);
}
END_TEST

/* a 640 x 48 tile of random levels (0..255), default physics */
static void tile_640(uint64_t seed)
{
	struct cimfw_rng r;
	size_t i;

	cimfw_config_default(&cfg);
	cfg.levels = 256;	/* a sum of more than 518 lines: 2 chunks */
	cfg.xbar_rows = 640;
	tile_init();
	cimfw_rng_seed(&r, seed, seed);
	for (i = 0; i < (size_t)xb.rows * xb.cols; i++)
		set_levels(&xb, i, cimfw_rng_next(&r) % 256,
			   cimfw_rng_next(&r) % 256);
}

/*
 * The VMM cut across 1, 2 or 3 threads of the pool: the same outputs,
 * counters and read-noise stream, bit for bit, with read noise on, for
 * short vectors (conv-like), long ones, chunked sums and the transpose.
 */
START_TEST(test_xbar_vmm_threads)
{
	static const struct {
		unsigned int row, nrows, col, ncols, batch;
		bool trans;
	} cases[] = {
		{ 3, 25, 5, 6, 1000, false },
		{ 0, 256, 0, 256, 300, false },
		{ 0, 150, 0, 16, 777, true },
		{ 0, 640, 0, 40, 65, false },
		{ 0, 640, 7, 33, 90, true },
	};
	struct cimfw_rng_lanes read0, read1;
	struct cimfw_meter m1, mt;
	struct cimfw_xbar_win w;
	float *x, *y1, *yt;
	unsigned int k, t, nin, nout;

	tile_640(5);
	x = malloc(sizeof(*x) * 1000 * 640);
	y1 = malloc(sizeof(*y1) * 1000 * 640);
	yt = malloc(sizeof(*yt) * 1000 * 640);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		w = (struct cimfw_xbar_win){ cases[k].row, cases[k].nrows,
					   cases[k].col, cases[k].ncols };
		nin = cases[k].trans ? w.ncols : w.nrows;
		nout = cases[k].trans ? w.nrows : w.ncols;
		rand_vec(x, (size_t)cases[k].batch * nin, 20 + k);
		x[3] = 0.0f;
		memset(x + nin, 0, nin * sizeof(*x));	/* a zero vector */
		read0 = xb.read;
		for (t = 1; t <= 3; t++) {
			cimfw_par_set_threads(t);
			xb.read = read0;
			memset(&mt, 0, sizeof(mt));
			memset(yt, 0, sizeof(*yt) * cases[k].batch * nout);
			ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, cases[k].trans,
						      cases[k].batch, x, yt,
						      false, 0, &mt), 0);
			if (t == 1) {
				m1 = mt;
				read1 = xb.read;
				memcpy(y1, yt, sizeof(*yt) * cases[k].batch *
				       nout);
				continue;
			}
			ck_assert_mem_eq(yt, y1, sizeof(*yt) *
					 cases[k].batch * nout);
			ck_assert_mem_eq(&mt, &m1, sizeof(mt));
			ck_assert_mem_eq(&xb.read, &read1, sizeof(read1));
		}
	}
	cimfw_par_set_threads(0);
	free(x);
	free(y1);
	free(yt);
	cimfw_xbar_fini(&xb);
}
END_TEST

/* the SIMD levels above C this CPU has, as simd.c must see them */
static unsigned int simd_paths_expected(void)
{
	unsigned int n = 0;

#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx2"))
		n++;
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl")) {
		n++;
		if (__builtin_cpu_supports("avx512vpopcntdq"))
			n++;
	}
#endif
	return n;
}

/*
 * cimfw_xbar_vmm() at every SIMD level this CPU has (AVX2, AVX-512 with
 * look-up popcounts, AVX-512 with VPOPCNTDQ) against the portable code:
 * the same outputs, meter and read-noise stream, bit for bit. @y0, @y1:
 * room for the outputs. Returns the levels compared; those the CPU lacks
 * are skipped.
 */
static unsigned int vmm_paths_agree(const struct cimfw_xbar_win *w, bool trans,
				    unsigned int batch, const float *x,
				    bool fixed, float range, float *y0,
				    float *y1)
{
	size_t nout = trans ? w->nrows : w->ncols, ylen;
	struct cimfw_rng_lanes read0 = xb.read, read_c;
	enum cimfw_simd prev = cimfw_simd_level();
	struct cimfw_meter m0, m1;
	unsigned int l, n = 0;

	ylen = batch * nout * sizeof(*y0);
	memset(&m0, 0, sizeof(m0));
	/* NaN patterns: an output or a code left unwritten differs */
	memset(y0, 0xff, ylen);
	if (xb.scratch)
		memset(xb.scratch, 0xff, xb.scratch_len);
	ck_assert_int_eq(cimfw_simd_force(CIMFW_SIMD_C), CIMFW_SIMD_C);
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, w, trans, batch, x, y0, fixed,
				      range, &m0), 0);
	read_c = xb.read;
	for (l = CIMFW_SIMD_AVX2; l < CIMFW_SIMD_LEVELS; l++) {
		if (cimfw_simd_force(l) != l)
			continue;
		xb.read = read0;
		memset(&m1, 0, sizeof(m1));
		memset(y1, 0xff, ylen);
		/* codes, sums, ranges: no path may rely on another's */
		memset(xb.scratch, 0xff, xb.scratch_len);
		ck_assert_int_eq(cimfw_xbar_vmm(&xb, w, trans, batch, x, y1,
					      fixed, range, &m1), 0);
		ck_assert_msg(!memcmp(y1, y0, ylen) &&
			      !memcmp(&m1, &m0, sizeof(m0)) &&
			      !memcmp(&xb.read, &read_c, sizeof(read_c)),
			      "level %u differs from C: %ux%u at (%u, %u)%s, "
			      "batch %u, %s range %g, read noise %g, %u-bit "
			      "DAC, %u-bit ADC", l, w->nrows, w->ncols, w->row,
			      w->col, trans ? " transposed" : "", batch,
			      fixed ? "fixed" : "auto", (double)range,
			      cfg.read_noise, cfg.dac_bits, cfg.adc_bits);
		n++;
	}
	cimfw_simd_force(prev);
	return n;
}

/*
 * Random inputs with zero vectors (every fifth), one-hot vectors in the
 * second half (sparse sums, some on a line of zero weights: a zero full
 * scale without read noise) and a value beyond 1.
 */
static void simd_inputs(float *x, unsigned int batch, unsigned int nin,
			uint64_t seed)
{
	unsigned int b;
	size_t i;

	rand_vec(x, (size_t)batch * nin, seed);
	for (b = 0; b < batch; b += 5)
		memset(x + (size_t)b * nin, 0, nin * sizeof(*x));
	for (b = batch / 2; b < batch; b++)
		for (i = 0; i < nin; i++)
			if (i != b % nin)
				x[(size_t)b * nin + i] = 0.0f;
	x[nin + 1 < (size_t)batch * nin ? nin + 1 : 0] = -1.5f;
}

static void simd_tile(void)
{
	size_t i;

	tile_640(6);
	/* row 3 and column 2: weights 0 */
	for (i = 0; i < xb.cols; i++)
		set_levels(&xb, 3 * xb.cols + i, 9, 9);
	for (i = 0; i < xb.rows; i++)
		set_levels(&xb, i * xb.cols + 2, 7, 7);
	cimfw_par_set_threads(1);
}

/*
 * The hand-written SIMD paths of the VMM against the portable code for
 * vector lengths around the SIMD widths, zero and sparse vectors, long
 * (chunked) sums, the transpose and a fixed ADC range.
 */
START_TEST(test_xbar_vmm_simd_portable)
{
	static const struct {
		unsigned int row, nrows, col, ncols, batch;
		bool trans, fixed;
	} cases[] = {
		{ 3, 25, 5, 6, 300, false, false },
		{ 0, 1, 0, 1, 50, false, false },
		{ 1, 7, 2, 9, 70, true, false },
		{ 0, 8, 0, 16, 40, false, true },
		{ 2, 17, 3, 10, 90, false, false },
		{ 0, 150, 0, 16, 77, true, false },
		{ 0, 120, 0, 84, 33, false, true },
		{ 0, 640, 0, 40, 20, false, false },
		{ 0, 640, 7, 33, 30, true, false },
		{ 0, 640, 0, 6, 90, false, false },
		{ 0, 600, 1, 7, 75, false, true },
	};
	struct cimfw_xbar_win w;
	float *x, *y0, *y1;
	unsigned int k, nin;

	simd_tile();
	x = malloc(sizeof(*x) * 300 * 640);
	y0 = malloc(sizeof(*y0) * 300 * 640);
	y1 = malloc(sizeof(*y1) * 300 * 640);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		w = (struct cimfw_xbar_win){ cases[k].row, cases[k].nrows,
					   cases[k].col, cases[k].ncols };
		nin = cases[k].trans ? w.ncols : w.nrows;
		simd_inputs(x, cases[k].batch, nin, 40 + k);
		ck_assert_uint_eq(vmm_paths_agree(&w, cases[k].trans,
						  cases[k].batch, x,
						  cases[k].fixed, 3000.0f, y0,
						  y1), simd_paths_expected());
	}
	cimfw_par_set_threads(0);
	free(x);
	free(y0);
	free(y1);
	cimfw_xbar_fini(&xb);
}
END_TEST

/*
 * Every pair of short and long vector lengths (1 to 150: a lane, a SIMD
 * register and one more or less), forward and transposed, with an
 * auto-ranged and a fixed ADC (one that saturates), with and without
 * read noise, and converters of 3 to 12 bits (DAC codes of every width
 * the popcounts see): each SIMD path the CPU has gives the portable bits.
 */
START_TEST(test_xbar_vmm_simd_shapes)
{
	static const unsigned int len[] = { 1, 6, 7, 8, 9, 16, 17, 25, 150 };
	static const unsigned int bits[][2] = { { 8, 8 }, { 12, 4 }, { 3, 12 } };
	enum { NLEN = sizeof(len) / sizeof(len[0]), B = 150 };
	unsigned int a, b, t, f, batch, nin, seed = 0;
	struct cimfw_xbar_win w;
	float *x, *y0, *y1;
	bool trans;

	simd_tile();
	x = malloc(sizeof(*x) * B * 150);
	y0 = malloc(sizeof(*y0) * B * 150);
	y1 = malloc(sizeof(*y1) * B * 150);
	for (a = 0; a < NLEN; a++) {
		for (b = 0; b < NLEN; b++) {
			for (t = 0; t < 4; t++) {
				trans = t & 1;
				cfg.read_noise = t & 2 ? 0.0 : 0.02;
				cfg.dac_bits = bits[(a + b + t) % 3][0];
				cfg.adc_bits = bits[(a + b + t) % 3][1];
				/* several noise blocks and short groups */
				batch = 70 + (a * NLEN + b + t) % 80;
				w = (struct cimfw_xbar_win){ a % 5, len[a],
							   b % 3, len[b] };
				nin = trans ? len[b] : len[a];
				simd_inputs(x, batch, nin, 100 + seed++);
				for (f = 0; f < 2; f++)
					ck_assert_uint_eq(vmm_paths_agree(
						&w, trans, batch, x, f, 1.0f,
						y0, y1),
						simd_paths_expected());
			}
		}
	}
	cimfw_par_set_threads(0);
	free(x);
	free(y0);
	free(y1);
	cimfw_xbar_fini(&xb);
}
END_TEST

/*
 * The level simd.c chooses: the best this CPU runs, forced lower for the
 * tests, never above what the CPU has.
 */
START_TEST(test_xbar_simd_choice)
{
	enum cimfw_simd prev = cimfw_simd_level(), l;

	ck_assert(cimfw_simd_usable(CIMFW_SIMD_C));
	ck_assert_int_eq(cimfw_simd_force(CIMFW_SIMD_C), CIMFW_SIMD_C);
	ck_assert_int_eq(cimfw_simd_level(), CIMFW_SIMD_C);
	ck_assert_uint_eq(cimfw_simd_force(CIMFW_SIMD_LEVELS - 1),
			  simd_paths_expected());
	for (l = CIMFW_SIMD_C; l < CIMFW_SIMD_LEVELS; l++) {
		ck_assert_int_eq(cimfw_simd_usable(l),
				 (unsigned int)l <= simd_paths_expected());
		ck_assert_int_eq(cimfw_simd_force(l),
				 cimfw_simd_usable(l) ? l :
				 (enum cimfw_simd)simd_paths_expected());
		ck_assert_str_ne(cimfw_simd_name(l), "?");
	}
	cimfw_simd_force(prev);
}
END_TEST

/*
 * A training step on a tile at every SIMD level against C: write-verify,
 * VMMs with read noise both ways, the DUU's accumulation and transfer
 * (pulses). The same outputs, meter, levels and accumulators, bit for bit.
 */
START_TEST(test_xbar_simd_training_step)
{
	enum { B = 37, N = 45 };
	static float x[B * N], d[B * N], w[N * N], y[2][2 * B * N];
	/* the tile: N + 3 rows of 256 cells */
	static int32_t g[2 * (N + 3) * 256];
	static float chi[(N + 3) * 256];
	const struct cimfw_xbar_win win = { 3, N, 5, N };
	enum cimfw_simd prev = cimfw_simd_level();
	struct cimfw_meter m[2];
	struct cimfw_program_stats prep;
	struct cim_duu_report drep;
	size_t ncells;
	unsigned int l, k, n = 0;

	rand_vec(x, B * N, 11);
	rand_vec(d, B * N, 12);
	rand_vec(w, N * N, 13);
	x[5] = 0.0f;
	memset(d + N, 0, N * sizeof(*d));
	for (l = CIMFW_SIMD_C; l < CIMFW_SIMD_LEVELS; l++) {
		if (cimfw_simd_force(l) != l)
			continue;
		k = l != CIMFW_SIMD_C;
		cimfw_config_default(&cfg);
		cfg.xbar_rows = N + 3;
		tile_init();
		ncells = (size_t)xb.rows * xb.cols;
		ck_assert_uint_le(2 * ncells, sizeof(g) / sizeof(g[0]));
		memset(&m[k], 0, sizeof(m[k]));
		cimfw_xbar_program(&xb, &win, w, 8, tol_of(&xb, 0.5), &prep,
				   &m[k]);
		ck_assert_int_eq(cimfw_xbar_vmm(&xb, &win, false, B, x, y[k],
					      false, 0.0f, &m[k]), 0);
		ck_assert_int_eq(cimfw_xbar_vmm(&xb, &win, true, B, d,
					      y[k] + B * N, true, 2.0f,
					      &m[k]), 0);
		cimfw_duu_accumulate(&xb, &win, B, x, d, 0.05f, &m[k]);
		cimfw_duu_transfer(&xb, &win, 0.002f, 31, &drep, &m[k]);
		if (!k) {
			memcpy(g, xb.g, 2 * ncells * sizeof(*g));
			memcpy(chi, xb.chi, ncells * sizeof(*chi));
		} else {
			ck_assert_msg(!memcmp(y[1], y[0], sizeof(y[0])) &&
				      !memcmp(&m[1], &m[0], sizeof(m[0])) &&
				      !memcmp(g, xb.g, 2 * ncells * sizeof(*g)) &&
				      !memcmp(chi, xb.chi,
					      ncells * sizeof(*chi)),
				      "level %s differs from C",
				      cimfw_simd_name(l));
			n++;
		}
		cimfw_xbar_fini(&xb);
	}
	cimfw_simd_force(prev);
	ck_assert_uint_eq(n, simd_paths_expected());
	ck_assert_uint_gt(m[0].pulses_pos + m[0].pulses_neg, 0);
}
END_TEST

Suite *xbar_suite(void)
{
	Suite *s = suite_create("xbar");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_xbar_level_grid);
	tcase_add_test(tc, test_xbar_soft_bounds);
	tcase_add_test(tc, test_xbar_d2d_statistics);
	tcase_add_test(tc, test_xbar_c2c_noise);
	tcase_add_test(tc, test_xbar_stuck_devices);
	tcase_add_test(tc, test_xbar_write_verify_noisy);
	tcase_add_test(tc, test_xbar_vmm_reference);
	tcase_add_test(tc, test_xbar_adc_fixed_saturates);
	tcase_add_test(tc, test_xbar_transposed_equals_forward);
	tcase_add_test(tc, test_xbar_vmm_exact_chunked);
	tcase_add_test(tc, test_xbar_vmm_accounting);
	tcase_add_test(tc, test_xbar_energy_follows_pulses);
	tcase_add_test(tc, test_xbar_reset);
	tcase_add_test(tc, test_xbar_vmm_sparse_exact);
	tcase_add_test(tc, test_xbar_vmm_threads);
	tcase_add_test(tc, test_xbar_vmm_simd_portable);
	tcase_add_test(tc, test_xbar_vmm_simd_shapes);
	tcase_add_test(tc, test_xbar_simd_choice);
	tcase_add_test(tc, test_xbar_simd_training_step);
	suite_add_tcase(s, tc);
	return s;
}
