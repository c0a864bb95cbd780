/*
 * adam.h - Adam with gradient-norm clipping and a learning-rate schedule.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_ADAM_H
#define TTS_ADAM_H

#include <stddef.h>

typedef struct adam_opts {
    float lr;           /* 1e-3: peak learning rate */
    float lr_min;       /* 1e-5: floor of the decay */
    long warmup;        /* 200 steps of linear warm-up */
    long warmup_start;  /* 0: the step the warm-up starts from (a run continued from
                           exported weights, without moments, warms up again) */
    long decay_start;   /* 10000: decay begins after this step */
    long decay_steps;   /* 2000: the learning rate halves every decay_steps (by
                           the default 20,000 steps it is 1/32 of the peak) */
    float beta1, beta2; /* 0.9, 0.999 */
    float eps;          /* 1e-6 */
    float clip;         /* 1.0: global gradient-norm limit (0 = none) */
    float weight_decay; /* 1e-6, decoupled */
} adam_opts;

/* The learning rate at step (0-based). */
double adam_lr(const adam_opts *o, long step);
double adam_grad_norm(const float *g, size_t n);
/* One update of p from g (clipped by global norm), moments m, v.  step is
 * 0-based.  Returns the gradient norm before clipping. */
double adam_step(const adam_opts *o, float *p, const float *g, float *m, float *v, size_t n, long step);

#endif
