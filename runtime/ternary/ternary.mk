# libcim ternary compiler (runtime/ternary/): ternary layers on the APs.
# Included by the top-level Makefile after runtime/runtime.mk, like
# runtime/layers/layers.mk: the objects are extra prerequisites of the
# libraries, built by runtime.mk's pattern rules.
#
#   build/cim-ternary   tools/cim-ternary/: ResNet-18 at ImageNet shapes

TERNARY_SRCS := $(sort $(wildcard runtime/ternary/*.c))
TERNARY_HDRS := include/cim_ternary.h
TERNARY_OBJS := $(patsubst runtime/%.c,$(BUILD)/rt/%.o,$(TERNARY_SRCS))
TERNARY_SAN_OBJS := $(patsubst runtime/%.c,$(BUILD)/san/rt/%.o,$(TERNARY_SRCS))

$(TERNARY_OBJS) $(TERNARY_SAN_OBJS): $(TERNARY_HDRS)

$(BUILD)/libcim.so.$(RT_VERSION) $(BUILD)/libcim.a: $(TERNARY_OBJS)
$(BUILD)/san/libcim.a: $(TERNARY_SAN_OBJS)
$(BUILD)/unit-tests $(BUILD)/san/unit-tests: $(TERNARY_HDRS)

CIM_TERNARY_SRCS := $(sort $(wildcard tools/cim-ternary/*.c))

$(BUILD)/cim-ternary: $(CIM_TERNARY_SRCS) $(BUILD)/libcim.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -o $@ $(CIM_TERNARY_SRCS) \
		$(BUILD)/libcim.a $(RT_LIBS)
