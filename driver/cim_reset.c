// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: hang detection and recovery. While jobs are in flight a delayed work
 * checks that the device makes progress (completes jobs); with no progress
 * for job_timeout_ms the job at the head of the ring has run too long. The
 * device is first asked to abort that job at its next packet boundary
 * (ABORT_SEQNO): it then ends with -ETIMEDOUT and nobody else notices. Only
 * when the device cannot abort it, or the job has not ended another
 * job_timeout_ms later, is the job declared hung: the
 * device is reset through CONTROL.RESET, the hung job ends with -ETIMEDOUT,
 * every other job in flight with -ECANCELED, the hung job's file is marked
 * guilty (its later submits fail with -EBADFD) and every file sees
 * CIM_CTX_WEIGHTS_LOST. A halted device (error interrupt) is reset the same
 * way, with no file to blame. A function reset from outside the driver
 * (sysfs "reset", FLR by the PCI core) goes through the PCI reset hooks:
 * the jobs the device loses end with -ECANCELED and every file sees
 * CIM_CTX_WEIGHTS_LOST, again with no file to blame.
 *
 * Copyright (C) 2026 The cim authors
 */

#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/pci.h>

#include "cim_drv.h"
#include "cim_trace.h"

/**
 * cim_reset_recover_locked() - reset the device and end the jobs it held
 * @cdev: the device
 * @hang: blame the job at the head of the ring
 *
 * Context: sleeps; cdev->lock held.
 * Return: 0, or -errno when the device did not come back (it is then
 * CIM_STATE_FAILED).
 */
static int cim_reset_recover_locked(struct cim_device *cdev, bool hang)
{
	struct cim_job *guilty = NULL;
	int ret;

	lockdep_assert_held(&cdev->lock);

	/*
	 * RESETTING here means a PCI function reset between its prepare and
	 * done hooks: it owns the device and recovers it. Resetting under it
	 * would find the function disabled and fail it for good.
	 */
	if (cdev->state == CIM_STATE_RESETTING)
		return -EBUSY;
	/* Only an explicit reset (sysfs) retries a failed device */
	if (cdev->state == CIM_STATE_FAILED && hang)
		return -ENODEV;
	cdev->state = CIM_STATE_RESETTING;
	/* Jobs that did complete keep their results */
	cim_job_retire_done_locked(cdev);
	if (hang && !list_empty(&cdev->inflight)) {
		guilty = list_first_entry(&cdev->inflight, struct cim_job,
					  node);
		/* A job of the driver's own blames no file */
		if (guilty->file)
			guilty->file->guilty = true;
		cdev->jobs_timed_out++;
		trace_cim_job_timeout(cdev, guilty, false);
		cim_warn(cdev, "job %llu made no progress in %u ms; resetting\n",
			 guilty->hw_seqno, cdev->job_timeout_ms);
	}
	ret = cim_hw_reset_locked(cdev);
	cim_job_abort_all_locked(cdev, guilty);
	cdev->reset_count++;
	if (!ret)
		ret = cim_hw_start_locked(cdev);
	if (ret) {
		cim_err(cdev, "device did not recover: %d\n", ret);
		cdev->state = CIM_STATE_FAILED;
	} else {
		cdev->state = CIM_STATE_OPERATIONAL;
	}
	trace_cim_reset(cdev, hang ? "hang" : "driver", ret);
	wake_up_all(&cdev->ring_wq);
	return ret;
}

static void cim_reset_uevent(struct cim_device *cdev, int ret)
{
	char *envp[2] = { NULL, NULL };

	envp[0] = ret ? "CIM_EVENT=FAILED" : "CIM_EVENT=RESET";
	if (cdev->misc.this_device)
		kobject_uevent_env(&cdev->misc.this_device->kobj, KOBJ_CHANGE,
				   envp);
}

/**
 * cim_reset_recover() - reset the device now
 * @cdev: the device
 * @hang: blame the job at the head of the ring
 *
 * Context: sleeps; takes cdev->lock.
 * Return: 0 or -errno, as cim_reset_recover_locked(); -EBUSY while a PCI
 * function reset is under way (it recovers the device itself).
 */
int cim_reset_recover(struct cim_device *cdev, bool hang)
{
	int ret;

	mutex_lock(&cdev->lock);
	ret = cim_reset_recover_locked(cdev, hang);
	mutex_unlock(&cdev->lock);
	if (ret != -EBUSY)
		cim_reset_uevent(cdev, ret);
	return ret;
}

static void cim_tdr_work(struct work_struct *work)
{
	struct cim_device *cdev = container_of(to_delayed_work(work),
					       struct cim_device, tdr_work);
	unsigned long timeout;
	struct cim_job *head;
	bool hung = false;
	int ret = 0;

	mutex_lock(&cdev->lock);
	if (cdev->state != CIM_STATE_OPERATIONAL)
		goto out_unlock;
	/* Also catches a completion whose interrupt was lost */
	cim_job_retire_done_locked(cdev);
	if (list_empty(&cdev->inflight))
		goto out_unlock;
	timeout = msecs_to_jiffies(READ_ONCE(cdev->job_timeout_ms));
	head = list_first_entry(&cdev->inflight, struct cim_job, node);
	if (head->aborting) {
		if (time_after(jiffies, cdev->abort_deadline)) {
			cim_warn(cdev, "job %llu did not end when aborted\n",
				 head->hw_seqno);
			hung = true;
		}
	} else if (time_after(jiffies, cdev->last_progress + timeout)) {
		if (cim_hw_abort_locked(cdev, head)) {
			trace_cim_job_timeout(cdev, head, true);
			head->aborting = true;
			cdev->abort_deadline = jiffies + timeout;
			cim_dbg(cdev, "job %llu made no progress in %u ms; aborting\n",
				head->hw_seqno, cdev->job_timeout_ms);
		} else {
			hung = true;
		}
	}
	if (hung)
		ret = cim_reset_recover_locked(cdev, true);
	else
		cim_reset_arm_locked(cdev);
out_unlock:
	mutex_unlock(&cdev->lock);
	if (hung)
		cim_reset_uevent(cdev, ret);
}

static void cim_recover_work(struct work_struct *work)
{
	struct cim_device *cdev = container_of(work, struct cim_device,
					       recover_work);
	int ret = -EAGAIN;

	mutex_lock(&cdev->lock);
	if (cdev->state == CIM_STATE_OPERATIONAL &&
	    cim_read(cdev, CIM_REG_STATUS) & CIM_STATUS_HALTED) {
		cim_err(cdev, "device halted, reason %u; resetting\n",
			cim_read(cdev, CIM_REG_HALT_REASON));
		ret = cim_reset_recover_locked(cdev, false);
	}
	mutex_unlock(&cdev->lock);
	if (ret != -EAGAIN)
		cim_reset_uevent(cdev, ret);
}

/**
 * cim_reset_arm_locked() - schedule the next hang check
 * @cdev: the device, with jobs in flight
 *
 * Context: cdev->lock held.
 */
void cim_reset_arm_locked(struct cim_device *cdev)
{
	lockdep_assert_held(&cdev->lock);

	if (!delayed_work_pending(&cdev->tdr_work))
		queue_delayed_work(system_unbound_wq, &cdev->tdr_work,
				   msecs_to_jiffies(CIM_TDR_PERIOD_MS));
}

/**
 * cim_reset_trigger() - ask for a reset of a halted device
 * @cdev: the device
 *
 * Context: any, including hard interrupt.
 */
void cim_reset_trigger(struct cim_device *cdev)
{
	queue_work(system_unbound_wq, &cdev->recover_work);
}

/*
 * The PCI core is about to reset the function: stop taking jobs and
 * interrupts. Jobs in flight are ended only in reset_done, once the reset
 * guarantees that the device no longer touches their buffers.
 */
static void cim_pci_reset_prepare(struct pci_dev *pdev)
{
	struct cim_device *cdev = pci_get_drvdata(pdev);

	mutex_lock(&cdev->lock);
	if (cdev->state == CIM_STATE_OPERATIONAL) {
		cdev->state = CIM_STATE_RESETTING;
		/* Jobs that did complete keep their results */
		cim_job_retire_done_locked(cdev);
		cim_hw_stop_locked(cdev);
	}
	mutex_unlock(&cdev->lock);
}

static void cim_pci_reset_done(struct pci_dev *pdev)
{
	struct cim_device *cdev = pci_get_drvdata(pdev);
	int ret;

	/*
	 * A device that failed earlier gets its chance too: the function
	 * reset is the strongest the driver has.
	 */
	mutex_lock(&cdev->lock);
	if (cdev->state == CIM_STATE_OPERATIONAL) {
		mutex_unlock(&cdev->lock);
		return;
	}
	cim_job_abort_all_locked(cdev, NULL);
	cdev->reset_count++;
	ret = cim_hw_start_locked(cdev);
	if (ret) {
		cim_err(cdev, "device did not restart after a function reset: %d\n",
			ret);
		cdev->state = CIM_STATE_FAILED;
	} else {
		cdev->state = CIM_STATE_OPERATIONAL;
	}
	trace_cim_reset(cdev, "pci", ret);
	wake_up_all(&cdev->ring_wq);
	mutex_unlock(&cdev->lock);
	cim_reset_uevent(cdev, ret);
}

const struct pci_error_handlers cim_pci_err_handlers = {
	.reset_prepare = cim_pci_reset_prepare,
	.reset_done = cim_pci_reset_done,
};

void cim_reset_init(struct cim_device *cdev)
{
	INIT_DELAYED_WORK(&cdev->tdr_work, cim_tdr_work);
	INIT_WORK(&cdev->recover_work, cim_recover_work);
}

void cim_reset_fini(struct cim_device *cdev)
{
	cancel_delayed_work_sync(&cdev->tdr_work);
	cancel_work_sync(&cdev->recover_work);
}
