// SPDX-License-Identifier: MIT
/*
 * Driverless access to cim devices: see pcidev.h.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pcidev.h"

#define PCI_SYSFS	"/sys/bus/pci/devices"
#define PCI_COMMAND	0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define PAGEMAP_PRESENT	(1ull << 63)
#define PAGEMAP_PFN	((1ull << 55) - 1)

uint64_t cim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static long long read_num(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 0);
}

static int write_str(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static int cmp_bdf(const void *a, const void *b)
{
	return strcmp(a, b);
}

int cim_find(char bdfs[][32], int max)
{
	char path[300];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	dir = opendir(PCI_SYSFS);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PCI_SYSFS "/%s/vendor", e->d_name);
		if (read_num(path) != CIM_PCI_VENDOR_ID)
			continue;
		snprintf(path, sizeof(path), PCI_SYSFS "/%s/device", e->d_name);
		if (read_num(path) != CIM_PCI_DEVICE_ID)
			continue;
		snprintf(bdfs[n++], 32, "%.31s", e->d_name);
	}
	closedir(dir);
	qsort(bdfs, n, 32, cmp_bdf);
	return n;
}

long long cim_sysfs_num(const struct cim_dev *d, const char *attr)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", d->sysfs, attr);
	return read_num(path);
}

int cim_bus_master(struct cim_dev *d, bool on)
{
	uint16_t cmd;

	if (pread(d->cfg_fd, &cmd, 2, PCI_COMMAND) != 2)
		return -EIO;
	cmd |= PCI_COMMAND_MEMORY;
	if (on)
		cmd |= PCI_COMMAND_MASTER;
	else
		cmd &= ~PCI_COMMAND_MASTER;
	if (pwrite(d->cfg_fd, &cmd, 2, PCI_COMMAND) != 2)
		return -EIO;
	return 0;
}

/* Physical address of the page at @va, from /proc/self/pagemap */
static int virt_to_bus(const void *va, uint64_t *bus)
{
	uint64_t entry;
	off_t off;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	off = (off_t)((uintptr_t)va / CIM_PAGE_SIZE) * 8;
	if (pread(fd, &entry, 8, off) != 8) {
		close(fd);
		return -EIO;
	}
	close(fd);
	if (!(entry & PAGEMAP_PRESENT) || !(entry & PAGEMAP_PFN))
		return -EPERM;	/* absent, or PFNs hidden (not root) */
	*bus = (entry & PAGEMAP_PFN) * CIM_PAGE_SIZE;
	return 0;
}

uint64_t cim_bus(const struct cim_dev *d, const void *p)
{
	unsigned int i;

	for (i = 0; i < CIM_DMA_PAGES; i++) {
		const char *base = d->page[i].va;

		if ((const char *)p >= base &&
		    (const char *)p < base + CIM_PAGE_SIZE)
			return d->page[i].bus + (uint64_t)((const char *)p - base);
	}
	abort();	/* a test bug: not DMA memory */
}

static int alloc_pages(struct cim_dev *d)
{
	size_t len = (size_t)CIM_DMA_PAGES * CIM_PAGE_SIZE;
	unsigned int i;
	char *mem;
	int ret;

	/* Locked pages are still movable by compaction unless told not to */
	write_str("/proc/sys/vm/compact_unevictable_allowed", "0");
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE,
		   -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	memset(mem, 0, len);
	for (i = 0; i < CIM_DMA_PAGES; i++) {
		d->page[i].va = mem + (size_t)i * CIM_PAGE_SIZE;
		ret = virt_to_bus(d->page[i].va, &d->page[i].bus);
		if (ret)
			return ret;
	}
	return 0;
}

int cim_open(struct cim_dev *d, int index, const char *bdf)
{
	char path[300];
	struct stat st;
	void *map;
	int fd, ret;

	memset(d, 0, sizeof(*d));
	d->index = index;
	d->cfg_fd = -1;
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	snprintf(d->sysfs, sizeof(d->sysfs), PCI_SYSFS "/%s", bdf);

	snprintf(path, sizeof(path), "%s/enable", d->sysfs);
	ret = write_str(path, "1");
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/config", d->sysfs);
	d->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->cfg_fd < 0)
		return -errno;
	ret = cim_bus_master(d, true);
	if (ret)
		return ret;

	snprintf(path, sizeof(path), "%s/resource%d", d->sysfs, CIM_BAR_REGS);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size < CIM_REGS_SIZE) {
		close(fd);
		return -ENXIO;
	}
	d->regs_len = CIM_REGS_SIZE;
	map = mmap(NULL, d->regs_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	d->regs = map;
	return alloc_pages(d);
}

void cim_close(struct cim_dev *d)
{
	if (d->regs)
		munmap((void *)d->regs, d->regs_len);
	if (d->page[0].va)
		munmap(d->page[0].va, (size_t)CIM_DMA_PAGES * CIM_PAGE_SIZE);
	if (d->cfg_fd >= 0)
		close(d->cfg_fd);
	d->regs = NULL;
	d->cfg_fd = -1;
}
