# Coverage-guided fuzzing of the command processor
# (firmware-model/tests/fuzz/README.rst).
# Included by the top Makefile; clang-14 and libclang-rt-14-dev (libFuzzer)
# come from tools/install-deps.sh.
#
#   make check-fuzz   the seed corpus, then a short fixed-seed run
#   make fuzz         a long run (FUZZ_TIME seconds), new inputs kept in
#                     $(BUILD)/fuzz/corpus, crashes in $(BUILD)/fuzz/crashes

FUZZ_CC ?= clang-14
FUZZ_TIME ?= 3600
# check-fuzz: inputs after the corpus, and the seed that makes them the same
FUZZ_CHECK_RUNS ?= 30000
FUZZ_SEED ?= 12
FUZZ_CORPUS := firmware-model/tests/fuzz/corpus/cmd
# the model's own flags (its private headers: the fuzzer is a white-box
# test), then libFuzzer's coverage and the sanitizers of
# the unit tests' san build (float-cast-overflow included)
FUZZ_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -g -O1 -ffp-contract=off \
	-Wall -Wextra -Werror -Wno-unknown-attributes -Wno-ignored-attributes \
	-Wno-unused-function \
	-Iinclude $(FW_CFLAGS) \
	-fsanitize=fuzzer,address,undefined,float-cast-overflow,float-divide-by-zero \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OPTS := -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
	-print_final_stats=1
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: check-fuzz fuzz fuzz-corpus

FUZZ_SRC := firmware-model/tests/fuzz/fuzz_cmd.c

$(BUILD)/fuzz/fuzz_cmd: $(FUZZ_SRC) $(FW_SRCS) $(FW_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRC) $(FW_SRCS) \
		$(BLAS_LIBS) -lm -lpthread

# Regenerate the committed seeds (deterministic)
fuzz-corpus:
	python3 firmware-model/tests/fuzz/gen_corpus.py $(FUZZ_CORPUS)

# New inputs go to a scratch corpus, never into the committed one
check-fuzz: $(BUILD)/fuzz/fuzz_cmd
	@rm -rf $(BUILD)/fuzz/check-corpus
	@mkdir -p $(BUILD)/fuzz/check-corpus $(BUILD)/fuzz/crashes
	$(FUZZ_ENV) $(BUILD)/fuzz/fuzz_cmd $(FUZZ_OPTS) -seed=$(FUZZ_SEED) \
		-runs=$(FUZZ_CHECK_RUNS) -max_total_time=60 \
		-artifact_prefix=$(BUILD)/fuzz/crashes/ \
		$(BUILD)/fuzz/check-corpus $(FUZZ_CORPUS)

fuzz: $(BUILD)/fuzz/fuzz_cmd
	@mkdir -p $(BUILD)/fuzz/corpus $(BUILD)/fuzz/crashes
	$(FUZZ_ENV) $(BUILD)/fuzz/fuzz_cmd $(FUZZ_OPTS) \
		-max_total_time=$(FUZZ_TIME) \
		-artifact_prefix=$(BUILD)/fuzz/crashes/ \
		$(BUILD)/fuzz/corpus $(FUZZ_CORPUS)

# Wherever this file is included: leave the default goal to the Makefile's
# first target
.DEFAULT_GOAL :=
