/* Exact tiling (src/transfer/tiled.c) on the random VGG-19 weights of `make-weights --seed 1`:
 * the objective of a tiled run, its loss terms and its image gradient, equals the untiled
 * one within 1e-4 relative with direct convolution, with shallow layers on an image many tiles
 * wide and with the default layers (to relu5_1, a halo of 96), and but for isolated flipped
 * near-ties with the algorithms the layers choose (Winograd); a halo short of the receptive
 * field does not (so the comparison can fail); the halo rule itself; bad tiles; a memory
 * limit that tiles a run; a limit that moves the L-BFGS history to the host instead, with the
 * same result bit for bit. Under CLSTYLE_TEST_QUICK, the direct-convolution comparison to
 * relu2_1 on 38x26, the halo rule and bad tiles.
 * Arguments: GOLDEN_DIR WEIGHTS. */
#include "check.h"
#include "device_util.h"
#include "ops/elementwise.h"
#include "runtime/launch.h"
#include "transfer/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static cls_model *model;

static cls_image pattern(int w, int h, int seed)
{
    cls_image img;
    cls_image_alloc(&img, w, h);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++)
            img.pixels[3 * i + c] = (float)(127.5 + 120.0 * sin(0.37 * (i % w) * (c + 1) +
                                                                0.23 * (i / w) * (2 - c) + seed));
    return img;
}

/* One evaluation at the run's start image (random, so the content loss is not 0). */
typedef struct evaluation {
    double loss;
    cls_loss_terms terms;
    float *grad;
    size_t n;
} evaluation;

static bool evaluate(const cls_image *content, const cls_image *style, const cls_transfer_params *p,
                     int tile, int halo, evaluation *e)
{
    cls_transfer *run = NULL;
    cl_mem g = NULL;
    cls_status st =
        cls_transfer_open_tiled(dev, model, content, style, 1, NULL, p, tile, halo, &run);
    CHECK_STATUS(st, CLS_OK);
    if (st == CLS_OK) {
        e->n = run->n;
        e->grad = malloc(run->n * sizeof *e->grad);
        st = cls_buffer_create(dev, run->n * sizeof(float), "gradient", &g);
    }
    if (st == CLS_OK)
        st = cls_transfer_evaluate(run, run->x, g, 0, &e->loss);
    if (st == CLS_OK) {
        e->terms = cls_transfer_terms(run, 0);
        st = cls_read_floats(dev, g, 0, run->n, e->grad);
    }
    CHECK_STATUS(st, CLS_OK);
    if (st == CLS_OK && tile > 0)
        printf("  %d tiles of %d px, halo %d, regions up to %dx%d\n", run->tiling.count, tile,
               run->tiling.halo, run->tiling.region_w, run->tiling.region_h);
    if (g)
        clReleaseMemObject(g);
    cls_transfer_close(run);
    return st == CLS_OK;
}

static double rel(double a, double b)
{
    return fabs(a - b) / fmax(fabs(b), 1e-30);
}

/* How far a tiled evaluation is from the untiled one: the largest relative difference of
 * the loss terms; the gradient's difference in norm over the untiled gradient's norm, its
 * largest element difference over the largest element, and the fraction of elements that
 * differ by more than 1e-4 of the largest. */
typedef struct difference {
    double terms, grad_norm, grad_max, outliers;
} difference;

static difference compare(const evaluation *tiled, const evaluation *whole)
{
    double diff2 = 0, norm2 = 0, diff_max = 0, max = 0;
    for (size_t i = 0; i < whole->n; i++) {
        max = fmax(max, fabs(whole->grad[i]));
        norm2 += (double)whole->grad[i] * whole->grad[i];
    }
    size_t outliers = 0;
    for (size_t i = 0; i < whole->n; i++) {
        const double d = (double)tiled->grad[i] - whole->grad[i];
        diff2 += d * d;
        diff_max = fmax(diff_max, fabs(d));
        outliers += fabs(d) > 1e-4 * max;
    }
    difference r = {
        fmax(fmax(rel(tiled->terms.content, whole->terms.content),
                  rel(tiled->terms.style, whole->terms.style)),
             fmax(rel(tiled->terms.tv, whole->terms.tv), rel(tiled->loss, whole->loss))),
        sqrt(diff2 / norm2), diff_max / max, (double)outliers / whole->n};
    printf("  loss %.6e (untiled %.6e): terms within %.2e relative; gradient %.2e (norm), "
           "%.2e (largest element), %zu of %zu elements off by more than 1e-4\n",
           tiled->loss, whole->loss, r.terms, r.grad_norm, r.grad_max, outliers, whole->n);
    return r;
}

/* Direct convolution computes every output the same way whatever the image's size, so a
 * tiled evaluation equals the untiled one to float rounding: 1e-4 holds everywhere. */
static void check_exact(difference d)
{
    CHECK(d.terms <= 1e-4 && d.grad_norm <= 1e-4 && d.grad_max <= 1e-4);
}

/* Winograd's sums depend on the image's size (how its tiles batch), so values differ in the
 * last bits, and where a ReLU input or a max-pooling pair is that close to a tie the
 * decision can flip and move the gradient of the pixels below it: one 5x5 patch of 150x98
 * to relu3_1 (0.16% of the values), 2.8% of 224x176 to relu5_1, where a flip at a deep
 * layer reaches a hundred pixels; the norm of the difference 4e-4 and 6e-4 of the
 * gradient's. The losses hold to 1e-4; the gradient is held to those measures, with room. */
static void check_close(difference d)
{
    CHECK(d.terms <= 1e-4 && d.grad_norm <= 2e-3 && d.outliers <= 0.05);
}

static cls_transfer_params shallow(void)
{
    cls_transfer_params p = cls_transfer_params_default();
    const bool quick = check_quick(); /* valgrind: two layers (halo 6, stride 2), not five */
    p.content_layers = quick ? "relu2_1" : "conv3_1";
    p.style_layers = quick ? "relu1_1,relu2_1" : "relu1_1,relu2_1,relu3_1";
    p.init = CLS_INIT_RANDOM;
    p.seed = 3;
    return p;
}

/* Tiled (tile, halo) against untiled, with the convolution algorithm forced (or NULL). */
static difference tiled_against_whole(const cls_image *content, const cls_image *style,
                                      const cls_transfer_params *p, int tile, int halo,
                                      const char *algorithm)
{
    difference d = {INFINITY, INFINITY, INFINITY, INFINITY};
    evaluation whole = {0}, tiled = {0};
    if (algorithm)
        setenv("CLSTYLE_CONV", algorithm, 1);
    if (evaluate(content, style, p, 0, 0, &whole) &&
        evaluate(content, style, p, tile, halo, &tiled))
        d = compare(&tiled, &whole);
    unsetenv("CLSTYLE_CONV");
    free(whole.grad);
    free(tiled.grad);
    return d;
}

/* Shallow layers (to relu3_1: stride 4, receptive field 10 pixels left and 13 right, halo
 * 16) on 150x98: 4 x 3 tiles of 32 and more, odd edges; a halo of 8 must not do. */
static void shallow_layers_many_tiles(void)
{
    const bool quick = check_quick(); /* valgrind: 38x26 in 4 x 3 tiles of 8, direct only */
    cls_image content = quick ? pattern(38, 26, 1) : pattern(150, 98, 1);
    cls_image style = quick ? pattern(20, 18, 2) : pattern(60, 52, 2);
    const cls_transfer_params p = shallow();
    printf("  direct convolution:\n");
    check_exact(tiled_against_whole(&content, &style, &p, quick ? 8 : 32, 0, "direct"));
    if (quick) {
        cls_image_free(&content);
        cls_image_free(&style);
        return;
    }
    printf("  direct convolution, a halo of 8:\n");
    CHECK(tiled_against_whole(&content, &style, &p, 32, 8, "direct").grad_norm > 1e-3);
    printf("  the algorithms of each layer's choice:\n");
    check_close(tiled_against_whole(&content, &style, &p, 32, 0, NULL));
    cls_image_free(&content);
    cls_image_free(&style);
}

/* The default layers (conv4_2, relu1_1 .. relu5_1: halo 96, stride 16) on 224x176 in tiles
 * of 64: regions of most of the image, each position still owned once. */
static void default_layers(void)
{
    cls_image content = pattern(224, 176, 3), style = pattern(64, 48, 4);
    cls_transfer_params p = cls_transfer_params_default();
    p.init = CLS_INIT_RANDOM;
    p.seed = 5;
    printf("  direct convolution:\n");
    check_exact(tiled_against_whole(&content, &style, &p, 64, 0, "direct"));
    printf("  the algorithms of each layer's choice:\n");
    check_close(tiled_against_whole(&content, &style, &p, 64, 0, NULL));
    cls_image_free(&content);
    cls_image_free(&style);
}

static void halo_rule(void)
{
    int align = 0;
    const int relu5_1 = cls_vgg_find(CLS_VGG19, "relu5_1");
    const int relu3_1 = cls_vgg_find(CLS_VGG19, "relu3_1");
    /* to relu5_1: 2 + 1 + 2*2 + 2 + 4*4 + 4 + 4*8 + 8 + 16 = 85 pixels, up to 96 */
    CHECK(cls_tiling_halo(model, relu5_1, &align) == 96 && align == 16);
    /* to relu3_1: 2 + 1 + 4 + 2 + 4 = 13, up to 16 */
    CHECK(cls_tiling_halo(model, relu3_1, &align) == 16 && align == 4);
}

static void bad_tiles(void)
{
    cls_image content = pattern(64, 48, 1), style = pattern(32, 32, 2);
    cls_transfer_params p = shallow();
    cls_transfer *run = NULL;
    CHECK_STATUS(cls_transfer_open_tiled(dev, model, &content, &style, 1, NULL, &p, 31, 0, &run),
                 CLS_ERR_INVALID_ARGUMENT); /* not a multiple of the stride, 4 (quick: 2) */
    CHECK_CONTAINS(cls_last_error(), "multiples of");
    CHECK(run == NULL);
    p.normalize_gradients = true;
    p.optimizer = CLS_OPTIMIZER_ADAM;
    CHECK_STATUS(cls_transfer_open_tiled(dev, model, &content, &style, 1, NULL, &p, 32, 0, &run),
                 CLS_ERR_UNSUPPORTED);
    CHECK(run == NULL);
    cls_image_free(&content);
    cls_image_free(&style);
}

/* A memory limit between the tiled and the untiled plan: cls_transfer_plan tiles, and a run
 * under it works within it; one below any tiling is refused, saying why. */
static void memory_limit_tiles(void)
{
    cls_image content = pattern(150, 98, 1), style = pattern(60, 52, 2);
    cls_transfer_params p = shallow();
    p.optimizer = CLS_OPTIMIZER_ADAM;
    p.iterations = 2;
    cls_transfer_plan_info whole, tiled;
    CHECK_STATUS(cls_transfer_plan(model, 150, 98, &p, &whole), CLS_OK);
    CHECK(whole.tiles == 0 && whole.device_bytes == whole.untiled_bytes);
    const size_t weights = cls_model_device_bytes(model);
    p.max_device_bytes = weights + whole.device_bytes * 3 / 4;
    CHECK_STATUS(cls_transfer_plan(model, 150, 98, &p, &tiled), CLS_OK);
    printf("  untiled %.1f MiB; under %.1f MiB: %d tiles of %d px, %.1f MiB\n",
           whole.device_bytes / 1048576.0, (p.max_device_bytes - weights) / 1048576.0, tiled.tiles,
           tiled.tile, tiled.device_bytes / 1048576.0);
    CHECK(tiled.tiles > 1 && tiled.tile % 4 == 0 && tiled.halo == 16);
    CHECK(tiled.device_bytes + weights <= p.max_device_bytes);
    cls_image out;
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r), CLS_OK);
    CHECK(r.iterations == 2 && out.width == 150 && out.height == 98);
    CHECK(r.device_bytes <= tiled.device_bytes);
    printf("  the tiled run allocated %.1f MiB\n", r.device_bytes / 1048576.0);
    cls_image_free(&out);
    p.max_device_bytes = weights + 1024;
    CHECK_STATUS(cls_transfer_plan(model, 150, 98, &p, &tiled), CLS_ERR_OUT_OF_DEVICE_MEMORY);
    CHECK_CONTAINS(cls_last_error(), "even in tiles");
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r),
                 CLS_ERR_OUT_OF_DEVICE_MEMORY);
    CHECK(out.pixels == NULL);
    cls_image_free(&content);
    cls_image_free(&style);
}

/* A memory limit that the run fits with the L-BFGS history in host memory: the plan moves it
 * there instead of tiling, and the run gives the image of a run without the limit, bit for
 * bit, with the same iterations, evaluations and loss. */
static void memory_limit_moves_history_to_host(void)
{
    const int w = 48, h = 32, history = 100;
    cls_image content = pattern(w, h, 1), style = pattern(40, 36, 2);
    cls_transfer_params p = shallow();
    p.iterations = 8;
    p.lbfgs_history = history;
    cls_transfer_plan_info whole, limited;
    CHECK_STATUS(cls_transfer_plan(model, w, h, &p, &whole), CLS_OK);
    CHECK(!whole.history_on_host && whole.host_bytes == 0);
    const size_t vectors = (size_t)(2 * history + 5) * 3 * w * h * sizeof(float);
    const size_t weights = cls_model_device_bytes(model);
    p.max_device_bytes = weights + whole.device_bytes - vectors / 2;
    CHECK_STATUS(cls_transfer_plan(model, w, h, &p, &limited), CLS_OK);
    printf("  untiled %.2f MiB; under %.2f MiB: history on the host (%.2f MiB), %.2f MiB\n",
           whole.device_bytes / 1048576.0, (p.max_device_bytes - weights) / 1048576.0,
           limited.host_bytes / 1048576.0, limited.device_bytes / 1048576.0);
    CHECK(limited.history_on_host && limited.tiles == 0 && limited.host_bytes == vectors);
    CHECK(limited.device_bytes == whole.device_bytes - vectors);
    cls_image out[2];
    cls_transfer_result r[2];
    for (int k = 0; k < 2; k++) {
        p.max_device_bytes = k ? weights + whole.device_bytes - vectors / 2 : 0;
        CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out[k], &r[k]),
                     CLS_OK);
    }
    printf("  %d iterations, %d evaluations, loss %.9g; with the limit %d, %d, %.9g, %.2f MiB\n",
           r[0].iterations, r[0].evals, r[0].loss, r[1].iterations, r[1].evals, r[1].loss,
           r[1].device_bytes / 1048576.0);
    CHECK(r[0].iterations == r[1].iterations && r[0].evals == r[1].evals);
    CHECK(r[0].loss == r[1].loss && r[1].device_bytes <= limited.device_bytes);
    CHECK(out[0].pixels && out[1].pixels &&
          memcmp(out[0].pixels, out[1].pixels, 3 * (size_t)w * h * sizeof(float)) == 0);
    for (int k = 0; k < 2; k++)
        cls_image_free(&out[k]);
    /* A limit under the host-history plan (on an image large enough for tiles to save
     * memory): tiles, the history still on the host. */
    p.max_device_bytes = 0;
    CHECK_STATUS(cls_transfer_plan(model, 150, 98, &p, &whole), CLS_OK);
    p.max_device_bytes =
        weights +
        (whole.device_bytes - (size_t)(2 * history + 5) * 3 * 150 * 98 * sizeof(float)) * 3 / 4;
    CHECK_STATUS(cls_transfer_plan(model, 150, 98, &p, &limited), CLS_OK);
    printf("  150x98 under %.2f MiB: %d tiles, history on the host: %d\n",
           (p.max_device_bytes - weights) / 1048576.0, limited.tiles, limited.history_on_host);
    CHECK(limited.history_on_host && limited.tiles > 1);
    CHECK(limited.device_bytes + weights <= p.max_device_bytes);
    cls_image_free(&content);
    cls_image_free(&style);
}

int main(int argc, char **argv)
{
    const int failed = dev_open_with_model(argc, argv, &model);
    if (failed)
        return failed;
    RUN_CASE(halo_rule);
    RUN_CASE(shallow_layers_many_tiles);
    if (!check_quick()) /* the same code on larger regions: minutes under valgrind */
        RUN_CASE(default_layers);
    if (!check_quick()) /* a tiled Adam run: minutes under valgrind */
        RUN_CASE(memory_limit_tiles);
    RUN_CASE(memory_limit_moves_history_to_host);
    RUN_CASE(bad_tiles);
    cls_model_destroy(model);
    dev_close();
    return check_report();
}
