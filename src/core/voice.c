/*
 * voice.c - loading voices: voices/NAME.json (name, language, espeak voice,
 * model file relative to the voice file, defaults) and its model, checked
 * against the front end's symbol table.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <cJSON.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "text/text.h"

#ifndef TTS_DATADIR
#define TTS_DATADIR "/usr/local/share/tts"
#endif

#define MAX_VOICE_FILE (1 << 20)

/* The whole file, NUL-terminated; NULL with *why set when it cannot be read
 * or is over MAX_VOICE_FILE bytes. */
static char *read_small_file(const char *path, tts_status *st, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) { *st = TTS_ERR_VOICE; *why = strerror(errno); return NULL; }
    char *buf = malloc(MAX_VOICE_FILE + 1);
    size_t n = buf ? fread(buf, 1, MAX_VOICE_FILE + 1, f) : 0;
    int err = ferror(f) ? errno : 0;
    fclose(f);
    *st = buf ? TTS_ERR_VOICE : TTS_ERR_NOMEM;
    *why = !buf ? "out of memory" : err ? strerror(err) : n > MAX_VOICE_FILE ? "larger than 1 MB: not a voice file" : NULL;
    if (*why) { free(buf); return NULL; }
    buf[n] = 0;
    return buf;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* PREFIX/share/tts/voices of the installation this library was loaded from
 * (libtts.so.0 in PREFIX/lib, or a program linked with libtts.a in
 * PREFIX/bin), so an installation moved to another prefix still finds its
 * voices.  0 when it cannot tell. */
static int relocated_voice_dir(char *out, size_t len)
{
    char obj[4096] = "";
    Dl_info info;
    if (dladdr((void *)&relocated_voice_dir, &info) && info.dli_fname && strstr(info.dli_fname, "libtts.so")) {
        snprintf(obj, sizeof obj, "%s", info.dli_fname);
    } else {
        ssize_t k = readlink("/proc/self/exe", obj, sizeof obj - 1);
        if (k <= 0) return 0;
        obj[k] = 0;
    }
    char *slash = strrchr(obj, '/');
    if (!slash || slash == obj) return 0;
    *slash = 0;
    slash = strrchr(obj, '/');  /* up from lib/ or bin/ */
    if (!slash) return 0;
    *slash = 0;
    snprintf(out, len, "%s/share/tts/voices", *obj ? obj : "/");
    char want[4200];
    snprintf(want, sizeof want, "%s/voices", TTS_DATADIR);
    struct stat st;
    return strcmp(out, want) != 0 && stat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Folders beside the running program, when they exist: a build tree
 * (build/tts -> voices/), an installation (bin/tts -> share/tts/voices) and
 * the speech-dispatcher module (lib/speech-dispatcher-modules/sd_tts ->
 * share/tts/voices).  Returns how many were written. */
static int program_voice_dirs(char dirs[][4096], int max)
{
    static const char *const rel[] = {"../voices", "../share/tts/voices", "../../share/tts/voices"};
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) return 0;
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = 0;
    int n = 0;
    for (size_t i = 0; i < sizeof rel / sizeof *rel && n < max; i++) {
        struct stat st;
        snprintf(dirs[n], 4096, "%s/%s", exe, rel[i]);
        if (stat(dirs[n], &st) == 0 && S_ISDIR(st.st_mode)) n++;
    }
    return n;
}

/* The search folders, in order; returns how many were written. */
static int search_dirs(char dirs[][4096], int max)
{
    int n = 0;
    const char *env = getenv("TTS_VOICE_PATH");
    if (env && *env) {
        const char *p = env;
        while (*p && n < max - 6) {
            const char *c = strchr(p, ':');
            size_t len = c ? (size_t)(c - p) : strlen(p);
            if (len > 0 && len < 4096) { memcpy(dirs[n], p, len); dirs[n][len] = 0; n++; }
            if (!c) break;
            p = c + 1;
        }
    }
    n += program_voice_dirs(dirs + n, max - 3 - n);
    snprintf(dirs[n++], 4096, "voices");
    snprintf(dirs[n++], 4096, "%s/voices", TTS_DATADIR);
    if (relocated_voice_dir(dirs[n], 4096)) n++;
    return n;
}

static float num_in(const cJSON *o, const char *key, float def, float lo, float hi, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return def;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) { *bad = 1; return def; }
    return (float)v->valuedouble;
}

/* Check the model's symbols against the front end's table. */
static tts_status check_symbols(const taco_model *m, const char *path)
{
    if ((size_t)m->cfg.n_symbols > text_n_symbols())
        return tts_error_set(TTS_ERR_MODEL_MISMATCH, "%s: the model knows %d symbols, this program's front end %zu",
                             path, m->cfg.n_symbols, text_n_symbols());
    const char *js = taco_model_meta(m, "symbols");
    if (!js) return TTS_OK;  /* older files: trust the count */
    cJSON *a = cJSON_Parse(js);
    tts_status st = TTS_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != m->cfg.n_symbols) {
        st = tts_error_set(TTS_ERR_MODEL_MISMATCH, "%s: the model's symbol list does not match its config", path);
    } else {
        for (int i = 0; i < m->cfg.n_symbols; i++) {
            cJSON *s = cJSON_GetArrayItem(a, i);
            if (!cJSON_IsString(s) || strcmp(s->valuestring, text_symbol((size_t)i)) != 0) {
                st = tts_error_set(TTS_ERR_MODEL_MISMATCH,
                                   "%s: symbol %d is '%s' in the model and '%s' in this program's front end",
                                   path, i, cJSON_IsString(s) ? s->valuestring : "?", text_symbol((size_t)i));
                break;
            }
        }
    }
    cJSON_Delete(a);
    return st;
}

static void defaults_init(tts_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->speed = 1.0f;
    o->volume = 1.0f;
    o->sentence_silence = 0.2f;
    o->gl_iters = 8;
    o->seed = 0;
    o->sharpen = 1.0f;
    o->stream = 1;
}

static tts_status load_model_into(tts_voice *v, const char *model_path)
{
    tts_status st = taco_model_load(model_path, 0, &v->model);
    if (st != TTS_OK) return st;  /* tts_last_error() names the file and the tensor */
    st = check_symbols(v->model, model_path);
    if (st == TTS_OK) v->sample_rate = v->model->cfg.sample_rate;
    if (st != TTS_OK) return st;
    /* on failure synthesis runs unpacked (or with full-precision steps), only slower */
    if (taco_pack(v->model, 0) == 0) taco_pack_halve(v->model);
    st = text_frontend_open(&v->fe, v->espeak_voice, NULL, TEXT_MAX_SENTENCE_CHARS);
    if (st != TTS_OK)  /* a fault of the voice file, whatever espeak-ng said */
        return tts_error_set(st == TTS_ERR_NOMEM ? st : TTS_ERR_VOICE, "espeak-ng cannot load the voice '%s'%s%s",
                             v->espeak_voice, *text_frontend_problem() ? ": " : "", text_frontend_problem());
    return TTS_OK;
}

/* The voice file at path as a JSON object (*out, for cJSON_Delete), else
 * the error set: unreadable, too large, or not a JSON object. */
static tts_status read_voice_json(const char *path, cJSON **out)
{
    tts_status st = TTS_OK;
    const char *why = NULL;
    char *text = read_small_file(path, &st, &why);
    *out = NULL;
    if (!text) return tts_error_set(st, "%s: cannot read the voice file: %s", path, why);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return tts_error_set(TTS_ERR_VOICE, "%s: the voice file is not a JSON object", path);
    }
    *out = j;
    return TTS_OK;
}

static tts_status load_voice_file(tts_voice *v, const char *path)
{
    cJSON *j = NULL;
    tts_status st = read_voice_json(path, &j);
    if (st != TTS_OK) return st;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *esp = cJSON_GetObjectItemCaseSensitive(j, "espeak_voice");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(j, "sample_rate");
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(j, "defaults");
    if (!cJSON_IsString(model) || !*model->valuestring) {
        cJSON_Delete(j);
        return tts_error_set(TTS_ERR_VOICE, "%s: the voice file names no \"model\"", path);
    }
    if ((esp && (!cJSON_IsString(esp) || !*esp->valuestring || strlen(esp->valuestring) > 64)) ||
        (rate && (!cJSON_IsNumber(rate) || rate->valuedouble < 4000 || rate->valuedouble > 96000)) || (defs && !cJSON_IsObject(defs))) {
        cJSON_Delete(j);
        return tts_error_set(TTS_ERR_VOICE, "%s: invalid espeak_voice, sample_rate or defaults", path);
    }
    int bad = 0;
    if (defs) {
        v->defaults.speed = num_in(defs, "speed", 1.0f, 0.25f, 4.0f, &bad);
        v->defaults.volume = num_in(defs, "volume", 1.0f, 0.0f, 4.0f, &bad);
        v->defaults.sentence_silence = num_in(defs, "sentence_silence", 0.2f, 0.0f, 10.0f, &bad);
        v->defaults.gl_iters = (int)num_in(defs, "gl_iters", 8, 1, 1000, &bad);
        v->defaults.sharpen = num_in(defs, "sharpen", 1.0f, 0.5f, 3.0f, &bad);
    }
    if (bad) {
        cJSON_Delete(j);
        return tts_error_set(TTS_ERR_VOICE, "%s: a default in the voice file is out of range", path);
    }
    if (cJSON_IsString(name) && *name->valuestring) {
        free(v->name);
        v->name = strdup(name->valuestring);
    }
    v->espeak_voice = strdup(esp ? esp->valuestring : "en-us");
    /* the model path is relative to the voice file's folder */
    char mpath[8192];
    const char *slash = strrchr(path, '/');
    if (model->valuestring[0] == '/' || !slash)
        snprintf(mpath, sizeof mpath, "%s", model->valuestring);
    else
        snprintf(mpath, sizeof mpath, "%.*s/%s", (int)(slash - path), path, model->valuestring);
    /* the rate the voice file promises must be its model's: a mismatch is
       a voice file written for another model */
    int declared_rate = rate ? (int)rate->valuedouble : 0;
    cJSON_Delete(j);
    if (!v->name || !v->espeak_voice) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
    st = load_model_into(v, mpath);
    if (st == TTS_OK && declared_rate && declared_rate != v->sample_rate)
        return tts_error_set(TTS_ERR_VOICE, "%s: sample_rate %d, but its model %s is %d Hz", path,
                             declared_rate, mpath, v->sample_rate);
    return st;
}

tts_status tts_voice_load(const char *name_or_path, tts_voice **out)
{
    tts_error_clear();
    if (!out) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_voice_load: out is NULL");
    *out = NULL;
    if (!name_or_path || !*name_or_path) return tts_error_set(TTS_ERR_INVALID_ARG, "no voice named");
    tts_voice *v = calloc(1, sizeof *v);
    if (!v) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
    defaults_init(&v->defaults);
    v->sample_rate = 22050;
    char path[8192];
    int direct = strchr(name_or_path, '/') || ends_with(name_or_path, ".json") ||
                 ends_with(name_or_path, ".safetensors");
    tts_status st;
    if (direct) {
        snprintf(path, sizeof path, "%s", name_or_path);
        if (!is_file(path)) {
            tts_voice_free(v);
            return tts_error_set(TTS_ERR_VOICE, "%s: no such voice file", path);
        }
    } else {
        char dirs[12][4096];
        int n = search_dirs(dirs, 12), found = 0;
        char looked[2048] = "";
        for (int i = 0; i < n && !found; i++) {
            snprintf(path, sizeof path, "%s/%s.json", dirs[i], name_or_path);
            found = is_file(path);
            size_t k = strlen(looked);
            snprintf(looked + k, sizeof looked - k, "%s%s", k ? ", " : "", dirs[i]);
        }
        if (!found) {
            tts_voice_free(v);
            return tts_error_set(TTS_ERR_VOICE, "no voice '%s' (looked in %s)", name_or_path, looked);
        }
    }
    v->path = strdup(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    v->name = strndup(base, strcspn(base, "."));
    if (!v->path || !v->name) { tts_voice_free(v); return tts_error_set(TTS_ERR_NOMEM, "out of memory"); }
    if (ends_with(path, ".safetensors")) {
        v->espeak_voice = strdup("en-us");
        st = v->espeak_voice ? load_model_into(v, path) : TTS_ERR_NOMEM;
    } else {
        st = load_voice_file(v, path);
    }
    if (st != TTS_OK) { tts_voice_free(v); return st; }
    *out = v;
    return TTS_OK;
}

void tts_voice_free(tts_voice *v)
{
    if (!v) return;
    taco_model_free(v->model);
    free(v->name);
    free(v->path);
    free(v->espeak_voice);
    free(v);
}

const char *tts_voice_name(const tts_voice *v) { return v ? v->name : NULL; }
int tts_voice_sample_rate(const tts_voice *v) { return v ? v->sample_rate : 0; }

const char *tts_voice_language(const tts_voice *v) { return v ? v->espeak_voice : NULL; }

void tts_options_default(const tts_voice *v, tts_options *out)
{
    if (!out) return;
    if (v) *out = v->defaults;
    else defaults_init(out);
}

/* src into out (size > 0), cut to fit before the character the cut would
 * split, control characters as spaces. */
static void copy_printable(char *out, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
    out[n] = 0;
}

tts_status tts_voice_describe(const char *voice_file, char *language, size_t language_size,
                              char *description, size_t description_size)
{
    if (!voice_file || !language || !language_size || !description || !description_size)
        return tts_error_set(TTS_ERR_INVALID_ARG, "tts_voice_describe: a NULL argument or an empty buffer");
    language[0] = description[0] = 0;
    cJSON *j = NULL;
    tts_status st = read_voice_json(voice_file, &j);
    if (st != TTS_OK) return st;
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(j, "language");
    if (!cJSON_IsString(lang)) lang = cJSON_GetObjectItemCaseSensitive(j, "espeak_voice");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(j, "description");
    /* a language is a code (letters, digits, '-', '_') that fits whole, or none */
    const char *code = cJSON_IsString(lang) ? lang->valuestring : "";
    size_t cl = strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
    if (!code[cl] && cl < language_size) memcpy(language, code, cl + 1);
    copy_printable(description, description_size, cJSON_IsString(desc) ? desc->valuestring : "");
    cJSON_Delete(j);
    return TTS_OK;
}

int tts_voice_list(void (*fn)(const char *name, const char *path, void *user), void *user)
{
    char dirs[12][4096];
    int n = search_dirs(dirs, 12), count = 0;
    for (int i = 0; i < n; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || !ends_with(e->d_name, ".json")) continue;
            char path[8192], name[256];
            snprintf(path, sizeof path, "%s/%s", dirs[i], e->d_name);
            snprintf(name, sizeof name, "%.*s", (int)(strlen(e->d_name) - 5), e->d_name);
            if (fn) fn(name, path, user);
            count++;
        }
        closedir(d);
    }
    return count;
}
