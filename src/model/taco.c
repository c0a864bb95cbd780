/*
 * taco.c - the acoustic model: its parameter table and its forward pass, the
 * one both the training pass (taco_train.c) and inference (taco_infer.c)
 * run: the encoder, the prenet, one decoder step, the postnet.  Training
 * adds the caches backward needs and the losses; inference adds the
 * attention window and the stop rule.  Files are in taco_io.c.
 *
 * Shapes: B batch, N symbols, T frames, M mel bands, E embedding, C encoder
 * channels, H = enc_lstm, D = 2H memory width, A attention width, Ha and Hd
 * the attention and decoder GRU widths, P1 and P2 the prenet widths.
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


/* ------------------------------------------------------------ forward pass */

/* Batch-norm statistics of this share, summed over every share when the
 * batch is split (parallel-variance combination in double); returns the
 * number of valid rows of the whole batch (in blocks: TACO_SHARE_BLOCK). */
static size_t bn_batch_stats(real *mean, real *var, const real *x, const int *len, int B, int N, int C,
                             const taco_shard *sh)
{
    size_t n = batchnorm_stats(mean, var, x, len, B, N, C);
    if (!sh || !sh->allreduce) return n;
    double acc[2 * TACO_SHARE_BLOCK + 1], gn = 0;
    for (int c0 = 0; c0 < C; c0 += TACO_SHARE_BLOCK) {
        int k = C - c0 < TACO_SHARE_BLOCK ? C - c0 : TACO_SHARE_BLOCK;
        for (int j = 0; j < k; j++) {
            double mu = mean[c0 + j];
            acc[j] = (double)n * mu;
            acc[k + j] = (double)n * ((double)var[c0 + j] + mu * mu);
        }
        acc[2 * k] = (double)n;
        sh->allreduce(acc, 2 * k + 1, sh->user);
        gn = acc[2 * k];
        for (int j = 0; gn > 0 && j < k; j++) {
            double mu = acc[j] / gn, v = acc[k + j] / gn - mu * mu;
            mean[c0 + j] = (real)mu;
            var[c0 + j] = (real)(v > 0 ? v : 0);
        }
    }
    return (size_t)gn;
}

NN_API size_t taco_encode(const taco_model *m, const taco_enc_acts *a, const int32_t *ids, const int *nlen,
                          int B, int N, taco_bn_mode bn, const taco_shard *sh)
{
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    int E = c->emb, C = c->enc_ch, H = c->enc_lstm, D = 2 * H, A = c->att_dim;
    size_t BN = (size_t)B * N, rows = 0;
    int folded = c->enc_batchnorm && bn == TACO_BN_FOLDED && m->folded;
    int use_bn = c->enc_batchnorm && !folded;
    /* packed copies (inference): the convolutions were packed folded when the
       model was folded, so they serve only a pass that uses the same weights */
    const taco_packed *pk = m->packed;
    int conv_pk = pk && folded == (c->enc_batchnorm && m->folded);
    embedding_forward(a->emb, ids, W->emb, (int)BN, E);
    mask_rows(a->emb, nlen, B, N, E);
    const real *in = a->emb;
    for (int i = 0; i < c->enc_convs; i++) {
        conv1d_forward_pk(use_bn ? a->conv[i] : a->act[i], a->col[i], in, folded ? m->fold_w[i] : W->conv_w[i],
                          folded ? m->fold_b[i] : W->conv_b[i], B, N, i ? C : E, C, c->enc_k,
                          conv_pk ? pk->enc_conv[i] : NULL);
        if (use_bn) {
            const real *mean = W->bn_mean[i], *var = W->bn_var[i];
            if (bn == TACO_BN_BATCH) {
                rows = bn_batch_stats(a->mean[i], a->var[i], a->conv[i], nlen, B, N, C, sh);
                mean = a->mean[i];
                var = a->var[i];
            } else if (a->mean[i]) {  /* kept for backward */
                memcpy(a->mean[i], mean, sizeof(real) * C);
                memcpy(a->var[i], var, sizeof(real) * C);
            }
            batchnorm_forward(a->act[i], a->conv[i], mean, var, W->bn_gamma[i], W->bn_beta[i], nlen, B, N, C);
        }
        relu_forward(a->act[i], a->act[i], BN * C);
        if (a->mask[i]) dropout_forward(a->out[i], a->act[i], a->mask[i], BN * C);
        else if (a->out[i] != a->act[i]) memcpy(a->out[i], a->act[i], sizeof(real) * BN * C);
        mask_rows(a->out[i], nlen, B, N, C);
        in = a->out[i];
    }
    lstm_cache lfc, lbc;
    lstm_cache_point(&lfc, a->lf_cache, B, N, H);
    lstm_cache_point(&lbc, a->lb_cache, B, N, H);
    lstm_forward_pk(a->hf, &lfc, a->lscratch, in, W->lf_wih, W->lf_whh, W->lf_bih, W->lf_bhh, nlen, B, N, C, H, 0,
                    pk ? pk->lstm_f : NULL);
    lstm_forward_pk(a->hb, &lbc, a->lscratch, in, W->lb_wih, W->lb_whh, W->lb_bih, W->lb_bhh, nlen, B, N, C, H, 1,
                    pk ? pk->lstm_b : NULL);
    for (size_t i = 0; i < BN; i++) {
        memcpy(a->enc + i * D, a->hf + i * H, sizeof(real) * H);
        memcpy(a->enc + i * D + H, a->hb + i * H, sizeof(real) * H);
    }
    linear_forward_pk(a->pm, a->enc, W->mem_w, W->mem_b, (int)BN, D, A, pk ? pk->mem : NULL);
    return rows;
}

NN_API void taco_prenet(const taco_model *m, real *p1, real *p1d, real *p2, const real *x, const real *mask1,
                        int n)
{
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    int M = c->n_mels, P1 = c->prenet1, P2 = c->prenet2;
    const taco_packed *pk = m->packed;
    linear_forward_pk(p1, x, W->pre1_w, W->pre1_b, n, M, P1, pk ? pk->pre1 : NULL);
    relu_forward(p1, p1, (size_t)n * P1);
    dropout_forward(p1d, p1, mask1, (size_t)n * P1);
    linear_forward_pk(p2, p1d, W->pre2_w, W->pre2_b, n, P1, P2, pk ? pk->pre2 : NULL);
    relu_forward(p2, p2, (size_t)n * P2);
}

NN_API void taco_decoder_step(const taco_model *m, const taco_dec_acts *d, const real *enc, const real *pm,
                              const int *nlen, int B, int N, taco_window_fn window, void *user)
{
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    int D = 2 * c->enc_lstm, Ha = c->att_rnn, Hd = c->dec_rnn, P2 = c->prenet2, M = c->n_mels;
    size_t BN = (size_t)B * N;
    attn_dims ad = {.B = B, .N = N, .D = D, .A = c->att_dim, .Q = Ha, .F = c->loc_filters, .K = c->loc_k};
    /* attention rnn over [prenet output after its dropout, previous context] */
    for (int b = 0; b < B; b++) {
        real *row = d->xatt + (size_t)b * (P2 + D);
        const real *p2 = d->p2 + (size_t)b * P2;
        if (d->p2_mask) dropout_forward(row, p2, d->p2_mask + (size_t)b * P2, (size_t)P2);
        else memcpy(row, p2, sizeof(real) * P2);
        if (d->ctx_prev) memcpy(row + P2, d->ctx_prev + (size_t)b * D, sizeof(real) * D);
        else memset(row + P2, 0, sizeof(real) * D);
    }
    gru_cell_forward(d->hatt, d->catt, d->gx, d->gh, d->xatt, d->hatt_prev, W->arnn_wih, W->arnn_whh,
                     W->arnn_bih, W->arnn_bhh, B, P2 + D, Ha, m->packed ? m->packed->arnn : NULL);
    /* attention */
    /* (with a window, the hook makes the context of the windowed weights: none here) */
    attention_forward(d->align, window ? NULL : d->ctx, d->af, d->as, d->acol, d->ascr, d->hatt, enc, pm,
                      d->aprev, d->cum, W->loc_w, W->loc_dense, W->query_w, W->att_v, nlen, ad,
                      m->packed ? m->packed->att : NULL);
    if (window) window(d->align, d->ctx, user);
    for (size_t j = 0; j < BN; j++) d->cum[j] += d->align[j];
    /* decoder rnn over [attention rnn state, context] */
    for (int b = 0; b < B; b++) {
        memcpy(d->xdec + (size_t)b * (Ha + D), d->hatt + (size_t)b * Ha, sizeof(real) * Ha);
        memcpy(d->xdec + (size_t)b * (Ha + D) + Ha, d->ctx + (size_t)b * D, sizeof(real) * D);
    }
    gru_cell_forward(d->hdec, d->cdec, d->gx, d->gh, d->xdec, d->hdec_prev, W->drnn_wih, W->drnn_whh,
                     W->drnn_bih, W->drnn_bhh, B, Ha + D, Hd, m->packed ? m->packed->drnn : NULL);
    /* output layer over [decoder rnn state, context] */
    for (int b = 0; b < B; b++) {
        memcpy(d->xout + (size_t)b * (Hd + D), d->hdec + (size_t)b * Hd, sizeof(real) * Hd);
        memcpy(d->xout + (size_t)b * (Hd + D) + Hd, d->ctx + (size_t)b * D, sizeof(real) * D);
    }
    if (d->y)
        linear_forward_pk(d->y, d->xout, W->proj_w, W->proj_b, B, Hd + D, c->r * (M + 1),
                          m->packed ? m->packed->proj : NULL);
}

NN_API void taco_postnet(const taco_model *m, real *const *col, real *const *act, const real *in,
                         const int *len, int B, int T)
{
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    int M = c->n_mels, PC = c->post_ch, NP = c->post_convs;
    for (int i = 0; i < NP; i++) {
        int ci = i ? PC : M, co = i == NP - 1 ? M : PC;
        conv1d_forward_pk(act[i], col[i], in, W->post_w[i], W->post_b[i], B, T, ci, co, c->post_k,
                          m->packed ? m->packed->post[i] : NULL);
        if (i < NP - 1) {
            tanh_forward(act[i], act[i], (size_t)B * T * co);
            mask_rows(act[i], len, B, T, co);
        }
        in = act[i];
    }
}
