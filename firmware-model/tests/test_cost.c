// SPDX-License-Identifier: MIT
/*
 * Cost presets, configuration checks, and the export of the meter as
 * counters and completion records.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "duu.h"
#include "fw_priv.h"
#include "unit.h"

START_TEST(test_cost_default_preset)
{
	struct cimfw_cost_params c;

	ck_assert_int_eq(cimfw_cost_preset(CIM_COST_DEFAULT, &c), 0);
	/* ISAAC Table I: 1-bit DACs and 8-bit ADCs at a 100 ns cycle */
	ck_assert_double_eq_tol(c.e_dac_fj, 4e-3 * 100e-9 / 1024 * 1e15, 1e-6);
	ck_assert_double_eq_tol(c.e_adc_fj, 16e-3 * 100e-9 / 1024 * 1e15,
				1e-6);
	ck_assert_double_eq(c.t_adc_ps, 1e12 / 1.28e9);
	/* NeuroSim V2.1 Param.cpp */
	ck_assert_double_eq(c.t_read_ps, 10e3);
	ck_assert_uint_eq(c.cols_per_adc, 8);
	ck_assert_double_eq_tol(c.e_pulse_fj, 4.0 * 4.0 * 10e-6 * 50e-9 * 1e15,
				1e-6);
	ck_assert_double_eq(c.t_pulse_ps, 50e3);
	/* Horowitz 2014: 16-bit multiply (log-log between 8b and 32b) + add */
	ck_assert_double_eq_tol(c.e_duu_mac_fj, sqrt(0.2e3 * 3.1e3) + 0.1e3,
				0.01);
	/* and the sum into the float32 chi: fp32 multiply 3.7 + add 0.9 pJ */
	ck_assert_double_eq_tol(c.e_duu_acc_fj, 3.7e3 + 0.9e3, 1e-9);
	/* seed2 scenario A */
	ck_assert_double_eq(c.e_cmp_bit_fj, 1.0);
	ck_assert_double_eq(c.e_write_bit_fj, 100.0);
	ck_assert_double_eq(c.e_shift_fj, 50.0);
	/* RTSim RM.config latencies */
	ck_assert_double_eq(c.t_cmp_ps, 1613.38);
	ck_assert_double_eq(c.t_write_ps, 4845.22);
	ck_assert_double_eq(c.t_shift_ps, 2141.92);
}
END_TEST

START_TEST(test_cost_other_presets)
{
	struct cimfw_cost_params base, stt, dest;

	/* zeroed first: the padding takes part in the comparison */
	memset(&base, 0, sizeof(base));
	memset(&stt, 0, sizeof(stt));
	memset(&dest, 0, sizeof(dest));
	cimfw_cost_preset(CIM_COST_DEFAULT, &base);
	ck_assert_int_eq(cimfw_cost_preset(CIM_COST_STT_TCAM, &stt), 0);
	ck_assert_int_eq(cimfw_cost_preset(CIM_COST_DESTINY, &dest), 0);
	ck_assert_double_eq(stt.e_cmp_bit_fj, 4.7);
	ck_assert_double_eq(stt.e_write_bit_fj, 690.0);
	ck_assert_double_eq(stt.e_shift_fj, 100.0);
	/* RTSim: Ewr 0.108981 nJ and Esh 0.0195 nJ per 32-track DBC */
	ck_assert_double_eq_tol(dest.e_write_bit_fj, 0.108981e6 / 32, 0.1);
	ck_assert_double_eq_tol(dest.e_shift_fj, 0.0195e6 / 32, 1e-6);
	ck_assert_double_eq_tol(dest.e_io_read_bit_fj, 0.080096e6 / 32, 0.1);
	/* presets differ only in the AP array energies */
	stt.e_cmp_bit_fj = dest.e_cmp_bit_fj = base.e_cmp_bit_fj;
	stt.e_write_bit_fj = dest.e_write_bit_fj = base.e_write_bit_fj;
	stt.e_shift_fj = dest.e_shift_fj = base.e_shift_fj;
	ck_assert_mem_eq(&stt, &base, sizeof(base));
	ck_assert_mem_eq(&dest, &base, sizeof(base));
}
END_TEST

START_TEST(test_cost_unknown_preset)
{
	struct cimfw_cost_params c;

	ck_assert_int_eq(cimfw_cost_preset(CIM_COST_COUNT, &c), -EINVAL);
	ck_assert_int_eq(cimfw_cost_preset((enum cim_cost_preset)-1, &c),
			 -EINVAL);
}
END_TEST

START_TEST(test_cost_presets_pass_check)
{
	struct cimfw_config cfg;
	struct cimfw_cost_params c;

	cimfw_config_default(&cfg);
	memcpy(&c, &cfg.cost, sizeof(c));	/* padding included */
	cimfw_cost_preset(CIM_COST_DEFAULT, &c);
	ck_assert_mem_eq(&cfg.cost, &c, sizeof(c));
	ck_assert_int_eq(cfg.cost_preset, CIM_COST_DEFAULT);
	ck_assert_int_eq(cimfw_config_check(&cfg), 0);
	cfg.cost_preset = CIM_COST_STT_TCAM;
	cimfw_cost_preset(cfg.cost_preset, &cfg.cost);
	ck_assert_int_eq(cimfw_config_check(&cfg), 0);
	cfg.cost_preset = CIM_COST_DESTINY;
	cimfw_cost_preset(cfg.cost_preset, &cfg.cost);
	ck_assert_int_eq(cimfw_config_check(&cfg), 0);
}
END_TEST

/* Configuration checks, one test per family of fields -------------------- */

static void expect_rejected(const struct cimfw_config *cfg)
{
	struct cimfw *fw = (struct cimfw *)1;

	ck_assert_int_eq(cimfw_config_check(cfg), -EINVAL);
	ck_assert_int_eq(cimfw_create(cfg, &fw), -EINVAL);
	ck_assert_ptr_eq(fw, (struct cimfw *)1);
}

#define REJECT(field, bad)				\
	do {						\
		struct cimfw_config c;			\
		unit_config_ideal(&c);			\
		c.field = (bad);			\
		expect_rejected(&c);			\
	} while (0)

START_TEST(test_config_xbar_geometry)
{
	REJECT(xbar_count, CIM_MAX_XBARS + 1);
	REJECT(xbar_rows, 0);
	REJECT(xbar_rows, CIM_MAX_XBAR_DIM + 1);
	REJECT(xbar_cols, 0);
	REJECT(xbar_cols, CIM_MAX_XBAR_DIM + 1);
	REJECT(levels, CIM_MIN_LEVELS - 1);
	REJECT(levels, CIM_MAX_LEVELS + 1);
	REJECT(dac_bits, CIM_MIN_CONV_BITS - 1);
	REJECT(dac_bits, CIM_MAX_CONV_BITS + 1);
	REJECT(adc_bits, CIM_MIN_CONV_BITS - 1);
	REJECT(adc_bits, CIM_MAX_CONV_BITS + 1);
}
END_TEST

START_TEST(test_config_ap_geometry)
{
	REJECT(ap_count, CIM_MAX_APS + 1);
	REJECT(ap_rows, 0);
	REJECT(ap_rows, CIM_MAX_AP_ROWS + 1);
	REJECT(ap_cols, 0);
	REJECT(ap_cols, CIM_MAX_AP_COLS + 1);
	REJECT(ap_domains, 0);
	REJECT(ap_domains, CIM_MAX_AP_DOMAINS + 1);
	REJECT(ap_group_tracks, 0);
}
END_TEST

START_TEST(test_config_physics)
{
	REJECT(g_min_us, 0.0);
	REJECT(g_min_us, NAN);
	REJECT(g_max_us, 4.0);		/* == g_min */
	REJECT(g_max_us, INFINITY);
	REJECT(gamma, -0.1);
	REJECT(gamma, 1.5);
	REJECT(sigma_d2d, -0.1);
	REJECT(sigma_c2c, NAN);
	REJECT(read_noise, 2.0);
	REJECT(stuck_prob, 1.5);
}
END_TEST

START_TEST(test_config_cost_values)
{
	static const size_t doubles[] = {
		offsetof(struct cimfw_cost_params, v_read),
		offsetof(struct cimfw_cost_params, t_read_ps),
		offsetof(struct cimfw_cost_params, e_dac_fj),
		offsetof(struct cimfw_cost_params, e_adc_fj),
		offsetof(struct cimfw_cost_params, t_adc_ps),
		offsetof(struct cimfw_cost_params, e_pulse_fj),
		offsetof(struct cimfw_cost_params, t_pulse_ps),
		offsetof(struct cimfw_cost_params, e_duu_mac_fj),
		offsetof(struct cimfw_cost_params, e_duu_acc_fj),
		offsetof(struct cimfw_cost_params, duu_macs_per_ns),
		offsetof(struct cimfw_cost_params, t_verify_read_ps),
		offsetof(struct cimfw_cost_params, e_cmp_bit_fj),
		offsetof(struct cimfw_cost_params, e_matchline_fj),
		offsetof(struct cimfw_cost_params, t_cmp_ps),
		offsetof(struct cimfw_cost_params, e_write_bit_fj),
		offsetof(struct cimfw_cost_params, t_write_ps),
		offsetof(struct cimfw_cost_params, e_shift_fj),
		offsetof(struct cimfw_cost_params, t_shift_ps),
		offsetof(struct cimfw_cost_params, e_io_read_bit_fj),
		offsetof(struct cimfw_cost_params, e_io_write_bit_fj),
		offsetof(struct cimfw_cost_params, t_io_read_ps),
		offsetof(struct cimfw_cost_params, t_io_write_ps),
		offsetof(struct cimfw_cost_params, e_tag_row_fj),
		offsetof(struct cimfw_cost_params, t_tag_level_ps),
	};
	const double bad[] = { -1.0, NAN, INFINITY, 1e13 };
	struct cimfw_config c;
	size_t i, j;

	for (i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++)
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			unit_config_ideal(&c);
			memcpy((char *)&c.cost + doubles[i], &bad[j],
			       sizeof(double));
			expect_rejected(&c);
		}
}
END_TEST

START_TEST(test_config_cost_counts)
{
	REJECT(cost.cols_per_adc, 0);
	REJECT(cost.cols_per_adc, CIM_MAX_XBAR_DIM + 1);
	REJECT(cost.duu_macs_per_ns, 0.0);
	REJECT(cost_preset, CIM_COST_COUNT);
}
END_TEST

START_TEST(test_config_copied)
{
	struct cimfw_config cfg;
	struct cimfw *fw;

	unit_config_ideal(&cfg);
	cfg.seed = 99;
	ck_assert_int_eq(cimfw_create(&cfg, &fw), 0);
	cfg.seed = 100;
	ck_assert_uint_eq(cimfw_config(fw)->seed, 99);
	ck_assert_uint_eq(cimfw_config(fw)->xbar_rows, 64);
	cimfw_destroy(fw);
	cimfw_destroy(NULL);
}
END_TEST

/* Counters export -------------------------------------------------------- */

START_TEST(test_counters_rounding)
{
	struct cimfw_config cfg;
	struct cim_counters c;
	struct cimfw *fw;

	unit_config_ideal(&cfg);
	ck_assert_int_eq(cimfw_create(&cfg, &fw), 0);
	fw->meter.energy_fj[CIM_UNIT_ADC] = 2.5;
	fw->meter.energy_fj[CIM_UNIT_DAC] = 2.4999;
	fw->meter.energy_fj[CIM_UNIT_AP_TAG] = 1e15 + 0.75;
	fw->meter.busy_ps[CIM_UNIT_PULSE] = 0.5;
	fw->meter.busy_ps[CIM_UNIT_DUU] = 0.49;
	fw->meter.device_time_ps = 7.5;
	fw->meter.ap_io_bits = 123;
	fw->meter.pulses_neg = 9;
	fw->jobs = 4;
	cimfw_counters(fw, &c);
	ck_assert_uint_eq(c.size, sizeof(c));
	ck_assert_uint_eq(c.jobs, 4);
	ck_assert_uint_eq(c.energy_fj[CIM_UNIT_ADC], 3);
	ck_assert_uint_eq(c.energy_fj[CIM_UNIT_DAC], 2);
	ck_assert_uint_eq(c.energy_fj[CIM_UNIT_AP_TAG], 1000000000000001ull);
	ck_assert_uint_eq(c.busy_ps[CIM_UNIT_PULSE], 1);
	ck_assert_uint_eq(c.busy_ps[CIM_UNIT_DUU], 0);
	ck_assert_uint_eq(c.device_time_ps, 8);
	ck_assert_uint_eq(c.ap_io_bits, 123);
	ck_assert_uint_eq(c.pulses_neg, 9);

	cimfw_counters_reset(fw);
	cimfw_counters(fw, &c);
	ck_assert_uint_eq(c.size, sizeof(c));
	ck_assert_uint_eq(c.jobs, 0);
	ck_assert_uint_eq(c.energy_fj[CIM_UNIT_ADC], 0);
	ck_assert_uint_eq(c.device_time_ps, 0);
	cimfw_destroy(fw);
}
END_TEST

START_TEST(test_meter_total)
{
	struct cimfw_meter m;
	unsigned int u;

	memset(&m, 0, sizeof(m));
	ck_assert_double_eq(cimfw_meter_energy_total(&m), 0.0);
	for (u = 0; u < CIM_UNIT_COUNT; u++)
		cimfw_meter_charge(&m, u, 0.25 * (u + 1), 1.0);
	ck_assert_double_eq(cimfw_meter_energy_total(&m), 0.25 * 55);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_AP_TAG], 1.0);
}
END_TEST

START_TEST(test_status_names)
{
	int st;

	for (st = 0; st < CIM_ST_COUNT; st++)
		ck_assert_str_ne(cimfw_status_name(st), "unknown");
	ck_assert_str_eq(cimfw_status_name(CIM_ST_OK), "ok");
	ck_assert_str_eq(cimfw_status_name(CIM_ST_COUNT), "unknown");
	ck_assert_str_eq(cimfw_status_name(-1), "unknown");
}
END_TEST

/* Charges of the crossbar and the DUU ---------------------------------- */

static unsigned int popcount(unsigned int v)
{
	unsigned int n = 0;

	for (; v; v >>= 1)
		n += v & 1;
	return n;
}

/*
 * One VMM of @batch vectors over window @w: inputs of +-1 and 0 only, so
 * every DAC code is +-(2^(dac_bits-1) - 1) or 0. The convention of
 * Documentation/model/cost.rst: dac_bits bit-cycles per vector, each one
 * 1-bit DAC drive per input line and one ADC conversion per output; the
 * array energy is V^2 t_read per set code bit through the line's G+ + G-.
 */
static void check_vmm_charges(bool trans)
{
	enum { B = 3 };
	struct cimfw_xbar_win w = { 3, 5, 2, 20 };
	struct cimfw_config cfg;
	const struct cimfw_cost_params *k = &cfg.cost;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar xb;
	uint64_t clock_ns = 0;
	unsigned int nin = trans ? w.ncols : w.nrows;
	unsigned int nout = trans ? w.nrows : w.ncols;
	unsigned int b, i, j, qbits;
	float x[B * 20], y[B * 20], *g;
	double cyc, sets, e_arr = 0.0, gl;

	unit_config_ideal(&cfg);
	ck_assert_int_eq(cimfw_xbar_init(&xb, &cfg, &clock_ns, 0), 0);
	qbits = popcount((1u << (cfg.dac_bits - 1)) - 1);
	g = malloc(sizeof(*g) * 2 * w.nrows * w.ncols);
	ck_assert_ptr_nonnull(g);
	cimfw_xbar_read_g(&xb, &w, g);
	for (b = 0; b < B; b++)
		for (i = 0; i < nin; i++)
			x[b * nin + i] = (i + b) % 3 == 0 ? 0.0f :
					 (i + b) % 3 == 1 ? 1.0f : -1.0f;
	ck_assert_int_eq(cimfw_xbar_vmm(&xb, &w, trans, B, x, y, false, 0, &m),
			 0);
	for (i = 0; i < nin; i++) {
		sets = 0;
		for (b = 0; b < B; b++)
			sets += x[b * nin + i] != 0.0f ? qbits : 0;
		gl = 0;
		for (j = 0; j < nout; j++) {
			size_t c = trans ? (size_t)j * w.ncols + i :
					   (size_t)i * w.ncols + j;

			gl += (double)g[2 * c] + g[2 * c + 1];
		}
		e_arr += k->v_read * k->v_read * k->t_read_ps * 1e-3 * sets *
			 gl;
	}
	cyc = (double)B * cfg.dac_bits;
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_DAC],
				cyc * nin * k->e_dac_fj, 1e-9);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_ADC],
				cyc * nout * k->e_adc_fj, 1e-9);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_XBAR_ARRAY], e_arr,
				1e-6 * e_arr);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_DAC], cyc * k->t_read_ps);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_XBAR_ARRAY], cyc * k->t_read_ps);
	ck_assert_double_eq(m.busy_ps[CIM_UNIT_ADC],
			    cyc * ((nout + k->cols_per_adc - 1) /
				   k->cols_per_adc) * k->t_adc_ps);
	ck_assert_uint_eq(m.dac_conversions, (uint64_t)cyc * nin);
	ck_assert_uint_eq(m.adc_conversions, (uint64_t)cyc * nout);
	free(g);
	cimfw_xbar_fini(&xb);
}

START_TEST(test_cost_vmm_forward)
{
	check_vmm_charges(false);
}
END_TEST

START_TEST(test_cost_vmm_transposed)
{
	check_vmm_charges(true);
}
END_TEST

/*
 * The DUU charges batch * rows * cols MACs at the 16-bit MAC price and one
 * float32 scale-and-add into chi per cell.
 */
START_TEST(test_cost_duu_macs)
{
	enum { B = 4, R = 6, C = 9 };
	struct cimfw_xbar_win w = { 1, R, 2, C };
	struct cimfw_config cfg;
	struct cimfw_meter m = { 0 };
	struct cimfw_xbar xb;
	uint64_t clock_ns = 0;
	float x[B * R], d[R * C];
	double mac;
	unsigned int i;

	unit_config_ideal(&cfg);
	mac = sqrt(0.2e3 * 3.1e3) + 0.1e3;	/* Horowitz, 16-bit */
	ck_assert_double_eq_tol(cfg.cost.e_duu_mac_fj, mac, 0.01);
	ck_assert_int_eq(cimfw_xbar_init(&xb, &cfg, &clock_ns, 0), 0);
	for (i = 0; i < B * R; i++)
		x[i] = 0.25f * (float)(i % 5) - 0.5f;
	for (i = 0; i < R * C; i++)
		d[i] = 0.125f * (float)(i % 7) - 0.375f;
	cimfw_duu_accumulate(&xb, &w, B, x, d, 0.1f, &m);
	ck_assert_uint_eq(m.duu_macs, B * R * C);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_DUU],
				B * R * C * cfg.cost.e_duu_mac_fj +
				R * C * cfg.cost.e_duu_acc_fj, 1e-9);
	ck_assert_double_eq_tol(m.busy_ps[CIM_UNIT_DUU],
				B * R * C / cfg.cost.duu_macs_per_ns * 1e3,
				1e-9);
	/* an update given as is: only the sum into chi, once per cell */
	memset(&m, 0, sizeof(m));
	cimfw_duu_accumulate_identity(&xb, &w, d, 0.1f, &m);
	ck_assert_uint_eq(m.duu_macs, R * C);
	ck_assert_double_eq_tol(m.energy_fj[CIM_UNIT_DUU],
				R * C * cfg.cost.e_duu_acc_fj, 1e-9);
	cimfw_xbar_fini(&xb);
}
END_TEST

Suite *cost_suite(void)
{
	Suite *s = suite_create("cost");
	TCase *presets = tcase_create("presets");
	TCase *config = tcase_create("config");
	TCase *counters = tcase_create("counters");
	TCase *charges = tcase_create("charges");

	tcase_add_test(presets, test_cost_default_preset);
	tcase_add_test(presets, test_cost_other_presets);
	tcase_add_test(presets, test_cost_unknown_preset);
	tcase_add_test(presets, test_cost_presets_pass_check);
	suite_add_tcase(s, presets);

	tcase_add_test(config, test_config_xbar_geometry);
	tcase_add_test(config, test_config_ap_geometry);
	tcase_add_test(config, test_config_physics);
	tcase_add_test(config, test_config_cost_values);
	tcase_add_test(config, test_config_cost_counts);
	tcase_add_test(config, test_config_copied);
	suite_add_tcase(s, config);

	tcase_add_test(counters, test_counters_rounding);
	tcase_add_test(counters, test_meter_total);
	tcase_add_test(counters, test_status_names);
	suite_add_tcase(s, counters);

	tcase_add_test(charges, test_cost_vmm_forward);
	tcase_add_test(charges, test_cost_vmm_transposed);
	tcase_add_test(charges, test_cost_duu_macs);
	suite_add_tcase(s, charges);
	return s;
}
