// SPDX-License-Identifier: MIT
/*
 * LeNet-5 on either backend. The crossbars hold the weights of the two
 * convolutions (im2col, cim_conv2d) and the three fully connected layers
 * (cim_linear); everything else runs here in fp32: biases, ReLU, max
 * pooling, softmax cross-entropy, and the momentum of the software
 * baseline (or, with host momentum, of the device: see layer_update()).
 *
 * Conv 1@28x28 -> 6@28x28 (5x5, padding 2; --pad 0: 6@24x24) -> ReLU ->
 * pool -> 6@14x14, conv -> 16@10x10 -> ReLU -> pool -> 16@5x5 = 400, fc
 * 120, 84, 10: the classic LeNet-5 geometry. fc1's 400 inputs take two
 * 256-row crossbar tiles (cim_linear tiles them), so the network uses 6
 * of the 8 crossbars.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

static const struct {
	bool conv;
	unsigned int in_ch, out_ch;
} arch[NET_LAYERS] = {
	{ true, 1, 6 },
	{ true, 6, 16 },
	{ false, 0, 120 },	/* in: 16 x pooled side^2 */
	{ false, 120, 84 },
	{ false, 84, 10 },
};

/* splitmix64: the initialisation must not depend on the libc */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static float rng_uniform(uint64_t *s, float bound)
{
	double u = (rng_next(s) >> 11) * (1.0 / 9007199254740992.0);

	return (float)((2.0 * u - 1.0) * bound);
}

static void *zalloc(size_t n)
{
	return calloc(n ? n : 1, sizeof(float));
}

size_t net_param_count(const struct net *n)
{
	size_t p = 0;
	int i;

	for (i = 0; i < NET_LAYERS; i++)
		p += (size_t)n->L[i].k * n->L[i].out + n->L[i].out;
	return p;
}

/* [k][out] <-> [out][k]: cim_conv2d speaks PyTorch's filter layout */
static void transpose(const float *src, unsigned int r, unsigned int c,
		      float *dst)
{
	unsigned int i, j;

	for (i = 0; i < r; i++)
		for (j = 0; j < c; j++)
			dst[(size_t)j * r + i] = src[(size_t)i * c + j];
}

static int layer_import(struct net *n, struct layer *l, uint64_t *failed)
{
	struct cim_program_stats st = { 0 };
	int ret;

	if (l->conv) {
		transpose(l->w, l->k, l->out, l->gw);
		ret = cim_conv2d_import(l->cc, l->gw, &st);
	} else {
		ret = cim_linear_import(l->lin, l->w, &st);
	}
	(void)n;
	if (failed)
		*failed += st.failed;
	return ret;
}

int net_program(struct net *n, uint64_t *failed)
{
	int i, ret;

	for (i = 0; i < NET_LAYERS; i++) {
		ret = layer_import(n, &n->L[i], failed);
		if (ret)
			return ret;
	}
	return 0;
}

int net_sync_weights(struct net *n)
{
	int i, ret;

	if (!n->dev)
		return 0;
	for (i = 0; i < NET_LAYERS; i++) {
		struct layer *l = &n->L[i];

		if (l->conv) {
			ret = cim_conv2d_export(l->cc, l->gw);
			if (!ret)
				transpose(l->gw, l->out, l->k, l->w);
		} else {
			ret = cim_linear_export(l->lin, l->w);
		}
		if (ret)
			return ret;
	}
	return 0;
}

int net_set_lr(struct net *n, float lr)
{
	int i, ret;

	n->o.lr = lr;
	if (!n->dev)
		return 0;
	for (i = 0; i < NET_LAYERS; i++) {
		struct layer *l = &n->L[i];

		ret = cim_linear_set_lr(l->conv ? cim_conv2d_linear(l->cc) :
					l->lin, lr);
		if (ret)
			return ret;
	}
	return 0;
}

int net_create(struct net *n, struct cim_device *dev,
	       const struct net_opts *o, uint64_t seed)
{
	unsigned int bm = o->batch_max, kmax = 0, i, next_xbar = 0;
	struct cim_info info = { .size = sizeof(info) };
	uint64_t xbars;
	size_t cols_max = 0, padded_max = 0, act;
	uint64_t s = seed;
	int ret;

	memset(n, 0, sizeof(*n));
	n->dev = dev;
	n->o = *o;
	n->batch_max = bm;
	n->a[0] = zalloc((size_t)bm * 28 * 28);
	for (i = 0; i < NET_LAYERS; i++) {
		struct layer *l = &n->L[i];
		float bound;
		size_t j;

		l->conv = arch[i].conv;
		if (l->conv) {
			unsigned int hw = i ? n->L[i - 1].ph : 28;

			l->s = (struct cim_conv2d_shape){
				.in_ch = arch[i].in_ch, .out_ch = arch[i].out_ch,
				.in_h = hw, .in_w = hw,
				.k_h = 5, .k_w = 5, .stride = 1,
				.pad = i ? 0 : o->pad,
			};
			l->oh = l->ow = hw + 2 * l->s.pad - 4;
			l->ph = l->oh / 2;
			l->k = arch[i].in_ch * 25;
		} else {
			l->oh = l->ow = 1;
			l->k = arch[i].in_ch ? arch[i].in_ch :
			       n->L[i - 1].out * n->L[i - 1].ph *
			       n->L[i - 1].ph;
		}
		l->npix = l->oh * l->ow;
		l->out = arch[i].out_ch;
		if (l->conv) {
			size_t pw = l->s.in_w + 2 * l->s.pad,
			       ph = l->s.in_h + 2 * l->s.pad;

			if (l->s.in_ch * ph * pw > padded_max)
				padded_max = l->s.in_ch * ph * pw;
		}
		if (l->k > kmax)
			kmax = l->k;
		if ((size_t)l->npix * l->k > cols_max)
			cols_max = (size_t)l->npix * l->k;
		l->w = zalloc((size_t)l->k * l->out);
		l->vw = zalloc((size_t)l->k * l->out);
		l->gw = zalloc((size_t)l->k * l->out);
		l->wr = zalloc((size_t)l->k * l->out);
		l->b = zalloc(l->out);
		l->vb = zalloc(l->out);
		l->gb = zalloc(l->out);
		act = (size_t)bm * l->out * l->npix;
		n->z[i] = zalloc(act);
		n->d[i] = zalloc(act);
		if (!l->w || !l->vw || !l->gw || !l->wr || !l->b || !l->vb || !l->gb ||
		    !n->z[i] || !n->d[i])
			return -ENOMEM;
		/*
		 * PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
		 * weights and biases; He (Kaiming uniform, ReLU gain):
		 * U(-sqrt(6/fan_in), sqrt(6/fan_in)) and zero biases.
		 */
		bound = 1.0f / sqrtf((float)l->k);
		if (o->he_init)
			bound *= sqrtf(6.0f);
		for (j = 0; j < (size_t)l->k * l->out; j++)
			l->w[j] = rng_uniform(&s, bound);
		for (j = 0; j < l->out; j++)
			l->b[j] = o->he_init ? 0.0f : rng_uniform(&s, bound);
		l->w_max = o->wmax_scale * bound;
	}
	/* a[i + 1]: pooled output of a conv, or the fc output itself */
	n->a[1] = zalloc((size_t)bm * n->L[1].k / 25 * n->L[1].s.in_h *
			 n->L[1].s.in_w);
	n->a[2] = zalloc((size_t)bm * n->L[2].k);
	n->a[3] = n->z[2];
	n->a[4] = n->z[3];
	n->a[5] = n->z[4];
	n->da[1] = zalloc((size_t)bm * n->L[1].k / 25 * n->L[1].s.in_h *
			  n->L[1].s.in_w);
	n->da[2] = zalloc((size_t)bm * n->L[2].k);
	n->da[3] = zalloc((size_t)bm * n->L[3].k);
	n->da[4] = zalloc((size_t)bm * n->L[4].k);
	n->pidx[0] = calloc((size_t)bm * n->L[1].k / 25 * n->L[1].s.in_h *
			    n->L[1].s.in_w, sizeof(uint32_t));
	n->pidx[1] = calloc((size_t)bm * n->L[2].k, sizeof(uint32_t));
	/* im2col and its row-major output */
	n->cols_max = cols_max;
	n->cols = zalloc((size_t)bm * cols_max * 2);
	n->padded = zalloc(padded_max);
	n->eye = zalloc((size_t)kmax * kmax);
	n->logits = n->z[4];
	if (!n->a[0] || !n->a[1] || !n->a[2] || !n->da[1] || !n->da[2] ||
	    !n->da[3] || !n->da[4] || !n->pidx[0] || !n->pidx[1] ||
	    !n->cols || !n->padded || !n->eye)
		return -ENOMEM;
	if (!dev)
		return 0;
	ret = cim_device_query(dev, &info);
	if (ret)
		return ret;
	xbars = info.xbar_count >= 64 ? ~0ull : (1ull << info.xbar_count) - 1;

	for (i = 0; i < NET_LAYERS; i++) {
		struct layer *l = &n->L[i];
		struct cim_linear_options lo;

		cim_linear_options_default(&lo);
		lo.lr = o->lr;
		lo.w_max = l->w_max;
		if (o->epsilon_levels > 0.0f)
			lo.epsilon = o->epsilon_levels * l->w_max /
				     (float)(info.xbar_levels - 1);
		if (o->n_max)
			lo.n_max = o->n_max;
		/* crossbars of its own: the next ones free (fc1 of 400
		 * inputs takes two 256-row tiles) */
		lo.xbar_mask = next_xbar < 64 ? xbars & (~0ull << next_xbar) :
			       0;
		if (!lo.xbar_mask)
			return -E2BIG;
		lo.batch_max = bm;
		if (l->conv) {
			ret = cim_conv2d_create(dev, &l->s, &lo, &l->cc);
		} else {
			/* weight decay reads W by k unit vectors at once */
			if (o->weight_decay > 0.0f && l->k > bm)
				lo.batch_max = l->k;
			ret = cim_linear_create(dev, l->k, l->out, &lo,
						&l->lin);
		}
		if (ret)
			return ret;
		next_xbar += cim_linear_tiles(l->conv ?
					      cim_conv2d_linear(l->cc) : l->lin);
	}
	return net_program(n, NULL);
}

void net_destroy(struct net *n)
{
	int i;

	for (i = 0; i < NET_LAYERS; i++) {
		struct layer *l = &n->L[i];

		cim_conv2d_destroy(l->cc);
		cim_linear_destroy(l->lin);
		free(l->w);
		free(l->vw);
		free(l->gw);
		free(l->wr);
		free(l->b);
		free(l->vb);
		free(l->gb);
		free(n->z[i]);
		free(n->d[i]);
	}
	free(n->a[0]);
	free(n->a[1]);
	free(n->a[2]);
	for (i = 1; i <= 4; i++)
		free(n->da[i]);
	free(n->pidx[0]);
	free(n->pidx[1]);
	free(n->cols);
	free(n->padded);
	free(n->eye);
	memset(n, 0, sizeof(*n));
}

/*
 * cols[(img * npix + pix)][(c * 5 + ky) * 5 + kx], stride 1, zero padding.
 * Each image is first copied inside a zero border (@padded), so every
 * window row is 5 contiguous floats, copied without bounds tests.
 */
static void im2col(const struct layer *l, const float *x, unsigned int bs,
		   float *cols, float *padded)
{
	unsigned int H = l->s.in_h, W = l->s.in_w, C = l->s.in_ch;
	unsigned int P = l->s.pad, PH = H + 2 * P, PW = W + 2 * P;
	unsigned int img, c, y, ky, oy, ox;
	float *row = cols;

	/* only the interior is written below: the border stays zero */
	memset(padded, 0, (size_t)C * PH * PW * sizeof(float));
	for (img = 0; img < bs; img++) {
		for (c = 0; c < C; c++)
			for (y = 0; y < H; y++)
				memcpy(padded + ((size_t)c * PH + y + P) * PW + P,
				       x + (((size_t)img * C + c) * H + y) * W,
				       W * sizeof(float));
		for (oy = 0; oy < l->oh; oy++)
			for (ox = 0; ox < l->ow; ox++)
				for (c = 0; c < C; c++)
					for (ky = 0; ky < 5; ky++, row += 5)
						memcpy(row, padded + ((size_t)c * PH +
						       oy + ky) * PW + ox,
						       5 * sizeof(float));
	}
}

static void col2im(const struct layer *l, const float *cols, unsigned int bs,
		   float *dx)
{
	unsigned int img, c, ky, kx, oy, ox;
	int H = l->s.in_h, W = l->s.in_w, C = l->s.in_ch, P = l->s.pad;

	memset(dx, 0, (size_t)bs * C * H * W * sizeof(float));
	for (img = 0; img < bs; img++)
		for (oy = 0; oy < l->oh; oy++)
			for (ox = 0; ox < l->ow; ox++) {
				const float *row = cols + ((size_t)img *
					l->npix + oy * l->ow + ox) * l->k;
				for (c = 0; c < (unsigned int)C; c++)
					for (ky = 0; ky < 5; ky++) {
						int yy = (int)(oy + ky) - P;
						float *dst = dx +
							((size_t)img * C + c) * H * W;

						for (kx = 0; kx < 5; kx++, row++) {
							int xx = (int)(ox + kx) - P;

							if (yy >= 0 && yy < H &&
							    xx >= 0 && xx < W)
								dst[yy * W + xx] += *row;
						}
					}
			}
}

/* rows[img * npix + pix][o] <-> nchw[img][o][pix] */
static void rows_to_nchw(const struct layer *l, const float *rows,
			 unsigned int bs, float *y)
{
	unsigned int img, o, p;

	for (img = 0; img < bs; img++)
		for (o = 0; o < l->out; o++)
			for (p = 0; p < l->npix; p++)
				y[((size_t)img * l->out + o) * l->npix + p] =
					rows[((size_t)img * l->npix + p) *
					     l->out + o];
}

static void nchw_to_rows(const struct layer *l, const float *y,
			 unsigned int bs, float *rows)
{
	unsigned int img, o, p;

	for (img = 0; img < bs; img++)
		for (o = 0; o < l->out; o++)
			for (p = 0; p < l->npix; p++)
				rows[((size_t)img * l->npix + p) * l->out + o] =
					y[((size_t)img * l->out + o) *
					  l->npix + p];
}

static float *cols_b(struct net *n)
{
	return n->cols + (size_t)n->batch_max * n->cols_max;
}

static int layer_forward(struct net *n, struct layer *l, const float *x,
			 unsigned int bs, float *y)
{
	unsigned int img, o, p;
	int ret = 0;

	if (n->dev) {
		ret = l->conv ? cim_conv2d_forward(l->cc, x, bs, y) :
				cim_linear_forward(l->lin, x, bs, y);
		if (ret)
			return ret;
	} else if (l->conv) {
		float *rows = cols_b(n);

		im2col(l, x, bs, n->cols, n->padded);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    bs * l->npix, l->out, l->k, 1.0f, n->cols, l->k,
			    l->w, l->out, 0.0f, rows, l->out);
		rows_to_nchw(l, rows, bs, y);
	} else {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bs,
			    l->out, l->k, 1.0f, x, l->k, l->w, l->out, 0.0f,
			    y, l->out);
	}
	for (img = 0; img < bs; img++)
		for (o = 0; o < l->out; o++) {
			float *v = y + ((size_t)img * l->out + o) * l->npix;
			float b = l->b[o];	/* y might alias it otherwise */

			for (p = 0; p < l->npix; p++)
				v[p] += b;
		}
	return 0;
}

/*
 * gw = x^T dy on the host (k x out), from NCHW/row inputs; a device's
 * convolution computes it in the layer library, on the model's threads
 */
static int host_grad(struct net *n, struct layer *l, const float *x,
		     const float *dy, unsigned int bs)
{
	if (n->dev && l->conv)
		return cim_conv2d_weight_grad(l->cc, x, dy, bs, l->gw);
	if (l->conv) {
		float *rows = cols_b(n);

		im2col(l, x, bs, n->cols, n->padded);
		nchw_to_rows(l, dy, bs, rows);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->k,
			    l->out, bs * l->npix, 1.0f, n->cols, l->k, rows,
			    l->out, 0.0f, l->gw, l->out);
	} else {
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->k,
			    l->out, bs, 1.0f, x, l->k, dy, l->out, 0.0f,
			    l->gw, l->out);
	}
	return 0;
}

/* The device part of the update */
static int device_update(struct net *n, struct layer *l, struct cim_linear *lin,
			 const float *x, const float *dy, unsigned int bs)
{
	float mu = n->o.host_momentum ? n->o.momentum : 0.0f;
	float wd = n->o.weight_decay;
	size_t j, nw = (size_t)l->k * l->out;
	float *restrict vw;
	const float *restrict gw, *restrict wr;
	int ret;

	if (wd > 0.0f) {
		/*
		 * Weight decay needs W: read on the chip, by forward VMMs of
		 * the unit vectors (DAC, crossbar, ADC and their noise), k per
		 * layer and mini-batch.
		 */
		for (j = 0; j < l->k; j++)
			n->eye[j * l->k + j] = 1.0f;
		ret = cim_linear_forward(lin, n->eye, l->k, l->wr);
		/* back to zero for the next layer */
		for (j = 0; j < l->k; j++)
			n->eye[j * l->k + j] = 0.0f;
		if (ret)
			return ret;
		for (j = 0; j < nw; j++)
			l->wr[j] *= wd;
	}
	if (!n->o.host_momentum) {
		ret = l->conv ? cim_conv2d_update(l->cc, x, dy, bs) :
			       cim_linear_update(l->lin, x, dy, bs);
		if (ret || !(wd > 0.0f))
			return ret;
		return cim_linear_update_grad(lin, l->wr);
	}
	ret = host_grad(n, l, x, dy, bs);
	if (ret)
		return ret;
	/* two loops, so that each vectorises; + 0 as before without decay */
	vw = l->vw;
	gw = l->gw;
	wr = l->wr;
	if (wd > 0.0f)
		for (j = 0; j < nw; j++)
			vw[j] = mu * vw[j] + gw[j] + wr[j];
	else
		for (j = 0; j < nw; j++)
			vw[j] = mu * vw[j] + gw[j] + 0.0f;
	return cim_linear_update_grad(lin, vw);
}

/*
 * gb[o] += the sum of dy over the pixels of outputs [o, o + W) of one
 * image, pixel by pixel: W chains of dependent adds in flight, in
 * registers (W is a constant where it is inlined).
 */
static inline __attribute__((always_inline)) void
bias_sums(float *gb, const float *v, unsigned int npix, unsigned int W)
{
	float s[8];
	unsigned int k, p;

	for (k = 0; k < W; k++)
		s[k] = gb[k];
	for (p = 0; p < npix; p++, v++)
		for (k = 0; k < W; k++)
			s[k] += v[(size_t)k * npix];
	for (k = 0; k < W; k++)
		gb[k] = s[k];
}

/*
 * gb[o] = the sum of dy over the images and pixels of output o, in that
 * order: each sum is a chain of dependent adds, so up to eight outputs are
 * summed side by side (the same order for each).
 */
static void bias_grad(struct layer *l, const float *dy, unsigned int bs)
{
	unsigned int img, o, w;

	memset(l->gb, 0, l->out * sizeof(float));
	for (img = 0; img < bs; img++)
		for (o = 0; o < l->out; o += w) {
			float *gb = l->gb + o;
			const float *v = dy + ((size_t)img * l->out + o) *
					 l->npix;

			w = l->out - o < 8 ? l->out - o : 8;
			switch (w) {
			case 8: bias_sums(gb, v, l->npix, 8); break;
			case 6: bias_sums(gb, v, l->npix, 6); break;
			case 4: bias_sums(gb, v, l->npix, 4); break;
			case 2: bias_sums(gb, v, l->npix, 2); break;
			default: bias_sums(gb, v, l->npix, 1); w = 1; break;
			}
		}
}

/*
 * dx (may be NULL) and the update of one layer. The device computes dx by
 * transposed VMMs on the same cells before the update changes them.
 *
 * Momentum on the device: the DUU accumulates -lr x^T dy, an outer
 * product per sample, and has no velocity of its own. With host momentum
 * the host computes the gradient, keeps the velocity v = mu v + g in fp32
 * and sends v itself (cim_linear_update_grad(): the DUU takes x as the
 * identity, one product per weight): the DUU accumulates -lr v and
 * transfers as usual. Without it (cim-train --scheme paper) the device
 * runs plain SGD on the per-sample outer products, the papers' scheme.
 */
static int layer_backward(struct net *n, struct layer *l, const float *x,
			  const float *dy, unsigned int bs, float *dx)
{
	float mu = n->o.momentum, lr = n->o.lr, wd = n->o.weight_decay;
	unsigned int o;
	size_t j, nw = (size_t)l->k * l->out;
	int ret;

	bias_grad(l, dy, bs);
	if (n->dev && !n->o.host_momentum)
		mu = 0.0f;
	for (o = 0; o < l->out; o++) {
		l->vb[o] = mu * l->vb[o] + l->gb[o];
		l->b[o] -= lr * l->vb[o];
	}

	if (n->dev) {
		struct cim_linear *lin = l->conv ? cim_conv2d_linear(l->cc) :
					 l->lin;

		if (dx) {
			ret = l->conv ? cim_conv2d_backward(l->cc, dy, bs, dx) :
					cim_linear_backward(l->lin, dy, bs, dx);
			if (ret)
				return ret;
		}
		return device_update(n, l, lin, x, dy, bs);
	}

	host_grad(n, l, x, dy, bs);
	if (dx) {
		if (l->conv) {
			float *rows = cols_b(n);

			/* host_grad left dy as rows in cols_b */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
				    bs * l->npix, l->k, l->out, 1.0f, rows,
				    l->out, l->w, l->out, 0.0f, n->cols, l->k);
			col2im(l, n->cols, bs, dx);
		} else {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
				    bs, l->k, l->out, 1.0f, dy, l->out, l->w,
				    l->out, 0.0f, dx, l->k);
		}
	}
	for (j = 0; j < nw; j++) {
		l->vw[j] = mu * l->vw[j] + l->gw[j] + wd * l->w[j];
		l->w[j] -= lr * l->vw[j];
	}
	return 0;
}

static void relu(float *v, size_t len)
{
	size_t i;

	/* branch-free, so it vectorises; -0.0 and NaN stay as they are */
	for (i = 0; i < len; i++)
		v[i] = v[i] < 0.0f ? 0.0f : v[i];
}

/*
 * 2x2 max pooling of [bs][C][H][W] (H even); the argmax kept for
 * backward: the first of the four (row-major) that no later one exceeds.
 * Selects instead of branches, so the loop over x vectorises.
 */
static void pool(const float *z, unsigned int planes, unsigned int H,
		 float *a, uint32_t *idx)
{
	unsigned int pl, y, x, h = H / 2;

	for (pl = 0; pl < planes; pl++)
		for (y = 0; y < h; y++) {
			uint32_t i0 = (pl * H + 2 * y) * H;
			const float *r0 = z + i0, *r1 = r0 + H;
			float *ay = a + ((size_t)pl * h + y) * h;
			uint32_t *iy = idx + ((size_t)pl * h + y) * h;

			for (x = 0; x < h; x++) {
				float v = r0[2 * x], c;
				uint32_t b = i0 + 2 * x;

				c = r0[2 * x + 1];
				b = c > v ? i0 + 2 * x + 1 : b;
				v = c > v ? c : v;
				c = r1[2 * x];
				b = c > v ? i0 + H + 2 * x : b;
				v = c > v ? c : v;
				c = r1[2 * x + 1];
				b = c > v ? i0 + H + 2 * x + 1 : b;
				v = c > v ? c : v;
				ay[x] = v;
				iy[x] = b;
			}
		}
}

/*
 * The gradient at the pooled layer's output, through the ReLU: each 2x2
 * window gets da at its argmax where the pooled value a (that of the
 * argmax) is > 0, and 0 elsewhere (0 + da, as the sum into a cleared
 * window gave: -0 becomes +0). Windows tile the plane (H even), so every
 * value is written once.
 */
static void unpool_relu(const float *da, const uint32_t *idx,
			unsigned int planes, unsigned int H, const float *a,
			float *dz)
{
	unsigned int pl, y, x, h = H / 2;

	for (pl = 0; pl < planes; pl++)
		for (y = 0; y < h; y++) {
			/* 32-bit indices, as pool() stores them */
			uint32_t i0 = (pl * H + 2 * y) * H;
			size_t o = ((size_t)pl * h + y) * h;
			float *r0 = dz + i0, *r1 = r0 + H;

			for (x = 0; x < h; x++) {
				uint32_t w = i0 + 2 * x, b = idx[o + x];
				float d = da[o + x], g = a[o + x] > 0.0f ?
							 0.0f + d : 0.0f;

				r0[2 * x] = b == w ? g : 0.0f;
				r0[2 * x + 1] = b == w + 1 ? g : 0.0f;
				r1[2 * x] = b == w + H ? g : 0.0f;
				r1[2 * x + 1] = b == w + H + 1 ? g : 0.0f;
			}
		}
}

int net_forward(struct net *n, const float *x, unsigned int bs)
{
	int i, ret;

	memcpy(n->a[0], x, (size_t)bs * 784 * sizeof(float));
	for (i = 0; i < NET_LAYERS; i++) {
		struct layer *l = &n->L[i];
		size_t len = (size_t)bs * l->out * l->npix;

		ret = layer_forward(n, l, n->a[i], bs, n->z[i]);
		if (ret)
			return ret;
		if (i < NET_LAYERS - 1)
			relu(n->z[i], len);
		if (l->conv)
			pool(n->z[i], bs * l->out, l->oh, n->a[i + 1],
			     n->pidx[i]);
	}
	return 0;
}

float net_loss(struct net *n, const uint8_t *y, unsigned int bs,
	       unsigned int *correct)
{
	double loss = 0.0;
	unsigned int img, c, ok = 0;

	for (img = 0; img < bs; img++) {
		const float *z = n->logits + (size_t)img * NET_CLASSES;
		float *d = n->d[NET_LAYERS - 1] + (size_t)img * NET_CLASSES;
		float m = z[0], sum = 0.0f;
		unsigned int arg = 0;

		for (c = 1; c < NET_CLASSES; c++)
			if (z[c] > m) {
				m = z[c];
				arg = c;
			}
		ok += arg == y[img];
		for (c = 0; c < NET_CLASSES; c++) {
			d[c] = expf(z[c] - m);
			sum += d[c];
		}
		loss += -(z[y[img]] - m - logf(sum));
		/* d(mean loss)/dz = (softmax - onehot) / bs */
		for (c = 0; c < NET_CLASSES; c++)
			d[c] = (d[c] / sum - (c == y[img])) / bs;
	}
	if (correct)
		*correct = ok;
	return (float)(loss / bs);
}

int net_backward_update(struct net *n, unsigned int bs)
{
	int i, ret;

	for (i = NET_LAYERS - 1; i >= 0; i--) {
		struct layer *l = &n->L[i];
		float *dx = i ? n->da[i] : NULL;

		ret = layer_backward(n, l, n->a[i], n->d[i], bs, dx);
		if (ret)
			return ret;
		if (!i)
			break;
		/* the gradient at the input of layer i, back to z[i - 1] */
		if (n->L[i - 1].conv) {
			struct layer *p = &n->L[i - 1];

			unpool_relu(dx, n->pidx[i - 1], bs * p->out, p->oh,
				    n->a[i], n->d[i - 1]);
		} else {
			size_t j, len = (size_t)bs * n->L[i - 1].out;

			for (j = 0; j < len; j++)
				n->d[i - 1][j] = n->z[i - 1][j] > 0.0f ?
						 dx[j] : 0.0f;
		}
	}
	return 0;
}
