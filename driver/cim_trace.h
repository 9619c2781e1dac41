/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cim: tracepoints of the job life cycle and of resets, so that what
 * happened to a job can be read with trace-cmd or in tracefs
 * (events/cim/), without rebuilding the driver.
 *
 * Copyright (C) 2026 The cim authors
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM cim

#if !defined(__CIM_TRACE_H__) || defined(TRACE_HEADER_MULTI_READ)
#define __CIM_TRACE_H__

#include <linux/tracepoint.h>

#include "cim_drv.h"

/* A user's SUBMIT accepted: the job has its per-file seqno */
TRACE_EVENT(cim_job_submit,
	    TP_PROTO(struct cim_device *cdev, struct cim_job *job),
	    TP_ARGS(cdev, job),
	    TP_STRUCT__entry(__field(int, minor)
			     __field(u64, seqno)
			     __field(u64, hw_seqno)
			     __field(u32, cmd_size)
			     __field(u32, nbos)
			     __field(pid_t, pid)),
	    TP_fast_assign(__entry->minor = cdev->minor_id;
			   __entry->seqno = job->fence->base.seqno;
			   __entry->hw_seqno = job->hw_seqno;
			   __entry->cmd_size = job->cmd_size;
			   __entry->nbos = job->nbos;
			   __entry->pid = current->tgid;),
	    TP_printk("cim%d seqno=%llu hw_seqno=%llu bytes=%u bos=%u pid=%d",
		      __entry->minor, __entry->seqno, __entry->hw_seqno,
		      __entry->cmd_size, __entry->nbos, __entry->pid)
);

/* A job handed to the device: its descriptor written, the doorbell rung */
TRACE_EVENT(cim_job_start,
	    TP_PROTO(struct cim_device *cdev, struct cim_job *job),
	    TP_ARGS(cdev, job),
	    TP_STRUCT__entry(__field(int, minor)
			     __field(u64, hw_seqno)
			     __field(u32, tail)
			     __field(bool, kernel)),
	    TP_fast_assign(__entry->minor = cdev->minor_id;
			   __entry->hw_seqno = job->hw_seqno;
			   __entry->tail = cdev->tail;
			   __entry->kernel = !job->file;),
	    TP_printk("cim%d hw_seqno=%llu tail=%u%s", __entry->minor,
		      __entry->hw_seqno, __entry->tail,
		      __entry->kernel ? " driver" : "")
);

/* A job ended, in any way: status is enum cim_status or CIM_JOB_* */
TRACE_EVENT(cim_job_complete,
	    TP_PROTO(struct cim_device *cdev, struct cim_job *job, u32 status,
		     int error),
	    TP_ARGS(cdev, job, status, error),
	    TP_STRUCT__entry(__field(int, minor)
			     __field(u64, hw_seqno)
			     __field(u32, status)
			     __field(int, error)
			     __field(u32, cmds_done)
			     __field(u64, energy_fj)
			     __field(u64, device_time_ps)),
	    TP_fast_assign(__entry->minor = cdev->minor_id;
			   __entry->hw_seqno = job->hw_seqno;
			   __entry->status = status;
			   __entry->error = error;
			   __entry->cmds_done = job->fence->done.cmds_done;
			   __entry->energy_fj = job->fence->done.energy_fj;
			   __entry->device_time_ps = job->fence->done.device_time_ps;),
	    TP_printk("cim%d hw_seqno=%llu status=%#x error=%d cmds=%u energy_fj=%llu time_ps=%llu",
		      __entry->minor, __entry->hw_seqno, __entry->status,
		      __entry->error, __entry->cmds_done, __entry->energy_fj,
		      __entry->device_time_ps)
);

/* The hang check gave up on a job: aborted it, or is about to reset */
TRACE_EVENT(cim_job_timeout,
	    TP_PROTO(struct cim_device *cdev, struct cim_job *job, bool abort),
	    TP_ARGS(cdev, job, abort),
	    TP_STRUCT__entry(__field(int, minor)
			     __field(u64, hw_seqno)
			     __field(unsigned int, timeout_ms)
			     __field(bool, abort)),
	    TP_fast_assign(__entry->minor = cdev->minor_id;
			   __entry->hw_seqno = job->hw_seqno;
			   __entry->timeout_ms = cdev->job_timeout_ms;
			   __entry->abort = abort;),
	    TP_printk("cim%d hw_seqno=%llu timeout_ms=%u action=%s",
		      __entry->minor, __entry->hw_seqno, __entry->timeout_ms,
		      __entry->abort ? "abort" : "reset")
);

/* A device reset by the driver, or a PCI function reset, has ended */
TRACE_EVENT(cim_reset,
	    TP_PROTO(struct cim_device *cdev, const char *cause, int ret),
	    TP_ARGS(cdev, cause, ret),
	    TP_STRUCT__entry(__field(int, minor)
			     __string(cause, cause)
			     __field(int, ret)
			     __field(u64, count)),
	    TP_fast_assign(__entry->minor = cdev->minor_id;
			   __assign_str(cause, cause);
			   __entry->ret = ret;
			   __entry->count = cdev->reset_count;),
	    TP_printk("cim%d cause=%s ret=%d resets=%llu", __entry->minor,
		      __get_str(cause), __entry->ret, __entry->count)
);

/* Units that changed hands, scrubbed by a job of the driver's own */
TRACE_EVENT(cim_scrub,
	    TP_PROTO(struct cim_device *cdev, struct cim_job *job, bool xbar,
		     u64 mask),
	    TP_ARGS(cdev, job, xbar, mask),
	    TP_STRUCT__entry(__field(int, minor)
			     __field(bool, xbar)
			     __field(u64, mask)),
	    TP_fast_assign(__entry->minor = cdev->minor_id;
			   __entry->xbar = xbar;
			   __entry->mask = mask;),
	    TP_printk("cim%d %s mask=%#llx", __entry->minor,
		      __entry->xbar ? "crossbars" : "aps", __entry->mask)
);

#endif /* __CIM_TRACE_H__ */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE cim_trace
#include <trace/define_trace.h>
