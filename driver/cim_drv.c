// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: PCI probe and remove, the /dev/cimN misc device, its file operations
 * and the ioctl table.
 *
 * Copyright (C) 2026 The cim authors
 */

#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cim_drv.h"

static DEFINE_IDA(cim_ida);

static void cim_device_release(struct kref *kref)
{
	struct cim_device *cdev = container_of(kref, struct cim_device,
					       refcount);

	dma_pool_destroy(cdev->job_pool);
	pci_dev_put(cdev->pdev);
	mutex_destroy(&cdev->bos_lock);
	mutex_destroy(&cdev->counters_lock);
	mutex_destroy(&cdev->lock);
	kfree(cdev);
}

void cim_device_put(struct cim_device *cdev)
{
	kref_put(&cdev->refcount, cim_device_release);
}

/**
 * cim_device_enter() - start building a job, unless the device is removed
 * @cdev: the device
 *
 * Between this and cim_device_exit() the caller may allocate from and free
 * to the job pool; remove() waits for every such section to end before it
 * destroys the pool. The section must not touch user memory (a stalled
 * page fault would stall remove()) and must not sleep but in
 * cim_job_wait_slot(), which remove() wakes.
 *
 * Return: false once remove() has run.
 */
bool cim_device_enter(struct cim_device *cdev)
{
	down_read(&cdev->unplug_sem);
	if (!cdev->unplugged)
		return true;
	up_read(&cdev->unplug_sem);
	return false;
}

void cim_device_exit(struct cim_device *cdev)
{
	up_read(&cdev->unplug_sem);
}

static void cim_file_release(struct kref *kref)
{
	struct cim_file *file = container_of(kref, struct cim_file, refcount);
	struct cim_device *cdev = file->cdev;

	mutex_destroy(&file->lock);
	kfree(file);
	cim_device_put(cdev);
}

void cim_file_put(struct cim_file *file)
{
	kref_put(&file->refcount, cim_file_release);
}

static int cim_open(struct inode *inode, struct file *filp)
{
	struct miscdevice *misc = filp->private_data;
	struct cim_device *cdev = container_of(misc, struct cim_device, misc);
	struct cim_file *file;

	file = kzalloc(sizeof(*file), GFP_KERNEL);
	if (!file)
		return -ENOMEM;
	kref_init(&file->refcount);
	mutex_init(&file->lock);
	spin_lock_init(&file->bo_quota_lock);
	idr_init_base(&file->bos, 1);
	xa_init(&file->fences);
	atomic64_set(&file->completed, 0);
	file->fence_context = dma_fence_context_alloc(1);
	kref_get(&cdev->refcount);
	file->cdev = cdev;
	file->mapping = filp->f_mapping;

	mutex_lock(&cdev->lock);
	file->reset_seen = cdev->reset_count;
	list_add_tail(&file->node, &cdev->files);
	mutex_unlock(&cdev->lock);

	filp->private_data = file;
	return nonseekable_open(inode, filp);
}

static int cim_release(struct inode *inode, struct file *filp)
{
	struct cim_file *file = filp->private_data;
	struct cim_device *cdev = file->cdev;

	mutex_lock(&cdev->lock);
	list_del(&file->node);
	mutex_unlock(&cdev->lock);
	cim_reserve_release_all(file);
	cim_bo_release_all(file);
	cim_fence_history_release(file);
	/* Jobs in flight hold their own references to the file and BOs */
	cim_file_put(file);
	return 0;
}

/**
 * cim_ioctl_copy_in() - copy an ioctl argument of any known size
 * @karg: kernel copy, sizeof the current struct
 * @ksize: its size
 * @cmd: the ioctl command, whose size field is the caller's struct size
 * @arg: the user pointer
 *
 * An older, shorter struct is zero-extended; a newer, longer one must have
 * a zero tail. A struct shorter than its first version is refused.
 *
 * Return: 0, -EFAULT, -E2BIG or -EINVAL.
 */
long cim_ioctl_copy_in(void *karg, size_t ksize, unsigned int cmd,
		       unsigned long arg)
{
	return copy_struct_from_user(karg, ksize, (void __user *)arg,
				     _IOC_SIZE(cmd));
}

/* Copy out at most the caller's struct size */
static int cim_ioctl_copy_out(unsigned long arg, unsigned int cmd,
			      const void *karg, size_t ksize)
{
	size_t n = min_t(size_t, ksize, _IOC_SIZE(cmd));

	return copy_to_user((void __user *)arg, karg, n) ? -EFAULT : 0;
}

static void cim_fill_device_info(struct cim_device *cdev,
				 struct cim_device_info *info)
{
	const struct cim_geometry *g = &cdev->geo;

	memset(info, 0, sizeof(*info));
	info->api_major = CIM_API_MAJOR;
	info->api_minor = CIM_API_MINOR;
	info->hw_version = g->version;
	info->hw_caps = g->caps;
	info->caps = CIM_DRV_CAP_FENCE_FD | CIM_DRV_CAP_RESERVE;
	info->xbar_count = g->xbar_count;
	info->xbar_rows = g->xbar_rows;
	info->xbar_cols = g->xbar_cols;
	info->xbar_levels = g->xbar_levels;
	info->dac_bits = g->dac_bits;
	info->adc_bits = g->adc_bits;
	info->ap_count = g->ap_count;
	info->ap_rows = g->ap_rows;
	info->ap_cols = g->ap_cols;
	info->ap_domains = g->ap_domains;
	info->ap_group_tracks = g->ap_group_tracks;
	info->max_batch = g->max_batch;
	info->max_cmdbuf = g->max_cmdbuf;
	info->max_bos = CIM_MAX_SUBMIT_BOS;
	info->max_inflight = CIM_RING_ENTRIES - 1;
	info->cost_preset = g->cost_preset;
	info->job_timeout_ms = READ_ONCE(cdev->job_timeout_ms);
	info->max_bo_size = CIM_MAX_BO_SIZE;
	info->seed = g->seed;
	info->device_preset = g->device_preset;
}

static void cim_fill_ctx_state(struct cim_file *file, bool ack,
			       struct cim_ctx_state *st)
{
	struct cim_device *cdev = file->cdev;
	unsigned int i;

	memset(st, 0, sizeof(*st));
	mutex_lock(&cdev->lock);
	st->reset_count = cdev->reset_count;
	if (file->guilty)
		st->flags |= CIM_CTX_GUILTY;
	if (file->reset_seen != cdev->reset_count)
		st->flags |= CIM_CTX_WEIGHTS_LOST;
	if (ack)
		file->reset_seen = cdev->reset_count;
	for (i = 0; i < CIM_MAX_XBARS; i++)
		if (cdev->xbar_owner[i] == file)
			st->xbar_mask |= BIT_ULL(i);
	for (i = 0; i < CIM_MAX_APS; i++)
		if (cdev->ap_owner[i] == file)
			st->ap_mask |= BIT_ULL(i);
	mutex_unlock(&cdev->lock);

	mutex_lock(&file->lock);
	st->submitted = file->seqno;
	mutex_unlock(&file->lock);
	st->completed = atomic64_read(&file->completed);
}

static int cim_query_ioctl(struct cim_file *file, unsigned int cmd,
			   unsigned long arg)
{
	union {
		struct cim_device_info info;
		struct cim_ctx_state ctx;
	} data;
	struct cim_query q;
	size_t full;
	int ret;

	ret = cim_ioctl_copy_in(&q, sizeof(q), cmd, arg);
	if (ret)
		return ret;
	if (q.pad)
		return -EINVAL;
	switch (q.query) {
	case CIM_QUERY_DEVICE_INFO:
		if (q.flags)
			return -EINVAL;
		cim_fill_device_info(file->cdev, &data.info);
		full = sizeof(data.info);
		break;
	case CIM_QUERY_CTX_STATE:
		if (q.flags & ~CIM_QUERY_F_ACK_RESET)
			return -EINVAL;
		cim_fill_ctx_state(file, q.flags & CIM_QUERY_F_ACK_RESET,
				   &data.ctx);
		full = sizeof(data.ctx);
		break;
	default:
		return -EINVAL;
	}
	if (q.size) {
		if (copy_to_user(u64_to_user_ptr(q.data_ptr), &data,
				 min_t(size_t, q.size, full)))
			return -EFAULT;
	}
	q.size = full;
	return cim_ioctl_copy_out(arg, cmd, &q, sizeof(q));
}

typedef int (*cim_ioctl_fn)(struct cim_file *file, unsigned int cmd,
			    unsigned long arg);

/**
 * struct cim_ioctl_desc - one entry of the ioctl table
 * @cmd: the full command of the current struct size
 * @min_size: size of the struct's first version
 * @fn: the handler
 */
struct cim_ioctl_desc {
	unsigned int cmd;
	unsigned int min_size;
	cim_ioctl_fn fn;
};

/* Indexed by _IOC_NR; the sizes are those of each struct's first version */
static const struct cim_ioctl_desc cim_ioctls[] = {
	[0x00] = { CIM_IOCTL_QUERY, 24, cim_query_ioctl },
	[0x01] = { CIM_IOCTL_BO_CREATE, 24, cim_bo_create_ioctl },
	[0x02] = { CIM_IOCTL_BO_DESTROY, 8, cim_bo_destroy_ioctl },
	[0x03] = { CIM_IOCTL_XBAR_RESERVE, 16, cim_reserve_ioctl },
	[0x04] = { CIM_IOCTL_XBAR_RELEASE, 16, cim_reserve_ioctl },
	[0x05] = { CIM_IOCTL_AP_RESERVE, 16, cim_reserve_ioctl },
	[0x06] = { CIM_IOCTL_AP_RELEASE, 16, cim_reserve_ioctl },
	[0x07] = { CIM_IOCTL_SUBMIT, 40, cim_submit_ioctl },
	[0x08] = { CIM_IOCTL_WAIT, 48, cim_wait_ioctl },
};

static long cim_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct cim_file *file = filp->private_data;
	const struct cim_ioctl_desc *desc;
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != CIM_IOCTL_BASE || nr >= ARRAY_SIZE(cim_ioctls))
		return -ENOTTY;
	desc = &cim_ioctls[nr];
	if (!desc->fn || _IOC_NR(desc->cmd) != nr)
		return -ENOTTY;
	/* Direction must match; the size may be any version's */
	if (_IOC_DIR(cmd) != _IOC_DIR(desc->cmd))
		return -ENOTTY;
	if (_IOC_SIZE(cmd) < desc->min_size || _IOC_SIZE(cmd) % 8)
		return -EINVAL;
	if (READ_ONCE(file->cdev->state) == CIM_STATE_FAILED)
		return -ENODEV;
	return desc->fn(file, cmd, arg);
}

static int cim_mmap(struct file *filp, struct vm_area_struct *vma)
{
	return cim_bo_mmap(filp->private_data, vma);
}

static const struct file_operations cim_fops = {
	.owner = THIS_MODULE,
	.open = cim_open,
	.release = cim_release,
	.unlocked_ioctl = cim_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = cim_mmap,
	.llseek = noop_llseek,
};

static int cim_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct cim_device *cdev;
	int ret;

	cdev = kzalloc(sizeof(*cdev), GFP_KERNEL);
	if (!cdev)
		return -ENOMEM;
	kref_init(&cdev->refcount);
	cdev->pdev = pci_dev_get(pdev);
	mutex_init(&cdev->lock);
	mutex_init(&cdev->counters_lock);
	init_rwsem(&cdev->unplug_sem);
	mutex_init(&cdev->bos_lock);
	INIT_LIST_HEAD(&cdev->bos);
	cdev->kernel_fence_context = dma_fence_context_alloc(1);
	INIT_LIST_HEAD(&cdev->inflight);
	INIT_LIST_HEAD(&cdev->files);
	init_waitqueue_head(&cdev->ring_wq);
	cdev->job_timeout_ms = CIM_JOB_TIMEOUT_MS;
	cdev->state = CIM_STATE_OPERATIONAL;
	pci_set_drvdata(pdev, cdev);

	ret = pcim_enable_device(pdev);
	if (ret)
		goto err_put_device;
	ret = pcim_iomap_regions(pdev, BIT(CIM_BAR_REGS), CIM_DRIVER_NAME);
	if (ret) {
		cim_err(cdev, "cannot map BAR%d: %d\n", CIM_BAR_REGS, ret);
		goto err_put_device;
	}
	cdev->regs = pcim_iomap_table(pdev)[CIM_BAR_REGS];
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
	if (ret) {
		cim_err(cdev, "no usable DMA mask: %d\n", ret);
		goto err_put_device;
	}

	cdev->job_pool = dma_pool_create("cim-job", &pdev->dev,
					 CIM_JOB_POOL_SIZE, 64, 0);
	if (!cdev->job_pool) {
		ret = -ENOMEM;
		goto err_put_device;
	}
	ret = cim_hw_init(cdev);
	if (ret)
		goto err_put_device;
	cim_reset_init(cdev);
	ret = cim_hw_irq_init(cdev);
	if (ret)
		goto err_hw_fini;
	/*
	 * The spec's init sequence resets first: a previous driver may have
	 * left the device halted, or running a job into memory it freed.
	 */
	mutex_lock(&cdev->lock);
	ret = cim_hw_reset_locked(cdev);
	if (!ret)
		ret = cim_hw_start_locked(cdev);
	mutex_unlock(&cdev->lock);
	if (ret)
		goto err_irq_fini;

	ret = ida_alloc(&cim_ida, GFP_KERNEL);
	if (ret < 0)
		goto err_hw_stop;
	cdev->minor_id = ret;
	snprintf(cdev->name, sizeof(cdev->name), "cim%d", cdev->minor_id);
	cdev->misc.minor = MISC_DYNAMIC_MINOR;
	cdev->misc.name = cdev->name;
	cdev->misc.fops = &cim_fops;
	cdev->misc.parent = &pdev->dev;
	cdev->misc.groups = cim_attr_groups;
	cdev->misc.mode = 0660;
	ret = misc_register(&cdev->misc);
	if (ret) {
		cim_err(cdev, "misc_register: %d\n", ret);
		goto err_ida_free;
	}
	cim_debugfs_init(cdev);
	cim_info(cdev, "%s: %u crossbars of %ux%u, %u APs, version %u.%u\n",
		 cdev->name, cdev->geo.xbar_count, cdev->geo.xbar_rows,
		 cdev->geo.xbar_cols, cdev->geo.ap_count,
		 cdev->geo.version >> 16, cdev->geo.version & 0xffff);
	return 0;

err_ida_free:
	ida_free(&cim_ida, cdev->minor_id);
err_hw_stop:
	mutex_lock(&cdev->lock);
	cim_hw_stop_locked(cdev);
	mutex_unlock(&cdev->lock);
err_irq_fini:
	cim_hw_irq_fini(cdev);
err_hw_fini:
	cim_reset_fini(cdev);
	cim_hw_fini(cdev);
err_put_device:
	cim_device_put(cdev);
	return ret;
}

static void cim_remove(struct pci_dev *pdev)
{
	struct cim_device *cdev = pci_get_drvdata(pdev);

	cim_debugfs_fini(cdev);
	misc_deregister(&cdev->misc);
	ida_free(&cim_ida, cdev->minor_id);

	/*
	 * Clearing ENABLE would let the job in flight run on into buffers
	 * about to be freed: a reset stops its DMA before it returns. A device
	 * that is gone (surprise removal) does no DMA and reads all ones.
	 */
	mutex_lock(&cdev->lock);
	cdev->state = CIM_STATE_FAILED;
	if (pci_device_is_present(pdev))
		cim_hw_reset_locked(cdev);
	cim_hw_stop_locked(cdev);
	cim_job_abort_all_locked(cdev, NULL);
	mutex_unlock(&cdev->lock);
	/*
	 * The ring waiters are woken, so every job being built ends soon (in
	 * the ring it cannot enter, or freed). Once they have, nothing
	 * allocates from the job pool any more, and it goes while the device
	 * is still there: destroyed at the last reference, after a hot
	 * removal, it would take its sysfs file out of a directory that no
	 * longer exists (a WARNING).
	 */
	down_write(&cdev->unplug_sem);
	cdev->unplugged = true;
	up_write(&cdev->unplug_sem);
	dma_pool_destroy(cdev->job_pool);
	cdev->job_pool = NULL;
	/* The same for buffers that open files and mappings still hold */
	cim_bo_revoke_all(cdev);
	cim_reset_fini(cdev);
	cim_hw_irq_fini(cdev);
	cim_hw_fini(cdev);
	cim_device_put(cdev);
}

static const struct pci_device_id cim_pci_ids[] = {
	{ PCI_DEVICE(CIM_PCI_VENDOR_ID, CIM_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, cim_pci_ids);

static struct pci_driver cim_pci_driver = {
	.name = CIM_DRIVER_NAME,
	.id_table = cim_pci_ids,
	.probe = cim_probe,
	.remove = cim_remove,
	.err_handler = &cim_pci_err_handlers,
};

static int __init cim_init(void)
{
	int ret;

	cim_debugfs_register();
	ret = pci_register_driver(&cim_pci_driver);
	if (ret)
		cim_debugfs_unregister();
	return ret;
}
module_init(cim_init);

static void __exit cim_exit(void)
{
	pci_unregister_driver(&cim_pci_driver);
	cim_debugfs_unregister();
}
module_exit(cim_exit);

MODULE_DESCRIPTION("cim compute-in-memory accelerator");
MODULE_AUTHOR("The cim authors");
MODULE_LICENSE("GPL");
