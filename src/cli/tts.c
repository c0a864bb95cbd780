/*
 * tts.c - the `tts` program: speak text aloud, write it to audio files, or
 * synthesize many text files in one run.
 *
 * This file parses the command line, picks the input (arguments, -f FILE,
 * standard input, input files for batch synthesis, or `id|text` lines) and
 * the output (a file, raw PCM on stdout, the speakers, or one file per input
 * in --out-dir), runs the library, and turns every tts_status into a message
 * and an exit code.  It is the only place (with tts_train.c) that exits.  It
 * holds no signal processing or model code of its own: synthesis is libtts
 * (include/tts.h), --phonemes is the text front end (src/text), --vocode is
 * analysis and Griffin-Lim resynthesis (src/dsp), output goes through
 * src/audio.
 *
 * Threads: playback needs none of its own (the player's ring buffer lets the
 * synthesizer run ahead of the sound card, so the first sentence plays while
 * the next ones are computed).  Batch synthesis runs -j worker threads, each
 * with its own synthesizer sharing the one loaded voice.
 *
 * Signals: SIGINT and SIGTERM set a flag and cancel every running
 * synthesizer (tts_synth_cancel only sets a flag, so it is safe in a
 * handler); the code that notices aborts what it was writing, so a partial
 * output file never stays behind, and tts exits with 130.  While only the
 * last queued audio is draining to the speakers, nothing is left to clean
 * up and the handler ends the process at once.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "audio/audio.h"
#include "cli/par_synth.h"
#include "core/safe_file.h"
#include "dsp/dsp.h"
#include "text/text.h"
#include "tts.h"

#ifndef TTS_VERSION
#define TTS_VERSION "unknown"
#endif
#ifndef TTS_DATADIR
#define TTS_DATADIR "/usr/local/share/tts"
#endif

/* Exit codes (listed in --help and the man page). */
enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,     /* bad flags or arguments */
    EXIT_INPUT = 2,     /* the text or input audio could not be read or used */
    EXIT_VOICE = 3,     /* no usable voice or model */
    EXIT_OUTPUT = 4,    /* the output could not be written */
    EXIT_DEVICE = 5,    /* no audio device (or no playback in this build) */
    EXIT_INTERNAL = 6,  /* out of memory, numeric failure, or a bug */
    EXIT_INTERRUPTED = 130,
};

#define MAX_JOBS 64             /* -j limit */
#define PLAY_PIECE 1024         /* samples per player write: how often Ctrl-C is checked */

static const char *progname = "tts";
static int quiet = 0, verbose = 0;
static volatile sig_atomic_t interrupted = 0;
static volatile sig_atomic_t draining = 0;   /* playback: only queued audio is left */
/* the synthesizers a signal cancels; entries are set before n_active grows */
static tts_synth *volatile active[MAX_JOBS];
static volatile sig_atomic_t n_active = 0;
static int ssml_input = 0;              /* --ssml */
static tts_lexicon *lexicon = NULL;     /* --lexicon */

/* Start text on a synthesizer with the lexicon and the --ssml choice. */
static tts_status start_text(tts_synth *syn, const char *text)
{
    tts_status st = tts_synth_set_lexicon(syn, lexicon);
    if (st != TTS_OK) return st;
    return ssml_input ? tts_synth_start_ssml(syn, text) : tts_synth_start(syn, text);
}

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    if (draining) _exit(EXIT_INTERRUPTED);
    for (int i = 0; i < n_active; i++) tts_synth_cancel(active[i]);
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s [OPTIONS] [TEXT...]\n"
"       %s [OPTIONS] --out-dir DIR FILE...\n"
"       %s [OPTIONS] --lines --out-dir DIR [FILE...]\n"
"Offline text-to-speech.  Speaks TEXT (or the text of -f FILE, or standard input)\n"
"aloud, or writes it to a file with -o; with --out-dir, turns each text FILE into\n"
"DIR/NAME.wav (batch synthesis).  Text piped in is spoken as it arrives, line by\n"
"line (whole sentences when it comes faster than it is spoken), when it is\n"
"played or written with --output-raw.\n"
"\n"
"Input:\n"
"  TEXT...                 the text to speak; none or \"-\": read standard input\n"
"  -f, --file FILE         read the text from FILE                    (default: none)\n"
"      --lines             one utterance per line, \"ID|text\" (LJ Speech metadata;\n"
"                          with a third field \"ID|text|normalized\" the last is\n"
"                          used), from the FILEs or standard input; each line\n"
"                          becomes DIR/ID.wav; needs --out-dir           (default: off)\n"
"      --shard K/N         batch: take the inputs whose index modulo N is K (lines\n"
"                          of --lines, files otherwise); implies --skip-existing\n"
"      --skip-existing     batch: leave outputs that are there already (complete:\n"
"                          outputs are written by rename), so a batch resumes\n"
"      --failed-list FILE  batch: write the inputs that failed to FILE (for --lines,\n"
"                          the lines themselves: a manifest to run again)\n"
"      --ssml              the text is SSML (without --ssml, text that begins with\n"
"                          <speak> is read as SSML all the same); plain text may\n"
"                          hold [[ IPA ]] spans, spoken as written   (default: off)\n"
"      --lexicon FILE      a user dictionary: one \"WORD /IPA/\" or \"WORD respelling\"\n"
"                          per line, applied before espeak-ng; lower-case entries\n"
"                          match any case, capitalized ones only themselves\n"
"                                                                   (default: none)\n"
"      --phonemes          print each sentence's normalized text and IPA, then exit\n"
"      --vocode IN         resynthesize the audio file IN: log-mel analysis, then\n"
"                          Griffin-Lim (a vocoder check; any sample rate, resampled)\n"
"      --mels N            --vocode's mel bands, 8-256, as many as the voice's\n"
"                          model has (slt: 128)                   (default: 128)\n"
"Output (default: play aloud on the default device):\n"
"  -o, -w, --output FILE   write FILE; format from the extension: .wav (16-bit),\n"
"      --output_file FILE  .flac, .ogg (Vorbis); \"-\" writes WAV to stdout\n"
"      --stdout            write WAV to stdout (as -o -)\n"
"      --output-raw, --output_raw\n"
"                          write raw signed 16-bit little-endian mono PCM at the\n"
"                          voice's sample rate (slt: 22050 Hz) to stdout, sentence\n"
"                          by sentence\n"
"      --timings FILE      write each word's start and end (seconds into the\n"
"                          audio, from the model's attention): FILE.json or .jsonl\n"
"                          gets JSON lines {\"word\", \"start\", \"end\", \"sentence\"},\n"
"                          any other name tab-separated \"START END WORD\" lines\n"
"                          (an Audacity label track); \"-\": stdout   (default: none).\n"
"                          With --out-dir: an extension, e.g. --timings tsv\n"
"                          writes DIR/ID.tsv beside each DIR/ID.wav\n"
"  -O, --out-dir DIR       batch: write one file per input FILE (or --lines line)\n"
"                          into DIR, named after it; DIR is created  (default: none)\n"
"      --format FMT        --out-dir file format: wav, flac or ogg  (default: wav)\n"
"  -j, --jobs N            --out-dir: synthesize N files at a time, 1-%d; one\n"
"                          text: N threads share its sentences, up to 16 (default: 1)\n"
"  -d, --device DEV        playback device: index or part of its name\n"
"                                                          (default: system default)\n"
"      --list-devices      list the playback devices, then exit\n"
"Voice:\n"
"  -v, --voice NAME|FILE   the voice: a voice .json (or model .safetensors) file, or\n"
"  -m, --model NAME|FILE   a NAME looked up, first found wins, in the folders of\n"
"                          $TTS_VOICE_PATH, then beside the program: ../voices,\n"
"                          ../share/tts/voices, ../../share/tts/voices, then\n"
"                          ./voices, then " TTS_DATADIR "/voices\n"
"                                                 (default: $TTS_VOICE, else slt)\n"
"      --list-voices       list the voices found (name, language, description and\n"
"                          file) in that order,\n"
"                          marking a name's later copies as not used, then exit\n"
"      --speed X           pace, 0.25-4, higher is faster   (default: 1, or the voice's)\n"
"      --length_scale X    duration factor, 0.25-4, higher is slower: 1 / --speed\n"
"      --volume X          loudness factor, 0-4              (default: 1, or the voice's)\n"
"      --sentence-silence S, --sentence_silence S\n"
"                          seconds of silence between sentences (not after the\n"
"                          last), 0-10                   (default: 0.2, or the voice's)\n"
"Vocoder:\n"
"      --gl-iters N        Griffin-Lim iterations, 1-1000    (default: 8, or the voice's)\n"
"      --sharpen P         Griffin-Lim magnitude sharpening, 0.5-3, 1 = none\n"
"                          (default: 1, or the voice's)\n"
"      --whole-sentences   make each sentence whole before any of its audio (default:\n"
"                          a long sentence comes in pieces, so speech starts sooner)\n"
"      --seed N            another take: the model's dropout from seed N, 0-2147483647\n"
"                          (default: 0, the same audio for the same text)\n"
"General:\n"
"      --verbose           more detail on stderr: speed, sentences (--vocode:\n"
"                          spectral convergence)                      (default: off)\n"
"  -q, --quiet             print nothing but errors (no progress bar, no summary)\n"
"  -h, --help              print this help, then exit\n"
"  -V, --version           print the version, then exit\n"
"\n"
"Batch synthesis shows a progress bar on stderr when it is a terminal, prints a\n"
"summary, and goes on after a file fails; a failed or interrupted file leaves no\n"
"output behind.  Ctrl-C (SIGTERM, SIGHUP) stops playback at once and removes partial\n"
"outputs; finished files are kept.\n"
"\n"
"Exit status:\n"
"  0    success (batch: every file)\n"
"  1    usage error (unknown flag, bad value, missing argument)\n"
"  2    input error (unreadable or invalid text or input audio, phonemizer failure)\n"
"  3    voice error (no voice model found, invalid voice or model, damaged espeak-ng\n"
"       data, the model failed, or failed to align every sentence)\n"
"  4    output error (cannot write the output file or stream)\n"
"  5    audio device error (no playback device, or built without playback)\n"
"  6    internal error (out of memory, numeric failure, bug)\n"
"  130  interrupted (Ctrl-C, SIGTERM or SIGHUP)\n"
"Batch synthesis exits with the status of the first input that failed.\n",
            progname, progname, progname, MAX_JOBS);
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
    if (quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* Print "tts: what: detail" and return the exit code for status. */
static int fail(int code, tts_status st, const char *what, const char *detail)
{
    if (detail && *detail)
        fprintf(stderr, "%s: %s\n", progname, detail);
    else
        fprintf(stderr, "%s: %s: %s\n", progname, what, tts_status_message(st));
    return code;
}

/* The exit code of a status from the stage `stage_code` (input/output/...). */
static int exit_code(tts_status st, int stage_code)
{
    switch (st) {
    case TTS_OK: return EXIT_OK;
    case TTS_ERR_NOMEM: case TTS_ERR_NUMERIC: case TTS_ERR_INTERNAL: return EXIT_INTERNAL;
    case TTS_ERR_UTF8: case TTS_ERR_EMPTY_TEXT: case TTS_ERR_PHONEMIZER: return EXIT_INPUT;
    case TTS_ERR_MODEL_FORMAT: case TTS_ERR_MODEL_TRUNCATED: case TTS_ERR_MODEL_MISMATCH:
    case TTS_ERR_VOICE: case TTS_ERR_ATTENTION: return EXIT_VOICE;
    case TTS_ERR_AUDIO_DEVICE: case TTS_ERR_NO_PLAYBACK: return EXIT_DEVICE;
    case TTS_ERR_CANCELLED: return EXIT_INTERRUPTED;
    case TTS_ERR_NO_SPACE: return EXIT_OUTPUT;
    default: return stage_code;
    }
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- text input ---- */

/* Text read whole (SSML, --phonemes, a batch's files) is bounded: beyond
 * this it is an error (EFBIG).  Plain text from -f or standard input has no
 * bound: it is read and spoken in pieces of at most TEXT_PIECE bytes. */
#define WHOLE_TEXT_MAX ((size_t)16 << 20)
#define TEXT_PIECE ((size_t)256 << 10)

static char *read_stream(FILE *fp)
{
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    for (;;) {
        if (n > WHOLE_TEXT_MAX) { free(s); errno = EFBIG; return NULL; }
        if (n + 4096 + 1 > cap) {
            char *p = realloc(s, cap *= 2);
            if (!p) { free(s); return NULL; }
            s = p;
        }
        size_t got = fread(s + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) { free(s); return NULL; }
    s[n] = '\0';
    /* a NUL byte is a control character like the others, not the end of the
     * text: the normalizer drops control characters, the library takes C strings */
    for (char *z = memchr(s, 0, n); z; z = memchr(z, 0, n - (size_t)(z - s))) *z = ' ';
    return s;
}

/* The whole of path ("-": standard input) as a string, or NULL with a
 * message in err. */
static char *read_text_file(const char *path, char *err, size_t errlen)
{
    int std = strcmp(path, "-") == 0;
    FILE *fp = std ? stdin : fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (!std && fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(fp);
        snprintf(err, errlen, "cannot read '%s': it is a directory", path);
        return NULL;
    }
    char *text = read_stream(fp);
    int e = errno;
    if (!std) fclose(fp);
    if (!text && e == EFBIG)
        snprintf(err, errlen, "'%s' is larger than %zu MB: split it (plain text from -f or a pipe has no limit)",
                 std ? "standard input" : path, WHOLE_TEXT_MAX >> 20);
    else if (!text) snprintf(err, errlen, "cannot read '%s': %s", std ? "standard input" : path, strerror(e));
    return text;
}

static int blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    return *s == 0;
}

/* ---- output of one text: a file, raw stdout, or the speakers ---- */

typedef struct sink {
    audio_writer *file;
    audio_player *player;
    int raw;
} sink;

static tts_status sink_open(sink *s, const char *out_path, int raw, const char *device, int rate)
{
    memset(s, 0, sizeof *s);
    if (raw) {
        s->raw = 1;
        return TTS_OK;
    }
    if (out_path) return audio_writer_open(out_path, rate, &s->file);
    return audio_player_open(device, rate, &s->player);
}

/* One sentence (or one whole resynthesized file).  The player is fed in
 * small pieces: it blocks while its ring buffer is full, and Ctrl-C is
 * noticed between pieces. */
static tts_status sink_write(sink *s, const float *pcm, size_t n)
{
    if (s->raw) return audio_write_raw(STDOUT_FILENO, pcm, n);
    if (s->file) return audio_writer_write(s->file, pcm, n);
    for (size_t i = 0; i < n && !interrupted; i += PLAY_PIECE) {
        tts_status st = audio_player_write(s->player, pcm + i, n - i < PLAY_PIECE ? n - i : PLAY_PIECE);
        if (st != TTS_OK) return st;
    }
    return TTS_OK;
}

static void sink_abort(sink *s)
{
    audio_writer_abort(s->file);
    audio_player_abort(s->player);
    s->file = NULL;
    s->player = NULL;
}

/* Finish: rename the file, or play out what is queued (a signal now ends
 * the process at once: there is nothing to clean up). */
static tts_status sink_close(sink *s)
{
    tts_status st = TTS_OK;
    if (s->file) st = audio_writer_close(s->file);
    if (s->player) {
        draining = 1;
        if (interrupted) {
            audio_player_abort(s->player);
        } else {
            st = audio_player_close(s->player);
        }
        draining = 0;
    }
    s->file = NULL;
    s->player = NULL;
    return st;
}

/* ---- --phonemes ---- */

struct user_opts;
static int load_voice(const char *name, const struct user_opts *u, tts_voice **voice, tts_options *o);

/* The voice's own front end, with the user's dictionary: as the synthesizer reads. */
static int run_phonemes(const char *text, const char *voice_name, const struct user_opts *uo)
{
    tts_voice *voice = NULL;
    tts_options vo;
    int vcode = load_voice(voice_name, uo, &voice, &vo);
    if (vcode != EXIT_OK) return vcode;
    text_frontend fe;
    tts_status st = text_frontend_open(&fe, tts_voice_language(voice), lexicon, TEXT_MAX_SENTENCE_CHARS);
    tts_voice_free(voice);
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, "cannot start espeak-ng", text_frontend_problem());
    text_items items;
    st = ssml_input || text_is_ssml(text) ? text_markup_ssml(text, &items) : text_markup_plain(text, &items);
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, "cannot read the text", NULL);
    if (items.warning) fprintf(stderr, "%s: markup: %s\n", progname, items.warning);
    text_utterance u = {0};
    st = text_frontend_sentences(&fe, &items, &u);
    text_items_free(&items);
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, "cannot normalize the text", NULL);
    if (!u.n_speech) {  /* as synthesis says it */
        text_utterance_free(&u);
        fprintf(stderr, "%s: nothing to speak in the text\n", progname);
        return EXIT_INPUT;
    }
    int code = EXIT_OK;
    for (size_t i = 0; i < u.n && !interrupted; i++) {
        if (!u.v[i].n_segs) {
            printf("<pause %.2f s>\n", (double)u.v[i].pause);
            continue;
        }
        char *ipa = NULL;
        st = text_frontend_ipa(&fe, &u.v[i], &ipa);
        if (st != TTS_OK) {
            code = fail(exit_code(st, EXIT_INPUT), st, "cannot phonemize", NULL);
            break;
        }
        printf("%s\n    %s\n", u.v[i].text, ipa);
        free(ipa);
    }
    text_utterance_free(&u);
    if (fflush(stdout) != 0 && code == EXIT_OK) {
        fprintf(stderr, "%s: cannot write to standard output: %s\n", progname, strerror(errno));
        code = EXIT_OUTPUT;
    }
    return interrupted ? EXIT_INTERRUPTED : code;
}

/* ---- --vocode ---- */

#define VOCODE_MAX_MELS 256 /* the analysis allows more bands than a model (128) */

static int run_vocode(const char *in_path, const char *out_path, int raw, const char *device,
                      int gl_iters, float power, int n_mels)
{
    dsp_params p = dsp_params_default();
    p.n_mels = n_mels;
    float *x = NULL, *mel = NULL, *mag = NULL, *y = NULL, *truth = NULL;
    dsp_features *f = NULL;
    sink out = {0};
    int code = EXIT_OK, sr = 0;
    size_t n = 0;
    tts_status st = audio_read_file(in_path, &x, &n, &sr);
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, in_path, tts_last_error());
    if (n == 0) {
        fprintf(stderr, "%s: '%s' holds no audio\n", progname, in_path);
        free(x);
        return EXIT_INPUT;
    }
    if (sr != p.sample_rate) {
        float *r = NULL;
        size_t nr = 0;
        if (verbose) fprintf(stderr, "vocode: resampling %d Hz -> %d Hz\n", sr, p.sample_rate);
        st = dsp_resample(x, n, sr, p.sample_rate, &r, &nr);
        free(x);
        x = r;
        n = nr;
        if (st != TTS_OK) { code = fail(exit_code(st, EXIT_INPUT), st, "cannot resample", NULL); goto done; }
    }
    st = dsp_features_create(&p, &f);
    if (st != TTS_OK) { code = fail(exit_code(st, EXIT_INTERNAL), st, "dsp", NULL); goto done; }
    size_t nt = dsp_n_frames(f, n), nb = dsp_n_bins(f);
    mel = malloc(nt * (size_t)p.n_mels * sizeof *mel);
    mag = malloc(nt * nb * sizeof *mag);
    y = malloc(nt * (size_t)p.hop * sizeof *y);
    if (!mel || !mag || !y) { code = fail(EXIT_INTERNAL, TTS_ERR_NOMEM, "vocode", NULL); goto done; }

    /* open the output first: a bad path or a missing device fails before the work */
    st = sink_open(&out, out_path, raw, device, p.sample_rate);
    if (st != TTS_OK) {
        code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "playback",
                    tts_last_error());
        goto done;
    }
    double t0 = now_seconds();
    st = dsp_logmel(f, x, n, mel);
    if (st == TTS_OK) st = dsp_mel_to_linear(f, mel, nt, power, mag);
    if (st == TTS_OK) st = dsp_griffin_lim_mag(f, mag, nt, gl_iters, y);
    double t1 = now_seconds();
    if (st != TTS_OK) { code = fail(exit_code(st, EXIT_INTERNAL), st, "vocode", NULL); goto done; }
    if (interrupted) { code = EXIT_INTERRUPTED; goto done; }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i])) { code = fail(EXIT_INTERNAL, TTS_ERR_NUMERIC, "vocode", NULL); goto done; }

    if (verbose) {
        double sc_target = 0.0, sc_true = 0.0;
        truth = malloc(nt * nb * sizeof *truth);
        if (truth && dsp_stft_mag(f, x, n, truth) == TTS_OK &&
            dsp_spectral_convergence(f, mag, nt, y, n, &sc_target) == TTS_OK &&
            dsp_spectral_convergence(f, truth, nt, y, n, &sc_true) == TTS_OK) {
            double secs = (double)n / p.sample_rate;
            fprintf(stderr,
                    "vocode: %.2f s, %zu frames of %d mel bands, %d Griffin-Lim iterations, "
                    "sharpening %.2f\n"
                    "vocode: spectral convergence vs mel-inverted target %.2f dB, "
                    "vs input STFT %.2f dB\n"
                    "vocode: %.3f s, real-time factor %.4f\n",
                    secs, nt, p.n_mels, gl_iters, power, sc_target, sc_true, t1 - t0, (t1 - t0) / secs);
        }
    }
    st = sink_write(&out, y, n); /* trimmed to the input's length */
    if (st == TTS_OK) st = sink_close(&out);
    if (st != TTS_OK) {
        code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "output", tts_last_error());
        goto done;
    }
    if (out_path && strcmp(out_path, "-") != 0) info("%s: wrote %s\n", progname, out_path);
done:
    if (code != EXIT_OK) sink_abort(&out);
    dsp_features_free(f);
    free(x);
    free(mel);
    free(mag);
    free(y);
    free(truth);
    return code;
}

/* ---- voices ---- */

typedef struct voice_seen {
    char **paths;
    char **names;  /* the name of each path */
    size_t n;
} voice_seen;

/* tts_voice_list calls in the search order, so the first file of a name is
 * the one a --voice NAME loads; later ones are marked. */
static void print_voice(const char *name, const char *path, void *user)
{
    voice_seen *seen = user;
    char *real = realpath(path, NULL);
    const char *key = real ? real : path;
    const char *used = NULL;
    for (size_t i = 0; i < seen->n; i++) {
        if (strcmp(seen->paths[i], key) == 0) { free(real); return; }  /* one folder, two routes */
        if (!used && strcmp(seen->names[i], name) == 0) used = seen->paths[i];
    }
    char **p = realloc(seen->paths, (seen->n + 1) * sizeof *p);
    if (p) seen->paths = p;
    char **q = realloc(seen->names, (seen->n + 1) * sizeof *q);
    if (q) seen->names = q;
    char *copy = strdup(key), *ncopy = strdup(name);
    free(real);
    if (!p || !q || !copy || !ncopy) { free(copy); free(ncopy); return; }
    seen->paths[seen->n] = copy;
    seen->names[seen->n++] = ncopy;
    char lang[24], desc[64];
    if (tts_voice_describe(path, lang, sizeof lang, desc, sizeof desc) != TTS_OK)
        snprintf(lang, sizeof lang, "?");  /* unreadable: loading it would say why */
    printf("%-16s %-7s %-24s %s", name, *lang ? lang : "-", *desc ? desc : "-", copy);
    if (used)
        printf("  (not used: --voice %s loads %s)", name, used);
    putchar('\n');
}

static int run_list_voices(void)
{
    voice_seen seen = {0};
    tts_voice_list(print_voice, &seen);
    for (size_t i = 0; i < seen.n; i++) {
        free(seen.paths[i]);
        free(seen.names[i]);
    }
    free(seen.paths);
    free(seen.names);
    if (fflush(stdout) != 0) return EXIT_OUTPUT;
    if (seen.n == 0) {
        fprintf(stderr, "%s: no voices found (looked in $TTS_VOICE_PATH, the program's ../voices, "
                "../share/tts/voices and ../../share/tts/voices, ./voices, %s/voices)\n", progname, TTS_DATADIR);
        return EXIT_VOICE;
    }
    return EXIT_OK;
}

/* The options the user gave (have[i]) over the voice's defaults. */
typedef struct user_opts {
    tts_options o;
    int have_speed, have_volume, have_silence, have_gl, have_sharpen, whole_sentences, seed;
} user_opts;

static int load_voice(const char *name, const user_opts *u, tts_voice **voice, tts_options *o)
{
    const char *env = getenv("TTS_VOICE");
    if (!name || !*name) name = env && *env ? env : "slt";
    tts_status st = tts_voice_load(name, voice);
    if (st != TTS_OK)
        /* whatever is wrong with a voice (NaN weights, espeak-ng's voice) is exit 3 */
        return fail(st == TTS_ERR_NOMEM ? EXIT_INTERNAL : EXIT_VOICE, st, "cannot load the voice", tts_last_error());
    tts_options_default(*voice, o);
    if (u->have_speed) o->speed = u->o.speed;
    if (u->have_volume) o->volume = u->o.volume;
    if (u->have_silence) o->sentence_silence = u->o.sentence_silence;
    if (u->have_gl) o->gl_iters = u->o.gl_iters;
    if (u->have_sharpen) o->sharpen = u->o.sharpen;
    if (u->whole_sentences) o->stream = 0;
    o->seed = (uint64_t)u->seed;
    if (verbose) fprintf(stderr, "%s: voice %s\n", progname, tts_voice_name(*voice));
    return EXIT_OK;
}

/* ---- one text: to a file, raw stdout or the speakers ---- */

/* Whether a chunk is a sentence the model failed to align (retried in
 * pieces).  A voice that fails every sentence of a text is broken (zeroed or
 * untrained weights): an error, not a file of silence. */
static int failed_to_align(const tts_chunk *ch)
{
    return ch->text[0] && (ch->warning == TTS_ERR_ATTENTION || (ch->stops & TTS_STOP_FRAME_CAP));
}

static const char *const all_failed_msg = "the voice failed to align every sentence: its model is broken or untrained";

/* A chunk's warning as one line; msg is what tts_last_error() said when the
 * chunk was made (its details). */
static void warning_text(const tts_chunk *ch, const char *msg, char *buf, size_t len)
{
    if (ch->warning == TTS_ERR_ATTENTION)
        snprintf(buf, len, "sentence %zu: %s; it was synthesized in pieces: \"%.60s\"", ch->sentence + 1,
                 tts_status_message(ch->warning), ch->text);
    else
        snprintf(buf, len, "sentence %zu: %s%s%s", ch->sentence + 1, tts_status_message(ch->warning),
                 msg[0] ? ": " : "", msg);
}

/* ---- text input, piece by piece ---- */

/* Live input (a pipe or socket to the speakers or raw stdout) is spoken as
 * it arrives: a piece ends at a line end when no more input is waiting (a
 * program wrote a line and waits), or, while more is waiting, at the end of
 * a line that ends a sentence (. ? ! … : ;) or of a blank line, so wrapped
 * lines of a text piped in at once still make whole sentences.  Bulk input
 * (-f FILE, a file on stdin, or any input when writing a file) is one piece
 * when it is at most TEXT_PIECE bytes, as if read whole; a longer text is
 * cut into pieces of at most that size, at such line ends where it can
 * (sentence silence goes between pieces as between sentences), so memory is
 * bounded by the piece, not the text.  Input that begins with '<' (SSML),
 * or any input with --ssml, is read to its end (at most WHOLE_TEXT_MAX
 * bytes) and spoken whole. */
typedef struct streamer {
    int fd;
    const char *name;  /* for messages: "standard input" or the file */
    int bulk;   /* cut only to bound memory (else: live, as it arrives) */
    char *buf;
    size_t len, cap;
    int eof;
    int whole;  /* SSML: read it whole */
    int began;  /* its first non-blank byte was seen */
} streamer;

static int input_waiting(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

/* Where the last line of buf[0..n) that ends a sentence or is blank ends
 * (after its '\n'), or 0. */
static size_t sentence_line_end(const char *buf, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        if (buf[i] != '\n') continue;
        size_t j = i;
        while (j > 0 && (buf[j - 1] == ' ' || buf[j - 1] == '\t' || buf[j - 1] == '\r' ||
                         buf[j - 1] == '"' || buf[j - 1] == '\'' || buf[j - 1] == ')'))
            j--;
        if (j == 0 || buf[j - 1] == '\n' || strchr(".?!:;", buf[j - 1]) ||
            (j >= 3 && !memcmp(buf + j - 3, "\xE2\x80\xA6", 3)))
            return i + 1;
    }
    return 0;
}

/* Where to cut a text of n bytes that has to be cut: after its last line
 * that ends a sentence or is blank, else after its last line, else after
 * its last sentence end (". "), else after its last space, else at a UTF-8
 * character boundary. */
static size_t forced_cut(const char *buf, size_t n)
{
    size_t cut = sentence_line_end(buf, n);
    for (size_t i = n; !cut && i-- > 0;)
        if (buf[i] == '\n') cut = i + 1;
    for (size_t i = n; !cut && i-- > 1;)
        if (buf[i] == ' ' && strchr(".?!;:", buf[i - 1])) cut = i + 1;
    for (size_t i = n; !cut && i-- > 0;)
        if (buf[i] == ' ') cut = i + 1;
    if (!cut) {
        cut = n;
        while (cut > 1 && ((unsigned char)buf[cut] & 0xC0) == 0x80) cut--;
    }
    return cut;
}

/* The next piece of input to speak (malloc'd), or NULL at the end (*err
 * set on a read error, an interruption, or SSML over WHOLE_TEXT_MAX). */
static char *stream_next(streamer *r, int *err)
{
    *err = 0;
    for (;;) {
        size_t cut = 0;
        size_t lead = 0;
        while (lead < r->len && strchr(" \t\r\n", r->buf[lead])) lead++;
        if (!r->began && lead < r->len) {
            r->began = 1;
            r->whole = ssml_input || r->buf[lead] == '<';
        }
        if (r->eof) {
            cut = r->len;
        } else if (r->whole) {
            if (r->len > WHOLE_TEXT_MAX) { *err = EFBIG; return NULL; }
        } else if (r->len > TEXT_PIECE) {
            cut = forced_cut(r->buf, TEXT_PIECE);
        } else if (!r->bulk) {
            size_t last_nl = 0;
            for (size_t i = r->len; i-- > 0;)
                if (r->buf[i] == '\n') { last_nl = i + 1; break; }
            if (last_nl) {
                cut = input_waiting(r->fd) ? sentence_line_end(r->buf, last_nl) : last_nl;
                if (!cut && r->len > (1u << 16)) cut = last_nl;  /* a long text without sentence ends */
            }
        }
        if (cut) {
            char *piece = strndup(r->buf, cut);
            memmove(r->buf, r->buf + cut, r->len - cut);
            r->len -= cut;
            if (!piece) { *err = ENOMEM; return NULL; }
            if (!blank(piece)) return piece;
            free(piece);
            continue;
        }
        if (r->eof) return NULL;
        if (r->cap - r->len < 4097) {
            size_t cap = r->cap ? 2 * r->cap : 8192;
            char *b = realloc(r->buf, cap);
            if (!b) { *err = ENOMEM; return NULL; }
            r->buf = b;
            r->cap = cap;
        }
        ssize_t k = read(r->fd, r->buf + r->len, r->cap - r->len - 1);
        if (k < 0 && errno == EINTR && !interrupted) continue;
        if (k < 0) { *err = interrupted ? EINTR : errno; return NULL; }
        if (k == 0) { r->eof = 1; continue; }
        /* a NUL byte is a control character like the others, not the end of the text */
        for (ssize_t i = 0; i < k; i++)
            if (!r->buf[r->len + (size_t)i]) r->buf[r->len + (size_t)i] = ' ';
        r->len += (size_t)k;
    }
}

/* ---- --timings: each word's start and end ---- */

typedef struct timings {
    FILE *fp;
    const char *path;
    safe_file sf;  /* written beside path, renamed over it when complete (not for "-") */
    int json;
} timings;

static int timings_open(timings *t, const char *path, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->sf.fd = -1;
    if (!path) return 0;
    t->path = path;
    const char *dot = strrchr(path, '.');
    t->json = dot && (!strcmp(dot, ".json") || !strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson"));
    if (!strcmp(path, "-")) {
        t->fp = stdout;
        return 0;
    }
    if (safe_file_open(path, &t->sf) != 0 || !(t->fp = safe_file_stream(&t->sf))) {
        if (err) snprintf(err, errlen, "cannot write the timings '%s': %s", path, strerror(errno));
        else fprintf(stderr, "%s: cannot write the timings '%s': %s\n", progname, path, strerror(errno));
        safe_file_abort(&t->sf);
        t->fp = NULL;
        return -1;
    }
    return 0;
}

static void json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(fp, "\\%c", c);
        else if (c < 0x20) fprintf(fp, "\\u%04x", c);
        else fputc(c, fp);
    }
    fputc('"', fp);
}

/* The words of a chunk that starts `offset` seconds into the output. */
static void timings_chunk(timings *t, const tts_chunk *ch, double offset, size_t sentence)
{
    if (!t->fp) return;
    for (size_t i = 0; i < ch->n_words; i++) {
        const tts_word *w = &ch->words[i];
        if (t->json) {
            fputs("{\"word\": ", t->fp);
            json_string(t->fp, w->text);
            fprintf(t->fp, ", \"start\": %.3f, \"end\": %.3f, \"sentence\": %zu}\n", offset + w->start,
                    offset + w->end, sentence);
        } else {
            fprintf(t->fp, "%.3f\t%.3f\t%s\n", offset + w->start, offset + w->end, w->text);
        }
    }
    if (t->fp == stdout) fflush(stdout);
}

/* Finish (ok) or discard the timings file; returns 0, or -1 when it cannot be
 * written (said on stderr unless err is given: then the message goes there). */
static int timings_close(timings *t, int ok, char *err, size_t errlen)
{
    if (!t->fp) return 0;
    int bad = 0;
    if (t->fp == stdout) bad = fflush(stdout) != 0;
    else if (!ok) safe_file_abort(&t->sf);
    else bad = ferror(t->fp) != 0 || safe_file_commit(&t->sf) != 0;
    if (bad) safe_file_abort(&t->sf);
    t->fp = NULL;
    if (!(ok && bad)) return 0;
    if (err) snprintf(err, errlen, "cannot write the timings '%s': %s", t->path, strerror(errno));
    else fprintf(stderr, "%s: cannot write the timings '%s': %s\n", progname, t->path, strerror(errno));
    return -1;
}

/* ---- one text (or standard input as it arrives): to a file, raw stdout or the speakers ---- */

/* One synthesizer, or (par) several sharing each text's sentences (-j). */
static tts_status speak_start(tts_synth *syn, par_synth *par, const char *text)
{
    return par ? par_synth_start(par, text, start_text) : start_text(syn, text);
}

/* The next chunk; *msg: what tts_last_error() said where it was made. */
static tts_status speak_next(tts_synth *syn, par_synth *par, tts_chunk *ch, const char **msg)
{
    if (par) return par_synth_next(par, ch, msg);
    tts_status st = tts_synth_next(syn, ch);
    *msg = tts_last_error();
    return st;
}

/* Speak text, or (text NULL) the input `in` gives piece by piece (see
 * stream_next); jobs > 1: that many synthesizers share the sentences. */
static int run_speak(const char *text, streamer in, const char *voice_name, const char *out_path, int raw,
                     const char *device, const user_opts *u, const char *timings_path, int jobs)
{
    tts_voice *voice = NULL;
    tts_options o;
    int code = load_voice(voice_name, u, &voice, &o);
    if (code != EXIT_OK) return code;
    if (jobs > 16) jobs = 16;  /* par_synth's most */
    tts_synth *syn = NULL;
    par_synth *par = NULL;
    sink out = {0};
    timings tm = {0};
    char *piece = NULL;
    const char *msg;
    tts_status st = jobs > 1 ? par_synth_create(voice, &o, jobs, &par) : tts_synth_create(voice, &o, &syn);
    if (st != TTS_OK) { code = fail(exit_code(st, EXIT_VOICE), st, "synthesizer", tts_last_error()); goto done; }
    for (int k = 0; k < (par ? jobs : 1); k++) active[k] = par ? par_synth_get(par, k) : syn;
    n_active = par ? jobs : 1;
    if (text) {
        st = speak_start(syn, par, text);
        if (st != TTS_OK) { code = fail(exit_code(st, EXIT_INPUT), st, "text", tts_last_error()); goto done; }
    }
    /* the outputs open before any work: a bad path or no device fails at once */
    st = sink_open(&out, out_path, raw, device, tts_voice_sample_rate(voice));
    if (st != TTS_OK) {
        code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "playback", tts_last_error());
        if (code == EXIT_DEVICE)
            fprintf(stderr, "%s: cannot play aloud: write a file with -o FILE, or raw PCM with --output-raw\n",
                    progname);
        goto done;
    }
    if (timings_open(&tm, timings_path, NULL, 0)) { code = EXIT_OUTPUT; goto done; }
    double t0 = now_seconds(), t_first = 0, audio_s = 0, sentence_s = 0;
    size_t n_sent = 0, n_chunks = 0, n_pieces = 0, n_spoken = 0, n_failed = 0;
    int rate = tts_voice_sample_rate(voice);
    float *gap = NULL;  /* the sentence silence between two pieces of standard input */
    size_t n_gap = (size_t)(o.sentence_silence * rate);
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    for (;;) {
        if (!text) {  /* the next piece of the input */
            free(piece);
            int err = 0;
            piece = stream_next(&in, &err);
            if (!piece) {
                if (err == EFBIG)
                    fprintf(stderr, "%s: %s: SSML larger than %zu MB: split it into several documents\n",
                            progname, in.name, WHOLE_TEXT_MAX >> 20);
                else if (err && !interrupted)
                    fprintf(stderr, "%s: cannot read %s: %s\n", progname, in.name, strerror(err));
                if (err && !interrupted) code = EXIT_INPUT;
                break;
            }
            if (verbose) fprintf(stderr, "%s: read %zu bytes of %s\n", progname, strlen(piece), in.name);
            st = speak_start(syn, par, piece);
            if (st == TTS_ERR_EMPTY_TEXT) continue;  /* a line of punctuation */
            if (st != TTS_OK) {
                code = fail(exit_code(st, EXIT_INPUT), st, "text", tts_last_error());
                continue;
            }
            if (n_pieces++ && n_gap) {
                if (!gap && !(gap = calloc(n_gap, sizeof *gap))) {
                    code = fail(EXIT_INTERNAL, TTS_ERR_NOMEM, "silence", NULL);
                    break;
                }
                st = sink_write(&out, gap, n_gap);
                if (st != TTS_OK) {
                    code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "output", tts_last_error());
                    break;
                }
                audio_s += (double)n_gap / rate;
            }
        }
        while (!interrupted) {
            st = speak_next(syn, par, &ch, &msg);
            if (st == TTS_ERR_CANCELLED) break;
            if (st != TTS_OK) {
                fprintf(stderr, "%s: a sentence failed: %s (%s)\n", progname, tts_status_message(st), msg);
                code = exit_code(st, EXIT_VOICE);
                continue;
            }
            if (ch.done) break;
            if (n_chunks++ == 0) t_first = now_seconds() - t0;
            sentence_s += (double)ch.n_samples / ch.sample_rate;
            if (!ch.more) {  /* a sentence's last chunk */
                n_sent++;
                n_spoken += ch.text[0] != 0;
                n_failed += failed_to_align(&ch);
            }
            if (ch.warning != TTS_OK) {
                char w[1200];
                warning_text(&ch, msg, w, sizeof w);
                fprintf(stderr, "%s: %s\n", progname, w);
            }
            if (verbose && !ch.more)
                fprintf(stderr, "%s: [%zu] %.2f s, stop:%s%s%s: %s\n", progname, n_sent,
                        sentence_s, ch.stops & TTS_STOP_GATE ? " gate" : "",
                        ch.stops & TTS_STOP_END_OF_TEXT ? " end-of-text" : "",
                        ch.stops & TTS_STOP_FRAME_CAP ? " frame-cap" : "", ch.text);
            timings_chunk(&tm, &ch, audio_s, n_sent - 1);
            if (!ch.more) sentence_s = 0;
            audio_s += (double)ch.n_samples / ch.sample_rate;
            st = sink_write(&out, ch.samples, ch.n_samples);
            if (st != TTS_OK) {
                code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "output", tts_last_error());
                free(gap);
                goto done;
            }
        }
        if (text || interrupted) break;
    }
    free(gap);
    double t_synth = now_seconds() - t0;
    if (interrupted) { code = EXIT_INTERRUPTED; goto done; }
    if (!text && n_pieces == 0 && code == EXIT_OK) {
        fprintf(stderr, "%s: the text is empty: nothing to speak\n", progname);
        code = EXIT_INPUT;
    }
    if (code != EXIT_OK) goto done;  /* a sentence failed: no partial file */
    if (n_spoken && n_failed == n_spoken) {
        fprintf(stderr, "%s: %s\n", progname, all_failed_msg);
        code = EXIT_VOICE;
        goto done;
    }
    st = sink_close(&out);
    if (st != TTS_OK) {
        code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "output", tts_last_error());
        goto done;
    }
    if (interrupted) { code = EXIT_INTERRUPTED; goto done; }
    if (timings_close(&tm, 1, NULL, 0)) { code = EXIT_OUTPUT; goto done; }
    if (verbose && audio_s > 0)
        fprintf(stderr, "%s: %zu sentences, %.2f s of audio; first audio after %.3f s; "
                "synthesis %.3f s (real-time factor %.4f)\n", progname, n_sent, audio_s, t_first,
                t_synth, t_synth / audio_s);
    if (out_path && strcmp(out_path, "-") != 0) info("%s: wrote %s\n", progname, out_path);
    if (timings_path && strcmp(timings_path, "-") != 0) info("%s: wrote %s\n", progname, timings_path);
done:
    n_active = 0;
    if (code != EXIT_OK) sink_abort(&out);
    timings_close(&tm, 0, NULL, 0);
    free(piece);
    free(in.buf);
    tts_synth_free(syn);
    par_synth_free(par);
    tts_voice_free(voice);
    return code;
}

/* ---- batch: many inputs, one output file each, -j at a time ---- */

/* --shard K/N: this process takes the inputs whose index modulo N is K
 * (every input belongs to exactly one shard), and outputs already there are
 * not made again (they are written whole, by rename, so one that is there is
 * complete): a batch can be stopped and started again, or spread over
 * processes and machines by any launcher, with no coordinator. */
static long shard_k = 0, shard_n = 1;
static int skip_existing;            /* --skip-existing, and implied by --shard */
static const char *failed_list;      /* --failed-list FILE: the inputs that failed */
static const char *batch_timings;    /* --timings EXT: DIR/ID.EXT beside each output */

typedef struct job {
    char *label;      /* the input file, or "FILE:LINE" for --lines */
    const char *in_path; /* the text file, or NULL when text is given */
    char *text;       /* --lines: the line's text */
    char *out_path;
    char *line;       /* --lines: the input line as given (for --failed-list) */
    int code;         /* exit code of this job; -1 = not run */
    int skipped;      /* its output was there already */
    double seconds;   /* audio written */
} job;

typedef struct batch {
    job *jobs;
    size_t n;
    atomic_size_t next;
    const tts_voice *voice;
    pthread_mutex_t lock;  /* stderr, counters */
    size_t done, failed;
    double audio_s, t0, last_draw;
    int bar;               /* draw a progress bar */
} batch;

typedef struct worker {
    batch *b;
    tts_synth *syn;
} worker;

/* The progress bar (lock held): "[#####.....] 12/40 files  45.2 s audio  1 failed". */
static void draw_bar(batch *b, int force)
{
    if (!b->bar) return;
    double t = now_seconds();
    if (!force && t - b->last_draw < 0.1) return;
    b->last_draw = t;
    int width = 30, fill = b->n ? (int)(width * b->done / b->n) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r\033[K[%s] %zu/%zu files  %.1f s audio  %.1f s", bar, b->done, b->n,
            b->audio_s, t - b->t0);
    if (b->failed) fprintf(stderr, "  %zu failed", b->failed);
    fflush(stderr);
}

static void job_message(batch *b, job *j, const char *msg)
{
    pthread_mutex_lock(&b->lock);
    if (b->bar) fputs("\r\033[K", stderr);
    fprintf(stderr, "%s: %s: %s\n", progname, j->label, msg);
    draw_bar(b, 1);
    pthread_mutex_unlock(&b->lock);
}

/* Synthesize one job into its file; returns the exit code. */
/* --timings EXT with --out-dir: "DIR/ID.wav" -> "DIR/ID.EXT" (NULL: no memory) */
static char *timings_path_for(const char *out_path, const char *ext)
{
    const char *slash = strrchr(out_path, '/'), *dot = strrchr(out_path, '.');
    size_t stem = dot && (!slash || dot > slash + 1) ? (size_t)(dot - out_path) : strlen(out_path);
    size_t n = stem + strlen(ext) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%.*s.%s", (int)stem, out_path, ext);
    return p;
}

static int run_job(batch *b, tts_synth *syn, job *j)
{
    char err[1200];
    char *owned = NULL;
    const char *text = j->text;
    if (!text) {
        text = owned = read_text_file(j->in_path, err, sizeof err);
        if (!text) { job_message(b, j, err); return EXIT_INPUT; }
    }
    tts_status st = start_text(syn, text);
    free(owned);
    if (st != TTS_OK) {
        job_message(b, j, tts_last_error()[0] ? tts_last_error() : tts_status_message(st));
        return exit_code(st, EXIT_INPUT);
    }
    audio_writer *w = NULL;
    st = audio_writer_open(j->out_path, tts_voice_sample_rate(b->voice), &w);
    if (st != TTS_OK) {
        job_message(b, j, tts_last_error()[0] ? tts_last_error() : tts_status_message(st));
        return exit_code(st, EXIT_OUTPUT);
    }
    timings tm;
    char *tpath = batch_timings ? timings_path_for(j->out_path, batch_timings) : NULL;
    int topen = batch_timings && !tpath ? -1 : timings_open(&tm, tpath, err, sizeof err);  /* NULL: none */
    if (topen) {
        int no_memory = !tpath;
        job_message(b, j, no_memory ? tts_status_message(TTS_ERR_NOMEM) : err);
        audio_writer_abort(w);
        free(tpath);
        return no_memory ? EXIT_INTERNAL : EXIT_OUTPUT;
    }
    tts_chunk ch = {.size = sizeof(tts_chunk)};
    int code = EXIT_OK;
    double secs = 0;
    size_t n_spoken = 0, n_failed = 0;
    for (;;) {
        if (interrupted) { code = EXIT_INTERRUPTED; break; }
        st = tts_synth_next(syn, &ch);
        if (st != TTS_OK) {
            code = exit_code(st, EXIT_VOICE);
            if (st != TTS_ERR_CANCELLED) {
                snprintf(err, sizeof err, "sentence %zu failed: %s", ch.sentence + 1, tts_last_error());
                job_message(b, j, err);
            }
            break;
        }
        if (ch.done) {
            if (n_spoken && n_failed == n_spoken) {
                job_message(b, j, all_failed_msg);
                code = EXIT_VOICE;
            }
            break;
        }
        if (!ch.more) {  /* a sentence's last chunk */
            n_spoken += ch.text[0] != 0;
            n_failed += failed_to_align(&ch);
        }
        if (ch.warning != TTS_OK) {
            warning_text(&ch, tts_last_error(), err, sizeof err);
            job_message(b, j, err);
        }
        st = audio_writer_write(w, ch.samples, ch.n_samples);
        if (st != TTS_OK) {
            job_message(b, j, tts_last_error()[0] ? tts_last_error() : tts_status_message(st));
            code = exit_code(st, EXIT_OUTPUT);
            break;
        }
        timings_chunk(&tm, &ch, secs, ch.sentence);
        double s = (double)ch.n_samples / ch.sample_rate;
        secs += s;
        pthread_mutex_lock(&b->lock);
        b->audio_s += s;
        draw_bar(b, 0);
        pthread_mutex_unlock(&b->lock);
    }
    if (code != EXIT_OK) {
        audio_writer_abort(w);  /* removes the temporary file: no partial output */
        timings_close(&tm, 0, NULL, 0);
        free(tpath);
        pthread_mutex_lock(&b->lock);
        b->audio_s -= secs;
        pthread_mutex_unlock(&b->lock);
        return code;
    }
    /* the timings are committed first: an audio file present (what
     * --skip-existing looks for) then always has its timings beside it */
    if (timings_close(&tm, 1, err, sizeof err)) {
        audio_writer_abort(w);
        job_message(b, j, err);
        st = TTS_ERR_IO;
    } else if ((st = audio_writer_close(w)) != TTS_OK) {
        job_message(b, j, tts_last_error()[0] ? tts_last_error() : tts_status_message(st));
    }
    free(tpath);
    if (st != TTS_OK) {
        pthread_mutex_lock(&b->lock);
        b->audio_s -= secs;
        pthread_mutex_unlock(&b->lock);
        return exit_code(st, EXIT_OUTPUT);
    }
    j->seconds = secs;
    if (verbose) {
        snprintf(err, sizeof err, "wrote %s (%.2f s)", j->out_path, secs);
        job_message(b, j, err);
    }
    return EXIT_OK;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    batch *b = w->b;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n || interrupted) break;
        job *j = &b->jobs[i];
        if (j->code >= 0) {  /* refused before the run (duplicate output name), or there already */
            pthread_mutex_lock(&b->lock);
            b->done++;
            if (j->code > 0) b->failed++;
            pthread_mutex_unlock(&b->lock);
            continue;
        }
        int code = run_job(b, w->syn, j);
        j->code = code;
        pthread_mutex_lock(&b->lock);
        if (code != EXIT_INTERRUPTED) {
            b->done++;
            if (code != EXIT_OK) b->failed++;
        }
        draw_bar(b, 1);
        pthread_mutex_unlock(&b->lock);
    }
    return NULL;
}

/* "dir/story.txt" -> "story" (the last extension dropped). */
static char *stem_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return strndup(base, n);
}

static int cmp_out(const void *a, const void *b)
{
    const job *x = *(const job *const *)a, *y = *(const job *const *)b;
    int c = strcmp(x->out_path, y->out_path);
    return c ? c : (x < y ? -1 : x > y);
}

/* A line "ID|text" or "ID|text|normalized" -> a job; NULL text on a bad line. */
static int parse_line(char *line, const char *file, size_t lineno, const char *out_dir,
                      const char *ext, job *j)
{
    char label[1200];
    snprintf(label, sizeof label, "%s:%zu", file, lineno);
    j->label = strdup(label);
    j->code = -1;
    char *bar = strchr(line, '|');
    const char *why = NULL;
    if (!bar) {
        why = "no '|' (want ID|text)";
    } else {
        *bar = 0;
        const char *id = line;
        char *t = bar + 1, *t2 = strchr(t, '|');
        if (t2) {
            *t2++ = 0;
            if (!blank(t2)) t = t2;  /* the normalized text when there is one */
        }
        if (!*id || strchr(id, '/') || id[0] == '.' || strlen(id) > 200)
            why = "the ID must be a plain file name (no '/', not starting with '.')";
        else if (strcspn(id, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11"
                         "\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f") != strlen(id))
            why = "the ID has a control character (not in a file name)";
        else if (blank(t))
            why = "no text after the ID";
        if (!why) {
            size_t n = strlen(out_dir) + strlen(id) + strlen(ext) + 3;
            j->out_path = malloc(n);
            j->text = strdup(t);
            if (j->out_path) snprintf(j->out_path, n, "%s/%s.%s", out_dir, id, ext);
            snprintf(label, sizeof label, "%s:%zu (%s)", file, lineno, id);
            free(j->label);
            j->label = strdup(label);
        }
    }
    if (why) {
        fprintf(stderr, "%s: %s: %s\n", progname, label, why);
        j->code = EXIT_INPUT;
        return -1;
    }
    return 0;
}

/* Jobs from the lines of each file (NULL: standard input). */
static int lines_jobs(char **files, int n_files, const char *out_dir, const char *ext, job **out, size_t *n_out)
{
    job *jobs = NULL;
    size_t n = 0, cap = 0;
    int code = EXIT_OK;
    size_t index = 0;  /* of the utterance lines, for --shard */
    for (int f = 0; f < (n_files ? n_files : 1); f++) {
        const char *path = n_files ? files[f] : "-";
        char err[1200];
        char *all = read_text_file(path, err, sizeof err);
        if (!all) {
            fprintf(stderr, "%s: %s\n", progname, err);
            if (code == EXIT_OK) code = EXIT_INPUT;
            continue;
        }
        size_t lineno = 0;
        for (char *line = all, *next; line; line = next) {
            next = strchr(line, '\n');
            if (next) *next++ = 0;
            lineno++;
            size_t len = strlen(line);
            if (len && line[len - 1] == '\r') line[--len] = 0;
            if (blank(line)) continue;
            if ((long)(index++ % (size_t)shard_n) != shard_k) continue;  /* another shard's */
            if (n == cap) {
                job *p = realloc(jobs, (cap = cap ? 2 * cap : 64) * sizeof *p);
                if (!p) { free(all); *out = jobs; *n_out = n; return EXIT_INTERNAL; }
                jobs = p;
            }
            job *j = &jobs[n++];
            memset(j, 0, sizeof *j);
            j->line = strdup(line);
            if (parse_line(line, strcmp(path, "-") ? path : "stdin", lineno, out_dir, ext, j) &&
                code == EXIT_OK)
                code = EXIT_INPUT;
        }
        free(all);
    }
    *out = jobs;
    *n_out = n;
    return code;
}

/* --failed-list: the failed inputs, one per line (for --lines the lines as
 * given, so the file is a manifest to run again); written whole by rename. */
static int write_failed_list(const batch *b)
{
    size_t n = strlen(failed_list) + 16;
    char *tmp = malloc(n);
    if (!tmp) return -1;
    snprintf(tmp, n, "%s.part", failed_list);
    FILE *f = fopen(tmp, "w");
    int ok = f != NULL;
    for (size_t i = 0; ok && i < b->n; i++) {
        const job *j = &b->jobs[i];
        if (j->code <= 0 || j->code == EXIT_INTERRUPTED) continue;
        const char *what = j->line ? j->line : j->in_path ? j->in_path : j->label;
        ok = fprintf(f, "%s\n", what) >= 0;
    }
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, failed_list) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "%s: cannot write the list of failed inputs %s: %s\n", progname, failed_list, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

static int run_batch(char **inputs, int n_inputs, int lines, const char *out_dir, const char *format,
                     int n_threads, const char *voice_name, const user_opts *u)
{
    /* the output folder */
    struct stat sb;
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create the output folder '%s': %s\n", progname, out_dir, strerror(errno));
        return EXIT_OUTPUT;
    }
    if (stat(out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: '%s' is not a folder\n", progname, out_dir);
        return EXIT_OUTPUT;
    }
    /* the jobs */
    batch b = {0};
    int first_code = EXIT_OK;  /* of inputs refused before the run */
    if (lines) {
        first_code = lines_jobs(inputs, n_inputs, out_dir, format, &b.jobs, &b.n);
    } else {
        b.jobs = calloc((size_t)n_inputs, sizeof *b.jobs);
        if (!b.jobs) return fail(EXIT_INTERNAL, TTS_ERR_NOMEM, "batch", NULL);
        for (int i = 0; i < n_inputs; i++) {
            job *j = &b.jobs[b.n++];
            char *stem = stem_of(inputs[i]);
            size_t len = strlen(out_dir) + (stem ? strlen(stem) : 0) + strlen(format) + 3;
            j->label = strdup(inputs[i]);
            j->in_path = inputs[i];
            j->out_path = malloc(len);
            j->code = -1;
            if (stem && j->out_path) snprintf(j->out_path, len, "%s/%s.%s", out_dir, stem, format);
            free(stem);
            if (!*inputs[i] || !strcmp(inputs[i], "-")) {
                fprintf(stderr, "%s: batch input must be a file name, not '%s'\n", progname, inputs[i]);
                j->code = EXIT_USAGE;
            }
        }
    }
    int code = EXIT_OK;
    for (size_t i = 0; i < b.n; i++)
        if (b.jobs[i].code < 0 && (!b.jobs[i].label || !b.jobs[i].out_path)) {
            code = fail(EXIT_INTERNAL, TTS_ERR_NOMEM, "batch", NULL);
            goto free_jobs;
        }
    /* two inputs, one output name: the later ones fail rather than overwrite */
    job **order = malloc((b.n ? b.n : 1) * sizeof *order);
    if (!order) { code = fail(EXIT_INTERNAL, TTS_ERR_NOMEM, "batch", NULL); goto free_jobs; }
    size_t n_named = 0;
    for (size_t i = 0; i < b.n; i++) if (b.jobs[i].code < 0) order[n_named++] = &b.jobs[i];
    qsort(order, n_named, sizeof *order, cmp_out);
    for (size_t i = 1; i < n_named; i++)
        if (strcmp(order[i]->out_path, order[i - 1]->out_path) == 0) {
            fprintf(stderr, "%s: %s: same output name as %s (%s): skipped\n", progname, order[i]->label,
                    order[i - 1]->label, order[i]->out_path);
            order[i]->code = EXIT_INPUT;
        }
    free(order);
    /* this shard's share, and what is there already */
    size_t kept = 0, skipped = 0, total = b.n;
    for (size_t i = 0; i < b.n; i++) {
        if (!lines && (long)(i % (size_t)shard_n) != shard_k) {  /* --lines shards as it reads */
            free(b.jobs[i].label); free(b.jobs[i].text); free(b.jobs[i].out_path); free(b.jobs[i].line);
            continue;
        }
        b.jobs[kept++] = b.jobs[i];
    }
    b.n = kept;
    for (size_t i = 0; skip_existing && i < b.n; i++) {
        struct stat os;
        job *j = &b.jobs[i];
        if (j->code < 0 && j->out_path && lstat(j->out_path, &os) == 0 && S_ISREG(os.st_mode) && os.st_size > 0) {
            j->code = EXIT_OK;
            j->skipped = 1;
            skipped++;
        }
    }
    if (b.n == 0 && shard_n > 1) {
        if (!quiet) fprintf(stderr, "%s: shard %ld/%ld: none of the %zu inputs is this shard's\n", progname,
                            shard_k, shard_n, total);
        code = first_code;
        goto free_jobs;
    }
    if (b.n == 0) {
        fprintf(stderr, "%s: no input to synthesize\n", progname);
        code = first_code != EXIT_OK ? first_code : EXIT_INPUT;
        goto free_jobs;
    }

    /* the voice and one synthesizer per thread */
    tts_voice *voice = NULL;
    tts_options o;
    code = load_voice(voice_name, u, &voice, &o);
    if (code != EXIT_OK) goto free_jobs;
    b.voice = voice;
    if ((size_t)n_threads > b.n) n_threads = (int)b.n;
    if (n_threads > 1) openblas_set_num_threads(1);  /* parallel over files, not inside products */
    worker w[MAX_JOBS];
    pthread_t tid[MAX_JOBS];
    int started = 0;
    for (int i = 0; i < n_threads; i++) w[i] = (worker){&b, NULL};
    for (int i = 0; i < n_threads; i++) {
        tts_status st = tts_synth_create(voice, &o, &w[i].syn);
        if (st != TTS_OK) {
            code = fail(exit_code(st, EXIT_VOICE), st, "synthesizer", tts_last_error());
            goto free_synths;
        }
        active[i] = w[i].syn;
        n_active = i + 1;
    }
    pthread_mutex_init(&b.lock, NULL);
    b.bar = !quiet && isatty(STDERR_FILENO);
    b.t0 = now_seconds();
    for (started = 0; started < n_threads; started++)
        if (pthread_create(&tid[started], NULL, worker_main, &w[started]) != 0) break;
    if (started == 0) worker_main(&w[0]);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    double wall = now_seconds() - b.t0;
    n_active = 0;
    if (b.bar) fputs("\r\033[K", stderr);
    pthread_mutex_destroy(&b.lock);

    /* the summary and the exit code */
    size_t ok = 0, failed = 0, not_done = 0;
    for (size_t i = 0; i < b.n; i++) {
        int c = b.jobs[i].code;
        if (c == EXIT_OK && b.jobs[i].skipped) continue;
        if (c == EXIT_OK) ok++;
        else if (c < 0 || c == EXIT_INTERRUPTED) not_done++;
        else failed++;
        if (code == EXIT_OK && c > 0 && c != EXIT_INTERRUPTED) code = c;
    }
    if (code == EXIT_OK) code = first_code;
    if (failed_list && write_failed_list(&b)) code = code == EXIT_OK ? EXIT_OUTPUT : code;
    if (!quiet) {
        if (shard_n > 1) fprintf(stderr, "%s: shard %ld/%ld: ", progname, shard_k, shard_n);
        else fprintf(stderr, "%s: ", progname);
        fprintf(stderr, "%zu of %zu %s written to %s", ok, b.n, lines ? "lines" : "files", out_dir);
        if (skipped) fprintf(stderr, ", %zu skipped (there already)", skipped);
        if (failed) fprintf(stderr, ", %zu failed", failed);
        if (not_done) fprintf(stderr, ", %zu not finished (interrupted)", not_done);
        fprintf(stderr, "; %.1f s of audio in %.1f s", b.audio_s, wall);
        if (b.audio_s > 0)
            fprintf(stderr, " (real-time factor %.3f, %d thread%s)", wall / b.audio_s, n_threads,
                    n_threads > 1 ? "s" : "");
        fputc('\n', stderr);
    }
free_synths:
    n_active = 0;
    for (int i = 0; i < n_threads; i++) tts_synth_free(w[i].syn);
    tts_voice_free(voice);
free_jobs:
    for (size_t i = 0; i < b.n; i++) {
        free(b.jobs[i].line);
        free(b.jobs[i].label);
        free(b.jobs[i].text);
        free(b.jobs[i].out_path);
    }
    free(b.jobs);
    return interrupted ? EXIT_INTERRUPTED : code;
}

/* ---- main ---- */

/* --lexicon FILE into the global lexicon (freed by main). */
static int load_lexicon(const char *path)
{
    if (!path) return EXIT_OK;
    tts_status st = tts_lexicon_load(path, &lexicon);
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, "lexicon", tts_last_error());
    if (verbose) fprintf(stderr, "%s: lexicon %s: %zu entries\n", progname, path, tts_lexicon_size(lexicon));
    return EXIT_OK;
}

static int parse_float(const char *flag, const char *arg, float lo, float hi, float *out)
{
    char *end;
    float v = strtof(arg, &end);
    if (*end || end == arg || !(v >= lo && v <= hi)) {
        fprintf(stderr, "%s: %s wants a number from %g to %g, not '%s'\n", progname, flag, (double)lo,
                (double)hi, arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_int(const char *flag, const char *arg, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || *end || end == arg || v < lo || v > hi) {
        fprintf(stderr, "%s: %s wants a whole number from %ld to %ld, not '%s'\n", progname, flag, lo,
                hi, arg);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Edit distance of two flag names, '_' and '-' alike. */
static size_t flag_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b), d[64];
    if (n > 60 || m > 60) return 99;
    for (size_t j = 0; j <= m; j++) d[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = d[0];
        d[0] = i;
        for (size_t j = 1; j <= m; j++) {
            char x = a[i - 1] == '_' ? '-' : a[i - 1], y = b[j - 1] == '_' ? '-' : b[j - 1];
            size_t sub = diag + (x != y), up = d[j] + 1, left = d[j - 1] + 1, v = sub < up ? sub : up;
            diag = d[j];
            d[j] = v < left ? v : left;
        }
    }
    return d[m];
}

/* "unknown option '--sped'; did you mean '--speed'?" (arg: the long flag as given, or NULL
 * for the short flag c). */
static void unknown_flag(const char *arg, int c, const struct option *opts)
{
    if (!arg) {
        fprintf(stderr, "%s: unknown option '-%c'\nTry '%s --help' for more information.\n", progname, c, progname);
        return;
    }
    char name[80];
    const char *a = arg;
    while (*a == '-') a++;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(a, "="), a);
    const char *best = NULL;
    size_t best_d = 99, n_prefix = 0;
    for (const struct option *o = opts; o->name; o++) {
        if (*name && !strncmp(o->name, name, strlen(name))) n_prefix++;
        size_t d = flag_distance(name, o->name);
        if (d < best_d) { best_d = d; best = o->name; }
    }
    size_t len = strlen(name), limit = len < 6 ? 2 : len / 3 + 1;
    if (n_prefix > 1) {
        fprintf(stderr, "%s: option '%s' is ambiguous; it begins", progname, arg);
        for (const struct option *o = opts; o->name; o++)
            if (!strncmp(o->name, name, strlen(name))) fprintf(stderr, " --%s", o->name);
        fputc('\n', stderr);
    } else if (best && best_d <= limit)
        fprintf(stderr, "%s: unknown option '%s'; did you mean '--%s'?\n", progname, arg, best);
    else
        fprintf(stderr, "%s: unknown option '%s'\n", progname, arg);
    fprintf(stderr, "Try '%s --help' for more information.\n", progname);
}

int main(int argc, char **argv)
{
    if (safe_file_std_fds() != 0) return EXIT_INTERNAL;  /* 2>&-: warnings never into the output file */
    /* defaults */
    const char *out_path = NULL;    /* -o: none = play aloud */
    const char *text_file = NULL;   /* -f */
    const char *vocode_in = NULL;   /* --vocode */
    const char *device = NULL;      /* --device: system default */
    const char *voice = NULL;       /* --voice: $TTS_VOICE, then slt */
    const char *out_dir = NULL;     /* --out-dir: none = one text, one output */
    const char *format = NULL;      /* --format: wav */
    int raw = 0, phonemes = 0, list_devices = 0, list_voices = 0, lines = 0;
    int jobs = 1;                   /* -j */
    int gl_iters = 8;               /* Griffin-Lim iterations (--vocode) */
    int vocode_mels = 128;          /* mel bands (--vocode --mels): the bundled voice's */
    int have_mels = 0;
    float power = 1.0f;             /* magnitude sharpening (--sharpen) */
    user_opts user = {0};           /* --speed, --volume, --sentence-silence, --gl-iters:
                                       the voice's defaults unless given */

    const char *lexicon_path = NULL; /* --lexicon: none */
    const char *timings_path = NULL; /* --timings: none */
    enum { OPT_PHONEMES = 256, OPT_VOCODE, OPT_RAW, OPT_LIST, OPT_GL, OPT_SHARPEN, OPT_WHOLE, OPT_SEED, OPT_SPEED,
           OPT_VOLUME, OPT_SILENCE, OPT_LIST_VOICES, OPT_LINES, OPT_FORMAT, OPT_SSML, OPT_LEXICON,
           OPT_MELS, OPT_SHARD, OPT_SKIP, OPT_FAILED, OPT_VERBOSE, OPT_STDOUT, OPT_LENGTH, OPT_TIMINGS };
    static const struct option longopts[] = {
        {"file", required_argument, 0, 'f'},
        {"lines", no_argument, 0, OPT_LINES},
        {"shard", required_argument, 0, OPT_SHARD},
        {"skip-existing", no_argument, 0, OPT_SKIP},
        {"failed-list", required_argument, 0, OPT_FAILED},
        {"output", required_argument, 0, 'o'},
        {"output_file", required_argument, 0, 'o'},
        {"stdout", no_argument, 0, OPT_STDOUT},
        {"output-raw", no_argument, 0, OPT_RAW},
        {"output_raw", no_argument, 0, OPT_RAW},
        {"timings", required_argument, 0, OPT_TIMINGS},
        {"out-dir", required_argument, 0, 'O'},
        {"format", required_argument, 0, OPT_FORMAT},
        {"jobs", required_argument, 0, 'j'},
        {"device", required_argument, 0, 'd'},
        {"list-devices", no_argument, 0, OPT_LIST},
        {"voice", required_argument, 0, 'v'},
        {"model", required_argument, 0, 'm'},
        {"list-voices", no_argument, 0, OPT_LIST_VOICES},
        {"phonemes", no_argument, 0, OPT_PHONEMES},
        {"ssml", no_argument, 0, OPT_SSML},
        {"lexicon", required_argument, 0, OPT_LEXICON},
        {"vocode", required_argument, 0, OPT_VOCODE},
        {"gl-iters", required_argument, 0, OPT_GL},
        {"mels", required_argument, 0, OPT_MELS},
        {"sharpen", required_argument, 0, OPT_SHARPEN},
        {"whole-sentences", no_argument, 0, OPT_WHOLE},
        {"seed", required_argument, 0, OPT_SEED},
        {"speed", required_argument, 0, OPT_SPEED},
        {"length_scale", required_argument, 0, OPT_LENGTH},
        {"volume", required_argument, 0, OPT_VOLUME},
        {"sentence-silence", required_argument, 0, OPT_SILENCE},
        {"sentence_silence", required_argument, 0, OPT_SILENCE},
        {"verbose", no_argument, 0, OPT_VERBOSE},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;
    opterr = 0;  /* unknown flags are named below, with the nearest known one */
    while ((c = getopt_long(argc, argv, ":f:o:w:O:j:d:m:v:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': text_file = optarg; break;
        case 'o': case 'w': out_path = optarg; break;
        case OPT_STDOUT: out_path = "-"; break;
        case OPT_TIMINGS: timings_path = optarg; break;
        case 'O': out_dir = optarg; break;
        case 'd': device = optarg; break;
        case 'm': case 'v': voice = optarg; break;
        case OPT_VERBOSE: verbose = 1; break;
        case 'q': quiet = 1; break;
        case OPT_RAW: raw = 1; break;
        case OPT_LIST: list_devices = 1; break;
        case OPT_LIST_VOICES: list_voices = 1; break;
        case OPT_LINES: lines = 1; break;
        case OPT_SHARD: {
            char *end = NULL;
            shard_k = strtol(optarg, &end, 10);
            shard_n = end && *end == '/' ? strtol(end + 1, &end, 10) : 0;
            if (!end || *end || shard_n < 1 || shard_n > 1000000 || shard_k < 0 || shard_k >= shard_n) {
                fprintf(stderr, "%s: --shard takes K/N with 0 <= K < N (e.g. 0/4)\n", progname);
                return EXIT_USAGE;
            }
            skip_existing = 1;
            break;
        }
        case OPT_SKIP: skip_existing = 1; break;
        case OPT_FAILED: failed_list = optarg; break;
        case OPT_PHONEMES: phonemes = 1; break;
        case OPT_SSML: ssml_input = 1; break;
        case OPT_LEXICON: lexicon_path = optarg; break;
        case OPT_VOCODE: vocode_in = optarg; break;
        case OPT_FORMAT:
            if (strcmp(optarg, "wav") && strcmp(optarg, "flac") && strcmp(optarg, "ogg")) {
                fprintf(stderr, "%s: --format wants wav, flac or ogg, not '%s'\n", progname, optarg);
                return EXIT_USAGE;
            }
            format = optarg;
            break;
        case 'j':
            if (parse_int("--jobs", optarg, 1, MAX_JOBS, &jobs)) return EXIT_USAGE;
            break;
        case OPT_MELS:
            if (parse_int("--mels", optarg, 8, VOCODE_MAX_MELS, &vocode_mels)) return EXIT_USAGE;
            have_mels = 1;
            break;
        case OPT_GL:
            if (parse_int("--gl-iters", optarg, 1, 1000, &gl_iters)) return EXIT_USAGE;
            user.o.gl_iters = gl_iters;
            user.have_gl = 1;
            break;
        case OPT_SPEED:
            if (parse_float("--speed", optarg, 0.25f, 4.0f, &user.o.speed)) return EXIT_USAGE;
            user.have_speed = 1;
            break;
        case OPT_LENGTH:
            if (parse_float("--length_scale", optarg, 0.25f, 4.0f, &user.o.speed)) return EXIT_USAGE;
            user.o.speed = 1.0f / user.o.speed;
            user.have_speed = 1;
            break;
        case OPT_VOLUME:
            if (parse_float("--volume", optarg, 0.0f, 4.0f, &user.o.volume)) return EXIT_USAGE;
            user.have_volume = 1;
            break;
        case OPT_SILENCE:
            if (parse_float("--sentence-silence", optarg, 0.0f, 10.0f, &user.o.sentence_silence))
                return EXIT_USAGE;
            user.have_silence = 1;
            break;
        case OPT_SHARPEN:
            if (parse_float("--sharpen", optarg, 0.5f, 3.0f, &power)) return EXIT_USAGE;
            user.o.sharpen = power;
            user.have_sharpen = 1;
            break;
        case OPT_WHOLE: user.whole_sentences = 1; break;
        case OPT_SEED:
            if (parse_int("--seed", optarg, 0, 2147483647L, &user.seed)) return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("tts %s\n", TTS_VERSION); return EXIT_OK;
        case ':':
            fprintf(stderr, "%s: %s needs a value\nTry '%s --help' for more information.\n", progname,
                    argv[optind - 1], progname);
            return EXIT_USAGE;
        default:
            unknown_flag(optopt ? NULL : argv[optind - 1], optopt, longopts);
            return EXIT_USAGE;
        }
    }

    /* validate */
    const char *conflict = NULL;
    if (raw && out_path) conflict = "--output-raw and -o cannot be used together";
    else if (timings_path && (phonemes || vocode_in))
        conflict = "--timings is for synthesis, not --phonemes or --vocode";
    else if (timings_path && out_dir && (strchr(timings_path, '/') || !timings_path[0] ||
                                          !strcmp(timings_path, "-") ||
                                          !strcasecmp(timings_path, format ? format : "wav")))
        conflict = "with --out-dir, --timings takes the extension of the timings files beside the audio "
                   "(tsv, txt or json), not a file name";
    else if (timings_path && !strcmp(timings_path, "-") && (raw || (out_path && !strcmp(out_path, "-"))))
        conflict = "--timings - and the audio cannot both go to stdout";
    else if (vocode_in && phonemes) conflict = "--vocode and --phonemes cannot be used together";
    else if (vocode_in && (optind < argc || text_file)) conflict = "--vocode takes no text";
    else if (text_file && optind < argc && !out_dir) conflict = "give the text either as arguments or with -f, not both";
    else if (out_dir && (out_path || raw)) conflict = "--out-dir writes one file per input: not with -o or --output-raw";
    else if (have_mels && !vocode_in) conflict = "--mels is for --vocode";
    else if (out_dir && (phonemes || vocode_in)) conflict = "--out-dir is for synthesis, not --phonemes or --vocode";
    else if (lines && !out_dir) conflict = "--lines writes OUTDIR/ID.wav: give --out-dir";
    else if ((shard_n > 1 || skip_existing || failed_list) && !out_dir)
        conflict = "--shard, --skip-existing and --failed-list are for batch synthesis with --out-dir";
    else if (format && !out_dir) conflict = "--format is for --out-dir; -o takes the format from its extension";
    else if (out_dir && !lines && optind == argc && !text_file)
        conflict = "--out-dir wants input files (or --lines for ID|text lines)";
    if (conflict) {
        fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", progname, conflict, progname);
        return EXIT_USAGE;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);  /* the terminal went away: as SIGTERM */
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error (EPIPE), not a silent death */
    /* partial outputs of a killed run of ours (SIGKILL leaves them) */
    if (out_dir) safe_file_clean_stale_for(out_dir, 1);
    else if (out_path && strcmp(out_path, "-")) safe_file_clean_stale_for(out_path, 0);

    /* run */
    if (list_devices) {
        tts_status st = audio_list_devices(stdout);
        if (st != TTS_OK) return fail(exit_code(st, EXIT_DEVICE), st, "devices", tts_last_error());
        return EXIT_OK;
    }
    if (list_voices) return run_list_voices();

    if (vocode_in) return run_vocode(vocode_in, out_path, raw, device, gl_iters, power, vocode_mels);

    if (out_dir) {
        /* batch: the FILE arguments (and -f FILE) are inputs */
        if (timings_path) batch_timings = timings_path[0] == '.' ? timings_path + 1 : timings_path;
        int n_in = argc - optind + (text_file ? 1 : 0);
        char **in = malloc(((size_t)n_in + 1) * sizeof *in);
        if (!in) return fail(EXIT_INTERNAL, TTS_ERR_NOMEM, "batch", NULL);
        int k = 0;
        if (text_file) in[k++] = (char *)text_file;
        for (int i = optind; i < argc; i++) in[k++] = argv[i];
        if (lines && k == 1 && !strcmp(in[0], "-")) k = 0;
        if (lines && k == 0 && isatty(STDIN_FILENO)) {
            free(in);
            fprintf(stderr, "%s: --lines: no input files and standard input is a terminal\n", progname);
            return EXIT_USAGE;
        }
        int code = load_lexicon(lexicon_path);
        if (code == EXIT_OK) code = run_batch(in, k, lines, out_dir, format ? format : "wav", jobs, voice, &user);
        free(in);
        tts_lexicon_free(lexicon);
        return interrupted ? EXIT_INTERRUPTED : code;
    }

    /* the text: arguments, -f FILE, or standard input */
    char *text = NULL;
    if (text_file || optind == argc || (optind == argc - 1 && !strcmp(argv[optind], "-"))) {
        if (!text_file && isatty(STDIN_FILENO)) {
            fprintf(stderr, "%s: no text given\nTry '%s --help' for more information.\n",
                    progname, progname);
            return EXIT_USAGE;
        }
        /* text to speak is read piece by piece (see streamer): live from a pipe
         * (or socket) to the speakers or raw stdout, spoken as it arrives; in
         * bounded pieces from a file or into a file */
        if (!phonemes) {
            streamer in = {.fd = STDIN_FILENO, .name = "standard input"};
            if (text_file && strcmp(text_file, "-") != 0) {
                struct stat fs;
                in.name = text_file;
                in.fd = open(text_file, O_RDONLY | O_CLOEXEC);
                if (in.fd < 0 || fstat(in.fd, &fs) != 0 || S_ISDIR(fs.st_mode)) {
                    fprintf(stderr, "%s: cannot read '%s': %s\n", progname, text_file,
                            in.fd < 0 ? strerror(errno) : "it is a directory");
                    if (in.fd >= 0) close(in.fd);
                    return EXIT_INPUT;
                }
            }
            struct stat in_st;
            in.bulk = text_file || out_path || (fstat(in.fd, &in_st) == 0 && S_ISREG(in_st.st_mode));
            int code = load_lexicon(lexicon_path);
            if (code == EXIT_OK) code = run_speak(NULL, in, voice, out_path, raw, device, &user, timings_path, jobs);
            if (in.fd != STDIN_FILENO) close(in.fd);
            tts_lexicon_free(lexicon);
            return interrupted ? EXIT_INTERRUPTED : code;
        }
        char err[1200];
        text = read_text_file(text_file ? text_file : "-", err, sizeof err);
        if (!text) {
            fprintf(stderr, "%s: %s\n", progname, err);
            return interrupted ? EXIT_INTERRUPTED : EXIT_INPUT;
        }
    } else {
        size_t len = 1;
        for (int i = optind; i < argc; i++) len += strlen(argv[i]) + 1;
        text = malloc(len);
        if (!text) return fail(EXIT_INTERNAL, TTS_ERR_NOMEM, "text", NULL);
        text[0] = '\0';
        for (int i = optind; i < argc; i++) {
            if (i > optind) strcat(text, " ");
            strcat(text, argv[i]);
        }
    }
    if (blank(text)) {
        fprintf(stderr, "%s: the text is empty: nothing to speak\n", progname);
        free(text);
        return EXIT_INPUT;
    }
    int code = load_lexicon(lexicon_path);
    if (code == EXIT_OK)
        code = phonemes ? run_phonemes(text, voice, &user)
                        : run_speak(text, (streamer){.fd = -1}, voice, out_path, raw, device, &user, timings_path, jobs);
    free(text);
    tts_lexicon_free(lexicon);
    return interrupted ? EXIT_INTERRUPTED : code;
}
