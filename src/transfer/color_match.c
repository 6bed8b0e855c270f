/* Colour matching (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
 * Transfer"): the style image's RGB mean and covariance, or its per-channel histograms,
 * made the content image's. Everything is computed in double. */
#include "transfer/color_match.h"
#include "runtime/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double clamp255(double v)
{
    return v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v;
}

static size_t pixel_count(const cls_image *image)
{
    return (size_t)image->width * (size_t)image->height;
}

/* RGB mean and population covariance (divided by the pixel count). */
static void mean_cov(const cls_image *image, double mean[3], double cov[3][3])
{
    const size_t n = pixel_count(image);
    memset(cov, 0, 9 * sizeof(double));
    for (int c = 0; c < 3; c++) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += image->pixels[3 * i + c];
        mean[c] = sum / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        const float *p = image->pixels + 3 * i;
        const double d[3] = {p[0] - mean[0], p[1] - mean[1], p[2] - mean[2]};
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                cov[r][c] += d[r] * d[c];
    }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            cov[r][c] /= (double)n;
}

/* One Jacobi rotation zeroing a[p][q]; v accumulates the rotations (its columns become the
 * eigenvectors). */
static void jacobi_rotate(double a[3][3], double v[3][3], int p, int q)
{
    const double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
    const double t = (theta >= 0.0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
    const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
    for (int k = 0; k < 3; k++) { /* a <- a J */
        const double akp = a[k][p], akq = a[k][q];
        a[k][p] = c * akp - s * akq;
        a[k][q] = s * akp + c * akq;
    }
    for (int k = 0; k < 3; k++) { /* a <- J^T a */
        const double apk = a[p][k], aqk = a[q][k];
        a[p][k] = c * apk - s * aqk;
        a[q][k] = s * apk + c * aqk;
    }
    for (int k = 0; k < 3; k++) {
        const double vkp = v[k][p], vkq = v[k][q];
        v[k][p] = c * vkp - s * vkq;
        v[k][q] = s * vkp + c * vkq;
    }
}

/* Eigenvalues w and eigenvectors (columns of v) of the symmetric matrix m, by cyclic Jacobi
 * sweeps: for 3 x 3 a handful of sweeps reach double precision. */
static void symmetric_eigen(const double m[3][3], double w[3], double v[3][3])
{
    double a[3][3];
    memcpy(a, m, sizeof a);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            v[r][c] = r == c;
    for (int sweep = 0; sweep < 50; sweep++) {
        const double off = fabs(a[0][1]) + fabs(a[0][2]) + fabs(a[1][2]);
        const double diag = fabs(a[0][0]) + fabs(a[1][1]) + fabs(a[2][2]);
        if (off <= 1e-300 || off <= 1e-17 * diag)
            break;
        for (int p = 0; p < 2; p++)
            for (int q = p + 1; q < 3; q++)
                if (a[p][q] != 0.0)
                    jacobi_rotate(a, v, p, q);
    }
    for (int i = 0; i < 3; i++)
        w[i] = a[i][i];
}

/* m^power for a symmetric positive semi-definite m (power +-1/2), its eigenvalues clamped
 * first at 1e-5 of the largest and at least 1e-8: a flat image's zero covariance, or a grey
 * image's rank-one covariance, must not be divided by. */
static void symmetric_power(const double m[3][3], double power, double out[3][3])
{
    double w[3], v[3][3];
    symmetric_eigen(m, w, v);
    const double largest = fmax(w[0], fmax(w[1], w[2]));
    const double least = fmax(1e-5 * largest, 1e-8);
    for (int i = 0; i < 3; i++)
        w[i] = pow(fmax(w[i], least), power);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            out[r][c] =
                v[r][0] * w[0] * v[c][0] + v[r][1] * w[1] * v[c][1] + v[r][2] * w[2] * v[c][2];
}

static cls_status match_mean_cov(const cls_image *content, cls_image *style)
{
    double mu_c[3], mu_s[3], cov_c[3][3], cov_s[3][3], root_c[3][3], inv_root_s[3][3];
    mean_cov(content, mu_c, cov_c);
    mean_cov(style, mu_s, cov_s);
    symmetric_power(cov_c, 0.5, root_c);
    symmetric_power(cov_s, -0.5, inv_root_s);
    double a[3][3];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            a[r][c] = root_c[r][0] * inv_root_s[0][c] + root_c[r][1] * inv_root_s[1][c] +
                      root_c[r][2] * inv_root_s[2][c];
    const size_t n = pixel_count(style);
    for (size_t i = 0; i < n; i++) {
        float *p = style->pixels + 3 * i;
        const double d[3] = {p[0] - mu_s[0], p[1] - mu_s[1], p[2] - mu_s[2]};
        for (int r = 0; r < 3; r++)
            p[r] = (float)clamp255(a[r][0] * d[0] + a[r][1] * d[1] + a[r][2] * d[2] + mu_c[r]);
    }
    return CLS_OK;
}

typedef struct ranked {
    float value;
    size_t index;
} ranked;

/* Ascending by value, ties by pixel index: the same order on every platform. */
static int by_value_then_index(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static void sort_channel(const cls_image *image, int c, ranked *out)
{
    const size_t n = pixel_count(image);
    for (size_t i = 0; i < n; i++)
        out[i] = (ranked){image->pixels[3 * i + c], i};
    qsort(out, n, sizeof *out, by_value_then_index);
}

/* The content's sorted values sit at quantiles (k + 0.5) / nc; the style pixel of rank r
 * gets the content's value at quantile (r + 0.5) / ns, linearly interpolated and held at
 * the ends (numpy.interp). With equal sizes that is exactly the content's r-th value. */
static void match_channel(const ranked *content, size_t nc, const ranked *style, size_t ns, int c,
                          float *pixels)
{
    for (size_t r = 0; r < ns; r++) {
        const double at = ((double)r + 0.5) / (double)ns * (double)nc - 0.5;
        double v;
        if (at <= 0.0) {
            v = content[0].value;
        } else if (at >= (double)(nc - 1)) {
            v = content[nc - 1].value;
        } else {
            const size_t k = (size_t)at;
            const double frac = at - (double)k;
            v = content[k].value * (1.0 - frac) + content[k + 1].value * frac;
        }
        pixels[3 * style[r].index + c] = (float)clamp255(v);
    }
}

static cls_status match_histogram(const cls_image *content, cls_image *style)
{
    cls_status status = CLS_OK;
    const size_t nc = pixel_count(content), ns = pixel_count(style);
    ranked *sorted_c = malloc(nc * sizeof *sorted_c), *sorted_s = malloc(ns * sizeof *sorted_s);
    CLS_CHECK_ALLOC(sorted_c, "histogram matching's sorted pixels");
    CLS_CHECK_ALLOC(sorted_s, "histogram matching's sorted pixels");
    for (int c = 0; c < 3; c++) {
        sort_channel(content, c, sorted_c);
        sort_channel(style, c, sorted_s);
        match_channel(sorted_c, nc, sorted_s, ns, c, style->pixels);
    }
fail:
    free(sorted_c);
    free(sorted_s);
    return status;
}

static bool has_pixels(const cls_image *image)
{
    return image && image->pixels && image->width > 0 && image->height > 0;
}

cls_status cls_image_match_colors(const cls_image *content, cls_color_match how, cls_image *style)
{
    if (how != CLS_COLOR_MATCH_NONE && how != CLS_COLOR_MATCH_MEAN_COV &&
        how != CLS_COLOR_MATCH_HISTOGRAM)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "colour matching: unknown method %d", (int)how);
    if (!has_pixels(content) || !has_pixels(style))
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "colour matching: no image");
    if (how == CLS_COLOR_MATCH_MEAN_COV)
        return match_mean_cov(content, style);
    if (how == CLS_COLOR_MATCH_HISTOGRAM)
        return match_histogram(content, style);
    return CLS_OK;
}

cls_status cls_styles_matched(const cls_image *content, cls_color_match how,
                              const cls_image *styles, int count, cls_image **copies)
{
    cls_status status = CLS_OK;
    cls_image *out = calloc((size_t)count, sizeof *out);
    CLS_CHECK_ALLOC(out, "colour-matched style images");
    for (int i = 0; i < count; i++) {
        CLS_TRY(cls_image_alloc(&out[i], styles[i].width, styles[i].height));
        memcpy(out[i].pixels, styles[i].pixels, 3 * pixel_count(&styles[i]) * sizeof(float));
        CLS_TRY(cls_image_match_colors(content, how, &out[i]));
    }
    *copies = out;
    return CLS_OK;
fail:
    cls_styles_free(out, count);
    return status;
}

void cls_styles_free(cls_image *copies, int count)
{
    if (!copies)
        return;
    for (int i = 0; i < count; i++)
        cls_image_free(&copies[i]);
    free(copies);
}
