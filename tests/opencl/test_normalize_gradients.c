/* normalize_gradients (neural-style's -normalize_gradients) on the random VGG-19 weights of
 * `make-weights --seed 1`: one evaluation's gradient with normalisation equals the sum over
 * the loss layers of weight * J_l^T g_l / (|g_l|_1 + 1e-8), where J_l^T g_l (the weighted
 * image gradient of that layer alone, normalisation off) comes from runs with one loss
 * layer each and |g_l|_1, the L1 norm of the layer's unweighted gradient at its tap, is
 * computed on the host in double from the tap's features and target; Adam and L-BFGS
 * without line search run with it; the strong-Wolfe search refuses it.
 * Arguments: GOLDEN_DIR WEIGHTS. */
#include "check.h"
#include "device_util.h"
#include "ops/elementwise.h"
#include "runtime/launch.h"
#include "transfer/run.h"

#include <math.h>
#include <stdlib.h>

static cls_model *model;
static cls_image content, style;

static const char *const style_layers[] = {"relu1_1", "relu2_1", "relu3_1"};
enum { STYLE_LAYERS = 3 };

static cls_image pattern(int w, int h, int seed)
{
    cls_image img;
    cls_image_alloc(&img, w, h);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++)
            img.pixels[3 * i + c] =
                (float)(127.5 + 120.0 * sin(0.37 * (i % w) * (c + 1) + 0.23 * (i / w) + seed));
    return img;
}

static cls_transfer_params base_params(void)
{
    cls_transfer_params p = cls_transfer_params_default();
    p.optimizer = CLS_OPTIMIZER_ADAM;
    p.iterations = 1;
    p.content_layers = "conv3_1";
    p.style_layers = "relu1_1,relu2_1,relu3_1";
    p.tv_weight = 0.0; /* not a loss layer: never normalised */
    p.init = CLS_INIT_RANDOM;
    p.seed = 3;
    return p;
}

/* One evaluation's gradient at the run's start image, in grad (n floats). */
static bool evaluate(const cls_transfer_params *p, float *grad, cls_transfer **keep)
{
    cls_transfer *run = NULL;
    cl_mem g = NULL;
    double loss = 0.0;
    cls_status st = cls_transfer_open(dev, model, &content, &style, 1, NULL, p, &run);
    CHECK_STATUS(st, CLS_OK);
    if (st == CLS_OK)
        st = cls_buffer_create(dev, run->n * sizeof(float), "gradient", &g);
    if (st == CLS_OK)
        st = cls_fill(dev, run->n, 0.0f, g);
    if (st == CLS_OK)
        st = cls_transfer_evaluate(run, run->x, g, 0, &loss);
    if (st == CLS_OK)
        st = cls_read_floats(dev, g, 0, run->n, grad);
    CHECK_STATUS(st, CLS_OK);
    if (g)
        clReleaseMemObject(g);
    if (keep && st == CLS_OK)
        *keep = run;
    else
        cls_transfer_close(run);
    return st == CLS_OK;
}

static float *read_buffer(cl_mem buf, size_t count)
{
    float *host = malloc(count * sizeof *host);
    CHECK_STATUS(cls_read_floats(dev, buf, 0, count, host), CLS_OK);
    return host;
}

/* |g|_1 of the content loss' unweighted gradient 2 (F - P) / count at the tap. */
static double content_norm(cls_transfer *run)
{
    cl_mem tap;
    cls_shape s;
    CHECK_STATUS(cls_net_tap(run->net, run->content[0].layer, &tap, &s), CLS_OK);
    const size_t count = cls_shape_count(s);
    float *f = read_buffer(tap, count), *t = read_buffer(run->content[0].target, count);
    double norm = 0.0;
    for (size_t i = 0; i < count; i++)
        norm += fabs(2.0 * ((double)f[i] - t[i]) / (double)count);
    free(f);
    free(t);
    return norm;
}

/* |g|_1 of style layer i's unweighted gradient at the tap: G = k F F^T, dL/dG = 2 (G - A),
 * dL/dF = k (dL/dG + dL/dG^T) F, k = 1 / (C H W). */
static double style_norm(cls_transfer *run, int i)
{
    cl_mem tap;
    cls_shape s;
    CHECK_STATUS(cls_net_tap(run->net, run->style[i].layer, &tap, &s), CLS_OK);
    const size_t c = (size_t)s.c, hw = (size_t)s.h * s.w;
    const double k = 1.0 / ((double)c * hw);
    float *f = read_buffer(tap, c * hw), *a = read_buffer(run->style[i].target, c * c);
    double *dg = malloc(c * c * sizeof *dg), norm = 0.0;
    for (size_t r = 0; r < c; r++)
        for (size_t q = 0; q < c; q++) {
            double g = 0.0;
            for (size_t j = 0; j < hw; j++)
                g += (double)f[r * hw + j] * f[q * hw + j];
            dg[r * c + q] = 2.0 * (k * g - a[r * c + q]);
        }
    for (size_t r = 0; r < c; r++)
        for (size_t j = 0; j < hw; j++) {
            double v = 0.0;
            for (size_t q = 0; q < c; q++)
                v += (dg[r * c + q] + dg[q * c + r]) * f[q * hw + j];
            norm += fabs(k * v);
        }
    free(f);
    free(a);
    free(dg);
    return norm;
}

static void gradient_is_sum_of_normalised_layers(void)
{
    const size_t n = (size_t)3 * content.width * content.height;
    float *on = malloc(n * sizeof *on), *one = malloc(n * sizeof *one);
    double *want = calloc(n, sizeof *want);
    cls_transfer_params p = base_params();
    p.normalize_gradients = true;
    cls_transfer *run = NULL;
    if (!evaluate(&p, on, &run))
        goto done;
    /* The taps of the start image, for the host's norms. */
    CHECK_STATUS(cls_net_forward(run->net, run->x), CLS_OK);
    double norms[1 + STYLE_LAYERS], scale[1 + STYLE_LAYERS];
    norms[0] = content_norm(run);
    scale[0] = 1.0; /* the only content layer has weight 1 alone too */
    for (int i = 0; i < STYLE_LAYERS; i++) {
        norms[1 + i] = style_norm(run, i);
        scale[1 + i] = run->style_layers.weight[i]; /* alone, a layer's weight is 1 */
    }
    cls_transfer_close(run);
    for (int l = 0; l < 1 + STYLE_LAYERS; l++) {
        cls_transfer_params single = base_params();
        if (l == 0)
            single.style_weight = 0.0;
        else {
            single.content_weight = 0.0;
            single.style_layers = style_layers[l - 1];
        }
        if (!evaluate(&single, one, NULL))
            goto done;
        printf("  layer %d: |g|_1 %.6e\n", l, norms[l]);
        for (size_t i = 0; i < n; i++)
            want[i] += scale[l] * one[i] / (norms[l] + 1e-8);
    }
    double diff = 0.0, most = 0.0;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(on[i] - want[i]));
        most = fmax(most, fabs(want[i]));
    }
    printf("  max |normalised - expected| %.3e of max |expected| %.3e (%.2e relative)\n", diff,
           most, diff / most);
    CHECK(most > 0.0);
    CHECK(diff <= 1e-4 * most);
done:
    free(on);
    free(one);
    free(want);
}

static void optimisers(void)
{
    cls_transfer_params p = base_params();
    p.normalize_gradients = true;
    p.iterations = 3;
    cls_image out = {0};
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r), CLS_OK);
    CHECK(r.iterations == 3 && isfinite(r.loss) && out.pixels);
    cls_image_free(&out);
    p.optimizer = CLS_OPTIMIZER_LBFGS;
    p.line_search = false;
    p.iterations = 2;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r), CLS_OK);
    CHECK(r.iterations >= 1 && isfinite(r.loss));
    cls_image_free(&out);
    p.line_search = true;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "line search");
    CHECK(out.pixels == NULL);
    size_t with = 0, without = 0;
    CHECK_STATUS(cls_transfer_plan_bytes(model, 32, 24, &p, &with), CLS_ERR_INVALID_ARGUMENT);
    p.line_search = false;
    CHECK_STATUS(cls_transfer_plan_bytes(model, 32, 24, &p, &with), CLS_OK);
    p.normalize_gradients = false;
    CHECK_STATUS(cls_transfer_plan_bytes(model, 32, 24, &p, &without), CLS_OK);
    CHECK(with > without); /* the per-layer gradient buffer is planned */
}

int main(int argc, char **argv)
{
    const int failed = dev_open_with_model(argc, argv, &model);
    if (failed)
        return failed;
    content = pattern(32, 24, 0);
    style = pattern(28, 20, 5);
    RUN(gradient_is_sum_of_normalised_layers);
    RUN(optimisers);
    cls_image_free(&content);
    cls_image_free(&style);
    cls_model_destroy(model);
    dev_close();
    return check_report();
}
