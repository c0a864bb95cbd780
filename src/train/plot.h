/*
 * plot.h - small PNG heat maps for training diagnostics (internal):
 * alignments and mel spectrograms, with a title, axis names and the range of
 * each axis written in a built-in 5x7 pixel font.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_PLOT_H
#define TTS_PLOT_H

#include "tts.h"

#define PLOT_MAX_PANELS 4

/* What the axes mean.  Any string may be NULL (nothing drawn there).  Text is
 * drawn in capitals; characters outside A-Z 0-9 and " ,.-:()/=" show as '?'.
 * x_max / y_max label the far end of each axis (the near end is 0); a
 * negative value draws no number. */
typedef struct plot_axes {
    const char *title;
    const char *x_name, *y_name;
    long x_max, y_max;
    const char *panel[PLOT_MAX_PANELS];  /* a caption above each panel */
} plot_axes;

/* Write img (rows, cols), row-major, as a PNG heat map with row 0 at the
 * bottom, each cell scale×scale pixels, colours from min to max.  Several
 * panels (e.g. target and prediction) are stacked when n_panels > 1: imgs[i]
 * are (rows, cols) each.  axes (may be NULL: the bare map) adds margins with
 * the labels.  Written atomically. */
tts_status plot_png(const char *path, const float *const *imgs, int n_panels, int rows, int cols, int scale,
                    const plot_axes *axes);

#endif
