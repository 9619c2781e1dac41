// SPDX-License-Identifier: MIT
#include "unit.h"

Suite *xbar_suite(void)
{
	Suite *s = suite_create("xbar");

	return s;
}
