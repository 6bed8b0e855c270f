/* Spatial control (style_masks, content_mask) on the random VGG-19 weights of `make-weights
 * --seed 1`: one evaluation's loss terms and image gradient against PyTorch
 * (tests/reference/make_mask_golden.py: two styles with complementary masks and a content
 * mask; one style with a mask); masks of ones change nothing; a mask given at another size
 * is resized; hostile masks (black everywhere, the wrong count, a region that vanishes
 * before the deepest style layer) are refused before any work. Arguments: GOLDEN_DIR WEIGHTS. */
#include "check.h"
#include "device_util.h"
#include "ops/elementwise.h"
#include "runtime/launch.h"
#include "transfer/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { H = 48, W = 64 };

static cls_model *model;
static golden_file inputs, masks;
static cls_image content, style, shifted, mirrored;

/* A mask of weights in 0..1 as a grey image (the library reads the RGB mean / 255). */
static cls_image mask_image(const float *weights, int h, int w)
{
    cls_image img;
    cls_image_alloc(&img, w, h);
    for (int i = 0; i < h * w; i++)
        for (int c = 0; c < 3; c++)
            img.pixels[3 * i + c] = 255.0f * weights[i];
    return img;
}

static cls_image constant_mask(float value, int h, int w)
{
    cls_image img;
    cls_image_alloc(&img, w, h);
    for (int i = 0; i < 3 * h * w; i++)
        img.pixels[i] = value;
    return img;
}

static cls_transfer_params base_params(void)
{
    cls_transfer_params p = cls_transfer_params_default();
    p.optimizer = CLS_OPTIMIZER_ADAM;
    p.iterations = 1;
    p.init = CLS_INIT_IMAGE;
    p.init_image = &shifted;
    return p;
}

typedef struct evaluation {
    cls_status status;
    double terms[4]; /* total, content, style, tv */
    float *grad;
} evaluation;

/* One evaluation at the start image (shifted): its loss terms and image gradient. */
static evaluation evaluate(const cls_image *styles, int count, const cls_transfer_params *p)
{
    evaluation e = {.grad = calloc((size_t)3 * H * W, sizeof(float))};
    cls_transfer *run = NULL;
    cl_mem g = NULL;
    double loss = 0.0;
    e.status = cls_transfer_open(dev, model, &content, styles, count, NULL, p, &run);
    if (e.status == CLS_OK)
        e.status = cls_buffer_create(dev, run->n * sizeof(float), "gradient", &g);
    if (e.status == CLS_OK)
        e.status = cls_fill(dev, run->n, 0.0f, g);
    if (e.status == CLS_OK)
        e.status = cls_transfer_evaluate(run, run->x, g, 0, &loss);
    if (e.status == CLS_OK)
        e.status = cls_read_floats(dev, g, 0, run->n, e.grad);
    if (e.status == CLS_OK) {
        const cls_loss_terms t = cls_transfer_terms(run, 0);
        const double terms[4] = {t.total, t.content, t.style, t.tv};
        memcpy(e.terms, terms, sizeof terms);
    }
    if (g)
        clReleaseMemObject(g);
    cls_transfer_close(run);
    return e;
}

/* ||got - want||_2 / ||want||_2 over the image gradient. Not the largest difference: with
 * random weights a few pixels sit on a knife edge (a max-pooling tie or a ReLU at 0), where
 * PyTorch's own gradient jumps by 2% when the image moves by 1e-3. */
static double grad_err(const float *got, const float *want)
{
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < (size_t)3 * H * W; i++) {
        diff += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        norm += (double)want[i] * want[i];
    }
    return sqrt(diff / fmax(norm, 1e-300));
}

static void check_against_torch(const char *name, const cls_image *styles, int count,
                                const cls_transfer_params *p)
{
    char key[64];
    snprintf(key, sizeof key, "%s/terms", name);
    const float *want = golden_tensor(&masks, key, 4);
    snprintf(key, sizeof key, "%s/grad", name);
    const float *want_grad = golden_tensor(&masks, key, (size_t)3 * H * W);
    snprintf(key, sizeof key, "%s/grad_sensitivity", name);
    const double grad_tol = fmax(1e-4, golden_tensor(&masks, key, 1)[0]);
    evaluation e = evaluate(styles, count, p);
    CHECK_STATUS(e.status, CLS_OK);
    static const char *const terms[4] = {"total", "content", "style", "tv"};
    for (int k = 0; k < 4; k++) {
        const double err = fabs(e.terms[k] - want[k]) / fabs(want[k]);
        printf("  %s %-7s %.6e (torch %.6e) rel err %.2e\n", name, terms[k], e.terms[k],
               (double)want[k], err);
        CHECK(err <= 1e-4);
    }
    /* The golden gradient is CHW; clstyle's image tensor is CHW too. */
    const double err = grad_err(e.grad, want_grad);
    printf("  %s gradient: relative L2 error %.2e (PyTorch's own moves by %.2e)\n", name, err,
           grad_tol);
    CHECK(err <= grad_tol);
    free(e.grad);
}

static void two_styles_and_a_content_mask(void)
{
    cls_image m = mask_image(golden_tensor(&masks, "mask", H * W), H, W);
    cls_image m_inv = mask_image(golden_tensor(&masks, "mask_inverse", H * W), H, W);
    cls_image cm = mask_image(golden_tensor(&masks, "content_mask", H * W), H, W);
    const cls_image styles[2] = {style, mirrored}, style_masks[2] = {m, m_inv};
    cls_transfer_params p = base_params();
    p.style_masks = style_masks;
    p.style_mask_count = 2;
    p.content_mask = &cm;
    check_against_torch("two", styles, 2, &p);
    cls_image_free(&m);
    cls_image_free(&m_inv);
    cls_image_free(&cm);
}

static void one_style_with_a_mask(void)
{
    cls_image m = mask_image(golden_tensor(&masks, "mask", H * W), H, W);
    cls_transfer_params p = base_params();
    p.style_masks = &m;
    p.style_mask_count = 1;
    check_against_torch("one", &style, 1, &p);
    cls_image_free(&m);
}

/* White masks (of another size: resized) give the unmasked losses, and the gradient up to
 * the order its parts are added in. */
static void white_masks_change_nothing(void)
{
    cls_transfer_params p = base_params();
    evaluation plain = evaluate(&style, 1, &p);
    cls_image white = constant_mask(255.0f, 7, 9);
    p.style_masks = &white;
    p.style_mask_count = 1;
    p.content_mask = &white;
    evaluation masked = evaluate(&style, 1, &p);
    CHECK_STATUS(plain.status, CLS_OK);
    CHECK_STATUS(masked.status, CLS_OK);
    double worst = 0.0;
    for (int k = 0; k < 4; k++)
        worst = fmax(worst, fabs(masked.terms[k] - plain.terms[k]) / fabs(plain.terms[k]));
    const double gerr = grad_err(masked.grad, plain.grad);
    printf("  white masks: terms rel err %.2e, gradient %.2e\n", worst, gerr);
    CHECK(worst <= 1e-6 && gerr <= 1e-5);
    free(plain.grad);
    free(masked.grad);
    cls_image_free(&white);
}

static void expect_refused(const cls_transfer_params *p, int count, const char *message)
{
    const cls_image styles[2] = {style, mirrored};
    cls_image out = {0};
    CHECK_STATUS(cls_transfer_run(dev, model, &content, styles, count, NULL, p, &out, NULL),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), message);
    CHECK(out.pixels == NULL);
}

static void hostile_masks(void)
{
    cls_image black = constant_mask(0.0f, H, W), white = constant_mask(255.0f, H, W);
    cls_transfer_params p = base_params();
    p.style_masks = &black;
    p.style_mask_count = 1;
    expect_refused(&p, 1, "style mask 1 is black everywhere");
    p.style_masks = &white;
    expect_refused(&p, 2, "1 style masks for 2 style images");
    p = base_params();
    p.content_mask = &black;
    expect_refused(&p, 1, "the content mask is black everywhere");
    /* One white pixel in the last column of an odd width: the first pooling drops that
     * column, so nothing of the mask reaches relu2_1. */
    cls_image speck = constant_mask(0.0f, H, W + 1);
    for (int c = 0; c < 3; c++)
        speck.pixels[3 * (W + 1) * 10 + 3 * W + c] = 255.0f;
    cls_image wide = constant_mask(128.0f, H, W + 1);
    cls_image speck_content;
    cls_image_alloc(&speck_content, W + 1, H);
    memcpy(speck_content.pixels, wide.pixels, sizeof(float) * 3 * H * (W + 1));
    p = base_params();
    p.init = CLS_INIT_CONTENT;
    p.style_masks = &speck;
    p.style_mask_count = 1;
    cls_image out = {0};
    CHECK_STATUS(cls_transfer_run(dev, model, &speck_content, &style, 1, NULL, &p, &out, NULL),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "style mask 1 selects too few pixels");
    CHECK(out.pixels == NULL);
    cls_image_free(&speck);
    cls_image_free(&wide);
    cls_image_free(&speck_content);
    cls_image_free(&black);
    cls_image_free(&white);
}

int main(int argc, char **argv)
{
    const int failed = dev_open_with_model(argc, argv, &model);
    if (failed)
        return failed;
    golden_open(&inputs, "gatys_inputs.gold");
    golden_open(&masks, "gatys_masks.gold");
    content = golden_image(&inputs, "content", W, H);
    style = golden_image(&inputs, "style", 56, 40);
    shifted = golden_image(&inputs, "shifted", W, H);
    mirrored = golden_image(&masks, "mirrored", W, H);
    RUN_CASE(two_styles_and_a_content_mask);
    if (!check_quick()) { /* the same code paths as the case above */
        RUN_CASE(one_style_with_a_mask);
        RUN_CASE(white_masks_change_nothing);
    }
    RUN_CASE(hostile_masks);
    cls_image_free(&content);
    cls_image_free(&style);
    cls_image_free(&shifted);
    cls_image_free(&mirrored);
    CHECK(golden_close(&inputs));
    CHECK(golden_close(&masks));
    cls_model_destroy(model);
    dev_close();
    return check_report();
}
