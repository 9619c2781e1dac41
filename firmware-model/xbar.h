/* SPDX-License-Identifier: MIT */
/*
 * Memristor crossbar tiles: differential pairs of analog devices, pulse
 * updates with soft bounds and variation, relaxation, write-verify
 * programming, and the analog VMM with DAC, read noise and ADC.
 *
 * A weight is w = (G+ - G-) / (G_MAX - G_MIN) of the nominal range. Every
 * device has its own range and step, drawn once from the chip seed, and
 * holds a conductance in fixed point, a unit of 2^-16 G_MAX: the analog
 * sums of DAC codes times conductance differences are then integers,
 * computed exactly (xbar_vmm.c), so the VMM result does not depend on the
 * summation order of the BLAS that computes it.
 */
#ifndef CIMFW_XBAR_H
#define CIMFW_XBAR_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cimfw.h"
#include "meter.h"
#include "rng.h"

/* conductance units per nominal G_MAX, and the largest a device holds */
#define CIMFW_G_UNITS		65536
#define CIMFW_G_UNITS_MAX	(2 * CIMFW_G_UNITS - 1)
/*
 * A difference split as hi * CIMFW_G_SPLIT + lo, |hi| <= 512 and
 * |lo| <= 128: two single-precision operands whose products with DAC
 * codes sum exactly (xbar_vmm.c)
 */
#define CIMFW_G_SPLIT		256
#define CIMFW_G_HI_MAX		(2 * CIMFW_G_UNITS / CIMFW_G_SPLIT)

enum cimfw_stuck {
	CIMFW_STUCK_NONE = 0,
	CIMFW_STUCK_LOW = 1,	/* stuck at the device's G_min */
	CIMFW_STUCK_HIGH = 2,	/* stuck at the device's G_max */
};

/**
 * struct cimfw_relax - a tile's relaxation state, when its preset has one
 * @gp: each device's conductance right after its last pulse, units
 * @tprog: the device time of that pulse, ns (the grid of cimfw_xbar_now())
 * @nu: the power law's exponent drawn for that programming
 * @zeta: the random relaxation's deviate drawn for it
 */
struct cimfw_relax {
	int32_t *gp;
	uint64_t *tprog;
	float *nu;
	float *zeta;
};

/*
 * Devices are indexed d = 2 * cell + dev, dev 0 the G+ device and 1 the
 * G- device of the cell; cells row-major.
 */
struct cimfw_xbar {
	const struct cimfw_config *cfg;
	const uint64_t *clock_ns;	/* the device's clock */
	unsigned int index;
	unsigned int rows;
	unsigned int cols;
	double unit_us;		/* one conductance unit, microsiemens */
	double dg0;		/* the nominal pulse step, units */
	double range;		/* G_MAX - G_MIN, units: weight 1 */
	/* each device's conductance at the time @t_eval, units */
	int32_t *g;
	/* each device's own bounds, units */
	int32_t *gmin;
	int32_t *gmax;
	/* per device step factor 1 + sigma_d2d * xi */
	float *step;
	/* per device enum cimfw_stuck */
	uint8_t *stuck;
	/* G+ - G- per cell, row-major, and its split: the VMM's operands */
	double *gdiff;
	float *whi;
	float *wlo;
	/* NULL arrays when the preset has no relaxation */
	struct cimfw_relax relax;
	uint64_t t_eval;	/* the time @g is for, ns */
	/* DUU accumulators in weight units, row-major */
	float *chi;
	/*
	 * G+ + G- summed along each whole row and column, units, for the
	 * VMM's array energy; rebuilt on use after any device changed
	 */
	uint32_t *lev_row;
	uint32_t *lev_col;
	bool lev_valid;
	struct cimfw_rng c2c;	/* pulse noise */
	struct cimfw_rng_lanes read;	/* read noise, drawn in bulk */
	struct cimfw_rng verify;	/* write-verify read noise */
	/* scratch for the VMM and the DUU, grown to the largest call seen; bytes */
	void *scratch;
	size_t scratch_len;
};

/**
 * struct cimfw_program_stats - outcome of a write-verify
 * @rep: the packet's report counts
 * @sum_us, @sumsq_us, @max_us: of the residual e of each cell, the true
 *                              G+ - G- minus the target, microsiemens
 * @bin_us: the histogram's bin width
 * @hist: cells by e, as struct cim_program_residual's
 */
struct cimfw_program_stats {
	struct cim_program_report rep;
	double sum_us, sumsq_us, max_us, bin_us;
	uint32_t hist[CIM_PROGRAM_HIST_BINS];
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

/* the index of cell (r, c) in the row-major arrays */
static inline size_t cimfw_xbar_cell(const struct cimfw_xbar *xb,
				     unsigned int r, unsigned int c)
{
	return (size_t)r * xb->cols + c;
}

int cimfw_xbar_init(struct cimfw_xbar *xb, const struct cimfw_config *cfg,
		    const uint64_t *clock_ns, unsigned int index);
void cimfw_xbar_fini(struct cimfw_xbar *xb);
/* every device back to its G_min, chi zeroed, noise streams re-seeded */
void cimfw_xbar_reset(struct cimfw_xbar *xb);
/* cimfw_xbar_reset() after RESET pulses charged to @m (CIM_OP_SCRUB) */
void cimfw_xbar_scrub(struct cimfw_xbar *xb, struct cimfw_meter *m);

/*
 * Bring the devices' conductances to the device's clock (relaxation),
 * on a grid of times (xbar.c, eval_time()). A no-op without relaxation.
 */
void cimfw_xbar_age(struct cimfw_xbar *xb);

/*
 * Apply @n > 0 pulses to one device of cell (r, c): @dev 0 is G+, 1 is
 * G-; @up raises its conductance, otherwise lowers it. Returns the
 * change made, units (signed). Stuck devices do not move.
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
void cimfw_xbar_pulse_draw(struct cimfw_xbar *xb, double *xi, double *xi2);
int cimfw_xbar_pulse_apply(struct cimfw_xbar *xb, unsigned int r,
			   unsigned int c, int dev, bool up, unsigned int n,
			   double xi, double xi2);

/*
 * Put device @d at conductance @g units, clamped to its range, as if
 * programmed now (white-box tests and characterisation set states with it)
 */
void cimfw_xbar_set_g(struct cimfw_xbar *xb, size_t d, int32_t g);

/* device @d's conductance in nominal steps above the nominal G_MIN */
static inline double cimfw_xbar_level(const struct cimfw_xbar *xb, size_t d)
{
	return (xb->g[d] - xb->cfg->g_min_us / xb->unit_us) / xb->dg0;
}

/* the conductance of nominal level @k above G_MIN, units */
static inline int32_t cimfw_xbar_level_g(const struct cimfw_xbar *xb,
					 unsigned int k)
{
	return (int32_t)lround(xb->cfg->g_min_us / xb->unit_us + k * xb->dg0);
}

/*
 * Whether device @d can still move up (or down) under a pulse: not stuck,
 * and more than half a nominal step from its bound. A soft bound (gamma
 * 1) is only approached, never reached; within half a step of it the
 * device counts as saturated, as a device at the top level did.
 */
static inline bool cimfw_xbar_can_move(const struct cimfw_xbar *xb, size_t d,
				       bool up)
{
	if (xb->stuck[d] != CIMFW_STUCK_NONE)
		return false;
	return up ? xb->g[d] + 0.5 * xb->dg0 < xb->gmax[d] :
		    xb->g[d] - 0.5 * xb->dg0 > xb->gmin[d];
}

/*
 * Batched VMM. Forward (!trans): in is batch x nrows, out batch x ncols.
 * Transposed: in is batch x ncols, out batch x nrows. With adc_fixed the
 * ADC full scale is adc_range, otherwise abs-max of each output vector.
 * Returns 0 or -ENOMEM.
 */
int cimfw_xbar_vmm(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		   bool trans, unsigned int batch, const float *in, float *out,
		   bool adc_fixed, float adc_range, struct cimfw_meter *m);

/*
 * Write-verify: program weights w (nrows x ncols, each in [-1, 1]), each
 * device to within @tol_us of its target as its verify reads see it, in
 * at most @max_iters pulse rounds.
 */
void cimfw_xbar_program(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
			const float *w, unsigned int max_iters, double tol_us,
			struct cimfw_program_stats *st, struct cimfw_meter *m);

/* Exact read-back of the true state: weights, or (G+, G-) pairs in uS. */
void cimfw_xbar_read_weights(struct cimfw_xbar *xb,
			     const struct cimfw_xbar_win *win, float *w);
void cimfw_xbar_read_g(struct cimfw_xbar *xb,
		       const struct cimfw_xbar_win *win, float *g_pairs);

#endif /* CIMFW_XBAR_H */
