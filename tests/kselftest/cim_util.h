/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the device tests share: opening a device, buffers, submitting and
 * waiting, the packets they build most, sysfs and fault injection.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef __CIM_UTIL_H__
#define __CIM_UTIL_H__

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

/* Each test program uses some of these */
#define __unused __attribute__((unused))

#define PAGE 4096

static __unused int cim_open_dev(int index)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/cim%d", index);
	return open(path, O_RDWR | O_CLOEXEC);
}

static __unused int cim_info(int fd, struct cim_device_info *info)
{
	struct cim_query q = {
		.data_ptr = (uintptr_t)info,
		.query = CIM_QUERY_DEVICE_INFO,
		.size = sizeof(*info),
	};

	return ioctl(fd, CIM_IOCTL_QUERY, &q);
}

static __unused int cim_ctx(int fd, struct cim_ctx_state *st, __u32 flags)
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
static __unused int cim_open_fault(int *index)
{
	struct cim_device_info info;
	int i, fd;

	for (i = 0; i < 8; i++) {
		fd = cim_open_dev(i);
		if (fd < 0)
			continue;
		if (!cim_info(fd, &info) && (info.hw_caps & CIM_CAPS_FAULT_INJECT)) {
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

static __unused int bo_new(int fd, __u64 size, struct bo *bo)
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

static __unused int bo_free(int fd, struct bo *bo)
{
	struct cim_bo_destroy d = { .handle = bo->handle };

	munmap(bo->map, bo->size);
	return ioctl(fd, CIM_IOCTL_BO_DESTROY, &d) ? -errno : 0;
}

/* Submit @size bytes of commands at the start of @cmd; returns -errno */
static __unused int submit(int fd, struct bo *cmd, __u32 size, const __u32 *bos,
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

static __unused __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Wait up to @ms for @seqno; returns -errno or 0 with @w filled */
static __unused int wait_job(int fd, __u64 seqno, int ms, struct cim_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->seqno = seqno;
	w->timeout_ns = now_ns() + (__u64)ms * 1000000ull;
	return ioctl(fd, CIM_IOCTL_WAIT, w) ? -errno : 0;
}

static __unused void put_nop(void *p)
{
	struct cim_pkt_hdr *h = p;

	h->opcode = CIM_OP_NOP;
	h->flags = 0;
	h->size = sizeof(*h);
}

static __unused int write_file(const char *path, const char *val)
{
	int fd, ret;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static __unused int read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static __unused int sysfs_write(int index, const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/%s", index, attr);
	return write_file(path, val);
}

static __unused long sysfs_read(int index, const char *attr)
{
	char path[128], buf[64] = "";

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/%s", index, attr);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 0);
}

static __unused int inject_fault(int index, unsigned int bits)
{
	char path[64], val[16];

	snprintf(path, sizeof(path), "/sys/kernel/debug/cim/%d/fault", index);
	snprintf(val, sizeof(val), "%u", bits);
	return write_file(path, val);
}

/* FENCE writing 1 to @ref */
static __unused void put_fence(void *p, __u64 ref)
{
	struct cim_pkt_fence *f = p;

	f->hdr.opcode = CIM_OP_FENCE;
	f->hdr.flags = 0;
	f->hdr.size = sizeof(*f);
	f->addr = ref;
	f->value = 1;
}

/* A device counter, /sys/class/misc/cim@index/counters/@name, or -1 */
static __unused long counter_read(int index, const char *name)
{
	char attr[64];

	snprintf(attr, sizeof(attr), "counters/%s", name);
	return sysfs_read(index, attr);
}

static __unused void put_vmm(void *p, __u32 xbar, __u32 nrows, __u32 ncols,
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

static __unused __u32 f32_bits(float f)
{
	__u32 u;

	memcpy(&u, &f, 4);
	return u;
}

/* XBAR_PROGRAM of the top-left @rows x @cols, write-verify to 0.5 level */
static __unused void put_program(void *p, __u32 rows, __u32 cols, __u64 src)
{
	struct cim_pkt_xbar_program *pp = p;

	memset(pp, 0, sizeof(*pp));
	pp->hdr.opcode = CIM_OP_XBAR_PROGRAM;
	pp->hdr.size = sizeof(*pp);
	pp->win.nrows = rows;
	pp->win.ncols = cols;
	pp->max_iters = 32;
	pp->tolerance_f32 = f32_bits(0.5f);
	pp->src = src;
}

/* XBAR_READ of the weights of the top-left @rows x @cols */
static __unused void put_read(void *p, __u32 rows, __u32 cols, __u64 dst)
{
	struct cim_pkt_xbar_read *pr = p;

	memset(pr, 0, sizeof(*pr));
	pr->hdr.opcode = CIM_OP_XBAR_READ;
	pr->hdr.flags = CIM_READ_F_WEIGHTS;
	pr->hdr.size = sizeof(*pr);
	pr->win.nrows = rows;
	pr->win.ncols = cols;
	pr->dst = dst;
}

static __unused int reserve(int fd, unsigned long cmd, __u64 mask)
{
	struct cim_reserve r = { .mask = mask };

	return ioctl(fd, cmd, &r) ? -errno : 0;
}

#endif /* __CIM_UTIL_H__ */
