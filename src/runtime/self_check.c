/* cls_ctx_self_check: known-answer kernels compared with the host, to catch a broken
 * driver in seconds rather than after an hour of wrong pictures. */
#include "runtime/context.h"

#include <math.h>
#include <stdlib.h>

enum { CHECK_N = 4096 };

static cls_status run_axpy(cls_ctx *ctx, cl_mem x, cl_mem y, float *host)
{
    cls_status status = CLS_OK;
    cl_kernel k;
    CLS_TRY(cls_ctx_kernel(ctx, "self_check_axpy", &k));
    const float a = 0.5f;
    const cl_uint n = CHECK_N;
    CLS_CHECK_CL(clSetKernelArg(k, 0, sizeof a, &a), "self_check_axpy args");
    CLS_CHECK_CL(clSetKernelArg(k, 1, sizeof x, &x), "self_check_axpy args");
    CLS_CHECK_CL(clSetKernelArg(k, 2, sizeof y, &y), "self_check_axpy args");
    CLS_CHECK_CL(clSetKernelArg(k, 3, sizeof n, &n), "self_check_axpy args");
    size_t global = CHECK_N;
    CLS_CHECK_CL(clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL),
                 "running self_check_axpy");
    CLS_CHECK_CL(
        clEnqueueReadBuffer(ctx->queue, y, CL_TRUE, 0, CHECK_N * sizeof *host, host, 0, NULL, NULL),
        "reading self_check_axpy results");
    for (int i = 0; i < CHECK_N; i++) {
        float want = 0.5f * (float)i + 3.0f;
        if (host[i] != want)
            return cls_error(CLS_ERR_UNSUPPORTED,
                             "self-check axpy on \"%s\": element %d is %g, expected %g",
                             ctx->info.name, i, (double)host[i], (double)want);
    }
fail:
    return status;
}

/* The largest power of two work-group size up to 256 that the kernel allows. */
static cls_status group_size(cls_ctx *ctx, cl_kernel k, size_t *out)
{
    size_t max = 0;
    cl_int err =
        clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max, &max, NULL);
    if (err != CL_SUCCESS)
        return cls_error_cl(err, "clGetKernelWorkGroupInfo");
    size_t size = 256;
    while (size > max && size > 1)
        size /= 2;
    *out = size;
    return CLS_OK;
}

static cls_status run_group_sum(cls_ctx *ctx, cl_mem x, float *host)
{
    cls_status status = CLS_OK;
    cl_mem sums = NULL;
    cl_kernel k;
    size_t local = 1;
    cl_int err = CL_SUCCESS;
    CLS_TRY(cls_ctx_kernel(ctx, "self_check_group_sum", &k));
    CLS_TRY(group_size(ctx, k, &local));
    size_t groups = CHECK_N / local;
    sums = clCreateBuffer(ctx->context, CL_MEM_WRITE_ONLY, groups * sizeof(float), NULL, &err);
    CLS_CHECK_CL(err, "clCreateBuffer(self-check sums)");
    CLS_CHECK_CL(clSetKernelArg(k, 0, sizeof x, &x), "self_check_group_sum args");
    CLS_CHECK_CL(clSetKernelArg(k, 1, sizeof sums, &sums), "self_check_group_sum args");
    CLS_CHECK_CL(clSetKernelArg(k, 2, local * sizeof(float), NULL), "self_check_group_sum args");
    size_t global = CHECK_N;
    CLS_CHECK_CL(clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &local, 0, NULL, NULL),
                 "running self_check_group_sum");
    CLS_CHECK_CL(clEnqueueReadBuffer(ctx->queue, sums, CL_TRUE, 0, groups * sizeof *host, host, 0,
                                     NULL, NULL),
                 "reading self_check_group_sum results");
    for (size_t g = 0; g < groups; g++) {
        /* x[i] = i, so group g sums the integers g*local .. (g+1)*local-1: exact in fp32. */
        double first = (double)(g * local), last = first + (double)local - 1.0;
        double want = (first + last) * (double)local / 2.0;
        if (fabs((double)host[g] - want) > 0.0) {
            status = cls_error(CLS_ERR_UNSUPPORTED,
                               "self-check local-memory reduction on \"%s\": group %zu sums to "
                               "%g, expected %g (local memory or barriers are broken)",
                               ctx->info.name, g, (double)host[g], want);
            goto fail;
        }
    }
fail:
    if (sums)
        clReleaseMemObject(sums);
    return status;
}

cls_status cls_ctx_self_check(cls_ctx *ctx)
{
    cls_status status = CLS_OK;
    cl_mem x = NULL, y = NULL;
    cl_int err = CL_SUCCESS;
    float *host = malloc(2 * CHECK_N * sizeof *host);
    CLS_CHECK_ALLOC(host, "self-check data");
    for (int i = 0; i < CHECK_N; i++) {
        host[i] = (float)i;
        host[CHECK_N + i] = 3.0f;
    }
    x = clCreateBuffer(ctx->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                       CHECK_N * sizeof *host, host, &err);
    CLS_CHECK_CL(err, "clCreateBuffer(self-check x)");
    y = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                       CHECK_N * sizeof *host, host + CHECK_N, &err);
    CLS_CHECK_CL(err, "clCreateBuffer(self-check y)");
    CLS_TRY(run_axpy(ctx, x, y, host + CHECK_N));
    CLS_TRY(run_group_sum(ctx, x, host));
fail:
    if (x)
        clReleaseMemObject(x);
    if (y)
        clReleaseMemObject(y);
    free(host);
    return status;
}
