/*
 * par_synth.h - one text made by several synthesizers at once (tts -j N for
 * one text).  Synthesizer k makes sentences k, k+N, k+2N ... in its own
 * thread and skips the others (tts_synth_skip), so each sentence's audio is
 * what one synthesizer alone gives; par_synth_next hands the chunks back in
 * the text's order.  Each thread runs at most a few chunks ahead of the
 * reader, so memory stays bounded by a few sentences.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_PAR_SYNTH_H
#define TTS_PAR_SYNTH_H

#include "tts.h"

typedef struct par_synth par_synth;

/* n synthesizers (2..16) of voice with options o, and their threads. */
tts_status par_synth_create(const tts_voice *voice, const tts_options *o, int n, par_synth **out);
/* Stop the threads and free everything; accepts NULL. */
void par_synth_free(par_synth *p);
/* Synthesizer k (0..n-1), to cancel it (tts_synth_cancel) from a signal handler. */
tts_synth *par_synth_get(par_synth *p, int k);
/* Begin text with start (tts_synth_start, or the program's own wrapper) on
 * every synthesizer: what is left of the last text is dropped.  start's
 * status (every synthesizer gets the same text, so the same status). */
tts_status par_synth_start(par_synth *p, const char *text, tts_status (*start)(tts_synth *, const char *));
/* The next chunk, as tts_synth_next gives it; *message is what tts_last_error()
 * said in the thread that made it (a failed sentence, or the chunk's warning),
 * valid until the next call. */
tts_status par_synth_next(par_synth *p, tts_chunk *ch, const char **message);

#endif
