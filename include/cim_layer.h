/* SPDX-License-Identifier: MIT */
/*
 * libcim layers: a mixed-precision linear layer and a 2-D convolution on
 * top of the crossbar commands of cim.h.
 *
 * A linear layer of @in x @out weights is tiled across whole crossbars:
 * ceil(in / xbar_rows) x ceil(out / xbar_cols) tiles, one crossbar each.
 * The forward pass is y = x W (W is in x out, row-major, x one row per
 * sample); every tile computes its analog VMM and the host adds the
 * partial sums of the row tiles in float, in a fixed order, so the result
 * is deterministic. The backward pass is dx = dy W^T on the same cells
 * (transposed VMM), and the update W -= lr * x^T dy runs in the digital
 * update unit (DUU) of every tile, which pulses a device only when its
 * accumulated update crosses the threshold epsilon.
 *
 * Weights are signed: the device holds w / w_max in [-1, 1] on a
 * differential pair; user weights beyond +-w_max are clipped when they are
 * imported. Outputs are scaled back by w_max, the learning rate and the
 * threshold are scaled by 1 / w_max, so every number of this API is in
 * user units.
 *
 * Every call returns 0 or a negative errno, and a call that fails with
 * -EINVAL has changed nothing (outputs, device weights, DUU accumulators).
 * Each call that runs on the device builds (or reuses) one command buffer,
 * submits it once and waits once; buffers are allocated at create time
 * only.
 *
 * Device reset: the crossbars and the DUU accumulators are cleared. The
 * first call of a layer that meets the reset returns -ECANCELED, and the
 * layer then refuses to compute (-ECANCELED again) until
 * cim_linear_reprogram() has written back its host shadow: the weights of
 * the last cim_linear_import() or cim_linear_export(). Training between
 * the last export and the reset is lost; export to checkpoint. With
 * several layers on one device handle, each learns of the reset on its
 * next call, also after another layer's cim_linear_reprogram() has
 * acknowledged it for the handle (cim_device_check()).
 *
 * A layer is used by one thread at a time. Documentation/runtime/layers.rst
 * has the details.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIM_LAYER_H
#define CIM_LAYER_H

#include "cim.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct cim_linear_options - how to build a layer (grows by appending)
 * @size: sizeof(struct cim_linear_options) of the caller
 * @flags: none defined yet, 0
 * @lr: learning rate, finite, >= 0
 * @epsilon: DUU transfer threshold in user weight units, finite, >= 0;
 *           0 selects one conductance level (w_max / (levels - 1))
 * @n_max: most pulses per cell and transfer, 1..CIM_MAX_PULSES
 * @w_max: user weight that maps to device weight 1, finite, > 0
 * @batch_max: largest batch of one call, 1..max_batch of the device
 * @xbar_mask: crossbars the layer may use (bit n: crossbar n), 0 for all;
 *             the layer reserves the lowest ones it needs. Layers sharing a
 *             device handle must be given disjoint masks: reserving a unit
 *             the handle holds already succeeds.
 * @prog_iters: write-verify rounds per cell, 1..64 (0: 20)
 * @prog_tol: write-verify tolerance in levels, (0, 8] (0: 0.5)
 */
struct cim_linear_options {
	uint32_t size;
	uint32_t flags;
	float lr;
	float epsilon;
	unsigned int n_max;
	float w_max;
	unsigned int batch_max;
	uint64_t xbar_mask;
	unsigned int prog_iters;
	float prog_tol;
};

/* Fill @opts with the defaults: lr 0.01, epsilon 0, n_max 31, w_max 1,
 * batch_max 64, every crossbar, 20 rounds at 0.5 levels. */
CIM_EXTERN void cim_linear_options_default(struct cim_linear_options *opts);

/**
 * struct cim_program_stats - outcome of a write-verify programming
 * @cells: cells programmed, in * out
 * @failed: cells outside the tolerance after the last round
 * @pulses: programming pulses
 */
struct cim_program_stats {
	uint64_t cells;
	uint64_t failed;
	uint64_t pulses;
};

struct cim_linear;

/*
 * Reserve the crossbars, allocate the buffers and program every weight to
 * 0 (after a transfer that empties the accumulators of whatever used the
 * crossbars before). -E2BIG if the usable crossbars are too few, -EBUSY if
 * another handle holds one of them, -EINVAL for a bad argument. Keeps a
 * reference to @dev.
 */
CIM_EXTERN int cim_linear_create(struct cim_device *dev, unsigned int in,
				 unsigned int out,
				 const struct cim_linear_options *opts,
				 struct cim_linear **l);
/* Release the crossbars reserved by create, free everything; NULL is ok. */
CIM_EXTERN void cim_linear_destroy(struct cim_linear *l);

CIM_EXTERN unsigned int cim_linear_in(const struct cim_linear *l);
CIM_EXTERN unsigned int cim_linear_out(const struct cim_linear *l);
/* Tiles (crossbars) the layer uses. */
CIM_EXTERN unsigned int cim_linear_tiles(const struct cim_linear *l);
/* Learning rate of later updates: finite, >= 0. */
CIM_EXTERN int cim_linear_set_lr(struct cim_linear *l, float lr);

/* y[batch][out] = x[batch][in] W. Inputs must be finite. */
CIM_EXTERN int cim_linear_forward(struct cim_linear *l, const float *x,
				  unsigned int batch, float *y);
/* dx[batch][in] = dy[batch][out] W^T. */
CIM_EXTERN int cim_linear_backward(struct cim_linear *l, const float *dy,
				   unsigned int batch, float *dx);
/*
 * W -= lr * x^T dy, through the DUU: accumulate, then transfer what
 * crossed epsilon (n_max pulses at most; the rest stays accumulated).
 */
CIM_EXTERN int cim_linear_update(struct cim_linear *l, const float *x,
				 const float *dy, unsigned int batch);
/*
 * W -= lr * g for a gradient the host computed (g: in x out, finite; for
 * example with momentum or weight decay applied), through the DUU with an
 * identity x (CIM_DUU_F_X_IDENTITY): the same accumulation and transfer
 * as cim_linear_update() with x = I and dy = g, one DUU product per
 * weight instead of in per weight, and no batch_max limit.
 */
CIM_EXTERN int cim_linear_update_grad(struct cim_linear *l, const float *g);

/*
 * Program W (in x out floats, row-major, user units, finite; clipped to
 * +-w_max) by write-verify, after a transfer of the pending updates, and
 * keep a copy as the host shadow. @stats may be NULL.
 */
CIM_EXTERN int cim_linear_import(struct cim_linear *l, const float *w,
				 struct cim_program_stats *stats);
/* Read the weights back (exactly, no converter), in user units, into
 * @w (in x out) and into the host shadow. */
CIM_EXTERN int cim_linear_export(struct cim_linear *l, float *w);
/* Read the conductance pairs (G+, G-), microsiemens: in x out x 2 floats. */
CIM_EXTERN int cim_linear_read_conductance(struct cim_linear *l, float *g);

/* 1 while the layer has lost its weights to a device reset, else 0. */
CIM_EXTERN int cim_linear_weights_lost(const struct cim_linear *l);
/*
 * Acknowledge a reset (cim_device_check()) and program the host shadow
 * again. Also valid when nothing was lost: it then rolls the weights back
 * to the shadow. -ENODEV/-EBADFD if the device is gone.
 */
CIM_EXTERN int cim_linear_reprogram(struct cim_linear *l,
				    struct cim_program_stats *stats);

/* Convolution ------------------------------------------------------------ */

/**
 * struct cim_conv2d_shape - a 2-D convolution, NCHW
 * @in_ch: input channels C
 * @out_ch: output channels (filters)
 * @in_h: input height
 * @in_w: input width
 * @k_h: kernel height
 * @k_w: kernel width
 * @stride: the same both ways, >= 1
 * @pad: zero padding on every side
 *
 * Output size: oh = (in_h + 2 pad - k_h) / stride + 1, likewise ow; both
 * must be >= 1.
 */
struct cim_conv2d_shape {
	unsigned int in_ch;
	unsigned int out_ch;
	unsigned int in_h;
	unsigned int in_w;
	unsigned int k_h;
	unsigned int k_w;
	unsigned int stride;
	unsigned int pad;
};

struct cim_conv2d;

/*
 * A convolution by im2col on a linear layer of (C k_h k_w) x out_ch: every
 * output pixel of every image is one row of the layer's batch. @opts as
 * for a linear layer, except that @batch_max counts images; calls whose
 * rows exceed the device's max_batch run as several linear calls (the
 * update transfers once, after the last).
 */
CIM_EXTERN int cim_conv2d_create(struct cim_device *dev,
				 const struct cim_conv2d_shape *shape,
				 const struct cim_linear_options *opts,
				 struct cim_conv2d **c);
CIM_EXTERN void cim_conv2d_destroy(struct cim_conv2d *c);
/* The layer underneath, for set_lr, weights_lost, reprogram, read-back. */
CIM_EXTERN struct cim_linear *cim_conv2d_linear(struct cim_conv2d *c);
CIM_EXTERN void cim_conv2d_out_size(const struct cim_conv2d *c,
				    unsigned int *oh, unsigned int *ow);

/* y[n][out_ch][oh][ow] from x[n][in_ch][in_h][in_w] */
CIM_EXTERN int cim_conv2d_forward(struct cim_conv2d *c, const float *x,
				  unsigned int n, float *y);
/* dx (NCHW, like x) from dy (like y) */
CIM_EXTERN int cim_conv2d_backward(struct cim_conv2d *c, const float *dy,
				   unsigned int n, float *dx);
CIM_EXTERN int cim_conv2d_update(struct cim_conv2d *c, const float *x,
				 const float *dy, unsigned int n);
/*
 * The weight gradient on the host, for an optimiser that keeps its state
 * there (then cim_linear_update_grad() on cim_conv2d_linear()): gw[r][o],
 * r = (c k_h + ky) k_w + kx, the sum over images and output pixels of
 * x's patch value r times dy[.][o], in the linear layer's in x out_ch
 * layout. The patch rows are cut into a fixed number of parts summed in
 * order, so the bits do not depend on the thread count.
 */
CIM_EXTERN int cim_conv2d_weight_grad(struct cim_conv2d *c, const float *x,
				      const float *dy, unsigned int n,
				      float *gw);
/* Filters as [out_ch][in_ch][k_h][k_w] (PyTorch's layout). */
CIM_EXTERN int cim_conv2d_import(struct cim_conv2d *c, const float *w,
				 struct cim_program_stats *stats);
CIM_EXTERN int cim_conv2d_export(struct cim_conv2d *c, float *w);

#ifdef __cplusplus
}
#endif

#endif /* CIM_LAYER_H */
