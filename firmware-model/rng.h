/* SPDX-License-Identifier: MIT */
/*
 * Deterministic random numbers for the model, beyond the seeded streams of
 * include/cimfw.h: normal deviates, the SIMD lanes of bulk noise, and the
 * stream ids of the model's units.
 */
#ifndef CIMFW_RNG_H
#define CIMFW_RNG_H

#include <stdbool.h>
#include <stdint.h>

#include "cimfw.h"	/* struct cimfw_rng and its seed, next, uniform */

/*
 * Standard normal, 256-layer ziggurat (Marsaglia and Tsang, 2000) with
 * fixed tables: one 64-bit draw in about 99% of the calls, no libm on that
 * path.
 */
double cimfw_rng_normal(struct cimfw_rng *rng);

/*
 * CIMFW_RNG_LANES independent xoshiro256** streams for bulk noise, which SIMD
 * draws all at once: a round draws every stream once and makes 16 binary32
 * normal deviates (Box-Muller, two per draw, |z| < 5.65). A fill of n takes
 * ceil(n / 16) rounds and drops the unused slots of the last one.
 */
#define CIMFW_RNG_LANES 8

struct cimfw_rng_lanes {
	uint64_t s[4][CIMFW_RNG_LANES];	/* state word, lane */
};

void cimfw_rng_lanes_seed(struct cimfw_rng_lanes *rl, uint64_t seed,
			uint64_t stream);
void cimfw_rng_lanes_normal_fill(struct cimfw_rng_lanes *rl, float *out,
			       unsigned int n);
/* the state after @rounds rounds of fills (16 deviates each), faster */
void cimfw_rng_lanes_skip(struct cimfw_rng_lanes *rl, uint64_t rounds);
/* the portable reference of the fill, same bits */
void cimfw_rng_lanes_normal_fill_generic(struct cimfw_rng_lanes *rl,
				       float *out, unsigned int n);

/* stream ids, so that units never share a stream */
enum cimfw_rng_stream {
	CIMFW_RNG_D2D = 1,	/* + xbar index << 8: drawn once */
	CIMFW_RNG_STUCK = 2,
	CIMFW_RNG_C2C = 3,	/* + xbar index << 8: pulse noise */
	CIMFW_RNG_READ = 4,	/* + xbar index << 8: read noise */
	CIMFW_RNG_DUU = 5,
	CIMFW_RNG_RANGE = 6,	/* + xbar index << 8: drawn once */
	CIMFW_RNG_VERIFY = 7,	/* + xbar index << 8: verify reads */
	CIMFW_RNG_RELAX = 8,	/* ^ a device and programming id */
};

#endif /* CIMFW_RNG_H */
