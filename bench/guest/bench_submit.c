// SPDX-License-Identifier: MIT
/*
 * Guest benchmark of the job path of cim.ko: the submit-to-completion
 * latency of a NOP job, and jobs per second with 1 and 8 jobs in flight,
 * against the cost of a bare ioctl round trip (CIM_IOCTL_QUERY of the
 * device info) measured in the same run; and what the scrub of units that
 * change hands adds to the first job after a RESERVE. Not a test: it prints numbers.
 * The last line is "bench submit: <ratio>x of a bare ioctl (target <= 10x)".
 *
 * usage: bench_submit [/dev/cimN] (default /dev/cim0)
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#define QUERIES		20000
#define JOBS		2000
#define SCRUBS		200

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_submit: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t submit_nop(int fd, uint32_t handle)
{
	struct cim_submit s = { .cmdbuf_handle = handle, .cmdbuf_size = 8 };

	if (ioctl(fd, CIM_IOCTL_SUBMIT, &s))
		die("SUBMIT");
	return s.seqno;
}

/* Spin on WAIT with a zero timeout (a poll) until the job ended */
static void poll_seqno(int fd, uint64_t seqno)
{
	struct cim_wait w = { .seqno = seqno };

	while (ioctl(fd, CIM_IOCTL_WAIT, &w))
		if (errno != ETIME && errno != EINTR)
			die("WAIT (poll)");
	if (w.status != CIM_ST_OK) {
		fprintf(stderr, "bench_submit: job status %u\n", w.status);
		exit(1);
	}
}

static void wait_seqno(int fd, uint64_t seqno)
{
	struct cim_wait w = {
		.seqno = seqno, .timeout_ns = now_ns() + 10000000000ull,
	};

	while (ioctl(fd, CIM_IOCTL_WAIT, &w))
		if (errno != EINTR)
			die("WAIT");
	if (w.status != CIM_ST_OK) {
		fprintf(stderr, "bench_submit: job status %u\n", w.status);
		exit(1);
	}
}

static void reserve_units(int fd, unsigned long cmd, uint64_t mask)
{
	struct cim_reserve r = { .mask = mask };

	if (ioctl(fd, cmd, &r))
		die("RESERVE");
}

/*
 * Median time of RESERVE then a NOP job (which waits behind the SCRUB the
 * driver queues), with every unit released before each round when
 * @scrub, or already held (no scrub) otherwise.
 */
static double reserve_then_nop(int fd, uint32_t handle,
			       const struct cim_device_info *info, bool scrub)
{
	uint64_t xbars = info->xbar_count < 64 ? (1ull << info->xbar_count) - 1
					       : ~0ull;
	uint64_t aps = info->ap_count < 64 ? (1ull << info->ap_count) - 1
					   : ~0ull;
	static uint64_t lat[SCRUBS];
	uint64_t t0;
	int i;

	reserve_units(fd, CIM_IOCTL_XBAR_RESERVE, xbars);
	if (aps)
		reserve_units(fd, CIM_IOCTL_AP_RESERVE, aps);
	for (i = 0; i < SCRUBS; i++) {
		if (scrub) {
			reserve_units(fd, CIM_IOCTL_XBAR_RELEASE, xbars);
			if (aps)
				reserve_units(fd, CIM_IOCTL_AP_RELEASE, aps);
		}
		t0 = now_ns();
		reserve_units(fd, CIM_IOCTL_XBAR_RESERVE, xbars);
		if (aps)
			reserve_units(fd, CIM_IOCTL_AP_RESERVE, aps);
		wait_seqno(fd, submit_nop(fd, handle));
		lat[i] = now_ns() - t0;
	}
	qsort(lat, SCRUBS, sizeof(lat[0]), cmp_u64);
	return lat[SCRUBS / 2];
}

/* Jobs per second with @depth jobs in flight */
static double throughput(int fd, uint32_t handle, int depth)
{
	uint64_t first = 0, last = 0, t0;
	int i;

	t0 = now_ns();
	for (i = 0; i < JOBS; i++) {
		last = submit_nop(fd, handle);
		if (!first)
			first = last;
		if (last - first + 1 >= (uint64_t)depth)
			wait_seqno(fd, last - depth + 1);
	}
	wait_seqno(fd, last);
	return JOBS / ((now_ns() - t0) / 1e9);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/cim0";
	static uint64_t lat[JOBS], lat_sub[JOBS], lat_poll[JOBS];
	struct cim_device_info info;
	struct cim_query q = {
		.data_ptr = (uintptr_t)&info, .query = CIM_QUERY_DEVICE_INFO,
		.size = sizeof(info),
	};
	struct cim_bo_create c = { .size = 4096 };
	struct cim_pkt_hdr *h;
	double bare, rt, med, p99, jps1, jps8, held, scrubbed;
	uint64_t t0;
	int fd, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(path);
	if (ioctl(fd, CIM_IOCTL_BO_CREATE, &c))
		die("BO_CREATE");
	h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 c.mmap_offset);
	if (h == MAP_FAILED)
		die("mmap");
	h->opcode = CIM_OP_NOP;
	h->flags = 0;
	h->size = 8;

	/* Warm up both paths */
	for (i = 0; i < 1000; i++)
		if (ioctl(fd, CIM_IOCTL_QUERY, &q))
			die("QUERY");
	for (i = 0; i < 100; i++)
		wait_seqno(fd, submit_nop(fd, c.handle));

	t0 = now_ns();
	for (i = 0; i < QUERIES; i++)
		if (ioctl(fd, CIM_IOCTL_QUERY, &q))
			die("QUERY");
	bare = (double)(now_ns() - t0) / QUERIES;

	for (i = 0; i < JOBS; i++) {
		t0 = now_ns();
		wait_seqno(fd, submit_nop(fd, c.handle));
		lat[i] = now_ns() - t0;
	}
	rt = 0;
	for (i = 0; i < JOBS; i++)
		rt += lat[i];
	rt /= JOBS;
	qsort(lat, JOBS, sizeof(lat[0]), cmp_u64);
	med = lat[JOBS / 2];
	p99 = lat[JOBS * 99 / 100];

	/* Breakdown: SUBMIT alone, then until the job ended, polling */
	for (i = 0; i < JOBS; i++) {
		uint64_t t1, seqno;

		t0 = now_ns();
		seqno = submit_nop(fd, c.handle);
		t1 = now_ns();
		poll_seqno(fd, seqno);
		lat_sub[i] = t1 - t0;
		lat_poll[i] = now_ns() - t0;
	}
	qsort(lat_sub, JOBS, sizeof(lat_sub[0]), cmp_u64);
	qsort(lat_poll, JOBS, sizeof(lat_poll[0]), cmp_u64);

	jps1 = throughput(fd, c.handle, 1);
	jps8 = throughput(fd, c.handle, 8);
	if (ioctl(fd, CIM_IOCTL_QUERY, &q))
		die("QUERY");
	held = reserve_then_nop(fd, c.handle, &info, false);
	scrubbed = reserve_then_nop(fd, c.handle, &info, true);

	printf("bench submit: bare ioctl (QUERY) %.1f us\n", bare / 1e3);
	printf("bench submit: NOP submit+wait mean %.1f us, median %.1f us, p99 %.1f us\n",
	       rt / 1e3, med / 1e3, p99 / 1e3);
	printf("bench submit: SUBMIT alone median %.1f us; submit+polled WAIT median %.1f us, p99 %.1f us\n",
	       lat_sub[JOBS / 2] / 1e3, lat_poll[JOBS / 2] / 1e3,
	       lat_poll[JOBS * 99 / 100] / 1e3);
	printf("bench submit: %.0f jobs/s with 1 in flight, %.0f jobs/s with 8 in flight\n",
	       jps1, jps8);
	printf("bench submit: RESERVE of %u crossbars and %u APs then a NOP: median %.1f us when scrubbed, %.1f us when already held\n",
	       info.xbar_count, info.ap_count, scrubbed / 1e3, held / 1e3);
	printf("bench submit: %.1fx of a bare ioctl (target <= 10x)\n",
	       med / bare);
	close(fd);
	return 0;
}
