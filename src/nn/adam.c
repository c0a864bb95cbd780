/*
 * adam.c - the Adam optimizer with global gradient-norm clipping and a
 * learning-rate schedule (warm-up, then exponential decay to a floor).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "nn/adam.h"

#include <math.h>

double adam_grad_norm(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

double adam_lr(const adam_opts *o, long step)
{
    double lr = o->lr;
    long w = step - o->warmup_start;
    if (o->warmup > 0 && w >= 0 && w < o->warmup) lr *= (double)(w + 1) / o->warmup;
    if (o->decay_steps > 0 && step > o->decay_start)
        lr *= pow(0.5, (double)(step - o->decay_start) / o->decay_steps);
    return lr < o->lr_min ? o->lr_min : lr;
}

double adam_step(const adam_opts *o, float *p, const float *g, float *m, float *v, size_t n, long step)
{
    double norm = adam_grad_norm(g, n);
    double scale = o->clip > 0 && norm > o->clip ? o->clip / norm : 1.0;
    double lr = adam_lr(o, step);
    long t = step + 1;
    double c1 = 1 - pow(o->beta1, (double)t), c2 = 1 - pow(o->beta2, (double)t);
    float b1 = o->beta1, b2 = o->beta2;
    float alpha = (float)(lr / c1), rc2 = (float)(1 / sqrt(c2)), eps = o->eps, sc = (float)scale;
    float wd = o->weight_decay * (float)lr;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * sc;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] -= alpha * m[i] / (sqrtf(v[i]) * rc2 + eps) + wd * p[i];
    }
    return norm;
}
