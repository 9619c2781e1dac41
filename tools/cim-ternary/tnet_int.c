// SPDX-License-Identifier: MIT
/*
 * The integer ternary network: export from the trained fp32 network,
 * inference in software and on the APs. Both paths compute the integer
 * accumulators of each layer (sum of ternary weight x 4-bit code) and
 * then share every later step: requantization to the next layer's codes,
 * pooling, the classifier's scale and bias, the argmax.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tnet.h"

#define TAPS1	(TNET_K * TNET_K)
#define POOL2	(TNET_P2 * TNET_P2)

/* @x in fixed point; -ERANGE if it is not finite or not below @lim there */
static int fixed(double x, double lim, int64_t *out)
{
	double v = ldexp(x, TNET_SHIFT);

	if (!(fabs(v) < lim))
		return -ERANGE;
	*out = (int64_t)llround(v);
	return 0;
}

/*
 * Ternarize @cout filters of @taps master weights with the library's TWN;
 * per filter, the multiplier alpha * s_in / s_out and the offset
 * b / s_out (+ 0.5 for round-half-up when @round) in fixed point.
 * -ERANGE where a diverged training left a scale that does not fit: as
 * |acc| <= taps * 15, |m| < 2^62 / (taps * 15) and |o| < 2^62 keep
 * acc * m + o inside int64_t.
 */
static int export_layer(const float *w, const float *b, unsigned int cout,
			unsigned int taps, double s_in, double s_out,
			bool round, int8_t **t, int64_t **m, int64_t **o,
			unsigned int *zeros)
{
	float *alpha = malloc(cout * sizeof(*alpha));
	size_t i, nw = (size_t)cout * taps;
	double olim = 0x1p62, mlim = olim / ((double)taps * TNET_LEVELS);
	unsigned int f;
	int r = -ENOMEM;

	*t = malloc(nw);
	*m = malloc(cout * sizeof(**m));
	*o = malloc(cout * sizeof(**o));
	if (alpha && *t && *m && *o)
		r = cim_ternary_ternarize(w, cout, taps, 0.0f, *t, alpha);
	for (f = 0; !r && f < cout; f++) {
		r = fixed(alpha[f] * s_in / s_out, mlim, &(*m)[f]);
		if (!r)
			r = fixed(b[f] / s_out + (round ? 0.5 : 0.0), olim,
				  &(*o)[f]);
	}
	if (!r)
		for (i = 0; i < nw; i++)
			*zeros += !(*t)[i];
	free(alpha);
	return r;
}

int tnet_export(const struct tnet *n, struct tnet_int *q)
{
	double s0 = 1.0 / TNET_LEVELS, s1 = n->clip[0] / TNET_LEVELS,
	       s2 = n->clip[1] / TNET_LEVELS;
	unsigned int c1 = n->c1, c2 = n->c2;
	int r;

	memset(q, 0, sizeof(*q));
	if (!n->ternary)
		return -EINVAL;
	q->c1 = c1;
	q->c2 = c2;
	q->weights = c1 * TAPS1 + c2 * TAPS1 * c1 + TNET_CLASSES * POOL2 * c2;
	r = export_layer(n->w1, n->b1, c1, TAPS1, s0, s1, true, &q->t1, &q->m1,
			 &q->o1, &q->zeros);
	if (!r)
		r = export_layer(n->w2, n->b2, c2, TAPS1 * c1, s1, s2, true,
				 &q->t2, &q->m2, &q->o2, &q->zeros);
	if (!r)
		r = export_layer(n->w3, n->b3, TNET_CLASSES, POOL2 * c2, s2, 1.0,
				 false, &q->t3, &q->m3, &q->o3, &q->zeros);
	if (r)
		tnet_int_free(q);
	return r;
}

void tnet_int_free(struct tnet_int *q)
{
	free(q->t1);
	free(q->t2);
	free(q->t3);
	free(q->m1);
	free(q->o1);
	free(q->m2);
	free(q->o2);
	free(q->m3);
	free(q->o3);
	memset(q, 0, sizeof(*q));
}

void tnet_conv_sw(const uint8_t *in, unsigned int side, unsigned int cin,
		  const int8_t *t, unsigned int cout, unsigned int k,
		  int32_t *acc)
{
	unsigned int oh = side - k + 1, oy, ox, f, ky, j, taps = k * k * cin;

	for (oy = 0; oy < oh; oy++)
		for (ox = 0; ox < oh; ox++)
			for (f = 0; f < cout; f++) {
				const int8_t *w = t + (size_t)f * taps;
				int32_t s = 0;

				for (ky = 0; ky < k; ky++) {
					const uint8_t *x = in + ((size_t)(oy + ky) *
								 side + ox) * cin;

					for (j = 0; j < k * cin; j++)
						s += w[ky * k * cin + j] * x[j];
				}
				acc[((size_t)oy * oh + ox) * cout + f] = s;
			}
}

/* clamp(floor((acc * m + o) / 2^TNET_SHIFT), 0, 15) */
static uint8_t requant(int32_t acc, int64_t m, int64_t o)
{
	int64_t v = (int64_t)acc * m + o;

	if (v < 0)
		return 0;
	v >>= TNET_SHIFT;
	return (uint8_t)(v > TNET_LEVELS ? TNET_LEVELS : v);
}

void tnet_requant_pool(const int32_t *acc, unsigned int side, unsigned int c,
		       const int64_t *m, const int64_t *o, uint8_t *out)
{
	unsigned int ps = side / 2, y, x, ch, dy, dx;

	for (y = 0; y < ps; y++)
		for (x = 0; x < ps; x++)
			for (ch = 0; ch < c; ch++) {
				uint8_t best = 0;

				for (dy = 0; dy < 2; dy++)
					for (dx = 0; dx < 2; dx++) {
						uint8_t v = requant(
							acc[((size_t)(2 * y + dy) * side +
							     2 * x + dx) * c + ch],
							m[ch], o[ch]);

						if (v > best)
							best = v;
					}
				out[((size_t)y * ps + x) * c + ch] = best;
			}
}

unsigned int tnet_classify(const int32_t *acc, const int64_t *m,
			   const int64_t *o)
{
	unsigned int j, arg = 0;
	int64_t best = (int64_t)acc[0] * m[0] + o[0];

	for (j = 1; j < TNET_CLASSES; j++) {
		int64_t v = (int64_t)acc[j] * m[j] + o[j];

		if (v > best) {
			best = v;
			arg = j;
		}
	}
	return arg;
}

/* The APs ---------------------------------------------------------------- */

/*
 * Layer li of @ap: @ap->nb[li] images of h x w x cin stacked vertically
 * into one (nb * h) x w input. Output rows b * h .. b * h + h - k belong
 * to image b; the k - 1 rows after them straddle two images and are
 * dropped. fc is a 1x1 "image" per AP row.
 */
int tnet_ap_compile(const struct tnet_int *q, struct cim_device *dev,
		    unsigned int group, struct tnet_ap *ap)
{
	const int8_t *t[3] = { q->t1, q->t2, q->t3 };
	size_t in_max = 0, out_max = 0;
	unsigned int li;
	int r;

	memset(ap, 0, sizeof(*ap));
	r = cim_ternary_target_of(dev, &ap->tgt);
	if (r)
		return r;
	ap->h[0] = ap->w[0] = TNET_IMG;
	ap->cin[0] = 1;
	ap->cout[0] = q->c1;
	ap->h[1] = ap->w[1] = TNET_P1;
	ap->cin[1] = q->c1;
	ap->cout[1] = q->c2;
	ap->h[2] = ap->w[2] = 1;
	ap->cin[2] = POOL2 * q->c2;
	ap->cout[2] = TNET_CLASSES;
	ap->k[0] = ap->k[1] = TNET_K;
	ap->k[2] = 1;
	for (li = 0; li < 3; li++) {
		unsigned int ow = ap->w[li] - ap->k[li] + 1, nb;
		struct cim_ternary_desc d = {
			.in_w = ap->w[li], .cin = ap->cin[li],
			.cout = ap->cout[li], .k = ap->k[li], .stride = 1,
			.in_bits = 4, .group = group,
			.out_mode = CIM_TERNARY_OUT_ACC,
		};
		size_t isz, osz;

		/* as many images as fill the rows: (nb h - k + 1) ow <= rows */
		nb = (ap->tgt.ap_rows / ow + ap->k[li] - 1) / ap->h[li];
		if (li == 2 && nb > TNET_FC_IMAGES_MAX)
			nb = TNET_FC_IMAGES_MAX;
		ap->nb[li] = nb ? nb : 1;
		d.in_h = ap->nb[li] * ap->h[li];
		r = cim_ternary_compile(&d, t[li], &ap->tgt, &ap->l[li]);
		if (r) {
			tnet_ap_destroy(ap);
			return r;
		}
		isz = (size_t)d.in_h * d.in_w * d.cin;
		osz = (size_t)(d.in_h - d.k + 1) * ow * d.cout;
		if (isz > in_max)
			in_max = isz;
		if (osz > out_max)
			out_max = osz;
	}
	ap->stage = malloc(in_max);
	ap->ystage = malloc(out_max * sizeof(*ap->ystage));
	if (!ap->stage || !ap->ystage) {
		tnet_ap_destroy(ap);
		return -ENOMEM;
	}
	return 0;
}

void tnet_ap_destroy(struct tnet_ap *ap)
{
	unsigned int li;

	for (li = 0; li < 3; li++)
		cim_ternary_destroy(ap->l[li]);
	free(ap->stage);
	free(ap->ystage);
	memset(ap, 0, sizeof(*ap));
}

int tnet_ap_layer(struct tnet_ap *ap, struct cim_device *dev, unsigned int li,
		  const uint8_t *in, unsigned int n, int32_t *acc)
{
	unsigned int h = ap->h[li], w = ap->w[li], k = ap->k[li];
	unsigned int oh = h - k + 1, ow = w - k + 1, nb = ap->nb[li], i, b, y;
	size_t isz = (size_t)h * w * ap->cin[li], row = (size_t)ow * ap->cout[li];
	struct cim_ternary_run_stats rs;
	int r;

	for (i = 0; i < n; i += nb) {
		unsigned int m = n - i < nb ? n - i : nb;

		memcpy(ap->stage, in + i * isz, m * isz);
		memset(ap->stage + m * isz, 0, (nb - m) * isz);
		r = cim_ternary_run(ap->l[li], dev, ap->stage, ap->ystage, &rs);
		if (r)
			return r;
		ap->rs.energy_fj += rs.energy_fj;
		ap->rs.device_time_ps += rs.device_time_ps;
		ap->rs.jobs += rs.jobs;
		for (b = 0; b < m; b++)
			for (y = 0; y < oh; y++)
				memcpy(acc + ((size_t)(i + b) * oh + y) * row,
				       ap->ystage + ((size_t)b * h + y) * row,
				       row * sizeof(*acc));
	}
	return 0;
}
