/*
 * taco_infer.c - synthesis with the acoustic model: encoder once, then the
 * attention decoder frame group by frame group until the stop gate fires
 * with the attention at the end of the text, the attention has sat on the
 * end of the text too long (end-of-text check), or the frame cap is reached
 * (an alignment failure, reported, never hidden).
 *
 * A monotonic window keeps the attention near its previous focus (from one
 * symbol back to four ahead), which rules out skips and repeats.  Prenet
 * dropout stays on at inference, as in Tacotron 2; its seed is an argument
 * so synthesis is reproducible.  Buffers are allocated by taco_infer_create
 * and grown only when a longer input arrives, never per frame.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

struct taco_infer_state {
    const taco_model *m;
    int max_n;          /* capacity in symbols */
    int max_steps;      /* capacity in decoder steps */
    /* encoder (N = max_n) */
    real *emb, *col, *act[2], *lcache, *lscr, *hf, *hb, *enc, *pm;
    int32_t *ids;
    /* decoder state */
    real *x, *p1, *p2, *mask1, *mask2, *xatt, *hatt, *hatt2, *xdec, *hdec, *hdec2, *gcache, *gx, *gh;
    real *a, *aprev, *cum, *ctx, *f, *s, *acol, *ascr, *xout, *y;
    /* outputs (max_steps * r frames) */
    real *mel0, *mel, *pcol, *pbuf[2], *align;
    int n_frames, n_steps, n;
    const atomic_int *cancel;  /* nonzero: end the decoder loop early (taco_infer_set_cancel) */
};

void taco_infer_set_cancel(taco_infer_state *s, const atomic_int *flag)
{
    s->cancel = flag;
}

static void *xalloc(size_t n_floats, int *fail)
{
    void *p = calloc(n_floats ? n_floats : 1, sizeof(real));
    if (!p) *fail = 1;
    return p;
}

static void free_bufs(taco_infer_state *s)
{
    real **all[] = {&s->emb, &s->col, &s->act[0], &s->act[1], &s->lcache, &s->lscr, &s->hf, &s->hb,
                    &s->enc, &s->pm, &s->x, &s->p1, &s->p2, &s->mask1, &s->mask2, &s->xatt, &s->hatt,
                    &s->hatt2, &s->xdec, &s->hdec, &s->hdec2, &s->gcache, &s->gx, &s->gh, &s->a,
                    &s->aprev, &s->cum, &s->ctx, &s->f, &s->s, &s->acol, &s->ascr, &s->xout, &s->y,
                    &s->mel0, &s->mel, &s->pcol, &s->pbuf[0], &s->pbuf[1], &s->align};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) { free(*all[i]); *all[i] = NULL; }
    free(s->ids);
    s->ids = NULL;
}

void taco_infer_free(taco_infer_state *s)
{
    if (!s) return;
    free_bufs(s);
    free(s);
}

/* (Re)allocate for inputs of up to max_n symbols. */
static int alloc_bufs(taco_infer_state *s, int max_n)
{
    const taco_config *c = &s->m->cfg;
    free_bufs(s);
    int N = max_n, E = c->emb, C = c->enc_ch, H = c->enc_lstm, D = 2 * H, A = c->att_dim, M = c->n_mels;
    int maxc = C > E ? C : E, F = c->loc_filters, K = c->loc_k, Ha = c->att_rnn, Hd = c->dec_rnn;
    int Hm = Ha > Hd ? Ha : Hd, PC = c->post_ch;
    /* the frame cap is at most 30 frames per symbol plus 60 */
    int steps = (30 * N + 60) / c->r + 2;
    int T = steps * c->r, PM = PC > M ? PC : M;
    int fail = 0;
    s->emb = xalloc((size_t)N * E, &fail);
    s->col = xalloc((size_t)N * c->enc_k * maxc, &fail);
    s->act[0] = xalloc((size_t)N * maxc, &fail);
    s->act[1] = xalloc((size_t)N * maxc, &fail);
    s->lcache = xalloc(lstm_cache_floats(1, N, H), &fail);
    s->lscr = xalloc((size_t)8 * H, &fail);
    s->hf = xalloc((size_t)N * H, &fail);
    s->hb = xalloc((size_t)N * H, &fail);
    s->enc = xalloc((size_t)N * D, &fail);
    s->pm = xalloc((size_t)N * A, &fail);
    s->x = xalloc(M, &fail);
    s->p1 = xalloc(c->prenet1, &fail);
    s->p2 = xalloc(c->prenet2, &fail);
    s->mask1 = xalloc(c->prenet1, &fail);
    s->mask2 = xalloc(c->prenet2, &fail);
    s->xatt = xalloc(c->prenet2 + D, &fail);
    s->hatt = xalloc(Ha, &fail);
    s->hatt2 = xalloc(Ha, &fail);
    s->xdec = xalloc(Ha + D, &fail);
    s->hdec = xalloc(Hd, &fail);
    s->hdec2 = xalloc(Hd, &fail);
    s->gcache = xalloc((size_t)4 * Hm, &fail);
    s->gx = xalloc((size_t)3 * Hm, &fail);
    s->gh = xalloc((size_t)3 * Hm, &fail);
    s->a = xalloc(N, &fail);
    s->aprev = xalloc(N, &fail);
    s->cum = xalloc(N, &fail);
    s->ctx = xalloc(D, &fail);
    s->f = xalloc((size_t)N * F, &fail);
    s->s = xalloc((size_t)N * A, &fail);
    s->acol = xalloc((size_t)N * 2 * K, &fail);
    s->ascr = xalloc((size_t)A + 2 * ((size_t)N + K), &fail);
    s->xout = xalloc(Hd + D, &fail);
    s->y = xalloc((size_t)c->r * (M + 1), &fail);
    s->mel0 = xalloc((size_t)T * M, &fail);
    s->mel = xalloc((size_t)T * M, &fail);
    s->pcol = xalloc((size_t)T * c->post_k * PM, &fail);
    s->pbuf[0] = xalloc((size_t)T * PM, &fail);
    s->pbuf[1] = xalloc((size_t)T * PM, &fail);
    s->align = xalloc((size_t)steps * N, &fail);
    s->ids = calloc(N, sizeof(int32_t));
    if (fail || !s->ids) { free_bufs(s); return -1; }
    s->max_n = N;
    s->max_steps = steps;
    return 0;
}

int taco_infer_create(const taco_model *m, int max_n, taco_infer_state **out)
{
    *out = NULL;
    taco_infer_state *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->m = m;
    if (max_n < 8) max_n = 8;
    if (alloc_bufs(s, max_n)) { free(s); return -1; }
    *out = s;
    return 0;
}

const real *taco_infer_alignment(const taco_infer_state *s, int *steps, int *n)
{
    *steps = s->n_steps;
    *n = s->n;
    return s->align;
}

/* ctx (D) = sum of a[i] enc[i] over the window [lo, hi), the only nonzero weights */
static void window_context(real *ctx, const real *a, const real *enc, int lo, int hi, int D)
{
    memset(ctx, 0, sizeof(real) * D);
    for (int i = lo; i < hi; i++) {
        const real *e = enc + (size_t)i * D;
        real w = a[i];
        if (w != 0)
            for (int j = 0; j < D; j++) ctx[j] += w * e[j];
    }
}

static int argmax(const real *a, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++) if (a[i] > a[k]) k = i;
    return k;
}

const real *taco_infer_encode(taco_infer_state *s, const int32_t *ids_in, int n)
{
    const taco_model *m = s->m;
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    if (n < 1 || !ids_in) return NULL;
    for (int i = 0; i < n; i++) if (ids_in[i] < 0 || ids_in[i] >= c->n_symbols) return NULL;
    if (n > s->max_n && alloc_bufs(s, n + n / 2)) return NULL;
    int E = c->emb, C = c->enc_ch, H = c->enc_lstm, D = 2 * H, A = c->att_dim;
    int len[1] = {n};
    memcpy(s->ids, ids_in, sizeof(int32_t) * n);

    /* no dropout at inference; batch norm is folded into the convolutions
       (taco_fold), else applied here with the running statistics */
    embedding_forward(s->emb, s->ids, W->emb, n, E);
    const real *in = s->emb;
    int folded = c->enc_batchnorm && m->folded;
    const taco_packed *pk = m->packed;
    for (int i = 0; i < c->enc_convs; i++) {
        real *o = s->act[i & 1];
        conv1d_forward_pk(o, s->col, in, folded ? m->fold_w[i] : W->conv_w[i],
                          folded ? m->fold_b[i] : W->conv_b[i], 1, n, i ? C : E, C, c->enc_k,
                          pk ? pk->enc_conv[i] : NULL);
        if (c->enc_batchnorm && !folded)
            batchnorm_forward(o, o, W->bn_mean[i], W->bn_var[i], W->bn_gamma[i], W->bn_beta[i],
                              len, 1, n, C);
        relu_forward(o, o, (size_t)n * C);
        in = o;
    }
    lstm_cache lc;
    lstm_cache_point(&lc, s->lcache, 1, n, H);
    lstm_forward_pk(s->hf, &lc, s->lscr, in, W->lf_wih, W->lf_whh, W->lf_bih, W->lf_bhh, len, 1, n, C, H, 0,
                    pk ? pk->lstm_f : NULL);
    lstm_forward_pk(s->hb, &lc, s->lscr, in, W->lb_wih, W->lb_whh, W->lb_bih, W->lb_bhh, len, 1, n, C, H, 1,
                    pk ? pk->lstm_b : NULL);
    for (int i = 0; i < n; i++) {
        memcpy(s->enc + (size_t)i * D, s->hf + (size_t)i * H, sizeof(real) * H);
        memcpy(s->enc + (size_t)i * D + H, s->hb + (size_t)i * H, sizeof(real) * H);
    }
    linear_forward_pk(s->pm, s->enc, W->mem_w, W->mem_b, n, D, A, pk ? pk->mem : NULL);
    return s->enc;
}

int taco_infer(taco_infer_state *s, const int32_t *ids_in, int n, float max_frames_per_symbol,
               uint64_t seed, const real **mel_out, int *n_frames, taco_stop_reason *reason)
{
    const taco_model *m = s->m;
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    if (!taco_infer_encode(s, ids_in, n)) return -1;
    if (!(max_frames_per_symbol > 0) || max_frames_per_symbol > 30) max_frames_per_symbol = 30;
    int H = c->enc_lstm, D = 2 * H, A = c->att_dim, M = c->n_mels, r = c->r;
    int Ha = c->att_rnn, Hd = c->dec_rnn, P1 = c->prenet1, P2 = c->prenet2, R = r * (M + 1);
    int len[1] = {n};
    const taco_packed *pk = m->packed;

    /* ---- decoder ---- */
    attn_dims ad = {.B = 1, .N = n, .D = D, .A = A, .Q = Ha, .F = c->loc_filters, .K = c->loc_k};
    int cap_steps = (int)((max_frames_per_symbol * n + 60) / r);
    if (cap_steps > s->max_steps) cap_steps = s->max_steps;
    memset(s->x, 0, sizeof(real) * M);
    memset(s->hatt, 0, sizeof(real) * Ha);
    memset(s->hdec, 0, sizeof(real) * Hd);
    memset(s->ctx, 0, sizeof(real) * D);
    memset(s->aprev, 0, sizeof(real) * n);
    memset(s->cum, 0, sizeof(real) * n);
    nn_rng rng = {seed};
    int focus = 0, at_end = 0, frames = 0, step;
    taco_stop_reason why = TACO_STOP_CAP;
    for (step = 0; step < cap_steps; step++) {
        if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed)) break;
        /* prenet with dropout */
        linear_forward_pk(s->p1, s->x, W->pre1_w, W->pre1_b, 1, M, P1, pk ? pk->pre1 : NULL);
        relu_forward(s->p1, s->p1, P1);
        dropout_mask(s->mask1, P1, c->prenet_dropout, &rng);
        dropout_forward(s->p1, s->p1, s->mask1, P1);
        linear_forward_pk(s->p2, s->p1, W->pre2_w, W->pre2_b, 1, P1, P2, pk ? pk->pre2 : NULL);
        relu_forward(s->p2, s->p2, P2);
        dropout_mask(s->mask2, P2, c->prenet_dropout, &rng);
        dropout_forward(s->xatt, s->p2, s->mask2, P2);
        memcpy(s->xatt + P2, s->ctx, sizeof(real) * D);
        gru_cell_forward(s->hatt2, s->gcache, s->gx, s->gh, s->xatt, s->hatt, W->arnn_wih, W->arnn_whh,
                         W->arnn_bih, W->arnn_bhh, 1, P2 + D, Ha, m->packed ? m->packed->arnn : NULL);
        memcpy(s->hatt, s->hatt2, sizeof(real) * Ha);
        attention_forward(s->a, NULL, s->f, s->s, s->acol, s->ascr, s->hatt, s->enc, s->pm, s->aprev,
                          s->cum, W->loc_w, W->loc_dense, W->query_w, W->att_v, len, ad,
                          pk ? pk->att : NULL);
        /* monotonic window around the previous focus */
        int lo = focus - 1 < 0 ? 0 : focus - 1, hi = focus + 4 < n ? focus + 4 : n;
        real sum = 0;
        for (int i = 0; i < n; i++) {
            if (i < lo || i >= hi) s->a[i] = 0;
            sum += s->a[i];
        }
        if (sum > 0) {
            for (int i = lo; i < hi; i++) s->a[i] /= sum;
        } else {
            s->a[lo] = 1;  /* the window lost all mass: stay put */
        }
        window_context(s->ctx, s->a, s->enc, lo, hi, D);
        focus = argmax(s->a, n);
        for (int i = 0; i < n; i++) { s->cum[i] += s->a[i]; s->aprev[i] = s->a[i]; }
        memcpy(s->align + (size_t)step * n, s->a, sizeof(real) * n);
        /* decoder rnn and projection */
        memcpy(s->xdec, s->hatt, sizeof(real) * Ha);
        memcpy(s->xdec + Ha, s->ctx, sizeof(real) * D);
        gru_cell_forward(s->hdec2, s->gcache, s->gx, s->gh, s->xdec, s->hdec, W->drnn_wih, W->drnn_whh,
                         W->drnn_bih, W->drnn_bhh, 1, Ha + D, Hd, m->packed ? m->packed->drnn : NULL);
        memcpy(s->hdec, s->hdec2, sizeof(real) * Hd);
        memcpy(s->xout, s->hdec, sizeof(real) * Hd);
        memcpy(s->xout + Hd, s->ctx, sizeof(real) * D);
        linear_forward_pk(s->y, s->xout, W->proj_w, W->proj_b, 1, Hd + D, R, pk ? pk->proj : NULL);
        int stop_at = -1;
        for (int k = 0; k < r; k++) {
            memcpy(s->mel0 + (size_t)(frames + k) * M, s->y + (size_t)k * (M + 1), sizeof(real) * M);
            if (stop_at < 0 && s->y[(size_t)k * (M + 1) + M] > 0) stop_at = k;  /* sigmoid > 0.5 */
        }
        memcpy(s->x, s->y + (size_t)(r - 1) * (M + 1), sizeof(real) * M);
        int near_end = focus >= n - 3;
        if (stop_at >= 0 && near_end) {
            frames += stop_at + 1;
            why = TACO_STOP_GATE;
            step++;
            break;
        }
        frames += r;
        /* end-of-text check: resting on the last symbol for 8 steps means done */
        at_end = focus == n - 1 ? at_end + 1 : 0;
        if (at_end >= 8) {
            frames -= 4 * r;  /* drop the frames spent lingering */
            why = TACO_STOP_END_OF_TEXT;
            step++;
            break;
        }
    }
    if (frames < 1) frames = 1;
    s->n_steps = step;
    s->n = n;

    /* ---- postnet over the whole utterance ---- */
    const real *pin = s->mel0;
    int PC = c->post_ch;
    for (int i = 0; i < c->post_convs; i++) {
        int ci = i ? PC : M, co = i == c->post_convs - 1 ? M : PC;
        real *o = s->pbuf[i & 1];
        conv1d_forward_pk(o, s->pcol, pin, W->post_w[i], W->post_b[i], 1, frames, ci, co, c->post_k,
                          pk ? pk->post[i] : NULL);
        if (i < c->post_convs - 1) tanh_forward(o, o, (size_t)frames * co);
        pin = o;
    }
    /* residual, then back from normalized to log-mel */
    for (int t = 0; t < frames; t++)
        for (int k = 0; k < M; k++) {
            size_t j = (size_t)t * M + k;
            s->mel[j] = (s->mel0[j] + pin[j]) * m->mel_std[k] + m->mel_mean[k];
        }
    s->n_frames = frames;
    *mel_out = s->mel;
    *n_frames = frames;
    *reason = why;
    return 0;
}
