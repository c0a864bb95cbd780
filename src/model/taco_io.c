/*
 * taco_io.c - acoustic model files: models/NAME.safetensors with the model
 * config as JSON in "__metadata__"."config" (hyperparameters and the mel
 * normalization statistics), so weights and their meaning travel together.
 * Loading checks every tensor the config implies, by name, dtype and shape.
 *
 * The file (safetensors framing: see safetensors.h):
 *   1. metadata "format": "tts-tacotron"; "version": "1", or "2" when the
 *      encoder has batch norm (a version-1 reader would ignore its tensors,
 *      so it must refuse the file); this program reads both;
 *   2. metadata "config": a JSON object of the taco_config fields (integers,
 *      enc_dropout and prenet_dropout numbers; "enc_batchnorm" 0 or 1, absent
 *      in version 1 and read as 0) and "mel_mean", "mel_std": n_mels numbers;
 *   3. one F32 tensor per entry of the parameter table (taco_layout), named
 *      and shaped as there and stored in table order, so the weights map as
 *      one block: "encoder.embedding", per encoder conv I
 *      "encoder.convI.weight", ".bias" and with batch norm ".bn.gamma",
 *      ".bn.beta", then the LSTM, attention, decoder and postnet tensors, and
 *      last the batch-norm buffers "encoder.convI.bn.running_mean",
 *      ".bn.running_var" (variances must not be negative);
 *   4. optionally more metadata (symbols, step, provenance...) and, in
 *      checkpoints, the optimizer moments "adam_m.<name>", "adam_v.<name>"
 *      for every trained tensor (not the buffers).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/model.h"
#include "model/safetensors.h"
#include "core/error.h"

#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TACO_FORMAT "tts-tacotron"
/* "1" without batch norm, "2" with: see the list above */
#define TACO_VERSION(cfg) ((cfg)->enc_batchnorm ? "2" : "1")

static const struct { const char *name; size_t off; } int_fields[] = {
#define F(x) {#x, offsetof(taco_config, x)}
    F(n_symbols), F(emb), F(enc_convs), F(enc_ch), F(enc_k), F(enc_lstm), F(att_dim),
    F(loc_filters), F(loc_k), F(prenet1), F(prenet2), F(att_rnn), F(dec_rnn), F(n_mels), F(r),
    F(post_convs), F(post_ch), F(post_k),
#undef F
};

static char *config_json(const taco_model *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    for (size_t i = 0; i < sizeof int_fields / sizeof *int_fields; i++)
        cJSON_AddNumberToObject(o, int_fields[i].name, *(const int *)((const char *)&m->cfg + int_fields[i].off));
    cJSON_AddNumberToObject(o, "enc_batchnorm", m->cfg.enc_batchnorm);
    cJSON_AddNumberToObject(o, "enc_dropout", m->cfg.enc_dropout);
    cJSON_AddNumberToObject(o, "prenet_dropout", m->cfg.prenet_dropout);
    cJSON_AddNumberToObject(o, "sample_rate", m->cfg.sample_rate);
    cJSON_AddNumberToObject(o, "n_fft", m->cfg.n_fft);
    cJSON_AddNumberToObject(o, "hop", m->cfg.hop);
    cJSON_AddNumberToObject(o, "win", m->cfg.win);
    cJSON_AddNumberToObject(o, "fmin", m->cfg.fmin);
    cJSON_AddNumberToObject(o, "fmax", m->cfg.fmax);
    cJSON *mean = cJSON_AddArrayToObject(o, "mel_mean"), *std = cJSON_AddArrayToObject(o, "mel_std");
    for (int i = 0; i < m->cfg.n_mels && mean && std; i++) {
        cJSON_AddItemToArray(mean, cJSON_CreateNumber(m->mel_mean[i]));
        cJSON_AddItemToArray(std, cJSON_CreateNumber(m->mel_std[i]));
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The audio facts (absent in files from before they were stored: the values
 * every voice had then), each checked against what the vocoder can run. */
static tts_status audio_parse(const cJSON *o, taco_config *cfg, char *err, size_t errlen)
{
    const taco_config d = taco_config_default(0);
    static const struct { const char *name; size_t off; double lo, hi; int integer; } f[] = {
        {"sample_rate", offsetof(taco_config, sample_rate), 4000, 96000, 1},
        {"n_fft", offsetof(taco_config, n_fft), 64, 8192, 1},
        {"hop", offsetof(taco_config, hop), 16, 8192, 1},
        {"win", offsetof(taco_config, win), 16, 8192, 1},
        {"fmin", offsetof(taco_config, fmin), 0, 48000, 0},
        {"fmax", offsetof(taco_config, fmax), 100, 48000, 0},
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f[i].name);
        char *dst = (char *)cfg + f[i].off;
        const char *src = (const char *)&d + f[i].off;
        if (!v) {
            memcpy(dst, src, f[i].integer ? sizeof(int) : sizeof(float));
            continue;
        }
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= f[i].lo && v->valuedouble <= f[i].hi) ||
            (f[i].integer && v->valuedouble != (double)(int)v->valuedouble)) {
            snprintf(err, errlen, "model config: '%s' is not a number in %g-%g", f[i].name, f[i].lo, f[i].hi);
            return TTS_ERR_MODEL_FORMAT;
        }
        if (f[i].integer) *(int *)dst = v->valueint;
        else *(float *)dst = (float)v->valuedouble;
    }
    if ((cfg->n_fft & (cfg->n_fft - 1)) || cfg->win > cfg->n_fft || cfg->hop > cfg->win ||
        !(cfg->fmin < cfg->fmax) || cfg->fmax > cfg->sample_rate / 2.0f) {
        snprintf(err, errlen, "model config: inconsistent audio parameters (sample_rate %d, n_fft %d, "
                 "hop %d, win %d, fmin %g, fmax %g)", cfg->sample_rate, cfg->n_fft, cfg->hop, cfg->win,
                 cfg->fmin, cfg->fmax);
        return TTS_ERR_MODEL_FORMAT;
    }
    return TTS_OK;
}

static tts_status config_parse(const char *json, taco_config *cfg, float *mean, float *std,
                               char *err, size_t errlen)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        snprintf(err, errlen, "the model config in __metadata__ is missing or not JSON");
        return TTS_ERR_MODEL_FORMAT;
    }
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof int_fields / sizeof *int_fields; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, int_fields[i].name);
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= -2147483648.0 && v->valuedouble <= 2147483647.0) ||
            v->valuedouble != (double)(int)v->valuedouble) {
            snprintf(err, errlen, "model config: '%s' is missing or not an integer", int_fields[i].name);
            cJSON_Delete(o);
            return TTS_ERR_MODEL_FORMAT;
        }
        *(int *)((char *)cfg + int_fields[i].off) = v->valueint;
    }
    /* absent in files from before batch norm: those models have none */
    cJSON *bn = cJSON_GetObjectItemCaseSensitive(o, "enc_batchnorm");
    if (bn && !(cJSON_IsNumber(bn) && (bn->valuedouble == 0 || bn->valuedouble == 1))) {
        snprintf(err, errlen, "model config: 'enc_batchnorm' must be 0 or 1");
        cJSON_Delete(o);
        return TTS_ERR_MODEL_FORMAT;
    }
    cfg->enc_batchnorm = bn ? bn->valueint : 0;
    cJSON *d1 = cJSON_GetObjectItemCaseSensitive(o, "enc_dropout");
    cJSON *d2 = cJSON_GetObjectItemCaseSensitive(o, "prenet_dropout");
    cfg->enc_dropout = cJSON_IsNumber(d1) ? (float)d1->valuedouble : 0.5f;
    cfg->prenet_dropout = cJSON_IsNumber(d2) ? (float)d2->valuedouble : 0.5f;
    if (audio_parse(o, cfg, err, errlen) != TTS_OK) {
        cJSON_Delete(o);
        return TTS_ERR_MODEL_FORMAT;
    }
    cJSON *mn = cJSON_GetObjectItemCaseSensitive(o, "mel_mean");
    cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "mel_std");
    if (cfg->n_mels < 1 || cfg->n_mels > TACO_MAX_MELS || !cJSON_IsArray(mn) || !cJSON_IsArray(sd) ||
        cJSON_GetArraySize(mn) != cfg->n_mels || cJSON_GetArraySize(sd) != cfg->n_mels) {
        snprintf(err, errlen, "model config: mel_mean/mel_std must have n_mels entries");
        cJSON_Delete(o);
        return TTS_ERR_MODEL_FORMAT;
    }
    for (int i = 0; i < cfg->n_mels; i++) {
        cJSON *a = cJSON_GetArrayItem(mn, i), *b = cJSON_GetArrayItem(sd, i);
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !(b->valuedouble > 0) ||
            !(fabs(a->valuedouble) < 1e30) || !(b->valuedouble < 1e30)) {
            snprintf(err, errlen, "model config: mel_mean/mel_std entry %d is invalid", i);
            cJSON_Delete(o);
            return TTS_ERR_MODEL_FORMAT;
        }
        mean[i] = (float)a->valuedouble;
        std[i] = (float)b->valuedouble;
    }
    cJSON_Delete(o);
    return TTS_OK;
}

tts_status taco_model_new(const taco_config *cfg, taco_model **out)
{
    *out = NULL;
    taco_model *m = calloc(1, sizeof *m);
    if (!m) return TTS_ERR_NOMEM;
    if (taco_layout(m, cfg)) { free(m); return TTS_ERR_INVALID_ARG; }
    m->data = calloc(m->n_floats, sizeof(real));
    if (!m->data) { free(m); return TTS_ERR_NOMEM; }
    taco_point(m, m->data, &m->w);
    *out = m;
    return TTS_OK;
}

void taco_model_free(taco_model *m)
{
    if (!m) return;
    taco_unpack(m);
    free(m->folded);
    if (m->file) {
        st_file *f = m->file;
        int mapped = f->data && (const uint8_t *)m->data >= f->data &&
                     (const uint8_t *)m->data < f->data + f->data_size;
        if (!mapped) free(m->data);
        st_close(f);
        free(f);
    } else {
        free(m->data);
    }
    free(m);
}

void taco_release_weights(const taco_model *m, const real *p, size_t n_floats)
{
    const st_file *f = m ? m->file : NULL;
    if (!f || !f->map || !p || m->data == NULL) return;
    const char *lo = (const char *)p, *hi = lo + n_floats * sizeof(real);
    const char *map = f->map;
    if (lo < map || hi > map + f->size) return;  /* not in the mapping: copied weights */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)lo + page - 1) / page * page, b = (uintptr_t)hi / page * page;
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Every weight finite.  Mapped weights are read once here, a megabyte at a
 * time, and their pages released behind the scan: most are read next by the
 * packing, tensor by tensor, so the whole file is never resident at once. */
static int weights_finite(const taco_model *m)
{
    const size_t chunk = (size_t)1 << 18;
    for (size_t i0 = 0; i0 < m->n_floats; i0 += chunk) {
        size_t n = m->n_floats - i0 < chunk ? m->n_floats - i0 : chunk;
        /* x - x is 0 unless x is infinite or NaN; no early exit, so the
           compiler does many at once */
        int bad = 0;
        for (size_t i = i0; i < i0 + n; i++) bad |= !(m->data[i] - m->data[i] == 0);
        if (bad) return 0;
        taco_release_weights(m, m->data + i0, n);
    }
    return 1;
}

tts_status taco_model_load(const char *path, int copy, taco_model **out)
{
    *out = NULL;
    st_file *f = calloc(1, sizeof *f);
    taco_model *m = calloc(1, sizeof *m);
    if (!f || !m) { free(f); free(m); return tts_error_set(TTS_ERR_NOMEM, "%s: out of memory", path); }
    tts_status st = st_open(path, f);
    if (st != TTS_OK) { free(f); free(m); return st; }
    m->file = f;
    const char *fmt = st_meta(f, "format");
    if (!fmt || strcmp(fmt, TACO_FORMAT) != 0) {
        tts_error_set(TTS_ERR_MODEL_FORMAT, "%s: not a tts model (metadata format is '%s', expected '%s')", path,
                 fmt ? fmt : "(none)", TACO_FORMAT);
        taco_model_free(m);
        return TTS_ERR_MODEL_FORMAT;
    }
    const char *ver = st_meta(f, "version");
    if (!ver || (strcmp(ver, "1") != 0 && strcmp(ver, "2") != 0)) {
        tts_error_set(TTS_ERR_MODEL_FORMAT, "%s: model format version %s, this program reads versions 1 and 2; "
                 "HINT: re-export the voice with a matching tts-train", path, ver ? ver : "(none)");
        taco_model_free(m);
        return TTS_ERR_MODEL_FORMAT;
    }
    taco_config cfg;
    char sub[200];
    st = config_parse(st_meta(f, "config"), &cfg, m->mel_mean, m->mel_std, sub, sizeof sub);
    if (st == TTS_OK && strcmp(ver, TACO_VERSION(&cfg)) != 0) {
        snprintf(sub, sizeof sub, "model format version %s, but the config %s batch norm", ver,
                 cfg.enc_batchnorm ? "has" : "has no");
        st = TTS_ERR_MODEL_FORMAT;
    }
    if (st == TTS_OK && taco_layout(m, &cfg) != 0) {
        snprintf(sub, sizeof sub, "model config has out-of-range values");
        st = TTS_ERR_MODEL_FORMAT;
    }
    if (st != TTS_OK) {
        tts_error_set(st, "%s: %s", path, sub);
        taco_model_free(m);
        return st;
    }
    /* re-read the stats: taco_layout reset them */
    config_parse(st_meta(f, "config"), &cfg, m->mel_mean, m->mel_std, sub, sizeof sub);
    /* tensors must be contiguous in table order to be mapped as one block */
    const float *first = NULL;
    int contiguous = 1;
    for (int i = 0; i < m->n_params; i++) {
        const taco_param *p = &m->params[i];
        int64_t shape[3] = {p->shape[0], p->shape[1], p->shape[2]};
        const float *d;
        st = st_get(f, p->name, p->ndim, shape, &d);
        if (st != TTS_OK) {
            tts_error_set(st, "%s: %s", path, tts_last_error());
            taco_model_free(m);
            return st;
        }
        if (i == 0) first = d;
        else if (d != first + p->offset) contiguous = 0;
    }
    if (contiguous && !copy) {
        m->data = (real *)first;  /* read-only mapping: synthesis never writes weights */
    } else {
        m->data = malloc(sizeof(real) * m->n_floats);
        if (!m->data) { taco_model_free(m); return tts_error_set(TTS_ERR_NOMEM, "%s: out of memory", path); }
        for (int i = 0; i < m->n_params; i++) {
            const taco_param *p = &m->params[i];
            int64_t shape[3] = {p->shape[0], p->shape[1], p->shape[2]};
            const float *d;
            st_get(f, p->name, p->ndim, shape, &d);
            memcpy(m->data + p->offset, d, sizeof(real) * p->size);
        }
    }
    taco_point(m, m->data, &m->w);
    if (!weights_finite(m)) {
        tts_error_set(TTS_ERR_NUMERIC, "%s: the weights contain NaN or infinite values", path);
        taco_model_free(m);
        return TTS_ERR_NUMERIC;
    }
    for (int i = 0; cfg.enc_batchnorm && i < cfg.enc_convs; i++)
        for (int j = 0; j < cfg.enc_ch; j++)
            if (m->w.bn_var[i][j] < 0) {
                tts_error_set(TTS_ERR_MODEL_FORMAT, "%s: encoder.conv%d.bn.running_var[%d] is negative (%g)", path, i,
                         j, (double)m->w.bn_var[i][j]);
                taco_model_free(m);
                return TTS_ERR_MODEL_FORMAT;
            }
    /* read-only weights never change: fold batch norm into the convolutions
       now (on failure inference applies it unfolded) */
    if (!copy) taco_fold(m);
    *out = m;
    return TTS_OK;
}

tts_status taco_model_read_extra(const taco_model *m, const char *name, real *dst)
{
    if (!m->file) return tts_error_set(TTS_ERR_INVALID_ARG, "taco_model_read_extra: the model has no file");
    char full[96];
    for (int i = 0; i < m->n_params; i++) {
        const taco_param *p = &m->params[i];
        if (p->buffer) continue;
        int64_t shape[3] = {p->shape[0], p->shape[1], p->shape[2]};
        const float *d;
        snprintf(full, sizeof full, "%s.%s", name, p->name);
        tts_status st = st_get(m->file, full, p->ndim, shape, &d);
        if (st != TTS_OK) return st;
        memcpy(dst + p->offset, d, sizeof(real) * p->size);
    }
    return TTS_OK;
}

const char *taco_model_meta(const taco_model *m, const char *key)
{
    return m->file ? st_meta(m->file, key) : NULL;
}

tts_status taco_model_save(const taco_model *m, const char *path, const char *const *keys,
                           const char *const *values, size_t n_meta, const real *const *extra_blocks,
                           const char *const *extra_names, size_t n_extra)
{
    size_t nt = (size_t)m->n_params * (1 + n_extra), j = 0;
    st_tensor *t = calloc(nt, sizeof *t);
    char (*names)[96] = calloc(nt, sizeof *names);
    const char **k = calloc(n_meta + 3, sizeof *k), **v = calloc(n_meta + 3, sizeof *v);
    char *cfg = config_json(m);
    tts_status st = TTS_ERR_NOMEM;
    if (!t || !names || !k || !v || !cfg) goto done;
    for (size_t blk = 0; blk <= n_extra; blk++)
        for (int i = 0; i < m->n_params; i++) {
            const taco_param *p = &m->params[i];
            if (blk && p->buffer) continue;  /* buffers have no optimizer moments */
            if (blk) snprintf(names[j], sizeof names[j], "%s.%s", extra_names[blk - 1], p->name);
            else snprintf(names[j], sizeof names[j], "%s", p->name);
            t[j].name = names[j];
            t[j].ndim = p->ndim;
            for (int d = 0; d < p->ndim; d++) t[j].shape[d] = p->shape[d];
            t[j].data = (blk ? extra_blocks[blk - 1] : m->data) + p->offset;
            j++;
        }
    k[0] = "format"; v[0] = TACO_FORMAT;
    k[1] = "version"; v[1] = TACO_VERSION(&m->cfg);
    k[2] = "config"; v[2] = cfg;
    for (size_t i = 0; i < n_meta; i++) { k[3 + i] = keys[i]; v[3 + i] = values[i]; }
    st = st_write(path, t, j, k, v, n_meta + 3);
done:
    free(t); free(names); free(k); free(v); free(cfg);
    return st;
}
