/* SPDX-License-Identifier: MIT */
/*
 * Deterministic random numbers for the model: xoshiro256** seeded through
 * splitmix64, one independent stream per (seed, stream id). Only integer and
 * IEEE basic arithmetic, so every machine draws the same bits.
 */
#ifndef CIM_RNG_H
#define CIM_RNG_H

#include <stdint.h>

struct cim_rng {
	uint64_t s[4];
	/* second value of the last polar pair, valid when have_spare */
	double spare;
	int have_spare;
};

void cim_rng_seed(struct cim_rng *rng, uint64_t seed, uint64_t stream);
uint64_t cim_rng_next(struct cim_rng *rng);
/* uniform in [0, 1) with 53 random bits */
double cim_rng_uniform(struct cim_rng *rng);
/* standard normal, Marsaglia polar method */
double cim_rng_normal(struct cim_rng *rng);

/* stream ids, so that units never share a stream */
enum cim_rng_stream {
	CIM_RNG_D2D = 1,	/* + xbar index << 8: drawn once */
	CIM_RNG_STUCK = 2,
	CIM_RNG_C2C = 3,	/* + xbar index << 8: pulse noise */
	CIM_RNG_READ = 4,	/* + xbar index << 8: read noise */
	CIM_RNG_DUU = 5,
};

#endif /* CIM_RNG_H */
