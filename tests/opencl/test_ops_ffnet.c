/* The layers of transformer networks on the device against the reference: reflection padding
 * with nearest upsampling, k x k convolution with stride 1 and 2, instance normalisation
 * through a plane view with ReLU and residual; awkward shapes, and the shapes each op must
 * refuse. Prints the convolution's speed on the largest cases (not asserted). */
#include "check.h"
#include "device_util.h"
#include "ops/conv.h"
#include "ops/conv_kxk.h"
#include "ops/norm.h"
#include "ops/pad.h"
#include "reference/ref_ops.h"

#include <math.h>

/* Elements past the end of an output that must stay untouched (poisoned with NaN). */
enum { GUARD = 37 };

/* Whether the GUARD elements after the first n of buffer are still NaN. */
static bool guard_intact(cl_mem buffer, size_t n)
{
    const float *all = dev_download(buffer, n + GUARD);
    for (size_t i = n; i < n + GUARD; i++)
        if (!isnan(all[i]))
            return false;
    return true;
}

/* ---------------------------------------------------------------------------------------
 * Reflection padding
 * ------------------------------------------------------------------------------------- */

typedef struct pad_case {
    cls_shape in;
    int scale, pad;
} pad_case;

static const pad_case pad_full[] = {
    {{1, 1, 1, 1}, 1, 0},   {{1, 1, 4, 4}, 1, 2},    {{2, 3, 5, 5}, 1, 4},    {{1, 5, 7, 13}, 2, 1},
    {{2, 3, 9, 6}, 2, 4},   {{1, 32, 16, 16}, 1, 1}, {{1, 2, 1, 3}, 2, 1},    {{1, 2, 3, 4}, 3, 5},
    {{1, 130, 6, 5}, 1, 3}, {{2, 3, 64, 37}, 1, 4},  {{1, 64, 33, 31}, 2, 1},
};
static const pad_case pad_quick[] = {
    {{1, 1, 4, 4}, 1, 2}, {{2, 3, 5, 5}, 1, 4}, {{1, 5, 7, 13}, 2, 1}, {{1, 2, 3, 4}, 3, 5}};

static void pad_cases(void)
{
    ref_rng rng = ref_rng_make(301);
    size_t count;
    const pad_case *cases = CHECK_CASES(pad_full, pad_quick, count);
    for (size_t i = 0; i < count; i++) {
        const pad_case pc = cases[i];
        cls_shape out;
        CHECK_STATUS(cls_pad_reflect_shape(pc.in, pc.scale, pc.pad, &out), CLS_OK);
        CHECK(out.n == pc.in.n && out.c == pc.in.c && out.h == pc.in.h * pc.scale + 2 * pc.pad &&
              out.w == pc.in.w * pc.scale + 2 * pc.pad);
        const size_t n_in = cls_shape_count(pc.in), n_out = cls_shape_count(out);
        const float *x = host_random(&rng, n_in, -1.0f, 1.0f);
        float *want = host_zeros(n_out);
        ref_pad_reflect(pc.in.n, pc.in.c, pc.in.h, pc.in.w, pc.scale, pc.pad, x, want);
        cl_mem d_out = dev_poisoned(n_out + GUARD);
        CHECK_STATUS(cls_pad_reflect(dev, pc.in, pc.scale, pc.pad, dev_upload(x, n_in), d_out),
                     CLS_OK);
        CHECK(dev_expect_close(d_out, want, n_out, 0.0, "pad_reflect %s scale %d pad %d",
                               shape_str(pc.in), pc.scale, pc.pad));
        CHECK(guard_intact(d_out, n_out));
    }
}

static void pad_errors(void)
{
    static const pad_case bad[] = {
        {{1, 1, 5, 5}, 1, 5},         /* pad = side */
        {{1, 1, 5, 8}, 1, 6},         /* pad > one side */
        {{1, 1, 8, 3}, 1, 3},         /* ... the other */
        {{1, 1, 2, 8}, 2, 4},         /* pad = the upsampled side */
        {{1, 1, 1, 1}, 1, 1},         /* a 1x1 plane cannot be reflected */
        {{1, 1, 4, 4}, 0, 1},         /* scale 0 */
        {{1, 1, 4, 4}, -2, 1},        /* negative scale */
        {{1, 1, 4, 4}, 1, -1},        /* negative pad */
        {{1, 1, 65536, 65536}, 2, 1}, /* the upsampled tensor overflows 32-bit indices */
    };
    cl_mem a = dev_poisoned(64), b = dev_poisoned(64);
    for (size_t i = 0; i < COUNT_OF(bad); i++) {
        cls_shape out;
        CHECK_STATUS(cls_pad_reflect_shape(bad[i].in, bad[i].scale, bad[i].pad, &out),
                     CLS_ERR_SHAPE);
        CHECK_STATUS(cls_pad_reflect(dev, bad[i].in, bad[i].scale, bad[i].pad, a, b),
                     CLS_ERR_SHAPE);
    }
    CHECK_CONTAINS(cls_last_error(), "pad_reflect");
    for (size_t i = 0; i < bad_shape_count; i++)
        CHECK_STATUS(cls_pad_reflect(dev, bad_shapes[i], 1, 0, a, b), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_pad_reflect(dev, oversized_shape, 1, 0, a, b), CLS_ERR_SHAPE);
}

/* ---------------------------------------------------------------------------------------
 * k x k convolution
 * ------------------------------------------------------------------------------------- */

typedef struct conv_case {
    cls_shape in; /* already padded */
    int cout, k, stride;
    bool bias;
} conv_case;

/* Every k in {1, 3, 5, 7, 9, 11} (only 3 and 9 have kernels of their own), both strides,
 * channel counts 1, 3, 5, 32, 64, 130 on both sides (partial channel tiles, and each
 * kernel's channel tile chosen), output widths below, at and past the 8- and 16-wide row
 * tiles, 1x1 outputs, N = 2, and no bias. */
static const conv_case conv_full[] = {
    {{1, 3, 17, 23}, 32, 9, 1, true},  {{2, 5, 12, 13}, 3, 9, 1, true},
    {{1, 32, 20, 19}, 3, 9, 1, true},  {{1, 3, 9, 9}, 1, 9, 1, true},
    {{1, 3, 24, 70}, 32, 9, 1, false}, {{1, 1, 10, 40}, 5, 9, 2, true},
    {{1, 4, 11, 30}, 5, 5, 2, true},   {{1, 3, 13, 19}, 6, 7, 1, true},
    {{2, 32, 17, 17}, 64, 3, 2, true}, {{1, 64, 12, 13}, 130, 3, 2, true},
    {{1, 32, 34, 66}, 64, 3, 2, true}, {{1, 3, 21, 40}, 16, 3, 2, false},
    {{1, 130, 10, 21}, 7, 3, 1, true}, {{2, 5, 7, 26}, 32, 3, 1, true},
    {{1, 7, 6, 37}, 9, 1, 1, true},    {{1, 2, 15, 40}, 4, 1, 2, true},
    {{1, 2, 14, 15}, 3, 11, 1, true},  {{1, 2, 16, 31}, 3, 11, 2, true},
    {{1, 3, 5, 5}, 2, 5, 1, true},     {{1, 3, 72, 72}, 32, 9, 1, true},
    {{1, 32, 72, 72}, 3, 9, 1, true},  {{2, 3, 19, 36}, 3, 3, 2, true},
    {{1, 6, 10, 27}, 4, 3, 1, true},
};
static const conv_case conv_quick[] = {
    {{1, 3, 17, 23}, 32, 9, 1, true}, {{2, 5, 12, 13}, 3, 9, 1, false},
    {{1, 4, 11, 30}, 5, 5, 2, true},  {{1, 5, 9, 21}, 9, 3, 2, true},
    {{1, 2, 14, 15}, 3, 11, 1, true},
};

static void conv_cases(void)
{
    ref_rng rng = ref_rng_make(302);
    size_t count;
    const conv_case *cases = CHECK_CASES(conv_full, conv_quick, count);
    for (size_t i = 0; i < count; i++) {
        const conv_case cc = cases[i];
        cls_shape out;
        CHECK_STATUS(cls_conv_kxk_shape(cc.in, cc.cout, cc.k, cc.stride, &out), CLS_OK);
        CHECK(out.n == cc.in.n && out.c == cc.cout && out.h == (cc.in.h - cc.k) / cc.stride + 1 &&
              out.w == (cc.in.w - cc.k) / cc.stride + 1);
        const size_t n_in = cls_shape_count(cc.in), n_out = cls_shape_count(out);
        const size_t n_w = (size_t)cc.cout * cc.in.c * cc.k * cc.k;
        const float *x = host_random(&rng, n_in, -1.0f, 1.0f);
        const float *w = host_random(&rng, n_w, -0.5f, 0.5f);
        const float *b = cc.bias ? host_random(&rng, (size_t)cc.cout, -1.0f, 1.0f) : NULL;
        float *want = host_zeros(n_out);
        ref_conv_kxk_forward(cc.in.n, cc.in.c, cc.in.h, cc.in.w, cc.cout, cc.k, cc.stride, x, w, b,
                             want);
        cl_mem d_out = dev_poisoned(n_out + GUARD);
        CHECK_STATUS(cls_conv_kxk_forward(dev, cc.in, cc.cout, cc.k, cc.stride, dev_upload(x, n_in),
                                          dev_upload(w, n_w),
                                          b ? dev_upload(b, (size_t)cc.cout) : NULL, d_out),
                     CLS_OK);
        CHECK(dev_expect_close(d_out, want, n_out, TOL_CONV, "conv_kxk %s -> %d k=%d s=%d%s",
                               shape_str(cc.in), cc.cout, cc.k, cc.stride,
                               cc.bias ? "" : " no bias"));
        CHECK(guard_intact(d_out, n_out));
    }
}

/* k = 3, stride 1 on an input padded with zeros is the 3x3 convolution of ops/conv.h. */
static void conv_matches_conv3x3(void)
{
    ref_rng rng = ref_rng_make(303);
    const cls_shape s = {2, 5, 9, 19}, padded = {2, 5, 11, 21};
    const int cout = 7;
    const size_t n_w = (size_t)cout * s.c * 9, n_out = (size_t)s.n * cout * s.h * s.w;
    const float *x = host_random(&rng, cls_shape_count(s), -1.0f, 1.0f);
    const float *w = host_random(&rng, n_w, -0.5f, 0.5f);
    const float *b = host_random(&rng, (size_t)cout, -1.0f, 1.0f);
    float *xp = host_zeros(cls_shape_count(padded));
    for (int p = 0; p < s.n * s.c; p++)
        for (int y = 0; y < s.h; y++)
            for (int i = 0; i < s.w; i++)
                xp[((size_t)p * padded.h + y + 1) * padded.w + i + 1] =
                    x[((size_t)p * s.h + y) * s.w + i];
    cl_mem d_w = dev_upload(w, n_w), d_b = dev_upload(b, (size_t)cout);
    cl_mem same = dev_poisoned(n_out), valid = dev_poisoned(n_out);
    CHECK_STATUS(
        cls_conv3x3_forward(dev, s, cout, dev_upload(x, cls_shape_count(s)), d_w, d_b, false, same),
        CLS_OK);
    CHECK_STATUS(cls_conv_kxk_forward(dev, padded, cout, 3, 1,
                                      dev_upload(xp, cls_shape_count(padded)), d_w, d_b, valid),
                 CLS_OK);
    CHECK(dev_expect_close(valid, dev_download(same, n_out), n_out, TOL_CONV,
                           "conv_kxk k=3 on zero padding = conv3x3_forward %s", shape_str(s)));
}

static void conv_errors(void)
{
    static const conv_case bad[] = {
        {{1, 1, 8, 8}, 1, 2, 1, true},         {{1, 1, 8, 8}, 1, 4, 2, true},
        {{1, 1, 8, 8}, 1, 0, 1, true},         {{1, 1, 8, 8}, 1, -1, 1, true},
        {{1, 1, 8, 8}, 1, 3, 3, true},         {{1, 1, 8, 8}, 1, 3, 0, true},
        {{1, 1, 8, 8}, 1, 3, -1, true},        {{1, 1, 8, 8}, 0, 3, 1, true},
        {{1, 1, 8, 8}, -4, 3, 1, true},        {{1, 1, 5, 8}, 1, 9, 1, true},
        {{1, 1, 9, 5}, 1, 9, 2, true},         {{1, 1, 2, 2}, 1, 3, 1, true},
        {{1, 3, 65536, 65536}, 1, 1, 1, true},
    };
    cl_mem a = dev_poisoned(64), b = dev_poisoned(64), c = dev_poisoned(64);
    for (size_t i = 0; i < COUNT_OF(bad); i++) {
        cls_shape out;
        CHECK_STATUS(cls_conv_kxk_shape(bad[i].in, bad[i].cout, bad[i].k, bad[i].stride, &out),
                     CLS_ERR_SHAPE);
        CHECK_STATUS(
            cls_conv_kxk_forward(dev, bad[i].in, bad[i].cout, bad[i].k, bad[i].stride, a, b, c, a),
            CLS_ERR_SHAPE);
    }
    CHECK_CONTAINS(cls_last_error(), "conv_kxk");
    for (size_t i = 0; i < bad_shape_count; i++)
        CHECK_STATUS(cls_conv_kxk_forward(dev, bad_shapes[i], 4, 1, 1, a, b, c, a), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_conv_kxk_forward(dev, oversized_shape, 4, 1, 1, a, b, c, a), CLS_ERR_SHAPE);
    /* The output alone too large: 1 -> 65536 channels of 65536 pixels. */
    CHECK_STATUS(cls_conv_kxk_forward(dev, (cls_shape){1, 1, 256, 256}, 65536, 1, 1, a, b, c, a),
                 CLS_ERR_SHAPE);
}

/* ---------------------------------------------------------------------------------------
 * Instance normalisation
 * ------------------------------------------------------------------------------------- */

typedef struct norm_case {
    cls_shape shape;
    cls_plane_view view; /* plane_h 0: the whole plane */
    bool relu, residual;
    float offset; /* added to the input: a mean far from 0 tests the two-pass variance */
} norm_case;

static const norm_case norm_full[] = {
    {{1, 3, 1, 1}, {0}, false, false, 0.0f},
    {{2, 5, 7, 9}, {0}, false, false, 0.0f},
    {{1, 3, 8, 9}, {10, 12, 1, 2}, true, true, 0.0f},
    {{2, 2, 8, 9}, {10, 12, 1, 2}, false, false, 3.0f},
    {{2, 32, 13, 17}, {0}, true, false, 0.0f},
    {{1, 130, 5, 11}, {0}, false, true, 0.0f},
    {{1, 1, 100, 70}, {0}, true, true, 10.0f},
    {{1, 4, 3, 200}, {5, 203, 1, 2}, false, true, 0.0f},
    {{2, 3, 31, 67}, {33, 69, 1, 1}, true, false, 0.0f},
    {{1, 2, 256, 256}, {0}, false, false, 4.0f},
    {{1, 1, 256, 256}, {258, 258, 1, 1}, true, true, 0.0f},
    /* Large planes with a mean far from 0: contiguous, and through a view. */
    {{2, 8, 515, 517}, {0}, true, true, 4.0f},
    {{1, 3, 515, 517}, {517, 520, 1, 2}, false, true, 4.0f},
};
static const norm_case norm_quick[] = {
    {{2, 5, 7, 9}, {0}, false, false, 0.0f},
    {{1, 3, 8, 9}, {10, 12, 1, 2}, true, true, 0.0f},
    {{1, 1, 3, 70}, {0}, true, true, 10.0f},
    {{1, 2, 64, 61}, {66, 63, 1, 1}, false, true, 4.0f},
};

/* How the planes are read: the device's own settings, then each work-item reading every
 * reduce_group-th element or a contiguous block, with every plane split into as many parts
 * (work-groups) as it has elements up to a limit (more parts than a work-group has items
 * with 300). */
typedef struct norm_layout {
    const char *name;
    bool own; /* the device's tunables unchanged */
    bool blocked;
    int max_parts;
} norm_layout;

static const norm_layout norm_layouts[] = {
    {"device", true, false, 0},         {"strided", false, false, 1},
    {"blocked", false, true, 1},        {"strided, split", false, false, 7},
    {"blocked, split", false, true, 7}, {"blocked, split 300", false, true, 300},
};

static void norm_cases(void)
{
    ref_rng rng = ref_rng_make(304);
    size_t count;
    const norm_case *cases = CHECK_CASES(norm_full, norm_quick, count);
    const cls_tunables saved = dev->tunables;
    for (size_t i = 0; i < count; i++) {
        const norm_case nc = cases[i];
        const cls_shape s = nc.shape;
        const cls_plane_view v = nc.view.plane_h ? nc.view : cls_plane_view_full(s);
        const size_t n = cls_shape_count(s);
        const size_t n_in = (size_t)s.n * s.c * v.plane_h * v.plane_w;
        float *x = host_random(&rng, n_in, -2.0f, 2.0f);
        for (size_t k = 0; k < n_in; k++)
            x[k] += nc.offset;
        float *region = host_zeros(n);
        for (int p = 0; p < s.n * s.c; p++)
            for (int y = 0; y < s.h; y++)
                for (int col = 0; col < s.w; col++)
                    region[((size_t)p * s.h + y) * s.w + col] =
                        x[((size_t)p * v.plane_h + v.y0 + y) * v.plane_w + v.x0 + col];
        const float *weight = host_random(&rng, (size_t)s.c, -2.0f, 2.0f);
        const float *bias = host_random(&rng, (size_t)s.c, -1.0f, 1.0f);
        const float *residual = nc.residual ? host_random(&rng, n, -1.0f, 1.0f) : NULL;
        float *want = host_zeros(n);
        ref_instance_norm_forward(s.n, s.c, s.h, s.w, region, weight, bias, 1e-5, nc.relu, residual,
                                  want);

        const cls_instance_norm_args base = {
            .shape = s,
            .input = dev_upload(x, n_in),
            .view = v,
            .weight = dev_upload(weight, (size_t)s.c),
            .bias = dev_upload(bias, (size_t)s.c),
            .eps = 1e-5f,
            .relu = nc.relu,
            .residual = residual ? dev_upload(residual, n) : NULL,
        };
        for (size_t l = 0; l < sizeof norm_layouts / sizeof norm_layouts[0]; l++) {
            const norm_layout *layout = &norm_layouts[l];
            dev->tunables = saved;
            if (!layout->own) {
                dev->tunables.norm_blocked = layout->blocked;
                dev->tunables.norm_groups_per_cu = 1 << 20;
                dev->tunables.norm_min_part = 1;
                dev->tunables.norm_max_parts = layout->max_parts;
            }
            cl_mem d_out = dev_poisoned(n + GUARD);
            cls_instance_norm_args args = base;
            args.output = d_out;
            CHECK_STATUS(cls_instance_norm_forward(dev, &args), CLS_OK);
            CHECK(dev_expect_close(d_out, want, n, TOL_ELEMENTWISE,
                                   "instance_norm %s of %dx%d at (%d, %d)%s%s offset %g, %s",
                                   shape_str(s), v.plane_h, v.plane_w, v.y0, v.x0,
                                   nc.relu ? " relu" : "", nc.residual ? " residual" : "",
                                   (double)nc.offset, layout->name));
            CHECK(guard_intact(d_out, n));
        }
    }
    dev->tunables = saved;
}

static void norm_errors(void)
{
    cl_mem a = dev_poisoned(4096), b = dev_poisoned(4096), w = dev_poisoned(64);
    const cls_shape s = {1, 2, 8, 9};
    static const cls_plane_view bad_views[] = {
        {10, 12, 3, 2},  /* rows past the plane */
        {10, 12, 1, 4},  /* columns past the plane */
        {7, 12, 0, 0},   /* plane shorter than the region */
        {10, 12, -1, 0}, /* negative offsets */
        {10, 12, 0, -1}, {0, 12, 0, 0},
    };
    cls_instance_norm_args args = {
        .shape = s, .input = a, .weight = w, .bias = w, .eps = 1e-5f, .output = b};
    for (size_t i = 0; i < COUNT_OF(bad_views); i++) {
        args.view = bad_views[i];
        CHECK_STATUS(cls_instance_norm_forward(dev, &args), CLS_ERR_SHAPE);
    }
    CHECK_CONTAINS(cls_last_error(), "instance_norm");
    for (size_t i = 0; i < bad_shape_count; i++) {
        args.shape = bad_shapes[i];
        args.view = (cls_plane_view){16, 16, 0, 0};
        CHECK_STATUS(cls_instance_norm_forward(dev, &args), CLS_ERR_SHAPE);
    }
    args.shape = oversized_shape;
    args.view = cls_plane_view_full(oversized_shape);
    CHECK_STATUS(cls_instance_norm_forward(dev, &args), CLS_ERR_SHAPE);
    args.shape = s;
    args.view = cls_plane_view_full(s);
    args.eps = NAN;
    CHECK_STATUS(cls_instance_norm_forward(dev, &args), CLS_ERR_INVALID_ARGUMENT);
    args.eps = -1.0f;
    CHECK_STATUS(cls_instance_norm_forward(dev, &args), CLS_ERR_INVALID_ARGUMENT);
}

/* ---------------------------------------------------------------------------------------
 * Speed, printed for information: the convolutions of a transformer network
 * ------------------------------------------------------------------------------------- */

static void conv_speed(void)
{
    if (check_quick())
        return;
    static const conv_case layers[] = {
        {{1, 3, 264, 264}, 32, 9, 1, true}, /* 256x256 output */
        {{1, 32, 264, 264}, 3, 9, 1, true},
        {{1, 32, 258, 258}, 64, 3, 2, true}, /* 128x128 output */
    };
    for (size_t i = 0; i < COUNT_OF(layers); i++) {
        const conv_case cc = layers[i];
        cls_shape out;
        CHECK_STATUS(cls_conv_kxk_shape(cc.in, cc.cout, cc.k, cc.stride, &out), CLS_OK);
        const size_t n_w = (size_t)cc.cout * cc.in.c * cc.k * cc.k;
        cl_mem x = dev_poisoned(cls_shape_count(cc.in)), y = dev_poisoned(cls_shape_count(out));
        cl_mem w = dev_poisoned(n_w), b = dev_poisoned((size_t)cc.cout);
        double best = INFINITY;
        for (int r = 0; r < 4; r++) {
            const double start = check_seconds();
            CHECK_STATUS(cls_conv_kxk_forward(dev, cc.in, cc.cout, cc.k, cc.stride, x, w, b, y),
                         CLS_OK);
            clFinish(dev->queue);
            if (r > 0)
                best = fmin(best, check_seconds() - start);
        }
        const double flops = 2.0 * n_w * out.h * out.w;
        printf("  conv_kxk %s -> %d k=%d s=%d: %.2f ms, %.1f GFLOP/s\n", shape_str(cc.in), cc.cout,
               cc.k, cc.stride, best * 1e3, flops / best * 1e-9);
    }
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(pad_cases);
    RUN_CASE(pad_errors);
    RUN_CASE(conv_cases);
    RUN_CASE(conv_matches_conv3x3);
    RUN_CASE(conv_errors);
    RUN_CASE(norm_cases);
    RUN_CASE(norm_errors);
    RUN_CASE(conv_speed);
    dev_close();
    return check_report();
}
