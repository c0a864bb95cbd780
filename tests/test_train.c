/*
 * test_train.c - the trainer on a tiny model and a handful of synthetic
 * utterances: it learns (the mel loss falls well below its start), bad
 * dataset lines are reported by file name and skipped, and an interrupted
 * run resumes exactly (the same weights as an uninterrupted one).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "train/trainer.h"

static char root[] = "/tmp/tts-test-train-XXXXXX";

static const char *texts[] = {
    "Hello there.", "A quiet morning.", "Seven green apples!", "Where is it?",
    "The cat sat down.", "Nothing at all, really.",
};
enum { N_TEXTS = 6 };

/* A different chord per utterance, with a rising envelope: learnable from
 * the text, and nothing like silence. */
static void write_wav(const char *path, int idx, int rate, double seconds)
{
    size_t n = (size_t)(seconds * rate);
    float *x = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate, env = sin(M_PI * t / seconds);
        x[i] = (float)(0.3 * env * (sin(2 * M_PI * (200 + 60 * idx) * t) + 0.5 * sin(2 * M_PI * (900 + 150 * idx) * t)));
    }
    assert_int_equal(audio_write_file(path, x, n, rate), TTS_OK);
    free(x);
}

static void make_dataset(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "mkdir -p %s/wavs", dir);
    assert_int_equal(system(p), 0);
    snprintf(p, sizeof p, "%s/metadata.csv", dir);
    FILE *f = fopen(p, "w");
    for (int i = 0; i < N_TEXTS; i++) {
        fprintf(f, "u%d|%s|%s\n", i, texts[i], texts[i]);
        snprintf(p, sizeof p, "%s/wavs/u%d.wav", dir, i);
        write_wav(p, i, 22050, 0.4 + 0.05 * i);
    }
    /* bad lines: a missing wav, empty text, a wrong sample rate, no separator */
    fprintf(f, "missing|This file does not exist.|This file does not exist.\n");
    fprintf(f, "empty|||\n");
    fprintf(f, "rate16k|Wrong rate.|Wrong rate.\n");
    fprintf(f, "no separator here\n");
    fclose(f);
    snprintf(p, sizeof p, "%s/wavs/empty.wav", dir);
    write_wav(p, 1, 22050, 0.5);
    snprintf(p, sizeof p, "%s/wavs/rate16k.wav", dir);
    write_wav(p, 2, 16000, 0.5);
}

static taco_config tiny(void)
{
    taco_config c = taco_config_default(3);
    c.emb = 16; c.enc_ch = 16; c.enc_lstm = 16; c.att_dim = 16; c.loc_filters = 4; c.loc_k = 7;
    c.prenet1 = 32; c.prenet2 = 16; c.att_rnn = 32; c.dec_rnn = 32; c.post_ch = 16;
    c.enc_dropout = 0.1f;
    return c;
}

static trainer_opts opts_for(const char *state, long steps, const taco_config *cfg)
{
    static char data[600], models[600];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(models, sizeof models, "%s/out", root);
    trainer_opts o = trainer_opts_default();
    o.data_dir = data;
    o.state_dir = state;
    o.models_dir = models;
    o.voices_dir = models;
    o.name = "tiny";
    o.config = cfg;
    o.batch = 3;
    o.steps = steps;
    o.r = 2;
    o.eval_every = 0;
    o.plot_every = 0;
    o.ckpt_every = 10;
    o.quiet = 1;
    o.adam.warmup = 10;
    o.adam.lr = 3e-3f;
    return o;
}

/* mel_after of the tsv lines, averaged over the first and last `k` steps */
static void loss_ends(const char *state, int k, double *first, double *last)
{
    char p[600];
    snprintf(p, sizeof p, "%s/log.tsv", state);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    double v[4096];
    int n = 0;
    char line[512];
    while (fgets(line, sizeof line, f) && n < 4096) {
        long step;
        double a, b;
        if (line[0] != '#' && sscanf(line, "%ld %lf %lf", &step, &a, &b) == 3) v[n++] = b;
    }
    fclose(f);
    assert_true(n >= 2 * k);
    *first = *last = 0;
    for (int i = 0; i < k; i++) { *first += v[i] / k; *last += v[n - 1 - i] / k; }
}

static void test_learns_and_skips_bad_lines(void **state)
{
    char st[600], logp[600];
    snprintf(st, sizeof st, "%s/state-learn", root);
    snprintf(logp, sizeof logp, "%s/learn.log", root);
    taco_config cfg = tiny();
    trainer_opts o = opts_for(st, 300, &cfg);
    FILE *log = fopen(logp, "w+");
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    /* bad lines were named and skipped */
    fflush(log);
    rewind(log);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, log);
    buf[n] = 0;
    fclose(log);
    assert_non_null(strstr(buf, "missing.wav"));
    assert_non_null(strstr(buf, "rate16k.wav"));
    assert_non_null(strstr(buf, "sample rate 16000"));
    assert_non_null(strstr(buf, "empty.wav"));
    assert_non_null(strstr(buf, "no '|' separator"));
    double first, last;
    loss_ends(st, 20, &first, &last);
    fprintf(stderr, "mel loss (after postnet): first 20 steps %.3f, last 20 steps %.3f\n", first, last);
    assert_true(last < 0.5 * first);
}

static void read_weights(const char *state, float **w, size_t *n, long *step)
{
    char p[600], err[512];
    snprintf(p, sizeof p, "%s/ckpt.safetensors", state);
    taco_model *m = NULL;
    assert_int_equal(taco_model_load(p, 1, &m, err, sizeof err), TTS_OK);
    *n = m->n_floats;
    *w = malloc(sizeof(float) * m->n_floats);
    memcpy(*w, m->data, sizeof(float) * m->n_floats);
    *step = atol(taco_model_meta(m, "step"));
    taco_model_free(m);
}

static void test_resume_is_exact(void **state)
{
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/state-a", root);
    snprintf(b, sizeof b, "%s/state-b", root);
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts oa = opts_for(a, 40, &cfg);
    assert_int_equal(trainer_run(&oa, log), TTS_OK);
    /* b: stopped at 20 (a checkpoint), then run again to 40 */
    trainer_opts ob = opts_for(b, 20, &cfg);
    assert_int_equal(trainer_run(&ob, log), TTS_OK);
    ob.steps = 40;
    assert_int_equal(trainer_run(&ob, log), TTS_OK);
    fclose(log);
    float *wa, *wb;
    size_t na, nb;
    long sa, sb;
    read_weights(a, &wa, &na, &sa);
    read_weights(b, &wb, &nb, &sb);
    assert_int_equal(sa, 40);
    assert_int_equal(sb, 40);
    assert_int_equal(na, nb);
    assert_memory_equal(wa, wb, sizeof(float) * na);
    free(wa);
    free(wb);
}

static int setup(void **state)
{
    if (!mkdtemp(root)) return -1;
    char d[600];
    snprintf(d, sizeof d, "%s/data", root);
    make_dataset(d);
    snprintf(d, sizeof d, "mkdir -p %s/out", root);
    return system(d);
}

static int teardown(void **state)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_and_skips_bad_lines),
        cmocka_unit_test(test_resume_is_exact),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
