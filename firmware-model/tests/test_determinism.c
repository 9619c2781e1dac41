// SPDX-License-Identifier: MIT
/*
 * Determinism: the same seed and the same command buffers give the same
 * bits, with every non-ideality switched on; another seed does not; and a
 * reset device replays like a fresh one.
 */
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "testmem.h"
#include "unit.h"

enum { ROWS = 64, COLS = 48, BATCH = 16, OUT_BYTES = 1 << 20 };

/**
 * struct run - one device, its memory and where its outputs land
 * @out: bus address of the OUT_BYTES output area
 * @done: completion of each job
 */
struct run {
	struct cimfw *fw;
	struct testmem mem;
	struct cmdbuf *cb;
	uint64_t w, x, d, rows, out;
	struct cim_job_completion done[4];
	struct cim_counters counters;
};

static void noisy_config(struct cimfw_config *cfg, uint64_t seed)
{
	unit_config_ideal(cfg);
	cfg->seed = seed;
	cfg->gamma = 0.5;
	cfg->sigma_d2d = 0.2;
	cfg->sigma_c2c = 0.3;
	cfg->read_noise = 0.02;
	cfg->stuck_prob = 0.01;
	cfg->sigma_range = 0.05;
	cfg->prog_noise_us = 0.2;
	cfg->g_read_noise_us = 0.1;
	/* relaxation fast enough to move between the jobs */
	cfg->relax_nu = 0.05;
	cfg->relax_nu_sigma = 0.02;
	cfg->relax_sigma_us = 0.1;
	cfg->relax_t0_s = 1e-6;
}

/* Inputs drawn from a fixed stream, so both runs see the same data. */
static void run_init(struct run *r, uint64_t seed)
{
	struct cimfw_config cfg;
	struct cimfw_rng g;
	float *f;
	uint64_t *u;
	size_t i;

	noisy_config(&cfg, seed);
	ck_assert_int_eq(cimfw_create(&cfg, &r->fw), 0);
	testmem_init(&r->mem);
	r->cb = calloc(1, sizeof(*r->cb));
	ck_assert_ptr_nonnull(r->cb);
	cimfw_rng_seed(&g, 2024, 1);
	r->w = testmem_alloc(&r->mem, ROWS * COLS * 4, &f);
	for (i = 0; i < ROWS * COLS; i++)
		f[i] = (float)(1.6 * cimfw_rng_uniform(&g) - 0.8);
	r->x = testmem_alloc(&r->mem, BATCH * ROWS * 4, &f);
	for (i = 0; i < BATCH * ROWS; i++)
		f[i] = (float)(2.0 * cimfw_rng_uniform(&g) - 1.0);
	r->d = testmem_alloc(&r->mem, BATCH * COLS * 4, &f);
	for (i = 0; i < BATCH * COLS; i++)
		f[i] = (float)(0.2 * cimfw_rng_uniform(&g) - 0.1);
	r->rows = testmem_alloc(&r->mem, 256 * 8, &u);
	for (i = 0; i < 256; i++)
		u[i] = cimfw_rng_next(&g) & 0xff;
	r->out = testmem_alloc(&r->mem, OUT_BYTES, NULL);
}

static void run_fini(struct run *r)
{
	cimfw_destroy(r->fw);
	testmem_fini(&r->mem);
	free(r->cb);
}

static const struct cim_pkt_xbar_window full = { 0, 0, ROWS, 0, COLS };

static void add_vmm(struct run *r, uint16_t op, uint64_t y)
{
	struct cim_pkt_vmm *v = cmdbuf_add(r->cb, op, 0, sizeof(*v));

	v->win = full;
	v->batch = BATCH;
	v->x = op == CIM_OP_VMM_FWD ? r->x : r->d;
	v->y = y;
}

/* Job 0: program with write-verify, then forward and transposed VMMs. */
static void job_crossbar(struct run *r)
{
	struct cim_pkt_xbar_program *p;
	struct cim_pkt_xbar_read *rd;

	r->cb->len = 0;
	p = cmdbuf_add(r->cb, CIM_OP_XBAR_PROGRAM, CIM_PROGRAM_F_REPORT,
		       sizeof(*p));
	p->win = full;
	p->max_iters = 16;
	p->tolerance_f32 = f32_bits(0.5f);
	p->src = r->w;
	p->report = r->out;
	add_vmm(r, CIM_OP_VMM_FWD, r->out + 64);
	add_vmm(r, CIM_OP_VMM_TRANS, r->out + 64 + BATCH * COLS * 4);
	rd = cmdbuf_add(r->cb, CIM_OP_XBAR_READ, 0, sizeof(*rd));
	rd->win = full;
	rd->dst = r->out + 0x10000;
}

/*
 * Job 1: a second idle, two DUU updates with transfers, then a VMM on
 * the result.
 */
static void job_duu(struct run *r)
{
	struct cim_pkt_duu_update *u;
	struct cim_pkt_idle *idle;
	int k;

	r->cb->len = 0;
	idle = cmdbuf_add(r->cb, CIM_OP_IDLE, 0, sizeof(*idle));
	idle->ns = 1000000000;
	for (k = 0; k < 2; k++) {
		u = cmdbuf_add(r->cb, CIM_OP_DUU_UPDATE, CIM_DUU_F_REPORT,
			       sizeof(*u));
		u->win = full;
		u->batch = BATCH;
		u->lr_f32 = f32_bits(0.5f);
		u->n_max = 31;
		u->x = r->x;
		u->d = r->d;
		u->report = r->out + 0x20000 + 32 * k;
	}
	add_vmm(r, CIM_OP_VMM_FWD, r->out + 0x30000);
}

/* Job 2: AP rows, a program of adds, the rows and registers read back. */
static void job_ap(struct run *r)
{
	struct cim_pkt_ap_program *p;
	struct cim_pkt_ap_rows *l;

	r->cb->len = 0;
	l = cmdbuf_add(r->cb, CIM_OP_AP_LOAD_ROWS, 0, sizeof(*l));
	l->nrows = 256;
	l->ncols = 8;
	l->addr = r->rows;
	p = cmdbuf_add(r->cb, CIM_OP_AP_PROGRAM, 0, sizeof(*p) + 32);
	p->ninst = 2;
	p->inst[0].op = CIM_AP_ADD;
	p->inst[0].w[0] = 0;
	p->inst[0].w[1] = 8;
	p->inst[0].w[2] = 8;
	p->inst[0].w[3] = 16;
	p->inst[0].w[4] = 40;
	p->inst[1].op = CIM_AP_TAGCOUNT;
	l = cmdbuf_add(r->cb, CIM_OP_AP_READ, 0, sizeof(*l));
	l->what = CIM_AP_READ_ROWS;
	l->nrows = 256;
	l->col = 8;
	l->ncols = 16;
	l->addr = r->out + 0x40000;
	l = cmdbuf_add(r->cb, CIM_OP_AP_READ, 0, sizeof(*l));
	l->what = CIM_AP_READ_REGS;
	l->addr = r->out + 0x41000;
}

/* Job 3: the counters, through the device. */
static void job_counters(struct run *r)
{
	struct cim_pkt_counters *c;

	r->cb->len = 0;
	c = cmdbuf_add(r->cb, CIM_OP_COUNTERS_READ, 0, sizeof(*c));
	c->size = sizeof(struct cim_counters);
	c->dst = r->out + 0x50000;
}

static void run_jobs(struct run *r)
{
	void (*const jobs[])(struct run *) = {
		job_crossbar, job_duu, job_ap, job_counters,
	};
	unsigned int i;

	memset(testmem_ptr(&r->mem, r->out), 0, OUT_BYTES);
	for (i = 0; i < 4; i++) {
		jobs[i](r);
		ck_assert_int_eq(cmdbuf_run(r->fw, r->cb, &r->mem,
					    &r->done[i]), CIM_ST_OK);
	}
	cimfw_counters(r->fw, &r->counters);
}

static void assert_same(struct run *a, struct run *b)
{
	ck_assert_mem_eq(testmem_ptr(&a->mem, a->out),
			 testmem_ptr(&b->mem, b->out), OUT_BYTES);
	ck_assert_mem_eq(a->done, b->done, sizeof(a->done));
	ck_assert_mem_eq(&a->counters, &b->counters, sizeof(a->counters));
}

START_TEST(test_same_seed_same_bits)
{
	struct run a, b;

	run_init(&a, 7);
	run_init(&b, 7);
	run_jobs(&a);
	run_jobs(&b);
	assert_same(&a, &b);
	/* the jobs really did work */
	ck_assert_uint_gt(a.counters.vmm_fwd, 0);
	ck_assert_uint_gt(a.counters.pulses_pos + a.counters.pulses_neg, 0);
	ck_assert_uint_gt(a.counters.ap_compares, 0);
	run_fini(&a);
	run_fini(&b);
}
END_TEST

START_TEST(test_other_seed_other_bits)
{
	struct run a, b;
	size_t y = 64, n = BATCH * COLS * 4;

	run_init(&a, 7);
	run_init(&b, 8);
	run_jobs(&a);
	run_jobs(&b);
	ck_assert(memcmp((uint8_t *)testmem_ptr(&a.mem, a.out) + y,
			 (uint8_t *)testmem_ptr(&b.mem, b.out) + y, n) != 0);
	run_fini(&a);
	run_fini(&b);
}
END_TEST

START_TEST(test_reset_replays)
{
	struct run a, b;

	run_init(&a, 11);
	run_init(&b, 11);
	run_jobs(&a);
	run_jobs(&b);
	cimfw_reset(b.fw);
	run_jobs(&b);
	assert_same(&a, &b);
	run_fini(&a);
	run_fini(&b);
}
END_TEST

Suite *determinism_suite(void)
{
	Suite *s = suite_create("determinism");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_same_seed_same_bits);
	tcase_add_test(tc, test_other_seed_other_bits);
	tcase_add_test(tc, test_reset_replays);
	suite_add_tcase(s, tc);
	return s;
}
