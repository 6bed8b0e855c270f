// k x k convolution, stride 1 or 2, no padding ("valid"), NCHW, with bias: the 9x9 and
// strided convolutions of transformer networks, run on an input padded beforehand
// (cl/pad.cl).
//
// Each work-item computes VECS float8 vectors (8 or 16 consecutive outputs) of one row for
// a tile of TILE output channels (at most 8), so every input vector loaded is reused once per channel of
// the tile and every weight once per vector. The kernel size, stride and both tiles are
// compile-time constants of each kernel below, so the loops over them unroll and the
// accumulators stay in registers; conv_kxk_any takes k at run time for the sizes without a
// kernel of their own. The launcher (ops/conv_kxk.c) picks the kernel.

// Products are added as a * b + c, which the compiler contracts to a fused multiply-add
// where the device has one (FP_CONTRACT is on by default in OpenCL C); mad() is a separate
// multiply and add in PoCL, half the speed, and fma() is slow where there is no hardware
// for it.
#ifdef CLS_NO_FMA /* CLSTYLE_NO_FMA=1: see runtime/tunables.h */
#pragma OPENCL FP_CONTRACT OFF
#else
#pragma OPENCL FP_CONTRACT ON
#endif

// The private copy of a row's end, for a work-item whose outputs run past the row: enough
// for every kernel with k up to 9.
#define KXK_BUF 48

// Input values one work-item reads from one input row: its outputs' span and the kernel's
// reach (one more than it needs with stride 1; the stride-2 loads read one element past
// the last they use).
#define KXK_SPAN(K, S, VECS) ((S) * 8 * (VECS) + (K))

// The float8 of input values first, first + S, ... first + 7 S of a row, with zeros from
// index limit on: the loads of a work-item at the end of a row, when k is too large for
// its KXK_BUF copy of the row.
float8 kxk_load_guarded(global const float *row, const int first, const int S, const int limit)
{
    float v[8];
    for (int i = 0; i < 8; i++) {
        const int x = first + S * i;
        v[i] = x < limit ? row[x] : 0.0f;
    }
    return vload8(0, v);
}

// Elements 0, 2, .. 14 of the 16 values a, b (a float16's .even, without float16, which
// some CPU ABIs pass through memory).
float8 kxk_evens(const float8 a, const float8 b)
{
    return (float8)(a.s0246, b.s0246);
}

// The float8 of outputs v of a work-item at kernel column kx: from global memory, from the
// private copy of a row's end, or element by element.
#define KXK_LOAD_GLOBAL(kx, v)                                                                \
    (S == 1 ? vload8(0, row + (kx) + 8 * (v))                                                 \
            : kxk_evens(vload8(0, row + (kx) + 16 * (v)), vload8(1, row + (kx) + 16 * (v))))
#define KXK_LOAD_BUF(kx, v)                                                                   \
    (S == 1 ? vload8(0, buf + (kx) + 8 * (v))                                                 \
            : kxk_evens(vload8(0, buf + (kx) + 16 * (v)), vload8(1, buf + (kx) + 16 * (v))))
#define KXK_LOAD_GUARDED(kx, v) kxk_load_guarded(row, (kx) + S * 8 * (v), S, limit)

// STEP(t) for every channel t of the largest tile, written out: each accumulator and weight
// pointer is then named by a constant index, which compilers keep in registers (a loop over
// t would have to be unrolled first, and PoCL does not always unroll it). Steps guard
// themselves with t < TILE.
#define KXK_EACH_CHANNEL(STEP) STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)

#define KXK_ZERO(t)                                                                           \
    float8 acc0_##t = (float8)(0.0f), acc1_##t = (float8)(0.0f);                              \
    global const float *wrow_##t = weight;

// Channels past cout compute on a valid weight row and are not stored.
#define KXK_WEIGHT_ROW(t)                                                                     \
    if ((t) < TILE)                                                                           \
        wrow_##t = weight + (size_t)(min(co0 + (t), cout - 1) * cin + ci) * K * K;

#define KXK_MADD(t)                                                                           \
    if ((t) < TILE) {                                                                         \
        const float8 wt = (float8)(wrow_##t[ky * K + kx]);                                    \
        acc0_##t = wt * a0 + acc0_##t;                                                        \
        if (VECS > 1)                                                                         \
            acc1_##t = wt * a1 + acc1_##t;                                                    \
    }

#define KXK_STORE(t)                                                                          \
    if ((t) < TILE && co0 + (t) < cout)                                                       \
        kxk_store(out + (((size_t)n * cout + co0 + (t)) * out_h + y) * out_w + x0,            \
                  out_w - x0, VECS, acc0_##t, acc1_##t, use_bias ? bias[co0 + (t)] : 0.0f);

// Adds the products of kernel row ky of input channel ci to the accumulators.
#define KXK_ROW(LOAD)                                                                         \
    for (int kx = 0; kx < K; kx++) {                                                          \
        const float8 a0 = LOAD(kx, 0);                                                        \
        const float8 a1 = VECS > 1 ? LOAD(kx, 1) : a0;                                        \
        KXK_EACH_CHANNEL(KXK_MADD)                                                            \
    }

// Stores the first `left` of the vecs * 8 outputs v0, v1 (plus bias) at dst.
void kxk_store(global float *dst, const int left, const int vecs, const float8 v0,
               const float8 v1, const float b)
{
    if (left >= 8 * vecs) {
        vstore8(v0 + (float8)(b), 0, dst);
        if (vecs > 1)
            vstore8(v1 + (float8)(b), 1, dst);
        return;
    }
    float tail[16];
    vstore8(v0 + (float8)(b), 0, tail);
    vstore8(v1 + (float8)(b), 1, tail);
    for (int i = 0; i < left; i++)
        dst[i] = tail[i];
}

// out[n][co][y][x] = bias[co] + sum over ci, ky, kx of
//     weight[co][ci][ky][kx] * in[n][ci][S * y + ky][S * x + kx]
// for the work-item's row tile and channel tile. Global size:
// (ceil(out_w / (8 VECS)), out_h, n * ceil(cout / TILE)).
static inline __attribute__((always_inline)) void
conv_kxk_tile(global const float *in, global const float *weight, global const float *bias,
              global float *out, const int cin, const int in_h, const int in_w, const int cout,
              const int use_bias, const int K, const int S, const int TILE, const int VECS)
{
    const int out_h = (in_h - K) / S + 1, out_w = (in_w - K) / S + 1;
    const int x0 = get_global_id(0) * 8 * VECS;
    const int y = get_global_id(1);
    const int groups = (cout + TILE - 1) / TILE;
    const int n = get_global_id(2) / groups;
    const int co0 = (get_global_id(2) % groups) * TILE;
    if (x0 >= out_w || y >= out_h)
        return;
    // Every value read lies in the row: the tile is whole and the stride-2 load's extra
    // element exists.
    const int limit = in_w - S * x0; // values left in the row from the work-item's first
    const bool whole = KXK_SPAN(K, S, VECS) - (S == 1) <= limit;

    KXK_EACH_CHANNEL(KXK_ZERO)
    const size_t plane = (size_t)in_h * in_w;
    for (int ci = 0; ci < cin; ci++) {
        KXK_EACH_CHANNEL(KXK_WEIGHT_ROW)
        global const float *channel = in + ((size_t)n * cin + ci) * plane + S * x0;
        for (int ky = 0; ky < K; ky++) {
            global const float *row = channel + (size_t)(S * y + ky) * in_w;
            if (whole) {
                KXK_ROW(KXK_LOAD_GLOBAL)
            } else if (KXK_SPAN(K, S, VECS) <= KXK_BUF) {
                float buf[KXK_BUF];
                for (int i = 0; i < KXK_SPAN(K, S, VECS); i++)
                    buf[i] = i < limit ? row[i] : 0.0f;
                KXK_ROW(KXK_LOAD_BUF)
            } else {
                KXK_ROW(KXK_LOAD_GUARDED)
            }
        }
    }
    KXK_EACH_CHANNEL(KXK_STORE)
}

#define CONV_KXK_KERNEL(name, K, S, TILE, VECS)                                              \
    kernel void name(global const float *in, global const float *weight,                     \
                     global const float *bias, global float *out, const int cin,             \
                     const int in_h, const int in_w, const int cout, const int use_bias)     \
    {                                                                                        \
        conv_kxk_tile(in, weight, bias, out, cin, in_h, in_w, cout, use_bias, K, S, TILE,    \
                      VECS);                                                                 \
    }

// The layers of transformer networks (9x9 at both ends, 3x3 with stride 2 down; 3x3 stride 1
// where the caller pads by reflection), each with a large channel tile and a small one for
// few output channels (RGB); the launcher picks. On the 2-core EPYC PoCL device (GFLOP/s of
// flops over half the process CPU time, the machine being shared; channels x outputs per
// work-item): 9x9 3 -> 32 at 512x512: 170 with 4 x 16, 161 with 6 x 16, 136 with 3 x 16, 127
// with 8 x 8; 9x9 32 -> 3: 115 with 3 x 16, 96 with 4 x 16, 46 with 8 x 8; 3x3 stride 2
// 32 -> 64: 42 with 8 x 8, 36 with 4 x 16; 3x3 128 -> 128: 92 with 8 x 8, 75 with 4 x 16.
CONV_KXK_KERNEL(conv_kxk_k9_s1_t4, 9, 1, 4, 2)
CONV_KXK_KERNEL(conv_kxk_k9_s1_t3, 9, 1, 3, 2)
CONV_KXK_KERNEL(conv_kxk_k3_s2_t8, 3, 2, 8, 1)
CONV_KXK_KERNEL(conv_kxk_k3_s2_t4, 3, 2, 4, 2)
CONV_KXK_KERNEL(conv_kxk_k3_s1_t8, 3, 1, 8, 1)
CONV_KXK_KERNEL(conv_kxk_k3_s1_t4, 3, 1, 4, 2)

// Any odd k, given at run time (the sizes without a kernel of their own above).
kernel void conv_kxk_any(global const float *in, global const float *weight,
                         global const float *bias, global float *out, const int cin,
                         const int in_h, const int in_w, const int cout, const int use_bias,
                         const int k, const int stride)
{
    conv_kxk_tile(in, weight, bias, out, cin, in_h, in_w, cout, use_bias, k, stride, 8, 1);
}

// ---------------------------------------------------------------------------------------
// Backward passes: the gradient w.r.t. the (padded) input, and w.r.t. weights and bias.
// ---------------------------------------------------------------------------------------

#ifndef REDUCE_GROUP
#define REDUCE_GROUP 64
#endif

#define KXK_BD_ZERO(t) float bacc_##t = 0.0f;
#define KXK_BD_MADD(t)                                                                        \
    if ((t) < TILE)                                                                           \
        bacc_##t = wtap[(size_t)min(ci0 + (t), cin - 1) * K * K] * g + bacc_##t;
#define KXK_BD_STORE(t)                                                                       \
    if ((t) < TILE && ci0 + (t) < cin)                                                        \
        grad_in[(((size_t)n * cin + ci0 + (t)) * in_h + iy) * in_w + ix] = bacc_##t;

// grad_in[n][ci][iy][ix] = sum over co and the taps (ky, kx) with iy = S oy + ky and
// ix = S ox + kx for an output (oy, ox) of weight[co][ci][ky][kx] * grad_out[n][co][oy][ox]:
// one input pixel of a tile of TILE input channels per work-item, each grad_out value read
// once for the tile. Pixels no output reads (the last row or column of a stride-2 input of
// even reach) get 0. Global size: (in_w, in_h, n * ceil(cin / TILE)).
static inline __attribute__((always_inline)) void
conv_kxk_bd_tile(global const float *grad_out, global const float *weight, global float *grad_in,
                 const int cin, const int in_h, const int in_w, const int cout, const int K,
                 const int S, const int TILE)
{
    const int out_h = (in_h - K) / S + 1, out_w = (in_w - K) / S + 1;
    const int ix = get_global_id(0), iy = get_global_id(1);
    const int groups = (cin + TILE - 1) / TILE;
    const int n = get_global_id(2) / groups;
    const int ci0 = (get_global_id(2) % groups) * TILE;
    if (ix >= in_w || iy >= in_h)
        return;
    // The taps that reach this pixel: ky = iy - S oy for 0 <= oy < out_h, 0 <= ky < K.
    const int oy_last = min(out_h - 1, iy / S), ox_last = min(out_w - 1, ix / S);
    const int oy_first = max(0, (iy - K + S) / S), ox_first = max(0, (ix - K + S) / S);
    KXK_EACH_CHANNEL(KXK_BD_ZERO)
    for (int co = 0; co < cout; co++) {
        global const float *plane = grad_out + ((size_t)n * cout + co) * out_h * out_w;
        global const float *wco = weight + (size_t)co * cin * K * K;
        for (int oy = oy_first; oy <= oy_last; oy++) {
            const int ky = iy - S * oy;
            global const float *grow = plane + (size_t)oy * out_w;
            for (int ox = ox_first; ox <= ox_last; ox++) {
                const int kx = ix - S * ox;
                const float g = grow[ox];
                global const float *wtap = wco + ky * K + kx;
                KXK_EACH_CHANNEL(KXK_BD_MADD)
            }
        }
    }
    KXK_EACH_CHANNEL(KXK_BD_STORE)
}

#define CONV_KXK_BD_KERNEL(name, K, S, TILE)                                                 \
    kernel void name(global const float *grad_out, global const float *weight,               \
                     global float *grad_in, const int cin, const int in_h, const int in_w,   \
                     const int cout)                                                         \
    {                                                                                        \
        conv_kxk_bd_tile(grad_out, weight, grad_in, cin, in_h, in_w, cout, K, S, TILE);      \
    }

CONV_KXK_BD_KERNEL(conv_kxk_bd_k9_s1_t8, 9, 1, 8)
CONV_KXK_BD_KERNEL(conv_kxk_bd_k9_s1_t4, 9, 1, 4)
CONV_KXK_BD_KERNEL(conv_kxk_bd_k3_s2_t8, 3, 2, 8)
CONV_KXK_BD_KERNEL(conv_kxk_bd_k3_s2_t4, 3, 2, 4)
CONV_KXK_BD_KERNEL(conv_kxk_bd_k3_s1_t8, 3, 1, 8)
CONV_KXK_BD_KERNEL(conv_kxk_bd_k3_s1_t4, 3, 1, 4)

// Any odd k and stride, given at run time.
kernel void conv_kxk_bd_any(global const float *grad_out, global const float *weight,
                            global float *grad_in, const int cin, const int in_h,
                            const int in_w, const int cout, const int k, const int stride)
{
    conv_kxk_bd_tile(grad_out, weight, grad_in, cin, in_h, in_w, cout, k, stride, 8);
}

// Tree sum of every work-item's KX values vals[0 .. KX - 1] in lsum (KX * REDUCE_GROUP
// floats); the sums end up in lsum[j * REDUCE_GROUP].
static inline __attribute__((always_inline)) void kxk_group_sum(local float *lsum,
                                                                const float *vals, const int KX)
{
    const int lid = get_local_id(0);
    for (int j = 0; j < KX; j++)
        lsum[j * REDUCE_GROUP + lid] = vals[j];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = REDUCE_GROUP / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            for (int j = 0; j < KX; j++)
                lsum[j * REDUCE_GROUP + lid] += lsum[j * REDUCE_GROUP + lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// Start (inclusive) of part `part` of `parts` over count indices.
int kxk_part_start(const int count, const int part, const int parts)
{
    return (int)((long)count * part / parts);
}

// The weight gradient of the taps (co, ci, ky, kx0 .. kx0 + KX - 1):
//     sum over n, oy, ox of grad_out[n][co][oy][ox] * in[n][ci][S oy + ky][S ox + kx],
// over part `part` of the n * out_h * out_w output pixels, by one work-group of
// REDUCE_GROUP work-items, each taking every REDUCE_GROUP-th pixel. Work-group g is
// (tap row r = ((co * cin + ci) * K + ky) * (K / KX) + kx0 / KX, part) = (g / parts,
// g % parts). With parts 1 the sums go to grad_weight, else to
// partial[(r * parts + part) * KX + j]. Global size: cout * cin * K * (K / KX) * parts *
// REDUCE_GROUP, local REDUCE_GROUP.
static inline __attribute__((always_inline)) void
conv_kxk_bw_taps(global const float *in, global const float *grad_out, global float *dst,
                 local float *lsum, const int batch, const int cin, const int in_h,
                 const int in_w, const int cout, const int parts, const int K, const int S,
                 const int KX)
{
    const int out_h = (in_h - K) / S + 1, out_w = (in_w - K) / S + 1;
    const int g = get_group_id(0), r = g / parts, part = g % parts;
    const int blocks = K / KX;
    const int kx0 = (r % blocks) * KX, ky = (r / blocks) % K, ci = (r / blocks / K) % cin;
    const int co = r / blocks / K / cin;
    const int count = out_h * out_w, total = batch * count;
    const int start = kxk_part_start(total, part, parts);
    const int end = kxk_part_start(total, part + 1, parts);

    float acc[16];
    for (int j = 0; j < KX; j++)
        acc[j] = 0.0f;
    int q = start + get_local_id(0);
    int n = q / count, rest = q - n * count;
    int oy = rest / out_w, ox = rest - oy * out_w;
    for (; q < end; q += REDUCE_GROUP) {
        const float gv = grad_out[(((size_t)n * cout + co) * out_h + oy) * out_w + ox];
        global const float *row =
            in + (((size_t)n * cin + ci) * in_h + S * oy + ky) * in_w + S * ox + kx0;
        for (int j = 0; j < KX; j++)
            acc[j] = gv * row[j] + acc[j];
        ox += REDUCE_GROUP;
        while (ox >= out_w) {
            ox -= out_w;
            if (++oy == out_h) {
                oy = 0;
                n++;
            }
        }
    }
    kxk_group_sum(lsum, acc, KX);
    if (get_local_id(0) == 0) {
        if (parts == 1) {
            global float *wrow = dst + (((size_t)co * cin + ci) * K + ky) * K + kx0;
            for (int j = 0; j < KX; j++)
                wrow[j] = lsum[j * REDUCE_GROUP];
        } else {
            for (int j = 0; j < KX; j++)
                dst[((size_t)r * parts + part) * KX + j] = lsum[j * REDUCE_GROUP];
        }
    }
}

#define CONV_KXK_BW_KERNEL(name, K, S)                                                       \
    kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void name(              \
        global const float *in, global const float *grad_out, global float *dst,             \
        const int batch, const int cin, const int in_h, const int in_w, const int cout,      \
        const int parts)                                                                     \
    {                                                                                        \
        local float lsum[K * REDUCE_GROUP];                                                  \
        conv_kxk_bw_taps(in, grad_out, dst, lsum, batch, cin, in_h, in_w, cout, parts, K, S, \
                         K);                                                                 \
    }

// A row of k taps per work-item for the common sizes (k at most 16).
CONV_KXK_BW_KERNEL(conv_kxk_bw_k1_s1, 1, 1)

// Any odd k and stride, one tap per work-group.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
conv_kxk_bw_any(global const float *in, global const float *grad_out, global float *dst,
                const int batch, const int cin, const int in_h, const int in_w, const int cout,
                const int parts, const int k, const int stride)
{
    local float lsum[REDUCE_GROUP];
    conv_kxk_bw_taps(in, grad_out, dst, lsum, batch, cin, in_h, in_w, cout, parts, k, stride, 1);
}

// grad_weight[e] = the sum over parts, in order, of conv_kxk_bw_*'s partial sums of weight
// element e = ((co * cin + ci) * k + ky) * k + kx, whose tap row holds kx_per taps.
// Global size: cout * cin * k * k.
kernel void conv_kxk_bw_sum(global const float *partial, global float *grad_weight,
                            const int count, const int parts, const int kx_per)
{
    const int e = get_global_id(0);
    if (e >= count)
        return;
    global const float *p = partial + (size_t)(e / kx_per) * parts * kx_per + e % kx_per;
    float sum = 0.0f;
    for (int part = 0; part < parts; part++)
        sum += p[(size_t)part * kx_per];
    grad_weight[e] = sum;
}

// grad_bias[co] = the sum of grad_out[n][co] over n and the out_size pixels of each plane:
// one work-group per co. Global size: cout * REDUCE_GROUP, local REDUCE_GROUP.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
conv_kxk_bw_bias(global const float *grad_out, global float *grad_bias, const int batch,
                 const int cout, const int out_size)
{
    local float lsum[REDUCE_GROUP];
    const int co = get_group_id(0), lid = get_local_id(0);
    float acc = 0.0f;
    for (int n = 0; n < batch; n++) {
        global const float *plane = grad_out + ((size_t)n * cout + co) * out_size;
        for (int i = lid; i < out_size; i += REDUCE_GROUP)
            acc += plane[i];
    }
    kxk_group_sum(lsum, &acc, 1);
    if (lid == 0)
        grad_bias[co] = lsum[0];
}

// Backward-weights by register blocks, the fast path for every (k, stride) with a kernel
// below: each work-item computes 4 output channels x 3 neighbouring taps (kx0 .. kx0 + 2) of
// one input channel and kernel row, 12 sums of products over a slice of the output rows
// (n, oy), each in 8 float lanes:
//   partial[slice][co][ci][ky][kx] = sum over the slice's rows and every ox of
//       grad_out[n][co][oy][ox] * input[n][ci][S * oy + ky][S * ox + kx].
// 12 accumulators and 7 operand vectors fit AVX2's 16 registers once loads are consumed, as in
// cl/gram.cl's gram_upper. Output channels past cout compute on the last one and are not
// stored. A stride-2 row is read as 16 floats and its even lanes kept, where the 16 stay in
// the row; the rest of a row goes one value at a time.
// Global size: (cin * K * (K / 3), ceil(cout / 4), slices).
#define BWB_EACH_J(i, STEP) STEP(i, 0) STEP(i, 1) STEP(i, 2)
#define BWB_EACH(STEP) BWB_EACH_J(0, STEP) BWB_EACH_J(1, STEP) BWB_EACH_J(2, STEP) BWB_EACH_J(3, STEP)
#define BWB_EACH_CO(STEP) STEP(0) STEP(1) STEP(2) STEP(3)
#define BWB_ZERO(i, j) float8 acc_##i##j = (float8)(0.0f);
#define BWB_ROW_A(i)                                                                               \
    global const float *a_row##i =                                                                 \
        grad_out + (((size_t)n * cout + min(co0 + (i), cout - 1)) * oh + oy) * ow;
#define BWB_LOAD_A(i) const float8 a##i = vload8(0, a_row##i + ox);
#define BWB_MADD(i, j) acc_##i##j = a##i * b##j + acc_##i##j;
#define BWB_MADD_TAIL(i, j)                                                                        \
    acc_##i##j.s0 = a_row##i[ox] * b_row[bwb_s * ox + kx0 + (j)] + acc_##i##j.s0;
#define BWB_STORE(i, j)                                                                            \
    if (co0 + (i) < cout)                                                                          \
        out[((size_t)(co0 + (i)) * cin + ci) * bwb_k * bwb_k + ky * bwb_k + kx0 + (j)] =           \
            (acc_##i##j.s0 + acc_##i##j.s1) + (acc_##i##j.s2 + acc_##i##j.s3) +                     \
            ((acc_##i##j.s4 + acc_##i##j.s5) + (acc_##i##j.s6 + acc_##i##j.s7));

#define CONV_KXK_BW_BLOCK_KERNEL(name, K, S)                                                       \
    kernel void name(global const float *input, global const float *grad_out,                     \
                     global float *partial, const int batch, const int cin, const int h,          \
                     const int w, const int cout, const int rows_per_slice)                       \
    {                                                                                              \
        const int bwb_k = K, bwb_s = S, chunks = K / 3;                                            \
        const int ci = get_global_id(0) / (K * chunks), rest = get_global_id(0) % (K * chunks);  \
        const int ky = rest / chunks, kx0 = rest % chunks * 3;                                     \
        const int co0 = get_global_id(1) * 4, slice = get_global_id(2);                            \
        if (ci >= cin)                                                                             \
            return;                                                                                \
        const int oh = (h - K) / S + 1, ow = (w - K) / S + 1;                                      \
        /* Vectors end before vec_end: a stride-2 one reads input up to 2 ox + kx0 + 17. */     \
        const int lim = w - kx0 - 18;                                                              \
        const int vec_end = S == 1 ? ow : lim < 0 ? 0 : min(ow, lim / 2 + 8);                     \
        BWB_EACH(BWB_ZERO)                                                                         \
        const int r0 = slice * rows_per_slice, r1 = min(batch * oh, r0 + rows_per_slice);         \
        for (int r = r0; r < r1; r++) {                                                            \
            const int n = r / oh, oy = r % oh;                                                     \
            BWB_EACH_CO(BWB_ROW_A)                                                                 \
            global const float *b_row = input + (((size_t)n * cin + ci) * h + S * oy + ky) * w;   \
            int ox = 0;                                                                            \
            for (; ox + 8 <= vec_end; ox += 8) {                                                   \
                global const float *b_at = b_row + S * ox + kx0;                                   \
                const float8 b0 = S == 1 ? vload8(0, b_at) : vload16(0, b_at).even;                \
                const float8 b1 = S == 1 ? vload8(0, b_at + 1) : vload16(0, b_at + 1).even;        \
                const float8 b2 = S == 1 ? vload8(0, b_at + 2) : vload16(0, b_at + 2).even;        \
                BWB_EACH_CO(BWB_LOAD_A)                                                            \
                BWB_EACH(BWB_MADD)                                                                 \
            }                                                                                      \
            for (; ox < ow; ox++) {                                                                \
                BWB_EACH(BWB_MADD_TAIL)                                                            \
            }                                                                                      \
        }                                                                                          \
        global float *out = partial + (size_t)slice * cout * cin * K * K;                          \
        BWB_EACH(BWB_STORE)                                                                        \
    }

CONV_KXK_BW_BLOCK_KERNEL(conv_kxk_bwb_k3_s1, 3, 1)
CONV_KXK_BW_BLOCK_KERNEL(conv_kxk_bwb_k3_s2, 3, 2)
CONV_KXK_BW_BLOCK_KERNEL(conv_kxk_bwb_k9_s1, 9, 1)
