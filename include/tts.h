/*
 * tts.h - the public interface of libtts, an offline neural text-to-speech
 * synthesizer.  This header is the manual.
 *
 * This file currently holds the status codes shared by every module; the
 * voice and synthesizer API is added by the program issue.
 *
 * Every function that can fail returns a tts_status.  The list is
 * append-only: a code never changes its number.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_H
#define TTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tts_status {
    TTS_OK = 0,
    TTS_ERR_NOMEM = 1,            /* an allocation failed */
    TTS_ERR_INVALID_ARG = 2,      /* a NULL or out-of-range argument */
    TTS_ERR_UTF8 = 3,             /* the text is not valid UTF-8 */
    TTS_ERR_EMPTY_TEXT = 4,       /* nothing speakable in the text */
    TTS_ERR_IO = 5,               /* a file could not be opened, read or written */
    TTS_ERR_MODEL_FORMAT = 6,     /* model file is not a valid safetensors file */
    TTS_ERR_MODEL_TRUNCATED = 7,  /* model file is shorter than its header says */
    TTS_ERR_MODEL_MISMATCH = 8,   /* a tensor is missing or has the wrong shape/dtype */
    TTS_ERR_VOICE = 9,            /* the voice file is missing or invalid */
    TTS_ERR_PHONEMIZER = 10,      /* espeak-ng could not be initialised or failed */
    TTS_ERR_AUDIO_FORMAT = 11,    /* unsupported audio file format or sample rate */
    TTS_ERR_AUDIO_DEVICE = 12,    /* no audio output device could be opened */
    TTS_ERR_NO_PLAYBACK = 13,     /* built without PortAudio: cannot play aloud */
    TTS_ERR_ATTENTION = 14,       /* the model failed to align (stop never fired, cap hit) */
    TTS_ERR_CANCELLED = 15,       /* stopped by the caller (Ctrl-C) */
    TTS_ERR_NUMERIC = 16,         /* a NaN or infinite value appeared */
    TTS_ERR_DATASET = 17,         /* a training dataset could not be read */
    TTS_ERR_NO_SPACE = 18,        /* the disk is full */
    TTS_ERR_INTERNAL = 19         /* a bug: please report it */
} tts_status;

/* A static English message for a status code; never NULL. */
const char *tts_status_message(tts_status status);

#ifdef __cplusplus
}
#endif
#endif /* TTS_H */
