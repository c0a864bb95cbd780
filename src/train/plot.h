/*
 * plot.h - small PNG heat maps for training diagnostics (internal):
 * alignments and mel spectrograms.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef TTS_PLOT_H
#define TTS_PLOT_H

#include "tts.h"

/* Write img (rows, cols), row-major, as a PNG heat map with row 0 at the
 * bottom, each cell scale×scale pixels, colours from min to max.  Several
 * panels (e.g. target and prediction) are stacked when n_panels > 1: imgs[i]
 * are (rows, cols) each.  Written atomically. */
tts_status plot_png(const char *path, const float *const *imgs, int n_panels, int rows, int cols, int scale);

#endif
