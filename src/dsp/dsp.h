/*
 * dsp.h - audio features and the Griffin-Lim vocoder (internal).
 *
 * One module serves the trainer (analysis: waveform -> log-mel) and the
 * synthesizer (log-mel -> waveform), so their parameters cannot drift.
 * Log-mel here is log(max(mel, log_floor)), natural log, not normalized;
 * the per-band normalization statistics live with the model.
 *
 * Conventions, fixed here once:
 *   - frames are centered: frame t covers samples [t*hop - n_fft/2, t*hop + n_fft/2),
 *     the signal is reflect-padded by n_fft/2 on both sides, so n_samples samples
 *     give 1 + n_samples/hop frames (librosa's center=True);
 *   - the window is a periodic Hann of `win` samples centered in n_fft;
 *   - the mel filterbank is Slaney-style (linear below 1 kHz, logarithmic
 *     above, each triangle normalized to unit area: librosa's default
 *     htk=False, norm="slaney");
 *   - mel is computed from the MAGNITUDE spectrogram (not power):
 *     mel = M |STFT(x)|, logmel = ln(max(mel, log_floor));
 *   - spectrograms are (n_frames, n_bins) row-major, n_bins = n_fft/2 + 1;
 *     complex ones interleave re, im.
 *
 * This module is not thread-safe per dsp_features object: one per thread.
 * It allocates only in dsp_features_create() and when a longer input than
 * any before grows its workspace; Griffin-Lim allocates nothing per iteration.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_DSP_H
#define TTS_DSP_H

#include <stdatomic.h>

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

/* The parameters f was created with. */
const dsp_params *dsp_features_params(const dsp_features *f);

/* n_fft/2 + 1. */
size_t dsp_n_bins(const dsp_features *f);

/* Frames produced from n_samples samples (centered frames, reflect padding). */
size_t dsp_n_frames(const dsp_features *f, size_t n_samples);

/* Log-mel of audio: mel is (n_frames, n_mels), row-major, n_frames = dsp_n_frames(). */
tts_status dsp_logmel(dsp_features *f, const float *audio, size_t n_samples, float *mel);

/* Griffin-Lim: log-mel (n_frames, n_mels) -> audio of n_frames*hop samples.
 * power sharpens the magnitude (1.0 = none); momentum 0.99 fast GL.
 * Equivalent to dsp_mel_to_linear() then dsp_griffin_lim_mag(). */
/* A flag (may be NULL) checked before every Griffin-Lim iteration: when it
 * is set, the iterations stop early (the caller checks the flag and drops
 * the audio). */
void dsp_features_set_cancel(dsp_features *f, const atomic_int *flag);

/* Griffin-Lim's initial phase: DSP_PHASE_RANDOM (a fixed-seed random phase)
 * or DSP_PHASE_PGHI (phase-gradient heuristic integration from the
 * magnitude, which starts far closer to a consistent spectrogram: on
 * speech, PGHI and 8 iterations match the target better than a random phase
 * and 32, bench_vocoder).  The default is DSP_PHASE_PGHI. */
typedef enum dsp_phase_init { DSP_PHASE_RANDOM = 0, DSP_PHASE_PGHI = 1 } dsp_phase_init;
void dsp_features_set_phase_init(dsp_features *f, dsp_phase_init init);

tts_status dsp_griffin_lim(dsp_features *f, const float *logmel, size_t n_frames,
                           int n_iters, float power, float *audio);

/* ---- the pieces, for tests, evaluation and the trainer ---- */

/* The mel basis M, (n_mels, n_bins) row-major, owned by f. */
const float *dsp_mel_basis(const dsp_features *f);

/* Complex STFT: spec is (n_frames, n_bins, 2), n_frames = dsp_n_frames(n_samples). */
tts_status dsp_stft(dsp_features *f, const float *audio, size_t n_samples, float *spec);

/* Magnitude STFT: mag is (n_frames, n_bins). */
tts_status dsp_stft_mag(dsp_features *f, const float *audio, size_t n_samples, float *mag);

/* Inverse STFT by weighted overlap-add (least-squares inverse):
 * spec (n_frames, n_bins, 2) -> audio of n_frames*hop samples.
 * dsp_istft(dsp_stft(x)) == x up to rounding, for the first n_samples samples. */
tts_status dsp_istft(dsp_features *f, const float *spec, size_t n_frames, float *audio);

/* Log-mel (n_frames, n_mels) -> linear magnitude (n_frames, n_bins):
 * the non-negative least-squares solution of M s = exp(logmel) per frame
 * (pseudo-inverse start, then projected multiplicative NNLS updates), then
 * s^power (power 1 = no sharpening). */
tts_status dsp_mel_to_linear(dsp_features *f, const float *logmel, size_t n_frames,
                             float power, float *mag);

/* Fast Griffin-Lim (Perraudin et al. 2013, momentum 0.99) on a target
 * magnitude mag (n_frames, n_bins) -> audio of n_frames*hop samples,
 * clamped to [-1, 1].  Deterministic (the initial phase is PGHI's or a
 * fixed-seed random one: dsp_features_set_phase_init).
 * n_iters >= 0; 0 gives the initial-phase signal. */
tts_status dsp_griffin_lim_mag(dsp_features *f, const float *mag, size_t n_frames,
                               int n_iters, float *audio);

/* Spectral convergence of audio against a target magnitude (n_frames, n_bins):
 *   SC = 20 log10( ||S_target - |STFT(audio)| ||_F / ||S_target||_F )  (dB, lower is better)
 * over the first min(n_frames, dsp_n_frames(n_samples)) frames. */
tts_status dsp_spectral_convergence(dsp_features *f, const float *mag, size_t n_frames,
                                    const float *audio, size_t n_samples, double *sc_db);

/* Log-spectral distance of audio against a target magnitude (n_frames, n_bins),
 * in dB, over the same frames: the mean over frames of
 *   sqrt( mean over bins (20 log10((S_target + e) / (|STFT(audio)| + e)))^2 )
 * with e = 1e-4 times the target's largest value (a -80 dB floor, so silence
 * does not dominate).  Lower is better. */
tts_status dsp_log_spectral_distance(dsp_features *f, const float *mag, size_t n_frames,
                                     const float *audio, size_t n_samples, double *lsd_db);

/* Band-limited resampling (Kaiser-windowed sinc, about 90 dB stop band).
 * *out (malloc'd, owned by the caller) holds *n_out = ceil(n_in*sr_out/sr_in)
 * samples.  sr_in == sr_out copies. */
tts_status dsp_resample(const float *in, size_t n_in, int sr_in, int sr_out,
                        float **out, size_t *n_out);

#endif
