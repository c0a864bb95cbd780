/*
 * fuzz_dataset.c - libFuzzer target for the trainer's dataset reader.  A
 * scratch dataset holds three wavs made at start: wavs/a.wav (0.2 s at
 * 22050 Hz), wavs/b.wav (16 kHz: skipped) and wavs/c.wav (not audio).
 * Each input is used twice:
 *   1. as metadata.csv, read by dataset_load without a cache;
 *   2. as the body of a feature cache whose header matches the dataset
 *      (so the reader gets past the header), read by dataset_load with
 *      that cache; a cache it cannot use must be rebuilt, never trusted.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <sys/stat.h>

#include "audio/audio.h"
#include "dsp/dsp.h"
#include "fuzz.h"
#include "text/text.h"
#include "train/dataset.h"

static char dsdir[128], cachedir[128];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *d = fuzz_scratch();
    snprintf(dsdir, sizeof dsdir, "%s/ds", d);
    snprintf(cachedir, sizeof cachedir, "%s/cacheds", d);
    char p[256];
    float pcm[4410];
    for (int i = 0; i < 4410; i++) pcm[i] = 0.3f * sinf(0.05f * i) + 0.01f * (float)((i * 7919) % 13 - 6);
    for (int k = 0; k < 2; k++) {
        const char *base = k ? cachedir : dsdir;
        mkdir(base, 0700);
        snprintf(p, sizeof p, "%s/wavs", base);
        mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/wavs/a.wav", base);
        if (audio_write_file(p, pcm, 4410, 22050) != TTS_OK) abort();
        snprintf(p, sizeof p, "%s/wavs/b.wav", base);
        if (audio_write_file(p, pcm, 3200, 16000) != TTS_OK) abort();
        snprintf(p, sizeof p, "%s/wavs/c.wav", base);
        fuzz_write(p, (const uint8_t *)"not a wav file\n", 15);
    }
    /* the cache case reads a fixed metadata.csv */
    snprintf(p, sizeof p, "%s/metadata.csv", cachedir);
    const char *meta = "a|Hello there.|Hello there.\nb|Sixteen kilohertz.|Sixteen kilohertz.\n";
    fuzz_write(p, (const uint8_t *)meta, strlen(meta));
    devnull = fopen("/dev/null", "w");
    text_frontend_init("en-us");
    return 0;
}


static void check(const dataset *d, tts_status st)
{
    FUZZ_CHECK(st == TTS_OK || st == TTS_ERR_DATASET || st == TTS_ERR_NOMEM);
    FUZZ_CHECK((st == TTS_OK) == (d->n > 0));
    for (size_t i = 0; i < d->n; i++) {
        const ds_item *it = &d->items[i];
        FUZZ_CHECK(it->n_ids >= 3 && it->n_frames >= 1 && strlen(it->id) < sizeof it->id);
        for (int k = 0; k < it->n_ids; k++) FUZZ_CHECK(it->ids[k] >= 0 && (size_t)it->ids[k] < text_n_symbols());
        volatile float s = 0;
        for (size_t k = 0; k < (size_t)it->n_frames * d->n_mels; k++) s += it->mel[k];
        (void)s;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char p[256], cache[256];
    dataset d;
    /* 1. the input as metadata.csv */
    snprintf(p, sizeof p, "%s/metadata.csv", dsdir);
    fuzz_write(p, data, n);
    tts_status st = dataset_load(dsdir, NULL, n ? data[0] : 0, NULL, NULL, &d, devnull);
    check(&d, st);
    dataset_free(&d);

    /* 2. the input as a feature cache body behind a matching header */
    snprintf(p, sizeof p, "%s/metadata.csv", cachedir);
    struct stat sb;
    if (stat(p, &sb) != 0) abort();
    dsp_params prm = dsp_params_default();
    cache_hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, "TTSFEAT", 8);
    h.version = 4;
    h.sample_rate = (uint32_t)prm.sample_rate;
    h.n_fft = (uint32_t)prm.n_fft;
    h.hop = (uint32_t)prm.hop;
    h.n_mels = (uint32_t)prm.n_mels;
    h.n_symbols = (uint32_t)text_n_symbols();
    h.win = (uint32_t)prm.win;
    h.fmin = prm.fmin;
    h.fmax = prm.fmax;
    h.meta_size = 0;  /* unused since version 4: each item has its key */
    h.meta_mtime = 0;
    h.n_items = n ? data[0] % 4 : 0;
    snprintf(cache, sizeof cache, "%s/features.cache", fuzz_scratch());
    FILE *f = fopen(cache, "wb");
    if (!f || fwrite(&h, sizeof h, 1, f) != 1 || (n && fwrite(data, 1, n, f) != n) || fclose(f)) abort();
    st = dataset_load(cachedir, cache, 0, NULL, NULL, &d, devnull);
    check(&d, st);
    dataset_free(&d);
    unlink(cache);
    return 0;
}
