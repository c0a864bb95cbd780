#!/usr/bin/env bash
# test_redteam.sh - what the second red-team pass found (issue 21), through the
# programs: outputs never written through a symbolic link planted in the
# output folder, the replaced file's mode kept, `2>&-` keeping warnings out of
# the WAV, --lines IDs with control characters refused, stale ".part" files of
# killed runs removed (and nothing else), SIGHUP handled as SIGTERM; the
# speech-dispatcher module refusing a multi-line SOUND_ICON (protocol lines
# injected by a client) and a synthesis_voice that is a path.
#
# The voice is random weights written by build/tests/test_robust --write-voice.
#
#   bash tests/test_redteam.sh [path/to/tts]      (make test runs it)
# SPDX-License-Identifier: GPL-3.0-or-later
set -uo pipefail

TTS=${1:-build/tts}
BUILD=$(dirname "$TTS")
tmp=$(mktemp -d /tmp/tts-test-redteam-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
. "$(dirname "$0")/checks.sh"

is_wav() { [ -s "$1" ] && [ "$(head -c 4 "$1")" = RIFF ] && soxi -D "$1" >/dev/null 2>&1; }

[ -x "$TTS" ] || { echo "FAIL no executable at $TTS"; exit 1; }
V=$("$BUILD/tests/test_robust" --write-voice "$tmp") || { echo "FAIL cannot write the test voice"; exit 1; }

# ---- 2. batch output never writes through a link already in the folder
mkdir -p "$tmp/batch" "$tmp/home"
printf 'secret=1\n' >"$tmp/home/precious.conf"
chmod 600 "$tmp/home/precious.conf"
ln -s "$tmp/home/precious.conf" "$tmp/batch/ok1.wav"
printf 'ok1|Hello there.\nok2|Good morning.\n' >"$tmp/meta.csv"
expect "--lines over a planted link" 0 "$TTS" -q -m "$V" --lines --out-dir "$tmp/batch" "$tmp/meta.csv"
[ "$(cat "$tmp/home/precious.conf")" = "secret=1" ] && ok "--lines: the link's target is untouched" ||
  bad "--lines wrote through the link into precious.conf"
[ "$(stat -c %a "$tmp/home/precious.conf")" = 600 ] && ok "--lines: the target's mode is untouched" ||
  bad "--lines changed the target's mode"
[ ! -L "$tmp/batch/ok1.wav" ] && is_wav "$tmp/batch/ok1.wav" && ok "--lines: the link is replaced by the WAV" ||
  bad "--lines: batch/ok1.wav is not a new WAV"

ln -s "$tmp/home/precious.conf" "$tmp/one.wav"
expect "-o over a link" 0 "$TTS" -q -m "$V" "Hello." -o "$tmp/one.wav"
[ "$(cat "$tmp/home/precious.conf")" = "secret=1" ] && [ ! -L "$tmp/one.wav" ] && is_wav "$tmp/one.wav" &&
  ok "-o: the link is replaced, its target untouched" || bad "-o wrote through a link"

# ---- 7. overwriting keeps the file's mode
"$TTS" -q -m "$V" "Hello." -o "$tmp/private.wav" && chmod 640 "$tmp/private.wav"
expect "overwrite a 0640 file" 0 "$TTS" -q -m "$V" "Good morning." -o "$tmp/private.wav"
[ "$(stat -c %a "$tmp/private.wav")" = 640 ] && ok "overwrite keeps mode 0640" ||
  bad "overwrite changed the mode to $(stat -c %a "$tmp/private.wav")"

# ---- 4. stderr closed: warnings never land in the WAV
text='Hello [[ʘʘ]] there.'  # an IPA symbol the voice does not know: a warning
"$TTS" -m "$V" "$text" -o "$tmp/warn.wav" 2>"$tmp/err"
has "the warning case warns" "$tmp/err" "U+0298"
"$TTS" -m "$V" "$text" -o "$tmp/closed.wav" 2>&-
rc=$?
[ $rc -eq 0 ] && cmp -s "$tmp/warn.wav" "$tmp/closed.wav" && ok "2>&-: the WAV is the same as with stderr open" ||
  bad "2>&- (exit $rc): the WAV differs ($(stat -c %s "$tmp/warn.wav") vs $(stat -c %s "$tmp/closed.wav") bytes)"
"$TTS" -m "$V" "$text" -o - 2>&- >"$tmp/closed-stdout.wav"
cmp -s "$tmp/warn.wav" "$tmp/closed-stdout.wav" && ok "2>&- with -o -: a clean WAV" || bad "2>&- with -o -"
"$TTS" -m "$V" "$text" -o "$tmp/closed-in.wav" <&- 2>&-
cmp -s "$tmp/warn.wav" "$tmp/closed-in.wav" && ok "<&- 2>&-: a clean WAV" || bad "<&- 2>&-"

# ---- 3. --lines IDs with control characters are refused, never echoed raw
printf 'a\033]0;pwned\007b|Hello.\nc\rd|Hello.\ngood|Hello.\n' >"$tmp/ctl.csv"
expect "--lines with control characters in IDs" 2 "$TTS" -q -m "$V" --lines --out-dir "$tmp/ctl" "$tmp/ctl.csv"
has "--lines names the line with a control character" "$tmp/err" "ctl.csv:1: the ID has a control character"
has "--lines names the second one" "$tmp/err" "ctl.csv:2: the ID has a control character"
if LC_ALL=C grep -q "$(printf '\033')\|$(printf '\r')" "$tmp/err"; then bad "--lines echoed a control character"; else
  ok "--lines echoes no control character"; fi
[ "$(ls -A "$tmp/ctl")" = good.wav ] && ok "--lines wrote only good.wav" || bad "--lines wrote $(ls -A "$tmp/ctl" | od -c | head -3)"

# ---- 9. stale .part files of a killed run go; a live process's stay
mkdir -p "$tmp/st"
touch "$tmp/st/.a.wav.99999999.0a0b0c.part" "$tmp/st/.b.wav.$$.0a0b0c.part" "$tmp/st/.a.wav.x.part" "$tmp/st/keep.wav.part"
printf 'a|Hello.\n' >"$tmp/a.csv"
expect "--lines in a folder with stale parts" 0 "$TTS" -q -m "$V" --lines --out-dir "$tmp/st" "$tmp/a.csv"
[ ! -e "$tmp/st/.a.wav.99999999.0a0b0c.part" ] && ok "the dead run's .part is removed" || bad "stale .part kept"
[ -e "$tmp/st/.b.wav.$$.0a0b0c.part" ] && [ -e "$tmp/st/.a.wav.x.part" ] && [ -e "$tmp/st/keep.wav.part" ] &&
  ok "a live run's .part and other names stay" || bad "removed files that were not stale: $(ls -A "$tmp/st")"
touch "$tmp/.one.wav.99999999.0a0b0c.part" "$tmp/.other.wav.99999999.0a0b0c.part"
expect "-o beside a stale part" 0 "$TTS" -q -m "$V" "Hello." -o "$tmp/one.wav"
[ ! -e "$tmp/.one.wav.99999999.0a0b0c.part" ] && [ -e "$tmp/.other.wav.99999999.0a0b0c.part" ] &&
  ok "-o removes its own name's stale .part only" || bad "-o stale parts: $(ls -A "$tmp" | grep part)"

# ---- 9. SIGHUP is handled like SIGTERM: exit 130, no partial output
python3 - "$tmp/long.txt" <<'PY'
import sys
open(sys.argv[1], "w").write("This is a long sentence that goes on for a while, " * 400)
PY
"$TTS" -q -m "$V" -f "$tmp/long.txt" -o "$tmp/hup.wav" 2>"$tmp/err" &
pid=$!
sleep 0.5
kill -HUP $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && ok "SIGHUP: exit 130" || bad "SIGHUP: exit $rc"
[ -z "$(ls -A "$tmp" | grep '^\.hup')" ] && [ ! -e "$tmp/hup.wav" ] && ok "SIGHUP: no partial output" ||
  bad "SIGHUP left $(ls -A "$tmp" | grep hup)"

# ---- 3. the speech-dispatcher module: hostile messages
SD="$BUILD/sd_tts"
if [ -x "$SD" ]; then
  printf 'TtsVoice "robust"\n' >"$tmp/tts.conf"
  printf '{"model": "/etc/passwd"}\n' >"$tmp/evil.json"
  # voices whose name or language would be protocol lines in LIST VOICES
  mkdir -p "$tmp/sdvoices"
  cp "$tmp/voices/robust.json" "$tmp/sdvoices/robust.json"
  sed -i 's#"\.\./models/#"'"$tmp"'/models/#' "$tmp/sdvoices/robust.json"
  printf '{"model": "x.safetensors", "language": "en\\n706 INJECTED LANGUAGE"}\n' >"$tmp/sdvoices/lang.json"
  printf '{"model": "x.safetensors"}\n' >"$tmp/sdvoices/$(printf 'nl\n706 INJECTED NAME').json"
  {
    printf 'INIT\n'
    printf 'SOUND_ICON\nbell\n706 INJECTED\n.\n'
    printf 'SOUND_ICON\nbe\rll\n.\n'
    printf 'SOUND_ICON\nbell\n.\n'
    printf 'SET\nsynthesis_voice=%s\n.\n' "$tmp/evil.json"
    printf 'SET\nsynthesis_voice=../robust\n.\n'
    printf 'SET\nsynthesis_voice=robust\n.\n'
    printf 'LIST VOICES\n'
    printf 'QUIT\n'
  } | TTS_VOICE_PATH="$tmp/sdvoices" "$SD" "$tmp/tts.conf" >"$tmp/sd.out" 2>"$tmp/sd.err"
  rc=$?
  [ $rc -eq 0 ] && ok "sd_tts: the session ends with QUIT (exit 0)" || bad "sd_tts exit $rc"
  if grep -q "INJECTED" "$tmp/sd.out"; then bad "sd_tts: a SOUND_ICON line was injected into the protocol"; else
    ok "sd_tts: no injected protocol line"; fi
  has "sd_tts: LIST VOICES lists the voice" "$tmp/sd.out" "^200-robust"
  has "sd_tts: LIST VOICES lists the voice with a bad language as en" "$tmp/sd.out" "^200-lang.en.none"
  has "sd_tts: a multi-line SOUND_ICON is refused" "$tmp/sd.out" "^305 DATA MORE THAN ONE LINE"
  [ "$(grep -c '^706-bell$' "$tmp/sd.out")" -eq 1 ] && ok "sd_tts: a plain icon name still works" ||
    bad "sd_tts: icons sent: $(grep -c '^706-' "$tmp/sd.out")"
  if LC_ALL=C grep -q "$(printf '\r')" "$tmp/sd.out"; then bad "sd_tts echoed a carriage return"; else
    ok "sd_tts: no control character echoed"; fi
  [ "$(grep -c 'no installed voice of that name' "$tmp/sd.err")" -eq 2 ] &&
    ok "sd_tts: synthesis_voice paths are refused" || bad "sd_tts: synthesis_voice paths: $(cat "$tmp/sd.err")"
  if grep -q "passwd\|evil" "$tmp/sd.err"; then bad "sd_tts tried to load the path"; else
    ok "sd_tts: the path was never loaded"; fi
else
  bad "no module at $SD"
fi

# ---- 16. exit codes as the table says, messages that name the problem
python3 - "$tmp" <<'PY'
import json, struct, sys
d = sys.argv[1]
raw = open(d + "/models/robust.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head, body = raw[:8 + n], bytearray(raw[8 + n:])
nan = bytearray(body)
for off in range(0, len(nan), 4 * 997): nan[off:off + 4] = struct.pack("<f", float("nan"))
open(d + "/models/nan.safetensors", "wb").write(head + bytes(nan))
open(d + "/models/zero.safetensors", "wb").write(head + bytes(len(body)))
v = json.load(open(d + "/voices/robust.json"))
def voice(name, **kw):
    w = dict(v); w.update(kw); json.dump(w, open(d + "/voices/%s.json" % name, "w"))
voice("nan", model="../models/nan.safetensors")
voice("zero", model="../models/zero.safetensors")
voice("esp_short", espeak_voice="xx")
voice("esp_long", espeak_voice="no-such-espeak-voice-with-a-long-name")
voice("big", provenance="x" * (1 << 21))
PY
expect "NaN weights: a voice error" 3 "$TTS" -m "$tmp/voices/nan.json" "Hello." -o "$tmp/x.wav"
has "NaN weights: said" "$tmp/err" "NaN or infinite"
expect "unknown espeak_voice (short): a voice error" 3 "$TTS" -m "$tmp/voices/esp_short.json" "Hello." -o "$tmp/x.wav"
expect "unknown espeak_voice (long): a voice error" 3 "$TTS" -m "$tmp/voices/esp_long.json" "Hello." -o "$tmp/x.wav"
has "unknown espeak_voice: named" "$tmp/err" "espeak-ng cannot load the voice 'no-such-espeak-voice-with-a-long-name'"
expect "a voice file over 1 MB" 3 "$TTS" -m "$tmp/voices/big.json" "Hello." -o "$tmp/x.wav"
has "a voice file over 1 MB: said so" "$tmp/err" "larger than 1 MB"
if grep -q "Input/output error" "$tmp/err"; then bad "the 1 MB voice file says Input/output error"; else ok "no bare Input/output error"; fi
expect "zeroed weights: every sentence fails to align" 3 "$TTS" -m "$tmp/voices/zero.json" "Hello there. Good morning." -o "$tmp/zero.wav"
has "zeroed weights: said" "$tmp/err" "failed to align every sentence"
[ ! -e "$tmp/zero.wav" ] && ok "zeroed weights: no file of silence" || bad "zeroed weights wrote $tmp/zero.wav"
expect "--phonemes with nothing speakable" 2 "$TTS" --phonemes "..."
has "--phonemes with nothing speakable: said" "$tmp/err" "nothing to speak"
expect "synthesis with nothing speakable" 2 "$TTS" -q -m "$V" "..." -o "$tmp/x.wav"

# ---- 15. SSML with an internal DTD subset is SSML: its tags are read
expect "SSML with a DOCTYPE internal subset" 0 "$TTS" --phonemes \
  '<?xml version="1.0"?><!DOCTYPE speak [ <!ENTITY n "x"> ]><speak>One <break time="700ms"/> two.</speak>'
has "the DOCTYPE SSML's break ends the sentence" "$tmp/out" "^One$"
if grep -q "ENTITY\|break" "$tmp/out"; then bad "the DOCTYPE SSML was read as text"; else ok "no markup read as text"; fi

echo "test_redteam.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
