/*
 * taco_train.c - the acoustic model's training pass over a padded batch:
 * forward (the model's own, taco.c, with every step's activations kept),
 * losses, backward.  Forward and backward are mirrored over two structs of
 * named buffers, as llm.c keeps gpt2_forward and gpt2_backward: train_acts
 * holds the activations, train_grads the gradients of the same tensors;
 * nothing of one is borrowed as scratch by the other.
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

NN_API taco_train_opts taco_train_opts_default(void)
{
    taco_train_opts o = {.guided_weight = 10, .guided_g = 0.2f, .stop_weight = 1,
                         .stop_pos_weight = 5, .dropout = 1, .bn_running = 0};
    return o;
}

/* ------------------------------------------------------------ workspace */

/* The activations of one batch: what forward computes and backward reads. */
typedef struct train_acts {
    taco_enc_acts e;       /* the encoder's, every layer kept (taco_encode) */
    /* decoder, step-major */
    real *xin;             /* (S,B,M) decoder inputs: the last frame of the previous step */
    real *p1, *p1m, *p1d;  /* (S,B,P1) prenet layer 1 after ReLU, its dropout mask, after dropout */
    real *p2, *p2m;        /* (S,B,P2) prenet layer 2 after ReLU, its dropout mask */
    real *xatt, *hatt, *catt; /* (S,B,P2+D), (S+1,B,Ha) states from zeros, (S,B,4Ha) GRU cache */
    real *align, *ctx;     /* (S,B,N) attention weights, (S,B,D) contexts */
    real *af, *as, *acol;  /* (S,B,N,F), (S,B,N,A), (S,B,N,2K) attention caches */
    real *zeros;           /* (B,N) the weights before the first step */
    real *cum;             /* (B,N) cumulative weights (the loop's running sum) */
    real *xdec, *hdec, *cdec; /* (S,B,Ha+D), (S+1,B,Hd), (S,B,4Hd) */
    real *xout, *y;        /* (S,B,Hd+D), (S,B,r(M+1)) */
    real *mel0, *stop;     /* (B,T,M) frames before the postnet, (B,T) stop logits */
    real *post_in;         /* (B,T,M) mel0 with the padding rows zeroed: the postnet's input */
    real *pcol[TACO_MAX_CONV], *pact[TACO_MAX_CONV]; /* postnet: unfolded inputs, outputs */
    real *mel1;            /* (B,T,M) after the postnet */
    /* the losses' targets and views */
    real *stopt, *stopm;   /* (B,T) stop targets and mask */
    real *gat;             /* (B,S,N) the alignment item-major, for the guided loss */
} train_acts;

/* The gradients of the activations (same names as train_acts), and the
 * scratch the backward kernels need. */
typedef struct train_grads {
    real *mel1, *mel0;     /* (B,T,M) */
    real *post[2], *pcol;  /* postnet: layer gradients (ping-pong), unfolded-input gradient */
    real *y, *stop, *xout; /* (S,B,r(M+1)), (B,T), (S,B,Hd+D) */
    real *hatt, *hdec;     /* (B,Ha), (B,Hd): into the current step's states */
    real *h_in;            /* (B,max(Ha,Hd)) a state's gradient handed to the GRU backward */
    real *ctx, *ctx_next;  /* (B,D) the current step's context; into the previous from the next step */
    real *xatt, *xdec;     /* (B,P2+D), (B,Ha+D) one step's GRU inputs */
    real *gxa, *gha, *gxd, *ghd; /* (S,B,3Ha), (S,B,3Ha), (S,B,3Hd), (S,B,3Hd) gate pre-activations */
    real *align, *gat;     /* (S,B,N), (B,S,N) */
    real *aprev, *cum, *cprev; /* (B,N) into the previous weights, the cumulative sum, this step's cprev */
    real *ascr;            /* attention backward scratch */
    real *pm, *enc;        /* (B,N,A), (B,N,D) */
    real *p2, *p1;         /* (S,B,P2), (S,B,P1) */
    real *hf, *hb;         /* (B,N,H) */
    real *eout[2], *ecol;  /* encoder layers (ping-pong, (B,N,max(C,E))), unfolded input */
    real *lscr;            /* LSTM backward scratch */
    real *ebn, *bnscr;     /* (B,N,C) batch norm input gradient, (2C) its sums */
} train_grads;

struct taco_train_ws {
    size_t cap;        /* floats allocated in mem */
    real *mem;
    int B, N, T, S;
    train_acts a;
    train_grads g;
    real *ascr, *gx, *gh; /* forward scratch: attention (B*A + 2(N+K)), GRU (B,3max(Ha,Hd)) each */
    size_t bn_rows;    /* valid encoder rows of the batch */
    int bn_batch;      /* 1: the batch-norm statistics in a.e are this batch's,
                          0: copies of the running ones (or none yet) */
    int *nlen_s;       /* (B) decoder steps per item */
    int *tlen;         /* (B) */
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
    int maxc = C > E ? C : E, Hm = Ha > Hd ? Ha : Hd, PM = PC > M ? PC : M;
    train_acts *a = &w->a;
    train_grads *g = &w->g;
#define T_(field, n) ((field) = take(mem, &off, (n)))
    T_(a->e.emb, BN * E);
    for (int i = 0; i < c->enc_convs; i++) {
        int ci = i ? C : E;
        T_(a->e.col[i], BN * c->enc_k * ci); T_(a->e.act[i], BN * C); T_(a->e.mask[i], BN * C);
        T_(a->e.out[i], BN * C);
        if (c->enc_batchnorm) { T_(a->e.conv[i], BN * C); T_(a->e.mean[i], C); T_(a->e.var[i], C); }
    }
    T_(a->e.lf_cache, lstm_cache_floats(B, N, H)); T_(a->e.lb_cache, lstm_cache_floats(B, N, H));
    T_(a->e.hf, BN * H); T_(a->e.hb, BN * H); T_(a->e.enc, BN * D); T_(a->e.pm, BN * A);
    T_(a->e.lscratch, (size_t)B * 8 * H);
    T_(a->xin, SB * M); T_(a->p1, SB * P1); T_(a->p1m, SB * P1); T_(a->p1d, SB * P1);
    T_(a->p2, SB * P2); T_(a->p2m, SB * P2);
    T_(a->xatt, SB * (P2 + D)); T_(a->hatt, (SB + B) * Ha); T_(a->catt, SB * 4 * Ha);
    T_(a->align, SB * N); T_(a->ctx, SB * D); T_(a->af, SB * N * F); T_(a->as, SB * N * A);
    T_(a->acol, SB * N * 2 * K); T_(a->zeros, BN); T_(a->cum, BN);
    T_(a->xdec, SB * (Ha + D)); T_(a->hdec, (SB + B) * Hd); T_(a->cdec, SB * 4 * Hd);
    T_(a->xout, SB * (Hd + D)); T_(a->y, SB * R);
    T_(a->mel0, BT * M); T_(a->stop, BT); T_(a->post_in, BT * M);
    for (int i = 0; i < c->post_convs; i++) {
        int ci = i ? PC : M;
        T_(a->pcol[i], BT * c->post_k * ci); T_(a->pact[i], BT * (i == c->post_convs - 1 ? M : PC));
    }
    T_(a->mel1, BT * M); T_(a->stopt, BT); T_(a->stopm, BT); T_(a->gat, SB * N);
    T_(w->ascr, (size_t)B * A + 2 * ((size_t)N + K));
    T_(w->gx, (size_t)B * 3 * Hm); T_(w->gh, (size_t)B * 3 * Hm);

    T_(g->mel1, BT * M); T_(g->mel0, BT * M); T_(g->post[0], BT * PM); T_(g->post[1], BT * PM);
    T_(g->pcol, BT * c->post_k * PM);
    T_(g->y, SB * R); T_(g->stop, BT); T_(g->xout, SB * (Hd + D));
    T_(g->hatt, (size_t)B * Ha); T_(g->hdec, (size_t)B * Hd); T_(g->h_in, (size_t)B * Hm);
    T_(g->ctx, (size_t)B * D); T_(g->ctx_next, (size_t)B * D);
    T_(g->xatt, (size_t)B * (P2 + D)); T_(g->xdec, (size_t)B * (Ha + D));
    T_(g->gxa, SB * 3 * Ha); T_(g->gha, SB * 3 * Ha); T_(g->gxd, SB * 3 * Hd); T_(g->ghd, SB * 3 * Hd);
    T_(g->align, SB * N); T_(g->gat, SB * N); T_(g->aprev, BN); T_(g->cum, BN); T_(g->cprev, BN);
    T_(g->ascr, BN * A + BN * F + BN * 2 * K + BN * 2 + (size_t)B * A);
    T_(g->pm, BN * A); T_(g->enc, BN * D); T_(g->p2, SB * P2); T_(g->p1, SB * P1);
    T_(g->hf, BN * H); T_(g->hb, BN * H); T_(g->eout[0], BN * maxc); T_(g->eout[1], BN * maxc);
    T_(g->ecol, BN * c->enc_k * maxc); T_(g->lscr, BN * 4 * H + 3 * (size_t)B * H);
    if (c->enc_batchnorm) { T_(g->ebn, BN * C); T_(g->bnscr, 2 * (size_t)C); }
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
    return ws->a.align;
}

NN_API const real *taco_train_mel(const taco_train_ws *ws) { return ws->a.mel1; }
NN_API const real *taco_train_mel_before(const taco_train_ws *ws) { return ws->a.mel0; }
NN_API const real *taco_train_stop(const taco_train_ws *ws) { return ws->a.stop; }

NN_API const real *taco_train_inputs(const taco_train_ws *ws, int *T_dec, int *B)
{
    *T_dec = ws->S;
    *B = ws->B;
    return ws->a.xin;
}

NN_API void taco_bn_update(taco_model *m, const taco_train_ws *ws)
{
    if (!m->cfg.enc_batchnorm || !ws || !ws->bn_batch) return;
    for (int i = 0; i < m->cfg.enc_convs; i++)
        batchnorm_update_running(m->w.bn_mean[i], m->w.bn_var[i], ws->a.e.mean[i], ws->a.e.var[i],
                                 ws->bn_rows, m->cfg.enc_ch, (real)NN_BN_MOMENTUM);
}

/* ------------------------------------------------------------- forward */

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

/* The forward pass of a batch into w->a: the encoder, then the decoder step
 * by step (teacher-forced, or fed its own frames with free_run), then the
 * postnet.  The dropout masks are drawn first, in a fixed order. */
static int train_forward(const taco_model *m, taco_train_ws *w, const taco_batch *bt, const taco_train_opts *o,
                         nn_rng *rng)
{
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    train_acts *a = &w->a;
    int B = bt->B, N = bt->N, T = bt->T, r = c->r, S = w->S, M = c->n_mels, D = 2 * c->enc_lstm;
    int A = c->att_dim, F = c->loc_filters, K = c->loc_k, Ha = c->att_rnn, Hd = c->dec_rnn;
    int R = r * (M + 1), P1 = c->prenet1, P2 = c->prenet2, C = c->enc_ch, NC = c->enc_convs;
    int NP = c->post_convs;
    size_t BN = (size_t)B * N, SB = (size_t)S * B, BT = (size_t)B * T;

    /* ---- encoder ---- */
    for (int i = 0; i < NC; i++) {
        if (o->dropout == 1) item_masks_bnc(a->e.mask[i], bt, B, (size_t)N * C, c->enc_dropout, (uint64_t)i, rng);
        else for (size_t j = 0; j < BN * C; j++) a->e.mask[i][j] = 1;
    }
    int bn_batch = c->enc_batchnorm && !o->bn_running;
    w->bn_batch = 0;
    size_t rows = taco_encode(m, &a->e, bt->ids, bt->nlen, B, N, bn_batch ? TACO_BN_BATCH : TACO_BN_RUNNING,
                              o->shard);
    if (bn_batch) w->bn_rows = rows;
    w->bn_batch = bn_batch;

    /* ---- decoder inputs: the last frame of the previous step (teacher forcing,
     *      or the frames the caller gives in mel_in) ---- */
    const real *fed = bt->mel_in ? bt->mel_in : bt->mel;
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++) {
            real *x = a->xin + ((size_t)s * B + b) * M;
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
    if (o->dropout) item_masks_sbp(a->p1m, bt, S, B, P1, c->prenet_dropout, 16, rng);
    else for (size_t j = 0; j < SB * P1; j++) a->p1m[j] = 1;
    if (o->dropout) item_masks_sbp(a->p2m, bt, S, B, P2, c->prenet_dropout, 17, rng);
    else for (size_t j = 0; j < SB * P2; j++) a->p2m[j] = 1;
    if (!free_run) taco_prenet(m, a->p1, a->p1d, a->p2, a->xin, a->p1m, (int)SB);

    /* ---- decoder loop ---- */
    memset(a->hatt, 0, sizeof(real) * B * Ha);
    memset(a->hdec, 0, sizeof(real) * B * Hd);
    memset(a->cum, 0, sizeof(real) * BN);
    memset(a->zeros, 0, sizeof(real) * BN);
    for (int s = 0; s < S; s++) {
        size_t row0 = (size_t)s * B;
        if (free_run) {
            for (int b = 0; s > 0 && b < B; b++)
                if (nn_rng_uniform(item_free ? &item_free[b] : &frng) < o->free_run)
                    memcpy(a->xin + (row0 + b) * M, a->y + (row0 - B + b) * R + (size_t)(r - 1) * (M + 1),
                           sizeof(real) * M);
            taco_prenet(m, a->p1 + row0 * P1, a->p1d + row0 * P1, a->p2 + row0 * P2, a->xin + row0 * M,
                        a->p1m + row0 * P1, B);
        }
        taco_dec_acts d = {
            .p2 = a->p2 + row0 * P2, .p2_mask = a->p2m + row0 * P2,
            .ctx_prev = s ? a->ctx + (row0 - B) * D : NULL,
            .hatt_prev = a->hatt + row0 * Ha, .hdec_prev = a->hdec + row0 * Hd,
            .aprev = s ? a->align + (size_t)(s - 1) * BN : a->zeros, .cum = a->cum,
            .xatt = a->xatt + row0 * (P2 + D), .hatt = a->hatt + (row0 + B) * Ha, .catt = a->catt + row0 * 4 * Ha,
            .align = a->align + (size_t)s * BN, .ctx = a->ctx + row0 * D,
            .af = a->af + (size_t)s * BN * F, .as = a->as + (size_t)s * BN * A,
            .acol = a->acol + (size_t)s * BN * 2 * K, .ascr = w->ascr,
            .xdec = a->xdec + row0 * (Ha + D), .hdec = a->hdec + (row0 + B) * Hd, .cdec = a->cdec + row0 * 4 * Hd,
            .xout = a->xout + row0 * (Hd + D), .y = free_run ? a->y + row0 * R : NULL,
            .gx = w->gx, .gh = w->gh,
        };
        taco_decoder_step(m, &d, a->e.enc, a->e.pm, bt->nlen, B, N, NULL, NULL);
    }
    free(item_free);
    if (!free_run) linear_forward(a->y, a->xout, W->proj_w, W->proj_b, (int)SB, Hd + D, R);
    /* unpack (S,B,r(M+1)) into frames (B,T,M) and stop logits (B,T) */
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < r; k++) {
                const real *src = a->y + ((size_t)s * B + b) * R + (size_t)k * (M + 1);
                size_t f = (size_t)b * T + s * r + k;
                memcpy(a->mel0 + f * M, src, sizeof(real) * M);
                a->stop[f] = src[M];
            }

    /* ---- postnet: zero beyond each item's end, as at inference ---- */
    memcpy(a->post_in, a->mel0, sizeof(real) * BT * M);
    mask_rows(a->post_in, w->tlen, B, T, M);
    taco_postnet(m, a->pcol, a->pact, a->post_in, w->tlen, B, T);
    for (size_t j = 0; j < BT * M; j++) a->mel1[j] = a->mel0[j] + a->pact[NP - 1][j];
    return 0;
}

/* ------------------------------------------------------------- losses */

/* The four losses of the forward pass in w->a into *loss; with want, their
 * gradients with respect to mel0, mel1, the stop logits and the alignment
 * into w->g (every other gradient buffer is backward's). */
static void train_losses(const taco_model *m, taco_train_ws *w, const taco_batch *bt, const taco_train_opts *o,
                         int want, taco_loss *loss)
{
    const train_acts *a = &w->a;
    train_grads *g = &w->g;
    int B = bt->B, N = bt->N, T = bt->T, S = w->S, M = m->cfg.n_mels;
    size_t SB = (size_t)S * B, BT = (size_t)B * T;
    memset(g->mel0, 0, sizeof(real) * BT * M);
    memset(g->mel1, 0, sizeof(real) * BT * M);
    memset(g->stop, 0, sizeof(real) * BT);
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
    loss->mel_before = l1_loss(want ? g->mel0 : NULL, a->mel0, bt->mel, w->tlen, B, T, M, mel_scale);
    loss->mel_after = l1_loss(want ? g->mel1 : NULL, a->mel1, bt->mel, w->tlen, B, T, M, mel_scale);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            w->a.stopt[(size_t)b * T + t] = t >= w->tlen[b] - 1;
            w->a.stopm[(size_t)b * T + t] = 1;
        }
    loss->stop = bce_logits_loss(want ? g->stop : NULL, a->stop, a->stopt, a->stopm, BT,
                                 o->stop_pos_weight, o->stop_weight * stop_scale);
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++)
            memcpy(w->a.gat + ((size_t)b * S + s) * N, a->align + ((size_t)s * B + b) * N, sizeof(real) * N);
    memset(g->gat, 0, sizeof(real) * SB * N);
    loss->guided = o->guided_weight > 0
        ? guided_attention_loss(want ? g->gat : NULL, a->gat, w->nlen_s, bt->nlen, B, S, N,
                                o->guided_g, o->guided_weight * ga_scale)
        : 0;
    loss->total = loss->mel_before + loss->mel_after + o->stop_weight * loss->stop +
                  o->guided_weight * loss->guided;
    {   /* diagonal share, for the progress line */
        double in = 0, all = 0;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < w->nlen_s[b]; s++)
                for (int n = 0; n < bt->nlen[b]; n++) {
                    real x = a->align[((size_t)s * B + b) * N + n];
                    all += x;
                    if (fabs((double)n / bt->nlen[b] - (double)s / w->nlen_s[b]) <= 0.1) in += x;
                }
        loss->diag = all > 0 ? in / all : 0;
    }
}

/* ------------------------------------------------------------- backward */

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
    double acc[2 * TACO_SHARE_BLOCK + 1], total = 0;
    for (int c0 = 0; c0 < C; c0 += TACO_SHARE_BLOCK) {
        int k = C - c0 < TACO_SHARE_BLOCK ? C - c0 : TACO_SHARE_BLOCK;
        for (int j = 0; j < k; j++) { acc[j] = sum_d[c0 + j]; acc[k + j] = sum_dx[c0 + j]; }
        acc[2 * k] = (double)n;
        sh->allreduce(acc, 2 * k + 1, sh->user);
        for (int j = 0; j < k; j++) { sum_d[c0 + j] = (real)acc[j]; sum_dx[c0 + j] = (real)acc[k + j]; }
        total = acc[2 * k];
    }
    batchnorm_grad_input(dinp, dout, inp, mean, var, gamma, sum_d, sum_dx, (size_t)total, len, B, N, C, 1);
}

/* One GRU step backward: dh holds the gradient of the step's output (B, H)
 * and leaves with that of its input state; dx (B, NI) receives the input's;
 * dgx and dgh keep the gate gradients for the weights' products after the
 * loop.  h_in (B, H) is scratch. */
static void gru_step_backward(real *dx, real *dh, real *h_in, real *dgx, real *dgh, const real *cache,
                              const real *h_prev, const real *wih, const real *whh, int B, int NI, int H,
                              const struct nn_packed *const *pk)
{
    memset(dx, 0, sizeof(real) * B * NI);
    memcpy(h_in, dh, sizeof(real) * B * H);
    memset(dh, 0, sizeof(real) * B * H);
    gru_cell_backward(dx, dh, dgx, dgh, h_in, cache, h_prev, wih, whh, B, NI, H, pk);
}

/* The backward pass: from the loss gradients train_losses left in w->g,
 * through the postnet, the decoder steps in reverse and the encoder;
 * parameter gradients accumulate into grad (laid out like m->data). */
static void train_backward(const taco_model *m, real *grad, taco_train_ws *w, const taco_batch *bt,
                           const taco_train_opts *o)
{
    const taco_config *c = &m->cfg;
    const taco_weights *W = &m->w;
    const train_acts *a = &w->a;
    train_grads *g = &w->g;
    int B = bt->B, N = bt->N, T = bt->T, r = c->r, S = w->S, M = c->n_mels, D = 2 * c->enc_lstm;
    int H = c->enc_lstm, A = c->att_dim, Ha = c->att_rnn, Hd = c->dec_rnn, R = r * (M + 1);
    int P1 = c->prenet1, P2 = c->prenet2, C = c->enc_ch, E = c->emb, PC = c->post_ch;
    int NC = c->enc_convs, NP = c->post_convs;
    size_t BN = (size_t)B * N, SB = (size_t)S * B, BT = (size_t)B * T;
    attn_dims ad = {.B = B, .N = N, .D = D, .A = A, .Q = Ha, .F = c->loc_filters, .K = c->loc_k};
    taco_weights G;
    taco_point(m, grad, &G);

    /* postnet: mel1 = mel0 + postnet(mel0 with its padding zeroed) */
    for (size_t j = 0; j < BT * M; j++) g->mel0[j] += g->mel1[j];
    real *dcur = g->post[0], *dnext = g->post[1];
    memcpy(dcur, g->mel1, sizeof(real) * BT * M);
    for (int i = NP - 1; i >= 0; i--) {
        int ci = i ? PC : M, co = i == NP - 1 ? M : PC;
        if (i < NP - 1) {
            /* dcur is the gradient of the tanh output: go to pre-activation in place */
            for (size_t j = 0; j < BT * co; j++) dcur[j] *= 1 - a->pact[i][j] * a->pact[i][j];
            mask_rows(dcur, w->tlen, B, T, co);
        }
        memset(dnext, 0, sizeof(real) * BT * ci);
        conv1d_backward(dnext, G.post_w[i], G.post_b[i], g->pcol, dcur, a->pcol[i], W->post_w[i],
                        B, T, ci, co, c->post_k);
        real *tmp = dcur; dcur = dnext; dnext = tmp;
    }
    mask_rows(dcur, w->tlen, B, T, M);
    for (size_t j = 0; j < BT * M; j++) g->mel0[j] += dcur[j];

    /* projection */
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < r; k++) {
                real *dst = g->y + ((size_t)s * B + b) * R + (size_t)k * (M + 1);
                size_t f = (size_t)b * T + s * r + k;
                memcpy(dst, g->mel0 + f * M, sizeof(real) * M);
                dst[M] = g->stop[f];
            }
    memset(g->xout, 0, sizeof(real) * SB * (Hd + D));
    linear_backward(g->xout, G.proj_w, G.proj_b, g->y, a->xout, W->proj_w, (int)SB, Hd + D, R);

    /* alignment gradient from the guided loss, back to (S,B,N) */
    for (int s = 0; s < S; s++)
        for (int b = 0; b < B; b++)
            memcpy(g->align + ((size_t)s * B + b) * N, g->gat + ((size_t)b * S + s) * N, sizeof(real) * N);

    /* ---- the decoder steps in reverse ---- */
    memset(g->hatt, 0, sizeof(real) * B * Ha);
    memset(g->hdec, 0, sizeof(real) * B * Hd);
    memset(g->ctx_next, 0, sizeof(real) * B * D);
    memset(g->aprev, 0, sizeof(real) * BN);
    memset(g->cum, 0, sizeof(real) * BN);
    memset(g->pm, 0, sizeof(real) * BN * A);
    memset(g->enc, 0, sizeof(real) * BN * D);
    memset(g->p2, 0, sizeof(real) * SB * P2);
    for (int s = S - 1; s >= 0; s--) {
        const real *xo = g->xout + (size_t)s * B * (Hd + D);
        /* d ctx_s: from the output layer, the decoder input, and the next step's attention rnn input */
        for (int b = 0; b < B; b++) {
            real *dh = g->hdec + (size_t)b * Hd, *dc = g->ctx + (size_t)b * D;
            for (int j = 0; j < Hd; j++) dh[j] += xo[(size_t)b * (Hd + D) + j];
            for (int j = 0; j < D; j++) dc[j] = xo[(size_t)b * (Hd + D) + Hd + j] + g->ctx_next[(size_t)b * D + j];
        }
        /* decoder rnn */
        const real *hd_prev = a->hdec + (size_t)s * B * Hd;
        gru_step_backward(g->xdec, g->hdec, g->h_in, g->gxd + (size_t)s * B * 3 * Hd,
                          g->ghd + (size_t)s * B * 3 * Hd, a->cdec + (size_t)s * B * 4 * Hd, hd_prev,
                          W->drnn_wih, W->drnn_whh, B, Ha + D, Hd, m->packed ? m->packed->drnn : NULL);
        for (int b = 0; b < B; b++) {
            const real *row = g->xdec + (size_t)b * (Ha + D);
            for (int j = 0; j < Ha; j++) g->hatt[(size_t)b * Ha + j] += row[j];
            for (int j = 0; j < D; j++) g->ctx[(size_t)b * D + j] += row[Ha + j];
        }
        /* attention: da = guided + from the next step's aprev + all later steps' cprev */
        real *da = g->align + (size_t)s * BN;
        for (size_t j = 0; j < BN; j++) da[j] += g->aprev[j] + g->cum[j];
        memset(g->aprev, 0, sizeof(real) * BN);
        memset(g->cprev, 0, sizeof(real) * BN);
        const real *ha = a->hatt + (size_t)(s + 1) * B * Ha;
        attention_backward(g->hatt, g->enc, g->pm, s ? g->aprev : NULL, g->cprev,
                           G.loc_w, G.loc_dense, G.query_w, G.att_v, g->ascr, g->ctx, da,
                           a->align + (size_t)s * BN, a->af + (size_t)s * BN * ad.F,
                           a->as + (size_t)s * BN * A, a->acol + (size_t)s * BN * 2 * ad.K, ha, a->e.enc,
                           W->loc_w, W->loc_dense, W->query_w, W->att_v, bt->nlen, ad,
                           m->packed ? m->packed->query[1] : NULL);
        for (size_t j = 0; j < BN; j++) g->cum[j] += g->cprev[j];
        /* attention rnn */
        const real *ha_prev = a->hatt + (size_t)s * B * Ha;
        gru_step_backward(g->xatt, g->hatt, g->h_in, g->gxa + (size_t)s * B * 3 * Ha,
                          g->gha + (size_t)s * B * 3 * Ha, a->catt + (size_t)s * B * 4 * Ha, ha_prev,
                          W->arnn_wih, W->arnn_whh, B, P2 + D, Ha, m->packed ? m->packed->arnn : NULL);
        for (int b = 0; b < B; b++) {
            const real *row = g->xatt + (size_t)b * (P2 + D);
            real *dp2 = g->p2 + ((size_t)s * B + b) * P2;
            const real *mk = a->p2m + ((size_t)s * B + b) * P2;
            for (int j = 0; j < P2; j++) dp2[j] = row[j] * mk[j];
            memcpy(g->ctx_next + (size_t)b * D, row + P2, sizeof(real) * D);
        }
    }
    gru_weight_grads(G.drnn_wih, G.drnn_whh, G.drnn_bih, G.drnn_bhh, g->gxd, g->ghd, a->xdec,
                     a->hdec, (int)SB, Ha + D, Hd);
    gru_weight_grads(G.arnn_wih, G.arnn_whh, G.arnn_bih, G.arnn_bhh, g->gxa, g->gha, a->xatt,
                     a->hatt, (int)SB, P2 + D, Ha);

    /* prenet (g->p2 is the gradient of relu2's output after its dropout mask) */
    for (size_t j = 0; j < SB * P2; j++) if (a->p2[j] <= 0) g->p2[j] = 0;
    memset(g->p1, 0, sizeof(real) * SB * P1);
    linear_backward(g->p1, G.pre2_w, G.pre2_b, g->p2, a->p1d, W->pre2_w, (int)SB, P1, P2);
    for (size_t j = 0; j < SB * P1; j++) g->p1[j] = a->p1[j] > 0 ? g->p1[j] * a->p1m[j] : 0;
    linear_backward(NULL, G.pre1_w, G.pre1_b, g->p1, a->xin, NULL, (int)SB, M, P1);

    /* ---- memory projection and encoder ---- */
    linear_backward(g->enc, G.mem_w, G.mem_b, g->pm, a->e.enc, W->mem_w, (int)BN, D, A);
    for (size_t i = 0; i < BN; i++) {
        memcpy(g->hf + i * H, g->enc + i * D, sizeof(real) * H);
        memcpy(g->hb + i * H, g->enc + i * D + H, sizeof(real) * H);
    }
    lstm_cache lfc, lbc;
    lstm_cache_point(&lfc, a->e.lf_cache, B, N, H);
    lstm_cache_point(&lbc, a->e.lb_cache, B, N, H);
    const real *elast = a->e.out[NC - 1];
    real *dout = g->eout[0], *din = g->eout[1];
    memset(dout, 0, sizeof(real) * BN * C);
    lstm_backward(dout, G.lf_wih, G.lf_whh, G.lf_bih, G.lf_bhh, g->lscr, g->hf, &lfc,
                  elast, W->lf_wih, W->lf_whh, bt->nlen, B, N, C, H, 0);
    lstm_backward(dout, G.lb_wih, G.lb_whh, G.lb_bih, G.lb_bhh, g->lscr, g->hb, &lbc,
                  elast, W->lb_wih, W->lb_whh, bt->nlen, B, N, C, H, 1);
    int bn = c->enc_batchnorm, bn_batch = w->bn_batch;
    for (int i = NC - 1; i >= 0; i--) {
        int ci = i ? C : E;
        mask_rows(dout, bt->nlen, B, N, C);
        /* through dropout and relu, in place, then batch norm */
        for (size_t j = 0; j < BN * C; j++)
            dout[j] = a->e.act[i][j] > 0 ? dout[j] * a->e.mask[i][j] : 0;
        const real *dconv = dout;
        if (bn) {
            memset(g->ebn, 0, sizeof(real) * BN * C);
            if (bn_batch && o->shard && o->shard->allreduce)
                bn_backward_shared(g->ebn, G.bn_gamma[i], G.bn_beta[i], g->bnscr, dout, a->e.conv[i],
                                   a->e.mean[i], a->e.var[i], W->bn_gamma[i], bt->nlen, B, N, C, o->shard);
            else
                batchnorm_backward(g->ebn, G.bn_gamma[i], G.bn_beta[i], g->bnscr, dout, a->e.conv[i],
                                   a->e.mean[i], a->e.var[i], W->bn_gamma[i], bt->nlen, B, N, C, bn_batch);
            dconv = g->ebn;
        }
        memset(din, 0, sizeof(real) * BN * ci);
        conv1d_backward(din, G.conv_w[i], G.conv_b[i], g->ecol, dconv, a->e.col[i],
                        W->conv_w[i], B, N, ci, C, c->enc_k);
        real *tmp = dout; dout = din; din = tmp;
    }
    mask_rows(dout, bt->nlen, B, N, E);
    embedding_backward(G.emb, dout, bt->ids, (int)BN, E);
}

/* ------------------------------------------------------------- the step */

NN_API int taco_train_step(const taco_model *m, real *grad, const taco_batch *bt,
                           const taco_train_opts *o, nn_rng *rng, taco_train_ws **pws,
                           taco_loss *loss)
{
    const taco_config *c = &m->cfg;
    int B = bt->B, N = bt->N, T = bt->T, r = c->r;
    if (T % r != 0 || B < 1 || N < 1 || T < r) return -1;
    if (ws_prepare(pws, c, B, N, T)) return -1;
    taco_train_ws *w = *pws;
    for (int b = 0; b < B; b++) {
        w->tlen[b] = bt->tlen[b] < T ? bt->tlen[b] : T;
        w->nlen_s[b] = (w->tlen[b] + r - 1) / r;
    }
    if (train_forward(m, w, bt, o, rng)) return -1;
    train_losses(m, w, bt, o, grad != NULL, loss);
    if (grad) train_backward(m, grad, w, bt, o);
    return 0;
}
