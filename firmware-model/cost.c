// SPDX-License-Identifier: MIT
/*
 * Cost presets. Documentation/model/cost.rst gives, for every constant,
 * its formula, its default in every preset and the full source; the short
 * tags here name the source. "assumption" marks a value with no source.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>

#include "cimfw.h"

/*
 * Crossbar and DUU costs, the same in every preset. ISAAC is Shafiee et
 * al., ISCA 2016, Table I (IMA: 8 x 128 1-bit DACs at 4 mW, 8 ADCs of
 * 8 bits at 16 mW, one 100 ns crossbar read per cycle); NeuroSim is
 * DNN_NeuroSim_V2.1, Training_pytorch/NeuroSIM/Param.cpp. Converters are
 * priced as ISAAC runs them: inputs bit-serial, per bit-cycle one 1-bit
 * DAC drive per row and one ADC conversion per column.
 */
static void xbar_costs(struct cimfw_cost_params *c)
{
	c->v_read = 0.1;		/* seed1 s6: IEDM 2022, 4 uS at 0.4 uA */
	c->t_read_ps = 10e3;		/* NeuroSim readPulseWidth 10 ns */
	c->e_dac_fj = 390.625;		/* ISAAC: 4 mW x 100 ns / 1024 */
	c->e_adc_fj = 1562.5;		/* ISAAC: 16 mW x 100 ns / 1024 */
	c->t_adc_ps = 781.25;		/* ISAAC: 1.28 GS/s */
	c->cols_per_adc = 8;		/* NeuroSim numColMuxed */
	c->e_pulse_fj = 8e3;		/* NeuroSim: (4 V)^2 x 10 uS x 50 ns */
	c->t_pulse_ps = 50e3;		/* NeuroSim writePulseWidth */
	/*
	 * Horowitz 2014, 45 nm: a 16-bit multiply between 8b 0.2 and 32b
	 * 3.1 pJ (log-log, sqrt(0.2 x 3.1) = 0.7874 pJ) + a 32b add 0.1 pJ
	 */
	c->e_duu_mac_fj = 787.4 + 100.0;
	c->e_duu_acc_fj = 4.6e3;	/* Horowitz 2014: fp32 mul + add, 45 nm */
	c->duu_macs_per_ns = 64.0;	/* assumption: 64 lanes at 1 GHz */
	c->t_verify_read_ps = 10e3;	/* NeuroSim readPulseWidth 10 ns */
}

/* AP latencies and I/O of every preset: RTSim Config/RM.config */
static void ap_common_costs(struct cimfw_cost_params *c)
{
	c->t_cmp_ps = 1613.38;		/* RTSim RD: a compare reads a port */
	c->t_write_ps = 4845.22;	/* RTSim WR */
	c->t_shift_ps = 2141.92;	/* RTSim shift */
	c->e_io_read_bit_fj = 2503.0;	/* RTSim Erd 0.080096 nJ / 32 tracks */
	c->e_io_write_bit_fj = 3405.7;	/* RTSim Ewr 0.108981 nJ / 32 tracks */
	c->t_io_read_ps = 1613.38;	/* RTSim RD */
	c->t_io_write_ps = 4845.22;	/* RTSim WR */
	c->e_tag_row_fj = 2.0;		/* seed2 s7.3, assumption */
	c->t_tag_level_ps = 100.0;	/* seed2 s7.3, assumption */
}

int cimfw_cost_preset(enum cim_cost_preset preset,
		       struct cimfw_cost_params *c)
{
	xbar_costs(c);
	ap_common_costs(c);
	c->e_matchline_fj = 1.0;	/* seed2 s7.3, assumption */
	switch (preset) {
	case CIM_COST_DEFAULT:		/* seed2 s6 scenario A, assumption */
		c->e_cmp_bit_fj = 1.0;
		c->e_write_bit_fj = 100.0;
		c->e_shift_fj = 50.0;
		return 0;
	case CIM_COST_STT_TCAM:		/* Govindaraj and Ghosh, JETC 2017 */
		c->e_cmp_bit_fj = 4.7;
		c->e_write_bit_fj = 690.0;
		c->e_shift_fj = 100.0;	/* seed2 s6 scenario B */
		return 0;
	case CIM_COST_DESTINY:		/* RTSim RM.config (DESTINY) */
		c->e_cmp_bit_fj = 4.7;	/* no array value: as scenario B */
		c->e_write_bit_fj = 3405.7;
		c->e_shift_fj = 609.375;	/* Esh 0.0195 nJ / 32 tracks */
		return 0;
	default:
		return -EINVAL;
	}
}
