// SPDX-License-Identifier: MIT
/*
 * The layers of runtime/layers/ on small embedded devices: tiling against
 * one big crossbar and a float reference, signed weights, import/export,
 * training direction, im2col convolution, argument checks and device
 * reset.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cim_layer.h"
#include "unit.h"

enum dev_physics {
	PHYS_IDEAL,
	PHYS_DEFAULT,
	/* default, but pulses land and verify reads see without noise */
	PHYS_EXACT_WRITES,
};

static struct cim_device *open_dev(unsigned int count, unsigned int rows,
				   unsigned int cols, enum dev_physics phys)
{
	struct cim_embedded_options o = { .size = sizeof(o) };
	struct cimfw_config cfg;
	struct cim_device *dev;

	if (phys == PHYS_IDEAL) {
		unit_config_ideal(&cfg);
	} else {
		cimfw_config_default(&cfg);
		cfg.ap_count = 0;
		if (phys == PHYS_EXACT_WRITES) {
			cfg.prog_noise_us = 0.0;
			cfg.g_read_noise_us = 0.0;
		}
	}
	cfg.xbar_count = count;
	cfg.xbar_rows = rows;
	cfg.xbar_cols = cols;
	cfg.seed = 42;
	o.config = &cfg;
	ck_assert_int_eq(cim_device_open_embedded(&dev, &o), 0);
	return dev;
}

static float frand(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *rand_vec(size_t n, float scale, unsigned int seed)
{
	float *v = malloc(n * sizeof(*v));
	size_t i;

	ck_assert_ptr_nonnull(v);
	for (i = 0; i < n; i++)
		v[i] = scale * frand(&seed);
	return v;
}

/* y = x W (trans: y = x W^T), double accumulation */
static void ref_mm(const float *x, const float *w, unsigned int batch,
		   unsigned int in, unsigned int out, bool trans, float *y)
{
	unsigned int b, i, j;

	for (b = 0; b < batch; b++) {
		for (j = 0; j < (trans ? in : out); j++) {
			double s = 0.0;

			for (i = 0; i < (trans ? out : in); i++)
				s += (double)x[b * (trans ? out : in) + i] *
				     (trans ? w[j * out + i] : w[i * out + j]);
			y[b * (trans ? in : out) + j] = (float)s;
		}
	}
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const float *b, size_t n)
{
	double e = 0.0, m = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		e = fmax(e, fabs((double)a[i] - b[i]));
		m = fmax(m, fabs((double)b[i]));
	}
	return m > 0.0 ? e / m : e;
}

static struct cim_linear *mk_linear(struct cim_device *dev, unsigned int in,
				    unsigned int out, unsigned int batch,
				    float w_max)
{
	struct cim_linear_options o;
	struct cim_linear *l;

	cim_linear_options_default(&o);
	o.batch_max = batch;
	o.w_max = w_max;
	ck_assert_int_eq(cim_linear_create(dev, in, out, &o, &l), 0);
	return l;
}

START_TEST(test_tiling)
{
	enum { IN = 300, OUT = 200, B = 8 };
	struct cim_device *dt = open_dev(25, 64, 48, PHYS_IDEAL);
	struct cim_device *d1 = open_dev(1, 300, 200, PHYS_IDEAL);
	struct cim_linear *lt = mk_linear(dt, IN, OUT, B, 0.5f);
	struct cim_linear *l1 = mk_linear(d1, IN, OUT, B, 0.5f);
	float *w = rand_vec((size_t)IN * OUT, 0.5f, 1);
	float *x = rand_vec((size_t)B * IN, 1.0f, 2);
	float *dy = rand_vec((size_t)B * OUT, 1.0f, 3);
	float *we = malloc(sizeof(float) * IN * OUT);
	float *yt = malloc(sizeof(float) * B * IN), *y1 = malloc(sizeof(float) * B * IN);
	float *yr = malloc(sizeof(float) * B * IN);

	ck_assert_uint_eq(cim_linear_tiles(lt), 25);
	ck_assert_uint_eq(cim_linear_tiles(l1), 1);
	ck_assert_int_eq(cim_linear_import(lt, w, NULL), 0);
	ck_assert_int_eq(cim_linear_import(l1, w, NULL), 0);
	/* the reference uses the programmed weights, not the targets */
	ck_assert_int_eq(cim_linear_export(lt, we), 0);

	ck_assert_int_eq(cim_linear_forward(lt, x, B, yt), 0);
	ck_assert_int_eq(cim_linear_forward(l1, x, B, y1), 0);
	ref_mm(x, we, B, IN, OUT, false, yr);
	ck_assert_double_lt(rel_err(yt, yr, B * OUT), 0.03);
	ck_assert_double_lt(rel_err(y1, yr, B * OUT), 0.03);
	ck_assert_double_lt(rel_err(yt, y1, B * OUT), 0.04);

	ck_assert_int_eq(cim_linear_backward(lt, dy, B, yt), 0);
	ck_assert_int_eq(cim_linear_backward(l1, dy, B, y1), 0);
	ref_mm(dy, we, B, IN, OUT, true, yr);
	ck_assert_double_lt(rel_err(yt, yr, B * IN), 0.03);
	ck_assert_double_lt(rel_err(y1, yr, B * IN), 0.03);

	cim_linear_destroy(lt);
	cim_linear_destroy(l1);
	cim_device_close(dt);
	cim_device_close(d1);
	free(w);
	free(x);
	free(dy);
	free(we);
	free(yt);
	free(y1);
	free(yr);
}
END_TEST

START_TEST(test_signed_and_roundtrip)
{
	enum { IN = 70, OUT = 50 };
	/* verify reads that see the truth: a cell off target is reported */
	struct cim_device *dev = open_dev(4, 64, 48, PHYS_EXACT_WRITES);
	struct cim_linear *l = mk_linear(dev, IN, OUT, 4, 2.0f);
	struct cim_info info = { .size = sizeof(info) };
	struct cim_program_stats st;
	float *w = rand_vec((size_t)IN * OUT, 2.5f, 5);	/* some clip */
	float *we = malloc(sizeof(float) * IN * OUT);
	float *g = malloc(sizeof(float) * IN * OUT * 2);
	double lsb, emax = 0.0;
	size_t i, nfail = 0;

	ck_assert_int_eq(cim_device_query(dev, &info), 0);
	lsb = 2.0 / (info.xbar_levels - 1);
	ck_assert_int_eq(cim_linear_import(l, w, &st), 0);
	ck_assert_uint_eq(st.cells, IN * OUT);
	ck_assert_int_eq(cim_linear_export(l, we), 0);
	ck_assert_int_eq(cim_linear_read_conductance(l, g), 0);
	for (i = 0; i < (size_t)IN * OUT; i++) {
		double t = fmin(fmax(w[i], -2.0), 2.0), e = fabs(we[i] - t);

		/* 0.5 levels per device of the pair: one level per weight */
		if (e > 1.01 * lsb)
			nfail++;
		emax = fmax(emax, e);
		/* signed weights on the pair: the sign picks the device */
		if (t > 2 * lsb)
			ck_assert_float_gt(g[2 * i], g[2 * i + 1]);
		if (t < -2 * lsb)
			ck_assert_float_lt(g[2 * i], g[2 * i + 1]);
	}
	ck_assert_uint_le(nfail, st.failed);
	cim_linear_destroy(l);
	cim_device_close(dev);
	free(w);
	free(we);
	free(g);
}
END_TEST

START_TEST(test_training_decreases_loss)
{
	enum { IN = 20, OUT = 6, B = 16, STEPS = 60 };
	struct cim_device *dev = open_dev(1, 64, 48, PHYS_DEFAULT);
	struct cim_linear *l = mk_linear(dev, IN, OUT, B, 1.0f);
	float *wt = rand_vec((size_t)IN * OUT, 0.5f, 9);
	float *x = malloc(sizeof(float) * B * IN);
	float *y = malloc(sizeof(float) * B * OUT);
	float *t = malloc(sizeof(float) * B * OUT);
	double loss0 = 0.0, loss = 0.0;
	unsigned int s = 77, step, i;

	ck_assert_int_eq(cim_linear_set_lr(l, 0.05f), 0);
	for (step = 0; step < STEPS; step++) {
		for (i = 0; i < B * IN; i++)
			x[i] = frand(&s);
		ref_mm(x, wt, B, IN, OUT, false, t);
		ck_assert_int_eq(cim_linear_forward(l, x, B, y), 0);
		loss = 0.0;
		for (i = 0; i < B * OUT; i++) {
			y[i] -= t[i];	/* dL/dy of 0.5 |y - t|^2 */
			loss += 0.5 * y[i] * y[i] / B;
		}
		if (!step)
			loss0 = loss;
		ck_assert_int_eq(cim_linear_update(l, x, y, B), 0);
	}
	ck_assert_double_lt(loss, 0.3 * loss0);
	cim_linear_destroy(l);
	cim_device_close(dev);
	free(wt);
	free(x);
	free(y);
	free(t);
}
END_TEST

static void ref_conv(const float *x, const float *w, unsigned int n,
		     const struct cim_conv2d_shape *s, unsigned int oh,
		     unsigned int ow, float *y)
{
	unsigned int b, o, oy, ox, c, ky, kx;

	for (b = 0; b < n; b++)
	for (o = 0; o < s->out_ch; o++)
	for (oy = 0; oy < oh; oy++)
	for (ox = 0; ox < ow; ox++) {
		double acc = 0.0;

		for (c = 0; c < s->in_ch; c++)
		for (ky = 0; ky < s->k_h; ky++)
		for (kx = 0; kx < s->k_w; kx++) {
			int iy = (int)(oy * s->stride + ky) - (int)s->pad;
			int ix = (int)(ox * s->stride + kx) - (int)s->pad;

			if (iy < 0 || ix < 0 || iy >= (int)s->in_h ||
			    ix >= (int)s->in_w)
				continue;
			acc += (double)x[((b * s->in_ch + c) * s->in_h + iy) *
					 s->in_w + ix] *
			       w[((o * s->in_ch + c) * s->k_h + ky) * s->k_w +
				 kx];
		}
		y[((b * s->out_ch + o) * oh + oy) * ow + ox] = (float)acc;
	}
}

START_TEST(test_conv2d)
{
	struct cim_conv2d_shape s = {
		.in_ch = 3, .out_ch = 5, .in_h = 9, .in_w = 7,
		.k_h = 3, .k_w = 3, .stride = 2, .pad = 1,
	};
	enum { N = 3 };
	struct cim_device *dev = open_dev(2, 64, 48, PHYS_IDEAL);
	struct cim_linear_options o;
	struct cim_conv2d *c;
	unsigned int oh, ow;
	size_t nw = 5 * 27, nx = N * 3 * 9 * 7, ny;
	float *w = rand_vec(nw, 0.8f, 11), *we = malloc(nw * sizeof(float));
	float *x = rand_vec(nx, 1.0f, 12), *y, *yr, *dx, *dxr, *dy, *gw, *gw1;
	double e, m = 0.0;
	unsigned int t;
	size_t i;

	cim_linear_options_default(&o);
	o.batch_max = N;
	ck_assert_int_eq(cim_conv2d_create(dev, &s, &o, &c), 0);
	cim_conv2d_out_size(c, &oh, &ow);
	ck_assert_uint_eq(oh, 5);
	ck_assert_uint_eq(ow, 4);
	ny = (size_t)N * 5 * oh * ow;
	y = malloc(ny * sizeof(float));
	yr = malloc(ny * sizeof(float));
	dy = rand_vec(ny, 1.0f, 13);
	dx = malloc(nx * sizeof(float));
	dxr = calloc(nx, sizeof(float));
	ck_assert_int_eq(cim_conv2d_import(c, w, NULL), 0);
	ck_assert_int_eq(cim_conv2d_export(c, we), 0);
	for (i = 0; i < nw; i++)
		ck_assert_float_lt(fabsf(we[i] - w[i]), 0.02f);
	ck_assert_int_eq(cim_conv2d_forward(c, x, N, y), 0);
	ref_conv(x, we, N, &s, oh, ow, yr);
	ck_assert_double_lt(rel_err(y, yr, ny), 0.03);

	/* dx by the adjoint: <conv(e_i), dy> for every input pixel */
	ck_assert_int_eq(cim_conv2d_backward(c, dy, N, dx), 0);
	for (i = 0; i < nx; i++) {
		float *xi = calloc(nx, sizeof(float));
		size_t k;
		double acc = 0.0;

		xi[i] = 1.0f;
		ref_conv(xi, we, N, &s, oh, ow, yr);
		for (k = 0; k < ny; k++)
			acc += (double)yr[k] * dy[k];
		dxr[i] = (float)acc;
		free(xi);
	}
	e = rel_err(dx, dxr, nx);
	for (i = 0; i < nx; i++)
		m = fmax(m, fabs(dxr[i]));
	ck_assert_double_lt(e, 0.03);

	/* the host's weight gradient against <conv(x) with unit filters, dy> */
	gw = malloc(nw * sizeof(float));
	gw1 = malloc(nw * sizeof(float));
	for (t = 1; t <= 3; t++) {
		cimfw_par_set_threads(t);
		ck_assert_int_eq(cim_conv2d_weight_grad(c, x, dy, N,
							t == 1 ? gw : gw1), 0);
		if (t > 1)
			ck_assert_mem_eq(gw, gw1, nw * sizeof(float));
	}
	cimfw_par_set_threads(0);
	for (i = 0; i < nw; i++) {
		float *wi = calloc(nw, sizeof(float));
		size_t k, r = i % 27, oc = i / 27;
		double acc = 0.0;

		wi[i] = 1.0f;
		ref_conv(x, wi, N, &s, oh, ow, yr);
		for (k = 0; k < ny; k++)
			acc += (double)yr[k] * dy[k];
		ck_assert_double_eq_tol(gw[r * 5 + oc], acc,
					1e-5 * (1.0 + fabs(acc)));
		free(wi);
	}
	ck_assert_int_eq(cim_conv2d_weight_grad(c, x, dy, N, NULL), -EINVAL);
	ck_assert_int_eq(cim_conv2d_weight_grad(c, x, dy, N + 1, gw),
			 -EINVAL);
	dy[ny - 1] = NAN;
	memcpy(gw1, gw, nw * sizeof(float));
	ck_assert_int_eq(cim_conv2d_weight_grad(c, x, dy, N, gw), -EINVAL);
	ck_assert_mem_eq(gw, gw1, nw * sizeof(float));
	dy[ny - 1] = 0.5f;
	ck_assert_int_eq(cim_conv2d_update(c, x, dy, N), 0);

	cim_conv2d_destroy(c);
	cim_device_close(dev);
	free(w);
	free(we);
	free(x);
	free(y);
	free(yr);
	free(dy);
	free(dx);
	free(dxr);
	free(gw);
	free(gw1);
}
END_TEST

START_TEST(test_einval_changes_nothing)
{
	enum { IN = 70, OUT = 50, B = 4 };
	struct cim_device *dev = open_dev(4, 64, 48, PHYS_IDEAL);
	struct cim_linear *l = mk_linear(dev, IN, OUT, B, 1.0f), *l2;
	struct cim_linear_options o;
	struct cim_conv2d_shape cs = { 1, 1, 4, 4, 5, 5, 1, 0 };
	struct cim_conv2d *cv;
	float *w = rand_vec((size_t)IN * OUT, 0.5f, 21);
	float *w0 = malloc(sizeof(float) * IN * OUT);
	float *w1 = malloc(sizeof(float) * IN * OUT);
	float *x = rand_vec((size_t)B * IN, 1.0f, 22);
	float *dy = rand_vec((size_t)B * OUT, 1.0f, 23);
	float y[B * IN], y0[B * IN];

	ck_assert_int_eq(cim_linear_import(l, w, NULL), 0);
	ck_assert_int_eq(cim_linear_export(l, w0), 0);
	memset(y, 0x5a, sizeof(y));
	memcpy(y0, y, sizeof(y));

	/* calls */
	ck_assert_int_eq(cim_linear_forward(NULL, x, B, y), -EINVAL);
	ck_assert_int_eq(cim_linear_forward(l, NULL, B, y), -EINVAL);
	ck_assert_int_eq(cim_linear_forward(l, x, B, NULL), -EINVAL);
	ck_assert_int_eq(cim_linear_forward(l, x, 0, y), -EINVAL);
	ck_assert_int_eq(cim_linear_forward(l, x, B + 1, y), -EINVAL);
	ck_assert_int_eq(cim_linear_backward(l, dy, 0, y), -EINVAL);
	ck_assert_int_eq(cim_linear_backward(l, NULL, B, y), -EINVAL);
	ck_assert_int_eq(cim_linear_update(l, x, NULL, B), -EINVAL);
	ck_assert_int_eq(cim_linear_update(l, x, dy, B + 1), -EINVAL);
	ck_assert_int_eq(cim_linear_update_grad(NULL, w), -EINVAL);
	ck_assert_int_eq(cim_linear_update_grad(l, NULL), -EINVAL);
	ck_assert_int_eq(cim_linear_import(l, NULL, NULL), -EINVAL);
	ck_assert_int_eq(cim_linear_export(l, NULL), -EINVAL);
	ck_assert_int_eq(cim_linear_read_conductance(NULL, y), -EINVAL);
	ck_assert_int_eq(cim_linear_set_lr(l, -1.0f), -EINVAL);
	ck_assert_int_eq(cim_linear_set_lr(l, NAN), -EINVAL);
	ck_assert_int_eq(cim_linear_reprogram(NULL, NULL), -EINVAL);
	/* a NaN anywhere: nothing reaches the device, not even other tiles */
	x[B * IN - 1] = NAN;
	ck_assert_int_eq(cim_linear_forward(l, x, B, y), -EINVAL);
	ck_assert_int_eq(cim_linear_update(l, x, dy, B), -EINVAL);
	x[B * IN - 1] = 0.5f;
	dy[B * OUT - 1] = INFINITY;
	ck_assert_int_eq(cim_linear_backward(l, dy, B, y), -EINVAL);
	ck_assert_int_eq(cim_linear_update(l, x, dy, B), -EINVAL);
	w[IN * OUT - 1] = NAN;
	ck_assert_int_eq(cim_linear_import(l, w, NULL), -EINVAL);
	ck_assert_int_eq(cim_linear_update_grad(l, w), -EINVAL);
	ck_assert_mem_eq(y, y0, sizeof(y));
	ck_assert_int_eq(cim_linear_export(l, w1), 0);
	ck_assert_mem_eq(w0, w1, sizeof(float) * IN * OUT);

	/* creation */
	cim_linear_options_default(&o);
	ck_assert_int_eq(cim_linear_create(NULL, 4, 4, &o, &l2), -EINVAL);
	ck_assert_int_eq(cim_linear_create(dev, 0, 4, &o, &l2), -EINVAL);
	ck_assert_int_eq(cim_linear_create(dev, 4, 4, &o, NULL), -EINVAL);
	o.n_max = 0;
	ck_assert_int_eq(cim_linear_create(dev, 4, 4, &o, &l2), -EINVAL);
	cim_linear_options_default(&o);
	o.w_max = 0.0f;
	ck_assert_int_eq(cim_linear_create(dev, 4, 4, &o, &l2), -EINVAL);
	cim_linear_options_default(&o);
	o.batch_max = CIM_MAX_BATCH + 1;
	ck_assert_int_eq(cim_linear_create(dev, 4, 4, &o, &l2), -EINVAL);
	cim_linear_options_default(&o);
	o.xbar_mask = 1ull << 4;	/* past the last crossbar */
	ck_assert_int_eq(cim_linear_create(dev, 4, 4, &o, &l2), -EINVAL);
	cim_linear_options_default(&o);
	o.size = 4;
	ck_assert_int_eq(cim_linear_create(dev, 4, 4, &o, &l2), -EINVAL);
	/* too big for the four crossbars */
	ck_assert_int_eq(cim_linear_create(dev, 200, 200, NULL, &l2), -E2BIG);
	/* a kernel larger than the padded input */
	ck_assert_int_eq(cim_conv2d_create(dev, &cs, NULL, &cv), -EINVAL);

	cim_linear_destroy(l);
	cim_device_close(dev);
	free(w);
	free(w0);
	free(w1);
	free(x);
	free(dy);
}
END_TEST

START_TEST(test_reset_weights_lost)
{
	enum { IN = 70, OUT = 50, B = 4 };
	struct cim_device *dev = open_dev(8, 64, 48, PHYS_IDEAL);
	struct cim_linear *l = mk_linear(dev, IN, OUT, B, 1.0f), *l2;
	struct cim_linear_options o;
	float *w = rand_vec((size_t)IN * OUT, 0.5f, 31);
	float *we = malloc(sizeof(float) * IN * OUT);
	float *x = rand_vec((size_t)B * IN, 1.0f, 32);
	float y0[B * OUT], y1[B * OUT], z0[B * OUT], z1[B * OUT];

	/* a second layer on the same handle, on the next four crossbars */
	cim_linear_options_default(&o);
	o.batch_max = B;
	o.xbar_mask = 0xf0;
	ck_assert_int_eq(cim_linear_create(dev, IN, OUT, &o, &l2), 0);
	ck_assert_int_eq(cim_linear_import(l, w, NULL), 0);
	ck_assert_int_eq(cim_linear_import(l2, w, NULL), 0);
	ck_assert_int_eq(cim_linear_forward(l, x, B, y0), 0);
	ck_assert_int_eq(cim_linear_forward(l2, x, B, z0), 0);
	ck_assert_int_eq(cim_linear_weights_lost(l), 0);

	ck_assert_int_eq(cim_device_reset(dev), 0);
	memcpy(y1, y0, sizeof(y1));
	ck_assert_int_eq(cim_linear_forward(l, x, B, y1), -ECANCELED);
	ck_assert_int_eq(cim_linear_weights_lost(l), 1);
	ck_assert_mem_eq(y1, y0, sizeof(y1));
	/* still refused: the device was acknowledged by nobody yet, and
	 * the layer would compute with zeroed cells otherwise */
	ck_assert_int_eq(cim_linear_update(l, x, y0, B), -ECANCELED);
	ck_assert_int_eq(cim_linear_export(l, we), -ECANCELED);

	ck_assert_int_eq(cim_linear_reprogram(l, NULL), 0);
	ck_assert_int_eq(cim_linear_weights_lost(l), 0);
	ck_assert_int_eq(cim_linear_forward(l, x, B, y1), 0);
	ck_assert_double_lt(rel_err(y1, y0, B * OUT), 0.03);
	ck_assert_int_eq(cim_linear_export(l, we), 0);
	ck_assert_double_lt(rel_err(we, w, IN * OUT), 0.03);

	/*
	 * l's reprogram acknowledged the reset for the handle; l2, whose
	 * cells were cleared too, must still learn of it, not compute with
	 * zeros
	 */
	ck_assert_int_eq(cim_linear_weights_lost(l2), 0);
	memcpy(z1, z0, sizeof(z1));
	ck_assert_int_eq(cim_linear_forward(l2, x, B, z1), -ECANCELED);
	ck_assert_int_eq(cim_linear_weights_lost(l2), 1);
	ck_assert_mem_eq(z1, z0, sizeof(z1));
	ck_assert_int_eq(cim_linear_reprogram(l2, NULL), 0);
	ck_assert_int_eq(cim_linear_forward(l2, x, B, z1), 0);
	ck_assert_double_lt(rel_err(z1, z0, B * OUT), 0.03);
	/* and l, programmed after the acknowledgment, is not disturbed */
	ck_assert_int_eq(cim_linear_forward(l, x, B, y1), 0);

	cim_linear_destroy(l2);
	cim_linear_destroy(l);
	cim_device_close(dev);
	free(w);
	free(we);
	free(x);
}
END_TEST

START_TEST(test_deterministic)
{
	enum { IN = 100, OUT = 60, B = 5 };
	struct cim_device *da = open_dev(4, 64, 48, PHYS_DEFAULT);
	struct cim_device *db = open_dev(4, 64, 48, PHYS_DEFAULT);
	struct cim_linear *la = mk_linear(da, IN, OUT, B, 1.0f);
	struct cim_linear *lb = mk_linear(db, IN, OUT, B, 1.0f);
	float *w = rand_vec((size_t)IN * OUT, 0.7f, 41);
	float *x = rand_vec((size_t)B * IN, 1.0f, 42);
	float ya[B * OUT], yb[B * OUT];

	/* the same seed and calls: the same bits, noise included */
	ck_assert_int_eq(cim_linear_import(la, w, NULL), 0);
	ck_assert_int_eq(cim_linear_import(lb, w, NULL), 0);
	ck_assert_int_eq(cim_linear_update(la, x, w, B), 0);
	ck_assert_int_eq(cim_linear_update(lb, x, w, B), 0);
	ck_assert_int_eq(cim_linear_forward(la, x, B, ya), 0);
	ck_assert_int_eq(cim_linear_forward(lb, x, B, yb), 0);
	ck_assert_mem_eq(ya, yb, sizeof(ya));
	cim_linear_destroy(la);
	cim_linear_destroy(lb);
	cim_device_close(da);
	cim_device_close(db);
	free(w);
	free(x);
}
END_TEST

/*
 * cim_linear_update_grad(): on a layer of one row of tiles, the same bits
 * and counters as cim_linear_update() with x = I (the DUU's identity is
 * the identity sent as x, one scale per tile either way) and 1/in of the
 * DUU work; on a layer of two rows of tiles, with no batch_max limit,
 * the weights move against g.
 */
START_TEST(test_update_grad)
{
	enum { IN = 40, OUT = 70, IN2 = 100, OUT2 = 60 };
	/* pulses without landing noise: every move follows the gradient */
	struct cim_device *da = open_dev(4, 64, 48, PHYS_EXACT_WRITES);
	struct cim_device *db = open_dev(4, 64, 48, PHYS_EXACT_WRITES);
	struct cim_linear *la = mk_linear(da, IN, OUT, IN, 1.0f);
	struct cim_linear *lb = mk_linear(db, IN, OUT, IN, 1.0f), *l2;
	struct cim_counters ca = { .size = sizeof(ca) };
	struct cim_counters cb = { .size = sizeof(cb) };
	struct cim_counters a0 = { .size = sizeof(a0) };
	struct cim_counters b0 = { .size = sizeof(b0) };
	float *w = rand_vec((size_t)IN2 * OUT2, 0.5f, 51);
	float *g = rand_vec((size_t)IN2 * OUT2, 1.0f, 52);
	float *eye = calloc((size_t)IN * IN, sizeof(*eye));
	float *wa = malloc(sizeof(float) * IN2 * OUT2);
	float *wb = malloc(sizeof(float) * IN2 * OUT2);
	unsigned int i, moved = 0, against = 0;

	for (i = 0; i < IN; i++)
		eye[i * IN + i] = 1.0f;
	ck_assert_int_eq(cim_linear_import(la, w, NULL), 0);
	ck_assert_int_eq(cim_linear_import(lb, w, NULL), 0);
	ck_assert_int_eq(cim_device_counters(da, &a0), 0);
	ck_assert_int_eq(cim_device_counters(db, &b0), 0);
	ck_assert_int_eq(cim_linear_update(la, eye, g, IN), 0);
	ck_assert_int_eq(cim_linear_update_grad(lb, g), 0);
	ck_assert_int_eq(cim_linear_export(la, wa), 0);
	ck_assert_int_eq(cim_linear_export(lb, wb), 0);
	ck_assert_mem_eq(wa, wb, sizeof(float) * IN * OUT);
	ck_assert_int_eq(cim_device_counters(da, &ca), 0);
	ck_assert_int_eq(cim_device_counters(db, &cb), 0);
	ck_assert_uint_gt(cb.pulses_pos + cb.pulses_neg,
			  b0.pulses_pos + b0.pulses_neg);
	ck_assert_uint_eq(ca.pulses_pos - a0.pulses_pos,
			  cb.pulses_pos - b0.pulses_pos);
	ck_assert_uint_eq(ca.pulses_neg - a0.pulses_neg,
			  cb.pulses_neg - b0.pulses_neg);
	ck_assert_uint_eq(ca.duu_macs - a0.duu_macs, (uint64_t)IN * IN * OUT);
	ck_assert_uint_eq(cb.duu_macs - b0.duu_macs, (uint64_t)IN * OUT);
	cim_linear_destroy(la);
	cim_linear_destroy(lb);

	/* two rows of tiles, batch_max 1 */
	l2 = mk_linear(db, IN2, OUT2, 1, 1.0f);
	ck_assert_int_eq(cim_linear_import(l2, w, NULL), 0);
	ck_assert_int_eq(cim_linear_export(l2, wa), 0);
	ck_assert_int_eq(cim_linear_update_grad(l2, g), 0);
	ck_assert_int_eq(cim_linear_export(l2, wb), 0);
	for (i = 0; i < IN2 * OUT2; i++) {
		moved += wb[i] != wa[i];
		against += (wb[i] - wa[i]) * g[i] < 0.0f;
	}
	ck_assert_uint_gt(moved, IN2 * OUT2 / 10);
	ck_assert_uint_eq(against, moved);
	cim_linear_destroy(l2);
	cim_device_close(da);
	cim_device_close(db);
	free(w);
	free(g);
	free(eye);
	free(wa);
	free(wb);
}
END_TEST

Suite *layers_suite(void)
{
	Suite *s = suite_create("layers");
	TCase *tc = tcase_create("layers");

	tcase_add_test(tc, test_tiling);
	tcase_add_test(tc, test_signed_and_roundtrip);
	tcase_add_test(tc, test_training_decreases_loss);
	tcase_add_test(tc, test_conv2d);
	tcase_add_test(tc, test_einval_changes_nothing);
	tcase_add_test(tc, test_reset_weights_lost);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_update_grad);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
