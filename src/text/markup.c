/*
 * markup.c - the markup readers: plain text with inline phonemes ([[ IPA ]])
 * and the SSML subset of tts.h (tts_synth_start_ssml), parsed with libxml2.
 *
 * Both produce a flat list of text_items (raw text, IPA, pauses, sentence
 * ends) with the prosody in effect; they do not normalize or phonemize (the
 * utterance builder, utterance.c, does).  Problems never drop text: SSML that
 * is not well-formed is read as plain text without its tags, and an
 * unsupported value leaves its content spoken as text; each problem is
 * counted and the first is kept, with its position, in items->warning.
 *
 * libxml2 is called with XML_PARSE_NONET and without entity substitution or
 * DTD loading, so a document can neither reach the network nor expand
 * entities; libxml2's own limits bound depth and text size.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "text/text.h"

/* ---------------------------------------------------------------- items */

void text_items_free(text_items *it)
{
    if (!it)
        return;
    for (size_t i = 0; i < it->n; i++)
        free(it->v[i].s);
    free(it->v);
    free(it->warning);
    memset(it, 0, sizeof *it);
}

/* The reader's state: the items and the prosody in effect. */
typedef struct reader {
    text_items *out;
    float rate, volume;
    int failed;       /* out of memory */
    int line_offset;  /* SSML wrapped in <speak>: columns on line 1 shift */
} reader;

static void warn(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(reader *r, const char *fmt, ...)
{
    r->out->n_warnings++;
    if (r->out->warning)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->out->warning = strdup(buf);
}

/* Append an item; s (may be NULL) is copied, n bytes of it. */
static void add_item(reader *r, text_item_kind kind, const char *s, size_t n, float seconds)
{
    if (r->failed)
        return;
    text_items *o = r->out;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        text_item *v = realloc(o->v, cap * sizeof *v);
        if (!v) {
            r->failed = 1;
            return;
        }
        o->v = v;
        o->cap = cap;
    }
    char *copy = NULL;
    if (s) {
        copy = strndup(s, n);
        if (!copy) {
            r->failed = 1;
            return;
        }
    }
    o->v[o->n++] = (text_item){kind, copy, seconds, r->rate, r->volume};
}

/* Text that may hold [[ IPA ]] spans.  line/col (may be 0) place s in the
 * input for warnings. */
static void add_text_spans(reader *r, const char *s, size_t n, long line)
{
    size_t i = 0;
    while (i < n) {
        const char *open = NULL;
        for (size_t k = i; k + 1 < n; k++)
            if (s[k] == '[' && s[k + 1] == '[') {
                open = s + k;
                break;
            }
        if (!open) {
            add_item(r, TEXT_ITEM_TEXT, s + i, n - i, 0);
            return;
        }
        size_t at = (size_t)(open - s);
        const char *close = NULL;
        for (size_t k = at + 2; k + 1 < n; k++)
            if (s[k] == ']' && s[k + 1] == ']') {
                close = s + k;
                break;
            }
        if (!close) {
            /* line and column of the "[[" (columns count bytes) */
            long ln = line ? line : 1, col = 1;
            for (size_t k = 0; k < at; k++) {
                if (s[k] == '\n') { ln++; col = 1; } else col++;
            }
            if (line)
                warn(r, "an unclosed [[ (line %ld): read as text", ln);
            else
                warn(r, "line %ld, column %ld: an unclosed [[: read as text", ln, col);
            add_item(r, TEXT_ITEM_TEXT, s + i, n - i, 0);
            return;
        }
        if (at > i)
            add_item(r, TEXT_ITEM_TEXT, s + i, at - i, 0);
        const char *a = open + 2, *b = close;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r')) b--;
        if (b > a)
            add_item(r, TEXT_ITEM_IPA, a, (size_t)(b - a), 0);
        i = (size_t)(close - s) + 2;
    }
}

static tts_status check_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = text_utf8_decode(u + i, n - i, &cp);
        if (!l)
            return TTS_ERR_UTF8;
        i += l;
    }
    return TTS_OK;
}

tts_status text_markup_plain(const char *text, text_items *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return TTS_ERR_INVALID_ARG;
    if (check_utf8(text) != TTS_OK)
        return TTS_ERR_UTF8;
    reader r = {out, 1, 1, 0, 0};
    add_text_spans(&r, text, strlen(text), 0);
    if (r.failed) {
        text_items_free(out);
        return TTS_ERR_NOMEM;
    }
    return TTS_OK;
}

/* ------------------------------------------------------------ detection */

/* The closing '>' of a DOCTYPE, past an internal subset "[ ... ]" (whose
 * declarations hold '>' of their own), or NULL. */
static const char *doctype_end(const char *s)
{
    const char *gt = strchr(s, '>'), *open = strchr(s, '[');
    if (!open || (gt && gt < open)) return gt;
    for (const char *p = open + 1; *p; p++) {
        if (*p == '"' || *p == '\'') {  /* a quoted value may hold ']' */
            const char *q = strchr(p + 1, *p);
            if (!q) return NULL;
            p = q;
        } else if (*p == ']') {
            const char *q = p + 1;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
            if (*q == '>') return q;
        }
    }
    return NULL;
}

/* Past white space, a BOM, an XML declaration, comments and a DOCTYPE. */
static const char *skip_prolog(const char *s)
{
    if (!strncmp(s, "\xEF\xBB\xBF", 3))
        s += 3;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        const char *end = NULL;
        if (!strncmp(s, "<?", 2))
            end = strstr(s, "?>");
        else if (!strncmp(s, "<!--", 4))
            end = strstr(s, "-->");
        else if (!strncmp(s, "<!DOCTYPE", 9))
            end = doctype_end(s);
        else
            return s;
        if (!end)
            return s;
        s = end + (s[1] == '?' ? 2 : s[1] == '!' && s[2] == '-' ? 3 : 1);
    }
}

int text_is_ssml(const char *text)
{
    if (!text)
        return 0;
    const char *s = skip_prolog(text);
    return !strncmp(s, "<speak", 6) && (s[6] == '>' || s[6] == ' ' || s[6] == '\t' ||
                                        s[6] == '\n' || s[6] == '\r' || s[6] == '/');
}

/* ------------------------------------------------------- say-as helpers */

static const char *const letter_ipa[26] = {
    "ˈeɪ", "bˈiː", "sˈiː", "dˈiː", "ˈiː", "ˈɛf", "dʒˈiː", "ˈeɪtʃ", "ˈaɪ", "dʒˈeɪ",
    "kˈeɪ", "ˈɛl", "ˈɛm", "ˈɛn", "ˈoʊ", "pˈiː", "kjˈuː", "ˈɑːɹ", "ˈɛs", "tˈiː",
    "jˈuː", "vˈiː", "dˈʌbəljˌuː", "ˈɛks", "wˈaɪ", "zˈiː",
};
static const char *const digit_word[10] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
};

/* Spell s: letters by name (IPA), digits as words, other characters as
 * text (the normalizer names symbols such as & + @ %). */
static void say_characters(reader *r, const char *s)
{
    text_buf ipa = {0}, txt = {0};
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = text_utf8_decode(u + i, n - i, &cp);
        if (!l) { i++; continue; }
        int letter = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
        if (letter) {
            if (txt.len) {
                add_item(r, TEXT_ITEM_TEXT, txt.data, txt.len, 0);
                txt.len = 0;
            }
            if (ipa.len) text_buf_putc(&ipa, ' ');
            text_buf_puts(&ipa, letter_ipa[(cp | 0x20) - 'a']);
        } else if (cp != ' ' && cp != '\t' && cp != '\n' && cp != '\r') {
            if (ipa.len) {
                add_item(r, TEXT_ITEM_IPA, ipa.data, ipa.len, 0);
                ipa.len = 0;
            }
            if (txt.len) text_buf_putc(&txt, ' ');
            if (cp >= '0' && cp <= '9') text_buf_puts(&txt, digit_word[cp - '0']);
            else text_buf_put(&txt, s + i, l);
        }
        i += l;
    }
    if (ipa.failed || txt.failed) r->failed = 1;
    if (ipa.len) add_item(r, TEXT_ITEM_IPA, ipa.data, ipa.len, 0);
    if (txt.len) add_item(r, TEXT_ITEM_TEXT, txt.data, txt.len, 0);
    text_buf_free(&ipa);
    text_buf_free(&txt);
}

/* The digits of s (commas and spaces between digit groups allowed) into
 * d (cap bytes); returns their count, 0 when s is something else.  *neg
 * (may be NULL) gets a leading minus; suffix (may be NULL) may follow. */
static size_t digits_of(const char *s, char *d, size_t cap, int *neg, const char *const *suffixes)
{
    while (*s == ' ') s++;
    if (neg) *neg = 0;
    if (neg && (*s == '-' || *s == '+')) { *neg = *s == '-'; s++; }
    size_t n = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (n + 1 >= cap) return 0;
            d[n++] = *s;
        } else if ((*s == ',' || *s == ' ') && n) {
            continue;
        } else {
            break;
        }
    }
    if (suffixes && *s)
        for (const char *const *x = suffixes; *x; x++)
            if (!strcasecmp(s, *x)) { s += strlen(s); break; }
    while (*s == ' ') s++;
    if (*s) return 0;
    d[n] = 0;
    return n;
}

static void emit_buf(reader *r, text_buf *b)
{
    if (b->failed) r->failed = 1;
    else if (b->len) add_item(r, TEXT_ITEM_TEXT, b->data, b->len, 0);
    text_buf_free(b);
}

static void say_number(reader *r, const char *s, int ordinal)
{
    static const char *const ord_suffix[] = {"st", "nd", "rd", "th", NULL};
    char d[64];
    int neg = 0;
    size_t n = digits_of(s, d, sizeof d, ordinal ? NULL : &neg, ordinal ? ord_suffix : NULL);
    if (!n) {  /* not a plain number: the normalizer reads it */
        add_item(r, TEXT_ITEM_TEXT, s, strlen(s), 0);
        return;
    }
    size_t z = 0;  /* leading zeros would be read digit by digit */
    while (z + 1 < n && d[z] == '0') z++;
    text_buf b = {0};
    if (neg) text_buf_puts(&b, "minus ");
    if (ordinal) text_num_ordinal(&b, d + z, n - z);
    else text_num_cardinal(&b, d + z, n - z);
    emit_buf(r, &b);
}

static const char *const month_name[12] = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
};

/* A date "2024-05-12", "12/05/2024", "5.12.24"; format: the order of the
 * fields (d, m, y), "mdy" by default ("ymd" when the first field has four
 * digits).  Read as "May twelfth, twenty twenty-four". */
static void say_date(reader *r, const char *s, const char *format, long line)
{
    char f[3][8];
    int nf = 0;
    const char *p = s;
    while (*p == ' ') p++;
    while (*p && nf < 3) {
        size_t k = 0;
        while (p[k] >= '0' && p[k] <= '9') k++;
        if (k == 0 || k > 4) break;
        memcpy(f[nf], p, k);
        f[nf++][k] = 0;
        p += k;
        if (*p == '-' || *p == '/' || *p == '.') p++;
        else break;
    }
    while (*p == ' ') p++;
    char order[4] = "mdy";
    if (format && *format) {
        size_t fl = strlen(format);
        int ok = fl >= 1 && fl <= 3;
        for (size_t i = 0; ok && i < fl; i++)
            ok = strchr("dmy", format[i]) && !memchr(format, format[i], i);
        if (ok) snprintf(order, sizeof order, "%s", format);
        else warn(r, "line %ld: <say-as format=\"%.40s\">: not a date format (mdy, dmy, ymd, "
                  "md, dm, ym, my); read as mdy", line, format);
    } else if (nf == 3 && strlen(f[0]) == 4) {
        strcpy(order, "ymd");
    }
    int ok = !*p && nf == (int)strlen(order);
    long day = 0, month = 0;
    const char *year = NULL;
    for (int i = 0; ok && i < nf; i++) {
        if (order[i] == 'd') { day = atol(f[i]); ok = day >= 1 && day <= 31; }
        else if (order[i] == 'm') { month = atol(f[i]); ok = month >= 1 && month <= 12; }
        else year = f[i];
    }
    if (!ok) {
        warn(r, "line %ld: <say-as interpret-as=\"date\">%.40s: not a date in the order %s; read as text",
             line, s, order);
        add_item(r, TEXT_ITEM_TEXT, s, strlen(s), 0);
        return;
    }
    text_buf b = {0};
    if (month) text_buf_puts(&b, month_name[month - 1]);
    if (day) {
        char dd[4];
        snprintf(dd, sizeof dd, "%ld", day);
        if (b.len) text_buf_putc(&b, ' ');
        text_num_ordinal(&b, dd, strlen(dd));
    }
    if (year) {
        if (b.len) text_buf_puts(&b, day ? ", " : " ");
        size_t yl = strlen(year);
        if (yl == 4 && year[0] != '0') text_num_year(&b, year);
        else if (yl == 2) { char y4[5] = {'2', '0', year[0], year[1], 0}; text_num_year(&b, y4); }
        else text_num_cardinal(&b, year, yl);
    }
    emit_buf(r, &b);
}

/* A telephone number: digits one by one, groups separated by pauses. */
static void say_telephone(reader *r, const char *s)
{
    text_buf b = {0};
    int group = 0;  /* digits in the current group */
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (b.len) text_buf_putc(&b, ' ');
            text_buf_puts(&b, digit_word[*p - '0']);
            group++;
        } else if (*p == '+' && !b.len) {
            text_buf_puts(&b, "plus");
        } else if ((*p == '-' || *p == ' ' || *p == '.' || *p == '(' || *p == ')' || *p == '/') &&
                   group) {
            text_buf_putc(&b, ',');
            group = 0;
        } else if (*p != '-' && *p != ' ' && *p != '.' && *p != '(' && *p != ')' && *p != '/') {
            if (b.len) text_buf_putc(&b, ' ');
            text_buf_putc(&b, *p);  /* letters of vanity numbers, x for extension */
            group = 0;
        }
    }
    while (b.len && b.data[b.len - 1] == ',') b.data[--b.len] = 0;
    emit_buf(r, &b);
}

/* ------------------------------------------------------------ SSML */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void) { xmlInitParser(); }

static const char *attr(xmlNode *n, const char *name, char **hold)
{
    *hold = (char *)xmlGetNoNsProp(n, (const xmlChar *)name);
    return *hold;
}

/* "500ms", "1.5s", "2" (seconds) -> seconds, or -1. */
static float parse_time(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0) || !isfinite(v)) return -1;
    while (*end == ' ') end++;
    if (!strcmp(end, "ms")) v /= 1000;
    else if (strcmp(end, "s") && *end) return -1;
    return v > 1e6 ? 1e6f : (float)v;  /* the caller clamps to 10 s, with a warning */
}

static float strength_seconds(const char *s)
{
    static const struct { const char *name; float sec; } t[] = {
        {"none", 0}, {"x-weak", 0.1f}, {"weak", 0.2f}, {"medium", 0.4f}, {"strong", 0.7f},
        {"x-strong", 1.2f},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) return t[i].sec;
    return -1;
}

/* A rate attribute -> factor, or -1. */
static float parse_rate(const char *s)
{
    static const struct { const char *name; float f; } t[] = {
        {"x-slow", 0.6f}, {"slow", 0.8f}, {"medium", 1}, {"default", 1}, {"fast", 1.25f},
        {"x-fast", 1.6f},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) return t[i].f;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v)) return -1;
    if (!strcmp(end, "%")) v = (s[0] == '+' || s[0] == '-') ? 1 + v / 100 : v / 100;
    else if (*end) return -1;
    return v > 0 ? (float)v : -1;
}

/* A volume attribute -> factor, or -1. */
static float parse_volume(const char *s)
{
    static const struct { const char *name; float f; } t[] = {
        {"silent", 0}, {"x-soft", 0.25f}, {"soft", 0.5f}, {"medium", 1}, {"default", 1},
        {"loud", 1.5f}, {"x-loud", 2},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) return t[i].f;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v)) return -1;
    if (!strcasecmp(end, "dB")) v = pow(10.0, v / 20);
    else if (!strcmp(end, "%")) v = (s[0] == '+' || s[0] == '-') ? 1 + v / 100 : v / 100;
    else return -1;
    return v >= 0 ? (float)v : -1;
}

/* The first parse error (libxml2 reports the last one; later ones follow
 * from the first). */
typedef struct first_error {
    int set;
    long line, col;
    char msg[300];
} first_error;

static void on_xml_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = data;
    first_error *fe = ctxt ? ctxt->_private : NULL;
    if (!fe || fe->set || !e || e->level < XML_ERR_ERROR) return;
    fe->set = 1;
    fe->line = e->line;
    fe->col = e->int2;
    snprintf(fe->msg, sizeof fe->msg, "%s", e->message ? e->message : "not well-formed");
}

static void walk(reader *r, xmlNode *n);

static void element(reader *r, xmlNode *n)
{
    const char *name = (const char *)n->name;
    long line = xmlGetLineNo(n);
    char *h1 = NULL, *h2 = NULL;
    if (!strcmp(name, "s")) {
        add_item(r, TEXT_ITEM_END, NULL, 0, -1);
        walk(r, n);
        add_item(r, TEXT_ITEM_END, NULL, 0, -1);
    } else if (!strcmp(name, "p")) {
        add_item(r, TEXT_ITEM_END, NULL, 0, -1);
        walk(r, n);
        add_item(r, TEXT_ITEM_END, NULL, 0, 0.5f);
    } else if (!strcmp(name, "break")) {
        const char *t = attr(n, "time", &h1), *st = attr(n, "strength", &h2);
        float sec = 0.4f;  /* medium */
        if (st) {
            float v = strength_seconds(st);
            if (v < 0) warn(r, "line %ld: <break strength=\"%.40s\">: not a strength (none, x-weak, "
                            "weak, medium, strong, x-strong)", line, st);
            else sec = v;
        }
        if (t) {
            float v = parse_time(t);
            if (v < 0) warn(r, "line %ld: <break time=\"%.40s\">: not a time (\"500ms\", \"1.5s\")", line, t);
            else if (v > 10) warn(r, "line %ld: <break time=\"%.40s\">: longer than 10 s: clamped to 10 s", line, t);
            sec = v < 0 ? sec : v > 10 ? 10.0f : v;
        }
        add_item(r, TEXT_ITEM_BREAK, NULL, 0, sec);
    } else if (!strcmp(name, "prosody")) {
        float rate = r->rate, volume = r->volume;
        const char *ra = attr(n, "rate", &h1), *vo = attr(n, "volume", &h2);
        if (ra) {
            float f = parse_rate(ra);
            if (f < 0) warn(r, "line %ld: <prosody rate=\"%.40s\">: not a rate (x-slow ... x-fast, "
                            "150%%, +20%%, 1.5)", line, ra);
            else r->rate = rate * f;
            if (f >= 0 && (r->rate < 0.25f || r->rate > 4.0f)) {
                warn(r, "line %ld: <prosody rate=\"%.40s\">: %g times the pace is outside 0.25-4: clamped to %g",
                     line, ra, (double)r->rate, r->rate < 0.25f ? 0.25 : 4.0);
                r->rate = r->rate < 0.25f ? 0.25f : 4.0f;
            }
        }
        if (vo) {
            float f = parse_volume(vo);
            if (f < 0) warn(r, "line %ld: <prosody volume=\"%.40s\">: not a volume (silent ... x-loud, "
                            "+6dB, 50%%)", line, vo);
            else r->volume = volume * f;
            if (f >= 0 && r->volume > 4.0f) {
                warn(r, "line %ld: <prosody volume=\"%.40s\">: %g times the loudness is above 4: clamped to 4",
                     line, vo, (double)r->volume);
                r->volume = 4.0f;
            }
        }
        walk(r, n);
        r->rate = rate;
        r->volume = volume;
    } else if (!strcmp(name, "say-as")) {
        const char *as = attr(n, "interpret-as", &h1), *fmt = attr(n, "format", &h2);
        char *content = (char *)xmlNodeGetContent(n);
        const char *c = content ? content : "";
        if (!as) {
            add_text_spans(r, c, strlen(c), line);
        } else if (!strcmp(as, "characters") || !strcmp(as, "spell-out") || !strcmp(as, "letters")) {
            say_characters(r, c);
        } else if (!strcmp(as, "cardinal") || !strcmp(as, "number")) {
            say_number(r, c, fmt && !strcmp(fmt, "ordinal"));
        } else if (!strcmp(as, "ordinal")) {
            say_number(r, c, 1);
        } else if (!strcmp(as, "date")) {
            say_date(r, c, fmt, line);
        } else if (!strcmp(as, "telephone")) {
            say_telephone(r, c);
        } else {
            warn(r, "line %ld: <say-as interpret-as=\"%.40s\">: not supported; read as text", line, as);
            add_text_spans(r, c, strlen(c), line);
        }
        xmlFree(content);
    } else if (!strcmp(name, "phoneme")) {
        const char *al = attr(n, "alphabet", &h1), *ph = attr(n, "ph", &h2);
        if (al && strcmp(al, "ipa")) {
            warn(r, "line %ld: <phoneme alphabet=\"%.40s\">: only \"ipa\" is supported; the text is read",
                 line, al);
            walk(r, n);
        } else if (!ph || !*ph) {
            warn(r, "line %ld: <phoneme> without ph: the text is read", line);
            walk(r, n);
        } else {
            add_item(r, TEXT_ITEM_IPA, ph, strlen(ph), 0);
        }
    } else if (!strcmp(name, "sub")) {
        const char *alias = attr(n, "alias", &h1);
        if (alias) add_text_spans(r, alias, strlen(alias), line);
        else walk(r, n);
    } else {
        /* speak, mark, voice, emphasis, audio (its fallback text), lang, ...:
         * read for their text */
        walk(r, n);
    }
    xmlFree(h1);
    xmlFree(h2);
}

static void walk(reader *r, xmlNode *n)
{
    for (xmlNode *k = n->children; k && !r->failed; k = k->next) {
        if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) {
            const char *s = (const char *)k->content;
            if (s) add_text_spans(r, s, strlen(s), xmlGetLineNo(k));
        } else if (k->type == XML_ELEMENT_NODE) {
            element(r, k);
        } else if (k->type == XML_ENTITY_REF_NODE) {
            warn(r, "line %ld: the entity &%.40s; is not expanded", xmlGetLineNo(k), (const char *)k->name);
        }
    }
}

/* Malformed SSML as plain text: tags removed, character references and the
 * five predefined entities decoded. */
static tts_status strip_tags(const char *s, text_buf *b)
{
    static const struct { const char *ent; const char *rep; } ents[] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"},
    };
    while (*s) {
        if (*s == '<') {
            const char *e = strchr(s, '>');
            if (e) {
                text_buf_putc(b, ' ');
                s = e + 1;
                continue;
            }
            s++;  /* a lone '<' */
            continue;
        }
        if (*s == '&') {
            int done = 0;
            for (size_t i = 0; i < sizeof ents / sizeof ents[0] && !done; i++) {
                size_t l = strlen(ents[i].ent);
                if (!strncmp(s, ents[i].ent, l)) {
                    text_buf_puts(b, ents[i].rep);
                    s += l;
                    done = 1;
                }
            }
            if (!done && s[1] == '#') {
                char *end;
                unsigned long cp = s[2] == 'x' || s[2] == 'X' ? strtoul(s + 3, &end, 16)
                                                                : strtoul(s + 2, &end, 10);
                if (*end == ';' && cp >= 0x20 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
                    char u[5] = {0};
                    if (cp < 0x80) u[0] = (char)cp;
                    else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 63)); }
                    else if (cp < 0x10000) { u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 63));
                                             u[2] = (char)(0x80 | (cp & 63)); }
                    else { u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 63));
                           u[2] = (char)(0x80 | (cp >> 6 & 63)); u[3] = (char)(0x80 | (cp & 63)); }
                    text_buf_puts(b, u);
                    s = end + 1;
                    done = 1;
                }
            }
            if (done) continue;
        }
        text_buf_putc(b, *s++);
    }
    return b->failed ? TTS_ERR_NOMEM : TTS_OK;
}

tts_status text_markup_ssml(const char *ssml, text_items *out)
{
    memset(out, 0, sizeof *out);
    if (!ssml)
        return TTS_ERR_INVALID_ARG;
    if (check_utf8(ssml) != TTS_OK)
        return TTS_ERR_UTF8;
    pthread_once(&xml_once, xml_init);
    reader r = {out, 1, 1, 0, 0};
    /* without a <speak> root the text is wrapped in one */
    char *wrapped = NULL;
    const char *doc_text = ssml;
    if (!text_is_ssml(ssml)) {
        size_t n = strlen(ssml);
        wrapped = malloc(n + 16);
        if (!wrapped) return TTS_ERR_NOMEM;
        memcpy(wrapped, "<speak>", 7);
        memcpy(wrapped + 7, ssml, n);
        memcpy(wrapped + 7 + n, "</speak>", 9);
        doc_text = wrapped;
        r.line_offset = 7;
    }
    size_t len = strlen(doc_text);
    xmlParserCtxtPtr ctxt = len <= 0x7fffffff ? xmlNewParserCtxt() : NULL;
    xmlDocPtr doc = NULL;
    first_error fe = {0};
    if (ctxt) {
        ctxt->_private = &fe;
        if (ctxt->sax) ctxt->sax->serror = on_xml_error;
    }
    if (ctxt)
        doc = xmlCtxtReadMemory(ctxt, doc_text, (int)len, NULL, "UTF-8",
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!ctxt) {
        free(wrapped);
        return TTS_ERR_NOMEM;
    }
    if (doc && ctxt->wellFormed) {
        xmlNode *root = xmlDocGetRootElement(doc);
        if (root && strcmp((const char *)root->name, "speak"))
            warn(&r, "line %ld: the root element is <%.40s>, not <speak>; read all the same",
                 xmlGetLineNo(root), (const char *)root->name);
        if (root) element(&r, root);
    } else {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[300] = "not well-formed";
        long line = 1, col = 0;
        if (fe.set) {
            snprintf(msg, sizeof msg, "%s", fe.msg);
            line = fe.line;
            col = fe.col;
        } else if (e) {
            snprintf(msg, sizeof msg, "%s", e->message ? e->message : "not well-formed");
            line = e->line;
            col = e->int2;
        }
        size_t ml = strlen(msg);
        while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' ')) msg[--ml] = 0;
        if (line == 1 && col > r.line_offset) col -= r.line_offset;
        warn(&r, "line %ld, column %ld: %s; the text was read as plain text without its tags",
             line, col, msg);
        /* start again from the plain text */
        for (size_t i = 0; i < out->n; i++) free(out->v[i].s);
        out->n = 0;
        text_buf b = {0};
        if (strip_tags(ssml, &b) != TTS_OK) r.failed = 1;
        else add_text_spans(&r, b.data ? b.data : "", b.len, 0);
        text_buf_free(&b);
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    free(wrapped);
    if (r.failed) {
        text_items_free(out);
        return TTS_ERR_NOMEM;
    }
    return TTS_OK;
}
