/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cim: driver-wide types, shared by every file of cim.ko
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef __CIM_DRV_H__
#define __CIM_DRV_H__

#include <linux/device.h>
#include <linux/dma-fence.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

/*
 * cim_hw.h declares its little-endian fields as plain __u32/__u64, shared
 * with user space and the device model: the driver reads and writes them
 * natively, so it only builds for little-endian machines.
 */
#ifdef __BIG_ENDIAN
#error "cim.ko accesses the little-endian device structures natively"
#endif

#define CIM_DRIVER_NAME		"cim"
#define CIM_RING_ENTRIES	64
#define CIM_MAX_BO_SIZE		(4ul << 20)
#define CIM_FENCE_HISTORY	1024
#define CIM_JOB_TIMEOUT_MS	5000
#define CIM_TDR_PERIOD_MS	250

#define cim_err(cdev, fmt, ...) \
	dev_err(&(cdev)->pdev->dev, "%s(): " fmt, __func__, ##__VA_ARGS__)
#define cim_warn(cdev, fmt, ...) \
	dev_warn(&(cdev)->pdev->dev, "%s(): " fmt, __func__, ##__VA_ARGS__)
#define cim_info(cdev, fmt, ...) \
	dev_info(&(cdev)->pdev->dev, fmt, ##__VA_ARGS__)
/* User-caused failures go here: they must not flood the kernel log */
#define cim_dbg(cdev, fmt, ...) \
	dev_dbg(&(cdev)->pdev->dev, "%s(): " fmt, __func__, ##__VA_ARGS__)

/**
 * enum cim_state - what the device can do now
 * @CIM_STATE_OPERATIONAL: accepting jobs
 * @CIM_STATE_RESETTING: recovering from a hang or halt
 * @CIM_STATE_FAILED: a reset did not bring it back; every ioctl fails
 */
enum cim_state {
	CIM_STATE_OPERATIONAL,
	CIM_STATE_RESETTING,
	CIM_STATE_FAILED,
};

/**
 * struct cim_geometry - the device's read-only geometry registers
 */
struct cim_geometry {
	u32 version, caps;
	u32 xbar_count, xbar_rows, xbar_cols, xbar_levels;
	u32 dac_bits, adc_bits;
	u32 ap_count, ap_rows, ap_cols, ap_domains, ap_group_tracks;
	u32 max_batch, max_cmdbuf, cost_preset, device_preset;
	u64 seed;
};

struct cim_file;

/**
 * struct cim_device - one bound PCI function
 * @pdev: the PCI device
 * @regs: BAR0
 * @misc: /dev/cimN
 * @name: "cimN"
 * @minor_id: N, from cim_ida
 * @geo: geometry, read at probe
 * @nvec: interrupt vectors requested
 * @ring: the submission ring, CIM_RING_ENTRIES descriptors
 * @ring_dma: its bus address
 * @lock: protects the ring, @tail, @next_hw_seqno, @inflight, @state,
 *        @xbar_owner, @ap_owner, the statistics and the job timer state
 * @tail: free-running ring tail (the next slot written)
 * @next_hw_seqno: device-wide seqno of the next job, from 1
 * @done_hw_seqno: last seqno the device reported complete
 * @inflight: jobs handed to the device, oldest first (struct cim_job.node)
 * @ninflight: entries of @inflight
 * @ring_wq: submitters waiting for a ring slot
 * @state: enum cim_state
 * @xbar_owner: the file holding each crossbar, or NULL
 * @ap_owner: the file holding each AP, or NULL
 * @reset_count: resets done
 * @jobs_submitted: jobs handed to the device
 * @jobs_completed: jobs that ended, in any way
 * @jobs_timed_out: jobs killed as hung
 * @busy_ps: modelled device time, summed over completion records
 * @energy_fj: modelled energy, summed over completion records
 * @last_progress: jiffies when the device last completed a job, or the
 *                 ring went from empty to busy
 * @job_timeout_ms: no progress this long with jobs in flight is a hang
 * @abort_deadline: jiffies by which an aborted job must have ended, else
 *                  the device is reset
 * @tdr_work: the hang check, runs while jobs are in flight
 * @recover_work: the reset, queued by the error interrupt
 * @counters_lock: serializes the driver's own COUNTERS_READ jobs and
 *                 protects @counters
 * @counters: kernel DMA buffer the device writes its counters to
 * @counters_dma: its bus address
 * @job_pool: DMA buffers of small jobs (CIM_JOB_POOL_SIZE bytes each);
 *            destroyed by remove() once no ioctl can allocate from it
 * @kernel_fence_context: dma_fence context of the driver's own jobs
 * @kernel_seqno: the last seqno of the driver's own jobs, under @lock
 * @debugfs: cim/<N>/ in debugfs
 * @files: open files (struct cim_file.node), under @lock
 * @unplug_sem: held for reading while a job is built (cim_device_enter()),
 *              for writing by remove() while it waits for those to end
 * @unplugged: remove() has run: ioctls fail with -ENODEV (under
 *             @unplug_sem)
 * @bos_lock: protects @bos
 * @bos: every buffer of the device with its memory (struct cim_bo.node),
 *       whether or not a handle still names it, so that remove() can take
 *       the memory back from buffers that outlive the binding
 * @refcount: held by the PCI binding and by each open file
 */
struct cim_device {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct miscdevice misc;
	char name[16];
	int minor_id;
	struct cim_geometry geo;
	int nvec;

	struct cim_job_desc *ring;
	dma_addr_t ring_dma;

	struct mutex lock;	/* see @lock above */
	u32 tail;
	u64 next_hw_seqno;
	u64 done_hw_seqno;
	struct list_head inflight;
	unsigned int ninflight;
	wait_queue_head_t ring_wq;
	enum cim_state state;
	struct cim_file *xbar_owner[CIM_MAX_XBARS];
	struct cim_file *ap_owner[CIM_MAX_APS];
	u64 reset_count;
	u64 jobs_submitted;
	u64 jobs_completed;
	u64 jobs_timed_out;
	u64 busy_ps;
	u64 energy_fj;
	unsigned long last_progress;
	unsigned int job_timeout_ms;
	unsigned long abort_deadline;
	struct delayed_work tdr_work;
	struct work_struct recover_work;

	struct mutex counters_lock;	/* see @counters_lock above */
	struct cim_counters *counters;
	dma_addr_t counters_dma;
	struct dma_pool *job_pool;
	u64 kernel_fence_context;
	u64 kernel_seqno;

	struct dentry *debugfs;
	struct list_head files;
	struct rw_semaphore unplug_sem;	/* see @unplug_sem above */
	bool unplugged;
	struct mutex bos_lock;	/* protects @bos */
	struct list_head bos;
	struct kref refcount;
};

/**
 * struct cim_file - one open file of /dev/cimN: the context
 * @cdev: the device (a reference)
 * @node: in cdev->files
 * @lock: protects @bos, @fences, @seqno
 * @bos: handle -> struct cim_bo (one reference each)
 * @fences: seqno -> struct cim_fence (one reference each), the last
 *          CIM_FENCE_HISTORY jobs
 * @seqno: the last seqno issued
 * @completed: jobs of this file that ended (atomic: the completion path
 *             updates it under cdev->lock only)
 * @fence_context: dma_fence context of this file's jobs
 * @guilty: a job of this file hung the device (under cdev->lock)
 * @reset_seen: cdev->reset_count last acknowledged (under cdev->lock)
 * @mapping: the address space its buffers are mapped through, which
 *           remove() empties
 * @bo_quota_lock: protects @bo_count and @bo_bytes
 * @bo_count: buffers created by this file and not yet freed
 * @bo_bytes: their size
 * @refcount: held by the open file, each job and each buffer it created
 */
struct cim_file {
	struct cim_device *cdev;
	struct list_head node;
	struct mutex lock;	/* protects @bos, @fences, @seqno */
	struct idr bos;
	struct xarray fences;
	u64 seqno;
	atomic64_t completed;
	u64 fence_context;
	bool guilty;
	u64 reset_seen;
	struct address_space *mapping;
	spinlock_t bo_quota_lock;	/* protects @bo_count, @bo_bytes */
	unsigned int bo_count;
	u64 bo_bytes;
	struct kref refcount;
};

/**
 * struct cim_bo - a DMA-coherent buffer
 * @cdev: the device (a reference)
 * @owner: the file that created it and pays for it (a reference)
 * @node: in cdev->bos while it has memory
 * @vaddr: kernel mapping; NULL once remove() took the memory back
 * @pages: from then on, a copy of its contents in plain pages, which its
 *         mappings show (an array of @size / PAGE_SIZE, or NULL)
 * @dma: bus address
 * @size: bytes, a multiple of PAGE_SIZE
 * @refcount: held by the handle, each mapping and each job using it
 */
struct cim_bo {
	struct cim_device *cdev;
	struct cim_file *owner;
	struct list_head node;
	void *vaddr;
	struct page **pages;
	dma_addr_t dma;
	size_t size;
	struct kref refcount;
};

/**
 * struct cim_fence - the fence of one job, with its outcome
 * @base: the dma_fence
 * @lock: its lock; per fence, as a fence may outlive the device
 * @status: enum cim_status or CIM_JOB_*, valid once signaled
 * @done: the completion record, valid once signaled
 */
struct cim_fence {
	struct dma_fence base;
	spinlock_t lock;	/* the dma_fence lock */
	u32 status;
	struct cim_job_completion done;
};

/**
 * struct cim_job - a submitted command buffer
 * @node: in cdev->inflight
 * @cdev: the device
 * @file: the submitting file (a reference), or NULL for a job of the
 *        driver's own (cim_job_run_kernel())
 * @fence: its fence (a reference)
 * @hw_seqno: device-wide seqno
 * @buf: CIM_JOB_POOL_SIZE bytes from cdev->job_pool: the completion record
 *       (CIM_JOB_CMD_OFFSET bytes), then the commands if they fit
 * @buf_dma: its bus address
 * @cmds: the commands: in @buf, or a coherent allocation of @cmd_size
 *        bytes of their own
 * @cmds_dma: their bus address
 * @cmd_size: bytes of commands
 * @aborting: the hang check asked the device to abort it (under cdev->lock)
 * @bos: the buffers the commands reference (a reference each)
 * @nbos: entries of @bos
 */
struct cim_job {
	struct list_head node;
	struct cim_device *cdev;
	struct cim_file *file;
	struct cim_fence *fence;
	u64 hw_seqno;
	void *buf;
	dma_addr_t buf_dma;
	void *cmds;
	dma_addr_t cmds_dma;
	u32 cmd_size;
	bool aborting;
	struct cim_bo **bos;
	u32 nbos;
};

#define CIM_JOB_CMD_OFFSET	64
/*
 * Every job's completion record, and the commands of a small job, come from
 * a dma_pool: a fresh coherent page per job (allocated and cleared) cost
 * more than the rest of SUBMIT. Larger commands get an allocation of their
 * own, of exactly their size: with the record in front, a command buffer of
 * max_cmdbuf (4 MiB) asked the page allocator for an order above its
 * maximum, and it warned.
 */
#define cim_job_cmds_inline(size) \
	((size) <= CIM_JOB_POOL_SIZE - CIM_JOB_CMD_OFFSET)
#define CIM_JOB_POOL_SIZE	512

static inline u32 cim_read(struct cim_device *cdev, u32 reg)
{
	return readl(cdev->regs + reg);
}

static inline void cim_write(struct cim_device *cdev, u32 reg, u32 val)
{
	writel(val, cdev->regs + reg);
}

/* cim_drv.c */
void cim_device_put(struct cim_device *cdev);
bool cim_device_enter(struct cim_device *cdev);
void cim_device_exit(struct cim_device *cdev);
void cim_file_put(struct cim_file *file);
long cim_ioctl_copy_in(void *karg, size_t ksize, unsigned int cmd,
		       unsigned long arg);

/* cim_hw.c */
int cim_hw_init(struct cim_device *cdev);
void cim_hw_fini(struct cim_device *cdev);
int cim_hw_irq_init(struct cim_device *cdev);
void cim_hw_irq_fini(struct cim_device *cdev);
int cim_hw_start_locked(struct cim_device *cdev);
void cim_hw_stop_locked(struct cim_device *cdev);
int cim_hw_reset_locked(struct cim_device *cdev);
void cim_hw_push_locked(struct cim_device *cdev, struct cim_job *job);
bool cim_hw_abort_locked(struct cim_device *cdev, struct cim_job *job);
u64 cim_hw_done_seqno(struct cim_device *cdev);

/* cim_bo.c */
struct cim_bo *cim_bo_lookup(struct cim_file *file, u32 handle);
void cim_bo_put(struct cim_bo *bo);
void cim_bo_release_all(struct cim_file *file);
void cim_bo_revoke_all(struct cim_device *cdev);
int cim_bo_create_ioctl(struct cim_file *file, unsigned int cmd,
			unsigned long arg);
int cim_bo_destroy_ioctl(struct cim_file *file, unsigned int cmd,
			 unsigned long arg);
int cim_bo_mmap(struct cim_file *file, struct vm_area_struct *vma);

/* cim_cmdbuf.c */
int cim_cmdbuf_patch_locked(struct cim_file *file, struct cim_job *job);

/* cim_job.c */
int cim_submit_ioctl(struct cim_file *file, unsigned int cmd,
		     unsigned long arg);
int cim_wait_ioctl(struct cim_file *file, unsigned int cmd,
		   unsigned long arg);
int cim_reserve_ioctl(struct cim_file *file, unsigned int cmd,
		      unsigned long arg);
void cim_reserve_release_all(struct cim_file *file);
void cim_job_retire_done_locked(struct cim_device *cdev);
void cim_job_retire_done(struct cim_device *cdev);
void cim_job_abort_all_locked(struct cim_device *cdev, struct cim_job *guilty);
void cim_fence_history_release(struct cim_file *file);
int cim_job_run_kernel(struct cim_device *cdev, const void *cmds, u32 size);
int cim_counters_read(struct cim_device *cdev, struct cim_counters *out);

/* cim_reset.c */
extern const struct pci_error_handlers cim_pci_err_handlers;
void cim_reset_init(struct cim_device *cdev);
void cim_reset_fini(struct cim_device *cdev);
void cim_reset_arm_locked(struct cim_device *cdev);
void cim_reset_trigger(struct cim_device *cdev);
int cim_reset_recover(struct cim_device *cdev, bool hang);

/* cim_sysfs.c */
extern const struct attribute_group *cim_attr_groups[];

/* cim_debugfs.c */
void cim_debugfs_register(void);
void cim_debugfs_unregister(void);
void cim_debugfs_init(struct cim_device *cdev);
void cim_debugfs_fini(struct cim_device *cdev);

#endif /* __CIM_DRV_H__ */
