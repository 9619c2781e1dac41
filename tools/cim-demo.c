// SPDX-License-Identifier: MIT
/*
 * cim-demo: a short tour of the firmware model through its command buffers.
 *
 * Programs a crossbar with write-verify, compares analog VMMs with a float
 * reference, trains a small linear layer with the digital update unit, adds
 * vectors on an associative processor, and prints what each unit cost.
 *
 * Usage: cim-demo [--seed N]
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cimfw.h"

#define MEM_BASE	0x100000000ull
#define MEM_SIZE	(8u << 20)
#define CMD_SIZE	(1u << 20)

/* Bus memory the model reaches through its DMA callbacks. */
struct demo_mem {
	uint8_t *bytes;
	size_t used;
};

static int mem_range(struct demo_mem *m, uint64_t addr, size_t len,
		     uint8_t **p)
{
	if (addr < MEM_BASE || addr - MEM_BASE > MEM_SIZE ||
	    len > MEM_SIZE - (addr - MEM_BASE))
		return -EFAULT;
	*p = m->bytes + (addr - MEM_BASE);
	return 0;
}

static int mem_read(void *opaque, uint64_t addr, void *dst, size_t len)
{
	uint8_t *p;
	int ret = mem_range(opaque, addr, len, &p);

	if (!ret)
		memcpy(dst, p, len);
	return ret;
}

static int mem_write(void *opaque, uint64_t addr, const void *src, size_t len)
{
	uint8_t *p;
	int ret = mem_range(opaque, addr, len, &p);

	if (!ret)
		memcpy(p, src, len);
	return ret;
}

/* Bump allocation of 64-byte aligned bus memory; the demo never frees. */
static uint64_t mem_alloc(struct demo_mem *m, size_t len, void **cpu)
{
	size_t off = (m->used + 63) & ~(size_t)63;

	if (off + len > MEM_SIZE) {
		fprintf(stderr, "cim-demo: out of bus memory\n");
		exit(EXIT_FAILURE);
	}
	m->used = off + len;
	*cpu = m->bytes + off;
	return MEM_BASE + off;
}

struct demo {
	struct cimfw *fw;
	struct demo_mem mem;
	struct cimfw_dma dma;
	uint8_t cmd[CMD_SIZE];
	size_t cmd_len;
};

static void *pkt(struct demo *d, uint16_t opcode, uint16_t flags, size_t size)
{
	struct cim_pkt_hdr *h = (struct cim_pkt_hdr *)(d->cmd + d->cmd_len);

	memset(h, 0, size);
	h->opcode = opcode;
	h->flags = flags;
	h->size = (uint32_t)size;
	d->cmd_len += size;
	return h;
}

static void run(struct demo *d, const char *what)
{
	struct cim_job_completion done;
	int st = cimfw_execute(d->fw, d->cmd, d->cmd_len, &d->dma, &done);

	d->cmd_len = 0;
	if (st != CIM_ST_OK) {
		fprintf(stderr, "cim-demo: %s failed: %s at packet offset %u\n",
			what, cimfw_status_name(st), done.error_offset);
		exit(EXIT_FAILURE);
	}
}

static uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static void window(struct cim_pkt_xbar_window *w, uint32_t xbar,
		   unsigned int nrows, unsigned int ncols)
{
	w->xbar = xbar;
	w->row = 0;
	w->nrows = (uint16_t)nrows;
	w->col = 0;
	w->ncols = (uint16_t)ncols;
}

static void vmm(struct demo *d, uint16_t op, uint32_t xbar, unsigned int rows,
		unsigned int cols, unsigned int batch, uint64_t x, uint64_t y)
{
	struct cim_pkt_vmm *p = pkt(d, op, 0, sizeof(*p));

	window(&p->win, xbar, rows, cols);
	p->batch = batch;
	p->x = x;
	p->y = y;
}

/* y = x W for a row-major rows x cols W, batch vectors */
static void matmul(const float *x, const float *w, float *y,
		   unsigned int batch, unsigned int rows, unsigned int cols)
{
	unsigned int b, i, j;

	for (b = 0; b < batch; b++)
		for (j = 0; j < cols; j++) {
			double s = 0;

			for (i = 0; i < rows; i++)
				s += (double)x[b * rows + i] * w[i * cols + j];
			y[b * cols + j] = (float)s;
		}
}

static double rel_rms(const float *got, const float *ref, size_t n)
{
	double e = 0, r = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		e += (got[i] - ref[i]) * (double)(got[i] - ref[i]);
		r += ref[i] * (double)ref[i];
	}
	return r > 0 ? sqrt(e / r) : 0.0;
}

static void fill_uniform(struct cimfw_rng *r, float *v, size_t n, float a)
{
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = (float)((2.0 * cimfw_rng_uniform(r) - 1.0) * a);
}

enum { ROWS = 256, COLS = 64, BATCH = 32 };

static void demo_crossbar(struct demo *d, struct cimfw_rng *r)
{
	struct cim_pkt_xbar_program *pp;
	struct cim_program_report *rep;
	float *w, *x, *y, *ref, *wt, *xt, *yt, *reft;
	uint64_t bw, brep, bx, by, bxt, byt;
	unsigned int i, j;

	bw = mem_alloc(&d->mem, sizeof(float) * ROWS * COLS, (void **)&w);
	brep = mem_alloc(&d->mem, sizeof(*rep), (void **)&rep);
	bx = mem_alloc(&d->mem, sizeof(float) * BATCH * ROWS, (void **)&x);
	by = mem_alloc(&d->mem, sizeof(float) * BATCH * COLS, (void **)&y);
	bxt = mem_alloc(&d->mem, sizeof(float) * BATCH * COLS, (void **)&xt);
	byt = mem_alloc(&d->mem, sizeof(float) * BATCH * ROWS, (void **)&yt);
	ref = malloc(sizeof(float) * BATCH * ROWS);
	reft = malloc(sizeof(float) * BATCH * ROWS);
	wt = malloc(sizeof(float) * ROWS * COLS);
	if (!ref || !reft || !wt)
		exit(EXIT_FAILURE);

	fill_uniform(r, w, ROWS * COLS, 0.8f);
	pp = pkt(d, CIM_OP_XBAR_PROGRAM, CIM_PROGRAM_F_REPORT, sizeof(*pp));
	window(&pp->win, 0, ROWS, COLS);
	pp->max_iters = 16;
	pp->tolerance_f32 = f32_bits(0.5f);
	pp->src = bw;
	pp->report = brep;
	run(d, "program");
	printf("write-verify   %u cells, %u outside 0.5 level after 16 tries, "
	       "%u pulses, %.2f tries per device\n", rep->cells, rep->failed,
	       rep->pulses, rep->iterations / (2.0 * rep->cells));

	fill_uniform(r, x, BATCH * ROWS, 1.0f);
	fill_uniform(r, xt, BATCH * COLS, 1.0f);
	vmm(d, CIM_OP_VMM_FWD, 0, ROWS, COLS, BATCH, bx, by);
	vmm(d, CIM_OP_VMM_TRANS, 0, ROWS, COLS, BATCH, bxt, byt);
	run(d, "vmm");
	for (i = 0; i < ROWS; i++)
		for (j = 0; j < COLS; j++)
			wt[j * ROWS + i] = w[i * COLS + j];
	matmul(x, w, ref, BATCH, ROWS, COLS);
	matmul(xt, wt, reft, BATCH, COLS, ROWS);
	printf("forward VMM    %ux%u, batch %u: relative RMS error %.3f "
	       "against float\n", ROWS, COLS, BATCH,
	       rel_rms(y, ref, BATCH * COLS));
	printf("transposed VMM %ux%u, batch %u: relative RMS error %.3f\n",
	       COLS, ROWS, BATCH, rel_rms(yt, reft, BATCH * ROWS));
	free(ref);
	free(reft);
	free(wt);
}

enum { IN = 64, OUT = 16, STEPS = 300 };

/* Learn a random linear map on crossbar 1: forward VMM, error, DUU update. */
static void demo_training(struct demo *d, struct cimfw_rng *r)
{
	struct cim_pkt_duu_update *u;
	struct cim_duu_report *rep;
	float teacher[IN * OUT], want[BATCH * OUT];
	float *x, *y, *err;
	uint64_t bx, by, berr, brep;
	unsigned long pulses = 0;
	unsigned int step, k;

	bx = mem_alloc(&d->mem, sizeof(float) * BATCH * IN, (void **)&x);
	by = mem_alloc(&d->mem, sizeof(float) * BATCH * OUT, (void **)&y);
	berr = mem_alloc(&d->mem, sizeof(float) * BATCH * OUT, (void **)&err);
	brep = mem_alloc(&d->mem, sizeof(*rep), (void **)&rep);
	fill_uniform(r, teacher, IN * OUT, 0.5f);

	printf("training       %ux%u linear layer on crossbar 1, batch %u\n",
	       IN, OUT, BATCH);
	for (step = 0; step <= STEPS; step++) {
		double mse = 0, energy = 0;

		fill_uniform(r, x, BATCH * IN, 1.0f);
		matmul(x, teacher, want, BATCH, IN, OUT);
		vmm(d, CIM_OP_VMM_FWD, 1, IN, OUT, BATCH, bx, by);
		run(d, "forward");
		for (k = 0; k < BATCH * OUT; k++) {
			err[k] = (y[k] - want[k]) / BATCH;
			mse += (double)(y[k] - want[k]) * (y[k] - want[k]);
		}
		if (step % 50 == 0) {
			struct cim_counters c;

			cimfw_counters(d->fw, &c);
			for (k = 0; k < CIM_UNIT_COUNT; k++)
				energy += (double)c.energy_fj[k];
			printf("  step %3u  mse %.4f  pulses %6lu  energy "
			       "%.1f nJ\n", step, mse / (BATCH * OUT), pulses,
			       energy * 1e-6);
		}
		u = pkt(d, CIM_OP_DUU_UPDATE, CIM_DUU_F_REPORT, sizeof(*u));
		window(&u->win, 1, IN, OUT);
		u->batch = BATCH;
		u->lr_f32 = f32_bits(0.1f);
		u->n_max = 31;
		u->x = bx;
		u->d = berr;
		u->report = brep;
		run(d, "update");
		pulses += rep->pulses_pos + rep->pulses_neg;
	}
}

enum { AP_ROWS_USED = 1024, A_BITS = 8, B_BITS = 16 };

static void demo_ap(struct demo *d, struct cimfw_rng *r)
{
	struct cim_pkt_ap_rows *p;
	struct cim_pkt_ap_program *prog;
	uint64_t *a, *b, *out, ba, bb, bout;
	uint64_t want[AP_ROWS_USED];
	unsigned int i, bad = 0;

	ba = mem_alloc(&d->mem, 8 * AP_ROWS_USED, (void **)&a);
	bb = mem_alloc(&d->mem, 8 * AP_ROWS_USED, (void **)&b);
	bout = mem_alloc(&d->mem, 8 * AP_ROWS_USED, (void **)&out);
	for (i = 0; i < AP_ROWS_USED; i++) {
		a[i] = cimfw_rng_next(r) & ((1u << A_BITS) - 1);
		b[i] = cimfw_rng_next(r) & ((1u << B_BITS) - 1);
		want[i] = (a[i] + b[i]) & ((1u << B_BITS) - 1);
	}
	p = pkt(d, CIM_OP_AP_LOAD_ROWS, 0, sizeof(*p));
	p->nrows = AP_ROWS_USED;
	p->ncols = A_BITS;
	p->addr = ba;
	p = pkt(d, CIM_OP_AP_LOAD_ROWS, 0, sizeof(*p));
	p->nrows = AP_ROWS_USED;
	p->col = A_BITS;
	p->ncols = B_BITS;
	p->addr = bb;
	prog = pkt(d, CIM_OP_AP_PROGRAM, 0, sizeof(*prog) + sizeof(prog->inst[0]));
	prog->ninst = 1;
	prog->inst[0].op = CIM_AP_ADD;
	prog->inst[0].w[0] = 0;
	prog->inst[0].w[1] = A_BITS;
	prog->inst[0].w[2] = A_BITS;
	prog->inst[0].w[3] = B_BITS;
	prog->inst[0].w[4] = A_BITS + B_BITS;
	p = pkt(d, CIM_OP_AP_READ, 0, sizeof(*p));
	p->what = CIM_AP_READ_ROWS;
	p->nrows = AP_ROWS_USED;
	p->col = A_BITS;
	p->ncols = B_BITS;
	p->addr = bout;
	run(d, "ap");
	for (i = 0; i < AP_ROWS_USED; i++)
		bad += out[i] != want[i];
	printf("AP add         %u rows, %u-bit into %u-bit, word-parallel: "
	       "%u mismatches against integers\n", AP_ROWS_USED, A_BITS,
	       B_BITS, bad);
	if (bad)
		exit(EXIT_FAILURE);
}

static const char *const unit_names[CIM_UNIT_COUNT] = {
	"crossbar array", "DAC", "ADC", "device pulses", "DUU",
	"AP compare", "AP write", "AP shift", "AP row I/O", "AP tags",
};

static void print_counters(struct demo *d)
{
	struct cim_counters c;
	unsigned int u;

	cimfw_counters(d->fw, &c);
	printf("\ncounters: %llu jobs, %llu forward and %llu transposed "
	       "vectors, %llu ADC conversions (%llu clipped),\n          "
	       "%llu + %llu DUU pulses, %llu AP compares, %llu AP writes\n",
	       c.jobs, c.vmm_fwd, c.vmm_trans, c.adc_conversions,
	       c.adc_saturations, c.pulses_pos, c.pulses_neg, c.ap_compares,
	       c.ap_writes);
	printf("%-16s %14s %14s\n", "unit", "energy (nJ)", "busy (us)");
	for (u = 0; u < CIM_UNIT_COUNT; u++)
		printf("%-16s %14.3f %14.3f\n", unit_names[u],
		       c.energy_fj[u] * 1e-6, c.busy_ps[u] * 1e-6);
	printf("modelled device time %.3f ms\n", c.device_time_ps * 1e-9);
}

int main(int argc, char **argv)
{
	static struct demo d;
	struct cimfw_config cfg;
	struct cimfw_rng r;
	int ret;

	cimfw_config_default(&cfg);
	if (argc == 3 && !strcmp(argv[1], "--seed")) {
		cfg.seed = strtoull(argv[2], NULL, 0);
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--seed N]\n", argv[0]);
		return EXIT_FAILURE;
	}
	d.mem.bytes = calloc(1, MEM_SIZE);
	if (!d.mem.bytes)
		return EXIT_FAILURE;
	d.dma = (struct cimfw_dma){
		.opaque = &d.mem, .read = mem_read, .write = mem_write,
	};
	ret = cimfw_create(&cfg, &d.fw);
	if (ret) {
		fprintf(stderr, "cim-demo: cannot create device: %s\n",
			strerror(-ret));
		return EXIT_FAILURE;
	}
	printf("cim firmware model: %u crossbars of %ux%u, %u levels "
	       "(%.0f-%.0f uS), DAC/ADC %u/%u bits, %u APs of %ux%u, seed %llu\n\n", cfg.xbar_count, cfg.xbar_rows, cfg.xbar_cols,
	       cfg.levels, cfg.g_min_us, cfg.g_max_us, cfg.dac_bits,
	       cfg.adc_bits, cfg.ap_count, cfg.ap_rows, cfg.ap_cols,
	       (unsigned long long)cfg.seed);
	cimfw_rng_seed(&r, cfg.seed, 0xdec0);
	demo_crossbar(&d, &r);
	demo_training(&d, &r);
	demo_ap(&d, &r);
	print_counters(&d);
	cimfw_destroy(d.fw);
	free(d.mem.bytes);
	return EXIT_SUCCESS;
}
