/*
 * bench_gemm.c - GFLOP/s at the decoder's shapes (rows 8-32 times the GRU
 * and attention weight matrices), the packed AVX-512 kernel against
 * OpenBLAS (one thread, whatever OPENBLAS_CORETYPE selects) side by side in
 * one run, and their ratio.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/gemm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
    openblas_set_num_threads(1);
    struct { int N, K; const char *what; } shapes[] = {
        {768, 384, "attention GRU input  (3x256 x 128+256)"},
        {768, 256, "GRU recurrent        (3x256 x 256)"},
        {768, 512, "decoder GRU input    (3x256 x 256+256)"},
        {128, 256, "attention query      (128 x 256)"},
        {384, 768, "backward dx          (384 x 3x256)"},
    };
    int rows[] = {1, 8, 16, 32};
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("packed kernel: %s; OpenBLAS one thread, core type %s\n",
           nn_gemm_kernel() ? "AVX-512 6x64" : "portable (no AVX-512 here)", ct ? ct : "(auto)");
    printf("%-40s %4s %10s %10s %7s\n", "shape (N x K)", "M", "packed", "OpenBLAS", "ratio");
    double sum_ratio = 0;
    int n_ratio = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
            int M = rows[r], N = shapes[s].N, K = shapes[s].K;
            float *A = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K);
            float *C = malloc(sizeof(float) * M * N);
            for (int i = 0; i < M * K; i++) A[i] = (float)(i % 7) * 0.1f;
            for (int i = 0; i < N * K; i++) W[i] = (float)(i % 5) * 0.01f;
            nn_packed p = {0};
            nn_pack_wt(&p, W, N, K, K);
            double flops = 2.0 * M * N * K;
            int reps = (int)(2e9 / flops / 8) + 10;
            double best_p = 1e9, best_b = 1e9;
            for (int round = 0; round < 3; round++) {  /* alternate, keep the best of each */
                double t0 = now();
                for (int i = 0; i < reps; i++) nn_gemm_packed(M, A, K, &p, 0, C, N);
                double t1 = now();
                for (int i = 0; i < reps; i++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, A, K, W, K, 0, C, N);
                double t2 = now();
                if (t1 - t0 < best_p) best_p = t1 - t0;
                if (t2 - t1 < best_b) best_b = t2 - t1;
            }
            double gp = flops * reps / best_p * 1e-9, gb = flops * reps / best_b * 1e-9;
            printf("%-40s %4d %10.1f %10.1f %6.2fx\n", shapes[s].what, M, gp, gb, gp / gb);
            if (M >= 8) { sum_ratio += gp / gb; n_ratio++; }
            nn_packed_free(&p);
            free(A); free(W); free(C);
        }
    printf("mean ratio over rows 8-32: %.2fx (goal: 2x)\n", sum_ratio / n_ratio);
    return 0;
}
