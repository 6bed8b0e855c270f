/* ReLU and the vector helpers (fill, scale, axpy, axpy_clamp, add_channel_values) on the
 * device against the reference, and mask_planes. Vectors are followed by a guard band of sentinels
 * that no op may touch. */
#include "check.h"
#include "device_util.h"
#include "ops/act.h"
#include "ops/elementwise.h"
#include "reference/ref_ops.h"

enum { GUARD = 5 };
static const float sentinel = 42.5f;

/* Element counts of tensors with the awkward shapes: 1, 7x1, 13x33, 3x64x17, 130x5x11,
 * 4x64x64, 2x64x33x7. */
static const size_t counts[] = {
    1, 7, 13 * 33, 3 * 64 * 17, 130 * 5 * 11, 4 * 64 * 64, 2 * 64 * 33 * 7};

/* n random values and the guard band. */
static float *guarded_random(ref_rng *rng, size_t n)
{
    float *x = host_random(rng, n + GUARD, -1.0f, 1.0f);
    for (size_t i = n; i < n + GUARD; i++)
        x[i] = sentinel;
    return x;
}

static void relu_forward_case(size_t n, const float *x, cl_mem d_x)
{
    float *want = host_zeros(n);
    ref_relu_forward(n, x, want);
    cl_mem out = dev_poisoned(n), in_place = dev_upload(x, n);
    CHECK_STATUS(cls_relu_forward(dev, n, d_x, out), CLS_OK);
    CHECK(dev_expect_close(out, want, n, TOL_ELEMENTWISE, "relu_forward n=%zu", n));
    CHECK_STATUS(cls_relu_forward(dev, n, in_place, in_place), CLS_OK);
    CHECK(dev_expect_close(in_place, want, n, TOL_ELEMENTWISE, "relu_forward in place n=%zu", n));
}

/* The mask is the forward output or the pre-activation: the same gradient. */
static void relu_backward_case(size_t n, const float *x, cl_mem d_x, ref_rng *rng)
{
    const float *grad_out = host_random(rng, n, -1.0f, 1.0f);
    float *want = host_zeros(n);
    ref_relu_backward(n, grad_out, x, want);
    cl_mem d_grad_out = dev_upload(grad_out, n), y = dev_poisoned(n), grad_in = dev_poisoned(n);
    CHECK_STATUS(cls_relu_forward(dev, n, d_x, y), CLS_OK);
    CHECK_STATUS(cls_relu_backward(dev, n, d_grad_out, y, grad_in), CLS_OK);
    CHECK(
        dev_expect_close(grad_in, want, n, TOL_ELEMENTWISE, "relu_backward mask=output n=%zu", n));
    CHECK_STATUS(cls_relu_backward(dev, n, d_grad_out, d_x, grad_in), CLS_OK);
    CHECK(dev_expect_close(grad_in, want, n, TOL_ELEMENTWISE,
                           "relu_backward mask=pre-activation n=%zu", n));
    CHECK_STATUS(cls_relu_backward(dev, n, d_grad_out, d_x, d_grad_out), CLS_OK);
    CHECK(
        dev_expect_close(d_grad_out, want, n, TOL_ELEMENTWISE, "relu_backward in place n=%zu", n));
}

/* Inputs from 9 levels in [-1, 1]: exact zeros are common, and must count as inactive. */
static void relu(void)
{
    ref_rng rng = ref_rng_make(301);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        const size_t n = counts[i];
        const float *x = host_levels(&rng, n, 9, -1.0f, 1.0f);
        cl_mem d_x = dev_upload(x, n);
        relu_forward_case(n, x, d_x);
        relu_backward_case(n, x, d_x, &rng);
    }
}

static void fill_scale_case(size_t n, ref_rng *rng)
{
    float *want = guarded_random(rng, n);
    cl_mem x = dev_upload(want, n + GUARD);
    CHECK_STATUS(cls_fill(dev, n, 0.375f, x), CLS_OK);
    ref_fill(n, 0.375f, want);
    CHECK(dev_expect_close(x, want, n + GUARD, TOL_ELEMENTWISE, "fill n=%zu", n));
    CHECK_STATUS(cls_scale(dev, n, -1.75f, x), CLS_OK);
    ref_scale(n, -1.75f, want);
    CHECK(dev_expect_close(x, want, n + GUARD, TOL_ELEMENTWISE, "scale n=%zu", n));
}

static void axpy_case(size_t n, ref_rng *rng)
{
    const float *x = guarded_random(rng, n);
    float *want = guarded_random(rng, n), *want_clamped = host_copy(want, n + GUARD);
    cl_mem d_x = dev_upload(x, n + GUARD), y = dev_upload(want, n + GUARD);
    cl_mem y_clamped = dev_upload(want, n + GUARD);
    CHECK_STATUS(cls_axpy(dev, n, 0.3f, d_x, y), CLS_OK);
    ref_axpy(n, 0.3f, x, want);
    CHECK(dev_expect_close(y, want, n + GUARD, TOL_ELEMENTWISE, "axpy n=%zu", n));
    CHECK_STATUS(cls_axpy_clamp(dev, n, 2.5f, d_x, -0.5f, 0.75f, y_clamped), CLS_OK);
    ref_axpy_clamp(n, 2.5f, x, -0.5f, 0.75f, want_clamped);
    CHECK(dev_expect_close(y_clamped, want_clamped, n + GUARD, TOL_ELEMENTWISE, "axpy_clamp n=%zu",
                           n));
}

static void vector_helpers(void)
{
    ref_rng rng = ref_rng_make(302);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        fill_scale_case(counts[i], &rng);
        axpy_case(counts[i], &rng);
    }
}

/* Count 0 is an empty vector: nothing happens and nothing fails. */
static void empty_vectors(void)
{
    ref_rng rng = ref_rng_make(303);
    const float *x = guarded_random(&rng, 0);
    cl_mem a = dev_upload(x, GUARD), b = dev_upload(x, GUARD);
    CHECK_STATUS(cls_fill(dev, 0, 1.0f, a), CLS_OK);
    CHECK_STATUS(cls_scale(dev, 0, 2.0f, a), CLS_OK);
    CHECK_STATUS(cls_axpy(dev, 0, 2.0f, b, a), CLS_OK);
    CHECK_STATUS(cls_axpy_clamp(dev, 0, 2.0f, b, 0.0f, 1.0f, a), CLS_OK);
    CHECK_STATUS(cls_relu_forward(dev, 0, b, a), CLS_OK);
    CHECK_STATUS(cls_relu_backward(dev, 0, b, b, a), CLS_OK);
    CHECK(dev_expect_close(a, x, GUARD, 0.0, "empty vectors leave memory alone"));
}

/* N x C x H x W with C <= 4, and a guard band after the tensor. */
static const cls_shape channel_cases[] = {
    {1, 1, 1, 1}, {2, 3, 7, 13}, {1, 4, 64, 17}, {2, 3, 33, 64}, {1, 3, 5, 11}, {2, 4, 2, 3},
};

static void add_channel_values(void)
{
    static const float values[4] = {-123.68f, -116.779f, -103.939f, 7.25f};
    ref_rng rng = ref_rng_make(304);
    for (size_t i = 0; i < sizeof channel_cases / sizeof channel_cases[0]; i++) {
        const cls_shape s = channel_cases[i];
        const size_t n = cls_shape_count(s);
        float *want = guarded_random(&rng, n);
        cl_mem x = dev_upload(want, n + GUARD);
        CHECK_STATUS(cls_add_channel_values(dev, s, values, x), CLS_OK);
        ref_add_channel_mean(s.n, s.c, s.h, s.w, values, want);
        CHECK(dev_expect_close(x, want, n + GUARD, TOL_ELEMENTWISE, "add_channel_values %s",
                               shape_str(s)));
    }
}

/* Per-pixel masks over every channel plane, written and accumulated, and in place. */
static void mask_planes(void)
{
    static const cls_shape cases[] = {
        {1, 1, 1, 1}, {1, 64, 13, 17}, {2, 3, 33, 64}, {1, 512, 3, 5}};
    ref_rng rng = ref_rng_make(305);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cls_shape s = cases[i];
        const size_t n = cls_shape_count(s), plane = (size_t)s.h * s.w;
        float *x = host_random(&rng, n, -2.0f, 2.0f);
        float *mask = host_random(&rng, plane, 0.0f, 1.0f);
        float *want = guarded_random(&rng, n);
        cl_mem d_x = dev_upload(x, n), d_mask = dev_upload(mask, plane);
        cl_mem out = dev_upload(want, n + GUARD);
        for (int accumulate = 1; accumulate >= 0; accumulate--) {
            CHECK_STATUS(cls_mask_planes(dev, s, d_x, d_mask, accumulate, out), CLS_OK);
            ref_mask_planes(s.n, s.c, s.h, s.w, x, mask, accumulate, want);
            CHECK(dev_expect_close(out, want, n + GUARD, TOL_ELEMENTWISE, "mask_planes %s%s",
                                   shape_str(s), accumulate ? " accumulate" : ""));
        }
        CHECK_STATUS(cls_mask_planes(dev, s, d_x, d_mask, false, d_x), CLS_OK); /* in place */
        CHECK(dev_expect_close(d_x, want, n, TOL_ELEMENTWISE, "mask_planes %s in place",
                               shape_str(s)));
    }
}

static void shape_errors(void)
{
    static const cls_shape too_many_channels[] = {{1, 5, 2, 2}, {1, 64, 2, 2}};
    static const float values[4] = {1, 2, 3, 4};
    cl_mem x = dev_poisoned(256);
    for (size_t i = 0; i <= bad_shape_count; i++) {
        const cls_shape s = i < bad_shape_count ? bad_shapes[i] : oversized_shape;
        CHECK_STATUS(cls_add_channel_values(dev, s, values, x), CLS_ERR_SHAPE);
    }
    for (size_t i = 0; i < 2; i++)
        CHECK_STATUS(cls_add_channel_values(dev, too_many_channels[i], values, x), CLS_ERR_SHAPE);
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(relu);
    RUN_CASE(vector_helpers);
    RUN_CASE(empty_vectors);
    RUN_CASE(add_channel_values);
    RUN_CASE(mask_planes);
    RUN_CASE(shape_errors);
    dev_close();
    return check_report();
}
