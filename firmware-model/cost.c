// SPDX-License-Identifier: MIT
/*
 * Cost presets. Every default is sourced in Documentation/model/cost.rst;
 * the short tags here name the source.
 */
#include <errno.h>

#include "cim_fw.h"

/* Crossbar costs shared by every preset (research note seed1, section 6) */
static void xbar_costs(struct cim_cost_params *c)
{
	c->v_read = 0.1;		/* IEDM 2022: 4 uS <-> 0.4 uA */
	c->t_read_ps = 10e3;		/* NeuroSim V2.1 read pulse */
	c->e_dac_fj = 0.0;		/* TODO(cost.rst) */
	c->e_adc_fj = 2e3;		/* 8-bit SAR, seed1 section 6 */
	c->t_adc_ps = 8e3;		/* seed1 section 6 */
	c->cols_per_adc = 8;		/* NeuroSim V2.1 */
	c->e_pulse_fj = 10e3;		/* NeuroSim Cell.cpp formula */
	c->t_pulse_ps = 100e3;		/* seed1 section 6 */
	c->e_duu_mac_fj = 500.0;	/* seed1 section 6 */
	c->duu_macs_per_ns = 64.0;
	c->t_verify_read_ps = 10e3;
	c->e_tag_row_fj = 2.0;		/* seed2 7.3, assumption */
	c->t_tag_level_ps = 100.0;
	c->e_io_read_bit_fj = 2.5e3;	/* RTSim Erd / 32 tracks */
	c->e_io_write_bit_fj = 3.4e3;	/* RTSim Ewr / 32 tracks */
	c->t_io_read_ps = 1613.38;	/* RTSim read */
	c->t_io_write_ps = 4845.22;	/* RTSim write */
	c->t_cmp_ps = 1613.38;		/* RTSim read */
	c->t_write_ps = 4845.22;	/* RTSim write */
	c->t_shift_ps = 2141.92;	/* RTSim shift */
}

int cim_fw_cost_preset(enum cim_cost_preset preset,
		       struct cim_cost_params *c)
{
	xbar_costs(c);
	switch (preset) {
	case CIM_COST_DEFAULT:		/* seed2 scenario A */
		c->e_cmp_bit_fj = 1.0;
		c->e_matchline_fj = 1.0;
		c->e_write_bit_fj = 100.0;
		c->e_shift_fj = 50.0;
		return 0;
	case CIM_COST_STT_TCAM:		/* Govindaraj and Ghosh 2017 */
		c->e_cmp_bit_fj = 4.7;
		c->e_matchline_fj = 1.0;
		c->e_write_bit_fj = 690.0;
		c->e_shift_fj = 100.0;
		return 0;
	case CIM_COST_DESTINY:		/* RTSim RM.config, DESTINY */
		c->e_cmp_bit_fj = 4.7;
		c->e_matchline_fj = 1.0;
		c->e_write_bit_fj = 3.4e3;
		c->e_shift_fj = 610.0;
		return 0;
	default:
		return -EINVAL;
	}
}
