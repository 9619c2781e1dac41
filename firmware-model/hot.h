/* SPDX-License-Identifier: MIT */
/*
 * The model's per-element loops. A HOT function is vectorised (-O3) and
 * gets an AVX2 clone picked at load time; an INL helper is inlined into
 * its callers, and so into both clones. Only IEEE basic operations, in a
 * per-element order that does not depend on the vector width, with no
 * contraction into fused multiply-adds: every clone gives the same bits.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMFW_HOT_H
#define CIMFW_HOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#define HOT __attribute__((optimize("O3", "fp-contract=off"), \
			     target_clones("avx2", "default")))
#else
#define HOT
#endif

#define INL static inline __attribute__((always_inline))

/* abs-max of finite floats, on the bit patterns (order-free) */
INL float cimfw_absmax(const float *x, size_t n)
{
	uint32_t m = 0, v;
	size_t i;
	float r;

	for (i = 0; i < n; i++) {
		memcpy(&v, &x[i], sizeof(v));
		v &= 0x7fffffffu;
		m = v > m ? v : m;
	}
	memcpy(&r, &m, sizeof(r));
	return r;
}

#endif
