/* Winograd F(4x4, 3x3) convolution against the C reference and the direct kernel, forward
 * (bias, fused ReLU) and backward-data, on awkward shapes: every H and W in {1, 2, 3, 5, 7, 13,
 * 33, 64} and every C in {1, 3, 64, 130}, N = 2, and wide rows. Each case runs with the wino_gemm
 * kernel, the wino_gemm_wide and wino_gemm_lanes kernels and CLBlast, whole and split into
 * one-tile-row chunks (a tiny scratch budget), so the chunking and the backward pass's halo rows
 * are exercised. The backward pass is checked to be the exact adjoint of the forward one: <conv(x),
 * y> = <x, conv^T(y)>. */
#include "check.h"
#include "device_util.h"
#include "ops/conv.h"
#include "reference/ref_ops.h"

#include <math.h>
#include <stdlib.h>

/* The spec's bound; the errors seen are about 1e-6 (printed per case). */
#define TOL_WINOGRAD 1e-3

typedef struct wino_case {
    int n, cin, h, w, cout;
} wino_case;

static const wino_case cases[] = {
    {2, 1, 1, 1, 1},
    {2, 3, 2, 3, 64},
    {2, 64, 3, 2, 3},
    {2, 130, 5, 7, 64},
    {2, 64, 7, 5, 130},
    {2, 3, 13, 33, 1},
    {2, 1, 33, 13, 3},
    {2, 64, 64, 64, 64},
    {2, 130, 13, 13, 130},
    {2, 3, 64, 1, 130},
    {2, 130, 1, 64, 1},
    {2, 64, 33, 33, 3},
    {2, 1, 2, 64, 64},
    {2, 3, 5, 5, 3},
    /* Wide rows: the kernels' 8-tile vector paths without bounds checks, and 8-tile groups
     * that straddle two tile rows (25 and 10 tiles a row). */
    {1, 16, 9, 100, 24},
    {2, 8, 6, 40, 8},
};

/* Under CLSTYLE_TEST_QUICK: 130 channels in and out, 1 and 3 channels, a single pixel,
 * partial tiles, and both wide-row paths, without the largest reference convolutions. */
static const wino_case quick_cases[] = {
    {2, 1, 1, 1, 1},   {2, 130, 5, 7, 64},  {2, 64, 7, 5, 130},
    {2, 3, 13, 33, 1}, {1, 16, 9, 100, 24}, {2, 8, 6, 40, 8},
};

typedef struct variant {
    const char *name;
    bool clblast;
    int gemm_vecs;  /* 1: wino_gemm, 2: wino_gemm_wide (32-column blocks), 0: wino_gemm_lanes */
    size_t scratch; /* 0: the device default */
} variant;

static const variant variants[] = {
    {"wino_gemm", false, 1, 0},       {"wino_gemm, 1-row chunks", false, 1, 1},
    {"wino_gemm_wide", false, 2, 0},  {"wino_gemm_wide, 1-row chunks", false, 2, 1},
    {"wino_gemm_lanes", false, 0, 0}, {"wino_gemm_lanes, 1-row chunks", false, 0, 1},
    {"CLBlast", true, 1, 0},          {"CLBlast, 1-row chunks", true, 1, 1},
};

static double worst_forward, worst_backward, worst_adjoint;

static void use_variant(const variant *v, const cls_tunables *defaults)
{
    dev->tunables.wino_clblast = v->clblast;
    dev->tunables.wino_gemm_vecs = v->gemm_vecs;
    dev->tunables.wino_scratch_bytes = v->scratch ? v->scratch : defaults->wino_scratch_bytes;
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

static double sum_abs_products(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)a[i] * (double)b[i]);
    return s;
}

static void run_case(const wino_case *k, ref_rng *rng, const cls_tunables *defaults)
{
    const cls_shape in = {k->n, k->cin, k->h, k->w};
    const size_t n_in = cls_shape_count(in), n_out = (size_t)k->n * k->cout * k->h * k->w;
    const size_t n_w = (size_t)k->cout * k->cin * 9;
    float *x = host_random(rng, n_in, -1.0f, 1.0f), *weight = host_random(rng, n_w, -0.5f, 0.5f);
    float *bias = host_random(rng, (size_t)k->cout, -0.5f, 0.5f);
    float *dy = host_random(rng, n_out, -1.0f, 1.0f);
    float *want = host_zeros(n_out), *want_relu = host_zeros(n_out), *plain = host_zeros(n_out);
    float *want_dx = host_zeros(n_in);
    ref_conv3x3_forward(k->n, k->cin, k->h, k->w, k->cout, x, weight, bias, false, want);
    ref_conv3x3_forward(k->n, k->cin, k->h, k->w, k->cout, x, weight, bias, true, want_relu);
    ref_conv3x3_forward(k->n, k->cin, k->h, k->w, k->cout, x, weight, NULL, false, plain);
    ref_conv3x3_backward_data(k->n, k->cin, k->h, k->w, k->cout, dy, weight, want_dx);

    cl_mem d_x = dev_upload(x, n_in), d_w = dev_upload(weight, n_w);
    cl_mem d_b = dev_upload(bias, (size_t)k->cout), d_dy = dev_upload(dy, n_out);
    cl_mem u = dev_poisoned(cls_conv3x3_winograd_weight_count(k->cin, k->cout));
    CHECK_STATUS(cls_conv3x3_winograd_weights(dev, k->cin, k->cout, d_w, u), CLS_OK);

    /* The direct kernel on the same data, for the comparison with what it replaces. */
    cl_mem flipped = dev_poisoned(n_w), direct = dev_poisoned(n_out),
           direct_dx = dev_poisoned(n_in);
    CHECK_STATUS(cls_conv3x3_forward(dev, in, k->cout, d_x, d_w, d_b, false, direct), CLS_OK);
    CHECK_STATUS(cls_conv3x3_flip_weights(dev, k->cin, k->cout, d_w, flipped), CLS_OK);
    CHECK_STATUS(cls_conv3x3_backward_data(dev, in, k->cout, d_dy, flipped, direct_dx), CLS_OK);
    float *direct_host = dev_download(direct, n_out),
          *direct_dx_host = dev_download(direct_dx, n_in);

    char label[96];
    snprintf(label, sizeof label, "n=%d %dx%d c=%d->%d", k->n, k->h, k->w, k->cin, k->cout);
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        use_variant(&variants[v], defaults);
        const char *vn = variants[v].name;
        cl_mem out = dev_poisoned(n_out), dx = dev_poisoned(n_in);
        CHECK_STATUS(cls_conv3x3_winograd_forward(dev, in, k->cout, d_x, u, d_b, false, out),
                     CLS_OK);
        float *got = dev_download(out, n_out);
        const double e_ref = max_rel_err(got, want, n_out);
        const double e_direct = max_rel_err(got, direct_host, n_out);
        CHECK(e_ref <= TOL_WINOGRAD && e_direct <= TOL_WINOGRAD);
        CHECK_STATUS(cls_conv3x3_winograd_forward(dev, in, k->cout, d_x, u, d_b, true, out),
                     CLS_OK);
        const double e_relu = max_rel_err(dev_download(out, n_out), want_relu, n_out);
        CHECK(e_relu <= TOL_WINOGRAD);

        CHECK_STATUS(cls_conv3x3_winograd_backward_data(dev, in, k->cout, d_dy, u, dx), CLS_OK);
        float *got_dx = dev_download(dx, n_in);
        const double b_ref = max_rel_err(got_dx, want_dx, n_in);
        const double b_direct = max_rel_err(got_dx, direct_dx_host, n_in);
        CHECK(b_ref <= TOL_WINOGRAD && b_direct <= TOL_WINOGRAD);

        /* The adjoint identity, with the forward pass without bias. */
        CHECK_STATUS(cls_conv3x3_winograd_forward(dev, in, k->cout, d_x, u, NULL, false, out),
                     CLS_OK);
        float *fx = dev_download(out, n_out);
        const double lhs = dot(fx, dy, n_out), rhs = dot(x, got_dx, n_in);
        const double scale = sum_abs_products(plain, dy, n_out) + 1e-30;
        const double e_adj = fabs(lhs - rhs) / scale;
        CHECK(e_adj <= 1e-5);

        printf("  %s [%s]: forward %.2g (direct %.2g, relu %.2g), backward %.2g (direct %.2g), "
               "adjoint %.2g\n",
               label, vn, e_ref, e_direct, e_relu, b_ref, b_direct, e_adj);
        worst_forward = fmax(worst_forward, fmax(e_ref, e_relu));
        worst_backward = fmax(worst_backward, b_ref);
        worst_adjoint = fmax(worst_adjoint, e_adj);
    }
    use_variant(&variants[0], defaults);
}

static void shapes(void)
{
    const cls_tunables defaults = dev->tunables;
    ref_rng rng = ref_rng_make(301);
    size_t count;
    const wino_case *list = CHECK_CASES(cases, quick_cases, count);
    for (size_t i = 0; i < count; i++) {
        run_case(&list[i], &rng, &defaults);
        dev_release_all();
    }
    printf("  worst: forward %.2g, backward %.2g, adjoint %.2g\n", worst_forward, worst_backward,
           worst_adjoint);
    dev->tunables = defaults;
}

/* The choice between the algorithms: forced by $CLSTYLE_CONV, else the device rule, which
 * keeps the direct kernel for 3-channel input (conv1_1) and single-tile maps. */
static void choice(void)
{
    const cls_shape big = {1, 64, 128, 128}, rgb = {1, 3, 128, 128}, tiny = {1, 512, 4, 4};
    setenv("CLSTYLE_CONV", "direct", 1);
    CHECK(cls_conv3x3_choose(dev, big, 64) == CLS_CONV_DIRECT);
    setenv("CLSTYLE_CONV", "winograd", 1);
    CHECK(cls_conv3x3_choose(dev, rgb, 64) == CLS_CONV_WINOGRAD);
    setenv("CLSTYLE_CONV", "auto", 1);
    CHECK(cls_conv3x3_choose(dev, rgb, 64) == CLS_CONV_DIRECT);
    CHECK(cls_conv3x3_choose(dev, tiny, 512) == CLS_CONV_DIRECT);
    CHECK(cls_conv3x3_choose(dev, big, 64) == CLS_CONV_WINOGRAD);
    unsetenv("CLSTYLE_CONV");
    CHECK(cls_conv3x3_choose(dev, big, 64) == CLS_CONV_WINOGRAD);
}

static void shape_errors(void)
{
    cl_mem a = dev_poisoned(1024), b = dev_poisoned(1024), c = dev_poisoned(1024);
    for (size_t i = 0; i < bad_shape_count; i++) {
        const cls_shape s = bad_shapes[i];
        CHECK_STATUS(cls_conv3x3_winograd_forward(dev, s, 2, a, b, NULL, false, c), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_conv3x3_winograd_backward_data(dev, s, 2, a, b, c), CLS_ERR_SHAPE);
    }
    const cls_shape ok = {1, 2, 4, 4};
    CHECK_STATUS(cls_conv3x3_winograd_forward(dev, ok, 0, a, b, NULL, false, c), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_conv3x3_winograd_backward_data(dev, ok, -1, a, b, c), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_conv3x3_winograd_weights(dev, 0, 2, a, b), CLS_ERR_SHAPE);
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(shapes);
    RUN_CASE(choice);
    RUN_CASE(shape_errors);
    dev_close();
    return check_report();
}
