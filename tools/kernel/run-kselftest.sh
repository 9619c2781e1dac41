#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build cim.ko and the device tests, pack them into a test initramfs
# (build/kernel/initramfs.cpio.gz, next to the VM harness's own) and boot the
# test VM with tools/vm/run-tests.sh, which prints the TAP and fails when a
# test failed. Extra arguments go to run-tests.sh (--filter, --accel, ...).
#
# With CIM_GUEST_KERNEL=debug the guest runs the debug kernel
# (tools/kernel/build-debug-kernel.sh) with cim.ko built against it; the
# initramfs and the console log go to build/kernel/debug/ and the last test
# is tools/kernel/debug-check.sh (kmemleak scan, every checker's reports).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

"$top/tools/vm/fetch-kernel.sh" >/dev/null
ko=$("$top/tools/kernel/build-module.sh")
set -- "$@"
entries="module:$ko"
# Assigned first, so that set -e stops the run when a test does not build
# (a failure inside the for list would only drop the test)
tests=$("$top/tools/kernel/build-kselftest.sh")
# cim_modload first: its leak check reads MemAvailable, which the memory
# other programs leave behind (per-CPU lists, RCU, page cache) moves by
# several MB on a guest that has run them
for t in $tests; do
	case $t in */cim_modload) entries="$entries test:$t:cim_modload" ;; esac
done
for t in $tests; do
	case $t in */cim_modload) continue ;; esac
	entries="$entries test:$t:$(basename "$t")"
done
# Last: the kernel log must be free of warnings
entries="$entries test:$top/tests/kselftest/dmesg_check.sh:dmesg_check"
out=$build/kernel
if [ "${CIM_GUEST_KERNEL:-debian}" = debug ]; then
	out=$build/kernel/debug
	entries="$entries test:$top/tools/kernel/debug-check.sh:debug_check"
	set -- --log "$out/console.log" "$@"
fi
mkdir -p "$out"
# shellcheck disable=SC2086
"$top/tools/vm/mkinitramfs.sh" -o "$out/initramfs.cpio.gz" $entries
exec "$top/tools/vm/run-tests.sh" --initrd "$out/initramfs.cpio.gz" "$@"
