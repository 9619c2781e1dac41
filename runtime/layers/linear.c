// SPDX-License-Identifier: MIT
/*
 * The mixed-precision linear layer: a weight matrix tiled across whole
 * crossbars, partial sums added on the host.
 *
 * Tile t = r * nct + c holds rows r*xr.. and columns c*xc.. of W. Device
 * buffers, all allocated at create time and laid out for batch_max so that
 * no offset depends on the batch:
 *   xbuf  the row-tile slices of x, slice r at r*xr*batch_max floats;
 *   dbuf  the column-tile slices of dy, slice c at c*xc*batch_max floats;
 *   ybuf  forward: the output of tile (r, c) at (r*out + c*xc)*batch_max;
 *         backward: the output of tile (r, c) at (c*in + r*xr)*batch_max;
 *   wbuf  weights (or conductance pairs) tile by tile, for program/read;
 *   rbuf  one report per tile.
 * One command buffer per kind of call, rebuilt only when the batch (or
 * the learning rate) changes.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cim_layer.h"
#include "cim_priv.h"
#include "layers_priv.h"

#define REPORT_STRIDE	32	/* >= both report structs, 8-aligned */

struct cim_linear {
	struct cim_device *dev;
	struct cim_linear_options o;
	unsigned int in, out;
	unsigned int xr, xc;		/* crossbar geometry */
	unsigned int nrt, nct, ntiles;
	unsigned int levels;
	unsigned int *xbar;		/* crossbar of each tile */
	size_t *woff;			/* wbuf offset of each tile, floats */
	uint64_t reserved;
	float *shadow;			/* in * out, user units */
	struct cim_buffer *xbuf, *dbuf, *ybuf, *wbuf, *rbuf;
	struct cim_cmdbuf *cb_fwd, *cb_bwd, *cb_upd, *cb_misc;
	unsigned int fwd_batch, bwd_batch, upd_batch, upd_flags;
	uint64_t resets;		/* the device's count when programmed */
	bool lost;
};

void cim_linear_options_default(struct cim_linear_options *o)
{
	if (!o)
		return;
	*o = (struct cim_linear_options){
		.size = sizeof(*o),
		.lr = 0.01f,
		.epsilon = 0.0f,
		.n_max = 31,
		.w_max = 1.0f,
		.batch_max = 64,
		.prog_iters = 20,
		.prog_tol = 0.5f,
	};
}

/* Defaults filled in, ranges checked; @max_batch 0 skips that check. */
int cim__linear_opts(const struct cim_linear_options *in,
		     struct cim_linear_options *o, unsigned int max_batch)
{
	struct cim_linear_options d;

	cim_linear_options_default(&d);
	if (in) {
		if (in->size < sizeof(*in))
			return -EINVAL;
		d = *in;
		d.size = sizeof(d);
		if (!d.prog_iters)
			d.prog_iters = 20;
		if (d.prog_tol == 0.0f)
			d.prog_tol = 0.5f;
	}
	if (d.flags || !isfinite(d.lr) || d.lr < 0.0f ||
	    !isfinite(d.epsilon) || d.epsilon < 0.0f ||
	    d.n_max < 1 || d.n_max > CIM_MAX_PULSES ||
	    !isfinite(d.w_max) || d.w_max <= 0.0f ||
	    !isfinite(d.lr / d.w_max) || !isfinite(d.epsilon / d.w_max) ||
	    d.batch_max < 1 || (max_batch && d.batch_max > max_batch) ||
	    d.prog_iters > 64 || !(d.prog_tol > 0.0f && d.prog_tol <= 8.0f))
		return -EINVAL;
	*o = d;
	return 0;
}

/*
 * On the bit patterns: |v| as an unsigned integer is below the pattern of
 * infinity for every finite v, NaN and infinity are not. No early exit:
 * the loop vectorises.
 */
__attribute__((optimize("O3"), target_clones("avx2", "default")))
bool cim__all_finite(const float *v, size_t n)
{
	uint32_t m = 0, b;
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(&b, &v[i], sizeof(b));
		b &= 0x7fffffffu;
		m = b > m ? b : m;
	}
	return m < 0x7f800000u;
}

static float *fptr(struct cim_buffer *b, size_t off)
{
	return (float *)cim_buffer_ptr(b) + off;
}

static unsigned int tile_rows(const struct cim_linear *l, unsigned int r)
{
	return r + 1 < l->nrt ? l->xr : l->in - r * l->xr;
}

static unsigned int tile_cols(const struct cim_linear *l, unsigned int c)
{
	return c + 1 < l->nct ? l->xc : l->out - c * l->xc;
}

static struct cim_window tile_win(const struct cim_linear *l, unsigned int r,
				  unsigned int c)
{
	return (struct cim_window){
		.xbar = l->xbar[r * l->nct + c],
		.nrows = tile_rows(l, r),
		.ncols = tile_cols(l, c),
	};
}

/*
 * One submit, one wait; a reset seen here, or acknowledged on the handle
 * since the layer was programmed (by another layer), marks the weights
 * lost.
 */
static int run(struct cim_linear *l, struct cim_cmdbuf *cb)
{
	int ret;

	if (cim__device_resets(l->dev) != l->resets)
		ret = -ECANCELED;
	else
		ret = cim_run(cb, NULL);
	if (ret == -ECANCELED)
		l->lost = true;
	return ret;
}

static void free_all(struct cim_linear *l)
{
	cim_cmdbuf_destroy(l->cb_fwd);
	cim_cmdbuf_destroy(l->cb_bwd);
	cim_cmdbuf_destroy(l->cb_upd);
	cim_cmdbuf_destroy(l->cb_misc);
	cim_buffer_free(l->xbuf);
	cim_buffer_free(l->dbuf);
	cim_buffer_free(l->ybuf);
	cim_buffer_free(l->wbuf);
	cim_buffer_free(l->rbuf);
	free(l->xbar);
	free(l->woff);
	free(l->shadow);
	free(l);
}

/*
 * Program @w (in x out, user units, finite) after a transfer of whatever
 * the accumulators hold. Only the device changes; the caller updates the
 * shadow on success.
 */
static int program(struct cim_linear *l, const float *w,
		   struct cim_program_stats *stats)
{
	struct cim_duu_params tp = {
		.batch = 0, .lr = 0.0f, .epsilon = l->o.epsilon / l->o.w_max,
		.n_max = l->o.n_max,
	};
	struct cim_program_stats s = { 0 };
	unsigned int r, c, i, j;
	int ret;

	for (r = 0; r < l->nrt; r++) {
		for (c = 0; c < l->nct; c++) {
			struct cim_window win = tile_win(l, r, c);
			float *dst = fptr(l->wbuf, l->woff[r * l->nct + c]);

			for (i = 0; i < win.nrows; i++) {
				const float *src = w + (size_t)(r * l->xr + i) *
						   l->out + c * l->xc;

				for (j = 0; j < win.ncols; j++) {
					float v = src[j] / l->o.w_max;

					dst[i * win.ncols + j] =
						fminf(fmaxf(v, -1.0f), 1.0f);
				}
			}
		}
	}
	cim_cmdbuf_reset(l->cb_misc);
	for (i = 0; i < l->ntiles; i++) {
		struct cim_window win = tile_win(l, i / l->nct, i % l->nct);

		ret = cim_cmd_duu_update(l->cb_misc, &win, &tp, NULL, 0, NULL,
					 0, NULL, 0);
		if (ret)
			return ret;
	}
	for (i = 0; i < l->ntiles; i++) {
		struct cim_window win = tile_win(l, i / l->nct, i % l->nct);

		ret = cim_cmd_xbar_program(l->cb_misc, &win, l->wbuf,
					   l->woff[i] * 4, l->o.prog_iters,
					   l->o.prog_tol, l->rbuf,
					   (size_t)i * REPORT_STRIDE);
		if (ret)
			return ret;
	}
	ret = run(l, l->cb_misc);
	if (ret)
		return ret;
	for (i = 0; i < l->ntiles; i++) {
		const struct cim_program_report *rep = (const void *)
			((const char *)cim_buffer_ptr(l->rbuf) +
			 (size_t)i * REPORT_STRIDE);

		s.cells += rep->cells;
		s.failed += rep->failed;
		s.pulses += rep->pulses;
	}
	if (stats)
		*stats = s;
	return 0;
}

/* The shadow after a successful program of @w: clipped like the device. */
static void set_shadow(struct cim_linear *l, const float *w)
{
	size_t i, n = (size_t)l->in * l->out;
	float m = l->o.w_max;

	for (i = 0; i < n; i++)
		l->shadow[i] = fminf(fmaxf(w[i], -m), m);
}

int cim_linear_create(struct cim_device *dev, unsigned int in,
		      unsigned int out, const struct cim_linear_options *opts,
		      struct cim_linear **out_l)
{
	struct cim_info info = { .size = sizeof(info) };
	struct cim_linear_options o;
	struct cim_linear *l;
	uint64_t usable, mask = 0;
	unsigned int t, bit;
	size_t off, ysz;
	int ret;

	if (!dev || !out_l || !in || !out)
		return -EINVAL;
	ret = cim_device_query(dev, &info);
	if (ret)
		return ret;
	ret = cim__linear_opts(opts, &o, info.max_batch);
	if (ret)
		return ret;
	if (!info.xbar_count || !(info.hw_caps & CIM_CAPS_DUU))
		return -ENOSYS;
	usable = info.xbar_count >= 64 ? ~0ull :
		 (1ull << info.xbar_count) - 1;
	if (o.xbar_mask & ~usable)
		return -EINVAL;
	if (o.xbar_mask)
		usable &= o.xbar_mask;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->dev = dev;
	l->resets = cim__device_resets(dev);
	l->o = o;
	l->in = in;
	l->out = out;
	l->xr = info.xbar_rows;
	l->xc = info.xbar_cols;
	l->levels = info.xbar_levels;
	l->nrt = (in + l->xr - 1) / l->xr;
	l->nct = (out + l->xc - 1) / l->xc;
	l->ntiles = l->nrt * l->nct;
	if ((uint64_t)l->nrt * l->nct > (unsigned int)__builtin_popcountll(usable)) {
		free(l);
		return -E2BIG;
	}
	l->xbar = calloc(l->ntiles, sizeof(*l->xbar));
	l->woff = calloc(l->ntiles, sizeof(*l->woff));
	l->shadow = calloc((size_t)in * out, sizeof(*l->shadow));
	if (!l->xbar || !l->woff || !l->shadow) {
		ret = -ENOMEM;
		goto fail_alloc;
	}
	for (t = 0, bit = 0; t < l->ntiles; bit++) {
		if (usable & (1ull << bit)) {
			l->xbar[t++] = bit;
			mask |= 1ull << bit;
		}
	}
	for (t = 0, off = 0; t < l->ntiles; t++) {
		l->woff[t] = off;
		off += (size_t)tile_rows(l, t / l->nct) *
		       tile_cols(l, t % l->nct);
	}
	/* conductance pairs need twice the floats of the weights */
	ysz = (size_t)o.batch_max * (l->nrt * out > l->nct * in ?
				     (size_t)l->nrt * out :
				     (size_t)l->nct * in);
	ret = cim_buffer_alloc(dev, (size_t)o.batch_max * in * 4, &l->xbuf);
	if (!ret)
		ret = cim_buffer_alloc(dev, (size_t)o.batch_max * out * 4,
				       &l->dbuf);
	if (!ret)
		ret = cim_buffer_alloc(dev, ysz * 4, &l->ybuf);
	if (!ret)
		ret = cim_buffer_alloc(dev, (size_t)in * out * 8, &l->wbuf);
	if (!ret)
		ret = cim_buffer_alloc(dev, (size_t)l->ntiles * REPORT_STRIDE,
				       &l->rbuf);
	if (!ret)
		ret = cim_cmdbuf_create(dev, &l->cb_fwd);
	if (!ret)
		ret = cim_cmdbuf_create(dev, &l->cb_bwd);
	if (!ret)
		ret = cim_cmdbuf_create(dev, &l->cb_upd);
	if (!ret)
		ret = cim_cmdbuf_create(dev, &l->cb_misc);
	if (ret)
		goto fail_alloc;
	ret = cim_xbar_reserve(dev, mask);
	if (ret)
		goto fail_alloc;
	l->reserved = mask;
	/* a defined start: every weight 0, the shadow (zeroed) with it */
	ret = program(l, l->shadow, NULL);
	if (ret)
		goto fail_program;
	*out_l = l;
	return 0;

fail_program:
	cim_xbar_release(dev, l->reserved);
fail_alloc:
	free_all(l);
	return ret;
}

void cim_linear_destroy(struct cim_linear *l)
{
	if (!l)
		return;
	cim_xbar_release(l->dev, l->reserved);
	free_all(l);
}

unsigned int cim_linear_in(const struct cim_linear *l)
{
	return l ? l->in : 0;
}

unsigned int cim_linear_out(const struct cim_linear *l)
{
	return l ? l->out : 0;
}

unsigned int cim_linear_tiles(const struct cim_linear *l)
{
	return l ? l->ntiles : 0;
}

unsigned int cim__linear_batch_max(const struct cim_linear *l)
{
	return l->o.batch_max;
}

int cim_linear_set_lr(struct cim_linear *l, float lr)
{
	if (!l || !isfinite(lr) || lr < 0.0f || !isfinite(lr / l->o.w_max))
		return -EINVAL;
	l->o.lr = lr;
	l->upd_batch = 0;	/* the packets carry lr: rebuild */
	return 0;
}

/* Copy x[batch][in] into the row-tile slices of xbuf. */
static void gather_x(struct cim_linear *l, const float *x, unsigned int batch)
{
	unsigned int r, b;

	for (r = 0; r < l->nrt; r++) {
		unsigned int nr = tile_rows(l, r);
		float *dst = fptr(l->xbuf, (size_t)r * l->xr * l->o.batch_max);

		for (b = 0; b < batch; b++)
			memcpy(dst + (size_t)b * nr,
			       x + (size_t)b * l->in + r * l->xr, nr * 4);
	}
}

static void gather_d(struct cim_linear *l, const float *dy,
		     unsigned int batch)
{
	unsigned int c, b;

	for (c = 0; c < l->nct; c++) {
		unsigned int nc = tile_cols(l, c);
		float *dst = fptr(l->dbuf, (size_t)c * l->xc * l->o.batch_max);

		for (b = 0; b < batch; b++)
			memcpy(dst + (size_t)b * nc,
			       dy + (size_t)b * l->out + c * l->xc, nc * 4);
	}
}

static int check_call(const struct cim_linear *l, const float *a,
		      size_t alen, const float *b, size_t blen,
		      unsigned int batch)
{
	if (!l || !a || !b || !batch || batch > l->o.batch_max)
		return -EINVAL;
	if (l->lost)
		return -ECANCELED;
	if (!cim__all_finite(a, alen * batch) ||
	    (blen && !cim__all_finite(b, blen * batch)))
		return -EINVAL;
	return 0;
}

/*
 * Digital accumulation of the tiles' outputs: @y is batch x @total, cut in
 * output tiles of @stride; each is the sum, in ascending order, of the
 * @nsum partial tiles in ybuf (laid out [s][total][batch_max]), then scaled
 * back by w_max. The fixed order keeps the result bit-reproducible.
 */
static void sum_partials(const struct cim_linear *l, float *y,
			 unsigned int total, unsigned int stride,
			 unsigned int nsum, unsigned int batch)
{
	unsigned int o, s, b, j, w;

	for (o = 0; o * stride < total; o++) {
		w = total - o * stride < stride ? total - o * stride : stride;
		for (b = 0; b < batch; b++) {
			float *yb = y + (size_t)b * total + o * stride;

			for (s = 0; s < nsum; s++) {
				const float *p = fptr(l->ybuf,
					((size_t)s * total + o * stride) *
					l->o.batch_max + (size_t)b * w);

				if (!s)
					memcpy(yb, p, w * 4);
				else
					for (j = 0; j < w; j++)
						yb[j] += p[j];
			}
			for (j = 0; j < w; j++)
				yb[j] *= l->o.w_max;
		}
	}
}

/*
 * The command buffer of one direction, one VMM per tile, rebuilt only when
 * the batch changes. Forward: x tiles by row, partial outputs [r][out];
 * transposed: dy tiles by column, partial outputs [c][in].
 */
static int build_vmm(struct cim_linear *l, enum cim_vmm_dir dir,
		     unsigned int batch)
{
	bool fwd = dir == CIM_VMM_FWD;
	struct cim_cmdbuf *cb = fwd ? l->cb_fwd : l->cb_bwd;
	unsigned int *built = fwd ? &l->fwd_batch : &l->bwd_batch;
	struct cim_buffer *in = fwd ? l->xbuf : l->dbuf;
	size_t bm = l->o.batch_max, io, oo;
	unsigned int r, c;
	int ret;

	if (*built == batch)
		return 0;
	*built = 0;
	cim_cmdbuf_reset(cb);
	for (r = 0; r < l->nrt; r++) {
		for (c = 0; c < l->nct; c++) {
			struct cim_window win = tile_win(l, r, c);

			io = fwd ? (size_t)r * l->xr : (size_t)c * l->xc;
			oo = fwd ? (size_t)r * l->out + c * l->xc :
				   (size_t)c * l->in + r * l->xr;
			ret = cim_cmd_vmm(cb, dir, &win, batch, 0.0f, in,
					  io * bm * 4, l->ybuf, oo * bm * 4);
			if (ret)
				return ret;
		}
	}
	*built = batch;
	return 0;
}

/*
 * For the convolution, on a layer of one tile: its device buffers, which
 * the caller fills and reads in place (x: batch x in, dy: batch x out;
 * the output: batch x out forward, batch x in transposed, before the
 * scaling by w_max), and one VMM without the copies and checks of
 * cim_linear_forward()/backward(): the caller's inputs are finite by
 * construction.
 */
bool cim__linear_single(const struct cim_linear *l)
{
	return l->ntiles == 1;
}

float *cim__linear_xbuf(struct cim_linear *l)
{
	return fptr(l->xbuf, 0);
}

float *cim__linear_dbuf(struct cim_linear *l)
{
	return fptr(l->dbuf, 0);
}

const float *cim__linear_ybuf(struct cim_linear *l)
{
	return fptr(l->ybuf, 0);
}

float cim__linear_wmax(const struct cim_linear *l)
{
	return l->o.w_max;
}

int cim__linear_vmm(struct cim_linear *l, enum cim_vmm_dir dir,
		    unsigned int batch)
{
	int ret;

	if (!batch || batch > l->o.batch_max)
		return -EINVAL;
	if (l->lost)
		return -ECANCELED;
	ret = build_vmm(l, dir, batch);
	if (ret)
		return ret;
	return run(l, dir == CIM_VMM_FWD ? l->cb_fwd : l->cb_bwd);
}

int cim_linear_forward(struct cim_linear *l, const float *x,
		       unsigned int batch, float *y)
{
	int ret;

	ret = check_call(l, x, l ? l->in : 0, y, 0, batch);
	if (ret)
		return ret;
	ret = build_vmm(l, CIM_VMM_FWD, batch);
	if (ret)
		return ret;
	gather_x(l, x, batch);
	ret = run(l, l->cb_fwd);
	if (ret)
		return ret;
	sum_partials(l, y, l->out, l->xc, l->nrt, batch);
	return 0;
}

int cim_linear_backward(struct cim_linear *l, const float *dy,
			unsigned int batch, float *dx)
{
	int ret;

	ret = check_call(l, dy, l ? l->out : 0, dx, 0, batch);
	if (ret)
		return ret;
	ret = build_vmm(l, CIM_VMM_TRANS, batch);
	if (ret)
		return ret;
	gather_d(l, dy, batch);
	ret = run(l, l->cb_bwd);
	if (ret)
		return ret;
	sum_partials(l, dx, l->in, l->xr, l->nct, batch);
	return 0;
}

/* The update; @flags CIM_DUU_F_NO_TRANSFER to only accumulate. */
int cim__linear_update(struct cim_linear *l, const float *x, const float *dy,
		       unsigned int batch, unsigned int flags)
{
	struct cim_duu_params p = {
		.batch = batch,
		.n_max = l ? l->o.n_max : 1,
		.flags = flags,
	};
	unsigned int r, c;
	int ret;

	if (!dy)
		return -EINVAL;
	ret = check_call(l, x, l ? l->in : 0, dy, l ? l->out : 0, batch);
	if (ret)
		return ret;
	p.lr = l->o.lr / l->o.w_max;
	p.epsilon = l->o.epsilon / l->o.w_max;
	if (l->upd_batch != batch || l->upd_flags != flags) {
		l->upd_batch = 0;
		cim_cmdbuf_reset(l->cb_upd);
		for (r = 0; r < l->nrt; r++) {
			for (c = 0; c < l->nct; c++) {
				struct cim_window win = tile_win(l, r, c);
				size_t xo = (size_t)r * l->xr * l->o.batch_max;
				size_t d_o = (size_t)c * l->xc * l->o.batch_max;

				ret = cim_cmd_duu_update(l->cb_upd, &win, &p,
							 l->xbuf, xo * 4,
							 l->dbuf, d_o * 4,
							 NULL, 0);
				if (ret)
					return ret;
			}
		}
		l->upd_batch = batch;
		l->upd_flags = flags;
	}
	gather_x(l, x, batch);
	gather_d(l, dy, batch);
	return run(l, l->cb_upd);
}

int cim_linear_update(struct cim_linear *l, const float *x, const float *dy,
		      unsigned int batch)
{
	return cim__linear_update(l, x, dy, batch, 0);
}

int cim_linear_update_grad(struct cim_linear *l, const float *g)
{
	struct cim_duu_params p = {
		.n_max = l ? l->o.n_max : 1,
		.flags = CIM_DUU_F_X_IDENTITY,
	};
	unsigned int i, k, r, c;
	int ret;

	if (!l || !g)
		return -EINVAL;
	if (l->lost)
		return -ECANCELED;
	if (!cim__all_finite(g, (size_t)l->in * l->out))
		return -EINVAL;
	p.lr = l->o.lr / l->o.w_max;
	p.epsilon = l->o.epsilon / l->o.w_max;
	/* each tile's block of g, in wbuf's tile layout */
	cim_cmdbuf_reset(l->cb_misc);
	for (i = 0; i < l->ntiles; i++) {
		struct cim_window win = tile_win(l, i / l->nct, i % l->nct);
		float *dst = fptr(l->wbuf, l->woff[i]);

		r = i / l->nct;
		c = i % l->nct;
		for (k = 0; k < win.nrows; k++)
			memcpy(dst + (size_t)k * win.ncols,
			       g + (size_t)(r * l->xr + k) * l->out +
			       c * l->xc, win.ncols * sizeof(*g));
		p.batch = win.nrows;	/* one unit vector per row */
		ret = cim_cmd_duu_update(l->cb_misc, &win, &p, NULL, 0,
					 l->wbuf, l->woff[i] * 4, NULL, 0);
		if (ret)
			return ret;
	}
	return run(l, l->cb_misc);
}

int cim_linear_import(struct cim_linear *l, const float *w,
		      struct cim_program_stats *stats)
{
	int ret;

	if (!l || !w || !cim__all_finite(w, (size_t)l->in * l->out))
		return -EINVAL;
	if (l->lost)
		return -ECANCELED;
	ret = program(l, w, stats);
	if (ret)
		return ret;
	set_shadow(l, w);
	return 0;
}

/* Read every tile (weights, or conductance pairs) into @dst, in x out
 * (x 2 for pairs). */
static int read_back(struct cim_linear *l, bool weights, float *dst)
{
	unsigned int per = weights ? 1 : 2, i, r, c, k;
	int ret;

	if (l->lost)
		return -ECANCELED;
	cim_cmdbuf_reset(l->cb_misc);
	for (i = 0; i < l->ntiles; i++) {
		struct cim_window win = tile_win(l, i / l->nct, i % l->nct);

		ret = cim_cmd_xbar_read(l->cb_misc, &win,
					weights ? CIM_READ_F_WEIGHTS : 0,
					l->wbuf, l->woff[i] * per * 4);
		if (ret)
			return ret;
	}
	ret = run(l, l->cb_misc);
	if (ret)
		return ret;
	for (i = 0; i < l->ntiles; i++) {
		struct cim_window win = tile_win(l, i / l->nct, i % l->nct);
		const float *src = fptr(l->wbuf, l->woff[i] * per);

		r = i / l->nct;
		c = i % l->nct;
		for (k = 0; k < win.nrows; k++) {
			float *d = dst + ((size_t)(r * l->xr + k) * l->out +
					  c * l->xc) * per;
			const float *s = src + (size_t)k * win.ncols * per;
			unsigned int j;

			if (!weights) {
				memcpy(d, s, (size_t)win.ncols * per * 4);
				continue;
			}
			for (j = 0; j < win.ncols; j++)
				d[j] = s[j] * l->o.w_max;
		}
	}
	return 0;
}

int cim_linear_export(struct cim_linear *l, float *w)
{
	int ret;

	if (!l || !w)
		return -EINVAL;
	ret = read_back(l, true, w);
	if (ret)
		return ret;
	memcpy(l->shadow, w, (size_t)l->in * l->out * sizeof(*w));
	return 0;
}

int cim_linear_read_conductance(struct cim_linear *l, float *g)
{
	if (!l || !g)
		return -EINVAL;
	return read_back(l, false, g);
}

int cim_linear_weights_lost(const struct cim_linear *l)
{
	return l && l->lost;
}

int cim_linear_reprogram(struct cim_linear *l, struct cim_program_stats *stats)
{
	bool was_lost;
	int ret;

	if (!l)
		return -EINVAL;
	ret = cim_device_check(l->dev);
	if (ret && ret != -ECANCELED)
		return ret;
	was_lost = l->lost;
	l->lost = false;
	l->resets = cim__device_resets(l->dev);
	ret = program(l, l->shadow, stats);
	/* a failure leaves the weights unknown: keep refusing to compute */
	if (ret && (was_lost || ret == -ECANCELED))
		l->lost = true;
	return ret;
}
