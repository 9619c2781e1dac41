/* SPDX-License-Identifier: MIT */
/*
 * libcim internals: the objects behind the opaque handles, the backend
 * interface, and the discovery source interface that tests replace.
 *
 * A backend (kernel.c: /dev/cimN, embedded.c: the model in this process)
 * is an ops table and a state of its own behind cim_device.priv, which
 * only it reads; device.c, buffer.c and job.c go through the ops.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIM_PRIV_H
#define CIM_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "cim.h"
#include "cimfw.h"

#define CIM__ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define CIM__MAX_BUFFERS	64	/* CIM_MAX_SUBMIT_BOS of the uAPI */
/* Embedded buffers: a packet names one array, 1024 x 1024 floats at most */
#define CIM__EMB_MAX_BUFFER	(256u << 20)

struct cim_job;

/**
 * struct cim__backend_ops - what differs between /dev/cimN and the model
 * @buffer_alloc: fill buf->ptr (zeroed, page-aligned) and the backend's
 *                name for the buffer
 * @buffer_free: undo @buffer_alloc
 * @reserve: reserve (@release false) or release units; @ap selects APs
 * @submit: queue @cb as @job, fill job->fence_fd
 * @wait: wait until @deadline_ns (CLOCK_MONOTONIC), fill job->res
 * @check: cim_device_check()
 * @reset: cim_device_reset()
 * @twin_config: the model configuration of an embedded twin
 *               (cim_device_open_twin()); 0 or -EINVAL
 * @close: free the backend's state (dev->priv)
 */
struct cim__backend_ops {
	int (*buffer_alloc)(struct cim_device *dev, struct cim_buffer *buf);
	void (*buffer_free)(struct cim_device *dev, struct cim_buffer *buf);
	int (*reserve)(struct cim_device *dev, bool ap, uint64_t mask,
		       bool release);
	int (*submit)(struct cim_device *dev, struct cim_cmdbuf *cb,
		      struct cim_job *job);
	int (*wait)(struct cim_job *job, uint64_t deadline_ns);
	int (*check)(struct cim_device *dev);
	int (*reset)(struct cim_device *dev);
	int (*twin_config)(struct cim_device *dev, struct cimfw_config *cfg);
	void (*close)(struct cim_device *dev);
};

/**
 * struct cim_device - an open device
 * @refs: the caller's reference plus one per live buffer, cmdbuf and job
 * @ops: the backend
 * @priv: the backend's state, owned and read by the backend only
 * @info: filled at open, read-only afterwards
 * @refs_by_index: packets name buffers as CIM_REF(list index, off), which
 *                 the driver relocates (kernel backend), not by the
 *                 buffer's bus address (embedded backend)
 * @resets_seen: resets acknowledged by cim_device_check() on this handle,
 *               which layers compare with the count they last programmed at
 */
struct cim_device {
	atomic_int refs;
	const struct cim__backend_ops *ops;
	void *priv;
	struct cim_info info;
	bool refs_by_index;
	atomic_uint_fast64_t resets_seen;
};

/* @dev's resets_seen, for the layers */
uint64_t cim__device_resets(struct cim_device *dev);

/**
 * struct cim_buffer - device-visible memory
 * @refs: the caller's, one per command buffer listing it, one per job
 * @dev: owner
 * @ptr: CPU mapping
 * @size: bytes asked for
 * @map_size: bytes mapped (pages)
 * @handle: kernel: the BO handle
 * @bus: embedded: bus address of byte 0
 */
struct cim_buffer {
	atomic_int refs;
	struct cim_device *dev;
	void *ptr;
	size_t size;
	size_t map_size;
	uint32_t handle;
	uint64_t bus;
};

/**
 * struct cim_cmdbuf - packets under construction
 * @dev: owner
 * @words: the packets, 8-byte aligned
 * @len: bytes used
 * @cap: bytes allocated
 * @count: packets
 * @bufs: buffers referenced, each holding a reference; kernel CIM_REF
 *        indices point here
 * @nbufs: entries of @bufs
 * @xbar_used: crossbars the packets name
 * @ap_used: APs the packets name
 * @bo: kernel: the BO the packets are copied into at submit, or NULL
 */
struct cim_cmdbuf {
	struct cim_device *dev;
	uint64_t *words;
	size_t len;
	size_t cap;
	unsigned int count;
	struct cim_buffer *bufs[CIM__MAX_BUFFERS];
	unsigned int nbufs;
	uint64_t xbar_used;
	uint64_t ap_used;
	struct cim_buffer *bo;
};

/**
 * struct cim_job - a submitted command buffer
 * @dev: owner
 * @fence_fd: signals when the job ends
 * @seqno: kernel: for CIM_IOCTL_WAIT
 * @lock: protects @done and @res
 * @done: @res is valid
 * @res: the outcome
 * @bufs: buffers kept alive while the job may run
 * @nbufs: entries of @bufs
 */
struct cim_job {
	struct cim_device *dev;
	int fence_fd;
	bool no_fence;		/* cim_run(): no fence fd wanted */
	uint64_t seqno;
	pthread_mutex_t lock;
	bool done;
	struct cim_job_result res;
	struct cim_buffer *bufs[CIM__MAX_BUFFERS];
	unsigned int nbufs;
};

/* device.c */
void cim__device_get(struct cim_device *dev);
void cim__device_put(struct cim_device *dev);
/* A device on @ops with state @priv, which @ops->close frees */
struct cim_device *cim__device_new(const struct cim__backend_ops *ops,
				   void *priv);
uint64_t cim__now_ns(void);

/* buffer.c */
void cim__buffer_get(struct cim_buffer *buf);
void cim__buffer_put(struct cim_buffer *buf);

/* job.c */
void cim__job_complete(struct cim_job *job,
		       const struct cim_job_completion *done);

/* kernel.c, embedded.c */
int cim__kernel_open(struct cim_device **dev, const char *path);
int cim__embedded_open(struct cim_device **dev,
		       const struct cimfw_config *cfg);
int cim__embedded_parse(const char *args, struct cim_embedded_options *opts);
int cim__embedded_config(const struct cim_embedded_options *opts,
			 struct cimfw_config *cfg);

/* Discovery -------------------------------------------------------------- */

#define CIM__NODE_MAX_ATTRS	16

/**
 * struct cim__node - one misc device as a discovery source sees it
 * @sysname: "cim0"
 * @devnode: "/dev/cim0", or "" if the source knows none
 * @attrs: sysfs attributes of the misc device, name then value
 * @nattrs: entries of @attrs
 * @pci_slot: sysname of the parent PCI device, or "" if none
 * @pci_vendor: its "vendor" attribute ("0x1234"), or ""
 * @pci_device: its "device" attribute, or ""
 */
struct cim__node {
	const char *sysname;
	const char *devnode;
	const char *attrs[CIM__NODE_MAX_ATTRS][2];
	unsigned int nattrs;
	const char *pci_slot;
	const char *pci_vendor;
	const char *pci_device;
};

/**
 * struct cim__discovery - where devices come from
 * @scan: call @cb once per misc device whose sysname matches "cim*"; stop
 *        and return the first non-zero value @cb returns; 0 or -errno
 * @opaque: passed to @scan
 */
struct cim__discovery {
	int (*scan)(void *opaque,
		    int (*cb)(void *arg, const struct cim__node *node),
		    void *arg);
	void *opaque;
};

/* Replace the source (NULL: libudev again); for tests, not thread-safe. */
void cim__discovery_set(const struct cim__discovery *src);

#endif /* CIM_PRIV_H */
