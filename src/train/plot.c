/*
 * plot.c - PNG heat maps through libpng, labelled in a built-in 5x7 pixel
 * font (see plot.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "train/plot.h"
#include "core/safe_file.h"

#include <ctype.h>
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

/* ---- text: 5x7 glyphs, one byte per row (bit 4 = leftmost pixel) */

enum { TEXT_SCALE = 2, GLYPH_W = 5, GLYPH_H = 7, ADVANCE = 6 * TEXT_SCALE, LINE = 9 * TEXT_SCALE };

static const unsigned char *glyph(int ch)
{
    static const char chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ,.-:()/=?";
    static const unsigned char rows[][GLYPH_H] = {
        {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
        {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
        {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
        {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
        {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},
        {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},
        {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C},
        {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},
        {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
        {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},
        {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
        {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
        {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},
        {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},
        {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
        {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},
        {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},
        {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F},
        {0, 0, 0, 0, 0, 0, 0},                      {0, 0, 0, 0, 0x0C, 0x04, 0x08},
        {0, 0, 0, 0, 0, 0x0C, 0x0C},                {0, 0, 0, 0x1F, 0, 0, 0},
        {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0},          {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02},
        {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0},
        {0, 0, 0x1F, 0, 0x1F, 0, 0},                {0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04}};
    const char *p = ch ? strchr(chars, toupper((unsigned char)ch)) : NULL;
    return rows[p ? p - chars : (int)sizeof chars - 2];
}

typedef struct canvas { unsigned char *px; int w, h; } canvas;

static void dot(canvas *c, int x, int y)
{
    if (x >= 0 && y >= 0 && x < c->w && y < c->h) memset(c->px + ((size_t)y * c->w + x) * 3, 0, 3);
}

static int text_width(const char *s) { return s ? (int)strlen(s) * ADVANCE : 0; }

/* s with its top-left corner at (x, y); vertical: turned a quarter left,
 * reading upwards, (x, y) then being its bottom-left corner */
static void draw_text(canvas *c, int x, int y, const char *s, int vertical)
{
    for (int i = 0; s && s[i]; i++) {
        const unsigned char *g = glyph(s[i]);
        for (int gy = 0; gy < GLYPH_H * TEXT_SCALE; gy++)
            for (int gx = 0; gx < GLYPH_W * TEXT_SCALE; gx++) {
                if (!(g[gy / TEXT_SCALE] & (0x10 >> (gx / TEXT_SCALE)))) continue;
                if (vertical) dot(c, x + gy, y - i * ADVANCE - gx);
                else dot(c, x + i * ADVANCE + gx, y + gy);
            }
    }
}

/* ---- layout */

typedef struct layout {
    int left, top, caption, bottom, gap;  /* margins, caption strip above each panel */
    char xmax[24], ymax[24];
} layout;

static void plan(const plot_axes *a, int n_panels, layout *l)
{
    memset(l, 0, sizeof *l);
    l->gap = 4;
    if (!a) return;
    if (a->x_max >= 0) snprintf(l->xmax, sizeof l->xmax, "%ld", a->x_max);
    if (a->y_max >= 0) snprintf(l->ymax, sizeof l->ymax, "%ld", a->y_max);
    int ticks = a->y_max >= 0 ? text_width(l->ymax) : 0;
    l->left = (a->y_name ? LINE + 2 : 0) + ticks + 6;
    l->top = a->title ? LINE + 4 : 4;
    for (int p = 0; p < n_panels; p++)
        if (a->panel[p]) l->caption = LINE;
    l->bottom = (a->x_max >= 0 ? LINE : 0) + (a->x_name ? LINE : 0) + 4;
}

static void draw_labels(canvas *c, const plot_axes *a, const layout *l, int n_panels, int ph, int pw)
{
    int y = l->top;
    for (int p = 0; p < n_panels; p++) {
        y += l->caption;
        if (a->panel[p]) draw_text(c, l->left, y - LINE + 2, a->panel[p], 0);
        if (a->y_max >= 0) {  /* the ends of the y axis, with a tick mark each */
            draw_text(c, l->left - 6 - text_width("0"), y + ph - GLYPH_H * TEXT_SCALE, "0", 0);
            draw_text(c, l->left - 6 - text_width(l->ymax), y, l->ymax, 0);
            for (int t = 1; t <= 3; t++) { dot(c, l->left - t, y); dot(c, l->left - t, y + ph - 1); }
        }
        y += ph + l->gap;
    }
    y -= l->gap;
    if (a->title) draw_text(c, l->left, 2, a->title, 0);
    if (a->y_name) draw_text(c, 0, l->top + (y - l->top + text_width(a->y_name)) / 2, a->y_name, 1);
    if (a->x_max >= 0) {
        draw_text(c, l->left, y + 4, "0", 0);
        draw_text(c, l->left + pw - text_width(l->xmax), y + 4, l->xmax, 0);
        y += LINE;
    }
    if (a->x_name) draw_text(c, l->left + (pw - text_width(a->x_name)) / 2, y + 4, a->x_name, 0);
}

static void draw_map(canvas *c, const float *img, int rows, int cols, int scale, int x0, int y0)
{
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < (size_t)rows * cols; i++) {
        if (img[i] < lo) lo = img[i];
        if (img[i] > hi) hi = img[i];
    }
    float span = hi > lo ? hi - lo : 1;
    for (int r = 0; r < rows; r++)
        for (int col = 0; col < cols; col++) {
            unsigned char rgb[3];
            colour((img[(size_t)r * cols + col] - lo) / span, rgb);
            for (int dy = 0; dy < scale; dy++)
                for (int dx = 0; dx < scale; dx++) {
                    int y = y0 + (rows - 1 - r) * scale + dy, x = x0 + col * scale + dx;
                    memcpy(c->px + ((size_t)y * c->w + x) * 3, rgb, 3);
                }
        }
}

static tts_status write_png(const char *path, const canvas *c)
{
    safe_file sf;  /* never through a planted link (safe_file.h) */
    FILE *f = safe_file_open(path, &sf) == 0 ? safe_file_stream(&sf) : NULL;
    if (!f) { safe_file_abort(&sf); return TTS_ERR_IO; }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    tts_status st = TTS_ERR_IO;
    if (png && info && !setjmp(png_jmpbuf(png))) {
        png_init_io(png, f);
        png_set_IHDR(png, info, c->w, c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int y = 0; y < c->h; y++) png_write_row(png, c->px + (size_t)y * c->w * 3);
        png_write_end(png, NULL);
        st = TTS_OK;
    }
    png_destroy_write_struct(&png, &info);
    if (st == TTS_OK && safe_file_commit(&sf) != 0) st = TTS_ERR_IO;
    if (st != TTS_OK) safe_file_abort(&sf);
    return st;
}

tts_status plot_png(const char *path, const float *const *imgs, int n_panels, int rows, int cols, int scale,
                    const plot_axes *axes)
{
    if (n_panels < 1 || n_panels > PLOT_MAX_PANELS || rows < 1 || cols < 1 || scale < 1 ||
        rows * scale > 8192 || cols * scale > 16384)
        return TTS_ERR_INVALID_ARG;
    layout l;
    plan(axes, n_panels, &l);
    int pw = cols * scale, ph = rows * scale;
    canvas c = {.w = l.left + pw + (axes ? 8 : 0)};
    if (axes) {  /* wide enough for the title and the x axis's name */
        int need = l.left + text_width(axes->title) + 4;
        if (need > c.w) c.w = need;
        need = l.left + text_width(axes->x_name) + 4;
        if (need > c.w) c.w = need;
    }
    c.h = l.top + n_panels * (l.caption + ph) + (n_panels - 1) * l.gap + l.bottom;
    c.px = malloc((size_t)c.w * c.h * 3);
    if (!c.px) return TTS_ERR_NOMEM;
    memset(c.px, 255, (size_t)c.w * c.h * 3);
    int y = l.top;
    for (int p = 0; p < n_panels; p++) {
        y += l.caption;
        draw_map(&c, imgs[p], rows, cols, scale, l.left, y);
        y += ph + l.gap;
    }
    if (axes) draw_labels(&c, axes, &l, n_panels, ph, pw);
    tts_status st = write_png(path, &c);
    free(c.px);
    return st;
}
