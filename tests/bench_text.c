/*
 * bench_text.c - throughput of the English normalizer (text_normalize) on
 * one core, in characters of input per second.  The text mixes plain prose
 * with the forms the expansion pass rewrites (numbers, money, dates, times,
 * abbreviations, units, Roman numerals), so both the copy path and the rules
 * are timed.  Goal: above 500 k characters/s (espeak-ng reads 600-800 k/s,
 * so the normalizer must not become the front end's bottleneck).  Prints the
 * best of a few runs; exit 1 only when the normalizer fails.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/text.h"

static const char *PARAGRAPH =
    "The old lighthouse keeper climbed the stairs every single evening, and from the top "
    "he could see the whole bay. On March 16, 1908, Mr. and Mrs. Jones paid $3.50 for 12 "
    "apples at 10:30 a.m. on Main St. near the U.S. Post Office; Dr. Smith (Chapter IV) "
    "wrote that 50% of the 1,200 voters in the 1990s lived 5 km away, at 72\xC2\xB0" "F. "
    "Henry VIII married six times between 1509 and 1547, etc. Call 555-1234 or write to "
    "info@example.com before 12/05/2024. It weighed 3.5 kg, about 7.7 lbs, and cost "
    "\xC2\xA3" "20 or \xE2\x82\xAC" "1,200. The meeting ran from 9-11 am on the 3rd floor. ";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best-of-5 throughput of text_normalize on text, in characters/s; < 0 on
 * failure.  *out_len gets the output length. */
static double measure(const char *text, size_t *out_len)
{
    double best = 1e30;
    for (int run = 0; run < 5; run++) {
        double t = now();
        char *out = NULL;
        if (text_normalize(text, &out) != TTS_OK)
            return -1;
        t = now() - t;
        *out_len = strlen(out);
        free(out);
        if (t < best)
            best = t;
    }
    return (double)strlen(text) / best;
}

/* about 100 kB of a pattern repeated */
static char *repeat(const char *pattern)
{
    size_t pl = strlen(pattern), reps = 100000 / pl + 1;
    char *text = malloc(pl * reps + 1);
    if (!text)
        return NULL;
    for (size_t k = 0; k < reps; k++)
        memcpy(text + k * pl, pattern, pl);
    text[pl * reps] = '\0';
    return text;
}

int main(void)
{
    /* prose with every kind of rule, then hostile runs that would show a
     * scan growing with the length of the text: no spaces at all, endless
     * numbers, dotted letters, ranges and units */
    static const struct { const char *name, *pattern; } texts[] = {
        {"prose with numbers, money, dates, units", NULL},
        {"one 100 kB word", "abcdefghij"},
        {"digits, dashes and dots", "1-2.3,4/5:6-"},
        {"dotted letters and initials", "a.b.c.d.e. I. V. X. "},
        {"numbers with units and ranges", "1 km-2 ft 3 in. 4x5 $6m-7 "},
        {"one 100 kB number", "1234567890"},
    };
    int fail = 0;
    printf("bench_text: the normalizer on one core, best of 5 (goal > 500 k characters/s)\n");
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        char *text = repeat(texts[k].pattern ? texts[k].pattern : PARAGRAPH);
        size_t out_len = 0;
        double cps = text ? measure(text, &out_len) : -1;
        if (cps < 0) {
            fprintf(stderr, "bench_text: text_normalize failed on %s\n", texts[k].name);
            fail = 1;
        } else {
            printf("  %-42s %7zu chars in, %7zu out: %8.0f k characters/s\n", texts[k].name,
                   strlen(text), out_len, cps / 1000.0);
        }
        free(text);
    }
    return fail;
}
