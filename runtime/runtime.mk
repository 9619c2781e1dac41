# libcim: build rules, included by the top-level Makefile.
#
#   build/libcim.so.1.0.0 (soname libcim.so.1, symlinks .so.1 and .so),
#   build/libcim.a, build/cim.pc, build/san/libcim.a (for the sanitized
#   unit tests), build/runtime-guest/cim-runtime-guest.
#
# Both libraries carry the firmware model (the embedded backend runs it),
# compiled -fPIC -fvisibility=hidden for the shared one so that only the
# cim_ API is exported. The unit-test runners link build/libcim.a.

RT_SRCS := $(sort $(wildcard runtime/*.c))
RT_HDRS := include/cim.h runtime/cim_priv.h $(FW_HDRS)
RT_VERSION := 1.1.0
RT_SONAME := libcim.so.1
RT_CFLAGS := $(shell pkg-config --cflags libdrm libudev)
RT_LIBS := $(shell pkg-config --libs libudev libdrm) $(LDLIBS)
RT_PIC := -fPIC -fvisibility=hidden

RT_OBJS := $(patsubst runtime/%.c,$(BUILD)/rt/%.o,$(RT_SRCS))
RT_FW_OBJS := $(patsubst firmware-model/%.c,$(BUILD)/rt/fw/%.o,$(FW_SRCS))
RT_SAN_OBJS := $(patsubst runtime/%.c,$(BUILD)/san/rt/%.o,$(RT_SRCS))
RT_FW_SAN_OBJS := $(patsubst firmware-model/%.c,$(BUILD)/san/fw/%.o,$(FW_SRCS))

.PHONY: runtime check-runtime-guest

runtime: $(BUILD)/libcim.so $(BUILD)/libcim.a $(BUILD)/cim.pc

$(BUILD)/rt/%.o: runtime/%.c $(RT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) $(RT_PIC) $(RT_CFLAGS) -c -o $@ $<

$(BUILD)/rt/fw/%.o: firmware-model/%.c $(FW_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(FW_CFLAGS) $(OPT_CFLAGS) $(RT_PIC) -c -o $@ $<

$(BUILD)/san/rt/%.o: runtime/%.c $(RT_HDRS) Makefile
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) $(RT_CFLAGS) -c -o $@ $<

$(BUILD)/libcim.so.$(RT_VERSION): $(RT_OBJS) $(RT_FW_OBJS)
	$(CC) -shared -Wl,-soname,$(RT_SONAME) -Wl,-z,defs -o $@ $^ $(RT_LIBS)

$(BUILD)/$(RT_SONAME): $(BUILD)/libcim.so.$(RT_VERSION)
	ln -sf $(<F) $@

$(BUILD)/libcim.so: $(BUILD)/$(RT_SONAME)
	ln -sf $(<F) $@

$(BUILD)/libcim.a: $(RT_OBJS) $(RT_FW_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/san/libcim.a: $(RT_SAN_OBJS) $(RT_FW_SAN_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# In-tree: the prefix is this tree, the library is in $(BUILD)
$(BUILD)/cim.pc: runtime/cim.pc.in runtime/runtime.mk
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@LIBDIR@|$(abspath $(BUILD))|' \
		-e 's|@VERSION@|$(RT_VERSION)|' $< > $@

# The unit-test runners carry the runtime suites (tests/unit/test_runtime*)
$(BUILD)/unit-tests: $(BUILD)/libcim.a
$(BUILD)/unit-tests: private BASE_CFLAGS += -Iruntime
$(BUILD)/unit-tests: private LDLIBS := $(BUILD)/libcim.a $(RT_LIBS)
$(BUILD)/san/unit-tests: $(BUILD)/san/libcim.a
$(BUILD)/san/unit-tests: private BASE_CFLAGS += -Iruntime
$(BUILD)/san/unit-tests: private LDLIBS := $(BUILD)/san/libcim.a $(RT_LIBS)

# The guest test: /dev/cim0 against its embedded twin
RT_GUEST_SRCS := $(sort $(wildcard tests/runtime-guest/*.c))

$(BUILD)/runtime-guest/cim-runtime-guest: $(RT_GUEST_SRCS) $(BUILD)/libcim.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -o $@ $(RT_GUEST_SRCS) \
		$(BUILD)/libcim.a $(RT_LIBS)

check-runtime-guest:
	tools/runtime/run-guest.sh

# This file is included among the variables: leave the default goal to the
# Makefile's first target
.DEFAULT_GOAL :=
