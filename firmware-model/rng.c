// SPDX-License-Identifier: MIT
/*
 * xoshiro256** (Blackman and Vigna, 2018) with splitmix64 seeding.
 */
#include <math.h>

#include "rng.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void cim_rng_seed(struct cim_rng *rng, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
	int i;

	for (i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
	rng->have_spare = 0;
	rng->spare = 0.0;
}

uint64_t cim_rng_next(struct cim_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double cim_rng_uniform(struct cim_rng *rng)
{
	return (double)(cim_rng_next(rng) >> 11) * 0x1.0p-53;
}

double cim_rng_normal(struct cim_rng *rng)
{
	double u, v, s, f;

	if (rng->have_spare) {
		rng->have_spare = 0;
		return rng->spare;
	}
	do {
		u = 2.0 * cim_rng_uniform(rng) - 1.0;
		v = 2.0 * cim_rng_uniform(rng) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	/* sqrt is correctly rounded by IEEE 754; log comes from one libm */
	f = sqrt(-2.0 * log(s) / s);
	rng->spare = v * f;
	rng->have_spare = 1;
	return u * f;
}
