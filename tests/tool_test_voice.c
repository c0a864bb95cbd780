/*
 * tool_test_voice.c - write a random test voice for the CLI tests and
 * benchmarks: DIR/voices/NAME.json and DIR/models/NAME.safetensors (see
 * test_voice.h).  Not a voice anyone should listen to.
 *
 *   build/tests/tool_test_voice DIR [NAME] [--full]
 *
 * Prints the voice file's path.  Exit 0, or 1 with a message.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "test_voice.h"

int main(int argc, char **argv)
{
    const char *dir = NULL, *name = "testvoice";
    int full = 0, n_pos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--full")) full = 1;
        else if (n_pos == 0) dir = argv[i], n_pos++;
        else if (n_pos == 1) name = argv[i], n_pos++;
        else dir = NULL;
    }
    if (!dir) {
        fprintf(stderr, "usage: %s DIR [NAME] [--full]\n", argv[0]);
        return 1;
    }
    char path[4096];
    if (test_voice_mkdir(dir) || test_voice_write(dir, name, full, path, sizeof path)) {
        fprintf(stderr, "%s: cannot write a test voice in '%s'\n", argv[0], dir);
        return 1;
    }
    puts(path);
    return 0;
}
