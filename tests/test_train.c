/*
 * test_train.c - the trainer on a tiny model and a handful of synthetic
 * utterances: it learns (the mel loss falls well below its start, and the
 * batch-norm running statistics follow the batches), bad dataset lines are
 * reported by file name and skipped, and an interrupted run resumes exactly
 * (the same weights and running statistics as an uninterrupted one), also
 * from a checkpoint made before batch norm existed; evaluating on the dev
 * set on the way changes nothing.  The teacher-forced rendering reads the
 * reference's own frames.  The free-running dev check's time warp, and the
 * exports it chooses (also across a resume).
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
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio.h"
#include "train/dataset.h"
#include "train/spoken.h"
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
        /* u2 is recorded at 16 kHz: the reader resamples it */
        write_wav(p, i, i == 2 ? 16000 : 22050, 0.4 + 0.05 * i);
    }
    /* bad lines: a missing wav, empty text, no separator */
    fprintf(f, "missing|This file does not exist.|This file does not exist.\n");
    fprintf(f, "empty|||\n");
    fprintf(f, "no separator here\n");
    fclose(f);
    snprintf(p, sizeof p, "%s/wavs/empty.wav", dir);
    write_wav(p, 1, 22050, 0.5);
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
    o.force = 1;  /* the runs of this suite export to one folder in turn */
    o.free_run = 0;  /* teacher forcing unless a test asks (the default recipe runs free from 1,500) */
    o.free_run_from = 0;
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
    assert_non_null(strstr(buf, "missing.wav: cannot read (no such file)"));
    assert_null(strstr(buf, "u2.wav"));  /* 16 kHz, resampled and used */
    assert_non_null(strstr(buf, "empty.wav"));
    assert_non_null(strstr(buf, "no '|' separator"));
    double first, last;
    loss_ends(st, 20, &first, &last);
    fprintf(stderr, "mel loss (after postnet): first 20 steps %.3f, last 20 steps %.3f\n", first, last);
    assert_true(last < 0.5 * first);
    /* the model has batch norm (new models do), and training moved its
       running statistics away from their start (mean 0, variance 1) */
    char p[700];
    snprintf(p, sizeof p, "%s/ckpt.safetensors", st);
    taco_model *m = NULL;
    assert_int_equal(taco_model_load(p, 1, &m), TTS_OK);
    assert_int_equal(m->cfg.enc_batchnorm, 1);
    int moved = 0;
    for (int i = 0; i < m->cfg.enc_convs; i++)
        for (int j = 0; j < m->cfg.enc_ch; j++) {
            assert_true(m->w.bn_var[i][j] >= 0);
            moved += m->w.bn_mean[i][j] != 0 && m->w.bn_var[i][j] != 1;
        }
    assert_true(moved > m->cfg.enc_ch);
    taco_model_free(m);
}

static void read_weights(const char *state, float **w, size_t *n, long *step)
{
    char p[600];
    snprintf(p, sizeof p, "%s/ckpt.safetensors", state);
    taco_model *m = NULL;
    assert_int_equal(taco_model_load(p, 1, &m), TTS_OK);
    *n = m->n_floats;
    *w = malloc(sizeof(float) * m->n_floats);
    memcpy(*w, m->data, sizeof(float) * m->n_floats);
    *step = atol(taco_model_meta(m, "step"));
    taco_model_free(m);
}

/* The checkpoints of states a and b are both at `step` with the same weights
 * (and running statistics), bit for bit. */
static void assert_same_weights(const char *a, const char *b, long step)
{
    float *wa, *wb;
    size_t na, nb;
    long sa, sb;
    read_weights(a, &wa, &na, &sa);
    read_weights(b, &wb, &nb, &sb);
    assert_int_equal(sa, step);
    assert_int_equal(sb, step);
    assert_int_equal(na, nb);
    assert_memory_equal(wa, wb, sizeof(float) * na);
    free(wa);
    free(wb);
}

/* Blank out (with spaces, so offsets stay) the config's enc_batchnorm entry
 * of a checkpoint: what a checkpoint from before batch norm looks like. */
static void make_pre_batchnorm(const char *state)
{
    char p[700];
    snprintf(p, sizeof p, "%s/ckpt.safetensors", state);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    unsigned char len8[8];
    assert_int_equal(fread(len8, 1, 8, f), 8);
    size_t n = 0;
    for (int i = 0; i < 8; i++) n |= (size_t)len8[i] << (8 * i);
    char *h = malloc(n + 1);
    assert_int_equal(fread(h, 1, n, f), n);
    h[n] = 0;
    const char *key = "\\\"enc_batchnorm\\\":0,";
    char *at = strstr(h, key);
    assert_non_null(at);
    memset(at, ' ', strlen(key));
    assert_null(strstr(h, "batchnorm"));
    fseek(f, 8, SEEK_SET);
    assert_int_equal(fwrite(h, 1, n, f), n);
    fclose(f);
    free(h);
}

/* Run a to 40 steps; run b to 20 (a checkpoint), then on to 40: the same
 * weights.  pre_bn: without batch norm, b's checkpoint made to look as from
 * before batch norm, which must resume as it always did. */
static void resume_check(int pre_bn, float self_feed, float free_run)
{
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/state-a%d%d%d", root, pre_bn, self_feed > 0, free_run > 0);
    snprintf(b, sizeof b, "%s/state-b%d%d%d", root, pre_bn, self_feed > 0, free_run > 0);
    taco_config cfg = tiny();
    if (pre_bn) cfg.enc_batchnorm = 0;
    FILE *log = fopen("/dev/null", "w");
    trainer_opts oa = opts_for(a, 40, &cfg);
    oa.self_feed = self_feed;
    oa.free_run = free_run;
    assert_int_equal(trainer_run(&oa, log), TTS_OK);
    /* b: stopped at 20 (a checkpoint), then run again to 40 */
    trainer_opts ob = opts_for(b, 20, &cfg);
    ob.self_feed = self_feed;
    ob.free_run = free_run;
    assert_int_equal(trainer_run(&ob, log), TTS_OK);
    if (pre_bn) make_pre_batchnorm(b);
    ob.steps = 40;
    ob.config = NULL;  /* the checkpoint carries its config */
    assert_int_equal(trainer_run(&ob, log), TTS_OK);
    fclose(log);
    assert_same_weights(a, b, 40);
}

/* --free-run-from N: teacher forcing before step N, free running from it,
 * the same weights as a teacher-forced run to N resumed with --free-run. */
static void test_free_run_from(void **state)
{
    char a[600], b[600], c[600];
    snprintf(a, sizeof a, "%s/state-ffrom-a", root);
    snprintf(b, sizeof b, "%s/state-ffrom-b", root);
    snprintf(c, sizeof c, "%s/state-ffrom-c", root);
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts oa = opts_for(a, 20, &cfg);  /* free running from 20, in one run */
    oa.free_run = 0.7f;
    oa.free_run_from = 20;
    assert_int_equal(trainer_run(&oa, log), TTS_OK);
    trainer_opts ob = opts_for(b, 20, &cfg);  /* teacher forcing to 20 ... */
    assert_int_equal(trainer_run(&ob, log), TTS_OK);
    trainer_opts oc = opts_for(c, 30, &cfg);  /* teacher forcing throughout */
    assert_int_equal(trainer_run(&oc, log), TTS_OK);
    assert_same_weights(a, b, 20);
    oa.steps = 30;
    assert_int_equal(trainer_run(&oa, log), TTS_OK);
    ob.steps = 30;                            /* ... then free running */
    ob.free_run = 0.7f;
    assert_int_equal(trainer_run(&ob, log), TTS_OK);
    fclose(log);
    assert_same_weights(a, b, 30);
    float *wa, *wc;
    size_t na, nc;
    long sa, sc;
    read_weights(a, &wa, &na, &sa);
    read_weights(c, &wc, &nc, &sc);
    assert_int_equal(na, nc);
    assert_memory_not_equal(wa, wc, sizeof(float) * na);
    free(wa);
    free(wc);
}

static void test_resume_is_exact(void **state) { resume_check(0, 0, 0); }
static void test_resume_is_exact_self_fed(void **state) { resume_check(0, 0.5f, 0); }
static void test_resume_is_exact_free_run(void **state) { resume_check(0, 0, 0.7f); }

/* The tiny model trained 300 steps in state folder NAME with its own frames
 * among the decoder's inputs: its loss on those inputs falls well below its
 * start.  Returns the run's options (state_dir points into *st). */
static trainer_opts learns_on_own_frames(const char *name, float self_feed, float free_run,
                                         taco_config *cfg, char *st, size_t st_size)
{
    snprintf(st, st_size, "%s/%s", root, name);
    *cfg = tiny();
    trainer_opts o = opts_for(st, 300, cfg);
    o.self_feed = self_feed;
    o.free_run = free_run;
    FILE *log = fopen("/dev/null", "w");
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    fclose(log);
    double first, last;
    loss_ends(st, 10, &first, &last);
    fprintf(stderr, "     %s tiny model: mel L1 %.3f -> %.3f\n", name, first, last);
    assert_true(last < 0.5 * first);
    return o;
}

/* Self-feeding still learns: the tiny model's loss on its mixed inputs falls
 * well below its start. */
static void test_learns_self_fed(void **state)
{
    char st[600];
    taco_config cfg;
    trainer_opts o = learns_on_own_frames("state-self-fed", 0.5f, 0, &cfg, st, sizeof st);
    FILE *log;
    /* --export: the checkpoint's weights as a voice, without optimizer moments */
    char models[600], p[700];
    snprintf(models, sizeof models, "%s/export-models", root);
    o.models_dir = o.voices_dir = models;
    o.name = "selffed";
    log = fopen("/dev/null", "w");
    assert_int_equal(trainer_export(&o, log), TTS_OK);
    fclose(log);
    snprintf(p, sizeof p, "%s/selffed.safetensors", models);
    taco_model *m = NULL;
    assert_int_equal(taco_model_load(p, 0, &m), TTS_OK);
    assert_string_equal(taco_model_meta(m, "step"), "300");
    float *moments = malloc(sizeof(float) * m->n_floats);
    assert_int_equal(taco_model_read_extra(m, "adam_m", moments), TTS_ERR_MODEL_MISMATCH);
    free(moments);
    taco_model_free(m);
    snprintf(p, sizeof p, "%s/selffed.json", models);
    assert_int_equal(access(p, R_OK), 0);
    o.state_dir = models;  /* no checkpoint there: an error, not a crash */
    log = fopen("/dev/null", "w");
    assert_int_not_equal(trainer_export(&o, log), TTS_OK);
    fclose(log);
}

/* Free running (scheduled sampling) still learns: the tiny model's loss, with
 * chains of its own frames as inputs, falls well below its start. */
static void test_learns_free_run(void **state)
{
    char st[600];
    taco_config cfg;
    learns_on_own_frames("state-free-run", 0, 0.7f, &cfg, st, sizeof st);
}

/* Dev evaluation (batch norm by its running statistics) changes nothing in
 * training: the weights and running statistics of a run that evaluates every
 * 10 steps are those of one that never does. */
static void test_evaluation_leaves_training_alone(void **state)
{
    char a[600], b[600], data[600];
    snprintf(a, sizeof a, "%s/state-noeval", root);
    snprintf(b, sizeof b, "%s/state-eval", root);
    snprintf(data, sizeof data, "%s/data", root);
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts oa = opts_for(a, 30, &cfg), ob = opts_for(b, 30, &cfg);
    ob.dev_dir = data;
    ob.eval_every = 10;
    assert_int_equal(trainer_run(&oa, log), TTS_OK);
    assert_int_equal(trainer_run(&ob, log), TTS_OK);
    fclose(log);
    assert_same_weights(a, b, 30);
    /* it did evaluate: the dev lines are in the log */
    char p[700], line[512];
    snprintf(p, sizeof p, "%s/log.tsv", b);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    int dev_lines = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "# dev", 5) != 0) continue;
        dev_lines++;
        /* ... and it spoke all six dev sentences (dev_speak 32 by default) */
        long step;
        double l[5], dist, dur;
        int fails, n;
        assert_int_equal(sscanf(line, "# dev %ld %lf %lf %lf %lf %lf %lf %lf %d %d", &step, &l[0], &l[1], &l[2],
                                &l[3], &l[4], &dist, &dur, &fails, &n), 10);
        assert_int_equal(n, N_TEXTS);
        assert_true(dist > 0 && isfinite(dist));
        assert_true(dur > 0);
        assert_in_range(fails, 0, N_TEXTS);
    }
    fclose(f);
    assert_int_equal(dev_lines, 3);
}

/* The time warp of the free-running check, on cases worked by hand. */
static void test_spoken_dtw(void **state)
{
    const float a[] = {0, 1, 2, 3}, slow[] = {0, 0, 1, 1, 2, 2, 3, 3}, up[] = {1, 2, 3, 4};
    /* the same frames, and the same at half the pace: no distance */
    assert_float_equal(spoken_dtw(a, 4, a, 4, 1, NULL), 0, 1e-12);
    assert_float_equal(spoken_dtw(a, 4, slow, 8, 1, NULL), 0, 1e-12);
    assert_float_equal(spoken_dtw(slow, 8, a, 4, 1, NULL), 0, 1e-12);
    /* one step ahead: the warp pairs 1-1, 2-2, 3-3 and pays only at the
       ends, 0 against 1 and 3 against 4, over a path of 5 pairs: 2/5 (the
       diagonal would cost 4); scaled by 2, half of it */
    assert_float_equal(spoken_dtw(a, 4, up, 4, 1, NULL), 0.4, 1e-12);
    assert_float_equal(spoken_dtw(a, 4, up, 4, 1, (const float[]){2}), 0.2, 1e-12);
    /* two bands, the cost is their mean; [0,2] vs [1]: two steps of cost 1 */
    const float x[] = {0, 0, 2, 2}, y[] = {1, 1};
    assert_float_equal(spoken_dtw(x, 2, y, 1, 2, NULL), 1, 1e-12);
    assert_float_equal(spoken_dtw(x, 2, y, 1, 2, (const float[]){2, 2}), 0.5, 1e-12);
    /* nothing to compare */
    assert_true(spoken_dtw(a, 0, a, 4, 1, NULL) < 0);
    assert_true(spoken_dtw(a, 4, a, 0, 1, NULL) < 0);
}

/* Reads the "# dev" lines of a state's log.tsv: the step a run's export
 * should hold, by the spoken score (fewest failures, then the smallest
 * distance; the first on a tie) or, for a run without it, by the lowest
 * teacher-forced postnet loss. */
static long best_logged_step(const char *state, int spoken)
{
    char p[700], line[512];
    snprintf(p, sizeof p, "%s/log.tsv", state);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    long best_step = -1;
    double best_d = INFINITY;
    int best_f = 1 << 30, lines = 0;
    while (fgets(line, sizeof line, f)) {
        long step;
        double l[5], dist = 0, dur;
        int fails = 0, n = 0;
        int k = sscanf(line, "# dev %ld %lf %lf %lf %lf %lf %lf %lf %d %d", &step, &l[0], &l[1], &l[2], &l[3],
                       &l[4], &dist, &dur, &fails, &n);
        if (k < 6) continue;
        lines++;
        assert_int_equal(k, spoken ? 10 : 6);
        if (!spoken) { dist = l[1]; fails = 0; }
        if (fails < best_f || (fails == best_f && dist < best_d)) {
            best_f = fails;
            best_d = dist;
            best_step = step;
        }
    }
    fclose(f);
    assert_true(lines >= 3);
    return best_step;
}

static long exported_step(const char *name)
{
    char p[700];
    snprintf(p, sizeof p, "%s/out/%s.safetensors", root, name);
    taco_model *m = NULL;
    assert_int_equal(taco_model_load(p, 0, &m), TTS_OK);
    long step = atol(taco_model_meta(m, "step"));
    taco_model_free(m);
    return step;
}

/* Exports follow the spoken dev score (or, with dev_speak 0, the
 * teacher-forced dev loss), and a resumed run remembers the best so far. */
static void test_export_follows_dev_score(void **state)
{
    char a[600], b[600], c[600], data[600];
    snprintf(a, sizeof a, "%s/state-speak", root);
    snprintf(b, sizeof b, "%s/state-speak-resumed", root);
    snprintf(c, sizeof c, "%s/state-tf-dev", root);
    snprintf(data, sizeof data, "%s/data", root);
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts o = opts_for(a, 50, &cfg);
    o.dev_dir = data;
    o.eval_every = 5;
    o.name = "speak";
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    long want = best_logged_step(a, 1);
    assert_int_equal(exported_step("speak"), want);

    /* the same run, interrupted at step 30 and resumed: the same export */
    trainer_opts r = o;
    r.state_dir = b;
    r.name = "speak2";
    r.steps = 30;
    assert_int_equal(trainer_run(&r, log), TTS_OK);
    r.steps = 50;
    assert_int_equal(trainer_run(&r, log), TTS_OK);
    assert_int_equal(best_logged_step(b, 1), want);
    assert_int_equal(exported_step("speak2"), want);
    /* resumed with fewer sentences spoken, the old best does not compare:
       the run says so, and its first evaluation exports */
    char lp[700];
    snprintf(lp, sizeof lp, "%s/resume-speak.log", root);
    FILE *rl = fopen(lp, "w");
    assert_non_null(rl);
    r.steps = 55;
    r.dev_speak = 3;
    assert_int_equal(trainer_run(&r, rl), TTS_OK);
    fclose(rl);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "grep -q 'score so far is of %d sentences, this run speaks 3' %s", N_TEXTS, lp);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(exported_step("speak2"), 55);

    trainer_opts t = o;
    t.state_dir = c;
    t.name = "tfdev";
    t.dev_speak = 0;
    assert_int_equal(trainer_run(&t, log), TTS_OK);
    long want_tf = best_logged_step(c, 0);
    assert_int_equal(exported_step("tfdev"), want_tf);
    printf("     exports: step %ld by the spoken score, %ld by the teacher-forced loss\n", want, want_tf);
    fclose(log);
}
static void test_resume_pre_batchnorm_checkpoint(void **state) { resume_check(1, 0, 0); }

/* tts-train --render-tf: one wav per usable utterance, as long as its
 * reference, made from the reference's own frames (other audio of the same
 * length gives another rendering), the same for an utterance in any set;
 * without weights or with an unwritable output folder, an error. */
static void test_render_teacher_forced(void **state)
{
    char st[600], data[600], other[600], out1[600], out2[600], model[600], p[1400];
    snprintf(st, sizeof st, "%s/state-render", root);
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(other, sizeof other, "%s/data-other", root);
    snprintf(out1, sizeof out1, "%s/render1", root);
    snprintf(out2, sizeof out2, "%s/render2", root);
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts o = opts_for(st, 20, &cfg);
    o.name = "render";
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    assert_int_equal(trainer_export(&o, log), TTS_OK);
    snprintf(model, sizeof model, "%s/out/render.safetensors", root);

    /* the same sentences, each with another utterance's chord at its own length */
    snprintf(p, sizeof p, "mkdir -p %s/wavs", other);
    assert_int_equal(system(p), 0);
    snprintf(p, sizeof p, "%s/metadata.csv", other);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < N_TEXTS; i++) {
        fprintf(f, "u%d|%s|%s\n", i, texts[i], texts[i]);
        snprintf(p, sizeof p, "%s/wavs/u%d.wav", other, i);
        write_wav(p, (i + 3) % N_TEXTS, 22050, 0.4 + 0.05 * i);
    }
    fclose(f);

    trainer_opts r = o;
    r.init_model = model;
    r.data_dir = data;
    assert_int_equal(trainer_render_tf(&r, out1, log), TTS_OK);
    r.data_dir = other;
    assert_int_equal(trainer_render_tf(&r, out2, log), TTS_OK);
    int differ = 0;
    for (int i = 0; i < N_TEXTS; i++) {
        float *ref = NULL, *a = NULL, *b = NULL;
        size_t n_ref = 0, na = 0, nb = 0;
        int rate = 0;
        snprintf(p, sizeof p, "%s/wavs/u%d.wav", data, i);
        assert_int_equal(audio_read_file(p, &ref, &n_ref, &rate), TTS_OK);
        if (rate != 22050) n_ref = (size_t)ceil((double)n_ref * 22050 / rate);  /* resampled */
        snprintf(p, sizeof p, "%s/u%d.wav", out1, i);
        assert_int_equal(audio_read_file(p, &a, &na, &rate), TTS_OK);
        assert_int_equal(rate, 22050);
        assert_int_equal(na, (1 + n_ref / 256) * 256);  /* the reference's frames, hop 256 */
        double energy = 0;
        for (size_t k = 0; k < na; k++) energy += (double)a[k] * a[k];
        assert_true(energy > 0);
        snprintf(p, sizeof p, "%s/u%d.wav", out2, i);
        assert_int_equal(audio_read_file(p, &b, &nb, &rate), TTS_OK);
        assert_int_equal(nb, na);
        for (size_t k = 0; k < na && !differ; k++) differ = fabsf(a[k] - b[k]) > 1e-3f;
        free(ref); free(a); free(b);
    }
    assert_true(differ);
    /* an utterance renders the same in any set: its dropout is drawn from its id */
    char sub[600], out3[600];
    snprintf(sub, sizeof sub, "%s/data-subset", root);
    snprintf(out3, sizeof out3, "%s/render3", root);
    snprintf(p, sizeof p, "mkdir -p %s && ln -sfn %s/wavs %s/wavs && printf 'u5|%s|%s\\nu3|%s|%s\\n' > %s/metadata.csv",
             sub, data, sub, texts[5], texts[5], texts[3], texts[3], sub);
    assert_int_equal(system(p), 0);
    r.data_dir = sub;
    assert_int_equal(trainer_render_tf(&r, out3, log), TTS_OK);
    {
        float *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        int rate = 0;
        snprintf(p, sizeof p, "%s/u3.wav", out1);
        assert_int_equal(audio_read_file(p, &a, &na, &rate), TTS_OK);
        snprintf(p, sizeof p, "%s/u3.wav", out3);
        assert_int_equal(audio_read_file(p, &b, &nb, &rate), TTS_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, sizeof(float) * na);
        free(a); free(b);
    }
    /* the bad lines of the dataset were skipped, and nothing else written */
    snprintf(p, sizeof p, "test \"$(ls %s | wc -l)\" -eq %d", out1, N_TEXTS);
    assert_int_equal(system(p), 0);

    r.init_model = NULL;
    assert_int_equal(trainer_render_tf(&r, out2, log), TTS_ERR_INVALID_ARG);
    r.init_model = model;
    snprintf(p, sizeof p, "%s/metadata.csv/out", other);  /* below a file */
    assert_int_not_equal(trainer_render_tf(&r, p, log), TTS_OK);
    fclose(log);
}

/* --mels: a new model's band count sets its features; a checkpoint keeps its
 * own (resuming with another --mels continues it), and its teacher-forced
 * rendering is analysed with the model's bands.  The espeak-ng voice, like
 * the bands, stays the model's own when none is asked for. */
static void test_mel_bands(void **state)
{
    char st[600], model[600], out[600], p[1400];
    snprintf(st, sizeof st, "%s/state-mels", root);
    snprintf(out, sizeof out, "%s/render-mels", root);
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts o = opts_for(st, 10, &cfg);
    o.name = "mels";
    o.n_mels = 40;
    o.espeak_voice = "en-gb";
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    o.n_mels = 80;  /* ignored: the checkpoint has 40 bands */
    o.espeak_voice = NULL;
    o.steps = 20;
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    assert_int_equal(trainer_export(&o, log), TTS_OK);
    snprintf(model, sizeof model, "%s/out/mels.safetensors", root);
    taco_model *m = NULL;
    assert_int_equal(taco_model_load(model, 0, &m), TTS_OK);
    assert_int_equal(m->cfg.n_mels, 40);
    assert_string_equal(taco_model_meta(m, "step"), "20");
    assert_string_equal(taco_model_meta(m, "espeak_voice"), "en-gb");
    taco_model_free(m);
    snprintf(p, sizeof p, "grep -q '\"espeak_voice\":[[:space:]]*\"en-gb\"' %s/out/mels.json", root);
    assert_int_equal(system(p), 0);
    trainer_opts r = o;
    r.init_model = model;
    assert_int_equal(trainer_render_tf(&r, out, log), TTS_OK);
    snprintf(p, sizeof p, "test \"$(ls %s | wc -l)\" -eq %d", out, N_TEXTS);
    assert_int_equal(system(p), 0);

    /* the library speaks with it: Griffin-Lim inverts 40 bands */
    char vdir[600], mdir[600];
    snprintf(vdir, sizeof vdir, "%s/mels-voice/voices", root);
    snprintf(mdir, sizeof mdir, "%s/mels-voice/models", root);
    snprintf(p, sizeof p, "mkdir -p %s/mels-voice", root);
    assert_int_equal(system(p), 0);
    o.voices_dir = vdir;
    o.models_dir = mdir;
    assert_int_equal(trainer_export(&o, log), TTS_OK);
    snprintf(p, sizeof p, "%s/mels.json", vdir);
    tts_voice *v = NULL;
    tts_synth *syn = NULL;
    assert_int_equal(tts_voice_load(p, &v), TTS_OK);
    assert_int_equal(tts_synth_create(v, NULL, &syn), TTS_OK);
    assert_int_equal(tts_synth_start(syn, texts[0]), TTS_OK);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    assert_int_equal(tts_synth_next(syn, &ch), TTS_OK);
    assert_false(ch.done);
    assert_true(ch.n_samples > 0);
    double energy = 0;
    for (size_t k = 0; k < ch.n_samples; k++) energy += (double)ch.samples[k] * ch.samples[k];
    assert_true(energy > 0);
    tts_synth_free(syn);
    tts_voice_free(v);
    fclose(log);
}

/* ---- red team, round two: links, a full disk, killed runs ---- */

static void put_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int same_text(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return !strcmp(buf, text);
}

/* Symbolic links planted at every name the trainer writes (the old
 * predictable temporary names and the final ones but the checkpoint, which a
 * run reads first) point outside; a run with
 * exports, plots and checkpoints writes none of the files they point to. */
static void test_writes_never_follow_links(void **state)
{
    char st[600], out[600], outside[600], p[800], q[800];
    snprintf(st, sizeof st, "%s/state-links", root);
    snprintf(out, sizeof out, "%s/out-links", root);
    snprintf(outside, sizeof outside, "%s/outside", root);
    snprintf(p, sizeof p, "mkdir -p %s/plots %s %s", st, out, outside);
    assert_int_equal(system(p), 0);
    long pid = (long)getpid() % 100000;
    char names[12][300];
    int n = 0;
    snprintf(names[n++], 300, "%s/features.bin.tmp", st);
    snprintf(names[n++], 300, "%s/ckpt.safetensors.tmp%ld", st, pid);
    snprintf(names[n++], 300, "%s/log.tsv", st);
    snprintf(names[n++], 300, "%s/plots/align-000010.png.tmp", st);
    snprintf(names[n++], 300, "%s/plots/align-000010.png", st);
    snprintf(names[n++], 300, "%s/plots/mel-000010.png", st);
    snprintf(names[n++], 300, "%s/links.json.tmp", out);
    snprintf(names[n++], 300, "%s/links.json", out);
    snprintf(names[n++], 300, "%s/links.safetensors.tmp%ld", out, pid);
    snprintf(names[n++], 300, "%s/links.safetensors", out);
    for (int i = 0; i < n; i++) {
        snprintf(q, sizeof q, "%s/victim%d", outside, i);
        put_text(q, "precious\n");
        assert_int_equal(symlink(q, names[i]), 0);
    }
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts o = opts_for(st, 10, &cfg);
    o.models_dir = o.voices_dir = out;
    o.name = "links";
    o.eval_every = 10;
    o.plot_every = 10;
    o.dev_speak = 2;
    snprintf(q, sizeof q, "%s/data", root);
    o.dev_dir = q;
    o.steps = 10;
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    for (int i = 0; i < n; i++) {
        snprintf(q, sizeof q, "%s/victim%d", outside, i);
        if (!same_text(q, "precious\n")) fail_msg("the trainer wrote through the link %s", names[i]);
    }
    /* the final names are now the trainer's own regular files */
    struct stat sb;
    const int finals[] = {7, 9};  /* links.json, links.safetensors */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(lstat(names[finals[i]], &sb), 0);
        assert_true(S_ISREG(sb.st_mode));
    }
    fclose(log);
}

/* A checkpoint that cannot be written (a disk that is full: here a file size
 * limit) stops the run with an error and keeps the previous checkpoint; the
 * rerun cuts log.tsv back to that checkpoint's step, so no step is logged
 * twice. */
static void test_failed_checkpoint_is_an_error(void **state)
{
    char st[600], p[800];
    snprintf(st, sizeof st, "%s/state-full", root);
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts o = opts_for(st, 10, &cfg);
    o.name = "full";
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    long s0;
    float *w0 = NULL;
    size_t n0;
    read_weights(st, &w0, &n0, &s0);
    assert_int_equal(s0, 10);
    snprintf(p, sizeof p, "%s/ckpt.safetensors", st);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size / 2;  /* the log fits, a checkpoint does not */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    o.steps = 30;
    tts_status rc = trainer_run(&o, log);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_not_equal(rc, TTS_OK);
    long s1;
    float *w1 = NULL;
    size_t n1;
    read_weights(st, &w1, &n1, &s1);
    assert_int_equal(s1, 10);  /* the previous checkpoint, whole */
    assert_int_equal(n1, n0);
    assert_memory_equal(w0, w1, n0 * sizeof(float));
    snprintf(p, sizeof p, "test \"$(ls -A %s | grep -c part)\" -eq 0", st);
    assert_int_equal(system(p), 0);  /* no temporary file left */

    assert_int_equal(trainer_run(&o, log), TTS_OK);  /* room again: resumes from step 10 */
    snprintf(p, sizeof p, "test \"$(grep -v '^#' %s/log.tsv | cut -f1 | sort | uniq -d | wc -l)\" -eq 0 && "
             "test \"$(grep -vc '^#' %s/log.tsv)\" -eq 30", st, st);
    if (system(p) != 0) fail_msg("log.tsv of %s has duplicate or missing steps", st);
    free(w0);
    free(w1);
    fclose(log);
}

/* What a run killed with SIGKILL left (a ".part" file of a dead process, the
 * names older versions used, an hour old) is removed by the next run; a
 * live process's file, young old-style names and other files stay. */
static void test_stale_files_removed(void **state)
{
    char st[600], p[900];
    snprintf(st, sizeof st, "%s/state-stale", root);
    snprintf(p, sizeof p, "mkdir -p %s/plots", st);
    assert_int_equal(system(p), 0);
    const char *gone[] = {".ckpt.safetensors.99999999.a1b2c3.part", "ckpt.safetensors.tmp4242",
                          "features.bin.tmp", "plots/.align-000500.png.99999999.000001.part",
                          "plots/mel-000500.png.tmp"};
    char live[100];
    snprintf(live, sizeof live, ".ckpt.safetensors.%ld.a1b2c3.part", (long)getppid());
    const char *kept[] = {live, "notes.txt", "ckpt.safetensors.tmp77"};
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", st, gone[i]);
        put_text(p, "x");
        snprintf(p, sizeof p, "touch -d '2 hours ago' %s/%s", st, gone[i]);
        assert_int_equal(system(p), 0);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", st, kept[i]);
        put_text(p, "x");
    }
    taco_config cfg = tiny();
    FILE *log = fopen("/dev/null", "w");
    trainer_opts o = opts_for(st, 2, &cfg);
    o.name = "stale";
    assert_int_equal(trainer_run(&o, log), TTS_OK);
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", st, gone[i]);
        if (access(p, F_OK) == 0) fail_msg("%s was not removed", p);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", st, kept[i]);
        if (access(p, F_OK) != 0) fail_msg("%s was removed", p);
    }
    fclose(log);
}

/* The feature cache is keyed on each wav and line, not on metadata.csv: a
 * replaced wav gets its features computed again (and only it), a copy of the
 * folder without its wavs trains on nothing, and a line whose text is far
 * too long for its audio is skipped with a message. */
static void test_feature_cache_follows_the_wavs(void **state)
{
    char data[600], copy[600], bare[600], cache[700], p[1600], lp[700];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(copy, sizeof copy, "%s/data-cache", root);
    snprintf(bare, sizeof bare, "%s/data-bare", root);
    snprintf(cache, sizeof cache, "%s/features-cache.bin", root);
    snprintf(lp, sizeof lp, "%s/cache.log", root);
    snprintf(p, sizeof p, "cp -a %s %s && mkdir -p %s/wavs && cp -a %s/metadata.csv %s/", data, copy, bare, data, bare);
    assert_int_equal(system(p), 0);
    FILE *log = fopen(lp, "w");
    assert_non_null(log);
    dataset d0, d1, d2;
    assert_int_equal(dataset_load(copy, cache, 0, NULL, NULL, &d0, log), TTS_OK);
    /* u1.wav replaced by other audio; metadata.csv untouched */
    snprintf(p, sizeof p, "%s/wavs/u1.wav", copy);
    write_wav(p, 4, 22050, 0.9);
    assert_int_equal(dataset_load(copy, cache, 0, NULL, NULL, &d1, log), TTS_OK);
    assert_int_equal(d1.n, d0.n);
    int found = 0;
    for (size_t i = 0; i < d1.n; i++) {
        if (strcmp(d1.items[i].id, "u1")) {
            assert_int_equal(d1.items[i].n_frames, d0.items[i].n_frames);
            continue;
        }
        found = 1;
        assert_true(d1.items[i].n_frames > d0.items[i].n_frames + 10);  /* 0.9 s, not 0.45 s */
    }
    assert_true(found);
    fclose(log);
    snprintf(p, sizeof p, "grep -q 'from the cache .*, 1 computed' %s", lp);
    if (system(p) != 0) fail_msg("the second load did not recompute exactly one item (see %s)", lp);
    log = fopen("/dev/null", "w");
    /* the same metadata.csv (same size and time) without the wavs: nothing to train on */
    assert_int_equal(dataset_load(bare, cache, 0, NULL, NULL, &d2, log), TTS_ERR_DATASET);
    assert_int_equal(d2.n, 0);
    dataset_free(&d0);
    dataset_free(&d1);
    dataset_free(&d2);

    /* a 3,000-word line beside a 0.45 s wav */
    snprintf(p, sizeof p, "%s/metadata.csv", copy);
    FILE *m = fopen(p, "a");
    assert_non_null(m);
    fputs("longtext|", m);
    for (int i = 0; i < 3000; i++) fputs("word ", m);
    fputs("\n", m);
    fclose(m);
    snprintf(p, sizeof p, "cp %s/wavs/u3.wav %s/wavs/longtext.wav", copy, copy);
    assert_int_equal(system(p), 0);
    fclose(log);
    log = fopen(lp, "w");
    assert_int_equal(dataset_load(copy, cache, 0, NULL, NULL, &d2, log), TTS_OK);
    assert_int_equal(d2.n, N_TEXTS);
    for (size_t i = 0; i < d2.n; i++) assert_string_not_equal(d2.items[i].id, "longtext");
    dataset_free(&d2);
    fclose(log);
    snprintf(p, sizeof p, "grep -q 'longtext: .* text symbols for .* frames' %s", lp);
    if (system(p) != 0) fail_msg("the long text was not reported (see %s)", lp);
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
        cmocka_unit_test(test_resume_is_exact_self_fed),
        cmocka_unit_test(test_learns_self_fed),
        cmocka_unit_test(test_learns_free_run),
        cmocka_unit_test(test_resume_is_exact_free_run),
        cmocka_unit_test(test_free_run_from),
        cmocka_unit_test(test_resume_pre_batchnorm_checkpoint),
        cmocka_unit_test(test_evaluation_leaves_training_alone),
        cmocka_unit_test(test_spoken_dtw),
        cmocka_unit_test(test_export_follows_dev_score),
        cmocka_unit_test(test_render_teacher_forced),
        cmocka_unit_test(test_mel_bands),
        cmocka_unit_test(test_writes_never_follow_links),
        cmocka_unit_test(test_failed_checkpoint_is_an_error),
        cmocka_unit_test(test_stale_files_removed),
        cmocka_unit_test(test_feature_cache_follows_the_wavs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
