/*
 * tool_normalize.c - the normalizer as a filter, for scripts: each line of
 * standard input is normalized on its own (text_normalize_lang) and printed
 * on one line, an empty line when nothing speakable is left.  A line the
 * normalizer refuses (invalid UTF-8) prints "#ERROR <status>" so the line
 * count stays aligned.  scripts/eval-text.py drives it.
 *
 *   build/tests/tool_normalize [--lang LANG] < lines.txt
 *
 * Exit 0, or 1 on a usage or read error.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

int main(int argc, char **argv)
{
    const char *lang = NULL; /* English */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lang") && i + 1 < argc) {
            lang = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--lang LANG] < lines\n", argv[0]);
            return 1;
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        char *out = NULL;
        tts_status st = text_normalize_lang(lang, line, (size_t)n, &out);
        if (st == TTS_OK)
            puts(out);
        else
            printf("#ERROR %d\n", (int)st);
        free(out);
    }
    free(line);
    if (ferror(stdin)) {
        perror("stdin");
        return 1;
    }
    return 0;
}
