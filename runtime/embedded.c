// SPDX-License-Identifier: MIT
/*
 * The embedded backend: the firmware model in this process. Jobs run
 * synchronously in cim_submit() under the device lock; their fences are
 * eventfds that are readable from the start. Buffers are page-aligned host
 * memory, each in a slot of the device's table; bus address = slot << 32 |
 * offset (slot from 1, so that 0 is never a valid address), which the DMA
 * callbacks resolve and bound-check.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "uapi/misc/cim.h"

#include "cim_priv.h"

#define EMB_PAGE	4096u

/**
 * struct emb_device - the embedded backend's state (cim_device.priv)
 * @lock: protects everything below (held while the model runs)
 * @fw: the model
 * @slots: buffer of each bus slot (bus address >> 32, from 1)
 * @nslots: entries of @slots
 * @xbar_mask: reserved crossbars
 * @ap_mask: reserved APs
 * @weights_lost: reset since the last cim_device_check()
 */
struct emb_device {
	pthread_mutex_t lock;
	struct cimfw *fw;
	struct cim_buffer **slots;
	size_t nslots;
	uint64_t xbar_mask;
	uint64_t ap_mask;
	bool weights_lost;
};

static struct emb_device *to_emb(struct cim_device *dev)
{
	return dev->priv;
}

static const char *const cost_names[CIM_COST_COUNT] = {
	[CIM_COST_DEFAULT] = "default",
	[CIM_COST_STT_TCAM] = "stt-tcam",
	[CIM_COST_DESTINY] = "destiny",
};

/* One "key=value" of an "embedded:..." name */
static int parse_one(const char *key, const char *val,
		     struct cim_embedded_options *o)
{
	unsigned int p;
	char *end;

	if (!strcmp(key, "seed")) {
		errno = 0;
		o->seed = strtoull(val, &end, 0);
		if (errno || end == val || *end || *val == '-')
			return -EINVAL;
		o->flags |= CIM_EMB_F_SEED;
		return 0;
	}
	if (!strcmp(key, "cost")) {
		for (p = 0; p < CIM_COST_COUNT; p++) {
			if (!strcmp(val, cost_names[p])) {
				o->cost_preset = p;
				o->flags |= CIM_EMB_F_COST_PRESET;
				return 0;
			}
		}
		return -EINVAL;
	}
	if (!strcmp(key, "preset")) {
		enum cim_device_preset dp;

		if (cimfw_device_preset_parse(val, &dp))
			return -EINVAL;
		o->device_preset = dp;
		o->flags |= CIM_EMB_F_DEVICE_PRESET;
		return 0;
	}
	if (!strcmp(key, "noise") && !strcmp(val, "off")) {
		o->flags |= CIM_EMB_F_NO_NOISE;
		return 0;
	}
	if (!strcmp(key, "variation") && !strcmp(val, "off")) {
		o->flags |= CIM_EMB_F_NO_VARIATION;
		return 0;
	}
	return -EINVAL;
}

int cim__embedded_parse(const char *args, struct cim_embedded_options *opts)
{
	char buf[256], *save = NULL, *tok, *eq;
	int ret;

	memset(opts, 0, sizeof(*opts));
	opts->size = sizeof(*opts);
	if (strlen(args) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, args);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (!eq)
			return -EINVAL;
		*eq = '\0';
		ret = parse_one(tok, eq + 1, opts);
		if (ret)
			return ret;
	}
	return 0;
}

/* The first version of the options ends with @config, the second @pad2 */
#define EMB_OPTS_V1_SIZE \
	(offsetof(struct cim_embedded_options, config) + sizeof(void *))
#define EMB_OPTS_V2_SIZE \
	(offsetof(struct cim_embedded_options, pad2) + sizeof(uint32_t))

int cim__embedded_config(const struct cim_embedded_options *o,
			 struct cimfw_config *cfg)
{
	cimfw_config_default(cfg);
	if (!o)
		return 0;
	if (o->size < EMB_OPTS_V1_SIZE || o->flags & ~CIM_EMB_VALID_FLAGS ||
	    o->pad)
		return -EINVAL;
	if (o->size >= EMB_OPTS_V2_SIZE && o->pad2)
		return -EINVAL;
	if (o->config)
		*cfg = *o->config;
	if (o->flags & CIM_EMB_F_DEVICE_PRESET) {
		if (o->size < EMB_OPTS_V2_SIZE ||
		    cimfw_device_preset(o->device_preset, cfg))
			return -EINVAL;
	}
	if (o->flags & CIM_EMB_F_SEED)
		cfg->seed = o->seed;
	if (o->flags & CIM_EMB_F_COST_PRESET) {
		if (o->cost_preset >= CIM_COST_COUNT)
			return -EINVAL;
		cfg->cost_preset = o->cost_preset;
		if (cimfw_cost_preset(cfg->cost_preset, &cfg->cost))
			return -EINVAL;
	}
	/* cim-pci's noise=off and variation=off call the same */
	if (o->flags & CIM_EMB_F_NO_NOISE)
		cimfw_config_no_noise(cfg);
	if (o->flags & CIM_EMB_F_NO_VARIATION)
		cimfw_config_no_variation(cfg);
	return cimfw_config_check(cfg) ? -EINVAL : 0;
}

/* The buffer behind [@addr, @addr + @len), or NULL; under emb->lock */
static void *emb_resolve(struct emb_device *emb, uint64_t addr, size_t len)
{
	uint64_t slot = addr >> 32, off = (uint32_t)addr;
	struct cim_buffer *buf;

	if (!slot || slot > emb->nslots)
		return NULL;
	buf = emb->slots[slot - 1];
	if (!buf || off > buf->size || len > buf->size - off)
		return NULL;
	return (char *)buf->ptr + off;
}

static int emb_dma_read(void *opaque, uint64_t addr, void *dst, size_t len)
{
	void *src = emb_resolve(opaque, addr, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

/* the job's buffers are this process's memory: no copy needed */
static void *emb_dma_map(void *opaque, uint64_t addr, size_t len)
{
	return emb_resolve(opaque, addr, len);
}

static int emb_dma_write(void *opaque, uint64_t addr, const void *src,
			 size_t len)
{
	void *dst = emb_resolve(opaque, addr, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

static int emb_buffer_alloc(struct cim_device *dev, struct cim_buffer *buf)
{
	struct emb_device *emb = to_emb(dev);
	struct cim_buffer **slots;
	size_t i;
	int ret = 0;

	buf->map_size = (buf->size + EMB_PAGE - 1) & ~(size_t)(EMB_PAGE - 1);
	buf->ptr = aligned_alloc(EMB_PAGE, buf->map_size);
	if (!buf->ptr)
		return -ENOMEM;
	memset(buf->ptr, 0, buf->map_size);
	pthread_mutex_lock(&emb->lock);
	for (i = 0; i < emb->nslots && emb->slots[i]; i++)
		;
	if (i == emb->nslots) {
		slots = realloc(emb->slots, (i + 16) * sizeof(*slots));
		if (!slots) {
			ret = -ENOMEM;
			goto fail_slots;
		}
		memset(slots + i, 0, 16 * sizeof(*slots));
		emb->slots = slots;
		emb->nslots = i + 16;
	}
	emb->slots[i] = buf;
	buf->bus = (uint64_t)(i + 1) << 32;
	pthread_mutex_unlock(&emb->lock);
	return 0;

fail_slots:
	pthread_mutex_unlock(&emb->lock);
	free(buf->ptr);
	return ret;
}

static void emb_buffer_free(struct cim_device *dev, struct cim_buffer *buf)
{
	struct emb_device *emb = to_emb(dev);

	pthread_mutex_lock(&emb->lock);
	emb->slots[(buf->bus >> 32) - 1] = NULL;
	pthread_mutex_unlock(&emb->lock);
	free(buf->ptr);
}

/*
 * The driver's rules (include/uapi/misc/cim.h struct cim_reserve), and its
 * scrub of the units that change hands, so that both backends see the
 * same state and the same costs.
 */
static int emb_reserve(struct cim_device *dev, bool ap, uint64_t mask,
		       bool release)
{
	struct emb_device *emb = to_emb(dev);
	uint64_t *held = ap ? &emb->ap_mask : &emb->xbar_mask;
	struct cim_pkt_scrub scrub = {
		.hdr = { .opcode = CIM_OP_SCRUB, .size = sizeof(scrub) },
	};
	struct cimfw_dma dma = { .opaque = emb };
	struct cim_job_completion done;
	int ret = 0;

	pthread_mutex_lock(&emb->lock);
	if (!release) {
		if (ap)
			scrub.ap_mask = mask & ~*held;
		else
			scrub.xbar_mask = mask & ~*held;
		if ((scrub.ap_mask || scrub.xbar_mask) &&
		    cimfw_execute(emb->fw, &scrub, sizeof(scrub), &dma, &done))
			ret = -EIO;
		else
			*held |= mask;
	} else if ((*held & mask) != mask) {
		ret = -EINVAL;
	} else {
		*held &= ~mask;
	}
	pthread_mutex_unlock(&emb->lock);
	return ret;
}

static int emb_submit(struct cim_device *dev, struct cim_cmdbuf *cb,
		      struct cim_job *job)
{
	struct emb_device *emb = to_emb(dev);
	struct cimfw_dma dma = {
		.opaque = emb, .read = emb_dma_read, .write = emb_dma_write,
		.map = emb_dma_map,
	};
	struct cim_job_completion done;
	int ret = 0;

	if (!job->no_fence) {
		job->fence_fd = eventfd(1, EFD_CLOEXEC);
		if (job->fence_fd < 0)
			return -errno;
	}
	pthread_mutex_lock(&emb->lock);
	if (emb->weights_lost)
		ret = -ECANCELED;
	else if (cb->xbar_used & ~emb->xbar_mask || cb->ap_used & ~emb->ap_mask)
		ret = -EACCES;
	else
		cimfw_execute(emb->fw, cb->words, cb->len, &dma, &done);
	pthread_mutex_unlock(&emb->lock);
	if (ret) {
		if (job->fence_fd >= 0)
			close(job->fence_fd);
		job->fence_fd = -1;
		return ret;
	}
	cim__job_complete(job, &done);
	return 0;
}

static int emb_wait(struct cim_job *job, uint64_t deadline_ns)
{
	(void)job;
	(void)deadline_ns;
	return 0;	/* every embedded job ended in cim_submit() */
}

static int emb_check(struct cim_device *dev)
{
	struct emb_device *emb = to_emb(dev);
	int ret;

	pthread_mutex_lock(&emb->lock);
	ret = emb->weights_lost ? -ECANCELED : 0;
	emb->weights_lost = false;
	pthread_mutex_unlock(&emb->lock);
	return ret;
}

static int emb_reset(struct cim_device *dev)
{
	struct emb_device *emb = to_emb(dev);

	pthread_mutex_lock(&emb->lock);
	cimfw_reset(emb->fw);
	emb->weights_lost = true;
	pthread_mutex_unlock(&emb->lock);
	return 0;
}

/* An embedded twin of an embedded device: the same model */
static int emb_twin_config(struct cim_device *dev, struct cimfw_config *cfg)
{
	*cfg = *cimfw_config(to_emb(dev)->fw);
	return 0;
}

static void emb_close(struct cim_device *dev)
{
	struct emb_device *emb = to_emb(dev);

	cimfw_destroy(emb->fw);
	free(emb->slots);
	pthread_mutex_destroy(&emb->lock);
	free(emb);
}

static const struct cim__backend_ops emb_ops = {
	.buffer_alloc = emb_buffer_alloc,
	.buffer_free = emb_buffer_free,
	.reserve = emb_reserve,
	.submit = emb_submit,
	.wait = emb_wait,
	.check = emb_check,
	.reset = emb_reset,
	.twin_config = emb_twin_config,
	.close = emb_close,
};

static void emb_info(struct cim_info *in, const struct cimfw_config *cfg)
{
	snprintf(in->name, sizeof(in->name), "embedded");
	in->backend = CIM_BACKEND_EMBEDDED;
	in->api_major = CIM_API_MAJOR;
	in->api_minor = CIM_API_MINOR;
	in->hw_version = CIM_ABI_MAJOR << 16 | CIM_ABI_MINOR;
	in->hw_caps = (cfg->xbar_count ? CIM_CAPS_XBAR | CIM_CAPS_DUU : 0) |
		      (cfg->ap_count ? CIM_CAPS_AP : 0);
	in->xbar_count = cfg->xbar_count;
	in->xbar_rows = cfg->xbar_rows;
	in->xbar_cols = cfg->xbar_cols;
	in->xbar_levels = cfg->levels;
	in->dac_bits = cfg->dac_bits;
	in->adc_bits = cfg->adc_bits;
	in->ap_count = cfg->ap_count;
	in->ap_rows = cfg->ap_rows;
	in->ap_cols = cfg->ap_cols;
	in->ap_domains = cfg->ap_domains;
	in->ap_group_tracks = cfg->ap_group_tracks;
	in->max_batch = CIM_MAX_BATCH;
	in->max_cmdbuf = CIM_MAX_CMDBUF;
	in->max_buffers = CIM__MAX_BUFFERS;
	in->cost_preset = cfg->cost_preset;
	in->device_preset = cfg->device;
	in->job_timeout_ms = 0;
	in->max_buffer_size = CIM__EMB_MAX_BUFFER;
	in->seed = cfg->seed;
}

int cim__embedded_open(struct cim_device **out, const struct cimfw_config *cfg)
{
	struct cim_device *dev;
	struct emb_device *emb;
	int ret;

	emb = calloc(1, sizeof(*emb));
	if (!emb)
		return -ENOMEM;
	if (pthread_mutex_init(&emb->lock, NULL)) {
		ret = -ENOMEM;
		goto fail_lock;
	}
	ret = cimfw_create(cfg, &emb->fw);
	if (ret)
		goto fail_fw;
	dev = cim__device_new(&emb_ops, emb);
	if (!dev) {
		ret = -ENOMEM;
		goto fail_dev;
	}
	emb_info(&dev->info, cfg);
	*out = dev;
	return 0;

fail_dev:
	cimfw_destroy(emb->fw);
fail_fw:
	pthread_mutex_destroy(&emb->lock);
fail_lock:
	free(emb);
	return ret;
}
