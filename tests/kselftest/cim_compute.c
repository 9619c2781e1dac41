// SPDX-License-Identifier: GPL-2.0-only
/*
 * What cim.ko computes, run in the guest with kselftest_harness.h: NOP jobs
 * and their fences (packet, sync_file, merged), a VMM against a CPU
 * reference, a DUU update then a VMM, an update of identity x, AP addition
 * against an integer reference, and the device counters that count them.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libsync.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "kselftest_harness.h"

#include "cim_fixture.h"

/* Jobs -------------------------------------------------------------------- */

TEST_F(cim, nop_submit_wait)
{
	struct cim_submit s;
	struct cim_wait w;
	struct cim_ctx_state st;

	put_nop(self->cmd.map);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	EXPECT_EQ(1, s.seqno);
	EXPECT_EQ(-1, s.fence_fd);
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(1, w.cmds_done);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	EXPECT_EQ(2, s.seqno);
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	/* A finished job polls as done */
	w.timeout_ns = 0;
	EXPECT_EQ(0, ioctl(self->fd, CIM_IOCTL_WAIT, &w));
	ASSERT_EQ(0, cim_ctx(self->fd, &st, 0));
	EXPECT_EQ(2, st.submitted);
	EXPECT_EQ(2, st.completed);
}

TEST_F(cim, fence_packet_patched)
{
	struct cim_pkt_fence *f = self->cmd.map;
	__u32 bos[] = { self->data.handle };
	struct cim_submit s;
	struct cim_wait w;

	f->hdr.opcode = CIM_OP_FENCE;
	f->hdr.flags = 0;
	f->hdr.size = sizeof(*f);
	f->addr = CIM_REF(0, 64);
	f->value = 0x1122334455667788ull;
	ASSERT_EQ(0, submit(self->fd, &self->cmd, sizeof(*f), bos, 1, 0, &s));
	/* The driver copied the packet: changing it now changes nothing */
	f->addr = CIM_REF(0, 128);
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(0x1122334455667788ull, ((__u64 *)self->data.map)[8]);
	EXPECT_EQ(0, ((__u64 *)self->data.map)[16]);
}

TEST_F(cim, fence_fd)
{
	struct cim_submit s;
	struct pollfd pfd;
	struct cim_wait w;

	put_nop(self->cmd.map);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0,
			    CIM_SUBMIT_FENCE_OUT, &s));
	ASSERT_GE(s.fence_fd, 0);
	EXPECT_EQ(0, sync_wait(s.fence_fd, 5000));
	pfd.fd = s.fence_fd;
	pfd.events = POLLIN;
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_TRUE(pfd.revents & POLLIN);
	EXPECT_EQ(FD_CLOEXEC, fcntl(s.fence_fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 0, &w));
	close(s.fence_fd);
}

TEST_F(cim, fence_merge)
{
	struct cim_submit a, b;
	int m;

	put_nop(self->cmd.map);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0,
			    CIM_SUBMIT_FENCE_OUT, &a));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0,
			    CIM_SUBMIT_FENCE_OUT, &b));
	m = sync_merge("cim", a.fence_fd, b.fence_fd);
	ASSERT_GE(m, 0);
	EXPECT_EQ(0, sync_wait(m, 5000));
	close(m);
	close(a.fence_fd);
	close(b.fence_fd);
}

/* Compute: VMM against a CPU reference ------------------------------------ */

TEST_F(cim, vmm_reference)
{
	const unsigned int R = self->info.xbar_rows < 16 ? self->info.xbar_rows : 16;
	const unsigned int C = self->info.xbar_cols < 8 ? self->info.xbar_cols : 8;
	const unsigned int B = 4;
	__u32 bos[] = { self->data.handle };
	float *w = self->data.map;			/* R*C at 0 */
	float *rd = (float *)((char *)self->data.map + 4 * PAGE);
	float *x = (float *)((char *)self->data.map + 8 * PAGE);
	float *y = (float *)((char *)self->data.map + 12 * PAGE);
	unsigned char *c = self->cmd.map;
	struct cim_submit s;
	struct cim_wait wt;
	unsigned int i, j, b, off = 0;
	double worst = 0;

	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	srand(7);
	for (i = 0; i < R * C; i++)
		w[i] = (float)((rand() % 2001) - 1000) / 1000.0f;
	for (i = 0; i < B * R; i++)
		x[i] = (float)((rand() % 2001) - 1000) / 1000.0f;

	put_program(c, R, C, CIM_REF(0, 0));
	off += sizeof(struct cim_pkt_xbar_program);
	put_read(c + off, R, C, CIM_REF(0, 4 * PAGE));
	off += sizeof(struct cim_pkt_xbar_read);
	put_vmm(c + off, 0, R, C, B, CIM_REF(0, 8 * PAGE), CIM_REF(0, 12 * PAGE));
	off += sizeof(struct cim_pkt_vmm);

	ASSERT_EQ(0, submit(self->fd, &self->cmd, off, bos, 1, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 20000, &wt));
	ASSERT_EQ(CIM_ST_OK, wt.status) TH_LOG("packet at %u field %u",
					       wt.error_offset, wt.error_field);
	EXPECT_EQ(3, wt.cmds_done);
	EXPECT_GT(wt.energy_fj, 0);

	for (b = 0; b < B; b++) {
		double ref[64], full = 0, adc = (1 << (self->info.adc_bits - 1)) - 1;

		for (j = 0; j < C; j++) {
			ref[j] = 0;
			for (i = 0; i < R; i++)
				ref[j] += (double)x[b * R + i] * rd[i * C + j];
			if (fabs(ref[j]) > full)
				full = fabs(ref[j]);
		}
		for (j = 0; j < C; j++) {
			/*
			 * ADC step, DAC quantisation, and read noise of
			 * 0.02 full scale (the default) at 5 sigma
			 */
			double tol = 2 * full / adc + 0.1 * full + 1e-6;
			double err = fabs(y[b * C + j] - ref[j]);

			if (err / (full + 1e-9) > worst)
				worst = err / (full + 1e-9);
			EXPECT_LE(err, tol) TH_LOG("b %u j %u: %f vs %f", b, j,
						   y[b * C + j], ref[j]);
		}
	}
	TH_LOG("worst error %.4f of full scale", worst);
	/* Most programmed weights are near their targets (some cells stick) */
	for (i = 0, j = 0; i < R * C; i++)
		j += fabs(rd[i] - w[i]) <= 0.05;
	EXPECT_GE(j, R * C * 9 / 10) TH_LOG("%u of %u cells on target", j,
					    R * C);
}

/* Compute: a DUU update moves the weights, the VMM sees it ---------------- */

/* a DUU update of the R x C window at 0 of crossbar 0, lr 0.2, 16 pulses */
static struct cim_pkt_duu_update *put_duu(void *p, __u16 flags, __u32 nrows,
					  __u32 ncols, __u32 batch, __u64 x,
					  __u64 d)
{
	struct cim_pkt_duu_update *u = p;

	memset(u, 0, sizeof(*u));
	u->hdr.opcode = CIM_OP_DUU_UPDATE;
	u->hdr.flags = flags;
	u->hdr.size = sizeof(*u);
	u->win.nrows = nrows;
	u->win.ncols = ncols;
	u->batch = batch;
	u->lr_f32 = f32_bits(0.2f);
	u->n_max = 16;
	u->x = x;
	u->d = d;
	return u;
}

TEST_F(cim, update_then_vmm)
{
	const unsigned int R = 8, C = 8;
	__u32 bos[] = { self->data.handle };
	char *d0 = self->data.map;
	float *w = (float *)d0;				/* R*C at 0 */
	float *w0 = (float *)(d0 + 1 * PAGE);		/* weights before */
	float *w1 = (float *)(d0 + 2 * PAGE);		/* weights after */
	float *x = (float *)(d0 + 3 * PAGE);		/* R ones */
	float *dv = (float *)(d0 + 4 * PAGE);		/* C errors */
	float *y0 = (float *)(d0 + 5 * PAGE);
	float *y1 = (float *)(d0 + 6 * PAGE);
	struct cim_duu_report *rep = (void *)(d0 + 7 * PAGE);
	unsigned char *c = self->cmd.map;
	struct cim_pkt_duu_update *u;
	double up = 0, down = 0, yup = 0, ydown = 0;
	long pulses;
	struct cim_submit s;
	struct cim_wait wt;
	unsigned int i, j, off = 0;

	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	for (i = 0; i < R * C; i++)
		w[i] = 0;
	for (i = 0; i < R; i++)
		x[i] = 1;
	/* chi -= lr x d: d > 0 lowers a column's weights, d < 0 raises them */
	for (j = 0; j < C; j++)
		dv[j] = j < C / 2 ? 1 : -1;
	pulses = counter_read(0, "pulses_pos") + counter_read(0, "pulses_neg");

	put_program(c + off, R, C, CIM_REF(0, 0));
	off += sizeof(struct cim_pkt_xbar_program);
	put_read(c + off, R, C, CIM_REF(0, 1 * PAGE));
	off += sizeof(struct cim_pkt_xbar_read);
	put_vmm(c + off, 0, R, C, 1, CIM_REF(0, 3 * PAGE), CIM_REF(0, 5 * PAGE));
	off += sizeof(struct cim_pkt_vmm);
	u = put_duu(c + off, CIM_DUU_F_REPORT, R, C, 1, CIM_REF(0, 3 * PAGE),
		    CIM_REF(0, 4 * PAGE));
	u->report = CIM_REF(0, 7 * PAGE);
	off += sizeof(*u);
	put_read(c + off, R, C, CIM_REF(0, 2 * PAGE));
	off += sizeof(struct cim_pkt_xbar_read);
	put_vmm(c + off, 0, R, C, 1, CIM_REF(0, 3 * PAGE), CIM_REF(0, 6 * PAGE));
	off += sizeof(struct cim_pkt_vmm);

	ASSERT_EQ(0, submit(self->fd, &self->cmd, off, bos, 1, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 20000, &wt));
	ASSERT_EQ(CIM_ST_OK, wt.status) TH_LOG("packet at %u field %u",
					       wt.error_offset, wt.error_field);
	EXPECT_EQ(6, wt.cmds_done);
	EXPECT_GT(rep->cells_pulsed, R * C / 2);
	EXPECT_GT(rep->pulses_pos, 0);
	EXPECT_GT(rep->pulses_neg, 0);
	for (i = 0; i < R; i++)
		for (j = 0; j < C; j++) {
			double dw = w1[i * C + j] - w0[i * C + j];

			if (j < C / 2)
				down += dw;
			else
				up += dw;
		}
	for (j = 0; j < C; j++) {
		if (j < C / 2)
			ydown += y1[j] - y0[j];
		else
			yup += y1[j] - y0[j];
	}
	TH_LOG("mean dw: %+.4f / %+.4f, dy: %+.4f / %+.4f", up / (R * C / 2),
	       down / (R * C / 2), yup / (C / 2), ydown / (C / 2));
	EXPECT_GT(up, 0);
	EXPECT_LT(down, 0);
	EXPECT_GT(yup, 0);
	EXPECT_LT(ydown, 0);
	/* The device's pulse counters, read through sysfs, saw them */
	EXPECT_GE(counter_read(0, "pulses_pos") + counter_read(0, "pulses_neg"),
		  pulses + rep->pulses_pos + rep->pulses_neg);
}

/*
 * An identity x (CIM_DUU_F_X_IDENTITY): d is the update itself, x is not
 * read, so the driver refuses an address in it; the weights move against
 * d, and the DUU counts one product per cell.
 */
TEST_F(cim, update_identity)
{
	const unsigned int R = 8, C = 8;
	__u32 bos[] = { self->data.handle };
	char *d0 = self->data.map;
	float *w = (float *)d0;				/* R*C at 0 */
	float *w0 = (float *)(d0 + 1 * PAGE);		/* weights before */
	float *w1 = (float *)(d0 + 2 * PAGE);		/* weights after */
	float *g = (float *)(d0 + 3 * PAGE);		/* R*C update */
	unsigned char *c = self->cmd.map;
	struct cim_pkt_duu_update *u;
	unsigned int i, off = 0, against = 0;
	long macs = counter_read(0, "duu_macs");
	struct cim_submit s;
	struct cim_wait wt;

	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	for (i = 0; i < R * C; i++) {
		w[i] = 0;
		g[i] = i % 2 ? 1 : -1;
	}
	put_program(c + off, R, C, CIM_REF(0, 0));
	off += sizeof(struct cim_pkt_xbar_program);
	put_read(c + off, R, C, CIM_REF(0, 1 * PAGE));
	off += sizeof(struct cim_pkt_xbar_read);
	/* refused: x is not read */
	u = put_duu(c + off, CIM_DUU_F_X_IDENTITY, R, C, R,
		    CIM_REF(0, 3 * PAGE), CIM_REF(0, 3 * PAGE));
	off += sizeof(*u);
	put_read(c + off, R, C, CIM_REF(0, 2 * PAGE));
	off += sizeof(struct cim_pkt_xbar_read);

	EXPECT_EQ(-EINVAL, submit(self->fd, &self->cmd, off, bos, 1, 0, &s));
	u->x = 0;
	ASSERT_EQ(0, submit(self->fd, &self->cmd, off, bos, 1, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 20000, &wt));
	ASSERT_EQ(CIM_ST_OK, wt.status) TH_LOG("packet at %u field %u",
					       wt.error_offset, wt.error_field);
	for (i = 0; i < R * C; i++)
		against += (w1[i] - w0[i]) * g[i] < 0;
	EXPECT_GT(against, R * C / 2);
	EXPECT_EQ(macs + R * C, counter_read(0, "duu_macs"));
}

/*
 * ABI 1.2: write-verify to a tolerance in microsiemens with the residual
 * report, then a day of IDLE; the report counts every cell, its histogram
 * holds them all, and its errors are consistent with each other.
 */
TEST_F(cim, program_residual_idle)
{
	const unsigned int R = 8, C = 8;
	__u32 bos[] = { self->data.handle };
	char *d0 = self->data.map;
	float *w = (float *)d0;
	struct cim_program_residual *res = (void *)(d0 + 1 * PAGE);
	unsigned char *c = self->cmd.map;
	struct cim_pkt_xbar_program *pp = (void *)c;
	struct cim_pkt_idle *idle = (void *)(c + sizeof(*pp));
	float mean, rms, max;
	unsigned int i, n = 0;
	struct cim_submit s;
	struct cim_wait wt;

	if ((self->info.hw_version & 0xffff) < 2)
		SKIP(return, "device ABI %u.%u, before 1.2",
		     self->info.hw_version >> 16,
		     self->info.hw_version & 0xffff);
	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	for (i = 0; i < R * C; i++)
		w[i] = (float)((int)(i % 9) - 4) / 4.0f;
	put_program(pp, R, C, CIM_REF(0, 0));
	pp->hdr.flags = CIM_PROGRAM_F_TOL_US | CIM_PROGRAM_F_RESIDUAL;
	pp->tolerance_f32 = f32_bits(1.0f);
	pp->report = CIM_REF(0, 1 * PAGE);
	memset(idle, 0, sizeof(*idle));
	idle->hdr.opcode = CIM_OP_IDLE;
	idle->hdr.size = sizeof(*idle);
	idle->ns = 86400ull * 1000000000ull;

	ASSERT_EQ(0, submit(self->fd, &self->cmd, sizeof(*pp) + sizeof(*idle),
			    bos, 1, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 20000, &wt));
	ASSERT_EQ(CIM_ST_OK, wt.status) TH_LOG("packet at %u field %u",
					       wt.error_offset, wt.error_field);
	EXPECT_EQ(2, wt.cmds_done);
	EXPECT_EQ(R * C, res->rep.cells);
	for (i = 0; i < CIM_PROGRAM_HIST_BINS; i++)
		n += res->hist[i];
	EXPECT_EQ(R * C, n);
	memcpy(&mean, &res->mean_f32, 4);
	memcpy(&rms, &res->rms_f32, 4);
	memcpy(&max, &res->max_f32, 4);
	EXPECT_LE(fabsf(mean), rms * 1.0001f);
	EXPECT_LE(rms, max * 1.0001f);
}

/* Compute: AP addition against an integer reference ----------------------- */

TEST_F(cim, ap_add_reference)
{
	const unsigned int N = 64;
	__u32 bos[] = { self->data.handle };
	__u64 *rows = self->data.map;			/* N words at 0 */
	__u64 *out = (__u64 *)((char *)self->data.map + PAGE);
	unsigned char *c = self->cmd.map;
	struct cim_pkt_ap_rows *ld, *rd;
	struct cim_pkt_ap_program *pg;
	__u32 a[64], b[64];
	struct cim_submit s;
	struct cim_wait wt;
	unsigned int i, off = 0, bad = 0;

	if (!self->info.ap_count || self->info.ap_cols < 24 ||
	    self->info.ap_rows < N)
		SKIP(return, "no AP of 64 rows and 24 columns");
	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_AP_RESERVE, 1));
	srand(11);
	/* A: columns 0..7; B: columns 8..16 (9 bits); carry: column 20 */
	for (i = 0; i < N; i++) {
		a[i] = rand() & 0xff;
		b[i] = rand() & 0xff;
		rows[i] = a[i] | (__u64)b[i] << 8;
	}
	ld = (void *)c;
	memset(ld, 0, sizeof(*ld));
	ld->hdr.opcode = CIM_OP_AP_LOAD_ROWS;
	ld->hdr.size = sizeof(*ld);
	ld->nrows = N;
	ld->ncols = 24;
	ld->addr = CIM_REF(0, 0);
	off += sizeof(*ld);
	pg = (void *)(c + off);
	memset(pg, 0, sizeof(*pg) + 2 * sizeof(struct cim_ap_inst));
	pg->hdr.opcode = CIM_OP_AP_PROGRAM;
	pg->hdr.size = sizeof(*pg) + 2 * sizeof(struct cim_ap_inst);
	pg->ninst = 2;
	pg->inst[0].op = CIM_AP_TAGOP;
	pg->inst[0].arg = CIM_AP_TAG_ROWEN_ALL;
	pg->inst[1].op = CIM_AP_ADD;
	pg->inst[1].w[0] = 0;	/* A at column 0 */
	pg->inst[1].w[1] = 8;	/* of 8 bits */
	pg->inst[1].w[2] = 8;	/* B at column 8 */
	pg->inst[1].w[3] = 9;	/* of 9 bits */
	pg->inst[1].w[4] = 20;	/* carry */
	off += pg->hdr.size;
	rd = (void *)(c + off);
	memset(rd, 0, sizeof(*rd));
	rd->hdr.opcode = CIM_OP_AP_READ;
	rd->hdr.size = sizeof(*rd);
	rd->what = CIM_AP_READ_ROWS;
	rd->nrows = N;
	rd->ncols = 24;
	rd->addr = CIM_REF(0, PAGE);
	off += sizeof(*rd);

	ASSERT_EQ(0, submit(self->fd, &self->cmd, off, bos, 1, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 20000, &wt));
	ASSERT_EQ(CIM_ST_OK, wt.status) TH_LOG("packet at %u field %u",
					       wt.error_offset, wt.error_field);
	for (i = 0; i < N; i++) {
		__u32 sum = (out[i] >> 8) & 0x1ff;

		if ((out[i] & 0xff) != a[i] || sum != a[i] + b[i]) {
			bad++;
			TH_LOG("row %u: %u + %u gave %u (A now %u)", i, a[i],
			       b[i], sum, (unsigned int)(out[i] & 0xff));
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_GT(counter_read(0, "ap_writes"), 0);
}

/* The device counters, read through sysfs --------------------------------- */

TEST_F(cim, sysfs_counters)
{
	long jobs, adc, t;
	char path[128], buf[512];
	__u32 bos[] = { self->data.handle };
	struct cim_submit s;
	struct cim_wait w;
	int fd, n, i;

	jobs = counter_read(0, "jobs");
	ASSERT_GE(jobs, 0);
	put_nop(self->cmd.map);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	/* The read queues behind them, so it counts all five (and itself) */
	EXPECT_GE(counter_read(0, "jobs"), jobs + 6);
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));

	adc = counter_read(0, "adc_conversions");
	t = counter_read(0, "device_time_ps");
	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	put_vmm(self->cmd.map, 0, 4, 4, 2, CIM_REF(0, 0), CIM_REF(0, 64));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, sizeof(struct cim_pkt_vmm),
			    bos, 1, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_GE(counter_read(0, "adc_conversions"), adc + 8);
	EXPECT_GT(counter_read(0, "device_time_ps"), t);

	/* Per-unit arrays: CIM_UNIT_COUNT numbers */
	snprintf(path, sizeof(path), "/sys/class/misc/cim0/counters/energy_fj");
	fd = open(path, O_RDONLY);
	ASSERT_GE(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_GT(n, 0);
	buf[n] = 0;
	for (i = 0, n = 0; buf[i]; i++)
		n += buf[i] == ' ';
	EXPECT_EQ(CIM_UNIT_COUNT - 1, n) TH_LOG("energy_fj: %s", buf);
	EXPECT_GT(strtoull(buf + 0, NULL, 10) + 0ull, 0) TH_LOG("%s", buf);
	EXPECT_GE(sysfs_read(0, "jobs_submitted"), sysfs_read(0, "jobs_completed"));
	EXPECT_GE(sysfs_read(0, "busy_time_us"), 0);
}

TEST_HARNESS_MAIN
