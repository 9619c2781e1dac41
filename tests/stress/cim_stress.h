/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the guest stress programs (cim_fuzz, cim_faults) share: the clock,
 * their random numbers and the sync_file query.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIM_STRESS_H
#define CIM_STRESS_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <time.h>

/* linux/sync_file.h's SYNC_IOC_FILE_INFO, without its header */
struct fz_sync_file_info {
	char name[32];
	int32_t status;
	uint32_t flags;
	uint32_t num_fences;
	uint32_t pad;
	uint64_t sync_fence_info;
};
#define FZ_SYNC_IOC_FILE_INFO	_IOWR('>', 4, struct fz_sync_file_info)

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* xorshift64*: the next number of the stream in *s (never 0) */
static inline uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif /* CIM_STRESS_H */
