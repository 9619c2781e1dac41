// SPDX-License-Identifier: MIT
#include "unit.h"

Suite *duu_suite(void)
{
	Suite *s = suite_create("duu");

	return s;
}
