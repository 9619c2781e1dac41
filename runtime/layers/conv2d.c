// SPDX-License-Identifier: MIT
/*
 * 2-D convolution by im2col on the linear layer: each output pixel of each
 * image is one row of patches (C k_h k_w values, column index
 * (c * k_h + ky) * k_w + kx), multiplied by the (C k_h k_w) x out_ch
 * weight matrix. The host work is the unfolding and folding; all MACs run
 * on the crossbars.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdlib.h>
#include <string.h>

#include "layers_priv.h"

struct cim_conv2d {
	struct cim_conv2d_shape s;
	unsigned int oh, ow, k;		/* k: patch length */
	unsigned int n_max;		/* images per call */
	unsigned int chunk;		/* rows per linear call */
	struct cim_linear *lin;
	float *cols;			/* n_max*oh*ow x k */
	float *rows;			/* n_max*oh*ow x out_ch */
	float *wtmp;			/* k x out_ch */
};

int cim_conv2d_create(struct cim_device *dev,
		      const struct cim_conv2d_shape *shape,
		      const struct cim_linear_options *opts,
		      struct cim_conv2d **out)
{
	struct cim_info info = { .size = sizeof(info) };
	struct cim_linear_options o;
	const struct cim_conv2d_shape *s = shape;
	struct cim_conv2d *c;
	size_t npix;
	int ret;

	if (!dev || !s || !out || !s->in_ch || !s->out_ch || !s->in_h ||
	    !s->in_w || !s->k_h || !s->k_w || !s->stride ||
	    s->k_h > s->in_h + 2 * s->pad || s->k_w > s->in_w + 2 * s->pad)
		return -EINVAL;
	ret = cim_device_query(dev, &info);
	if (ret)
		return ret;
	/* batch_max counts images here: no device limit applies to it */
	ret = cim__linear_opts(opts, &o, 0);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->s = *s;
	c->oh = (s->in_h + 2 * s->pad - s->k_h) / s->stride + 1;
	c->ow = (s->in_w + 2 * s->pad - s->k_w) / s->stride + 1;
	c->k = s->in_ch * s->k_h * s->k_w;
	c->n_max = o.batch_max;
	npix = (size_t)c->n_max * c->oh * c->ow;
	c->chunk = npix < info.max_batch ? (unsigned int)npix : info.max_batch;
	o.batch_max = c->chunk;
	c->cols = malloc(npix * c->k * sizeof(float));
	c->rows = malloc(npix * s->out_ch * sizeof(float));
	c->wtmp = malloc((size_t)c->k * s->out_ch * sizeof(float));
	if (!c->cols || !c->rows || !c->wtmp) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = cim_linear_create(dev, c->k, s->out_ch, &o, &c->lin);
	if (ret)
		goto fail;
	*out = c;
	return 0;

fail:
	free(c->cols);
	free(c->rows);
	free(c->wtmp);
	free(c);
	return ret;
}

void cim_conv2d_destroy(struct cim_conv2d *c)
{
	if (!c)
		return;
	cim_linear_destroy(c->lin);
	free(c->cols);
	free(c->rows);
	free(c->wtmp);
	free(c);
}

struct cim_linear *cim_conv2d_linear(struct cim_conv2d *c)
{
	return c ? c->lin : NULL;
}

void cim_conv2d_out_size(const struct cim_conv2d *c, unsigned int *oh,
			 unsigned int *ow)
{
	if (oh)
		*oh = c ? c->oh : 0;
	if (ow)
		*ow = c ? c->ow : 0;
}

static size_t in_len(const struct cim_conv2d *c, unsigned int n)
{
	return (size_t)n * c->s.in_ch * c->s.in_h * c->s.in_w;
}

static size_t out_len(const struct cim_conv2d *c, unsigned int n)
{
	return (size_t)n * c->s.out_ch * c->oh * c->ow;
}

static int check(const struct cim_conv2d *c, const float *a, size_t alen,
		 const void *b, unsigned int n)
{
	if (!c || !a || !b || !n || n > c->n_max ||
	    !cim__all_finite(a, alen))
		return -EINVAL;
	return 0;
}

/* x (NCHW) into c->cols, one row per output pixel, zeros for padding */
static void im2col(struct cim_conv2d *c, const float *x, unsigned int n)
{
	const struct cim_conv2d_shape *s = &c->s;
	unsigned int b, oy, ox, ch, ky, kx;
	float *row = c->cols;

	for (b = 0; b < n; b++) {
		for (oy = 0; oy < c->oh; oy++) {
			for (ox = 0; ox < c->ow; ox++, row += c->k) {
				float *p = row;

				for (ch = 0; ch < s->in_ch; ch++) {
					const float *img = x + (((size_t)b *
						s->in_ch + ch) * s->in_h) *
						s->in_w;

					for (ky = 0; ky < s->k_h; ky++) {
						long iy = (long)(oy * s->stride +
							ky) - s->pad;

						for (kx = 0; kx < s->k_w; kx++) {
							long ix = (long)(ox *
								s->stride + kx) -
								s->pad;

							*p++ = iy < 0 || ix < 0 ||
							       iy >= s->in_h ||
							       ix >= s->in_w ? 0.0f :
							       img[iy * s->in_w + ix];
						}
					}
				}
			}
		}
	}
}

/* dy (N, out_ch, oh, ow) into c->rows (N oh ow, out_ch) */
static void nchw_to_rows(struct cim_conv2d *c, const float *dy,
			 unsigned int n)
{
	size_t pix = (size_t)c->oh * c->ow, b, p, o;

	for (b = 0; b < n; b++)
		for (o = 0; o < c->s.out_ch; o++)
			for (p = 0; p < pix; p++)
				c->rows[(b * pix + p) * c->s.out_ch + o] =
					dy[(b * c->s.out_ch + o) * pix + p];
}

int cim_conv2d_forward(struct cim_conv2d *c, const float *x, unsigned int n,
		       float *y)
{
	size_t total, off, pix, b, p, o;
	int ret;

	ret = check(c, x, c ? in_len(c, n) : 0, y, n);
	if (ret)
		return ret;
	im2col(c, x, n);
	total = (size_t)n * c->oh * c->ow;
	for (off = 0; off < total; off += c->chunk) {
		unsigned int m = total - off < c->chunk ?
				 (unsigned int)(total - off) : c->chunk;

		ret = cim_linear_forward(c->lin, c->cols + off * c->k, m,
					 c->rows + off * c->s.out_ch);
		if (ret)
			return ret;
	}
	pix = (size_t)c->oh * c->ow;
	for (b = 0; b < n; b++)
		for (o = 0; o < c->s.out_ch; o++)
			for (p = 0; p < pix; p++)
				y[(b * c->s.out_ch + o) * pix + p] =
					c->rows[(b * pix + p) * c->s.out_ch + o];
	return 0;
}

int cim_conv2d_backward(struct cim_conv2d *c, const float *dy,
			unsigned int n, float *dx)
{
	const struct cim_conv2d_shape *s;
	size_t total, off;
	unsigned int b, oy, ox, ch, ky, kx;
	const float *row;
	int ret;

	ret = check(c, dy, c ? out_len(c, n) : 0, dx, n);
	if (ret)
		return ret;
	s = &c->s;
	nchw_to_rows(c, dy, n);
	total = (size_t)n * c->oh * c->ow;
	for (off = 0; off < total; off += c->chunk) {
		unsigned int m = total - off < c->chunk ?
				 (unsigned int)(total - off) : c->chunk;

		ret = cim_linear_backward(c->lin, c->rows + off * s->out_ch, m,
					  c->cols + off * c->k);
		if (ret)
			return ret;
	}
	/* col2im: every patch value goes back to its pixel, summed */
	memset(dx, 0, in_len(c, n) * sizeof(*dx));
	row = c->cols;
	for (b = 0; b < n; b++) {
		for (oy = 0; oy < c->oh; oy++) {
			for (ox = 0; ox < c->ow; ox++, row += c->k) {
				const float *p = row;

				for (ch = 0; ch < s->in_ch; ch++) {
					float *img = dx + (((size_t)b *
						s->in_ch + ch) * s->in_h) *
						s->in_w;

					for (ky = 0; ky < s->k_h; ky++) {
						long iy = (long)(oy * s->stride +
							ky) - s->pad;

						for (kx = 0; kx < s->k_w;
						     kx++, p++) {
							long ix = (long)(ox *
								s->stride + kx) -
								s->pad;

							if (iy >= 0 && ix >= 0 &&
							    iy < s->in_h &&
							    ix < s->in_w)
								img[iy * s->in_w +
								    ix] += *p;
						}
					}
				}
			}
		}
	}
	return 0;
}

int cim_conv2d_update(struct cim_conv2d *c, const float *x, const float *dy,
		      unsigned int n)
{
	size_t total, off;
	int ret;

	ret = check(c, x, c ? in_len(c, n) : 0, dy, n);
	if (ret)
		return ret;
	if (!cim__all_finite(dy, out_len(c, n)))
		return -EINVAL;
	im2col(c, x, n);
	nchw_to_rows(c, dy, n);
	total = (size_t)n * c->oh * c->ow;
	/* accumulate every chunk, transfer once with the last: one step */
	for (off = 0; off < total; off += c->chunk) {
		unsigned int m = total - off < c->chunk ?
				 (unsigned int)(total - off) : c->chunk;
		bool last = off + m == total;

		ret = cim__linear_update(c->lin, c->cols + off * c->k,
					 c->rows + off * c->s.out_ch, m,
					 last ? 0 : CIM_DUU_F_NO_TRANSFER);
		if (ret)
			return ret;
	}
	return 0;
}

int cim_conv2d_import(struct cim_conv2d *c, const float *w,
		      struct cim_program_stats *stats)
{
	size_t k, o;

	if (!c || !w)
		return -EINVAL;
	for (o = 0; o < c->s.out_ch; o++)
		for (k = 0; k < c->k; k++)
			c->wtmp[k * c->s.out_ch + o] = w[o * c->k + k];
	return cim_linear_import(c->lin, c->wtmp, stats);
}

int cim_conv2d_export(struct cim_conv2d *c, float *w)
{
	size_t k, o;
	int ret;

	if (!c || !w)
		return -EINVAL;
	ret = cim_linear_export(c->lin, c->wtmp);
	if (ret)
		return ret;
	for (o = 0; o < c->s.out_ch; o++)
		for (k = 0; k < c->k; k++)
			w[o * c->k + k] = c->wtmp[k * c->s.out_ch + o];
	return 0;
}
