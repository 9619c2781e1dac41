// SPDX-License-Identifier: MIT
/*
 * Device configuration: defaults and the checks against the architectural
 * limits of cim_hw.h. Documentation/model/crossbar.rst sources the physics
 * defaults (research note seed1, section 6).
 */
#include <errno.h>
#include <math.h>

#include "cimfw.h"

void cimfw_config_default(struct cimfw_config *cfg)
{
	*cfg = (struct cimfw_config) {
		.seed = 1,
		.xbar_count = 8,
		.xbar_rows = 256,
		.xbar_cols = 256,
		.dac_bits = 8,
		.adc_bits = 8,
		.ap_count = 4,
		.ap_rows = 1024,
		.ap_cols = 256,
		.ap_domains = 64,
		.ap_group_tracks = 32,
		.cost_preset = CIM_COST_DEFAULT,
	};
	cimfw_device_preset(CIM_DEVICE_BULK_RRAM, cfg);
	cimfw_cost_preset(CIM_COST_DEFAULT, &cfg->cost);
}

static int in_range(unsigned int v, unsigned int lo, unsigned int hi)
{
	return v >= lo && v <= hi;
}

static int finite_in(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

static int cost_ok(const struct cimfw_cost_params *c)
{
	const double *d[] = {
		&c->v_read, &c->t_read_ps, &c->e_dac_fj, &c->e_adc_fj,
		&c->t_adc_ps, &c->e_pulse_fj, &c->t_pulse_ps, &c->e_duu_mac_fj,
		&c->e_duu_acc_fj,
		&c->t_verify_read_ps, &c->e_cmp_bit_fj, &c->e_matchline_fj,
		&c->t_cmp_ps, &c->e_write_bit_fj, &c->t_write_ps,
		&c->e_shift_fj, &c->t_shift_ps, &c->e_io_read_bit_fj,
		&c->e_io_write_bit_fj, &c->t_io_read_ps, &c->t_io_write_ps,
		&c->e_tag_row_fj, &c->t_tag_level_ps,
	};
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		if (!finite_in(*d[i], 0.0, 1e12))
			return 0;
	return c->cols_per_adc >= 1 && c->cols_per_adc <= CIM_MAX_XBAR_DIM &&
	       finite_in(c->duu_macs_per_ns, 1e-6, 1e9);
}

/* Returns 0 if @cfg describes a device the model can build, else -EINVAL. */
int cimfw_config_check(const struct cimfw_config *cfg)
{
	if (!in_range(cfg->xbar_count, 0, CIM_MAX_XBARS) ||
	    !in_range(cfg->xbar_rows, 1, CIM_MAX_XBAR_DIM) ||
	    !in_range(cfg->xbar_cols, 1, CIM_MAX_XBAR_DIM) ||
	    !in_range(cfg->levels, CIM_MIN_LEVELS, CIM_MAX_LEVELS) ||
	    !in_range(cfg->dac_bits, CIM_MIN_CONV_BITS, CIM_MAX_CONV_BITS) ||
	    !in_range(cfg->adc_bits, CIM_MIN_CONV_BITS, CIM_MAX_CONV_BITS))
		return -EINVAL;
	if (!in_range(cfg->ap_count, 0, CIM_MAX_APS) ||
	    !in_range(cfg->ap_rows, 1, CIM_MAX_AP_ROWS) ||
	    !in_range(cfg->ap_cols, 1, CIM_MAX_AP_COLS) ||
	    !in_range(cfg->ap_domains, 1, CIM_MAX_AP_DOMAINS) ||
	    !in_range(cfg->ap_group_tracks, 1, CIM_MAX_AP_COLS))
		return -EINVAL;
	if (!finite_in(cfg->g_min_us, 1e-3, 1e6) ||
	    !finite_in(cfg->g_max_us, cfg->g_min_us, 1e6) ||
	    !(cfg->g_max_us > cfg->g_min_us) ||
	    !finite_in(cfg->gamma, 0.0, 1.0) ||
	    !finite_in(cfg->sigma_d2d, 0.0, 1.0) ||
	    !finite_in(cfg->sigma_c2c, 0.0, 10.0) ||
	    !finite_in(cfg->sigma_range, 0.0, 1.0) ||
	    !finite_in(cfg->prog_noise_us, 0.0, cfg->g_max_us) ||
	    !finite_in(cfg->g_read_noise_us, 0.0, cfg->g_max_us) ||
	    !finite_in(cfg->read_noise, 0.0, 1.0) ||
	    !finite_in(cfg->relax_nu, 0.0, 1.0) ||
	    !finite_in(cfg->relax_nu_sigma, 0.0, 1.0) ||
	    !finite_in(cfg->relax_sigma_us, 0.0, cfg->g_max_us) ||
	    !finite_in(cfg->relax_t0_s, 1e-9, 1e9) ||
	    !finite_in(cfg->stuck_prob, 0.0, 1.0) ||
	    (unsigned int)cfg->device >= CIM_DEVICE_PRESET_COUNT)
		return -EINVAL;
	if ((unsigned int)cfg->cost_preset >= CIM_COST_COUNT ||
	    !cost_ok(&cfg->cost))
		return -EINVAL;
	return 0;
}
