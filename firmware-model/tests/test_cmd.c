// SPDX-License-Identifier: MIT
/*
 * The command processor: header checks, every rejected field of every
 * packet (with the device left exactly as it was), multi-packet buffers,
 * DMA failures, FENCE, counters, and a fuzzer.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"
#include "rng.h"
#include "testmem.h"
#include "unit.h"

#define FIELD(type, member)	((uint32_t)offsetof(type, member))
#define UNMAPPED		0x1000ull	/* 8-aligned, outside testmem */
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

static struct cimfw *fw;
static struct testmem mem;
static struct cmdbuf *cb;
/* bus buffers */
static uint64_t b_w, b_x, b_y, b_d, b_rep, b_ap, b_fence, b_cnt;

/* Window used by every crossbar packet: inside xbar 1 of 64 x 48. */
static const struct cim_pkt_xbar_window good_win = {
	.xbar = 1, .row = 4, .nrows = 8, .col = 2, .ncols = 6,
};

static void fill(uint64_t addr, size_t n, float scale)
{
	float *v = testmem_ptr(&mem, addr);
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = scale * (float)((int)(i * 37 % 101) - 50) / 50.0f;
}

/* Put the device in a non-trivial state: weights, chi and AP rows. */
static void prime(void)
{
	struct cim_job_completion done;
	struct cim_pkt_xbar_program *p;
	struct cim_pkt_duu_update *u;
	struct cim_pkt_ap_rows *l;

	cb->len = 0;
	p = cmdbuf_add(cb, CIM_OP_XBAR_PROGRAM, 0, sizeof(*p));
	p->win = (struct cim_pkt_xbar_window) { 1, 0, 64, 0, 48 };
	p->max_iters = 8;
	p->tolerance_f32 = f32_bits(0.5f);
	p->src = b_w;
	u = cmdbuf_add(cb, CIM_OP_DUU_UPDATE, CIM_DUU_F_NO_TRANSFER,
		       sizeof(*u));
	u->win = (struct cim_pkt_xbar_window) { 1, 0, 64, 0, 48 };
	u->batch = 1;
	u->lr_f32 = f32_bits(0.001f);
	u->n_max = 1;
	u->x = b_x;
	u->d = b_d;
	l = cmdbuf_add(cb, CIM_OP_AP_LOAD_ROWS, 0, sizeof(*l));
	l->ap = 1;
	l->nrows = 64;
	l->ncols = 64;
	l->addr = b_ap;
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	cb->len = 0;
}

static void setup(void)
{
	struct cimfw_config cfg;
	uint64_t *rows;
	unsigned int i;

	unit_config_ideal(&cfg);
	ck_assert_int_eq(cimfw_create(&cfg, &fw), 0);
	testmem_init(&mem);
	cb = calloc(1, sizeof(*cb));
	ck_assert_ptr_nonnull(cb);
	b_w = testmem_alloc(&mem, 64 * 48 * 4, NULL);
	b_x = testmem_alloc(&mem, CIM_MAX_BATCH * 64 * 4, NULL);
	b_y = testmem_alloc(&mem, CIM_MAX_BATCH * 64 * 4, NULL);
	b_d = testmem_alloc(&mem, CIM_MAX_BATCH * 64 * 4, NULL);
	b_rep = testmem_alloc(&mem, 64, NULL);
	b_ap = testmem_alloc(&mem, 256 * 8, &rows);
	b_fence = testmem_alloc(&mem, 64, NULL);
	b_cnt = testmem_alloc(&mem, 4096, NULL);
	fill(b_w, 64 * 48, 0.9f);
	fill(b_x, CIM_MAX_BATCH * 64, 1.0f);
	fill(b_d, CIM_MAX_BATCH * 64, 0.5f);
	for (i = 0; i < 256; i++)
		rows[i] = i * 0x9e3779b97f4a7c15ull;
	prime();
}

static void teardown(void)
{
	cimfw_destroy(fw);
	testmem_fini(&mem);
	free(cb);
}

/* Device state ----------------------------------------------------------- */

static uint64_t hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Everything a packet could change, jobs aside, in one FNV-1a hash. */
static uint64_t state_hash(void)
{
	struct cim_counters c;
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned int i;

	cimfw_counters(fw, &c);
	c.jobs = 0;
	h = hash(h, &c, sizeof(c));
	h = hash(h, &fw->meter, sizeof(fw->meter));
	for (i = 0; i < fw->cfg.xbar_count; i++) {
		const struct cimfw_xbar *xb = &fw->xbars[i];
		size_t n = (size_t)xb->rows * xb->cols;

		h = hash(h, xb->g, 2 * n * sizeof(*xb->g));
		h = hash(h, xb->chi, n * sizeof(float));
		h = hash(h, xb->c2c.s, sizeof(xb->c2c.s));
		h = hash(h, xb->read.s, sizeof(xb->read.s));
		h = hash(h, xb->verify.s, sizeof(xb->verify.s));
	}
	for (i = 0; i < fw->cfg.ap_count; i++) {
		const struct cimfw_ap *ap = &fw->aps[i];
		size_t w = ap->words * sizeof(uint64_t);

		h = hash(h, ap->bits, (size_t)ap->cols * ap->domains * w);
		h = hash(h, ap->key, ap->cols);
		h = hash(h, ap->mask, ap->cols);
		h = hash(h, ap->tag, w);
		h = hash(h, ap->tag2, w);
		h = hash(h, ap->rowen, w);
		h = hash(h, ap->regs, sizeof(ap->regs));
	}
	return h;
}

/* Valid packets ---------------------------------------------------------- */

/* Build a valid packet of @op into @buf (zeroed, 256 bytes); its size. */
static uint32_t valid_packet(uint16_t op, void *buf)
{
	struct cim_pkt_hdr *h = buf;
	uint32_t size;

	memset(buf, 0, 256);
	switch (op) {
	case CIM_OP_FENCE: {
		struct cim_pkt_fence *p = buf;

		p->addr = b_fence;
		p->value = 0x1234567890abcdefull;
		size = sizeof(*p);
		break;
	}
	case CIM_OP_SCRUB: {
		struct cim_pkt_scrub *p = buf;

		p->xbar_mask = 2;
		p->ap_mask = 3;
		size = sizeof(*p);
		break;
	}
	case CIM_OP_IDLE: {
		struct cim_pkt_idle *p = buf;

		p->ns = 1000000;
		size = sizeof(*p);
		break;
	}
	case CIM_OP_XBAR_PROGRAM: {
		struct cim_pkt_xbar_program *p = buf;

		h->flags = CIM_PROGRAM_F_REPORT;
		p->win = good_win;
		p->max_iters = 8;
		p->tolerance_f32 = f32_bits(0.5f);
		p->src = b_w;
		p->report = b_rep;
		size = sizeof(*p);
		break;
	}
	case CIM_OP_XBAR_READ: {
		struct cim_pkt_xbar_read *p = buf;

		h->flags = CIM_READ_F_WEIGHTS;
		p->win = good_win;
		p->dst = b_y;
		size = sizeof(*p);
		break;
	}
	case CIM_OP_VMM_FWD:
	case CIM_OP_VMM_TRANS: {
		struct cim_pkt_vmm *p = buf;

		p->win = good_win;
		p->batch = 3;
		p->x = b_x;
		p->y = b_y;
		size = sizeof(*p);
		break;
	}
	case CIM_OP_DUU_UPDATE: {
		struct cim_pkt_duu_update *p = buf;

		h->flags = CIM_DUU_F_REPORT;
		p->win = good_win;
		p->batch = 2;
		p->lr_f32 = f32_bits(0.1f);
		p->n_max = 31;
		p->x = b_x;
		p->d = b_d;
		p->report = b_rep;
		size = sizeof(*p);
		break;
	}
	case CIM_OP_AP_LOAD_ROWS:
	case CIM_OP_AP_READ: {
		struct cim_pkt_ap_rows *p = buf;

		p->ap = 1;
		p->what = CIM_AP_READ_ROWS;
		p->row = 8;
		p->nrows = 16;
		p->col = 4;
		p->ncols = 12;
		p->addr = b_ap;
		size = sizeof(*p);
		break;
	}
	case CIM_OP_AP_PROGRAM: {
		struct cim_pkt_ap_program *p = buf;

		p->ap = 1;
		p->ninst = 2;
		p->inst[0].op = CIM_AP_KM_CLEAR;
		p->inst[1].op = CIM_AP_TAGOP;
		p->inst[1].arg = CIM_AP_TAG_SETALL;
		size = sizeof(*p) + 2 * sizeof(p->inst[0]);
		break;
	}
	case CIM_OP_COUNTERS_READ: {
		struct cim_pkt_counters *p = buf;

		p->size = sizeof(struct cim_counters);
		p->dst = b_cnt;
		size = sizeof(*p);
		break;
	}
	default:		/* NOP, COUNTERS_RESET */
		size = sizeof(*h);
		break;
	}
	h->opcode = op;
	h->size = size;
	return size;
}

static const uint16_t all_ops[] = {
	CIM_OP_NOP, CIM_OP_FENCE, CIM_OP_SCRUB, CIM_OP_IDLE,
	CIM_OP_XBAR_PROGRAM, CIM_OP_XBAR_READ,
	CIM_OP_VMM_FWD, CIM_OP_VMM_TRANS, CIM_OP_DUU_UPDATE,
	CIM_OP_AP_LOAD_ROWS, CIM_OP_AP_PROGRAM, CIM_OP_AP_READ,
	CIM_OP_COUNTERS_READ, CIM_OP_COUNTERS_RESET,
};

START_TEST(test_cmd_valid_packets)
{
	struct cim_job_completion done;
	uint8_t buf[256];
	uint32_t size = valid_packet(all_ops[_i], buf);

	memcpy(cmdbuf_add(cb, 0, 0, size), buf, size);
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	ck_assert_uint_eq(done.status, CIM_ST_OK);
	ck_assert_uint_eq(done.cmds_done, 1);
	ck_assert_uint_eq(done.error_offset, 0);
	ck_assert_uint_eq(done.error_field, 0);
	ck_assert_uint_eq(done.seqno, 0);
	ck_assert_uint_eq(done.reserved, 0);
}
END_TEST

/* Rejected fields -------------------------------------------------------- */

/**
 * struct reject - one invalid variant of a valid packet
 * @op: the packet
 * @grow: bytes added to (or taken from) the packet's size
 * @off: where to store @value, @width bytes (0: nothing)
 * @add: add @value to the field instead of storing it
 * @fix: further changes, to the packet or to the memory it reads
 * @status: expected status
 * @field: expected error_field
 */
struct reject {
	uint16_t op;
	int grow;
	uint32_t off;
	uint32_t width;
	uint64_t value;
	bool add;
	void (*fix)(void *pkt);
	int status;
	uint32_t field;
};

static void set_adc_fixed(void *pkt)
{
	((struct cim_pkt_hdr *)pkt)->flags |= CIM_VMM_F_ADC_FIXED;
}

static void set_adc_inf(void *pkt)
{
	set_adc_fixed(pkt);
	((struct cim_pkt_vmm *)pkt)->adc_range_f32 = f32_bits(INFINITY);
}

static void drop_flags(void *pkt)
{
	((struct cim_pkt_hdr *)pkt)->flags = 0;
}

/* an identity x, still with its address; one vector per window row */
static void x_identity(void *pkt)
{
	struct cim_pkt_duu_update *p = pkt;

	p->hdr.flags |= CIM_DUU_F_X_IDENTITY;
	p->batch = p->win.nrows;
}

/* an identity x, addressed correctly (0), with one vector too few */
static void x_identity_short(void *pkt)
{
	struct cim_pkt_duu_update *p = pkt;

	x_identity(pkt);
	p->x = 0;
	p->batch--;
}

static void poke(uint64_t addr, size_t i, float v)
{
	((float *)testmem_ptr(&mem, addr))[i] = v;
}

static void tol_us_flags(void *pkt)
{
	((struct cim_pkt_hdr *)pkt)->flags = CIM_PROGRAM_F_TOL_US |
					     CIM_PROGRAM_F_REPORT;
}

static void both_reports(void *pkt)
{
	((struct cim_pkt_hdr *)pkt)->flags |= CIM_PROGRAM_F_RESIDUAL;
}

static void nan_weight(void *pkt)
{
	(void)pkt;
	poke(b_w, 47, NAN);		/* last weight of the 8 x 6 window */
}

static void big_weight(void *pkt)
{
	(void)pkt;
	poke(b_w, 0, 1.0001f);
}

static void nan_x(void *pkt)
{
	(void)pkt;
	poke(b_x, 13, NAN);
}

static void inf_x(void *pkt)
{
	(void)pkt;
	poke(b_x, 17, -INFINITY);		/* last of batch 3 x 6 */
}

static void inf_d(void *pkt)
{
	(void)pkt;
	poke(b_d, 11, INFINITY);		/* last of batch 2 x 6 */
}

static void what_tags(void *pkt)
{
	((struct cim_pkt_ap_rows *)pkt)->what = CIM_AP_READ_TAGS;
}

static void what_regs(void *pkt)
{
	((struct cim_pkt_ap_rows *)pkt)->what = CIM_AP_READ_REGS;
}

static void what_regs_row0(void *pkt)
{
	what_regs(pkt);
	((struct cim_pkt_ap_rows *)pkt)->row = 0;
}

static void what_regs_nowin(void *pkt)
{
	struct cim_pkt_ap_rows *p = pkt;

	what_regs_row0(pkt);
	p->nrows = 0;
}

static void bad_inst(void *pkt)
{
	((struct cim_pkt_ap_program *)pkt)->inst[1].op = 0xff;
}

#define HDR_SIZE	FIELD(struct cim_pkt_hdr, size)
#define HDR_FLAGS	FIELD(struct cim_pkt_hdr, flags)

/* The seven ways a crossbar window can be wrong, at offset @w. */
#define WIN_REJECTS(o, w)						\
	{ o, 0, (w) + 0, 4, 2, false, NULL, CIM_ST_BAD_UNIT, (w) + 0 },	\
	{ o, 0, (w) + 4, 2, 64, false, NULL, CIM_ST_BAD_RANGE, (w) + 4 }, \
	{ o, 0, (w) + 6, 2, 0, false, NULL, CIM_ST_BAD_RANGE, (w) + 6 }, \
	{ o, 0, (w) + 6, 2, 61, false, NULL, CIM_ST_BAD_RANGE, (w) + 6 }, \
	{ o, 0, (w) + 8, 2, 48, false, NULL, CIM_ST_BAD_RANGE, (w) + 8 }, \
	{ o, 0, (w) + 10, 2, 0, false, NULL, CIM_ST_BAD_RANGE, (w) + 10 }, \
	{ o, 0, (w) + 10, 2, 47, false, NULL, CIM_ST_BAD_RANGE, (w) + 10 }

#define SIZE_REJECTS(o)							\
	{ o, 8, 0, 0, 0, false, NULL, CIM_ST_BAD_SIZE, HDR_SIZE },	\
	{ o, -8, 0, 0, 0, false, NULL, CIM_ST_BAD_SIZE, HDR_SIZE }

typedef struct cim_pkt_xbar_program PP;
typedef struct cim_pkt_xbar_read PR;
typedef struct cim_pkt_vmm PV;
typedef struct cim_pkt_duu_update PD;
typedef struct cim_pkt_ap_rows PA;
typedef struct cim_pkt_ap_program PG;
typedef struct cim_pkt_counters PC;
typedef struct cim_pkt_fence PF;
typedef struct cim_pkt_scrub PS;

#define VMM_REJECTS(o)							\
	SIZE_REJECTS(o),						\
	{ o, 0, HDR_FLAGS, 2, 2, false, NULL, CIM_ST_BAD_FLAGS, HDR_FLAGS }, \
	WIN_REJECTS(o, FIELD(PV, win)),					\
	{ o, 0, FIELD(PV, batch), 4, 0, false, NULL, CIM_ST_BAD_BATCH,	\
	  FIELD(PV, batch) },						\
	{ o, 0, FIELD(PV, batch), 4, CIM_MAX_BATCH + 1, false, NULL,	\
	  CIM_ST_BAD_BATCH, FIELD(PV, batch) },				\
	{ o, 0, FIELD(PV, adc_range_f32), 4, 0x3f800000, false, NULL,	\
	  CIM_ST_RESERVED, FIELD(PV, adc_range_f32) },			\
	{ o, 0, 0, 0, 0, false, set_adc_fixed, CIM_ST_BAD_VALUE,	\
	  FIELD(PV, adc_range_f32) },					\
	{ o, 0, 0, 0, 0, false, set_adc_inf, CIM_ST_BAD_VALUE,		\
	  FIELD(PV, adc_range_f32) },					\
	{ o, 0, FIELD(PV, pad), 4, 1, false, NULL, CIM_ST_RESERVED,	\
	  FIELD(PV, pad) },						\
	{ o, 0, FIELD(PV, x), 8, 2, true, NULL, CIM_ST_BAD_ALIGN,	\
	  FIELD(PV, x) },						\
	{ o, 0, FIELD(PV, y), 8, 1, true, NULL, CIM_ST_BAD_ALIGN,	\
	  FIELD(PV, y) },						\
	{ o, 0, FIELD(PV, x), 8, UNMAPPED, false, NULL, CIM_ST_DMA,	\
	  FIELD(PV, x) },						\
	{ o, 0, 0, 0, 0, false, nan_x, CIM_ST_BAD_VALUE, FIELD(PV, x) }

static const struct reject rejects[] = {
	{ CIM_OP_NOP, 8, 0, 0, 0, false, NULL, CIM_ST_BAD_SIZE, HDR_SIZE },
	{ CIM_OP_NOP, 0, HDR_FLAGS, 2, 1, false, NULL, CIM_ST_BAD_FLAGS,
	  HDR_FLAGS },
	{ CIM_OP_COUNTERS_RESET, 8, 0, 0, 0, false, NULL, CIM_ST_BAD_SIZE,
	  HDR_SIZE },
	{ CIM_OP_COUNTERS_RESET, 0, HDR_FLAGS, 2, 1, false, NULL,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },

	SIZE_REJECTS(CIM_OP_FENCE),
	{ CIM_OP_FENCE, 0, HDR_FLAGS, 2, 1, false, NULL, CIM_ST_BAD_FLAGS,
	  HDR_FLAGS },
	{ CIM_OP_FENCE, 0, FIELD(PF, addr), 8, 4, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PF, addr) },
	{ CIM_OP_FENCE, 0, FIELD(PF, addr), 8, UNMAPPED, false, NULL,
	  CIM_ST_DMA, FIELD(PF, addr) },

	SIZE_REJECTS(CIM_OP_SCRUB),
	{ CIM_OP_SCRUB, 0, HDR_FLAGS, 2, 1, false, NULL, CIM_ST_BAD_FLAGS,
	  HDR_FLAGS },
	{ CIM_OP_SCRUB, 0, FIELD(PS, xbar_mask), 8, 4, false, NULL,
	  CIM_ST_BAD_UNIT, FIELD(PS, xbar_mask) },
	{ CIM_OP_SCRUB, 0, FIELD(PS, xbar_mask), 8, 1ull << 63, false, NULL,
	  CIM_ST_BAD_UNIT, FIELD(PS, xbar_mask) },
	{ CIM_OP_SCRUB, 0, FIELD(PS, ap_mask), 8, 7, false, NULL,
	  CIM_ST_BAD_UNIT, FIELD(PS, ap_mask) },
	/* a bit far above AP_COUNT */
	{ CIM_OP_SCRUB, 0, FIELD(PS, ap_mask), 8, 1ull << 40, false,
	  NULL, CIM_ST_BAD_UNIT, FIELD(PS, ap_mask) },

	SIZE_REJECTS(CIM_OP_IDLE),
	{ CIM_OP_IDLE, 0, HDR_FLAGS, 2, 1, false, NULL, CIM_ST_BAD_FLAGS,
	  HDR_FLAGS },
	{ CIM_OP_IDLE, 0, FIELD(struct cim_pkt_idle, ns), 8, 0, false, NULL,
	  CIM_ST_BAD_VALUE, FIELD(struct cim_pkt_idle, ns) },
	{ CIM_OP_IDLE, 0, FIELD(struct cim_pkt_idle, ns), 8,
	  CIM_MAX_IDLE_NS + 1, false, NULL, CIM_ST_BAD_VALUE,
	  FIELD(struct cim_pkt_idle, ns) },

	SIZE_REJECTS(CIM_OP_XBAR_PROGRAM),
	{ CIM_OP_XBAR_PROGRAM, 0, 0, 0, 0, false, both_reports,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },
	/* in microsiemens, up to 100 */
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, tolerance_f32), 4, 0x42ca0000,
	  false, tol_us_flags, CIM_ST_BAD_VALUE, FIELD(PP, tolerance_f32) },
	{ CIM_OP_XBAR_PROGRAM, 0, HDR_FLAGS, 2, 8, false, NULL,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },
	WIN_REJECTS(CIM_OP_XBAR_PROGRAM, FIELD(PP, win)),
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, max_iters), 4, 0, false, NULL,
	  CIM_ST_BAD_VALUE, FIELD(PP, max_iters) },
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, max_iters), 4, 65, false, NULL,
	  CIM_ST_BAD_VALUE, FIELD(PP, max_iters) },
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, tolerance_f32), 4, 0, false,
	  NULL, CIM_ST_BAD_VALUE, FIELD(PP, tolerance_f32) },
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, tolerance_f32), 4, 0x41080000,
	  false, NULL, CIM_ST_BAD_VALUE, FIELD(PP, tolerance_f32) },
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, tolerance_f32), 4, 0x7fc00000,
	  false, NULL, CIM_ST_BAD_VALUE, FIELD(PP, tolerance_f32) },
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, pad), 4, 1, false, NULL,
	  CIM_ST_RESERVED, FIELD(PP, pad) },
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, src), 8, 2, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PP, src) },
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, report), 8, 4, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PP, report) },
	{ CIM_OP_XBAR_PROGRAM, 0, 0, 0, 0, false, drop_flags,
	  CIM_ST_RESERVED, FIELD(PP, report) },
	{ CIM_OP_XBAR_PROGRAM, 0, FIELD(PP, src), 8, UNMAPPED, false, NULL,
	  CIM_ST_DMA, FIELD(PP, src) },
	{ CIM_OP_XBAR_PROGRAM, 0, 0, 0, 0, false, nan_weight,
	  CIM_ST_BAD_VALUE, FIELD(PP, src) },
	{ CIM_OP_XBAR_PROGRAM, 0, 0, 0, 0, false, big_weight,
	  CIM_ST_BAD_VALUE, FIELD(PP, src) },

	SIZE_REJECTS(CIM_OP_XBAR_READ),
	{ CIM_OP_XBAR_READ, 0, HDR_FLAGS, 2, 2, false, NULL,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },
	WIN_REJECTS(CIM_OP_XBAR_READ, FIELD(PR, win)),
	{ CIM_OP_XBAR_READ, 0, FIELD(PR, pad), 4, 1, false, NULL,
	  CIM_ST_RESERVED, FIELD(PR, pad) },
	{ CIM_OP_XBAR_READ, 0, FIELD(PR, dst), 8, 2, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PR, dst) },
	{ CIM_OP_XBAR_READ, 0, FIELD(PR, dst), 8, UNMAPPED, false, NULL,
	  CIM_ST_DMA, FIELD(PR, dst) },

	VMM_REJECTS(CIM_OP_VMM_FWD),
	{ CIM_OP_VMM_FWD, 0, 0, 0, 0, false, inf_x, CIM_ST_BAD_VALUE,
	  FIELD(PV, x) },
	VMM_REJECTS(CIM_OP_VMM_TRANS),

	SIZE_REJECTS(CIM_OP_DUU_UPDATE),
	{ CIM_OP_DUU_UPDATE, 0, HDR_FLAGS, 2, 8, false, NULL,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },
	{ CIM_OP_DUU_UPDATE, 0, 0, 0, 0, false, x_identity_short,
	  CIM_ST_BAD_BATCH, FIELD(PD, batch) },
	{ CIM_OP_DUU_UPDATE, 0, 0, 0, 0, false, x_identity,
	  CIM_ST_RESERVED, FIELD(PD, x) },
	WIN_REJECTS(CIM_OP_DUU_UPDATE, FIELD(PD, win)),
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, batch), 4, CIM_MAX_BATCH + 1,
	  false, NULL, CIM_ST_BAD_BATCH, FIELD(PD, batch) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, lr_f32), 4, 0xbf800000, false,
	  NULL, CIM_ST_BAD_VALUE, FIELD(PD, lr_f32) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, lr_f32), 4, 0x7fc00000, false,
	  NULL, CIM_ST_BAD_VALUE, FIELD(PD, lr_f32) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, epsilon_f32), 4, 0xbf000000,
	  false, NULL, CIM_ST_BAD_VALUE, FIELD(PD, epsilon_f32) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, epsilon_f32), 4, 0x7f800000,
	  false, NULL, CIM_ST_BAD_VALUE, FIELD(PD, epsilon_f32) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, n_max), 2, 0, false, NULL,
	  CIM_ST_BAD_VALUE, FIELD(PD, n_max) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, n_max), 2, CIM_MAX_PULSES + 1,
	  false, NULL, CIM_ST_BAD_VALUE, FIELD(PD, n_max) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, reserved), 2, 1, false, NULL,
	  CIM_ST_RESERVED, FIELD(PD, reserved) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, pad), 4, 1, false, NULL,
	  CIM_ST_RESERVED, FIELD(PD, pad) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, x), 8, 2, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PD, x) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, d), 8, 2, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PD, d) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, report), 8, 4, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PD, report) },
	{ CIM_OP_DUU_UPDATE, 0, 0, 0, 0, false, drop_flags,
	  CIM_ST_RESERVED, FIELD(PD, report) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, x), 8, UNMAPPED, false, NULL,
	  CIM_ST_DMA, FIELD(PD, x) },
	{ CIM_OP_DUU_UPDATE, 0, FIELD(PD, d), 8, UNMAPPED, false, NULL,
	  CIM_ST_DMA, FIELD(PD, d) },
	{ CIM_OP_DUU_UPDATE, 0, 0, 0, 0, false, nan_x, CIM_ST_BAD_VALUE,
	  FIELD(PD, x) },
	{ CIM_OP_DUU_UPDATE, 0, 0, 0, 0, false, inf_d, CIM_ST_BAD_VALUE,
	  FIELD(PD, d) },

	SIZE_REJECTS(CIM_OP_AP_LOAD_ROWS),
	{ CIM_OP_AP_LOAD_ROWS, 0, HDR_FLAGS, 2, 1, false, NULL,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, ap), 4, 2, false, NULL,
	  CIM_ST_BAD_UNIT, FIELD(PA, ap) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, what), 4, 1, false, NULL,
	  CIM_ST_RESERVED, FIELD(PA, what) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, row), 4, 256, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, row) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, nrows), 4, 0, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, nrows) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, nrows), 4, 249, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, nrows) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, col), 2, 128, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, col) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, ncols), 2, 0, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, ncols) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, ncols), 2, 65, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, ncols) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, col), 2, 120, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, ncols) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, reserved), 4, 1, false, NULL,
	  CIM_ST_RESERVED, FIELD(PA, reserved) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, addr), 8, 4, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PA, addr) },
	{ CIM_OP_AP_LOAD_ROWS, 0, FIELD(PA, addr), 8, UNMAPPED, false, NULL,
	  CIM_ST_DMA, FIELD(PA, addr) },

	SIZE_REJECTS(CIM_OP_AP_READ),
	{ CIM_OP_AP_READ, 0, HDR_FLAGS, 2, 1, false, NULL,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },
	{ CIM_OP_AP_READ, 0, FIELD(PA, ap), 4, 2, false, NULL,
	  CIM_ST_BAD_UNIT, FIELD(PA, ap) },
	{ CIM_OP_AP_READ, 0, FIELD(PA, what), 4, 3, false, NULL,
	  CIM_ST_BAD_VALUE, FIELD(PA, what) },
	{ CIM_OP_AP_READ, 0, FIELD(PA, row), 4, 256, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, row) },
	{ CIM_OP_AP_READ, 0, FIELD(PA, nrows), 4, 0, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, nrows) },
	{ CIM_OP_AP_READ, 0, FIELD(PA, col), 2, 128, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, col) },
	{ CIM_OP_AP_READ, 0, FIELD(PA, ncols), 2, 65, false, NULL,
	  CIM_ST_BAD_RANGE, FIELD(PA, ncols) },
	{ CIM_OP_AP_READ, 0, 0, 0, 0, false, what_tags, CIM_ST_RESERVED,
	  FIELD(PA, col) },
	{ CIM_OP_AP_READ, 0, FIELD(PA, nrows), 4, 249, false, what_tags,
	  CIM_ST_BAD_RANGE, FIELD(PA, nrows) },
	{ CIM_OP_AP_READ, 0, 0, 0, 0, false, what_regs, CIM_ST_RESERVED,
	  FIELD(PA, row) },
	{ CIM_OP_AP_READ, 0, 0, 0, 0, false, what_regs_row0,
	  CIM_ST_RESERVED, FIELD(PA, nrows) },
	{ CIM_OP_AP_READ, 0, 0, 0, 0, false, what_regs_nowin,
	  CIM_ST_RESERVED, FIELD(PA, col) },
	{ CIM_OP_AP_READ, 0, FIELD(PA, reserved), 4, 1, false, NULL,
	  CIM_ST_RESERVED, FIELD(PA, reserved) },
	{ CIM_OP_AP_READ, 0, FIELD(PA, addr), 8, 4, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PA, addr) },

	{ CIM_OP_AP_PROGRAM, 8, 0, 0, 0, false, NULL, CIM_ST_BAD_SIZE,
	  HDR_SIZE },
	{ CIM_OP_AP_PROGRAM, -16, 0, 0, 0, false, NULL, CIM_ST_BAD_SIZE,
	  HDR_SIZE },
	{ CIM_OP_AP_PROGRAM, -40, 0, 0, 0, false, NULL, CIM_ST_BAD_SIZE,
	  HDR_SIZE },
	{ CIM_OP_AP_PROGRAM, 0, HDR_FLAGS, 2, 1, false, NULL,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },
	{ CIM_OP_AP_PROGRAM, 0, FIELD(PG, ap), 4, 2, false, NULL,
	  CIM_ST_BAD_UNIT, FIELD(PG, ap) },
	{ CIM_OP_AP_PROGRAM, 0, FIELD(PG, ninst), 4, 0, false, NULL,
	  CIM_ST_BAD_SIZE, FIELD(PG, ninst) },
	{ CIM_OP_AP_PROGRAM, 0, FIELD(PG, ninst), 4, 3, false, NULL,
	  CIM_ST_BAD_SIZE, HDR_SIZE },
	{ CIM_OP_AP_PROGRAM, 0, FIELD(PG, ninst), 4, 0x10000001, false,
	  NULL, CIM_ST_BAD_SIZE, HDR_SIZE },
	{ CIM_OP_AP_PROGRAM, 0, 0, 0, 0, false, bad_inst, CIM_ST_BAD_INST,
	  sizeof(PG) + sizeof(struct cim_ap_inst) },

	SIZE_REJECTS(CIM_OP_COUNTERS_READ),
	{ CIM_OP_COUNTERS_READ, 0, HDR_FLAGS, 2, 2, false, NULL,
	  CIM_ST_BAD_FLAGS, HDR_FLAGS },
	{ CIM_OP_COUNTERS_READ, 0, FIELD(PC, size), 4, 12, false, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PC, size) },
	{ CIM_OP_COUNTERS_READ, 0, FIELD(PC, size), 4, 0, false, NULL,
	  CIM_ST_BAD_VALUE, FIELD(PC, size) },
	{ CIM_OP_COUNTERS_READ, 0, FIELD(PC, size), 4, 4104, false, NULL,
	  CIM_ST_BAD_VALUE, FIELD(PC, size) },
	{ CIM_OP_COUNTERS_READ, 0, FIELD(PC, reserved), 4, 1, false, NULL,
	  CIM_ST_RESERVED, FIELD(PC, reserved) },
	{ CIM_OP_COUNTERS_READ, 0, FIELD(PC, dst), 8, 4, true, NULL,
	  CIM_ST_BAD_ALIGN, FIELD(PC, dst) },
	{ CIM_OP_COUNTERS_READ, 0, FIELD(PC, dst), 8, UNMAPPED, false, NULL,
	  CIM_ST_DMA, FIELD(PC, dst) },
};

static void store(uint8_t *pkt, const struct reject *r)
{
	uint64_t v = 0;

	if (!r->width)
		return;
	if (r->add)
		memcpy(&v, pkt + r->off, r->width);
	v = r->add ? v + r->value : r->value;
	memcpy(pkt + r->off, &v, r->width);
}

/* A NOP, then the bad packet, then a FENCE that must never run. */
START_TEST(test_cmd_reject_field)
{
	const struct reject *r = &rejects[_i];
	struct cim_job_completion done;
	uint8_t pkt[256];
	uint64_t before, *fence = testmem_ptr(&mem, b_fence);
	uint32_t size = valid_packet(r->op, pkt);
	struct cim_pkt_fence *f;

	store(pkt, r);
	if (r->fix)
		r->fix(pkt);
	size += r->grow;
	((struct cim_pkt_hdr *)pkt)->size = size;
	cmdbuf_add(cb, CIM_OP_NOP, 0, 8);
	memcpy(cmdbuf_add(cb, 0, 0, size), pkt, size);
	f = cmdbuf_add(cb, CIM_OP_FENCE, 0, sizeof(*f));
	f->addr = b_fence;
	f->value = 77;
	*fence = 0;

	before = state_hash();
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), r->status);
	ck_assert_uint_eq(done.status, r->status);
	ck_assert_uint_eq(done.cmds_done, 1);
	ck_assert_uint_eq(done.error_offset, 8);
	ck_assert_uint_eq(done.error_field, r->field);
	ck_assert_uint_eq(done.energy_fj, 0);
	ck_assert_uint_eq(done.device_time_ps, 0);
	ck_assert_uint_eq(*fence, 0);
	ck_assert_uint_eq(state_hash(), before);
}
END_TEST

/* Header checks ---------------------------------------------------------- */

static void run_raw(const void *buf, size_t len, int status,
		    uint32_t offset, uint32_t field, uint32_t cmds)
{
	struct cim_job_completion done;
	uint64_t before = state_hash();

	ck_assert_int_eq(cimfw_execute(fw, buf, len, &mem.dma, &done),
			 status);
	ck_assert_uint_eq(done.status, status);
	ck_assert_uint_eq(done.cmds_done, cmds);
	ck_assert_uint_eq(done.error_offset, offset);
	ck_assert_uint_eq(done.error_field, field);
	ck_assert_uint_eq(state_hash(), before);
}

START_TEST(test_cmd_empty_buffer)
{
	run_raw(cb->words, 0, CIM_ST_OK, 0, 0, 0);
}
END_TEST

START_TEST(test_cmd_truncated_header)
{
	cmdbuf_add(cb, CIM_OP_NOP, 0, 8);
	run_raw(cb->words, 12, CIM_ST_TRUNCATED, 8, 0, 1);
	run_raw(cb->words, 7, CIM_ST_TRUNCATED, 0, 0, 0);
}
END_TEST

START_TEST(test_cmd_zero_size)
{
	struct cim_pkt_hdr *h;

	cmdbuf_add(cb, CIM_OP_NOP, 0, 8);
	h = cmdbuf_add(cb, CIM_OP_NOP, 0, 8);
	h->size = 0;
	run_raw(cb->words, cb->len, CIM_ST_BAD_SIZE, 8, HDR_SIZE, 1);
}
END_TEST

START_TEST(test_cmd_misaligned_size)
{
	struct cim_pkt_hdr *h = cmdbuf_add(cb, CIM_OP_NOP, 0, 16);

	h->size = 12;
	run_raw(cb->words, cb->len, CIM_ST_BAD_ALIGN, 0, HDR_SIZE, 0);
}
END_TEST

START_TEST(test_cmd_size_past_end)
{
	cmdbuf_add(cb, CIM_OP_NOP, 0, 8);
	cmdbuf_add(cb, CIM_OP_VMM_FWD, 0, sizeof(struct cim_pkt_vmm));
	run_raw(cb->words, cb->len - 8, CIM_ST_TRUNCATED, 8, HDR_SIZE, 1);
}
END_TEST

START_TEST(test_cmd_size_above_max)
{
	struct cim_pkt_hdr *h = cmdbuf_add(cb, CIM_OP_NOP, 0, 8);

	h->size = CIM_MAX_CMDBUF + 8;
	run_raw(cb->words, cb->len, CIM_ST_BAD_SIZE, 0, HDR_SIZE, 0);
}
END_TEST

START_TEST(test_cmd_bad_opcode)
{
	static const uint16_t bad[] = { 0x04, 0x0f, 0x15, 0x23, 0x32, 0xffff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cb->len = 0;
		cmdbuf_add(cb, bad[i], 0, 8);
		run_raw(cb->words, cb->len, CIM_ST_BAD_OPCODE, 0, 0, 0);
	}
}
END_TEST

/* Buffers, DMA, FENCE, counters ------------------------------------------ */

static void *add_valid(uint16_t op)
{
	uint8_t pkt[256];
	uint32_t size = valid_packet(op, pkt);
	void *p = cmdbuf_add(cb, 0, 0, size);

	memcpy(p, pkt, size);
	return p;
}

START_TEST(test_cmd_stops_at_first_failure)
{
	struct cim_job_completion done;
	uint64_t *fence = testmem_ptr(&mem, b_fence);
	struct cim_pkt_vmm *bad;
	struct cim_pkt_fence *f;

	add_valid(CIM_OP_NOP);
	add_valid(CIM_OP_VMM_FWD);
	add_valid(CIM_OP_FENCE);
	bad = add_valid(CIM_OP_VMM_TRANS);
	bad->batch = 0;
	f = add_valid(CIM_OP_FENCE);
	f->addr = b_fence + 8;
	f->value = 5;
	fence[1] = 0;

	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_BAD_BATCH);
	ck_assert_uint_eq(done.cmds_done, 3);
	ck_assert_uint_eq(done.error_offset, 8 + sizeof(*bad) + sizeof(*f));
	ck_assert_uint_eq(done.error_field, FIELD(PV, batch));
	ck_assert_uint_eq(fence[0], 0x1234567890abcdefull);
	ck_assert_uint_eq(fence[1], 0);
	/* the VMM before the failure ran and is paid for */
	ck_assert_uint_gt(done.energy_fj, 0);
	ck_assert_uint_eq(fw->meter.vmm_fwd, 3);
}
END_TEST

START_TEST(test_cmd_fence_after_output)
{
	struct cim_job_completion done;
	uint64_t *fence = testmem_ptr(&mem, b_fence);
	float *y = testmem_ptr(&mem, b_y);
	unsigned int i, nonzero = 0;

	memset(y, 0, 3 * 6 * sizeof(float));
	add_valid(CIM_OP_VMM_FWD);
	add_valid(CIM_OP_FENCE);
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	ck_assert_uint_eq(done.cmds_done, 2);
	ck_assert_uint_eq(*fence, 0x1234567890abcdefull);
	for (i = 0; i < 3 * 6; i++)
		nonzero += y[i] != 0.0f;
	ck_assert_uint_gt(nonzero, 0);
}
END_TEST

START_TEST(test_cmd_nop_costs_nothing)
{
	struct cim_job_completion done;
	struct cim_counters c;

	cimfw_counters_reset(fw);
	add_valid(CIM_OP_NOP);
	add_valid(CIM_OP_NOP);
	add_valid(CIM_OP_FENCE);
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	ck_assert_uint_eq(done.cmds_done, 3);
	ck_assert_uint_eq(done.energy_fj, 0);
	ck_assert_uint_eq(done.device_time_ps, 0);
	cimfw_counters(fw, &c);
	ck_assert_uint_eq(c.jobs, 1);
	ck_assert_uint_eq(c.device_time_ps, 0);
}
END_TEST

/* The job's energy and time are the meter's deltas, rounded once. */
START_TEST(test_cmd_completion_costs)
{
	struct cim_job_completion done;
	struct cim_counters c;
	unsigned int u;
	double busiest = 0.0;

	cimfw_counters_reset(fw);
	add_valid(CIM_OP_VMM_FWD);
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	ck_assert_uint_gt(done.energy_fj, 0);
	ck_assert_uint_eq(done.energy_fj,
			  llround(cimfw_meter_energy_total(&fw->meter)));
	for (u = 0; u < CIM_UNIT_COUNT; u++)
		if (fw->meter.busy_ps[u] > busiest)
			busiest = fw->meter.busy_ps[u];
	ck_assert_uint_gt(done.device_time_ps, 0);
	ck_assert_uint_eq(done.device_time_ps, llround(busiest));
	cimfw_counters(fw, &c);
	ck_assert_uint_eq(c.device_time_ps, done.device_time_ps);
	ck_assert_uint_eq(c.vmm_fwd, 3);
}
END_TEST

/* The AP is one sequential machine: its steps add up, they never overlap. */
START_TEST(test_cmd_ap_time_adds_up)
{
	struct cim_job_completion done;
	struct cim_pkt_ap_program *p;
	const double *busy = fw->meter.busy_ps;

	cimfw_counters_reset(fw);
	p = add_valid(CIM_OP_AP_PROGRAM);
	p->inst[0].op = CIM_AP_COMPARE;
	p->inst[1].op = CIM_AP_TAGCOUNT;
	p->inst[1].arg = 0;
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	ck_assert_double_gt(busy[CIM_UNIT_AP_COMPARE], 0.0);
	ck_assert_double_gt(busy[CIM_UNIT_AP_TAG], 0.0);
	ck_assert_uint_eq(done.device_time_ps,
			  llround(busy[CIM_UNIT_AP_COMPARE] +
				  busy[CIM_UNIT_AP_TAG]));
	ck_assert_double_eq(fw->meter.device_time_ps,
			    busy[CIM_UNIT_AP_COMPARE] + busy[CIM_UNIT_AP_TAG]);
}
END_TEST

START_TEST(test_cmd_dma_read_failure)
{
	struct cim_job_completion done;
	uint64_t before = state_hash();

	add_valid(CIM_OP_DUU_UPDATE);
	mem.reads = 0;
	mem.fail_read = 2;		/* x reads, d fails */
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_DMA);
	ck_assert_uint_eq(done.error_field, FIELD(PD, d));
	ck_assert_uint_eq(mem.reads, 2);
	ck_assert_uint_eq(state_hash(), before);
}
END_TEST

START_TEST(test_cmd_dma_write_failure)
{
	static const struct {
		uint16_t op;
		uint32_t field;
	} outputs[] = {
		{ CIM_OP_VMM_FWD, FIELD(PV, y) },
		{ CIM_OP_VMM_TRANS, FIELD(PV, y) },
		{ CIM_OP_XBAR_PROGRAM, FIELD(PP, report) },
		{ CIM_OP_DUU_UPDATE, FIELD(PD, report) },
		{ CIM_OP_AP_READ, FIELD(PA, addr) },
		{ CIM_OP_COUNTERS_READ, FIELD(PC, dst) },
	};
	struct cim_job_completion done;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(outputs); i++) {
		cb->len = 0;
		mem.writes = 0;
		mem.fail_write = 1;
		add_valid(outputs[i].op);
		ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_DMA);
		ck_assert_uint_eq(done.cmds_done, 0);
		ck_assert_uint_eq(done.error_field, outputs[i].field);
	}
}
END_TEST

START_TEST(test_cmd_no_dma_callbacks)
{
	struct cim_job_completion done;

	add_valid(CIM_OP_VMM_FWD);
	ck_assert_int_eq(cimfw_execute(fw, cb->words, cb->len, NULL, &done),
			 CIM_ST_DMA);
	ck_assert_uint_eq(done.error_field, FIELD(PV, x));
}
END_TEST

START_TEST(test_cmd_counters_read_reset)
{
	struct cim_job_completion done;
	struct cim_counters *out = testmem_ptr(&mem, b_cnt), now;
	struct cim_pkt_counters *p;

	memset(out, 0xaa, 4096);
	add_valid(CIM_OP_VMM_FWD);
	p = add_valid(CIM_OP_COUNTERS_READ);
	p->hdr.flags = CIM_COUNTERS_F_RESET;
	p->size = 4096;
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	ck_assert_uint_eq(out->size, sizeof(*out));
	ck_assert_uint_eq(out->jobs, 1);	/* the priming job */
	ck_assert_uint_eq(out->vmm_fwd, 3);
	ck_assert_uint_gt(out->energy_fj[CIM_UNIT_ADC], 0);
	/* nothing written past the struct */
	ck_assert_uint_eq(((uint8_t *)out)[sizeof(*out)], 0xaa);
	cimfw_counters(fw, &now);
	ck_assert_uint_eq(now.vmm_fwd, 0);
	ck_assert_uint_eq(now.energy_fj[CIM_UNIT_ADC], 0);
	ck_assert_uint_eq(now.jobs, 1);		/* this job */
	/* the reset loses nothing of the job's own cost */
	ck_assert_uint_gt(done.energy_fj, 0);
}
END_TEST

START_TEST(test_cmd_counters_read_short)
{
	struct cim_job_completion done;
	uint64_t *out = testmem_ptr(&mem, b_cnt);
	struct cim_pkt_counters *p;

	memset(out, 0xaa, 64);
	p = add_valid(CIM_OP_COUNTERS_READ);
	p->size = 16;
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	ck_assert_uint_eq(out[0], sizeof(struct cim_counters));
	ck_assert_uint_eq(out[1], 1);
	ck_assert_uint_eq(out[2], 0xaaaaaaaaaaaaaaaaull);
}
END_TEST

START_TEST(test_cmd_counters_reset_packet)
{
	struct cim_job_completion done;
	struct cim_counters c;

	add_valid(CIM_OP_VMM_FWD);
	add_valid(CIM_OP_COUNTERS_RESET);
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	cimfw_counters(fw, &c);
	ck_assert_uint_eq(c.vmm_fwd, 0);
	ck_assert_uint_eq(c.jobs, 1);
	ck_assert_uint_eq(cimfw_meter_energy_total(&fw->meter), 0);
}
END_TEST

START_TEST(test_cmd_jobs_counted)
{
	struct cim_job_completion done;
	struct cim_counters c;

	cimfw_counters_reset(fw);
	cimfw_execute(fw, cb->words, 0, &mem.dma, &done);
	cmdbuf_add(cb, 0x7777, 0, 8);
	cmdbuf_run(fw, cb, &mem, &done);
	cimfw_counters(fw, &c);
	ck_assert_uint_eq(c.jobs, 2);
}
END_TEST

/* Fuzzing ---------------------------------------------------------------- */

static const uint64_t interesting[] = {
	0, 1, 2, 3, 7, 8, 47, 48, 63, 64, 65, 255, 256, 1023, 1024, 1025,
	0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
	0x3f800000, 0x7f800000, 0x7fc00000, 0xff800000,
	UINT64_MAX, UNMAPPED, TESTMEM_BASE, TESTMEM_BASE + TESTMEM_SIZE - 8,
};

/* A buffer of valid packets, then a few fields overwritten. */
static void fuzz_mutated(struct cimfw_rng *r)
{
	unsigned int n = 1 + cimfw_rng_next(r) % 6, k, m;
	uint8_t *bytes = (uint8_t *)cb->words;
	uint64_t v;
	size_t off;

	cb->len = 0;
	for (k = 0; k < n; k++)
		add_valid(all_ops[cimfw_rng_next(r) % ARRAY_SIZE(all_ops)]);
	m = 1 + cimfw_rng_next(r) % 4;
	for (k = 0; k < m; k++) {
		off = (cimfw_rng_next(r) % cb->len) & ~(size_t)1;
		v = cimfw_rng_next(r) % 2 ? cimfw_rng_next(r) :
		    interesting[cimfw_rng_next(r) % ARRAY_SIZE(interesting)];
		memcpy(bytes + off, &v, cb->len - off < 8 ? cb->len - off : 8);
	}
}

static void fuzz_random(struct cimfw_rng *r)
{
	size_t i, words = 1 + cimfw_rng_next(r) % 32;

	for (i = 0; i < words; i++)
		cb->words[i] = cimfw_rng_next(r);
	cb->len = words * 8 - cimfw_rng_next(r) % 8;
}

START_TEST(test_cmd_fuzz)
{
	struct cim_job_completion done;
	struct cimfw_rng r;
	unsigned int i;
	int st;

	cimfw_rng_seed(&r, 12345, 99);
	for (i = 0; i < 6000; i++) {
		if (i % 3)
			fuzz_mutated(&r);
		else
			fuzz_random(&r);
		mem.fail_read = cimfw_rng_next(&r) % 16 == 0 ? 1 : 0;
		mem.reads = 0;
		st = cmdbuf_run(fw, cb, &mem, &done);
		ck_assert_int_ge(st, 0);
		ck_assert_int_lt(st, CIM_ST_COUNT);
		ck_assert_uint_eq(done.status, st);
		ck_assert(st == CIM_ST_OK || done.error_offset < cb->len);
		ck_assert_uint_le(done.cmds_done, cb->len / 8);
	}
}
END_TEST

/* Abort at a packet boundary -------------------------------------------- */

struct abort_probe {
	unsigned int calls;
	unsigned int after;	/* true once this many packets ran */
};

static struct abort_probe probe;

static bool probe_aborted(void *opaque)
{
	(void)opaque;
	/* asked before packet calls + 2: calls + 1 packets have run */
	return ++probe.calls >= probe.after;
}

/* VMM, FENCE 1, VMM, FENCE 2, NOP: five packets that leave traces */
static void abort_job(void)
{
	struct cim_pkt_fence *f;
	unsigned int i;

	cb->len = 0;
	for (i = 0; i < 2; i++) {
		add_valid(CIM_OP_VMM_FWD);
		f = cmdbuf_add(cb, CIM_OP_FENCE, 0, sizeof(*f));
		f->addr = b_fence + 8 * i;
		f->value = i + 1;
	}
	add_valid(CIM_OP_NOP);
}

static const uint32_t abort_offsets[] = { 0, 48, 72, 120, 144, 152 };

/*
 * A callback that says "abort" once k packets ran stops the job before
 * packet k + 1: ABORTED with cmds_done k, error_offset that packet's,
 * error_field all ones; the k packets' effects and costs stand, and the
 * callback is never asked before the first packet or after the last.
 */
START_TEST(test_cmd_abort_between_packets)
{
	const unsigned int k = _i + 1;
	struct cim_job_completion done, part;
	uint64_t *fence = testmem_ptr(&mem, b_fence);
	struct cimfw_dma dma = mem.dma;
	size_t full;

	abort_job();
	full = cb->len;
	ck_assert_uint_eq(full, abort_offsets[5]);
	/* the first k packets alone: what the aborted job must have cost */
	cb->len = abort_offsets[k];
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &part), CIM_ST_OK);
	ck_assert_uint_eq(part.cmds_done, k);

	fence[0] = fence[1] = 0;
	cb->len = full;
	probe = (struct abort_probe){ .after = k };
	dma.aborted = probe_aborted;
	if (k == 5)
		probe.after = 99;	/* never: every packet runs */
	ck_assert_int_eq(cimfw_execute(fw, cb->words, cb->len, &dma, &done),
			 k == 5 ? CIM_ST_OK : CIM_ST_ABORTED);
	ck_assert_uint_eq(probe.calls, k == 5 ? 4 : k);
	ck_assert_uint_eq(done.cmds_done, k);
	ck_assert_uint_eq(done.status, k == 5 ? CIM_ST_OK : CIM_ST_ABORTED);
	ck_assert_uint_eq(done.error_offset, k == 5 ? 0 : abort_offsets[k]);
	ck_assert_uint_eq(done.error_field, k == 5 ? 0 : 0xffffffffu);
	ck_assert_uint_eq(fence[0], k >= 2 ? 1 : 0);
	ck_assert_uint_eq(fence[1], k >= 4 ? 2 : 0);
	ck_assert_uint_eq(done.energy_fj, part.energy_fj);
	ck_assert_uint_eq(done.device_time_ps, part.device_time_ps);
	ck_assert_uint_gt(done.energy_fj, 0);
}
END_TEST

/* A one-packet job never asks; a NULL callback never aborts. */
START_TEST(test_cmd_abort_not_asked)
{
	struct cim_job_completion done;
	struct cimfw_dma dma = mem.dma;

	probe = (struct abort_probe){ .after = 0 };
	dma.aborted = probe_aborted;
	cb->len = 0;
	add_valid(CIM_OP_VMM_FWD);
	ck_assert_int_eq(cimfw_execute(fw, cb->words, cb->len, &dma, &done),
			 CIM_ST_OK);
	ck_assert_uint_eq(probe.calls, 0);
	abort_job();
	ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
	ck_assert_uint_eq(done.cmds_done, 5);
}
END_TEST

/*
 * One AP_PROGRAM can hold minutes of instructions: an abort lands between
 * groups of 16 of them, inside the packet, which then ends the job with
 * ABORTED at its own offset (cmds_done excludes it), the instructions run
 * so far charged. The AP's compare counter says how many ran.
 */
START_TEST(test_cmd_abort_inside_ap_program)
{
	const unsigned int n = 100;
	struct cim_job_completion done;
	struct cimfw_dma dma = mem.dma;
	struct cim_pkt_ap_program *p;
	struct cim_counters c0, c1;
	unsigned int i;

	cb->len = 0;
	add_valid(CIM_OP_NOP);
	p = cmdbuf_add(cb, CIM_OP_AP_PROGRAM, 0,
		       sizeof(*p) + n * sizeof(p->inst[0]));
	p->ap = 1;
	p->ninst = n;
	for (i = 0; i < n; i++) {
		memset(&p->inst[i], 0, sizeof(p->inst[i]));
		p->inst[i].op = CIM_AP_COMPARE;
	}
	cimfw_counters(fw, &c0);
	/* asked before the AP_PROGRAM, then after 16 and 32 instructions */
	probe = (struct abort_probe){ .after = 3 };
	dma.aborted = probe_aborted;
	ck_assert_int_eq(cimfw_execute(fw, cb->words, cb->len, &dma, &done),
			 CIM_ST_ABORTED);
	cimfw_counters(fw, &c1);
	ck_assert_uint_eq(probe.calls, 3);
	ck_assert_uint_eq(done.cmds_done, 1);
	ck_assert_uint_eq(done.error_offset, 8);
	ck_assert_uint_eq(done.error_field, 0xffffffffu);
	ck_assert_uint_eq(c1.ap_compares - c0.ap_compares, 32);
	ck_assert_uint_gt(done.energy_fj, 0);
}
END_TEST

/*
 * Issue 12, item 9: DUU_UPDATEs with huge but finite lr, x and d. The
 * accumulators saturate at +-FLT_MAX (Documentation/device/commands.rst,
 * DUU_UPDATE): before, the first update made them -inf, and the first
 * one the other way inf - inf = NaN, which the transfer converted to int
 * (UBSan: float-cast-overflow).
 */
START_TEST(test_cmd_duu_huge_saturates)
{
	/* x d > 0 lowers chi, x d < 0 raises it */
	static const float sign[] = { 1, 1, -1, -1, -1 };
	static const float want[] = { -FLT_MAX, -FLT_MAX, 0, FLT_MAX, FLT_MAX };
	const struct cimfw_xbar *xb = &fw->xbars[good_win.xbar];
	struct cim_duu_report *rep = testmem_ptr(&mem, b_rep);
	struct cim_job_completion done;
	struct cim_pkt_duu_update *p;
	unsigned int pass, i, j, clamped[ARRAY_SIZE(sign)];
	float chi[ARRAY_SIZE(sign)][8 * 6];

	for (i = 0; i < 8; i++)
		poke(b_x, i, FLT_MAX);
	for (pass = 0; pass < ARRAY_SIZE(sign); pass++) {
		for (j = 0; j < 6; j++)
			poke(b_d, j, sign[pass] * FLT_MAX);
		cb->len = 0;
		p = add_valid(CIM_OP_DUU_UPDATE);
		p->batch = 1;
		p->lr_f32 = f32_bits(FLT_MAX);
		p->n_max = 3;
		ck_assert_int_eq(cmdbuf_run(fw, cb, &mem, &done), CIM_ST_OK);
		for (i = 0; i < good_win.nrows; i++)
			for (j = 0; j < good_win.ncols; j++)
				chi[pass][i * 6 + j] = xb->chi[
					(good_win.row + i) * xb->cols +
					good_win.col + j];
		clamped[pass] = rep->clamped;
	}
	/* checked after all passes, so that the old model reached NaN */
	for (pass = 0; pass < ARRAY_SIZE(sign); pass++) {
		for (i = 0; i < 8 * 6; i++)
			ck_assert_float_eq(chi[pass][i], want[pass]);
		/* at the bound every cell wants far more than n_max pulses */
		ck_assert_uint_eq(clamped[pass], want[pass] ? 8 * 6 : 0);
	}
}
END_TEST

/* SCRUB ------------------------------------------------------------------ */

/*
 * A device with every non-ideality on (variation, cycle noise, read
 * noise, stuck devices, soft bounds), so that a scrub that forgot a
 * noise stream or a stuck device gives other bits than a fresh device.
 */
static void config_noisy(struct cimfw_config *cfg)
{
	cimfw_config_default(cfg);
	cfg->seed = 0x5c2b;
	cfg->xbar_count = 3;
	cfg->xbar_rows = 64;
	cfg->xbar_cols = 48;
	cfg->ap_count = 3;
	cfg->ap_rows = 256;
	cfg->ap_cols = 128;
	cfg->ap_domains = 16;
	cfg->ap_group_tracks = 32;
	cfg->stuck_prob = 0.05;
}

/* Bus buffers of one scrub test device; outputs in [B_OUT, end). */
enum {
	B_W = 0, B_X = 0x4000, B_D = 0x8000, B_AP = 0xc000,
	B_OUT = 0x10000, B_OUT_LEN = 0x20000,
};

static uint64_t unit_hash(const struct cimfw *f, unsigned int x,
			  unsigned int a)
{
	const struct cimfw_xbar *xb = &f->xbars[x];
	const struct cimfw_ap *ap = &f->aps[a];
	size_t n = (size_t)xb->rows * xb->cols, w = ap->words * 8;
	uint64_t h = 0xcbf29ce484222325ull;

	h = hash(h, xb->g, 2 * n * sizeof(*xb->g));
	h = hash(h, xb->chi, n * sizeof(float));
	h = hash(h, &xb->c2c, sizeof(xb->c2c));
	h = hash(h, &xb->verify, sizeof(xb->verify));
	h = hash(h, &xb->read, sizeof(xb->read));
	h = hash(h, ap->bits, (size_t)ap->cols * ap->domains * w);
	h = hash(h, ap->offset, ap->groups * sizeof(*ap->offset));
	h = hash(h, ap->key, ap->cols);
	h = hash(h, ap->mask, ap->cols);
	h = hash(h, ap->tag, 3 * w);
	h = hash(h, ap->regs, sizeof(ap->regs));
	return h;
}

/*
 * Work on crossbar @x and AP @a: program, both VMMs, a DUU update with
 * transfer, a VMM after it, AP arithmetic with shifts, and every result
 * read back into the output area, which is cleared first.
 */
static void scrub_work(struct cimfw *f, struct testmem *m, unsigned int x,
		       unsigned int a)
{
	struct cim_job_completion done;
	struct cim_pkt_xbar_program *p;
	struct cim_pkt_vmm *v;
	struct cim_pkt_duu_update *u;
	struct cim_pkt_ap_rows *r;
	struct cim_pkt_ap_program *g;
	struct cim_pkt_xbar_read *rd;
	const struct cim_pkt_xbar_window win = { x, 0, 64, 0, 48 };
	uint64_t base = TESTMEM_BASE, out = base + B_OUT;
	struct cmdbuf *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	memset(testmem_ptr(m, out), 0, B_OUT_LEN);
	p = cmdbuf_add(c, CIM_OP_XBAR_PROGRAM, CIM_PROGRAM_F_REPORT,
		       sizeof(*p));
	p->win = win;
	p->max_iters = 8;
	p->tolerance_f32 = f32_bits(0.5f);
	p->src = base + B_W;
	p->report = out;
	v = cmdbuf_add(c, CIM_OP_VMM_FWD, 0, sizeof(*v));
	v->win = win;
	v->batch = 4;
	v->x = base + B_X;
	v->y = out + 0x100;
	v = cmdbuf_add(c, CIM_OP_VMM_TRANS, 0, sizeof(*v));
	v->win = win;
	v->batch = 3;
	v->x = base + B_D;
	v->y = out + 0x1000;
	u = cmdbuf_add(c, CIM_OP_DUU_UPDATE, CIM_DUU_F_REPORT, sizeof(*u));
	u->win = win;
	u->batch = 4;
	u->lr_f32 = f32_bits(0.3f);
	u->n_max = 7;
	u->x = base + B_X;
	u->d = base + B_D;
	u->report = out + 0x40;
	v = cmdbuf_add(c, CIM_OP_VMM_FWD, 0, sizeof(*v));
	v->win = win;
	v->batch = 4;
	v->x = base + B_X;
	v->y = out + 0x2000;
	r = cmdbuf_add(c, CIM_OP_AP_LOAD_ROWS, 0, sizeof(*r));
	r->ap = a;
	r->nrows = 256;
	r->ncols = 32;
	r->addr = base + B_AP;
	g = cmdbuf_add(c, CIM_OP_AP_PROGRAM, 0,
		       sizeof(*g) + 6 * sizeof(g->inst[0]));
	g->ap = a;
	g->ninst = 6;
	g->inst[0] = (struct cim_ap_inst){ CIM_AP_ADD, 0,
					   { 0, 16, 32, 24, 60 } };
	g->inst[1] = (struct cim_ap_inst){ CIM_AP_SHIFT, 0, { 0, 3 } };
	g->inst[2] = (struct cim_ap_inst){ CIM_AP_ADD, 0,
					   { 0, 16, 32, 24, 60 } };
	g->inst[3] = (struct cim_ap_inst){ CIM_AP_MAX, 0, { 32, 24, 1 } };
	g->inst[4] = (struct cim_ap_inst){ CIM_AP_TAGCOUNT, 0, { 2 } };
	g->inst[5] = (struct cim_ap_inst){ CIM_AP_SHIFT, 0, { 1, 5 } };
	r = cmdbuf_add(c, CIM_OP_AP_READ, 0, sizeof(*r));
	r->ap = a;
	r->nrows = 256;
	r->col = 32;
	r->ncols = 32;
	r->addr = out + 0x4000;
	r = cmdbuf_add(c, CIM_OP_AP_READ, 0, sizeof(*r));
	r->ap = a;
	r->what = CIM_AP_READ_REGS;
	r->addr = out + 0x4800;
	rd = cmdbuf_add(c, CIM_OP_XBAR_READ, 0, sizeof(*rd));
	rd->win = win;
	rd->dst = out + 0x8000;
	ck_assert_int_eq(cmdbuf_run(f, c, m, &done), CIM_ST_OK);
	ck_assert_uint_eq(done.cmds_done, 10);
	free(c);
}

static void scrub_mem(struct testmem *m)
{
	float *w = testmem_ptr(m, TESTMEM_BASE + B_W);
	float *x = testmem_ptr(m, TESTMEM_BASE + B_X);
	float *d = testmem_ptr(m, TESTMEM_BASE + B_D);
	uint64_t *rows = testmem_ptr(m, TESTMEM_BASE + B_AP);
	unsigned int i;

	testmem_alloc(m, B_OUT + B_OUT_LEN, NULL);
	for (i = 0; i < 64 * 48; i++)
		w[i] = (float)((int)(i * 37 % 101) - 50) / 55.0f;
	for (i = 0; i < 4 * 64; i++)
		x[i] = (float)((int)(i * 13 % 29) - 14) / 7.0f;
	for (i = 0; i < 4 * 48; i++)
		d[i] = (float)((int)(i * 11 % 23) - 11) / 5.0f;
	for (i = 0; i < 256; i++)
		rows[i] = (i * 0x9e3779b97f4a7c15ull) & 0xffff;
}

static int run_scrub(struct cimfw *f, struct testmem *m, uint64_t xmask,
		     uint64_t amask, struct cim_job_completion *done)
{
	struct cmdbuf *c = calloc(1, sizeof(*c));
	struct cim_pkt_scrub *s;
	int st;

	ck_assert_ptr_nonnull(c);
	s = cmdbuf_add(c, CIM_OP_SCRUB, 0, sizeof(*s));
	s->xbar_mask = xmask;
	s->ap_mask = amask;
	st = cmdbuf_run(f, c, m, done);
	free(c);
	return st;
}

/*
 * Crossbar 1 and AP 1 after work and a SCRUB give the bits of a fresh
 * device's, for the same work; units left out of the masks keep theirs.
 */
START_TEST(test_cmd_scrub_as_fresh)
{
	struct cimfw_config cfg;
	struct cimfw *used, *fresh;
	struct testmem mu, mf;
	struct cim_job_completion done;
	uint64_t keep0, keep2;

	config_noisy(&cfg);
	ck_assert_int_eq(cimfw_create(&cfg, &used), 0);
	ck_assert_int_eq(cimfw_create(&cfg, &fresh), 0);
	testmem_init(&mu);
	testmem_init(&mf);
	scrub_mem(&mu);
	scrub_mem(&mf);

	scrub_work(used, &mu, 0, 0);
	scrub_work(used, &mu, 1, 1);
	scrub_work(used, &mu, 1, 1);
	scrub_work(used, &mu, 2, 2);
	keep0 = unit_hash(used, 0, 0);
	keep2 = unit_hash(used, 2, 2);
	ck_assert_uint_ne(unit_hash(used, 1, 1), unit_hash(fresh, 1, 1));

	ck_assert_int_eq(run_scrub(used, &mu, 2, 2, &done), CIM_ST_OK);
	ck_assert_uint_eq(done.cmds_done, 1);
	ck_assert_uint_gt(done.energy_fj, 0);
	ck_assert_uint_eq(unit_hash(used, 1, 1), unit_hash(fresh, 1, 1));
	ck_assert_uint_eq(unit_hash(used, 0, 0), keep0);
	ck_assert_uint_eq(unit_hash(used, 2, 2), keep2);

	scrub_work(used, &mu, 1, 1);
	scrub_work(fresh, &mf, 1, 1);
	ck_assert_mem_eq(testmem_ptr(&mu, TESTMEM_BASE + B_OUT),
			 testmem_ptr(&mf, TESTMEM_BASE + B_OUT), B_OUT_LEN);
	ck_assert_uint_eq(unit_hash(used, 1, 1), unit_hash(fresh, 1, 1));
	ck_assert_uint_eq(unit_hash(used, 0, 0), keep0);

	/* masks of 0: a valid packet that does nothing and costs nothing */
	ck_assert_int_eq(run_scrub(used, &mu, 0, 0, &done), CIM_ST_OK);
	ck_assert_uint_eq(done.energy_fj, 0);
	ck_assert_uint_eq(done.device_time_ps, 0);
	ck_assert_uint_eq(unit_hash(used, 0, 0), keep0);

	cimfw_destroy(used);
	cimfw_destroy(fresh);
	testmem_fini(&mu);
	testmem_fini(&mf);
}
END_TEST

/*
 * The cost of Documentation/model/cost.rst: a RESET pulse per device
 * not at level 0 that can move, rows one after another with a cell's
 * devices in sequence; per AP, a write pass per domain and the bits that
 * flip. Crossbars and APs overlap.
 */
START_TEST(test_cmd_scrub_cost)
{
	const struct cimfw_cost_params *k;
	struct cimfw_config cfg;
	struct cimfw *f;
	struct testmem m;
	struct cim_job_completion done;
	struct cim_counters c0, c1;
	const struct cimfw_xbar *xb;
	const struct cimfw_ap *ap;
	uint64_t pulses = 0, steps = 0, bits = 0, i;
	unsigned int r, col, n, row_max;
	double e, t_x, t_a;

	config_noisy(&cfg);
	ck_assert_int_eq(cimfw_create(&cfg, &f), 0);
	testmem_init(&m);
	scrub_mem(&m);
	scrub_work(f, &m, 1, 2);
	k = &f->cfg.cost;
	xb = &f->xbars[1];
	ap = &f->aps[2];
	for (r = 0; r < xb->rows; r++) {
		row_max = 0;
		for (col = 0; col < xb->cols; col++) {
			i = (uint64_t)r * xb->cols + col;
			n = cimfw_xbar_can_move(xb, 2 * i, false) +
			    cimfw_xbar_can_move(xb, 2 * i + 1, false);
			pulses += n;
			row_max = n > row_max ? n : row_max;
		}
		steps += row_max;
	}
	for (i = 0; i < (uint64_t)ap->cols * ap->domains * ap->words; i++)
		bits += (uint64_t)__builtin_popcountll(ap->bits[i]);
	ck_assert_uint_gt(pulses, 1000);
	ck_assert_uint_gt(steps, 64);
	ck_assert_uint_gt(bits, 1000);

	cimfw_counters(f, &c0);
	ck_assert_int_eq(run_scrub(f, &m, 2, 4, &done), CIM_ST_OK);
	cimfw_counters(f, &c1);
	e = pulses * k->e_pulse_fj + bits * k->e_write_bit_fj;
	t_x = steps * k->t_pulse_ps;
	t_a = cfg.ap_domains * k->t_write_ps;
	ck_assert_uint_eq(done.energy_fj, (uint64_t)llround(e));
	ck_assert_uint_eq(done.device_time_ps,
			  (uint64_t)llround(t_x > t_a ? t_x : t_a));
	ck_assert_uint_eq(c1.ap_writes - c0.ap_writes, cfg.ap_domains);
	ck_assert_uint_eq(c1.ap_bits_written - c0.ap_bits_written, bits);
	ck_assert_uint_eq(c1.program_pulses, c0.program_pulses);

	/* a scrubbed crossbar needs no pulse; an AP always makes its passes */
	ck_assert_int_eq(run_scrub(f, &m, 2, 4, &done), CIM_ST_OK);
	ck_assert_uint_eq(done.energy_fj, 0);
	ck_assert_uint_eq(done.device_time_ps,
			  (uint64_t)llround(t_a));

	cimfw_destroy(f);
	testmem_fini(&m);
}
END_TEST

Suite *cmd_suite(void)
{
	Suite *s = suite_create("cmd");
	TCase *tc = tcase_create("valid");
	TCase *rej = tcase_create("reject");
	TCase *hdr = tcase_create("header");
	TCase *job = tcase_create("job");
	TCase *fuzz = tcase_create("fuzz");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_cmd_valid_packets, 0,
			    ARRAY_SIZE(all_ops));
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(rej, setup, teardown);
	tcase_add_loop_test(rej, test_cmd_reject_field, 0,
			    ARRAY_SIZE(rejects));
	suite_add_tcase(s, rej);

	tcase_add_checked_fixture(hdr, setup, teardown);
	tcase_add_test(hdr, test_cmd_empty_buffer);
	tcase_add_test(hdr, test_cmd_truncated_header);
	tcase_add_test(hdr, test_cmd_zero_size);
	tcase_add_test(hdr, test_cmd_misaligned_size);
	tcase_add_test(hdr, test_cmd_size_past_end);
	tcase_add_test(hdr, test_cmd_size_above_max);
	tcase_add_test(hdr, test_cmd_bad_opcode);
	suite_add_tcase(s, hdr);

	tcase_add_checked_fixture(job, setup, teardown);
	tcase_add_test(job, test_cmd_stops_at_first_failure);
	tcase_add_test(job, test_cmd_fence_after_output);
	tcase_add_test(job, test_cmd_nop_costs_nothing);
	tcase_add_test(job, test_cmd_completion_costs);
	tcase_add_test(job, test_cmd_ap_time_adds_up);
	tcase_add_test(job, test_cmd_dma_read_failure);
	tcase_add_test(job, test_cmd_dma_write_failure);
	tcase_add_test(job, test_cmd_no_dma_callbacks);
	tcase_add_test(job, test_cmd_counters_read_reset);
	tcase_add_test(job, test_cmd_counters_read_short);
	tcase_add_test(job, test_cmd_counters_reset_packet);
	tcase_add_test(job, test_cmd_jobs_counted);
	tcase_add_test(job, test_cmd_scrub_as_fresh);
	tcase_add_test(job, test_cmd_duu_huge_saturates);
	tcase_add_loop_test(job, test_cmd_abort_between_packets, 0, 5);
	tcase_add_test(job, test_cmd_abort_inside_ap_program);
	tcase_add_test(job, test_cmd_abort_not_asked);
	tcase_add_test(job, test_cmd_scrub_cost);
	suite_add_tcase(s, job);

	tcase_add_checked_fixture(fuzz, setup, teardown);
	tcase_set_timeout(fuzz, 60);
	tcase_add_test(fuzz, test_cmd_fuzz);
	suite_add_tcase(s, fuzz);
	return s;
}
