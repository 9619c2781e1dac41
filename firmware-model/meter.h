/* SPDX-License-Identifier: MIT */
/*
 * Event and cost accounting shared by the units. Energies and times are
 * summed in double precision and rounded only when exported, so a long run
 * of sub-femtojoule events is not lost to rounding.
 */
#ifndef CIMFW_METER_H
#define CIMFW_METER_H

#include <stdint.h>

#include "cim_hw.h"

struct cimfw_meter {
	uint64_t vmm_fwd;
	uint64_t vmm_trans;
	uint64_t dac_conversions;
	uint64_t adc_conversions;
	uint64_t adc_saturations;
	uint64_t pulses_pos;
	uint64_t pulses_neg;
	uint64_t duu_macs;
	uint64_t program_pulses;
	uint64_t ap_compares;
	uint64_t ap_writes;
	uint64_t ap_bits_written;
	uint64_t ap_shift_steps;
	uint64_t ap_io_bits;
	double energy_fj[CIM_UNIT_COUNT];
	double busy_ps[CIM_UNIT_COUNT];
	/* latency of the packets run so far; units inside a packet overlap */
	double device_time_ps;
};

/* Charge @energy_fj to @unit and account it busy for @time_ps. */
static inline void cimfw_meter_charge(struct cimfw_meter *m, enum cim_unit unit,
				    double energy_fj, double time_ps)
{
	m->energy_fj[unit] += energy_fj;
	m->busy_ps[unit] += time_ps;
}

double cimfw_meter_energy_total(const struct cimfw_meter *m);

#endif /* CIMFW_METER_H */
