/*
 * dataset.h - LJ Speech-format datasets for the trainer (internal):
 * DIR/metadata.csv with lines "id|text|normalized text" (the last column is
 * read) and DIR/wavs/ID.wav at the features' sample rate.  Each utterance
 * becomes symbol ids (text front end) and a log-mel matrix (dsp), cached in
 * one binary file so the next run starts at once.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_DATASET_H
#define TTS_DATASET_H

#include <stdint.h>
#include <stdio.h>

#include "tts.h"

typedef struct ds_item {
    char id[64];
    uint64_t key;  /* the identity of its text and wav (dataset.c): a cached item is reused only when it matches */
    int n_ids;
    int n_frames;
    int32_t *ids;  /* (n_ids) BOS ... EOS */
    float *mel;    /* (n_frames, n_mels) log-mel, not normalized */
} ds_item;

typedef struct dataset {
    ds_item *items;
    size_t n;
    int n_mels;
    size_t n_skipped;   /* lines reported and skipped */
    size_t n_computed;  /* features computed from the wavs (the others came from the cache) */
} dataset;

/* Read dir (or its feature cache at cache_path when it is up to date;
 * cache_path may be NULL).  Bad lines (missing or unreadable wav, empty
 * text, wrong sample rate, too long) are reported on log by file name and
 * skipped.  Utterances over max_frames frames are skipped (0 = no limit).
 * The features are those of `features` (NULL: the dsp defaults); a wav at
 * another sample rate is resampled to theirs; a cache made with other
 * feature parameters is rebuilt.  The text is read by the voice's front end
 * fe (NULL: espeak-ng's current voice).
 * TTS_ERR_DATASET when metadata.csv cannot be read or nothing is usable. */
/* The feature cache's header (its layout is in dataset.c); tests and
 * fuzzers that write caches use it too. */
typedef struct cache_hdr {
    char magic[8];
    uint32_t version, sample_rate, n_fft, hop, n_mels, n_symbols, win;
    float fmin, fmax;
    uint64_t meta_size;   /* 0: unused since version 4 (each item has its key) */
    int64_t meta_mtime;   /* 0 */
    uint64_t n_items;
} cache_hdr;

struct dsp_params;
struct text_frontend;
tts_status dataset_load(const char *dir, const char *cache_path, int max_frames,
                        const struct dsp_params *features, const struct text_frontend *fe,
                        dataset *out, FILE *log);
void dataset_free(dataset *d);

/* FNV-1a of an utterance id: the seed of its dropout draws when it is
 * rendered or spoken, the same in any set and any run. */
uint64_t ds_id_hash(const char *id);

#endif
