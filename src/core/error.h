/*
 * error.h - the library's one error channel: each failing internal or public
 * function records a message here and returns a tts_status; tts_last_error()
 * (tts.h) reads it.  One buffer per thread, for every module (text, model,
 * audio, core), so a caller never has to know which module failed, and no
 * module's interface takes an (err, errlen) buffer of its own.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_ERROR_H
#define TTS_ERROR_H

#include "tts.h"

/* Set the calling thread's last error message (printf-style); returns st.
 * The arguments may include tts_last_error() itself (to add context to a
 * message set further down): the message is formatted before it is stored. */
tts_status tts_error_set(tts_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empty the message (at the start of each public call). */
void tts_error_clear(void);

#endif
