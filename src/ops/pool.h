/* 2x2 stride-2 pooling, max or average, PyTorch floor mode (odd sizes drop the last row or
 * column). The output of an h x w input is (h / 2) x (w / 2). */
#ifndef CLS_OPS_POOL_H
#define CLS_OPS_POOL_H

#include "ops/shape.h"
#include "runtime/context.h"

typedef enum cls_pool_kind {
    CLS_POOL_MAX = 0,
    CLS_POOL_AVG = 1,
} cls_pool_kind;

/* The output shape; CLS_ERR_SHAPE when in.h or in.w is below 2. */
cls_status cls_pool_output_shape(cls_shape in, cls_shape *out);

cls_status cls_pool_forward(cls_ctx *ctx, cls_pool_kind kind, cls_shape in, cl_mem input,
                            cl_mem output);

/* grad_input (shape in) from grad_output; max pooling needs the forward input to find each
 * window's maximum (ties: the first in scan order). Overwrites grad_input. */
cls_status cls_pool_backward(cls_ctx *ctx, cls_pool_kind kind, cls_shape in, cl_mem input,
                             cl_mem grad_output, cl_mem grad_input);

#endif
