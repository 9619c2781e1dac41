// SPDX-License-Identifier: MIT
/*
 * One ResNet-18 image, bit-true, on the embedded backend's associative
 * processors (issue 7's target: <= 60 s on this 2-core machine).
 *
 * Every layer at its full ImageNet shape (224 x 224 x 3 input), ternary
 * weights seeded per layer (42 % zeros, the rest +-1 evenly, as
 * tools/cim-ternary), 4-bit activations. The first convolution of every
 * basic block (and conv1) requantizes on the device
 * (CIM_TERNARY_OUT_REQUANT: ReLU and clamp(sum >> shift, 0, 15)); the
 * second one and the 1x1 shortcuts return their signed sums, and the
 * residual add, its ReLU and requantization, the 3x3 max pool and the
 * global average pool run in software, as would a host driving the
 * device. The shifts are calibrated once, before compiling, on another
 * seeded image through the integer reference.
 *
 * The simulated time is the wall time of cim_ternary_run() over all 21
 * layers plus the software glue between them. Every layer's output is
 * then checked bit for bit against a plain C integer convolution of the
 * same input (the device's input, so the check is per layer); that
 * reference is timed too, and its total is the baseline of the same run:
 * the slowdown of the bit-true model against plain C.
 *
 * usage: bench_ternary [-q] (quiet: no per-layer table)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cimfw.h"
#include "cim_ternary.h"

#define TARGET_S	60.0
#define NLAYERS		21
#define ACT_BITS	4
#define ACT_MAX		((1 << ACT_BITS) - 1)

struct layer {
	char name[16];
	unsigned int hw, cin, k, cout, stride, pad;
	unsigned int requant;		/* on the device, else signed sums */
	unsigned int shift;		/* device or software requant shift */
	int8_t *w;			/* cout x (k, k, cin) */
	int8_t *wt;			/* (k, k, cin) x cout, the reference's */
	struct cim_ternary_layer *l;
	double t_sim, t_ref, t_compile;
	struct cim_ternary_run_stats rs;
};

struct net {
	struct layer ly[NLAYERS];
	unsigned int n;
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct layer *add_layer(struct net *net, const char *name,
			       unsigned int hw, unsigned int cin,
			       unsigned int k, unsigned int cout,
			       unsigned int stride, unsigned int requant)
{
	struct layer *y = &net->ly[net->n];
	size_t nw = (size_t)cout * k * k * cin, i, f, t;
	uint32_t s = 42 + net->n;

	snprintf(y->name, sizeof(y->name), "%s", name);
	y->hw = hw;
	y->cin = cin;
	y->k = k;
	y->cout = cout;
	y->stride = stride;
	y->pad = k / 2;
	y->requant = requant;
	y->w = malloc(nw);
	y->wt = malloc(nw);
	if (!y->w || !y->wt)
		abort();
	for (i = 0; i < nw; i++) {
		uint32_t v = rnd(&s) % 100;

		y->w[i] = v < 42 ? 0 : (v < 71 ? 1 : -1);
	}
	for (f = 0; f < cout; f++)
		for (t = 0; t < nw / cout; t++)
			y->wt[t * cout + f] = y->w[f * (nw / cout) + t];
	net->n++;
	return y;
}

/* ResNet-18: conv1, 4 stages of 2 basic blocks, fc (execution order) */
static void build_net(struct net *net)
{
	static const unsigned int ch[4] = { 64, 128, 256, 512 };
	unsigned int s, b, hw = 56, cin = 64;
	char name[16];

	add_layer(net, "conv1", 224, 3, 7, 64, 2, 1);
	for (s = 0; s < 4; s++)
		for (b = 0; b < 2; b++) {
			unsigned int st = s && !b ? 2 : 1;

			snprintf(name, sizeof(name), "conv%u_%ua", s + 2, b + 1);
			add_layer(net, name, hw, cin, 3, ch[s], st, 1);
			snprintf(name, sizeof(name), "conv%u_%ub", s + 2, b + 1);
			add_layer(net, name, hw / st, ch[s], 3, ch[s], 1, 0);
			if (st == 2) {
				snprintf(name, sizeof(name), "conv%u_ds",
					 s + 2);
				add_layer(net, name, hw, cin, 1, ch[s], 2, 0);
			}
			hw /= st;
			cin = ch[s];
		}
	add_layer(net, "fc", 1, 512, 1, 1000, 1, 0);
}

static unsigned int out_hw(const struct layer *y)
{
	return (y->hw + 2 * y->pad - y->k) / y->stride + 1;
}

static size_t out_len(const struct layer *y)
{
	return (size_t)out_hw(y) * out_hw(y) * y->cout;
}

/*
 * The integer reference: direct convolution, HWC, int32 sums; the filter
 * loop innermost over the transposed weights, so the compiler vectorizes
 * it. Then the layer's output mode.
 */
static void ref_conv(const struct layer *y, const uint8_t *x, int32_t *out)
{
	unsigned int oh = out_hw(y), oy, ox, ky, kx, ci, f, C = y->cout;

	for (oy = 0; oy < oh; oy++)
		for (ox = 0; ox < oh; ox++) {
			int32_t *o = out + ((size_t)oy * oh + ox) * C;

			memset(o, 0, C * sizeof(*o));
			for (ky = 0; ky < y->k; ky++) {
				int iy = (int)(oy * y->stride + ky) -
					 (int)y->pad;

				if (iy < 0 || iy >= (int)y->hw)
					continue;
				for (kx = 0; kx < y->k; kx++) {
					int ix = (int)(ox * y->stride + kx) -
						 (int)y->pad;
					const uint8_t *xp;
					const int8_t *wp;

					if (ix < 0 || ix >= (int)y->hw)
						continue;
					xp = x + ((size_t)iy * y->hw + ix) *
						 y->cin;
					wp = y->wt + (size_t)(ky * y->k + kx) *
						     y->cin * C;
					for (ci = 0; ci < y->cin; ci++) {
						int32_t v = xp[ci];

						if (!v)
							continue;
						for (f = 0; f < C; f++)
							o[f] += v * wp[(size_t)ci *
								       C + f];
					}
				}
			}
			if (y->requant)
				for (f = 0; f < C; f++) {
					int32_t v = o[f] >> y->shift;

					o[f] = v < 0 ? 0 : v > ACT_MAX ?
					       ACT_MAX : v;
				}
		}
}

/* Smallest shift that brings the 99th percentile of |v| to <= @max */
static unsigned int calib_shift(const int32_t *v, size_t n, int32_t max)
{
	uint64_t hist[33] = { 0 }, acc = 0;
	unsigned int b, s = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t a = (uint32_t)(v[i] < 0 ? -v[i] : v[i]);

		hist[a ? 32 - __builtin_clz(a) : 0]++;
	}
	for (b = 0; b <= 32; b++) {
		acc += hist[b];
		if (acc * 100 >= n * 99)
			break;
	}
	/* values below 2^b; shift until 2^b - 1 >> s <= max */
	while (b < 32 && ((1u << b) - 1) >> s > (uint32_t)max)
		s++;
	return s;
}

static uint8_t clamp_act(int32_t v)
{
	return (uint8_t)(v < 0 ? 0 : v > ACT_MAX ? ACT_MAX : v);
}

/* 3x3 stride-2 max pool, padding 1 (C channels, HWC) */
static void maxpool(const uint8_t *x, unsigned int hw, unsigned int C,
		    uint8_t *o)
{
	unsigned int oh = hw / 2, oy, ox, ky, kx, c;

	for (oy = 0; oy < oh; oy++)
		for (ox = 0; ox < oh; ox++)
			for (c = 0; c < C; c++) {
				uint8_t m = 0;

				for (ky = 0; ky < 3; ky++)
					for (kx = 0; kx < 3; kx++) {
						int iy = (int)(2 * oy + ky) - 1;
						int ix = (int)(2 * ox + kx) - 1;
						uint8_t v;

						if (iy < 0 || ix < 0 ||
						    iy >= (int)hw ||
						    ix >= (int)hw)
							continue;
						v = x[((size_t)iy * hw + ix) *
						      C + c];
						if (v > m)
							m = v;
					}
				o[((size_t)oy * oh + ox) * C + c] = m;
			}
}

/*
 * The forward pass. @dev NULL: the integer reference with calibration
 * (sets the shifts). Else on the device, every layer checked against the
 * reference afterwards; returns the number of mismatching outputs.
 */
struct bufs {
	uint8_t *x, *a, *t;	/* activations: block input, inner, spare */
	int32_t *s, *s2, *r;	/* sums: main, shortcut, reference */
};

static size_t check_layer(struct layer *y, const uint8_t *in,
			  const int32_t *got, int32_t *ref)
{
	size_t i, n = out_len(y), bad = 0;
	double t0 = bench_now();

	ref_conv(y, in, ref);
	y->t_ref = bench_now() - t0;
	for (i = 0; i < n; i++)
		if (got[i] != ref[i]) {
			if (!bad)
				fprintf(stderr, "%s: output %zu: %d, "
					"reference %d\n", y->name, i, got[i],
					ref[i]);
			bad++;
		}
	return bad;
}

static int run_layer(struct cim_device *dev, struct layer *y,
		     const uint8_t *in, int32_t *out)
{
	double t0 = bench_now();
	int r;

	if (!dev) {
		ref_conv(y, in, out);
		return 0;
	}
	r = cim_ternary_run(y->l, dev, in, out, &y->rs);
	y->t_sim = bench_now() - t0;
	if (r)
		fprintf(stderr, "%s: run: %s\n", y->name, strerror(-r));
	return r;
}

/* One layer: device or reference; calibrates when @calib */
static int layer_fwd(struct cim_device *dev, struct layer *y,
		     const uint8_t *in, int32_t *out, int calib)
{
	if (calib) {
		y->requant = 0;
		ref_conv(y, in, out);
		y->shift = calib_shift(out, out_len(y), ACT_MAX);
		return 0;
	}
	return run_layer(dev, y, in, out);
}

static void requant_sums(const struct layer *y, const int32_t *s,
			 uint8_t *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		o[i] = clamp_act(s[i] >> y->shift);
}

/*
 * The network on @dev (NULL with @calib: the reference, calibrating the
 * shifts). Device outputs are kept in @keep[layer] for the check.
 */
static int forward(struct net *net, struct cim_device *dev,
		   const uint8_t *img, struct bufs *b, int32_t **keep,
		   uint8_t **inputs, int calib, double *t_glue)
{
	unsigned int li = 0, s, blk, c, i;
	unsigned int hw = 56, C = 64;
	double tg = 0, t0;
	int r;

#define LAYER_RUN(in, out) do {						\
		struct layer *y_ = &net->ly[li];			\
		if (inputs)						\
			memcpy(inputs[li], in, (size_t)y_->hw * y_->hw *	\
			       y_->cin);				\
		r = layer_fwd(dev, y_, in, out, calib);			\
		if (r)							\
			return r;					\
		if (keep)						\
			memcpy(keep[li], out, out_len(y_) * 4);		\
		li++;							\
	} while (0)

	/* conv1, requantized; 3x3/2 max pool */
	LAYER_RUN(img, b->s);
	t0 = bench_now();
	if (calib) {
		requant_sums(&net->ly[0], b->s, b->t, out_len(&net->ly[0]));
		net->ly[0].requant = 1;
	} else {
		for (i = 0; i < out_len(&net->ly[0]); i++)
			b->t[i] = (uint8_t)b->s[i];
	}
	maxpool(b->t, 112, 64, b->x);
	tg += bench_now() - t0;
	for (s = 0; s < 4; s++)
		for (blk = 0; blk < 2; blk++) {
			struct layer *ya = &net->ly[li], *yb = &net->ly[li + 1];
			int ds = s && !blk;
			size_t n;

			LAYER_RUN(b->x, b->s);
			t0 = bench_now();
			n = out_len(ya);
			if (calib) {
				requant_sums(ya, b->s, b->a, n);
				ya->requant = 1;
			} else {
				for (i = 0; i < n; i++)
					b->a[i] = (uint8_t)b->s[i];
			}
			tg += bench_now() - t0;
			LAYER_RUN(b->a, b->s);
			if (ds)
				LAYER_RUN(b->x, b->s2);
			/* residual: (main >> sh) + shortcut, ReLU, 4 bits */
			t0 = bench_now();
			n = out_len(yb);
			for (i = 0; i < n; i++) {
				int32_t sc = ds ? b->s2[i] >> net->ly[li - 1].shift :
						  b->x[i];

				b->x[i] = clamp_act((b->s[i] >> yb->shift) + sc);
			}
			tg += bench_now() - t0;
			hw = out_hw(yb);
			C = yb->cout;
		}
	/* global average pool (floor), fc: signed logits */
	t0 = bench_now();
	for (c = 0; c < C; c++) {
		unsigned int sum = 0;

		for (i = 0; i < hw * hw; i++)
			sum += b->x[(size_t)i * C + c];
		b->t[c] = (uint8_t)(sum / (hw * hw));
	}
	tg += bench_now() - t0;
	LAYER_RUN(b->t, b->s);
#undef LAYER_RUN
	if (t_glue)
		*t_glue = tg;
	return 0;
}

int main(int argc, char **argv)
{
	struct cim_embedded_options o = { .size = sizeof(o) };
	struct cim_ternary_target tgt;
	struct cimfw_config cfg;
	struct cim_device *dev;
	struct net net = { 0 };
	struct bufs b;
	int32_t *keep[NLAYERS];
	uint8_t *inputs[NLAYERS], *img, *cimg;
	double t_sim = 0, t_ref = 0, t_comp = 0, t_glue = 0, t0, e_fj = 0;
	double dev_ps = 0;
	uint64_t compares = 0, writes = 0, steps = 0, h;
	size_t bad = 0, nimg = 224 * 224 * 3, big = 112 * 112 * 64, i;
	unsigned int li, best = 0;
	uint32_t s;
	int quiet = argc > 1 && !strcmp(argv[1], "-q"), r;

	build_net(&net);
	b.x = malloc(big);
	b.a = malloc(big);
	b.t = malloc(big);
	b.s = malloc(big * 4);
	b.s2 = malloc(big * 4);
	b.r = malloc(big * 4);
	img = malloc(nimg);
	cimg = malloc(nimg);
	if (!b.x || !b.a || !b.t || !b.s || !b.s2 || !b.r || !img || !cimg)
		return 1;
	for (li = 0; li < net.n; li++) {
		keep[li] = malloc(out_len(&net.ly[li]) * 4);
		inputs[li] = malloc((size_t)net.ly[li].hw * net.ly[li].hw *
				    net.ly[li].cin);
		if (!keep[li] || !inputs[li])
			return 1;
	}
	/* the image and the calibration image: seeded 4-bit pixels */
	s = 7;
	for (i = 0; i < nimg; i++)
		img[i] = rnd(&s) & ACT_MAX;
	s = 8;
	for (i = 0; i < nimg; i++)
		cimg[i] = rnd(&s) & ACT_MAX;
	t0 = bench_now();
	forward(&net, NULL, cimg, &b, NULL, NULL, 1, NULL);
	printf("calibration (integer reference, another image): %.2f s\n",
	       bench_now() - t0);

	cimfw_config_default(&cfg);
	o.config = &cfg;
	r = cim_device_open_embedded(&dev, &o);
	if (!r)
		r = cim_ternary_target_of(dev, &tgt);
	if (r) {
		fprintf(stderr, "device: %s\n", strerror(-r));
		return 1;
	}
	for (li = 0; li < net.n; li++) {
		struct layer *y = &net.ly[li];
		struct cim_ternary_desc d = {
			.in_h = y->hw, .in_w = y->hw, .cin = y->cin,
			.cout = y->cout, .k = y->k, .stride = y->stride,
			.pad = y->pad, .in_bits = ACT_BITS, .group = 4,
			.out_mode = y->requant ? CIM_TERNARY_OUT_REQUANT :
				    CIM_TERNARY_OUT_ACC,
			.out_shift = y->requant ? y->shift : 0,
			.out_bits = y->requant ? ACT_BITS : 0,
		};

		t0 = bench_now();
		r = cim_ternary_compile(&d, y->w, &tgt, &y->l);
		y->t_compile = bench_now() - t0;
		t_comp += y->t_compile;
		if (r) {
			fprintf(stderr, "%s: compile: %s\n", y->name,
				strerror(-r));
			return 1;
		}
	}
	printf("compile (21 layers, ImageNet shapes): %.2f s\n", t_comp);

	t0 = bench_now();
	r = forward(&net, dev, img, &b, keep, inputs, 0, &t_glue);
	t_sim = bench_now() - t0;
	if (r)
		return 1;
	for (li = 0; li < net.n; li++) {
		struct layer *y = &net.ly[li];

		bad += check_layer(y, inputs[li], keep[li], b.r);
		t_ref += y->t_ref;
		e_fj += (double)y->rs.energy_fj;
		dev_ps += (double)y->rs.device_time_ps;
		compares += y->rs.counters.ap_compares;
		writes += y->rs.counters.ap_writes;
		steps += y->rs.counters.ap_shift_steps;
		if (y->t_sim > net.ly[best].t_sim)
			best = li;
	}
	for (i = 0, s = 0; i < 1000; i++)
		if (b.s[i] > b.s[s])
			s = (uint32_t)i;
	if (!quiet) {
		printf("%-9s %-18s %5s %9s %9s %8s %12s %12s %9s\n", "layer",
		       "shape", "shift", "sim s", "ref s", "x ref",
		       "AP compares", "AP writes", "device ms");
		for (li = 0; li < net.n; li++) {
			struct layer *y = &net.ly[li];
			char shape[32];

			snprintf(shape, sizeof(shape), "%ux%ux%u k%u s%u>%u",
				 y->hw, y->hw, y->cin, y->k, y->stride,
				 y->cout);
			printf("%-9s %-18s %5u %9.3f %9.4f %8.0f %12" PRIu64
			       " %12" PRIu64 " %9.3f\n", y->name, shape,
			       y->shift, y->t_sim, y->t_ref,
			       y->t_sim / y->t_ref,
			       (uint64_t)y->rs.counters.ap_compares,
			       (uint64_t)y->rs.counters.ap_writes,
			       (double)y->rs.device_time_ps * 1e-9);
		}
		printf("software glue (pools, residual adds): %.4f s\n",
		       t_glue);
	}
	printf("device: %" PRIu64 " compares, %" PRIu64 " writes, %" PRIu64
	       " track-steps, %.4f mJ, %.3f ms simulated device time; "
	       "class %u (logit %d)\n", compares, writes, steps, e_fj * 1e-12,
	       dev_ps * 1e-9, s, b.s[s]);
	/* the bits and the meter, exactly: equal runs print equal lines */
	for (li = 0, h = 1469598103934665603ull; li < net.n; li++) {
		const struct cim_counters *c = &net.ly[li].rs.counters;
		unsigned int u;

		for (i = 0; i < out_len(&net.ly[li]); i++)
			h = (h ^ (uint32_t)keep[li][i]) * 1099511628211ull;
		h = (h ^ c->ap_bits_written) * 1099511628211ull;
		h = (h ^ c->ap_io_bits) * 1099511628211ull;
		h = (h ^ net.ly[li].rs.energy_fj) * 1099511628211ull;
		h = (h ^ net.ly[li].rs.device_time_ps) * 1099511628211ull;
		for (u = 0; u < CIM_UNIT_COUNT; u++) {
			h = (h ^ c->energy_fj[u]) * 1099511628211ull;
			h = (h ^ c->busy_ps[u]) * 1099511628211ull;
		}
	}
	printf("outputs and counters: fnv-1a %016" PRIx64 "\n", h);
	printf("slowest layer: %s, %.2f s (%.0f%%)\n", net.ly[best].name,
	       net.ly[best].t_sim, 100.0 * net.ly[best].t_sim / t_sim);
	if (bad) {
		printf("bench ternary: FAILED, %zu outputs differ from the "
		       "integer reference\n", bad);
		return 1;
	}
	printf("bench ternary: one ResNet-18 image bit-true in %.2f s "
	       "(target <= %.0f s), ratio X/60 = %.3f\n", t_sim, TARGET_S,
	       t_sim / TARGET_S);
	printf("bench ternary: integer reference convolution %.3f s in the "
	       "same run: %.0fx slower than plain C\n", t_ref, t_sim / t_ref);
	for (li = 0; li < net.n; li++) {
		cim_ternary_destroy(net.ly[li].l);
		free(net.ly[li].w);
		free(net.ly[li].wt);
		free(keep[li]);
		free(inputs[li]);
	}
	cim_device_close(dev);
	free(b.x);
	free(b.a);
	free(b.t);
	free(b.s);
	free(b.s2);
	free(b.r);
	free(img);
	free(cimg);
	return 0;
}
