// SPDX-License-Identifier: MIT
/*
 * The command builder: typed calls that check their arguments, append one
 * packet of include/cim_hw.h and record the buffers it references. Each
 * call validates everything first, then makes room, then writes: a call
 * that fails leaves the command buffer as it was.
 *
 * Addresses: on the kernel backend a reference is CIM_REF(index in the
 * buffer list, offset), which the driver turns into a bus address; on the
 * embedded backend it is the buffer's bus address in the device's slot
 * table plus the offset.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "uapi/misc/cim.h"

#include "cim_priv.h"

#define CIM__CMDBUF_MIN_CAP	256

int cim_cmdbuf_create(struct cim_device *dev, struct cim_cmdbuf **out)
{
	struct cim_cmdbuf *cb;

	if (!dev || !out)
		return -EINVAL;
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		return -ENOMEM;
	cb->dev = dev;
	cim__device_get(dev);
	*out = cb;
	return 0;
}

void cim_cmdbuf_reset(struct cim_cmdbuf *cb)
{
	unsigned int i;

	for (i = 0; i < cb->nbufs; i++)
		cim__buffer_put(cb->bufs[i]);
	cb->nbufs = 0;
	cb->len = 0;
	cb->count = 0;
	cb->xbar_used = 0;
	cb->ap_used = 0;
}

void cim_cmdbuf_destroy(struct cim_cmdbuf *cb)
{
	if (!cb)
		return;
	cim_cmdbuf_reset(cb);
	if (cb->bo)
		cim__buffer_put(cb->bo);
	free(cb->words);
	cim__device_put(cb->dev);
	free(cb);
}

unsigned int cim_cmdbuf_count(const struct cim_cmdbuf *cb)
{
	return cb->count;
}

size_t cim_cmdbuf_bytes(const struct cim_cmdbuf *cb)
{
	return cb->len;
}

const void *cim_cmdbuf_data(const struct cim_cmdbuf *cb)
{
	return cb->words;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/* A byte range of a buffer that a packet will touch */
static int check_ref(const struct cim_cmdbuf *cb, const struct cim_buffer *buf,
		     size_t off, uint64_t len, size_t align)
{
	if (!buf || buf->dev != cb->dev || off % align)
		return -EINVAL;
	if (off > buf->size || len > buf->size - off)
		return -EINVAL;
	return 0;
}

static int find_buf(const struct cim_cmdbuf *cb, const struct cim_buffer *buf)
{
	unsigned int i;

	for (i = 0; i < cb->nbufs; i++)
		if (cb->bufs[i] == buf)
			return (int)i;
	return -1;
}

/*
 * Append a zeroed packet of @size bytes with its header, referencing the
 * @n buffers of @bufs (NULL entries skipped). Checks the limits before it
 * changes anything.
 */
static int emit(struct cim_cmdbuf *cb, uint16_t opcode, uint16_t flags,
		size_t size, struct cim_buffer *const *bufs, unsigned int n,
		void **pkt)
{
	struct cim_buffer *fresh[4];
	unsigned int i, j, nfresh = 0;
	struct cim_pkt_hdr *hdr;

	for (i = 0; i < n; i++) {
		if (!bufs[i] || find_buf(cb, bufs[i]) >= 0)
			continue;
		for (j = 0; j < nfresh && fresh[j] != bufs[i]; j++)
			;
		if (j == nfresh)
			fresh[nfresh++] = bufs[i];
	}
	if (cb->nbufs + nfresh > cb->dev->info.max_buffers ||
	    cb->len + size > cb->dev->info.max_cmdbuf)
		return -ENOSPC;
	if (cb->len + size > cb->cap) {
		size_t cap = cb->cap ? cb->cap : CIM__CMDBUF_MIN_CAP;
		uint64_t *words;

		while (cap < cb->len + size)
			cap *= 2;
		words = realloc(cb->words, cap);
		if (!words)
			return -ENOMEM;
		cb->words = words;
		cb->cap = cap;
	}
	for (i = 0; i < nfresh; i++) {
		cim__buffer_get(fresh[i]);
		cb->bufs[cb->nbufs++] = fresh[i];
	}
	hdr = (struct cim_pkt_hdr *)((char *)cb->words + cb->len);
	memset(hdr, 0, size);
	hdr->opcode = opcode;
	hdr->flags = flags;
	hdr->size = (uint32_t)size;
	cb->len += size;
	cb->count++;
	*pkt = hdr;
	return 0;
}

/* The address field for (@buf, @off); 0 for no buffer. After emit(). */
static uint64_t addr_of(const struct cim_cmdbuf *cb,
			const struct cim_buffer *buf, size_t off)
{
	if (!buf)
		return 0;
	if (cb->dev->refs_by_index)
		return CIM_REF(find_buf(cb, buf), off);
	return buf->bus + off;
}

/* A buffer and offset the caller gives for one address field */
struct buf_ref {
	struct cim_buffer *buf;
	size_t off;
};

/*
 * Append the packet @pkt, built on the stack with its header filled in,
 * whose address fields take the buffers @bufs in the order cim_pkt_refs()
 * lists them: a field the packet uses needs a buffer holding the bytes it
 * covers, one it does not use takes none.
 */
static int emit_refs(struct cim_cmdbuf *cb, const void *pkt,
		     const struct buf_ref *bufs, void **out)
{
	const struct cim_pkt_hdr *h = pkt;
	struct cim_pkt_ref refs[CIM_PKT_MAX_REFS];
	struct cim_buffer *used[CIM_PKT_MAX_REFS];
	unsigned int i, n = cim_pkt_refs(h, refs);
	char *dst;
	int ret;

	for (i = 0; i < n; i++) {
		used[i] = bufs[i].buf;
		if (refs[i].use == CIM_REF_READ || refs[i].use == CIM_REF_WRITE)
			ret = check_ref(cb, bufs[i].buf, bufs[i].off,
					refs[i].len, refs[i].align);
		else
			ret = bufs[i].buf ? -EINVAL : 0;
		if (ret)
			return ret;
	}
	ret = emit(cb, h->opcode, h->flags, h->size, used, n, out);
	if (ret)
		return ret;
	dst = *out;
	memcpy(dst, pkt, h->size);
	for (i = 0; i < n; i++) {
		uint64_t addr = addr_of(cb, bufs[i].buf, bufs[i].off);

		memcpy(dst + refs[i].field, &addr, sizeof(addr));
	}
	return 0;
}

static int check_win(const struct cim_cmdbuf *cb, const struct cim_window *w)
{
	const struct cim_info *in = &cb->dev->info;

	if (!w || w->xbar >= in->xbar_count || !w->nrows || !w->ncols)
		return -EINVAL;
	if (w->row > in->xbar_rows || w->nrows > in->xbar_rows - w->row ||
	    w->col > in->xbar_cols || w->ncols > in->xbar_cols - w->col)
		return -EINVAL;
	return 0;
}

static struct cim_pkt_xbar_window pkt_win(const struct cim_window *w)
{
	return (struct cim_pkt_xbar_window) {
		.xbar = w->xbar,
		.row = (uint16_t)w->row,
		.nrows = (uint16_t)w->nrows,
		.col = (uint16_t)w->col,
		.ncols = (uint16_t)w->ncols,
	};
}

int cim_cmd_nop(struct cim_cmdbuf *cb)
{
	void *pkt;

	if (!cb)
		return -EINVAL;
	return emit(cb, CIM_OP_NOP, 0, sizeof(struct cim_pkt_hdr), NULL, 0,
		    &pkt);
}

int cim_cmd_fence(struct cim_cmdbuf *cb, struct cim_buffer *buf, size_t off,
		  uint64_t value)
{
	const struct buf_ref bufs[] = { { buf, off } };
	struct cim_pkt_fence p = {
		.hdr = { .opcode = CIM_OP_FENCE, .size = sizeof(p) },
		.value = value,
	};
	void *out;

	if (!cb)
		return -EINVAL;
	return emit_refs(cb, &p, bufs, &out);
}

/* Whether the device speaks ABI 1.@minor or later (open checked the major) */
static bool abi_since(const struct cim_cmdbuf *cb, unsigned int minor)
{
	return (cb->dev->info.hw_version & 0xffff) >= minor;
}

int cim_cmd_idle(struct cim_cmdbuf *cb, uint64_t ns)
{
	struct cim_pkt_idle p = {
		.hdr = { .opcode = CIM_OP_IDLE, .size = sizeof(p) },
		.ns = ns,
	};
	void *out;

	if (!cb || !ns || ns > CIM_MAX_IDLE_NS)
		return -EINVAL;
	if (!abi_since(cb, 2))
		return -EOPNOTSUPP;
	return emit_refs(cb, &p, NULL, &out);
}

/* The flags cim_program_params may carry, each of ABI 1.2 */
#define CIM__PROGRAM_PARAM_FLAGS (CIM_PROGRAM_F_TOL_US | CIM_PROGRAM_F_RESIDUAL)

static int check_program(const struct cim_cmdbuf *cb,
			 const struct cim_window *win,
			 const struct cim_program_params *p,
			 const struct cim_buffer *report)
{
	float max_tol = p->flags & CIM_PROGRAM_F_TOL_US ?
			CIM_PROGRAM_MAX_TOL_US : 8.0f;

	if (check_win(cb, win) || p->size < sizeof(*p) ||
	    p->flags & ~CIM__PROGRAM_PARAM_FLAGS)
		return -EINVAL;
	if (!p->max_iters || p->max_iters > 64 ||
	    !(p->tolerance > 0.0f && p->tolerance <= max_tol))
		return -EINVAL;
	if (p->flags & CIM_PROGRAM_F_RESIDUAL && !report)
		return -EINVAL;
	if (p->flags && !abi_since(cb, 2))
		return -EOPNOTSUPP;
	return 0;
}

int cim_cmd_xbar_program2(struct cim_cmdbuf *cb, const struct cim_window *win,
			  const struct cim_program_params *prm,
			  struct cim_buffer *src, size_t src_off,
			  struct cim_buffer *report, size_t report_off)
{
	const struct buf_ref bufs[] = { { src, src_off },
					{ report, report_off } };
	struct cim_pkt_xbar_program p = {
		.hdr = { .opcode = CIM_OP_XBAR_PROGRAM, .size = sizeof(p) },
	};
	void *out;
	int ret;

	if (!cb || !prm)
		return -EINVAL;
	ret = check_program(cb, win, prm, report);
	if (ret)
		return ret;
	p.hdr.flags = (uint16_t)prm->flags;
	if (report && !(prm->flags & CIM_PROGRAM_F_RESIDUAL))
		p.hdr.flags |= CIM_PROGRAM_F_REPORT;
	p.win = pkt_win(win);
	p.max_iters = prm->max_iters;
	p.tolerance_f32 = f32_bits(prm->tolerance);
	ret = emit_refs(cb, &p, bufs, &out);
	if (ret)
		return ret;
	cb->xbar_used |= 1ull << win->xbar;
	return 0;
}

int cim_cmd_xbar_program(struct cim_cmdbuf *cb, const struct cim_window *win,
			 struct cim_buffer *src, size_t src_off,
			 unsigned int max_iters, float tolerance,
			 struct cim_buffer *report, size_t report_off)
{
	const struct cim_program_params p = {
		.size = sizeof(p),
		.max_iters = max_iters,
		.tolerance = tolerance,
	};

	return cim_cmd_xbar_program2(cb, win, &p, src, src_off, report,
				     report_off);
}

int cim_cmd_xbar_read(struct cim_cmdbuf *cb, const struct cim_window *win,
		      unsigned int flags, struct cim_buffer *dst, size_t dst_off)
{
	const struct buf_ref bufs[] = { { dst, dst_off } };
	struct cim_pkt_xbar_read p = {
		.hdr = { .opcode = CIM_OP_XBAR_READ, .size = sizeof(p),
			 .flags = (uint16_t)flags },
	};
	void *out;
	int ret;

	if (!cb || check_win(cb, win) || flags & ~CIM_READ_VALID_FLAGS)
		return -EINVAL;
	p.win = pkt_win(win);
	ret = emit_refs(cb, &p, bufs, &out);
	if (ret)
		return ret;
	cb->xbar_used |= 1ull << win->xbar;
	return 0;
}

int cim_cmd_vmm(struct cim_cmdbuf *cb, enum cim_vmm_dir dir,
		const struct cim_window *win, unsigned int batch,
		float adc_range, struct cim_buffer *x, size_t x_off,
		struct cim_buffer *y, size_t y_off)
{
	const struct buf_ref bufs[] = { { x, x_off }, { y, y_off } };
	struct cim_pkt_vmm p = {
		.hdr = { .size = sizeof(p) },
		.batch = batch,
	};
	void *out;
	int ret;

	if (!cb || (dir != CIM_VMM_FWD && dir != CIM_VMM_TRANS) ||
	    check_win(cb, win) || !batch || batch > cb->dev->info.max_batch)
		return -EINVAL;
	if (!(adc_range == 0.0f || (isfinite(adc_range) && adc_range > 0.0f)))
		return -EINVAL;
	p.hdr.opcode = dir == CIM_VMM_FWD ? CIM_OP_VMM_FWD : CIM_OP_VMM_TRANS;
	if (adc_range > 0.0f) {
		p.hdr.flags = CIM_VMM_F_ADC_FIXED;
		p.adc_range_f32 = f32_bits(adc_range);
	}
	p.win = pkt_win(win);
	ret = emit_refs(cb, &p, bufs, &out);
	if (ret)
		return ret;
	cb->xbar_used |= 1ull << win->xbar;
	return 0;
}

static int check_duu(const struct cim_cmdbuf *cb, const struct cim_window *win,
		     const struct cim_duu_params *p)
{
	if (check_win(cb, win) || !p || p->batch > cb->dev->info.max_batch)
		return -EINVAL;
	if (!isfinite(p->lr) || p->lr < 0.0f || !isfinite(p->epsilon) ||
	    p->epsilon < 0.0f)
		return -EINVAL;
	if (!p->n_max || p->n_max > CIM_MAX_PULSES ||
	    p->flags & ~(CIM_DUU_F_NO_TRANSFER | CIM_DUU_F_X_IDENTITY))
		return -EINVAL;
	/* an identity x has one vector per row */
	if (p->flags & CIM_DUU_F_X_IDENTITY && p->batch != win->nrows)
		return -EINVAL;
	return 0;
}

int cim_cmd_duu_update(struct cim_cmdbuf *cb, const struct cim_window *win,
		       const struct cim_duu_params *prm, struct cim_buffer *x,
		       size_t x_off, struct cim_buffer *d, size_t d_off,
		       struct cim_buffer *report, size_t report_off)
{
	/* x and d not read (batch 0, identity x): naming them is a mistake */
	const struct buf_ref bufs[] = { { x, x_off }, { d, d_off },
					{ report, report_off } };
	struct cim_pkt_duu_update p = {
		.hdr = { .opcode = CIM_OP_DUU_UPDATE, .size = sizeof(p) },
	};
	void *out;
	int ret;

	if (!cb || check_duu(cb, win, prm))
		return -EINVAL;
	p.hdr.flags = (uint16_t)(prm->flags | (report ? CIM_DUU_F_REPORT : 0));
	p.win = pkt_win(win);
	p.batch = prm->batch;
	p.lr_f32 = f32_bits(prm->lr);
	p.epsilon_f32 = f32_bits(prm->epsilon);
	p.n_max = (uint16_t)prm->n_max;
	ret = emit_refs(cb, &p, bufs, &out);
	if (ret)
		return ret;
	cb->xbar_used |= 1ull << win->xbar;
	return 0;
}

/* Rows row..row+nrows-1 and bit-columns col..col+ncols-1 (1..64) of @ap */
static int check_ap_rows(const struct cim_cmdbuf *cb, unsigned int ap,
			 unsigned int row, unsigned int nrows,
			 unsigned int col, unsigned int ncols)
{
	const struct cim_info *in = &cb->dev->info;

	if (ap >= in->ap_count || !nrows || row > in->ap_rows ||
	    nrows > in->ap_rows - row)
		return -EINVAL;
	if (!ncols || ncols > 64 || col > in->ap_cols ||
	    ncols > in->ap_cols - col)
		return -EINVAL;
	return 0;
}

static int emit_ap_rows(struct cim_cmdbuf *cb, uint16_t opcode,
			unsigned int ap, uint32_t what, unsigned int row,
			unsigned int nrows, unsigned int col,
			unsigned int ncols, struct cim_buffer *buf, size_t off)
{
	const struct buf_ref bufs[] = { { buf, off } };
	struct cim_pkt_ap_rows p = {
		.hdr = { .opcode = opcode, .size = sizeof(p) },
		.ap = ap,
		.what = what,
		.row = row,
		.nrows = nrows,
		.col = (uint16_t)col,
		.ncols = (uint16_t)ncols,
	};
	void *out;
	int ret;

	ret = emit_refs(cb, &p, bufs, &out);
	if (ret)
		return ret;
	cb->ap_used |= 1ull << ap;
	return 0;
}

int cim_cmd_ap_load_rows(struct cim_cmdbuf *cb, unsigned int ap,
			 unsigned int row, unsigned int nrows, unsigned int col,
			 unsigned int ncols, struct cim_buffer *src, size_t off)
{
	if (!cb || check_ap_rows(cb, ap, row, nrows, col, ncols))
		return -EINVAL;
	return emit_ap_rows(cb, CIM_OP_AP_LOAD_ROWS, ap, 0, row, nrows, col,
			    ncols, src, off);
}

int cim_cmd_ap_read(struct cim_cmdbuf *cb, unsigned int ap,
		    enum cim_ap_read what, unsigned int row,
		    unsigned int nrows, unsigned int col, unsigned int ncols,
		    struct cim_buffer *dst, size_t off)
{
	int ret;

	if (!cb)
		return -EINVAL;
	switch (what) {
	case CIM_AP_READ_ROWS:
		ret = check_ap_rows(cb, ap, row, nrows, col, ncols);
		break;
	case CIM_AP_READ_TAGS:
		/* a one-column window checks the rows */
		ret = check_ap_rows(cb, ap, row, nrows, 0, 1) || col || ncols;
		break;
	case CIM_AP_READ_REGS:
		ret = ap >= cb->dev->info.ap_count || row || nrows || col ||
		      ncols;
		break;
	default:
		return -EINVAL;
	}
	if (ret)
		return -EINVAL;
	return emit_ap_rows(cb, CIM_OP_AP_READ, ap, what, row, nrows, col,
			    ncols, dst, off);
}

int cim_cmd_ap_program(struct cim_cmdbuf *cb, unsigned int ap,
		       const struct cim_ap_prog *prog)
{
	struct cim_pkt_ap_program *p;
	unsigned int n;
	int ret;

	if (!cb || !prog || ap >= cb->dev->info.ap_count)
		return -EINVAL;
	n = cim_ap_prog_count(prog);
	if (!n)
		return -EINVAL;
	if (n > (cb->dev->info.max_cmdbuf - sizeof(*p)) /
		sizeof(struct cim_ap_inst))
		return -ENOSPC;
	ret = emit(cb, CIM_OP_AP_PROGRAM, 0,
		   sizeof(*p) + n * sizeof(struct cim_ap_inst), NULL, 0,
		   (void **)&p);
	if (ret)
		return ret;
	p->ap = ap;
	p->ninst = n;
	memcpy(p->inst, cim_ap_prog_insts(prog), n * sizeof(p->inst[0]));
	cb->ap_used |= 1ull << ap;
	return 0;
}

int cim_cmd_counters_read(struct cim_cmdbuf *cb, struct cim_buffer *dst,
			  size_t off)
{
	const struct buf_ref bufs[] = { { dst, off } };
	struct cim_pkt_counters p = {
		.hdr = { .opcode = CIM_OP_COUNTERS_READ, .size = sizeof(p) },
		.size = sizeof(struct cim_counters),
	};
	void *out;

	if (!cb)
		return -EINVAL;
	return emit_refs(cb, &p, bufs, &out);
}
