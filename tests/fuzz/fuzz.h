/*
 * fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz/: a
 * private scratch folder (removed at exit) and writing the fuzz input to a
 * file in it.  Each target defines LLVMFuzzerTestOneInput; built with
 * -fsanitize=fuzzer by `make fuzz`, or with replay.c's main by `make test`
 * to replay the saved regression inputs.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_FUZZ_H
#define TTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* abort() on a broken invariant: libFuzzer and the replay both report it */
#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

static char fuzz_dir[64];

static void fuzz_dir_remove(void)
{
    if (!fuzz_dir[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (system(cmd) != 0) { /* nothing to do: it is /tmp */ }
}

/* A scratch folder for this process: /tmp/tts-fuzz-XXXXXX. */
__attribute__((unused)) static const char *fuzz_scratch(void)
{
    if (!fuzz_dir[0]) {
        snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/tts-fuzz-XXXXXX");
        if (!mkdtemp(fuzz_dir)) { perror("mkdtemp"); abort(); }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir;
}

__attribute__((unused)) static void fuzz_write(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) { perror(path); abort(); }
}

#endif
