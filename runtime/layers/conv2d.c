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
#include <cblas.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cimfw.h"
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
	float *gpart;			/* CIMFW_PAR_MAX x k x out_ch */
	float *padded;			/* an image with its zero border, per part */
	size_t padded_len;		/* floats of one */
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
	c->gpart = malloc((size_t)CIMFW_PAR_MAX * c->k * s->out_ch *
			  sizeof(float));
	/* zeroed once: the border stays 0, im2col_rows() writes the inside */
	c->padded_len = (size_t)s->in_ch * (s->in_h + 2 * s->pad) *
			(s->in_w + 2 * s->pad);
	c->padded = calloc(CIMFW_PAR_MAX * c->padded_len, sizeof(float));
	if (!c->cols || !c->rows || !c->wtmp || !c->gpart || !c->padded) {
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
	free(c->gpart);
	free(c->padded);
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
	free(c->gpart);
	free(c->padded);
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

/* the update's and the weight gradient's operands: both finite */
static int check_x_dy(const struct cim_conv2d *c, const float *x,
		      const float *dy, unsigned int n)
{
	int ret = check(c, x, c ? in_len(c, n) : 0, dy, n);

	if (ret)
		return ret;
	return cim__all_finite(dy, out_len(c, n)) ? 0 : -EINVAL;
}

/*
 * The patch of output pixel (oy, ox): k values at @p, from an image of
 * @h x @w per channel that already holds the zero border (no bounds).
 */
static void patch(const struct cim_conv2d *c, const float *img, size_t h,
		  size_t w, unsigned int oy, unsigned int ox, float *p)
{
	const struct cim_conv2d_shape *s = &c->s;
	const float *r = img + (size_t)oy * s->stride * w +
			 (size_t)ox * s->stride;
	size_t kw = s->k_w;
	unsigned int ch, ky;

	for (ch = 0; ch < s->in_ch; ch++, r += h * w) {
		const float *q = r;

		if (kw == 5) {
			/* LeNet's kernels: fixed-size copies */
			for (ky = 0; ky < s->k_h; ky++, p += 5, q += w)
				memcpy(p, q, 5 * sizeof(*p));
			continue;
		}
		for (ky = 0; ky < s->k_h; ky++, p += kw, q += w)
			memcpy(p, q, kw * sizeof(*p));
	}
}

/* image @x of in_ch x in_h x in_w inside the zero border of @padded */
static const float *pad_image(const struct cim_conv2d *c, const float *x,
			      float *padded)
{
	const struct cim_conv2d_shape *s = &c->s;
	size_t pw = s->in_w + 2 * s->pad, ph = s->in_h + 2 * s->pad;
	unsigned int ch, y;

	if (!s->pad)
		return x;
	for (ch = 0; ch < s->in_ch; ch++)
		for (y = 0; y < s->in_h; y++)
			memcpy(padded + (ch * ph + y + s->pad) * pw + s->pad,
			       x + ((size_t)ch * s->in_h + y) * s->in_w,
			       s->in_w * sizeof(*x));
	return padded;
}

/*
 * Rows [@first, @first + @m) of the patch matrix of x (NCHW) into @dst,
 * one row of k values per output pixel (image-major), zeros for padding;
 * @padded: scratch for one image with its border.
 */
static void im2col_rows(const struct cim_conv2d *c, const float *x,
			size_t first, size_t m, float *dst, float *padded)
{
	const struct cim_conv2d_shape *s = &c->s;
	size_t pix = (size_t)c->oh * c->ow, img = first / pix, i;
	size_t in_img = (size_t)s->in_ch * s->in_h * s->in_w;
	size_t ph = s->in_h + 2 * s->pad, pw = s->in_w + 2 * s->pad;
	unsigned int oy = (unsigned int)(first % pix / c->ow);
	unsigned int ox = (unsigned int)(first % c->ow);
	const float *src;

	if (!m)
		return;
	src = pad_image(c, x + img * in_img, padded);
	for (i = 0; i < m; i++, dst += c->k) {
		patch(c, src, ph, pw, oy, ox, dst);
		if (++ox == c->ow) {
			ox = 0;
			if (++oy == c->oh) {
				oy = 0;
				if (++img * pix < first + m)
					src = pad_image(c, x + img * in_img,
							padded);
			}
		}
	}
}

/**
 * struct rows_job - rows [@first, @first + @m) of a chunk, cut into parts
 * @src: the layer's input (im2col) or the chunk's device output
 * @dst: the chunk's device input (im2col) or the layer's output
 * @wm: the output scale
 */
struct rows_job {
	struct cim_conv2d *c;
	const float *src;
	float *dst;
	size_t first, m;
	float wm;
};

static void im2col_part(void *arg, unsigned int part, unsigned int nparts)
{
	struct rows_job *j = arg;
	size_t a = cimfw_par_first(j->m, part, nparts);
	size_t b = cimfw_par_first(j->m, part + 1, nparts);

	im2col_rows(j->c, j->src, j->first + a, b - a, j->dst + a * j->c->k,
		    j->c->padded + part * j->c->padded_len);
}

/* im2col_rows() across the pool: the rows are independent */
static void im2col_par(struct cim_conv2d *c, const float *x, size_t first,
		       size_t m, float *dst)
{
	struct rows_job j = { c, x, dst, first, m, 1.0f };

	/* a copied value costs about what 8 multiply-adds of a VMM do */
	cimfw_par_run(cimfw_par_parts(8.0 * m * c->k), im2col_part, &j);
}

/* x (NCHW) into c->cols, one row per output pixel, zeros for padding */
static void im2col(struct cim_conv2d *c, const float *x, unsigned int n)
{
	im2col_par(c, x, 0, (size_t)n * c->oh * c->ow, c->cols);
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

/*
 * Pixel rows [@first, @first + @m) of @rows (m x out_ch, device units) into
 * y (NCHW), scaled by @wm.
 */
static void rows_to_nchw(const struct cim_conv2d *c, const float *rows,
			 size_t first, size_t m, float wm, float *y)
{
	size_t pix = (size_t)c->oh * c->ow, b = first / pix, p = first % pix;
	unsigned int oc = c->s.out_ch, o;
	size_t i;

	for (i = 0; i < m; i++, rows += oc) {
		float *yp = y + b * oc * pix + p;

		for (o = 0; o < oc; o++)
			yp[o * pix] = rows[o] * wm;
		if (++p == pix) {
			p = 0;
			b++;
		}
	}
}

/* The opposite, without scaling: dy (NCHW) rows into @rows (m x out_ch) */
static void nchw_to_rows_part(const struct cim_conv2d *c, const float *dy,
			      size_t first, size_t m, float *rows)
{
	size_t pix = (size_t)c->oh * c->ow, b = first / pix, p = first % pix;
	unsigned int oc = c->s.out_ch, o;
	size_t i;

	for (i = 0; i < m; i++, rows += oc) {
		const float *dp = dy + b * oc * pix + p;

		for (o = 0; o < oc; o++)
			rows[o] = dp[o * pix];
		if (++p == pix) {
			p = 0;
			b++;
		}
	}
}

/*
 * col2im of patch rows [@first, @first + @m) (m x k, scaled by @wm): every
 * patch value added to its pixel of dx, rows in ascending order.
 */
static void col2im_rows(const struct cim_conv2d *c, const float *cols,
			size_t first, size_t m, float wm, float *dx)
{
	const struct cim_conv2d_shape *s = &c->s;
	size_t pix = (size_t)c->oh * c->ow, img = first / pix, i;
	size_t plane = (size_t)s->in_h * s->in_w, in_img = s->in_ch * plane;
	unsigned int oy = (unsigned int)(first % pix / c->ow);
	unsigned int ox = (unsigned int)(first % c->ow);
	unsigned int ch, ky, kx;

	for (i = 0; i < m; i++) {
		const float *p = cols + i * c->k;
		long y0 = (long)(oy * s->stride) - s->pad;
		long x0 = (long)(ox * s->stride) - s->pad;

		/* without padding every patch value has its pixel */
		for (ch = 0; !s->pad && ch < s->in_ch; ch++) {
			float *im = dx + img * in_img + ch * plane +
				    y0 * (long)s->in_w + x0;

			for (ky = 0; ky < s->k_h; ky++, p += s->k_w,
			     im += s->in_w)
				for (kx = 0; kx < s->k_w; kx++)
					im[kx] += p[kx] * wm;
		}
		for (ch = 0; s->pad && ch < s->in_ch; ch++) {
			float *im = dx + img * in_img + ch * plane;

			for (ky = 0; ky < s->k_h; ky++, p += s->k_w) {
				long iy = y0 + ky, ix;

				if (iy < 0 || iy >= (long)s->in_h)
					continue;
				for (kx = 0; kx < s->k_w; kx++) {
					ix = x0 + kx;
					if (ix >= 0 && ix < (long)s->in_w)
						im[iy * (long)s->in_w + ix] +=
							p[kx] * wm;
				}
			}
		}
		if (++ox == c->ow) {
			ox = 0;
			if (++oy == c->oh) {
				oy = 0;
				img++;
			}
		}
	}
}

static void to_nchw_part(void *arg, unsigned int part, unsigned int nparts)
{
	struct rows_job *j = arg;
	size_t a = cimfw_par_first(j->m, part, nparts);
	size_t b = cimfw_par_first(j->m, part + 1, nparts);

	rows_to_nchw(j->c, j->src + a * j->c->s.out_ch, j->first + a, b - a,
		     j->wm, j->dst);
}

/* rows_to_nchw() across the pool: every value has its own place */
static void to_nchw_par(struct cim_conv2d *c, const float *rows,
			size_t first, size_t m, float wm, float *y)
{
	struct rows_job j = { c, rows, y, first, m, wm };

	cimfw_par_run(cimfw_par_parts(8.0 * m * c->s.out_ch), to_nchw_part, &j);
}

/*
 * col2im_rows() on whole images of the chunk per part: the patches of one
 * image are added in the same order as by one thread, and images do not
 * share pixels, so the same bits.
 */
static void col2im_part(void *arg, unsigned int part, unsigned int nparts)
{
	struct rows_job *j = arg;
	size_t pix = (size_t)j->c->oh * j->c->ow, end = j->first + j->m;
	size_t img0 = j->first / pix, nimg = (end - 1) / pix + 1 - img0;
	size_t a = (img0 + cimfw_par_first(nimg, part, nparts)) * pix;
	size_t b = (img0 + cimfw_par_first(nimg, part + 1, nparts)) * pix;

	a = a < j->first ? j->first : a;
	b = b > end ? end : b;
	if (a < b)
		col2im_rows(j->c, j->src + (a - j->first) * j->c->k, a, b - a,
			    j->wm, j->dst);
}

static void col2im_par(struct cim_conv2d *c, const float *cols, size_t first,
		       size_t m, float wm, float *dx)
{
	struct rows_job j = { c, cols, dx, first, m, wm };

	cimfw_par_run(cimfw_par_parts(8.0 * m * c->k), col2im_part, &j);
}

/* the rows of one linear call, from @off of @total */
static unsigned int chunk_at(const struct cim_conv2d *c, size_t off,
			     size_t total)
{
	return total - off < c->chunk ? (unsigned int)(total - off) : c->chunk;
}

/*
 * A layer of one tile: the patches go straight into the linear layer's
 * device buffer and the outputs come straight out of it, chunk by chunk.
 */
static int forward_single(struct cim_conv2d *c, const float *x,
			  unsigned int n, float *y)
{
	struct cim_linear *l = c->lin;
	float *xin = cim__linear_xbuf(l), wm = cim__linear_wmax(l);
	const float *out = cim__linear_ybuf(l);
	size_t total = (size_t)n * c->oh * c->ow, off;
	unsigned int m;
	int ret;

	for (off = 0; off < total; off += m) {
		m = chunk_at(c, off, total);
		im2col_par(c, x, off, m, xin);
		ret = cim__linear_vmm(l, CIM_VMM_FWD, m);
		if (ret)
			return ret;
		to_nchw_par(c, out, off, m, wm, y);
	}
	return 0;
}

int cim_conv2d_forward(struct cim_conv2d *c, const float *x, unsigned int n,
		       float *y)
{
	size_t total, off;
	int ret;

	ret = check(c, x, c ? in_len(c, n) : 0, y, n);
	if (ret)
		return ret;
	if (cim__linear_single(c->lin))
		return forward_single(c, x, n, y);
	im2col(c, x, n);
	total = (size_t)n * c->oh * c->ow;
	for (off = 0; off < total; off += c->chunk) {
		unsigned int m = chunk_at(c, off, total);

		ret = cim_linear_forward(c->lin, c->cols + off * c->k, m,
					 c->rows + off * c->s.out_ch);
		if (ret)
			return ret;
	}
	to_nchw_par(c, c->rows, 0, total, 1.0f, y);
	return 0;
}

int cim_conv2d_backward(struct cim_conv2d *c, const float *dy,
			unsigned int n, float *dx)
{
	struct cim_linear *l;
	size_t total, off;
	unsigned int m;
	int ret;

	ret = check(c, dy, c ? out_len(c, n) : 0, dx, n);
	if (ret)
		return ret;
	l = c->lin;
	total = (size_t)n * c->oh * c->ow;
	memset(dx, 0, in_len(c, n) * sizeof(*dx));
	if (cim__linear_single(l)) {
		for (off = 0; off < total; off += m) {
			m = chunk_at(c, off, total);
			nchw_to_rows_part(c, dy, off, m, cim__linear_dbuf(l));
			ret = cim__linear_vmm(l, CIM_VMM_TRANS, m);
			if (ret)
				return ret;
			col2im_par(c, cim__linear_ybuf(l), off, m,
				   cim__linear_wmax(l), dx);
		}
		return 0;
	}
	nchw_to_rows(c, dy, n);
	for (off = 0; off < total; off += m) {
		m = chunk_at(c, off, total);
		ret = cim_linear_backward(l, c->rows + off * c->s.out_ch, m,
					  c->cols + off * c->k);
		if (ret)
			return ret;
	}
	/* col2im: every patch value goes back to its pixel, summed */
	col2im_par(c, c->cols, 0, total, 1.0f, dx);
	return 0;
}

int cim_conv2d_update(struct cim_conv2d *c, const float *x, const float *dy,
		      unsigned int n)
{
	size_t total, off;
	int ret;

	ret = check_x_dy(c, x, dy, n);
	if (ret)
		return ret;
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

/* the weight gradient over @m pixel rows of @x and @dy, cut into parts */
struct grad_job {
	struct cim_conv2d *c;
	const float *x, *dy;
	size_t m;
};

/* one part's rows of the patches and of dy, then their product */
static void grad_part(void *arg, unsigned int part, unsigned int nparts)
{
	struct grad_job *j = arg;
	struct cim_conv2d *c = j->c;
	size_t a = cimfw_par_first(j->m, part, nparts);
	size_t b = cimfw_par_first(j->m, part + 1, nparts);
	unsigned int oc = c->s.out_ch;
	float *g = c->gpart + (size_t)part * c->k * oc;

	if (a == b) {
		memset(g, 0, (size_t)c->k * oc * sizeof(*g));
		return;
	}
	im2col_rows(c, j->x, a, b - a, c->cols + a * c->k,
		    c->padded + part * c->padded_len);
	nchw_to_rows_part(c, j->dy, a, b - a, c->rows + a * oc);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c->k,
		    (int)oc, (int)(b - a), 1.0f, c->cols + a * c->k,
		    (int)c->k, c->rows + a * oc, (int)oc, 0.0f, g, (int)oc);
}

int cim_conv2d_weight_grad(struct cim_conv2d *c, const float *x,
			   const float *dy, unsigned int n, float *gw)
{
	struct grad_job j;
	size_t i, len;
	unsigned int p;
	int ret;

	ret = check_x_dy(c, x, dy, n);
	if (ret)
		return ret;
	if (!gw)
		return -EINVAL;
	j = (struct grad_job){ c, x, dy, (size_t)n * c->oh * c->ow };
	/*
	 * Always CIMFW_PAR_MAX parts, summed in part order: the same bits
	 * whatever the number of threads that run them.
	 */
	cimfw_par_run(CIMFW_PAR_MAX, grad_part, &j);
	len = (size_t)c->k * c->s.out_ch;
	memcpy(gw, c->gpart, len * sizeof(*gw));
	for (p = 1; p < CIMFW_PAR_MAX; p++)
		for (i = 0; i < len; i++)
			gw[i] += c->gpart[p * len + i];
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
