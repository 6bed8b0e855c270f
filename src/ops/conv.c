/* Launchers of the 3x3 convolution kernels in cl/conv.cl. */
#include "ops/conv.h"
#include "runtime/launch.h"

enum { CONV_X_TILE = 8 }; /* fixed in cl/conv.cl: a float8 of outputs per work-item */

cls_status cls_conv3x3_forward(cls_ctx *ctx, cls_shape in, int cout, cl_mem input, cl_mem weight,
                               cl_mem bias, bool relu, cl_mem output)
{
    cls_status status = cls_shape_check(in, "conv3x3_forward");
    if (status != CLS_OK)
        return status;
    if (cout < 1)
        return cls_error(CLS_ERR_SHAPE, "conv3x3_forward: %d output channels", cout);
    status = cls_shape_check((cls_shape){in.n, cout, in.h, in.w}, "conv3x3_forward output");
    if (status != CLS_OK)
        return status;
    const int tile = ctx->tunables.conv_cout_tile;
    const cl_int cin = in.c, h = in.h, w = in.w, cout_arg = cout;
    const cl_int use_bias = bias != NULL, use_relu = relu;
    const cls_arg args[] = {CLS_ARG(input),    CLS_ARG(weight),  CLS_ARG(bias), CLS_ARG(output),
                            CLS_ARG(cin),      CLS_ARG(h),       CLS_ARG(w),    CLS_ARG(cout_arg),
                            CLS_ARG(use_bias), CLS_ARG(use_relu)};
    const size_t global[3] = {(size_t)(w + CONV_X_TILE - 1) / CONV_X_TILE, (size_t)h,
                              (size_t)in.n * (size_t)((cout + tile - 1) / tile)};
    return cls_launch(ctx, "conv3x3_forward", args, 10, 3, global, NULL);
}

cls_status cls_conv3x3_flip_weights(cls_ctx *ctx, int cin, int cout, cl_mem weight, cl_mem flipped)
{
    if (cin < 1 || cout < 1)
        return cls_error(CLS_ERR_SHAPE, "conv3x3_flip_weights: %d -> %d channels", cin, cout);
    const cl_int cin_arg = cin, cout_arg = cout;
    const cls_arg args[] = {CLS_ARG(weight), CLS_ARG(flipped), CLS_ARG(cin_arg), CLS_ARG(cout_arg)};
    const size_t global[1] = {(size_t)cin * (size_t)cout * 9};
    return cls_launch(ctx, "conv3x3_flip_weights", args, 4, 1, global, NULL);
}

cls_status cls_conv3x3_backward_data(cls_ctx *ctx, cls_shape in, int cout, cl_mem grad_output,
                                     cl_mem flipped_weight, cl_mem grad_input)
{
    /* The transposed convolution is a forward convolution from cout to in.c channels; both
     * ends are checked here so errors name this op. */
    cls_status status = cls_shape_check(in, "conv3x3_backward_data");
    if (status != CLS_OK)
        return status;
    cls_shape from = {in.n, cout, in.h, in.w};
    status = cls_shape_check(from, "conv3x3_backward_data gradient");
    if (status != CLS_OK)
        return status;
    return cls_conv3x3_forward(ctx, from, in.c, grad_output, flipped_weight, NULL, false,
                               grad_input);
}
