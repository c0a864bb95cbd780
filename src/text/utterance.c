/*
 * utterance.c - from markup items to the sentences the synthesizer speaks.
 *
 * Each text item is cleaned of unreadable characters, normalized and split
 * into sentences (text_split); the first piece continues the sentence left
 * open by the items before it (text, then [[IPA]], then text is one
 * sentence), and a piece that ends with . ? ! or … closes it.  IPA items
 * join the open sentence as they are.  A pause, a sentence end or a change
 * of prosody closes the open sentence; a pause with no sentence to follow
 * becomes the silence of the sentence before it, or a sentence of its own
 * when nothing was said yet.  Sentences are kept under max_chars bytes of
 * text: an open sentence that grows past it is closed without a pause, and
 * long IPA is cut at word boundaries.
 *
 * The lexicon applies to the words of normalized text: a word with an IPA
 * entry becomes an IPA segment (with the clause mark that followed it), a
 * respelling replaces the word in the text.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

typedef struct builder {
    text_utterance *u;
    const tts_lexicon *lex;
    size_t max;
    text_usent *cur;   /* the open sentence, or NULL */
    size_t cur_chars;  /* bytes of text in it */
    tts_status st;
} builder;

void text_utterance_free(text_utterance *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n; i++) {
        text_usent *s = &u->v[i];
        free(s->text);
        for (size_t k = 0; k < s->n_segs; k++)
            free(s->segs[k].s);
        free(s->segs);
    }
    free(u->v);
    memset(u, 0, sizeof *u);
}

static text_usent *new_sentence(builder *b, float rate, float volume)
{
    text_utterance *u = b->u;
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 16;
        text_usent *v = realloc(u->v, cap * sizeof *v);
        if (!v) {
            b->st = TTS_ERR_NOMEM;
            return NULL;
        }
        u->v = v;
        u->cap = cap;
    }
    text_usent *s = &u->v[u->n++];
    memset(s, 0, sizeof *s);
    s->rate = rate;
    s->volume = volume;
    s->pause = -1;
    return s;
}

/* The display text of a sentence from its segments. */
static void finish_text(builder *b, text_usent *s)
{
    text_buf t = {0};
    for (size_t k = 0; k < s->n_segs; k++) {
        if (t.len) text_buf_putc(&t, ' ');
        if (s->segs[k].ipa) text_buf_puts(&t, "[[");
        text_buf_puts(&t, s->segs[k].s);
        if (s->segs[k].ipa) text_buf_puts(&t, "]]");
    }
    if (t.failed || text_buf_take(&t, &s->text) != TTS_OK) b->st = TTS_ERR_NOMEM;
}

/* Close the open sentence: pause < 0 keeps the default silence. */
static void close_sentence(builder *b, float pause, float min_pause)
{
    if (!b->cur)
        return;
    b->cur->pause = pause;
    b->cur->min_pause = min_pause;
    finish_text(b, b->cur);
    b->u->n_speech++;
    b->cur = NULL;
    b->cur_chars = 0;
}

/* The open sentence for this prosody (closing one of another prosody). */
static text_usent *open_sentence(builder *b, float rate, float volume)
{
    if (b->cur && (b->cur->rate != rate || b->cur->volume != volume || b->cur_chars >= b->max))
        close_sentence(b, 0, 0);
    if (!b->cur)
        b->cur = new_sentence(b, rate, volume);
    return b->cur;
}

/* Append a segment (n bytes of s) to the open sentence; a text segment
 * right after another is merged with it. */
static void add_seg(builder *b, int ipa, const char *s, size_t n)
{
    text_usent *c = b->cur;
    if (!c || b->st != TTS_OK || !n)
        return;
    b->cur_chars += n + 1;
    if (c->n_segs && c->segs[c->n_segs - 1].ipa == ipa && !ipa) {
        text_seg *last = &c->segs[c->n_segs - 1];
        size_t l = strlen(last->s);
        char *p = realloc(last->s, l + n + 2);
        if (!p) { b->st = TTS_ERR_NOMEM; return; }
        p[l] = ' ';
        memcpy(p + l + 1, s, n);
        p[l + 1 + n] = 0;
        last->s = p;
        return;
    }
    text_seg *v = realloc(c->segs, (c->n_segs + 1) * sizeof *v);
    if (!v) { b->st = TTS_ERR_NOMEM; return; }
    c->segs = v;
    char *copy = strndup(s, n);
    if (!copy) { b->st = TTS_ERR_NOMEM; return; }
    v[c->n_segs++] = (text_seg){ipa, copy};
}

static int is_mark_byte(char c) { return c && strchr(",.?!;:", c) != NULL; }

/* Bytes of trailing clause marks (. , ? ! ; : and …) at the end of w[0..n). */
static size_t trailing_marks(const char *w, size_t n)
{
    size_t k = n;
    for (;;) {
        if (k && is_mark_byte(w[k - 1])) k--;
        else if (k >= 3 && !memcmp(w + k - 3, "\xE2\x80\xA6", 3)) k -= 3;
        else break;
    }
    return n - k;
}

/* IPA into the open sentence (opening one of this prosody), cut at spaces
 * into pieces of at most max bytes, like a long sentence: [[...]],
 * <phoneme> and the lexicon's IPA pronunciations alike. */
static void add_ipa(builder *b, const char *s, float rate, float volume)
{
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n && b->st == TTS_OK) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
        if (i >= n) break;
        if (!open_sentence(b, rate, volume)) return;
        size_t room = b->cur_chars < b->max ? b->max - b->cur_chars : 1;
        size_t end = n - i <= room ? n : i + room;
        if (end < n) {  /* back to a space, or a UTF-8 boundary */
            size_t k = end;
            while (k > i && s[k] != ' ' && s[k] != '\n' && s[k] != '\t') k--;
            if (k > i) end = k;
            else while (end > i + 1 && ((unsigned char)s[end] & 0xC0) == 0x80) end--;
        }
        /* one space between words inside the segment */
        text_buf w = {0};
        int sp = 0;
        for (size_t k = i; k < end; k++) {
            char c = s[k];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { sp = 1; continue; }
            if (sp && w.len) text_buf_putc(&w, ' ');
            sp = 0;
            text_buf_putc(&w, c);
        }
        if (w.failed) b->st = TTS_ERR_NOMEM;
        else add_seg(b, 1, w.data, w.len);
        text_buf_free(&w);
        if (end < n) close_sentence(b, 0, 0);
        i = end;
    }
}

/* A normalized piece of text into the open sentence, through the lexicon. */
static void add_text(builder *b, const char *s)
{
    size_t n = strlen(s);
    if (!b->lex) {
        add_seg(b, 0, s, n);
        return;
    }
    text_buf t = {0};  /* text not yet added */
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ' ') j++;
        size_t marks = trailing_marks(s + i, j - i), wn = j - i - marks;
        /* the word without quotes around it */
        size_t a = i, z = i + wn;
        while (a < z && s[a] == '\'') a++;
        while (z > a && s[z - 1] == '\'') z--;
        int ipa = 0;
        const char *pron = z > a ? text_lexicon_lookup(b->lex, s + a, z - a, &ipa) : NULL;
        if (!pron) {
            if (t.len) text_buf_putc(&t, ' ');
            text_buf_put(&t, s + i, j - i);
        } else if (!ipa) {
            if (t.len) text_buf_putc(&t, ' ');
            text_buf_puts(&t, pron);
            text_buf_put(&t, s + i + wn, marks);
        } else {
            if (t.failed) break;
            if (t.len) { add_seg(b, 0, t.data, t.len); t.len = 0; }
            text_buf w = {0};
            text_buf_puts(&w, pron);
            text_buf_put(&w, s + i + wn, marks);
            if (w.failed) b->st = TTS_ERR_NOMEM;
            else add_ipa(b, w.data, b->cur->rate, b->cur->volume);  /* split when long */
            text_buf_free(&w);
        }
        i = j;
        while (i < n && s[i] == ' ') i++;
    }
    if (t.failed) b->st = TTS_ERR_NOMEM;
    else if (t.len) add_seg(b, 0, t.data, t.len);
    text_buf_free(&t);
}

static int ends_sentence(const char *s)
{
    size_t n = strlen(s);
    if (n && strchr(".?!", s[n - 1])) return 1;
    return n >= 3 && !memcmp(s + n - 3, "\xE2\x80\xA6", 3);
}

/* Clause marks at the start of a text item ("</say-as>, and") belong to
 * the open sentence: the normalizer would drop them.  Returns the text
 * after them. */
static const char *leading_marks(builder *b, const char *s)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    char mark[4] = "";
    for (;;) {
        if (is_mark_byte(*p)) { mark[0] = *p; mark[1] = 0; p++; }
        else if (!strncmp(p, "\xE2\x80\xA6", 3)) { memcpy(mark, p, 3); mark[3] = 0; p += 3; }
        else break;
    }
    if (!mark[0] || !b->cur || !b->cur->n_segs) return s;
    if (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') return s;  /* ".5", ",000" */
    text_seg *last = &b->cur->segs[b->cur->n_segs - 1];
    size_t l = strlen(last->s), ml = strlen(mark);
    if (!trailing_marks(last->s, l)) {
        char *q = realloc(last->s, l + ml + 1);
        if (!q) { b->st = TTS_ERR_NOMEM; return p; }
        memcpy(q + l, mark, ml + 1);
        last->s = q;
    }
    if (strchr(".?!", mark[0]) || ml == 3) close_sentence(b, -1, 0);
    return p;
}

static void add_text_item(builder *b, const text_item *it, const char *lang)
{
    char *readable = NULL, *norm = NULL;
    size_t dropped = 0;
    uint32_t first = 0;
    const char *text = leading_marks(b, it->s);
    if (b->st != TTS_OK) return;
    tts_status st = text_drop_unreadable(lang, text, &readable, &dropped, &first);
    if (st != TTS_OK) { b->st = st; return; }
    if (dropped && !b->u->n_unreadable) b->u->first_unreadable = first;
    b->u->n_unreadable += dropped;
    st = text_normalize_lang(lang, readable, strlen(readable), &norm);
    free(readable);
    if (st != TTS_OK) { b->st = st; return; }
    text_sentences ss = {0};
    st = text_split(norm, b->max, &ss);
    free(norm);
    if (st != TTS_OK) { b->st = st; return; }
    for (size_t k = 0; k < ss.n && b->st == TTS_OK; k++) {
        if (k > 0) close_sentence(b, -1, 0);
        if (!open_sentence(b, it->rate, it->volume)) break;
        add_text(b, ss.items[k].text);
        if (ends_sentence(ss.items[k].text)) close_sentence(b, -1, 0);
    }
    text_sentences_free(&ss);
}

/* An [[...]] or <phoneme> item: its symbols the model has no id for are
 * counted (they are dropped), then it is added as IPA. */
static void add_ipa_item(builder *b, const text_item *it)
{
    const char *s = it->s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = text_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!l) { i++; continue; }
        if (cp != ' ' && cp != '\t' && cp != '\n' && cp != '\r' && text_symbol_id(cp) < 0) {
            if (!b->u->n_unknown_ipa) b->u->first_unknown_ipa = cp;
            b->u->n_unknown_ipa++;
        }
        i += l;
    }
    add_ipa(b, s, it->rate, it->volume);
}

/* A <break>: it ends the open sentence; after a closed one it replaces
 * that sentence's default silence (breaks in a row add up); before anything
 * was said it is a pause of its own. */
static void add_break(builder *b, float seconds)
{
    if (b->cur) {
        close_sentence(b, seconds, 0);
        return;
    }
    text_utterance *u = b->u;
    if (u->n) {
        text_usent *last = &u->v[u->n - 1];
        last->pause = last->pause < 0 ? seconds : last->pause + seconds;
        return;
    }
    text_usent *s = new_sentence(b, 1, 1);
    if (!s) return;
    s->pause = seconds;
    if (!(s->text = strdup(""))) b->st = TTS_ERR_NOMEM;
}

/* </s>, </p>: the end of the open sentence, with at least min seconds of
 * silence (min < 0: none asked). */
static void add_end(builder *b, float min)
{
    if (min < 0) min = 0;
    if (b->cur) {
        close_sentence(b, -1, min);
        return;
    }
    text_utterance *u = b->u;
    if (u->n && u->v[u->n - 1].min_pause < min) u->v[u->n - 1].min_pause = min;
}

tts_status text_utterance_build(const text_items *items, const char *lang, const tts_lexicon *lex,
                                size_t max_chars, text_utterance *out)
{
    memset(out, 0, sizeof *out);
    if (!items) return TTS_ERR_INVALID_ARG;
    builder b = {out, lex, max_chars ? (max_chars < 8 ? 8 : max_chars) : (size_t)-1 / 2, NULL, 0, TTS_OK};
    for (size_t i = 0; i < items->n && b.st == TTS_OK; i++) {
        const text_item *it = &items->v[i];
        switch (it->kind) {
        case TEXT_ITEM_TEXT: add_text_item(&b, it, lang); break;
        case TEXT_ITEM_IPA: add_ipa_item(&b, it); break;
        case TEXT_ITEM_BREAK: add_break(&b, it->seconds); break;
        case TEXT_ITEM_END: add_end(&b, it->seconds); break;
        }
    }
    if (b.st == TTS_OK) close_sentence(&b, -1, 0);
    if (b.st != TTS_OK) text_utterance_free(out);
    return b.st;
}

tts_status text_frontend_sentences(const text_frontend *fe, const text_items *items, text_utterance *out)
{
    if (!fe) return TTS_ERR_INVALID_ARG;
    return text_utterance_build(items, fe->espeak_voice, fe->lex, fe->max_chars, out);
}

tts_status text_frontend_ipa(const text_frontend *fe, const text_usent *s, char **ipa)
{
    if (!fe) return TTS_ERR_INVALID_ARG;
    return text_usent_ipa(s, fe->espeak_voice, ipa);
}

tts_status text_usent_ipa(const text_usent *s, const char *espeak_voice, char **ipa)
{
    *ipa = NULL;
    text_buf o = {0};
    for (size_t k = 0; k < s->n_segs; k++) {
        char *p = NULL;
        if (s->segs[k].ipa) {
            if (o.len) text_buf_putc(&o, ' ');
            text_buf_puts(&o, s->segs[k].s);
            continue;
        }
        /* espeak-ng reads a lone "a" at the end of a clause as the letter:
         * before an IPA segment it is the article */
        const char *t = s->segs[k].s;
        size_t tl = strlen(t);
        int article = text_lang_is_english(espeak_voice) && k + 1 < s->n_segs && tl >= 1 && (t[tl - 1] == 'a' || t[tl - 1] == 'A') &&
                      (tl == 1 || t[tl - 2] == ' ');
        char *head = article ? strndup(t, tl - 1) : NULL;
        if (article && !head) { text_buf_free(&o); return TTS_ERR_NOMEM; }
        tts_status st = text_phonemize_as(espeak_voice, article ? head : t, &p);
        free(head);
        if (st != TTS_OK) { text_buf_free(&o); return st; }
        if (*p && o.len) text_buf_putc(&o, ' ');
        text_buf_puts(&o, p);
        if (article) text_buf_puts(&o, *p ? " ɐ" : (o.len ? " ɐ" : "ɐ"));
        free(p);
    }
    if (o.failed) { text_buf_free(&o); return TTS_ERR_NOMEM; }
    return text_buf_take(&o, ipa);
}
