/* Plain C reference ops: double-precision definitions and their float wrappers. */
#include "ref_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------- */

static size_t count4(int a, int b, int c, int d)
{
    return (size_t)a * (size_t)b * (size_t)c * (size_t)d;
}

/* Offset of element (n, c, y, x) in an N x C x H x W tensor. */
static size_t at(int n, int c, int y, int x, int C, int H, int W)
{
    return (((size_t)n * (size_t)C + (size_t)c) * (size_t)H + (size_t)y) * (size_t)W + (size_t)x;
}

static double *alloc_f64(size_t n)
{
    double *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "ref_ops: out of memory allocating %zu doubles\n", n);
        abort();
    }
    return p;
}

/* A double copy of x, or NULL for NULL. */
static double *dup_f64(const float *x, size_t n)
{
    if (!x)
        return NULL;
    double *d = alloc_f64(n);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

static void store_f32(float *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

static double sign(double v)
{
    return (v > 0) - (v < 0);
}

/* ---------------------------------------------------------------------------------------
 * Convolution
 * ------------------------------------------------------------------------------------- */

void ref_conv3x3_forward_f64(int N, int Cin, int H, int W, int Cout, const double *in,
                             const double *weight, const double *bias, bool relu, double *out)
{
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Cout; co++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int ci = 0; ci < Cin; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int iy = y + ky - 1, ix = x + kx - 1;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                acc += weight[at(co, ci, ky, kx, Cin, 3, 3)] *
                                       in[at(n, ci, iy, ix, Cin, H, W)];
                            }
                    out[at(n, co, y, x, Cout, H, W)] = relu && acc < 0 ? 0.0 : acc;
                }
}

/* Input pixel (iy, ix) met kernel tap (ky, kx) at output pixel (iy - ky + 1, ix - kx + 1). */
void ref_conv3x3_backward_data_f64(int N, int Cin, int H, int W, int Cout, const double *grad_out,
                                   const double *weight, double *grad_in)
{
    for (int n = 0; n < N; n++)
        for (int ci = 0; ci < Cin; ci++)
            for (int iy = 0; iy < H; iy++)
                for (int ix = 0; ix < W; ix++) {
                    double acc = 0.0;
                    for (int co = 0; co < Cout; co++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int y = iy - ky + 1, x = ix - kx + 1;
                                if (y < 0 || y >= H || x < 0 || x >= W)
                                    continue;
                                acc += weight[at(co, ci, ky, kx, Cin, 3, 3)] *
                                       grad_out[at(n, co, y, x, Cout, H, W)];
                            }
                    grad_in[at(n, ci, iy, ix, Cin, H, W)] = acc;
                }
}

void ref_conv3x3_forward(int N, int Cin, int H, int W, int Cout, const float *in,
                         const float *weight, const float *bias, bool relu, float *out)
{
    size_t n_out = count4(N, Cout, H, W);
    double *d_in = dup_f64(in, count4(N, Cin, H, W));
    double *d_weight = dup_f64(weight, count4(Cout, Cin, 3, 3));
    double *d_bias = dup_f64(bias, (size_t)Cout);
    double *d_out = alloc_f64(n_out);
    ref_conv3x3_forward_f64(N, Cin, H, W, Cout, d_in, d_weight, d_bias, relu, d_out);
    store_f32(out, d_out, n_out);
    free(d_in);
    free(d_weight);
    free(d_bias);
    free(d_out);
}

void ref_conv3x3_backward_data(int N, int Cin, int H, int W, int Cout, const float *grad_out,
                               const float *weight, float *grad_in)
{
    size_t n_in = count4(N, Cin, H, W);
    double *d_grad_out = dup_f64(grad_out, count4(N, Cout, H, W));
    double *d_weight = dup_f64(weight, count4(Cout, Cin, 3, 3));
    double *d_grad_in = alloc_f64(n_in);
    ref_conv3x3_backward_data_f64(N, Cin, H, W, Cout, d_grad_out, d_weight, d_grad_in);
    store_f32(grad_in, d_grad_in, n_in);
    free(d_grad_out);
    free(d_weight);
    free(d_grad_in);
}

/* ---------------------------------------------------------------------------------------
 * Transformer network layers
 * ------------------------------------------------------------------------------------- */

void ref_conv_kxk_forward_f64(int N, int Cin, int H, int W, int Cout, int k, int stride,
                              const double *in, const double *weight, const double *bias,
                              double *out)
{
    const int OH = (H - k) / stride + 1, OW = (W - k) / stride + 1;
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Cout; co++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int ci = 0; ci < Cin; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                                acc += weight[at(co, ci, ky, kx, Cin, k, k)] *
                                       in[at(n, ci, stride * y + ky, stride * x + kx, Cin, H, W)];
                    out[at(n, co, y, x, Cout, OH, OW)] = acc;
                }
}

void ref_conv_kxk_forward(int N, int Cin, int H, int W, int Cout, int k, int stride,
                          const float *in, const float *weight, const float *bias, float *out)
{
    const size_t n_out = count4(N, Cout, (H - k) / stride + 1, (W - k) / stride + 1);
    double *d_in = dup_f64(in, count4(N, Cin, H, W));
    double *d_weight = dup_f64(weight, count4(Cout, Cin, k, k));
    double *d_bias = dup_f64(bias, (size_t)Cout);
    double *d_out = alloc_f64(n_out);
    ref_conv_kxk_forward_f64(N, Cin, H, W, Cout, k, stride, d_in, d_weight, d_bias, d_out);
    store_f32(out, d_out, n_out);
    free(d_in);
    free(d_weight);
    free(d_bias);
    free(d_out);
}

/* i reflected into 0 .. len - 1 without repeating the edge (-1 -> 1, len -> len - 2). */
static int reflect(int i, int len)
{
    while (i < 0 || i >= len)
        i = i < 0 ? -i : 2 * (len - 1) - i;
    return i;
}

void ref_pad_reflect(int N, int C, int H, int W, int scale, int pad, const float *in, float *out)
{
    const int UH = H * scale, UW = W * scale, OH = UH + 2 * pad, OW = UW + 2 * pad;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    const int sy = reflect(y - pad, UH) / scale, sx = reflect(x - pad, UW) / scale;
                    out[at(n, c, y, x, C, OH, OW)] = in[at(n, c, sy, sx, C, H, W)];
                }
}

void ref_pad_reflect_f64(int N, int C, int H, int W, int scale, int pad, const double *in,
                         double *out)
{
    const int UH = H * scale, UW = W * scale, OH = UH + 2 * pad, OW = UW + 2 * pad;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    const int sy = reflect(y - pad, UH) / scale, sx = reflect(x - pad, UW) / scale;
                    out[at(n, c, y, x, C, OH, OW)] = in[at(n, c, sy, sx, C, H, W)];
                }
}

/* A scatter over the output, the plainest statement of "every position that reads". */
void ref_pad_reflect_backward_f64(int N, int C, int H, int W, int scale, int pad,
                                  const double *grad_out, double *grad_in)
{
    const int UH = H * scale, UW = W * scale, OH = UH + 2 * pad, OW = UW + 2 * pad;
    for (size_t i = 0; i < count4(N, C, H, W); i++)
        grad_in[i] = 0.0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    const int sy = reflect(y - pad, UH) / scale, sx = reflect(x - pad, UW) / scale;
                    grad_in[at(n, c, sy, sx, C, H, W)] += grad_out[at(n, c, y, x, C, OH, OW)];
                }
}

void ref_pad_reflect_backward(int N, int C, int H, int W, int scale, int pad, const float *grad_out,
                              float *grad_in)
{
    const size_t n_in = count4(N, C, H, W);
    double *d_grad_out = dup_f64(grad_out, count4(N, C, H * scale + 2 * pad, W * scale + 2 * pad));
    double *d_grad_in = alloc_f64(n_in);
    ref_pad_reflect_backward_f64(N, C, H, W, scale, pad, d_grad_out, d_grad_in);
    store_f32(grad_in, d_grad_in, n_in);
    free(d_grad_out);
    free(d_grad_in);
}

void ref_conv_kxk_backward_data_f64(int N, int Cin, int H, int W, int Cout, int k, int stride,
                                    const double *grad_out, const double *weight, double *grad_in)
{
    const int OH = (H - k) / stride + 1, OW = (W - k) / stride + 1;
    for (size_t i = 0; i < count4(N, Cin, H, W); i++)
        grad_in[i] = 0.0;
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Cout; co++)
            for (int y = 0; y < OH; y++)
                for (int x = 0; x < OW; x++) {
                    const double g = grad_out[at(n, co, y, x, Cout, OH, OW)];
                    for (int ci = 0; ci < Cin; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                                grad_in[at(n, ci, stride * y + ky, stride * x + kx, Cin, H, W)] +=
                                    weight[at(co, ci, ky, kx, Cin, k, k)] * g;
                }
}

void ref_conv_kxk_backward_weights_f64(int N, int Cin, int H, int W, int Cout, int k, int stride,
                                       const double *in, const double *grad_out,
                                       double *grad_weight, double *grad_bias)
{
    const int OH = (H - k) / stride + 1, OW = (W - k) / stride + 1;
    for (int co = 0; co < Cout; co++) {
        for (int ci = 0; ci < Cin; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    double acc = 0.0;
                    for (int n = 0; n < N; n++)
                        for (int y = 0; y < OH; y++)
                            for (int x = 0; x < OW; x++)
                                acc += grad_out[at(n, co, y, x, Cout, OH, OW)] *
                                       in[at(n, ci, stride * y + ky, stride * x + kx, Cin, H, W)];
                    grad_weight[at(co, ci, ky, kx, Cin, k, k)] = acc;
                }
        if (grad_bias) {
            double acc = 0.0;
            for (int n = 0; n < N; n++)
                for (int y = 0; y < OH; y++)
                    for (int x = 0; x < OW; x++)
                        acc += grad_out[at(n, co, y, x, Cout, OH, OW)];
            grad_bias[co] = acc;
        }
    }
}

void ref_conv_kxk_backward_data(int N, int Cin, int H, int W, int Cout, int k, int stride,
                                const float *grad_out, const float *weight, float *grad_in)
{
    const size_t n_in = count4(N, Cin, H, W);
    double *d_grad_out =
        dup_f64(grad_out, count4(N, Cout, (H - k) / stride + 1, (W - k) / stride + 1));
    double *d_weight = dup_f64(weight, count4(Cout, Cin, k, k));
    double *d_grad_in = alloc_f64(n_in);
    ref_conv_kxk_backward_data_f64(N, Cin, H, W, Cout, k, stride, d_grad_out, d_weight, d_grad_in);
    store_f32(grad_in, d_grad_in, n_in);
    free(d_grad_out);
    free(d_weight);
    free(d_grad_in);
}

void ref_conv_kxk_backward_weights(int N, int Cin, int H, int W, int Cout, int k, int stride,
                                   const float *in, const float *grad_out, float *grad_weight,
                                   float *grad_bias)
{
    const size_t n_w = count4(Cout, Cin, k, k);
    double *d_in = dup_f64(in, count4(N, Cin, H, W));
    double *d_grad_out =
        dup_f64(grad_out, count4(N, Cout, (H - k) / stride + 1, (W - k) / stride + 1));
    double *d_grad_weight = alloc_f64(n_w), *d_grad_bias = alloc_f64((size_t)Cout);
    ref_conv_kxk_backward_weights_f64(N, Cin, H, W, Cout, k, stride, d_in, d_grad_out,
                                      d_grad_weight, grad_bias ? d_grad_bias : NULL);
    store_f32(grad_weight, d_grad_weight, n_w);
    if (grad_bias)
        store_f32(grad_bias, d_grad_bias, (size_t)Cout);
    free(d_in);
    free(d_grad_out);
    free(d_grad_weight);
    free(d_grad_bias);
}

void ref_instance_norm_forward_f64(int N, int C, int H, int W, const double *in,
                                   const double *weight, const double *bias, double eps, bool relu,
                                   const double *residual, double *out)
{
    const size_t hw = (size_t)H * (size_t)W;
    for (size_t p = 0; p < (size_t)N * (size_t)C; p++) {
        const double *x = in + p * hw;
        const int c = (int)(p % (size_t)C);
        double mean = 0.0, var = 0.0;
        for (size_t i = 0; i < hw; i++)
            mean += x[i];
        mean /= (double)hw;
        for (size_t i = 0; i < hw; i++)
            var += (x[i] - mean) * (x[i] - mean);
        var /= (double)hw;
        const double scale = weight[c] / sqrt(var + eps);
        for (size_t i = 0; i < hw; i++) {
            double v = (x[i] - mean) * scale + bias[c];
            if (relu && v < 0)
                v = 0.0;
            out[p * hw + i] = v + (residual ? residual[p * hw + i] : 0.0);
        }
    }
}

void ref_instance_norm_forward(int N, int C, int H, int W, const float *in, const float *weight,
                               const float *bias, double eps, bool relu, const float *residual,
                               float *out)
{
    const size_t n = count4(N, C, H, W);
    double *d_in = dup_f64(in, n), *d_residual = dup_f64(residual, n);
    double *d_weight = dup_f64(weight, (size_t)C), *d_bias = dup_f64(bias, (size_t)C);
    double *d_out = alloc_f64(n);
    ref_instance_norm_forward_f64(N, C, H, W, d_in, d_weight, d_bias, eps, relu, d_residual, d_out);
    store_f32(out, d_out, n);
    free(d_in);
    free(d_residual);
    free(d_weight);
    free(d_bias);
    free(d_out);
}

void ref_instance_norm_backward_f64(int N, int C, int H, int W, const double *in,
                                    const double *weight, const double *bias, double eps, bool relu,
                                    const double *grad_out, double *grad_in, double *grad_weight,
                                    double *grad_bias)
{
    const size_t hw = (size_t)H * (size_t)W;
    double *dy = alloc_f64(hw), *xhat = alloc_f64(hw);
    if (grad_weight)
        for (int c = 0; c < C; c++)
            grad_weight[c] = 0.0;
    if (grad_bias)
        for (int c = 0; c < C; c++)
            grad_bias[c] = 0.0;
    for (size_t p = 0; p < (size_t)N * (size_t)C; p++) {
        const double *x = in + p * hw;
        const int c = (int)(p % (size_t)C);
        double mean = 0.0, var = 0.0;
        for (size_t i = 0; i < hw; i++)
            mean += x[i];
        mean /= (double)hw;
        for (size_t i = 0; i < hw; i++)
            var += (x[i] - mean) * (x[i] - mean);
        var /= (double)hw;
        const double rstd = 1.0 / sqrt(var + eps);
        double s1 = 0.0, s2 = 0.0;
        for (size_t i = 0; i < hw; i++) {
            xhat[i] = (x[i] - mean) * rstd;
            const bool off = relu && weight[c] * xhat[i] + bias[c] <= 0.0;
            dy[i] = off ? 0.0 : grad_out[p * hw + i];
            s1 += dy[i];
            s2 += dy[i] * xhat[i];
        }
        for (size_t i = 0; i < hw; i++)
            grad_in[p * hw + i] =
                weight[c] * rstd * (dy[i] - s1 / (double)hw - xhat[i] * s2 / (double)hw);
        if (grad_weight)
            grad_weight[c] += s2;
        if (grad_bias)
            grad_bias[c] += s1;
    }
    free(dy);
    free(xhat);
}

void ref_instance_norm_backward(int N, int C, int H, int W, const float *in, const float *weight,
                                const float *bias, double eps, bool relu, const float *grad_out,
                                float *grad_in, float *grad_weight, float *grad_bias)
{
    const size_t n = count4(N, C, H, W);
    double *d_in = dup_f64(in, n), *d_grad_out = dup_f64(grad_out, n);
    double *d_weight = dup_f64(weight, (size_t)C), *d_bias = dup_f64(bias, (size_t)C);
    double *d_grad_in = alloc_f64(n), *d_gw = alloc_f64((size_t)C), *d_gb = alloc_f64((size_t)C);
    ref_instance_norm_backward_f64(N, C, H, W, d_in, d_weight, d_bias, eps, relu, d_grad_out,
                                   d_grad_in, d_gw, d_gb);
    store_f32(grad_in, d_grad_in, n);
    if (grad_weight)
        store_f32(grad_weight, d_gw, (size_t)C);
    if (grad_bias)
        store_f32(grad_bias, d_gb, (size_t)C);
    free(d_in);
    free(d_grad_out);
    free(d_weight);
    free(d_bias);
    free(d_grad_in);
    free(d_gw);
    free(d_gb);
}

/* ---------------------------------------------------------------------------------------
 * ReLU
 * ------------------------------------------------------------------------------------- */

void ref_relu_forward_f64(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0.0;
}

void ref_relu_backward_f64(size_t n, const double *grad_out, const double *value, double *grad_in)
{
    for (size_t i = 0; i < n; i++)
        grad_in[i] = value[i] > 0 ? grad_out[i] : 0.0;
}

void ref_relu_forward(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0.0f;
}

void ref_relu_backward(size_t n, const float *grad_out, const float *value, float *grad_in)
{
    for (size_t i = 0; i < n; i++)
        grad_in[i] = value[i] > 0 ? grad_out[i] : 0.0f;
}

/* ---------------------------------------------------------------------------------------
 * Pooling
 * ------------------------------------------------------------------------------------- */

/* Offset of the maximum of the 2x2 window at (y, x) of plane p (row stride W): scanning in
 * row-major order with a strict '>' keeps the first of equal maxima. */
static size_t window_argmax(const double *p, int y, int x, int W)
{
    size_t best = (size_t)y * (size_t)W + (size_t)x;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            size_t i = (size_t)(y + dy) * (size_t)W + (size_t)(x + dx);
            if (p[i] > p[best])
                best = i;
        }
    return best;
}

void ref_maxpool2x2_forward_f64(int N, int C, int H, int W, const double *in, double *out)
{
    int Ho = H / 2, Wo = W / 2;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const double *plane = in + at(n, c, 0, 0, C, H, W);
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++)
                    out[at(n, c, y, x, C, Ho, Wo)] = plane[window_argmax(plane, 2 * y, 2 * x, W)];
        }
}

void ref_maxpool2x2_backward_f64(int N, int C, int H, int W, const double *in,
                                 const double *grad_out, double *grad_in)
{
    int Ho = H / 2, Wo = W / 2;
    for (size_t i = 0; i < count4(N, C, H, W); i++)
        grad_in[i] = 0.0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const double *plane = in + at(n, c, 0, 0, C, H, W);
            double *grad_plane = grad_in + at(n, c, 0, 0, C, H, W);
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++)
                    grad_plane[window_argmax(plane, 2 * y, 2 * x, W)] =
                        grad_out[at(n, c, y, x, C, Ho, Wo)];
        }
}

void ref_avgpool2x2_forward_f64(int N, int C, int H, int W, const double *in, double *out)
{
    int Ho = H / 2, Wo = W / 2;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    double sum = 0.0;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            sum += in[at(n, c, 2 * y + dy, 2 * x + dx, C, H, W)];
                    out[at(n, c, y, x, C, Ho, Wo)] = sum / 4;
                }
}

void ref_avgpool2x2_backward_f64(int N, int C, int H, int W, const double *grad_out,
                                 double *grad_in)
{
    int Ho = H / 2, Wo = W / 2;
    for (size_t i = 0; i < count4(N, C, H, W); i++)
        grad_in[i] = 0.0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++)
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            grad_in[at(n, c, 2 * y + dy, 2 * x + dx, C, H, W)] =
                                grad_out[at(n, c, y, x, C, Ho, Wo)] / 4;
}

void ref_maxpool2x2_forward(int N, int C, int H, int W, const float *in, float *out)
{
    size_t n_out = count4(N, C, H / 2, W / 2);
    double *d_in = dup_f64(in, count4(N, C, H, W));
    double *d_out = alloc_f64(n_out);
    ref_maxpool2x2_forward_f64(N, C, H, W, d_in, d_out);
    store_f32(out, d_out, n_out);
    free(d_in);
    free(d_out);
}

void ref_maxpool2x2_backward(int N, int C, int H, int W, const float *in, const float *grad_out,
                             float *grad_in)
{
    size_t n_in = count4(N, C, H, W);
    double *d_in = dup_f64(in, n_in);
    double *d_grad_out = dup_f64(grad_out, count4(N, C, H / 2, W / 2));
    double *d_grad_in = alloc_f64(n_in);
    ref_maxpool2x2_backward_f64(N, C, H, W, d_in, d_grad_out, d_grad_in);
    store_f32(grad_in, d_grad_in, n_in);
    free(d_in);
    free(d_grad_out);
    free(d_grad_in);
}

void ref_avgpool2x2_forward(int N, int C, int H, int W, const float *in, float *out)
{
    size_t n_out = count4(N, C, H / 2, W / 2);
    double *d_in = dup_f64(in, count4(N, C, H, W));
    double *d_out = alloc_f64(n_out);
    ref_avgpool2x2_forward_f64(N, C, H, W, d_in, d_out);
    store_f32(out, d_out, n_out);
    free(d_in);
    free(d_out);
}

void ref_avgpool2x2_backward(int N, int C, int H, int W, const float *grad_out, float *grad_in)
{
    size_t n_in = count4(N, C, H, W);
    double *d_grad_out = dup_f64(grad_out, count4(N, C, H / 2, W / 2));
    double *d_grad_in = alloc_f64(n_in);
    ref_avgpool2x2_backward_f64(N, C, H, W, d_grad_out, d_grad_in);
    store_f32(grad_in, d_grad_in, n_in);
    free(d_grad_out);
    free(d_grad_in);
}

/* ---------------------------------------------------------------------------------------
 * Gram matrices
 * ------------------------------------------------------------------------------------- */

double ref_gram_norm(int C, int H, int W)
{
    return (double)C * H * W;
}

void ref_gram_forward_f64(int N, int C, int H, int W, const double *f, double norm, double *g)
{
    size_t hw = (size_t)H * (size_t)W;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < C; i++)
            for (int j = 0; j < C; j++) {
                const double *fi = f + at(n, i, 0, 0, C, H, W);
                const double *fj = f + at(n, j, 0, 0, C, H, W);
                double acc = 0.0;
                for (size_t k = 0; k < hw; k++)
                    acc += fi[k] * fj[k];
                g[at(n, i, j, 0, C, C, 1)] = acc / norm;
            }
}

void ref_gram_backward_f64(int N, int C, int H, int W, const double *f, const double *grad_g,
                           double norm, double *grad_f)
{
    size_t hw = (size_t)H * (size_t)W;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < C; i++)
            for (size_t k = 0; k < hw; k++) {
                double acc = 0.0;
                for (int j = 0; j < C; j++)
                    acc += (grad_g[at(n, i, j, 0, C, C, 1)] + grad_g[at(n, j, i, 0, C, C, 1)]) *
                           f[at(n, j, 0, 0, C, H, W) + k];
                grad_f[at(n, i, 0, 0, C, H, W) + k] = acc / norm;
            }
}

void ref_gram_forward(int N, int C, int H, int W, const float *f, double norm, float *g)
{
    size_t n_g = count4(N, C, C, 1);
    double *d_f = dup_f64(f, count4(N, C, H, W));
    double *d_g = alloc_f64(n_g);
    ref_gram_forward_f64(N, C, H, W, d_f, norm, d_g);
    store_f32(g, d_g, n_g);
    free(d_f);
    free(d_g);
}

void ref_gram_backward(int N, int C, int H, int W, const float *f, const float *grad_g, double norm,
                       float *grad_f)
{
    size_t n_f = count4(N, C, H, W);
    double *d_f = dup_f64(f, n_f);
    double *d_grad_g = dup_f64(grad_g, count4(N, C, C, 1));
    double *d_grad_f = alloc_f64(n_f);
    ref_gram_backward_f64(N, C, H, W, d_f, d_grad_g, norm, d_grad_f);
    store_f32(grad_f, d_grad_f, n_f);
    free(d_f);
    free(d_grad_g);
    free(d_grad_f);
}

/* ---------------------------------------------------------------------------------------
 * Losses
 * ------------------------------------------------------------------------------------- */

double ref_content_loss_f64(size_t n, const double *f, const double *p, double weight, double *grad)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = f[i] - p[i];
        sum += d * d;
        if (grad)
            grad[i] += weight * 2.0 * d / (double)n;
    }
    return sum / (double)n;
}

double ref_style_loss_f64(int N, int C, const double *g, const double *a, double weight,
                          double *grad_g)
{
    double sum = 0.0;
    for (size_t i = 0; i < count4(N, C, C, 1); i++) {
        double d = g[i] - a[i];
        sum += d * d;
        if (grad_g)
            grad_g[i] += weight * 2.0 * d;
    }
    return sum;
}

/* Adds the penalty of x[j] - x[i] (an L1 or squared difference) and its gradient. */
static double tv_term(const double *x, size_t i, size_t j, bool squared, double weight,
                      double *grad)
{
    double d = x[j] - x[i];
    double dloss = squared ? 2.0 * d : sign(d);
    if (grad) {
        grad[j] += weight * dloss;
        grad[i] -= weight * dloss;
    }
    return squared ? d * d : fabs(d);
}

static double tv_f64(int N, int C, int H, int W, const double *x, bool squared, double weight,
                     double *grad)
{
    double sum = 0.0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int xx = 0; xx < W; xx++) {
                    size_t i = at(n, c, y, xx, C, H, W);
                    if (xx + 1 < W)
                        sum += tv_term(x, i, at(n, c, y, xx + 1, C, H, W), squared, weight, grad);
                    if (y + 1 < H)
                        sum += tv_term(x, i, at(n, c, y + 1, xx, C, H, W), squared, weight, grad);
                }
    return sum;
}

double ref_tv_l1_f64(int N, int C, int H, int W, const double *x, double weight, double *grad)
{
    return tv_f64(N, C, H, W, x, false, weight, grad);
}

double ref_tv_sq_f64(int N, int C, int H, int W, const double *x, double weight, double *grad)
{
    return tv_f64(N, C, H, W, x, true, weight, grad);
}

double ref_content_loss(size_t n, const float *f, const float *p, double weight, float *grad)
{
    double *d_f = dup_f64(f, n);
    double *d_p = dup_f64(p, n);
    double *d_grad = dup_f64(grad, n);
    double loss = ref_content_loss_f64(n, d_f, d_p, weight, d_grad);
    if (grad)
        store_f32(grad, d_grad, n);
    free(d_f);
    free(d_p);
    free(d_grad);
    return loss;
}

double ref_style_loss(int N, int C, const float *g, const float *a, double weight, float *grad_g)
{
    size_t n = count4(N, C, C, 1);
    double *d_g = dup_f64(g, n);
    double *d_a = dup_f64(a, n);
    double *d_grad = dup_f64(grad_g, n);
    double loss = ref_style_loss_f64(N, C, d_g, d_a, weight, d_grad);
    if (grad_g)
        store_f32(grad_g, d_grad, n);
    free(d_g);
    free(d_a);
    free(d_grad);
    return loss;
}

static double tv_f32(int N, int C, int H, int W, const float *x, bool squared, double weight,
                     float *grad)
{
    size_t n = count4(N, C, H, W);
    double *d_x = dup_f64(x, n);
    double *d_grad = dup_f64(grad, n);
    double loss = tv_f64(N, C, H, W, d_x, squared, weight, d_grad);
    if (grad)
        store_f32(grad, d_grad, n);
    free(d_x);
    free(d_grad);
    return loss;
}

double ref_tv_l1(int N, int C, int H, int W, const float *x, double weight, float *grad)
{
    return tv_f32(N, C, H, W, x, false, weight, grad);
}

double ref_tv_sq(int N, int C, int H, int W, const float *x, double weight, float *grad)
{
    return tv_f32(N, C, H, W, x, true, weight, grad);
}

/* ---------------------------------------------------------------------------------------
 * Elementwise helpers
 * ------------------------------------------------------------------------------------- */

void ref_fill(size_t n, float value, float *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] = value;
}

void ref_scale(size_t n, float a, float *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((double)a * x[i]);
}

void ref_axpy(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(y[i] + (double)a * x[i]);
}

void ref_axpy_clamp(size_t n, float a, const float *x, float lo, float hi, float *y)
{
    for (size_t i = 0; i < n; i++) {
        double v = y[i] + (double)a * x[i];
        y[i] = (float)(v < lo ? lo : v > hi ? hi : v);
    }
}

void ref_add_channel_mean(int N, int C, int H, int W, const float *mean, float *x)
{
    size_t hw = (size_t)H * (size_t)W;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float *plane = x + at(n, c, 0, 0, C, H, W);
            for (size_t k = 0; k < hw; k++)
                plane[k] = (float)((double)plane[k] + mean[c]);
        }
}

void ref_mask_planes(int N, int C, int H, int W, const float *x, const float *mask,
                     int accumulate, float *out)
{
    const size_t hw = (size_t)H * (size_t)W;
    for (size_t plane = 0; plane < (size_t)N * C; plane++)
        for (size_t k = 0; k < hw; k++) {
            const float v = (float)((double)x[plane * hw + k] * mask[k]);
            out[plane * hw + k] = accumulate ? (float)((double)out[plane * hw + k] + v) : v;
        }
}

/* ---------------------------------------------------------------------------------------
 * Finite differences and comparisons
 * ------------------------------------------------------------------------------------- */

void ref_finite_difference(ref_scalar_fn f, void *user, double *x, size_t n, const size_t *idx,
                           size_t count, double h, double *grad)
{
    size_t m = idx ? count : n;
    for (size_t k = 0; k < m; k++) {
        size_t i = idx ? idx[k] : k;
        double saved = x[i], plus = saved + h, minus = saved - h;
        x[i] = plus;
        double f_plus = f(x, n, user);
        x[i] = minus;
        double f_minus = f(x, n, user);
        x[i] = saved;
        grad[k] = (f_plus - f_minus) / (plus - minus);
    }
}

void ref_finite_difference_f32(ref_scalar_fn_f32 f, void *user, float *x, size_t n,
                               const size_t *idx, size_t count, float h, double *grad)
{
    size_t m = idx ? count : n;
    for (size_t k = 0; k < m; k++) {
        size_t i = idx ? idx[k] : k;
        float saved = x[i], plus = saved + h, minus = saved - h;
        x[i] = plus;
        double f_plus = f(x, n, user);
        x[i] = minus;
        double f_minus = f(x, n, user);
        x[i] = saved;
        grad[k] = (f_plus - f_minus) / ((double)plus - (double)minus);
    }
}

double ref_max_abs(size_t n, const float *x)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            return NAN;
        if (fabs(x[i]) > m)
            m = fabs(x[i]);
    }
    return m;
}

double ref_max_abs_diff(size_t n, const float *a, const float *b)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))
            continue;
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) /* a NaN against a number makes d NaN: report it as infinite */
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}
