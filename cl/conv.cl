// 3x3 convolution, stride 1, zero padding 1, NCHW, with bias and optional fused ReLU.
// The backward pass to the input is the same convolution with flipped, transposed weights
// (conv3x3_flip_weights), so one register-tiled kernel serves both directions.

// Products are added as a * b + c, which the compiler contracts to a fused multiply-add where
// the device has one; mad() is a separate multiply and add in PoCL (see cl/conv_kxk.cl).
#ifdef CLS_NO_FMA /* CLSTYLE_NO_FMA=1: see runtime/tunables.h */
#pragma OPENCL FP_CONTRACT OFF
#else
#pragma OPENCL FP_CONTRACT ON
#endif

// Output channels per work-item: each input value loaded is reused this many times.
#ifndef CONV_COUT_TILE
#define CONV_COUT_TILE 8
#endif
#if CONV_COUT_TILE > 16
#error "conv3x3_forward writes out at most 16 output channels a work-item"
#endif

// Each work-item computes 8 consecutive outputs of one row as a float8, so every weight
// loaded is reused 8 times and the row arithmetic maps onto SIMD lanes.
#define CONV_X_TILE 8

// The three shifted input vectors a row tile needs (columns x0-1.., x0.., x0+1..), with
// zeros outside the image.
void conv_load_row(global const float *row, int x0, int w, float8 *left, float8 *mid,
                   float8 *right)
{
    if (x0 >= 1 && x0 + CONV_X_TILE < w) {
        *left = vload8(0, row + x0 - 1);
        *mid = vload8(0, row + x0);
        *right = vload8(0, row + x0 + 1);
        return;
    }
    float v[CONV_X_TILE + 2];
    for (int i = 0; i < CONV_X_TILE + 2; i++) {
        const int x = x0 - 1 + i;
        v[i] = (x >= 0 && x < w) ? row[x] : 0.0f;
    }
    *left = (float8)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    *mid = (float8)(v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
    *right = (float8)(v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
}

void conv_store_row(global float *row, int x0, int w, float8 value)
{
    if (x0 + CONV_X_TILE <= w) {
        vstore8(value, 0, row + x0);
        return;
    }
    float v[CONV_X_TILE];
    vstore8(value, 0, v);
    for (int i = 0; x0 + i < w; i++)
        row[x0 + i] = v[i];
}

// STEP(c) for every channel c of the tile, written out: each accumulator is then a named
// variable, which PoCL keeps in a register (it does not reliably unroll a loop over the tile
// and then keeps an array of accumulators in memory). Steps guard themselves with
// c < CONV_COUT_TILE.
#define CONV_EACH_CHANNEL(STEP)                                                                   \
    STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9) STEP(10)      \
    STEP(11) STEP(12) STEP(13) STEP(14) STEP(15)
#define CONV_ZERO(c) float8 acc_##c = (float8)(0.0f);
// Channels past cout compute on a valid weight row and are not stored.
#define CONV_MADD(c)                                                                              \
    if ((c) < CONV_COUT_TILE) {                                                                   \
        global const float *k =                                                                   \
            weight + ((size_t)(min(co0 + (c), cout - 1) * cin + ci) * 3 + ky) * 3;               \
        acc_##c = (float8)(k[0]) * left + acc_##c;                                                \
        acc_##c = (float8)(k[1]) * mid + acc_##c;                                                 \
        acc_##c = (float8)(k[2]) * right + acc_##c;                                               \
    }
#define CONV_STORE(c)                                                                             \
    if ((c) < CONV_COUT_TILE && co0 + (c) < cout) {                                               \
        float8 value = acc_##c;                                                                   \
        if (use_bias)                                                                             \
            value += (float8)(bias[co0 + (c)]);                                                   \
        if (relu)                                                                                 \
            value = fmax(value, (float8)(0.0f));                                                  \
        conv_store_row(out + ((size_t)n * cout + co0 + (c)) * plane + (size_t)y * w, x0, w,       \
                       value);                                                                    \
    }

// out[n][co][y][x] = bias[co] + sum over ci, ky, kx of
//                    weight[co][ci][ky][kx] * in[n][ci][y + ky - 1][x + kx - 1]
// Global size: (ceil(w / 8), h, n * ceil(cout / CONV_COUT_TILE)).
kernel void conv3x3_forward(global const float *in, global const float *weight,
                            global const float *bias, global float *out, const int cin,
                            const int h, const int w, const int cout, const int use_bias,
                            const int relu)
{
    const int x0 = get_global_id(0) * CONV_X_TILE;
    const int y = get_global_id(1);
    const int groups = (cout + CONV_COUT_TILE - 1) / CONV_COUT_TILE;
    const int n = get_global_id(2) / groups;
    const int co0 = (get_global_id(2) % groups) * CONV_COUT_TILE;
    if (x0 >= w || y >= h)
        return;

    CONV_EACH_CHANNEL(CONV_ZERO)
    const size_t plane = (size_t)h * w;
    global const float *image = in + (size_t)n * cin * plane;
    for (int ci = 0; ci < cin; ci++) {
        for (int ky = 0; ky < 3; ky++) {
            const int iy = y + ky - 1;
            if (iy < 0 || iy >= h)
                continue;
            float8 left, mid, right;
            conv_load_row(image + ci * plane + (size_t)iy * w, x0, w, &left, &mid, &right);
            CONV_EACH_CHANNEL(CONV_MADD)
        }
    }
    CONV_EACH_CHANNEL(CONV_STORE)
}

// flipped[ci][co][ky][kx] = weight[co][ci][2 - ky][2 - kx]: the weights that turn the
// forward kernel into the gradient with respect to its input. Global size: cout * cin * 9.
kernel void conv3x3_flip_weights(global const float *weight, global float *flipped,
                                 const int cin, const int cout)
{
    const int i = get_global_id(0);
    if (i >= cout * cin * 9)
        return;
    const int k = i % 9, ci = (i / 9) % cin, co = i / (9 * cin);
    flipped[((size_t)ci * cout + co) * 9 + (8 - k)] = weight[i];
}
