#!/usr/bin/env bash
# test_markup.sh - the markup and pronunciation flags of `tts`: --ssml (and
# SSML found by its leading <speak>), [[ IPA ]] in plain text, --lexicon
# with the shipped sample (doc/lexicon.sample) and with bad files, through
# --phonemes and through synthesis with the random test voice.  It checks
# exit codes, messages and audio lengths; the library's handling of each
# element is tested in tests/test_markup.c.
#
#   bash tests/test_markup.sh [path/to/tts]      (make test runs it)
# SPDX-License-Identifier: GPL-3.0-or-later
set -uo pipefail

TTS=${1:-build/tts}
VOICE_TOOL=$(dirname "$TTS")/tests/tool_test_voice
tmp=$(mktemp -d /tmp/tts-test-markup-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
. "$(dirname "$0")/checks.sh"

[ -x "$TTS" ] || { echo "FAIL no executable at $TTS"; exit 1; }
expect "--help" 0 "$TTS" --help
has "--help lists --ssml" "$tmp/out" "--ssml"
has "--help lists --lexicon" "$tmp/out" "--lexicon FILE"

# --phonemes shows what markup and the lexicon do
expect "SSML detected" 0 "$TTS" --phonemes '<speak>Call <say-as interpret-as="telephone">555-0100</say-as>.</speak>'
has "say-as telephone" "$tmp/out" "five five five, zero one zero zero"
expect "--ssml without <speak>" 0 "$TTS" --ssml --phonemes 'Fish &amp; chips<break time="1s"/>now'
has "--ssml: entities" "$tmp/out" "Fish and chips"
has "--ssml: the break" "$tmp/out" "pause\|now"
expect "inline IPA" 0 "$TTS" --phonemes "Say [[təmˈɑːtoʊ]] twice."
has "inline IPA kept" "$tmp/out" "sˈeɪ təmˈɑːtoʊ twˈaɪs"
expect "malformed SSML is still read" 0 "$TTS" --phonemes '<speak>Hello <b>world</speak>'
has "malformed: the text" "$tmp/out" "Hello world"
has "malformed: the position" "$tmp/err" "line 1, column"
expect "lexicon sample" 0 "$TTS" --lexicon doc/lexicon.sample --phonemes "Sean runs nginx for us in the US."
has "lexicon: respelling" "$tmp/out" "Shawn runs"
has "lexicon: IPA" "$tmp/out" "ˈɛndʒɪn ˈɛks"
has "lexicon: case rule" "$tmp/out" "ʌs ɪn.*jˌuːˈɛs"
printf 'good /ɡʊd/\nbad\n' >"$tmp/bad.lex"
expect "bad lexicon line" 2 "$TTS" --lexicon "$tmp/bad.lex" --phonemes "x"
has "bad lexicon: file and line" "$tmp/err" "bad.lex:2:"
printf 'click /ʘ/\n' >"$tmp/sym.lex"
expect "unknown IPA in the lexicon" 2 "$TTS" --lexicon "$tmp/sym.lex" --phonemes "x"
has "unknown IPA named" "$tmp/err" "U+0298"
expect "missing lexicon" 2 "$TTS" --lexicon "$tmp/none.lex" --phonemes "x"

# synthesis with the random test voice
if "$VOICE_TOOL" "$tmp/data" testvoice >"$tmp/voicepath" 2>/dev/null; then
  V=$(cat "$tmp/voicepath")
  expect "plain" 0 "$TTS" -m "$V" --sentence-silence 0 -o "$tmp/a.wav" "Hello there."
  expect "SSML with a break" 0 "$TTS" -m "$V" --sentence-silence 0 -o "$tmp/b.wav" '<speak>Hello there.<break time="1s"/></speak>'
  a=$(soxi -s "$tmp/a.wav"); b=$(soxi -s "$tmp/b.wav")
  if [ $((b - a)) -eq 22050 ]; then ok "the break adds 1 s"; else bad "the break added $((b - a)) samples"; fi
  expect "malformed SSML synthesized" 0 "$TTS" -m "$V" -o "$tmp/c.wav" '<speak>Hello <b>there.</speak>'
  has "malformed: warned" "$tmp/err" "malformed or unsupported markup: line 1, column"
  printf 'x|Sean runs nginx.\n' | "$TTS" -m "$V" --lexicon doc/lexicon.sample --lines -O "$tmp/batch" >/dev/null 2>&1
  if [ -s "$tmp/batch/x.wav" ]; then ok "lexicon with --lines"; else bad "no batch output"; fi
else
  bad "cannot write the test voice with $VOICE_TOOL"
fi

echo "test_markup.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
