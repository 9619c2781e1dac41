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

/*
 * bulk-rram: the mixed-precision paper's b-ReRAM (Wu et al., arXiv
 * 2305.14547), with range and levels from its predecessor device paper
 * (Wu et al., IEDM 2022, doc 10019450); neither publishes variation, noise
 * or relaxation figures, so those are stated assumptions.
 */
static void bulk_rram(struct cimfw_config *cfg)
{
	cfg->levels = 128;		/* IEDM 2022: up to 128 levels */
	cfg->g_min_us = 4.0;		/* IEDM 2022: 400 nA at 0.1 V */
	cfg->g_max_us = 40.0;		/* IEDM 2022: 4 uA at 0.1 V */
	cfg->gamma = 0.5;		/* assumption (aihwkit soft-bound form) */
	cfg->sigma_d2d = 0.2;		/* assumption (aihwkit default 0.3) */
	cfg->sigma_c2c = 0.3;		/* aihwkit PulsedDevice dw_min_std */
	cfg->sigma_range = 0.05;	/* assumption */
	cfg->prog_noise_us = 0.1;	/* assumption */
	cfg->g_read_noise_us = 0.1;	/* assumption ("low noise", no figure) */
	cfg->read_noise = 0.02;		/* assumption (research note s6) */
	cfg->relax_nu = 0.0;		/* no source: relaxation off */
	cfg->relax_nu_sigma = 0.0;
	cfg->relax_sigma_us = 0.0;
	cfg->relax_t0_s = 1.0;		/* unused while off */
	cfg->stuck_prob = 0.0;		/* assumption ("high yield", no figure) */
}

/*
 * filamentary-rram: HfO2 filamentary ReRAM. Pulse response from aihwkit's
 * ReRamSBPresetDevice, a fit to Gong et al., Nat. Commun. 2018
 * (doi:10.1038/s41467-018-04485-1), whose weights w_min..w_max =
 * -0.75..1.25 map onto G_min..G_max: 1 weight unit is (G_max - G_min) / 2.
 * Range, read noise and relaxation from aihwkit's ReRamWan2022NoiseModel,
 * a fit to Wan et al., Nature 2022 (doi:10.1038/s41586-022-04992-8), at
 * G = G_max / 2. aihwkit maps weight 0 to 0 uS; the model needs G_min > 0.
 */
static void filamentary_rram(struct cimfw_config *cfg)
{
	cfg->levels = 256;		/* 625 up, 375 down: CIM_MAX_LEVELS */
	cfg->g_min_us = 0.4;		/* assumption: 1 % of G_max */
	cfg->g_max_us = 40.0;		/* ReRamWan2022: fitted at 40 uS */
	cfg->gamma = 1.0;		/* soft bounds: step 0 at the bound */
	cfg->sigma_d2d = 0.3;		/* dw_min_dtod */
	cfg->sigma_c2c = 0.956;		/* 3.75 dw_min / (2 / 255 w) */
	cfg->sigma_range = 0.15;	/* w_max/min_dtod: 0.3 w of 2 w */
	cfg->prog_noise_us = 2.218;	/* write_noise_std 56 x dw_min */
	cfg->g_read_noise_us = 0.4;	/* ReRamWan2022 note: ~1 % of G_max */
	cfg->read_noise = 0.005;	/* PresetIOParameters 0.1 / 20 */
	cfg->relax_nu = 0.0;		/* ReRamWan2022: no power-law drift */
	cfg->relax_nu_sigma = 0.0;
	cfg->relax_sigma_us = 0.679;	/* 2.02 uS at 1 s, 3.91 at 1 d */
	cfg->relax_t0_s = 1.0;		/* Wan 2022: first point, 1 s */
	cfg->stuck_prob = 0.0;		/* ReRamSB corrupt_devices_prob */
}

/*
 * pcm: Ge2Sb2Te5 phase-change memory. Pulse response from aihwkit's
 * PCMPresetDevice (Nandakumar et al., Front. Neurosci. 14:406, 2020;
 * weights 0..2 map onto G_min..G_max); noise, drift and read noise from
 * aihwkit's PCMLikeNoiseModel (Nandakumar et al., ICECS 2019, IEEE doc
 * 8964852), whose G_max is 25 uS, at G = G_max / 2 where they depend on G.
 * aihwkit maps weight 0 to 0 uS; the model needs G_min > 0.
 */
static void pcm(struct cimfw_config *cfg)
{
	cfg->levels = 23;		/* 73 pulses 0 -> 2 at this gamma */
	cfg->g_min_us = 0.25;		/* assumption: 1 % of G_max */
	cfg->g_max_us = 25.0;		/* PCMLikeNoiseModel g_max */
	cfg->gamma = 0.958;		/* exp step: last/first = 1.18/28.2 */
	cfg->sigma_d2d = 0.2;		/* dw_min_dtod */
	cfg->sigma_c2c = 0.6;		/* dw_min_std */
	cfg->sigma_range = 0.1;		/* w_max_dtod 0.1 x w_max 2 */
	cfg->prog_noise_us = 1.114;	/* 0.6 x (0.042 + 0.108 w) at w = 1 */
	cfg->g_read_noise_us = 0.722;	/* 1/f at t0, G = G_max / 2 */
	cfg->read_noise = 0.004;	/* StandardHWATraining 0.04 / 10 */
	cfg->relax_nu = 0.049;		/* drift nu, G >= 0.2 G_max */
	cfg->relax_nu_sigma = 0.008;	/* its spread, G >= 0.33 G_max */
	cfg->relax_sigma_us = 0.0;	/* no source: 1/f is read noise */
	cfg->relax_t0_s = 20.0;		/* PCMLikeNoiseModel t_0 */
	cfg->stuck_prob = 0.0;		/* PCMPreset corrupt_devices_prob */
}

int cimfw_device_preset(enum cim_device_preset preset,
			struct cimfw_config *cfg)
{
	switch (preset) {
	case CIM_DEVICE_BULK_RRAM:
	case CIM_DEVICE_CUSTOM:		/* bulk-rram's, changed one by one */
		bulk_rram(cfg);
		break;
	case CIM_DEVICE_FILAMENTARY_RRAM:
		filamentary_rram(cfg);
		break;
	case CIM_DEVICE_PCM:
		pcm(cfg);
		break;
	default:
		return -EINVAL;
	}
	cfg->device = preset;
	return 0;
}

/* cim-pci's noise=off: every random draw of programming and reading */
void cimfw_config_no_noise(struct cimfw_config *cfg)
{
	cfg->read_noise = 0.0;
	cfg->sigma_c2c = 0.0;
	cfg->prog_noise_us = 0.0;
	cfg->g_read_noise_us = 0.0;
	cfg->relax_nu_sigma = 0.0;
	cfg->relax_sigma_us = 0.0;
}

/* cim-pci's variation=off: every device alike and working */
void cimfw_config_no_variation(struct cimfw_config *cfg)
{
	cfg->sigma_d2d = 0.0;
	cfg->sigma_range = 0.0;
	cfg->stuck_prob = 0.0;
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
