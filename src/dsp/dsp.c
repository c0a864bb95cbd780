/*
 * dsp.c - STFT, inverse STFT, Slaney mel filterbank, mel inversion and the
 * fast Griffin-Lim vocoder, on FFTW (single precision, FFTW_ESTIMATE plans).
 *
 * This is the one place where the analysis parameters (n_fft, hop, window,
 * mel basis, log floor) are turned into numbers: the trainer's features and
 * the synthesizer's vocoder both come from here.  It is not a general signal
 * processing library: one window type, one mel scale, mono float audio.
 * See dsp.h for the conventions (centered frames, magnitude mel, layouts).
 *
 * Memory: dsp_features_create() allocates the plans, window, mel basis and
 * its pseudo-inverse; a workspace sized for the longest input seen so far is
 * grown on demand, so repeated calls on sentences of similar length allocate
 * nothing, and Griffin-Lim never allocates inside its iteration loop.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dsp/dsp.h"

#include <fftw3.h>
#include <math.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

/* FFTW's planner is not thread-safe; execution is. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

#define GL_MOMENTUM 0.99f
#define NNLS_ITERS 24
#define NNLS_LANES 16  /* frames inverted at once, one per SIMD lane */
#define PG_BUCKETS 256  /* PGHI's priority queue: steps of log magnitude */
#define PG_RANGE 11.5f  /* PGHI: log units kept under the peak, 1e-5 (100 dB) */

struct dsp_features {
    dsp_params p;
    const atomic_int *cancel;  /* nonzero: Griffin-Lim stops early (dsp_features_set_cancel) */
    size_t n_bins;
    float *window;       /* (n_fft) periodic Hann of win samples, centered */
    float *swindow;      /* (n_fft) synthesis window: window / n_fft (FFTW's c2r is unnormalized) */
    float *mel;          /* (n_mels, n_bins) */
    int *mel_lo, *mel_hi;/* (n_mels) nonzero bins of each band: [lo, hi) */
    size_t mel_kmax;     /* bins at and above this one are in no band */
    float *pinv;         /* (n_mels, n_bins): the pseudo-inverse of mel, transposed */
    int *pinv_lo, *pinv_hi; /* (n_mels) the bins of each pinv row kept: [lo, hi) */
    /* mel inversion scratch, NNLS_LANES frames lane-major: y (n_mels, L),
       s, num, den (n_bins, L) */
    float *nnls_y, *nnls_s, *nnls_num, *nnls_den;
    dsp_phase_init init; /* Griffin-Lim's initial phase */
    /* PGHI scratch (n_bins each unless said): log magnitudes of three frames
       (3), time gradients of two (2), frequency gradient, phase, previous
       phase, heap keys (2), done flags, heap (2) */
    float *pg_ls, *pg_tg, *pg_fg, *pg_phase, *pg_prev, *pg_key;
    int *pg_done, *pg_heap; /* pg_heap: the queue's PG_BUCKETS heads and 2 n_bins links */
    /* FFT buffers, owned by the plans */
    float *fr;           /* (n_fft) real frame */
    fftwf_complex *fc;   /* (n_bins) complex frame */
    fftwf_plan r2c, c2r;
    /* workspace, grown by ws_reserve() */
    size_t ws_frames;    /* capacity in frames */
    float *ws_ola;       /* ((T-1)*hop + n_fft) overlap-add buffer */
    float *ws_iwsum;     /* ((T-1)*hop + n_fft) 1 / window-square sum */
    float *ws_audio;     /* (T*hop) */
    float *ws_spec[2];   /* (T, n_bins, 2): Griffin-Lim's angles and previous rebuilt spectrum */
    float *ws_mag;       /* (T, n_bins) */
};

dsp_params dsp_params_default(void)
{
    dsp_params p = {
        .sample_rate = 22050, .n_fft = 1024, .hop = 256, .win = 1024,
        .n_mels = 80, .fmin = 0.0f, .fmax = 8000.0f, .log_floor = 1e-5f,
    };
    return p;
}

/* ---- mel scale (Slaney / librosa htk=False) ---- */

static double hz_to_mel(double hz)
{
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0;
    const double min_log_mel = min_log_hz / f_sp, logstep = log(6.4) / 27.0;
    if (hz < min_log_hz) return hz / f_sp;
    return min_log_mel + log(hz / min_log_hz) / logstep;
}

static double mel_to_hz(double mel)
{
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0;
    const double min_log_mel = min_log_hz / f_sp, logstep = log(6.4) / 27.0;
    if (mel < min_log_mel) return mel * f_sp;
    return min_log_hz * exp(logstep * (mel - min_log_mel));
}

/* mel (n_mels, n_bins): triangles on Slaney-mel-spaced centers, unit area. */
static void build_mel_basis(const dsp_params *p, size_t n_bins, float *mel)
{
    size_t nm = (size_t)p->n_mels;
    double *pts = malloc((nm + 2) * sizeof *pts);
    double lo = hz_to_mel(p->fmin), hi = hz_to_mel(p->fmax);
    for (size_t i = 0; i < nm + 2; i++)
        pts[i] = mel_to_hz(lo + (hi - lo) * (double)i / (double)(nm + 1));
    for (size_t m = 0; m < nm; m++) {
        double f0 = pts[m], f1 = pts[m + 1], f2 = pts[m + 2];
        double enorm = 2.0 / (f2 - f0);
        for (size_t k = 0; k < n_bins; k++) {
            double fk = (double)k * p->sample_rate / (double)p->n_fft;
            double up = (fk - f0) / (f1 - f0), down = (f2 - fk) / (f2 - f1);
            double w = up < down ? up : down;
            mel[m * n_bins + k] = w > 0.0 ? (float)(w * enorm) : 0.0f;
        }
    }
    free(pts);
}

/* pinv^T (n_mels, n_bins), pinv = M^T (M M^T + lambda I)^-1, by Cholesky in double.
 * lambda is tiny (relative to the diagonal) and only guards rounding. */
static int build_pinv(const float *mel, size_t nm, size_t nb, const int *lo, const int *hi, float *pinv)
{
    double *g = calloc(nm * nm, sizeof *g);
    double *col = malloc(nm * sizeof *col);
    if (!g || !col) { free(g); free(col); return -1; }
    /* M M^T is banded (a band overlaps only its neighbours), and so is its
       Cholesky factor: every loop runs over the band only (bw: how far below
       the diagonal it reaches); the entries skipped are exact zeros */
    double maxdiag = 0.0;
    size_t bw = 0;
    for (size_t i = 0; i < nm; i++)
        for (size_t j = 0; j <= i; j++) {
            int k0 = lo[i] > lo[j] ? lo[i] : lo[j], k1 = hi[i] < hi[j] ? hi[i] : hi[j];
            double s = 0.0;
            for (int k = k0; k < k1; k++) s += (double)mel[i * nb + k] * mel[j * nb + k];
            g[i * nm + j] = g[j * nm + i] = s;
            if (s != 0.0 && i - j > bw) bw = i - j;
            if (i == j && s > maxdiag) maxdiag = s;
        }
    for (size_t i = 0; i < nm; i++) g[i * nm + i] += 1e-10 * maxdiag;
    /* in-place Cholesky: lower triangle of g becomes L */
    for (size_t j = 0; j < nm; j++) {
        size_t k0 = j > bw ? j - bw : 0;
        double d = g[j * nm + j];
        for (size_t k = k0; k < j; k++) d -= g[j * nm + k] * g[j * nm + k];
        if (d <= 0.0) { free(g); free(col); return -1; }
        d = sqrt(d);
        g[j * nm + j] = d;
        for (size_t i = j + 1; i < nm && i <= j + bw; i++) {
            double s = g[i * nm + j];
            for (size_t k = i > bw ? i - bw : 0; k < j; k++) s -= g[i * nm + k] * g[j * nm + k];
            g[i * nm + j] = s / d;
        }
    }
    /* for each bin k: solve (M M^T) c = M[:, k], pinv[k, :] = c, stored as column k */
    for (size_t k = 0; k < nb; k++) {
        for (size_t i = 0; i < nm; i++) col[i] = mel[i * nb + k];
        for (size_t i = 0; i < nm; i++) { /* L y = b */
            double s = col[i];
            for (size_t j = i > bw ? i - bw : 0; j < i; j++) s -= g[i * nm + j] * col[j];
            col[i] = s / g[i * nm + i];
        }
        for (size_t i = nm; i-- > 0;) { /* L^T c = y */
            double s = col[i];
            for (size_t j = i + 1; j < nm && j <= i + bw; j++) s -= g[j * nm + i] * col[j];
            col[i] = s / g[i * nm + i];
        }
        for (size_t i = 0; i < nm; i++) pinv[i * nb + k] = (float)col[i];
    }
    free(g);
    free(col);
    return 0;
}

/* The pseudo-inverse of a banded matrix decays exponentially away from the
 * band: far entries fall to subnormal floats, which cost a hundred times a
 * normal one in every product.  Entries below 1e-6 of their row's largest
 * are set to zero, and each row's [lo, hi) range of the rest is kept. */
static void trim_pinv(float *pinv, size_t nm, size_t nb, int *lo, int *hi)
{
    for (size_t m = 0; m < nm; m++) {
        float *row = pinv + m * nb, big = 0.0f;
        for (size_t k = 0; k < nb; k++) big = fabsf(row[k]) > big ? fabsf(row[k]) : big;
        lo[m] = (int)nb;
        hi[m] = 0;
        for (size_t k = 0; k < nb; k++) {
            if (fabsf(row[k]) < 1e-6f * big) {
                row[k] = 0.0f;
                continue;
            }
            if ((int)k < lo[m]) lo[m] = (int)k;
            hi[m] = (int)k + 1;
        }
        if (hi[m] == 0) lo[m] = 0;
    }
}

/* ---- create / free ---- */

tts_status dsp_features_create(const dsp_params *p, dsp_features **out)
{
    if (!out) return TTS_ERR_INVALID_ARG;
    *out = NULL;
    dsp_params d = p ? *p : dsp_params_default();
    if (d.sample_rate <= 0 || d.n_fft < 16 || (d.n_fft & 1) || d.hop <= 0 ||
        d.hop > d.n_fft || d.win <= 0 || d.win > d.n_fft || d.n_mels <= 0 ||
        d.fmin < 0.0f || d.fmax <= d.fmin || d.fmax > 0.5f * (float)d.sample_rate ||
        !(d.log_floor > 0.0f))
        return TTS_ERR_INVALID_ARG;

    dsp_features *f = calloc(1, sizeof *f);
    if (!f) return TTS_ERR_NOMEM;
    f->p = d;
    f->init = DSP_PHASE_PGHI;
    size_t n = (size_t)d.n_fft, nb = n / 2 + 1, nm = (size_t)d.n_mels;
    f->n_bins = nb;
    f->window = calloc(n, sizeof *f->window);
    f->swindow = calloc(n, sizeof *f->swindow);
    f->mel = malloc(nm * nb * sizeof *f->mel);
    f->mel_lo = malloc(nm * sizeof *f->mel_lo);
    f->mel_hi = malloc(nm * sizeof *f->mel_hi);
    f->pinv = malloc(nb * nm * sizeof *f->pinv);
    f->pinv_lo = malloc(nm * sizeof *f->pinv_lo);
    f->pinv_hi = malloc(nm * sizeof *f->pinv_hi);
    f->nnls_y = malloc(nm * NNLS_LANES * sizeof(float));
    f->nnls_s = malloc(nb * NNLS_LANES * sizeof(float));
    f->nnls_num = malloc(nb * NNLS_LANES * sizeof(float));
    f->nnls_den = malloc(nb * NNLS_LANES * sizeof(float));
    f->pg_ls = malloc(3 * nb * sizeof(float));
    f->pg_tg = malloc(2 * nb * sizeof(float));
    f->pg_fg = malloc(nb * sizeof(float));
    f->pg_phase = malloc(nb * sizeof(float));
    f->pg_prev = malloc(nb * sizeof(float));
    f->pg_key = malloc(2 * nb * sizeof(float));
    f->pg_done = malloc(nb * sizeof(int));
    f->pg_heap = malloc((PG_BUCKETS + 2 * nb) * sizeof(int));
    f->fr = fftwf_alloc_real(n);
    f->fc = fftwf_alloc_complex(nb);
    if (!f->window || !f->swindow || !f->mel || !f->mel_lo || !f->mel_hi || !f->pinv || !f->pinv_lo ||
        !f->pinv_hi || !f->nnls_y || !f->nnls_s || !f->nnls_num || !f->nnls_den ||
        !f->pg_ls || !f->pg_tg || !f->pg_fg || !f->pg_phase || !f->pg_prev || !f->pg_key || !f->pg_done ||
        !f->pg_heap || !f->fr || !f->fc) {
        dsp_features_free(f);
        return TTS_ERR_NOMEM;
    }
    size_t off = (n - (size_t)d.win) / 2;
    for (int i = 0; i < d.win; i++) /* periodic Hann */
        f->window[off + (size_t)i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / d.win));
    for (size_t k = 0; k < n; k++) f->swindow[k] = f->window[k] / (float)n;

    build_mel_basis(&d, nb, f->mel);
    for (size_t m = 0; m < nm; m++) {
        int lo = (int)nb, hi = 0;
        for (size_t k = 0; k < nb; k++)
            if (f->mel[m * nb + k] > 0.0f) {
                if ((int)k < lo) lo = (int)k;
                hi = (int)k + 1;
            }
        if (hi == 0) { /* an empty band: the mel basis is degenerate */
            dsp_features_free(f);
            return TTS_ERR_INVALID_ARG;
        }
        f->mel_lo[m] = lo;
        f->mel_hi[m] = hi;
        if ((size_t)hi > f->mel_kmax) f->mel_kmax = (size_t)hi;
    }
    if (build_pinv(f->mel, nm, nb, f->mel_lo, f->mel_hi, f->pinv) != 0) {
        dsp_features_free(f);
        return TTS_ERR_INVALID_ARG;
    }
    trim_pinv(f->pinv, nm, nb, f->pinv_lo, f->pinv_hi);

    pthread_mutex_lock(&planner_lock);
    f->r2c = fftwf_plan_dft_r2c_1d(d.n_fft, f->fr, f->fc, FFTW_ESTIMATE);
    f->c2r = fftwf_plan_dft_c2r_1d(d.n_fft, f->fc, f->fr, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!f->r2c || !f->c2r) {
        dsp_features_free(f);
        return TTS_ERR_INTERNAL;
    }
    *out = f;
    return TTS_OK;
}

static void ws_free(dsp_features *f)
{
    free(f->ws_ola);
    free(f->ws_iwsum);
    free(f->ws_audio);
    for (int i = 0; i < 2; i++) free(f->ws_spec[i]);
    free(f->ws_mag);
    f->ws_ola = f->ws_iwsum = f->ws_audio = f->ws_mag = NULL;
    for (int i = 0; i < 2; i++) f->ws_spec[i] = NULL;
    f->ws_frames = 0;
}

void dsp_features_free(dsp_features *f)
{
    if (!f) return;
    pthread_mutex_lock(&planner_lock);
    if (f->r2c) fftwf_destroy_plan(f->r2c);
    if (f->c2r) fftwf_destroy_plan(f->c2r);
    pthread_mutex_unlock(&planner_lock);
    fftwf_free(f->fr);
    fftwf_free(f->fc);
    free(f->window);
    free(f->swindow);
    free(f->mel);
    free(f->mel_lo);
    free(f->mel_hi);
    free(f->pinv);
    free(f->pinv_lo);
    free(f->pinv_hi);
    free(f->nnls_y);
    free(f->nnls_s);
    free(f->nnls_num);
    free(f->nnls_den);
    free(f->pg_ls);
    free(f->pg_tg);
    free(f->pg_fg);
    free(f->pg_phase);
    free(f->pg_prev);
    free(f->pg_key);
    free(f->pg_done);
    free(f->pg_heap);
    ws_free(f);
    free(f);
}

/* Room for n_frames frames in every workspace buffer. */
static tts_status ws_reserve(dsp_features *f, size_t n_frames)
{
    if (n_frames <= f->ws_frames) return TTS_OK;
    size_t cap = n_frames + n_frames / 4 + 16;
    size_t hop = (size_t)f->p.hop, n = (size_t)f->p.n_fft;
    ws_free(f);
    f->ws_ola = malloc(((cap - 1) * hop + n) * sizeof(float));
    f->ws_iwsum = malloc(((cap - 1) * hop + n) * sizeof(float));
    f->ws_audio = malloc(cap * hop * sizeof(float));
    for (int i = 0; i < 2; i++) f->ws_spec[i] = malloc(cap * f->n_bins * 2 * sizeof(float));
    f->ws_mag = malloc(cap * f->n_bins * sizeof(float));
    if (!f->ws_ola || !f->ws_iwsum || !f->ws_audio || !f->ws_spec[0] || !f->ws_spec[1] ||
        !f->ws_mag) {
        ws_free(f);
        return TTS_ERR_NOMEM;
    }
    f->ws_frames = cap;
    return TTS_OK;
}

const dsp_params *dsp_features_params(const dsp_features *f) { return f ? &f->p : NULL; }
size_t dsp_n_bins(const dsp_features *f) { return f ? f->n_bins : 0; }
const float *dsp_mel_basis(const dsp_features *f) { return f ? f->mel : NULL; }

size_t dsp_n_frames(const dsp_features *f, size_t n_samples)
{
    return f ? 1 + n_samples / (size_t)f->p.hop : 0;
}

/* ---- STFT ---- */

static void mul_into(float *restrict y, const float *restrict a, const float *restrict b,
                     size_t n, int accumulate);

/* Index i reflected into [0, n) (numpy's "reflect": the edge is not repeated). */
static size_t reflect_index(long i, size_t n)
{
    if (n == 1) return 0;
    long period = 2 * ((long)n - 1);
    i %= period;
    if (i < 0) i += period;
    if (i >= (long)n) i = period - i;
    return (size_t)i;
}

/* Windowed frame t of audio into f->fr, then r2c into f->fc. */
static void analyze_frame(dsp_features *f, const float *audio, size_t n_samples, size_t t)
{
    size_t n = (size_t)f->p.n_fft;
    long start = (long)(t * (size_t)f->p.hop) - (long)(n / 2);
    if (start >= 0 && (size_t)start + n <= n_samples) {
        mul_into(f->fr, audio + start, f->window, n, 0);
    } else {
        for (size_t k = 0; k < n; k++)
            f->fr[k] = audio[reflect_index(start + (long)k, n_samples)] * f->window[k];
    }
    fftwf_execute(f->r2c);
}

/* STFT of the first n_frames frames of audio into spec (n_frames, n_bins, 2). */
static void stft_frames(dsp_features *f, const float *audio, size_t n_samples, size_t n_frames,
                        float *spec)
{
    size_t nb = f->n_bins;
    for (size_t t = 0; t < n_frames; t++) {
        analyze_frame(f, audio, n_samples, t);
        memcpy(spec + t * nb * 2, f->fc, nb * 2 * sizeof(float));
    }
}

tts_status dsp_stft(dsp_features *f, const float *audio, size_t n_samples, float *spec)
{
    if (!f || !audio || !spec || n_samples == 0) return TTS_ERR_INVALID_ARG;
    stft_frames(f, audio, n_samples, dsp_n_frames(f, n_samples), spec);
    return TTS_OK;
}

tts_status dsp_stft_mag(dsp_features *f, const float *audio, size_t n_samples, float *mag)
{
    if (!f || !audio || !mag || n_samples == 0) return TTS_ERR_INVALID_ARG;
    size_t nb = f->n_bins, nt = dsp_n_frames(f, n_samples);
    for (size_t t = 0; t < nt; t++) {
        analyze_frame(f, audio, n_samples, t);
        for (size_t k = 0; k < nb; k++)
            mag[t * nb + k] = sqrtf(f->fc[k][0] * f->fc[k][0] + f->fc[k][1] * f->fc[k][1]);
    }
    return TTS_OK;
}

/* iwsum[i] = 1 / sum_t window^2[i - t*hop] over n_frames frames, 0 where the sum
 * is negligible; length (n_frames-1)*hop + n_fft. */
static void inverse_window_sum(const dsp_features *f, size_t n_frames, float *iwsum)
{
    size_t n = (size_t)f->p.n_fft, hop = (size_t)f->p.hop, len = (n_frames - 1) * hop + n;
    memset(iwsum, 0, len * sizeof *iwsum);
    for (size_t t = 0; t < n_frames; t++)
        for (size_t k = 0; k < n; k++) iwsum[t * hop + k] += f->window[k] * f->window[k];
    for (size_t i = 0; i < len; i++) iwsum[i] = iwsum[i] > 1e-6f ? 1.0f / iwsum[i] : 0.0f;
}

/* Weighted overlap-add of spec (n_frames, n_bins, 2) into audio (n_frames*hop),
 * given iwsum from inverse_window_sum().  Uses f->ws_ola. */
static void istft_frames(dsp_features *f, const float *spec, size_t n_frames,
                         const float *iwsum, float *audio)
{
    size_t n = (size_t)f->p.n_fft, hop = (size_t)f->p.hop, nb = f->n_bins;
    size_t len = (n_frames - 1) * hop + n;
    float *ola = f->ws_ola;
    memset(ola, 0, len * sizeof *ola);
    for (size_t t = 0; t < n_frames; t++) {
        memcpy(f->fc, spec + t * nb * 2, nb * 2 * sizeof(float));
        fftwf_execute(f->c2r);
        mul_into(ola + t * hop, f->fr, f->swindow, n, 1);
    }
    size_t pad = n / 2, n_out = n_frames * hop;
    for (size_t i = 0; i < n_out; i++) audio[i] = ola[pad + i] * iwsum[pad + i];
}

tts_status dsp_istft(dsp_features *f, const float *spec, size_t n_frames, float *audio)
{
    if (!f || !spec || !audio || n_frames == 0) return TTS_ERR_INVALID_ARG;
    tts_status st = ws_reserve(f, n_frames);
    if (st != TTS_OK) return st;
    inverse_window_sum(f, n_frames, f->ws_iwsum);
    istft_frames(f, spec, n_frames, f->ws_iwsum, audio);
    return TTS_OK;
}

/* ---- mel ---- */

tts_status dsp_logmel(dsp_features *f, const float *audio, size_t n_samples, float *mel)
{
    if (!f || !audio || !mel || n_samples == 0) return TTS_ERR_INVALID_ARG;
    size_t nb = f->n_bins, nm = (size_t)f->p.n_mels, nt = dsp_n_frames(f, n_samples);
    float mag[nb];
    for (size_t t = 0; t < nt; t++) {
        analyze_frame(f, audio, n_samples, t);
        for (size_t k = 0; k < nb; k++) mag[k] = sqrtf(f->fc[k][0] * f->fc[k][0] + f->fc[k][1] * f->fc[k][1]);
        for (size_t m = 0; m < nm; m++) {
            const float *w = f->mel + m * nb;
            float s = 0.0f;
            for (int k = f->mel_lo[m]; k < f->mel_hi[m]; k++) s += w[k] * mag[k];
            mel[t * nm + m] = logf(s > f->p.log_floor ? s : f->p.log_floor);
        }
    }
    return TTS_OK;
}

/* The hot loops get AVX2 and AVX-512 clones picked at load time (GCC's
 * function multiversioning); other compilers build the baseline only. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DSP_HOT __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define DSP_HOT
#endif

/* Mel inversion of up to NNLS_LANES frames at once, lane-major (element
 * [k][l] is bin or band k of frame l), so every loop below runs over the
 * frames in SIMD lanes: y (n_mels, L) is exp(logmel); out: s (kmax, L).
 * num and den are (kmax, L) scratch. */
DSP_HOT static void nnls_lanes(const dsp_features *f, const float *restrict y, float *restrict s,
                               float *restrict num, float *restrict den)
{
    enum { L = NNLS_LANES };
    size_t nb = f->n_bins, nm = (size_t)f->p.n_mels, kmax = f->mel_kmax;
    float ymax[L] = {0}, tiny[L];
    for (size_t m = 0; m < nm; m++)
        for (int l = 0; l < L; l++) ymax[l] = y[m * L + l] > ymax[l] ? y[m * L + l] : ymax[l];
    /* start: the pseudo-inverse, raised to a small positive value so that the
       multiplicative updates can still move every bin; num = M^T y */
    memset(s, 0, kmax * L * sizeof *s);
    memset(num, 0, kmax * L * sizeof *num);
    for (size_t m = 0; m < nm; m++) {
        const float *ym = y + m * L, *pr = f->pinv + m * nb, *w = f->mel + m * nb;
        for (int k = f->pinv_lo[m]; k < f->pinv_hi[m]; k++)
            for (int l = 0; l < L; l++) s[(size_t)k * L + l] += pr[k] * ym[l];
        for (int k = f->mel_lo[m]; k < f->mel_hi[m]; k++)
            for (int l = 0; l < L; l++) num[(size_t)k * L + l] += w[k] * ym[l];
    }
    for (int l = 0; l < L; l++) tiny[l] = 1e-6f * ymax[l] + 1e-30f;
    for (size_t k = 0; k < kmax; k++)
        for (int l = 0; l < L; l++) s[k * L + l] = s[k * L + l] > tiny[l] ? s[k * L + l] : tiny[l];
    /* NNLS by multiplicative updates (Lee & Seung): s <- s * (M^T y) / (M^T M s) */
    for (int it = 0; it < NNLS_ITERS; it++) {
        memset(den, 0, kmax * L * sizeof *den);
        for (size_t m = 0; m < nm; m++) {
            const float *w = f->mel + m * nb;
            float d[L] = {0};
            for (int k = f->mel_lo[m]; k < f->mel_hi[m]; k++)
                for (int l = 0; l < L; l++) d[l] += w[k] * s[(size_t)k * L + l];
            for (int k = f->mel_lo[m]; k < f->mel_hi[m]; k++)
                for (int l = 0; l < L; l++) den[(size_t)k * L + l] += w[k] * d[l];
        }
        for (size_t i = 0; i < kmax * L; i++) s[i] = den[i] > 0.0f ? s[i] * num[i] / den[i] : 0.0f;
    }
}

/* s^power, keeping the frame's energy (kmax bins). */
static void sharpen_frame(float *s, size_t kmax, float power)
{
    double e0 = 0.0, e1 = 0.0;
    for (size_t k = 0; k < kmax; k++) {
        e0 += (double)s[k] * s[k];
        s[k] = powf(s[k], power);
        e1 += (double)s[k] * s[k];
    }
    float g = e1 > 0.0 ? (float)sqrt(e0 / e1) : 0.0f;
    for (size_t k = 0; k < kmax; k++) s[k] *= g;
}

tts_status dsp_mel_to_linear(dsp_features *f, const float *logmel, size_t n_frames,
                             float power, float *mag)
{
    if (!f || !logmel || !mag || n_frames == 0 || !(power > 0.0f)) return TTS_ERR_INVALID_ARG;
    enum { L = NNLS_LANES };
    size_t nb = f->n_bins, nm = (size_t)f->p.n_mels, kmax = f->mel_kmax;
    float *y = f->nnls_y, *s = f->nnls_s, *num = f->nnls_num, *den = f->nnls_den;
    for (size_t t0 = 0; t0 < n_frames; t0 += L) {
        size_t nl = n_frames - t0 < L ? n_frames - t0 : L;
        for (size_t m = 0; m < nm; m++)  /* lanes past the last frame are silent */
            for (size_t l = 0; l < L; l++) y[m * L + l] = l < nl ? expf(logmel[(t0 + l) * nm + m]) : 0.0f;
        nnls_lanes(f, y, s, num, den);
        for (size_t l = 0; l < nl; l++) {
            float *out = mag + (t0 + l) * nb;
            for (size_t k = 0; k < kmax; k++) out[k] = s[k * L + l];
            memset(out + kmax, 0, (nb - kmax) * sizeof *out);
            if (power != 1.0f) sharpen_frame(out, kmax, power);
        }
    }
    return TTS_OK;
}

/* ---- Griffin-Lim ---- */

static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* One frame of the Griffin-Lim projection: angles = mag * c / |c| with
 * c = rebuilt - beta * tprev (momentum != 0) or c = rebuilt, then
 * tprev = rebuilt for the next iteration.  That is the projection onto the
 * spectrograms with the target magnitude, applied to the momentum-
 * extrapolated consistent spectrogram.  Half of Griffin-Lim's time is here,
 * so it has an SSE path (sqrt and divide 4 cells at a time; the compiler will
 * not vectorize sqrtf at -O2 because of errno). */
static void project_magnitude(const float *restrict mag, const float *restrict rebuilt,
                              float *restrict tprev, int momentum, float beta, size_t n_cells,
                              float *restrict angles)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128 vb = _mm_set1_ps(beta), eps = _mm_set1_ps(1e-16f);
    for (; i + 4 <= n_cells; i += 4) {
        __m128 a = _mm_loadu_ps(rebuilt + 2 * i), b = _mm_loadu_ps(rebuilt + 2 * i + 4);
        if (momentum) { /* (the first iteration's tprev is not yet written) */
            __m128 pa = _mm_loadu_ps(tprev + 2 * i), pb = _mm_loadu_ps(tprev + 2 * i + 4);
            _mm_storeu_ps(tprev + 2 * i, a);
            _mm_storeu_ps(tprev + 2 * i + 4, b);
            a = _mm_sub_ps(a, _mm_mul_ps(vb, pa));
            b = _mm_sub_ps(b, _mm_mul_ps(vb, pb));
        } else {
            _mm_storeu_ps(tprev + 2 * i, a);
            _mm_storeu_ps(tprev + 2 * i + 4, b);
        }
        __m128 re = _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        __m128 im = _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        __m128 r = _mm_sqrt_ps(_mm_add_ps(_mm_mul_ps(re, re), _mm_mul_ps(im, im)));
        __m128 g = _mm_div_ps(_mm_loadu_ps(mag + i), _mm_add_ps(r, eps));
        _mm_storeu_ps(angles + 2 * i, _mm_mul_ps(a, _mm_unpacklo_ps(g, g)));
        _mm_storeu_ps(angles + 2 * i + 4, _mm_mul_ps(b, _mm_unpackhi_ps(g, g)));
    }
#endif
    for (; i < n_cells; i++) {
        float re = rebuilt[2 * i], im = rebuilt[2 * i + 1];
        float pre = tprev[2 * i], pim = tprev[2 * i + 1];
        tprev[2 * i] = re;
        tprev[2 * i + 1] = im;
        if (momentum) {
            re -= beta * pre;
            im -= beta * pim;
        }
        float g = mag[i] / (sqrtf(re * re + im * im) + 1e-16f);
        angles[2 * i] = re * g;
        angles[2 * i + 1] = im * g;
    }
}

/* y = a * b (mul != 0) or y += a * b, elementwise over n floats. */
static void mul_into(float *restrict y, const float *restrict a, const float *restrict b,
                     size_t n, int accumulate)
{
    size_t i = 0;
#ifdef __SSE2__
    if (accumulate)
        for (; i + 4 <= n; i += 4)
            _mm_storeu_ps(y + i, _mm_add_ps(_mm_loadu_ps(y + i),
                                            _mm_mul_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i))));
    else
        for (; i + 4 <= n; i += 4)
            _mm_storeu_ps(y + i, _mm_mul_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)));
#endif
    if (accumulate)
        for (; i < n; i++) y[i] += a[i] * b[i];
    else
        for (; i < n; i++) y[i] = a[i] * b[i];
}

/* ---- phase-gradient heuristic integration (PGHI) ----
 *
 * An initial phase for Griffin-Lim from the magnitude alone (Prusa, Balazs
 * and Sondergaard 2017, in its frame-by-frame form): for a Gaussian-like
 * window of length L (Hann: gamma = 0.25645 L^2), the phase's advance from
 * one frame to the next at bin m is about
 *     (hop n_fft / (2 gamma)) (ls[m+1] - ls[m-1]) + 2 pi hop m / n_fft
 * (ls = log magnitude) and its step from bin to bin within a frame about
 *     -(gamma / (2 hop n_fft)) (ls_next[m] - ls_prev[m]).
 * The phase is integrated from the loudest cells outwards (a priority queue
 * over the previous and the current frame), so errors gather where the magnitude
 * is small.  Cells more than 100 dB under the frame pair's peak keep the
 * plain frame-to-frame advance.  The formulas hold for frames whose time
 * origin is the window's centre; ours start n_fft/2 earlier, a factor
 * (-1)^m, added when the phase is applied. */

/* The integration order: a bucket queue of cells by log magnitude, quantized
 * to PG_BUCKETS steps over the 100 dB kept (a binary heap's pops, with their
 * unpredictable branches, cost more than all of Griffin-Lim's other work on
 * a frame).  Each cell enters at most once; cells of one bucket leave last in
 * first out.  head (PG_BUCKETS) and next (2 n_bins) are -1 terminated stacks. */
typedef struct pg_queue { int *head, *next; int top; float lo, scale; } pg_queue;

static void queue_push(pg_queue *q, int cell, float key)
{
    int b = (int)((key - q->lo) * q->scale);
    b = b < 0 ? 0 : b >= PG_BUCKETS ? PG_BUCKETS - 1 : b;
    q->next[cell] = q->head[b];
    q->head[b] = cell;
    if (b > q->top) q->top = b;
}

/* The loudest cell queued, or -1 when none is. */
static int queue_pop(pg_queue *q)
{
    while (q->top >= 0 && q->head[q->top] < 0) q->top--;
    if (q->top < 0) return -1;
    int c = q->head[q->top];
    q->head[q->top] = q->next[c];
    return c;
}

/* log magnitude of one frame (nb bins), floored */
static void log_frame(const float *mag, size_t nb, float *ls)
{
    for (size_t k = 0; k < nb; k++) ls[k] = logf(mag[k] + 1e-30f);
}

/* The phase of frame t (phase[nb], in: frame t-1's) by integration from the
 * previous frame's phase; key (2 nb): log magnitudes of frames t-1 and t. */
static void pghi_frame(dsp_features *f, const float *tg_prev, const float *tg, const float *fg,
                       float *phase)
{
    size_t nb = f->n_bins;
    const float *key = f->pg_key;
    float *prev = f->pg_prev;
    int *done = f->pg_done;
    float peak = key[0];
    for (size_t i = 1; i < 2 * nb; i++) peak = key[i] > peak ? key[i] : peak;
    float floor_ = peak - PG_RANGE;
    pg_queue q = {f->pg_heap, f->pg_heap + PG_BUCKETS, -1, floor_, PG_BUCKETS / PG_RANGE};
    for (int b = 0; b < PG_BUCKETS; b++) q.head[b] = -1;
    memcpy(prev, phase, nb * sizeof *prev);
    size_t left = 0;
    for (size_t m = 0; m < nb; m++) {
        done[m] = key[nb + m] <= floor_;
        if (done[m]) phase[m] = prev[m] + tg[m];  /* too quiet to matter: plain advance */
        else left++;
        if (key[m] > floor_) queue_push(&q, (int)m, key[m]);
    }
    while (left > 0) {
        int c = queue_pop(&q);
        if (c < 0) {  /* nothing loud before: start at the loudest cell left */
            int best = -1;
            for (size_t m = 0; m < nb; m++)
                if (!done[m] && (best < 0 || key[nb + m] > key[nb + best])) best = (int)m;
            phase[best] = prev[best] + tg[best];
            done[best] = 1;
            left--;
            queue_push(&q, (int)nb + best, key[nb + best]);
        } else if (c < (int)nb) {  /* previous frame: advance in time */
            if (done[c]) continue;
            phase[c] = prev[c] + 0.5f * (tg_prev[c] + tg[c]);
            done[c] = 1;
            left--;
            queue_push(&q, (int)nb + c, key[nb + c]);
        } else {  /* this frame: step to the neighbouring bins */
            int m = c - (int)nb;
            for (int d = -1; d <= 1; d += 2) {
                int r = m + d;
                if (r < 0 || r >= (int)nb || done[r]) continue;
                phase[r] = phase[m] + (float)d * 0.5f * (fg[m] + fg[r]);
                done[r] = 1;
                left--;
                queue_push(&q, (int)nb + r, key[nb + r]);
            }
        }
    }
}

/* time-direction gradient of one frame from its log magnitude ls */
static void pghi_tgrad(const dsp_features *f, const float *ls, float *tg)
{
    size_t nb = f->n_bins;
    double a = f->p.hop, M = f->p.n_fft, gamma = 0.25645 * (double)f->p.win * f->p.win;
    float mul = (float)(a * M / (2.0 * gamma)), plus = (float)(2.0 * M_PI * a / M);
    tg[0] = 0.0f;
    tg[nb - 1] = 0.0f;
    for (size_t m = 1; m + 1 < nb; m++) tg[m] = mul * (ls[m + 1] - ls[m - 1]) + plus * (float)m;
}

static void pghi_phase(dsp_features *f, const float *mag, size_t n_frames, float *angles)
{
    size_t nb = f->n_bins;
    double a = f->p.hop, M = f->p.n_fft, gamma = 0.25645 * (double)f->p.win * f->p.win;
    float fmul = (float)(-gamma / (2.0 * a * M));
    float *ls[3] = {f->pg_ls, f->pg_ls + nb, f->pg_ls + 2 * nb};   /* frames t-1, t, t+1 */
    float *tgp = f->pg_tg, *tg = f->pg_tg + nb, *fg = f->pg_fg, *phase = f->pg_phase;
    memset(phase, 0, nb * sizeof *phase);
    log_frame(mag, nb, ls[1]);
    memcpy(ls[0], ls[1], nb * sizeof(float));
    pghi_tgrad(f, ls[1], tg);
    memcpy(tgp, tg, nb * sizeof(float));
    for (size_t t = 0; t < n_frames; t++) {
        if (t + 1 < n_frames) log_frame(mag + (t + 1) * nb, nb, ls[2]);
        else memcpy(ls[2], ls[1], nb * sizeof(float));
        for (size_t m = 0; m < nb; m++) fg[m] = fmul * (ls[2][m] - ls[0][m]);
        memcpy(f->pg_key, ls[0], nb * sizeof(float));
        memcpy(f->pg_key + nb, ls[1], nb * sizeof(float));
        if (t == 0)  /* no previous frame */
            for (size_t m = 0; m < nb; m++) f->pg_key[m] = -INFINITY;
        pghi_frame(f, tgp, tg, fg, phase);
        for (size_t m = 0; m < nb; m++) {
            float ph = phase[m] + (m & 1 ? (float)M_PI : 0.0f);
            angles[2 * (t * nb + m)] = mag[t * nb + m] * cosf(ph);
            angles[2 * (t * nb + m) + 1] = mag[t * nb + m] * sinf(ph);
        }
        /* slide the window of frames */
        float *tmp = ls[0];
        ls[0] = ls[1];
        ls[1] = ls[2];
        ls[2] = tmp;
        tmp = tgp;
        tgp = tg;
        tg = tmp;
        pghi_tgrad(f, ls[1], tg);
        for (size_t m = 0; m < nb; m++)  /* wrapped, so float keeps its precision */
            phase[m] -= (float)(2.0 * M_PI) * floorf(phase[m] * (float)(0.5 / M_PI));
    }
}

tts_status dsp_griffin_lim_mag(dsp_features *f, const float *mag, size_t n_frames,
                               int n_iters, float *audio)
{
    if (!f || !mag || !audio || n_frames == 0 || n_iters < 0) return TTS_ERR_INVALID_ARG;
    tts_status st = ws_reserve(f, n_frames);
    if (st != TTS_OK) return st;
    size_t nb = f->n_bins, hop = (size_t)f->p.hop, n_cells = n_frames * nb;
    size_t n_samples = n_frames * hop;
    float *angles = f->ws_spec[0], *tprev = f->ws_spec[1];
    float *x = f->ws_audio;
    const float beta = GL_MOMENTUM / (1.0f + GL_MOMENTUM);

    inverse_window_sum(f, n_frames, f->ws_iwsum);
    if (f->init == DSP_PHASE_PGHI) {
        pghi_phase(f, mag, n_frames, angles);
    } else {
        uint32_t seed = 0x9e3779b9u;
        for (size_t i = 0; i < n_cells; i++) {
            float ph = (float)(2.0 * M_PI) * (float)(xorshift32(&seed) >> 8) * (1.0f / 16777216.0f);
            angles[2 * i] = mag[i] * cosf(ph);
            angles[2 * i + 1] = mag[i] * sinf(ph);
        }
    }
    /* The form of librosa's griffinlim(): with beta = a/(1+a) this is
     * Perraudin's fast Griffin-Lim with momentum a. */
    for (int it = 0; it < n_iters; it++) {
        if (f->cancel && atomic_load_explicit(f->cancel, memory_order_relaxed)) break;
        istft_frames(f, angles, n_frames, f->ws_iwsum, x);
        /* analysis and projection frame by frame: the frame's spectrum is
           used while it is in cache, and no third spectrogram is kept */
        for (size_t t = 0; t < n_frames; t++) {
            analyze_frame(f, x, n_samples, t);
            project_magnitude(mag + t * nb, (const float *)f->fc, tprev + t * nb * 2, it > 0, beta, nb,
                              angles + t * nb * 2);
        }
    }
    istft_frames(f, angles, n_frames, f->ws_iwsum, audio);
    for (size_t i = 0; i < n_samples; i++) {
        float v = audio[i];
        audio[i] = v > 1.0f ? 1.0f : (v < -1.0f ? -1.0f : v);
    }
    return TTS_OK;
}

void dsp_features_set_cancel(dsp_features *f, const atomic_int *flag)
{
    f->cancel = flag;
}

void dsp_features_set_phase_init(dsp_features *f, dsp_phase_init init)
{
    if (f) f->init = init;
}

tts_status dsp_griffin_lim(dsp_features *f, const float *logmel, size_t n_frames,
                           int n_iters, float power, float *audio)
{
    if (!f || !logmel || !audio || n_frames == 0 || n_iters < 0) return TTS_ERR_INVALID_ARG;
    tts_status st = ws_reserve(f, n_frames);
    if (st != TTS_OK) return st;
    st = dsp_mel_to_linear(f, logmel, n_frames, power, f->ws_mag);
    if (st != TTS_OK) return st;
    return dsp_griffin_lim_mag(f, f->ws_mag, n_frames, n_iters, audio);
}

tts_status dsp_spectral_convergence(dsp_features *f, const float *mag, size_t n_frames,
                                    const float *audio, size_t n_samples, double *sc_db)
{
    if (!f || !mag || !audio || !sc_db || n_frames == 0 || n_samples == 0)
        return TTS_ERR_INVALID_ARG;
    size_t nb = f->n_bins, nt = dsp_n_frames(f, n_samples);
    if (nt > n_frames) nt = n_frames;
    double num = 0.0, den = 0.0;
    for (size_t t = 0; t < nt; t++) {
        analyze_frame(f, audio, n_samples, t);
        const float *m = mag + t * nb;
        for (size_t k = 0; k < nb; k++) {
            double d = (double)m[k] - sqrt((double)f->fc[k][0] * f->fc[k][0] + (double)f->fc[k][1] * f->fc[k][1]);
            num += d * d;
            den += (double)m[k] * m[k];
        }
    }
    if (!(den > 0.0)) return TTS_ERR_INVALID_ARG;
    *sc_db = num > 0.0 ? 10.0 * log10(num / den) : -INFINITY;
    return TTS_OK;
}

tts_status dsp_log_spectral_distance(dsp_features *f, const float *mag, size_t n_frames,
                                     const float *audio, size_t n_samples, double *lsd_db)
{
    if (!f || !mag || !audio || !lsd_db || n_frames == 0 || n_samples == 0)
        return TTS_ERR_INVALID_ARG;
    size_t nb = f->n_bins, nt = dsp_n_frames(f, n_samples);
    if (nt > n_frames) nt = n_frames;
    float peak = 0.0f;
    for (size_t i = 0; i < nt * nb; i++) peak = mag[i] > peak ? mag[i] : peak;
    if (!(peak > 0.0f)) return TTS_ERR_INVALID_ARG;
    double e = 1e-4 * peak, sum = 0.0;
    for (size_t t = 0; t < nt; t++) {
        analyze_frame(f, audio, n_samples, t);
        const float *m = mag + t * nb;
        double acc = 0.0;
        for (size_t k = 0; k < nb; k++) {
            double y = sqrt((double)f->fc[k][0] * f->fc[k][0] + (double)f->fc[k][1] * f->fc[k][1]);
            double d = 20.0 * log10((m[k] + e) / (y + e));
            acc += d * d;
        }
        sum += sqrt(acc / (double)nb);
    }
    *lsd_db = sum / (double)nt;
    return TTS_OK;
}

/* ---- resampling ---- */

#define RS_ZC 32       /* zero crossings on each side of the kernel */
#define RS_RES 512     /* table entries per zero crossing */
#define RS_BETA 9.0    /* Kaiser beta: about 90 dB stop band */
#define RS_ROLLOFF 0.95

static double bessel_i0(double x)
{
    double s = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 64; k++) {
        term *= q / ((double)k * k);
        s += term;
        if (term < 1e-17 * s) break;
    }
    return s;
}

tts_status dsp_resample(const float *in, size_t n_in, int sr_in, int sr_out,
                        float **out, size_t *n_out)
{
    if (!in || !out || !n_out || sr_in <= 0 || sr_out <= 0) return TTS_ERR_INVALID_ARG;
    *out = NULL;
    *n_out = 0;
    size_t m = (size_t)(((unsigned long long)n_in * (unsigned)sr_out + (unsigned)sr_in - 1) /
                        (unsigned)sr_in);
    float *y = malloc((m ? m : 1) * sizeof *y);
    if (!y) return TTS_ERR_NOMEM;
    if (sr_in == sr_out) {
        memcpy(y, in, n_in * sizeof *y);
        *out = y;
        *n_out = n_in;
        return TTS_OK;
    }
    /* kernel h(u) = sinc(u) * kaiser(u / RS_ZC), u in zero crossings, tabulated */
    size_t n_tab = RS_ZC * RS_RES + 2;
    float *tab = malloc(n_tab * sizeof *tab);
    if (!tab) { free(y); return TTS_ERR_NOMEM; }
    double i0b = bessel_i0(RS_BETA);
    for (size_t i = 0; i < n_tab; i++) {
        double u = (double)i / RS_RES, r = u / RS_ZC;
        double sinc = u == 0.0 ? 1.0 : sin(M_PI * u) / (M_PI * u);
        tab[i] = r >= 1.0 ? 0.0f : (float)(sinc * bessel_i0(RS_BETA * sqrt(1.0 - r * r)) / i0b);
    }
    double ratio = (double)sr_out / sr_in;
    double fc = (ratio < 1.0 ? ratio : 1.0) * RS_ROLLOFF; /* cutoff, fraction of input Nyquist */
    double half = RS_ZC / fc;                             /* kernel half width, input samples */
    for (size_t j = 0; j < m; j++) {
        double t0 = (double)j * sr_in / sr_out;
        long i0 = (long)ceil(t0 - half), i1 = (long)floor(t0 + half);
        if (i0 < 0) i0 = 0;
        if (i1 > (long)n_in - 1) i1 = (long)n_in - 1;
        double acc = 0.0;
        for (long i = i0; i <= i1; i++) {
            double u = fabs(t0 - (double)i) * fc * RS_RES;
            size_t k = (size_t)u;
            if (k >= n_tab - 1) continue;
            double fr = u - (double)k;
            acc += in[i] * (tab[k] + fr * (tab[k + 1] - tab[k]));
        }
        y[j] = (float)(acc * fc);
    }
    free(tab);
    *out = y;
    *n_out = m;
    return TTS_OK;
}
