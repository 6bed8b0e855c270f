/* Vector helpers: clEnqueueFillBuffer, CLBlast level-1 routines, cl/elementwise.cl. */
#include "ops/elementwise.h"
#include "runtime/blas_status.h"
#include "runtime/launch.h"

#include <stdint.h>

cls_status cls_fill(cls_ctx *ctx, size_t count, float value, cl_mem x)
{
    if (count == 0)
        return CLS_OK;
    cl_int err = clEnqueueFillBuffer(ctx->queue, x, &value, sizeof value, 0, count * sizeof value,
                                     0, NULL, NULL);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "clEnqueueFillBuffer");
}

cls_status cls_copy_floats(cls_ctx *ctx, cl_mem from, cl_mem to, size_t to_offset, size_t count)
{
    if (count == 0)
        return CLS_OK;
    const cl_int err = clEnqueueCopyBuffer(ctx->queue, from, to, 0, to_offset * sizeof(float),
                                           count * sizeof(float), 0, NULL, NULL);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "clEnqueueCopyBuffer");
}

cls_status cls_scale(cls_ctx *ctx, size_t count, float a, cl_mem x)
{
    cls_status status = CLS_OK;
    if (count > 0)
        CLS_RUN_BLAS(ctx, CLBlastSscal(count, a, x, 0, 1, &ctx->queue, NULL), "CLBlastSscal");
fail:
    return status;
}

cls_status cls_axpy(cls_ctx *ctx, size_t count, float a, cl_mem x, cl_mem y)
{
    cls_status status = CLS_OK;
    if (count > 0)
        CLS_RUN_BLAS(ctx, CLBlastSaxpy(count, a, x, 0, 1, y, 0, 1, &ctx->queue, NULL),
                     "CLBlastSaxpy");
fail:
    return status;
}

cls_status cls_axpy_clamp(cls_ctx *ctx, size_t count, float a, cl_mem x, float lo, float hi,
                          cl_mem y)
{
    if (count > UINT32_MAX)
        return cls_error(CLS_ERR_SHAPE, "axpy_clamp: %zu elements", count);
    const cl_uint n = (cl_uint)count;
    const cls_arg args[] = {CLS_ARG(y),  CLS_ARG(x),  CLS_ARG(a),
                            CLS_ARG(lo), CLS_ARG(hi), CLS_ARG(n)};
    return cls_launch(ctx, "axpy_clamp", args, 6, 1, &count, NULL);
}

/* Up to four per-channel values as a kernel's float4 (unused lanes 0). */
static cl_float4 channel_vector(const float *values, int channels)
{
    cl_float4 v = {{0}};
    for (int c = 0; c < channels; c++)
        v.s[c] = values[c];
    return v;
}

static cls_status check_channels(cls_shape s, const char *op)
{
    cls_status status = cls_shape_check(s, op);
    if (status == CLS_OK && s.c > 4)
        status = cls_error(CLS_ERR_SHAPE, "%s: %d channels (at most 4)", op, s.c);
    return status;
}

cls_status cls_add_channel_values(cls_ctx *ctx, cls_shape s, const float *values, cl_mem x)
{
    cls_status status = check_channels(s, "add_channel_values");
    if (status != CLS_OK)
        return status;
    const cl_float4 v = channel_vector(values, s.c);
    const cl_uint channels = (cl_uint)s.c, plane = (cl_uint)(s.h * s.w);
    const cl_uint n = (cl_uint)cls_shape_count(s);
    const size_t global = cls_shape_count(s);
    const cls_arg args[] = {CLS_ARG(x), CLS_ARG(v), CLS_ARG(channels), CLS_ARG(plane), CLS_ARG(n)};
    return cls_launch(ctx, "add_channel_values", args, 5, 1, &global, NULL);
}

cls_status cls_scale_shift_channels(cls_ctx *ctx, cls_shape s, const float *scale,
                                    const float *shift, cl_mem x, cl_mem out)
{
    cls_status status = check_channels(s, "scale_shift_channels");
    if (status != CLS_OK)
        return status;
    const cl_float4 a = channel_vector(scale, s.c), b = channel_vector(shift, s.c);
    const cl_uint channels = (cl_uint)s.c, plane = (cl_uint)(s.h * s.w);
    const cl_uint n = (cl_uint)cls_shape_count(s);
    const size_t global = cls_shape_count(s);
    const cls_arg args[] = {CLS_ARG(x),        CLS_ARG(out),   CLS_ARG(a), CLS_ARG(b),
                            CLS_ARG(channels), CLS_ARG(plane), CLS_ARG(n)};
    return cls_launch(ctx, "scale_shift_channels", args, 7, 1, &global, NULL);
}

cls_status cls_mask_planes(cls_ctx *ctx, cls_shape s, cl_mem x, cl_mem mask, bool accumulate,
                           cl_mem out)
{
    cls_status status = cls_shape_check(s, "mask_planes");
    if (status != CLS_OK)
        return status;
    const cl_uint plane = (cl_uint)(s.h * s.w), add = accumulate ? 1u : 0u;
    const cl_uint n = (cl_uint)cls_shape_count(s);
    const size_t global = cls_shape_count(s);
    const cls_arg args[] = {CLS_ARG(x),   CLS_ARG(mask), CLS_ARG(plane),
                            CLS_ARG(add), CLS_ARG(out),  CLS_ARG(n)};
    return cls_launch(ctx, "mask_planes", args, 6, 1, &global, NULL);
}

static bool window_inside(cls_window win, int h, int w)
{
    return win.y >= 0 && win.x >= 0 && win.y + h <= win.shape.h && win.x + w <= win.shape.w;
}

cls_status cls_copy_window(cls_ctx *ctx, cl_mem in, cls_window from, cl_mem out, cls_window to,
                           int h, int w, bool accumulate)
{
    const int planes = from.shape.n * from.shape.c;
    if (h < 1 || w < 1 || planes != to.shape.n * to.shape.c || !window_inside(from, h, w) ||
        !window_inside(to, h, w) || (size_t)planes * h * w > UINT32_MAX)
        return cls_error(CLS_ERR_SHAPE,
                         "copy_window: a %dx%d window at (%d, %d) of %dx%d planes to (%d, %d) "
                         "of %dx%d",
                         w, h, from.x, from.y, from.shape.w, from.shape.h, to.x, to.y, to.shape.w,
                         to.shape.h);
    const cl_uint n = (cl_uint)planes * (cl_uint)h * (cl_uint)w, add = accumulate ? 1u : 0u;
    const size_t global = n;
    const cls_arg args[] = {CLS_ARG(in),
                            CLS_ARG(from.shape.h),
                            CLS_ARG(from.shape.w),
                            CLS_ARG(from.y),
                            CLS_ARG(from.x),
                            CLS_ARG(out),
                            CLS_ARG(to.shape.h),
                            CLS_ARG(to.shape.w),
                            CLS_ARG(to.y),
                            CLS_ARG(to.x),
                            CLS_ARG(h),
                            CLS_ARG(w),
                            CLS_ARG(add),
                            CLS_ARG(n)};
    return cls_launch(ctx, "copy_window", args, 14, 1, &global, NULL);
}

cls_status cls_read_floats(cls_ctx *ctx, cl_mem result, size_t index, size_t count, float *out)
{
    cl_int err = clEnqueueReadBuffer(ctx->queue, result, CL_TRUE, index * sizeof(float),
                                     count * sizeof(float), out, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "reading results from the device");
}
