/*
 * bench_train_step.c - time of one training step (forward + backward) of the
 * full-size model at batch 16 on one core, with random data of typical
 * lengths (N = 60 symbols, T = 261 frames).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct timing { double step, fwd; } timing;

/* Best of `rounds` runs of `reps` steps of a fresh model with this config,
 * (OpenBLAS only, packed decoder weights). */
static int bench(const taco_config *cfg, int show, timing best[2])
{
    taco_model m = {0};
    if (taco_layout(&m, cfg)) return 1;
    m.data = calloc(m.n_floats, sizeof(float));
    float *grad = calloc(m.n_floats, sizeof(float));
    taco_point(&m, m.data, &m.w);
    nn_rng rng = {1};
    taco_init_random(&m, &rng);
    enum { B = 16, N = 60 };
    int T = 261;
    int32_t *ids = malloc(sizeof(int32_t) * B * N);
    int nlen[B], tlen[B];
    float *mel = malloc(sizeof(float) * B * T * cfg->n_mels);
    for (int i = 0; i < B * N; i++) ids[i] = 3 + (int)(nn_rng_next(&rng) % 60);
    for (int i = 0; i < B * T * cfg->n_mels; i++) mel[i] = (float)nn_rng_normal(&rng);
    for (int b = 0; b < B; b++) { nlen[b] = N - b; tlen[b] = T - 3 * b; }
    taco_batch bt = {.B = B, .N = N, .T = T, .ids = ids, .nlen = nlen, .mel = mel, .tlen = tlen};
    taco_train_opts o = taco_train_opts_default();
    taco_train_ws *ws = NULL;
    taco_loss l;
    if (show) printf("model: %zu parameters\n", m.n_floats);
    taco_train_step(&m, grad, &bt, &o, &rng, &ws, &l);  /* warm up */
    int reps = 4;
    for (int packed = 0; packed < 2; packed++) best[packed] = (timing){1e9, 1e9};
    for (int round = 0; round < 2; round++)
        for (int packed = 0; packed < 2; packed++) {  /* side by side, best of rounds */
            if (packed) taco_pack(&m, 1); else taco_unpack(&m);
            double t0 = now();
            for (int i = 0; i < reps; i++) taco_train_step(&m, grad, &bt, &o, &rng, &ws, &l);
            double t1 = now();
            for (int i = 0; i < reps; i++) taco_train_step(&m, NULL, &bt, &o, &rng, &ws, &l);
            double t2 = now();
            if ((t1 - t0) / reps < best[packed].step) best[packed].step = (t1 - t0) / reps;
            if ((t2 - t1) / reps < best[packed].fwd) best[packed].fwd = (t2 - t1) / reps;
        }
    taco_unpack(&m);
    taco_train_ws_free(ws);
    free(m.data); free(grad); free(ids); free(mel);
    return 0;
}

int main(void)
{
    taco_config cfg = taco_config_default(64);
    taco_config nobn = cfg;
    nobn.enc_batchnorm = 0;
    taco_config wide = cfg;  /* tts-train --decoder-units 512 */
    wide.att_rnn = wide.dec_rnn = 512;
    timing t[2], u[2], w[2];
    if (bench(&cfg, 1, t) || bench(&nobn, 0, u) || bench(&wide, 0, w)) return 1;
    printf("train step B=16 N=60 T=261 (87 decoder steps), one core:\n");
    printf("  OpenBLAS only:          forward+backward %.3f s, forward %.3f s\n", t[0].step, t[0].fwd);
    printf("  packed decoder weights: forward+backward %.3f s, forward %.3f s (%.2fx)\n", t[1].step,
           t[1].fwd, t[0].step / t[1].step);
    printf("  without encoder batch norm (packed): forward+backward %.3f s (batch norm costs %+.1f %%)\n",
           u[1].step, 100.0 * (t[1].step / u[1].step - 1.0));
    printf("  decoder GRUs of 512 units (packed): forward+backward %.3f s (%.2fx the 256-unit step)\n",
           w[1].step, w[1].step / t[1].step);
    return 0;
}
