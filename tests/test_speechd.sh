#!/usr/bin/env bash
# test_speechd.sh - the speech-dispatcher output module (build/sd_tts)
# against the real speech-dispatcher server from Debian: the server runs on a
# private socket and runtime folder with a configuration that loads only our
# module, and plays the module's audio ("server audio") through ALSA into a
# file (an ~/.asoundrc "file" PCM over the "null" device: no sound card
# needed).  spd-say talks to it: plain text, SSML (-x), rate (-r), CHAR (-c),
# KEY (-k), the voice list, and STOP (-S) during a long text, which must cut
# it short.  It prints the measured time from a message to its first audio
# and the STOP latency.
#
# The null device takes audio as fast as it comes, and the server keeps the
# device (and so the file) open between messages: a message's audio is what
# the file grew by once it ended.  The file shows how much audio was played,
# not when; the timings come from the module's debug log (Debug 1 in its
# tts.conf) and the server's log.
#
# Skips (exit 0) only when speech-dispatcher is not installed or its server
# cannot start here; scripts/setup.sh installs it.
#
#   bash tests/test_speechd.sh [path/to/tts]      (make test runs it)
# SPDX-License-Identifier: GPL-3.0-or-later
set -uo pipefail

TTS=${1:-build/tts}
BUILD=$(cd "$(dirname "$TTS")" && pwd)
SD_TTS=$BUILD/sd_tts
VOICE_TOOL=$BUILD/tests/tool_test_voice
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

if ! command -v speech-dispatcher >/dev/null || ! command -v spd-say >/dev/null; then
  echo "SKIP test_speechd.sh: speech-dispatcher is not installed (bash scripts/setup.sh installs it)"
  exit 0
fi
[ -x "$SD_TTS" ] || { echo "FAIL no module at $SD_TTS"; exit 1; }

tmp=$(mktemp -d /tmp/tts-test-speechd-XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server" 2>/dev/null
    wait "$server" 2>/dev/null
  fi
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"   # KEEP_TMP=1 keeps the logs
}
trap cleanup EXIT

# everything private: ALSA reads $HOME/.asoundrc; the server its runtime dir
export HOME="$tmp" XDG_RUNTIME_DIR="$tmp/rt" XDG_CONFIG_HOME="$tmp/config"
export SPEECHD_ADDRESS="unix_socket:$tmp/sock" TTS_VOICE_PATH="$tmp/data/voices"
unset PULSE_SERVER ALSA_CONFIG_PATH
mkdir -p "$tmp/rt" "$tmp/conf/modules" "$tmp/log"
chmod 700 "$tmp/rt"

# a full-size random voice: synthesis as slow as a real voice's
if ! "$VOICE_TOOL" "$tmp/data" testvoice --full >"$tmp/voicepath" 2>"$tmp/err"; then
  echo "FAIL cannot write a test voice with $VOICE_TOOL"; cat "$tmp/err"; exit 1
fi
V=$(cat "$tmp/voicepath")

out="$tmp/out.raw"
cat >"$tmp/.asoundrc" <<EOF
pcm.ttsfile {
    type file
    slave.pcm "null"
    file "$out"
    format "raw"
}
EOF
cat >"$tmp/conf/speechd.conf" <<EOF
AudioOutputMethod "alsa"
AudioALSADevice "ttsfile"
DefaultVolume 100
DefaultRate 0
LogLevel 4
AddModule "tts" "$SD_TTS" "$tmp/conf/modules/tts.conf"
DefaultModule tts
EOF
cat >"$tmp/conf/modules/tts.conf" <<EOF
TtsVoice "$V"
TtsSentenceSilence 0.1
Debug 1
EOF
modlog="$tmp/log/tts.log"
srvlog="$tmp/log/speech-dispatcher.log"

# -t: the server quits after that many seconds without a client; the expected
# sizes below are computed by tts between clients, which takes minutes on a
# loaded machine: the cleanup stops the server, not the timeout
speech-dispatcher -s -t 3600 -C "$tmp/conf" -c unix_socket -S "$tmp/sock" -L "$tmp/log" -l 4 \
  >"$tmp/server.out" 2>&1 &
server=$!
for _ in $(seq 1 100); do [ -S "$tmp/sock" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
if [ ! -S "$tmp/sock" ]; then
  echo "SKIP test_speechd.sh: the speech-dispatcher server cannot start here:"
  sed 's/^/     | /' "$tmp/server.out" | tail -5
  exit 0
fi
ok "speech-dispatcher started on a private socket"

SAY="timeout 60 spd-say"
size() { stat -c %s "$out" 2>/dev/null || echo 0; }
base=0
bytes() { echo $(($(size) - base)); }  # audio bytes since the message began
# say_wait NAME SPD-SAY-ARGS...: speak and wait till the audio is out
say_wait() {
  local name=$1
  shift
  base=$(size)
  if $SAY -w "$@" >"$tmp/say.out" 2>&1; then :; else bad "$name: spd-say failed"; cat "$tmp/say.out"; fi
  sleep 0.2
}
expect_raw() { # expect_raw TEXT [TTS-FLAGS]: bytes of 16-bit audio tts makes of TEXT
  local text=$1
  shift
  "$TTS" -m "$V" --sentence-silence 0.1 "$@" --output-raw "$text" 2>/dev/null | wc -c
}

# the module is there and lists its voices
$SAY -O >"$tmp/mods" 2>&1
if grep -qx "tts" "$tmp/mods" || grep -q "^tts$\|[[:space:]]tts$" "$tmp/mods"; then ok "spd-say -O lists tts"
else bad "tts not among the modules: $(tr '\n' ' ' <"$tmp/mods")"; sed 's/^/     | /' "$modlog" | tail -5; fi
$SAY -o tts -L >"$tmp/voices" 2>&1
if grep -q "testvoice" "$tmp/voices"; then ok "the module lists the test voice"; else
  bad "no testvoice in: $(tr '\n' ' ' <"$tmp/voices")"; fi

# plain text: exactly the audio tts makes of it
TEXT="Hello there. How are you today?"
want=$(expect_raw "$TEXT")
t_send=$(date +%s.%N)
say_wait "text" "$TEXT"
got=$(bytes)
if [ "$got" -eq "$want" ]; then ok "text: $got bytes of audio, as tts makes"; else
  bad "text: $got bytes of audio, tts makes $want"; sed 's/^/     | /' "$modlog" | tail -5; fi
# from spd-say to the server playing the first audio (its log, level 4)
first_line=$(grep -m1 "speak_queue Sending" "$srvlog" 2>/dev/null)
if [ -n "$first_line" ]; then
  stamp=$(sed -n 's/^\[\([^:]*:[^:]*:[^ ]* [0-9]*\) : \([0-9]*\)\].*/\1|\2/p' <<<"$first_line")
  secs=$(date -d "${stamp%|*}" +%s 2>/dev/null)
  if [ -n "$secs" ]; then
    e2e=$(awk -v a="$t_send" -v s="$secs" -v u="${stamp#*|}" 'BEGIN { printf "%.0f", (s + u / 1e6 - a) * 1000 }')
    echo "     measured: spd-say to the server's first audio: $e2e ms"
  fi
fi
mod_first=$(grep -m1 "first audio" "$modlog" | sed 's/.*first audio \([0-9.]*\) ms.*/\1/')
echo "     measured: module, message to first audio block: ${mod_first:-?} ms"

# SSML: a break adds exactly its silence; malformed SSML is still spoken
say_wait "ssml" -x '<speak>Hello there.<break time="1s"/> How are you today?</speak>'
got=$(bytes)
if [ "$got" -eq $((want + 44100 - 4410)) ]; then ok "SSML break: $got bytes (1 s more, less the sentence silence)"
else bad "SSML break: $got bytes, wanted $((want + 44100 - 4410))"; fi
say_wait "malformed ssml" -x '<speak>Hello <b>there.</speak>'
if [ "$(bytes)" -gt 4410 ]; then ok "malformed SSML is still spoken"; else bad "malformed SSML: no audio"; fi

# rate: +60 is about 1.9 times as fast
say_wait "rate" -r 60 "$TEXT"
got=$(bytes)
if [ "$got" -gt 0 ] && [ "$got" -lt $((want * 3 / 4)) ]; then ok "rate 60: $got bytes < 3/4 of $want"
else bad "rate 60: $got bytes, normal $want"; fi

# CHAR and KEY messages
say_wait "char" -c a
if [ "$(bytes)" -gt 2000 ]; then ok "CHAR a: $(bytes) bytes"; else bad "CHAR a: no audio"; fi
say_wait "char" -c ","
if [ "$(bytes)" -gt 2000 ]; then ok "CHAR ,: $(bytes) bytes"; else bad "CHAR ,: no audio"; fi
say_wait "key" -k shift_a
if [ "$(bytes)" -gt 2000 ]; then ok "KEY shift_a: $(bytes) bytes"; else bad "KEY shift_a: no audio"; fi

# STOP during a long text: cut short, promptly
long=""
for i in $(seq 1 60); do long="$long This is sentence number $i of a long text that goes on for a while."; done
full=$(expect_raw "$long")
base=$(size)
n_before=$(grep -c "first audio" "$modlog")
$SAY "$long" >/dev/null 2>&1 &
sayer=$!
for _ in $(seq 1 2000); do [ "$(grep -c "first audio" "$modlog")" -gt "$n_before" ] && break; sleep 0.005; done
$SAY -S
for _ in $(seq 1 200); do grep -q "stopped:\|end:" <(tail -n 3 "$modlog") && break; sleep 0.05; done
wait "$sayer" 2>/dev/null
sleep 0.3
last=$(tail -n 3 "$modlog")
if grep -q "stopped:" <<<"$last"; then
  ok "STOP reached the module while it spoke"
  lat=$(grep "after STOP" <<<"$last" | tail -1 | sed 's/.*stopped \([0-9.]*\) ms after STOP.*/\1/')
  sent=$(grep "stopped:" <<<"$last" | tail -1 | sed 's/.*stopped: \([0-9.]*\) s of audio.*/\1/')
  echo "     measured: STOP latency in the module: $lat ms; $sent s of audio sent of $(awk -v b="$full" 'BEGIN { printf "%.1f", b / 44100 }') s"
  if awk -v l="$lat" 'BEGIN { exit !(l < 100) }'; then ok "STOP within 0.1 s ($lat ms)"; else bad "STOP took $lat ms"; fi
else
  bad "the module finished before STOP: $(tr '\n' ' ' <<<"$last")"
fi
got=$(bytes)
if [ "$got" -lt $((full / 2)) ]; then ok "STOP cut the text short: $got of $full bytes played"
else bad "STOP did not cut the text short: $got of $full bytes"; fi

# the module speaks again after STOP
say_wait "after stop" "Again."
if [ "$(bytes)" -gt 2000 ]; then ok "speaks again after STOP"; else bad "no audio after STOP"; fi

# one model load for all these messages
# (the server logs the module's INIT reply once, in its log or, before the log
# is open, on its output)
loads=$(grep -c "loaded in" "$srvlog" "$tmp/server.out" 2>/dev/null | awk -F: '$NF > m { m = $NF } END { print m + 0 }')
if [ "$loads" -eq 1 ]; then ok "the voice was loaded once"; else bad "the module started $loads times"; fi
if grep -q "a sentence failed\|cannot" "$modlog"; then bad "errors in the module log"; sed 's/^/     | /' "$modlog" | grep "failed\|cannot" | head -3; fi

# the lines `make install` ships for speechd.conf keep the server's own
# modules: a second server given them lists espeak-ng (when the server has it)
# and tts.  (A lone AddModule line would turn the server's search off.)
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; server=""
sd_moddir=$(ls -d /usr/lib/speech-dispatcher-modules /usr/lib/*/speech-dispatcher-modules \
  /usr/libexec/speech-dispatcher-modules 2>/dev/null | head -1)
mkdir -p "$tmp/conf2/modules"
{ echo 'AudioOutputMethod "alsa"'; echo 'AudioALSADevice "ttsfile"'
  sh scripts/speechd-conf.sh "$sd_moddir" "$SD_TTS" "$tmp/conf/modules/tts.conf"; } >"$tmp/conf2/speechd.conf"
export SPEECHD_ADDRESS="unix_socket:$tmp/sock2"
speech-dispatcher -s -t 600 -C "$tmp/conf2" -c unix_socket -S "$tmp/sock2" -L "$tmp/log" -l 4 \
  >"$tmp/server2.out" 2>&1 &
server=$!
for _ in $(seq 1 100); do [ -S "$tmp/sock2" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
$SAY -O >"$tmp/mods2" 2>&1
if grep -qx "tts" "$tmp/mods2"; then ok "with the shipped speechd.conf lines: spd-say -O lists tts"; else
  bad "shipped lines: tts not listed: $(tr '\n' ' ' <"$tmp/mods2")"; fi
if [ -x "$sd_moddir/sd_espeak-ng" ]; then
  if grep -qx "espeak-ng" "$tmp/mods2"; then ok "with the shipped speechd.conf lines: espeak-ng is still listed"; else
    bad "shipped lines: espeak-ng lost: $(tr '\n' ' ' <"$tmp/mods2")"; fi
else
  echo "skip: the server has no sd_espeak-ng in ${sd_moddir:-its module folder}"
fi

echo "test_speechd.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
