// SPDX-License-Identifier: MIT
/*
 * Digital update unit: the 16-bit operand quantization and its exact,
 * order-free sum, the sign, transfer with the remainder kept, clamping,
 * the saturation rule and the accounting.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "duu.h"
#include "cimfw.h"

static struct cimfw_config cfg;
static struct cimfw_xbar xb;
static uint64_t clock_ns;
static float eps;

static void tile_init(void)
{
	unit_config_ideal(&cfg);
	ck_assert_int_eq(cimfw_xbar_init(&xb, &cfg, &clock_ns, 0), 0);
	eps = 1.0f / (float)(cfg.levels - 1);
}

static const struct cimfw_xbar_win one_cell = { 2, 1, 3, 1 };

static size_t cell23(void)
{
	return (size_t)2 * xb.cols + 3;
}

/* the level of a device of an ideal tile, whose steps are exact */
static unsigned int lev(size_t cell, int dev)
{
	return (unsigned int)lround(cimfw_xbar_level(&xb, 2 * cell + dev));
}

#define KP(cell) lev(cell, 0)
#define KM(cell) lev(cell, 1)

static void set_levels(size_t cell, unsigned int kp, unsigned int km)
{
	cimfw_xbar_set_g(&xb, 2 * cell, cimfw_xbar_level_g(&xb, kp));
	cimfw_xbar_set_g(&xb, 2 * cell + 1, cimfw_xbar_level_g(&xb, km));
}

START_TEST(test_duu_remainder_kept)
{
	struct cim_duu_report rep;
	struct cimfw_meter m = { 0 };
	float chi0;

	tile_init();
	chi0 = 2.7f * eps;
	xb.chi[cell23()] = chi0;
	cimfw_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_float_eq(xb.chi[cell23()], chi0 - 2.0f * eps);
	ck_assert_uint_eq(KP(cell23()), 2);
	ck_assert_uint_eq(KM(cell23()), 0);
	ck_assert_uint_eq(rep.cells_pulsed, 1);
	ck_assert_uint_eq(rep.pulses_pos, 2);
	ck_assert_uint_eq(rep.pulses_neg, 0);
	ck_assert_uint_eq(rep.clamped, 0);
	ck_assert_uint_eq(rep.saturated, 0);
	/* the remainder adds up with the next update */
	xb.chi[cell23()] += 0.5f * eps;
	cimfw_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(KP(cell23()), 3);
	ck_assert_uint_eq(m.pulses_pos, 3);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_clamp_keeps_excess)
{
	struct cim_duu_report rep;
	struct cimfw_meter m = { 0 };
	float chi0;

	tile_init();
	chi0 = -40.25f * eps;
	set_levels(cell23(), 0, 0);
	xb.chi[cell23()] = chi0;
	cimfw_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_float_eq(xb.chi[cell23()], chi0 + 31.0f * eps);
	ck_assert_uint_eq(rep.clamped, 1);
	ck_assert_uint_eq(rep.pulses_neg, 31);
	ck_assert_uint_eq(KM(cell23()), 31);
	/* the excess goes out with the next transfer */
	cimfw_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(rep.clamped, 0);
	ck_assert_uint_eq(rep.pulses_neg, 9);
	ck_assert_uint_eq(KM(cell23()), 40);
	ck_assert_float_lt(fabsf(xb.chi[cell23()]), eps);
	/* huge chi: the conversion is guarded, the clamp still applies */
	xb.chi[cell23()] = 1e30f;
	cimfw_duu_transfer(&xb, &one_cell, eps, 5, &rep, &m);
	ck_assert_uint_eq(rep.pulses_pos, 5);
	ck_assert_uint_eq(rep.clamped, 1);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_sign_convention)
{
	struct cim_duu_report rep;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w = { 0, 2, 0, 2 };
	float x[2] = { 1.0f, 0.0f }, d[2] = { -1.0f, 2.0f };
	float wt[4];

	tile_init();
	/*
	 * chi = -lr x d: d < 0 raises the weight, d > 0 lowers it; -1 is not
	 * the batch maximum of d, so its code -16384 is 2^-15 off
	 */
	cimfw_duu_accumulate(&xb, &w, 1, x, d, 0.5f, &m);
	ck_assert_float_eq_tol(xb.chi[0], 0.5f, 0x1p-15f);
	ck_assert_float_gt(xb.chi[0], 0.5f);
	ck_assert_float_eq(xb.chi[1], -1.0f);
	ck_assert_float_eq(xb.chi[xb.cols], 0.0f);
	cimfw_duu_transfer(&xb, &w, eps, 255, &rep, &m);
	cimfw_xbar_read_weights(&xb, &w, wt);
	ck_assert_float_gt(wt[0], 0.0f);
	ck_assert_float_lt(wt[1], 0.0f);
	ck_assert_float_eq(wt[2], 0.0f);
	/* trunc(0.5 / eps) = 63 levels up, about 127 down */
	ck_assert_uint_eq(KP(0), 63);
	ck_assert_uint_eq(KM(1), (unsigned int)(1.0f / eps));
	ck_assert_uint_eq(rep.pulses_pos, 63);
	ck_assert_uint_eq(rep.pulses_neg, (unsigned int)(1.0f / eps));
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_saturation_rule)
{
	struct cim_duu_report rep;
	struct cimfw_meter m = { 0 };
	unsigned int top;
	size_t c;

	tile_init();
	top = cfg.levels - 1;
	c = cell23();
	/* G+ at max: a raise depresses G- instead */
	set_levels(c, top, 10);
	xb.chi[c] = 3.5f * eps;
	cimfw_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(KP(c), top);
	ck_assert_uint_eq(KM(c), 7);
	ck_assert_uint_eq(rep.saturated, 1);
	ck_assert_uint_eq(rep.pulses_pos, 3);
	ck_assert_uint_eq(rep.cells_pulsed, 1);
	/* mirror: G- at max, a lowering depresses G+ */
	set_levels(c, 20, top);
	xb.chi[c] = -4.5f * eps;
	cimfw_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(KP(c), 16);
	ck_assert_uint_eq(rep.saturated, 1);
	ck_assert_uint_eq(rep.pulses_neg, 4);
	/* both routes closed: nothing moves, no pulse, chi still drained */
	set_levels(c, top, 0);
	xb.chi[c] = 2.5f * eps;
	cimfw_duu_transfer(&xb, &one_cell, eps, 31, &rep, &m);
	ck_assert_uint_eq(KP(c), top);
	ck_assert_uint_eq(KM(c), 0);
	ck_assert_uint_eq(rep.saturated, 1);
	ck_assert_uint_eq(rep.pulses_pos, 0);
	ck_assert_uint_eq(rep.cells_pulsed, 0);
	ck_assert_float_eq(xb.chi[c], 2.5f * eps - 2.0f * eps);
	cimfw_xbar_fini(&xb);
}
END_TEST

START_TEST(test_duu_below_threshold)
{
	struct cim_duu_report rep;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w = { 0, 64, 0, 48 };
	size_t c, n;

	tile_init();
	n = (size_t)xb.rows * xb.cols;
	for (c = 0; c < n; c++)
		xb.chi[c] = (c % 2 ? 0.99f : -0.99f) * eps;
	cimfw_duu_transfer(&xb, &w, eps, 31, &rep, &m);
	ck_assert_uint_eq(rep.cells_pulsed, 0);
	ck_assert_uint_eq(rep.pulses_pos + rep.pulses_neg, 0);
	ck_assert_double_eq(m.energy_fj[CIM_UNIT_PULSE], 0.0);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_PULSE], 0.0);
	for (c = 0; c < n; c++) {
		ck_assert_float_eq(xb.chi[c], (c % 2 ? 0.99f : -0.99f) * eps);
		ck_assert_uint_eq(KP(c) + KM(c), 0);
	}
	cimfw_xbar_fini(&xb);
}
END_TEST

/*
 * The quantization error of one product summed over the batch: with
 * |x - Sx X| <= Sx / 2 and |d - Sd D| <= Sd / 2,
 * |x d - Sx Sd X D| <= |x| Sd / 2 + |d| Sx / 2 + Sx Sd / 4.
 */
static double quant_bound(const float *x, const float *d, unsigned int nr,
			  unsigned int nc, unsigned int b0, unsigned int nb,
			  unsigned int i, unsigned int j)
{
	double sx = cimfw_duu_scale(x + (size_t)b0 * nr, (size_t)nb * nr);
	double sd = cimfw_duu_scale(d + (size_t)b0 * nc, (size_t)nb * nc);
	double e = 0.0;
	unsigned int b;

	for (b = b0; b < b0 + nb; b++)
		e += fabs(x[b * nr + i]) * sd / 2 + fabs(d[b * nc + j]) * sx / 2 +
		     sx * sd / 4;
	return e;
}

START_TEST(test_duu_batch_equals_sequential)
{
	enum { B = 8, R = 20, C = 30 };
	const float lr = 0.1f;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w = { 5, R, 7, C };
	float x[B * R], d[B * C], *chi1;
	double ref, tol_batch, tol_seq;
	struct cimfw_rng r;
	unsigned int b, i, j;
	size_t c;

	tile_init();
	cimfw_rng_seed(&r, 21, 21);
	for (i = 0; i < B * R; i++)
		x[i] = (float)cimfw_rng_uniform(&r);
	for (i = 0; i < B * C; i++)
		d[i] = (float)(cimfw_rng_uniform(&r) - 0.5);
	cimfw_duu_accumulate(&xb, &w, B, x, d, lr, &m);
	ck_assert_uint_eq(m.duu_macs, B * R * C);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_DUU],
				B * R * C * cfg.cost.e_duu_mac_fj +
				R * C * cfg.cost.e_duu_acc_fj, 1e-6);
	ck_assert_double_eq_tol(m.busy_ps[CIM_UNIT_DUU],
				B * R * C / cfg.cost.duu_macs_per_ns * 1e3,
				1e-6);
	chi1 = malloc(sizeof(*chi1) * xb.rows * xb.cols);
	memcpy(chi1, xb.chi, sizeof(*chi1) * xb.rows * xb.cols);
	memset(xb.chi, 0, sizeof(*chi1) * xb.rows * xb.cols);
	for (b = 0; b < B; b++)
		cimfw_duu_accumulate(&xb, &w, 1, x + b * R, d + b * C, lr, &m);
	/*
	 * Both equal the float definition within the operand quantization
	 * (one scale per call: per batch, or per vector) plus the float
	 * rounding of chi.
	 */
	for (i = 0; i < xb.rows; i++) {
		for (j = 0; j < xb.cols; j++) {
			c = (size_t)i * xb.cols + j;
			if (i < 5 || i >= 5 + R || j < 7 || j >= 7 + C) {
				ck_assert_float_eq(chi1[c], 0.0f);
				ck_assert_float_eq(xb.chi[c], 0.0f);
				continue;
			}
			ref = 0.0;
			tol_batch = 0.0;
			tol_seq = 0.0;
			for (b = 0; b < B; b++) {
				ref -= (double)lr * x[b * R + i - 5] *
				       d[b * C + j - 7];
				tol_seq += lr * quant_bound(x, d, R, C, b, 1,
							    i - 5, j - 7);
			}
			tol_batch = lr * quant_bound(x, d, R, C, 0, B, i - 5,
						     j - 7);
			/* the bound is about 2^-15 of the terms */
			ck_assert_double_le(tol_batch, 0.1 * B * 0x1p-15);
			ck_assert_double_eq_tol(chi1[c], ref,
						tol_batch + 1e-7);
			ck_assert_double_eq_tol(xb.chi[c], ref,
						tol_seq + B * 1e-7);
		}
	}
	free(chi1);
	cimfw_xbar_fini(&xb);
}
END_TEST

/* scale, rounding to nearest (ties to even), clipping, zero */
START_TEST(test_duu_quantize_precision)
{
	enum { N = 4096 };
	const float ties[] = { 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f,
			       32767.0f, -32767.0f, 0.0f, -0.0f };
	const double tied[] = { 2, 4, -2, -4, 0, -0.0, 32767, -32767, 0, 0 };
	float v[N];
	double code[N], s, e;
	struct cimfw_rng r;
	unsigned int i;

	/* S = 1: the codes are the rounded values themselves */
	ck_assert_double_eq(cimfw_duu_scale(ties, 10), 1.0);
	cimfw_duu_quantize(ties, 10, 1.0, code);
	for (i = 0; i < 10; i++) {
		ck_assert_double_eq(code[i], tied[i]);
		/* never -0: the zero code has one bit pattern */
		ck_assert(!signbit(code[i]) || code[i] != 0.0);
	}
	/* random operands: within half a step of 2^-15 of the maximum */
	cimfw_rng_seed(&r, 5, 5);
	for (i = 0; i < N; i++)
		v[i] = (float)((cimfw_rng_uniform(&r) - 0.5) * 3e-3);
	v[N / 3] = -4e-3f;	/* the maximum, negative */
	s = cimfw_duu_scale(v, N);
	ck_assert_double_eq(s, (double)4e-3f / 32767);
	cimfw_duu_quantize(v, N, s, code);
	ck_assert_double_eq(code[N / 3], -32767.0);
	for (i = 0; i < N; i++) {
		ck_assert_double_eq(code[i], nearbyint(code[i]));
		ck_assert_double_le(fabs(code[i]), 32767.0);
		e = fabs(v[i] - s * code[i]);
		ck_assert_double_le(e, 0.5 * s * (1 + 1e-12));
		/* round to nearest: the neighbour code is farther */
		ck_assert_double_ge(fabs(v[i] - s * (code[i] + 1)), e);
		ck_assert_double_ge(fabs(v[i] - s * (code[i] - 1)), e);
	}
	/* the extremes of the float range, and subnormals */
	v[0] = FLT_MAX;
	v[1] = -FLT_MAX / 3;
	s = cimfw_duu_scale(v, 2);
	cimfw_duu_quantize(v, 2, s, code);
	ck_assert_double_eq(code[0], 32767.0);
	ck_assert_double_eq(code[1], -10922.0);
	v[0] = 0x1p-149f;
	v[1] = -0x1p-148f;
	s = cimfw_duu_scale(v, 2);
	cimfw_duu_quantize(v, 2, s, code);
	ck_assert_double_le(fabs(code[0] - 16383.5), 0.5);
	ck_assert_double_le(fabs(v[0] - s * code[0]), 0.5 * s * (1 + 1e-12));
	ck_assert_double_eq(code[1], -32767.0);
	/* all zero: no scale, zero codes */
	memset(v, 0, sizeof(v));
	v[7] = -0.0f;
	ck_assert_double_eq(cimfw_duu_scale(v, N), 0.0);
	cimfw_duu_quantize(v, N, 0.0, code);
	for (i = 0; i < N; i++)
		ck_assert_double_eq(code[i], 0.0);
}
END_TEST

/* a zero operand or rate leaves chi alone, bits and all */
START_TEST(test_duu_zero_operand)
{
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w = { 0, 2, 0, 2 };
	float x[2] = { 0.0f, -0.0f }, d[2] = { 1.0f, -2.0f };
	float chi[2 * 48];
	size_t n;

	tile_init();
	n = (size_t)2 * xb.cols;
	ck_assert_uint_le(n, sizeof(chi) / sizeof(*chi));
	xb.chi[0] = -0.0f;
	xb.chi[1] = 0.25f;
	xb.chi[xb.cols] = -3.0f;
	memcpy(chi, xb.chi, n * sizeof(*chi));
	cimfw_duu_accumulate(&xb, &w, 1, x, d, 0.5f, &m);
	ck_assert_mem_eq(xb.chi, chi, n * sizeof(*chi));
	cimfw_duu_accumulate(&xb, &w, 1, d, x, 0.5f, &m);
	ck_assert_mem_eq(xb.chi, chi, n * sizeof(*chi));
	cimfw_duu_accumulate(&xb, &w, 1, d, d, 0.0f, &m);
	ck_assert_mem_eq(xb.chi, chi, n * sizeof(*chi));
	/* the work is still charged */
	ck_assert_uint_eq(m.duu_macs, 12);
	cimfw_xbar_fini(&xb);
}
END_TEST

/* The definition, computed independently: libm rounding, int64 sums. */
static void ref_accumulate(float *chi, size_t ld, unsigned int batch,
			   unsigned int nr, unsigned int nc, const float *x,
			   const float *d, float lr)
{
	double mx = 0.0, md = 0.0, sx, sd, c;
	int64_t *cx, *cd, g;
	unsigned int b, i, j;

	for (i = 0; i < batch * nr; i++)
		mx = fmax(mx, fabs(x[i]));
	for (i = 0; i < batch * nc; i++)
		md = fmax(md, fabs(d[i]));
	if (mx == 0.0 || md == 0.0 || lr == 0.0f)
		return;
	sx = mx / 32767;
	sd = md / 32767;
	cx = malloc(sizeof(*cx) * batch * nr);
	cd = malloc(sizeof(*cd) * batch * nc);
	for (i = 0; i < batch * nr; i++) {
		c = nearbyint(x[i] / sx);
		cx[i] = (int64_t)fmax(-32767, fmin(32767, c));
	}
	for (i = 0; i < batch * nc; i++) {
		c = nearbyint(d[i] / sd);
		cd[i] = (int64_t)fmax(-32767, fmin(32767, c));
	}
	for (i = 0; i < nr; i++) {
		for (j = 0; j < nc; j++) {
			g = 0;
			for (b = 0; b < batch; b++)
				g += cx[b * nr + i] * cd[b * nc + j];
			chi[i * ld + j] -= (float)((double)lr * sx * sd *
						   (double)g);
		}
	}
	free(cx);
	free(cd);
}

/* OpenBLAS threads: set @n, return the previous count (0: unknown) */
static int set_blas_threads(int n)
{
#ifdef OPENBLAS_VERSION
	int old = openblas_get_num_threads();

	if (n > 0)
		openblas_set_num_threads(n);
	return old;
#else
	(void)n;
	return 0;
#endif
}

/*
 * The sum is exact: bit for bit the int64 reference, at the largest batch
 * (sums near 2^40), with 1 or 2 BLAS threads, 1 to 3 threads of the
 * model's pool, for a sparse x (the row-by-row path) and without BLAS
 * (the fallback when the scratch cannot grow).
 */
START_TEST(test_duu_exact_any_order)
{
	enum { B = CIM_MAX_BATCH, R = 61, C = 45 };
	const struct cimfw_xbar_win w = { 2, R, 1, C };
	const float lr = 0.0371f;
	struct cimfw_meter m = { 0 };
	float *x, *d, *ref, *chi0;
	struct cimfw_rng r;
	size_t n, i;
	int pass, threads0;
	unsigned int t;

	tile_init();
	threads0 = set_blas_threads(0);
	n = (size_t)xb.rows * xb.cols;
	x = malloc(sizeof(*x) * B * R);
	d = malloc(sizeof(*d) * B * C);
	ref = malloc(sizeof(*ref) * n);
	chi0 = malloc(sizeof(*chi0) * n);
	cimfw_rng_seed(&r, 77, 77);
	for (i = 0; i < n; i++)
		chi0[i] = (float)(cimfw_rng_uniform(&r) - 0.5) * 0.01f;
	for (pass = 0; pass < 3; pass++) {
		/*
		 * pass 0: random; pass 1: all at +-max, the largest sums;
		 * pass 2: one x in 20 non-zero, some below a code's half step
		 */
		for (i = 0; i < (size_t)B * R; i++)
			x[i] = pass == 1 ? (i % 3 ? 1.5f : -1.5f) :
			       pass == 2 ? (i % 20 ? 0.0f : i % 7 ? 1e-9f :
					    (float)(cimfw_rng_uniform(&r) - 0.3)) :
				      (float)(cimfw_rng_uniform(&r) - 0.3);
		for (i = 0; i < (size_t)B * C; i++)
			d[i] = pass ? -2e-3f :
				      (float)((cimfw_rng_uniform(&r) - 0.5) *
					      1e-2 * (i % 7 + 1));
		memcpy(ref, chi0, n * sizeof(*ref));
		ref_accumulate(ref + 2 * xb.cols + 1, xb.cols, B, R, C, x, d,
			       lr);

		set_blas_threads(1);
		memcpy(xb.chi, chi0, n * sizeof(*chi0));
		cimfw_duu_accumulate(&xb, &w, B, x, d, lr, &m);
		ck_assert_mem_eq(xb.chi, ref, n * sizeof(*ref));

		set_blas_threads(2);
		memcpy(xb.chi, chi0, n * sizeof(*chi0));
		cimfw_duu_accumulate(&xb, &w, B, x, d, lr, &m);
		ck_assert_mem_eq(xb.chi, ref, n * sizeof(*ref));

		for (t = 1; t <= 3; t++) {
			cimfw_par_set_threads(t);
			memcpy(xb.chi, chi0, n * sizeof(*chi0));
			cimfw_duu_accumulate(&xb, &w, B, x, d, lr, &m);
			ck_assert_mem_eq(xb.chi, ref, n * sizeof(*ref));
		}
		cimfw_par_set_threads(0);

		/* a smaller batch: another kernel blocking */
		memcpy(ref, chi0, n * sizeof(*ref));
		ref_accumulate(ref + 2 * xb.cols + 1, xb.cols, 3, R, C, x, d,
			       lr);
		memcpy(xb.chi, chi0, n * sizeof(*chi0));
		cimfw_duu_accumulate(&xb, &w, 3, x, d, lr, &m);
		ck_assert_mem_eq(xb.chi, ref, n * sizeof(*ref));

		/* scratch that cannot grow: the int64 path, same bits */
		free(xb.scratch);
		xb.scratch = NULL;
		xb.scratch_len = SIZE_MAX;
		memcpy(xb.chi, chi0, n * sizeof(*chi0));
		cimfw_duu_accumulate(&xb, &w, 3, x, d, lr, &m);
		ck_assert_mem_eq(xb.chi, ref, n * sizeof(*ref));
		xb.scratch_len = 0;
	}
	set_blas_threads(threads0);
	free(x);
	free(d);
	free(ref);
	free(chi0);
	cimfw_xbar_fini(&xb);
}
END_TEST

/*
 * eps = 1/(levels-1) is one level: on ideal devices w + chi is conserved
 * by a transfer. A coarser eps moves proportionally more per unit.
 */
START_TEST(test_duu_eps_choice)
{
	struct cim_duu_report rep;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w = { 0, 64, 0, 48 };
	struct cimfw_rng r;
	float *w0, *w1;
	size_t c, n;

	tile_init();
	n = (size_t)xb.rows * xb.cols;
	w0 = malloc(sizeof(*w0) * n);
	w1 = malloc(sizeof(*w1) * n);
	cimfw_rng_seed(&r, 4, 4);
	for (c = 0; c < n; c++) {
		set_levels(c, 40, 20);
		xb.chi[c] = (float)((cimfw_rng_uniform(&r) - 0.5) * 0.3);
	}
	cimfw_xbar_read_weights(&xb, &w, w0);
	for (c = 0; c < n; c++)
		w0[c] += xb.chi[c];
	cimfw_duu_transfer(&xb, &w, eps, 31, &rep, &m);
	ck_assert_uint_gt(rep.cells_pulsed, n / 2);
	cimfw_xbar_read_weights(&xb, &w, w1);
	for (c = 0; c < n; c++) {
		ck_assert_double_eq_tol(w1[c] + xb.chi[c], w0[c], 1e-5);
		ck_assert_float_lt(fabsf(xb.chi[c]), eps);
	}
	/* eps of two levels: one pulse per 2 eps of chi */
	set_levels(cell23(), 50, 0);
	xb.chi[cell23()] = 4.5f * eps;
	cimfw_duu_transfer(&xb, &one_cell, 2.0f * eps, 31, &rep, &m);
	ck_assert_uint_eq(rep.pulses_pos, 2);
	ck_assert_uint_eq(KP(cell23()), 52);
	free(w0);
	free(w1);
	cimfw_xbar_fini(&xb);
}
END_TEST

/* rows one after another, columns in parallel */
START_TEST(test_duu_transfer_cost)
{
	struct cim_duu_report rep;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar_win w = { 0, 3, 0, 3 };

	tile_init();
	xb.chi[0] = 2.5f * eps;
	xb.chi[1] = -5.5f * eps;
	xb.chi[(size_t)2 * xb.cols + 2] = 3.5f * eps;
	cimfw_duu_transfer(&xb, &w, eps, 31, &rep, &m);
	ck_assert_uint_eq(rep.cells_pulsed, 3);
	ck_assert_uint_eq(m.pulses_pos, 5);
	ck_assert_uint_eq(m.pulses_neg, 5);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_PULSE],
				10 * cfg.cost.e_pulse_fj, 1e-6);
	ck_assert_double_eq_tol(m.busy_ps[CIM_UNIT_PULSE],
				(5 + 3) * cfg.cost.t_pulse_ps, 1e-6);
	cimfw_xbar_fini(&xb);
}
END_TEST

/*
 * The transfer decides, draws and pulses in three steps, the first and
 * the last across the pool: on 1, 2 and 3 threads and on the one-pass
 * path (no scratch), the same levels, chi, pulse stream, report and
 * meter, bit for bit, with every non-ideality on (variation, pulse noise,
 * stuck devices, devices at their bounds, clamped counts).
 */
START_TEST(test_duu_transfer_threads)
{
	/* large enough for the pool to cut it (8 x cells >= 32768) */
	const struct cimfw_xbar_win w = { 1, 120, 2, 60 };
	struct cim_duu_report rep0, rep;
	struct cimfw_meter m0, m;
	struct cimfw_rng r, c2c0;
	float *chi0;
	int32_t *g0;
	size_t n, i;
	unsigned int t;

	unit_config_ideal(&cfg);
	cfg.gamma = 0.5;
	cfg.sigma_d2d = 0.2;
	cfg.sigma_c2c = 0.3;
	cfg.stuck_prob = 0.05;
	cfg.prog_noise_us = 0.2;
	cfg.relax_nu = 0.05;	/* pulses draw a relaxation each */
	cfg.relax_sigma_us = 0.1;
	cfg.xbar_rows = 128;
	cfg.xbar_cols = 64;
	ck_assert_int_eq(cimfw_xbar_init(&xb, &cfg, &clock_ns, 0), 0);
	eps = 1.0f / (float)(cfg.levels - 1);
	n = (size_t)xb.rows * xb.cols;
	cimfw_rng_seed(&r, 31, 31);
	for (i = 0; i < n; i++) {
		if (xb.stuck[2 * i] == CIMFW_STUCK_NONE &&
		    xb.stuck[2 * i + 1] == CIMFW_STUCK_NONE)
			set_levels(i, cimfw_rng_next(&r) % cfg.levels,
				   i % 11 ? cimfw_rng_next(&r) % cfg.levels : 0);
		/* counts up to about 40: some clamped at n_max = 31 */
		xb.chi[i] = (float)((cimfw_rng_uniform(&r) - 0.5) * 80.0) * eps;
	}
	chi0 = malloc(n * sizeof(*chi0));
	g0 = malloc(2 * n * sizeof(*g0));
	memcpy(chi0, xb.chi, n * sizeof(*chi0));
	memcpy(g0, xb.g, 2 * n * sizeof(*g0));
	c2c0 = xb.c2c;
	/* the reference: the one-pass loop, scratch that cannot grow */
	free(xb.scratch);
	xb.scratch = NULL;
	xb.scratch_len = SIZE_MAX;
	memset(&m0, 0, sizeof(m0));
	cimfw_duu_transfer(&xb, &w, eps, 31, &rep0, &m0);
	ck_assert_uint_gt(rep0.clamped, 0);
	ck_assert_uint_gt(rep0.saturated, 0);
	ck_assert_uint_gt(rep0.cells_pulsed, 1000);
	xb.scratch_len = 0;
	for (t = 1; t <= 3; t++) {
		float *chi1 = malloc(n * sizeof(*chi1));
		int32_t *g1 = malloc(2 * n * sizeof(*g1));
		double *d1 = malloc(n * sizeof(*d1));
		struct cimfw_rng c2c1 = xb.c2c;

		memcpy(chi1, xb.chi, n * sizeof(*chi1));
		memcpy(g1, xb.g, 2 * n * sizeof(*g1));
		memcpy(d1, xb.gdiff, n * sizeof(*d1));
		cimfw_par_set_threads(t);
		memcpy(xb.chi, chi0, n * sizeof(*chi0));
		for (i = 0; i < 2 * n; i++)
			cimfw_xbar_set_g(&xb, i, g0[i]);
		xb.c2c = c2c0;
		memset(&m, 0, sizeof(m));
		cimfw_duu_transfer(&xb, &w, eps, 31, &rep, &m);
		ck_assert_mem_eq(&rep, &rep0, sizeof(rep));
		ck_assert_mem_eq(&m, &m0, sizeof(m));
		ck_assert_mem_eq(&xb.c2c, &c2c1, sizeof(c2c1));
		ck_assert_mem_eq(xb.chi, chi1, n * sizeof(*chi1));
		ck_assert_mem_eq(xb.g, g1, 2 * n * sizeof(*g1));
		ck_assert_mem_eq(xb.gdiff, d1, n * sizeof(*d1));
		free(chi1);
		free(g1);
		free(d1);
	}
	cimfw_par_set_threads(0);
	free(chi0);
	free(g0);
	cimfw_xbar_fini(&xb);
}
END_TEST

/*
 * An identity x (CIM_DUU_F_X_IDENTITY) against the identity sent as x:
 * the same chi bits, the identity sent through the sparse path (rows
 * >= 8), the dense one (fewer) and the int64 fallback, at 1 to 3 threads;
 * the meter counts one product per cell instead of rows per cell.
 */
START_TEST(test_duu_identity_equals_explicit)
{
	static const struct cimfw_xbar_win wins[] = {
		{ 3, 60, 5, 40 }, { 1, 5, 2, 9 }, { 0, 1, 0, 1 },
	};
	const float lr = 0.07f;
	struct cimfw_meter m1, m2;
	float *x, *d, *chi1;
	struct cimfw_rng r;
	unsigned int k, t, slow, nr, nc, i;
	size_t n;

	tile_init();
	n = (size_t)xb.rows * xb.cols;
	chi1 = malloc(n * sizeof(*chi1));
	cimfw_rng_seed(&r, 41, 41);
	for (k = 0; k < sizeof(wins) / sizeof(wins[0]); k++) {
		nr = wins[k].nrows;
		nc = wins[k].ncols;
		x = calloc((size_t)nr * nr, sizeof(*x));
		d = malloc((size_t)nr * nc * sizeof(*d));
		for (i = 0; i < nr; i++)
			x[(size_t)i * nr + i] = 1.0f;
		/* some exact zeros and a value far below the largest */
		for (i = 0; i < nr * nc; i++)
			d[i] = i % 7 ? (float)(cimfw_rng_uniform(&r) - 0.5) :
				       0.0f;
		d[nr * nc / 2] = 1e-9f;
		for (slow = 0; slow < 2; slow++)
			for (t = 1; t <= 3; t++) {
				cimfw_par_set_threads(t);
				if (slow) {
					free(xb.scratch);
					xb.scratch = NULL;
					xb.scratch_len = SIZE_MAX;
				}
				for (i = 0; i < n; i++)
					xb.chi[i] = (float)i * 1e-6f;
				memset(&m1, 0, sizeof(m1));
				cimfw_duu_accumulate(&xb, &wins[k], nr, x, d, lr,
						   &m1);
				memcpy(chi1, xb.chi, n * sizeof(*chi1));
				for (i = 0; i < n; i++)
					xb.chi[i] = (float)i * 1e-6f;
				memset(&m2, 0, sizeof(m2));
				cimfw_duu_accumulate_identity(&xb, &wins[k], d,
							    lr, &m2);
				xb.scratch_len = 0;
				ck_assert_mem_eq(xb.chi, chi1,
						 n * sizeof(*chi1));
				ck_assert_uint_eq(m1.duu_macs,
						  (uint64_t)nr * nr * nc);
				ck_assert_uint_eq(m2.duu_macs,
						  (uint64_t)nr * nc);
				ck_assert_double_eq_tol(
					m2.energy_fj[CIM_UNIT_DUU],
					nr * nc * cfg.cost.e_duu_acc_fj, 1e-6);
			}
		free(x);
		free(d);
	}
	cimfw_par_set_threads(0);
	free(chi1);
	cimfw_xbar_fini(&xb);
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
	tcase_add_test(tc, test_duu_quantize_precision);
	tcase_add_test(tc, test_duu_zero_operand);
	tcase_add_test(tc, test_duu_exact_any_order);
	tcase_add_test(tc, test_duu_eps_choice);
	tcase_add_test(tc, test_duu_transfer_cost);
	tcase_add_test(tc, test_duu_transfer_threads);
	tcase_add_test(tc, test_duu_identity_equals_explicit);
	suite_add_tcase(s, tc);
	return s;
}
