/*
 * script.c - leaving out what a voice's language cannot read.
 *
 * espeak-ng spells characters of foreign scripts letter by letter in the
 * voice's language ("Привет" becomes six Cyrillic letter names, "你好"
 * "Chinese letter, Chinese letter") and names emoji ("grinning face"), which
 * is never what a reader wants.  For a language written in the Latin
 * alphabet, this file keeps Latin letters, combining marks, punctuation,
 * currency, letterlike and number forms, arrows and mathematical symbols,
 * and an isolated Greek letter (π, α: words in English text), and replaces
 * every other letter, emoji or pictograph by a space, counting them.  For
 * other languages nothing is dropped.  Invalid UTF-8 is left alone for the
 * normalizer to report.
 *
 * In every language, a run of combining marks (U+0300..036F, 1AB0..1AFF,
 * 1DC0..1DFF, 20D0..20FF, FE20..FE2F) is cut to its first MAX_MARKS: no
 * writing stacks more on one letter, and "Zalgo" text of a letter and
 * 10,000 marks otherwise became 112 "sentences" of near silence.
 *
 * The phonemizer also runs every clause through it before espeak-ng: in
 * 1.51, some characters that make espeak switch language (U+0A76 after an
 * English word) read freed memory inside espeak (found by fuzzing).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text/text.h"

/* Languages written in the Latin alphabet (espeak-ng codes, before any '-'). */
static const char *const latin_langs[] = {
    "en", "af", "ca", "cs", "cy", "da", "de", "eo", "es", "et", "eu", "fi", "fr", "ga", "gd", "hr",
    "hu", "id", "is", "it", "la", "lt", "lv", "ms", "mt", "nb", "nl", "no", "pl", "pt", "ro", "sk",
    "sl", "sq", "sv", "sw", "tr", "vi",
};

static int is_latin_language(const char *lang)
{
    size_t n = strcspn(lang ? lang : "", "-_");
    for (size_t i = 0; i < sizeof latin_langs / sizeof *latin_langs; i++)
        if (n == strlen(latin_langs[i]) && strncasecmp(lang, latin_langs[i], n) == 0) return 1;
    return 0;
}

static int is_greek_letter(uint32_t c) { return (c >= 0x370 && c <= 0x3FF) || (c >= 0x1F00 && c <= 0x1FFF); }

/* Emoji modifiers and joiners that belong to a dropped pictograph. */
static int is_emoji_part(uint32_t c)
{
    return (c >= 0xFE00 && c <= 0xFE0F) || c == 0x200D || c == 0x20E3 || (c >= 0x1F3FB && c <= 0x1F3FF) ||
           (c >= 0xE0020 && c <= 0xE007F);
}

/* A character a Latin-alphabet voice reads (Greek is decided by context). */
static int latin_readable(uint32_t c)
{
    if (c < 0x250) return 1;                     /* ASCII, Latin-1, Latin Extended-A/B */
    if (c < 0x370) return 1;                     /* IPA, spacing modifiers, combining marks */
    if (c >= 0x1AB0 && c <= 0x1AFF) return 1;    /* combining marks extended */
    if (c >= 0x1D00 && c <= 0x1DFF) return 1;    /* phonetic extensions, combining supplement */
    if (c >= 0x1E00 && c <= 0x1EFF) return 1;    /* Latin Extended Additional */
    if (c >= 0x2000 && c <= 0x25FF) return 1;    /* punctuation .. geometric shapes */
    if (c >= 0x2C60 && c <= 0x2C7F) return 1;    /* Latin Extended-C */
    if (c >= 0x2E00 && c <= 0x2E7F) return 1;    /* supplemental punctuation */
    if (c >= 0xA720 && c <= 0xA7FF) return 1;    /* Latin Extended-D */
    if (c >= 0xAB30 && c <= 0xAB6F) return 1;    /* Latin Extended-E */
    if (c >= 0xFB00 && c <= 0xFB06) return 1;    /* Latin ligatures */
    if (c >= 0xFE20 && c <= 0xFE2F) return 1;    /* combining half marks */
    if (c >= 0xFF01 && c <= 0xFF5E) return 1;    /* fullwidth ASCII */
    if (c >= 0xE000 && c <= 0xF8FF) return 1;    /* private use: the normalizer drops it */
    return 0;
}

#define MAX_MARKS 4

static int is_combining_mark(uint32_t c)
{
    return (c >= 0x300 && c <= 0x36F) || (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
           (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F);
}

/* Cut every run of combining marks in s (in place) to MAX_MARKS. */
static void collapse_marks(char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), k = 0, run = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t l = text_utf8_decode(u + i, n - i, &c);
        if (!l) { s[k++] = s[i++]; run = 0; continue; }
        run = is_combining_mark(c) ? run + 1 : 0;
        if (run <= MAX_MARKS) {
            memmove(s + k, s + i, l);
            k += l;
        }
        i += l;
    }
    s[k] = 0;
}

tts_status text_drop_unreadable(const char *lang, const char *text, char **out, size_t *n_dropped,
                              uint32_t *first)
{
    *out = NULL;
    *n_dropped = 0;
    if (first) *first = 0;
    size_t n = strlen(text);
    char *o = malloc(n + 1);
    if (!o) return TTS_ERR_NOMEM;
    if (!is_latin_language(lang)) {
        memcpy(o, text, n + 1);
        collapse_marks(o);
        *out = o;
        return TTS_OK;
    }
    const unsigned char *u = (const unsigned char *)text;
    size_t k = 0;
    uint32_t prev = 0;  /* the previous code point (0 at the start or after invalid bytes) */
    for (size_t i = 0; i < n;) {
        uint32_t c, next = 0;
        size_t l = text_utf8_decode(u + i, n - i, &c);
        if (!l) { o[k++] = (char)u[i++]; prev = 0; continue; }  /* the normalizer reports it */
        if (i + l < n && !text_utf8_decode(u + i + l, n - i - l, &next)) next = 0;
        int keep = latin_readable(c) ||
                   (is_greek_letter(c) && !is_greek_letter(prev) && !is_greek_letter(next));
        if (keep) {
            memcpy(o + k, u + i, l);
            k += l;
        } else {
            if (!is_emoji_part(c)) {
                if (!*n_dropped && first) *first = c;
                ++*n_dropped;
            }
            if (k == 0 || o[k - 1] != ' ') o[k++] = ' ';  /* a space: no two words run together */
        }
        prev = c;
        i += l;
    }
    o[k] = 0;
    collapse_marks(o);
    *out = o;
    return TTS_OK;
}
