/*
 * spoken.c - tts-train's free-running dev check: speak held-out sentences,
 * compare them with their recordings by dynamic time warping (spoken.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "train/spoken.h"

#include <math.h>
#include <stdlib.h>

/* the cost of pairing frame x with frame y */
static float frame_cost(const float *x, const float *y, int M, const float *scale)
{
    float s = 0;
    if (scale)
        for (int c = 0; c < M; c++) s += fabsf(x[c] - y[c]) / scale[c];
    else
        for (int c = 0; c < M; c++) s += fabsf(x[c] - y[c]);
    return s / M;
}

double spoken_dtw(const float *a, int na, const float *b, int nb, int M, const float *scale)
{
    if (na <= 0 || nb <= 0 || M <= 0) return -1;
    /* two rows of accumulated cost and of the length of the path that has it */
    double *cost = malloc(sizeof(double) * 2 * (size_t)nb);
    int *len = malloc(sizeof(int) * 2 * (size_t)nb);
    if (!cost || !len) { free(cost); free(len); return -1; }
    double *prev = cost, *cur = cost + nb;
    int *lprev = len, *lcur = len + nb;
    for (int i = 0; i < na; i++) {
        const float *x = a + (size_t)i * M;
        for (int j = 0; j < nb; j++) {
            double d = frame_cost(x, b + (size_t)j * M, M, scale), best;
            int l;
            if (i == 0 && j == 0) { best = 0; l = 0; }
            else if (i == 0) { best = cur[j - 1]; l = lcur[j - 1]; }
            else if (j == 0) { best = prev[0]; l = lprev[0]; }
            else {
                best = prev[j - 1]; l = lprev[j - 1];  /* diagonal first: the shorter path on a tie */
                if (prev[j] < best) { best = prev[j]; l = lprev[j]; }
                if (cur[j - 1] < best) { best = cur[j - 1]; l = lcur[j - 1]; }
            }
            cur[j] = best + d;
            lcur[j] = l + 1;
        }
        double *t = prev; prev = cur; cur = t;
        int *u = lprev; lprev = lcur; lcur = u;
    }
    double r = prev[nb - 1] / lprev[nb - 1];
    free(cost);
    free(len);
    return r;
}

int spoken_better(const spoken_score *a, const spoken_score *b)
{
    if (a->failures != b->failures) return a->failures < b->failures;
    return a->distance < b->distance;
}

int spoken_eval(const taco_model *m, const dataset *dev, const size_t *pick, int n, uint64_t seed,
                spoken_score *out)
{
    *out = (spoken_score){0};
    int max_n = 1;
    for (int k = 0; k < n; k++)
        if (dev->items[pick[k]].n_ids > max_n) max_n = dev->items[pick[k]].n_ids;
    taco_infer_state *s = NULL;
    if (taco_infer_create(m, max_n, &s) != 0) return -1;
    int M = m->cfg.n_mels, rc = 0, n_dist = 0;
    for (int k = 0; k < n; k++) {
        const ds_item *it = &dev->items[pick[k]];
        const real *mel;
        int nf;
        taco_stop_reason why;
        if (taco_infer(s, it->ids, it->n_ids, SPOKEN_FRAMES_PER_SYMBOL, seed ^ ds_id_hash(it->id), &mel, &nf,
                       &why) != 0) {
            rc = -1;
            break;
        }
        double ratio = (double)nf / it->n_frames;
        out->failures += why != TACO_STOP_GATE || ratio < 0.7 || ratio > 1.3;
        out->dur_ratio += ratio;
        out->n++;
        if (nf > 0) {  /* nothing spoken is a failure with no distance */
            double d = spoken_dtw(mel, nf, it->mel, it->n_frames, M, m->mel_std);
            if (d < 0) { rc = -1; break; }
            out->distance += d;
            n_dist++;
        }
    }
    taco_infer_free(s);
    if (out->n) out->dur_ratio /= out->n;
    out->distance = n_dist ? out->distance / n_dist : INFINITY;
    return rc;
}
