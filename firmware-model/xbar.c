// SPDX-License-Identifier: MIT
/*
 * Memristor crossbar tiles: their state and its programming (the
 * variation drawn at power-on, reset and scrub, pulses, relaxation,
 * write-verify, read-back). The VMM is in xbar_vmm.c, its vector kernels
 * in xbar_kern*.c. Documentation/model/crossbar.rst gives the equations,
 * Documentation/model/devices.rst the source of every parameter.
 *
 * Determinism: all randomness comes from per-tile streams of rng.c, drawn
 * in a fixed order, and the arithmetic is IEEE basic operations only (the
 * relaxation's logarithm and power included), so the same commands give
 * the same bits on every machine.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xbar.h"

#define LN2	0x1.62e42fefa39efp-1
#define LN10	0x1.26bb1bbb55516p+1

static void seed_noise(struct cimfw_xbar *xb)
{
	uint64_t tag = (uint64_t)xb->index << 8;

	cimfw_rng_seed(&xb->c2c, xb->cfg->seed, CIMFW_RNG_C2C + tag);
	cimfw_rng_lanes_seed(&xb->read, xb->cfg->seed, CIMFW_RNG_READ + tag);
	cimfw_rng_seed(&xb->verify, xb->cfg->seed, CIMFW_RNG_VERIFY + tag);
}

static int32_t clamp_units(double v)
{
	v = floor(v + 0.5);
	if (v < 0.0)
		return 0;
	if (v > CIMFW_G_UNITS_MAX)
		return CIMFW_G_UNITS_MAX;
	return (int32_t)v;
}

/*
 * Per-device ranges, step factors and stuck map: drawn once, like the
 * silicon. A device's range is at least one nominal step wide.
 */
static void draw_variation(struct cimfw_xbar *xb)
{
	const struct cimfw_config *cfg = xb->cfg;
	uint64_t tag = (uint64_t)xb->index << 8;
	size_t d, ndev = (size_t)xb->rows * xb->cols * 2;
	double lo = cfg->g_min_us / xb->unit_us, sr = cfg->sigma_range;
	struct cimfw_rng r;
	double s, u, a, b;

	cimfw_rng_seed(&r, cfg->seed, CIMFW_RNG_D2D + tag);
	for (d = 0; d < ndev; d++) {
		s = 1.0 + cfg->sigma_d2d * cimfw_rng_normal(&r);
		/* a step never vanishes or turns negative */
		xb->step[d] = (float)(s > 0.05 ? s : 0.05);
	}
	cimfw_rng_seed(&r, cfg->seed, CIMFW_RNG_RANGE + tag);
	for (d = 0; d < ndev; d++) {
		a = lo + sr * xb->range * cimfw_rng_normal(&r);
		b = lo + xb->range + sr * xb->range * cimfw_rng_normal(&r);
		xb->gmin[d] = clamp_units(a);
		xb->gmax[d] = clamp_units(b);
		if (xb->gmax[d] < xb->gmin[d] + (int32_t)ceil(xb->dg0))
			xb->gmax[d] = clamp_units(xb->gmin[d] + ceil(xb->dg0));
		if (xb->gmax[d] <= xb->gmin[d])
			xb->gmin[d] = xb->gmax[d] - 1;
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

static bool has_relax(const struct cimfw_config *cfg)
{
	return cfg->relax_nu > 0.0 || cfg->relax_nu_sigma > 0.0 ||
	       cfg->relax_sigma_us > 0.0;
}

static void set_diff(struct cimfw_xbar *xb, size_t cell)
{
	int32_t v = xb->g[2 * cell] - xb->g[2 * cell + 1];
	/* round half away from zero; lo = v - hi * split */
	int32_t hi = (v >= 0 ? v + CIMFW_G_SPLIT / 2 : v - CIMFW_G_SPLIT / 2) /
		     CIMFW_G_SPLIT;

	xb->gdiff[cell] = v;
	xb->whi[cell] = (float)hi;
	xb->wlo[cell] = (float)(v - hi * CIMFW_G_SPLIT);
}

void cimfw_xbar_reset(struct cimfw_xbar *xb)
{
	size_t i, d, ncells = (size_t)xb->rows * xb->cols;

	for (d = 0; d < 2 * ncells; d++) {
		xb->g[d] = xb->stuck[d] == CIMFW_STUCK_HIGH ? xb->gmax[d] :
			   xb->gmin[d];
		if (xb->relax.gp) {
			xb->relax.gp[d] = xb->g[d];
			xb->relax.tprog[d] = 0;
			xb->relax.nu[d] = 0.0f;
			xb->relax.zeta[d] = 0.0f;
		}
	}
	for (i = 0; i < ncells; i++)
		set_diff(xb, i);
	xb->t_eval = 0;
	memset(xb->chi, 0, ncells * sizeof(*xb->chi));
	xb->lev_valid = false;
	seed_noise(xb);
}

/*
 * SCRUB: a RESET pulse to every device above its G_min that can move
 * (Documentation/model/cost.rst), then the power-on state. Timed as
 * write-verify is: the cells of a row in parallel, a cell's two devices
 * one after the other, rows one after another.
 */
void cimfw_xbar_scrub(struct cimfw_xbar *xb, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &xb->cfg->cost;
	unsigned int r, c, row_max, n, pulses = 0, steps = 0;
	size_t d;

	for (r = 0; r < xb->rows; r++) {
		row_max = 0;
		for (c = 0; c < xb->cols; c++) {
			d = 2 * cimfw_xbar_cell(xb, r, c);
			n = cimfw_xbar_can_move(xb, d, false) +
			    cimfw_xbar_can_move(xb, d + 1, false);
			pulses += n;
			row_max = n > row_max ? n : row_max;
		}
		steps += row_max;
	}
	cimfw_meter_charge(m, CIM_UNIT_PULSE, (double)pulses * cost->e_pulse_fj,
			   (double)steps * cost->t_pulse_ps);
	cimfw_xbar_reset(xb);
}

static void relax_free(struct cimfw_relax *rx)
{
	free(rx->gp);
	free(rx->tprog);
	free(rx->nu);
	free(rx->zeta);
	memset(rx, 0, sizeof(*rx));
}

static int relax_alloc(struct cimfw_relax *rx, size_t ndev)
{
	rx->gp = malloc(ndev * sizeof(*rx->gp));
	rx->tprog = malloc(ndev * sizeof(*rx->tprog));
	rx->nu = malloc(ndev * sizeof(*rx->nu));
	rx->zeta = malloc(ndev * sizeof(*rx->zeta));
	if (rx->gp && rx->tprog && rx->nu && rx->zeta)
		return 0;
	relax_free(rx);
	return -ENOMEM;
}

int cimfw_xbar_init(struct cimfw_xbar *xb, const struct cimfw_config *cfg,
		    const uint64_t *clock_ns, unsigned int index)
{
	size_t ncells = (size_t)cfg->xbar_rows * cfg->xbar_cols;
	size_t ndev = 2 * ncells;

	memset(xb, 0, sizeof(*xb));
	xb->cfg = cfg;
	xb->clock_ns = clock_ns;
	xb->index = index;
	xb->rows = cfg->xbar_rows;
	xb->cols = cfg->xbar_cols;
	xb->unit_us = cfg->g_max_us / CIMFW_G_UNITS;
	xb->range = (cfg->g_max_us - cfg->g_min_us) / xb->unit_us;
	xb->dg0 = xb->range / (cfg->levels - 1);
	xb->g = malloc(ndev * sizeof(*xb->g));
	xb->gmin = malloc(ndev * sizeof(*xb->gmin));
	xb->gmax = malloc(ndev * sizeof(*xb->gmax));
	xb->step = malloc(ndev * sizeof(*xb->step));
	xb->stuck = malloc(ndev);
	xb->gdiff = malloc(ncells * sizeof(*xb->gdiff));
	xb->whi = malloc(ncells * sizeof(*xb->whi));
	xb->wlo = malloc(ncells * sizeof(*xb->wlo));
	xb->chi = malloc(ncells * sizeof(*xb->chi));
	xb->lev_row = malloc(xb->rows * sizeof(*xb->lev_row));
	xb->lev_col = malloc(xb->cols * sizeof(*xb->lev_col));
	if (!xb->g || !xb->gmin || !xb->gmax || !xb->step || !xb->stuck ||
	    !xb->gdiff || !xb->whi || !xb->wlo || !xb->chi || !xb->lev_row || !xb->lev_col ||
	    (has_relax(cfg) && relax_alloc(&xb->relax, ndev))) {
		cimfw_xbar_fini(xb);
		return -ENOMEM;
	}
	draw_variation(xb);
	cimfw_xbar_reset(xb);
	return 0;
}

void cimfw_xbar_fini(struct cimfw_xbar *xb)
{
	free(xb->g);
	free(xb->gmin);
	free(xb->gmax);
	free(xb->step);
	free(xb->stuck);
	free(xb->gdiff);
	free(xb->whi);
	free(xb->wlo);
	free(xb->chi);
	free(xb->lev_row);
	free(xb->lev_col);
	free(xb->scratch);
	relax_free(&xb->relax);
	memset(xb, 0, sizeof(*xb));
}

/* Relaxation ------------------------------------------------------------ */

/* ln(v) for v >= 1 with IEEE basic operations: the same bits everywhere */
static double ln_det(double v)
{
	double m, s, s2, t = 0.0;
	int e, k;

	m = frexp(v, &e);		/* exact: [0.5, 1) */
	if (m < 0x1.6a09e667f3bcdp-1) {	/* sqrt(1/2) */
		m = m + m;
		e--;
	}
	/* ln m = 2 atanh(s), |s| < 0.172: 13 terms reach 1e-20 */
	s = (m - 1.0) / (m + 1.0);
	s2 = s * s;
	for (k = 25; k >= 1; k -= 2)
		t = t * s2 + 1.0 / k;
	return 2.0 * s * t + e * LN2;
}

/* exp(x) for -700 < x <= 0, likewise */
static double exp_det(double x)
{
	double kf = floor(x / LN2 + 0.5), r = x - kf * LN2, t = 1.0;
	int k;

	/* |r| <= ln 2 / 2: 18 terms of the series reach 1e-20 */
	for (k = 18; k >= 1; k--)
		t = 1.0 + t * r / k;
	return ldexp(t, (int)kf);
}

/*
 * The time relaxation is evaluated at: the clock on a grid of steps of
 * t0 / 16 or of 1/16 of the clock, whichever is coarser. The conductances
 * move only when the grid does, so a VMM does not re-evaluate the power
 * law of every device at every job, and a device programmed at time t is
 * seen to relax from the next grid point on.
 */
static uint64_t eval_time(const struct cimfw_xbar *xb)
{
	uint64_t now = *xb->clock_ns, step, rel;
	double t0 = xb->cfg->relax_t0_s * 1e9 / 16.0;

	step = t0 >= 1.0 ? (uint64_t)t0 : 1;
	rel = now >> 4;
	/* a power of two: the grid points of one size nest */
	while (rel & (rel - 1))
		rel &= rel - 1;
	step = step > rel ? step : rel;
	return now - now % step;
}

/* the conductance of relaxing device @d at time @t */
static int32_t relaxed(const struct cimfw_xbar *xb, size_t d, uint64_t t)
{
	const struct cimfw_config *cfg = xb->cfg;
	const struct cimfw_relax *rx = &xb->relax;
	double x, ln1x, g;

	if (xb->stuck[d] != CIMFW_STUCK_NONE || t <= rx->tprog[d])
		return rx->gp[d];
	x = (double)(t - rx->tprog[d]) / (cfg->relax_t0_s * 1e9);
	ln1x = ln_det(1.0 + x);
	g = rx->gp[d] * exp_det(-rx->nu[d] * ln1x) +
	    cfg->relax_sigma_us / xb->unit_us * (ln1x / LN10) * rx->zeta[d];
	if (g < xb->gmin[d])
		g = xb->gmin[d];
	if (g > xb->gmax[d])
		g = xb->gmax[d];
	return clamp_units(g);
}

void cimfw_xbar_age(struct cimfw_xbar *xb)
{
	size_t d, ncells = (size_t)xb->rows * xb->cols;
	uint64_t t;

	if (!xb->relax.gp)
		return;
	t = eval_time(xb);
	if (t == xb->t_eval)
		return;
	xb->t_eval = t;
	for (d = 0; d < 2 * ncells; d++)
		xb->g[d] = relaxed(xb, d, t);
	for (d = 0; d < ncells; d++)
		set_diff(xb, d);
	xb->lev_valid = false;
}

/*
 * A programming's relaxation parameters, from the device, its count of
 * programmings and the seed alone: pulses applied in parallel need no
 * shared stream.
 */
static void draw_relax(struct cimfw_xbar *xb, size_t d)
{
	const struct cimfw_config *cfg = xb->cfg;
	struct cimfw_rng r;
	uint64_t id = ((uint64_t)xb->index << 40) ^ ((uint64_t)d << 1) ^
		      (xb->relax.tprog[d] * 0x9e3779b97f4a7c15ull);
	double nu;

	cimfw_rng_seed(&r, cfg->seed, CIMFW_RNG_RELAX ^ id);
	nu = cfg->relax_nu + cfg->relax_nu_sigma * cimfw_rng_normal(&r);
	xb->relax.nu[d] = (float)(nu > 0.0 ? nu : 0.0);
	xb->relax.zeta[d] = (float)cimfw_rng_normal(&r);
}

/*
 * Device @d now holds @g units, just programmed: the cell's VMM operand
 * follows, and its relaxation starts again from here
 */
static void program_g(struct cimfw_xbar *xb, size_t d, int32_t g)
{
	xb->g[d] = g;
	set_diff(xb, d / 2);
	if (xb->relax.gp) {
		xb->relax.gp[d] = g;
		xb->relax.tprog[d] = xb->t_eval;
		draw_relax(xb, d);
	}
}

/* Pulses ---------------------------------------------------------------- */

void cimfw_xbar_pulse_draw(struct cimfw_xbar *xb, double *xi, double *xi2)
{
	*xi = xb->cfg->sigma_c2c > 0.0 ? cimfw_rng_normal(&xb->c2c) : 0.0;
	*xi2 = xb->cfg->prog_noise_us > 0.0 ? cimfw_rng_normal(&xb->c2c) : 0.0;
}

int cimfw_xbar_pulse(struct cimfw_xbar *xb, unsigned int r, unsigned int c,
		     int dev, bool up, unsigned int n)
{
	double xi, xi2;
	int change;

	if (!n)
		return 0;
	/* the same draws for every call, so the stream stays aligned */
	cimfw_xbar_pulse_draw(xb, &xi, &xi2);
	change = cimfw_xbar_pulse_apply(xb, r, c, dev, up, n, xi, xi2);
	if (change)
		xb->lev_valid = false;
	return change;
}

/*
 * dG = s_d * dG0 * n * (1 - gamma * (distance walked toward the bound)) *
 * (1 + sigma_c2c * xi / sqrt(n)), never against the pulse's direction,
 * plus the programming noise; the result within the device's range.
 */
int cimfw_xbar_pulse_apply(struct cimfw_xbar *xb, unsigned int r,
			   unsigned int c, int dev, bool up, unsigned int n,
			   double xi, double xi2)
{
	const struct cimfw_config *cfg = xb->cfg;
	size_t cell = cimfw_xbar_cell(xb, r, c), d = 2 * cell + (dev ? 1 : 0);
	double lo = xb->gmin[d], hi = xb->gmax[d], g = xb->g[d], gn, delta;
	int32_t next;
	int change;

	if (xb->stuck[d] != CIMFW_STUCK_NONE)
		return 0;
	gn = (g - lo) / (hi - lo);
	delta = xb->step[d] * xb->dg0 * n *
		(1.0 - cfg->gamma * (up ? gn : 1.0 - gn)) *
		(1.0 + cfg->sigma_c2c * xi / sqrt((double)n));
	if (!(delta > 0.0))
		delta = 0.0;
	g = (up ? g + delta : g - delta) + cfg->prog_noise_us / xb->unit_us *
		xi2;
	g = g < lo ? lo : g > hi ? hi : g;
	next = clamp_units(g);
	change = next - xb->g[d];
	program_g(xb, d, next);
	return change;
}

void cimfw_xbar_set_g(struct cimfw_xbar *xb, size_t d, int32_t g)
{
	g = g < xb->gmin[d] ? xb->gmin[d] : g > xb->gmax[d] ? xb->gmax[d] : g;
	program_g(xb, d, g);
	xb->lev_valid = false;
}

/* Write-verify ---------------------------------------------------------- */

struct program_acc {
	unsigned int pulses;
	unsigned int iters;	/* verify reads */
};

/* a verify read of device @d, microsiemens */
static double verify_read(struct cimfw_xbar *xb, size_t d)
{
	double n = xb->cfg->g_read_noise_us;

	return xb->g[d] * xb->unit_us +
	       (n > 0.0 ? n * cimfw_rng_normal(&xb->verify) : 0.0);
}

/*
 * Drive one device toward @target uS: read, and while the error exceeds
 * the tolerance, pulse by the error in nominal steps. Up to @max_iters
 * pulse rounds, each preceded by a verify read, and one final read.
 * Returns true when the device ends within tolerance; *@read is the last
 * read.
 */
static bool program_device(struct cimfw_xbar *xb, unsigned int r,
			   unsigned int c, int dev, double target,
			   unsigned int max_iters, double tol,
			   struct program_acc *acc, double *read)
{
	size_t d = 2 * cimfw_xbar_cell(xb, r, c) + (dev ? 1 : 0);
	double step_us = xb->dg0 * xb->unit_us, e;
	unsigned int it;
	long n;

	for (it = 0;; it++) {
		acc->iters++;
		*read = verify_read(xb, d);
		e = target - *read;
		if (fabs(e) <= tol)
			return true;
		if (it == max_iters)
			return false;
		n = lround(fabs(e) / step_us);
		n = n < 1 ? 1 : n > CIM_MAX_PULSES ? CIM_MAX_PULSES : n;
		cimfw_xbar_pulse(xb, r, c, dev, e > 0.0, (unsigned int)n);
		acc->pulses += (unsigned int)n;
	}
}

/*
 * Bring one device down to its floor: nothing if a read finds it within
 * the tolerance of G_MIN, else one RESET burst of a full range of pulses,
 * which no device survives above its own floor, and a read. *@read is
 * the last read.
 */
static void floor_device(struct cimfw_xbar *xb, unsigned int r,
			 unsigned int c, int dev, double tol,
			 struct program_acc *acc, double *read)
{
	size_t d = 2 * cimfw_xbar_cell(xb, r, c) + (dev ? 1 : 0);
	unsigned int n = xb->cfg->levels - 1;

	acc->iters++;
	*read = verify_read(xb, d);
	if (*read <= xb->cfg->g_min_us + tol)
		return;
	n = n > CIM_MAX_PULSES ? CIM_MAX_PULSES : n;
	cimfw_xbar_pulse(xb, r, c, dev, false, n);
	acc->pulses += n;
	acc->iters++;
	*read = verify_read(xb, d);
}

static void residual_add(struct cimfw_program_stats *st, double e)
{
	double a = fabs(e), b = floor(e / st->bin_us) + CIM_PROGRAM_HIST_BINS / 2;

	st->sum_us += e;
	st->sumsq_us += e * e;
	st->max_us = a > st->max_us ? a : st->max_us;
	b = b < 0.0 ? 0.0 : b > CIM_PROGRAM_HIST_BINS - 1 ?
		CIM_PROGRAM_HIST_BINS - 1 : b;
	st->hist[(int)b]++;
}

/*
 * A cell: both devices brought down to their floors, then the one that
 * must rise for G+ - G- to read as w (G_MAX - G_MIN) programmed to that
 * much above the other's read. Every device has a floor of its own, so
 * either may be the one to rise, whatever the weight's sign.
 */
void cimfw_xbar_program(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
			const float *w, unsigned int max_iters, double tol_us,
			struct cimfw_program_stats *st, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &xb->cfg->cost;
	double span = xb->range * xb->unit_us, row_t, t, time_ps = 0.0;
	double target, read[2], last;
	struct program_acc all = { 0, 0 }, one;
	unsigned int i, j, r, c, failed = 0;
	size_t cell;
	int up;

	cimfw_xbar_age(xb);
	memset(st, 0, sizeof(*st));
	st->bin_us = tol_us / 4.0;
	for (i = 0; i < win->nrows; i++) {
		row_t = 0.0;
		for (j = 0; j < win->ncols; j++) {
			r = win->row + i;
			c = win->col + j;
			target = w[(size_t)i * win->ncols + j] * span;
			one = (struct program_acc){ 0, 0 };
			floor_device(xb, r, c, 0, tol_us, &one, &read[0]);
			floor_device(xb, r, c, 1, tol_us, &one, &read[1]);
			up = read[0] - read[1] <= target ? 0 : 1;
			failed += !program_device(xb, r, c, up, read[!up] +
						  (up ? -target : target),
						  max_iters, tol_us, &one,
						  &last);
			cell = cimfw_xbar_cell(xb, r, c);
			residual_add(st, xb->gdiff[cell] * xb->unit_us -
					 target);
			/* the cells of a row are programmed in parallel */
			t = one.pulses * cost->t_pulse_ps +
			    one.iters * cost->t_verify_read_ps;
			row_t = t > row_t ? t : row_t;
			all.pulses += one.pulses;
			all.iters += one.iters;
		}
		time_ps += row_t;
	}
	st->rep.cells = win->nrows * win->ncols;
	st->rep.failed = failed;
	st->rep.pulses = all.pulses;
	st->rep.iterations = all.iters;
	m->program_pulses += all.pulses;
	cimfw_meter_charge(m, CIM_UNIT_PULSE, all.pulses * cost->e_pulse_fj,
			   time_ps);
}

/* Read-back ------------------------------------------------------------- */

void cimfw_xbar_read_weights(struct cimfw_xbar *xb,
			     const struct cimfw_xbar_win *win, float *w)
{
	unsigned int i, j;

	cimfw_xbar_age(xb);
	for (i = 0; i < win->nrows; i++)
		for (j = 0; j < win->ncols; j++)
			*w++ = (float)(xb->gdiff[cimfw_xbar_cell(xb,
				win->row + i, win->col + j)] / xb->range);
}

void cimfw_xbar_read_g(struct cimfw_xbar *xb,
		       const struct cimfw_xbar_win *win, float *g_pairs)
{
	unsigned int i, j;
	size_t d;

	cimfw_xbar_age(xb);
	for (i = 0; i < win->nrows; i++) {
		for (j = 0; j < win->ncols; j++) {
			d = 2 * cimfw_xbar_cell(xb, win->row + i, win->col + j);
			*g_pairs++ = (float)(xb->g[d] * xb->unit_us);
			*g_pairs++ = (float)(xb->g[d + 1] * xb->unit_us);
		}
	}
}
