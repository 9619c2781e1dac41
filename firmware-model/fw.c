// SPDX-License-Identifier: MIT
/*
 * Device instances: creation from a checked configuration, reset, and the
 * export of the meter as the counters of cim_hw.h.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

/*
 * The largest transfer of one validated packet: XBAR_READ of G pairs over
 * a whole tile, a batch of vectors of the longer tile side, a whole AP's
 * rows, or the instructions of a packet as long as the biggest command
 * buffer.
 */
static size_t scratch_bytes(const struct cimfw_config *cfg)
{
	size_t side = max_size(cfg->xbar_rows, cfg->xbar_cols);
	size_t n = 2 * sizeof(float) * cfg->xbar_rows * cfg->xbar_cols;

	n = max_size(n, sizeof(float) * CIM_MAX_BATCH * side);
	n = max_size(n, sizeof(uint64_t) * cfg->ap_rows);
	return max_size(n, CIM_MAX_CMDBUF);
}

static void destroy_xbars(struct cimfw *fw, unsigned int n)
{
	while (n--)
		cimfw_xbar_fini(&fw->xbars[n]);
	free(fw->xbars);
}

static void destroy_aps(struct cimfw *fw, unsigned int n)
{
	while (n--)
		cimfw_ap_fini(&fw->aps[n]);
	free(fw->aps);
}

static int create_xbars(struct cimfw *fw)
{
	unsigned int i;

	fw->xbars = calloc(fw->cfg.xbar_count + 1, sizeof(*fw->xbars));
	if (!fw->xbars)
		return -ENOMEM;
	for (i = 0; i < fw->cfg.xbar_count; i++) {
		if (cimfw_xbar_init(&fw->xbars[i], &fw->cfg, &fw->clock_ns, i)) {
			destroy_xbars(fw, i);
			return -ENOMEM;
		}
	}
	return 0;
}

static int create_aps(struct cimfw *fw)
{
	unsigned int i;

	fw->aps = calloc(fw->cfg.ap_count + 1, sizeof(*fw->aps));
	if (!fw->aps)
		return -ENOMEM;
	for (i = 0; i < fw->cfg.ap_count; i++) {
		if (cimfw_ap_init(&fw->aps[i], &fw->cfg)) {
			destroy_aps(fw, i);
			return -ENOMEM;
		}
	}
	return 0;
}

static int create_scratch(struct cimfw *fw)
{
	fw->scratch_len = scratch_bytes(&fw->cfg);
	fw->scratch[0] = malloc(fw->scratch_len);
	fw->scratch[1] = malloc(fw->scratch_len);
	if (fw->scratch[0] && fw->scratch[1])
		return 0;
	free(fw->scratch[0]);
	free(fw->scratch[1]);
	return -ENOMEM;
}

int cimfw_create(const struct cimfw_config *cfg, struct cimfw **out)
{
	struct cimfw *fw;
	int ret;

	if (cimfw_config_check(cfg))
		return -EINVAL;
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	fw->cfg = *cfg;

	ret = create_xbars(fw);
	if (ret)
		goto fail_xbars;
	ret = create_aps(fw);
	if (ret)
		goto fail_aps;
	ret = create_scratch(fw);
	if (ret)
		goto fail_scratch;
	*out = fw;
	return 0;

fail_scratch:
	destroy_aps(fw, fw->cfg.ap_count);
fail_aps:
	destroy_xbars(fw, fw->cfg.xbar_count);
fail_xbars:
	free(fw);
	return ret;
}

void cimfw_destroy(struct cimfw *fw)
{
	if (!fw)
		return;
	free(fw->scratch[0]);
	free(fw->scratch[1]);
	destroy_aps(fw, fw->cfg.ap_count);
	destroy_xbars(fw, fw->cfg.xbar_count);
	free(fw);
}

const struct cimfw_config *cimfw_config(const struct cimfw *fw)
{
	return &fw->cfg;
}

void cimfw_reset(struct cimfw *fw)
{
	unsigned int i;

	fw->clock_ns = 0;
	fw->clock_frac_ps = 0.0;
	for (i = 0; i < fw->cfg.xbar_count; i++)
		cimfw_xbar_reset(&fw->xbars[i]);
	for (i = 0; i < fw->cfg.ap_count; i++)
		cimfw_ap_reset(&fw->aps[i]);
	cimfw_counters_reset(fw);
}

/* Rounded to the nearest unit; the meter never holds negative values. */
static uint64_t round_u64(double v)
{
	return v > 0.0 ? (uint64_t)llround(v) : 0;
}

void cimfw_counters(const struct cimfw *fw, struct cim_counters *out)
{
	const struct cimfw_meter *m = &fw->meter;
	unsigned int u;

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->jobs = fw->jobs;
	out->vmm_fwd = m->vmm_fwd;
	out->vmm_trans = m->vmm_trans;
	out->dac_conversions = m->dac_conversions;
	out->adc_conversions = m->adc_conversions;
	out->adc_saturations = m->adc_saturations;
	out->pulses_pos = m->pulses_pos;
	out->pulses_neg = m->pulses_neg;
	out->duu_macs = m->duu_macs;
	out->program_pulses = m->program_pulses;
	out->ap_compares = m->ap_compares;
	out->ap_writes = m->ap_writes;
	out->ap_bits_written = m->ap_bits_written;
	out->ap_shift_steps = m->ap_shift_steps;
	out->ap_io_bits = m->ap_io_bits;
	for (u = 0; u < CIM_UNIT_COUNT; u++) {
		out->energy_fj[u] = round_u64(m->energy_fj[u]);
		out->busy_ps[u] = round_u64(m->busy_ps[u]);
	}
	out->device_time_ps = round_u64(m->device_time_ps);
}

void cimfw_counters_reset(struct cimfw *fw)
{
	memset(&fw->meter, 0, sizeof(fw->meter));
	fw->jobs = 0;
}

static const char *const status_names[CIM_ST_COUNT] = {
	[CIM_ST_OK] = "ok",
	[CIM_ST_BAD_OPCODE] = "bad opcode",
	[CIM_ST_BAD_SIZE] = "bad size",
	[CIM_ST_TRUNCATED] = "truncated",
	[CIM_ST_BAD_FLAGS] = "bad flags",
	[CIM_ST_RESERVED] = "reserved field not zero",
	[CIM_ST_BAD_UNIT] = "bad unit",
	[CIM_ST_BAD_RANGE] = "bad range",
	[CIM_ST_BAD_BATCH] = "bad batch",
	[CIM_ST_BAD_VALUE] = "bad value",
	[CIM_ST_BAD_ALIGN] = "bad alignment",
	[CIM_ST_DMA] = "dma error",
	[CIM_ST_BAD_INST] = "bad AP instruction",
	[CIM_ST_INJECTED] = "injected failure",
	[CIM_ST_BAD_RING] = "bad ring",
	[CIM_ST_ABORTED] = "aborted",
	[CIM_ST_NOMEM] = "out of model memory",
};

const char *cimfw_status_name(int status)
{
	if (status < 0 || status >= CIM_ST_COUNT || !status_names[status])
		return "unknown";
	return status_names[status];
}

/* Summed in unit order, so every build gets the same rounding. */
double cimfw_meter_energy_total(const struct cimfw_meter *m)
{
	double e = 0.0;
	unsigned int u;

	for (u = 0; u < CIM_UNIT_COUNT; u++)
		e += m->energy_fj[u];
	return e;
}
