#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The device tests on the debug kernel (make check-vm-debug;
# Documentation/debug-kernel.rst): builds the kernel when it is not cached
# (tools/kernel/build-debug-kernel.sh: KASAN, KFENCE, lockdep, kmemleak,
# DMA-API debug, UBSAN, SLUB debug, list debug), cim.ko against it with the
# usual W=1 flags, then boots the test VM on it with the kselftests
# (tools/kernel/run-kselftest.sh: cim.ko loaded at boot, the device tests
# with cim_modload's load/unload cycles, dmesg_check, then debug_check, which
# triggers a kmemleak scan and fails on any checker's report), and finally
# scans the serial console on the host for the same reports.
#
# usage: run-debug.sh [run-tests.sh options]   (--accel, --filter, ...)
#
# Environment: CIM_DEBUG_TIMEOUT (the whole VM, default 1800 s),
# CIM_DEBUG_TEST_TIMEOUT (each test program, default 900 s: KASAN under TCG
# is slow), CIM_DEBUG_SUITES (more guest suites to run on the debug kernel,
# tools/<name>/run-guest.sh, for example "runtime cimctl"; their consoles
# are scanned too), BUILD, CIM_CACHE.
#
# Output: the TAP and summaries; the reports found, if any, also in
# build/kernel/debug/reports.txt. Exits non-zero when a test failed or the
# kernel reported anything.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
out=$build/kernel/debug

say() { echo "run-debug: $*" >&2; }

export CIM_GUEST_KERNEL=debug
t0=$(date +%s)
dbg=$("$top/tools/kernel/build-debug-kernel.sh")
say "kernel $(sed -n 's/^KVER=//p' "$dbg/kernel.env") from $dbg"
t1=$(date +%s)
# A first module build here, so that a compiler warning stops the run early
"$top/tools/kernel/build-module.sh" >/dev/null

mkdir -p "$out"
stamp=$out/.run-start
touch "$stamp"
status=0
"$top/tools/kernel/run-kselftest.sh" \
	--timeout "${CIM_DEBUG_TIMEOUT:-1800}" \
	--test-timeout "${CIM_DEBUG_TEST_TIMEOUT:-900}" "$@" || status=1
for s in ${CIM_DEBUG_SUITES:-}; do
	[ -x "$top/tools/$s/run-guest.sh" ] || {
		say "no suite tools/$s/run-guest.sh"
		status=1
		continue
	}
	"$top/tools/$s/run-guest.sh" --timeout "${CIM_DEBUG_TIMEOUT:-1800}" \
		--test-timeout "${CIM_DEBUG_TEST_TIMEOUT:-900}" "$@" || status=1
done

# The consoles of this run: the guest's checks saw only the kernel log of
# the kselftest VM, and a report can come after they ran
: > "$out/reports.txt"
find "$out/console.log" "$build"/debug/*/console.log -newer "$stamp" \
	2>/dev/null | while read -r log; do
	if ! "$top/tools/kernel/debug-check.sh" --scan "$log" > "$out/scan.tmp"; then
		{
			echo "== ${log#"$top"/}"
			cat "$out/scan.tmp"
		} >> "$out/reports.txt"
	fi
done
rm -f "$out/scan.tmp" "$stamp"
if [ -s "$out/reports.txt" ]; then
	say "kernel reports on the console (first 40 lines of each):"
	cat "$out/reports.txt" >&2
	status=1
fi
t2=$(date +%s)
echo "== debug kernel: $((t1 - t0)) s to get it, $((t2 - t1)) s of tests"
[ $status -eq 0 ] && echo "== debug kernel: PASS" || echo "== debug kernel: FAIL"
exit $status
