/*
 * split.c - the sentence splitter.  It cuts normalized text into sentences
 * at . ? ! … (followed by a space or the end), keeping each clause's mark,
 * and bounds their length: a sentence longer than max_chars bytes is cut at
 * clause marks (, ; :), then at spaces, then, for one enormous word, at a
 * UTF-8 character boundary.  It relies on the normalizer for abbreviations:
 * after text_normalize, a period followed by a space really ends a sentence.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

typedef struct piece_list {
    text_sentences *out;
    size_t cap;
    text_buf cur; /* the piece being filled */
    tts_status st;
} piece_list;

/* Close the current piece and append it (when speakable) to the output. */
static void flush(piece_list *p)
{
    text_buf *b = &p->cur;
    if (p->st != TTS_OK)
        return;
    if (b->failed) {
        p->st = TTS_ERR_NOMEM;
        return;
    }
    if (!b->len || !text_is_speakable(b->data, b->len)) {
        b->len = 0;
        if (b->data)
            b->data[0] = '\0';
        return;
    }
    text_sentences *o = p->out;
    if (o->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        text_sentence *items = realloc(o->items, cap * sizeof *items);
        if (!items) {
            p->st = TTS_ERR_NOMEM;
            return;
        }
        o->items = items;
        p->cap = cap;
    }
    char *text;
    if (text_buf_take(b, &text) != TTS_OK) {
        p->st = TTS_ERR_NOMEM;
        return;
    }
    o->items[o->n++].text = text;
}

/* Add a unit (clause, word or word fragment) of n bytes to the current
 * piece, starting a new piece when it would pass max. */
static void add_unit(piece_list *p, const char *s, size_t n, size_t max)
{
    size_t need = p->cur.len ? p->cur.len + 1 + n : n;
    if (p->cur.len && need > max)
        flush(p);
    if (p->cur.len)
        text_buf_putc(&p->cur, ' ');
    text_buf_put(&p->cur, s, n);
}

/* Bytes of s[0..n) that fit in max without cutting a UTF-8 sequence (>= 1
 * character). */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    if (k == 0) { /* max smaller than one character: take the character */
        k = 1;
        while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
            k++;
    }
    return k;
}

/* Add one clause (words s[0..n) plus its mark) that may be too long. */
static void add_clause(piece_list *p, const char *s, size_t n, const char *mark, size_t max)
{
    size_t ml = strlen(mark);
    if (n == 0) { /* a mark alone: it belongs to what came before */
        if (p->cur.len)
            text_buf_puts(&p->cur, mark);
        return;
    }
    if (n + ml <= max) {
        text_buf tmp = {0};
        text_buf_put(&tmp, s, n);
        text_buf_puts(&tmp, mark);
        if (tmp.failed) {
            p->st = TTS_ERR_NOMEM;
            text_buf_free(&tmp);
            return;
        }
        add_unit(p, tmp.data ? tmp.data : "", tmp.len, max);
        text_buf_free(&tmp);
        return;
    }
    /* word by word; the mark stays on the last word */
    size_t i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        size_t j = i;
        while (j < n && s[j] != ' ')
            j++;
        if (j == i)
            break;
        int last = j >= n;
        size_t wl = j - i, extra = last ? ml : 0;
        size_t at = i;
        while (wl + extra > max) { /* one enormous word: hard cuts */
            size_t k = utf8_cut(s + at, wl, max);
            if (k >= wl) /* only the mark does not fit: leave room for it */
                k = utf8_cut(s + at, wl, max - extra);
            flush(p);
            add_unit(p, s + at, k, max);
            flush(p);
            at += k;
            wl -= k;
        }
        if (extra) {
            text_buf tmp = {0};
            text_buf_put(&tmp, s + at, wl);
            text_buf_puts(&tmp, mark);
            if (tmp.failed)
                p->st = TTS_ERR_NOMEM;
            else
                add_unit(p, tmp.data, tmp.len, max);
            text_buf_free(&tmp);
        } else {
            add_unit(p, s + at, wl, max);
        }
        i = j;
    }
}

tts_status text_split(const char *normalized, size_t max_chars, text_sentences *out)
{
    if (!normalized || !out)
        return TTS_ERR_INVALID_ARG;
    out->items = NULL;
    out->n = 0;
    size_t max = max_chars == 0 ? (size_t)-1 / 2 : max_chars < 8 ? 8 : max_chars;
    piece_list p = {out, 0, {0}, TTS_OK};
    size_t pos = 0;
    text_clause c;
    while (p.st == TTS_OK && text_next_clause(normalized, &pos, &c)) {
        add_clause(&p, normalized + c.start, c.end - c.start, c.punct, max);
        if (c.ends_sentence)
            flush(&p);
    }
    flush(&p);
    text_buf_free(&p.cur);
    if (p.st != TTS_OK)
        text_sentences_free(out);
    return p.st;
}

void text_sentences_free(text_sentences *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->n; k++)
        free(s->items[k].text);
    free(s->items);
    s->items = NULL;
    s->n = 0;
}
