/*
 * test_gemm.c - the packed-panel products against a double-precision
 * reference, for both kernels (AVX-512 where the CPU has it, and the
 * portable one), over row counts 1..33 and column counts that leave partial
 * panels; plus the fast tanh against libm.
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
        cmocka_unit_test(test_fast_tanh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
