/*
 * test_audio.c - cmocka tests of src/audio: write/read round trips in WAV,
 * FLAC and Ogg Vorbis; the atomic writer (no temporary file left behind, an
 * old file untouched when a write is abandoned); clear errors for a missing
 * or unwritable folder, a directory as output and an unknown extension;
 * writing to a FIFO and to a full device (/dev/full); the raw 16-bit format;
 * and playback failing cleanly where there is no audio device.
 *
 * Every test works in its own fresh folder under /tmp and removes it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio.h"
#include "audio/audio_internal.h"

#define SR 22050

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tts-test-audio-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[128];
    chmod(tmpdir, 0700);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Number of entries in dir (without . and ..). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static float *tone(size_t n)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * sin(2.0 * M_PI * 440.0 * i / SR) + 0.2 * sin(2.0 * M_PI * 1234.0 * i / SR));
    return x;
}

static void round_trip(const char *name, double min_snr_db)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    size_t n = SR;
    float *x = tone(n), *y = NULL;
    assert_int_equal(audio_write_file(path, x, n, SR), TTS_OK);
    assert_int_equal(count_entries(tmpdir), 1); /* no temporary file left */
    size_t m = 0;
    int sr = 0;
    assert_int_equal(audio_read_file(path, &y, &m, &sr), TTS_OK);
    assert_int_equal(sr, SR);
    assert_int_equal(m, n);
    double e = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        e += (double)(x[i] - y[i]) * (x[i] - y[i]);
        s += (double)x[i] * x[i];
    }
    double snr = e > 0.0 ? 10.0 * log10(s / e) : 200.0;
    print_message("%s: SNR %.1f dB\n", name, snr);
    assert_true(snr > min_snr_db);
    free(x);
    free(y);
    unlink(path);
}

static void test_round_trip_wav(void **state) { (void)state; round_trip("a.wav", 80.0); }
static void test_round_trip_flac(void **state) { (void)state; round_trip("a.flac", 80.0); }
static void test_round_trip_ogg(void **state) { (void)state; round_trip("a.ogg", 10.0); }

static void test_format_for_path(void **state)
{
    (void)state;
    assert_true(audio_format_for_path("x.wav") != 0);
    assert_true(audio_format_for_path("dir.d/X.FLAC") != 0);
    assert_true(audio_format_for_path("x.ogg") != 0);
    assert_int_equal(audio_format_for_path("x.mp3"), 0);
    assert_int_equal(audio_format_for_path("dir.wav/x"), 0);
    assert_int_equal(audio_format_for_path(".wav"), 0);
}

static void test_unknown_extension(void **state)
{
    (void)state;
    char path[256];
    float x[16] = {0};
    snprintf(path, sizeof path, "%s/a.mp3", tmpdir);
    assert_int_equal(audio_write_file(path, x, 16, SR), TTS_ERR_AUDIO_FORMAT);
    assert_non_null(strstr(tts_last_error(), ".wav"));
    assert_int_equal(count_entries(tmpdir), 0);
}

static void test_directory_as_output(void **state)
{
    (void)state;
    char path[256];
    float x[16] = {0};
    snprintf(path, sizeof path, "%s/sub.wav", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(audio_write_file(path, x, 16, SR), TTS_ERR_IO);
    assert_non_null(strstr(tts_last_error(), "directory"));
    assert_int_equal(audio_write_file(tmpdir, x, 16, SR), TTS_ERR_IO);
    assert_non_null(strstr(tts_last_error(), "directory"));
    assert_int_equal(count_entries(path), 0);
    rmdir(path);
}

static void test_missing_folder(void **state)
{
    (void)state;
    char path[256];
    float x[16] = {0};
    snprintf(path, sizeof path, "%s/no/such/folder/a.wav", tmpdir);
    assert_int_equal(audio_write_file(path, x, 16, SR), TTS_ERR_IO);
    assert_non_null(strstr(tts_last_error(), "does not exist"));
}

static void test_unwritable_folder(void **state)
{
    (void)state;
    char dir[256], path[300];
    float x[16] = {0};
    snprintf(dir, sizeof dir, "%s/ro", tmpdir);
    assert_int_equal(mkdir(dir, 0500), 0);
    snprintf(path, sizeof path, "%s/a.wav", dir);
    tts_status st = audio_write_file(path, x, 16, SR);
    if (geteuid() == 0) {
        /* root writes anywhere: check a read-only file system instead, if any */
        print_message("running as root: permission bits do not apply\n");
        if (st == TTS_OK) unlink(path);
        st = audio_write_file("/proc/tts-test.wav", x, 16, SR);
        assert_true(st == TTS_ERR_IO);
        assert_non_null(strstr(tts_last_error(), "tts-test.wav"));
    } else {
        assert_int_equal(st, TTS_ERR_IO);
        assert_non_null(strstr(tts_last_error(), "Permission denied"));
        assert_int_equal(count_entries(dir), 0);
    }
    rmdir(dir);
}

/* An abandoned write leaves neither a temporary file nor a changed target. */
static void test_atomic_abort(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/keep.wav", tmpdir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("old contents", fp);
    fclose(fp);
    float *x = tone(SR);
    audio_writer *w = NULL;
    assert_int_equal(audio_writer_open(path, SR, &w), TTS_OK);
    assert_int_equal(audio_writer_write(w, x, SR), TTS_OK);
    assert_int_equal(count_entries(tmpdir), 2); /* the target and the temporary file */
    audio_writer_abort(w);
    assert_int_equal(count_entries(tmpdir), 1);
    char buf[64] = {0};
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    assert_string_equal(buf, "old contents");
    /* the same writer, completed sentence by sentence, replaces it */
    assert_int_equal(audio_writer_open(path, SR, &w), TTS_OK);
    for (size_t i = 0, step = SR / 4 + 1; i < SR; i += step) /* sentence by sentence */
        assert_int_equal(audio_writer_write(w, x + i, i + step <= SR ? step : SR - i), TTS_OK);
    assert_int_equal(audio_writer_close(w), TTS_OK);
    assert_int_equal(count_entries(tmpdir), 1);
    float *y;
    size_t m;
    int sr;
    assert_int_equal(audio_read_file(path, &y, &m, &sr), TTS_OK);
    assert_int_equal(m, SR);
    free(y);
    free(x);
    unlink(path);
    audio_writer_abort(NULL);
}

/* A device that fails every write: the error says so, nothing is renamed. */
static void test_full_device(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0) skip();
    float *x = tone(SR);
    tts_status st = audio_write_file("/dev/full", x, SR, SR);
    assert_int_equal(st, TTS_ERR_NO_SPACE);
    assert_non_null(strstr(tts_last_error(), "/dev/full"));
    free(x);
}

typedef struct {
    char path[256];
    unsigned char head[4];
    size_t n;
} fifo_reader;

static void *read_fifo(void *arg)
{
    fifo_reader *r = arg;
    int fd = open(r->path, O_RDONLY);
    if (fd < 0) return NULL;
    unsigned char buf[4096];
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < got && r->n + (size_t)i < 4; i++) r->head[r->n + (size_t)i] = buf[i];
        r->n += (size_t)got;
    }
    close(fd);
    return NULL;
}

static void test_fifo_written_directly(void **state)
{
    (void)state;
    fifo_reader r = {{0}, {0}, 0};
    snprintf(r.path, sizeof r.path, "%s/pipe", tmpdir);
    assert_int_equal(mkfifo(r.path, 0600), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_fifo, &r), 0);
    float *x = tone(1000);
    assert_int_equal(audio_write_file(r.path, x, 1000, SR), TTS_OK);
    pthread_join(th, NULL);
    assert_memory_equal(r.head, "RIFF", 4); /* no extension: WAV */
    assert_int_equal(r.n, 44 + 2 * 1000);
    struct stat st;
    assert_int_equal(stat(r.path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode)); /* still the FIFO: not renamed over */
    assert_int_equal(count_entries(tmpdir), 1);
    unlink(r.path);
    free(x);
}

/* A pipe gets a streamed WAV: the header (sizes unknown) and each piece of
 * samples as it is written, never the whole file held in memory until the
 * end; the samples are the bytes a WAV file gets. */
static void test_pipe_streamed(void **state)
{
    (void)state;
    fifo_reader r = {{0}, {0}, 0};
    snprintf(r.path, sizeof r.path, "%s/pipe", tmpdir);
    assert_int_equal(mkfifo(r.path, 0600), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, read_fifo, &r), 0);
    float *x = tone(1000);
    audio_writer *w = NULL;
    assert_int_equal(audio_writer_open(r.path, SR, &w), TTS_OK);
    assert_int_equal(audio_writer_write(w, x, 1000), TTS_OK);
    for (int i = 0; i < 200 && r.n < 44 + 2000; i++) usleep(10000);
    assert_int_equal(r.n, 44 + 2000);  /* there before the writer is closed */
    assert_int_equal(audio_writer_write(w, x, 1000), TTS_OK);
    assert_int_equal(audio_writer_close(w), TTS_OK);
    pthread_join(th, NULL);
    assert_memory_equal(r.head, "RIFF", 4);
    assert_int_equal(r.n, 44 + 4000);
    unlink(r.path);

    /* the same samples through a regular file (libsndfile) and a streamed
       WAV redirected to a file (its header fixed at the end): the same bytes */
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/file.wav", tmpdir);
    snprintf(b, sizeof b, "%s/stream.wav", tmpdir);
    for (int i = 0; i < 1000; i++) x[i] = (float)(i - 500) / 499.0f * 1.01f;  /* past full scale too */
    assert_int_equal(audio_write_file(a, x, 1000, SR), TTS_OK);
    int fd = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    char dev[64];
    snprintf(dev, sizeof dev, "/dev/fd/%d", fd);
    assert_int_equal(audio_write_file(dev, x, 1000, SR), TTS_OK);
    close(fd);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    assert_int_equal(system(cmd), 0);
    free(x);
}

/* A WAV file ends at 4 GB (its 32-bit sizes): writing past it is an error
 * naming the file, not a header that wraps and says 39 minutes (the limit
 * is lowered here to 2000 bytes of samples). */
static void test_wav_size_limit(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/long.wav", tmpdir);
    uint64_t saved = audio_wav_max_data_bytes;
    audio_wav_max_data_bytes = 2000;
    float *x = tone(1000);
    audio_writer *w = NULL;
    assert_int_equal(audio_writer_open(path, SR, &w), TTS_OK);
    assert_int_equal(audio_writer_write(w, x, 800), TTS_OK);
    assert_int_equal(audio_writer_write(w, x, 300), TTS_ERR_IO);
    assert_non_null(strstr(tts_last_error(), "long.wav"));
    assert_non_null(strstr(tts_last_error(), "4 GB"));
    audio_writer_abort(w);
    assert_int_equal(count_entries(tmpdir), 0);
    /* FLAC has no such limit */
    snprintf(path, sizeof path, "%s/long.flac", tmpdir);
    assert_int_equal(audio_write_file(path, x, 1000, SR), TTS_OK);
    audio_wav_max_data_bytes = saved;
    free(x);
}

static void test_raw_output(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const float x[] = {0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 2.0f, -3.0f, 1.0f / 32767.0f};
    size_t n = sizeof x / sizeof *x;
    assert_int_equal(audio_write_raw(fds[1], x, n), TTS_OK);
    close(fds[1]);
    unsigned char b[64];
    ssize_t got = read(fds[0], b, sizeof b);
    close(fds[0]);
    assert_int_equal(got, 2 * (ssize_t)n); /* 16-bit mono, no header */
    const int16_t want[] = {0, 16384, -16384, 32767, -32767, 32767, -32767, 1};
    for (size_t i = 0; i < n; i++) {
        int16_t v = (int16_t)(uint16_t)(b[2 * i] | (b[2 * i + 1] << 8)); /* little-endian */
        assert_true(abs(v - want[i]) <= 1);
    }
    /* a closed pipe is an error, not a crash (SIGPIPE ignored as the CLI does) */
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    assert_int_equal(audio_write_raw(fds[1], x, n), TTS_ERR_IO);
    close(fds[1]);
    signal(SIGPIPE, SIG_DFL);
}

static void test_read_errors(void **state)
{
    (void)state;
    float *y = (float *)1;
    size_t n = 7;
    char path[256];
    snprintf(path, sizeof path, "%s/missing.wav", tmpdir);
    assert_int_equal(audio_read_file(path, &y, &n, NULL), TTS_ERR_IO);
    assert_null(y);
    assert_non_null(strstr(tts_last_error(), "missing.wav"));
    snprintf(path, sizeof path, "%s/text.wav", tmpdir);
    FILE *fp = fopen(path, "w");
    fputs("this is not audio at all, just some text that is long enough", fp);
    fclose(fp);
    assert_int_equal(audio_read_file(path, &y, &n, NULL), TTS_ERR_AUDIO_FORMAT);
    unlink(path);
    assert_int_equal(audio_read_file(tmpdir, &y, &n, NULL), TTS_ERR_IO);
}

/* No device here or in CI: a clear AUDIO_DEVICE error (NO_PLAYBACK without
 * PortAudio).  On a machine with sound, playing a short silence must work. */
static void test_player_without_device(void **state)
{
    (void)state;
    audio_player *p = (audio_player *)1;
    tts_status st = audio_player_open("no-such-device-xyz", SR, &p);
    assert_null(p);
#ifdef TTS_HAVE_PORTAUDIO
    assert_int_equal(st, TTS_ERR_AUDIO_DEVICE);
#else
    assert_int_equal(st, TTS_ERR_NO_PLAYBACK);
#endif
    assert_true(strlen(tts_last_error()) > 10);
    print_message("no such device: %s\n", tts_last_error());
    st = audio_player_open(NULL, SR, &p);
    if (st == TTS_OK) {
        float z[2205] = {0};
        assert_int_equal(audio_player_write(p, z, 2205), TTS_OK);
        assert_int_equal(audio_player_close(p), TTS_OK);
    } else {
        assert_true(st == TTS_ERR_AUDIO_DEVICE || st == TTS_ERR_NO_PLAYBACK);
        print_message("default device: %s\n", tts_last_error());
    }
    assert_int_equal(audio_player_close(NULL), TTS_OK);
    audio_player_abort(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_wav, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_round_trip_flac, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_round_trip_ogg, setup_dir, teardown_dir),
        cmocka_unit_test(test_format_for_path),
        cmocka_unit_test_setup_teardown(test_unknown_extension, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_directory_as_output, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_missing_folder, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_unwritable_folder, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_atomic_abort, setup_dir, teardown_dir),
        cmocka_unit_test(test_full_device),
        cmocka_unit_test_setup_teardown(test_fifo_written_directly, setup_dir, teardown_dir),
        cmocka_unit_test(test_raw_output),
        cmocka_unit_test_setup_teardown(test_pipe_streamed, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_wav_size_limit, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_errors, setup_dir, teardown_dir),
        cmocka_unit_test(test_player_without_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
