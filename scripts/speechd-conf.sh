#!/bin/sh
# speechd-conf.sh - the lines that add sd_tts to speech-dispatcher's
# speechd.conf without losing its other modules.
#
# speech-dispatcher finds its output modules by itself (every sd_NAME in its
# module folder, but sd_dummy and sd_generic) only while speechd.conf has no
# AddModule line; one AddModule line turns that off, and espeak-ng would
# disappear from `spd-say -O`.  So the lines printed here name every module
# the server would have found, then tts.  `make install` writes them to
# PREFIX/share/tts/speech-dispatcher/speechd.conf.add; tests/test_speechd.sh
# checks that a server given them lists espeak-ng and tts.
#
#   sh scripts/speechd-conf.sh SERVER_MODULE_DIR SD_TTS TTS_CONF
#
# SERVER_MODULE_DIR: the server's module folder (Debian:
# /usr/lib/speech-dispatcher-modules); SD_TTS and TTS_CONF: the installed
# module and its configuration.
# SPDX-License-Identifier: GPL-3.0-or-later
set -eu
[ $# -eq 3 ] || { echo "usage: $0 SERVER_MODULE_DIR SD_TTS TTS_CONF" >&2; exit 1; }
moddir=$1 sd_tts=$2 conf=$3
echo "# Add these lines to speechd.conf (/etc/speech-dispatcher/speechd.conf, or"
echo "# ~/.config/speech-dispatcher/speechd.conf); add \"DefaultModule tts\" to make tts"
echo "# the desktop's voice.  An AddModule line turns off the server's own search"
echo "# for modules, so the modules it finds by itself in $moddir"
echo "# are listed first (as when it was installed: run"
echo "# scripts/speechd-conf.sh again after adding one)."
if [ -d "$moddir" ]; then
  for f in "$moddir"/sd_*; do
    [ -x "$f" ] || continue
    name=${f##*/sd_}
    case $name in dummy|generic|tts) continue ;; esac
    printf 'AddModule "%s" "sd_%s" "%s.conf"\n' "$name" "$name" "$name"
  done
fi
printf 'AddModule "tts" "%s" "%s"\n' "$sd_tts" "$conf"
