// SPDX-License-Identifier: MIT
/*
 * The ternary compiler (runtime/ternary/) on embedded devices: every
 * ResNet-18 layer shape at reduced spatial size, full channel counts, bit
 * for bit against an integer reference convolution; stride, padding, the
 * 1x1 stride-2 shortcut, the fully connected layer; ReLU and requantized
 * outputs; plain lowering (group 1); row and filter tiling; the sharing
 * target; TWN ternarization; the dump; argument checks.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdlib.h>
#include <string.h>

#include "cim_ternary.h"
#include "unit.h"

static struct cim_device *open_ap(unsigned int count, unsigned int rows,
				  unsigned int cols, unsigned int domains)
{
	struct cim_embedded_options o = { .size = sizeof(o) };
	struct cimfw_config cfg;
	struct cim_device *dev;

	unit_config_ideal(&cfg);
	cfg.xbar_count = 1;
	cfg.ap_count = count;
	cfg.ap_rows = rows;
	cfg.ap_cols = cols;
	cfg.ap_domains = domains;
	cfg.ap_group_tracks = 32;
	cfg.seed = 7;
	o.config = &cfg;
	ck_assert_int_eq(cim_device_open_embedded(&dev, &o), 0);
	return dev;
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Ternary weights, 42% zeros, the rest +-1 evenly */
static int8_t *rand_ternary(size_t n, uint32_t seed)
{
	int8_t *w = malloc(n);
	size_t i;

	ck_assert_ptr_nonnull(w);
	for (i = 0; i < n; i++) {
		uint32_t r = rnd(&seed) % 100;

		w[i] = r < 42 ? 0 : (r < 71 ? 1 : -1);
	}
	return w;
}

static uint8_t *rand_input(size_t n, unsigned int bits, uint32_t seed)
{
	uint8_t *x = malloc(n);
	size_t i;

	ck_assert_ptr_nonnull(x);
	for (i = 0; i < n; i++)
		x[i] = rnd(&seed) & ((1u << bits) - 1);
	return x;
}

/* The integer reference: direct convolution, HWC, weights (ky, kx, ci) */
static void ref_conv(const struct cim_ternary_desc *d, const int8_t *w,
		     const uint8_t *x, int32_t *y, unsigned int *poh,
		     unsigned int *pow)
{
	unsigned int oh = (d->in_h + 2 * d->pad - d->k) / d->stride + 1;
	unsigned int ow = (d->in_w + 2 * d->pad - d->k) / d->stride + 1;
	unsigned int oy, ox, f, ky, kx, ci;

	for (oy = 0; oy < oh; oy++)
		for (ox = 0; ox < ow; ox++)
			for (f = 0; f < d->cout; f++) {
				int64_t s = 0;

				for (ky = 0; ky < d->k; ky++)
					for (kx = 0; kx < d->k; kx++) {
						int iy = (int)(oy * d->stride +
							       ky) - (int)d->pad;
						int ix = (int)(ox * d->stride +
							       kx) - (int)d->pad;

						if (iy < 0 || ix < 0 ||
						    iy >= (int)d->in_h ||
						    ix >= (int)d->in_w)
							continue;
						for (ci = 0; ci < d->cin; ci++)
							s += w[(size_t)f * d->k *
							       d->k * d->cin +
							       (ky * d->k + kx) *
							       d->cin + ci] *
							     x[((size_t)iy *
								d->in_w + ix) *
							       d->cin + ci];
					}
				if (d->out_mode == CIM_TERNARY_OUT_RELU && s < 0)
					s = 0;
				if (d->out_mode == CIM_TERNARY_OUT_REQUANT) {
					s >>= d->out_shift;	/* floor */
					if (s < 0)
						s = 0;
					if (s > (1 << d->out_bits) - 1)
						s = (1 << d->out_bits) - 1;
				}
				y[((size_t)oy * ow + ox) * d->cout + f] =
					(int32_t)s;
			}
	*poh = oh;
	*pow = ow;
}

/* Compile, run on @dev, compare with the reference; returns the stats */
static struct cim_ternary_stats check_layer(struct cim_device *dev,
					    const struct cim_ternary_desc *d,
					    uint32_t seed)
{
	size_t nw = (size_t)d->cout * d->k * d->k * d->cin;
	size_t nx = (size_t)d->in_h * d->in_w * d->cin;
	struct cim_ternary_layer *l;
	struct cim_ternary_target t;
	struct cim_ternary_run_stats rs;
	struct cim_ternary_stats st;
	unsigned int oh, ow, oh2, ow2;
	int8_t *w = rand_ternary(nw, seed);
	uint8_t *x = rand_input(nx, d->in_bits ? d->in_bits : 4, seed + 1);
	int32_t *y, *yr;
	size_t ny, i;

	ck_assert_int_eq(cim_ternary_target_of(dev, &t), 0);
	ck_assert_int_eq(cim_ternary_compile(d, w, &t, &l), 0);
	cim_ternary_out_dims(l, &oh, &ow);
	ny = (size_t)oh * ow * d->cout;
	y = malloc(ny * sizeof(*y));
	yr = malloc(ny * sizeof(*yr));
	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_nonnull(yr);
	ref_conv(d, w, x, yr, &oh2, &ow2);
	ck_assert_uint_eq(oh, oh2);
	ck_assert_uint_eq(ow, ow2);
	memset(y, 0x5a, ny * sizeof(*y));
	ck_assert_int_eq(cim_ternary_run(l, dev, x, y, &rs), 0);
	for (i = 0; i < ny; i++)
		if (y[i] != yr[i])
			ck_abort_msg("%ux%ux%u k%u s%u p%u -> %u: output %zu "
				     "(pixel %zu, filter %zu): %d, reference %d",
				     d->in_h, d->in_w, d->cin, d->k, d->stride,
				     d->pad, d->cout, i, i / d->cout,
				     i % d->cout, y[i], yr[i]);
	st = *cim_ternary_stats(l);
	/* The counted passes are the ones the device ran */
	ck_assert_uint_eq(rs.counters.ap_compares, st.compares);
	ck_assert_uint_eq(rs.counters.ap_writes, st.writes);
	ck_assert_uint_eq(rs.counters.ap_shift_steps, st.shift_steps);
	ck_assert_uint_eq(rs.counters.ap_io_bits, st.io_bits);
	ck_assert_uint_gt(rs.energy_fj, 0);
	ck_assert_uint_gt(rs.device_time_ps, 0);
	cim_ternary_destroy(l);
	free(w);
	free(x);
	free(y);
	free(yr);
	return st;
}

static struct cim_ternary_desc conv(unsigned int hw, unsigned int cin,
				    unsigned int k, unsigned int cout,
				    unsigned int stride, unsigned int pad)
{
	struct cim_ternary_desc d = {
		.in_h = hw, .in_w = hw, .cin = cin, .cout = cout, .k = k,
		.stride = stride, .pad = pad,
	};

	return d;
}

/* ResNet-18 (research note 7.5), spatial size reduced, channels full */
static const struct {
	const char *name;
	unsigned int hw, cin, k, cout, stride, pad;
} resnet18[] = {
	{ "conv1",   16,   3, 7,   64, 2, 3 },
	{ "conv2_x",  8,  64, 3,   64, 1, 1 },
	{ "conv3_1",  8,  64, 3,  128, 2, 1 },
	{ "conv3_ds", 8,  64, 1,  128, 2, 0 },
	{ "conv3_x",  4, 128, 3,  128, 1, 1 },
	{ "conv4_1",  4, 128, 3,  256, 2, 1 },
	{ "conv4_ds", 4, 128, 1,  256, 2, 0 },
	{ "conv4_x",  4, 256, 3,  256, 1, 1 },
	{ "conv5_1",  4, 256, 3,  512, 2, 1 },
	{ "conv5_ds", 4, 256, 1,  512, 2, 0 },
	{ "conv5_x",  2, 512, 3,  512, 1, 1 },
	{ "fc",       1, 512, 1, 1000, 1, 0 },
};

START_TEST(test_resnet18_layer)
{
	struct cim_device *dev = open_ap(4, 64, 256, 64);
	struct cim_ternary_desc d = conv(resnet18[_i].hw, resnet18[_i].cin,
					 resnet18[_i].k, resnet18[_i].cout,
					 resnet18[_i].stride,
					 resnet18[_i].pad);

	check_layer(dev, &d, 100 + _i);
	cim_device_close(dev);
}
END_TEST

START_TEST(test_outputs)
{
	struct cim_device *dev = open_ap(2, 64, 256, 16);
	struct cim_ternary_desc d = conv(6, 16, 3, 24, 1, 1);

	d.out_mode = CIM_TERNARY_OUT_RELU;
	check_layer(dev, &d, 1);
	d.out_mode = CIM_TERNARY_OUT_REQUANT;
	d.out_shift = 3;
	d.out_bits = 4;
	check_layer(dev, &d, 2);
	d.out_shift = 0;
	d.out_bits = 8;
	check_layer(dev, &d, 3);
	d.out_shift = 40;	/* past every accumulator: all zero */
	d.out_bits = 4;
	check_layer(dev, &d, 4);
	cim_device_close(dev);
}
END_TEST

/* Plain lowering, other groups and activation widths, odd tap counts */
START_TEST(test_groups_bits)
{
	struct cim_device *dev = open_ap(1, 64, 256, 64);
	static const unsigned int groups[] = { 1, 2, 3, 4, 5, 6 };
	unsigned int i;

	for (i = 0; i < 6; i++) {
		struct cim_ternary_desc d = conv(5, 7, 3, 20, 2, 1);

		d.group = groups[i];
		d.in_bits = 1 + i % 4 * 2;	/* 1, 3, 5, 7 */
		check_layer(dev, &d, 10 + i);
	}
	cim_device_close(dev);
}
END_TEST

/* Row tiles (pixels > rows, the last one short) and filter tiles */
START_TEST(test_tiling)
{
	struct cim_device *dev = open_ap(2, 16, 256, 4);
	struct cim_ternary_desc d = conv(9, 8, 3, 60, 1, 1);
	struct cim_ternary_stats st;

	st = check_layer(dev, &d, 20);	/* 81 pixels on 16 rows */
	ck_assert_uint_eq(st.row_tiles, 6);
	ck_assert_uint_gt(st.filter_tiles, 1);	/* 4 domains x 8 accs */
	cim_device_close(dev);
}
END_TEST

/* Partial-sum sharing removes >= 40% of the plain lowering's additions */
START_TEST(test_sharing_target)
{
	struct cim_ternary_target t = { 4, 1024, 256, 64, 32 };
	uint64_t plain = 0, shared = 0;
	unsigned int i;

	for (i = 0; i < sizeof(resnet18) / sizeof(resnet18[0]); i++) {
		struct cim_ternary_desc d = conv(resnet18[i].hw,
						 resnet18[i].cin,
						 resnet18[i].k,
						 resnet18[i].cout,
						 resnet18[i].stride,
						 resnet18[i].pad);
		size_t nw = (size_t)d.cout * d.k * d.k * d.cin;
		int8_t *w = rand_ternary(nw, 200 + i);
		struct cim_ternary_layer *l;
		const struct cim_ternary_stats *st;

		ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), 0);
		st = cim_ternary_stats(l);
		plain += st->adds_plain;
		shared += st->adds_build + st->adds_term;
		/* every layer shares something */
		ck_assert_msg(st->adds_build + st->adds_term < st->adds_plain,
			      "%s: %llu of %llu", resnet18[i].name,
			      (unsigned long long)(st->adds_build +
						   st->adds_term),
			      (unsigned long long)st->adds_plain);
		cim_ternary_destroy(l);
		free(w);
	}
	ck_assert_msg(shared * 10 <= plain * 6, "%llu of %llu",
		      (unsigned long long)shared, (unsigned long long)plain);
}
END_TEST

START_TEST(test_ternarize)
{
	/* mean |w| = 1, delta 0.7 */
	static const float w[] = { 0.5f, -0.8f, 1.7f, -1.0f,
				   0.0f, 0.0f, 0.0f, 0.0f };
	int8_t t[8];
	float alpha[2];

	ck_assert_int_eq(cim_ternary_ternarize(w, 2, 4, 0.0f, t, alpha), 0);
	ck_assert_int_eq(t[0], 0);
	ck_assert_int_eq(t[1], -1);
	ck_assert_int_eq(t[2], 1);
	ck_assert_int_eq(t[3], -1);
	ck_assert_float_eq_tol(alpha[0], (0.8f + 1.7f + 1.0f) / 3, 1e-6f);
	ck_assert_int_eq(t[4] | t[5] | t[6] | t[7], 0);
	ck_assert_float_eq(alpha[1], 0.0f);
	ck_assert_int_eq(cim_ternary_ternarize(w, 2, 4, 1.5f, t, NULL), 0);
	ck_assert_int_eq(t[1], 0);
	ck_assert_int_eq(t[2], 1);
	ck_assert_int_eq(cim_ternary_ternarize(w, 0, 4, 0.0f, t, NULL),
			 -EINVAL);
}
END_TEST

START_TEST(test_dump)
{
	struct cim_ternary_target t = { 1, 64, 256, 16, 32 };
	struct cim_ternary_desc d = conv(4, 8, 3, 16, 1, 1);
	int8_t *w = rand_ternary(16 * 72, 5);
	struct cim_ternary_layer *l;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), 0);
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	cim_ternary_dump(l, f, 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "additions: plain"));
	ck_assert_ptr_nonnull(strstr(text, "input group 0"));
	ck_assert_ptr_nonnull(strstr(text, "add"));
	ck_assert_ptr_nonnull(strstr(text, "copy"));
	ck_assert_ptr_nonnull(strstr(text, "shift"));
	free(text);
	cim_ternary_destroy(l);
	free(w);
}
END_TEST

START_TEST(test_errors)
{
	struct cim_ternary_target t = { 1, 64, 256, 16, 32 };
	struct cim_ternary_desc d = conv(4, 8, 3, 16, 1, 1);
	int8_t *w = rand_ternary(16 * 72, 6);
	struct cim_ternary_layer *l = NULL;
	struct cim_device *dev;
	uint8_t x[4 * 4 * 8] = { 0 };
	int32_t y[4 * 4 * 16];

	d.k = 0;
	ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), -EINVAL);
	d = conv(4, 8, 3, 16, 1, 3);	/* pad >= k */
	ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), -EINVAL);
	d = conv(4, 8, 3, 16, 1, 1);
	d.group = 7;
	ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), -EINVAL);
	d.group = 0;
	d.out_bits = 4;		/* without REQUANT */
	ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), -EINVAL);
	d.out_bits = 0;
	w[3] = 2;
	ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), -EINVAL);
	w[3] = 1;
	t.ap_cols = 128;	/* 4 groups: nothing left for accumulators */
	ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), -E2BIG);
	t.ap_cols = 256;
	ck_assert_ptr_null(l);
	ck_assert_int_eq(cim_ternary_compile(&d, w, &t, &l), 0);
	/* a device of another geometry, inputs past in_bits */
	dev = open_ap(1, 32, 256, 16);
	ck_assert_int_eq(cim_ternary_run(l, dev, x, y, NULL), -EINVAL);
	cim_device_close(dev);
	dev = open_ap(1, 64, 256, 16);
	x[5] = 16;
	ck_assert_int_eq(cim_ternary_run(l, dev, x, y, NULL), -EINVAL);
	x[5] = 15;
	ck_assert_int_eq(cim_ternary_run(l, dev, x, y, NULL), 0);
	cim_device_close(dev);
	cim_ternary_destroy(l);
	free(w);
}
END_TEST

Suite *ternary_suite(void)
{
	Suite *s = suite_create("ternary");
	TCase *tc = tcase_create("ternary");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_resnet18_layer, 0,
			    sizeof(resnet18) / sizeof(resnet18[0]));
	tcase_add_test(tc, test_outputs);
	tcase_add_test(tc, test_groups_bits);
	tcase_add_test(tc, test_tiling);
	tcase_add_test(tc, test_sharing_target);
	tcase_add_test(tc, test_ternarize);
	tcase_add_test(tc, test_dump);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}
