/*
 * trainer.h - the training loop of tts-train (internal).
 *
 * State directory (outside the work tree), everything written atomically:
 *   ckpt.safetensors    weights (and batch-norm running statistics) + Adam
 *                       moments ("adam_m.*", "adam_v.*"), with
 *                       metadata step, lr_scale and seed: the run resumes exactly
 *                       (every random draw is a function of seed and step)
 *   features*.bin       the feature caches of the training and dev sets
 *   plots/              alignment and mel PNGs
 *   log.tsv             step, losses, dev loss, time
 * Export: MODELS_DIR/NAME.safetensors and VOICES_DIR/NAME.json whenever the
 * dev score improves: the free-running check of dev sentences (dev_speak),
 * else the teacher-forced dev loss.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_TRAINER_H
#define TTS_TRAINER_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "model/model.h"
#include "nn/adam.h"
#include "tts.h"

/* Data-parallel training: the processes ("ranks") of one run, and how they
 * talk.  The program supplies it (MPI in tts-train built with Open MPI); the
 * trainer only calls these.  Every rank runs the same steps on its share of
 * each batch; the gradients are summed, every rank applies the same update,
 * and rank 0 alone writes the log, plots, checkpoints and exports. */
typedef struct trainer_comm {
    int rank, size;
    void (*allreduce_f)(float *buf, size_t n, void *user);   /* sum over the ranks, in place */
    void (*allreduce_d)(double *buf, int n, void *user);     /* the same for doubles */
    void (*bcast)(void *buf, size_t bytes, void *user);      /* rank 0's bytes to every rank */
    void (*barrier)(void *user);
    void *user;
} trainer_comm;

typedef struct trainer_opts {
    const char *data_dir;    /* LJ Speech-format dataset */
    const char *dev_dir;     /* held-out set; NULL: DATA/dev when present, else 2% of DATA */
    const char *state_dir;   /* resumable state */
    const char *name;        /* voice name; NULL: the dataset folder's name */
    const char *models_dir;  /* NULL: STATE_DIR/export/models */
    const char *voices_dir;  /* NULL: STATE_DIR/export/voices */
    int force;               /* 0: never replace an exported voice another run made */
    const char *license;     /* licence of the training data; NULL: DATASET_DIR/LICENSE, else "unknown" */
    const char *source;      /* where the audio and text came from; NULL: DATASET_DIR/SOURCE, else "unknown" */
    const char *init_model;  /* weights to start from when there is no checkpoint (NULL: random) */
    const char *espeak_voice;/* NULL: the model's own (a checkpoint or --init model), else en-us */
    const taco_config *config; /* architecture of a new model; NULL: taco_config_default
                                  (n_symbols, n_mels and r are always set by the trainer) */
    int batch;               /* 16 */
    long steps;              /* 20000: stop after this many steps in all */
    int r;                   /* 3 */
    int n_mels;              /* 80: mel bands of a new model's features (a checkpoint
                                or an --init model keeps its own) */
    int sample_rate;         /* 22050: a new model's sample rate (the dataset's wavs
                                are resampled to it) */
    float fmax;              /* 0: a new model's top mel band edge in Hz; 0 = the
                                Nyquist frequency of sample_rate */
    int max_frames;          /* 600: longer utterances are left out */
    int log_every;           /* 50 */
    int eval_every;          /* 500 */
    int ckpt_every;          /* 250 */
    int plot_every;          /* 500 */
    int dev_items;           /* 64: dev utterances scored teacher-forced at each evaluation */
    int dev_speak;           /* 32: dev sentences also spoken freely at each evaluation
                                and scored against their recordings (train/spoken.h);
                                when nonzero, exports follow this score (fewest
                                alignment failures, then the smallest distance),
                                else the teacher-forced dev loss */
    uint64_t seed;           /* 1 */
    adam_opts adam;
    taco_train_opts loss;
    float self_feed;         /* 0: probability that a decoder step's input frame is the
                                model's own prediction (from a first pass without
                                gradients) rather than the truth; 0 = teacher forcing */
    float free_run;          /* 0: probability that a decoder step's input frame is the
                                model's own last frame of the previous step, made in
                                the same pass as at inference (scheduled sampling;
                                costs no extra pass) */
    long free_run_from;      /* 0: free running starts at this step (teacher forcing
                                before it, while the attention finds the diagonal) */
    int quiet;
    volatile sig_atomic_t *stop;  /* set by a signal handler: checkpoint and return */
    const trainer_comm *comm;     /* NULL: one process */
    const char *run_id;           /* set by the trainer: the id its exports carry */
} trainer_opts;

trainer_opts trainer_opts_default(void);

/* Train until o->steps or *o->stop.  Progress on log (one line, \r when a
 * terminal), errors too.  Returns TTS_OK, or the first fatal error. */
tts_status trainer_run(const trainer_opts *o, FILE *log);

/* Export the checkpoint in o->state_dir as it stands (weights only, no
 * optimizer moments) to o->models_dir/NAME.safetensors and
 * o->voices_dir/NAME.json: for a voice chosen by other means than the run's
 * dev score (word error rate on held-out sentences). */
tts_status trainer_export(const trainer_opts *o, FILE *log);

/* Render every utterance of the dataset o->data_dir teacher-forced with the
 * weights o->init_model: the decoder reads the true previous frame at every
 * step (prenet dropout on, as at inference; batch norm by its running
 * statistics), then the postnet and Griffin-Lim (32 iterations) make
 * out_dir/ID.wav.  Set beside free-running synthesis of the same sentences,
 * it splits a voice's errors into those of its frame predictions and those
 * its own fed-back frames add (exposure bias). */
tts_status trainer_render_tf(const trainer_opts *o, const char *out_dir, FILE *log);

#endif
