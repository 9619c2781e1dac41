#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest test of cim-train: build cim.ko and cim-train, pack them with the
# MNIST IDX files and tools/cim-train/guest-test.sh into an initramfs of
# their own (build/train-guest/initramfs.cpio.gz) and boot the test VM with
# tools/vm/run-tests.sh (devices cim-pci,seed=1 and a second one). The test
# runs one epoch on 1,000 images on /dev/cim0 and on the embedded backend
# and compares the numbers, then --transfer onto /dev/cim1 against the
# embedded transfer onto seed 2. Mirrors tools/runtime/run-guest.sh; extra
# arguments go to run-tests.sh.
set -eu

# shellcheck source=tools/vm/suite.sh
. "$(dirname "$0")/../vm/suite.sh"
guest_prepare
data=$(BUILD="$build" "$top/tools/data/fetch-mnist.sh")
make -C "$top" --no-print-directory BUILD="$build" "$build/cim-train" >&2
"$top/tools/vm/mkinitramfs.sh" -o "$(guest_initrd train-guest)" \
	"module:$ko" \
	"file:$build/cim-train:/bin/cim-train" \
	"dir:$data:/data/mnist" \
	"test:$top/tools/cim-train/guest-test.sh:cim-train-guest" \
	"test:$top/tests/kselftest/dmesg_check.sh:dmesg_check"
guest_boot train-guest "$@"
