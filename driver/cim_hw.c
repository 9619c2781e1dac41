// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: register access, the submission ring and the interrupts.
 *
 * Copyright (C) 2026 The cim authors
 */

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/iopoll.h>
#include <linux/pci.h>

#include "cim_drv.h"

/*
 * CONTROL.RESET reads 1 until the packet in flight has ended (spec:
 * CONTROL): the worst packet (MAX_BATCH vectors on the largest tile) takes
 * seconds to compute, so the wait allows for ten.
 */
#define CIM_RESET_TIMEOUT_US	10000000

static int cim_hw_read_geometry(struct cim_device *cdev)
{
	struct cim_geometry *g = &cdev->geo;
	u32 id = cim_read(cdev, CIM_REG_ID);

	if (id != CIM_ID_MAGIC) {
		cim_err(cdev, "bad ID register %#x\n", id);
		return -ENODEV;
	}
	g->version = cim_read(cdev, CIM_REG_VERSION);
	if (g->version >> 16 != CIM_ABI_MAJOR) {
		cim_err(cdev, "device ABI %u.%u, driver speaks %u.x\n",
			g->version >> 16, g->version & 0xffff, CIM_ABI_MAJOR);
		return -ENODEV;
	}
	g->caps = cim_read(cdev, CIM_REG_CAPS);
	g->xbar_count = cim_read(cdev, CIM_REG_XBAR_COUNT);
	g->xbar_rows = cim_read(cdev, CIM_REG_XBAR_ROWS);
	g->xbar_cols = cim_read(cdev, CIM_REG_XBAR_COLS);
	g->xbar_levels = cim_read(cdev, CIM_REG_XBAR_LEVELS);
	g->dac_bits = cim_read(cdev, CIM_REG_DAC_BITS);
	g->adc_bits = cim_read(cdev, CIM_REG_ADC_BITS);
	g->ap_count = cim_read(cdev, CIM_REG_AP_COUNT);
	g->ap_rows = cim_read(cdev, CIM_REG_AP_ROWS);
	g->ap_cols = cim_read(cdev, CIM_REG_AP_COLS);
	g->ap_domains = cim_read(cdev, CIM_REG_AP_DOMAINS);
	g->ap_group_tracks = cim_read(cdev, CIM_REG_AP_GROUP_TRACKS);
	g->max_batch = cim_read(cdev, CIM_REG_MAX_BATCH);
	g->max_cmdbuf = cim_read(cdev, CIM_REG_MAX_CMDBUF);
	g->cost_preset = cim_read(cdev, CIM_REG_COST_PRESET);
	/* ABI 1.2: before it, 0x084 is no register */
	g->device_preset = (g->version & 0xffff) >= 2 ?
			   cim_read(cdev, CIM_REG_DEVICE_PRESET) :
			   CIM_DEVICE_PRESET_NONE;
	g->seed = cim_read(cdev, CIM_REG_SEED_LO) |
		  (u64)cim_read(cdev, CIM_REG_SEED_HI) << 32;

	/* The validator relies on these bounds */
	if (g->xbar_count > CIM_MAX_XBARS || g->ap_count > CIM_MAX_APS ||
	    g->xbar_rows > CIM_MAX_XBAR_DIM || g->xbar_cols > CIM_MAX_XBAR_DIM ||
	    g->ap_rows > CIM_MAX_AP_ROWS || g->max_batch > CIM_MAX_BATCH ||
	    g->max_cmdbuf < 8 || g->max_cmdbuf > CIM_MAX_CMDBUF) {
		cim_err(cdev, "geometry out of architectural limits\n");
		return -ENODEV;
	}
	return 0;
}

/**
 * cim_hw_init() - check the device and allocate the ring
 * @cdev: the device, BAR0 mapped
 *
 * Return: 0, -ENODEV for a device this driver does not speak to, -ENOMEM.
 */
int cim_hw_init(struct cim_device *cdev)
{
	int ret;

	ret = cim_hw_read_geometry(cdev);
	if (ret)
		return ret;
	cdev->ring = dma_alloc_coherent(&cdev->pdev->dev,
					CIM_RING_ENTRIES * sizeof(*cdev->ring),
					&cdev->ring_dma, GFP_KERNEL);
	if (!cdev->ring)
		return -ENOMEM;
	cdev->counters = dma_alloc_coherent(&cdev->pdev->dev,
					    sizeof(*cdev->counters),
					    &cdev->counters_dma, GFP_KERNEL);
	if (!cdev->counters) {
		cim_hw_fini(cdev);
		return -ENOMEM;
	}
	return 0;
}

void cim_hw_fini(struct cim_device *cdev)
{
	if (cdev->counters)
		dma_free_coherent(&cdev->pdev->dev, sizeof(*cdev->counters),
				  cdev->counters, cdev->counters_dma);
	cdev->counters = NULL;
	if (!cdev->ring)
		return;
	dma_free_coherent(&cdev->pdev->dev,
			  CIM_RING_ENTRIES * sizeof(*cdev->ring),
			  cdev->ring, cdev->ring_dma);
	cdev->ring = NULL;
}

/**
 * cim_hw_done_seqno() - the device's last completed seqno
 * @cdev: the device
 *
 * Return: DONE_SEQNO, read high-low-high so that a carry is never torn.
 */
u64 cim_hw_done_seqno(struct cim_device *cdev)
{
	u32 hi, lo, hi2;

	hi = cim_read(cdev, CIM_REG_DONE_SEQNO_HI);
	do {
		hi2 = hi;
		lo = cim_read(cdev, CIM_REG_DONE_SEQNO_LO);
		hi = cim_read(cdev, CIM_REG_DONE_SEQNO_HI);
	} while (hi != hi2);
	return (u64)hi << 32 | lo;
}

/**
 * cim_hw_start_locked() - program the ring and enable the device
 * @cdev: the device, reset or fresh, with no job in flight
 *
 * Context: takes no lock; cdev->lock held.
 * Return: 0, or -EIO if the device does not enable.
 */
int cim_hw_start_locked(struct cim_device *cdev)
{
	lockdep_assert_held(&cdev->lock);

	memset(cdev->ring, 0, CIM_RING_ENTRIES * sizeof(*cdev->ring));
	cdev->tail = cim_read(cdev, CIM_REG_RING_HEAD);
	cim_write(cdev, CIM_REG_RING_BASE_LO, lower_32_bits(cdev->ring_dma));
	cim_write(cdev, CIM_REG_RING_BASE_HI, upper_32_bits(cdev->ring_dma));
	cim_write(cdev, CIM_REG_RING_SIZE, CIM_RING_ENTRIES);
	cim_write(cdev, CIM_REG_RING_TAIL, cdev->tail);
	cdev->done_hw_seqno = cim_hw_done_seqno(cdev);
	cdev->next_hw_seqno = cdev->done_hw_seqno + 1;
	cim_write(cdev, CIM_REG_INT_STATUS, CIM_INT_VALID_MASK);
	cim_write(cdev, CIM_REG_INT_MASK, CIM_INT_VALID_MASK);
	cim_write(cdev, CIM_REG_CONTROL, CIM_CONTROL_ENABLE);
	if (!(cim_read(cdev, CIM_REG_STATUS) & CIM_STATUS_ENABLED)) {
		cim_err(cdev, "device did not enable, status %#x\n",
			cim_read(cdev, CIM_REG_STATUS));
		return -EIO;
	}
	return 0;
}

void cim_hw_stop_locked(struct cim_device *cdev)
{
	lockdep_assert_held(&cdev->lock);

	cim_write(cdev, CIM_REG_INT_MASK, 0);
	cim_write(cdev, CIM_REG_CONTROL, 0);
}

/**
 * cim_hw_reset_locked() - reset the device through CONTROL.RESET
 * @cdev: the device
 *
 * Every crossbar, accumulator and AP is cleared; the ring must be
 * programmed again with cim_hw_start_locked().
 *
 * Context: sleeps; cdev->lock held.
 * Return: 0, or -ETIMEDOUT if RESET does not clear.
 */
int cim_hw_reset_locked(struct cim_device *cdev)
{
	u32 ctrl;
	int ret;

	lockdep_assert_held(&cdev->lock);

	cim_write(cdev, CIM_REG_INT_MASK, 0);
	cim_write(cdev, CIM_REG_CONTROL, CIM_CONTROL_RESET);
	ret = readl_poll_timeout(cdev->regs + CIM_REG_CONTROL, ctrl,
				 !(ctrl & CIM_CONTROL_RESET), 100,
				 CIM_RESET_TIMEOUT_US);
	if (ret) {
		cim_err(cdev, "RESET did not clear\n");
		return ret;
	}
	cim_write(cdev, CIM_REG_INT_STATUS, CIM_INT_VALID_MASK);
	return 0;
}

/**
 * cim_hw_push_locked() - hand a prepared job to the device
 * @cdev: the device, with a free ring slot
 * @job: the job, its command buffer patched, hw_seqno assigned
 *
 * Context: cdev->lock held.
 */
void cim_hw_push_locked(struct cim_device *cdev, struct cim_job *job)
{
	struct cim_job_desc *d;

	lockdep_assert_held(&cdev->lock);

	d = &cdev->ring[cdev->tail % CIM_RING_ENTRIES];
	d->cmdbuf_addr = job->cmds_dma;
	d->cmdbuf_size = job->cmd_size;
	d->flags = 0;
	d->seqno = job->hw_seqno;
	d->completion_addr = job->buf_dma;
	memset(d->reserved, 0, sizeof(d->reserved));
	cdev->tail++;
	/* The descriptor must be visible before the doorbell */
	dma_wmb();
	cim_write(cdev, CIM_REG_RING_TAIL, cdev->tail);
}

/**
 * cim_hw_abort_locked() - ask the device to stop a job at a packet boundary
 * @cdev: the device
 * @job: the job in flight at the head of the ring
 *
 * The device matches the low 32 bits of the seqno, so a job that completes
 * meanwhile is not confused with the next one; the aborted job completes
 * through the ring with CIM_ST_ABORTED.
 *
 * Context: cdev->lock held.
 * Return: false if the device cannot abort (no CIM_CAPS_ABORT, or a hang it
 * reports itself), and only a reset will end the job.
 */
bool cim_hw_abort_locked(struct cim_device *cdev, struct cim_job *job)
{
	lockdep_assert_held(&cdev->lock);

	if (!(cdev->geo.caps & CIM_CAPS_ABORT) ||
	    cim_read(cdev, CIM_REG_STATUS) & CIM_STATUS_HUNG)
		return false;
	cim_write(cdev, CIM_REG_ABORT_SEQNO, lower_32_bits(job->hw_seqno));
	return true;
}

static irqreturn_t cim_irq(int irq, void *arg)
{
	struct cim_device *cdev = arg;
	u32 status = cim_read(cdev, CIM_REG_INT_STATUS);

	if (!status || status == ~0u)
		return IRQ_NONE;
	cim_write(cdev, CIM_REG_INT_STATUS, status);
	if (status & CIM_INT_HALTED)
		cim_reset_trigger(cdev);
	return IRQ_WAKE_THREAD;
}

static irqreturn_t cim_irq_thread(int irq, void *arg)
{
	cim_job_retire_done(arg);
	return IRQ_HANDLED;
}

/**
 * cim_hw_irq_init() - allocate MSI-X vectors (MSI or INTx as a fallback)
 * @cdev: the device
 *
 * Both vectors share one handler: INT_STATUS says what happened.
 *
 * Return: 0 or -errno.
 */
int cim_hw_irq_init(struct cim_device *cdev)
{
	struct pci_dev *pdev = cdev->pdev;
	int nvec, i, ret;

	nvec = pci_alloc_irq_vectors(pdev, 1, CIM_MSIX_VECTORS, PCI_IRQ_MSIX);
	if (nvec < 0)
		nvec = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES);
	if (nvec < 0) {
		cim_err(cdev, "no interrupt vectors: %d\n", nvec);
		return nvec;
	}
	for (i = 0; i < nvec; i++) {
		ret = request_threaded_irq(pci_irq_vector(pdev, i), cim_irq,
					   cim_irq_thread, IRQF_SHARED,
					   CIM_DRIVER_NAME, cdev);
		if (ret) {
			cim_err(cdev, "request_irq %d: %d\n", i, ret);
			goto err_free_irqs;
		}
	}
	cdev->nvec = nvec;
	return 0;

err_free_irqs:
	while (--i >= 0)
		free_irq(pci_irq_vector(pdev, i), cdev);
	pci_free_irq_vectors(pdev);
	return ret;
}

void cim_hw_irq_fini(struct cim_device *cdev)
{
	struct pci_dev *pdev = cdev->pdev;
	int i;

	for (i = 0; i < cdev->nvec; i++)
		free_irq(pci_irq_vector(pdev, i), cdev);
	cdev->nvec = 0;
	pci_free_irq_vectors(pdev);
}
