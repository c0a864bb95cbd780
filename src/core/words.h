/*
 * words.h - word timings of a sentence (internal; see words.c).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_CORE_WORDS_H
#define TTS_CORE_WORDS_H

#include "text/text.h"
#include "tts.h"

/* A word and the symbols of the sentence's IPA that speak it: first..last
 * count the code points the model reads (ids without BOS), from 0; -1 when
 * the word has none. */
typedef struct words_word {
    char *text;
    int first, last;
} words_word;

typedef struct words_plan {
    words_word *v;
    size_t n, cap;
    int n_symbols;  /* readable code points of the IPA */
} words_plan;

/* The words of sentence s, whose IPA (text_usent_ipa) is ipa, for a model
 * of n_symbols symbols.  Phonemizes each text word alone (espeak-ng). */
tts_status words_plan_build(const text_usent *s, const char *espeak_voice, const char *ipa, int n_symbols,
                            words_plan *out);
void words_plan_free(words_plan *p);

/* The symbol position of byte offset `bytes` of ipa (readable code points before it). */
int words_symbol_offset(const char *ipa, size_t bytes, int n_symbols);

/* For each frame of [from, to), the symbol its decoder step attends most
 * (align: steps x n weights over ids BOS..EOS, r frames per step), as a
 * position of the whole sentence: offset + symbol - 1 (BOS is offset - 1);
 * pos[0] is frame `from`'s. */
void words_frame_positions(const float *align, int steps, int n, int r, int from, int to, int offset, int *pos);

/* Start and end of each word of p (out[p->n]) from the frames' positions;
 * the texts point into p. */
void words_times(const words_plan *p, const int *pos, size_t n_frames, double seconds_per_frame,
                 tts_word *out);

#endif
