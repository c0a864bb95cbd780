/*
 * test_plot.c - the training plots: a heat map keeps its cells' colours
 * where the layout puts them, and the labels are drawn (title, axis names,
 * the axis ends, panel captions) in the margins without touching the map.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/plot.h"

typedef struct image { int w, h; unsigned char *px; } image;

static image read_png(const char *path)
{
    image im = {0};
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&pi, path));
    pi.format = PNG_FORMAT_RGB;
    im.w = (int)pi.width;
    im.h = (int)pi.height;
    im.px = malloc(PNG_IMAGE_SIZE(pi));
    assert_non_null(im.px);
    assert_true(png_image_finish_read(&pi, NULL, im.px, 0, NULL));
    return im;
}

static const unsigned char *at(const image *im, int x, int y) { return im->px + ((size_t)y * im->w + x) * 3; }

static int black_in(const image *im, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const unsigned char *p = at(im, x, y);
            n += p[0] == 0 && p[1] == 0 && p[2] == 0;
        }
    return n;
}

/* a ramp over columns: the map's rightmost cells are the ramp's top colour
 * (yellow) and its leftmost the bottom colour (dark violet) */
static float *ramp(int rows, int cols)
{
    float *v = malloc(sizeof(float) * rows * cols);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) v[r * cols + c] = (float)c;
    return v;
}

/* a fresh name for a PNG (the file made empty, replaced by plot_png) */
static void tmp_png(char path[static 32])
{
    strcpy(path, "/tmp/tts-test-plot-XXXXXX.png");
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
}

static void test_bare_map(void **state)
{
    (void)state;
    char path[32];
    tmp_png(path);
    float *v = ramp(5, 7);
    const float *imgs[1] = {v};
    assert_int_equal(plot_png(path, imgs, 1, 5, 7, 3, NULL), TTS_OK);
    image im = read_png(path);
    assert_int_equal(im.w, 21);
    assert_int_equal(im.h, 15);
    assert_int_equal(at(&im, 20, 0)[0], 253);  /* yellow */
    assert_int_equal(at(&im, 0, 14)[0], 68);   /* violet */
    assert_int_equal(black_in(&im, 0, 0, im.w, im.h), 0);
    free(im.px);
    free(v);
    unlink(path);
}

static void test_labelled_panels(void **state)
{
    (void)state;
    char path[32];
    tmp_png(path);
    int rows = 20, cols = 60, scale = 2;
    float *v = ramp(rows, cols);
    const float *imgs[2] = {v, v};
    plot_axes a = {.title = "mel spectrogram, step 1500", .x_name = "frame", .y_name = "mel band",
                   .x_max = cols, .y_max = rows, .panel = {"predicted", "target"}};
    assert_int_equal(plot_png(path, imgs, 2, rows, cols, scale, &a), TTS_OK);
    image im = read_png(path);
    /* find the maps: the first violet pixel from the top-left along the diagonal */
    int x0 = -1, y0 = -1;
    for (int y = 0; y < im.h && x0 < 0; y++)
        for (int x = 0; x < im.w; x++)
            if (at(&im, x, y)[0] == 68 && at(&im, x, y)[1] == 1) { x0 = x; y0 = y; break; }
    assert_true(x0 > 0 && y0 > 0);  /* margins on the left (y labels) and top (title) */
    int pw = cols * scale, ph = rows * scale;
    assert_int_equal(at(&im, x0 + pw - 1, y0)[0], 253);
    assert_true(im.w >= x0 + pw);
    /* no ink inside either map; ink in the title strip, the y margin, under the maps */
    assert_int_equal(black_in(&im, x0, y0, x0 + pw, y0 + ph), 0);
    assert_true(black_in(&im, 0, 0, im.w, y0 - 18) > 50);       /* title */
    assert_true(black_in(&im, 0, y0, x0 - 1, y0 + ph) > 50);    /* y name, 0 and 20 */
    assert_true(black_in(&im, 0, im.h - 20, im.w, im.h) > 30);  /* x name */
    /* the second panel sits below the first with its own caption strip */
    int y1 = -1;
    for (int y = y0 + ph; y < im.h; y++)
        if (at(&im, x0, y)[0] == 68 && at(&im, x0, y)[1] == 1) { y1 = y; break; }
    assert_true(y1 > y0 + ph + 18);
    assert_true(black_in(&im, x0, y0 + ph, im.w, y1) > 30);    /* "target" */
    free(im.px);
    free(v);
    unlink(path);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    float v[4] = {0};
    const float *imgs[1] = {v};
    assert_int_equal(plot_png("/tmp/x.png", imgs, 0, 2, 2, 1, NULL), TTS_ERR_INVALID_ARG);
    assert_int_equal(plot_png("/tmp/x.png", imgs, 5, 2, 2, 1, NULL), TTS_ERR_INVALID_ARG);
    assert_int_equal(plot_png("/nonexistent-dir/x.png", imgs, 1, 2, 2, 1, NULL), TTS_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare_map),
        cmocka_unit_test(test_labelled_panels),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
