/*
 * fuzz_speechd.c - libFuzzer target for the speech-dispatcher module's
 * protocol reader (src/cli/sd_tts.c, included whole with its main renamed).
 * Each input is the server's side of a session after INIT: command lines
 * (SPEAK, CHAR, KEY, SOUND_ICON with data lines up to ".", SET/AUDIO/LOGLEVEL
 * with "key=value" lines, STOP, LIST VOICES, QUIT ...).  The worker thread is
 * not started and no voice is loaded: a message handed to the worker is
 * turned into its SSML (CHAR and KEY messages), checked, and dropped, as if
 * spoken at once.  The invariants:
 *   1. every line the module writes is a protocol line: three digits, then
 *      '-' or ' ' (no client data can start a line of its own: issue 21);
 *   2. the SSML made of CHAR and KEY messages is well-formed (the markup
 *      reader gives no warning) and starts with <speak>;
 *   3. a synthesis_voice is never a path.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define main sd_tts_main
#include "../../src/cli/sd_tts.c"
#undef main

#include <fcntl.h>

#include "fuzz.h"
#include "text/text.h"

static int out_fd = -1;  /* a scratch file on descriptor 1: what the module says */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char p[256];
    snprintf(p, sizeof p, "%s/out", fuzz_scratch());
    out_fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (out_fd < 0) abort();
    setenv("TTS_VOICE_PATH", fuzz_scratch(), 1);  /* no voices: every SET synthesis_voice is refused */
    snprintf(cfg.voice, sizeof cfg.voice, "slt");
    return 0;
}

static void check_output(void)
{
    off_t n = lseek(STDOUT_FILENO, 0, SEEK_CUR);
    FUZZ_CHECK(n >= 0);
    char *buf = malloc((size_t)n + 1);
    FUZZ_CHECK(buf && pread(STDOUT_FILENO, buf, (size_t)n, 0) == n);
    buf[n] = 0;
    for (char *l = buf; l < buf + n;) {
        char *e = memchr(l, '\n', (size_t)(buf + n - l));
        FUZZ_CHECK(e != NULL);  /* every message ends its lines */
        FUZZ_CHECK(e - l >= 4 && l[0] >= '0' && l[0] <= '9' && l[1] >= '0' && l[1] <= '9' &&
                   l[2] >= '0' && l[2] <= '9' && (l[3] == '-' || l[3] == ' '));
        for (char *c = l; c < e; c++)
            if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {  /* tabs part voice lists */
                fprintf(stderr, "a control character in the line: %.*s\n", (int)(e - l), l);
                FUZZ_CHECK(0);
            }
        l = e + 1;
    }
    free(buf);
}

/* What the worker would speak: CHAR and KEY become well-formed SSML. */
static void take_job(void)
{
    char *ssml = message_ssml(job_text, job_type);
    if (job_type == MSG_TEXT) {
        FUZZ_CHECK(ssml == NULL);
    } else if (ssml) {
        FUZZ_CHECK(!strncmp(ssml, "<speak>", 7));
        text_items it;
        if (text_markup_ssml(ssml, &it) == TTS_OK) {
            if (it.warning) fprintf(stderr, "malformed SSML from a %s message: %s\n%s\n",
                                    job_type == MSG_KEY ? "KEY" : "CHAR", it.warning, ssml);
            FUZZ_CHECK(it.warning == NULL);
            text_items_free(&it);
        }
        free(ssml);
    }
    free(job_text);
    job_text = NULL;
    speaking = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    /* fresh state: settings, the output file, standard input from data */
    set_rate = 0;
    set_volume = 100;
    set_voice[0] = 0;
    speaking = 0;
    atomic_store(&stop_flag, 0);
    if (dup2(out_fd, STDOUT_FILENO) < 0 || ftruncate(STDOUT_FILENO, 0) != 0 || lseek(STDOUT_FILENO, 0, SEEK_SET) != 0)
        abort();
    FILE *in = fmemopen(n ? (void *)data : (void *)"", n ? n : 1, "r");
    if (!in) abort();
    FILE *saved = stdin;
    stdin = in;
    char *l;
    while ((l = read_line())) {
        int quit = serve_command(l);
        if (job_text) take_job();
        FUZZ_CHECK(!strchr(set_voice, '/'));
        if (quit) break;
    }
    stdin = saved;
    fclose(in);
    check_output();
    return 0;
}
