# SPDX-License-Identifier: MIT
#
# The debug guest kernel (Documentation/debug-kernel.rst). Included by the
# top Makefile, which provides the "qemu" target (qemu/build-qemu.sh).
#
#   make debug-kernel     build it, or find it in the cache
#                         (${CIM_CACHE:-$XDG_CACHE_HOME/cim}/debug-kernel/)
#   make check-vm-debug   cim.ko built against it, then the kselftests
#                         (with the module load and unload cycles) on it and
#                         the check of every checker's reports
#                         (tools/kernel/run-debug.sh); DEBUG_SUITES="runtime
#                         stress" adds those guest suites
#
# The kernel build needs the packages of tools/install-deps.sh ("make deps").

DEBUG_SUITES ?=

.PHONY: debug-kernel check-vm-debug

debug-kernel:
	@BUILD=$(BUILD) tools/kernel/build-debug-kernel.sh >/dev/null

check-vm-debug: qemu
	BUILD=$(BUILD) CIM_DEBUG_SUITES="$(DEBUG_SUITES)" tools/kernel/run-debug.sh

# This file may be included among the variables: leave the default goal to
# the Makefile's first target
.DEFAULT_GOAL :=
