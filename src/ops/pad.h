/* Reflection padding, optionally of a nearest-neighbour upsampled input: the layers in
 * front of every convolution of a transformer network (ReflectionPad2d, and Upsample with
 * mode "nearest" followed by ReflectionPad2d, fused so the upsampled image is never stored). */
#ifndef CLS_OPS_PAD_H
#define CLS_OPS_PAD_H

#include "ops/shape.h"
#include "runtime/context.h"

/* The output shape of cls_pad_reflect: {n, c, h * scale + 2 pad, w * scale + 2 pad}.
 * CLS_ERR_SHAPE when scale < 1, pad < 0, or pad >= h * scale or w * scale (reflection needs
 * pad smaller than the side, as torch.nn.ReflectionPad2d does). */
cls_status cls_pad_reflect_shape(cls_shape in, int scale, int pad, cls_shape *out);

/* output[n][c][y][x] = up[n][c][r(y - pad, H)][r(x - pad, W)] where up is the input upsampled
 * by scale (up[y][x] = input[y / scale][x / scale]), H = h * scale, W = w * scale, and
 * r(i, L) reflects i into 0..L-1 without repeating the edge (-1 -> 1, L -> L - 2). */
cls_status cls_pad_reflect(cls_ctx *ctx, cls_shape in, int scale, int pad, cl_mem input,
                           cl_mem output);

/* The gradient of cls_pad_reflect: grad_input[n][c][y][x] (shape in) = the sum of
 * grad_output[n][c][oy][ox] (shape cls_pad_reflect_shape(in, scale, pad)) over every output
 * position that reads input pixel (y, x). grad_input is overwritten, not added to; it must not
 * alias grad_output. */
cls_status cls_pad_reflect_backward(cls_ctx *ctx, cls_shape in, int scale, int pad,
                                    cl_mem grad_output, cl_mem grad_input);

#endif
