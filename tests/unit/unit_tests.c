// SPDX-License-Identifier: MIT
/*
 * Runner of the host unit tests. Every suite runs in forked mode so a crash
 * in one test is reported as that test's failure. Set CK_XML=<file> for a
 * JUnit-like report, CK_RUN_SUITE / CK_RUN_CASE to select.
 */
#include <math.h>
#include <stdlib.h>

#include "unit.h"

static Suite *(*const suites[])(void) = {
	rng_suite,
	xbar_suite,
	analog_suite,
	duu_suite,
	ap_suite,
	cost_suite,
	devices_suite,
	cmd_suite,
	determinism_suite,
	runtime_suite,
	runtime_discovery_suite,
	layers_suite,
	ternary_suite,
};

void unit_config_ideal(struct cimfw_config *cfg)
{
	cimfw_config_default(cfg);
	cfg->xbar_count = 2;
	cfg->xbar_rows = 64;
	cfg->xbar_cols = 48;
	cfg->ap_count = 2;
	cfg->ap_rows = 256;
	cfg->ap_cols = 128;
	cfg->ap_domains = 16;
	cfg->ap_group_tracks = 32;
	cimfw_config_no_noise(cfg);
	cimfw_config_no_variation(cfg);
	/* and linear steps, no drift */
	cfg->gamma = 0.0;
	cfg->relax_nu = 0.0;
}

void unit_mean_std(const double *v, size_t n, double *mean, double *std)
{
	double s = 0.0, s2 = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		s += v[i];
	*mean = s / n;
	for (i = 0; i < n; i++)
		s2 += (v[i] - *mean) * (v[i] - *mean);
	*std = sqrt(s2 / (n - 1));
}

int main(void)
{
	const char *xml = getenv("CK_XML");
	SRunner *sr = srunner_create(NULL);
	size_t i;
	int failed;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	if (xml)
		srunner_set_xml(sr, xml);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
