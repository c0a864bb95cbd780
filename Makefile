# tts - offline neural text-to-speech.  One non-recursive Makefile.
#
#   make            library (static + shared) and programs: build/tts, build/tts-train
#   make test       build and run every cmocka suite (tests/test_*.c); fails on any failure
#   make asan       the same suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       build the libFuzzer targets (tests/fuzz/, clang) and run each for
#                   FUZZ_SECONDS (60); FUZZ_TARGETS=fuzz_text picks some
#   make bench      benchmarks (GEMM, vocoder, training step, synthesis against
#                   espeak-ng and flite on one core); make bench-synth: only the last
#   make install    PREFIX=/usr/local (DESTDIR for staging): programs, libtts.so and
#                   libtts.a, include/tts.h, tts.pc, the man pages, voices, models
#                   and lexicon.sample in PREFIX/share/tts, the speech-dispatcher
#                   module sd_tts in SDMODDIR (PREFIX/lib/speech-dispatcher-modules)
#                   with its tts.conf and speechd.conf lines in
#                   PREFIX/share/tts/speech-dispatcher; runs ldconfig for /usr and
#                   /usr/local, and tts.pc gives other prefixes a run path;
#                   make uninstall removes them
#   make eval       intelligibility evaluation of the shipped voice (see scripts/eval.sh)
#   make voice NAME=rms   a voice from its recipe, end to end (scripts/make-voice.sh)
#   make eval-text  text normalization against espeak-ng's and flite's own, class by
#                   class, on tests/data/normalize.tsv (see scripts/eval-text.py)
#
# Every .c under src/<module>/ (except src/cli/) goes into the library; adding a
# file needs no edit here.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
VERSION := 0.1.0

PKGS    := espeak-ng sndfile fftw3f libcjson libpng libxml-2.0
HAVE_PA := $(shell pkg-config --exists portaudio-2.0 && echo 1)
ifeq ($(HAVE_PA),1)
PKGS    += portaudio-2.0
PA_DEF  := -DTTS_HAVE_PORTAUDIO=1
endif

# Open MPI (libopenmpi-dev) makes tts-train data parallel (mpirun -np N);
# without it, or with MPI=0, it trains in one process as before.
MPI     ?= $(shell pkg-config --exists ompi-c && echo 1)
ifeq ($(MPI),1)
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c) -DTTS_HAVE_MPI=1
MPI_LIBS   := $(shell pkg-config --libs ompi-c)
endif

OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation
CPPFLAGS_ALL := -Iinclude -Isrc $(PA_DEF) -DTTS_VERSION=\"$(VERSION)\" \
                -DTTS_DATADIR=\"$(PREFIX)/share/tts\" -D_GNU_SOURCE \
                $(shell pkg-config --cflags $(PKGS))
ALL_CFLAGS := -std=c11 -fPIC -pthread $(WARN) $(CFLAGS) $(CPPFLAGS_ALL)
LIBS    := $(shell pkg-config --libs $(PKGS)) -lopenblas -lm -lpthread

# libtts: the synthesizer (what a program that speaks links); libtts-train: the
# trainer on top of it (tts-train and the tests link both, statically).
LIB_SRC := $(sort $(wildcard src/core/*.c src/text/*.c src/dsp/*.c src/audio/*.c \
                            src/nn/*.c src/model/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TRAIN_SRC := $(sort $(wildcard src/train/*.c))
TRAIN_OBJ := $(TRAIN_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard tests/bench_*.c))
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(BUILD)/tests/%)
# fuzz targets: linked with tests/fuzz/replay.c for `make test` (replays the
# saved regression inputs), with libFuzzer for `make fuzz`
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/%)

.PHONY: all test asan fuzz fuzz-build bench bench-synth eval eval-text voice clean install uninstall setup
# keep the objects of test and fuzz programs: deleted as intermediates, a
# fuzz target that #includes a source (fuzz_speechd.c) was not rebuilt
# when only that source changed
.SECONDARY:
all: $(BUILD)/libtts.a $(BUILD)/libtts.so $(BUILD)/libtts-train.a $(BUILD)/tts $(BUILD)/tts-train $(BUILD)/sd_tts

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libtts.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libtts-train.a: $(TRAIN_OBJ)
	@rm -f $@
	ar rcs $@ $^

# only the public API is exported (src/libtts.map: tts_* of include/tts.h)
SONAME  := libtts.so.0
$(BUILD)/libtts.so: $(LIB_OBJ) src/libtts.map
	$(CC) -shared -pthread -Wl,-soname,$(SONAME) -Wl,--version-script=src/libtts.map \
	  -Wl,--as-needed -o $@ $(LIB_OBJ) $(LIBS)

$(BUILD)/tts: $(BUILD)/src/cli/tts.o $(BUILD)/src/cli/par_synth.o $(BUILD)/libtts.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/src/cli/tts_train.o: ALL_CFLAGS += $(MPI_CFLAGS)
$(BUILD)/tts-train: $(BUILD)/src/cli/tts_train.o $(BUILD)/libtts-train.a $(BUILD)/libtts.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS) $(MPI_LIBS)

# the speech-dispatcher output module (src/cli/sd_tts.c)
$(BUILD)/sd_tts: $(BUILD)/src/cli/sd_tts.o $(BUILD)/libtts.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libtts-train.a $(BUILD)/libtts.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(BUILD)/tests/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libtts-train.a $(BUILD)/libtts.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS)

# Tests run from the top folder; each suite's name is printed before it runs.
# tool_test_voice writes the random voice the CLI tests synthesize with;
# tool_normalize (the filter make eval-text drives) is built so it never rots.
test: all $(TEST_BIN) $(FUZZ_REPLAY) $(BUILD)/tests/tool_test_voice $(BUILD)/tests/tool_normalize
	@fail=0; for t in $(TEST_BIN); do echo "== $$t"; \
	  OPENBLAS_NUM_THREADS=1 ./$$t || fail=1; done; \
	  for t in $(wildcard tests/test_*.sh); do echo "== $$t"; \
	  OPENBLAS_NUM_THREADS=1 bash $$t $(BUILD)/tts || fail=1; done; \
	  if [ $$fail -ne 0 ]; then echo "SOME TESTS FAILED"; exit 1; fi; echo "ALL TESTS PASSED"

# ASan + UBSan over every suite; a finding fails the test that hit it.  Leaks
# inside the uninstrumented espeak-ng are suppressed (tests/lsan.supp).
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
           LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
asan:
	$(SAN_ENV) $(MAKE) BUILD=build-asan CC=clang OPT=-O1 \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# libFuzzer: the library instrumented for coverage, each target linked with
# -fsanitize=fuzzer.  Corpora grow in build-fuzz/corpus/NAME, seeded from
# tests/fuzz/corpus/NAME and the saved crashes in tests/fuzz/regressions/NAME.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_SAN := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  $(FUZZ_TARGETS:%=build-fuzz/tests/fuzz/%.fuzz)
build-fuzz/tests/fuzz/%.fuzz: build-fuzz/tests/fuzz/%.o build-fuzz/libtts-train.a build-fuzz/libtts.a
	$(CC) -pthread $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do c=build-fuzz/corpus/$$t; mkdir -p $$c; \
	  echo "== $$t for $(FUZZ_SECONDS) s"; \
	  $(SAN_ENV) nice -n 19 build-fuzz/tests/fuzz/$$t.fuzz -max_total_time=$(FUZZ_SECONDS) \
	    -dict=tests/fuzz/$$t.dict -artifact_prefix=build-fuzz/$$t- $$c \
	    $$(ls -d tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t 2>/dev/null) || exit 1; done

# Each benchmark runs on one core (bench_synth pins itself and the programs it
# compares with to one CPU); bench_synth runs last, so its table ends the output.
bench: all $(BENCH_BIN)
	@for b in $(filter-out %/bench_synth,$(BENCH_BIN)); do OPENBLAS_NUM_THREADS=1 ./$$b || exit 1; done
	OPENBLAS_NUM_THREADS=1 ./$(BUILD)/tests/bench_synth $(BUILD)/tts
	bash tests/bench_mpi.sh $(BUILD)/tts-train

bench-synth: all $(BUILD)/tests/bench_synth
	OPENBLAS_NUM_THREADS=1 ./$(BUILD)/tests/bench_synth $(BUILD)/tts

# ---- installation ----
# The voice files name their models as ../models/NAME.safetensors, so voices/
# and models/ keep their layout under PREFIX/share/tts.  The installed tts
# also looks for voices in ../share/tts/voices next to itself, so a build
# installed to another PREFIX finds them; the library searches the PREFIX it
# was built with (TTS_DATADIR) and $$TTS_VOICE_PATH.
BINDIR  = $(DESTDIR)$(PREFIX)/bin
LIBDIR  = $(DESTDIR)$(PREFIX)/lib
INCDIR  = $(DESTDIR)$(PREFIX)/include
DATADIR = $(DESTDIR)$(PREFIX)/share/tts
MAN1DIR = $(DESTDIR)$(PREFIX)/share/man/man1
# speech-dispatcher: Debian's server looks for modules in
# /usr/lib/speech-dispatcher-modules; the AddModule line names the module by
# its absolute path, so any SDMODDIR works.  An AddModule line turns off the
# server's own search for modules, so speechd.conf.add also names those it
# finds in SD_SERVER_MODDIR (scripts/speechd-conf.sh).
SDMODDIR ?= $(PREFIX)/lib/speech-dispatcher-modules
SD_SERVER_MODDIR ?= $(firstword $(wildcard /usr/lib/speech-dispatcher-modules \
                       /usr/lib/*/speech-dispatcher-modules /usr/libexec/speech-dispatcher-modules))
SDDIR   = $(DATADIR)/speech-dispatcher
# A program linked with `pkg-config --libs tts` finds libtts.so.0 in /usr/lib
# and /usr/local/lib through the loader's cache (install runs ldconfig when it
# installs there itself); any other PREFIX is given as the program's run path.
SYSTEM_PREFIX := $(filter /usr /usr/local,$(PREFIX))
comma := ,
PC_RPATH = $(if $(SYSTEM_PREFIX),,-Wl$(comma)-rpath$(comma)$${libdir})
install: all
	install -d $(BINDIR) $(LIBDIR)/pkgconfig $(INCDIR) $(DATADIR)/voices $(DATADIR)/models $(MAN1DIR)
	install -d $(DESTDIR)$(SDMODDIR) $(SDDIR)
	install -m 755 $(BUILD)/sd_tts $(DESTDIR)$(SDMODDIR)/
	install -m 644 doc/speech-dispatcher/tts.conf $(SDDIR)/
	install -m 755 scripts/speechd-conf.sh $(SDDIR)/
	sh scripts/speechd-conf.sh "$(SD_SERVER_MODDIR)" "$(SDMODDIR)/sd_tts" \
	  "$(PREFIX)/share/tts/speech-dispatcher/tts.conf" >$(SDDIR)/speechd.conf.add
	install -m 644 doc/lexicon.sample $(DATADIR)/
	install -m 755 $(BUILD)/tts $(BUILD)/tts-train $(BINDIR)/
	install -m 644 $(BUILD)/libtts.a $(LIBDIR)/
	install -m 755 $(BUILD)/libtts.so $(LIBDIR)/libtts.so.$(VERSION)
	ln -sf libtts.so.$(VERSION) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/libtts.so
	install -m 644 include/tts.h $(INCDIR)/
	install -m 644 doc/tts.1 doc/tts-train.1 $(MAN1DIR)/
	for f in voices/*.json; do [ ! -f "$$f" ] || install -m 644 "$$f" $(DATADIR)/voices/; done
	for f in models/*.safetensors; do [ ! -f "$$f" ] || install -m 644 "$$f" $(DATADIR)/models/; done
	printf '%s\n' 'prefix=$(PREFIX)' 'exec_prefix=$${prefix}' 'libdir=$${exec_prefix}/lib' \
	  'includedir=$${prefix}/include' 'datadir=$${prefix}/share/tts' '' \
	  'Name: tts' 'Description: offline neural text-to-speech (libtts)' 'Version: $(VERSION)' \
	  'Requires.private: $(PKGS)' 'Libs: -L$${libdir} $(PC_RPATH) -ltts' \
	  'Libs.private: -lopenblas -lm -lpthread' 'Cflags: -I$${includedir}' \
	  >$(LIBDIR)/pkgconfig/tts.pc
	if [ -z "$(DESTDIR)" ] && [ -n "$(SYSTEM_PREFIX)" ] && [ "$$(id -u)" = 0 ]; then \
	  ldconfig || echo "ldconfig failed: run it before using libtts.so" >&2; fi

uninstall:
	rm -f $(BINDIR)/tts $(BINDIR)/tts-train $(LIBDIR)/libtts.a $(LIBDIR)/libtts.so \
	  $(LIBDIR)/$(SONAME) $(LIBDIR)/libtts.so.$(VERSION) $(LIBDIR)/pkgconfig/tts.pc \
	  $(INCDIR)/tts.h $(MAN1DIR)/tts.1 $(MAN1DIR)/tts-train.1 $(DESTDIR)$(SDMODDIR)/sd_tts \
	  $(SDDIR)/tts.conf $(SDDIR)/speechd.conf.add $(SDDIR)/speechd-conf.sh $(DATADIR)/lexicon.sample
	-rmdir $(SDDIR) $(DESTDIR)$(SDMODDIR) 2>/dev/null
	for f in voices/*.json; do rm -f $(DATADIR)/voices/$$(basename "$$f"); done
	for f in models/*.safetensors; do rm -f $(DATADIR)/models/$$(basename "$$f"); done
	-rmdir $(DATADIR)/voices $(DATADIR)/models $(DATADIR) 2>/dev/null

eval: all
	bash scripts/eval.sh

# make voice NAME=rms: a voice from voices/recipes/NAME.conf (scripts/make-voice.sh)
voice: all
	@test -n "$(NAME)" || { echo "make voice NAME=... (voices/recipes/NAME.conf)"; exit 1; }
	bash scripts/make-voice.sh $(NAME)

eval-text: $(BUILD)/tests/tool_normalize
	/usr/bin/python3 scripts/eval-text.py --tool $(BUILD)/tests/tool_normalize

setup:
	bash scripts/setup.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(TRAIN_OBJ:.o=.d) $(TEST_BIN:=.d) $(BENCH_BIN:=.d) $(wildcard $(BUILD)/src/cli/*.d) $(wildcard $(BUILD)/tests/fuzz/*.d)

# The numeric kernels are worth -O3 (vectorized loops with reductions).
$(BUILD)/src/nn/%.o $(BUILD)/src/model/%.o $(BUILD)/src/dsp/%.o: ALL_CFLAGS += -O3 -fno-trapping-math
