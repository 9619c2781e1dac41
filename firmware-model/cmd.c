// SPDX-License-Identifier: MIT
/*
 * The command processor: walks a command buffer packet by packet. Every
 * handler validates all of its packet's fields and DMA-reads and checks all
 * of its inputs before it changes any state, so a rejected packet leaves
 * the device as it was; then it delegates to the units and DMA-writes the
 * outputs. The order of the checks is the one documented at struct
 * cim_pkt_hdr in cim_hw.h.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "duu.h"
#include "fw_priv.h"
#include "hot.h"

/* Packets are read in place: the ABI is little-endian, so is the host. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the firmware model assumes a little-endian host");

/**
 * struct cmd_ctx - the packet being executed
 * @fw: the device
 * @dma: the job's memory
 * @pkt: the packet's bytes, @size of them, any alignment
 * @size: hdr.size, already checked against the buffer
 * @field: on failure, offset of the offending field inside the packet
 * @refs: the packet's address fields, from cim_pkt_refs(), once
 *        check_refs() has passed them
 */
struct cmd_ctx {
	struct cimfw *fw;
	const struct cimfw_dma *dma;
	const unsigned char *pkt;
	uint32_t size;
	uint32_t field;
	struct cim_pkt_ref refs[CIM_PKT_MAX_REFS];
};

#define PKT_FIELD(type, member)	((uint32_t)offsetof(type, member))
/* error_field of an aborted job: no field of any packet is at fault */
#define ABORTED_FIELD	0xffffffffu

static int fail(struct cmd_ctx *c, int status, uint32_t field)
{
	c->field = field;
	return status;
}

static float f32(uint32_t bits)
{
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Copy a fixed-size packet out of the buffer, or fail with BAD_SIZE. */
static int take(struct cmd_ctx *c, void *pkt, size_t len)
{
	if (c->size != len)
		return fail(c, CIM_ST_BAD_SIZE, PKT_FIELD(struct cim_pkt_hdr,
							  size));
	memcpy(pkt, c->pkt, len);
	return CIM_ST_OK;
}

static int check_flags(struct cmd_ctx *c, uint16_t flags, uint16_t valid)
{
	if (flags & ~valid)
		return fail(c, CIM_ST_BAD_FLAGS, PKT_FIELD(struct cim_pkt_hdr,
							   flags));
	return CIM_ST_OK;
}

static int check_align(struct cmd_ctx *c, uint64_t addr, uint64_t align,
		       uint32_t field)
{
	if (addr & (align - 1))
		return fail(c, CIM_ST_BAD_ALIGN, field);
	return CIM_ST_OK;
}

/*
 * The address fields of the packet @p (a copy of it, aligned), in the
 * order of its struct, as cim_pkt_refs() describes them: an address the
 * packet uses must be aligned, one it does not use must be zero unless
 * the device ignores it. Called last of a packet's field checks; fills
 * c->refs, whose lengths the DMA transfers then take.
 */
static int check_refs(struct cmd_ctx *c, const struct cim_pkt_hdr *p)
{
	unsigned int i, n = cim_pkt_refs(p, c->refs);
	uint64_t addr;

	for (i = 0; i < n; i++) {
		const struct cim_pkt_ref *r = &c->refs[i];

		memcpy(&addr, (const char *)p + r->field, sizeof(addr));
		switch (r->use) {
		case CIM_REF_READ:
		case CIM_REF_WRITE:
			if (check_align(c, addr, r->align, r->field))
				return CIM_ST_BAD_ALIGN;
			break;
		case CIM_REF_ZERO:
			if (addr)
				return fail(c, CIM_ST_RESERVED, r->field);
			break;
		default:
			break;
		}
	}
	return CIM_ST_OK;
}

/* the low @bits bits set */
static uint64_t field_mask(unsigned int bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

static int dma_read(struct cmd_ctx *c, uint64_t addr, void *dst, size_t len,
		    uint32_t field)
{
	if (!c->dma || !c->dma->read || c->dma->read(c->dma->opaque, addr,
						     dst, len))
		return fail(c, CIM_ST_DMA, field);
	return CIM_ST_OK;
}

static int dma_write(struct cmd_ctx *c, uint64_t addr, const void *src,
		     size_t len, uint32_t field)
{
	if (!c->dma || !c->dma->write || c->dma->write(c->dma->opaque, addr,
						       src, len))
		return fail(c, CIM_ST_DMA, field);
	return CIM_ST_OK;
}

/*
 * Whether every |v[i]| <= @limit (finite, >= 0), NaN and infinity
 * refused: on the bit patterns, where |v| orders as an unsigned integer
 * and NaN and infinity lie above every finite value. Vectorizes.
 */
INL bool floats_ok_body(const float *v, size_t n, float limit)
{
	uint32_t m = 0, b, lim;
	size_t i;

	memcpy(&lim, &limit, sizeof(lim));
	for (i = 0; i < n; i++) {
		memcpy(&b, &v[i], sizeof(b));
		b &= 0x7fffffffu;
		m = b > m ? b : m;
	}
	return m <= lim;
}

CIMFW_HOT_FN(bool, floats_ok, (const float *v, size_t n, float limit),
	     (v, n, limit))

/* Fetch @n binary32 values and refuse NaN, infinity and |v| > @limit. */
static int read_floats(struct cmd_ctx *c, uint64_t addr, float *dst,
		       size_t n, float limit, uint32_t field)
{
	int st;

	st = dma_read(c, addr, dst, n * sizeof(float), field);
	if (st)
		return st;
	if (!floats_ok(dst, n, limit))
		return fail(c, CIM_ST_BAD_VALUE, field);
	return CIM_ST_OK;
}

/* The @len bytes at @addr in place, or NULL (see struct cimfw_dma). */
static void *dma_map(struct cmd_ctx *c, uint64_t addr, size_t len)
{
	if (!c->dma || !c->dma->map)
		return NULL;
	return c->dma->map(c->dma->opaque, addr, len);
}

/*
 * read_floats(), in place when the memory maps (*@out points there), else
 * into @buf (*@out = @buf).
 */
static int get_floats(struct cmd_ctx *c, uint64_t addr, float *buf,
		      size_t n, float limit, uint32_t field, const float **out)
{
	const float *p = dma_map(c, addr, n * sizeof(float));

	if (!p) {
		*out = buf;
		return read_floats(c, addr, buf, n, limit, field);
	}
	if (!floats_ok(p, n, limit))
		return fail(c, CIM_ST_BAD_VALUE, field);
	*out = p;
	return CIM_ST_OK;
}

/*
 * Where to put @len bytes of output bound for @addr: in place if the
 * memory maps and does not overlap the input [@in, @in + @in_len), else
 * @buf, which the caller then DMA-writes.
 */
static void *out_buf(struct cmd_ctx *c, uint64_t addr, size_t len,
		     const void *in, size_t in_len, void *buf)
{
	char *p = dma_map(c, addr, len);
	const char *i = in;

	if (!p || (p < i + in_len && i < p + len))
		return buf;
	return p;
}

/* Crossbar windows ------------------------------------------------------- */

static int check_span(struct cmd_ctx *c, unsigned int first, unsigned int n,
		      unsigned int limit, uint32_t first_field,
		      uint32_t n_field)
{
	if (first >= limit)
		return fail(c, CIM_ST_BAD_RANGE, first_field);
	if (n == 0 || n > limit - first)
		return fail(c, CIM_ST_BAD_RANGE, n_field);
	return CIM_ST_OK;
}

/* Validate the window at offset @base of the packet; fill @xb and @win. */
static int check_win(struct cmd_ctx *c, const struct cim_pkt_xbar_window *w,
		     uint32_t base, struct cimfw_xbar **xb,
		     struct cimfw_xbar_win *win)
{
	const struct cimfw_config *cfg = &c->fw->cfg;
	typedef struct cim_pkt_xbar_window pw;
	int st;

	if (w->xbar >= cfg->xbar_count)
		return fail(c, CIM_ST_BAD_UNIT, base + PKT_FIELD(pw, xbar));
	st = check_span(c, w->row, w->nrows, cfg->xbar_rows,
			base + PKT_FIELD(pw, row), base + PKT_FIELD(pw, nrows));
	if (st)
		return st;
	st = check_span(c, w->col, w->ncols, cfg->xbar_cols,
			base + PKT_FIELD(pw, col), base + PKT_FIELD(pw, ncols));
	if (st)
		return st;
	*xb = &c->fw->xbars[w->xbar];
	*win = (struct cimfw_xbar_win) {
		.row = w->row, .nrows = w->nrows,
		.col = w->col, .ncols = w->ncols,
	};
	return CIM_ST_OK;
}

/* NOP, FENCE ------------------------------------------------------------- */

static int do_nop(struct cmd_ctx *c)
{
	struct cim_pkt_hdr p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.flags, 0);
	return st;
}

/* Packets run in order, so every earlier packet has completed here. */
static int do_fence(struct cmd_ctx *c)
{
	typedef struct cim_pkt_fence P;
	P p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.hdr.flags, 0);
	if (!st)
		st = check_refs(c, &p.hdr);
	if (!st)
		st = dma_write(c, p.addr, &p.value, c->refs[0].len,
			       PKT_FIELD(P, addr));
	return st;
}

/* SCRUB ------------------------------------------------------------------ */

/* Every mask bit must name a unit before any unit is touched. */
static int do_scrub(struct cmd_ctx *c)
{
	typedef struct cim_pkt_scrub P;
	const struct cimfw_config *cfg = &c->fw->cfg;
	unsigned int i;
	P p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.hdr.flags, 0);
	if (st)
		return st;
	if (p.xbar_mask & ~field_mask(cfg->xbar_count))
		return fail(c, CIM_ST_BAD_UNIT, PKT_FIELD(P, xbar_mask));
	if (p.ap_mask & ~field_mask(cfg->ap_count))
		return fail(c, CIM_ST_BAD_UNIT, PKT_FIELD(P, ap_mask));

	for (i = 0; i < cfg->xbar_count; i++)
		if (p.xbar_mask >> i & 1)
			cimfw_xbar_scrub(&c->fw->xbars[i], &c->fw->meter);
	for (i = 0; i < cfg->ap_count; i++)
		if (p.ap_mask >> i & 1)
			cimfw_ap_scrub(&c->fw->aps[i], &c->fw->meter);
	return CIM_ST_OK;
}

/* IDLE: the clock the crossbars relax by moves; nothing is charged */
static int do_idle(struct cmd_ctx *c)
{
	typedef struct cim_pkt_idle P;
	P p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.hdr.flags, 0);
	if (st)
		return st;
	if (p.ns < 1 || p.ns > CIM_MAX_IDLE_NS)
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, ns));
	c->fw->clock_ns = p.ns > UINT64_MAX - c->fw->clock_ns ? UINT64_MAX :
			  c->fw->clock_ns + p.ns;
	return CIM_ST_OK;
}

/* Crossbar packets ------------------------------------------------------- */

static int check_program(struct cmd_ctx *c, const struct cim_pkt_xbar_program *p)
{
	typedef struct cim_pkt_xbar_program P;
	float tol = f32(p->tolerance_f32);
	float tol_max = p->hdr.flags & CIM_PROGRAM_F_TOL_US ?
			CIM_PROGRAM_MAX_TOL_US : 8.0f;

	if ((p->hdr.flags & CIM_PROGRAM_F_REPORT) &&
	    (p->hdr.flags & CIM_PROGRAM_F_RESIDUAL))
		return fail(c, CIM_ST_BAD_FLAGS, PKT_FIELD(P, hdr.flags));
	if (p->max_iters < 1 || p->max_iters > 64)
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, max_iters));
	if (!(tol > 0.0f && tol <= tol_max))
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, tolerance_f32));
	if (p->pad)
		return fail(c, CIM_ST_RESERVED, PKT_FIELD(P, pad));
	return check_refs(c, &p->hdr);
}

static uint32_t f32_bits(double v)
{
	float f = (float)v;
	uint32_t b;

	memcpy(&b, &f, sizeof(b));
	return b;
}

static void residual_report(const struct cimfw_program_stats *st,
			    struct cim_program_residual *out)
{
	double n = st->rep.cells ? st->rep.cells : 1.0;

	memset(out, 0, sizeof(*out));
	out->rep = st->rep;
	out->mean_f32 = f32_bits(st->sum_us / n);
	out->rms_f32 = f32_bits(sqrt(st->sumsq_us / n));
	out->max_f32 = f32_bits(st->max_us);
	out->bin_f32 = f32_bits(st->bin_us);
	memcpy(out->hist, st->hist, sizeof(out->hist));
}

static int do_xbar_program(struct cmd_ctx *c)
{
	typedef struct cim_pkt_xbar_program P;
	struct cim_program_residual res;
	struct cimfw_program_stats stats;
	struct cimfw_xbar_win win;
	struct cimfw_xbar *xb;
	float *w = c->fw->scratch[0];
	double tol;
	P p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.hdr.flags, CIM_PROGRAM_VALID_FLAGS);
	if (!st)
		st = check_win(c, &p.win, PKT_FIELD(P, win), &xb, &win);
	if (!st)
		st = check_program(c, &p);
	if (!st)
		st = read_floats(c, p.src, w, c->refs[0].len / sizeof(float),
				 1.0f, PKT_FIELD(P, src));
	if (st)
		return st;

	tol = f32(p.tolerance_f32);
	if (!(p.hdr.flags & CIM_PROGRAM_F_TOL_US))
		tol *= xb->dg0 * xb->unit_us;
	cimfw_xbar_program(xb, &win, w, p.max_iters, tol, &stats,
			   &c->fw->meter);
	if (c->refs[1].use != CIM_REF_WRITE)
		return CIM_ST_OK;
	residual_report(&stats, &res);
	/* the plain report is the residual one's head */
	return dma_write(c, p.report, &res, c->refs[1].len,
			 PKT_FIELD(P, report));
}

static int do_xbar_read(struct cmd_ctx *c)
{
	typedef struct cim_pkt_xbar_read P;
	struct cimfw_xbar_win win;
	struct cimfw_xbar *xb;
	float *out = c->fw->scratch[0];
	P p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.hdr.flags, CIM_READ_VALID_FLAGS);
	if (!st)
		st = check_win(c, &p.win, PKT_FIELD(P, win), &xb, &win);
	if (!st && p.pad)
		st = fail(c, CIM_ST_RESERVED, PKT_FIELD(P, pad));
	if (!st)
		st = check_refs(c, &p.hdr);
	if (st)
		return st;

	if (p.hdr.flags & CIM_READ_F_WEIGHTS)
		cimfw_xbar_read_weights(xb, &win, out);
	else
		cimfw_xbar_read_g(xb, &win, out);
	return dma_write(c, p.dst, out, c->refs[0].len, PKT_FIELD(P, dst));
}

static int check_vmm(struct cmd_ctx *c, const struct cim_pkt_vmm *p)
{
	typedef struct cim_pkt_vmm P;
	float range = f32(p->adc_range_f32);

	if (p->batch < 1 || p->batch > CIM_MAX_BATCH)
		return fail(c, CIM_ST_BAD_BATCH, PKT_FIELD(P, batch));
	if (!(p->hdr.flags & CIM_VMM_F_ADC_FIXED)) {
		if (p->adc_range_f32)
			return fail(c, CIM_ST_RESERVED,
				    PKT_FIELD(P, adc_range_f32));
	} else if (!(range > 0.0f && isfinite(range))) {
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, adc_range_f32));
	}
	if (p->pad)
		return fail(c, CIM_ST_RESERVED, PKT_FIELD(P, pad));
	return check_refs(c, &p->hdr);
}

static int do_vmm(struct cmd_ctx *c, bool trans)
{
	typedef struct cim_pkt_vmm P;
	struct cimfw_xbar_win win;
	struct cimfw_xbar *xb;
	float *xbuf = c->fw->scratch[0], *ybuf = c->fw->scratch[1], *y;
	const float *x;
	size_t nx, ny;
	P p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.hdr.flags, CIM_VMM_VALID_FLAGS);
	if (!st)
		st = check_win(c, &p.win, PKT_FIELD(P, win), &xb, &win);
	if (!st)
		st = check_vmm(c, &p);
	if (st)
		return st;

	nx = c->refs[0].len / sizeof(float);
	ny = c->refs[1].len / sizeof(float);
	st = get_floats(c, p.x, xbuf, nx, FLT_MAX, PKT_FIELD(P, x), &x);
	if (st)
		return st;
	y = out_buf(c, p.y, ny * sizeof(float), x, nx * sizeof(float), ybuf);
	if (cimfw_xbar_vmm(xb, &win, trans, p.batch, x, y,
			 p.hdr.flags & CIM_VMM_F_ADC_FIXED,
			 f32(p.adc_range_f32), &c->fw->meter))
		return fail(c, CIM_ST_NOMEM, 0);
	if (y != ybuf)
		return CIM_ST_OK;
	return dma_write(c, p.y, y, ny * sizeof(float), PKT_FIELD(P, y));
}

static int do_vmm_fwd(struct cmd_ctx *c)
{
	return do_vmm(c, false);
}

static int do_vmm_trans(struct cmd_ctx *c)
{
	return do_vmm(c, true);
}

static int check_duu(struct cmd_ctx *c, const struct cim_pkt_duu_update *p)
{
	typedef struct cim_pkt_duu_update P;
	float lr = f32(p->lr_f32), eps = f32(p->epsilon_f32);

	if (p->batch > CIM_MAX_BATCH)
		return fail(c, CIM_ST_BAD_BATCH, PKT_FIELD(P, batch));
	if (!(lr >= 0.0f && isfinite(lr)))
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, lr_f32));
	if (!(eps >= 0.0f && isfinite(eps)))
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, epsilon_f32));
	if (p->n_max < 1 || p->n_max > CIM_MAX_PULSES)
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, n_max));
	if (p->reserved)
		return fail(c, CIM_ST_RESERVED, PKT_FIELD(P, reserved));
	if (p->pad)
		return fail(c, CIM_ST_RESERVED, PKT_FIELD(P, pad));
	/* x is I: one vector per row, and nothing to read */
	if (p->hdr.flags & CIM_DUU_F_X_IDENTITY && p->batch != p->win.nrows)
		return fail(c, CIM_ST_BAD_BATCH, PKT_FIELD(P, batch));
	return check_refs(c, &p->hdr);
}

/* x and d, those of them the packet reads (c->refs[0] and [1]) */
static int read_duu_inputs(struct cmd_ctx *c,
			   const struct cim_pkt_duu_update *p, const float **x,
			   const float **d)
{
	typedef struct cim_pkt_duu_update P;
	int st = CIM_ST_OK;

	if (c->refs[0].use == CIM_REF_READ)
		st = get_floats(c, p->x, c->fw->scratch[0],
				c->refs[0].len / sizeof(float), FLT_MAX,
				PKT_FIELD(P, x), x);
	if (!st && c->refs[1].use == CIM_REF_READ)
		st = get_floats(c, p->d, c->fw->scratch[1],
				c->refs[1].len / sizeof(float), FLT_MAX,
				PKT_FIELD(P, d), d);
	return st;
}

static int do_duu_update(struct cmd_ctx *c)
{
	typedef struct cim_pkt_duu_update P;
	struct cim_duu_report rep;
	struct cimfw_xbar_win win;
	struct cimfw_xbar *xb;
	const float *x = NULL, *d = NULL;
	float eps;
	P p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.hdr.flags, CIM_DUU_VALID_FLAGS);
	if (!st)
		st = check_win(c, &p.win, PKT_FIELD(P, win), &xb, &win);
	if (!st)
		st = check_duu(c, &p);
	if (!st)
		st = read_duu_inputs(c, &p, &x, &d);
	if (st)
		return st;

	if (p.hdr.flags & CIM_DUU_F_X_IDENTITY)
		cimfw_duu_accumulate_identity(xb, &win, d, f32(p.lr_f32),
					    &c->fw->meter);
	else if (p.batch)
		cimfw_duu_accumulate(xb, &win, p.batch, x, d, f32(p.lr_f32),
				   &c->fw->meter);
	memset(&rep, 0, sizeof(rep));
	eps = f32(p.epsilon_f32);
	if (eps == 0.0f)
		eps = 1.0f / (float)(c->fw->cfg.levels - 1);
	if (!(p.hdr.flags & CIM_DUU_F_NO_TRANSFER))
		cimfw_duu_transfer(xb, &win, eps, p.n_max, &rep, &c->fw->meter);
	if (c->refs[2].use != CIM_REF_WRITE)
		return CIM_ST_OK;
	return dma_write(c, p.report, &rep, c->refs[2].len,
			 PKT_FIELD(P, report));
}

/* Associative processors ------------------------------------------------- */

static int check_ap_unit(struct cmd_ctx *c, uint32_t ap, uint32_t field)
{
	if (ap >= c->fw->cfg.ap_count)
		return fail(c, CIM_ST_BAD_UNIT, field);
	return CIM_ST_OK;
}

/* ROWS windows: rows inside the AP, 1..64 bit-columns inside it. */
static int check_ap_rows_win(struct cmd_ctx *c, const struct cim_pkt_ap_rows *p)
{
	typedef struct cim_pkt_ap_rows P;
	const struct cimfw_config *cfg = &c->fw->cfg;
	int st;

	st = check_span(c, p->row, p->nrows, cfg->ap_rows, PKT_FIELD(P, row),
			PKT_FIELD(P, nrows));
	if (st)
		return st;
	if (p->col >= cfg->ap_cols)
		return fail(c, CIM_ST_BAD_RANGE, PKT_FIELD(P, col));
	if (p->ncols < 1 || p->ncols > CIM_AP_MAX_FIELD ||
	    p->ncols > cfg->ap_cols - p->col)
		return fail(c, CIM_ST_BAD_RANGE, PKT_FIELD(P, ncols));
	return CIM_ST_OK;
}

/* TAGS take a row window and no columns; REGS take neither. */
static int check_ap_what(struct cmd_ctx *c, const struct cim_pkt_ap_rows *p)
{
	typedef struct cim_pkt_ap_rows P;
	int st;

	switch (p->what) {
	case CIM_AP_READ_ROWS:
		return check_ap_rows_win(c, p);
	case CIM_AP_READ_TAGS:
		st = check_span(c, p->row, p->nrows, c->fw->cfg.ap_rows,
				PKT_FIELD(P, row), PKT_FIELD(P, nrows));
		break;
	case CIM_AP_READ_REGS:
		if (p->row)
			return fail(c, CIM_ST_RESERVED, PKT_FIELD(P, row));
		st = p->nrows ? fail(c, CIM_ST_RESERVED, PKT_FIELD(P, nrows))
			      : CIM_ST_OK;
		break;
	default:
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, what));
	}
	if (st)
		return st;
	if (p->col)
		return fail(c, CIM_ST_RESERVED, PKT_FIELD(P, col));
	if (p->ncols)
		return fail(c, CIM_ST_RESERVED, PKT_FIELD(P, ncols));
	return CIM_ST_OK;
}

/* Both AP row packets; AP_LOAD_ROWS is a ROWS window with what = 0. */
static int check_ap_rows(struct cmd_ctx *c, struct cim_pkt_ap_rows *p,
			 bool load)
{
	typedef struct cim_pkt_ap_rows P;
	int st;

	st = take(c, p, sizeof(*p));
	if (!st)
		st = check_flags(c, p->hdr.flags, 0);
	if (!st)
		st = check_ap_unit(c, p->ap, PKT_FIELD(P, ap));
	if (!st && load && p->what)
		st = fail(c, CIM_ST_RESERVED, PKT_FIELD(P, what));
	if (!st)
		st = check_ap_what(c, p);
	if (!st && p->reserved)
		st = fail(c, CIM_ST_RESERVED, PKT_FIELD(P, reserved));
	if (!st)
		st = check_refs(c, &p->hdr);
	return st;
}

static int do_ap_load_rows(struct cmd_ctx *c)
{
	typedef struct cim_pkt_ap_rows P;
	uint64_t *rows = c->fw->scratch[0], mask;
	uint32_t i;
	P p;
	int st;

	st = check_ap_rows(c, &p, true);
	if (!st)
		st = dma_read(c, p.addr, rows, c->refs[0].len,
			      PKT_FIELD(P, addr));
	if (st)
		return st;
	mask = field_mask(p.ncols);
	for (i = 0; i < p.nrows; i++)
		rows[i] &= mask;
	cimfw_ap_load_rows(&c->fw->aps[p.ap], p.row, p.nrows, p.col, p.ncols,
			 rows, &c->fw->meter);
	return CIM_ST_OK;
}

static int do_ap_read(struct cmd_ctx *c)
{
	typedef struct cim_pkt_ap_rows P;
	uint64_t *out = c->fw->scratch[0];
	struct cimfw_ap *ap;
	P p;
	int st;

	st = check_ap_rows(c, &p, false);
	if (st)
		return st;
	ap = &c->fw->aps[p.ap];
	switch (p.what) {
	case CIM_AP_READ_ROWS:
		cimfw_ap_read_rows(ap, p.row, p.nrows, p.col, p.ncols, out,
				 &c->fw->meter);
		break;
	case CIM_AP_READ_TAGS:
		cimfw_ap_read_tags(ap, p.row, p.nrows, out);
		break;
	default:
		memcpy(out, ap->regs, sizeof(ap->regs));
		break;
	}
	return dma_write(c, p.addr, out, c->refs[0].len, PKT_FIELD(P, addr));
}

/*
 * One AP_PROGRAM may hold 262,143 instructions, minutes of work: an abort
 * (or a reset, through the same callback) is taken between groups of
 * them, so that no packet keeps the device longer than one group. The
 * instructions that ran stay done and charged.
 */
#define AP_ABORT_GROUP	16

static bool job_aborted(const struct cmd_ctx *c)
{
	return c->dma && c->dma->aborted && c->dma->aborted(c->dma->opaque);
}

static int run_ap_insts(struct cmd_ctx *c, struct cimfw_ap *ap,
			const struct cim_ap_inst *inst, unsigned int n)
{
	unsigned int i, k;

	for (i = 0; i < n; i += k) {
		if (i && job_aborted(c))
			return fail(c, CIM_ST_ABORTED, ABORTED_FIELD);
		k = n - i < AP_ABORT_GROUP ? n - i : AP_ABORT_GROUP;
		cimfw_ap_run(ap, inst + i, k, &c->fw->meter);
	}
	return CIM_ST_OK;
}

static int do_ap_program(struct cmd_ctx *c)
{
	typedef struct cim_pkt_ap_program P;
	struct cim_ap_inst *inst = c->fw->scratch[0];
	unsigned int bad = 0;
	struct cimfw_ap *ap;
	P p;
	int st;

	if (c->size < sizeof(p))
		return fail(c, CIM_ST_BAD_SIZE, PKT_FIELD(P, hdr.size));
	memcpy(&p, c->pkt, sizeof(p));
	st = check_flags(c, p.hdr.flags, 0);
	if (!st)
		st = check_ap_unit(c, p.ap, PKT_FIELD(P, ap));
	if (st)
		return st;
	if (!p.ninst)
		return fail(c, CIM_ST_BAD_SIZE, PKT_FIELD(P, ninst));
	if (c->size != cim_pkt_size(&p.hdr))
		return fail(c, CIM_ST_BAD_SIZE, PKT_FIELD(P, hdr.size));

	/* the header check bounds size by CIM_MAX_CMDBUF <= scratch_len */
	memcpy(inst, c->pkt + sizeof(p), sizeof(*inst) * p.ninst);
	ap = &c->fw->aps[p.ap];
	st = cimfw_ap_check(ap, inst, p.ninst, &bad);
	if (st)
		return fail(c, st, (uint32_t)(sizeof(p) + sizeof(*inst) * bad));
	return run_ap_insts(c, ap, inst, p.ninst);
}

/* Counters --------------------------------------------------------------- */

static int do_counters_read(struct cmd_ctx *c)
{
	typedef struct cim_pkt_counters P;
	struct cim_counters cnt;
	P p;
	int st;

	st = take(c, &p, sizeof(p));
	if (!st)
		st = check_flags(c, p.hdr.flags, CIM_COUNTERS_VALID_FLAGS);
	if (st)
		return st;
	if (p.size % 8)
		return fail(c, CIM_ST_BAD_ALIGN, PKT_FIELD(P, size));
	if (p.size < 8 || p.size > 4096)
		return fail(c, CIM_ST_BAD_VALUE, PKT_FIELD(P, size));
	if (p.reserved)
		return fail(c, CIM_ST_RESERVED, PKT_FIELD(P, reserved));
	st = check_refs(c, &p.hdr);
	if (st)
		return st;

	cimfw_counters(c->fw, &cnt);
	st = dma_write(c, p.dst, &cnt, c->refs[0].len, PKT_FIELD(P, dst));
	if (!st && (p.hdr.flags & CIM_COUNTERS_F_RESET))
		cimfw_counters_reset(c->fw);
	return st;
}

static int do_counters_reset(struct cmd_ctx *c)
{
	int st = do_nop(c);

	if (!st)
		cimfw_counters_reset(c->fw);
	return st;
}

/* Dispatch --------------------------------------------------------------- */

/**
 * struct cmd_op - one opcode
 * @run: its handler; returns enum cim_status
 * @metered: whether the packet's cost goes to the job; the counter packets
 *           cost nothing and may zero the meter under the job's feet
 */
struct cmd_op {
	int (*run)(struct cmd_ctx *c);
	bool metered;
};

static const struct cmd_op cmd_ops[] = {
	[CIM_OP_NOP] = { do_nop, false },
	[CIM_OP_FENCE] = { do_fence, false },
	[CIM_OP_SCRUB] = { do_scrub, true },
	[CIM_OP_IDLE] = { do_idle, false },
	[CIM_OP_XBAR_PROGRAM] = { do_xbar_program, true },
	[CIM_OP_XBAR_READ] = { do_xbar_read, true },
	[CIM_OP_VMM_FWD] = { do_vmm_fwd, true },
	[CIM_OP_VMM_TRANS] = { do_vmm_trans, true },
	[CIM_OP_DUU_UPDATE] = { do_duu_update, true },
	[CIM_OP_AP_LOAD_ROWS] = { do_ap_load_rows, true },
	[CIM_OP_AP_PROGRAM] = { do_ap_program, true },
	[CIM_OP_AP_READ] = { do_ap_read, true },
	[CIM_OP_COUNTERS_READ] = { do_counters_read, false },
	[CIM_OP_COUNTERS_RESET] = { do_counters_reset, false },
};

static const struct cmd_op *find_op(uint16_t opcode)
{
	if (opcode >= sizeof(cmd_ops) / sizeof(cmd_ops[0]) ||
	    !cmd_ops[opcode].run)
		return NULL;
	return &cmd_ops[opcode];
}

/* Check the header at @off; on success c->pkt and c->size are set. */
static int check_header(struct cmd_ctx *c, const unsigned char *buf,
			size_t size, size_t off, struct cim_pkt_hdr *h)
{
	const uint32_t size_field = PKT_FIELD(struct cim_pkt_hdr, size);

	if (size - off < sizeof(*h))
		return fail(c, CIM_ST_TRUNCATED, 0);
	memcpy(h, buf + off, sizeof(*h));
	if (h->size < sizeof(*h) || h->size > CIM_MAX_CMDBUF)
		return fail(c, CIM_ST_BAD_SIZE, size_field);
	if (h->size % 8)
		return fail(c, CIM_ST_BAD_ALIGN, size_field);
	if (h->size > size - off)
		return fail(c, CIM_ST_TRUNCATED, size_field);
	c->pkt = buf + off;
	c->size = h->size;
	return CIM_ST_OK;
}

/* Per-job totals, so that a counter reset inside the job loses nothing. */
struct job_cost {
	double energy_fj;
	double time_ps;
};

/* the device's clock moves by the packets' time too, whole ns carried */
static void clock_advance(struct cimfw *fw, double ps)
{
	double ns;

	fw->clock_frac_ps += ps;
	ns = floor(fw->clock_frac_ps / 1000.0);
	if (!(ns >= 1.0))
		return;
	fw->clock_frac_ps -= ns * 1000.0;
	fw->clock_ns = ns >= (double)(UINT64_MAX - fw->clock_ns) ? UINT64_MAX :
		       fw->clock_ns + (uint64_t)ns;
}

/*
 * Run one packet and account its cost. Units inside one packet overlap
 * (the DACs of the next vector drive while the ADCs of this one convert),
 * so the packet takes as long as its busiest unit; a unit that is one
 * sequential machine (the AP) adds its steps to the device time itself,
 * and then the packet takes at least that long.
 */
static int run_packet(struct cmd_ctx *c, const struct cmd_op *op,
		      struct job_cost *job)
{
	struct cimfw_meter *m = &c->fw->meter;
	double busy[CIM_UNIT_COUNT], e0, t0, t = 0.0;
	unsigned int u;
	int st;

	memcpy(busy, m->busy_ps, sizeof(busy));
	e0 = cimfw_meter_energy_total(m);
	t0 = m->device_time_ps;
	st = op->run(c);
	if (!op->metered)
		return st;
	for (u = 0; u < CIM_UNIT_COUNT; u++)
		if (m->busy_ps[u] - busy[u] > t)
			t = m->busy_ps[u] - busy[u];
	if (m->device_time_ps - t0 < t)
		m->device_time_ps = t0 + t;
	job->energy_fj += cimfw_meter_energy_total(m) - e0;
	job->time_ps += m->device_time_ps - t0;
	clock_advance(c->fw, m->device_time_ps - t0);
	return st;
}

static uint64_t round_cost(double v)
{
	return v > 0.0 ? (uint64_t)llround(v) : 0;
}

int cimfw_execute(struct cimfw *fw, const void *cmdbuf, size_t size,
		   const struct cimfw_dma *dma,
		   struct cim_job_completion *done)
{
	struct cmd_ctx c = { .fw = fw, .dma = dma };
	struct job_cost job = { 0.0, 0.0 };
	const struct cmd_op *op;
	struct cim_pkt_hdr h;
	size_t off = 0;
	int st = CIM_ST_OK;

	memset(done, 0, sizeof(*done));
	while (off < size) {
		/* an abort lands between packets (and AP instruction groups) */
		if (off && job_aborted(&c)) {
			st = fail(&c, CIM_ST_ABORTED, ABORTED_FIELD);
			break;
		}
		st = check_header(&c, cmdbuf, size, off, &h);
		if (st)
			break;
		op = find_op(h.opcode);
		if (!op) {
			st = fail(&c, CIM_ST_BAD_OPCODE, 0);
			break;
		}
		st = run_packet(&c, op, &job);
		if (st)
			break;
		done->cmds_done++;
		off += h.size;
	}
	fw->jobs++;
	done->status = (uint32_t)st;
	if (st) {
		done->error_offset = (uint32_t)off;
		done->error_field = c.field;
	}
	done->energy_fj = round_cost(job.energy_fj);
	done->device_time_ps = round_cost(job.time_ps);
	return st;
}
