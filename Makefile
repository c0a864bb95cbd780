# tts - offline neural text-to-speech.  One non-recursive Makefile.
#
#   make            library (static + shared) and programs: build/tts, build/tts-train
#   make test       build and run every cmocka suite (tests/test_*.c); fails on any failure
#   make asan       the same suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      benchmarks (GEMM, vocoder, synthesis)
#   make eval       intelligibility evaluation of the shipped voice (see scripts/eval.sh)
#
# Every .c under src/<module>/ (except src/cli/) goes into the library; adding a
# file needs no edit here.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
VERSION := 0.1.0

PKGS    := espeak-ng sndfile fftw3f libcjson libpng
HAVE_PA := $(shell pkg-config --exists portaudio-2.0 && echo 1)
ifeq ($(HAVE_PA),1)
PKGS    += portaudio-2.0
PA_DEF  := -DTTS_HAVE_PORTAUDIO=1
endif

OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation
CPPFLAGS_ALL := -Iinclude -Isrc $(PA_DEF) -DTTS_VERSION=\"$(VERSION)\" \
                -DTTS_DATADIR=\"$(PREFIX)/share/tts\" -D_GNU_SOURCE \
                $(shell pkg-config --cflags $(PKGS))
ALL_CFLAGS := -std=c11 -fPIC -pthread $(WARN) $(CFLAGS) $(CPPFLAGS_ALL)
LIBS    := $(shell pkg-config --libs $(PKGS)) -lopenblas -lm -lpthread

LIB_SRC := $(sort $(wildcard src/core/*.c src/text/*.c src/dsp/*.c src/audio/*.c \
                            src/nn/*.c src/model/*.c src/train/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard tests/bench_*.c))
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all test asan bench eval clean install setup
all: $(BUILD)/libtts.a $(BUILD)/libtts.so $(BUILD)/tts $(BUILD)/tts-train

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libtts.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libtts.so: $(LIB_OBJ)
	$(CC) -shared -pthread -o $@ $^ $(LIBS)

$(BUILD)/tts: $(BUILD)/src/cli/tts.o $(BUILD)/libtts.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tts-train: $(BUILD)/src/cli/tts_train.o $(BUILD)/libtts.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libtts.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS) -lcmocka

# Tests run from the top folder; each suite's name is printed before it runs.
test: all $(TEST_BIN)
	@fail=0; for t in $(TEST_BIN); do echo "== $$t"; \
	  OPENBLAS_NUM_THREADS=1 ./$$t || fail=1; done; \
	  for t in $(wildcard tests/test_*.sh); do echo "== $$t"; \
	  OPENBLAS_NUM_THREADS=1 bash $$t $(BUILD)/tts || fail=1; done; \
	  if [ $$fail -ne 0 ]; then echo "SOME TESTS FAILED"; exit 1; fi; echo "ALL TESTS PASSED"

asan:
	$(MAKE) BUILD=build-asan CC=clang OPT=-O1 \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

bench: all $(BENCH_BIN)
	@for b in $(BENCH_BIN); do OPENBLAS_NUM_THREADS=1 ./$$b || exit 1; done

eval: all
	bash scripts/eval.sh

setup:
	bash scripts/setup.sh

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(TEST_BIN:=.d) $(BENCH_BIN:=.d)
