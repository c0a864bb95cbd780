/*
 * test_robust.c - hostile input, broken files and faults, through the
 * library: every case gets its own status code, a message that says what
 * and where, and no crash, hang, noise or lost output.
 *
 *   text:    invalid UTF-8, NUL bytes, control characters, 10 MB of text, a
 *            100,000-character word, only punctuation or spaces, emoji and
 *            other scripts (left out with one warning), numbers with
 *            hundreds of digits, deeply nested brackets and quotes;
 *   files:   missing, truncated, corrupt and mismatched models and voice files;
 *   outputs: a folder that is not there or not writable, a full disk (a
 *            64 KB tmpfs when mounting is allowed), a directory, a device, a
 *            pipe (written directly, never renamed over); no audio device;
 *   long text: a 2,000-word chapter streams one chunk per sentence of the
 *            splitter, each with audio, in bounded memory; a random model
 *            (which mostly fails to align) never emits more than the frame
 *            cap allows and reports TTS_ERR_ATTENTION.
 *
 * Voices are written by the test (tests/test_voice.h: random weights shaped
 * to align; and plain random weights), never the shipped ones.
 *
 *   build/tests/test_robust                  run the suite
 *   build/tests/test_robust --write-voice DIR
 *                                            write the aligned test voice to DIR
 *                                            (for tests/test_robust.sh), print its path
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audio/audio.h"
#include "dsp/dsp.h"
#include "model/model.h"
#include "text/text.h"
#include "tts.h"
#include "test_voice.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define RATE 22050
#define MAX_SENTENCE 180 /* src/core/synth.c: longer sentences are cut */

static char dir[] = "/tmp/tts-test-robust-XXXXXX";
static char voice_path[4096], random_voice_path[4096];
static tts_voice *voice;        /* aligns: one symbol per decoder step */
static tts_voice *random_voice; /* plain random weights: mostly fails to align */

/* ---------------------------------------------------------------- helpers */

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *path, const char *s) { write_bytes(path, s, strlen(s)); }

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) { free(b); b = NULL; }
    if (b) b[len] = 0;
    fclose(f);
    if (n) *n = (size_t)len;
    return b;
}

/* A voice file next to the models folder naming model (relative to voices/). */
static void write_voice_json(const char *name, const char *body)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/voices/%s.json", dir, name);
    write_text(p, body);
}

static tts_status load_voice_named(const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/voices/%s.json", dir, name);
    tts_voice *v = NULL;
    tts_status st = tts_voice_load(p, &v);
    if (st != TTS_OK) assert_null(v);
    tts_voice_free(v);
    return st;
}

/* The plain random model: no shaping, so attention wanders and the stop gate
 * fires at random. */
static int write_random_voice(void)
{
    taco_config c = test_voice_config(0);
    taco_model *m = NULL;
    if (taco_model_new(&c, &m) != TTS_OK) return -1;
    nn_rng rng = {777};
    taco_init_random(m, &rng);
    for (int k = 0; k < c.n_mels; k++) { m->mel_mean[k] = -4.0f; m->mel_std[k] = 1.0f; }
    char p[4200];
    snprintf(p, sizeof p, "%s/models/random.safetensors", dir);
    tts_status st = taco_model_save(m, p, NULL, NULL, 0, NULL, NULL, 0);
    taco_model_free(m);
    if (st != TTS_OK) return -1;
    snprintf(random_voice_path, sizeof random_voice_path, "%s/voices/random.json", dir);
    FILE *f = fopen(random_voice_path, "w");
    if (!f) return -1;
    fprintf(f, "{\"name\": \"random\", \"espeak_voice\": \"en-us\", \"model\": \"../models/random.safetensors\"}\n");
    return fclose(f);
}

static int setup(void **state)
{
    if (!mkdtemp(dir)) return -1;
    if (test_voice_write(dir, "robust", 0, voice_path, sizeof voice_path)) return -1;
    if (write_random_voice()) return -1;
    if (tts_voice_load(voice_path, &voice) != TTS_OK || tts_voice_load(random_voice_path, &random_voice) != TTS_OK) {
        fprintf(stderr, "cannot load a test voice: %s\n", tts_last_error());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    tts_voice_free(voice);
    tts_voice_free(random_voice);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Start text; on TTS_OK stream up to max_chunks sentences (0 = all; a long
 * sentence's pieces count as one), checking each chunk: consecutive sentence numbers, finite samples in [-1, 1], the chunk's
 * text clean (no control characters, no digits).  Returns the start status;
 * *n_chunks and *n_warned (chunks with a warning) may be NULL. */
static tts_status speak(const tts_voice *v, const char *text, size_t max_chunks, size_t *n_chunks,
                        size_t *n_warned)
{
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(v, NULL, &syn), TTS_OK);
    tts_status st = tts_synth_start(syn, text);
    size_t n = 0, warned = 0;
    if (st == TTS_OK) {
        tts_chunk ch = {.size = sizeof(tts_chunk)};
        while (!max_chunks || n < max_chunks) {
            assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
            if (ch.done) break;
            assert_int_equal(ch.sentence, n);
            assert_non_null(ch.text);
            assert_true(strlen(ch.text) <= MAX_SENTENCE);
            for (const unsigned char *c = (const unsigned char *)ch.text; *c; c++)
                assert_true(*c >= 0x20 && *c != 0x7F && !(*c >= '0' && *c <= '9'));
            for (size_t i = 0; i < ch.n_samples; i++)
                assert_true(isfinite(ch.samples[i]) && fabsf(ch.samples[i]) <= 1.0f);
            if (ch.warning != TTS_OK) warned++;
            n += !ch.more;
        }
    } else {
        assert_true(tts_last_error()[0] != 0); /* a failure always says why */
    }
    tts_synth_free(syn);
    if (n_chunks) *n_chunks = n;
    if (n_warned) *n_warned = warned;
    return st;
}

/* The sentences the splitter makes of raw text, as synthesis sees them. */
static text_sentences sentences_of(const char *text)
{
    char *norm = NULL;
    assert_int_equal(text_normalize(text, &norm), TTS_OK);
    text_sentences ss = {0};
    assert_int_equal(text_split(norm, MAX_SENTENCE, &ss), TTS_OK);
    free(norm);
    return ss;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------------------------- text */

static void test_invalid_utf8(void **state)
{
    static const char *bad[] = {
        "Hello \xff world.",             /* a byte that is never UTF-8 */
        "Caf\xc3",                       /* truncated at the end */
        "Caf\xc3 au lait.",              /* truncated in the middle */
        "\xc0\xaf overlong slash.",      /* overlong form */
        "\xe0\x80\xaf overlong.",        /* overlong, three bytes */
        "\xed\xa0\x80 surrogate.",       /* UTF-16 surrogate */
        "\xf4\x90\x80\x80 beyond U+10FFFF.",
        "\x80 lone continuation.",
        "\xfe\xfe\xff\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(speak(voice, bad[i], 0, NULL, NULL), TTS_ERR_UTF8);
        assert_non_null(strstr(tts_last_error(), "UTF-8"));
        char *out = NULL;
        assert_int_equal(tts_phonemize(voice, bad[i], &out), TTS_ERR_UTF8);
        assert_null(out);
    }
}

static void test_nul_and_control(void **state)
{
    /* NUL bytes inside a buffer are dropped like other control characters */
    static const char with_nul[] = "Hel\0lo there.\0 How are\0 you?";
    char *norm = NULL;
    assert_int_equal(text_normalize_n(with_nul, sizeof with_nul - 1, &norm), TTS_OK);
    assert_non_null(strstr(norm, "Hello there."));
    assert_non_null(strstr(norm, "How are you?"));
    free(norm);
    /* every C0 control, DEL, C1 controls, an ANSI escape, bidi and zero-width marks */
    char text[512];
    size_t k = 0;
    k += (size_t)sprintf(text + k, "Hello");
    for (int c = 1; c < 0x20; c++) text[k++] = (char)c;
    k += (size_t)sprintf(text + k, "\x7f\xc2\x85\xc2\x9b there \x1b[31mred\x1b[0m, "
                                   "\xe2\x80\x8b\xe2\x80\xae\xef\xbb\xbf friend.");
    text[k] = 0;
    size_t n = 0;
    assert_int_equal(speak(voice, text, 0, &n, NULL), TTS_OK);
    assert_int_equal(n, 1);
    /* only control characters: nothing to speak */
    assert_int_equal(speak(voice, "\x01\x02\x1b\x7f\t\r\n\x0b\x0c", 0, NULL, NULL), TTS_ERR_EMPTY_TEXT);
}

/* CPU seconds of this process: a measure of work that a loaded machine does
 * not inflate, as it does wall time */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static char *repeated_text(size_t target)
{
    static const char *para[] = {
        "It was the best of times, it was the worst of times. ",
        "Dr. Smith paid $3.50 for 12 apples on 12/05/2024! ",
        "\"Really?\" she asked (twice); then, nothing. ",
        "The quick brown fox jumps over the lazy dog. ",
    };
    size_t k = 0;
    char *text = malloc(target + 64);
    assert_non_null(text);
    for (size_t i = 0; k < target; i++) {
        size_t l = strlen(para[i % 4]);
        memcpy(text + k, para[i % 4], l);
        k += l;
    }
    text[k] = 0;
    return text;
}

/* 10 MB of text is taken in time linear in its size (no quadratic step):
 * its CPU time against 1 MB's, measured in one run, well under the 100
 * times a quadratic step would give */
static void test_ten_megabytes(void **state)
{
    char *small = repeated_text(1u << 20), *text = repeated_text(10u << 20);
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    double t0 = cpu_now();
    assert_int_equal(tts_synth_start(syn, small), TTS_OK);
    double t_small = cpu_now() - t0;
    t0 = cpu_now();
    assert_int_equal(tts_synth_start(syn, text), TTS_OK);
    double t_start = cpu_now() - t0;
    printf("     tts_synth_start: 1 MB %.2f s, 10 MB %.2f s of CPU\n", t_small, t_start);
    assert_true(t_start < 30 * (t_small > 0.01 ? t_small : 0.01));
    free(small);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    for (int i = 0; i < 3; i++) { /* streaming starts at once; the rest is not needed */
        do {
            assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
            assert_false(ch.done);
            assert_int_equal(ch.sentence, (size_t)i);
        } while (ch.more);
    }
    /* a new start abandons the rest without leaking it */
    assert_int_equal(tts_synth_start(syn, "Done."), TTS_OK);
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    assert_string_equal(ch.text, "Done.");
    tts_synth_free(syn);
    free(text);
}

static void test_enormous_word(void **state)
{
    size_t n = 100000;
    char *word = malloc(n + 2);
    assert_non_null(word);
    for (size_t i = 0; i < n; i++) word[i] = "abcdefghijklmnopqrstuvwxyz"[(i * 7) % 26];
    word[n] = 0;
    /* cut into pieces of at most MAX_SENTENCE bytes, none lost */
    text_sentences ss = sentences_of(word);
    assert_true(ss.n >= n / MAX_SENTENCE);
    size_t total = 0;
    for (size_t i = 0; i < ss.n; i++) {
        size_t l = strlen(ss.items[i].text);
        assert_true(l <= MAX_SENTENCE && l > 0);
        assert_memory_equal(ss.items[i].text, word + total, l);
        total += l;
    }
    assert_int_equal(total, n);
    text_sentences_free(&ss);
    /* synthesis streams it piece by piece */
    size_t chunks = 0;
    assert_int_equal(speak(voice, word, 4, &chunks, NULL), TTS_OK);
    assert_int_equal(chunks, 4);
    /* the same with a multi-byte letter: cuts fall on character boundaries */
    char *wide = malloc(2 * n + 1);
    assert_non_null(wide);
    for (size_t i = 0; i < n; i++) memcpy(wide + 2 * i, "\xc3\xa9", 2); /* é */
    wide[2 * n] = 0;
    ss = sentences_of(wide);
    for (size_t i = 0; i < ss.n; i++) {
        const char *t = ss.items[i].text;
        assert_true(strlen(t) <= MAX_SENTENCE && strlen(t) % 2 == 0 && (unsigned char)t[0] == 0xC3);
    }
    text_sentences_free(&ss);
    free(wide);
    free(word);
}

static void test_nothing_to_speak(void **state)
{
    static const char *empty[] = {
        "", " ", "          \t\t\n\n\r\n   ", "...", "!!!???...;;;:::,,,", "- - - -- --- ... !",
        "\"\" '' () [] {} <> ** __ ~~", "\xe2\x80\xa6\xe2\x80\x94\xe2\x80\x9c\xe2\x80\x9d",
        "\xc2\xa0\xe3\x80\x80\xe2\x80\x83", /* no-break, ideographic and em spaces */
    };
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        assert_int_equal(speak(voice, empty[i], 0, NULL, NULL), TTS_ERR_EMPTY_TEXT);
        assert_string_equal(tts_status_message(TTS_ERR_EMPTY_TEXT), "nothing to speak in the text");
    }
    /* ten thousand marks then one word: the word is spoken */
    char *p = malloc(20010);
    assert_non_null(p);
    for (int i = 0; i < 20000; i++) p[i] = ".,;!?"[i % 5];
    strcpy(p + 20000, " word.");
    size_t n = 0;
    assert_int_equal(speak(voice, p, 0, &n, NULL), TTS_OK);
    assert_int_equal(n, 1);
    free(p);
}

static void test_unreadable_scripts(void **state)
{
    /* 😀 1 + Привет 6 + мир 3 + 你好 2 + 🎉 1 + שלום 4 + 👍🏽 1 (the skin tone is part of it) */
    const char *text = "Hello \xf0\x9f\x98\x80 world. \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
                       "\xd0\xbc\xd0\xb8\xd1\x80. Good \xe4\xbd\xa0\xe5\xa5\xbd morning\xf0\x9f\x8e\x89! "
                       "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d Fine \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd.";
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, text), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    size_t n = 0, warnings = 0;
    char joined[512] = "";
    for (;;) {
        assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
        if (ch.done) break;
        n++;
        strncat(joined, ch.text, sizeof joined - strlen(joined) - 2);
        strcat(joined, " ");
        if (ch.warning == TTS_ERR_UNREADABLE) {
            warnings++;
            assert_non_null(strstr(tts_last_error(), "left out 18 characters"));
        }
    }
    tts_synth_free(syn);
    assert_int_equal(warnings, 1); /* one warning for the whole text */
    assert_string_equal(joined, "Hello world. Good morning! Fine. ");
    assert_int_equal(n, 3);
    /* the phonemes are those of the text without them */
    char *a = NULL, *b = NULL;
    assert_int_equal(tts_phonemize(voice, "Hello \xe4\xbd\xa0\xe5\xa5\xbd world \xf0\x9f\x98\x80.", &a), TTS_OK);
    assert_int_equal(tts_phonemize(voice, "Hello world.", &b), TTS_OK);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* an isolated Greek letter is a word in English text; accents stay */
    assert_int_equal(tts_phonemize(voice, "\xcf\x80 r squared.", &a), TTS_OK);
    assert_int_equal(tts_phonemize(voice, "r squared.", &b), TTS_OK);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    size_t warned = 0;
    assert_int_equal(speak(voice, "Caf\xc3\xa9 na\xc3\xafve \xc3\x85ngstr\xc3\xb6m.", 0, &n, &warned), TTS_OK);
    assert_int_equal(warned, 0);
    /* nothing readable at all: nothing to speak, and the message says why */
    assert_int_equal(speak(voice, "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89 \xe4\xbd\xa0\xe5\xa5\xbd.", 0, NULL, NULL),
                     TTS_ERR_EMPTY_TEXT);
    assert_non_null(strstr(tts_last_error(), "cannot read"));
}

static void test_espeak_traps(void **state)
{
    /* inputs that crash espeak-ng 1.51 itself, found by fuzzing: the front
     * end must never hand them over as they are */
    char text[600];
    snprintf(text, sizeof text, "x.%0300d and Hello i.%0200d", 0, 0);
    for (char *p = text; *p; p++) if (*p == '0') *p = 'w'; /* x.wwww... (stack smash in espeak) */
    char *ipa = NULL;
    assert_int_equal(tts_phonemize(voice, text, &ipa), TTS_OK);
    assert_true(strlen(ipa) > 100);
    free(ipa);
    size_t n = 0;
    assert_int_equal(speak(voice, text, 0, &n, NULL), TTS_OK);
    assert_true(n >= 3);
    /* sixteen dotted letters overflowed the normalizer's buffer for "e.g." */
    assert_int_equal(speak(voice, "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p and A.B.C.D.E.F.G.H.I.J.K.L.M.N.O.P.Q.R.", 0,
                           &n, NULL), TTS_OK);
    /* U+0A76 after a word (use after free in espeak's language switch) */
    assert_int_equal(tts_phonemize(voice, "Henry \xe0\xa9\xb6 the fifth.", &ipa), TTS_OK);
    free(ipa);
    int32_t *ids = NULL;
    assert_int_equal(text_utterance_ids("Henry\xe0\xa9\xb6 x.wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww"
                                        "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww"
                                        "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww.", &ids, &n),
                     TTS_OK);
    free(ids);
}

static void test_huge_numbers(void **state)
{
    char text[4096];
    size_t k = 0;
    k += (size_t)sprintf(text + k, "The total is ");
    for (int i = 0; i < 300; i++) text[k++] = (char)('0' + (i * 7 + 3) % 10);
    k += (size_t)sprintf(text + k, " dollars. It costs $");
    for (int i = 0; i < 200; i++) text[k++] = (char)('1' + i % 9);
    k += (size_t)sprintf(text + k, ".99 or ");
    for (int i = 0; i < 120; i++) text[k++] = '9';
    k += (size_t)sprintf(text + k, "%%, -");
    for (int i = 0; i < 100; i++) text[k++] = (char)('0' + i % 10);
    k += (size_t)sprintf(text + k, ".");
    for (int i = 0; i < 100; i++) text[k++] = (char)('0' + i % 10);
    k += (size_t)sprintf(text + k, "e999, 1,000,000,000,000,000,000,000,000,000th and ");
    for (int i = 0; i < 50; i++) k += (size_t)sprintf(text + k, "1,");
    k += (size_t)sprintf(text + k, "0.");
    text[k] = 0;
    text_sentences ss = sentences_of(text);
    assert_true(ss.n >= 3 && ss.n < 200); /* read digit by digit, cut into sentences */
    size_t n = 0;
    assert_int_equal(speak(voice, text, 0, &n, NULL), TTS_OK); /* speak() checks no digit is left */
    assert_int_equal(n, ss.n);
    text_sentences_free(&ss);
}

static void test_nested_brackets(void **state)
{
    size_t depth = 20000;
    char *text = malloc(2 * depth + 64);
    assert_non_null(text);
    size_t k = 0;
    for (size_t i = 0; i < depth; i++) text[k++] = "([{<\"'"[i % 6];
    k += (size_t)sprintf(text + k, "Hello there.");
    for (size_t i = depth; i-- > 0;) text[k++] = ")]}>\"'"[i % 6];
    text[k] = 0;
    size_t n = 0;
    assert_int_equal(speak(voice, text, 0, &n, NULL), TTS_OK);
    assert_int_equal(n, 1);
    /* unbalanced, and quotes inside words */
    assert_int_equal(speak(voice, "((((((((((Hello [[[[[ there \"\"\"\"' it's \"quoted\"", 0, &n, NULL), TTS_OK);
    assert_int_equal(n, 1);
    free(text);
}

/* ------------------------------------------------------------ voice files */

/* Copy the test model to models/NAME.safetensors, keeping its first keep
 * bytes (all when keep is 0), then apply a patch (offset, bytes). */
static void model_variant(const char *name, size_t keep, long patch_at, const char *patch, size_t patch_n)
{
    char src[4200], dst[4200];
    snprintf(src, sizeof src, "%s/models/robust.safetensors", dir);
    snprintf(dst, sizeof dst, "%s/models/%s.safetensors", dir, name);
    size_t n = 0;
    char *b = read_all(src, &n);
    assert_non_null(b);
    if (keep) n = keep < n ? keep : n;
    if (patch_at >= 0) memcpy(b + patch_at, patch, patch_n);
    write_bytes(dst, b, n);
    free(b);
    char body[300];
    snprintf(body, sizeof body, "{\"name\": \"%s\", \"model\": \"../models/%s.safetensors\"}", name, name);
    write_voice_json(name, body);
}

/* Offset of needle in the test model file (in its header). */
static long model_offset_of(const char *needle)
{
    char src[4200];
    snprintf(src, sizeof src, "%s/models/robust.safetensors", dir);
    size_t n = 0;
    char *b = read_all(src, &n);
    assert_non_null(b);
    char *p = memmem(b, n, needle, strlen(needle));
    assert_non_null(p);
    long off = p - b;
    free(b);
    return off;
}

static void expect_voice(const char *name, tts_status want, const char *in_message)
{
    tts_status st = load_voice_named(name);
    if (st != want) fprintf(stderr, "voice %s: %s (%d), wanted %s: %s\n", name, tts_status_message(st), st,
                            tts_status_message(want), tts_last_error());
    assert_int_equal(st, want);
    if (in_message) assert_non_null(strstr(tts_last_error(), in_message));
}

static void test_model_files(void **state)
{
    /* missing */
    write_voice_json("nomodel", "{\"name\": \"nomodel\", \"model\": \"../models/none.safetensors\"}");
    expect_voice("nomodel", TTS_ERR_IO, "none.safetensors");
    /* truncated: inside the data, inside the header, inside the length */
    model_variant("trunc_data", 20000, -1, NULL, 0);
    expect_voice("trunc_data", TTS_ERR_MODEL_TRUNCATED, "trunc_data.safetensors");
    model_variant("trunc_header", 100, -1, NULL, 0);
    expect_voice("trunc_header", TTS_ERR_MODEL_TRUNCATED, "trunc_header.safetensors");
    model_variant("trunc_len", 5, -1, NULL, 0);
    expect_voice("trunc_len", TTS_ERR_MODEL_TRUNCATED, "too short");
    /* corrupt: header JSON broken, header length absurd, offsets disagree */
    model_variant("corrupt_json", 0, 8, "\x01\x02garbage", 9);
    expect_voice("corrupt_json", TTS_ERR_MODEL_FORMAT, "corrupt_json.safetensors");
    model_variant("corrupt_len", 0, 0, "\xff\xff\xff\xff\xff\xff\xff\x7f", 8);
    expect_voice("corrupt_len", TTS_ERR_MODEL_FORMAT, "header length");
    long off = model_offset_of("\"data_offsets\":[0,");
    model_variant("corrupt_offsets", 0, off + 16, "9", 1);
    expect_voice("corrupt_offsets", TTS_ERR_MODEL_FORMAT, "encoder.embedding");
    model_variant("not_tts", 0, model_offset_of("tts-tacotron"), "xxx", 3);
    expect_voice("not_tts", TTS_ERR_MODEL_FORMAT, "not a tts model");
    /* mismatched: a tensor shape against the config (emb 32 -> 33) */
    model_variant("mismatch_shape", 0, model_offset_of("\\\"emb\\\":32") + 9, "3", 1);
    expect_voice("mismatch_shape", TTS_ERR_MODEL_MISMATCH, "encoder.embedding");
    /* mismatched: the symbol table differs from this program's front end */
    off = model_offset_of("\\\"a\\\"");
    model_variant("mismatch_symbols", 0, off + 2, "q", 1);
    expect_voice("mismatch_symbols", TTS_ERR_MODEL_MISMATCH, "symbol");
    /* not finite weights */
    char src[4200];
    snprintf(src, sizeof src, "%s/models/robust.safetensors", dir);
    size_t n = 0;
    char *b = read_all(src, &n);
    memcpy(b + n - 4, "\x00\x00\xc0\x7f", 4); /* NaN in the last tensor */
    snprintf(src, sizeof src, "%s/models/nan.safetensors", dir);
    write_bytes(src, b, n);
    free(b);
    write_voice_json("nan", "{\"name\": \"nan\", \"model\": \"../models/nan.safetensors\"}");
    expect_voice("nan", TTS_ERR_NUMERIC, "NaN");
    /* a model that is a directory, or a voice file given as the model */
    write_voice_json("dirmodel", "{\"name\": \"d\", \"model\": \"../models\"}");
    expect_voice("dirmodel", TTS_ERR_IO, "not a regular file");
    write_voice_json("selfmodel", "{\"name\": \"s\", \"model\": \"selfmodel.json\"}");
    expect_voice("selfmodel", TTS_ERR_MODEL_FORMAT, "selfmodel.json");
    /* a model that is a named pipe with no writer: an error at once, not a hang */
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/models/fifo.safetensors", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    write_voice_json("fifomodel", "{\"name\": \"f\", \"model\": \"../models/fifo.safetensors\"}");
    expect_voice("fifomodel", TTS_ERR_IO, "not a regular file");
}

static void test_voice_files(void **state)
{
    tts_voice *v = NULL;
    assert_int_equal(tts_voice_load("/nonexistent/voice.json", &v), TTS_ERR_VOICE);
    assert_non_null(strstr(tts_last_error(), "/nonexistent/voice.json"));
    assert_int_equal(tts_voice_load("no-such-voice-name", &v), TTS_ERR_VOICE);
    assert_non_null(strstr(tts_last_error(), "no-such-voice-name"));
    /* truncated, corrupt, wrong types, out of range, empty, binary */
    write_voice_json("v_trunc", "{\"name\": \"x\", \"model\": \"../models/robust.safet");
    expect_voice("v_trunc", TTS_ERR_VOICE, "not a JSON object");
    write_voice_json("v_corrupt", "name = robust\nmodel = robust.safetensors\n");
    expect_voice("v_corrupt", TTS_ERR_VOICE, "v_corrupt.json");
    write_voice_json("v_array", "[\"../models/robust.safetensors\"]");
    expect_voice("v_array", TTS_ERR_VOICE, "JSON object");
    write_voice_json("v_nomodel", "{\"name\": \"x\"}");
    expect_voice("v_nomodel", TTS_ERR_VOICE, "model");
    write_voice_json("v_modeltype", "{\"model\": 5}");
    expect_voice("v_modeltype", TTS_ERR_VOICE, "model");
    write_voice_json("v_rate", "{\"model\": \"../models/robust.safetensors\", \"sample_rate\": 16000}");
    expect_voice("v_rate", TTS_ERR_VOICE, "sample_rate");
    write_voice_json("v_speed", "{\"model\": \"../models/robust.safetensors\", \"defaults\": {\"speed\": 100}}");
    expect_voice("v_speed", TTS_ERR_VOICE, "out of range");
    write_voice_json("v_iters", "{\"model\": \"../models/robust.safetensors\", \"defaults\": {\"gl_iters\": 1e300}}");
    expect_voice("v_iters", TTS_ERR_VOICE, "out of range");
    write_voice_json("v_empty", "");
    expect_voice("v_empty", TTS_ERR_VOICE, NULL);
    char p[4200];
    snprintf(p, sizeof p, "%s/voices/v_bin.json", dir);
    write_bytes(p, "\x00\xff\xfe{\x00\"model\"", 12);
    expect_voice("v_bin", TTS_ERR_VOICE, NULL);
    /* an espeak voice that does not exist */
    write_voice_json("v_espeak", "{\"model\": \"../models/robust.safetensors\", \"espeak_voice\": \"xx-nowhere\"}");
    expect_voice("v_espeak", TTS_ERR_VOICE, "xx-nowhere");  /* a fault of the voice file: exit 3 */
    /* the good voice still loads afterwards and the front end is back on en-us */
    assert_int_equal(tts_voice_load(voice_path, &v), TTS_OK);
    tts_voice_free(v);
    assert_int_equal(speak(voice, "Still fine.", 0, NULL, NULL), TTS_OK);
}

/* ---------------------------------------------------------------- outputs */

static float *tone(size_t n)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) x[i] = 0.3f * sinf(0.05f * (float)i);
    return x;
}

/* Files in folder d whose name contains part (temporary files left behind). */
static int leftovers(const char *d, const char *except)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep -v -x '%s')\"", d, except ? except : "");
    return system(cmd) != 0;
}

static void test_output_paths(void **state)
{
    float *x = tone(RATE);
    audio_writer *w = NULL;
    char p[4200];
    /* a directory */
    path_in(p, sizeof p, "models");
    assert_int_equal(audio_writer_open(p, RATE, &w), TTS_ERR_IO);
    assert_non_null(strstr(tts_last_error(), "directory"));
    assert_null(w);
    /* a folder that is not there */
    path_in(p, sizeof p, "no/such/folder/a.wav");
    assert_int_equal(audio_writer_open(p, RATE, &w), TTS_ERR_IO);
    assert_non_null(strstr(tts_last_error(), "no/such/folder"));
    /* a device: written directly, still a device afterwards */
    assert_int_equal(audio_writer_open("/dev/null", RATE, &w), TTS_OK);
    assert_int_equal(audio_writer_write(w, x, RATE), TTS_OK);
    assert_int_equal(audio_writer_close(w), TTS_OK);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    /* a named pipe: a reader gets the whole WAV; the pipe stays a pipe */
    path_in(p, sizeof p, "fifo.wav");
    assert_int_equal(mkfifo(p, 0600), 0);
    char got[4200];
    path_in(got, sizeof got, "fifo-got");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open(p, O_RDONLY), out = open(got, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char buf[4096];
        ssize_t r;
        while (in >= 0 && out >= 0 && (r = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)r) != r) _exit(1);
        _exit(in >= 0 && out >= 0 ? 0 : 1);
    }
    assert_int_equal(audio_writer_open(p, RATE, &w), TTS_OK);
    assert_int_equal(audio_writer_write(w, x, RATE), TTS_OK);
    assert_int_equal(audio_writer_close(w), TTS_OK);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    size_t n = 0;
    char *wav = read_all(got, &n);
    assert_non_null(wav);
    assert_true(n >= 44 + 2 * RATE && memcmp(wav, "RIFF", 4) == 0);
    free(wav);
    /* a failed write never replaces an existing file: abort keeps the old one */
    path_in(p, sizeof p, "keep.wav");
    write_text(p, "old contents");
    assert_int_equal(audio_writer_open(p, RATE, &w), TTS_OK);
    assert_int_equal(audio_writer_write(w, x, RATE), TTS_OK);
    audio_writer_abort(w);
    char *old = read_all(p, NULL);
    assert_string_equal(old, "old contents");
    free(old);
    free(x);
}

/* A 64 KB tmpfs at d (read-only when ro); 0, or -1 when mounting is not
 * allowed here (not root, or in a container without the capability). */
static int mount_tmpfs(const char *d, int ro)
{
    if (mkdir(d, 0755) != 0 && errno != EEXIST) return -1;
    return mount("tmpfs", d, "tmpfs", ro ? MS_RDONLY : 0, "size=64k");
}

static void test_full_disk(void **state)
{
    char d[4200], p[4300];
    path_in(d, sizeof d, "tiny");
    if (mount_tmpfs(d, 0) != 0) {
        printf("     skip: cannot mount a tmpfs here (%s)\n", strerror(errno));
        skip();
    }
    /* an existing output on the full disk survives the failed write */
    snprintf(p, sizeof p, "%s/out.wav", d);
    write_text(p, "previous take");
    float *x = tone(RATE * 5); /* 220 KB of 16-bit audio: cannot fit */
    audio_writer *w = NULL;
    tts_status st = audio_writer_open(p, RATE, &w);
    if (st == TTS_OK) {
        st = audio_writer_write(w, x, RATE * 5);
        if (st == TTS_OK) st = audio_writer_close(w);
        else audio_writer_abort(w);
    }
    assert_int_equal(st, TTS_ERR_NO_SPACE);
    assert_true(tts_last_error()[0] != 0);
    char *old = read_all(p, NULL);
    assert_non_null(old);
    assert_string_equal(old, "previous take");
    free(old);
    assert_false(leftovers(d, "out.wav")); /* no temporary file left */
    /* the same through audio_write_file */
    snprintf(p, sizeof p, "%s/new.wav", d);
    assert_int_equal(audio_write_file(p, x, RATE * 5, RATE), TTS_ERR_NO_SPACE);
    assert_int_equal(access(p, F_OK), -1);
    assert_false(leftovers(d, "out.wav"));
    free(x);
    assert_int_equal(umount(d), 0);
}

static void test_unwritable_folder(void **state)
{
    char d[4200], p[4300];
    path_in(d, sizeof d, "readonly");
    int mounted = geteuid() == 0 && mount_tmpfs(d, 1) == 0;
    if (!mounted) {
        if (geteuid() == 0) {
            printf("     skip: root ignores permissions and a read-only tmpfs cannot be mounted\n");
            skip();
        }
        assert_int_equal(mkdir(d, 0555), 0);
    }
    snprintf(p, sizeof p, "%s/a.wav", d);
    float *x = tone(1000);
    audio_writer *w = NULL;
    tts_status st = audio_writer_open(p, RATE, &w);
    if (st == TTS_OK) {
        st = audio_writer_write(w, x, 1000);
        if (st == TTS_OK) st = audio_writer_close(w);
        else audio_writer_abort(w);
    }
    assert_int_equal(st, TTS_ERR_IO);
    assert_non_null(strstr(tts_last_error(), d));
    assert_int_equal(access(p, F_OK), -1);
    free(x);
    if (mounted) assert_int_equal(umount(d), 0);
}

static void test_no_audio_device(void **state)
{
    audio_player *pl = NULL;
    tts_status st = audio_player_open("no-such-device-xyz", RATE, &pl);
    assert_true(st == TTS_ERR_AUDIO_DEVICE || st == TTS_ERR_NO_PLAYBACK);
    assert_null(pl);
    assert_true(tts_last_error()[0] != 0);
    /* the default device: absent on CI machines, then a clean error */
    st = audio_player_open(NULL, RATE, &pl);
    if (st == TTS_OK) {
        printf("     note: this machine has a default audio device\n");
        audio_player_abort(pl);
    } else {
        assert_true(st == TTS_ERR_AUDIO_DEVICE || st == TTS_ERR_NO_PLAYBACK);
        assert_true(tts_last_error()[0] != 0);
    }
}

/* -------------------------------------------------------------- long text */

/* About n_words words of varied prose in sentences of 4-30 words, with
 * abbreviations, numbers, quotes and clause marks. */
static char *chapter(size_t n_words)
{
    static const char *words[] = {
        "the", "river", "was", "quiet", "and", "cold", "when", "Mary", "walked", "down", "to",
        "old", "mill", "where", "her", "father", "had", "worked", "for", "years", "nobody", "knew",
        "why", "lights", "still", "burned", "at", "night", "in", "upper", "windows", "Dr.", "Smith",
        "said", "it", "would", "pass", "but", "storm", "came", "anyway", "bringing", "rain", "over",
        "hills", "town", "of", "Ashford", "12", "1889", "$3.50", "twice", "again", "slowly",
    };
    size_t nw = sizeof words / sizeof *words;
    char *t = malloc(n_words * 16 + 64);
    assert_non_null(t);
    size_t k = 0, w = 0;
    uint64_t r = 42;
    while (w < n_words) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = 4 + (r >> 33) % 27;
        int quoted = (r >> 20) % 7 == 0;
        if (quoted) t[k++] = '"';
        for (size_t i = 0; i < len && w < n_words; i++, w++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            const char *s = words[(r >> 33) % nw];
            size_t l = strlen(s);
            memcpy(t + k, s, l);
            if (i == 0 && t[k] >= 'a' && t[k] <= 'z') t[k] = (char)(t[k] - 'a' + 'A');
            k += l;
            if (i + 1 < len && (r >> 40) % 9 == 0) t[k++] = ',';
            t[k++] = ' ';
        }
        k--; /* the last space */
        t[k++] = ".?!"[(r >> 50) % 3];
        if (quoted) t[k++] = '"';
        t[k++] = ' ';
    }
    t[k] = 0;
    return t;
}

static void test_long_chapter(void **state)
{
    char *text = chapter(2000);
    text_sentences ss = sentences_of(text);
    assert_true(ss.n >= 80);
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    double t0 = now(), t_first = 0;
    assert_int_equal(tts_synth_start(syn, text), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    size_t n = 0, n_chunks = 0, warned = 0, hop = (size_t)dsp_params_default().hop;
    size_t silence = (size_t)(0.2f * RATE), samples = 0;  /* of the sentence so far */
    long rss_base = 0, rss_max = 0;
    double audio_s = 0;
    for (;;) {
        assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
        if (ch.done) break;
        if (n_chunks++ == 0) t_first = now() - t0;
        /* each sentence of the splitter, in order, with its text */
        assert_true(n < ss.n);
        assert_int_equal(ch.sentence, n);
        assert_string_equal(ch.text, ss.items[n].text);
        /* every sentence has speech: more than its silence, and no more
         * than the frame cap allows (8 frames per symbol + 60) */
        int32_t *ids = NULL;
        size_t n_ids = 0;
        assert_int_equal(text_utterance_ids(ch.text, &ids, &n_ids), TTS_OK);
        free(ids);
        for (size_t i = 0; i < ch.n_samples; i++) assert_true(isfinite(ch.samples[i]));
        audio_s += (double)ch.n_samples / RATE;
        samples += ch.n_samples;
        if (ch.more) continue;
        assert_true(samples > silence + hop);
        assert_true(samples - silence <= (8 * n_ids + 60) * hop);
        samples = 0;
        if (ch.warning != TTS_OK) warned++;
        long rss = rss_kb();
        if (n == 10) rss_base = rss;
        if (n > 10 && rss > rss_max) rss_max = rss;
        n++;
    }
    double total = now() - t0;
    tts_synth_free(syn);
    printf("     2,000 words: %zu sentences, %zu chunks, %.0f s of audio in %.1f s (first after %.2f s), "
           "%zu with warnings; RSS %ld -> max %ld kB\n", ss.n, n_chunks, audio_s, total, t_first, warned, rss_base,
           rss_max);
    assert_int_equal(n, ss.n);         /* nothing skipped, nothing repeated */
    assert_true(warned * 10 <= n);     /* the aligning voice rarely needs pieces */
    assert_true(t_first < total / 10); /* streaming: the first sentence comes early */
    /* memory bounded by the longest sentence: streaming does not grow the
     * process (ASan's quarantine holds freed memory, so only without it) */
    if (!UNDER_ASAN) assert_true(rss_max - rss_base < 16 * 1024);
    text_sentences_free(&ss);
    free(text);
}

static void test_attention_failures(void **state)
{
    /* the random model: attention wanders, the frame cap stops it, the
     * sentence is retried in halves; what is emitted stays within the cap */
    const char *text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
                       "It is easy to tell the depth of a well. These days a chicken leg is a rare dish. "
                       "Rice is often served in round bowls. The juice of lemons makes fine punch.";
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(random_voice, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, text), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    size_t n = 0, failed = 0, hop = (size_t)dsp_params_default().hop, silence = (size_t)(0.2f * RATE);
    size_t samples = 0;  /* of the sentence so far */
    int r = test_voice_config(0).r;
    for (;;) {
        assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
        if (ch.done) break;
        int32_t *ids = NULL;
        size_t n_ids = 0;
        assert_int_equal(text_utterance_ids(ch.text, &ids, &n_ids), TTS_OK);
        free(ids);
        /* at most 8 pieces (three levels of halves), each within its cap of
         * 8 frames per symbol (+ its own BOS, EOS) + 60 */
        size_t cap_frames = 8 * (n_ids + 2 * 8) + 8 * (60 + (size_t)r);
        size_t sil = ch.sentence == 5 ? 0 : silence;  /* none after the last sentence */
        for (size_t i = 0; i < ch.n_samples; i++) assert_true(isfinite(ch.samples[i]) && fabsf(ch.samples[i]) <= 1);
        samples += ch.n_samples;
        if (ch.more) continue;
        assert_true(samples >= sil);
        assert_true(samples - sil <= cap_frames * hop);
        samples = 0;
        if (ch.warning == TTS_ERR_ATTENTION) failed++;
        n++;
    }
    tts_synth_free(syn);
    printf("     random model: %zu of %zu sentences failed to align and were retried in pieces\n", failed, n);
    assert_int_equal(n, 6);
    assert_true(failed >= 1);
    /* the model alone: the frame cap holds for every input length */
    taco_infer_state *s = NULL;
    const taco_model *m = NULL;
    char p[4200];
    snprintf(p, sizeof p, "%s/models/random.safetensors", dir);
    taco_model *lm = NULL;
    assert_int_equal(taco_model_load(p, 0, &lm), TTS_OK);
    m = lm;
    assert_int_equal(taco_infer_create(m, 8, &s), 0);
    int32_t ids[400];
    for (int len = 3; len <= 400; len = len * 2 + 1) {
        ids[0] = TEXT_SYM_BOS;
        for (int i = 1; i < len - 1; i++) ids[i] = 3 + (i * 5) % ((int)text_n_symbols() - 3);
        ids[len - 1] = TEXT_SYM_EOS;
        for (float fps = 1; fps <= 30; fps *= 4) {
            const real *mel;
            int nf;
            taco_stop_reason why;
            assert_int_equal(taco_infer(s, ids, len, fps, 9, &mel, &nf, &why), 0);
            assert_true(nf >= 1 && nf <= (int)(fps * len + 60) + m->cfg.r);
            if (why == TACO_STOP_CAP) assert_true(nf >= (int)(fps * len + 60) - 2 * m->cfg.r);
        }
    }
    taco_infer_free(s);
    taco_model_free(lm);
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-voice")) {
        char p[4096];
        if (test_voice_write(argv[2], "robust", 0, p, sizeof p)) {
            fprintf(stderr, "%s: cannot write a test voice in %s: %s\n", argv[0], argv[2], strerror(errno));
            return 1;
        }
        puts(p);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_and_control),
        cmocka_unit_test(test_ten_megabytes),
        cmocka_unit_test(test_enormous_word),
        cmocka_unit_test(test_nothing_to_speak),
        cmocka_unit_test(test_unreadable_scripts),
        cmocka_unit_test(test_espeak_traps),
        cmocka_unit_test(test_huge_numbers),
        cmocka_unit_test(test_nested_brackets),
        cmocka_unit_test(test_model_files),
        cmocka_unit_test(test_voice_files),
        cmocka_unit_test(test_output_paths),
        cmocka_unit_test(test_full_disk),
        cmocka_unit_test(test_unwritable_folder),
        cmocka_unit_test(test_no_audio_device),
        cmocka_unit_test(test_long_chapter),
        cmocka_unit_test(test_attention_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
