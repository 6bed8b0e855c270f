/* The losses on the device against the reference: content MSE, style squared error (both
 * read patterns of the squared differences: contiguous blocks and grid stride) and
 * total variation (absolute and squared). Each case checks the value in the result buffer
 * at a non-zero index (its neighbours untouched), the gradient added with weight != 1 to a
 * buffer that already holds values, the value with no gradient buffer, and that a second
 * run gives the same bits. Then the PyTorch goldens and bad sizes. */
#include "check.h"
#include "device_util.h"
#include "ops/loss.h"
#include "reference/ref_ops.h"

#include <math.h>

#define TOL_LOSS TOL_ELEMENTWISE

static const float weight = 0.7f;

/* The result buffer: sentinels, with the loss written at result_index. */
enum { RESULT_SLOTS = 5, RESULT_INDEX = 3, RESULT_INDEX_NO_GRAD = 1 };
static const float sentinel = -1234.5f;

typedef enum loss_kind { CONTENT, STYLE, TV_ABS, TV_SQUARED } loss_kind;

static const char *const kind_name[] = {"content_mse", "style_sqerr", "tv_abs", "tv_squared"};

/* One loss on one input. For STYLE the shape is N x C x C x 1: N Gram matrices. */
typedef struct loss_case {
    loss_kind kind;
    cls_shape s;
    size_t n;
    const float *x, *target;
    cl_mem d_x, d_target;
} loss_case;

static loss_case loss_case_make(loss_kind kind, cls_shape s, ref_rng *rng)
{
    loss_case c = {.kind = kind, .s = s, .n = cls_shape_count(s)};
    /* Quantised inputs for the absolute TV: equal neighbours (sign(0) = 0) are common. */
    c.x =
        kind == TV_ABS ? host_levels(rng, c.n, 5, 0.0f, 1.0f) : host_random(rng, c.n, -1.0f, 1.0f);
    c.target = host_random(rng, c.n, -1.0f, 1.0f);
    c.d_x = dev_upload(c.x, c.n);
    c.d_target = dev_upload(c.target, c.n);
    return c;
}

static cls_status device_loss(const loss_case *c, cl_mem grad, cl_mem result, int index)
{
    switch (c->kind) {
    case CONTENT:
        return cls_loss_content_mse(dev, c->n, c->d_x, c->d_target, weight, grad, result, index);
    case STYLE:
        return cls_loss_style_sqerr(dev, c->n, c->d_x, c->d_target, weight, grad, result, index);
    case TV_ABS: return cls_loss_tv(dev, CLS_TV_ABS, c->s, c->d_x, weight, grad, result, index);
    case TV_SQUARED:
        return cls_loss_tv(dev, CLS_TV_SQUARED, c->s, c->d_x, weight, grad, result, index);
    }
    return CLS_ERR_INVALID_ARGUMENT;
}

/* The unweighted value; adds weight x the gradient to grad. */
static double ref_loss(const loss_case *c, float *grad)
{
    const cls_shape s = c->s;
    switch (c->kind) {
    case CONTENT: return ref_content_loss(c->n, c->x, c->target, weight, grad);
    case STYLE: return ref_style_loss(s.n, s.c, c->x, c->target, weight, grad);
    case TV_ABS: return ref_tv_l1(s.n, s.c, s.h, s.w, c->x, weight, grad);
    case TV_SQUARED: return ref_tv_sq(s.n, s.c, s.h, s.w, c->x, weight, grad);
    }
    return NAN;
}

static bool expect_value(float got, double want, const char *what, const loss_case *c)
{
    const float want_f = (float)want;
    return expect_close(&got, &want_f, 1, TOL_LOSS, "%s %s %s", kind_name[c->kind], what,
                        shape_str(c->s));
}

/* Every slot but index still holds the sentinel. */
static bool others_untouched(const float *result, int index)
{
    for (int i = 0; i < RESULT_SLOTS; i++)
        if (i != index && !(result[i] == sentinel))
            return false;
    return true;
}

typedef struct loss_run {
    float *result, *grad;
} loss_run;

/* Runs the device loss on a copy of prior and a fresh result buffer. */
static loss_run run_device(const loss_case *c, const float *prior)
{
    float sentinels[RESULT_SLOTS];
    for (int i = 0; i < RESULT_SLOTS; i++)
        sentinels[i] = sentinel;
    cl_mem result = dev_upload(sentinels, RESULT_SLOTS), grad = dev_upload(prior, c->n);
    CHECK_STATUS(device_loss(c, grad, result, RESULT_INDEX), CLS_OK);
    return (loss_run){dev_download(result, RESULT_SLOTS), dev_download(grad, c->n)};
}

static void check_loss(const loss_case *c, ref_rng *rng)
{
    float *added = host_zeros(c->n);
    const double value = ref_loss(c, added);
    const float *prior = host_random_like(rng, added, c->n);
    float *want = host_copy(prior, c->n);
    ref_loss(c, want);

    const loss_run run = run_device(c, prior);
    CHECK(expect_value(run.result[RESULT_INDEX], value, "value", c));
    CHECK(others_untouched(run.result, RESULT_INDEX));
    CHECK(expect_close(run.grad, want, c->n, TOL_LOSS, "%s gradient %s", kind_name[c->kind],
                       shape_str(c->s)));

    cl_mem result = dev_upload(run.result, RESULT_SLOTS);
    CHECK_STATUS(device_loss(c, NULL, result, RESULT_INDEX_NO_GRAD), CLS_OK);
    CHECK(expect_value(dev_read_one(result, RESULT_INDEX_NO_GRAD), value, "value, no gradient", c));

    const loss_run again = run_device(c, prior);
    CHECK(same_bits(again.result, run.result, RESULT_SLOTS));
    CHECK(same_bits(again.grad, run.grad, c->n));
}

/* Every H and W in {1, 2, 3, 7, 13, 33, 64}, every C in {1, 3, 4, 64, 130}, the non-square
 * 5x11 and 64x17, N = 2, and sizes beyond one pass of the reduction's work-items. */
static const cls_shape shapes[] = {
    {1, 1, 1, 1},     {1, 3, 1, 64}, {1, 3, 64, 1},  {2, 3, 7, 13},  {1, 4, 5, 11}, {1, 3, 64, 17},
    {1, 130, 13, 13}, {1, 1, 33, 2}, {1, 4, 64, 64}, {2, 64, 3, 33}, {1, 3, 2, 7},  {1, 1, 13, 3},
};

/* N Gram matrices of C x C. */
static const cls_shape grams[] = {
    {1, 1, 1, 1}, {2, 3, 3, 1}, {1, 4, 4, 1}, {1, 64, 64, 1}, {1, 130, 130, 1}, {2, 64, 64, 1},
};

static void content_mse(void)
{
    ref_rng rng = ref_rng_make(501);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        loss_case c = loss_case_make(CONTENT, shapes[i], &rng);
        check_loss(&c, &rng);
    }
}

static void style_sqerr(void)
{
    ref_rng rng = ref_rng_make(502);
    for (size_t i = 0; i < sizeof grams / sizeof grams[0]; i++) {
        loss_case c = loss_case_make(STYLE, grams[i], &rng);
        check_loss(&c, &rng);
    }
}

/* The squared-difference losses through both read patterns: contiguous blocks (CPUs) and the
 * work-groups' grid stride (GPUs). */
static void sqdiff_both_patterns(void)
{
    const cls_tunables saved = dev->tunables;
    for (int blocked = 1; blocked >= 0; blocked--) {
        dev->tunables.reduce_blocked = blocked;
        printf("  %s\n", blocked ? "contiguous blocks" : "grid stride");
        content_mse();
        style_sqerr();
    }
    dev->tunables = saved;
}

static void total_variation(void)
{
    ref_rng rng = ref_rng_make(503);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        loss_case abs = loss_case_make(TV_ABS, shapes[i], &rng);
        check_loss(&abs, &rng);
        loss_case sq = loss_case_make(TV_SQUARED, shapes[i], &rng);
        check_loss(&sq, &rng);
    }
}

/* The golden's unweighted value and gradient (weight 1, into zeros). */
static void golden_loss(golden_file *g, const loss_case *c, const char *value_name,
                        const char *grad_name)
{
    const float want_value = golden_tensor(g, value_name, 1)[0];
    cl_mem grad = dev_upload(host_zeros(c->n), c->n), result = dev_poisoned(1);
    cls_status status = CLS_ERR_INVALID_ARGUMENT;
    if (c->kind == CONTENT)
        status = cls_loss_content_mse(dev, c->n, c->d_x, c->d_target, 1.0f, grad, result, 0);
    else
        status = cls_loss_tv(dev, c->kind == TV_ABS ? CLS_TV_ABS : CLS_TV_SQUARED, c->s, c->d_x,
                             1.0f, grad, result, 0);
    CHECK_STATUS(status, CLS_OK);
    CHECK(dev_expect_close(result, &want_value, 1, TOL_CONV, "golden %s", value_name));
    CHECK(dev_expect_close(grad, golden_tensor(g, grad_name, c->n), c->n, TOL_CONV, "golden %s",
                           grad_name));
}

/* tests/data/golden/losses.gold: content MSE on 2x4x6x7, both TVs on 2x3x9x11 quantised. */
static void golden(void)
{
    golden_file g;
    golden_open(&g, "losses.gold");
    loss_case content = {.kind = CONTENT, .s = {2, 4, 6, 7}, .n = 2 * 4 * 6 * 7};
    content.d_x = dev_upload(golden_tensor(&g, "content_features", content.n), content.n);
    content.d_target = dev_upload(golden_tensor(&g, "content_target", content.n), content.n);
    golden_loss(&g, &content, "content_loss", "content_grad");

    loss_case tv = {.kind = TV_ABS, .s = {2, 3, 9, 11}, .n = 2 * 3 * 9 * 11};
    tv.d_x = dev_upload(golden_tensor(&g, "tv_input", tv.n), tv.n);
    golden_loss(&g, &tv, "tv_l1", "tv_l1_grad");
    tv.kind = TV_SQUARED;
    golden_loss(&g, &tv, "tv_sq", "tv_sq_grad");
    CHECK(golden_close(&g));
}

static void size_errors(void)
{
    cl_mem a = dev_poisoned(256), b = dev_poisoned(256), r = dev_poisoned(4);
    for (size_t i = 0; i <= bad_shape_count; i++) {
        const cls_shape s = i < bad_shape_count ? bad_shapes[i] : oversized_shape;
        for (int kind = CLS_TV_ABS; kind <= CLS_TV_SQUARED; kind++) {
            CHECK_STATUS(cls_loss_tv(dev, kind, s, a, 1.0f, b, r, 0), CLS_ERR_SHAPE);
            CHECK_STATUS(cls_loss_tv(dev, kind, s, a, 1.0f, NULL, r, 0), CLS_ERR_SHAPE);
        }
    }
    CHECK_STATUS(cls_loss_content_mse(dev, 0, a, b, 1.0f, NULL, r, 0), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_loss_style_sqerr(dev, 0, a, b, 1.0f, NULL, r, 0), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_loss_sqdiff(dev, 0, a, b, 1.0f, 1.0f, NULL, r, 0), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_loss_content_mse(dev, (size_t)1 << 33, a, b, 1.0f, NULL, r, 0), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_loss_content_mse(dev, 16, a, b, 1.0f, NULL, r, -1), CLS_ERR_INVALID_ARGUMENT);
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(sqdiff_both_patterns);
    RUN_CASE(total_variation);
    RUN_CASE(golden);
    RUN_CASE(size_errors);
    dev_close();
    return check_report();
}
