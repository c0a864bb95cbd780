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

int main(void)
{
    /* about 100 kB of text, normalized as one input (as tts -f reads a file) */
    size_t pl = strlen(PARAGRAPH), reps = 100000 / pl + 1;
    char *text = malloc(pl * reps + 1);
    if (!text)
        return 1;
    for (size_t k = 0; k < reps; k++)
        memcpy(text + k * pl, PARAGRAPH, pl);
    text[pl * reps] = '\0';
    size_t n = pl * reps;
    double best = 1e30;
    size_t out_len = 0;
    for (int run = 0; run < 5; run++) {
        double t = now();
        char *out = NULL;
        if (text_normalize(text, &out) != TTS_OK) {
            fprintf(stderr, "bench_text: text_normalize failed\n");
            free(text);
            return 1;
        }
        t = now() - t;
        out_len = strlen(out);
        free(out);
        if (t < best)
            best = t;
    }
    printf("bench_text: normalizer, %zu characters in, %zu out: %.0f k characters/s "
           "(best of 5; goal > 500 k)\n", n, out_len, (double)n / best / 1000.0);
    free(text);
    return 0;
}
