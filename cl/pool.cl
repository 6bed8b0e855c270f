// 2x2 pooling with stride 2, max or average, PyTorch floor mode: an odd last row or
// column of the input is dropped (and gets zero gradient).

// The position (0..3, scan order) of the largest of four values; ties go to the first,
// as PyTorch does.
int pool_argmax(float a, float b, float c, float d)
{
    int best = 0;
    float m = a;
    if (b > m) {
        best = 1;
        m = b;
    }
    if (c > m) {
        best = 2;
        m = c;
    }
    if (d > m)
        best = 3;
    return best;
}

// Global size: (w / 2, h / 2, n * c) over outputs.
kernel void pool2x2_forward(global const float *in, global float *out, const int h,
                            const int w, const int average)
{
    const int ox = get_global_id(0), oy = get_global_id(1), plane = get_global_id(2);
    const int oh = h / 2, ow = w / 2;
    if (ox >= ow || oy >= oh)
        return;
    global const float *p = in + (size_t)plane * h * w + (size_t)(2 * oy) * w + 2 * ox;
    const float a = p[0], b = p[1], c = p[w], d = p[w + 1];
    float value;
    if (average)
        value = (a + b + c + d) * 0.25f;
    else
        value = fmax(fmax(a, b), fmax(c, d));
    out[(size_t)plane * oh * ow + (size_t)oy * ow + ox] = value;
}

// Gathers, one work-item per input element, so no two work-items write the same place.
// Global size: (w, h, n * c) over inputs.
kernel void pool2x2_backward(global const float *in, global const float *grad_out,
                             global float *grad_in, const int h, const int w,
                             const int average)
{
    const int x = get_global_id(0), y = get_global_id(1), plane = get_global_id(2);
    if (x >= w || y >= h)
        return;
    const int oh = h / 2, ow = w / 2, ox = x / 2, oy = y / 2;
    float g = 0.0f;
    if (ox < ow && oy < oh) {
        const float up = grad_out[(size_t)plane * oh * ow + (size_t)oy * ow + ox];
        if (average) {
            g = up * 0.25f;
        } else {
            global const float *p =
                in + (size_t)plane * h * w + (size_t)(2 * oy) * w + 2 * ox;
            const int mine = (y - 2 * oy) * 2 + (x - 2 * ox);
            g = pool_argmax(p[0], p[1], p[w], p[w + 1]) == mine ? up : 0.0f;
        }
    }
    grad_in[(size_t)plane * h * w + (size_t)y * w + x] = g;
}
