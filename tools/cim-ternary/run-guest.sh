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

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

"$top/tools/vm/fetch-kernel.sh" >/dev/null
data=$(BUILD="$build" "$top/tools/data/fetch-mnist.sh")
ko=$("$top/tools/kernel/build-module.sh")
make -C "$top" --no-print-directory BUILD="$build" "$build/cim-ternary" >&2
mkdir -p "$build/ternary-guest"
"$top/tools/vm/mkinitramfs.sh" -o "$build/ternary-guest/initramfs.cpio.gz" \
	"module:$ko" \
	"file:$build/cim-ternary:/bin/cim-ternary" \
	"dir:$data:/data/mnist" \
	"test:$top/tools/cim-ternary/guest-test.sh:cim-ternary-guest" \
	"test:$top/tests/kselftest/dmesg_check.sh:dmesg_check"
exec "$top/tools/vm/run-tests.sh" \
	--initrd "$build/ternary-guest/initramfs.cpio.gz" \
	--log "$build/ternary-guest/console.log" "$@"
