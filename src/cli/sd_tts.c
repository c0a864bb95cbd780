/*
 * sd_tts.c - the speech-dispatcher output module for tts (speech-dispatcher
 * 0.11 module protocol on standard input and output; see "Communication
 * Protocol for Output Modules" in speech-dispatcher's manual).
 *
 * speech-dispatcher starts it as `sd_tts CONFIGFILE` and talks to it in
 * lines: INIT, AUDIO, LOGLEVEL, SET, LIST VOICES, SPEAK/CHAR/KEY/SOUND_ICON
 * (each followed by data lines and a "."), STOP, PAUSE, QUIT.  The voice is
 * loaded once, at INIT, and kept (other voices named by SET synthesis_voice
 * are loaded on first use and kept too), so a message costs no model load.
 *
 * Audio goes back through the server ("server audio", the only method this
 * module accepts): each sentence is synthesized with libtts and sent as
 * "705" AUDIO blocks of 16-bit mono samples (HDLC-escaped: '\n' and 0x7D
 * become 0x7D, byte ^ 0x20), in pieces of PIECE samples; the server plays
 * them through its own AudioOutputMethod.  Events: 701 BEGIN before the
 * first audio, 702 END after the last, 703 STOP when stopped.
 *
 * Threads: the main thread reads commands and answers them; one worker
 * thread synthesizes.  STOP (and PAUSE, which acts as STOP: no index marks
 * yet) sets a flag the worker checks between pieces and cancels the running
 * synthesizer (tts_synth_cancel), so no audio is sent after it and 703 STOP
 * follows within one synthesis stage.  Both threads write to standard output
 * under one mutex, whole messages at a time.
 *
 * Settings: rate -100..100 -> speed 3^(rate/100) (1/3..3 times, clamped to
 * libtts's 0.25..4) on the voice's default; volume -100..100 -> factor
 * (volume+100)/200 on the voice's default (speech-dispatcher's default 100
 * is the voice's own loudness); pitch, pitch_range, punctuation_mode,
 * spelling_mode and cap_let_recogn are accepted and ignored (the acoustic
 * model has no pitch control).
 *
 * The configuration file (tts.conf) holds "Key value" lines:
 *   TtsVoice "slt"            voice name or .json path ($TTS_VOICE, else slt)
 *   TtsLexicon "/path/file"   user dictionary (tts --lexicon)
 *   TtsSentenceSilence 0.1    seconds after each sentence
 *   TtsGlIters 32             Griffin-Lim iterations (quality vs speed)
 *   Debug 1                   timing lines on standard error (the module log)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tts.h"
#include "core/safe_file.h"
#include "text/text.h"

#define PIECE 2048     /* samples per AUDIO block: how often STOP is checked while sending */
#define MAX_VOICES 4   /* voices kept loaded */

/* ---- configuration and state ---- */

typedef struct config {
    char voice[PATH_MAX];
    char lexicon[PATH_MAX];
    float sentence_silence;  /* < 0: the voice's */
    int gl_iters;            /* 0: the voice's */
    int debug;
} config;

typedef struct loaded {
    char name[PATH_MAX];
    tts_voice *voice;
    tts_synth *syn;
    tts_options o;   /* the options syn was created with */
} loaded;

static config cfg = {"", "", 0.1f, 0, 0};
static loaded voices[MAX_VOICES];
static int n_voices = 0;
static tts_lexicon *lexicon = NULL;

/* SET parameters */
static int set_rate = 0, set_volume = 100;
static char set_voice[PATH_MAX] = "";  /* synthesis_voice, "" = the configured voice */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* the job handed to the worker */
typedef enum { MSG_TEXT, MSG_CHAR, MSG_KEY } msg_type;
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cond = PTHREAD_COND_INITIALIZER;
static char *job_text = NULL;      /* set by main, taken by the worker */
static msg_type job_type;
static double job_t0;              /* when the message arrived */
static int speaking = 0;           /* from "200 OK SPEAKING" to the END/STOP event */
static int quitting = 0;
static atomic_int stop_flag;
static double stop_t0;             /* when STOP arrived */
static tts_synth *running = NULL;  /* the synthesizer at work, for cancel */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sd_tts: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    va_end(ap);
}

/* Write all of buf to standard output (caller holds out_lock). */
static int write_all(const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One protocol message (one or more lines, each ending in '\n'). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    pthread_mutex_lock(&out_lock);
    write_all(buf, (size_t)n);
    pthread_mutex_unlock(&out_lock);
}

/* ---- audio ---- */

/* One AUDIO block of n samples at rate Hz (16-bit, mono, little-endian). */
static int send_audio(const float *x, size_t n, int rate)
{
    /* worst case every byte escaped */
    size_t cap = 256 + 4 * n;
    unsigned char *buf = malloc(cap);
    if (!buf) return -1;
    int h = snprintf((char *)buf, 256, "705-bits=16\n705-num_channels=1\n705-sample_rate=%d\n"
                     "705-num_samples=%zu\n705-big_endian=0\n705-AUDIO", rate, n);
    size_t k = (size_t)h;
    buf[k++] = 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * 32767.0f;
        int s = (int)lrintf(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        unsigned char b[2] = {(unsigned char)(s & 0xFF), (unsigned char)((s >> 8) & 0xFF)};
        for (int j = 0; j < 2; j++) {
            if (b[j] == '\n' || b[j] == 0x7D) {
                buf[k++] = 0x7D;
                buf[k++] = b[j] ^ 0x20;
            } else {
                buf[k++] = b[j];
            }
        }
    }
    memcpy(buf + k, "\n705 AUDIO\n", 11);
    k += 11;
    pthread_mutex_lock(&out_lock);
    int r = write_all(buf, k);
    pthread_mutex_unlock(&out_lock);
    free(buf);
    return r;
}

/* ---- voices ---- */

static void options_for(const loaded *v, tts_options *o)
{
    tts_options_default(v->voice, o);
    float speed = o->speed * powf(3.0f, (float)set_rate / 100.0f);
    o->speed = speed < 0.25f ? 0.25f : speed > 4.0f ? 4.0f : speed;
    float vol = o->volume * (float)(set_volume + 100) / 200.0f;
    o->volume = vol < 0 ? 0 : vol > 4 ? 4 : vol;
    if (cfg.sentence_silence >= 0) o->sentence_silence = cfg.sentence_silence;
    if (cfg.gl_iters > 0) o->gl_iters = cfg.gl_iters;
}

/* The loaded voice for name (loading it on first use), with a synthesizer
 * for the current settings; NULL on failure (logged). */
static loaded *voice_for(const char *name)
{
    loaded *v = NULL;
    for (int i = 0; i < n_voices; i++)
        if (!strcmp(voices[i].name, name)) v = &voices[i];
    if (!v) {
        if (n_voices == MAX_VOICES) {  /* forget the oldest other than the first */
            tts_synth_free(voices[1].syn);
            tts_voice_free(voices[1].voice);
            memmove(&voices[1], &voices[2], (MAX_VOICES - 2) * sizeof voices[0]);
            n_voices--;
        }
        v = &voices[n_voices];
        memset(v, 0, sizeof *v);
        if (tts_voice_load(name, &v->voice) != TTS_OK) {
            logf_("cannot load the voice '%s': %s", name, tts_last_error());
            return NULL;
        }
        snprintf(v->name, sizeof v->name, "%s", name);
        n_voices++;
    }
    tts_options o;
    options_for(v, &o);
    if (!v->syn || memcmp(&o, &v->o, sizeof o)) {
        tts_synth_free(v->syn);
        v->syn = NULL;
        if (tts_synth_create(v->voice, &o, &v->syn) != TTS_OK) {
            logf_("cannot create a synthesizer: %s", tts_last_error());
            return NULL;
        }
        v->o = o;
        tts_synth_set_lexicon(v->syn, lexicon);
    }
    return v;
}

/* ---- messages to SSML ---- */

/* s as XML character data in out (cap bytes): markup characters escaped,
 * whole UTF-8 sequences only (invalid bytes are left out, so no character
 * can be pieced together from their remains), and of those only the
 * characters XML allows (no control characters but tab and line ends, no
 * U+FFFE or U+FFFF); a string too long is cut between characters. */
static void xml_escape(char *out, size_t cap, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t k = 0, n = strlen(s);
    for (size_t i = 0; i < n && k + 8 < cap;) {
        uint32_t cp;
        size_t len = text_utf8_decode(u + i, n - i, &cp);
        if (!len) { i++; continue; }
        const char *e = cp == '&' ? "&amp;" : cp == '<' ? "&lt;" : cp == '>' ? "&gt;" : cp == '"' ? "&quot;" : NULL;
        if (e) {
            memcpy(out + k, e, strlen(e));
            k += strlen(e);
        } else if ((cp >= 0x20 || cp == '\t' || cp == '\n' || cp == '\r') && cp != 0xFFFE && cp != 0xFFFF) {
            memcpy(out + k, u + i, len);
            k += len;
        }
        i += len;
    }
    out[k] = 0;
}

/* The spoken name of one character (CHAR messages, parts of KEY names) as
 * SSML content appended to out. */
static void char_ssml(char *out, size_t cap, const char *c)
{
    static const struct { const char *c, *name; } names[] = {
        {" ", "space"}, {",", "comma"}, {".", "dot"}, {"?", "question mark"}, {"!", "exclamation mark"},
        {";", "semicolon"}, {":", "colon"}, {"'", "apostrophe"}, {"\"", "quote"}, {"(", "left paren"},
        {")", "right paren"}, {"[", "left bracket"}, {"]", "right bracket"}, {"{", "left brace"},
        {"}", "right brace"}, {"<", "less than"}, {">", "greater than"}, {"-", "dash"}, {"_", "underscore"},
        {"/", "slash"}, {"\\", "backslash"}, {"|", "bar"}, {"*", "star"}, {"~", "tilde"}, {"`", "grave"},
        {"^", "caret"}, {"$", "dollar"}, {"&", "and"}, {"+", "plus"}, {"=", "equals"}, {"@", "at"},
        {"#", "number"}, {"%", "percent"}, {"\t", "tab"}, {"\n", "new line"},
    };
    size_t k = strlen(out);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(c, names[i].c)) {
            snprintf(out + k, cap - k, "%s ", names[i].name);
            return;
        }
    char esc[64];
    xml_escape(esc, sizeof esc, c);
    snprintf(out + k, cap - k, "<say-as interpret-as=\"characters\">%s</say-as> ", esc);
}

/* A KEY name ("a", "shift_a", "control_kp-enter", "F5") as SSML. */
static void key_ssml(char *out, size_t cap, const char *key)
{
    snprintf(out, cap, "<speak>");
    char part[128];
    const char *p = key;
    while (*p) {
        size_t n = strcspn(p, "_");
        if (n >= sizeof part) {  /* a long name: cut between characters */
            n = sizeof part - 1;
            while (n > 1 && ((unsigned char)p[n] & 0xC0) == 0x80) n--;
        }
        memcpy(part, p, n);
        part[n] = 0;
        p += n;
        if (*p == '_') p++;
        if (!n) continue;
        size_t n_chars = 0;  /* UTF-8 characters in part */
        for (const char *q = part; *q; q++) n_chars += ((unsigned char)*q & 0xC0) != 0x80;
        if (n_chars == 1) {
            char_ssml(out, cap, part);
            continue;
        }
        for (char *q = part; *q; q++)  /* "kp-enter" -> "kp enter"; brackets would start [[IPA]] */
            if (*q == '-' || *q == '[' || *q == ']') *q = ' ';
        const char *word = !strcmp(part, "kp") ? "keypad" : !strcmp(part, "ctrl") ? "control" : part;
        if (!strncmp(part, "kp ", 3)) {
            size_t k = strlen(out);
            snprintf(out + k, cap - k, "keypad ");
            word = part + 3;
        }
        char esc[300];
        xml_escape(esc, sizeof esc, word);
        size_t k = strlen(out);
        snprintf(out + k, cap - k, "%s ", esc);
    }
    size_t k = strlen(out);
    snprintf(out + k, cap - k, "</speak>");
}

/* ---- the worker ---- */

static int stopped(void) { return atomic_load(&stop_flag) != 0; }

/* The SSML of a CHAR or KEY message (malloc'd), NULL for text messages
 * (already SSML) or when out of memory. */
static char *message_ssml(const char *text, msg_type type)
{
    if (type != MSG_CHAR && type != MSG_KEY) return NULL;
    size_t cap = 64 + 64 * strlen(text);
    char *ssml = malloc(cap);
    if (!ssml) return NULL;
    if (type == MSG_KEY) {
        key_ssml(ssml, cap, text);
    } else {
        strcpy(ssml, "<speak>");
        char_ssml(ssml, cap, !strcmp(text, "space") ? " " : text);
        strcat(ssml, "</speak>");
    }
    return ssml;
}

/* Synthesize one message and send its audio and events. */
static void speak(char *text, msg_type type, double t0)
{
    char *ssml = message_ssml(text, type);
    const char *name = set_voice[0] ? set_voice : cfg.voice;
    loaded *v = voice_for(name);
    if (!v && set_voice[0]) v = voice_for(cfg.voice);  /* an unknown voice: the configured one */
    say("701 BEGIN\n");
    int ok = v != NULL, sent_any = 0;
    size_t n_sent = 0;  /* samples */
    tts_status st = TTS_OK;
    if (ok) {
        pthread_mutex_lock(&job_lock);
        running = v->syn;
        pthread_mutex_unlock(&job_lock);
        st = tts_synth_start_ssml(v->syn, ssml ? ssml : text);
        if (st != TTS_OK && st != TTS_ERR_EMPTY_TEXT) logf_("cannot read the message: %s", tts_last_error());
        size_t sentence = 0;
        while (st == TTS_OK && !stopped()) {
            tts_chunk ch = {.size = sizeof(tts_chunk)};
            st = tts_synth_next(v->syn, &ch);
            if (st == TTS_ERR_CANCELLED) break;
            if (st != TTS_OK) {  /* this sentence failed: go on with the next */
                logf_("a sentence failed: %s", tts_last_error());
                st = TTS_OK;
                continue;
            }
            if (ch.done) break;
            if (ch.warning != TTS_OK && cfg.debug) logf_("%s: %s", tts_status_message(ch.warning), tts_last_error());
            for (size_t i = 0; i < ch.n_samples && !stopped(); i += PIECE) {
                size_t n = ch.n_samples - i < PIECE ? ch.n_samples - i : PIECE;
                if (send_audio(ch.samples + i, n, ch.sample_rate)) { st = TTS_ERR_IO; break; }
                n_sent += n;
                if (!sent_any++ && cfg.debug)
                    logf_("first audio %.1f ms after the message (%zu bytes of text)", 1e3 * (now() - t0), strlen(text));
            }
            sentence += !ch.more;
        }
        pthread_mutex_lock(&job_lock);
        running = NULL;
        pthread_mutex_unlock(&job_lock);
    }
    pthread_mutex_lock(&job_lock);
    int was_stopped = stopped();
    speaking = 0;  /* before the event: the next SPEAK may follow at once */
    say(was_stopped ? "703 STOP\n" : "702 END\n");
    if (was_stopped && cfg.debug) logf_("stopped %.1f ms after STOP", 1e3 * (now() - stop_t0));
    if (cfg.debug) logf_("%s: %.2f s of audio sent in %.3f s", was_stopped ? "stopped" : "end",
                         (double)n_sent / (v ? tts_voice_sample_rate(v->voice) : 22050), now() - t0);
    pthread_mutex_unlock(&job_lock);
    free(ssml);
}

static void *worker_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        pthread_mutex_lock(&job_lock);
        while (!job_text && !quitting) pthread_cond_wait(&job_cond, &job_lock);
        if (quitting) { pthread_mutex_unlock(&job_lock); break; }
        char *text = job_text;
        msg_type type = job_type;
        double t0 = job_t0;
        job_text = NULL;
        pthread_mutex_unlock(&job_lock);
        speak(text, type, t0);
        free(text);
    }
    return NULL;
}

/* ---- the protocol ---- */

/* The most bytes of one line kept; the rest of a longer line is dropped. */
#define MAX_LINE_BYTES (1u << 20)

/* The next line from the server without its '\n' (a static buffer), NULL at
 * the end of the input. */
static char *read_line(void)
{
    static char *line = NULL;
    if (!line && !(line = malloc(MAX_LINE_BYTES + 1))) return NULL;
    size_t n = 0;
    int c = EOF;
    while ((c = getc_unlocked(stdin)) != EOF && c != '\n')
        if (n < MAX_LINE_BYTES) line[n++] = (char)c;
    if (c == EOF && n == 0) return NULL;
    line[n] = 0;
    return line;
}

/* The most bytes of one message kept (a longer one is cut there: a client
 * must not make the module hold gigabytes). */
#define MAX_MESSAGE_BYTES (4u << 20)  /* lines of a message together */

/* Data lines up to "." (a leading ".." is a dot), joined by '\n'. */
static char *read_data(int *n_lines)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    *n_lines = 0;
    for (;;) {
        char *l = read_line();
        if (!l) { free(buf); return NULL; }
        if (!strcmp(l, ".")) break;
        if (l[0] == '.') l++;
        size_t n = strlen(l);
        if (len + n + 2 > MAX_MESSAGE_BYTES) {  /* cut: the rest of the lines are read and dropped */
            (*n_lines)++;
            continue;
        }
        if (buf && len + n + 2 > cap) {
            while (len + n + 2 > cap) cap *= 2;
            char *p = realloc(buf, cap);
            if (!p) { free(buf); buf = NULL; }
            else buf = p;
        }
        if (buf) {
            if ((*n_lines)++) buf[len++] = '\n';
            memcpy(buf + len, l, n);
            len += n;
            buf[len] = 0;
        }
    }
    if (buf) buf[len] = 0;
    return buf ? buf : strdup("");
}

static void cmd_speak(msg_type type)
{
    say("202 OK RECEIVING MESSAGE\n");
    int n_lines = 0;
    char *text = read_data(&n_lines);
    double t0 = now();
    if (!text) return;
    if (!*text) { free(text); say("301 ERROR CANT SPEAK\n"); return; }
    if (type != MSG_TEXT && n_lines > 1) { free(text); say("305 DATA MORE THAN ONE LINE\n"); return; }
    pthread_mutex_lock(&job_lock);
    if (speaking) {  /* a protocol error: the server waits for END or STOP first */
        pthread_mutex_unlock(&job_lock);
        free(text);
        say("301 ERROR CANT SPEAK\n");
        return;
    }
    atomic_store(&stop_flag, 0);
    speaking = 1;
    say("200 OK SPEAKING\n");  /* before the worker can send any event */
    job_text = text;
    job_type = type;
    job_t0 = t0;
    pthread_cond_signal(&job_cond);
    pthread_mutex_unlock(&job_lock);
}

static void cmd_stop(void)
{
    pthread_mutex_lock(&job_lock);
    if (speaking) {
        stop_t0 = now();
        atomic_store(&stop_flag, 1);
        if (running) tts_synth_cancel(running);
    }
    pthread_mutex_unlock(&job_lock);
}

/* Whether s holds a control character (a protocol line inside a line). */
static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

static void find_voice(const char *name, const char *path, void *user)
{
    const char **want = user;
    if (*want && !strcmp(name, *want)) *want = NULL;  /* found */
}

/* Whether name is a voice installed where the library looks for voices: a
 * plain name (letters, digits, '-', '_', '.', not starting with '.'), never a
 * path: a client must not make the module open files of its choosing. */
static int installed_voice(const char *name)
{
    size_t n = strlen(name);
    if (!n || n > 64 || name[0] == '.' ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n)
        return 0;
    const char *want = name;
    tts_voice_list(find_voice, (void *)&want);
    return want == NULL;
}

static void cmd_sound_icon(void)
{
    say("202 OK RECEIVING MESSAGE\n");
    int n_lines = 0;
    char *name = read_data(&n_lines);
    if (!name) return;
    if (n_lines != 1 || has_control(name)) {  /* the name is echoed in a 706 line: one plain line */
        free(name);
        say("%s\n", n_lines > 1 ? "305 DATA MORE THAN ONE LINE" : "301 ERROR CANT SPEAK");
        return;
    }
    pthread_mutex_lock(&job_lock);
    if (speaking) {
        pthread_mutex_unlock(&job_lock);
        say("301 ERROR CANT SPEAK\n");
    } else {
        say("200 OK SPEAKING\n");
        say("701 BEGIN\n706-%s\n706 ICON\n702 END\n", name);  /* the server plays the icon */
        pthread_mutex_unlock(&job_lock);
    }
    free(name);
}

static int set_param(const char *key, const char *val)
{
    if (!strcmp(key, "rate")) {
        int r = atoi(val);
        set_rate = r < -100 ? -100 : r > 100 ? 100 : r;
    } else if (!strcmp(key, "volume")) {
        int r = atoi(val);
        set_volume = r < -100 ? -100 : r > 100 ? 100 : r;
    } else if (!strcmp(key, "synthesis_voice")) {
        if (!strcmp(val, "NULL")) set_voice[0] = 0;
        else if (installed_voice(val)) snprintf(set_voice, sizeof set_voice, "%s", val);
        else logf_("SET synthesis_voice: no installed voice of that name; the voice stays %s",
                   set_voice[0] ? set_voice : cfg.voice);
    }
    /* pitch, pitch_range, punctuation_mode, spelling_mode, cap_let_recogn,
     * voice (male1...), language: accepted, not used */
    return 0;
}

static void cmd_params(const char *what, int audio)
{
    say("%s\n", audio ? "207 OK RECEIVING AUDIO SETTINGS" : "203 OK RECEIVING SETTINGS");
    int bad_audio = 0;
    for (;;) {
        char *l = read_line();
        if (!l) return;
        if (!strcmp(l, ".")) break;
        char *eq = strchr(l, '=');
        if (!eq) continue;
        *eq = 0;
        if (audio) {
            if (!strcmp(l, "audio_output_method") && strcmp(eq + 1, "server")) bad_audio = 1;
        } else if (!strcmp(what, "SET")) {
            set_param(l, eq + 1);
        }
    }
    if (audio && bad_audio)
        say("300-sd_tts sends its audio through the server only (speech-dispatcher 0.11 or newer)\n"
            "300 MODULE ERROR\n");
    else if (audio)
        say("203 OK AUDIO INITIALIZED\n");
    else if (!strcmp(what, "LOGLEVEL"))
        say("203 OK LOGLEVEL SET\n");
    else
        say("203 OK SETTINGS RECEIVED\n");
}

typedef struct vlist {
    char buf[8192];
    size_t len;
    int n;
} vlist;

static void list_one(const char *name, const char *path, void *user)
{
    vlist *l = user;
    if (has_control(name)) return;  /* a file name with a newline must not make a protocol line */
    char lang[32], desc[8];
    if (tts_voice_describe(path, lang, sizeof lang, desc, sizeof desc) != TTS_OK || !*lang)
        snprintf(lang, sizeof lang, "en");
    for (size_t i = 0; i + 4 < l->len; i++)  /* the same voice through two folders */
        if ((i == 0 || l->buf[i - 1] == '\n') && !strncmp(l->buf + i + 4, name, strlen(name)) &&
            l->buf[i + 4 + strlen(name)] == '\t')
            return;
    int w = snprintf(l->buf + l->len, sizeof l->buf - l->len, "200-%s\t%s\tnone\n", name, lang);
    if (w > 0 && (size_t)w < sizeof l->buf - l->len) { l->len += (size_t)w; l->n++; }
}

static void cmd_list_voices(void)
{
    static vlist l;
    l.len = 0;
    l.n = 0;
    tts_voice_list(list_one, &l);
    if (!l.n) { say("304 CANT LIST VOICES\n"); return; }
    say("%s200 OK VOICE LIST SENT\n", l.buf);
}

/* One command line after INIT: 1 for QUIT, else 0. */
static int serve_command(const char *l)
{
    if (!strcmp(l, "SPEAK")) cmd_speak(MSG_TEXT);
    else if (!strcmp(l, "CHAR")) cmd_speak(MSG_CHAR);
    else if (!strcmp(l, "KEY")) cmd_speak(MSG_KEY);
    else if (!strcmp(l, "SOUND_ICON")) cmd_sound_icon();
    else if (!strcmp(l, "STOP") || !strcmp(l, "PAUSE")) cmd_stop();
    else if (!strcmp(l, "SET")) cmd_params("SET", 0);
    else if (!strcmp(l, "AUDIO")) cmd_params("AUDIO", 1);
    else if (!strcmp(l, "LOGLEVEL")) cmd_params("LOGLEVEL", 0);
    else if (!strcmp(l, "LIST VOICES")) cmd_list_voices();
    else if (!strncmp(l, "DEBUG", 5)) say("200 OK DEBUGGING %s\n", strstr(l, "ON") ? "ON" : "OFF");
    else if (!strcmp(l, "QUIT")) return 1;
    else say("300 ERR UNKNOWN COMMAND\n");
    return 0;
}

/* ---- configuration ---- */

static void read_config(const char *path)
{
    const char *env = getenv("TTS_VOICE");
    snprintf(cfg.voice, sizeof cfg.voice, "%s", env && *env ? env : "slt");
    FILE *fp = path ? fopen(path, "r") : NULL;
    if (!fp) {
        if (path) logf_("cannot read the configuration '%s': %s; using defaults", path, strerror(errno));
        return;
    }
    char line[PATH_MAX + 64];
    while (fgets(line, sizeof line, fp)) {
        char key[64], val[PATH_MAX];
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || !*p) continue;
        if (sscanf(p, "%63s %4095[^\n]", key, val) != 2) continue;
        /* strip quotes and trailing blanks */
        size_t n = strlen(val);
        while (n && (val[n - 1] == ' ' || val[n - 1] == '\t' || val[n - 1] == '\r')) val[--n] = 0;
        char *v = val;
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"') { v[n - 1] = 0; v++; }
        if (!strcasecmp(key, "TtsVoice")) snprintf(cfg.voice, sizeof cfg.voice, "%s", v);
        else if (!strcasecmp(key, "TtsLexicon")) snprintf(cfg.lexicon, sizeof cfg.lexicon, "%s", v);
        else if (!strcasecmp(key, "TtsSentenceSilence")) cfg.sentence_silence = strtof(v, NULL);
        else if (!strcasecmp(key, "TtsGlIters")) cfg.gl_iters = atoi(v);
        else if (!strcasecmp(key, "Debug")) cfg.debug = atoi(v);
        else logf_("%s: unknown setting '%s' ignored", path, key);
    }
    fclose(fp);
    if (cfg.sentence_silence > 10) cfg.sentence_silence = 10;
    if (cfg.gl_iters > 1000) cfg.gl_iters = 1000;
}


int main(int argc, char **argv)
{
    if (safe_file_std_fds() != 0) return 1;  /* a closed descriptor never becomes a voice file's */
    signal(SIGPIPE, SIG_IGN);
    read_config(argc > 1 ? argv[1] : NULL);
    char *l = read_line();
    if (!l || strcmp(l, "INIT")) {
        logf_("expected INIT from speech-dispatcher");
        return 3;
    }
    double t0 = now();
    loaded *v = voice_for(cfg.voice);
    if (v && cfg.lexicon[0]) {
        if (tts_lexicon_load(cfg.lexicon, &lexicon) != TTS_OK) {
            logf_("%s", tts_last_error());
            v = NULL;
        } else {
            tts_synth_set_lexicon(v->syn, lexicon);
        }
    }
    if (!v) {
        say("399-cannot load the tts voice '%s': %s\n399 ERR CANT INIT MODULE\n", cfg.voice, tts_last_error());
        return 1;
    }
    say("299-tts %s: voice %s loaded in %.0f ms\n299 OK LOADED SUCCESSFULLY\n", TTS_VERSION, cfg.voice,
        1e3 * (now() - t0));
    pthread_t worker;
    if (pthread_create(&worker, NULL, worker_main, NULL) != 0) {
        logf_("cannot start the synthesis thread");
        return 1;
    }
    int code = 0;
    while ((l = read_line()) && serve_command(l) == 0) {}
    /* QUIT or the server went away: stop, join, free */
    cmd_stop();
    pthread_mutex_lock(&job_lock);
    quitting = 1;
    pthread_cond_signal(&job_cond);
    pthread_mutex_unlock(&job_lock);
    pthread_join(worker, NULL);
    for (int i = 0; i < n_voices; i++) {
        tts_synth_free(voices[i].syn);
        tts_voice_free(voices[i].voice);
    }
    tts_lexicon_free(lexicon);
    free(job_text);
    if (l) say("210 OK QUIT\n");
    return code;
}
