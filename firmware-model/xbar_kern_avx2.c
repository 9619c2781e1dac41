// SPDX-License-Identifier: MIT
/*
 * The crossbar's kernels with AVX2: eight floats or four doubles a step,
 * the last lanes of a vector masked. Per value the arithmetic of
 * xbar_kern.h, as in the C reference, so the same bits.
 *
 * Copyright (C) 2026 The cim authors
 */
#include "xbar_kern.h"

#ifdef CIMFW_HAVE_X86_KERNELS
#define AVX2 CIMFW_TARGET_AVX2

/*
 * dac_rows_c() with explicit AVX2: per vector one abs-max pass and one
 * pass of codes, the last lanes masked, and the popcount of a code (below
 * 2^11) as three nibble look-ups. The same IEEE operations on the same
 * values (x / alpha * q, the rounding constant, the clamps in the order
 * of the C conditionals), so the same bits.
 */
AVX2 static size_t dac_rows_avx2(const float *restrict x, unsigned int n,
				 unsigned int nin, float q,
				 float *restrict code, float *restrict alpha,
				 uint32_t *restrict pc)
{
	const __m256i nib = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2,
					     3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2,
					     2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
	const __m256i m15 = _mm256_set1_epi32(15);
	const __m256 vq = _mm256_set1_ps(q), vnq = _mm256_set1_ps(-q);
	const __m256 zero = _mm256_setzero_ps();
	unsigned int full = nin & ~7u, rest = nin & 7u, bi, i;
	__m256i tail = lanes_mask(rest), nzv = _mm256_setzero_si256();
	__m256i ci, cnt, p;
	__m128i h;
	__m256 va, v, xv;
	float a;
	int nzs;

	for (bi = 0; bi < n; bi++, x += nin, code += nin) {
		a = absmax_avx2(x, nin, tail);
		alpha[bi] = a;
		if (a == 0.0f) {
			memset(code, 0, nin * sizeof(*code));
			continue;
		}
		va = _mm256_set1_ps(a);
		for (i = 0; i < nin; i += 8) {
			if (i < full)
				xv = _mm256_loadu_ps(x + i);
			else
				xv = _mm256_maskload_ps(x + i, tail);
			v = DAC_CODE(f8, xv, va, vq, vnq);
			nzv = _mm256_sub_epi32(nzv, _mm256_castps_si256(
				_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ)));
			ci = _mm256_cvttps_epi32(_mm256_andnot_ps(
				_mm256_castsi256_ps(_mm256_set1_epi32(
					(int)0x80000000u)), v));
			cnt = _mm256_add_epi32(
				_mm256_shuffle_epi8(nib,
					_mm256_and_si256(ci, m15)),
				_mm256_shuffle_epi8(nib, _mm256_and_si256(
					_mm256_srli_epi32(ci, 4), m15)));
			cnt = _mm256_add_epi32(cnt, _mm256_shuffle_epi8(nib,
				_mm256_and_si256(_mm256_srli_epi32(ci, 8),
						 m15)));
			if (i < full) {
				_mm256_storeu_ps(code + i, v);
				p = _mm256_loadu_si256((const __m256i *)
						       (pc + i));
				_mm256_storeu_si256((__m256i *)(pc + i),
						    _mm256_add_epi32(p, cnt));
			} else {
				_mm256_maskstore_ps(code + i, tail, v);
				/*
				 * whole lanes: @pc is cleared up to a multiple
				 * of 16 and the masked lanes count 0; a masked
				 * store would stall the next vector's load
				 */
				p = _mm256_loadu_si256((const __m256i *)
						       (pc + i));
				_mm256_storeu_si256((__m256i *)(pc + i),
						    _mm256_add_epi32(p, cnt));
			}
		}
	}
	h = _mm_add_epi32(_mm256_castsi256_si128(nzv),
			  _mm256_extracti128_si256(nzv, 1));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
	nzs = _mm_cvtsi128_si32(h);
	return (size_t)(uint32_t)nzs;
}

/* lanes [0, k) of four doubles, and of four floats */
AVX2 static inline __m256i lanes_mask_d(unsigned int k)
{
	return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)k),
				  _mm256_setr_epi64x(0, 1, 2, 3));
}

/* the mask of four doubles as one of four floats */
AVX2 static inline __m128i mask_ps4(__m256i m)
{
	return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(m,
		_mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0)));
}

/* the sums j..j+3 of one vector, lanes off @m zero */
AVX2 static inline __m256d acc4(const double *ad, unsigned int j, bool full,
				__m256i m)
{
	return full ? _mm256_loadu_pd(ad + j) : _mm256_maskload_pd(ad + j, m);
}

/*
 * adc_rows_c() with explicit AVX2, four doubles a step: the full scale,
 * the scaling with the read noise, then the rounding and the clipping in
 * one pass (adc_round() and adc_clip() fused: the same operations per
 * element). Same IEEE operations in the same order, maxima on the bit
 * patterns, clamps in the order of the C conditionals: the same bits.
 */
AVX2 static unsigned int adc_rows_avx2(const struct vmm_adc *a,
				       unsigned int b0, unsigned int b1,
				       const float *noise,
				       double *restrict y,
				       float *restrict out)
{
	const __m256i absd = _mm256_set1_epi64x(INT64_MAX);
	const __m256d qa = _mm256_set1_pd(a->qa), nqa = _mm256_set1_pd(-a->qa);
	const __m256d qa1 = _mm256_set1_pd(a->qa + 1.0);
	const __m256d nqa1 = _mm256_set1_pd(-a->qa - 1.0);
	unsigned int bi, j, n = a->nout, full = n & ~3u;
	__m256i tail = lanes_mask_d(n & 3u), m, b, lanes;
	__m128i tailf = mask_ps4(tail);
	double scale, range, fs, ymax;
	__m256d v, vs, vf, inv, lsb;
	__m128i h;
	int64_t sat = 0, mb;
	const float *nz;
	bool fl;

	for (bi = b0; bi < b1; bi++) {
		const double *ad = a->accd + (size_t)bi * n;
		float *o = out + (size_t)bi * n;

		if (!a->fixed && a->alpha[bi] == 0.0f) {
			memset(o, 0, n * sizeof(*o));
			continue;
		}
		scale = a->alpha[bi] / a->den;
		range = a->range;
		nz = NULL;
		if (a->noise) {
			if (!a->fixed)
				range = absmax_d(ad, n) * scale;
			nz = noise + (size_t)(bi - b0) * a->nstride;
		}
		vs = _mm256_set1_pd(scale);
		vf = _mm256_set1_pd(a->rn * range);
		m = _mm256_setzero_si256();
		for (j = 0; j < n; j += 4) {
			fl = j < full;
			v = acc4(ad, j, fl, tail);
			v = nz ? ADC_SCALE_NOISE(d4, v, vs, vf,
						 _mm256_cvtps_pd(fl ?
						   _mm_loadu_ps(nz + j) :
						   _mm_maskload_ps(nz + j,
								   tailf))) :
				 d4_mul(v, vs);
			/* y has room up to a multiple of 16 */
			_mm256_storeu_pd(y + j, v);
			b = _mm256_and_si256(_mm256_castpd_si256(v), absd);
			if (!fl)
				b = _mm256_and_si256(b, tail);
			m = _mm256_blendv_epi8(m, b, _mm256_cmpgt_epi64(b, m));
		}
		h = _mm256_extracti128_si256(m, 1);
		h = _mm_blendv_epi8(_mm256_castsi256_si128(m), h,
				    _mm_cmpgt_epi64(h,
						    _mm256_castsi256_si128(m)));
		mb = _mm_cvtsi128_si64(h);
		mb = _mm_extract_epi64(h, 1) > mb ? _mm_extract_epi64(h, 1) :
						     mb;
		memcpy(&ymax, &mb, sizeof(ymax));
		fs = a->fixed ? a->range : ymax;
		if (!(fs > 0.0)) {
			memset(o, 0, n * sizeof(*o));
			continue;
		}
		inv = _mm256_set1_pd(a->qa / fs);
		lsb = _mm256_set1_pd(fs / a->qa);
		for (j = 0; j < n; j += 4) {
			v = ADC_ROUND(d4, _mm256_loadu_pd(y + j), inv, qa1, nqa1);
			lanes = _mm256_castpd_si256(_mm256_or_pd(
				_mm256_cmp_pd(v, qa, _CMP_GT_OQ),
				_mm256_cmp_pd(v, nqa, _CMP_LT_OQ)));
			v = ADC_CLIP(d4, v, qa, nqa, lsb);
			if (j < full) {
				sat += __builtin_popcount((unsigned int)
					_mm256_movemask_pd(
						_mm256_castsi256_pd(lanes)));
				_mm_storeu_ps(o + j, _mm256_cvtpd_ps(v));
			} else {
				sat += __builtin_popcount((unsigned int)
					_mm256_movemask_pd(_mm256_castsi256_pd(
					  _mm256_and_si256(lanes, tail))));
				_mm_maskstore_ps(o + j, tailf,
						 _mm256_cvtpd_ps(v));
			}
		}
	}
	return (unsigned int)sat;
}

const struct cimfw_xbar_kernels cimfw_xbar_kernels_avx2 = {
	.dac_rows = dac_rows_avx2,
	.adc_rows = adc_rows_avx2,
};
#endif /* CIMFW_HAVE_X86_KERNELS */
