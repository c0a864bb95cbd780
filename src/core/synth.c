/*
 * synth.c - text to audio, sentence by sentence: normalize and split the
 * text, then for each sentence phonemize, run the acoustic model, change the
 * pace, vocode with Griffin-Lim, and shape the edges.
 *
 * Markup (SSML, [[IPA]]) and the lexicon are read by the text front end
 * (src/text/markup.c, utterance.c): a sentence arrives here as segments of
 * text and IPA, with its own speed and volume factors and the silence after
 * it; a pause alone (<break> before any speech) is a chunk of silence.
 *
 * Loudness is the model's own: no sentence is normalized on its own, so
 * sentences keep their relative levels; each sentence is faded in and out
 * over 5 ms so chunk edges never click.  When the model fails to align a
 * sentence (frame cap), the sentence is synthesized again in two halves
 * split at a word boundary, down to three levels, and the chunk carries
 * TTS_ERR_ATTENTION as a warning: noise is never emitted as speech.
 * The sentence silence goes between sentences, not after the last one.
 * Word timings come from the attention of each piece (words.c).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/words.h"
#include "dsp/dsp.h"
#include "text/text.h"

#define FRAMES_PER_SYMBOL 8.0f  /* the frame cap: far above the ~3 of normal speech */
#define FADE_SECONDS 0.005f
#define STREAM_FIRST 0.3    /* seconds: the first piece of a sentence ends at 0.3-0.6 s */
#define STREAM_CONTEXT 8    /* frames vocoded past each end of a piece */

struct tts_synth {
    const tts_voice *voice;
    tts_options o;
    taco_infer_state *inf;
    dsp_features *dsp;
    text_utterance utt;
    size_t next;
    text_frontend fe;        /* the voice's front end with this synthesizer's dictionary */
    char *markup_warning;    /* reported on the first chunk, then freed */
    float *mel;      /* accumulated log-mel of the sentence (frames, M) */
    size_t mel_cap;  /* in frames */
    size_t n_mel;
    float *mel2;     /* after the pace change */
    size_t mel2_cap;
    float *audio;
    size_t audio_cap;
    int failed;      /* an attention failure in this sentence */
    unsigned stops;  /* TTS_STOP_* of the sentence's pieces */
    size_t n_unreadable;  /* characters left out of the text, not yet reported */
    uint32_t first_unreadable;
    char *ipa;         /* the sentence's IPA while it is synthesized */
    int *fpos;         /* the symbol each frame of s->mel speaks (words.c) */
    size_t fpos_cap;
    words_plan plan;   /* the sentence's words */
    tts_word *words;
    size_t words_cap;
    atomic_int cancel; /* set by tts_synth_cancel (any thread, or a signal handler) */
    /* the sentence in progress (a long one is given in pieces) */
    int in_sentence;     /* a sentence has begun and its last chunk is not out */
    int decoding;        /* the acoustic model is paused inside it */
    size_t cur;          /* its index */
    size_t emitted;      /* frames of s->mel already given out as audio */
    size_t prev_emitted; /* ... before the last chunk */
    float speed, volume, pause;
    uint64_t seed;
    int stream;          /* the sentence may come in pieces (options.stream, a chunk with `more`) */
    float *tail;         /* the last piece's audio past its end: faded into the next */
    size_t tail_cap;
};

static int cancelled(tts_synth *s)
{
    return atomic_load_explicit(&s->cancel, memory_order_relaxed) != 0;
}

void tts_synth_cancel(tts_synth *s)
{
    if (s) atomic_store_explicit(&s->cancel, 1, memory_order_relaxed);
}

static int grow(float **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t n = need + need / 2 + 64;
    float *q = realloc(*p, n * sizeof(float));
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int options_valid(const tts_options *o)
{
    return o->speed >= 0.25f && o->speed <= 4.0f && o->volume >= 0.0f && o->volume <= 4.0f &&
           o->sentence_silence >= 0.0f && o->sentence_silence <= 10.0f && o->gl_iters >= 1 &&
           o->gl_iters <= 1000 && o->sharpen >= 0.5f && o->sharpen <= 3.0f;
}

tts_status tts_synth_create(const tts_voice *voice, const tts_options *opts, tts_synth **out)
{
    tts_error_clear();
    if (!out || !voice) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_synth_create: NULL argument");
    *out = NULL;
    tts_synth *s = calloc(1, sizeof *s);
    if (!s) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
    s->voice = voice;
    s->fe = voice->fe;
    tts_options_default(voice, &s->o);
    /* a program built before `stream` existed passes the shorter struct: the
       fields it knows, the defaults for the rest */
    if (opts && (opts->size < offsetof(tts_options, stream) || opts->size > 65536)) {
        free(s);
        return tts_error_set(TTS_ERR_INVALID_ARG, "tts_synth_create: options.size is %zu: fill the "
                             "options with tts_options_default first", opts->size);
    }
    if (opts) memcpy(&s->o, opts, opts->size < sizeof s->o ? opts->size : sizeof s->o);
    s->o.size = sizeof s->o;
    if (!options_valid(&s->o)) {
        free(s);
        return tts_error_set(TTS_ERR_INVALID_ARG, "options out of range (speed 0.25-4, volume 0-4, "
                             "sentence silence 0-10 s, Griffin-Lim iterations 1-1000)");
    }
    dsp_params p = taco_dsp_params(&voice->model->cfg);
    tts_status st = dsp_features_create(&p, &s->dsp);
    if (st != TTS_OK || taco_infer_create(voice->model, 160, &s->inf) != 0) {
        tts_synth_free(s);
        return tts_error_set(st != TTS_OK ? st : TTS_ERR_NOMEM, "cannot allocate a synthesizer");
    }
    /* a cancel ends the decoder loop and Griffin-Lim within one step */
    taco_infer_set_cancel(s->inf, &s->cancel);
    dsp_features_set_cancel(s->dsp, &s->cancel);
    *out = s;
    return TTS_OK;
}

void tts_synth_free(tts_synth *s)
{
    if (!s) return;
    taco_infer_free(s->inf);
    dsp_features_free(s->dsp);
    text_utterance_free(&s->utt);
    free(s->markup_warning);
    free(s->mel);
    free(s->mel2);
    free(s->audio);
    free(s->fpos);
    words_plan_free(&s->plan);
    free(s->words);
    free(s->ipa);
    free(s->tail);
    free(s);
}

const tts_voice *tts_synth_voice(const tts_synth *s) { return s ? s->voice : NULL; }

void tts_chunk_init(tts_chunk *ch)
{
    if (!ch) return;
    memset(ch, 0, sizeof *ch);
    ch->size = sizeof *ch;
}

static tts_status start_text(tts_synth *s, const char *text, int ssml)
{
    tts_error_clear();
    if (!s || !text) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_synth_start: NULL argument");
    text_utterance_free(&s->utt);
    s->next = 0;
    s->in_sentence = 0;
    s->decoding = 0;
    atomic_store_explicit(&s->cancel, 0, memory_order_relaxed);
    free(s->markup_warning);
    s->markup_warning = NULL;
    s->n_unreadable = 0;
    text_items items;
    tts_status st = ssml || text_is_ssml(text) ? text_markup_ssml(text, &items) : text_markup_plain(text, &items);
    if (st != TTS_OK)
        return tts_error_set(st, "%s", st == TTS_ERR_UTF8 ? "the text is not valid UTF-8" : "cannot read the markup");
    st = text_frontend_sentences(&s->fe, &items, &s->utt);
    if (st == TTS_OK && items.warning) {
        char buf[700];
        if (items.n_warnings > 1)
            snprintf(buf, sizeof buf, "%s (and %zu more markup problems)", items.warning, items.n_warnings - 1);
        else
            snprintf(buf, sizeof buf, "%s", items.warning);
        s->markup_warning = strdup(buf);
    }
    text_items_free(&items);
    if (st != TTS_OK)
        return tts_error_set(st, "%s", st == TTS_ERR_UTF8 ? "the text is not valid UTF-8" : "cannot normalize the text");
    if (!s->markup_warning && s->utt.n_unknown_ipa) {
        char buf[200];
        snprintf(buf, sizeof buf, "left out %zu IPA symbol%s the voice does not know, the first U+%04X",
                 s->utt.n_unknown_ipa, s->utt.n_unknown_ipa == 1 ? "" : "s", (unsigned)s->utt.first_unknown_ipa);
        s->markup_warning = strdup(buf);
    }
    s->n_unreadable = s->utt.n_unreadable;
    s->first_unreadable = s->utt.first_unreadable;
    if (s->utt.n_speech == 0) {
        text_utterance_free(&s->utt);
        if (s->n_unreadable)
            return tts_error_set(TTS_ERR_EMPTY_TEXT, "nothing to speak: the voice (%s) cannot read any of the "
                                 "text (%zu characters such as U+%04X left out)", s->voice->espeak_voice,
                                 s->n_unreadable, (unsigned)s->first_unreadable);
        return tts_error_set(TTS_ERR_EMPTY_TEXT, "nothing to speak in the text");
    }
    return TTS_OK;
}

tts_status tts_synth_start(tts_synth *s, const char *text)
{
    return start_text(s, text, 0);
}

tts_status tts_synth_start_ssml(tts_synth *s, const char *ssml)
{
    return start_text(s, ssml, 1);
}

tts_status tts_synth_set_lexicon(tts_synth *s, const tts_lexicon *lex)
{
    tts_error_clear();
    if (!s) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_synth_set_lexicon: NULL synthesizer");
    s->fe.lex = lex;
    return TTS_OK;
}

tts_status tts_lexicon_add(tts_lexicon *lex, const char *word, const char *pronunciation)
{
    tts_error_clear();
    tts_status st = text_lexicon_add(lex, word, pronunciation);
    if (st == TTS_ERR_INVALID_ARG)
        return tts_error_set(st, "tts_lexicon_add: want a word without spaces and a pronunciation");
    if (st != TTS_OK)
        return tts_error_set(st, "lexicon entry '%.60s': %s", word,
                             tts_last_error()[0] ? tts_last_error() : tts_status_message(st));
    return TTS_OK;
}

tts_status tts_lexicon_load(const char *path, tts_lexicon **out)
{
    tts_error_clear();
    if (!path || !out) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_lexicon_load: NULL argument");
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return tts_error_set(TTS_ERR_IO, "cannot open the lexicon '%s': %s", path, strerror(errno));
    tts_lexicon *lex = NULL;
    tts_status st = tts_lexicon_create(&lex);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    long got;
    while (st == TTS_OK && (got = text_lexicon_read_line(fp, &line, &cap)) != -1) {
        lineno++;
        if (got == -3) {
            st = TTS_ERR_NOMEM;
            break;
        }
        if (got == -2) {
            st = tts_error_set(TTS_ERR_MARKUP, "%s:%zu: a line longer than %d bytes (is this a lexicon?)", path,
                               lineno, TEXT_LEXICON_MAX_LINE);
            break;
        }
        if (memchr(line, 0, (size_t)got)) {
            st = tts_error_set(TTS_ERR_MARKUP, "%s:%zu: a NUL byte (is this a text file?)", path, lineno);
            break;
        }
        st = text_lexicon_parse_line(lex, line);
        if (st != TTS_OK)
            tts_error_set(st, "%s:%zu: %s", path, lineno, tts_last_error()[0] ? tts_last_error() : tts_status_message(st));
    }
    if (st == TTS_OK && ferror(fp)) st = tts_error_set(TTS_ERR_IO, "cannot read the lexicon '%s'", path);
    if (st == TTS_ERR_NOMEM) tts_error_set(st, "out of memory");
    free(line);
    fclose(fp);
    if (st != TTS_OK) {
        tts_lexicon_free(lex);
        return st;
    }
    *out = lex;
    return TTS_OK;
}

/* Append rows [from, to) of the acoustic model's last decode to the
 * sentence's frames (s->mel from row s->n_mel on), with the symbol each
 * speaks (offset: symbols of s->ipa before the piece). */
static tts_status append_frames(tts_synth *s, int from, int to, int offset)
{
    int M = s->voice->model->cfg.n_mels;
    size_t n = (size_t)(to - from), need = s->n_mel + n;
    if (to <= from) return TTS_OK;
    if (grow(&s->mel, &s->mel_cap, need * M)) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
    if (need > s->fpos_cap) {
        size_t cap = need * 2;
        int *p = realloc(s->fpos, cap * sizeof *p);
        if (!p) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
        s->fpos = p;
        s->fpos_cap = cap;
    }
    const real *mel = taco_infer_postnet(s->inf, from, to);
    memcpy(s->mel + s->n_mel * M, mel + (size_t)from * M, sizeof(float) * n * M);
    /* which symbol each frame speaks, for the word timings */
    int steps, na;
    const real *al = taco_infer_alignment(s->inf, &steps, &na);
    words_frame_positions(al, steps, na, s->voice->model->cfg.r, from, to, offset, s->fpos + s->n_mel);
    s->n_mel = need;
    return TTS_OK;
}

/* Encode a piece of the sentence's IPA and start the acoustic model on it;
 * *started = 0 when there is nothing to say (only BOS and EOS). */
static tts_status piece_begin(tts_synth *s, const char *text, uint64_t seed, int *started)
{
    *started = 0;
    if (cancelled(s)) return tts_error_set(TTS_ERR_CANCELLED, "synthesis cancelled");
    int32_t *ids = NULL;
    size_t n = 0, dropped = 0;
    tts_status st = text_encode(text, &ids, &n, &dropped);
    if (st != TTS_OK) return tts_error_set(st, "cannot encode the phonemes: %.80s", text);
    /* symbols newer than the model are dropped like unknown ones */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < s->voice->model->cfg.n_symbols) ids[k++] = ids[i];
    n = k;
    if (n > 2) {
        if (taco_infer_begin(s->inf, ids, (int)n, FRAMES_PER_SYMBOL, seed) != 0) {
            free(ids);
            return tts_error_set(TTS_ERR_NOMEM, "out of memory in the acoustic model");
        }
        *started = 1;
    }
    free(ids);
    return TTS_OK;
}

static tts_status synth_piece(tts_synth *s, const char *text, size_t base, uint64_t seed, int depth);

/* The acoustic model has stopped on a piece (nf frames, why): keep its
 * frames, or, when it failed to align, say the text again in pieces.
 * kept: frames of this decode already given out as audio (a sentence
 * streamed in chunks); those stay, and only the words after them are said
 * again. */
static tts_status piece_end(tts_synth *s, const char *text, size_t base, uint64_t seed, int depth, int nf,
                            taco_stop_reason why, int kept)
{
    if (cancelled(s)) return tts_error_set(TTS_ERR_CANCELLED, "synthesis cancelled");
    s->stops |= why == TACO_STOP_GATE ? TTS_STOP_GATE : why == TACO_STOP_CAP ? TTS_STOP_FRAME_CAP
                                                                            : TTS_STOP_END_OF_TEXT;
    int offset = s->ipa ? words_symbol_offset(s->ipa, base, s->voice->model->cfg.n_symbols) : 0;
    if (why != TACO_STOP_CAP) return append_frames(s, kept, nf, offset);
    s->failed = 1;
    size_t len = strlen(text), cut = 0;
    if (kept > 0) {
        /* part of it is out already: go on from the first word boundary after
           the symbol its last frame spoke (s->fpos, kept by append_frames:
           symbols count from 0 and this is the sentence's first piece) */
        int spoken = s->fpos[kept - 1] + 1, n_sym = s->voice->model->cfg.n_symbols;
        for (size_t i = 0; i < len && !cut; i++)
            if (text[i] == ' ' && words_symbol_offset(text, i, n_sym) >= spoken) cut = i;
        if (!cut) return TTS_OK;  /* it was at the last word */
        return synth_piece(s, text + cut + 1, base + cut + 1, seed + 1, depth + 1);
    }
    /* retry in two halves split at the word boundary nearest the middle */
    size_t mid = len / 2;
    for (size_t d = 0; d < mid && !cut; d++) {
        if (text[mid + d] == ' ') cut = mid + d;
        else if (text[mid - d] == ' ') cut = mid - d;
    }
    if (depth < 3 && cut > 0 && cut < len - 1) {
        char *a = strndup(text, cut), *b = strdup(text + cut + 1);
        if (!a || !b) { free(a); free(b); return tts_error_set(TTS_ERR_NOMEM, "out of memory"); }
        tts_status st = synth_piece(s, a, base, seed + 1, depth + 1);
        if (st == TTS_OK) st = synth_piece(s, b, base + cut + 1, seed + 2, depth + 1);
        free(a);
        free(b);
        return st;
    }
    return TTS_OK;  /* a word the model cannot align: leave it out rather than emit noise */
}

/* Synthesize a piece of the sentence's IPA (at byte `base` of s->ipa) to its
 * end and append its frames to s->mel.  depth bounds the retries. */
static tts_status synth_piece(tts_synth *s, const char *text, size_t base, uint64_t seed, int depth)
{
    int started;
    tts_status st = piece_begin(s, text, seed, &started);
    if (st != TTS_OK || !started) return st;
    int nf;
    taco_stop_reason why;
    taco_infer_decode(s->inf, INT_MAX, &nf, &why);
    return piece_end(s, text, base, seed, depth, nf, why, 0);
}

/* Start a sentence: its prosody, words and IPA, and the acoustic model on
 * it (decoded later, by next_piece). */
static tts_status sentence_begin(tts_synth *s, size_t idx)
{
    const text_usent *u = &s->utt.v[idx];
    s->cur = idx;
    s->n_mel = 0;
    s->emitted = 0;
    s->failed = 0;
    s->stops = 0;
    s->decoding = 0;
    /* the sentence's prosody on the options */
    float speed = s->o.speed * u->rate, volume = s->o.volume * u->volume;
    s->speed = speed < 0.25f ? 0.25f : speed > 4.0f ? 4.0f : speed;
    s->volume = volume < 0.0f ? 0.0f : volume > 4.0f ? 4.0f : volume;
    float pause = u->pause >= 0 ? u->pause : s->o.sentence_silence;
    if (pause < u->min_pause) pause = u->min_pause;
    if (idx + 1 == s->utt.n && u->pause < 0) pause = 0;  /* silence goes between sentences */
    s->pause = pause > 60.0f ? 60.0f : pause;
    s->seed = s->o.seed * 0x9E3779B97F4A7C15ull + idx + 1;
    words_plan_free(&s->plan);
    free(s->ipa);
    s->ipa = NULL;
    if (!u->n_segs) return TTS_OK;
    char *ipa = NULL;
    tts_status st = text_frontend_ipa(&s->fe, u, &ipa);
    if (st != TTS_OK) return tts_error_set(st, "espeak-ng failed on: %.80s", u->text);
    st = words_plan_build(u, s->fe.espeak_voice, ipa, s->voice->model->cfg.n_symbols, &s->plan);
    if (st != TTS_OK) { free(ipa); return tts_error_set(st, "cannot find the words of: %.80s", u->text); }
    s->ipa = ipa;
    int started;
    st = piece_begin(s, ipa, s->seed, &started);
    s->decoding = st == TTS_OK && started;
    return st;
}

/* Decode on until the next piece of audio can be given out.  A sentence
 * at the voice's own pace comes in pieces: the first ends at the quietest
 * frame between STREAM_FIRST and twice that, each next one is two to four
 * times as long as the one before, so a player always has audio to play
 * while the next is made.  Sets *seam to where this chunk's frames end (0: the whole
 * sentence is in s->mel, n_mel frames). */
static tts_status next_piece(tts_synth *s, size_t *seam)
{
    *seam = 0;
    if (!s->decoding) return TTS_OK;
    const taco_config *c = &s->voice->model->cfg;
    int M = c->n_mels, reach = taco_infer_reach(s->inf);
    size_t lo = 0, hi = 0;
    if (s->stream && s->speed == 1.0f) {
        double fps = (double)s->voice->sample_rate / c->hop;
        size_t len = s->emitted ? 2 * (s->emitted - s->prev_emitted) : (size_t)(STREAM_FIRST * fps + 0.5);
        lo = s->emitted + len;
        hi = s->emitted + 2 * len;
    }
    int nf;
    taco_stop_reason why;
    int until = hi ? (int)hi + STREAM_CONTEXT + reach : INT_MAX;
    if (!taco_infer_decode(s->inf, until, &nf, &why)) {
        /* paused: the rows up to hi + context are final */
        tts_status st = append_frames(s, (int)s->n_mel, nf - reach, 0);
        if (st != TTS_OK) return st;
        /* the quietest frame (mean log-mel over three frames) in [lo, hi] */
        double best = INFINITY;
        for (size_t t = lo; t <= hi; t++) {
            double e = 0;
            for (size_t k = t - 1; k <= t + 1; k++)
                for (int b = 0; b < M; b++) e += s->mel[k * M + b];
            if (e < best) { best = e; *seam = t; }
        }
        return TTS_OK;
    }
    s->decoding = 0;
    /* an alignment failure after some of it is out: what is out stays, the
       rest is said again */
    if (why == TACO_STOP_CAP && s->emitted) s->n_mel = s->emitted;
    return piece_end(s, s->ipa, 0, s->seed, 0, nf, why, (int)s->n_mel);
}

static tts_status make_chunk(tts_synth *s, tts_chunk *ch);

tts_status tts_synth_skip(tts_synth *s)
{
    tts_error_clear();
    if (!s) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_synth_skip: NULL argument");
    if (s->in_sentence) {
        s->in_sentence = s->decoding = 0;
        free(s->ipa);
        s->ipa = NULL;
    } else if (s->next < s->utt.n) {
        s->next++;
    }
    return TTS_OK;
}

tts_status tts_synth_next(tts_synth *s, tts_chunk *ch)
{
    tts_error_clear();
    if (!s || !ch) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_synth_next: NULL argument");
    /* a program built before `more` existed passes the shorter struct: it
       gets one chunk per sentence, and only the fields it knows are written */
    size_t size = ch->size;
    if (size < offsetof(tts_chunk, more) || size > 65536)
        return tts_error_set(TTS_ERR_INVALID_ARG, "tts_synth_next: chunk.size is %zu: set it with "
                             "tts_chunk_init first", size);
    tts_chunk full;
    tts_chunk_init(&full);
    full.sample_rate = s->voice->sample_rate;
    tts_status st = TTS_OK;
    if (cancelled(s)) {
        st = tts_error_set(TTS_ERR_CANCELLED, "synthesis cancelled");
    } else if (!s->in_sentence && s->next >= s->utt.n) {
        full.done = 1;
    } else {
        if (!s->in_sentence) {
            s->stream = s->o.stream && size >= offsetof(tts_chunk, more) + sizeof full.more;
            st = sentence_begin(s, s->next++);
            s->in_sentence = st == TTS_OK;
            s->prev_emitted = 0;
        }
        if (st == TTS_OK) st = make_chunk(s, &full);
        if (st != TTS_OK) s->in_sentence = s->decoding = 0;  /* the next call goes on with the next sentence */
    }
    memcpy(ch, &full, size < sizeof full ? size : sizeof full);
    ch->size = size;
    return st;
}

/* The sentence's next chunk: its next piece, or all that is left of it. */
static tts_status make_chunk(tts_synth *s, tts_chunk *ch)
{
    size_t seam;
    tts_status st = next_piece(s, &seam);
    if (st != TTS_OK) return st;
    const text_usent *u = &s->utt.v[s->cur];
    int M = s->voice->model->cfg.n_mels, hop = s->voice->model->cfg.hop;
    int last = seam == 0;
    /* pace: resample the frame sequence in time (linear interpolation); a
       sentence in pieces is at the voice's pace (speed 1: none) */
    size_t nf = s->n_mel;
    size_t nf2 = nf ? (size_t)((double)nf / s->speed + 0.5) : 0;
    if (nf && nf2 < 1) nf2 = 1;
    const float *mel = s->mel;
    if (nf2 != nf) {
        if (grow(&s->mel2, &s->mel2_cap, nf2 * M)) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
        for (size_t t = 0; t < nf2; t++) {
            double x = nf2 > 1 ? (double)t * (nf - 1) / (nf2 - 1) : 0;
            size_t i0 = (size_t)x, i1 = i0 + 1 < nf ? i0 + 1 : i0;
            float w = (float)(x - i0);
            for (int k = 0; k < M; k++)
                s->mel2[t * M + k] = (1 - w) * s->mel[i0 * M + k] + w * s->mel[i1 * M + k];
        }
        mel = s->mel2;
    }
    /* this chunk: paced frames [from, to), vocoded with context on both sides */
    size_t from = s->emitted, to = last ? nf2 : seam;
    size_t a = from > STREAM_CONTEXT ? from - STREAM_CONTEXT : 0;
    size_t b = last ? nf2 : seam + STREAM_CONTEXT;
    size_t xf = (size_t)hop;  /* half the cross-fade between pieces */
    size_t start = from ? from * hop - xf : 0;   /* samples of the sentence */
    size_t end = last ? to * hop : to * hop - xf;
    size_t n_sil = last ? (size_t)(s->pause * ch->sample_rate) : 0;
    if (grow(&s->audio, &s->audio_cap, (b - a) * hop + n_sil + 1))
        return tts_error_set(TTS_ERR_NOMEM, "out of memory");
    if (cancelled(s)) return tts_error_set(TTS_ERR_CANCELLED, "synthesis cancelled");
    if (b > a) {
        st = dsp_griffin_lim(s->dsp, mel + a * M, b - a, s->o.gl_iters, s->o.sharpen, s->audio);
        if (st != TTS_OK) return tts_error_set(st, "the vocoder failed");
        if (cancelled(s)) return tts_error_set(TTS_ERR_CANCELLED, "synthesis cancelled");
    }
    float *out = s->audio + (start - a * hop);
    size_t n_speech = end - start;
    if (from) /* fade from the last piece's tail into this one */
        for (size_t i = 0; i < 2 * xf && i < n_speech; i++) {
            float w = (i + 0.5f) / (float)(2 * xf);
            out[i] = (1 - w) * s->tail[i] + w * out[i];
        }
    if (!last) {
        if (grow(&s->tail, &s->tail_cap, 2 * xf)) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
        memcpy(s->tail, out + n_speech, 2 * xf * sizeof(float));
    }
    /* volume, clipping, the sentence's edge fades */
    size_t fade = (size_t)(FADE_SECONDS * ch->sample_rate);
    if (fade * 2 > n_speech) fade = n_speech / 2;
    for (size_t i = 0; i < n_speech; i++) {
        float v = out[i] * s->volume;
        if (!isfinite(v)) return tts_error_set(TTS_ERR_NUMERIC, "the vocoder produced NaN");
        if (!from && i < fade) v *= (float)i / fade;
        if (last && i >= n_speech - fade) v *= (float)(n_speech - 1 - i) / fade;
        out[i] = v > 1 ? 1 : v < -1 ? -1 : v;
    }
    memset(out + n_speech, 0, sizeof(float) * n_sil);
    s->prev_emitted = s->emitted;
    s->emitted = to;
    ch->samples = out;
    ch->n_samples = n_speech + n_sil;
    ch->text = u->text;
    ch->sentence = s->cur;
    ch->more = !last;
    if (!last) return TTS_OK;
    s->in_sentence = 0;
    /* the words' times: input frame f spans nf2 * hop / nf samples of the
       paced audio, counted from this chunk's first sample */
    if (s->plan.n > s->words_cap) {
        tts_word *w = realloc(s->words, s->plan.n * sizeof *w);
        if (!w) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
        s->words = w;
        s->words_cap = s->plan.n;
    }
    if (s->plan.n) {
        double t0 = (double)start / ch->sample_rate;
        words_times(&s->plan, s->fpos, nf, nf ? (double)(nf2 * hop) / (double)nf / ch->sample_rate : 0, s->words);
        for (size_t w = 0; w < s->plan.n; w++) {
            s->words[w].start -= t0;
            s->words[w].end -= t0;
        }
    }
    free(s->ipa);
    s->ipa = NULL;
    ch->words = s->plan.n ? s->words : NULL;
    ch->n_words = s->plan.n;
    ch->warning = s->failed ? TTS_ERR_ATTENTION : TTS_OK;
    ch->stops = s->stops;
    if (ch->warning == TTS_OK && s->markup_warning) {  /* reported once per text */
        ch->warning = TTS_ERR_MARKUP;
        tts_error_set(TTS_OK, "%s", s->markup_warning);
        free(s->markup_warning);
        s->markup_warning = NULL;
    } else if (ch->warning == TTS_OK && s->n_unreadable) {  /* reported once per text */
        ch->warning = TTS_ERR_UNREADABLE;
        tts_error_set(TTS_OK, "left out %zu character%s the voice (%s) cannot read, the first U+%04X",
                      s->n_unreadable, s->n_unreadable == 1 ? "" : "s", s->voice->espeak_voice,
                      (unsigned)s->first_unreadable);
        s->n_unreadable = 0;
    }
    return TTS_OK;
}

tts_status tts_phonemize(const tts_voice *voice, const char *text, char **out)
{
    tts_error_clear();
    if (!text || !out) return tts_error_set(TTS_ERR_INVALID_ARG, "tts_phonemize: NULL argument");
    *out = NULL;
    text_frontend en;
    const text_frontend *fe = voice ? &voice->fe : &en;
    if (!voice) {
        tts_status st = text_frontend_open(&en, "en-us", NULL, TEXT_MAX_SENTENCE_CHARS);
        if (st != TTS_OK) return tts_error_set(st, "espeak-ng cannot load 'en-us'");
    }
    text_items items;
    tts_status st = text_is_ssml(text) ? text_markup_ssml(text, &items) : text_markup_plain(text, &items);
    if (st != TTS_OK) return tts_error_set(st, "cannot read the text");
    text_utterance u = {0};
    st = text_frontend_sentences(fe, &items, &u);
    text_items_free(&items);
    if (st != TTS_OK) return tts_error_set(st, "cannot normalize the text");
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    for (size_t i = 0; buf && i < u.n; i++) {
        if (!u.v[i].n_segs) continue;
        char *ipa = NULL;
        st = text_frontend_ipa(fe, &u.v[i], &ipa);
        if (st != TTS_OK) break;
        size_t need = len + strlen(u.v[i].text) + strlen(ipa) + 3;
        if (need > cap) {
            char *nb = realloc(buf, cap = need * 2);
            if (!nb) { free(ipa); free(buf); buf = NULL; break; }
            buf = nb;
        }
        len += (size_t)sprintf(buf + len, "%s\t%s\n", u.v[i].text, ipa);
        free(ipa);
    }
    text_utterance_free(&u);
    if (!buf) return tts_error_set(TTS_ERR_NOMEM, "out of memory");
    if (st != TTS_OK) { free(buf); return tts_error_set(st, "espeak-ng failed"); }
    buf[len] = 0;
    *out = buf;
    return TTS_OK;
}
