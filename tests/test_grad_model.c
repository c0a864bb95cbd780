/*
 * test_grad_model.c - the whole acoustic model's training pass (encoder,
 * attention decoder, postnet, all four losses) against central finite
 * differences in double precision, on a tiny model.  Dropout masks are drawn
 * from a fixed rng state before every evaluation, so the function is
 * deterministic and its true gradient is what backward must return.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
/* the double copies of library functions this suite does not call */
#pragma GCC diagnostic ignored "-Wunused-function"
#define NN_REAL double
#define NN_DOUBLE 1
#define NN_API static
#include "../src/nn/kernels.c"
#include "../src/model/taco.c"

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

static void run_check(int r, int dropout)
{
    taco_config cfg = {
        .n_symbols = 7, .emb = 3, .enc_convs = 2, .enc_ch = 4, .enc_k = 3, .enc_lstm = 2,
        .att_dim = 3, .loc_filters = 2, .loc_k = 3, .prenet1 = 4, .prenet2 = 3, .att_rnn = 4,
        .dec_rnn = 3, .n_mels = 3, .r = r, .post_convs = 3, .post_ch = 3, .post_k = 3,
        .enc_dropout = 0.3f, .prenet_dropout = 0.5f,
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
        if (c.m.params[i].ndim == 1) gc_fill(c.m.data + c.m.params[i].offset, c.m.params[i].size, 0.3, &s);

    enum { B = 2, N = 5 };
    int T = 4 * r;
    static int32_t ids[B * N] = {1, 3, 4, 5, 2, 1, 6, 2, 0, 0};
    static int nlen[B] = {5, 3};
    int tlen[B] = {T, T - r - 1};
    double *mel = malloc(sizeof(double) * B * T * cfg.n_mels);
    gc_fill(mel, (size_t)B * T * cfg.n_mels, 1.0, &s);
    c.batch = (taco_batch){.B = B, .N = N, .T = T, .ids = ids, .nlen = nlen, .mel = mel, .tlen = tlen};
    c.opts = taco_train_opts_default();
    c.opts.guided_weight = 2;
    c.opts.guided_g = 0.3f;
    c.opts.dropout = dropout;
    c.seed = 7;

    double *grad = calloc(c.m.n_floats, sizeof(double));
    nn_rng rng = {c.seed};
    taco_loss l;
    assert_int_equal(taco_train_step(&c.m, grad, &c.batch, &c.opts, &rng, &c.ws, &l), 0);
    assert_true(isfinite(l.total) && l.total > 0 && l.guided > 0 && l.stop > 0);
    int bad = 0;
    for (int i = 0; i < c.m.n_params; i++) {
        const taco_param *p = &c.m.params[i];
        bad += gc_check("model", p->name, c.m.data + p->offset, p->size, grad + p->offset,
                        model_loss, &c, 1);
    }
    assert_int_equal(bad, 0);
    /* the check is sensitive: a 1% error in one tensor's gradient is caught */
    const taco_param *q = &c.m.params[c.m.n_params / 2];
    for (size_t j = 0; j < q->size; j++) grad[q->offset + j] *= 1.01;
    fprintf(stderr, "(mismatches expected below for %s)\n", q->name);
    assert_true(gc_check("model", q->name, c.m.data + q->offset, q->size, grad + q->offset,
                         model_loss, &c, 1) > 0);
    taco_train_ws_free(c.ws);
    free(grad); free(mel); free(c.m.data);
}

static void test_model_r2_dropout(void **state) { run_check(2, 1); }
static void test_model_r3_no_dropout(void **state) { run_check(3, 0); }
static void test_model_r1(void **state) { run_check(1, 1); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_r2_dropout),
        cmocka_unit_test(test_model_r3_no_dropout),
        cmocka_unit_test(test_model_r1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
