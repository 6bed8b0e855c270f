/* 2x2 max and average pooling on the device against the reference, forward and backward:
 * random cases full of ties, hand-made windows for the tie-breaking rule, the PyTorch
 * golden, and inputs too small to pool. */
#include "check.h"
#include "device_util.h"
#include "ops/pool.h"
#include "reference/ref_ops.h"

/* Every H and W in {2, 3, 7, 13, 33, 64}, every C in {1, 3, 4, 64, 130}, odd sizes (the
 * last row or column is dropped), the non-square 5x11 and 64x17, and N = 2. */
static const cls_shape cases[] = {
    {1, 1, 2, 2},    {1, 3, 3, 3},   {2, 4, 7, 13},  {1, 64, 13, 7},
    {1, 130, 5, 11}, {1, 3, 64, 17}, {1, 1, 33, 64}, {1, 4, 64, 33},
};

static size_t pooled_count(cls_shape s)
{
    return (size_t)s.n * s.c * (s.h / 2) * (s.w / 2);
}

static void max_pool_case(cls_shape s, const float *x, cl_mem d_x, const float *grad_out)
{
    const size_t n_in = cls_shape_count(s), n_out = pooled_count(s);
    float *want = host_zeros(n_out), *want_grad = host_zeros(n_in);
    ref_maxpool2x2_forward(s.n, s.c, s.h, s.w, x, want);
    ref_maxpool2x2_backward(s.n, s.c, s.h, s.w, x, grad_out, want_grad);

    cl_mem out = dev_poisoned(n_out), grad_in = dev_poisoned(n_in);
    CHECK_STATUS(cls_pool_forward(dev, CLS_POOL_MAX, s, d_x, out), CLS_OK);
    CHECK(dev_expect_close(out, want, n_out, TOL_ELEMENTWISE, "maxpool_forward %s", shape_str(s)));
    CHECK_STATUS(cls_pool_backward(dev, CLS_POOL_MAX, s, d_x, dev_upload(grad_out, n_out), grad_in),
                 CLS_OK);
    CHECK(dev_expect_close(grad_in, want_grad, n_in, TOL_ELEMENTWISE, "maxpool_backward %s",
                           shape_str(s)));
}

static void avg_pool_case(cls_shape s, const float *x, cl_mem d_x, const float *grad_out)
{
    const size_t n_in = cls_shape_count(s), n_out = pooled_count(s);
    float *want = host_zeros(n_out), *want_grad = host_zeros(n_in);
    ref_avgpool2x2_forward(s.n, s.c, s.h, s.w, x, want);
    ref_avgpool2x2_backward(s.n, s.c, s.h, s.w, grad_out, want_grad);

    cl_mem out = dev_poisoned(n_out), grad_in = dev_poisoned(n_in);
    CHECK_STATUS(cls_pool_forward(dev, CLS_POOL_AVG, s, d_x, out), CLS_OK);
    CHECK(dev_expect_close(out, want, n_out, TOL_ELEMENTWISE, "avgpool_forward %s", shape_str(s)));
    CHECK_STATUS(cls_pool_backward(dev, CLS_POOL_AVG, s, d_x, dev_upload(grad_out, n_out), grad_in),
                 CLS_OK);
    CHECK(dev_expect_close(grad_in, want_grad, n_in, TOL_ELEMENTWISE, "avgpool_backward %s",
                           shape_str(s)));
}

/* Inputs from the 4 levels -1.5, -0.5, 0.5 and 1.5, so that most windows hold tied maxima
 * and window sums are exact (an average of exactly 0 leaves no room for rounding). */
static void random_cases(void)
{
    ref_rng rng = ref_rng_make(201);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cls_shape s = cases[i];
        cls_shape out;
        CHECK_STATUS(cls_pool_output_shape(s, &out), CLS_OK);
        CHECK(out.n == s.n && out.c == s.c && out.h == s.h / 2 && out.w == s.w / 2);
        const float *x = host_levels(&rng, cls_shape_count(s), 4, -1.5f, 1.5f);
        const float *grad_out = host_random(&rng, pooled_count(s), -1.0f, 1.0f);
        cl_mem d_x = dev_upload(x, cls_shape_count(s));
        max_pool_case(s, x, d_x, grad_out);
        avg_pool_case(s, x, d_x, grad_out);
    }
}

/* Four windows whose first maximum in scan order is at (0,0), (0,1), (1,0) and (1,1) in
 * turn, with positive maxima in channel 0 and negative ones in channel 1. */
static void tie_breaking(void)
{
    const cls_shape s = {1, 2, 2, 8};
    const float x[32] = {
        1,  1,  0,  1,  0,  0,  0,  0,  /* channel 0, row 0 */
        1,  1,  1,  1,  1,  1,  0,  1,  /* channel 0, row 1 */
        -1, -1, -2, -1, -2, -2, -2, -2, /* channel 1, row 0: channel 0 minus 2 */
        -1, -1, -1, -1, -1, -1, -2, -1, /* channel 1, row 1 */
    };
    const float grad_out[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    /* Each window's gradient lands on its first maximum. */
    const float want[32] = {
        1, 0, 0, 2, 0, 0, 0, 0, /* channel 0, row 0 */
        0, 0, 0, 0, 3, 0, 0, 4, /* channel 0, row 1 */
        5, 0, 0, 6, 0, 0, 0, 0, /* channel 1, row 0 */
        0, 0, 0, 0, 7, 0, 0, 8, /* channel 1, row 1 */
    };
    float ref[32];
    ref_maxpool2x2_backward(s.n, s.c, s.h, s.w, x, grad_out, ref);
    CHECK(expect_close(ref, want, 32, 0.0, "reference maxpool_backward ties"));
    cl_mem grad_in = dev_poisoned(32);
    CHECK_STATUS(cls_pool_backward(dev, CLS_POOL_MAX, s, dev_upload(x, 32), dev_upload(grad_out, 8),
                                   grad_in),
                 CLS_OK);
    CHECK(dev_expect_close(grad_in, want, 32, 0.0, "maxpool_backward ties in scan order"));
}

/* tests/data/golden/pool2x2.gold: 2x5x7x9 from 4 levels, both kinds, both directions. */
static void golden(void)
{
    golden_file g;
    golden_open(&g, "pool2x2.gold");
    const cls_shape s = {2, 5, 7, 9};
    const size_t n_in = cls_shape_count(s), n_out = pooled_count(s);
    cl_mem x = dev_upload(golden_tensor(&g, "input", n_in), n_in);
    cl_mem out = dev_poisoned(n_out), grad_in = dev_poisoned(n_in);
    const char *grad_out_name[2] = {"max_grad_out", "avg_grad_out"};
    const char *out_name[2] = {"max_out", "avg_out"};
    const char *grad_in_name[2] = {"max_grad_input", "avg_grad_input"};
    for (int kind = CLS_POOL_MAX; kind <= CLS_POOL_AVG; kind++) {
        cl_mem grad_out = dev_upload(golden_tensor(&g, grad_out_name[kind], n_out), n_out);
        CHECK_STATUS(cls_pool_forward(dev, kind, s, x, out), CLS_OK);
        CHECK(dev_expect_close(out, golden_tensor(&g, out_name[kind], n_out), n_out, TOL_CONV,
                               "golden %s", out_name[kind]));
        CHECK_STATUS(cls_pool_backward(dev, kind, s, x, grad_out, grad_in), CLS_OK);
        CHECK(dev_expect_close(grad_in, golden_tensor(&g, grad_in_name[kind], n_in), n_in, TOL_CONV,
                               "golden %s", grad_in_name[kind]));
    }
    CHECK(golden_close(&g));
}

static void expect_shape_error(cls_shape s, cl_mem a, cl_mem b, cl_mem c)
{
    cls_shape out = {-7, -7, -7, -7};
    CHECK_STATUS(cls_pool_output_shape(s, &out), CLS_ERR_SHAPE);
    for (int kind = CLS_POOL_MAX; kind <= CLS_POOL_AVG; kind++) {
        CHECK_STATUS(cls_pool_forward(dev, kind, s, a, b), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_pool_backward(dev, kind, s, a, b, c), CLS_ERR_SHAPE);
    }
}

static void shape_errors(void)
{
    static const cls_shape too_small[] = {{1, 1, 1, 1}, {1, 3, 1, 8}, {2, 3, 8, 1}};
    cl_mem a = dev_poisoned(256), b = dev_poisoned(256), c = dev_poisoned(256);
    for (size_t i = 0; i < sizeof too_small / sizeof too_small[0]; i++)
        expect_shape_error(too_small[i], a, b, c);
    for (size_t i = 0; i < bad_shape_count; i++)
        expect_shape_error(bad_shapes[i], a, b, c);
    expect_shape_error(oversized_shape, a, b, c);
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(random_cases);
    RUN_CASE(tie_breaking);
    RUN_CASE(golden);
    RUN_CASE(shape_errors);
    dev_close();
    return check_report();
}
