/* A small network end to end: conv(3->4)+ReLU -> maxpool -> conv(4->6)+ReLU -> Gram ->
 * style loss against a target Gram, forward and then backward to the input image, with
 * device ops only. Checked stage by stage against the same chain in the reference, the
 * input gradient against central finite differences of the reference chain in double, a
 * second run for identical bits, and the PyTorch golden (whose chain has no second ReLU). */
#include "check.h"
#include "device_util.h"
#include "ops/act.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/gram.h"
#include "ops/loss.h"
#include "ops/pool.h"
#include "reference/ref_ops.h"

typedef struct chain {
    cls_shape in; /* N x C0 x H x W */
    int c1, c2;   /* channels after the first and the second conv */
    bool relu2;   /* a ReLU after the second conv */
    float style_weight;
    const float *w1, *b1, *w2, *b2, *target; /* target: N Gram matrices of C2 x C2 */
} chain;

/* What the chain computes on the way, in order; gradients are of style_weight x loss. */
typedef enum stage {
    RELU1,
    POOL1,
    CONV2, /* after the second ReLU when there is one */
    GRAM,
    GRAD_GRAM,
    GRAD_CONV2, /* before the second ReLU */
    GRAD_POOL1,
    GRAD_RELU1,
    GRAD_CONV1,
    GRAD_INPUT,
    STAGES
} stage;

/* As named in chain.gold. */
static const char *const stage_name[STAGES] = {
    "relu1_out",      "pool1_out",      "conv2_out",      "gram",           "grad_gram",
    "grad_conv2_out", "grad_pool1_out", "grad_relu1_out", "grad_conv1_out", "grad_input",
};

/* The unweighted loss and every stage. */
typedef struct trace {
    float loss;
    const float *at[STAGES];
} trace;

static cls_shape shape_a1(const chain *c)
{
    return (cls_shape){c->in.n, c->c1, c->in.h, c->in.w};
}

static cls_shape shape_a2(const chain *c, int channels)
{
    return (cls_shape){c->in.n, channels, c->in.h / 2, c->in.w / 2};
}

static size_t stage_count(const chain *c, stage s)
{
    switch (s) {
    case RELU1:
    case GRAD_RELU1:
    case GRAD_CONV1: return cls_shape_count(shape_a1(c));
    case POOL1:
    case GRAD_POOL1: return cls_shape_count(shape_a2(c, c->c1));
    case CONV2:
    case GRAD_CONV2: return cls_shape_count(shape_a2(c, c->c2));
    case GRAM:
    case GRAD_GRAM: return (size_t)c->in.n * c->c2 * c->c2;
    case GRAD_INPUT:
    case STAGES: break;
    }
    return cls_shape_count(c->in);
}

static double gram_norm(const chain *c)
{
    const cls_shape a2 = shape_a2(c, c->c2);
    return ref_gram_norm(a2.c, a2.h, a2.w);
}

/* ---------------------------------------------------------------------------------------
 * The chain on the device
 * ------------------------------------------------------------------------------------- */

typedef struct device_net {
    cl_mem w1, b1, w2, b2, flipped1, flipped2, target, result;
    cl_mem at[STAGES];
} device_net;

static device_net device_net_make(const chain *c)
{
    const size_t n_w1 = (size_t)c->c1 * c->in.c * 9, n_w2 = (size_t)c->c2 * c->c1 * 9;
    device_net d = {
        .w1 = dev_upload(c->w1, n_w1),
        .b1 = dev_upload(c->b1, (size_t)c->c1),
        .w2 = dev_upload(c->w2, n_w2),
        .b2 = dev_upload(c->b2, (size_t)c->c2),
        .flipped1 = dev_poisoned(n_w1),
        .flipped2 = dev_poisoned(n_w2),
        .target = dev_upload(c->target, stage_count(c, GRAM)),
        .result = dev_poisoned(1),
    };
    for (int s = 0; s < STAGES; s++)
        d.at[s] = dev_poisoned(stage_count(c, s));
    CHECK_STATUS(cls_conv3x3_flip_weights(dev, c->in.c, c->c1, d.w1, d.flipped1), CLS_OK);
    CHECK_STATUS(cls_conv3x3_flip_weights(dev, c->c1, c->c2, d.w2, d.flipped2), CLS_OK);
    return d;
}

static void device_forward(const chain *c, device_net *d, cl_mem x)
{
    const float scale = (float)(1.0 / gram_norm(c));
    CHECK_STATUS(cls_conv3x3_forward(dev, c->in, c->c1, x, d->w1, d->b1, true, d->at[RELU1]),
                 CLS_OK);
    CHECK_STATUS(cls_pool_forward(dev, CLS_POOL_MAX, shape_a1(c), d->at[RELU1], d->at[POOL1]),
                 CLS_OK);
    CHECK_STATUS(cls_conv3x3_forward(dev, shape_a2(c, c->c1), c->c2, d->at[POOL1], d->w2, d->b2,
                                     c->relu2, d->at[CONV2]),
                 CLS_OK);
    CHECK_STATUS(cls_gram_forward(dev, shape_a2(c, c->c2), d->at[CONV2], scale, d->at[GRAM]),
                 CLS_OK);
}

static void device_backward(const chain *c, device_net *d)
{
    const float scale = (float)(1.0 / gram_norm(c));
    const size_t n_gram = stage_count(c, GRAM), n_a1 = stage_count(c, RELU1);
    CHECK_STATUS(cls_fill(dev, n_gram, 0.0f, d->at[GRAD_GRAM]), CLS_OK);
    CHECK_STATUS(cls_loss_style_sqerr(dev, n_gram, d->at[GRAM], d->target, c->style_weight,
                                      d->at[GRAD_GRAM], d->result, 0),
                 CLS_OK);
    CHECK_STATUS(cls_gram_backward(dev, shape_a2(c, c->c2), d->at[CONV2], d->at[GRAD_GRAM], scale,
                                   false, d->at[GRAD_CONV2]),
                 CLS_OK);
    if (c->relu2)
        CHECK_STATUS(cls_relu_backward(dev, stage_count(c, CONV2), d->at[GRAD_CONV2], d->at[CONV2],
                                       d->at[GRAD_CONV2]),
                     CLS_OK);
    CHECK_STATUS(cls_conv3x3_backward_data(dev, shape_a2(c, c->c1), c->c2, d->at[GRAD_CONV2],
                                           d->flipped2, d->at[GRAD_POOL1]),
                 CLS_OK);
    CHECK_STATUS(cls_pool_backward(dev, CLS_POOL_MAX, shape_a1(c), d->at[RELU1], d->at[GRAD_POOL1],
                                   d->at[GRAD_RELU1]),
                 CLS_OK);
    CHECK_STATUS(cls_relu_backward(dev, n_a1, d->at[GRAD_RELU1], d->at[RELU1], d->at[GRAD_CONV1]),
                 CLS_OK);
    CHECK_STATUS(cls_conv3x3_backward_data(dev, c->in, c->c1, d->at[GRAD_CONV1], d->flipped1,
                                           d->at[GRAD_INPUT]),
                 CLS_OK);
}

static trace device_chain(const chain *c, const float *x)
{
    device_net d = device_net_make(c);
    device_forward(c, &d, dev_upload(x, cls_shape_count(c->in)));
    device_backward(c, &d);
    trace t = {.loss = dev_read_one(d.result, 0)};
    for (int s = 0; s < STAGES; s++)
        t.at[s] = dev_download(d.at[s], stage_count(c, s));
    return t;
}

/* ---------------------------------------------------------------------------------------
 * The chain in the reference, in double
 * ------------------------------------------------------------------------------------- */

typedef struct ref_net {
    const chain *c;
    double *w1, *b1, *w2, *b2, *target;
    double *at[STAGES];
} ref_net;

static ref_net ref_net_make(const chain *c)
{
    ref_net r = {
        .c = c,
        .w1 = host_f64(c->w1, (size_t)c->c1 * c->in.c * 9),
        .b1 = host_f64(c->b1, (size_t)c->c1),
        .w2 = host_f64(c->w2, (size_t)c->c2 * c->c1 * 9),
        .b2 = host_f64(c->b2, (size_t)c->c2),
        .target = host_f64(c->target, stage_count(c, GRAM)),
    };
    for (int s = 0; s < STAGES; s++)
        r.at[s] = host_zeros_f64(stage_count(c, s));
    return r;
}

/* The unweighted loss. */
static double ref_forward(ref_net *r, const double *x)
{
    const chain *c = r->c;
    const cls_shape in = c->in, a2 = shape_a2(c, c->c2);
    ref_conv3x3_forward_f64(in.n, in.c, in.h, in.w, c->c1, x, r->w1, r->b1, true, r->at[RELU1]);
    ref_maxpool2x2_forward_f64(in.n, c->c1, in.h, in.w, r->at[RELU1], r->at[POOL1]);
    ref_conv3x3_forward_f64(a2.n, c->c1, a2.h, a2.w, c->c2, r->at[POOL1], r->w2, r->b2, c->relu2,
                            r->at[CONV2]);
    ref_gram_forward_f64(a2.n, a2.c, a2.h, a2.w, r->at[CONV2], gram_norm(c), r->at[GRAM]);
    return ref_style_loss_f64(a2.n, a2.c, r->at[GRAM], r->target, c->style_weight, NULL);
}

static void ref_backward(ref_net *r)
{
    const chain *c = r->c;
    const cls_shape in = c->in, a2 = shape_a2(c, c->c2);
    double **at = r->at;
    for (size_t i = 0; i < stage_count(c, GRAM); i++)
        at[GRAD_GRAM][i] = 0.0;
    ref_style_loss_f64(a2.n, a2.c, at[GRAM], r->target, c->style_weight, at[GRAD_GRAM]);
    ref_gram_backward_f64(a2.n, a2.c, a2.h, a2.w, at[CONV2], at[GRAD_GRAM], gram_norm(c),
                          at[GRAD_CONV2]);
    if (c->relu2)
        ref_relu_backward_f64(stage_count(c, CONV2), at[GRAD_CONV2], at[CONV2], at[GRAD_CONV2]);
    ref_conv3x3_backward_data_f64(a2.n, c->c1, a2.h, a2.w, c->c2, at[GRAD_CONV2], r->w2,
                                  at[GRAD_POOL1]);
    ref_maxpool2x2_backward_f64(in.n, c->c1, in.h, in.w, at[RELU1], at[GRAD_POOL1], at[GRAD_RELU1]);
    ref_relu_backward_f64(stage_count(c, RELU1), at[GRAD_RELU1], at[RELU1], at[GRAD_CONV1]);
    ref_conv3x3_backward_data_f64(in.n, in.c, in.h, in.w, c->c1, at[GRAD_CONV1], r->w1,
                                  at[GRAD_INPUT]);
}

/* style_weight x loss, the function whose gradient both chains compute. */
static double ref_objective(const double *x, size_t n, void *user)
{
    ref_net *r = user;
    (void)n;
    return r->c->style_weight * ref_forward(r, x);
}

static trace ref_chain(ref_net *r, const double *x)
{
    trace t = {.loss = (float)ref_forward(r, x)};
    ref_backward(r);
    for (int s = 0; s < STAGES; s++)
        t.at[s] = host_f32(r->at[s], stage_count(r->c, s));
    return t;
}

/* ---------------------------------------------------------------------------------------
 * Cases
 * ------------------------------------------------------------------------------------- */

/* Random weights, and a target that is the Gram matrix of random features in [0, 1). */
static chain chain_random(cls_shape in, ref_rng *rng)
{
    chain c = {.in = in, .c1 = 4, .c2 = 6, .relu2 = true, .style_weight = 0.5f};
    const cls_shape a2 = shape_a2(&c, c.c2);
    c.w1 = host_random(rng, (size_t)c.c1 * in.c * 9, -0.5f, 0.5f);
    c.b1 = host_random(rng, (size_t)c.c1, -0.2f, 0.2f);
    c.w2 = host_random(rng, (size_t)c.c2 * c.c1 * 9, -0.5f, 0.5f);
    c.b2 = host_random(rng, (size_t)c.c2, -0.2f, 0.2f);
    float *target = host_zeros(stage_count(&c, GRAM));
    ref_gram_forward(a2.n, a2.c, a2.h, a2.w, host_random(rng, cls_shape_count(a2), 0.0f, 1.0f),
                     gram_norm(&c), target);
    c.target = target;
    return c;
}

static void compare_traces(const chain *c, const trace *got, const trace *want, const char *what)
{
    CHECK(expect_close(&got->loss, &want->loss, 1, TOL_CONV, "%s loss", what));
    for (int s = 0; s < STAGES; s++)
        CHECK(expect_close(got->at[s], want->at[s], stage_count(c, s), TOL_CONV, "%s %s", what,
                           stage_name[s]));
}

/* 3x10x12, and N = 2 on 3x7x9 (odd: pooling drops a row and a column). */
static void against_reference(void)
{
    static const cls_shape inputs[] = {{1, 3, 10, 12}, {2, 3, 7, 9}};
    ref_rng rng = ref_rng_make(601);
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        const chain c = chain_random(inputs[i], &rng);
        const float *x = host_random(&rng, cls_shape_count(c.in), -1.0f, 1.0f);
        ref_net r = ref_net_make(&c);
        const trace want = ref_chain(&r, host_f64(x, cls_shape_count(c.in)));
        const trace got = device_chain(&c, x);
        char what[64];
        snprintf(what, sizeof what, "chain %s", shape_str(c.in));
        compare_traces(&c, &got, &want, what);
    }
}

/* The device's and the reference's input gradients against central differences of the
 * reference chain at a sample of pixels. */
static void finite_differences(void)
{
    enum { SAMPLES = 48 };
    ref_rng rng = ref_rng_make(602);
    const chain c = chain_random((cls_shape){1, 3, 10, 12}, &rng);
    const size_t n = cls_shape_count(c.in);
    const float *x = host_random(&rng, n, -1.0f, 1.0f);
    ref_net r = ref_net_make(&c);
    double *x64 = host_f64(x, n), *fd = host_zeros_f64(SAMPLES);
    const size_t *idx = sample_indices(&rng, n, SAMPLES);
    ref_finite_difference(ref_objective, &r, x64, n, idx, SAMPLES, 1e-6, fd);

    ref_forward(&r, x64);
    ref_backward(&r);
    const trace got = device_chain(&c, x);
    double ref_at[SAMPLES], dev_at[SAMPLES];
    for (size_t k = 0; k < SAMPLES; k++) {
        ref_at[k] = r.at[GRAD_INPUT][idx[k]];
        dev_at[k] = got.at[GRAD_INPUT][idx[k]];
    }
    CHECK(expect_close_f64(ref_at, fd, SAMPLES, 1e-6,
                           "reference chain gradient vs finite differences (%d pixels)", SAMPLES));
    CHECK(expect_close_f64(dev_at, fd, SAMPLES, TOL_CONV,
                           "device chain gradient vs finite differences (%d pixels)", SAMPLES));
}

static void deterministic(void)
{
    ref_rng rng = ref_rng_make(603);
    const chain c = chain_random((cls_shape){1, 3, 10, 12}, &rng);
    const float *x = host_random(&rng, cls_shape_count(c.in), -1.0f, 1.0f);
    const trace a = device_chain(&c, x), b = device_chain(&c, x);
    CHECK(same_bits(&a.loss, &b.loss, 1));
    for (int s = 0; s < STAGES; s++)
        CHECK(same_bits(a.at[s], b.at[s], stage_count(&c, s)));
    printf("  chain loss %.9g twice, bit-identical: %s\n", a.loss,
           same_bits(&a.loss, &b.loss, 1) ? "yes" : "NO");
}

/* tests/data/golden/chain.gold: 1x3x11x13, no ReLU after the second conv. */
static void golden(void)
{
    golden_file g;
    golden_open(&g, "chain.gold");
    chain c = {.in = {1, 3, 11, 13}, .c1 = 4, .c2 = 6, .relu2 = false};
    c.style_weight = golden_tensor(&g, "style_weight", 1)[0];
    c.w1 = golden_tensor(&g, "conv1_weight", (size_t)c.c1 * 3 * 9);
    c.b1 = golden_tensor(&g, "conv1_bias", (size_t)c.c1);
    c.w2 = golden_tensor(&g, "conv2_weight", (size_t)c.c2 * c.c1 * 9);
    c.b2 = golden_tensor(&g, "conv2_bias", (size_t)c.c2);
    c.target = golden_tensor(&g, "target_gram", stage_count(&c, GRAM));
    CHECK(golden_tensor(&g, "gram_norm", 1)[0] == (float)gram_norm(&c));

    trace want = {.loss = golden_tensor(&g, "loss", 1)[0]};
    for (int s = 0; s < STAGES; s++)
        want.at[s] = golden_tensor(&g, stage_name[s], stage_count(&c, s));
    const trace got = device_chain(&c, golden_tensor(&g, "input", cls_shape_count(c.in)));
    compare_traces(&c, &got, &want, "golden chain");
    CHECK(golden_close(&g));
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(against_reference);
    RUN_CASE(finite_differences);
    RUN_CASE(deterministic);
    RUN_CASE(golden);
    dev_close();
    return check_report();
}
