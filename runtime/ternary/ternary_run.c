// SPDX-License-Identifier: MIT
/*
 * Running a compiled layer through libcim: the command sink (loads, AP
 * programs and reads into a command buffer, flushed as jobs), im2col of the
 * input into AP rows, and the accumulators' extraction into the output.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ternary_priv.h"

/* Flush a command buffer past this many bytes (the limit is 4 MiB) */
#define CB_FLUSH	(1u << 20)

/* Command sink ----------------------------------------------------------- */

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

void cim__ternary_sink_prog(struct sink *s, struct emit *e)
{
	unsigned int n = cim_ap_prog_count(e->prog);

	if (e->err && !s->err)
		s->err = e->err;
	if (n && s->dump)
		cim__ternary_sink_dump(s, e->prog);
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

void cim__ternary_sink_load(struct sink *s, unsigned int col,
			    unsigned int ncols, unsigned int nrows, size_t off)
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

void cim__ternary_sink_read(struct sink *s, unsigned int col,
			    unsigned int ncols, size_t off)
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

static unsigned int out_slots(const struct cim_ternary_layer *l)
{
	unsigned int a = l->t.ap_domains * (l->ngrp - l->agrp0), i, m = 0;

	for (i = 0; i < l->nft; i++)
		if (l->ft[i].f1 - l->ft[i].f0 > m)
			m = l->ft[i].f1 - l->ft[i].f0;
	return a > m ? a : m;
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
			r = cim__ternary_tile_sequence(&s, e, &l->ft[i]);
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
