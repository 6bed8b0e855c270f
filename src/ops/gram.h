/* Gram matrices of feature maps, with CLBlast: G = scale * F F^T for F viewed as
 * C x (H*W), one C x C matrix per batch item. The style loss uses scale = 1 / (C*H*W).
 * Long, thin products (few channels, many pixels) are split over slices of the columns
 * (cls_tunables_gram_parts) to keep every core busy. */
#ifndef CLS_OPS_GRAM_H
#define CLS_OPS_GRAM_H

#include "ops/shape.h"
#include "runtime/context.h"

/* The split-K partial products of cls_gram_forward for f, in scratch slot CLS_SCRATCH_WORK_A
 * (0 when f is not split or has no element). The backward pass takes C x C floats from CLS_SCRATCH_GRAM. */
size_t cls_gram_scratch_bytes(const cls_ctx *ctx, cls_shape f);

/* gram[n][C][C] = scale * features[n] features[n]^T. */
cls_status cls_gram_forward(cls_ctx *ctx, cls_shape f, cl_mem features, float scale, cl_mem gram);

/* grad_features[n] (+)= scale * (grad_gram[n] + grad_gram[n]^T) features[n]; added to
 * grad_features when accumulate, else written. */
cls_status cls_gram_backward(cls_ctx *ctx, cls_shape f, cl_mem features, cl_mem grad_gram,
                             float scale, bool accumulate, cl_mem grad_features);

#endif
