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

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

"$top/tools/vm/fetch-kernel.sh" >/dev/null
ko=$("$top/tools/kernel/build-module.sh")
make -C "$top" --no-print-directory BUILD="$build" \
	"$build/runtime-guest/cim-runtime-guest" >&2
"$top/tools/vm/mkinitramfs.sh" -o "$build/runtime-guest/initramfs.cpio.gz" \
	"module:$ko" \
	"test:$build/runtime-guest/cim-runtime-guest:cim-runtime-guest" \
	"test:$top/tests/kselftest/dmesg_check.sh:dmesg_check"
exec "$top/tools/vm/run-tests.sh" \
	--initrd "$build/runtime-guest/initramfs.cpio.gz" \
	--log "$build/runtime-guest/console.log" "$@"
