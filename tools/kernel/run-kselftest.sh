#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build cim.ko and the device tests, pack them into a test initramfs
# (build/kernel/initramfs.cpio.gz, next to the VM harness's own) and boot the
# test VM with tools/vm/run-tests.sh, which prints the TAP and fails when a
# test failed. Extra arguments go to run-tests.sh (--filter, --accel, ...).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

"$top/tools/vm/fetch-kernel.sh" >/dev/null
ko=$("$top/tools/kernel/build-module.sh")
set -- "$@"
entries="module:$ko"
for t in $("$top/tools/kernel/build-kselftest.sh"); do
	entries="$entries test:$t:$(basename "$t")"
done
# Last: the kernel log must be free of warnings
entries="$entries test:$top/tests/kselftest/dmesg_check.sh:dmesg_check"
# shellcheck disable=SC2086
"$top/tools/vm/mkinitramfs.sh" -o "$build/kernel/initramfs.cpio.gz" $entries
exec "$top/tools/vm/run-tests.sh" --initrd "$build/kernel/initramfs.cpio.gz" "$@"
