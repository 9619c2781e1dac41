// SPDX-License-Identifier: MIT
/*
 * Device presets (devices.c): every preset is a device the model accepts,
 * names round-trip, and noise=off / variation=off zero exactly their
 * fields, also through the runtime's "embedded:preset=NAME".
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cim.h"
#include "unit.h"

START_TEST(test_presets_valid)
{
	enum cim_device_preset p = (enum cim_device_preset)_i;
	struct cimfw_config cfg;

	cimfw_config_default(&cfg);
	ck_assert_int_eq(cimfw_device_preset(p, &cfg), 0);
	ck_assert_int_eq(cfg.device, p);
	ck_assert_int_eq(cimfw_config_check(&cfg), 0);
	/* relaxation is all off or has its reference time */
	ck_assert(cfg.relax_t0_s > 0);
}
END_TEST

START_TEST(test_presets_names)
{
	enum cim_device_preset p = (enum cim_device_preset)_i, back;
	const char *name = cimfw_device_preset_name(p);

	ck_assert_ptr_nonnull(name);
	ck_assert_int_eq(cimfw_device_preset_parse(name, &back), 0);
	ck_assert_int_eq(back, p);
}
END_TEST

START_TEST(test_presets_unknown)
{
	enum cim_device_preset p = CIM_DEVICE_PCM;
	struct cimfw_config cfg;

	ck_assert_int_eq(cimfw_device_preset_parse("PCM", &p), -EINVAL);
	ck_assert_int_eq(cimfw_device_preset_parse("", &p), -EINVAL);
	ck_assert_int_eq(cimfw_device_preset_parse("pcm2", &p), -EINVAL);
	ck_assert_int_eq(p, CIM_DEVICE_PCM);		/* untouched */
	ck_assert_ptr_null(cimfw_device_preset_name(CIM_DEVICE_PRESET_COUNT));
	cimfw_config_default(&cfg);
	ck_assert_int_eq(cimfw_device_preset(CIM_DEVICE_PRESET_COUNT, &cfg),
			 -EINVAL);
	ck_assert_int_eq(cfg.device, CIM_DEVICE_BULK_RRAM);	/* untouched */
}
END_TEST

/* The default is bulk-rram, and custom starts from bulk-rram's values */
START_TEST(test_presets_default_custom)
{
	struct cimfw_config def, custom;

	cimfw_config_default(&def);
	ck_assert_int_eq(def.device, CIM_DEVICE_BULK_RRAM);
	ck_assert_uint_eq(def.levels, 128);
	ck_assert_double_eq(def.g_min_us, 4.0);
	ck_assert_double_eq(def.g_max_us, 40.0);
	custom = def;
	ck_assert_int_eq(cimfw_device_preset(CIM_DEVICE_CUSTOM, &custom), 0);
	ck_assert_int_eq(custom.device, CIM_DEVICE_CUSTOM);
	custom.device = CIM_DEVICE_BULK_RRAM;
	ck_assert(!memcmp(&custom, &def, sizeof(def)));
}
END_TEST

/* The presets differ where their sources do */
START_TEST(test_presets_distinct)
{
	struct cimfw_config f, p;

	cimfw_config_default(&f);
	p = f;
	ck_assert_int_eq(cimfw_device_preset(CIM_DEVICE_FILAMENTARY_RRAM, &f),
			 0);
	ck_assert_int_eq(cimfw_device_preset(CIM_DEVICE_PCM, &p), 0);
	ck_assert_double_eq(f.g_max_us, 40.0);
	ck_assert_double_eq(f.gamma, 1.0);
	ck_assert(f.relax_sigma_us > 0 && f.relax_nu == 0);
	ck_assert_double_eq(p.g_max_us, 25.0);
	ck_assert_double_eq(p.relax_nu, 0.049);
	ck_assert_double_eq(p.relax_t0_s, 20.0);
	ck_assert(p.relax_sigma_us == 0);
}
END_TEST

START_TEST(test_no_noise)
{
	enum cim_device_preset p = (enum cim_device_preset)_i;
	struct cimfw_config cfg, ref;

	cimfw_config_default(&cfg);
	ck_assert_int_eq(cimfw_device_preset(p, &cfg), 0);
	ref = cfg;
	cimfw_config_no_noise(&cfg);
	ck_assert(cfg.read_noise == 0 && cfg.sigma_c2c == 0 &&
		  cfg.prog_noise_us == 0 && cfg.g_read_noise_us == 0 &&
		  cfg.relax_nu_sigma == 0 && cfg.relax_sigma_us == 0);
	ck_assert_int_eq(cimfw_config_check(&cfg), 0);
	/* the rest stays */
	cfg.read_noise = ref.read_noise;
	cfg.sigma_c2c = ref.sigma_c2c;
	cfg.prog_noise_us = ref.prog_noise_us;
	cfg.g_read_noise_us = ref.g_read_noise_us;
	cfg.relax_nu_sigma = ref.relax_nu_sigma;
	cfg.relax_sigma_us = ref.relax_sigma_us;
	ck_assert(!memcmp(&cfg, &ref, sizeof(cfg)));
}
END_TEST

START_TEST(test_no_variation)
{
	enum cim_device_preset p = (enum cim_device_preset)_i;
	struct cimfw_config cfg, ref;

	cimfw_config_default(&cfg);
	ck_assert_int_eq(cimfw_device_preset(p, &cfg), 0);
	ref = cfg;
	cimfw_config_no_variation(&cfg);
	ck_assert(cfg.sigma_d2d == 0 && cfg.sigma_range == 0 &&
		  cfg.stuck_prob == 0);
	ck_assert_int_eq(cimfw_config_check(&cfg), 0);
	cfg.sigma_d2d = ref.sigma_d2d;
	cfg.sigma_range = ref.sigma_range;
	cfg.stuck_prob = ref.stuck_prob;
	ck_assert(!memcmp(&cfg, &ref, sizeof(cfg)));
}
END_TEST

/* CIM_DEVICE=embedded:preset=pcm builds a PCM device */
START_TEST(test_embedded_preset)
{
	struct cim_info in = { .size = sizeof(in) };
	struct cimfw_config pcm_cfg;
	struct cim_device *d = NULL;

	cimfw_config_default(&pcm_cfg);
	ck_assert_int_eq(cimfw_device_preset(CIM_DEVICE_PCM, &pcm_cfg), 0);
	setenv("CIM_DEVICE", "embedded:seed=3,preset=pcm,noise=off", 1);
	ck_assert_int_eq(cim_device_open(&d, NULL), 0);
	unsetenv("CIM_DEVICE");
	ck_assert_int_eq(cim_device_query(d, &in), 0);
	ck_assert_uint_eq(in.backend, CIM_BACKEND_EMBEDDED);
	ck_assert_uint_eq(in.seed, 3);
	/* the preset's levels, not the default's 128 */
	ck_assert_uint_eq(in.xbar_levels, pcm_cfg.levels);
	cim_device_close(d);
	d = NULL;
	ck_assert_int_eq(cim_device_open(&d, "embedded:preset=flash"),
			 -EINVAL);
	ck_assert_int_eq(cim_device_open(&d, "embedded:preset="), -EINVAL);
	ck_assert_ptr_null(d);
}
END_TEST

/* The options struct: the preset applies before noise=off, old sizes work */
START_TEST(test_embedded_options)
{
	struct cim_info in = { .size = sizeof(in) };
	struct cimfw_config base;
	struct cim_embedded_options o = {
		.size = sizeof(o),
		.flags = CIM_EMB_F_DEVICE_PRESET,
		.device_preset = CIM_DEVICE_PRESET_COUNT,
	};
	struct cim_device *d = NULL;

	ck_assert_int_eq(cim_device_open_embedded(&d, &o), -EINVAL);
	o.device_preset = CIM_DEVICE_FILAMENTARY_RRAM;
	o.pad2 = 1;
	ck_assert_int_eq(cim_device_open_embedded(&d, &o), -EINVAL);
	o.pad2 = 0;
	/* a caller of the first version cannot ask for a preset */
	o.size = offsetof(struct cim_embedded_options, device_preset);
	ck_assert_int_eq(cim_device_open_embedded(&d, &o), -EINVAL);
	o.flags = 0;
	ck_assert_int_eq(cim_device_open_embedded(&d, &o), 0);
	cim_device_close(d);
	d = NULL;
	/* the preset overrides a given configuration's physics */
	cimfw_config_default(&base);
	base.levels = 4;
	o.size = sizeof(o);
	o.flags = CIM_EMB_F_DEVICE_PRESET | CIM_EMB_F_NO_VARIATION;
	o.config = &base;
	ck_assert_int_eq(cim_device_open_embedded(&d, &o), 0);
	ck_assert_int_eq(cim_device_query(d, &in), 0);
	ck_assert_uint_eq(in.xbar_levels, 256);	/* filamentary-rram's */
	cim_device_close(d);
}
END_TEST

Suite *devices_suite(void)
{
	Suite *s = suite_create("devices");
	TCase *tc = tcase_create("presets");

	tcase_add_loop_test(tc, test_presets_valid, 0, CIM_DEVICE_PRESET_COUNT);
	tcase_add_loop_test(tc, test_presets_names, 0, CIM_DEVICE_PRESET_COUNT);
	tcase_add_test(tc, test_presets_unknown);
	tcase_add_test(tc, test_presets_default_custom);
	tcase_add_test(tc, test_presets_distinct);
	tcase_add_loop_test(tc, test_no_noise, 0, CIM_DEVICE_PRESET_COUNT);
	tcase_add_loop_test(tc, test_no_variation, 0, CIM_DEVICE_PRESET_COUNT);
	suite_add_tcase(s, tc);
	tc = tcase_create("embedded");
	tcase_add_test(tc, test_embedded_preset);
	tcase_add_test(tc, test_embedded_options);
	suite_add_tcase(s, tc);
	return s;
}
