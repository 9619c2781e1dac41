/* SPDX-License-Identifier: MIT */
/*
 * The firmware model of the cim chip: a plain C11 library with no QEMU
 * dependency. The QEMU device and libcim's embedded backend both drive it
 * with the command buffers of include/cim_hw.h.
 *
 * Threading: one struct cimfw is used by one thread at a time; distinct
 * instances are independent.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMFW_H
#define CIMFW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cim_hw.h"

/**
 * struct cimfw_cost_params - every cost constant of the model
 *
 * Energies are in femtojoules, times in picoseconds, unless the name says
 * otherwise. Documentation/model/cost.rst gives the source of each default.
 */
struct cimfw_cost_params {
	/* crossbar */
	double v_read;			/* volts */
	double t_read_ps;		/* one input bit on the rows */
	double e_dac_fj;		/* per conversion */
	double e_adc_fj;		/* per conversion */
	double t_adc_ps;		/* per conversion */
	unsigned int cols_per_adc;	/* columns sharing one ADC */
	double e_pulse_fj;		/* per device pulse */
	double t_pulse_ps;		/* per pulse, columns in parallel */
	double e_duu_mac_fj;		/* per 16-bit multiply-accumulate */
	double e_duu_acc_fj;		/* per cell and update: sum into chi */
	double duu_macs_per_ns;		/* DUU throughput */
	double t_verify_read_ps;	/* one write-verify read */
	/* associative processor */
	double e_cmp_bit_fj;		/* per unmasked bit and active row */
	double e_matchline_fj;		/* per active row and compare */
	double t_cmp_ps;
	double e_write_bit_fj;		/* per bit that flips */
	double t_write_ps;
	double e_shift_fj;		/* per track and domain step */
	double t_shift_ps;		/* per domain step */
	double e_io_read_bit_fj;
	double e_io_write_bit_fj;
	double t_io_read_ps;		/* per row */
	double t_io_write_ps;		/* per row */
	double e_tag_row_fj;		/* tag count, per row */
	double t_tag_level_ps;		/* per adder-tree level */
};

/**
 * struct cimfw_config - geometry, physics and costs of one device
 *
 * Fill it with cimfw_config_default() and change what you need; the model
 * rejects values outside the architectural limits of cim_hw.h.
 */
struct cimfw_config {
	uint64_t seed;			/* device variation and noise */
	/* geometry */
	unsigned int xbar_count;
	unsigned int xbar_rows;
	unsigned int xbar_cols;
	unsigned int levels;		/* conductance levels per device */
	unsigned int dac_bits;
	unsigned int adc_bits;
	unsigned int ap_count;
	unsigned int ap_rows;
	unsigned int ap_cols;		/* bit-columns (racetracks per row) */
	unsigned int ap_domains;	/* domains per racetrack */
	unsigned int ap_group_tracks;	/* tracks shifting together */
	/*
	 * Crossbar physics: cimfw_device_preset() fills them from the
	 * sources of Documentation/model/devices.rst. Conductances are the
	 * nominal ones; every device deviates from them by its own amount.
	 */
	enum cim_device_preset device;	/* where the values came from */
	double g_min_us;		/* microsiemens */
	double g_max_us;
	double gamma;			/* soft-bound non-linearity, 0..1 */
	double sigma_d2d;		/* device-to-device step spread */
	double sigma_c2c;		/* cycle-to-cycle step spread */
	double sigma_range;		/* device-to-device spread of G_min and
					 * G_max, / (G_max - G_min) */
	double prog_noise_us;		/* each pulse lands off by this, uS */
	double g_read_noise_us;		/* one verify read's noise, uS */
	double read_noise;		/* VMM output noise / ADC full scale */
	double relax_nu;		/* relaxation exponent; 0: none */
	double relax_nu_sigma;		/* its spread per programming */
	double relax_sigma_us;		/* random relaxation per decade, uS */
	double relax_t0_s;		/* the power law's reference time */
	double stuck_prob;		/* probability a device is stuck */
	/* costs */
	enum cim_cost_preset cost_preset;
	struct cimfw_cost_params cost;	/* filled from the preset */
};

struct cimfw;

/**
 * struct cimfw_dma - how the model reaches memory named by bus addresses
 * @opaque: passed back to the callbacks
 * @read: copy @len bytes at bus address @addr to @dst; 0 or -errno
 * @write: copy @len bytes from @src to bus address @addr; 0 or -errno
 * @map: optional, for memory the model's process can address (the
 *       runtime's embedded backend): a pointer to the @len bytes at @addr,
 *       valid while the job runs, or NULL, in which case the model copies
 *       through @read and @write as usual
 * @aborted: optional: asked between packets (before each packet but the
 *           first), and between groups of 16 instructions of an
 *           AP_PROGRAM; true stops the job there with CIM_ST_ABORTED (the
 *           QEMU device's ABORT_SEQNO, and its resets). NULL never aborts. It runs on the
 *           thread that executes the job, so a request made by another
 *           thread (a register write) must reach it through an atomic
 *
 * A failing callback fails the packet with CIM_ST_DMA; the model never
 * touches memory it was not given through these. What the model reads
 * through @map it checks as it would a copy, and it writes there only
 * what it would have written through @write.
 */
struct cimfw_dma {
	void *opaque;
	int (*read)(void *opaque, uint64_t addr, void *dst, size_t len);
	int (*write)(void *opaque, uint64_t addr, const void *src, size_t len);
	void *(*map)(void *opaque, uint64_t addr, size_t len);
	bool (*aborted)(void *opaque);
};

void cimfw_config_default(struct cimfw_config *cfg);
/*
 * Set the crossbar physics of @cfg (levels and the fields from @device
 * to @stuck_prob) to the sourced values of @preset; 0 or -EINVAL.
 */
int cimfw_device_preset(enum cim_device_preset preset,
			struct cimfw_config *cfg);
/*
 * Zero the noise fields of @cfg (read_noise, sigma_c2c, prog_noise_us,
 * g_read_noise_us, relax_nu_sigma, relax_sigma_us): cim-pci's noise=off
 */
void cimfw_config_no_noise(struct cimfw_config *cfg);
/* Zero sigma_d2d, sigma_range and stuck_prob: cim-pci's variation=off */
void cimfw_config_no_variation(struct cimfw_config *cfg);
/* "bulk-rram", "filamentary-rram", "pcm", "custom"; NULL if unknown */
const char *cimfw_device_preset_name(enum cim_device_preset preset);
/* the preset named @name into *@preset: 0, or -EINVAL */
int cimfw_device_preset_parse(const char *name,
			      enum cim_device_preset *preset);
int cimfw_cost_preset(enum cim_cost_preset preset,
		       struct cimfw_cost_params *cost);
int cimfw_config_check(const struct cimfw_config *cfg);

/* 0 and *out set, or -EINVAL (bad config) or -ENOMEM; caller destroys */
int cimfw_create(const struct cimfw_config *cfg, struct cimfw **out);
void cimfw_destroy(struct cimfw *fw);
const struct cimfw_config *cimfw_config(const struct cimfw *fw);

/*
 * Device reset: every cell back to G_min, every accumulator and AP array
 * cleared, counters zeroed, noise streams re-seeded. Variation stays: it
 * belongs to the silicon.
 */
void cimfw_reset(struct cimfw *fw);

/*
 * Execute one command buffer, already copied out of bus memory, packet by
 * packet. Stops at the first failing packet, or before the next packet
 * (or AP instruction group) when @dma->aborted says so (CIM_ST_ABORTED,
 * error_offset that packet's, error_field 0xffffffff; what ran stays done
 * and charged). Always fills
 * @done and returns its status (enum cim_status); never crashes on any
 * input.
 */
int cimfw_execute(struct cimfw *fw, const void *cmdbuf, size_t size,
		   const struct cimfw_dma *dma,
		   struct cim_job_completion *done);

void cimfw_counters(const struct cimfw *fw, struct cim_counters *out);
void cimfw_counters_reset(struct cimfw *fw);

const char *cimfw_status_name(int status);

/*
 * The worker pool: one per process, the model's bulk loops (VMM, DUU) and
 * libcim's layers (im2col, col2im) share it, so that they never compete
 * for the cores with pools of their own. A loop is cut into parts that
 * never share an output; when every value is the same whichever part
 * computes it, the results do not depend on the thread count (the unit
 * tests check the model's and the layers').
 */
#define CIMFW_PAR_MAX	8	/* parts of one loop, threads of the pool */

typedef void cimfw_par_fn(void *arg, unsigned int part, unsigned int nparts);

/*
 * The number of parts for a loop of @work units (about one multiply-add
 * each): 1 below a size where handing work to a thread costs more than
 * it saves, else the pool's thread count (at most CIMFW_PAR_MAX).
 */
unsigned int cimfw_par_parts(double work);

/*
 * Call @fn(@arg, p, @nparts) for every p < @nparts, the caller taking
 * part 0, and return when all have returned. Runs every part in the
 * caller when @nparts is 1, when the pool cannot start, or when another
 * thread is using it.
 */
void cimfw_par_run(unsigned int nparts, cimfw_par_fn *fn, void *arg);

/* [@part, @part + 1) of @n items cut in @nparts: the first index */
static inline size_t cimfw_par_first(size_t n, unsigned int part,
				     unsigned int nparts)
{
	return n * part / nparts;
}

/*
 * Threads of the pool, the caller included: 0 restores the default, the
 * environment's CIM_FW_THREADS or else the online CPUs (at most
 * CIMFW_PAR_MAX). Not while a loop runs. Returns the count now in force.
 */
unsigned int cimfw_par_set_threads(unsigned int n);

/*
 * Seeded random streams: xoshiro256** seeded through splitmix64, one
 * independent stream per (seed, stream id), with integer and IEEE basic
 * arithmetic only, so every machine draws the same bits. The model draws
 * its variation and noise from them; tools use them for reproducible
 * inputs.
 */
struct cimfw_rng {
	uint64_t s[4];
};

void cimfw_rng_seed(struct cimfw_rng *rng, uint64_t seed, uint64_t stream);
uint64_t cimfw_rng_next(struct cimfw_rng *rng);
/* uniform in [0, 1) with 53 random bits */
double cimfw_rng_uniform(struct cimfw_rng *rng);

#endif /* CIMFW_H */
