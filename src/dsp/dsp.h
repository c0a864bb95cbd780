/*
 * dsp.h - audio features and the Griffin-Lim vocoder (internal).
 *
 * One module serves the trainer (analysis: waveform -> log-mel) and the
 * synthesizer (log-mel -> waveform), so their parameters cannot drift.
 * Log-mel here is log(max(mel, log_floor)), natural log, not normalized;
 * the per-band normalization statistics live with the model.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_DSP_H
#define TTS_DSP_H

#include "tts.h"

typedef struct dsp_params {
    int sample_rate;   /* 22050 */
    int n_fft;         /* 1024 */
    int hop;           /* 256 */
    int win;           /* 1024, Hann */
    int n_mels;        /* 80 */
    float fmin, fmax;  /* 0, 8000 Hz */
    float log_floor;   /* 1e-5 */
} dsp_params;

/* The defaults above. */
dsp_params dsp_params_default(void);

/* Plans, window and mel basis.  Not thread-safe: one per thread. */
typedef struct dsp_features dsp_features;

tts_status dsp_features_create(const dsp_params *p, dsp_features **out);
void dsp_features_free(dsp_features *f); /* accepts NULL */

/* Frames produced from n_samples samples (centered frames, reflect padding). */
size_t dsp_n_frames(const dsp_features *f, size_t n_samples);

/* Log-mel of audio: mel is (n_frames, n_mels), row-major, n_frames = dsp_n_frames(). */
tts_status dsp_logmel(dsp_features *f, const float *audio, size_t n_samples, float *mel);

/* Griffin-Lim: log-mel (n_frames, n_mels) -> audio of n_frames*hop samples.
 * power sharpens the magnitude (1.0 = none); momentum 0.99 fast GL. */
tts_status dsp_griffin_lim(dsp_features *f, const float *logmel, size_t n_frames,
                           int n_iters, float power, float *audio);

#endif
