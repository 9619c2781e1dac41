// SPDX-License-Identifier: MIT
#include "unit.h"

Suite *cost_suite(void)
{
	Suite *s = suite_create("cost");

	return s;
}
