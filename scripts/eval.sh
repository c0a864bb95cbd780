#!/usr/bin/env bash
# eval.sh - intelligibility and fidelity of a tts voice on held-out sentences.
#
# usage: scripts/eval.sh [-n N] [--skip K] [--voice NAME] [--model FILE] [--corpus DIR]
#                        [--work DIR] [-j N]
#   -n N        sentences (default 100), taken from the dev set: every LJ050-* and
#               arctic_b05* line of DIR/ljspeech.txt and DIR/arctic.txt, which the
#               training corpus script leaves out
#   --skip K    leave out the first K of them (--skip 100 -n 200: the dev sentences
#               the default run does not use, for choosing among snapshots without
#               tuning to the reported set)
#   --voice     our voice (default slt)
#   --model     its weights, for the teacher-forced row (default models/VOICE.safetensors)
#   --corpus    folder of the sentence lists (default ../shared/corpus)
#   --work      scratch folder (default a new temporary folder)
#   -j N        recognizers run at once (default: one per core)
#   --recipe F  a voice recipe (voices/recipes/NAME.conf): its teacher, language
#               and espeak-ng voice replace festival's slt and en-us, and its
#               name the default --voice
#   --voice-file F   the voice file to evaluate (default: --voice's)
#   --data DIR  take the sentences from DIR/dev/metadata.csv (a make-corpus
#               dataset's held-out set) instead of the corpus lists; the default
#               for a recipe that is not English
#   --takes N   our voice renders the sentences N times, with tts --seed 0 .. N-1
#               (default 3): one take alone moves the WER by a few points, so the
#               bar is judged on the mean of the takes
#
# For a language other than English there is no recognizer here: the table has
# the distortion, duration ratio and attention failures, and no WER.
#
# For each sentence it renders our voice (build/tts), the teacher (festival's
# cmu_us_slt_arctic_hts) and espeak-ng, transcribes all three with pocketsphinx
# (16 kHz), and prints one table: word error rate against the text, mel cepstral
# distortion (DTW) against the teacher, duration ratio to the teacher, and
# attention failures (a sentence our synthesizer had to retry in pieces, or a
# duration more than 30% away from the teacher's).  The row "ours-tf" is our
# model teacher-forced on the teacher's own frames (tts-train --render-tf): the
# errors of its frame predictions alone, without those its own fed-back frames
# add when it speaks freely.
#
# Then a chapter: about 2,000 held-out words as one text (CHAPTER_WORDS, 0 for
# none), checked for sentences skipped or said twice (see eval.py: chapter).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=100; skip=0; voice=""; model=""; jobs=$(nproc 2>/dev/null || echo 1); corpus="$here/../shared/corpus"; work=""
recipe=""; voice_file=""; data=""; takes=3
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    --skip) skip=$2; shift 2 ;;
    --voice) voice=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --recipe) recipe=$2; shift 2 ;;
    --voice-file) voice_file=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --takes) takes=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "eval: unknown argument $1" >&2; exit 1 ;;
  esac
done
# the teacher and language: festival's slt and US English unless a recipe says
name=slt; teacher=festival; teacher_encoding=""; language=en-us; espeak_voice=en-us
# shellcheck source=/dev/null
[ -n "$recipe" ] && . "$recipe"
[ -n "$voice" ] || voice=$name
[ -n "$voice_file" ] || voice_file=$voice
english=0; case "$language" in en|en-*) english=1 ;; esac
[ "$english" -eq 1 ] || [ -n "$data" ] || { echo "eval: a $language voice needs --data DIR (its dataset's dev set)" >&2; exit 1; }
for tool in festival espeak-ng sox pocketsphinx_continuous; do
  command -v $tool >/dev/null || { echo "eval: $tool is missing (bash scripts/setup.sh)" >&2; exit 1; }
done
[ -x "$here/build/tts" ] || { echo "eval: build/tts is missing (make)" >&2; exit 1; }
case "$takes" in ''|*[!0-9]*|0) echo "eval: --takes needs a whole number of at least 1" >&2; exit 1 ;; esac
[ -n "$work" ] || work=$(mktemp -d /tmp/tts-eval.XXXXXX)
if [ -z "$model" ]; then
  model="$here/models/$voice.safetensors"
  # the model a voice file names, relative to its folder
  if [ -r "$voice_file" ]; then
    m=$(sed -n 's/.*"model":[[:space:]]*"\([^"]*\)".*/\1/p' "$voice_file" | head -1)
    case "$m" in /*) model=$m ;; ?*) model="$(dirname "$voice_file")/$m" ;; esac
  fi
fi
rm -rf "$work"/ours-take*  # a run of the same folder with more takes
mkdir -p "$work"/{ours,ours-tf,teacher,espeak,text,tf-data}

# The dev sentences: arctic_b05* and LJ050-*, alternating, at most 200 characters.
if [ -n "$data" ]; then
  [ -r "$data/dev/metadata.csv" ] || { echo "eval: no $data/dev/metadata.csv" >&2; exit 1; }
  cut -d'|' -f1,2 "$data/dev/metadata.csv" | sed -n "$((skip + 1)),$((skip + n))p" > "$work/dev.list"
else
  { grep -h '^arctic_b05' "$corpus/arctic.txt" || true; } > "$work/a.list"
  { grep -h '^LJ050-' "$corpus/ljspeech.txt" || true; } | awk -F'|' 'length($2) <= 200' > "$work/b.list"
  # (sed reads to the end: a reader that quits early, like head, can kill the writer
  # with SIGPIPE, and pipefail would end the script without a word)
  paste -d'\n' "$work/a.list" "$work/b.list" | grep -v '^$' | sed -n "$((skip + 1)),$((skip + n))p" > "$work/dev.list"
fi
echo "eval: $(wc -l < "$work/dev.list") sentences in $work" >&2

# Teacher: one festival process renders them all (or flite, one call each).
scm="$work/teacher.scm"
fv=cmu_us_slt_arctic_hts
case "$teacher" in festival:*) fv=${teacher#festival:} ;; esac
echo "(voice_$fv)" > "$scm"
while IFS='|' read -r id text; do
  printf '%s\n' "$text" > "$work/text/$id.txt"
  esc=${text//\\/\\\\}; esc=${esc//\"/\\\"}
  printf '(set! u (utt.synth (Utterance Text "%s")))\n(utt.save.wave u "%s/teacher/%s.raw.wav" (quote riff))\n' "$esc" "$work" "$id" >> "$scm"
  case "$teacher" in flite-*) flite -voice "${teacher#flite-}" -f "$work/text/$id.txt" -o "$work/teacher/$id.raw.wav" 2>/dev/null || true ;; esac
done < "$work/dev.list"
case "$teacher" in
  festival*) if [ -n "$teacher_encoding" ]; then iconv -f UTF-8 -t "$teacher_encoding//TRANSLIT" "$scm" > "$scm.enc" && mv "$scm.enc" "$scm"; fi
    festival -b "$scm" >/dev/null 2>&1 || true ;;
esac

# One take of our voice: every sentence into DIR/ID.wav, what went wrong into
# DIR/failures.list (a synthesis error, a frame cap, a stop that never fired).
render_ours() { # DIR SEED
  local dir=$1 seed=$2 id text
  mkdir -p "$dir"
  : > "$dir/failures.list"
  while IFS='|' read -r id text; do
    if ! "$here/build/tts" --verbose --voice "$voice_file" --seed "$seed" --sentence-silence 0 \
         -f "$work/text/$id.txt" -o "$dir/$id.wav" 2> "$dir/$id.log"; then
      echo "$id synthesis-error" >> "$dir/failures.list"
    elif grep -q 'stop:.*frame-cap' "$dir/$id.log"; then
      echo "$id frame-cap" >> "$dir/failures.list"
    elif grep -q 'stop:.*end-of-text' "$dir/$id.log"; then
      echo "$id stop-never-fired" >> "$dir/failures.list"
    fi
  done < "$work/dev.list"
}

while IFS='|' read -r id text; do
  sox -R -q "$work/teacher/$id.raw.wav" -r 22050 -c 1 -b 16 "$work/teacher/$id.wav" \
    silence 1 0.02 0.3% reverse silence 1 0.02 0.3% reverse pad 0.05 0.05 2>/dev/null || true
  rm -f "$work/teacher/$id.raw.wav"
  espeak-ng -v "$espeak_voice" -w "$work/espeak/$id.wav" -f "$work/text/$id.txt" 2>/dev/null || true
  # the reference words: our own normalizer's reading of the text
  "$here/build/tts" --phonemes -f "$work/text/$id.txt" 2>/dev/null | awk 'NR % 2 == 1' | tr '\n' ' ' \
    > "$work/text/$id.norm"
done < "$work/dev.list"
render_ours "$work/ours" 0
mv "$work/ours/failures.list" "$work/failures.list"
for ((k = 1; k < takes; k++)); do render_ours "$work/ours-take$k" "$k"; done

# A chapter: held-out sentences read as one text of about CHAPTER_WORDS (2,000)
# words, a sentence per line, to find sentences skipped or said twice in a long
# text (eval.py: each sentence's pace against the voice's, and for English the
# recognizer's longest runs of dropped and added words).  CHAPTER_WORDS=0: none.
chapter_words=${CHAPTER_WORDS:-2000}
if [ "$chapter_words" -gt 0 ]; then
  mkdir -p "$work/chapter"
  if [ -n "$data" ]; then cut -d'|' -f2 "$data/dev/metadata.csv" > "$work/chapter/all.list"
  else paste -d'\n' "$work/a.list" "$work/b.list" | grep -v '^$' | cut -d'|' -f2 > "$work/chapter/all.list"; fi
  awk -v max="$chapter_words" 'n < max { t = $0; sub(/[ \t]+$/, "", t)
      if (t !~ /[.!?]["\047)]*$/) t = t "."   # a line is a sentence
      print t; n += split(t, w, /[ \t]+/) }' "$work/chapter/all.list" > "$work/chapter/chapter.txt"
  if "$here/build/tts" --verbose --voice "$voice_file" -f "$work/chapter/chapter.txt" \
       -o "$work/chapter/chapter.wav" 2> "$work/chapter/chapter.log"; then
    "$here/build/tts" --phonemes -f "$work/chapter/chapter.txt" 2>/dev/null | awk 'NR % 2 == 1' | tr '\n' ' ' \
      > "$work/chapter/chapter.norm"
  else
    echo "eval: the chapter failed (see $work/chapter/chapter.log)" >&2
  fi
fi

# Our model teacher-forced on the teacher's frames of the same sentences.
if [ -r "$model" ] && [ -x "$here/build/tts-train" ]; then
  while IFS='|' read -r id text; do
    [ -s "$work/teacher/$id.wav" ] && printf '%s|%s|%s\n' "$id" "$text" "$text"
  done < "$work/dev.list" > "$work/tf-data/metadata.csv"
  ln -sfn "$work/teacher" "$work/tf-data/wavs"
  "$here/build/tts-train" --render-tf --init "$model" "$work/tf-data" "$work/ours-tf" 2>"$work/ours-tf.log" ||
    echo "eval: the teacher-forced rendering failed (see $work/ours-tf.log)" >&2
else
  echo "eval: no weights at $model: no teacher-forced row" >&2
fi

# Transcribe everything at 16 kHz, one recognizer per core (-j N: N at a time).
transcribe() {
  local w=$1
  sox -R -q "$w" -r 16000 -c 1 -b 16 "${w%.wav}.16k.wav" &&
    { pocketsphinx_continuous -infile "${w%.wav}.16k.wav" -logfn /dev/null 2>/dev/null || true; } \
      | tr '\n' ' ' > "${w%.wav}.hyp"
  rm -f "${w%.wav}.16k.wav"
}
export -f transcribe
[ "$english" -eq 1 ] || : > "$work/no-recognizer"
[ "$english" -eq 1 ] && {
  [ -s "$work/chapter/chapter.wav" ] && printf '%s\0' "$work/chapter/chapter.wav"  # the longest first
  for dir in "$work"/ours "$work"/ours-take* "$work"/ours-tf "$work"/teacher "$work"/espeak; do
    for w in "$dir"/*.wav; do [ -s "$w" ] && printf '%s\0' "$w"; done
  done
} | xargs -0 -r -n 1 -P "$jobs" bash -c 'transcribe "$1"' _

/usr/bin/python3 "$here/scripts/eval.py" "$work"
