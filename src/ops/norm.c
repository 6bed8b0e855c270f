/* Launcher of the instance normalisation kernel in cl/norm.cl. */
#include "ops/norm.h"
#include "runtime/launch.h"

#include <math.h>

cls_status cls_instance_norm_forward(cls_ctx *ctx, const cls_instance_norm_args *args)
{
    const cls_shape s = args->shape;
    const cls_plane_view v = args->view;
    cls_status status = cls_shape_check(s, "instance_norm");
    if (status != CLS_OK)
        return status;
    if (v.y0 < 0 || v.x0 < 0 || v.plane_h < 1 || v.plane_w < 1 || v.y0 > v.plane_h - s.h ||
        v.x0 > v.plane_w - s.w)
        return cls_error(CLS_ERR_SHAPE,
                         "instance_norm: a %dx%d region at (%d, %d) does not fit %dx%d planes", s.h,
                         s.w, v.y0, v.x0, v.plane_h, v.plane_w);
    status = cls_shape_check((cls_shape){s.n, s.c, v.plane_h, v.plane_w}, "instance_norm input");
    if (status != CLS_OK)
        return status;
    if (!(args->eps >= 0.0f) || !isfinite(args->eps))
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "instance_norm: eps %g", (double)args->eps);
    const cl_int c = s.c, h = s.h, w = s.w, plane_h = v.plane_h, plane_w = v.plane_w;
    const cl_int y0 = v.y0, x0 = v.x0, relu = args->relu, use_residual = args->residual != NULL;
    const cl_float eps = args->eps;
    const cls_arg a[] = {CLS_ARG(args->input),
                         CLS_ARG(args->weight),
                         CLS_ARG(args->bias),
                         CLS_ARG(args->residual),
                         CLS_ARG(args->output),
                         CLS_ARG(c),
                         CLS_ARG(h),
                         CLS_ARG(w),
                         CLS_ARG(plane_h),
                         CLS_ARG(plane_w),
                         CLS_ARG(y0),
                         CLS_ARG(x0),
                         CLS_ARG(eps),
                         CLS_ARG(relu),
                         CLS_ARG(use_residual)};
    const size_t group = (size_t)ctx->tunables.reduce_group;
    const size_t global[1] = {(size_t)s.n * (size_t)s.c * group};
    const size_t local[1] = {group};
    return cls_launch(ctx, "instance_norm_forward", a, 15, 1, global, local);
}
