#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The fault matrix: build cim.ko and tests/stress/cim_faults.c, pack them
# with tests/kselftest/dmesg_check.sh into build/stress-faults/ and boot the
# test VM with two cim-pci devices with fault injection, the second behind a
# pcie-root-port (id rp1) so that it can be unplugged. While the guest runs,
# this script watches its console: on "@@CIM-UNPLUG@@" it sends QMP
# device_del for that device, on "@@CIM-REPLUG@@" device_add, through the
# monitor socket build/stress-faults/qmp.sock. Afterwards it writes the
# matrix as a reStructuredText table to build/stress-faults/fault-matrix.rst
# and prints it, with the result of the kernel log checks.
#
# usage: run-faults.sh [run-tests.sh arguments]
# Environment: FAULTS_TIME (seconds per phase, default 8), FAULTS_PROCS
# (workers per device, default 2), FAULTS_PHASES (comma-separated, default
# all), FAULTS_UNPLUG (auto: when QEMU has pcie-root-port; 0 or 1).
#
# With CIM_GUEST_KERNEL=debug (KASAN, lockdep, kmemleak) it runs on the
# debug kernel, in build/debug/stress-faults/, and ends with
# tools/kernel/debug-check.sh (a kmemleak scan).
#
# Without pcie-root-port in the QEMU build the matrix runs without the
# unplug phase (the build needs CONFIG_PCIE_PORT=y, which
# qemu/qemu-7.2-cim.patch sets in configs/devices/x86_64-softmmu).
set -eu

# shellcheck source=tools/vm/suite.sh
. "$(dirname "$0")/../vm/suite.sh"

out=$suites/stress-faults
phase_time=${FAULTS_TIME:-8}
procs=${FAULTS_PROCS:-2}
phases=${FAULTS_PHASES:-}
unplug=${FAULTS_UNPLUG:-auto}
qemu=${QEMU:-$build/qemu/qemu-system-x86_64}

guest_prepare
bins=$(BUILD="$build" "$top/tools/stress/build.sh")
faults=$(echo "$bins" | grep '/cim_faults$')
mkdir -p "$out"
# On the debug kernel, last: its checkers' reports and a kmemleak scan
debug_check=
if [ "${CIM_GUEST_KERNEL:-debian}" = debug ]; then
	debug_check="test:$top/tools/kernel/debug-check.sh:debug_check"
fi
# shellcheck disable=SC2086 # $debug_check: one word or none
"$top/tools/vm/mkinitramfs.sh" -o "$out/initramfs.cpio.gz" \
	"module:$ko" \
	"test:$faults:cim_faults" \
	"test:$top/tests/kselftest/dmesg_check.sh:dmesg_check" $debug_check

if [ "$unplug" = auto ]; then
	unplug=0
	if "$qemu" -device help 2>/dev/null | grep -q '"pcie-root-port"'; then
		unplug=1
	else
		echo "run-faults: $qemu has no pcie-root-port: no unplug phase" >&2
	fi
fi

devices=(--device "cim-pci,seed=1,fault-injection=on")
if [ "$unplug" = 1 ]; then
	devices+=(--device "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1"
		--device "cim-pci,seed=2,fault-injection=on,bus=rp1,id=cimhp")
else
	devices+=(--device "cim-pci,seed=2,fault-injection=on")
fi
qmp=$out/qmp.sock
rm -f "$qmp"
log=$out/console.log
: > "$log"

CIM_VM_APPEND="${CIM_VM_APPEND:-} CIM_FAULTS_TIME=$phase_time CIM_FAULTS_PROCS=$procs CIM_UNPLUG=$unplug${phases:+ CIM_FAULTS_PHASES=$phases}"
export CIM_VM_APPEND

# The host's half of the unplug phase: answer the guest's markers
watch() {
	local done_unplug=0 done_replug=0 n=0
	while [ $n -lt 3000 ]; do
		if [ $done_unplug = 0 ] && grep -qa '@@CIM-UNPLUG@@' "$log" 2>/dev/null; then
			echo "run-faults: $(date +%T.%N | cut -c1-12) QMP device_del cimhp" >&2
			"$top/tools/stress/qmp.py" "$qmp" device_del '{"id": "cimhp"}' >&2 || true
			done_unplug=1
		fi
		if [ $done_replug = 0 ] && grep -qa '@@CIM-REPLUG@@' "$log" 2>/dev/null; then
			echo "run-faults: $(date +%T.%N | cut -c1-12) QMP device_add cim-pci on rp1" >&2
			"$top/tools/stress/qmp.py" "$qmp" device_add \
				'{"driver": "cim-pci", "id": "cimhp2", "bus": "rp1", "seed": 2, "fault-injection": true}' >&2 || true
			done_replug=1
		fi
		[ $done_replug = 1 ] && return 0
		sleep 0.2
		n=$((n + 1))
	done
}

watcher=
if [ "$unplug" = 1 ]; then
	watch &
	watcher=$!
fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
rc=0
"$top/tools/vm/run-tests.sh" --initrd "$out/initramfs.cpio.gz" --log "$log" \
	--test-timeout 1500 --timeout 1800 "${devices[@]}" "$@" \
	-- -qmp "unix:$qmp,server=on,wait=off" || rc=$?
if [ -n "$watcher" ]; then
	kill "$watcher" 2>/dev/null || true
	wait "$watcher" 2>/dev/null || true
fi

# The matrix, as a table for Documentation/fault-matrix.rst
tap=${log%.log}.tap
{
	echo "Measured $started with"
	echo "\`\`${CIM_GUEST_KERNEL:+CIM_GUEST_KERNEL=$CIM_GUEST_KERNEL }FAULTS_TIME=$phase_time FAULTS_PROCS=$procs${phases:+ FAULTS_PHASES=$phases} tools/stress/run-faults.sh\`\`"
	echo "(unplug phase: $([ "$unplug" = 1 ] && echo yes || echo no))."
	echo
	awk -F'|' '
	/@@MATRIX@@/ {
		n++
		ph[n] = $2; what[n] = $3; s[n] = $4; c[n] = $5; d[n] = $6
		l[n] = $7; w[n] = $8; det[n] = $9
	}
	END {
		print "=========== ========= ======= ========= ==== ====="
		print "phase       submitted correct doc. err  lost wrong"
		print "=========== ========= ======= ========= ==== ====="
		for (i = 1; i <= n; i++)
			printf "%-11s %9s %7s %9s %4s %5s\n", ph[i], s[i], c[i], d[i], l[i], w[i]
		print "=========== ========= ======= ========= ==== ====="
		print ""
		for (i = 1; i <= n; i++)
			printf "``%s``\n  %s. %s\n\n", ph[i], what[i], det[i]
	}' "$tap"
	echo "Kernel log check (dmesg_check.sh): $(grep -a '^\(not \)\?ok .*selftests: cim: dmesg_check' "$tap" |
		sed 's/ [0-9]* selftests: cim: dmesg_check//')."
	echo "Suite: $(grep -a '^\(not \)\?ok .*selftests: cim: cim_faults' "$tap" |
		sed 's/ [0-9]* selftests: cim: cim_faults//')."
	if [ -n "$debug_check" ]; then
		echo "Debug kernel check (debug-check.sh, kmemleak): $(grep -a '^\(not \)\?ok .*selftests: cim: debug_check' "$tap" |
			sed 's/ [0-9]* selftests: cim: debug_check//')."
	fi
} | tr -d '\r' > "$out/fault-matrix.rst"
cat "$out/fault-matrix.rst"
exit $rc
