#!/usr/bin/env bash
# make-corpus.sh - render a teacher voice's speech for lists of sentences into an
# LJ Speech-format dataset (metadata.csv "id|text|normalized text" and wavs/ID.wav,
# 22050 Hz mono 16-bit, leading and trailing silence trimmed).
#
# usage: scripts/make-corpus.sh [options] TEXTFILE... OUTDIR
#   TEXTFILE   lines "id|text" (e.g. ../shared/corpus/ljspeech.txt, arctic.txt)
#   -n N           at most N utterances for training (default: all)
#   --max-chars N  skip sentences longer than N characters (default 200)
#   --min-chars N  skip sentences shorter than N characters (default 8)
#   --dev REGEX    ids matching REGEX go to OUTDIR/dev/ instead (default '^(LJ050-|arctic_b05)')
#   --teacher T    festival (cmu_us_slt_arctic_hts, default), festival:VOICE (any
#                  festival voice, e.g. festival:czech_dita) or flite-NAME (flite's
#                  -voice NAME: slt, rms, awb, kal16)
#   --encoding ENC the character set the festival voice reads (e.g. iso-8859-2 for
#                  czech_dita); the text is converted with iconv (default: UTF-8)
#   -j N           teacher processes at once, one chunk of 200 sentences each
#                  (default 1)
#
# The teacher is only used here, never at synthesis time.  Resumable: utterances
# whose wav already exists are not rendered again.
set -euo pipefail
shopt -s nullglob

max_n=0; max_chars=200; min_chars=8; dev_re='^(LJ050-|arctic_b05)'; teacher=festival; encoding=; jobs=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) max_n=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --max-chars) max_chars=$2; shift 2 ;;
    --min-chars) min_chars=$2; shift 2 ;;
    --dev) dev_re=$2; shift 2 ;;
    --teacher) teacher=$2; shift 2 ;;
    --encoding) encoding=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ ${#args[@]} -lt 2 ]; then echo "usage: $0 [options] TEXTFILE... OUTDIR" >&2; exit 1; fi
out=${args[-1]}; unset 'args[-1]'
case "$jobs" in ''|*[!0-9]*|0) echo "make-corpus: -j takes a positive number" >&2; exit 1 ;; esac
for f in "${args[@]}"; do [ -r "$f" ] || { echo "make-corpus: cannot read $f" >&2; exit 1; }; done
command -v sox >/dev/null || { echo "make-corpus: sox is missing (scripts/setup.sh)" >&2; exit 1; }

mkdir -p "$out/wavs" "$out/dev/wavs" "$out/tmp"
# Pick the lines: train set (bounded by -n) and dev set, by length.
awk -F'|' -v maxc="$max_chars" -v minc="$min_chars" -v maxn="$max_n" -v dre="$dev_re" \
    -v tr="$out/tmp/train.list" -v dv="$out/tmp/dev.list" '
  NF >= 2 && length($2) <= maxc && length($2) >= minc {
    if ($1 ~ dre) { print $1 "|" $2 > dv; next }
    if (maxn > 0 && n >= maxn) next
    n++; print $1 "|" $2 > tr
  }' "${args[@]}"

render_chunk() { # chunk dir: one teacher process over one chunk of the todo list
  local chunk=$1 dir=$2 scm="$1.scm" id text esc raw
  if [ "${teacher%%:*}" = festival ]; then
    fv=cmu_us_slt_arctic_hts
    [ "$teacher" = festival ] || fv=${teacher#festival:}
    { echo "(voice_$fv)"
      while IFS='|' read -r id text; do
        esc=${text//\\/\\\\}; esc=${esc//\"/\\\"}
        printf '(set! u (utt.synth (Utterance Text "%s")))\n(utt.save.wave u "%s/tmp/%s.raw.wav" (quote riff))\n' \
          "$esc" "$out" "$id"
      done < "$chunk"; } > "$scm.utf8"
    if [ -n "$encoding" ]; then iconv -f UTF-8 -t "$encoding//TRANSLIT" "$scm.utf8" > "$scm"
    else mv "$scm.utf8" "$scm"; fi
    festival -b "$scm" >/dev/null 2>&1 || echo "make-corpus: festival failed on a chunk" >&2
  else
    while IFS='|' read -r id text; do
      flite -voice "${teacher#flite-}" -t "$text" -o "$out/tmp/$id.raw.wav" 2>/dev/null || true
    done < "$chunk"
  fi
  while IFS='|' read -r id text; do
    raw="$out/tmp/$id.raw.wav"
    if [ -s "$raw" ]; then
      # 22050 Hz mono 16-bit; trim silence at both ends, keep 50 ms of it.
      sox -R -q "$raw" -r 22050 -c 1 -b 16 "$dir/wavs/$id.tmp.wav" \
        silence 1 0.02 0.3% reverse silence 1 0.02 0.3% reverse pad 0.05 0.05 \
        && mv "$dir/wavs/$id.tmp.wav" "$dir/wavs/$id.wav"
      rm -f "$raw"
    else
      echo "make-corpus: no audio for $id" >&2
    fi
  done < "$chunk"
  rm -f "$chunk" "$scm"
  echo "make-corpus: $(ls "$dir/wavs" | wc -l) wavs in $dir" >&2
}

render() { # list dir
  local list=$1 dir=$2 todo="$out/tmp/todo.list"
  : > "$todo"
  while IFS='|' read -r id text; do
    [ -s "$dir/wavs/$id.wav" ] || printf '%s|%s\n' "$id" "$text" >> "$todo"
  done < "$list"
  local n; n=$(wc -l < "$todo")
  echo "make-corpus: rendering $n utterances into $dir" >&2
  # Render in chunks of 200 per teacher process (chunks an interrupted run
  # left behind are stale: their lines are in the todo list again).
  rm -f "$out"/tmp/chunk.*
  split -l 200 -d -a 4 "$todo" "$out/tmp/chunk."
  for chunk in "$out"/tmp/chunk.*; do
    render_chunk "$chunk" "$dir" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  done
  wait
  echo "make-corpus: $(ls "$dir/wavs" | wc -l) wavs in $dir" >&2
  # metadata.csv for what was rendered
  : > "$dir/metadata.csv.tmp"
  while IFS='|' read -r id text; do
    [ -s "$dir/wavs/$id.wav" ] && printf '%s|%s|%s\n' "$id" "$text" "$text" >> "$dir/metadata.csv.tmp"
  done < "$list"
  mv "$dir/metadata.csv.tmp" "$dir/metadata.csv"
}

[ -s "$out/tmp/dev.list" ] && render "$out/tmp/dev.list" "$out/dev"
render "$out/tmp/train.list" "$out"
echo "make-corpus: $(wc -l < "$out/metadata.csv") training and $(cat "$out/dev/metadata.csv" 2>/dev/null | wc -l) dev utterances in $out" >&2
