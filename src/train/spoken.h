/*
 * spoken.h - tts-train's free-running dev check (internal).
 *
 * The teacher-forced dev loss scores each frame predicted from the true
 * previous one; a voice is heard speaking from its own frames.  Here the
 * model speaks held-out sentences as the synthesizer does (taco_infer: its
 * own frames fed back, prenet dropout on, the monotonic window, the stop
 * gate, the same frame cap) and each result is set against the recording:
 *   - distance: the mean absolute difference of the log-mel frames, each band
 *     in units of its training standard deviation, along the best time warp
 *     (dynamic time warping, so a different pace costs little and a wrong
 *     or muffled sound costs much);
 *   - duration ratio: spoken frames / recorded frames;
 *   - alignment failures: the frame cap, a stop gate that never fired, or a
 *     duration more than 30% away from the recording's (make eval's rule).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_SPOKEN_H
#define TTS_SPOKEN_H

#include <stddef.h>

#include "model/model.h"
#include "train/dataset.h"

typedef struct spoken_score {
    int n;            /* sentences spoken */
    int failures;     /* alignment failures among them */
    double distance;  /* mean over the sentences of the DTW distance */
    double dur_ratio; /* mean over the sentences of spoken / recorded frames */
} spoken_score;

/* The frame cap per symbol: the synthesizer's. */
#define SPOKEN_FRAMES_PER_SYMBOL 8.0f

/* DTW distance between a (na, M) and b (nb, M), row-major: the cheapest
 * monotonic path from (0, 0) to (na-1, nb-1) with steps (1,0), (0,1) and
 * (1,1), where a pair of frames costs the mean over bands of
 * |a - b| / scale[band] (scale NULL: 1), divided by the path's length.
 * Two rows of memory.  Returns -1 when na or nb is 0 or out of memory. */
double spoken_dtw(const float *a, int na, const float *b, int nb, int M, const float *scale);

/* Speak dev->items[pick[0..n)] with m and score them against their
 * recordings.  Utterance i's prenet-dropout seed is seed mixed with its id,
 * so the same sentence gets the same draw at every evaluation.  m is read
 * only.  Returns 0, -1 out of memory. */
int spoken_eval(const taco_model *m, const dataset *dev, const size_t *pick, int n, uint64_t seed,
                spoken_score *out);

/* Whether score a is better than b: fewer failures, then a smaller distance. */
int spoken_better(const spoken_score *a, const spoken_score *b);

#endif
