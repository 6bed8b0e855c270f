/* Gram matrices and their gradient: clstyle's own kernels (cl/gram.cl) on CPU-like devices,
 * CLBlast SGEMMs elsewhere (row-major: F is C x HW). */
#include "ops/gram.h"
#include "runtime/blas_status.h"
#include "runtime/launch.h"

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

static size_t div_up(size_t n, size_t d)
{
    return (n + d - 1) / d;
}

static size_t round_up(size_t n, size_t multiple)
{
    return div_up(n, multiple) * multiple;
}

/* Slices of the columns, and partial matrices in scratch, of the forward pass. */
typedef struct gram_split {
    size_t parts; /* slices */
    size_t cols;  /* columns of each slice (the last may have fewer) */
} gram_split;

static gram_split split_for(const cls_ctx *ctx, size_t c, size_t hw)
{
    const cls_tunables *t = &ctx->tunables;
    if (!t->gram_kernel) {
        const size_t parts = cls_tunables_gram_parts(t, c, hw);
        return (gram_split){parts, hw / parts};
    }
    size_t parts = cls_tunables_gram_parts(t, c, hw), cols;
    /* Slices a multiple of the vector width, and no longer than one work-item may loop. */
    const size_t vec = (size_t)t->gram_vec, max_cols = vec * CLS_MAX_ITEM_ITERATIONS;
    for (;;) {
        cols = round_up(div_up(hw, parts), vec);
        if (cols <= max_cols)
            break;
        parts *= 2;
    }
    return (gram_split){div_up(hw, cols), cols};
}

/* Columns of F that one gram_pack launch packs: the pack budget's worth, in 16-column blocks,
 * at most all of them. */
static size_t pack_cols(const cls_ctx *ctx, size_t c, size_t hw)
{
    const size_t fit = ctx->tunables.gram_pack_bytes / (c * 16 * sizeof(float));
    return 16 * min_size(max_size(fit, 1), div_up(hw, 16));
}

size_t cls_gram_scratch_bytes(const cls_ctx *ctx, cls_shape f)
{
    const size_t c = (size_t)f.c, hw = (size_t)f.h * (size_t)f.w;
    if (c == 0 || hw == 0) /* nothing to compute (a planner asking about a tap too small) */
        return 0;
    const gram_split split = split_for(ctx, c, hw);
    if (!ctx->tunables.gram_kernel)
        return split.parts > 1 ? split.parts * c * c * sizeof(float) : 0;
    const size_t partials = split.parts * c * c * sizeof(float);
    return max_size(partials, c * pack_cols(ctx, c, hw) * sizeof(float));
}

/* gram = scale * F F^T by cl/gram.cl: the upper blocks of each slice, then their sum,
 * mirrored. */
static cls_status gram_kernel(cls_ctx *ctx, size_t c, size_t hw, gram_split split, cl_mem features,
                              size_t offset, float scale, cl_mem gram, size_t gram_offset)
{
    cls_status status = CLS_OK;
    cl_mem partial;
    CLS_TRY(
        cls_ctx_scratch(ctx, CLS_SCRATCH_WORK_A, split.parts * c * c * sizeof(float), &partial));
    const cls_tunables *t = &ctx->tunables;
    const cl_uint offset_arg = (cl_uint)offset, out_offset = (cl_uint)gram_offset;
    const cl_int c_arg = (cl_int)c, hw_arg = (cl_int)hw, cols = (cl_int)split.cols,
                 parts = (cl_int)split.parts;
    const cls_arg upper_args[] = {CLS_ARG(features), CLS_ARG(offset_arg), CLS_ARG(c_arg),
                                  CLS_ARG(hw_arg),   CLS_ARG(cols),       CLS_ARG(partial)};
    const size_t blocks_j = div_up(c, t->gram_rows_j), blocks_i = div_up(c, t->gram_rows_i);
    /* A work-group is one row of blocks of one slice (its rows stay in cache across the
     * column blocks), or for many channels a tile of blocks (runtime/tunables.c). */
    const bool tile = c >= (size_t)t->gram_tile_min_channels;
    const size_t gj = tile ? min_size(t->gram_tile_j, blocks_j) : blocks_j;
    const size_t gi = tile ? min_size(t->gram_tile_i, blocks_i) : 1;
    const size_t global[3] = {round_up(blocks_j, gj), round_up(blocks_i, gi), split.parts};
    const size_t group[3] = {gj, gi, 1};
    CLS_TRY(cls_launch(ctx, "gram_upper", upper_args, 6, 3, global, group));
    const cls_arg sum_args[] = {CLS_ARG(partial), CLS_ARG(parts), CLS_ARG(c_arg),
                                CLS_ARG(scale),   CLS_ARG(gram),  CLS_ARG(out_offset)};
    const size_t square[2] = {c, c};
    CLS_TRY(cls_launch(ctx, "gram_sum_mirror", sum_args, 6, 2, square, NULL));
fail:
    return status;
}

/* gram[n] = scale * sum over the slices of F's columns of slice * slice^T: one strided-batched
 * product into the scratch buffer, then a kernel adding the partial matrices. */
static cls_status gram_blas_split(cls_ctx *ctx, size_t c, size_t hw, size_t parts, cl_mem features,
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

static cls_status gram_blas(cls_ctx *ctx, size_t c, size_t hw, size_t parts, cl_mem features,
                            size_t offset, float scale, cl_mem gram, size_t gram_offset)
{
    cls_status status = CLS_OK;
    if (parts > 1)
        return gram_blas_split(ctx, c, hw, parts, features, offset, scale, gram, gram_offset);
    CLS_RUN_BLAS(ctx,
                 CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, c, c,
                              hw, scale, features, offset, hw, features, offset, hw, 0.0f, gram,
                              gram_offset, c, &ctx->queue, NULL),
                 "Gram matrix (CLBlastSgemm)");
fail:
    return status;
}

cls_status cls_gram_forward(cls_ctx *ctx, cls_shape f, cl_mem features, float scale, cl_mem gram)
{
    cls_status status = cls_shape_check(f, "gram_forward");
    if (status != CLS_OK)
        return status;
    const size_t c = (size_t)f.c, hw = (size_t)f.h * (size_t)f.w;
    const gram_split split = split_for(ctx, c, hw);
    for (int n = 0; n < f.n; n++) {
        const size_t offset = n * c * hw, gram_offset = n * c * c;
        if (ctx->tunables.gram_kernel)
            CLS_TRY(gram_kernel(ctx, c, hw, split, features, offset, scale, gram, gram_offset));
        else
            CLS_TRY(gram_blas(ctx, c, hw, split.parts, features, offset, scale, gram, gram_offset));
    }
fail:
    return status;
}

/* Work-items along the columns in a gram_grad work-group (each with all the row blocks): the
 * tunable's, fewer when that would leave under 4 work-groups per compute unit. */
static size_t grad_group(const cls_ctx *ctx, size_t items)
{
    const size_t units = ctx->info.compute_units ? ctx->info.compute_units : 1;
    size_t g = (size_t)ctx->tunables.gram_grad_group;
    while (g > 1 && items / g < 4 * units)
        g /= 2;
    return g;
}

static cls_status grad_blas(cls_ctx *ctx, size_t c, size_t hw, cl_mem sym, cl_mem features,
                            size_t offset, bool accumulate, cl_mem grad_features)
{
    cls_status status = CLS_OK;
    CLS_RUN_BLAS(ctx,
                 CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, c, hw,
                              c, 1.0f, sym, 0, c, features, offset, hw, accumulate ? 1.0f : 0.0f,
                              grad_features, offset, hw, &ctx->queue, NULL),
                 "Gram gradient (CLBlastSgemm)");
fail:
    return status;
}

/* grad_features[n] (+)= sym features[n], sym = scale * (grad_gram[n] + grad_gram[n]^T): by
 * cl/gram.cl, a chunk of F's columns at a time packed, then multiplied. */
static cls_status grad_kernel(cls_ctx *ctx, size_t c, size_t hw, cl_mem sym, cl_mem features,
                              size_t offset, bool accumulate, cl_mem grad_features)
{
    cls_status status = CLS_OK;
    const size_t chunk = pack_cols(ctx, c, hw);
    cl_mem packed;
    CLS_TRY(cls_ctx_scratch(ctx, CLS_SCRATCH_WORK_A, c * chunk * sizeof(float), &packed));
    const cl_uint offset_arg = (cl_uint)offset;
    const cl_int c_arg = (cl_int)c, hw_arg = (cl_int)hw, acc = accumulate;
    /* Two packed blocks a work-item where the device prefers it (gram_grad_wide). */
    const bool wide = ctx->tunables.gram_grad_vecs == 2;
    const size_t rows =
        (size_t)(wide ? ctx->tunables.gram_grad_wide_rows : ctx->tunables.gram_grad_rows);
    const size_t row_blocks = div_up(c, rows);
    for (size_t p0 = 0; p0 < hw; p0 += chunk) {
        const cl_int p0_arg = (cl_int)p0, cols_arg = (cl_int)min_size(hw - p0, chunk);
        const size_t blocks = div_up((size_t)cols_arg, 16);
        const cls_arg pack_args[] = {CLS_ARG(features), CLS_ARG(offset_arg), CLS_ARG(c_arg),
                                     CLS_ARG(hw_arg),   CLS_ARG(p0_arg),     CLS_ARG(packed)};
        const size_t pack_global[2] = {blocks, c};
        CLS_TRY(cls_launch(ctx, "gram_pack", pack_args, 6, 2, pack_global, NULL));
        const cls_arg args[] = {CLS_ARG(sym),      CLS_ARG(packed),        CLS_ARG(p0_arg),
                                CLS_ARG(cols_arg), CLS_ARG(grad_features), CLS_ARG(offset_arg),
                                CLS_ARG(c_arg),    CLS_ARG(hw_arg),        CLS_ARG(acc)};
        const size_t items = wide ? div_up(blocks, 2) : blocks, g = grad_group(ctx, items);
        const size_t global[2] = {round_up(items, g), row_blocks}, group[2] = {g, row_blocks};
        CLS_TRY(cls_launch(ctx, wide ? "gram_grad_wide" : "gram_grad", args, 9, 2, global, group));
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
    const cl_int c_arg = (cl_int)c;
    const size_t global[2] = {c, c};
    for (int n = 0; n < f.n; n++) {
        const cl_uint gram_offset = (cl_uint)(n * c * c);
        const cls_arg args[] = {CLS_ARG(grad_gram), CLS_ARG(gram_offset), CLS_ARG(scale),
                                CLS_ARG(sym), CLS_ARG(c_arg)};
        CLS_TRY(cls_launch(ctx, "gram_symmetrize", args, 5, 2, global, NULL));
        const size_t offset = n * c * hw;
        if (ctx->tunables.gram_kernel)
            CLS_TRY(grad_kernel(ctx, c, hw, sym, features, offset, accumulate, grad_features));
        else
            CLS_TRY(grad_blas(ctx, c, hw, sym, features, offset, accumulate, grad_features));
    }
fail:
    return status;
}
