/* 3x3 convolution (stride 1, zero padding 1): forward with bias and optional ReLU, and the
 * gradient with respect to the input; directly, or by Winograd F(4x4, 3x3) with weights
 * transformed once per layer. */
#ifndef CLS_OPS_CONV_H
#define CLS_OPS_CONV_H

#include "ops/shape.h"
#include "runtime/context.h"

/* output[n][cout][h][w] = conv(input[n][in.c][h][w], weight[cout][in.c][3][3]) + bias,
 * then max(0, .) when relu. bias may be NULL (no bias). */
cls_status cls_conv3x3_forward(cls_ctx *ctx, cls_shape in, int cout, cl_mem input, cl_mem weight,
                               cl_mem bias, bool relu, cl_mem output);

/* flipped[cin][cout][3][3] from weight[cout][cin][3][3], rotated by 180 degrees: the
 * weights cls_conv3x3_backward_data needs. Weights are constant during a run, so this is
 * done once per layer. */
cls_status cls_conv3x3_flip_weights(cls_ctx *ctx, int cin, int cout, cl_mem weight, cl_mem flipped);

/* grad_input[n][in.c][h][w] = dL/dinput given grad_output[n][cout][h][w] = dL/doutput
 * (before any ReLU: apply cls_relu_backward first). Overwrites grad_input. */
cls_status cls_conv3x3_backward_data(cls_ctx *ctx, cls_shape in, int cout, cl_mem grad_output,
                                     cl_mem flipped_weight, cl_mem grad_input);

/* ---------------------------------------------------------------------------------------
 * Winograd F(4x4, 3x3) (cl/winograd.cl): the same results within float rounding (up to
 * about 1e-5 relative), with 4x fewer multiplications in the channel mixing. Temporary
 * buffers come from the context's scratch slots, bounded by tunables.wino_scratch_bytes.
 * ------------------------------------------------------------------------------------- */

typedef enum cls_conv_algo {
    CLS_CONV_DIRECT,
    CLS_CONV_WINOGRAD,
} cls_conv_algo;

/* The algorithm for a layer of this shape on ctx's device: $CLSTYLE_CONV=direct|winograd
 * forces one; else, where the device times them (tunables.conv_measure, or
 * CLSTYLE_CONV=measure), the one cls_conv3x3_select measured (this run or an earlier one),
 * else (unmeasured, a CPU, or CLSTYLE_CONV=rule) the device's rule. The same choice serves forward and
 * backward. */
cls_conv_algo cls_conv3x3_choose(const cls_ctx *ctx, cls_shape in, int cout);

/* The device's fixed rule (runtime/tunables.c), measured on one device. */
cls_conv_algo cls_conv3x3_rule(const cls_ctx *ctx, cls_shape in, int cout);

/* Makes sure the shape has a measured choice: read from the cache directory, else both
 * algorithms timed on the whole shape (forward + backward-data, the faster of two passes
 * after a warm-up one, on buffers of their own) and the faster kept there for later runs.
 * *measured tells whether it timed (with dry_run: whether it would have, nothing timed).
 * Nothing to do where the context does not time them (cls_conv3x3_choose). */
cls_status cls_conv3x3_select(cls_ctx *ctx, cls_shape in, int cout, bool dry_run, bool *measured);

/* "direct" or "winograd". */
const char *cls_conv_algo_name(cls_conv_algo algo);

/* Floats in the transformed weights of a cin -> cout layer: 36 * cout * cin. */
size_t cls_conv3x3_winograd_weight_count(int cin, int cout);

/* u[36][cout][cin] = G g G^T from weight[cout][cin][3][3]: once per layer. */
cls_status cls_conv3x3_winograd_weights(cls_ctx *ctx, int cin, int cout, cl_mem weight, cl_mem u);

/* As cls_conv3x3_forward, with the transformed weights u. */
cls_status cls_conv3x3_winograd_forward(cls_ctx *ctx, cls_shape in, int cout, cl_mem input,
                                        cl_mem u, cl_mem bias, bool relu, cl_mem output);

/* As cls_conv3x3_backward_data, with the same transformed weights u as the forward pass:
 * the exact adjoint of cls_conv3x3_winograd_forward. Overwrites grad_input. */
cls_status cls_conv3x3_winograd_backward_data(cls_ctx *ctx, cls_shape in, int cout,
                                              cl_mem grad_output, cl_mem u, cl_mem grad_input);

/* Bytes of the two scratch buffers (CLS_SCRATCH_WORK_A and _B) the Winograd passes of this
 * layer use in either direction, for planning device memory. */
void cls_conv3x3_winograd_scratch_bytes(const cls_ctx *ctx, cls_shape in, int cout,
                                        size_t bytes[2]);

#endif
