/*
 * test_voice.h - a random voice for tests and benchmarks, written at run time
 * (never committed): DIR/models/NAME.safetensors and DIR/voices/NAME.json,
 * laid out like an installed data folder (the voice file names its model as
 * ../models/NAME.safetensors).
 *
 * The weights are random except for three changes that make the model behave
 * like a trained one in the ways synthesis depends on, so the audio has a
 * realistic length and tests can reason about it:
 *   - the attention moves forward one symbol per decoder step (the location
 *     filter 0 sees the previous weights one symbol back, and only it drives
 *     the energies), so a sentence of n symbols takes about n steps;
 *   - the stop gate fires as soon as the focus reaches the last symbols;
 *   - the prenet is zero, so prenet dropout changes nothing: the same sentence
 *     gives the same audio wherever it stands in a text.
 * The mel statistics give a spectrum that falls with frequency at a moderate
 * level, so the vocoded audio is audible but not clipped.
 *
 * Header-only (static functions) so each test or benchmark program includes it
 * without a build rule; it uses the library's internal model and text headers.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_TEST_VOICE_H
#define TTS_TEST_VOICE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/model.h"
#include "text/text.h"

/* The full-size default model (about 3 M parameters), or a small one that
 * synthesizes quickly in tests. */
static taco_config test_voice_config(int full_size)
{
    taco_config c = taco_config_default((int)text_n_symbols());
    if (!full_size) {
        c.emb = 32; c.enc_ch = 32; c.enc_lstm = 16; c.att_dim = 16; c.loc_filters = 4;
        c.loc_k = 7; c.prenet1 = 32; c.prenet2 = 16; c.att_rnn = 32; c.dec_rnn = 32;
        c.post_ch = 16;
    }
    return c;
}

/* Shape the random weights as described at the top of the file. */
static void test_voice_shape(taco_model *m)
{
    const taco_config *c = &m->cfg;
    taco_weights *w = &m->w;
    int A = c->att_dim, F = c->loc_filters, K = c->loc_k, half = K / 2, M = c->n_mels;
    int D = 2 * c->enc_lstm, Hd = c->dec_rnn;
    memset(w->query_w, 0, sizeof(real) * (size_t)A * c->att_rnn);
    memset(w->mem_w, 0, sizeof(real) * (size_t)A * D);
    memset(w->mem_b, 0, sizeof(real) * (size_t)A);
    memset(w->loc_w, 0, sizeof(real) * (size_t)F * K * 2);
    memset(w->loc_dense, 0, sizeof(real) * (size_t)A * F);
    /* filter 0 = previous weight one symbol back + half of the weight here */
    w->loc_w[2 * (half - 1)] = 1.0f;
    w->loc_w[2 * half] = 0.5f;
    for (int j = 0; j < A; j++) {
        w->loc_dense[(size_t)j * F] = 1.0f;
        w->att_v[j] = 80.0f / (float)A;
    }
    /* the stop gate: always "stop", which the decoder obeys only near the end */
    for (int k = 0; k < c->r; k++) {
        size_t row = (size_t)k * (M + 1) + M;
        memset(w->proj_w + row * (size_t)(Hd + D), 0, sizeof(real) * (size_t)(Hd + D));
        w->proj_b[row] = 10.0f;
    }
    memset(w->pre1_w, 0, sizeof(real) * (size_t)c->prenet1 * M);
    memset(w->pre1_b, 0, sizeof(real) * (size_t)c->prenet1);
    for (int k = 0; k < M; k++) {
        m->mel_mean[k] = -2.0f - 4.0f * (float)k / (float)M;
        m->mel_std[k] = 0.5f;
    }
}

static int test_voice_mkdir(const char *p)
{
    return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Write DIR/models/NAME.safetensors and DIR/voices/NAME.json (DIR must
 * exist) for the espeak-ng voice lang; the voice file's path goes to
 * voice_path.  Returns 0 or -1. */
static int test_voice_write_lang(const char *dir, const char *name, const char *lang, int full_size,
                                 char *voice_path, size_t voice_path_len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/models", dir);
    if (test_voice_mkdir(p)) return -1;
    snprintf(p, sizeof p, "%s/voices", dir);
    if (test_voice_mkdir(p)) return -1;

    taco_config c = test_voice_config(full_size);
    taco_model *m = NULL;
    if (taco_model_new(&c, &m) != TTS_OK) return -1;
    nn_rng rng = {12345};
    taco_init_random(m, &rng);
    test_voice_shape(m);
    /* the symbol table, so loading checks it against the front end */
    size_t cap = 64;
    for (size_t i = 0; i < text_n_symbols(); i++) cap += 2 * strlen(text_symbol(i)) + 4;
    char *syms = malloc(cap);
    if (!syms) { taco_model_free(m); return -1; }
    size_t len = (size_t)sprintf(syms, "[");
    for (size_t i = 0; i < text_n_symbols(); i++) {
        const char *s = text_symbol(i);
        len += (size_t)sprintf(syms + len, "%s\"", i ? "," : "");
        for (; *s; s++) {
            if (*s == '"' || *s == '\\') syms[len++] = '\\';
            syms[len++] = *s;
        }
        syms[len++] = '"';
    }
    syms[len++] = ']';
    syms[len] = 0;
    const char *keys[] = {"symbols", "provenance"};
    const char *vals[] = {syms, "random weights written by a test: not a voice"};
    snprintf(p, sizeof p, "%s/models/%s.safetensors", dir, name);
    tts_status st = taco_model_save(m, p, keys, vals, 2, NULL, NULL, 0);
    free(syms);
    taco_model_free(m);
    if (st != TTS_OK) return -1;

    snprintf(voice_path, voice_path_len, "%s/voices/%s.json", dir, name);
    FILE *f = fopen(voice_path, "w");
    if (!f) return -1;
    fprintf(f,
            "{\n  \"name\": \"%s\",\n  \"language\": \"%s\",\n  \"espeak_voice\": \"%s\",\n"
            "  \"model\": \"../models/%s.safetensors\",\n  \"sample_rate\": 22050,\n"
            "  \"defaults\": {\"speed\": 1.0, \"volume\": 1.0, \"sentence_silence\": 0.2, "
            "\"gl_iters\": 32},\n"
            "  \"license\": \"GPL-3.0-or-later\",\n  \"provenance\": \"random test weights\"\n}\n",
            name, lang, lang, name);
    return fclose(f) == 0 ? 0 : -1;
}

/* The same in US English. */
static int test_voice_write(const char *dir, const char *name, int full_size, char *voice_path,
                            size_t voice_path_len)
{
    return test_voice_write_lang(dir, name, "en-us", full_size, voice_path, voice_path_len);
}

/* The fixture of the suites that synthesize: make the folder dir (a
 * mkdtemp template), write the test voice "testvoice" there and load it.
 * Returns 0, or -1 with a message on stderr. */
static inline int test_voice_open(char *dir, char *voice_path, size_t voice_path_len, tts_voice **voice)
{
    if (!mkdtemp(dir)) return -1;
    if (test_voice_write(dir, "testvoice", 0, voice_path, voice_path_len)) return -1;
    if (tts_voice_load(voice_path, voice) != TTS_OK) {
        fprintf(stderr, "cannot load the test voice: %s\n", tts_last_error());
        return -1;
    }
    return 0;
}

/* Free the voice and remove the folder. */
static inline int test_voice_close(const char *dir, tts_voice *voice)
{
    tts_voice_free(voice);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
