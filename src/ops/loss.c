/* Launchers of the loss kernels in cl/loss.cl: a partial-sum pass over the data, then one
 * work-group adds the partials into the result. */
#include "ops/loss.h"
#include "runtime/launch.h"

#include <stdint.h>

/* At most this many partial sums: a fixed function of the element count, so the order of
 * additions (and the result) never depends on timing. */
enum { MAX_PARTIALS = 256 };

static size_t partial_groups(const cls_ctx *ctx, size_t count)
{
    const size_t group = (size_t)ctx->tunables.reduce_group;
    size_t groups = (count + group - 1) / group;
    return groups < 1 ? 1 : groups > MAX_PARTIALS ? MAX_PARTIALS : groups;
}

static cls_status finish(cls_ctx *ctx, cl_mem partial, size_t groups, float scale, cl_mem result,
                         int index)
{
    const cl_uint count = (cl_uint)groups, index_arg = (cl_uint)index;
    const cls_arg args[] = {CLS_ARG(partial), CLS_ARG(count), CLS_ARG(scale), CLS_ARG(result),
                            CLS_ARG(index_arg)};
    const size_t group = (size_t)ctx->tunables.reduce_group;
    return cls_launch(ctx, "reduce_partials", args, 5, 1, &group, &group);
}

static cls_status check_reduction(size_t count, int index, const char *op)
{
    if (count == 0 || count > UINT32_MAX)
        return cls_error(CLS_ERR_SHAPE, "%s: %zu elements", op, count);
    if (index < 0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "%s: result index %d", op, index);
    return CLS_OK;
}

/* sqdiff_partial_block: as many partial sums as the work-group pattern would take, each over
 * a contiguous block (a multiple of 8 elements), a work-group each. */
static cls_status sqdiff_blocks(cls_ctx *ctx, size_t count, cl_mem x, cl_mem target,
                                float grad_coef, cl_mem grad, cl_mem partial, size_t *items)
{
    const size_t parts = partial_groups(ctx, count);
    const size_t block = ((count + parts - 1) / parts + 7) / 8 * 8, one = 1;
    *items = (count + block - 1) / block;
    const cl_uint n = (cl_uint)count, block_arg = (cl_uint)block;
    const cls_arg args[] = {CLS_ARG(x),    CLS_ARG(target),    CLS_ARG(n),      CLS_ARG(block_arg),
                            CLS_ARG(grad), CLS_ARG(grad_coef), CLS_ARG(partial)};
    return cls_launch(ctx, "sqdiff_partial_block", args, 7, 1, items, &one);
}

cls_status cls_loss_sqdiff(cls_ctx *ctx, size_t count, cl_mem x, cl_mem target, float value_scale,
                           float grad_coef, cl_mem grad, cl_mem result, int index)
{
    cls_status status = CLS_OK;
    cl_mem partial;
    CLS_TRY(check_reduction(count, index, "sqdiff loss"));
    CLS_TRY(cls_ctx_scratch(ctx, CLS_SCRATCH_REDUCE, MAX_PARTIALS * sizeof(float), &partial));
    if (ctx->tunables.reduce_blocked) {
        size_t items;
        CLS_TRY(sqdiff_blocks(ctx, count, x, target, grad_coef, grad, partial, &items));
        CLS_TRY(finish(ctx, partial, items, value_scale, result, index));
        return CLS_OK;
    }
    const size_t groups = partial_groups(ctx, count);
    const size_t group = (size_t)ctx->tunables.reduce_group, global = groups * group;
    const cl_uint n = (cl_uint)count;
    const cls_arg args[] = {CLS_ARG(x),    CLS_ARG(target),    CLS_ARG(n),
                            CLS_ARG(grad), CLS_ARG(grad_coef), CLS_ARG(partial)};
    CLS_TRY(cls_launch(ctx, "sqdiff_partial", args, 6, 1, &global, &group));
    CLS_TRY(finish(ctx, partial, groups, value_scale, result, index));
fail:
    return status;
}

cls_status cls_loss_content_mse(cls_ctx *ctx, size_t count, cl_mem x, cl_mem target, float weight,
                                cl_mem grad, cl_mem result, int index)
{
    const float inv = 1.0f / (float)(count ? count : 1);
    return cls_loss_sqdiff(ctx, count, x, target, inv, weight * 2.0f * inv, grad, result, index);
}

cls_status cls_loss_style_sqerr(cls_ctx *ctx, size_t count, cl_mem gram, cl_mem target,
                                float weight, cl_mem grad, cl_mem result, int index)
{
    return cls_loss_sqdiff(ctx, count, gram, target, 1.0f, weight * 2.0f, grad, result, index);
}

cls_status cls_loss_tv(cls_ctx *ctx, cls_tv_kind kind, cls_shape s, cl_mem x, float weight,
                       cl_mem grad, cl_mem result, int index)
{
    cls_status status = CLS_OK;
    cl_mem partial;
    CLS_TRY(cls_shape_check(s, "total variation"));
    const size_t count = cls_shape_count(s);
    CLS_TRY(check_reduction(count, index, "total variation"));
    CLS_TRY(cls_ctx_scratch(ctx, CLS_SCRATCH_REDUCE, MAX_PARTIALS * sizeof(float), &partial));
    const size_t groups = partial_groups(ctx, count);
    const size_t group = (size_t)ctx->tunables.reduce_group, global = groups * group;
    const cl_int h = s.h, w = s.w, squared = kind == CLS_TV_SQUARED;
    const cl_uint n = (cl_uint)count;
    const cls_arg args[] = {CLS_ARG(x),       CLS_ARG(h),    CLS_ARG(w),      CLS_ARG(n),
                            CLS_ARG(squared), CLS_ARG(grad), CLS_ARG(weight), CLS_ARG(partial)};
    CLS_TRY(cls_launch(ctx, "tv_partial", args, 8, 1, &global, &group));
    CLS_TRY(finish(ctx, partial, groups, 1.0f, result, index));
fail:
    return status;
}
