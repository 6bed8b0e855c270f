/* Instance normalisation (torch.nn.InstanceNorm2d with affine weight and bias, no running
 * statistics): each image's channel is normalised over its own pixels, with the biased
 * variance and eps, then scaled and shifted; ReLU and a residual add can follow in the same
 * pass. */
#ifndef CLS_OPS_NORM_H
#define CLS_OPS_NORM_H

#include "ops/shape.h"
#include "runtime/context.h"

#include <stdbool.h>

/* A region of an NCHW tensor whose planes are plane_h x plane_w: the rows y0 .. y0 + h - 1 and
 * columns x0 .. x0 + w - 1 of every plane (h and w are the op's shape). A convolution that
 * kept its padding border (the 3x3 "same" kernels run on a padded input) is read through it. */
typedef struct cls_plane_view {
    int plane_h, plane_w;
    int y0, x0;
} cls_plane_view;

/* The view of a whole h x w plane. */
static inline cls_plane_view cls_plane_view_full(cls_shape s)
{
    return (cls_plane_view){s.h, s.w, 0, 0};
}

typedef struct cls_instance_norm_args {
    cls_shape shape;      /* of the output, and of the region of input normalised */
    cl_mem input;         /* read through view */
    cls_plane_view view;
    cl_mem weight, bias;  /* [c] each: gamma and beta */
    float eps;            /* 1e-5 in PyTorch */
    bool relu;            /* max(0, .) after the affine step */
    cl_mem residual;      /* NULL, or [n][c][h][w] added last (after any ReLU) */
    cl_mem output;        /* [n][c][h][w]; must not alias input */
} cls_instance_norm_args;

/* output = [relu](weight[c] * (x - mean) / sqrt(var + eps) + bias[c]) [+ residual], with mean
 * and the biased variance var of x over the h x w region of each (n, c) plane. */
cls_status cls_instance_norm_forward(cls_ctx *ctx, const cls_instance_norm_args *args);

#endif
