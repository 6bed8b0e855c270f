/* Every device backward op against central finite differences of the reference forward op
 * in double, at every input element. An op with a tensor output y is checked through the
 * scalar r . y for a random r (so its gradient is the backward op applied to r); a loss
 * through weight x loss. Inputs are continuous random values, away from the kinks of ReLU,
 * max pooling and |d|. */
#include "check.h"
#include "device_util.h"
#include "ops/act.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/gram.h"
#include "ops/loss.h"
#include "ops/pool.h"
#include "reference/ref_ops.h"

typedef enum op_kind {
    CONV,
    CONV_RELU,
    RELU,
    MAXPOOL,
    AVGPOOL,
    GRAM,
    CONTENT,
    STYLE,
    TV_ABS,
    TV_SQUARED
} op_kind;

static const char *const op_name[] = {
    "conv3x3_backward_data",
    "conv3x3 relu backward",
    "relu_backward",
    "maxpool_backward",
    "avgpool_backward",
    "gram_backward",
    "content_mse",
    "style_sqerr",
    "tv_abs",
    "tv_squared",
};

enum { COUT = 4 };
static const float weight = 0.7f;

/* One op on one input shape, with what its scalar objective needs. */
typedef struct probe {
    op_kind kind;
    cls_shape s; /* the input; for STYLE, N Gram matrices as N x C x C x 1 */
    size_t n, n_out;
    double *w, *b, *r, *target, *out; /* r: the projection of the output */
    cl_mem d_w, d_flipped, d_b, d_r, d_target;
} probe;

static size_t output_count(op_kind kind, cls_shape s)
{
    switch (kind) {
    case CONV:
    case CONV_RELU: return (size_t)s.n * COUT * s.h * s.w;
    case MAXPOOL:
    case AVGPOOL: return (size_t)s.n * s.c * (s.h / 2) * (s.w / 2);
    case GRAM: return (size_t)s.n * s.c * s.c;
    default: return cls_shape_count(s);
    }
}

static probe probe_make(op_kind kind, cls_shape s, ref_rng *rng)
{
    probe p = {.kind = kind, .s = s, .n = cls_shape_count(s), .n_out = output_count(kind, s)};
    const size_t n_w = (size_t)COUT * s.c * 9;
    const float *w = host_random(rng, n_w, -0.5f, 0.5f), *b = host_random(rng, COUT, -0.5f, 0.5f);
    const float *r = host_random(rng, p.n_out, -1.0f, 1.0f);
    const float *target = host_random(rng, p.n, -1.0f, 1.0f);
    p.w = host_f64(w, n_w);
    p.b = host_f64(b, COUT);
    p.r = host_f64(r, p.n_out);
    p.target = host_f64(target, p.n);
    p.out = host_zeros_f64(p.n_out);
    p.d_w = dev_upload(w, n_w);
    p.d_b = dev_upload(b, COUT);
    p.d_r = dev_upload(r, p.n_out);
    p.d_target = dev_upload(target, p.n);
    p.d_flipped = dev_poisoned(n_w);
    CHECK_STATUS(cls_conv3x3_flip_weights(dev, s.c, COUT, p.d_w, p.d_flipped), CLS_OK);
    return p;
}

static double dot(const double *a, const double *b, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

static double objective(const double *x, size_t n, void *user)
{
    probe *p = user;
    const cls_shape s = p->s;
    (void)n;
    switch (p->kind) {
    case CONV:
    case CONV_RELU:
        ref_conv3x3_forward_f64(s.n, s.c, s.h, s.w, COUT, x, p->w, p->b, p->kind == CONV_RELU,
                                p->out);
        break;
    case RELU: ref_relu_forward_f64(p->n, x, p->out); break;
    case MAXPOOL: ref_maxpool2x2_forward_f64(s.n, s.c, s.h, s.w, x, p->out); break;
    case AVGPOOL: ref_avgpool2x2_forward_f64(s.n, s.c, s.h, s.w, x, p->out); break;
    case GRAM:
        ref_gram_forward_f64(s.n, s.c, s.h, s.w, x, ref_gram_norm(s.c, s.h, s.w), p->out);
        break;
    case CONTENT: return weight * ref_content_loss_f64(p->n, x, p->target, 1.0, NULL);
    case STYLE: return weight * ref_style_loss_f64(s.n, s.c, x, p->target, 1.0, NULL);
    case TV_ABS: return weight * ref_tv_l1_f64(s.n, s.c, s.h, s.w, x, 1.0, NULL);
    case TV_SQUARED: return weight * ref_tv_sq_f64(s.n, s.c, s.h, s.w, x, 1.0, NULL);
    }
    return dot(p->r, p->out, p->n_out);
}

/* The fused conv + ReLU: the forward output masks r, then the plain backward. */
static void conv_relu_gradient(const probe *p, cl_mem x, cl_mem grad)
{
    cl_mem y = dev_poisoned(p->n_out), masked = dev_poisoned(p->n_out);
    CHECK_STATUS(cls_conv3x3_forward(dev, p->s, COUT, x, p->d_w, p->d_b, true, y), CLS_OK);
    CHECK_STATUS(cls_relu_backward(dev, p->n_out, p->d_r, y, masked), CLS_OK);
    CHECK_STATUS(cls_conv3x3_backward_data(dev, p->s, COUT, masked, p->d_flipped, grad), CLS_OK);
}

static cls_status device_gradient(const probe *p, cl_mem x, cl_mem grad)
{
    const cls_shape s = p->s;
    const float scale = (float)(1.0 / ref_gram_norm(s.c, s.h, s.w));
    cl_mem result = dev_poisoned(1);
    if (p->kind >= CONTENT)
        CHECK_STATUS(cls_fill(dev, p->n, 0.0f, grad), CLS_OK);
    switch (p->kind) {
    case CONV: return cls_conv3x3_backward_data(dev, s, COUT, p->d_r, p->d_flipped, grad);
    case CONV_RELU: conv_relu_gradient(p, x, grad); return CLS_OK;
    case RELU: return cls_relu_backward(dev, p->n, p->d_r, x, grad);
    case MAXPOOL: return cls_pool_backward(dev, CLS_POOL_MAX, s, x, p->d_r, grad);
    case AVGPOOL: return cls_pool_backward(dev, CLS_POOL_AVG, s, x, p->d_r, grad);
    case GRAM: return cls_gram_backward(dev, s, x, p->d_r, scale, false, grad);
    case CONTENT: return cls_loss_content_mse(dev, p->n, x, p->d_target, weight, grad, result, 0);
    case STYLE: return cls_loss_style_sqerr(dev, p->n, x, p->d_target, weight, grad, result, 0);
    case TV_ABS: return cls_loss_tv(dev, CLS_TV_ABS, s, x, weight, grad, result, 0);
    case TV_SQUARED: return cls_loss_tv(dev, CLS_TV_SQUARED, s, x, weight, grad, result, 0);
    }
    return CLS_ERR_INVALID_ARGUMENT;
}

static void gradcheck(op_kind kind, cls_shape s, ref_rng *rng)
{
    probe p = probe_make(kind, s, rng);
    const float *x = host_random(rng, p.n, -1.0f, 1.0f);
    double *fd = host_zeros_f64(p.n);
    ref_finite_difference(objective, &p, host_f64(x, p.n), p.n, NULL, 0, 1e-6, fd);
    cl_mem grad = dev_poisoned(p.n);
    CHECK_STATUS(device_gradient(&p, dev_upload(x, p.n), grad), CLS_OK);
    const float *got = dev_download(grad, p.n);
    double *got64 = host_f64(got, p.n);
    CHECK(expect_close_f64(got64, fd, p.n, TOL_CONV, "%s %s vs finite differences", op_name[kind],
                           shape_str(s)));
}

static void every_backward_op(void)
{
    const cls_shape s = {2, 3, 5, 6}, grams = {2, 3, 3, 1};
    ref_rng rng = ref_rng_make(701);
    for (op_kind kind = CONV; kind <= TV_SQUARED; kind++)
        gradcheck(kind, kind == STYLE ? grams : s, &rng);
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(every_backward_op);
    dev_close();
    return check_report();
}
