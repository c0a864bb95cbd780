/* status.c - one message per tts_status code.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "tts.h"

const char *tts_status_message(tts_status status)
{
    switch (status) {
    case TTS_OK: return "success";
    case TTS_ERR_NOMEM: return "out of memory";
    case TTS_ERR_INVALID_ARG: return "invalid argument";
    case TTS_ERR_UTF8: return "text is not valid UTF-8";
    case TTS_ERR_EMPTY_TEXT: return "nothing to speak in the text";
    case TTS_ERR_IO: return "input/output error";
    case TTS_ERR_MODEL_FORMAT: return "model file is not a valid safetensors file";
    case TTS_ERR_MODEL_TRUNCATED: return "model file is truncated";
    case TTS_ERR_MODEL_MISMATCH: return "model tensors do not match the configuration";
    case TTS_ERR_VOICE: return "voice file is missing or invalid";
    case TTS_ERR_PHONEMIZER: return "the phonemizer (espeak-ng) failed";
    case TTS_ERR_AUDIO_FORMAT: return "unsupported audio format or sample rate";
    case TTS_ERR_AUDIO_DEVICE: return "no audio output device could be opened";
    case TTS_ERR_NO_PLAYBACK: return "this build has no audio playback (PortAudio)";
    case TTS_ERR_ATTENTION: return "the model failed to align the text";
    case TTS_ERR_CANCELLED: return "cancelled";
    case TTS_ERR_NUMERIC: return "a NaN or infinite value appeared";
    case TTS_ERR_DATASET: return "the training dataset could not be read";
    case TTS_ERR_NO_SPACE: return "no space left on the device";
    case TTS_ERR_INTERNAL: return "internal error";
    case TTS_ERR_UNREADABLE: return "characters the voice cannot read were left out";
    case TTS_ERR_MARKUP: return "malformed or unsupported markup";
    }
    return "unknown status code";
}
