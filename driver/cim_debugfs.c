// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: debugfs, cim/<N>/ — test-only knobs: fault injection through the
 * device's FAULT register, a forced recovery, and the ring state.
 *
 * Copyright (C) 2026 The cim authors
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "cim_drv.h"

static struct dentry *cim_debugfs_root;

/* fault: write CIM_FAULT_* bits, read the register back */
static int cim_fault_get(void *data, u64 *val)
{
	*val = cim_read(data, CIM_REG_FAULT);
	return 0;
}

static int cim_fault_set(void *data, u64 val)
{
	struct cim_device *cdev = data;

	if (!(cdev->geo.caps & CIM_CAPS_FAULT_INJECT))
		return -EOPNOTSUPP;
	if (val & ~(u64)CIM_FAULT_VALID_MASK)
		return -EINVAL;
	cim_write(cdev, CIM_REG_FAULT, val);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(cim_fault_fops, cim_fault_get, cim_fault_set,
			 "%#llx\n");

static int cim_force_recovery_set(void *data, u64 val)
{
	return cim_reset_recover(data, false);
}
DEFINE_DEBUGFS_ATTRIBUTE(cim_force_recovery_fops, NULL,
			 cim_force_recovery_set, "%llu\n");

static int cim_ring_show(struct seq_file *s, void *unused)
{
	struct cim_device *cdev = s->private;
	struct cim_job *job;

	mutex_lock(&cdev->lock);
	seq_printf(s, "status %#x control %#x int_status %#x fault %#x\n",
		   cim_read(cdev, CIM_REG_STATUS),
		   cim_read(cdev, CIM_REG_CONTROL),
		   cim_read(cdev, CIM_REG_INT_STATUS),
		   cim_read(cdev, CIM_REG_FAULT));
	seq_printf(s, "head %u tail %u done %llu next %llu inflight %u\n",
		   cim_read(cdev, CIM_REG_RING_HEAD), cdev->tail,
		   cdev->done_hw_seqno, cdev->next_hw_seqno, cdev->ninflight);
	list_for_each_entry(job, &cdev->inflight, node)
		seq_printf(s, "job %llu: %u bytes, %u bos, file seqno %llu\n",
			   job->hw_seqno, job->cmd_size, job->nbos,
			   job->fence->base.seqno);
	mutex_unlock(&cdev->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cim_ring);

static int cim_bo_list_show(struct seq_file *s, void *unused)
{
	struct cim_device *cdev = s->private;
	struct cim_file *file;
	struct cim_bo *bo;
	int handle;

	mutex_lock(&cdev->lock);
	list_for_each_entry(file, &cdev->files, node) {
		seq_printf(s, "file %p: seqno %llu%s\n", file, file->seqno,
			   file->guilty ? " guilty" : "");
		mutex_lock(&file->lock);
		idr_for_each_entry(&file->bos, bo, handle)
			seq_printf(s, "  bo %d: %zu bytes, refs %u\n", handle,
				   bo->size, kref_read(&bo->refcount));
		mutex_unlock(&file->lock);
	}
	mutex_unlock(&cdev->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cim_bo_list);

/* cim/ lives as long as the module: a reload must find no stale one */
void cim_debugfs_register(void)
{
	cim_debugfs_root = debugfs_create_dir(CIM_DRIVER_NAME, NULL);
}

void cim_debugfs_unregister(void)
{
	debugfs_remove_recursive(cim_debugfs_root);
	cim_debugfs_root = NULL;
}

void cim_debugfs_init(struct cim_device *cdev)
{
	char name[16];

	snprintf(name, sizeof(name), "%d", cdev->minor_id);
	cdev->debugfs = debugfs_create_dir(name, cim_debugfs_root);
	debugfs_create_file_unsafe("fault", 0600, cdev->debugfs, cdev,
				   &cim_fault_fops);
	debugfs_create_file_unsafe("force_recovery", 0200, cdev->debugfs, cdev,
				   &cim_force_recovery_fops);
	debugfs_create_file("ring", 0400, cdev->debugfs, cdev, &cim_ring_fops);
	debugfs_create_file("bo_list", 0400, cdev->debugfs, cdev,
			    &cim_bo_list_fops);
}

void cim_debugfs_fini(struct cim_device *cdev)
{
	debugfs_remove_recursive(cdev->debugfs);
	cdev->debugfs = NULL;
}
