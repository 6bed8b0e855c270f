/* Resizing: area averaging (a box filter with exact fractional coverage) along an axis that
 * shrinks, bilinear with half-pixel centres (as PIL and OpenCV) along one that grows;
 * separable, rows then columns, per channel in float. */
#include "io/io_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The taps of one axis: output index i reads count[i] source indices from first[i] on,
 * weighted by weights[i * taps ...] (summing to 1). */
typedef struct axis_filter {
    int *first, *count;
    float *weights;
    int taps;
} axis_filter;

/* Output i covers source [i * in / out, (i + 1) * in / out); in units of 1 / out both ends
 * are integers, so each source pixel's coverage is exact. */
static void area_taps(axis_filter *f, int i, int in, int out)
{
    int64_t lo = (int64_t)i * in, hi = (int64_t)(i + 1) * in;
    int first = (int)(lo / out), last = (int)((hi - 1) / out);
    float *w = f->weights + (size_t)i * f->taps;
    for (int j = first; j <= last; j++) {
        int64_t start = (int64_t)j * out > lo ? (int64_t)j * out : lo;
        int64_t end = (int64_t)(j + 1) * out < hi ? (int64_t)(j + 1) * out : hi;
        w[j - first] = (float)((double)(end - start) / (double)in);
    }
    f->first[i] = first;
    f->count[i] = last - first + 1;
}

/* Output i's centre (i + 0.5) * in / out - 0.5 in source pixels, between two neighbours;
 * beyond the outer centres the edge pixel is repeated. */
static void bilinear_taps(axis_filter *f, int i, int in, int out)
{
    double x = ((double)i + 0.5) * in / out - 0.5;
    if (x < 0.0)
        x = 0.0;
    int i0 = (int)floor(x);
    if (i0 > in - 1)
        i0 = in - 1;
    double frac = x - i0;
    float *w = f->weights + (size_t)i * f->taps;
    f->first[i] = i0;
    f->count[i] = i0 + 1 < in && frac > 0.0 ? 2 : 1;
    w[0] = f->count[i] == 2 ? (float)(1.0 - frac) : 1.0f;
    w[1] = f->count[i] == 2 ? (float)frac : 0.0f;
}

static void filter_free(axis_filter *f)
{
    free(f->first);
    free(f->count);
    free(f->weights);
}

static cls_status filter_create(axis_filter *f, int in, int out)
{
    cls_status status = CLS_OK;
    memset(f, 0, sizeof *f);
    f->taps = out < in ? (in + out - 1) / out + 1 : 2;
    f->first = malloc((size_t)out * sizeof *f->first);
    f->count = malloc((size_t)out * sizeof *f->count);
    f->weights = malloc((size_t)out * f->taps * sizeof *f->weights);
    if (!f->first || !f->count || !f->weights) {
        status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating resize filter taps");
        goto fail;
    }
    for (int i = 0; i < out; i++) {
        if (out < in)
            area_taps(f, i, in, out);
        else
            bilinear_taps(f, i, in, out);
    }
    return CLS_OK;
fail:
    filter_free(f);
    return status;
}

/* Along rows: in is in_width x rows, out is out_width x rows (f has out_width taps). */
static void resample_rows(const float *in, int in_width, int rows, const axis_filter *f,
                          int out_width, float *out)
{
    for (size_t y = 0; y < (size_t)rows; y++) {
        const float *src = in + y * in_width * 3;
        float *dst = out + y * out_width * 3;
        for (int x = 0; x < out_width; x++) {
            const float *w = f->weights + (size_t)x * f->taps;
            float r = 0.0f, g = 0.0f, b = 0.0f;
            for (int k = 0; k < f->count[x]; k++) {
                const float *p = src + (size_t)(f->first[x] + k) * 3;
                r += w[k] * p[0];
                g += w[k] * p[1];
                b += w[k] * p[2];
            }
            dst[3 * x] = r, dst[3 * x + 1] = g, dst[3 * x + 2] = b;
        }
    }
}

/* Along columns, a row at a time: out (zeroed, width x out_rows) accumulates rows of in. */
static void resample_columns(const float *in, int width, const axis_filter *f, int out_rows,
                             float *out)
{
    size_t stride = (size_t)width * 3;
    for (int y = 0; y < out_rows; y++) {
        float *dst = out + (size_t)y * stride;
        const float *w = f->weights + (size_t)y * f->taps;
        for (int k = 0; k < f->count[y]; k++) {
            const float *src = in + (size_t)(f->first[y] + k) * stride;
            for (size_t i = 0; i < stride; i++)
                dst[i] += w[k] * src[i];
        }
    }
}

cls_status cls_image_resize(const cls_image *in, int width, int height, cls_image *out)
{
    cls_status status = CLS_OK;
    axis_filter horizontal = {0}, vertical = {0};
    float *tmp = NULL;
    if (!in || !out || in == out || !in->pixels || in->width < 1 || in->height < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "resizing: no input image");
    CLS_TRY(cls_image_alloc(out, width, height));
    CLS_TRY(filter_create(&horizontal, in->width, width));
    CLS_TRY(filter_create(&vertical, in->height, height));
    tmp = malloc((size_t)width * in->height * 3 * sizeof *tmp);
    CLS_CHECK_ALLOC(tmp, "a resize buffer");
    resample_rows(in->pixels, in->width, in->height, &horizontal, width, tmp);
    resample_columns(tmp, width, &vertical, height, out->pixels);
fail:
    filter_free(&horizontal);
    filter_free(&vertical);
    free(tmp);
    if (status != CLS_OK)
        cls_image_free(out);
    return status;
}

/* round(side * longest / longer), at least 1. */
static int scaled(int side, int longest, int longer)
{
    int64_t n = (2 * (int64_t)side * longest + longer) / (2 * (int64_t)longer);
    return n < 1 ? 1 : (int)n;
}

void cls_image_fit(int width, int height, int longest, int *out_width, int *out_height)
{
    width = width < 1 ? 1 : width;
    height = height < 1 ? 1 : height;
    longest = longest < 1 ? 1 : longest;
    if (width >= height) {
        *out_width = longest;
        *out_height = scaled(height, longest, width);
    } else {
        *out_width = scaled(width, longest, height);
        *out_height = longest;
    }
}
