// SPDX-License-Identifier: MIT
#include "unit.h"

Suite *determinism_suite(void)
{
	Suite *s = suite_create("determinism");

	return s;
}
