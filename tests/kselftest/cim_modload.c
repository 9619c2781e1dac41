// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim.ko loads and unloads 100 times in a row with both devices bound, and
 * leaks nothing. Runs in the test VM after cim_test (the module is loaded
 * by /init; this test unloads it first and leaves it loaded at the end).
 * Every tenth cycle opens both devices and runs a job on each (a buffer,
 * a mapping, a NOP with a sync_file) and reads a sysfs counter (a job of
 * the driver's own) before the unload.
 *
 * Debian's kernel is built without kmemleak (CONFIG_DEBUG_KMEMLEAK is off),
 * so leaks are measured from the outside instead: after a warm-up of 3
 * cycles, and again after the 100, the page cache is dropped, RCU given
 * time, every slab cache shrunk (/sys/kernel/slab/NAME/shrink), and then
 *  - every slab cache's active object count (/proc/slabinfo) may grow by
 *    fewer than 50 objects: a leak of one object per cycle, of any size,
 *    shows as 100;
 *  - SUnreclaim may grow by at most 256 kB;
 *  - MemAvailable may shrink by at most 2 MB and VmallocUsed grow by at
 *    most 256 kB. Pages on the per-CPU free lists are not counted free,
 *    so MemAvailable moves by 0.5..2 MB between two snapshots of an idle
 *    guest: a leak of the DMA pages (ring and counters, 16 kB a cycle for
 *    both devices, 1.6 MB) is at the edge of what this sees; the module
 *    itself (vmalloc) and every slab object are seen sharply;
 * and the kernel log gains no warning, BUG, oops or splat.
 *
 * Output: TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libsync.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#define KO		"/lib/modules/cim/cim.ko"
#define CYCLES		100
#define WARMUP		3
#define MAX_CACHES	512

struct snapshot {
	long mem_available, mem_free, sunreclaim, vmalloc_used;
	int ncaches;
	char name[MAX_CACHES][48];
	long active[MAX_CACHES];
};

static int tests, fails;

static void result(int ok, const char *what)
{
	printf("%sok %d %s\n", ok ? "" : "not ", ++tests, what);
	fails += !ok;
}

static long meminfo(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) &&
		    line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

/*
 * SLUB counts the objects of the per-CPU slabs as active: shrinking every
 * cache first makes active_objs exact enough to see one object a cycle
 */
static void shrink_slabs(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *e;
	char path[300];
	int fd;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 e->d_name);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) < 0)
			perror(path);
		close(fd);
	}
	closedir(d);
}

static void settle(void)
{
	int i, fd;

	/*
	 * kfree_rcu, dma_fence and file (filp) frees wait for a grace
	 * period, which a slow TCG guest on a busy host can take long to
	 * reach: three rounds of a second each
	 */
	for (i = 0; i < 3; i++) {
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "3", 1) < 0)
				perror("drop_caches");
			close(fd);
		}
		usleep(1000000);
		shrink_slabs();
	}
}

static void snap(struct snapshot *s)
{
	char line[512];
	FILE *f;

	settle();
	s->mem_available = meminfo("MemAvailable");
	s->mem_free = meminfo("MemFree");
	s->sunreclaim = meminfo("SUnreclaim");
	s->vmalloc_used = meminfo("VmallocUsed");
	s->ncaches = 0;
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && s->ncaches < MAX_CACHES) {
		char name[48];
		long active;

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%47s %ld", name, &active) != 2)
			continue;
		strcpy(s->name[s->ncaches], name);
		s->active[s->ncaches++] = active;
	}
	fclose(f);
}

static int klog_splats(void)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "Oops", "Call Trace", "UBSAN", "leak",
	};
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *p;
	unsigned int i;
	int n = 0;

	if (len <= 0)
		return 0;
	buf = calloc(1, len + 1);
	if (!buf)
		return 0;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	for (i = 0; len > 0 && i < sizeof(bad) / sizeof(bad[0]); i++)
		for (p = buf; (p = strstr(p, bad[i])); p++)
			n++;
	free(buf);
	return n;
}

static int load(void)
{
	int fd = open(KO, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int unload(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!syscall(SYS_delete_module, "cim", O_NONBLOCK))
			return 0;
		if (errno != EWOULDBLOCK && errno != EBUSY)
			return -errno;
		usleep(10000);
	}
	return -EBUSY;
}

/* Open /dev/cim@index, run a NOP with a sync_file, read a counter */
static int one_job(int index)
{
	struct cim_bo_create c = { .size = 4096 };
	struct cim_pkt_hdr *h;
	struct cim_submit s = { 0 };
	char path[64], buf[32];
	int fd, sfd, ret = -1;

	snprintf(path, sizeof(path), "/dev/cim%d", index);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, CIM_IOCTL_BO_CREATE, &c))
		goto out;
	h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 c.mmap_offset);
	if (h == MAP_FAILED)
		goto out;
	h->opcode = CIM_OP_NOP;
	h->flags = 0;
	h->size = 8;
	s.cmdbuf_handle = c.handle;
	s.cmdbuf_size = 8;
	s.flags = CIM_SUBMIT_FENCE_OUT;
	if (!ioctl(fd, CIM_IOCTL_SUBMIT, &s) && !sync_wait(s.fence_fd, 5000))
		ret = 0;
	close(s.fence_fd);
	munmap(h, 4096);
	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/counters/jobs",
		 index);
	sfd = open(path, O_RDONLY);
	if (sfd < 0 || read(sfd, buf, sizeof(buf)) <= 0)
		ret = -1;
	if (sfd >= 0)
		close(sfd);
out:
	close(fd);
	return ret;
}

static int cycle(int i, int *jobs)
{
	if (load())
		return -1;
	if (access("/dev/cim0", F_OK) || access("/dev/cim1", F_OK))
		return -2;
	if (i % 10 == 0) {
		if (one_job(0) || one_job(1))
			return -3;
		(*jobs)++;
	}
	return unload() ? -4 : 0;
}

static int compare(const struct snapshot *a, const struct snapshot *b)
{
	int i, j, ok = 1;

	printf("# MemFree %+ld kB\n", b->mem_free - a->mem_free);
	printf("# MemAvailable %+ld kB, SUnreclaim %+ld kB, VmallocUsed %+ld kB\n",
	       b->mem_available - a->mem_available,
	       b->sunreclaim - a->sunreclaim,
	       b->vmalloc_used - a->vmalloc_used);
	if (a->mem_available - b->mem_available > 2048 ||
	    b->sunreclaim - a->sunreclaim > 256 ||
	    b->vmalloc_used - a->vmalloc_used > 256)
		ok = 0;
	for (i = 0; i < b->ncaches; i++)
		for (j = 0; j < a->ncaches; j++) {
			long d;

			if (strcmp(a->name[j], b->name[i]))
				continue;
			d = b->active[i] - a->active[j];
			if (d >= CYCLES / 2) {
				printf("# slab %s: %+ld objects\n", b->name[i],
				       d);
				ok = 0;
			}
		}
	if (!a->ncaches)
		printf("# no /proc/slabinfo: slab caches not compared\n");
	return ok;
}

int main(void)
{
	static struct snapshot before, after;
	int i, r = 0, jobs = 0, splats;
	struct timespec t0, t1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..4\n");
	if (access(KO, F_OK) || access("/dev/cim1", F_OK)) {
		printf("# needs %s and two cim devices\n", KO);
		for (i = 0; i < 4; i++)
			printf("ok %d # SKIP\n", i + 1);
		return 4;
	}
	splats = klog_splats();
	result(!unload(), "unload the module /init loaded");
	for (i = 0; i < WARMUP && !r; i++)
		r = cycle(1, &jobs);
	snap(&before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < CYCLES && !r; i++)
		r = cycle(i, &jobs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %d cycles in %.1f s, %d with jobs on both devices; %s\n", i,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       jobs, r ? "stopped" : "all loaded and unloaded");
	if (r)
		printf("# cycle %d failed: step %d\n", i - 1, -r);
	result(!r, "100 load/unload cycles, both devices bound");
	snap(&after);
	result(compare(&before, &after), "no leak (slabinfo, meminfo)");
	result(!load() && klog_splats() == splats,
	       "reload; kernel log clean");
	return fails ? 1 : 0;
}
