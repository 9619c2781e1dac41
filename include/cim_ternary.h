/* SPDX-License-Identifier: MIT */
/*
 * libcim ternary compiler: ternary-weight convolutions and fully connected
 * layers lowered to programs of the racetrack associative processors (AP).
 *
 * A layer y[p][f] = sum_t w[f][t] x[p][t] with w in {-1, 0, +1} and x
 * unsigned @in_bits-bit activations (im2col taps t) is compiled to
 * word-parallel AP programs: one AP row per output pixel, the taps unrolled
 * into straight-line ADD/SUB macros. Taps are grouped by @group (g); in
 * every group each distinct +-pattern used by the filters of a tile is
 * built once (canonical: first non-zero +1, built from its prefix by one
 * addition), then every filter adds or subtracts one partial sum per
 * non-zero group. group = 1 is plain ternary lowering (one add per
 * non-zero weight). Documentation/runtime/ternary.rst has the layout and
 * the lowering.
 *
 * Results are bit-true: cim_ternary_run() returns exactly the integer
 * convolution (or its ReLU, or its requantization).
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIM_TERNARY_H
#define CIM_TERNARY_H

#include <stdint.h>
#include <stdio.h>

#include "cim.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cim_ternary_out {
	CIM_TERNARY_OUT_ACC = 0,	/* the signed sums */
	CIM_TERNARY_OUT_RELU = 1,	/* max(sum, 0), by the RELU macro */
	CIM_TERNARY_OUT_REQUANT = 2,	/* clamp(sum >> shift, 0, 2^bits - 1) */
};

#define CIM_TERNARY_MAX_GROUP	6

/**
 * struct cim_ternary_desc - one ternary layer
 * @in_h, @in_w, @cin: input, HWC (a fully connected layer: 1, 1, inputs)
 * @cout: filters (outputs per pixel)
 * @k: square kernel (1 for fully connected)
 * @stride, @pad: >= 1, >= 0 (zero padding)
 * @in_bits: unsigned activation bits, 1..8; 0: 4
 * @group: taps per sharing group, 1..CIM_TERNARY_MAX_GROUP; 0: 4
 * @out_mode: enum cim_ternary_out
 * @out_shift, @out_bits: CIM_TERNARY_OUT_REQUANT (bits 1..16)
 */
struct cim_ternary_desc {
	unsigned int in_h, in_w, cin;
	unsigned int cout, k, stride, pad;
	unsigned int in_bits;
	unsigned int group;
	unsigned int out_mode;
	unsigned int out_shift, out_bits;
};

/* AP geometry the layer is compiled for (struct cim_info's ap_ fields) */
struct cim_ternary_target {
	unsigned int ap_count, ap_rows, ap_cols, ap_domains, ap_group_tracks;
};

/**
 * struct cim_ternary_stats - what a compiled layer costs, per image
 * @macs: multiply-accumulates of the dense layer (pixels x cout x taps)
 * @nonzero: non-zero weights
 * @adds_plain: scalar additions of plain ternary lowering: pixels x the
 *              non-zero weights
 * @adds_build: scalar additions that build shared partial sums
 * @adds_term: scalar additions of the partial sums into accumulators
 *             (adds_build + adds_term: after sharing)
 * @ap_adds: ADD macros executed (vector additions over AP rows)
 * @ap_insts: AP instructions
 * @compares, @writes: compare and write passes
 * @shift_steps: racetrack track-steps (domains x tracks shifted)
 * @shift_insts: SHIFT instructions
 * @io_bits: bits loaded into and read out of the APs
 * @row_tiles, @filter_tiles: tiling (filter tiles are spread over APs)
 * @cols_used: AP columns the layout uses; @domains_used: deepest domain+1
 * @acc_bits_max, @node_bits_max: widest accumulator and partial sum
 */
struct cim_ternary_stats {
	uint64_t macs, nonzero;
	uint64_t adds_plain, adds_build, adds_term;
	uint64_t ap_adds, ap_insts, compares, writes;
	uint64_t shift_steps, shift_insts, io_bits;
	unsigned int row_tiles, filter_tiles, cols_used, domains_used;
	unsigned int acc_bits_max, node_bits_max;
};

/**
 * struct cim_ternary_run_stats - what one cim_ternary_run() measured
 * @energy_fj, @device_time_ps: summed over its jobs
 * @jobs: jobs submitted
 * @counters: device counters after minus before (AP fields)
 */
struct cim_ternary_run_stats {
	uint64_t energy_fj, device_time_ps, jobs;
	struct cim_counters counters;
};

struct cim_ternary_layer;

/*
 * TWN ternarization of @cout filters of @n weights each (row-major):
 * per filter, delta = @ratio * mean |w| (0: 0.7), t = sign(w) where
 * |w| > delta else 0, alpha = mean |w| over those. @alpha may be NULL.
 */
CIM_EXTERN int cim_ternary_ternarize(const float *w, unsigned int cout, unsigned int n,
			  float ratio, int8_t *t, float *alpha);

/* The AP geometry of @dev; -ENODEV if it has no AP */
CIM_EXTERN int cim_ternary_target_of(struct cim_device *dev,
			  struct cim_ternary_target *t);

/*
 * Compile: @w holds cout x (k * k * cin) weights in {-1, 0, 1}, tap order
 * (ky, kx, ci). -EINVAL for a bad descriptor or weight, -E2BIG if the layout
 * does not fit the target, -ENOMEM.
 */
CIM_EXTERN int cim_ternary_compile(const struct cim_ternary_desc *d, const int8_t *w,
			const struct cim_ternary_target *t,
			struct cim_ternary_layer **out);
CIM_EXTERN void cim_ternary_destroy(struct cim_ternary_layer *l);

CIM_EXTERN void cim_ternary_out_dims(const struct cim_ternary_layer *l,
			  unsigned int *oh, unsigned int *ow);
CIM_EXTERN const struct cim_ternary_stats *
cim_ternary_stats(const struct cim_ternary_layer *l);

#define CIM_TERNARY_DUMP_ALL	(1u << 0)	/* every input group's program */

/* A readable listing: layout, statistics, programs */
CIM_EXTERN void cim_ternary_dump(const struct cim_ternary_layer *l, FILE *f,
		      unsigned int flags);
/* One AP instruction as text (at most @n bytes with the NUL) */
CIM_EXTERN void cim_ternary_disasm(const struct cim_ap_inst *in, char *buf, size_t n);

/*
 * Run on @dev (embedded or kernel; its geometry must be the target's; the
 * AP ports at offset 0, as after reset, and left so). Reserves the APs,
 * loads the im2col'ed bits of @in (in_h x in_w x cin bytes, < 2^in_bits),
 * runs the programs and reads the results: @out is oh x ow x cout. @rs may
 * be NULL.
 */
CIM_EXTERN int cim_ternary_run(const struct cim_ternary_layer *l, struct cim_device *dev,
		    const uint8_t *in, int32_t *out,
		    struct cim_ternary_run_stats *rs);

#ifdef __cplusplus
}
#endif

#endif /* CIM_TERNARY_H */
