/* Validates the reference itself: every backward op against central finite differences in
 * double, a conv-relu-pool-conv-Gram-style chain end to end, the golden reader on hostile
 * files, and the float ops against the PyTorch goldens.
 * Usage: test_ref_ops [golden-dir], golden-dir defaulting to tests/data/golden. */
#include "golden.h"
#include "ref_ops.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The probes below are piecewise polynomials of low degree, so with h = 1e-6 the central
 * difference error is double rounding, about 1e-16 * |f| / h; 1e-6 leaves a wide margin. */
#define FD_STEP 1e-6
#define FD_TOL 1e-6
/* Goldens are float64 PyTorch results rounded once; the float ops round every stage. */
#define GOLDEN_TOL 1e-5

static int checks, failures;
static double worst_fd, worst_golden, *worst = &worst_fd;

/* ---------------------------------------------------------------------------------------
 * Checking and allocation
 * ------------------------------------------------------------------------------------- */

static void section(const char *title, double *worst_of_section)
{
    printf("\n== %s\n", title);
    worst = worst_of_section;
}

/* Passes when err / scale <= tol, scale being max |want| (or 1 when want is all zero). */
static void report(const char *what, double err, double scale, double tol)
{
    double rel = err / (scale > 0 ? scale : 1.0);
    bool ok = rel <= tol; /* false for NaN */
    checks++;
    if (!ok)
        failures++;
    if (rel > *worst)
        *worst = rel;
    printf("%-4s %-58s max err %.2e  rel %.2e  (tol %.0e)\n", ok ? "ok" : "FAIL", what, err, rel,
           tol);
}

static void check_true(const char *what, bool cond)
{
    checks++;
    if (!cond)
        failures++;
    printf("%-4s %s\n", cond ? "ok" : "FAIL", what);
}

static void check_f64(const char *what, size_t n, const double *got, const double *want, double tol)
{
    double err = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        err = d > err || isnan(d) ? d : err;
        scale = fmax(scale, fabs(want[i]));
    }
    report(what, err, scale, tol);
}

static void check_f32(const char *what, size_t n, const float *got, const float *want, double tol)
{
    report(what, ref_max_abs_diff(n, got, want), ref_max_abs(n, want), tol);
}

static void check_scalar(const char *what, double got, double want, double tol)
{
    report(what, fabs(got - want), fabs(want), tol);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "test_ref_ops: out of memory\n");
        exit(2);
    }
    return p;
}

static double *vec(size_t n)
{
    return xcalloc(n, sizeof(double));
}

static float *vecf(size_t n)
{
    return xcalloc(n, sizeof(float));
}

static size_t count4(int a, int b, int c, int d)
{
    return (size_t)a * (size_t)b * (size_t)c * (size_t)d;
}

/* ---------------------------------------------------------------------------------------
 * Probes: a backward op is right when it maps r to the gradient of x -> r . op(x)
 * ------------------------------------------------------------------------------------- */

typedef struct op_ctx {
    int N, C, H, W, Cout; /* C is Cin for a convolution */
    const double *weight, *bias, *target;
    double norm;
    /* Transformer layers: k x k convolution, padding, instance norm. input is the op's
     * input when the probe varies a parameter instead. */
    int k, stride, scale, pad;
    double eps;
    bool relu;
    const double *input;
} op_ctx;

typedef void (*op_fn)(const op_ctx *c, const double *x, double *y);

typedef struct probe {
    op_fn op;
    const op_ctx *ctx;
    const double *r;
    double *y;
    size_t ny;
} probe;

static double probe_value(const double *x, size_t n, void *user)
{
    (void)n;
    probe *p = user;
    p->op(p->ctx, x, p->y);
    double sum = 0.0;
    for (size_t i = 0; i < p->ny; i++)
        sum += p->r[i] * p->y[i];
    return sum;
}

static void check_probe(const char *what, op_fn op, const op_ctx *c, double *x, size_t nx,
                        const double *r, size_t ny, const double *grad)
{
    probe p = {.op = op, .ctx = c, .r = r, .y = vec(ny), .ny = ny};
    double *fd = vec(nx);
    ref_finite_difference(probe_value, &p, x, nx, NULL, 0, FD_STEP, fd);
    check_f64(what, nx, grad, fd, FD_TOL);
    free(p.y);
    free(fd);
}

static void conv_op(const op_ctx *c, const double *x, double *y)
{
    ref_conv3x3_forward_f64(c->N, c->C, c->H, c->W, c->Cout, x, c->weight, c->bias, false, y);
}

static void relu_op(const op_ctx *c, const double *x, double *y)
{
    ref_relu_forward_f64(count4(c->N, c->C, c->H, c->W), x, y);
}

static void maxpool_op(const op_ctx *c, const double *x, double *y)
{
    ref_maxpool2x2_forward_f64(c->N, c->C, c->H, c->W, x, y);
}

static void avgpool_op(const op_ctx *c, const double *x, double *y)
{
    ref_avgpool2x2_forward_f64(c->N, c->C, c->H, c->W, x, y);
}

static void gram_op(const op_ctx *c, const double *x, double *y)
{
    ref_gram_forward_f64(c->N, c->C, c->H, c->W, x, c->norm, y);
}

static void pad_op(const op_ctx *c, const double *x, double *y)
{
    ref_pad_reflect_f64(c->N, c->C, c->H, c->W, c->scale, c->pad, x, y);
}

static void conv_kxk_op(const op_ctx *c, const double *x, double *y)
{
    ref_conv_kxk_forward_f64(c->N, c->C, c->H, c->W, c->Cout, c->k, c->stride, x, c->weight,
                             c->bias, y);
}

static void conv_kxk_weight_op(const op_ctx *c, const double *x, double *y)
{
    ref_conv_kxk_forward_f64(c->N, c->C, c->H, c->W, c->Cout, c->k, c->stride, c->input, x, c->bias,
                             y);
}

static void conv_kxk_bias_op(const op_ctx *c, const double *x, double *y)
{
    ref_conv_kxk_forward_f64(c->N, c->C, c->H, c->W, c->Cout, c->k, c->stride, c->input, c->weight,
                             x, y);
}

static void norm_op(const op_ctx *c, const double *x, double *y)
{
    ref_instance_norm_forward_f64(c->N, c->C, c->H, c->W, x, c->weight, c->bias, c->eps, c->relu,
                                  c->target, y);
}

static void norm_weight_op(const op_ctx *c, const double *x, double *y)
{
    ref_instance_norm_forward_f64(c->N, c->C, c->H, c->W, c->input, x, c->bias, c->eps, c->relu,
                                  c->target, y);
}

static void norm_bias_op(const op_ctx *c, const double *x, double *y)
{
    ref_instance_norm_forward_f64(c->N, c->C, c->H, c->W, c->input, c->weight, x, c->eps, c->relu,
                                  c->target, y);
}

/* ---------------------------------------------------------------------------------------
 * Backward ops against finite differences
 * ------------------------------------------------------------------------------------- */

/* Pads up to side - 1, scales 1 to 3, 1-pixel sides. */
static void test_pad_reflect_fd(ref_rng *rng)
{
    const int shapes[][6] = {/* N, C, H, W, scale, pad */
                             {2, 3, 5, 4, 1, 3}, {1, 2, 3, 7, 2, 5}, {1, 1, 2, 2, 3, 5},
                             {2, 1, 1, 3, 2, 1}, {1, 2, 6, 5, 1, 0}, {1, 1, 4, 4, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *d = shapes[i];
        op_ctx c = {.N = d[0], .C = d[1], .H = d[2], .W = d[3], .scale = d[4], .pad = d[5]};
        const size_t nx = count4(c.N, c.C, c.H, c.W);
        const size_t ny = count4(c.N, c.C, c.H * c.scale + 2 * c.pad, c.W * c.scale + 2 * c.pad);
        double *x = vec(nx), *r = vec(ny), *grad = vec(nx);
        ref_rng_fill_f64(rng, x, nx, -1, 1);
        ref_rng_fill_f64(rng, r, ny, -1, 1);
        ref_pad_reflect_backward_f64(c.N, c.C, c.H, c.W, c.scale, c.pad, r, grad);
        char what[96];
        snprintf(what, sizeof what, "pad_reflect backward, %dx%dx%dx%d scale %d pad %d", c.N, c.C,
                 c.H, c.W, c.scale, c.pad);
        check_probe(what, pad_op, &c, x, nx, r, ny, grad);
        free(x);
        free(r);
        free(grad);
    }
}

static void test_conv_kxk_fd(ref_rng *rng)
{
    const int shapes[][7] = {/* N, Cin, H, W, Cout, k, stride */
                             {2, 3, 7, 6, 2, 3, 1}, {1, 2, 8, 7, 3, 3, 2},  {2, 1, 9, 10, 2, 5, 2},
                             {1, 2, 5, 4, 3, 1, 1}, {1, 1, 11, 9, 1, 9, 1}, {1, 2, 6, 6, 2, 1, 2}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *d = shapes[i];
        op_ctx c = {
            .N = d[0], .C = d[1], .H = d[2], .W = d[3], .Cout = d[4], .k = d[5], .stride = d[6]};
        const int OH = (c.H - c.k) / c.stride + 1, OW = (c.W - c.k) / c.stride + 1;
        const size_t nx = count4(c.N, c.C, c.H, c.W), ny = count4(c.N, c.Cout, OH, OW);
        const size_t nw = count4(c.Cout, c.C, c.k, c.k);
        double *x = vec(nx), *w = vec(nw), *b = vec((size_t)c.Cout), *r = vec(ny);
        double *grad = vec(nx), *gw = vec(nw), *gb = vec((size_t)c.Cout);
        ref_rng_fill_f64(rng, x, nx, -1, 1);
        ref_rng_fill_f64(rng, w, nw, -1, 1);
        ref_rng_fill_f64(rng, b, (size_t)c.Cout, -1, 1);
        ref_rng_fill_f64(rng, r, ny, -1, 1);
        c.weight = w;
        c.bias = b;
        c.input = x;
        ref_conv_kxk_backward_data_f64(c.N, c.C, c.H, c.W, c.Cout, c.k, c.stride, r, w, grad);
        ref_conv_kxk_backward_weights_f64(c.N, c.C, c.H, c.W, c.Cout, c.k, c.stride, x, r, gw, gb);
        char what[96];
        snprintf(what, sizeof what, "conv_kxk backward_data, N=%d Cin=%d %dx%d Cout=%d k=%d s=%d",
                 c.N, c.C, c.H, c.W, c.Cout, c.k, c.stride);
        check_probe(what, conv_kxk_op, &c, x, nx, r, ny, grad);
        snprintf(what, sizeof what, "conv_kxk backward weight, N=%d Cin=%d %dx%d Cout=%d k=%d s=%d",
                 c.N, c.C, c.H, c.W, c.Cout, c.k, c.stride);
        check_probe(what, conv_kxk_weight_op, &c, w, nw, r, ny, gw);
        snprintf(what, sizeof what, "conv_kxk backward bias, N=%d Cin=%d %dx%d Cout=%d k=%d s=%d",
                 c.N, c.C, c.H, c.W, c.Cout, c.k, c.stride);
        check_probe(what, conv_kxk_bias_op, &c, b, (size_t)c.Cout, r, ny, gb);
        free(x);
        free(w);
        free(b);
        free(r);
        free(grad);
        free(gw);
        free(gb);
    }
}

/* With and without ReLU and residual (whose gradient is r itself: not the op's business). */
static void test_instance_norm_fd(ref_rng *rng)
{
    const int shapes[][6] = {/* N, C, H, W, relu, residual */
                             {2, 3, 4, 5, 0, 0},
                             {2, 2, 3, 3, 1, 0},
                             {1, 3, 5, 2, 0, 1},
                             {1, 2, 1, 3, 0, 0},
                             {2, 1, 6, 7, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *d = shapes[i];
        op_ctx c = {.N = d[0], .C = d[1], .H = d[2], .W = d[3], .relu = d[4], .eps = 1e-5};
        const size_t nx = count4(c.N, c.C, c.H, c.W);
        double *x = vec(nx), *w = vec((size_t)c.C), *b = vec((size_t)c.C), *r = vec(nx);
        double *res = vec(nx), *grad = vec(nx), *gw = vec((size_t)c.C), *gb = vec((size_t)c.C);
        ref_rng_fill_f64(rng, x, nx, -2, 2);
        ref_rng_fill_f64(rng, w, (size_t)c.C, -2, 2);
        ref_rng_fill_f64(rng, b, (size_t)c.C, -1, 1);
        ref_rng_fill_f64(rng, r, nx, -1, 1);
        ref_rng_fill_f64(rng, res, nx, -1, 1);
        c.weight = w;
        c.bias = b;
        c.input = x;
        c.target = d[5] ? res : NULL;
        ref_instance_norm_backward_f64(c.N, c.C, c.H, c.W, x, w, b, c.eps, c.relu, r, grad, gw, gb);
        char what[96];
        snprintf(what, sizeof what, "instance_norm backward_data, %dx%dx%dx%d%s%s", c.N, c.C, c.H,
                 c.W, c.relu ? " relu" : "", d[5] ? " residual" : "");
        check_probe(what, norm_op, &c, x, nx, r, nx, grad);
        snprintf(what, sizeof what, "instance_norm backward weight, %dx%dx%dx%d%s%s", c.N, c.C, c.H,
                 c.W, c.relu ? " relu" : "", d[5] ? " residual" : "");
        check_probe(what, norm_weight_op, &c, w, (size_t)c.C, r, nx, gw);
        snprintf(what, sizeof what, "instance_norm backward bias, %dx%dx%dx%d%s%s", c.N, c.C, c.H,
                 c.W, c.relu ? " relu" : "", d[5] ? " residual" : "");
        check_probe(what, norm_bias_op, &c, b, (size_t)c.C, r, nx, gb);
        free(x);
        free(w);
        free(b);
        free(r);
        free(res);
        free(grad);
        free(gw);
        free(gb);
    }
}

static void test_conv_fd(ref_rng *rng)
{
    const int shapes[][5] = {
        {2, 3, 5, 4, 2}, {1, 3, 6, 7, 4}, {1, 1, 3, 2, 1}, {1, 2, 1, 5, 3}, {1, 1, 1, 1, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *d = shapes[s];
        op_ctx c = {.N = d[0], .C = d[1], .H = d[2], .W = d[3], .Cout = d[4]};
        size_t nx = count4(c.N, c.C, c.H, c.W), ny = count4(c.N, c.Cout, c.H, c.W);
        double *x = vec(nx), *w = vec(count4(c.Cout, c.C, 3, 3)), *b = vec((size_t)c.Cout);
        double *r = vec(ny), *grad = vec(nx);
        ref_rng_fill_f64(rng, x, nx, -1, 1);
        ref_rng_fill_f64(rng, w, count4(c.Cout, c.C, 3, 3), -1, 1);
        ref_rng_fill_f64(rng, b, (size_t)c.Cout, -1, 1);
        ref_rng_fill_f64(rng, r, ny, -1, 1);
        c.weight = w;
        c.bias = b;
        ref_conv3x3_backward_data_f64(c.N, c.C, c.H, c.W, c.Cout, r, w, grad);
        char what[96];
        snprintf(what, sizeof what, "conv3x3 backward_data, N=%d Cin=%d %dx%d Cout=%d", c.N, c.C,
                 c.H, c.W, c.Cout);
        check_probe(what, conv_op, &c, x, nx, r, ny, grad);
        free(x);
        free(w);
        free(b);
        free(r);
        free(grad);
    }
}

/* Pins down the orientation (cross-correlation), the padding and the fused ReLU by hand. */
static void test_conv_known(void)
{
    enum { H = 3, W = 4 };
    float in[H * W], out[H * W], out_relu[H * W], want[H * W];
    for (int i = 0; i < H * W; i++)
        in[i] = (float)(i - 5);

    float centre[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, bias = 0.25f;
    ref_conv3x3_forward(1, 1, H, W, 1, in, centre, &bias, false, out);
    for (int i = 0; i < H * W; i++)
        want[i] = in[i] + 0.25f;
    check_true("conv3x3 centre tap + bias reproduces the input + bias",
               memcmp(out, want, sizeof out) == 0);

    /* Tap (0,0) reads in[y-1][x-1]: the kernel is not flipped, and zero padding shows. */
    float corner[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
    ref_conv3x3_forward(1, 1, H, W, 1, in, corner, NULL, false, out);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            want[y * W + x] = y > 0 && x > 0 ? in[(y - 1) * W + x - 1] : 0.0f;
    check_true("conv3x3 tap (0,0) shifts the image down-right, zeros enter",
               memcmp(out, want, sizeof out) == 0);

    ref_conv3x3_forward(1, 1, H, W, 1, in, corner, NULL, true, out_relu);
    ref_relu_forward(H * W, out, out);
    check_true("conv3x3 fused ReLU equals conv then ReLU", memcmp(out, out_relu, sizeof out) == 0);
}

static void test_relu_fd(ref_rng *rng)
{
    enum { n = 37 };
    double x[n], y[n], r[n], grad_from_x[n], grad_from_y[n];
    for (int i = 0; i < n; i++) {
        do /* away from the kink, where finite differences mean nothing */
            x[i] = ref_rng_range(rng, -1, 1);
        while (fabs(x[i]) < 0.01);
        r[i] = ref_rng_range(rng, -1, 1);
    }
    ref_relu_forward_f64(n, x, y);
    ref_relu_backward_f64(n, r, x, grad_from_x);
    ref_relu_backward_f64(n, r, y, grad_from_y);
    check_true("relu backward: the mask from the input equals that from the output",
               memcmp(grad_from_x, grad_from_y, sizeof grad_from_x) == 0);
    op_ctx c = {.N = 1, .C = 1, .H = 1, .W = n};
    check_probe("relu backward, n=37", relu_op, &c, x, n, r, n, grad_from_x);
}

static void test_pool_fd(ref_rng *rng)
{
    const int shapes[][4] = {{2, 3, 5, 7}, {1, 1, 4, 4}, {1, 3, 3, 3}, {1, 1, 2, 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *d = shapes[s];
        op_ctx c = {.N = d[0], .C = d[1], .H = d[2], .W = d[3]};
        size_t nx = count4(c.N, c.C, c.H, c.W), ny = count4(c.N, c.C, c.H / 2, c.W / 2);
        double *x = vec(nx), *r = vec(ny), *grad = vec(nx);
        ref_rng_fill_f64(rng, x, nx, -1, 1);
        ref_rng_fill_f64(rng, r, ny, -1, 1);
        char what[96];

        ref_maxpool2x2_backward_f64(c.N, c.C, c.H, c.W, x, r, grad);
        snprintf(what, sizeof what, "maxpool2x2 backward, N=%d C=%d %dx%d", c.N, c.C, c.H, c.W);
        check_probe(what, maxpool_op, &c, x, nx, r, ny, grad);

        ref_avgpool2x2_backward_f64(c.N, c.C, c.H, c.W, r, grad);
        snprintf(what, sizeof what, "avgpool2x2 backward, N=%d C=%d %dx%d", c.N, c.C, c.H, c.W);
        check_probe(what, avgpool_op, &c, x, nx, r, ny, grad);
        free(x);
        free(r);
        free(grad);
    }
}

/* Ties have no derivative; the rule (first maximum in scan order) is checked by hand. */
static void test_maxpool_ties(void)
{
    enum { H = 3, W = 7 };
    const float in[H * W] = {
        1, 1, 2, 0, -1, -1, 9, /* window 0: four equal maxima, (0,0) wins */
        1, 1, 2, 2, 3,  3,  9, /* window 1: (0,0) (1,0) (1,1) tie, (0,0) wins */
        9, 9, 9, 9, 9,  9,  9, /* window 2: (1,0) (1,1) tie, (1,0) wins; row 2, column 6 unused */
    };
    const float grad_out[3] = {10, 20, 30};
    float out[3], grad_in[H * W], want[H * W] = {0};
    want[0 * W + 0] = 10;
    want[0 * W + 2] = 20;
    want[1 * W + 4] = 30;
    ref_maxpool2x2_forward(1, 1, H, W, in, out);
    ref_maxpool2x2_backward(1, 1, H, W, in, grad_out, grad_in);
    check_true("maxpool2x2 forward on ties and odd H, W",
               out[0] == 1 && out[1] == 2 && out[2] == 3);
    check_true("maxpool2x2 backward: ties go to the first maximum in scan order",
               memcmp(grad_in, want, sizeof want) == 0);
}

static void test_gram_fd(ref_rng *rng)
{
    const int shapes[][4] = {{2, 3, 4, 5}, {1, 1, 3, 3}, {1, 4, 2, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *d = shapes[s];
        op_ctx c = {.N = d[0], .C = d[1], .H = d[2], .W = d[3]};
        c.norm = s == 1 ? 1.0 : ref_gram_norm(c.C, c.H, c.W);
        size_t nx = count4(c.N, c.C, c.H, c.W), ny = count4(c.N, c.C, c.C, 1);
        double *x = vec(nx), *r = vec(ny), *grad = vec(nx);
        ref_rng_fill_f64(rng, x, nx, -1, 1);
        ref_rng_fill_f64(rng, r, ny, -1, 1); /* not symmetric: exercises dG + dGᵀ */
        ref_gram_backward_f64(c.N, c.C, c.H, c.W, x, r, c.norm, grad);
        char what[96];
        snprintf(what, sizeof what, "gram backward, N=%d C=%d %dx%d norm=%g", c.N, c.C, c.H, c.W,
                 c.norm);
        check_probe(what, gram_op, &c, x, nx, r, ny, grad);
        free(x);
        free(r);
        free(grad);
    }
}

/* ---------------------------------------------------------------------------------------
 * Losses: the value, the gradient against finite differences, and that it is weighted and
 * added rather than stored
 * ------------------------------------------------------------------------------------- */

typedef double (*loss_fn)(const op_ctx *c, const double *x, double weight, double *grad);

typedef struct loss_probe {
    loss_fn fn;
    const op_ctx *ctx;
} loss_probe;

static double loss_value(const double *x, size_t n, void *user)
{
    (void)n;
    loss_probe *p = user;
    return p->fn(p->ctx, x, 1.0, NULL);
}

static double content_fn(const op_ctx *c, const double *x, double weight, double *grad)
{
    return ref_content_loss_f64(count4(c->N, c->C, c->H, c->W), x, c->target, weight, grad);
}

static double style_fn(const op_ctx *c, const double *x, double weight, double *grad)
{
    return ref_style_loss_f64(c->N, c->C, x, c->target, weight, grad);
}

static double tv_l1_fn(const op_ctx *c, const double *x, double weight, double *grad)
{
    return ref_tv_l1_f64(c->N, c->C, c->H, c->W, x, weight, grad);
}

static double tv_sq_fn(const op_ctx *c, const double *x, double weight, double *grad)
{
    return ref_tv_sq_f64(c->N, c->C, c->H, c->W, x, weight, grad);
}

static void check_loss(const char *what, loss_fn fn, const op_ctx *c, double *x, size_t n,
                       ref_rng *rng)
{
    const double weight = 0.75;
    double *before = vec(n), *grad = vec(n), *added = vec(n), *fd = vec(n);
    ref_rng_fill_f64(rng, before, n, -1, 1);
    memcpy(grad, before, n * sizeof *grad);
    double value = fn(c, x, weight, grad);
    for (size_t i = 0; i < n; i++)
        added[i] = (grad[i] - before[i]) / weight;
    loss_probe p = {.fn = fn, .ctx = c};
    ref_finite_difference(loss_value, &p, x, n, NULL, 0, FD_STEP, fd);
    char line[128];
    snprintf(line, sizeof line, "%s: value without a gradient buffer is the same", what);
    check_true(line, value == fn(c, x, 1.0, NULL));
    snprintf(line, sizeof line, "%s: weight * gradient added", what);
    check_f64(line, n, added, fd, FD_TOL);
    free(before);
    free(grad);
    free(added);
    free(fd);
}

static void test_losses_fd(ref_rng *rng)
{
    {
        op_ctx c = {.N = 2, .C = 3, .H = 4, .W = 5};
        size_t n = count4(c.N, c.C, c.H, c.W);
        double *f = vec(n), *p = vec(n);
        ref_rng_fill_f64(rng, f, n, -1, 1);
        ref_rng_fill_f64(rng, p, n, -1, 1);
        c.target = p;
        check_loss("content loss, N=2 C=3 4x5", content_fn, &c, f, n, rng);
        free(f);
        free(p);
    }
    {
        op_ctx c = {.N = 2, .C = 4};
        size_t n = count4(c.N, c.C, c.C, 1);
        double *g = vec(n), *a = vec(n);
        ref_rng_fill_f64(rng, g, n, -1, 1);
        ref_rng_fill_f64(rng, a, n, -1, 1);
        c.target = a;
        check_loss("style loss, N=2 C=4", style_fn, &c, g, n, rng);
        free(g);
        free(a);
    }
    const int shapes[][4] = {{2, 3, 4, 5}, {1, 1, 1, 6}, {1, 3, 5, 1}, {1, 1, 1, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *d = shapes[s];
        op_ctx c = {.N = d[0], .C = d[1], .H = d[2], .W = d[3]};
        size_t n = count4(c.N, c.C, c.H, c.W);
        double *x = vec(n);
        ref_rng_fill_f64(rng, x, n, -1, 1);
        char what[96];
        snprintf(what, sizeof what, "TV L1, N=%d C=%d %dx%d", c.N, c.C, c.H, c.W);
        check_loss(what, tv_l1_fn, &c, x, n, rng);
        snprintf(what, sizeof what, "TV squared, N=%d C=%d %dx%d", c.N, c.C, c.H, c.W);
        check_loss(what, tv_sq_fn, &c, x, n, rng);
        free(x);
    }

    /* sign(0) = 0: equal neighbours contribute nothing to the L1 gradient. */
    const float x[3] = {0, 0, 1};
    float grad[3] = {0};
    double value = ref_tv_l1(1, 1, 1, 3, x, 1.0, grad);
    check_true("TV L1 on {0, 0, 1}: value 1, gradient {0, -1, 1}",
               value == 1 && grad[0] == 0 && grad[1] == -1 && grad[2] == 1);
}

/* ---------------------------------------------------------------------------------------
 * The chain conv -> relu -> maxpool -> conv -> gram -> style loss, end to end
 * ------------------------------------------------------------------------------------- */

typedef struct chain {
    int Cin, H, W, C1, C2;
    double *w1, *b1, *w2, *b2, *target, norm;
    double *conv1, *relu1, *pool1, *conv2, *gram;
} chain;

static double chain_forward(chain *c, const double *x)
{
    int Hp = c->H / 2, Wp = c->W / 2;
    ref_conv3x3_forward_f64(1, c->Cin, c->H, c->W, c->C1, x, c->w1, c->b1, false, c->conv1);
    ref_relu_forward_f64(count4(1, c->C1, c->H, c->W), c->conv1, c->relu1);
    ref_maxpool2x2_forward_f64(1, c->C1, c->H, c->W, c->relu1, c->pool1);
    ref_conv3x3_forward_f64(1, c->C1, Hp, Wp, c->C2, c->pool1, c->w2, c->b2, false, c->conv2);
    ref_gram_forward_f64(1, c->C2, Hp, Wp, c->conv2, c->norm, c->gram);
    return ref_style_loss_f64(1, c->C2, c->gram, c->target, 1.0, NULL);
}

static double chain_value(const double *x, size_t n, void *user)
{
    (void)n;
    return chain_forward(user, x);
}

/* The gradient of the loss w.r.t. x, from the activations chain_forward left behind. */
static void chain_backward(chain *c, double *grad_x)
{
    int Hp = c->H / 2, Wp = c->W / 2;
    size_t n1 = count4(1, c->C1, c->H, c->W), np = count4(1, c->C1, Hp, Wp);
    double *grad_gram = vec(count4(1, c->C2, c->C2, 1)),
           *grad_conv2 = vec(count4(1, c->C2, Hp, Wp));
    double *grad_pool1 = vec(np), *grad_relu1 = vec(n1), *grad_conv1 = vec(n1);
    ref_style_loss_f64(1, c->C2, c->gram, c->target, 1.0, grad_gram);
    ref_gram_backward_f64(1, c->C2, Hp, Wp, c->conv2, grad_gram, c->norm, grad_conv2);
    ref_conv3x3_backward_data_f64(1, c->C1, Hp, Wp, c->C2, grad_conv2, c->w2, grad_pool1);
    ref_maxpool2x2_backward_f64(1, c->C1, c->H, c->W, c->relu1, grad_pool1, grad_relu1);
    ref_relu_backward_f64(n1, grad_relu1, c->conv1, grad_conv1);
    ref_conv3x3_backward_data_f64(1, c->Cin, c->H, c->W, c->C1, grad_conv1, c->w1, grad_x);
    free(grad_gram);
    free(grad_conv2);
    free(grad_pool1);
    free(grad_relu1);
    free(grad_conv1);
}

static void test_chain_fd(ref_rng *rng)
{
    chain c = {.Cin = 3, .H = 7, .W = 9, .C1 = 4, .C2 = 5};
    int Hp = c.H / 2, Wp = c.W / 2;
    size_t nx = count4(1, c.Cin, c.H, c.W), n1 = count4(1, c.C1, c.H, c.W);
    size_t n2 = count4(1, c.C2, Hp, Wp), ng = count4(1, c.C2, c.C2, 1);
    c.w1 = vec(count4(c.C1, c.Cin, 3, 3));
    c.b1 = vec((size_t)c.C1);
    c.w2 = vec(count4(c.C2, c.C1, 3, 3));
    c.b2 = vec((size_t)c.C2);
    c.target = vec(ng);
    c.norm = ref_gram_norm(c.C2, Hp, Wp);
    c.conv1 = vec(n1);
    c.relu1 = vec(n1);
    c.pool1 = vec(count4(1, c.C1, Hp, Wp));
    c.conv2 = vec(n2);
    c.gram = vec(ng);
    ref_rng_fill_f64(rng, c.w1, count4(c.C1, c.Cin, 3, 3), -0.5, 0.5);
    ref_rng_fill_f64(rng, c.b1, (size_t)c.C1, -0.2, 0.2);
    ref_rng_fill_f64(rng, c.w2, count4(c.C2, c.C1, 3, 3), -0.5, 0.5);
    ref_rng_fill_f64(rng, c.b2, (size_t)c.C2, -0.2, 0.2);

    double *target_features = vec(n2);
    ref_rng_fill_f64(rng, target_features, n2, 0, 1);
    ref_gram_forward_f64(1, c.C2, Hp, Wp, target_features, c.norm, c.target);

    double *x = vec(nx), *grad = vec(nx), *fd = vec(nx);
    ref_rng_fill_f64(rng, x, nx, -1, 1);
    double loss = chain_forward(&c, x);
    chain_backward(&c, grad);
    ref_finite_difference(chain_value, &c, x, nx, NULL, 0, FD_STEP, fd);
    char what[128];
    snprintf(what, sizeof what, "chain conv-relu-maxpool-conv-gram-style, 3x7x9 (loss %.3g)", loss);
    check_f64(what, nx, grad, fd, FD_TOL);

    free(target_features);
    free(x);
    free(grad);
    free(fd);
    double *owned[] = {c.w1,    c.b1,    c.w2,    c.b2,    c.target,
                       c.conv1, c.relu1, c.pool1, c.conv2, c.gram};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        free(owned[i]);
}

/* ---------------------------------------------------------------------------------------
 * The finite-difference helper and the elementwise helpers
 * ------------------------------------------------------------------------------------- */

static double cubic(const double *x, size_t n, void *user)
{
    (void)user;
    double sum = x[0] * x[1];
    for (size_t i = 0; i < n; i++)
        sum += x[i] * x[i] * x[i];
    return sum;
}

static double square_f32(const float *x, size_t n, void *user)
{
    (void)user;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    return sum;
}

static void test_finite_difference(ref_rng *rng)
{
    enum { n = 5 };
    double x[n], exact[n], fd[n], copy[n];
    ref_rng_fill_f64(rng, x, n, -2, 2);
    memcpy(copy, x, sizeof x);
    for (int i = 0; i < n; i++)
        exact[i] = 3 * x[i] * x[i];
    exact[0] += x[1];
    exact[1] += x[0];
    ref_finite_difference(cubic, NULL, x, n, NULL, 0, 1e-5, fd);
    check_f64("finite_difference of sum x^3 + x0 x1, all indices", n, fd, exact, 1e-8);
    const size_t idx[2] = {4, 1};
    double fd_some[2], exact_some[2] = {exact[4], exact[1]};
    ref_finite_difference(cubic, NULL, x, n, idx, 2, 1e-5, fd_some);
    check_f64("finite_difference at chosen indices", 2, fd_some, exact_some, 1e-8);
    check_true("finite_difference restores x exactly", memcmp(x, copy, sizeof x) == 0);

    /* A quadratic's central difference is exact, even for a float step that rounds. */
    float xf[n], copyf[n];
    double exactf[n];
    ref_rng_fill(rng, xf, n, -2, 2);
    memcpy(copyf, xf, sizeof xf);
    for (int i = 0; i < n; i++)
        exactf[i] = 2.0 * xf[i];
    ref_finite_difference_f32(square_f32, NULL, xf, n, NULL, 0, 1e-2f, fd);
    check_f64("finite_difference_f32 of sum x^2", n, fd, exactf, 1e-12);
    check_true("finite_difference_f32 restores x exactly", memcmp(xf, copyf, sizeof xf) == 0);
}

static void test_elementwise(void)
{
    float x[4] = {1, 2, -3, 0.5f};
    ref_scale(4, 0.5f, x);
    check_true("scale", x[0] == 0.5f && x[1] == 1 && x[2] == -1.5f && x[3] == 0.25f);

    const float a[4] = {1, -1, 0.25f, 3};
    float y[4], z[4];
    ref_fill(4, 1.0f, y);
    ref_fill(4, 1.0f, z);
    check_true("fill", y[0] == 1 && y[1] == 1 && y[2] == 1 && y[3] == 1);
    ref_axpy(4, 2.0f, a, y);
    check_true("axpy", y[0] == 3 && y[1] == -1 && y[2] == 1.5f && y[3] == 7);
    ref_axpy_clamp(4, 2.0f, a, 0.0f, 5.0f, z);
    check_true("axpy_clamp to [0, 5]", z[0] == 3 && z[1] == 0 && z[2] == 1.5f && z[3] == 5);

    const float mean[3] = {0.5f, -1, 2};
    float img[2 * 3 * 2] = {0};
    ref_add_channel_mean(2, 3, 1, 2, mean, img);
    bool ok = true;
    for (int i = 0; i < 12; i++)
        ok = ok && img[i] == mean[(i / 2) % 3];
    check_true("add_channel_mean, N=2 C=3 1x2", ok);
}

/* ---------------------------------------------------------------------------------------
 * The transformer network layers: padding, k x k convolution, instance norm
 * ------------------------------------------------------------------------------------- */

/* torch.nn.ReflectionPad2d, by hand: [a b c d] padded by 2 is [c b a b c d c b]; rows
 * reflect the same way; a nearest upsample by 2 first repeats each value. */
static void test_pad_reflect_known(void)
{
    const float row[4] = {1, 2, 3, 4};
    float out[8];
    ref_pad_reflect(1, 1, 1, 4, 1, 0, row, out);
    check_true("pad_reflect pad 0 copies", memcmp(out, row, sizeof row) == 0);

    /* One row cannot be padded vertically (pad < side), so pad a 3 x 4 plane by 2. */
    enum { H = 3, W = 4, P = 2 };
    float in[H * W], padded[(H + 2 * P) * (W + 2 * P)];
    for (int i = 0; i < H * W; i++)
        in[i] = (float)(10 * (i / W) + i % W + 1); /* row r: 10r+1 .. 10r+4 */
    ref_pad_reflect(1, 1, H, W, 1, P, in, padded);
    const float want_row[8] = {3, 2, 1, 2, 3, 4, 3, 2};
    const int want_src_row[7] = {2, 1, 0, 1, 2, 1, 0};
    bool ok = true;
    for (int y = 0; y < H + 2 * P; y++)
        for (int x = 0; x < W + 2 * P; x++)
            ok = ok && padded[y * (W + 2 * P) + x] == 10.0f * want_src_row[y] + want_row[x];
    check_true("pad_reflect 3x4 pad 2: [a b c d] -> [c b a b c d c b], rows alike", ok);

    /* [a b] upsampled is [a a b b]; padded by 1 that is [a a a b b b], in both directions. */
    const float two[4] = {5, 7, 1, 3};
    const int src[6] = {0, 0, 0, 1, 1, 1};
    float up[6 * 6];
    ref_pad_reflect(1, 1, 2, 2, 2, 1, two, up);
    ok = true;
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++)
            ok = ok && up[y * 6 + x] == two[src[y] * 2 + src[x]];
    check_true("pad_reflect scale 2 pad 1: [a b] -> [a a a b b b], rows alike", ok);
}

/* k = 3, stride 1 on an input padded by zeros is the "same" 3x3 convolution; a 1x1 kernel
 * with stride 2 picks every other pixel. */
static void test_conv_kxk_known(ref_rng *rng)
{
    enum { N = 2, CIN = 3, H = 5, W = 7, COUT = 4 };
    const size_t n_in = count4(N, CIN, H, W), n_out = count4(N, COUT, H, W);
    float *in = vecf(n_in), *padded = vecf(count4(N, CIN, H + 2, W + 2));
    float *weight = vecf(count4(COUT, CIN, 3, 3)), bias[COUT];
    float *want = vecf(n_out), *got = vecf(n_out);
    ref_rng_fill(rng, in, n_in, -1, 1);
    ref_rng_fill(rng, weight, count4(COUT, CIN, 3, 3), -1, 1);
    ref_rng_fill(rng, bias, COUT, -1, 1);
    for (int p = 0; p < N * CIN; p++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                padded[((size_t)p * (H + 2) + y + 1) * (W + 2) + x + 1] =
                    in[((size_t)p * H + y) * W + x];
    ref_conv3x3_forward(N, CIN, H, W, COUT, in, weight, bias, false, want);
    ref_conv_kxk_forward(N, CIN, H + 2, W + 2, COUT, 3, 1, padded, weight, bias, got);
    check_f32("conv_kxk k=3 s=1 on a zero-padded input = conv3x3", n_out, got, want, 1e-7);

    /* 1 x 5 x 7 -> 1 x 3 x 4 with weight 2 and bias 1: 2 in[2y][2x] + 1. */
    const float two = 2, one = 1;
    float sub[3 * 4];
    ref_conv_kxk_forward(1, 1, H, W, 1, 1, 2, in, &two, &one, sub);
    bool ok = true;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            ok = ok && sub[y * 4 + x] == (float)(2.0 * in[2 * y * W + 2 * x] + 1.0);
    check_true("conv_kxk k=1 s=2 takes every other pixel", ok);

    /* A 3x3 kernel with stride 2 on 5 x 7: output 2 x 3, tap (ky, kx) at (2y + ky, 2x + kx). */
    float corner[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1}, strided[2 * 3];
    ref_conv_kxk_forward(1, 1, H, W, 1, 3, 2, in, corner, NULL, strided);
    ok = true;
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++)
            ok = ok && strided[y * 3 + x] == in[(2 * y + 2) * W + 2 * x + 2];
    check_true("conv_kxk k=3 s=2 tap (2,2) reads (2y + 2, 2x + 2)", ok);
    free(in);
    free(padded);
    free(weight);
    free(want);
    free(got);
}

/* With eps 0 each output plane has mean bias[c] and variance weight[c]^2; ReLU and the
 * residual apply after the affine step, in that order. */
static void test_instance_norm_known(ref_rng *rng)
{
    enum { N = 2, C = 3, H = 5, W = 6, HW = H * W };
    const size_t n = count4(N, C, H, W);
    double *x = vec(n), *y = vec(n), *y_res = vec(n), *r = vec(n);
    const double weight[C] = {1.5, -0.5, 2}, bias[C] = {0.25, -1, 3};
    ref_rng_fill_f64(rng, x, n, -2, 5);
    ref_rng_fill_f64(rng, r, n, -1, 1);
    ref_instance_norm_forward_f64(N, C, H, W, x, weight, bias, 0.0, false, NULL, y);
    double err_mean = 0, err_var = 0;
    for (int p = 0; p < N * C; p++) {
        double mean = 0, var = 0;
        for (int i = 0; i < HW; i++)
            mean += y[p * HW + i] / HW;
        for (int i = 0; i < HW; i++)
            var += (y[p * HW + i] - mean) * (y[p * HW + i] - mean) / HW;
        err_mean = fmax(err_mean, fabs(mean - bias[p % C]));
        err_var = fmax(err_var, fabs(var - weight[p % C] * weight[p % C]));
    }
    report("instance_norm planes have mean bias[c]", err_mean, 1.0, 1e-12);
    report("instance_norm planes have variance weight[c]^2", err_var, 4.0, 1e-12);

    ref_instance_norm_forward_f64(N, C, H, W, x, weight, bias, 0.0, true, r, y_res);
    double err = 0;
    for (size_t i = 0; i < n; i++)
        err = fmax(err, fabs(y_res[i] - (fmax(y[i], 0.0) + r[i])));
    report("instance_norm relu + residual = max(0, y) + r", err, 1.0, 0.0);

    /* eps enters as sqrt(var + eps): a constant plane becomes bias[c] whatever eps. */
    double flat[HW], flat_out[HW];
    for (int i = 0; i < HW; i++)
        flat[i] = 7.0;
    ref_instance_norm_forward_f64(1, 1, H, W, flat, weight, bias, 1e-5, false, NULL, flat_out);
    err = 0;
    for (int i = 0; i < HW; i++)
        err = fmax(err, fabs(flat_out[i] - bias[0]));
    report("instance_norm of a constant plane is bias", err, 1.0, 0.0);
    free(x);
    free(y);
    free(y_res);
    free(r);
}

/* ---------------------------------------------------------------------------------------
 * The golden reader on good and hostile files
 * ------------------------------------------------------------------------------------- */

typedef struct part {
    const char *text;
    size_t zeros; /* zero bytes written after text */
} part;

static int read_parts(const part *parts, size_t nparts, ref_golden *g, char *err, size_t size)
{
    FILE *f = tmpfile();
    if (!f) {
        snprintf(err, size, "tmpfile failed");
        return -2;
    }
    for (size_t i = 0; i < nparts; i++) {
        fputs(parts[i].text, f);
        for (size_t k = 0; k < parts[i].zeros; k++)
            fputc(0, f);
    }
    rewind(f);
    int status = ref_golden_read(f, "test.gold", g, err, size);
    fclose(f);
    return status;
}

static void test_golden_reader(void)
{
    /* 1.0f and -2.5f little-endian, then a scalar 0.5f. */
    static const unsigned char good[] = "CLSGOLD1\ntensor a/b.c-d_e 2 1 2\n"
                                        "\x00\x00\x80\x3f\x00\x00\x20\xc0"
                                        "tensor s 0\n\x00\x00\x00\x3f";
    FILE *f = tmpfile();
    ref_golden g;
    char err[256];
    bool ok = f && fwrite(good, 1, sizeof good - 1, f) == sizeof good - 1;
    if (f)
        rewind(f);
    ok = ok && ref_golden_read(f, "good.gold", &g, err, sizeof err) == 0;
    if (f)
        fclose(f);
    check_true("golden reader: a valid file loads", ok);
    if (ok) {
        const ref_golden_tensor *s = ref_golden_find(&g, "s");
        const float *a =
            ref_golden_get(&g, "a/b.c-d_e", 2, (const size_t[]){1, 2}, err, sizeof err);
        check_true("golden reader: names, dims and little-endian values",
                   g.count == 2 && a && a[0] == 1.0f && a[1] == -2.5f && s && s->ndim == 0 &&
                       s->count == 1 && s->data[0] == 0.5f);
        check_true("golden reader: a missing name is NULL", !ref_golden_find(&g, "x"));
        bool wrong_shape =
            !ref_golden_get(&g, "a/b.c-d_e", 1, (const size_t[]){2}, err, sizeof err);
        printf("     (%s)\n", err);
        check_true("golden reader: a shape mismatch is refused", wrong_shape);
        ref_golden_free(&g);
    }

    char long_name[200] = "CLSGOLD1\ntensor ";
    memset(long_name + strlen(long_name), 'n', REF_GOLDEN_NAME_MAX + 1);
    strcat(long_name, " 0\n");
    char long_line[700] = "CLSGOLD1\ntensor x 1 1";
    while (strlen(long_line) < 600)
        strcat(long_line, " ");
    strcat(long_line, "\n");

    const struct {
        const char *what;
        part parts[2];
    } bad[] = {
        {"empty file", {{"", 0}}},
        {"wrong magic", {{"CLSGOLD2\ntensor a 0\n", 4}}},
        {"magic only partly there", {{"CLSGO", 0}}},
        {"data truncated", {{"CLSGOLD1\ntensor a 2 2 3\n", 20}}},
        {"scalar without data", {{"CLSGOLD1\ntensor a 0\n", 0}}},
        {"ndim 9", {{"CLSGOLD1\ntensor a 9 1 1 1 1 1 1 1 1 1\n", 4}}},
        {"ndim 10", {{"CLSGOLD1\ntensor a 10 1 1 1 1 1 1 1 1 1 1\n", 4}}},
        {"fewer dims than ndim", {{"CLSGOLD1\ntensor a 2 3\n", 12}}},
        {"more dims than ndim", {{"CLSGOLD1\ntensor a 1 3 1\n", 12}}},
        {"dim 0", {{"CLSGOLD1\ntensor a 1 0\n", 0}}},
        {"leading zero", {{"CLSGOLD1\ntensor a 1 03\n", 12}}},
        {"negative dim", {{"CLSGOLD1\ntensor a 1 -3\n", 12}}},
        {"dim that overflows", {{"CLSGOLD1\ntensor a 1 99999999999999999999999\n", 4}}},
        {"too many values", {{"CLSGOLD1\ntensor a 2 100000 100000\n", 4}}},
        {"bad name character", {{"CLSGOLD1\ntensor a$b 0\n", 4}}},
        {"empty name", {{"CLSGOLD1\ntensor  0\n", 4}}},
        {"name too long", {{long_name, 4}}},
        {"header line too long", {{long_line, 4}}},
        {"CR LF line end", {{"CLSGOLD1\ntensor a 0\r\n", 4}}},
        {"not a tensor record", {{"CLSGOLD1\nmatrix a 0\n", 4}}},
        {"header without LF at the end", {{"CLSGOLD1\ntensor a 0", 0}}},
        {"trailing bytes after the last record", {{"CLSGOLD1\ntensor a 0\n", 4}, {"xyz", 0}}},
        {"duplicate name", {{"CLSGOLD1\ntensor a 1 2\n", 8}, {"tensor a 0\n", 4}}},
        {"NUL in a header", {{"CLSGOLD1\ntensor a", 1}, {" 0\n", 4}}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t nparts = bad[i].parts[1].text ? 2 : 1;
        ref_golden h = {0};
        err[0] = '\0';
        int status = read_parts(bad[i].parts, nparts, &h, err, sizeof err);
        char what[128];
        snprintf(what, sizeof what, "golden reader refuses: %s", bad[i].what);
        check_true(what, status == -1 && err[0] != '\0' && h.count == 0 && h.tensors == NULL);
        printf("     (%s)\n", err);
    }
    ref_golden h;
    check_true("golden reader: a missing file is an error",
               ref_golden_load("/nonexistent/x.gold", &h, err, sizeof err) == -1);
    printf("     (%s)\n", err);
}

/* ---------------------------------------------------------------------------------------
 * The float ops against the PyTorch goldens
 * ------------------------------------------------------------------------------------- */

#define DIMS(...) ((const size_t[]){__VA_ARGS__})

typedef struct golden_file {
    ref_golden g;
    char path[512];
    bool ok;
} golden_file;

static bool open_golden(golden_file *gf, const char *dir, const char *name)
{
    char err[512];
    snprintf(gf->path, sizeof gf->path, "%s/%s", dir, name);
    gf->ok = ref_golden_load(gf->path, &gf->g, err, sizeof err) == 0;
    check_true(gf->ok ? gf->path : err, gf->ok);
    return gf->ok;
}

/* The tensor, which must exist with this shape; a failed check and NULL otherwise. */
static const float *need(golden_file *gf, const char *name, int ndim, const size_t *dims)
{
    char err[512];
    const float *data = ref_golden_get(&gf->g, name, ndim, dims, err, sizeof err);
    if (!data) {
        char what[sizeof gf->path + sizeof err + 2];
        snprintf(what, sizeof what, "%s: %s", gf->path, err);
        check_true(what, false);
        gf->ok = false;
    }
    return data;
}

static void golden_conv(const char *dir)
{
    golden_file gf;
    if (!open_golden(&gf, dir, "conv3x3.gold"))
        return;
    enum { N = 1, Cin = 3, H = 13, W = 17, Cout = 8 };
    const float *x = need(&gf, "input", 4, DIMS(N, Cin, H, W));
    const float *w = need(&gf, "weight", 4, DIMS(Cout, Cin, 3, 3));
    const float *b = need(&gf, "bias", 1, DIMS(Cout));
    const float *conv_out = need(&gf, "conv_out", 4, DIMS(N, Cout, H, W));
    const float *relu_out = need(&gf, "relu_out", 4, DIMS(N, Cout, H, W));
    const float *grad_out = need(&gf, "grad_out", 4, DIMS(N, Cout, H, W));
    const float *grad_input = need(&gf, "grad_input", 4, DIMS(N, Cin, H, W));
    const float *grad_input_relu = need(&gf, "grad_input_relu", 4, DIMS(N, Cin, H, W));
    if (gf.ok) {
        size_t no = count4(N, Cout, H, W), ni = count4(N, Cin, H, W);
        float *out = vecf(no), *masked = vecf(no), *grad = vecf(ni);
        ref_conv3x3_forward(N, Cin, H, W, Cout, x, w, b, false, out);
        check_f32("conv3x3.gold conv_out", no, out, conv_out, GOLDEN_TOL);
        ref_conv3x3_forward(N, Cin, H, W, Cout, x, w, b, true, out);
        check_f32("conv3x3.gold relu_out (fused)", no, out, relu_out, GOLDEN_TOL);
        ref_conv3x3_backward_data(N, Cin, H, W, Cout, grad_out, w, grad);
        check_f32("conv3x3.gold grad_input", ni, grad, grad_input, GOLDEN_TOL);
        ref_relu_backward(no, grad_out, out, masked);
        ref_conv3x3_backward_data(N, Cin, H, W, Cout, masked, w, grad);
        check_f32("conv3x3.gold grad_input_relu", ni, grad, grad_input_relu, GOLDEN_TOL);
        free(out);
        free(masked);
        free(grad);
    }
    ref_golden_free(&gf.g);
}

static void golden_pool(const char *dir)
{
    golden_file gf;
    if (!open_golden(&gf, dir, "pool2x2.gold"))
        return;
    enum { N = 2, C = 5, H = 7, W = 9, Ho = H / 2, Wo = W / 2 };
    const float *x = need(&gf, "input", 4, DIMS(N, C, H, W));
    const float *max_out = need(&gf, "max_out", 4, DIMS(N, C, Ho, Wo));
    const float *max_grad_out = need(&gf, "max_grad_out", 4, DIMS(N, C, Ho, Wo));
    const float *max_grad_input = need(&gf, "max_grad_input", 4, DIMS(N, C, H, W));
    const float *avg_out = need(&gf, "avg_out", 4, DIMS(N, C, Ho, Wo));
    const float *avg_grad_out = need(&gf, "avg_grad_out", 4, DIMS(N, C, Ho, Wo));
    const float *avg_grad_input = need(&gf, "avg_grad_input", 4, DIMS(N, C, H, W));
    if (gf.ok) {
        size_t ni = count4(N, C, H, W), no = count4(N, C, Ho, Wo);
        float *out = vecf(no), *grad = vecf(ni);
        ref_maxpool2x2_forward(N, C, H, W, x, out);
        check_f32("pool2x2.gold max_out", no, out, max_out, GOLDEN_TOL);
        ref_maxpool2x2_backward(N, C, H, W, x, max_grad_out, grad);
        check_f32("pool2x2.gold max_grad_input (with ties)", ni, grad, max_grad_input, 0.0);
        ref_avgpool2x2_forward(N, C, H, W, x, out);
        check_f32("pool2x2.gold avg_out", no, out, avg_out, GOLDEN_TOL);
        ref_avgpool2x2_backward(N, C, H, W, avg_grad_out, grad);
        check_f32("pool2x2.gold avg_grad_input", ni, grad, avg_grad_input, GOLDEN_TOL);
        free(out);
        free(grad);
    }
    ref_golden_free(&gf.g);
}

static void golden_chain(const char *dir)
{
    golden_file gf;
    if (!open_golden(&gf, dir, "chain.gold"))
        return;
    enum { Cin = 3, H = 11, W = 13, C1 = 4, C2 = 6, Hp = H / 2, Wp = W / 2 };
    const float *x = need(&gf, "input", 4, DIMS(1, Cin, H, W));
    const float *w1 = need(&gf, "conv1_weight", 4, DIMS(C1, Cin, 3, 3));
    const float *b1 = need(&gf, "conv1_bias", 1, DIMS(C1));
    const float *w2 = need(&gf, "conv2_weight", 4, DIMS(C2, C1, 3, 3));
    const float *b2 = need(&gf, "conv2_bias", 1, DIMS(C2));
    const float *target = need(&gf, "target_gram", 3, DIMS(1, C2, C2));
    const float *norm = need(&gf, "gram_norm", 0, NULL);
    const float *weight = need(&gf, "style_weight", 0, NULL);
    const float *want_conv1 = need(&gf, "conv1_out", 4, DIMS(1, C1, H, W));
    const float *want_relu1 = need(&gf, "relu1_out", 4, DIMS(1, C1, H, W));
    const float *want_pool1 = need(&gf, "pool1_out", 4, DIMS(1, C1, Hp, Wp));
    const float *want_conv2 = need(&gf, "conv2_out", 4, DIMS(1, C2, Hp, Wp));
    const float *want_gram = need(&gf, "gram", 3, DIMS(1, C2, C2));
    const float *want_loss = need(&gf, "loss", 0, NULL);
    const float *want_grad_gram = need(&gf, "grad_gram", 3, DIMS(1, C2, C2));
    const float *want_grad_conv2 = need(&gf, "grad_conv2_out", 4, DIMS(1, C2, Hp, Wp));
    const float *want_grad_pool1 = need(&gf, "grad_pool1_out", 4, DIMS(1, C1, Hp, Wp));
    const float *want_grad_relu1 = need(&gf, "grad_relu1_out", 4, DIMS(1, C1, H, W));
    const float *want_grad_conv1 = need(&gf, "grad_conv1_out", 4, DIMS(1, C1, H, W));
    const float *want_grad_x = need(&gf, "grad_input", 4, DIMS(1, Cin, H, W));
    if (gf.ok) {
        size_t nx = count4(1, Cin, H, W), n1 = count4(1, C1, H, W), np = count4(1, C1, Hp, Wp);
        size_t n2 = count4(1, C2, Hp, Wp), ng = count4(1, C2, C2, 1);
        float *conv1 = vecf(n1), *relu1 = vecf(n1), *pool1 = vecf(np), *conv2 = vecf(n2);
        float *gram = vecf(ng), *grad_gram = vecf(ng), *grad_conv2 = vecf(n2);
        float *grad_pool1 = vecf(np), *grad_relu1 = vecf(n1), *grad_conv1 = vecf(n1);
        float *grad_x = vecf(nx);

        ref_conv3x3_forward(1, Cin, H, W, C1, x, w1, b1, false, conv1);
        ref_relu_forward(n1, conv1, relu1);
        ref_maxpool2x2_forward(1, C1, H, W, relu1, pool1);
        ref_conv3x3_forward(1, C1, Hp, Wp, C2, pool1, w2, b2, false, conv2);
        ref_gram_forward(1, C2, Hp, Wp, conv2, *norm, gram);
        double loss = ref_style_loss(1, C2, gram, target, *weight, grad_gram);
        ref_gram_backward(1, C2, Hp, Wp, conv2, grad_gram, *norm, grad_conv2);
        ref_conv3x3_backward_data(1, C1, Hp, Wp, C2, grad_conv2, w2, grad_pool1);
        ref_maxpool2x2_backward(1, C1, H, W, relu1, grad_pool1, grad_relu1);
        ref_relu_backward(n1, grad_relu1, conv1, grad_conv1);
        ref_conv3x3_backward_data(1, Cin, H, W, C1, grad_conv1, w1, grad_x);

        check_f32("chain.gold conv1_out", n1, conv1, want_conv1, GOLDEN_TOL);
        check_f32("chain.gold relu1_out", n1, relu1, want_relu1, GOLDEN_TOL);
        check_f32("chain.gold pool1_out", np, pool1, want_pool1, GOLDEN_TOL);
        check_f32("chain.gold conv2_out", n2, conv2, want_conv2, GOLDEN_TOL);
        check_f32("chain.gold gram", ng, gram, want_gram, GOLDEN_TOL);
        check_scalar("chain.gold loss", loss, *want_loss, GOLDEN_TOL);
        check_f32("chain.gold grad_gram", ng, grad_gram, want_grad_gram, GOLDEN_TOL);
        check_f32("chain.gold grad_conv2_out", n2, grad_conv2, want_grad_conv2, GOLDEN_TOL);
        check_f32("chain.gold grad_pool1_out", np, grad_pool1, want_grad_pool1, GOLDEN_TOL);
        check_f32("chain.gold grad_relu1_out", n1, grad_relu1, want_grad_relu1, GOLDEN_TOL);
        check_f32("chain.gold grad_conv1_out", n1, grad_conv1, want_grad_conv1, GOLDEN_TOL);
        check_f32("chain.gold grad_input", nx, grad_x, want_grad_x, GOLDEN_TOL);

        float *owned[] = {conv1,      relu1,      pool1,      conv2,      gram,  grad_gram,
                          grad_conv2, grad_pool1, grad_relu1, grad_conv1, grad_x};
        for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
            free(owned[i]);
    }
    ref_golden_free(&gf.g);
}

static void golden_losses(const char *dir)
{
    golden_file gf;
    if (!open_golden(&gf, dir, "losses.gold"))
        return;
    enum { N = 2, C = 4, H = 6, W = 7, Nt = 2, Ct = 3, Ht = 9, Wt = 11 };
    const float *f = need(&gf, "content_features", 4, DIMS(N, C, H, W));
    const float *p = need(&gf, "content_target", 4, DIMS(N, C, H, W));
    const float *content_loss = need(&gf, "content_loss", 0, NULL);
    const float *content_grad = need(&gf, "content_grad", 4, DIMS(N, C, H, W));
    const float *x = need(&gf, "tv_input", 4, DIMS(Nt, Ct, Ht, Wt));
    const float *tv_l1 = need(&gf, "tv_l1", 0, NULL);
    const float *tv_l1_grad = need(&gf, "tv_l1_grad", 4, DIMS(Nt, Ct, Ht, Wt));
    const float *tv_sq = need(&gf, "tv_sq", 0, NULL);
    const float *tv_sq_grad = need(&gf, "tv_sq_grad", 4, DIMS(Nt, Ct, Ht, Wt));
    if (gf.ok) {
        size_t nc = count4(N, C, H, W), nt = count4(Nt, Ct, Ht, Wt);
        float *grad = vecf(nc), *grad_tv = vecf(nt);
        check_scalar("losses.gold content_loss", ref_content_loss(nc, f, p, 1.0, grad),
                     *content_loss, GOLDEN_TOL);
        check_f32("losses.gold content_grad", nc, grad, content_grad, GOLDEN_TOL);
        check_scalar("losses.gold tv_l1", ref_tv_l1(Nt, Ct, Ht, Wt, x, 1.0, grad_tv), *tv_l1,
                     GOLDEN_TOL);
        check_f32("losses.gold tv_l1_grad (sign(0) = 0)", nt, grad_tv, tv_l1_grad, GOLDEN_TOL);
        ref_fill(nt, 0.0f, grad_tv);
        check_scalar("losses.gold tv_sq", ref_tv_sq(Nt, Ct, Ht, Wt, x, 1.0, grad_tv), *tv_sq,
                     GOLDEN_TOL);
        check_f32("losses.gold tv_sq_grad", nt, grad_tv, tv_sq_grad, GOLDEN_TOL);
        free(grad);
        free(grad_tv);
    }
    ref_golden_free(&gf.g);
}

int main(int argc, char **argv)
{
    const char *golden_dir = argc > 1 ? argv[1] : "tests/data/golden";
    ref_rng rng = ref_rng_make(20240601);
    double worst_other = 0.0;

    section("finite differences (double), every backward op", &worst_fd);
    test_finite_difference(&rng);
    test_conv_fd(&rng);
    test_relu_fd(&rng);
    test_pool_fd(&rng);
    test_gram_fd(&rng);
    test_losses_fd(&rng);
    test_chain_fd(&rng);
    test_pad_reflect_fd(&rng);
    test_conv_kxk_fd(&rng);
    test_instance_norm_fd(&rng);

    section("hand-checked cases", &worst_other);
    test_conv_known();
    test_maxpool_ties();
    test_elementwise();
    test_pad_reflect_known();
    test_conv_kxk_known(&rng);
    test_instance_norm_known(&rng);

    section("golden reader", &worst_other);
    test_golden_reader();

    section("float ops against the PyTorch goldens", &worst_golden);
    golden_conv(golden_dir);
    golden_pool(golden_dir);
    golden_chain(golden_dir);
    golden_losses(golden_dir);

    printf("\nworst relative error: %.2e against finite differences, %.2e against goldens\n",
           worst_fd, worst_golden);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
