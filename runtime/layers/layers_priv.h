/* SPDX-License-Identifier: MIT */
/*
 * What the convolution needs of the linear layer beyond cim_layer.h.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIM_LAYERS_PRIV_H
#define CIM_LAYERS_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "cim_layer.h"

int cim__linear_opts(const struct cim_linear_options *in,
		     struct cim_linear_options *o, unsigned int max_batch);
bool cim__all_finite(const float *v, size_t n);
unsigned int cim__linear_batch_max(const struct cim_linear *l);
int cim__linear_update(struct cim_linear *l, const float *x, const float *dy,
		       unsigned int batch, unsigned int flags);

bool cim__linear_single(const struct cim_linear *l);
float *cim__linear_xbuf(struct cim_linear *l);
float *cim__linear_dbuf(struct cim_linear *l);
const float *cim__linear_ybuf(struct cim_linear *l);
float cim__linear_wmax(const struct cim_linear *l);
int cim__linear_vmm(struct cim_linear *l, enum cim_vmm_dir dir,
		    unsigned int batch);

#endif /* CIM_LAYERS_PRIV_H */
