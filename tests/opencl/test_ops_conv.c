/* 3x3 convolution on the device against the reference: the forward pass with and without
 * bias and fused ReLU, the weight flip, the gradient with respect to the input, the
 * PyTorch golden, and bad shapes. */
#include "check.h"
#include "device_util.h"
#include "ops/act.h"
#include "ops/conv.h"
#include "reference/ref_ops.h"

typedef struct conv_case {
    int n, cin, h, w, cout;
} conv_case;

/* Every H and W in {1, 2, 3, 7, 13, 33, 64}, every C in {1, 3, 4, 64, 130}, the non-square
 * 5x11 and 64x17, N = 2, and 130 -> 13: channel counts off the kernel's 8-channel tile and
 * widths off its 8-column tile. */
static const conv_case cases[] = {
    {1, 1, 1, 1, 1},     {1, 3, 2, 3, 4},   {2, 3, 7, 13, 8},     {1, 3, 64, 17, 8},
    {1, 4, 5, 11, 64},   {1, 64, 13, 7, 4}, {1, 130, 13, 13, 13}, {1, 1, 33, 64, 3},
    {1, 4, 64, 33, 130}, {2, 13, 3, 2, 3},  {1, 3, 1, 64, 4},     {1, 3, 64, 1, 4},
};

/* One case's random input, weights and bias, on the host and on the device. */
typedef struct conv_data {
    conv_case k;
    cls_shape in;
    size_t n_in, n_out, n_weight;
    float *x, *weight, *bias;
    cl_mem d_x, d_weight, d_bias;
    char label[64];
} conv_data;

static conv_data conv_data_make(conv_case k, ref_rng *rng)
{
    conv_data d = {.k = k, .in = {k.n, k.cin, k.h, k.w}};
    d.n_in = cls_shape_count(d.in);
    d.n_out = (size_t)k.n * k.cout * k.h * k.w;
    d.n_weight = (size_t)k.cout * k.cin * 9;
    d.x = host_random(rng, d.n_in, -1.0f, 1.0f);
    d.weight = host_random(rng, d.n_weight, -0.5f, 0.5f);
    d.bias = host_random(rng, (size_t)k.cout, -0.5f, 0.5f);
    d.d_x = dev_upload(d.x, d.n_in);
    d.d_weight = dev_upload(d.weight, d.n_weight);
    d.d_bias = dev_upload(d.bias, (size_t)k.cout);
    snprintf(d.label, sizeof d.label, "n=%d %dx%d c=%d->%d", k.n, k.h, k.w, k.cin, k.cout);
    return d;
}

static void forward_variant(const conv_data *d, bool bias, bool relu)
{
    const conv_case k = d->k;
    float *want = host_zeros(d->n_out);
    ref_conv3x3_forward(k.n, k.cin, k.h, k.w, k.cout, d->x, d->weight, bias ? d->bias : NULL, relu,
                        want);
    cl_mem out = dev_poisoned(d->n_out);
    CHECK_STATUS(cls_conv3x3_forward(dev, d->in, k.cout, d->d_x, d->d_weight,
                                     bias ? d->d_bias : NULL, relu, out),
                 CLS_OK);
    CHECK(dev_expect_close(out, want, d->n_out, TOL_CONV, "conv3x3_forward %s%s%s", d->label,
                           bias ? " bias" : "", relu ? " relu" : ""));
}

static void forward(void)
{
    ref_rng rng = ref_rng_make(101);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_data d = conv_data_make(cases[i], &rng);
        forward_variant(&d, false, false);
        forward_variant(&d, true, false);
        forward_variant(&d, false, true);
        forward_variant(&d, true, true);
    }
}

/* flipped[ci][co][8 - k] = weight[co][ci][k] */
static float *host_flip(const float *weight, int cin, int cout)
{
    float *flipped = host_zeros((size_t)cin * cout * 9);
    for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++)
            for (int k = 0; k < 9; k++)
                flipped[((size_t)ci * cout + co) * 9 + 8 - k] =
                    weight[((size_t)co * cin + ci) * 9 + k];
    return flipped;
}

static void backward_case(const conv_data *d, ref_rng *rng)
{
    const conv_case k = d->k;
    float *grad_out = host_random(rng, d->n_out, -1.0f, 1.0f);
    float *want = host_zeros(d->n_in);
    ref_conv3x3_backward_data(k.n, k.cin, k.h, k.w, k.cout, grad_out, d->weight, want);

    cl_mem flipped = dev_poisoned(d->n_weight), grad_in = dev_poisoned(d->n_in);
    CHECK_STATUS(cls_conv3x3_flip_weights(dev, k.cin, k.cout, d->d_weight, flipped), CLS_OK);
    CHECK(dev_expect_close(flipped, host_flip(d->weight, k.cin, k.cout), d->n_weight, 0.0,
                           "conv3x3_flip_weights c=%d->%d", k.cin, k.cout));
    CHECK_STATUS(cls_conv3x3_backward_data(dev, d->in, k.cout, dev_upload(grad_out, d->n_out),
                                           flipped, grad_in),
                 CLS_OK);
    CHECK(dev_expect_close(grad_in, want, d->n_in, TOL_CONV, "conv3x3_backward_data %s", d->label));
}

static void backward_data(void)
{
    ref_rng rng = ref_rng_make(102);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_data d = conv_data_make(cases[i], &rng);
        backward_case(&d, &rng);
    }
}

/* tests/data/golden/conv3x3.gold: conv 3 -> 8 with bias on 13x17, fused ReLU, and the
 * gradient to the input without and with the ReLU. */
static void golden(void)
{
    golden_file g;
    golden_open(&g, "conv3x3.gold");
    const cls_shape in = {1, 3, 13, 17};
    const int cout = 8;
    const size_t n_in = cls_shape_count(in), n_out = (size_t)cout * 13 * 17, n_w = cout * 3 * 9;
    cl_mem x = dev_upload(golden_tensor(&g, "input", n_in), n_in);
    cl_mem w = dev_upload(golden_tensor(&g, "weight", n_w), n_w);
    cl_mem b = dev_upload(golden_tensor(&g, "bias", cout), cout);
    cl_mem grad_out = dev_upload(golden_tensor(&g, "grad_out", n_out), n_out);
    cl_mem out = dev_poisoned(n_out), out_relu = dev_poisoned(n_out);
    cl_mem flipped = dev_poisoned(n_w), grad_in = dev_poisoned(n_in), masked = dev_poisoned(n_out);

    CHECK_STATUS(cls_conv3x3_forward(dev, in, cout, x, w, b, false, out), CLS_OK);
    CHECK(dev_expect_close(out, golden_tensor(&g, "conv_out", n_out), n_out, TOL_CONV,
                           "golden conv3x3_forward"));
    CHECK_STATUS(cls_conv3x3_forward(dev, in, cout, x, w, b, true, out_relu), CLS_OK);
    CHECK(dev_expect_close(out_relu, golden_tensor(&g, "relu_out", n_out), n_out, TOL_CONV,
                           "golden conv3x3_forward relu"));
    CHECK_STATUS(cls_conv3x3_flip_weights(dev, 3, cout, w, flipped), CLS_OK);
    CHECK_STATUS(cls_conv3x3_backward_data(dev, in, cout, grad_out, flipped, grad_in), CLS_OK);
    CHECK(dev_expect_close(grad_in, golden_tensor(&g, "grad_input", n_in), n_in, TOL_CONV,
                           "golden conv3x3_backward_data"));
    CHECK_STATUS(cls_relu_backward(dev, n_out, grad_out, out_relu, masked), CLS_OK);
    CHECK_STATUS(cls_conv3x3_backward_data(dev, in, cout, masked, flipped, grad_in), CLS_OK);
    CHECK(dev_expect_close(grad_in, golden_tensor(&g, "grad_input_relu", n_in), n_in, TOL_CONV,
                           "golden relu_backward + conv3x3_backward_data"));
    CHECK(golden_close(&g));
}

static void shape_errors(void)
{
    cl_mem a = dev_poisoned(1024), b = dev_poisoned(1024), c = dev_poisoned(1024);
    for (size_t i = 0; i < bad_shape_count; i++) {
        const cls_shape s = bad_shapes[i];
        CHECK_STATUS(cls_conv3x3_forward(dev, s, 2, a, b, NULL, false, c), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_conv3x3_forward(dev, s, 2, a, b, c, true, c), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_conv3x3_backward_data(dev, s, 2, a, b, c), CLS_ERR_SHAPE);
    }
    CHECK_STATUS(cls_conv3x3_forward(dev, oversized_shape, 2, a, b, NULL, false, c), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_conv3x3_backward_data(dev, oversized_shape, 2, a, b, c), CLS_ERR_SHAPE);
    /* An input that fits but an output that does not. */
    const cls_shape wide = {1, 2, 65536, 16384};
    CHECK_STATUS(cls_conv3x3_forward(dev, wide, 4096, a, b, NULL, false, c), CLS_ERR_SHAPE);
    const cls_shape ok = {1, 2, 4, 4};
    for (int cout = -1; cout <= 0; cout++) {
        CHECK_STATUS(cls_conv3x3_forward(dev, ok, cout, a, b, NULL, false, c), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_conv3x3_backward_data(dev, ok, cout, a, b, c), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_conv3x3_flip_weights(dev, 2, cout, a, b), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_conv3x3_flip_weights(dev, cout, 2, a, b), CLS_ERR_SHAPE);
    }
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(forward);
    RUN_CASE(backward_data);
    RUN_CASE(golden);
    RUN_CASE(shape_errors);
    dev_close();
    return check_report();
}
