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
