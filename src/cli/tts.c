/*
 * tts.c - the `tts` program: speak text aloud, or write it to a file.
 *
 * This file parses the command line, picks the input (arguments, -f FILE or
 * standard input) and the output (a file, raw PCM on stdout, or the speakers),
 * runs the library, and turns every tts_status into a message and an exit
 * code.  It is the only place (with tts_train.c) that exits.  It holds no
 * signal processing or model code of its own: --phonemes is the text front
 * end (src/text), --vocode is analysis and Griffin-Lim resynthesis
 * (src/dsp), output goes through src/audio.
 *
 * Synthesis of text needs a trained voice; until the acoustic model lands,
 * find_voice() is the seam: it reports "no voice model found" and tts exits
 * with EXIT_VOICE.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audio/audio.h"
#include "dsp/dsp.h"
#include "text/text.h"
#include "tts.h"

#ifndef TTS_VERSION
#define TTS_VERSION "unknown"
#endif
#ifndef TTS_DATADIR
#define TTS_DATADIR "/usr/local/share/tts"
#endif

/* Exit codes (listed in --help). */
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

static const char *progname = "tts";
static int quiet = 0, verbose = 0;
static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
"Usage: %s [OPTIONS] [TEXT...]\n"
"Offline text-to-speech.  Speaks TEXT (or the text of -f FILE, or standard input)\n"
"aloud, or writes it to a file with -o.\n"
"\n"
"Input:\n"
"  TEXT...                 the text to speak; none or \"-\": read standard input\n"
"  -f, --file FILE         read the text from FILE                    (default: none)\n"
"      --phonemes          print each sentence's normalized text and IPA, then exit\n"
"      --vocode IN         resynthesize the audio file IN: log-mel analysis, then\n"
"                          Griffin-Lim (a vocoder check; any sample rate, resampled)\n"
"Output (default: play aloud on the default device):\n"
"  -o, --output FILE       write FILE; format from the extension: .wav (16-bit),\n"
"                          .flac, .ogg (Vorbis); \"-\" writes WAV to stdout\n"
"      --output-raw        write raw signed 16-bit little-endian mono PCM at\n"
"                          22050 Hz to stdout, sentence by sentence\n"
"  -d, --device DEV        playback device: index or part of its name\n"
"                                                          (default: system default)\n"
"      --list-devices      list the playback devices, then exit\n"
"Voice:\n"
"  -m, --voice NAME|FILE   the voice: a name looked up in $TTS_VOICE_PATH, ./voices,\n"
"                          the program's ../voices and " TTS_DATADIR "/voices,\n"
"                          or a voice .json file     (default: $TTS_VOICE, else slt)\n"
"      --speed X           pace, 0.25-4, higher is faster     (default: the voice's, 1)\n"
"      --volume X          loudness factor, 0-4                (default: the voice's, 1)\n"
"      --sentence-silence S  seconds of silence after each sentence, 0-10\n"
"                                                          (default: the voice's, 0.2)\n"
"Vocoder:\n"
"      --gl-iters N        Griffin-Lim iterations, 1-1000    (default: the voice's, 32)\n"
"      --power P           --vocode: magnitude sharpening, 1 = none (default: 1.2)\n"
"General:\n"
"  -v, --verbose           more detail on stderr (--vocode: spectral convergence, speed)\n"
"  -q, --quiet             print nothing but errors\n"
"  -h, --help              print this help, then exit\n"
"  -V, --version           print the version, then exit\n"
"\n"
"Exit status:\n"
"  0    success\n"
"  1    usage error (unknown flag, bad value, missing argument)\n"
"  2    input error (unreadable or invalid text or input audio, phonemizer failure)\n"
"  3    voice error (no voice model found, invalid model, the model failed)\n"
"  4    output error (cannot write the output file or stream)\n"
"  5    audio device error (no playback device, or built without playback)\n"
"  6    internal error (out of memory, numeric failure, bug)\n"
"  130  interrupted (Ctrl-C)\n",
            progname);
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

/* ---- text input ---- */

static char *read_stream(FILE *fp)
{
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    for (;;) {
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
    return s;
}

/* ---- output: a file, raw stdout, or the speakers ---- */

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

/* One sentence (or one whole resynthesized file). */
static tts_status sink_write(sink *s, const float *pcm, size_t n)
{
    if (s->raw) return audio_write_raw(STDOUT_FILENO, pcm, n);
    if (s->file) return audio_writer_write(s->file, pcm, n);
    return audio_player_write(s->player, pcm, n);
}

static tts_status sink_close(sink *s)
{
    tts_status st = TTS_OK;
    if (s->file) st = audio_writer_close(s->file);
    if (s->player) st = audio_player_close(s->player);
    s->file = NULL;
    s->player = NULL;
    return st;
}

static void sink_abort(sink *s)
{
    audio_writer_abort(s->file);
    audio_player_abort(s->player);
    s->file = NULL;
    s->player = NULL;
}

/* ---- --phonemes ---- */

static int run_phonemes(const char *text)
{
    tts_status st = text_frontend_init("en-us");
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, "cannot start espeak-ng", NULL);
    char *norm = NULL;
    st = text_normalize(text, &norm);
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, "cannot normalize the text", NULL);
    text_sentences sents = {0};
    st = text_split(norm, 400, &sents);
    free(norm);
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, "cannot split the text", NULL);
    int code = EXIT_OK;
    for (size_t i = 0; i < sents.n && !interrupted; i++) {
        char *ipa = NULL;
        st = text_phonemize(sents.items[i].text, &ipa);
        if (st != TTS_OK) {
            code = fail(exit_code(st, EXIT_INPUT), st, "cannot phonemize", NULL);
            break;
        }
        printf("%s\n    %s\n", sents.items[i].text, ipa);
        free(ipa);
    }
    text_sentences_free(&sents);
    if (fflush(stdout) != 0 && code == EXIT_OK) {
        fprintf(stderr, "%s: cannot write to standard output: %s\n", progname, strerror(errno));
        code = EXIT_OUTPUT;
    }
    return interrupted ? EXIT_INTERRUPTED : code;
}

/* ---- --vocode ---- */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int run_vocode(const char *in_path, const char *out_path, int raw, const char *device,
                      int gl_iters, float power)
{
    dsp_params p = dsp_params_default();
    float *x = NULL, *mel = NULL, *mag = NULL, *y = NULL, *truth = NULL;
    dsp_features *f = NULL;
    sink out = {0};
    int code = EXIT_OK, sr = 0;
    size_t n = 0;
    tts_status st = audio_read_file(in_path, &x, &n, &sr);
    if (st != TTS_OK) return fail(exit_code(st, EXIT_INPUT), st, in_path, audio_last_error());
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
                    audio_last_error());
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
                    "vocode: %.2f s, %zu frames, %d Griffin-Lim iterations, power %.2f\n"
                    "vocode: spectral convergence vs mel-inverted target %.2f dB, "
                    "vs input STFT %.2f dB\n"
                    "vocode: %.3f s, real-time factor %.4f\n",
                    secs, nt, gl_iters, power, sc_target, sc_true, t1 - t0, (t1 - t0) / secs);
        }
    }
    st = sink_write(&out, y, n); /* trimmed to the input's length */
    if (st == TTS_OK) st = sink_close(&out);
    if (st != TTS_OK) {
        code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "output", audio_last_error());
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

/* ---- text to speech ---- */

/* Voices are looked up in $TTS_VOICE_PATH, ./voices and the installed data
 * folder (see tts_voice_load); the folder next to the program
 * (build/tts -> voices/) is added to $TTS_VOICE_PATH so a fresh build
 * finds the bundled voice from any working directory. */
static void add_program_voice_dir(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0;
    const char *old = getenv("TTS_VOICE_PATH");
    char path[9000];
    snprintf(path, sizeof path, "%s%s%s/../voices", old && *old ? old : "", old && *old ? ":" : "", exe);
    setenv("TTS_VOICE_PATH", path, 1);
}

static int run_speak(const char *text, const char *voice_name, const char *out_path, int raw,
                     const char *device, const tts_options *user_opts, int have_opts[4])
{
    const char *env = getenv("TTS_VOICE");
    if (!voice_name || !*voice_name) voice_name = env && *env ? env : "slt";
    tts_voice *voice = NULL;
    tts_status st = tts_voice_load(voice_name, &voice);
    if (st != TTS_OK)
        return fail(exit_code(st, EXIT_VOICE), st, "cannot load the voice", tts_last_error());
    tts_options o;
    tts_options_default(voice, &o);
    if (have_opts[0]) o.speed = user_opts->speed;
    if (have_opts[1]) o.volume = user_opts->volume;
    if (have_opts[2]) o.sentence_silence = user_opts->sentence_silence;
    if (have_opts[3]) o.gl_iters = user_opts->gl_iters;
    tts_synth *syn = NULL;
    sink out = {0};
    int code = EXIT_OK;
    st = tts_synth_create(voice, &o, &syn);
    if (st != TTS_OK) { code = fail(exit_code(st, EXIT_VOICE), st, "synthesizer", tts_last_error()); goto done; }
    st = tts_synth_start(syn, text);
    if (st != TTS_OK) { code = fail(exit_code(st, EXIT_INPUT), st, "text", tts_last_error()); goto done; }
    st = sink_open(&out, out_path, raw, device, tts_voice_sample_rate(voice));
    if (st != TTS_OK) {
        code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "playback", audio_last_error());
        goto done;
    }
    tts_chunk ch;
    while (!interrupted) {
        st = tts_synth_next(syn, &ch);
        if (st != TTS_OK) {
            fprintf(stderr, "%s: a sentence failed: %s (%s)\n", progname, tts_status_message(st), tts_last_error());
            code = exit_code(st, EXIT_VOICE);
            continue;
        }
        if (ch.done) break;
        if (ch.warning != TTS_OK)
            fprintf(stderr, "%s: sentence %zu: %s; it was synthesized in pieces: \"%.60s\"\n", progname,
                    ch.sentence + 1, tts_status_message(ch.warning), ch.text);
        st = sink_write(&out, ch.samples, ch.n_samples);
        if (st != TTS_OK) {
            code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "output", audio_last_error());
            goto done;
        }
    }
    if (interrupted) { code = EXIT_INTERRUPTED; goto done; }
    st = sink_close(&out);
    if (st != TTS_OK) {
        code = fail(exit_code(st, EXIT_OUTPUT), st, out_path ? out_path : "output", audio_last_error());
        goto done;
    }
    if (out_path && strcmp(out_path, "-") != 0 && code == EXIT_OK) info("%s: wrote %s\n", progname, out_path);
done:
    if (code != EXIT_OK) sink_abort(&out);
    tts_synth_free(syn);
    tts_voice_free(voice);
    return code;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    /* defaults */
    const char *out_path = NULL;    /* -o: none = play aloud */
    const char *text_file = NULL;   /* -f */
    const char *vocode_in = NULL;   /* --vocode */
    const char *device = NULL;      /* --device: system default */
    const char *voice = NULL;       /* --voice: $TTS_VOICE, then the search path */
    int raw = 0, phonemes = 0, list_devices = 0;
    int gl_iters = 32;              /* Griffin-Lim iterations */
    float power = 1.2f;             /* magnitude sharpening */
    tts_options user = {0};         /* --speed, --volume, --sentence-silence, --gl-iters:
                                       the voice's defaults unless given */
    int have_opts[4] = {0};

    enum { OPT_PHONEMES = 256, OPT_VOCODE, OPT_RAW, OPT_LIST, OPT_GL, OPT_POWER, OPT_SPEED,
           OPT_VOLUME, OPT_SILENCE };
    static const struct option longopts[] = {
        {"file", required_argument, 0, 'f'},
        {"output", required_argument, 0, 'o'},
        {"output-raw", no_argument, 0, OPT_RAW},
        {"device", required_argument, 0, 'd'},
        {"list-devices", no_argument, 0, OPT_LIST},
        {"voice", required_argument, 0, 'm'},
        {"phonemes", no_argument, 0, OPT_PHONEMES},
        {"vocode", required_argument, 0, OPT_VOCODE},
        {"gl-iters", required_argument, 0, OPT_GL},
        {"power", required_argument, 0, OPT_POWER},
        {"speed", required_argument, 0, OPT_SPEED},
        {"volume", required_argument, 0, OPT_VOLUME},
        {"sentence-silence", required_argument, 0, OPT_SILENCE},
        {"verbose", no_argument, 0, 'v'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "f:o:d:m:vqhV", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'f': text_file = optarg; break;
        case 'o': out_path = optarg; break;
        case 'd': device = optarg; break;
        case 'm': voice = optarg; break;
        case 'v': verbose = 1; break;
        case 'q': quiet = 1; break;
        case OPT_RAW: raw = 1; break;
        case OPT_LIST: list_devices = 1; break;
        case OPT_PHONEMES: phonemes = 1; break;
        case OPT_VOCODE: vocode_in = optarg; break;
        case OPT_GL: {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || v < 1 || v > 1000) {
                fprintf(stderr, "%s: --gl-iters wants a whole number from 1 to 1000, not '%s'\n",
                        progname, optarg);
                return EXIT_USAGE;
            }
            gl_iters = (int)v;
            user.gl_iters = (int)v;
            have_opts[3] = 1;
            break;
        }
        case OPT_SPEED:
        case OPT_VOLUME:
        case OPT_SILENCE: {
            float v = strtof(optarg, &end);
            float lo = c == OPT_SPEED ? 0.25f : 0.0f, hi = c == OPT_SPEED ? 4.0f : c == OPT_VOLUME ? 4.0f : 10.0f;
            const char *nm = c == OPT_SPEED ? "--speed" : c == OPT_VOLUME ? "--volume" : "--sentence-silence";
            if (*end || end == optarg || !(v >= lo && v <= hi)) {
                fprintf(stderr, "%s: %s wants a number from %g to %g, not '%s'\n", progname, nm,
                        (double)lo, (double)hi, optarg);
                return EXIT_USAGE;
            }
            if (c == OPT_SPEED) { user.speed = v; have_opts[0] = 1; }
            if (c == OPT_VOLUME) { user.volume = v; have_opts[1] = 1; }
            if (c == OPT_SILENCE) { user.sentence_silence = v; have_opts[2] = 1; }
            break;
        }
        case OPT_POWER: {
            float v = strtof(optarg, &end);
            if (*end || end == optarg || !(v >= 0.5f && v <= 3.0f)) {
                fprintf(stderr, "%s: --power wants a number from 0.5 to 3, not '%s'\n", progname,
                        optarg);
                return EXIT_USAGE;
            }
            power = v;
            break;
        }
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("tts %s\n", TTS_VERSION); return EXIT_OK;
        default:
            fprintf(stderr, "Try '%s --help' for more information.\n", progname);
            return EXIT_USAGE;
        }
    }

    /* validate */
    if (raw && out_path) {
        fprintf(stderr, "%s: --output-raw and -o cannot be used together\n", progname);
        return EXIT_USAGE;
    }
    if (vocode_in && phonemes) {
        fprintf(stderr, "%s: --vocode and --phonemes cannot be used together\n", progname);
        return EXIT_USAGE;
    }
    if (vocode_in && (optind < argc || text_file)) {
        fprintf(stderr, "%s: --vocode takes no text\n", progname);
        return EXIT_USAGE;
    }
    if (text_file && optind < argc) {
        fprintf(stderr, "%s: give the text either as arguments or with -f, not both\n", progname);
        return EXIT_USAGE;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error (EPIPE), not a silent death */

    /* run */
    if (list_devices) {
        tts_status st = audio_list_devices(stdout);
        if (st != TTS_OK) return fail(exit_code(st, EXIT_DEVICE), st, "devices", audio_last_error());
        return EXIT_OK;
    }
    if (vocode_in) return run_vocode(vocode_in, out_path, raw, device, gl_iters, power);

    /* the text: arguments, -f FILE, or standard input */
    char *text = NULL;
    if (text_file || optind == argc || (optind == argc - 1 && !strcmp(argv[optind], "-"))) {
        if (!text_file && isatty(STDIN_FILENO)) {
            fprintf(stderr, "%s: no text given\nTry '%s --help' for more information.\n",
                    progname, progname);
            return EXIT_USAGE;
        }
        FILE *fp = text_file && strcmp(text_file, "-") ? fopen(text_file, "rb") : stdin;
        if (!fp) {
            fprintf(stderr, "%s: cannot open '%s': %s\n", progname, text_file, strerror(errno));
            return EXIT_INPUT;
        }
        text = read_stream(fp);
        if (fp != stdin) fclose(fp);
        if (!text) {
            fprintf(stderr, "%s: cannot read the text: %s\n", progname, strerror(errno));
            return EXIT_INPUT;
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

    size_t k = 0;
    while (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r') k++;
    if (!text[k]) {
        fprintf(stderr, "%s: the text is empty: nothing to speak\n", progname);
        free(text);
        return EXIT_INPUT;
    }
    add_program_voice_dir();
    int code = phonemes ? run_phonemes(text)
                        : run_speak(text, voice, out_path, raw, device, &user, have_opts);
    free(text);
    return interrupted ? EXIT_INTERRUPTED : code;
}
