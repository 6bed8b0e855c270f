/* Gram matrices and their gradient as CLBlast SGEMMs (row-major: F is C x HW). */
#include "ops/gram.h"
#include "runtime/blas_status.h"
#include "runtime/launch.h"

cls_status cls_gram_forward(cls_ctx *ctx, cls_shape f, cl_mem features, float scale, cl_mem gram)
{
    cls_status status = cls_shape_check(f, "gram_forward");
    if (status != CLS_OK)
        return status;
    const size_t c = (size_t)f.c, hw = (size_t)f.h * (size_t)f.w;
    for (int n = 0; n < f.n; n++) {
        CLS_CHECK_BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                    c, c, hw, scale, features, n * c * hw, hw, features, n * c * hw,
                                    hw, 0.0f, gram, n * c * c, c, &ctx->queue, NULL),
                       "Gram matrix (CLBlastSgemm)");
    }
fail:
    return status;
}

cls_status cls_gram_backward(cls_ctx *ctx, cls_shape f, cl_mem features, cl_mem grad_gram,
                             float scale, bool accumulate, cl_mem grad_features)
{
    cls_status status = cls_shape_check(f, "gram_backward");
    if (status != CLS_OK)
        return status;
    const size_t c = (size_t)f.c, hw = (size_t)f.h * (size_t)f.w;
    cl_mem sym;
    CLS_TRY(cls_ctx_scratch(ctx, CLS_SCRATCH_GRAM, c * c * sizeof(float), &sym));
    const cl_uint c_arg = (cl_uint)c;
    const size_t global[2] = {c, c};
    for (int n = 0; n < f.n; n++) {
        const cl_uint offset = (cl_uint)(n * c * c);
        const cls_arg args[] = {CLS_ARG(grad_gram), CLS_ARG(offset), CLS_ARG(sym), CLS_ARG(c_arg)};
        CLS_TRY(cls_launch(ctx, "symmetrize", args, 4, 2, global, NULL));
        CLS_CHECK_BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                    c, hw, c, scale, sym, 0, c, features, n * c * hw, hw,
                                    accumulate ? 1.0f : 0.0f, grad_features, n * c * hw, hw,
                                    &ctx->queue, NULL),
                       "Gram gradient (CLBlastSgemm)");
    }
fail:
    return status;
}
