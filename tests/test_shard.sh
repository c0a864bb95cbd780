#!/usr/bin/env bash
# test_shard.sh - batch synthesis spread over processes: two shards run side
# by side write every line of a manifest exactly once, a rerun skips what is
# there, a failed line is listed for a rerun, and --shard is checked.
#
# usage: tests/test_shard.sh [build/tts]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
TTS=${1:-$here/build/tts}
VOICE_TOOL=$(dirname "$TTS")/tests/tool_test_voice
fail=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fail=1; }
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d /tmp/tts-test-shard.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$VOICE_TOOL" "$tmp/data" testvoice > /dev/null 2> "$tmp/err" || { echo "test_shard: no test voice: $(cat "$tmp/err")"; exit 1; }
export TTS_VOICE_PATH="$tmp/data/voices" TTS_VOICE=testvoice

for i in $(seq 0 10); do echo "line$i|Sentence number $i is here."; done > "$tmp/manifest"
echo "bad|" >> "$tmp/manifest"   # no text: fails in whichever shard takes it (index 11: shard 1)
# two shards side by side
"$TTS" -q --lines --out-dir "$tmp/out" --shard 0/2 "$tmp/manifest" 2> "$tmp/s0.err" & p0=$!
"$TTS" --lines --out-dir "$tmp/out" --shard 1/2 --failed-list "$tmp/failed" "$tmp/manifest" 2> "$tmp/s1.err" & p1=$!
wait $p0; r0=$?
wait $p1; r1=$?
[ "$r0" -eq 0 ] && ok "shard 0/2 exits 0" || bad "shard 0/2 exit $r0: $(cat "$tmp/s0.err")"
[ "$r1" -eq 2 ] && ok "shard 1/2 exits 2 (a line failed)" || bad "shard 1/2 exit $r1: $(cat "$tmp/s1.err")"
n=$(ls "$tmp/out" | grep -c '\.wav$')
[ "$n" -eq 11 ] && ok "together they wrote all 11 good lines" || bad "$n wavs: $(ls "$tmp/out")"
for i in $(seq 0 10); do [ -s "$tmp/out/line$i.wav" ] || bad "line$i.wav missing"; done
ls "$tmp/out" | grep -qv '\.wav$' && bad "leftovers in the output folder: $(ls "$tmp/out")"
grep -q "shard 1/2: 5 of 6 lines written to $tmp/out, 1 failed" "$tmp/s1.err" && ok "per-shard summary" ||
  bad "summary: $(tail -1 "$tmp/s1.err")"
[ "$(cat "$tmp/failed")" = "bad|" ] && ok "the failed line is listed" || bad "failed list: $(cat "$tmp/failed" 2>&1)"
# each line was written once: shard 0 took the even indices, shard 1 the odd ones
"$TTS" --lines --out-dir "$tmp/out" --shard 0/2 "$tmp/manifest" > "$tmp/re0.err" 2>&1
grep -q "0 of 6 lines written to $tmp/out, 6 skipped" "$tmp/re0.err" && ok "a rerun of shard 0 skips its 6 lines" ||
  bad "rerun of shard 0: $(cat "$tmp/re0.err")"
before=$(stat -c %Y "$tmp/out/line1.wav")
sleep 1
"$TTS" -q --lines --out-dir "$tmp/out" --shard 1/2 "$tmp/manifest" 2>/dev/null
[ "$(stat -c %Y "$tmp/out/line1.wav")" = "$before" ] && ok "complete outputs are not written again" ||
  bad "line1.wav was written again"
# a removed output is made again on the rerun
rm "$tmp/out/line3.wav"
"$TTS" --lines --out-dir "$tmp/out" --shard 1/2 "$tmp/manifest" > "$tmp/re1.err" 2>&1
grep -q "1 of 6 lines written" "$tmp/re1.err" && [ -s "$tmp/out/line3.wav" ] && ok "a missing output is made on the rerun" ||
  bad "line3.wav not remade: $(cat "$tmp/re1.err")"
# usage errors
for s in 2/2 -1/2 1 a/b 0/0; do
  "$TTS" --lines --out-dir "$tmp/out" --shard "$s" "$tmp/manifest" 2>/dev/null
  [ $? -eq 1 ] || bad "--shard $s is not a usage error"
done
"$TTS" --shard 0/2 "Hello." -o "$tmp/x.wav" 2>/dev/null
[ $? -eq 1 ] && ok "--shard without --out-dir is a usage error" || bad "--shard without --out-dir"
exit $fail
