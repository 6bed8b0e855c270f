// Winograd F(4x4, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks"), stride 1, zero padding 1, NCHW, and its exact adjoint for the gradient with
// respect to the input. Output tile t covers rows 4ty..4ty+3 and columns 4tx..4tx+3 and reads
// the 6x6 input window starting at (4ty - 1, 4tx - 1).
//
//   forward   Y = At [ U (.) V ] A,    U = G g Gt,  V = Bt d B
//   backward  dd = B [ U (.) (A dY At) ] Bt, summed over the windows covering each pixel
//
// Transformed data is laid out [36][channels][tiles] (element 6i+j of the 6x6 transform
// first), so the channel mixing is 36 independent matrix products: M[k] = U[k] x V[k] forward
// and P[k] = U[k]t x D[k] backward, with U laid out [36][cout][cin].
//
// Tiles are numbered over the batch: tile row R = n * tiles_h + ty, tile t = R * tiles_w +
// tx. A launch covers the tile rows row0 .. row0 + rows - 1 of all tiles ("a chunk"); the
// transformed buffers hold `ld` >= rows * tiles_w columns (ld is a multiple of the GEMM's
// column block; the padding columns are written as zeros).

// Products are added as a * b + c, which the compiler contracts to a fused multiply-add where
// the device has one; mad() is a separate multiply and add in PoCL (see cl/conv_kxk.cl).
#ifdef CLS_NO_FMA /* CLSTYLE_NO_FMA=1: see runtime/tunables.h */
#pragma OPENCL FP_CONTRACT OFF
#else
#pragma OPENCL FP_CONTRACT ON
#endif

#ifndef WINO_GEMM_ROWS
#define WINO_GEMM_ROWS 16
#endif

// Bt d: 6 values in, 6 out.
#define WINO_BT(d, o)                                                                              \
    do {                                                                                           \
        o[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];                                                   \
        o[1] = -4.0f * (d[1] + d[2]) + d[3] + d[4];                                                \
        o[2] = 4.0f * (d[1] - d[2]) - d[3] + d[4];                                                 \
        o[3] = 2.0f * (d[3] - d[1]) - d[2] + d[4];                                                 \
        o[4] = 2.0f * (d[1] - d[3]) - d[2] + d[4];                                                 \
        o[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];                                                   \
    } while (0)

// B p: the transpose of WINO_BT.
#define WINO_B(p, o)                                                                               \
    do {                                                                                           \
        o[0] = 4.0f * p[0];                                                                        \
        o[1] = 4.0f * (p[2] - p[1] + p[5]) + 2.0f * (p[4] - p[3]);                                 \
        o[2] = -5.0f * p[0] - 4.0f * (p[1] + p[2]) - p[3] - p[4];                                  \
        o[3] = p[1] - p[2] + 2.0f * (p[3] - p[4]) - 5.0f * p[5];                                   \
        o[4] = p[0] + p[1] + p[2] + p[3] + p[4];                                                   \
        o[5] = p[5];                                                                               \
    } while (0)

// At m: 6 values in, 4 out (of type T: float, or float8 for 8 tiles at once).
#define WINO_AT(T, m, o)                                                                              \
    do {                                                                                           \
        const T s12_ = m[1] + m[2], d12_ = m[1] - m[2];                                        \
        const T s34_ = m[3] + m[4], d34_ = m[3] - m[4];                                        \
        o[0] = m[0] + s12_ + s34_;                                                                 \
        o[1] = d12_ + 2.0f * d34_;                                                                 \
        o[2] = s12_ + 4.0f * s34_;                                                                 \
        o[3] = d12_ + 8.0f * d34_ + m[5];                                                          \
    } while (0)

// A x: the transpose of WINO_AT, 4 values in, 6 out.
#define WINO_A(T, x, o)                                                                               \
    do {                                                                                           \
        const T s02_ = x[0] + x[2], s13_ = x[1] + x[3];                                        \
        const T t02_ = x[0] + 4.0f * x[2], t13_ = 2.0f * x[1] + 8.0f * x[3];                   \
        o[0] = x[0];                                                                               \
        o[1] = s02_ + s13_;                                                                        \
        o[2] = s02_ - s13_;                                                                        \
        o[3] = t02_ + t13_;                                                                        \
        o[4] = t02_ - t13_;                                                                        \
        o[5] = x[3];                                                                               \
    } while (0)

// G g: 3 values in, 6 out.
#define WINO_G(g, o)                                                                               \
    do {                                                                                           \
        o[0] = 0.25f * g[0];                                                                       \
        o[1] = (g[0] + g[1] + g[2]) * (-1.0f / 6.0f);                                              \
        o[2] = (g[0] - g[1] + g[2]) * (-1.0f / 6.0f);                                              \
        o[3] = g[0] * (1.0f / 24.0f) + g[1] * (1.0f / 12.0f) + g[2] * (1.0f / 6.0f);               \
        o[4] = g[0] * (1.0f / 24.0f) - g[1] * (1.0f / 12.0f) + g[2] * (1.0f / 6.0f);               \
        o[5] = g[2];                                                                               \
    } while (0)

// u[k][co][ci] = (G g Gt)[k] for g = weight[co][ci]. Global size: cin * cout.
kernel void wino_weight_transform(global const float *weight, global float *u, const int cin,
                                  const int cout)
{
    const int i = get_global_id(0);
    if (i >= cin * cout)
        return;
    float g[9], t[18], col[3], out[6];
    for (int k = 0; k < 9; k++)
        g[k] = weight[(size_t)i * 9 + k];
    for (int c = 0; c < 3; c++) { // t = G g: 6 x 3
        col[0] = g[c];
        col[1] = g[3 + c];
        col[2] = g[6 + c];
        WINO_G(col, out);
        for (int r = 0; r < 6; r++)
            t[r * 3 + c] = out[r];
    }
    const size_t plane = (size_t)cin * cout;
    for (int r = 0; r < 6; r++) { // (G g) Gt: each row of t through G
        WINO_G((t + r * 3), out);
        for (int c = 0; c < 6; c++)
            u[(size_t)(r * 6 + c) * plane + i] = out[c];
    }
}

// ---------------------------------------------------------------------------------------
// One tile per call: the general paths, for tiles at the ends of a tile row and chunks that
// do not start a row. The kernels below handle WINO_LANES tiles of one tile row at once with
// vector arithmetic (lane = tile) and fall back to these elsewhere.
// ---------------------------------------------------------------------------------------

// v[k][ci][t] = (Bt d B)[k] for the 6x6 window of tile t in channel ci, zero outside the
// image; zeros in the padding columns t >= rows * tiles_w.
void wino_input_tile(global const float *in, global float *v, const int cin, const int h,
                     const int w, const int tiles_h, const int tiles_w, const int row0,
                     const int rows, const int ld, const int t, const int ci)
{
    const size_t plane = (size_t)cin * ld;
    global float *dst = v + (size_t)ci * ld + t;
    if (t >= rows * tiles_w) {
        for (int k = 0; k < 36; k++)
            dst[k * plane] = 0.0f;
        return;
    }
    const int row = row0 + t / tiles_w, tx = t % tiles_w;
    const int n = row / tiles_h, ty = row % tiles_h;
    const int y0 = ty * 4 - 1, x0 = tx * 4 - 1;
    global const float *src = in + ((size_t)n * cin + ci) * h * w;

    float d[36], o[6], tmp[6];
    const bool inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= h && x0 + 6 <= w;
    for (int i = 0; i < 6; i++) {
        const int y = y0 + i;
        for (int j = 0; j < 6; j++) {
            const int x = x0 + j;
            d[i * 6 + j] =
                inside || (y >= 0 && y < h && x >= 0 && x < w) ? src[(size_t)y * w + x] : 0.0f;
        }
    }
    for (int j = 0; j < 6; j++) { // columns: Bt d
        for (int i = 0; i < 6; i++)
            tmp[i] = d[i * 6 + j];
        WINO_BT(tmp, o);
        for (int i = 0; i < 6; i++)
            d[i * 6 + j] = o[i];
    }
    for (int i = 0; i < 6; i++) { // rows: (Bt d) B
        WINO_BT((d + i * 6), o);
        for (int j = 0; j < 6; j++)
            dst[(i * 6 + j) * plane] = o[j];
    }
}

// out[n][co][y][x] for tile t = (At m A) + bias, then max(0, .) when relu, from m[k][co][t].
void wino_output_tile(global const float *m, global const float *bias, global float *out,
                      const int cout, const int h, const int w, const int tiles_h,
                      const int tiles_w, const int row0, const int ld, const int use_bias,
                      const int relu, const int t, const int co)
{
    const int row = row0 + t / tiles_w, tx = t % tiles_w;
    const int n = row / tiles_h, ty = row % tiles_h;
    const size_t plane = (size_t)cout * ld;
    global const float *src = m + (size_t)co * ld + t;

    float a[36], tmp[6], o[4], r[24];
    for (int k = 0; k < 36; k++)
        a[k] = src[k * plane];
    for (int j = 0; j < 6; j++) { // columns: At m, 4 x 6
        for (int i = 0; i < 6; i++)
            tmp[i] = a[i * 6 + j];
        WINO_AT(float, tmp, o);
        for (int i = 0; i < 4; i++)
            r[i * 6 + j] = o[i];
    }
    const float b = use_bias ? bias[co] : 0.0f;
    global float *dst = out + ((size_t)n * cout + co) * h * w;
    const int y0 = ty * 4, x0 = tx * 4;
    for (int i = 0; i < 4 && y0 + i < h; i++) { // rows: (At m) A
        WINO_AT(float, (r + i * 6), o);
        for (int j = 0; j < 4 && x0 + j < w; j++) {
            float value = o[j] + b;
            if (relu)
                value = fmax(value, 0.0f);
            dst[(size_t)(y0 + i) * w + x0 + j] = value;
        }
    }
}

// d[k][co][t] = (A dy At)[k] for the 4x4 output tile t of dy (zero outside the image); zeros
// in the padding columns.
void wino_grad_tile(global const float *dy, global float *d, const int cout, const int h,
                    const int w, const int tiles_h, const int tiles_w, const int row0,
                    const int rows, const int ld, const int t, const int co)
{
    const size_t plane = (size_t)cout * ld;
    global float *dst = d + (size_t)co * ld + t;
    if (t >= rows * tiles_w) {
        for (int k = 0; k < 36; k++)
            dst[k * plane] = 0.0f;
        return;
    }
    const int row = row0 + t / tiles_w, tx = t % tiles_w;
    const int n = row / tiles_h, ty = row % tiles_h;
    const int y0 = ty * 4, x0 = tx * 4;
    global const float *src = dy + ((size_t)n * cout + co) * h * w;

    float g[16], tmp[4], o[6], c[24];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            const int y = y0 + i, x = x0 + j;
            g[i * 4 + j] = y < h && x < w ? src[(size_t)y * w + x] : 0.0f;
        }
    for (int j = 0; j < 4; j++) { // columns: A dy, 6 x 4
        for (int i = 0; i < 4; i++)
            tmp[i] = g[i * 4 + j];
        WINO_A(float, tmp, o);
        for (int i = 0; i < 6; i++)
            c[i * 4 + j] = o[i];
    }
    for (int i = 0; i < 6; i++) { // rows: (A dy) At
        WINO_A(float, (c + i * 4), o);
        for (int j = 0; j < 6; j++)
            dst[(i * 6 + j) * plane] = o[j];
    }
}

// dx[n][ci][y][x] = sum over the tiles whose 6x6 window covers (y, x) of Z = B P Bt, with P
// in p[k][ci][t] (t numbered from the chunk's first row, prow0), for the 4x4 pixel block of
// output tile t: the centre of its own Z, the edge rows and columns of its 8 neighbours' Z
// (each a 1-D transform of one row or column of their P, since the first and last rows of B
// are 4 e0 and e5) and their corners. No atomics: every pixel is written by exactly one
// work-item. p holds the tile rows from prow0 on, including the rows above and below the
// output rows where those exist.
void wino_gather_tile(global const float *p, global float *dx, const int cin, const int h,
                      const int w, const int tiles_h, const int tiles_w, const int row0,
                      const int prow0, const int ld, const int t, const int ci)
{
    const int row = row0 + t / tiles_w, tx = t % tiles_w;
    const int n = row / tiles_h, ty = row % tiles_h;
    const size_t plane = (size_t)cin * ld;
    global const float *own = p + (size_t)ci * ld + (size_t)(row - prow0) * tiles_w + tx;
    const bool up = ty > 0, down = ty + 1 < tiles_h, left = tx > 0, right = tx + 1 < tiles_w;

    float a[36], tmp[6], o[6], z[16], acc[16];
    for (int k = 0; k < 36; k++)
        a[k] = own[k * plane];
    for (int j = 0; j < 6; j++) { // columns: B P
        for (int i = 0; i < 6; i++)
            tmp[i] = a[i * 6 + j];
        WINO_B(tmp, o);
        for (int i = 0; i < 6; i++)
            a[i * 6 + j] = o[i];
    }
    for (int i = 1; i < 5; i++) { // rows 1..4: (B P) Bt, columns 1..4 kept
        WINO_B((a + i * 6), o);
        for (int j = 1; j < 5; j++)
            acc[(i - 1) * 4 + j - 1] = o[j];
    }
    for (int k = 0; k < 16; k++)
        z[k] = 0.0f;
    // Z[5][j] of the tile above = (B P[5][.])_j; Z[0][j] of the tile below = 4 (B P[0][.])_j.
    if (up) {
        global const float *q = own - tiles_w;
        for (int j = 0; j < 6; j++)
            tmp[j] = q[(30 + j) * plane];
        WINO_B(tmp, o);
        for (int j = 1; j < 5; j++)
            z[j - 1] += o[j];
    }
    if (down) {
        global const float *q = own + tiles_w;
        for (int j = 0; j < 6; j++)
            tmp[j] = q[j * plane];
        WINO_B(tmp, o);
        for (int j = 1; j < 5; j++)
            z[12 + j - 1] += 4.0f * o[j];
    }
    // Z[i][5] of the tile to the left = (B P[.][5])_i; Z[i][0] of the right one 4 (B P[.][0])_i.
    if (left) {
        global const float *q = own - 1;
        for (int i = 0; i < 6; i++)
            tmp[i] = q[(i * 6 + 5) * plane];
        WINO_B(tmp, o);
        for (int i = 1; i < 5; i++)
            z[(i - 1) * 4] += o[i];
    }
    if (right) {
        global const float *q = own + 1;
        for (int i = 0; i < 6; i++)
            tmp[i] = q[(i * 6) * plane];
        WINO_B(tmp, o);
        for (int i = 1; i < 5; i++)
            z[(i - 1) * 4 + 3] += 4.0f * o[i];
    }
    // Corners: Z[5][5] = P[5][5], Z[5][0] = 4 P[5][0], Z[0][5] = 4 P[0][5], Z[0][0] = 16 P[0][0].
    if (up && left)
        z[0] += (own - tiles_w - 1)[35 * plane];
    if (up && right)
        z[3] += 4.0f * (own - tiles_w + 1)[30 * plane];
    if (down && left)
        z[12] += 4.0f * (own + tiles_w - 1)[5 * plane];
    if (down && right)
        z[15] += 16.0f * (own + tiles_w + 1)[0];

    global float *dst = dx + ((size_t)n * cin + ci) * h * w;
    const int y0 = ty * 4, x0 = tx * 4;
    for (int i = 0; i < 4 && y0 + i < h; i++)
        for (int j = 0; j < 4 && x0 + j < w; j++)
            dst[(size_t)(y0 + i) * w + x0 + j] = acc[i * 4 + j] + z[i * 4 + j];
}

// ---------------------------------------------------------------------------------------
// The kernels: WINO_LANES consecutive tiles of one tile row per work-item, as the lanes of
// float8 vectors, so the transforms are vector arithmetic and the transformed data moves in
// contiguous float8 loads and stores. Work-items whose tiles straddle two tile rows or the
// end of the chunk use the one-tile paths above.
// ---------------------------------------------------------------------------------------

#define WINO_LANES 8

// Whether tiles t0 .. t0 + WINO_LANES - 1 of a chunk of `count` tiles are in one tile row.
bool wino_same_row(const int t0, const int count, const int tiles_w)
{
    return t0 + WINO_LANES <= count && t0 / tiles_w == (t0 + WINO_LANES - 1) / tiles_w;
}

// r[0 .. len) = row y of an h x w plane from column x0 on, zero outside it (len 32 or 34).
void wino_load_row(global const float *plane, const int y, const int x0, const int h,
                   const int w, float *r, const int len)
{
    if (y < 0 || y >= h) {
        for (int i = 0; i < len; i++)
            r[i] = 0.0f;
        return;
    }
    global const float *row = plane + (size_t)y * w;
    if (x0 >= 0 && x0 + len <= w) {
        vstore16(vload16(0, row + x0), 0, r);
        vstore16(vload16(0, row + x0 + 16), 0, r + 16);
        for (int i = 32; i < len; i++)
            r[i] = row[x0 + i];
        return;
    }
    for (int i = 0; i < len; i++) {
        const int x = x0 + i;
        r[i] = x >= 0 && x < w ? row[x] : 0.0f;
    }
}

// Column j of each lane's block in a row segment r: lane l reads r[4l + j].
float8 wino_lanes(const float *r, const int j)
{
    return (float8)(r[j], r[4 + j], r[8 + j], r[12 + j], r[16 + j], r[20 + j], r[24 + j],
                    r[28 + j]);
}

// Stores 4 pixels per lane (v0..v3 are columns 0..3 of the lanes' blocks) as the 32
// consecutive pixels of a row from column x0, those at or past w left out.
void wino_store_row(global float *row, const int x0, const int w, const float8 v0,
                    const float8 v1, const float8 v2, const float8 v3)
{
    const float8 a = (float8)(v0.s0, v1.s0, v2.s0, v3.s0, v0.s1, v1.s1, v2.s1, v3.s1);
    const float8 b = (float8)(v0.s2, v1.s2, v2.s2, v3.s2, v0.s3, v1.s3, v2.s3, v3.s3);
    const float8 c = (float8)(v0.s4, v1.s4, v2.s4, v3.s4, v0.s5, v1.s5, v2.s5, v3.s5);
    const float8 d = (float8)(v0.s6, v1.s6, v2.s6, v3.s6, v0.s7, v1.s7, v2.s7, v3.s7);
    if (x0 + 32 <= w) {
        vstore8(a, 0, row + x0);
        vstore8(b, 0, row + x0 + 8);
        vstore8(c, 0, row + x0 + 16);
        vstore8(d, 0, row + x0 + 24);
        return;
    }
    float tmp[32];
    vstore8(a, 0, tmp);
    vstore8(b, 0, tmp + 8);
    vstore8(c, 0, tmp + 16);
    vstore8(d, 0, tmp + 24);
    for (int i = 0; i < 32 && x0 + i < w; i++)
        row[x0 + i] = tmp[i];
}

// The lanes' left (right) neighbours: q[l - 1] (q[l + 1]); the one past the group is 0
// unless `have`.
float8 wino_shift_left(global const float *q, const bool have)
{
    const float8 x = vload8(0, q);
    return (float8)(have ? q[-1] : 0.0f, x.s0123, x.s456);
}

float8 wino_shift_right(global const float *q, const bool have)
{
    const float8 x = vload8(0, q);
    return (float8)(x.s123, x.s4567, have ? q[8] : 0.0f);
}

// v[k][ci][t] = (Bt d B)[k] for the 6x6 window of tile t, zero outside the image, zeros in
// the padding columns t >= rows * tiles_w. Global size: (ld / WINO_LANES, cin).
kernel void wino_input_transform(global const float *in, global float *v, const int cin,
                                 const int h, const int w, const int tiles_h, const int tiles_w,
                                 const int row0, const int rows, const int ld)
{
    const int t0 = get_global_id(0) * WINO_LANES, ci = get_global_id(1);
    if (t0 >= ld || ci >= cin)
        return;
    if (!wino_same_row(t0, rows * tiles_w, tiles_w)) {
        for (int l = 0; l < WINO_LANES && t0 + l < ld; l++)
            wino_input_tile(in, v, cin, h, w, tiles_h, tiles_w, row0, rows, ld, t0 + l, ci);
        return;
    }
    const int row = row0 + t0 / tiles_w, tx0 = t0 % tiles_w;
    const int n = row / tiles_h, ty = row % tiles_h;
    global const float *src = in + ((size_t)n * cin + ci) * h * w;
    float8 s[36], d[6], o[6];
    float r[34];
    for (int i = 0; i < 6; i++) { // rows: d B
        wino_load_row(src, ty * 4 - 1 + i, tx0 * 4 - 1, h, w, r, 34);
        for (int j = 0; j < 6; j++)
            d[j] = wino_lanes(r, j);
        WINO_BT(d, o);
        for (int j = 0; j < 6; j++)
            s[i * 6 + j] = o[j];
    }
    const size_t plane = (size_t)cin * ld;
    global float *dst = v + (size_t)ci * ld + t0;
    for (int j = 0; j < 6; j++) { // columns: Bt (d B)
        for (int i = 0; i < 6; i++)
            d[i] = s[i * 6 + j];
        WINO_BT(d, o);
        for (int i = 0; i < 6; i++)
            vstore8(o[i], 0, dst + (i * 6 + j) * plane);
    }
}

// out[n][co][y][x] for the chunk's tiles = (At m A) + bias, then max(0, .) when relu, from
// m[k][co][t]. Global size: (ceil(rows * tiles_w / WINO_LANES), cout).
kernel void wino_output_transform(global const float *m, global const float *bias,
                                  global float *out, const int cout, const int h, const int w,
                                  const int tiles_h, const int tiles_w, const int row0,
                                  const int rows, const int ld, const int use_bias,
                                  const int relu)
{
    const int t0 = get_global_id(0) * WINO_LANES, co = get_global_id(1);
    const int count = rows * tiles_w;
    if (t0 >= count || co >= cout)
        return;
    if (!wino_same_row(t0, count, tiles_w)) {
        for (int l = 0; l < WINO_LANES && t0 + l < count; l++)
            wino_output_tile(m, bias, out, cout, h, w, tiles_h, tiles_w, row0, ld, use_bias,
                             relu, t0 + l, co);
        return;
    }
    const size_t plane = (size_t)cout * ld;
    global const float *src = m + (size_t)co * ld + t0;
    float8 r[24], a[6], o[4];
    for (int j = 0; j < 6; j++) { // columns: At m
        for (int i = 0; i < 6; i++)
            a[i] = vload8(0, src + (i * 6 + j) * plane);
        WINO_AT(float8, a, o);
        for (int i = 0; i < 4; i++)
            r[i * 6 + j] = o[i];
    }
    const int row = row0 + t0 / tiles_w, tx0 = t0 % tiles_w;
    const int n = row / tiles_h, ty = row % tiles_h;
    const float8 b = (float8)(use_bias ? bias[co] : 0.0f);
    global float *dst = out + ((size_t)n * cout + co) * h * w;
    for (int i = 0; i < 4 && ty * 4 + i < h; i++) { // rows: (At m) A
        WINO_AT(float8, (r + i * 6), o);
        for (int j = 0; j < 4; j++) {
            o[j] += b;
            if (relu)
                o[j] = fmax(o[j], (float8)(0.0f));
        }
        wino_store_row(dst + (size_t)(ty * 4 + i) * w, tx0 * 4, w, o[0], o[1], o[2], o[3]);
    }
}

// d[k][co][t] = (A dy At)[k] for the 4x4 output tile t of dy (zero outside the image); zeros
// in the padding columns. Global size: (ld / WINO_LANES, cout).
kernel void wino_grad_transform(global const float *dy, global float *d, const int cout,
                                const int h, const int w, const int tiles_h, const int tiles_w,
                                const int row0, const int rows, const int ld)
{
    const int t0 = get_global_id(0) * WINO_LANES, co = get_global_id(1);
    if (t0 >= ld || co >= cout)
        return;
    if (!wino_same_row(t0, rows * tiles_w, tiles_w)) {
        for (int l = 0; l < WINO_LANES && t0 + l < ld; l++)
            wino_grad_tile(dy, d, cout, h, w, tiles_h, tiles_w, row0, rows, ld, t0 + l, co);
        return;
    }
    const int row = row0 + t0 / tiles_w, tx0 = t0 % tiles_w;
    const int n = row / tiles_h, ty = row % tiles_h;
    global const float *src = dy + ((size_t)n * cout + co) * h * w;
    float8 s[24], g[4], o[6];
    float r[32];
    for (int i = 0; i < 4; i++) { // rows: dy At
        wino_load_row(src, ty * 4 + i, tx0 * 4, h, w, r, 32);
        for (int j = 0; j < 4; j++)
            g[j] = wino_lanes(r, j);
        WINO_A(float8, g, o);
        for (int j = 0; j < 6; j++)
            s[i * 6 + j] = o[j];
    }
    const size_t plane = (size_t)cout * ld;
    global float *dst = d + (size_t)co * ld + t0;
    for (int j = 0; j < 6; j++) { // columns: A (dy At)
        for (int i = 0; i < 4; i++)
            g[i] = s[i * 6 + j];
        WINO_A(float8, g, o);
        for (int i = 0; i < 6; i++)
            vstore8(o[i], 0, dst + (i * 6 + j) * plane);
    }
}

// dx for the 4x4 pixel blocks of the output tile rows row0 .. row0 + rows - 1, as
// wino_gather_tile. Global size: (ceil(rows * tiles_w / WINO_LANES), cin).
kernel void wino_grad_gather(global const float *p, global float *dx, const int cin,
                             const int h, const int w, const int tiles_h, const int tiles_w,
                             const int row0, const int rows, const int prow0, const int ld)
{
    const int t0 = get_global_id(0) * WINO_LANES, ci = get_global_id(1);
    const int count = rows * tiles_w;
    if (t0 >= count || ci >= cin)
        return;
    if (!wino_same_row(t0, count, tiles_w)) {
        for (int l = 0; l < WINO_LANES && t0 + l < count; l++)
            wino_gather_tile(p, dx, cin, h, w, tiles_h, tiles_w, row0, prow0, ld, t0 + l, ci);
        return;
    }
    const int row = row0 + t0 / tiles_w, tx0 = t0 % tiles_w;
    const int n = row / tiles_h, ty = row % tiles_h;
    const size_t plane = (size_t)cin * ld;
    global const float *own = p + (size_t)ci * ld + (size_t)(row - prow0) * tiles_w + tx0;
    const bool up = ty > 0, down = ty + 1 < tiles_h;
    const bool left = tx0 > 0, right = tx0 + WINO_LANES < tiles_w;

    float8 a[36], c[6], o[6], z[16];
    for (int j = 0; j < 6; j++) { // columns: B P
        for (int i = 0; i < 6; i++)
            c[i] = vload8(0, own + (i * 6 + j) * plane);
        WINO_B(c, o);
        for (int i = 0; i < 6; i++)
            a[i * 6 + j] = o[i];
    }
    for (int i = 1; i < 5; i++) { // rows 1..4: (B P) Bt, columns 1..4 kept
        WINO_B((a + i * 6), o);
        for (int j = 1; j < 5; j++)
            z[(i - 1) * 4 + j - 1] = o[j];
    }
    if (up) { // Z[5][j] of the tile above = (B P[5][.])_j
        for (int j = 0; j < 6; j++)
            c[j] = vload8(0, own - tiles_w + (30 + j) * plane);
        WINO_B(c, o);
        for (int j = 1; j < 5; j++)
            z[j - 1] += o[j];
    }
    if (down) { // Z[0][j] of the tile below = 4 (B P[0][.])_j
        for (int j = 0; j < 6; j++)
            c[j] = vload8(0, own + tiles_w + j * plane);
        WINO_B(c, o);
        for (int j = 1; j < 5; j++)
            z[12 + j - 1] += 4.0f * o[j];
    }
    // Z[i][5] of the tile to the left = (B P[.][5])_i; Z[i][0] of the right one 4 (B P[.][0])_i.
    for (int i = 0; i < 6; i++)
        c[i] = wino_shift_left(own + (i * 6 + 5) * plane, left);
    WINO_B(c, o);
    for (int i = 1; i < 5; i++)
        z[(i - 1) * 4] += o[i];
    for (int i = 0; i < 6; i++)
        c[i] = wino_shift_right(own + (i * 6) * plane, right);
    WINO_B(c, o);
    for (int i = 1; i < 5; i++)
        z[(i - 1) * 4 + 3] += 4.0f * o[i];
    // Corners: Z[5][5] = P[5][5], Z[5][0] = 4 P[5][0], Z[0][5] = 4 P[0][5], Z[0][0] = 16 P[0][0].
    if (up) {
        z[0] += wino_shift_left(own - tiles_w + 35 * plane, left);
        z[3] += 4.0f * wino_shift_right(own - tiles_w + 30 * plane, right);
    }
    if (down) {
        z[12] += 4.0f * wino_shift_left(own + tiles_w + 5 * plane, left);
        z[15] += 16.0f * wino_shift_right(own + tiles_w, right);
    }

    global float *dst = dx + ((size_t)n * cin + ci) * h * w;
    for (int i = 0; i < 4 && ty * 4 + i < h; i++)
        wino_store_row(dst + (size_t)(ty * 4 + i) * w, tx0 * 4, w, z[i * 4], z[i * 4 + 1],
                       z[i * 4 + 2], z[i * 4 + 3]);
}

// c[k][m][n] = sum over p of op(a)[k][m][p] * b[k][p][n] for k < 36: the Winograd channel
// mixing. op(a) = a[k] ([rows_m][depth], row-major) or, with trans_a, a[k] transposed
// (a[k] is [depth][rows_m]). Each work-item computes WINO_GEMM_ROWS rows by V float16 of
// columns, in passes of P rows over the whole depth: each float16 of b loaded is used P
// times, each a value (a broadcast scalar) V times, and a pass's P x V accumulators stay in
// registers. Two kernels, chosen by the host from the device's vector width:
//   wino_gemm       V = 1, P = WINO_GEMM_PASS (6 float16 are 12 of AVX2's 16 registers; all
//                   16 rows at once spilled to memory)
//   wino_gemm_wide  V = 2, P = WINO_GEMM_WIDE_PASS (for 16-lane devices, AVX-512: 24 of its
//                   32 registers, and each broadcast feeds two multiply-adds)
// b and c have ld columns, a multiple of 16 V. The rows of a pass are written out
// (WINO_GEMM_EACH_ROW), each accumulator a named variable, since PoCL does not reliably
// unroll a loop over them and then keeps an array in memory; products are added as
// a * b + c, contracted to fused multiply-adds (see the pragma).
// Global size: (ld / (16 V), ceil(rows_m / WINO_GEMM_ROWS), 36).
#ifndef WINO_GEMM_PASS
#define WINO_GEMM_PASS 6
#endif
#ifndef WINO_GEMM_WIDE_PASS
#define WINO_GEMM_WIDE_PASS 12
#endif
#ifndef WINO_GEMM_LANE_ROWS
#define WINO_GEMM_LANE_ROWS 8
#endif
#if WINO_GEMM_PASS > 16 || WINO_GEMM_WIDE_PASS > 16 || WINO_GEMM_LANE_ROWS > 16
#error "wino_gemm writes out at most 16 rows a pass"
#endif
#define WINO_GEMM_EACH_ROW(STEP)                                                                   \
    STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9) STEP(10)       \
    STEP(11) STEP(12) STEP(13) STEP(14) STEP(15)
#define WINO_GEMM_ZERO(r) float16 acc_##r = (float16)(0.0f), acc2_##r = (float16)(0.0f);
#define WINO_GEMM_MADD(r)                                                                          \
    if ((r) < N) {                                                                                 \
        const float16 av = (float16)(aq[min(r, last) * row_step]);                                 \
        acc_##r = av * bv + acc_##r;                                                               \
        if (V == 2)                                                                                \
            acc2_##r = av * bv2 + acc2_##r;                                                        \
    }
#define WINO_GEMM_STORE(r)                                                                         \
    if ((r) < N && (r) <= last) {                                                                  \
        vstore16(acc_##r, 0, cp + (size_t)(r)*ld);                                                 \
        if (V == 2)                                                                                \
            vstore16(acc2_##r, 1, cp + (size_t)(r)*ld);                                            \
    }

// Rows 0 .. last of one pass (a and c from ap and cp on): N rows by V float16 computed, both
// compile-time constants; rows past last compute on row last and are not stored.
static inline __attribute__((always_inline)) void
wino_gemm_pass(global const float *ap, global const float *bk, global float *cp,
               const int depth, const int ld, const size_t row_step, const size_t depth_step,
               const int last, const int N, const int V)
{
    WINO_GEMM_EACH_ROW(WINO_GEMM_ZERO)
    for (int q = 0; q < depth; q++) {
        const float16 bv = vload16(0, bk + (size_t)q * ld);
        const float16 bv2 = V == 2 ? vload16(1, bk + (size_t)q * ld) : bv;
        global const float *aq = ap + q * depth_step;
        WINO_GEMM_EACH_ROW(WINO_GEMM_MADD)
    }
    WINO_GEMM_EACH_ROW(WINO_GEMM_STORE)
}

// One work-item's WINO_GEMM_ROWS x 16 V block, in passes of P rows.
static inline __attribute__((always_inline)) void
wino_gemm_block(global const float *a, global const float *b, global float *c, const int rows_m,
                const int depth, const int ld, const int trans_a, const int P, const int V)
{
    const int n0 = get_global_id(0) * 16 * V;
    const int m0 = get_global_id(1) * WINO_GEMM_ROWS;
    const int k = get_global_id(2);
    if (n0 >= ld || m0 >= rows_m)
        return;
    global const float *bk = b + (size_t)k * depth * ld + n0;
    const size_t row_step = trans_a ? 1 : depth, depth_step = trans_a ? rows_m : 1;
    global const float *ak = a + (size_t)k * rows_m * depth;
    global float *ck = c + (size_t)k * rows_m * ld + n0;
    const int rows = min(WINO_GEMM_ROWS, rows_m - m0); // of this work-item
    int m = m0;
    for (; m + P <= m0 + rows; m += P)
        wino_gemm_pass(ak + m * row_step, bk, ck + (size_t)m * ld, depth, ld, row_step,
                       depth_step, P - 1, P, V);
    const int left = m0 + rows - m, rest = WINO_GEMM_ROWS % P;
    if (rest > 0 && left == rest) // the block's last rows, fewer than a pass
        wino_gemm_pass(ak + m * row_step, bk, ck + (size_t)m * ld, depth, ld, row_step,
                       depth_step, rest - 1, rest, V);
    else if (left > 0) // the last rows of the matrix
        wino_gemm_pass(ak + m * row_step, bk, ck + (size_t)m * ld, depth, ld, row_step,
                       depth_step, left - 1, P, V);
}

kernel void wino_gemm(global const float *a, global const float *b, global float *c,
                      const int rows_m, const int depth, const int ld, const int trans_a)
{
    wino_gemm_block(a, b, c, rows_m, depth, ld, trans_a, WINO_GEMM_PASS, 1);
}

kernel void wino_gemm_wide(global const float *a, global const float *b, global float *c,
                           const int rows_m, const int depth, const int ld, const int trans_a)
{
    wino_gemm_block(a, b, c, rows_m, depth, ld, trans_a, WINO_GEMM_WIDE_PASS, 2);
}

// The same product for devices that run work-items as SIMD lanes (GPUs; rusticl's llvmpipe):
// one column and WINO_GEMM_LANE_ROWS rows a work-item in scalar accumulators, so
// neighbouring work-items read neighbouring floats of b and the same float of a. The host
// picks it where the device's native float vector width is 1.
// Global size: (ld, ceil(rows_m / WINO_GEMM_LANE_ROWS), 36).
#define WINO_LANE_ZERO(r) float acc_##r = 0.0f;
#define WINO_LANE_MADD(r)                                                                          \
    if ((r) < WINO_GEMM_LANE_ROWS)                                                                 \
        acc_##r = aq[min(r, last) * row_step] * bv + acc_##r;
#define WINO_LANE_STORE(r)                                                                         \
    if ((r) < WINO_GEMM_LANE_ROWS && (r) <= last)                                                  \
        cp[(size_t)(r)*ld] = acc_##r;
kernel void wino_gemm_lanes(global const float *a, global const float *b, global float *c,
                            const int rows_m, const int depth, const int ld, const int trans_a)
{
    const int n = get_global_id(0);
    const int m0 = get_global_id(1) * WINO_GEMM_LANE_ROWS;
    const int k = get_global_id(2);
    if (n >= ld || m0 >= rows_m)
        return;
    const size_t row_step = trans_a ? 1 : depth, depth_step = trans_a ? rows_m : 1;
    global const float *ap = a + (size_t)k * rows_m * depth + m0 * row_step;
    global const float *bk = b + (size_t)k * depth * ld + n;
    global float *cp = c + ((size_t)k * rows_m + m0) * ld + n;
    const int last = min(WINO_GEMM_LANE_ROWS, rows_m - m0) - 1;
    WINO_GEMM_EACH_ROW(WINO_LANE_ZERO)
    for (int q = 0; q < depth; q++) {
        const float bv = bk[(size_t)q * ld];
        global const float *aq = ap + q * depth_step;
        WINO_GEMM_EACH_ROW(WINO_LANE_MADD)
    }
    WINO_GEMM_EACH_ROW(WINO_LANE_STORE)
}
