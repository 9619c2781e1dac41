/* SPDX-License-Identifier: MIT */
/*
 * The model's one choice of instruction set for its hand-written vector
 * kernels (the crossbar's DAC and ADC, the read-noise fill, the
 * vectorised loops of hot.h), made once, at first use, as the kernel's
 * lib/raid6 picks its algorithm: the best level this CPU can run, unless
 * the environment variable CIMFW_SIMD asks for a lower one. Every level
 * gives the same bits as the portable C, which the unit tests check.
 * Documentation/model/crossbar.rst describes the kernels.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMFW_SIMD_H
#define CIMFW_SIMD_H

#include <stdbool.h>

/* each level a superset of the one before */
enum cimfw_simd {
	CIMFW_SIMD_C = 0,		/* portable C, the reference */
	CIMFW_SIMD_AVX2,
	CIMFW_SIMD_AVX512,		/* F, BW, VL: popcounts by look-up */
	CIMFW_SIMD_AVX512_POPCNT,	/* and VPOPCNTDQ */
	CIMFW_SIMD_LEVELS
};

#if defined(__x86_64__)
#define CIMFW_HAVE_X86_KERNELS 1
/* the target strings of every kernel of the model: one per level */
#define CIMFW_TARGET_AVX2 __attribute__((target("avx2")))
#define CIMFW_TARGET_AVX512 \
	__attribute__((target("avx2,avx512f,avx512bw,avx512vl")))
#endif

/* the level the model runs at, chosen on the first call; thread-safe */
enum cimfw_simd cimfw_simd_level(void);
/* "c", "avx2", "avx512", "avx512-popcnt": the names CIMFW_SIMD takes */
const char *cimfw_simd_name(enum cimfw_simd level);
bool cimfw_simd_usable(enum cimfw_simd level);
/*
 * Tests: run at @level from now on if this CPU can, else at the best
 * usable level below it; returns the level set. Not thread-safe: no
 * model call may be running.
 */
enum cimfw_simd cimfw_simd_force(enum cimfw_simd level);

#endif /* CIMFW_SIMD_H */
