// SPDX-License-Identifier: MIT
/*
 * Devices: opening by name, reference counting, queries, reservations,
 * reset state and counters. The backends (kernel.c, embedded.c) do the rest.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cim_priv.h"

uint64_t cim__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct cim_device *cim__device_new(const struct cim__backend_ops *ops,
				   void *priv)
{
	struct cim_device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	atomic_init(&dev->refs, 1);
	dev->ops = ops;
	dev->priv = priv;
	dev->info.size = sizeof(dev->info);
	return dev;
}

void cim__device_get(struct cim_device *dev)
{
	atomic_fetch_add(&dev->refs, 1);
}

void cim__device_put(struct cim_device *dev)
{
	if (atomic_fetch_sub(&dev->refs, 1) != 1)
		return;
	dev->ops->close(dev);
	free(dev);
}

void cim_device_close(struct cim_device *dev)
{
	if (dev)
		cim__device_put(dev);
}

/* The first kernel device, or -ENOENT when there is none */
static int open_first_kernel(struct cim_device **dev)
{
	struct cim_device_desc *list;
	int count, i, ret;

	ret = cim_device_list(&list, &count);
	if (ret)
		return ret;
	ret = -ENOENT;
	for (i = 0; i < count && ret; i++)
		ret = cim__kernel_open(dev, list[i].devnode);
	cim_device_list_free(list, count);
	return ret;
}

static int open_embedded_named(struct cim_device **dev, const char *args)
{
	struct cim_embedded_options opts;
	int ret;

	ret = cim__embedded_parse(args, &opts);
	if (ret)
		return ret;
	return cim_device_open_embedded(dev, &opts);
}

int cim_device_open(struct cim_device **dev, const char *name)
{
	char path[64];
	int ret;

	if (!dev)
		return -EINVAL;
	if (!name || !*name) {
		name = getenv("CIM_DEVICE");
		if (name && *name)
			return cim_device_open(dev, name);
		ret = open_first_kernel(dev);
		if (ret != -ENOENT)
			return ret;
		return open_embedded_named(dev, "");
	}
	if (!strcmp(name, "embedded"))
		return open_embedded_named(dev, "");
	if (!strncmp(name, "embedded:", 9))
		return open_embedded_named(dev, name + 9);
	if (!strncmp(name, "cim", 3)) {
		if ((size_t)snprintf(path, sizeof(path), "/dev/%s", name) >=
		    sizeof(path))
			return -EINVAL;
		name = path;
	}
	if (name[0] != '/')
		return -EINVAL;
	return cim__kernel_open(dev, name);
}

int cim_device_open_embedded(struct cim_device **dev,
			     const struct cim_embedded_options *opts)
{
	struct cimfw_config cfg;
	int ret;

	if (!dev)
		return -EINVAL;
	ret = cim__embedded_config(opts, &cfg);
	if (ret)
		return ret;
	return cim__embedded_open(dev, &cfg);
}

int cim_device_open_twin(struct cim_device **twin, struct cim_device *dev)
{
	struct cimfw_config cfg;
	int ret;

	if (!twin || !dev)
		return -EINVAL;
	ret = dev->ops->twin_config(dev, &cfg);
	if (ret)
		return ret;
	return cim__embedded_open(twin, &cfg);
}

/* The first version of struct cim_info ends with @seed */
#define CIM__INFO_V1_SIZE \
	(offsetof(struct cim_info, seed) + sizeof(uint64_t))

int cim_device_query(struct cim_device *dev, struct cim_info *info)
{
	struct cim_info out;
	uint32_t size;

	if (!dev || !info || info->size < CIM__INFO_V1_SIZE)
		return -EINVAL;
	size = info->size < sizeof(out) ? info->size : sizeof(out);
	out = dev->info;
	out.size = size;
	memcpy(info, &out, size);
	return 0;
}

enum cim_backend cim_device_backend(const struct cim_device *dev)
{
	return (enum cim_backend)dev->info.backend;
}

int cim_device_check(struct cim_device *dev)
{
	int ret;

	if (!dev)
		return -EINVAL;
	ret = dev->ops->check(dev);
	/* one handle acknowledges for all its layers: they count */
	if (ret == -ECANCELED)
		atomic_fetch_add(&dev->resets_seen, 1);
	return ret;
}

uint64_t cim__device_resets(struct cim_device *dev)
{
	return atomic_load(&dev->resets_seen);
}

int cim_device_reset(struct cim_device *dev)
{
	if (!dev)
		return -EINVAL;
	return dev->ops->reset(dev);
}

static int reserve(struct cim_device *dev, bool ap, uint64_t mask,
		   bool release)
{
	unsigned int count;

	if (!dev || !mask)
		return -EINVAL;
	count = ap ? dev->info.ap_count : dev->info.xbar_count;
	if (count < 64 && mask >> count)
		return -EINVAL;
	return dev->ops->reserve(dev, ap, mask, release);
}

int cim_xbar_reserve(struct cim_device *dev, uint64_t mask)
{
	return reserve(dev, false, mask, false);
}

int cim_xbar_release(struct cim_device *dev, uint64_t mask)
{
	return reserve(dev, false, mask, true);
}

int cim_ap_reserve(struct cim_device *dev, uint64_t mask)
{
	return reserve(dev, true, mask, false);
}

int cim_ap_release(struct cim_device *dev, uint64_t mask)
{
	return reserve(dev, true, mask, true);
}

int cim_device_counters(struct cim_device *dev, struct cim_counters *out)
{
	struct cim_buffer *buf;
	struct cim_cmdbuf *cb;
	int ret;

	if (!dev || !out)
		return -EINVAL;
	ret = cim_buffer_alloc(dev, sizeof(*out), &buf);
	if (ret)
		return ret;
	ret = cim_cmdbuf_create(dev, &cb);
	if (ret)
		goto fail_cmdbuf;
	ret = cim_cmd_counters_read(cb, buf, 0);
	if (!ret)
		ret = cim_run(cb, NULL);
	if (!ret)
		memcpy(out, cim_buffer_ptr(buf), sizeof(*out));
	cim_cmdbuf_destroy(cb);
fail_cmdbuf:
	cim_buffer_free(buf);
	return ret;
}
