/*
 * audio.h - audio files (libsndfile), raw PCM and playback (PortAudio), internal.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_AUDIO_H
#define TTS_AUDIO_H

#include "tts.h"

/* Read a whole mono (or first channel of) audio file as floats in [-1, 1].
 * *pcm is malloc'd, owned by the caller. */
tts_status audio_read_file(const char *path, float **pcm, size_t *n_samples, int *sample_rate);

/* Write pcm to path, format from the extension (.wav 16-bit PCM, .flac, .ogg).
 * Written to a temporary file in the same folder and renamed when complete;
 * devices and pipes (e.g. /dev/stdout) are written directly. */
tts_status audio_write_file(const char *path, const float *pcm, size_t n_samples, int sample_rate);

#endif
