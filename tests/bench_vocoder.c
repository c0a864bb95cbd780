/*
 * bench_vocoder.c - speed and quality of the Griffin-Lim vocoder on one core.
 *
 * Prints the real-time factor of log-mel -> waveform (mel inversion plus
 * 32 fast Griffin-Lim iterations; best of a few runs, since the machine is
 * shared) and the spectral convergence at 16, 32 and 64 iterations, against
 * the mel-inverted magnitude the vocoder was asked to match and against the
 * input's own STFT magnitude.  The input is speech from flite's slt voice
 * generated now, or a synthetic harmonic signal when flite is missing.
 * Then the quality guard at the shipped voice's analysis (128 bands from 0
 * to 8000 Hz, as models/slt.safetensors): the whole vocoder (log-mel ->
 * mel inversion -> Griffin-Lim) judged against the input's own STFT
 * magnitude by spectral convergence and log-spectral distance, with its
 * real-time factor, at 0 to 64 iterations, from a random initial phase (the
 * vocoder before PGHI) and from PGHI's (the default).
 * Goal: real-time factor <= 0.01 at the voices' iteration count.  It measures; it fails
 * (exit 1) only when something cannot run.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "audio/audio.h"
#include "dsp/dsp.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Speech from flite resampled to 22050 Hz, or NULL. */
static float *flite_speech(size_t *n)
{
    char dir[] = "/tmp/tts-bench-XXXXXX", path[128], cmd[512];
    if (!mkdtemp(dir)) return NULL;
    snprintf(path, sizeof path, "%s/slt.wav", dir);
    snprintf(cmd, sizeof cmd,
             "flite -voice slt -t 'The quick brown fox jumps over the lazy dog. "
             "She sells sea shells by the sea shore.' -o '%s' >/dev/null 2>&1",
             path);
    float *x = NULL, *y = NULL;
    size_t nx = 0;
    int sr = 0;
    if (system(cmd) == 0 && audio_read_file(path, &x, &nx, &sr) == TTS_OK)
        if (dsp_resample(x, nx, sr, 22050, &y, n) != TTS_OK) y = NULL;
    free(x);
    unlink(path);
    rmdir(dir);
    return y;
}

static float *harmonic(size_t n)
{
    float *x = malloc(n * sizeof *x);
    double ph = 0.0;
    for (size_t i = 0; x && i < n; i++) {
        double t = i / 22050.0, f0 = 110.0 + 50.0 * sin(2.0 * M_PI * 0.5 * t), v = 0.0;
        ph += 2.0 * M_PI * f0 / 22050.0;
        for (int h = 1; h * f0 < 7500.0; h++) v += sin(h * ph) / h;
        x[i] = (float)(0.2 * v * (0.6 + 0.4 * sin(2.0 * M_PI * 3.0 * t)));
    }
    return x;
}

/* The vocoder at the shipped voice's analysis, judged against the input's
 * STFT magnitude: SC, LSD and real-time factor (best of 3) per iteration count. */
static int voice_quality(const float *x, size_t n, dsp_phase_init init)
{
    dsp_params p = dsp_params_default();
    p.n_mels = 128;
    p.fmax = 8000.0f;
    dsp_features *f = NULL;
    if (dsp_features_create(&p, &f) != TTS_OK) return 1;
    dsp_features_set_phase_init(f, init);
    size_t nt = dsp_n_frames(f, n), nb = dsp_n_bins(f);
    float *mel = malloc(nt * 128 * sizeof *mel), *truth = malloc(nt * nb * sizeof *truth);
    float *y = malloc(nt * 256 * sizeof *y);
    int rc = !mel || !truth || !y || dsp_logmel(f, x, n, mel) != TTS_OK ||
             dsp_stft_mag(f, x, n, truth) != TTS_OK;
    double secs = (double)n / 22050.0;
    const int iters[] = {0, 4, 8, 16, 32, 64};
    for (int i = 0; !rc && i < 6; i++) {
        double best = 1e9, sc = 0, lsd = 0;
        for (int r = 0; r < 3 && !rc; r++) {
            double t0 = now();
            rc = dsp_griffin_lim(f, mel, nt, iters[i], 1.0f, y) != TTS_OK;
            double dt = now() - t0;
            best = dt < best ? dt : best;
        }
        if (rc || dsp_spectral_convergence(f, truth, nt, y, n, &sc) != TTS_OK ||
            dsp_log_spectral_distance(f, truth, nt, y, n, &lsd) != TTS_OK)
            rc = 1;
        else
            printf("bench_vocoder: voice analysis (128 bands, 0-8 kHz), %s phase, %2d iterations: "
                   "SC %6.2f dB, LSD %5.2f dB vs input STFT; RTF %.4f\n",
                   init == DSP_PHASE_PGHI ? "PGHI  " : "random", iters[i], sc, lsd, best / secs);
    }
    free(mel);
    free(truth);
    free(y);
    dsp_features_free(f);
    return rc;
}

int main(void)
{
    size_t n = 0;
    const char *what = "flite slt speech";
    float *x = flite_speech(&n);
    if (!x) {
        what = "synthetic harmonic signal (flite not found)";
        n = 5 * 22050;
        x = harmonic(n);
    }
    dsp_features *f = NULL;
    if (!x || dsp_features_create(NULL, &f) != TTS_OK) {
        fprintf(stderr, "bench_vocoder: setup failed\n");
        return 1;
    }
    size_t nt = dsp_n_frames(f, n), nb = dsp_n_bins(f);
    float *mel = malloc(nt * 80 * sizeof *mel), *mag = malloc(nt * nb * sizeof *mag);
    float *truth = malloc(nt * nb * sizeof *truth), *y = malloc(nt * 256 * sizeof *y);
    if (!mel || !mag || !truth || !y || dsp_logmel(f, x, n, mel) != TTS_OK ||
        dsp_stft_mag(f, x, n, truth) != TTS_OK) {
        fprintf(stderr, "bench_vocoder: analysis failed\n");
        return 1;
    }
    double secs = (double)n / 22050.0;
    printf("bench_vocoder: %s, %.2f s, %zu frames\n", what, secs, nt);

    /* speed: log-mel -> audio, 32 iterations, best of 5 */
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        if (dsp_griffin_lim(f, mel, nt, 32, 1.0f, y) != TTS_OK) return 1;
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("bench_vocoder: real-time factor at 32 iterations (mel inversion + GL, 1 core): "
           "%.4f (goal <= 0.01)\n", best / secs);

    /* quality */
    for (int p = 0; p < 2; p++) {
        float power = p ? 1.2f : 1.0f;
        if (dsp_mel_to_linear(f, mel, nt, power, mag) != TTS_OK) return 1;
        const int iters[] = {16, 32, 64};
        for (int i = 0; i < 3; i++) {
            double a, b;
            if (dsp_griffin_lim_mag(f, mag, nt, iters[i], y) != TTS_OK ||
                dsp_spectral_convergence(f, mag, nt, y, n, &a) != TTS_OK ||
                dsp_spectral_convergence(f, truth, nt, y, n, &b) != TTS_OK)
                return 1;
            printf("bench_vocoder: power %.1f, %2d iterations: SC %6.2f dB vs mel-inverted target, "
                   "%6.2f dB vs input STFT\n", power, iters[i], a, b);
        }
    }
    free(mel);
    free(mag);
    free(truth);
    free(y);
    dsp_features_free(f);
    int rc = voice_quality(x, n, DSP_PHASE_RANDOM) || voice_quality(x, n, DSP_PHASE_PGHI);
    free(x);
    return rc;
}
