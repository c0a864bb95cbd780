/*
 * gradcheck.h - central finite differences in double precision against an
 * analytic gradient, shared by the gradient suites.  The suites compile the
 * nn and model sources with NN_REAL=double (see src/nn/nn.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_GRADCHECK_H
#define TTS_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stddef.h>

typedef double (*gc_loss_fn)(void *ctx);

/* Check grad[i] == dL/dx[i] for every i (or `stride`-spaced i when the
 * tensor is large).  Prints kernel, argument, index and both values on
 * failure; returns the number of mismatches. */
static int gc_check(const char *kernel, const char *arg, double *x, size_t n,
                    const double *grad, gc_loss_fn loss, void *ctx, size_t stride)
{
    const double h = 1e-6, atol = 1e-8, rtol = 1e-5;
    int bad = 0;
    if (stride == 0) stride = 1;
    for (size_t i = 0; i < n; i += stride) {
        double save = x[i];
        x[i] = save + h; double lp = loss(ctx);
        x[i] = save - h; double lm = loss(ctx);
        x[i] = save;
        double num = (lp - lm) / (2 * h);
        double err = fabs(num - grad[i]);
        if (!(err <= atol + rtol * fmax(fabs(num), fabs(grad[i])))) {
            if (bad < 5)
                fprintf(stderr, "gradcheck %s: %s[%zu] analytic %.10g numeric %.10g\n",
                        kernel, arg, i, grad[i], num);
            bad++;
        }
    }
    return bad;
}

static void gc_fill(double *x, size_t n, double scale, unsigned long long *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = scale * (((double)(*seed >> 11) / 9007199254740992.0) * 2 - 1);
    }
}

static double gc_dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

#endif
