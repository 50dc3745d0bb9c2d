# pippa - plain Makefile (STYLE.md §10).
#   make            release build: build/pippa, build/pippa-gen
#   make test       build and run the test suite (release build)
#   make asan       build and run the test suite under ASan + UBSan (build-asan/)
#   make check      what CI runs: the suite on a -Werror release build, then under ASan+UBSan
#   make fuzz       build every libFuzzer target (fuzz/fuzz_*.c) and run each for FUZZ_SECONDS
#   make fuzz-build build them only (build-fuzz/fuzz_*)
#   make bench      quick speed run on a generated 1B-shaped model (docs/PERFORMANCE.md)
#   make clean

CC      ?= cc
BUILD   ?= build
WERROR  ?= 0
SAN     ?= 0
ARCH    := $(shell $(CC) -dumpmachine 2>/dev/null | cut -d- -f1)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN    += -Werror
endif
OPT     ?= -O2
CFLAGS  ?=
EXTRA_CFLAGS ?=
CFLAGS  += $(EXTRA_CFLAGS) -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -fno-math-errno -MMD -MP -pthread
LDLIBS  := -lm -pthread
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

PKGS        := jansson libmicrohttpd libcurl libcrypto libedit
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# The engine core needs only libc, libm and pthreads.
CORE_DIRS := src/core src/gguf src/quant src/kernels src/kernels/generic src/model \
             src/tokenizer src/sample src/engine

# The ISA directories of src/kernels, one line each: KERN_ISA_<directory> := the flags its
# files are compiled with (only these get ISA flags, STYLE.md §7; each matches its row's CPU
# check in kern.c's ISA table). Adding an ISA: its directory, its row there, a line here.
ifeq ($(ARCH),x86_64)
KERN_ISA_x86_avx2    := -mavx2 -mfma -mf16c
KERN_ISA_x86_avx512f := $(KERN_ISA_x86_avx2) -mavx512f -mavx512bw -mavx512vl -mavx512dq
KERN_ISA_x86_avx512  := $(KERN_ISA_x86_avx512f) -mavx512vnni
endif
KERN_ISA_DIRS := $(patsubst KERN_ISA_%,%,$(filter KERN_ISA_%,$(.VARIABLES)))
CORE_DIRS     += $(KERN_ISA_DIRS:%=src/kernels/%)
EDGE_DIRS := src/store src/catalog src/server src/cli

CORE_SRC := $(foreach d,$(CORE_DIRS),$(wildcard $(d)/*.c))
EDGE_SRC := $(foreach d,$(EDGE_DIRS),$(wildcard $(d)/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
EDGE_OBJ := $(EDGE_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libpippa.a

TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_COMMON := $(BUILD)/tests/testlib.o

TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/pippa-%)

.PHONY: all test asan check fuzz fuzz-build bench kern-bench clean
.SECONDARY:
all: $(BUILD)/pippa $(TOOL_BIN)

define kern_isa_rule
$(BUILD)/src/kernels/$(1)/%.o: src/kernels/$(1)/%.c
	@mkdir -p $$(dir $$@)
	@echo CC $$<; $$(CC) $$(CFLAGS) $$(KERN_ISA_$(1)) -c $$< -o $$@
endef
$(foreach d,$(KERN_ISA_DIRS),$(eval $(call kern_isa_rule,$(d))))
$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo CC $<; $(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@
$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo CC $<; $(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc -c $< -o $@
$(BUILD)/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	@echo CC $<; $(CC) $(CFLAGS) -Isrc -c $< -o $@

$(LIB): $(CORE_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/pippa: $(EDGE_OBJ) $(LIB)
	@echo LD $@; $(CC) $(LDFLAGS) -o $@ $(EDGE_OBJ) $(LIB) $(PKG_LIBS) $(LDLIBS)

$(BUILD)/pippa-%: $(BUILD)/tools/%.o $(LIB)
	@echo LD $@; $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Tests link the edge modules without src/cli (main() is pippa's); the CLI's own tests
# (tests/test_cli_*.c) also get the CLI objects except main.o.
TEST_EDGE_OBJ := $(filter-out $(BUILD)/src/cli/%,$(EDGE_OBJ))
TEST_CLI_OBJ  := $(filter-out $(BUILD)/src/cli/main.o,$(filter $(BUILD)/src/cli/%,$(EDGE_OBJ)))
$(BUILD)/tests/test_cli_%: $(BUILD)/tests/test_cli_%.o $(TEST_COMMON) $(TEST_EDGE_OBJ) $(TEST_CLI_OBJ) $(LIB)
	@echo LD $@; $(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)
$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(TEST_COMMON) $(TEST_EDGE_OBJ) $(LIB)
	@echo LD $@; $(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

test: all $(TEST_BIN)
	@BUILD=$(BUILD) tests/run.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 OPT=-O1 test

check:
	@$(MAKE) --no-print-directory WERROR=1 test
	@$(MAKE) --no-print-directory WERROR=1 asan

# libFuzzer targets (fuzz/fuzz_*.c, docs/TESTING.md "Fuzzing"): the library and the edge
# modules are compiled again with clang, -fsanitize=fuzzer-no-link,address,undefined, into
# build-fuzz/obj; each target links them. fuzz-build only builds; fuzz runs every target for
# FUZZ_SECONDS on a copy of its seed corpus (fuzz/corpus/<target>/, build-fuzz/corpus/<target>/).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_OBJ     := build-fuzz/obj
FUZZ_FLAGS   := -fsanitize=fuzzer-no-link
fuzz-build:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(FUZZ_OBJ) SAN=1 OPT=-O1 EXTRA_CFLAGS="$(FUZZ_FLAGS)" \
	    $(FUZZ_TARGETS:%=build-fuzz/%)
build-fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(TEST_EDGE_OBJ) $(LIB)
	@echo LD $@; $(CC) $(CFLAGS) $(PKG_CFLAGS) -Isrc -fsanitize=fuzzer -o $@ $< $(TEST_EDGE_OBJ) $(LIB) \
	    $(PKG_LIBS) $(LDLIBS)
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p build-fuzz/corpus/$$t build-fuzz/artifacts/$$t; \
	    cp -n fuzz/corpus/$$t/* build-fuzz/corpus/$$t/ 2>/dev/null || true; \
	    echo "== $$t ($(FUZZ_SECONDS) s)"; \
	    build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
	        -artifact_prefix=build-fuzz/artifacts/$$t/ build-fuzz/corpus/$$t || exit 1; \
	done

bench: all
	@scripts/bench.sh

# Kernel micro-benchmark (bench/kern_bench.c): decode GB/s and gemm GFLOP/s per ISA.
$(BUILD)/pippa-kern-bench: $(BUILD)/bench/kern_bench.o $(LIB)
	@echo LD $@; $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	@echo CC $<; $(CC) $(CFLAGS) -Isrc -c $< -o $@
kern-bench: $(BUILD)/pippa-kern-bench
	@$(BUILD)/pippa-kern-bench

clean:
	rm -rf build build-asan build-fuzz

-include $(CORE_OBJ:.o=.d) $(EDGE_OBJ:.o=.d) $(TEST_BIN:=.d) $(BUILD)/tests/testlib.d $(BUILD)/bench/kern_bench.d
