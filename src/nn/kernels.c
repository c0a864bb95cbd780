/*
 * kernels.c - the layers of the acoustic model, each forward directly above
 * its backward (see nn.h for shapes and the accumulate-into-d* rule).
 *
 * This file is compiled twice: as float into the library, and as double
 * inside tests/test_grad.c, which checks every backward pass here against
 * central finite differences.  Keep it free of calls into other modules.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "nn/nn.h"
#ifndef NN_DOUBLE
#include "nn/gemm.h"
#endif

#include <cblas.h>
#include <math.h>
#include <string.h>

/* The hottest loops get AVX2 and AVX-512 clones picked at load time (GCC's
 * function multiversioning); other compilers build the baseline only. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(NN_DOUBLE)
#define NN_HOT __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define NN_HOT
#endif

/* math in the element type: float code must not round-trip through double */
#if defined(NN_DOUBLE)
#define R_EXP exp
#define R_TANH tanh
#define R_LOG1P log1p
#define R_FABS fabs
#define R_SQRT sqrt
#else
#define R_EXP expf
#define R_TANH fast_tanhf
#define R_LOG1P log1pf
#define R_FABS fabsf
#define R_SQRT sqrtf
/* tanh as a rational function (the odd/even polynomial pair used by Eigen's
 * fast tanh), max error about 1e-7 relative: libm's tanhf was a third of a
 * training step.  The double build (gradient tests) uses the exact tanh. */
static inline float fast_tanhf(float x)
{
    const float lim = 7.90531110763549805f;
    x = x < -lim ? -lim : x;  /* two plain selects: the loop stays vectorizable */
    x = x > lim ? lim : x;
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return p / q;
}
#endif

/* ------------------------------------------------------------------ rng */

NN_API uint64_t nn_rng_next(nn_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

NN_API double nn_rng_uniform(nn_rng *r)
{
    return (double)(nn_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

NN_API double nn_rng_normal(nn_rng *r)
{
    double u1 = nn_rng_uniform(r), u2 = nn_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ----------------------------------------------------------------- gemm */

NN_API void nn_gemm(int ta, int tb, int M, int N, int K, const real *A, int lda,
                    const real *B, int ldb, real beta, real *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (beta == 0) for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, sizeof(real) * N);
        else if (beta != 1) for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] *= beta;
        return;
    }
#if defined(NN_DOUBLE)
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
#endif
}

/* out (N,O) = beta*out + inp (N,I) · B where B is packed (float builds) or
 * given as w: transposed (w is (O,I)) when tw, else w is (I,O). */
static void step_product(real *out, const real *inp, const real *w, int tw, const struct nn_packed *pk,
                         int N, int NI, int O, real beta)
{
#ifndef NN_DOUBLE
    if (pk) { nn_gemm_packed(N, inp, NI, pk, beta, out, O); return; }
#endif
    (void)pk;
    nn_gemm(0, tw, N, O, NI, inp, NI, w, tw ? NI : O, beta, out, O);
}

/* a · b with eight partial sums, so the compiler can vectorize it without
 * reassociating a single sum */
static inline real dot(const real *a, const real *b, int n)
{
    real acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    real sum = 0;
    for (; i < n; i++) sum += a[i] * b[i];
    for (int k = 0; k < 8; k++) sum += acc[k];
    return sum;
}

/* column sums of dout (N,O) added to db (O) */
static void add_colsum(real *db, const real *dout, int N, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) db[o] += dout[(size_t)n * O + o];
}

/* --------------------------------------------------------------- linear */

NN_API void linear_forward(real *out, const real *inp, const real *w, const real *b,
                           int N, int NI, int O)
{
    // out (N,O), inp (N,NI), w (O,NI), b (O) or NULL
    nn_gemm(0, 1, N, O, NI, inp, NI, w, NI, 0, out, O);
    if (b)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) out[(size_t)n * O + o] += b[o];
}

NN_API void linear_forward_pk(real *out, const real *inp, const real *w, const real *b,
                              int N, int NI, int O, const struct nn_packed *pk)
{
    if (!pk) { linear_forward(out, inp, w, b, N, NI, O); return; }
    step_product(out, inp, w, 1, pk, N, NI, O, 0);
    if (b)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) out[(size_t)n * O + o] += b[o];
}

NN_API void linear_backward(real *dinp, real *dw, real *db, const real *dout,
                            const real *inp, const real *w, int N, int NI, int O)
{
    if (dinp) nn_gemm(0, 0, N, NI, O, dout, O, w, NI, 1, dinp, NI);
    if (dw) nn_gemm(1, 0, O, NI, N, dout, O, inp, NI, 1, dw, NI);
    if (db) add_colsum(db, dout, N, O);
}

/* ------------------------------------------------------------ embedding */

NN_API void embedding_forward(real *out, const int32_t *ids, const real *table, int N, int C)
{
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * C, table + (size_t)ids[n] * C, sizeof(real) * C);
}

NN_API void embedding_backward(real *dtable, const real *dout, const int32_t *ids, int N, int C)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) dtable[(size_t)ids[n] * C + c] += dout[(size_t)n * C + c];
}

/* --------------------------------------------------------------- conv1d */

NN_API void conv1d_forward(real *out, real *col, const real *inp, const real *w, const real *b,
                           int B, int T, int Ci, int Co, int K)
{
    conv1d_forward_pk(out, col, inp, w, b, B, T, Ci, Co, K, NULL);
}

NN_API void conv1d_forward_pk(real *out, real *col, const real *inp, const real *w, const real *b,
                              int B, int T, int Ci, int Co, int K, const struct nn_packed *pk)
{
    // inp (B,T,Ci) -> col (B*T, K*Ci) -> out (B*T, Co) = col w^T + b
    int half = K / 2;
    for (int bb = 0; bb < B; bb++)
        for (int t = 0; t < T; t++) {
            real *row = col + ((size_t)bb * T + t) * K * Ci;
            for (int k = 0; k < K; k++) {
                int ts = t + k - half;
                if (ts < 0 || ts >= T) memset(row + k * Ci, 0, sizeof(real) * Ci);
                else memcpy(row + k * Ci, inp + ((size_t)bb * T + ts) * Ci, sizeof(real) * Ci);
            }
        }
    linear_forward_pk(out, col, w, b, B * T, K * Ci, Co, pk);
}

NN_API void conv1d_backward(real *dinp, real *dw, real *db, real *dcol, const real *dout,
                            const real *col, const real *w, int B, int T, int Ci, int Co, int K)
{
    int half = K / 2;
    if (dinp) memset(dcol, 0, sizeof(real) * (size_t)B * T * K * Ci);
    linear_backward(dinp ? dcol : NULL, dw, db, dout, col, w, B * T, K * Ci, Co);
    if (!dinp) return;
    for (int bb = 0; bb < B; bb++)
        for (int t = 0; t < T; t++) {
            const real *row = dcol + ((size_t)bb * T + t) * K * Ci;
            for (int k = 0; k < K; k++) {
                int ts = t + k - half;
                if (ts < 0 || ts >= T) continue;
                real *di = dinp + ((size_t)bb * T + ts) * Ci;
                for (int c = 0; c < Ci; c++) di[c] += row[k * Ci + c];
            }
        }
}

/* ----------------------------------------------------------- batch norm */

NN_API size_t batchnorm_stats(real *mean, real *var, const real *inp, const int *len,
                              int B, int T, int C)
{
    // inp (B,T,C) -> mean (C), biased var (C) over the rows t < len[b]; two passes
    size_t n = 0;
    for (int c = 0; c < C; c++) { mean[c] = 0; var[c] = 0; }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < len[b] && t < T; t++, n++) {
            const real *x = inp + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) mean[c] += x[c];
        }
    if (n == 0) return 0;
    for (int c = 0; c < C; c++) mean[c] /= (real)n;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < len[b] && t < T; t++) {
            const real *x = inp + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) var[c] += (x[c] - mean[c]) * (x[c] - mean[c]);
        }
    for (int c = 0; c < C; c++) var[c] /= (real)n;
    return n;
}

static inline real bn_rstd(real var) { return 1 / R_SQRT(var + (real)NN_BN_EPS); }

NN_API void batchnorm_forward(real *out, const real *inp, const real *mean, const real *var,
                              const real *gamma, const real *beta, const int *len,
                              int B, int T, int C)
{
    // out (B,T,C) = gamma (inp - mean) rstd + beta on valid rows, 0 on padded rows
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t row = ((size_t)b * T + t) * C;
            if (t >= len[b]) { memset(out + row, 0, sizeof(real) * C); continue; }
            for (int c = 0; c < C; c++)
                out[row + c] = gamma[c] * (inp[row + c] - mean[c]) * bn_rstd(var[c]) + beta[c];
        }
}

NN_API size_t batchnorm_grad_sums(real *sum_d, real *sum_dx, const real *dout, const real *inp,
                                  const real *mean, const real *var, const int *len, int B, int T, int C)
{
    // per channel, with xhat = (inp - mean) rstd over the valid rows: Σ dout, Σ dout xhat
    size_t n = 0;
    for (int c = 0; c < C; c++) { sum_d[c] = 0; sum_dx[c] = 0; }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < len[b] && t < T; t++, n++) {
            size_t row = ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) {
                sum_d[c] += dout[row + c];
                sum_dx[c] += dout[row + c] * (inp[row + c] - mean[c]) * bn_rstd(var[c]);
            }
        }
    return n;
}

NN_API void batchnorm_grad_input(real *dinp, const real *dout, const real *inp, const real *mean,
                                 const real *var, const real *gamma, const real *sum_d,
                                 const real *sum_dx, size_t n, const int *len, int B, int T, int C,
                                 int batch_stats)
{
    //   dinp = gamma rstd (dout - [Σ dout + xhat Σ dout xhat] / n)   (batch statistics)
    //   dinp = gamma rstd dout                                        (running statistics)
    if (n == 0) return;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < len[b] && t < T; t++) {
            size_t row = ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) {
                real rstd = bn_rstd(var[c]), d = dout[row + c];
                if (batch_stats)
                    d -= (sum_d[c] + (inp[row + c] - mean[c]) * rstd * sum_dx[c]) / (real)n;
                dinp[row + c] += gamma[c] * rstd * d;
            }
        }
}

NN_API void batchnorm_backward(real *dinp, real *dgamma, real *dbeta, real *scratch,
                               const real *dout, const real *inp, const real *mean,
                               const real *var, const real *gamma, const int *len,
                               int B, int T, int C, int batch_stats)
{
    // dbeta = Σ dout, dgamma = Σ dout xhat; dinp as in batchnorm_grad_input
    real *sum_d = scratch, *sum_dx = scratch + C;  // (C) each
    size_t n = batchnorm_grad_sums(sum_d, sum_dx, dout, inp, mean, var, len, B, T, C);
    if (n == 0) return;
    for (int c = 0; c < C; c++) {
        if (dbeta) dbeta[c] += sum_d[c];
        if (dgamma) dgamma[c] += sum_dx[c];
    }
    if (dinp) batchnorm_grad_input(dinp, dout, inp, mean, var, gamma, sum_d, sum_dx, n, len, B, T, C, batch_stats);
}

NN_API void batchnorm_update_running(real *run_mean, real *run_var, const real *mean,
                                     const real *var, size_t n, int C, real momentum)
{
    if (n == 0) return;
    real unbias = n > 1 ? (real)n / (real)(n - 1) : 1;
    for (int c = 0; c < C; c++) {
        run_mean[c] = (1 - momentum) * run_mean[c] + momentum * mean[c];
        run_var[c] = (1 - momentum) * run_var[c] + momentum * var[c] * unbias;
    }
}

/* ---------------------------------------------------------- activations */

NN_API void relu_forward(real *out, const real *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
}

NN_API void relu_backward(real *dinp, const real *dout, const real *out, size_t n)
{
    for (size_t i = 0; i < n; i++) if (out[i] > 0) dinp[i] += dout[i];
}

NN_HOT NN_API void tanh_forward(real *out, const real *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = R_TANH(inp[i]);
}

NN_API void tanh_backward(real *dinp, const real *dout, const real *out, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * (1 - out[i] * out[i]);
}

NN_API real nn_tanh(real x) { return R_TANH(x); }

static inline real sigm(real x) { return (real)0.5 + (real)0.5 * R_TANH((real)0.5 * x); }

NN_API void sigmoid_forward(real *out, const real *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = sigm(inp[i]);
}

NN_API void sigmoid_backward(real *dinp, const real *dout, const real *out, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * out[i] * (1 - out[i]);
}

/* -------------------------------------------------------------- dropout */

NN_API void dropout_mask(real *mask, size_t n, real p, nn_rng *rng)
{
    real keep = 1 / (1 - p);
    for (size_t i = 0; i < n; i++) mask[i] = nn_rng_uniform(rng) < p ? 0 : keep;
}

NN_API void dropout_forward(real *out, const real *inp, const real *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = inp[i] * mask[i];
}

NN_API void dropout_backward(real *dinp, const real *dout, const real *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}

NN_API void mask_rows(real *x, const int *len, int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int t = len[b]; t < T; t++) memset(x + ((size_t)b * T + t) * C, 0, sizeof(real) * C);
}

/* ----------------------------------------------------------------- LSTM */

NN_API size_t lstm_cache_floats(int B, int T, int H) { return (size_t)B * T * H * 7; }

NN_API void lstm_cache_point(lstm_cache *c, real *mem, int B, int T, int H)
{
    size_t n = (size_t)B * T * H;
    c->gates = mem;            // (B,T,4H)
    c->c = mem + 4 * n;        // (B,T,H)
    c->hprev = mem + 5 * n;    // (B,T,H)
    c->cprev = mem + 6 * n;    // (B,T,H)
}

NN_API void lstm_forward(real *h_out, lstm_cache *cache, real *scratch, const real *x,
                         const real *wih, const real *whh, const real *bih, const real *bhh,
                         const int *len, int B, int T, int NI, int H, int reverse)
{
    lstm_forward_pk(h_out, cache, scratch, x, wih, whh, bih, bhh, len, B, T, NI, H, reverse, NULL);
}

NN_HOT NN_API void lstm_forward_pk(real *h_out, lstm_cache *cache, real *scratch, const real *x,
                                   const real *wih, const real *whh, const real *bih, const real *bhh,
                                   const int *len, int B, int T, int NI, int H, int reverse,
                                   const struct nn_packed *const *pk)
{
    // x (B,T,NI) -> h_out (B,T,H).  cache->gates first receives x wih^T for all steps.
    int G = 4 * H;
    real *h = scratch, *c = scratch + (size_t)B * H;  // state (B,H) each
    memset(scratch, 0, sizeof(real) * 2 * B * H);
    linear_forward_pk(cache->gates, x, wih, NULL, B * T, NI, G, pk ? pk[0] : NULL);
    for (int s = 0; s < T; s++) {
        int t = reverse ? T - 1 - s : s;
        real *gt = cache->gates + (size_t)t * G;  // rows (b,t), stride T*G
#ifndef NN_DOUBLE
        if (pk && pk[1]) nn_gemm_packed(B, h, H, pk[1], 1, gt, T * G);
        else
#endif
        nn_gemm(0, 1, B, G, H, h, H, whh, H, 1, gt, T * G);
        for (int b = 0; b < B; b++) {
            size_t bt = (size_t)b * T + t;
            real *g = cache->gates + bt * G, *hb = h + (size_t)b * H, *cb = c + (size_t)b * H;
            memcpy(cache->hprev + bt * H, hb, sizeof(real) * H);
            memcpy(cache->cprev + bt * H, cb, sizeof(real) * H);
            if (t >= len[b]) {
                memset(g, 0, sizeof(real) * G);
                memcpy(cache->c + bt * H, cb, sizeof(real) * H);
                memset(h_out + bt * H, 0, sizeof(real) * H);
                continue;
            }
            for (int j = 0; j < H; j++) {
                real gi = sigm(g[j] + bih[j] + bhh[j]);
                real gf = sigm(g[H + j] + bih[H + j] + bhh[H + j]);
                real gg = R_TANH(g[2 * H + j] + bih[2 * H + j] + bhh[2 * H + j]);
                real go = sigm(g[3 * H + j] + bih[3 * H + j] + bhh[3 * H + j]);
                g[j] = gi; g[H + j] = gf; g[2 * H + j] = gg; g[3 * H + j] = go;
                cb[j] = gf * cb[j] + gi * gg;
                hb[j] = go * R_TANH(cb[j]);
            }
            memcpy(cache->c + bt * H, cb, sizeof(real) * H);
            memcpy(h_out + bt * H, hb, sizeof(real) * H);
        }
    }
}

NN_API void lstm_backward(real *dx, real *dwih, real *dwhh, real *dbih, real *dbhh,
                          real *dscratch, const real *dh_out, const lstm_cache *cache,
                          const real *x, const real *wih, const real *whh, const int *len,
                          int B, int T, int NI, int H, int reverse)
{
    int G = 4 * H;
    real *dG = dscratch;                         // (B,T,4H)
    real *dh = dG + (size_t)B * T * G;           // (B,H) gradient flowing into the state
    real *dc = dh + (size_t)B * H;               // (B,H)
    memset(dh, 0, sizeof(real) * 2 * B * H);
    for (int s = T - 1; s >= 0; s--) {
        int t = reverse ? T - 1 - s : s;
        for (int b = 0; b < B; b++) {
            size_t bt = (size_t)b * T + t;
            real *dg = dG + bt * G;
            if (t >= len[b]) { memset(dg, 0, sizeof(real) * G); continue; }
            const real *g = cache->gates + bt * G;
            const real *cc = cache->c + bt * H, *cp = cache->cprev + bt * H;
            real *dhb = dh + (size_t)b * H, *dcb = dc + (size_t)b * H;
            for (int j = 0; j < H; j++) {
                real gi = g[j], gf = g[H + j], gg = g[2 * H + j], go = g[3 * H + j];
                real dhj = dhb[j] + dh_out[bt * H + j];
                real tc = R_TANH(cc[j]);
                real dcj = dcb[j] + dhj * go * (1 - tc * tc);
                dg[j] = dcj * gg * gi * (1 - gi);
                dg[H + j] = dcj * cp[j] * gf * (1 - gf);
                dg[2 * H + j] = dcj * gi * (1 - gg * gg);
                dg[3 * H + j] = dhj * tc * go * (1 - go);
                dcb[j] = dcj * gf;
                dhb[j] = 0;  // replaced by the recurrent product below
            }
        }
        // dh(prev) += dG_t whh  (rows of padded positions are zero and keep dh)
        nn_gemm(0, 0, B, H, G, dG + (size_t)t * G, T * G, whh, H, 1, dh, H);
    }
    // weight gradients for all steps at once
    if (dwih) nn_gemm(1, 0, G, NI, B * T, dG, G, x, NI, 1, dwih, NI);
    if (dwhh) nn_gemm(1, 0, G, H, B * T, dG, G, cache->hprev, H, 1, dwhh, H);
    if (dbih) add_colsum(dbih, dG, B * T, G);
    if (dbhh) add_colsum(dbhh, dG, B * T, G);
    if (dx) nn_gemm(0, 0, B * T, NI, G, dG, G, wih, NI, 1, dx, NI);
}

/* ------------------------------------------------------------------ GRU */

NN_HOT NN_API void gru_cell_forward(real *hn, real *cache, real *gx, real *gh, const real *x,
                             const real *h, const real *wih, const real *whh,
                             const real *bih, const real *bhh, int B, int NI, int H,
                             const struct nn_packed *const *pk)
{
    // x (B,NI), h (B,H) -> hn (B,H); cache (B,4H) = r, z, n, Whn h + bhn
    step_product(gx, x, wih, 1, pk ? pk[0] : NULL, B, NI, 3 * H, 0);
    step_product(gh, h, whh, 1, pk ? pk[1] : NULL, B, H, 3 * H, 0);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < 3 * H; j++) {
            gx[(size_t)b * 3 * H + j] += bih[j];
            gh[(size_t)b * 3 * H + j] += bhh[j];
        }
    for (int b = 0; b < B; b++) {
        const real *ax = gx + (size_t)b * 3 * H, *ah = gh + (size_t)b * 3 * H;
        const real *hb = h + (size_t)b * H;
        real *cb = cache + (size_t)b * 4 * H, *ob = hn + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            real r = sigm(ax[j] + ah[j]);
            real z = sigm(ax[H + j] + ah[H + j]);
            real n = R_TANH(ax[2 * H + j] + r * ah[2 * H + j]);
            cb[j] = r; cb[H + j] = z; cb[2 * H + j] = n; cb[3 * H + j] = ah[2 * H + j];
            ob[j] = (1 - z) * n + z * hb[j];
        }
    }
}

NN_HOT NN_API void gru_cell_backward(real *dx, real *dh, real *dgx, real *dgh, const real *dhn,
                              const real *cache, const real *h, const real *wih,
                              const real *whh, int B, int NI, int H,
                              const struct nn_packed *const *pk)
{
    for (int b = 0; b < B; b++) {
        const real *cb = cache + (size_t)b * 4 * H, *hb = h + (size_t)b * H;
        const real *d = dhn + (size_t)b * H;
        real *ax = dgx + (size_t)b * 3 * H, *ah = dgh + (size_t)b * 3 * H;
        for (int j = 0; j < H; j++) {
            real r = cb[j], z = cb[H + j], n = cb[2 * H + j], hn_ = cb[3 * H + j];
            real dn = d[j] * (1 - z) * (1 - n * n);
            real dz = d[j] * (hb[j] - n) * z * (1 - z);
            real dr = dn * hn_ * r * (1 - r);
            ax[j] = dr; ax[H + j] = dz; ax[2 * H + j] = dn;
            ah[j] = dr; ah[H + j] = dz; ah[2 * H + j] = dn * r;
        }
    }
    if (dx) step_product(dx, dgx, wih, 0, pk ? pk[2] : NULL, B, 3 * H, NI, 1);
    if (dh) {
        for (int b = 0; b < B; b++)
            for (int j = 0; j < H; j++)
                dh[(size_t)b * H + j] += dhn[(size_t)b * H + j] * cache[(size_t)b * 4 * H + H + j];
        step_product(dh, dgh, whh, 0, pk ? pk[3] : NULL, B, 3 * H, H, 1);
    }
}

NN_API void gru_weight_grads(real *dwih, real *dwhh, real *dbih, real *dbhh,
                             const real *dgx, const real *dgh, const real *x,
                             const real *h, int N, int NI, int H)
{
    linear_backward(NULL, dwih, dbih, dgx, x, NULL, N, NI, 3 * H);
    linear_backward(NULL, dwhh, dbhh, dgh, h, NULL, N, H, 3 * H);
}

/* ------------------------------------------------------------ attention */

NN_HOT NN_API void attention_forward(real *a, real *ctx, real *f, real *s, real *col, real *scratch,
                              const real *q, const real *m, const real *pm,
                              const real *aprev, const real *cprev, const real *wloc,
                              const real *uloc, const real *wq, const real *v,
                              const int *len, attn_dims d, const struct nn_packed *const *pk)
{
    int B = d.B, N = d.N, D = d.D, A = d.A, F = d.F, K = d.K, half = K / 2;
    real *pq = scratch;  // (B,A)
    // location features: col (B*N, K*2) from [aprev, cprev], f = col wloc^T.
    // The two channels are interleaved into a zero-padded row once per item,
    // so each position's window is one contiguous copy.
    real *pad = scratch + (size_t)B * A;  // ((N + K - 1) * 2)
    for (int b = 0; b < B; b++) {
        memset(pad, 0, sizeof(real) * 2 * (N + K - 1));
        for (int n = 0; n < N; n++) {
            pad[2 * (n + half)] = aprev[(size_t)b * N + n];
            pad[2 * (n + half) + 1] = cprev[(size_t)b * N + n];
        }
        for (int n = 0; n < N; n++)
            memcpy(col + ((size_t)b * N + n) * K * 2, pad + 2 * n, sizeof(real) * 2 * K);
    }
    linear_forward_pk(f, col, wloc, NULL, B * N, 2 * K, F, pk ? pk[1] : NULL);
    linear_forward_pk(s, f, uloc, NULL, B * N, F, A, pk ? pk[2] : NULL);
    step_product(pq, q, wq, 1, pk ? pk[0] : NULL, B, d.Q, A, 0);
    for (int b = 0; b < B; b++) {
        real *ab = a + (size_t)b * N;
        real mx = -INFINITY;
        for (int n = 0; n < N; n++) {
            real *sr = s + ((size_t)b * N + n) * A;
            const real *pr = pm + ((size_t)b * N + n) * A;
            const real *qb = pq + (size_t)b * A;
            for (int j = 0; j < A; j++) sr[j] = R_TANH(sr[j] + pr[j] + qb[j]);  /* vectorizes */
            real e = dot(v, sr, A);
            ab[n] = e;
            if (n < len[b] && e > mx) mx = e;
        }
        real sum = 0;
        for (int n = 0; n < N; n++) {
            ab[n] = n < len[b] ? R_EXP(ab[n] - mx) : 0;
            sum += ab[n];
        }
        for (int n = 0; n < N; n++) ab[n] /= sum;
        if (ctx) nn_gemm(0, 0, 1, D, N, ab, N, m + (size_t)b * N * D, D, 0, ctx + (size_t)b * D, D);
    }
}

NN_HOT NN_API void attention_backward(real *dq, real *dm, real *dpm, real *daprev, real *dcprev,
                               real *dwloc, real *duloc, real *dwq, real *dv,
                               real *dscratch, const real *dctx, const real *da,
                               const real *a, const real *f, const real *s,
                               const real *col, const real *q, const real *m,
                               const real *wloc, const real *uloc, const real *wq,
                               const real *v, const int *len, attn_dims d,
                               const struct nn_packed *pwq_b)
{
    int B = d.B, N = d.N, D = d.D, A = d.A, F = d.F, K = d.K, half = K / 2;
    real *dpre = dscratch;                        // (B,N,A)
    real *df = dpre + (size_t)B * N * A;          // (B,N,F)
    real *dcol = df + (size_t)B * N * F;          // (B*N, 2K)
    real *de = dcol + (size_t)B * N * 2 * K;      // (B,N)
    real *dpq = de + (size_t)B * N;               // (B,A)
    memset(dpq, 0, sizeof(real) * B * A);
    for (int b = 0; b < B; b++) {
        /* positions past the text (n >= len[b]) have a = 0: no gradient */
        int L = len[b] < N ? len[b] : N;
        const real *ab = a + (size_t)b * N, *mb = m + (size_t)b * N * D;
        const real *dcb = dctx + (size_t)b * D;
        real *deb = de + (size_t)b * N, *dpqb = dpq + (size_t)b * A;
        real dot_ag = 0;
        for (int n = 0; n < L; n++) {
            deb[n] = (da ? da[(size_t)b * N + n] : 0) + dot(dcb, mb + (size_t)n * D, D);
            dot_ag += ab[n] * deb[n];
        }
        if (dm)
            for (int n = 0; n < L; n++) {
                real an = ab[n], *dmr = dm + ((size_t)b * N + n) * D;
                for (int k = 0; k < D; k++) dmr[k] += an * dcb[k];
            }
        for (int n = 0; n < L; n++) deb[n] = ab[n] * (deb[n] - dot_ag);
        for (int n = L; n < N; n++) deb[n] = 0;
        for (int n = 0; n < N; n++) {
            real *dr = dpre + ((size_t)b * N + n) * A;
            if (n >= L) { memset(dr, 0, sizeof(real) * A); continue; }
            const real *sr = s + ((size_t)b * N + n) * A;
            real e = deb[n];
            for (int j = 0; j < A; j++) dr[j] = e * v[j] * (1 - sr[j] * sr[j]);
            for (int j = 0; j < A; j++) dpqb[j] += dr[j];
            if (dv) for (int j = 0; j < A; j++) dv[j] += e * sr[j];
            if (dpm) {
                real *dp = dpm + ((size_t)b * N + n) * A;
                for (int j = 0; j < A; j++) dp[j] += dr[j];
            }
        }
    }
    if (dq) step_product(dq, dpq, wq, 0, pwq_b, B, A, d.Q, 1);
    linear_backward(NULL, dwq, NULL, dpq, q, wq, B, d.Q, A);
    memset(df, 0, sizeof(real) * (size_t)B * N * F);
    linear_backward(df, duloc, NULL, dpre, f, uloc, B * N, F, A);
    memset(dcol, 0, sizeof(real) * (size_t)B * N * 2 * K);
    linear_backward(dcol, dwloc, NULL, df, col, wloc, B * N, 2 * K, F);
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++) {
            const real *row = dcol + ((size_t)b * N + n) * K * 2;
            for (int k = 0; k < K; k++) {
                int ns = n + k - half;
                if (ns < 0 || ns >= N) continue;
                if (daprev) daprev[(size_t)b * N + ns] += row[2 * k];
                if (dcprev) dcprev[(size_t)b * N + ns] += row[2 * k + 1];
            }
        }
}

/* --------------------------------------------------------------- losses */

/* mean |pred - target| (squared = 0) or (pred - target)^2 (squared = 1)
 * over the rows (b, t < len[b]) */
static double masked_loss(real *dpred, const real *pred, const real *target, const int *len,
                          int B, int T, int C, real scale, int squared)
{
    double sum = 0, count = 0;
    for (int b = 0; b < B; b++) count += (double)(len[b] < T ? len[b] : T) * C;
    if (count == 0) return 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < len[b] && t < T; t++)
            for (int c = 0; c < C; c++) {
                size_t i = ((size_t)b * T + t) * C + c;
                real diff = pred[i] - target[i];
                sum += squared ? diff * diff : fabs(diff);
                if (dpred)
                    dpred[i] += scale * (squared ? 2 * diff : (real)(diff > 0) - (real)(diff < 0)) / count;
            }
    return sum / count;
}

NN_API double l1_loss(real *dpred, const real *pred, const real *target, const int *len,
                      int B, int T, int C, real scale)
{
    return masked_loss(dpred, pred, target, len, B, T, C, scale, 0);
}

NN_API double mse_loss(real *dpred, const real *pred, const real *target, const int *len,
                       int B, int T, int C, real scale)
{
    return masked_loss(dpred, pred, target, len, B, T, C, scale, 1);
}

NN_API double bce_logits_loss(real *dlogit, const real *logit, const real *target,
                              const real *mask, size_t n, real pw, real scale)
{
    double sum = 0, count = 0;
    for (size_t i = 0; i < n; i++) count += mask[i] != 0;
    if (count == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] == 0) continue;
        real x = logit[i], y = target[i];
        // softplus(x) = log(1+e^x), computed stably
        real sp_pos = x > 0 ? x + R_LOG1P(R_EXP(-x)) : R_LOG1P(R_EXP(x));
        real sp_neg = sp_pos - x;  // softplus(-x)
        sum += pw * y * sp_neg + (1 - y) * sp_pos;
        if (dlogit) {
            real p = sigm(x);
            dlogit[i] += scale * (pw * y * (p - 1) + (1 - y) * p) / count;
        }
    }
    return sum / count;
}

NN_API double guided_attention_loss(real *da, const real *a, const int *tlen, const int *nlen,
                                    int B, int T, int N, real g, real scale)
{
    double sum = 0, count = 0;
    for (int b = 0; b < B; b++) count += (double)(tlen[b] < T ? tlen[b] : T) * (nlen[b] < N ? nlen[b] : N);
    if (count == 0) return 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < tlen[b] && t < T; t++)
            for (int n = 0; n < nlen[b] && n < N; n++) {
                double x = (double)n / nlen[b] - (double)t / tlen[b];
                real w = 1 - exp(-x * x / (2.0 * g * g));
                size_t i = ((size_t)b * T + t) * N + n;
                sum += a[i] * w;
                if (da) da[i] += scale * w / count;
            }
    return sum / count;
}
