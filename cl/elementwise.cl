// Elementwise helpers that CLBlast has no routine for.

// y = clamp(y + a * x, lo, hi): an optimiser step that keeps pixels in range.
kernel void axpy_clamp(global float *y, global const float *x, const float a, const float lo,
                       const float hi, const uint n)
{
    const uint i = get_global_id(0);
    if (i < n)
        y[i] = clamp(y[i] + a * x[i], lo, hi);
}

// x[.][c][.][.] += values[c] for up to four channels of planes of `plane` elements:
// adding or removing the ImageNet mean of an RGB image.
kernel void add_channel_values(global float *x, const float4 values, const uint channels,
                               const uint plane, const uint n)
{
    const uint i = get_global_id(0);
    if (i >= n)
        return;
    const uint c = (i / plane) % channels;
    const float v = c == 0 ? values.x : c == 1 ? values.y : c == 2 ? values.z : values.w;
    x[i] += v;
}

// out[.][c][.][.] = x[.][c][.][.] * scale[c] + shift[c] for up to four channels: an RGB
// batch normalised as a network was trained (x / 255 - mean) / std, and its gradient back.
kernel void scale_shift_channels(global const float *x, global float *out, const float4 scale,
                                 const float4 shift, const uint channels, const uint plane,
                                 const uint n)
{
    const uint i = get_global_id(0);
    if (i >= n)
        return;
    const uint c = (i / plane) % channels;
    const float a = c == 0 ? scale.x : c == 1 ? scale.y : c == 2 ? scale.z : scale.w;
    const float b = c == 0 ? shift.x : c == 1 ? shift.y : c == 2 ? shift.z : shift.w;
    out[i] = x[i] * a + b;
}

// out[i] = x[i] * mask[i % plane], or out[i] += that when accumulate: a weight per pixel
// over every channel plane (the guided Gram matrices and masked content loss).
kernel void mask_planes(global const float *x, global const float *mask, const uint plane,
                        const uint accumulate, global float *out, const uint n)
{
    const uint i = get_global_id(0);
    if (i >= n)
        return;
    const float v = x[i] * mask[i % plane];
    out[i] = accumulate ? out[i] + v : v;
}

// A window of every plane: out[k][oy + y][ox + x] = (or +=) in[k][iy + y][ix + x] for y < h,
// x < w and n = planes * h * w; in's planes are in_h x in_w, out's out_h x out_w. Crops a
// tile from an image, writes a tile's own part into a whole, adds a tile's gradient in.
kernel void copy_window(global const float *in, const int in_h, const int in_w, const int iy,
                        const int ix, global float *out, const int out_h, const int out_w,
                        const int oy, const int ox, const int h, const int w,
                        const uint accumulate, const uint n)
{
    const uint i = get_global_id(0);
    if (i >= n)
        return;
    const int x = (int)(i % (uint)w), y = (int)((i / (uint)w) % (uint)h);
    const int k = (int)(i / ((uint)w * (uint)h));
    const size_t src = ((size_t)k * in_h + iy + y) * in_w + ix + x;
    const size_t dst = ((size_t)k * out_h + oy + y) * out_w + ox + x;
    out[dst] = accumulate ? out[dst] + in[src] : in[src];
}
