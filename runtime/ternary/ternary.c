// SPDX-License-Identifier: MIT
/*
 * The ternary compiler: ternary convolutions and fully connected layers
 * lowered to AP programs, and their bit-true execution through libcim.
 *
 * Layout of one AP (column groups of T tracks, each with its own port
 * offset; Documentation/runtime/ternary.rst draws it):
 *
 *   group 0          the taps of one input group (g x b bits), the carry,
 *                    the requant scratch, the row-valid column and the
 *                    requant destination; never shifted
 *   groups 1..g-1    shared partial sums of 2..g non-zero taps: level k in
 *                    group k-1, packed first-fit over its domains
 *   groups g..       accumulators, one field per filter, packed first-fit
 *                    domain by domain; a group is shifted to the domain of
 *                    the accumulator it adds into
 *
 * Per input group j the runtime loads the g taps of every row (output
 * pixel), builds the partial sums its filters use, then adds one per
 * non-zero group into every accumulator, sweeping the accumulator domains
 * up and down alternately so the accumulator tracks move little.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cim_ternary.h"

#define MAX_CODES	729	/* 3^CIM_TERNARY_MAX_GROUP */
/* Flush a command buffer past this many bytes (the limit is 4 MiB) */
#define CB_FLUSH	(1u << 20)

struct acc_slot {
	unsigned int grp, dom, col, width;
};

struct ftile {
	unsigned int f0, f1;	/* filters [f0, f1) */
	unsigned int ndom;	/* accumulator domains used */
};

/* Per pattern code (base 3, digit i of tap i: 0 zero, 1 plus, 2 minus) */
struct code_info {
	uint8_t nnz, last, lastneg, sgn, width;
	uint16_t parent;
	int32_t lo, hi;
};

struct cim_ternary_layer {
	struct cim_ternary_desc d;
	struct cim_ternary_target t;
	int8_t *w;
	unsigned int ntaps, oh, ow, npix, ngin, g, b;
	unsigned int ngrp, agrp0;
	unsigned int col_carry, col_scratch, col_valid, col_dst;
	struct acc_slot *acc;
	struct ftile *ft;
	unsigned int nft;
	unsigned int rows, nrt;
	struct code_info *ci;
	unsigned int ncodes;
	struct cim_ternary_stats st;
};

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

static unsigned int grp_base(const struct cim_ternary_layer *l,
			     unsigned int g)
{
	return g * l->t.ap_group_tracks;
}

static unsigned int grp_width(const struct cim_ternary_layer *l,
			      unsigned int g)
{
	unsigned int b = grp_base(l, g);
	unsigned int w = l->t.ap_cols - b;

	return w < l->t.ap_group_tracks ? w : l->t.ap_group_tracks;
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

/* Digit code of filter f's pattern in input group j, canonical (first
 * non-zero positive); *neg set if it was negated */
static unsigned int pattern(const struct cim_ternary_layer *l, unsigned int f,
			    unsigned int j, bool *neg)
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

struct emit {
	const struct cim_ternary_layer *l;
	struct cim_ap_prog *prog;
	unsigned int *off;
	uint64_t compares, writes, shift_steps, shift_insts, adds;
	int err;
	/* per input group: node slots */
	uint8_t need[MAX_CODES];
	uint16_t ngrp_[MAX_CODES], ndom[MAX_CODES], ncol[MAX_CODES];
	uint16_t fcode[4096];
	uint8_t fneg[4096];
};

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

		c = pattern(l, f, j, &neg);
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

/* Command sink: a command buffer (run) or nothing (counting) ------------ */

struct sink {
	const struct cim_ternary_layer *l;
	struct cim_cmdbuf *cb;	/* NULL: count only */
	struct cim_buffer *in, *out;
	unsigned int ap, nrows;
	struct cim_ternary_run_stats *rs;
	uint64_t insts, io_bits;
	int err;
	/* dump: print the programs with a title */
	FILE *dump;
	unsigned int dump_flags, j, phase, readouts;
};

static void dump_prog(const struct cim_ap_prog *prog, FILE *f,
		      const char *title)
{
	const struct cim_ap_inst *in = cim_ap_prog_insts(prog);
	unsigned int i, n = cim_ap_prog_count(prog);
	char buf[128];

	fprintf(f, "  %s: %u instructions\n", title, n);
	for (i = 0; i < n; i++) {
		cim_ternary_disasm(&in[i], buf, sizeof(buf));
		fprintf(f, "    %5u  %s\n", i, buf);
	}
}

enum { PH_PROLOGUE, PH_GROUP, PH_READOUT, PH_END };

static void sink_dump(struct sink *s, const struct cim_ap_prog *prog)
{
	bool all = s->dump_flags & CIM_TERNARY_DUMP_ALL;
	char title[64];

	switch (s->phase) {
	case PH_PROLOGUE:
		dump_prog(prog, s->dump, "prologue (row enable, clear)");
		break;
	case PH_GROUP:
		if (!all && s->j > 1)
			return;
		snprintf(title, sizeof(title), "input group %u", s->j);
		dump_prog(prog, s->dump, title);
		if (!all && s->j == 1)
			fprintf(s->dump, "  ... input groups 2..%u alike\n",
				s->l->ngin - 1);
		break;
	case PH_READOUT:
		if (!all && s->readouts++)
			return;
		dump_prog(prog, s->dump, all ? "read-out step" :
			  "read-out step (first of several)");
		break;
	default:
		dump_prog(prog, s->dump, "epilogue (ports home)");
		break;
	}
}

static int sink_flush(struct sink *s)
{
	struct cim_job_result res;
	int r;

	if (!s->cb || s->err || !cim_cmdbuf_count(s->cb))
		return s->err;
	r = cim_run(s->cb, &res);
	cim_cmdbuf_reset(s->cb);
	if (r)
		return s->err = r;
	if (s->rs) {
		s->rs->energy_fj += res.energy_fj;
		s->rs->device_time_ps += res.device_time_ps;
		s->rs->jobs++;
	}
	return 0;
}

static void sink_check(struct sink *s)
{
	if (s->cb && !s->err && cim_cmdbuf_bytes(s->cb) > CB_FLUSH)
		sink_flush(s);
}

static void sink_prog(struct sink *s, struct emit *e)
{
	unsigned int n = cim_ap_prog_count(e->prog);

	if (e->err && !s->err)
		s->err = e->err;
	if (n && s->dump)
		sink_dump(s, e->prog);
	if (n && s->cb && !s->err) {
		sink_check(s);
		if (!s->err) {
			int r = cim_cmd_ap_program(s->cb, s->ap, e->prog);

			if (r)
				s->err = r;
		}
	}
	s->insts += n;
	cim_ap_prog_reset(e->prog);
}

static void sink_load(struct sink *s, unsigned int col, unsigned int ncols,
		      unsigned int nrows, size_t off)
{
	s->io_bits += (uint64_t)ncols * nrows;
	if (s->cb && !s->err) {
		int r;

		sink_check(s);
		r = cim_cmd_ap_load_rows(s->cb, s->ap, 0, nrows, col, ncols,
					 s->in, off);
		if (r && !s->err)
			s->err = r;
	}
}

static void sink_read(struct sink *s, unsigned int col, unsigned int ncols,
		      size_t off)
{
	s->io_bits += (uint64_t)ncols * s->nrows;
	if (s->cb && !s->err) {
		int r;

		sink_check(s);
		r = cim_cmd_ap_read(s->cb, s->ap, CIM_AP_READ_ROWS, 0,
				    s->nrows, col, ncols, s->out, off);
		if (r && !s->err)
			s->err = r;
	}
}

/* Words of the input buffer: the valid column, then nrows per group j */
static size_t in_off(const struct cim_ternary_layer *l, unsigned int j)
{
	return ((size_t)l->t.ap_rows + (size_t)j * l->rows) * 8;
}

/* Output buffer: per (domain, accumulator group) or per filter, nrows */
static size_t out_off(const struct cim_ternary_layer *l, unsigned int slot)
{
	return (size_t)slot * l->rows * 8;
}

static unsigned int out_slots(const struct cim_ternary_layer *l)
{
	unsigned int a = l->t.ap_domains * (l->ngrp - l->agrp0), i, m = 0;

	for (i = 0; i < l->nft; i++)
		if (l->ft[i].f1 - l->ft[i].f0 > m)
			m = l->ft[i].f1 - l->ft[i].f0;
	return a > m ? a : m;
}

/*
 * The whole sequence of one filter tile on one row tile: the valid column,
 * row enable and clearing, every input group, the read-out, the ports back
 * to 0. With a command buffer, commands go to it; always counted in @e.
 */
static int tile_sequence(struct sink *s, struct emit *e, const struct ftile *ft)
{
	const struct cim_ternary_layer *l = s->l;
	unsigned int j, d, g, f;

	s->phase = PH_PROLOGUE;
	sink_load(s, l->col_valid, 1, l->t.ap_rows, 0);
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
	sink_prog(s, e);
	for (j = 0; j < l->ngin; j++) {
		unsigned int gs = l->ntaps - j * l->g;
		int r;

		if (gs > l->g)
			gs = l->g;
		s->phase = PH_GROUP;
		s->j = j;
		sink_load(s, 0, gs * l->b, s->nrows, in_off(l, j));
		r = emit_group(e, ft, j);
		if (r)
			return r;
		sink_prog(s, e);
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
			sink_prog(s, e);
			sink_read(s, l->col_dst, l->d.out_bits,
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
			sink_prog(s, e);
			for (g = l->agrp0; g < l->ngrp; g++)
				sink_read(s, grp_base(l, g), grp_width(l, g),
					  out_off(l, d * (l->ngrp - l->agrp0) +
						  g - l->agrp0));
		}
	}
	s->phase = PH_END;
	for (g = 0; g < l->ngrp; g++)
		em_shift(e, g, 0);
	chk(e, cim_ap_prog_tagop(e->prog, CIM_AP_TAG_ROWEN_ALL));
	sink_prog(s, e);
	return s->err ? s->err : e->err;
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

		r = tile_sequence(&s, e, ft);
		if (r)
			goto out;
		/* term additions: one per non-zero group of every filter */
		for (f = ft->f0; f < ft->f1; f++)
			for (j = 0; j < l->ngin; j++) {
				bool neg;

				if (pattern(l, f, j, &neg))
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

/* Run -------------------------------------------------------------------- */

/* im2col of row tile @rt: group j's taps of pixel p at word j * rows + p */
static void im2col(const struct cim_ternary_layer *l, const uint8_t *in,
		   unsigned int rt, unsigned int nrows, uint64_t *words)
{
	const struct cim_ternary_desc *d = &l->d;
	unsigned int p, t;

	for (p = 0; p < l->t.ap_rows; p++)
		words[p] = p < nrows;
	words += l->t.ap_rows;
	memset(words, 0, (size_t)l->ngin * l->rows * 8);
	for (p = 0; p < nrows; p++) {
		unsigned int pix = rt * l->rows + p;
		unsigned int oy = pix / l->ow, ox = pix % l->ow;

		for (t = 0; t < l->ntaps; t++) {
			unsigned int ci = t % d->cin, kk = t / d->cin;
			int iy = (int)(oy * d->stride + kk / d->k) - (int)d->pad;
			int ix = (int)(ox * d->stride + kk % d->k) - (int)d->pad;
			uint64_t v;

			if (iy < 0 || ix < 0 || iy >= (int)d->in_h ||
			    ix >= (int)d->in_w)
				continue;
			v = in[((size_t)iy * d->in_w + ix) * d->cin + ci];
			words[(size_t)(t / l->g) * l->rows + p] |=
				v << ((t % l->g) * l->b);
		}
	}
}

static void extract(const struct cim_ternary_layer *l, const struct ftile *ft,
		    const uint64_t *o, unsigned int rt, unsigned int nrows,
		    int32_t *out)
{
	unsigned int f, p;

	for (f = ft->f0; f < ft->f1; f++) {
		const struct acc_slot *a = &l->acc[f];

		for (p = 0; p < nrows; p++) {
			size_t pix = (size_t)rt * l->rows + p;
			int64_t v;

			if (l->d.out_mode == CIM_TERNARY_OUT_REQUANT) {
				v = (int64_t)o[(size_t)(f - ft->f0) * l->rows +
					       p];
			} else {
				unsigned int slot = a->dom *
					(l->ngrp - l->agrp0) + a->grp -
					l->agrp0;
				uint64_t u = o[(size_t)slot * l->rows + p] >>
					     a->col;

				if (a->width < 64)
					u &= (1ull << a->width) - 1;
				v = (int64_t)u;
				if (a->width < 64 &&
				    (u >> (a->width - 1)) & 1)
					v -= (int64_t)1 << a->width;
			}
			out[pix * l->d.cout + f] = (int32_t)v;
		}
	}
}

int cim_ternary_run(const struct cim_ternary_layer *l, struct cim_device *dev,
		    const uint8_t *in, int32_t *out,
		    struct cim_ternary_run_stats *rs)
{
	struct cim_ternary_target t;
	struct cim_counters c0, c1;
	struct sink s = { .l = l, .rs = rs };
	struct emit *e = NULL;
	size_t insz, outsz;
	uint64_t mask;
	unsigned int rt, i;
	int r;

	if (!l || !dev || !in || !out)
		return -EINVAL;
	r = cim_ternary_target_of(dev, &t);
	if (r)
		return r;
	if (memcmp(&t, &l->t, sizeof(t)))
		return -EINVAL;
	for (i = 0; i < l->d.in_h * l->d.in_w * l->d.cin; i++)
		if (in[i] >> l->b)
			return -EINVAL;
	if (rs)
		memset(rs, 0, sizeof(*rs));
	mask = t.ap_count >= 64 ? ~0ull : (1ull << t.ap_count) - 1;
	r = cim_ap_reserve(dev, mask);
	if (r)
		return r;
	if (rs) {
		r = cim_device_counters(dev, &c0);
		if (r)
			goto out_release;
	}
	insz = in_off(l, l->ngin);
	outsz = out_off(l, out_slots(l));
	r = cim_buffer_alloc(dev, insz, &s.in);
	if (!r)
		r = cim_buffer_alloc(dev, outsz, &s.out);
	if (!r)
		r = cim_cmdbuf_create(dev, &s.cb);
	if (r)
		goto out_free;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->off = calloc(l->ngrp, sizeof(*e->off)))) {
		r = -ENOMEM;
		goto out_free;
	}
	e->l = l;
	r = cim_ap_prog_create(&e->prog);
	if (r)
		goto out_free;
	for (rt = 0; rt < l->nrt && !r; rt++) {
		unsigned int n = l->npix - rt * l->rows;

		s.nrows = n > l->rows ? l->rows : n;
		im2col(l, in, rt, s.nrows, cim_buffer_ptr(s.in));
		for (i = 0; i < l->nft && !r; i++) {
			s.ap = i % t.ap_count;
			memset(e->off, 0, l->ngrp * sizeof(*e->off));
			r = tile_sequence(&s, e, &l->ft[i]);
			if (!r)
				r = sink_flush(&s);
			if (!r)
				extract(l, &l->ft[i], cim_buffer_ptr(s.out),
					rt, s.nrows, out);
		}
	}
	if (!r && rs) {
		r = cim_device_counters(dev, &c1);
		if (!r) {
			rs->counters = c1;
			rs->counters.jobs -= c0.jobs;
			rs->counters.ap_compares -= c0.ap_compares;
			rs->counters.ap_writes -= c0.ap_writes;
			rs->counters.ap_bits_written -= c0.ap_bits_written;
			rs->counters.ap_shift_steps -= c0.ap_shift_steps;
			rs->counters.ap_io_bits -= c0.ap_io_bits;
			for (i = 0; i < CIM_UNIT_COUNT; i++) {
				rs->counters.energy_fj[i] -= c0.energy_fj[i];
				rs->counters.busy_ps[i] -= c0.busy_ps[i];
			}
			rs->counters.device_time_ps -= c0.device_time_ps;
		}
	}
out_free:
	if (e) {
		cim_ap_prog_destroy(e->prog);
		free(e->off);
		free(e);
	}
	cim_cmdbuf_destroy(s.cb);
	cim_buffer_free(s.in);
	cim_buffer_free(s.out);
out_release:
	cim_ap_release(dev, mask);
	return r;
}

/* Dump ------------------------------------------------------------------- */

void cim_ternary_disasm(const struct cim_ap_inst *in, char *buf, size_t n)
{
	static const char *const tagops[] = {
		"setall", "clear", "not", "swap", "save", "rowen", "rowen_all"
	};
	static const char *const cmps[] = { "set", "and", "or", "andn" };
	unsigned int i;
	size_t k;

	switch (in->op) {
	case CIM_AP_KM_CLEAR:
		snprintf(buf, n, "km_clear");
		break;
	case CIM_AP_KM_SET:
		k = (size_t)snprintf(buf, n, "km_set  ");
		for (i = 0; i < in->arg && i < 7 && k < n; i++)
			k += (size_t)snprintf(buf + k, n - k, " c%u=%u",
					      in->w[i] & CIM_AP_KM_COL_MASK,
					      !!(in->w[i] & CIM_AP_KM_BIT));
		break;
	case CIM_AP_COMPARE:
		snprintf(buf, n, "compare  %s", in->arg < 4 ? cmps[in->arg] : "?");
		break;
	case CIM_AP_WRITE:
		snprintf(buf, n, "write");
		break;
	case CIM_AP_SHIFT:
		snprintf(buf, n, "shift    g%u %+d", in->w[0], (int16_t)in->w[1]);
		break;
	case CIM_AP_TAGOP:
		snprintf(buf, n, "tagop    %s",
			 in->arg < 7 ? tagops[in->arg] : "?");
		break;
	case CIM_AP_ADD:
		snprintf(buf, n, "%s%s c%u:%u %s c%u:%u  carry c%u",
			 in->arg & CIM_AP_ADD_F_SUB ? "sub" : "add",
			 in->arg & CIM_AP_ADD_F_SIGNED ? ".s  " : "    ",
			 in->w[2], in->w[3],
			 in->arg & CIM_AP_ADD_F_SUB ? "-=" : "+=",
			 in->w[0], in->w[1], in->w[4]);
		break;
	case CIM_AP_RELU:
		snprintf(buf, n, "relu     c%u:%u", in->w[0], in->w[1]);
		break;
	case CIM_AP_REQUANT:
		snprintf(buf, n, "requant  c%u:%u = c%u:%u >> %u  scratch c%u",
			 in->w[3], in->w[4], in->w[0], in->w[1], in->w[2],
			 in->w[5]);
		break;
	case CIM_AP_CLEAR:
		snprintf(buf, n, "clear    c%u:%u", in->w[0], in->w[1]);
		break;
	case CIM_AP_COPY:
		snprintf(buf, n, "copy     c%u:%u = c%u:%u", in->w[2], in->w[1],
			 in->w[0], in->w[1]);
		break;
	default:
		snprintf(buf, n, "op 0x%02x arg %u", in->op, in->arg);
		break;
	}
}

void cim_ternary_dump(const struct cim_ternary_layer *l, FILE *f,
		      unsigned int flags)
{
	const struct cim_ternary_desc *d = &l->d;
	const struct cim_ternary_stats *st = &l->st;
	struct emit *e;
	unsigned int i;

	fprintf(f, "ternary layer: %ux%ux%u -> k%u s%u p%u -> %ux%ux%u, "
		"%u-bit inputs, group %u, output %s\n",
		d->in_h, d->in_w, d->cin, d->k, d->stride, d->pad, l->oh,
		l->ow, d->cout, l->b, l->g,
		d->out_mode == CIM_TERNARY_OUT_ACC ? "acc" :
		d->out_mode == CIM_TERNARY_OUT_RELU ? "relu" : "requant");
	fprintf(f, "target: %u APs x %u rows x %u cols, %u domains, "
		"groups of %u tracks\n", l->t.ap_count, l->t.ap_rows,
		l->t.ap_cols, l->t.ap_domains, l->t.ap_group_tracks);
	fprintf(f, "layout: group 0 = taps c0..c%u, carry c%u, scratch c%u, "
		"valid c%u, dst c%u", l->g * l->b - 1, l->col_carry,
		l->col_scratch, l->col_valid, l->col_dst);
	fprintf(f, "; partial sums: level k in group k-1 (groups 1..%u); "
		"accumulators: groups %u..%u\n", l->g - 1, l->agrp0,
		l->ngrp - 1);
	fprintf(f, "tiles: %u row tile(s) of %u rows, %u filter tile(s):",
		l->nrt, l->rows, l->nft);
	for (i = 0; i < l->nft; i++)
		fprintf(f, " [%u,%u) on AP %u, %u domains", l->ft[i].f0,
			l->ft[i].f1, i % l->t.ap_count, l->ft[i].ndom);
	fprintf(f, "\n");
	fprintf(f, "stats per image: MACs %" PRIu64 ", non-zero weights %"
		PRIu64 " (%.1f%% zeros)\n", st->macs, st->nonzero,
		100.0 * (1.0 - (double)st->nonzero /
			 ((double)l->d.cout * l->ntaps)));
	fprintf(f, "  additions: plain %" PRIu64 ", shared %" PRIu64
		" (build %" PRIu64 " + terms %" PRIu64 "), %.1f%% removed\n",
		st->adds_plain, st->adds_build + st->adds_term,
		st->adds_build, st->adds_term,
		st->adds_plain ? 100.0 * (1.0 - (double)(st->adds_build +
			st->adds_term) / (double)st->adds_plain) : 0.0);
	fprintf(f, "  AP: %" PRIu64 " ADD macros, %" PRIu64 " instructions, %"
		PRIu64 " compares, %" PRIu64 " writes, %" PRIu64
		" shifts (%" PRIu64 " track-steps), %" PRIu64 " I/O bits\n",
		st->ap_adds, st->ap_insts, st->compares, st->writes,
		st->shift_insts, st->shift_steps, st->io_bits);
	fprintf(f, "  widths: accumulators <= %u bits, partial sums <= %u "
		"bits; %u columns, %u accumulator domains\n",
		st->acc_bits_max, st->node_bits_max, st->cols_used,
		st->domains_used);
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->l = l;
	e->off = calloc(l->ngrp, sizeof(*e->off));
	if (e->off && !cim_ap_prog_create(&e->prog)) {
		struct sink s = { .l = l, .nrows = l->rows, .dump = f,
				  .dump_flags = flags };

		for (i = 0; i < l->nft; i++) {
			fprintf(f, "filter tile %u, filters [%u, %u):\n", i,
				l->ft[i].f0, l->ft[i].f1);
			memset(e->off, 0, l->ngrp * sizeof(*e->off));
			s.readouts = 0;
			if (tile_sequence(&s, e, &l->ft[i]))
				break;
			if (!(flags & CIM_TERNARY_DUMP_ALL))
				break;
		}
		cim_ap_prog_destroy(e->prog);
	}
	free(e->off);
	free(e);
}
