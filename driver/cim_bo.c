// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: buffer objects, DMA-coherent kernel allocations owned by a file,
 * named by per-file handles and mapped into user space by offset.
 *
 * Copyright (C) 2026 The cim authors
 */

#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cim_drv.h"

/*
 * The mmap offset of a buffer is its handle << CIM_MMAP_SHIFT: the low bits
 * address pages inside the buffer, so a part of it can be mapped too.
 */
#define CIM_MMAP_SHIFT		32
#define CIM_MAX_HANDLE		BIT(20)

/*
 * What one open file may hold in buffers, counted from creation until the
 * memory is freed (a mapping or a job keeps a destroyed buffer alive, and
 * it still counts). The pages are also charged to the creator's memory
 * cgroup; the quota bounds a file even where no cgroup limit is set.
 */
static unsigned int bo_quota_mb = 256;
module_param(bo_quota_mb, uint, 0644);
MODULE_PARM_DESC(bo_quota_mb,
		 "Buffer memory one open file may hold, MiB (default 256)");

static unsigned int bo_quota_count = 4096;
module_param(bo_quota_count, uint, 0644);
MODULE_PARM_DESC(bo_quota_count,
		 "Buffers one open file may hold (default 4096)");

/* Count a buffer of @size bytes against @file's quota, or -EDQUOT */
static int cim_bo_charge(struct cim_file *file, size_t size)
{
	u64 quota = (u64)READ_ONCE(bo_quota_mb) << 20;
	int ret = 0;

	spin_lock(&file->bo_quota_lock);
	if (file->bo_count >= READ_ONCE(bo_quota_count) ||
	    file->bo_bytes + size > quota) {
		ret = -EDQUOT;
	} else {
		file->bo_count++;
		file->bo_bytes += size;
	}
	spin_unlock(&file->bo_quota_lock);
	return ret;
}

static void cim_bo_uncharge(struct cim_file *file, size_t size)
{
	spin_lock(&file->bo_quota_lock);
	file->bo_count--;
	file->bo_bytes -= size;
	spin_unlock(&file->bo_quota_lock);
}

static void cim_bo_free_pages(struct cim_bo *bo)
{
	size_t i;

	if (!bo->pages)
		return;
	for (i = 0; i < bo->size >> PAGE_SHIFT; i++)
		if (bo->pages[i])
			__free_page(bo->pages[i]);
	kvfree(bo->pages);
}

/*
 * Copy a buffer's contents into plain pages, before its DMA memory goes
 * back in remove(): results the device wrote stay readable through the
 * mappings. The pages are not charged to a memory cgroup (remove() runs
 * in whoever unbinds); the DMA memory they replace was.
 */
static struct page **cim_bo_copy_out(struct cim_bo *bo)
{
	size_t i, n = bo->size >> PAGE_SHIFT;
	struct page **pages;

	pages = kvcalloc(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < n; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i])
			break;
		memcpy(page_address(pages[i]),
		       (u8 *)bo->vaddr + (i << PAGE_SHIFT), PAGE_SIZE);
	}
	if (i == n)
		return pages;
	while (i--)
		__free_page(pages[i]);
	kvfree(pages);
	return NULL;
}

static void cim_bo_release(struct kref *kref)
{
	struct cim_bo *bo = container_of(kref, struct cim_bo, refcount);
	struct cim_device *cdev = bo->cdev;
	struct cim_file *owner = bo->owner;
	size_t size = bo->size;

	mutex_lock(&cdev->bos_lock);
	if (bo->vaddr) {
		list_del(&bo->node);
		dma_free_coherent(&cdev->pdev->dev, size, bo->vaddr, bo->dma);
	}
	mutex_unlock(&cdev->bos_lock);
	cim_bo_free_pages(bo);
	kfree(bo);
	cim_bo_uncharge(owner, size);
	cim_file_put(owner);
	cim_device_put(cdev);
}

/* Context: may sleep (dma_free_coherent); never call from atomic context */
void cim_bo_put(struct cim_bo *bo)
{
	kref_put(&bo->refcount, cim_bo_release);
}

/**
 * cim_bo_lookup() - a buffer of this file, by handle
 * @file: the file
 * @handle: its handle
 *
 * Return: the buffer with a new reference, or NULL.
 */
struct cim_bo *cim_bo_lookup(struct cim_file *file, u32 handle)
{
	struct cim_bo *bo;

	mutex_lock(&file->lock);
	bo = idr_find(&file->bos, handle);
	if (bo)
		kref_get(&bo->refcount);
	mutex_unlock(&file->lock);
	return bo;
}

int cim_bo_create_ioctl(struct cim_file *file, unsigned int cmd,
			unsigned long arg)
{
	struct cim_device *cdev = file->cdev;
	struct cim_bo_create args;
	struct cim_bo *bo;
	int ret, handle;

	ret = cim_ioctl_copy_in(&args, sizeof(args), cmd, arg);
	if (ret)
		return ret;
	if (args.flags || args.handle || args.mmap_offset)
		return -EINVAL;
	if (!args.size || args.size > CIM_MAX_BO_SIZE)
		return -EINVAL;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL_ACCOUNT);
	if (!bo)
		return -ENOMEM;
	kref_init(&bo->refcount);
	bo->size = PAGE_ALIGN(args.size);
	ret = cim_bo_charge(file, bo->size);
	if (ret)
		goto err_free_bo;
	/* No buffer is born after remove() took the others back */
	if (!cim_device_enter(cdev)) {
		ret = -ENODEV;
		goto err_uncharge;
	}
	/* Charged to the caller's memory cgroup; no warning, it is user input */
	bo->vaddr = dma_alloc_coherent(&cdev->pdev->dev, bo->size, &bo->dma,
				       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!bo->vaddr) {
		cim_device_exit(cdev);
		ret = -ENOMEM;
		goto err_uncharge;
	}
	/* No stale kernel data reaches user space */
	memset(bo->vaddr, 0, bo->size);
	mutex_lock(&cdev->bos_lock);
	list_add_tail(&bo->node, &cdev->bos);
	mutex_unlock(&cdev->bos_lock);
	cim_device_exit(cdev);
	kref_get(&cdev->refcount);
	bo->cdev = cdev;
	kref_get(&file->refcount);
	bo->owner = file;

	/*
	 * The handle is reserved (NULL) until the caller has it: published
	 * before copy_to_user, another thread could destroy it, and a failing
	 * copy-out would then drop the handle's reference a second time.
	 */
	mutex_lock(&file->lock);
	handle = idr_alloc(&file->bos, NULL, 1, CIM_MAX_HANDLE, GFP_KERNEL);
	mutex_unlock(&file->lock);
	if (handle < 0) {
		ret = handle == -ENOSPC ? -ENOMEM : handle;
		goto err_put_bo;
	}

	args.handle = handle;
	args.mmap_offset = (u64)handle << CIM_MMAP_SHIFT;
	ret = 0;
	if (copy_to_user((void __user *)arg, &args,
			 min_t(size_t, sizeof(args), _IOC_SIZE(cmd))))
		ret = -EFAULT;

	mutex_lock(&file->lock);
	if (ret)
		idr_remove(&file->bos, handle);
	else
		idr_replace(&file->bos, bo, handle);
	mutex_unlock(&file->lock);
	if (ret)
		goto err_put_bo;
	return 0;

err_put_bo:
	cim_bo_put(bo);
	return ret;
err_uncharge:
	cim_bo_uncharge(file, bo->size);
err_free_bo:
	kfree(bo);
	return ret;
}

int cim_bo_destroy_ioctl(struct cim_file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct cim_bo_destroy args;
	struct cim_bo *bo;
	int ret;

	ret = cim_ioctl_copy_in(&args, sizeof(args), cmd, arg);
	if (ret)
		return ret;
	if (args.pad)
		return -EINVAL;
	/* A handle still being created (reserved, NULL) is not there yet */
	mutex_lock(&file->lock);
	bo = idr_find(&file->bos, args.handle);
	if (bo)
		idr_remove(&file->bos, args.handle);
	mutex_unlock(&file->lock);
	if (!bo)
		return -ENOENT;
	cim_bo_put(bo);
	return 0;
}

/**
 * cim_bo_revoke_all() - take back the memory of every buffer of a device
 * @cdev: the device, being removed, its ioctls drained (unplugged)
 *
 * Buffers may outlive the binding (an open file, a mapping). Their DMA
 * memory goes back while the device is still there, and their mappings
 * are emptied; a later access finds a copy of the buffer's contents in
 * plain memory of its own (cim_bo_copy_out()), so nothing the device
 * wrote is lost and no process dies. Without memory for the copy, an
 * access faults with SIGBUS. What is left of each buffer is freed with
 * its last reference.
 *
 * Context: sleeps; takes cdev->lock and cdev->bos_lock.
 */
void cim_bo_revoke_all(struct cim_device *cdev)
{
	struct cim_file *file;
	struct cim_bo *bo, *tmp;

	/*
	 * The copies are made before the mappings are emptied (no fault can
	 * come sooner), but user space may still write through them until
	 * then: those writes are lost, as they would be to the device.
	 */
	mutex_lock(&cdev->bos_lock);
	list_for_each_entry(bo, &cdev->bos, node)
		WRITE_ONCE(bo->pages, cim_bo_copy_out(bo));
	mutex_unlock(&cdev->bos_lock);

	mutex_lock(&cdev->lock);
	list_for_each_entry(file, &cdev->files, node)
		unmap_mapping_range(file->mapping, 0, 0, 1);
	mutex_unlock(&cdev->lock);

	mutex_lock(&cdev->bos_lock);
	list_for_each_entry_safe(bo, tmp, &cdev->bos, node) {
		list_del(&bo->node);
		dma_free_coherent(&cdev->pdev->dev, bo->size, bo->vaddr,
				  bo->dma);
		bo->vaddr = NULL;
	}
	mutex_unlock(&cdev->bos_lock);
}

void cim_bo_release_all(struct cim_file *file)
{
	struct cim_bo *bo;
	int handle;

	mutex_lock(&file->lock);
	idr_for_each_entry(&file->bos, bo, handle)
		cim_bo_put(bo);
	idr_destroy(&file->bos);
	mutex_unlock(&file->lock);
}

static void cim_bo_vm_open(struct vm_area_struct *vma)
{
	struct cim_bo *bo = vma->vm_private_data;

	kref_get(&bo->refcount);
}

static void cim_bo_vm_close(struct vm_area_struct *vma)
{
	cim_bo_put(vma->vm_private_data);
}

/*
 * Only after remove() emptied the mapping (the buffer's memory is mapped
 * whole at mmap time, so nothing else faults): show the copy of the
 * buffer's contents, or SIGBUS if there was no memory for one.
 */
static vm_fault_t cim_bo_vm_fault(struct vm_fault *vmf)
{
	struct cim_bo *bo = vmf->vma->vm_private_data;
	struct page **pages = READ_ONCE(bo->pages);
	unsigned long i;

	i = vmf->pgoff & ((1ul << (CIM_MMAP_SHIFT - PAGE_SHIFT)) - 1);
	if (!pages || i >= bo->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(pages[i]));
}

static const struct vm_operations_struct cim_bo_vm_ops = {
	.open = cim_bo_vm_open,
	.close = cim_bo_vm_close,
	.fault = cim_bo_vm_fault,
};

/**
 * cim_bo_mmap() - map (part of) a buffer
 * @file: the file owning the buffer
 * @vma: offset = handle << 32 plus a page-aligned offset inside the buffer;
 *       shared mappings only
 *
 * Return: 0, -ENOENT for an unknown handle, -EINVAL for a range past the
 * end of the buffer.
 */
int cim_bo_mmap(struct cim_file *file, struct vm_area_struct *vma)
{
	unsigned long shift = CIM_MMAP_SHIFT - PAGE_SHIFT;
	unsigned long pgoff = vma->vm_pgoff;
	unsigned long first = pgoff & ((1ul << shift) - 1);
	unsigned long npages = vma_pages(vma);
	struct cim_bo *bo;
	int ret;

	/* A private mapping would be copied on write, never seen by the device */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if ((pgoff >> shift) >= CIM_MAX_HANDLE)
		return -ENOENT;
	/* After remove() the buffers have no memory left to map */
	if (!cim_device_enter(file->cdev))
		return -ENODEV;
	bo = cim_bo_lookup(file, pgoff >> shift);
	if (!bo) {
		cim_device_exit(file->cdev);
		return -ENOENT;
	}
	if (first + npages < first || first + npages > bo->size >> PAGE_SHIFT) {
		ret = -EINVAL;
		goto err_put_bo;
	}
	/* dma_mmap_coherent maps from vm_pgoff inside the buffer */
	vma->vm_pgoff = first;
	ret = dma_mmap_coherent(&bo->cdev->pdev->dev, vma, bo->vaddr, bo->dma,
				bo->size);
	vma->vm_pgoff = pgoff;
	if (ret)
		goto err_put_bo;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_private_data = bo;
	vma->vm_ops = &cim_bo_vm_ops;
	cim_device_exit(file->cdev);
	return 0;

err_put_bo:
	cim_bo_put(bo);
	cim_device_exit(file->cdev);
	return ret;
}
