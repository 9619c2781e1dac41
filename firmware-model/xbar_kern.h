/* SPDX-License-Identifier: MIT */
/*
 * The crossbar's vector kernels, private to the model: the DAC of the
 * input vectors and the ADC of the analog sums, at each SIMD level of
 * simd.h (xbar_kern_c.c is the portable reference, xbar_kern_avx2.c and
 * xbar_kern_avx512.c the x86 ones).
 *
 * The arithmetic of one value is written once, here, for every width W:
 * f1 and d1 (a float, a double: the C), f8 and d4 (AVX2), f16 and d8
 * (AVX-512). DAC_CODE() and ADC_ROUND() / ADC_CLIP() spell the IEEE
 * operations in one order with W's primitives; a min or max is x86's
 * (a < b ? a : b, a > b ? a : b), which is also what the C conditionals
 * compute. So every variant rounds alike and gives the same bits.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMFW_XBAR_KERN_H
#define CIMFW_XBAR_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hot.h"
#include "simd.h"

#ifdef CIMFW_HAVE_X86_KERNELS
#include <immintrin.h>
#endif

/* vectors the ADC converts together (a lane of a double each) */
#define ADC_GROUP 8

/**
 * struct vmm_adc - the output side of a VMM call
 * @accd: the analog sums, batch x @nout doubles
 * @alpha: the DAC range of each input vector
 * @noise: non-NULL with read noise: the deviates, @nstride per vector
 *         (used: the first @nout), reach adc_rows a block at a time
 * @den: Q * (L - 1), the scale's denominator
 * @rn: read noise, relative to the full scale
 * @fixed: the ADC's full scale is @range, not each vector's abs-max
 * @qa: the ADC's largest code
 */
struct vmm_adc {
	const double *accd;
	const float *alpha;
	const float *noise;
	size_t nstride;
	unsigned int nout;
	double den, rn, range, qa;
	bool fixed;
};

/**
 * struct cimfw_xbar_kernels - the kernels of one SIMD level
 * @dac_rows: DAC of @n input vectors of @nin values: the abs-max range of
 *            each into @alpha, codes in [-q, q] into @code, the set bits
 *            of the codes summed per input line into @pc (which has room,
 *            cleared, up to a multiple of 16). Returns the non-zero codes.
 * @adc_rows: scale, read noise and ADC of output vectors [b0, b1) into
 *            @out, through @y (ADC_GROUP vectors of nout rounded up to
 *            16 doubles); @noise: the deviates of vector b0 on, @nstride
 *            a vector. Returns the saturations.
 */
struct cimfw_xbar_kernels {
	size_t (*dac_rows)(const float *restrict x, unsigned int n,
			   unsigned int nin, float q, float *restrict code,
			   float *restrict alpha, uint32_t *restrict pc);
	unsigned int (*adc_rows)(const struct vmm_adc *a, unsigned int b0,
				 unsigned int b1, const float *noise,
				 double *restrict y, float *restrict out);
};

extern const struct cimfw_xbar_kernels cimfw_xbar_kernels_c;
#ifdef CIMFW_HAVE_X86_KERNELS
extern const struct cimfw_xbar_kernels cimfw_xbar_kernels_avx2;
extern const struct cimfw_xbar_kernels cimfw_xbar_kernels_avx512;
extern const struct cimfw_xbar_kernels cimfw_xbar_kernels_avx512_popcnt;
#endif

/* the kernels of the model's SIMD level */
const struct cimfw_xbar_kernels *cimfw_xbar_kernels(void);

/* The arithmetic of one value, once for all widths ---------------------- */

/* round to nearest even, |v| < 2^22 (float) or 2^51 (double) */
#define RC_F 0x1.8p23f
#define RC_D 0x1.8p52

/*
 * DAC: the code of @x in a vector of range @a (not 0), round(x / a * q)
 * clamped to [-q, q]; @nq is -q.
 */
#define DAC_CODE(W, x, a, q, nq) \
	W##_max(nq, W##_min(q, W##_round(W##_mul(W##_div(x, a), q))))

/*
 * ADC: the analog sum @acc times @scale, plus the read noise @nz times its
 * scale @f, as a double.
 */
#define ADC_SCALE_NOISE(W, acc, scale, f, nz) \
	W##_add(W##_mul(acc, scale), W##_mul(f, nz))
/*
 * then the code of a value @y: y * inv bounded to +-(qa + 1) first, so
 * that the rounding stays in range and a saturated code is +-(qa + 1)...
 */
#define ADC_ROUND(W, y, inv, qa1, nqa1) \
	W##_round(W##_max(nqa1, W##_min(qa1, W##_mul(y, inv))))
/* ...which saturates when |c| > qa, and is clipped to +-qa, times the lsb */
#define ADC_CLIP(W, c, qa, nqa, lsb) \
	W##_mul(W##_max(nqa, W##_min(qa, c)), lsb)

INL float f1_mul(float a, float b) { return a * b; }
INL float f1_div(float a, float b) { return a / b; }
INL float f1_min(float a, float b) { return a < b ? a : b; }
INL float f1_max(float a, float b) { return a > b ? a : b; }
INL float f1_round(float v) { return (v + RC_F) - RC_F; }

INL double d1_add(double a, double b) { return a + b; }
INL double d1_mul(double a, double b) { return a * b; }
INL double d1_min(double a, double b) { return a < b ? a : b; }
INL double d1_max(double a, double b) { return a > b ? a : b; }
INL double d1_round(double v) { return (v + RC_D) - RC_D; }

/* the set bits of a code's magnitude (below 2^12) */
INL uint32_t popcount12(uint32_t v)
{
	v = v - ((v >> 1) & 0x555);
	v = (v & 0x333) + ((v >> 2) & 0x333);
	v = (v + (v >> 4)) & 0x0f0f;
	return (v + (v >> 8)) & 0x1f;
}

#ifdef CIMFW_HAVE_X86_KERNELS
#define INL_AVX2 CIMFW_TARGET_AVX2 INL
#define INL_AVX512 CIMFW_TARGET_AVX512 INL

INL_AVX2 __m256 f8_mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
INL_AVX2 __m256 f8_div(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
INL_AVX2 __m256 f8_min(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
INL_AVX2 __m256 f8_max(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
INL_AVX2 __m256 f8_round(__m256 v)
{
	const __m256 rc = _mm256_set1_ps(RC_F);

	return _mm256_sub_ps(_mm256_add_ps(v, rc), rc);
}

INL_AVX2 __m256d d4_add(__m256d a, __m256d b) { return _mm256_add_pd(a, b); }
INL_AVX2 __m256d d4_mul(__m256d a, __m256d b) { return _mm256_mul_pd(a, b); }
INL_AVX2 __m256d d4_min(__m256d a, __m256d b) { return _mm256_min_pd(a, b); }
INL_AVX2 __m256d d4_max(__m256d a, __m256d b) { return _mm256_max_pd(a, b); }
INL_AVX2 __m256d d4_round(__m256d v)
{
	const __m256d rc = _mm256_set1_pd(RC_D);

	return _mm256_sub_pd(_mm256_add_pd(v, rc), rc);
}

INL_AVX512 __m512 f16_mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
INL_AVX512 __m512 f16_div(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
INL_AVX512 __m512 f16_min(__m512 a, __m512 b) { return _mm512_min_ps(a, b); }
INL_AVX512 __m512 f16_max(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
INL_AVX512 __m512 f16_round(__m512 v)
{
	const __m512 rc = _mm512_set1_ps(RC_F);

	return _mm512_sub_ps(_mm512_add_ps(v, rc), rc);
}

INL_AVX512 __m512d d8_add(__m512d a, __m512d b) { return _mm512_add_pd(a, b); }
INL_AVX512 __m512d d8_mul(__m512d a, __m512d b) { return _mm512_mul_pd(a, b); }
INL_AVX512 __m512d d8_min(__m512d a, __m512d b) { return _mm512_min_pd(a, b); }
INL_AVX512 __m512d d8_max(__m512d a, __m512d b) { return _mm512_max_pd(a, b); }
INL_AVX512 __m512d d8_round(__m512d v)
{
	const __m512d rc = _mm512_set1_pd(RC_D);

	return _mm512_sub_pd(_mm512_add_pd(v, rc), rc);
}

/* lanes [0, k) of sixteen, k <= 16; of eight, k <= 8 */
INL __mmask16 lanes16(unsigned int k)
{
	return (__mmask16)((1u << k) - 1);
}

INL __mmask8 lanes8(unsigned int k)
{
	return (__mmask8)((1u << k) - 1);
}

/* lanes [0, k) of eight */
INL_AVX2 __m256i lanes_mask(unsigned int k)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k),
				  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* cimfw_absmax() eight floats a step, the last lanes masked (@tail: n % 8) */
INL_AVX2 float absmax_avx2(const float *x, unsigned int n, __m256i tail)
{
	const __m256i absm = _mm256_set1_epi32(0x7fffffff);
	unsigned int i, full = n & ~7u;
	__m256i m = _mm256_setzero_si256();
	__m128i h;
	uint32_t mb;
	float a;

	for (i = 0; i < full; i += 8)
		m = _mm256_max_epu32(m, _mm256_and_si256(
			_mm256_loadu_si256((const __m256i *)(x + i)), absm));
	if (n & 7u)
		m = _mm256_max_epu32(m, _mm256_and_si256(
			_mm256_castps_si256(_mm256_maskload_ps(x + full,
							       tail)), absm));
	h = _mm_max_epu32(_mm256_castsi256_si128(m),
			  _mm256_extracti128_si256(m, 1));
	h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0x4e));
	h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0xb1));
	mb = (uint32_t)_mm_cvtsi128_si32(h);
	memcpy(&a, &mb, sizeof(a));
	return a;
}
#endif /* CIMFW_HAVE_X86_KERNELS */

/* abs-max of finite doubles, on the bit patterns: vectorizes */
INL double absmax_d(const double *y, unsigned int n)
{
	int64_t m = 0, v;
	unsigned int j;
	double r;

	for (j = 0; j < n; j++) {
		memcpy(&v, &y[j], sizeof(v));
		v &= INT64_MAX;
		m = v > m ? v : m;
	}
	memcpy(&r, &m, sizeof(r));
	return r;
}

#endif /* CIMFW_XBAR_KERN_H */
