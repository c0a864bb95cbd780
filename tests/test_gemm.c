/*
 * test_gemm.c - the packed-panel products against a double-precision
 * reference, for both kernels (AVX-512 where the CPU has it, and the
 * portable one), over row counts 1..33 and column counts that leave partial
 * panels; weights kept in half precision (both kernels read them, every
 * kind of half including subnormals); plus the fast tanh against libm.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "nn/gemm.h"
#include "nn/nn.h"

static void fill(float *x, size_t n, unsigned *s)
{
    for (size_t i = 0; i < n; i++) {
        *s = *s * 1664525u + 1013904223u;
        x[i] = (float)((*s >> 8) / 16777216.0 * 2 - 1);
    }
}

static void check_shapes(int kernel)
{
    static const int Ms[] = {1, 2, 5, 6, 7, 12, 16, 33};
    static const int Ns[] = {1, 17, 64, 100, 128, 200};
    static const int Ks[] = {1, 3, 64, 129};
    unsigned seed = 1;
    nn_gemm_force(kernel);
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                int M = Ms[a], N = Ns[b], K = Ks[c], lda = K + 3, ldc = N + 5;
                float *A = malloc(sizeof(float) * M * lda), *W = malloc(sizeof(float) * N * K);
                float *C = malloc(sizeof(float) * M * ldc), *C0 = malloc(sizeof(float) * M * ldc);
                fill(A, (size_t)M * lda, &seed);
                fill(W, (size_t)N * K, &seed);
                fill(C0, (size_t)M * ldc, &seed);
                for (int beta = 0; beta <= 1; beta++)
                    for (int form = 0; form < 2; form++) {
                        /* form 0: B = W^T (W is N x K); form 1: B = W viewed as (K, N) */
                        nn_packed p = {0};
                        assert_int_equal(form ? nn_pack_b(&p, W, K, N, N) : nn_pack_wt(&p, W, N, K, K), 0);
                        for (int i = 0; i < M * ldc; i++) C[i] = C0[i];
                        nn_gemm_packed(M, A, lda, &p, (float)beta, C, ldc);
                        for (int i = 0; i < M; i++)
                            for (int j = 0; j < ldc; j++) {
                                if (j >= N) {  /* outside the product: untouched */
                                    assert_true(C[i * ldc + j] == C0[i * ldc + j]);
                                    continue;
                                }
                                double ref = beta ? C0[i * ldc + j] : 0;
                                for (int k = 0; k < K; k++)
                                    ref += (double)A[i * lda + k] * (form ? W[k * N + j] : W[j * K + k]);
                                if (fabs(C[i * ldc + j] - ref) > 1e-4 * (1 + sqrt((double)K)))
                                    fail_msg("kernel %d M=%d N=%d K=%d beta=%d form=%d at (%d,%d): %g vs %g",
                                             kernel, M, N, K, beta, form, i, j, C[i * ldc + j], ref);
                            }
                        nn_packed_free(&p);
                    }
                free(A); free(W); free(C); free(C0);
            }
    nn_gemm_force(-1);
}

static void test_portable(void **state) { check_shapes(0); }

static void test_avx512(void **state)
{
    nn_gemm_force(-1);
    if (nn_gemm_kernel() != 1) skip();
    check_shapes(1);
}

/* x rounded to the nearest IEEE half (ties to even, as nearbyint rounds),
 * normal or subnormal; |x| below the largest half. */
static float round_to_half(float x)
{
    if (x == 0) return x;
    int e;
    frexp(x, &e);                     /* |x| in [2^(e-1), 2^e) */
    int lead = e - 1 < -14 ? -14 : e - 1;  /* subnormals share 2^-14's step */
    double step = ldexp(1.0, lead - 10);
    return (float)(nearbyint((double)x / step) * step);
}

/* Half-precision panels: both kernels give the product of the weights
 * rounded to half, and that is close to the full-precision product. */
static void test_half(void **state)
{
    nn_gemm_force(-1);
    if (nn_gemm_kernel() != 1) skip();  /* nn_pack_halve is a no-op there */
    static const int Ms[] = {1, 2, 7}, Ns[] = {17, 64, 200}, Ks[] = {1, 3, 129};
    unsigned seed = 7;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t c = 0; c < 3; c++) {
                int M = Ms[a], N = Ns[b], K = Ks[c];
                float *A = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K);
                float *C = malloc(sizeof(float) * M * N);
                fill(A, (size_t)M * K, &seed);
                fill(W, (size_t)N * K, &seed);
                /* a zero, a negative zero, one just above the largest half
                   subnormal, and a last output of subnormal weights only */
                W[0] = 0.0f;
                if (N * K > 4) { W[1] = -0.0f; W[2] = 6.2e-5f; }
                for (int k = 0; k < K; k++) W[(N - 1) * K + k] *= 5e-5f;
                nn_packed p = {0};
                assert_int_equal(nn_pack_wt(&p, W, N, K, K), 0);
                assert_int_equal(nn_pack_halve(&p), 0);
                assert_non_null(p.half);
                assert_null(p.data);
                for (int kernel = 1; kernel >= 0; kernel--) {
                    nn_gemm_force(kernel);
                    nn_gemm_packed(M, A, K, &p, 0.0f, C, N);
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++) {
                            double ref_h = 0, ref = 0, size = 0;  /* size: sum of |terms| */
                            for (int k = 0; k < K; k++) {
                                double t = (double)A[i * K + k] * round_to_half(W[j * K + k]);
                                ref_h += t;
                                size += fabs(t);
                                ref += (double)A[i * K + k] * W[j * K + k];
                            }
                            double got = C[i * N + j];
                            if (fabs(got - ref_h) > 1e-5 * size ||
                                fabs(got - ref) > 1e-3 * (1 + sqrt((double)K)))
                                fail_msg("half, kernel %d M=%d N=%d K=%d at (%d,%d): %g, half-rounded %g, full %g",
                                         kernel, M, N, K, i, j, got, ref_h, ref);
                        }
                }
                nn_gemm_force(-1);
                /* packing again brings back full precision */
                assert_int_equal(nn_pack_wt(&p, W, N, K, K), 0);
                assert_non_null(p.data);
                assert_null(p.half);
                nn_packed_free(&p);
                free(A); free(W); free(C);
            }
}

static void test_fast_tanh(void **state)
{
    double worst = 0;
    for (float x = -12; x <= 12; x += 0.001f) {
        double e = fabs((double)nn_tanh(x) - tanh((double)x));
        if (e > worst) worst = e;
    }
    assert_true(worst < 2e-6);
    assert_true(nn_tanh(100.0f) <= 1.0f && nn_tanh(-100.0f) >= -1.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portable),
        cmocka_unit_test(test_avx512),
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_fast_tanh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
