// SPDX-License-Identifier: MIT
/*
 * Bring-up tests of the cim-pci device, run as root in the test VM before
 * any driver exists: BAR0 through sysfs resource0, DMA through locked pages
 * whose bus addresses come from /proc/self/pagemap.
 *
 * Every cim function found is tested; the expected properties of the
 * instances, in PCI address order, come from the environment (run-tests.sh
 * puts them on the kernel command line, which hands them to /init):
 *   CIM_SEEDS=1,2   the seed= property of each instance ("-": unknown)
 *   CIM_FAULT=0,1   whether fault-injection is on for each instance
 *   CIM_GEOMETRY=default|any  (default: the firmware model's defaults)
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cimfw.h"
#include "pcidev.h"
#include "tap.h"

#define MAX_DEVS		8
#define JOB_TIMEOUT_MS		10000
#define RESET_TIMEOUT_MS	2000
#define RING_ENTRIES		16
#define SEQNO_BASE		0x100000000ull	/* exercises DONE_SEQNO_HI */
#define BEYOND_RAM		(1ull << 44)	/* nothing is mapped there */

/* DMA pages of each device */
enum { PG_RING, PG_CMD, PG_COMP, PG_FENCE, PG_CMD2 };

struct tap_state tap;

/* Expected properties of one instance; -1 when unknown */
struct cim_expect {
	long long seed;
	int fault;
};

/* Submission state of one device's ring */
struct cim_ring {
	struct cim_job_desc *desc;
	uint32_t entries;
	uint32_t tail;
	uint64_t seqno;
};

static struct cim_dev devs[MAX_DEVS];
static struct cim_ring rings[MAX_DEVS];
static struct cim_expect expect[MAX_DEVS];
static int ndevs;

/* Parse "1,2,-" into per-instance numbers */
static void parse_list(const char *env, long long *out, size_t stride,
		       int n)
{
	const char *s = getenv(env);
	int i;

	for (i = 0; i < n; i++)
		*(long long *)((char *)out + stride * i) = -1;
	for (i = 0; s && *s && i < n; i++) {
		char *end;
		long long v = strtoll(s, &end, 0);

		if (end != s)
			*(long long *)((char *)out + stride * i) = v;
		s = strchr(s, ',');
		if (!s)
			break;
		s++;
	}
}

static void parse_expect(void)
{
	long long fault[MAX_DEVS];
	int i;

	parse_list("CIM_SEEDS", &expect[0].seed, sizeof(expect[0]), MAX_DEVS);
	parse_list("CIM_FAULT", fault, sizeof(fault[0]), MAX_DEVS);
	for (i = 0; i < MAX_DEVS; i++)
		expect[i].fault = (int)fault[i];
}

static struct cim_ring *ring_of(struct cim_dev *d)
{
	return &rings[d->index];
}

static void *pg(struct cim_dev *d, int i)
{
	return d->page[i].va;
}

static uint64_t done_seqno(struct cim_dev *d)
{
	uint32_t hi, lo;

	do {
		hi = cim_rd(d, CIM_REG_DONE_SEQNO_HI);
		lo = cim_rd(d, CIM_REG_DONE_SEQNO_LO);
	} while (hi != cim_rd(d, CIM_REG_DONE_SEQNO_HI));
	return (uint64_t)hi << 32 | lo;
}

static void dump_regs(struct cim_dev *d)
{
	tap_diag("  %s: STATUS 0x%x CONTROL 0x%x INT_STATUS 0x%x HALT_REASON %u HEAD %u TAIL %u DONE 0x%llx",
		 d->bdf, cim_rd(d, CIM_REG_STATUS), cim_rd(d, CIM_REG_CONTROL),
		 cim_rd(d, CIM_REG_INT_STATUS), cim_rd(d, CIM_REG_HALT_REASON),
		 cim_rd(d, CIM_REG_RING_HEAD), cim_rd(d, CIM_REG_RING_TAIL),
		 (unsigned long long)done_seqno(d));
}

/* CONTROL.RESET and wait for it to clear; bus mastering back on */
static bool dev_reset(struct tap_test *t, struct cim_dev *d)
{
	uint64_t end = cim_now_ms() + RESET_TIMEOUT_MS;

	cim_bus_master(d, true);
	cim_wr(d, CIM_REG_CONTROL, CIM_CONTROL_RESET);
	while (cim_rd(d, CIM_REG_CONTROL) & CIM_CONTROL_RESET) {
		if (cim_now_ms() > end) {
			dump_regs(d);
			return EXPECT(t, false, "%s: reset did not complete",
				      d->bdf);
		}
		usleep(100);
	}
	memset(ring_of(d), 0, sizeof(*ring_of(d)));
	return true;
}

/* Program a ring of @entries at the start of the ring page, and enable */
static void ring_setup(struct cim_dev *d, uint32_t entries)
{
	struct cim_ring *r = ring_of(d);

	memset(pg(d, PG_RING), 0, CIM_PAGE_SIZE);
	r->desc = pg(d, PG_RING);
	r->entries = entries;
	r->tail = 0;
	r->seqno = SEQNO_BASE;
	cim_wr(d, CIM_REG_RING_BASE_LO, (uint32_t)d->page[PG_RING].bus);
	cim_wr(d, CIM_REG_RING_BASE_HI, (uint32_t)(d->page[PG_RING].bus >> 32));
	cim_wr(d, CIM_REG_RING_SIZE, entries);
	cim_wr(d, CIM_REG_CONTROL, CIM_CONTROL_ENABLE);
}

/* Queue one job with raw addresses, ring the doorbell; returns its seqno */
static uint64_t submit_raw(struct cim_dev *d, uint64_t cmd_bus, uint32_t size,
			   uint64_t comp_bus)
{
	struct cim_ring *r = ring_of(d);
	struct cim_job_desc *jd = &r->desc[r->tail % r->entries];

	memset(jd, 0, sizeof(*jd));
	jd->cmdbuf_addr = cmd_bus;
	jd->cmdbuf_size = size;
	jd->seqno = ++r->seqno;
	jd->completion_addr = comp_bus;
	r->tail++;
	cim_wr(d, CIM_REG_RING_TAIL, r->tail);
	return r->seqno;
}

static bool wait_seqno(struct tap_test *t, struct cim_dev *d, uint64_t seqno)
{
	uint64_t end = cim_now_ms() + JOB_TIMEOUT_MS;

	while (done_seqno(d) < seqno) {
		if (cim_now_ms() > end ||
		    (cim_rd(d, CIM_REG_STATUS) & CIM_STATUS_HALTED)) {
			dump_regs(d);
			return EXPECT(t, false, "%s: job 0x%llx did not complete",
				      d->bdf, (unsigned long long)seqno);
		}
		usleep(50);
	}
	__sync_synchronize();
	return true;
}

/* Run a job from DMA memory and wait; the completion lands in @comp */
static bool run_job(struct tap_test *t, struct cim_dev *d, const void *cmd,
		    uint32_t size, struct cim_job_completion *comp)
{
	uint64_t seqno;

	memset(comp, 0xa5, sizeof(*comp));
	seqno = submit_raw(d, cim_bus(d, cmd), size, cim_bus(d, comp));
	if (!wait_seqno(t, d, seqno))
		return false;
	return EXPECT_EQ(t, comp->seqno, seqno);
}

/* Command buffer packets */
static size_t put_nop(void *buf, size_t off)
{
	struct cim_pkt_hdr *h = (struct cim_pkt_hdr *)((char *)buf + off);

	h->opcode = CIM_OP_NOP;
	h->flags = 0;
	h->size = sizeof(*h);
	return off + sizeof(*h);
}

static size_t put_fence(void *buf, size_t off, uint64_t addr, uint64_t value)
{
	struct cim_pkt_fence *f = (struct cim_pkt_fence *)((char *)buf + off);

	memset(f, 0, sizeof(*f));
	f->hdr.opcode = CIM_OP_FENCE;
	f->hdr.size = sizeof(*f);
	f->addr = addr;
	f->value = value;
	return off + sizeof(*f);
}

/* One NOP job on an enabled ring succeeds */
static bool nop_ok(struct tap_test *t, struct cim_dev *d)
{
	struct cim_job_completion *comp = pg(d, PG_COMP);
	void *cmd = pg(d, PG_CMD2);

	if (!run_job(t, d, cmd, (uint32_t)put_nop(cmd, 0), comp))
		return false;
	return EXPECT_EQ(t, comp->status, CIM_ST_OK) &&
	       EXPECT_EQ(t, comp->cmds_done, 1);
}

/* Reset, then a fresh ring of RING_ENTRIES */
static bool fresh(struct tap_test *t, struct cim_dev *d)
{
	if (!dev_reset(t, d))
		return false;
	ring_setup(d, RING_ENTRIES);
	return EXPECT(t, !(cim_rd(d, CIM_REG_STATUS) & CIM_STATUS_HALTED),
		      "%s: halted after a valid ring setup, reason %u", d->bdf,
		      cim_rd(d, CIM_REG_HALT_REASON));
}

/* Tests of one device ---------------------------------------------------- */

static void t_identity(struct tap_test *t, struct cim_dev *d)
{
	struct cim_expect *e = &expect[d->index];
	uint32_t caps, ver;

	EXPECT_EQ(t, cim_sysfs_num(d, "class") >> 8, CIM_PCI_CLASS);
	EXPECT_EQ(t, cim_sysfs_num(d, "revision"), CIM_PCI_REVISION);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_ID), CIM_ID_MAGIC);
	ver = cim_rd(d, CIM_REG_VERSION);
	EXPECT_EQ(t, ver >> 16, CIM_ABI_MAJOR);
	tap_diag("%s: ABI %u.%u", d->bdf, ver >> 16, ver & 0xffff);
	caps = cim_rd(d, CIM_REG_CAPS);
	EXPECT_EQ(t, caps & (CIM_CAPS_XBAR | CIM_CAPS_DUU | CIM_CAPS_AP),
		  CIM_CAPS_XBAR | CIM_CAPS_DUU | CIM_CAPS_AP);
	/* 1.1 announces ABORT_SEQNO and SCRUB */
	if ((ver & 0xffff) >= 1)
		EXPECT_EQ(t, caps & (CIM_CAPS_ABORT | CIM_CAPS_SCRUB),
			  CIM_CAPS_ABORT | CIM_CAPS_SCRUB);
	/* 1.2 the analog crossbar, IDLE and a known device preset */
	if ((ver & 0xffff) >= 2) {
		EXPECT_EQ(t, caps & CIM_CAPS_ANALOG, CIM_CAPS_ANALOG);
		EXPECT_EQ(t, cim_rd(d, CIM_REG_DEVICE_PRESET) <
			  CIM_DEVICE_PRESET_COUNT, 1);
	}
	/* no bit beyond them is known */
	EXPECT_EQ(t, caps & ~0x7fu, 0);
	if (e->fault >= 0)
		EXPECT_EQ(t, !!(caps & CIM_CAPS_FAULT_INJECT), e->fault);
	if (dev_reset(t, d)) {
		EXPECT_EQ(t, cim_rd(d, CIM_REG_STATUS), 0);
		EXPECT_EQ(t, cim_rd(d, CIM_REG_ID), CIM_ID_MAGIC);
	}
}

static void t_geometry(struct tap_test *t, struct cim_dev *d)
{
	static const struct { uint32_t reg; const char *name; } regs[] = {
		{ CIM_REG_XBAR_COUNT, "XBAR_COUNT" },
		{ CIM_REG_XBAR_ROWS, "XBAR_ROWS" },
		{ CIM_REG_XBAR_COLS, "XBAR_COLS" },
		{ CIM_REG_XBAR_LEVELS, "XBAR_LEVELS" },
		{ CIM_REG_DAC_BITS, "DAC_BITS" },
		{ CIM_REG_ADC_BITS, "ADC_BITS" },
		{ CIM_REG_AP_COUNT, "AP_COUNT" },
		{ CIM_REG_AP_ROWS, "AP_ROWS" },
		{ CIM_REG_AP_COLS, "AP_COLS" },
		{ CIM_REG_AP_DOMAINS, "AP_DOMAINS" },
		{ CIM_REG_AP_GROUP_TRACKS, "AP_GROUP_TRACKS" },
		{ CIM_REG_COST_PRESET, "COST_PRESET" },
	};
	const char *mode = getenv("CIM_GEOMETRY");
	struct cim_expect *e = &expect[d->index];
	struct cimfw_config cfg;
	uint32_t want[sizeof(regs) / sizeof(regs[0])];
	uint32_t v, batch, cmdbuf;
	uint64_t seed;
	size_t i;

	cimfw_config_default(&cfg);
	cfg.seed = (uint64_t)cim_rd(d, CIM_REG_SEED_HI) << 32 |
		   cim_rd(d, CIM_REG_SEED_LO);
	cfg.xbar_count = cim_rd(d, CIM_REG_XBAR_COUNT);
	cfg.xbar_rows = cim_rd(d, CIM_REG_XBAR_ROWS);
	cfg.xbar_cols = cim_rd(d, CIM_REG_XBAR_COLS);
	cfg.levels = cim_rd(d, CIM_REG_XBAR_LEVELS);
	cfg.dac_bits = cim_rd(d, CIM_REG_DAC_BITS);
	cfg.adc_bits = cim_rd(d, CIM_REG_ADC_BITS);
	cfg.ap_count = cim_rd(d, CIM_REG_AP_COUNT);
	cfg.ap_rows = cim_rd(d, CIM_REG_AP_ROWS);
	cfg.ap_cols = cim_rd(d, CIM_REG_AP_COLS);
	cfg.ap_domains = cim_rd(d, CIM_REG_AP_DOMAINS);
	cfg.ap_group_tracks = cim_rd(d, CIM_REG_AP_GROUP_TRACKS);
	EXPECT(t, cimfw_config_check(&cfg) == 0,
	       "geometry outside the architectural limits");
	tap_diag("%s: %u crossbars %ux%u, %u levels, DAC %u ADC %u bits; %u APs %ux%u, %u domains; seed 0x%llx",
		 d->bdf, cfg.xbar_count, cfg.xbar_rows, cfg.xbar_cols,
		 cfg.levels, cfg.dac_bits, cfg.adc_bits, cfg.ap_count,
		 cfg.ap_rows, cfg.ap_cols, cfg.ap_domains,
		 (unsigned long long)cfg.seed);

	batch = cim_rd(d, CIM_REG_MAX_BATCH);
	cmdbuf = cim_rd(d, CIM_REG_MAX_CMDBUF);
	EXPECT(t, batch >= 1 && batch <= CIM_MAX_BATCH, "MAX_BATCH %u", batch);
	EXPECT(t, cmdbuf >= 8 && cmdbuf <= CIM_MAX_CMDBUF && cmdbuf % 8 == 0,
	       "MAX_CMDBUF %u", cmdbuf);
	v = cim_rd(d, CIM_REG_COST_PRESET);
	EXPECT(t, v < CIM_COST_COUNT, "COST_PRESET %u", v);

	seed = cfg.seed;
	if (e->seed >= 0)
		EXPECT_EQ(t, seed, e->seed);

	if (mode && !strcmp(mode, "any"))
		return;
	cimfw_config_default(&cfg);
	want[0] = cfg.xbar_count;
	want[1] = cfg.xbar_rows;
	want[2] = cfg.xbar_cols;
	want[3] = cfg.levels;
	want[4] = cfg.dac_bits;
	want[5] = cfg.adc_bits;
	want[6] = cfg.ap_count;
	want[7] = cfg.ap_rows;
	want[8] = cfg.ap_cols;
	want[9] = cfg.ap_domains;
	want[10] = cfg.ap_group_tracks;
	want[11] = cfg.cost_preset;
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		v = cim_rd(d, regs[i].reg);
		EXPECT(t, v == want[i], "%s = %u, the model's default is %u",
		       regs[i].name, v, want[i]);
	}
}

static void t_int_mask(struct tap_test *t, struct cim_dev *d)
{
	static const uint32_t vals[] = { 0x7, 0x0, 0x5, 0x2, 0xffffffff };
	size_t i;

	if (!dev_reset(t, d))
		return;
	EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_MASK), 0);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		cim_wr(d, CIM_REG_INT_MASK, vals[i]);
		EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_MASK),
			  vals[i] & CIM_INT_VALID_MASK);
	}
	cim_wr(d, CIM_REG_INT_MASK, 0);
}

static void t_access_size(struct tap_test *t, struct cim_dev *d)
{
	volatile uint8_t *b = (volatile uint8_t *)d->regs;
	volatile uint16_t *h = (volatile uint16_t *)d->regs;

	if (!dev_reset(t, d))
		return;
	/* Narrow reads return all ones, narrow writes are ignored */
	EXPECT_EQ(t, b[CIM_REG_ID], 0xff);
	EXPECT_EQ(t, h[CIM_REG_ID / 2], 0xffff);
	h[CIM_REG_INT_MASK / 2] = 0x7;
	b[CIM_REG_INT_MASK] = 0x7;
	__sync_synchronize();
	EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_MASK), 0);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_ID), CIM_ID_MAGIC);
}

static void t_nop_job(struct tap_test *t, struct cim_dev *d)
{
	struct cim_job_completion *comp = pg(d, PG_COMP);
	void *cmd = pg(d, PG_CMD);
	size_t len;

	if (!fresh(t, d))
		return;
	EXPECT(t, cim_rd(d, CIM_REG_STATUS) & CIM_STATUS_ENABLED,
	       "STATUS 0x%x not ENABLED", cim_rd(d, CIM_REG_STATUS));
	len = put_nop(cmd, 0);
	if (!run_job(t, d, cmd, (uint32_t)len, comp))
		return;
	EXPECT_EQ(t, comp->status, CIM_ST_OK);
	EXPECT_EQ(t, comp->cmds_done, 1);
	EXPECT_EQ(t, comp->reserved, 0);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_RING_HEAD), 1);
	EXPECT_EQ(t, done_seqno(d), comp->seqno);
	EXPECT(t, cim_rd(d, CIM_REG_INT_STATUS) & CIM_INT_JOB_DONE,
	       "INT_STATUS 0x%x lacks JOB_DONE", cim_rd(d, CIM_REG_INT_STATUS));

	/* Three packets in one buffer */
	len = put_nop(cmd, put_nop(cmd, put_nop(cmd, 0)));
	if (run_job(t, d, cmd, (uint32_t)len, comp)) {
		EXPECT_EQ(t, comp->status, CIM_ST_OK);
		EXPECT_EQ(t, comp->cmds_done, 3);
	}
}

static void t_int_status(struct tap_test *t, struct cim_dev *d)
{
	uint32_t st;

	if (!fresh(t, d))
		return;
	EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_STATUS), 0);
	if (!nop_ok(t, d))
		return;
	st = cim_rd(d, CIM_REG_INT_STATUS);
	if (!EXPECT(t, st & CIM_INT_JOB_DONE, "INT_STATUS 0x%x", st))
		return;
	/* Writing zeros, or ones to clear bits, changes nothing */
	cim_wr(d, CIM_REG_INT_STATUS, 0);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_STATUS), st);
	cim_wr(d, CIM_REG_INT_STATUS, ~st & CIM_INT_VALID_MASK);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_STATUS), st);
	/* A one clears its bit */
	cim_wr(d, CIM_REG_INT_STATUS, CIM_INT_JOB_DONE);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_STATUS), st & ~CIM_INT_JOB_DONE);
	cim_wr(d, CIM_REG_INT_STATUS, 0xffffffff);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_STATUS), 0);
}

static void t_reset(struct tap_test *t, struct cim_dev *d)
{
	static const struct { uint32_t reg; const char *name; } zero[] = {
		{ CIM_REG_STATUS, "STATUS" },
		{ CIM_REG_CONTROL, "CONTROL" },
		{ CIM_REG_INT_STATUS, "INT_STATUS" },
		{ CIM_REG_INT_MASK, "INT_MASK" },
		{ CIM_REG_HALT_REASON, "HALT_REASON" },
		{ CIM_REG_RING_BASE_LO, "RING_BASE_LO" },
		{ CIM_REG_RING_BASE_HI, "RING_BASE_HI" },
		{ CIM_REG_RING_SIZE, "RING_SIZE" },
		{ CIM_REG_RING_TAIL, "RING_TAIL" },
		{ CIM_REG_RING_HEAD, "RING_HEAD" },
		{ CIM_REG_DONE_SEQNO_LO, "DONE_SEQNO_LO" },
		{ CIM_REG_DONE_SEQNO_HI, "DONE_SEQNO_HI" },
		{ CIM_REG_FAULT, "FAULT" },
	};
	uint32_t seed_lo = cim_rd(d, CIM_REG_SEED_LO);
	size_t i;

	if (!fresh(t, d) || !nop_ok(t, d))
		return;
	cim_wr(d, CIM_REG_INT_MASK, CIM_INT_VALID_MASK);
	if (!dev_reset(t, d))
		return;
	for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		uint32_t v = cim_rd(d, zero[i].reg);

		EXPECT(t, v == 0, "%s = 0x%x after reset", zero[i].name, v);
	}
	EXPECT_EQ(t, cim_rd(d, CIM_REG_ID), CIM_ID_MAGIC);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_SEED_LO), seed_lo);
	/* And it works again */
	ring_setup(d, RING_ENTRIES);
	nop_ok(t, d);
}

/* Wait for a halt with @reason; halted means not enabled and not busy */
static bool expect_halt(struct tap_test *t, struct cim_dev *d,
			uint32_t reason, const char *what)
{
	uint64_t end = cim_now_ms() + JOB_TIMEOUT_MS;
	uint32_t st;

	while (!((st = cim_rd(d, CIM_REG_STATUS)) & CIM_STATUS_HALTED) &&
	       cim_now_ms() < end)
		usleep(100);
	if (!EXPECT(t, st == CIM_STATUS_HALTED, "%s: STATUS 0x%x, not HALTED alone",
		    what, st))
		return false;
	EXPECT(t, cim_rd(d, CIM_REG_HALT_REASON) == reason,
	       "%s: HALT_REASON %u, expected %u", what,
	       cim_rd(d, CIM_REG_HALT_REASON), reason);
	EXPECT(t, cim_rd(d, CIM_REG_INT_STATUS) & CIM_INT_HALTED,
	       "%s: INT_STATUS 0x%x lacks HALTED", what,
	       cim_rd(d, CIM_REG_INT_STATUS));
	/* ENABLE does nothing while halted */
	cim_wr(d, CIM_REG_CONTROL, CIM_CONTROL_ENABLE);
	EXPECT(t, cim_rd(d, CIM_REG_STATUS) == CIM_STATUS_HALTED,
	       "%s: STATUS 0x%x after ENABLE while halted", what,
	       cim_rd(d, CIM_REG_STATUS));
	return true;
}

/* Validation of one bad ring configuration */
static void bad_ring(struct tap_test *t, struct cim_dev *d, uint64_t base,
		     uint32_t entries, const char *what)
{
	if (!dev_reset(t, d))
		return;
	cim_wr(d, CIM_REG_RING_BASE_LO, (uint32_t)base);
	cim_wr(d, CIM_REG_RING_BASE_HI, (uint32_t)(base >> 32));
	cim_wr(d, CIM_REG_RING_SIZE, entries);
	cim_wr(d, CIM_REG_CONTROL, CIM_CONTROL_ENABLE);
	if (!expect_halt(t, d, CIM_ST_BAD_RING, what))
		return;
	if (dev_reset(t, d)) {
		EXPECT(t, cim_rd(d, CIM_REG_STATUS) == 0,
		       "%s: STATUS 0x%x after reset", what,
		       cim_rd(d, CIM_REG_STATUS));
		EXPECT(t, cim_rd(d, CIM_REG_HALT_REASON) == CIM_ST_OK,
		       "%s: HALT_REASON %u after reset", what,
		       cim_rd(d, CIM_REG_HALT_REASON));
	}
}

/* A NOP job in every slot of the ring page, wherever a device may look */
static void fill_ring(struct cim_dev *d)
{
	struct cim_job_completion *comp = pg(d, PG_COMP);
	struct cim_job_desc *jd = pg(d, PG_RING);
	void *cmd = pg(d, PG_CMD);
	unsigned int i;

	memset(jd, 0, CIM_PAGE_SIZE);
	for (i = 0; i < CIM_PAGE_SIZE / sizeof(*jd) - 1; i++) {
		jd[i].cmdbuf_addr = cim_bus(d, cmd);
		jd[i].cmdbuf_size = (uint32_t)put_nop(cmd, 0);
		jd[i].completion_addr = cim_bus(d, comp);
	}
}

static void t_ring_validation(struct tap_test *t, struct cim_dev *d)
{
	uint64_t base = d->page[PG_RING].bus;
	uint32_t lo;

	fill_ring(d);
	bad_ring(t, d, base + 8, RING_ENTRIES, "base not 64-byte aligned");
	bad_ring(t, d, base + 32, RING_ENTRIES, "base 32-byte aligned");
	bad_ring(t, d, base, 3, "3 entries");
	bad_ring(t, d, base, 0, "0 entries");
	bad_ring(t, d, base, 1, "1 entry");
	bad_ring(t, d, base, CIM_RING_MAX_ENTRIES * 2, "too many entries");
	bad_ring(t, d, base, 0xffffffff, "0xffffffff entries");

	/* A good ring, then RING_BASE is locked while enabled */
	if (!fresh(t, d))
		return;
	lo = cim_rd(d, CIM_REG_RING_BASE_LO);
	EXPECT_EQ(t, lo, (uint32_t)base);
	cim_wr(d, CIM_REG_RING_BASE_LO, lo + 0x40);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_RING_BASE_LO), lo);
	cim_wr(d, CIM_REG_RING_SIZE, 8);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_RING_SIZE), RING_ENTRIES);
	nop_ok(t, d);

	/* A doorbell beyond RING_HEAD + RING_SIZE */
	if (!dev_reset(t, d))
		return;
	ring_setup(d, 4);
	fill_ring(d);
	cim_wr(d, CIM_REG_RING_TAIL, 5);
	expect_halt(t, d, CIM_ST_BAD_RING, "RING_TAIL 5 on a ring of 4");
	if (fresh(t, d))
		nop_ok(t, d);
}

static void t_ring_wrap(struct tap_test *t, struct cim_dev *d)
{
	struct cim_job_completion *comp = pg(d, PG_COMP);
	void *cmd = pg(d, PG_CMD);
	int i, ok = 0;

	if (!dev_reset(t, d))
		return;
	ring_setup(d, 4);
	for (i = 0; i < 21; i++) {
		size_t len = put_nop(cmd, 0);

		if (!run_job(t, d, cmd, (uint32_t)len, &comp[i % 8]))
			break;
		ok += comp[i % 8].status == CIM_ST_OK;
	}
	EXPECT_EQ(t, ok, 21);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_RING_HEAD), 21);
}

static void t_bad_opcode(struct tap_test *t, struct cim_dev *d)
{
	struct cim_job_completion *comp = pg(d, PG_COMP);
	struct cim_pkt_hdr *h;
	void *cmd = pg(d, PG_CMD);
	size_t len;

	if (!fresh(t, d))
		return;
	len = put_nop(cmd, 0);
	h = (struct cim_pkt_hdr *)((char *)cmd + len);
	h->opcode = 0x7f;
	h->flags = 0;
	h->size = 8;
	len = put_nop(cmd, len + 8);
	if (!run_job(t, d, cmd, (uint32_t)len, comp))
		return;
	EXPECT_EQ(t, comp->status, CIM_ST_BAD_OPCODE);
	EXPECT_EQ(t, comp->cmds_done, 1);
	EXPECT_EQ(t, comp->error_offset, 8);
	EXPECT_EQ(t, comp->error_field, 0);
	EXPECT(t, cim_rd(d, CIM_REG_INT_STATUS) & CIM_INT_JOB_ERROR,
	       "INT_STATUS 0x%x lacks JOB_ERROR", cim_rd(d, CIM_REG_INT_STATUS));
	EXPECT(t, !(cim_rd(d, CIM_REG_STATUS) & CIM_STATUS_HALTED),
	       "a bad packet halted the device");
	/* A truncated packet: the header claims more than the buffer holds */
	h = cmd;
	h->opcode = CIM_OP_NOP;
	h->size = 16;
	if (run_job(t, d, cmd, 8, comp)) {
		EXPECT_EQ(t, comp->status, CIM_ST_TRUNCATED);
		EXPECT_EQ(t, comp->cmds_done, 0);
		EXPECT_EQ(t, comp->error_offset, 0);
	}
	nop_ok(t, d);
}

static void t_fence(struct tap_test *t, struct cim_dev *d)
{
	struct cim_job_completion *comp = pg(d, PG_COMP);
	volatile uint64_t *target = pg(d, PG_FENCE);
	void *cmd = pg(d, PG_CMD);
	size_t len;

	if (!fresh(t, d))
		return;
	target[0] = 0;
	target[1] = 0x5a5a5a5a5a5a5a5aull;
	len = put_fence(cmd, put_nop(cmd, 0), cim_bus(d, (void *)target),
			0x1122334455667788ull);
	if (run_job(t, d, cmd, (uint32_t)len, comp)) {
		EXPECT_EQ(t, comp->status, CIM_ST_OK);
		EXPECT_EQ(t, comp->cmds_done, 2);
		EXPECT_EQ(t, target[0], 0x1122334455667788ull);
		EXPECT_EQ(t, target[1], 0x5a5a5a5a5a5a5a5aull);
	}
	/* A misaligned fence address is rejected before any write */
	target[0] = 0;
	len = put_fence(cmd, 0, cim_bus(d, (void *)target) + 4, 1);
	if (run_job(t, d, cmd, (uint32_t)len, comp)) {
		EXPECT_EQ(t, comp->status, CIM_ST_BAD_ALIGN);
		EXPECT_EQ(t, comp->error_offset, 0);
		EXPECT_EQ(t, comp->error_field,
			  __builtin_offsetof(struct cim_pkt_fence, addr));
		EXPECT_EQ(t, target[0], 0);
	}
	/* Unknown flags */
	len = put_fence(cmd, 0, cim_bus(d, (void *)target), 2);
	((struct cim_pkt_hdr *)cmd)->flags = 0x8000;
	if (run_job(t, d, cmd, (uint32_t)len, comp)) {
		EXPECT_EQ(t, comp->status, CIM_ST_BAD_FLAGS);
		EXPECT_EQ(t, target[0], 0);
	}
}

static void t_dma_error(struct tap_test *t, struct cim_dev *d)
{
	struct cim_job_completion *comp = pg(d, PG_COMP);
	void *cmd = pg(d, PG_CMD);
	uint64_t seqno;
	uint32_t head;
	size_t len;

	if (!fresh(t, d))
		return;
	/* The command buffer is nowhere */
	memset(comp, 0xa5, sizeof(*comp));
	seqno = submit_raw(d, BEYOND_RAM, 8, cim_bus(d, comp));
	if (wait_seqno(t, d, seqno)) {
		EXPECT_EQ(t, comp->seqno, seqno);
		EXPECT_EQ(t, comp->status, CIM_ST_DMA);
		EXPECT_EQ(t, comp->cmds_done, 0);
		EXPECT_EQ(t, comp->error_offset, 0xffffffff);
		EXPECT_EQ(t, comp->error_field, 0);
	}
	if (!EXPECT(t, !(cim_rd(d, CIM_REG_STATUS) & CIM_STATUS_HALTED),
		    "halted by a DMA error") || !nop_ok(t, d))
		return;

	/* A fence writes beyond RAM */
	len = put_fence(cmd, put_nop(cmd, 0), BEYOND_RAM, 1);
	if (run_job(t, d, cmd, (uint32_t)len, comp)) {
		EXPECT_EQ(t, comp->status, CIM_ST_DMA);
		EXPECT_EQ(t, comp->cmds_done, 1);
		EXPECT_EQ(t, comp->error_offset, 8);
		EXPECT_EQ(t, comp->error_field,
			  __builtin_offsetof(struct cim_pkt_fence, addr));
	}
	if (!nop_ok(t, d))
		return;

	/* The completion record is nowhere: that halts the device */
	len = put_nop(cmd, 0);
	head = cim_rd(d, CIM_REG_RING_HEAD);
	seqno = submit_raw(d, cim_bus(d, cmd), (uint32_t)len, BEYOND_RAM);
	expect_halt(t, d, CIM_ST_DMA, "completion write beyond RAM");
	EXPECT(t, done_seqno(d) < seqno, "DONE_SEQNO moved");
	EXPECT_EQ(t, cim_rd(d, CIM_REG_RING_HEAD), head);
	if (fresh(t, d))
		nop_ok(t, d);
}

static void t_bus_master_off(struct tap_test *t, struct cim_dev *d)
{
	if (!fresh(t, d))
		return;
	/* No bus mastering: the ring cannot be read; nothing may hang */
	cim_bus_master(d, false);
	submit_raw(d, cim_bus(d, pg(d, PG_CMD)), (uint32_t)put_nop(pg(d, PG_CMD), 0),
		   cim_bus(d, pg(d, PG_COMP)));
	expect_halt(t, d, CIM_ST_DMA, "descriptor fetch without bus mastering");
	EXPECT_EQ(t, done_seqno(d), 0);
	EXPECT_EQ(t, cim_rd(d, CIM_REG_ID), CIM_ID_MAGIC);
	if (fresh(t, d))
		nop_ok(t, d);
}

static void t_garbage(struct tap_test *t, struct cim_dev *d)
{
	static const uint32_t fixed[] = { 0xffffffff, 0, 0xaaaaaaaa, 0x55555555 };
	uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)d->index;
	int round;
	uint32_t off;

	if (!fresh(t, d))
		return;
	/* No DMA can reach memory while bus mastering is off */
	cim_bus_master(d, false);
	for (round = 0; round < 8; round++) {
		for (off = 0; off < CIM_REGS_SIZE; off += 4) {
			uint32_t v;

			if (round < 4) {
				v = fixed[round];
			} else {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				v = (uint32_t)x;
			}
			cim_wr(d, off, v);
			(void)cim_rd(d, off);
		}
		if (!EXPECT(t, cim_rd(d, CIM_REG_ID) == CIM_ID_MAGIC,
			    "round %d: ID 0x%x", round, cim_rd(d, CIM_REG_ID)))
			break;
		EXPECT(t, (cim_rd(d, CIM_REG_VERSION) >> 16) == CIM_ABI_MAJOR,
		       "round %d: VERSION 0x%x", round,
		       cim_rd(d, CIM_REG_VERSION));
	}
	if (!fresh(t, d))
		return;
	EXPECT_EQ(t, cim_rd(d, CIM_REG_ID), CIM_ID_MAGIC);
	for (off = CIM_REG_SEED_HI + 4; off < CIM_REGS_SIZE; off += 4)
		if (!EXPECT(t, cim_rd(d, off) == 0, "reserved 0x%03x reads 0x%x",
			    off, cim_rd(d, off)))
			break;
	nop_ok(t, d);
}

static void t_error_next(struct tap_test *t, struct cim_dev *d)
{
	struct cim_job_completion *comp = pg(d, PG_COMP);
	bool cap = cim_rd(d, CIM_REG_CAPS) & CIM_CAPS_FAULT_INJECT;
	void *cmd = pg(d, PG_CMD);

	if (!fresh(t, d))
		return;
	cim_wr(d, CIM_REG_FAULT, CIM_FAULT_ERROR_NEXT);
	if (!cap) {
		/* Without the capability the register ignores writes */
		EXPECT_EQ(t, cim_rd(d, CIM_REG_FAULT), 0);
		nop_ok(t, d);
		return;
	}
	EXPECT_EQ(t, cim_rd(d, CIM_REG_FAULT), CIM_FAULT_ERROR_NEXT);
	if (run_job(t, d, cmd, (uint32_t)put_nop(cmd, 0), comp)) {
		EXPECT_EQ(t, comp->status, CIM_ST_INJECTED);
		EXPECT_EQ(t, comp->cmds_done, 0);
		EXPECT_EQ(t, comp->error_offset, 0xffffffff);
		EXPECT_EQ(t, comp->error_field, 0xffffffff);
		EXPECT(t, cim_rd(d, CIM_REG_INT_STATUS) & CIM_INT_JOB_ERROR,
		       "INT_STATUS 0x%x", cim_rd(d, CIM_REG_INT_STATUS));
	}
	EXPECT_EQ(t, cim_rd(d, CIM_REG_FAULT), 0);	/* consumed */
	nop_ok(t, d);	/* only the next job failed */
}

/* Tests of every device together ------------------------------------------ */

static void t_independent(struct tap_test *t)
{
	uint64_t seq[MAX_DEVS];
	int i;

	for (i = 0; i < ndevs; i++) {
		struct cim_dev *d = &devs[i];
		void *cmd = pg(d, PG_CMD);
		uint64_t *target = pg(d, PG_FENCE);
		size_t len;

		if (!fresh(t, d))
			return;
		cim_wr(d, CIM_REG_INT_MASK, (uint32_t)i & CIM_INT_VALID_MASK);
		target[0] = 0;
		len = put_fence(cmd, 0, cim_bus(d, target), 0xc1a0000000ull + i);
		memset(pg(d, PG_COMP), 0, CIM_PAGE_SIZE);
		/* Different amounts of work, so the seqnos differ */
		seq[i] = 0;
		for (int k = 0; k <= i; k++)
			seq[i] = submit_raw(d, cim_bus(d, cmd), (uint32_t)len,
					    cim_bus(d, pg(d, PG_COMP)));
	}
	for (i = 0; i < ndevs; i++) {
		struct cim_dev *d = &devs[i];
		uint64_t *target = pg(d, PG_FENCE);

		if (!wait_seqno(t, d, seq[i]))
			continue;
		EXPECT_EQ(t, done_seqno(d), SEQNO_BASE + 1 + (uint64_t)i);
		EXPECT_EQ(t, target[0], 0xc1a0000000ull + i);
		EXPECT_EQ(t, cim_rd(d, CIM_REG_INT_MASK),
			  (uint32_t)i & CIM_INT_VALID_MASK);
	}
	/* Resetting the first leaves the others running */
	if (!dev_reset(t, &devs[0]))
		return;
	for (i = 1; i < ndevs; i++) {
		EXPECT(t, cim_rd(&devs[i], CIM_REG_STATUS) & CIM_STATUS_ENABLED,
		       "%s disabled by a reset of %s", devs[i].bdf, devs[0].bdf);
		nop_ok(t, &devs[i]);
	}
	if (ndevs >= 2 && expect[0].seed >= 0 && expect[1].seed >= 0 &&
	    expect[0].seed != expect[1].seed)
		EXPECT(t, cim_rd(&devs[0], CIM_REG_SEED_LO) !=
		       cim_rd(&devs[1], CIM_REG_SEED_LO), "same seeds");
}

struct dev_test {
	const char *name;
	void (*fn)(struct tap_test *t, struct cim_dev *d);
};

static const struct dev_test dev_tests[] = {
	{ "identity", t_identity },
	{ "geometry", t_geometry },
	{ "int_mask", t_int_mask },
	{ "access_size", t_access_size },
	{ "nop_job", t_nop_job },
	{ "int_status_rw1c", t_int_status },
	{ "reset", t_reset },
	{ "ring_validation", t_ring_validation },
	{ "ring_wrap", t_ring_wrap },
	{ "bad_opcode", t_bad_opcode },
	{ "fence", t_fence },
	{ "dma_error", t_dma_error },
	{ "bus_master_off", t_bus_master_off },
	{ "garbage_writes", t_garbage },
	{ "error_next", t_error_next },
};
#define NDEV_TESTS	((int)(sizeof(dev_tests) / sizeof(dev_tests[0])))

int main(void)
{
	char bdfs[MAX_DEVS][32];
	struct tap_test t = { .name = "find cim devices" };
	char names[MAX_DEVS][NDEV_TESTS][64];
	int i, j, n, want = 0, opened = 0;

	parse_expect();
	for (i = 0; i < MAX_DEVS; i++)
		want += expect[i].seed >= 0 || expect[i].fault >= 0;
	n = cim_find(bdfs, MAX_DEVS);
	ndevs = n > 0 ? n : 0;
	tap_plan(1 + ndevs * NDEV_TESTS + (ndevs >= 2));

	if (n < 0)
		EXPECT(&t, false, "cannot read /sys/bus/pci/devices: %s",
		       strerror(-n));
	EXPECT(&t, n > 0, "no cim device (PCI %04x:%04x)", CIM_PCI_VENDOR_ID,
	       CIM_PCI_DEVICE_ID);
	EXPECT(&t, n >= want, "%d devices found, %d expected", n, want);
	for (i = 0; i < ndevs; i++) {
		int ret = cim_open(&devs[i], i, bdfs[i]);

		tap_diag("device %d: %s", i, bdfs[i]);
		if (ret) {
			EXPECT(&t, false, "%s: %s", bdfs[i], strerror(-ret));
			continue;
		}
		opened++;
	}
	tap_report(&t);

	for (i = 0; i < ndevs; i++) {
		for (j = 0; j < NDEV_TESTS; j++) {
			struct tap_test dt = { .name = names[i][j] };

			snprintf(names[i][j], sizeof(names[i][j]), "dev%d %s",
				 i, dev_tests[j].name);
			if (!devs[i].regs)
				dt.skip = "device not opened";
			else
				dev_tests[j].fn(&dt, &devs[i]);
			tap_report(&dt);
		}
	}
	if (ndevs >= 2) {
		struct tap_test it = { .name = "instances are independent" };

		if (opened == ndevs)
			t_independent(&it);
		else
			it.skip = "a device was not opened";
		tap_report(&it);
	}
	for (i = 0; i < ndevs; i++) {
		if (devs[i].regs)
			dev_reset(&t, &devs[i]);
		cim_close(&devs[i]);
	}
	return tap_finish();
}
