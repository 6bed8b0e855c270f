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
