#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run cimctl's guest test (tests/cimctl/guest-cimctl.sh) in the test VM:
# build cim.ko and cimctl, pack them with the test into an initramfs of its
# own (build/cimctl-vm/initramfs.cpio.gz) and boot it with
# tools/vm/run-tests.sh (two cim-pci devices, seeds 1 and 2), which prints
# the TAP and fails when a test failed. Extra arguments go to run-tests.sh.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
out=$build/cimctl-vm

"$top/tools/vm/fetch-kernel.sh" >/dev/null
ko=$("$top/tools/kernel/build-module.sh")
make -C "$top" --no-print-directory "$build/cimctl" >&2
mkdir -p "$out"
"$top/tools/vm/mkinitramfs.sh" -o "$out/initramfs.cpio.gz" \
	"module:$ko" "file:$build/cimctl:/usr/bin/cimctl" \
	"test:$top/tests/cimctl/guest-cimctl.sh:cimctl"
exec "$top/tools/vm/run-tests.sh" --initrd "$out/initramfs.cpio.gz" \
	--log "$out/console.log" "$@"
