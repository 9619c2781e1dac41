// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device tests of cim.ko, run in the guest with kselftest_harness.h: the
 * uAPI rules, buffer objects, submit validation (one test per check), jobs,
 * fences, a VMM against a CPU reference, isolation between files, hang
 * recovery through fault injection, and closing with jobs in flight.
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
#include <time.h>
#include <unistd.h>

#include <libsync.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "kselftest_harness.h"

#define PAGE 4096

static int cim_open_dev(int index)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/cim%d", index);
	return open(path, O_RDWR | O_CLOEXEC);
}

static int cim_info(int fd, struct cim_device_info *info)
{
	struct cim_query q = {
		.data_ptr = (uintptr_t)info,
		.query = CIM_QUERY_DEVICE_INFO,
		.size = sizeof(*info),
	};

	return ioctl(fd, CIM_IOCTL_QUERY, &q);
}

static int cim_ctx(int fd, struct cim_ctx_state *st, __u32 flags)
{
	struct cim_query q = {
		.data_ptr = (uintptr_t)st,
		.query = CIM_QUERY_CTX_STATE,
		.size = sizeof(*st),
		.flags = flags,
	};

	return ioctl(fd, CIM_IOCTL_QUERY, &q);
}

/* Open a device with fault injection, or -1 */
static int cim_open_fault(int *index)
{
	struct cim_device_info info;
	int i, fd;

	for (i = 0; i < 8; i++) {
		fd = cim_open_dev(i);
		if (fd < 0)
			continue;
		if (!cim_info(fd, &info) && (info.hw_caps & CIM_CAP_FAULT_INJECT)) {
			*index = i;
			return fd;
		}
		close(fd);
	}
	return -1;
}

struct bo {
	__u32 handle;
	__u64 size;
	void *map;
};

static int bo_new(int fd, __u64 size, struct bo *bo)
{
	struct cim_bo_create c = { .size = size };

	if (ioctl(fd, CIM_IOCTL_BO_CREATE, &c))
		return -errno;
	bo->handle = c.handle;
	bo->size = size;
	bo->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       c.mmap_offset);
	if (bo->map == MAP_FAILED)
		return -errno;
	return 0;
}

static int bo_free(int fd, struct bo *bo)
{
	struct cim_bo_destroy d = { .handle = bo->handle };

	munmap(bo->map, bo->size);
	return ioctl(fd, CIM_IOCTL_BO_DESTROY, &d) ? -errno : 0;
}

/* Submit @size bytes of commands at the start of @cmd; returns -errno */
static int submit(int fd, struct bo *cmd, __u32 size, const __u32 *bos,
		  __u32 nbos, __u32 flags, struct cim_submit *out)
{
	struct cim_submit s = {
		.bo_handles_ptr = (uintptr_t)bos,
		.bo_count = nbos,
		.cmdbuf_handle = cmd->handle,
		.cmdbuf_size = size,
		.flags = flags,
	};

	if (ioctl(fd, CIM_IOCTL_SUBMIT, &s))
		return -errno;
	if (out)
		*out = s;
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Wait up to @ms for @seqno; returns -errno or 0 with @w filled */
static int wait_job(int fd, __u64 seqno, int ms, struct cim_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->seqno = seqno;
	w->timeout_ns = now_ns() + (__u64)ms * 1000000ull;
	return ioctl(fd, CIM_IOCTL_WAIT, w) ? -errno : 0;
}

static void put_nop(void *p)
{
	struct cim_pkt_hdr *h = p;

	h->opcode = CIM_OP_NOP;
	h->flags = 0;
	h->size = sizeof(*h);
}

static int sysfs_write(int index, const char *attr, const char *val)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/%s", index, attr);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static long sysfs_read(int index, const char *attr)
{
	char path[128], buf[64] = "";
	int fd;

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/%s", index, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return strtol(buf, NULL, 0);
}

static int inject_fault(int index, unsigned int bits)
{
	char path[64], val[16];
	int fd, ret;

	snprintf(path, sizeof(path), "/sys/kernel/debug/cim/%d/fault", index);
	snprintf(val, sizeof(val), "%u", bits);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

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

static void put_vmm(void *p, __u32 xbar, __u32 nrows, __u32 ncols,
		    __u32 batch, __u64 x, __u64 y)
{
	struct cim_pkt_vmm *v = p;

	memset(v, 0, sizeof(*v));
	v->hdr.opcode = CIM_OP_VMM_FWD;
	v->hdr.size = sizeof(*v);
	v->win.xbar = xbar;
	v->win.nrows = nrows;
	v->win.ncols = ncols;
	v->batch = batch;
	v->x = x;
	v->y = y;
}

static int reserve(int fd, unsigned long cmd, __u64 mask)
{
	struct cim_reserve r = { .mask = mask };

	return ioctl(fd, cmd, &r) ? -errno : 0;
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

static __u32 f32_bits(float f)
{
	__u32 u;

	memcpy(&u, &f, 4);
	return u;
}

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
	struct cim_pkt_xbar_program *pp;
	struct cim_pkt_xbar_read *pr;
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

	pp = (void *)c;
	memset(pp, 0, sizeof(*pp));
	pp->hdr.opcode = CIM_OP_XBAR_PROGRAM;
	pp->hdr.size = sizeof(*pp);
	pp->win.nrows = R;
	pp->win.ncols = C;
	pp->max_iters = 32;
	pp->tolerance_f32 = f32_bits(0.5f);
	pp->src = CIM_REF(0, 0);
	off += sizeof(*pp);
	pr = (void *)(c + off);
	memset(pr, 0, sizeof(*pr));
	pr->hdr.opcode = CIM_OP_XBAR_READ;
	pr->hdr.flags = CIM_READ_F_WEIGHTS;
	pr->hdr.size = sizeof(*pr);
	pr->win.nrows = R;
	pr->win.ncols = C;
	pr->dst = CIM_REF(0, 4 * PAGE);
	off += sizeof(*pr);
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

TEST_HARNESS_MAIN
