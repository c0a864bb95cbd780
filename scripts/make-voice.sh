#!/usr/bin/env bash
# make-voice.sh - build a voice from its recipe, end to end: render the text with
# the teacher, train, evaluate against the teacher, install into models/ voices/.
#
# usage: scripts/make-voice.sh [options] NAME      (or: make voice NAME=...)
#   NAME             a recipe, voices/recipes/NAME.conf (the fields are described
#                    in voices/recipes/slt.conf)
#   --work DIR       where the dataset and the training state live (default
#                    $TTS_WORK/NAME, TTS_WORK defaulting to ~/.cache/tts-voices);
#                    never inside the repository
#   --ranks N        training processes (MPI data parallel, needs mpirun and a
#                    build with MPI; default: 1)
#   --steps N        train to step N instead of the recipe's
#   --scratch        with no checkpoint in the state folder, start from random
#                    weights (default: continue from models/NAME.safetensors
#                    when it exists)
#   -j N             teacher processes while rendering (default: the cores)
#   --only STAGE     run one stage: render, train, eval, install
#   --no-eval        skip the evaluation (install without figures)
#
# Every stage resumes: the renderer skips wavs it has, the trainer continues
# from its checkpoint (or, when the state is gone, from the committed
# models/NAME.safetensors and its step), the evaluation reruns. Training's
# log is WORK/state/train.log (mpirun's own messages: make-voice.log), its wall and CPU seconds to
# WORK/state/cpu.ledger (one line per run: wall user sys), which the installed
# voice file quotes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=""; ranks=1; steps_over=""; only=""; do_eval=1; scratch=0; jobs=$(nproc 2>/dev/null || echo 1)
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --steps) steps_over=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-eval) do_eval=0; shift ;;
    --scratch) scratch=1; shift ;;
    -j) jobs=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make-voice: unknown option $1" >&2; exit 1 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -eq 1 ] || { echo "usage: scripts/make-voice.sh [options] NAME" >&2; exit 1; }
name=${args[0]}
recipe="$here/voices/recipes/$name.conf"
[ -r "$recipe" ] || { echo "make-voice: no recipe $recipe (voices/recipes/ has: $(cd "$here/voices/recipes" && ls *.conf | sed 's/\.conf$//' | tr '\n' ' '))" >&2; exit 1; }

teacher_encoding=""; text_package=""; teacher_package=""
# shellcheck source=/dev/null
. "$recipe"
[ -n "$steps_over" ] && steps=$steps_over
: "${TTS_WORK:=$HOME/.cache/tts-voices}"
[ -n "$work" ] || work="$TTS_WORK/$name"
case "$(cd "$(dirname "$work")" 2>/dev/null && pwd)/" in
  "$here"/*) echo "make-voice: --work $work is inside the repository; datasets and state stay outside it" >&2; exit 1 ;;
esac
data="$work/data"; state="$work/state"; export_dir="$work/export"
mkdir -p "$data" "$state" "$export_dir/models" "$export_dir/voices"
corpus=${TTS_CORPUS:-$here/../shared/corpus}

# --- the teacher must be installed
teacher_ok() {
  case "$teacher" in
    festival) [ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] ;;
    festival:*) command -v festival >/dev/null && ls -d /usr/share/festival/voices/*/"${teacher#festival:}" >/dev/null 2>&1 ;;
    flite-*) command -v flite >/dev/null && flite -lv | tr ' ' '\n' | grep -qx "${teacher#flite-}" ;;
    *) return 1 ;;
  esac
}
need_teacher() {
  teacher_ok || { echo "make-voice: the teacher $teacher is not installed: apt-get install ${teacher_package:-festival} (Debian)" >&2; exit 3; }
}

# --- the sentences
text_file="$data/sentences.txt"
make_text() {
  : > "$text_file.tmp"
  for src in $text_sources; do
    case "$src" in
      corpus:*) f="$corpus/${src#corpus:}"
        [ -r "$f" ] || { echo "make-voice: cannot read $f (set TTS_CORPUS)" >&2; exit 1; }
        cat "$f" >> "$text_file.tmp" ;;
      fortunes:*) spec=${src#fortunes:}; lang=${spec%%:*}; excl=""
        [ "$spec" != "$lang" ] && excl=${spec#*:-}
        dir=/usr/share/games/fortunes/$lang
        [ -d "$dir" ] || { echo "make-voice: no $dir: apt-get install ${text_package:-fortunes-$lang}" >&2; exit 3; }
        files=()
        for f in "$dir"/*; do
          b=$(basename "$f")
          case "$b" in *.dat|*.u8) continue ;; esac
          case ",$excl," in *",$b,"*) continue ;; esac
          [ -f "$f" ] && files+=("$f")
        done
        /usr/bin/python3 "$here/scripts/fortunes-text.py" "$lang" "${files[@]}" >> "$text_file.tmp" ;;
      *) [ -r "$src" ] || { echo "make-voice: cannot read $src" >&2; exit 1; }
        cat "$src" >> "$text_file.tmp" ;;
    esac
  done
  mv "$text_file.tmp" "$text_file"
}

stage_render() {
  need_teacher
  make_text
  enc=()
  [ -n "$teacher_encoding" ] && enc=(--encoding "$teacher_encoding")
  bash "$here/scripts/make-corpus.sh" --teacher "$teacher" "${enc[@]}" -j "$jobs" -n "$max_utts" \
    --max-chars "$max_chars" --dev "$dev_regex" "$text_file" "$data"
}

stage_train() {
  [ -s "$data/metadata.csv" ] || { echo "make-voice: no dataset in $data (run the render stage)" >&2; exit 1; }
  # a private copy of the trainer: rebuilding the tree never changes a running recipe
  cp "$here/build/tts-train" "$state/tts-train.new" && mv "$state/tts-train.new" "$state/tts-train"
  init=()
  if [ "$scratch" -eq 0 ] && [ ! -e "$state/ckpt.safetensors" ] && [ -s "$here/models/$name.safetensors" ]; then
    init=(--init "$here/models/$name.safetensors")
    echo "make-voice: no checkpoint in $state: continuing from models/$name.safetensors" >&2
  fi
  # shellcheck disable=SC2206
  flags=($train_flags)
  # (--force: the export folder is this recipe's own, whatever run wrote it last)
  cmd=("$state/tts-train" --name "$name" --models "$export_dir/models" --voices "$export_dir/voices" --force
       --espeak-voice "$espeak_voice" --mels "$mels" --sample-rate "$sample_rate" --fmax "$fmax"
       --steps "$steps" "${flags[@]}" "${init[@]}" "$data" "$state")
  if [ "$ranks" -gt 1 ]; then
    command -v mpirun >/dev/null || { echo "make-voice: --ranks needs mpirun: apt-get install openmpi-bin" >&2; exit 1; }
    root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
    cmd=(mpirun "${root[@]}" --oversubscribe -np "$ranks" "${cmd[@]}")
  fi
  # the trainer keeps its own train.log; what mpirun or the shell say goes to make-voice.log
  echo "make-voice: ${cmd[*]}" >> "$state/make-voice.log"
  TIMEFORMAT="%R %U %S"
  if [ "$ranks" -gt 1 ]; then
    # mpirun's ranks are not waited for by this shell, so time cannot see their CPU:
    # the ledger takes ranks x wall (each rank keeps a core busy), marked as such
    t0=$(date +%s.%N)
    "${cmd[@]}" >> "$state/make-voice.log" 2>&1 || rc=$?
    awk -v a="$t0" -v b="$(date +%s.%N)" -v n="$ranks" 'BEGIN { w = b - a; printf "%.3f %.3f 0 estimated\n", w, w * n }' \
      >> "$state/cpu.ledger"
    return "${rc:-0}"
  fi
  { time "${cmd[@]}" >> "$state/make-voice.log" 2>&1; } 2>> "$state/cpu.ledger"
}

stage_eval() {
  need_teacher
  bash "$here/scripts/eval.sh" --recipe "$recipe" --voice-file "$export_dir/voices/$name.json" \
    --data "$data" --work "$work/eval" | tee "$work/eval.txt"
}

stage_install() {
  [ -s "$export_dir/models/$name.safetensors" ] || { echo "make-voice: nothing exported yet in $export_dir" >&2; exit 1; }
  /usr/bin/python3 "$here/scripts/voice-json.py" "$recipe" "$export_dir/models/$name.safetensors" \
    "$state/cpu.ledger" "$work/eval.txt" > "$here/voices/$name.json.tmp"
  cp "$export_dir/models/$name.safetensors" "$here/models/$name.safetensors.tmp"
  mv "$here/models/$name.safetensors.tmp" "$here/models/$name.safetensors"
  mv "$here/voices/$name.json.tmp" "$here/voices/$name.json"
  echo "make-voice: installed models/$name.safetensors and voices/$name.json" >&2
}

case "$only" in
  render) stage_render ;;
  train) stage_train ;;
  eval) stage_eval ;;
  install) stage_install ;;
  "") stage_render; stage_train
      if [ "$do_eval" -eq 1 ]; then stage_eval; else : > "$work/eval.txt"; fi
      stage_install ;;
  *) echo "make-voice: --only takes render, train, eval or install" >&2; exit 1 ;;
esac
