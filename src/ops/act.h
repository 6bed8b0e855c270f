/* ReLU, forward and backward, over `count` elements of any tensor. */
#ifndef CLS_OPS_ACT_H
#define CLS_OPS_ACT_H

#include "runtime/context.h"

#include <stddef.h>

/* output = max(0, input); output may be input. */
cls_status cls_relu_forward(cls_ctx *ctx, size_t count, cl_mem input, cl_mem output);

/* grad_input = grad_output where mask > 0, else 0; mask is the forward output or the
 * pre-activation. grad_input may be grad_output. */
cls_status cls_relu_backward(cls_ctx *ctx, size_t count, cl_mem grad_output, cl_mem mask,
                             cl_mem grad_input);

#endif
