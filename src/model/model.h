/*
 * model.h - the acoustic model (internal): a small Tacotron-2-style
 * attention encoder-decoder that turns symbol ids into normalized log-mel
 * frames.
 *
 *   ids ─► embedding ─► 3 × (conv1d k5, batch norm, ReLU, dropout) ─► BiLSTM ─► memory
 *   memory ─► location-sensitive attention ◄─ attention GRU ◄─ prenet(previous frame), context
 *   [attention GRU, context] ─► decoder GRU ─► [.., context] ─► linear: r frames + r stop logits
 *   frames ─► postnet (5 × conv1d, tanh) residual
 *
 * The parameters live in one block described by one table (name, shape,
 * offset): it drives initialisation, saving, loading, zeroing gradients, the
 * optimizer and the gradient checks.  The model (config + weights) is
 * read-only during synthesis; per-run state lives in taco_infer_state.
 *
 *   taco.c        the parameter table and the forward pass (encoder, prenet,
 *                 decoder step, postnet), shared by the two below
 *   taco_train.c  the training pass: forward over a batch, losses, backward
 *   taco_infer.c  synthesis: the forward pass plus the attention window and
 *                 the stop rule
 *   taco_io.c     safetensors files; taco_pack.c packed decoder weights
 *
 * Batch norm (cfg.enc_batchnorm; models made before it have none) trains
 * gamma and beta and keeps running statistics.  The running statistics are
 * buffers: entries of the table flagged `buffer`, laid out after every
 * trained tensor, so the optimizer runs over the first n_trained floats only
 * and the backward pass never writes them; they are saved and loaded like
 * weights.  Inference folds batch norm into the convolution (taco_fold), so
 * it costs nothing there:
 *   w' = w gamma / sqrt(var + eps),  b' = (b - mean) gamma / sqrt(var + eps) + beta
 *
 * Like src/nn, this file's sources are also compiled as double inside the
 * gradient tests (NN_REAL): taco.c and taco_train.c; taco_io.c (files) and
 * taco_infer.c are float only.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_MODEL_H
#define TTS_MODEL_H

#include <stdatomic.h>

#include "dsp/dsp.h"
#include "nn/nn.h"

#define TACO_MAX_CONV 8
#define TACO_MAX_PARAMS 96  /* 61 at most without batch norm, 93 with */
#define TACO_MAX_MELS 128

typedef struct taco_config {
    int n_symbols;      /* size of the symbol table */
    int emb;            /* 256: symbol embedding */
    int enc_convs;      /* 3 */
    int enc_ch;         /* 256 */
    int enc_k;          /* 5 */
    int enc_batchnorm;  /* 1: batch norm after each encoder conv; 0 in files without the field */
    int enc_lstm;       /* 128 per direction; memory width D = 2*enc_lstm */
    int att_dim;        /* 128 */
    int loc_filters;    /* 32 */
    int loc_k;          /* 31 */
    int prenet1;        /* 256 */
    int prenet2;        /* 128 */
    int att_rnn;        /* 256 */
    int dec_rnn;        /* 256 */
    int n_mels;         /* 80 */
    int r;              /* 3: frames per decoder step */
    int post_convs;     /* 5 */
    int post_ch;        /* 128 */
    int post_k;         /* 5 */
    float enc_dropout;  /* 0.5 */
    float prenet_dropout; /* 0.5, also at inference */
    /* the voice's audio and features (absent in older files: the values of then) */
    int sample_rate;    /* 22050 Hz */
    int n_fft;          /* 1024 */
    int hop;            /* 256 */
    int win;            /* 1024 */
    float fmin, fmax;   /* mel band limits: 0, 8000 Hz */
} taco_config;

NN_API taco_config taco_config_default(int n_symbols);

/* The features a model was trained on: dsp parameters from its config. */
NN_API dsp_params taco_dsp_params(const taco_config *c);

typedef struct taco_param {
    char name[40];
    int ndim;
    int shape[3];
    size_t offset;   /* in elements from the start of the block */
    size_t size;     /* elements */
    int buffer;      /* 1: not trained (batch-norm running statistics): no gradient,
                        no optimizer step, no weight decay; saved and loaded */
} taco_param;

/* Named views into one parameter-shaped block (weights, gradients or
 * optimizer moments all share the layout). */
typedef struct taco_weights {
    real *emb;                                   /* (V, E) */
    real *conv_w[TACO_MAX_CONV], *conv_b[TACO_MAX_CONV]; /* (C, K, Cin), (C) */
    real *bn_gamma[TACO_MAX_CONV], *bn_beta[TACO_MAX_CONV]; /* (C) each, when enc_batchnorm */
    real *lf_wih, *lf_whh, *lf_bih, *lf_bhh;     /* forward LSTM */
    real *lb_wih, *lb_whh, *lb_bih, *lb_bhh;     /* backward LSTM */
    real *mem_w, *mem_b;                         /* (A, D), (A) */
    real *query_w;                               /* (A, Hatt) */
    real *loc_w;                                 /* (F, Kloc, 2) */
    real *loc_dense;                             /* (A, F) */
    real *att_v;                                 /* (A) */
    real *pre1_w, *pre1_b, *pre2_w, *pre2_b;     /* (P1, M), (P2, P1) */
    real *arnn_wih, *arnn_whh, *arnn_bih, *arnn_bhh; /* in P2 + D */
    real *drnn_wih, *drnn_whh, *drnn_bih, *drnn_bhh; /* in Hatt + D */
    real *proj_w, *proj_b;                       /* (r*(M+1), Hdec + D) */
    real *post_w[TACO_MAX_CONV], *post_b[TACO_MAX_CONV];
    /* buffers, after everything trained */
    real *bn_mean[TACO_MAX_CONV], *bn_var[TACO_MAX_CONV]; /* (C) running statistics */
} taco_weights;

/* Packed copies of the decoder-step weights for the AVX-512 kernel (gemm.h):
 * wih^T, whh^T (forward) and wih, whh (backward) of both GRUs, and the
 * attention query weights.  Made by taco_pack (float builds only); NULL
 * entries fall back to OpenBLAS. */
struct nn_packed;
typedef struct taco_packed {
    const struct nn_packed *arnn[4], *drnn[4];
    const struct nn_packed *query[2];
    /* inference only (NULL when packed for training): the attention's
       {query, location conv, location dense}, the prenet, the projection, the
       memory layer, the encoder convolutions (folded when there is a fold)
       and LSTM input weights, and the postnet: every product of synthesis */
    const struct nn_packed *att[3];
    const struct nn_packed *pre1, *pre2, *proj, *mem;
    const struct nn_packed *enc_conv[TACO_MAX_CONV], *post[TACO_MAX_CONV];
    const struct nn_packed *lstm_f[2], *lstm_b[2];  /* {wih^T, whh^T} of each direction */
    void *storage;
} taco_packed;

typedef struct taco_model {
    taco_config cfg;
    int n_params;
    taco_param params[TACO_MAX_PARAMS];
    size_t n_floats;        /* total parameter count, buffers included */
    size_t n_trained;       /* the first n_trained floats are trained; buffers follow */
    real *data;             /* the weights (owned unless mapped) */
    taco_weights w;
    float mel_mean[TACO_MAX_MELS], mel_std[TACO_MAX_MELS]; /* per-band normalization */
    void *file;             /* the mapped safetensors file when loaded, else NULL */
    taco_packed *packed;    /* packed decoder weights, or NULL */
    /* the encoder convolutions with batch norm folded in (taco_fold), or NULL:
       inference then applies batch norm with the running statistics itself */
    real *folded;
    real *fold_w[TACO_MAX_CONV], *fold_b[TACO_MAX_CONV];  /* views into folded */
} taco_model;

/* Fill the parameter table from cfg (no allocation of weights). Returns 0,
 * or -1 when cfg is out of range. */
NN_API int taco_layout(taco_model *m, const taco_config *cfg);
/* Point named views into a block laid out like m's parameters. */
NN_API void taco_point(const taco_model *m, real *base, taco_weights *w);
/* Random initialisation (Xavier-uniform style, biases zero, forget-gate bias 1;
 * batch norm: gamma 1, beta 0, running mean 0 and variance 1). */
NN_API void taco_init_random(taco_model *m, nn_rng *rng);

/* ---------------------------------------------------------- files (taco_io.c, float only) */

#include "tts.h"

/* A new model of cfg with its own zeroed weights. */
tts_status taco_model_new(const taco_config *cfg, taco_model **out);
/* Load models/NAME.safetensors: the config from "__metadata__"."config",
 * then every tensor validated by name, dtype, shape and offsets; the weights
 * are mapped read-only unless copy != 0 (training needs writable weights).
 * A read-only model never changes, so its batch norm is folded in here, once
 * (taco_fold).  On failure tts_last_error() names the file and the tensor. */
tts_status taco_model_load(const char *path, int copy, taco_model **out);
void taco_model_free(taco_model *m); /* accepts NULL */
/* Save weights and config (+ extra metadata pairs) atomically.  When
 * extra_blocks != NULL, n_extra blocks of n_floats each are stored too, as
 * "<extra_names[i]>.<param name>" for the trained tensors (optimizer moments
 * in checkpoints; buffers have none). */
tts_status taco_model_save(const taco_model *m, const char *path, const char *const *keys,
                           const char *const *values, size_t n_meta, const real *const *extra_blocks,
                           const char *const *extra_names, size_t n_extra);
/* Copy the stored block "<name>.<param>" of a file opened by taco_model_load
 * (with copy != 0) into dst, for every trained param (buffers' entries of dst
 * are left alone); TTS_ERR_MODEL_MISMATCH if absent. */
tts_status taco_model_read_extra(const taco_model *m, const char *name, real *dst);
/* (Re)pack the decoder-step weights after they change: forward copies, and
 * backward ones too when with_backward (training).  Returns 0, -1 on
 * allocation failure (the model then runs unpacked). */
int taco_pack(taco_model *m, int with_backward);
/* After taco_pack(m, 0), for synthesis: the decoder-step weights in half
 * precision (nn_pack_halve), which halves what each step reads from memory.
 * Returns 0 (also when nothing is packed), -1 on allocation failure (the
 * weights then stay as they were, some halved). */
int taco_pack_halve(taco_model *m);
void taco_unpack(taco_model *m);
/* Weights mapped from the file (a model loaded without copy) that will not be
 * read again, such as the sources of packed copies: their whole pages leave
 * the process's resident memory (madvise MADV_DONTNEED).  The mapping is
 * private and read-only, so a later read still sees the file's values, faulted
 * in again.  Anything else (copied weights, NULL) is left alone. */
void taco_release_weights(const taco_model *m, const real *p, size_t n_floats);
/* Fold batch norm into the encoder convolutions for inference (m->folded;
 * nothing to do without batch norm).  Call after the weights last change:
 * taco_infer uses the folded copy whenever there is one.  Returns 0, -1 on
 * allocation failure (inference then applies batch norm unfolded). */
int taco_fold(taco_model *m);

/* A metadata string of the loaded file, or NULL. */
const char *taco_model_meta(const taco_model *m, const char *key);

/* ---------------------------------------------------------- the forward pass (taco.c)
 *
 * One forward pass, run by the training pass (taco_train.c: a padded batch,
 * every step's activations kept for backward) and by inference
 * (taco_infer.c: one utterance, which adds only the attention window and the
 * stop rule).  The activations are views the caller points into its own
 * buffers; inference lets some alias, as marked, since it keeps nothing. */

struct taco_shard;

typedef enum taco_bn_mode {
    TACO_BN_BATCH,    /* by the batch's own statistics (training) */
    TACO_BN_RUNNING,  /* by the running statistics (evaluation; inference unfolded) */
    TACO_BN_FOLDED    /* folded into the convolutions (inference; m->folded, else as RUNNING) */
} taco_bn_mode;

/* The encoder's activations of a (B,N) batch. */
typedef struct taco_enc_acts {
    real *emb;                      /* (B,N,E) */
    real *col[TACO_MAX_CONV];       /* (B,N,K*Cin) each convolution's unfolded input */
    real *conv[TACO_MAX_CONV];      /* (B,N,C) convolution output, before batch norm (may be act) */
    real *act[TACO_MAX_CONV];       /* (B,N,C) after batch norm and ReLU */
    real *mask[TACO_MAX_CONV];      /* (B,N,C) dropout masks, or NULL: no dropout */
    real *out[TACO_MAX_CONV];       /* (B,N,C) after dropout, padding zeroed (may be act) */
    real *mean[TACO_MAX_CONV], *var[TACO_MAX_CONV]; /* (C) the statistics normalized by: written
                                       (NULL allowed unless TACO_BN_BATCH) */
    real *lf_cache, *lb_cache;      /* lstm_cache_floats(B,N,H) each (may be one buffer) */
    real *lscratch;                 /* (B,8H) */
    real *hf, *hb;                  /* (B,N,H) the two directions */
    real *enc;                      /* (B,N,D) the memory: [hf, hb] */
    real *pm;                       /* (B,N,A) its projection for the attention */
} taco_enc_acts;

/* ids (B,N) with nlen[b] valid each -> a (padding rows zero).  Returns the
 * valid rows of the whole batch (every share's, with sh) for TACO_BN_BATCH,
 * else 0. */
NN_API size_t taco_encode(const taco_model *m, const taco_enc_acts *a, const int32_t *ids, const int *nlen,
                          int B, int N, taco_bn_mode bn, const struct taco_shard *sh);

/* The prenet of n decoder inputs x (n,M): p1 (n,P1) after ReLU, p1d (n,P1)
 * after its dropout mask1 (n,P1), p2 (n,P2) after ReLU (layer 2's dropout is
 * applied by the decoder step). */
NN_API void taco_prenet(const taco_model *m, real *p1, real *p1d, real *p2, const real *x, const real *mask1,
                        int n);

/* One decoder step of B rows. */
typedef struct taco_dec_acts {
    const real *p2, *p2_mask;       /* (B,P2) prenet output and its dropout mask (NULL: none) */
    const real *ctx_prev;           /* (B,D) previous context; NULL: zeros (the first step);
                                       may be ctx */
    const real *hatt_prev, *hdec_prev; /* (B,Ha), (B,Hd) previous GRU states */
    const real *aprev;              /* (B,N) previous attention weights */
    real *cum;                      /* (B,N) cumulative weights before this step; align is added */
    real *xatt, *hatt, *catt;       /* (B,P2+D) attention GRU input, (B,Ha) state, (B,4Ha) cache */
    real *align, *ctx;              /* (B,N) attention weights, (B,D) context */
    real *af, *as, *acol, *ascr;    /* attention caches (B,N,F), (B,N,A), (B,N,2K), scratch */
    real *xdec, *hdec, *cdec;       /* (B,Ha+D) decoder GRU input, (B,Hd) state, (B,4Hd) cache */
    real *xout;                     /* (B,Hd+D) the output layer's input */
    real *y;                        /* (B,r(M+1)) r frames, then r stop logits interleaved
                                       (frame k at k(M+1), its logit after it); NULL: the
                                       caller projects xout of many steps at once */
    real *gx, *gh;                  /* GRU scratch (B,3max(Ha,Hd)) each */
} taco_dec_acts;

/* Called between the attention and the decoder GRU with the step's weights
 * and context, which it may change (inference's monotonic window). */
typedef void (*taco_window_fn)(real *align, real *ctx, void *user);

/* enc (B,N,D) and pm (B,N,A) from taco_encode; window may be NULL. */
NN_API void taco_decoder_step(const taco_model *m, const taco_dec_acts *d, const real *enc, const real *pm,
                              const int *nlen, int B, int N, taco_window_fn window, void *user);

/* The postnet over frames in (B,T,M), rows t >= len[b] zero: col[i] (B,T,K*Cin)
 * and act[i] (B,T,Cout) for each conv (tanh, padding zeroed, except the last,
 * which is the residual (B,T,M)).  Buffers may be shared between layers but
 * act[i] must differ from act[i-1]. */
NN_API void taco_postnet(const taco_model *m, real *const *col, real *const *act, const real *in,
                         const int *len, int B, int T);

/* ---------------------------------------------------------- training (taco_train.c) */

/* A padded batch.  ids (B,N) padded with 0; mel (B,T,M) normalized with T a
 * multiple of r, rows t >= tlen[b] are padding.  mel is the target; the
 * decoder's inputs (the last frame of each previous step) come from mel_in
 * when it is set (same shape: for example the model's own predictions, fed
 * back without a gradient through them), else from mel (teacher forcing). */
typedef struct taco_batch {
    int B, N, T;
    const int32_t *ids;
    const int *nlen;
    const real *mel;
    const int *tlen;
    const real *mel_in;
    const uint64_t *seeds; /* (B) per-item seeds of the dropout masks and free-run
                              draws, or NULL: drawn from rng in batch order.  With
                              per-item seeds an item draws the same masks in any
                              batch, so a batch split over processes trains as
                              the whole (data-parallel training) */
} taco_batch;

/* Data-parallel training: the batch of a pass is this process's share of a
 * larger one.  The loss gradients are normalized by the whole batch's cell
 * counts, so the shares' gradients sum to the whole batch's; batch-norm
 * statistics (and their gradient terms) are summed over every share. */
typedef struct taco_shard {
    double mel_cells;     /* Σ tlen[b] * n_mels over the whole batch */
    double stop_cells;    /* B * T of the whole batch (every share is padded to T) */
    double guided_cells;  /* Σ min(ceil(tlen/r), S) * min(nlen, N) over the whole batch */
    /* sums n doubles over every share, in place, the same call on each */
    void (*allreduce)(double *buf, int n, void *user);
    void *user;
} taco_shard;

/* Per-channel sums go to the other shares in blocks of this many channels
 * through a buffer on the stack: nothing can fail between two collective
 * calls, so no share can skip one the others wait in. */
#define TACO_SHARE_BLOCK 64

typedef struct taco_loss {
    double mel_before, mel_after, stop, guided, total;
    double diag;   /* share of attention mass within ±0.1 of the diagonal */
} taco_loss;

typedef struct taco_train_opts {
    real guided_weight;   /* 10: weight of the guided-attention loss */
    real guided_g;        /* 0.2 */
    real stop_weight;     /* 1 */
    real stop_pos_weight; /* 5: weight of the positive class of the stop gate */
    int dropout;          /* 1 = use dropout (training), 0 = off, 2 = in the prenet only
                             (as at inference: a teacher-forced rendering) */
    int bn_running;       /* 0 = batch norm by the batch's statistics (training),
                             1 = by the running statistics (evaluation, as inference) */
    real free_run;        /* 0: scheduled sampling.  With this probability per item
                             and step, the decoder's input is its own last frame of
                             the previous step, made in the same pass as at inference
                             (a constant: no gradient flows back through it) instead
                             of the given frame.  The pass then equals one with those
                             frames given in mel_in (taco_train_inputs reads them). */
    uint64_t free_run_seed; /* seeds the draws of free_run (when the batch has no seeds) */
    const taco_shard *shard; /* NULL: the batch is whole */
} taco_train_opts;

NN_API taco_train_opts taco_train_opts_default(void);

/* Activation caches for one batch; grows as needed. */
typedef struct taco_train_ws taco_train_ws;
NN_API void taco_train_ws_free(taco_train_ws *ws);

/* Forward pass, losses, and (if grad != NULL) backward pass accumulating
 * into grad (a block laid out like m->data).  Dropout masks are drawn from
 * rng.  Returns 0, or -1 on allocation failure.  *ws is created on first use. */
NN_API int taco_train_step(const taco_model *m, real *grad, const taco_batch *batch,
                    const taco_train_opts *opts, nn_rng *rng, taco_train_ws **ws,
                    taco_loss *loss);
/* After a training step (bn_running 0), move the running statistics of batch
 * norm towards that batch's by NN_BN_MOMENTUM.  A separate step, so that a
 * forward pass alone never changes the model; the trainer calls it after each
 * update, never after evaluation.  Does nothing without batch norm or after a
 * step that used the running statistics. */
NN_API void taco_bn_update(taco_model *m, const taco_train_ws *ws);
/* Alignment of the last step (T_dec, B, N) and predicted mel after postnet (B,T,M). */
NN_API const real *taco_train_alignment(const taco_train_ws *ws, int *T_dec, int *B, int *N);
NN_API const real *taco_train_mel(const taco_train_ws *ws);
/* The decoder's frames before the postnet (B,T,M): what inference feeds back. */
NN_API const real *taco_train_mel_before(const taco_train_ws *ws);
/* The stop logits (B,T). */
NN_API const real *taco_train_stop(const taco_train_ws *ws);
/* The decoder's inputs of the last step (T_dec, B, M): step s reads row s,
 * the frame before its first (zeros for s = 0). */
NN_API const real *taco_train_inputs(const taco_train_ws *ws, int *T_dec, int *B);

/* ---------------------------------------------------------- inference */

typedef enum taco_stop_reason {
    TACO_STOP_GATE = 0,      /* the stop gate fired with the focus at the end */
    TACO_STOP_CAP = 1,       /* frame cap reached: an alignment failure */
    TACO_STOP_END_OF_TEXT = 2 /* attention reached the end and stayed: stopped there */
} taco_stop_reason;

typedef struct taco_infer_state taco_infer_state;

/* Buffers for inputs up to max_n symbols; allocated once. */
int taco_infer_create(const taco_model *m, int max_n, taco_infer_state **out);
/* A flag (may be NULL) checked before every decoder step: when it is set,
 * taco_infer ends the sentence early (the caller checks the flag and drops
 * the result), so a cancel takes effect within one step. */
void taco_infer_set_cancel(taco_infer_state *s, const atomic_int *flag);
void taco_infer_free(taco_infer_state *s);
/* Synthesize log-mel frames (denormalized: ready for the vocoder) for
 * ids[0..n).  *mel (frames, M) is owned by s and valid until the next call.  max_frames_per_symbol bounds
 * the output (the frame cap), seed drives prenet dropout. */
int taco_infer(taco_infer_state *s, const int32_t *ids, int n, float max_frames_per_symbol,
               uint64_t seed, const real **mel, int *n_frames, taco_stop_reason *reason);
/* taco_infer in stages, for audio before the sentence is decoded to its end.
 * taco_infer_begin encodes ids[0..n) and readies the decoder (-1 on bad ids
 * or no memory).  taco_infer_decode runs the decoder until at least
 * until_frames frames exist or it stops: returns 1 when it has stopped
 * (*reason says why; *n_frames is then final), 0 when it paused with
 * *n_frames decoded.  taco_infer_postnet finishes rows [from, to) of the
 * decoded frames into log-mel ready for the vocoder, at those rows of the
 * returned buffer (valid until the next begin); a row is what taco_infer
 * gives once the decoder has stopped, or once taco_infer_reach() more
 * frames have been decoded after it (the postnet's reach plus the frames
 * the end-of-text check may take back). */
int taco_infer_begin(taco_infer_state *s, const int32_t *ids, int n, float max_frames_per_symbol,
                     uint64_t seed);
int taco_infer_decode(taco_infer_state *s, int until_frames, int *n_frames, taco_stop_reason *reason);
const real *taco_infer_postnet(taco_infer_state *s, int from, int to);
int taco_infer_reach(const taco_infer_state *s);
/* The encoder alone (taco_infer's first stage): the memory (n, 2*enc_lstm)
 * of ids[0..n), owned by s and valid until the next call; NULL on bad ids. */
const real *taco_infer_encode(taco_infer_state *s, const int32_t *ids, int n);
/* The window on (1, the default) or off: off only to compare taco_infer with
 * the training pass, which has none (tests). */
void taco_infer_set_window(taco_infer_state *s, int on);
/* The decoder's frames of the last taco_infer, normalized, before the
 * postnet: *n_rows = steps * r rows (M each), what each step output, the
 * frames beyond the stop included; row s*r - 1 was step s's input. */
const real *taco_infer_frames_before(const taco_infer_state *s, int *n_rows);
/* Alignment of the last taco_infer: (steps, n). */
const real *taco_infer_alignment(const taco_infer_state *s, int *steps, int *n);

#endif
