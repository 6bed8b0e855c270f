/* Vector helpers for the optimiser and the pipeline: CLBlast where it has the routine,
 * small kernels where it has not. */
#ifndef CLS_OPS_ELEMENTWISE_H
#define CLS_OPS_ELEMENTWISE_H

#include "ops/shape.h"
#include "runtime/context.h"

#include <stddef.h>

/* x[0 .. count) = value. */
cls_status cls_fill(cls_ctx *ctx, size_t count, float value, cl_mem x);

/* x *= a (CLBlastSscal). */
cls_status cls_scale(cls_ctx *ctx, size_t count, float a, cl_mem x);

/* to[to_offset ..] = from[0 .. count) (clEnqueueCopyBuffer, in floats). */
cls_status cls_copy_floats(cls_ctx *ctx, cl_mem from, cl_mem to, size_t to_offset, size_t count);

/* y += a * x (CLBlastSaxpy). */
cls_status cls_axpy(cls_ctx *ctx, size_t count, float a, cl_mem x, cl_mem y);

/* y = clamp(y + a * x, lo, hi). */
cls_status cls_axpy_clamp(cls_ctx *ctx, size_t count, float a, cl_mem x, float lo, float hi,
                          cl_mem y);

/* x[n][c] += values[c] for every plane of an NCHW tensor with at most 4 channels (adding or
 * subtracting the ImageNet mean). */
cls_status cls_add_channel_values(cls_ctx *ctx, cls_shape s, const float *values, cl_mem x);

/* out[n][c] = x[n][c] * scale[c] + shift[c] for every plane of an NCHW tensor with at most 4
 * channels (an RGB batch normalised as a loss network expects, and its gradient back). out
 * may be x. */
cls_status cls_scale_shift_channels(cls_ctx *ctx, cls_shape s, const float *scale,
                                    const float *shift, cl_mem x, cl_mem out);

/* out = x * mask, or out += x * mask when accumulate, mask holding one weight per pixel
 * (s.h * s.w floats) for every channel plane of the NCHW tensor x. out may be x. */
cls_status cls_mask_planes(cls_ctx *ctx, cls_shape s, cl_mem x, cl_mem mask, bool accumulate,
                           cl_mem out);

/* A rectangle of an NCHW tensor's planes: its shape, and the window's origin and size. */
typedef struct cls_window {
    cls_shape shape;
    int y, x; /* the window's top left corner */
} cls_window;

/* Copies an h x w window of every plane of `in` to one of `out` (or adds it when
 * accumulate): in.shape and out.shape have the same n * c planes; both windows must lie
 * inside their planes. */
cls_status cls_copy_window(cls_ctx *ctx, cl_mem in, cls_window from, cl_mem out, cls_window to,
                           int h, int w, bool accumulate);

/* Reads count floats starting at result[index] into out (blocking). */
cls_status cls_read_floats(cls_ctx *ctx, cl_mem result, size_t index, size_t count, float *out);

#endif
