/*
 * test_model.c - the acoustic model's files and inference, with a small
 * randomly initialised model written by the test itself: save/load round
 * trip, deterministic inference, the frame cap, one-symbol input, and each
 * kind of broken file returning its own error.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "nn/adam.h"

static char dir[] = "/tmp/tts-test-model-XXXXXX";

static taco_config small_config(void)
{
    taco_config c = taco_config_default(20);
    c.emb = 16; c.enc_ch = 16; c.enc_lstm = 8; c.att_dim = 8; c.loc_filters = 4; c.loc_k = 7;
    c.prenet1 = 16; c.prenet2 = 8; c.att_rnn = 16; c.dec_rnn = 16; c.n_mels = 10; c.r = 2;
    c.post_ch = 8;
    return c;
}

static taco_model *make_model(void)
{
    taco_config c = small_config();
    taco_model *m = NULL;
    assert_int_equal(taco_model_new(&c, &m), TTS_OK);
    nn_rng rng = {5};
    taco_init_random(m, &rng);
    for (int i = 0; i < c.n_mels; i++) { m->mel_mean[i] = -3 + 0.1f * i; m->mel_std[i] = 1 + 0.05f * i; }
    return m;
}

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

static void test_round_trip(void **state)
{
    taco_model *m = make_model();
    char p[256], err[512];
    path_of(p, sizeof p, "a.safetensors");
    const char *k[] = {"note"}, *v[] = {"round trip"};
    assert_int_equal(taco_model_save(m, p, k, v, 1, NULL, NULL, 0), TTS_OK);
    taco_model *l = NULL;
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_OK);
    assert_int_equal(l->n_floats, m->n_floats);
    assert_memory_equal(l->data, m->data, sizeof(float) * m->n_floats);
    assert_memory_equal(l->mel_mean, m->mel_mean, sizeof(float) * 10);
    assert_memory_equal(l->mel_std, m->mel_std, sizeof(float) * 10);
    assert_memory_equal(&l->cfg, &m->cfg, sizeof m->cfg);
    assert_string_equal(taco_model_meta(l, "note"), "round trip");
    /* saved extra blocks (optimizer moments) come back too */
    float *extra = malloc(sizeof(float) * m->n_floats), *back = calloc(m->n_floats, sizeof(float));
    for (size_t i = 0; i < m->n_floats; i++) extra[i] = (float)i * 0.5f;
    const real *blocks[1] = {extra};
    const char *names[1] = {"adam_m"};
    assert_int_equal(taco_model_save(m, p, NULL, NULL, 0, blocks, names, 1), TTS_OK);
    taco_model *l2 = NULL;
    assert_int_equal(taco_model_load(p, 1, &l2, err, sizeof err), TTS_OK);
    assert_int_equal(taco_model_read_extra(l2, "adam_m", back, err, sizeof err), TTS_OK);
    assert_memory_equal(back, extra, sizeof(float) * m->n_floats);
    assert_int_equal(taco_model_read_extra(l2, "adam_v", back, err, sizeof err), TTS_ERR_MODEL_MISMATCH);
    free(extra); free(back);
    taco_model_free(l2);
    taco_model_free(l);
    taco_model_free(m);
}

static void test_inference(void **state)
{
    taco_model *m = make_model();
    taco_infer_state *s = NULL;
    assert_int_equal(taco_infer_create(m, 4, &s), 0);
    int32_t ids[12] = {1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 2};
    const real *mel;
    int nf1, nf2;
    taco_stop_reason why1, why2;
    assert_int_equal(taco_infer(s, ids, 12, 5, 42, &mel, &nf1, &why1), 0);  /* grows past max_n 4 */
    assert_true(nf1 >= 1 && nf1 <= 5 * 12 + 60);
    float *copy = malloc(sizeof(float) * nf1 * 10);
    memcpy(copy, mel, sizeof(float) * nf1 * 10);
    for (int i = 0; i < nf1 * 10; i++) assert_true(isfinite(copy[i]));
    /* same seed, same output */
    assert_int_equal(taco_infer(s, ids, 12, 5, 42, &mel, &nf2, &why2), 0);
    assert_int_equal(nf1, nf2);
    assert_int_equal(why1, why2);
    assert_memory_equal(copy, mel, sizeof(float) * nf1 * 10);
    /* untrained stop gate never fires: force it off and the cap must stop it */
    int stop_row = 0;
    (void)stop_row;
    taco_config c = m->cfg;
    for (int k = 0; k < c.r; k++) m->w.proj_b[k * (c.n_mels + 1) + c.n_mels] = -1e4f;
    for (int k = 0; k < c.r; k++)
        for (int j = 0; j < c.dec_rnn + 2 * c.enc_lstm; j++)
            m->w.proj_w[(size_t)(k * (c.n_mels + 1) + c.n_mels) * (c.dec_rnn + 2 * c.enc_lstm) + j] = 0;
    /* keep attention from parking on the last symbol: end-of-text would stop it */
    for (int i = 0; i < m->cfg.att_dim; i++) m->w.att_v[i] = 0;
    int nf;
    taco_stop_reason why;
    assert_int_equal(taco_infer(s, ids, 12, 2, 1, &mel, &nf, &why), 0);
    assert_int_equal(why, TACO_STOP_CAP);
    assert_true(nf <= 2 * 12 + 60 && nf >= 2 * 12);
    /* one symbol */
    int32_t one[1] = {7};
    assert_int_equal(taco_infer(s, one, 1, 5, 1, &mel, &nf, &why), 0);
    assert_true(nf >= 1);
    /* bad ids are refused */
    int32_t bad[2] = {1, 99};
    assert_int_equal(taco_infer(s, bad, 2, 5, 1, &mel, &nf, &why), -1);
    assert_int_equal(taco_infer(s, ids, 0, 5, 1, &mel, &nf, &why), -1);
    free(copy);
    taco_infer_free(s);
    taco_model_free(m);
}

static long file_size(const char *p)
{
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void test_broken_files(void **state)
{
    taco_model *m = make_model();
    char good[256], p[256], err[512];
    path_of(good, sizeof good, "good.safetensors");
    assert_int_equal(taco_model_save(m, good, NULL, NULL, 0, NULL, NULL, 0), TTS_OK);
    long n = file_size(good);
    unsigned char *buf = malloc(n);
    FILE *f = fopen(good, "rb");
    assert_int_equal(fread(buf, 1, n, f), (size_t)n);
    fclose(f);
    taco_model *l = NULL;

    /* missing */
    path_of(p, sizeof p, "missing.safetensors");
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_ERR_IO);
    assert_null(l);
    /* truncated data */
    path_of(p, sizeof p, "trunc.safetensors");
    f = fopen(p, "wb"); fwrite(buf, 1, n - 100, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_ERR_MODEL_TRUNCATED);
    assert_non_null(strstr(err, "postnet"));  /* names the tensor that runs past the end */
    /* truncated inside the header */
    f = fopen(p, "wb"); fwrite(buf, 1, 40, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_ERR_MODEL_TRUNCATED);
    f = fopen(p, "wb"); fwrite(buf, 1, 5, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_ERR_MODEL_TRUNCATED);
    /* corrupt header JSON */
    path_of(p, sizeof p, "corrupt.safetensors");
    unsigned char *c2 = malloc(n);
    memcpy(c2, buf, n);
    c2[8] = 'X';
    f = fopen(p, "wb"); fwrite(c2, 1, n, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_ERR_MODEL_FORMAT);
    /* absurd header length */
    memcpy(c2, buf, n);
    c2[7] = 0x7f;
    f = fopen(p, "wb"); fwrite(c2, 1, n, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_ERR_MODEL_FORMAT);
    /* not a safetensors file at all */
    f = fopen(p, "wb"); fputs("RIFF this is a wav file, not a model, honestly", f); fclose(f);
    assert_true(taco_model_load(p, 0, &l, err, sizeof err) != TTS_OK);
    /* mismatched: a tensor shape that disagrees with the config */
    taco_config c = small_config();
    c.post_ch = 9;
    taco_model *other = NULL;
    assert_int_equal(taco_model_new(&c, &other), TTS_OK);
    path_of(p, sizeof p, "other.safetensors");
    assert_int_equal(taco_model_save(other, p, NULL, NULL, 0, NULL, NULL, 0), TTS_OK);
    memcpy(c2, buf, n);
    /* splice: good header config, other's tensors -> rewrite config in other's file */
    char *hdr = (char *)buf + 8;
    char *pc = strstr(hdr, "\\\"post_ch\\\":8");
    assert_non_null(pc);
    FILE *g = fopen(p, "rb");
    long on = file_size(p);
    unsigned char *ob = malloc(on);
    assert_int_equal(fread(ob, 1, on, g), (size_t)on);
    fclose(g);
    char *opc = strstr((char *)ob + 8, "\\\"post_ch\\\":9");
    assert_non_null(opc);
    opc[strlen("\\\"post_ch\\\":")] = '8';  /* config now says 8, tensors are 9 wide */
    path_of(p, sizeof p, "mismatch.safetensors");
    f = fopen(p, "wb"); fwrite(ob, 1, on, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_ERR_MODEL_MISMATCH);
    assert_non_null(strstr(err, "postnet.conv0"));
    assert_non_null(strstr(err, "[8, 5, 10]"));
    assert_non_null(strstr(err, "[9, 5, 10]"));
    /* NaN weights are refused */
    taco_model *nanm = make_model();
    nanm->data[3] = NAN;
    path_of(p, sizeof p, "nan.safetensors");
    assert_int_equal(taco_model_save(nanm, p, NULL, NULL, 0, NULL, NULL, 0), TTS_OK);
    assert_int_equal(taco_model_load(p, 0, &l, err, sizeof err), TTS_ERR_NUMERIC);
    /* the good file still loads */
    assert_int_equal(taco_model_load(good, 0, &l, err, sizeof err), TTS_OK);
    taco_model_free(l);
    taco_model_free(nanm);
    taco_model_free(other);
    free(ob); free(c2); free(buf);
    taco_model_free(m);
}

/* Adam drives a quadratic to its minimum; clipping bounds the step. */
static void test_adam(void **state)
{
    adam_opts o = {.lr = 0.1f, .lr_min = 0.001f, .warmup = 0, .decay_start = 100000,
                   .decay_steps = 1000, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .clip = 1.0f};
    float p[3] = {5, -3, 2}, g[3], mm[3] = {0}, vv[3] = {0};
    for (long t = 0; t < 500; t++) {
        for (int i = 0; i < 3; i++) g[i] = 2 * (p[i] - i);
        adam_step(&o, p, g, mm, vv, 3, t);
    }
    for (int i = 0; i < 3; i++) assert_true(fabsf(p[i] - i) < 0.05f);
    o.warmup = 10;
    assert_true(adam_lr(&o, 0) < adam_lr(&o, 9));
}

static int setup(void **state) { return mkdtemp(dir) ? 0 : -1; }
static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_inference),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_adam),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
