/* SPDX-License-Identifier: MIT */
/*
 * The model's per-element loops. A hot loop is written once, as an
 * always-inline body NAME_body, and CIMFW_HOT_FN() / CIMFW_HOT_PROC()
 * build it twice, vectorised (-O3): for the baseline (the reference) and
 * for AVX2, and define NAME to call the one of the model's SIMD level
 * (simd.h). Only IEEE basic operations, in a per-element order that does
 * not depend on the vector width, with no contraction into fused
 * multiply-adds: both builds give the same bits. An INL helper is inlined
 * into its callers, and so into both builds.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMFW_HOT_H
#define CIMFW_HOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"

#define INL static inline __attribute__((always_inline))

#define HOT_BUILD __attribute__((optimize("O3", "fp-contract=off")))

#ifdef CIMFW_HAVE_X86_KERNELS
/* @ret NAME@params, static, returning NAME_body@args */
#define CIMFW_HOT_FN(ret, name, params, args)				\
	HOT_BUILD static ret name##_c params				\
	{								\
		return name##_body args;				\
	}								\
	HOT_BUILD CIMFW_TARGET_AVX2 static ret name##_avx2 params	\
	{								\
		return name##_body args;				\
	}								\
	static ret name params						\
	{								\
		if (cimfw_simd_level() >= CIMFW_SIMD_AVX2)		\
			return name##_avx2 args;			\
		return name##_c args;					\
	}
/* the same for a void NAME */
#define CIMFW_HOT_PROC(name, params, args)				\
	HOT_BUILD static void name##_c params				\
	{								\
		name##_body args;					\
	}								\
	HOT_BUILD CIMFW_TARGET_AVX2 static void name##_avx2 params	\
	{								\
		name##_body args;					\
	}								\
	static void name params						\
	{								\
		if (cimfw_simd_level() >= CIMFW_SIMD_AVX2)		\
			name##_avx2 args;				\
		else							\
			name##_c args;					\
	}
#else
#define CIMFW_HOT_FN(ret, name, params, args)				\
	HOT_BUILD static ret name params				\
	{								\
		return name##_body args;				\
	}
#define CIMFW_HOT_PROC(name, params, args)				\
	HOT_BUILD static void name params				\
	{								\
		name##_body args;					\
	}
#endif

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
