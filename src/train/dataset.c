/*
 * dataset.c - reading an LJ Speech-format dataset into symbol ids and
 * log-mel features, with a feature cache.
 *
 * Cache file layout (all little-endian):
 *   1. magic "TTSFEAT\0" (8 bytes), u32 version (4);
 *   2. u32 sample_rate, n_fft, hop, n_mels, n_symbols, win; f32 fmin, fmax;
 *      u64 0, i64 0 (version 3 had metadata.csv's size and mtime here);
 *   3. u64 item count; per item: char id[64], u64 key, i32 n_ids,
 *      i32 n_frames, i32 ids[n_ids], f32 mel[n_frames * n_mels].
 * An item's key hashes its text and its wav's identity (size, modification
 * and change times in nanoseconds, inode, device): a cached item is used
 * only for a line with the same id and key, so a replaced or touched wav, an
 * edited line or a copy of the folder (other inodes) gets its features
 * computed again, and only what changed is recomputed.  A cache of other
 * features, symbol table or version is rebuilt, never trusted.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "train/dataset.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio.h"
#include "core/safe_file.h"
#include "dsp/dsp.h"
#include "text/text.h"

#define CACHE_MAGIC "TTSFEAT"
#define CACHE_VERSION 4u

void dataset_free(dataset *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) { free(d->items[i].ids); free(d->items[i].mel); }
    free(d->items);
    memset(d, 0, sizeof *d);
}

static void fill_hdr(cache_hdr *h, const dsp_params *p, uint64_t n)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, CACHE_MAGIC, 8);
    h->version = CACHE_VERSION;
    h->sample_rate = (uint32_t)p->sample_rate;
    h->n_fft = (uint32_t)p->n_fft;
    h->hop = (uint32_t)p->hop;
    h->n_mels = (uint32_t)p->n_mels;
    h->n_symbols = (uint32_t)text_n_symbols();
    h->win = (uint32_t)p->win;
    h->fmin = p->fmin;
    h->fmax = p->fmax;
    h->n_items = n;
}

static int read_cache(const char *path, const cache_hdr *want, dataset *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    cache_hdr h;
    struct stat fs;
    if (fstat(fileno(f), &fs) != 0 || fread(&h, sizeof h, 1, f) != 1 ||
        memcmp(&h, want, offsetof(cache_hdr, n_items)) != 0 || h.n_items > 10000000) {
        fclose(f);
        return -1;
    }
    uint64_t left = (uint64_t)fs.st_size - sizeof h; /* bytes not yet read: bounds every count */
    d->items = calloc(h.n_items ? h.n_items : 1, sizeof *d->items);
    if (!d->items) { fclose(f); return -1; }
    for (uint64_t i = 0; i < h.n_items; i++) {
        ds_item it = {0};
        int32_t nn[2];
        if (fread(it.id, sizeof it.id, 1, f) != 1 || fread(&it.key, sizeof it.key, 1, f) != 1 ||
            fread(nn, sizeof nn, 1, f) != 1 || nn[0] < 3 ||
            nn[1] < 1 || nn[0] > 100000 || nn[1] > 1000000) goto bad;
        uint64_t item_bytes = sizeof it.id + sizeof it.key + sizeof nn +
                              4 * ((uint64_t)nn[0] + (uint64_t)nn[1] * h.n_mels);
        if (item_bytes > left) goto bad;  /* a truncated or corrupt cache: no huge allocation */
        left -= item_bytes;
        it.id[sizeof it.id - 1] = 0;
        it.n_ids = nn[0];
        it.n_frames = nn[1];
        it.ids = malloc(sizeof(int32_t) * it.n_ids);
        it.mel = malloc(sizeof(float) * (size_t)it.n_frames * h.n_mels);
        if (!it.ids || !it.mel || fread(it.ids, sizeof(int32_t), it.n_ids, f) != (size_t)it.n_ids ||
            fread(it.mel, sizeof(float) * h.n_mels, it.n_frames, f) != (size_t)it.n_frames) {
            free(it.ids); free(it.mel);
            goto bad;
        }
        int ok = it.ids[0] == TEXT_SYM_BOS && it.ids[it.n_ids - 1] == TEXT_SYM_EOS;
        for (int k = 0; ok && k < it.n_ids; k++) ok = it.ids[k] >= 0 && (uint32_t)it.ids[k] < h.n_symbols;
        for (size_t k = 0; ok && k < (size_t)it.n_frames * h.n_mels; k++) ok = isfinite(it.mel[k]);
        if (!ok) { free(it.ids); free(it.mel); goto bad; }  /* never index the embedding out of range */
        d->items[d->n++] = it;
    }
    fclose(f);
    return 0;
bad:
    fclose(f);
    dataset_free(d);
    return -1;
}

static void write_cache(const char *path, const cache_hdr *h, const dataset *d)
{
    safe_file sf;  /* never through a planted link (safe_file.h) */
    FILE *f = safe_file_open(path, &sf) == 0 ? safe_file_stream(&sf) : NULL;
    int ok = f != NULL;
    if (ok) ok = fwrite(h, sizeof *h, 1, f) == 1;
    for (size_t i = 0; ok && i < d->n; i++) {
        const ds_item *it = &d->items[i];
        int32_t nn[2] = {it->n_ids, it->n_frames};
        ok = fwrite(it->id, sizeof it->id, 1, f) == 1 && fwrite(&it->key, sizeof it->key, 1, f) == 1 &&
             fwrite(nn, sizeof nn, 1, f) == 1 &&
             fwrite(it->ids, sizeof(int32_t), it->n_ids, f) == (size_t)it->n_ids &&
             fwrite(it->mel, sizeof(float) * h->n_mels, it->n_frames, f) == (size_t)it->n_frames;
    }
    if (ok) ok = safe_file_commit(&sf) == 0;
    if (!ok) safe_file_abort(&sf);
}

/* Drop utterances longer than max_frames (the cache keeps them all). */
/* Drop utterances longer than max_frames (0: no limit), and those whose text
 * is implausibly long for their audio: more symbols than frames (one per
 * 11.6 ms at 22050 Hz, hop 256, three times the fastest speech) cannot be
 * aligned, and one long line beside a short wav would size every batch's
 * attention matrices by its text.  The cache keeps them all. */
static void apply_limits(dataset *d, int max_frames, FILE *log)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        const ds_item *it = &d->items[i];
        int too_long = max_frames > 0 && it->n_frames > max_frames;
        int too_much_text = it->n_ids > it->n_frames;
        if (too_much_text && log)
            fprintf(log, "dataset: %s: %d text symbols for %d frames of audio: the text cannot be that "
                    "long, skipped\n", it->id, it->n_ids, it->n_frames);
        if (too_long || too_much_text) {
            free(d->items[i].ids);
            free(d->items[i].mel);
            d->n_skipped++;
            continue;
        }
        d->items[k++] = d->items[i];
    }
    d->n = k;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const ds_item *)a)->id, ((const ds_item *)b)->id);
}

/* The identity of an utterance: its text and its wav's size, modification
 * and change times (nanoseconds), inode and device; never 0. */
static uint64_t item_key(const char *text, const struct stat *ws)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *c = text; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    const int64_t v[] = {(int64_t)ws->st_size, (int64_t)ws->st_mtim.tv_sec, (int64_t)ws->st_mtim.tv_nsec,
                         (int64_t)ws->st_ctim.tv_sec, (int64_t)ws->st_ctim.tv_nsec, (int64_t)ws->st_ino,
                         (int64_t)ws->st_dev};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        for (int b = 0; b < 8; b++) h = (h ^ (uint8_t)((uint64_t)v[i] >> (8 * b))) * 1099511628211ull;
    return h ? h : 1;
}

/* Move the cached item of it->id into it when its key matches; 1 if so. */
static int take_cached(dataset *cached, ds_item *it)
{
    if (!cached->n) return 0;
    ds_item *c = bsearch(it, cached->items, cached->n, sizeof *cached->items, by_id);
    if (!c || c->key != it->key || !c->ids) return 0;
    *it = *c;
    c->ids = NULL;  /* taken: dataset_free skips it */
    c->mel = NULL;
    return 1;
}

/* Append it to d (growing *cap); 0 (it freed) when out of memory. */
static int push_item(dataset *d, size_t *cap, ds_item *it)
{
    if (d->n == *cap) {
        ds_item *ni = realloc(d->items, *cap * 2 * sizeof *ni);
        if (!ni) { free(it->ids); free(it->mel); return 0; }
        d->items = ni;
        *cap *= 2;
    }
    d->items[d->n++] = *it;
    return 1;
}

tts_status dataset_load(const char *dir, const char *cache_path, int max_frames,
                        const dsp_params *features, const text_frontend *fe, dataset *out, FILE *log)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    snprintf(path, sizeof path, "%s/metadata.csv", dir);
    struct stat st;
    FILE *meta = fopen(path, "r");
    if (!meta || fstat(fileno(meta), &st) != 0) {
        if (log) fprintf(log, "dataset: cannot read %s: %s\n", path, strerror(errno));
        if (meta) fclose(meta);
        return TTS_ERR_DATASET;
    }
    dsp_params p = features ? *features : dsp_params_default();
    out->n_mels = p.n_mels;
    cache_hdr want;
    fill_hdr(&want, &p, 0);
    dataset cached = {0};  /* the cache's items, by id; each taken at most once */
    if (cache_path && read_cache(cache_path, &want, &cached) == 0)
        qsort(cached.items, cached.n, sizeof *cached.items, by_id);
    else
        dataset_free(&cached);
    size_t n_reused = 0;
    dsp_features *feat = NULL;
    tts_status s = dsp_features_create(&p, &feat);
    if (s != TTS_OK) { fclose(meta); return s; }
    size_t cap = 1024;
    out->items = malloc(cap * sizeof *out->items);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    long lineno = 0;
    while (out->items && (len = getline(&line, &lcap, meta)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        char *bar = strchr(line, '|');
        if (!bar) {
            if (log) fprintf(log, "dataset: %s line %ld: no '|' separator, skipped\n", path, lineno);
            out->n_skipped++;
            continue;
        }
        *bar = 0;
        const char *id = line, *text = strrchr(bar + 1, '|');
        text = text ? text + 1 : bar + 1;
        if (strlen(id) == 0 || strlen(id) >= sizeof out->items[0].id || strchr(id, '/')) {
            if (log) fprintf(log, "dataset: %s line %ld: bad id, skipped\n", path, lineno);
            out->n_skipped++;
            continue;
        }
        char wav[4096];
        snprintf(wav, sizeof wav, "%s/wavs/%s.wav", dir, id);
        ds_item it = {0};
        snprintf(it.id, sizeof it.id, "%s", id);
        struct stat ws;
        it.key = stat(wav, &ws) == 0 ? item_key(text, &ws) : 0;
        if (it.key && take_cached(&cached, &it)) {  /* the same text and the same wav: its features */
            if (!push_item(out, &cap, &it)) break;
            n_reused++;
            continue;
        }
        size_t nid = 0;
        s = fe ? text_frontend_ids(fe, text, &it.ids, &nid, NULL, NULL) : text_utterance_ids(text, &it.ids, &nid);
        if (s != TTS_OK || nid < 3) {
            if (log) fprintf(log, "dataset: %s: text gives no symbols (%s), skipped\n", wav,
                             s != TTS_OK ? tts_status_message(s) : "empty");
            free(it.ids);
            out->n_skipped++;
            continue;
        }
        it.n_ids = (int)nid;
        float *pcm = NULL;
        size_t ns = 0;
        int sr = 0;
        s = audio_read_file(wav, &pcm, &ns, &sr);
        int reported = 0;
        if (s == TTS_OK && sr != p.sample_rate) {  /* the features' rate, whatever the recording's */
            float *r = NULL;
            size_t nr = 0;
            s = dsp_resample(pcm, ns, sr, p.sample_rate, &r, &nr);
            free(pcm);
            pcm = r;
            ns = nr;
            if (s != TTS_OK && log) fprintf(log, "dataset: %s: cannot resample %d Hz to %d Hz (%s), skipped\n",
                                            wav, sr, p.sample_rate, tts_status_message(s));
            reported = s != TTS_OK;
        }
        if (s != TTS_OK || ns < (size_t)p.hop * 4) {
            if (log && !reported) {
                if (s != TTS_OK) fprintf(log, "dataset: %s: cannot read (%s), skipped\n", wav,
                                         s == TTS_ERR_IO && access(wav, F_OK) != 0 ? "no such file" : tts_status_message(s));
                else fprintf(log, "dataset: %s: too short, skipped\n", wav);
            }
            free(pcm); free(it.ids);
            out->n_skipped++;
            continue;
        }
        size_t bad = 0;
        for (size_t k = 0; k < ns; k++) bad += !isfinite(pcm[k]);
        if (bad) {
            if (log) fprintf(log, "dataset: %s: %zu samples are NaN or infinite, skipped\n", wav, bad);
            free(pcm); free(it.ids);
            out->n_skipped++;
            continue;
        }
        it.n_frames = (int)dsp_n_frames(feat, ns);
        it.mel = malloc(sizeof(float) * (size_t)it.n_frames * p.n_mels);
        if (!it.mel || dsp_logmel(feat, pcm, ns, it.mel) != TTS_OK) {
            free(pcm); free(it.ids); free(it.mel);
            out->n_skipped++;
            continue;
        }
        free(pcm);
        if (!push_item(out, &cap, &it)) break;
    }
    free(line);
    fclose(meta);
    dsp_features_free(feat);
    size_t n_cached = cached.n;
    dataset_free(&cached);  /* what was not taken: other ids, or changed since */
    if (!out->items) return TTS_ERR_NOMEM;
    if (cache_path && (n_reused != out->n || n_reused != n_cached)) {
        cache_hdr h;
        fill_hdr(&h, &p, out->n);
        write_cache(cache_path, &h, out);
    }
    out->n_computed = out->n - n_reused;  /* before the limits drop any of either */
    apply_limits(out, max_frames, log);
    if (log) {
        if (cache_path && n_reused)
            fprintf(log, "dataset: %zu utterances from %s (%zu skipped; %zu from the cache %s, %zu computed)\n",
                    out->n, dir, out->n_skipped, n_reused, cache_path, out->n_computed);
        else
            fprintf(log, "dataset: %zu utterances from %s (%zu skipped)\n", out->n, dir, out->n_skipped);
    }
    return out->n ? TTS_OK : TTS_ERR_DATASET;
}

uint64_t ds_id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++) h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return h;
}
