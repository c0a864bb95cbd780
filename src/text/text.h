/*
 * text.h - the text front end (internal): normalizer, sentence splitter,
 * espeak-ng phonemizer and the symbol table the acoustic model reads.
 *
 *   raw UTF-8 ─► text_normalize ─► text_split ─► text_phonemize ─► text_encode ─► ids
 *
 * text_utterance_ids() runs the whole chain on one utterance without splitting
 * it into sentences (the trainer uses it: one dataset line = one sequence).
 *
 * All functions return a tts_status and never exit.  Strings returned through
 * out-parameters are malloc'd and owned by the caller (free()).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_TEXT_H
#define TTS_TEXT_H

#include "tts.h"

/* Initialise espeak-ng once per process for the given espeak voice
 * ("en-us").  Thread-safe and idempotent; later calls with another voice
 * switch the voice.  Every phonemizer call takes one global mutex. */
tts_status text_frontend_init(const char *espeak_voice);

/* Normalize raw text: validate UTF-8, expand numbers, currency, dates,
 * times, ordinals, years, Roman numerals, symbols and abbreviations so that
 * espeak-ng reads them right and no abbreviation ends a sentence. */
tts_status text_normalize(const char *utf8, char **out);

/* One sentence (or a piece of a long one) of normalized text. */
typedef struct text_sentence {
    char *text; /* normalized text of the sentence, UTF-8, ends with its punctuation */
} text_sentence;

typedef struct text_sentences {
    text_sentence *items;
    size_t n;
} text_sentences;

/* Split normalized text into sentences of at most max_chars bytes (longer
 * ones are cut at clause boundaries, then at word boundaries). */
tts_status text_split(const char *normalized, size_t max_chars, text_sentences *out);
void text_sentences_free(text_sentences *s);

/* IPA (with stress marks) of one sentence; clause punctuation , . ? ! ; : …
 * is kept in the output as symbols, words separated by one space. */
tts_status text_phonemize(const char *sentence, char **ipa);

/* Symbol ids of an IPA string: BOS, symbols..., EOS.  Unknown code points
 * are dropped and counted in *n_dropped (may be NULL). *ids is malloc'd. */
tts_status text_encode(const char *ipa, int32_t **ids, size_t *n_ids, size_t *n_dropped);

/* normalize + phonemize every clause + encode, as one sequence. */
tts_status text_utterance_ids(const char *raw, int32_t **ids, size_t *n_ids);

/* The fixed symbol table: id 0 is padding, 1 BOS, 2 EOS. */
#define TEXT_SYM_PAD 0
#define TEXT_SYM_BOS 1
#define TEXT_SYM_EOS 2
size_t text_n_symbols(void);
/* UTF-8 of symbol id (""/"<bos>"/"<eos>" for the specials); NULL when out of range. */
const char *text_symbol(size_t id);

#endif
