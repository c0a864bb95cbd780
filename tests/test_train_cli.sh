#!/usr/bin/env bash
# test_train_cli.sh - tts-train as a new user runs it, from a copy of the
# repository: it never touches the shipped voice, its exports land under the
# state folder, the voice file tells the dataset's licence and source, a run
# writes train.log and a log.tsv with a header, and --version answers.
#
# usage: tests/test_train_cli.sh [build/tts]   (the tts-train beside it is tested)
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tts=${1:-$here/build/tts}
train="$(cd "$(dirname "$tts")" && pwd)/tts-train"
fail=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fail=1; }
export OPENBLAS_NUM_THREADS=1

dir=$(mktemp -d /tmp/tts-test-train-cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# a copy of the repository's shipped voice, and a tiny dataset
mkdir -p "$dir/repo" "$dir/mine/wavs"
cp -r "$here/models" "$here/voices" "$dir/repo/"
before=$(cd "$dir/repo" && sha256sum models/* voices/*.json)
i=0
for t in "Hello there." "A quiet morning." "Seven green apples!" "Where is it?" "The cat sat down." \
         "Nothing at all, really." "Open the door." "It was late."; do
  sox -n -r 16000 -b 16 "$dir/mine/wavs/u$i.wav" synth 0.$((4 + i % 5)) sine $((180 + 23 * i)) gain -12 \
      2>/dev/null || { echo "test_train_cli: sox failed"; exit 1; }
  echo "u$i|$t|$t" >> "$dir/mine/metadata.csv"
  i=$((i + 1))
done
echo "CC-BY-4.0, my own recordings" > "$dir/mine/LICENSE"
echo "recorded by the test at 16 kHz" > "$dir/mine/SOURCE"
F=(--steps 4 --batch 4 --eval-every 0 --ckpt-every 2 --plot-every 0 --dev-speak 0 --decoder-units 32
   --postnet-channels 16 --mels 40 -q)

cd "$dir/repo" || exit 1
"$train" --version | grep -q '^tts-train [0-9]' && ok "--version" || bad "--version"
# 1. a run from the repository: exports under the state folder, named after the dataset
if "$train" "${F[@]}" "$dir/mine" "$dir/state" 2> "$dir/run.log"; then
  [ -s "$dir/state/export/models/mine.safetensors" ] && [ -s "$dir/state/export/voices/mine.json" ] &&
    ok "the export is STATE/export/{models,voices}/mine.*" || bad "no export under the state folder: $(ls -R "$dir/state" | head)"
else
  bad "training failed: $(tail -2 "$dir/run.log")"
fi
grep -q '"license":.*CC-BY-4.0, my own recordings' "$dir/state/export/voices/mine.json" &&
  grep -q 'recorded by the test at 16 kHz' "$dir/state/export/voices/mine.json" &&
  ! grep -qi 'festival' "$dir/state/export/voices/mine.json" &&
  ok "the voice file tells the dataset's licence and source" || bad "voice file: $(cat "$dir/state/export/voices/mine.json")"
grep -q "warning: .* dev utterances are too few" "$dir/run.log" && ok "a too small dev set is warned about" ||
  bad "no warning about the dev set"
[ -s "$dir/state/train.log" ] && grep -q "tts-train:" "$dir/state/train.log" && ok "train.log is written" ||
  bad "no train.log"
head -1 "$dir/state/log.tsv" | grep -q '^# step' && ok "log.tsv has a header" || bad "log.tsv: $(head -1 "$dir/state/log.tsv")"
# 16 kHz wavs are resampled, not skipped
grep -q "skipped" "$dir/run.log" && grep -q "(0 skipped)" "$dir/run.log" || true
grep -q "8 utterances from $dir/mine (0 skipped)" "$dir/run.log" && ok "16 kHz recordings are resampled" ||
  bad "recordings at 16 kHz: $(grep dataset "$dir/run.log")"

# 2. --export from the repository folder writes under the state folder too
"$train" --export "$dir/mine" "$dir/state" 2> "$dir/export.log" || bad "--export failed: $(tail -1 "$dir/export.log")"
# 3. asked to export over the shipped voice: refused without --force
"$train" "${F[@]}" --steps 6 --name slt --models models --voices voices "$dir/mine" "$dir/state2" 2> "$dir/over.log"
rc=$?
[ "$rc" -ne 0 ] && grep -q "not made by this run" "$dir/over.log" && ok "the shipped voice is not replaced (exit $rc)" ||
  bad "over the shipped voice: exit $rc, $(tail -1 "$dir/over.log")"
"$train" --export --name slt --models models --voices voices "$dir/mine" "$dir/state" 2> "$dir/over2.log"
rc=$?
[ "$rc" -ne 0 ] && ok "--export over the shipped voice is refused (exit $rc)" || bad "--export replaced the shipped voice"
after=$(sha256sum models/* voices/*.json)
[ "$before" = "$after" ] && ok "the shipped models/ and voices/ are unchanged" || bad "shipped files changed"
# 4. --force replaces it (in the copy)
"$train" --export --force --name slt --models models --voices voices "$dir/mine" "$dir/state" 2>/dev/null &&
  [ "$(sha256sum models/slt.safetensors)" != "$(echo "$before" | grep models/slt.safetensors)" ] &&
  ok "--force replaces it" || bad "--force did not replace it"
exit $fail
