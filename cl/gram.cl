// Gram matrices of feature maps and their gradient, for CPU-like devices (GPUs use CLBlast;
// see ops/gram.c). F is c rows of hw floats (one channel plane a row, row stride hw).
//
//   forward   G = scale * F F^T: only the blocks on or above the diagonal are computed
//             (G is symmetric), over slices of the columns, then added up and mirrored
//   backward  dF (+)= S F, with S = scale * (dG + dG^T) formed first
//
// Products are added as a * b + c, contracted to fused multiply-adds where the device has
// one (see cl/winograd.cl).
#ifdef CLS_NO_FMA /* CLSTYLE_NO_FMA=1: see runtime/tunables.h */
#pragma OPENCL FP_CONTRACT OFF
#else
#pragma OPENCL FP_CONTRACT ON
#endif

// The forward kernel's vector width (4, 8 or 16 floats) and its block of GRAM_ROWS_I x
// GRAM_ROWS_J entries of G per work-item (each at most 4); the host sets them from the
// device (runtime/tunables.c).
#ifndef GRAM_VEC
#define GRAM_VEC 8
#endif
#ifndef GRAM_ROWS_I
#define GRAM_ROWS_I 4
#endif
#ifndef GRAM_ROWS_J
#define GRAM_ROWS_J 3
#endif
#if GRAM_ROWS_I > 4 || GRAM_ROWS_J > 4
#error "gram_upper holds at most 4 x 4 accumulators"
#endif
// Rows of the gradient per work-item: gram_grad's (16 columns wide) and gram_grad_wide's (32).
#ifndef GRAM_GRAD_ROWS
#define GRAM_GRAD_ROWS 6
#endif
#ifndef GRAM_GRAD_WIDE_ROWS
#define GRAM_GRAD_WIDE_ROWS 8
#endif
#if GRAM_GRAD_ROWS > 8 || GRAM_GRAD_WIDE_ROWS > 8
#error "gram_grad writes out at most 8 rows"
#endif

#define GRAM_CAT(a, b) a##b
#define GRAM_XCAT(a, b) GRAM_CAT(a, b)
#define gram_vec GRAM_XCAT(float, GRAM_VEC)
#define gram_vload GRAM_XCAT(vload, GRAM_VEC)

static inline float gram_hsum(const gram_vec v)
{
#if GRAM_VEC == 16
    const float8 h8 = v.lo + v.hi;
    const float4 h = h8.lo + h8.hi;
#elif GRAM_VEC == 8
    const float4 h = v.lo + v.hi;
#elif GRAM_VEC == 4
    const float4 h = v;
#else
#error "GRAM_VEC must be 4, 8 or 16"
#endif
    const float2 q = h.lo + h.hi;
    return q.x + q.y;
}

// Every accumulator is a named variable (acc_IJ), written out by these macros: PoCL keeps an
// array of them in memory rather than in registers (see wino_gemm). Entries past the block's
// GRAM_ROWS_I x GRAM_ROWS_J are compiled away.
#define GRAM_EACH_J(i, STEP) STEP(i, 0) STEP(i, 1) STEP(i, 2) STEP(i, 3)
#define GRAM_EACH(STEP)                                                                            \
    GRAM_EACH_J(0, STEP) GRAM_EACH_J(1, STEP) GRAM_EACH_J(2, STEP) GRAM_EACH_J(3, STEP)
#define GRAM_EACH_ROW(STEP) STEP(0) STEP(1) STEP(2) STEP(3)
#define GRAM_USED(i, j) ((i) < GRAM_ROWS_I && (j) < GRAM_ROWS_J)
#define GRAM_ZERO(i, j) gram_vec acc_##i##j = (gram_vec)(0.0f);
#define GRAM_ROW_I(r) global const float *row_i##r = f + (size_t)min(i0 + (r), c - 1) * hw;
#define GRAM_ROW_J(r) global const float *row_j##r = f + (size_t)min(j0 + (r), c - 1) * hw;
#define GRAM_LOAD(r)                                                                               \
    const gram_vec a##r = (r) < GRAM_ROWS_I ? gram_vload(0, row_i##r + p) : (gram_vec)(0.0f);  \
    const gram_vec b##r = (r) < GRAM_ROWS_J ? gram_vload(0, row_j##r + p) : (gram_vec)(0.0f);
#define GRAM_MADD(i, j)                                                                            \
    if (GRAM_USED(i, j))                                                                           \
        acc_##i##j = a##i * b##j + acc_##i##j;
#define GRAM_MADD_TAIL(i, j)                                                                       \
    if (GRAM_USED(i, j))                                                                           \
        acc_##i##j.s0 = row_i##i[p] * row_j##j[p] + acc_##i##j.s0;
#define GRAM_STORE(i, j)                                                                           \
    if (GRAM_USED(i, j) && i0 + (i) < c && j0 + (j) < c)                                           \
        out[(size_t)(i0 + (i)) * c + j0 + (j)] = gram_hsum(acc_##i##j);

// partial[slice][i][j] = sum over the slice's columns p of F[i][p] * F[j][p], for the blocks
// of GRAM_ROWS_I x GRAM_ROWS_J entries that reach the diagonal or above it (every i <= j is
// in one of them; entries below the diagonal that such a block covers are written too).
// Slice s covers columns s * cols .. min(hw, (s + 1) * cols) - 1; cols is a multiple of
// GRAM_VEC, so only the last slice has a scalar tail. Rows past c compute on row c - 1 and
// are not stored.
// Global size: (ceil(c / GRAM_ROWS_J), ceil(c / GRAM_ROWS_I), slices).
kernel void gram_upper(global const float *features, const uint offset, const int c, const int hw,
                       const int cols, global float *partial)
{
    const int j0 = get_global_id(0) * GRAM_ROWS_J, i0 = get_global_id(1) * GRAM_ROWS_I;
    const int slice = get_global_id(2);
    if (j0 >= c || i0 >= c || i0 > j0 + GRAM_ROWS_J - 1) // past the matrix, or below the diagonal
        return;
    global const float *f = features + offset;
    GRAM_EACH_ROW(GRAM_ROW_I)
    GRAM_EACH_ROW(GRAM_ROW_J)
    GRAM_EACH(GRAM_ZERO)
    const int begin = slice * cols, end = min(hw, begin + cols);
    int p = begin;
    for (; p + GRAM_VEC <= end; p += GRAM_VEC) {
        GRAM_EACH_ROW(GRAM_LOAD)
        GRAM_EACH(GRAM_MADD)
    }
    for (; p < end; p++) {
        GRAM_EACH(GRAM_MADD_TAIL)
    }
    global float *out = partial + (size_t)slice * c * c;
    GRAM_EACH(GRAM_STORE)
}

// gram[out_offset + i * c + j] = scale * sum over the slices of partial[slice][min(i, j)]
// [max(i, j)]: the upper triangle added up and mirrored, so G is exactly symmetric.
// Global size: (c, c).
kernel void gram_sum_mirror(global const float *partial, const int slices, const int c,
                            const float scale, global float *gram, const uint out_offset)
{
    const int j = get_global_id(0), i = get_global_id(1);
    if (i >= c || j >= c)
        return;
    const size_t at = (size_t)min(i, j) * c + max(i, j), stride = (size_t)c * c;
    float s = 0.0f;
    for (int k = 0; k < slices; k++)
        s += partial[k * stride + at];
    gram[out_offset + (size_t)i * c + j] = scale * s;
}

// out[out_offset + i] = sum over p < parts of partial[p * stride + i], for i < n: the
// partial products of CLBlast's split-K Gram matrix added up.
kernel void sum_partials(global const float *partial, const uint parts, const uint stride,
                         global float *out, const uint out_offset, const uint n)
{
    const uint i = get_global_id(0);
    if (i >= n)
        return;
    float s = 0.0f;
    for (uint p = 0; p < parts; p++)
        s += partial[p * stride + i];
    out[out_offset + i] = s;
}

// sym = scale * (a + a^T) for the c x c matrix starting at a[offset]: the gradient's S.
// Global size: (c, c).
kernel void gram_symmetrize(global const float *a, const uint offset, const float scale,
                            global float *sym, const int c)
{
    const int col = get_global_id(0), row = get_global_id(1);
    if (col < c && row < c)
        sym[row * c + col] =
            scale * (a[offset + (size_t)row * c + col] + a[offset + (size_t)col * c + row]);
}

// packed[(b * c + j) * 16 + k] = F[j][p0 + 16 * b + k], zero past column hw - 1: the
// columns p0 .. of F in blocks of 16, each block's c rows contiguous. gram_grad reads a
// block down all its rows; in F those rows are hw floats apart, and when hw is a power of
// two (every square power-of-two image) they fall into the same few cache sets and evict
// each other (measured: the gradient of 256 x 16384 took 31 ms, of 256 x 15376 13 ms).
// Global size: (blocks, c).
kernel void gram_pack(global const float *features, const uint offset, const int c, const int hw,
                      const int p0, global float *packed)
{
    const int b = get_global_id(0), j = get_global_id(1);
    if (j >= c)
        return;
    global const float *src = features + offset + (size_t)j * hw + p0 + 16 * b;
    global float *dst = packed + ((size_t)b * c + j) * 16;
    const int left = hw - p0 - 16 * b;
    if (left >= 16) {
        vstore16(vload16(0, src), 0, dst);
        return;
    }
    for (int k = 0; k < 16; k++)
        dst[k] = k < left ? src[k] : 0.0f;
}

#define GRAM_GRAD_EACH(STEP) STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)
#define GRAM_GRAD_ZERO(r) float16 acc_##r = (float16)(0.0f), acc2_##r = (float16)(0.0f);
#define GRAM_GRAD_ROW(r)                                                                           \
    global const float *s_##r = sym + (size_t)min(i0 + (r), c - 1) * c;
#define GRAM_GRAD_MADD(r)                                                                          \
    if ((r) < R) {                                                                                 \
        const float16 sv = (float16)(s_##r[j]);                                                    \
        acc_##r = sv * bv + acc_##r;                                                               \
        if (V == 2)                                                                                \
            acc2_##r = sv * bv2 + acc2_##r;                                                        \
    }
#define GRAM_GRAD_STORE(r)                                                                         \
    if ((r) < R && i0 + (r) < c) {                                                                 \
        gram_grad_store(acc_##r, out + (size_t)(i0 + (r)) * hw, left, accumulate);                 \
        if (V == 2 && left > 16)                                                                   \
            gram_grad_store(acc2_##r, out + (size_t)(i0 + (r)) * hw + 16, left - 16, accumulate);  \
    }

// Writes (or adds) the first `left` of the 16 values (all of them when left >= 16).
static inline void gram_grad_store(const float16 v, global float *o, const int left,
                                   const int accumulate)
{
    if (left >= 16) {
        vstore16(accumulate ? v + vload16(0, o) : v, 0, o);
        return;
    }
    float values[16];
    vstore16(v, 0, values);
    for (int k = 0; k < left; k++)
        o[k] = accumulate ? values[k] + o[k] : values[k];
}

// grad[offset + i * hw + p] (+)= sum over j of sym[i][j] * F[j][p] for the `cols` columns
// p0 .. of F that gram_pack packed: R rows by V packed 16-column blocks a work-item (b0 and
// the next), each float16 of F loaded once for all its rows, the rows' S values broadcast
// (the pattern of wino_gemm). R and V are compile-time constants. Rows past c compute on row
// c - 1 and are not stored, columns past the chunk's are not stored (a missing second block
// computes on the first).
static inline __attribute__((always_inline)) void
gram_grad_block(global const float *sym, global const float *packed, const int p0,
                const int cols, global float *grad, const uint offset, const int c, const int hw,
                const int accumulate, const int b0, const int R, const int V)
{
    const int i0 = get_global_id(1) * R;
    const int left = cols - 16 * b0;
    if (left <= 0 || i0 >= c)
        return;
    GRAM_GRAD_EACH(GRAM_GRAD_ROW)
    GRAM_GRAD_EACH(GRAM_GRAD_ZERO)
    global const float *block = packed + (size_t)b0 * c * 16;
    global const float *block2 = left > 16 ? block + (size_t)c * 16 : block;
    for (int j = 0; j < c; j++) {
        const float16 bv = vload16(j, block);
        const float16 bv2 = V == 2 ? vload16(j, block2) : bv;
        GRAM_GRAD_EACH(GRAM_GRAD_MADD)
    }
    global float *out = grad + offset + p0 + 16 * b0;
    GRAM_GRAD_EACH(GRAM_GRAD_STORE)
}

// GRAM_GRAD_ROWS rows by one packed block a work-item.
// Global size: (packed blocks, ceil(c / GRAM_GRAD_ROWS)).
kernel void gram_grad(global const float *sym, global const float *packed, const int p0,
                      const int cols, global float *grad, const uint offset, const int c,
                      const int hw, const int accumulate)
{
    gram_grad_block(sym, packed, p0, cols, grad, offset, c, hw, accumulate, get_global_id(0),
                    GRAM_GRAD_ROWS, 1);
}

// GRAM_GRAD_WIDE_ROWS rows by two packed blocks a work-item: for devices with 16 native
// lanes (AVX-512's 32 registers hold 16 accumulators), as wino_gemm_wide.
// Global size: (ceil(packed blocks / 2), ceil(c / GRAM_GRAD_WIDE_ROWS)).
kernel void gram_grad_wide(global const float *sym, global const float *packed, const int p0,
                           const int cols, global float *grad, const uint offset, const int c,
                           const int hw, const int accumulate)
{
    gram_grad_block(sym, packed, p0, cols, grad, offset, c, hw, accumulate, 2 * get_global_id(0),
                    GRAM_GRAD_WIDE_ROWS, 2);
}
