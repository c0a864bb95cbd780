#!/usr/bin/env bash
# test_eval.sh - the table of scripts/eval.py on a made-up evaluation folder
# whose answers are known: two sentences of four words, the teacher's
# transcripts with one error in eight words (12.5 %), our first take with two
# (25 %), our second with none and one sentence twice the teacher's length
# (a duration failure of that take only).  The mean of the takes is 12.5 %,
# the teacher's own: the ratio the bar is judged on is 1.00, the first take
# alone 2.00.  Needs Debian's python3 with numpy and sox (scripts/setup.sh).
#
#   bash tests/test_eval.sh            (make test runs it)
# SPDX-License-Identifier: GPL-3.0-or-later
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
pass=0
fail=0
# shellcheck source=checks.sh
. "$here/tests/checks.sh"

if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null || ! command -v sox >/dev/null; then
  echo "test_eval: SKIPPED: needs /usr/bin/python3 with numpy and sox (bash scripts/setup.sh)"
  exit 0
fi
tmp=$(mktemp -d /tmp/tts-test-eval.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
w=$tmp/work
mkdir -p "$w"/{text,teacher,espeak,ours,ours-take1}
printf 'a|one two three four\nb|five six seven eight\n' > "$w/dev.list"
: > "$w/failures.list"
: > "$w/ours-take1/failures.list"
tone() { sox -n -r 22050 -b 16 -c 1 "$1" synth "$2" sine "$3" gain -10 2>/dev/null; }
for id in a b; do
  tone "$w/teacher/$id.wav" 1.0 300
  tone "$w/espeak/$id.wav" 1.0 500
  tone "$w/ours/$id.wav" 1.0 320
done
tone "$w/ours-take1/a.wav" 1.0 320
tone "$w/ours-take1/b.wav" 2.0 320  # twice the teacher's length
echo "one two three four" > "$w/text/a.norm"
echo "five six seven eight" > "$w/text/b.norm"
echo "one two three four" > "$w/teacher/a.hyp"
echo "five six heaven eight" > "$w/teacher/b.hyp"
echo "one two tree four" > "$w/ours/a.hyp"
echo "five sex seven eight" > "$w/ours/b.hyp"
cp "$w/text/a.norm" "$w/ours-take1/a.hyp"
cp "$w/text/b.norm" "$w/ours-take1/b.hyp"
echo "x" > "$w/espeak/a.hyp"
echo "x" > "$w/espeak/b.hyp"

/usr/bin/python3 "$here/scripts/eval.py" "$w" > "$tmp/out" 2> "$tmp/err" || bad "eval.py exit $?"
has "the first take's WER" "$tmp/out" '^ours  *25\.0%'
has "the second take's WER and its duration failure" "$tmp/out" '^ours-take1  *0\.0%.*  1$'
has "the first take has no failure" "$tmp/out" '^ours  .*  0$'
has "the teacher's WER" "$tmp/out" '^teacher  *12\.5%'
has "the ratio of the mean of the takes" "$tmp/out" 'our WER / teacher WER = 1\.00 .*mean of 2 takes.*12\.5%.*25\.0% / 0\.0%.*first take alone: 2\.00'
has "the failure's kind" "$tmp/out" 'attention failures of ours-take1 by kind: duration 1'

# one take: the ratio is that take's
rm -rf "$w/ours-take1"
/usr/bin/python3 "$here/scripts/eval.py" "$w" > "$tmp/out" 2> "$tmp/err" || bad "eval.py (one take) exit $?"
has "one take: its own ratio" "$tmp/out" '^our WER / teacher WER = 2\.00 (bar'

echo "test_eval: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
