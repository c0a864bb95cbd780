#!/usr/bin/env bash
# test_robust.sh - the bad-input suite through the `tts` program: hostile
# text, broken voice and model files, outputs that cannot be written (a
# read-only folder, a full 64 KB tmpfs, a directory), outputs that are a
# device or a pipe (written directly, never renamed over), no audio device,
# and SIGINT / SIGTERM during synthesis (finished outputs kept, partial ones
# removed).  Each case wants its exit code and a message.  It also replays the
# fuzzers' saved crash inputs (tests/fuzz/regressions/) and seed corpora.
#
# The voice is random weights written by build/tests/test_robust --write-voice,
# never a shipped voice.
#
#   bash tests/test_robust.sh [path/to/tts]      (make test runs it)
# SPDX-License-Identifier: GPL-3.0-or-later
set -uo pipefail

TTS=${1:-build/tts}
BUILD=$(dirname "$TTS")
tmp=$(mktemp -d /tmp/tts-test-robust-XXXXXX)
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
todo=0

. "$(dirname "$0")/checks.sh"
known() { echo "TODO $1"; todo=$((todo + 1)); }

is_wav() { [ -s "$1" ] && [ "$(head -c 4 "$1")" = RIFF ] && soxi -D "$1" >/dev/null 2>&1; }

[ -x "$TTS" ] || { echo "FAIL no executable at $TTS"; exit 1; }

# ---- the fuzzers' regression inputs and seeds, replayed without libFuzzer
for t in tests/fuzz/fuzz_*.c; do
  name=$(basename "$t" .c)
  bin="$BUILD/tests/fuzz/$name"
  if [ ! -x "$bin" ]; then bad "$name: no replay binary at $bin"; continue; fi
  dirs=$(ls -d "tests/fuzz/regressions/$name" "tests/fuzz/corpus/$name" 2>/dev/null)
  [ -n "$dirs" ] || continue
  # shellcheck disable=SC2086
  expect "$name replays its regressions and seeds" 0 "$bin" $dirs
done

V=$("$BUILD/tests/test_robust" --write-voice "$tmp") || { echo "FAIL cannot write the test voice"; exit 1; }
say() { "$TTS" -q -m "$V" "$@"; } # not for background jobs: signals must reach tts itself

# ---- hostile text
printf 'Hello \xff\xfe world.' >"$tmp/bad.txt"
expect "invalid UTF-8" 2 say -o "$tmp/a.wav" -f "$tmp/bad.txt"
has "invalid UTF-8 message" "$tmp/err" "UTF-8"
[ ! -e "$tmp/a.wav" ] && ok "invalid UTF-8: no output file" || bad "invalid UTF-8 left an output"

printf 'Hello there.\0 Good morning.' >"$tmp/nul.txt"
expect "NUL bytes" 0 "$TTS" -m "$V" --phonemes -f "$tmp/nul.txt"
if grep -q "m.*ɔː.*n" "$tmp/out"; then ok "NUL bytes: the text after the NUL is spoken"; else
  known "NUL bytes: src/cli/tts.c reads the text as a C string, so the text after a NUL is lost"; fi

printf 'Hello\x01\x02\x07\x08\x1b[31m there\x7f, \x1b]0;title\x07friend.\r\n\f\v' >"$tmp/ctl.txt"
expect "control characters" 0 say -o "$tmp/ctl.wav" -f "$tmp/ctl.txt"
is_wav "$tmp/ctl.wav" && ok "control characters: a WAV" || bad "control characters: no WAV"

python3 - "$tmp" <<'EOF'
import sys
d = sys.argv[1]
open(d + "/ten_mb_marks.txt", "w").write(("  ... !!! ??? ;;; --- \t\n" * 500000)[: 10 << 20])
para = ("It was the best of times, it was the worst of times. Dr. Smith paid $3.50 for 12 apples. "
        "\"Really?\" she asked (twice); then, nothing at all. ")
open(d + "/ten_mb.txt", "w").write((para * (1 + (10 << 20) // len(para)))[: 10 << 20])
open(d + "/word.txt", "w").write("".join("abcdefghijklmnopqrstuvwxyz"[(i * 7) % 26] for i in range(100000)))
open(d + "/digits.txt", "w").write("The total is " + "7" * 300 + " dollars, or $" + "12345" * 40 + ".99, " + "9" * 150 + "%.")
open(d + "/nested.txt", "w").write("([{\"'" * 4000 + "Hello there." + "'\"}])" * 4000 + " (((((unbalanced [[[ \"quotes")
open(d + "/scripts.txt", "w").write("Hello \U0001F600 world. \u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440. "
                                     "Good \u4f60\u597d morning \U0001F389! \u05e9\u05dc\u05d5\u05dd Fine \U0001F44D\U0001F3FD.")
EOF
expect "10 MB of punctuation and spaces" 2 say -o "$tmp/a.wav" -f "$tmp/ten_mb_marks.txt"
has "10 MB of punctuation: nothing to speak" "$tmp/err" "nothing to speak"
expect "only spaces" 2 say -o "$tmp/a.wav" "      "
expect "only punctuation" 2 say -o "$tmp/a.wav" "...!!!???;;;,,,--- ..."
[ ! -e "$tmp/a.wav" ] && ok "nothing to speak: no output file" || bad "nothing to speak left an output"

expect "a 100,000-character word (--phonemes)" 0 "$TTS" -m "$V" --phonemes -f "$tmp/word.txt"
[ "$(wc -c <"$tmp/out")" -gt 100000 ] && ok "the enormous word is read in pieces" || bad "the enormous word: $(wc -c <"$tmp/out") bytes of phonemes"
expect "a letter, a period and 170 letters (crashed espeak-ng)" 0 "$TTS" --phonemes "x.$(printf 'w%.0s' $(seq 170))"
expect "numbers with hundreds of digits" 0 say -o "$tmp/digits.wav" -f "$tmp/digits.txt"
is_wav "$tmp/digits.wav" && ok "hundreds of digits: a WAV" || bad "hundreds of digits: no WAV"
expect "deeply nested brackets and quotes" 0 say -o "$tmp/nested.wav" -f "$tmp/nested.txt"
is_wav "$tmp/nested.wav" && ok "nested brackets: a WAV" || bad "nested brackets: no WAV"

expect "emoji and other scripts" 0 "$TTS" -m "$V" -o "$tmp/scripts.wav" -f "$tmp/scripts.txt"
n=$(grep -c "cannot read" "$tmp/err")
[ "$n" -eq 1 ] && ok "emoji and other scripts: one warning" || bad "emoji and other scripts: $n warnings"
expect "emoji and other scripts (--phonemes)" 0 "$TTS" -m "$V" --phonemes -f "$tmp/scripts.txt"
if grep -q -i "letter\|ɡɹˈɪnɪŋ" "$tmp/out"; then bad "other scripts are spelled out: $(head -c 200 "$tmp/out")"; else
  ok "other scripts are not spelled out letter by letter"; fi
expect "only emoji" 2 say -o "$tmp/a.wav" "$(printf '\xf0\x9f\x98\x80 \xf0\x9f\x8e\x89')"
has "only emoji: the message says why" "$tmp/err" "cannot read"

# ---- voice and model files: exit 3 and a message naming the file
vd=$(dirname "$V")
md="$tmp/models"
expect "missing voice file" 3 say -m "$tmp/none.json" -o "$tmp/a.wav" "Hello."
has "missing voice file message" "$tmp/err" "none.json"
expect "unknown voice name" 3 "$TTS" -m no-such-voice -o "$tmp/a.wav" "Hello."
echo '{"name": "m", "model": "../models/none.safetensors"}' >"$vd/missing_model.json"
expect "missing model file" 3 "$TTS" -m "$vd/missing_model.json" -o "$tmp/a.wav" "Hello."
has "missing model message" "$tmp/err" "none.safetensors"
head -c 20000 "$md/robust.safetensors" >"$md/trunc.safetensors"
echo '{"name": "t", "model": "../models/trunc.safetensors"}' >"$vd/trunc.json"
expect "truncated model" 3 "$TTS" -m "$vd/trunc.json" -o "$tmp/a.wav" "Hello."
has "truncated model message" "$tmp/err" "trunc.safetensors"
{ head -c 8 "$md/robust.safetensors"; printf 'not json at all'; tail -c +24 "$md/robust.safetensors"; } >"$md/corrupt.safetensors"
echo '{"name": "c", "model": "../models/corrupt.safetensors"}' >"$vd/corrupt.json"
expect "corrupt model" 3 "$TTS" -m "$vd/corrupt.json" -o "$tmp/a.wav" "Hello."
has "corrupt model message" "$tmp/err" "corrupt.safetensors"
sed 's/\\"emb\\":32/\\"emb\\":33/' "$md/robust.safetensors" >"$md/mismatch.safetensors"
echo '{"name": "x", "model": "../models/mismatch.safetensors"}' >"$vd/mismatch.json"
expect "mismatched model" 3 "$TTS" -m "$vd/mismatch.json" -o "$tmp/a.wav" "Hello."
has "mismatched model names the tensor" "$tmp/err" "encoder.embedding"
head -c 30 "$V" >"$vd/trunc_voice.json"
expect "truncated voice file" 3 "$TTS" -m "$vd/trunc_voice.json" -o "$tmp/a.wav" "Hello."
printf '\x00\x01\x02 not a voice' >"$vd/binary.json"
expect "corrupt voice file" 3 "$TTS" -m "$vd/binary.json" -o "$tmp/a.wav" "Hello."
has "corrupt voice file message" "$tmp/err" "binary.json"
[ ! -e "$tmp/a.wav" ] && ok "voice errors: no output file" || bad "a voice error left an output"

# ---- outputs
mkdir "$tmp/dir.wav"
expect "output is a directory" 4 say -o "$tmp/dir.wav" "Hello."
has "directory message" "$tmp/err" "directory"
expect "output folder missing" 4 say -o "$tmp/no/such/dir/a.wav" "Hello."
has "missing folder message" "$tmp/err" "no/such/dir"

# a read-only folder: a read-only tmpfs as root (root ignores permissions), else chmod
ro="$tmp/readonly"
mkdir "$ro"
if [ "$(id -u)" -ne 0 ]; then chmod 555 "$ro"; ro_ok=1
elif mount -t tmpfs -o ro,size=64k tmpfs "$ro" 2>/dev/null; then mounts+=("$ro"); ro_ok=1
else ro_ok=0; fi
if [ "$ro_ok" -eq 1 ]; then
  expect "unwritable output folder" 4 say -o "$ro/a.wav" "Hello."
  has "unwritable folder message" "$tmp/err" "readonly"
else
  echo "skip unwritable folder: running as root where a tmpfs cannot be mounted"
fi

# a full disk: a 64 KB tmpfs; the earlier take of the file survives
full="$tmp/full"
mkdir "$full"
if mount -t tmpfs -o size=64k tmpfs "$full" 2>/dev/null; then
  mounts+=("$full")
  echo "previous take" >"$full/out.wav"
  seq 1 40 | sed 's/.*/The quick brown fox jumps over the lazy dog number &./' >"$tmp/long.txt"
  expect "full disk" 4 say -o "$full/out.wav" -f "$tmp/long.txt"
  has "full disk message" "$tmp/err" "space"
  [ "$(cat "$full/out.wav")" = "previous take" ] && ok "full disk: the existing file is kept" || bad "full disk: the existing file was damaged"
  [ "$(ls -A "$full")" = out.wav ] && ok "full disk: no partial file left" || bad "full disk left: $(ls -A "$full")"
  expect "full disk, batch" 4 say --out-dir "$full" "$tmp/long.txt"
  [ "$(ls -A "$full")" = out.wav ] && ok "full disk, batch: no partial file left" || bad "full disk batch left: $(ls -A "$full")"
else
  echo "skip full disk: mounting a tmpfs is not permitted here"
fi

# devices and pipes are written directly, never replaced by a rename
expect "-o /dev/stdout" 0 say -o /dev/stdout "Hello there."
is_wav "$tmp/out" && ok "-o /dev/stdout: a WAV on standard output" || bad "-o /dev/stdout: no WAV"
echo "first line" >"$tmp/appended"
say -o /dev/stdout "Hello there." >>"$tmp/appended"
[ "$(head -n 1 "$tmp/appended")" = "first line" ] && [ "$(tail -c +12 "$tmp/appended" | head -c 4)" = RIFF ] &&
  ok "-o /dev/stdout appends where >> says" || bad "-o /dev/stdout >> FILE did not append"
expect "-o /dev/null" 0 say -o /dev/null "Hello there."
[ -c /dev/null ] && ok "/dev/null is still a device" || bad "/dev/null was replaced"
got=$(say -o /dev/stdout "Hello there." | head -c 4)
[ "$got" = RIFF ] && ok "-o /dev/stdout into a pipe" || bad "-o /dev/stdout into a pipe gave '$got'"
mkfifo "$tmp/fifo.wav"
cat "$tmp/fifo.wav" >"$tmp/fifo-got" &
reader=$!
expect "-o a named pipe" 0 say -o "$tmp/fifo.wav" "Hello there."
wait "$reader"
[ -p "$tmp/fifo.wav" ] && ok "the named pipe is still a pipe" || bad "the named pipe was replaced"
is_wav "$tmp/fifo-got" && ok "the pipe's reader got a WAV" || bad "the pipe's reader got no WAV"
expect "-o - (WAV on stdout)" 0 say -o - "Hello there."
is_wav "$tmp/out" && ok "-o -: a WAV" || bad "-o -: no WAV"

# no audio device (CI machines have none)
"$TTS" -q -m "$V" "Hello." >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
if [ "$rc" -eq 5 ]; then ok "no audio device (exit 5)"; has "no device message" "$tmp/err" "device\|playback"
elif [ "$rc" -eq 0 ]; then echo "skip no audio device: this machine has one"
else bad "no audio device: exit $rc, wanted 5"; fi

# ---- signals: finished outputs kept, the partial one removed, exit 130
mkdir "$tmp/in"
for i in 1 2 3; do echo "Short file number $i." >"$tmp/in/a$i.txt"; done
python3 -c "
import random
random.seed(1)
w='the river was quiet and cold when mary walked down to the old mill where her father had worked'.split()
print(' '.join((' '.join(random.choice(w) for _ in range(12))).capitalize() + '.' for _ in range(400)))" >"$tmp/in/b_long.txt"
set -m # background jobs get the default signal dispositions (SIGINT included)
for sig in INT TERM; do
  out="$tmp/batch_$sig"
  mkdir "$out"
  "$TTS" -q -m "$V" --out-dir "$out" "$tmp/in/a1.txt" "$tmp/in/a2.txt" "$tmp/in/b_long.txt" "$tmp/in/a3.txt" 2>"$tmp/err" &
  pid=$!
  for _ in $(seq 1 600); do [ -e "$out/a2.wav" ] && break; sleep 0.1; done
  sleep 0.5
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  [ "$rc" -eq 130 ] && ok "SIG$sig during batch synthesis (exit 130)" || bad "SIG$sig during batch: exit $rc, wanted 130"
  is_wav "$out/a1.wav" && is_wav "$out/a2.wav" && ok "SIG$sig: finished outputs kept" || bad "SIG$sig: finished outputs lost: $(ls -A "$out")"
  left=$(ls -A "$out" | grep -v -x -e a1.wav -e a2.wav)
  [ -z "$left" ] && ok "SIG$sig: the partial output removed" || bad "SIG$sig left: $left"
done
# one long file with -o: nothing left behind
"$TTS" -q -m "$V" -o "$tmp/sig.wav" -f "$tmp/ten_mb.txt" 2>"$tmp/err" &
pid=$!
sleep 2
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] && ok "SIGTERM while writing 10 MB of text (exit 130)" || bad "SIGTERM on 10 MB: exit $rc, wanted 130"
[ -z "$(ls -A "$tmp" | grep sig)" ] && ok "SIGTERM: no partial output" || bad "SIGTERM left: $(ls -A "$tmp" | grep sig)"
set +m

echo "test_robust: $pass passed, $fail failed, $todo known problems"
[ "$fail" -eq 0 ]
