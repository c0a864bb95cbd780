/*
 * trainer.c - the training loop: batches bucketed by length, teacher
 * forcing with the guided-attention loss, Adam, evaluation on held-out
 * utterances, plots, NaN recovery, atomic checkpoints and exact resume,
 * export of the voice.  See trainer.h for the state directory.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "train/trainer.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "text/text.h"
#include "audio/audio.h"
#include "dsp/dsp.h"
#include "train/dataset.h"
#include "train/plot.h"
#include "train/spoken.h"
#include "train/run_files.h"
#include "core/safe_file.h"

trainer_opts trainer_opts_default(void)
{
    trainer_opts o = {
        /* the recipe of the bundled voice (README "Training a voice"): 128 bands,
           free running from step 1,500, the rate halving every 1,500 steps
           after step 10,000, 15,000 steps */
        .name = NULL, .models_dir = NULL, .voices_dir = NULL, .espeak_voice = NULL,
        .batch = 16, .steps = 15000, .r = 3, .n_mels = 128, .sample_rate = 22050, .fmax = 0, .max_frames = 900,
        .free_run = 0.5f, .free_run_from = 1500, .log_every = 50,
        .eval_every = 500, .ckpt_every = 250, .plot_every = 500, .dev_items = 64, .dev_speak = 32,
        .seed = 1,
        .adam = {.lr = 1e-3f, .lr_min = 1e-5f, .warmup = 200, .decay_start = 10000,
                 .decay_steps = 1500, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-6f, .clip = 1.0f,
                 .weight_decay = 1e-6f},
        .loss = taco_train_opts_default(),
    };
    return o;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    nn_rng r = {a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull)};
    return nn_rng_next(&r);
}

/* ------------------------------------------------------------- batches */

typedef struct batcher {
    const dataset *d;
    size_t *sorted;     /* item indices by length */
    size_t n_batches;
    size_t *order;      /* batch order of the current epoch */
    long epoch;
    int B, r, n_mels;
    const float *mean, *std;
    /* the padded batch */
    int32_t *ids;
    int *nlen, *tlen;
    uint64_t *seeds;    /* per-item dropout seeds of the current share */
    float *mel;
    size_t cap_ids, cap_mel;
} batcher;

static const dataset *cmp_ds;
static int by_frames(const void *a, const void *b)
{
    int fa = cmp_ds->items[*(const size_t *)a].n_frames, fb = cmp_ds->items[*(const size_t *)b].n_frames;
    return (fa > fb) - (fa < fb);
}

static int batcher_init(batcher *bt, const dataset *d, int B, int r, const float *mean, const float *std)
{
    memset(bt, 0, sizeof *bt);
    bt->d = d; bt->B = B; bt->r = r; bt->n_mels = d->n_mels; bt->mean = mean; bt->std = std;
    bt->sorted = malloc(sizeof(size_t) * d->n);
    bt->n_batches = (d->n + B - 1) / B;
    bt->order = malloc(sizeof(size_t) * bt->n_batches);
    bt->nlen = malloc(sizeof(int) * B);
    bt->tlen = malloc(sizeof(int) * B);
    bt->seeds = malloc(sizeof(uint64_t) * B);
    if (!bt->sorted || !bt->order || !bt->nlen || !bt->tlen || !bt->seeds) return -1;
    for (size_t i = 0; i < d->n; i++) bt->sorted[i] = i;
    cmp_ds = d;
    qsort(bt->sorted, d->n, sizeof(size_t), by_frames);
    bt->epoch = -1;
    return 0;
}

/* n utterances spread evenly over the lengths (shortest to longest) */
static void batcher_spread(const batcher *bt, size_t n_all, size_t n, size_t *out)
{
    for (size_t i = 0; i < n; i++) out[i] = bt->sorted[i * n_all / n];
}

static void batcher_free(batcher *bt)
{
    free(bt->sorted); free(bt->order); free(bt->ids); free(bt->nlen); free(bt->tlen); free(bt->mel);
    free(bt->seeds);
}

/* The utterances idx[0..count) as a padded taco_batch: ids padded with 0
 * to the longest (at least padN), frames normalized and padded by repeating
 * each item's last frame (its trailing silence) to the longest rounded up to
 * r (at least padT); the losses skip padded rows.  seeds (or NULL) are the
 * items' dropout seeds.  The buffers are the batcher's. */
static int batcher_fill_pad(batcher *bt, const size_t *idx, int count, int padN, int padT,
                            const uint64_t *seeds, taco_batch *out)
{
    const dataset *d = bt->d;
    int N = padN > 1 ? padN : 1, T = padT > 1 ? padT : 1, M = bt->n_mels, r = bt->r;
    for (int i = 0; i < count; i++) {
        const ds_item *it = &d->items[idx[i]];
        if (it->n_ids > N) N = it->n_ids;
        if (it->n_frames > T) T = it->n_frames;
    }
    T = (T + r - 1) / r * r;
    size_t nids = (size_t)count * N, nmel = (size_t)count * T * M;
    if (nids > bt->cap_ids) {
        free(bt->ids);
        bt->ids = malloc(sizeof(int32_t) * nids);
        bt->cap_ids = bt->ids ? nids : 0;
    }
    if (nmel > bt->cap_mel) {
        free(bt->mel);
        bt->mel = malloc(sizeof(float) * nmel);
        bt->cap_mel = bt->mel ? nmel : 0;
    }
    if (!bt->ids || !bt->mel) return -1;
    memset(bt->ids, 0, sizeof(int32_t) * nids);
    for (int i = 0; i < count; i++) {
        const ds_item *it = &d->items[idx[i]];
        memcpy(bt->ids + (size_t)i * N, it->ids, sizeof(int32_t) * it->n_ids);
        bt->nlen[i] = it->n_ids;
        bt->tlen[i] = it->n_frames;
        float *dst = bt->mel + (size_t)i * T * M;
        for (int t = 0; t < T; t++)
            for (int c = 0; c < M; c++) {
                /* padding frames repeat the item's last frame */
                float v = t < it->n_frames ? it->mel[(size_t)t * M + c] : it->mel[(size_t)(it->n_frames - 1) * M + c];
                dst[(size_t)t * M + c] = (v - bt->mean[c]) / bt->std[c];
            }
    }
    *out = (taco_batch){.B = count, .N = N, .T = T, .ids = bt->ids, .nlen = bt->nlen,
                        .mel = bt->mel, .tlen = bt->tlen, .seeds = seeds};
    return 0;
}

static int batcher_fill(batcher *bt, const size_t *idx, int count, taco_batch *out)
{
    return batcher_fill_pad(bt, idx, count, 0, 0, NULL, out);
}

/* The batch of training step `step`: epochs visit every length bucket once,
 * in an order drawn from (seed, epoch).  Of it, this rank's share (items
 * rank*count/size to (rank+1)*count/size), padded to the whole batch's
 * lengths, with per-item dropout seeds, and the whole batch's loss counts in
 * sh: the same training for any number of ranks.  A final bucket smaller
 * than the number of ranks is left out of the epochs. */
static int batcher_step(batcher *bt, long step, uint64_t seed, int rank, int size, taco_batch *out,
                        taco_shard *sh)
{
    if (size > 1 && bt->d->n % bt->B && bt->d->n % bt->B < (size_t)size && bt->n_batches > 1)
        bt->n_batches = bt->d->n / bt->B;
    long epoch = step / (long)bt->n_batches, k = step % (long)bt->n_batches;
    if (epoch != bt->epoch) {
        for (size_t i = 0; i < bt->n_batches; i++) bt->order[i] = i;
        nn_rng rng = {mix(seed, (uint64_t)epoch)};
        for (size_t i = bt->n_batches; i > 1; i--) {
            size_t j = nn_rng_next(&rng) % i, t = bt->order[i - 1];
            bt->order[i - 1] = bt->order[j];
            bt->order[j] = t;
        }
        bt->epoch = epoch;
    }
    size_t b = bt->order[k], first = b * bt->B;
    int count = (int)(first + bt->B <= bt->d->n ? (size_t)bt->B : bt->d->n - first);
    const size_t *idx = bt->sorted + first;
    /* the whole batch's lengths and loss counts */
    int N = 1, T = 1, r = bt->r, M = bt->n_mels;
    for (int i = 0; i < count; i++) {
        const ds_item *it = &bt->d->items[idx[i]];
        if (it->n_ids > N) N = it->n_ids;
        if (it->n_frames > T) T = it->n_frames;
    }
    T = (T + r - 1) / r * r;
    memset(sh, 0, sizeof *sh);
    for (int i = 0; i < count; i++) {
        const ds_item *it = &bt->d->items[idx[i]];
        int tl = it->n_frames < T ? it->n_frames : T, ns = (tl + r - 1) / r;
        sh->mel_cells += (double)tl * M;
        sh->guided_cells += (double)(ns < T / r ? ns : T / r) * (it->n_ids < N ? it->n_ids : N);
    }
    sh->stop_cells = (double)count * T;
    int lo = (int)((long)rank * count / size), hi = (int)((long)(rank + 1) * count / size);
    if (hi - lo > bt->B) return -1;
    for (int i = lo; i < hi; i++) bt->seeds[i - lo] = mix(mix(seed ^ 0xd0d0ull, (uint64_t)step), idx[i]);
    return batcher_fill_pad(bt, idx + lo, hi - lo, N, T, bt->seeds, out);
}

/* -------------------------------------------------------------- export */

static char *symbols_json(void)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < text_n_symbols(); i++) cJSON_AddItemToArray(a, cJSON_CreateString(text_symbol(i)));
    char *s = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return s;
}

/* The front end's espeak-ng voice: the one asked for, else the model's own
 * (recorded when it was trained), else en-us.  A request that differs from
 * the model's record is reported on log. */
static const char *front_end_voice(const trainer_opts *o, const taco_model *m, FILE *log)
{
    const char *own = m ? taco_model_meta(m, "espeak_voice") : NULL;
    if (own && !*own) own = NULL;
    if (o->espeak_voice && own && strcmp(o->espeak_voice, own) != 0 && log)
        fprintf(log, "tts-train: the model was trained with the espeak-ng voice %s; using %s as asked\n",
                own, o->espeak_voice);
    return o->espeak_voice ? o->espeak_voice : own ? own : "en-us";
}

/* Dev scores, as a checkpoint records the best of its run and an export
 * the ones of its step: -1 and INT_MAX where there are none. */
typedef struct dev_marks {
    double dev_loss;       /* teacher-forced postnet loss */
    spoken_score spoken;   /* the free-running check (n 0: none) */
} dev_marks;

static const dev_marks no_marks = {.dev_loss = -1, .spoken = {.failures = INT_MAX, .distance = INFINITY}};

static tts_status save_model(const taco_model *m, const char *path, long step, double lr_scale,
                             const trainer_opts *o, const float *adam_m, const float *adam_v,
                             const dev_marks *mk, long warm_from)
{
    char step_s[32], lr_s[32], seed_s[32], dev_s[32], warm_s[32], prov[512], sd_s[32], sf_s[32], sn_s[32];
    snprintf(warm_s, sizeof warm_s, "%ld", warm_from);
    snprintf(step_s, sizeof step_s, "%ld", step);
    snprintf(lr_s, sizeof lr_s, "%.9g", lr_scale);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)o->seed);
    snprintf(dev_s, sizeof dev_s, "%.6f", mk->dev_loss);
    snprintf(sd_s, sizeof sd_s, "%.6f", mk->spoken.n ? mk->spoken.distance : -1.0);
    snprintf(sf_s, sizeof sf_s, "%d", mk->spoken.n ? mk->spoken.failures : -1);
    snprintf(sn_s, sizeof sn_s, "%d", mk->spoken.n);
    snprintf(prov, sizeof prov, "trained by tts-train from %s, %ld steps, batch %d, r %d, espeak voice %s",
             o->data_dir, step, o->batch, o->r, o->espeak_voice);
    char *syms = symbols_json();
    if (!syms) return TTS_ERR_NOMEM;
    const char *keys[] = {"step", "lr_scale", "seed", "dev_loss", "symbols", "espeak_voice",
                          "provenance", "warmup_start", "spoken_distance", "spoken_failures", "spoken_n", "run"};
    const char *vals[] = {step_s, lr_s, seed_s, dev_s, syms, o->espeak_voice, prov, warm_s,
                          sd_s, sf_s, sn_s, o->run_id ? o->run_id : ""};
    const real *extra[2] = {adam_m, adam_v};
    const char *names[2] = {"adam_m", "adam_v"};
    tts_status st = taco_model_save(m, path, keys, vals, 12, adam_m ? extra : NULL, names, adam_m ? 2 : 0);
    free(syms);
    return st;
}

static tts_status write_voice_json(const trainer_opts *o, const taco_model *m, long step, const dev_marks *mk)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", o->voices_dir, o->name);
    cJSON *v = cJSON_CreateObject();
    if (!v) return TTS_ERR_NOMEM;
    char model[512];
    snprintf(model, sizeof model, "../models/%s.safetensors", o->name);
    cJSON_AddStringToObject(v, "name", o->name);
    cJSON_AddStringToObject(v, "language", o->espeak_voice);
    cJSON_AddStringToObject(v, "espeak_voice", o->espeak_voice);
    cJSON_AddStringToObject(v, "model", model);
    cJSON_AddNumberToObject(v, "sample_rate", m->cfg.sample_rate);
    cJSON *d = cJSON_AddObjectToObject(v, "defaults");
    cJSON_AddNumberToObject(d, "speed", 1.0);
    cJSON_AddNumberToObject(d, "gl_iters", 8);
    cJSON_AddNumberToObject(d, "sharpen", 1.0);
    cJSON_AddNumberToObject(d, "sentence_silence", 0.2);
    cJSON_AddNumberToObject(d, "volume", 1.0);
    char lic[700];
    snprintf(lic, sizeof lic, "GPL-3.0-or-later (weights); training data: %s", o->license ? o->license : "unknown");
    cJSON_AddStringToObject(v, "license", lic);
    char prov[1024];
    int n = snprintf(prov, sizeof prov, "tts-train on %s (%s): %ld steps", o->data_dir,
                     o->source ? o->source : "source unknown", step);
    if (o->self_feed > 0 && n > 0 && (size_t)n < sizeof prov)
        n += snprintf(prov + n, sizeof prov - n, ", self-feed %.2f", (double)o->self_feed);
    if (o->free_run > 0 && o->free_run_from > 0 && n > 0 && (size_t)n < sizeof prov)
        n += snprintf(prov + n, sizeof prov - n, ", free-run %.2f from step %ld", (double)o->free_run,
                      o->free_run_from);
    else if (o->free_run > 0 && n > 0 && (size_t)n < sizeof prov)
        n += snprintf(prov + n, sizeof prov - n, ", free-run %.2f", (double)o->free_run);
    if (mk->dev_loss >= 0 && n > 0 && (size_t)n < sizeof prov)
        n += snprintf(prov + n, sizeof prov - n, ", dev loss %.4f", mk->dev_loss);
    if (mk->spoken.n && n > 0 && (size_t)n < sizeof prov)
        snprintf(prov + n, sizeof prov - n, ", spoken dev distance %.4f with %d of %d failed",
                 mk->spoken.distance, mk->spoken.failures, mk->spoken.n);
    cJSON_AddStringToObject(v, "provenance", prov);
    char *s = cJSON_Print(v);
    cJSON_Delete(v);
    if (!s) return TTS_ERR_NOMEM;
    size_t len = strlen(s);
    char *text = realloc(s, len + 2);  /* the JSON and a newline */
    if (!text) { free(s); return TTS_ERR_NOMEM; }
    memcpy(text + len, "\n", 2);
    int ok = safe_file_write(path, text, len + 1);
    free(text);
    return ok == 0 ? TTS_OK : errno == ENOSPC ? TTS_ERR_NO_SPACE : TTS_ERR_IO;
}

/* ------------------------------------------------------------------ run */

/* Make (one level) the folders a run writes to: the state folder when
 * with_state, and the export folders.  TTS_ERR_IO, reported on log, if one
 * cannot be made. */
static tts_status make_dirs(const trainer_opts *o, int with_state, FILE *log)
{
    char exp[4200];
    snprintf(exp, sizeof exp, "%s/export", o->state_dir);
    const char *dirs[4][2] = {{o->state_dir, "state"}, {exp, "export"}, {o->models_dir, "models"},
                              {o->voices_dir, "voices"}};
    for (int i = with_state ? 0 : 1; i < 4; i++)
        if (mkdir(dirs[i][0], 0755) != 0 && errno != EEXIST) {
            fprintf(log, "tts-train: cannot create the %s directory %s: %s\n", dirs[i][1], dirs[i][0],
                    strerror(errno));
            return TTS_ERR_IO;
        }
    return TTS_OK;
}

/* What a run settles before it starts: its name, export folders, the
 * data's licence and source, its id. */
typedef struct run_names {
    char name[128], models[4200], voices[4200], license[512], source[512], run[40];
} run_names;

/* The first line of DIR/FILE into out, or "" */
static void first_line(const char *dir, const char *file, char *out, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    out[0] = 0;
    FILE *f = fopen(p, "r");
    if (!f) return;
    if (fgets(out, (int)n, f)) out[strcspn(out, "\r\n")] = 0;
    fclose(f);
}

/* o with its defaults settled into rn: the voice is named after the
 * dataset's folder, exports go under STATE_DIR/export, licence and source
 * come from the dataset's LICENSE and SOURCE files or say "unknown". */
static tts_status settle_names(const trainer_opts *o, trainer_opts *oo, run_names *rn, FILE *log)
{
    *oo = *o;
    if (!o->name) {
        const char *d = o->data_dir;
        size_t len = strlen(d);
        while (len > 1 && d[len - 1] == '/') len--;
        size_t start = len;
        while (start > 0 && d[start - 1] != '/') start--;
        snprintf(rn->name, sizeof rn->name, "%.*s", (int)(len - start), d + start);
        oo->name = rn->name;
    }
    const char *nm = oo->name;
    int ok = *nm && nm[0] != '.' && strlen(nm) < 100;
    for (const char *c = nm; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._-", *c);
    if (!ok) {
        fprintf(log, "tts-train: '%s' cannot name a voice (letters, digits, '.', '_', '-'): give --name\n", nm);
        return TTS_ERR_INVALID_ARG;
    }
    if (!o->models_dir) { snprintf(rn->models, sizeof rn->models, "%s/export/models", o->state_dir); oo->models_dir = rn->models; }
    if (!o->voices_dir) { snprintf(rn->voices, sizeof rn->voices, "%s/export/voices", o->state_dir); oo->voices_dir = rn->voices; }
    if (!o->license) {
        first_line(o->data_dir, "LICENSE", rn->license, sizeof rn->license);
        oo->license = rn->license[0] ? rn->license : "unknown";
    }
    if (!o->source) {
        first_line(o->data_dir, "SOURCE", rn->source, sizeof rn->source);
        oo->source = rn->source[0] ? rn->source : "unknown";
    }
    return TTS_OK;
}

/* A new run's id: its exports carry it, so a later run knows they are not its own. */
static void new_run_id(run_names *rn, uint64_t seed)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(rn->run, sizeof rn->run, "%016llx",
             (unsigned long long)mix(mix((uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec), seed ^ (uint64_t)getpid()));
}

/* Never replace a voice another run made (the bundled one, say) without --force. */
static tts_status export_guard(const trainer_opts *o, FILE *log)
{
    char mp[4200];
    snprintf(mp, sizeof mp, "%s/%s.safetensors", o->models_dir, o->name);
    if (o->force || access(mp, F_OK) != 0) return TTS_OK;
    taco_model *m = NULL;
    const char *theirs = NULL;
    if (taco_model_load(mp, 0, &m) == TTS_OK) theirs = taco_model_meta(m, "run");
    int same = theirs && o->run_id && *theirs && strcmp(theirs, o->run_id) == 0;
    taco_model_free(m);
    if (same) return TTS_OK;
    fprintf(log, "tts-train: %s exists and was not made by this run; it is left alone (another --name, "
            "--models/--voices, or --force to replace it)\n", mp);
    return TTS_ERR_INVALID_ARG;
}

/* Where a checkpoint left off, from its metadata. */
typedef struct ckpt_meta {
    long step, warm_from;
    double lr_scale;
    dev_marks best;  /* the best dev scores of the run so far */
} ckpt_meta;

static ckpt_meta read_ckpt_meta(const taco_model *m)
{
    const char *s = taco_model_meta(m, "step"), *l = taco_model_meta(m, "lr_scale");
    const char *dl = taco_model_meta(m, "dev_loss"), *wf = taco_model_meta(m, "warmup_start");
    const char *sd = taco_model_meta(m, "spoken_distance"), *sf = taco_model_meta(m, "spoken_failures");
    const char *sn = taco_model_meta(m, "spoken_n");
    ckpt_meta k = {.step = s ? atol(s) : 0, .warm_from = wf ? atol(wf) : 0, .lr_scale = l ? atof(l) : 1,
                   .best = no_marks};
    k.best.dev_loss = dl && atof(dl) >= 0 ? atof(dl) : INFINITY;
    if (sn && atoi(sn) > 0 && sd && sf) {  /* checkpoints before the spoken check have none */
        k.best.spoken.n = atoi(sn);
        k.best.spoken.distance = atof(sd);
        k.best.spoken.failures = atoi(sf);
    }
    return k;
}

tts_status trainer_export(const trainer_opts *o0, FILE *log)
{
    char ck[4200], mp[4200];
    run_names rn;
    trainer_opts os;
    if (settle_names(o0, &os, &rn, log) != TTS_OK) return TTS_ERR_INVALID_ARG;
    const trainer_opts *o = &os;
    snprintf(ck, sizeof ck, "%s/ckpt.safetensors", o->state_dir);
    snprintf(mp, sizeof mp, "%s/%s.safetensors", o->models_dir, o->name);
    taco_model *m = NULL;
    tts_status st = taco_model_load(ck, 1, &m);
    if (st != TTS_OK) {
        fprintf(log, "tts-train: nothing to export: %s\n", tts_last_error());
        return st;
    }
    trainer_opts oo = *o;
    oo.espeak_voice = front_end_voice(o, m, log);
    const char *run = taco_model_meta(m, "run");
    oo.run_id = run && *run ? run : NULL;
    o = &oo;
    ckpt_meta k = read_ckpt_meta(m);
    long step = k.step;
    /* the checkpoint's recorded dev scores are the best of the run, not
       necessarily this step's: none is claimed */
    st = make_dirs(o, 0, log);
    if (st == TTS_OK) st = export_guard(o, log);
    if (st == TTS_OK) st = save_model(m, mp, step, k.lr_scale, o, NULL, NULL, &no_marks, k.warm_from);
    if (st == TTS_OK) st = write_voice_json(o, m, step, &no_marks);
    taco_model_free(m);
    if (st != TTS_OK) {
        fprintf(log, "tts-train: export to %s failed: %s\n", mp, tts_status_message(st));
        return st;
    }
    fprintf(log, "tts-train: exported step %ld of %s to %s\n", step, ck, mp);
    return TTS_OK;
}

static void drop_unknown_symbols(dataset *d, int n_symbols, FILE *log)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        int ok = 1;
        for (int j = 0; j < d->items[i].n_ids; j++) ok &= d->items[i].ids[j] < n_symbols;
        if (ok) { d->items[k++] = d->items[i]; continue; }
        fprintf(log, "tts-train: %s uses a symbol newer than the model's table, skipped\n", d->items[i].id);
        free(d->items[i].ids);
        free(d->items[i].mel);
    }
    d->n = k;
}

static void norm_stats(const dataset *d, float *mean, float *std)
{
    int M = d->n_mels;
    double *s = calloc(M, sizeof(double)), *s2 = calloc(M, sizeof(double));
    double n = 0;
    for (size_t i = 0; s && s2 && i < d->n; i++)
        for (int t = 0; t < d->items[i].n_frames; t++, n++)
            for (int c = 0; c < M; c++) {
                double v = d->items[i].mel[(size_t)t * M + c];
                s[c] += v; s2[c] += v * v;
            }
    for (int c = 0; c < M; c++) {
        mean[c] = s && n ? (float)(s[c] / n) : 0;
        double var = s && n ? s2[c] / n - (s[c] / n) * (s[c] / n) : 1;
        std[c] = (float)sqrt(var > 1e-4 ? var : 1e-4);
    }
    free(s); free(s2);
}

static void plot_batch(const trainer_opts *o, long step, const taco_train_ws *ws, const taco_batch *b, int M)
{
    char path[4200];
    int S, B, N;
    const real *al = taco_train_alignment(ws, &S, &B, &N);
    /* item 0: alignment (S steps × its N symbols), shown symbols as rows */
    int n0 = b->nlen[0], s0 = (b->tlen[0] + o->r - 1) / o->r;
    float *img = malloc(sizeof(float) * (size_t)n0 * s0);
    if (!img) return;
    for (int n = 0; n < n0; n++)
        for (int s = 0; s < s0; s++) img[(size_t)n * s0 + s] = al[((size_t)s * B) * N + n];
    snprintf(path, sizeof path, "%s/plots/align-%06ld.png", o->state_dir, step);
    const float *p1[1] = {img};
    char title[64];
    snprintf(title, sizeof title, "alignment, step %ld", step);
    plot_axes a1 = {.title = title, .x_name = "decoder step", .y_name = "input symbol",
                    .x_max = s0, .y_max = n0};
    plot_png(path, p1, 1, n0, s0, 3, &a1);
    free(img);
    /* mel: prediction above target, bands as rows */
    int T = b->tlen[0];
    float *tgt = malloc(sizeof(float) * (size_t)M * T), *prd = malloc(sizeof(float) * (size_t)M * T);
    const real *pm = taco_train_mel(ws);
    if (tgt && prd) {
        for (int c = 0; c < M; c++)
            for (int t = 0; t < T; t++) {
                tgt[(size_t)c * T + t] = b->mel[(size_t)t * M + c];
                prd[(size_t)c * T + t] = pm[(size_t)t * M + c];
            }
        snprintf(path, sizeof path, "%s/plots/mel-%06ld.png", o->state_dir, step);
        const float *p2[2] = {prd, tgt};
        char mtitle[64];
        snprintf(mtitle, sizeof mtitle, "mel spectrogram, step %ld", step);
        plot_axes a2 = {.title = mtitle, .x_name = "frame", .y_name = "mel band", .x_max = T, .y_max = M,
                        .panel = {"predicted", "target"}};
        plot_png(path, p2, 2, M, T, 2, &a2);
    }
    free(tgt); free(prd);
}

static double dev_loss(const taco_model *m, const trainer_opts *o, const dataset *dev, batcher *db,
                       taco_train_ws **ws, taco_loss *avg)
{
    size_t n = dev->n < (size_t)o->dev_items ? dev->n : (size_t)o->dev_items;
    double total = 0;
    int batches = 0;
    memset(avg, 0, sizeof *avg);
    taco_train_opts lo = o->loss;
    lo.bn_running = 1;  /* batch norm as the exported model runs it */
    size_t *pick = malloc(sizeof(size_t) * (n ? n : 1));
    if (!pick) return INFINITY;
    batcher_spread(db, dev->n, n, pick);
    for (size_t first = 0; first < n; first += o->batch) {
        int count = (int)(first + o->batch <= n ? (size_t)o->batch : n - first);
        taco_batch b;
        if (batcher_fill(db, pick + first, count, &b)) break;
        nn_rng rng = {mix(o->seed, 0xDE5ull + first)};
        taco_loss l;
        if (taco_train_step(m, NULL, &b, &lo, &rng, ws, &l)) break;
        total += l.mel_after;
        avg->mel_before += l.mel_before; avg->mel_after += l.mel_after; avg->stop += l.stop;
        avg->guided += l.guided; avg->diag += l.diag;
        batches++;
    }
    free(pick);
    if (!batches) return INFINITY;
    avg->mel_before /= batches; avg->mel_after /= batches; avg->stop /= batches;
    avg->guided /= batches; avg->diag /= batches;
    return total / batches;
}

/* Self-feeding (parallel scheduled sampling): a first forward pass without
 * gradients predicts every frame from the true previous ones; then each
 * decoder step's input frame is, with probability o->self_feed, that
 * prediction instead of the truth.  The decoder so learns from inputs like
 * the smoothed frames it feeds itself at inference, at the cost of one more
 * forward pass.  b->mel_in points into *buf.  Returns 0, -1 out of memory. */
static int self_feed(const taco_model *m, taco_batch *b, const trainer_opts *o, long step,
                     taco_train_ws **ws, float **buf, size_t *cap)
{
    int M = m->cfg.n_mels, r = m->cfg.r;
    size_t n = (size_t)b->B * b->T * M;
    if (n > *cap) {
        float *p = realloc(*buf, n * sizeof(float));
        if (!p) return -1;
        *buf = p;
        *cap = n;
    }
    b->mel_in = NULL;
    nn_rng rng = {mix(o->seed ^ 0x5e1ffeedull, (uint64_t)step)};
    taco_loss l;
    if (taco_train_step(m, NULL, b, &o->loss, &rng, ws, &l)) return -1;
    const real *pred = taco_train_mel_before(*ws);
    memcpy(*buf, b->mel, n * sizeof(float));
    for (int i = 0; i < b->B; i++)
        for (int t = r - 1; t < b->T; t += r)
            if (nn_rng_uniform(&rng) < o->self_feed) {
                size_t f = ((size_t)i * b->T + t) * M;
                memcpy(*buf + f, pred + f, sizeof(float) * M);
            }
    b->mel_in = *buf;
    return 0;
}

/* The taco_shard's reduction through the program's communicator. */
static void shard_reduce(double *buf, int n, void *user)
{
    const trainer_comm *cm = user;
    cm->allreduce_d(buf, n, cm->user);
}

/* Every rank starts from rank 0's model, moments and step. */
static tts_status share_start(const trainer_comm *cm, taco_model *m, float *am, float *av, long *step,
                              long *warm_from, double *lr_scale, FILE *log)
{
    long hdr[3] = {(long)m->n_floats, *step, *warm_from};
    cm->bcast(hdr, sizeof hdr, cm->user);
    cm->bcast(lr_scale, sizeof *lr_scale, cm->user);
    if (hdr[0] != (long)m->n_floats) {
        fprintf(log, "tts-train: rank %d: the model has %zu numbers, rank 0's %ld (a checkpoint or --init "
                "on one machine only?)\n", cm->rank, m->n_floats, hdr[0]);
        return TTS_ERR_MODEL_MISMATCH;
    }
    *step = hdr[1];
    *warm_from = hdr[2];
    cm->bcast(m->data, sizeof(float) * m->n_floats, cm->user);
    cm->bcast(am, sizeof(float) * m->n_floats, cm->user);
    cm->bcast(av, sizeof(float) * m->n_floats, cm->user);
    cm->bcast(m->mel_mean, sizeof(float) * m->cfg.n_mels, cm->user);
    cm->bcast(m->mel_std, sizeof(float) * m->cfg.n_mels, cm->user);
    return TTS_OK;
}

tts_status trainer_run(const trainer_opts *o0, FILE *log)
{
    char path[4096];
    tts_status st = TTS_OK;
    run_names rn;
    trainer_opts settled;
    if (settle_names(o0, &settled, &rn, log) != TTS_OK) return TTS_ERR_INVALID_ARG;
    const trainer_opts *o = &settled;
    const trainer_comm *cm = o->comm && o->comm->size > 1 ? o->comm : NULL;
    int rank = cm ? cm->rank : 0, size = cm ? cm->size : 1, r0 = rank == 0;
    if (cm && o->self_feed > 0) {
        fprintf(log, "tts-train: --self-feed runs on one rank only\n");
        return TTS_ERR_INVALID_ARG;
    }
    trainer_opts oo = *o;  /* o with the front end's voice settled, once the model is known */
    /* every folder written to, made (one level) now: a missing export folder
     * must stop the run at its start, not fail silently hours later */
    if (make_dirs(o, 1, log) != TTS_OK) return TTS_ERR_IO;
    snprintf(path, sizeof path, "%s/plots", o->state_dir);
    mkdir(path, 0755);
    run_clean_stale(o, log);

    /* model: checkpoint, else initial weights, else (after the data) random;
       the features take the model's band count */
    taco_model *m = NULL;
    dataset train = {0}, dev = {0};
    long step = 0, warm_from = 0;
    double lr_scale = 1;
    dev_marks best = no_marks;  /* the best dev scores so far */
    best.dev_loss = INFINITY;
    float *grad = NULL, *am = NULL, *av = NULL, *fed = NULL;
    size_t fed_cap = 0, *speak = NULL;
    snprintf(path, sizeof path, "%s/ckpt.safetensors", o->state_dir);
    int resumed = 0;
    if (access(path, R_OK) == 0) {
        st = taco_model_load(path, 1, &m);
        if (st != TTS_OK) { fprintf(log, "tts-train: %s\n", tts_last_error()); goto out; }
        ckpt_meta k = read_ckpt_meta(m);
        warm_from = k.warm_from;
        step = k.step;
        lr_scale = k.lr_scale;
        best = k.best;
        resumed = 1;
    } else if (o->init_model) {
        /* exported weights carry their step but no optimizer moments: continue the
           schedule from that step and warm up again */
        st = taco_model_load(o->init_model, 1, &m);
        if (st != TTS_OK) { fprintf(log, "tts-train: %s\n", tts_last_error()); goto out; }
        const char *s = taco_model_meta(m, "step");
        step = s ? atol(s) : 0;
        if (step < 0) step = 0;
        warm_from = step;
    }
    oo.espeak_voice = front_end_voice(o, m, log);
    /* this run's id: a resumed run keeps its own */
    const char *run = resumed ? taco_model_meta(m, "run") : NULL;
    if (run && *run) snprintf(rn.run, sizeof rn.run, "%s", run);
    else new_run_id(&rn, o->seed);
    oo.run_id = rn.run;
    o = &oo;
    if (r0 && (st = export_guard(o, log)) != TTS_OK) goto out;
    text_frontend fe;
    st = text_frontend_open(&fe, o->espeak_voice, NULL, 0);
    if (st != TTS_OK) {
        fprintf(log, "tts-train: espeak-ng cannot load '%s'%s%s\n", o->espeak_voice,
                *text_frontend_problem() ? ": " : "", text_frontend_problem());
        goto out;
    }

    snprintf(path, sizeof path, "%s/features.bin", o->state_dir);
    /* the features: a model's own, else those asked for a new one */
    taco_config newcfg = o->config ? *o->config : taco_config_default((int)text_n_symbols());
    newcfg.n_mels = o->n_mels;
    newcfg.sample_rate = o->sample_rate;
    newcfg.fmax = o->fmax > 0 ? o->fmax : o->sample_rate / 2.0f;
    dsp_params fp = taco_dsp_params(m ? &m->cfg : &newcfg);
    /* rank 0 builds the feature caches; the others read them after it */
    if (cm && !r0) cm->barrier(cm->user);
    FILE *dlog = r0 ? log : NULL;  /* rank 0 reports the data; every rank reads the same */
    st = dataset_load(o->data_dir, path, o->max_frames, &fp, &fe, &train, dlog);
    if (st != TTS_OK) { fprintf(log, "tts-train: no usable training data in %s\n", o->data_dir); goto out; }
    char devdir[4096];
    snprintf(devdir, sizeof devdir, "%s/dev", o->data_dir);
    const char *dd = o->dev_dir ? o->dev_dir : access(devdir, R_OK) == 0 ? devdir : NULL;
    if (dd) {
        snprintf(path, sizeof path, "%s/features-dev.bin", o->state_dir);
        if (dataset_load(dd, path, o->max_frames, &fp, &fe, &dev, dlog) != TTS_OK) dd = NULL;
    }
    if (cm && r0) cm->barrier(cm->user);
    if (!r0 && train.n_computed + dev.n_computed > 0)
        fprintf(log, "tts-train: rank %d computed %zu features itself: STATE_DIR is not shared with rank 0, "
                "or its cache was rebuilt\n", cm->rank, train.n_computed + dev.n_computed);
    if (!dd) {  /* hold out every 50th utterance */
        dev.n_mels = train.n_mels;
        dev.items = malloc(sizeof *dev.items * (train.n / 50 + 1));
        size_t k = 0;
        for (size_t i = 0; i < train.n; i++) {
            if (i % 50 == 49 && dev.items) dev.items[dev.n++] = train.items[i];
            else train.items[k++] = train.items[i];
        }
        train.n = k;
        fprintf(log, "tts-train: no dev set; holding out %zu utterances\n", dev.n);
    }
    if (!m) {
        taco_config cfg = newcfg;
        cfg.n_symbols = (int)text_n_symbols();
        cfg.r = o->r;
        cfg.n_mels = train.n_mels;
        st = taco_model_new(&cfg, &m);
        if (st != TTS_OK) goto out;
        nn_rng rng = {mix(o->seed, 0x1417ull)};
        taco_init_random(m, &rng);
        norm_stats(&train, m->mel_mean, m->mel_std);
    }
    if (m->cfg.n_symbols > (int)text_n_symbols() || m->cfg.n_mels != train.n_mels) {
        fprintf(log, "tts-train: the model has %d symbols and %d mel bands, the front end and features have %zu and %d\n",
                m->cfg.n_symbols, m->cfg.n_mels, text_n_symbols(), train.n_mels);
        st = TTS_ERR_MODEL_MISMATCH;
        goto out;
    }
    /* symbols appended to the table after this model was made cannot be learnt by it */
    drop_unknown_symbols(&train, m->cfg.n_symbols, log);
    drop_unknown_symbols(&dev, m->cfg.n_symbols, log);
    if (!train.n) { st = TTS_ERR_DATASET; goto out; }
    grad = calloc(m->n_floats, sizeof(float));
    am = calloc(m->n_floats, sizeof(float));
    av = calloc(m->n_floats, sizeof(float));
    if (!grad || !am || !av) { st = TTS_ERR_NOMEM; goto out; }
    if (resumed) {
        if (taco_model_read_extra(m, "adam_m", am) != TTS_OK ||
            taco_model_read_extra(m, "adam_v", av) != TTS_OK) {
            fprintf(log, "tts-train: checkpoint without optimizer state (%s); moments start at zero\n", tts_last_error());
            memset(am, 0, sizeof(float) * m->n_floats);
            memset(av, 0, sizeof(float) * m->n_floats);
        }
    }
    if (cm && (st = share_start(cm, m, am, av, &step, &warm_from, &lr_scale, log)) != TTS_OK) goto out;
    taco_pack(m, 1);
    double nparams = (double)m->n_trained;
    if (r0)
        fprintf(log, "tts-train: %.2f M parameters, %zu training and %zu dev utterances, %s at step %ld%s\n",
                nparams / 1e6, train.n, dev.n, resumed ? "resuming" : "starting", step,
                cm ? ", data parallel" : "");
    if (cm && r0) fprintf(log, "tts-train: %d ranks share each batch of %d\n", size, o->batch);

    batcher tb, dbt;
    if (batcher_init(&tb, &train, o->batch, m->cfg.r, m->mel_mean, m->mel_std) ||
        batcher_init(&dbt, &dev, o->batch, m->cfg.r, m->mel_mean, m->mel_std)) {
        st = TTS_ERR_NOMEM;
        goto out;
    }
    /* the dev sentences spoken at each evaluation, spread over the lengths */
    int n_speak = o->dev_speak < 0 ? 0 : dev.n < (size_t)o->dev_speak ? (int)dev.n : o->dev_speak;
    speak = malloc(sizeof(size_t) * (n_speak ? n_speak : 1));
    if (!speak) { st = TTS_ERR_NOMEM; batcher_free(&tb); batcher_free(&dbt); goto out; }
    batcher_spread(&dbt, dev.n, (size_t)n_speak, speak);
    if (best.spoken.n && best.spoken.n != n_speak) {  /* scores of other sets do not compare */
        fprintf(log, "tts-train: the best spoken dev score so far is of %d sentences, this run speaks %d: "
                "the next evaluation sets a new one\n", best.spoken.n, n_speak);
        best.spoken = no_marks.spoken;
    }
    FILE *tsv = r0 ? run_log_open(o->state_dir, step) : NULL;  /* rows after the checkpoint's step cut off */
    if (r0 && !tsv) fprintf(log, "tts-train: cannot write %s/log.tsv: %s; the losses are not logged\n", o->state_dir,
                            strerror(errno));
    struct stat tsv_st;
    if (tsv && fstat(fileno(tsv), &tsv_st) == 0 && tsv_st.st_size == 0)
        fputs("# step\tmel_before\tmel_after\tstop\tguided\tdiag\tgrad_norm\tseconds\n"
              "# evaluations: \"# dev\" step\tmel_before\tmel_after\tstop\tguided\tdiag[\tspoken_distance\tdur_ratio"
              "\tfailures\tspoken]\n", tsv);
    if (r0 && dev.n < 32)
        fprintf(log, "tts-train: warning: %zu dev utterances are too few to choose exports by (give --dev "
                "DIR with 50 or more, or a DATASET_DIR/dev)\n", dev.n);
    int exported = 0;
    taco_train_ws *ws = NULL;
    taco_loss ema = {0};
    int ema_n = 0, bad_run = 0, tty = isatty(fileno(log));
    long last_good_step = step;
    double t_start = now_s(), t_last = t_start;
    long steps_at_start = step;
    adam_opts ao = o->adam;
    ao.warmup_start = warm_from;
    int stopping = o->stop && *o->stop;
    while (step < o->steps && !stopping) {
        taco_batch b;
        taco_shard sh;
        if (batcher_step(&tb, step, o->seed, rank, size, &b, &sh)) { st = TTS_ERR_NOMEM; break; }
        sh.allreduce = shard_reduce;
        sh.user = (void *)cm;
        memset(grad, 0, sizeof(float) * m->n_floats);
        nn_rng rng = {mix(o->seed, (uint64_t)step)};
        taco_loss l;
        if (o->self_feed > 0 && self_feed(m, &b, o, step, &ws, &fed, &fed_cap)) { st = TTS_ERR_NOMEM; break; }
        taco_train_opts lo = o->loss;
        lo.free_run = step >= o->free_run_from ? o->free_run : 0;
        lo.free_run_seed = mix(o->seed ^ 0xf3eea0ull, (uint64_t)step);
        lo.shard = cm ? &sh : NULL;
        if (taco_train_step(m, grad, &b, &lo, &rng, &ws, &l)) { st = TTS_ERR_NOMEM; break; }
        if (cm) {
            /* the whole batch's gradient, losses (for the log) and stop request */
            cm->allreduce_f(grad, m->n_trained, cm->user);
            double mc = 0, gc = 0, v[7];
            int S = b.T / m->cfg.r;
            for (int i = 0; i < b.B; i++) {
                int ns = (b.tlen[i] + m->cfg.r - 1) / m->cfg.r;
                mc += (double)b.tlen[i] * m->cfg.n_mels;
                gc += (double)(ns < S ? ns : S) * b.nlen[i];
            }
            v[0] = l.mel_before * mc; v[1] = l.mel_after * mc; v[2] = l.stop * b.B * b.T;
            v[3] = l.guided * gc; v[4] = l.diag * b.B; v[5] = b.B; v[6] = o->stop && *o->stop;
            cm->allreduce_d(v, 7, cm->user);
            l.mel_before = v[0] / sh.mel_cells; l.mel_after = v[1] / sh.mel_cells;
            l.stop = v[2] / sh.stop_cells; l.guided = v[3] / sh.guided_cells; l.diag = v[4] / v[5];
            l.total = l.mel_before + l.mel_after + lo.stop_weight * l.stop + lo.guided_weight * l.guided;
            stopping = v[6] > 0;
        } else {
            stopping = o->stop && *o->stop;
        }
        double gn = adam_grad_norm(grad, m->n_trained);
        if (!isfinite(l.total) || !isfinite(gn)) {
            /* skip the update; after three in a row go back to the last checkpoint */
            if (r0) fprintf(log, "\ntts-train: step %ld: loss %g, gradient norm %g: update skipped\n", step, l.total, gn);
            if (++bad_run >= 3) {
                char ck[4200];
                snprintf(ck, sizeof ck, "%s/ckpt.safetensors", o->state_dir);
                taco_model *back = NULL;
                int back_ok = r0 && taco_model_load(ck, 1, &back) == TTS_OK;
                if (cm) cm->bcast(&back_ok, sizeof back_ok, cm->user);
                if (back_ok) {
                    if (back) {  /* rank 0; the others receive its copy */
                        memcpy(m->data, back->data, sizeof(float) * m->n_floats);
                        taco_model_read_extra(back, "adam_m", am);
                        taco_model_read_extra(back, "adam_v", av);
                        taco_model_free(back);
                    }
                    if (cm) {
                        cm->bcast(m->data, sizeof(float) * m->n_floats, cm->user);
                        cm->bcast(am, sizeof(float) * m->n_floats, cm->user);
                        cm->bcast(av, sizeof(float) * m->n_floats, cm->user);
                    }
                    taco_pack(m, 1);
                    lr_scale *= 0.5;
                    fprintf(log, "tts-train: back to the checkpoint of step %ld, learning rate x%.3g\n",
                            last_good_step, lr_scale);
                    step = last_good_step;
                    if (cm) cm->bcast(&step, sizeof step, cm->user);
                } else {
                    fprintf(log, "tts-train: no checkpoint to go back to: %s\n", tts_last_error());
                    st = TTS_ERR_NUMERIC;
                    break;
                }
                bad_run = 0;
            } else {
                step++;
            }
            continue;
        }
        bad_run = 0;
        ao.lr = o->adam.lr * (float)lr_scale;
        ao.lr_min = o->adam.lr_min * (float)lr_scale;
        /* the optimizer steps the trained prefix of the block; the buffers
           after it (batch-norm running statistics) follow the batch instead */
        adam_step(&ao, m->data, grad, am, av, m->n_trained, step);
        taco_bn_update(m, ws);
        taco_pack(m, 1);  /* the packed decoder weights follow every update */
        step++;
        /* progress */
        double a = ema_n < 20 ? 1.0 / ++ema_n : 0.05;
        ema.mel_before += a * (l.mel_before - ema.mel_before);
        ema.mel_after += a * (l.mel_after - ema.mel_after);
        ema.stop += a * (l.stop - ema.stop);
        ema.guided += a * (l.guided - ema.guided);
        ema.diag += a * (l.diag - ema.diag);
        double t = now_s();
        if (r0 && !o->quiet && (tty || step % o->log_every == 0)) {
            double sps = (step - steps_at_start) / (t - t_start);
            double left = (o->steps - step) / (sps > 0 ? sps : 1);
            fprintf(log, "%sstep %ld/%ld | mel %.4f/%.4f stop %.4f ga %.4f diag %.2f | gnorm %.2f lr %.2e | %.2f steps/s | %dh%02dm left%s",
                    tty ? "\r" : "", step, o->steps, ema.mel_before, ema.mel_after, ema.stop, ema.guided,
                    ema.diag, gn, adam_lr(&ao, step), sps, (int)(left / 3600), (int)(left / 60) % 60,
                    tty ? "   " : "\n");
            fflush(log);
        }
        if (tsv) fprintf(tsv, "%ld\t%.5f\t%.5f\t%.5f\t%.5f\t%.3f\t%.3f\t%.1f\n", step, l.mel_before,
                         l.mel_after, l.stop, l.guided, l.diag, gn, t - t_start);
        if (r0 && o->plot_every > 0 && step % o->plot_every == 0) plot_batch(o, step, ws, &b, m->cfg.n_mels);
        int final = step >= o->steps || stopping;
        if (r0 && o->eval_every > 0 && (step % o->eval_every == 0 || final) && dev.n) {
            taco_loss dl;
            dev_marks now = no_marks;
            now.dev_loss = dev_loss(m, o, &dev, &dbt, &ws, &dl);
            int better = now.dev_loss < best.dev_loss;
            if (n_speak) {
                if (spoken_eval(m, &dev, speak, n_speak, o->seed, &now.spoken) != 0) { st = TTS_ERR_NOMEM; break; }
                better = spoken_better(&now.spoken, &best.spoken);
            }
            fprintf(log, "%sdev at step %ld: mel %.4f/%.4f stop %.4f ga %.4f diag %.2f", tty ? "\n" : "",
                    step, dl.mel_before, dl.mel_after, dl.stop, dl.guided, dl.diag);
            if (n_speak)
                fprintf(log, " | spoken: distance %.4f dur %.2f failures %d/%d", now.spoken.distance,
                        now.spoken.dur_ratio, now.spoken.failures, now.spoken.n);
            fprintf(log, "%s\n", better ? " (best)" : "");
            if (tsv) {
                fprintf(tsv, "# dev %ld\t%.5f\t%.5f\t%.5f\t%.5f\t%.3f", step, dl.mel_before,
                        dl.mel_after, dl.stop, dl.guided, dl.diag);
                if (n_speak)
                    fprintf(tsv, "\t%.5f\t%.3f\t%d\t%d", now.spoken.distance, now.spoken.dur_ratio,
                            now.spoken.failures, now.spoken.n);
                fputc('\n', tsv);
            }
            if (now.dev_loss < best.dev_loss) best.dev_loss = now.dev_loss;
            if (better) {
                if (n_speak) best.spoken = now.spoken;
                char mp[4200];
                snprintf(mp, sizeof mp, "%s/%s.safetensors", o->models_dir, o->name);
                tts_status es = save_model(m, mp, step, lr_scale, o, NULL, NULL, &now, warm_from);
                if (es == TTS_OK) es = write_voice_json(o, m, step, &now);
                if (es != TTS_OK)
                    fprintf(log, "tts-train: export to %s failed: %s (%s)\n", mp, tts_status_message(es),
                            strerror(errno));
                else {
                    fprintf(log, "tts-train: exported %s\n", mp);
                    exported = 1;
                }
            }
        }
        if (r0 && ((o->ckpt_every > 0 && step % o->ckpt_every == 0) || final)) {
            char ck[4200];
            snprintf(ck, sizeof ck, "%s/ckpt.safetensors", o->state_dir);
            tts_status cs = save_model(m, ck, step, lr_scale, o, am, av, &best, warm_from);
            if (cs != TTS_OK) {  /* stop: the previous checkpoint stays, the run is an error */
                fprintf(log, "\ntts-train: checkpoint %s failed at step %ld: %s; the previous one is kept\n",
                        ck, step, tts_status_message(cs));
                st = cs;
                if (tsv) fflush(tsv);
                break;
            }
            last_good_step = step;
            if (tsv) fflush(tsv);
        }
        t_last = t;
    }
    (void)t_last;
    if (tty && !o->quiet && r0) fputc('\n', log);
    /* a run that never exported (no dev set, or no evaluation) exports its end;
       an export of an earlier part of the run (its best so far) is kept */
    char endp[4200];
    snprintf(endp, sizeof endp, "%s/%s.safetensors", o->models_dir, o->name);
    if (r0 && st == TTS_OK && !exported && step >= o->steps && access(endp, F_OK) != 0) {
        const char *mp = endp;
        tts_status es = save_model(m, mp, step, lr_scale, o, NULL, NULL, &no_marks, warm_from);
        if (es == TTS_OK) es = write_voice_json(o, m, step, &no_marks);
        if (es == TTS_OK) fprintf(log, "tts-train: exported the last step, %ld, to %s\n", step, mp);
        else fprintf(log, "tts-train: export to %s failed: %s\n", mp, tts_status_message(es));
    }
    if (tsv) fclose(tsv);
    taco_train_ws_free(ws);
    batcher_free(&tb);
    batcher_free(&dbt);
out:
    free(grad); free(am); free(av); free(fed); free(speak);
    taco_model_free(m);
    dataset_free(&dev);
    dataset_free(&train);
    return st;
}

/* ------------------------------------------------- teacher-forced rendering */

tts_status trainer_render_tf(const trainer_opts *o, const char *out_dir, FILE *log)
{
    char path[4200];
    if (!o->init_model) {
        fprintf(log, "tts-train: --render-tf needs the weights (--init FILE)\n");
        return TTS_ERR_INVALID_ARG;
    }
    taco_model *m = NULL;
    tts_status st = taco_model_load(o->init_model, 1, &m);
    if (st != TTS_OK) {
        fprintf(log, "tts-train: %s\n", tts_last_error());
        return st;
    }
    const char *voice = front_end_voice(o, m, log);
    text_frontend fe;
    st = text_frontend_open(&fe, voice, NULL, 0);
    if (st != TTS_OK) {
        fprintf(log, "tts-train: espeak-ng cannot load '%s'%s%s\n", voice, *text_frontend_problem() ? ": " : "",
                text_frontend_problem());
        taco_model_free(m);
        return st;
    }
    dataset d = {0};
    dsp_features *dsp = NULL;
    taco_train_ws *ws = NULL;
    float *lm = NULL, *audio = NULL;
    batcher bt = {0};
    int bt_ok = 0;
    dsp_params dp = taco_dsp_params(&m->cfg);
    st = dataset_load(o->data_dir, NULL, 0, &dp, &fe, &d, log);
    if (st == TTS_OK && (m->cfg.n_mels != d.n_mels || m->cfg.n_symbols > (int)text_n_symbols())) {
        fprintf(log, "tts-train: the model does not match the features or the front end\n");
        st = TTS_ERR_MODEL_MISMATCH;
    }
    if (st == TTS_OK) drop_unknown_symbols(&d, m->cfg.n_symbols, log);
    if (st == TTS_OK && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(log, "tts-train: cannot make %s: %s\n", out_dir, strerror(errno));
        st = TTS_ERR_IO;
    }
    if (st == TTS_OK) st = dsp_features_create(&dp, &dsp);
    if (st == TTS_OK) {
        bt_ok = batcher_init(&bt, &d, 1, m->cfg.r, m->mel_mean, m->mel_std) == 0;
        if (!bt_ok) st = TTS_ERR_NOMEM;
    }
    if (st == TTS_OK) taco_pack(m, 1);
    int M = m->cfg.n_mels;
    size_t done = 0;
    for (size_t i = 0; st == TTS_OK && i < d.n && !(o->stop && *o->stop); i++) {
        taco_batch b;
        if (batcher_fill(&bt, &i, 1, &b)) { st = TTS_ERR_NOMEM; break; }
        taco_train_opts lo = o->loss;
        lo.dropout = 2;     /* the prenet's, as at inference */
        lo.bn_running = 1;
        lo.free_run = 0;
        nn_rng rng = {mix(o->seed, ds_id_hash(d.items[i].id))};
        taco_loss l;
        if (taco_train_step(m, NULL, &b, &lo, &rng, &ws, &l)) { st = TTS_ERR_NOMEM; break; }
        const real *out = taco_train_mel(ws);  /* (1, T, M), normalized */
        int nf = d.items[i].n_frames;
        float *nlm = realloc(lm, sizeof(float) * (size_t)nf * M);
        float *na = nlm ? realloc(audio, sizeof(float) * ((size_t)nf * dp.hop + 1)) : NULL;
        if (nlm) lm = nlm;
        if (!na) { st = TTS_ERR_NOMEM; break; }
        audio = na;
        for (int t = 0; t < nf; t++)
            for (int c = 0; c < M; c++)
                lm[(size_t)t * M + c] = out[(size_t)t * M + c] * m->mel_std[c] + m->mel_mean[c];
        st = dsp_griffin_lim(dsp, lm, (size_t)nf, 32, 1.0f, audio);
        if (st != TTS_OK) break;
        snprintf(path, sizeof path, "%s/%s.wav", out_dir, d.items[i].id);
        st = audio_write_file(path, audio, (size_t)nf * dp.hop, dp.sample_rate);
        if (st != TTS_OK) fprintf(log, "tts-train: cannot write %s: %s\n", path, tts_status_message(st));
        else done++;
    }
    if (st == TTS_OK)
        fprintf(log, "tts-train: rendered %zu utterances teacher-forced into %s\n", done, out_dir);
    if (bt_ok) batcher_free(&bt);
    taco_train_ws_free(ws);
    dsp_features_free(dsp);
    free(lm); free(audio);
    dataset_free(&d);
    taco_model_free(m);
    return st;
}
