// SPDX-License-Identifier: MIT
/*
 * Listings: one AP instruction as text, and a compiled layer's layout,
 * statistics and programs (a sink that prints what it is given).
 *
 * Copyright (C) 2026 The cim authors
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ternary_priv.h"

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

/* What a sink with @dump does with a program: print it, titled by phase */
void cim__ternary_sink_dump(struct sink *s, const struct cim_ap_prog *prog)
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
			if (cim__ternary_tile_sequence(&s, e, &l->ft[i]))
				break;
			if (!(flags & CIM_TERNARY_DUMP_ALL))
				break;
		}
		cim_ap_prog_destroy(e->prog);
	}
	free(e->off);
	free(e);
}
