/*
 * numbers.c - English words for numbers: cardinals ("one thousand two
 * hundred"), ordinals ("twenty-second"), years ("nineteen oh eight") and
 * digit-by-digit reading.  Numbers are given as ASCII digit strings, so any
 * length is safe: past TEXT_NUM_MAX_DIGITS digits they are read digit by
 * digit and nothing ever overflows.  American style: no "and" after
 * "hundred".
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "text/text.h"

static const char *const ones[20] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const tens[10] = {
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
    "ninety"};
/* scales[k] names 1000^k */
static const char *const scales[7] = {
    "", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion"};

void text_num_small(text_buf *b, unsigned v)
{
    if (v >= 1000) {
        text_buf_puts(b, "?");
        return;
    }
    if (v >= 100) {
        text_buf_puts(b, ones[v / 100]);
        text_buf_puts(b, " hundred");
        v %= 100;
        if (v == 0)
            return;
        text_buf_putc(b, ' ');
    }
    if (v < 20) {
        text_buf_puts(b, ones[v]);
        return;
    }
    text_buf_puts(b, tens[v / 10]);
    if (v % 10) {
        text_buf_putc(b, '-');
        text_buf_puts(b, ones[v % 10]);
    }
}

void text_num_digits(text_buf *b, const char *digits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            text_buf_putc(b, ' ');
        text_buf_puts(b, ones[digits[i] - '0']);
    }
}

void text_num_cardinal(text_buf *b, const char *digits, size_t n)
{
    if (n == 0)
        return;
    if (n > TEXT_NUM_MAX_DIGITS || (n > 1 && digits[0] == '0')) {
        text_num_digits(b, digits, n);
        return;
    }
    if (n == 1 && digits[0] == '0') {
        text_buf_puts(b, "zero");
        return;
    }
    size_t n_groups = (n + 2) / 3, first = n - (n_groups - 1) * 3, at = 0;
    int said = 0;
    for (size_t g = 0; g < n_groups; g++) {
        size_t len = g == 0 ? first : 3;
        unsigned v = 0;
        for (size_t k = 0; k < len; k++)
            v = v * 10 + (unsigned)(digits[at + k] - '0');
        at += len;
        if (v == 0)
            continue;
        if (said)
            text_buf_putc(b, ' ');
        text_num_small(b, v);
        size_t scale = n_groups - 1 - g;
        if (scale) {
            text_buf_putc(b, ' ');
            text_buf_puts(b, scales[scale]);
        }
        said = 1;
    }
}

/* Ordinal of the last word of b from position start on ("one" -> "first"). */
static void ordinalize_tail(text_buf *b, size_t start)
{
    static const struct { const char *card, *ord; } irregular[] = {
        {"one", "first"}, {"two", "second"}, {"three", "third"},
        {"five", "fifth"}, {"eight", "eighth"}, {"nine", "ninth"},
        {"twelve", "twelfth"}};
    if (b->failed || b->len <= start)
        return;
    size_t w = b->len;
    while (w > start && b->data[w - 1] != ' ' && b->data[w - 1] != '-')
        w--;
    const char *word = b->data + w;
    for (size_t i = 0; i < sizeof irregular / sizeof irregular[0]; i++) {
        if (strcmp(word, irregular[i].card) == 0) {
            b->len = w;
            b->data[w] = '\0';
            text_buf_puts(b, irregular[i].ord);
            return;
        }
    }
    if (b->len > w && b->data[b->len - 1] == 'y') {
        b->len--;
        b->data[b->len] = '\0';
        text_buf_puts(b, "ieth");
        return;
    }
    text_buf_puts(b, "th");
}

void text_num_ordinal(text_buf *b, const char *digits, size_t n)
{
    size_t start = b->len;
    text_num_cardinal(b, digits, n);
    ordinalize_tail(b, start);
}

void text_num_year(text_buf *b, const char *d)
{
    unsigned hi = (unsigned)((d[0] - '0') * 10 + (d[1] - '0'));
    unsigned lo = (unsigned)((d[2] - '0') * 10 + (d[3] - '0'));
    if (d[0] == '0' || (hi % 10 == 0 && lo < 10) || (hi == 20 && lo < 10)) {
        /* 2000 "two thousand", 2008 "two thousand eight", 1005 */
        text_num_cardinal(b, d[0] == '0' ? d + 1 : d, d[0] == '0' ? 3 : 4);
        return;
    }
    text_num_small(b, hi);
    text_buf_putc(b, ' ');
    if (lo == 0) {
        text_buf_puts(b, "hundred");
    } else if (lo < 10) {
        text_buf_puts(b, "oh ");
        text_num_small(b, lo);
    } else {
        text_num_small(b, lo);
    }
}
