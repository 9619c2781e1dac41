# libcim layers (runtime/layers/): linear and conv2d on the crossbars.
# Included by the top-level Makefile after runtime/runtime.mk, whose
# wildcard does not descend into runtime/layers/: the objects are added as
# extra prerequisites of the libraries (their rules link $^) and built by
# runtime.mk's pattern rules.

LAYER_SRCS := $(sort $(wildcard runtime/layers/*.c))
LAYER_HDRS := include/cim_layer.h runtime/layers/layers_priv.h
LAYER_OBJS := $(patsubst runtime/%.c,$(BUILD)/rt/%.o,$(LAYER_SRCS))
LAYER_SAN_OBJS := $(patsubst runtime/%.c,$(BUILD)/san/rt/%.o,$(LAYER_SRCS))

$(LAYER_OBJS) $(LAYER_SAN_OBJS): $(LAYER_HDRS) runtime/cim_priv.h
# the device's reset count (cim_priv.h)
$(LAYER_OBJS) $(LAYER_SAN_OBJS): private RT_CFLAGS += -Iruntime

$(BUILD)/libcim.so.$(RT_VERSION) $(BUILD)/libcim.a: $(LAYER_OBJS)
$(BUILD)/san/libcim.a: $(LAYER_SAN_OBJS)
$(BUILD)/unit-tests $(BUILD)/san/unit-tests: $(LAYER_HDRS)

# The linear-layer benchmark links libcim (the generic bench rule links
# only the firmware model) and OpenBLAS for its GEMM baseline.
$(BUILD)/bench/bench_linear: bench/bench_linear.c bench/bench.h \
		$(BUILD)/libcim.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O3 -march=native -o $@ $< $(BUILD)/libcim.a \
		$(RT_LIBS)
