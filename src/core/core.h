/*
 * core.h - internals shared by the library's public functions: the
 * voice struct; the error channel (error.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_CORE_H
#define TTS_CORE_H

#include "model/model.h"
#include "text/text.h"
#include "tts.h"

#include "core/error.h"

struct tts_voice {
    char *name;
    char *path;          /* the voice file (or the model file when loaded directly) */
    char *espeak_voice;  /* "en-us" */
    text_frontend fe;    /* its front end (no lexicon: a synthesizer adds its own) */
    taco_model *model;   /* read-only, mapped */
    tts_options defaults;
    int sample_rate;
};

/* The voice a synthesizer speaks with (synth.c). */
const tts_voice *tts_synth_voice(const tts_synth *synth);

#endif
