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
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cim_fw.h"
#include "cim_ternary.h"

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
	fprintf(f, "usage: cim-ternary [-p default|stt-tcam|destiny] [-g group] "
		"[-s seed]\n");
}

struct totals {
	double macs, plain, shared, passes, shifts, e_ap, t_ap, e_xb, t_xb;
};

int main(int argc, char **argv)
{
	struct cim_ternary_target tgt;
	struct cim_fw_config cfg;
	struct totals tot = { 0 };
	unsigned int preset = 0, group = 4, i;
	uint32_t seed = 42;
	int opt;

	while ((opt = getopt(argc, argv, "p:g:s:h")) != -1) {
		switch (opt) {
		case 'p':
			for (preset = 0; preset < 3; preset++)
				if (!strcmp(optarg, presets[preset]))
					break;
			if (preset == 3) {
				usage(stderr);
				return 2;
			}
			break;
		case 'g':
			group = (unsigned int)atoi(optarg);
			break;
		case 's':
			seed = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	cim_fw_config_default(&cfg);
	cfg.cost_preset = (enum cim_cost_preset)preset;
	if (cim_fw_cost_preset(cfg.cost_preset, &cfg.cost))
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
	       "model's VMM (DAC + ADC + array at 2 set bits per 4-bit "
	       "input), every tile in its own crossbar\n\n",
	       cfg.xbar_rows, cfg.xbar_cols);
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
		struct cim_fw_config ccfg = cfg;
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
		sets = 2.0;			/* mean set bits, 4-bit input */
		e_xb = npix * (tiles_c * (double)d.k * d.k * d.cin *
			       cfg.cost.e_dac_fj + tiles_r * d.cout *
			       cfg.cost.e_adc_fj +
			       sets * cfg.cost.v_read * cfg.cost.v_read *
			       cfg.cost.t_read_ps * 1e-3 *
			       (cells * (cfg.g_max_us + cfg.g_min_us) +
				((double)nw - cells) * 2 * cfg.g_min_us));
		t_xb = npix * (cfg.dac_bits * cfg.cost.t_read_ps +
			       ceil((double)(d.cout < cfg.xbar_cols ? d.cout :
					     cfg.xbar_cols) /
				    cfg.cost.cols_per_adc) *
			       cfg.cost.t_adc_ps);
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
	printf("published (research note section 5, 16-bit MACs): ISAAC "
	       "5.25 pJ/MAC = %.2f mJ (%.2fx), PUMA 2.39 pJ/MAC = %.2f mJ "
	       "(%.2fx)\n", tot.macs * 5.25e-9, tot.macs * 5.25e3 / tot.e_ap,
	       tot.macs * 2.39e-9, tot.macs * 2.39e3 / tot.e_ap);
	return 0;
}
