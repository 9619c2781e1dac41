// SPDX-License-Identifier: MIT
/*
 * The ternary CNN of cim-ternary train, in fp32 for training: one forward
 * and backward over a batch with im2col and single-threaded sgemm. In
 * ternary mode the forward uses TWN weights alpha * t (cim_ternary_
 * ternarize(), per filter) and 4-bit activations clamp(z, 0, c) rounded to
 * c/15 steps, with c learned (PACT); the backward is the straight-through
 * estimator: weight gradients go to the fp32 master weights unchanged, the
 * activation gradient passes where 0 < z < c, and where z >= c it goes to
 * c. In fp32 mode it is the same network with ReLU, the baseline.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tnet.h"

#define TAPS1	(TNET_K * TNET_K)
#define PIX1	(TNET_H1 * TNET_H1)
#define PIX2	(TNET_H2 * TNET_H2)
#define POOL1	(TNET_P1 * TNET_P1)
#define POOL2	(TNET_P2 * TNET_P2)

uint64_t tnet_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* uniform in [-a, a) */
static float uniform(uint64_t *s, float a)
{
	return (float)((tnet_splitmix64(s) >> 11) * 0x1p-53 * 2.0 - 1.0) * a;
}

static float *falloc(size_t n)
{
	return calloc(n ? n : 1, sizeof(float));
}

int tnet_create(struct tnet *n, unsigned int c1, unsigned int c2,
		bool ternary, unsigned int batch_max, uint64_t seed)
{
	size_t nw1 = (size_t)c1 * TAPS1, nw2 = (size_t)c2 * TAPS1 * c1;
	size_t nw3 = (size_t)TNET_CLASSES * POOL2 * c2, i;
	size_t B = batch_max, maxw = nw2 > nw3 ? nw2 : nw3;
	uint64_t s = seed * 0x2545f4914f6cdd1dull + 1;
	unsigned int maxf;
	float a;

	memset(n, 0, sizeof(*n));
	if (!c1 || !c2 || !batch_max)
		return -EINVAL;
	n->c1 = c1;
	n->c2 = c2;
	n->ternary = ternary;
	n->batch_max = batch_max;
	n->nparams = nw1 + c1 + nw2 + c2 + nw3 + TNET_CLASSES + 2;
	n->p = falloc(n->nparams);
	n->g = falloc(n->nparams);
	n->m = falloc(n->nparams);
	n->v = falloc(n->nparams);
	n->x0 = falloc(B * TNET_IMG * TNET_IMG);
	n->cols1 = falloc(B * PIX1 * TAPS1);
	n->z1 = falloc(B * PIX1 * c1);
	n->a1 = falloc(B * PIX1 * c1);
	n->d1 = falloc(B * PIX1 * c1);
	n->pool1 = falloc(B * POOL1 * c1);
	n->dpool1 = falloc(B * POOL1 * c1);
	n->arg1 = calloc(B * POOL1 * c1, sizeof(uint32_t));
	n->cols2 = falloc(B * PIX2 * TAPS1 * c1);
	n->dcols2 = falloc(B * PIX2 * TAPS1 * c1);
	n->z2 = falloc(B * PIX2 * c2);
	n->a2 = falloc(B * PIX2 * c2);
	n->d2 = falloc(B * PIX2 * c2);
	n->pool2 = falloc(B * POOL2 * c2);
	n->dp2 = falloc(B * POOL2 * c2);
	n->arg2 = calloc(B * POOL2 * c2, sizeof(uint32_t));
	n->z3 = falloc(B * TNET_CLASSES);
	n->dz3 = falloc(B * TNET_CLASSES);
	n->we1 = falloc(nw1);
	n->we2 = falloc(nw2);
	n->we3 = falloc(nw3);
	n->tt = malloc(maxw);
	maxf = c1 > c2 ? c1 : c2;
	n->alpha = falloc(maxf > TNET_CLASSES ? maxf : TNET_CLASSES);
	if (!n->p || !n->g || !n->m || !n->v || !n->x0 || !n->cols1 ||
	    !n->z1 || !n->a1 || !n->d1 || !n->pool1 || !n->dpool1 ||
	    !n->arg1 || !n->cols2 || !n->dcols2 || !n->z2 || !n->a2 ||
	    !n->d2 || !n->pool2 || !n->dp2 || !n->arg2 || !n->z3 ||
	    !n->dz3 || !n->we1 || !n->we2 || !n->we3 || !n->tt ||
	    !n->alpha) {
		tnet_destroy(n);
		return -ENOMEM;
	}
	n->w1 = n->p;
	n->b1 = n->w1 + nw1;
	n->w2 = n->b1 + c1;
	n->b2 = n->w2 + nw2;
	n->w3 = n->b2 + c2;
	n->b3 = n->w3 + nw3;
	n->clip = n->b3 + TNET_CLASSES;
	/* He uniform, biases 0, clips 2 (PACT learns them) */
	a = sqrtf(6.0f / TAPS1);
	for (i = 0; i < nw1; i++)
		n->w1[i] = uniform(&s, a);
	a = sqrtf(6.0f / (TAPS1 * c1));
	for (i = 0; i < nw2; i++)
		n->w2[i] = uniform(&s, a);
	a = sqrtf(6.0f / (POOL2 * c2));
	for (i = 0; i < nw3; i++)
		n->w3[i] = uniform(&s, a);
	n->clip[0] = n->clip[1] = 2.0f;
	return 0;
}

void tnet_destroy(struct tnet *n)
{
	float *f[] = { n->p, n->g, n->m, n->v, n->x0, n->cols1, n->z1, n->a1,
		       n->d1, n->pool1, n->dpool1, n->cols2, n->dcols2, n->z2,
		       n->a2, n->d2, n->pool2, n->dp2, n->z3, n->dz3, n->we1,
		       n->we2, n->we3, n->alpha };
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		free(f[i]);
	free(n->arg1);
	free(n->arg2);
	free(n->tt);
	memset(n, 0, sizeof(*n));
}

void tnet_input_codes(const uint8_t *img, uint8_t *codes)
{
	unsigned int i;

	for (i = 0; i < TNET_IMG * TNET_IMG; i++)
		codes[i] = (uint8_t)((img[i] * TNET_LEVELS + 127) / 255);
}

/* One image: in side x side x cin -> out (oh * oh) x (k * k * cin) */
static void im2col(const float *in, unsigned int side, unsigned int cin,
		   float *out)
{
	unsigned int oh = side - TNET_K + 1, oy, ox, ky;

	for (oy = 0; oy < oh; oy++)
		for (ox = 0; ox < oh; ox++)
			for (ky = 0; ky < TNET_K; ky++) {
				memcpy(out, in + ((size_t)(oy + ky) * side + ox) * cin,
				       TNET_K * cin * sizeof(float));
				out += TNET_K * cin;
			}
}

/* The adjoint of im2col: accumulate columns back into an image */
static void col2im(const float *cols, unsigned int side, unsigned int cin,
		   float *img)
{
	unsigned int oh = side - TNET_K + 1, oy, ox, ky, j;

	memset(img, 0, (size_t)side * side * cin * sizeof(float));
	for (oy = 0; oy < oh; oy++)
		for (ox = 0; ox < oh; ox++)
			for (ky = 0; ky < TNET_K; ky++) {
				float *d = img + ((size_t)(oy + ky) * side + ox) * cin;

				for (j = 0; j < TNET_K * cin; j++)
					d[j] += cols[j];
				cols += TNET_K * cin;
			}
}

/* The forward weights: alpha * t per filter (ternary) or the master copy */
static void eff_weights(struct tnet *n, const float *w, unsigned int cout,
			unsigned int taps, float *we)
{
	size_t i, nw = (size_t)cout * taps;

	if (!n->ternary) {
		memcpy(we, w, nw * sizeof(float));
		return;
	}
	cim_ternary_ternarize(w, cout, taps, 0.0f, n->tt, n->alpha);
	for (i = 0; i < nw; i++)
		we[i] = n->alpha[i / taps] * n->tt[i];
}

/*
 * z = cols . we^T + bias, then the activation into a: ReLU, or the 4-bit
 * quantizer clamp(z, 0, c) in steps of c / 15 (floor(x + 0.5) rounding,
 * which the integer requantization reproduces)
 */
static void conv_act(struct tnet *n, const float *cols, size_t rows,
		     unsigned int taps, const float *we, const float *bias,
		     unsigned int cout, float clip, float *z, float *a)
{
	size_t i, nz = rows * cout;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows,
		    (int)cout, (int)taps, 1.0f, cols, (int)taps, we, (int)taps,
		    0.0f, z, (int)cout);
	for (i = 0; i < nz; i++) {
		float v = z[i] + bias[i % cout];

		z[i] = v;
		if (!n->ternary) {
			a[i] = v > 0.0f ? v : 0.0f;
			continue;
		}
		v = v < 0.0f ? 0.0f : (v > clip ? clip : v);
		a[i] = floorf(v * TNET_LEVELS / clip + 0.5f) * clip /
		       TNET_LEVELS;
	}
}

/* 2x2 max pooling of b images side x side x c; @arg: source index */
static void maxpool(const float *a, unsigned int b, unsigned int side,
		    unsigned int c, float *out, uint32_t *arg)
{
	unsigned int ps = side / 2, i, y, x, ch, dy, dx;

	for (i = 0; i < b; i++)
		for (y = 0; y < ps; y++)
			for (x = 0; x < ps; x++)
				for (ch = 0; ch < c; ch++) {
					size_t best = 0, o;
					float bv = -INFINITY;

					for (dy = 0; dy < 2; dy++)
						for (dx = 0; dx < 2; dx++) {
							size_t j = (((size_t)i * side +
								     2 * y + dy) * side +
								    2 * x + dx) * c + ch;

							if (a[j] > bv) {
								bv = a[j];
								best = j;
							}
						}
					o = (((size_t)i * ps + y) * ps + x) * c + ch;
					out[o] = bv;
					arg[o] = (uint32_t)best;
				}
}

float tnet_forward(struct tnet *n, const uint8_t *img, unsigned int b,
		   const uint8_t *y, unsigned int *correct)
{
	unsigned int c1 = n->c1, c2 = n->c2, i, j, ok = 0;
	double loss = 0.0;
	uint8_t codes[TNET_IMG * TNET_IMG];

	for (i = 0; i < b; i++) {
		float *x = n->x0 + (size_t)i * TNET_IMG * TNET_IMG;

		if (n->ternary) {
			tnet_input_codes(img + (size_t)i * TNET_IMG * TNET_IMG,
					 codes);
			for (j = 0; j < TNET_IMG * TNET_IMG; j++)
				x[j] = codes[j] / (float)TNET_LEVELS;
		} else {
			for (j = 0; j < TNET_IMG * TNET_IMG; j++)
				x[j] = img[(size_t)i * TNET_IMG * TNET_IMG + j] /
				       255.0f;
		}
	}
	eff_weights(n, n->w1, c1, TAPS1, n->we1);
	eff_weights(n, n->w2, c2, TAPS1 * c1, n->we2);
	eff_weights(n, n->w3, TNET_CLASSES, POOL2 * c2, n->we3);
	for (i = 0; i < b; i++)
		im2col(n->x0 + (size_t)i * TNET_IMG * TNET_IMG, TNET_IMG, 1,
		       n->cols1 + (size_t)i * PIX1 * TAPS1);
	conv_act(n, n->cols1, (size_t)b * PIX1, TAPS1, n->we1, n->b1, c1,
		 n->clip[0], n->z1, n->a1);
	maxpool(n->a1, b, TNET_H1, c1, n->pool1, n->arg1);
	for (i = 0; i < b; i++)
		im2col(n->pool1 + (size_t)i * POOL1 * c1, TNET_P1, c1,
		       n->cols2 + (size_t)i * PIX2 * TAPS1 * c1);
	conv_act(n, n->cols2, (size_t)b * PIX2, TAPS1 * c1, n->we2, n->b2, c2,
		 n->clip[1], n->z2, n->a2);
	maxpool(n->a2, b, TNET_H2, c2, n->pool2, n->arg2);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b,
		    TNET_CLASSES, (int)(POOL2 * c2), 1.0f, n->pool2,
		    (int)(POOL2 * c2), n->we3, (int)(POOL2 * c2), 0.0f, n->z3,
		    TNET_CLASSES);
	for (i = 0; i < b; i++) {
		float *z = n->z3 + (size_t)i * TNET_CLASSES, *d =
			n->dz3 + (size_t)i * TNET_CLASSES, mx, sum = 0.0f;
		unsigned int arg = 0;

		for (j = 0; j < TNET_CLASSES; j++)
			z[j] += n->b3[j];
		if (!y)
			continue;
		mx = z[0];
		for (j = 1; j < TNET_CLASSES; j++)
			if (z[j] > mx) {
				mx = z[j];
				arg = j;
			}
		ok += arg == y[i];
		for (j = 0; j < TNET_CLASSES; j++) {
			d[j] = expf(z[j] - mx);
			sum += d[j];
		}
		for (j = 0; j < TNET_CLASSES; j++)
			d[j] /= sum;
		loss -= log(d[y[i]] > 1e-30f ? d[y[i]] : 1e-30f);
	}
	if (correct)
		*correct = ok;
	return y ? (float)(loss / b) : 0.0f;
}

/*
 * From da (the gradient at the activation output, overwritten) to dz:
 * the STE mask, and the clip's gradient where z >= c
 */
static void act_backward(const struct tnet *n, const float *z, float *d,
			 size_t nz, float clip, float *gclip)
{
	double gc = 0.0;
	size_t i;

	for (i = 0; i < nz; i++) {
		if (!n->ternary) {
			if (z[i] <= 0.0f)
				d[i] = 0.0f;
			continue;
		}
		if (z[i] >= clip) {
			gc += d[i];
			d[i] = 0.0f;
		} else if (z[i] <= 0.0f) {
			d[i] = 0.0f;
		}
	}
	*gclip = (float)gc;
}

static void bias_grad(const float *d, size_t rows, unsigned int c, float *gb)
{
	size_t r;
	unsigned int j;

	memset(gb, 0, c * sizeof(float));
	for (r = 0; r < rows; r++)
		for (j = 0; j < c; j++)
			gb[j] += d[r * c + j];
}

void tnet_backward_step(struct tnet *n, const uint8_t *y, unsigned int b,
			float lr)
{
	unsigned int c1 = n->c1, c2 = n->c2, i, nf2 = POOL2 * c2;
	size_t nw1 = (size_t)c1 * TAPS1, nw2 = (size_t)c2 * TAPS1 * c1;
	float *g = n->g, *gw1 = g, *gb1 = gw1 + nw1, *gw2 = gb1 + c1,
	      *gb2 = gw2 + nw2, *gw3 = gb2 + c2,
	      *gb3 = gw3 + (size_t)TNET_CLASSES * nf2, *gclip = gb3 + TNET_CLASSES;
	const float b1m = 0.9f, b2m = 0.999f, eps = 1e-8f;
	float c1corr, c2corr;
	size_t k;

	/* softmax - onehot, mean over the batch */
	for (i = 0; i < b; i++) {
		float *d = n->dz3 + (size_t)i * TNET_CLASSES;
		unsigned int j;

		d[y[i]] -= 1.0f;
		for (j = 0; j < TNET_CLASSES; j++)
			d[j] /= (float)b;
	}
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, TNET_CLASSES,
		    (int)nf2, (int)b, 1.0f, n->dz3, TNET_CLASSES, n->pool2,
		    (int)nf2, 0.0f, gw3, (int)nf2);
	bias_grad(n->dz3, b, TNET_CLASSES, gb3);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)nf2,
		    TNET_CLASSES, 1.0f, n->dz3, TNET_CLASSES, n->we3, (int)nf2,
		    0.0f, n->dp2, (int)nf2);
	/* pool2 -> conv2 */
	memset(n->d2, 0, (size_t)b * PIX2 * c2 * sizeof(float));
	for (k = 0; k < (size_t)b * nf2; k++)
		n->d2[n->arg2[k]] += n->dp2[k];
	act_backward(n, n->z2, n->d2, (size_t)b * PIX2 * c2, n->clip[1],
		     &gclip[1]);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c2,
		    (int)(TAPS1 * c1), (int)(b * PIX2), 1.0f, n->d2, (int)c2,
		    n->cols2, (int)(TAPS1 * c1), 0.0f, gw2, (int)(TAPS1 * c1));
	bias_grad(n->d2, (size_t)b * PIX2, c2, gb2);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(b * PIX2),
		    (int)(TAPS1 * c1), (int)c2, 1.0f, n->d2, (int)c2, n->we2,
		    (int)(TAPS1 * c1), 0.0f, n->dcols2, (int)(TAPS1 * c1));
	for (i = 0; i < b; i++)
		col2im(n->dcols2 + (size_t)i * PIX2 * TAPS1 * c1, TNET_P1, c1,
		       n->dpool1 + (size_t)i * POOL1 * c1);
	/* pool1 -> conv1 */
	memset(n->d1, 0, (size_t)b * PIX1 * c1 * sizeof(float));
	for (k = 0; k < (size_t)b * POOL1 * c1; k++)
		n->d1[n->arg1[k]] += n->dpool1[k];
	act_backward(n, n->z1, n->d1, (size_t)b * PIX1 * c1, n->clip[0],
		     &gclip[0]);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c1, TAPS1,
		    (int)(b * PIX1), 1.0f, n->d1, (int)c1, n->cols1, TAPS1, 0.0f,
		    gw1, TAPS1);
	bias_grad(n->d1, (size_t)b * PIX1, c1, gb1);
	if (!n->ternary)
		gclip[0] = gclip[1] = 0.0f;
	/* Adam */
	n->adam_t++;
	c1corr = 1.0f - powf(b1m, (float)n->adam_t);
	c2corr = 1.0f - powf(b2m, (float)n->adam_t);
	for (k = 0; k < n->nparams; k++) {
		float gk = g[k];

		n->m[k] = b1m * n->m[k] + (1.0f - b1m) * gk;
		n->v[k] = b2m * n->v[k] + (1.0f - b2m) * gk * gk;
		n->p[k] -= lr * (n->m[k] / c1corr) /
			   (sqrtf(n->v[k] / c2corr) + eps);
	}
	for (i = 0; i < 2; i++)
		if (n->clip[i] < 0.05f)
			n->clip[i] = 0.05f;
}
