/*
 * audio_file.c - reading and writing audio files with libsndfile, and raw
 * 16-bit PCM output.
 *
 * Writing a regular file goes through a temporary file in the same folder
 * (so the final rename is atomic on one file system) which is fsync'd and
 * renamed over the requested name only when complete; on any failure the
 * temporary file is removed.  Devices and pipes cannot be renamed into, so
 * for them the encoded file is built in memory (libsndfile virtual I/O, which
 * also lets WAV and FLAC fix their headers without seeking the pipe) and
 * written out at close.  This file does not resample and does not play.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "audio/audio.h"
#include "audio/audio_internal.h"
#include "core/safe_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static tts_status io_status(int err) { return err == ENOSPC || err == EDQUOT ? TTS_ERR_NO_SPACE : TTS_ERR_IO; }

/* ---- formats ---- */

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : NULL;
}

int audio_format_for_path(const char *path)
{
    const char *ext = path ? extension(path) : NULL;
    if (!ext) return 0;
    if (!strcasecmp(ext, "wav") || !strcasecmp(ext, "wave")) return SF_FORMAT_WAV;
    if (!strcasecmp(ext, "flac")) return SF_FORMAT_FLAC;
    if (!strcasecmp(ext, "ogg") || !strcasecmp(ext, "oga")) return SF_FORMAT_OGG;
    return 0;
}

static int full_format(int major)
{
    switch (major) {
    case SF_FORMAT_FLAC: return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    case SF_FORMAT_OGG: return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    default: return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    }
}

/* ---- reading ---- */

tts_status audio_read_file(const char *path, float **pcm, size_t *n_samples, int *sample_rate)
{
    tts_error_clear();
    if (!path || !pcm || !n_samples) return TTS_ERR_INVALID_ARG;
    *pcm = NULL;
    *n_samples = 0;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf;
    if (!strcmp(path, "-")) {
        sf = sf_open_fd(STDIN_FILENO, SFM_READ, &info, SF_FALSE);
        if (!sf)
            return tts_error_set(TTS_ERR_AUDIO_FORMAT, "cannot decode standard input: %s",
                              sf_strerror(NULL));
    } else {
        struct stat st;
        if (stat(path, &st) != 0)
            return tts_error_set(TTS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode))
            return tts_error_set(TTS_ERR_IO, "cannot read '%s': it is a directory", path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return tts_error_set(TTS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        sf = sf_open_fd(fd, SFM_READ, &info, SF_TRUE);
        if (!sf) {
            tts_status s = tts_error_set(TTS_ERR_AUDIO_FORMAT, "cannot decode '%s': %s", path,
                                      sf_strerror(NULL));
            close(fd);
            return s;
        }
    }
    int ch = info.channels > 0 ? info.channels : 1;
    size_t cap = 0, n = 0;
    float *out = NULL, *buf = malloc((size_t)ch * 8192 * sizeof *buf);
    tts_status st = buf ? TTS_OK : TTS_ERR_NOMEM;
    while (st == TTS_OK) {
        sf_count_t got = sf_readf_float(sf, buf, 8192);
        if (got <= 0) break;
        if (n + (size_t)got > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            while (ncap < n + (size_t)got) ncap *= 2;
            float *p = realloc(out, ncap * sizeof *out);
            if (!p) { st = TTS_ERR_NOMEM; break; }
            out = p;
            cap = ncap;
        }
        for (sf_count_t i = 0; i < got; i++) out[n + (size_t)i] = buf[(size_t)i * (size_t)ch];
        n += (size_t)got;
    }
    if (st == TTS_OK && sf_error(sf) != SF_ERR_NO_ERROR)
        st = tts_error_set(TTS_ERR_AUDIO_FORMAT, "error decoding '%s': %s", path, sf_strerror(sf));
    sf_close(sf);
    free(buf);
    if (st != TTS_OK) {
        free(out);
        return st;
    }
    if (!out) out = malloc(sizeof *out); /* an empty file: a valid, empty buffer */
    if (!out) return TTS_ERR_NOMEM;
    *pcm = out;
    *n_samples = n;
    if (sample_rate) *sample_rate = info.samplerate;
    return TTS_OK;
}

/* ---- in-memory file for devices and pipes (libsndfile virtual I/O) ---- */

typedef struct memfile {
    unsigned char *data;
    sf_count_t len, cap, pos;
} memfile;

static sf_count_t mem_len(void *u) { return ((memfile *)u)->len; }
static sf_count_t mem_tell(void *u) { return ((memfile *)u)->pos; }

static sf_count_t mem_seek(sf_count_t off, int whence, void *u)
{
    memfile *m = u;
    sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
    if (base + off < 0) return -1;
    m->pos = base + off;
    return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *u)
{
    memfile *m = u;
    sf_count_t n = m->pos < m->len ? m->len - m->pos : 0;
    if (n > count) n = count;
    if (n > 0) memcpy(ptr, m->data + m->pos, (size_t)n);
    m->pos += n;
    return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *u)
{
    memfile *m = u;
    if (m->pos + count > m->cap) {
        sf_count_t ncap = m->cap ? m->cap * 2 : 1 << 16;
        while (ncap < m->pos + count) ncap *= 2;
        unsigned char *p = realloc(m->data, (size_t)ncap);
        if (!p) return 0;
        m->data = p;
        m->cap = ncap;
    }
    if (m->pos > m->len) memset(m->data + m->len, 0, (size_t)(m->pos - m->len));
    memcpy(m->data + m->pos, ptr, (size_t)count);
    m->pos += count;
    if (m->pos > m->len) m->len = m->pos;
    return count;
}

/* ---- writing ---- */

struct audio_writer {
    SNDFILE *sf;
    int fd;           /* temporary file, or the device; -1 when closed */
    int own_fd;       /* 0 for standard output */
    int direct;       /* device or pipe: encoded in mem, written at close */
    int stream;       /* direct WAV: header now, samples as they come (no sf, no mem) */
    off_t start;      /* stream: the offset of its header, -1 when not seekable */
    uint64_t data_bytes; /* samples written, in bytes (16-bit) */
    int wav_limit;    /* a WAV file: its 32-bit sizes end at 4 GB */
    memfile mem;
    char *path;       /* requested name, for messages */
    safe_file out;    /* the temporary file beside path (fd -1 when direct) */
};

static int write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The folder part of path, for messages ("." when none). */
static void folder_of(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, n, ".");
    else if (slash == path) snprintf(out, n, "/");
    else snprintf(out, n, "%.*s", (int)(slash - path), path);
}

void audio_writer_abort(audio_writer *w)
{
    if (!w) return;
    if (w->sf) sf_close(w->sf);
    if (w->fd >= 0 && w->own_fd && !w->out.tmp) close(w->fd);
    safe_file_abort(&w->out);
    free(w->mem.data);
    free(w->path);
    free(w);
}

/* The descriptor behind /dev/stdout, /dev/stderr, /dev/fd/N or
 * /proc/self/fd/N, else -1.  These are the caller's open streams: they are
 * written through the descriptor (at its offset, as `>>` expects), never
 * replaced by a temporary file and a rename, whatever they point to. */
static int std_stream_fd(const char *path)
{
    if (!strcmp(path, "/dev/stdout")) return STDOUT_FILENO;
    if (!strcmp(path, "/dev/stderr")) return STDERR_FILENO;
    const char *num = !strncmp(path, "/dev/fd/", 8) ? path + 8 : !strncmp(path, "/proc/self/fd/", 14) ? path + 14 : NULL;
    if (!num || !*num || strspn(num, "0123456789") != strlen(num) || strlen(num) > 6) return -1;
    return atoi(num);
}

uint64_t audio_wav_max_data_bytes = 0xFFFFFFFFull - 80;

static tts_status write_pcm16(int fd, const float *pcm, size_t n_samples, float scale);

/* A canonical 44-byte PCM 16-bit mono WAV header for data_bytes of samples
 * (0xFFFFFFFF in both sizes when unknown or too large: a stream). */
static void wav_header(unsigned char h[44], int rate, uint64_t data_bytes)
{
    uint32_t data = data_bytes > 0xFFFFFFFFull - 36 ? 0xFFFFFFFFu : (uint32_t)data_bytes;
    uint32_t riff = data == 0xFFFFFFFFu ? 0xFFFFFFFFu : data + 36;
    uint32_t v[] = {riff, 16, 1 | (1u << 16), (uint32_t)rate, (uint32_t)rate * 2, 2 | (16u << 16), data};
    memcpy(h, "RIFF....WAVEfmt ", 16);
    memcpy(h + 36, "data", 4);
    const int at[] = {4, 16, 20, 24, 28, 32, 40};
    for (int i = 0; i < 7; i++)
        for (int b = 0; b < 4; b++) h[at[i] + b] = (unsigned char)(v[i] >> (8 * b));
}

/* Start a streamed WAV on w->fd: the header, sizes unknown. */
static tts_status stream_start(audio_writer *w, int rate)
{
    int fl = fcntl(w->fd, F_GETFL);
    w->start = fl >= 0 && !(fl & O_APPEND) ? lseek(w->fd, 0, SEEK_CUR) : -1;
    unsigned char h[44];
    wav_header(h, rate, UINT64_MAX);
    if (write_all(w->fd, h, sizeof h) != 0) {
        int e = errno;
        return tts_error_set(e == EPIPE ? TTS_ERR_IO : io_status(e), "error writing '%s': %s", w->path, strerror(e));
    }
    w->stream = rate;  /* the rate, for the header at close */
    return TTS_OK;
}

/* Finish a streamed WAV: on a seekable output (`-o - > file.wav`) the header
 * gets the real sizes; a pipe keeps "unknown". */
static tts_status stream_finish(audio_writer *w)
{
    if (w->start < 0 || w->data_bytes > 0xFFFFFFFFull - 36) return TTS_OK;
    unsigned char h[44];
    wav_header(h, w->stream, w->data_bytes);
    if (pwrite(w->fd, h, sizeof h, w->start) != (ssize_t)sizeof h) {
        int e = errno;
        return tts_error_set(io_status(e), "error writing the header of '%s': %s", w->path, strerror(e));
    }
    return TTS_OK;
}

tts_status audio_writer_open(const char *path, int sample_rate, audio_writer **out)
{
    tts_error_clear();
    if (!out) return TTS_ERR_INVALID_ARG;
    *out = NULL;
    if (!path || !*path || sample_rate <= 0)
        return tts_error_set(TTS_ERR_INVALID_ARG, "no output path or sample rate");
    int major = audio_format_for_path(path);
    audio_writer *w = calloc(1, sizeof *w);
    if (!w) return TTS_ERR_NOMEM;
    w->fd = -1;
    w->path = strdup(path);
    if (!w->path) { audio_writer_abort(w); return TTS_ERR_NOMEM; }

    struct stat st;
    int exists = strcmp(path, "-") == 0 ? 0 : stat(path, &st) == 0;
    int std_fd = std_stream_fd(path);
    if (!strcmp(path, "-")) {
        w->direct = 1;
        w->fd = STDOUT_FILENO;
    } else if (std_fd >= 0) { /* /dev/stdout even when it is a regular file: never renamed over */
        w->direct = 1;
        w->own_fd = 1;
        w->fd = fcntl(std_fd, F_DUPFD_CLOEXEC, 3);
        if (w->fd < 0) {
            int e = errno;
            tts_status fs = tts_error_set(TTS_ERR_IO, "cannot write '%s': %s", path, strerror(e));
            audio_writer_abort(w);
            return fs;
        }
    } else if (exists && S_ISDIR(st.st_mode)) {
        tts_status fs = tts_error_set(TTS_ERR_IO, "cannot write '%s': it is a directory", path);
        audio_writer_abort(w);
        return fs;
    } else if (exists && !S_ISREG(st.st_mode)) { /* device, FIFO, socket */
        w->direct = 1;
        w->own_fd = 1;
        w->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (w->fd < 0) {
            int e = errno;
            tts_status fs = tts_error_set(TTS_ERR_IO, "cannot open '%s' for writing: %s", path, strerror(e));
            audio_writer_abort(w);
            return fs;
        }
    } else {
        if (!major) {
            tts_status fs = tts_error_set(TTS_ERR_AUDIO_FORMAT,
                              "cannot tell the format of '%s': use .wav, .flac or .ogg", path);
            audio_writer_abort(w);
            return fs;
        }
        size_t plen = strlen(path);
        if (path[plen - 1] == '/') {
            tts_status fs = tts_error_set(TTS_ERR_IO, "cannot write '%s': it names a directory", path);
            audio_writer_abort(w);
            return fs;
        }
        /* a symbolic link is replaced, never written through (safe_file.h) */
        w->own_fd = 1;
        if (safe_file_open(path, &w->out) != 0) {
            int e = errno;
            char dir[PATH_MAX];
            folder_of(path, dir, sizeof dir);
            audio_writer_abort(w);
            if (e == ENOENT || e == ENOTDIR)
                return tts_error_set(TTS_ERR_IO, "cannot write '%s': folder '%s' does not exist",
                                  path, dir);
            return tts_error_set(io_status(e), "cannot write '%s': cannot create a file in folder '%s': %s",
                              path, dir, strerror(e));
        }
        w->fd = w->out.fd;
    }

    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = sample_rate;
    info.channels = 1;
    info.format = full_format(major);
    if (w->direct && (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV) {
        /* a pipe or device: streamed as it comes, never held in memory */
        tts_status s = stream_start(w, sample_rate);
        if (s != TTS_OK) {
            audio_writer_abort(w);
            return s;
        }
        *out = w;
        return TTS_OK;
    }
    w->wav_limit = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV;
    if (w->direct) {
        static SF_VIRTUAL_IO vio = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
        w->sf = sf_open_virtual(&vio, SFM_WRITE, &info, &w->mem);
    } else {
        w->sf = sf_open_fd(w->fd, SFM_WRITE, &info, SF_FALSE);
    }
    if (!w->sf) {
        tts_status s = tts_error_set(TTS_ERR_AUDIO_FORMAT, "cannot encode '%s' at %d Hz: %s", path,
                                  sample_rate, sf_strerror(NULL));
        audio_writer_abort(w);
        return s;
    }
    sf_command(w->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    *out = w;
    return TTS_OK;
}

tts_status audio_writer_write(audio_writer *w, const float *pcm, size_t n_samples)
{
    tts_error_clear();
    if (w && w->stream && (pcm || !n_samples)) {
        /* as libsndfile writes a WAV file with clipping on (the floor of v * 32768):
           `-o -` and `-o FILE` give the same bytes */
        tts_status s = write_pcm16(w->fd, pcm, n_samples, 32768.0f);
        if (s != TTS_OK) return s;
        w->data_bytes += 2 * (uint64_t)n_samples;
        return TTS_OK;
    }
    if (!w || !w->sf || (!pcm && n_samples)) return TTS_ERR_INVALID_ARG;
    if (w->wav_limit && w->data_bytes + 2 * (uint64_t)n_samples > audio_wav_max_data_bytes)
        return tts_error_set(TTS_ERR_IO, "'%s': a WAV file cannot hold more than 4 GB (about 27 hours at 22050 Hz): "
                          "write .flac or .ogg, or split the text", w->path);
    w->data_bytes += 2 * (uint64_t)n_samples;
    size_t done = 0;
    while (done < n_samples) {
        size_t chunk = n_samples - done > 65536 ? 65536 : n_samples - done;
        errno = 0;
        sf_count_t got = sf_write_float(w->sf, pcm + done, (sf_count_t)chunk);
        if (got != (sf_count_t)chunk) {
            int e = errno;
            return tts_error_set(e ? io_status(e) : TTS_ERR_IO, "error writing '%s': %s", w->path,
                              e ? strerror(e) : sf_strerror(w->sf));
        }
        done += chunk;
    }
    return TTS_OK;
}

tts_status audio_writer_close(audio_writer *w)
{
    tts_error_clear();
    if (!w) return TTS_ERR_INVALID_ARG;
    if (w->stream) {
        tts_status s = stream_finish(w);
        if (s == TTS_OK && w->own_fd && close(w->fd) != 0)
            s = tts_error_set(io_status(errno), "error closing '%s': %s", w->path, strerror(errno));
        else if (s != TTS_OK && w->own_fd)
            close(w->fd);
        w->fd = -1;
        audio_writer_abort(w);
        return s;
    }
    errno = 0;
    int rc = sf_close(w->sf);
    w->sf = NULL;
    if (rc != 0) {
        int e = errno;
        tts_status s = tts_error_set(e ? io_status(e) : TTS_ERR_IO, "error finishing '%s': %s",
                                  w->path, sf_error_number(rc));
        audio_writer_abort(w);
        return s;
    }
    if (w->direct) {
        if (write_all(w->fd, w->mem.data, (size_t)w->mem.len) != 0) {
            int e = errno;
            tts_status fs = tts_error_set(io_status(e), "error writing '%s': %s", w->path, strerror(e));
            audio_writer_abort(w);
            return fs;
        }
        if (w->own_fd && close(w->fd) != 0) {
            int e = errno;
            w->fd = -1;
            tts_status fs = tts_error_set(io_status(e), "error closing '%s': %s", w->path, strerror(e));
            audio_writer_abort(w);
            return fs;
        }
        w->fd = -1;
        audio_writer_abort(w); /* frees; nothing to remove */
        return TTS_OK;
    }
    w->fd = -1;
    if (safe_file_commit(&w->out) != 0) {
        int e = errno;
        tts_status fs = tts_error_set(io_status(e), "cannot finish '%s': %s", w->path, strerror(e));
        audio_writer_abort(w);
        return fs;
    }
    audio_writer_abort(w); /* frees; nothing to remove */
    return TTS_OK;
}

tts_status audio_write_file(const char *path, const float *pcm, size_t n_samples, int sample_rate)
{
    if (!pcm && n_samples) return TTS_ERR_INVALID_ARG;
    audio_writer *w;
    tts_status st = audio_writer_open(path, sample_rate, &w);
    if (st != TTS_OK) return st;
    st = audio_writer_write(w, pcm, n_samples);
    if (st != TTS_OK) {
        audio_writer_abort(w); /* keeps the error detail: abort does not clear it */
        return st;
    }
    return audio_writer_close(w);
}

/* ---- raw PCM ---- */

tts_status audio_write_raw(int fd, const float *pcm, size_t n_samples)
{
    tts_error_clear();
    if (fd < 0 || (!pcm && n_samples)) return TTS_ERR_INVALID_ARG;
    return write_pcm16(fd, pcm, n_samples, 32767.0f);
}

/* pcm as 16-bit little-endian samples, v * scale rounded and clipped. */
static tts_status write_pcm16(int fd, const float *pcm, size_t n_samples, float scale)
{
    unsigned char buf[8192];
    size_t done = 0;
    while (done < n_samples) {
        size_t chunk = n_samples - done > sizeof buf / 2 ? sizeof buf / 2 : n_samples - done;
        for (size_t i = 0; i < chunk; i++) {
            float v = pcm[done + i];
            v = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
            if (v != v) v = 0.0f; /* NaN */
            long r = scale > 32767.0f ? (long)floorf(v * scale) : lrintf(v * scale);
            int16_t s = (int16_t)(r > 32767 ? 32767 : r);
            uint16_t u = (uint16_t)s;
            buf[2 * i] = (unsigned char)(u & 0xff);
            buf[2 * i + 1] = (unsigned char)(u >> 8);
        }
        if (write_all(fd, buf, 2 * chunk) != 0) {
            int e = errno;
            if (e == EPIPE) return tts_error_set(TTS_ERR_IO, "the output pipe was closed");
            return tts_error_set(io_status(e), "error writing raw audio: %s", strerror(e));
        }
        done += chunk;
    }
    return TTS_OK;
}
