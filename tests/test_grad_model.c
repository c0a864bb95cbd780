/*
 * test_grad_model.c - the whole acoustic model's training pass (encoder,
 * attention decoder, postnet, all four losses) against central finite
 * differences in double precision, on a tiny model, with and without batch
 * norm in the encoder (batch statistics as in training, and running ones as
 * in evaluation).  Dropout masks are drawn from a fixed rng state before
 * every evaluation, so the function is deterministic and its true gradient
 * is what backward must return.  The batch-norm running statistics are
 * buffers: backward must leave their gradient zero, and a forward pass must
 * not move them.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
/* the double copies of library functions this suite does not call */
#pragma GCC diagnostic ignored "-Wunused-function"
#define NN_REAL double
#define NN_DOUBLE 1
#define NN_API static
#include "../src/nn/kernels.c"
#include "../src/model/taco.c"
#include "../src/model/taco_train.c"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "gradcheck.h"

typedef struct {
    taco_model m;
    taco_batch batch;
    taco_train_opts opts;
    taco_train_ws *ws;
    uint64_t seed;
} model_ctx;

static double model_loss(void *p)
{
    model_ctx *c = p;
    nn_rng rng = {c->seed};
    taco_loss l;
    assert_int_equal(taco_train_step(&c->m, NULL, &c->batch, &c->opts, &rng, &c->ws, &l), 0);
    return l.total;
}

enum { BN_OFF, BN_BATCH, BN_RUNNING };

enum { FED_NONE, FED_GIVEN, FED_OWN };

/* Free running (scheduled sampling): a pass that feeds the decoder some of its
 * own frames must equal the pass that is given those frames in mel_in, loss
 * and gradient alike, so the finite-difference check of the latter covers it.
 * Returns those inputs as mel_in (B,T,M) and leaves them in c->batch. */
static double *free_run_inputs(model_ctx *c, int M, int r)
{
    taco_batch *b = &c->batch;
    size_t nf = c->m.n_floats, frames = (size_t)b->B * b->T * M;
    double *g_own = calloc(nf, sizeof(double)), *g_given = calloc(nf, sizeof(double));
    double *mel_in = malloc(sizeof(double) * frames);
    assert_true(g_own && g_given && mel_in);
    taco_train_opts own = c->opts;
    own.free_run = 0.5f;
    own.free_run_seed = 3;
    taco_loss l_own, l_given;
    assert_int_equal(taco_train_step(&c->m, g_own, b, &own, &(nn_rng){c->seed}, &c->ws, &l_own), 0);
    /* the inputs it used: each step's row, the frame before that step */
    int S, B;
    const double *xin = taco_train_inputs(c->ws, &S, &B);
    assert_int_equal(S, b->T / r);
    assert_int_equal(B, b->B);
    memcpy(mel_in, b->mel, sizeof(double) * frames);
    int n_own = 0, n_true = 0;
    for (int s = 1; s < S; s++)
        for (int i = 0; i < B; i++) {
            double *f = mel_in + ((size_t)i * b->T + s * r - 1) * M;
            int same = !memcmp(f, xin + ((size_t)s * B + i) * M, sizeof(double) * M);
            n_true += same;
            n_own += !same;
            memcpy(f, xin + ((size_t)s * B + i) * M, sizeof(double) * M);
        }
    assert_true(n_own > 0 && n_true > 0);  /* both kinds of input occurred */
    b->mel_in = mel_in;
    assert_int_equal(taco_train_step(&c->m, g_given, b, &c->opts, &(nn_rng){c->seed}, &c->ws, &l_given), 0);
    assert_true(fabs(l_own.total - l_given.total) <= 1e-12 * fabs(l_given.total));
    for (size_t j = 0; j < nf; j++) assert_true(fabs(g_own[j] - g_given[j]) <= 1e-10 * (1 + fabs(g_given[j])));
    /* and the teacher-forced pass differs: the own frames mattered */
    b->mel_in = NULL;
    taco_loss l_forced;
    assert_int_equal(taco_train_step(&c->m, NULL, b, &c->opts, &(nn_rng){c->seed}, &c->ws, &l_forced), 0);
    assert_true(l_forced.total != l_own.total);
    b->mel_in = mel_in;
    free(g_own); free(g_given);
    return mel_in;
}

static void run_check(int r, int dropout, int bn, int fed)
{
    taco_config cfg = {
        .n_symbols = 7, .emb = 3, .enc_convs = 2, .enc_ch = 4, .enc_k = 3, .enc_lstm = 2,
        .att_dim = 3, .loc_filters = 2, .loc_k = 3, .prenet1 = 4, .prenet2 = 3, .att_rnn = 4,
        .dec_rnn = 3, .n_mels = 3, .r = r, .post_convs = 3, .post_ch = 3, .post_k = 3,
        .enc_dropout = 0.3f, .prenet_dropout = 0.5f, .enc_batchnorm = bn != BN_OFF,
    };
    model_ctx c = {0};
    assert_int_equal(taco_layout(&c.m, &cfg), 0);
    c.m.data = calloc(c.m.n_floats, sizeof(double));
    assert_non_null(c.m.data);
    taco_point(&c.m, c.m.data, &c.m.w);
    nn_rng init = {42};
    taco_init_random(&c.m, &init);
    /* nudge every bias off zero so their gradients are exercised generically */
    unsigned long long s = 99;
    for (int i = 0; i < c.m.n_params; i++)
        if (c.m.params[i].ndim == 1 && !c.m.params[i].buffer)
            gc_fill(c.m.data + c.m.params[i].offset, c.m.params[i].size, 0.3, &s);
    /* batch norm: gamma around 1, running statistics away from (0, 1) */
    for (int i = 0; bn && i < cfg.enc_convs; i++) {
        gc_fill(c.m.w.bn_mean[i], cfg.enc_ch, 0.5, &s);
        gc_fill(c.m.w.bn_var[i], cfg.enc_ch, 0.5, &s);
        for (int j = 0; j < cfg.enc_ch; j++) { c.m.w.bn_gamma[i][j] += 1; c.m.w.bn_var[i][j] += 1; }
    }
    assert_true(bn ? c.m.n_trained < c.m.n_floats : c.m.n_trained == c.m.n_floats);

    enum { B = 2, N = 5 };
    int T = 4 * r;
    static int32_t ids[B * N] = {1, 3, 4, 5, 2, 1, 6, 2, 0, 0};
    static int nlen[B] = {5, 3};
    int tlen[B] = {T, T - r - 1};
    double *mel = malloc(sizeof(double) * B * T * cfg.n_mels);
    gc_fill(mel, (size_t)B * T * cfg.n_mels, 1.0, &s);
    c.batch = (taco_batch){.B = B, .N = N, .T = T, .ids = ids, .nlen = nlen, .mel = mel, .tlen = tlen};
    double *mel_in = NULL;
    if (fed == FED_GIVEN) {  /* decoder inputs apart from the targets (self-fed frames are constants) */
        mel_in = malloc(sizeof(double) * B * T * cfg.n_mels);
        gc_fill(mel_in, (size_t)B * T * cfg.n_mels, 1.0, &s);
        c.batch.mel_in = NULL;
        double forced = model_loss(&c);
        c.batch.mel_in = mel_in;
        assert_true(model_loss(&c) != forced);  /* the decoder reads mel_in, not mel */
    }
    c.opts = taco_train_opts_default();
    c.opts.guided_weight = 2;
    c.opts.guided_g = 0.3f;
    c.opts.dropout = dropout;
    c.opts.bn_running = bn == BN_RUNNING;
    c.seed = 7;
    if (fed == FED_OWN) mel_in = free_run_inputs(&c, cfg.n_mels, r);

    double *grad = calloc(c.m.n_floats, sizeof(double));
    nn_rng rng = {c.seed};
    taco_loss l;
    assert_int_equal(taco_train_step(&c.m, grad, &c.batch, &c.opts, &rng, &c.ws, &l), 0);
    assert_true(isfinite(l.total) && l.total > 0 && l.guided > 0 && l.stop > 0);
    double *before = malloc(sizeof(double) * c.m.n_floats);
    memcpy(before, c.m.data, sizeof(double) * c.m.n_floats);
    int bad = 0;
    for (int i = 0; i < c.m.n_params; i++) {
        const taco_param *p = &c.m.params[i];
        if (p->buffer) {  /* not trained: no gradient (the loss does depend on them when running) */
            for (size_t j = 0; j < p->size; j++) assert_true(grad[p->offset + j] == 0);
            continue;
        }
        bad += gc_check("model", p->name, c.m.data + p->offset, p->size, grad + p->offset,
                        model_loss, &c, 1);
    }
    assert_int_equal(bad, 0);
    assert_memory_equal(before, c.m.data, sizeof(double) * c.m.n_floats);
    /* the running statistics (the buffers, last in the block) move only by
       taco_bn_update, and only after a pass with batch statistics */
    if (bn) {
        assert_int_equal(taco_train_step(&c.m, NULL, &c.batch, &c.opts, &(nn_rng){c.seed}, &c.ws, &l), 0);
        taco_bn_update(&c.m, c.ws);
        size_t nt = c.m.n_trained, nb = c.m.n_floats - nt;
        assert_memory_equal(before, c.m.data, sizeof(double) * nt);
        assert_int_equal(memcmp(before + nt, c.m.data + nt, sizeof(double) * nb) != 0, bn == BN_BATCH);
    }
    memcpy(c.m.data, before, sizeof(double) * c.m.n_floats);
    free(before);
    /* the check is sensitive: a 1% error in one tensor's gradient is caught */
    const taco_param *q = &c.m.params[c.m.n_params / 2];
    for (size_t j = 0; j < q->size; j++) grad[q->offset + j] *= 1.01;
    fprintf(stderr, "(mismatches expected below for %s)\n", q->name);
    assert_true(gc_check("model", q->name, c.m.data + q->offset, q->size, grad + q->offset,
                         model_loss, &c, 1) > 0);
    taco_train_ws_free(c.ws);
    free(grad); free(mel); free(mel_in); free(c.m.data);
}

static void test_model_r2_dropout(void **state) { run_check(2, 1, BN_OFF, FED_NONE); }
static void test_model_r3_no_dropout(void **state) { run_check(3, 0, BN_OFF, FED_NONE); }
static void test_model_r1(void **state) { run_check(1, 1, BN_OFF, FED_NONE); }
static void test_model_batchnorm_r2_dropout(void **state) { run_check(2, 1, BN_BATCH, FED_NONE); }
static void test_model_batchnorm_r3_no_dropout(void **state) { run_check(3, 0, BN_BATCH, FED_NONE); }
static void test_model_batchnorm_running(void **state) { run_check(2, 1, BN_RUNNING, FED_NONE); }
static void test_model_fed_inputs(void **state) { run_check(3, 1, BN_BATCH, FED_GIVEN); }
static void test_model_free_run(void **state) { run_check(3, 1, BN_BATCH, FED_OWN); }
static void test_model_free_run_r1(void **state) { run_check(1, 0, BN_OFF, FED_OWN); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_r2_dropout),
        cmocka_unit_test(test_model_r3_no_dropout),
        cmocka_unit_test(test_model_r1),
        cmocka_unit_test(test_model_batchnorm_r2_dropout),
        cmocka_unit_test(test_model_batchnorm_r3_no_dropout),
        cmocka_unit_test(test_model_batchnorm_running),
        cmocka_unit_test(test_model_fed_inputs),
        cmocka_unit_test(test_model_free_run),
        cmocka_unit_test(test_model_free_run_r1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
