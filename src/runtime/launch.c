/* Kernel launches by name and the context's scratch buffers. */
#include "runtime/launch.h"

#include <stdio.h>

cls_status cls_launch(cls_ctx *ctx, const char *kernel, const cls_arg *args, int nargs, int dims,
                      const size_t *global, const size_t *local)
{
    cls_status status = CLS_OK;
    cl_kernel k;
    char what[128];
    CLS_TRY(cls_ctx_kernel(ctx, kernel, &k));
    for (int i = 0; i < nargs; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            snprintf(what, sizeof what, "setting argument %d of kernel %s", i, kernel);
            return cls_error_cl(err, what);
        }
    }
    size_t rounded[3];
    for (int d = 0; d < dims; d++) {
        if (global[d] == 0)
            return CLS_OK; /* nothing to do: an empty tensor */
        rounded[d] = local ? (global[d] + local[d] - 1) / local[d] * local[d] : global[d];
    }
    cl_int err =
        clEnqueueNDRangeKernel(ctx->queue, k, (cl_uint)dims, NULL, rounded, local, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        snprintf(what, sizeof what, "running kernel %s", kernel);
        return cls_error_cl(err, what);
    }
fail:
    return status;
}

cls_status cls_buffer_create(cls_ctx *ctx, size_t bytes, const char *what, cl_mem *out)
{
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &err);
    if (err != CL_SUCCESS) {
        char text[160];
        snprintf(text, sizeof text, "allocating %zu bytes of device memory for %s", bytes, what);
        *out = NULL;
        return cls_error_cl(err, text);
    }
    return CLS_OK;
}

cls_status cls_ctx_scratch(cls_ctx *ctx, cls_scratch_slot slot, size_t bytes, cl_mem *out)
{
    if (ctx->scratch[slot] && ctx->scratch_bytes[slot] >= bytes) {
        *out = ctx->scratch[slot];
        return CLS_OK;
    }
    if (ctx->scratch[slot])
        clReleaseMemObject(ctx->scratch[slot]);
    ctx->scratch[slot] = NULL;
    ctx->scratch_bytes[slot] = 0;
    cls_status status = cls_buffer_create(ctx, bytes, "scratch space", &ctx->scratch[slot]);
    if (status != CLS_OK)
        return status;
    ctx->scratch_bytes[slot] = bytes;
    *out = ctx->scratch[slot];
    return CLS_OK;
}
