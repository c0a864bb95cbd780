/*
 * textbuf.c - small helpers shared by the text front end: a growable string
 * with a sticky out-of-memory flag, a strict UTF-8 decoder, and the clause
 * iterator that the splitter and the phonemizer both use, so they agree on
 * where a clause ends.  Nothing here touches espeak-ng.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

void text_buf_put(text_buf *b, const char *s, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            if (cap > ((size_t)-1) / 2) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void text_buf_puts(text_buf *b, const char *s) { text_buf_put(b, s, strlen(s)); }

void text_buf_putc(text_buf *b, char c) { text_buf_put(b, &c, 1); }

void text_buf_free(text_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

tts_status text_buf_take(text_buf *b, char **out)
{
    if (b->failed) {
        text_buf_free(b);
        return TTS_ERR_NOMEM;
    }
    if (!b->data) {
        b->data = malloc(1);
        if (!b->data)
            return TTS_ERR_NOMEM;
        b->data[0] = '\0';
    }
    *out = b->data;
    memset(b, 0, sizeof *b);
    return TTS_OK;
}

size_t text_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2; v = c & 0x1F; min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3; v = c & 0x0F; min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4; v = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* Length of the clause mark at s (0 if none): one of , . ? ! ; : or "…". */
static size_t punct_len(const char *s)
{
    if (s[0] && strchr(",.?!;:", s[0]))
        return 1;
    if ((unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 &&
        (unsigned char)s[2] == 0xA6)
        return 3;
    return 0;
}

int text_next_clause(const char *s, size_t *pos, text_clause *c)
{
    size_t i = *pos;
    while (s[i] == ' ')
        i++;
    if (!s[i])
        return 0;
    c->start = i;
    for (;;) {
        if (!s[i]) {
            c->end = i;
            c->punct = "";
            c->ends_sentence = 0;
            break;
        }
        size_t pl = punct_len(s + i);
        if (pl) {
            /* A run of marks counts as one boundary: the strongest wins. */
            size_t j = i, best = i;
            int rank_best = -1;
            for (;;) {
                size_t l = punct_len(s + j);
                if (!l)
                    break;
                int rank = s[j] == '?' ? 5 : s[j] == '!' ? 4 : l == 3 ? 3
                         : s[j] == '.' ? 2 : s[j] == ',' ? 0 : 1;
                if (rank > rank_best) {
                    rank_best = rank;
                    best = j;
                }
                j += l;
            }
            if (!s[j] || s[j] == ' ') {
                c->end = i;
                switch (s[best]) {
                case ',': c->punct = ","; break;
                case '.': c->punct = "."; break;
                case '?': c->punct = "?"; break;
                case '!': c->punct = "!"; break;
                case ';': c->punct = ";"; break;
                case ':': c->punct = ":"; break;
                default: c->punct = "\xE2\x80\xA6"; break;
                }
                c->ends_sentence = rank_best >= 2;
                i = j;
                break;
            }
            i = j; /* marks inside a token ("a.b"): not a boundary */
            continue;
        }
        i++;
    }
    while (c->end > c->start && s[c->end - 1] == ' ')
        c->end--;
    *pos = i;
    return 1;
}

int text_is_speakable(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = text_utf8_decode(u + i, n - i, &cp);
        if (!l) {
            i++;
            continue;
        }
        i += l;
        if (cp < 0x80) {
            if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                (cp >= '0' && cp <= '9'))
                return 1;
        } else if (cp != 0x2026 && !(cp >= 0x2000 && cp <= 0x206F) && cp != 0xA0) {
            return 1;
        }
    }
    return 0;
}
