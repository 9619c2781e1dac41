// SPDX-License-Identifier: MIT
/*
 * The crossbar's kernels in portable C: the reference every SIMD variant
 * is tested against bit for bit (firmware-model/tests/test_xbar.c), and the choice
 * of the variant the VMM runs.
 *
 * Copyright (C) 2026 The cim authors
 */
#include "xbar_kern.h"

/* one vector of codes; returns the non-zero ones */
INL unsigned int dac_codes(const float *restrict x, unsigned int n,
			   float alpha, float q, float *restrict code,
			   uint32_t *restrict pc)
{
	unsigned int i, nz = 0;
	float v, a;

	for (i = 0; i < n; i++) {
		v = DAC_CODE(f1, x[i], alpha, q, -q);
		code[i] = v;
		a = v < 0.0f ? -v : v;
		pc[i] += popcount12((uint32_t)(int32_t)a);
		nz += v != 0.0f;
	}
	return nz;
}

HOT_BUILD static size_t dac_rows_c(const float *restrict x, unsigned int n,
				   unsigned int nin, float q,
				   float *restrict code, float *restrict alpha,
				   uint32_t *restrict pc)
{
	unsigned int bi;
	size_t nz = 0;
	float a;

	for (bi = 0; bi < n; bi++, x += nin, code += nin) {
		a = cimfw_absmax(x, nin);
		alpha[bi] = a;
		if (a == 0.0f) {
			memset(code, 0, nin * sizeof(*code));
			continue;
		}
		nz += dac_codes(x, nin, a, q, code, pc);
	}
	return nz;
}

INL int64_t abs_bits(double v)
{
	int64_t b;

	memcpy(&b, &v, sizeof(b));
	return b & INT64_MAX;
}

INL double of_bits(int64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/*
 * y = acc * scale [+ f * nz], from the sums @ad; returns max |y|
 * (compared on the bit patterns, which vectorizes).
 */
INL double scale_noise(double *restrict y, const double *restrict ad,
		       const float *restrict nz, unsigned int n, double scale,
		       double f)
{
	int64_t m = 0, b;
	unsigned int j;
	double v;

	for (j = 0; j < n; j++) {
		v = ad[j];
		v = nz ? ADC_SCALE_NOISE(d1, v, scale, f, nz[j]) :
			 d1_mul(v, scale);
		y[j] = v;
		b = abs_bits(v);
		m = b > m ? b : m;
	}
	return of_bits(m);
}

/* the codes of one vector's values @y, full scale @fs */
INL int64_t adc_codes(const double *restrict y, unsigned int n, double qa,
		      double fs, float *restrict out)
{
	double inv = qa / fs, lsb = fs / qa, c;
	int64_t sat = 0;
	unsigned int j;

	for (j = 0; j < n; j++) {
		c = ADC_ROUND(d1, y[j], inv, qa + 1.0, -qa - 1.0);
		sat += (c > qa) | (c < -qa);
		out[j] = (float)ADC_CLIP(d1, c, qa, -qa, lsb);
	}
	return sat;
}

HOT_BUILD static unsigned int adc_rows_c(const struct vmm_adc *a,
					 unsigned int b0, unsigned int b1,
					 const float *noise,
					 double *restrict y,
					 float *restrict out)
{
	unsigned int bi, n = a->nout;
	int64_t sat = 0;
	double scale, range, fs, ymax;
	const float *nz;

	for (bi = b0; bi < b1; bi++) {
		const double *ad = a->accd + (size_t)bi * n;
		float *o = out + (size_t)bi * n;

		/*
		 * a zero input vector gives zero sums; without a fixed range
		 * its full scale is 0 and its output 0, whatever the noise
		 * (which is therefore not drawn)
		 */
		if (!a->fixed && a->alpha[bi] == 0.0f) {
			memset(o, 0, n * sizeof(*o));
			continue;
		}
		scale = a->alpha[bi] / a->den;
		range = a->range;
		nz = NULL;
		if (a->noise) {
			/*
			 * max |acc * scale| is max |acc| * scale: rounding is
			 * monotonic, so the full scale comes from the plain
			 * sums.
			 */
			if (!a->fixed)
				range = absmax_d(ad, n) * scale;
			nz = noise + (size_t)(bi - b0) * a->nstride;
		}
		ymax = scale_noise(y, ad, nz, n, scale, a->rn * range);
		fs = a->fixed ? a->range : ymax;
		if (!(fs > 0.0)) {
			memset(o, 0, n * sizeof(*o));
			continue;
		}
		sat += adc_codes(y, n, a->qa, fs, o);
	}
	return (unsigned int)sat;
}

const struct cimfw_xbar_kernels cimfw_xbar_kernels_c = {
	.dac_rows = dac_rows_c,
	.adc_rows = adc_rows_c,
};

/* by level of simd.h; a level without kernels of its own runs the one below */
static const struct cimfw_xbar_kernels *const kernels[CIMFW_SIMD_LEVELS] = {
	[CIMFW_SIMD_C] = &cimfw_xbar_kernels_c,
#ifdef CIMFW_HAVE_X86_KERNELS
	[CIMFW_SIMD_AVX2] = &cimfw_xbar_kernels_avx2,
	[CIMFW_SIMD_AVX512] = &cimfw_xbar_kernels_avx512,
	[CIMFW_SIMD_AVX512_POPCNT] = &cimfw_xbar_kernels_avx512_popcnt,
#endif
};

const struct cimfw_xbar_kernels *cimfw_xbar_kernels(void)
{
	int l;

	for (l = cimfw_simd_level(); !kernels[l]; l--)
		;
	return kernels[l];
}
