/*
 * words.c - word timings: which words a sentence's IPA holds, and when the
 * acoustic model speaks each of them.
 *
 * The words come from the sentence's segments: the normalized text split at
 * spaces (punctuation around a word dropped), and IPA segments split at
 * spaces.  espeak-ng reads a clause as a whole and may join words ("of the"
 * becomes "ʌvðə", "twenty-four" "twˈɛntifˈoːɹ"), so the IPA's words do not
 * match the text's one to one.  Each text word is phonemized alone, and the
 * letters of those pronunciations are aligned with the sentence's IPA by
 * edit distance: every letter of the IPA then belongs to the word whose
 * letter it matched (an inserted letter to the word before it).  Stress
 * marks go with the letter they precede; spaces and clause marks belong to
 * no word, so a comma's pause is no word's time.
 *
 * Times: the attention of each decoder step says which symbol the step's
 * frames speak (its largest weight).  Positions are made monotonic (a
 * running maximum), and a word lasts from the first frame at or past its
 * first symbol to the first frame past its last one.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/words.h"
#include "text/text.h"

static int is_clause_mark(uint32_t cp)
{
    return cp == ' ' || cp == ',' || cp == '.' || cp == '?' || cp == '!' || cp == ';' || cp == ':' ||
           cp == 0x2026;
}

static int is_stress(uint32_t cp) { return cp == 0x02C8 || cp == 0x02CC; }

void words_plan_free(words_plan *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) free(p->v[i].text);
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* A word's text: the token without the punctuation around it. */
static int trim_token(const char *s, size_t n, size_t *a, size_t *b)
{
    static const char lead[] = "\"'([{<\xC2\xAB", trail[] = "\"')]}>,.?!;:";
    size_t i = 0, j = n;
    while (i < j && strchr(lead, s[i]) && s[i]) i++;
    while (j > i && strchr(trail, s[j - 1]) && s[j - 1]) j--;
    /* the ellipsis "…" (E2 80 A6) at the end */
    while (j >= i + 3 && !memcmp(s + j - 3, "\xE2\x80\xA6", 3)) j -= 3;
    *a = i;
    *b = j;
    return j > i && text_is_speakable(s + i, j - i);
}

static int add_word(words_plan *p, const char *s, size_t n)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        words_word *v = realloc(p->v, cap * sizeof *v);
        if (!v) return -1;
        p->v = v;
        p->cap = cap;
    }
    char *t = strndup(s, n);
    if (!t) return -1;
    p->v[p->n++] = (words_word){t, -1, -1};
    return 0;
}

/* A growable list of (code point, word) pairs. */
typedef struct letters {
    uint32_t *cp;
    int *word;   /* the word of each letter (reference) or its byte offset (IPA) */
    size_t n, cap;
} letters;

static int letters_add(letters *l, uint32_t cp, int w)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        uint32_t *c = realloc(l->cp, cap * sizeof *c);
        if (!c) return -1;
        l->cp = c;
        int *x = realloc(l->word, cap * sizeof *x);
        if (!x) return -1;
        l->word = x;
        l->cap = cap;
    }
    l->cp[l->n] = cp;
    l->word[l->n++] = w;
    return 0;
}

/* The letters of ipa (neither clause marks nor stress), each tagged with w,
 * or with its byte offset when w < 0. */
static int ipa_letters(const char *ipa, int w, letters *l)
{
    const unsigned char *u = (const unsigned char *)ipa;
    size_t len = strlen(ipa);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = text_utf8_decode(u + i, len - i, &cp);
        if (!k) { i++; continue; }
        if (!is_clause_mark(cp) && !is_stress(cp) && letters_add(l, cp, w < 0 ? (int)i : w)) return -1;
        i += k;
    }
    return 0;
}

/* Edit-distance alignment of ref onto hyp: word_of[j] for each hyp letter. */
static int align(const letters *ref, const letters *hyp, int *word_of)
{
    size_t n = ref->n, m = hyp->n, W = m + 1;
    if (!m) return 0;
    if (!n) { for (size_t j = 0; j < m; j++) word_of[j] = -1; return 0; }
    unsigned *d = malloc((n + 1) * W * sizeof *d);
    if (!d) return -1;
    for (size_t j = 0; j <= m; j++) d[j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++) {
        d[i * W] = (unsigned)i;
        for (size_t j = 1; j <= m; j++) {
            unsigned sub = d[(i - 1) * W + j - 1] + (ref->cp[i - 1] != hyp->cp[j - 1]);
            unsigned del = d[(i - 1) * W + j] + 1, ins = d[i * W + j - 1] + 1;
            d[i * W + j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    }
    /* trace back: a hyp letter takes the word of the reference letter it
     * matched or replaced; an inserted one is marked -1 and filled below */
    size_t i = n, j = m;
    while (j > 0) {
        if (i > 0 && d[i * W + j] == d[(i - 1) * W + j - 1] + (ref->cp[i - 1] != hyp->cp[j - 1])) {
            word_of[--j] = ref->word[--i];
        } else if (i > 0 && d[i * W + j] == d[(i - 1) * W + j] + 1) {
            i--;
        } else {
            word_of[--j] = -1;
        }
    }
    free(d);
    /* inserted letters: the word before them (the one after at the start) */
    int last = -1;
    for (size_t k = 0; k < m; k++) {
        if (word_of[k] < 0) word_of[k] = last;
        else last = word_of[k];
    }
    int next = -1;
    for (size_t k = m; k-- > 0;) {
        if (word_of[k] < 0) word_of[k] = next;
        else next = word_of[k];
    }
    return 0;
}

tts_status words_plan_build(const text_usent *s, const char *espeak_voice, const char *ipa, int n_symbols,
                            words_plan *out)
{
    memset(out, 0, sizeof *out);
    letters ref = {0}, hyp = {0};
    int *word_of = NULL;
    tts_status st = TTS_OK;
    for (size_t k = 0; k < s->n_segs && st == TTS_OK; k++) {
        const char *t = s->segs[k].s;
        for (size_t i = 0; t[i] && st == TTS_OK;) {
            while (t[i] == ' ') i++;
            size_t e = i;
            while (t[e] && t[e] != ' ') e++;
            size_t a, b;
            if (e > i && trim_token(t + i, e - i, &a, &b)) {
                if (add_word(out, t + i + a, b - a)) { st = TTS_ERR_NOMEM; break; }
                int w = (int)out->n - 1;
                if (s->segs[k].ipa) {
                    if (ipa_letters(out->v[w].text, w, &ref)) st = TTS_ERR_NOMEM;
                } else {
                    char *p = NULL;
                    st = text_phonemize_as(espeak_voice, out->v[w].text, &p);
                    if (st == TTS_OK && ipa_letters(p, w, &ref)) st = TTS_ERR_NOMEM;
                    free(p);
                }
            }
            i = e;
        }
    }
    if (st == TTS_OK && ipa_letters(ipa, -1, &hyp)) st = TTS_ERR_NOMEM;
    if (st == TTS_OK && !(word_of = malloc((hyp.n + 1) * sizeof *word_of))) st = TTS_ERR_NOMEM;
    if (st == TTS_OK && align(&ref, &hyp, word_of)) st = TTS_ERR_NOMEM;
    if (st == TTS_OK) {
        /* symbol positions: the index among the code points the model reads */
        const unsigned char *u = (const unsigned char *)ipa;
        size_t len = strlen(ipa), h = 0;
        int sym = 0;
        uint32_t prev = 0;
        int stress_at = -1;  /* symbol of a stress mark just before */
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t k = text_utf8_decode(u + i, len - i, &cp);
            if (!k) { i++; continue; }
            int32_t id = text_symbol_id(cp);
            int readable = id >= 0 && id < n_symbols;
            if (h < hyp.n && hyp.word[h] == (int)i) {  /* a letter */
                int w = word_of[h++];
                if (w >= 0 && readable) {
                    words_word *x = &out->v[w];
                    int first = stress_at >= 0 ? stress_at : sym;
                    if (x->first < 0 || first < x->first) x->first = first;
                    if (sym > x->last) x->last = sym;
                }
            }
            stress_at = is_stress(cp) && readable ? (is_stress(prev) && stress_at >= 0 ? stress_at : sym) : -1;
            if (readable) sym++;
            prev = cp;
            i += k;
        }
        out->n_symbols = sym;
    }
    free(ref.cp);
    free(ref.word);
    free(hyp.cp);
    free(hyp.word);
    free(word_of);
    if (st != TTS_OK) words_plan_free(out);
    return st;
}

int words_symbol_offset(const char *ipa, size_t bytes, int n_symbols)
{
    const unsigned char *u = (const unsigned char *)ipa;
    int sym = 0;
    for (size_t i = 0; i < bytes && ipa[i];) {
        uint32_t cp;
        size_t k = text_utf8_decode(u + i, bytes - i, &cp);
        if (!k) { i++; continue; }
        int32_t id = text_symbol_id(cp);
        if (id >= 0 && id < n_symbols) sym++;
        i += k;
    }
    return sym;
}

void words_frame_positions(const float *align, int steps, int n, int r, int from, int to, int offset, int *pos)
{
    for (int f = from; f < to; f++) {
        int step = f / r < steps ? f / r : steps - 1;
        int best = 0;
        if (step >= 0) {
            const float *a = align + (size_t)step * n;
            for (int j = 1; j < n; j++)
                if (a[j] > a[best]) best = j;
        }
        /* ids: BOS, symbols 1..n-2, EOS; positions count symbols from 0 */
        pos[f - from] = offset + best - 1;
    }
}

void words_times(const words_plan *p, const int *pos, size_t n_frames, double seconds_per_frame,
                 tts_word *out)
{
    for (size_t w = 0; w < p->n; w++) {
        const words_word *x = &p->v[w];
        size_t a = n_frames, b = n_frames;
        if (x->first >= 0) {
            int run = INT_MIN;
            for (size_t f = 0; f < n_frames; f++) {
                if (pos[f] > run) run = pos[f];
                if (a == n_frames && run >= x->first) a = f;
                if (run > x->last) { b = f; break; }
            }
            if (b < a) b = a;
        } else if (w > 0) {  /* a word with no letter the model reads: where the one before ends */
            a = b = (size_t)(out[w - 1].end / seconds_per_frame + 0.5);
        } else {
            a = b = 0;
        }
        out[w].text = x->text;
        out[w].start = (double)a * seconds_per_frame;
        out[w].end = (double)b * seconds_per_frame;
    }
}
