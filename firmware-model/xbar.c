// SPDX-License-Identifier: MIT
/*
 * Memristor crossbar tiles. Documentation/model/crossbar.rst gives the
 * equations and the source of every parameter.
 *
 * Determinism: all randomness comes from per-tile streams of rng.c, drawn
 * in a fixed order; the analog sum is an integer computed exactly (see
 * vmm_gemm()), so the same commands give the same bits on every x86-64
 * machine, whatever BLAS kernel or thread count runs the product.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xbar.h"

/* largest exact integer of a float: every partial sum must stay below */
#define FLOAT_EXACT	(1u << 24)

/*
 * The per-element loops of the VMM: vectorized, with an AVX2 clone picked
 * at load time. Only IEEE basic operations in the same per-element order,
 * so both clones give the same bits.
 */
#define HOT __attribute__((optimize("O3", "fp-contract=off"), \
			     target_clones("avx2", "default")))

static inline unsigned int top_level(const struct cim_xbar *xb)
{
	return xb->cfg->levels - 1;
}

static inline size_t cell_of(const struct cim_xbar *xb, unsigned int r,
			     unsigned int c)
{
	return (size_t)r * xb->cols + c;
}

static void seed_noise(struct cim_xbar *xb)
{
	uint64_t tag = (uint64_t)xb->index << 8;

	cim_rng_seed(&xb->c2c, xb->cfg->seed, CIM_RNG_C2C + tag);
	cim_rng_lanes_seed(&xb->read, xb->cfg->seed, CIM_RNG_READ + tag);
}

/* Per-device step factors and stuck map: drawn once, like the silicon. */
static void draw_variation(struct cim_xbar *xb)
{
	const struct cim_fw_config *cfg = xb->cfg;
	uint64_t tag = (uint64_t)xb->index << 8;
	size_t d, ndev = (size_t)xb->rows * xb->cols * 2;
	struct cim_rng r;
	double s, u;

	cim_rng_seed(&r, cfg->seed, CIM_RNG_D2D + tag);
	for (d = 0; d < ndev; d++) {
		s = 1.0 + cfg->sigma_d2d * cim_rng_normal(&r);
		/* a step never vanishes or turns negative */
		xb->step[d] = (float)(s > 0.05 ? s : 0.05);
	}
	cim_rng_seed(&r, cfg->seed, CIM_RNG_STUCK + tag);
	for (d = 0; d < ndev; d++) {
		u = cim_rng_uniform(&r);
		if (u < 0.5 * cfg->stuck_prob)
			xb->stuck[d] = CIM_STUCK_LOW;
		else if (u < cfg->stuck_prob)
			xb->stuck[d] = CIM_STUCK_HIGH;
		else
			xb->stuck[d] = CIM_STUCK_NONE;
	}
}

void cim_xbar_reset(struct cim_xbar *xb)
{
	size_t i, ncells = (size_t)xb->rows * xb->cols;
	uint8_t top = (uint8_t)top_level(xb);

	for (i = 0; i < ncells; i++) {
		xb->kp[i] = xb->stuck[2 * i] == CIM_STUCK_HIGH ? top : 0;
		xb->km[i] = xb->stuck[2 * i + 1] == CIM_STUCK_HIGH ? top : 0;
		xb->kdiff[i] = (float)xb->kp[i] - (float)xb->km[i];
	}
	memset(xb->chi, 0, ncells * sizeof(*xb->chi));
	xb->lev_valid = false;
	seed_noise(xb);
}

int cim_xbar_init(struct cim_xbar *xb, const struct cim_fw_config *cfg,
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
	cim_xbar_reset(xb);
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

void cim_xbar_fini(struct cim_xbar *xb)
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

int cim_xbar_pulse(struct cim_xbar *xb, unsigned int r, unsigned int c,
		   int dev, bool up, unsigned int n)
{
	const struct cim_fw_config *cfg = xb->cfg;
	size_t cell = cell_of(xb, r, c), d = 2 * cell + (dev ? 1 : 0);
	uint8_t *k = dev ? &xb->km[cell] : &xb->kp[cell];
	double top = top_level(xb), g, delta, xi = 0.0, u;
	int change, next;

	if (!n)
		return 0;
	/* the same draws for every call, so the stream stays aligned */
	if (cfg->sigma_c2c > 0.0)
		xi = cim_rng_normal(&xb->c2c);
	u = cim_rng_uniform(&xb->c2c);
	if (xb->stuck[d] != CIM_STUCK_NONE)
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
	if (change)
		xb->lev_valid = false;
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
static bool program_device(struct cim_xbar *xb, unsigned int r,
			   unsigned int c, int dev, double target,
			   unsigned int max_iters, double tol,
			   struct program_acc *acc)
{
	const uint8_t *k = dev ? &xb->km[cell_of(xb, r, c)] :
				 &xb->kp[cell_of(xb, r, c)];
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
		cim_xbar_pulse(xb, r, c, dev, e > 0.0, (unsigned int)n);
		acc->pulses += (unsigned int)n;
	}
}

void cim_xbar_program(struct cim_xbar *xb, const struct cim_xbar_win *win,
		      const float *w, unsigned int max_iters, float tol_levels,
		      struct cim_program_report *rep, struct cim_meter *m)
{
	const struct cim_cost_params *cost = &xb->cfg->cost;
	double top = top_level(xb), row_t, t, time_ps = 0.0;
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
	cim_meter_charge(m, CIM_UNIT_PULSE, all.pulses * cost->e_pulse_fj,
			 time_ps);
}

/* Read-back ------------------------------------------------------------- */

void cim_xbar_read_weights(const struct cim_xbar *xb,
			   const struct cim_xbar_win *win, float *w)
{
	float top = (float)top_level(xb);
	unsigned int i, j;

	for (i = 0; i < win->nrows; i++)
		for (j = 0; j < win->ncols; j++)
			*w++ = xb->kdiff[cell_of(xb, win->row + i,
						 win->col + j)] / top;
}

void cim_xbar_read_g(const struct cim_xbar *xb,
		     const struct cim_xbar_win *win, float *g_pairs)
{
	const struct cim_fw_config *cfg = xb->cfg;
	double dg = (cfg->g_max_us - cfg->g_min_us) / top_level(xb);
	unsigned int i, j;
	size_t cell;

	for (i = 0; i < win->nrows; i++) {
		for (j = 0; j < win->ncols; j++) {
			cell = cell_of(xb, win->row + i, win->col + j);
			*g_pairs++ = (float)(cfg->g_min_us + xb->kp[cell] * dg);
			*g_pairs++ = (float)(cfg->g_min_us + xb->km[cell] * dg);
		}
	}
}

/* VMM ------------------------------------------------------------------- */

/* views into xb->scratch for one call */
struct vmm_buf {
	float *codes;		/* batch x nin DAC codes, integers */
	float *prod;		/* batch x nout, one chunk of the analog sum */
	double *y;		/* batch x nout, the sums of several chunks */
	float *noise;		/* nout read-noise deviates */
	double *tmp;		/* nout: one output vector being converted */
	float *alpha;		/* batch DAC ranges */
	uint32_t *pc;		/* nin: set input bits summed over the batch */
	uint32_t *lsum;		/* nin: levels of G+ and G- along each input */
};

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Carve the scratch, growing it only when a call needs more. */
static int vmm_buf_get(struct cim_xbar *xb, unsigned int batch,
		       unsigned int nin, unsigned int nout, struct vmm_buf *b)
{
	size_t sz[8] = {
		(size_t)batch * nin * sizeof(float),
		(size_t)batch * nout * sizeof(float),
		(size_t)batch * nout * sizeof(double),
		(size_t)nout * sizeof(float),
		(size_t)batch * sizeof(float),
		(size_t)nin * sizeof(uint32_t),
		(size_t)nin * sizeof(uint32_t),
		(size_t)nout * sizeof(double),
	};
	size_t total = 0, off[8];
	char *p;
	int i;

	for (i = 0; i < 8; i++) {
		off[i] = total;
		total += align64(sz[i]);
	}
	if (total > xb->scratch_len) {
		p = aligned_alloc(64, total);
		if (!p)
			return -ENOMEM;
		free(xb->scratch);
		xb->scratch = (float *)p;
		xb->scratch_len = total;
	}
	p = (char *)xb->scratch;
	b->codes = (float *)(p + off[0]);
	b->prod = (float *)(p + off[1]);
	b->y = (double *)(p + off[2]);
	b->noise = (float *)(p + off[3]);
	b->alpha = (float *)(p + off[4]);
	b->pc = (uint32_t *)(p + off[5]);
	b->lsum = (uint32_t *)(p + off[6]);
	b->tmp = (double *)(p + off[7]);
	return 0;
}

/*
 * Round to nearest, ties to even, as nearbyint() in the default rounding
 * mode, for |v| < 2^22 (float) or 2^51 (double): adding and removing
 * 1.5 * 2^23 (2^52) drops the fraction. Inline and vectorizable, unlike a
 * libm call on a baseline x86-64 build.
 */
static inline float round_f(float v)
{
	return (v + 0x1.8p23f) - 0x1.8p23f;
}

static inline double round_d(double v)
{
	return (v + 0x1.8p52) - 0x1.8p52;
}

static inline uint32_t popcount12(uint32_t v)
{
	v = v - ((v >> 1) & 0x555);
	v = (v & 0x333) + ((v >> 2) & 0x333);
	v = (v + (v >> 4)) & 0x0f0f;
	return (v + (v >> 8)) & 0x1f;
}

/* abs-max of a finite vector, on the bit patterns: vectorizes */
HOT static float absmax(const float *x, unsigned int n)
{
	uint32_t m = 0, v;
	unsigned int i;
	float r;

	for (i = 0; i < n; i++) {
		memcpy(&v, &x[i], sizeof(v));
		v &= 0x7fffffffu;
		m = v > m ? v : m;
	}
	memcpy(&r, &m, sizeof(r));
	return r;
}

HOT static void dac_codes(const float *restrict x, unsigned int n,
			  float alpha, float q, float *restrict code,
			  uint32_t *restrict pc)
{
	unsigned int i;
	float v, a;

	for (i = 0; i < n; i++) {
		v = round_f(x[i] / alpha * q);
		v = v > q ? q : v;
		v = v < -q ? -q : v;
		code[i] = v;
		a = v < 0.0f ? -v : v;
		pc[i] += popcount12((uint32_t)(int32_t)a);
	}
}

/* DAC of one input vector: abs-max range, codes in [-Q, Q] */
static float dac_vector(const float *x, unsigned int n, float q, float *code,
			uint32_t *pc)
{
	float alpha = absmax(x, n);

	if (alpha == 0.0f) {
		memset(code, 0, n * sizeof(*code));
		return 0.0f;
	}
	dac_codes(x, n, alpha, q, code, pc);
	return alpha;
}

HOT static void widen_add(double *restrict y, const float *restrict p,
			  size_t n, bool add)
{
	size_t e;

	if (!add) {
		for (e = 0; e < n; e++)
			y[e] = p[e];
		return;
	}
	for (e = 0; e < n; e++)
		y[e] += p[e];
}

/*
 * acc = codes x kdiff over the window, exactly: the operands are integers
 * and every partial sum of a chunk of the inputs stays below 2^24, so any
 * BLAS kernel, blocking or thread count gives the same float result; the
 * chunks are added in double, which holds the total exactly too. Returns
 * whether the sums are in b->y (several chunks) rather than b->prod.
 */
static bool vmm_gemm(struct cim_xbar *xb, const struct cim_xbar_win *win,
		     bool trans, unsigned int batch, unsigned int nin,
		     unsigned int nout, unsigned int q, struct vmm_buf *b)
{
	unsigned int chunk = (FLOAT_EXACT - 1) / (q * top_level(xb));
	const float *w = &xb->kdiff[cell_of(xb, win->row, win->col)];
	unsigned int k0, kc;
	size_t n = (size_t)batch * nout;

	for (k0 = 0; k0 < nin; k0 += kc) {
		kc = nin - k0 < chunk ? nin - k0 : chunk;
		if (trans)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
				    (int)batch, (int)nout, (int)kc, 1.0f,
				    b->codes + k0, (int)nin, w + k0,
				    (int)xb->cols, 0.0f, b->prod, (int)nout);
		else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
				    (int)batch, (int)nout, (int)kc, 1.0f,
				    b->codes + k0, (int)nin,
				    w + (size_t)k0 * xb->cols, (int)xb->cols,
				    0.0f, b->prod, (int)nout);
		if (kc == nin)
			return false;
		widen_add(b->y, b->prod, n, k0 > 0);
	}
	return true;
}

/* abs-max of finite doubles, on the bit patterns: vectorizes */
HOT static double absmax_d(const double *y, unsigned int n)
{
	int64_t m = 0, v;
	unsigned int j;
	double r;

	for (j = 0; j < n; j++) {
		memcpy(&v, &y[j], sizeof(v));
		v &= INT64_MAX;
		m = v > m ? v : m;
	}
	memcpy(&r, &m, sizeof(r));
	return r;
}

static inline int64_t abs_bits(double v)
{
	int64_t b;

	memcpy(&b, &v, sizeof(b));
	return b & INT64_MAX;
}

static inline double of_bits(int64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/*
 * y = acc * scale [+ fs * nz], the scaling and the read noise in one pass,
 * from the float sums of a single chunk or the double sums of several;
 * returns max |y| (compared on the bit patterns, which vectorizes).
 */
HOT static double scale_f(double *restrict y, const float *restrict acc,
			  const float *restrict nz, unsigned int n,
			  double scale, double fs)
{
	int64_t m = 0, b;
	unsigned int j;
	double v;

	for (j = 0; j < n; j++) {
		v = acc[j] * scale;
		if (nz)
			v = v + fs * nz[j];
		y[j] = v;
		b = abs_bits(v);
		m = b > m ? b : m;
	}
	return of_bits(m);
}

HOT static double scale_d(double *restrict y, const double *restrict acc,
			  const float *restrict nz, unsigned int n,
			  double scale, double fs)
{
	int64_t m = 0, b;
	unsigned int j;
	double v;

	for (j = 0; j < n; j++) {
		v = acc[j] * scale;
		if (nz)
			v = v + fs * nz[j];
		y[j] = v;
		b = abs_bits(v);
		m = b > m ? b : m;
	}
	return of_bits(m);
}

/*
 * ADC codes of one vector, written back to @y before clipping: rounding a
 * value bounded to +-(QA + 1) leaves saturated codes at exactly +-(QA + 1).
 */
HOT static void adc_round(double *restrict y, unsigned int n, double inv,
			  double qa)
{
	unsigned int j;
	double c;

	for (j = 0; j < n; j++) {
		c = y[j] * inv;
		/* bound first so the rounding trick stays in range */
		c = c > qa + 1.0 ? qa + 1.0 : c;
		c = c < -qa - 1.0 ? -qa - 1.0 : c;
		y[j] = round_d(c);
	}
}

HOT static int64_t adc_clip(const double *restrict y, unsigned int n,
			    double qa, double lsb, float *restrict out)
{
	int64_t sat = 0;
	unsigned int j;
	double c;

	for (j = 0; j < n; j++) {
		c = y[j];
		sat += (c > qa) | (c < -qa);
		c = c > qa ? qa : c;
		c = c < -qa ? -qa : c;
		out[j] = (float)(c * lsb);
	}
	return sat;
}

static unsigned int adc_codes(double *y, unsigned int n, double fs, double qa,
			      float *out)
{
	adc_round(y, n, qa / fs, qa);
	return (unsigned int)adc_clip(y, n, qa, fs / qa, out);
}

/* the analog sums of one output vector: float (one chunk) or double */
struct vmm_acc {
	const float *f;
	const double *d;
};

static double scale_vector(double *y, struct vmm_acc acc, const float *nz,
			   unsigned int n, double scale, double fs)
{
	if (acc.f)
		return scale_f(y, acc.f, nz, n, scale, fs);
	return scale_d(y, acc.d, nz, n, scale, fs);
}

/*
 * Scale, read noise and ADC of one output vector, through @y (n doubles);
 * returns the saturations.
 */
static unsigned int adc_vector(struct cim_xbar *xb, struct vmm_acc acc,
			       double *y, unsigned int n, double scale,
			       bool fixed, double range, double qa,
			       float *noise, float *out)
{
	double rn = xb->cfg->read_noise, fs, ymax;

	if (rn > 0.0) {
		/*
		 * max |acc * scale| is max |acc| * scale: rounding is
		 * monotonic, so the full scale comes from the plain sums.
		 */
		if (!fixed)
			range = (acc.f ? absmax(acc.f, n) :
				 absmax_d(acc.d, n)) * scale;
		cim_rng_lanes_normal_fill(&xb->read, noise, n);
		ymax = scale_vector(y, acc, noise, n, scale, rn * range);
	} else {
		ymax = scale_vector(y, acc, NULL, n, scale, 0.0);
	}
	fs = fixed ? range : ymax;
	if (!(fs > 0.0)) {
		memset(out, 0, n * sizeof(*out));
		return 0;
	}
	return adc_codes(y, n, fs, qa, out);
}

HOT static uint32_t sum_levels(const uint8_t *restrict kp,
			      const uint8_t *restrict km, unsigned int n)
{
	uint32_t s = 0;
	unsigned int j;

	for (j = 0; j < n; j++)
		s += (uint32_t)kp[j] + km[j];
	return s;
}

HOT static void add_levels(uint32_t *restrict acc, const uint8_t *restrict kp,
			   const uint8_t *restrict km, unsigned int n)
{
	unsigned int j;

	for (j = 0; j < n; j++)
		acc[j] += (uint32_t)kp[j] + km[j];
}

static void line_levels_window(const struct cim_xbar *xb,
			       const struct cim_xbar_win *win, bool trans,
			       uint32_t *lsum)
{
	const uint8_t *kp, *km;
	unsigned int i;

	if (trans)
		memset(lsum, 0, win->ncols * sizeof(*lsum));
	for (i = 0; i < win->nrows; i++) {
		kp = &xb->kp[cell_of(xb, win->row + i, win->col)];
		km = &xb->km[cell_of(xb, win->row + i, win->col)];
		if (trans)
			add_levels(lsum, kp, km, win->ncols);
		else
			lsum[i] = sum_levels(kp, km, win->ncols);
	}
}

/*
 * Levels of G+ and G- summed along each input line of the window. A window
 * as wide as the tile along its lines (the usual case) takes them from the
 * per-tile sums, rebuilt only after the levels changed.
 */
static const uint32_t *line_levels(struct cim_xbar *xb,
				   const struct cim_xbar_win *win, bool trans,
				   uint32_t *lsum)
{
	struct cim_xbar_win all = { 0, xb->rows, 0, xb->cols };

	if (trans ? win->nrows != xb->rows : win->ncols != xb->cols) {
		line_levels_window(xb, win, trans, lsum);
		return lsum;
	}
	if (!xb->lev_valid) {
		line_levels_window(xb, &all, false, xb->lev_row);
		line_levels_window(xb, &all, true, xb->lev_col);
		xb->lev_valid = true;
	}
	return trans ? xb->lev_col + win->col : xb->lev_row + win->row;
}

/*
 * Bit-serial inputs: every set bit of a DAC code drives its line at V_read
 * for t_read through the window's G+ and G- along it.
 */
static void vmm_charge(const struct cim_xbar *xb, bool trans,
		       unsigned int batch, unsigned int nin,
		       unsigned int nout, const struct vmm_buf *b,
		       const uint32_t *lsum, struct cim_meter *m)
{
	const struct cim_fw_config *cfg = xb->cfg;
	const struct cim_cost_params *cost = &cfg->cost;
	double dg = (cfg->g_max_us - cfg->g_min_us) / top_level(xb);
	uint64_t bits = 0, lev = 0;
	unsigned int i;
	double g, t_arr, t_adc;

	for (i = 0; i < nin; i++) {
		bits += b->pc[i];
		lev += (uint64_t)b->pc[i] * lsum[i];
	}
	/* V^2 * uS * ps = 1e-18 J = 1e-3 fJ */
	g = 2.0 * nout * cfg->g_min_us * (double)bits + dg * (double)lev;
	t_arr = (double)batch * cfg->dac_bits * cost->t_read_ps;
	t_adc = (double)batch * ((nout + cost->cols_per_adc - 1) /
				 cost->cols_per_adc) * cost->t_adc_ps;
	cim_meter_charge(m, CIM_UNIT_XBAR_ARRAY,
			 cost->v_read * cost->v_read * cost->t_read_ps * g *
			 1e-3, t_arr);
	cim_meter_charge(m, CIM_UNIT_DAC,
			 (double)batch * nin * cost->e_dac_fj, t_arr);
	cim_meter_charge(m, CIM_UNIT_ADC,
			 (double)batch * nout * cost->e_adc_fj, t_adc);
	if (trans)
		m->vmm_trans += batch;
	else
		m->vmm_fwd += batch;
	m->dac_conversions += (uint64_t)batch * nin;
	m->adc_conversions += (uint64_t)batch * nout;
}

int cim_xbar_vmm(struct cim_xbar *xb, const struct cim_xbar_win *win,
		 bool trans, unsigned int batch, const float *in, float *out,
		 bool adc_fixed, float adc_range, struct cim_meter *m)
{
	const struct cim_fw_config *cfg = xb->cfg;
	unsigned int nin = trans ? win->ncols : win->nrows;
	unsigned int nout = trans ? win->nrows : win->ncols;
	unsigned int q = (1u << (cfg->dac_bits - 1)) - 1;
	double qa = (double)((1u << (cfg->adc_bits - 1)) - 1);
	double den = (double)q * top_level(xb);
	unsigned int bi, sat = 0;
	struct vmm_buf b;
	bool wide;

	if (!batch || !nin || !nout)
		return 0;
	if (vmm_buf_get(xb, batch, nin, nout, &b))
		return -ENOMEM;
	memset(b.pc, 0, nin * sizeof(*b.pc));
	for (bi = 0; bi < batch; bi++)
		b.alpha[bi] = dac_vector(in + (size_t)bi * nin, nin, (float)q,
					 b.codes + (size_t)bi * nin, b.pc);
	wide = vmm_gemm(xb, win, trans, batch, nin, nout, q, &b);
	for (bi = 0; bi < batch; bi++) {
		size_t o = (size_t)bi * nout;
		struct vmm_acc acc = {
			.f = wide ? NULL : b.prod + o,
			.d = wide ? b.y + o : NULL,
		};

		sat += adc_vector(xb, acc, b.tmp, nout,
				  b.alpha[bi] / den, adc_fixed, adc_range, qa,
				  b.noise, out + o);
	}
	m->adc_saturations += sat;
	vmm_charge(xb, trans, batch, nin, nout, &b,
		   line_levels(xb, win, trans, b.lsum), m);
	return 0;
}
