/*
 * phonemize.c - the espeak-ng wrapper: IPA with stress marks for normalized
 * text, clause by clause, with the clause marks put back.
 *
 * espeak-ng keeps global state, so it is initialised once per process
 * (AUDIO_OUTPUT_SYNCHRONOUS: no audio device is opened) and every call into
 * it holds one mutex; these are the only globals of the text front end.
 * espeak_TextToPhonemes (1.51) returns one clause per call and drops the
 * punctuation, so this file walks the clauses itself (text_next_clause, the
 * same boundaries as the splitter), feeds espeak one clause at a time, and
 * appends the clause's mark to the IPA.  espeak's output is cleaned: any
 * whitespace becomes one space, "(fr)"-style language-switch markers and
 * invalid bytes are removed.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>

#include "text/text.h"

static pthread_mutex_t espeak_lock = PTHREAD_MUTEX_INITIALIZER;
static int espeak_ready;        /* espeak_Initialize succeeded */
static char espeak_voice[64];   /* voice set in espeak; "" when none */

#define TEXT_DEFAULT_VOICE "en-us"

/* Whether some installed espeak-ng voice lists the language (case
 * insensitive).  espeak_VOICE.languages is a list of (priority byte,
 * NUL-terminated name) pairs ended by a zero priority byte. */
static int language_installed(const char *lang)
{
    const espeak_VOICE **voices = espeak_ListVoices(NULL);
    for (size_t k = 0; voices && voices[k]; k++) {
        const char *p = voices[k]->languages;
        while (p && *p) {
            const char *name = p + 1;
            if (strcasecmp(name, lang) == 0)
                return 1;
            p = name + strlen(name) + 1;
        }
    }
    return 0;
}

static char espeak_problem[600];  /* text_frontend_problem(); written under espeak_lock */

const char *text_frontend_problem(void) { return espeak_problem; }

/* espeak-ng's data for voice, checked before espeak-ng reads it (it trusts
 * its files and crashes on a truncated dictionary).  Caller holds espeak_lock. */
static tts_status check_data_locked(const char *voice)
{
    espeak_ng_InitializePath(NULL);  /* $ESPEAK_DATA_PATH or the built-in folder, as espeak_Initialize finds it */
    const char *dir = NULL;
    espeak_Info(&dir);
    if (dir && text_espeak_data_check(dir, voice, espeak_problem, sizeof espeak_problem) != 0)
        return TTS_ERR_PHONEMIZER;
    return TTS_OK;
}

/* Caller holds espeak_lock. */
static tts_status init_locked(const char *voice)
{
    espeak_problem[0] = 0;
    if (espeak_voice[0] && strcmp(voice, espeak_voice) == 0 && espeak_ready)
        return TTS_OK;
    if (check_data_locked(voice) != TTS_OK)
        return TTS_ERR_PHONEMIZER;
    if (!espeak_ready) {
        if (espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL,
                              espeakINITIALIZE_DONT_EXIT) < 0)
            return TTS_ERR_PHONEMIZER;
        espeak_ready = 1;
    }
    if (espeak_voice[0] && strcmp(voice, espeak_voice) == 0)
        return TTS_OK;
    if (strlen(voice) >= sizeof espeak_voice)
        return TTS_ERR_INVALID_ARG;
    /* a voice name ("en-us"), else a language ("en-gb" has no voice of
     * that name in 1.51 but the language matches) */
    if (espeak_SetVoiceByName(voice) != EE_OK) {
        /* by properties only for a language that exists: otherwise espeak
         * quietly picks some other voice */
        if (!language_installed(voice))
            return TTS_ERR_PHONEMIZER;
        espeak_VOICE props;
        memset(&props, 0, sizeof props);
        props.languages = voice;
        if (espeak_SetVoiceByProperties(&props) != EE_OK)
            return TTS_ERR_PHONEMIZER;
    }
    strcpy(espeak_voice, voice);
    return TTS_OK;
}

tts_status text_frontend_init(const char *espeak_voice_name)
{
    const char *voice = espeak_voice_name && *espeak_voice_name ? espeak_voice_name
                                                                : TEXT_DEFAULT_VOICE;
    pthread_mutex_lock(&espeak_lock);
    tts_status st = init_locked(voice);
    pthread_mutex_unlock(&espeak_lock);
    return st;
}

static int ends_with_mark(const text_buf *o)
{
    if (!o->len)
        return 0;
    char c = o->data[o->len - 1];
    return strchr(",.?!;:", c) != NULL || (unsigned char)c == 0xA6;
}

/* Append espeak output r to o, cleaned; words separated by one space. */
static void append_ipa(text_buf *o, const char *r)
{
    const unsigned char *u = (const unsigned char *)r;
    size_t n = strlen(r);
    int space = o->len > 0; /* a space is owed before the next phoneme */
    for (size_t i = 0; i < n;) {
        if (u[i] == ' ' || u[i] == '\n' || u[i] == '\t' || u[i] == '\r' || u[i] == '_') {
            space = 1;
            i++;
            continue;
        }
        if (u[i] == '(') { /* language switch "(fr)" / "(en-us)" */
            size_t k = i + 1;
            while (k < n && k - i <= 12 &&
                   ((u[k] >= 'a' && u[k] <= 'z') || (u[k] >= 'A' && u[k] <= 'Z') || u[k] == '-'))
                k++;
            if (k < n && u[k] == ')' && k > i + 1) {
                space = 1;
                i = k + 1;
                continue;
            }
        }
        uint32_t cp;
        size_t l = text_utf8_decode(u + i, n - i, &cp);
        if (!l || cp < 0x20) {
            i++;
            continue;
        }
        if (space && o->len)
            text_buf_putc(o, ' ');
        space = 0;
        text_buf_put(o, r + i, l);
        i += l;
    }
}

/* espeak-ng 1.51 overflows a stack buffer on a letter, a period and about
 * 165 more letters ("x.wwww...", found by fuzzing; the program aborted with
 * "stack smashing detected").  No real word is that long, so no word longer
 * than MAX_WORD_BYTES reaches espeak: longer ones are cut with spaces, at
 * character boundaries.  Returns a malloc'd copy, or NULL. */
#define MAX_WORD_BYTES 64
static char *bound_words(const char *s)
{
    size_t n = strlen(s), k = 0, run = 0;
    char *o = malloc(n + n / MAX_WORD_BYTES + 2);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ') {
            run = 0;
        } else {
            if (run >= MAX_WORD_BYTES && (c & 0xC0) != 0x80) {
                o[k++] = ' ';
                run = 0;
            }
            run++;
        }
        o[k++] = (char)c;
    }
    o[k] = 0;
    return o;
}

/* IPA of every clause of s appended to o.  Caller holds espeak_lock. */
static void phonemize_locked(const char *s, text_buf *o)
{
    size_t pos = 0;
    text_clause c;
    text_buf clause = {0};
    while (!o->failed && text_next_clause(s, &pos, &c)) {
        size_t before = o->len;
        if (c.end > c.start) {
            clause.len = 0;
            text_buf_put(&clause, s + c.start, c.end - c.start);
            if (clause.failed) {
                o->failed = 1;
                break;
            }
            /* never hand espeak a script the voice cannot read: some
             * characters make espeak 1.51 switch language and read freed
             * memory (see script.c) */
            char *safe = NULL;
            size_t n_unreadable = 0;
            if (text_drop_unreadable(espeak_voice, clause.data, &safe, &n_unreadable, NULL) != TTS_OK) {
                o->failed = 1;
                break;
            }
            char *bounded = bound_words(safe);
            free(safe);
            safe = bounded;
            if (!safe) {
                o->failed = 1;
                break;
            }
            const void *p = safe;
            /* espeak may cut a long clause; bound the loop all the same */
            for (size_t guard = 0; p && guard <= clause.len + 1; guard++) {
                const char *r = espeak_TextToPhonemes(&p, espeakCHARS_UTF8,
                                                      espeakPHONEMES_IPA);
                if (!r)
                    break;
                append_ipa(o, r);
            }
            free(safe);
        }
        if (o->len > before || (o->len && !ends_with_mark(o)))
            text_buf_puts(o, c.punct);
    }
    text_buf_free(&clause);
}

tts_status text_phonemize(const char *sentence, char **ipa)
{
    return text_phonemize_as(NULL, sentence, ipa);
}

tts_status text_phonemize_as(const char *voice, const char *sentence, char **ipa)
{
    if (!sentence || !ipa)
        return TTS_ERR_INVALID_ARG;
    *ipa = NULL;
    text_buf o = {0};
    pthread_mutex_lock(&espeak_lock);
    tts_status st = voice && *voice ? init_locked(voice)
                    : espeak_voice[0] ? TTS_OK : init_locked(TEXT_DEFAULT_VOICE);
    if (st == TTS_OK)
        phonemize_locked(sentence, &o);
    pthread_mutex_unlock(&espeak_lock);
    if (st != TTS_OK) {
        text_buf_free(&o);
        return st;
    }
    return text_buf_take(&o, ipa);
}

/* The dataset reader's chain, for the voice `voice` (NULL: the voice last set). */
static tts_status utterance_ids(const char *voice, const char *raw, int32_t **ids, size_t *n_ids,
                                char **ipa, size_t *n_dropped)
{
    if (ids)
        *ids = NULL;
    if (n_ids)
        *n_ids = 0;
    if (ipa)
        *ipa = NULL;
    if (n_dropped)
        *n_dropped = 0;
    if (!raw || !ids || !n_ids)
        return TTS_ERR_INVALID_ARG;
    char *norm = NULL, *phon = NULL;
    char lang[sizeof espeak_voice];
    if (voice) {
        snprintf(lang, sizeof lang, "%s", voice);
    } else {
        pthread_mutex_lock(&espeak_lock);
        strcpy(lang, espeak_voice);
        pthread_mutex_unlock(&espeak_lock);
    }
    tts_status st = text_normalize_lang(lang, raw, strlen(raw), &norm);
    if (st == TTS_OK)
        st = text_phonemize_as(voice, norm, &phon);
    free(norm);
    if (st == TTS_OK && !text_is_speakable(phon, strlen(phon)))
        st = TTS_ERR_EMPTY_TEXT;
    if (st == TTS_OK)
        st = text_encode(phon, ids, n_ids, n_dropped);
    if (st == TTS_OK && ipa)
        *ipa = phon;
    else
        free(phon);
    return st;
}

tts_status text_utterance_ids_ipa(const char *raw, int32_t **ids, size_t *n_ids,
                                  char **ipa, size_t *n_dropped)
{
    return utterance_ids(NULL, raw, ids, n_ids, ipa, n_dropped);
}

tts_status text_frontend_ids(const text_frontend *fe, const char *raw, int32_t **ids, size_t *n_ids,
                             char **ipa, size_t *n_dropped)
{
    if (!fe)
        return TTS_ERR_INVALID_ARG;
    return utterance_ids(fe->espeak_voice, raw, ids, n_ids, ipa, n_dropped);
}

tts_status text_frontend_open(text_frontend *fe, const char *voice, const tts_lexicon *lex,
                              size_t max_chars)
{
    if (!fe || !voice || !*voice)
        return TTS_ERR_INVALID_ARG;
    memset(fe, 0, sizeof *fe);
    if (strlen(voice) >= sizeof fe->espeak_voice)
        return TTS_ERR_INVALID_ARG;
    tts_status st = text_frontend_init(voice);
    if (st != TTS_OK)
        return st;
    strcpy(fe->espeak_voice, voice);
    fe->lex = lex;
    fe->max_chars = max_chars ? max_chars : TEXT_MAX_SENTENCE_CHARS;
    return TTS_OK;
}

tts_status text_utterance_ids(const char *raw, int32_t **ids, size_t *n_ids)
{
    return text_utterance_ids_ipa(raw, ids, n_ids, NULL, NULL);
}
