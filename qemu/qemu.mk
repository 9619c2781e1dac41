# SPDX-License-Identifier: MIT
#
# The QEMU device's host-side tests, without a guest (qtest accelerator).
# Included by the top Makefile, which provides the "qemu" target
# (qemu/build-qemu.sh).
#
#   make check-qemu   qtest-smoke.py, qtest-hardening.py and a short,
#                     fixed-seed qtest-fuzz.py run (about 2 minutes in all)
#   make fuzz-qemu    qtest-fuzz.py for FUZZ_TIME seconds (default 1800)
#                     from a random seed, or FUZZ_SEED=n

FUZZ_TIME ?= 1800
FUZZ_SEED ?=

.PHONY: check-qemu fuzz-qemu

check-qemu: qemu
	qemu/tests/qtest-smoke.py
	qemu/tests/qtest-hardening.py
	qemu/tests/qtest-fuzz.py

fuzz-qemu: qemu
	qemu/tests/qtest-fuzz.py --time $(FUZZ_TIME) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))
