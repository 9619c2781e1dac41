// SPDX-License-Identifier: MIT
/*
 * The crossbar's kernels with AVX-512 (F, BW, VL): sixteen floats or
 * eight doubles a step, the last lanes of a vector under a k-mask (masked
 * loads do not fault, masked stores leave the rest alone). Per value the
 * arithmetic of xbar_kern.h, as in the C reference, so the same bits.
 *
 * Copyright (C) 2026 The cim authors
 */
#include "xbar_kern.h"

#ifdef CIMFW_HAVE_X86_KERNELS
#define AVX512 CIMFW_TARGET_AVX512

/* the largest of sixteen unsigned lanes, in every lane */
AVX512 INL __m512i max_all_epu32(__m512i m)
{
	m = _mm512_max_epu32(m, _mm512_shuffle_i32x4(m, m, 0x4e));
	m = _mm512_max_epu32(m, _mm512_shuffle_i32x4(m, m, 0xb1));
	m = _mm512_max_epu32(m, _mm512_shuffle_epi32(m, (_MM_PERM_ENUM)0x4e));
	return _mm512_max_epu32(m, _mm512_shuffle_epi32(m,
							(_MM_PERM_ENUM)0xb1));
}

/*
 * The set bits of sixteen codes among their low twelve, as popcount12():
 * vpopcntd with @vpop (AVX512_VPOPCNTDQ), else three nibble look-ups. The
 * instruction is spelt in an asm statement so that one body, compiled for
 * F/BW/VL, serves both paths; only a caller that checked the CPU passes
 * @vpop.
 */
AVX512 INL __m512i popcount12_x16(__m512i c, bool vpop)
{
	const __m512i nib = _mm512_broadcast_i32x4(_mm_setr_epi8(
		0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
	const __m512i m15 = _mm512_set1_epi32(15);
	__m512i r;

	c = _mm512_and_si512(c, _mm512_set1_epi32(0xfff));
	if (vpop) {
		__asm__("{vpopcntd %1, %0|vpopcntd %0, %1}" : "=v"(r) : "v"(c));
		return r;
	}
	r = _mm512_add_epi32(_mm512_shuffle_epi8(nib, _mm512_and_si512(c, m15)),
			     _mm512_shuffle_epi8(nib, _mm512_and_si512(
				_mm512_srli_epi32(c, 4), m15)));
	/* the other bytes are 0, and so are their counts */
	return _mm512_add_epi32(r, _mm512_shuffle_epi8(nib,
						       _mm512_srli_epi32(c, 8)));
}

/*
 * The codes of sixteen values @xv of a vector of range @va; lanes loaded
 * as +0 (past the vector) give code +0. Their set bits go to *@cnt, the
 * number of non-zero ones is added to *@nz.
 */
AVX512 INL __m512 dac_step16(__m512 xv, __m512 va, __m512 vq,
			     __m512 vnq, bool vpop, __m512i *cnt,
			     size_t *nz)
{
	const __m512i absm = _mm512_set1_epi32(0x7fffffff);
	__m512 v = DAC_CODE(f16, xv, va, vq, vnq);

	*nz += (unsigned int)__builtin_popcount(_mm512_cmp_ps_mask(v,
				_mm512_setzero_ps(), _CMP_NEQ_UQ));
	*cnt = popcount12_x16(_mm512_cvttps_epi32(_mm512_castsi512_ps(
		_mm512_and_si512(_mm512_castps_si512(v), absm))), vpop);
	return v;
}

/* vectors of a block of dac_rows_avx512(), converted step by step */
#define DAC_BLOCK 16

/*
 * The largest lane of each of sixteen registers, m[v] in lane v: pairs of
 * registers folded into one, halving the lanes each of them holds.
 */
AVX512 INL __m512i max_each_epu32(const __m512i *m)
{
	const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2,
						6, 10, 14, 3, 7, 11, 15);
	__m512i r[8], u;
	unsigned int i;

	/* r[i]: 8 lanes of m[2i], then 8 of m[2i + 1] */
	#pragma GCC unroll 8
	for (i = 0; i < 8; i++)
		r[i] = _mm512_max_epu32(
			_mm512_shuffle_i32x4(m[2 * i], m[2 * i + 1], 0x44),
			_mm512_shuffle_i32x4(m[2 * i], m[2 * i + 1], 0xee));
	/* r[i]: 4 lanes each of m[4i], m[4i + 1], m[4i + 2], m[4i + 3] */
	#pragma GCC unroll 4
	for (i = 0; i < 4; i++)
		r[i] = _mm512_max_epu32(
			_mm512_shuffle_i32x4(r[2 * i], r[2 * i + 1], 0x88),
			_mm512_shuffle_i32x4(r[2 * i], r[2 * i + 1], 0xdd));
	/* r[i]: in 128-bit lane k, 2 lanes of m[8i + k], 2 of m[8i + 4 + k] */
	#pragma GCC unroll 2
	for (i = 0; i < 2; i++)
		r[i] = _mm512_max_epu32(
			_mm512_unpacklo_epi64(r[2 * i], r[2 * i + 1]),
			_mm512_unpackhi_epi64(r[2 * i], r[2 * i + 1]));
	/* lane 4k + c: m[4c + k] */
	u = _mm512_max_epu32(
		_mm512_castps_si512(_mm512_shuffle_ps(
			_mm512_castsi512_ps(r[0]), _mm512_castsi512_ps(r[1]),
			0x88)),
		_mm512_castps_si512(_mm512_shuffle_ps(
			_mm512_castsi512_ps(r[0]), _mm512_castsi512_ps(r[1]),
			0xdd)));
	return _mm512_permutexvar_epi32(order, u);
}

/*
 * dac_rows_avx512() for nin <= 32 (@two: more than 16): each vector in one
 * or two registers, a block at a time: the ranges of the block, then its
 * codes, the bit counts kept in registers.
 */
AVX512 INL size_t dac_short_avx512(const float *restrict x, unsigned int n,
				   unsigned int nin, float q,
				   float *restrict code, float *restrict alpha,
				   uint32_t *restrict pc, bool two, bool vpop)
{
	const __m512i absm = _mm512_set1_epi32(0x7fffffff);
	const __m512 vq = _mm512_set1_ps(q), vnq = _mm512_set1_ps(-q);
	__mmask16 k0 = lanes16(two ? 16 : nin), k1 = lanes16(two ? nin - 16 : 0);
	/* @pc has room up to a multiple of 16 */
	__m512i p0 = _mm512_loadu_si512(pc);
	__m512i p1 = two ? _mm512_loadu_si512(pc + 16) :
			   _mm512_setzero_si512();
	__m512i m[DAC_BLOCK], c0, c1;
	unsigned int b0, nb, bi, bits;
	float al[DAC_BLOCK];
	const float *xb;
	size_t nz = 0;
	__mmask16 on;
	__m512 va, v;

	for (b0 = 0; b0 < n; b0 += nb) {
		nb = n - b0 < DAC_BLOCK ? n - b0 : DAC_BLOCK;
		/* the ranges of the block, those past vector nb 0 */
		#pragma GCC unroll 16
		for (bi = 0; bi < DAC_BLOCK; bi++) {
			xb = x + (size_t)(b0 + (bi < nb ? bi : 0)) * nin;
			m[bi] = _mm512_and_si512(_mm512_maskz_loadu_epi32(
				bi < nb ? k0 : 0, xb), absm);
			if (two)
				m[bi] = _mm512_max_epu32(m[bi],
					_mm512_and_si512(
					_mm512_maskz_loadu_epi32(bi < nb ? k1 :
								 0, xb + 16),
					absm));
		}
		m[0] = max_each_epu32(m);
		_mm512_mask_storeu_epi32(alpha + b0, lanes16(nb), m[0]);
		_mm512_storeu_si512(al, m[0]);
		/* bit bi: vector bi is not zero (zero ones: zero codes) */
		on = _mm512_test_epi32_mask(m[0], m[0]);
		for (bits = on; bits; bits &= bits - 1) {
			bi = (unsigned int)__builtin_ctz(bits);
			xb = x + (size_t)(b0 + bi) * nin;
			va = _mm512_set1_ps(al[bi]);
			v = dac_step16(_mm512_maskz_loadu_ps(k0, xb), va, vq,
				       vnq, vpop, &c0, &nz);
			_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) * nin,
					      k0, v);
			p0 = _mm512_add_epi32(p0, c0);
			if (two) {
				v = dac_step16(_mm512_maskz_loadu_ps(k1,
								     xb + 16),
					       va, vq, vnq, vpop, &c1, &nz);
				_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) *
						      nin + 16, k1, v);
				p1 = _mm512_add_epi32(p1, c1);
			}
		}
		for (bits = lanes16(nb) & ~on; bits; bits &= bits - 1) {
			bi = (unsigned int)__builtin_ctz(bits);
			_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) * nin,
					      k0, _mm512_setzero_ps());
			if (two)
				_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) *
						      nin + 16, k1,
						      _mm512_setzero_ps());
		}
	}
	_mm512_storeu_si512(pc, p0);
	if (two)
		_mm512_storeu_si512(pc + 16, p1);
	return nz;
}

/*
 * dac_rows_c() with AVX-512, sixteen values a step. Longer vectors go a
 * block at a time: the ranges of the block, then each step of sixteen
 * input lines across its vectors, their bit counts added in a register
 * and to @pc once: the vectors overlap, and no store of @pc waits for
 * the one before.
 */
AVX512 INL size_t dac_rows_avx512(const float *restrict x, unsigned int n,
				  unsigned int nin, float q,
				  float *restrict code, float *restrict alpha,
				  uint32_t *restrict pc, bool vpop)
{
	const __m512i absm = _mm512_set1_epi32(0x7fffffff);
	const __m512 vq = _mm512_set1_ps(q), vnq = _mm512_set1_ps(-q);
	__m512i m, cnt, acc;
	size_t nz = 0;
	unsigned int b0, nb, bi, i, bits;
	float al[DAC_BLOCK];
	__mmask16 k, on;
	const float *xb;
	__m512 v;

	if (nin <= 16)
		return dac_short_avx512(x, n, nin, q, code, alpha, pc, false,
					vpop);
	if (nin <= 32)
		return dac_short_avx512(x, n, nin, q, code, alpha, pc, true,
					vpop);
	for (b0 = 0; b0 < n; b0 += nb) {
		nb = n - b0 < DAC_BLOCK ? n - b0 : DAC_BLOCK;
		for (bi = 0; bi < nb; bi++) {
			xb = x + (size_t)(b0 + bi) * nin;
			m = _mm512_setzero_si512();
			for (i = 0; i < nin; i += 16) {
				k = lanes16(nin - i < 16 ? nin - i : 16);
				m = _mm512_max_epu32(m, _mm512_and_si512(
					_mm512_maskz_loadu_epi32(k, xb + i),
					absm));
			}
			m = max_all_epu32(m);
			al[bi] = _mm512_cvtss_f32(_mm512_castsi512_ps(m));
			alpha[b0 + bi] = al[bi];
		}
		/* bit bi: vector bi is not zero (zero ones: zero codes) */
		on = _mm512_mask_cmp_ps_mask(lanes16(nb),
					     _mm512_maskz_loadu_ps(lanes16(nb),
								   al),
					     _mm512_setzero_ps(), _CMP_NEQ_UQ);
		for (i = 0; i < nin; i += 16) {
			k = lanes16(nin - i < 16 ? nin - i : 16);
			acc = _mm512_setzero_si512();
			for (bits = on; bits; bits &= bits - 1) {
				bi = (unsigned int)__builtin_ctz(bits);
				xb = x + (size_t)(b0 + bi) * nin + i;
				v = dac_step16(_mm512_maskz_loadu_ps(k, xb),
					       _mm512_set1_ps(al[bi]), vq, vnq,
					       vpop, &cnt, &nz);
				_mm512_mask_storeu_ps(code + (size_t)(b0 + bi) *
						      nin + i, k, v);
				acc = _mm512_add_epi32(acc, cnt);
			}
			/* whole lanes: @pc has room, the others count 0 */
			_mm512_storeu_si512(pc + i, _mm512_add_epi32(
				_mm512_loadu_si512(pc + i), acc));
		}
		for (bits = lanes16(nb) & ~on; bits; bits &= bits - 1) {
			bi = (unsigned int)__builtin_ctz(bits);
			memset(code + (size_t)(b0 + bi) * nin, 0,
			       nin * sizeof(*code));
		}
	}
	return nz;
}

AVX512 static size_t dac_rows_avx512_lut(const float *restrict x,
					 unsigned int n, unsigned int nin,
					 float q, float *restrict code,
					 float *restrict alpha,
					 uint32_t *restrict pc)
{
	return dac_rows_avx512(x, n, nin, q, code, alpha, pc, false);
}

/* the same body, with the vpopcntd instruction */
AVX512 static size_t dac_rows_avx512_vpop(const float *restrict x,
					  unsigned int n, unsigned int nin,
					  float q, float *restrict code,
					  float *restrict alpha,
					  uint32_t *restrict pc)
{
	return dac_rows_avx512(x, n, nin, q, code, alpha, pc, true);
}

/* the largest of eight non-negative lanes, in every lane */
AVX512 INL __m512i max_all_epi64(__m512i m)
{
	m = _mm512_max_epi64(m, _mm512_shuffle_i64x2(m, m, 0x4e));
	m = _mm512_max_epi64(m, _mm512_shuffle_i64x2(m, m, 0xb1));
	return _mm512_max_epi64(m, _mm512_shuffle_epi32(m,
							(_MM_PERM_ENUM)0x4e));
}

/* absmax_d(), eight doubles a step */
AVX512 INL double absmax_d512(const double *y, unsigned int n)
{
	const __m512i absd = _mm512_set1_epi64(INT64_MAX);
	__m512i m = _mm512_setzero_si512();
	unsigned int j;

	for (j = 0; j < n; j += 8)
		m = _mm512_max_epi64(m, _mm512_and_si512(
			_mm512_maskz_loadu_epi64(lanes8(n - j < 8 ? n - j : 8),
						 y + j), absd));
	return _mm512_cvtsd_f64(_mm512_castsi512_pd(max_all_epi64(m)));
}

/*
 * The ADC codes of eight values @y: the outputs as floats, +0 off the
 * lanes of @k, whose saturations are added to *@sat.
 */
AVX512 INL __m256 adc_conv8(__m512d y, __mmask8 k, __m512d inv, __m512d lsb,
			    double q, unsigned int *sat)
{
	const __m512d qa = _mm512_set1_pd(q), nqa = _mm512_set1_pd(-q);
	const __m512d qa1 = _mm512_set1_pd(q + 1.0);
	const __m512d nqa1 = _mm512_set1_pd(-q - 1.0);
	__m512d v;
	__mmask8 s;

	v = ADC_ROUND(d8, y, inv, qa1, nqa1);
	s = _mm512_mask_cmp_pd_mask(k, v, qa, _CMP_GT_OQ) |
	    _mm512_mask_cmp_pd_mask(k, v, nqa, _CMP_LT_OQ);
	*sat += (unsigned int)__builtin_popcount(s);
	return _mm512_maskz_cvtpd_ps(k, ADC_CLIP(d8, v, qa, nqa, lsb));
}

/*
 * adc_rows_c() with AVX-512, eight doubles a step, the last ones under a
 * k-mask, ADC_GROUP vectors at a time: their scales, the full scales from
 * the scaled sums with the read noise (into @y, ADC_GROUP vectors of
 * align16(nout)), then the rounding and the clipping. Each division of
 * the group is one instruction, a lane per vector; vectors with a zero
 * input or full scale are skipped by the bits of a mask, their outputs
 * zeroed at the end.
 */
AVX512 static unsigned int adc_rows_avx512(const struct vmm_adc *pa,
					   unsigned int b0, unsigned int b1,
					   const float *noise,
					   double *restrict y,
					   float *restrict out)
{
	/* a copy: the stores through @out could alias *@pa */
	const struct vmm_adc a = *pa;
	const __m512i absd = _mm512_set1_epi64(INT64_MAX);
	unsigned int g, nb, l, j, n = a.nout, ys = (n + 15) & ~15u, sat = 0;
	__m512d v, vs, vf, vi, vl, scale, fs, f, inv, lsb, rg, ym;
	__mmask8 k, kv, on, ok;
	unsigned int bits;
	const float *nz;
	const double *ad;
	__m512i m, lane;
	double *yl;
	__m256 al;

	for (g = b0; g < b1; g += ADC_GROUP) {
		nb = b1 - g < ADC_GROUP ? b1 - g : ADC_GROUP;
		kv = lanes8(nb);
		/*
		 * a zero input vector (no fixed range): no full scale, zero
		 * outputs, and no deviates drawn
		 */
		al = _mm256_maskz_loadu_ps(kv, a.alpha + g);
		on = a.fixed ? kv : _mm256_mask_cmp_ps_mask(kv, al,
				_mm256_setzero_ps(), _CMP_NEQ_UQ);
		scale = _mm512_div_pd(_mm512_cvtps_pd(al),
				      _mm512_set1_pd(a.den));
		fs = _mm512_set1_pd(a.range);
		if (a.noise && !a.fixed) {
			rg = _mm512_setzero_pd();
			for (bits = on; bits; bits &= bits - 1) {
				l = (unsigned int)__builtin_ctz(bits);
				rg = _mm512_mask_mov_pd(rg, (__mmask8)(1u << l),
					_mm512_set1_pd(absmax_d512(a.accd +
						(size_t)(g + l) * n, n)));
			}
			fs = _mm512_mul_pd(rg, scale);
		}
		f = _mm512_mul_pd(_mm512_set1_pd(a.rn), fs);
		ym = _mm512_setzero_pd();
		/* the vectors with a full scale, the others' outputs 0 */
		for (bits = on; bits; bits &= bits - 1) {
			l = (unsigned int)__builtin_ctz(bits);
			ad = a.accd + (size_t)(g + l) * n;
			nz = a.noise ? noise + (size_t)(g + l - b0) *
				       a.nstride : NULL;
			yl = y + (size_t)l * ys;
			lane = _mm512_set1_epi64(l);
			vs = _mm512_permutexvar_pd(lane, scale);
			vf = _mm512_permutexvar_pd(lane, f);
			m = _mm512_setzero_si512();
			for (j = 0; j < n; j += 8) {
				k = lanes8(n - j < 8 ? n - j : 8);
				v = _mm512_maskz_loadu_pd(k, ad + j);
				v = nz ? ADC_SCALE_NOISE(d8, v, vs, vf,
						_mm512_cvtps_pd(
						_mm256_maskz_loadu_ps(k,
								      nz + j))) :
					 d8_mul(v, vs);
				/* y has room up to a multiple of 16 */
				_mm512_storeu_pd(yl + j, v);
				m = _mm512_max_epi64(m, _mm512_maskz_and_epi64(
					k, _mm512_castpd_si512(v), absd));
			}
			ym = _mm512_mask_mov_pd(ym, (__mmask8)(1u << l),
				_mm512_castsi512_pd(max_all_epi64(m)));
		}
		if (!a.fixed)
			fs = ym;
		ok = _mm512_mask_cmp_pd_mask(on, fs, _mm512_setzero_pd(),
					     _CMP_GT_OQ);
		inv = _mm512_maskz_div_pd(ok, _mm512_set1_pd(a.qa), fs);
		lsb = _mm512_maskz_div_pd(ok, fs, _mm512_set1_pd(a.qa));
		for (bits = ok; bits; bits &= bits - 1) {
			l = (unsigned int)__builtin_ctz(bits);
			yl = y + (size_t)l * ys;
			lane = _mm512_set1_epi64(l);
			vi = _mm512_permutexvar_pd(lane, inv);
			vl = _mm512_permutexvar_pd(lane, lsb);
			for (j = 0; j < n; j += 8) {
				k = lanes8(n - j < 8 ? n - j : 8);
				_mm256_mask_storeu_ps(out + (size_t)(g + l) * n +
						      j, k, adc_conv8(
					_mm512_loadu_pd(yl + j), k, vi, vl,
					a.qa, &sat));
			}
		}
		for (bits = kv & ~ok; bits; bits &= bits - 1) {
			l = (unsigned int)__builtin_ctz(bits);
			memset(out + (size_t)(g + l) * n, 0, n * sizeof(*out));
		}
	}
	return sat;
}

const struct cimfw_xbar_kernels cimfw_xbar_kernels_avx512 = {
	.dac_rows = dac_rows_avx512_lut,
	.adc_rows = adc_rows_avx512,
};

const struct cimfw_xbar_kernels cimfw_xbar_kernels_avx512_popcnt = {
	.dac_rows = dac_rows_avx512_vpop,
	.adc_rows = adc_rows_avx512,
};
#endif /* CIMFW_HAVE_X86_KERNELS */
