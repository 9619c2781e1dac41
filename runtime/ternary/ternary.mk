# libcim ternary compiler (runtime/ternary/): ternary layers on the APs.
# Included by the top-level Makefile after runtime/runtime.mk, like
# runtime/layers/layers.mk: the objects are extra prerequisites of the
# libraries, built by runtime.mk's pattern rules.
#
#   build/cim-ternary     tools/cim-ternary/: ResNet-18 at ImageNet shapes;
#                         "train": a small ternary CNN on MNIST/Fashion
#   make ternary-mnist    train on MNIST 8k, run on the APs (embedded)
#   make ternary-fashion  the same on Fashion-MNIST 60k/10k
#   make check-ternary    a short train run: 0 AP/software mismatches (host),
#                         once more built with ASan and UBSan
#   make check-ternary-vm the same through /dev/cim0 in the guest

TERNARY_SRCS := $(sort $(wildcard runtime/ternary/*.c))
TERNARY_HDRS := include/cim_ternary.h
TERNARY_PRIV_HDRS := runtime/ternary/ternary_priv.h
TERNARY_OBJS := $(patsubst runtime/%.c,$(BUILD)/rt/%.o,$(TERNARY_SRCS))
TERNARY_SAN_OBJS := $(patsubst runtime/%.c,$(BUILD)/san/rt/%.o,$(TERNARY_SRCS))

$(TERNARY_OBJS) $(TERNARY_SAN_OBJS): $(TERNARY_HDRS) $(TERNARY_PRIV_HDRS)

$(BUILD)/libcim.so.$(RT_VERSION) $(BUILD)/libcim.a: $(TERNARY_OBJS)
$(BUILD)/san/libcim.a: $(TERNARY_SAN_OBJS)
$(BUILD)/unit-tests $(BUILD)/san/unit-tests: $(TERNARY_HDRS)

# train reads its data with tools/common/ (shared with cim-train)
CIM_TERNARY_SRCS := $(sort $(wildcard tools/cim-ternary/*.c)) \
	$(TOOL_COMMON_SRCS)
CIM_TERNARY_HDRS := $(wildcard tools/cim-ternary/*.h) $(TOOL_COMMON_HDRS)

$(BUILD)/cim-ternary: $(CIM_TERNARY_SRCS) $(CIM_TERNARY_HDRS) \
		$(TERNARY_HDRS) $(BUILD)/libcim.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -Itools/common -o $@ \
		$(CIM_TERNARY_SRCS) \
		$(BUILD)/libcim.a $(RT_LIBS)

# The same tool under ASan and UBSan, for check-ternary's short run: the
# unit tests do not cover tools/cim-ternary/
$(BUILD)/san/cim-ternary: $(CIM_TERNARY_SRCS) $(CIM_TERNARY_HDRS) \
		$(TERNARY_HDRS) $(BUILD)/san/libcim.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) -Itools/common -o $@ \
		$(CIM_TERNARY_SRCS) \
		$(BUILD)/san/libcim.a $(RT_LIBS)

.PHONY: ternary-mnist ternary-fashion check-ternary check-ternary-vm

ternary-mnist: $(BUILD)/cim-ternary
	@tools/data/fetch-mnist.sh >/dev/null
	$(BUILD)/cim-ternary train --dataset mnist

ternary-fashion: $(BUILD)/cim-ternary
	@tools/data/fetch-fashion-mnist.sh >/dev/null
	$(BUILD)/cim-ternary train --dataset fashion

check-ternary: $(BUILD)/cim-ternary $(BUILD)/san/cim-ternary
	tools/cim-ternary/test-train.sh $(BUILD)/cim-ternary \
		$(BUILD)/san/cim-ternary

check-ternary-vm:
	tools/cim-ternary/run-guest.sh

# One ResNet-18 image, bit-true, on the embedded backend (issue 7's 60 s
# target). It links libcim (the generic bench rule links only the firmware
# model): this explicit rule takes precedence over that pattern rule.
$(BUILD)/bench/bench_ternary: bench/bench_ternary.c bench/bench.h \
		$(BUILD)/libcim.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O3 -march=native -o $@ $< $(BUILD)/libcim.a \
		$(RT_LIBS)
