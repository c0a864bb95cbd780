/*
 * fuzz_model.c - libFuzzer target for the safetensors reader and the model
 * loader: the input is written to a file, opened with st_open (every
 * tensor then fetched with st_get at its own shape, every metadata value
 * read), loaded with taco_model_load both mapped and copied, and a model
 * that loads is run once on a three-symbol input, whose output must stay
 * within the frame cap.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <cJSON.h>
#include <math.h>

#include "fuzz.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "core/error.h"

static void exercise_st(const char *path)
{
    st_file f;
    tts_error_clear();
    if (st_open(path, &f) != TTS_OK) {
        FUZZ_CHECK(tts_last_error()[0] != 0); /* a failure always says why */
        return;
    }
    cJSON *it;
    cJSON_ArrayForEach(it, (cJSON *)f.header) {
        if (strcmp(it->string, "__metadata__") == 0) {
            cJSON *kv;
            cJSON_ArrayForEach(kv, it) FUZZ_CHECK(st_meta(&f, kv->string) != NULL);
            continue;
        }
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        int64_t shape[4] = {0};
        int nd = 0;
        cJSON *d;
        cJSON_ArrayForEach(d, sh) {
            if (nd < 4) shape[nd] = (int64_t)d->valuedouble;
            nd++;
        }
        if (nd > 4) continue;
        const float *data = NULL;
        if (st_get(&f, it->string, nd, shape, &data) == TTS_OK) {
            size_t count = 1;
            for (int k = 0; k < nd; k++) count *= (size_t)shape[k];
            volatile float sum = 0;
            for (size_t k = 0; k < count; k++) sum += data[k]; /* in bounds: ASan checks */
            (void)sum;
        }
    }
    st_close(&f);
}

static void exercise_model(const char *path, int copy)
{
    taco_model *m = NULL;
    tts_error_clear();
    tts_status st = taco_model_load(path, copy, &m);
    if (st != TTS_OK) {
        FUZZ_CHECK(m == NULL && tts_last_error()[0] != 0);
        return;
    }
    if (copy) {
        real *dst = malloc(sizeof(real) * m->n_floats);
        if (dst) taco_model_read_extra(m, "adam_m", dst);
        free(dst);
    }
    /* inference on a tiny input, when the model is small enough to be quick */
    if (m->n_floats < 200000 && m->cfg.n_symbols >= 4) {
        taco_infer_state *s = NULL;
        if (taco_infer_create(m, 4, &s) == 0) {
            int32_t ids[3] = {1, 3, 2};
            const real *mel;
            int nf;
            taco_stop_reason why;
            if (taco_infer(s, ids, 3, 2.0f, 1, &mel, &nf, &why) == 0) {
                FUZZ_CHECK(nf >= 1 && nf <= (int)(2.0f * 3 + 60) + m->cfg.r);
                (void)mel;
            }
        }
        taco_infer_free(s);
    }
    taco_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/m.safetensors", fuzz_scratch());
    fuzz_write(path, data, n);
    exercise_st(path);
    exercise_model(path, 0);
    exercise_model(path, 1);
    return 0;
}
