// SPDX-License-Identifier: MIT
/*
 * The crossbar's VMM: DAC, analog sum, read noise and ADC of a batch of
 * vectors through a window of a tile, cut into parts run in parallel, and
 * its charge to the meter. The DAC and the ADC are the kernels of
 * xbar_kern.h, at the model's SIMD level.
 *
 * Determinism: the read noise comes from the tile's stream, drawn as if
 * the batch were one piece; the analog sum is an integer computed exactly
 * (see vmm_gemm()), so the same commands give the same bits on every
 * machine, whatever BLAS kernel or thread count runs the product.
 */
#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"
#include "cimfw.h"
#include "xbar.h"
#include "xbar_kern.h"

/*
 * Vectors converted a block at a time, each block's read noise drawn just
 * before: the deviates stay in the cache.
 */
#define NOISE_BLOCK 64

/* views into xb->scratch for one call */
struct vmm_buf {
	float *codes;		/* batch x nin DAC codes, integers */
	float *prod;		/* batch x nout x 2: a chunk's hi and lo sums */
	double *y;		/* batch x nout, the analog sums */
	float *noise;		/* per part: NOISE_BLOCK x nstride deviates */
	double *tmp;		/* per part: ADC_GROUP output vectors being
				 * converted */
	float *alpha;		/* batch DAC ranges */
	uint32_t *pc;		/* per part, nin: set input bits over its rows */
	uint32_t *lsum;		/* nin: G+ and G- along each input, units */
	double *wt;		/* per part: the window's transpose */
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
		(size_t)batch * nout * 2 * sizeof(float),
		(size_t)batch * nout * sizeof(double),
		(size_t)nparts * NOISE_BLOCK * nstride * sizeof(float),
		(size_t)batch * sizeof(float),
		nparts * pcs * sizeof(uint32_t),
		(size_t)nin * sizeof(uint32_t),
		nparts * tmps * sizeof(double),
		nparts * wts * sizeof(double),
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
		xb->scratch = p;
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
	b->wt = (double *)(p + off[8]);
	return 0;
}

/* largest exact integer of a float: every partial sum must stay below */
#define FLOAT_EXACT	(1u << 24)

/* y (+)= hi * CIMFW_G_SPLIT + lo, exactly in double */
INL void combine_body(double *restrict y, const float *restrict hi,
		      const float *restrict lo, size_t n, bool add)
{
	size_t e;

	if (!add) {
		for (e = 0; e < n; e++)
			y[e] = (double)hi[e] * CIMFW_G_SPLIT + lo[e];
		return;
	}
	for (e = 0; e < n; e++)
		y[e] += (double)hi[e] * CIMFW_G_SPLIT + lo[e];
}

CIMFW_HOT_PROC(combine, (double *restrict y, const float *restrict hi,
			 const float *restrict lo, size_t n, bool add),
	       (y, hi, lo, n, add))

/* input lines summed exactly in one float product */
static unsigned int gemm_chunk(float q)
{
	return (FLOAT_EXACT - 1) / ((unsigned int)q * CIMFW_G_HI_MAX);
}

static void sgemm_lines(bool trans, unsigned int batch, unsigned int nout,
			unsigned int kc, unsigned int nin, const float *codes,
			const float *w, unsigned int ldw, float *prod)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans,
		    trans ? CblasTrans : CblasNoTrans, (int)batch, (int)nout,
		    (int)kc, 1.0f, codes, (int)nin, w, (int)ldw, 0.0f, prod,
		    (int)nout);
}

/*
 * y = codes x gdiff over the window for @batch vectors, exactly: gdiff is
 * hi * CIMFW_G_SPLIT + lo, each part an integer of at most 512 in
 * magnitude, so over a chunk of the input lines every partial sum of
 * codes times a part stays below 2^24, and any BLAS kernel, blocking or
 * thread count gives the same float sums, as does any split of the batch;
 * the parts and the chunks are added in double, which holds the total
 * exactly too.
 */
static void vmm_gemm(const struct cimfw_xbar *xb,
		     const struct cimfw_xbar_win *win, bool trans,
		     unsigned int batch, unsigned int nin, unsigned int nout,
		     float q, const float *codes, float *prod, double *y)
{
	size_t at = cimfw_xbar_cell(xb, win->row, win->col);
	size_t n = (size_t)batch * nout;
	unsigned int chunk = gemm_chunk(q), k0, kc;
	size_t step;

	for (k0 = 0; k0 < nin; k0 += kc) {
		kc = nin - k0 < chunk ? nin - k0 : chunk;
		/* the chunk's first line: a column (trans) or a row */
		step = trans ? k0 : (size_t)k0 * xb->cols;
		sgemm_lines(trans, batch, nout, kc, nin, codes + k0,
			    xb->whi + at + step, xb->cols, prod);
		sgemm_lines(trans, batch, nout, kc, nin, codes + k0,
			    xb->wlo + at + step, xb->cols, prod + n);
		combine(y, prod, prod + n, n, k0 > 0);
	}
}

/*
 * vmm_gemm() for sparse codes: each output vector the sum of the weight
 * lines of its non-zero codes, @w holding line i at i * @ldw (nout
 * doubles). The same exact integer sums as the BLAS product, so the same
 * bits; only the sign of a zero sum may differ, which the ADC's rounding
 * removes (it never reaches an output).
 */
INL void sparse_gemm_body(unsigned int batch, unsigned int nin,
			  unsigned int nout, const float *restrict codes,
			  const double *restrict w, size_t ldw,
			  double *restrict prod)
{
	unsigned int bi, i, j, k, nz, idx[CIM_MAX_XBAR_DIM];
	const double *wi;
	double c;

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

CIMFW_HOT_PROC(sparse_gemm, (unsigned int batch, unsigned int nin,
			     unsigned int nout, const float *restrict codes,
			     const double *restrict w, size_t ldw,
			     double *restrict prod),
	       (batch, nin, nout, codes, w, ldw, prod))

/* the window's transpose, nout lines of nin: the lines of a transposed VMM */
static void window_lines_t(const struct cimfw_xbar *xb,
			   const struct cimfw_xbar_win *win, double *wt)
{
	unsigned int i, j;

	for (j = 0; j < win->nrows; j++)
		for (i = 0; i < win->ncols; i++)
			wt[(size_t)i * win->nrows + j] =
				xb->gdiff[cimfw_xbar_cell(xb, win->row + j,
							  win->col + i)];
}

/* the conductances of a row's devices, G+ and G- of each cell in turn */
INL uint32_t sum_g_body(const int32_t *restrict g, unsigned int n)
{
	uint32_t s = 0;
	unsigned int j;

	for (j = 0; j < n; j++)
		s += (uint32_t)g[j];
	return s;
}

CIMFW_HOT_FN(uint32_t, sum_g, (const int32_t *restrict g, unsigned int n),
	     (g, n))

/* each cell's G+ + G- added to its column's sum */
INL void add_g_body(uint32_t *restrict acc, const int32_t *restrict g,
		    unsigned int n)
{
	unsigned int j;

	for (j = 0; j < n; j++)
		acc[j] += (uint32_t)g[2 * j] + (uint32_t)g[2 * j + 1];
}

CIMFW_HOT_PROC(add_g, (uint32_t *restrict acc, const int32_t *restrict g,
		       unsigned int n), (acc, g, n))

static void line_levels_window(const struct cimfw_xbar *xb,
			       const struct cimfw_xbar_win *win, bool trans,
			       uint32_t *lsum)
{
	const int32_t *g;
	unsigned int i;

	if (trans)
		memset(lsum, 0, win->ncols * sizeof(*lsum));
	for (i = 0; i < win->nrows; i++) {
		g = &xb->g[2 * cimfw_xbar_cell(xb, win->row + i, win->col)];
		if (trans)
			add_g(lsum, g, win->ncols);
		else
			lsum[i] = sum_g(g, 2 * win->ncols);
	}
}

/*
 * G+ and G- summed along each input line of the window, units. A window
 * as wide as the tile along its lines (the usual case) takes them from the
 * per-tile sums, rebuilt only after a conductance changed.
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
 * for t_read through the window's G+ and G- along it. As in ISAAC, each of
 * the dac_bits bit-cycles drives every input line with a 1-bit DAC and
 * converts every output column once (shift-and-add is digital); the ADCs
 * of one cycle overlap the array's next read.
 */
static void vmm_charge(const struct cimfw_xbar *xb, bool trans,
		       unsigned int batch, unsigned int nin,
		       unsigned int nout, const uint32_t *pc,
		       const uint32_t *lsum, struct cimfw_meter *m)
{
	const struct cimfw_config *cfg = xb->cfg;
	const struct cimfw_cost_params *cost = &cfg->cost;
	uint64_t lev = 0, cyc = (uint64_t)batch * cfg->dac_bits;
	unsigned int i;
	double g, t_arr, t_adc;

	for (i = 0; i < nin; i++)
		lev += (uint64_t)pc[i] * lsum[i];
	/* V^2 * uS * ps = 1e-18 J = 1e-3 fJ */
	g = xb->unit_us * (double)lev;
	t_arr = (double)cyc * cost->t_read_ps;
	t_adc = (double)cyc * ((nout + cost->cols_per_adc - 1) /
			       cost->cols_per_adc) * cost->t_adc_ps;
	cimfw_meter_charge(m, CIM_UNIT_XBAR_ARRAY,
			 cost->v_read * cost->v_read * cost->t_read_ps * g *
			 1e-3, t_arr);
	cimfw_meter_charge(m, CIM_UNIT_DAC,
			 (double)cyc * nin * cost->e_dac_fj, t_arr);
	cimfw_meter_charge(m, CIM_UNIT_ADC,
			 (double)cyc * nout * cost->e_adc_fj, t_adc);
	if (trans)
		m->vmm_trans += batch;
	else
		m->vmm_fwd += batch;
	m->dac_conversions += cyc * nin;
	m->adc_conversions += cyc * nout;
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
	unsigned int batch, nin, nout;
	float q;		/* the DAC's largest code */
	const float *in;
	float *out;
	struct vmm_buf b;
	struct vmm_adc adc;
	const struct cimfw_xbar_kernels *kern;	/* of the SIMD level */
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
	double *wt;

	/* measured: BLAS wins above a few percent of non-zero codes */
	if (v->nout < 16 || nz * 32 > (size_t)n * v->nin) {
		vmm_gemm(xb, win, v->trans, n, v->nin, v->nout, v->q, codes,
			 prod, y);
		return;
	}
	if (!v->trans) {
		sparse_gemm(n, v->nin, v->nout, codes,
			    &xb->gdiff[cimfw_xbar_cell(xb, win->row, win->col)],
			    xb->cols, y);
		return;
	}
	wt = v->b.wt + part * v->wts;
	window_lines_t(xb, win, wt);
	sparse_gemm(n, v->nin, v->nout, codes, wt, v->nout, y);
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

	/* the padding too: the SIMD kernels add whole lanes */
	memset(pc, 0, v->pcs * sizeof(*pc));
	v->sat[part] = 0;
	if (b0 < b1) {
		nz = v->kern->dac_rows(v->in + ci, b1 - b0, v->nin, v->q,
				       v->b.codes + ci, v->b.alpha + b0, pc);
		vmm_sums(v, part, b1 - b0, nz, v->b.codes + ci,
			 v->b.prod + 2 * co, v->b.y + co);
	}
	if (!v->adc.noise) {
		if (b0 < b1)
			v->sat[part] = v->kern->adc_rows(&v->adc, b0, b1,
							 NULL, tmp, v->out);
		return;
	}
	rl = v->read;
	cimfw_rng_lanes_skip(&rl, b0 * rounds);
	for (c0 = b0; c0 < b1; c0 = c1) {
		c1 = b1 - c0 > NOISE_BLOCK ? c0 + NOISE_BLOCK : b1;
		vmm_noise(v, &rl, c0, c1, buf);
		sat += v->kern->adc_rows(&v->adc, c0, c1, buf, tmp, v->out);
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
		.q = (float)((1u << (cfg->dac_bits - 1)) - 1),
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
	cimfw_xbar_age(xb);
	v.adc = (struct vmm_adc){
		.accd = v.b.y,
		.alpha = v.b.alpha,
		.noise = nstride ? v.b.noise : NULL,
		.nstride = nstride,
		.nout = v.nout,
		.den = (double)v.q * xb->range,
		.rn = cfg->read_noise,
		.range = adc_range,
		.qa = (double)((1u << (cfg->adc_bits - 1)) - 1),
		.fixed = adc_fixed,
	};
	v.kern = cimfw_xbar_kernels();
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
