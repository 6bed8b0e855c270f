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

// One work-item per 2x2 window: it reads the window once and writes its four gradients (the
// window's largest input gets the output's gradient, the others 0; a quarter each when
// average). Work-items past the last window write the zero gradient of an odd last column
// (ox == w / 2) or row (oy == h / 2). A work-item per input element, each reading its whole
// window, took 2-3 times as long on PoCL.
// Global size: ((w + 1) / 2, (h + 1) / 2, n * c).
kernel void pool2x2_backward(global const float *in, global const float *grad_out,
                             global float *grad_in, const int h, const int w,
                             const int average)
{
    const int ox = get_global_id(0), oy = get_global_id(1), plane = get_global_id(2);
    const int oh = h / 2, ow = w / 2, x = 2 * ox, y = 2 * oy;
    if (x >= w || y >= h)
        return;
    global float *g = grad_in + (size_t)plane * h * w + (size_t)y * w + x;
    if (ox == ow || oy == oh) { // the odd last column or row: no window covers it
        g[0] = 0.0f;
        if (ox < ow)
            g[1] = 0.0f;
        if (oy < oh)
            g[w] = 0.0f;
        return;
    }
    const float up = grad_out[(size_t)plane * oh * ow + (size_t)oy * ow + ox];
    if (average) {
        const float q = up * 0.25f;
        g[0] = g[1] = g[w] = g[w + 1] = q;
        return;
    }
    global const float *p = in + (size_t)plane * h * w + (size_t)y * w + x;
    const int k = pool_argmax(p[0], p[1], p[w], p[w + 1]);
    g[0] = k == 0 ? up : 0.0f;
    g[1] = k == 1 ? up : 0.0f;
    g[w] = k == 2 ? up : 0.0f;
    g[w + 1] = k == 3 ? up : 0.0f;
}
