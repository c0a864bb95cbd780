/* errors.c - the thread-local message behind tts_last_error(): the library's
 * one error channel (error.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

static _Thread_local char last_error[1024];

tts_status tts_error_set(tts_status st, const char *fmt, ...)
{
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return st;
}

void tts_error_clear(void) { last_error[0] = 0; }

const char *tts_last_error(void) { return last_error; }
