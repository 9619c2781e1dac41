/* SPDX-License-Identifier: MIT */
/*
 * Driverless access to cim devices from user space, for bring-up tests:
 * sysfs discovery, BAR0 through resource0, bus mastering through the config
 * file, and DMA memory whose bus addresses come from /proc/self/pagemap
 * (root, no IOMMU: bus address == physical address).
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef __CIM_PCIDEV_H__
#define __CIM_PCIDEV_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cim_hw.h"

#define CIM_PAGE_SIZE	4096u
#define CIM_DMA_PAGES	16u

/**
 * struct cim_dma_page - one locked page of DMA memory
 * @va: its address in this process
 * @bus: its bus address
 */
struct cim_dma_page {
	void *va;
	uint64_t bus;
};

/**
 * struct cim_dev - one cim PCI function
 * @index: position in discovery order (PCI address order)
 * @bdf: the PCI address, "0000:00:03.0"
 * @sysfs: its /sys/bus/pci/devices folder
 * @regs: BAR0, mapped
 * @regs_len: bytes mapped
 * @cfg_fd: the sysfs config file, open read-write
 * @page: DMA pages, CIM_DMA_PAGES of them
 */
struct cim_dev {
	int index;
	char bdf[32];
	char sysfs[128];
	volatile uint32_t *regs;
	size_t regs_len;
	int cfg_fd;
	struct cim_dma_page page[CIM_DMA_PAGES];
};

/* Find up to @max devices; returns how many, or -errno */
int cim_find(char bdfs[][32], int max);

/* Enable, map BAR0, open config, allocate DMA pages; 0 or -errno */
int cim_open(struct cim_dev *d, int index, const char *bdf);
void cim_close(struct cim_dev *d);

/* Read a sysfs attribute of the device as a number; -1 on error */
long long cim_sysfs_num(const struct cim_dev *d, const char *attr);

/* Set or clear the bus-master and memory-space bits; 0 or -errno */
int cim_bus_master(struct cim_dev *d, bool on);

static inline uint32_t cim_rd(const struct cim_dev *d, uint32_t off)
{
	return d->regs[off / 4];
}

static inline void cim_wr(struct cim_dev *d, uint32_t off, uint32_t v)
{
	__sync_synchronize();	/* descriptors in memory before doorbells */
	d->regs[off / 4] = v;
}

/* Bus address of an object inside one of the DMA pages */
uint64_t cim_bus(const struct cim_dev *d, const void *p);

/* Monotonic milliseconds */
uint64_t cim_now_ms(void);

#endif /* __CIM_PCIDEV_H__ */
