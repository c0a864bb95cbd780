/*
 * gemm.c - packed-panel matrix products with an AVX-512 micro-kernel and a
 * portable fallback (see gemm.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "nn/gemm.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86 1
#include <immintrin.h>
#endif

#define NR 64  /* panel width: 4 zmm registers */
#define MR 6   /* rows per micro-kernel call */

static int forced = -1;

void nn_gemm_force(int kernel) { forced = kernel; }

int nn_gemm_kernel(void)
{
    if (forced >= 0) return forced;
#ifdef HAVE_X86
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return have;
#else
    return 0;
#endif
}

static int reserve(nn_packed *p, int K, int N)
{
    int np = (N + NR - 1) / NR;
    if (p->data && p->K == K && p->N == N) return 0;
    free(p->data);
    free(p->half);
    p->half = NULL;
    size_t bytes = (size_t)np * K * NR * sizeof(float);
    p->data = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p->data) { p->K = p->N = p->n_panels = 0; return -1; }
    p->K = K; p->N = N; p->n_panels = np;
    return 0;
}

int nn_pack_wt(nn_packed *p, const float *w, int N, int K, int ldw)
{
    if (reserve(p, K, N)) return -1;
    for (int pn = 0; pn < p->n_panels; pn++) {
        float *dst = p->data + (size_t)pn * K * NR;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < NR; j++) {
                int n = pn * NR + j;
                dst[(size_t)k * NR + j] = n < N ? w[(size_t)n * ldw + k] : 0;
            }
    }
    return 0;
}

int nn_pack_b(nn_packed *p, const float *b, int K, int N, int ldb)
{
    if (reserve(p, K, N)) return -1;
    for (int pn = 0; pn < p->n_panels; pn++) {
        float *dst = p->data + (size_t)pn * K * NR;
        int w = N - pn * NR < NR ? N - pn * NR : NR;
        for (int k = 0; k < K; k++) {
            memcpy(dst + (size_t)k * NR, b + (size_t)k * ldb + pn * NR, sizeof(float) * w);
            memset(dst + (size_t)k * NR + w, 0, sizeof(float) * (NR - w));
        }
    }
    return 0;
}

void nn_packed_free(nn_packed *p)
{
    if (!p) return;
    free(p->data);
    free(p->half);
    memset(p, 0, sizeof *p);
}

/* IEEE half to float, every case (zero, subnormal, normal, infinite, NaN). */
static float half_to_float(unsigned short h)
{
    unsigned sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FFu, bits;
    if (e == 0x1F) {
        bits = sign | 0x7F800000u | (m << 13);
    } else if (e) {
        bits = sign | ((e + 112) << 23) | (m << 13);
    } else if (m) {  /* subnormal: normalize */
        int sh = 0;
        while (!(m & 0x400u)) { m <<= 1; sh++; }
        bits = sign | ((unsigned)(113 - sh) << 23) | ((m & 0x3FFu) << 13);
    } else {
        bits = sign;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- portable kernel: the same panel walk in plain C ---- */

static void kernel_portable(int M, const float *A, int lda, const nn_packed *B, float beta,
                            float *C, int ldc)
{
    int K = B->K, N = B->N;
    float acc[MR][NR], row[NR];
    for (int pn = 0; pn < B->n_panels; pn++) {
        const float *panel = B->half ? NULL : B->data + (size_t)pn * K * NR;
        int w = N - pn * NR < NR ? N - pn * NR : NR;
        for (int i0 = 0; i0 < M; i0 += MR) {
            int mr = M - i0 < MR ? M - i0 : MR;
            memset(acc, 0, sizeof acc);
            for (int k = 0; k < K; k++) {
                const float *b = row;
                if (panel) {
                    b = panel + (size_t)k * NR;
                } else {
                    const unsigned short *h = B->half + ((size_t)pn * K + k) * NR;
                    for (int j = 0; j < NR; j++) row[j] = half_to_float(h[j]);
                }
                for (int r = 0; r < mr; r++) {
                    float a = A[(size_t)(i0 + r) * lda + k];
                    for (int j = 0; j < NR; j++) acc[r][j] += a * b[j];
                }
            }
            for (int r = 0; r < mr; r++) {
                float *c = C + (size_t)(i0 + r) * ldc + pn * NR;
                for (int j = 0; j < w; j++) c[j] = (beta != 0 ? c[j] : 0) + acc[r][j];
            }
        }
    }
}

#ifdef HAVE_X86
/* The micro-kernels read B through LOAD_B(b, j): 16 floats at column j of
 * row b, from float panels or (the _h versions) from half-precision ones,
 * converted in registers. */
#define LOAD_F(b, j) _mm512_load_ps((b) + (j))
#define LOAD_H(b, j) _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)((b) + (j))))

#define FMA_ROW(r)                                                          \
    a = _mm512_set1_ps(a##r[k]);                                            \
    c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0);                              \
    c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);                              \
    c##r##2 = _mm512_fmadd_ps(a, b2, c##r##2);                              \
    c##r##3 = _mm512_fmadd_ps(a, b3, c##r##3);

/* 6 rows times one 64-column panel: 24 accumulators in named registers
 * (an array of them was kept in memory by the compiler, halving speed).
 * Rows beyond M are served by the caller from a zero-padded copy. */
#define DEFINE_MICRO_6X64(NAME, T, LOAD_B)                                                          \
__attribute__((target("avx512f"))) static void NAME(int K, const float *A, int lda,                 \
                                                      const T *panel, __m512 out[6][4])             \
{                                                                                                   \
    const float *a0 = A, *a1 = A + lda, *a2 = A + 2 * (size_t)lda, *a3 = A + 3 * (size_t)lda;       \
    const float *a4 = A + 4 * (size_t)lda, *a5 = A + 5 * (size_t)lda;                              \
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;                             \
    __m512 c10 = c00, c11 = c00, c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00;  \
    __m512 c30 = c00, c31 = c00, c32 = c00, c33 = c00, c40 = c00, c41 = c00, c42 = c00, c43 = c00;  \
    __m512 c50 = c00, c51 = c00, c52 = c00, c53 = c00;                                              \
    for (int k = 0; k < K; k++) {                                                                   \
        const T *b = panel + (size_t)k * NR;                                                        \
        __m512 b0 = LOAD_B(b, 0), b1 = LOAD_B(b, 16), b2 = LOAD_B(b, 32), b3 = LOAD_B(b, 48), a;   \
        FMA_ROW(0) FMA_ROW(1) FMA_ROW(2) FMA_ROW(3) FMA_ROW(4) FMA_ROW(5)                           \
    }                                                                                               \
    out[0][0] = c00; out[0][1] = c01; out[0][2] = c02; out[0][3] = c03;                             \
    out[1][0] = c10; out[1][1] = c11; out[1][2] = c12; out[1][3] = c13;                             \
    out[2][0] = c20; out[2][1] = c21; out[2][2] = c22; out[2][3] = c23;                             \
    out[3][0] = c30; out[3][1] = c31; out[3][2] = c32; out[3][3] = c33;                             \
    out[4][0] = c40; out[4][1] = c41; out[4][2] = c42; out[4][3] = c43;                             \
    out[5][0] = c50; out[5][1] = c51; out[5][2] = c52; out[5][3] = c53;                             \
}
DEFINE_MICRO_6X64(micro_6x64, float, LOAD_F)
DEFINE_MICRO_6X64(micro_6x64_h, unsigned short, LOAD_H)
#undef FMA_ROW

/* One row times one 64-column panel, for the rows left over by the 6-row
 * kernel (a decoder step is a single row): two sets of four accumulators
 * over even and odd k, so the FMA latency is hidden without doing the five
 * wasted rows' work of the 6-row kernel. */
#define DEFINE_MICRO_1X64(NAME, T, LOAD_B)                                                          \
__attribute__((target("avx512f"))) static void NAME(int K, const float *a, const T *panel,          \
                                                      __m512 out[4])                                \
{                                                                                                   \
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                                     \
    __m512 d0 = c0, d1 = c0, d2 = c0, d3 = c0;                                                      \
    int k = 0;                                                                                      \
    for (; k + 2 <= K; k += 2) {                                                                    \
        const T *b = panel + (size_t)k * NR;                                                        \
        __m512 x = _mm512_set1_ps(a[k]), y = _mm512_set1_ps(a[k + 1]);                              \
        c0 = _mm512_fmadd_ps(x, LOAD_B(b, 0), c0);                                                  \
        c1 = _mm512_fmadd_ps(x, LOAD_B(b, 16), c1);                                                 \
        c2 = _mm512_fmadd_ps(x, LOAD_B(b, 32), c2);                                                 \
        c3 = _mm512_fmadd_ps(x, LOAD_B(b, 48), c3);                                                 \
        d0 = _mm512_fmadd_ps(y, LOAD_B(b, NR), d0);                                                 \
        d1 = _mm512_fmadd_ps(y, LOAD_B(b, NR + 16), d1);                                            \
        d2 = _mm512_fmadd_ps(y, LOAD_B(b, NR + 32), d2);                                            \
        d3 = _mm512_fmadd_ps(y, LOAD_B(b, NR + 48), d3);                                            \
    }                                                                                               \
    if (k < K) {                                                                                    \
        const T *b = panel + (size_t)k * NR;                                                        \
        __m512 x = _mm512_set1_ps(a[k]);                                                            \
        c0 = _mm512_fmadd_ps(x, LOAD_B(b, 0), c0);                                                  \
        c1 = _mm512_fmadd_ps(x, LOAD_B(b, 16), c1);                                                 \
        c2 = _mm512_fmadd_ps(x, LOAD_B(b, 32), c2);                                                 \
        c3 = _mm512_fmadd_ps(x, LOAD_B(b, 48), c3);                                                 \
    }                                                                                               \
    out[0] = _mm512_add_ps(c0, d0);                                                                 \
    out[1] = _mm512_add_ps(c1, d1);                                                                 \
    out[2] = _mm512_add_ps(c2, d2);                                                                 \
    out[3] = _mm512_add_ps(c3, d3);                                                                 \
}
DEFINE_MICRO_1X64(micro_1x64, float, LOAD_F)
DEFINE_MICRO_1X64(micro_1x64_h, unsigned short, LOAD_H)

/* Row r of the accumulators into C's columns of one panel (w of them). */
__attribute__((target("avx512f"))) static void store_row(float *c, const __m512 acc[4], int w,
                                                           float beta)
{
    for (int q = 0; q < 4; q++) {
        int left = w - 16 * q;
        if (left <= 0) break;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 v = acc[q];
        if (beta != 0) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c + 16 * q));
        _mm512_mask_storeu_ps(c + 16 * q, m, v);
    }
}

__attribute__((target("avx512f"))) static void kernel_avx512(int M, const float *A, int lda,
                                                               const nn_packed *B, float beta,
                                                               float *C, int ldc)
{
    int K = B->K, N = B->N, full = M - M % MR;
    __m512 acc[MR][4];
    for (int pn = 0; pn < B->n_panels; pn++) {
        const float *panel = B->half ? NULL : B->data + (size_t)pn * K * NR;
        const unsigned short *hpanel = B->half ? B->half + (size_t)pn * K * NR : NULL;
        int w = N - pn * NR < NR ? N - pn * NR : NR;
        for (int i0 = 0; i0 < full; i0 += MR) {
            if (panel) micro_6x64(K, A + (size_t)i0 * lda, lda, panel, acc);
            else micro_6x64_h(K, A + (size_t)i0 * lda, lda, hpanel, acc);
            for (int r = 0; r < MR; r++) store_row(C + (size_t)(i0 + r) * ldc + pn * NR, acc[r], w, beta);
        }
        for (int i = full; i < M; i++) {
            if (panel) micro_1x64(K, A + (size_t)i * lda, panel, acc[0]);
            else micro_1x64_h(K, A + (size_t)i * lda, hpanel, acc[0]);
            store_row(C + (size_t)i * ldc + pn * NR, acc[0], w, beta);
        }
    }
}
#endif

#ifdef HAVE_X86
__attribute__((target("avx512f"))) static void to_half(unsigned short *h, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i += 16)  /* n is a multiple of 64 */
        _mm256_store_si256((__m256i *)(h + i),
                           _mm512_cvtps_ph(_mm512_load_ps(f + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
#endif

int nn_pack_halve(nn_packed *p)
{
#ifdef HAVE_X86
    if (!p->data || nn_gemm_kernel() != 1) return 0;
    size_t n = (size_t)p->n_panels * p->K * NR;
    unsigned short *h = aligned_alloc(64, (n * sizeof *h + 63) / 64 * 64);
    if (!h) return -1;
    to_half(h, p->data, n);
    free(p->data);
    p->data = NULL;
    p->half = h;
#else
    (void)p;
#endif
    return 0;
}

void nn_gemm_packed(int M, const float *A, int lda, const nn_packed *B, float beta, float *C, int ldc)
{
    if (M <= 0 || B->N <= 0) return;
#ifdef HAVE_X86
    if (nn_gemm_kernel() == 1) { kernel_avx512(M, A, lda, B, beta, C, ldc); return; }
#endif
    kernel_portable(M, A, lda, B, beta, C, ldc);
}
