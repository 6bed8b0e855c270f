// Reflection padding (torch.nn.ReflectionPad2d) of an input upsampled by an integer factor
// with nearest-neighbour sampling (torch.nn.Upsample(mode="nearest")), in one pass so the
// upsampled image is never stored. A scale of 1 is plain reflection padding.

// i reflected into 0 .. len - 1 without repeating the edge: -1 -> 1, len -> len - 2. The
// launcher guarantees -len < i < 2 len - 1 (pad < len), so one reflection is enough.
int pad_reflect_index(int i, int len)
{
    if (i < 0)
        return -i;
    if (i >= len)
        return 2 * len - 2 - i;
    return i;
}

// out[p][y][x] = in[p][r(y - pad, h * scale) / scale][r(x - pad, w * scale) / scale] for
// every plane p of n * c, the input planes h x w, the output (h * scale + 2 pad) x
// (w * scale + 2 pad). Global size: (out_w, out_h, n * c).
kernel void pad_reflect(global const float *in, global float *out, const int h, const int w,
                        const int scale, const int pad)
{
    const int out_w = w * scale + 2 * pad, out_h = h * scale + 2 * pad;
    const int x = get_global_id(0), y = get_global_id(1), p = get_global_id(2);
    if (x >= out_w || y >= out_h)
        return;
    const int sy = pad_reflect_index(y - pad, h * scale) / scale;
    const int sx = pad_reflect_index(x - pad, w * scale) / scale;
    out[((size_t)p * out_h + y) * out_w + x] = in[((size_t)p * h + sy) * w + sx];
}

// The padded (and upsampled) rows or columns that read upsampled index u of a side len
// padded by pad (pad < len): u + pad itself, and its reflections about the first element
// (index -u, when 1 <= u <= pad) and the last (index 2 len - 2 - u, when
// len - 1 - pad <= u <= len - 2). Returns how many (1 to 3), in increasing order.
int pad_reflect_readers(const int u, const int len, const int pad, int *at)
{
    int n = 0;
    if (u >= 1 && u <= pad)
        at[n++] = pad - u;
    at[n++] = pad + u;
    if (u <= len - 2 && u >= len - 1 - pad)
        at[n++] = pad + 2 * len - 2 - u;
    return n;
}

// grad_in[p][y][x] = the sum of grad_out[p][oy][ox] over every output position that
// pad_reflect filled from in[p][y][x]: the scale x scale upsampled copies of the pixel and
// their reflections, a gather in a fixed order (no atomics). Global size: (w, h, n * c).
kernel void pad_reflect_backward(global const float *grad_out, global float *grad_in, const int h,
                                 const int w, const int scale, const int pad)
{
    const int out_w = w * scale + 2 * pad, out_h = h * scale + 2 * pad;
    const int x = get_global_id(0), y = get_global_id(1), p = get_global_id(2);
    if (x >= w || y >= h)
        return;
    global const float *plane = grad_out + (size_t)p * out_h * out_w;
    float sum = 0.0f;
    for (int j = 0; j < scale; j++) {
        int rows[3];
        const int nr = pad_reflect_readers(scale * y + j, h * scale, pad, rows);
        for (int r = 0; r < nr; r++) {
            global const float *row = plane + (size_t)rows[r] * out_w;
            for (int i = 0; i < scale; i++) {
                int cols[3];
                const int nc = pad_reflect_readers(scale * x + i, w * scale, pad, cols);
                for (int c = 0; c < nc; c++)
                    sum += row[cols[c]];
            }
        }
    }
    grad_in[((size_t)p * h + y) * w + x] = sum;
}
