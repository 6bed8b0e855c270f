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

/* The gradient w.r.t. the (padded) input of cls_conv_kxk_forward, given grad_output
 * [n][cout][oh][ow] (the shape cls_conv_kxk_shape gives):
 *     grad_input[n][ci][iy][ix] = sum of weight[co][ci][ky][kx] * grad_output[n][co][oy][ox]
 * over co and every (oy, ox, ky, kx) with iy = stride * oy + ky, ix = stride * ox + kx.
 * grad_input [n][in.c][in.h][in.w] is overwritten (0 where no output reads the pixel). For
 * a padded layer, cls_pad_reflect_backward (or cropping, for zero padding) follows. This
 * also serves 3x3 stride-1 layers whose forward ran as a "same" conv (ops/conv.h): the
 * gradient w.r.t. their padded input is the same. */
cls_status cls_conv_kxk_backward_data(cls_ctx *ctx, cls_shape in, int cout, int k, int stride,
                                      cl_mem grad_output, cl_mem weight, cl_mem grad_input);

/* The gradients w.r.t. the weights and bias, summed over the batch:
 *     grad_weight[co][ci][ky][kx] = sum over n, oy, ox of
 *         grad_output[n][co][oy][ox] * input[n][ci][stride * oy + ky][stride * ox + kx],
 *     grad_bias[co] = sum over n, oy, ox of grad_output[n][co][oy][ox].
 * Both are overwritten, not added to; grad_bias may be NULL. The sums are in a fixed order
 * that depends on the shape and the device only, not on timing. */
cls_status cls_conv_kxk_backward_weights(cls_ctx *ctx, cls_shape in, int cout, int k, int stride,
                                         cl_mem input, cl_mem grad_output, cl_mem grad_weight,
                                         cl_mem grad_bias);

#endif
