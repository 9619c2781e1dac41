// SPDX-License-Identifier: MIT
#include "unit.h"

Suite *ap_suite(void)
{
	Suite *s = suite_create("ap");

	return s;
}
