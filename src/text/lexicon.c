/*
 * lexicon.c - the user dictionary (tts_lexicon): word -> IPA or respelling,
 * consulted by the utterance builder for every word of normalized text
 * before espeak-ng sees it.
 *
 * File format (one entry per line, UTF-8; the manual is in tts.h):
 *   1. "#" starts a comment line; blank lines are skipped;
 *   2. the word: one token, up to the first space or tab;
 *   3. white space, then the pronunciation up to the end of the line
 *      (trailing white space dropped): "/IPA/" between slashes is espeak-ng
 *      IPA, every symbol of which must be in the symbol table; anything else
 *      is a respelling, normalized like text and read by espeak-ng.
 * Case: entries are kept sorted by their ASCII-lower-cased word; a word
 * looks up its folded form, takes the entry spelled exactly like it when
 * that entry has a capital, else the all-lower-case entry.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

typedef struct lex_entry {
    char *word;   /* as written */
    char *fold;   /* ASCII lower case */
    char *pron;   /* IPA or normalized respelling */
    int ipa;
    int has_upper;
} lex_entry;

struct tts_lexicon {
    lex_entry *v;
    size_t n, cap;
};

static void fold_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

static int cmp_fold_n(const char *fold, const char *word, size_t n)
{
    /* compare fold with the folded first n bytes of word */
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)fold[i], b = (unsigned char)word[i];
        if (b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
        if (!a) return -1;
        if (a != b) return a < b ? -1 : 1;
    }
    return fold[n] ? 1 : 0;
}

tts_status tts_lexicon_create(tts_lexicon **out)
{
    tts_error_clear();
    if (!out) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_lexicon_create: NULL argument");
    *out = calloc(1, sizeof **out);
    return *out ? TTS_OK : tts_error_set(TTS_ERR_NOMEM, "out of memory");
}

void tts_lexicon_free(tts_lexicon *lex)
{
    if (!lex) return;
    for (size_t i = 0; i < lex->n; i++) {
        free(lex->v[i].word);
        free(lex->v[i].fold);
        free(lex->v[i].pron);
    }
    free(lex->v);
    free(lex);
}

size_t tts_lexicon_size(const tts_lexicon *lex)
{
    return lex ? lex->n : 0;
}

/* First index whose fold is >= the folded word (binary search). */
static size_t lower_bound(const tts_lexicon *lex, const char *word, size_t n)
{
    size_t lo = 0, hi = lex->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_fold_n(lex->v[mid].fold, word, n) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Insert or replace; takes ownership of the strings. */
static tts_status insert(tts_lexicon *lex, char *word, char *pron, int ipa)
{
    char *fold = strdup(word);
    if (!fold) { free(word); free(pron); return TTS_ERR_NOMEM; }
    fold_ascii(fold);
    size_t n = strlen(word);
    size_t at = lower_bound(lex, word, n);
    for (size_t i = at; i < lex->n && !strcmp(lex->v[i].fold, fold); i++)
        if (!strcmp(lex->v[i].word, word)) {  /* same word: replaced */
            free(lex->v[i].pron);
            lex->v[i].pron = pron;
            lex->v[i].ipa = ipa;
            free(word);
            free(fold);
            return TTS_OK;
        }
    if (lex->n == lex->cap) {
        size_t cap = lex->cap ? lex->cap * 2 : 32;
        lex_entry *v = realloc(lex->v, cap * sizeof *v);
        if (!v) { free(word); free(pron); free(fold); return TTS_ERR_NOMEM; }
        lex->v = v;
        lex->cap = cap;
    }
    memmove(lex->v + at + 1, lex->v + at, (lex->n - at) * sizeof *lex->v);
    lex->v[at] = (lex_entry){word, fold, pron, ipa, strcmp(word, fold) != 0};
    lex->n++;
    return TTS_OK;
}

/* One entry from a word and a pronunciation; the error channel gets the reason. */
static tts_status add_entry(tts_lexicon *lex, const char *word, size_t wn, const char *pron,
                            size_t pn)
{
    const unsigned char *u = (const unsigned char *)pron;
    for (size_t i = 0; i < wn;) {
        uint32_t cp;
        size_t l = text_utf8_decode((const unsigned char *)word + i, wn - i, &cp);
        if (!l) { return tts_error_set(TTS_ERR_UTF8, "the word is not valid UTF-8"); }
        i += l;
    }
    if (pn >= 2 && pron[0] == '/' && pron[pn - 1] == '/') {
        text_buf ipa = {0};
        int space = 0;
        for (size_t i = 1; i < pn - 1;) {
            uint32_t cp;
            size_t l = text_utf8_decode(u + i, pn - 1 - i, &cp);
            if (!l) { text_buf_free(&ipa); return tts_error_set(TTS_ERR_UTF8, "the IPA is not valid UTF-8"); }
            if (cp == ' ' || cp == '\t') {
                space = 1;
            } else if (text_symbol_id(cp) < 0) {
                text_buf_free(&ipa);
                return tts_error_set(TTS_ERR_MARKUP, "'%.*s' (U+%04X) is not an IPA symbol the voices know "
                                     "(write IPA as tts --phonemes prints it)", (int)l, pron + i, (unsigned)cp);
            } else {
                if (space && ipa.len) text_buf_putc(&ipa, ' ');
                space = 0;
                text_buf_put(&ipa, pron + i, l);
            }
            i += l;
        }
        if (!ipa.len) { text_buf_free(&ipa); return tts_error_set(TTS_ERR_MARKUP, "empty IPA between the slashes"); }
        if (ipa.failed) { text_buf_free(&ipa); return TTS_ERR_NOMEM; }
        char *w = strndup(word, wn), *p = NULL;
        text_buf_take(&ipa, &p);
        if (!w || !p) { free(w); free(p); return TTS_ERR_NOMEM; }
        return insert(lex, w, p, 1);
    }
    char *raw = strndup(pron, pn), *norm = NULL;
    if (!raw) return TTS_ERR_NOMEM;
    tts_status st = text_normalize(raw, &norm);
    free(raw);
    if (st == TTS_ERR_UTF8) { return tts_error_set(st, "the respelling is not valid UTF-8"); }
    if (st != TTS_OK) return st;
    /* the respelling's own sentence marks would cut the sentence */
    size_t k = strlen(norm);
    while (k && strchr(".?!;:,", norm[k - 1])) norm[--k] = 0;
    if (!text_is_speakable(norm, k)) {
        free(norm);
        return tts_error_set(TTS_ERR_MARKUP, "nothing speakable in the respelling");
    }
    char *w = strndup(word, wn);
    if (!w) { free(norm); return TTS_ERR_NOMEM; }
    return insert(lex, w, norm, 0);
}

long text_lexicon_read_line(FILE *fp, char **line, size_t *cap)
{
    if (!*line || *cap < TEXT_LEXICON_MAX_LINE + 2) {
        char *p = realloc(*line, TEXT_LEXICON_MAX_LINE + 2);
        if (!p) return -3;
        *line = p;
        *cap = TEXT_LEXICON_MAX_LINE + 2;
    }
    size_t n = 0;
    int c;
    while ((c = getc(fp)) != EOF) {
        if (n == TEXT_LEXICON_MAX_LINE) return -2;
        (*line)[n++] = (char)c;
        if (c == '\n') break;
    }
    (*line)[n] = 0;
    return n == 0 && c == EOF ? -1 : (long)n;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

tts_status text_lexicon_parse_line(tts_lexicon *lex, const char *line)
{
    tts_error_clear();
    while (is_space(*line)) line++;
    if (!*line || *line == '#') return TTS_OK;
    size_t wn = 0;
    while (line[wn] && !is_space(line[wn])) wn++;
    const char *p = line + wn;
    while (is_space(*p)) p++;
    size_t pn = strlen(p);
    while (pn && is_space(p[pn - 1])) pn--;
    if (!pn) {
        return tts_error_set(TTS_ERR_MARKUP, "no pronunciation after '%.*s' (want: WORD /IPA/ or WORD respelling)",
                             (int)(wn > 60 ? 60 : wn), line);
    }
    return add_entry(lex, line, wn, p, pn);
}

tts_status text_lexicon_add(tts_lexicon *lex, const char *word, const char *pronunciation)
{
    tts_error_clear();
    if (!lex || !word || !pronunciation) return TTS_ERR_INVALID_ARG;
    size_t wn = strlen(word), pn = strlen(pronunciation);
    for (size_t i = 0; i < wn; i++)
        if (is_space(word[i])) return TTS_ERR_INVALID_ARG;
    while (pn && is_space(pronunciation[pn - 1])) pn--;
    while (pn && is_space(*pronunciation)) { pronunciation++; pn--; }
    if (!wn || !pn) return TTS_ERR_INVALID_ARG;
    return add_entry(lex, word, wn, pronunciation, pn);
}

const char *text_lexicon_lookup(const tts_lexicon *lex, const char *word, size_t n, int *ipa)
{
    if (!lex || !lex->n || !n) return NULL;
    const lex_entry *lower = NULL;
    for (size_t i = lower_bound(lex, word, n); i < lex->n && cmp_fold_n(lex->v[i].fold, word, n) == 0; i++) {
        const lex_entry *e = &lex->v[i];
        if (e->has_upper) {
            if (!memcmp(e->word, word, n) && !e->word[n]) { *ipa = e->ipa; return e->pron; }
        } else {
            lower = e;
        }
    }
    if (lower) { *ipa = lower->ipa; return lower->pron; }
    return NULL;
}
