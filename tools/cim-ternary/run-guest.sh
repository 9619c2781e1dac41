#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest test of cim-ternary train: build cim.ko and cim-ternary, pack them
# with the MNIST IDX files and tools/cim-ternary/guest-test.sh into an
# initramfs of their own (build/ternary-guest/initramfs.cpio.gz) and boot
# the test VM with tools/vm/run-tests.sh (devices cim-pci,seed=1 and a
# second one). The test trains a small ternary CNN for one epoch on 300
# images and runs its inference on 100 test images through /dev/cim0 and on
# the embedded backend: the same predictions, and 0 mismatches against the
# software integer model on both. Mirrors tools/cim-train/run-guest.sh;
# extra arguments go to run-tests.sh.
set -eu

# shellcheck source=tools/vm/suite.sh
. "$(dirname "$0")/../vm/suite.sh"
guest_prepare
data=$(BUILD="$build" "$top/tools/data/fetch-mnist.sh")
make -C "$top" --no-print-directory BUILD="$build" "$build/cim-ternary" >&2
"$top/tools/vm/mkinitramfs.sh" -o "$(guest_initrd ternary-guest)" \
	"module:$ko" \
	"file:$build/cim-ternary:/bin/cim-ternary" \
	"dir:$data:/data/mnist" \
	"test:$top/tools/cim-ternary/guest-test.sh:cim-ternary-guest" \
	"test:$top/tests/kselftest/dmesg_check.sh:dmesg_check"
guest_boot ternary-guest "$@"
