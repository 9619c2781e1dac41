// SPDX-License-Identifier: MIT
/*
 * Lowering: the AP programs of one filter tile on one row tile. Per input
 * group the partial sums its filters use are built level by level, then
 * every filter adds or subtracts one per non-zero group; the read-out
 * requantizes, rectifies or reads the accumulators as they are. The ADD,
 * COPY, CLEAR, RELU and REQUANT macros are counted here as the model
 * charges them (compares and writes), for the statistics.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdlib.h>
#include <string.h>

#include "ternary_priv.h"

/* Digit code of filter f's pattern in input group j, canonical (first
 * non-zero positive); *neg set if it was negated */
unsigned int cim__ternary_pattern(const struct cim_ternary_layer *l,
				  unsigned int f, unsigned int j, bool *neg)
{
	const int8_t *w = l->w + (size_t)f * l->ntaps + (size_t)j * l->g;
	unsigned int n = l->ntaps - j * l->g, i, c = 0, p3 = 1;
	int s = 0;

	if (n > l->g)
		n = l->g;
	for (i = 0; i < n; i++, p3 *= 3) {
		if (!w[i])
			continue;
		if (!s)
			s = w[i];
		c += p3 * (w[i] * s > 0 ? 1 : 2);
	}
	*neg = s < 0;
	return c;
}

/* Emission -------------------------------------------------------------- */

static void chk(struct emit *e, int r)
{
	if (r && !e->err)
		e->err = r;
}

static void em_shift(struct emit *e, unsigned int grp, unsigned int dom)
{
	int k = (int)dom - (int)e->off[grp];

	if (!k)
		return;
	chk(e, cim_ap_prog_shift(e->prog, grp, k));
	e->shift_steps += (uint64_t)abs(k) * grp_width(e->l, grp);
	e->shift_insts++;
	e->off[grp] = dom;
}

static void em_add(struct emit *e, unsigned int a, unsigned int m,
		   unsigned int b, unsigned int n, unsigned int flags)
{
	unsigned int c = flags & CIM_AP_ADD_F_SIGNED ? 4 * n :
						       4 * m + 2 * (n - m);

	chk(e, cim_ap_prog_add(e->prog, a, m, b, n, e->l->col_carry, 0,
			       flags));
	e->compares += c;
	e->writes += c + 1;
	e->adds++;
}

static void em_copy(struct emit *e, unsigned int src, unsigned int n,
		    unsigned int dst)
{
	chk(e, cim_ap_prog_copy(e->prog, src, n, dst));
	e->compares += 2 * n;
	e->writes += 2 * n;
}

static void em_clear(struct emit *e, unsigned int col, unsigned int n)
{
	while (n) {
		unsigned int k = n > 64 ? 64 : n;

		chk(e, cim_ap_prog_clear(e->prog, col, k));
		e->writes++;
		col += k;
		n -= k;
	}
}

/* Rows whose column @col is 1 get ones in field (dst, n) */
static void em_set_where(struct emit *e, unsigned int col, unsigned int dst,
			 unsigned int n)
{
	chk(e, cim_ap_prog_km_clear(e->prog));
	chk(e, cim_ap_prog_km_set(e->prog, col, 1));
	chk(e, cim_ap_prog_compare(e->prog, CIM_AP_CMP_SET));
	chk(e, cim_ap_prog_km_clear(e->prog));
	chk(e, cim_ap_prog_km_field(e->prog, dst, n,
				    n == 64 ? ~0ull : (1ull << n) - 1));
	chk(e, cim_ap_prog_write(e->prog));
	e->compares++;
	e->writes++;
}

static void em_requant(struct emit *e, unsigned int src, unsigned int n,
		       unsigned int shift, unsigned int dst, unsigned int k)
{
	int h = (int)n - 1 - (int)shift - (int)k;
	unsigned int c = n - 1 - shift < k ? n - 1 - shift : k;

	if (h < 0)
		h = 0;
	chk(e, cim_ap_prog_requant(e->prog, src, n, shift, dst, k,
				   e->l->col_scratch));
	e->compares += 1 + h + 2 * c + (k - c) + 2;
	e->writes += 2 + 2 * c + (k - c) + 2;
}

/* Node field of a code: its column and width (level 1: the tap itself) */
static void node_field(struct emit *e, unsigned int c, unsigned int *col,
		       unsigned int *width, bool *sgn)
{
	const struct cim_ternary_layer *l = e->l;
	const struct code_info *x = &l->ci[c];

	if (x->nnz == 1) {
		*col = x->last * l->b;
		*width = l->b;
		*sgn = false;
		return;
	}
	em_shift(e, e->ngrp_[c], e->ndom[c]);
	*col = grp_base(l, e->ngrp_[c]) + e->ncol[c];
	*width = x->width;
	*sgn = x->sgn;
}

/*
 * The program of input group @j for the filters of tile @ft: partial sums,
 * then one term per filter. Returns -E2BIG if the partial sums do not fit.
 */
static int emit_group(struct emit *e, const struct ftile *ft, unsigned int j)
{
	const struct cim_ternary_layer *l = e->l;
	unsigned int gs = l->ntaps - j * l->g, f, c, k, nf = ft->f1 - ft->f0;
	unsigned int D = l->t.ap_domains;
	bool down;

	if (gs > l->g)
		gs = l->g;
	memset(e->need, 0, l->ncodes);
	for (f = ft->f0; f < ft->f1; f++) {
		bool neg;

		c = cim__ternary_pattern(l, f, j, &neg);
		e->fcode[f - ft->f0] = c;
		e->fneg[f - ft->f0] = neg;
		while (c && l->ci[c].nnz >= 2 && !e->need[c]) {
			e->need[c] = 1;
			c = l->ci[c].parent;
		}
	}
	/* Slots, then builds, level by level */
	for (k = 2; k <= gs; k++) {
		unsigned int grp = k - 1, dom = 0, col = 0;
		unsigned int gw = grp_width(l, grp);

		for (c = 0; c < l->ncodes; c++) {
			if (!e->need[c] || l->ci[c].nnz != k)
				continue;
			if (col + l->ci[c].width > gw) {
				dom++;
				col = 0;
			}
			if (dom >= D || l->ci[c].width > gw)
				return -E2BIG;
			e->ngrp_[c] = grp;
			e->ndom[c] = dom;
			e->ncol[c] = col;
			col += l->ci[c].width;
		}
		for (c = 0; c < l->ncodes; c++) {
			const struct code_info *x = &l->ci[c];
			unsigned int pcol, pw, ccol;
			bool psgn;

			if (!e->need[c] || x->nnz != k)
				continue;
			node_field(e, x->parent, &pcol, &pw, &psgn);
			em_shift(e, e->ngrp_[c], e->ndom[c]);
			ccol = grp_base(l, e->ngrp_[c]) + e->ncol[c];
			em_copy(e, pcol, pw, ccol);
			if (x->width > pw) {
				em_clear(e, ccol + pw, x->width - pw);
				if (psgn)
					em_set_where(e, pcol + pw - 1,
						     ccol + pw,
						     x->width - pw);
			}
			em_add(e, x->last * l->b, l->b, ccol, x->width,
			       x->lastneg ? CIM_AP_ADD_F_SUB : 0);
		}
	}
	/* Terms: sweep the accumulator domains from where the tracks are */
	down = e->off[l->agrp0] * 2 >= ft->ndom;
	for (k = 0; k < nf; k++) {
		unsigned int i = down ? nf - 1 - k : k;
		const struct acc_slot *a = &l->acc[ft->f0 + i];
		unsigned int col, width, flags = 0;
		bool sgn;

		c = e->fcode[i];
		if (!c)
			continue;
		node_field(e, c, &col, &width, &sgn);
		em_shift(e, a->grp, a->dom);
		if (sgn)
			flags |= CIM_AP_ADD_F_SIGNED;
		if (e->fneg[i])
			flags |= CIM_AP_ADD_F_SUB;
		em_add(e, col, width, grp_base(l, a->grp) + a->col, a->width,
		       flags);
	}
	return 0;
}

/*
 * The whole sequence of one filter tile on one row tile: the valid column,
 * row enable and clearing, every input group, the read-out, the ports back
 * to 0. With a command buffer, commands go to it; always counted in @e.
 */
int cim__ternary_tile_sequence(struct sink *s, struct emit *e,
			       const struct ftile *ft)
{
	const struct cim_ternary_layer *l = s->l;
	unsigned int j, d, g, f;

	s->phase = PH_PROLOGUE;
	cim__ternary_sink_load(s, l->col_valid, 1, l->t.ap_rows, 0);
	chk(e, cim_ap_prog_km_clear(e->prog));
	chk(e, cim_ap_prog_km_set(e->prog, l->col_valid, 1));
	chk(e, cim_ap_prog_compare(e->prog, CIM_AP_CMP_SET));
	chk(e, cim_ap_prog_tagop(e->prog, CIM_AP_TAG_ROWEN));
	e->compares++;
	for (d = 0; d < ft->ndom; d++)
		for (g = l->agrp0; g < l->ngrp; g++) {
			em_shift(e, g, d);
			em_clear(e, grp_base(l, g), grp_width(l, g));
		}
	cim__ternary_sink_prog(s, e);
	for (j = 0; j < l->ngin; j++) {
		unsigned int gs = l->ntaps - j * l->g;
		int r;

		if (gs > l->g)
			gs = l->g;
		s->phase = PH_GROUP;
		s->j = j;
		cim__ternary_sink_load(s, 0, gs * l->b, s->nrows, in_off(l, j));
		r = emit_group(e, ft, j);
		if (r)
			return r;
		cim__ternary_sink_prog(s, e);
		if (s->err)
			return s->err;
	}
	/* Read-out */
	s->phase = PH_READOUT;
	if (l->d.out_mode == CIM_TERNARY_OUT_REQUANT) {
		for (f = ft->f0; f < ft->f1; f++) {
			const struct acc_slot *a = &l->acc[f];

			em_shift(e, a->grp, a->dom);
			if (l->d.out_shift < a->width)
				em_requant(e, grp_base(l, a->grp) + a->col,
					   a->width, l->d.out_shift, l->col_dst,
					   l->d.out_bits);
			else
				em_clear(e, l->col_dst, l->d.out_bits);
			cim__ternary_sink_prog(s, e);
			cim__ternary_sink_read(s, l->col_dst, l->d.out_bits,
					       out_off(l, f - ft->f0));
		}
	} else {
		for (d = 0; d < ft->ndom; d++) {
			for (g = l->agrp0; g < l->ngrp; g++)
				em_shift(e, g, d);
			if (l->d.out_mode == CIM_TERNARY_OUT_RELU)
				for (f = ft->f0; f < ft->f1; f++)
					if (l->acc[f].dom == d) {
						const struct acc_slot *a =
							&l->acc[f];

						chk(e, cim_ap_prog_relu(e->prog,
							grp_base(l, a->grp) +
							a->col, a->width));
						e->compares++;
						e->writes++;
					}
			cim__ternary_sink_prog(s, e);
			for (g = l->agrp0; g < l->ngrp; g++)
				cim__ternary_sink_read(s, grp_base(l, g),
					grp_width(l, g),
					out_off(l, d * (l->ngrp - l->agrp0) +
						g - l->agrp0));
		}
	}
	s->phase = PH_END;
	for (g = 0; g < l->ngrp; g++)
		em_shift(e, g, 0);
	chk(e, cim_ap_prog_tagop(e->prog, CIM_AP_TAG_ROWEN_ALL));
	cim__ternary_sink_prog(s, e);
	return s->err ? s->err : e->err;
}
