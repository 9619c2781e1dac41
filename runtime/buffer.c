// SPDX-License-Identifier: MIT
/*
 * Buffers: device-visible memory, reference counted so that a command
 * buffer or a job in flight keeps what it names alive.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdlib.h>

#include "cim_priv.h"

int cim_buffer_alloc(struct cim_device *dev, size_t size,
		     struct cim_buffer **out)
{
	struct cim_buffer *buf;
	int ret;

	if (!dev || !out || !size || size > dev->info.max_buffer_size)
		return -EINVAL;
	buf = calloc(1, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	atomic_init(&buf->refs, 1);
	buf->dev = dev;
	buf->size = size;
	ret = dev->ops->buffer_alloc(dev, buf);
	if (ret)
		goto fail_alloc;
	cim__device_get(dev);
	*out = buf;
	return 0;

fail_alloc:
	free(buf);
	return ret;
}

void cim__buffer_get(struct cim_buffer *buf)
{
	atomic_fetch_add(&buf->refs, 1);
}

void cim__buffer_put(struct cim_buffer *buf)
{
	struct cim_device *dev = buf->dev;

	if (atomic_fetch_sub(&buf->refs, 1) != 1)
		return;
	dev->ops->buffer_free(dev, buf);
	free(buf);
	cim__device_put(dev);
}

void cim_buffer_free(struct cim_buffer *buf)
{
	if (buf)
		cim__buffer_put(buf);
}

void *cim_buffer_ptr(const struct cim_buffer *buf)
{
	return buf->ptr;
}

size_t cim_buffer_size(const struct cim_buffer *buf)
{
	return buf->size;
}

struct cim_device *cim_buffer_device(const struct cim_buffer *buf)
{
	return buf->dev;
}
