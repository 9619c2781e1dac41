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

#include "hot.h"
#include "par.h"
#include "xbar.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_VMM 1
#endif

/* tests: a lower level runs other paths, to compare them */
static enum cimfw_xbar_simd simd_max = CIMFW_XBAR_SIMD_AVX512_POPCNT;

/* the path of the DAC and the ADC: the highest the CPU and the tests allow */
static enum cimfw_xbar_simd simd_level(void)
{
#ifdef HAVE_AVX2_VMM
	if (simd_max >= CIMFW_XBAR_SIMD_AVX512 &&
	    __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl"))
		return simd_max >= CIMFW_XBAR_SIMD_AVX512_POPCNT &&
		       __builtin_cpu_supports("avx512vpopcntdq") ?
		       CIMFW_XBAR_SIMD_AVX512_POPCNT : CIMFW_XBAR_SIMD_AVX512;
	if (simd_max >= CIMFW_XBAR_SIMD_AVX2 && __builtin_cpu_supports("avx2"))
		return CIMFW_XBAR_SIMD_AVX2;
#endif
	return CIMFW_XBAR_SIMD_C;
}

enum cimfw_xbar_simd cimfw_xbar_set_simd_level(enum cimfw_xbar_simd max)
{
	simd_max = max;
	return simd_level();
}

/* largest exact integer of a float: every partial sum must stay below */
#define FLOAT_EXACT	(1u << 24)

static inline unsigned int top_level(const struct cimfw_xbar *xb)
{
	return xb->cfg->levels - 1;
}

static inline size_t cell_of(const struct cimfw_xbar *xb, unsigned int r,
			     unsigned int c)
{
	return (size_t)r * xb->cols + c;
}

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
	uint8_t top = (uint8_t)top_level(xb);

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
			cell = cell_of(xb, r, c);
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
	size_t cell = cell_of(xb, r, c), d = 2 * cell + (dev ? 1 : 0);
	uint8_t *k = dev ? &xb->km[cell] : &xb->kp[cell];
	double top = top_level(xb), g, delta;
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
		cimfw_xbar_pulse(xb, r, c, dev, e > 0.0, (unsigned int)n);
		acc->pulses += (unsigned int)n;
	}
}

void cimfw_xbar_program(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		      const float *w, unsigned int max_iters, float tol_levels,
		      struct cim_program_report *rep, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &xb->cfg->cost;
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
	cimfw_meter_charge(m, CIM_UNIT_PULSE, all.pulses * cost->e_pulse_fj,
			 time_ps);
}

/* Read-back ------------------------------------------------------------- */

void cimfw_xbar_read_weights(const struct cimfw_xbar *xb,
			   const struct cimfw_xbar_win *win, float *w)
{
	float top = (float)top_level(xb);
	unsigned int i, j;

	for (i = 0; i < win->nrows; i++)
		for (j = 0; j < win->ncols; j++)
			*w++ = xb->kdiff[cell_of(xb, win->row + i,
						 win->col + j)] / top;
}

void cimfw_xbar_read_g(const struct cimfw_xbar *xb,
		     const struct cimfw_xbar_win *win, float *g_pairs)
{
	const struct cimfw_config *cfg = xb->cfg;
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

/*
 * Vectors converted a block at a time, each block's read noise drawn just
 * before: the deviates stay in the cache.
 */
#define NOISE_BLOCK 64
/* vectors the ADC converts together (a lane of a double each) */
#define ADC_GROUP 8

/* views into xb->scratch for one call */
struct vmm_buf {
	float *codes;		/* batch x nin DAC codes, integers */
	float *prod;		/* batch x nout, one chunk of the analog sum */
	double *y;		/* batch x nout, the sums of several chunks */
	float *noise;		/* per part: NOISE_BLOCK x nstride deviates */
	double *tmp;		/* per part: ADC_GROUP output vectors being
				 * converted */
	float *alpha;		/* batch DAC ranges */
	uint32_t *pc;		/* per part, nin: set input bits over its rows */
	uint32_t *lsum;		/* nin: levels of G+ and G- along each input */
	float *wt;		/* per part: the window's transpose */
};

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/*
 * Carve the scratch, growing it only when a call needs more: @pcs and
 * @tmps are the per-part strides of pc and tmp, in elements.
 */
static int vmm_buf_get(struct cimfw_xbar *xb, unsigned int batch,
		       unsigned int nin, unsigned int nout, size_t nstride,
		       unsigned int nparts, size_t pcs, size_t tmps,
		       size_t wts, struct vmm_buf *b)
{
	size_t sz[9] = {
		(size_t)batch * nin * sizeof(float),
		(size_t)batch * nout * sizeof(float),
		(size_t)batch * nout * sizeof(double),
		(size_t)nparts * NOISE_BLOCK * nstride * sizeof(float),
		(size_t)batch * sizeof(float),
		nparts * pcs * sizeof(uint32_t),
		(size_t)nin * sizeof(uint32_t),
		nparts * tmps * sizeof(double),
		nparts * wts * sizeof(float),
	};
	size_t total = 0, off[9];
	char *p;
	int i;

	for (i = 0; i < 9; i++) {
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
	b->wt = (float *)(p + off[8]);
	return 0;
}

/*
 * Round to nearest, ties to even, as nearbyint() in the default rounding
 * mode, for |v| < 2^22 (float) or 2^51 (double): adding and removing
 * 1.5 * 2^23 (2^52) drops the fraction. Inline and vectorizable, unlike a
 * libm call on a baseline x86-64 build.
 */
INL float round_f(float v)
{
	return (v + 0x1.8p23f) - 0x1.8p23f;
}

INL double round_d(double v)
{
	return (v + 0x1.8p52) - 0x1.8p52;
}

INL uint32_t popcount12(uint32_t v)
{
	v = v - ((v >> 1) & 0x555);
	v = (v & 0x333) + ((v >> 2) & 0x333);
	v = (v + (v >> 4)) & 0x0f0f;
	return (v + (v >> 8)) & 0x1f;
}

/* returns the non-zero codes */
INL unsigned int dac_codes(const float *restrict x, unsigned int n,
			   float alpha, float q, float *restrict code,
			   uint32_t *restrict pc)
{
	unsigned int i, nz = 0;
	float v, a;

	for (i = 0; i < n; i++) {
		v = round_f(x[i] / alpha * q);
		v = v > q ? q : v;
		v = v < -q ? -q : v;
		code[i] = v;
		a = v < 0.0f ? -v : v;
		pc[i] += popcount12((uint32_t)(int32_t)a);
		nz += v != 0.0f;
	}
	return nz;
}

/*
 * DAC of @n input vectors of @nin values: abs-max range each, codes in
 * [-Q, Q]; the set bits of the codes summed per input line into @pc.
 * Returns the number of non-zero codes.
 */
HOT static size_t dac_rows_c(const float *restrict x, unsigned int n,
			     unsigned int nin, float q, float *restrict code,
			     float *restrict alpha, uint32_t *restrict pc)
{
	unsigned int bi;
	size_t nz = 0;
	float a;

	for (bi = 0; bi < n; bi++, x += nin, code += nin) {
		a = cimfw_absmax(x, nin);
		alpha[bi] = a;
		if (a == 0.0f) {
			memset(code, 0, nin * sizeof(*code));
			continue;
		}
		nz += dac_codes(x, nin, a, q, code, pc);
	}
	return nz;
}

#ifdef HAVE_AVX2_VMM
#define AVX2 __attribute__((target("avx2")))

/* lanes [0, k) of eight */
AVX2 static inline __m256i lanes_mask(unsigned int k)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k),
				  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* cimfw_absmax() eight floats a step, the last lanes masked (@tail: n % 8) */
AVX2 static inline float absmax_avx2(const float *x, unsigned int n,
				     __m256i tail)
{
	const __m256i absm = _mm256_set1_epi32(0x7fffffff);
	unsigned int i, full = n & ~7u;
	__m256i m = _mm256_setzero_si256();
	__m128i h;
	uint32_t mb;
	float a;

	for (i = 0; i < full; i += 8)
		m = _mm256_max_epu32(m, _mm256_and_si256(
			_mm256_loadu_si256((const __m256i *)(x + i)), absm));
	if (n & 7u)
		m = _mm256_max_epu32(m, _mm256_and_si256(
			_mm256_castps_si256(_mm256_maskload_ps(x + full,
							       tail)), absm));
	h = _mm_max_epu32(_mm256_castsi256_si128(m),
			  _mm256_extracti128_si256(m, 1));
	h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0x4e));
	h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0xb1));
	mb = (uint32_t)_mm_cvtsi128_si32(h);
	memcpy(&a, &mb, sizeof(a));
	return a;
}

/*
 * dac_rows_c() with explicit AVX2: per vector one abs-max pass and one
 * pass of codes, the last lanes masked, and the popcount of a code (below
 * 2^11) as three nibble look-ups. The same IEEE operations on the same
 * values (x / alpha * q, the rounding constant, the clamps in the order
 * of the C conditionals), so the same bits.
 */
AVX2 static size_t dac_rows_avx2(const float *restrict x, unsigned int n,
				 unsigned int nin, float q,
				 float *restrict code, float *restrict alpha,
				 uint32_t *restrict pc)
{
	const __m256i nib = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2,
					     3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2,
					     2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
	const __m256i m15 = _mm256_set1_epi32(15);
	const __m256 vq = _mm256_set1_ps(q), vnq = _mm256_set1_ps(-q);
	const __m256 rc = _mm256_set1_ps(0x1.8p23f);
	const __m256 zero = _mm256_setzero_ps();
	unsigned int full = nin & ~7u, rest = nin & 7u, bi, i;
	__m256i tail = lanes_mask(rest), nzv = _mm256_setzero_si256();
	__m256i ci, cnt, p;
	__m128i h;
	__m256 va, v, xv;
	float a;
	int nzs;

	for (bi = 0; bi < n; bi++, x += nin, code += nin) {
		a = absmax_avx2(x, nin, tail);
		alpha[bi] = a;
		if (a == 0.0f) {
			memset(code, 0, nin * sizeof(*code));
			continue;
		}
		va = _mm256_set1_ps(a);
		for (i = 0; i < nin; i += 8) {
			if (i < full)
				xv = _mm256_loadu_ps(x + i);
			else
				xv = _mm256_maskload_ps(x + i, tail);
			v = _mm256_mul_ps(_mm256_div_ps(xv, va), vq);
			v = _mm256_sub_ps(_mm256_add_ps(v, rc), rc);
			/* v > q ? q : v, then v < -q ? -q : v */
			v = _mm256_min_ps(vq, v);
			v = _mm256_max_ps(vnq, v);
			nzv = _mm256_sub_epi32(nzv, _mm256_castps_si256(
				_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ)));
			ci = _mm256_cvttps_epi32(_mm256_andnot_ps(
				_mm256_castsi256_ps(_mm256_set1_epi32(
					(int)0x80000000u)), v));
			cnt = _mm256_add_epi32(
				_mm256_shuffle_epi8(nib,
					_mm256_and_si256(ci, m15)),
				_mm256_shuffle_epi8(nib, _mm256_and_si256(
					_mm256_srli_epi32(ci, 4), m15)));
			cnt = _mm256_add_epi32(cnt, _mm256_shuffle_epi8(nib,
				_mm256_and_si256(_mm256_srli_epi32(ci, 8),
						 m15)));
			if (i < full) {
				_mm256_storeu_ps(code + i, v);
				p = _mm256_loadu_si256((const __m256i *)
						       (pc + i));
				_mm256_storeu_si256((__m256i *)(pc + i),
						    _mm256_add_epi32(p, cnt));
			} else {
				_mm256_maskstore_ps(code + i, tail, v);
				/*
				 * whole lanes: @pc is cleared up to a multiple
				 * of 16 and the masked lanes count 0; a masked
				 * store would stall the next vector's load
				 */
				p = _mm256_loadu_si256((const __m256i *)
						       (pc + i));
				_mm256_storeu_si256((__m256i *)(pc + i),
						    _mm256_add_epi32(p, cnt));
			}
		}
	}
	h = _mm_add_epi32(_mm256_castsi256_si128(nzv),
			  _mm256_extracti128_si256(nzv, 1));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
	nzs = _mm_cvtsi128_si32(h);
	return (size_t)(uint32_t)nzs;
}

/*
 * AVX-512 (F, BW, VL): sixteen floats or eight doubles a step, the last
 * lanes of a vector under a k-mask (masked loads do not fault, masked
 * stores leave the rest alone), with the same operations per element as
 * the C and AVX2 paths.
 */
#define AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl")))

/* lanes [0, k) of sixteen, k <= 16; of eight, k <= 8 */
INL __mmask16 lanes16(unsigned int k)
{
	return (__mmask16)((1u << k) - 1);
}

INL __mmask8 lanes8(unsigned int k)
{
	return (__mmask8)((1u << k) - 1);
}

/* the largest of sixteen unsigned lanes, in every lane */
AVX512 INL __m512i max_all_epu32(__m512i m)
{
	m = _mm512_max_epu32(m, _mm512_shuffle_i32x4(m, m, 0x4e));
	m = _mm512_max_epu32(m, _mm512_shuffle_i32x4(m, m, 0xb1));
	m = _mm512_max_epu32(m, _mm512_shuffle_epi32(m, (_MM_PERM_ENUM)0x4e));
	return _mm512_max_epu32(m, _mm512_shuffle_epi32(m,
							(_MM_PERM_ENUM)0xb1));
}

/* sixteen counts, summed without overflow */
AVX512 INL uint64_t sum_epu32(__m512i c)
{
	return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(
		_mm512_cvtepu32_epi64(_mm512_castsi512_si256(c)),
		_mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(c, 1))));
}

/*
 * The set bits of sixteen codes among their low twelve, as popcount12():
 * vpopcntd with @vpop (AVX512_VPOPCNTDQ), else three nibble look-ups. The
 * instruction is spelt in an asm statement so that one body, compiled for
 * F/BW/VL, serves both paths; only a caller that checked the CPU passes
 * @vpop.
 */
AVX512 INL __m512i popcount12_x16(__m512i c, bool vpop)
{
	const __m512i nib = _mm512_broadcast_i32x4(_mm_setr_epi8(
		0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
	const __m512i m15 = _mm512_set1_epi32(15);
	__m512i r;

	c = _mm512_and_si512(c, _mm512_set1_epi32(0xfff));
	if (vpop) {
		__asm__("{vpopcntd %1, %0|vpopcntd %0, %1}" : "=v"(r) : "v"(c));
		return r;
	}
	r = _mm512_add_epi32(_mm512_shuffle_epi8(nib, _mm512_and_si512(c, m15)),
			     _mm512_shuffle_epi8(nib, _mm512_and_si512(
				_mm512_srli_epi32(c, 4), m15)));
	/* the other bytes are 0, and so are their counts */
	return _mm512_add_epi32(r, _mm512_shuffle_epi8(nib,
						       _mm512_srli_epi32(c, 8)));
}

/*
 * dac_codes() of sixteen values @xv of a vector of range @va: the lanes
 * of @k converted, the others +0 (as memset() leaves a zero vector). Their
 * set bits go to *@cnt, the number of non-zero ones is added to *@nz.
 */
AVX512 INL __m512 dac_step16(__m512 xv, __mmask16 k, __m512 va, __m512 vq,
			     __m512 vnq, bool vpop, __m512i *cnt,
			     size_t *nz)
{
	const __m512i absm = _mm512_set1_epi32(0x7fffffff);
	const __m512 rc = _mm512_set1_ps(0x1.8p23f);
	__m512 v;

	v = _mm512_mul_ps(_mm512_maskz_div_ps(k, xv, va), vq);
	v = _mm512_sub_ps(_mm512_add_ps(v, rc), rc);
	/* v > q ? q : v, then v < -q ? -q : v */
	v = _mm512_min_ps(vq, v);
	v = _mm512_max_ps(vnq, v);
	*nz += (unsigned int)__builtin_popcount(_mm512_cmp_ps_mask(v,
				_mm512_setzero_ps(), _CMP_NEQ_UQ));
	*cnt = popcount12_x16(_mm512_cvttps_epi32(_mm512_castsi512_ps(
		_mm512_and_si512(_mm512_castps_si512(v), absm))), vpop);
	return v;
}

/* vectors of a block of dac_rows_avx512(), converted step by step */
#define DAC_BLOCK 16

/*
 * The largest lane of each of sixteen registers, m[v] in lane v: pairs of
 * registers folded into one, halving the lanes each of them holds.
 */
AVX512 INL __m512i max_each_epu32(const __m512i *m)
{
	const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2,
						6, 10, 14, 3, 7, 11, 15);
	__m512i r[8], u;
	unsigned int i;

	/* r[i]: 8 lanes of m[2i], then 8 of m[2i + 1] */
	#pragma GCC unroll 8
	for (i = 0; i < 8; i++)
		r[i] = _mm512_max_epu32(
			_mm512_shuffle_i32x4(m[2 * i], m[2 * i + 1], 0x44),
			_mm512_shuffle_i32x4(m[2 * i], m[2 * i + 1], 0xee));
	/* r[i]: 4 lanes each of m[4i], m[4i + 1], m[4i + 2], m[4i + 3] */
	#pragma GCC unroll 4
	for (i = 0; i < 4; i++)
		r[i] = _mm512_max_epu32(
			_mm512_shuffle_i32x4(r[2 * i], r[2 * i + 1], 0x88),
			_mm512_shuffle_i32x4(r[2 * i], r[2 * i + 1], 0xdd));
	/* r[i]: in 128-bit lane k, 2 lanes of m[8i + k], 2 of m[8i + 4 + k] */
	#pragma GCC unroll 2
	for (i = 0; i < 2; i++)
		r[i] = _mm512_max_epu32(
			_mm512_unpacklo_epi64(r[2 * i], r[2 * i + 1]),
			_mm512_unpackhi_epi64(r[2 * i], r[2 * i + 1]));
	/* lane 4k + c: m[4c + k] */
	u = _mm512_max_epu32(
		_mm512_castps_si512(_mm512_shuffle_ps(
			_mm512_castsi512_ps(r[0]), _mm512_castsi512_ps(r[1]),
			0x88)),
		_mm512_castps_si512(_mm512_shuffle_ps(
			_mm512_castsi512_ps(r[0]), _mm512_castsi512_ps(r[1]),
			0xdd)));
	return _mm512_permutexvar_epi32(order, u);
}

/*
 * dac_rows_avx512() for nin <= 32 (@two: more than 16): each vector in one
 * or two registers, a block at a time: the ranges of the block, then its
 * codes, the bit counts kept in registers.
 */
AVX512 INL size_t dac_short_avx512(const float *restrict x, unsigned int n,
				   unsigned int nin, float q,
				   float *restrict code, float *restrict alpha,
				   uint32_t *restrict pc, bool two, bool vpop)
{
	const __m512i absm = _mm512_set1_epi32(0x7fffffff);
	const __m512 vq = _mm512_set1_ps(q), vnq = _mm512_set1_ps(-q);
	__mmask16 k0 = lanes16(two ? 16 : nin), k1 = lanes16(two ? nin - 16 : 0);
	/* @pc has room up to a multiple of 16 */
	__m512i p0 = _mm512_loadu_si512(pc);
	__m512i p1 = two ? _mm512_loadu_si512(pc + 16) :
			   _mm512_setzero_si512();
	__m512i m[DAC_BLOCK], c0, c1;
	unsigned int b0, nb, bi, bits;
	float al[DAC_BLOCK];
	const float *xb;
	size_t nz = 0;
	__mmask16 on;
	__m512 va, v;

	for (b0 = 0; b0 < n; b0 += nb) {
		nb = n - b0 < DAC_BLOCK ? n - b0 : DAC_BLOCK;
		/* the ranges of the block, those past vector nb 0 */
		#pragma GCC unroll 16
		for (bi = 0; bi < DAC_BLOCK; bi++) {
			xb = x + (size_t)(b0 + (bi < nb ? bi : 0)) * nin;
			m[bi] = _mm512_and_si512(_mm512_maskz_loadu_epi32(
				bi < nb ? k0 : 0, xb), absm);
			if (two)
				m[bi] = _mm512_max_epu32(m[bi],
					_mm512_and_si512(
					_mm512_maskz_loadu_epi32(bi < nb ? k1 :
								 0, xb + 16),
					absm));
		}
		m[0] = max_each_epu32(m);
		_mm512_mask_storeu_epi32(alpha + b0, lanes16(nb), m[0]);
		_mm512_storeu_si512(al, m[0]);
		/* bit bi: vector bi is not zero (zero ones: zero codes) */
		on = _mm512_test_epi32_mask(m[0], m[0]);
		for (bits = on; bits; bits &= bits - 1) {
			bi = (unsigned int)__builtin_ctz(bits);
			xb = x + (size_t)(b0 + bi) * nin;
			va = _mm512_set1_ps(al[bi]);
			v = dac_step16(_mm512_maskz_loadu_ps(k0, xb), k0, va,
				       vq, vnq, vpop, &c0, &nz);
			_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) * nin,
					      k0, v);
			p0 = _mm512_add_epi32(p0, c0);
			if (two) {
				v = dac_step16(_mm512_maskz_loadu_ps(k1,
								     xb + 16),
					       k1, va, vq, vnq, vpop, &c1,
					       &nz);
				_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) *
						      nin + 16, k1, v);
				p1 = _mm512_add_epi32(p1, c1);
			}
		}
		for (bits = lanes16(nb) & ~on; bits; bits &= bits - 1) {
			bi = (unsigned int)__builtin_ctz(bits);
			_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) * nin,
					      k0, _mm512_setzero_ps());
			if (two)
				_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) *
						      nin + 16, k1,
						      _mm512_setzero_ps());
		}
	}
	_mm512_storeu_si512(pc, p0);
	if (two)
		_mm512_storeu_si512(pc + 16, p1);
	return nz;
}

/*
 * dac_rows_c() with AVX-512, sixteen values a step. Longer vectors go a
 * block at a time: the ranges of the block, then each step of sixteen
 * input lines across its vectors, their bit counts added in a register
 * and to @pc once: the vectors overlap, and no store of @pc waits for
 * the one before.
 */
AVX512 INL size_t dac_rows_avx512(const float *restrict x, unsigned int n,
				  unsigned int nin, float q,
				  float *restrict code, float *restrict alpha,
				  uint32_t *restrict pc, bool vpop)
{
	const __m512i absm = _mm512_set1_epi32(0x7fffffff);
	const __m512 vq = _mm512_set1_ps(q), vnq = _mm512_set1_ps(-q);
	__m512i m, cnt, acc;
	size_t nz = 0;
	unsigned int b0, nb, bi, i, bits;
	float al[DAC_BLOCK];
	__mmask16 k, on;
	const float *xb;
	__m512 v;

	if (nin <= 16)
		return dac_short_avx512(x, n, nin, q, code, alpha, pc, false,
					vpop);
	if (nin <= 32)
		return dac_short_avx512(x, n, nin, q, code, alpha, pc, true,
					vpop);
	for (b0 = 0; b0 < n; b0 += nb) {
		nb = n - b0 < DAC_BLOCK ? n - b0 : DAC_BLOCK;
		for (bi = 0; bi < nb; bi++) {
			xb = x + (size_t)(b0 + bi) * nin;
			m = _mm512_setzero_si512();
			for (i = 0; i < nin; i += 16) {
				k = lanes16(nin - i < 16 ? nin - i : 16);
				m = _mm512_max_epu32(m, _mm512_and_si512(
					_mm512_maskz_loadu_epi32(k, xb + i),
					absm));
			}
			m = max_all_epu32(m);
			al[bi] = _mm512_cvtss_f32(_mm512_castsi512_ps(m));
			alpha[b0 + bi] = al[bi];
		}
		/* bit bi: vector bi is not zero (zero ones: zero codes) */
		on = _mm512_mask_cmp_ps_mask(lanes16(nb),
					     _mm512_maskz_loadu_ps(lanes16(nb),
								   al),
					     _mm512_setzero_ps(), _CMP_NEQ_UQ);
		for (i = 0; i < nin; i += 16) {
			k = lanes16(nin - i < 16 ? nin - i : 16);
			acc = _mm512_setzero_si512();
			for (bits = on; bits; bits &= bits - 1) {
				bi = (unsigned int)__builtin_ctz(bits);
				xb = x + (size_t)(b0 + bi) * nin + i;
				v = dac_step16(_mm512_maskz_loadu_ps(k, xb), k,
					       _mm512_set1_ps(al[bi]), vq, vnq,
					       vpop, &cnt, &nz);
				_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) *
						      nin + i, k, v);
				acc = _mm512_add_epi32(acc, cnt);
			}
			/* whole lanes: @pc has room, the others count 0 */
			_mm512_storeu_si512(pc + i, _mm512_add_epi32(
				_mm512_loadu_si512(pc + i), acc));
		}
		for (bits = lanes16(nb) & ~on; bits; bits &= bits - 1) {
			bi = (unsigned int)__builtin_ctz(bits);
			memset(code + (size_t)(b0 + bi) * nin, 0,
			       nin * sizeof(*code));
		}
	}
	return nz;
}

AVX512 static size_t dac_rows_avx512_lut(const float *restrict x,
					 unsigned int n, unsigned int nin,
					 float q, float *restrict code,
					 float *restrict alpha,
					 uint32_t *restrict pc)
{
	return dac_rows_avx512(x, n, nin, q, code, alpha, pc, false);
}

/* the same body, with the vpopcntd instruction */
AVX512 static size_t dac_rows_avx512_vpop(const float *restrict x,
					  unsigned int n, unsigned int nin,
					  float q, float *restrict code,
					  float *restrict alpha,
					  uint32_t *restrict pc)
{
	return dac_rows_avx512(x, n, nin, q, code, alpha, pc, true);
}
#endif

static size_t dac_rows(enum cimfw_xbar_simd simd, const float *restrict x,
		       unsigned int n, unsigned int nin, float q,
		       float *restrict code, float *restrict alpha,
		       uint32_t *restrict pc)
{
	switch (simd) {
#ifdef HAVE_AVX2_VMM
	case CIMFW_XBAR_SIMD_AVX512_POPCNT:
		return dac_rows_avx512_vpop(x, n, nin, q, code, alpha, pc);
	case CIMFW_XBAR_SIMD_AVX512:
		return dac_rows_avx512_lut(x, n, nin, q, code, alpha, pc);
	case CIMFW_XBAR_SIMD_AVX2:
		return dac_rows_avx2(x, n, nin, q, code, alpha, pc);
#endif
	default:
		return dac_rows_c(x, n, nin, q, code, alpha, pc);
	}
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

/* input lines summed exactly in one float product */
static unsigned int gemm_chunk(const struct cimfw_xbar *xb, unsigned int q)
{
	return (FLOAT_EXACT - 1) / (q * top_level(xb));
}

/*
 * acc = codes x kdiff over the window for @batch vectors, exactly: the
 * operands are integers and every partial sum of a chunk of the inputs
 * stays below 2^24, so any BLAS kernel, blocking or thread count gives the
 * same float result, and so does any split of the batch; the chunks are
 * added in double (@y), which holds the total exactly too. A single chunk
 * leaves the sums in @prod.
 */
static void vmm_gemm(const struct cimfw_xbar *xb,
		     const struct cimfw_xbar_win *win, bool trans,
		     unsigned int batch, unsigned int nin, unsigned int nout,
		     unsigned int q, const float *codes, float *prod,
		     double *y)
{
	unsigned int chunk = gemm_chunk(xb, q);
	const float *w = &xb->kdiff[cell_of(xb, win->row, win->col)];
	unsigned int k0, kc;
	size_t n = (size_t)batch * nout;

	for (k0 = 0; k0 < nin; k0 += kc) {
		kc = nin - k0 < chunk ? nin - k0 : chunk;
		if (trans)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
				    (int)batch, (int)nout, (int)kc, 1.0f,
				    codes + k0, (int)nin, w + k0,
				    (int)xb->cols, 0.0f, prod, (int)nout);
		else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
				    (int)batch, (int)nout, (int)kc, 1.0f,
				    codes + k0, (int)nin,
				    w + (size_t)k0 * xb->cols, (int)xb->cols,
				    0.0f, prod, (int)nout);
		if (kc == nin)
			return;
		widen_add(y, prod, n, k0 > 0);
	}
}

/*
 * vmm_gemm() for sparse codes of a single chunk: each output vector the
 * sum of the weight lines of its non-zero codes, @w holding line i at
 * i * @ldw (nout floats). The same exact integer sums as the BLAS product
 * (below 2^24 in any order), so the same bits; only the sign of a zero
 * sum may differ, which the ADC's rounding removes (it never reaches an
 * output).
 */
HOT static void sparse_gemm(unsigned int batch, unsigned int nin,
			    unsigned int nout, const float *restrict codes,
			    const float *restrict w, size_t ldw,
			    float *restrict prod)
{
	unsigned int bi, i, j, k, nz, idx[CIM_MAX_XBAR_DIM];
	const float *wi;
	float c;

	for (bi = 0; bi < batch; bi++, codes += nin, prod += nout) {
		/* the non-zero lines first, without a branch per line */
		for (i = 0, nz = 0; i < nin; i++) {
			idx[nz] = i;
			nz += codes[i] != 0.0f;
		}
		memset(prod, 0, nout * sizeof(*prod));
		for (k = 0; k < nz; k++) {
			i = idx[k];
			c = codes[i];
			wi = w + i * ldw;
			for (j = 0; j < nout; j++)
				prod[j] += c * wi[j];
		}
	}
}

/* the window's transpose, nout lines of nin: the lines of a transposed VMM */
static void window_lines_t(const struct cimfw_xbar *xb,
			   const struct cimfw_xbar_win *win, float *wt)
{
	unsigned int i, j;

	for (j = 0; j < win->nrows; j++)
		for (i = 0; i < win->ncols; i++)
			wt[(size_t)i * win->nrows + j] =
				xb->kdiff[cell_of(xb, win->row + j,
						  win->col + i)];
}

/* abs-max of finite doubles, on the bit patterns: vectorizes */
INL double absmax_d(const double *y, unsigned int n)
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

INL int64_t abs_bits(double v)
{
	int64_t b;

	memcpy(&b, &v, sizeof(b));
	return b & INT64_MAX;
}

INL double of_bits(int64_t b)
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
INL double scale_f(double *restrict y, const float *restrict acc,
		   const float *restrict nz, unsigned int n, double scale,
		   double fs)
{
	int64_t m = 0, b;
	unsigned int j;
	double v;

	if (nz) {
		for (j = 0; j < n; j++) {
			v = acc[j] * scale;
			v = v + fs * nz[j];
			y[j] = v;
			b = abs_bits(v);
			m = b > m ? b : m;
		}
	} else {
		for (j = 0; j < n; j++) {
			v = acc[j] * scale;
			y[j] = v;
			b = abs_bits(v);
			m = b > m ? b : m;
		}
	}
	return of_bits(m);
}

INL double scale_d(double *restrict y, const double *restrict acc,
		   const float *restrict nz, unsigned int n, double scale,
		   double fs)
{
	int64_t m = 0, b;
	unsigned int j;
	double v;

	if (nz) {
		for (j = 0; j < n; j++) {
			v = acc[j] * scale;
			v = v + fs * nz[j];
			y[j] = v;
			b = abs_bits(v);
			m = b > m ? b : m;
		}
	} else {
		for (j = 0; j < n; j++) {
			v = acc[j] * scale;
			y[j] = v;
			b = abs_bits(v);
			m = b > m ? b : m;
		}
	}
	return of_bits(m);
}

/*
 * ADC codes of one vector, written back to @y before clipping: rounding a
 * value bounded to +-(QA + 1) leaves saturated codes at exactly +-(QA + 1).
 */
INL void adc_round(double *restrict y, unsigned int n, double inv, double qa)
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

INL int64_t adc_clip(const double *restrict y, unsigned int n, double qa,
		     double lsb, float *restrict out)
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

/**
 * struct vmm_adc - the output side of a VMM call
 * @accf: the analog sums, batch x @nout floats (one chunk), or else
 * @accd: batch x @nout doubles (several chunks)
 * @alpha: the DAC range of each input vector
 * @noise: non-NULL with read noise: the deviates, @nstride per vector
 *         (used: the first @nout), reach adc_rows() a block at a time
 * @den: Q * (L - 1), the scale's denominator
 * @rn: read noise, relative to the full scale
 * @fixed: the ADC's full scale is @range, not each vector's abs-max
 * @qa: the ADC's largest code
 * @simd: the path of the DAC and the ADC
 */
struct vmm_adc {
	const float *accf;
	const double *accd;
	const float *alpha;
	const float *noise;
	size_t nstride;
	unsigned int nout;
	double den, rn, range, qa;
	bool fixed;
	enum cimfw_xbar_simd simd;
};

/*
 * Scale, read noise and ADC of output vectors [@b0, @b1), through @y (nout
 * doubles); returns the saturations.
 */
HOT static unsigned int adc_rows_c(const struct vmm_adc *a, unsigned int b0,
				   unsigned int b1, const float *noise,
				   double *restrict y, float *restrict out)
{
	unsigned int bi, n = a->nout;
	int64_t sat = 0;
	double scale, range, fs, ymax;
	const float *nz;

	for (bi = b0; bi < b1; bi++) {
		const float *af = a->accf ? a->accf + (size_t)bi * n : NULL;
		const double *ad = a->accd ? a->accd + (size_t)bi * n : NULL;
		float *o = out + (size_t)bi * n;

		/*
		 * a zero input vector gives zero sums; without a fixed range
		 * its full scale is 0 and its output 0, whatever the noise
		 * (which vmm_noise() therefore does not compute)
		 */
		if (!a->fixed && a->alpha[bi] == 0.0f) {
			memset(o, 0, n * sizeof(*o));
			continue;
		}
		scale = a->alpha[bi] / a->den;
		range = a->range;
		nz = NULL;
		if (a->noise) {
			/*
			 * max |acc * scale| is max |acc| * scale: rounding is
			 * monotonic, so the full scale comes from the plain
			 * sums.
			 */
			if (!a->fixed)
				range = (af ? cimfw_absmax(af, n) :
					 absmax_d(ad, n)) * scale;
			nz = noise + (size_t)(bi - b0) * a->nstride;
		}
		ymax = af ? scale_f(y, af, nz, n, scale, a->rn * range) :
			    scale_d(y, ad, nz, n, scale, a->rn * range);
		fs = a->fixed ? a->range : ymax;
		if (!(fs > 0.0)) {
			memset(o, 0, n * sizeof(*o));
			continue;
		}
		adc_round(y, n, a->qa / fs, a->qa);
		sat += adc_clip(y, n, a->qa, fs / a->qa, o);
	}
	return (unsigned int)sat;
}

#ifdef HAVE_AVX2_VMM
/* lanes [0, k) of four doubles, and of four floats */
AVX2 static inline __m256i lanes_mask_d(unsigned int k)
{
	return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)k),
				  _mm256_setr_epi64x(0, 1, 2, 3));
}

/* the mask of four doubles as one of four floats */
AVX2 static inline __m128i mask_ps4(__m256i m)
{
	return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(m,
		_mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0)));
}

/* the sums j..j+3 of one vector as doubles, lanes off @m (@mf) zero */
AVX2 static inline __m256d acc4(const float *af, const double *ad,
				unsigned int j, bool full, __m256i m,
				__m128i mf)
{
	if (af)
		return _mm256_cvtps_pd(full ? _mm_loadu_ps(af + j) :
				       _mm_maskload_ps(af + j, mf));
	return full ? _mm256_loadu_pd(ad + j) : _mm256_maskload_pd(ad + j, m);
}

/*
 * adc_rows_c() with explicit AVX2, four doubles a step: the full scale,
 * the scaling with the read noise, then the rounding and the clipping in
 * one pass (adc_round() and adc_clip() fused: the same operations per
 * element). Same IEEE operations in the same order, maxima on the bit
 * patterns, clamps in the order of the C conditionals: the same bits.
 */
AVX2 static unsigned int adc_rows_avx2(const struct vmm_adc *a,
				       unsigned int b0, unsigned int b1,
				       const float *noise,
				       double *restrict y,
				       float *restrict out)
{
	const __m256i absd = _mm256_set1_epi64x(INT64_MAX);
	const __m256d rc = _mm256_set1_pd(0x1.8p52);
	const __m256d qa = _mm256_set1_pd(a->qa), nqa = _mm256_set1_pd(-a->qa);
	const __m256d qa1 = _mm256_set1_pd(a->qa + 1.0);
	const __m256d nqa1 = _mm256_set1_pd(-a->qa - 1.0);
	unsigned int bi, j, n = a->nout, full = n & ~3u;
	__m256i tail = lanes_mask_d(n & 3u), m, b, lanes;
	__m128i tailf = mask_ps4(tail);
	__m256i tail8 = lanes_mask(n & 7u);
	double scale, range, fs, ymax;
	__m256d v, vs, vf, inv, lsb;
	__m128i h;
	int64_t sat = 0, mb;
	const float *nz;
	bool fl;

	for (bi = b0; bi < b1; bi++) {
		const float *af = a->accf ? a->accf + (size_t)bi * n : NULL;
		const double *ad = a->accd ? a->accd + (size_t)bi * n : NULL;
		float *o = out + (size_t)bi * n;

		if (!a->fixed && a->alpha[bi] == 0.0f) {
			memset(o, 0, n * sizeof(*o));
			continue;
		}
		scale = a->alpha[bi] / a->den;
		range = a->range;
		nz = NULL;
		if (a->noise) {
			if (!a->fixed)
				range = (af ? absmax_avx2(af, n, tail8) :
					 absmax_d(ad, n)) * scale;
			nz = noise + (size_t)(bi - b0) * a->nstride;
		}
		vs = _mm256_set1_pd(scale);
		vf = _mm256_set1_pd(a->rn * range);
		m = _mm256_setzero_si256();
		for (j = 0; j < n; j += 4) {
			fl = j < full;
			v = _mm256_mul_pd(acc4(af, ad, j, fl, tail, tailf), vs);
			if (nz)
				v = _mm256_add_pd(v, _mm256_mul_pd(vf,
					_mm256_cvtps_pd(fl ?
					  _mm_loadu_ps(nz + j) :
					  _mm_maskload_ps(nz + j, tailf))));
			/* y has room up to a multiple of 16 */
			_mm256_storeu_pd(y + j, v);
			b = _mm256_and_si256(_mm256_castpd_si256(v), absd);
			if (!fl)
				b = _mm256_and_si256(b, tail);
			m = _mm256_blendv_epi8(m, b, _mm256_cmpgt_epi64(b, m));
		}
		h = _mm256_extracti128_si256(m, 1);
		h = _mm_blendv_epi8(_mm256_castsi256_si128(m), h,
				    _mm_cmpgt_epi64(h,
						    _mm256_castsi256_si128(m)));
		mb = _mm_cvtsi128_si64(h);
		mb = _mm_extract_epi64(h, 1) > mb ? _mm_extract_epi64(h, 1) :
						     mb;
		memcpy(&ymax, &mb, sizeof(ymax));
		fs = a->fixed ? a->range : ymax;
		if (!(fs > 0.0)) {
			memset(o, 0, n * sizeof(*o));
			continue;
		}
		inv = _mm256_set1_pd(a->qa / fs);
		lsb = _mm256_set1_pd(fs / a->qa);
		for (j = 0; j < n; j += 4) {
			v = _mm256_mul_pd(_mm256_loadu_pd(y + j), inv);
			v = _mm256_min_pd(qa1, v);
			v = _mm256_max_pd(nqa1, v);
			v = _mm256_sub_pd(_mm256_add_pd(v, rc), rc);
			lanes = _mm256_castpd_si256(_mm256_or_pd(
				_mm256_cmp_pd(v, qa, _CMP_GT_OQ),
				_mm256_cmp_pd(v, nqa, _CMP_LT_OQ)));
			v = _mm256_min_pd(qa, v);
			v = _mm256_max_pd(nqa, v);
			v = _mm256_mul_pd(v, lsb);
			if (j < full) {
				sat += __builtin_popcount((unsigned int)
					_mm256_movemask_pd(
						_mm256_castsi256_pd(lanes)));
				_mm_storeu_ps(o + j, _mm256_cvtpd_ps(v));
			} else {
				sat += __builtin_popcount((unsigned int)
					_mm256_movemask_pd(_mm256_castsi256_pd(
					  _mm256_and_si256(lanes, tail))));
				_mm_maskstore_ps(o + j, tailf,
						 _mm256_cvtpd_ps(v));
			}
		}
	}
	return (unsigned int)sat;
}

/* the largest of eight non-negative lanes, in every lane */
AVX512 INL __m512i max_all_epi64(__m512i m)
{
	m = _mm512_max_epi64(m, _mm512_shuffle_i64x2(m, m, 0x4e));
	m = _mm512_max_epi64(m, _mm512_shuffle_i64x2(m, m, 0xb1));
	return _mm512_max_epi64(m, _mm512_shuffle_epi32(m,
							(_MM_PERM_ENUM)0x4e));
}

/* cimfw_absmax() and absmax_d(), sixteen floats or eight doubles a step */
AVX512 INL float absmax_f512(const float *x, unsigned int n)
{
	const __m512i absm = _mm512_set1_epi32(0x7fffffff);
	__m512i m = _mm512_setzero_si512();
	unsigned int i;

	for (i = 0; i < n; i += 16)
		m = _mm512_max_epu32(m, _mm512_and_si512(
			_mm512_maskz_loadu_epi32(lanes16(n - i < 16 ? n - i :
							 16), x + i), absm));
	return _mm512_cvtss_f32(_mm512_castsi512_ps(max_all_epu32(m)));
}

AVX512 INL double absmax_d512(const double *y, unsigned int n)
{
	const __m512i absd = _mm512_set1_epi64(INT64_MAX);
	__m512i m = _mm512_setzero_si512();
	unsigned int j;

	for (j = 0; j < n; j += 8)
		m = _mm512_max_epi64(m, _mm512_and_si512(
			_mm512_maskz_loadu_epi64(lanes8(n - j < 8 ? n - j : 8),
						 y + j), absd));
	return _mm512_cvtsd_f64(_mm512_castsi512_pd(max_all_epi64(m)));
}

/* the sums j..j+7 of one vector as doubles, lanes off @k zero */
AVX512 INL __m512d acc8(const float *af, const double *ad, unsigned int j,
			__mmask8 k)
{
	if (af)
		return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, af + j));
	return _mm512_maskz_loadu_pd(k, ad + j);
}

/*
 * adc_round() and adc_clip() of eight values @y, in the order of their C
 * conditionals: the outputs as floats, +0 off the lanes of @k, whose
 * saturations are added to *@sat.
 */
AVX512 INL __m256 adc_conv8(__m512d y, __mmask8 k, __m512d inv, __m512d lsb,
			    double q, unsigned int *sat)
{
	const __m512d rc = _mm512_set1_pd(0x1.8p52);
	const __m512d qa = _mm512_set1_pd(q), nqa = _mm512_set1_pd(-q);
	const __m512d qa1 = _mm512_set1_pd(q + 1.0);
	const __m512d nqa1 = _mm512_set1_pd(-q - 1.0);
	__m512d v;
	__mmask8 s;

	v = _mm512_mul_pd(y, inv);
	v = _mm512_min_pd(qa1, v);
	v = _mm512_max_pd(nqa1, v);
	v = _mm512_sub_pd(_mm512_add_pd(v, rc), rc);
	s = _mm512_mask_cmp_pd_mask(k, v, qa, _CMP_GT_OQ) |
	    _mm512_mask_cmp_pd_mask(k, v, nqa, _CMP_LT_OQ);
	*sat += (unsigned int)__builtin_popcount(s);
	v = _mm512_min_pd(qa, v);
	v = _mm512_max_pd(nqa, v);
	return _mm512_maskz_cvtpd_ps(k, _mm512_mul_pd(v, lsb));
}

/* floats [0, 8) and [8, 16) of @v as doubles */
AVX512 INL __m512d lo8_pd(__m512 v)
{
	return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}

AVX512 INL __m512d hi8_pd(__m512 v)
{
	return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(
		_mm512_castps_pd(v), 1)));
}

/* @lo in floats [0, 8), @hi in [8, 16) */
AVX512 INL __m512 join8(__m256 lo, __m256 hi)
{
	return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(
		_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

/* lanes i of @lo (idx < 32) or @hi (idx >= 32), of 64 floats in four */
AVX512 INL __m512 pick64(const __m512 *r, __m512i idx, __mmask16 hi)
{
	return _mm512_mask_blend_ps(hi, _mm512_permutex2var_ps(r[0], idx, r[1]),
				    _mm512_permutex2var_ps(r[2], idx, r[3]));
}

/*
 * adc_rows_avx512() for nout <= 8 and the float sums of one chunk: eight
 * vectors a step, one per lane, after a transpose in registers (output j
 * of the eight in one register). No reductions across lanes, the
 * divisions of eight vectors in one instruction, and zero vectors and
 * full scales under a mask rather than a branch; per element the same
 * operations as adc_rows_c().
 */
AVX512 INL unsigned int adc_short_avx512(const struct vmm_adc *pa,
					 unsigned int b0, unsigned int b1,
					 const float *noise,
					 float *restrict out, unsigned int n)
{
	/* a copy: the stores through @out could alias *@pa */
	const struct vmm_adc a = *pa;
	const __m512i absm = _mm512_set1_epi32(0x7fffffff);
	const __m512i absd = _mm512_set1_epi64(INT64_MAX);
	const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
					       10, 11, 12, 13, 14, 15);
	const __m512i lane8 = _mm512_and_si512(iota, _mm512_set1_epi32(7));
	const __m512i v32 = _mm512_set1_epi32(32);
	unsigned int np = (n + 1) / 2, g, nb, p, j, h, sat = 0;
	/* pair p of outputs: 2p in lanes [0, 8), 2p + 1 in [8, 16) */
	__m512i tin[4], tnz[4], tout[4], t, l;
	__mmask16 hin[4], hnz[4], hout[4];
	__m512 za[4], zn[4], acc[4], nzp[4], o[4];
	__m512d y[8], scale, f, fs, inv, lsb;
	__m512i m, ymax;
	__mmask8 kv, on, ok;
	__m256 al;
	const float *af, *nz;

	/* output 2p + (i >> 3) of vector i & 7: float (i & 7) * n + ... */
	#pragma GCC unroll 8
	for (p = 0; p < 4; p++) {
		tin[p] = _mm512_add_epi32(_mm512_mullo_epi32(lane8,
				_mm512_set1_epi32((int)n)),
			_mm512_add_epi32(_mm512_srli_epi32(iota, 3),
					 _mm512_set1_epi32(2 * (int)p)));
		hin[p] = _mm512_cmpge_epu32_mask(tin[p], v32);
		/* the deviates: eight of each vector, in four registers */
		tnz[p] = _mm512_add_epi32(_mm512_slli_epi32(lane8, 3),
			_mm512_add_epi32(_mm512_srli_epi32(iota, 3),
					 _mm512_set1_epi32(2 * (int)p)));
		hnz[p] = _mm512_cmpge_epu32_mask(tnz[p], v32);
		/* float 16p + i of the outputs: t / n of output t % n */
		t = _mm512_add_epi32(iota, _mm512_set1_epi32(16 * (int)p));
		l = _mm512_cvttps_epi32(_mm512_div_ps(_mm512_cvtepi32_ps(t),
					_mm512_set1_ps((float)n)));
		t = _mm512_sub_epi32(t, _mm512_mullo_epi32(l,
					_mm512_set1_epi32((int)n)));
		tout[p] = _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(
			_mm512_slli_epi32(_mm512_srli_epi32(t, 1), 4),
			_mm512_slli_epi32(_mm512_and_si512(t,
				_mm512_set1_epi32(1)), 3)), l),
			_mm512_set1_epi32(63));
		hout[p] = _mm512_cmpge_epu32_mask(tout[p], v32);
		za[p] = zn[p] = acc[p] = nzp[p] = o[p] = _mm512_setzero_ps();
	}
	for (g = b0; g < b1; g += 8) {
		nb = b1 - g < 8 ? b1 - g : 8;
		kv = lanes8(nb);
		af = a.accf + (size_t)g * n;
		al = _mm256_maskz_loadu_ps(kv, a.alpha + g);
		on = a.fixed ? kv : _mm256_mask_cmp_ps_mask(kv, al,
				_mm256_setzero_ps(), _CMP_NEQ_UQ);
		scale = _mm512_div_pd(_mm512_cvtps_pd(al),
				      _mm512_set1_pd(a.den));
		/* 8n floats in np registers, those past vector nb zero */
		#pragma GCC unroll 8
		for (p = 0; p < np; p++)
			za[p] = _mm512_maskz_loadu_ps(nb * n <= 16 * p ? 0 :
				lanes16(nb * n - 16 * p < 16 ? nb * n - 16 * p :
					16), af + 16 * p);
		#pragma GCC unroll 8
		for (p = 0; p < np; p++)
			acc[p] = pick64(za, tin[p], hin[p]);
		/* the read noise's scale, rn * range */
		f = _mm512_set1_pd(a.rn * a.range);
		if (a.noise && !a.fixed) {
			m = _mm512_setzero_si512();
			#pragma GCC unroll 8
			for (p = 0; p < np; p++)
				/* an odd n: the second half is no output */
				m = _mm512_mask_max_epu32(m, 2 * p + 1 < n ?
					0xffff : 0x00ff, m, _mm512_and_si512(
					_mm512_castps_si512(acc[p]), absm));
			m = _mm512_max_epu32(m, _mm512_shuffle_i64x2(m, m,
								     0x4e));
			f = _mm512_mul_pd(_mm512_set1_pd(a.rn), _mm512_mul_pd(
				lo8_pd(_mm512_castsi512_ps(m)), scale));
		}
		if (a.noise) {
			/* the deviates of the vectors converted, as drawn */
			nz = noise + (size_t)(g - b0) * a.nstride;
			#pragma GCC unroll 8
			for (p = 0; p < 4; p++)
				zn[p] = join8(_mm256_maskz_loadu_ps(
					((on >> 2 * p) & 1) ? lanes8(n) : 0,
					nz + 2 * p * a.nstride),
					_mm256_maskz_loadu_ps(
					((on >> (2 * p + 1)) & 1) ? lanes8(n) : 0,
					nz + (2 * p + 1) * a.nstride));
			#pragma GCC unroll 8
			for (p = 0; p < np; p++)
				nzp[p] = pick64(zn, tnz[p], hnz[p]);
		}
		ymax = _mm512_setzero_si512();
		#pragma GCC unroll 8
		for (j = 0; j < n; j++) {
			p = j / 2;
			h = j & 1;
			y[j] = _mm512_mul_pd(h ? hi8_pd(acc[p]) : lo8_pd(acc[p]),
					     scale);
			if (a.noise)
				y[j] = _mm512_add_pd(y[j], _mm512_mul_pd(f,
					h ? hi8_pd(nzp[p]) : lo8_pd(nzp[p])));
			ymax = _mm512_max_epi64(ymax, _mm512_and_si512(
				_mm512_castpd_si512(y[j]), absd));
		}
		fs = a.fixed ? _mm512_set1_pd(a.range) :
				_mm512_castsi512_pd(ymax);
		ok = _mm512_mask_cmp_pd_mask(on, fs, _mm512_setzero_pd(),
					     _CMP_GT_OQ);
		inv = _mm512_maskz_div_pd(ok, _mm512_set1_pd(a.qa), fs);
		lsb = _mm512_maskz_div_pd(ok, fs, _mm512_set1_pd(a.qa));
		#pragma GCC unroll 8
		for (p = 0; p < np; p++)
			o[p] = join8(adc_conv8(y[2 * p], ok, inv, lsb, a.qa,
					       &sat),
				     2 * p + 1 < n ?
				     adc_conv8(y[2 * p + 1], ok, inv, lsb,
					       a.qa, &sat) :
				     _mm256_setzero_ps());
		#pragma GCC unroll 8
		for (p = 0; p < (nb * n + 15) / 16; p++)
			_mm512_mask_storeu_ps(out + (size_t)g * n + 16 * p,
					      lanes16(nb * n - 16 * p < 16 ?
						      nb * n - 16 * p : 16),
					      pick64(o, tout[p], hout[p]));
	}
	return sat;
}

/* adc_short_avx512() with the loops over the outputs unrolled */
AVX512 static unsigned int adc_short_n(const struct vmm_adc *a,
				       unsigned int b0, unsigned int b1,
				       const float *noise, float *restrict out)
{
	switch (a->nout) {
	case 1:
		return adc_short_avx512(a, b0, b1, noise, out, 1);
	case 2:
		return adc_short_avx512(a, b0, b1, noise, out, 2);
	case 3:
		return adc_short_avx512(a, b0, b1, noise, out, 3);
	case 4:
		return adc_short_avx512(a, b0, b1, noise, out, 4);
	case 5:
		return adc_short_avx512(a, b0, b1, noise, out, 5);
	case 6:
		return adc_short_avx512(a, b0, b1, noise, out, 6);
	case 7:
		return adc_short_avx512(a, b0, b1, noise, out, 7);
	default:
		return adc_short_avx512(a, b0, b1, noise, out, 8);
	}
}

/*
 * adc_rows_c() with AVX-512, eight doubles a step, the last ones under a
 * k-mask, ADC_GROUP vectors at a time: their scales, the full scales from
 * the scaled sums with the read noise (into @y, ADC_GROUP vectors of
 * align16(nout)), then the rounding and the clipping. Each division of
 * the group is one instruction, a lane per vector; vectors with a zero
 * input or full scale are skipped by the bits of a mask, their outputs
 * zeroed at the end.
 */
AVX512 static unsigned int adc_rows_avx512(const struct vmm_adc *pa,
					   unsigned int b0, unsigned int b1,
					   const float *noise,
					   double *restrict y,
					   float *restrict out)
{
	/* a copy: the stores through @out could alias *@pa */
	const struct vmm_adc a = *pa;
	const __m512i absd = _mm512_set1_epi64(INT64_MAX);
	unsigned int g, nb, l, j, n = a.nout, ys = (n + 15) & ~15u, sat = 0;
	__m512d v, vs, vf, vi, vl, scale, fs, f, inv, lsb, rg, ym;
	__mmask8 k, kv, on, ok;
	unsigned int bits;
	const float *af, *nz;
	const double *ad;
	__m512i m, lane;
	double *yl;
	__m256 al;

	if (n <= 8 && a.accf)
		return adc_short_n(pa, b0, b1, noise, out);
	for (g = b0; g < b1; g += ADC_GROUP) {
		nb = b1 - g < ADC_GROUP ? b1 - g : ADC_GROUP;
		kv = lanes8(nb);
		/*
		 * a zero input vector (no fixed range): no full scale, zero
		 * outputs, and no deviates drawn
		 */
		al = _mm256_maskz_loadu_ps(kv, a.alpha + g);
		on = a.fixed ? kv : _mm256_mask_cmp_ps_mask(kv, al,
				_mm256_setzero_ps(), _CMP_NEQ_UQ);
		scale = _mm512_div_pd(_mm512_cvtps_pd(al),
				      _mm512_set1_pd(a.den));
		fs = _mm512_set1_pd(a.range);
		if (a.noise && !a.fixed) {
			rg = _mm512_setzero_pd();
			for (bits = on; bits; bits &= bits - 1) {
				l = (unsigned int)__builtin_ctz(bits);
				rg = _mm512_mask_mov_pd(rg, (__mmask8)(1u << l),
					_mm512_set1_pd(a.accf ?
					absmax_f512(a.accf + (size_t)(g + l) * n,
						    n) :
					absmax_d512(a.accd + (size_t)(g + l) * n,
						    n)));
			}
			fs = _mm512_mul_pd(rg, scale);
		}
		f = _mm512_mul_pd(_mm512_set1_pd(a.rn), fs);
		ym = _mm512_setzero_pd();
		/* the vectors with a full scale, the others' outputs 0 */
		for (bits = on; bits; bits &= bits - 1) {
			l = (unsigned int)__builtin_ctz(bits);
			af = a.accf ? a.accf + (size_t)(g + l) * n : NULL;
			ad = a.accd ? a.accd + (size_t)(g + l) * n : NULL;
			nz = a.noise ? noise + (size_t)(g + l - b0) *
				       a.nstride : NULL;
			yl = y + (size_t)l * ys;
			lane = _mm512_set1_epi64(l);
			vs = _mm512_permutexvar_pd(lane, scale);
			vf = _mm512_permutexvar_pd(lane, f);
			m = _mm512_setzero_si512();
			for (j = 0; j < n; j += 8) {
				k = lanes8(n - j < 8 ? n - j : 8);
				v = _mm512_mul_pd(acc8(af, ad, j, k), vs);
				if (nz)
					v = _mm512_add_pd(v, _mm512_mul_pd(vf,
						_mm512_cvtps_pd(
						_mm256_maskz_loadu_ps(k,
								      nz + j))));
				/* y has room up to a multiple of 16 */
				_mm512_storeu_pd(yl + j, v);
				m = _mm512_max_epi64(m, _mm512_maskz_and_epi64(
					k, _mm512_castpd_si512(v), absd));
			}
			ym = _mm512_mask_mov_pd(ym, (__mmask8)(1u << l),
				_mm512_castsi512_pd(max_all_epi64(m)));
		}
		if (!a.fixed)
			fs = ym;
		ok = _mm512_mask_cmp_pd_mask(on, fs, _mm512_setzero_pd(),
					     _CMP_GT_OQ);
		inv = _mm512_maskz_div_pd(ok, _mm512_set1_pd(a.qa), fs);
		lsb = _mm512_maskz_div_pd(ok, fs, _mm512_set1_pd(a.qa));
		for (bits = ok; bits; bits &= bits - 1) {
			l = (unsigned int)__builtin_ctz(bits);
			yl = y + (size_t)l * ys;
			lane = _mm512_set1_epi64(l);
			vi = _mm512_permutexvar_pd(lane, inv);
			vl = _mm512_permutexvar_pd(lane, lsb);
			for (j = 0; j < n; j += 8) {
				k = lanes8(n - j < 8 ? n - j : 8);
				_mm256_mask_storeu_ps(out + (size_t)(g + l) * n +
						      j, k, adc_conv8(
					_mm512_loadu_pd(yl + j), k, vi, vl,
					a.qa, &sat));
			}
		}
		for (bits = kv & ~ok; bits; bits &= bits - 1) {
			l = (unsigned int)__builtin_ctz(bits);
			memset(out + (size_t)(g + l) * n, 0, n * sizeof(*out));
		}
	}
	return sat;
}
#endif

/* @noise: the deviates of vector @b0 on, @a->nstride a vector */
static unsigned int adc_rows(const struct vmm_adc *a, unsigned int b0,
			     unsigned int b1, const float *noise,
			     double *restrict y, float *restrict out)
{
	switch (a->simd) {
#ifdef HAVE_AVX2_VMM
	case CIMFW_XBAR_SIMD_AVX512_POPCNT:
	case CIMFW_XBAR_SIMD_AVX512:
		return adc_rows_avx512(a, b0, b1, noise, y, out);
	case CIMFW_XBAR_SIMD_AVX2:
		return adc_rows_avx2(a, b0, b1, noise, y, out);
#endif
	default:
		return adc_rows_c(a, b0, b1, noise, y, out);
	}
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

static void line_levels_window(const struct cimfw_xbar *xb,
			       const struct cimfw_xbar_win *win, bool trans,
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
static const uint32_t *line_levels(struct cimfw_xbar *xb,
				   const struct cimfw_xbar_win *win, bool trans,
				   uint32_t *lsum)
{
	struct cimfw_xbar_win all = { 0, xb->rows, 0, xb->cols };

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
static void vmm_charge(const struct cimfw_xbar *xb, bool trans,
		       unsigned int batch, unsigned int nin,
		       unsigned int nout, const uint32_t *pc,
		       const uint32_t *lsum, struct cimfw_meter *m)
{
	const struct cimfw_config *cfg = xb->cfg;
	const struct cimfw_cost_params *cost = &cfg->cost;
	double dg = (cfg->g_max_us - cfg->g_min_us) / top_level(xb);
	uint64_t bits = 0, lev = 0;
	unsigned int i;
	double g, t_arr, t_adc;

	for (i = 0; i < nin; i++) {
		bits += pc[i];
		lev += (uint64_t)pc[i] * lsum[i];
	}
	/* V^2 * uS * ps = 1e-18 J = 1e-3 fJ */
	g = 2.0 * nout * cfg->g_min_us * (double)bits + dg * (double)lev;
	t_arr = (double)batch * cfg->dac_bits * cost->t_read_ps;
	t_adc = (double)batch * ((nout + cost->cols_per_adc - 1) /
				 cost->cols_per_adc) * cost->t_adc_ps;
	cimfw_meter_charge(m, CIM_UNIT_XBAR_ARRAY,
			 cost->v_read * cost->v_read * cost->t_read_ps * g *
			 1e-3, t_arr);
	cimfw_meter_charge(m, CIM_UNIT_DAC,
			 (double)batch * nin * cost->e_dac_fj, t_arr);
	cimfw_meter_charge(m, CIM_UNIT_ADC,
			 (double)batch * nout * cost->e_adc_fj, t_adc);
	if (trans)
		m->vmm_trans += batch;
	else
		m->vmm_fwd += batch;
	m->dac_conversions += (uint64_t)batch * nin;
	m->adc_conversions += (uint64_t)batch * nout;
}

/**
 * struct vmm_call - one VMM, cut by input vectors into parts
 * @pcs: stride of the parts' bit counts in @b.pc
 * @tmps: stride of the parts' conversion vectors in @b.tmp
 * @sat: saturations of each part
 */
struct vmm_call {
	const struct cimfw_xbar *xb;
	const struct cimfw_xbar_win *win;
	bool trans;
	unsigned int batch, nin, nout, q;
	const float *in;
	float *out;
	struct vmm_buf b;
	struct vmm_adc adc;
	size_t pcs, tmps, wts;
	unsigned int sat[CIMFW_PAR_MAX];
	struct cimfw_rng_lanes read;	/* read stream at the call's start */
	struct cimfw_rng_lanes read_end;	/* and after it */
};

/*
 * The read noise of vectors [@b0, @b1) into @buf, from @rl at vector @b0:
 * vector b takes whole rounds of the tile's stream from round
 * b * nstride / 16 on, as if the batch were drawn in one piece, so the
 * deviates do not depend on the cut; @rl is left at vector @b1.
 */
static void vmm_noise(const struct vmm_call *v, struct cimfw_rng_lanes *rl,
		      unsigned int b0, unsigned int b1, float *buf)
{
	size_t ns = v->adc.nstride, rounds = ns / (2 * CIMFW_RNG_LANES);
	unsigned int b = b0, e;

	while (b < b1) {
		/* vectors whose deviates matter, then ones skipped */
		for (e = b; e < b1 && (v->adc.fixed || v->b.alpha[e] != 0.0f);
		     e++)
			;
		if (e > b)
			cimfw_rng_lanes_normal_fill(rl, buf + (b - b0) * ns,
						  (unsigned int)((e - b) * ns));
		for (b = e; b < b1 && !v->adc.fixed && v->b.alpha[b] == 0.0f;
		     b++)
			;
		if (b > e)
			cimfw_rng_lanes_skip(rl, (b - e) * rounds);
	}
}

/*
 * The analog sums of one part: sparse codes (one-hot inputs, gradients
 * after max-pooling) by lines, else BLAS.
 */
static void vmm_sums(struct vmm_call *v, unsigned int part, unsigned int n,
		     size_t nz, const float *codes, float *prod, double *y)
{
	const struct cimfw_xbar *xb = v->xb;
	const struct cimfw_xbar_win *win = v->win;
	float *wt;

	/* measured: BLAS wins above a few percent of non-zero codes */
	if (!v->adc.accf || v->nout < 16 || nz * 32 > (size_t)n * v->nin) {
		vmm_gemm(xb, win, v->trans, n, v->nin, v->nout, v->q, codes,
			 prod, y);
		return;
	}
	if (!v->trans) {
		sparse_gemm(n, v->nin, v->nout, codes,
			    &xb->kdiff[cell_of(xb, win->row, win->col)],
			    xb->cols, prod);
		return;
	}
	wt = v->b.wt + part * v->wts;
	window_lines_t(xb, win, wt);
	sparse_gemm(n, v->nin, v->nout, codes, wt, v->nout, prod);
}

/* DAC, analog sum and ADC of one part's vectors: nothing shared written */
static void vmm_part(void *arg, unsigned int part, unsigned int nparts)
{
	struct vmm_call *v = arg;
	unsigned int b0 = (unsigned int)cimfw_par_first(v->batch, part, nparts);
	unsigned int b1 = (unsigned int)cimfw_par_first(v->batch, part + 1,
						      nparts);
	uint32_t *pc = v->b.pc + part * v->pcs;
	size_t ci = (size_t)b0 * v->nin, co = (size_t)b0 * v->nout;
	size_t ns = v->adc.nstride, rounds = ns / (2 * CIMFW_RNG_LANES);
	double *tmp = v->b.tmp + part * v->tmps;
	float *buf = v->b.noise + (size_t)part * NOISE_BLOCK * ns;
	struct cimfw_rng_lanes rl;
	unsigned int c0, c1, sat = 0;
	size_t nz = 0;

	/* the padding too: dac_rows_avx2() adds whole lanes */
	memset(pc, 0, v->pcs * sizeof(*pc));
	v->sat[part] = 0;
	if (b0 < b1) {
		nz = dac_rows(v->adc.simd, v->in + ci, b1 - b0, v->nin,
			      (float)v->q, v->b.codes + ci, v->b.alpha + b0,
			      pc);
		vmm_sums(v, part, b1 - b0, nz, v->b.codes + ci,
			 v->b.prod + co, v->b.y + co);
	}
	if (!v->adc.noise) {
		if (b0 < b1)
			v->sat[part] = adc_rows(&v->adc, b0, b1, NULL, tmp,
						v->out);
		return;
	}
	rl = v->read;
	cimfw_rng_lanes_skip(&rl, b0 * rounds);
	for (c0 = b0; c0 < b1; c0 = c1) {
		c1 = b1 - c0 > NOISE_BLOCK ? c0 + NOISE_BLOCK : b1;
		vmm_noise(v, &rl, c0, c1, buf);
		sat += adc_rows(&v->adc, c0, c1, buf, tmp, v->out);
	}
	v->sat[part] = sat;
	/* every part, empty or not: the last one leaves the stream's end */
	if (part == nparts - 1)
		v->read_end = rl;
}

static size_t align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

int cimfw_xbar_vmm(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		 bool trans, unsigned int batch, const float *in, float *out,
		 bool adc_fixed, float adc_range, struct cimfw_meter *m)
{
	const struct cimfw_config *cfg = xb->cfg;
	struct vmm_call v = {
		.xb = xb, .win = win, .trans = trans, .batch = batch,
		.nin = trans ? win->ncols : win->nrows,
		.nout = trans ? win->nrows : win->ncols,
		.q = (1u << (cfg->dac_bits - 1)) - 1,
		.in = in, .out = out,
	};
	/* read-noise deviates per vector: whole rounds of the lanes */
	size_t round = 2 * CIMFW_RNG_LANES;
	size_t nstride = cfg->read_noise > 0.0 ?
			 (v.nout + round - 1) / round * round : 0;
	unsigned int p, i, nparts, sat = 0;

	if (!batch || !v.nin || !v.nout)
		return 0;
	nparts = cimfw_par_parts((double)batch *
			       (v.nin * (double)v.nout + 8.0 * (v.nin + v.nout)));
	v.pcs = align16(v.nin);
	v.tmps = ADC_GROUP * align16(v.nout);
	v.wts = trans ? align16((size_t)v.nin * v.nout) : 0;
	if (vmm_buf_get(xb, batch, v.nin, v.nout, nstride, nparts, v.pcs,
			v.tmps, v.wts, &v.b))
		return -ENOMEM;
	v.adc = (struct vmm_adc){
		.accf = v.nin <= gemm_chunk(xb, v.q) ? v.b.prod : NULL,
		.accd = v.nin <= gemm_chunk(xb, v.q) ? NULL : v.b.y,
		.alpha = v.b.alpha,
		.noise = nstride ? v.b.noise : NULL,
		.nstride = nstride,
		.nout = v.nout,
		.den = (double)v.q * top_level(xb),
		.rn = cfg->read_noise,
		.range = adc_range,
		.qa = (double)((1u << (cfg->adc_bits - 1)) - 1),
		.fixed = adc_fixed,
		.simd = simd_level(),
	};
	v.read = xb->read;
	cimfw_par_run(nparts, vmm_part, &v);
	if (nstride)
		xb->read = v.read_end;
	for (p = 0; p < nparts; p++) {
		sat += v.sat[p];
		if (p)
			for (i = 0; i < v.nin; i++)
				v.b.pc[i] += v.b.pc[p * v.pcs + i];
	}
	m->adc_saturations += sat;
	vmm_charge(xb, trans, batch, v.nin, v.nout, v.b.pc,
		   line_levels(xb, win, trans, v.b.lsum), m);
	return 0;
}
