/*
 * audio.h - audio files (libsndfile), raw PCM and playback (PortAudio), internal.
 *
 * Audio is mono float in [-1, 1] everywhere in tts; this module turns it
 * into files, raw bytes or sound, and reads files back.  It does not
 * resample (see dsp_resample) and never exits: every function returns a
 * tts_status, and tts_last_error() (the library's one error channel,
 * core/error.h) tells the details of the last failure (which path, which
 * device, the system's reason, e.g. "cannot write in folder 'out':
 * Permission denied") for the program to print.
 *
 * Files: the format comes from the extension: .wav (16-bit PCM), .flac
 * (16-bit), .ogg (Vorbis).  A regular file is written to a temporary file in
 * the same folder (".NAME.XXXXXX.part") and renamed over NAME only when it is
 * complete, so a half-written file never appears under the requested name.
 * Devices and pipes (/dev/stdout, FIFOs, "-" for standard output) are written
 * directly, in one piece when the writer is closed; with no known extension
 * they get WAV.
 *
 * Playback: a player is fed chunk by chunk; a ring buffer of several seconds
 * lets synthesis run ahead of the sound card.  Without PortAudio at build
 * time the player functions return TTS_ERR_NO_PLAYBACK; without a usable
 * device they return TTS_ERR_AUDIO_DEVICE.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_AUDIO_H
#define TTS_AUDIO_H

#include <stdio.h>

#include "tts.h"

/* ---- files ---- */

/* Read a whole mono (or first channel of) audio file as floats in [-1, 1].
 * *pcm is malloc'd, owned by the caller.  TTS_ERR_IO when the file cannot be
 * opened, TTS_ERR_AUDIO_FORMAT when libsndfile cannot decode it. */
tts_status audio_read_file(const char *path, float **pcm, size_t *n_samples, int *sample_rate);

/* Write pcm to path, format from the extension (.wav 16-bit PCM, .flac, .ogg).
 * Written to a temporary file in the same folder and renamed when complete;
 * devices and pipes (e.g. /dev/stdout, "-") are written directly.
 * Errors: TTS_ERR_AUDIO_FORMAT (unknown extension), TTS_ERR_IO (missing or
 * unwritable folder, path is a directory, write failure), TTS_ERR_NO_SPACE. */
tts_status audio_write_file(const char *path, const float *pcm, size_t n_samples, int sample_rate);

/* A file written piece by piece (sentence by sentence), with the same rules.
 * Every successful open is matched by exactly one close or abort. */
typedef struct audio_writer audio_writer;

tts_status audio_writer_open(const char *path, int sample_rate, audio_writer **out);
tts_status audio_writer_write(audio_writer *w, const float *pcm, size_t n_samples);
/* Finish the file and give it its name (rename, or write to the device);
 * frees w, even on failure (then nothing is left under the name or in the folder). */
tts_status audio_writer_close(audio_writer *w);
/* Discard: remove the temporary file, free w.  Accepts NULL. */
void audio_writer_abort(audio_writer *w);

/* The libsndfile major format for path's extension (SF_FORMAT_WAV ...), or 0. */
int audio_format_for_path(const char *path);

/* ---- raw PCM ---- */

/* Write pcm as signed 16-bit little-endian mono (clipped to [-1, 1]) to the
 * file descriptor fd, completely (short writes and EINTR are retried).
 * TTS_ERR_IO when the reader went away (EPIPE: ignore SIGPIPE to get it). */
tts_status audio_write_raw(int fd, const float *pcm, size_t n_samples);

/* ---- playback ---- */

typedef struct audio_player audio_player;

/* Print the output devices, one per line: "INDEX: NAME (HOST API)[, default]". */
tts_status audio_list_devices(FILE *out);

/* Open an output stream at sample_rate.  device is NULL or "" for the default
 * device, a decimal index from audio_list_devices(), or a case-insensitive
 * part of a device name. */
tts_status audio_player_open(const char *device, int sample_rate, audio_player **out);

/* Queue samples; blocks while the ring buffer is full.  Playback starts
 * with the first samples. */
tts_status audio_player_write(audio_player *p, const float *pcm, size_t n_samples);

/* Play what is queued to the end, close the device, free p.  Accepts NULL. */
tts_status audio_player_close(audio_player *p);

/* Stop at once (Ctrl-C), close the device, free p.  Accepts NULL. */
void audio_player_abort(audio_player *p);

#endif
