// SPDX-License-Identifier: MIT
/*
 * The model's worker pool (par.h). One pool per process, shared by every
 * device instance: a loop that finds it busy runs in its caller, which
 * gives the same bits. Workers spin briefly for the next loop (the VMMs
 * of a job come back to back), then sleep on a condition variable.
 *
 * OpenBLAS runs single-threaded once the pool has started: the pool
 * already splits the model's products, and BLAS threads of their own
 * would spin against it for the same cores.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "par.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax()	_mm_pause()
#else
#define cpu_relax()	do { } while (0)
#endif

/* polls of the generation or the pending count before sleeping, ~10 us */
#define SPIN	256

/* below this many multiply-adds a loop runs in its caller */
#define PAR_MIN_WORK	32768.0

/* OpenBLAS's, when that is the BLAS linked in */
extern void openblas_set_num_threads(int n) __attribute__((weak));

/**
 * struct par_pool - the process's workers
 * @lock: protects the sleepers' wake-up and @started
 * @wake: workers wait here for a new @gen
 * @done: the caller waits here for @pending to reach 0
 * @gen: loop number; a new value hands @fn, @arg, @nparts to the workers
 * @pending: workers still inside the current loop
 * @busy: set while a caller owns the pool
 * @fn: the current loop's body, with @arg and @nparts
 * @started: worker threads running; worker w takes part w
 * @threads: threads a loop may use, the caller included; 0 until decided
 */
static struct par_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t done;
	atomic_uint gen;
	atomic_uint pending;
	atomic_flag busy;
	cim_par_fn *fn;
	void *arg;
	unsigned int nparts;
	unsigned int started;
	atomic_uint threads;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.busy = ATOMIC_FLAG_INIT,
};

static unsigned int default_threads(void)
{
	const char *env = getenv("CIM_FW_THREADS");
	long n = env && *env ? strtol(env, NULL, 10) :
		 sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > CIM_PAR_MAX ? CIM_PAR_MAX : (unsigned int)n;
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

unsigned int cim_par_set_threads(unsigned int n)
{
	if (n > CIM_PAR_MAX)
		n = CIM_PAR_MAX;
	atomic_store_explicit(&pool.threads, n ? n : default_threads(),
			      memory_order_relaxed);
	return threads();
}

unsigned int cim_par_parts(double work)
{
	return work < PAR_MIN_WORK ? 1 : threads();
}

static unsigned int wait_gen(unsigned int seen)
{
	unsigned int g, i;

	for (i = 0; i < SPIN; i++) {
		g = atomic_load_explicit(&pool.gen, memory_order_acquire);
		if (g != seen)
			return g;
		cpu_relax();
	}
	pthread_mutex_lock(&pool.lock);
	while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) ==
	       seen)
		pthread_cond_wait(&pool.wake, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	return g;
}

static void *worker(void *p)
{
	unsigned int part = (unsigned int)(uintptr_t)p, seen = 0;

	for (;;) {
		seen = wait_gen(seen);
		if (part < pool.nparts)
			pool.fn(pool.arg, part, pool.nparts);
		if (atomic_fetch_sub_explicit(&pool.pending, 1,
					      memory_order_acq_rel) == 1) {
			pthread_mutex_lock(&pool.lock);
			pthread_cond_signal(&pool.done);
			pthread_mutex_unlock(&pool.lock);
		}
	}
	return NULL;
}

/* Workers for parts 1..@n-1; with every signal blocked (QEMU's rule). */
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
	       !pthread_create(&t, &attr, worker,
			       (void *)(uintptr_t)(pool.started + 1)))
		pool.started++;
	pthread_mutex_unlock(&pool.lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (pool.started && openblas_set_num_threads)
		openblas_set_num_threads(1);
}

static void run_serial(unsigned int nparts, cim_par_fn *fn, void *arg)
{
	unsigned int p;

	for (p = 0; p < nparts; p++)
		fn(arg, p, nparts);
}

void cim_par_run(unsigned int nparts, cim_par_fn *fn, void *arg)
{
	unsigned int i, p;

	if (nparts <= 1 || atomic_flag_test_and_set(&pool.busy)) {
		run_serial(nparts ? nparts : 1, fn, arg);
		return;
	}
	start_workers(nparts);
	if (!pool.started) {
		atomic_flag_clear(&pool.busy);
		run_serial(nparts, fn, arg);
		return;
	}
	pool.fn = fn;
	pool.arg = arg;
	pool.nparts = nparts;
	atomic_store_explicit(&pool.pending, pool.started,
			      memory_order_relaxed);
	pthread_mutex_lock(&pool.lock);
	atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	/* part 0 here, and the parts no worker exists for */
	fn(arg, 0, nparts);
	for (p = pool.started + 1; p < nparts; p++)
		fn(arg, p, nparts);
	for (i = 0; i < SPIN; i++) {
		if (!atomic_load_explicit(&pool.pending, memory_order_acquire))
			goto out;
		cpu_relax();
	}
	pthread_mutex_lock(&pool.lock);
	while (atomic_load_explicit(&pool.pending, memory_order_acquire))
		pthread_cond_wait(&pool.done, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
out:
	atomic_flag_clear(&pool.busy);
}
