// SPDX-License-Identifier: MIT
/*
 * A 1024 x 1024 mixed-precision linear layer on the embedded backend
 * (sixteen 256 x 256 crossbars, every non-ideality of the default
 * configuration on): forward, backward and DUU update of a batch of 64,
 * against the same three products as plain OpenBLAS sgemm calls (forward
 * 64x1024x1024, backward, weight gradient plus the SGD step), in the same
 * run, interleaved so that both see the same machine load. Both sides
 * use the same OpenBLAS (the model's products go through it too), so the
 * same thread count, set with OPENBLAS_NUM_THREADS and printed.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "cimfw.h"
#include "cim_layer.h"

#define BATCH	64
#define DIM	1024

struct arg {
	struct cim_linear *l;
	float *x, *y, *dy, *dx, *w, *gw;
};

static void run_layer(void *p)
{
	struct arg *a = p;

	if (cim_linear_forward(a->l, a->x, BATCH, a->y) ||
	    cim_linear_backward(a->l, a->dy, BATCH, a->dx) ||
	    cim_linear_update(a->l, a->x, a->dy, BATCH))
		abort();
}

static void run_fwd(void *p)
{
	struct arg *a = p;

	if (cim_linear_forward(a->l, a->x, BATCH, a->y))
		abort();
}

static void run_bwd(void *p)
{
	struct arg *a = p;

	if (cim_linear_backward(a->l, a->dy, BATCH, a->dx))
		abort();
}

static void run_upd(void *p)
{
	struct arg *a = p;

	if (cim_linear_update(a->l, a->x, a->dy, BATCH))
		abort();
}

static void run_gemm(void *p)
{
	struct arg *a = p;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, DIM, DIM,
		    1.0f, a->x, DIM, a->w, DIM, 0.0f, a->y, DIM);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, DIM, DIM,
		    1.0f, a->dy, DIM, a->w, DIM, 0.0f, a->dx, DIM);
	/* W -= lr x^T dy, straight into the weights */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, DIM, DIM, BATCH,
		    -1e-3f, a->x, DIM, a->dy, DIM, 1.0f, a->w, DIM);
}

static float frand(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

int main(void)
{
	struct cim_embedded_options eo = { .size = sizeof(eo) };
	struct cim_linear_options lo;
	struct cimfw_config cfg;
	struct cim_device *dev;
	struct arg a = { 0 };
	double tl[5], tg[5], ml, mg;
	unsigned int i, s = 1;
	size_t n = (size_t)DIM * DIM;

	cimfw_config_default(&cfg);
	cfg.xbar_count = 16;
	eo.config = &cfg;
	if (cim_device_open_embedded(&dev, &eo))
		return 1;
	cim_linear_options_default(&lo);
	lo.batch_max = BATCH;
	lo.lr = 1e-3f;
	lo.prog_iters = 5;
	if (cim_linear_create(dev, DIM, DIM, &lo, &a.l))
		return 1;
	a.x = malloc(sizeof(float) * BATCH * DIM);
	a.y = malloc(sizeof(float) * BATCH * DIM);
	a.dy = malloc(sizeof(float) * BATCH * DIM);
	a.dx = malloc(sizeof(float) * BATCH * DIM);
	a.w = malloc(sizeof(float) * n);
	if (!a.x || !a.y || !a.dy || !a.dx || !a.w)
		return 1;
	for (i = 0; i < n; i++)
		a.w[i] = 0.5f * frand(&s);
	for (i = 0; i < BATCH * DIM; i++) {
		a.x[i] = frand(&s);
		a.dy[i] = 0.1f * frand(&s);
	}
	if (cim_linear_import(a.l, a.w, NULL))
		return 1;

	for (i = 0; i < 5; i++) {
		tl[i] = bench_time(run_layer, &a, i ? 0 : 1, 1, 3);
		tg[i] = bench_time(run_gemm, &a, i ? 0 : 1, 1, 3);
	}
	/* where the layer's time goes */
	printf("layer parts: forward %.2f ms, backward %.2f ms, update %.2f ms\n",
	       1e3 * bench_time(run_fwd, &a, 1, 5, 1),
	       1e3 * bench_time(run_bwd, &a, 1, 5, 1),
	       1e3 * bench_time(run_upd, &a, 1, 5, 1));
	ml = bench_median(tl, 5);
	mg = bench_median(tg, 5);
	printf("linear 1024x1024 batch 64: layer %.2f ms, 3 sgemm %.2f ms "
	       "(%u tiles)\n", ml * 1e3, mg * 1e3, cim_linear_tiles(a.l));
	printf("OpenBLAS threads: %d, the same for the layer and the sgemms "
	       "(OPENBLAS_NUM_THREADS)\n", openblas_get_num_threads());
	printf("bench linear: %.2fx of GEMM time (target <= 3x)\n", ml / mg);
	cim_linear_destroy(a.l);
	cim_device_close(dev);
	free(a.x);
	free(a.y);
	free(a.dy);
	free(a.dx);
	free(a.w);
	return 0;
}
