/*
 * tofile.c - tts_synth_to_file: text into an audio file, written to a
 * temporary file and renamed when complete (src/audio's writer), so a
 * failure or a cancel never leaves a partial file.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "audio/audio.h"
#include "core/core.h"

tts_status tts_synth_to_file(tts_synth *synth, const char *text, const char *path, double *seconds)
{
    tts_error_clear();
    if (seconds) *seconds = 0;
    if (!synth || !text || !path || !*path)
        return tts_error_set(TTS_ERR_INVALID_ARG, "tts_synth_to_file: NULL or empty argument");
    if (!audio_format_for_path(path))
        return tts_error_set(TTS_ERR_AUDIO_FORMAT, "%s: unknown audio file extension (want .wav, .flac or .ogg)",
                             path);
    tts_status st = tts_synth_start(synth, text);
    if (st != TTS_OK) return st;
    /* the file opens before the work: a bad path fails at once */
    int rate = tts_voice_sample_rate(tts_synth_voice(synth));
    audio_writer *w = NULL;
    st = audio_writer_open(path, rate, &w);
    if (st != TTS_OK) return st;  /* tts_last_error() says why */
    tts_chunk ch;
    tts_chunk_init(&ch);
    size_t total = 0;
    for (;;) {
        st = tts_synth_next(synth, &ch);
        if (st != TTS_OK || ch.done) break;
        st = audio_writer_write(w, ch.samples, ch.n_samples);
        if (st != TTS_OK) break;
        total += ch.n_samples;
    }
    if (st != TTS_OK) {  /* tts_last_error() already says why */
        audio_writer_abort(w);
        return st;
    }
    st = audio_writer_close(w);
    if (st != TTS_OK) return st;
    if (seconds) *seconds = (double)total / rate;
    return TTS_OK;
}
