/*
 * tts_train.c - the tts-train program: trains a voice from an LJ Speech-
 * format dataset (metadata.csv + wavs/) and exports models/NAME.safetensors
 * and voices/NAME.json.  Interrupt it at any time (Ctrl-C checkpoints
 * first; even kill -9 loses at most the steps since the last checkpoint)
 * and run the same command again to resume.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cblas.h>

#include "train/trainer.h"
#include "core/safe_file.h"

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static void usage(FILE *f, const trainer_opts *d)
{
    taco_config dc = taco_config_default(1);
    fprintf(f,
        "usage: tts-train [options] DATASET_DIR STATE_DIR\n"
        "       mpirun -np N tts-train [options] DATASET_DIR STATE_DIR   (data parallel)\n"
        "Train a tts voice from an LJ Speech-format dataset (DATASET_DIR/metadata.csv with\n"
        "'id|text|normalized text' lines and DATASET_DIR/wavs/ID.wav, any sample rate).\n"
        "STATE_DIR keeps the resumable state (checkpoint, feature cache, plots, log.tsv,\n"
        "train.log); run the same command again to resume.  The defaults are the recipe\n"
        "of the bundled voice slt (15,000 steps, 3 h 21 min of one core; make eval: 1.23\n"
        "times its teacher's word error rate); 80 bands and no free running gave 49.7 %%\n"
        "WER against 21.4 %% at step 4,000.\n\n"
        "  --name NAME         voice name for the export (default: DATASET_DIR's name)\n"
        "  --models DIR        where NAME.safetensors is exported (default\n"
        "                      STATE_DIR/export/models)\n"
        "  --voices DIR        where NAME.json is exported (default STATE_DIR/export/voices)\n"
        "  --force             replace an exported voice that another run made\n"
        "  --license TEXT      licence of the training data, for the voice file (default:\n"
        "                      DATASET_DIR/LICENSE's first line, else \"unknown\")\n"
        "  --source TEXT       where the audio and text came from (default:\n"
        "                      DATASET_DIR/SOURCE's first line, else \"unknown\")\n"
        "  --dev DIR           held-out dataset (default DATASET_DIR/dev if present,\n"
        "                      else every 50th utterance)\n"
        "  --init FILE         start from these weights when STATE_DIR has no checkpoint\n"
        "  --export            export STATE_DIR's checkpoint as the voice NAME and exit\n"
        "  --render-tf         tts-train --render-tf --init MODEL DATASET_DIR OUT_DIR:\n"
        "                      render each utterance of the dataset teacher-forced (the\n"
        "                      decoder fed the true previous frame, as in training) to\n"
        "                      OUT_DIR/ID.wav, to compare with free-running synthesis\n"
        "  --espeak-voice V    espeak-ng voice of the front end (default: the one the\n"
        "                      model was trained with, else en-us)\n"
        "  --steps N           train until step N (default %ld)\n"
        "  --batch N           utterances per batch (default %d)\n"
        "  -r N                frames per decoder step (default %d; new models only)\n"
        "  --decoder-units N   units of each decoder GRU (attention and decoder; default\n"
        "                      %d; new models only)\n"
        "  --postnet-channels N  channels of the postnet convolutions (default %d; new\n"
        "                      models only)\n"
        "  --sample-rate HZ    a new model's sample rate (default 22050; the dataset's\n"
        "                      wavs are resampled to it)\n"
        "  --fmax HZ           a new model's top mel band edge (default: half the sample\n"
        "                      rate; 8000 for a 16 kHz teacher upsampled to 22050)\n"
        "  --mels N            mel bands of a new model's features (default %d, at most\n"
        "                      %d; 128 against 80 cost 0.4-1.3 points less WER in the\n"
        "                      vocoder alone)\n"
        "  --max-frames N      leave out longer utterances (default %d, 0 = none)\n"
        "  --lr X              peak learning rate (default %g)\n"
        "  --decay-start N     the learning rate decays after step N (default %ld)\n"
        "  --half-life N       ... halving every N steps (default %ld; 0 = no decay)\n"
        "  --guided-weight X   weight of the guided-attention loss (default %g)\n"
        "  --self-feed P       feed the decoder its own predicted frame at this share of\n"
        "                      steps (0-1; default %g = teacher forcing; costs one more\n"
        "                      forward pass per step)\n"
        "  --free-run P        feed the decoder its own last frame at this share of steps,\n"
        "                      made in the same pass as at inference (scheduled sampling:\n"
        "                      chains of own frames, no extra pass; default %g)\n"
        "  --free-run-from N   ... from step N on (default %ld; teacher forcing before it,\n"
        "                      while the attention finds the diagonal)\n"
        "  --eval-every N      dev evaluation and export interval (default %d)\n"
        "  --dev-speak N       dev sentences spoken freely at each evaluation, as the\n"
        "                      synthesizer speaks, and scored against their recordings\n"
        "                      (distance along a time warp, duration, alignment\n"
        "                      failures); exports follow that score (default %d; 0 =\n"
        "                      exports follow the teacher-forced dev loss)\n"
        "  --ckpt-every N      checkpoint interval (default %d)\n"
        "  --plot-every N      alignment and mel plots interval (default %d)\n"
        "  --log-every N       progress line interval when not a terminal (default %d)\n"
        "  --seed N            random seed (default %llu)\n"
        "  --threads N         OpenBLAS threads for the large products (default 1: training\n"
        "                      is planned on one core)\n"
        "  -q, --quiet         no progress line\n"
        "  --version           the version\n"
        "  -h, --help          this text\n"
        "Exit status: 0 done (or stopped by a signal after a checkpoint: 130), 1 usage,\n"
        "2 dataset, 3 model or training, 4 output.  See man tts-train.\n",
        d->steps, d->batch, d->r,
        dc.dec_rnn, dc.post_ch, d->n_mels, TACO_MAX_MELS, d->max_frames, (double)d->adam.lr, d->adam.decay_start, d->adam.decay_steps, (double)d->loss.guided_weight, (double)d->self_feed, (double)d->free_run, d->free_run_from, d->eval_every, d->dev_speak,
        d->ckpt_every, d->plot_every, d->log_every, (unsigned long long)d->seed);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* OpenBLAS picks its kernels when it loads, from OPENBLAS_CORETYPE.  Where
 * the CPU has AVX-512, tts-train asks for the SkylakeX kernels (measured
 * 28% faster per training step than the Haswell ones on the project's
 * machines) by starting itself again with that setting.  TTS_TRAIN_CORETYPE
 * overrides the choice; "keep" keeps the environment's. */
static void choose_blas_kernels(char **argv)
{
    if (getenv("TTS_TRAIN_REEXEC")) return;
    const char *want = getenv("TTS_TRAIN_CORETYPE");
    if (want && strcmp(want, "keep") == 0) return;
#if defined(__x86_64__)
    if (!want && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        want = "SkylakeX";
#endif
    const char *have = getenv("OPENBLAS_CORETYPE");
    if (!want || (have && strcmp(have, want) == 0)) return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("TTS_TRAIN_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);  /* on failure, carry on with the current kernels */
}

#ifdef TTS_HAVE_MPI
/* ---- data-parallel training over MPI (mpirun -np N tts-train ...) ----
 * The trainer only sees trainer_comm; these put it on MPI_COMM_WORLD.  A
 * rank that fails ends the whole run through MPI_Abort, so no rank waits
 * forever in a collective; a rank that dies is reported by mpirun, which
 * ends the others. */
#include <mpi.h>

static void mpi_allreduce_f(float *buf, size_t n, void *user)
{
    (void)user;
    for (size_t off = 0; off < n;) {  /* counts are int: large buffers in pieces */
        int k = n - off > (size_t)1 << 30 ? 1 << 30 : (int)(n - off);
        MPI_Allreduce(MPI_IN_PLACE, buf + off, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        off += (size_t)k;
    }
}

static void mpi_allreduce_d(double *buf, int n, void *user)
{
    (void)user;
    MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static void mpi_bcast(void *buf, size_t bytes, void *user)
{
    (void)user;
    for (size_t off = 0; off < bytes;) {
        int k = bytes - off > (size_t)1 << 30 ? 1 << 30 : (int)(bytes - off);
        MPI_Bcast((char *)buf + off, k, MPI_BYTE, 0, MPI_COMM_WORLD);
        off += (size_t)k;
    }
}

static void mpi_barrier(void *user)
{
    (void)user;
    MPI_Barrier(MPI_COMM_WORLD);
}
#endif

/* The log goes to stderr and to STATE_DIR/train.log (appended): a FILE that
 * writes both.  Falls back to stderr alone when the file cannot be made. */
typedef struct tee_files { FILE *a, *b; } tee_files;

static ssize_t tee_write(void *c, const char *buf, size_t n)
{
    tee_files *t = c;
    size_t w = fwrite(buf, 1, n, t->a);
    fflush(t->a);
    /* the log file keeps progress lines whole: a \r starts a new line there */
    for (size_t i = 0; i < n; i++) fputc(buf[i] == '\r' ? '\n' : buf[i], t->b);
    fflush(t->b);
    return (ssize_t)w;
}

static int tee_close(void *c)
{
    tee_files *t = c;
    int r = fclose(t->b);
    free(t);
    return r;
}

static FILE *open_train_log(const char *state_dir)
{
    char p[4200];
    mkdir(state_dir, 0755);
    snprintf(p, sizeof p, "%s/train.log", state_dir);
    tee_files *t = malloc(sizeof *t);
    if (!t) return stderr;
    t->a = stderr;
    t->b = fopen(p, "a");
    if (!t->b) { free(t); return stderr; }
    cookie_io_functions_t io = {.write = tee_write, .close = tee_close};
    FILE *f = fopencookie(t, "w", io);
    if (!f) { fclose(t->b); free(t); return stderr; }
    setvbuf(f, NULL, _IONBF, 0);
    return f;
}

int main(int argc, char **argv)
{
    if (safe_file_std_fds() != 0) return 6;  /* 2>&-: nothing else gets descriptor 2 */
    choose_blas_kernels(argv);
    trainer_opts o = trainer_opts_default();
    enum { O_NAME = 256, O_MODELS, O_VOICES, O_DEV, O_INIT, O_ESPEAK, O_STEPS, O_BATCH, O_MAXF,
           O_EXPORT, O_LR, O_DECAY, O_HALF, O_GW, O_FEED, O_FREE, O_EVAL, O_CKPT, O_PLOT, O_LOG, O_SEED, O_THREADS,
           O_DECUNITS, O_POSTCH, O_RENDER, O_MELS, O_FREEFROM, O_SPEAK, O_RATE, O_FMAX, O_FORCE, O_LICENSE, O_SOURCE, O_VERSION };
    static const struct option longopts[] = {
        {"name", 1, 0, O_NAME}, {"models", 1, 0, O_MODELS}, {"voices", 1, 0, O_VOICES},
        {"dev", 1, 0, O_DEV}, {"init", 1, 0, O_INIT}, {"export", 0, 0, O_EXPORT}, {"render-tf", 0, 0, O_RENDER}, {"espeak-voice", 1, 0, O_ESPEAK},
        {"steps", 1, 0, O_STEPS}, {"batch", 1, 0, O_BATCH}, {"max-frames", 1, 0, O_MAXF}, {"mels", 1, 0, O_MELS},
        {"sample-rate", 1, 0, O_RATE}, {"fmax", 1, 0, O_FMAX}, {"force", 0, 0, O_FORCE},
        {"license", 1, 0, O_LICENSE}, {"source", 1, 0, O_SOURCE}, {"version", 0, 0, O_VERSION},
        {"lr", 1, 0, O_LR}, {"decay-start", 1, 0, O_DECAY}, {"half-life", 1, 0, O_HALF},
        {"self-feed", 1, 0, O_FEED}, {"free-run", 1, 0, O_FREE}, {"free-run-from", 1, 0, O_FREEFROM}, {"guided-weight", 1, 0, O_GW}, {"eval-every", 1, 0, O_EVAL}, {"dev-speak", 1, 0, O_SPEAK},
        {"ckpt-every", 1, 0, O_CKPT}, {"plot-every", 1, 0, O_PLOT}, {"log-every", 1, 0, O_LOG},
        {"seed", 1, 0, O_SEED}, {"decoder-units", 1, 0, O_DECUNITS}, {"postnet-channels", 1, 0, O_POSTCH}, {"threads", 1, 0, O_THREADS}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    trainer_opts defaults = o;
    taco_config arch = taco_config_default(1);  /* n_symbols, n_mels, r: set by the trainer */
    int c, threads = 1, export_only = 0, render = 0;
    long v;
    while ((c = getopt_long(argc, argv, "r:qh", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case O_NAME: o.name = optarg; bad = !*optarg || strchr(optarg, '/') != NULL; break;
        case O_MODELS: o.models_dir = optarg; break;
        case O_VOICES: o.voices_dir = optarg; break;
        case O_DEV: o.dev_dir = optarg; break;
        case O_INIT: o.init_model = optarg; break;
        case O_EXPORT: export_only = 1; break;
        case O_RENDER: render = 1; break;
        case O_ESPEAK: o.espeak_voice = optarg; break;
        case O_STEPS: bad = parse_int(optarg, 1, 100000000, &v); o.steps = v; break;
        case O_BATCH: bad = parse_int(optarg, 1, 256, &v); o.batch = (int)v; break;
        case 'r': bad = parse_int(optarg, 1, 8, &v); o.r = (int)v; break;
        case O_MELS: bad = parse_int(optarg, 8, TACO_MAX_MELS, &v); o.n_mels = (int)v; break;
        case O_FORCE: o.force = 1; break;
        case O_LICENSE: o.license = optarg; break;
        case O_SOURCE: o.source = optarg; break;
        case O_VERSION: printf("tts-train %s\n", TTS_VERSION); return 0;
        case O_RATE: bad = parse_int(optarg, 8000, 48000, &v); o.sample_rate = (int)v; break;
        case O_FMAX: bad = parse_int(optarg, 0, 24000, &v); o.fmax = (float)v; break;
        case O_MAXF: bad = parse_int(optarg, 0, 100000, &v); o.max_frames = (int)v; break;
        case O_LR: o.adam.lr = strtof(optarg, NULL); bad = !(o.adam.lr > 0 && o.adam.lr < 1); break;
        case O_DECAY: bad = parse_int(optarg, 0, 100000000, &v); o.adam.decay_start = v; break;
        case O_HALF: bad = parse_int(optarg, 0, 100000000, &v); o.adam.decay_steps = v; break;
        case O_FEED: o.self_feed = strtof(optarg, NULL); bad = !(o.self_feed >= 0 && o.self_feed <= 1); break;
        case O_FREE: o.free_run = strtof(optarg, NULL); bad = !(o.free_run >= 0 && o.free_run <= 1); break;
        case O_FREEFROM: bad = parse_int(optarg, 0, 100000000, &v); o.free_run_from = v; break;
        case O_GW: o.loss.guided_weight = strtof(optarg, NULL); bad = !(o.loss.guided_weight >= 0); break;
        case O_EVAL: bad = parse_int(optarg, 0, 100000000, &v); o.eval_every = (int)v; break;
        case O_SPEAK: bad = parse_int(optarg, 0, 100000, &v); o.dev_speak = (int)v; break;
        case O_CKPT: bad = parse_int(optarg, 1, 100000000, &v); o.ckpt_every = (int)v; break;
        case O_PLOT: bad = parse_int(optarg, 0, 100000000, &v); o.plot_every = (int)v; break;
        case O_LOG: bad = parse_int(optarg, 1, 100000000, &v); o.log_every = (int)v; break;
        case O_SEED: bad = parse_int(optarg, 0, 0x7fffffffL, &v); o.seed = (uint64_t)v; break;
        case O_THREADS: bad = parse_int(optarg, 1, 64, &v); threads = (int)v; break;
        case O_DECUNITS:
            bad = parse_int(optarg, 8, 4096, &v);
            arch.att_rnn = arch.dec_rnn = (int)v;
            o.config = &arch;
            break;
        case O_POSTCH:
            bad = parse_int(optarg, 8, 4096, &v);
            arch.post_ch = (int)v;
            o.config = &arch;
            break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout, &defaults); return 0;
        default: usage(stderr, &defaults); return 1;
        }
        if (bad) {
            fprintf(stderr, "tts-train: invalid value '%s' for an option (see --help)\n", optarg);
            return 1;
        }
    }
    if (argc - optind != 2) { usage(stderr, &defaults); return 1; }
    o.data_dir = argv[optind];
    o.state_dir = argv[optind + 1];
    o.stop = &stop_flag;
    openblas_set_num_threads(threads);
    FILE *log = stderr;
    FILE *tee = NULL;
#ifdef TTS_HAVE_MPI
    trainer_comm comm = {.rank = 0, .size = 1, .allreduce_f = mpi_allreduce_f, .allreduce_d = mpi_allreduce_d,
                         .bcast = mpi_bcast, .barrier = mpi_barrier};
    int mpi_on = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
    if (mpi_on) {
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &comm.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &comm.size);
        o.comm = &comm;
        if (comm.size > 1 && (render || export_only)) {
            if (comm.rank == 0) fprintf(stderr, "tts-train: --render-tf and --export run as one process\n");
            MPI_Finalize();
            return 1;
        }
        /* rank 0 reports; the others speak only of their own failures */
        if (comm.rank > 0) o.quiet = 1;
    }
    if (comm.rank == 0)
#endif
    if (!render && !export_only) log = tee = open_train_log(o.state_dir);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);  /* the terminal went away: checkpoint and stop, as SIGTERM */
    tts_status st = render ? trainer_render_tf(&o, o.state_dir, log)
                    : export_only ? trainer_export(&o, log) : trainer_run(&o, log);
    if (st != TTS_OK) {
        int code = st == TTS_ERR_INVALID_ARG ? 1 : st == TTS_ERR_DATASET ? 2
                   : st == TTS_ERR_IO || st == TTS_ERR_NO_SPACE ? 4 : 3;
#ifdef TTS_HAVE_MPI
        if (o.comm) {
            fprintf(stderr, "tts-train: rank %d: %s; ending every rank\n", o.comm->rank, tts_status_message(st));
            MPI_Abort(MPI_COMM_WORLD, code);
        }
#endif
        fprintf(stderr, "tts-train: %s\n", tts_status_message(st));
        if (tee && tee != stderr) fclose(tee);
        return code;
    }
#ifdef TTS_HAVE_MPI
    if (o.comm) MPI_Finalize();
#endif
    if (tee && tee != stderr) fclose(tee);
    if (stop_flag && render) { fprintf(stderr, "tts-train: interrupted\n"); return 130; }
    if (stop_flag) { fprintf(stderr, "tts-train: interrupted; state saved in %s\n", o.state_dir); return 130; }
    return 0;
}
