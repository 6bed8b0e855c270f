/* Kernel launches by name and the context's scratch buffers. */
#include "runtime/launch.h"
#include "runtime/profile.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

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
    double start = 0.0;
    const bool profiled = cls_profile_begin(ctx, &start);
    cl_int err =
        clEnqueueNDRangeKernel(ctx->queue, k, (cl_uint)dims, NULL, rounded, local, 0, NULL, NULL);
    if (profiled)
        cls_profile_end(ctx, kernel, start);
    if (err != CL_SUCCESS) {
        snprintf(what, sizeof what, "running kernel %s", kernel);
        return cls_error_cl(err, what);
    }
fail:
    return status;
}

/* Fault injection for tests: CLSTYLE_FAIL_ALLOCATION=N makes the N-th device allocation of
 * the process fail as a driver out of memory does. CPU drivers cannot be made to fail an
 * allocation otherwise (PoCL ignores POCL_MEMORY_LIMIT when allocating, and crashes when the
 * host runs out), yet every allocation site must fail cleanly on a real GPU. */
static bool injected_failure(void)
{
    static atomic_long countdown = -1; /* -1: not read yet, 0: no injection */
    long left = atomic_load(&countdown);
    if (left == -1) {
        const char *text = getenv("CLSTYLE_FAIL_ALLOCATION");
        long n = text ? strtol(text, NULL, 10) : 0;
        long expected = -1;
        atomic_compare_exchange_strong(&countdown, &expected, n > 0 ? n : 0);
    }
    for (left = atomic_load(&countdown); left > 0;)
        if (atomic_compare_exchange_weak(&countdown, &left, left == 1 ? -2 : left - 1))
            return left == 1;
    return false;
}

cls_status cls_buffer_create(cls_ctx *ctx, size_t bytes, const char *what, cl_mem *out)
{
    cl_int err = CL_SUCCESS;
    if (injected_failure())
        err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    else
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
