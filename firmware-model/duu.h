/* SPDX-License-Identifier: MIT */
/*
 * Digital update unit: one high-precision accumulator chi per crossbar cell
 * and the threshold-triggered transfer of mixed-precision training
 * (research note seed1, section 6).
 */
#ifndef CIM_DUU_H
#define CIM_DUU_H

#include "xbar.h"

/* chi[i][j] -= lr * sum_b x[b][i] * d[b][j] over the window */
void cim_duu_accumulate(struct cim_xbar *xb, const struct cim_xbar_win *win,
			unsigned int batch, const float *x, const float *d,
			float lr, struct cim_meter *m);

/*
 * For each cell of the window: n = trunc(chi / eps), clamped to +-n_max;
 * chi -= n_applied * eps; n > 0 potentiates G+ (or depresses G- when G+ is
 * saturated), n < 0 the mirror image. @rep may be NULL.
 */
void cim_duu_transfer(struct cim_xbar *xb, const struct cim_xbar_win *win,
		      float eps, unsigned int n_max,
		      struct cim_duu_report *rep, struct cim_meter *m);

#endif /* CIM_DUU_H */
