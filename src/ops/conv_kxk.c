/* Launchers of the k x k convolution kernels in cl/conv_kxk.cl. */
#include "ops/conv_kxk.h"
#include "runtime/launch.h"

/* A kernel of cl/conv_kxk.cl specialised for one k and stride: tile output channels and
 * vecs float8 vectors of a row per work-item. */
typedef struct kxk_kernel {
    const char *name;
    int k, stride, tile, vecs;
} kxk_kernel;

static const kxk_kernel kernels[] = {
    {"conv_kxk_k9_s1_t4", 9, 1, 4, 2}, {"conv_kxk_k9_s1_t3", 9, 1, 3, 2},
    {"conv_kxk_k3_s2_t8", 3, 2, 8, 1}, {"conv_kxk_k3_s2_t4", 3, 2, 4, 2},
    {"conv_kxk_k3_s1_t8", 3, 1, 8, 1}, {"conv_kxk_k3_s1_t4", 3, 1, 4, 2},
};

/* Any other odd k, given to the kernel as an argument. */
static const kxk_kernel any_kernel = {"conv_kxk_any", 0, 0, 8, 1};

/* Output channels a tile of this many computes for nothing. */
static int wasted(int cout, int tile)
{
    return (cout + tile - 1) / tile * tile - cout;
}

/* The first kernel listed for k and stride (the fastest per channel) that wastes at most an
 * eighth of cout, else the one that wastes least: for 3 output channels, the tile of 3. */
static const kxk_kernel *choose(int k, int stride, int cout)
{
    const kxk_kernel *best = NULL;
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        const kxk_kernel *c = &kernels[i];
        if (c->k != k || c->stride != stride)
            continue;
        if (8 * wasted(cout, c->tile) <= cout)
            return c;
        if (!best || wasted(cout, c->tile) < wasted(cout, best->tile))
            best = c;
    }
    return best ? best : &any_kernel;
}

cls_status cls_conv_kxk_shape(cls_shape in, int cout, int k, int stride, cls_shape *out)
{
    cls_status status = cls_shape_check(in, "conv_kxk");
    if (status != CLS_OK)
        return status;
    if (k < 1 || k % 2 == 0)
        return cls_error(CLS_ERR_SHAPE, "conv_kxk: kernel size %d is not odd and positive", k);
    if (stride != 1 && stride != 2)
        return cls_error(CLS_ERR_SHAPE, "conv_kxk: stride %d (1 or 2 supported)", stride);
    if (cout < 1)
        return cls_error(CLS_ERR_SHAPE, "conv_kxk: %d output channels", cout);
    if (in.h < k || in.w < k)
        return cls_error(CLS_ERR_SHAPE, "conv_kxk: a %dx%d input is smaller than the %dx%d kernel",
                         in.h, in.w, k, k);
    cls_shape o = {in.n, cout, (in.h - k) / stride + 1, (in.w - k) / stride + 1};
    status = cls_shape_check(o, "conv_kxk output");
    if (status != CLS_OK)
        return status;
    *out = o;
    return CLS_OK;
}

cls_status cls_conv_kxk_forward(cls_ctx *ctx, cls_shape in, int cout, int k, int stride,
                                cl_mem input, cl_mem weight, cl_mem bias, cl_mem output)
{
    cls_shape out;
    cls_status status = cls_conv_kxk_shape(in, cout, k, stride, &out);
    if (status != CLS_OK)
        return status;
    const kxk_kernel *kernel = choose(k, stride, cout);
    const cl_int cin = in.c, h = in.h, w = in.w, cout_arg = cout, use_bias = bias != NULL;
    const cl_int k_arg = k, stride_arg = stride;
    const cls_arg args[] = {CLS_ARG(input),  CLS_ARG(weight),    CLS_ARG(bias),
                            CLS_ARG(output), CLS_ARG(cin),       CLS_ARG(h),
                            CLS_ARG(w),      CLS_ARG(cout_arg),  CLS_ARG(use_bias),
                            CLS_ARG(k_arg),  CLS_ARG(stride_arg)};
    const size_t columns = (size_t)(8 * kernel->vecs);
    const size_t global[3] = {((size_t)out.w + columns - 1) / columns, (size_t)out.h,
                              (size_t)in.n * (size_t)((cout + kernel->tile - 1) / kernel->tile)};
    return cls_launch(ctx, kernel->name, args, kernel->k ? 9 : 11, 3, global, NULL);
}

/* Backward-data kernels of cl/conv_kxk.cl: input-channel tiles of 8 or 4. */
static const kxk_kernel bd_kernels[] = {
    {"conv_kxk_bd_k9_s1_t8", 9, 1, 8, 1}, {"conv_kxk_bd_k9_s1_t4", 9, 1, 4, 1},
    {"conv_kxk_bd_k3_s2_t8", 3, 2, 8, 1}, {"conv_kxk_bd_k3_s2_t4", 3, 2, 4, 1},
    {"conv_kxk_bd_k3_s1_t8", 3, 1, 8, 1}, {"conv_kxk_bd_k3_s1_t4", 3, 1, 4, 1},
};
static const kxk_kernel bd_any_kernel = {"conv_kxk_bd_any", 0, 0, 8, 1};

cls_status cls_conv_kxk_backward_data(cls_ctx *ctx, cls_shape in, int cout, int k, int stride,
                                      cl_mem grad_output, cl_mem weight, cl_mem grad_input)
{
    cls_shape out;
    cls_status status = cls_conv_kxk_shape(in, cout, k, stride, &out);
    if (status != CLS_OK)
        return status;
    const kxk_kernel *kernel = NULL;
    for (size_t i = 0; i < sizeof bd_kernels / sizeof bd_kernels[0]; i++) {
        const kxk_kernel *c = &bd_kernels[i];
        if (c->k != k || c->stride != stride)
            continue;
        if (8 * wasted(in.c, c->tile) <= in.c) {
            kernel = c;
            break;
        }
        if (!kernel || wasted(in.c, c->tile) < wasted(in.c, kernel->tile))
            kernel = c;
    }
    if (!kernel)
        kernel = &bd_any_kernel;
    const cl_int cin = in.c, h = in.h, w = in.w, cout_arg = cout, k_arg = k, stride_arg = stride;
    const cls_arg args[] = {CLS_ARG(grad_output), CLS_ARG(weight), CLS_ARG(grad_input),
                            CLS_ARG(cin),         CLS_ARG(h),      CLS_ARG(w),
                            CLS_ARG(cout_arg),    CLS_ARG(k_arg),  CLS_ARG(stride_arg)};
    const size_t global[3] = {(size_t)in.w, (size_t)in.h,
                              (size_t)in.n * (size_t)((in.c + kernel->tile - 1) / kernel->tile)};
    return cls_launch(ctx, kernel->name, args, kernel->k ? 7 : 9, 3, global, NULL);
}

/* Backward-weights kernels of cl/conv_kxk.cl for the sizes without a register-blocked one
 * (bwb_kernels below): a row of k taps per work-group (those listed), else one tap. */
static const kxk_kernel bw_kernels[] = {
    {"conv_kxk_bw_k1_s1", 1, 1, 0, 0},
};

/* The register-blocked backward-weights kernels (4 output channels x 3 taps a work-item). */
static const kxk_kernel bwb_kernels[] = {
    {"conv_kxk_bwb_k3_s1", 3, 1, 0, 0},
    {"conv_kxk_bwb_k3_s2", 3, 2, 0, 0},
    {"conv_kxk_bwb_k9_s1", 9, 1, 0, 0},
};

static const kxk_kernel *find_kernel(const kxk_kernel *list, size_t count, int k, int stride)
{
    for (size_t i = 0; i < count; i++)
        if (list[i].k == k && list[i].stride == stride)
            return &list[i];
    return NULL;
}

/* By bwb_kernels: the output rows (n, oy) split into slices only where the blocks alone
 * would leave compute units idle (GPUs), the slices' sums then added in order. */
static cls_status backward_weights_blocked(cls_ctx *ctx, const kxk_kernel *kernel, cls_shape in,
                                           cls_shape out, cl_mem input, cl_mem grad_output,
                                           cl_mem grad_weight)
{
    cls_status status = CLS_OK;
    const int k = kernel->k, cout = out.c;
    const size_t taps = (size_t)in.c * k * (k / 3), blocks = ((size_t)cout + 3) / 4;
    const size_t rows = (size_t)in.n * out.h, count = (size_t)cout * in.c * k * k;
    const size_t units = ctx->info.compute_units ? ctx->info.compute_units : 1;
    const size_t want = units * 64;
    size_t slices = (want + taps * blocks - 1) / (taps * blocks);
    slices = slices < 1 ? 1 : slices > (rows + 3) / 4 ? (rows + 3) / 4 : slices;
    const size_t per_slice = (rows + slices - 1) / slices;
    slices = (rows + per_slice - 1) / per_slice;
    cl_mem dst = grad_weight;
    if (slices > 1)
        CLS_TRY(cls_ctx_scratch(ctx, CLS_SCRATCH_REDUCE, slices * count * sizeof(float), &dst));
    const cl_int batch = in.n, cin = in.c, h = in.h, w = in.w, cout_arg = cout;
    const cl_int per_slice_arg = (cl_int)per_slice;
    const cls_arg args[] = {CLS_ARG(input), CLS_ARG(grad_output), CLS_ARG(dst),
                            CLS_ARG(batch), CLS_ARG(cin),         CLS_ARG(h),
                            CLS_ARG(w),     CLS_ARG(cout_arg),    CLS_ARG(per_slice_arg)};
    const size_t global[3] = {taps, blocks, slices};
    CLS_TRY(cls_launch(ctx, kernel->name, args, 9, 3, global, NULL));
    if (slices > 1) {
        const cl_uint parts = (cl_uint)slices, stride = (cl_uint)count, n = (cl_uint)count,
                      offset = 0;
        const cls_arg sa[] = {CLS_ARG(dst),         CLS_ARG(parts),  CLS_ARG(stride),
                              CLS_ARG(grad_weight), CLS_ARG(offset), CLS_ARG(n)};
        CLS_TRY(cls_launch(ctx, "sum_partials", sa, 6, 1, &count, NULL));
    }
fail:
    return status;
}

cls_status cls_conv_kxk_backward_weights(cls_ctx *ctx, cls_shape in, int cout, int k, int stride,
                                         cl_mem input, cl_mem grad_output, cl_mem grad_weight,
                                         cl_mem grad_bias)
{
    cls_shape out;
    cls_status status = cls_conv_kxk_shape(in, cout, k, stride, &out);
    if (status != CLS_OK)
        return status;
    const cl_int batch = in.n, cout_arg = cout;
    const size_t group = (size_t)ctx->tunables.reduce_group, local[1] = {group};
    const kxk_kernel *blocked =
        find_kernel(bwb_kernels, sizeof bwb_kernels / sizeof bwb_kernels[0], k, stride);
    if (blocked) {
        status = backward_weights_blocked(ctx, blocked, in, out, input, grad_output, grad_weight);
        goto bias;
    }
    const kxk_kernel *kernel =
        find_kernel(bw_kernels, sizeof bw_kernels / sizeof bw_kernels[0], k, stride);
    const int kx_per = kernel ? k : 1;
    const size_t rows = (size_t)cout * (size_t)in.c * (size_t)k * (size_t)(k / kx_per);
    const size_t pixels = (size_t)in.n * (size_t)out.h * (size_t)out.w;

    /* Split each tap row's pixels into parts (fixed by shape and device, as in ops/norm.c)
     * until the device has a few work-groups per compute unit. */
    const cls_tunables *t = &ctx->tunables;
    const size_t units = ctx->info.compute_units ? ctx->info.compute_units : 1;
    const size_t want = units * (size_t)(t->norm_groups_per_cu > 0 ? t->norm_groups_per_cu : 1);
    size_t parts = (want + rows - 1) / rows;
    const size_t min_part = t->norm_min_part > 0 ? (size_t)t->norm_min_part : 1;
    if (parts > pixels / min_part)
        parts = pixels / min_part;
    if (parts > (size_t)t->norm_max_parts)
        parts = (size_t)t->norm_max_parts;
    if (parts < 1)
        parts = 1;

    cl_mem dst = grad_weight;
    if (parts > 1) {
        status =
            cls_ctx_scratch(ctx, CLS_SCRATCH_REDUCE, rows * parts * kx_per * sizeof(float), &dst);
        if (status != CLS_OK)
            return status;
    }
    const cl_int cin = in.c, h = in.h, w = in.w;
    const cl_int parts_arg = (cl_int)parts, k_arg = k, stride_arg = stride;
    const cls_arg args[] = {CLS_ARG(input), CLS_ARG(grad_output), CLS_ARG(dst),
                            CLS_ARG(batch), CLS_ARG(cin),         CLS_ARG(h),
                            CLS_ARG(w),     CLS_ARG(cout_arg),    CLS_ARG(parts_arg),
                            CLS_ARG(k_arg), CLS_ARG(stride_arg)};
    const size_t global[1] = {rows * parts * group};
    status = cls_launch(ctx, kernel ? kernel->name : "conv_kxk_bw_any", args, kernel ? 9 : 11, 1,
                        global, local);
    if (status != CLS_OK)
        return status;
    if (parts > 1) {
        const cl_int count = (cl_int)(rows * kx_per), kx_arg = kx_per;
        const cls_arg sa[] = {CLS_ARG(dst), CLS_ARG(grad_weight), CLS_ARG(count),
                              CLS_ARG(parts_arg), CLS_ARG(kx_arg)};
        const size_t sg[1] = {(size_t)count};
        status = cls_launch(ctx, "conv_kxk_bw_sum", sa, 5, 1, sg, NULL);
    }
bias:
    if (status != CLS_OK || !grad_bias)
        return status;
    const cl_int out_size = out.h * out.w;
    const cls_arg ba[] = {CLS_ARG(grad_output), CLS_ARG(grad_bias), CLS_ARG(batch),
                          CLS_ARG(cout_arg), CLS_ARG(out_size)};
    const size_t bg[1] = {(size_t)cout * group};
    return cls_launch(ctx, "conv_kxk_bw_bias", ba, 5, 1, bg, local);
}
