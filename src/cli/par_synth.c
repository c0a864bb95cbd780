/*
 * par_synth.c - one text made by several synthesizers at once (see
 * par_synth.h).
 *
 * Each worker thread has a queue of QUEUE chunks it made (copied out of its
 * synthesizer, which reuses its buffers at the next call).  The reader takes
 * sentence s from worker s % n.  A new text raises the generation: workers
 * still on the old one find their next push refused and go idle, and none
 * begins the new text before every synthesizer has started it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "cli/par_synth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE 4
#define MAX_WORKERS 16

enum { ITEM_CHUNK, ITEM_ERROR, ITEM_DONE };

typedef struct item {
    int kind;
    tts_status st;     /* ITEM_ERROR: the sentence's status */
    tts_chunk ch;      /* samples, text and words point into the copies below */
    float *samples;
    char *text;
    tts_word *words;
    char *message;     /* tts_last_error() in the worker, or NULL */
} item;

typedef struct worker {
    struct par_synth *p;
    int k;
    tts_synth *syn;
    pthread_t thread;
    item q[QUEUE];
    int head, count;   /* the queue, under p->lock */
    int running;       /* inside run_text, under p->lock */
    unsigned gen;      /* the generation it last began */
} worker;

struct par_synth {
    int n, threads, rate;
    worker w[MAX_WORKERS];
    pthread_mutex_t lock;
    pthread_cond_t changed;  /* a push, a pop, a new generation, quit */
    unsigned gen;
    int starting, quit;
    size_t sentence;         /* the sentence the reader takes next */
    int finished;            /* done (or cancelled: st_end) was handed out */
    tts_status st_end;
    item cur;                /* the item last handed out, freed at the next call */
};

static void item_free(item *it)
{
    free(it->samples);
    free(it->text);
    if (it->words)
        for (size_t i = 0; i < it->ch.n_words; i++) free((char *)it->words[i].text);
    free(it->words);
    free(it->message);
    memset(it, 0, sizeof *it);
}

/* A deep copy of a chunk into it; 0, or -1 without memory. */
static int item_copy(item *it, const tts_chunk *ch)
{
    it->kind = ITEM_CHUNK;
    it->ch = *ch;
    it->samples = malloc((ch->n_samples ? ch->n_samples : 1) * sizeof(float));
    it->text = strdup(ch->text ? ch->text : "");
    it->words = ch->n_words ? calloc(ch->n_words, sizeof(tts_word)) : NULL;
    if (!it->samples || !it->text || (ch->n_words && !it->words)) return -1;
    memcpy(it->samples, ch->samples, ch->n_samples * sizeof(float));
    for (size_t i = 0; i < ch->n_words; i++) {
        it->words[i] = ch->words[i];
        if (!(it->words[i].text = strdup(ch->words[i].text))) return -1;
    }
    it->ch.samples = it->samples;
    it->ch.text = it->text;
    it->ch.words = it->words;
    return 0;
}

/* Queue it for the reader; 0 when the text was replaced (or quit) meanwhile. */
static int push(worker *w, unsigned gen, item *it)
{
    struct par_synth *p = w->p;
    pthread_mutex_lock(&p->lock);
    while (w->count == QUEUE && p->gen == gen && !p->quit) pthread_cond_wait(&p->changed, &p->lock);
    int ok = p->gen == gen && !p->quit;
    if (ok) {
        w->q[(w->head + w->count) % QUEUE] = *it;
        w->count++;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

/* Make this worker's sentences of the current text, skipping the others. */
static void run_text(worker *w, unsigned gen)
{
    tts_chunk ch;
    tts_chunk_init(&ch);
    for (size_t i = 0;;) {
        if ((int)(i % (size_t)w->p->n) != w->k) {
            tts_synth_skip(w->syn);
            i++;
            continue;
        }
        tts_status st = tts_synth_next(w->syn, &ch);
        item it = {0};
        if (st != TTS_OK) {
            it.kind = ITEM_ERROR;
            it.st = st;
            it.ch.sentence = i;
            it.message = strdup(tts_last_error());
        } else if (ch.done) {
            it.kind = ITEM_DONE;
        } else {
            /* the warnings given once per text (markup, unreadable characters)
               come with sentence 0, from worker 0 */
            if (w->k != 0 && (ch.warning == TTS_ERR_MARKUP || ch.warning == TTS_ERR_UNREADABLE))
                ch.warning = TTS_OK;
            if (item_copy(&it, &ch) != 0) {
                item_free(&it);
                it.kind = ITEM_ERROR;
                it.st = TTS_ERR_NOMEM;
                it.ch.sentence = i;
            } else if (ch.warning != TTS_OK) {
                it.message = strdup(tts_last_error());
            }
        }
        if (!push(w, gen, &it)) {
            item_free(&it);
            return;
        }
        if (it.kind == ITEM_DONE || st == TTS_ERR_CANCELLED) return;
        if (st != TTS_OK || !ch.more) i++;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct par_synth *p = w->p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->quit && (p->starting || w->gen == p->gen)) pthread_cond_wait(&p->changed, &p->lock);
        if (p->quit) break;
        unsigned gen = w->gen = p->gen;
        w->running = 1;
        pthread_mutex_unlock(&p->lock);
        run_text(w, gen);
        pthread_mutex_lock(&p->lock);
        w->running = 0;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

tts_status par_synth_create(const tts_voice *voice, const tts_options *o, int n, par_synth **out)
{
    *out = NULL;
    if (n < 2 || n > MAX_WORKERS) return TTS_ERR_INVALID_ARG;
    par_synth *p = calloc(1, sizeof *p);
    if (!p) return TTS_ERR_NOMEM;
    p->n = n;
    p->rate = tts_voice_sample_rate(voice);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    tts_status st = TTS_OK;
    for (int k = 0; k < n && st == TTS_OK; k++) {
        p->w[k].p = p;
        p->w[k].k = k;
        st = tts_synth_create(voice, o, &p->w[k].syn);
    }
    for (int k = 0; k < n && st == TTS_OK; k++) {
        if (pthread_create(&p->w[k].thread, NULL, worker_main, &p->w[k]) != 0) st = TTS_ERR_NOMEM;
        else p->threads++;
    }
    if (st != TTS_OK) {
        par_synth_free(p);
        return st;
    }
    *out = p;
    return TTS_OK;
}

void par_synth_free(par_synth *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    for (int k = 0; k < p->n; k++) tts_synth_cancel(p->w[k].syn);
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    for (int k = 0; k < p->threads; k++) pthread_join(p->w[k].thread, NULL);
    for (int k = 0; k < p->n; k++) {
        for (int i = 0; i < p->w[k].count; i++) item_free(&p->w[k].q[(p->w[k].head + i) % QUEUE]);
        tts_synth_free(p->w[k].syn);
    }
    item_free(&p->cur);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

tts_synth *par_synth_get(par_synth *p, int k)
{
    return p && k >= 0 && k < p->n ? p->w[k].syn : NULL;
}

tts_status par_synth_start(par_synth *p, const char *text, tts_status (*start)(tts_synth *, const char *))
{
    /* the workers leave the last text (cancelled, their pushes refused) and wait */
    pthread_mutex_lock(&p->lock);
    p->gen++;
    p->starting = 1;
    for (int k = 0; k < p->n; k++) tts_synth_cancel(p->w[k].syn);
    pthread_cond_broadcast(&p->changed);
    for (;;) {
        int busy = 0;
        for (int k = 0; k < p->n; k++) busy |= p->w[k].running;
        if (!busy) break;
        pthread_cond_wait(&p->changed, &p->lock);
    }
    for (int k = 0; k < p->n; k++) {
        worker *w = &p->w[k];
        for (int i = 0; i < w->count; i++) item_free(&w->q[(w->head + i) % QUEUE]);
        w->head = w->count = 0;
    }
    item_free(&p->cur);
    p->sentence = 0;
    p->finished = 0;
    pthread_mutex_unlock(&p->lock);
    /* every synthesizer starts the whole text (none is in use now) */
    tts_status st = TTS_OK;
    for (int k = 0; k < p->n && st == TTS_OK; k++) st = start(p->w[k].syn, text);
    pthread_mutex_lock(&p->lock);
    if (st != TTS_OK) {
        p->finished = 1;
        p->st_end = TTS_ERR_EMPTY_TEXT;
        for (int k = 0; k < p->n; k++) p->w[k].gen = p->gen;  /* nothing to begin */
    }
    p->starting = 0;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    return st;
}

tts_status par_synth_next(par_synth *p, tts_chunk *ch, const char **message)
{
    *message = "";
    item_free(&p->cur);
    size_t size = ch->size;
    tts_chunk_init(ch);
    ch->size = size;
    ch->sample_rate = p->rate;
    if (p->finished) {
        if (p->st_end != TTS_OK) return p->st_end;
        ch->done = 1;
        return TTS_OK;
    }
    worker *w = &p->w[p->sentence % (size_t)p->n];
    pthread_mutex_lock(&p->lock);
    while (w->count == 0) pthread_cond_wait(&p->changed, &p->lock);
    item it = w->q[w->head];
    w->head = (w->head + 1) % QUEUE;
    w->count--;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    p->cur = it;
    if (it.message) *message = it.message;
    switch (it.kind) {
    case ITEM_DONE:
        p->finished = 1;
        p->st_end = TTS_OK;
        ch->done = 1;
        return TTS_OK;
    case ITEM_ERROR:
        if (it.st == TTS_ERR_CANCELLED) {  /* and every later call, until the next text */
            p->finished = 1;
            p->st_end = it.st;
        } else {
            p->sentence++;
        }
        ch->sentence = it.ch.sentence;
        return it.st;
    default:
        *ch = it.ch;
        ch->size = size;
        if (!it.ch.more) p->sentence++;
        return TTS_OK;
    }
}
