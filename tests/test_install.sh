#!/usr/bin/env bash
# test_install.sh - libtts as another program sees it: the public header
# compiles alone under strict C (and C++), `make install` into a temporary
# PREFIX puts every file in place, a tiny program builds against the
# installed library through pkg-config (shared and static) and synthesizes
# with a voice installed under PREFIX/share/tts (also found by name: the
# library looks in ../share/tts/voices next to itself), the installed tts finds its
# voices from any folder, the man page renders without warnings, and
# `make uninstall` removes what install put there.
#
#   bash tests/test_install.sh [path/to/tts]      (make test runs it from the top folder)
# SPDX-License-Identifier: GPL-3.0-or-later
set -uo pipefail

TTS=${1:-build/tts}
BUILD=$(dirname "$TTS")
VOICE_TOOL=$BUILD/tests/tool_test_voice
tmp=$(mktemp -d /tmp/tts-test-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
run() { # run NAME CMD...: passes when CMD exits 0; shows its output otherwise
  local name=$1
  shift
  if "$@" >"$tmp/log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/     | /' "$tmp/log" | head -15; fi
}

# the header alone, strict
for std in c99 c11; do
  run "tts.h alone: -std=$std -pedantic -Werror -Wall -Wextra" \
    cc -std=$std -pedantic -Werror -Wall -Wextra -fsyntax-only -x c include/tts.h
done
if command -v c++ >/dev/null; then
  run "tts.h alone as C++" c++ -std=c++11 -pedantic -Werror -Wall -Wextra -fsyntax-only -x c++ include/tts.h
fi

# make install into a temporary prefix (nothing is rebuilt: `all` is up to date)
p="$tmp/prefix"
run "make install PREFIX=$p" make -s --no-print-directory BUILD="$BUILD" PREFIX="$p" install
for f in bin/tts bin/tts-train lib/libtts.a lib/libtts.so lib/libtts.so.0 include/tts.h \
         lib/pkgconfig/tts.pc share/man/man1/tts.1 share/man/man1/tts-train.1 \
         lib/speech-dispatcher-modules/sd_tts share/tts/speech-dispatcher/tts.conf \
         share/tts/speech-dispatcher/speechd.conf.add share/tts/speech-dispatcher/speechd-conf.sh \
         share/tts/lexicon.sample; do
  [ -e "$p/$f" ] && ok "installed $f" || bad "not installed: $f"
done
for v in voices/*.json; do
  [ -f "$v" ] || continue
  [ -f "$p/share/tts/$v" ] && ok "installed $v" || bad "not installed: $v"
done
[ -d "$p/share/tts/models" ] && ok "installed share/tts/models" || bad "no share/tts/models"
cmp -s include/tts.h "$p/include/tts.h" && ok "installed header is include/tts.h" || bad "header differs"
grep -q "^AddModule \"tts\" \"$p/lib/speech-dispatcher-modules/sd_tts\" \"$p/share/tts/speech-dispatcher/tts.conf\"" \
  "$p/share/tts/speech-dispatcher/speechd.conf.add" && ok "speechd.conf.add names the installed module" ||
  bad "speechd.conf.add: $(cat "$p/share/tts/speech-dispatcher/speechd.conf.add")"
# an AddModule line turns off the server's own search for modules: the
# snippet names the modules the server would have found (test_speechd.sh
# checks a server given it still lists espeak-ng)
for m in /usr/lib/speech-dispatcher-modules/sd_espeak-ng; do
  [ -x "$m" ] || continue
  grep -q '^AddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"' "$p/share/tts/speech-dispatcher/speechd.conf.add" &&
    ok "speechd.conf.add keeps espeak-ng" || bad "speechd.conf.add drops espeak-ng"
done

export PKG_CONFIG_PATH="$p/lib/pkgconfig"
[ "$(pkg-config --modversion tts 2>/dev/null)" = "$(sed -n 's/^VERSION *:= *//p' Makefile)" ] &&
  ok "pkg-config --modversion tts" || bad "pkg-config cannot read tts.pc"
pkg-config --cflags tts | grep -q -- "-I$p/include" && ok "pkg-config --cflags tts" || bad "pkg-config --cflags"

# a random voice installed like a real one: share/tts/voices/NAME.json -> ../models/
"$VOICE_TOOL" "$p/share/tts" installtestvoice >/dev/null || bad "cannot write a test voice"
# the installed speech-dispatcher module finds it by name (PREFIX/lib/speech-dispatcher-modules
# -> ../../share/tts/voices) and answers INIT
printf 'INIT\nQUIT\n' | (cd / && env -u TTS_VOICE_PATH TTS_VOICE=installtestvoice \
  "$p/lib/speech-dispatcher-modules/sd_tts") >"$tmp/sd.out" 2>&1
grep -q "^299 OK LOADED SUCCESSFULLY" "$tmp/sd.out" && grep -q "^210 OK QUIT" "$tmp/sd.out" &&
  ok "installed sd_tts loads a voice by name and quits" || { bad "installed sd_tts:"; sed 's/^/     | /' "$tmp/sd.out"; }

# a program of someone else's, strict C99, against the installed library
cat >"$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <tts.h>

int main(int argc, char **argv)
{
    tts_voice *voice = NULL;
    tts_synth *syn = NULL;
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    size_t n = 0;
    if (tts_voice_load("no-such-voice", &voice) != TTS_ERR_VOICE || !strstr(tts_last_error(), "looked in")) {
        fprintf(stderr, "missing voice: %s\n", tts_last_error());
        return 1;
    }
    if (argc < 2) return 0;
    if (tts_voice_load(argv[1], &voice) != TTS_OK || tts_synth_create(voice, NULL, &syn) != TTS_OK ||
        tts_synth_start(syn, "Hello from another program.") != TTS_OK) {
        fprintf(stderr, "%s\n", tts_last_error());
        return 1;
    }
    while (tts_synth_next(syn, &ch) == TTS_OK && !ch.done) n += ch.n_samples;
    if (argc > 2 && tts_synth_to_file(syn, "Hello from another program.", argv[2], NULL) != TTS_OK) {
        fprintf(stderr, "%s\n", tts_last_error());
        return 1;
    }
    tts_synth_free(syn);
    tts_voice_free(voice);
    printf("%lu samples\n", (unsigned long)n);
    return n > 0 ? 0 : 1;
}
EOF
if nm -D "$BUILD/libtts.so" 2>/dev/null | grep __asan_init >/dev/null; then # not -q: with pipefail, nm would die of SIGPIPE
  echo "skip linking programs: this library is built with AddressSanitizer"
else
  # shellcheck disable=SC2046
  run "a C99 program builds with pkg-config --cflags --libs tts" \
    cc -std=c99 -pedantic -Wall -Wextra -Werror "$tmp/prog.c" -o "$tmp/prog" $(pkg-config --cflags --libs tts)
  linked=$(LD_LIBRARY_PATH="$p/lib" ldd "$tmp/prog")
  if grep -q "$p/lib/libtts.so.0" <<<"$linked"; then
    ok "it links the installed libtts.so.0"; else bad "not linked to $p/lib/libtts.so.0"; fi
  run "it runs and synthesizes with an installed voice" \
    env LD_LIBRARY_PATH="$p/lib" "$tmp/prog" "$p/share/tts/voices/installtestvoice.json"
  # a PREFIX outside the loader's path: tts.pc gives the program its run path
  run "it runs without LD_LIBRARY_PATH (the run path from tts.pc)" \
    env -u LD_LIBRARY_PATH "$tmp/prog" "$p/share/tts/voices/installtestvoice.json" "$tmp/prog.wav"
  [ "$(head -c 4 "$tmp/prog.wav" 2>/dev/null)" = RIFF ] && ok "tts_synth_to_file wrote a WAV for it" ||
    bad "tts_synth_to_file: no WAV"
  run "the installed library finds its voices by name (PREFIX/share/tts/voices)" \
    env -u TTS_VOICE_PATH LD_LIBRARY_PATH="$p/lib" "$tmp/prog" installtestvoice
  # static libtts, shared dependencies: the packages tts.pc requires, plus OpenBLAS
  deps=$(pkg-config --print-requires-private tts | tr '\n' ' ')
  # shellcheck disable=SC2046,SC2086
  run "the same program links libtts.a statically" \
    cc -std=c99 "$tmp/prog.c" -o "$tmp/prog_static" $(pkg-config --cflags tts) "$p/lib/libtts.a" \
    $(pkg-config --libs $deps) -lopenblas -lm -lpthread
  run "the static program runs" "$tmp/prog_static" "$p/share/tts/voices/installtestvoice.json"
fi

# the installed program finds the installed voices from anywhere
( cd "$tmp" && env -u TTS_VOICE_PATH -u TTS_VOICE "$p/bin/tts" --list-voices ) >"$tmp/out" 2>&1
grep -q "^installtestvoice .*$p/share/tts/voices/installtestvoice.json" "$tmp/out" &&
  ok "installed tts --list-voices finds share/tts/voices" || { bad "installed --list-voices"; cat "$tmp/out"; }
run "installed tts synthesizes with an installed voice by name" \
  sh -c "cd '$tmp' && env -u TTS_VOICE_PATH '$p/bin/tts' -q --voice installtestvoice -o '$tmp/x.wav' 'Hello.'"
[ -s "$tmp/x.wav" ] && ok "installed tts wrote a file" || bad "installed tts wrote nothing"
run "installed tts --version" "$p/bin/tts" --version

# the man page
if command -v man >/dev/null; then
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p/share/man/man1/tts.1" >"$tmp/man.txt" 2>"$tmp/manerr"
  [ -s "$tmp/man.txt" ] && [ ! -s "$tmp/manerr" ] && ok "the man page renders without warnings" ||
    { bad "man page"; head -5 "$tmp/manerr"; }
  for flag in --out-dir --lines --jobs --format --output-raw --list-voices --sentence-silence \
              --gl-iters --device --list-devices --speed --volume --phonemes --quiet --version; do
    grep -q -- "$flag" "$tmp/man.txt" && ok "man page documents $flag" || bad "man page lacks $flag"
  done
  for flag in --voice --model --stdout --output_file --output-raw --length_scale --sentence_silence \
              --timings --verbose; do
    grep -q -- "$flag" "$tmp/man.txt" && ok "man page documents $flag" || bad "man page lacks $flag"
  done
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p/share/man/man1/tts-train.1" >"$tmp/man2.txt" 2>"$tmp/manerr"
  [ -s "$tmp/man2.txt" ] && [ ! -s "$tmp/manerr" ] && ok "the tts-train man page renders without warnings" ||
    { bad "tts-train man page"; head -5 "$tmp/manerr"; }
  # every flag of tts-train --help is in its man page
  for flag in $("$p/bin/tts-train" --help | grep -o -- '^ *--[a-z-]*' | tr -d ' '); do
    grep -q -- "$flag" "$tmp/man2.txt" || bad "tts-train man page lacks $flag"
  done
fi

# make uninstall
rm -f "$p/share/tts/voices/installtestvoice.json" "$p/share/tts/models/installtestvoice.safetensors"
run "make uninstall" make -s --no-print-directory BUILD="$BUILD" PREFIX="$p" uninstall
left=$(find "$p" -type f -o -type l | head -5)
[ -z "$left" ] && ok "uninstall removed every file" || bad "uninstall left: $left"

echo "test_install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
