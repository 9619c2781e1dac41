// SPDX-License-Identifier: MIT
/*
 * The choice of the model's vector kernels (simd.h): a table of levels,
 * each with the test of whether this CPU runs it; the best usable one is
 * taken once, under pthread_once(), capped by CIMFW_SIMD.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

struct simd_variant {
	const char *name;
	bool (*usable)(void);
};

static bool usable_always(void)
{
	return true;
}

#ifdef CIMFW_HAVE_X86_KERNELS
static bool usable_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}

static bool usable_avx512(void)
{
	return usable_avx2() && __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl");
}

static bool usable_avx512_popcnt(void)
{
	return usable_avx512() && __builtin_cpu_supports("avx512vpopcntdq");
}
#else
static bool usable_never(void)
{
	return false;
}

#define usable_avx2 usable_never
#define usable_avx512 usable_never
#define usable_avx512_popcnt usable_never
#endif

static const struct simd_variant variants[CIMFW_SIMD_LEVELS] = {
	[CIMFW_SIMD_C] = { "c", usable_always },
	[CIMFW_SIMD_AVX2] = { "avx2", usable_avx2 },
	[CIMFW_SIMD_AVX512] = { "avx512", usable_avx512 },
	[CIMFW_SIMD_AVX512_POPCNT] = { "avx512-popcnt", usable_avx512_popcnt },
};

static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;
static enum cimfw_simd chosen;

const char *cimfw_simd_name(enum cimfw_simd level)
{
	return level < CIMFW_SIMD_LEVELS ? variants[level].name : "?";
}

bool cimfw_simd_usable(enum cimfw_simd level)
{
	return level < CIMFW_SIMD_LEVELS && variants[level].usable();
}

/* the best usable level at or below @cap */
static enum cimfw_simd best_usable(enum cimfw_simd cap)
{
	int l;

	for (l = cap; l > CIMFW_SIMD_C; l--)
		if (variants[l].usable())
			return (enum cimfw_simd)l;
	return CIMFW_SIMD_C;
}

/* CIMFW_SIMD=<name>: the highest level the model may use */
static enum cimfw_simd env_cap(void)
{
	const char *s = getenv("CIMFW_SIMD");
	int l;

	if (s)
		for (l = CIMFW_SIMD_C; l < CIMFW_SIMD_LEVELS; l++)
			if (!strcmp(s, variants[l].name))
				return (enum cimfw_simd)l;
	return CIMFW_SIMD_LEVELS - 1;
}

static void choose(void)
{
	chosen = best_usable(env_cap());
}

enum cimfw_simd cimfw_simd_level(void)
{
	pthread_once(&chosen_once, choose);
	return chosen;
}

enum cimfw_simd cimfw_simd_force(enum cimfw_simd level)
{
	pthread_once(&chosen_once, choose);
	chosen = best_usable(level < CIMFW_SIMD_LEVELS ? level :
			     CIMFW_SIMD_LEVELS - 1);
	return chosen;
}
