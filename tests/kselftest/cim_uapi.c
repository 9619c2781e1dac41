// SPDX-License-Identifier: GPL-2.0-only
/*
 * The uAPI rules of cim.ko, run in the guest with kselftest_harness.h: the
 * queries, unknown ioctls and struct sizes, buffer objects and their
 * mappings, WAIT's arguments, every check of SUBMIT's validator (one
 * variant of the submit_check fixture per check), and which sysfs files
 * only root may write.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "kselftest_harness.h"

#include "cim_fixture.h"

/* Query and ioctl rules --------------------------------------------------- */

TEST_F(cim, query_device_info)
{
	struct cim_device_info *i = &self->info;
	struct cim_query q = { .query = CIM_QUERY_DEVICE_INFO };

	EXPECT_EQ(CIM_API_MAJOR, i->api_major);
	EXPECT_EQ(CIM_ABI_MAJOR, i->hw_version >> 16);
	EXPECT_GT(i->xbar_count, 0);
	EXPECT_LE(i->xbar_count, CIM_MAX_XBARS);
	EXPECT_GT(i->xbar_rows, 0);
	EXPECT_GT(i->xbar_cols, 0);
	EXPECT_GE(i->adc_bits, CIM_MIN_CONV_BITS);
	EXPECT_GT(i->max_cmdbuf, 8);
	EXPECT_TRUE(i->caps & CIM_DRV_CAP_FENCE_FD);
	/* DEVICE_PRESET (ABI 1.2) names a preset; before, there is none */
	if ((i->hw_version & 0xffff) >= 2) {
		EXPECT_LT(i->device_preset, CIM_DEVICE_PRESET_COUNT);
	} else {
		EXPECT_EQ(CIM_DEVICE_PRESET_NONE, i->device_preset);
	}
	EXPECT_EQ(0, i->pad2);
	/* size 0 asks for the size */
	ASSERT_EQ(0, ioctl(self->fd, CIM_IOCTL_QUERY, &q));
	EXPECT_EQ(sizeof(struct cim_device_info), q.size);
}

TEST_F(cim, query_invalid)
{
	struct cim_device_info info;
	struct cim_query q = {
		.data_ptr = (uintptr_t)&info, .size = sizeof(info),
	};

	q.query = 99;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q.query = CIM_QUERY_DEVICE_INFO;
	q.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q.pad = 0;
	q.flags = CIM_QUERY_F_ACK_RESET;	/* CTX_STATE only */
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q.flags = 0;
	q.data_ptr = 8;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_QUERY, &q));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(cim, unknown_ioctl)
{
	char buf[64] = { 0 };

	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(CIM_IOCTL_BASE, 0x3f, buf), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('x', 0x00, struct cim_query), buf));
	EXPECT_EQ(ENOTTY, errno);
	/* Right number, wrong direction */
	EXPECT_EQ(-1, ioctl(self->fd, _IOR(CIM_IOCTL_BASE, 0x00,
					   struct cim_query), buf));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(cim, struct_size)
{
	struct {
		struct cim_bo_create c;
		__u64 tail;
	} big = { .c.size = PAGE };
	unsigned long newer = _IOWR(CIM_IOCTL_BASE, 0x01, big);
	unsigned long older = _IOWR(CIM_IOCTL_BASE, 0x01, char[16]);
	unsigned long odd = _IOWR(CIM_IOCTL_BASE, 0x01, char[28]);

	/* A newer struct with a zero tail works */
	EXPECT_EQ(0, ioctl(self->fd, newer, &big));
	EXPECT_NE(0, big.c.handle);
	/* ... with a non-zero tail it is refused */
	big.c.handle = 0;
	big.c.mmap_offset = 0;
	big.tail = 1;
	EXPECT_EQ(-1, ioctl(self->fd, newer, &big));
	EXPECT_EQ(E2BIG, errno);
	/* Shorter than the first version, or not a multiple of 8 */
	EXPECT_EQ(-1, ioctl(self->fd, older, &big));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, odd, &big));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(cim, ctx_state_fresh)
{
	struct cim_ctx_state st;

	ASSERT_EQ(0, cim_ctx(self->fd, &st, 0));
	EXPECT_EQ(0, st.flags);
	EXPECT_EQ(0, st.submitted);
	EXPECT_EQ(0, st.xbar_mask);
}

/* Buffer objects ---------------------------------------------------------- */

TEST_F(cim, bo_create_invalid)
{
	struct cim_bo_create c = { .size = 0 };

	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_BO_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	c.size = self->info.max_bo_size + 1;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_BO_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	c.size = ~0ull;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_BO_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	c.size = PAGE;
	c.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_BO_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	c.flags = 0;
	c.handle = 5;	/* an out field given in must be zero */
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_BO_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(cim, bo_mmap)
{
	struct cim_bo_create c = { .size = 2 * PAGE };
	unsigned char *p, *q;

	ASSERT_EQ(0, ioctl(self->fd, CIM_IOCTL_BO_CREATE, &c));
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 c.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, p[0]);		/* zeroed */
	p[PAGE] = 0xa5;
	/* The second page alone, by offset */
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd,
		 c.mmap_offset + PAGE);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0xa5, q[0]);
	munmap(q, PAGE);
	/* Past the end */
	q = mmap(NULL, 3 * PAGE, PROT_READ, MAP_SHARED, self->fd,
		 c.mmap_offset);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, errno);
	/* Private mappings are refused */
	q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, self->fd, c.mmap_offset);
	EXPECT_EQ(MAP_FAILED, q);
	/* Unknown handle */
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd, 999ull << 32);
	EXPECT_EQ(MAP_FAILED, q);
	/* The mapping outlives the handle */
	{
		struct cim_bo_destroy d = { .handle = c.handle };

		EXPECT_EQ(0, ioctl(self->fd, CIM_IOCTL_BO_DESTROY, &d));
		EXPECT_EQ(0xa5, p[PAGE]);
		EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_BO_DESTROY, &d));
		EXPECT_EQ(ENOENT, errno);
	}
	munmap(p, 2 * PAGE);
}

TEST_F(cim, bo_destroy_invalid)
{
	struct cim_bo_destroy d = { .handle = self->cmd.handle, .pad = 1 };

	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_BO_DESTROY, &d));
	EXPECT_EQ(EINVAL, errno);
	d.pad = 0;
	d.handle = 12345;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_BO_DESTROY, &d));
	EXPECT_EQ(ENOENT, errno);
}

/* WAIT's arguments -------------------------------------------------------- */

TEST_F(cim, wait_invalid)
{
	struct cim_wait w = { .seqno = 1 };

	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_WAIT, &w));
	EXPECT_EQ(EINVAL, errno);	/* never issued */
	w.seqno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_WAIT, &w));
	EXPECT_EQ(EINVAL, errno);
	put_nop(self->cmd.map);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, NULL));
	w.seqno = 1;
	w.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_WAIT, &w));
	EXPECT_EQ(EINVAL, errno);
	w.flags = 0;
	w.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_WAIT, &w));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * Submit validation: one case per check. Each case starts from a valid
 * submission (a NOP, size 8, no buffer list) on the fixture's file and
 * breaks one thing; the driver must refuse it with the case's errno (0: a
 * case at the edge that must still be accepted).
 */

FIXTURE(submit_check) {
	int fd;
	struct cim_device_info info;
	struct bo cmd, data;
	__u32 bos[CIM_MAX_SUBMIT_BOS + 1];
};

FIXTURE_VARIANT(submit_check) {
	/* Returns -errno when the case cannot be set up */
	int (*build)(FIXTURE_DATA(submit_check) *self, struct cim_submit *s);
	int err;
};

FIXTURE_SETUP(submit_check)
{
	self->fd = cim_open_dev(0);
	if (self->fd < 0)
		SKIP(return, "no /dev/cim0: %s", strerror(errno));
	ASSERT_EQ(0, cim_info(self->fd, &self->info));
	ASSERT_EQ(0, bo_new(self->fd, PAGE, &self->cmd));
	ASSERT_EQ(0, bo_new(self->fd, 16 * PAGE, &self->data));
	self->bos[0] = self->data.handle;
	put_nop(self->cmd.map);
}

FIXTURE_TEARDOWN(submit_check)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(submit_check, verdict)
{
	struct cim_submit s = {
		.cmdbuf_handle = self->cmd.handle,
		.cmdbuf_size = 8,
	};
	int r;

	r = variant->build(self, &s);
	if (r == -EOPNOTSUPP)
		SKIP(return, "the device predates the ABI of this case");
	ASSERT_EQ(0, r);
	r = ioctl(self->fd, CIM_IOCTL_SUBMIT, &s) ? -errno : 0;
	EXPECT_EQ(-variant->err, r) TH_LOG("submit gave %s", strerror(-r));
}

/* One case: its name, the errno, then the body of its build function */
#define SUBMIT_CASE(name, error)					\
	static int build_##name(FIXTURE_DATA(submit_check) *self,	\
				struct cim_submit *s);			\
	FIXTURE_VARIANT_ADD(submit_check, name) {			\
		.build = build_##name, .err = error,			\
	};								\
	static int build_##name(FIXTURE_DATA(submit_check) __unused *self, \
				struct cim_submit *s)

/* The data BO as the only buffer */
static void with_data(FIXTURE_DATA(submit_check) *self, struct cim_submit *s)
{
	s->bo_handles_ptr = (uintptr_t)self->bos;
	s->bo_count = 1;
}

/* The submission: flags, size, offset, handles ---------------------------- */

SUBMIT_CASE(bad_flags, EINVAL)
{
	s->flags = 2;
	return 0;
}

SUBMIT_CASE(size_zero, EINVAL)
{
	s->cmdbuf_size = 0;
	return 0;
}

SUBMIT_CASE(size_unaligned, EINVAL)
{
	s->cmdbuf_size = 12;
	return 0;
}

SUBMIT_CASE(size_too_big, EINVAL)
{
	s->cmdbuf_size = self->info.max_cmdbuf + 8;
	return 0;
}

SUBMIT_CASE(past_bo_end, EINVAL)
{
	s->cmdbuf_size = 2 * PAGE;
	return 0;
}

SUBMIT_CASE(offset_unaligned, EINVAL)
{
	s->cmdbuf_offset = 4;
	return 0;
}

SUBMIT_CASE(offset_overflow, EINVAL)
{
	s->cmdbuf_offset = 0xfffffff8u;
	return 0;
}

SUBMIT_CASE(bad_cmdbuf_handle, ENOENT)
{
	s->cmdbuf_handle = 777;
	return 0;
}

SUBMIT_CASE(bad_bo_handle, ENOENT)
{
	self->bos[1] = 4242;
	s->bo_handles_ptr = (uintptr_t)self->bos;
	s->bo_count = 2;
	return 0;
}

SUBMIT_CASE(too_many_bos, EINVAL)
{
	unsigned int i;

	for (i = 0; i < CIM_MAX_SUBMIT_BOS + 1; i++)
		self->bos[i] = self->data.handle;
	s->bo_handles_ptr = (uintptr_t)self->bos;
	s->bo_count = CIM_MAX_SUBMIT_BOS + 1;
	return 0;
}

SUBMIT_CASE(bo_ptr_without_count, EINVAL)
{
	s->bo_handles_ptr = (uintptr_t)self->bos;
	return 0;
}

SUBMIT_CASE(bo_ptr_fault, EFAULT)
{
	s->bo_handles_ptr = 8;
	s->bo_count = 1;
	return 0;
}

/* The packet header ------------------------------------------------------- */

SUBMIT_CASE(packet_unknown_opcode, EINVAL)
{
	((struct cim_pkt_hdr *)self->cmd.map)->opcode = 0x7f;
	return 0;
}

/* NOP is a bare header: 16 bytes are too many */
SUBMIT_CASE(packet_size_too_big, EINVAL)
{
	((struct cim_pkt_hdr *)self->cmd.map)->size = 16;
	s->cmdbuf_size = 16;
	return 0;
}

SUBMIT_CASE(packet_size_zero, EINVAL)
{
	((struct cim_pkt_hdr *)self->cmd.map)->size = 0;
	return 0;
}

SUBMIT_CASE(packet_size_unaligned, EINVAL)
{
	((struct cim_pkt_hdr *)self->cmd.map)->size = 12;
	s->cmdbuf_size = 16;
	return 0;
}

/* A FENCE cut short by the end of the buffer */
SUBMIT_CASE(packet_truncated, EINVAL)
{
	struct cim_pkt_fence *f = self->cmd.map;

	f->hdr.opcode = CIM_OP_FENCE;
	f->hdr.flags = 0;
	f->hdr.size = sizeof(*f);
	s->cmdbuf_size = 16;
	return 0;
}

SUBMIT_CASE(packet_bad_flags, EINVAL)
{
	((struct cim_pkt_hdr *)self->cmd.map)->flags = 1;
	return 0;
}

SUBMIT_CASE(counters_reset_refused, EPERM)
{
	((struct cim_pkt_hdr *)self->cmd.map)->opcode = CIM_OP_COUNTERS_RESET;
	return 0;
}

/* Buffer references, in a FENCE to the data BO ---------------------------- */

SUBMIT_CASE(ref_bad_index, EINVAL)
{
	put_fence(self->cmd.map, CIM_REF(1, 0));
	with_data(self, s);
	s->cmdbuf_size = 24;
	return 0;
}

/* The last 8 bytes are fine, one byte further is not */
SUBMIT_CASE(ref_last_word, 0)
{
	put_fence(self->cmd.map, CIM_REF(0, 16 * PAGE - 8));
	with_data(self, s);
	s->cmdbuf_size = 24;
	return 0;
}

SUBMIT_CASE(ref_past_end, EINVAL)
{
	put_fence(self->cmd.map, CIM_REF(0, 16 * PAGE - 4));
	with_data(self, s);
	s->cmdbuf_size = 24;
	return 0;
}

SUBMIT_CASE(ref_offset_overflow, EINVAL)
{
	put_fence(self->cmd.map, CIM_REF(0, 0xfffffff8u));
	with_data(self, s);
	s->cmdbuf_size = 24;
	return 0;
}

SUBMIT_CASE(ref_unaligned, EINVAL)
{
	put_fence(self->cmd.map, CIM_REF(0, 4));
	with_data(self, s);
	s->cmdbuf_size = 24;
	return 0;
}

/* A bus address is not a reference: its high half is no index */
SUBMIT_CASE(ref_raw_address, EINVAL)
{
	put_fence(self->cmd.map, 0x100000000ull * 7 + 0x1000);
	with_data(self, s);
	s->cmdbuf_size = 24;
	return 0;
}

/* A VMM: the crossbar, its window, the batch, the output ------------------ */

/* A VMM of crossbar @xbar; crossbar 0 reserved unless @reserved is false */
static int vmm_case(FIXTURE_DATA(submit_check) *self, struct cim_submit *s,
		    bool reserved, __u32 xbar, __u32 nrows, __u32 batch,
		    __u64 y)
{
	put_vmm(self->cmd.map, xbar, nrows, 4, batch, CIM_REF(0, 0), y);
	with_data(self, s);
	s->cmdbuf_size = sizeof(struct cim_pkt_vmm);
	return reserved ? reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1) : 0;
}

SUBMIT_CASE(xbar_not_reserved, EACCES)
{
	return vmm_case(self, s, false, 0, 4, 1, CIM_REF(0, 64));
}

SUBMIT_CASE(xbar_rows_out_of_range, EINVAL)
{
	return vmm_case(self, s, true, 0, self->info.xbar_rows + 1, 1,
			CIM_REF(0, 8192));
}

SUBMIT_CASE(xbar_index_out_of_range, EINVAL)
{
	return vmm_case(self, s, true, self->info.xbar_count, 4, 1,
			CIM_REF(0, 64));
}

SUBMIT_CASE(vmm_batch_zero, EINVAL)
{
	return vmm_case(self, s, true, 0, 4, 0, CIM_REF(0, 64));
}

SUBMIT_CASE(vmm_batch_too_big, EINVAL)
{
	return vmm_case(self, s, true, 0, 4, self->info.max_batch + 1,
			CIM_REF(0, 64));
}

/* 4 outputs of 4 bytes need 16 bytes; only 12 are left */
SUBMIT_CASE(vmm_output_past_end, EINVAL)
{
	return vmm_case(self, s, true, 0, 4, 1, CIM_REF(0, 16 * PAGE - 12));
}

/* ABI 1.2: IDLE, XBAR_PROGRAM's tolerance in uS and residual report ------- */

/* An IDLE of @ns with header flags @flags; -EOPNOTSUPP before ABI 1.2 */
static int idle_case(FIXTURE_DATA(submit_check) *self, struct cim_submit *s,
		     __u16 flags, __u64 ns)
{
	struct cim_pkt_idle *k = self->cmd.map;

	if ((self->info.hw_version & 0xffff) < 2)
		return -EOPNOTSUPP;
	memset(k, 0, sizeof(*k));
	k->hdr.opcode = CIM_OP_IDLE;
	k->hdr.flags = flags;
	k->hdr.size = sizeof(*k);
	k->ns = ns;
	s->cmdbuf_size = sizeof(*k);
	return 0;
}

SUBMIT_CASE(idle_one_ns, 0)
{
	return idle_case(self, s, 0, 1);
}

SUBMIT_CASE(idle_max_ns, 0)
{
	return idle_case(self, s, 0, CIM_MAX_IDLE_NS);
}

SUBMIT_CASE(idle_zero_ns, EINVAL)
{
	return idle_case(self, s, 0, 0);
}

SUBMIT_CASE(idle_past_max_ns, EINVAL)
{
	return idle_case(self, s, 0, CIM_MAX_IDLE_NS + 1);
}

SUBMIT_CASE(idle_bad_flags, EINVAL)
{
	return idle_case(self, s, 1, 1);
}

/* IDLE is a 16-byte packet */
SUBMIT_CASE(idle_size_too_big, EINVAL)
{
	int r = idle_case(self, s, 0, 1);

	((struct cim_pkt_idle *)self->cmd.map)->hdr.size = 24;
	s->cmdbuf_size = 24;
	return r;
}

/*
 * A 2 x 2 XBAR_PROGRAM of crossbar 0 with header flags @flags, weights at
 * the start of the data BO and the report at @report; -EOPNOTSUPP before
 * ABI 1.2
 */
static int program_case(FIXTURE_DATA(submit_check) *self,
			struct cim_submit *s, __u16 flags, __u64 report)
{
	struct cim_pkt_xbar_program *k = self->cmd.map;

	if ((self->info.hw_version & 0xffff) < 2)
		return -EOPNOTSUPP;
	memset(self->data.map, 0, 16);
	put_program(k, 2, 2, CIM_REF(0, 0));
	k->hdr.flags = flags;
	k->report = report;
	if (flags & CIM_PROGRAM_F_TOL_US)
		k->tolerance_f32 = f32_bits(1.0f);
	with_data(self, s);
	s->cmdbuf_size = sizeof(*k);
	return reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1);
}

SUBMIT_CASE(program_tol_us, 0)
{
	return program_case(self, s, CIM_PROGRAM_F_TOL_US, 0);
}

SUBMIT_CASE(program_unknown_flag, EINVAL)
{
	return program_case(self, s, CIM_PROGRAM_VALID_FLAGS + 1, 0);
}

/* One report or the other, never both */
SUBMIT_CASE(program_report_and_residual, EINVAL)
{
	return program_case(self, s,
			    CIM_PROGRAM_F_REPORT | CIM_PROGRAM_F_RESIDUAL,
			    CIM_REF(0, 8 * PAGE));
}

/* The residual report fits in the buffer's last bytes ... */
SUBMIT_CASE(program_residual_last_bytes, 0)
{
	return program_case(self, s, CIM_PROGRAM_F_RESIDUAL,
			    CIM_REF(0, 16 * PAGE -
				    sizeof(struct cim_program_residual)));
}

/* ... but not where only the plain report would */
SUBMIT_CASE(program_residual_past_end, EINVAL)
{
	return program_case(self, s, CIM_PROGRAM_F_RESIDUAL,
			    CIM_REF(0, 16 * PAGE -
				    sizeof(struct cim_program_report)));
}

SUBMIT_CASE(program_report_last_bytes, 0)
{
	return program_case(self, s, CIM_PROGRAM_F_REPORT,
			    CIM_REF(0, 16 * PAGE -
				    sizeof(struct cim_program_report)));
}

/* sysfs: writes are root's ------------------------------------------------ */

TEST(sysfs_root_only)
{
	struct cim_submit s;
	struct cim_wait w;
	struct bo cmd;
	pid_t pid;
	int status, fd;

	if (access("/sys/class/misc/cim0", F_OK))
		SKIP(return, "no cim0");
	/*
	 * One job first: a reset (cim_recovery) clears the device's counters,
	 * and the check of "jobs" below must not depend on what ran before
	 */
	fd = cim_open_dev(0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	close(fd);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		int bad = 0;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		bad |= sysfs_write(0, "job_timeout_ms", "1000") != -EACCES;
		bad |= (sysfs_write(0, "reset", "1") != -EACCES) << 1;
		/* Reading stays open to all, counters included */
		bad |= (sysfs_read(0, "job_timeout_ms") < 100) << 2;
		bad |= (counter_read(0, "jobs") < 1) << 3;
		_exit(bad ? 10 + bad : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* root may, within the range */
	EXPECT_EQ(0, sysfs_write(0, "job_timeout_ms", "5000"));
	EXPECT_EQ(-ERANGE, sysfs_write(0, "job_timeout_ms", "600001"));
	EXPECT_EQ(-EINVAL, sysfs_write(0, "job_timeout_ms", "abc"));
	EXPECT_EQ(-EINVAL, sysfs_write(0, "reset", "0"));
}

TEST_HARNESS_MAIN
