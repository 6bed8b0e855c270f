/* Launchers of the pooling kernels in cl/pool.cl. */
#include "ops/pool.h"
#include "runtime/launch.h"

cls_status cls_pool_output_shape(cls_shape in, cls_shape *out)
{
    cls_status status = cls_shape_check(in, "pool2x2");
    if (status != CLS_OK)
        return status;
    if (in.h < 2 || in.w < 2)
        return cls_error(CLS_ERR_SHAPE, "pool2x2: a %dx%d input is smaller than the window", in.h,
                         in.w);
    *out = (cls_shape){in.n, in.c, in.h / 2, in.w / 2};
    return CLS_OK;
}

cls_status cls_pool_forward(cls_ctx *ctx, cls_pool_kind kind, cls_shape in, cl_mem input,
                            cl_mem output)
{
    cls_shape out;
    cls_status status = cls_pool_output_shape(in, &out);
    if (status != CLS_OK)
        return status;
    const cl_int h = in.h, w = in.w, average = kind == CLS_POOL_AVG;
    const cls_arg args[] = {CLS_ARG(input), CLS_ARG(output), CLS_ARG(h), CLS_ARG(w),
                            CLS_ARG(average)};
    const size_t global[3] = {(size_t)out.w, (size_t)out.h, (size_t)in.n * (size_t)in.c};
    return cls_launch(ctx, "pool2x2_forward", args, 5, 3, global, NULL);
}

cls_status cls_pool_backward(cls_ctx *ctx, cls_pool_kind kind, cls_shape in, cl_mem input,
                             cl_mem grad_output, cl_mem grad_input)
{
    cls_shape out;
    cls_status status = cls_pool_output_shape(in, &out);
    if (status != CLS_OK)
        return status;
    const cl_int h = in.h, w = in.w, average = kind == CLS_POOL_AVG;
    const cls_arg args[] = {CLS_ARG(input), CLS_ARG(grad_output), CLS_ARG(grad_input),
                            CLS_ARG(h),     CLS_ARG(w),           CLS_ARG(average)};
    const size_t global[3] = {((size_t)in.w + 1) / 2, ((size_t)in.h + 1) / 2,
                              (size_t)in.n * (size_t)in.c};
    return cls_launch(ctx, "pool2x2_backward", args, 6, 3, global, NULL);
}
