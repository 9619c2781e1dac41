// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device tests of cim.ko, run in the guest with kselftest_harness.h: the
 * uAPI rules, buffer objects, submit validation (one test per check), jobs,
 * fences, a VMM against a CPU reference, a DUU update then a VMM, AP
 * addition against an integer reference, isolation between files, signals
 * during WAIT, a full ring, hang recovery, a PCI function reset and the
 * other injected faults, the reset uevent, sysfs (counters, root-only
 * writes), closing and SIGKILL with jobs in flight, rmmod while open, and
 * two devices at once.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include <libsync.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "kselftest_harness.h"

#include "cim_util.h"

/* The fixture: /dev/cim0 open, its info, a command BO and a data BO ------ */

FIXTURE(cim) {
	int fd;
	struct cim_device_info info;
	struct bo cmd, data;
};

FIXTURE_SETUP(cim)
{
	self->fd = cim_open_dev(0);
	if (self->fd < 0)
		SKIP(return, "no /dev/cim0: %s", strerror(errno));
	ASSERT_EQ(0, cim_info(self->fd, &self->info));
	ASSERT_EQ(0, bo_new(self->fd, PAGE, &self->cmd));
	ASSERT_EQ(0, bo_new(self->fd, 16 * PAGE, &self->data));
}

FIXTURE_TEARDOWN(cim)
{
	if (self->fd >= 0)
		close(self->fd);
}

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
	EXPECT_TRUE(i->caps & CIM_CAP_FENCE_FD);
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

/* Submit validation: one test per check ----------------------------------- */

#define EXPECT_SUBMIT_ERR(err, ...) do {				\
	int __r = submit(__VA_ARGS__);					\
	EXPECT_EQ(-(err), __r) TH_LOG("submit gave %s", strerror(-__r)); \
} while (0)

TEST_F(cim, submit_bad_flags)
{
	put_nop(self->cmd.map);
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 8, NULL, 0, 2, NULL);
}

TEST_F(cim, submit_size_zero)
{
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 0, NULL, 0, 0, NULL);
}

TEST_F(cim, submit_size_unaligned)
{
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 12, NULL, 0, 0, NULL);
}

TEST_F(cim, submit_size_too_big)
{
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd,
			  self->info.max_cmdbuf + 8, NULL, 0, 0, NULL);
}

TEST_F(cim, submit_past_bo_end)
{
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 2 * PAGE, NULL, 0, 0,
			  NULL);
}

TEST_F(cim, submit_offset_unaligned_and_overflow)
{
	struct cim_submit s = {
		.cmdbuf_handle = self->cmd.handle,
		.cmdbuf_size = 8, .cmdbuf_offset = 4,
	};

	put_nop(self->cmd.map);
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_SUBMIT, &s));
	EXPECT_EQ(EINVAL, errno);
	s.cmdbuf_offset = 0xfffffff8u;
	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_SUBMIT, &s));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(cim, submit_bad_cmdbuf_handle)
{
	struct bo fake = { .handle = 777 };

	EXPECT_SUBMIT_ERR(ENOENT, self->fd, &fake, 8, NULL, 0, 0, NULL);
}

TEST_F(cim, submit_bad_bo_handle)
{
	__u32 bos[] = { self->data.handle, 4242 };

	put_nop(self->cmd.map);
	EXPECT_SUBMIT_ERR(ENOENT, self->fd, &self->cmd, 8, bos, 2, 0, NULL);
}

TEST_F(cim, submit_too_many_bos)
{
	__u32 bos[CIM_MAX_SUBMIT_BOS + 1];
	unsigned int i;

	for (i = 0; i < CIM_MAX_SUBMIT_BOS + 1; i++)
		bos[i] = self->data.handle;
	put_nop(self->cmd.map);
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 8, bos,
			  CIM_MAX_SUBMIT_BOS + 1, 0, NULL);
}

TEST_F(cim, submit_bo_ptr_without_count)
{
	__u32 bos[] = { self->data.handle };

	put_nop(self->cmd.map);
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 8, bos, 0, 0, NULL);
}

TEST_F(cim, submit_bo_ptr_fault)
{
	put_nop(self->cmd.map);
	EXPECT_SUBMIT_ERR(EFAULT, self->fd, &self->cmd, 8, (__u32 *)8, 1, 0,
			  NULL);
}

TEST_F(cim, packet_unknown_opcode)
{
	struct cim_pkt_hdr *h = self->cmd.map;

	put_nop(h);
	h->opcode = 0x7f;
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 8, NULL, 0, 0, NULL);
}

TEST_F(cim, packet_bad_size)
{
	struct cim_pkt_hdr *h = self->cmd.map;

	put_nop(h);
	h->size = 16;		/* NOP is a bare header */
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 16, NULL, 0, 0, NULL);
	h->size = 0;
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 8, NULL, 0, 0, NULL);
	h->size = 12;
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 16, NULL, 0, 0, NULL);
}

TEST_F(cim, packet_truncated)
{
	struct cim_pkt_fence *f = self->cmd.map;

	f->hdr.opcode = CIM_OP_FENCE;
	f->hdr.flags = 0;
	f->hdr.size = sizeof(*f);
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 16, NULL, 0, 0, NULL);
}

TEST_F(cim, packet_bad_flags)
{
	struct cim_pkt_hdr *h = self->cmd.map;

	put_nop(h);
	h->flags = 1;
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 8, NULL, 0, 0, NULL);
}

static void put_fence(void *p, __u64 ref)
{
	struct cim_pkt_fence *f = p;

	f->hdr.opcode = CIM_OP_FENCE;
	f->hdr.flags = 0;
	f->hdr.size = sizeof(*f);
	f->addr = ref;
	f->value = 1;
}

TEST_F(cim, ref_bad_index)
{
	__u32 bos[] = { self->data.handle };

	put_fence(self->cmd.map, CIM_REF(1, 0));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 24, bos, 1, 0, NULL);
}

TEST_F(cim, ref_past_end)
{
	__u32 bos[] = { self->data.handle };

	/* The last 8 bytes are fine, one byte further is not */
	put_fence(self->cmd.map, CIM_REF(0, 16 * PAGE - 8));
	EXPECT_SUBMIT_ERR(0, self->fd, &self->cmd, 24, bos, 1, 0, NULL);
	put_fence(self->cmd.map, CIM_REF(0, 16 * PAGE - 4));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 24, bos, 1, 0, NULL);
	put_fence(self->cmd.map, CIM_REF(0, 0xfffffff8u));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 24, bos, 1, 0, NULL);
}

TEST_F(cim, ref_unaligned)
{
	__u32 bos[] = { self->data.handle };

	put_fence(self->cmd.map, CIM_REF(0, 4));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 24, bos, 1, 0, NULL);
}

TEST_F(cim, ref_raw_address)
{
	__u32 bos[] = { self->data.handle };

	/* A bus address is not a reference: its high half is no index */
	put_fence(self->cmd.map, 0x100000000ull * 7 + 0x1000);
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, 24, bos, 1, 0, NULL);
}

TEST_F(cim, xbar_not_reserved)
{
	__u32 bos[] = { self->data.handle };

	put_vmm(self->cmd.map, 0, 4, 4, 1, CIM_REF(0, 0), CIM_REF(0, 64));
	EXPECT_SUBMIT_ERR(EACCES, self->fd, &self->cmd, sizeof(struct cim_pkt_vmm),
			  bos, 1, 0, NULL);
}

TEST_F(cim, xbar_window_out_of_range)
{
	__u32 bos[] = { self->data.handle };

	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	put_vmm(self->cmd.map, 0, self->info.xbar_rows + 1, 4, 1,
		CIM_REF(0, 0), CIM_REF(0, 8192));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, sizeof(struct cim_pkt_vmm),
			  bos, 1, 0, NULL);
	put_vmm(self->cmd.map, self->info.xbar_count, 4, 4, 1,
		CIM_REF(0, 0), CIM_REF(0, 64));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, sizeof(struct cim_pkt_vmm),
			  bos, 1, 0, NULL);
}

TEST_F(cim, vmm_batch_range)
{
	__u32 bos[] = { self->data.handle };

	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	put_vmm(self->cmd.map, 0, 4, 4, 0, CIM_REF(0, 0), CIM_REF(0, 64));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, sizeof(struct cim_pkt_vmm),
			  bos, 1, 0, NULL);
	put_vmm(self->cmd.map, 0, 4, 4, self->info.max_batch + 1,
		CIM_REF(0, 0), CIM_REF(0, 64));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, sizeof(struct cim_pkt_vmm),
			  bos, 1, 0, NULL);
}

TEST_F(cim, vmm_output_past_end)
{
	__u32 bos[] = { self->data.handle };

	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	/* 4 outputs of 4 bytes need 16 bytes; only 12 are left */
	put_vmm(self->cmd.map, 0, 4, 4, 1, CIM_REF(0, 0),
		CIM_REF(0, 16 * PAGE - 12));
	EXPECT_SUBMIT_ERR(EINVAL, self->fd, &self->cmd, sizeof(struct cim_pkt_vmm),
			  bos, 1, 0, NULL);
}

TEST_F(cim, counters_reset_refused)
{
	struct cim_pkt_hdr *h = self->cmd.map;

	put_nop(h);
	h->opcode = CIM_OP_COUNTERS_RESET;
	EXPECT_SUBMIT_ERR(EPERM, self->fd, &self->cmd, 8, NULL, 0, 0, NULL);
}

/* Reservations and isolation ---------------------------------------------- */

TEST_F(cim, reserve_rules)
{
	struct cim_ctx_state st;
	struct cim_reserve r = { .mask = 1, .flags = 1 };
	int fd2;

	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_XBAR_RESERVE, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 0));
	if (self->info.xbar_count < 64)
		EXPECT_EQ(-EINVAL, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE,
					   1ull << self->info.xbar_count));
	EXPECT_EQ(-EINVAL, reserve(self->fd, CIM_IOCTL_XBAR_RELEASE, 1));
	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	ASSERT_EQ(0, cim_ctx(self->fd, &st, 0));
	EXPECT_EQ(1, st.xbar_mask);

	fd2 = cim_open_dev(0);
	ASSERT_GE(fd2, 0);
	EXPECT_EQ(-EBUSY, reserve(fd2, CIM_IOCTL_XBAR_RESERVE, 1));
	EXPECT_EQ(-EINVAL, reserve(fd2, CIM_IOCTL_XBAR_RELEASE, 1));
	EXPECT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RELEASE, 1));
	EXPECT_EQ(0, reserve(fd2, CIM_IOCTL_XBAR_RESERVE, 1));
	/* Closing releases */
	close(fd2);
	EXPECT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	if (self->info.ap_count) {
		EXPECT_EQ(0, reserve(self->fd, CIM_IOCTL_AP_RESERVE, 1));
		EXPECT_EQ(0, reserve(self->fd, CIM_IOCTL_AP_RELEASE, 1));
	}
}

TEST_F(cim, isolation_two_files)
{
	__u32 other[1];
	struct bo cmd2, data2, extra;
	__u32 mine[1];
	int fd2;

	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	/* handles 1, 2 exist in both files; 3 only in self->fd */
	ASSERT_EQ(0, bo_new(self->fd, PAGE, &extra));
	ASSERT_EQ(3, extra.handle);
	fd2 = cim_open_dev(0);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, bo_new(fd2, PAGE, &cmd2));
	ASSERT_EQ(0, bo_new(fd2, PAGE, &data2));
	/* fd2 cannot use the crossbar self->fd reserved */
	other[0] = data2.handle;
	put_vmm(cmd2.map, 0, 4, 4, 1, CIM_REF(0, 0), CIM_REF(0, 64));
	EXPECT_SUBMIT_ERR(EACCES, fd2, &cmd2, sizeof(struct cim_pkt_vmm), other,
			  1, 0, NULL);
	/* ... nor name self->fd's buffers, nor map them */
	mine[0] = extra.handle;
	put_fence(cmd2.map, CIM_REF(0, 0));
	EXPECT_SUBMIT_ERR(ENOENT, fd2, &cmd2, 24, mine, 1, 0, NULL);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd2,
				   (__u64)extra.handle << 32));
	/* ... nor wait on its jobs */
	put_nop(self->cmd.map);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, NULL));
	{
		struct cim_wait w = { .seqno = 1 };

		EXPECT_EQ(-1, ioctl(fd2, CIM_IOCTL_WAIT, &w));
		EXPECT_EQ(EINVAL, errno);
	}
	close(fd2);
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

/* Lifetime ---------------------------------------------------------------- */

TEST(close_with_jobs_in_flight)
{
	struct cim_device_info info;
	struct bo cmd, data;
	__u32 bos[1];
	unsigned int i, n = 0;
	int fd, k;

	for (k = 0; k < 3; k++) {
		fd = cim_open_dev(0);
		if (fd < 0)
			SKIP(return, "no /dev/cim0");
		ASSERT_EQ(0, cim_info(fd, &info));
		ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
		ASSERT_EQ(0, bo_new(fd, 16 * PAGE, &data));
		ASSERT_EQ(0, reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1));
		bos[0] = data.handle;
		put_vmm(cmd.map, 0, 8, 8, 64, CIM_REF(0, 0), CIM_REF(0, 8 * PAGE));
		for (i = 0; i < 20; i++)
			if (!submit(fd, &cmd, sizeof(struct cim_pkt_vmm), bos, 1,
				    0, NULL))
				n++;
		/* Drop every handle and mapping while the jobs run */
		bo_free(fd, &data);
		bo_free(fd, &cmd);
		close(fd);
	}
	EXPECT_EQ(60, n);
	/* The device still works */
	fd = cim_open_dev(0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	{
		struct cim_submit s;
		struct cim_wait w;

		ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, &s));
		ASSERT_EQ(0, wait_job(fd, s.seqno, 20000, &w));
		EXPECT_EQ(CIM_ST_OK, w.status);
	}
	close(fd);
}

/* Hang recovery, on the device with fault injection ----------------------- */

FIXTURE(hang) {
	int unused;
};

FIXTURE_SETUP(hang)
{
}

FIXTURE_TEARDOWN(hang)
{
}

TEST_F_TIMEOUT(hang, recovery, 60)
{
	struct cim_ctx_state st;
	struct cim_submit sa, sb;
	struct cim_wait w;
	struct bo ca, cb;
	long resets;
	int a, b, c, index;

	a = cim_open_fault(&index);
	if (a < 0)
		SKIP(return, "no device with fault injection");
	b = cim_open_dev(index);
	ASSERT_GE(b, 0);
	ASSERT_EQ(0, sysfs_write(index, "job_timeout_ms", "500"));
	EXPECT_EQ(-ERANGE, sysfs_write(index, "job_timeout_ms", "1"));
	resets = sysfs_read(index, "reset_count");
	ASSERT_EQ(0, bo_new(a, PAGE, &ca));
	ASSERT_EQ(0, bo_new(b, PAGE, &cb));
	put_nop(ca.map);
	put_nop(cb.map);

	ASSERT_EQ(0, inject_fault(index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(a, &ca, 8, NULL, 0, CIM_SUBMIT_FENCE_OUT, &sa));
	ASSERT_EQ(0, submit(b, &cb, 8, NULL, 0, 0, &sb));

	/* Nothing completes before the timeout */
	EXPECT_EQ(-ETIME, wait_job(a, sa.seqno, 100, &w));
	ASSERT_EQ(0, wait_job(a, sa.seqno, 10000, &w));
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	ASSERT_EQ(0, wait_job(b, sb.seqno, 10000, &w));
	EXPECT_EQ(CIM_JOB_CANCELED, w.status);
	EXPECT_EQ(resets + 1, sysfs_read(index, "reset_count"));
	/* The sync_file is signaled too */
	EXPECT_EQ(0, sync_wait(sa.fence_fd, 0));
	close(sa.fence_fd);

	/* The guilty file is done for; the bystander lost its weights */
	EXPECT_EQ(-EBADFD, submit(a, &ca, 8, NULL, 0, 0, NULL));
	ASSERT_EQ(0, cim_ctx(a, &st, 0));
	EXPECT_TRUE(st.flags & CIM_CTX_GUILTY);
	ASSERT_EQ(0, cim_ctx(b, &st, CIM_QUERY_F_ACK_RESET));
	EXPECT_FALSE(st.flags & CIM_CTX_GUILTY);
	EXPECT_TRUE(st.flags & CIM_CTX_WEIGHTS_LOST);
	ASSERT_EQ(0, cim_ctx(b, &st, 0));
	EXPECT_FALSE(st.flags & CIM_CTX_WEIGHTS_LOST);
	ASSERT_EQ(0, submit(b, &cb, 8, NULL, 0, 0, &sb));
	ASSERT_EQ(0, wait_job(b, sb.seqno, 10000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);

	/* A new file works */
	c = cim_open_dev(index);
	ASSERT_GE(c, 0);
	close(a);
	close(b);
	close(c);
	sysfs_write(index, "job_timeout_ms", "5000");
}

TEST_F_TIMEOUT(hang, then_close, 60)
{
	struct bo cmd;
	int fd, index;
	long resets;

	fd = cim_open_fault(&index);
	if (fd < 0)
		SKIP(return, "no device with fault injection");
	ASSERT_EQ(0, sysfs_write(index, "job_timeout_ms", "500"));
	resets = sysfs_read(index, "reset_count");
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, inject_fault(index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, NULL));
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, NULL));
	close(fd);
	/* The hang check still finds and clears the hang */
	for (int i = 0; i < 100 && sysfs_read(index, "reset_count") == resets; i++)
		usleep(100000);
	EXPECT_EQ(resets + 1, sysfs_read(index, "reset_count"));
	EXPECT_EQ(0, sysfs_read(index, "jobs_in_flight"));
	sysfs_write(index, "job_timeout_ms", "5000");
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

static long counter_read(int index, const char *name)
{
	char attr[64];

	snprintf(attr, sizeof(attr), "counters/%s", name);
	return sysfs_read(index, attr);
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

/* sysfs ------------------------------------------------------------------- */

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

TEST(sysfs_root_only)
{
	pid_t pid;
	int status;

	if (access("/sys/class/misc/cim0", F_OK))
		SKIP(return, "no cim0");
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

/* The reset uevent, seen as a udev "kernel" monitor sees it --------------- */

static int uevent_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1,		/* the kernel's multicast group */
	};
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
			NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait up to @ms for a change uevent of cim@index with CIM_EVENT=@what */
static int uevent_seen(int sock, int index, const char *what, int ms)
{
	char buf[4096], dev[32], ev[32];
	__u64 end = now_ns() + (__u64)ms * 1000000ull;

	snprintf(dev, sizeof(dev), "/cim%d", index);
	snprintf(ev, sizeof(ev), "CIM_EVENT=%s", what);
	while (now_ns() < end) {
		ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
		bool change = false, mine = false, event = false;
		char *p;

		if (n <= 0)
			continue;
		buf[n] = 0;
		/* "change@/devices/...", then NUL-separated KEY=VALUE */
		for (p = buf; p < buf + n; p += strlen(p) + 1) {
			change |= !strcmp(p, "ACTION=change");
			mine |= !strncmp(p, "DEVPATH=", 8) &&
				strlen(p) > strlen(dev) &&
				!strcmp(p + strlen(p) - strlen(dev), dev);
			event |= !strcmp(p, ev);
		}
		if (change && mine && event)
			return 1;
	}
	return 0;
}

TEST(reset_uevent)
{
	long resets;
	int sock;

	if (access("/sys/class/misc/cim0", F_OK))
		SKIP(return, "no cim0");
	sock = uevent_open();
	ASSERT_GE(sock, 0) TH_LOG("netlink: %s", strerror(errno));
	resets = sysfs_read(0, "reset_count");
	ASSERT_EQ(0, sysfs_write(0, "reset", "1"));
	EXPECT_EQ(resets + 1, sysfs_read(0, "reset_count"));
	EXPECT_EQ(1, uevent_seen(sock, 0, "RESET", 5000));
	close(sock);
}

/*
 * A function reset by the PCI core (sysfs "reset", here an FLR) while a job
 * hangs: the driver's reset hooks end it as canceled, blame no file, report
 * lost weights and the device takes work again, without the hang check.
 */
TEST_F_TIMEOUT(hang, function_reset, 60)
{
	char path[128], methods[128] = "";
	struct cim_ctx_state st;
	struct cim_submit s;
	struct cim_wait w;
	struct bo cmd;
	long resets;
	int fd, index, sock, mfd;
	ssize_t n;

	fd = cim_open_fault(&index);
	if (fd < 0)
		SKIP(return, "no device with fault injection");
	snprintf(path, sizeof(path),
		 "/sys/class/misc/cim%d/device/reset_method", index);
	mfd = open(path, O_RDONLY);
	if (mfd >= 0) {
		n = read(mfd, methods, sizeof(methods) - 1);
		methods[n > 0 ? n : 0] = 0;
		close(mfd);
	}
	TH_LOG("reset methods: %s", methods);
	ASSERT_EQ(0, sysfs_write(index, "job_timeout_ms", "30000"));
	resets = sysfs_read(index, "reset_count");
	sock = uevent_open();
	ASSERT_GE(sock, 0);
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, inject_fault(index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, CIM_SUBMIT_FENCE_OUT, &s));
	EXPECT_EQ(-ETIME, wait_job(fd, s.seqno, 100, &w));

	ASSERT_EQ(0, sysfs_write(index, "device/reset", "1"));
	ASSERT_EQ(0, wait_job(fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_JOB_CANCELED, w.status);
	EXPECT_EQ(0, sync_wait(s.fence_fd, 0));
	close(s.fence_fd);
	EXPECT_EQ(resets + 1, sysfs_read(index, "reset_count"));
	EXPECT_EQ(1, uevent_seen(sock, index, "RESET", 5000));
	close(sock);

	ASSERT_EQ(0, cim_ctx(fd, &st, CIM_QUERY_F_ACK_RESET));
	EXPECT_FALSE(st.flags & CIM_CTX_GUILTY);
	EXPECT_TRUE(st.flags & CIM_CTX_WEIGHTS_LOST);
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(fd, s.seqno, 10000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(0, sysfs_read(index, "jobs_in_flight"));
	close(fd);
	sysfs_write(index, "job_timeout_ms", "5000");
}

/* Signals, a full ring, injected faults ----------------------------------- */

static volatile sig_atomic_t cim_signals;

static void on_alarm(int sig)
{
	cim_signals++;
}

/* SIGALRM every @us without SA_RESTART, so that ioctls see EINTR */
static void alarm_every(long us)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_interval = { .tv_usec = us },
		.it_value = { .tv_usec = us },
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void alarm_off(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_DFL);
}

/* drmIoctl(): repeat on EINTR and EAGAIN; counts the repeats */
static int drm_ioctl(int fd, unsigned long req, void *arg, int *eintr,
		     int *eagain)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
		if (r == -1 && errno == EINTR)
			(*eintr)++;
		if (r == -1 && errno == EAGAIN)
			(*eagain)++;
	} while (r == -1 && (errno == EINTR || errno == EAGAIN));
	return r;
}

FIXTURE(fault) {
	int fd, index;
	struct bo cmd;
};

FIXTURE_SETUP(fault)
{
	self->fd = cim_open_fault(&self->index);
	if (self->fd < 0)
		SKIP(return, "no device with fault injection");
	ASSERT_EQ(0, bo_new(self->fd, PAGE, &self->cmd));
	put_nop(self->cmd.map);
	ASSERT_EQ(0, sysfs_write(self->index, "job_timeout_ms", "1000"));
}

FIXTURE_TEARDOWN(fault)
{
	if (self->fd < 0)
		return;
	alarm_off();
	close(self->fd);
	sysfs_write(self->index, "job_timeout_ms", "5000");
}

TEST_F_TIMEOUT(fault, wait_signal_restart, 60)
{
	struct cim_submit s;
	struct cim_wait w = { 0 };
	int eintr = 0, eagain = 0, r;
	__u64 t0;

	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	alarm_every(50000);
	/* An absolute deadline survives the restarts: -ETIME on time */
	t0 = now_ns();
	w.seqno = s.seqno;
	w.timeout_ns = t0 + 300000000ull;
	r = drm_ioctl(self->fd, CIM_IOCTL_WAIT, &w, &eintr, &eagain);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(ETIME, errno);
	EXPECT_GE(now_ns() - t0, 300000000ull);
	EXPECT_LT(now_ns() - t0, 900000000ull);
	/* Then until the hang check resets the device */
	w.timeout_ns = now_ns() + 10000000000ull;
	r = drm_ioctl(self->fd, CIM_IOCTL_WAIT, &w, &eintr, &eagain);
	alarm_off();
	EXPECT_EQ(0, r);
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	EXPECT_GT(eintr, 2);
	EXPECT_EQ(0, eagain);
	TH_LOG("%d EINTR, %d signals", eintr, (int)cim_signals);
}

TEST_F_TIMEOUT(fault, queue_full, 60)
{
	struct cim_device_info info;
	struct cim_submit s;
	struct cim_wait w;
	__u64 seqno = 0;
	int i, r, eintr = 0, other;
	struct bo ocmd;
	pid_t pid;
	int status;

	ASSERT_EQ(0, cim_info(self->fd, &info));
	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_HANG_NEXT));
	/* The hung job holds the ring: max_inflight jobs fit, then SUBMIT blocks */
	for (i = 0; i < (int)info.max_inflight; i++) {
		ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
		EXPECT_EQ(seqno + 1, s.seqno);
		seqno = s.seqno;
	}
	EXPECT_EQ(info.max_inflight, sysfs_read(self->index, "jobs_in_flight"));
	alarm_every(100000);
	r = submit(self->fd, &self->cmd, 8, NULL, 0, 0, NULL);
	alarm_off();
	EXPECT_EQ(-EINTR, r);	/* blocked, never -EAGAIN */

	/* A bystander's submit blocks until the reset frees the ring */
	other = cim_open_dev(self->index);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, bo_new(other, PAGE, &ocmd));
	put_nop(ocmd.map);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct cim_submit cs;

		r = drm_ioctl(other, CIM_IOCTL_SUBMIT, &(struct cim_submit){
			.cmdbuf_handle = ocmd.handle, .cmdbuf_size = 8 },
			&eintr, &eintr);
		if (submit(other, &ocmd, 8, NULL, 0, 0, &cs))
			_exit(3);
		_exit(r ? 1 : cs.seqno == 2 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Every job ended, in order: the first hung, the others cancelled */
	ASSERT_EQ(0, wait_job(self->fd, 1, 0, &w));
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	for (i = 2; i <= (int)seqno; i++) {
		ASSERT_EQ(0, wait_job(self->fd, i, 0, &w));
		EXPECT_EQ(CIM_JOB_CANCELED, w.status);
	}
	EXPECT_EQ(-EBADFD, submit(self->fd, &self->cmd, 8, NULL, 0, 0, NULL));
	close(other);
}

/*
 * linux/sync_file.h's SYNC_IOC_FILE_INFO; libsync.h defines a clashing
 * struct sync_merge_data, so the header cannot be included next to it
 */
struct cim_sync_file_info {
	char name[32];
	__s32 status;
	__u32 flags;
	__u32 num_fences;
	__u32 pad;
	__u64 sync_fence_info;
};

#define CIM_SYNC_IOC_FILE_INFO	_IOWR('>', 4, struct cim_sync_file_info)

TEST_F(fault, dma_next)
{
	long resets = sysfs_read(self->index, "reset_count");
	struct cim_submit s;
	struct cim_wait w;

	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_DMA_NEXT));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0,
			    CIM_SUBMIT_FENCE_OUT, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_DMA, w.status);
	/* The fence carries the error */
	EXPECT_EQ(0, sync_wait(s.fence_fd, 0));
	{
		struct cim_sync_file_info si = { 0 };

		ASSERT_EQ(0, ioctl(s.fence_fd, CIM_SYNC_IOC_FILE_INFO, &si));
		EXPECT_EQ(-EIO, si.status);
	}
	close(s.fence_fd);
	/* One job only; no reset */
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(resets, sysfs_read(self->index, "reset_count"));
}

TEST_F(fault, error_next)
{
	long resets = sysfs_read(self->index, "reset_count");
	struct cim_submit s;
	struct cim_wait w;

	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_ERROR_NEXT));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_INJECTED, w.status);
	EXPECT_EQ(0, w.cmds_done);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(resets, sysfs_read(self->index, "reset_count"));
	/* Bits outside the register are refused */
	EXPECT_EQ(-EINVAL, inject_fault(self->index, 0x80));
}

TEST_F_TIMEOUT(fault, counters_during_hang, 60)
{
	struct cim_wait w;
	struct cim_submit s;
	long jobs;

	/* A sysfs counters read queues behind a hung job and ends with it */
	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	{
		char path[96], buf[64];
		int fd;

		snprintf(path, sizeof(path),
			 "/sys/class/misc/cim%d/counters/jobs", self->index);
		fd = open(path, O_RDONLY);
		ASSERT_GE(fd, 0);
		/* Cancelled by the reset that ends the hang */
		EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
		EXPECT_EQ(EIO, errno);
		close(fd);
	}
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 10000, &w));
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	/* The reset cleared the device's counters; they count again */
	jobs = counter_read(self->index, "jobs");
	EXPECT_GE(jobs, 0);
	EXPECT_GT(counter_read(self->index, "jobs"), jobs);
}

/* Lifetime: SIGKILL, rmmod ------------------------------------------------ */

static int count_files(int index)
{
	char path[64], line[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/kernel/debug/cim/%d/bo_list", index);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "file ", 5);
	fclose(f);
	return n;
}

TEST(sigkill_with_jobs_in_flight)
{
	int pipefd[2], files, i;
	pid_t pid;
	int status;
	char ok;

	if (access("/dev/cim0", F_OK))
		SKIP(return, "no cim0");
	files = count_files(0);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct bo cmd, data;
		__u32 bos[1];
		struct cim_submit s;
		struct cim_wait w = { 0 };
		int fd = cim_open_dev(0);

		if (fd < 0 || bo_new(fd, PAGE, &cmd) ||
		    bo_new(fd, 16 * PAGE, &data) ||
		    reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1))
			_exit(1);
		bos[0] = data.handle;
		/* 64 x 64 weights, 16 vectors: long enough to be in flight */
		put_vmm(cmd.map, 0, 64, 64, 16, CIM_REF(0, 0),
			CIM_REF(0, 8 * PAGE));
		for (i = 0; i < 40; i++)
			if (submit(fd, &cmd, sizeof(struct cim_pkt_vmm), bos,
				   1, CIM_SUBMIT_FENCE_OUT, &s))
				_exit(2);
		if (write(pipefd[1], "k", 1) != 1)
			_exit(3);
		/* Killed in here */
		w.seqno = s.seqno;
		w.timeout_ns = now_ns() + 60000000000ull;
		ioctl(fd, CIM_IOCTL_WAIT, &w);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &ok, 1));
	kill(pid, SIGKILL);
	TH_LOG("%ld jobs in flight after the kill",
	       sysfs_read(0, "jobs_in_flight"));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	close(pipefd[0]);
	/* The jobs drain, the file goes, the crossbar is free again */
	for (i = 0; i < 200 && sysfs_read(0, "jobs_in_flight"); i++)
		usleep(50000);
	EXPECT_EQ(0, sysfs_read(0, "jobs_in_flight"));
	if (files >= 0)
		EXPECT_EQ(files, count_files(0));
	{
		int fd = cim_open_dev(0);

		ASSERT_GE(fd, 0);
		EXPECT_EQ(0, reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1));
		close(fd);
	}
}

TEST(rmmod_while_open)
{
	struct bo cmd;
	struct cim_submit s;
	int fd, r;

	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no cim0");
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, CIM_SUBMIT_FENCE_OUT, &s));
	/* The open file holds the module: delete_module refuses */
	r = syscall(SYS_delete_module, "cim", O_NONBLOCK);
	EXPECT_EQ(-1, r);
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module: %s", strerror(errno));
	EXPECT_EQ(0, sync_wait(s.fence_fd, 5000));
	close(s.fence_fd);
	bo_free(fd, &cmd);
	close(fd);
	EXPECT_EQ(0, access("/dev/cim0", F_OK));
}

/* Two devices at once ----------------------------------------------------- */

TEST(two_devices)
{
	struct cim_device_info info[2];
	struct bo cmd[2], data[2];
	struct cim_submit s[2][8];
	struct cim_wait w;
	__u32 bos[1];
	int fd[2], d, i, m;

	fd[0] = cim_open_dev(0);
	fd[1] = cim_open_dev(1);
	if (fd[0] < 0 || fd[1] < 0)
		SKIP(return, "needs /dev/cim0 and /dev/cim1");
	for (d = 0; d < 2; d++) {
		ASSERT_EQ(0, cim_info(fd[d], &info[d]));
		ASSERT_EQ(0, bo_new(fd[d], PAGE, &cmd[d]));
		ASSERT_EQ(0, bo_new(fd[d], 16 * PAGE, &data[d]));
		ASSERT_EQ(0, reserve(fd[d], CIM_IOCTL_XBAR_RESERVE, 1));
		put_vmm(cmd[d].map, 0, 8, 8, 16, CIM_REF(0, 0),
			CIM_REF(0, 8 * PAGE));
	}
	EXPECT_NE(info[0].seed, info[1].seed);
	/* Interleaved: each device runs its own ring */
	for (i = 0; i < 8; i++)
		for (d = 0; d < 2; d++) {
			bos[0] = data[d].handle;
			ASSERT_EQ(0, submit(fd[d], &cmd[d],
					    sizeof(struct cim_pkt_vmm), bos, 1,
					    CIM_SUBMIT_FENCE_OUT, &s[d][i]));
			EXPECT_EQ(i + 1, s[d][i].seqno);
		}
	/* A fence merged across the two devices */
	m = sync_merge("two", s[0][7].fence_fd, s[1][7].fence_fd);
	ASSERT_GE(m, 0);
	EXPECT_EQ(0, sync_wait(m, 20000));
	close(m);
	for (d = 0; d < 2; d++)
		for (i = 0; i < 8; i++) {
			ASSERT_EQ(0, wait_job(fd[d], s[d][i].seqno, 0, &w));
			EXPECT_EQ(CIM_ST_OK, w.status);
			close(s[d][i].fence_fd);
		}
	/* A file of one device knows nothing of the other's buffers */
	{
		struct cim_bo_destroy bd = { .handle = data[0].handle + 10 };

		EXPECT_EQ(-1, ioctl(fd[1], CIM_IOCTL_BO_DESTROY, &bd));
	}
	close(fd[0]);
	close(fd[1]);
}

TEST_HARNESS_MAIN
