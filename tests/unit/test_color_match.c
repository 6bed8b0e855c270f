/* cls_image_match_colors against numpy (tests/reference/make_color_match_golden.py, float64):
 * mean-cov and histogram matching on images of different sizes, nearly flat, constant, grey
 * (rank-one covariance) and with tied values; and the properties themselves: after mean-cov
 * the style has the content's mean and covariance, after histogram matching its sorted
 * channels are the content's. Argument: GOLDEN_DIR. */
#include "check.h"
#include "reference/golden.h"

#include <math.h>

static ref_golden golden;

/* A golden [h, w, 3] image as a cls_image (a copy); width 0 when it is missing. */
static cls_image golden_image(const char *name)
{
    cls_image img = {0};
    const ref_golden_tensor *t = ref_golden_find(&golden, name);
    CHECK(t && t->ndim == 3 && t->dims[2] == 3);
    if (!t || t->ndim != 3 || t->dims[2] != 3)
        return img;
    CHECK_STATUS(cls_image_alloc(&img, (int)t->dims[1], (int)t->dims[0]), CLS_OK);
    memcpy(img.pixels, t->data, t->count * sizeof(float));
    return img;
}

static double max_diff(const cls_image *a, const cls_image *b)
{
    double most = 0.0;
    for (size_t i = 0; i < (size_t)3 * a->width * a->height; i++)
        most = fmax(most, fabs((double)a->pixels[i] - b->pixels[i]));
    return most;
}

static void stats(const cls_image *img, double mean[3], double cov[3][3])
{
    const size_t n = (size_t)img->width * img->height;
    for (int c = 0; c < 3; c++) {
        mean[c] = 0.0;
        for (size_t i = 0; i < n; i++)
            mean[c] += img->pixels[3 * i + c] / (double)n;
    }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            cov[r][c] = 0.0;
            for (size_t i = 0; i < n; i++)
                cov[r][c] += (img->pixels[3 * i + r] - mean[r]) *
                             (img->pixels[3 * i + c] - mean[c]) / (double)n;
        }
}

/* One case's result for one method against numpy's. */
static void against_numpy(const char *name, cls_color_match how, const char *prefix)
{
    char key[64];
    snprintf(key, sizeof key, "content_%s", name);
    cls_image content = golden_image(key);
    snprintf(key, sizeof key, "style_%s", name);
    cls_image style = golden_image(key);
    snprintf(key, sizeof key, "%s_%s", prefix, name);
    cls_image want = golden_image(key);
    if (content.pixels && style.pixels && want.pixels) {
        CHECK_STATUS(cls_image_match_colors(&content, how, &style), CLS_OK);
        const double diff = max_diff(&style, &want);
        printf("  %-9s %-13s max |diff| %.2e\n", prefix, name, diff);
        CHECK(diff <= 1e-3);
    }
    cls_image_free(&content);
    cls_image_free(&style);
    cls_image_free(&want);
}

static void goldens(void)
{
    static const char *const names[] = {"sizes",      "same_count",   "nearly_flat", "constant",
                                        "grey_style", "grey_content", "ties"};
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        against_numpy(names[i], CLS_COLOR_MATCH_MEAN_COV, "meancov");
        against_numpy(names[i], CLS_COLOR_MATCH_HISTOGRAM, "hist");
    }
}

/* Mean-cov on a style whose map stays inside 0..255: the content's statistics exactly. */
static void mean_cov_moments(void)
{
    const char *const names[] = {"sizes", "same_count"};
    for (int k = 0; k < 2; k++) {
        char key[64];
        snprintf(key, sizeof key, "content_%s", names[k]);
        cls_image content = golden_image(key);
        snprintf(key, sizeof key, "style_%s", names[k]);
        cls_image style = golden_image(key);
        CHECK_STATUS(cls_image_match_colors(&content, CLS_COLOR_MATCH_MEAN_COV, &style), CLS_OK);
        double mc[3], ms[3], cc[3][3], cs[3][3];
        stats(&content, mc, cc);
        stats(&style, ms, cs);
        for (int r = 0; r < 3; r++) {
            CHECK(fabs(mc[r] - ms[r]) <= 1e-3);
            for (int c = 0; c < 3; c++)
                CHECK(fabs(cc[r][c] - cs[r][c]) <= 1e-3 * fmax(1.0, fabs(cc[r][c])));
        }
        cls_image_free(&content);
        cls_image_free(&style);
    }
}

static int by_value(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void sorted_channel(const cls_image *img, int c, float *out)
{
    const size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++)
        out[i] = img->pixels[3 * i + c];
    qsort(out, n, sizeof *out, by_value);
}

/* Histogram matching: each sorted channel of the result is the content's quantiles: its
 * sorted values when the pixel counts agree, their interpolation at (r + 0.5) / n when not. */
static void histogram_quantiles(void)
{
    const char *const names[] = {"same_count", "sizes", "ties"};
    for (int k = 0; k < 3; k++) {
        char key[64];
        snprintf(key, sizeof key, "content_%s", names[k]);
        cls_image content = golden_image(key);
        snprintf(key, sizeof key, "style_%s", names[k]);
        cls_image style = golden_image(key);
        CHECK_STATUS(cls_image_match_colors(&content, CLS_COLOR_MATCH_HISTOGRAM, &style), CLS_OK);
        const size_t nc = (size_t)content.width * content.height;
        const size_t ns = (size_t)style.width * style.height;
        float *sc = malloc(nc * sizeof *sc), *ss = malloc(ns * sizeof *ss);
        double worst = 0.0;
        for (int c = 0; c < 3; c++) {
            sorted_channel(&content, c, sc);
            sorted_channel(&style, c, ss);
            for (size_t r = 0; r < ns; r++) {
                double at = ((double)r + 0.5) / (double)ns * (double)nc - 0.5;
                at = fmin(fmax(at, 0.0), (double)(nc - 1));
                const size_t lo = (size_t)floor(at), hi = lo + 1 < nc ? lo + 1 : lo;
                const double want = sc[lo] + (sc[hi] - sc[lo]) * (at - (double)lo);
                worst = fmax(worst, fabs(ss[r] - want));
            }
        }
        if (nc == ns) /* the interpolation then lands on the content's values themselves */
            printf("  sorted channels equal the content's (%s): max |diff| %.2e\n", names[k],
                   worst);
        CHECK(worst <= 1e-3);
        free(sc);
        free(ss);
        cls_image_free(&content);
        cls_image_free(&style);
    }
}

static void none_and_bad_arguments(void)
{
    cls_image content = golden_image("content_sizes"), style = golden_image("style_sizes");
    cls_image copy = golden_image("style_sizes");
    CHECK_STATUS(cls_image_match_colors(&content, CLS_COLOR_MATCH_NONE, &style), CLS_OK);
    CHECK(max_diff(&style, &copy) == 0.0);
    CHECK_STATUS(cls_image_match_colors(&content, (cls_color_match)7, &style),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(cls_image_match_colors(NULL, CLS_COLOR_MATCH_MEAN_COV, &style),
                 CLS_ERR_INVALID_ARGUMENT);
    cls_image empty = {0};
    CHECK_STATUS(cls_image_match_colors(&content, CLS_COLOR_MATCH_HISTOGRAM, &empty),
                 CLS_ERR_INVALID_ARGUMENT);
    cls_image_free(&content);
    cls_image_free(&style);
    cls_image_free(&copy);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
        return 2;
    }
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/color_match.gold", argv[1]);
    if (ref_golden_load(path, &golden, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    RUN(goldens);
    RUN(mean_cov_moments);
    RUN(histogram_quantiles);
    RUN(none_and_bad_arguments);
    ref_golden_free(&golden);
    return check_report();
}
