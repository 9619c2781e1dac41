// SPDX-License-Identifier: MIT
#include "unit.h"

Suite *cmd_suite(void)
{
	Suite *s = suite_create("cmd");

	return s;
}
