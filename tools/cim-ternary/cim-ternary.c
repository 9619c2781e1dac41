// SPDX-License-Identifier: MIT
/*
 * cim-ternary: ResNet-18 at ImageNet shapes with seeded ternary weights
 * (42% zeros), compiled for the APs of the default device, per layer and
 * in total: additions before and after partial-sum sharing, AP passes,
 * shifts, energy and latency; next to the same network on the device's
 * crossbars under the same cost model and to ISAAC and PUMA.
 *
 * Counting, not simulating, at ImageNet size: the AP program of one row
 * tile does not depend on the pixels, so each layer's program is run
 * bit-true once on a device of the same columns and domains at reduced
 * spatial size (same channels, same weights, uniform random 4-bit inputs)
 * and its measured energy and time per unit are scaled to the ImageNet
 * row tiles and pixels. The bit-true check of every shape is the unit
 * suite's (tests/unit/test_ternary.c).
 *
 * --sweep re-prices the counted events instead of re-simulating: each
 * layer's program is run twice more at reduced size on devices whose cost
 * constants are 1 fJ for one kind of event and 0 for the others, so the
 * counters hold the events themselves (compared bits, match-line row
 * activations, flipped bits written, shift track-steps, I/O bits read and
 * written); the same scaling gives the ImageNet counts, and the AP energy
 * at any write and shift energy is their dot product with the constants.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cimfw.h"
#include "cim_ternary.h"
#include "tnet.h"
#include "tool.h"

static const struct {
	const char *name;
	unsigned int hw, cin, k, cout, stride, pad, count, cal_hw;
} net[] = {
	{ "conv1",   224,   3, 7,   64, 2, 3, 1, 16 },
	{ "conv2_x",  56,  64, 3,   64, 1, 1, 4, 8 },
	{ "conv3_1",  56,  64, 3,  128, 2, 1, 1, 8 },
	{ "conv3_ds", 56,  64, 1,  128, 2, 0, 1, 8 },
	{ "conv3_x",  28, 128, 3,  128, 1, 1, 3, 4 },
	{ "conv4_1",  28, 128, 3,  256, 2, 1, 1, 4 },
	{ "conv4_ds", 28, 128, 1,  256, 2, 0, 1, 4 },
	{ "conv4_x",  14, 256, 3,  256, 1, 1, 3, 4 },
	{ "conv5_1",  14, 256, 3,  512, 2, 1, 1, 4 },
	{ "conv5_ds", 14, 256, 1,  512, 2, 0, 1, 4 },
	{ "conv5_x",   7, 512, 3,  512, 1, 1, 3, 2 },
	{ "fc",        1, 512, 1, 1000, 1, 0, 1, 1 },
};

static const char *const presets[] = { "default", "stt-tcam", "destiny" };

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void usage(FILE *f)
{
	fputs("usage: cim-ternary [resnet] [-p default|stt-tcam|destiny] "
	      "[-g group] [-s seed] [--sweep]\n"
	      "       cim-ternary train [--dataset mnist|fashion] [--epochs N] "
	      "[--seed S] [--limit N] ...\n"
	      "       cim-ternary train --help\n"
	      "\n"
	      "  resnet (the default)  ResNet-18 at ImageNet shapes on the APs:\n"
	      "                        additions, passes, shifts, energy, latency\n"
	      "    -p PRESET           cost preset (default default)\n"
	      "    -g GROUP            partial-sum group, 1..6 (default 4)\n"
	      "    -s SEED             weight seed (default 42)\n"
	      "    --sweep             re-price over AP write and shift energy\n"
	      "  train                 a small ternary CNN trained on MNIST or\n"
	      "                        Fashion-MNIST, run on the APs, checked\n"
	      "                        image for image against software\n", f);
}

/* AP events of one image, counted (see the head comment) */
struct events {
	double cmp_bits, ml_rows, write_bits, shift_steps, io_rd_bits,
	       io_wr_bits;
};

struct totals {
	double macs, plain, shared, passes, shifts, e_ap, t_ap, e_xb, t_xb;
	double e_dac, e_adc;
	struct events ev;
};

/* bits of the activations: a bit-serial crossbar takes as many cycles */
#define ACT_BITS	4

/*
 * Converters of @npix VMMs of a layer with @nin inputs and @nout outputs on
 * tiles_r x tiles_c crossbars, by the convention of the device's VMM
 * (Documentation/model/cost.rst): per input bit-cycle one 1-bit DAC drive
 * per input line of every column tile and one ADC conversion per output
 * column of every row tile; a cycle lasts the longer of the array read and
 * the ADCs' conversions, which overlap the next read. Tiles run in parallel.
 */
static void xbar_converters(const struct cimfw_config *cfg, double npix,
			    double nin, double nout, double tiles_r,
			    double tiles_c, double *e_dac, double *e_adc,
			    double *t)
{
	const struct cimfw_cost_params *k = &cfg->cost;
	double cyc = npix * ACT_BITS;
	double cols = nout < cfg->xbar_cols ? nout : cfg->xbar_cols;

	*e_dac = cyc * tiles_c * nin * k->e_dac_fj;
	*e_adc = cyc * tiles_r * nout * k->e_adc_fj;
	*t = cyc * fmax(k->t_read_ps,
			ceil(cols / k->cols_per_adc) * k->t_adc_ps);
}

/* AP array and I/O energy of @ev at the constants of @c, fJ */
static double price(const struct events *ev, const struct cimfw_cost_params *c)
{
	return ev->cmp_bits * c->e_cmp_bit_fj + ev->ml_rows * c->e_matchline_fj +
	       ev->write_bits * c->e_write_bit_fj +
	       ev->shift_steps * c->e_shift_fj +
	       ev->io_rd_bits * c->e_io_read_bit_fj +
	       ev->io_wr_bits * c->e_io_write_bit_fj;
}

/* Run @lc on a fresh device of @ccfg with input @x; the counters */
static int calib_run(const struct cimfw_config *ccfg,
		     const struct cim_ternary_layer *lc, const uint8_t *x,
		     int32_t *y, struct cim_ternary_run_stats *rs)
{
	struct cim_embedded_options o = { .size = sizeof(o) };
	struct cimfw_config c = *ccfg;
	struct cim_device *dev;
	int r;

	o.config = &c;
	r = cim_device_open_embedded(&dev, &o);
	if (r)
		return r;
	r = cim_ternary_run(lc, dev, x, y, rs);
	cim_device_close(dev);
	return r;
}

/*
 * 1 fJ for each event of one run's kinds and 0 for the others, so that the
 * energy counters count events. Compares and match lines share a counter,
 * and so do I/O reads and writes: they go to different runs.
 */
static void event_costs(struct cimfw_cost_params *cost, bool second)
{
	cost->e_cmp_bit_fj = !second;
	cost->e_write_bit_fj = !second;
	cost->e_shift_fj = !second;
	cost->e_io_read_bit_fj = !second;
	cost->e_matchline_fj = second;
	cost->e_io_write_bit_fj = second;
}

/*
 * Event counting: run A charges 1 fJ per compared bit, flipped bit, track-
 * step and I/O bit read; run B 1 fJ per match-line row and I/O bit written.
 * Scaled as the energies are: per pixel, shifts per row tile.
 */
static int count_events(const struct cimfw_config *ccfg,
			const struct cim_ternary_layer *lc, const uint8_t *x,
			int32_t *y, double pix_scale, double rt,
			struct events *ev)
{
	struct cim_ternary_run_stats a, b;
	struct cimfw_config c = *ccfg;
	int r;

	event_costs(&c.cost, false);
	r = calib_run(&c, lc, x, y, &a);
	if (r)
		return r;
	event_costs(&c.cost, true);
	r = calib_run(&c, lc, x, y, &b);
	if (r)
		return r;
	ev->cmp_bits = a.counters.energy_fj[CIM_UNIT_AP_COMPARE] * pix_scale;
	ev->ml_rows = b.counters.energy_fj[CIM_UNIT_AP_COMPARE] * pix_scale;
	ev->write_bits = a.counters.energy_fj[CIM_UNIT_AP_WRITE] * pix_scale;
	ev->shift_steps = a.counters.energy_fj[CIM_UNIT_AP_SHIFT] * rt;
	ev->io_rd_bits = a.counters.energy_fj[CIM_UNIT_AP_IO] * pix_scale;
	ev->io_wr_bits = b.counters.energy_fj[CIM_UNIT_AP_IO] * pix_scale;
	return 0;
}

static void ev_add(struct events *t, const struct events *e, double m)
{
	t->cmp_bits += m * e->cmp_bits;
	t->ml_rows += m * e->ml_rows;
	t->write_bits += m * e->write_bits;
	t->shift_steps += m * e->shift_steps;
	t->io_rd_bits += m * e->io_rd_bits;
	t->io_wr_bits += m * e->io_wr_bits;
}

/* sweep points, not sourced constants: pJ per flipped bit, per track-step */
static const double sw_write_pj[] = { 0.05, 0.1, 0.2, 0.5, 0.69, 1, 2, 3.4 };
static const double sw_shift_pj[] = { 0.025, 0.05, 0.1, 0.2, 0.61 };
#define NSW_W	(sizeof(sw_write_pj) / sizeof(sw_write_pj[0]))
#define NSW_S	(sizeof(sw_shift_pj) / sizeof(sw_shift_pj[0]))
#define TARGET_RATIO	7.5

static void print_sweep(const struct totals *tot,
			const struct cimfw_cost_params *held, unsigned int preset)
{
	static const char *const bname[] = {
		"ISAAC (5.25 pJ/16-bit MAC, published)",
		"PUMA (2.39 pJ/16-bit MAC, published)",
		"this model's crossbars (same cost model)",
	};
	const struct events *ev = &tot->ev;
	struct cimfw_cost_params c = *held;
	double base[3], fixed, lo;
	unsigned int b, i, j, p;

	base[0] = tot->macs * 5.25e3;	/* fJ */
	base[1] = tot->macs * 2.39e3;
	base[2] = tot->e_xb;
	c.e_write_bit_fj = 0;
	c.e_shift_fj = 0;
	fixed = price(ev, &c);
	printf("\n=== sweep: AP write and shift energy, ResNet-18 (one image) "
	       "===\n");
	printf("counted events (re-priced, not re-simulated): compared bits "
	       "%.4g, match-line rows %.4g,\n  flipped bits written %.4g, "
	       "shift track-steps %.4g, I/O bits read %.4g, written %.4g\n",
	       ev->cmp_bits, ev->ml_rows, ev->write_bits, ev->shift_steps,
	       ev->io_rd_bits, ev->io_wr_bits);
	printf("check: priced at preset %s = %.4f mJ, measured %.4f mJ\n",
	       presets[preset], price(ev, held) * 1e-12, tot->e_ap * 1e-12);
	printf("sourced constants held (preset %s, Documentation/model/"
	       "cost.rst):\n", presets[preset]);
	printf("  compare %.4g fJ/bit (%s), match line %.4g fJ/row "
	       "(assumption, seed2 7.3): %.4f mJ\n", held->e_cmp_bit_fj,
	       preset ? "Govindaraj & Ghosh JETC 2017" :
	       "assumption, seed2 scenario A",
	       held->e_matchline_fj,
	       (ev->cmp_bits * held->e_cmp_bit_fj +
		ev->ml_rows * held->e_matchline_fj) * 1e-12);
	printf("  row I/O read %.4g / write %.4g fJ/bit (RTSim Erd/Ewr "
	       "/ 32): %.4f mJ\n", held->e_io_read_bit_fj,
	       held->e_io_write_bit_fj,
	       (ev->io_rd_bits * held->e_io_read_bit_fj +
		ev->io_wr_bits * held->e_io_write_bit_fj) * 1e-12);
	printf("  fixed part (compare + match line + I/O): %.4f mJ\n",
	       fixed * 1e-12);
	printf("AP energy = fixed + %.4g mJ per pJ/bit of write energy + "
	       "%.4g mJ per pJ/track-step of shift energy\n"
	       "  (and %.4g mJ per fJ/bit of compare energy, %.4g mJ per "
	       "pJ/bit of row I/O)\n",
	       ev->write_bits * 1e-9, ev->shift_steps * 1e-9,
	       ev->cmp_bits * 1e-12,
	       (ev->io_rd_bits + ev->io_wr_bits) * 1e-9);
	printf("baselines: ISAAC %.2f mJ, PUMA %.2f mJ (seed2 section 5: "
	       "published chip efficiency, 16-bit MACs, x %.4g MACs);\n"
	       "  this model's crossbars %.4f mJ (4-bit inputs, ISAAC "
	       "converters; does not depend on the AP constants)\n",
	       base[0] * 1e-12, base[1] * 1e-12, tot->macs, base[2] * 1e-12);
	printf("sweep points (not sourced): write %s pJ/bit; shift %s "
	       "pJ/track-step\n", "0.05 .. 3.4", "0.025 .. 0.61");

	printf("\nAP energy, mJ (rows: write pJ/bit; columns: shift "
	       "pJ/track-step)\n%-8s", "write");
	for (j = 0; j < NSW_S; j++)
		printf(" %9.3g", sw_shift_pj[j]);
	printf("\n");
	for (i = 0; i < NSW_W; i++) {
		printf("%-8.3g", sw_write_pj[i]);
		for (j = 0; j < NSW_S; j++) {
			c.e_write_bit_fj = sw_write_pj[i] * 1e3;
			c.e_shift_fj = sw_shift_pj[j] * 1e3;
			printf(" %9.4f", price(ev, &c) * 1e-12);
		}
		printf("\n");
	}
	for (b = 0; b < 3; b++) {
		printf("\nratio baseline / AP vs %s; * = at or above %.1fx\n"
		       "%-8s", bname[b], TARGET_RATIO, "write");
		for (j = 0; j < NSW_S; j++)
			printf(" %9.3g", sw_shift_pj[j]);
		printf("\n");
		for (i = 0; i < NSW_W; i++) {
			printf("%-8.3g", sw_write_pj[i]);
			for (j = 0; j < NSW_S; j++) {
				double r;

				c.e_write_bit_fj = sw_write_pj[i] * 1e3;
				c.e_shift_fj = sw_shift_pj[j] * 1e3;
				r = base[b] / price(ev, &c);
				printf(" %8.2f%c", r,
				       r >= TARGET_RATIO ? '*' : ' ');
			}
			printf("\n");
		}
		/* where 7.5x falls: write * Nw + shift * Ns = base / 7.5 - fixed */
		lo = base[b] / TARGET_RATIO - fixed;
		if (lo <= 0) {
			printf("%.1fx is out of reach: the fixed part alone is "
			       "%.4f mJ > %.4f mJ\n", TARGET_RATIO,
			       fixed * 1e-12, base[b] / TARGET_RATIO * 1e-12);
			continue;
		}
		printf("%.1fx line: %.4g mJ/pJ x write + %.4g mJ/pJ x shift "
		       "<= %.4f mJ; at zero shift energy write <= %.3g "
		       "pJ/bit, at zero write shift <= %.3g pJ/track-step\n",
		       TARGET_RATIO, ev->write_bits * 1e-9,
		       ev->shift_steps * 1e-9, lo * 1e-12,
		       lo / ev->write_bits * 1e-3,
		       lo / ev->shift_steps * 1e-3);
		for (j = 0; j < NSW_S; j++) {
			double wmax = (lo - ev->shift_steps * sw_shift_pj[j] *
				       1e3) / ev->write_bits * 1e-3;

			if (wmax > 0)
				printf("  shift %.3g pJ: write <= %.3g pJ/bit\n",
				       sw_shift_pj[j], wmax);
			else
				printf("  shift %.3g pJ: out of reach at any "
				       "write energy\n", sw_shift_pj[j]);
		}
	}
	printf("\nnamed presets, each at all its own constants:\n");
	for (p = 0; p < 3; p++) {
		struct cimfw_cost_params pc;
		double e;

		if (cimfw_cost_preset((enum cim_cost_preset)p, &pc))
			continue;
		e = price(ev, &pc);
		printf("  %-9s (grid cell near write %.4g pJ/bit, shift %.4g "
		       "pJ/track-step; compare %.3g fJ/bit): AP %.4f mJ; "
		       "ISAAC %.2fx, PUMA %.2fx, own crossbars %.3fx\n",
		       presets[p],
		       pc.e_write_bit_fj * 1e-3, pc.e_shift_fj * 1e-3,
		       pc.e_cmp_bit_fj, e * 1e-12, base[0] / e, base[1] / e,
		       base[2] / e);
	}
}

static int resnet_main(int argc, char **argv)
{
	struct cim_ternary_target tgt;
	struct cimfw_config cfg;
	struct totals tot = { 0 };
	static const struct option lopts[] = {
		{ "sweep", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int preset = 0, group = 4, i;
	uint32_t seed = 42;
	unsigned long long val;
	int opt, sweep = 0;

	while ((opt = getopt_long(argc, argv, "p:g:s:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'S':
			sweep = 1;
			break;
		case 'p':
			for (preset = 0; preset < 3; preset++)
				if (!strcmp(optarg, presets[preset]))
					break;
			if (preset == 3) {
				fprintf(stderr, "cim-ternary: -p %s: expected "
					"default, stt-tcam or destiny\n",
					optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case 'g':
			/* decimal only, as every option of the tools */
			if (!tool_parse_uint(optarg, 1, CIM_TERNARY_MAX_GROUP,
					     &val)) {
				fprintf(stderr, "cim-ternary: -g %s: expected "
					"1..%d\n", optarg,
					CIM_TERNARY_MAX_GROUP);
				return TOOL_EXIT_USAGE;
			}
			group = (unsigned int)val;
			break;
		case 's':
			if (!tool_parse_uint(optarg, 0, UINT32_MAX, &val)) {
				fprintf(stderr, "cim-ternary: -s %s: expected "
					"0..%u\n", optarg, UINT32_MAX);
				return TOOL_EXIT_USAGE;
			}
			seed = (uint32_t)val;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cim-ternary: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	cimfw_config_default(&cfg);
	cfg.cost_preset = (enum cim_cost_preset)preset;
	if (cimfw_cost_preset(cfg.cost_preset, &cfg.cost))
		return 1;
	tgt.ap_count = cfg.ap_count;
	tgt.ap_rows = cfg.ap_rows;
	tgt.ap_cols = cfg.ap_cols;
	tgt.ap_domains = cfg.ap_domains;
	tgt.ap_group_tracks = cfg.ap_group_tracks;
	printf("ResNet-18, ImageNet shapes, ternary weights (42%% zeros, seed "
	       "%u), 4-bit activations, group %u\n", seed, group);
	printf("AP: %u x %u rows x %u cols, %u domains; cost preset %s "
	       "(Documentation/model/cost.rst)\n", tgt.ap_count, tgt.ap_rows,
	       tgt.ap_cols, tgt.ap_domains, presets[preset]);
	printf("AP energy and time: counted programs, scaled from a bit-true "
	       "run of each layer's program at reduced spatial size; latency "
	       "on one AP, sequential\n");
	printf("crossbar: the same layers on %ux%u crossbars, this cost "
	       "model's VMM (inputs bit-serial, %u cycles: 1-bit DACs, one "
	       "ADC conversion per column and cycle; array at %g set bits "
	       "per input), every tile in its own crossbar\n\n",
	       cfg.xbar_rows, cfg.xbar_cols, ACT_BITS, ACT_BITS / 2.0);
	printf("%-9s %3s %12s %12s %6s %12s %12s %10s %9s %10s %9s\n",
	       "layer", "x", "adds plain", "adds shared", "saved",
	       "AP passes", "track-steps", "AP uJ", "AP ms", "xbar uJ",
	       "xbar ms");
	for (i = 0; i < sizeof(net) / sizeof(net[0]); i++) {
		struct cim_ternary_desc d = {
			.in_h = net[i].hw, .in_w = net[i].hw,
			.cin = net[i].cin, .cout = net[i].cout, .k = net[i].k,
			.stride = net[i].stride, .pad = net[i].pad,
			.group = group,
		};
		struct cim_ternary_desc dc = d;
		struct cim_embedded_options o = { .size = sizeof(o) };
		struct cimfw_config ccfg = cfg;
		struct cim_ternary_layer *l, *lc;
		struct cim_ternary_target ct = tgt;
		struct cim_ternary_run_stats rs;
		const struct cim_ternary_stats *st, *sc;
		struct cim_device *dev;
		size_t nw = (size_t)d.cout * d.k * d.k * d.cin, nx, j;
		uint32_t s = seed + i;
		int8_t *w = malloc(nw);
		uint8_t *x;
		int32_t *y;
		unsigned int oh, ow, ohc, owc;
		double npix, npc, rt, e_ap, t_ap, e_xb, t_xb, sets, cells;
		double e_io, t_io, tiles_r, tiles_c, m = net[i].count;
		double e_dac, e_adc;
		int r;

		if (!w)
			return 1;
		for (j = 0; j < nw; j++) {
			uint32_t v = rnd(&s) % 100;

			w[j] = v < 42 ? 0 : (v < 71 ? 1 : -1);
		}
		r = cim_ternary_compile(&d, w, &tgt, &l);
		if (r) {
			fprintf(stderr, "%s: compile: %s\n", net[i].name,
				strerror(-r));
			return 1;
		}
		st = cim_ternary_stats(l);
		cim_ternary_out_dims(l, &oh, &ow);
		npix = (double)oh * ow;
		/* the same program on a small device: 64 rows, same columns */
		dc.in_h = dc.in_w = net[i].cal_hw;
		ct.ap_rows = 64;
		ccfg.ap_rows = 64;
		o.config = &ccfg;
		r = cim_device_open_embedded(&dev, &o);
		if (!r)
			r = cim_ternary_compile(&dc, w, &ct, &lc);
		if (r) {
			fprintf(stderr, "%s: calibration: %s\n", net[i].name,
				strerror(-r));
			return 1;
		}
		sc = cim_ternary_stats(lc);
		cim_ternary_out_dims(lc, &ohc, &owc);
		npc = (double)ohc * owc;
		nx = (size_t)dc.in_h * dc.in_w * dc.cin;
		x = malloc(nx);
		y = malloc((size_t)ohc * owc * d.cout * sizeof(*y));
		if (!x || !y)
			return 1;
		for (j = 0; j < nx; j++)
			x[j] = rnd(&s) & 15;
		r = cim_ternary_run(lc, dev, x, y, &rs);
		if (r || sc->compares != st->compares / st->row_tiles) {
			fprintf(stderr, "%s: calibration run: %s\n",
				net[i].name, r ? strerror(-r) :
				"programs differ");
			return 1;
		}
		rt = st->row_tiles;
		if (sweep) {
			struct events ev;

			r = count_events(&ccfg, lc, x, y, npix / npc, rt, &ev);
			if (r) {
				fprintf(stderr, "%s: event count: %s\n",
					net[i].name, strerror(-r));
				return 1;
			}
			if (fabs(ev.shift_steps - (double)st->shift_steps) >
			    1e-6 * (double)st->shift_steps) {
				fprintf(stderr, "%s: counted %.0f track-steps, "
					"compiler %" PRIu64 "\n", net[i].name,
					ev.shift_steps, st->shift_steps);
				return 1;
			}
			ev_add(&tot.ev, &ev, m);
		}
		/* per-row units scale with pixels, per-program ones with tiles */
		e_io = rs.counters.energy_fj[CIM_UNIT_AP_IO] * npix / npc;
		t_io = rs.counters.busy_ps[CIM_UNIT_AP_IO] * npix / npc;
		e_ap = (rs.counters.energy_fj[CIM_UNIT_AP_COMPARE] +
			rs.counters.energy_fj[CIM_UNIT_AP_WRITE]) * npix / npc +
		       rs.counters.energy_fj[CIM_UNIT_AP_SHIFT] * rt + e_io;
		t_ap = (rs.counters.busy_ps[CIM_UNIT_AP_COMPARE] +
			rs.counters.busy_ps[CIM_UNIT_AP_WRITE] +
			rs.counters.busy_ps[CIM_UNIT_AP_SHIFT]) * rt + t_io;
		/* crossbars: per pixel one VMM per tile */
		tiles_r = ceil((double)d.k * d.k * d.cin / cfg.xbar_rows);
		tiles_c = ceil((double)d.cout / cfg.xbar_cols);
		cells = (double)st->nonzero;	/* +-1: one pair at G_max */
		sets = ACT_BITS / 2.0;	/* mean set bits of an input */
		xbar_converters(&cfg, npix, (double)d.k * d.k * d.cin, d.cout,
				tiles_r, tiles_c, &e_dac, &e_adc, &t_xb);
		e_xb = e_dac + e_adc +
		       npix * sets * cfg.cost.v_read * cfg.cost.v_read *
		       cfg.cost.t_read_ps * 1e-3 *
		       (cells * (cfg.g_max_us + cfg.g_min_us) +
			((double)nw - cells) * 2 * cfg.g_min_us);
		printf("%-9s %3u %12.4g %12.4g %5.1f%% %12.4g %12.4g %10.2f "
		       "%9.3f %10.2f %9.3f\n", net[i].name, net[i].count,
		       (double)st->adds_plain,
		       (double)(st->adds_build + st->adds_term),
		       100.0 * (1.0 - (double)(st->adds_build + st->adds_term) /
				(double)st->adds_plain),
		       (double)(st->compares + st->writes),
		       (double)st->shift_steps, e_ap * 1e-9, t_ap * 1e-9,
		       e_xb * 1e-9, t_xb * 1e-9);
		tot.macs += m * st->macs;
		tot.plain += m * st->adds_plain;
		tot.shared += m * (st->adds_build + st->adds_term);
		tot.passes += m * (st->compares + st->writes);
		tot.shifts += m * st->shift_steps;
		tot.e_ap += m * e_ap;
		tot.t_ap += m * t_ap;
		tot.e_xb += m * e_xb;
		tot.t_xb += m * t_xb;
		tot.e_dac += m * e_dac;
		tot.e_adc += m * e_adc;
		free(x);
		free(y);
		free(w);
		cim_ternary_destroy(l);
		cim_ternary_destroy(lc);
		cim_device_close(dev);
	}
	printf("%-9s %3s %12.4g %12.4g %5.1f%% %12.4g %12.4g %10.2f %9.3f "
	       "%10.2f %9.3f\n", "total", "", tot.plain, tot.shared,
	       100.0 * (1.0 - tot.shared / tot.plain), tot.passes, tot.shifts,
	       tot.e_ap * 1e-9, tot.t_ap * 1e-9, tot.e_xb * 1e-9,
	       tot.t_xb * 1e-9);
	printf("\nMACs %.4g; AP %.3f mJ vs this model's crossbars %.3f mJ: "
	       "%.2fx\n", tot.macs, tot.e_ap * 1e-12, tot.e_xb * 1e-12,
	       tot.e_xb / tot.e_ap);
	printf("crossbars by unit: DAC %.2f uJ (%.1f%%), ADC %.2f uJ "
	       "(%.1f%%), array %.2f uJ (%.1f%%)\n", tot.e_dac * 1e-9,
	       100.0 * tot.e_dac / tot.e_xb, tot.e_adc * 1e-9,
	       100.0 * tot.e_adc / tot.e_xb,
	       (tot.e_xb - tot.e_dac - tot.e_adc) * 1e-9,
	       100.0 * (tot.e_xb - tot.e_dac - tot.e_adc) / tot.e_xb);
	printf("published (research note section 5, 16-bit MACs): ISAAC "
	       "5.25 pJ/MAC = %.2f mJ (%.2fx), PUMA 2.39 pJ/MAC = %.2f mJ "
	       "(%.2fx)\n", tot.macs * 5.25e-9, tot.macs * 5.25e3 / tot.e_ap,
	       tot.macs * 2.39e-9, tot.macs * 2.39e3 / tot.e_ap);
	if (sweep)
		print_sweep(&tot, &cfg.cost, preset);
	return 0;
}

int main(int argc, char **argv)
{
	/* getopt's own errors ("unrecognized option") start with argv[0] */
	static char train_name[] = "cim-ternary train";
	static char resnet_name[] = "cim-ternary resnet";

	if (argc > 1 && !strcmp(argv[1], "train")) {
		argv[1] = train_name;
		return tnet_train_main(argc - 1, argv + 1);
	}
	if (argc > 1 && !strcmp(argv[1], "resnet")) {
		argv[1] = resnet_name;
		return resnet_main(argc - 1, argv + 1);
	}
	if (argc > 1 && argv[1][0] != '-') {
		fprintf(stderr, "cim-ternary: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	return resnet_main(argc, argv);
}
