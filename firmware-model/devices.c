// SPDX-License-Identifier: MIT
/*
 * Device presets: the crossbar physics of each device family, every value
 * from the sources Documentation/model/devices.rst names.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <string.h>

#include "cimfw.h"

static const char *const preset_names[CIM_DEVICE_PRESET_COUNT] = {
	[CIM_DEVICE_BULK_RRAM] = "bulk-rram",
	[CIM_DEVICE_FILAMENTARY_RRAM] = "filamentary-rram",
	[CIM_DEVICE_PCM] = "pcm",
	[CIM_DEVICE_CUSTOM] = "custom",
};

/* TODO(presets): sourced values; these are the former defaults */
static void bulk_rram(struct cimfw_config *cfg)
{
	cfg->levels = 128;
	cfg->g_min_us = 4.0;
	cfg->g_max_us = 40.0;
	cfg->gamma = 0.5;
	cfg->sigma_d2d = 0.2;
	cfg->sigma_c2c = 0.3;
	cfg->sigma_range = 0.05;
	cfg->prog_noise_us = 0.1;
	cfg->g_read_noise_us = 0.1;
	cfg->read_noise = 0.02;
	cfg->relax_nu = 0.0;
	cfg->relax_nu_sigma = 0.0;
	cfg->relax_sigma_us = 0.0;
	cfg->relax_t0_s = 1.0;
	cfg->stuck_prob = 0.0;
}

int cimfw_device_preset(enum cim_device_preset preset,
			struct cimfw_config *cfg)
{
	switch (preset) {
	case CIM_DEVICE_BULK_RRAM:
	case CIM_DEVICE_FILAMENTARY_RRAM:
	case CIM_DEVICE_PCM:
	case CIM_DEVICE_CUSTOM:
		bulk_rram(cfg);
		break;
	default:
		return -EINVAL;
	}
	cfg->device = preset;
	return 0;
}

const char *cimfw_device_preset_name(enum cim_device_preset preset)
{
	if ((unsigned int)preset >= CIM_DEVICE_PRESET_COUNT)
		return NULL;
	return preset_names[preset];
}

int cimfw_device_preset_parse(const char *name,
			      enum cim_device_preset *preset)
{
	unsigned int p;

	for (p = 0; p < CIM_DEVICE_PRESET_COUNT; p++) {
		if (!strcmp(name, preset_names[p])) {
			*preset = (enum cim_device_preset)p;
			return 0;
		}
	}
	return -EINVAL;
}
