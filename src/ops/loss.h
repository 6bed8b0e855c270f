/* Losses and their gradients, reduced on the device. Each writes its unweighted value to
 * result[index] (a float buffer the caller reads when it needs the number) and adds
 * weight x its gradient to grad (which may be NULL when no gradient is wanted). Results are
 * bit-identical across runs on the same device: reductions use no atomics. */
#ifndef CLS_OPS_LOSS_H
#define CLS_OPS_LOSS_H

#include "ops/shape.h"
#include "runtime/context.h"

/* Content loss: mean over `count` elements of (x - target)^2. */
cls_status cls_loss_content_mse(cls_ctx *ctx, size_t count, cl_mem x, cl_mem target, float weight,
                                cl_mem grad, cl_mem result, int index);

/* Style loss of one layer: sum over the `count` Gram entries of (gram - target)^2. */
cls_status cls_loss_style_sqerr(cls_ctx *ctx, size_t count, cl_mem gram, cl_mem target,
                                float weight, cl_mem grad, cl_mem result, int index);

/* Sum of (x - target)^2 times value_scale; grad += grad_coef * (x - target). The shared
 * form of the two losses above, and of other normalisations (the paper's). */
cls_status cls_loss_sqdiff(cls_ctx *ctx, size_t count, cl_mem x, cl_mem target, float value_scale,
                           float grad_coef, cl_mem grad, cl_mem result, int index);

typedef enum cls_tv_kind {
    CLS_TV_ABS = 0,     /* sum of |d| over neighbour differences; gradient sign(d), sign(0)=0 */
    CLS_TV_SQUARED = 1, /* sum of d^2 */
} cls_tv_kind;

/* Total variation of x: horizontal and vertical neighbour differences within each plane. */
cls_status cls_loss_tv(cls_ctx *ctx, cls_tv_kind kind, cls_shape s, cl_mem x, float weight,
                       cl_mem grad, cl_mem result, int index);

#endif
