// SPDX-License-Identifier: MIT
/*
 * Digital update unit: chi accumulation and threshold-triggered transfer
 * (research note seed1, section 6; Documentation/model/crossbar.rst).
 *
 * Determinism: the DUU takes its operands as 16-bit block floating point
 * (one binary64 scale per operand and command, integer codes), so the
 * outer-product sum over the batch is an integer that binary64 holds
 * exactly. Any BLAS kernel, blocking, FMA use or thread count then gives
 * the same bits, and so does the int64 fallback below.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duu.h"
#include "hot.h"
#include "cimfw.h"

/*
 * Batches summed exactly in one piece: |code products| < 2^30, so every
 * partial sum of up to 2^23 of them is an integer below 2^53. Commands
 * carry at most CIM_MAX_BATCH (1024); a longer direct call is split.
 */
#define DUU_EXACT_BATCH	(1u << 22)

/*
 * Round to nearest, ties to even (nearbyint in the default mode), for
 * |v| < 2^51: adding and removing 1.5 * 2^52 drops the fraction. The
 * result is never -0.
 */
static inline double round_d(double v)
{
	return (v + 0x1.8p52) - 0x1.8p52;
}

/* clamp(round(v / s), +-CIMFW_DUU_CODE_MAX), s > 0 */
static inline double quant1(float v, double s)
{
	const double q = CIMFW_DUU_CODE_MAX;
	double c = round_d((double)v / s);

	c = c > q ? q : c;
	return c < -q ? -q : c;
}

INL void quantize_body(const float *restrict v, size_t n, double s,
		       double *restrict code)
{
	size_t i;

	for (i = 0; i < n; i++)
		code[i] = quant1(v[i], s);
}

CIMFW_HOT_PROC(quantize, (const float *restrict v, size_t n, double s,
			  double *restrict code),
	       (v, n, s, code))

INL float absmax_body(const float *v, size_t n)
{
	return cimfw_absmax(v, n);
}

CIMFW_HOT_FN(float, absmax, (const float *v, size_t n), (v, n))

double cimfw_duu_scale(const float *v, size_t n)
{
	return (double)absmax(v, n) / CIMFW_DUU_CODE_MAX;
}

void cimfw_duu_quantize(const float *v, size_t n, double s, double *code)
{
	if (s > 0.0)
		quantize(v, n, s, code);
	else
		memset(code, 0, n * sizeof(*code));
}

/*
 * The accumulators saturate at +-FLT_MAX, as a saturating digital
 * accumulator does: huge but finite lr, x and d would otherwise take one
 * to infinity, and the next update the other way to inf - inf = NaN,
 * which the transfer cannot convert to a pulse count. Inside the range
 * both clamps change nothing, so the bits of every ordinary update stay.
 * k * g itself stays finite in binary64 (< 2^400 for any command).
 */
INL float sat_f(float v)
{
	return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v;
}

/* chi - (float)t, saturated; t clamped first so the narrowing is defined */
INL float sub_sat(float chi, double t)
{
	t = t > FLT_MAX ? FLT_MAX : t < -FLT_MAX ? -FLT_MAX : t;
	return sat_f(chi - (float)t);
}

/*
 * chi[j] -= (float)(k * g[j]), saturated; g + 0.0 turns an exact zero sum
 * into +0 whatever sign a BLAS kernel gave it.
 */
INL void sub_scaled_body(float *restrict chi, const double *restrict g,
			 double k, unsigned int n)
{
	unsigned int j;

	for (j = 0; j < n; j++)
		chi[j] = sub_sat(chi[j], k * (g[j] + 0.0));
}

CIMFW_HOT_PROC(sub_scaled, (float *restrict chi, const double *restrict g,
			    double k, unsigned int n),
	       (chi, g, k, n))

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/*
 * Scratch for the codes and the sums, shared with the VMM's (calls on one
 * tile never overlap): grown, never shrunk. NULL if it cannot grow.
 */
static void *duu_scratch(struct cimfw_xbar *xb, size_t bytes)
{
	void *p;

	if (bytes > xb->scratch_len) {
		p = aligned_alloc(64, bytes);
		if (!p)
			return NULL;
		free(xb->scratch);
		xb->scratch = p;
		xb->scratch_len = bytes;
	}
	return xb->scratch;
}

/*
 * Without scratch: the same integer sums in int64, in a fixed order, so
 * the same bits as the BLAS path.
 */
static void accumulate_slow(struct cimfw_xbar *xb,
			    const struct cimfw_xbar_win *win,
			    unsigned int batch, const float *x, const float *d,
			    double sx, double sd, double k)
{
	unsigned int i, j, bi, nr = win->nrows, nc = win->ncols;
	int64_t g[CIM_MAX_XBAR_DIM], cx;
	float *chi;

	for (i = 0; i < nr; i++) {
		memset(g, 0, nc * sizeof(*g));
		for (bi = 0; bi < batch; bi++) {
			cx = (int64_t)quant1(x[(size_t)bi * nr + i], sx);
			if (!cx)
				continue;
			for (j = 0; j < nc; j++)
				g[j] += cx * (int64_t)quant1(
					d[(size_t)bi * nc + j], sd);
		}
		chi = &xb->chi[(size_t)(win->row + i) * xb->cols + win->col];
		for (j = 0; j < nc; j++)
			chi[j] = sub_sat(chi[j], k * ((double)g[j] + 0.0));
	}
}

/* non-zero values of @v (order-free, vectorizes) */
INL size_t count_nonzero_body(const float *v, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += v[i] != 0.0f;
	return c;
}

CIMFW_HOT_FN(size_t, count_nonzero, (const float *v, size_t n),
	     (v, n))

/**
 * struct duu_call - one accumulation, G = X^T D, cut by rows of G
 * @cx: the batch x nr codes of x; @cd: the batch x nc codes of d
 * @g: the nr x nc sums
 * @k: the scale of one unit of G
 * @x: the sparse path: x itself; @sx: its scale (also the identity's)
 * @d: the identity path: d itself; @sd: its scale
 */
struct duu_call {
	struct cimfw_xbar *xb;
	const struct cimfw_xbar_win *win;
	unsigned int batch;
	const double *cx, *cd;
	double *g;
	double k;
	const float *x;
	double sx;
	const float *d;
	double sd;
};

/* rows [i0, i1) of G by BLAS, then subtracted from chi */
static void dense_part(void *arg, unsigned int part, unsigned int nparts)
{
	struct duu_call *u = arg;
	unsigned int nr = u->win->nrows, nc = u->win->ncols, i;
	unsigned int i0 = (unsigned int)cimfw_par_first(nr, part, nparts);
	unsigned int i1 = (unsigned int)cimfw_par_first(nr, part + 1, nparts);
	struct cimfw_xbar *xb = u->xb;

	if (i0 == i1)
		return;
	/* exact, so any kernel and any cut of the rows gives these bits */
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(i1 - i0),
		    (int)nc, (int)u->batch, 1.0, u->cx + i0, (int)nr, u->cd,
		    (int)nc, 0.0, u->g + (size_t)i0 * nc, (int)nc);
	for (i = i0; i < i1; i++)
		sub_scaled(&xb->chi[(size_t)(u->win->row + i) * xb->cols +
				    u->win->col],
			   u->g + (size_t)i * nc, u->k, nc);
}

/*
 * A sparse x (host momentum sends the identity): rows [i0, i1) of G from
 * the non-zero codes of x only. The same exact integer sums as the BLAS
 * path (+0 where nothing adds up), so the same bits. Rows of G that stay
 * 0 would subtract +0 from chi: no change, skipped.
 */
static void sparse_part(void *arg, unsigned int part, unsigned int nparts)
{
	struct duu_call *u = arg;
	struct cimfw_xbar *xb = u->xb;
	const struct cimfw_xbar_win *win = u->win;
	unsigned int j, bi, nr = win->nrows, nc = win->ncols, i;
	unsigned int i0 = (unsigned int)cimfw_par_first(nr, part, nparts);
	unsigned int i1 = (unsigned int)cimfw_par_first(nr, part + 1, nparts);
	bool *hit = (bool *)(u->g + (size_t)nr * nc);
	const double *db;
	double c, *gi;
	float v;

	memset(u->g + (size_t)i0 * nc, 0, (size_t)(i1 - i0) * nc * sizeof(*gi));
	memset(hit + i0, 0, (i1 - i0) * sizeof(*hit));
	for (bi = 0; bi < u->batch; bi++) {
		for (i = i0; i < i1; i++) {
			v = u->x[(size_t)bi * nr + i];
			if (v == 0.0f)
				continue;
			c = quant1(v, u->sx);
			if (c == 0.0)
				continue;
			gi = u->g + (size_t)i * nc;
			db = u->cd + (size_t)bi * nc;
			for (j = 0; j < nc; j++)
				gi[j] += c * db[j];
			hit[i] = true;
		}
	}
	for (i = i0; i < i1; i++)
		if (hit[i])
			sub_scaled(&xb->chi[(size_t)(win->row + i) * xb->cols +
					    win->col],
				   u->g + (size_t)i * nc, u->k, nc);
}

/*
 * x = I: row i of G is X_ii D[i], X_ii the code of 1 (the scale of an
 * identity is 1 / CODE_MAX, so X_ii = CODE_MAX), added to a zero sum as
 * sparse_part() does; the same bits as the identity sent as x. A row at a
 * time, so no scratch.
 */
static void identity_part(void *arg, unsigned int part, unsigned int nparts)
{
	struct duu_call *u = arg;
	struct cimfw_xbar *xb = u->xb;
	const struct cimfw_xbar_win *win = u->win;
	unsigned int j, nr = win->nrows, nc = win->ncols, i;
	unsigned int i0 = (unsigned int)cimfw_par_first(nr, part, nparts);
	unsigned int i1 = (unsigned int)cimfw_par_first(nr, part + 1, nparts);
	double c = quant1(1.0f, u->sx), g[CIM_MAX_XBAR_DIM];
	const float *di;

	for (i = i0; i < i1; i++) {
		di = u->d + (size_t)i * nc;
		for (j = 0; j < nc; j++)
			g[j] = 0.0 + c * quant1(di[j], u->sd);
		sub_scaled(&xb->chi[(size_t)(win->row + i) * xb->cols +
				    win->col], g, u->k, nc);
	}
}

/* one piece of at most DUU_EXACT_BATCH vectors */
static void accumulate(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		       unsigned int batch, const float *x, const float *d,
		       float lr)
{
	unsigned int nr = win->nrows, nc = win->ncols;
	size_t nx = (size_t)batch * nr, nd = (size_t)batch * nc;
	double sx = cimfw_duu_scale(x, nx), sd = cimfw_duu_scale(d, nd), k;
	struct duu_call u = { .xb = xb, .win = win, .batch = batch };
	bool sparse;
	char *p;

	/* a zero operand, or no rate: no change (and no 0 * inf) */
	if (sx == 0.0 || sd == 0.0 || lr == 0.0f)
		return;
	/* the scale of one unit of G, in a fixed order */
	k = (double)lr * sx * sd;
	/* a product per non-zero x and column, against batch x nr x nc */
	sparse = count_nonzero(x, nx) * 8 <= nx;
	p = duu_scratch(xb, (sparse ? 0 : align64(nx * sizeof(double))) +
			    align64(nd * sizeof(double)) +
			    align64((size_t)nr * nc * sizeof(double)) +
			    align64(nr * sizeof(bool)));
	if (!p) {
		accumulate_slow(xb, win, batch, x, d, sx, sd, k);
		return;
	}
	if (sparse) {
		u.cd = (double *)p;
		u.g = (double *)(p + align64(nd * sizeof(double)));
		u.k = k;
		u.x = x;
		u.sx = sx;
		quantize(d, nd, sd, (double *)u.cd);
		/* a scan of x and a row of G per non-zero: by rows of G */
		cimfw_par_run(cimfw_par_parts(8.0 * nx + (double)nr * nc),
			    sparse_part, &u);
		return;
	}
	u.cx = (double *)p;
	u.cd = (double *)(p + align64(nx * sizeof(double)));
	u.g = (double *)((char *)u.cd + align64(nd * sizeof(double)));
	u.k = k;
	quantize(x, nx, sx, (double *)u.cx);
	quantize(d, nd, sd, (double *)u.cd);
	cimfw_par_run(cimfw_par_parts((double)nx * nc), dense_part, &u);
}

void cimfw_duu_accumulate(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
			unsigned int batch, const float *x, const float *d,
			float lr, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &xb->cfg->cost;
	unsigned int b0, bc;
	double macs, cells = (double)win->nrows * win->ncols;

	if (!batch)
		return;
	for (b0 = 0; b0 < batch; b0 += bc) {
		bc = batch - b0 < DUU_EXACT_BATCH ? batch - b0
						  : DUU_EXACT_BATCH;
		accumulate(xb, win, bc, x + (size_t)b0 * win->nrows,
			   d + (size_t)b0 * win->ncols, lr);
	}
	macs = (double)batch * win->nrows * win->ncols;
	m->duu_macs += (uint64_t)batch * win->nrows * win->ncols;
	/* 16-bit integer MACs, then one scaled float sum per cell into chi */
	cimfw_meter_charge(m, CIM_UNIT_DUU, macs * cost->e_duu_mac_fj +
			 cells * cost->e_duu_acc_fj,
			 macs / cost->duu_macs_per_ns * 1e3);
}

void cimfw_duu_accumulate_identity(struct cimfw_xbar *xb,
				 const struct cimfw_xbar_win *win,
				 const float *d, float lr,
				 struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &xb->cfg->cost;
	size_t nd = (size_t)win->nrows * win->ncols;
	struct duu_call u = { .xb = xb, .win = win, .batch = win->nrows };
	const float one = 1.0f;
	double macs = (double)nd;

	m->duu_macs += nd;
	/* no integer product: each code is scaled and summed into chi */
	cimfw_meter_charge(m, CIM_UNIT_DUU, macs * cost->e_duu_acc_fj,
			 macs / cost->duu_macs_per_ns * 1e3);
	u.sx = cimfw_duu_scale(&one, 1);
	u.sd = cimfw_duu_scale(d, nd);
	if (u.sd == 0.0 || lr == 0.0f)
		return;
	u.k = (double)lr * u.sx * u.sd;
	u.d = d;
	cimfw_par_run(cimfw_par_parts(2.0 * macs), identity_part, &u);
}

struct transfer_acc {
	unsigned int pulsed, pos, neg, clamped, saturated;
};

/*
 * Move one cell by @n pulses (n != 0): n > 0 raises w, through G+ if it
 * can still rise, else by lowering G-. Returns the pulses applied.
 */
static unsigned int transfer_cell(struct cimfw_xbar *xb, unsigned int r,
				  unsigned int c, int n,
				  struct transfer_acc *acc)
{
	size_t cell = (size_t)r * xb->cols + c;
	unsigned int np = n > 0 ? n : -n;
	/* the device that rises (main) and the one that falls (other) */
	int main_dev = n > 0 ? 0 : 1, other = 1 - main_dev;

	if (cimfw_xbar_can_move(xb, 2 * cell + main_dev, true)) {
		cimfw_xbar_pulse(xb, r, c, main_dev, true, np);
	} else {
		acc->saturated++;
		if (!cimfw_xbar_can_move(xb, 2 * cell + other, false))
			return 0;
		cimfw_xbar_pulse(xb, r, c, other, false, np);
	}
	acc->pulsed++;
	if (n > 0)
		acc->pos += np;
	else
		acc->neg += np;
	return np;
}

/*
 * cnt[j] = trunc(chi[j] / eps), the conversion kept defined (chi is never
 * NaN, see sat_f(); a quotient past +-1e6, infinite with a tiny eps,
 * clamps); returns whether any is non-zero. The pass over every cell: vectorized, the
 * same division as a scalar loop.
 */
INL int row_counts_body(const float *restrict chi, unsigned int n,
			float eps, int *restrict cnt)
{
	unsigned int j;
	int any = 0, v;
	float qf;

	for (j = 0; j < n; j++) {
		qf = chi[j] / eps;
		qf = qf > 1e6f ? 1e6f : qf < -1e6f ? -1e6f : qf;
		v = (int)qf;
		cnt[j] = v;
		any |= v;
	}
	return any != 0;
}

CIMFW_HOT_FN(int, row_counts, (const float *restrict chi, unsigned int n,
			       float eps, int *restrict cnt),
	     (chi, n, eps, cnt))

/*
 * The device state of row @i of the window, about to be pulsed: the
 * transfer runs once per update, after other work has evicted it, and a
 * miss per pulsed cell cost a third of the pulse path.
 */
static void prefetch_row(const struct cimfw_xbar *xb,
			 const struct cimfw_xbar_win *win, unsigned int i)
{
	size_t c0 = (size_t)(win->row + i) * xb->cols + win->col, j;

	for (j = 0; j < win->ncols; j += 32)
		__builtin_prefetch(&xb->stuck[2 * (c0 + j)]);
	/* eight bytes a cell: a line every eight cells */
	for (j = 0; j < win->ncols; j += 8) {
		__builtin_prefetch(&xb->g[2 * (c0 + j)], 1);
		__builtin_prefetch(&xb->gmin[2 * (c0 + j)]);
		__builtin_prefetch(&xb->gmax[2 * (c0 + j)]);
		__builtin_prefetch(&xb->step[2 * (c0 + j)]);
		__builtin_prefetch(&xb->gdiff[c0 + j], 1);
	}
}

/* one pulse call of a transfer: cell column, device, direction, pulses */
struct xfer_op {
	uint16_t col;
	uint8_t dev;
	uint8_t up;
	uint32_t np;
};

/**
 * struct xfer_call - a transfer cut by rows: decide, draw, apply
 * @ops: the pulse calls of row i at i * ncols, @nops[i] of them
 * @draws: their noise (xi, xi2), drawn in the stream's order
 * @row_max: the largest pulse count of each row
 * @acc: the report's counts of each part
 * @changed: whether a part moved a device
 */
struct xfer_call {
	struct cimfw_xbar *xb;
	const struct cimfw_xbar_win *win;
	float eps;
	int lim;
	struct xfer_op *ops;
	double *draws;
	unsigned int *nops, *row_max;
	struct transfer_acc acc[CIMFW_PAR_MAX];
	bool changed[CIMFW_PAR_MAX];
};

/*
 * Rows of a transfer, first step: the counts, chi, and the pulse call each
 * cell makes (transfer_cell()'s route; a cell's route depends on that cell
 * alone), without drawing.
 */
static void xfer_decide(void *arg, unsigned int part, unsigned int nparts)
{
	struct xfer_call *x = arg;
	struct cimfw_xbar *xb = x->xb;
	const struct cimfw_xbar_win *win = x->win;
	struct transfer_acc *acc = &x->acc[part];
	unsigned int i0 = (unsigned int)cimfw_par_first(win->nrows, part, nparts);
	unsigned int i1 = (unsigned int)cimfw_par_first(win->nrows, part + 1,
						      nparts);
	unsigned int i, j, np;
	int n, main_dev, other, cnt[CIM_MAX_XBAR_DIM];
	struct xfer_op *op;
	size_t cell;
	float *chi;

	memset(acc, 0, sizeof(*acc));
	for (i = i0; i < i1; i++) {
		x->nops[i] = 0;
		x->row_max[i] = 0;
		chi = &xb->chi[(size_t)(win->row + i) * xb->cols + win->col];
		if (!row_counts(chi, win->ncols, x->eps, cnt))
			continue;
		prefetch_row(xb, win, i);
		op = x->ops + (size_t)i * win->ncols;
		for (j = 0; j < win->ncols; j++) {
			n = cnt[j];
			if (!n)
				continue;
			if (n > x->lim || n < -x->lim) {
				acc->clamped++;
				n = n > 0 ? x->lim : -x->lim;
				if (!n)
					continue;
			}
			chi[j] = sat_f(chi[j] - (float)n * x->eps);
			cell = (size_t)(win->row + i) * xb->cols + win->col + j;
			np = (unsigned int)(n > 0 ? n : -n);
			main_dev = n > 0 ? 0 : 1;
			other = 1 - main_dev;
			if (cimfw_xbar_can_move(xb, 2 * cell + main_dev,
						true)) {
				*op = (struct xfer_op){ (uint16_t)j,
					(uint8_t)main_dev, 1, np };
			} else {
				acc->saturated++;
				if (!cimfw_xbar_can_move(xb, 2 * cell + other,
							 false))
					continue;
				*op = (struct xfer_op){ (uint16_t)j,
					(uint8_t)other, 0, np };
			}
			op++;
			x->nops[i]++;
			acc->pulsed++;
			if (n > 0)
				acc->pos += np;
			else
				acc->neg += np;
			x->row_max[i] = np > x->row_max[i] ? np : x->row_max[i];
		}
	}
}

/* third step: the pulses of the part's rows, with their drawn noise */
static void xfer_apply(void *arg, unsigned int part, unsigned int nparts)
{
	struct xfer_call *x = arg;
	const struct cimfw_xbar_win *win = x->win;
	unsigned int i0 = (unsigned int)cimfw_par_first(win->nrows, part, nparts);
	unsigned int i1 = (unsigned int)cimfw_par_first(win->nrows, part + 1,
						      nparts);
	unsigned int i, k;
	bool changed = false;

	for (i = i0; i < i1; i++) {
		const struct xfer_op *op = x->ops + (size_t)i * win->ncols;
		const double *dr = x->draws + 2 * (size_t)i * win->ncols;

		if (x->nops[i])
			prefetch_row(x->xb, win, i);
		for (k = 0; k < x->nops[i]; k++, op++, dr += 2)
			changed |= cimfw_xbar_pulse_apply(x->xb, win->row + i,
							win->col + op->col,
							op->dev, op->up,
							op->np, dr[0],
							dr[1]) != 0;
	}
	x->changed[part] = changed;
}

/*
 * The transfer in three steps, the first and the last across the pool:
 * the routes of all cells, the noise of their pulse calls drawn in the
 * tile's stream in row-major order (the order of the one-pass loop), then
 * the pulses. Each cell's pulse depends on that cell and its draws alone,
 * so the same bits as the one-pass loop. False without scratch.
 */
static bool transfer_par(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
			 float eps, int lim, struct transfer_acc *acc,
			 unsigned int *rows_pulses)
{
	size_t ncell = (size_t)win->nrows * win->ncols;
	size_t so = align64(ncell * sizeof(struct xfer_op));
	size_t sd = align64(2 * ncell * sizeof(double));
	size_t sn = align64(win->nrows * sizeof(unsigned int));
	struct xfer_call x = { .xb = xb, .win = win, .eps = eps, .lim = lim };
	unsigned int nparts = cimfw_par_parts(8.0 * (double)ncell), p, i, k;
	char *s = duu_scratch(xb, so + sd + 2 * sn);
	double *dr;

	if (!s)
		return false;
	x.ops = (struct xfer_op *)s;
	x.draws = (double *)(s + so);
	x.nops = (unsigned int *)(s + so + sd);
	x.row_max = (unsigned int *)(s + so + sd + sn);
	cimfw_par_run(nparts, xfer_decide, &x);
	for (i = 0; i < win->nrows; i++) {
		dr = x.draws + 2 * (size_t)i * win->ncols;
		for (k = 0; k < x.nops[i]; k++, dr += 2)
			cimfw_xbar_pulse_draw(xb, &dr[0], &dr[1]);
		*rows_pulses += x.row_max[i];
	}
	cimfw_par_run(nparts, xfer_apply, &x);
	for (p = 0; p < nparts; p++) {
		acc->pulsed += x.acc[p].pulsed;
		acc->pos += x.acc[p].pos;
		acc->neg += x.acc[p].neg;
		acc->clamped += x.acc[p].clamped;
		acc->saturated += x.acc[p].saturated;
		if (x.changed[p])
			xb->lev_valid = false;
	}
	return true;
}

void cimfw_duu_transfer(struct cimfw_xbar *xb, const struct cimfw_xbar_win *win,
		      float eps, unsigned int n_max,
		      struct cim_duu_report *rep, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &xb->cfg->cost;
	struct transfer_acc acc;
	unsigned int i, j, p, row_max, rows_pulses = 0;
	int n, lim = (int)n_max, cnt[CIM_MAX_XBAR_DIM];
	float *chi;

	memset(&acc, 0, sizeof(acc));
	if (!(eps > 0.0f))
		goto out;
	cimfw_xbar_age(xb);
	if (transfer_par(xb, win, eps, lim, &acc, &rows_pulses))
		goto out;
	for (i = 0; i < win->nrows; i++) {
		chi = &xb->chi[(size_t)(win->row + i) * xb->cols + win->col];
		if (!row_counts(chi, win->ncols, eps, cnt))
			continue;
		prefetch_row(xb, win, i);
		row_max = 0;
		for (j = 0; j < win->ncols; j++) {
			n = cnt[j];
			if (!n)
				continue;
			if (n > lim || n < -lim) {
				acc.clamped++;
				n = n > 0 ? lim : -lim;
				if (!n)
					continue;
			}
			chi[j] = sat_f(chi[j] - (float)n * eps);
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
	cimfw_meter_charge(m, CIM_UNIT_PULSE,
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
