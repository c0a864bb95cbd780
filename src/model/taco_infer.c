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

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

/* The monotonic window's state (see monotonic_window). */
typedef struct window_state { int n, D, focus; const real *enc; } window_state;

struct taco_infer_state {
    const taco_model *m;
    int max_n;          /* capacity in symbols */
    int max_steps;      /* capacity in decoder steps */
    /* encoder (N = max_n): activations alias where the layers run in place */
    real *emb, *col, *act[2], *lcache, *lscr, *hf, *hb, *enc, *pm;
    int32_t *ids;
    /* decoder state: GRU states ping-pong between [0] and [1] */
    real *x, *p1, *p1d, *p2, *mask1, *mask2, *xatt, *hatt[2], *xdec, *hdec[2], *gcache, *gx, *gh;
    real *zeros, *cum, *ctx, *f, *s, *acol, *ascr, *xout, *y;
    /* outputs (max_steps * r frames) */
    real *mel0, *mel, *pcol, *pbuf[2], *align;
    int n_frames, n_steps, n;
    /* the decoder between taco_infer_begin and its stop */
    taco_dec_acts d;
    window_state win;
    nn_rng rng;
    int cap_steps, at_end, stopped;
    taco_stop_reason why;
    int window;                /* 1: the monotonic window (taco_infer_set_window) */
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

void taco_infer_set_window(taco_infer_state *s, int on)
{
    s->window = on != 0;
}

static void free_bufs(taco_infer_state *s)
{
    real **all[] = {&s->emb, &s->col, &s->act[0], &s->act[1], &s->lcache, &s->lscr, &s->hf, &s->hb,
                    &s->enc, &s->pm, &s->x, &s->p1, &s->p1d, &s->p2, &s->mask1, &s->mask2, &s->xatt,
                    &s->hatt[0], &s->hatt[1], &s->xdec, &s->hdec[0], &s->hdec[1], &s->gcache, &s->gx,
                    &s->gh, &s->zeros, &s->cum, &s->ctx, &s->f, &s->s, &s->acol, &s->ascr, &s->xout,
                    &s->y, &s->mel0, &s->mel, &s->pcol, &s->pbuf[0], &s->pbuf[1], &s->align};
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
    s->p1d = xalloc(c->prenet1, &fail);
    s->p2 = xalloc(c->prenet2, &fail);
    s->mask1 = xalloc(c->prenet1, &fail);
    s->mask2 = xalloc(c->prenet2, &fail);
    s->xatt = xalloc(c->prenet2 + D, &fail);
    s->hatt[0] = xalloc(Ha, &fail);
    s->hatt[1] = xalloc(Ha, &fail);
    s->xdec = xalloc(Ha + D, &fail);
    s->hdec[0] = xalloc(Hd, &fail);
    s->hdec[1] = xalloc(Hd, &fail);
    s->gcache = xalloc((size_t)4 * Hm, &fail);
    s->gx = xalloc((size_t)3 * Hm, &fail);
    s->gh = xalloc((size_t)3 * Hm, &fail);
    s->zeros = xalloc(N, &fail);
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
    s->window = 1;
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
    const taco_config *c = &s->m->cfg;
    if (n < 1 || !ids_in) return NULL;
    for (int i = 0; i < n; i++) if (ids_in[i] < 0 || ids_in[i] >= c->n_symbols) return NULL;
    if (n > s->max_n && alloc_bufs(s, n + n / 2)) return NULL;
    memcpy(s->ids, ids_in, sizeof(int32_t) * n);
    /* no dropout; every layer but the first in place, one unfolded-input
       buffer and one LSTM cache for all */
    taco_enc_acts a = {.emb = s->emb, .lf_cache = s->lcache, .lb_cache = s->lcache, .lscratch = s->lscr,
                       .hf = s->hf, .hb = s->hb, .enc = s->enc, .pm = s->pm};
    for (int i = 0; i < c->enc_convs; i++) {
        a.col[i] = s->col;
        a.conv[i] = a.act[i] = a.out[i] = s->act[i & 1];
    }
    int len[1] = {n};
    taco_encode(s->m, &a, s->ids, len, 1, n, TACO_BN_FOLDED, NULL);
    return s->enc;
}

/* The monotonic window: the attention may stay within one symbol behind and
 * four ahead of the previous focus; the weights are renormalized there and
 * the context recomputed from them. */

static void monotonic_window(real *a, real *ctx, void *user)
{
    window_state *ws = user;
    int n = ws->n, lo = ws->focus - 1 < 0 ? 0 : ws->focus - 1, hi = ws->focus + 4 < n ? ws->focus + 4 : n;
    real sum = 0;
    for (int i = 0; i < n; i++) {
        if (i < lo || i >= hi) a[i] = 0;
        sum += a[i];
    }
    if (sum > 0) {
        for (int i = lo; i < hi; i++) a[i] /= sum;
    } else {
        a[lo] = 1;  /* the window lost all mass: stay put */
    }
    window_context(ctx, a, ws->enc, lo, hi, ws->D);
}

int taco_infer_begin(taco_infer_state *s, const int32_t *ids_in, int n, float max_frames_per_symbol,
                     uint64_t seed)
{
    const taco_config *c = &s->m->cfg;
    s->stopped = 1;
    if (!taco_infer_encode(s, ids_in, n)) return -1;
    if (!(max_frames_per_symbol > 0) || max_frames_per_symbol > 30) max_frames_per_symbol = 30;
    int D = 2 * c->enc_lstm;
    s->cap_steps = (int)((max_frames_per_symbol * n + 60) / c->r);
    if (s->cap_steps > s->max_steps) s->cap_steps = s->max_steps;
    memset(s->x, 0, sizeof(real) * c->n_mels);
    memset(s->hatt[0], 0, sizeof(real) * c->att_rnn);
    memset(s->hdec[0], 0, sizeof(real) * c->dec_rnn);
    memset(s->ctx, 0, sizeof(real) * D);
    memset(s->cum, 0, sizeof(real) * n);
    s->rng = (nn_rng){seed};
    s->win = (window_state){.n = n, .D = D, .focus = 0, .enc = s->enc};
    s->d = (taco_dec_acts){.p2 = s->p2, .p2_mask = s->mask2, .ctx_prev = s->ctx, .cum = s->cum, .xatt = s->xatt,
                           .catt = s->gcache, .ctx = s->ctx, .af = s->f, .as = s->s, .acol = s->acol,
                           .ascr = s->ascr, .xdec = s->xdec, .cdec = s->gcache, .xout = s->xout, .y = s->y,
                           .gx = s->gx, .gh = s->gh};
    s->n = n;
    s->n_steps = 0;
    s->n_frames = 0;
    s->at_end = 0;
    s->why = TACO_STOP_CAP;
    s->stopped = 0;
    return 0;
}

int taco_infer_decode(taco_infer_state *s, int until_frames, int *n_frames, taco_stop_reason *reason)
{
    const taco_model *m = s->m;
    const taco_config *c = &m->cfg;
    int M = c->n_mels, r = c->r, n = s->n, P1 = c->prenet1, P2 = c->prenet2;
    int len[1] = {n};
    taco_dec_acts *d = &s->d;
    int step = s->n_steps, frames = s->n_frames;
    while (!s->stopped && frames < until_frames) {
        if (step >= s->cap_steps || (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed))) {
            s->stopped = 1;  /* s->why stays TACO_STOP_CAP */
            break;
        }
        /* prenet dropout stays on at inference */
        dropout_mask(s->mask1, P1, c->prenet_dropout, &s->rng);
        dropout_mask(s->mask2, P2, c->prenet_dropout, &s->rng);
        taco_prenet(m, s->p1, s->p1d, s->p2, s->x, s->mask1, 1);
        d->hatt_prev = s->hatt[step & 1];
        d->hatt = s->hatt[~step & 1];
        d->hdec_prev = s->hdec[step & 1];
        d->hdec = s->hdec[~step & 1];
        d->aprev = step ? s->align + (size_t)(step - 1) * n : s->zeros;
        d->align = s->align + (size_t)step * n;
        taco_decoder_step(m, d, s->enc, s->pm, len, 1, n, s->window ? monotonic_window : NULL, &s->win);
        s->win.focus = argmax(d->align, n);
        step++;
        /* the stop rule */
        int stop_at = -1;
        for (int k = 0; k < r; k++) {
            memcpy(s->mel0 + (size_t)(frames + k) * M, s->y + (size_t)k * (M + 1), sizeof(real) * M);
            if (stop_at < 0 && s->y[(size_t)k * (M + 1) + M] > 0) stop_at = k;  /* sigmoid > 0.5 */
        }
        memcpy(s->x, s->y + (size_t)(r - 1) * (M + 1), sizeof(real) * M);
        if (stop_at >= 0 && s->win.focus >= n - 3) {
            frames += stop_at + 1;
            s->why = TACO_STOP_GATE;
            s->stopped = 1;
            break;
        }
        frames += r;
        /* end-of-text check: resting on the last symbol for 8 steps means done */
        s->at_end = s->win.focus == n - 1 ? s->at_end + 1 : 0;
        if (s->at_end >= 8) {
            frames -= 4 * r;  /* drop the frames spent lingering */
            s->why = TACO_STOP_END_OF_TEXT;
            s->stopped = 1;
            break;
        }
    }
    if (s->stopped && frames < 1) frames = 1;
    s->n_steps = step;
    s->n_frames = frames;
    *n_frames = frames;
    *reason = s->why;
    return s->stopped;
}

int taco_infer_reach(const taco_infer_state *s)
{
    const taco_config *c = &s->m->cfg;
    return c->post_convs * (c->post_k / 2) + 4 * c->r;
}

const real *taco_infer_postnet(taco_infer_state *s, int from, int to)
{
    const taco_model *m = s->m;
    const taco_config *c = &m->cfg;
    int M = c->n_mels, reach = c->post_convs * (c->post_k / 2);
    if (to > s->n_frames) to = s->n_frames;
    if (from < 0) from = 0;
    if (from >= to) return s->mel;
    int a = from - reach > 0 ? from - reach : 0;
    int b = to + reach < s->n_frames ? to + reach : s->n_frames;
    real *col[TACO_MAX_CONV], *act[TACO_MAX_CONV];
    for (int i = 0; i < c->post_convs; i++) { col[i] = s->pcol; act[i] = s->pbuf[i & 1]; }
    int flen[1] = {b - a};
    taco_postnet(m, col, act, s->mel0 + (size_t)a * M, flen, 1, b - a);
    const real *post = act[c->post_convs - 1];
    /* residual, then back from normalized to log-mel */
    for (int t = from; t < to; t++)
        for (int k = 0; k < M; k++) {
            size_t j = (size_t)t * M + k;
            s->mel[j] = (s->mel0[j] + post[(size_t)(t - a) * M + k]) * m->mel_std[k] + m->mel_mean[k];
        }
    return s->mel;
}

int taco_infer(taco_infer_state *s, const int32_t *ids_in, int n, float max_frames_per_symbol,
               uint64_t seed, const real **mel_out, int *n_frames, taco_stop_reason *reason)
{
    if (taco_infer_begin(s, ids_in, n, max_frames_per_symbol, seed)) return -1;
    taco_infer_decode(s, INT_MAX, n_frames, reason);
    *mel_out = taco_infer_postnet(s, 0, *n_frames);
    return 0;
}

const real *taco_infer_frames_before(const taco_infer_state *s, int *n_rows)
{
    *n_rows = s->n_steps * s->m->cfg.r;
    return s->mel0;
}
