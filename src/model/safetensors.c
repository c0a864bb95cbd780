/*
 * safetensors.c - the safetensors reader and writer (format in safetensors.h).
 * Validation is strict because model files come from anywhere: every length
 * and offset is checked against the file size before it is used.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/safetensors.h"
#include "core/error.h"
#include "core/safe_file.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER (64u << 20)

/* A whole number from 0 to 2^53: exact as a double, safe to convert to an
 * integer type (converting a larger double is undefined behaviour). */
static int whole_count(double v) { return v >= 0 && v <= 9007199254740992.0 && v == (double)(int64_t)v; }

/* The message of a failure, into the error channel (core/error.h). */
static void set_err(const char *fmt, const char *a, const char *b)
{
    tts_error_set(TTS_OK, fmt, a, b);
}

tts_status st_write(const char *path, const st_tensor *t, size_t n, const char *const *keys,
                    const char *const *values, size_t n_meta)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return TTS_ERR_NOMEM;
    if (n_meta) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        for (size_t i = 0; i < n_meta && meta; i++) cJSON_AddStringToObject(meta, keys[i], values[i]);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_AddObjectToObject(root, t[i].name);
        if (!o) { cJSON_Delete(root); return TTS_ERR_NOMEM; }
        cJSON_AddStringToObject(o, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        uint64_t count = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[d]));
            count *= (uint64_t)t[i].shape[d];
        }
        cJSON *offs = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += count * 4;
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) return TTS_ERR_NOMEM;
    size_t jlen = strlen(json);
    size_t padded = (8 + jlen + 63) / 64 * 64 - 8;  /* data starts 64-byte aligned */

    safe_file sf;  /* never through a planted link; the old file's mode kept */
    FILE *fp = safe_file_open(path, &sf) == 0 ? safe_file_stream(&sf) : NULL;
    if (!fp) {
        int e = errno;
        safe_file_abort(&sf);
        free(json);
        return e == ENOSPC ? TTS_ERR_NO_SPACE : TTS_ERR_IO;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(json, 1, jlen, fp) == jlen;
    for (size_t i = jlen; i < padded && ok; i++) ok = fputc(' ', fp) != EOF;
    free(json);
    for (size_t i = 0; i < n && ok; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].ndim; d++) count *= (size_t)t[i].shape[d];
        ok = fwrite(t[i].data, sizeof(float), count, fp) == count;  /* little-endian hosts */
    }
    int err_no = ok ? 0 : errno;
    if (ok && safe_file_commit(&sf) != 0) { ok = 0; err_no = errno; }
    if (!ok) safe_file_abort(&sf);
    if (!ok) return err_no == ENOSPC ? TTS_ERR_NO_SPACE : TTS_ERR_IO;
    return TTS_OK;
}

void st_close(st_file *f)
{
    if (!f) return;
    if (f->header) cJSON_Delete(f->header);
    if (f->map) munmap(f->map, f->size);
    memset(f, 0, sizeof *f);
}

tts_status st_open(const char *path, st_file *f)
{
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block: fstat rejects it */
    if (fd < 0) { set_err("%s: %s", path, strerror(errno)); return TTS_ERR_IO; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        set_err("%s: %s", path, "not a regular file");
        return TTS_ERR_IO;
    }
    if (st.st_size < 8) {
        close(fd);
        set_err("%s: %s", path, "file too short for a safetensors header");
        return TTS_ERR_MODEL_TRUNCATED;
    }
    f->size = (size_t)st.st_size;
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        set_err("%s: %s", path, strerror(errno));
        return TTS_ERR_IO;
    }
    const uint8_t *p = f->map;
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)p[i] << (8 * i);
    if (hlen > ST_MAX_HEADER) {
        set_err("%s: %s", path, "header length is implausible (not a safetensors file?)");
        st_close(f);
        return TTS_ERR_MODEL_FORMAT;
    }
    if (hlen > f->size - 8) {
        set_err("%s: %s", path, "header runs past the end of the file");
        st_close(f);
        return TTS_ERR_MODEL_TRUNCATED;
    }
    f->header = cJSON_ParseWithLength((const char *)p + 8, (size_t)hlen);
    if (!f->header || !cJSON_IsObject(f->header)) {
        set_err("%s: %s", path, "header is not a JSON object");
        st_close(f);
        return TTS_ERR_MODEL_FORMAT;
    }
    f->data = p + 8 + hlen;
    f->data_size = f->size - 8 - (size_t)hlen;
    /* validate every tensor entry's framing */
    cJSON *it;
    cJSON_ArrayForEach(it, (cJSON *)f->header) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(it)) goto bad_meta;
            cJSON *kv;
            cJSON_ArrayForEach(kv, it) if (!cJSON_IsString(kv)) goto bad_meta;
            continue;
        }
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        cJSON *of = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
            cJSON_GetArraySize(of) != 2) {
            set_err("tensor '%s' in %s: malformed entry", it->string, path);
            st_close(f);
            return TTS_ERR_MODEL_FORMAT;
        }
        double b = cJSON_GetArrayItem(of, 0)->valuedouble, e = cJSON_GetArrayItem(of, 1)->valuedouble;
        if (!cJSON_IsNumber(cJSON_GetArrayItem(of, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(of, 1)) ||
            !whole_count(b) || !whole_count(e) || !(e >= b)) {
            set_err("tensor '%s' in %s: bad data_offsets", it->string, path);
            st_close(f);
            return TTS_ERR_MODEL_FORMAT;
        }
        if (e > (double)f->data_size) {
            set_err("tensor '%s' in %s: data runs past the end of the file", it->string, path);
            st_close(f);
            return TTS_ERR_MODEL_TRUNCATED;
        }
        double count = 1;
        cJSON *d;
        cJSON_ArrayForEach(d, sh) {
            if (!cJSON_IsNumber(d) || !whole_count(d->valuedouble)) {
                set_err("tensor '%s' in %s: bad shape", it->string, path);
                st_close(f);
                return TTS_ERR_MODEL_FORMAT;
            }
            count *= d->valuedouble;
        }
        double width = strcmp(dt->valuestring, "F32") == 0 || strcmp(dt->valuestring, "I32") == 0 ||
                               strcmp(dt->valuestring, "U32") == 0 ? 4
                       : strcmp(dt->valuestring, "F16") == 0 || strcmp(dt->valuestring, "BF16") == 0 ? 2
                       : strcmp(dt->valuestring, "F64") == 0 || strcmp(dt->valuestring, "I64") == 0 ? 8 : 1;
        if (count * width != e - b) {
            set_err("tensor '%s' in %s: shape and data_offsets disagree", it->string, path);
            st_close(f);
            return TTS_ERR_MODEL_FORMAT;
        }
    }
    return TTS_OK;
bad_meta:
    set_err("%s: %s", path, "__metadata__ must map strings to strings");
    st_close(f);
    return TTS_ERR_MODEL_FORMAT;
}

const char *st_meta(const st_file *f, const char *key)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(f->header, "__metadata__");
    cJSON *v = meta ? cJSON_GetObjectItemCaseSensitive(meta, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %" PRId64 : "%" PRId64, shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

tts_status st_get(const st_file *f, const char *name, int ndim, const int64_t *shape,
                  const float **data)
{
    *data = NULL;
    cJSON *t = cJSON_GetObjectItemCaseSensitive(f->header, name);
    if (!t) {
        set_err("tensor '%s' is missing from the model file%s", name, "");
        return TTS_ERR_MODEL_MISMATCH;
    }
    cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    if (strcmp(dt->valuestring, "F32") != 0) {
        set_err("tensor '%s' has dtype %s, expected F32", name, dt->valuestring);
        return TTS_ERR_MODEL_MISMATCH;
    }
    cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
    int fnd = cJSON_GetArraySize(sh);
    int64_t fs[8] = {0};
    int same = fnd == ndim;
    for (int i = 0; i < fnd && i < 8; i++) {
        fs[i] = (int64_t)cJSON_GetArrayItem(sh, i)->valuedouble;
        if (i < ndim && fs[i] != shape[i]) same = 0;
    }
    if (!same) {
        char want[96], got[96], msg[256];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, fnd < 8 ? fnd : 8, fs);
        snprintf(msg, sizeof msg, "shape %s in the file, the model config expects %s", got, want);
        set_err("tensor '%s': %s", name, msg);
        return TTS_ERR_MODEL_MISMATCH;
    }
    cJSON *of = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    size_t b = (size_t)cJSON_GetArrayItem(of, 0)->valuedouble;
    const uint8_t *p = f->data + b;
    if (((uintptr_t)p & 3) != 0) {
        set_err("tensor '%s' is not 4-byte aligned in the file%s", name, "");
        return TTS_ERR_MODEL_FORMAT;
    }
    *data = (const float *)p;
    return TTS_OK;
}
