// SPDX-License-Identifier: MIT
/*
 * The crossbar model's forward VMM against a plain float GEMM of the same
 * shape: one 256 x 256 tile, batch 64, every non-ideality of the default
 * configuration on (DAC, ADC, read noise; the tile is programmed with
 * variation and noisy pulses first).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "xbar.h"

#define BATCH	64
#define DIM	256

struct vmm_arg {
	struct cimfw_xbar *xb;
	struct cimfw_xbar_win win;
	struct cimfw_meter m;
	const float *x;
	const float *w;
	float *y;
};

static void run_model(void *p)
{
	struct vmm_arg *a = p;

	if (cimfw_xbar_vmm(a->xb, &a->win, false, BATCH, a->x, a->y, false,
			 0.0f, &a->m))
		abort();
}

static void run_sgemm(void *p)
{
	struct vmm_arg *a = p;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, DIM,
		    DIM, 1.0f, a->x, DIM, a->w, DIM, 0.0f, a->y, DIM);
}

static float uniform_pm1(struct cimfw_rng *r)
{
	return (float)(2.0 * cimfw_rng_uniform(r) - 1.0);
}

int main(void)
{
	struct cimfw_program_stats rep;
	struct cimfw_config cfg;
	struct vmm_arg a = { 0 };
	struct cimfw_xbar xb;
	struct cimfw_rng r;
	uint64_t clock_ns = 0;
	float *x, *w, *y;
	double tm, ts, flop = 2.0 * BATCH * DIM * DIM;
	unsigned int i;

	cimfw_config_default(&cfg);
	cfg.xbar_rows = DIM;
	cfg.xbar_cols = DIM;
	x = malloc(sizeof(*x) * BATCH * DIM);
	w = malloc(sizeof(*w) * DIM * DIM);
	y = malloc(sizeof(*y) * BATCH * DIM);
	if (!x || !w || !y || cimfw_xbar_init(&xb, &cfg, &clock_ns, 0))
		return 1;
	cimfw_rng_seed(&r, 7, 7);
	for (i = 0; i < DIM * DIM; i++)
		w[i] = uniform_pm1(&r);
	for (i = 0; i < BATCH * DIM; i++)
		x[i] = uniform_pm1(&r);
	a.xb = &xb;
	a.win = (struct cimfw_xbar_win){ 0, DIM, 0, DIM };
	cimfw_xbar_program(&xb, &a.win, w, 10, 0.5 * xb.dg0 * xb.unit_us, &rep,
			   &a.m);
	a.x = x;
	a.w = w;
	a.y = y;

	/* interleave the two so that both see the same machine load */
	tm = ts = 1e9;
	for (i = 0; i < 5; i++) {
		double t1 = bench_time(run_model, &a, 20, 31, 20);
		double t2 = bench_time(run_sgemm, &a, 20, 31, 20);

		tm = t1 < tm ? t1 : tm;
		ts = t2 < ts ? t2 : ts;
	}
	printf("model vmm: %.1f us per batch, %.2f GMAC-equiv/s\n", tm * 1e6,
	       flop / 2 / tm * 1e-9);
	printf("sgemm:     %.1f us per batch, %.2f GFLOP/s\n", ts * 1e6,
	       flop / ts * 1e-9);
	printf("bench vmm: %.2fx of sgemm throughput (target >= 0.5x)\n",
	       ts / tm);
	cimfw_xbar_fini(&xb);
	free(x);
	free(w);
	free(y);
	return 0;
}
