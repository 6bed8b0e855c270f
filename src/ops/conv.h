/* 3x3 convolution (stride 1, zero padding 1): forward with bias and optional ReLU, and the
 * gradient with respect to the input. */
#ifndef CLS_OPS_CONV_H
#define CLS_OPS_CONV_H

#include "ops/shape.h"
#include "runtime/context.h"

/* output[n][cout][h][w] = conv(input[n][in.c][h][w], weight[cout][in.c][3][3]) + bias,
 * then max(0, .) when relu. bias may be NULL (no bias). */
cls_status cls_conv3x3_forward(cls_ctx *ctx, cls_shape in, int cout, cl_mem input, cl_mem weight,
                               cl_mem bias, bool relu, cl_mem output);

/* flipped[cin][cout][3][3] from weight[cout][cin][3][3], rotated by 180 degrees: the
 * weights cls_conv3x3_backward_data needs. Weights are constant during a run, so this is
 * done once per layer. */
cls_status cls_conv3x3_flip_weights(cls_ctx *ctx, int cin, int cout, cl_mem weight, cl_mem flipped);

/* grad_input[n][in.c][h][w] = dL/dinput given grad_output[n][cout][h][w] = dL/doutput
 * (before any ReLU: apply cls_relu_backward first). Overwrites grad_input. */
cls_status cls_conv3x3_backward_data(cls_ctx *ctx, cls_shape in, int cout, cl_mem grad_output,
                                     cl_mem flipped_weight, cl_mem grad_input);

#endif
