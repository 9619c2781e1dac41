# cim: user-space build. The kernel module is built by Kbuild.
#
#   make run          install dependencies, then run the main job (cim-train)
#   make demo         a short tour of the firmware model (cim-demo)
#   make check        install dependencies, then run every test
#   make check-unit   host unit tests (Check), plain and under ASan+UBSan
#   make check-vm     device tests in a QEMU guest: bring-up, then cim.ko
#                     and its kselftests
#   make module-check cim.ko with W=1, sparse and checkpatch --strict
#   make check-vm-debug the kselftests on a debug kernel (KASAN, lockdep...)
#   make vm-shell     an interactive guest with the cim devices attached
#   make bench        benchmarks, one "bench <name>: ..." line each
#
# Long runs, each with a short version in make check
# (Documentation/testing.rst):
#   make fuzz         libFuzzer on the command processor (FUZZ_TIME)
#   make fuzz-qemu    the qtest fuzzer of cim-pci (FUZZ_TIME)
#   make fuzz-guest   the uAPI fuzzer of /dev/cimN in the guest (STRESS_TIME)
#   make fault-matrix faults, resets, unbind and removal under load

CC ?= gcc
BUILD ?= build

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# -ffp-contract=off: no fused multiply-add, so every build of the model
# (QEMU's, the runtime's, the tests') rounds the same way.
BASE_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -g -ffp-contract=off $(WARN) \
	-Iinclude
# The model's private headers: for its own sources and white-box tests only;
# everyone else sees include/cimfw.h
FW_CFLAGS := -Ifirmware-model
OPT_CFLAGS := -O2
SAN_CFLAGS := -O1 \
	-fsanitize=address,undefined,float-cast-overflow,float-divide-by-zero \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
BLAS_LIBS := -lopenblas
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS = $(shell pkg-config --libs check)
LDLIBS := $(BLAS_LIBS) -lm -lpthread

FW_SRCS := $(sort $(wildcard firmware-model/*.c))
FW_HDRS := $(wildcard firmware-model/*.h) $(wildcard include/*.h)
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_HDRS := $(wildcard tests/unit/*.h)
# The model's white-box tests, in the same runner (they use tests/unit/'s
# harness)
FW_TEST_SRCS := $(sort $(wildcard firmware-model/tests/*.c))
FW_TEST_OBJS := $(patsubst firmware-model/tests/%.c,$(BUILD)/fw-tests/%.o,\
	$(FW_TEST_SRCS))
FW_TEST_SAN_OBJS := $(patsubst firmware-model/tests/%.c,\
	$(BUILD)/san/fw-tests/%.o,$(FW_TEST_SRCS))
# bench/ and the model's own (firmware-model/bench/: its internal kernels)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
FW_BENCH_SRCS := $(sort $(wildcard firmware-model/bench/*.c))
BENCHES := $(patsubst %.c,$(BUILD)/bench/%,\
	$(notdir $(BENCH_SRCS) $(FW_BENCH_SRCS)))
# tools/common/: the IDX reader and what the command-line tools share
TOOL_COMMON_SRCS := $(sort $(wildcard tools/common/*.c))
TOOL_COMMON_HDRS := $(wildcard tools/common/*.h)
include runtime/runtime.mk
include tools/cimctl/cimctl.mk
include runtime/layers/layers.mk
include runtime/ternary/ternary.mk
include tools/cim-train/cim-train.mk
include firmware-model/tests/fuzz/fuzz.mk
include qemu/qemu.mk
include tools/stress/stress.mk
include tools/kernel/debug-kernel.mk

.PHONY: all deps run demo check check-unit check-vm vm-prep vm-shell qemu module \
	module-check bench bench-train bench-guest clean

all: $(BUILD)/libcimfw.a $(BUILD)/libcim.a $(BUILD)/cim-demo $(BUILD)/cimctl \
	$(BUILD)/unit-tests

deps:
	@tools/install-deps.sh

# The main job: LeNet-5 trained on the embedded device, next to fp32
run: deps
	@$(MAKE) --no-print-directory train-mnist

demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/cim-demo
	$(BUILD)/cim-demo

check: deps
	@$(MAKE) --no-print-directory check-unit
	@$(MAKE) --no-print-directory module-check
	@$(MAKE) --no-print-directory check-vm
	@$(MAKE) --no-print-directory check-vm-debug

check-unit: $(BUILD)/unit-tests $(BUILD)/san/unit-tests
	$(BUILD)/unit-tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(BUILD)/san/unit-tests
	@$(MAKE) --no-print-directory check-cimctl cimctl-man check-train \
		check-ternary check-fuzz

# The guest: QEMU with cim-pci, Debian's kernel, a busybox initramfs
BRINGUP_SRCS := $(sort $(wildcard tests/bringup/*.c))

$(BUILD)/bringup/cim-bringup: $(BRINGUP_SRCS) $(wildcard tests/bringup/*.h) \
		firmware-model/config.c firmware-model/cost.c \
		firmware-model/devices.c $(FW_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -o $@ $(BRINGUP_SRCS) \
		firmware-model/config.c firmware-model/cost.c \
		firmware-model/devices.c -lm

qemu:
	@qemu/build-qemu.sh

vm-prep: qemu $(BUILD)/bringup/cim-bringup
	@tools/vm/fetch-kernel.sh >/dev/null
	@tools/vm/mkinitramfs.sh -m tests/bringup/manifest

check-vm: vm-prep
	@$(MAKE) --no-print-directory check-qemu
	tools/vm/run-tests.sh
	tools/kernel/run-kselftest.sh
	tools/runtime/run-guest.sh
	tools/cimctl/run-guest.sh
	tools/cim-train/run-guest.sh
	tools/cim-ternary/run-guest.sh
	@$(MAKE) --no-print-directory check-stress
	@$(MAKE) --no-print-directory fault-matrix FAULTS_TIME=2

vm-shell: deps vm-prep
	@tools/vm/shell.sh

module:
	@tools/kernel/build-module.sh

module-check:
	@tools/kernel/build-module.sh check

bench: deps
	@$(MAKE) --no-print-directory $(BENCHES)
	@set -e; for b in $(BENCHES); do echo "== $$b"; $$b; done
	@$(MAKE) --no-print-directory bench-train bench-guest

# One epoch of MNIST 8k: cim-train (embedded) against LeNet-5 in PyTorch fp32
bench-train:
	@BUILD=$(BUILD) bench/train/bench_train.sh

# Submission latency through cim.ko, measured inside the guest
bench-guest: qemu
	@tools/kernel/run-bench.sh

# The firmware model, optimised and sanitized
$(BUILD)/fw/%.o: firmware-model/%.c $(FW_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(FW_CFLAGS) $(OPT_CFLAGS) -c -o $@ $<

# The sanitizer flags change more often than the sources
$(BUILD)/san/fw/%.o: firmware-model/%.c $(FW_HDRS) Makefile
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(FW_CFLAGS) $(SAN_CFLAGS) -c -o $@ $<

FW_OBJS := $(patsubst firmware-model/%.c,$(BUILD)/fw/%.o,$(FW_SRCS))
FW_SAN_OBJS := $(patsubst firmware-model/%.c,$(BUILD)/san/fw/%.o,$(FW_SRCS))

$(BUILD)/libcimfw.a: $(FW_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/san/libcimfw.a: $(FW_SAN_OBJS)
	$(AR) rcs $@ $^

# The model's white-box tests see its private headers and the harness
$(BUILD)/fw-tests/%.o: firmware-model/tests/%.c $(UNIT_HDRS) $(FW_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(FW_CFLAGS) -Itests/unit $(OPT_CFLAGS) \
		$(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/san/fw-tests/%.o: firmware-model/tests/%.c $(UNIT_HDRS) $(FW_HDRS) \
		Makefile
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(FW_CFLAGS) -Itests/unit $(SAN_CFLAGS) \
		$(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/unit-tests: $(UNIT_SRCS) $(UNIT_HDRS) $(FW_TEST_OBJS) \
		$(BUILD)/libcimfw.a
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) $(CHECK_CFLAGS) -o $@ $(UNIT_SRCS) \
		$(FW_TEST_OBJS) $(BUILD)/libcimfw.a $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/san/unit-tests: $(UNIT_SRCS) $(UNIT_HDRS) $(FW_TEST_SAN_OBJS) \
		$(BUILD)/san/libcimfw.a
	$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) $(CHECK_CFLAGS) -o $@ $(UNIT_SRCS) \
		$(FW_TEST_SAN_OBJS) $(BUILD)/san/libcimfw.a $(CHECK_LIBS) \
		$(LDLIBS)

$(BUILD)/cim-demo: tools/cim-demo.c $(BUILD)/libcimfw.a
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -o $@ $< $(BUILD)/libcimfw.a $(LDLIBS)

# The model's benchmarks measure its internal kernels
$(BUILD)/bench/%: firmware-model/bench/%.c bench/bench.h $(BUILD)/libcimfw.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(FW_CFLAGS) -Ibench -O3 -march=native -o $@ $< \
		$(BUILD)/libcimfw.a $(LDLIBS)

clean:
	rm -rf $(BUILD)
