/* cls_image_resize (area averaging down, bilinear up) and cls_image_fit. */
#include "check.h"
#include "io/io.h"

#include <math.h>

static float at(const cls_image *image, int x, int y, int c)
{
    return image->pixels[((size_t)y * image->width + x) * 3 + c];
}

static void fill(cls_image *image, float (*f)(int x, int y, int c))
{
    for (int y = 0; y < image->height; y++)
        for (int x = 0; x < image->width; x++)
            for (int c = 0; c < 3; c++)
                image->pixels[((size_t)y * image->width + x) * 3 + c] = f(x, y, c);
}

static float constant(int x, int y, int c)
{
    (void)x, (void)y;
    return 37.25f + c;
}

/* Any size from a constant image stays constant, shrinking, growing, or one of each. */
static void test_constant_stays_constant(void)
{
    static const int sizes[][2] = {{7, 5}, {1, 1}, {3, 13}, {40, 2}, {97, 61}, {20, 30}};
    cls_image in, out;
    CHECK_STATUS(cls_image_alloc(&in, 20, 30), CLS_OK);
    fill(&in, constant);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        CHECK_STATUS(cls_image_resize(&in, sizes[s][0], sizes[s][1], &out), CLS_OK);
        CHECK(out.width == sizes[s][0] && out.height == sizes[s][1]);
        double worst = 0.0;
        for (int y = 0; y < out.height; y++)
            for (int x = 0; x < out.width; x++)
                for (int c = 0; c < 3; c++)
                    worst = fmax(worst, fabs(at(&out, x, y, c) - constant(x, y, c)));
        CHECK(worst < 1e-4);
        cls_image_free(&out);
    }
    cls_image_free(&in);
}

static float ramp(int x, int y, int c)
{
    return (float)(x + 4 * y) * (c + 1);
}

/* 4x4 to 2x2: each output is the mean of its 2x2 block; 4x4 to 3x3: exact fractional
 * coverage (each output covers 4/3 source pixels). */
static void test_area_average(void)
{
    cls_image in, out;
    CHECK_STATUS(cls_image_alloc(&in, 4, 4), CLS_OK);
    fill(&in, ramp);
    CHECK_STATUS(cls_image_resize(&in, 2, 2, &out), CLS_OK);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
            for (int c = 0; c < 3; c++) {
                double mean = 0.0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        mean += ramp(2 * x + dx, 2 * y + dy, c) / 4.0;
                CHECK(fabs(at(&out, x, y, c) - mean) < 1e-4);
            }
    cls_image_free(&out);

    /* along x: output 0 covers pixel 0 and a third of pixel 1: (0 + 1/3) * 3/4 = 0.25 for
     * the ramp x; output 1 covers 2/3 of 1 and 2/3 of 2: (2/3 + 4/3) * 3/4 = 1.5. */
    CHECK_STATUS(cls_image_resize(&in, 3, 4, &out), CLS_OK);
    CHECK(fabs(at(&out, 0, 0, 0) - 0.25f) < 1e-5);
    CHECK(fabs(at(&out, 1, 0, 0) - 1.5f) < 1e-5);
    CHECK(fabs(at(&out, 2, 0, 0) - 2.75f) < 1e-5);
    CHECK(fabs(at(&out, 1, 2, 0) - (1.5f + 8.0f)) < 1e-5);
    cls_image_free(&out);

    /* a checkerboard shrunk by 2 is uniform grey */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++)
                in.pixels[(y * 4 + x) * 3 + c] = (x + y) % 2 ? 255.0f : 0.0f;
    CHECK_STATUS(cls_image_resize(&in, 2, 2, &out), CLS_OK);
    for (int i = 0; i < 12; i++)
        CHECK(fabs(out.pixels[i] - 127.5f) < 1e-4);
    cls_image_free(&out);
    cls_image_free(&in);
}

static float two_by_two(int x, int y, int c)
{
    static const float v[2][2] = {{0, 100}, {200, 40}};
    return v[y][x] + c;
}

/* 2x2 to 4x4 with half-pixel centres: output 0 sits on -0.25 (clamped to pixel 0), output 1
 * on 0.25 (three quarters pixel 0, one quarter pixel 1), as in PIL and OpenCV. */
static void test_bilinear_growing(void)
{
    cls_image in, out;
    CHECK_STATUS(cls_image_alloc(&in, 2, 2), CLS_OK);
    fill(&in, two_by_two);
    CHECK_STATUS(cls_image_resize(&in, 4, 4, &out), CLS_OK);
    CHECK(at(&out, 0, 0, 0) == 0.0f); /* corners are the source corners */
    CHECK(at(&out, 3, 0, 0) == 100.0f);
    CHECK(at(&out, 0, 3, 1) == 201.0f);
    CHECK(at(&out, 3, 3, 2) == 42.0f);
    CHECK(fabs(at(&out, 1, 0, 0) - 25.0f) < 1e-4); /* 0.75 * 0 + 0.25 * 100 */
    CHECK(fabs(at(&out, 2, 0, 0) - 75.0f) < 1e-4);
    CHECK(fabs(at(&out, 0, 1, 0) - 50.0f) < 1e-4); /* 0.75 * 0 + 0.25 * 200 */
    /* the centre 2x2 average the four sources with weights 9/16, 3/16, 3/16, 1/16 */
    CHECK(fabs(at(&out, 1, 1, 0) - (0.5625f * 0 + 0.1875f * 100 + 0.1875f * 200 + 0.0625f * 40)) <
          1e-3);
    cls_image_free(&out);

    /* 1 pixel grown to 5: every output is it */
    cls_image one;
    CHECK_STATUS(cls_image_alloc(&one, 1, 1), CLS_OK);
    one.pixels[0] = 9.0f;
    CHECK_STATUS(cls_image_resize(&one, 5, 3, &out), CLS_OK);
    for (int i = 0; i < 15; i++)
        CHECK(out.pixels[3 * i] == 9.0f);
    cls_image_free(&out);
    cls_image_free(&one);

    /* the same size is a copy */
    CHECK_STATUS(cls_image_resize(&in, 2, 2, &out), CLS_OK);
    for (int i = 0; i < 12; i++)
        CHECK(out.pixels[i] == in.pixels[i]);
    cls_image_free(&out);
    cls_image_free(&in);
}

/* How much of source pixel j output i of an axis covers (area averaging), in pixels. */
static double coverage(int i, int in, int out, int j)
{
    double lo = (double)i * in / out, hi = (double)(i + 1) * in / out;
    return fmax(0.0, fmin(hi, j + 1.0) - fmax(lo, (double)j));
}

/* Where output i of an axis samples the source (bilinear, half-pixel centres, clamped). */
static double centre(int i, int in, int out)
{
    return fmin(fmax((i + 0.5) * in / out - 0.5, 0.0), in - 1.0);
}

static double bilinear_at(const cls_image *in, double x, double y, int c)
{
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < in->width ? x0 + 1 : x0, y1 = y0 + 1 < in->height ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    return (1 - fy) * ((1 - fx) * at(in, x0, y0, c) + fx * at(in, x1, y0, c)) +
           fy * ((1 - fx) * at(in, x0, y1, c) + fx * at(in, x1, y1, c));
}

static float noise(int x, int y, int c)
{
    uint32_t h = (uint32_t)x * 73856093u ^ (uint32_t)y * 19349663u ^ (uint32_t)c * 83492791u;
    return (float)((h * 2654435761u) >> 24);
}

/* Odd sizes against references in double: the 2D coverage integral when shrinking (not
 * separable in the reference), bilinear interpolation when growing. */
static void test_against_references(void)
{
    cls_image in, out;
    CHECK_STATUS(cls_image_alloc(&in, 37, 23), CLS_OK);
    fill(&in, noise);
    static const int sizes[][2] = {{10, 7}, {5, 5}, {36, 22}, {1, 1}, {80, 50}, {111, 24}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        CHECK_STATUS(cls_image_resize(&in, w, h, &out), CLS_OK);
        double worst = 0.0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    double want = 0.0;
                    if (w < in.width && h < in.height) {
                        for (int sy = 0; sy < in.height; sy++)
                            for (int sx = 0; sx < in.width; sx++)
                                want += coverage(x, in.width, w, sx) *
                                        coverage(y, in.height, h, sy) * at(&in, sx, sy, c);
                        want /= (double)in.width / w * in.height / h;
                    } else {
                        want = bilinear_at(&in, centre(x, in.width, w), centre(y, in.height, h), c);
                    }
                    worst = fmax(worst, fabs(at(&out, x, y, c) - want));
                }
        if (worst > 1e-3)
            fprintf(stderr, "%dx%d: off by %g\n", w, h, worst);
        CHECK(worst <= 1e-3);
        cls_image_free(&out);
    }
    cls_image_free(&in);
}

static void test_bad_arguments(void)
{
    cls_image in, out;
    CHECK_STATUS(cls_image_alloc(&in, 2, 2), CLS_OK);
    CHECK_STATUS(cls_image_resize(&in, 0, 2, &out), CLS_ERR_SHAPE);
    CHECK(out.pixels == NULL);
    CHECK_STATUS(cls_image_resize(&in, 2, 2, &in), CLS_ERR_INVALID_ARGUMENT);
    cls_image empty = {0};
    CHECK_STATUS(cls_image_resize(&empty, 2, 2, &out), CLS_ERR_INVALID_ARGUMENT);
    cls_image_free(&in);
}

static void test_fit(void)
{
    static const int cases[][5] = {
        /* width, height, longest -> width, height */
        {1000, 500, 512, 512, 256},
        {500, 1000, 512, 256, 512},
        {640, 480, 512, 512, 384},
        {3, 2, 2, 2, 1},
        {3, 1, 2, 2, 1},
        {1000, 1, 10, 10, 1},
        {1, 1000, 10, 1, 10},
        {100, 100, 7, 7, 7},
        {300, 199, 100, 100, 66},
        {300, 201, 100, 100, 67},
        {200, 101, 100, 100, 51},
        {10, 5, 40, 40, 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int w = -1, h = -1;
        cls_image_fit(cases[i][0], cases[i][1], cases[i][2], &w, &h);
        if (w != cases[i][3] || h != cases[i][4])
            fprintf(stderr, "fit %dx%d to %d: got %dx%d\n", cases[i][0], cases[i][1], cases[i][2],
                    w, h);
        CHECK(w == cases[i][3] && h == cases[i][4]);
    }
    int w, h;
    cls_image_fit(0, 0, 0, &w, &h);
    CHECK(w == 1 && h == 1);
}

int main(void)
{
    RUN(test_constant_stays_constant);
    RUN(test_area_average);
    RUN(test_bilinear_growing);
    RUN(test_against_references);
    RUN(test_bad_arguments);
    RUN(test_fit);
    return check_report();
}
