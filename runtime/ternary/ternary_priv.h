/* SPDX-License-Identifier: MIT */
/*
 * The ternary compiler's insides, shared by its files:
 *
 *   ternary.c        compile: descriptor checks, pattern tables, the
 *                    accumulator layout, the statistics
 *   ternary_lower.c  lowering: a filter tile's AP programs (partial sums,
 *                    terms, read-out) from the bit-serial macros
 *   ternary_run.c    the command sink and cim_ternary_run()
 *   ternary_dump.c   cim_ternary_disasm() and cim_ternary_dump()
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
#ifndef CIM_TERNARY_PRIV_H
#define CIM_TERNARY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cim_ternary.h"

#define MAX_CODES	729	/* 3^CIM_TERNARY_MAX_GROUP */

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

static inline unsigned int grp_base(const struct cim_ternary_layer *l,
				    unsigned int g)
{
	return g * l->t.ap_group_tracks;
}

static inline unsigned int grp_width(const struct cim_ternary_layer *l,
				     unsigned int g)
{
	unsigned int b = grp_base(l, g);
	unsigned int w = l->t.ap_cols - b;

	return w < l->t.ap_group_tracks ? w : l->t.ap_group_tracks;
}

/* Words of the input buffer: the valid column, then nrows per group j */
static inline size_t in_off(const struct cim_ternary_layer *l, unsigned int j)
{
	return ((size_t)l->t.ap_rows + (size_t)j * l->rows) * 8;
}

/* Output buffer: per (domain, accumulator group) or per filter, nrows */
static inline size_t out_off(const struct cim_ternary_layer *l,
			     unsigned int slot)
{
	return (size_t)slot * l->rows * 8;
}

/* Emission state of one filter tile's programs (ternary_lower.c) */
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

/* Command sink: a command buffer (run) or nothing (counting) */
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

/* The program a sink is given belongs to this part of the sequence */
enum { PH_PROLOGUE, PH_GROUP, PH_READOUT, PH_END };

/* ternary_lower.c */
unsigned int cim__ternary_pattern(const struct cim_ternary_layer *l,
				  unsigned int f, unsigned int j, bool *neg);
int cim__ternary_tile_sequence(struct sink *s, struct emit *e,
			       const struct ftile *ft);

/* ternary_run.c: the sink's commands */
void cim__ternary_sink_prog(struct sink *s, struct emit *e);
void cim__ternary_sink_load(struct sink *s, unsigned int col,
			    unsigned int ncols, unsigned int nrows, size_t off);
void cim__ternary_sink_read(struct sink *s, unsigned int col,
			    unsigned int ncols, size_t off);

/* ternary_dump.c: a sink's listing of @prog */
void cim__ternary_sink_dump(struct sink *s, const struct cim_ap_prog *prog);

#endif /* CIM_TERNARY_PRIV_H */
