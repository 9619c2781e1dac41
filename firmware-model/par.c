// SPDX-License-Identifier: MIT
/*
 * The worker pool (include/cimfw.h). One pool per process, shared by
 * every device instance and by libcim's layers: a loop that finds it busy
 * runs in its caller, which gives the same bits.
 *
 * Parts are claimed, not assigned: the caller and the workers take the
 * next unclaimed part until none is left, so a worker that is slow to wake
 * (another process on its core) costs nothing but the parts it has not
 * taken; the caller runs them. Workers poll briefly for the next loop (the
 * VMMs of a job come back to back), then sleep on a condition variable.
 * The polls use no PAUSE: in a virtual machine, PAUSE loops trigger
 * pause-loop exits that deschedule the polling vCPU.
 *
 * OpenBLAS runs single-threaded once the pool has started: the pool
 * already splits the model's products, and BLAS threads of their own
 * would spin against it for the same cores.
 *
 * Determinism: every value the model computes is the same whichever part
 * computes it (integer sums in the VMM and the DUU are exact; random
 * numbers are drawn before the loop, in one order), so the model's results
 * do not depend on the number of threads.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cimfw.h"

/*
 * How long to poll the loop word or the done count before sleeping. The
 * gaps between the VMMs of a convolution (the host's im2col of the next
 * chunk) run to tens of microseconds; a futex wake-up in a virtual machine
 * costs as much, twice per loop. 50 us and 200 us gave the same epoch
 * time of cim-train (measured); the shorter wastes less of a shared
 * machine.
 */
#define SPIN_NS	50000
#define SPIN_CHECK	256	/* polls between clock reads */

/* below this many multiply-adds a loop runs in its caller */
#define PAR_MIN_WORK	32768.0

/* OpenBLAS's, when that is the BLAS linked in */
extern void openblas_set_num_threads(int n) __attribute__((weak));

/**
 * struct par_pool - the process's workers
 * @lock: protects the sleepers' wake-up and @started
 * @wake: workers wait here for a new loop
 * @finished: the caller waits here for @done to reach the loop's parts
 * @word: loop number << 32 | parts << 16 | next unclaimed part; a new
 *        loop number hands @fn and @arg to the workers, which read them
 *        only after claiming a part (the caller cannot move on before
 *        that part has returned)
 * @done: parts of the current loop that have returned
 * @busy: set while a caller owns the pool
 * @fn: the current loop's body, with @arg
 * @started: worker threads running
 * @threads: threads a loop may use, the caller included; 0 until decided
 */
static struct par_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t finished;
	_Atomic uint64_t word;
	atomic_uint done;
	atomic_flag busy;
	cimfw_par_fn *fn;
	void *arg;
	unsigned int started;
	atomic_uint threads;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.finished = PTHREAD_COND_INITIALIZER,
	.busy = ATOMIC_FLAG_INIT,
};

static unsigned int default_threads(void)
{
	const char *env = getenv("CIM_FW_THREADS");
	long n = env && *env ? strtol(env, NULL, 10) :
		 sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > CIMFW_PAR_MAX ? CIMFW_PAR_MAX : (unsigned int)n;
}

static unsigned int threads(void)
{
	unsigned int n = atomic_load_explicit(&pool.threads,
					      memory_order_relaxed);

	if (!n) {
		n = default_threads();
		atomic_store_explicit(&pool.threads, n, memory_order_relaxed);
	}
	return n;
}

unsigned int cimfw_par_set_threads(unsigned int n)
{
	if (n > CIMFW_PAR_MAX)
		n = CIMFW_PAR_MAX;
	atomic_store_explicit(&pool.threads, n ? n : default_threads(),
			      memory_order_relaxed);
	return threads();
}

/* two parts a thread: a late worker leaves the caller whole parts to take */
unsigned int cimfw_par_parts(double work)
{
	unsigned int t = threads();

	if (work < PAR_MIN_WORK || t == 1)
		return 1;
	return 2 * t > CIMFW_PAR_MAX ? CIMFW_PAR_MAX : 2 * t;
}

/*
 * Claim and run the parts of loop @gen that are left; returns when none
 * is. The last part to return wakes the caller if it sleeps.
 */
static void take_parts(uint32_t gen)
{
	uint64_t w = atomic_load_explicit(&pool.word, memory_order_acquire);
	unsigned int p, n;

	for (;;) {
		if ((uint32_t)(w >> 32) != gen)
			return;
		p = (uint16_t)w;
		n = (uint16_t)(w >> 16);
		if (p >= n)
			return;
		if (!atomic_compare_exchange_weak_explicit(&pool.word, &w,
							   w + 1,
							   memory_order_acq_rel,
							   memory_order_acquire))
			continue;
		pool.fn(pool.arg, p, n);
		if (atomic_fetch_add_explicit(&pool.done, 1,
					      memory_order_acq_rel) + 1 == n) {
			pthread_mutex_lock(&pool.lock);
			pthread_cond_signal(&pool.finished);
			pthread_mutex_unlock(&pool.lock);
		}
		w = atomic_load_explicit(&pool.word, memory_order_acquire);
	}
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint32_t loop_of(void)
{
	return (uint32_t)(atomic_load_explicit(&pool.word,
					       memory_order_acquire) >> 32);
}

/* the next loop number after @seen */
static uint32_t wait_loop(uint32_t seen)
{
	uint64_t end = now_ns() + SPIN_NS;
	uint32_t g;
	unsigned int i;

	do {
		for (i = 0; i < SPIN_CHECK; i++) {
			g = loop_of();
			if (g != seen)
				return g;
		}
	} while (now_ns() < end);
	pthread_mutex_lock(&pool.lock);
	while ((g = loop_of()) == seen)
		pthread_cond_wait(&pool.wake, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	return g;
}

static void *worker(void *unused)
{
	uint32_t seen = 0;

	(void)unused;
	for (;;) {
		seen = wait_loop(seen);
		take_parts(seen);
	}
	return NULL;
}

/* Workers up to @n threads with the caller; every signal blocked in them
 * (QEMU's rule for its threads). */
static void start_workers(unsigned int n)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;

	if (pool.started + 1 >= n || pthread_attr_init(&attr))
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&pool.lock);
	while (pool.started + 1 < n &&
	       !pthread_create(&t, &attr, worker, NULL))
		pool.started++;
	pthread_mutex_unlock(&pool.lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (pool.started && openblas_set_num_threads)
		openblas_set_num_threads(1);
}

static void run_serial(unsigned int nparts, cimfw_par_fn *fn, void *arg)
{
	unsigned int p;

	for (p = 0; p < nparts; p++)
		fn(arg, p, nparts);
}

void cimfw_par_run(unsigned int nparts, cimfw_par_fn *fn, void *arg)
{
	uint64_t end;
	uint32_t gen;
	unsigned int i;

	if (nparts <= 1 || atomic_flag_test_and_set(&pool.busy)) {
		run_serial(nparts ? nparts : 1, fn, arg);
		return;
	}
	start_workers(threads());
	if (!pool.started) {
		atomic_flag_clear(&pool.busy);
		run_serial(nparts, fn, arg);
		return;
	}
	pool.fn = fn;
	pool.arg = arg;
	atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
	gen = (uint32_t)(atomic_load_explicit(&pool.word,
					      memory_order_relaxed) >> 32) + 1;
	atomic_store_explicit(&pool.word, (uint64_t)gen << 32 |
			      (uint64_t)nparts << 16, memory_order_release);
	/* a worker checks the word under the lock before it sleeps */
	pthread_mutex_lock(&pool.lock);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	take_parts(gen);
	end = now_ns() + SPIN_NS;
	do {
		for (i = 0; i < SPIN_CHECK; i++)
			if (atomic_load_explicit(&pool.done,
						 memory_order_acquire) ==
			    nparts)
				goto out;
	} while (now_ns() < end);
	pthread_mutex_lock(&pool.lock);
	while (atomic_load_explicit(&pool.done, memory_order_acquire) !=
	       nparts)
		pthread_cond_wait(&pool.finished, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
out:
	atomic_flag_clear(&pool.busy);
}
