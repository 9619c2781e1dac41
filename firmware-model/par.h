/* SPDX-License-Identifier: MIT */
/*
 * A small pool of worker threads for the model's bulk loops (VMM, DUU).
 *
 * Determinism: a parallel loop is cut into parts that never share an
 * output, and every value the model computes is the same whichever part
 * computes it (integer sums in the VMM and the DUU are exact; random
 * numbers are drawn before the loop, in one order). So the results do not
 * depend on the number of threads, which the unit tests check.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMFW_PAR_H
#define CIMFW_PAR_H

#include <stddef.h>

#define CIMFW_PAR_MAX	8	/* parts of one loop, threads of the pool */

typedef void cimfw_par_fn(void *arg, unsigned int part, unsigned int nparts);

/*
 * The number of parts for a loop of @work units (about one multiply-add
 * each): 1 below a size where handing work to a thread costs more than
 * it saves, else the pool's thread count (at most CIMFW_PAR_MAX).
 */
unsigned int cimfw_par_parts(double work);

/*
 * Call @fn(@arg, p, @nparts) for every p < @nparts, the caller taking
 * part 0, and return when all have returned. Runs every part in the
 * caller when @nparts is 1, when the pool cannot start, or when another
 * thread is using it.
 */
void cimfw_par_run(unsigned int nparts, cimfw_par_fn *fn, void *arg);

/* [@part, @part + 1) of @n items cut in @nparts: the first index */
static inline size_t cimfw_par_first(size_t n, unsigned int part,
				   unsigned int nparts)
{
	return n * part / nparts;
}

/*
 * Threads of the pool, the caller included: 0 restores the default, the
 * environment's CIM_FW_THREADS or else the online CPUs (at most
 * CIMFW_PAR_MAX). Not while a loop runs. Returns the count now in force.
 */
unsigned int cimfw_par_set_threads(unsigned int n);

#endif /* CIMFW_PAR_H */
