# cimctl: build rules, included by the top-level Makefile after
# runtime/runtime.mk (it links build/libcim.a).
#
#   build/cimctl            the tool (libcim linked in statically)
#   build/san/cimctl        the same under ASan+UBSan, for the host test
#   make check-cimctl       tests/cimctl/test-cimctl.sh on the host, with
#                           -d embedded, against both binaries
#   make check-cimctl-vm    tests/cimctl/guest-cimctl.sh in the test VM,
#                           against /dev/cim0 (tools/cimctl/run-guest.sh)
#   make cimctl-man         render tools/cimctl/cimctl.1 and check it

CIMCTL_SRCS := tools/cimctl/cimctl.c tools/cimctl/characterize.c
CIMCTL_HDRS := tools/cimctl/cimctl.h include/cim.h include/cim_hw.h

.PHONY: cimctl check-cimctl check-cimctl-vm cimctl-man

cimctl: $(BUILD)/cimctl

$(BUILD)/cimctl: $(CIMCTL_SRCS) $(CIMCTL_HDRS) $(BUILD)/libcim.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -o $@ $(CIMCTL_SRCS) \
		$(BUILD)/libcim.a $(RT_LIBS)

$(BUILD)/san/cimctl: $(CIMCTL_SRCS) $(CIMCTL_HDRS) $(BUILD)/san/libcim.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) -o $@ $(CIMCTL_SRCS) \
		$(BUILD)/san/libcim.a $(RT_LIBS)

check-cimctl: $(BUILD)/cimctl $(BUILD)/san/cimctl
	CIMCTL=$(BUILD)/cimctl tests/cimctl/test-cimctl.sh
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		CIMCTL=$(BUILD)/san/cimctl tests/cimctl/test-cimctl.sh

check-cimctl-vm: $(BUILD)/cimctl
	tools/cimctl/run-guest.sh

cimctl-man:
	groff -ww -z -man tools/cimctl/cimctl.1
	MANWIDTH=80 man -l tools/cimctl/cimctl.1 > /dev/null

# This file is included among the variables: leave the default goal to the
# Makefile's first target
.DEFAULT_GOAL :=
