# Stress tests in the test VM: the uAPI fuzzer.
# Included by the top-level Makefile after the other fragments.
#
#   make check-stress   tests/stress/cim_fuzz.c for about 60 s with a fixed
#                       seed (STRESS_SEED, default 1; STRESS_TIME), then the
#                       kernel log check (tools/stress/run-guest.sh)
#   make fuzz-guest     the same, long: a random seed, printed, and
#                       STRESS_TIME seconds (default 600)

.PHONY: check-stress fuzz-guest

check-stress: qemu
	BUILD=$(BUILD) tools/stress/run-guest.sh

fuzz-guest: qemu
	BUILD=$(BUILD) tools/stress/run-guest.sh --long

# This file is included among the variables: leave the default goal to the
# Makefile's first target
.DEFAULT_GOAL :=
