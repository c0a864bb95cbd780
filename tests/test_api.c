/*
 * test_api.c - the public API (include/tts.h) end to end, with a random
 * voice written by the test (tests/test_voice.h): loading by path and by
 * name, listing, what a voice file says (tts_voice_describe), synthesizers sharing one voice (also in two threads),
 * streaming sentence by sentence (a long one in pieces), the properties of each chunk (count,
 * finite samples, peak, sample rate, edges faded, no per-sentence loudness
 * normalization), options, cancellation, and each error its own status with
 * a useful tts_last_error().
 *
 * It asserts properties of the audio, never hashes of float output.  It
 * does not test the quality of a trained voice (scripts/eval.sh does).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tts.h"
#include "test_voice.h"

static char dir[] = "/tmp/tts-test-api-XXXXXX";
static char voice_path[4096];
static tts_voice *voice;

#define RATE 22050
#define TWO_SAME "Glue the sheet to the dark blue background. Glue the sheet to the dark blue background."

static int setup(void **state) { return test_voice_open(dir, voice_path, sizeof voice_path, &voice); }
static int teardown(void **state) { return test_voice_close(dir, voice); }

/* ---- helpers ---- */

typedef struct stats {
    size_t n_sentences;
    size_t n_chunks;         /* a long sentence comes in pieces (options.stream) */
    size_t n_samples[16];    /* per sentence, its pieces together */
    float peak[16];
} stats;

static float peak_of(const float *x, size_t n)
{
    float p = 0;
    for (size_t i = 0; i < n; i++) p = fabsf(x[i]) > p ? fabsf(x[i]) : p;
    return p;
}

/* Synthesize text with options o (NULL = defaults), checking every chunk. */
static stats run(const tts_options *o, const char *text)
{
    stats s = {0};
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, o, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, text), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    for (;;) {
        assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
        if (ch.done) break;
        assert_true(s.n_sentences < 16 && s.n_chunks < 64);
        s.n_chunks++;
        assert_int_equal(ch.sentence, s.n_sentences);
        assert_int_equal(ch.sample_rate, RATE);
        assert_non_null(ch.samples);
        assert_non_null(ch.text);
        assert_true(ch.n_samples > 0);
        for (size_t i = 0; i < ch.n_samples; i++) assert_true(isfinite(ch.samples[i]));
        float p = peak_of(ch.samples, ch.n_samples);
        assert_true(p <= 1.0f);
        s.n_samples[s.n_sentences] += ch.n_samples;
        if (p > s.peak[s.n_sentences]) s.peak[s.n_sentences] = p;
        if (ch.more) {  /* a piece: the words come with the sentence's last chunk */
            assert_int_equal(ch.n_words, 0);
            assert_null(ch.words);
        } else {
            s.n_sentences++;
        }
    }
    assert_null(ch.samples);
    assert_int_equal(ch.n_samples, 0);
    /* done stays done */
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    assert_true(ch.done);
    tts_synth_free(syn);
    return s;
}

/* The next sentence's last chunk (its pieces, if any, skipped). */
static tts_status next_sentence(tts_synth *syn, tts_chunk *ch)
{
    tts_status st;
    size_t k = 0;
    while ((st = tts_synth_next(syn, ch)) == TTS_OK && !ch->done && ch->more) assert_true(++k < 64);
    return st;
}

/* ---- voices ---- */

static void test_voice_by_path(void **state)
{
    assert_string_equal(tts_voice_name(voice), "testvoice");
    assert_int_equal(tts_voice_sample_rate(voice), RATE);
    tts_options o;
    tts_options_default(voice, &o);
    assert_true(o.speed == 1.0f && o.volume == 1.0f && o.gl_iters == 32);
    assert_true(fabsf(o.sentence_silence - 0.2f) < 1e-6f);
}

static int listed;
static void on_voice(const char *name, const char *path, void *user)
{
    if (strcmp(name, "testvoice") == 0 && strstr(path, dir)) (*(int *)user)++;
}

static void test_voice_by_name(void **state)
{
    char vdir[4200];
    snprintf(vdir, sizeof vdir, "/nonexistent-dir:%s/voices", dir);
    setenv("TTS_VOICE_PATH", vdir, 1);
    tts_voice *v = NULL;
    assert_int_equal(tts_voice_load("testvoice", &v), TTS_OK);
    assert_string_equal(tts_voice_name(v), "testvoice");
    listed = 0;
    assert_true(tts_voice_list(on_voice, &listed) >= 1);
    assert_int_equal(listed, 1);
    tts_voice_free(v);
    unsetenv("TTS_VOICE_PATH");
}

static void test_voice_missing(void **state)
{
    char vdir[4200];
    snprintf(vdir, sizeof vdir, "%s/voices", dir);
    setenv("TTS_VOICE_PATH", vdir, 1);
    tts_voice *v = (tts_voice *)&v;
    assert_int_equal(tts_voice_load("no-such-voice-xyz", &v), TTS_ERR_VOICE);
    assert_null(v);
    /* the message names the voice and every folder searched */
    assert_non_null(strstr(tts_last_error(), "no-such-voice-xyz"));
    assert_non_null(strstr(tts_last_error(), vdir));
    assert_non_null(strstr(tts_last_error(), "share/tts/voices"));
    unsetenv("TTS_VOICE_PATH");
    assert_int_equal(tts_voice_load("/nonexistent/x.json", &v), TTS_ERR_VOICE);
    assert_non_null(strstr(tts_last_error(), "/nonexistent/x.json"));
    /* a voice file whose model is missing: the error names the model path */
    char p[4200];
    snprintf(p, sizeof p, "%s/voices/broken.json", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{\"name\": \"broken\", \"model\": \"../models/none.safetensors\"}\n", f);
    fclose(f);
    assert_int_not_equal(tts_voice_load(p, &v), TTS_OK);
    assert_null(v);
    assert_non_null(strstr(tts_last_error(), "none.safetensors"));
    /* not JSON */
    f = fopen(p, "w");
    fputs("model = x\n", f);
    fclose(f);
    assert_int_equal(tts_voice_load(p, &v), TTS_ERR_VOICE);
    unlink(p);
    assert_int_equal(tts_voice_load(NULL, &v), TTS_ERR_INVALID_ARG);
    assert_int_equal(tts_voice_load("testvoice", NULL), TTS_ERR_INVALID_ARG);
}

/* A file holding text, for the voice-file tests. */
static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* What a voice file says, without its model: its language code, its
 * description cut to fit without half a UTF-8 character, control characters
 * made spaces. */
static void test_voice_describe(void **state)
{
    char p[4200], lang[16], desc[32];
    snprintf(p, sizeof p, "%s/voices/described.json", dir);
    write_text(p, "{\"model\": \"../models/none.safetensors\", \"language\": \"cs\", \"espeak_voice\": \"cs\",\n"
          " \"description\": \"Czech,\\tfemale\"}\n");
    assert_int_equal(tts_voice_describe(p, lang, sizeof lang, desc, sizeof desc), TTS_OK);
    assert_string_equal(lang, "cs");
    assert_string_equal(desc, "Czech, female");
    /* no "language": the espeak-ng voice; a description cut inside "ě" (2 bytes) */
    write_text(p, "{\"model\": \"m.safetensors\", \"espeak_voice\": \"en-us\", "
          "\"description\": \"abcdefghijklmnopqrstuvwxyz1234\u011b\"}");
    assert_int_equal(tts_voice_describe(p, lang, sizeof lang, desc, sizeof desc), TTS_OK);
    assert_string_equal(lang, "en-us");
    assert_string_equal(desc, "abcdefghijklmnopqrstuvwxyz1234");
    /* ... and a whole one kept when it fits exactly */
    write_text(p, "{\"model\": \"m.safetensors\", \"description\": \"abcdefghijklmnopqrstuvwxyz123\u011b\"}");
    assert_int_equal(tts_voice_describe(p, lang, sizeof lang, desc, sizeof desc), TTS_OK);
    assert_string_equal(lang, "");
    assert_string_equal(desc, "abcdefghijklmnopqrstuvwxyz123\xc4\x9b");
    /* the test voice of this suite */
    assert_int_equal(tts_voice_describe(voice_path, lang, sizeof lang, desc, sizeof desc), TTS_OK);
    assert_true(strlen(lang) > 0);
    /* a language that is not a code, or does not fit, is none */
    write_text(p, "{\"model\": \"m.safetensors\", \"language\": \"en\\n706 INJECTED\"}");
    assert_int_equal(tts_voice_describe(p, lang, sizeof lang, desc, sizeof desc), TTS_OK);
    assert_string_equal(lang, "");
    write_text(p, "{\"model\": \"m.safetensors\", \"language\": \"en-us-x-a-very-long-one\"}");
    assert_int_equal(tts_voice_describe(p, lang, sizeof lang, desc, sizeof desc), TTS_OK);
    assert_string_equal(lang, "");
    /* errors: not JSON, no file, bad arguments */
    write_text(p, "model = x\n");
    assert_int_equal(tts_voice_describe(p, lang, sizeof lang, desc, sizeof desc), TTS_ERR_VOICE);
    assert_non_null(strstr(tts_last_error(), "described.json"));
    unlink(p);
    assert_int_equal(tts_voice_describe(p, lang, sizeof lang, desc, sizeof desc), TTS_ERR_VOICE);
    assert_int_equal(tts_voice_describe(NULL, lang, sizeof lang, desc, sizeof desc), TTS_ERR_INVALID_ARG);
    assert_int_equal(tts_voice_describe(voice_path, lang, 0, desc, sizeof desc), TTS_ERR_INVALID_ARG);
}

/* ---- synthesis ---- */

static void test_stream_sentences(void **state)
{
    stats s = run(NULL, "Hello there. How are you today? I am fine, thank you!");
    assert_int_equal(s.n_sentences, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(s.n_samples[i] > (size_t)(0.2 * RATE)); /* speech plus its silence */
        assert_true(s.peak[i] > 0.001f);                   /* not silent */
    }
}

static void test_chunk_fields(void **state)
{
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, "Dr. Smith paid $3.50. Then he left."), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    assert_int_equal(next_sentence(syn, &ch), TTS_OK);
    assert_false(ch.done);
    /* the normalized text: the abbreviation does not end the sentence */
    assert_non_null(strstr(ch.text, "dollars"));
    assert_int_equal(ch.warning, TTS_OK);
    assert_int_equal(next_sentence(syn, &ch), TTS_OK);
    assert_non_null(strstr(ch.text, "left"));
    assert_int_equal(ch.sentence, 1);
    /* a new start abandons the rest of the previous text */
    assert_int_equal(tts_synth_start(syn, "One. Two."), TTS_OK);
    assert_int_equal(next_sentence(syn, &ch), TTS_OK);
    assert_int_equal(ch.sentence, 0);
    assert_int_equal(tts_synth_start(syn, "Three."), TTS_OK);
    assert_int_equal(next_sentence(syn, &ch), TTS_OK);
    assert_false(ch.done);
    assert_int_equal(next_sentence(syn, &ch), TTS_OK);
    assert_true(ch.done);
    tts_synth_free(syn);
}

/* Two synthesizers from one voice, interleaved: the same text gives the
 * same audio in each. */
static void test_two_synths_one_voice(void **state)
{
    tts_synth *a = NULL, *b = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &a), TTS_OK);
    assert_int_equal(tts_synth_create(voice, NULL, &b), TTS_OK);
    const char *text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.";
    assert_int_equal(tts_synth_start(a, text), TTS_OK);
    assert_int_equal(tts_synth_start(b, text), TTS_OK);
    for (int i = 0; i < 3; i++) {
        tts_chunk ca = {.size = sizeof(tts_chunk)}, cb = {.size = sizeof(tts_chunk)};
        assert_int_equal(tts_synth_next(a, &ca), TTS_OK);
        float *copy = ca.done ? NULL : malloc(sizeof(float) * ca.n_samples);
        if (copy) memcpy(copy, ca.samples, sizeof(float) * ca.n_samples);
        assert_int_equal(tts_synth_next(b, &cb), TTS_OK);
        assert_int_equal(ca.done, cb.done);
        if (!ca.done) {
            assert_int_equal(ca.n_samples, cb.n_samples);
            float d = 0;
            for (size_t k = 0; k < cb.n_samples; k++) d = fmaxf(d, fabsf(copy[k] - cb.samples[k]));
            assert_true(d < 1e-6f);
        }
        free(copy);
    }
    tts_synth_free(a);
    tts_synth_free(b);
}

typedef struct job {
    size_t n_chunks, n_samples;
    int ok;
} job;

static void *thread_main(void *arg)
{
    job *j = arg;
    tts_synth *syn = NULL;
    if (tts_synth_create(voice, NULL, &syn) != TTS_OK) return NULL;
    for (int rep = 0; rep < 3; rep++) {
        if (tts_synth_start(syn, "Many hands make light work. A stitch in time saves nine.") != TTS_OK) break;
        tts_chunk ch = {.size = sizeof(tts_chunk)};
        j->n_chunks = j->n_samples = 0;
        while (tts_synth_next(syn, &ch) == TTS_OK && !ch.done) {
            j->n_chunks += !ch.more;
            j->n_samples += ch.n_samples;
        }
        j->ok = ch.done;
    }
    tts_synth_free(syn);
    return NULL;
}

/* Synthesizers in two threads at once (the phonemizer is shared). */
static void test_threads(void **state)
{
    pthread_t t[2];
    job j[2] = {{0}};
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, thread_main, &j[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_true(j[i].ok);
        assert_int_equal(j[i].n_chunks, 2);
    }
    assert_int_equal(j[0].n_samples, j[1].n_samples);
}

/* Loudness is the model's: no sentence is normalized on its own.  The same
 * sentence twice has the same peak and length; volume is a plain gain. */
static void test_loudness(void **state)
{
    stats s = run(NULL, TWO_SAME);
    assert_int_equal(s.n_sentences, 2);
    /* the same length but for the silence, which goes between sentences only */
    assert_int_equal(s.n_samples[0], s.n_samples[1] + (size_t)(0.2f * RATE));
    assert_true(fabsf(s.peak[0] - s.peak[1]) < 1e-6f);
    assert_true(s.peak[0] < 0.9f); /* the test voice is not clipped */
    tts_options o;
    tts_options_default(voice, &o);
    o.volume = 0.5f;
    stats h = run(&o, TWO_SAME);
    assert_true(fabsf(h.peak[0] - 0.5f * s.peak[0]) < 1e-4f);
    /* a different sentence keeps its own level: not scaled to a common peak */
    stats d = run(NULL, "The birch canoe slid on the smooth planks. " TWO_SAME);
    assert_int_equal(d.n_sentences, 3);
    assert_true(fabsf(d.peak[1] - s.peak[0]) < 1e-6f);
    assert_true(fabsf(d.peak[0] - d.peak[1]) > 1e-4f);
}

/* Chunk edges: every sentence fades in and out (no clicks), and the
 * silence after it is exact zeros; the pieces of a long sentence join
 * without a fade or a gap. */
static void test_edges(void **state)
{
    for (int variant = 0; variant < 2; variant++) {
        tts_options o;
        tts_options_default(voice, &o);
        o.sentence_silence = variant ? 0.0f : 0.2f;
        o.volume = 4.0f; /* loud, so a missing fade would show */
        size_t n_sil = (size_t)(o.sentence_silence * RATE);
        tts_synth *syn = NULL;
        assert_int_equal(tts_synth_create(voice, &o, &syn), TTS_OK);
        assert_int_equal(tts_synth_start(syn, "Hello there. The birch canoe slid on the smooth planks, "
                                              "and the old keeper climbed the narrow stone stairs."), TTS_OK);
        tts_chunk ch = {.size = sizeof(tts_chunk)};
        size_t n = 0, pieces = 0;
        int first = 1;  /* this chunk begins a sentence */
        while (tts_synth_next(syn, &ch) == TTS_OK && !ch.done) {
            size_t sil = ch.more || ch.sentence == 1 ? 0 : n_sil;  /* none after the last sentence */
            assert_true(ch.n_samples > sil + 220);
            size_t ns = ch.n_samples - sil, fade = (size_t)(0.005 * RATE);
            float p = peak_of(ch.samples, ns);
            assert_true(p > 0.01f);
            /* within the fades the envelope rises linearly from zero; a
               piece that begins or ends inside a sentence is not faded there */
            float edge_in = peak_of(ch.samples, fade), edge_out = peak_of(ch.samples + ns - fade, fade);
            for (size_t i = 0; i < fade && first; i++)
                assert_true(fabsf(ch.samples[i]) <= p * (float)(i + 1) / (float)fade + 1e-6f);
            for (size_t i = 0; i < fade && !ch.more; i++)
                assert_true(fabsf(ch.samples[ns - 1 - i]) <= p * (float)(i + 1) / (float)fade + 1e-6f);
            if (!first) assert_true(edge_in > 0.001f);
            if (ch.more) assert_true(edge_out > 0.001f);
            for (size_t i = ns; i < ch.n_samples; i++) assert_true(ch.samples[i] == 0.0f);
            first = !ch.more;
            n += !ch.more;
            pieces += ch.more;
        }
        assert_int_equal(n, 2);
        assert_true(pieces >= 1);  /* the long sentence came in pieces */
        tts_synth_free(syn);
    }
}

/* A long sentence comes in pieces (options.stream, the default): the same
 * sentence and text on each, more = 1 on all but the last, which carries the
 * words; together as long as the sentence made whole (stream = 0), its words
 * at the same times, its loudness the same in every 50 ms.  At another pace,
 * or for a program whose tts_chunk predates `more`, sentences come whole. */
#define LONG_SENTENCE "The birch canoe slid on the smooth planks, and the old keeper climbed " \
                      "the narrow stone stairs every single evening to light the lamp."

typedef struct sentence_audio {
    float *x;
    size_t n, chunks;
    tts_word words[64];
    size_t n_words;
} sentence_audio;

static sentence_audio synth_one(int stream, float speed)
{
    sentence_audio a = {0};
    tts_options o;
    tts_options_default(voice, &o);
    o.stream = stream;
    o.speed = speed;
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, &o, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, LONG_SENTENCE), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    const char *text = NULL;
    while (tts_synth_next(syn, &ch) == TTS_OK && !ch.done) {
        assert_int_equal(ch.sentence, 0);
        if (text) assert_ptr_equal(ch.text, text);  /* the same sentence */
        text = ch.text;
        a.x = realloc(a.x, (a.n + ch.n_samples) * sizeof(float));
        assert_non_null(a.x);
        if (ch.more) {
            assert_int_equal(ch.n_words, 0);
            assert_int_equal(ch.warning, TTS_OK);
        } else {
            assert_true(ch.n_words > 0 && ch.n_words < 64);
            for (size_t i = 0; i < ch.n_words; i++) {  /* times from the sentence's start */
                a.words[i] = ch.words[i];
                a.words[i].text = strdup(ch.words[i].text);  /* the synthesizer's is freed below */
                a.words[i].start += (double)a.n / RATE;
                a.words[i].end += (double)a.n / RATE;
            }
            a.n_words = ch.n_words;
        }
        memcpy(a.x + a.n, ch.samples, ch.n_samples * sizeof(float));
        a.n += ch.n_samples;
        a.chunks++;
    }
    assert_true(ch.done);
    tts_synth_free(syn);
    return a;
}

static void sentence_audio_free(sentence_audio *a)
{
    for (size_t i = 0; i < a->n_words; i++) free((char *)a->words[i].text);
    free(a->x);
}

static void test_sentence_pieces(void **state)
{
    sentence_audio whole = synth_one(0, 1.0f), pieces = synth_one(1, 1.0f);
    assert_int_equal(whole.chunks, 1);
    assert_true(pieces.chunks >= 2);
    assert_true(whole.n > (size_t)(1.5 * RATE));
    assert_int_equal(pieces.n, whole.n);
    assert_int_equal(pieces.n_words, whole.n_words);
    for (size_t i = 0; i < whole.n_words; i++) {
        assert_string_equal(pieces.words[i].text, whole.words[i].text);
        assert_true(fabs(pieces.words[i].start - whole.words[i].start) < 1e-6);
        assert_true(fabs(pieces.words[i].end - whole.words[i].end) < 1e-6);
    }
    /* the pieces' joins: no gap, no doubling (RMS per 50 ms within 3 dB) */
    size_t win = RATE / 20;
    for (size_t at = 0; at + win <= whole.n; at += win) {
        double ew = 0, ep = 0;
        for (size_t i = at; i < at + win; i++) {
            ew += (double)whole.x[i] * whole.x[i];
            ep += (double)pieces.x[i] * pieces.x[i];
        }
        if (ew > 1e-6 * win) assert_true(ep > 0.5 * ew && ep < 2.0 * ew);
    }
    sentence_audio_free(&whole);
    sentence_audio_free(&pieces);
    /* another pace: whole sentences */
    sentence_audio fast = synth_one(1, 1.5f);
    assert_int_equal(fast.chunks, 1);
    sentence_audio_free(&fast);
}

/* tts_synth_skip: two synthesizers, each skipping the sentences the other
 * makes, give together exactly the chunks one synthesizer gives (the
 * sentence numbers, and so the dropout, are kept); a skip in the middle of
 * a sentence drops the rest of it; at the end a skip does nothing. */
static void test_skip(void **state)
{
    const char *text = "Hello there. " LONG_SENTENCE " How are you today? Fine.";
    tts_synth *one = NULL, *half[2] = {NULL, NULL};
    assert_int_equal(tts_synth_create(voice, NULL, &one), TTS_OK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tts_synth_create(voice, NULL, &half[k]), TTS_OK);
        assert_int_equal(tts_synth_start(half[k], text), TTS_OK);
    }
    assert_int_equal(tts_synth_start(one, text), TTS_OK);
    tts_chunk a = {.size = sizeof(tts_chunk)}, b = {.size = sizeof(tts_chunk)};
    size_t sentence = 0, chunks = 0;
    for (;;) {
        assert_int_equal(tts_synth_next(one, &a), TTS_OK);
        tts_synth *h = half[sentence % 2];
        if (a.done) {
            assert_int_equal(tts_synth_next(h, &b), TTS_OK);
            assert_true(b.done);
            break;
        }
        assert_int_equal(a.sentence, sentence);
        assert_int_equal(tts_synth_next(h, &b), TTS_OK);
        assert_int_equal(b.sentence, a.sentence);
        assert_int_equal(b.more, a.more);
        assert_int_equal(b.n_samples, a.n_samples);
        assert_memory_equal(b.samples, a.samples, a.n_samples * sizeof(float));
        chunks++;
        if (!a.more) {
            assert_int_equal(tts_synth_skip(half[(sentence + 1) % 2]), TTS_OK);
            sentence++;
        }
    }
    assert_int_equal(sentence, 4);
    assert_true(chunks > sentence);  /* the long sentence came in pieces */
    /* at the end: nothing to skip */
    assert_int_equal(tts_synth_skip(one), TTS_OK);
    assert_int_equal(tts_synth_next(one, &a), TTS_OK);
    assert_true(a.done);
    /* in the middle of a sentence: the rest of it is left out */
    assert_int_equal(tts_synth_start(one, LONG_SENTENCE " Fine."), TTS_OK);
    assert_int_equal(tts_synth_next(one, &a), TTS_OK);
    assert_true(a.more);
    assert_int_equal(tts_synth_skip(one), TTS_OK);
    assert_int_equal(tts_synth_next(one, &a), TTS_OK);
    assert_int_equal(a.sentence, 1);
    assert_false(a.more);
    assert_int_equal(tts_synth_skip(NULL), TTS_ERR_INVALID_ARG);
    tts_synth_free(one);
    tts_synth_free(half[0]);
    tts_synth_free(half[1]);
}

/* A program built before `more` existed: one chunk per sentence, and
 * nothing written past the struct it knows. */
static void test_older_structs(void **state)
{
    tts_synth *syn = NULL;
    tts_options o;
    tts_options_default(voice, &o);
    o.size = offsetof(tts_options, stream);  /* the options before `stream` */
    assert_int_equal(tts_synth_create(voice, &o, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, LONG_SENTENCE " Hello."), TTS_OK);
    unsigned char buf[sizeof(tts_chunk) + 16];
    memset(buf, 0xAB, sizeof buf);
    size_t old = offsetof(tts_chunk, more);
    tts_chunk *ch = (tts_chunk *)buf;
    ch->size = old;
    size_t n = 0;
    while (tts_synth_next(syn, ch) == TTS_OK && !ch->done) {
        assert_int_equal(ch->sentence, n);
        n++;
        assert_int_equal(ch->size, old);
        for (size_t i = old; i < sizeof buf; i++) assert_int_equal(buf[i], 0xAB);
    }
    assert_true(ch->done);
    assert_int_equal(n, 2);
    ch->size = old - 1;  /* shorter than any tts_chunk there was */
    assert_int_equal(tts_synth_next(syn, ch), TTS_ERR_INVALID_ARG);
    tts_synth_free(syn);
    o.size = offsetof(tts_options, stream) - 1;
    assert_int_equal(tts_synth_create(voice, &o, &syn), TTS_ERR_INVALID_ARG);
}

static void test_options(void **state)
{
    tts_options o;
    tts_options_default(voice, &o);
    stats base = run(&o, "Hello there. Good.");
    o.sentence_silence = 1.2f;
    stats sil = run(&o, "Hello there. Good.");
    assert_int_equal(base.n_sentences, 2);
    assert_int_equal(sil.n_samples[0] - base.n_samples[0], (size_t)(1.0 * RATE));
    assert_int_equal(sil.n_samples[1], base.n_samples[1]);  /* no silence after the last sentence */
    tts_options_default(voice, &o);
    o.sentence_silence = 0;
    stats slow = run(&o, "The birch canoe slid on the smooth planks.");
    o.speed = 2.0f;
    stats fast = run(&o, "The birch canoe slid on the smooth planks.");
    double ratio = (double)fast.n_samples[0] / (double)slow.n_samples[0];
    assert_true(ratio > 0.45 && ratio < 0.55);
    o.speed = 1.0f;
    o.gl_iters = 1;
    run(&o, "Hello.");
    tts_options_default(NULL, &o); /* the library's defaults without a voice */
    assert_true(o.speed == 1.0f && o.gl_iters == 8 && o.sharpen == 1.0f);
}

static void test_bad_options(void **state)
{
    tts_options bad[12];
    for (int i = 0; i < 12; i++) tts_options_default(voice, &bad[i]);
    bad[0].speed = 0.0f;
    bad[1].speed = 5.0f;
    bad[2].speed = NAN;
    bad[3].volume = -0.1f;
    bad[4].volume = 4.5f;
    bad[5].sentence_silence = -1.0f;
    bad[6].sentence_silence = 11.0f;
    bad[7].gl_iters = 0;
    bad[8].gl_iters = 1001;
    bad[9].sharpen = 0.4f;
    bad[10].sharpen = 3.5f;
    bad[11].sharpen = NAN;
    for (int i = 0; i < 12; i++) {
        tts_synth *syn = (tts_synth *)&syn;
        assert_int_equal(tts_synth_create(voice, &bad[i], &syn), TTS_ERR_INVALID_ARG);
        assert_null(syn);
        assert_non_null(strstr(tts_last_error(), "range"));
    }
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(NULL, NULL, &syn), TTS_ERR_INVALID_ARG);
    assert_int_equal(tts_synth_create(voice, NULL, NULL), TTS_ERR_INVALID_ARG);
}

static void test_bad_text(void **state)
{
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    const char *empty[] = {"", "   \n\t ", "...", "?!"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(tts_synth_start(syn, empty[i]), TTS_ERR_EMPTY_TEXT);
        assert_true(*tts_last_error());
    }
    const char *bad_utf8[] = {"Hello \xff there.", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80 surrogate"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(tts_synth_start(syn, bad_utf8[i]), TTS_ERR_UTF8);
        assert_non_null(strstr(tts_last_error(), "UTF-8"));
        tts_chunk ch = {.size = sizeof(tts_chunk)};
        assert_int_equal(tts_synth_next(syn, &ch), TTS_OK); /* nothing left of it */
        assert_true(ch.done);
    }
    /* the synthesizer is still usable */
    assert_int_equal(tts_synth_start(syn, "Fine."), TTS_OK);
    assert_int_equal(tts_synth_start(syn, NULL), TTS_ERR_INVALID_ARG);
    assert_int_equal(tts_synth_start(NULL, "x"), TTS_ERR_INVALID_ARG);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    assert_int_equal(tts_synth_next(NULL, &ch), TTS_ERR_INVALID_ARG);
    assert_int_equal(tts_synth_next(syn, NULL), TTS_ERR_INVALID_ARG);
    tts_synth_free(syn);
}

static void test_cancel(void **state)
{
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, "One sentence. And another one. And a third."), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    tts_synth_cancel(syn);
    assert_int_equal(tts_synth_next(syn, &ch), TTS_ERR_CANCELLED);
    assert_int_equal(tts_synth_next(syn, &ch), TTS_ERR_CANCELLED);
    /* a new start clears it */
    assert_int_equal(tts_synth_start(syn, "Again."), TTS_OK);
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    assert_false(ch.done);
    tts_synth_cancel(NULL);
    tts_synth_free(syn);
}

static void test_phonemize(void **state)
{
    char *out = NULL;
    assert_int_equal(tts_phonemize(voice, "Hello world. Good bye.", &out), TTS_OK);
    assert_non_null(out);
    size_t lines = 0, tabs = 0;
    for (const char *p = out; *p; p++) lines += *p == '\n', tabs += *p == '\t';
    assert_int_equal(lines, 2);
    assert_int_equal(tabs, 2);
    assert_non_null(strstr(out, "Hello world."));
    free(out);
    assert_int_equal(tts_phonemize(voice, "\xff", &out), TTS_ERR_UTF8);
    assert_int_equal(tts_phonemize(voice, NULL, &out), TTS_ERR_INVALID_ARG);
}

static void test_status_and_free(void **state)
{
    for (int i = 0; i <= TTS_ERR_INTERNAL; i++) {
        const char *m = tts_status_message((tts_status)i);
        assert_non_null(m);
        assert_true(*m);
        for (int k = 0; k < i; k++) assert_string_not_equal(m, tts_status_message((tts_status)k));
    }
    assert_non_null(tts_status_message((tts_status)999));
    tts_voice_free(NULL);
    tts_synth_free(NULL);
    assert_null(tts_voice_name(NULL));
    assert_int_equal(tts_voice_sample_rate(NULL), 0);
}

static void *other_thread(void *arg)
{
    *(int *)arg = tts_last_error()[0] == 0;
    return NULL;
}

/* tts_last_error belongs to the calling thread. */
static void test_last_error_per_thread(void **state)
{
    tts_voice *v = NULL;
    assert_int_equal(tts_voice_load("/nonexistent/y.json", &v), TTS_ERR_VOICE);
    int clean = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, &clean), 0);
    pthread_join(t, NULL);
    assert_true(clean);
    assert_non_null(strstr(tts_last_error(), "y.json"));
}

/* ---- two languages in one process ---- */

typedef struct audio_buf {
    float *x;
    size_t n;
} audio_buf;

/* The next chunk's audio appended to out; 1 when the text is done. */
static int take_one(tts_synth *syn, audio_buf *out)
{
    tts_chunk ch;
    tts_chunk_init(&ch);
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    if (ch.done) return 1;
    out->x = realloc(out->x, sizeof(float) * (out->n + ch.n_samples));
    assert_non_null(out->x);
    memcpy(out->x + out->n, ch.samples, sizeof(float) * ch.n_samples);
    out->n += ch.n_samples;
    return 0;
}

/* All of a text's audio from a synthesizer already started. */
static void take_all(tts_synth *syn, audio_buf *out)
{
    while (!take_one(syn, out)) {}
}

static audio_buf speak_alone(tts_voice *v, const char *text)
{
    audio_buf a = {0};
    tts_synth *syn = NULL;
    assert_int_equal(tts_synth_create(v, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, text), TTS_OK);
    take_all(syn, &a);
    tts_synth_free(syn);
    return a;
}

static void assert_same_audio(const audio_buf *a, const audio_buf *b)
{
    assert_int_equal(a->n, b->n);
    assert_true(a->n > 0);
    assert_memory_equal(a->x, b->x, sizeof(float) * a->n);
}

/* espeak-ng keeps one voice per process: an English and a Czech voice used
 * in any order each get their own phonemes and audio, bit for bit as when
 * used alone (the front end sets espeak-ng's voice on every call). */
static void test_two_languages_interleaved(void **state)
{
    const char *en = "The river flows north. Numbers like 42 are read in English.";
    const char *cs = "Řeka teče na sever. Dobrý den, jak se máte?";
    char *ipa_en1 = NULL, *ipa_en2 = NULL, *ipa_cs1 = NULL, *ipa_cs2 = NULL, *ipa_cs_as_en = NULL;
    assert_int_equal(tts_phonemize(voice, en, &ipa_en1), TTS_OK);
    audio_buf en1 = speak_alone(voice, en);

    char cs_path[4096];
    tts_voice *czech = NULL;
    assert_int_equal(test_voice_write_lang(dir, "testcs", "cs", 0, cs_path, sizeof cs_path), 0);
    assert_int_equal(tts_voice_load(cs_path, &czech), TTS_OK);
    assert_string_equal(tts_voice_language(czech), "cs");
    assert_int_equal(tts_phonemize(czech, cs, &ipa_cs1), TTS_OK);
    /* read as Czech: ř is the raised trill, and the number rule is not English */
    assert_non_null(strstr(ipa_cs1, "r\xCC\x9D"));
    assert_int_equal(tts_phonemize(voice, cs, &ipa_cs_as_en), TTS_OK);
    assert_string_not_equal(ipa_cs1, ipa_cs_as_en);
    audio_buf cs1 = speak_alone(czech, cs);

    /* the English voice after the Czech one was loaded and used */
    assert_int_equal(tts_phonemize(voice, en, &ipa_en2), TTS_OK);
    assert_string_equal(ipa_en1, ipa_en2);
    audio_buf en2 = speak_alone(voice, en);
    assert_same_audio(&en1, &en2);

    /* two synthesizers taking turns, sentence by sentence */
    tts_synth *se = NULL, *sc = NULL;
    assert_int_equal(tts_synth_create(voice, NULL, &se), TTS_OK);
    assert_int_equal(tts_synth_create(czech, NULL, &sc), TTS_OK);
    assert_int_equal(tts_synth_start(se, en), TTS_OK);
    assert_int_equal(tts_synth_start(sc, cs), TTS_OK);
    audio_buf e3 = {0}, c3 = {0};
    int done_e = 0, done_c = 0;
    while (!done_e || !done_c) {
        if (!done_e) done_e = take_one(se, &e3);
        if (!done_c) done_c = take_one(sc, &c3);
    }
    tts_synth_free(se);
    tts_synth_free(sc);
    assert_same_audio(&en1, &e3);
    assert_same_audio(&cs1, &c3);
    assert_int_equal(tts_phonemize(czech, cs, &ipa_cs2), TTS_OK);
    assert_string_equal(ipa_cs1, ipa_cs2);

    free(ipa_en1); free(ipa_en2); free(ipa_cs1); free(ipa_cs2); free(ipa_cs_as_en);
    free(en1.x); free(en2.x); free(cs1.x); free(e3.x); free(c3.x);
    tts_voice_free(czech);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voice_by_path),
        cmocka_unit_test(test_voice_by_name),
        cmocka_unit_test(test_voice_missing),
        cmocka_unit_test(test_voice_describe),
        cmocka_unit_test(test_stream_sentences),
        cmocka_unit_test(test_chunk_fields),
        cmocka_unit_test(test_two_synths_one_voice),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_loudness),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_sentence_pieces),
        cmocka_unit_test(test_older_structs),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_phonemize),
        cmocka_unit_test(test_two_languages_interleaved),
        cmocka_unit_test(test_status_and_free),
        cmocka_unit_test(test_last_error_per_thread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
