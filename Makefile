# ferry -- one Makefile for the whole project.
#
#   make deps     install the Debian packages the build and tests need (idempotent)
#   make          build build/ferry
#   make test     build and run every unit, integration and oracle test
#   make test SAN=1   the same, built with AddressSanitizer + UBSan (output in build/san)
#   make bench    build and run the benchmarks (ratios against side-by-side baselines)
#   make fuzz     build the libFuzzer targets (clang); make fuzz-run FUZZ_SECONDS=N runs them
#
# Sources are discovered by folder: a new module is a new .c file, no edit here needed.
# Generated code (protobuf-c from Debian's onnx.proto) goes to $(BUILD)/gen, never committed.

.DEFAULT_GOAL := all
SHELL := /bin/bash

SAN ?=
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT ?= -O1 -g
else
BUILD ?= build
SANFLAGS :=
OPT ?= -O2 -g
endif

CC ?= cc
PKGS := libzmq msgpack libprotobuf-c libxml-2.0 libuv sqlite3 yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
GEN := $(BUILD)/gen

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS_ALL := -std=gnu11 $(WARN) $(OPT) $(SANFLAGS) -D_GNU_SOURCE -I. -I$(GEN) $(PKG_CFLAGS) $(EXTRA_CFLAGS) -MMD -MP
LDFLAGS_ALL := $(SANFLAGS) $(EXTRA_LDFLAGS)
LIBS := $(PKG_LIBS) -lm -lpthread

MODULE_DIRS := util proto coordinator worker model deploy
LIB_SRCS := $(sort $(foreach d,$(MODULE_DIRS),$(wildcard $(d)/*.c)))
CLI_SRCS := $(sort $(wildcard cli/*.c))
GEN_SRCS := $(GEN)/onnx.pb-c.c
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(GEN)/onnx.pb-c.o
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libferry.a

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test unit bench fuzz fuzz-run deps clean help
all: $(BUILD)/ferry

# ---- generated protobuf-c code for ONNX -------------------------------------------
$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(GEN)/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	$(CC) -std=gnu11 $(OPT) $(SANFLAGS) -w -I$(GEN) $(PKG_CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@

# ---- objects ------------------------------------------------------------------------
# Every object waits for the generated header (order-only), so any module may include it.
$(BUILD)/obj/%.o: %.c | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# CLI objects are linked directly (not from the archive): they register themselves
# with constructors, which an archive link would drop.
$(BUILD)/ferry: $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJS) $(LIB) $(LIBS)

# ---- tests --------------------------------------------------------------------------
$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MF $@.d $(LDFLAGS_ALL) -o $@ $< $(LIB) $(LIBS) -lcmocka

# Every fuzz target also linked with a plain driver (tests/fuzz/replay.c) by the ordinary
# compiler: tests/integration/test_fuzz_seeds.sh replays the committed seeds and regression
# inputs through them on every `make test` (under ASan + UBSan with SAN=1).
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/replay/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB) | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MF $@.d $(LDFLAGS_ALL) -o $@ $< tests/fuzz/replay.c $(LIB) $(LIBS)

unit: $(BUILD)/ferry $(UNIT_BINS) $(REPLAY_BINS)

test: unit
	BUILD=$(BUILD) bash tests/run-tests.sh

# ---- benchmarks ---------------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c $(LIB) | $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MF $@.d $(LDFLAGS_ALL) -o $@ $< $(LIB) $(LIBS)

bench: $(BUILD)/ferry $(BENCH_BINS)
	BUILD=$(BUILD) bash bench/run.sh

# ---- fuzzing (clang libFuzzer) -------------------------------------------------------
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30
fuzz:
ifeq ($(strip $(FUZZ_SRCS)),)
	@echo "no fuzz targets"
else
	$(MAKE) BUILD=build/fuzz CC=clang OPT="-O1 -g" \
	    EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -DFERRY_FUZZING" \
	    $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/fuzzers/%)
endif

build/fuzz/fuzzers/%: tests/fuzz/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -MF $@.d -o $@ $< $(LIB) $(LIBS)

fuzz-run: fuzz
	@set -e; for f in $(FUZZ_SRCS:tests/fuzz/%.c=%); do \
	    mkdir -p build/fuzz/corpus/$$f build/fuzz/crashes/$$f build/fuzz/logs; \
	    seeds=; [ -d tests/fuzz/seeds/$$f ] && seeds=tests/fuzz/seeds/$$f; \
	    log=build/fuzz/logs/$$f.log; \
	    echo "== fuzz $$f for $(FUZZ_SECONDS)s"; \
	    if build/fuzz/fuzzers/$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=60 \
	        -print_final_stats=1 -artifact_prefix=build/fuzz/crashes/$$f/ \
	        build/fuzz/corpus/$$f $$seeds >$$log 2>&1; then \
	        tail -n 6 $$log; \
	    else \
	        echo "fuzz $$f FAILED; the report (full log: $$log):"; \
	        sed -n '/^==[0-9]*==ERROR\|^SUMMARY\|runtime error\|deadly signal\|Test unit written/,$$p' $$log | head -n 150; \
	        for c in build/fuzz/crashes/$$f/*; do \
	            [ -f "$$c" ] || continue; echo "input $$c (base64):"; base64 -w 0 "$$c" | head -c 20000; echo; \
	        done; \
	        exit 1; \
	    fi; \
	done

# ---- dependencies --------------------------------------------------------------------
# Debian packages for build, tests (oracles: sklearn/numpy/onnx, ONNX test data) and fuzzing.
DEB_PACKAGES := build-essential pkg-config clang libclang-rt-14-dev \
    libzmq3-dev libmsgpack-dev protobuf-c-compiler libprotobuf-c-dev \
    libonnx-dev libonnx-testdata python3-onnx libxml2-dev libuv1-dev libsqlite3-dev sqlite3 \
    libyaml-dev libcmocka-dev python3-sklearn python3-numpy procps
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    sudo=; [ "$$(id -u)" -ne 0 ] && sudo=sudo; \
	    echo "installing:" $$missing; \
	    $$sudo apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	else echo "all Debian packages present"; fi
	@$(MAKE) --no-print-directory deps-extra

# Steps that need the Debian packages first (npm installs, checks): mk/*.mk add
# themselves as prerequisites of deps-extra, which runs after the apt step above.
.PHONY: deps-extra
deps-extra:

# Per-area additions (extra Debian packages via DEB_PACKAGES +=, extra deps steps as
# prerequisites of deps-extra) live in mk/*.mk so areas never edit the same lines.
-include $(sort $(wildcard mk/*.mk))

# ---- rebuild on flag changes ------------------------------------------------------------
# Objects depend on the flags they were compiled with: the full command-line flags are kept
# in a stamp rewritten only when they change, and per-file flags live in Makefile and
# mk/*.mk, so an edit there rebuilds too (a stale object once hid a -ffp-contract change).
FLAGS_LINE := $(CC) $(CFLAGS_ALL) | $(LDFLAGS_ALL) | $(LIBS)
FLAGS_STAMP := $(BUILD)/flags.stamp
ifneq ($(FLAGS_LINE),$(file < $(FLAGS_STAMP)))
$(shell mkdir -p $(BUILD))
$(file > $(FLAGS_STAMP),$(FLAGS_LINE))
endif
$(LIB_OBJS) $(CLI_OBJS) $(UNIT_BINS) $(BENCH_BINS): $(FLAGS_STAMP) Makefile $(wildcard mk/*.mk)

clean:
	rm -rf build

help:
	@sed -n '2,12p' Makefile

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
