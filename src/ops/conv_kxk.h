/* k x k convolution (k odd) with stride 1 or 2 and no padding ("valid"), run on an input that
 * the caller has padded already (ops/pad.h): the 9x9 and strided convolutions of transformer
 * networks. 3x3 stride-1 layers go through ops/conv.h (direct or Winograd), which are faster. */
#ifndef CLS_OPS_CONV_KXK_H
#define CLS_OPS_CONV_KXK_H

#include "ops/shape.h"
#include "runtime/context.h"

/* {in.n, cout, (in.h - k) / stride + 1, (in.w - k) / stride + 1}; CLS_ERR_SHAPE when k is even
 * or below 1, stride is not 1 or 2, cout < 1, or the input is smaller than k. */
cls_status cls_conv_kxk_shape(cls_shape in, int cout, int k, int stride, cls_shape *out);

/* output[n][co][y][x] = bias[co] + sum over ci, ky, kx of
 *     weight[co][ci][ky][kx] * input[n][ci][stride * y + ky][stride * x + kx].
 * bias may be NULL. */
cls_status cls_conv_kxk_forward(cls_ctx *ctx, cls_shape in, int cout, int k, int stride,
                                cl_mem input, cl_mem weight, cl_mem bias, cl_mem output);

#endif
