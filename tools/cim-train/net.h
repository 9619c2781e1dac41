/* SPDX-License-Identifier: MIT */
/*
 * LeNet-5 for cim-train, on the crossbars (libcim's cim_conv2d and
 * cim_linear) or in fp32 on the host, with one layer type for both so
 * that the two backends share data, initialisation, schedule and every
 * line of the software parts (bias, ReLU, pooling, loss, momentum).
 */
#ifndef CIM_TRAIN_NET_H
#define CIM_TRAIN_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "cim_layer.h"

#define NET_LAYERS	5
#define NET_CLASSES	10

struct layer {
	bool conv;
	struct cim_conv2d_shape s;	/* conv: the shape; fc: in/out only */
	unsigned int ph;		/* conv: pooled output side */
	unsigned int oh, ow, npix;	/* output pixels per image (fc: 1) */
	unsigned int k, out;		/* weight matrix k x out */
	float *w;			/* [k][out], fp32 weights (software) */
	float *vw;			/* momentum of w */
	float *gw;			/* gradient scratch */
	float *wr;			/* device: weights read for the decay */
	float *b, *vb, *gb;		/* biases: always digital, on the host */
	float w_max;
	/* device */
	struct cim_conv2d *cc;
	struct cim_linear *lin;
};

struct net_opts {
	unsigned int batch_max;
	float lr;
	float momentum;
	bool host_momentum;	/* device: send velocity through the DUU */
	float wmax_scale;	/* w_max = scale * init bound */
	unsigned int pad;	/* zero padding of conv1: 0 or 2 */
	bool he_init;		/* Kaiming uniform, zero biases */
	float weight_decay;	/* L2, through the gradient (device: W read by VMMs) */
	float epsilon_levels;	/* device: DUU threshold in levels, 0: one */
	unsigned int n_max;	/* device: most pulses per transfer, 0: 31 */
};

struct net {
	struct layer L[NET_LAYERS];
	struct cim_device *dev;		/* NULL: fp32 software */
	struct net_opts o;
	unsigned int batch_max;
	/* activations, batch_max images each */
	float *a[NET_LAYERS + 1];	/* input of layer i (after pooling) */
	float *z[NET_LAYERS];		/* output of layer i (after ReLU) */
	float *d[NET_LAYERS];		/* gradient at z[i] */
	float *da[NET_LAYERS + 1];	/* gradient at a[i] */
	uint32_t *pidx[2];		/* max-pool argmax */
	float *cols;			/* im2col scratch */
	size_t cols_max;		/* floats per image of one im2col */
	float *padded;			/* one conv input inside its zero border */
	float *eye;			/* zero but while a layer uses it as I */
	float *logits;
};

int net_create(struct net *n, struct cim_device *dev,
	       const struct net_opts *o, uint64_t seed);
void net_destroy(struct net *n);
/* Forward @bs images (28x28 floats each); logits into n->logits. */
int net_forward(struct net *n, const float *x, unsigned int bs);
/* Loss and correct count of the last forward against @y. */
float net_loss(struct net *n, const uint8_t *y, unsigned int bs,
	       unsigned int *correct);
/* Backward and update after net_forward and net_loss. */
int net_backward_update(struct net *n, unsigned int bs);
int net_set_lr(struct net *n, float lr);
/* Weights [k][out] of every layer to the host copy (device: exported). */
int net_sync_weights(struct net *n);
/* Program the host copy onto the device (write-verify). */
int net_program(struct net *n, uint64_t *failed);
size_t net_param_count(const struct net *n);

#endif
