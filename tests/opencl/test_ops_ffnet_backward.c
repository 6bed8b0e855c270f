/* The backward passes of the transformer network's layers on the device against the
 * reference: reflection padding with nearest upsampling, k x k convolution (data, weights,
 * bias) with stride 1 and 2, and instance normalisation through a plane view with ReLU, on
 * awkward shapes and with planes split into parts; the shapes each op must refuse. Prints
 * the speed of the layers of a 256x256 network (not asserted). */
#include "check.h"
#include "device_util.h"
#include "ops/conv_kxk.h"
#include "ops/norm.h"
#include "ops/pad.h"
#include "reference/ref_ops.h"

#include <math.h>

/* Elements past the end of an output that must stay untouched (poisoned with NaN). */
enum { GUARD = 29 };

static bool guard_intact(cl_mem buffer, size_t n)
{
    const float *all = dev_download(buffer, n + GUARD);
    for (size_t i = n; i < n + GUARD; i++)
        if (!isnan(all[i]))
            return false;
    return true;
}

/* Reductions split into as many parts as the shape allows (up to max_parts), or the
 * device's own settings (max_parts 0). */
static void set_parts(const cls_tunables *saved, int max_parts)
{
    dev->tunables = *saved;
    if (max_parts > 0) {
        dev->tunables.norm_groups_per_cu = 1 << 20;
        dev->tunables.norm_min_part = 1;
        dev->tunables.norm_max_parts = max_parts;
    }
}

static const int part_layouts[] = {0, 1, 7, 300};

/* ---------------------------------------------------------------------------------------
 * Reflection padding
 * ------------------------------------------------------------------------------------- */

typedef struct pad_case {
    cls_shape in;
    int scale, pad;
} pad_case;

static const pad_case pad_full[] = {
    {{1, 1, 1, 1}, 1, 0},   {{1, 1, 4, 4}, 1, 3},    {{2, 3, 5, 5}, 1, 4}, {{1, 5, 7, 13}, 2, 1},
    {{2, 3, 9, 6}, 2, 11},  {{1, 2, 1, 3}, 2, 1},    {{1, 2, 3, 4}, 3, 8}, {{1, 130, 6, 5}, 1, 4},
    {{2, 3, 64, 37}, 1, 4}, {{1, 64, 33, 31}, 2, 1}, {{2, 1, 2, 2}, 1, 1}, {{1, 3, 2, 7}, 2, 3},
};
static const pad_case pad_quick[] = {
    {{2, 3, 5, 5}, 1, 4}, {{1, 5, 7, 13}, 2, 1}, {{1, 2, 3, 4}, 3, 8}, {{2, 1, 2, 2}, 1, 1}};

static void pad_backward_cases(void)
{
    ref_rng rng = ref_rng_make(401);
    size_t count;
    const pad_case *cases = CHECK_CASES(pad_full, pad_quick, count);
    for (size_t i = 0; i < count; i++) {
        const pad_case pc = cases[i];
        cls_shape out;
        CHECK_STATUS(cls_pad_reflect_shape(pc.in, pc.scale, pc.pad, &out), CLS_OK);
        const size_t n_in = cls_shape_count(pc.in), n_out = cls_shape_count(out);
        const float *g = host_random(&rng, n_out, -1.0f, 1.0f);
        float *want = host_zeros(n_in);
        ref_pad_reflect_backward(pc.in.n, pc.in.c, pc.in.h, pc.in.w, pc.scale, pc.pad, g, want);
        cl_mem d_in = dev_poisoned(n_in + GUARD);
        CHECK_STATUS(
            cls_pad_reflect_backward(dev, pc.in, pc.scale, pc.pad, dev_upload(g, n_out), d_in),
            CLS_OK);
        CHECK(dev_expect_close(d_in, want, n_in, TOL_ELEMENTWISE,
                               "pad_reflect_backward %s scale %d pad %d", shape_str(pc.in),
                               pc.scale, pc.pad));
        CHECK(guard_intact(d_in, n_in));
    }
}

static void pad_backward_errors(void)
{
    cl_mem a = dev_poisoned(64), b = dev_poisoned(64);
    CHECK_STATUS(cls_pad_reflect_backward(dev, (cls_shape){1, 1, 5, 5}, 1, 5, a, b), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_pad_reflect_backward(dev, (cls_shape){1, 1, 4, 4}, 0, 1, a, b), CLS_ERR_SHAPE);
    CHECK_CONTAINS(cls_last_error(), "pad_reflect");
    for (size_t i = 0; i < bad_shape_count; i++)
        CHECK_STATUS(cls_pad_reflect_backward(dev, bad_shapes[i], 1, 0, a, b), CLS_ERR_SHAPE);
    CHECK_STATUS(cls_pad_reflect_backward(dev, oversized_shape, 1, 0, a, b), CLS_ERR_SHAPE);
}

/* ---------------------------------------------------------------------------------------
 * k x k convolution
 * ------------------------------------------------------------------------------------- */

typedef struct conv_case {
    cls_shape in; /* already padded */
    int cout, k, stride;
} conv_case;

/* k 1, 3, 5, 9, 11 (3 and 9 with kernels of their own, 1 only for weights), both strides,
 * channels 1, 3, 5, 32, 130 on both sides, stride-2 inputs with an unread last row and
 * column, N = 2. */
static const conv_case conv_full[] = {
    {{1, 3, 17, 23}, 32, 9, 1},  {{2, 5, 12, 13}, 3, 9, 1},    {{1, 32, 20, 19}, 3, 9, 1},
    {{1, 3, 9, 9}, 1, 9, 1},     {{1, 1, 10, 40}, 5, 9, 2},    {{1, 4, 11, 30}, 5, 5, 2},
    {{2, 32, 17, 17}, 64, 3, 2}, {{1, 64, 12, 13}, 130, 3, 2}, {{2, 3, 22, 41}, 16, 3, 2},
    {{1, 130, 10, 21}, 7, 3, 1}, {{2, 5, 7, 26}, 32, 3, 1},    {{1, 7, 6, 37}, 9, 1, 1},
    {{1, 2, 15, 40}, 4, 1, 2},   {{1, 2, 14, 15}, 3, 11, 1},   {{2, 1, 3, 3}, 1, 3, 1},
    {{1, 3, 72, 72}, 32, 9, 1},  {{2, 130, 9, 8}, 5, 3, 1},    {{1, 5, 8, 9}, 130, 3, 2},
};
static const conv_case conv_quick[] = {
    {{1, 3, 17, 23}, 32, 9, 1}, {{2, 5, 12, 13}, 3, 9, 1}, {{1, 4, 11, 30}, 5, 5, 2},
    {{2, 5, 9, 21}, 9, 3, 2},   {{2, 5, 7, 26}, 7, 3, 1},  {{1, 2, 15, 40}, 4, 1, 2},
};

static void conv_backward_cases(void)
{
    ref_rng rng = ref_rng_make(402);
    size_t count;
    const conv_case *cases = CHECK_CASES(conv_full, conv_quick, count);
    const cls_tunables saved = dev->tunables;
    for (size_t i = 0; i < count; i++) {
        const conv_case cc = cases[i];
        cls_shape out;
        CHECK_STATUS(cls_conv_kxk_shape(cc.in, cc.cout, cc.k, cc.stride, &out), CLS_OK);
        const size_t n_in = cls_shape_count(cc.in), n_out = cls_shape_count(out);
        const size_t n_w = (size_t)cc.cout * cc.in.c * cc.k * cc.k;
        const float *x = host_random(&rng, n_in, -1.0f, 1.0f);
        const float *w = host_random(&rng, n_w, -0.5f, 0.5f);
        const float *g = host_random(&rng, n_out, -1.0f, 1.0f);
        float *want_in = host_zeros(n_in), *want_w = host_zeros(n_w);
        float *want_b = host_zeros((size_t)cc.cout);
        ref_conv_kxk_backward_data(cc.in.n, cc.in.c, cc.in.h, cc.in.w, cc.cout, cc.k, cc.stride, g,
                                   w, want_in);
        ref_conv_kxk_backward_weights(cc.in.n, cc.in.c, cc.in.h, cc.in.w, cc.cout, cc.k, cc.stride,
                                      x, g, want_w, want_b);
        cl_mem d_x = dev_upload(x, n_in), d_w = dev_upload(w, n_w), d_g = dev_upload(g, n_out);

        cl_mem d_in = dev_poisoned(n_in + GUARD);
        CHECK_STATUS(
            cls_conv_kxk_backward_data(dev, cc.in, cc.cout, cc.k, cc.stride, d_g, d_w, d_in),
            CLS_OK);
        CHECK(dev_expect_close(d_in, want_in, n_in, TOL_CONV,
                               "conv_kxk_backward_data %s -> %d k=%d s=%d", shape_str(cc.in),
                               cc.cout, cc.k, cc.stride));
        CHECK(guard_intact(d_in, n_in));

        for (size_t l = 0; l < COUNT_OF(part_layouts); l++) {
            set_parts(&saved, part_layouts[l]);
            cl_mem d_gw = dev_poisoned(n_w + GUARD), d_gb = dev_poisoned((size_t)cc.cout + GUARD);
            CHECK_STATUS(cls_conv_kxk_backward_weights(dev, cc.in, cc.cout, cc.k, cc.stride, d_x,
                                                       d_g, d_gw, l == 1 ? NULL : d_gb),
                         CLS_OK);
            CHECK(dev_expect_close(d_gw, want_w, n_w, TOL_CONV,
                                   "conv_kxk_backward_weights %s -> %d k=%d s=%d, parts <= %d",
                                   shape_str(cc.in), cc.cout, cc.k, cc.stride, part_layouts[l]));
            CHECK(guard_intact(d_gw, n_w));
            if (l != 1) {
                CHECK(dev_expect_close(d_gb, want_b, (size_t)cc.cout, TOL_CONV, "  bias gradient"));
                CHECK(guard_intact(d_gb, (size_t)cc.cout));
            } else {
                CHECK(guard_intact(d_gb, 0)); /* NULL grad_bias: nothing written */
            }
        }
    }
    dev->tunables = saved;
}

static void conv_backward_errors(void)
{
    static const conv_case bad[] = {
        {{1, 1, 8, 8}, 1, 2, 1}, {{1, 1, 8, 8}, 1, 3, 3}, {{1, 1, 8, 8}, 0, 3, 1},
        {{1, 1, 5, 8}, 1, 9, 1}, {{1, 1, 2, 2}, 1, 3, 1},
    };
    cl_mem a = dev_poisoned(64), b = dev_poisoned(64), c = dev_poisoned(64);
    for (size_t i = 0; i < COUNT_OF(bad); i++) {
        CHECK_STATUS(cls_conv_kxk_backward_data(dev, bad[i].in, bad[i].cout, bad[i].k,
                                                bad[i].stride, a, b, c),
                     CLS_ERR_SHAPE);
        CHECK_STATUS(cls_conv_kxk_backward_weights(dev, bad[i].in, bad[i].cout, bad[i].k,
                                                   bad[i].stride, a, b, c, a),
                     CLS_ERR_SHAPE);
    }
    CHECK_CONTAINS(cls_last_error(), "conv_kxk");
    for (size_t i = 0; i < bad_shape_count; i++) {
        CHECK_STATUS(cls_conv_kxk_backward_data(dev, bad_shapes[i], 4, 1, 1, a, b, c),
                     CLS_ERR_SHAPE);
        CHECK_STATUS(cls_conv_kxk_backward_weights(dev, bad_shapes[i], 4, 1, 1, a, b, c, a),
                     CLS_ERR_SHAPE);
    }
}

/* ---------------------------------------------------------------------------------------
 * Instance normalisation
 * ------------------------------------------------------------------------------------- */

typedef struct norm_case {
    cls_shape shape;
    cls_plane_view view; /* plane_h 0: the whole plane */
    bool relu;
    float offset; /* added to the input */
} norm_case;

static const norm_case norm_full[] = {
    {{1, 3, 1, 3}, {0}, false, 0.0f},
    {{2, 5, 7, 9}, {0}, false, 0.0f},
    {{2, 3, 8, 9}, {10, 12, 1, 2}, true, 0.0f},
    {{2, 2, 8, 9}, {10, 12, 1, 2}, false, 3.0f},
    {{2, 32, 13, 17}, {0}, true, 0.0f},
    {{1, 130, 5, 11}, {0}, false, 0.0f},
    {{1, 1, 100, 70}, {0}, true, 10.0f},
    {{1, 4, 3, 200}, {5, 203, 1, 2}, false, 0.0f},
    {{2, 3, 31, 67}, {33, 69, 1, 1}, true, 0.0f},
    {{2, 8, 130, 129}, {0}, true, 4.0f},
    {{1, 3, 127, 131}, {129, 134, 1, 2}, false, 4.0f},
};
static const norm_case norm_quick[] = {
    {{2, 5, 7, 9}, {0}, false, 0.0f},
    {{2, 3, 8, 9}, {10, 12, 1, 2}, true, 0.0f},
    {{1, 1, 3, 70}, {0}, true, 10.0f},
    {{2, 2, 64, 61}, {66, 63, 1, 1}, false, 4.0f},
};

static void norm_backward_cases(void)
{
    ref_rng rng = ref_rng_make(403);
    size_t count;
    const norm_case *cases = CHECK_CASES(norm_full, norm_quick, count);
    const cls_tunables saved = dev->tunables;
    for (size_t i = 0; i < count; i++) {
        const norm_case nc = cases[i];
        const cls_shape s = nc.shape;
        const cls_plane_view v = nc.view.plane_h ? nc.view : cls_plane_view_full(s);
        const size_t n = cls_shape_count(s), planes = (size_t)s.n * s.c;
        const size_t n_in = planes * v.plane_h * v.plane_w;
        float *x = host_random(&rng, n_in, -2.0f, 2.0f);
        for (size_t k = 0; k < n_in; k++)
            x[k] += nc.offset;
        float *region = host_zeros(n);
        for (size_t p = 0; p < planes; p++)
            for (int y = 0; y < s.h; y++)
                for (int col = 0; col < s.w; col++)
                    region[(p * s.h + y) * s.w + col] =
                        x[(p * v.plane_h + v.y0 + y) * v.plane_w + v.x0 + col];
        const float *weight = host_random(&rng, (size_t)s.c, -2.0f, 2.0f);
        const float *bias = host_random(&rng, (size_t)s.c, -1.0f, 1.0f);
        const float *g = host_random(&rng, n, -1.0f, 1.0f);
        float *want_in = host_zeros(n), *want_w = host_zeros((size_t)s.c);
        float *want_b = host_zeros((size_t)s.c);
        ref_instance_norm_backward(s.n, s.c, s.h, s.w, region, weight, bias, 1e-5, nc.relu, g,
                                   want_in, want_w, want_b);

        cl_mem d_x = dev_upload(x, n_in), d_weight = dev_upload(weight, (size_t)s.c);
        cl_mem d_out = dev_poisoned(n), d_stats = dev_poisoned(planes * 2 + GUARD);
        cls_instance_norm_args fwd = {.shape = s,
                                      .input = d_x,
                                      .view = v,
                                      .weight = d_weight,
                                      .bias = dev_upload(bias, (size_t)s.c),
                                      .eps = 1e-5f,
                                      .relu = nc.relu,
                                      .output = d_out,
                                      .stats = d_stats};
        CHECK_STATUS(cls_instance_norm_forward(dev, &fwd), CLS_OK);
        CHECK(guard_intact(d_stats, planes * 2));
        const char *label = nc.relu ? " relu" : "";
        for (size_t l = 0; l < COUNT_OF(part_layouts); l++) {
            set_parts(&saved, part_layouts[l]);
            const bool in_place = l == 2;
            cl_mem d_g = dev_upload(g, n);
            cl_mem d_gi = in_place ? d_g : dev_poisoned(n + GUARD);
            cl_mem d_gw = dev_poisoned((size_t)s.c + GUARD), d_gb = dev_poisoned((size_t)s.c);
            cls_instance_norm_backward_args args = {.shape = s,
                                                    .input = d_x,
                                                    .view = v,
                                                    .weight = d_weight,
                                                    .stats = d_stats,
                                                    .relu = nc.relu,
                                                    .output = nc.relu ? d_out : NULL,
                                                    .grad_output = d_g,
                                                    .grad_input = d_gi,
                                                    .grad_weight = d_gw,
                                                    .grad_bias = l == 1 ? NULL : d_gb};
            CHECK_STATUS(cls_instance_norm_backward(dev, &args), CLS_OK);
            CHECK(dev_expect_close(d_gi, want_in, n, TOL_CONV,
                                   "instance_norm_backward %s of %dx%d at (%d, %d)%s offset %g, "
                                   "parts <= %d%s",
                                   shape_str(s), v.plane_h, v.plane_w, v.y0, v.x0, label,
                                   (double)nc.offset, part_layouts[l],
                                   in_place ? ", in place" : ""));
            if (!in_place)
                CHECK(guard_intact(d_gi, n));
            CHECK(dev_expect_close(d_gw, want_w, (size_t)s.c, TOL_CONV, "  weight gradient"));
            CHECK(guard_intact(d_gw, (size_t)s.c));
            if (l != 1)
                CHECK(dev_expect_close(d_gb, want_b, (size_t)s.c, TOL_CONV, "  bias gradient"));
        }
    }
    dev->tunables = saved;
}

static void norm_backward_errors(void)
{
    cl_mem a = dev_poisoned(4096), b = dev_poisoned(4096), w = dev_poisoned(64);
    const cls_shape s = {1, 2, 8, 9};
    cls_instance_norm_backward_args args = {.shape = s,
                                            .input = a,
                                            .view = {10, 12, 3, 2},
                                            .weight = w,
                                            .stats = w,
                                            .grad_output = a,
                                            .grad_input = b};
    CHECK_STATUS(cls_instance_norm_backward(dev, &args), CLS_ERR_SHAPE);
    CHECK_CONTAINS(cls_last_error(), "instance_norm_backward");
    args.view = cls_plane_view_full(s);
    args.stats = NULL;
    CHECK_STATUS(cls_instance_norm_backward(dev, &args), CLS_ERR_INVALID_ARGUMENT);
    args.stats = w;
    args.relu = true; /* without the forward's output */
    CHECK_STATUS(cls_instance_norm_backward(dev, &args), CLS_ERR_INVALID_ARGUMENT);
    args.relu = false;
    for (size_t i = 0; i < bad_shape_count; i++) {
        args.shape = bad_shapes[i];
        args.view = (cls_plane_view){16, 16, 0, 0};
        CHECK_STATUS(cls_instance_norm_backward(dev, &args), CLS_ERR_SHAPE);
    }
}

/* ---------------------------------------------------------------------------------------
 * Speed, printed for information: the backward layers of a 256x256 transformer network
 * ------------------------------------------------------------------------------------- */

static double best_of(cls_status (*run)(const void *), const void *arg)
{
    double best = INFINITY;
    for (int r = 0; r < 3; r++) {
        const double start = check_seconds();
        CHECK_STATUS(run(arg), CLS_OK);
        clFinish(dev->queue);
        if (r > 0)
            best = fmin(best, check_seconds() - start);
    }
    return best;
}

typedef struct conv_run {
    conv_case cc;
    cl_mem x, w, g, gi, gw, gb;
} conv_run;

static cls_status run_bd(const void *p)
{
    const conv_run *r = p;
    return cls_conv_kxk_backward_data(dev, r->cc.in, r->cc.cout, r->cc.k, r->cc.stride, r->g, r->w,
                                      r->gi);
}

static cls_status run_bw(const void *p)
{
    const conv_run *r = p;
    return cls_conv_kxk_backward_weights(dev, r->cc.in, r->cc.cout, r->cc.k, r->cc.stride, r->x,
                                         r->g, r->gw, r->gb);
}

static cls_status run_norm(const void *p)
{
    return cls_instance_norm_backward(dev, p);
}

static void backward_speed(void)
{
    if (check_quick())
        return;
    static const conv_case layers[] = {
        {{1, 3, 264, 264}, 32, 9, 1},  /* conv1, 256x256 output */
        {{1, 32, 258, 258}, 64, 3, 2}, /* conv2, 128x128 output */
        {{1, 128, 66, 66}, 128, 3, 1}, /* a residual block's conv at 64x64 */
        {{1, 32, 264, 264}, 3, 9, 1},  /* the last conv */
    };
    for (size_t i = 0; i < COUNT_OF(layers); i++) {
        conv_run r = {.cc = layers[i]};
        cls_shape out;
        CHECK_STATUS(cls_conv_kxk_shape(r.cc.in, r.cc.cout, r.cc.k, r.cc.stride, &out), CLS_OK);
        const size_t n_w = (size_t)r.cc.cout * r.cc.in.c * r.cc.k * r.cc.k;
        r.x = dev_poisoned(cls_shape_count(r.cc.in));
        r.gi = dev_poisoned(cls_shape_count(r.cc.in));
        r.g = dev_poisoned(cls_shape_count(out));
        r.w = dev_poisoned(n_w);
        r.gw = dev_poisoned(n_w);
        r.gb = dev_poisoned((size_t)r.cc.cout);
        const double flops = 2.0 * n_w * out.h * out.w;
        const double bd = best_of(run_bd, &r), bw = best_of(run_bw, &r);
        printf("  conv_kxk %s -> %d k=%d s=%d: backward data %.2f ms (%.1f GFLOP/s), weights "
               "%.2f ms (%.1f GFLOP/s)\n",
               shape_str(r.cc.in), r.cc.cout, r.cc.k, r.cc.stride, bd * 1e3, flops / bd * 1e-9,
               bw * 1e3, flops / bw * 1e-9);
    }
    const cls_shape s = {1, 32, 256, 256};
    const size_t n = cls_shape_count(s);
    cls_instance_norm_backward_args args = {.shape = s,
                                            .input = dev_poisoned(n),
                                            .view = cls_plane_view_full(s),
                                            .weight = dev_poisoned(32),
                                            .stats = dev_poisoned(64),
                                            .relu = true,
                                            .output = dev_poisoned(n),
                                            .grad_output = dev_poisoned(n),
                                            .grad_input = dev_poisoned(n),
                                            .grad_weight = dev_poisoned(32),
                                            .grad_bias = dev_poisoned(32)};
    const double t = best_of(run_norm, &args);
    printf("  instance_norm_backward %s relu: %.2f ms, %.1f GB/s\n", shape_str(s), t * 1e3,
           5.0 * n * sizeof(float) / t * 1e-9);
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(pad_backward_cases);
    RUN_CASE(pad_backward_errors);
    RUN_CASE(conv_backward_cases);
    RUN_CASE(conv_backward_errors);
    RUN_CASE(norm_backward_cases);
    RUN_CASE(norm_backward_errors);
    RUN_CASE(backward_speed);
    dev_close();
    return check_report();
}
