#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest test of cim-train: build cim.ko and cim-train, pack them with the
# MNIST IDX files and tools/cim-train/guest-test.sh into an initramfs of
# their own (build/train-guest/initramfs.cpio.gz) and boot the test VM with
# tools/vm/run-tests.sh (devices cim-pci,seed=1 and a second one). The test
# runs one epoch on 1,000 images on /dev/cim0 and on the embedded backend
# and compares the numbers. Mirrors tools/runtime/run-guest.sh; extra
# arguments go to run-tests.sh.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

"$top/tools/vm/fetch-kernel.sh" >/dev/null
data=$(BUILD="$build" "$top/tools/data/fetch-mnist.sh")
ko=$("$top/tools/kernel/build-module.sh")
make -C "$top" --no-print-directory BUILD="$build" "$build/cim-train" >&2
mkdir -p "$build/train-guest"
"$top/tools/vm/mkinitramfs.sh" -o "$build/train-guest/initramfs.cpio.gz" \
	"module:$ko" \
	"file:$build/cim-train:/bin/cim-train" \
	"dir:$data:/data/mnist" \
	"test:$top/tools/cim-train/guest-test.sh:cim-train-guest" \
	"test:$top/tests/kselftest/dmesg_check.sh:dmesg_check"
exec "$top/tools/vm/run-tests.sh" \
	--initrd "$build/train-guest/initramfs.cpio.gz" \
	--log "$build/train-guest/console.log" "$@"
