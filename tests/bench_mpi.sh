#!/usr/bin/env bash
# bench_mpi.sh - training steps per second on 1 rank and on 2 ranks (MPI data
# parallel), side by side in one run, on a synthetic dataset of sentence-length
# utterances (64 of 1.5-4 s), the default model and batch 16.
#
# usage: tests/bench_mpi.sh [build/tts-train] [STEPS]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
train=${1:-$here/build/tts-train}
steps=${2:-40}
command -v mpirun >/dev/null && ldd "$train" | grep libmpi >/dev/null ||
  { echo "bench_mpi: needs mpirun and a tts-train built with Open MPI"; exit 0; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
dir=$(mktemp -d /tmp/tts-bench-mpi.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/ds/wavs"
words=(the quick brown fox jumps over a lazy dog while seven green apples fall from tall trees near
       quiet rivers and old stone bridges under grey morning skies)
for i in $(seq 0 63); do
  n=$((8 + i % 14)); t=""
  for k in $(seq 1 $n); do t="$t ${words[$(( (i * 7 + k * 3) % ${#words[@]} ))]}"; done
  sox -n -r 22050 -b 16 "$dir/ds/wavs/u$i.wav" synth $(awk -v n=$n 'BEGIN { print 0.19 * n }') \
      sine $((150 + 7 * i)) sine $((800 + 31 * i)) gain -12 2>/dev/null
  echo "u$i|${t# }.|${t# }." >> "$dir/ds/metadata.csv"
done
F=(--eval-every 0 --ckpt-every 100000 --plot-every 0 --dev-speak 0 --batch 16 -q)
# build the feature cache first, outside the timing
"$train" "${F[@]}" --steps 1 "$dir/ds" "$dir/warm" 2>/dev/null
run() { # ranks state
  mkdir -p "$dir/$2"; cp "$dir/warm/features.bin" "$dir/$2/features.bin"
  local t0 t1
  t0=$(date +%s.%N)
  if [ "$1" -eq 1 ]; then "$train" "${F[@]}" --steps "$steps" "$dir/ds" "$dir/$2" 2>/dev/null
  else mpirun --oversubscribe -np "$1" "$train" "${F[@]}" --steps "$steps" "$dir/ds" "$dir/$2" 2>/dev/null; fi
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v s="$steps" 'BEGIN { printf "%.3f", s / (b - a) }'
}
one=$(run 1 r1)
two=$(run 2 r2)
echo "bench_mpi: $steps training steps, batch 16, default model (whole process, start-up included)"
printf '  1 rank : %s steps/s\n  2 ranks: %s steps/s\n  ratio  : %s\n' "$one" "$two" \
  "$(awk -v a="$one" -v b="$two" 'BEGIN { printf "%.2f", b / a }')"
