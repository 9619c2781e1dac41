# Stress tests in the test VM: the uAPI fuzzer and the fault matrix.
# Included by the top-level Makefile after the other fragments.
#
#   make check-stress   tests/stress/cim_fuzz.c for about 60 s with a fixed
#                       seed (STRESS_SEED, default 1; STRESS_TIME), then the
#                       kernel log check (tools/stress/run-guest.sh)
#   make fuzz-guest     the same, long: a random seed, printed, and
#                       STRESS_TIME seconds (default 600)
#   make fault-matrix   tests/stress/cim_faults.c under injected faults,
#                       resets, unbind and surprise removal; writes the
#                       table to build/stress-faults/fault-matrix.rst
#                       (tools/stress/run-faults.sh)

.PHONY: check-stress fuzz-guest fault-matrix

check-stress: qemu
	BUILD=$(BUILD) tools/stress/run-guest.sh

fuzz-guest: qemu
	BUILD=$(BUILD) tools/stress/run-guest.sh --long

fault-matrix: qemu
	BUILD=$(BUILD) tools/stress/run-faults.sh

# This file is included among the variables: leave the default goal to the
# Makefile's first target
.DEFAULT_GOAL :=
