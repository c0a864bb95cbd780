/*
 * taco.c - the acoustic model's parameter table and its training pass
 * (forward with teacher forcing, losses, backward).  Inference is in
 * taco_infer.c, files in taco_io.c.
 *
 * Shapes: B batch, N symbols, T frames (a multiple of r), S = T/r decoder
 * steps, M mel bands, D = 2*enc_lstm memory width, A attention width.
 * Decoder tensors are step-major: (S,B,.) so one step's rows are contiguous,
 * and the recurrent weight gradients are one product over all S*B rows.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

NN_API taco_config taco_config_default(int n_symbols)
{
    taco_config c = {
        .n_symbols = n_symbols, .emb = 256, .enc_convs = 3, .enc_ch = 256, .enc_k = 5,
        .enc_batchnorm = 1,
        .enc_lstm = 128, .att_dim = 128, .loc_filters = 32, .loc_k = 31, .prenet1 = 256,
        .prenet2 = 128, .att_rnn = 256, .dec_rnn = 256, .n_mels = 80, .r = 3,
        .post_convs = 5, .post_ch = 128, .post_k = 5, .enc_dropout = 0.5f,
        .prenet_dropout = 0.5f,
        .sample_rate = 22050, .n_fft = 1024, .hop = 256, .win = 1024, .fmin = 0, .fmax = 8000,
    };
    return c;
}

NN_API dsp_params taco_dsp_params(const taco_config *c)
{
    dsp_params p = dsp_params_default();
    p.sample_rate = c->sample_rate;
    p.n_fft = c->n_fft;
    p.hop = c->hop;
    p.win = c->win;
    p.n_mels = c->n_mels;
    p.fmin = c->fmin;
    p.fmax = c->fmax;
    return p;
}

NN_API taco_train_opts taco_train_opts_default(void)
{
    taco_train_opts o = {.guided_weight = 10, .guided_g = 0.2f, .stop_weight = 1,
                         .stop_pos_weight = 5, .dropout = 1, .bn_running = 0};
    return o;
}

static void add_param(taco_model *m, const char *name, int d0, int d1, int d2)
{
    taco_param *p = &m->params[m->n_params++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->shape[0] = d0; p->shape[1] = d1; p->shape[2] = d2;
    p->ndim = d2 ? 3 : d1 ? 2 : 1;
    p->size = (size_t)d0 * (d1 ? d1 : 1) * (d2 ? d2 : 1);
    p->offset = m->n_floats;
    m->n_floats += p->size;
}

NN_API int taco_layout(taco_model *m, const taco_config *c)
{
    if (c->n_symbols < 3 || c->n_symbols > 4096 || c->emb < 1 || c->enc_convs < 1 ||
        c->enc_convs > TACO_MAX_CONV || c->post_convs < 2 || c->post_convs > TACO_MAX_CONV ||
        c->n_mels < 1 || c->n_mels > TACO_MAX_MELS || c->r < 1 || c->r > 8 ||
        c->enc_k % 2 == 0 || c->loc_k % 2 == 0 || c->post_k % 2 == 0 || c->enc_ch < 1 ||
        (c->enc_batchnorm != 0 && c->enc_batchnorm != 1) ||
        c->enc_lstm < 1 || c->att_dim < 1 || c->loc_filters < 1 || c->prenet1 < 1 ||
        c->prenet2 < 1 || c->att_rnn < 1 || c->dec_rnn < 1 || c->post_ch < 1 ||
        c->enc_k > 63 || c->loc_k > 255 || c->post_k > 63 || c->emb > 4096 || c->enc_ch > 4096 ||
        c->enc_lstm > 4096 || c->att_dim > 4096 || c->loc_filters > 1024 || c->prenet1 > 4096 ||
        c->prenet2 > 4096 || c->att_rnn > 4096 || c->dec_rnn > 4096 || c->post_ch > 4096 ||
        !(c->enc_dropout >= 0 && c->enc_dropout < 1) ||
        !(c->prenet_dropout >= 0 && c->prenet_dropout < 1))
        return -1;
    m->cfg = *c;
    m->n_params = 0;
    m->n_floats = 0;
    char name[40];
    int D = 2 * c->enc_lstm, H = c->enc_lstm, M = c->n_mels;
    add_param(m, "encoder.embedding", c->n_symbols, c->emb, 0);
    for (int i = 0; i < c->enc_convs; i++) {
        snprintf(name, sizeof name, "encoder.conv%d.weight", i);
        add_param(m, name, c->enc_ch, c->enc_k, i ? c->enc_ch : c->emb);
        snprintf(name, sizeof name, "encoder.conv%d.bias", i);
        add_param(m, name, c->enc_ch, 0, 0);
        if (c->enc_batchnorm) {
            snprintf(name, sizeof name, "encoder.conv%d.bn.gamma", i); add_param(m, name, c->enc_ch, 0, 0);
            snprintf(name, sizeof name, "encoder.conv%d.bn.beta", i); add_param(m, name, c->enc_ch, 0, 0);
        }
    }
    static const char *dirs[2] = {"forward", "backward"};
    for (int d = 0; d < 2; d++) {
        snprintf(name, sizeof name, "encoder.lstm.%s.wih", dirs[d]); add_param(m, name, 4 * H, c->enc_ch, 0);
        snprintf(name, sizeof name, "encoder.lstm.%s.whh", dirs[d]); add_param(m, name, 4 * H, H, 0);
        snprintf(name, sizeof name, "encoder.lstm.%s.bih", dirs[d]); add_param(m, name, 4 * H, 0, 0);
        snprintf(name, sizeof name, "encoder.lstm.%s.bhh", dirs[d]); add_param(m, name, 4 * H, 0, 0);
    }
    add_param(m, "attention.memory.weight", c->att_dim, D, 0);
    add_param(m, "attention.memory.bias", c->att_dim, 0, 0);
    add_param(m, "attention.query.weight", c->att_dim, c->att_rnn, 0);
    add_param(m, "attention.location.conv", c->loc_filters, c->loc_k, 2);
    add_param(m, "attention.location.dense", c->att_dim, c->loc_filters, 0);
    add_param(m, "attention.v", c->att_dim, 0, 0);
    add_param(m, "decoder.prenet0.weight", c->prenet1, M, 0);
    add_param(m, "decoder.prenet0.bias", c->prenet1, 0, 0);
    add_param(m, "decoder.prenet1.weight", c->prenet2, c->prenet1, 0);
    add_param(m, "decoder.prenet1.bias", c->prenet2, 0, 0);
    add_param(m, "decoder.attention_rnn.wih", 3 * c->att_rnn, c->prenet2 + D, 0);
    add_param(m, "decoder.attention_rnn.whh", 3 * c->att_rnn, c->att_rnn, 0);
    add_param(m, "decoder.attention_rnn.bih", 3 * c->att_rnn, 0, 0);
    add_param(m, "decoder.attention_rnn.bhh", 3 * c->att_rnn, 0, 0);
    add_param(m, "decoder.decoder_rnn.wih", 3 * c->dec_rnn, c->att_rnn + D, 0);
    add_param(m, "decoder.decoder_rnn.whh", 3 * c->dec_rnn, c->dec_rnn, 0);
    add_param(m, "decoder.decoder_rnn.bih", 3 * c->dec_rnn, 0, 0);
    add_param(m, "decoder.decoder_rnn.bhh", 3 * c->dec_rnn, 0, 0);
    add_param(m, "decoder.projection.weight", c->r * (M + 1), c->dec_rnn + D, 0);
    add_param(m, "decoder.projection.bias", c->r * (M + 1), 0, 0);
    for (int i = 0; i < c->post_convs; i++) {
        int ci = i ? c->post_ch : M, co = i == c->post_convs - 1 ? M : c->post_ch;
        snprintf(name, sizeof name, "postnet.conv%d.weight", i); add_param(m, name, co, c->post_k, ci);
        snprintf(name, sizeof name, "postnet.conv%d.bias", i); add_param(m, name, co, 0, 0);
    }
    /* buffers last: the optimizer runs over the first n_trained floats */
    m->n_trained = m->n_floats;
    for (int i = 0; c->enc_batchnorm && i < c->enc_convs; i++) {
        snprintf(name, sizeof name, "encoder.conv%d.bn.running_mean", i); add_param(m, name, c->enc_ch, 0, 0);
        m->params[m->n_params - 1].buffer = 1;
        snprintf(name, sizeof name, "encoder.conv%d.bn.running_var", i); add_param(m, name, c->enc_ch, 0, 0);
        m->params[m->n_params - 1].buffer = 1;
    }
    for (int i = 0; i < M; i++) { m->mel_mean[i] = 0; m->mel_std[i] = 1; }
    return 0;
}

NN_API void taco_point(const taco_model *m, real *base, taco_weights *w)
{
    real *p[TACO_MAX_PARAMS];
    for (int i = 0; i < m->n_params; i++) p[i] = base + m->params[i].offset;
    int k = 0;
    memset(w, 0, sizeof *w);
    w->emb = p[k++];
    int bn = m->cfg.enc_batchnorm;
    for (int i = 0; i < m->cfg.enc_convs; i++) {
        w->conv_w[i] = p[k++]; w->conv_b[i] = p[k++];
        if (bn) { w->bn_gamma[i] = p[k++]; w->bn_beta[i] = p[k++]; }
    }
    w->lf_wih = p[k++]; w->lf_whh = p[k++]; w->lf_bih = p[k++]; w->lf_bhh = p[k++];
    w->lb_wih = p[k++]; w->lb_whh = p[k++]; w->lb_bih = p[k++]; w->lb_bhh = p[k++];
    w->mem_w = p[k++]; w->mem_b = p[k++]; w->query_w = p[k++]; w->loc_w = p[k++];
    w->loc_dense = p[k++]; w->att_v = p[k++];
    w->pre1_w = p[k++]; w->pre1_b = p[k++]; w->pre2_w = p[k++]; w->pre2_b = p[k++];
    w->arnn_wih = p[k++]; w->arnn_whh = p[k++]; w->arnn_bih = p[k++]; w->arnn_bhh = p[k++];
    w->drnn_wih = p[k++]; w->drnn_whh = p[k++]; w->drnn_bih = p[k++]; w->drnn_bhh = p[k++];
    w->proj_w = p[k++]; w->proj_b = p[k++];
    for (int i = 0; i < m->cfg.post_convs; i++) { w->post_w[i] = p[k++]; w->post_b[i] = p[k++]; }
    for (int i = 0; bn && i < m->cfg.enc_convs; i++) { w->bn_mean[i] = p[k++]; w->bn_var[i] = p[k++]; }
}

NN_API void taco_init_random(taco_model *m, nn_rng *rng)
{
    for (int i = 0; i < m->n_params; i++) {
        const taco_param *p = &m->params[i];
        real *x = m->data + p->offset;
        if (p->ndim == 1) {
            int is_v = strcmp(p->name, "attention.v") == 0;
            double s = is_v ? sqrt(3.0 / p->shape[0]) : 0;
            for (size_t j = 0; j < p->size; j++) x[j] = is_v ? s * (2 * nn_rng_uniform(rng) - 1) : 0;
            continue;
        }
        /* fan_in = product of all dims but the first; Xavier-uniform */
        double fan_in = (double)p->size / p->shape[0], fan_out = p->shape[0];
        if (p->ndim == 3) fan_out *= p->shape[1];
        double lim = sqrt(6.0 / (fan_in + fan_out));
        if (strcmp(p->name, "encoder.embedding") == 0) lim = sqrt(3.0);
        for (size_t j = 0; j < p->size; j++) x[j] = lim * (2 * nn_rng_uniform(rng) - 1);
    }
    /* LSTM forget gates start open */
    int H = m->cfg.enc_lstm;
    for (int j = 0; j < H; j++) { m->w.lf_bih[H + j] = 1; m->w.lb_bih[H + j] = 1; }
    /* batch norm starts as the identity on unit-variance inputs */
    for (int i = 0; m->cfg.enc_batchnorm && i < m->cfg.enc_convs; i++)
        for (int j = 0; j < m->cfg.enc_ch; j++) { m->w.bn_gamma[i][j] = 1; m->w.bn_var[i][j] = 1; }
}

/* ------------------------------------------------------------ workspace */

struct taco_train_ws {
    size_t cap;        /* floats allocated in mem */
    real *mem;
    int B, N, T, S;
    /* encoder */
    real *emb, *ecol[TACO_MAX_CONV], *eact[TACO_MAX_CONV], *emask[TACO_MAX_CONV], *eout[TACO_MAX_CONV];
    /* batch norm: the conv output (B,N,C) it normalizes, and the mean and
       variance (C) it normalized by, for backward and taco_bn_update */
    real *econv[TACO_MAX_CONV], *bmean[TACO_MAX_CONV], *bvar[TACO_MAX_CONV];
    size_t bn_rows;                               /* valid encoder rows of the batch */
    int bn_batch;                                 /* 1: bmean/bvar are this batch's statistics,
                                                     0: copies of the running ones */
    real *lf_cache, *lb_cache, *hf, *hb, *enc, *pm, *lscratch;
    /* decoder */
    real *xin, *p1, *p1m, *p2, *p2m;              /* (S,B,M) (S,B,P1) masks, (S,B,P2) */
    real *xatt, *hatt, *catt, *gx, *gh;           /* (S,B,P2+D), (S+1,B,Ha), (S,B,4Ha) */
    real *align, *actx, *af, *as, *acol, *ascr;   /* (S,B,N), (S,B,D), (S,B,N,F), (S,B,N,A) */
    real *cum;                                    /* (B,N) running cumulative weights */
    real *xdec, *hdec, *cdec;                     /* (S,B,Ha+D), (S+1,B,Hd), (S,B,4Hd) */
    real *xout, *y;                               /* (S,B,Hd+D), (S,B,r(M+1)) */
    real *mel0, *stop, *stopt, *stopm;            /* (B,T,M), (B,T) x3 */
    real *pcol[TACO_MAX_CONV], *pact[TACO_MAX_CONV], *mel1; /* postnet */
    real *gat;                                    /* (B,S,N) alignment for the GA loss */
    /* gradients of activations */
    real *d_mel1, *d_mel0, *d_post[2], *d_pcol, *d_y, *d_stop, *d_xout;
    real *d_hatt, *d_hdec, *d_ctx, *d_ctxc, *d_xatt_row, *d_xdec_row, *d_gxa, *d_gha, *d_gxd, *d_ghd;
    real *d_align, *d_gat, *d_aprev, *d_cum, *d_ascr, *d_pm, *d_enc, *d_p2, *d_p1, *d_hf, *d_hb;
    real *d_eout, *d_ein, *d_ecol, *d_lscr, *d_ebn, *d_bnscr;
    int *nlen_s;                                  /* (B) decoder steps per item */
    int *tlen;                                    /* (B) */
};

NN_API void taco_train_ws_free(taco_train_ws *ws)
{
    if (!ws) return;
    free(ws->mem);
    free(ws->nlen_s);
    free(ws->tlen);
    free(ws);
}

/* Next buffer of n floats from mem (NULL while only sizing), 64-byte steps. */
static real *take(real *mem, size_t *off, size_t n)
{
    real *p = mem ? mem + *off : NULL;
    *off += (n + 15) & ~(size_t)15;
    return p;
}

/* Lay out (and when mem != NULL, point) every buffer; returns floats needed. */
static size_t ws_layout(taco_train_ws *w, const taco_config *c, int B, int N, int T, real *mem)
{
    size_t off = 0;
    int S = T / c->r, M = c->n_mels, D = 2 * c->enc_lstm, H = c->enc_lstm, A = c->att_dim;
    int F = c->loc_filters, K = c->loc_k, Ha = c->att_rnn, Hd = c->dec_rnn, R = c->r * (M + 1);
    int P1 = c->prenet1, P2 = c->prenet2, C = c->enc_ch, E = c->emb, PC = c->post_ch;
    size_t BN = (size_t)B * N, SB = (size_t)S * B, BT = (size_t)B * T;
    int maxc = C > E ? C : E;
#define T_(field, n) (w->field = take(mem, &off, (n)))
    T_(emb, BN * E);
    for (int i = 0; i < c->enc_convs; i++) {
        int ci = i ? C : E;
        T_(ecol[i], BN * c->enc_k * ci); T_(eact[i], BN * C); T_(emask[i], BN * C); T_(eout[i], BN * C);
        if (c->enc_batchnorm) { T_(econv[i], BN * C); T_(bmean[i], C); T_(bvar[i], C); }
    }
    T_(lf_cache, lstm_cache_floats(B, N, H)); T_(lb_cache, lstm_cache_floats(B, N, H));
    T_(hf, BN * H); T_(hb, BN * H); T_(enc, BN * D); T_(pm, BN * A); T_(lscratch, (size_t)B * 8 * H);
    T_(xin, SB * M); T_(p1, SB * P1); T_(p1m, SB * P1); T_(p2, SB * P2); T_(p2m, SB * P2);
    T_(xatt, SB * (P2 + D)); T_(hatt, (SB + B) * Ha); T_(catt, SB * 4 * Ha);
    T_(gx, (size_t)B * 3 * (Ha > Hd ? Ha : Hd)); T_(gh, (size_t)B * 3 * (Ha > Hd ? Ha : Hd));
    T_(align, SB * N); T_(actx, SB * D); T_(af, SB * N * F); T_(as, SB * N * A);
    T_(acol, SB * N * 2 * K); T_(ascr, (size_t)B * A + 2 * ((size_t)N + K)); T_(cum, BN);
    T_(xdec, SB * (Ha + D)); T_(hdec, (SB + B) * Hd); T_(cdec, SB * 4 * Hd);
    T_(xout, SB * (Hd + D)); T_(y, SB * R);
    T_(mel0, BT * M); T_(stop, BT); T_(stopt, BT); T_(stopm, BT);
    for (int i = 0; i < c->post_convs; i++) {
        int ci = i ? PC : M;
        T_(pcol[i], BT * c->post_k * ci); T_(pact[i], BT * (i == c->post_convs - 1 ? M : PC));
    }
    T_(mel1, BT * M); T_(gat, SB * N);
    T_(d_mel1, BT * M); T_(d_mel0, BT * M); T_(d_post[0], BT * (PC > M ? PC : M));
    T_(d_post[1], BT * (PC > M ? PC : M)); T_(d_pcol, BT * c->post_k * (PC > M ? PC : M));
    T_(d_y, SB * R); T_(d_stop, BT); T_(d_xout, SB * (Hd + D));
    T_(d_hatt, (size_t)B * Ha); T_(d_hdec, (size_t)B * Hd); T_(d_ctx, (size_t)B * D);
    T_(d_ctxc, (size_t)B * D); T_(d_xatt_row, (size_t)B * (P2 + D)); T_(d_xdec_row, (size_t)B * (Ha + D));
    T_(d_gxa, SB * 3 * Ha); T_(d_gha, SB * 3 * Ha); T_(d_gxd, SB * 3 * Hd); T_(d_ghd, SB * 3 * Hd);
    T_(d_align, SB * N); T_(d_gat, SB * N); T_(d_aprev, BN); T_(d_cum, BN);
    T_(d_ascr, BN * A + BN * F + BN * 2 * K + BN * 2 + (size_t)B * A);
    T_(d_pm, BN * A); T_(d_enc, BN * D); T_(d_p2, SB * P2); T_(d_p1, SB * P1);
    T_(d_hf, BN * H); T_(d_hb, BN * H); T_(d_eout, BN * maxc); T_(d_ein, BN * maxc);
    T_(d_ecol, BN * c->enc_k * maxc); T_(d_lscr, BN * 4 * H + 3 * (size_t)B * H);
    if (c->enc_batchnorm) { T_(d_ebn, BN * C); T_(d_bnscr, 2 * (size_t)C); }
#undef T_
    return off;
}

static int ws_prepare(taco_train_ws **pws, const taco_config *c, int B, int N, int T)
{
    taco_train_ws *w = *pws;
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) return -1;
        *pws = w;
    }
    taco_train_ws probe = {0};
    size_t need = ws_layout(&probe, c, B, N, T, NULL);
    if (need > w->cap) {
        free(w->mem);
        w->mem = malloc(sizeof(real) * need);
        w->cap = w->mem ? need : 0;
        if (!w->mem) return -1;
    }
    free(w->nlen_s); free(w->tlen);
    w->nlen_s = malloc(sizeof(int) * B);
    w->tlen = malloc(sizeof(int) * B);
    if (!w->nlen_s || !w->tlen) return -1;
    size_t cap = w->cap; real *mem = w->mem; int *ns = w->nlen_s, *tl = w->tlen;
    memset(w, 0, sizeof *w);  /* also clears bn_batch: no statistics until a forward pass */
    w->cap = cap; w->mem = mem; w->nlen_s = ns; w->tlen = tl;
    ws_layout(w, c, B, N, T, mem);
    w->B = B; w->N = N; w->T = T; w->S = T / c->r;
    return 0;
}

NN_API const real *taco_train_alignment(const taco_train_ws *ws, int *S, int *B, int *N)
{
    *S = ws->S; *B = ws->B; *N = ws->N;
    return ws->align;
}

NN_API const real *taco_train_mel(const taco_train_ws *ws) { return ws->mel1; }
NN_API const real *taco_train_mel_before(const taco_train_ws *ws) { return ws->mel0; }

NN_API const real *taco_train_inputs(const taco_train_ws *ws, int *T_dec, int *B)
{
    *T_dec = ws->S;
    *B = ws->B;
    return ws->xin;
}

NN_API void taco_bn_update(taco_model *m, const taco_train_ws *ws)
{
    if (!m->cfg.enc_batchnorm || !ws || !ws->bn_batch) return;
    for (int i = 0; i < m->cfg.enc_convs; i++)
        batchnorm_update_running(m->w.bn_mean[i], m->w.bn_var[i], ws->bmean[i], ws->bvar[i],
                                 ws->bn_rows, m->cfg.enc_ch, (real)NN_BN_MOMENTUM);
}

/* ------------------------------------------------------------- the pass */

/* The prenet of rows [row0, row0 + n) of the decoder inputs w->xin, with the
 * masks already drawn; d_p1 keeps layer 1's dropped output for layer 2. */
static void prenet_rows(taco_train_ws *w, const taco_weights *W, size_t row0, int n, int M, int P1,
                        int P2)
{
    real *p1 = w->p1 + row0 * P1, *dp1 = w->d_p1 + row0 * P1, *p2 = w->p2 + row0 * P2;
    linear_forward(p1, w->xin + row0 * M, W->pre1_w, W->pre1_b, n, M, P1);
    relu_forward(p1, p1, (size_t)n * P1);
    dropout_forward(dp1, p1, w->p1m + row0 * P1, (size_t)n * P1);
    linear_forward(p2, dp1, W->pre2_w, W->pre2_b, n, P1, P2);
    relu_forward(p2, p2, (size_t)n * P2);
}

/* An item's own random stream `which` (encoder layer, prenet layer, free
 * running), from its seed: the same draws wherever the item stands. */
static nn_rng item_rng(uint64_t seed, uint64_t which)
{
    nn_rng r = {seed * 0x9E3779B97F4A7C15ull + (which + 1) * 0xD1B54A32D192ED03ull};
    return r;
}

/* Dropout masks of the rows (s, b) of an (S,B,P) array, or of the (B,N,C)
 * block: per item from its seed when the batch has seeds, else in order. */
static void item_masks_sbp(real *mask, const taco_batch *bt, int S, int B, int P, real p, uint64_t which,
                           nn_rng *rng)
{
    if (!bt->seeds) { dropout_mask(mask, (size_t)S * B * P, p, rng); return; }
    for (int b = 0; b < B; b++) {
        nn_rng r = item_rng(bt->seeds[b], which);
        for (int s = 0; s < S; s++) dropout_mask(mask + ((size_t)s * B + b) * P, (size_t)P, p, &r);
    }
}

static void item_masks_bnc(real *mask, const taco_batch *bt, int B, size_t NC, real p, uint64_t which,
                           nn_rng *rng)
{
    if (!bt->seeds) { dropout_mask(mask, (size_t)B * NC, p, rng); return; }
    for (int b = 0; b < B; b++) {
        nn_rng r = item_rng(bt->seeds[b], which);
        dropout_mask(mask + (size_t)b * NC, NC, p, &r);
    }
}

/* Batch-norm statistics of this share, summed over every share when the
 * batch is split (parallel-variance combination in double); returns the
 * number of valid rows of the whole batch. */
static size_t bn_batch_stats(real *mean, real *var, const real *x, const int *len, int B, int N, int C,
                             const taco_shard *sh)
{
    size_t n = batchnorm_stats(mean, var, x, len, B, N, C);
    if (!sh || !sh->allreduce) return n;
    double *acc = malloc(sizeof(double) * (2 * (size_t)C + 1));
    if (!acc) return n;  /* the caller's allocation checks come first; cannot happen in practice */
    for (int c = 0; c < C; c++) {
        acc[c] = (double)n * mean[c];
        acc[C + c] = (double)n * ((double)var[c] + (double)mean[c] * mean[c]);
    }
    acc[2 * C] = (double)n;
    sh->allreduce(acc, 2 * C + 1, sh->user);
    double gn = acc[2 * C];
    for (int c = 0; gn > 0 && c < C; c++) {
        double mu = acc[c] / gn, v = acc[C + c] / gn - mu * mu;
        mean[c] = (real)mu;
        var[c] = (real)(v > 0 ? v : 0);
    }
    free(acc);
    return (size_t)gn;
}

/* Batch norm backward over a split batch: dgamma and dbeta from this share
 * (the gradients are summed over the shares afterwards), the input gradient
 * from the whole batch's sums. */
static void bn_backward_shared(real *dinp, real *dgamma, real *dbeta, real *scr, const real *dout,
                               const real *inp, const real *mean, const real *var, const real *gamma,
                               const int *len, int B, int N, int C, const taco_shard *sh)
{
    real *sum_d = scr, *sum_dx = scr + C;
    size_t n = batchnorm_grad_sums(sum_d, sum_dx, dout, inp, mean, var, len, B, N, C);
    for (int c = 0; c < C; c++) { dbeta[c] += sum_d[c]; dgamma[c] += sum_dx[c]; }
    double *acc = malloc(sizeof(double) * (2 * (size_t)C + 1));
    if (!acc) return;
    for (int c = 0; c < C; c++) { acc[c] = sum_d[c]; acc[C + c] = sum_dx[c]; }
    acc[2 * C] = (double)n;
    sh->allreduce(acc, 2 * C + 1, sh->user);
    for (int c = 0; c < C; c++) { sum_d[c] = (real)acc[c]; sum_dx[c] = (real)acc[C + c]; }
    batchnorm_grad_input(dinp, dout, inp, mean, var, gamma, sum_d, sum_dx, (size_t)acc[2 * C], len, B, N,
                         C, 1);
    free(acc);
}

NN_API int taco_train_step(const taco_model *m, real *grad, const taco_batch *bt,
                           const taco_train_opts *o, nn_rng *rng, taco_train_ws **pws,
                           taco_loss *loss)
{
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    int B = bt->B, N = bt->N, T = bt->T, r = c->r;
    if (T % r != 0 || B < 1 || N < 1 || T < r) return -1;
    if (ws_prepare(pws, c, B, N, T)) return -1;
    taco_train_ws *w = *pws;
    int S = T / r, M = c->n_mels, D = 2 * c->enc_lstm, H = c->enc_lstm, A = c->att_dim;
    int Ha = c->att_rnn, Hd = c->dec_rnn, R = r * (M + 1), P1 = c->prenet1, P2 = c->prenet2;
    int C = c->enc_ch, E = c->emb, PC = c->post_ch, NC = c->enc_convs, NP = c->post_convs;
    size_t BN = (size_t)B * N, SB = (size_t)S * B, BT = (size_t)B * T;
    attn_dims ad = {.B = B, .N = N, .D = D, .A = A, .Q = Ha, .F = c->loc_filters, .K = c->loc_k};
    for (int b = 0; b < B; b++) {
        w->tlen[b] = bt->tlen[b] < T ? bt->tlen[b] : T;
        w->nlen_s[b] = (w->tlen[b] + r - 1) / r;
    }

    /* ---- encoder ---- */
    embedding_forward(w->emb, bt->ids, W->emb, (int)BN, E);
    mask_rows(w->emb, bt->nlen, B, N, E);
    const real *ein = w->emb;
    int bn = c->enc_batchnorm, bn_batch = bn && !o->bn_running;
    w->bn_batch = 0;
    for (int i = 0; i < NC; i++) {
        int ci = i ? C : E;
        conv1d_forward(bn ? w->econv[i] : w->eact[i], w->ecol[i], ein, W->conv_w[i], W->conv_b[i],
                       B, N, ci, C, c->enc_k);
        if (bn) {
            if (bn_batch) {
                w->bn_rows = bn_batch_stats(w->bmean[i], w->bvar[i], w->econv[i], bt->nlen, B, N, C, o->shard);
            } else {
                memcpy(w->bmean[i], W->bn_mean[i], sizeof(real) * C);
                memcpy(w->bvar[i], W->bn_var[i], sizeof(real) * C);
            }
            batchnorm_forward(w->eact[i], w->econv[i], w->bmean[i], w->bvar[i], W->bn_gamma[i],
                              W->bn_beta[i], bt->nlen, B, N, C);
        }
        relu_forward(w->eact[i], w->eact[i], BN * C);
        if (o->dropout == 1) item_masks_bnc(w->emask[i], bt, B, (size_t)N * C, c->enc_dropout, (uint64_t)i, rng);
        else for (size_t j = 0; j < BN * C; j++) w->emask[i][j] = 1;
        dropout_forward(w->eout[i], w->eact[i], w->emask[i], BN * C);
        mask_rows(w->eout[i], bt->nlen, B, N, C);
        ein = w->eout[i];
    }
    w->bn_batch = bn_batch;
    lstm_cache lfc, lbc;
    lstm_cache_point(&lfc, w->lf_cache, B, N, H);
    lstm_cache_point(&lbc, w->lb_cache, B, N, H);
    lstm_forward(w->hf, &lfc, w->lscratch, ein, W->lf_wih, W->lf_whh, W->lf_bih, W->lf_bhh, bt->nlen, B, N, C, H, 0);
    lstm_forward(w->hb, &lbc, w->lscratch, ein, W->lb_wih, W->lb_whh, W->lb_bih, W->lb_bhh, bt->nlen, B, N, C, H, 1);
    for (size_t i = 0; i < BN; i++) {
        memcpy(w->enc + i * D, w->hf + i * H, sizeof(real) * H);
        memcpy(w->enc + i * D + H, w->hb + i * H, sizeof(real) * H);
    }
    linear_forward(w->pm, w->enc, W->mem_w, W->mem_b, (int)BN, D, A);

    /* ---- decoder inputs: the last frame of the previous step (teacher forcing,
     *      or the frames the caller gives in mel_in) ---- */
    const real *fed = bt->mel_in ? bt->mel_in : bt->mel;
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++) {
            real *x = w->xin + ((size_t)s * B + b) * M;
            if (s == 0) memset(x, 0, sizeof(real) * M);
            else memcpy(x, fed + ((size_t)b * T + s * r - 1) * M, sizeof(real) * M);
        }
    /* the prenet runs over all steps at once, or, when the decoder may be fed
       its own frames (free_run), step by step inside the loop; the dropout
       masks are drawn here either way, so both passes draw the same ones */
    int free_run = o->free_run > 0;
    nn_rng frng = {o->free_run_seed};
    nn_rng *item_free = NULL;  /* per item, when the batch has seeds */
    if (free_run && bt->seeds) {
        item_free = malloc(sizeof(nn_rng) * B);
        if (!item_free) return -1;
        for (int b = 0; b < B; b++) item_free[b] = item_rng(bt->seeds[b], 32);
    }
    if (o->dropout) item_masks_sbp(w->p1m, bt, S, B, P1, c->prenet_dropout, 16, rng);
    else for (size_t j = 0; j < SB * P1; j++) w->p1m[j] = 1;
    if (o->dropout) item_masks_sbp(w->p2m, bt, S, B, P2, c->prenet_dropout, 17, rng);
    else for (size_t j = 0; j < SB * P2; j++) w->p2m[j] = 1;
    if (!free_run) prenet_rows(w, W, 0, (int)SB, M, P1, P2);

    /* ---- decoder loop ---- */
    memset(w->hatt, 0, sizeof(real) * B * Ha);
    memset(w->hdec, 0, sizeof(real) * B * Hd);
    memset(w->cum, 0, sizeof(real) * BN);
    for (int s = 0; s < S; s++) {
        if (free_run) {
            for (int b = 0; s > 0 && b < B; b++)
                if (nn_rng_uniform(item_free ? &item_free[b] : &frng) < o->free_run)
                    memcpy(w->xin + ((size_t)s * B + b) * M,
                           w->y + ((size_t)(s - 1) * B + b) * R + (size_t)(r - 1) * (M + 1), sizeof(real) * M);
            prenet_rows(w, W, (size_t)s * B, B, M, P1, P2);
        }
        real *xa = w->xatt + (size_t)s * B * (P2 + D);
        const real *ctx_prev = s ? w->actx + (size_t)(s - 1) * B * D : NULL;
        for (int b = 0; b < B; b++) {
            real *row = xa + (size_t)b * (P2 + D);
            const real *p2 = w->p2 + ((size_t)s * B + b) * P2, *mk = w->p2m + ((size_t)s * B + b) * P2;
            for (int j = 0; j < P2; j++) row[j] = p2[j] * mk[j];
            if (ctx_prev) memcpy(row + P2, ctx_prev + (size_t)b * D, sizeof(real) * D);
            else memset(row + P2, 0, sizeof(real) * D);
        }
        real *ha_prev = w->hatt + (size_t)s * B * Ha, *ha = ha_prev + (size_t)B * Ha;
        gru_cell_forward(ha, w->catt + (size_t)s * B * 4 * Ha, w->gx, w->gh, xa, ha_prev,
                         W->arnn_wih, W->arnn_whh, W->arnn_bih, W->arnn_bhh, B, P2 + D, Ha,
                         m->packed ? m->packed->arnn : NULL);
        real *a = w->align + (size_t)s * BN, *ctx = w->actx + (size_t)s * B * D;
        const real *aprev = s ? a - BN : w->d_aprev;  /* d_aprev is zero here: used as zeros */
        if (!s) memset(w->d_aprev, 0, sizeof(real) * BN);
        attention_forward(a, ctx, w->af + (size_t)s * BN * ad.F, w->as + (size_t)s * BN * A,
                          w->acol + (size_t)s * BN * 2 * ad.K, w->ascr, ha, w->enc, w->pm, aprev,
                          w->cum, W->loc_w, W->loc_dense, W->query_w, W->att_v, bt->nlen, ad,
                          m->packed ? m->packed->att : NULL);
        for (size_t j = 0; j < BN; j++) w->cum[j] += a[j];
        real *xd = w->xdec + (size_t)s * B * (Ha + D);
        real *xo = w->xout + (size_t)s * B * (Hd + D);
        for (int b = 0; b < B; b++) {
            memcpy(xd + (size_t)b * (Ha + D), ha + (size_t)b * Ha, sizeof(real) * Ha);
            memcpy(xd + (size_t)b * (Ha + D) + Ha, ctx + (size_t)b * D, sizeof(real) * D);
        }
        real *hd_prev = w->hdec + (size_t)s * B * Hd, *hd = hd_prev + (size_t)B * Hd;
        gru_cell_forward(hd, w->cdec + (size_t)s * B * 4 * Hd, w->gx, w->gh, xd, hd_prev,
                         W->drnn_wih, W->drnn_whh, W->drnn_bih, W->drnn_bhh, B, Ha + D, Hd,
                         m->packed ? m->packed->drnn : NULL);
        for (int b = 0; b < B; b++) {
            memcpy(xo + (size_t)b * (Hd + D), hd + (size_t)b * Hd, sizeof(real) * Hd);
            memcpy(xo + (size_t)b * (Hd + D) + Hd, ctx + (size_t)b * D, sizeof(real) * D);
        }
        if (free_run) linear_forward(w->y + (size_t)s * B * R, xo, W->proj_w, W->proj_b, B, Hd + D, R);
    }
    free(item_free);
    if (!free_run) linear_forward(w->y, w->xout, W->proj_w, W->proj_b, (int)SB, Hd + D, R);
    /* unpack (S,B,r(M+1)) into frames (B,T,M) and stop logits (B,T) */
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < r; k++) {
                const real *src = w->y + ((size_t)s * B + b) * R + (size_t)k * (M + 1);
                size_t f = (size_t)b * T + s * r + k;
                memcpy(w->mel0 + f * M, src, sizeof(real) * M);
                w->stop[f] = src[M];
            }

    /* ---- postnet: zero beyond each item's end, as at inference ---- */
    const real *pin = w->mel0;
    memcpy(w->d_mel0, w->mel0, sizeof(real) * BT * M);  /* masked copy as the first input */
    mask_rows(w->d_mel0, w->tlen, B, T, M);
    pin = w->d_mel0;
    for (int i = 0; i < NP; i++) {
        int ci = i ? PC : M, co = i == NP - 1 ? M : PC;
        conv1d_forward(w->pact[i], w->pcol[i], pin, W->post_w[i], W->post_b[i], B, T, ci, co, c->post_k);
        if (i < NP - 1) {
            tanh_forward(w->pact[i], w->pact[i], BT * co);
            mask_rows(w->pact[i], w->tlen, B, T, co);
        }
        pin = w->pact[i];
    }
    for (size_t j = 0; j < BT * M; j++) w->mel1[j] = w->mel0[j] + w->pact[NP - 1][j];

    /* ---- losses ---- */
    real *dm0 = w->d_mel0, *dm1 = w->d_mel1;
    memset(dm0, 0, sizeof(real) * BT * M);
    memset(dm1, 0, sizeof(real) * BT * M);
    memset(w->d_stop, 0, sizeof(real) * BT);
    int want = grad != NULL;
    /* a share of a split batch: gradients normalized by the whole batch's counts */
    real mel_scale = 1, stop_scale = 1, ga_scale = 1;
    if (o->shard) {
        double mel_cells = 0, ga_cells = 0;
        for (int b = 0; b < B; b++) {
            mel_cells += (double)w->tlen[b] * M;
            ga_cells += (double)(w->nlen_s[b] < S ? w->nlen_s[b] : S) * (bt->nlen[b] < N ? bt->nlen[b] : N);
        }
        mel_scale = o->shard->mel_cells > 0 ? (real)(mel_cells / o->shard->mel_cells) : 1;
        stop_scale = o->shard->stop_cells > 0 ? (real)((double)BT / o->shard->stop_cells) : 1;
        ga_scale = o->shard->guided_cells > 0 ? (real)(ga_cells / o->shard->guided_cells) : 1;
    }
    loss->mel_before = l1_loss(want ? dm0 : NULL, w->mel0, bt->mel, w->tlen, B, T, M, mel_scale);
    loss->mel_after = l1_loss(want ? dm1 : NULL, w->mel1, bt->mel, w->tlen, B, T, M, mel_scale);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            w->stopt[(size_t)b * T + t] = t >= w->tlen[b] - 1;
            w->stopm[(size_t)b * T + t] = 1;
        }
    loss->stop = bce_logits_loss(want ? w->d_stop : NULL, w->stop, w->stopt, w->stopm, BT,
                                 o->stop_pos_weight, o->stop_weight * stop_scale);
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++)
            memcpy(w->gat + ((size_t)b * S + s) * N, w->align + ((size_t)s * B + b) * N, sizeof(real) * N);
    memset(w->d_gat, 0, sizeof(real) * SB * N);
    loss->guided = o->guided_weight > 0
        ? guided_attention_loss(want ? w->d_gat : NULL, w->gat, w->nlen_s, bt->nlen, B, S, N,
                                o->guided_g, o->guided_weight * ga_scale)
        : 0;
    loss->total = loss->mel_before + loss->mel_after + o->stop_weight * loss->stop +
                  o->guided_weight * loss->guided;
    {   /* diagonal share, for the progress line */
        double in = 0, all = 0;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < w->nlen_s[b]; s++)
                for (int n = 0; n < bt->nlen[b]; n++) {
                    real a = w->align[((size_t)s * B + b) * N + n];
                    all += a;
                    if (fabs((double)n / bt->nlen[b] - (double)s / w->nlen_s[b]) <= 0.1) in += a;
                }
        loss->diag = all > 0 ? in / all : 0;
    }
    if (!grad) return 0;

    /* ================= backward ================= */
    taco_weights G;
    taco_point(m, grad, &G);

    /* postnet */
    for (size_t j = 0; j < BT * M; j++) dm0[j] += dm1[j];
    real *dcur = w->d_post[0], *dnext = w->d_post[1];
    memcpy(dcur, dm1, sizeof(real) * BT * M);
    for (int i = NP - 1; i >= 0; i--) {
        int ci = i ? PC : M, co = i == NP - 1 ? M : PC;
        if (i < NP - 1) {
            /* dcur is the gradient of the tanh output: go to pre-activation in place */
            for (size_t j = 0; j < BT * co; j++) dcur[j] *= 1 - w->pact[i][j] * w->pact[i][j];
            mask_rows(dcur, w->tlen, B, T, co);
        }
        memset(dnext, 0, sizeof(real) * BT * ci);
        conv1d_backward(dnext, G.post_w[i], G.post_b[i], w->d_pcol, dcur, w->pcol[i], W->post_w[i],
                        B, T, ci, co, c->post_k);
        real *tmp = dcur; dcur = dnext; dnext = tmp;
    }
    mask_rows(dcur, w->tlen, B, T, M);
    for (size_t j = 0; j < BT * M; j++) dm0[j] += dcur[j];

    /* projection */
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < r; k++) {
                real *dst = w->d_y + ((size_t)s * B + b) * R + (size_t)k * (M + 1);
                size_t f = (size_t)b * T + s * r + k;
                memcpy(dst, dm0 + f * M, sizeof(real) * M);
                dst[M] = w->d_stop[f];
            }
    memset(w->d_xout, 0, sizeof(real) * SB * (Hd + D));
    linear_backward(w->d_xout, G.proj_w, G.proj_b, w->d_y, w->xout, W->proj_w, (int)SB, Hd + D, R);

    /* alignment gradient from the guided loss, back to (S,B,N) */
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++)
            memcpy(w->d_align + ((size_t)s * B + b) * N, w->d_gat + ((size_t)b * S + s) * N, sizeof(real) * N);

    memset(w->d_hatt, 0, sizeof(real) * B * Ha);
    memset(w->d_hdec, 0, sizeof(real) * B * Hd);
    memset(w->d_ctxc, 0, sizeof(real) * B * D);
    memset(w->d_aprev, 0, sizeof(real) * BN);
    memset(w->d_cum, 0, sizeof(real) * BN);
    memset(w->d_pm, 0, sizeof(real) * BN * A);
    memset(w->d_enc, 0, sizeof(real) * BN * D);
    memset(w->d_p2, 0, sizeof(real) * SB * P2);
    for (int s = S - 1; s >= 0; s--) {
        const real *xo = w->d_xout + (size_t)s * B * (Hd + D);
        /* d ctx_s: from the output layer, the decoder input, and the next step's attention rnn input */
        for (int b = 0; b < B; b++) {
            real *dh = w->d_hdec + (size_t)b * Hd, *dc = w->d_ctx + (size_t)b * D;
            for (int j = 0; j < Hd; j++) dh[j] += xo[(size_t)b * (Hd + D) + j];
            for (int j = 0; j < D; j++) dc[j] = xo[(size_t)b * (Hd + D) + Hd + j] + w->d_ctxc[(size_t)b * D + j];
        }
        /* decoder rnn */
        real *hd_prev = w->hdec + (size_t)s * B * Hd;
        memset(w->d_xdec_row, 0, sizeof(real) * B * (Ha + D));
        real *dgxd = w->d_gxd + (size_t)s * B * 3 * Hd, *dghd = w->d_ghd + (size_t)s * B * 3 * Hd;
        memcpy(w->gx, w->d_hdec, sizeof(real) * B * Hd);   /* dhn */
        memset(w->d_hdec, 0, sizeof(real) * B * Hd);
        gru_cell_backward(w->d_xdec_row, w->d_hdec, dgxd, dghd, w->gx, w->cdec + (size_t)s * B * 4 * Hd,
                          hd_prev, W->drnn_wih, W->drnn_whh, B, Ha + D, Hd,
                          m->packed ? m->packed->drnn : NULL);
        for (int b = 0; b < B; b++) {
            const real *row = w->d_xdec_row + (size_t)b * (Ha + D);
            for (int j = 0; j < Ha; j++) w->d_hatt[(size_t)b * Ha + j] += row[j];
            for (int j = 0; j < D; j++) w->d_ctx[(size_t)b * D + j] += row[Ha + j];
        }
        /* attention: da = guided + from the next step's aprev + all later steps' cprev */
        real *da = w->d_align + (size_t)s * BN;
        for (size_t j = 0; j < BN; j++) da[j] += w->d_aprev[j] + w->d_cum[j];
        memset(w->d_aprev, 0, sizeof(real) * BN);
        real *dcp_buf = w->d_gat;  /* this step's d cprev; d_gat is free now */
        memset(dcp_buf, 0, sizeof(real) * BN);
        real *ha = w->hatt + (size_t)(s + 1) * B * Ha;
        const real *a = w->align + (size_t)s * BN;
        attention_backward(w->d_hatt, w->d_enc, w->d_pm, s ? w->d_aprev : NULL, dcp_buf,
                           G.loc_w, G.loc_dense, G.query_w, G.att_v, w->d_ascr, w->d_ctx, da, a,
                           w->af + (size_t)s * BN * ad.F, w->as + (size_t)s * BN * A,
                           w->acol + (size_t)s * BN * 2 * ad.K, ha, w->enc, W->loc_w,
                           W->loc_dense, W->query_w, W->att_v, bt->nlen, ad,
                           m->packed ? m->packed->query[1] : NULL);
        for (size_t j = 0; j < BN; j++) w->d_cum[j] += dcp_buf[j];
        /* attention rnn */
        real *ha_prev = w->hatt + (size_t)s * B * Ha;
        real *dgxa = w->d_gxa + (size_t)s * B * 3 * Ha, *dgha = w->d_gha + (size_t)s * B * 3 * Ha;
        memset(w->d_xatt_row, 0, sizeof(real) * B * (P2 + D));
        memcpy(w->gh, w->d_hatt, sizeof(real) * B * Ha);
        memset(w->d_hatt, 0, sizeof(real) * B * Ha);
        gru_cell_backward(w->d_xatt_row, w->d_hatt, dgxa, dgha, w->gh, w->catt + (size_t)s * B * 4 * Ha,
                          ha_prev, W->arnn_wih, W->arnn_whh, B, P2 + D, Ha,
                          m->packed ? m->packed->arnn : NULL);
        for (int b = 0; b < B; b++) {
            const real *row = w->d_xatt_row + (size_t)b * (P2 + D);
            real *dp2 = w->d_p2 + ((size_t)s * B + b) * P2;
            const real *mk = w->p2m + ((size_t)s * B + b) * P2;
            for (int j = 0; j < P2; j++) dp2[j] = row[j] * mk[j];
            memcpy(w->d_ctxc + (size_t)b * D, row + P2, sizeof(real) * D);
        }
    }
    gru_weight_grads(G.drnn_wih, G.drnn_whh, G.drnn_bih, G.drnn_bhh, w->d_gxd, w->d_ghd, w->xdec,
                     w->hdec, (int)SB, Ha + D, Hd);
    gru_weight_grads(G.arnn_wih, G.arnn_whh, G.arnn_bih, G.arnn_bhh, w->d_gxa, w->d_gha, w->xatt,
                     w->hatt, (int)SB, P2 + D, Ha);

    /* prenet (d_p2 is the gradient of relu2's output after its dropout mask) */
    for (size_t j = 0; j < SB * P2; j++) if (w->p2[j] <= 0) w->d_p2[j] = 0;
    /* recompute prenet layer-1 output after dropout (d_p1 was overwritten as scratch) */
    real *p1d = w->d_xout;  /* free now, (S,B,Hd+D) >= (S,B,P1)? use only when large enough */
    size_t need = SB * P1;
    real *own = NULL;
    if ((size_t)(Hd + D) < (size_t)P1) { own = malloc(sizeof(real) * need); if (!own) return -1; p1d = own; }
    dropout_forward(p1d, w->p1, w->p1m, need);
    memset(w->d_p1, 0, sizeof(real) * need);
    linear_backward(w->d_p1, G.pre2_w, G.pre2_b, w->d_p2, p1d, W->pre2_w, (int)SB, P1, P2);
    free(own);
    for (size_t j = 0; j < need; j++) w->d_p1[j] = w->p1[j] > 0 ? w->d_p1[j] * w->p1m[j] : 0;
    linear_backward(NULL, G.pre1_w, G.pre1_b, w->d_p1, w->xin, NULL, (int)SB, M, P1);

    /* memory projection and encoder */
    linear_backward(w->d_enc, G.mem_w, G.mem_b, w->d_pm, w->enc, W->mem_w, (int)BN, D, A);
    for (size_t i = 0; i < BN; i++) {
        memcpy(w->d_hf + i * H, w->d_enc + i * D, sizeof(real) * H);
        memcpy(w->d_hb + i * H, w->d_enc + i * D + H, sizeof(real) * H);
    }
    const real *elast = w->eout[NC - 1];
    memset(w->d_eout, 0, sizeof(real) * BN * C);
    lstm_backward(w->d_eout, G.lf_wih, G.lf_whh, G.lf_bih, G.lf_bhh, w->d_lscr, w->d_hf, &lfc,
                  elast, W->lf_wih, W->lf_whh, bt->nlen, B, N, C, H, 0);
    lstm_backward(w->d_eout, G.lb_wih, G.lb_whh, G.lb_bih, G.lb_bhh, w->d_lscr, w->d_hb, &lbc,
                  elast, W->lb_wih, W->lb_whh, bt->nlen, B, N, C, H, 1);
    for (int i = NC - 1; i >= 0; i--) {
        int ci = i ? C : E;
        mask_rows(w->d_eout, bt->nlen, B, N, C);
        /* through dropout and relu, in place, then batch norm */
        for (size_t j = 0; j < BN * C; j++)
            w->d_eout[j] = w->eact[i][j] > 0 ? w->d_eout[j] * w->emask[i][j] : 0;
        const real *dconv = w->d_eout;
        if (bn) {
            memset(w->d_ebn, 0, sizeof(real) * BN * C);
            if (bn_batch && o->shard && o->shard->allreduce)
                bn_backward_shared(w->d_ebn, G.bn_gamma[i], G.bn_beta[i], w->d_bnscr, w->d_eout, w->econv[i],
                                   w->bmean[i], w->bvar[i], W->bn_gamma[i], bt->nlen, B, N, C, o->shard);
            else
                batchnorm_backward(w->d_ebn, G.bn_gamma[i], G.bn_beta[i], w->d_bnscr, w->d_eout, w->econv[i],
                                   w->bmean[i], w->bvar[i], W->bn_gamma[i], bt->nlen, B, N, C, bn_batch);
            dconv = w->d_ebn;
        }
        memset(w->d_ein, 0, sizeof(real) * BN * ci);
        conv1d_backward(w->d_ein, G.conv_w[i], G.conv_b[i], w->d_ecol, dconv, w->ecol[i],
                        W->conv_w[i], B, N, ci, C, c->enc_k);
        real *tmp = w->d_eout; w->d_eout = w->d_ein; w->d_ein = tmp;
    }
    mask_rows(w->d_eout, bt->nlen, B, N, E);
    embedding_backward(G.emb, w->d_eout, bt->ids, (int)BN, E);
    return 0;
}
