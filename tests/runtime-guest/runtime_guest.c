// SPDX-License-Identifier: MIT
/*
 * libcim in the guest: every /dev/cimN against its embedded twin (same
 * geometry, seed and cost preset). The same program (write-verify, forward
 * and transposed VMM, DUU updates, AP arithmetic, counters) must give the
 * same bits, energy and device time on both. Also discovery, reset
 * reporting, reservations and fences on the kernel backend. TAP output.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cim.h"

static int test_no, failures;

__attribute__((format(printf, 2, 3)))
static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures += !ok;
}

#define CHECK(expr) do {						\
	int r_ = (expr);						\
	if (r_) {							\
		printf("# %s:%d: %s = %s\n", __FILE__, __LINE__, #expr,	\
		       cim_err_name(r_));				\
		return r_;						\
	}								\
} while (0)

#define NR	64
#define NC	48
#define BATCH	8
#define AP_ROWS	64

/* What one run of the program produced */
struct outputs {
	float y_fwd[BATCH * NC];
	float y_trans[BATCH * NR];
	float w_after[NR * NC];
	float y_after[BATCH * NC];
	struct cim_program_report prog;
	struct cim_duu_report duu;
	uint64_t ap_rows[AP_ROWS];
	uint64_t ap_regs[CIM_AP_NREGS];
	struct cim_counters counters;
	uint64_t energy_fj;
	uint64_t device_time_ps;
};

static void fill(float *v, size_t n, float scale, unsigned int salt)
{
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = scale * (float)((int)((i * 37 + salt) % 101) - 50) / 50.0f;
}

/* Byte offsets of the arrays in the one data buffer */
enum {
	OFF_W = 0,
	OFF_X = OFF_W + NR * NC * 4,
	OFF_D = OFF_X + BATCH * NR * 4,
	OFF_YF = OFF_D + BATCH * NC * 4,
	OFF_YT = OFF_YF + BATCH * NC * 4,
	OFF_WA = OFF_YT + BATCH * NR * 4,
	OFF_YA = OFF_WA + NR * NC * 4,
	OFF_PREP = OFF_YA + BATCH * NC * 4,
	OFF_DREP = OFF_PREP + 16,
	OFF_AP = OFF_DREP + 24,
	OFF_APOUT = OFF_AP + AP_ROWS * 8,
	OFF_REGS = OFF_APOUT + AP_ROWS * 8,
	OFF_CNT = OFF_REGS + CIM_AP_NREGS * 8,
	DATA_SIZE = OFF_CNT + (int)sizeof(struct cim_counters),
};

static int build(struct cim_cmdbuf *cb, struct cim_buffer *b,
		 struct cim_ap_prog *prog)
{
	const struct cim_window win = { 0, 0, NR, 0, NC };
	struct cim_duu_params dp = { .batch = BATCH, .lr = 0.5f, .n_max = 8 };

	CHECK(cim_cmd_xbar_program(cb, &win, b, OFF_W, 16, 0.5f, b, OFF_PREP));
	CHECK(cim_cmd_vmm(cb, CIM_VMM_FWD, &win, BATCH, 0, b, OFF_X, b,
			  OFF_YF));
	CHECK(cim_cmd_vmm(cb, CIM_VMM_TRANS, &win, BATCH, 4.0f, b, OFF_D, b,
			  OFF_YT));
	CHECK(cim_cmd_duu_update(cb, &win, &dp, b, OFF_X, b, OFF_D, b,
				 OFF_DREP));
	CHECK(cim_cmd_xbar_read(cb, &win, CIM_READ_F_WEIGHTS, b, OFF_WA));
	CHECK(cim_cmd_vmm(cb, CIM_VMM_FWD, &win, BATCH, 0, b, OFF_X, b,
			  OFF_YA));
	CHECK(cim_ap_prog_tagop(prog, CIM_AP_TAG_SETALL));
	CHECK(cim_ap_prog_add(prog, 0, 8, 8, 8, 40, 0, 0));
	CHECK(cim_ap_prog_add(prog, 20, 8, 8, 9, 41, 0, CIM_AP_ADD_F_SUB |
			      CIM_AP_ADD_F_SIGNED));
	CHECK(cim_ap_prog_relu(prog, 8, 9));
	CHECK(cim_ap_prog_max(prog, 8, 9, 2));
	CHECK(cim_ap_prog_km_clear(prog));
	CHECK(cim_ap_prog_km_field(prog, 0, 4, 0x5));
	CHECK(cim_ap_prog_compare(prog, CIM_AP_CMP_SET));
	CHECK(cim_ap_prog_tagcount(prog, 3));
	CHECK(cim_ap_prog_firsttag(prog, 4));
	CHECK(cim_ap_prog_shift(prog, 0, 1));
	CHECK(cim_ap_prog_shift(prog, 0, -1));
	CHECK(cim_cmd_ap_load_rows(cb, 0, 0, AP_ROWS, 0, 32, b, OFF_AP));
	CHECK(cim_cmd_ap_program(cb, 0, prog));
	CHECK(cim_cmd_ap_read(cb, 0, CIM_AP_READ_ROWS, 0, AP_ROWS, 0, 64, b,
			      OFF_APOUT));
	CHECK(cim_cmd_ap_read(cb, 0, CIM_AP_READ_REGS, 0, 0, 0, 0, b,
			      OFF_REGS));
	CHECK(cim_cmd_counters_read(cb, b, OFF_CNT));
	return 0;
}

/* The program on @dev, from its reset state; 0 and @out filled */
static int run(struct cim_device *dev, struct outputs *out)
{
	struct cim_job_result res = { 0 };
	struct cim_ap_prog *prog;
	struct cim_cmdbuf *cb;
	struct cim_buffer *b;
	uint64_t *rows;
	char *p;
	int i, ret;

	CHECK(cim_xbar_reserve(dev, 1));
	CHECK(cim_ap_reserve(dev, 1));
	CHECK(cim_buffer_alloc(dev, DATA_SIZE, &b));
	p = cim_buffer_ptr(b);
	fill((float *)(p + OFF_W), NR * NC, 0.9f, 0);
	fill((float *)(p + OFF_X), BATCH * NR, 1.0f, 3);
	fill((float *)(p + OFF_D), BATCH * NC, 0.3f, 7);
	rows = (uint64_t *)(p + OFF_AP);
	for (i = 0; i < AP_ROWS; i++)
		rows[i] = (uint64_t)i * 0x00c3a1f5u;
	ret = cim_cmdbuf_create(dev, &cb);
	if (ret)
		goto fail_cmdbuf;
	ret = cim_ap_prog_create(&prog);
	if (ret)
		goto fail_prog;
	ret = build(cb, b, prog);
	if (!ret)
		ret = cim_run(cb, &res);
	if (ret) {
		printf("# run: %s, status %s, %u commands done\n",
		       cim_err_name(ret), cim_status_name(res.status),
		       res.cmds_done);
		goto fail_run;
	}
	memcpy(out->y_fwd, p + OFF_YF, sizeof(out->y_fwd));
	memcpy(out->y_trans, p + OFF_YT, sizeof(out->y_trans));
	memcpy(out->w_after, p + OFF_WA, sizeof(out->w_after));
	memcpy(out->y_after, p + OFF_YA, sizeof(out->y_after));
	memcpy(&out->prog, p + OFF_PREP, sizeof(out->prog));
	memcpy(&out->duu, p + OFF_DREP, sizeof(out->duu));
	memcpy(out->ap_rows, p + OFF_APOUT, sizeof(out->ap_rows));
	memcpy(out->ap_regs, p + OFF_REGS, sizeof(out->ap_regs));
	memcpy(&out->counters, p + OFF_CNT, sizeof(out->counters));
	out->energy_fj = res.energy_fj;
	out->device_time_ps = res.device_time_ps;
fail_run:
	cim_ap_prog_destroy(prog);
fail_prog:
	cim_cmdbuf_destroy(cb);
fail_cmdbuf:
	cim_buffer_free(b);
	cim_xbar_release(dev, 1);
	cim_ap_release(dev, 1);
	return ret;
}

#define SAME(field) do {						\
	bool eq_ = !memcmp(&k->field, &e->field, sizeof(k->field));	\
	result(eq_, "%s: %s bit-identical", name, #field);		\
} while (0)

static void compare(const char *name, const struct outputs *k,
		    const struct outputs *e)
{
	SAME(y_fwd);
	SAME(y_trans);
	SAME(prog);
	SAME(duu);
	SAME(w_after);
	SAME(y_after);
	SAME(ap_rows);
	SAME(ap_regs);
	SAME(energy_fj);
	SAME(device_time_ps);
	SAME(counters);
	printf("# %s: y_fwd[0] %.6g, %u cells pulsed, energy %llu fJ, %llu ps\n",
	       name, (double)k->y_fwd[0], k->duu.cells_pulsed,
	       (unsigned long long)k->energy_fj,
	       (unsigned long long)k->device_time_ps);
	/* an all-zero run would agree too: make sure it did work */
	result(k->y_fwd[0] != 0.0f && k->duu.cells_pulsed > 0 &&
	       k->ap_regs[3] > 0 && k->energy_fj > 0, "%s: the run did work",
	       name);
}

/* Reset, -ECANCELED once, the same program as on a fresh twin */
static void test_device(const struct cim_device_desc *desc)
{
	struct outputs *k = calloc(2, sizeof(*k)), *e = k + 1;
	struct cim_device *dev, *twin;
	struct cim_info in = { .size = sizeof(in) };
	struct cim_buffer *b;
	struct cim_cmdbuf *cb;
	struct cim_job *j1, *j2;
	int ret, fd;

	ret = cim_device_open(&dev, desc->devnode);
	result(!ret, "%s: open (%s)", desc->name, cim_err_name(ret));
	if (ret)
		goto out;
	cim_device_query(dev, &in);
	printf("# %s: seed %llu, %u crossbars %ux%u, %u APs, preset %u\n",
	       desc->name, (unsigned long long)in.seed, in.xbar_count,
	       in.xbar_rows, in.xbar_cols, in.ap_count, in.cost_preset);
	result(in.backend == CIM_BACKEND_KERNEL &&
	       in.xbar_count == desc->xbar_count, "%s: query", desc->name);

	/* A known state: reset, which the runtime reports once */
	ret = cim_device_reset(dev);
	result(!ret, "%s: reset (%s)", desc->name, cim_err_name(ret));
	ret = cim_device_check(dev);
	result(ret == -ECANCELED, "%s: weights lost reported (%s)", desc->name,
	       cim_err_name(ret));
	ret = cim_device_check(dev);
	result(!ret, "%s: acknowledged (%s)", desc->name, cim_err_name(ret));

	ret = cim_device_open_twin(&twin, dev);
	result(!ret, "%s: embedded twin (%s)", desc->name, cim_err_name(ret));
	if (ret)
		goto out_dev;
	ret = run(dev, k);
	result(!ret, "%s: program on the kernel backend", desc->name);
	ret = ret ? ret : run(twin, e);
	result(!ret, "%s: program on the embedded twin", desc->name);
	if (!ret)
		compare(desc->name, k, e);
	cim_device_close(twin);

	/* Reservations and fences on the kernel backend */
	if (cim_buffer_alloc(dev, 256, &b) || cim_cmdbuf_create(dev, &cb))
		goto out_dev;
	ret = cim_cmd_ap_read(cb, 0, CIM_AP_READ_REGS, 0, 0, 0, 0, b, 0);
	ret = ret ? ret : cim_submit(cb, NULL);
	result(ret == -EACCES, "%s: unreserved unit refused (%s)", desc->name,
	       cim_err_name(ret));
	cim_cmdbuf_reset(cb);
	ret = cim_cmd_fence(cb, b, 8, 0xfeed);
	ret = ret ? ret : cim_submit(cb, &j1);
	ret = ret ? ret : cim_submit(cb, &j2);
	if (!ret) {
		fd = cim_fence_merge(cim_job_fence_fd(j1), cim_job_fence_fd(j2));
		result(fd >= 0 && !cim_fence_wait(fd, 5000) &&
		       !cim_job_wait(j1, 0) && !cim_job_wait(j2, 0) &&
		       ((uint64_t *)cim_buffer_ptr(b))[1] == 0xfeed,
		       "%s: merged sync_file fences signal", desc->name);
		if (fd >= 0)
			close(fd);
		cim_job_release(j1);
		cim_job_release(j2);
	} else {
		result(false, "%s: fence jobs (%s)", desc->name,
		       cim_err_name(ret));
	}
	cim_cmdbuf_destroy(cb);
	cim_buffer_free(b);
out_dev:
	cim_device_close(dev);
out:
	free(k);
}

int main(void)
{
	struct cim_device_desc *list;
	int n, i, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = cim_device_list(&list, &n);
	if (ret || !n) {
		printf("1..0 # SKIP no cim device (%s)\n", cim_err_name(ret));
		return 4;
	}
	/* per device: open, query; reset, check, ack; twin; 2 runs; 12
	 * comparisons; reservation and fences */
	printf("TAP version 13\n1..%d\n", 1 + 22 * n);
	result(list[0].vendor == CIM_PCI_VENDOR_ID &&
	       list[0].device == CIM_PCI_DEVICE_ID && list[0].pci_slot[0],
	       "discovery: %d device(s), %s at %s", n, list[0].name,
	       list[0].pci_slot);
	for (i = 0; i < n; i++)
		test_device(&list[i]);
	cim_device_list_free(list, n);
	return failures ? 1 : 0;
}
