// SPDX-License-Identifier: MIT
/*
 * Memristor crossbar tiles: their state and its programming (the
 * variation drawn at power-on, reset and scrub, pulses, write-verify,
 * read-back). The VMM is in xbar_vmm.c, its vector kernels in
 * xbar_kern*.c. Documentation/model/crossbar.rst gives the equations and
 * the source of every parameter.
 *
 * Determinism: all randomness comes from per-tile streams of rng.c, drawn
 * in a fixed order, so the same commands give the same bits on every
 * x86-64 machine.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xbar.h"

static void seed_noise(struct cimfw_xbar *xb)
{
	uint64_t tag = (uint64_t)xb->index << 8;

	cimfw_rng_seed(&xb->c2c, xb->cfg->seed, CIMFW_RNG_C2C + tag);
	cimfw_rng_lanes_seed(&xb->read, xb->cfg->seed, CIMFW_RNG_READ + tag);
}

/* Per-device step factors and stuck map: drawn once, like the silicon. */
static void draw_variation(struct cimfw_xbar *xb)
{
	const struct cimfw_config *cfg = xb->cfg;
	uint64_t tag = (uint64_t)xb->index << 8;
	size_t d, ndev = (size_t)xb->rows * xb->cols * 2;
	struct cimfw_rng r;
	double s, u;

	cimfw_rng_seed(&r, cfg->seed, CIMFW_RNG_D2D + tag);
	for (d = 0; d < ndev; d++) {
		s = 1.0 + cfg->sigma_d2d * cimfw_rng_normal(&r);
		/* a step never vanishes or turns negative */
		xb->step[d] = (float)(s > 0.05 ? s : 0.05);
	}
	cimfw_rng_seed(&r, cfg->seed, CIMFW_RNG_STUCK + tag);
	for (d = 0; d < ndev; d++) {
		u = cimfw_rng_uniform(&r);
		if (u < 0.5 * cfg->stuck_prob)
			xb->stuck[d] = CIMFW_STUCK_LOW;
		else if (u < cfg->stuck_prob)
			xb->stuck[d] = CIMFW_STUCK_HIGH;
		else
			xb->stuck[d] = CIMFW_STUCK_NONE;
	}
}

void cimfw_xbar_reset(struct cimfw_xbar *xb)
{
	size_t i, ncells = (size_t)xb->rows * xb->cols;
	uint8_t top = (uint8_t)cimfw_xbar_top_level(xb);

	for (i = 0; i < ncells; i++) {
		xb->kp[i] = xb->stuck[2 * i] == CIMFW_STUCK_HIGH ? top : 0;
		xb->km[i] = xb->stuck[2 * i + 1] == CIMFW_STUCK_HIGH ? top : 0;
		xb->kdiff[i] = (float)xb->kp[i] - (float)xb->km[i];
	}
	memset(xb->chi, 0, ncells * sizeof(*xb->chi));
	xb->lev_valid = false;
	seed_noise(xb);
}

/*
 * SCRUB: a RESET pulse to every device not at level 0 that can move
 * (Documentation/model/cost.rst), then the power-on state. Timed as
 * write-verify is: the cells of a row in parallel, a cell's two devices
 * one after the other, rows one after another.
 */
void cimfw_xbar_scrub(struct cimfw_xbar *xb, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &xb->cfg->cost;
	unsigned int r, c, row_max, n, pulses = 0, steps = 0;
	size_t cell;

	for (r = 0; r < xb->rows; r++) {
		row_max = 0;
		for (c = 0; c < xb->cols; c++) {
			cell = cimfw_xbar_cell(xb, r, c);
			n = (xb->kp[cell] && !xb->stuck[2 * cell]) +
			    (xb->km[cell] && !xb->stuck[2 * cell + 1]);
			pulses += n;
			row_max = n > row_max ? n : row_max;
		}
		steps += row_max;
	}
	cimfw_meter_charge(m, CIM_UNIT_PULSE, (double)pulses * cost->e_pulse_fj,
			 (double)steps * cost->t_pulse_ps);
	cimfw_xbar_reset(xb);
}

int cimfw_xbar_init(struct cimfw_xbar *xb, const struct cimfw_config *cfg,
		  unsigned int index)
{
	size_t ncells = (size_t)cfg->xbar_rows * cfg->xbar_cols;

	memset(xb, 0, sizeof(*xb));
	xb->cfg = cfg;
	xb->index = index;
	xb->rows = cfg->xbar_rows;
	xb->cols = cfg->xbar_cols;
	xb->kp = malloc(ncells);
	if (!xb->kp)
		goto fail_kp;
	xb->km = malloc(ncells);
	if (!xb->km)
		goto fail_km;
	xb->kdiff = malloc(ncells * sizeof(*xb->kdiff));
	if (!xb->kdiff)
		goto fail_kdiff;
	xb->step = malloc(ncells * 2 * sizeof(*xb->step));
	if (!xb->step)
		goto fail_step;
	xb->stuck = malloc(ncells * 2);
	if (!xb->stuck)
		goto fail_stuck;
	xb->chi = malloc(ncells * sizeof(*xb->chi));
	if (!xb->chi)
		goto fail_chi;
	xb->lev_row = malloc(xb->rows * sizeof(*xb->lev_row));
	if (!xb->lev_row)
		goto fail_lev_row;
	xb->lev_col = malloc(xb->cols * sizeof(*xb->lev_col));
	if (!xb->lev_col)
		goto fail_lev_col;
	draw_variation(xb);
	cimfw_xbar_reset(xb);
	return 0;

fail_lev_col:
	free(xb->lev_row);
fail_lev_row:
	free(xb->chi);
fail_chi:
	free(xb->stuck);
fail_stuck:
	free(xb->step);
fail_step:
	free(xb->kdiff);
fail_kdiff:
	free(xb->km);
fail_km:
	free(xb->kp);
fail_kp:
	memset(xb, 0, sizeof(*xb));
	return -ENOMEM;
}

void cimfw_xbar_fini(struct cimfw_xbar *xb)
{
	free(xb->kp);
	free(xb->km);
	free(xb->kdiff);
	free(xb->step);
	free(xb->stuck);
	free(xb->chi);
	free(xb->lev_row);
	free(xb->lev_col);
	free(xb->scratch);
	memset(xb, 0, sizeof(*xb));
}

/* Pulses ---------------------------------------------------------------- */

void cimfw_xbar_pulse_draw(struct cimfw_xbar *xb, double *xi, double *u)
{
	*xi = xb->cfg->sigma_c2c > 0.0 ? cimfw_rng_normal(&xb->c2c) : 0.0;
	*u = cimfw_rng_uniform(&xb->c2c);
}

int cimfw_xbar_pulse(struct cimfw_xbar *xb, unsigned int r, unsigned int c,
		   int dev, bool up, unsigned int n)
{
	double xi, u;
	int change;

	if (!n)
		return 0;
	/* the same draws for every call, so the stream stays aligned */
	cimfw_xbar_pulse_draw(xb, &xi, &u);
	change = cimfw_xbar_pulse_apply(xb, r, c, dev, up, n, xi, u);
	if (change)
		xb->lev_valid = false;
	return change;
}

int cimfw_xbar_pulse_apply(struct cimfw_xbar *xb, unsigned int r, unsigned int c,
			 int dev, bool up, unsigned int n, double xi, double u)
{
	const struct cimfw_config *cfg = xb->cfg;
	size_t cell = cimfw_xbar_cell(xb, r, c), d = 2 * cell + (dev ? 1 : 0);
	uint8_t *k = dev ? &xb->km[cell] : &xb->kp[cell];
	double top = cimfw_xbar_top_level(xb), g, delta;
	int change, next;

	if (xb->stuck[d] != CIMFW_STUCK_NONE)
		return 0;

	g = *k / top;
	delta = xb->step[d] * (1.0 - cfg->gamma * (up ? g : 1.0 - g)) * n *
		(1.0 + cfg->sigma_c2c * xi / sqrt((double)n));
	if (!(delta > 0.0))
		return 0;
	/* stochastic rounding: a fractional step moves on average */
	delta = floor(delta + u);
	if (delta > top)
		delta = top;
	next = up ? *k + (int)delta : *k - (int)delta;
	if (next < 0)
		next = 0;
	if (next > (int)top)
		next = (int)top;
	change = next - *k;
	*k = (uint8_t)next;
	xb->kdiff[cell] = (float)xb->kp[cell] - (float)xb->km[cell];
	return change;
}

/* Write-verify ---------------------------------------------------------- */

struct program_acc {
	unsigned int pulses;
	unsigned int iters;	/* verify reads */
};

/*
 * Drive one device toward level @target: read, and while the error exceeds
 * the tolerance, pulse by the rounded error. Up to @max_iters pulse rounds,
 * each preceded by a verify read, and one final read. Returns true when the
 * device ends within tolerance.
 */
static bool program_device(struct cimfw_xbar *xb, unsigned int r,
			   unsigned int c, int dev, double target,
			   unsigned int max_iters, double tol,
			   struct program_acc *acc)
{
	const uint8_t *k = dev ? &xb->km[cimfw_xbar_cell(xb, r, c)] :
				 &xb->kp[cimfw_xbar_cell(xb, r, c)];
	unsigned int it;
	double e;
	long n;

	for (it = 0;; it++) {
		acc->iters++;
		e = target - *k;
		if (fabs(e) <= tol)
			return true;
		if (it == max_iters)
			return false;
		n = lround(fabs(e));
		n = n < 1 ? 1 : n > CIM_MAX_PULSES ? CIM_MAX_PULSES : n;
		cimfw_xbar_pulse(xb, r, c, dev, e > 0.0, (unsigned int)n);
		acc->pulses += (unsigned int)n;
	}
}

void cimfw_xbar_program(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		      const float *w, unsigned int max_iters, float tol_levels,
		      struct cim_program_report *rep, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &xb->cfg->cost;
	double top = cimfw_xbar_top_level(xb), row_t, t, time_ps = 0.0;
	struct program_acc all = { 0, 0 }, one;
	unsigned int i, j, failed = 0;
	double wv;
	bool ok;

	for (i = 0; i < win->nrows; i++) {
		row_t = 0.0;
		for (j = 0; j < win->ncols; j++) {
			wv = w[(size_t)i * win->ncols + j];
			one = (struct program_acc){ 0, 0 };
			ok = program_device(xb, win->row + i, win->col + j, 0,
					    (wv > 0.0 ? wv : 0.0) * top,
					    max_iters, tol_levels, &one);
			ok &= program_device(xb, win->row + i, win->col + j,
					     1, (wv < 0.0 ? -wv : 0.0) * top,
					     max_iters, tol_levels, &one);
			failed += !ok;
			/* the cells of a row are programmed in parallel */
			t = one.pulses * cost->t_pulse_ps +
			    one.iters * cost->t_verify_read_ps;
			row_t = t > row_t ? t : row_t;
			all.pulses += one.pulses;
			all.iters += one.iters;
		}
		time_ps += row_t;
	}
	rep->cells = win->nrows * win->ncols;
	rep->failed = failed;
	rep->pulses = all.pulses;
	rep->iterations = all.iters;
	m->program_pulses += all.pulses;
	cimfw_meter_charge(m, CIM_UNIT_PULSE, all.pulses * cost->e_pulse_fj,
			 time_ps);
}

/* Read-back ------------------------------------------------------------- */

void cimfw_xbar_read_weights(const struct cimfw_xbar *xb,
			   const struct cimfw_xbar_win *win, float *w)
{
	float top = (float)cimfw_xbar_top_level(xb);
	unsigned int i, j;

	for (i = 0; i < win->nrows; i++)
		for (j = 0; j < win->ncols; j++)
			*w++ = xb->kdiff[cimfw_xbar_cell(xb, win->row + i,
							 win->col + j)] / top;
}

void cimfw_xbar_read_g(const struct cimfw_xbar *xb,
		     const struct cimfw_xbar_win *win, float *g_pairs)
{
	const struct cimfw_config *cfg = xb->cfg;
	double dg = (cfg->g_max_us - cfg->g_min_us) / cimfw_xbar_top_level(xb);
	unsigned int i, j;
	size_t cell;

	for (i = 0; i < win->nrows; i++) {
		for (j = 0; j < win->ncols; j++) {
			cell = cimfw_xbar_cell(xb, win->row + i, win->col + j);
			*g_pairs++ = (float)(cfg->g_min_us + xb->kp[cell] * dg);
			*g_pairs++ = (float)(cfg->g_min_us + xb->km[cell] * dg);
		}
	}
}
