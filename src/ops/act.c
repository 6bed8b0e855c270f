/* Launchers of the ReLU kernels in cl/activation.cl. */
#include "ops/act.h"
#include "runtime/launch.h"

#include <stdint.h>

static cls_status check_count(size_t count, const char *op)
{
    if (count > UINT32_MAX)
        return cls_error(CLS_ERR_SHAPE, "%s: %zu elements is more than 2^32", op, count);
    return CLS_OK;
}

cls_status cls_relu_forward(cls_ctx *ctx, size_t count, cl_mem input, cl_mem output)
{
    cls_status status = check_count(count, "relu_forward");
    if (status != CLS_OK)
        return status;
    const cl_uint n = (cl_uint)count;
    const cls_arg args[] = {CLS_ARG(input), CLS_ARG(output), CLS_ARG(n)};
    return cls_launch(ctx, "relu_forward", args, 3, 1, &count, NULL);
}

cls_status cls_relu_backward(cls_ctx *ctx, size_t count, cl_mem grad_output, cl_mem mask,
                             cl_mem grad_input)
{
    cls_status status = check_count(count, "relu_backward");
    if (status != CLS_OK)
        return status;
    const cl_uint n = (cl_uint)count;
    const cls_arg args[] = {CLS_ARG(grad_output), CLS_ARG(mask), CLS_ARG(grad_input), CLS_ARG(n)};
    return cls_launch(ctx, "relu_backward", args, 4, 1, &count, NULL);
}
