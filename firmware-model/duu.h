/* SPDX-License-Identifier: MIT */
/*
 * Digital update unit: one high-precision accumulator chi per crossbar cell
 * and the threshold-triggered transfer of mixed-precision training
 * (research note seed1, section 6).
 */
#ifndef CIMFW_DUU_H
#define CIMFW_DUU_H

#include <stddef.h>

#include "xbar.h"

/* operand codes are integers in [-CIMFW_DUU_CODE_MAX, CIMFW_DUU_CODE_MAX] */
#define CIMFW_DUU_CODE_MAX	32767

/*
 * chi[i][j] -= (float)(lr * Sx * Sd * sum_b X[b][i] * D[b][j]) over the
 * window, with X, D the 16-bit codes of x and d (cimfw_duu_quantize(), one
 * scale per operand over the whole batch window); the sum is exact, so
 * the result does not depend on the BLAS kernel. A zero operand or lr
 * changes nothing. chi saturates at +-FLT_MAX: never infinite or NaN.
 */
void cimfw_duu_accumulate(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
			unsigned int batch, const float *x, const float *d,
			float lr, struct cimfw_meter *m);

/*
 * cimfw_duu_accumulate() with x the identity of win->nrows (batch = nrows,
 * d nrows x ncols): the same bits, with one product per cell, which is
 * what the meter counts.
 */
void cimfw_duu_accumulate_identity(struct cimfw_xbar *xb,
				 const struct cimfw_xbar_win *win,
				 const float *d, float lr,
				 struct cimfw_meter *m);

/* the operand scale: max |v| / CIMFW_DUU_CODE_MAX in binary64, 0 if all 0 */
double cimfw_duu_scale(const float *v, size_t n);
/* code = round-to-nearest-even(v / s), clipped to +-CIMFW_DUU_CODE_MAX */
void cimfw_duu_quantize(const float *v, size_t n, double s, double *code);

/*
 * For each cell of the window: n = trunc(chi / eps), clamped to +-n_max;
 * chi -= n_applied * eps; n > 0 potentiates G+ (or depresses G- when G+ is
 * saturated), n < 0 the mirror image. @rep may be NULL.
 */
void cimfw_duu_transfer(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		      float eps, unsigned int n_max,
		      struct cim_duu_report *rep, struct cimfw_meter *m);

#endif /* CIMFW_DUU_H */
