/*
 * audio_play.c - playback through PortAudio: device listing and selection,
 * and a player fed chunk by chunk.
 *
 * The player owns a single-producer single-consumer ring buffer of
 * PLAYER_RING_SECONDS of audio: the synthesizer writes sentences into it
 * (blocking only when it is full) while PortAudio's callback drains it, so
 * the first sentence plays while later ones are computed; when the ring runs
 * dry the callback plays silence.  This file does not decode, resample or
 * mix, and it does not keep PortAudio initialised between players.
 *
 * ALSA and JACK print diagnostics on stderr while PortAudio probes them;
 * their error handlers are silenced (looked up at run time, so no link-time
 * dependency on either library) before Pa_Initialize.
 *
 * Built without TTS_HAVE_PORTAUDIO, every function returns TTS_ERR_NO_PLAYBACK.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "audio/audio.h"
#include "audio/audio_internal.h"

#include <stdlib.h>

#ifndef TTS_HAVE_PORTAUDIO

tts_status audio_list_devices(FILE *out)
{
    (void)out;
    return tts_error_set(TTS_ERR_NO_PLAYBACK, "this tts was built without PortAudio");
}

tts_status audio_player_open(const char *device, int sample_rate, audio_player **out)
{
    (void)device;
    (void)sample_rate;
    if (out) *out = NULL;
    return tts_error_set(TTS_ERR_NO_PLAYBACK,
                      "this tts was built without PortAudio: write a file with -o instead");
}

tts_status audio_player_write(audio_player *p, const float *pcm, size_t n_samples)
{
    (void)p;
    (void)pcm;
    (void)n_samples;
    return TTS_ERR_NO_PLAYBACK;
}

tts_status audio_player_close(audio_player *p)
{
    (void)p;
    return TTS_OK;
}

void audio_player_abort(audio_player *p) { (void)p; }

#else /* TTS_HAVE_PORTAUDIO */

#include <ctype.h>
#include <dlfcn.h>
#include <portaudio.h>
#include <stdatomic.h>
#include <string.h>

#define PLAYER_RING_SECONDS 8

struct audio_player {
    PaStream *stream;
    float *ring;
    size_t cap;              /* power of two */
    atomic_size_t written;   /* samples ever written (producer) */
    atomic_size_t played;    /* samples ever consumed (callback) */
};

/* ---- quieting ALSA and JACK ---- */

static void alsa_quiet(const char *file, int line, const char *function, int err,
                       const char *fmt, ...)
{
    (void)file, (void)line, (void)function, (void)err, (void)fmt;
}

static void jack_quiet(const char *msg) { (void)msg; }

static void quiet_backends(void)
{
    typedef int (*alsa_set_fn)(void (*)(const char *, int, const char *, int, const char *, ...));
    typedef void (*jack_set_fn)(void (*)(const char *));
    void *sym = dlsym(RTLD_DEFAULT, "snd_lib_error_set_handler");
    if (sym) {
        alsa_set_fn set;
        memcpy(&set, &sym, sizeof set);
        set(alsa_quiet);
    }
    const char *jack_fns[] = {"jack_set_error_function", "jack_set_info_function"};
    for (size_t i = 0; i < 2; i++) {
        sym = dlsym(RTLD_DEFAULT, jack_fns[i]);
        if (sym) {
            jack_set_fn set;
            memcpy(&set, &sym, sizeof set);
            set(jack_quiet);
        }
    }
}

static tts_status pa_start(void)
{
    quiet_backends();
    PaError e = Pa_Initialize();
    if (e != paNoError)
        return tts_error_set(TTS_ERR_AUDIO_DEVICE, "cannot initialise audio output (PortAudio): %s",
                          Pa_GetErrorText(e));
    return TTS_OK;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

tts_status audio_list_devices(FILE *out)
{
    tts_error_clear();
    if (!out) return TTS_ERR_INVALID_ARG;
    tts_status st = pa_start();
    if (st != TTS_OK) return st;
    int n = Pa_GetDeviceCount(), shown = 0;
    PaDeviceIndex def = Pa_GetDefaultOutputDevice();
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d || d->maxOutputChannels < 1) continue;
        const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
        fprintf(out, "%d: %s (%s)%s\n", i, d->name, h ? h->name : "?",
                i == def ? ", default" : "");
        shown++;
    }
    Pa_Terminate();
    if (shown == 0) return tts_error_set(TTS_ERR_AUDIO_DEVICE, "no audio output device found");
    return TTS_OK;
}

/* The device named by spec (NULL/"" default, index, or part of a name). */
static tts_status pick_device(const char *spec, PaDeviceIndex *out)
{
    int n = Pa_GetDeviceCount();
    if (n <= 0) return tts_error_set(TTS_ERR_AUDIO_DEVICE, "no audio output device found");
    if (!spec || !*spec) {
        PaDeviceIndex d = Pa_GetDefaultOutputDevice();
        if (d == paNoDevice)
            return tts_error_set(TTS_ERR_AUDIO_DEVICE,
                              "no default audio output device (see --list-devices)");
        *out = d;
        return TTS_OK;
    }
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*end == '\0') {
        const PaDeviceInfo *d = idx >= 0 && idx < n ? Pa_GetDeviceInfo((PaDeviceIndex)idx) : NULL;
        if (!d || d->maxOutputChannels < 1)
            return tts_error_set(TTS_ERR_AUDIO_DEVICE,
                              "no audio output device number %s (see --list-devices)", spec);
        *out = (PaDeviceIndex)idx;
        return TTS_OK;
    }
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (d && d->maxOutputChannels > 0 && contains_nocase(d->name, spec)) {
            *out = i;
            return TTS_OK;
        }
    }
    return tts_error_set(TTS_ERR_AUDIO_DEVICE, "no audio output device matches '%s' (see --list-devices)",
                      spec);
}

static int play_callback(const void *input, void *output, unsigned long frames,
                         const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags,
                         void *user)
{
    (void)input, (void)time, (void)flags;
    audio_player *p = user;
    float *o = output;
    size_t w = atomic_load_explicit(&p->written, memory_order_acquire);
    size_t r = atomic_load_explicit(&p->played, memory_order_relaxed);
    size_t n = w - r < frames ? w - r : frames;
    for (size_t i = 0; i < n; i++) o[i] = p->ring[(r + i) & (p->cap - 1)];
    for (size_t i = n; i < frames; i++) o[i] = 0.0f;
    atomic_store_explicit(&p->played, r + n, memory_order_release);
    return paContinue;
}

static void player_free(audio_player *p)
{
    if (!p) return;
    if (p->stream) Pa_CloseStream(p->stream);
    free(p->ring);
    free(p);
    Pa_Terminate();
}

tts_status audio_player_open(const char *device, int sample_rate, audio_player **out)
{
    tts_error_clear();
    if (!out || sample_rate <= 0) return TTS_ERR_INVALID_ARG;
    *out = NULL;
    tts_status st = pa_start();
    if (st != TTS_OK) return st;
    PaDeviceIndex dev = paNoDevice;  /* set by pick_device on success */
    st = pick_device(device, &dev);
    if (st != TTS_OK) {
        Pa_Terminate();
        return st;
    }
    audio_player *p = calloc(1, sizeof *p);
    if (!p) {
        Pa_Terminate();
        return TTS_ERR_NOMEM;
    }
    p->cap = 1;
    while (p->cap < (size_t)sample_rate * PLAYER_RING_SECONDS) p->cap <<= 1;
    p->ring = malloc(p->cap * sizeof *p->ring);
    if (!p->ring) {
        player_free(p);
        return TTS_ERR_NOMEM;
    }
    const PaDeviceInfo *info = Pa_GetDeviceInfo(dev);
    PaStreamParameters op = {
        .device = dev, .channelCount = 1, .sampleFormat = paFloat32,
        .suggestedLatency = info->defaultHighOutputLatency, .hostApiSpecificStreamInfo = NULL,
    };
    PaError e = Pa_OpenStream(&p->stream, NULL, &op, sample_rate, paFramesPerBufferUnspecified,
                              paClipOff, play_callback, p);
    if (e == paNoError) e = Pa_StartStream(p->stream);
    if (e != paNoError) {
        if (p->stream) {
            Pa_CloseStream(p->stream);
            p->stream = NULL;
        }
        st = tts_error_set(TTS_ERR_AUDIO_DEVICE, "cannot open audio device '%s' at %d Hz: %s",
                        info->name, sample_rate, Pa_GetErrorText(e));
        player_free(p);
        return st;
    }
    *out = p;
    return TTS_OK;
}

tts_status audio_player_write(audio_player *p, const float *pcm, size_t n_samples)
{
    if (!p || (!pcm && n_samples)) return TTS_ERR_INVALID_ARG;
    size_t done = 0;
    while (done < n_samples) {
        size_t w = atomic_load_explicit(&p->written, memory_order_relaxed);
        size_t r = atomic_load_explicit(&p->played, memory_order_acquire);
        size_t space = p->cap - (w - r);
        if (space == 0) {
            if (Pa_IsStreamActive(p->stream) != 1)
                return tts_error_set(TTS_ERR_AUDIO_DEVICE, "the audio device stopped playing");
            Pa_Sleep(10);
            continue;
        }
        size_t n = n_samples - done < space ? n_samples - done : space;
        for (size_t i = 0; i < n; i++) p->ring[(w + i) & (p->cap - 1)] = pcm[done + i];
        atomic_store_explicit(&p->written, w + n, memory_order_release);
        done += n;
    }
    return TTS_OK;
}

tts_status audio_player_close(audio_player *p)
{
    if (!p) return TTS_OK;
    tts_status st = TTS_OK;
    while (atomic_load(&p->played) != atomic_load(&p->written)) {
        if (Pa_IsStreamActive(p->stream) != 1) {
            st = tts_error_set(TTS_ERR_AUDIO_DEVICE, "the audio device stopped playing");
            break;
        }
        Pa_Sleep(10);
    }
    /* the last callback's buffer is still in the device: let it play out */
    const PaStreamInfo *si = Pa_GetStreamInfo(p->stream);
    if (si && st == TTS_OK) Pa_Sleep((long)(si->outputLatency * 1000.0) + 20);
    PaError e = Pa_StopStream(p->stream);
    if (e != paNoError && st == TTS_OK)
        st = tts_error_set(TTS_ERR_AUDIO_DEVICE, "error stopping playback: %s", Pa_GetErrorText(e));
    player_free(p);
    return st;
}

void audio_player_abort(audio_player *p)
{
    if (!p) return;
    Pa_AbortStream(p->stream);
    player_free(p);
}

#endif /* TTS_HAVE_PORTAUDIO */
