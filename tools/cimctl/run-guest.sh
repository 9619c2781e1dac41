#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run cimctl's guest test (tests/cimctl/guest-cimctl.sh) in the test VM:
# build cim.ko and cimctl, pack them with the test into an initramfs of its
# own (build/cimctl-vm/initramfs.cpio.gz) and boot it with
# tools/vm/run-tests.sh (two cim-pci devices, seeds 1 and 2), which prints
# the TAP and fails when a test failed. Extra arguments go to run-tests.sh.
set -eu

# shellcheck source=tools/vm/suite.sh
. "$(dirname "$0")/../vm/suite.sh"
guest_prepare
make -C "$top" --no-print-directory "$build/cimctl" >&2
"$top/tools/vm/mkinitramfs.sh" -o "$(guest_initrd cimctl-vm)" \
	"module:$ko" "file:$build/cimctl:/usr/bin/cimctl" \
	"test:$top/tests/cimctl/guest-cimctl.sh:cimctl"
guest_boot cimctl-vm "$@"
