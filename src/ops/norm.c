/* Launcher of the instance normalisation kernels in cl/norm.cl. */
#include "ops/norm.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdio.h>

/* How many parts (one work-group each) every plane of `count` elements is split into: enough
 * to give the device's compute units a few groups each, a function of the shape and the
 * device only, so the order of additions (and the result) never depends on timing. */
static int norm_parts(const cls_ctx *ctx, size_t planes, size_t count)
{
    const cls_tunables *t = &ctx->tunables;
    const size_t units = ctx->info.compute_units ? ctx->info.compute_units : 1;
    const size_t want = units * (size_t)(t->norm_groups_per_cu > 0 ? t->norm_groups_per_cu : 1);
    size_t parts = (want + planes - 1) / planes;
    const size_t min_part = t->norm_min_part > 0 ? (size_t)t->norm_min_part : 1;
    if (parts > count / min_part)
        parts = count / min_part;
    if (parts > (size_t)t->norm_max_parts)
        parts = (size_t)t->norm_max_parts;
    return parts < 1 ? 1 : (int)parts;
}

/* The op's shape, and that its region fits the input's planes; errors name op. */
static cls_status check_view(cls_shape s, cls_plane_view v, const char *op)
{
    cls_status status = cls_shape_check(s, op);
    if (status != CLS_OK)
        return status;
    if (v.y0 < 0 || v.x0 < 0 || v.plane_h < 1 || v.plane_w < 1 || v.y0 > v.plane_h - s.h ||
        v.x0 > v.plane_w - s.w)
        return cls_error(CLS_ERR_SHAPE, "%s: a %dx%d region at (%d, %d) does not fit %dx%d planes",
                         op, s.h, s.w, v.y0, v.x0, v.plane_h, v.plane_w);
    char input[64];
    snprintf(input, sizeof input, "%s input", op);
    return cls_shape_check((cls_shape){s.n, s.c, v.plane_h, v.plane_w}, input);
}

cls_status cls_instance_norm_forward(cls_ctx *ctx, const cls_instance_norm_args *args)
{
    const cls_shape s = args->shape;
    const cls_plane_view v = args->view;
    cls_status status = check_view(s, v, "instance_norm");
    if (status != CLS_OK)
        return status;
    if (!(args->eps >= 0.0f) || !isfinite(args->eps))
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "instance_norm: eps %g", (double)args->eps);

    const size_t planes = (size_t)s.n * (size_t)s.c;
    const cl_int c = s.c, plane_size = v.plane_h * v.plane_w;
    cl_int h = s.h, w = s.w, plane_w = v.plane_w, y0 = v.y0, x0 = v.x0;
    if (plane_w == w) { /* a region as wide as its plane is one contiguous run */
        x0 = y0 * plane_w;
        y0 = 0;
        w = h * w;
        h = 1;
        plane_w = w;
    }
    const cl_int relu = args->relu, use_residual = args->residual != NULL;
    const cl_int parts = norm_parts(ctx, planes, (size_t)h * (size_t)w);
    const cl_int blocked = ctx->tunables.norm_blocked;
    const cl_float eps = args->eps;
    const size_t group = (size_t)ctx->tunables.reduce_group;
    const size_t global[1] = {planes * (size_t)parts * group};
    const size_t local[1] = {group};

    const cl_int store_stats = args->stats != NULL;
    const cl_mem stats = store_stats ? args->stats : args->input; /* unused when not stored */
    cl_mem partial = args->input; /* unused by the kernel with one part */
    if (parts > 1) {
        status = cls_ctx_scratch(ctx, CLS_SCRATCH_REDUCE,
                                 planes * (size_t)parts * 2 * sizeof(float), &partial);
        if (status != CLS_OK)
            return status;
        const cls_arg sa[] = {CLS_ARG(args->input), CLS_ARG(h),       CLS_ARG(w),
                              CLS_ARG(plane_size),  CLS_ARG(plane_w), CLS_ARG(y0),
                              CLS_ARG(x0),          CLS_ARG(parts),   CLS_ARG(blocked),
                              CLS_ARG(partial)};
        status = cls_launch(ctx, "instance_norm_stats", sa, 10, 1, global, local);
        if (status != CLS_OK)
            return status;
    }
    const cls_arg a[] = {CLS_ARG(args->input),
                         CLS_ARG(args->weight),
                         CLS_ARG(args->bias),
                         CLS_ARG(args->residual),
                         CLS_ARG(args->output),
                         CLS_ARG(c),
                         CLS_ARG(h),
                         CLS_ARG(w),
                         CLS_ARG(plane_size),
                         CLS_ARG(plane_w),
                         CLS_ARG(y0),
                         CLS_ARG(x0),
                         CLS_ARG(eps),
                         CLS_ARG(relu),
                         CLS_ARG(use_residual),
                         CLS_ARG(parts),
                         CLS_ARG(blocked),
                         CLS_ARG(partial),
                         CLS_ARG(store_stats),
                         CLS_ARG(stats)};
    return cls_launch(ctx, "instance_norm_forward", a, 20, 1, global, local);
}

cls_status cls_instance_norm_backward(cls_ctx *ctx, const cls_instance_norm_backward_args *args)
{
    const cls_shape s = args->shape;
    const cls_plane_view v = args->view;
    cls_status status = check_view(s, v, "instance_norm_backward");
    if (status != CLS_OK)
        return status;
    if (!args->stats || (args->relu && !args->output))
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "instance_norm_backward: needs the forward's stats%s",
                         args->relu ? " and output (relu)" : "");

    const size_t planes = (size_t)s.n * (size_t)s.c;
    const cl_int c = s.c, n = s.n, plane_size = v.plane_h * v.plane_w;
    cl_int h = s.h, w = s.w, plane_w = v.plane_w, y0 = v.y0, x0 = v.x0;
    if (plane_w == w) { /* a region as wide as its plane is one contiguous run */
        x0 = y0 * plane_w;
        y0 = 0;
        w = h * w;
        h = 1;
        plane_w = w;
    }
    const cl_int relu = args->relu;
    const cl_mem out = relu ? args->output : args->grad_output; /* read only when relu */
    const cl_int parts = norm_parts(ctx, planes, (size_t)h * (size_t)w);
    const size_t group = (size_t)ctx->tunables.reduce_group;
    const size_t global[1] = {planes * (size_t)parts * group};
    const size_t local[1] = {group};

    cl_mem partial;
    status = cls_ctx_scratch(ctx, CLS_SCRATCH_REDUCE, planes * (size_t)parts * 2 * sizeof(float),
                             &partial);
    if (status != CLS_OK)
        return status;
    const cls_arg sa[] = {
        CLS_ARG(args->input), CLS_ARG(h),    CLS_ARG(w),           CLS_ARG(plane_size),
        CLS_ARG(plane_w),     CLS_ARG(y0),   CLS_ARG(x0),          CLS_ARG(args->grad_output),
        CLS_ARG(out),         CLS_ARG(relu), CLS_ARG(args->stats), CLS_ARG(parts),
        CLS_ARG(partial)};
    status = cls_launch(ctx, "instance_norm_backward_sums", sa, 13, 1, global, local);
    if (status != CLS_OK)
        return status;
    if (args->grad_weight || args->grad_bias) {
        const cl_int use_weight = args->grad_weight != NULL, use_bias = args->grad_bias != NULL;
        const cl_mem gw = use_weight ? args->grad_weight : partial;
        const cl_mem gb = use_bias ? args->grad_bias : partial;
        const cls_arg pa[] = {CLS_ARG(partial),    CLS_ARG(n),       CLS_ARG(c),
                              CLS_ARG(parts),      CLS_ARG(gw),      CLS_ARG(gb),
                              CLS_ARG(use_weight), CLS_ARG(use_bias)};
        const size_t pg[1] = {(size_t)c};
        status = cls_launch(ctx, "instance_norm_backward_params", pa, 8, 1, pg, NULL);
        if (status != CLS_OK)
            return status;
    }
    const cls_arg da[] = {
        CLS_ARG(args->input),       CLS_ARG(c),       CLS_ARG(h),       CLS_ARG(w),
        CLS_ARG(plane_size),        CLS_ARG(plane_w), CLS_ARG(y0),      CLS_ARG(x0),
        CLS_ARG(args->grad_output), CLS_ARG(out),     CLS_ARG(relu),    CLS_ARG(args->stats),
        CLS_ARG(args->weight),      CLS_ARG(parts),   CLS_ARG(partial), CLS_ARG(args->grad_input)};
    return cls_launch(ctx, "instance_norm_backward_data", da, 16, 1, global, local);
}
