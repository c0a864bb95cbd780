/* errors.c - the thread-local detail message behind tts_last_error().
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "core/core.h"

static _Thread_local char last_error[1024];

tts_status tts_error_set(tts_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

void tts_error_clear(void) { last_error[0] = 0; }

const char *tts_last_error(void) { return last_error; }
