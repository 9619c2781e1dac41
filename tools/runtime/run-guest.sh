#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build cim.ko and libcim's guest test (tests/runtime-guest/), pack them into
# an initramfs of their own (build/runtime-guest/initramfs.cpio.gz) and boot
# the test VM with tools/vm/run-tests.sh, whose default devices are
# cim-pci,seed=1 and cim-pci,seed=2,fault-injection=on. The test compares
# every /dev/cimN with an embedded twin of the same seed. Mirrors
# tools/kernel/run-kselftest.sh; extra arguments go to run-tests.sh.
set -eu

# shellcheck source=tools/vm/suite.sh
. "$(dirname "$0")/../vm/suite.sh"
guest_prepare
make -C "$top" --no-print-directory BUILD="$build" \
	"$build/runtime-guest/cim-runtime-guest" >&2
"$top/tools/vm/mkinitramfs.sh" -o "$(guest_initrd runtime-guest)" \
	"module:$ko" \
	"test:$build/runtime-guest/cim-runtime-guest:cim-runtime-guest" \
	"test:$top/tests/kselftest/dmesg_check.sh:dmesg_check"
guest_boot runtime-guest "$@"
