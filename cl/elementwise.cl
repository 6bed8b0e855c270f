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

// s = a + a^T for the c x c matrix starting at a[offset] (the Gram backward pass).
// Global size: (c, c).
kernel void symmetrize(global const float *a, const uint offset, global float *s, const uint c)
{
    const uint col = get_global_id(0), row = get_global_id(1);
    if (col < c && row < c)
        s[row * c + col] = a[offset + row * c + col] + a[offset + col * c + row];
}

// out[out_offset + i] = sum over p < parts of partial[p * stride + i], for i < n: the
// split-K Gram matrix's partial products added up.
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
