/* SPDX-License-Identifier: MIT */
/* Suites of the host unit tests; one test_<module>.c exports each. */
#ifndef CIM_UNIT_H
#define CIM_UNIT_H

#include <check.h>

#include "cimfw.h"

Suite *rng_suite(void);
Suite *xbar_suite(void);
Suite *analog_suite(void);
Suite *duu_suite(void);
Suite *ap_suite(void);
Suite *cost_suite(void);
Suite *devices_suite(void);
Suite *cmd_suite(void);
Suite *determinism_suite(void);
Suite *runtime_suite(void);
Suite *runtime_discovery_suite(void);
Suite *layers_suite(void);
Suite *ternary_suite(void);

/* A device with every non-ideality off and a small geometry. */
void unit_config_ideal(struct cimfw_config *cfg);
/* mean and sample standard deviation of @n > 1 values */
void unit_mean_std(const double *v, size_t n, double *mean, double *std);

#endif /* CIM_UNIT_H */
