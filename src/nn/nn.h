/*
 * nn.h - neural network kernels (internal): each layer's forward directly
 * above its backward, over plain arrays, shapes in comments.  Row-major;
 * "(B,T,C)" means index [b][t][c].  Weights are stored (out, in) like
 * PyTorch, so a linear layer computes y = x W^T + b.
 *
 * Backward functions ACCUMULATE into their d* outputs (callers zero them),
 * so a tensor used twice simply receives both contributions.  Any d* pointer
 * may be NULL when that gradient is not wanted.
 *
 * The element type is `real`: float in the library.  The gradient tests
 * compile these same sources with NN_REAL=double and NN_API=static, so that
 * every backward pass is checked against central finite differences in
 * double precision.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_NN_H
#define TTS_NN_H

#include <stddef.h>
#include <stdint.h>

#ifndef NN_REAL
#define NN_REAL float
#endif

struct nn_packed;  /* packed weights for the decoder step (gemm.h); float builds only */
#ifndef NN_API
#define NN_API
#endif
typedef NN_REAL real;

/* ---- random numbers: explicit state, reproducible ---- */
typedef struct nn_rng { uint64_t s; } nn_rng;
NN_API uint64_t nn_rng_next(nn_rng *r);
NN_API double nn_rng_uniform(nn_rng *r);          /* [0, 1) */
NN_API double nn_rng_normal(nn_rng *r);           /* N(0, 1) */

/* ---- matrix products ---- */
/* C(M,N) = beta*C + op(A)(M,K) op(B)(K,N); ta/tb non-zero transpose A/B. */
NN_API void nn_gemm(int ta, int tb, int M, int N, int K, const real *A, int lda,
                    const real *B, int ldb, real beta, real *C, int ldc);

/* ---- linear: out(N,O) = inp(N,NI) w(O,NI)^T + b(O) ---- */
NN_API void linear_forward(real *out, const real *inp, const real *w, const real *b,
                           int N, int NI, int O);
NN_API void linear_backward(real *dinp, real *dw, real *db, const real *dout,
                            const real *inp, const real *w, int N, int NI, int O);
/* linear_forward with w^T packed for the AVX-512 kernel (gemm.h) when pk is
 * not NULL (float builds; inference): the same result within rounding. */
NN_API void linear_forward_pk(real *out, const real *inp, const real *w, const real *b,
                              int N, int NI, int O, const struct nn_packed *pk);

/* ---- embedding: out(N,C) = table(V,C)[ids(N)] ---- */
NN_API void embedding_forward(real *out, const int32_t *ids, const real *table, int N, int C);
NN_API void embedding_backward(real *dtable, const real *dout, const int32_t *ids, int N, int C);

/* ---- conv1d, "same" padding, channels last ----
 * inp (B,T,Ci), w (Co,K,Ci), b (Co) -> out (B,T,Co).  K odd.
 * col is scratch of (B*T, K*Ci) holding the unfolded input; backward needs
 * the col left by forward (cache it, do not overwrite in between). */
NN_API void conv1d_forward(real *out, real *col, const real *inp, const real *w, const real *b,
                           int B, int T, int Ci, int Co, int K);
/* conv1d_forward with w packed (linear_forward_pk) when pk is not NULL. */
NN_API void conv1d_forward_pk(real *out, real *col, const real *inp, const real *w, const real *b,
                              int B, int T, int Ci, int Co, int K, const struct nn_packed *pk);
NN_API void conv1d_backward(real *dinp, real *dw, real *db, real *dcol, const real *dout,
                            const real *col, const real *w, int B, int T, int Ci, int Co, int K);

/* ---- batch norm over (B,T,C), channels last, with a padding mask ----
 * Each channel is normalized by statistics of the valid rows (b,t), t < len[b]:
 *   out = gamma * (inp - mean) / sqrt(var + NN_BN_EPS) + beta
 * and padded rows output 0 (like mask_rows), so padding never reaches the
 * statistics or the output.  Training normalizes by the batch's own mean and
 * biased variance (batchnorm_stats, cached for backward and for the running
 * update); evaluation and inference by the running statistics.  The running
 * statistics move only when batchnorm_update_running is called, an explicit
 * step apart from forward, so a gradient check can evaluate forward freely. */
#define NN_BN_EPS 1e-5
#define NN_BN_MOMENTUM 0.1
/* mean (C), var (C): biased variance; returns the number of valid rows */
NN_API size_t batchnorm_stats(real *mean, real *var, const real *inp, const int *len,
                              int B, int T, int C);
/* out (B,T,C) may alias inp */
NN_API void batchnorm_forward(real *out, const real *inp, const real *mean, const real *var,
                              const real *gamma, const real *beta, const int *len,
                              int B, int T, int C);
/* batch_stats != 0: mean and var were the batch's own (batchnorm_stats), so
 * the gradient also flows through them; 0: they were constants (running).
 * Padded rows receive no gradient.  scratch (2C). */
NN_API void batchnorm_backward(real *dinp, real *dgamma, real *dbeta, real *scratch,
                               const real *dout, const real *inp, const real *mean,
                               const real *var, const real *gamma, const int *len,
                               int B, int T, int C, int batch_stats);
/* batchnorm_backward in two parts, for a batch split over processes whose
 * sums are added up between them: the per-channel sums Σ dout and
 * Σ dout xhat over the valid rows (returns their number), then the input
 * gradient from the sums of the whole batch (sum_d, sum_dx, n). */
NN_API size_t batchnorm_grad_sums(real *sum_d, real *sum_dx, const real *dout, const real *inp,
                                  const real *mean, const real *var, const int *len, int B, int T, int C);
NN_API void batchnorm_grad_input(real *dinp, const real *dout, const real *inp, const real *mean,
                                 const real *var, const real *gamma, const real *sum_d,
                                 const real *sum_dx, size_t n, const int *len, int B, int T, int C,
                                 int batch_stats);
/* run = (1 - momentum) run + momentum batch, over n valid rows; the running
 * variance takes the unbiased batch variance var * n / (n - 1) (as PyTorch). */
NN_API void batchnorm_update_running(real *run_mean, real *run_var, const real *mean,
                                     const real *var, size_t n, int C, real momentum);

/* ---- elementwise activations (out may alias inp in forward) ---- */
NN_API void relu_forward(real *out, const real *inp, size_t n);
NN_API void relu_backward(real *dinp, const real *dout, const real *out, size_t n);
NN_API void tanh_forward(real *out, const real *inp, size_t n);
NN_API void tanh_backward(real *dinp, const real *dout, const real *out, size_t n);
NN_API void sigmoid_forward(real *out, const real *inp, size_t n);
/* the tanh every kernel uses (a fast rational approximation in float) */
NN_API real nn_tanh(real x);
NN_API void sigmoid_backward(real *dinp, const real *dout, const real *out, size_t n);

/* ---- dropout: mask(n) holds 0 or 1/(1-p), drawn from rng; out = inp*mask ---- */
NN_API void dropout_mask(real *mask, size_t n, real p, nn_rng *rng);
NN_API void dropout_forward(real *out, const real *inp, const real *mask, size_t n);
NN_API void dropout_backward(real *dinp, const real *dout, const real *mask, size_t n);

/* ---- rows mask: zero the rows (b,t) with t >= len[b] of x (B,T,C) ---- */
NN_API void mask_rows(real *x, const int *len, int B, int T, int C);

/* ---- LSTM over a padded batch, one direction ----
 * x (B,T,NI), wih (4H,NI), whh (4H,H), bih (4H), bhh (4H); gates i,f,g,o.
 * out h (B,T,H).  Positions t >= len[b] keep the previous state (so a
 * reverse pass starts from zeros at each sequence's own end) and output 0.
 * The cache holds what backward needs: gates (B,T,4H) activated,
 * c (B,T,H), hprev (B,T,H), cprev (B,T,H). */
typedef struct lstm_cache { real *gates, *c, *hprev, *cprev; } lstm_cache;
NN_API size_t lstm_cache_floats(int B, int T, int H);
NN_API void lstm_cache_point(lstm_cache *c, real *mem, int B, int T, int H);
NN_API void lstm_forward(real *h_out, lstm_cache *cache, real *scratch, const real *x,
                         const real *wih, const real *whh, const real *bih, const real *bhh,
                         const int *len, int B, int T, int NI, int H, int reverse);
/* lstm_forward with pk = {wih^T, whh^T} packed (gemm.h; either NULL) */
NN_API void lstm_forward_pk(real *h_out, lstm_cache *cache, real *scratch, const real *x,
                            const real *wih, const real *whh, const real *bih, const real *bhh,
                            const int *len, int B, int T, int NI, int H, int reverse,
                            const struct nn_packed *const *pk);
/* scratch: (B,8H) floats, dscratch: (B*T*4H + 3*B*H) floats */
NN_API void lstm_backward(real *dx, real *dwih, real *dwhh, real *dbih, real *dbhh,
                          real *dscratch, const real *dh_out, const lstm_cache *cache,
                          const real *x, const real *wih, const real *whh, const int *len,
                          int B, int T, int NI, int H, int reverse);

/* ---- GRU cell, one step over a batch (PyTorch formulation) ----
 * x (B,NI), h (B,H) -> hn (B,H).  wih (3H,NI), whh (3H,H), gates r,z,n:
 *   r = σ(Wir x + bir + Whr h + bhr), z = σ(Wiz x + biz + Whz h + bhz)
 *   n = tanh(Win x + bin + r ⊙ (Whn h + bhn)), hn = (1-z) ⊙ n + z ⊙ h
 * cache (B,4H): r, z, n, (Whn h + bhn).  gx/gh scratch (B,3H) each.
 * Backward writes the pre-activation gradients dgx (B,3H), dgh (B,3H), and
 * accumulates dx, dh; weight gradients are left to the caller, who forms them
 * for all time steps at once with gru_weight_grads. */
/* pk (may be NULL) holds packed copies: pk[0] = wih^T, pk[1] = whh^T for
 * forward, pk[2] = wih, pk[3] = whh for backward; NULL entries use OpenBLAS. */
NN_API void gru_cell_forward(real *hn, real *cache, real *gx, real *gh, const real *x,
                             const real *h, const real *wih, const real *whh,
                             const real *bih, const real *bhh, int B, int NI, int H,
                             const struct nn_packed *const *pk);
NN_API void gru_cell_backward(real *dx, real *dh, real *dgx, real *dgh, const real *dhn,
                              const real *cache, const real *h, const real *wih,
                              const real *whh, int B, int NI, int H,
                              const struct nn_packed *const *pk);
/* dW += dG(N,3H)^T X(N,NI) etc. for N = steps*B rows gathered by the caller. */
NN_API void gru_weight_grads(real *dwih, real *dwhh, real *dbih, real *dbhh,
                             const real *dgx, const real *dgh, const real *x,
                             const real *h, int N, int NI, int H);

/* ---- location-sensitive attention, one decoder step ----
 * memory m (B,N,D) and its projection pm = m V^T + bv (B,N,A) computed once;
 * query q (B,Q); previous and cumulative weights aprev, cprev (B,N);
 * location conv wloc (F,K,2) (no bias), location dense uloc (A,F),
 * query proj wq (A,Q), energy vector v (A).
 *   f = conv([aprev,cprev]) (B,N,F), e = v·tanh(q wq^T + pm + f uloc^T)
 *   a = softmax over n < len[b], ctx = Σ a m (B,D)
 * cache: f (B,N,F), s = tanh(.) (B,N,A), col (B*N, K*2).  scratch (B*A + 2*(N+K)).
 * ctx may be NULL: the weights only (inference windows them first). */
typedef struct attn_dims { int B, N, D, A, Q, F, K; } attn_dims;
/* pk: NULL or {wq^T, wloc^T, uloc^T} packed (gemm.h), any of them NULL;
 * pwq_b: packed wq (backward) or NULL */
NN_API void attention_forward(real *a, real *ctx, real *f, real *s, real *col, real *scratch,
                              const real *q, const real *m, const real *pm,
                              const real *aprev, const real *cprev, const real *wloc,
                              const real *uloc, const real *wq, const real *v,
                              const int *len, attn_dims d, const struct nn_packed *const *pk);
/* da (B,N) is the upstream gradient of a (from losses and later steps);
 * dscratch (B*N*A + B*N*F + B*N*2*K + B*N*2 + B*A). */
NN_API void attention_backward(real *dq, real *dm, real *dpm, real *daprev, real *dcprev,
                               real *dwloc, real *duloc, real *dwq, real *dv,
                               real *dscratch, const real *dctx, const real *da,
                               const real *a, const real *f, const real *s,
                               const real *col, const real *q, const real *m,
                               const real *wloc, const real *uloc, const real *wq,
                               const real *v, const int *len, attn_dims d,
                               const struct nn_packed *pwq_b);

/* ---- losses: return the loss, write d(loss)/d(pred) * scale into dpred ----
 * masked over rows: rows (b,t) with t < len[b] of (B,T,C) count. */
NN_API double l1_loss(real *dpred, const real *pred, const real *target, const int *len,
                      int B, int T, int C, real scale);
NN_API double mse_loss(real *dpred, const real *pred, const real *target, const int *len,
                       int B, int T, int C, real scale);
/* binary cross-entropy with logits, elements where mask != 0, positive weight pw. */
NN_API double bce_logits_loss(real *dlogit, const real *logit, const real *target,
                              const real *mask, size_t n, real pw, real scale);
/* guided attention: mean over valid cells (t < tlen[b], n < nlen[b]) of
 * a(B,T,N) ⊙ W, W = 1 - exp(-(n/nlen - t/tlen)^2 / (2 g^2)). */
NN_API double guided_attention_loss(real *da, const real *a, const int *tlen, const int *nlen,
                                    int B, int T, int N, real g, real scale);

#endif
