/*
 * audio_internal.h - shared between the files of src/audio only: the
 * per-thread error detail behind tts_last_error().  Not for other modules.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_AUDIO_INTERNAL_H
#define TTS_AUDIO_INTERNAL_H

#include "core/error.h"
#include "tts.h"

/* The most sample bytes a WAV file may hold: its 32-bit RIFF size ends at
 * 4 GB (about 27 h at 22050 Hz), less a header of up to 80 bytes.  Writing
 * past it is an error (TTS_ERR_IO), never a header that wraps.  Tests lower
 * it. */
#include <stdint.h>
extern uint64_t audio_wav_max_data_bytes;

#endif
