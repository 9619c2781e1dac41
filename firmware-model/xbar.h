/* SPDX-License-Identifier: MIT */
/*
 * Memristor crossbar tiles: differential conductance pairs on a grid of
 * levels, pulse updates with soft bounds and variation, write-verify
 * programming, and the analog VMM with DAC, read noise and ADC.
 *
 * A weight is w = (G+ - G-) / (G_max - G_min), in [-1, 1]. Conductances
 * are held as level indices k (G = G_min + k * dG0, dG0 = (G_max - G_min) /
 * (levels - 1)), so the analog sum of DAC codes times level differences is
 * an integer that single precision holds exactly: the VMM result does not
 * depend on the summation order of the BLAS that computes it.
 */
#ifndef CIMFW_XBAR_H
#define CIMFW_XBAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cimfw.h"
#include "meter.h"
#include "rng.h"

enum cimfw_stuck {
	CIMFW_STUCK_NONE = 0,
	CIMFW_STUCK_LOW = 1,	/* stuck at G_min */
	CIMFW_STUCK_HIGH = 2,	/* stuck at G_max */
};

struct cimfw_xbar {
	const struct cimfw_config *cfg;
	unsigned int index;
	unsigned int rows;
	unsigned int cols;
	/* level index of G+ and G- per cell, row-major rows x cols */
	uint8_t *kp;
	uint8_t *km;
	/* kp - km as float, row-major, the operand of the VMM */
	float *kdiff;
	/* per device step factor 1 + sigma_d2d * xi, [cell][0 = G+, 1 = G-] */
	float *step;
	/* per device enum cimfw_stuck, [cell][2] */
	uint8_t *stuck;
	/* DUU accumulators in weight units, row-major */
	float *chi;
	/*
	 * kp + km summed along each whole row and column, for the VMM's
	 * array energy; rebuilt on use after any level changed
	 */
	uint32_t *lev_row;
	uint32_t *lev_col;
	bool lev_valid;
	struct cimfw_rng c2c;	/* pulse noise */
	struct cimfw_rng_lanes read;	/* read noise, drawn in bulk */
	/* scratch for the VMM and the DUU, grown to the largest call seen; bytes */
	float *scratch;
	size_t scratch_len;
};

/**
 * struct cimfw_xbar_win - a window of cells, already validated
 */
struct cimfw_xbar_win {
	unsigned int row;
	unsigned int nrows;
	unsigned int col;
	unsigned int ncols;
};

/* the top level index, L - 1 */
static inline unsigned int cimfw_xbar_top_level(const struct cimfw_xbar *xb)
{
	return xb->cfg->levels - 1;
}

/* the index of cell (r, c) in the row-major arrays */
static inline size_t cimfw_xbar_cell(const struct cimfw_xbar *xb,
				     unsigned int r, unsigned int c)
{
	return (size_t)r * xb->cols + c;
}

int cimfw_xbar_init(struct cimfw_xbar *xb, const struct cimfw_config *cfg,
		  unsigned int index);
void cimfw_xbar_fini(struct cimfw_xbar *xb);
/* every device back to G_min, chi zeroed, noise streams re-seeded */
void cimfw_xbar_reset(struct cimfw_xbar *xb);
/* cimfw_xbar_reset() after RESET pulses charged to @m (CIM_OP_SCRUB) */
void cimfw_xbar_scrub(struct cimfw_xbar *xb, struct cimfw_meter *m);

/*
 * Apply @n > 0 pulses to one device of cell (r, c): @dev 0 is G+, 1 is
 * G-; @up raises its conductance, otherwise lowers it. Returns the level
 * change actually made (signed). Stuck devices do not move.
 */
int cimfw_xbar_pulse(struct cimfw_xbar *xb, unsigned int r, unsigned int c,
		   int dev, bool up, unsigned int n);
/*
 * cimfw_xbar_pulse() in two steps, for callers that draw the noise of many
 * pulses first (in the stream's order) and apply them in parallel: the
 * draws of one call, then the pulse with them (n > 0). The apply step
 * touches only that cell; the caller invalidates xb->lev_valid if any
 * change is non-zero.
 */
void cimfw_xbar_pulse_draw(struct cimfw_xbar *xb, double *xi, double *u);
int cimfw_xbar_pulse_apply(struct cimfw_xbar *xb, unsigned int r, unsigned int c,
			 int dev, bool up, unsigned int n, double xi, double u);

/*
 * Batched VMM. Forward (!trans): in is batch x nrows, out batch x ncols.
 * Transposed: in is batch x ncols, out batch x nrows. With adc_fixed the
 * ADC full scale is adc_range, otherwise abs-max of each output vector.
 * Returns 0 or -ENOMEM.
 */
int cimfw_xbar_vmm(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		 bool trans, unsigned int batch, const float *in, float *out,
		 bool adc_fixed, float adc_range, struct cimfw_meter *m);

/* Write-verify: program weights w (nrows x ncols, each in [-1, 1]). */
void cimfw_xbar_program(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		      const float *w, unsigned int max_iters, float tol_levels,
		      struct cim_program_report *rep, struct cimfw_meter *m);

/* Exact read-back: weights, or (G+, G-) pairs in microsiemens. */
void cimfw_xbar_read_weights(const struct cimfw_xbar *xb,
			   const struct cimfw_xbar_win *win, float *w);
void cimfw_xbar_read_g(const struct cimfw_xbar *xb,
		     const struct cimfw_xbar_win *win, float *g_pairs);

#endif /* CIMFW_XBAR_H */
