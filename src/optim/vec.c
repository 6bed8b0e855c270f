/* Device vector reductions and copies with CLBlast. */
#include "optim/vec.h"
#include "ops/elementwise.h"
#include "runtime/blas_status.h"
#include "runtime/launch.h"

#include <math.h>

cls_status cls_vec_space_init(cls_vec_space *v, cls_ctx *ctx, size_t n)
{
    v->ctx = ctx;
    v->n = n;
    v->result = NULL;
    return cls_buffer_create(ctx, 4 * sizeof(float), "optimiser scalars", &v->result);
}

void cls_vec_space_release(cls_vec_space *v)
{
    if (v->result)
        clReleaseMemObject(v->result);
    v->result = NULL;
}

cls_status cls_vec_alloc(cls_vec_space *v, const char *what, cl_mem *out)
{
    return cls_buffer_create(v->ctx, v->n * sizeof(float), what, out);
}

static cls_status read_scalar(cls_vec_space *v, double *out)
{
    float value = 0.0f;
    cls_status status = cls_read_floats(v->ctx, v->result, 0, 1, &value);
    *out = value;
    return status;
}

cls_status cls_vec_dot(cls_vec_space *v, cl_mem a, cl_mem b, double *out)
{
    cls_status status = CLS_OK;
    CLS_CHECK_BLAS(CLBlastSdot(v->n, v->result, 0, a, 0, 1, b, 0, 1, &v->ctx->queue, NULL),
                   "CLBlastSdot");
    CLS_TRY(read_scalar(v, out));
fail:
    return status;
}

cls_status cls_vec_asum(cls_vec_space *v, cl_mem a, double *out)
{
    cls_status status = CLS_OK;
    CLS_CHECK_BLAS(CLBlastSasum(v->n, v->result, 0, a, 0, 1, &v->ctx->queue, NULL), "CLBlastSasum");
    CLS_TRY(read_scalar(v, out));
fail:
    return status;
}

cls_status cls_vec_absmax(cls_vec_space *v, cl_mem a, double *out)
{
    cls_status status = CLS_OK;
    cl_uint index = 0;
    float value = 0.0f;
    CLS_CHECK_BLAS(CLBlastiSamax(v->n, v->result, 0, a, 0, 1, &v->ctx->queue, NULL),
                   "CLBlastiSamax");
    CLS_CHECK_CL(clEnqueueReadBuffer(v->ctx->queue, v->result, CL_TRUE, 0, sizeof index, &index, 0,
                                     NULL, NULL),
                 "reading the index of the largest element");
    if (index >= v->n)
        return cls_error(CLS_ERR_BLAS, "CLBlastiSamax returned index %u of %zu", index, v->n);
    CLS_TRY(cls_read_floats(v->ctx, a, index, 1, &value));
    *out = fabs((double)value);
fail:
    return status;
}

cls_status cls_vec_copy(cls_vec_space *v, cl_mem from, cl_mem to)
{
    cl_int err =
        clEnqueueCopyBuffer(v->ctx->queue, from, to, 0, 0, v->n * sizeof(float), 0, NULL, NULL);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "copying a vector");
}
