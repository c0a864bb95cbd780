/*
 * plot.c - PNG heat maps through libpng (see plot.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "train/plot.h"
#include "core/safe_file.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a perceptual dark-blue → green → yellow ramp, 5 stops */
static void colour(float t, unsigned char *rgb)
{
    static const float stops[5][3] = {
        {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    float x = t * 4;
    int i = (int)x;
    if (i > 3) i = 3;
    float f = x - i;
    for (int c = 0; c < 3; c++) rgb[c] = (unsigned char)(stops[i][c] * (1 - f) + stops[i + 1][c] * f);
}

tts_status plot_png(const char *path, const float *const *imgs, int n_panels, int rows, int cols, int scale)
{
    if (n_panels < 1 || rows < 1 || cols < 1 || scale < 1 || rows * scale > 8192 || cols * scale > 16384)
        return TTS_ERR_INVALID_ARG;
    int gap = 4, W = cols * scale, H = n_panels * rows * scale + (n_panels - 1) * gap;
    unsigned char *px = calloc((size_t)W * H, 3);
    if (!px) return TTS_ERR_NOMEM;
    for (int p = 0; p < n_panels; p++) {
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < (size_t)rows * cols; i++) {
            float v = imgs[p][i];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        float span = hi > lo ? hi - lo : 1;
        int y0 = p * (rows * scale + gap);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                unsigned char rgb[3];
                colour((imgs[p][(size_t)r * cols + c] - lo) / span, rgb);
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++) {
                        int y = y0 + (rows - 1 - r) * scale + dy, x = c * scale + dx;
                        memcpy(px + ((size_t)y * W + x) * 3, rgb, 3);
                    }
            }
    }
    safe_file sf;  /* never through a planted link (safe_file.h) */
    FILE *f = safe_file_open(path, &sf) == 0 ? safe_file_stream(&sf) : NULL;
    if (!f) { safe_file_abort(&sf); free(px); return TTS_ERR_IO; }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    tts_status st = TTS_ERR_IO;
    if (png && info && !setjmp(png_jmpbuf(png))) {
        png_init_io(png, f);
        png_set_IHDR(png, info, W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int y = 0; y < H; y++) png_write_row(png, px + (size_t)y * W * 3);
        png_write_end(png, NULL);
        st = TTS_OK;
    }
    png_destroy_write_struct(&png, &info);
    if (st == TTS_OK && safe_file_commit(&sf) != 0) st = TTS_ERR_IO;
    if (st != TTS_OK) safe_file_abort(&sf);
    free(px);
    return st;
}
