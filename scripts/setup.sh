#!/usr/bin/env bash
# Installs the Debian packages tts needs, when any is missing (as root, or with sudo).
set -euo pipefail
pkgs=(build-essential pkg-config clang libespeak-ng-dev espeak-ng libsndfile1-dev
      portaudio19-dev libcmocka-dev libfftw3-dev libopenblas-dev libcjson-dev libpng-dev
      libxml2-dev speech-dispatcher
      pocketsphinx pocketsphinx-en-us sox festival festvox-us-slt-hts flite python3-numpy
      libopenmpi-dev openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y "${missing[@]}"
