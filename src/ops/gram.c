/* Gram matrices and their gradient as CLBlast SGEMMs (row-major: F is C x HW). */
#include "ops/gram.h"
#include "runtime/blas_status.h"
#include "runtime/launch.h"

size_t cls_gram_scratch_bytes(const cls_ctx *ctx, cls_shape f)
{
    const size_t c = (size_t)f.c, hw = (size_t)f.h * (size_t)f.w;
    const size_t parts = cls_tunables_gram_parts(&ctx->tunables, c, hw);
    return parts > 1 ? parts * c * c * sizeof(float) : 0;
}

/* gram[n] = scale * sum over the slices of F's columns of slice * slice^T: one strided-batched
 * product into the scratch buffer, then a kernel adding the partial matrices. */
static cls_status gram_split(cls_ctx *ctx, size_t c, size_t hw, size_t parts, cl_mem features,
                             size_t offset, float scale, cl_mem gram, size_t gram_offset)
{
    cls_status status = CLS_OK;
    cl_mem partial;
    CLS_TRY(cls_ctx_scratch(ctx, CLS_SCRATCH_WORK_A, parts * c * c * sizeof(float), &partial));
    const size_t cols = hw / parts;
    CLS_RUN_BLAS(ctx,
                 CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                            CLBlastTransposeYes, c, c, cols, scale, features,
                                            offset, hw, cols, features, offset, hw, cols, 0.0f,
                                            partial, 0, c, c * c, parts, &ctx->queue, NULL),
                 "Gram matrix (CLBlastSgemmStridedBatched)");
    const cl_uint parts_arg = (cl_uint)parts, count = (cl_uint)(c * c),
                  out_offset = (cl_uint)gram_offset;
    const cls_arg args[] = {CLS_ARG(partial), CLS_ARG(parts_arg),  CLS_ARG(count),
                            CLS_ARG(gram),    CLS_ARG(out_offset), CLS_ARG(count)};
    const size_t global[1] = {c * c};
    CLS_TRY(cls_launch(ctx, "sum_partials", args, 6, 1, global, NULL));
fail:
    return status;
}

cls_status cls_gram_forward(cls_ctx *ctx, cls_shape f, cl_mem features, float scale, cl_mem gram)
{
    cls_status status = cls_shape_check(f, "gram_forward");
    if (status != CLS_OK)
        return status;
    const size_t c = (size_t)f.c, hw = (size_t)f.h * (size_t)f.w;
    const size_t parts = cls_tunables_gram_parts(&ctx->tunables, c, hw);
    for (int n = 0; n < f.n; n++) {
        if (parts > 1) {
            CLS_TRY(gram_split(ctx, c, hw, parts, features, n * c * hw, scale, gram, n * c * c));
            continue;
        }
        CLS_RUN_BLAS(ctx,
                     CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, c,
                                  c, hw, scale, features, n * c * hw, hw, features, n * c * hw, hw,
                                  0.0f, gram, n * c * c, c, &ctx->queue, NULL),
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
        CLS_RUN_BLAS(ctx,
                     CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, c,
                                  hw, c, scale, sym, 0, c, features, n * c * hw, hw,
                                  accumulate ? 1.0f : 0.0f, grad_features, n * c * hw, hw,
                                  &ctx->queue, NULL),
                     "Gram gradient (CLBlastSgemm)");
    }
fail:
    return status;
}
