/* SPDX-License-Identifier: MIT */
/*
 * A small ternary CNN for cim-ternary train: trained in software (fp32
 * master weights, TWN ternarization per filter, 4-bit unsigned
 * activations, straight-through estimator), then run as integers, in
 * software and on the APs through cim_ternary_run(), with the same
 * requantization code on both paths.
 *
 *   input   28x28x1   pixels as 4-bit codes, round(p * 15 / 255)
 *   conv1   5x5, 1 -> c1, ternary; requant to 4 bits; maxpool 2 -> 12x12
 *   conv2   5x5, c1 -> c2, ternary; requant to 4 bits; maxpool 2 -> 4x4
 *   fc      4*4*c2 -> 10, ternary; per-class scale and bias -> logits
 *
 * Tensors are HWC; weights are [filter][tap] with taps (ky, kx, ci), the
 * cim_ternary_compile() order. Documentation/ternary-cnn.rst has the
 * quantization scheme.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIM_TERNARY_TNET_H
#define CIM_TERNARY_TNET_H

#include <stdbool.h>
#include <stdint.h>

#include "cim_ternary.h"

#define TNET_IMG	28
#define TNET_K		5
#define TNET_CLASSES	10
#define TNET_LEVELS	15	/* 4-bit codes 0..15 */
#define TNET_SHIFT	20	/* fixed-point bits of the requantization */

/* Sides: conv1 24, pool1 12, conv2 8, pool2 4 */
#define TNET_H1		(TNET_IMG - TNET_K + 1)
#define TNET_P1		(TNET_H1 / 2)
#define TNET_H2		(TNET_P1 - TNET_K + 1)
#define TNET_P2		(TNET_H2 / 2)

/**
 * struct tnet - the trained network (fp32 master copy) and its training
 * state
 * @c1, @c2: filters of conv1 and conv2
 * @ternary: forward with ternary weights and 4-bit activations (else a
 *           plain fp32 network with ReLU, the baseline)
 * @nparams: floats in @p (weights, biases, the two activation clips)
 * @p, @g, @m, @v: parameters, gradients, Adam moments
 * @w1, @b1, @w2, @b2, @w3, @b3, @clip: views into @p
 * @batch_max: images per batch the scratch holds
 * @adam_t: Adam steps taken
 */
struct tnet {
	unsigned int c1, c2;
	bool ternary;
	size_t nparams;
	float *p, *g, *m, *v;
	float *w1, *b1, *w2, *b2, *w3, *b3, *clip;
	unsigned int batch_max;
	uint64_t adam_t;
	/* forward and backward scratch */
	float *x0, *cols1, *z1, *a1, *pool1, *cols2, *z2, *a2, *pool2, *z3;
	float *dz3;			/* softmax after the forward */
	float *we1, *we2, *we3;		/* the weights the forward uses */
	int8_t *tt;			/* ternarization scratch */
	float *alpha;
	uint32_t *arg1, *arg2;		/* pooling: index of the maximum */
	float *d1, *d2, *dp2, *dcols2, *dpool1;
};

/*
 * splitmix64: the next number of the sequence of *@s. The initialisation
 * and train.c's data order come from it, so they do not depend on the libc.
 */
uint64_t tnet_splitmix64(uint64_t *s);

int tnet_create(struct tnet *n, unsigned int c1, unsigned int c2,
		bool ternary, unsigned int batch_max, uint64_t seed);
void tnet_destroy(struct tnet *n);

/*
 * One forward pass over @b images of 784 pixel bytes; logits into
 * n->z3. With @y, the mean cross-entropy and, in *@correct, the images
 * classified right; without, 0.
 */
float tnet_forward(struct tnet *n, const uint8_t *img, unsigned int b,
		   const uint8_t *y, unsigned int *correct);
/* Backward for the last forward (with labels) and one Adam step at @lr */
void tnet_backward_step(struct tnet *n, const uint8_t *y, unsigned int b,
			float lr);

/**
 * struct tnet_int - the integer network both inference paths run
 * @t1, @t2, @t3: ternary weights, [filter][tap]
 * @m1, @m2, @m3: per-filter multipliers, fixed point (TNET_SHIFT)
 * @o1, @o2, @o3: per-filter offsets, the same fixed point
 *
 * conv layers: code = clamp(floor((acc * m + o) / 2^TNET_SHIFT), 0, 15);
 * fc: logit = acc * m + o (compared, never divided).
 */
struct tnet_int {
	unsigned int c1, c2;
	int8_t *t1, *t2, *t3;
	int64_t *m1, *o1, *m2, *o2, *m3, *o3;
	unsigned int zeros, weights;	/* ternary weights that are 0, all */
};

/*
 * The integer network of the ternary network @n: -EINVAL if @n is the
 * fp32 one, -ERANGE if a scale or bias is not finite or so large that
 * acc * m + o could leave int64_t (a diverged training), -ENOMEM
 */
int tnet_export(const struct tnet *n, struct tnet_int *q);
void tnet_int_free(struct tnet_int *q);

/* 4-bit codes of 784 pixel bytes */
void tnet_input_codes(const uint8_t *img, uint8_t *codes);

/*
 * The integer network's three accumulator sets for one image:
 * acc1 24x24xc1, acc2 8x8xc2, acc3 10; the software path. The layers in
 * between go through tnet_requant_pool(), which the AP path uses too.
 */
void tnet_conv_sw(const uint8_t *in, unsigned int side, unsigned int cin,
		  const int8_t *t, unsigned int cout, unsigned int k,
		  int32_t *acc);
/* Requantize acc (side x side x c) to codes and max-pool 2x2 */
void tnet_requant_pool(const int32_t *acc, unsigned int side, unsigned int c,
		       const int64_t *m, const int64_t *o, uint8_t *out);
/* The class of fc accumulators: argmax of acc * m + o, first on ties */
unsigned int tnet_classify(const int32_t *acc, const int64_t *m,
			   const int64_t *o);

/*
 * At most this many images per fc run. The fc layer's images per run are
 * also the chunk in which train.c sends the test set through both integer
 * paths, and the chunk's buffers hold every layer's accumulators of both
 * (conv1 at 16 filters: 72 KiB an image). Measured on the 2,000 MNIST
 * test images at 16/32 filters, the 1,024 a full AP takes cost 73 MB more
 * peak memory for 1 % less modelled AP energy and 2 % less device time.
 */
#define TNET_FC_IMAGES_MAX	256

/**
 * struct tnet_ap - the integer network compiled for the APs of a device
 * @l: conv1, conv2, fc; each compiled for @nb images stacked vertically
 *     (fc: one image per AP row)
 * @nb: images per run of each layer
 * @h, @w, @cin, @cout, @k: each layer's input and kernel for one image
 * @tgt: the device's AP geometry the layers are compiled for
 * @stage, @ystage: one run's input (@nb images, zero-padded) and output
 * @rs: energy, device time and jobs summed over every run (its
 *      @counters are not summed)
 */
struct tnet_ap {
	struct cim_ternary_layer *l[3];
	unsigned int nb[3];
	unsigned int h[3], w[3], cin[3], cout[3], k[3];
	struct cim_ternary_target tgt;
	uint8_t *stage;
	int32_t *ystage;
	struct cim_ternary_run_stats rs;
};

int tnet_ap_compile(const struct tnet_int *q, struct cim_device *dev,
		    unsigned int group, struct tnet_ap *ap);
void tnet_ap_destroy(struct tnet_ap *ap);

/*
 * Run layer @li on the APs for @n images of its input (codes, HWC), the
 * accumulators into @acc (per image, HWC)
 */
int tnet_ap_layer(struct tnet_ap *ap, struct cim_device *dev, unsigned int li,
		  const uint8_t *in, unsigned int n, int32_t *acc);

/* cim-ternary train (train.c) */
int tnet_train_main(int argc, char **argv);

#endif
