#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The fuzzer suite: build cim.ko and tests/stress/cim_fuzz.c, pack them with
# tests/kselftest/dmesg_check.sh (last: the kernel log must be clean) into
# an initramfs of their own (build/stress-vm/initramfs.cpio.gz) and boot the
# test VM with tools/vm/run-tests.sh (two cim-pci devices, seeds 1 and 2,
# fault injection on the second), which prints the TAP and fails when a
# check failed.
#
# usage: run-guest.sh [--long] [run-tests.sh arguments]
#   short (default): seed STRESS_SEED (default 1), STRESS_TIME seconds
#                    (default 60) of fuzzing
#   --long:          a random seed (printed; STRESS_SEED overrides it) and
#                    STRESS_TIME seconds (default 600)
# STRESS_THREADS (default 4) and STRESS_FILES (default 3) go to the fuzzer,
# and for cutting a failure down STRESS_ITERATIONS (operations per thread,
# instead of the time), STRESS_RACE=0 (no race threads, no signals) and
# STRESS_LOG_OPS=1 (every operation on the console).
# With CIM_GUEST_KERNEL=debug (KASAN, lockdep, kmemleak) the suite runs on
# the debug kernel and ends with tools/kernel/debug-check.sh.
# Replay a failure with the seed it printed:
#   STRESS_SEED=<seed> STRESS_TIME=<s> tools/stress/run-guest.sh
set -eu

# shellcheck source=tools/vm/suite.sh
. "$(dirname "$0")/../vm/suite.sh"

mode=short
if [ "${1:-}" = --long ]; then
	mode=long
	shift
fi
if [ $mode = long ]; then
	seed=${STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	time=${STRESS_TIME:-600}
else
	seed=${STRESS_SEED:-1}
	time=${STRESS_TIME:-60}
fi
threads=${STRESS_THREADS:-4}
files=${STRESS_FILES:-3}
echo "stress: $mode run, seed $seed, $time s, $threads threads x $files files" >&2

guest_prepare
bins=$(BUILD="$build" "$top/tools/stress/build.sh")
fuzz=$(echo "$bins" | grep '/cim_fuzz$')
# On the debug kernel, last: its checkers' reports and a kmemleak scan
debug_check=
if [ "${CIM_GUEST_KERNEL:-debian}" = debug ]; then
	debug_check="test:$top/tools/kernel/debug-check.sh:debug_check"
fi
# shellcheck disable=SC2086 # $debug_check: one word or none
"$top/tools/vm/mkinitramfs.sh" -o "$(guest_initrd stress-vm)" \
	"module:$ko" \
	"test:$fuzz:cim_fuzz" \
	"test:$top/tests/kselftest/dmesg_check.sh:dmesg_check" $debug_check
# The fuzzer reads its settings from the environment /init hands on
CIM_VM_APPEND="${CIM_VM_APPEND:-} CIM_FUZZ_SEED=$seed CIM_FUZZ_TIME=$time CIM_FUZZ_THREADS=$threads CIM_FUZZ_FILES=$files"
[ -n "${STRESS_ITERATIONS:-}" ] &&
	CIM_VM_APPEND="$CIM_VM_APPEND CIM_FUZZ_ITERATIONS=$STRESS_ITERATIONS"
[ -n "${STRESS_RACE:-}" ] && CIM_VM_APPEND="$CIM_VM_APPEND CIM_FUZZ_RACE=$STRESS_RACE"
[ -n "${STRESS_LOG_OPS:-}" ] &&
	CIM_VM_APPEND="$CIM_VM_APPEND CIM_FUZZ_LOG_OPS=$STRESS_LOG_OPS"
export CIM_VM_APPEND
guest_boot stress-vm --test-timeout $((time + 180)) --timeout $((time + 400)) "$@"
