/* Plain C reference ops, written for clarity, that the OpenCL ops are checked against. */
#ifndef REF_OPS_H
#define REF_OPS_H

/*
 * Conventions:
 *
 *  - Tensors are dense float32 NCHW with the batch N explicit. Shapes are ints > 0,
 *    element counts size_t. Weights are Cout x Cin x 3 x 3, Gram matrices N x C x C.
 *  - All arithmetic is in double. The float API is what device results are compared with;
 *    each op with a gradient also has an _f64 twin on double tensors, for finite
 *    differences. A float function computes from its inputs in double (through the twin)
 *    and rounds each output once.
 *  - Forward and backward ops overwrite their whole output (backward ops write zeros where
 *    there is no gradient, e.g. the odd last row of a pooled input). Losses return their
 *    unweighted value and ADD weight * dLoss/dInput into a gradient buffer, which may be
 *    NULL when only the value is wanted.
 *  - Outputs must not alias inputs, except that the elementwise ops (ReLU and the helpers
 *    below) work in place.
 *  - The only failure is running out of memory, which prints a message and aborts.
 */

#include <stdbool.h>
#include <stddef.h>

/* ---------------------------------------------------------------------------------------
 * Convolution: 3x3, stride 1, zero padding 1, so the output is N x Cout x H x W
 * ------------------------------------------------------------------------------------- */

/* out = bias + cross-correlation of in with weight (PyTorch's conv2d); bias may be NULL
 * for none. relu applies ReLU to the result (the fused conv + ReLU). */
void ref_conv3x3_forward(int N, int Cin, int H, int W, int Cout, const float *in,
                         const float *weight, const float *bias, bool relu, float *out);
void ref_conv3x3_forward_f64(int N, int Cin, int H, int W, int Cout, const double *in,
                             const double *weight, const double *bias, bool relu, double *out);

/* The gradient w.r.t. the input (N x Cin x H x W) given that w.r.t. the output of the
 * convolution before any ReLU: for the fused op, apply ref_relu_backward first. */
void ref_conv3x3_backward_data(int N, int Cin, int H, int W, int Cout, const float *grad_out,
                               const float *weight, float *grad_in);
void ref_conv3x3_backward_data_f64(int N, int Cin, int H, int W, int Cout, const double *grad_out,
                                   const double *weight, double *grad_in);

/* ---------------------------------------------------------------------------------------
 * The layers of transformer networks: k x k convolution, reflection padding, instance norm
 * ------------------------------------------------------------------------------------- */

/* "Valid" k x k convolution (k odd) with the given stride on an input the caller padded:
 * the output is N x Cout x OH x OW with OH = (H - k) / stride + 1, OW = (W - k) / stride + 1,
 * out[n][co][y][x] = bias[co] + sum of weight[co][ci][ky][kx] * in[n][ci][stride y + ky]
 * [stride x + kx]. Weights are Cout x Cin x k x k; bias may be NULL. */
void ref_conv_kxk_forward(int N, int Cin, int H, int W, int Cout, int k, int stride,
                          const float *in, const float *weight, const float *bias, float *out);
void ref_conv_kxk_forward_f64(int N, int Cin, int H, int W, int Cout, int k, int stride,
                              const double *in, const double *weight, const double *bias,
                              double *out);

/* torch.nn.ReflectionPad2d(pad) after torch.nn.Upsample(scale_factor=scale, mode="nearest"):
 * the output is N x C x (H scale + 2 pad) x (W scale + 2 pad); pad must be smaller than
 * H scale and W scale. For the row [a b c d], scale 1 and pad 2 give [c b a b c d c b]. */
void ref_pad_reflect(int N, int C, int H, int W, int scale, int pad, const float *in, float *out);
void ref_pad_reflect_f64(int N, int C, int H, int W, int scale, int pad, const double *in,
                         double *out);

/* The gradient of ref_pad_reflect w.r.t. its N x C x H x W input: each input pixel gets the
 * sum of grad_out over every output position that copies it. */
void ref_pad_reflect_backward(int N, int C, int H, int W, int scale, int pad, const float *grad_out,
                              float *grad_in);
void ref_pad_reflect_backward_f64(int N, int C, int H, int W, int scale, int pad,
                                  const double *grad_out, double *grad_in);

/* The gradients of ref_conv_kxk_forward: w.r.t. its (padded) N x Cin x H x W input, with
 * zeros where no output reads; and w.r.t. weight (Cout x Cin x k x k) and bias (Cout; may
 * be NULL), summed over the batch. grad_out is N x Cout x OH x OW. */
void ref_conv_kxk_backward_data(int N, int Cin, int H, int W, int Cout, int k, int stride,
                                const float *grad_out, const float *weight, float *grad_in);
void ref_conv_kxk_backward_data_f64(int N, int Cin, int H, int W, int Cout, int k, int stride,
                                    const double *grad_out, const double *weight, double *grad_in);
void ref_conv_kxk_backward_weights(int N, int Cin, int H, int W, int Cout, int k, int stride,
                                   const float *in, const float *grad_out, float *grad_weight,
                                   float *grad_bias);
void ref_conv_kxk_backward_weights_f64(int N, int Cin, int H, int W, int Cout, int k, int stride,
                                       const double *in, const double *grad_out,
                                       double *grad_weight, double *grad_bias);

/* torch.nn.InstanceNorm2d(C, affine=True) in training mode: each (n, c) plane minus its mean,
 * divided by sqrt(biased variance + eps), times weight[c] plus bias[c]; then ReLU when relu
 * is set, then + residual (N x C x H x W) when residual is not NULL. */
void ref_instance_norm_forward(int N, int C, int H, int W, const float *in, const float *weight,
                               const float *bias, double eps, bool relu, const float *residual,
                               float *out);
void ref_instance_norm_forward_f64(int N, int C, int H, int W, const double *in,
                                   const double *weight, const double *bias, double eps, bool relu,
                                   const double *residual, double *out);

/* The gradients of ref_instance_norm_forward w.r.t. in (N x C x H x W), weight and bias
 * (C each, summed over the batch; either may be NULL), given grad_out. The residual's
 * gradient is grad_out itself and is not computed here; the ReLU mask is recomputed from in. */
void ref_instance_norm_backward(int N, int C, int H, int W, const float *in, const float *weight,
                                const float *bias, double eps, bool relu, const float *grad_out,
                                float *grad_in, float *grad_weight, float *grad_bias);
void ref_instance_norm_backward_f64(int N, int C, int H, int W, const double *in,
                                    const double *weight, const double *bias, double eps, bool relu,
                                    const double *grad_out, double *grad_in, double *grad_weight,
                                    double *grad_bias);

/* ---------------------------------------------------------------------------------------
 * ReLU
 * ------------------------------------------------------------------------------------- */

void ref_relu_forward(size_t n, const float *x, float *y);
void ref_relu_forward_f64(size_t n, const double *x, double *y);

/* grad_in = value > 0 ? grad_out : 0, where value is either the ReLU's input or its
 * output: both give the same mask. */
void ref_relu_backward(size_t n, const float *grad_out, const float *value, float *grad_in);
void ref_relu_backward_f64(size_t n, const double *grad_out, const double *value, double *grad_in);

/* ---------------------------------------------------------------------------------------
 * 2x2 pooling with stride 2, PyTorch's floor mode: the input is N x C x H x W, the output
 * N x C x H/2 x W/2 rounded down; an odd last row or column of the input is ignored.
 * ------------------------------------------------------------------------------------- */

void ref_maxpool2x2_forward(int N, int C, int H, int W, const float *in, float *out);
void ref_maxpool2x2_forward_f64(int N, int C, int H, int W, const double *in, double *out);

/* Each window's gradient goes to its maximum in `in`; among equal maxima, to the first in
 * scan order (0,0), (0,1), (1,0), (1,1), as PyTorch does on the CPU. */
void ref_maxpool2x2_backward(int N, int C, int H, int W, const float *in, const float *grad_out,
                             float *grad_in);
void ref_maxpool2x2_backward_f64(int N, int C, int H, int W, const double *in,
                                 const double *grad_out, double *grad_in);

void ref_avgpool2x2_forward(int N, int C, int H, int W, const float *in, float *out);
void ref_avgpool2x2_forward_f64(int N, int C, int H, int W, const double *in, double *out);

void ref_avgpool2x2_backward(int N, int C, int H, int W, const float *grad_out, float *grad_in);
void ref_avgpool2x2_backward_f64(int N, int C, int H, int W, const double *grad_out,
                                 double *grad_in);

/* ---------------------------------------------------------------------------------------
 * Gram matrices: each batch item's F (C x H x W) viewed as C x HW, G = F Fᵀ / norm
 * ------------------------------------------------------------------------------------- */

/* The default normaliser C * H * W; pass 1 instead for the paper's unnormalised Gram. */
double ref_gram_norm(int C, int H, int W);

void ref_gram_forward(int N, int C, int H, int W, const float *f, double norm, float *g);
void ref_gram_forward_f64(int N, int C, int H, int W, const double *f, double norm, double *g);

/* dL/dF = (dL/dG + dL/dGᵀ) F / norm; grad_g need not be symmetric. */
void ref_gram_backward(int N, int C, int H, int W, const float *f, const float *grad_g, double norm,
                       float *grad_f);
void ref_gram_backward_f64(int N, int C, int H, int W, const double *f, const double *grad_g,
                           double norm, double *grad_f);

/* ---------------------------------------------------------------------------------------
 * Losses: each returns its unweighted value and adds weight * its gradient to grad
 * ------------------------------------------------------------------------------------- */

/* Content loss: the mean over the n elements of (F - P)^2. */
double ref_content_loss(size_t n, const float *f, const float *p, double weight, float *grad);
double ref_content_loss_f64(size_t n, const double *f, const double *p, double weight,
                            double *grad);

/* Style loss: the sum over the N x C x C entries of (G - A)^2. */
double ref_style_loss(int N, int C, const float *g, const float *a, double weight, float *grad_g);
double ref_style_loss_f64(int N, int C, const double *g, const double *a, double weight,
                          double *grad_g);

/* Total variation over every channel: the sum of |x[i][j+1] - x[i][j]| and
 * |x[i+1][j] - x[i][j]|, with sign(0) = 0 in the gradient. */
double ref_tv_l1(int N, int C, int H, int W, const float *x, double weight, float *grad);
double ref_tv_l1_f64(int N, int C, int H, int W, const double *x, double weight, double *grad);

/* Total variation with squared differences instead of absolute ones. */
double ref_tv_sq(int N, int C, int H, int W, const float *x, double weight, float *grad);
double ref_tv_sq_f64(int N, int C, int H, int W, const double *x, double weight, double *grad);

/* ---------------------------------------------------------------------------------------
 * Elementwise helpers (computed in double, rounded once)
 * ------------------------------------------------------------------------------------- */

void ref_fill(size_t n, float value, float *x);

/* x *= a */
void ref_scale(size_t n, float a, float *x);

/* y += a * x */
void ref_axpy(size_t n, float a, const float *x, float *y);

/* y = min(max(y + a * x, lo), hi) */
void ref_axpy_clamp(size_t n, float a, const float *x, float lo, float hi, float *y);

/* x[n][c] += mean[c] over every pixel (C = 3 for an RGB image). */
void ref_add_channel_mean(int N, int C, int H, int W, const float *mean, float *x);

/* out = x * mask (accumulate: out += x * mask), mask one weight per pixel (H x W) applied to
 * every channel plane: the masked features of guided Gram matrices. */
void ref_mask_planes(int N, int C, int H, int W, const float *x, const float *mask,
                     int accumulate, float *out);

/* ---------------------------------------------------------------------------------------
 * Finite differences and comparisons
 * ------------------------------------------------------------------------------------- */

/* A scalar function of an n-vector, e.g. a loss; user is passed through. */
typedef double (*ref_scalar_fn)(const double *x, size_t n, void *user);
typedef double (*ref_scalar_fn_f32)(const float *x, size_t n, void *user);

/* Central differences (f(x + h e_i) - f(x - h e_i)) / (2h), dividing by the step actually
 * taken after rounding x +- h. With idx NULL, grad[i] for every i < n; otherwise grad[k]
 * for x[idx[k]], k < count. x is perturbed in place and restored exactly. */
void ref_finite_difference(ref_scalar_fn f, void *user, double *x, size_t n, const size_t *idx,
                           size_t count, double h, double *grad);

/* The same for a function of float inputs, e.g. a device loss; choose h large enough for
 * float rounding (1e-2 relative to the values, say). */
void ref_finite_difference_f32(ref_scalar_fn_f32 f, void *user, float *x, size_t n,
                               const size_t *idx, size_t count, float h, double *grad);

/* max |x[i]|, or NaN when x holds one. */
double ref_max_abs(size_t n, const float *x);

/* max |a[i] - b[i]|, where NaN matches only NaN and infinity only the same infinity; a
 * mismatch of those counts as an infinite difference. */
double ref_max_abs_diff(size_t n, const float *a, const float *b);

#endif
