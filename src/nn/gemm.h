/*
 * gemm.h - matrix products for the recurrent decoder's small row counts
 * (internal).  A decoder step multiplies 1-32 rows by a weight matrix; at
 * those shapes OpenBLAS reaches a fraction of its peak, so weights are kept
 * pre-packed in 64-column panels and multiplied by an AVX-512 6x64
 * micro-kernel, chosen at run time.  Machines without AVX-512 use a
 * portable loop over the same panels (same results within rounding).
 *
 * Packing: panel p holds columns 64p..64p+63 of B (K, N) as K rows of 64
 * floats (zero-padded), so the kernel streams contiguous memory.  A packed
 * copy must be refreshed whenever its weights change (after each optimizer
 * step in training).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_GEMM_H
#define TTS_GEMM_H

#include <stddef.h>

typedef struct nn_packed {
    int K, N;        /* B is (K, N) */
    int n_panels;    /* ceil(N / 64) */
    float *data;     /* n_panels * K * 64, 64-byte aligned; NULL once halved */
    unsigned short *half;  /* the same in IEEE half precision (nn_pack_halve), or NULL */
} nn_packed;

/* Pack B = W^T for W (N, K) row-major with row stride ldw: the weights of
 * out = x W^T.  (Re)allocates p->data when the shape changes.  0 or -1. */
int nn_pack_wt(nn_packed *p, const float *w, int N, int K, int ldw);
/* Pack B itself, (K, N) row-major with row stride ldb: for dx = dout W. */
int nn_pack_b(nn_packed *p, const float *b, int K, int N, int ldb);
void nn_packed_free(nn_packed *p);
/* Keep the packed weights in half precision (rounded to nearest), for
 * products that read more weights than they compute with (a decoder step's
 * single row): half the memory traffic.  The products then use those values
 * (the portable kernel converts them too).  Only where the AVX-512 kernel
 * runs, which converts them in registers; elsewhere a no-op.  0 or -1. */
int nn_pack_halve(nn_packed *p);

/* C(M, N) = beta*C + A(M, K) B, with B packed.  beta is 0 or 1. */
void nn_gemm_packed(int M, const float *A, int lda, const nn_packed *B, float beta, float *C, int ldc);

/* Which kernel nn_gemm_packed uses: 1 AVX-512, 0 portable.  nn_gemm_force
 * (for tests and benchmarks) selects one: -1 = automatic. */
int nn_gemm_kernel(void);
void nn_gemm_force(int kernel);

#endif
