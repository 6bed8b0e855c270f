/* Winograd F(4x4, 3x3) convolution: launchers of cl/winograd.cl, the channel mixing as 36
 * batched matrix products (the wino_gemm kernel or CLBlast). */
#include "ops/conv.h"
#include "runtime/blas_status.h"
#include "runtime/launch.h"

#include <stdlib.h>
#include <string.h>

/* Tiles per work-item of the transforms (WINO_LANES). */
enum { LANES = 8 };

/* The transformed buffers' ld: the columns rounded up to whole column blocks of the
 * channel-mixing kernel (and so to whole LANES), 16 for wino_gemm, 32 for wino_gemm_wide. A
 * device that prefers the wide kernel gets 32-column rounding only where it adds at most an
 * eighth to the 16-column one: a map of 16 tiles (512 channels at 16x16) would do twice the
 * work. Monotone in cols, so a chunk's ld never exceeds the plan's largest. */
static size_t round_cols(const cls_ctx *ctx, size_t cols)
{
    const size_t narrow = (cols + 15) / 16 * 16, wide = (cols + 31) / 32 * 32;
    return ctx->tunables.wino_gemm_vecs == 2 && wide * 8 <= narrow * 9 ? wide : narrow;
}

/* How a layer's 4x4 tiles are split into chunks of whole tile rows (over the batch), so the
 * transformed buffers stay within the scratch budget. */
typedef struct wino_plan {
    int tiles_h, tiles_w;
    int total_rows; /* n * tiles_h */
    int rows;       /* output tile rows per chunk */
    size_t max_ld;  /* columns of the largest chunk, with the backward pass's halo rows */
} wino_plan;

static wino_plan plan_of(const cls_ctx *ctx, cls_shape in, int cout)
{
    wino_plan p = {.tiles_h = (in.h + 3) / 4, .tiles_w = (in.w + 3) / 4};
    p.total_rows = in.n * p.tiles_h;
    const size_t channels = (size_t)(in.c > cout ? in.c : cout);
    const size_t row_bytes = 36 * channels * (size_t)p.tiles_w * sizeof(float);
    const size_t fit = ctx->tunables.wino_scratch_bytes / row_bytes;
    /* Two of the rows that fit are the halo of the backward pass. */
    p.rows = fit > 2 ? (fit - 2 < (size_t)p.total_rows ? (int)(fit - 2) : p.total_rows) : 1;
    const int with_halo = p.rows + 2 < p.total_rows ? p.rows + 2 : p.total_rows;
    p.max_ld = round_cols(ctx, (size_t)with_halo * (size_t)p.tiles_w);
    return p;
}

void cls_conv3x3_winograd_scratch_bytes(const cls_ctx *ctx, cls_shape in, int cout, size_t bytes[2])
{
    const wino_plan p = plan_of(ctx, in, cout);
    bytes[0] = 36 * (size_t)in.c * p.max_ld * sizeof(float);
    bytes[1] = 36 * (size_t)cout * p.max_ld * sizeof(float);
}

const char *cls_conv_algo_name(cls_conv_algo algo)
{
    return algo == CLS_CONV_WINOGRAD ? "winograd" : "direct";
}

size_t cls_conv3x3_winograd_weight_count(int cin, int cout)
{
    return 36 * (size_t)cin * (size_t)cout;
}

cls_status cls_conv3x3_winograd_weights(cls_ctx *ctx, int cin, int cout, cl_mem weight, cl_mem u)
{
    if (cin < 1 || cout < 1)
        return cls_error(CLS_ERR_SHAPE, "conv3x3_winograd_weights: %d -> %d channels", cin, cout);
    const cl_int cin_arg = cin, cout_arg = cout;
    const cls_arg args[] = {CLS_ARG(weight), CLS_ARG(u), CLS_ARG(cin_arg), CLS_ARG(cout_arg)};
    const size_t global[1] = {(size_t)cin * (size_t)cout};
    return cls_launch(ctx, "wino_weight_transform", args, 4, 1, global, NULL);
}

/* c[k] = op(a[k]) x b[k] for the 36 k: op(a) is rows_m x depth (a transposed when trans_a),
 * b depth x ld, c rows_m x ld. */
static cls_status channel_mix(cls_ctx *ctx, cl_mem a, bool trans_a, int rows_m, int depth, cl_mem b,
                              size_t ld, cl_mem c)
{
    cls_status status = CLS_OK;
    if (ctx->tunables.wino_clblast) {
        const size_t m = (size_t)rows_m, k = (size_t)depth;
        CLS_RUN_BLAS(ctx,
                     CLBlastSgemmStridedBatched(
                         CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                         CLBlastTransposeNo, m, ld, k, 1.0f, a, 0, trans_a ? m : k, m * k, b, 0, ld,
                         k * ld, 0.0f, c, 0, ld, m * ld, 36, &ctx->queue, NULL),
                     "Winograd channel mixing (CLBlastSgemmStridedBatched)");
        return CLS_OK;
    }
    const cl_int rows_arg = rows_m, depth_arg = depth, ld_arg = (cl_int)ld, trans = trans_a;
    const cls_arg args[] = {CLS_ARG(a),         CLS_ARG(b),      CLS_ARG(c),    CLS_ARG(rows_arg),
                            CLS_ARG(depth_arg), CLS_ARG(ld_arg), CLS_ARG(trans)};
    if (ctx->tunables.wino_gemm_vecs == 0) { /* a column a work-item (SIMD-lane devices) */
        const size_t rows = (size_t)ctx->tunables.wino_gemm_lane_rows;
        const size_t global[3] = {ld, ((size_t)rows_m + rows - 1) / rows, 36};
        const size_t group[3] = {16, 1, 1}; /* ld is a multiple of 16 */
        return cls_launch(ctx, "wino_gemm_lanes", args, 7, 3, global, group);
    }
    /* The wide kernel wherever the device prefers it and ld has whole 32-column blocks. */
    const bool wide = ctx->tunables.wino_gemm_vecs == 2 && ld % 32 == 0;
    const int tile = ctx->tunables.wino_gemm_rows;
    const size_t blocks = (size_t)((rows_m + tile - 1) / tile);
    const size_t global[3] = {ld / (wide ? 32 : 16), blocks, 36}, column[3] = {1, blocks, 1};
    const bool by_column = ctx->tunables.wino_gemm_column && blocks <= 256;
    status = cls_launch(ctx, wide ? "wino_gemm_wide" : "wino_gemm", args, 7, 3, global,
                        by_column ? column : NULL);
fail:
    return status;
}

static cls_status check_shapes(cls_shape in, int cout, const char *op)
{
    cls_status status = cls_shape_check(in, op);
    if (status != CLS_OK)
        return status;
    if (cout < 1)
        return cls_error(CLS_ERR_SHAPE, "%s: %d output channels", op, cout);
    return cls_shape_check((cls_shape){in.n, cout, in.h, in.w}, op);
}

/* The two scratch buffers a Winograd pass of this layer works in. */
static cls_status acquire_scratch(cls_ctx *ctx, cls_shape in, int cout, cl_mem *a, cl_mem *b)
{
    cls_status status = CLS_OK;
    size_t bytes[2];
    cls_conv3x3_winograd_scratch_bytes(ctx, in, cout, bytes);
    CLS_TRY(cls_ctx_scratch(ctx, CLS_SCRATCH_WORK_A, bytes[0], a));
    CLS_TRY(cls_ctx_scratch(ctx, CLS_SCRATCH_WORK_B, bytes[1], b));
fail:
    return status;
}

cls_status cls_conv3x3_winograd_forward(cls_ctx *ctx, cls_shape in, int cout, cl_mem input,
                                        cl_mem u, cl_mem bias, bool relu, cl_mem output)
{
    cls_status status = check_shapes(in, cout, "conv3x3_winograd_forward");
    if (status != CLS_OK)
        return status;
    const wino_plan p = plan_of(ctx, in, cout);
    cl_mem v, m;
    CLS_TRY(acquire_scratch(ctx, in, cout, &v, &m));
    const cl_int cin = in.c, h = in.h, w = in.w, cout_arg = cout, th = p.tiles_h, tw = p.tiles_w;
    const cl_int use_bias = bias != NULL, use_relu = relu;
    const size_t group[2] = {(size_t)ctx->tunables.wino_group, 1};
    for (int row0 = 0; row0 < p.total_rows; row0 += p.rows) {
        const cl_int r0 = row0, rows = p.total_rows - row0 < p.rows ? p.total_rows - row0 : p.rows;
        const size_t cols = (size_t)rows * (size_t)p.tiles_w, ld = round_cols(ctx, cols);
        const cl_int ld_arg = (cl_int)ld;
        const cls_arg in_args[] = {CLS_ARG(input), CLS_ARG(v),     CLS_ARG(cin), CLS_ARG(h),
                                   CLS_ARG(w),     CLS_ARG(th),    CLS_ARG(tw),  CLS_ARG(r0),
                                   CLS_ARG(rows),  CLS_ARG(ld_arg)};
        const size_t in_global[2] = {ld / LANES, (size_t)cin};
        CLS_TRY(cls_launch(ctx, "wino_input_transform", in_args, 10, 2, in_global, group));
        CLS_TRY(channel_mix(ctx, u, false, cout, cin, v, ld, m));
        const cls_arg out_args[] = {
            CLS_ARG(m),      CLS_ARG(bias),     CLS_ARG(output),  CLS_ARG(cout_arg), CLS_ARG(h),
            CLS_ARG(w),      CLS_ARG(th),       CLS_ARG(tw),      CLS_ARG(r0),       CLS_ARG(rows),
            CLS_ARG(ld_arg), CLS_ARG(use_bias), CLS_ARG(use_relu)};
        const size_t out_global[2] = {(cols + LANES - 1) / LANES, (size_t)cout};
        CLS_TRY(cls_launch(ctx, "wino_output_transform", out_args, 13, 2, out_global, group));
    }
fail:
    return status;
}

cls_status cls_conv3x3_winograd_backward_data(cls_ctx *ctx, cls_shape in, int cout,
                                              cl_mem grad_output, cl_mem u, cl_mem grad_input)
{
    cls_status status = check_shapes(in, cout, "conv3x3_winograd_backward_data");
    if (status != CLS_OK)
        return status;
    const wino_plan p = plan_of(ctx, in, cout);
    cl_mem pbuf, d;
    CLS_TRY(acquire_scratch(ctx, in, cout, &pbuf, &d));
    const cl_int cin = in.c, h = in.h, w = in.w, cout_arg = cout, th = p.tiles_h, tw = p.tiles_w;
    const size_t group[2] = {(size_t)ctx->tunables.wino_group, 1};
    for (int row0 = 0; row0 < p.total_rows; row0 += p.rows) {
        const cl_int r0 = row0, rows = p.total_rows - row0 < p.rows ? p.total_rows - row0 : p.rows;
        /* The tile rows just above and below the chunk contribute to its edge pixels, unless
         * they belong to another image of the batch (or do not exist). */
        const cl_int p0 = r0 % p.tiles_h ? r0 - 1 : r0;
        const cl_int p_end = (r0 + rows) % p.tiles_h ? r0 + rows + 1 : r0 + rows;
        const cl_int prows = p_end - p0;
        const size_t cols = (size_t)prows * (size_t)p.tiles_w, ld = round_cols(ctx, cols);
        const cl_int ld_arg = (cl_int)ld;
        const cls_arg d_args[] = {
            CLS_ARG(grad_output), CLS_ARG(d),  CLS_ARG(cout_arg), CLS_ARG(h),     CLS_ARG(w),
            CLS_ARG(th),          CLS_ARG(tw), CLS_ARG(p0),       CLS_ARG(prows), CLS_ARG(ld_arg)};
        const size_t d_global[2] = {ld / LANES, (size_t)cout};
        CLS_TRY(cls_launch(ctx, "wino_grad_transform", d_args, 10, 2, d_global, group));
        CLS_TRY(channel_mix(ctx, u, true, cin, cout, d, ld, pbuf));
        const cls_arg g_args[] = {CLS_ARG(pbuf), CLS_ARG(grad_input), CLS_ARG(cin),   CLS_ARG(h),
                                  CLS_ARG(w),    CLS_ARG(th),         CLS_ARG(tw),    CLS_ARG(r0),
                                  CLS_ARG(rows), CLS_ARG(p0),         CLS_ARG(ld_arg)};
        const size_t g_global[2] = {((size_t)rows * (size_t)p.tiles_w + LANES - 1) / LANES,
                                    (size_t)cin};
        CLS_TRY(cls_launch(ctx, "wino_grad_gather", g_args, 11, 2, g_global, group));
    }
fail:
    return status;
}
