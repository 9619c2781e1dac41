// SPDX-License-Identifier: MIT
/*
 * cimctl characterize: the measurements a device paper shows, made on a
 * cim device through its command set alone, on crossbar 0:
 *
 *   pulse   conductance against pulse number, potentiation then
 *           depression, of 64 G+ and 64 G- devices: single pulses from
 *           DUU_UPDATE with an identity x, each followed by an XBAR_READ
 *           of the G pairs (pulse.csv);
 *   levels  the conductance of the cells write-verified to each of K
 *           weight levels, as histograms (levels.csv), with the
 *           programming report (residual.csv on ABI 1.2);
 *   relax   the same cells read again after IDLE steps of device time,
 *           1 s to 1e5 s log-spaced (relax.csv; ABI 1.2).
 *
 * Everything printed or written is computed from what the device returned,
 * in a fixed order, so the same device seed gives the same bytes on the
 * embedded backend and on /dev/cimN (both from a reset: relaxation runs on
 * the device's clock). --plot adds a gnuplot PNG per CSV.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cimctl.h"

/* pulse: PULSE_ROWS rows of G+ devices, as many of G- devices */
#define PULSE_ROWS	8
#define PULSE_COLS	8
#define PULSE_DEVS	(PULSE_ROWS * PULSE_COLS)
/*
 * m pulses per cell and step: chi moves by (m + 0.5) epsilon, the transfer
 * (n_max m) pulses m times and leaves 0.5 epsilon, which an
 * accumulate-only update of the opposite sign takes back, so that no
 * remainder builds up and the first step of the other direction pulses at
 * once.
 */
#define PULSE_EPS	0.01f
/* pulses a step down gives a device whose partner took the first ones */
#define PULSE_TRIES	8
/* levels: a window of up to LEVEL_DIM x LEVEL_DIM cells */
#define LEVEL_DIM	64
#define PROGRAM_ITERS	32
#define HIST_BIN_US	0.1
/* relax: read times, seconds after programming */
static const double relax_times[] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5,
};
#define RELAX_N		ARRAY_SIZE(relax_times)

/**
 * struct chr - one characterization run
 * @o: the command line
 * @dev: the device
 * @in: its info
 * @cb: the command buffer the experiments fill
 * @abi12: the device speaks ABI 1.2 (IDLE, tolerance in uS, residual)
 */
struct chr {
	const struct opts *o;
	struct cim_device *dev;
	struct cim_info in;
	struct cim_cmdbuf *cb;
	bool abi12;
};

/* Run the commands of c->cb and empty it */
static int run(struct chr *c, const char *what)
{
	struct cim_job_result res;
	int ret;

	ret = cim_run(c->cb, &res);
	cim_cmdbuf_reset(c->cb);
	if (ret)
		errmsg("%s: the job failed at command %u: %s (status %s) [%s]",
		       what, res.error_cmd, cim_strerror(ret),
		       cim_status_name(res.status), cim_err_name(ret));
	return ret;
}

/* Report a libcim error of the experiment @what; returns @err */
static int report(struct chr *c, const char *what, int err)
{
	dev_error(c->in.name, what, err);
	return err;
}

static FILE *out_open(struct chr *c, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", c->o->outdir, name);
	f = fopen(path, "we");
	if (!f)
		errmsg("%s: %s", path, strerror(errno));
	return f;
}

static int out_close(struct chr *c, FILE *f, const char *name)
{
	if (fclose(f)) {
		errmsg("%s/%s: %s", c->o->outdir, name, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Feed @script to gnuplot, which writes DIR/@png */
static int plot(struct chr *c, const char *png, const char *script)
{
	FILE *gp;

	gp = popen("gnuplot", "w");
	if (!gp) {
		errmsg("gnuplot: %s", strerror(errno));
		return -EIO;
	}
	fprintf(gp, "set terminal pngcairo size 900,600 noenhanced\n"
		"set output '%s/%s'\nset datafile separator ','\n"
		"set grid\n%s", c->o->outdir, png, script);
	if (pclose(gp)) {
		errmsg("gnuplot failed to write %s/%s", c->o->outdir, png);
		return -EIO;
	}
	return 0;
}

/**
 * struct stat1 - running mean and variance (Welford), in a fixed order
 * @n: samples
 * @mean: their mean
 * @m2: sum of squared deviations
 */
struct stat1 {
	unsigned long n;
	double mean, m2;
};

static void stat_add(struct stat1 *s, double v)
{
	double d = v - s->mean;

	s->n++;
	s->mean += d / (double)s->n;
	s->m2 += d * (v - s->mean);
}

static double stat_sd(const struct stat1 *s)
{
	return s->n > 1 ? sqrt(s->m2 / (double)(s->n - 1)) : 0.0;
}

/* Pulses ------------------------------------------------------------------ */

/*
 * Conductance of device @k (0..2 * PULSE_DEVS - 1: the G+ of the first
 * PULSE_ROWS rows, then the G- of the next) after step @s
 */
static double pulse_g(const float *g, unsigned int s, unsigned int k)
{
	unsigned int cells = 2 * PULSE_DEVS;

	/* cell k of the window; G+ is the pair's first float, G- its second */
	return g[((size_t)s * cells + k) * 2 + (k >= PULSE_DEVS)];
}

/*
 * Mean step of steps s0+1..s1 per device, then over devices: the mean,
 * the device-to-device spread (sd of the per-device means) and the
 * cycle-to-cycle spread (root mean of each device's step variance)
 */
static void pulse_steps(const float *g, unsigned int s0, unsigned int s1,
			double *mean, double *d2d, double *c2c)
{
	struct stat1 dev = { 0 }, one;
	double var = 0.0;
	unsigned int k, s;

	for (k = 0; k < 2 * PULSE_DEVS; k++) {
		one = (struct stat1){ 0 };
		for (s = s0 + 1; s <= s1; s++)
			stat_add(&one, pulse_g(g, s, k) - pulse_g(g, s - 1, k));
		stat_add(&dev, one.mean);
		var += one.n > 1 ? one.m2 / (double)(one.n - 1) : 0.0;
	}
	*mean = dev.mean;
	*d2d = stat_sd(&dev);
	*c2c = sqrt(var / (2 * PULSE_DEVS));
}

static int pulse_csv(struct chr *c, const float *g, unsigned int n)
{
	unsigned int s, k;
	FILE *f;

	f = out_open(c, "pulse.csv");
	if (!f)
		return -EIO;
	fprintf(f, "pulse,phase");
	for (k = 0; k < 2 * PULSE_DEVS; k++)
		fprintf(f, ",%s%02u", k < PULSE_DEVS ? "gplus" : "gminus",
			k % PULSE_DEVS);
	fprintf(f, "\n");
	for (s = 0; s <= 2 * n; s++) {
		fprintf(f, "%u,%s", s, !s ? "start" : s <= n ? "up" : "down");
		for (k = 0; k < 2 * PULSE_DEVS; k++)
			fprintf(f, ",%.4f", pulse_g(g, s, k));
		fprintf(f, "\n");
	}
	return out_close(c, f, "pulse.csv");
}

static void pulse_summary(const float *g, unsigned int n, unsigned int topped,
			  unsigned int retried)
{
	unsigned int e = n / 10 ? n / 10 : 1;
	double m_lo, d_lo, c_lo, m_hi, d_hi, c_hi, dm_hi, dd_hi, dc_hi;
	double dm_lo, dd_lo, dc_lo;
	struct stat1 top = { 0 }, end = { 0 };
	unsigned int k;

	pulse_steps(g, 0, e, &m_lo, &d_lo, &c_lo);
	pulse_steps(g, n - e, n, &m_hi, &d_hi, &c_hi);
	pulse_steps(g, n, n + e, &dm_hi, &dd_hi, &dc_hi);
	pulse_steps(g, 2 * n - e, 2 * n, &dm_lo, &dd_lo, &dc_lo);
	for (k = 0; k < 2 * PULSE_DEVS; k++) {
		stat_add(&top, pulse_g(g, n, k) - pulse_g(g, 0, k));
		stat_add(&end, pulse_g(g, 2 * n, k) - pulse_g(g, 0, k));
	}
	printf("pulse: %u devices (%u G+, %u G-), %u pulses up then %u down\n",
	       2 * PULSE_DEVS, PULSE_DEVS, PULSE_DEVS, n, n);
	printf("  %u devices reached their top before the last pulse up; %u pulses down went to a partner first\n",
	       topped, retried);
	printf("  potentiation, first %u pulses: step %+.4f uS, d2d sd %.4f uS (%.1f %%), c2c sd %.4f uS (%.1f %%)\n",
	       e, m_lo, d_lo, 100.0 * d_lo / fabs(m_lo), c_lo,
	       100.0 * c_lo / fabs(m_lo));
	printf("  potentiation, last %u pulses:  step %+.4f uS (%.2f of the first)\n",
	       e, m_hi, m_hi / m_lo);
	printf("  depression, first %u pulses:   step %+.4f uS, d2d sd %.4f uS, c2c sd %.4f uS\n",
	       e, dm_hi, dd_hi, dc_hi);
	printf("  depression, last %u pulses:    step %+.4f uS (%.2f of the first)\n",
	       e, dm_lo, dm_lo / dm_hi);
	printf("  change after %u up: %.3f uS (sd %.3f); after all: %+.3f uS (sd %.3f)\n",
	       n, top.mean, stat_sd(&top), end.mean, stat_sd(&end));
}

static int pulse_plot(struct chr *c)
{
	char script[1024];

	snprintf(script, sizeof(script),
		 "set title 'cimctl characterize: %u G+ (blue) and %u G- (red) devices, one pulse per step'\n"
		 "set xlabel 'pulse number'\nset ylabel 'conductance (uS)'\n"
		 "plot for [i=3:%u] '%s/pulse.csv' every ::1 u 1:i w l lc rgb '#804060c0' notitle, "
		 "for [i=%u:%u] '%s/pulse.csv' every ::1 u 1:i w l lc rgb '#80c04040' notitle\n",
		 PULSE_DEVS, PULSE_DEVS, 2 + PULSE_DEVS, c->o->outdir,
		 3 + PULSE_DEVS, 2 + 2 * PULSE_DEVS, c->o->outdir);
	return plot(c, "pulse.png", script);
}

/**
 * struct pulse - the pulse measurement's state
 * @win: the window: PULSE_ROWS rows of G+ devices, then as many of G-
 * @cells: its cells, one measured device each
 * @bd: the update of a step (cells floats), then its undo
 * @bg: the reads: the start, one per step, and one the bursts write
 * @active: the cell is still pulsed in this direction
 * @topped: devices that reached their top before the last pulse up
 * @retried: steps down that pulsed some devices again
 */
struct pulse {
	struct cim_window win;
	unsigned int cells;
	struct cim_buffer *bd, *bg;
	bool active[2 * PULSE_DEVS];
	unsigned int topped, retried;
};

/* The d that moves cell @i's measured device up: chi -= d, w rises with chi */
static float pulse_up(unsigned int i)
{
	return i < PULSE_DEVS ? -1.0f : 1.0f;
}

/*
 * One job: every active cell gets trunc(@m) pulses (@up: its measured
 * device up, else down), the remainder of @m is taken back, and the window
 * is read into read slot @slot. A DUU pulse raises the device the sign
 * names while it can rise, else lowers its partner (duu.c): "down" is a
 * rise of the partner, which is pinned at its top.
 */
static int pulse_step(struct chr *c, struct pulse *p, float m, bool up,
		      unsigned int slot)
{
	const struct cim_duu_params xfer = {
		.batch = p->win.nrows, .lr = 1.0f, .epsilon = PULSE_EPS,
		.n_max = m > 1.5f ? CIM_MAX_PULSES : 1,
		.flags = CIM_DUU_F_X_IDENTITY,
	};
	struct cim_duu_params undo = xfer;
	size_t cells4 = p->cells * sizeof(float);
	float *d = cim_buffer_ptr(p->bd);
	unsigned int i;
	int ret;

	undo.flags |= CIM_DUU_F_NO_TRANSFER;
	for (i = 0; i < p->cells; i++) {
		d[i] = p->active[i] ? (up ? 1.0f : -1.0f) * pulse_up(i) * m *
				      PULSE_EPS : 0.0f;
		d[p->cells + i] = -d[i] * (m - floorf(m)) / m;
	}
	ret = cim_cmd_duu_update(c->cb, &p->win, &xfer, NULL, 0, p->bd, 0,
				 NULL, 0);
	if (!ret)
		ret = cim_cmd_duu_update(c->cb, &p->win, &undo, NULL, 0, p->bd,
					 cells4, NULL, 0);
	if (!ret)
		ret = cim_cmd_xbar_read(c->cb, &p->win, 0, p->bg,
					(size_t)slot * p->cells * 2 *
					sizeof(float));
	if (ret) {
		cim_cmdbuf_reset(c->cb);
		return report(c, "pulse", ret);
	}
	return run(c, "pulse");
}

/*
 * After step @s up: a cell whose partner moved had its measured device at
 * its top, and the DUU lowered the partner instead; it is pulsed no more
 * until the way down, so that the partner is pinned again only once.
 */
static void pulse_topped(struct pulse *p, const float *g, unsigned int s)
{
	unsigned int i;

	for (i = 0; i < p->cells; i++) {
		/* the partner: G- of a G+ row, G+ of a G- row */
		float before = g[((size_t)(s - 1) * p->cells + i) * 2 +
				 (i < PULSE_DEVS)];
		float after = g[((size_t)s * p->cells + i) * 2 +
				(i < PULSE_DEVS)];

		if (p->active[i] && after < before - 1e-3f) {
			p->active[i] = false;
			p->topped++;
		}
	}
}

/*
 * After step @s down: the cells whose pulse raised their partner (it was
 * no longer at its top) stay active, to be pulsed again in the same step;
 * the others are done with it. Returns how many stay.
 */
static unsigned int pulse_lost(struct pulse *p, const float *g,
			       const float *partner)
{
	unsigned int i, lost = 0;

	for (i = 0; i < p->cells; i++) {
		float now = g[i * 2 + (i < PULSE_DEVS)];

		p->active[i] = p->active[i] && now > partner[i] + 1e-3f;
		lost += p->active[i];
	}
	return lost;
}

/* Potentiation then depression of every device, one pulse per step */
static int exp_pulse(struct chr *c)
{
	unsigned int n = c->o->pulses, i, s;
	struct pulse p = {
		.win = { 0, 0, 2 * PULSE_ROWS, 0, PULSE_COLS },
		.cells = 2 * PULSE_DEVS,
	};
	const float *g;
	int ret;

	if (c->in.xbar_rows < p.win.nrows || c->in.xbar_cols < p.win.ncols) {
		errmsg("pulse: crossbar 0 has %u x %u cells, %u x %u needed",
		       c->in.xbar_rows, c->in.xbar_cols, p.win.nrows,
		       p.win.ncols);
		return -EINVAL;
	}
	ret = cim_buffer_alloc(c->dev, 2 * p.cells * sizeof(float), &p.bd);
	if (!ret)
		ret = cim_buffer_alloc(c->dev, (size_t)(2 * n + 2) * p.cells *
				       2 * sizeof(float), &p.bg);
	if (ret) {
		report(c, "pulse", ret);
		goto out;
	}
	g = cim_buffer_ptr(p.bg);
	/*
	 * The start: bursts of 255 pulses down raise each partner to its top,
	 * then lower the measured device to its bottom; the last one's read
	 * is the start
	 */
	memset(p.active, 1, sizeof(p.active));
	for (i = 0; i < 3 && !ret; i++)
		ret = pulse_step(c, &p, CIM_MAX_PULSES + 0.5f, false, 0);
	/* up: one pulse a step; 1.5 epsilon, the half taken back */
	for (s = 1; s <= n && !ret; s++) {
		ret = pulse_step(c, &p, 1.5f, true, s);
		if (!ret)
			pulse_topped(&p, g, s);
	}
	/* pin again the partners the way up lowered, without a read slot */
	for (i = 0; i < p.cells; i++)
		p.active[i] = !p.active[i];
	if (!ret && p.topped)
		ret = pulse_step(c, &p, CIM_MAX_PULSES + 0.5f, false, 2 * n + 1);
	/*
	 * down: a pulse that raised a partner no longer at its top (noise,
	 * relaxation) did not reach the measured device, which gets it again
	 */
	for (s = n + 1; s <= 2 * n && !ret; s++) {
		const float *gs = g + (size_t)s * p.cells * 2;
		float partner[2 * PULSE_DEVS];
		unsigned int try;

		memset(p.active, 1, sizeof(p.active));
		for (try = 0; try < PULSE_TRIES && !ret; try++) {
			for (i = 0; i < p.cells; i++)
				partner[i] = try ? gs[i * 2 + (i < PULSE_DEVS)] :
					     g[((size_t)(s - 1) * p.cells + i) *
					       2 + (i < PULSE_DEVS)];
			ret = pulse_step(c, &p, 1.5f, false, s);
			if (!ret && !pulse_lost(&p, gs, partner))
				break;
		}
		p.retried += try;
	}
	if (ret)
		goto out;
	ret = pulse_csv(c, g, n);
	if (!ret)
		pulse_summary(g, n, p.topped, p.retried);
	if (!ret && c->o->plot)
		ret = pulse_plot(c);
out:
	cim_cmdbuf_reset(c->cb);
	cim_buffer_free(p.bd);
	cim_buffer_free(p.bg);
	return ret;
}

/* Levels and relaxation --------------------------------------------------- */

/**
 * struct lev - the cells programmed to levels, and their reads
 * @win: the window
 * @cells: its cells
 * @k: levels
 * @bw: the weights, level (cell % k)
 * @brep: the programming report
 * @bg: the reads: after programming, then at each relax_times[]
 */
struct lev {
	struct cim_window win;
	unsigned int cells, k;
	struct cim_buffer *bw, *brep, *bg;
};

static float lev_weight(const struct lev *l, unsigned int level)
{
	return -1.0f + 2.0f * (float)level / (float)(l->k - 1);
}

/* G+ - G- of cell @i in read @t, and the cell's two devices */
static double lev_diff(const struct lev *l, unsigned int t, unsigned int i)
{
	const float *g = (const float *)cim_buffer_ptr(l->bg) +
			 ((size_t)t * l->cells + i) * 2;

	return (double)g[0] - g[1];
}

/* Program the window to its levels (write-verify), then read it */
static int lev_program(struct chr *c, struct lev *l)
{
	struct cim_program_params p = {
		.size = sizeof(p), .max_iters = PROGRAM_ITERS,
		.tolerance = 0.5f,
	};
	float *w;
	unsigned int i;
	int ret;

	l->win = (struct cim_window){
		0, 0, c->in.xbar_rows < LEVEL_DIM ? c->in.xbar_rows : LEVEL_DIM,
		0, c->in.xbar_cols < LEVEL_DIM ? c->in.xbar_cols : LEVEL_DIM,
	};
	l->cells = l->win.nrows * l->win.ncols;
	l->k = c->o->levels;
	ret = cim_buffer_alloc(c->dev, l->cells * sizeof(float), &l->bw);
	if (!ret)
		ret = cim_buffer_alloc(c->dev,
				       sizeof(struct cim_program_residual),
				       &l->brep);
	if (!ret)
		ret = cim_buffer_alloc(c->dev, (1 + RELAX_N) * l->cells * 2 *
				       sizeof(float), &l->bg);
	if (!ret && l->cells < l->k)
		ret = -ERANGE;
	if (ret)
		return report(c, "levels", ret);
	w = cim_buffer_ptr(l->bw);
	for (i = 0; i < l->cells; i++)
		w[i] = lev_weight(l, i % l->k);
	/* ABI 1.2: a tolerance in microsiemens and the residual errors */
	if (c->abi12) {
		p.flags = CIM_PROGRAM_F_TOL_US | CIM_PROGRAM_F_RESIDUAL;
		p.tolerance = (float)c->o->tol_us;
	}
	ret = cim_cmd_xbar_program2(c->cb, &l->win, &p, l->bw, 0, l->brep, 0);
	if (!ret)
		ret = cim_cmd_xbar_read(c->cb, &l->win, 0, l->bg, 0);
	if (ret)
		return report(c, "levels", ret);
	return run(c, "levels");
}

static void lev_free(struct lev *l)
{
	cim_buffer_free(l->bw);
	cim_buffer_free(l->brep);
	cim_buffer_free(l->bg);
}

/* Per level, G+ - G- of read @t */
static void lev_stats(const struct lev *l, unsigned int t, struct stat1 *st)
{
	unsigned int i;

	memset(st, 0, l->k * sizeof(*st));
	for (i = 0; i < l->cells; i++)
		stat_add(&st[i % l->k], lev_diff(l, t, i));
}

static int lev_hist_csv(struct chr *c, const struct lev *l)
{
	long lo, hi, b, *count;
	unsigned int level, i;
	double v;
	FILE *f;
	int ret = 0;

	f = out_open(c, "levels.csv");
	if (!f)
		return -EIO;
	fprintf(f, "level,weight,g_lo_us,g_hi_us,count\n");
	for (level = 0; level < l->k && !ret; level++) {
		lo = hi = lround(floor(lev_diff(l, 0, level) / HIST_BIN_US));
		for (i = level; i < l->cells; i += l->k) {
			b = lround(floor(lev_diff(l, 0, i) / HIST_BIN_US));
			lo = b < lo ? b : lo;
			hi = b > hi ? b : hi;
		}
		count = calloc((size_t)(hi - lo + 1), sizeof(*count));
		if (!count) {
			ret = -ENOMEM;
			break;
		}
		for (i = level; i < l->cells; i += l->k)
			count[lround(floor(lev_diff(l, 0, i) / HIST_BIN_US)) -
			      lo]++;
		for (b = lo; b <= hi; b++) {
			v = (double)b * HIST_BIN_US;
			fprintf(f, "%u,%.4f,%.4f,%.4f,%ld\n", level,
				lev_weight(l, level), v, v + HIST_BIN_US,
				count[b - lo]);
		}
		free(count);
	}
	if (ret) {
		fclose(f);
		return ret;
	}
	return out_close(c, f, "levels.csv");
}

static float f32(uint32_t bits)
{
	float v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

static int lev_report(struct chr *c, const struct lev *l)
{
	const struct cim_program_residual *r = cim_buffer_ptr(l->brep);
	double bin = f32(r->bin_f32);
	unsigned int i;
	FILE *f;

	printf("  write-verify: %u cells, %u outside tolerance, %u pulses, %u verify reads\n",
	       r->rep.cells, r->rep.failed, r->rep.pulses, r->rep.iterations);
	if (!c->abi12)
		return 0;
	printf("  residual (true G+ - G- minus target): mean %+.4f uS, rms %.4f uS, max %.4f uS\n",
	       f32(r->mean_f32), f32(r->rms_f32), f32(r->max_f32));
	printf("  residual histogram, %.4f uS bins from %.4f uS:", bin,
	       -(double)CIM_PROGRAM_HIST_BINS / 2 * bin);
	for (i = 0; i < CIM_PROGRAM_HIST_BINS; i++)
		printf(" %u", r->hist[i]);
	printf("\n");
	f = out_open(c, "residual.csv");
	if (!f)
		return -EIO;
	fprintf(f, "bin,e_lo_us,e_hi_us,count\n");
	for (i = 0; i < CIM_PROGRAM_HIST_BINS; i++)
		fprintf(f, "%u,%.4f,%.4f,%u\n", i,
			((double)i - CIM_PROGRAM_HIST_BINS / 2) * bin,
			((double)i + 1 - CIM_PROGRAM_HIST_BINS / 2) * bin,
			r->hist[i]);
	return out_close(c, f, "residual.csv");
}

static int exp_levels(struct chr *c, const struct lev *l)
{
	struct stat1 st[CIM_MAX_LEVELS];
	char script[1024];
	unsigned int k;
	int ret;

	lev_stats(l, 0, st);
	printf("levels: %u cells of a %u x %u window, %u levels\n",
	       l->cells, l->win.nrows, l->win.ncols, l->k);
	if (c->abi12)
		printf("  write-verify to %.4f uS, at most %u rounds\n",
		       c->o->tol_us, PROGRAM_ITERS);
	else
		printf("  write-verify to 0.5 level, at most %u rounds\n",
		       PROGRAM_ITERS);
	for (k = 0; k < l->k; k++)
		printf("  level %2u, w %+.3f: G+ - G- mean %+8.4f uS, sd %.4f uS (%lu cells)\n",
		       k, lev_weight(l, k), st[k].mean, stat_sd(&st[k]),
		       st[k].n);
	ret = lev_report(c, l);
	if (!ret)
		ret = lev_hist_csv(c, l);
	if (ret || !c->o->plot)
		return ret;
	snprintf(script, sizeof(script),
		 "set title 'cimctl characterize: G+ - G- after write-verify, %u levels'\n"
		 "set xlabel 'G+ - G- (uS)'\nset ylabel 'cells'\n"
		 "set style fill solid 0.6 noborder\nset boxwidth %g absolute\n"
		 "plot for [k=0:%u] '%s/levels.csv' every ::1 u ($1==k ? ($3+$4)/2 : 1/0):5 w boxes t sprintf('level %%d', k)\n",
		 l->k, HIST_BIN_US, l->k - 1, c->o->outdir);
	return plot(c, "levels.png", script);
}

static int relax_csv(struct chr *c, const struct lev *l)
{
	struct stat1 st[CIM_MAX_LEVELS], all;
	unsigned int t, k, i;
	FILE *f;

	f = out_open(c, "relax.csv");
	if (!f)
		return -EIO;
	fprintf(f, "t_s,g_mean_us");
	for (k = 0; k < l->k; k++)
		fprintf(f, ",mean_l%u", k);
	for (k = 0; k < l->k; k++)
		fprintf(f, ",sd_l%u", k);
	fprintf(f, "\n");
	for (t = 0; t <= RELAX_N; t++) {
		const float *g = (const float *)cim_buffer_ptr(l->bg) +
				 (size_t)t * l->cells * 2;

		all = (struct stat1){ 0 };
		for (i = 0; i < 2 * l->cells; i++)
			stat_add(&all, g[i]);
		lev_stats(l, t, st);
		fprintf(f, "%g,%.4f", t ? relax_times[t - 1] : 0.0, all.mean);
		for (k = 0; k < l->k; k++)
			fprintf(f, ",%.4f", st[k].mean);
		for (k = 0; k < l->k; k++)
			fprintf(f, ",%.4f", stat_sd(&st[k]));
		fprintf(f, "\n");
	}
	return out_close(c, f, "relax.csv");
}

static void relax_summary(const struct lev *l)
{
	struct stat1 s0[CIM_MAX_LEVELS], s1[CIM_MAX_LEVELS];
	struct stat1 g0 = { 0 }, g1 = { 0 };
	const float *g = cim_buffer_ptr(l->bg);
	unsigned int k, i;

	for (i = 0; i < 2 * l->cells; i++) {
		stat_add(&g0, g[i]);
		stat_add(&g1, g[(size_t)RELAX_N * l->cells * 2 + i]);
	}
	lev_stats(l, 0, s0);
	lev_stats(l, RELAX_N, s1);
	printf("relax: %zu reads from %g s to %g s of IDLE after programming\n",
	       RELAX_N, relax_times[0], relax_times[RELAX_N - 1]);
	printf("  mean device conductance %.4f -> %.4f uS (%+.2f %%)\n",
	       g0.mean, g1.mean, 100.0 * (g1.mean / g0.mean - 1.0));
	for (k = 0; k < l->k; k++)
		printf("  level %2u, w %+.3f: G+ - G- mean %+8.4f -> %+8.4f uS, sd %.4f -> %.4f uS\n",
		       k, lev_weight(l, k), s0[k].mean, s1[k].mean,
		       stat_sd(&s0[k]), stat_sd(&s1[k]));
}

/* IDLE up to each of relax_times[], a read after each */
static int exp_relax(struct chr *c, const struct lev *l)
{
	size_t cells2 = (size_t)l->cells * 2 * sizeof(float);
	char script[1024];
	double prev = 0.0;
	unsigned int t;
	int ret = 0;

	for (t = 0; t < RELAX_N && !ret; t++) {
		ret = cim_cmd_idle(c->cb,
				   (uint64_t)((relax_times[t] - prev) * 1e9));
		if (!ret)
			ret = cim_cmd_xbar_read(c->cb, &l->win, 0, l->bg,
						(t + 1) * cells2);
		prev = relax_times[t];
	}
	if (ret == -EOPNOTSUPP) {
		cim_cmdbuf_reset(c->cb);
		printf("relax: skipped: the device (ABI %u.%u) has no IDLE\n",
		       c->in.hw_version >> 16, c->in.hw_version & 0xffff);
		return 0;
	}
	if (ret) {
		cim_cmdbuf_reset(c->cb);
		return report(c, "relax", ret);
	}
	ret = run(c, "relax");
	if (!ret)
		ret = relax_csv(c, l);
	if (ret)
		return ret;
	relax_summary(l);
	if (!c->o->plot)
		return 0;
	snprintf(script, sizeof(script),
		 "set title 'cimctl characterize: relaxation after write-verify'\n"
		 "set xlabel 'time after programming (s)'\nset logscale x\n"
		 "set ylabel 'mean G+ - G- (uS)'\nset key outside right\n"
		 "plot for [k=0:%u] '%s/relax.csv' every ::1 u ($1>0 ? $1 : 1/0):(column(3+k)) w lp t sprintf('level %%d', k)\n",
		 l->k - 1, c->o->outdir);
	return plot(c, "relax.png", script);
}

int cmd_characterize(const struct opts *o)
{
	struct chr c = { .o = o, .in = { .size = sizeof(c.in) } };
	struct lev l = { 0 };
	int ret;

	if (o->plot && system("command -v gnuplot >/dev/null 2>&1")) {
		errmsg("--plot: gnuplot not found (Debian: apt-get install gnuplot-nox)");
		return EXIT_ERR;
	}
	if (mkdir(o->outdir, 0777) && errno != EEXIST) {
		errmsg("%s: %s", o->outdir, strerror(errno));
		return EXIT_ERR;
	}
	ret = open_device(o->device, &c.dev);
	if (ret)
		return ret;
	ret = cim_device_query(c.dev, &c.in);
	if (!ret)
		ret = cim_cmdbuf_create(c.dev, &c.cb);
	if (!ret)
		ret = cim_xbar_reserve(c.dev, 1);
	if (ret) {
		dev_error(o->device, "characterize", ret);
		goto out;
	}
	c.abi12 = (c.in.hw_version & 0xffff) >= 2;
	printf("cimctl characterize: %s, seed %llu, ABI %u.%u, %u levels per device\n",
	       c.in.name, (unsigned long long)c.in.seed, c.in.hw_version >> 16,
	       c.in.hw_version & 0xffff, c.in.xbar_levels);
	if (o->only & CHAR_PULSE)
		ret = exp_pulse(&c);
	if (!ret && o->only & (CHAR_LEVELS | CHAR_RELAX))
		ret = lev_program(&c, &l);
	if (!ret && o->only & CHAR_LEVELS)
		ret = exp_levels(&c, &l);
	if (!ret && o->only & CHAR_RELAX)
		ret = exp_relax(&c, &l);
	lev_free(&l);
out:
	cim_cmdbuf_destroy(c.cb);
	cim_device_close(c.dev);
	return ret ? EXIT_ERR : EXIT_OK;
}
