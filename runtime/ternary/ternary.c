// SPDX-License-Identifier: MIT
/*
 * The ternary compiler: checks a layer against its target, builds the
 * tables of partial-sum patterns, places the accumulators, and counts what
 * the lowered programs cost (ternary_priv.h has the AP layout).
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ternary_priv.h"

/* Widths ---------------------------------------------------------------- */

static unsigned int signed_width(int64_t lo, int64_t hi)
{
	unsigned int w = 1;

	while (lo < -(1LL << (w - 1)) || hi > (1LL << (w - 1)) - 1)
		w++;
	return w;
}

static unsigned int unsigned_width(int64_t hi)
{
	unsigned int w = 1;

	while (hi >= (1LL << w))
		w++;
	return w;
}

/* Pattern tables over g taps: ranges, widths, prefix parents */
static int build_codes(struct cim_ternary_layer *l)
{
	int64_t maxv = (1 << l->b) - 1;
	unsigned int c, i;

	l->ncodes = 1;
	for (i = 0; i < l->g; i++)
		l->ncodes *= 3;
	l->ci = calloc(l->ncodes, sizeof(*l->ci));
	if (!l->ci)
		return -ENOMEM;
	for (c = 0; c < l->ncodes; c++) {
		struct code_info *x = &l->ci[c];
		unsigned int v = c, p3 = 1, lastp3 = 0;

		for (i = 0; i < l->g; i++, v /= 3, p3 *= 3) {
			if (!(v % 3))
				continue;
			x->nnz++;
			x->last = i;
			x->lastneg = v % 3 == 2;
			lastp3 = p3 * (v % 3);
			if (v % 3 == 1)
				x->hi += maxv;
			else
				x->lo -= maxv;
		}
		x->parent = x->nnz ? c - lastp3 : 0;
		x->sgn = x->lo < 0;
		x->width = x->sgn ? signed_width(x->lo, x->hi) :
				    unsigned_width(x->hi);
	}
	return 0;
}

/* Compile ---------------------------------------------------------------- */

int cim_ternary_ternarize(const float *w, unsigned int cout, unsigned int n,
			  float ratio, int8_t *t, float *alpha)
{
	unsigned int f, i;

	if (!w || !t || !cout || !n || ratio < 0.0f || !isfinite(ratio))
		return -EINVAL;
	if (ratio == 0.0f)
		ratio = 0.7f;
	for (f = 0; f < cout; f++) {
		const float *wf = w + (size_t)f * n;
		double s = 0.0, sa = 0.0, delta;
		unsigned int cnt = 0;

		for (i = 0; i < n; i++)
			s += fabs(wf[i]);
		delta = ratio * s / n;
		for (i = 0; i < n; i++) {
			double a = fabs(wf[i]);
			int8_t v = 0;

			if (a > delta) {
				v = wf[i] > 0 ? 1 : -1;
				sa += a;
				cnt++;
			}
			t[(size_t)f * n + i] = v;
		}
		if (alpha)
			alpha[f] = cnt ? (float)(sa / cnt) : 0.0f;
	}
	return 0;
}

int cim_ternary_target_of(struct cim_device *dev, struct cim_ternary_target *t)
{
	struct cim_info info = { .size = sizeof(info) };
	int r;

	if (!dev || !t)
		return -EINVAL;
	r = cim_device_query(dev, &info);
	if (r)
		return r;
	if (!info.ap_count)
		return -ENODEV;
	t->ap_count = info.ap_count;
	t->ap_rows = info.ap_rows;
	t->ap_cols = info.ap_cols;
	t->ap_domains = info.ap_domains;
	t->ap_group_tracks = info.ap_group_tracks;
	return 0;
}

void cim_ternary_destroy(struct cim_ternary_layer *l)
{
	if (!l)
		return;
	free(l->w);
	free(l->acc);
	free(l->ft);
	free(l->ci);
	free(l);
}

static int check_desc(struct cim_ternary_desc *d,
		      const struct cim_ternary_target *t)
{
	if (!d->in_bits)
		d->in_bits = 4;
	if (!d->group)
		d->group = 4;
	if (!d->in_h || !d->in_w || !d->cin || !d->cout || !d->k ||
	    !d->stride || d->in_bits > 8 || d->group > CIM_TERNARY_MAX_GROUP ||
	    d->out_mode > CIM_TERNARY_OUT_REQUANT || d->cin > (1u << 20) ||
	    d->k > 15 || d->pad >= d->k || d->in_h + 2 * d->pad < d->k ||
	    d->in_w + 2 * d->pad < d->k || d->in_h > 4096 || d->in_w > 4096)
		return -EINVAL;
	if (d->out_mode == CIM_TERNARY_OUT_REQUANT &&
	    (!d->out_bits || d->out_bits > 16 || d->out_shift > 64))
		return -EINVAL;
	if (d->out_mode != CIM_TERNARY_OUT_REQUANT &&
	    (d->out_bits || d->out_shift))
		return -EINVAL;
	if (!t->ap_count || !t->ap_rows || !t->ap_cols || !t->ap_domains ||
	    !t->ap_group_tracks || t->ap_cols > CIM_MAX_AP_COLS ||
	    t->ap_domains > CIM_MAX_AP_DOMAINS || t->ap_rows > CIM_MAX_AP_ROWS)
		return -EINVAL;
	return 0;
}

/* Accumulator slots: first fit, domain by domain, filter tiles when full */
static int place_accs(struct cim_ternary_layer *l)
{
	int64_t maxv = (1 << l->b) - 1;
	unsigned int f, t, i, floor_w, nodew = 1;
	unsigned int dom = 0, grp = l->agrp0, col = 0;

	for (i = 0; i < l->ncodes; i++)
		if (l->ci[i].width > nodew)
			nodew = l->ci[i].width;
	floor_w = nodew + 1;	/* room for any partial sum, either sign */
	l->acc = calloc(l->d.cout, sizeof(*l->acc));
	l->ft = calloc(l->d.cout, sizeof(*l->ft));
	if (!l->acc || !l->ft)
		return -ENOMEM;
	l->nft = 0;
	l->ft[0].f0 = 0;
	for (f = 0; f < l->d.cout; f++) {
		int64_t lo = 0, hi = 0;
		unsigned int w;

		for (t = 0; t < l->ntaps; t++) {
			int8_t v = l->w[(size_t)f * l->ntaps + t];

			if (v > 0)
				hi += maxv;
			else if (v < 0)
				lo -= maxv;
		}
		w = signed_width(lo, hi);
		if (w < floor_w)
			w = floor_w;
		if (w > 64 || w > l->t.ap_group_tracks)
			return -E2BIG;
		if (f - l->ft[l->nft].f0 >= 4096)
			goto new_tile;
		for (;;) {
			if (col + w <= grp_width(l, grp))
				break;
			col = 0;
			if (++grp == l->ngrp) {
				grp = l->agrp0;
				if (++dom == l->t.ap_domains)
					goto new_tile;
			}
		}
		goto place;
new_tile:
		if (f == l->ft[l->nft].f0)
			return -E2BIG;
		l->ft[l->nft].f1 = f;
		l->ft[l->nft].ndom = l->acc[f - 1].dom + 1;
		l->nft++;
		l->ft[l->nft].f0 = f;
		dom = 0;
		grp = l->agrp0;
		col = 0;
		if (col + w > grp_width(l, grp))
			return -E2BIG;
place:
		l->acc[f].grp = grp;
		l->acc[f].dom = dom;
		l->acc[f].col = col;
		l->acc[f].width = w;
		col += w;
		if (w > l->st.acc_bits_max)
			l->st.acc_bits_max = w;
	}
	l->ft[l->nft].f1 = f;
	l->ft[l->nft].ndom = l->acc[f - 1].dom + 1;
	l->nft++;
	return 0;
}

/* Columns the layout touches: group 0's, partial-sum and accumulator */
static unsigned int col_count(const struct cim_ternary_layer *l)
{
	unsigned int n = l->col_dst, g, f, m;

	if (l->d.out_mode == CIM_TERNARY_OUT_REQUANT)
		n += l->d.out_bits;
	for (g = 1; g < l->agrp0 && g < l->ntaps; g++)
		n += grp_width(l, g);
	for (g = l->agrp0; g < l->ngrp; g++) {
		for (m = 0, f = 0; f < l->d.cout; f++)
			if (l->acc[f].grp == g &&
			    l->acc[f].col + l->acc[f].width > m)
				m = l->acc[f].col + l->acc[f].width;
		n += m;
	}
	return n;
}

static int count_stats(struct cim_ternary_layer *l)
{
	struct cim_ternary_stats *st = &l->st;
	struct emit *e;
	struct sink s = { .l = l };
	unsigned int i, f, j, dmax = 0;
	int r = 0;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->l = l;
	e->off = calloc(l->ngrp, sizeof(*e->off));
	r = cim_ap_prog_create(&e->prog);
	if (r || !e->off) {
		r = r ? r : -ENOMEM;
		goto out;
	}
	s.nrows = l->rows;
	st->nonzero = 0;
	for (i = 0; i < l->d.cout * l->ntaps; i++)
		st->nonzero += l->w[i] != 0;
	st->macs = (uint64_t)l->npix * l->d.cout * l->ntaps;
	st->adds_plain = (uint64_t)l->npix * st->nonzero;
	for (i = 0; i < l->nft; i++) {
		const struct ftile *ft = &l->ft[i];
		uint64_t adds0 = e->adds;

		r = cim__ternary_tile_sequence(&s, e, ft);
		if (r)
			goto out;
		/* term additions: one per non-zero group of every filter */
		for (f = ft->f0; f < ft->f1; f++)
			for (j = 0; j < l->ngin; j++) {
				bool neg;

				if (cim__ternary_pattern(l, f, j, &neg))
					st->adds_term++;
			}
		st->adds_build += e->adds - adds0;
		if (ft->ndom > dmax)
			dmax = ft->ndom;
	}
	st->adds_build -= st->adds_term;
	st->adds_build *= l->npix;
	st->adds_term *= l->npix;
	st->ap_adds = e->adds * l->nrt;
	st->ap_insts = s.insts * l->nrt;
	st->compares = e->compares * l->nrt;
	st->writes = e->writes * l->nrt;
	st->shift_steps = e->shift_steps * l->nrt;
	st->shift_insts = e->shift_insts * l->nrt;
	/* the last row tile may be short: loads and reads count its rows */
	st->io_bits = 0;
	for (i = 0; i < l->nrt; i++) {
		unsigned int n = l->npix - i * l->rows;

		n = n > l->rows ? l->rows : n;
		/* per tile: the valid column (all rows) and n-row transfers */
		st->io_bits += (uint64_t)l->t.ap_rows * l->nft +
			       (s.io_bits - (uint64_t)l->t.ap_rows * l->nft) /
			       l->rows * n;
	}
	st->row_tiles = l->nrt;
	st->filter_tiles = l->nft;
	st->domains_used = dmax;
	st->cols_used = col_count(l);
	for (i = 1; i < l->ncodes; i++)
		if (l->ci[i].nnz >= 2 && l->ci[i].width > st->node_bits_max)
			st->node_bits_max = l->ci[i].width;
out:
	if (e->prog)
		cim_ap_prog_destroy(e->prog);
	free(e->off);
	free(e);
	return r;
}

int cim_ternary_compile(const struct cim_ternary_desc *desc, const int8_t *w,
			const struct cim_ternary_target *t,
			struct cim_ternary_layer **out)
{
	struct cim_ternary_layer *l;
	size_t i, nw;
	unsigned int used;
	int r;

	if (!desc || !w || !t || !out)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->d = *desc;
	l->t = *t;
	r = check_desc(&l->d, t);
	if (r)
		goto fail;
	l->g = l->d.group;
	l->b = l->d.in_bits;
	l->ntaps = l->d.k * l->d.k * l->d.cin;
	l->ngin = (l->ntaps + l->g - 1) / l->g;
	l->oh = (l->d.in_h + 2 * l->d.pad - l->d.k) / l->d.stride + 1;
	l->ow = (l->d.in_w + 2 * l->d.pad - l->d.k) / l->d.stride + 1;
	l->npix = l->oh * l->ow;
	l->rows = l->npix < t->ap_rows ? l->npix : t->ap_rows;
	l->nrt = (l->npix + l->rows - 1) / l->rows;
	l->ngrp = (t->ap_cols + t->ap_group_tracks - 1) / t->ap_group_tracks;
	l->agrp0 = l->g;
	r = -E2BIG;
	if (l->ngrp <= l->agrp0)
		goto fail;
	l->col_carry = l->g * l->b;
	l->col_scratch = l->col_carry + 1;
	l->col_valid = l->col_carry + 2;
	l->col_dst = l->col_carry + 3;
	used = l->col_dst + (l->d.out_mode == CIM_TERNARY_OUT_REQUANT ?
			     l->d.out_bits : 0);
	if (used > grp_width(l, 0))
		goto fail;
	nw = (size_t)l->d.cout * l->ntaps;
	r = -ENOMEM;
	l->w = malloc(nw);
	if (!l->w)
		goto fail;
	r = -EINVAL;
	for (i = 0; i < nw; i++) {
		if (w[i] < -1 || w[i] > 1)
			goto fail;
		l->w[i] = w[i];
	}
	r = build_codes(l);
	if (r)
		goto fail;
	r = place_accs(l);
	if (r)
		goto fail;
	r = count_stats(l);
	if (r)
		goto fail;
	*out = l;
	return 0;
fail:
	cim_ternary_destroy(l);
	return r;
}

void cim_ternary_out_dims(const struct cim_ternary_layer *l, unsigned int *oh,
			  unsigned int *ow)
{
	*oh = l->oh;
	*ow = l->ow;
}

const struct cim_ternary_stats *
cim_ternary_stats(const struct cim_ternary_layer *l)
{
	return &l->st;
}
