/* Launcher of the reflection padding kernel in cl/pad.cl. */
#include "ops/pad.h"
#include "runtime/launch.h"

#include <stdint.h>

cls_status cls_pad_reflect_shape(cls_shape in, int scale, int pad, cls_shape *out)
{
    cls_status status = cls_shape_check(in, "pad_reflect");
    if (status != CLS_OK)
        return status;
    if (scale < 1 || pad < 0)
        return cls_error(CLS_ERR_SHAPE,
                         "pad_reflect: scale %d and padding %d (need scale >= 1, "
                         "padding >= 0)",
                         scale, pad);
    const long long h = (long long)in.h * scale, w = (long long)in.w * scale;
    if (pad >= h || pad >= w)
        return cls_error(CLS_ERR_SHAPE,
                         "pad_reflect: padding %d is not smaller than the %lldx%lld (upsampled) "
                         "input",
                         pad, h, w);
    if (h + 2LL * pad > INT32_MAX || w + 2LL * pad > INT32_MAX)
        return cls_error(CLS_ERR_SHAPE,
                         "pad_reflect: %dx%d scaled by %d and padded by %d is too "
                         "large",
                         in.h, in.w, scale, pad);
    cls_shape o = {in.n, in.c, (int)(h + 2 * pad), (int)(w + 2 * pad)};
    status = cls_shape_check(o, "pad_reflect output");
    if (status != CLS_OK)
        return status;
    *out = o;
    return CLS_OK;
}

cls_status cls_pad_reflect(cls_ctx *ctx, cls_shape in, int scale, int pad, cl_mem input,
                           cl_mem output)
{
    cls_shape out;
    cls_status status = cls_pad_reflect_shape(in, scale, pad, &out);
    if (status != CLS_OK)
        return status;
    const cl_int h = in.h, w = in.w, scale_arg = scale, pad_arg = pad;
    const cls_arg args[] = {CLS_ARG(input), CLS_ARG(output),    CLS_ARG(h),
                            CLS_ARG(w),     CLS_ARG(scale_arg), CLS_ARG(pad_arg)};
    const size_t global[3] = {(size_t)out.w, (size_t)out.h, (size_t)in.n * (size_t)in.c};
    return cls_launch(ctx, "pad_reflect", args, 6, 3, global, NULL);
}

cls_status cls_pad_reflect_backward(cls_ctx *ctx, cls_shape in, int scale, int pad,
                                    cl_mem grad_output, cl_mem grad_input)
{
    cls_shape out;
    cls_status status = cls_pad_reflect_shape(in, scale, pad, &out);
    if (status != CLS_OK)
        return status;
    const cl_int h = in.h, w = in.w, scale_arg = scale, pad_arg = pad;
    const cls_arg args[] = {CLS_ARG(grad_output), CLS_ARG(grad_input), CLS_ARG(h),
                            CLS_ARG(w),           CLS_ARG(scale_arg),  CLS_ARG(pad_arg)};
    const size_t global[3] = {(size_t)in.w, (size_t)in.h, (size_t)in.n * (size_t)in.c};
    return cls_launch(ctx, "pad_reflect_backward", args, 6, 3, global, NULL);
}
