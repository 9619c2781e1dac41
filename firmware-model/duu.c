// SPDX-License-Identifier: MIT
/*
 * Digital update unit: chi accumulation and threshold-triggered transfer
 * (research note seed1, section 6; Documentation/model/crossbar.rst).
 */
#include <math.h>
#include <string.h>

#include "duu.h"

/*
 * tmp[j] += xi * d[j]. Vectorizing across j keeps the order of every
 * single element's sum (over b), so the result is the same bits as the
 * scalar loop.
 */
__attribute__((optimize("O3", "fp-contract=off")))
static void axpy_row(float *restrict tmp, const float *restrict d, float xi,
		     unsigned int n)
{
	unsigned int j;

	for (j = 0; j < n; j++)
		tmp[j] += xi * d[j];
}

__attribute__((optimize("O3", "fp-contract=off")))
static void sub_scaled(float *restrict chi, const float *restrict tmp,
		       float lr, unsigned int n)
{
	unsigned int j;

	for (j = 0; j < n; j++)
		chi[j] -= lr * tmp[j];
}

void cim_duu_accumulate(struct cim_xbar *xb, const struct cim_xbar_win *win,
			unsigned int batch, const float *x, const float *d,
			float lr, struct cim_meter *m)
{
	const struct cim_cost_params *cost = &xb->cfg->cost;
	float tmp[CIM_MAX_XBAR_DIM];
	unsigned int i, bi, nr = win->nrows, nc = win->ncols;
	double macs;
	float *chi;

	if (!batch)
		return;
	for (i = 0; i < nr; i++) {
		/* fixed order: the sum over the batch first, then one step */
		memset(tmp, 0, nc * sizeof(*tmp));
		for (bi = 0; bi < batch; bi++)
			axpy_row(tmp, d + (size_t)bi * nc,
				 x[(size_t)bi * nr + i], nc);
		chi = &xb->chi[(size_t)(win->row + i) * xb->cols + win->col];
		sub_scaled(chi, tmp, lr, nc);
	}
	macs = (double)batch * nr * nc;
	m->duu_macs += (uint64_t)batch * nr * nc;
	cim_meter_charge(m, CIM_UNIT_DUU, macs * cost->e_duu_mac_fj,
			 macs / cost->duu_macs_per_ns * 1e3);
}

struct transfer_acc {
	unsigned int pulsed, pos, neg, clamped, saturated;
};

/*
 * Move one cell by @n pulses (n != 0): n > 0 raises w, through G+ if it
 * can still rise, else by lowering G-. Returns the pulses applied.
 */
static unsigned int transfer_cell(struct cim_xbar *xb, unsigned int r,
				  unsigned int c, int n,
				  struct transfer_acc *acc)
{
	size_t cell = (size_t)r * xb->cols + c;
	unsigned int top = xb->cfg->levels - 1, np = n > 0 ? n : -n;
	/* the device that rises (main) and the one that falls (other) */
	int main_dev = n > 0 ? 0 : 1, other = 1 - main_dev;
	uint8_t km = main_dev ? xb->km[cell] : xb->kp[cell];
	uint8_t ko = other ? xb->km[cell] : xb->kp[cell];
	const uint8_t *st = &xb->stuck[2 * cell];

	if (km < top && st[main_dev] == CIM_STUCK_NONE) {
		cim_xbar_pulse(xb, r, c, main_dev, true, np);
	} else {
		acc->saturated++;
		if (ko == 0 || st[other] != CIM_STUCK_NONE)
			return 0;
		cim_xbar_pulse(xb, r, c, other, false, np);
	}
	acc->pulsed++;
	if (n > 0)
		acc->pos += np;
	else
		acc->neg += np;
	return np;
}

void cim_duu_transfer(struct cim_xbar *xb, const struct cim_xbar_win *win,
		      float eps, unsigned int n_max,
		      struct cim_duu_report *rep, struct cim_meter *m)
{
	const struct cim_cost_params *cost = &xb->cfg->cost;
	struct transfer_acc acc;
	unsigned int i, j, p, row_max, rows_pulses = 0;
	int n, lim = (int)n_max;
	float *chi, qf;

	memset(&acc, 0, sizeof(acc));
	if (!(eps > 0.0f))
		goto out;
	for (i = 0; i < win->nrows; i++) {
		chi = &xb->chi[(size_t)(win->row + i) * xb->cols + win->col];
		row_max = 0;
		for (j = 0; j < win->ncols; j++) {
			qf = chi[j] / eps;
			/* keep the conversion to int defined */
			qf = qf > 1e6f ? 1e6f : qf < -1e6f ? -1e6f : qf;
			n = (int)qf;
			if (!n)
				continue;
			if (n > lim || n < -lim) {
				acc.clamped++;
				n = n > 0 ? lim : -lim;
				if (!n)
					continue;
			}
			chi[j] -= (float)n * eps;
			p = transfer_cell(xb, win->row + i, win->col + j, n,
					  &acc);
			row_max = p > row_max ? p : row_max;
		}
		rows_pulses += row_max;
	}
out:
	m->pulses_pos += acc.pos;
	m->pulses_neg += acc.neg;
	/* rows one after another, the columns of a row in parallel */
	cim_meter_charge(m, CIM_UNIT_PULSE,
			 ((double)acc.pos + acc.neg) * cost->e_pulse_fj,
			 (double)rows_pulses * cost->t_pulse_ps);
	if (!rep)
		return;
	rep->cells_pulsed = acc.pulsed;
	rep->pulses_pos = acc.pos;
	rep->pulses_neg = acc.neg;
	rep->clamped = acc.clamped;
	rep->saturated = acc.saturated;
	rep->reserved = 0;
}
