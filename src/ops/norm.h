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
    cls_shape shape; /* of the output, and of the region of input normalised */
    cl_mem input;    /* read through view */
    cls_plane_view view;
    cl_mem weight, bias; /* [c] each: gamma and beta */
    float eps;           /* 1e-5 in PyTorch */
    bool relu;           /* max(0, .) after the affine step */
    cl_mem residual;     /* NULL, or [n][c][h][w] added last (after any ReLU) */
    cl_mem output;       /* [n][c][h][w]; must not alias input */
    cl_mem stats;        /* NULL, or [n][c][2] floats that get each plane's mean and
                          * 1 / sqrt(var + eps), for cls_instance_norm_backward */
} cls_instance_norm_args;

/* output = [relu](weight[c] * (x - mean) / sqrt(var + eps) + bias[c]) [+ residual], with mean
 * and the biased variance var of x over the h x w region of each (n, c) plane. */
cls_status cls_instance_norm_forward(cls_ctx *ctx, const cls_instance_norm_args *args);

typedef struct cls_instance_norm_backward_args {
    cls_shape shape; /* of the forward's output */
    cl_mem input;    /* the forward's input, read through view */
    cls_plane_view view;
    cl_mem weight;      /* [c]: gamma */
    cl_mem stats;       /* [n][c][2]: what the forward stored through its args.stats */
    bool relu;          /* the forward applied ReLU: gradients where output <= 0 are dropped */
    cl_mem output;      /* with relu: the forward's output (a forward with relu and a
                         * residual gives the wrong mask; transformer networks have none) */
    cl_mem grad_output; /* [n][c][h][w] */
    cl_mem grad_input;  /* [n][c][h][w] dense (not through view), overwritten; may be
                         * grad_output (in place) */
    cl_mem grad_weight; /* NULL, or [c]: overwritten with sum over n, pixels of dy * xhat */
    cl_mem grad_bias;   /* NULL, or [c]: overwritten with sum over n, pixels of dy */
} cls_instance_norm_backward_args;

/* The gradients of cls_instance_norm_forward w.r.t. its input, weight and bias, with
 * xhat = (x - mean) * rstd and dy the output gradient masked by the ReLU when relu:
 *     grad_input = weight[c] * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)),
 * means over each (n, c) plane. The residual's gradient is grad_output itself: the caller
 * adds it to the residual input's. */
cls_status cls_instance_norm_backward(cls_ctx *ctx, const cls_instance_norm_backward_args *args);

#endif
