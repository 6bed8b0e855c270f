// Optimiser updates that are one pass over the vectors.

// One Adam step (torch.optim.Adam without weight decay or amsgrad):
//   m = lerp(m, g, 1 - beta1), v = beta2 v + (1 - beta2) g^2,
//   x -= step_size * m / (sqrt(v) / bias_correction2_sqrt + eps).
kernel void adam_step(global float *x, global const float *g, global float *m, global float *v,
                      const float step_size, const float beta1, const float beta2,
                      const float eps, const float bias_correction2_sqrt, const uint n)
{
    const uint i = get_global_id(0);
    if (i >= n)
        return;
    const float grad = g[i];
    const float mi = m[i] + (1.0f - beta1) * (grad - m[i]);
    const float vi = beta2 * v[i] + (1.0f - beta2) * grad * grad;
    m[i] = mi;
    v[i] = vi;
    x[i] -= step_size * mi / (sqrt(vi) / bias_correction2_sqrt + eps);
}

// partial[g] = sum of a[i] * b[i] over i = g, g + G, g + 2G, ... (G: the global size), for
// the host to add up in double: one launch and a small read per dot product, where CLBlast's
// two-kernel Xdot took milliseconds on CPU devices. Neighbouring work-items read neighbouring
// elements (coalesced on GPUs).
kernel void dot_partials(global const float *a, global const float *b, const uint n,
                         global float *partial)
{
    const uint g = get_global_id(0), stride = get_global_size(0);
    float s = 0.0f;
    for (uint i = g; i < n; i += stride)
        s = fma(a[i], b[i], s);
    partial[g] = s;
}

// The same over contiguous blocks of `block` elements per work-item, with float8 loads:
// what CPUs read fastest.
kernel void dot_partials_block(global const float *a, global const float *b, const uint n,
                               const uint block, global float *partial)
{
    const uint g = get_global_id(0);
    const uint start = g * block, end = min(n, start + block);
    float8 s8 = 0.0f;
    uint i = start;
    for (; i + 8 <= end; i += 8)
        s8 = fma(vload8(0, a + i), vload8(0, b + i), s8);
    float s = s8.s0 + s8.s1 + s8.s2 + s8.s3 + s8.s4 + s8.s5 + s8.s6 + s8.s7;
    for (; i < end; i++)
        s = fma(a[i], b[i], s);
    partial[g] = s;
}

// The larger of s and |x|, NaN if either is: a NaN in a gradient must not pass for a small
// norm (fmax would drop it).
static inline float abs_max(const float s, const float x)
{
    const float ax = fabs(x);
    return isnan(ax) || ax > s ? ax : s;
}

static inline float8 abs_max8(const float8 s, const float8 x)
{
    const float8 ax = fabs(x);
    return select(s, ax, isnan(ax) || ax > s);
}

// partial[g] = the sum (want_max 0) or the largest (want_max 1) of |a[i]| over the elements
// of dot_partials, for the host to finish: the L1 and max norms of L-BFGS's vectors. Their
// own kernels rather than CLBlast's Xasum and Xamax: those are two more programs to compile
// on a fresh cache (1.6 s of a first run on 2 CPU cores), for one call each an iteration.
kernel void abs_partials(global const float *a, const uint n, const int want_max,
                         global float *partial)
{
    const uint g = get_global_id(0), stride = get_global_size(0);
    float s = 0.0f;
    for (uint i = g; i < n; i += stride)
        s = want_max ? abs_max(s, a[i]) : s + fabs(a[i]);
    partial[g] = s;
}

// The same over contiguous blocks of `block` elements per work-item (dot_partials_block).
kernel void abs_partials_block(global const float *a, const uint n, const uint block,
                               const int want_max, global float *partial)
{
    const uint g = get_global_id(0);
    const uint start = g * block, end = min(n, start + block);
    float8 s8 = 0.0f;
    uint i = start;
    for (; i + 8 <= end; i += 8)
        s8 = want_max ? abs_max8(s8, vload8(0, a + i)) : s8 + fabs(vload8(0, a + i));
    float s = 0.0f;
    if (want_max) {
        const float lanes[8] = {s8.s0, s8.s1, s8.s2, s8.s3, s8.s4, s8.s5, s8.s6, s8.s7};
        for (int k = 0; k < 8; k++)
            s = abs_max(s, lanes[k]);
    } else {
        s = s8.s0 + s8.s1 + s8.s2 + s8.s3 + s8.s4 + s8.s5 + s8.s6 + s8.s7;
    }
    for (; i < end; i++)
        s = want_max ? abs_max(s, a[i]) : s + fabs(a[i]);
    partial[g] = s;
}

// y = a * x + y, and partial[g] the dot product of z with the new y over the elements of
// dot_partials: the update and the next dot product of the L-BFGS two-loop recursion in
// one pass over y (its dots are dot_partials' exactly; the update is a * x + y, contracted to
// a fused multiply-add where the device has one).
kernel void axpy_dot_partials(global float *y, global const float *x, const float a,
                              global const float *z, const uint n, global float *partial)
{
    const uint g = get_global_id(0), stride = get_global_size(0);
    float s = 0.0f;
    for (uint i = g; i < n; i += stride) {
        const float yi = a * x[i] + y[i];
        y[i] = yi;
        s = fma(z[i], yi, s);
    }
    partial[g] = s;
}

// The same over the blocks of dot_partials_block.
kernel void axpy_dot_partials_block(global float *y, global const float *x, const float a,
                                    global const float *z, const uint n, const uint block,
                                    global float *partial)
{
    const uint g = get_global_id(0);
    const uint start = g * block, end = min(n, start + block);
    float8 s8 = 0.0f;
    uint i = start;
    for (; i + 8 <= end; i += 8) {
        const float8 yv = a * vload8(0, x + i) + vload8(0, y + i);
        vstore8(yv, 0, y + i);
        s8 = fma(vload8(0, z + i), yv, s8);
    }
    float s = s8.s0 + s8.s1 + s8.s2 + s8.s3 + s8.s4 + s8.s5 + s8.s6 + s8.s7;
    for (; i < end; i++) {
        const float yi = a * x[i] + y[i];
        y[i] = yi;
        s = fma(z[i], yi, s);
    }
    partial[g] = s;
}
