/*
 * test_grad.c - every kernel's backward pass against central finite
 * differences in double precision, for every input and every parameter, on
 * small random shapes with a fixed seed, with padded positions wherever a
 * kernel takes lengths.  The kernels are compiled here as double (NN_REAL)
 * and static, apart from the float library copy.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
/* the double copies of library functions this suite does not call */
#pragma GCC diagnostic ignored "-Wunused-function"
#define NN_REAL double
#define NN_DOUBLE 1
#define NN_API static
#include "../src/nn/kernels.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <cmocka.h>

#include "gradcheck.h"

static unsigned long long seed = 12345;
static double *vec(size_t n, double scale)
{
    double *x = calloc(n ? n : 1, sizeof(double));
    assert_non_null(x);
    gc_fill(x, n, scale, &seed);
    return x;
}
static double *zeros(size_t n) { double *x = calloc(n ? n : 1, sizeof(double)); assert_non_null(x); return x; }

/* ------------------------------------------------------------- linear */
typedef struct { int N, NI, O; double *x, *w, *b, *out, *R; } lin_ctx;
static double lin_loss(void *p)
{
    lin_ctx *c = p;
    linear_forward(c->out, c->x, c->w, c->b, c->N, c->NI, c->O);
    return gc_dot(c->out, c->R, (size_t)c->N * c->O);
}
static void test_linear(void **state)
{
    lin_ctx c = {3, 5, 4};
    c.x = vec(15, 1); c.w = vec(20, 1); c.b = vec(4, 1); c.out = zeros(12); c.R = vec(12, 1);
    double *dx = zeros(15), *dw = zeros(20), *db = zeros(4);
    lin_loss(&c);
    linear_backward(dx, dw, db, c.R, c.x, c.w, c.N, c.NI, c.O);
    int bad = gc_check("linear", "inp", c.x, 15, dx, lin_loss, &c, 1)
            + gc_check("linear", "w", c.w, 20, dw, lin_loss, &c, 1)
            + gc_check("linear", "b", c.b, 4, db, lin_loss, &c, 1);
    assert_int_equal(bad, 0);
    free(c.x); free(c.w); free(c.b); free(c.out); free(c.R); free(dx); free(dw); free(db);
}

/* ---------------------------------------------------------- embedding */
typedef struct { int N, C; int32_t ids[6]; double *table, *out, *R; } emb_ctx;
static double emb_loss(void *p)
{
    emb_ctx *c = p;
    embedding_forward(c->out, c->ids, c->table, c->N, c->C);
    return gc_dot(c->out, c->R, (size_t)c->N * c->C);
}
static void test_embedding(void **state)
{
    emb_ctx c = {6, 3, {0, 2, 2, 4, 1, 0}};
    c.table = vec(15, 1); c.out = zeros(18); c.R = vec(18, 1);
    double *dt = zeros(15);
    embedding_backward(dt, c.R, c.ids, c.N, c.C);
    assert_int_equal(gc_check("embedding", "table", c.table, 15, dt, emb_loss, &c, 1), 0);
    free(c.table); free(c.out); free(c.R); free(dt);
}

/* ------------------------------------------------------------- conv1d */
typedef struct { int B, T, Ci, Co, K; double *x, *w, *b, *col, *out, *R; } conv_ctx;
static double conv_loss(void *p)
{
    conv_ctx *c = p;
    conv1d_forward(c->out, c->col, c->x, c->w, c->b, c->B, c->T, c->Ci, c->Co, c->K);
    return gc_dot(c->out, c->R, (size_t)c->B * c->T * c->Co);
}
static void test_conv1d(void **state)
{
    conv_ctx c = {2, 6, 3, 4, 5};
    size_t nx = 2 * 6 * 3, nw = 4 * 5 * 3, no = 2 * 6 * 4;
    c.x = vec(nx, 1); c.w = vec(nw, 1); c.b = vec(4, 1); c.col = zeros(2 * 6 * 15);
    c.out = zeros(no); c.R = vec(no, 1);
    double *dx = zeros(nx), *dw = zeros(nw), *db = zeros(4), *dcol = zeros(2 * 6 * 15);
    conv_loss(&c);
    conv1d_backward(dx, dw, db, dcol, c.R, c.col, c.w, c.B, c.T, c.Ci, c.Co, c.K);
    int bad = gc_check("conv1d", "inp", c.x, nx, dx, conv_loss, &c, 1)
            + gc_check("conv1d", "w", c.w, nw, dw, conv_loss, &c, 1)
            + gc_check("conv1d", "b", c.b, 4, db, conv_loss, &c, 1);
    assert_int_equal(bad, 0);
    free(c.x); free(c.w); free(c.b); free(c.col); free(c.out); free(c.R);
    free(dx); free(dw); free(db); free(dcol);
}

/* --------------------------------------------------------- batch norm */
typedef struct {
    int B, T, C, batch_stats; int len[3];
    double *x, *gamma, *beta, *mean, *var, *out, *R;
} bn_ctx;
static double bn_loss(void *p)
{
    bn_ctx *c = p;
    if (c->batch_stats) batchnorm_stats(c->mean, c->var, c->x, c->len, c->B, c->T, c->C);
    batchnorm_forward(c->out, c->x, c->mean, c->var, c->gamma, c->beta, c->len, c->B, c->T, c->C);
    return gc_dot(c->out, c->R, (size_t)c->B * c->T * c->C);
}
static void test_batchnorm(void **state)
{
    /* both modes: statistics of the batch (training) and running ones (evaluation) */
    for (int batch = 1; batch >= 0; batch--) {
        enum { B = 3, T = 5, C = 4 };
        bn_ctx c = {B, T, C, batch, {5, 3, 1}};
        size_t n = B * T * C;
        c.x = vec(n, 1.5); c.gamma = vec(C, 1); c.beta = vec(C, 1); c.R = vec(n, 1);
        for (size_t i = 0; i < n; i++) c.x[i] += 0.5 * (double)(i % C);  /* channel means differ */
        c.mean = vec(C, 1); c.var = vec(C, 1); c.out = zeros(n);
        for (int k = 0; k < C; k++) c.var[k] = 0.5 + c.var[k] * c.var[k];  /* running: positive */
        double *dx = zeros(n), *dg = zeros(C), *db = zeros(C), *scr = zeros(2 * C);
        bn_loss(&c);
        batchnorm_backward(dx, dg, db, scr, c.R, c.x, c.mean, c.var, c.gamma, c.len, B, T, C, batch);
        const char *k = batch ? "batchnorm" : "batchnorm(running)";
        int bad = gc_check(k, "inp", c.x, n, dx, bn_loss, &c, 1)
                + gc_check(k, "gamma", c.gamma, C, dg, bn_loss, &c, 1)
                + gc_check(k, "beta", c.beta, C, db, bn_loss, &c, 1);
        assert_int_equal(bad, 0);
        /* padded rows output exactly zero and take no gradient */
        bn_loss(&c);
        for (int b = 0; b < B; b++)
            for (int t = c.len[b]; t < T; t++)
                for (int j = 0; j < C; j++) {
                    assert_true(c.out[((size_t)b * T + t) * C + j] == 0);
                    assert_true(dx[((size_t)b * T + t) * C + j] == 0);
                }
        if (batch) {
            /* over the 9 valid rows the output has mean beta, variance gamma^2 (minus eps) */
            for (int j = 0; j < C; j++) {
                double s = 0, s2 = 0;
                for (int b = 0; b < B; b++)
                    for (int t = 0; t < c.len[b]; t++) {
                        double y = c.out[((size_t)b * T + t) * C + j];
                        s += y; s2 += y * y;
                    }
                double mu = s / 9, v = s2 / 9 - mu * mu;
                assert_true(fabs(mu - c.beta[j]) < 1e-9);
                assert_true(fabs(v - c.gamma[j] * c.gamma[j] * c.var[j] / (c.var[j] + NN_BN_EPS)) < 1e-9);
            }
            /* the running update: an explicit step, momentum 0.1, unbiased variance */
            double rm[C], rv[C];
            for (int j = 0; j < C; j++) { rm[j] = 0; rv[j] = 1; }
            batchnorm_update_running(rm, rv, c.mean, c.var, 9, C, NN_BN_MOMENTUM);
            for (int j = 0; j < C; j++) {
                assert_true(fabs(rm[j] - 0.1 * c.mean[j]) < 1e-12);
                assert_true(fabs(rv[j] - (0.9 + 0.1 * c.var[j] * 9 / 8)) < 1e-12);
            }
        }
        free(c.x); free(c.gamma); free(c.beta); free(c.mean); free(c.var); free(c.out); free(c.R);
        free(dx); free(dg); free(db); free(scr);
    }
}

/* -------------------------------------------------------- activations */
typedef struct { int kind; size_t n; double *x, *out, *R, *mask; } act_ctx;
static double act_loss(void *p)
{
    act_ctx *c = p;
    switch (c->kind) {
    case 0: relu_forward(c->out, c->x, c->n); break;
    case 1: tanh_forward(c->out, c->x, c->n); break;
    case 2: sigmoid_forward(c->out, c->x, c->n); break;
    default: dropout_forward(c->out, c->x, c->mask, c->n); break;
    }
    return gc_dot(c->out, c->R, c->n);
}
static void test_activations(void **state)
{
    static const char *names[] = {"relu", "tanh", "sigmoid", "dropout"};
    nn_rng rng = {7};
    for (int k = 0; k < 4; k++) {
        act_ctx c = {k, 20};
        c.x = vec(20, 2); c.out = zeros(20); c.R = vec(20, 1); c.mask = zeros(20);
        dropout_mask(c.mask, 20, 0.5, &rng);
        double *dx = zeros(20);
        act_loss(&c);
        if (k == 0) relu_backward(dx, c.R, c.out, 20);
        if (k == 1) tanh_backward(dx, c.R, c.out, 20);
        if (k == 2) sigmoid_backward(dx, c.R, c.out, 20);
        if (k == 3) dropout_backward(dx, c.R, c.mask, 20);
        assert_int_equal(gc_check(names[k], "inp", c.x, 20, dx, act_loss, &c, 1), 0);
        free(c.x); free(c.out); free(c.R); free(c.mask); free(dx);
    }
}

/* --------------------------------------------------------------- LSTM */
typedef struct {
    int B, T, NI, H, reverse; int len[3];
    double *x, *wih, *whh, *bih, *bhh, *h, *cachemem, *scratch, *R; lstm_cache cache;
} lstm_ctx;
static double lstm_loss(void *p)
{
    lstm_ctx *c = p;
    lstm_forward(c->h, &c->cache, c->scratch, c->x, c->wih, c->whh, c->bih, c->bhh,
                 c->len, c->B, c->T, c->NI, c->H, c->reverse);
    return gc_dot(c->h, c->R, (size_t)c->B * c->T * c->H);
}
static void test_lstm(void **state)
{
    for (int rev = 0; rev < 2; rev++) {
        lstm_ctx c = {3, 5, 4, 3, rev, {5, 3, 1}};
        int B = 3, T = 5, NI = 4, H = 3, G = 12;
        c.x = vec(B * T * NI, 1); c.wih = vec(G * NI, 0.7); c.whh = vec(G * H, 0.7);
        c.bih = vec(G, 0.5); c.bhh = vec(G, 0.5); c.h = zeros(B * T * H); c.R = vec(B * T * H, 1);
        c.cachemem = zeros(lstm_cache_floats(B, T, H)); c.scratch = zeros(B * 8 * H);
        lstm_cache_point(&c.cache, c.cachemem, B, T, H);
        double *dx = zeros(B * T * NI), *dwih = zeros(G * NI), *dwhh = zeros(G * H),
               *dbih = zeros(G), *dbhh = zeros(G), *ds = zeros(B * T * G + 3 * B * H);
        lstm_loss(&c);
        lstm_backward(dx, dwih, dwhh, dbih, dbhh, ds, c.R, &c.cache, c.x, c.wih, c.whh, c.len,
                      B, T, NI, H, rev);
        const char *k = rev ? "lstm(reverse)" : "lstm";
        int bad = gc_check(k, "x", c.x, B * T * NI, dx, lstm_loss, &c, 1)
                + gc_check(k, "wih", c.wih, G * NI, dwih, lstm_loss, &c, 1)
                + gc_check(k, "whh", c.whh, G * H, dwhh, lstm_loss, &c, 1)
                + gc_check(k, "bih", c.bih, G, dbih, lstm_loss, &c, 1)
                + gc_check(k, "bhh", c.bhh, G, dbhh, lstm_loss, &c, 1);
        assert_int_equal(bad, 0);
        /* padded positions output exactly zero */
        lstm_loss(&c);
        for (int t = 1; t < T; t++) assert_true(c.h[(2 * T + t) * H] == 0);
        free(c.x); free(c.wih); free(c.whh); free(c.bih); free(c.bhh); free(c.h); free(c.R);
        free(c.cachemem); free(c.scratch); free(dx); free(dwih); free(dwhh); free(dbih);
        free(dbhh); free(ds);
    }
}

/* ---------------------------------------------------------------- GRU */
typedef struct { int B, NI, H; double *x, *h, *wih, *whh, *bih, *bhh, *hn, *cache, *gx, *gh, *R; } gru_ctx;
static double gru_loss(void *p)
{
    gru_ctx *c = p;
    gru_cell_forward(c->hn, c->cache, c->gx, c->gh, c->x, c->h, c->wih, c->whh, c->bih, c->bhh,
                     c->B, c->NI, c->H, NULL);
    return gc_dot(c->hn, c->R, (size_t)c->B * c->H);
}
static void test_gru(void **state)
{
    int B = 2, NI = 4, H = 3, G = 9;
    gru_ctx c = {B, NI, H};
    c.x = vec(B * NI, 1); c.h = vec(B * H, 1); c.wih = vec(G * NI, 0.8); c.whh = vec(G * H, 0.8);
    c.bih = vec(G, 0.5); c.bhh = vec(G, 0.5); c.hn = zeros(B * H); c.cache = zeros(B * 4 * H);
    c.gx = zeros(B * G); c.gh = zeros(B * G); c.R = vec(B * H, 1);
    double *dx = zeros(B * NI), *dh = zeros(B * H), *dgx = zeros(B * G), *dgh = zeros(B * G);
    double *dwih = zeros(G * NI), *dwhh = zeros(G * H), *dbih = zeros(G), *dbhh = zeros(G);
    gru_loss(&c);
    gru_cell_backward(dx, dh, dgx, dgh, c.R, c.cache, c.h, c.wih, c.whh, B, NI, H, NULL);
    gru_weight_grads(dwih, dwhh, dbih, dbhh, dgx, dgh, c.x, c.h, B, NI, H);
    int bad = gc_check("gru", "x", c.x, B * NI, dx, gru_loss, &c, 1)
            + gc_check("gru", "h", c.h, B * H, dh, gru_loss, &c, 1)
            + gc_check("gru", "wih", c.wih, G * NI, dwih, gru_loss, &c, 1)
            + gc_check("gru", "whh", c.whh, G * H, dwhh, gru_loss, &c, 1)
            + gc_check("gru", "bih", c.bih, G, dbih, gru_loss, &c, 1)
            + gc_check("gru", "bhh", c.bhh, G, dbhh, gru_loss, &c, 1);
    assert_int_equal(bad, 0);
    free(c.x); free(c.h); free(c.wih); free(c.whh); free(c.bih); free(c.bhh); free(c.hn);
    free(c.cache); free(c.gx); free(c.gh); free(c.R); free(dx); free(dh); free(dgx); free(dgh);
    free(dwih); free(dwhh); free(dbih); free(dbhh);
}

/* ---------------------------------------------------------- attention */
typedef struct {
    attn_dims d; int len[2];
    double *q, *m, *pm, *aprev, *cprev, *wloc, *uloc, *wq, *v;
    double *a, *ctx, *f, *s, *col, *scratch, *Ra, *Rc;
} att_ctx;
static double att_loss(void *p)
{
    att_ctx *c = p;
    attention_forward(c->a, c->ctx, c->f, c->s, c->col, c->scratch, c->q, c->m, c->pm,
                      c->aprev, c->cprev, c->wloc, c->uloc, c->wq, c->v, c->len, c->d, NULL);
    return gc_dot(c->a, c->Ra, (size_t)c->d.B * c->d.N) + gc_dot(c->ctx, c->Rc, (size_t)c->d.B * c->d.D);
}
static void test_attention(void **state)
{
    attn_dims d = {.B = 2, .N = 7, .D = 4, .A = 5, .Q = 3, .F = 3, .K = 3};
    att_ctx c = {d, {7, 4}};
    size_t BN = 14;
    c.q = vec(d.B * d.Q, 1); c.m = vec(BN * d.D, 1); c.pm = vec(BN * d.A, 1);
    c.aprev = vec(BN, 0.5); c.cprev = vec(BN, 1); c.wloc = vec(d.F * d.K * 2, 1);
    c.uloc = vec(d.A * d.F, 1); c.wq = vec(d.A * d.Q, 1); c.v = vec(d.A, 1);
    c.a = zeros(BN); c.ctx = zeros(d.B * d.D); c.f = zeros(BN * d.F); c.s = zeros(BN * d.A);
    c.col = zeros(BN * d.K * 2); c.scratch = zeros(d.B * d.A + 2 * (d.N + d.K));
    c.Ra = vec(BN, 1); c.Rc = vec(d.B * d.D, 1);
    double *dq = zeros(d.B * d.Q), *dm = zeros(BN * d.D), *dpm = zeros(BN * d.A),
           *dap = zeros(BN), *dcp = zeros(BN), *dwloc = zeros(d.F * d.K * 2),
           *duloc = zeros(d.A * d.F), *dwq = zeros(d.A * d.Q), *dv = zeros(d.A),
           *ds = zeros(BN * d.A + BN * d.F + BN * 2 * d.K + BN * 2 + d.B * d.A);
    att_loss(&c);
    /* masked positions get no weight */
    for (int n = 4; n < 7; n++) assert_true(c.a[7 + n] == 0);
    attention_backward(dq, dm, dpm, dap, dcp, dwloc, duloc, dwq, dv, ds, c.Rc, c.Ra, c.a, c.f,
                       c.s, c.col, c.q, c.m, c.wloc, c.uloc, c.wq, c.v, c.len, d, NULL);
    int bad = gc_check("attention", "q", c.q, d.B * d.Q, dq, att_loss, &c, 1)
            + gc_check("attention", "m", c.m, BN * d.D, dm, att_loss, &c, 1)
            + gc_check("attention", "pm", c.pm, BN * d.A, dpm, att_loss, &c, 1)
            + gc_check("attention", "aprev", c.aprev, BN, dap, att_loss, &c, 1)
            + gc_check("attention", "cprev", c.cprev, BN, dcp, att_loss, &c, 1)
            + gc_check("attention", "wloc", c.wloc, d.F * d.K * 2, dwloc, att_loss, &c, 1)
            + gc_check("attention", "uloc", c.uloc, d.A * d.F, duloc, att_loss, &c, 1)
            + gc_check("attention", "wq", c.wq, d.A * d.Q, dwq, att_loss, &c, 1)
            + gc_check("attention", "v", c.v, d.A, dv, att_loss, &c, 1);
    assert_int_equal(bad, 0);
    double *all[] = {c.q, c.m, c.pm, c.aprev, c.cprev, c.wloc, c.uloc, c.wq, c.v, c.a, c.ctx,
                     c.f, c.s, c.col, c.scratch, c.Ra, c.Rc, dq, dm, dpm, dap, dcp, dwloc,
                     duloc, dwq, dv, ds};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
}

/* ------------------------------------------------------------- losses */
typedef struct { int kind; int B, T, C; int len[2]; double *pred, *target, *mask; } loss_ctx;
static double loss_eval(void *p)
{
    loss_ctx *c = p;
    size_t n = (size_t)c->B * c->T * c->C;
    switch (c->kind) {
    case 0: return l1_loss(NULL, c->pred, c->target, c->len, c->B, c->T, c->C, 1);
    case 1: return mse_loss(NULL, c->pred, c->target, c->len, c->B, c->T, c->C, 1);
    case 2: return bce_logits_loss(NULL, c->pred, c->target, c->mask, n, 3, 1);
    default: return guided_attention_loss(NULL, c->pred, c->len, (int[]){c->C, 3}, c->B, c->T, c->C, 0.3, 1);
    }
}
static void test_losses(void **state)
{
    static const char *names[] = {"l1", "mse", "bce", "guided_attention"};
    for (int k = 0; k < 4; k++) {
        loss_ctx c = {k, 2, 4, 5, {4, 2}};
        size_t n = 40;
        c.pred = vec(n, 2); c.target = vec(n, 1); c.mask = vec(n, 1);
        for (size_t i = 0; i < n; i++) {
            if (k == 2) c.target[i] = c.target[i] > 0;
            c.mask[i] = c.mask[i] > -0.5;
        }
        double *dp = zeros(n);
        double v = 0;
        if (k == 0) v = l1_loss(dp, c.pred, c.target, c.len, 2, 4, 5, 1);
        if (k == 1) v = mse_loss(dp, c.pred, c.target, c.len, 2, 4, 5, 1);
        if (k == 2) v = bce_logits_loss(dp, c.pred, c.target, c.mask, n, 3, 1);
        if (k == 3) v = guided_attention_loss(dp, c.pred, c.len, (int[]){5, 3}, 2, 4, 5, 0.3, 1);
        assert_true(v > 0 && isfinite(v));
        assert_int_equal(gc_check(names[k], "pred", c.pred, n, dp, loss_eval, &c, 1), 0);
        free(c.pred); free(c.target); free(c.mask); free(dp);
    }
}

/* The checker itself must catch a wrong gradient. */
static void test_checker_catches_errors(void **state)
{
    lin_ctx c = {2, 3, 2};
    c.x = vec(6, 1); c.w = vec(6, 1); c.b = vec(2, 1); c.out = zeros(4); c.R = vec(4, 1);
    double *dw = zeros(6);
    linear_backward(NULL, dw, NULL, c.R, c.x, c.w, c.N, c.NI, c.O);
    dw[3] *= 1.01;
    fprintf(stderr, "(one mismatch expected below)\n");
    assert_int_equal(gc_check("linear", "w", c.w, 6, dw, lin_loss, &c, 1), 1);
    free(c.x); free(c.w); free(c.b); free(c.out); free(c.R); free(dw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),     cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_conv1d),     cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_lstm),       cmocka_unit_test(test_gru),
        cmocka_unit_test(test_attention),  cmocka_unit_test(test_losses),
        cmocka_unit_test(test_checker_catches_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
