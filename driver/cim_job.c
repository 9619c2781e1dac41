// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: jobs. SUBMIT copies a command buffer into kernel-owned DMA memory,
 * has cim_cmdbuf.c validate it and relocate its buffer references, and
 * queues it; completion signals the job's dma_fence; WAIT and sync_file
 * fds wait on it. Crossbar and AP reservations live here too: the
 * validator enforces them under the same lock.
 *
 * Copyright (C) 2026 The cim authors
 */

#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>

#include "cim_drv.h"
#include "cim_trace.h"

/* Fences ------------------------------------------------------------------ */

static const char *cim_fence_driver_name(struct dma_fence *f)
{
	return CIM_DRIVER_NAME;
}

static const char *cim_fence_timeline_name(struct dma_fence *f)
{
	return "cim-job";
}

/*
 * A sync_file fd can outlive the module; every fence holds a module
 * reference, so its ops stay in memory until the last put. The reference is
 * taken while the module is known to be live (an ioctl or a sysfs read).
 */
static void cim_fence_release(struct dma_fence *f)
{
	dma_fence_free(f);
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops cim_fence_ops = {
	.get_driver_name = cim_fence_driver_name,
	.get_timeline_name = cim_fence_timeline_name,
	.release = cim_fence_release,
};

static void cim_fence_init(struct cim_fence *fence, u64 context, u64 seqno)
{
	__module_get(THIS_MODULE);
	dma_fence_init(&fence->base, &cim_fence_ops, &fence->lock, context,
		       seqno);
}

void cim_fence_history_release(struct cim_file *file)
{
	struct cim_fence *fence;
	unsigned long seqno;

	mutex_lock(&file->lock);
	xa_for_each(&file->fences, seqno, fence)
		dma_fence_put(&fence->base);
	xa_destroy(&file->fences);
	mutex_unlock(&file->lock);
}

/* Jobs -------------------------------------------------------------------- */

static void cim_job_free(struct cim_job *job)
{
	u32 i;

	if (job->cmds && !cim_job_cmds_inline(job->cmd_size))
		dma_free_coherent(&job->cdev->pdev->dev, job->cmd_size,
				  job->cmds, job->cmds_dma);
	if (job->buf)
		dma_pool_free(job->cdev->job_pool, job->buf, job->buf_dma);
	for (i = 0; i < job->nbos; i++)
		cim_bo_put(job->bos[i]);
	kfree(job->bos);
	if (job->fence)
		dma_fence_put(&job->fence->base);
	if (job->file)
		cim_file_put(job->file);
	kfree(job);
}

/* Free a job that was never queued (its fence never initialised) */
static void cim_job_discard(struct cim_job *job)
{
	kfree(job->fence);
	job->fence = NULL;
	cim_job_free(job);
}

/* End a job: record its outcome, signal its fence and free it */
static void cim_job_end_locked(struct cim_device *cdev, struct cim_job *job,
			       u32 status, int error)
{
	struct cim_fence *fence = job->fence;

	lockdep_assert_held(&cdev->lock);

	fence->status = status;
	trace_cim_job_complete(cdev, job, status, error);
	if (error)
		dma_fence_set_error(&fence->base, error);
	dma_fence_signal(&fence->base);
	list_del(&job->node);
	cdev->ninflight--;
	cdev->jobs_completed++;
	if (job->file)
		atomic64_inc(&job->file->completed);
	cim_job_free(job);
}

/**
 * cim_job_retire_done_locked() - end every job the device completed
 * @cdev: the device
 *
 * Context: cdev->lock held; called from the interrupt thread, the hang
 * check and WAIT.
 */
void cim_job_retire_done_locked(struct cim_device *cdev)
{
	struct cim_job *job, *tmp;
	u64 done;

	lockdep_assert_held(&cdev->lock);

	done = cim_hw_done_seqno(cdev);
	if (done == cdev->done_hw_seqno)
		return;
	cdev->done_hw_seqno = done;
	cdev->last_progress = jiffies;
	list_for_each_entry_safe(job, tmp, &cdev->inflight, node) {
		const struct cim_job_completion *rec = job->buf;
		struct cim_fence *fence = job->fence;

		if (job->hw_seqno > done)
			break;
		/* The record is written before DONE_SEQNO moves */
		dma_rmb();
		memcpy(&fence->done, rec, sizeof(fence->done));
		if (fence->done.seqno != job->hw_seqno) {
			cim_warn(cdev, "completion of seqno %llu reads %llu\n",
				 job->hw_seqno, fence->done.seqno);
			cim_job_end_locked(cdev, job, CIM_ST_DMA, -EIO);
			continue;
		}
		cdev->busy_ps += fence->done.device_time_ps;
		cdev->energy_fj += fence->done.energy_fj;
		/* Stopped by the hang check: its owner alone pays for it */
		if (job->aborting && fence->done.status == CIM_ST_ABORTED) {
			cdev->jobs_timed_out++;
			cim_job_end_locked(cdev, job, CIM_JOB_TIMEDOUT,
					   -ETIMEDOUT);
			continue;
		}
		cim_job_end_locked(cdev, job, fence->done.status,
				   fence->done.status ? -EIO : 0);
	}
	wake_up_all(&cdev->ring_wq);
}

/**
 * cim_job_retire_done() - end every job the device completed, now
 * @cdev: the device
 *
 * What the interrupt thread does; WAIT calls it too, rather than sleep
 * until the interrupt thread gets there.
 *
 * Context: sleeps; takes cdev->lock.
 */
void cim_job_retire_done(struct cim_device *cdev)
{
	mutex_lock(&cdev->lock);
	if (cdev->state == CIM_STATE_OPERATIONAL)
		cim_job_retire_done_locked(cdev);
	mutex_unlock(&cdev->lock);
}

/* As above, but a signal ends the wait for the lock (a reset may hold it) */
static void cim_job_retire_done_interruptible(struct cim_device *cdev)
{
	if (mutex_lock_interruptible(&cdev->lock))
		return;
	if (cdev->state == CIM_STATE_OPERATIONAL)
		cim_job_retire_done_locked(cdev);
	mutex_unlock(&cdev->lock);
}

/**
 * cim_job_abort_all_locked() - end every job in flight after a reset
 * @cdev: the device, reset or gone
 * @guilty: the job that hung it, or NULL
 *
 * @guilty ends with CIM_JOB_TIMEDOUT (-ETIMEDOUT), the others with
 * CIM_JOB_CANCELED (-ECANCELED).
 *
 * Context: cdev->lock held.
 */
void cim_job_abort_all_locked(struct cim_device *cdev, struct cim_job *guilty)
{
	struct cim_job *job, *tmp;

	lockdep_assert_held(&cdev->lock);

	list_for_each_entry_safe(job, tmp, &cdev->inflight, node) {
		memset(&job->fence->done, 0, sizeof(job->fence->done));
		if (job == guilty)
			cim_job_end_locked(cdev, job, CIM_JOB_TIMEDOUT,
					   -ETIMEDOUT);
		else
			cim_job_end_locked(cdev, job, CIM_JOB_CANCELED,
					   -ECANCELED);
	}
	wake_up_all(&cdev->ring_wq);
}

/* Submit ------------------------------------------------------------------ */

static int cim_job_lookup_bos(struct cim_file *file, struct cim_job *job,
			      const struct cim_submit *args)
{
	u32 *handles;
	int ret = 0;
	u32 i;

	if (!args->bo_count)
		return 0;
	handles = memdup_user(u64_to_user_ptr(args->bo_handles_ptr),
			      array_size(args->bo_count, sizeof(u32)));
	if (IS_ERR(handles))
		return PTR_ERR(handles);
	job->bos = kcalloc(args->bo_count, sizeof(*job->bos), GFP_KERNEL);
	if (!job->bos) {
		ret = -ENOMEM;
		goto out_free_handles;
	}
	for (i = 0; i < args->bo_count; i++) {
		job->bos[i] = cim_bo_lookup(file, handles[i]);
		if (!job->bos[i]) {
			ret = -ENOENT;
			break;
		}
		job->nbos++;
	}
out_free_handles:
	kfree(handles);
	return ret;
}

/*
 * The job's DMA memory: the completion record, and room for @cmd_size bytes
 * of commands. Charged to the caller's memory cgroup: a file may keep a
 * ring's worth of 4 MiB jobs queued.
 */
static int cim_job_alloc_buf(struct cim_device *cdev, struct cim_job *job)
{
	job->buf = dma_pool_alloc(cdev->job_pool, GFP_KERNEL, &job->buf_dma);
	if (!job->buf)
		return -ENOMEM;
	memset(job->buf, 0, CIM_JOB_CMD_OFFSET);
	if (cim_job_cmds_inline(job->cmd_size)) {
		job->cmds = (u8 *)job->buf + CIM_JOB_CMD_OFFSET;
		job->cmds_dma = job->buf_dma + CIM_JOB_CMD_OFFSET;
		return 0;
	}
	job->cmds = dma_alloc_coherent(&cdev->pdev->dev, job->cmd_size,
				       &job->cmds_dma,
				       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	return job->cmds ? 0 : -ENOMEM;
}

/*
 * Allocate the job and copy its commands out of the command buffer BO.
 * Returns inside cim_device_enter(): the caller exits once the job is
 * queued or discarded.
 */
static struct cim_job *cim_job_create(struct cim_file *file,
				      const struct cim_submit *args)
{
	struct cim_device *cdev = file->cdev;
	struct cim_job *job;
	struct cim_bo *cmdbuf;
	int ret;

	cmdbuf = cim_bo_lookup(file, args->cmdbuf_handle);
	if (!cmdbuf)
		return ERR_PTR(-ENOENT);
	if ((u64)args->cmdbuf_offset + args->cmdbuf_size > cmdbuf->size) {
		ret = -EINVAL;
		goto err_put_cmdbuf;
	}

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job) {
		ret = -ENOMEM;
		goto err_put_cmdbuf;
	}
	kref_get(&file->refcount);
	job->cdev = cdev;
	job->file = file;
	job->cmd_size = args->cmdbuf_size;
	ret = cim_job_lookup_bos(file, job, args);
	if (ret)
		goto err_free_job;

	job->fence = kzalloc(sizeof(*job->fence), GFP_KERNEL);
	if (!job->fence) {
		ret = -ENOMEM;
		goto err_free_job;
	}
	spin_lock_init(&job->fence->lock);

	if (!cim_device_enter(cdev)) {
		ret = -ENODEV;
		goto err_free_job;
	}
	ret = cim_job_alloc_buf(cdev, job);
	if (ret) {
		cim_job_discard(job);
		cim_device_exit(cdev);
		goto err_put_cmdbuf;
	}
	/* From here on only the copy counts: user space may change the BO */
	memcpy(job->cmds, (u8 *)cmdbuf->vaddr + args->cmdbuf_offset,
	       job->cmd_size);
	cim_bo_put(cmdbuf);
	return job;

err_free_job:
	cim_job_discard(job);
err_put_cmdbuf:
	cim_bo_put(cmdbuf);
	return ERR_PTR(ret);
}

static bool cim_job_slot_free(struct cim_device *cdev)
{
	return READ_ONCE(cdev->state) != CIM_STATE_RESETTING &&
	       READ_ONCE(cdev->ninflight) < CIM_RING_ENTRIES - 1;
}

/* Wait for a free ring slot; returns with cdev->lock held, or an error */
static int cim_job_wait_slot(struct cim_device *cdev)
{
	int ret;

	for (;;) {
		mutex_lock(&cdev->lock);
		if (cdev->state == CIM_STATE_FAILED) {
			mutex_unlock(&cdev->lock);
			return -ENODEV;
		}
		if (cdev->state == CIM_STATE_OPERATIONAL &&
		    cdev->ninflight < CIM_RING_ENTRIES - 1)
			return 0;
		mutex_unlock(&cdev->lock);
		ret = wait_event_interruptible(cdev->ring_wq,
					       cim_job_slot_free(cdev));
		if (ret)
			return ret;
	}
}

/* Give the job its device-wide seqno and hand it to the device */
static void cim_job_push_locked(struct cim_device *cdev, struct cim_job *job)
{
	lockdep_assert_held(&cdev->lock);

	job->hw_seqno = cdev->next_hw_seqno++;
	if (list_empty(&cdev->inflight))
		cdev->last_progress = jiffies;
	list_add_tail(&job->node, &cdev->inflight);
	cdev->ninflight++;
	cdev->jobs_submitted++;
	cim_hw_push_locked(cdev, job);
	trace_cim_job_start(cdev, job);
	cim_reset_arm_locked(cdev);
}

/* Give the job its seqno and fence, and hand it to the device */
static void cim_job_queue_locked(struct cim_file *file, struct cim_job *job)
{
	struct cim_device *cdev = file->cdev;
	struct cim_fence *old;
	u64 seqno;

	lockdep_assert_held(&cdev->lock);

	mutex_lock(&file->lock);
	seqno = ++file->seqno;
	cim_fence_init(job->fence, file->fence_context, seqno);
	/* The history holds its own reference; xa_store may need memory */
	dma_fence_get(&job->fence->base);
	if (xa_is_err(xa_store(&file->fences, seqno, job->fence, GFP_KERNEL)))
		dma_fence_put(&job->fence->base);
	if (seqno > CIM_FENCE_HISTORY) {
		old = xa_erase(&file->fences, seqno - CIM_FENCE_HISTORY);
		if (old)
			dma_fence_put(&old->base);
	}
	mutex_unlock(&file->lock);
	cim_job_push_locked(cdev, job);
}

static int cim_submit_check(struct cim_device *cdev,
			    const struct cim_submit *args)
{
	if (args->flags & ~CIM_SUBMIT_VALID_FLAGS)
		return -EINVAL;
	if (args->bo_count > CIM_MAX_SUBMIT_BOS ||
	    (!args->bo_count && args->bo_handles_ptr))
		return -EINVAL;
	if (args->cmdbuf_offset % 8 || args->cmdbuf_size % 8 ||
	    args->cmdbuf_size < 8 || args->cmdbuf_size > cdev->geo.max_cmdbuf)
		return -EINVAL;
	return 0;
}

int cim_submit_ioctl(struct cim_file *file, unsigned int cmd,
		     unsigned long arg)
{
	struct cim_device *cdev = file->cdev;
	struct sync_file *sync = NULL;
	struct cim_submit args;
	struct cim_job *job;
	int fd = -1, ret;

	ret = cim_ioctl_copy_in(&args, sizeof(args), cmd, arg);
	if (ret)
		return ret;
	ret = cim_submit_check(cdev, &args);
	if (ret)
		return ret;
	if (READ_ONCE(file->guilty))
		return -EBADFD;

	job = cim_job_create(file, &args);
	if (IS_ERR(job))
		return PTR_ERR(job);
	if (args.flags & CIM_SUBMIT_FENCE_OUT) {
		fd = get_unused_fd_flags(O_CLOEXEC);
		if (fd < 0) {
			ret = fd;
			goto err_free_job;
		}
	}

	ret = cim_job_wait_slot(cdev);
	if (ret)
		goto err_put_fd;
	if (file->guilty) {
		ret = -EBADFD;
		goto err_unlock;
	}
	ret = cim_cmdbuf_patch_locked(file, job);
	if (ret)
		goto err_unlock;
	cim_job_queue_locked(file, job);
	cim_device_exit(cdev);
	trace_cim_job_submit(cdev, job);
	/* The job may end and be freed once the lock drops */
	args.seqno = job->fence->base.seqno;
	if (fd >= 0) {
		sync = sync_file_create(&job->fence->base);
		if (!sync)
			ret = -ENOMEM;
	}
	mutex_unlock(&cdev->lock);

	args.fence_fd = sync ? fd : -1;
	if (!ret && copy_to_user((void __user *)arg, &args,
				 min_t(size_t, sizeof(args), _IOC_SIZE(cmd))))
		ret = -EFAULT;
	if (ret) {
		/* The job runs anyway; only the fd is not handed out */
		if (sync)
			fput(sync->file);
		if (fd >= 0)
			put_unused_fd(fd);
		return ret;
	}
	if (sync)
		fd_install(fd, sync->file);
	return 0;

err_unlock:
	mutex_unlock(&cdev->lock);
err_put_fd:
	if (fd >= 0)
		put_unused_fd(fd);
err_free_job:
	cim_job_discard(job);
	cim_device_exit(cdev);
	return ret;
}

/* The driver's own jobs ------------------------------------------------- */

/*
 * A job of the driver's own, with a ring slot waiting for it: returns with
 * cdev->lock held, inside cim_device_enter() (as cim_job_create()); the
 * caller queues or discards it, unlocks and exits. ERR_PTR(-ENODEV) once
 * the device is removed or failed, else as cim_job_wait_slot().
 */
static struct cim_job *cim_job_create_kernel(struct cim_device *cdev,
					     const void *cmds, u32 size)
{
	struct cim_job *job;
	int ret;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return ERR_PTR(-ENOMEM);
	job->cdev = cdev;
	job->cmd_size = size;
	job->fence = kzalloc(sizeof(*job->fence), GFP_KERNEL);
	if (!job->fence) {
		cim_job_discard(job);
		return ERR_PTR(-ENOMEM);
	}
	spin_lock_init(&job->fence->lock);
	if (!cim_device_enter(cdev)) {
		cim_job_discard(job);
		return ERR_PTR(-ENODEV);
	}
	if (cim_job_alloc_buf(cdev, job)) {
		cim_job_discard(job);
		cim_device_exit(cdev);
		return ERR_PTR(-ENOMEM);
	}
	memcpy(job->cmds, cmds, size);
	ret = cim_job_wait_slot(cdev);
	if (ret) {
		cim_job_discard(job);
		cim_device_exit(cdev);
		return ERR_PTR(ret);
	}
	return job;
}

/* Queue a job of the driver's own; returns its fence, a reference */
static struct cim_fence *cim_job_queue_kernel_locked(struct cim_device *cdev,
						     struct cim_job *job)
{
	struct cim_fence *fence = job->fence;

	lockdep_assert_held(&cdev->lock);

	cim_fence_init(fence, cdev->kernel_fence_context, ++cdev->kernel_seqno);
	/* The caller's: the job drops its own when it ends */
	dma_fence_get(&fence->base);
	cim_job_push_locked(cdev, job);
	return fence;
}

/**
 * cim_job_run_kernel() - run a command buffer of the driver's own and wait
 * @cdev: the device
 * @cmds: packets, their addresses already bus addresses of kernel memory
 * @size: bytes of @cmds, a multiple of 8
 *
 * The job takes a ring slot like any other (it waits for one, and for a
 * reset to end), is covered by the hang check, and belongs to no file: a
 * hang it causes makes no file guilty. The wait is bounded: the hang check
 * ends every job within job_timeout_ms of no progress, so twice that is
 * ample even behind a full ring.
 *
 * Context: sleeps; takes cdev->lock.
 * Return: 0 once the job completed with CIM_ST_OK, -EIO if it failed or was
 * lost in a reset, -ETIMEDOUT if it did not end in time (it stays queued),
 * -ERESTARTSYS on a signal, -ENODEV for a failed device, -ENOMEM.
 */
int cim_job_run_kernel(struct cim_device *cdev, const void *cmds, u32 size)
{
	struct cim_fence *fence;
	struct cim_job *job;
	unsigned long timeout;
	long ret;

	job = cim_job_create_kernel(cdev, cmds, size);
	if (IS_ERR(job))
		return PTR_ERR(job);
	fence = cim_job_queue_kernel_locked(cdev, job);
	cim_device_exit(cdev);
	timeout = msecs_to_jiffies(2 * READ_ONCE(cdev->job_timeout_ms) +
				   CIM_TDR_PERIOD_MS);
	mutex_unlock(&cdev->lock);

	ret = dma_fence_wait_timeout(&fence->base, true, timeout);
	if (ret > 0)
		ret = fence->status == CIM_ST_OK ? 0 : -EIO;
	else if (!ret)
		ret = -ETIMEDOUT;
	dma_fence_put(&fence->base);
	return ret;
}

/**
 * cim_counters_read() - read the device's counters through a job
 * @cdev: the device
 * @out: the counters; fields the device does not have read as zero
 *
 * A COUNTERS_READ packet into cdev->counters, run on the ring like any
 * job, so the counters include every job before it. Readers are
 * serialized by cdev->counters_lock.
 *
 * Context: sleeps.
 * Return: 0 or -errno, as cim_job_run_kernel().
 */
int cim_counters_read(struct cim_device *cdev, struct cim_counters *out)
{
	struct cim_pkt_counters pkt = {
		.hdr = {
			.opcode = CIM_OP_COUNTERS_READ,
			.size = sizeof(pkt),
		},
		.size = sizeof(*cdev->counters),
		.dst = cdev->counters_dma,
	};
	int ret;

	ret = mutex_lock_interruptible(&cdev->counters_lock);
	if (ret)
		return ret;
	memset(cdev->counters, 0, sizeof(*cdev->counters));
	ret = cim_job_run_kernel(cdev, &pkt, sizeof(pkt));
	/* The fence was signaled after the completion record was read */
	if (!ret)
		memcpy(out, cdev->counters, sizeof(*out));
	mutex_unlock(&cdev->counters_lock);
	return ret;
}

/* Wait -------------------------------------------------------------------- */

int cim_wait_ioctl(struct cim_file *file, unsigned int cmd, unsigned long arg)
{
	struct cim_fence *fence;
	struct cim_wait args;
	long timeout, ret;
	u64 now;

	ret = cim_ioctl_copy_in(&args, sizeof(args), cmd, arg);
	if (ret)
		return ret;
	if (args.flags || args.pad)
		return -EINVAL;

	mutex_lock(&file->lock);
	if (!args.seqno || args.seqno > file->seqno) {
		mutex_unlock(&file->lock);
		return -EINVAL;
	}
	fence = xa_load(&file->fences, args.seqno);
	if (fence)
		dma_fence_get(&fence->base);
	mutex_unlock(&file->lock);
	if (!fence)
		return -ENOENT;

	/*
	 * Look at the device before sleeping: a short job is often done by
	 * now, and retiring it here spares the waiter the interrupt, the
	 * interrupt thread and a wakeup (and a poll sees progress even with
	 * the interrupt on another CPU, not yet handled).
	 */
	if (!dma_fence_is_signaled(&fence->base))
		cim_job_retire_done_interruptible(file->cdev);

	/* Unsigned all the way: a deadline of ~0 means forever, not the past */
	now = ktime_get_ns();
	if (args.timeout_ns <= now) {
		ret = dma_fence_is_signaled(&fence->base) ? 1 : 0;
	} else {
		timeout = min_t(u64, nsecs_to_jiffies64(args.timeout_ns - now) + 1,
				MAX_SCHEDULE_TIMEOUT);
		ret = dma_fence_wait_timeout(&fence->base, true, timeout);
	}
	if (ret <= 0) {
		ret = ret ? ret : -ETIME;
		goto out_put_fence;
	}

	args.status = fence->status;
	args.cmds_done = fence->done.cmds_done;
	args.error_offset = fence->done.error_offset;
	args.error_field = fence->done.error_field;
	args.energy_fj = fence->done.energy_fj;
	args.device_time_ps = fence->done.device_time_ps;
	ret = 0;
	if (copy_to_user((void __user *)arg, &args,
			 min_t(size_t, sizeof(args), _IOC_SIZE(cmd))))
		ret = -EFAULT;
out_put_fence:
	dma_fence_put(&fence->base);
	return ret;
}

/* Reservations ------------------------------------------------------------ */

int cim_reserve_ioctl(struct cim_file *file, unsigned int cmd,
		      unsigned long arg)
{
	struct cim_device *cdev = file->cdev;
	bool xbar = _IOC_NR(cmd) == _IOC_NR(CIM_IOCTL_XBAR_RESERVE) ||
		    _IOC_NR(cmd) == _IOC_NR(CIM_IOCTL_XBAR_RELEASE);
	bool reserve = _IOC_NR(cmd) == _IOC_NR(CIM_IOCTL_XBAR_RESERVE) ||
		       _IOC_NR(cmd) == _IOC_NR(CIM_IOCTL_AP_RESERVE);
	struct cim_file **owner = xbar ? cdev->xbar_owner : cdev->ap_owner;
	u32 count = xbar ? cdev->geo.xbar_count : cdev->geo.ap_count;
	struct cim_pkt_scrub scrub = {
		.hdr = { .opcode = CIM_OP_SCRUB, .size = sizeof(scrub) },
	};
	bool scrubs = cdev->geo.caps & CIM_CAPS_SCRUB;
	struct cim_job *job = NULL;
	struct cim_reserve args;
	unsigned long mask, fresh = 0;
	unsigned int i;
	int ret;

	ret = cim_ioctl_copy_in(&args, sizeof(args), cmd, arg);
	if (ret)
		return ret;
	if (args.flags || args.pad || !args.mask)
		return -EINVAL;
	if (count < 64 && args.mask >> count)
		return -EINVAL;
	mask = args.mask;

	if (!reserve) {
		mutex_lock(&cdev->lock);
		for_each_set_bit(i, &mask, 64)
			if (owner[i] != file)
				ret = -EINVAL;
		if (!ret)
			for_each_set_bit(i, &mask, 64)
				owner[i] = NULL;
		mutex_unlock(&cdev->lock);
		return ret;
	}

	/*
	 * A unit changing hands is scrubbed first: a SCRUB job queued, under
	 * the same lock, ahead of anything its new owner can submit. The
	 * ring runs in order, so there is no need to wait for it, and a reset
	 * that might cancel it wipes every unit anyway.
	 */
	if (scrubs) {
		job = cim_job_create_kernel(cdev, &scrub, sizeof(scrub));
		if (IS_ERR(job))
			return PTR_ERR(job);
	} else {
		mutex_lock(&cdev->lock);
	}
	for_each_set_bit(i, &mask, 64) {
		if (owner[i] && owner[i] != file)
			ret = -EBUSY;
		else if (!owner[i])
			fresh |= BIT(i);
	}
	if (!ret) {
		for_each_set_bit(i, &mask, 64)
			owner[i] = file;
		if (job && fresh) {
			struct cim_pkt_scrub *pkt = job->cmds;

			if (xbar)
				pkt->xbar_mask = fresh;
			else
				pkt->ap_mask = fresh;
			trace_cim_scrub(cdev, job, xbar, fresh);
			dma_fence_put(&cim_job_queue_kernel_locked(cdev,
								   job)->base);
			job = NULL;
		}
	}
	mutex_unlock(&cdev->lock);
	if (job)
		cim_job_discard(job);
	if (scrubs)
		cim_device_exit(cdev);
	return ret;
}

void cim_reserve_release_all(struct cim_file *file)
{
	struct cim_device *cdev = file->cdev;
	unsigned int i;

	mutex_lock(&cdev->lock);
	for (i = 0; i < CIM_MAX_XBARS; i++)
		if (cdev->xbar_owner[i] == file)
			cdev->xbar_owner[i] = NULL;
	for (i = 0; i < CIM_MAX_APS; i++)
		if (cdev->ap_owner[i] == file)
			cdev->ap_owner[i] = NULL;
	mutex_unlock(&cdev->lock);
}
