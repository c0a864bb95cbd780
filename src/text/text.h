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

#include <stdio.h>
#include "tts.h"

/* Initialise espeak-ng once per process for the given espeak voice
 * ("en-us").  Thread-safe and idempotent; later calls with another voice
 * switch the voice.  Every phonemizer call takes one global mutex. */
tts_status text_frontend_init(const char *espeak_voice);
/* Why the last text_frontend_init failed when espeak-ng's data is at fault
 * (a file missing or cut short, named), else "". */
const char *text_frontend_problem(void);
/* Plausibility of espeak-ng's data in data_dir for voice (espeak_data.c):
 * 0, or -1 with why naming the bad file. */
int text_espeak_data_check(const char *data_dir, const char *voice, char *why, size_t n);

/* Normalize raw text: validate UTF-8, expand numbers, currency, dates,
 * times, ordinals, years, Roman numerals, symbols and abbreviations so that
 * espeak-ng reads them right and no abbreviation ends a sentence.
 *
 * The result has single spaces, no digits, no control characters, and a
 * ". ? ! ; : , …" followed by a space (or the end) always marks a clause
 * boundary; a run of punctuation is reduced to one mark.  Invalid UTF-8
 * (overlong forms, surrogates, > U+10FFFF, truncated sequences) gives
 * TTS_ERR_UTF8 and *out is left NULL.  Text with nothing speakable gives
 * TTS_OK and an empty string. */
tts_status text_normalize(const char *utf8, char **out);

/* The same for a buffer of n_bytes that may hold NUL bytes (they are dropped
 * like the other control characters). */
tts_status text_normalize_n(const char *utf8, size_t n_bytes, char **out);

/* The normalizer for a language (an espeak-ng voice or language name, e.g.
 * "en-us", "cs"; NULL means English).  Only English gets the expansion pass
 * (numbers, currency, dates, abbreviations): other languages are cleaned and
 * tidied only, and espeak-ng reads their numbers and abbreviations itself. */
tts_status text_normalize_lang(const char *lang, const char *utf8, size_t n_bytes, char **out);

/* Whether lang (as above) is English: NULL, "", "en" or "en-*". */
int text_lang_is_english(const char *lang);

/* One sentence (or a piece of a long one) of normalized text. */
typedef struct text_sentence {
    char *text; /* normalized text of the sentence, UTF-8, ends with its punctuation */
} text_sentence;

typedef struct text_sentences {
    text_sentence *items;
    size_t n;
} text_sentences;

/* Split normalized text into sentences of at most max_chars bytes (longer
 * ones are cut at clause boundaries, then at word boundaries, then inside a
 * single enormous word at a UTF-8 character boundary).  max_chars 0 means no
 * limit; values below 8 are raised to 8.  Sentences with nothing speakable
 * (only punctuation) are left out, so out->n may be 0: the caller reports
 * TTS_ERR_EMPTY_TEXT.  Free with text_sentences_free (accepts NULL). */
tts_status text_split(const char *normalized, size_t max_chars, text_sentences *out);
void text_sentences_free(text_sentences *s);

/* Replace by a space every character the language (an espeak-ng voice name,
 * "en-us") cannot read: other scripts' letters, emoji, pictographs (see
 * script.c).  *out is malloc'd; *n_dropped counts the characters left out,
 * *first (may be NULL) is the first of them.  text_phonemize applies it to
 * every clause before espeak-ng sees it. */
tts_status text_drop_unreadable(const char *lang, const char *text, char **out, size_t *n_dropped,
                              uint32_t *first);

/* IPA (with stress marks) of one sentence; clause punctuation , . ? ! ; : …
 * is kept in the output as symbols, words separated by one space, e.g.
 * "həlˈoʊ, wˈɜːld." for "hello, world.".  Initialises the front end with
 * "en-us" when text_frontend_init was not called.  Nothing speakable gives
 * TTS_OK and "".  The input should be normalized text; any text is safe. */
tts_status text_phonemize(const char *sentence, char **ipa);

/* The same with the espeak-ng voice espeak_voice, set under espeak-ng's lock
 * for this call (espeak-ng keeps one voice per process: every caller that
 * serves a voice says which). */
tts_status text_phonemize_as(const char *espeak_voice, const char *sentence, char **ipa);

/* Symbol ids of an IPA string: BOS, symbols..., EOS.  Unknown code points
 * are dropped and counted in *n_dropped (may be NULL). *ids is malloc'd. */
tts_status text_encode(const char *ipa, int32_t **ids, size_t *n_ids, size_t *n_dropped);

/* normalize + phonemize every clause + encode, as one sequence.
 * TTS_ERR_EMPTY_TEXT when nothing speakable is left (then *ids is NULL). */
tts_status text_utterance_ids(const char *raw, int32_t **ids, size_t *n_ids);

/* The same, also returning the IPA string it encoded (*ipa malloc'd; either
 * out-pointer may be NULL) and the number of dropped unknown code points. */
tts_status text_utterance_ids_ipa(const char *raw, int32_t **ids, size_t *n_ids,
                                  char **ipa, size_t *n_dropped);

/* The fixed symbol table: id 0 is padding, 1 BOS, 2 EOS. */
#define TEXT_SYM_PAD 0
#define TEXT_SYM_BOS 1
#define TEXT_SYM_EOS 2
size_t text_n_symbols(void);
/* UTF-8 of symbol id (""/"<bos>"/"<eos>" for the specials); NULL when out of range. */
const char *text_symbol(size_t id);
/* Id of the symbol for one Unicode code point, or -1 when it has none. */
int32_t text_symbol_id(uint32_t codepoint);

/* ---- Markup and pronunciation (markup.c, lexicon.c, utterance.c) ----
 *
 *   SSML / plain text with [[IPA]] ─► text_items ─► text_utterance_build
 *        (normalize, split, lexicon) ─► text_usent list ─► text_usent_ipa
 *
 * The markup parsers turn the input into a flat list of items: raw text to
 * normalize, literal IPA, pauses and sentence ends, each with the prosody
 * (speed and volume factors) in effect.  The utterance builder turns the
 * items into sentences of segments (normalized text or IPA); a sentence
 * never mixes two prosodies. */

typedef enum text_item_kind {
    TEXT_ITEM_TEXT,   /* s: raw UTF-8 text, to be normalized */
    TEXT_ITEM_IPA,    /* s: espeak-ng IPA, bypasses espeak-ng */
    TEXT_ITEM_BREAK,  /* seconds: a pause (ends the sentence) */
    TEXT_ITEM_END     /* end of a sentence (<s>, <p>); seconds: the least pause after
                         it, < 0 for the synthesizer's sentence silence */
} text_item_kind;

typedef struct text_item {
    text_item_kind kind;
    char *s;
    float seconds;
    float rate;    /* speed factor in effect, 1 = as set */
    float volume;  /* volume factor in effect, 1 = as set */
} text_item;

typedef struct text_items {
    text_item *v;
    size_t n, cap;
    char *warning;    /* the first markup problem with its position, or NULL */
    size_t n_warnings;
} text_items;
void text_items_free(text_items *it);

/* Nonzero when text begins with an SSML document: <speak> after optional
 * white space, a byte-order mark, an XML declaration and comments. */
int text_is_ssml(const char *text);

/* Plain text with inline phonemes: "[[ h@l'oU ]]" spans become IPA items
 * (an unclosed "[[" is a warning and stays text).  Invalid UTF-8 gives
 * TTS_ERR_UTF8. */
tts_status text_markup_plain(const char *text, text_items *out);

/* The SSML subset (see markup.c).  Text that is not well-formed XML is
 * read as plain text without its tags, and out->warning says where the
 * markup broke ("line 1, column 17: ...").  Unsupported values are
 * warnings too; the content is still spoken. */
tts_status text_markup_ssml(const char *ssml, text_items *out);

/* A user dictionary (lexicon.c): word -> IPA or respelling.  The public
 * tts_lexicon is this type.  A bad entry's reason goes to the error channel
 * (core/error.h; empty when the status says it all). */
tts_status text_lexicon_parse_line(tts_lexicon *lex, const char *line);
/* The longest line of a lexicon file, in bytes (a word and its
 * pronunciation; /dev/zero or a binary file must not be read whole). */
#define TEXT_LEXICON_MAX_LINE 4096
/* Read one line of fp into *line (grown as getline does) up to
 * TEXT_LEXICON_MAX_LINE bytes: its length, -1 at the end of the file, -2 when
 * the line is longer (the rest of it is not read), -3 when out of memory. */
long text_lexicon_read_line(FILE *fp, char **line, size_t *cap);
tts_status text_lexicon_add(tts_lexicon *lex, const char *word, const char *pronunciation);
/* The pronunciation of word (n bytes): *ipa 1 when it is IPA; NULL when the
 * word has no entry. */
const char *text_lexicon_lookup(const tts_lexicon *lex, const char *word, size_t n, int *ipa);

/* One segment of a sentence: normalized text for espeak-ng, or IPA. */
typedef struct text_seg {
    int ipa;
    char *s;
} text_seg;

/* A sentence of an utterance. */
typedef struct text_usent {
    char *text;       /* for display: the segments, IPA as [[...]] */
    text_seg *segs;
    size_t n_segs;    /* 0: a pause alone */
    float rate, volume;
    float pause;      /* seconds of silence after it; < 0: the synthesizer's sentence silence */
    float min_pause;  /* at least this silence (a paragraph end), 0 for none */
} text_usent;

typedef struct text_utterance {
    text_usent *v;
    size_t n, cap;
    size_t n_speech;          /* sentences with segments */
    size_t n_unreadable;      /* characters left out (text_drop_unreadable) */
    uint32_t first_unreadable;
    size_t n_unknown_ipa;     /* IPA code points no symbol stands for */
    uint32_t first_unknown_ipa;
} text_utterance;

/* Normalize, split (pieces of at most max_chars bytes, see text_split) and
 * apply the lexicon (may be NULL) to items; lang is the espeak voice whose
 * script is readable ("en-us").  Free with text_utterance_free (accepts
 * NULL). */
tts_status text_utterance_build(const text_items *items, const char *lang, const tts_lexicon *lex,
                                size_t max_chars, text_utterance *out);
void text_utterance_free(text_utterance *u);

/* The IPA of a sentence: its text segments phonemized by espeak-ng with the
 * voice espeak_voice (switched to under espeak-ng's lock for this call; NULL:
 * the voice last set), its IPA segments as they are, joined by spaces.
 * *ipa is malloc'd. */
tts_status text_usent_ipa(const text_usent *s, const char *espeak_voice, char **ipa);

/* ---- Helpers shared by the files of src/text/ (not for other modules) ---- */

/* A growable NUL-terminated string.  An allocation failure sets .failed and
 * makes later appends no-ops, so callers check once at the end. */
typedef struct text_buf {
    char *data;
    size_t len, cap;
    int failed;
} text_buf;
void text_buf_put(text_buf *b, const char *s, size_t n);
void text_buf_puts(text_buf *b, const char *s);
void text_buf_putc(text_buf *b, char c);
void text_buf_free(text_buf *b);
/* Hands the string to the caller ("" when empty); the buffer is reset. */
tts_status text_buf_take(text_buf *b, char **out);

/* Decode one UTF-8 sequence from s[0..n); returns its length (1-4) and the
 * code point, or 0 for an invalid or truncated sequence. */
size_t text_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* English words for numbers, appended to b.  digits: ASCII digits, n of them.
 * Longer than TEXT_NUM_MAX_DIGITS digits, or with leading zeros, numbers are
 * read digit by digit. */
#define TEXT_NUM_MAX_DIGITS 21
void text_num_cardinal(text_buf *b, const char *digits, size_t n);
void text_num_ordinal(text_buf *b, const char *digits, size_t n);
void text_num_digits(text_buf *b, const char *digits, size_t n);
/* A four-digit year: 1908 "nineteen oh eight", 2024 "twenty twenty-four". */
void text_num_year(text_buf *b, const char *digits4);
void text_num_small(text_buf *b, unsigned v); /* 0..999 */

/* A unit of measure after a number (units.c): "km" -> "kilometer(s)". */
typedef struct text_unit {
    const char *sym;   /* as written, case-sensitive: "km", "km/h", "MB" */
    const char *one;   /* after exactly 1: "kilometer" */
    const char *many;  /* otherwise: "kilometers" */
    int needs_period;  /* only as "in.": the bare symbol is a common word */
} text_unit;
/* The unit spelled s[0..n) exactly, or NULL. */
const text_unit *text_unit_find(const char *s, size_t n);

/* Clause iteration over normalized text: a clause ends at , . ? ! ; : …
 * followed by a space or the end of the text. */
typedef struct text_clause {
    size_t start, end;  /* clause words, s[start..end), without punctuation */
    const char *punct;  /* "," "." "?" "!" ";" ":" "…" or "" at the text end */
    int ends_sentence;  /* punct is . ? ! … */
} text_clause;
/* Next clause from *pos; returns 0 at the end of the text. */
int text_next_clause(const char *s, size_t *pos, text_clause *c);
/* Nonzero when s[0..n) has a letter, digit or other speakable character. */
int text_is_speakable(const char *s, size_t n);

/* ---- The front end of a voice (frontend.c) ----
 *
 * Every entrance that turns text into phonemes goes through one of these:
 * the synthesizer, tts_phonemize, the program's --phonemes and the trainer's
 * dataset reader.  It holds what makes a voice's reading its own: the
 * espeak-ng voice (which also picks the normalizer: English rules only for
 * English), the user dictionary and the longest sentence piece.  It is a
 * small value, copied freely; voices of different languages can be used
 * from any threads in any order: each call sets espeak-ng's voice under its
 * lock. */
#define TEXT_MAX_SENTENCE_CHARS 180  /* longer sentences are cut at clauses, then words */

typedef struct text_frontend {
    char espeak_voice[64];     /* "en-us", "cs" */
    const tts_lexicon *lex;    /* user dictionary, borrowed; NULL: none */
    size_t max_chars;          /* longest sentence piece in bytes */
} text_frontend;

/* Fill fe for espeak_voice, checking that espeak-ng can load it
 * (TTS_ERR_PHONEMIZER when it cannot; TTS_ERR_INVALID_ARG for a name of 64
 * bytes or more).  lex may be NULL; max_chars 0 means TEXT_MAX_SENTENCE_CHARS. */
tts_status text_frontend_open(text_frontend *fe, const char *espeak_voice, const tts_lexicon *lex,
                              size_t max_chars);

/* Markup items to sentences (text_utterance_build with fe's rules). */
tts_status text_frontend_sentences(const text_frontend *fe, const text_items *items, text_utterance *out);

/* The IPA of one sentence of such an utterance (text_usent_ipa with fe's voice). */
tts_status text_frontend_ipa(const text_frontend *fe, const text_usent *s, char **ipa);

/* One dataset line, whole (no markup, no splitting): normalized with fe's
 * rules, phonemized with fe's voice, encoded; as text_utterance_ids_ipa. */
tts_status text_frontend_ids(const text_frontend *fe, const char *raw, int32_t **ids, size_t *n_ids,
                             char **ipa, size_t *n_dropped);

#endif
