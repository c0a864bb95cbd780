/*
 * safetensors.h - reading and writing the safetensors format (internal).
 *
 * The format, as written and checked here:
 *   1. 8 bytes: N, the header length, unsigned 64-bit little-endian;
 *   2. N bytes: a UTF-8 JSON object; each key but "__metadata__" names a
 *      tensor: {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]},
 *      offsets in bytes from the start of the data section, end exclusive;
 *      "__metadata__" is an object of string values (ours carries the model
 *      config as a JSON string under "config");
 *   3. the data section: raw little-endian tensor data to the end of the file.
 * We pad the header with spaces so the data section starts 64-byte aligned,
 * and map files read-only.  Only F32 tensors are read.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_SAFETENSORS_H
#define TTS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "tts.h"

typedef struct st_tensor {
    const char *name;
    int ndim;
    int64_t shape[4];
    const float *data;
} st_tensor;

/* Write tensors and metadata (keys[i] -> values[i], n_meta pairs) to path,
 * atomically (temporary file + rename). */
tts_status st_write(const char *path, const st_tensor *t, size_t n, const char *const *keys,
                    const char *const *values, size_t n_meta);

typedef struct st_file {
    void *map;             /* the whole file, mapped read-only */
    size_t size;
    const uint8_t *data;   /* start of the data section */
    size_t data_size;
    void *header;          /* parsed cJSON object */
} st_file;

/* Open and validate the framing (header length, JSON, every tensor's dtype,
 * shape and offsets within the data section).  On failure tts_last_error()
 * names the offending tensor. */
tts_status st_open(const char *path, st_file *f);
/* Find tensor name with exactly this shape; *data points into the mapping
 * (4-byte aligned in files we write; NULL + TTS_ERR_MODEL_FORMAT if not). */
tts_status st_get(const st_file *f, const char *name, int ndim, const int64_t *shape,
                  const float **data);
/* A metadata string, or NULL. Valid until st_close. */
const char *st_meta(const st_file *f, const char *key);
void st_close(st_file *f);

#endif
