// SPDX-License-Identifier: MIT
/*
 * The kernel backend: /dev/cimN through the uAPI of include/uapi/misc/cim.h.
 * Ioctls go through libdrm's drmIoctl(), which restarts them on EINTR;
 * fences are the driver's sync_files.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <xf86drm.h>

#include "uapi/misc/cim.h"

#include "cim_priv.h"

/**
 * struct k_device - the kernel backend's state (cim_device.priv)
 * @fd: the /dev/cimN file
 */
struct k_device {
	int fd;
};

static int k_fd(const struct cim_device *dev)
{
	const struct k_device *k = dev->priv;

	return k->fd;
}

static int k_ioctl(struct cim_device *dev, unsigned long req, void *arg)
{
	return drmIoctl(k_fd(dev), req, arg) ? -errno : 0;
}

static int k_query(struct cim_device *dev, uint32_t what, void *data,
		   uint32_t size, uint32_t flags)
{
	struct cim_query q = {
		.data_ptr = (uintptr_t)data,
		.query = what,
		.size = size,
		.flags = flags,
	};

	return k_ioctl(dev, CIM_IOCTL_QUERY, &q);
}

static int k_buffer_alloc(struct cim_device *dev, struct cim_buffer *buf)
{
	struct cim_bo_create c = { .size = buf->size };
	struct cim_bo_destroy d;
	long page = sysconf(_SC_PAGESIZE);
	int ret;

	ret = k_ioctl(dev, CIM_IOCTL_BO_CREATE, &c);
	if (ret)
		return ret;
	buf->handle = c.handle;
	buf->map_size = (buf->size + (size_t)page - 1) & ~((size_t)page - 1);
	buf->ptr = mmap(NULL, buf->map_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, k_fd(dev), (off_t)c.mmap_offset);
	if (buf->ptr == MAP_FAILED) {
		ret = -errno;
		goto fail_mmap;
	}
	return 0;

fail_mmap:
	d = (struct cim_bo_destroy) { .handle = c.handle };
	k_ioctl(dev, CIM_IOCTL_BO_DESTROY, &d);
	return ret;
}

static void k_buffer_free(struct cim_device *dev, struct cim_buffer *buf)
{
	struct cim_bo_destroy d = { .handle = buf->handle };

	munmap(buf->ptr, buf->map_size);
	k_ioctl(dev, CIM_IOCTL_BO_DESTROY, &d);
}

static int k_reserve(struct cim_device *dev, bool ap, uint64_t mask,
		     bool release)
{
	struct cim_reserve r = { .mask = mask };
	unsigned long req;

	if (ap)
		req = release ? CIM_IOCTL_AP_RELEASE : CIM_IOCTL_AP_RESERVE;
	else
		req = release ? CIM_IOCTL_XBAR_RELEASE : CIM_IOCTL_XBAR_RESERVE;
	return k_ioctl(dev, req, &r);
}

/* -EBADFD, -ECANCELED or 0, from the file's context state */
static int k_ctx_check(struct cim_device *dev, uint32_t flags)
{
	struct cim_ctx_state st;
	int ret;

	ret = k_query(dev, CIM_QUERY_CTX_STATE, &st, sizeof(st), flags);
	if (ret)
		return ret;
	if (st.flags & CIM_CTX_GUILTY)
		return -EBADFD;
	return st.flags & CIM_CTX_WEIGHTS_LOST ? -ECANCELED : 0;
}

/* The command BO, at least @len bytes */
static int k_cmd_bo(struct cim_cmdbuf *cb, size_t len)
{
	struct cim_buffer *bo;
	size_t size = 4096;
	int ret;

	if (cb->bo && cb->bo->size >= len)
		return 0;
	while (size < len)
		size *= 2;
	ret = cim_buffer_alloc(cb->dev, size, &bo);
	if (ret)
		return ret;
	if (cb->bo)
		cim__buffer_put(cb->bo);
	cb->bo = bo;
	return 0;
}

static int k_submit(struct cim_device *dev, struct cim_cmdbuf *cb,
		    struct cim_job *job)
{
	uint32_t handles[CIM__MAX_BUFFERS];
	struct cim_submit s;
	unsigned int i;
	int ret;

	ret = k_ctx_check(dev, 0);
	if (ret)
		return ret;
	ret = k_cmd_bo(cb, cb->len);
	if (ret)
		return ret;
	memcpy(cb->bo->ptr, cb->words, cb->len);
	for (i = 0; i < cb->nbufs; i++)
		handles[i] = cb->bufs[i]->handle;
	s = (struct cim_submit) {
		.bo_handles_ptr = cb->nbufs ? (uintptr_t)handles : 0,
		.bo_count = cb->nbufs,
		.cmdbuf_handle = cb->bo->handle,
		.cmdbuf_size = (uint32_t)cb->len,
		.flags = CIM_SUBMIT_FENCE_OUT,
	};
	ret = k_ioctl(dev, CIM_IOCTL_SUBMIT, &s);
	if (ret)
		return ret;
	job->fence_fd = s.fence_fd;
	job->seqno = s.seqno;
	return 0;
}

static int k_wait(struct cim_job *job, uint64_t deadline_ns)
{
	struct cim_job_completion done;
	struct cim_wait w = {
		.seqno = job->seqno,
		.timeout_ns = deadline_ns,
	};
	int ret;

	ret = k_ioctl(job->dev, CIM_IOCTL_WAIT, &w);
	if (ret)
		return ret;
	done = (struct cim_job_completion) {
		.seqno = w.seqno,
		.status = w.status,
		.cmds_done = w.cmds_done,
		.error_offset = w.error_offset,
		.error_field = w.error_field,
		.energy_fj = w.energy_fj,
		.device_time_ps = w.device_time_ps,
	};
	cim__job_complete(job, &done);
	return 0;
}

static int k_check(struct cim_device *dev)
{
	return k_ctx_check(dev, CIM_QUERY_F_ACK_RESET);
}

/* sysfs "reset" of the misc device behind the open file */
static int k_reset(struct cim_device *dev)
{
	char path[64];
	struct stat st;
	int fd, ret = 0;

	if (fstat(k_fd(dev), &st))
		return -errno;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/reset",
		 major(st.st_rdev), minor(st.st_rdev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/* What cim-pci's registers show; its physics are the defaults */
static int k_twin_config(struct cim_device *dev, struct cimfw_config *cfg)
{
	const struct cim_info *in = &dev->info;

	cimfw_config_default(cfg);
	/*
	 * the preset's physics; a custom device's own fields are not in
	 * the registers, so its twin has the physics of its base preset
	 */
	if (in->device_preset != CIM_DEVICE_PRESET_NONE &&
	    in->device_preset != CIM_DEVICE_CUSTOM &&
	    cimfw_device_preset(in->device_preset, cfg))
		return -EINVAL;
	cfg->seed = in->seed;
	cfg->xbar_count = in->xbar_count;
	cfg->xbar_rows = in->xbar_rows;
	cfg->xbar_cols = in->xbar_cols;
	cfg->levels = in->xbar_levels;
	cfg->dac_bits = in->dac_bits;
	cfg->adc_bits = in->adc_bits;
	cfg->ap_count = in->ap_count;
	cfg->ap_rows = in->ap_rows;
	cfg->ap_cols = in->ap_cols;
	cfg->ap_domains = in->ap_domains;
	cfg->ap_group_tracks = in->ap_group_tracks;
	cfg->cost_preset = in->cost_preset;
	return cimfw_cost_preset(cfg->cost_preset, &cfg->cost) ? -EINVAL : 0;
}

static void k_close(struct cim_device *dev)
{
	struct k_device *k = dev->priv;

	close(k->fd);
	free(k);
}

static const struct cim__backend_ops kernel_ops = {
	.buffer_alloc = k_buffer_alloc,
	.buffer_free = k_buffer_free,
	.reserve = k_reserve,
	.submit = k_submit,
	.wait = k_wait,
	.check = k_check,
	.reset = k_reset,
	.twin_config = k_twin_config,
	.close = k_close,
};

static int k_info(struct cim_device *dev, const char *path)
{
	struct cim_device_info di;
	struct cim_info *in = &dev->info;
	int ret;

	memset(&di, 0, sizeof(di));
	ret = k_query(dev, CIM_QUERY_DEVICE_INFO, &di, sizeof(di), 0);
	if (ret)
		return ret;
	if (di.api_major != CIM_API_MAJOR)
		return -EPROTO;
	snprintf(in->name, sizeof(in->name), "%s", path);
	in->backend = CIM_BACKEND_KERNEL;
	in->api_major = di.api_major;
	in->api_minor = di.api_minor;
	in->hw_version = di.hw_version;
	in->hw_caps = di.hw_caps;
	in->xbar_count = di.xbar_count;
	in->xbar_rows = di.xbar_rows;
	in->xbar_cols = di.xbar_cols;
	in->xbar_levels = di.xbar_levels;
	in->dac_bits = di.dac_bits;
	in->adc_bits = di.adc_bits;
	in->ap_count = di.ap_count;
	in->ap_rows = di.ap_rows;
	in->ap_cols = di.ap_cols;
	in->ap_domains = di.ap_domains;
	in->ap_group_tracks = di.ap_group_tracks;
	in->max_batch = di.max_batch;
	in->max_cmdbuf = di.max_cmdbuf;
	in->max_buffers = di.max_bos < CIM__MAX_BUFFERS ? di.max_bos :
			  CIM__MAX_BUFFERS;
	in->cost_preset = di.cost_preset;
	in->job_timeout_ms = di.job_timeout_ms;
	in->max_buffer_size = di.max_bo_size;
	in->seed = di.seed;
	in->device_preset = di.device_preset;
	return 0;
}

int cim__kernel_open(struct cim_device **out, const char *path)
{
	struct cim_device *dev;
	struct k_device *k;
	int ret;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	dev = cim__device_new(&kernel_ops, k);
	if (!dev) {
		ret = -ENOMEM;
		goto fail_dev;
	}
	dev->refs_by_index = true;
	k->fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->fd < 0) {
		ret = -errno;
		goto fail_open;
	}
	ret = k_info(dev, path);
	if (ret)
		goto fail_info;
	*out = dev;
	return 0;

fail_info:
	close(k->fd);
fail_open:
	free(dev);
fail_dev:
	free(k);
	return ret;
}
