/*
 * test_model.c - the acoustic model's files and inference, with a small
 * randomly initialised model written by the test itself: save/load round
 * trip, deterministic inference, the frame cap, one-symbol input, and each
 * kind of broken file returning its own error.  Batch norm in the encoder:
 * folded into the convolutions it gives the encoder output of the unfolded
 * computation with the running statistics; its tensors round-trip exactly;
 * missing or mis-shaped ones are named; files from before it load without it.
 * The training pass's prenet-only dropout (teacher-forced rendering) leaves
 * the encoder's out.  The training pass in inference mode gives taco_infer's
 * frames (one forward pass).
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
#include "model/safetensors.h"
#include "nn/adam.h"
#include "nn/gemm.h"

static char dir[] = "/tmp/tts-test-model-XXXXXX";

static taco_config small_config(void)
{
    taco_config c = taco_config_default(20);
    c.emb = 16; c.enc_ch = 16; c.enc_lstm = 8; c.att_dim = 8; c.loc_filters = 4; c.loc_k = 7;
    c.prenet1 = 16; c.prenet2 = 8; c.att_rnn = 16; c.dec_rnn = 16; c.n_mels = 10; c.r = 2;
    c.post_ch = 8;
    return c;
}

/* batch norm as after some training: gamma, beta and running statistics
 * away from their initial 1, 0, 0, 1 */
static void train_like_batchnorm(taco_model *m, uint64_t seed)
{
    nn_rng rng = {seed};
    for (int i = 0; i < m->cfg.enc_convs; i++)
        for (int j = 0; j < m->cfg.enc_ch; j++) {
            m->w.bn_gamma[i][j] = (real)(0.5 + nn_rng_uniform(&rng));
            m->w.bn_beta[i][j] = (real)(nn_rng_uniform(&rng) - 0.5);
            m->w.bn_mean[i][j] = (real)(2 * nn_rng_uniform(&rng) - 1);
            m->w.bn_var[i][j] = (real)(0.2 + 2 * nn_rng_uniform(&rng));
        }
}

/* A model of config c with random weights (seed), batch-norm statistics as
 * training would leave them (seed + 1) and mel statistics. */
static taco_model *model_of(const taco_config *c, uint64_t seed)
{
    taco_model *m = NULL;
    assert_int_equal(taco_model_new(c, &m), TTS_OK);
    nn_rng rng = {seed};
    taco_init_random(m, &rng);
    train_like_batchnorm(m, seed + 1);
    for (int i = 0; i < c->n_mels; i++) { m->mel_mean[i] = -3 + 0.1f * i; m->mel_std[i] = 1 + 0.05f * i; }
    return m;
}

static taco_model *make_model(void)
{
    taco_config c = small_config();
    assert_int_equal(c.enc_batchnorm, 1);  /* new models have batch norm */
    return model_of(&c, 5);
}

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

static void test_round_trip(void **state)
{
    taco_model *m = make_model();
    char p[256];
    path_of(p, sizeof p, "a.safetensors");
    const char *k[] = {"note"}, *v[] = {"round trip"};
    assert_int_equal(taco_model_save(m, p, k, v, 1, NULL, NULL, 0), TTS_OK);
    taco_model *l = NULL;
    assert_int_equal(taco_model_load(p, 0, &l), TTS_OK);
    assert_int_equal(l->n_floats, m->n_floats);
    assert_int_equal(l->n_trained, m->n_trained);
    assert_memory_equal(l->data, m->data, sizeof(float) * m->n_floats);
    assert_string_equal(taco_model_meta(l, "version"), "2");  /* with batch norm */
    /* the batch-norm tensors, buffers included, come back exactly */
    for (int i = 0; i < m->cfg.enc_convs; i++) {
        assert_memory_equal(l->w.bn_gamma[i], m->w.bn_gamma[i], sizeof(float) * m->cfg.enc_ch);
        assert_memory_equal(l->w.bn_beta[i], m->w.bn_beta[i], sizeof(float) * m->cfg.enc_ch);
        assert_memory_equal(l->w.bn_mean[i], m->w.bn_mean[i], sizeof(float) * m->cfg.enc_ch);
        assert_memory_equal(l->w.bn_var[i], m->w.bn_var[i], sizeof(float) * m->cfg.enc_ch);
    }
    assert_memory_equal(l->mel_mean, m->mel_mean, sizeof(float) * 10);
    assert_memory_equal(l->mel_std, m->mel_std, sizeof(float) * 10);
    assert_memory_equal(&l->cfg, &m->cfg, sizeof m->cfg);
    assert_string_equal(taco_model_meta(l, "note"), "round trip");
    /* saved extra blocks (optimizer moments) come back too, for the trained
       tensors; the buffers after them have none */
    float *extra = malloc(sizeof(float) * m->n_floats), *back = calloc(m->n_floats, sizeof(float));
    for (size_t i = 0; i < m->n_floats; i++) extra[i] = (float)i * 0.5f;
    const real *blocks[1] = {extra};
    const char *names[1] = {"adam_m"};
    assert_int_equal(taco_model_save(m, p, NULL, NULL, 0, blocks, names, 1), TTS_OK);
    taco_model *l2 = NULL;
    assert_int_equal(taco_model_load(p, 1, &l2), TTS_OK);
    assert_int_equal(taco_model_read_extra(l2, "adam_m", back), TTS_OK);
    assert_true(m->n_trained < m->n_floats);
    assert_memory_equal(back, extra, sizeof(float) * m->n_trained);
    for (size_t i = m->n_trained; i < m->n_floats; i++) assert_true(back[i] == 0);
    assert_null(taco_model_meta(l2, "nonexistent"));
    assert_memory_equal(l2->data, m->data, sizeof(float) * m->n_floats);
    assert_int_equal(taco_model_read_extra(l2, "adam_v", back), TTS_ERR_MODEL_MISMATCH);
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

/* The largest |x - ref| / (1 + |ref|) over n values. */
static double largest_difference(const real *x, const float *ref, int n)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)x[i] - ref[i]) / (1.0 + fabs((double)ref[i]));
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* The packed weights of synthesis (taco_pack for inference: every product
 * through the AVX-512 kernel where the CPU has it, else the portable one)
 * give the unpacked model's frames within rounding, with either kernel. */
static void test_packed_inference(void **state)
{
    (void)state;
    taco_model *m = make_model();
    assert_int_equal(taco_fold(m), 0);
    int32_t ids[12] = {1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 2};
    const real *mel;
    int nf0, nf;
    taco_stop_reason why0, why;
    taco_infer_state *s = NULL;
    assert_int_equal(taco_infer_create(m, 16, &s), 0);
    assert_int_equal(taco_infer(s, ids, 12, 5, 42, &mel, &nf0, &why0), 0);
    int M = m->cfg.n_mels;
    float *ref = malloc(sizeof(float) * nf0 * M);
    memcpy(ref, mel, sizeof(float) * nf0 * M);
    assert_int_equal(taco_pack(m, 0), 0);
    const taco_packed *pk = m->packed;
    assert_non_null(pk->pre1);
    assert_non_null(pk->proj);
    assert_non_null(pk->att[1]);
    assert_non_null(pk->enc_conv[0]);
    assert_non_null(pk->post[0]);
    assert_non_null(pk->lstm_f[1]);
    for (int kernel = -1; kernel <= 0; kernel++) {  /* automatic, then portable */
        nn_gemm_force(kernel);
        assert_int_equal(taco_infer(s, ids, 12, 5, 42, &mel, &nf, &why), 0);
        assert_int_equal(nf, nf0);
        assert_int_equal(why, why0);
        double worst = largest_difference(mel, ref, nf * M);
        print_message("packed inference, kernel %s: largest difference %.2g\n",
                      kernel < 0 ? (nn_gemm_kernel() ? "AVX-512" : "portable") : "portable", worst);
        assert_true(worst < 1e-4);
    }
    nn_gemm_force(-1);
    /* the decoder-step weights in half precision (synthesis): frames close to
       the full-precision ones; where there is no AVX-512 nothing changes */
    assert_int_equal(taco_pack_halve(m), 0);
    int halved = ((const nn_packed *)m->packed->storage)[0].half != NULL;
    assert_int_equal(halved, nn_gemm_kernel() == 1);
    assert_int_equal(taco_infer(s, ids, 12, 5, 42, &mel, &nf, &why), 0);
    assert_int_equal(nf, nf0);
    double worst = largest_difference(mel, ref, nf * M);
    print_message("decoder steps in half precision (%s): largest difference %.2g\n",
                  halved ? "halved" : "no AVX-512: not halved", worst);
    assert_true(worst < (halved ? 1e-3 : 1e-4));
    free(ref);
    taco_infer_free(s);
    taco_model_free(m);
}

static void test_broken_files(void **state)
{
    taco_model *m = make_model();
    char good[256], p[256];
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
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_IO);
    assert_null(l);
    /* truncated data */
    path_of(p, sizeof p, "trunc.safetensors");
    f = fopen(p, "wb"); fwrite(buf, 1, n - 100, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_TRUNCATED);
    /* names the first tensor that runs past the new end */
    int cut = 0;
    while ((m->params[cut].offset + m->params[cut].size) * 4 <= m->n_floats * 4 - 100) cut++;
    assert_non_null(strstr(tts_last_error(), m->params[cut].name));
    /* truncated inside the header */
    f = fopen(p, "wb"); fwrite(buf, 1, 40, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_TRUNCATED);
    f = fopen(p, "wb"); fwrite(buf, 1, 5, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_TRUNCATED);
    /* corrupt header JSON */
    path_of(p, sizeof p, "corrupt.safetensors");
    unsigned char *c2 = malloc(n);
    memcpy(c2, buf, n);
    c2[8] = 'X';
    f = fopen(p, "wb"); fwrite(c2, 1, n, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_FORMAT);
    /* absurd header length */
    memcpy(c2, buf, n);
    c2[7] = 0x7f;
    f = fopen(p, "wb"); fwrite(c2, 1, n, f); fclose(f);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_FORMAT);
    /* not a safetensors file at all */
    f = fopen(p, "wb"); fputs("RIFF this is a wav file, not a model, honestly", f); fclose(f);
    assert_true(taco_model_load(p, 0, &l) != TTS_OK);
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
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_MISMATCH);
    assert_non_null(strstr(tts_last_error(), "postnet.conv0"));
    assert_non_null(strstr(tts_last_error(), "[8, 5, 10]"));
    assert_non_null(strstr(tts_last_error(), "[9, 5, 10]"));
    /* NaN weights are refused */
    taco_model *nanm = make_model();
    nanm->data[3] = NAN;
    path_of(p, sizeof p, "nan.safetensors");
    assert_int_equal(taco_model_save(nanm, p, NULL, NULL, 0, NULL, NULL, 0), TTS_OK);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_NUMERIC);
    /* the good file still loads */
    assert_int_equal(taco_model_load(good, 0, &l), TTS_OK);
    taco_model_free(l);
    taco_model_free(nanm);
    taco_model_free(other);
    free(ob); free(c2); free(buf);
    taco_model_free(m);
}

/* The encoder as the model defines it, step by step with the library's
 * kernels: conv, batch norm with the running statistics, ReLU, then the
 * BiLSTM; memory (n, 2H) into mem. */
static void reference_encoder(const taco_model *m, const int32_t *ids, int n, float *mem)
{
    const taco_config *c = &m->cfg;
    const taco_weights *w = &m->w;
    int E = c->emb, C = c->enc_ch, H = c->enc_lstm, maxc = C > E ? C : E, len[1] = {n};
    float *x = calloc((size_t)n * maxc, sizeof(float)), *y = calloc((size_t)n * C, sizeof(float));
    float *col = calloc((size_t)n * c->enc_k * maxc, sizeof(float));
    float *hf = calloc((size_t)n * H, sizeof(float)), *hb = calloc((size_t)n * H, sizeof(float));
    float *cache = calloc(lstm_cache_floats(1, n, H), sizeof(float)), *scr = calloc(8 * H, sizeof(float));
    embedding_forward(x, ids, w->emb, n, E);
    for (int i = 0; i < c->enc_convs; i++) {
        conv1d_forward(y, col, x, w->conv_w[i], w->conv_b[i], 1, n, i ? C : E, C, c->enc_k);
        batchnorm_forward(x, y, w->bn_mean[i], w->bn_var[i], w->bn_gamma[i], w->bn_beta[i], len, 1, n, C);
        relu_forward(x, x, (size_t)n * C);
    }
    lstm_cache lc;
    lstm_cache_point(&lc, cache, 1, n, H);
    lstm_forward(hf, &lc, scr, x, w->lf_wih, w->lf_whh, w->lf_bih, w->lf_bhh, len, 1, n, C, H, 0);
    lstm_forward(hb, &lc, scr, x, w->lb_wih, w->lb_whh, w->lb_bih, w->lb_bhh, len, 1, n, C, H, 1);
    for (int t = 0; t < n; t++) {
        memcpy(mem + (size_t)t * 2 * H, hf + (size_t)t * H, sizeof(float) * H);
        memcpy(mem + (size_t)t * 2 * H + H, hb + (size_t)t * H, sizeof(float) * H);
    }
    free(x); free(y); free(col); free(hf); free(hb); free(cache); free(scr);
}

static void test_batchnorm_folded(void **state)
{
    taco_model *m = make_model();
    /* larger weights, so the encoder output is not squashed near zero */
    for (int i = 0; i < m->cfg.enc_convs; i++)
        for (int j = 0; j < m->cfg.enc_ch; j++) m->w.bn_gamma[i][j] *= 3;
    char p[256];
    path_of(p, sizeof p, "bn.safetensors");
    assert_int_equal(taco_model_save(m, p, NULL, NULL, 0, NULL, NULL, 0), TTS_OK);
    taco_model *ro = NULL, *rw = NULL;
    assert_int_equal(taco_model_load(p, 0, &ro), TTS_OK);
    assert_int_equal(taco_model_load(p, 1, &rw), TTS_OK);
    assert_non_null(ro->folded);  /* read-only: folded once at load */
    assert_null(rw->folded);      /* writable: weights may change, runs unfolded */
    assert_null(m->folded);
    enum { N = 11 };
    int32_t ids[N] = {1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 2};
    int D = 2 * m->cfg.enc_lstm;
    float *ref = malloc(sizeof(float) * N * D), *got = malloc(sizeof(float) * N * D);
    reference_encoder(m, ids, N, ref);
    double ref_norm = 0;
    for (int i = 0; i < N * D; i++) ref_norm = fmax(ref_norm, fabs(ref[i]));
    assert_true(ref_norm > 0.1);
    const taco_model *models[3] = {ro, rw, m};
    for (int k = 0; k < 3; k++) {
        taco_infer_state *s = NULL;
        assert_int_equal(taco_infer_create(models[k], 4, &s), 0);
        const real *enc = taco_infer_encode(s, ids, N);
        assert_non_null(enc);
        memcpy(got, enc, sizeof(float) * N * D);
        double worst = 0;
        for (int i = 0; i < N * D; i++) worst = fmax(worst, fabs(got[i] - ref[i]));
        printf("     encoder, %s: largest difference %.2g (largest value %.2g)\n",
               models[k]->folded ? "batch norm folded" : "batch norm unfolded", worst, ref_norm);
        assert_true(worst <= 1e-5 * (1 + ref_norm));
        taco_infer_free(s);
    }
    /* folding changes the weights, so the check above is not vacuous */
    assert_true(memcmp(ro->fold_w[0], m->w.conv_w[0], sizeof(float) * m->cfg.enc_ch) != 0);
    /* a whole synthesis runs on the folded model */
    taco_infer_state *s = NULL;
    assert_int_equal(taco_infer_create(ro, 4, &s), 0);
    const real *mel;
    int nf;
    taco_stop_reason why;
    assert_int_equal(taco_infer(s, ids, N, 5, 42, &mel, &nf, &why), 0);
    for (int i = 0; i < nf * m->cfg.n_mels; i++) assert_true(isfinite(mel[i]));
    taco_infer_free(s);
    free(ref); free(got);
    taco_model_free(ro); taco_model_free(rw); taco_model_free(m);
}

/* Write m's tensors to path as taco_model_save would, except: `drop` is left
 * out, `reshape` gets one more row, and the metadata are (version, config). */
static void write_variant(const taco_model *m, const char *path, const char *drop, const char *reshape,
                          const char *version, const char *config)
{
    st_tensor t[TACO_MAX_PARAMS];
    float *big = calloc(m->n_floats + 4096, sizeof(float));
    size_t n = 0;
    for (int i = 0; i < m->n_params; i++) {
        const taco_param *p = &m->params[i];
        if (drop && !strcmp(p->name, drop)) continue;
        t[n] = (st_tensor){.name = p->name, .ndim = p->ndim, .data = m->data + p->offset};
        for (int d = 0; d < p->ndim; d++) t[n].shape[d] = p->shape[d];
        if (reshape && !strcmp(p->name, reshape)) { t[n].shape[0]++; t[n].data = big; }
        n++;
    }
    const char *k[] = {"format", "version", "config"}, *v[] = {"tts-tacotron", version, config};
    assert_int_equal(st_write(path, t, n, k, v, 3), TTS_OK);
    free(big);
}

/* a copy of s with the first `from` replaced by `to` */
static char *replaced(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    assert_non_null(at);
    char *r = malloc(strlen(s) + strlen(to) + 1);
    sprintf(r, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return r;
}

static void test_batchnorm_files(void **state)
{
    taco_model *m = make_model();
    char p[256];
    path_of(p, sizeof p, "bnsrc.safetensors");
    assert_int_equal(taco_model_save(m, p, NULL, NULL, 0, NULL, NULL, 0), TTS_OK);
    taco_model *src = NULL, *l = NULL;
    assert_int_equal(taco_model_load(p, 1, &src), TTS_OK);
    const char *cfg = taco_model_meta(src, "config");
    assert_non_null(strstr(cfg, "\"enc_batchnorm\":1"));

    /* a batch-norm tensor missing, trained or buffer: named */
    path_of(p, sizeof p, "bn-missing.safetensors");
    write_variant(m, p, "encoder.conv1.bn.beta", NULL, "2", cfg);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_MISMATCH);
    assert_null(l);
    assert_non_null(strstr(tts_last_error(), "encoder.conv1.bn.beta"));
    write_variant(m, p, "encoder.conv2.bn.running_var", NULL, "2", cfg);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_MISMATCH);
    assert_non_null(strstr(tts_last_error(), "encoder.conv2.bn.running_var"));
    /* mis-shaped: both shapes printed */
    path_of(p, sizeof p, "bn-shape.safetensors");
    write_variant(m, p, NULL, "encoder.conv0.bn.running_mean", "2", cfg);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_MISMATCH);
    assert_non_null(strstr(tts_last_error(), "encoder.conv0.bn.running_mean"));
    assert_non_null(strstr(tts_last_error(), "[17]"));
    assert_non_null(strstr(tts_last_error(), "[16]"));
    write_variant(m, p, NULL, "encoder.conv2.bn.gamma", "2", cfg);
    assert_int_equal(taco_model_load(p, 1, &l), TTS_ERR_MODEL_MISMATCH);
    assert_non_null(strstr(tts_last_error(), "encoder.conv2.bn.gamma"));
    /* a negative running variance */
    path_of(p, sizeof p, "bn-negvar.safetensors");
    float keep = m->w.bn_var[1][3];
    m->w.bn_var[1][3] = -0.5f;
    write_variant(m, p, NULL, NULL, "2", cfg);
    m->w.bn_var[1][3] = keep;
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_FORMAT);
    assert_non_null(strstr(tts_last_error(), "encoder.conv1.bn.running_var"));
    /* version 1 cannot carry batch norm (a version-1 reader would ignore it) */
    path_of(p, sizeof p, "bn-v1.safetensors");
    write_variant(m, p, NULL, NULL, "1", cfg);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_FORMAT);
    assert_non_null(strstr(tts_last_error(), "version 1"));
    /* enc_batchnorm other than 0 or 1 */
    char *bad = replaced(cfg, "\"enc_batchnorm\":1", "\"enc_batchnorm\":2");
    write_variant(m, p, NULL, NULL, "2", bad);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_ERR_MODEL_FORMAT);
    assert_non_null(strstr(tts_last_error(), "enc_batchnorm"));
    free(bad);

    /* a file from before batch norm: version 1, no enc_batchnorm in its
       config, no batch-norm tensors; it loads without batch norm */
    taco_config c = small_config();
    c.enc_batchnorm = 0;
    taco_model *old = NULL;
    assert_int_equal(taco_model_new(&c, &old), TTS_OK);
    nn_rng rng = {9};
    taco_init_random(old, &rng);
    assert_int_equal(old->n_trained, old->n_floats);
    path_of(p, sizeof p, "nobn.safetensors");
    assert_int_equal(taco_model_save(old, p, NULL, NULL, 0, NULL, NULL, 0), TTS_OK);
    taco_model *tmp = NULL;
    assert_int_equal(taco_model_load(p, 1, &tmp), TTS_OK);
    assert_string_equal(taco_model_meta(tmp, "version"), "1");
    char *oldcfg = replaced(taco_model_meta(tmp, "config"), "\"enc_batchnorm\":0,", "");
    taco_model_free(tmp);
    assert_null(strstr(oldcfg, "batchnorm"));
    path_of(p, sizeof p, "old.safetensors");
    write_variant(old, p, NULL, NULL, "1", oldcfg);
    assert_int_equal(taco_model_load(p, 0, &l), TTS_OK);
    assert_int_equal(l->cfg.enc_batchnorm, 0);
    assert_int_equal(l->n_floats, old->n_floats);
    assert_null(l->folded);
    assert_memory_equal(l->data, old->data, sizeof(float) * old->n_floats);
    taco_model_free(l);
    free(oldcfg);
    taco_model_free(old);
    taco_model_free(src);
    taco_model_free(m);
}

/* The training pass's dropout modes: 2 (a teacher-forced rendering) draws
 * the prenet's masks as inference does and leaves the encoder's out. */
static double pass_loss(taco_model *m, const taco_batch *b, int dropout, taco_train_ws **ws)
{
    taco_train_opts o = taco_train_opts_default();
    o.dropout = dropout;
    o.bn_running = 1;
    nn_rng rng = {77};
    taco_loss l;
    assert_int_equal(taco_train_step(m, NULL, b, &o, &rng, ws, &l), 0);
    return l.total;
}

static void test_prenet_only_dropout(void **state)
{
    taco_config c = small_config();
    c.enc_dropout = 0.5f;
    enum { B = 1, N = 6, T = 8 };
    int32_t ids[N] = {1, 4, 7, 9, 3, 2};
    int nlen[B] = {N}, tlen[B] = {T};
    float mel[T * 10];
    nn_rng fill = {3};
    for (int i = 0; i < T * 10; i++) mel[i] = (float)(2 * nn_rng_uniform(&fill) - 1);
    taco_batch b = {.B = B, .N = N, .T = T, .ids = ids, .nlen = nlen, .mel = mel, .tlen = tlen};
    taco_train_ws *ws = NULL;
    for (int prenet = 0; prenet < 2; prenet++) {
        c.prenet_dropout = prenet ? 0.5f : 0.0f;
        taco_model *m = NULL;
        assert_int_equal(taco_model_new(&c, &m), TTS_OK);
        nn_rng rng = {5};
        taco_init_random(m, &rng);
        double none = pass_loss(m, &b, 0, &ws), all = pass_loss(m, &b, 1, &ws);
        double prenet_only = pass_loss(m, &b, 2, &ws);
        assert_true(all != none);  /* the encoder's dropout is in mode 1 */
        if (prenet) assert_true(prenet_only != none);   /* the prenet's masks are drawn */
        else assert_true(prenet_only == none);          /* and nothing else is */
        taco_model_free(m);
    }
    taco_train_ws_free(ws);
}

/* Largest |a - b| over n values, and the largest |b| into *scale. */
static double worst_diff(const float *a, const float *b, size_t n, double *scale)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        w = fmax(w, fabs((double)a[i] - b[i]));
        *scale = fmax(*scale, fabs((double)b[i]));
    }
    return w;
}

/* One forward pass: the training pass in inference mode (no dropout, batch
 * norm by the running statistics, each decoder step fed what inference fed
 * it) gives taco_infer's frames, before and after the postnet, and its
 * alignment, for two utterances padded into one batch.  The window is off
 * in taco_infer (the training pass has none); prenet dropout is 0 so both
 * draw no masks.  Inference runs unfolded and folded (batch norm folded into
 * the convolutions: equal up to rounding). */
static void test_training_pass_is_inference(void **state)
{
    taco_config c = small_config();
    c.prenet_dropout = 0;
    taco_model *m = model_of(&c, 11);
    /* the stop gate never fires: the decoder runs to the frame cap or the end of the text */
    for (int k = 0; k < c.r; k++) m->w.proj_b[k * (c.n_mels + 1) + c.n_mels] = -20;
    enum { B = 2, N = 9 };
    const int n[B] = {9, 6};
    const int32_t text[B][N] = {{1, 5, 6, 7, 8, 9, 10, 11, 2}, {1, 12, 13, 14, 15, 2}};
    int M = c.n_mels, r = c.r;
    for (int folded = 0; folded < 2; folded++) {
        if (folded) assert_int_equal(taco_fold(m), 0);
        assert_true(!folded == !m->folded);
        float *before[B], *after[B], *align[B];
        int rows[B], frames[B], steps[B], T = 0;
        for (int b = 0; b < B; b++) {
            taco_infer_state *s = NULL;
            assert_int_equal(taco_infer_create(m, 4, &s), 0);
            taco_infer_set_window(s, 0);
            const real *mel;
            taco_stop_reason why;
            assert_int_equal(taco_infer(s, text[b], n[b], 3, 42, &mel, &frames[b], &why), 0);
            const real *f0 = taco_infer_frames_before(s, &rows[b]);
            int nn;
            const real *al = taco_infer_alignment(s, &steps[b], &nn);
            assert_int_equal(nn, n[b]);
            assert_int_equal(rows[b], steps[b] * r);
            assert_true(steps[b] >= 8);  /* a real run of the decoder */
            before[b] = malloc(sizeof(float) * rows[b] * M);
            after[b] = malloc(sizeof(float) * frames[b] * M);
            align[b] = malloc(sizeof(float) * steps[b] * n[b]);
            memcpy(before[b], f0, sizeof(float) * rows[b] * M);
            memcpy(after[b], mel, sizeof(float) * frames[b] * M);
            memcpy(align[b], al, sizeof(float) * steps[b] * n[b]);
            if (rows[b] > T) T = rows[b];
            taco_infer_free(s);
        }
        /* the batch: each item fed the frames inference fed itself */
        int32_t ids[B * N] = {0};
        int nlen[B], tlen[B];
        float *target = calloc((size_t)B * T * M, sizeof(float)), *fed = calloc((size_t)B * T * M, sizeof(float));
        assert_true(target && fed);
        for (int b = 0; b < B; b++) {
            memcpy(ids + b * N, text[b], sizeof(int32_t) * n[b]);
            nlen[b] = n[b];
            tlen[b] = frames[b];
            memcpy(fed + (size_t)b * T * M, before[b], sizeof(float) * rows[b] * M);
        }
        taco_batch bt = {.B = B, .N = N, .T = T, .ids = ids, .nlen = nlen, .mel = target, .tlen = tlen,
                         .mel_in = fed};
        taco_train_opts o = taco_train_opts_default();
        o.dropout = 0;
        o.bn_running = 1;
        taco_train_ws *ws = NULL;
        taco_loss l;
        nn_rng unused = {1};
        assert_int_equal(taco_train_step(m, NULL, &bt, &o, &unused, &ws, &l), 0);
        const real *mel0 = taco_train_mel_before(ws), *mel1 = taco_train_mel(ws);
        int S, bb, nn;
        const real *tal = taco_train_alignment(ws, &S, &bb, &nn);
        assert_int_equal(S, T / r);
        double w0 = 0, w1 = 0, wa = 0, s0 = 0, s1 = 0, sa = 0;
        for (int b = 0; b < B; b++) {
            w0 = fmax(w0, worst_diff(mel0 + (size_t)b * T * M, before[b], (size_t)rows[b] * M, &s0));
            float *den = malloc(sizeof(float) * frames[b] * M);
            for (int t = 0; t < frames[b]; t++)
                for (int k = 0; k < M; k++)
                    den[t * M + k] = mel1[((size_t)b * T + t) * M + k] * m->mel_std[k] + m->mel_mean[k];
            w1 = fmax(w1, worst_diff(den, after[b], (size_t)frames[b] * M, &s1));
            for (int st = 0; st < steps[b]; st++)
                wa = fmax(wa, worst_diff(tal + ((size_t)st * B + b) * N, align[b] + (size_t)st * n[b], n[b], &sa));
            free(den);
        }
        printf("     %s: %d and %d frames; largest difference before the postnet %.2g (of %.2g), "
               "after %.2g (of %.2g), alignment %.2g\n", folded ? "batch norm folded" : "unfolded",
               frames[0], frames[1], w0, s0, w1, s1, wa);
        assert_true(s0 > 0.1 && s1 > 0.1 && sa > 0.1);  /* not vacuous */
        assert_true(w0 <= 1e-4 * (1 + s0));
        assert_true(w1 <= 1e-4 * (1 + s1));
        assert_true(wa <= 1e-4);
        taco_train_ws_free(ws);
        free(target); free(fed);
        for (int b = 0; b < B; b++) { free(before[b]); free(after[b]); free(align[b]); }
    }
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
        cmocka_unit_test(test_packed_inference),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_batchnorm_folded),
        cmocka_unit_test(test_batchnorm_files),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_prenet_only_dropout),
        cmocka_unit_test(test_training_pass_is_inference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
