/*
 * taco_pack.c - inference copies of weights: the decoder-step weights packed
 * for the AVX-512 GEMM kernel, and the encoder convolutions with batch norm
 * folded in (float builds only; the gradient tests run unpacked, unfolded).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdlib.h>

#include "model/model.h"
#include "nn/gemm.h"

enum { N_TRAIN = 10, N_PACKED = N_TRAIN + 10 + 2 * TACO_MAX_CONV };

/* pack_wt (nn_pack_wt of w (N, K)), then, for inference, the mapped source's
 * pages released (taco_release_weights): synthesis reads only the copy. */
static int pack_wt(const taco_model *m, int release, nn_packed *p, const real *w, int N, int K)
{
    if (nn_pack_wt(p, w, N, K, K)) return -1;
    if (release) taco_release_weights(m, w, (size_t)N * K);
    return 0;
}

/* The inference-only packed weights into st[0 .. 10 + 2*TACO_MAX_CONV). */
static int pack_inference(taco_model *m, nn_packed *st)
{
    const taco_config *c = &m->cfg;
    const taco_weights *w = &m->w;
    taco_packed *p = m->packed;
    int D = 2 * c->enc_lstm, M = c->n_mels, R = c->r * (M + 1), K2 = 2 * c->loc_k;
    int fail = 0;
    fail |= pack_wt(m, 1, &st[0], w->loc_w, c->loc_filters, K2);
    fail |= pack_wt(m, 1, &st[1], w->loc_dense, c->att_dim, c->loc_filters);
    fail |= pack_wt(m, 1, &st[2], w->pre1_w, c->prenet1, M);
    fail |= pack_wt(m, 1, &st[3], w->pre2_w, c->prenet2, c->prenet1);
    fail |= pack_wt(m, 1, &st[4], w->proj_w, R, c->dec_rnn + D);
    fail |= pack_wt(m, 1, &st[5], w->mem_w, c->att_dim, D);
    int folded = c->enc_batchnorm && m->folded;
    for (int i = 0; i < c->enc_convs; i++) {
        int in = (i ? c->enc_ch : c->emb) * c->enc_k;
        fail |= pack_wt(m, 1, &st[6 + i], folded ? m->fold_w[i] : w->conv_w[i], c->enc_ch, in);
    }
    for (int i = 0; i < c->post_convs; i++) {
        int ci = i ? c->post_ch : M, co = i == c->post_convs - 1 ? M : c->post_ch;
        fail |= pack_wt(m, 1, &st[6 + TACO_MAX_CONV + i], w->post_w[i], co, ci * c->post_k);
    }
    nn_packed *lstm = st + 6 + 2 * TACO_MAX_CONV;
    int G = 4 * c->enc_lstm, H = c->enc_lstm;
    fail |= pack_wt(m, 1, &lstm[0], w->lf_wih, G, c->enc_ch);
    fail |= pack_wt(m, 1, &lstm[1], w->lf_whh, G, H);
    fail |= pack_wt(m, 1, &lstm[2], w->lb_wih, G, c->enc_ch);
    fail |= pack_wt(m, 1, &lstm[3], w->lb_whh, G, H);
    if (fail) return -1;
    p->lstm_f[0] = &lstm[0];
    p->lstm_f[1] = &lstm[1];
    p->lstm_b[0] = &lstm[2];
    p->lstm_b[1] = &lstm[3];
    p->att[1] = &st[0];
    p->att[2] = &st[1];
    p->pre1 = &st[2];
    p->pre2 = &st[3];
    p->proj = &st[4];
    p->mem = &st[5];
    for (int i = 0; i < c->enc_convs; i++) p->enc_conv[i] = &st[6 + i];
    for (int i = 0; i < c->post_convs; i++) p->post[i] = &st[6 + TACO_MAX_CONV + i];
    return 0;
}

int taco_pack(taco_model *m, int with_backward)
{
    if (!m->packed) {
        m->packed = calloc(1, sizeof *m->packed);
        if (!m->packed) return -1;
        m->packed->storage = calloc(N_PACKED, sizeof(nn_packed));
        if (!m->packed->storage) { free(m->packed); m->packed = NULL; return -1; }
    }
    nn_packed *st = m->packed->storage;
    const taco_config *c = &m->cfg;
    const taco_weights *w = &m->w;
    int D = 2 * c->enc_lstm, Ha = c->att_rnn, Hd = c->dec_rnn, ia = c->prenet2 + D, id = Ha + D;
    int fail = 0;
    int rel = !with_backward;  /* inference reads only the packed copies */
    fail |= pack_wt(m, rel, &st[0], w->arnn_wih, 3 * Ha, ia);
    fail |= pack_wt(m, rel, &st[1], w->arnn_whh, 3 * Ha, Ha);
    fail |= pack_wt(m, rel, &st[4], w->drnn_wih, 3 * Hd, id);
    fail |= pack_wt(m, rel, &st[5], w->drnn_whh, 3 * Hd, Hd);
    fail |= pack_wt(m, rel, &st[8], w->query_w, c->att_dim, Ha);
    if (with_backward) {
        fail |= nn_pack_b(&st[2], w->arnn_wih, 3 * Ha, ia, ia);
        fail |= nn_pack_b(&st[3], w->arnn_whh, 3 * Ha, Ha, Ha);
        fail |= nn_pack_b(&st[6], w->drnn_wih, 3 * Hd, id, id);
        fail |= nn_pack_b(&st[7], w->drnn_whh, 3 * Hd, Hd, Hd);
        fail |= nn_pack_b(&st[9], w->query_w, c->att_dim, Ha, Ha);
    }
    if (fail) { taco_unpack(m); return -1; }
    taco_packed *p = m->packed;
    for (int i = 0; i < 4; i++) {
        p->arnn[i] = i < 2 || with_backward ? &st[i] : NULL;
        p->drnn[i] = i < 2 || with_backward ? &st[4 + i] : NULL;
    }
    p->query[0] = &st[8];
    p->query[1] = with_backward ? &st[9] : NULL;
    p->att[0] = p->query[0];
    if (!with_backward && pack_inference(m, st + N_TRAIN) != 0) { taco_unpack(m); return -1; }
    return 0;
}

int taco_pack_halve(taco_model *m)
{
    if (!m->packed) return 0;
    /* the attention and decoder GRUs, the query, the prenet, the location
       features and the projection: every decoder step reads all of them for
       one row of output */
    static const int step[] = {0, 1, 4, 5, 8, N_TRAIN + 0, N_TRAIN + 1, N_TRAIN + 2, N_TRAIN + 3, N_TRAIN + 4};
    for (size_t i = 0; i < sizeof step / sizeof *step; i++)
        if (nn_pack_halve((nn_packed *)m->packed->storage + step[i])) return -1;
    return 0;
}

void taco_unpack(taco_model *m)
{
    if (!m || !m->packed) return;
    nn_packed *st = m->packed->storage;
    for (int i = 0; st && i < N_PACKED; i++) nn_packed_free(&st[i]);
    free(st);
    free(m->packed);
    m->packed = NULL;
}

int taco_fold(taco_model *m)
{
    const taco_config *c = &m->cfg;
    if (!c->enc_batchnorm) return 0;
    size_t need = 0;
    for (int i = 0; i < c->enc_convs; i++)
        need += (size_t)c->enc_ch * c->enc_k * (i ? c->enc_ch : c->emb) + c->enc_ch;
    if (!m->folded) {
        m->folded = malloc(sizeof(real) * need);
        if (!m->folded) return -1;
    }
    /* per output channel o: s = gamma / sqrt(var + eps) (in double),
       w' = w s, b' = (b - mean) s + beta */
    const taco_weights *w = &m->w;
    real *p = m->folded;
    for (int i = 0; i < c->enc_convs; i++) {
        size_t row = (size_t)c->enc_k * (i ? c->enc_ch : c->emb);
        m->fold_w[i] = p;
        m->fold_b[i] = p + (size_t)c->enc_ch * row;
        for (int o = 0; o < c->enc_ch; o++) {
            double s = w->bn_gamma[i][o] / sqrt((double)w->bn_var[i][o] + NN_BN_EPS);
            for (size_t j = 0; j < row; j++)
                m->fold_w[i][(size_t)o * row + j] = (real)(w->conv_w[i][(size_t)o * row + j] * s);
            m->fold_b[i][o] = (real)(((double)w->conv_b[i][o] - w->bn_mean[i][o]) * s + w->bn_beta[i][o]);
        }
        taco_release_weights(m, w->conv_w[i], (size_t)c->enc_ch * row);  /* read-only models: the fold is used */
        p = m->fold_b[i] + c->enc_ch;
    }
    return 0;
}
