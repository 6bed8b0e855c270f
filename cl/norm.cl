// Instance normalisation (torch.nn.InstanceNorm2d, affine, no running statistics) with an
// optional ReLU and residual add fused into the output pass.
//
// Each (n, c) plane's h x w region, read as one run of h * w indices (row by row), is split
// into `parts` equal ranges, one work-group of REDUCE_GROUP work-items each. A work-item
// finds the count, mean and sum of squared deviations (M2) of its elements (two passes over
// its share: the mean, then the deviations from it); the work-group and
// then the plane's parts merge those with Chan's formula in a fixed order, so results do not
// depend on timing. With one part the output pass follows in the same kernel (the plane is
// still in cache); with more, instance_norm_stats writes every part's (mean, M2) first.
//
// `blocked`: each work-item takes one contiguous block of its group's range, read with
// float8 loads (CPUs: vectorised, prefetched); otherwise every REDUCE_GROUP-th element
// (GPUs: neighbouring work-items read neighbouring floats).

#ifndef REDUCE_GROUP
#define REDUCE_GROUP 64
#endif

// Count, mean and sum of squared deviations from the mean of some values.
typedef struct norm_stats {
    float n, mean, m2;
} norm_stats;

// The statistics of the union of a and b (Chan, Golub and LeVeque).
norm_stats norm_merge(const norm_stats a, const norm_stats b)
{
    if (b.n == 0.0f)
        return a;
    if (a.n == 0.0f)
        return b;
    const float n = a.n + b.n, f = b.n / n, delta = b.mean - a.mean;
    const norm_stats s = {n, mad(delta, f, a.mean), a.m2 + b.m2 + delta * delta * a.n * f};
    return s;
}

// The statistics of count values from the sums s1 and s2 of (x - k) and (x - k)^2.
norm_stats norm_from_sums(const float count, const float k, const float s1, const float s2)
{
    if (count == 0.0f) {
        const norm_stats none = {0.0f, 0.0f, 0.0f};
        return none;
    }
    const float d = s1 / count;
    const norm_stats s = {count, k + d, fmax(s2 - s1 * d, 0.0f)};
    return s;
}

// Merges every work-item's statistics in a fixed tree; the result goes to every work-item.
// The leading barrier lets a group reuse the local arrays right after an earlier call.
norm_stats norm_group_merge(local float *ln, local float *lmean, local float *lm2,
                            const norm_stats s)
{
    const int lid = get_local_id(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    ln[lid] = s.n;
    lmean[lid] = s.mean;
    lm2[lid] = s.m2;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = REDUCE_GROUP / 2; stride > 0; stride /= 2) {
        if (lid < stride) {
            const norm_stats a = {ln[lid], lmean[lid], lm2[lid]};
            const norm_stats b = {ln[lid + stride], lmean[lid + stride], lm2[lid + stride]};
            const norm_stats m = norm_merge(a, b);
            ln[lid] = m.n;
            lmean[lid] = m.mean;
            lm2[lid] = m.m2;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const norm_stats all = {ln[0], lmean[0], lm2[0]};
    return all;
}

// Start (inclusive) of part `part` of `parts` over count indices.
int norm_part_start(const int count, const int part, const int parts)
{
    return (int)((long)count * part / parts);
}

// This work-item's indices of the range [start, end): a contiguous block (blocked, a
// multiple of 8 long) or, when not blocked, every REDUCE_GROUP-th index from *first.
void norm_item_range(const int start, const int end, const int blocked, int *first, int *last)
{
    const int lid = get_local_id(0);
    if (!blocked) {
        *first = start + lid;
        *last = end;
        return;
    }
    const long block = ((long)(end - start) + 8 * REDUCE_GROUP - 1) / (8 * REDUCE_GROUP) * 8;
    *first = (int)min((long)end, start + block * lid);
    *last = (int)min((long)end, start + block * (lid + 1));
}

// The address of region index i (row-major over the h x w region at (y0, x0)).
global const float *norm_at(global const float *plane, const int i, const int w,
                            const int plane_w, const int y0, const int x0)
{
    const int y = i / w;
    return plane + (size_t)(y0 + y) * plane_w + x0 + (i - y * w);
}

// The sums of (x - k) and (x - k)^2 over this work-item's indices first .. last - 1.
void norm_item_sums(global const float *plane, const int w, const int plane_w, const int y0,
                    const int x0, const int first, const int last, const int blocked,
                    const float k, float *sum1, float *sum2)
{
    if (!blocked) {
        float s1 = 0.0f, s2 = 0.0f;
        for (int i = first; i < last; i += REDUCE_GROUP) {
            const float d = *norm_at(plane, i, w, plane_w, y0, x0) - k;
            s1 += d;
            s2 = mad(d, d, s2);
        }
        *sum1 = s1;
        *sum2 = s2;
        return;
    }
    float8 s1 = 0.0f, s2 = 0.0f;
    float t1 = 0.0f, t2 = 0.0f;
    for (int i = first; i < last;) {
        // One run along a row of the region.
        const int x = i % w, len = min(w - x, last - i);
        global const float *run = norm_at(plane, i, w, plane_w, y0, x0);
        int j = 0;
        for (; j + 8 <= len; j += 8) {
            const float8 d = vload8(0, run + j) - k;
            s1 += d;
            s2 = mad(d, d, s2);
        }
        for (; j < len; j++) {
            const float d = run[j] - k;
            t1 += d;
            t2 = mad(d, d, t2);
        }
        i += len;
    }
    const float4 a1 = s1.lo + s1.hi, a2 = s2.lo + s2.hi;
    const float2 b1 = a1.lo + a1.hi, b2 = a2.lo + a2.hi;
    *sum1 = b1.x + b1.y + t1;
    *sum2 = b2.x + b2.y + t2;
}

// The statistics of this work-item's share of the region indices [start, end): sums about
// its first element give the mean, sums about that mean the squared deviations, so no value
// (an outlier first, a mean far from 0) costs accuracy. The second pass reads the share
// again, from cache on CPUs.
norm_stats norm_item_stats(global const float *plane, const int w, const int plane_w,
                           const int y0, const int x0, const int start, const int end,
                           const int blocked)
{
    int first, last;
    norm_item_range(start, end, blocked, &first, &last);
    if (first >= last) {
        const norm_stats none = {0.0f, 0.0f, 0.0f};
        return none;
    }
    const float count = blocked ? (float)(last - first)
                                : (float)((last - first + REDUCE_GROUP - 1) / REDUCE_GROUP);
    float s1, s2;
    const float k = *norm_at(plane, first, w, plane_w, y0, x0);
    norm_item_sums(plane, w, plane_w, y0, x0, first, last, blocked, k, &s1, &s2);
    const float mean = k + s1 / count;
    norm_item_sums(plane, w, plane_w, y0, x0, first, last, blocked, mean, &s1, &s2);
    return norm_from_sums(count, mean, s1, s2);
}

// out[n][c] = [relu](weight[c] * (in - mean) / sqrt(var + eps) + bias[c]) [+ residual[n][c]]
// for this work-item's share of the region indices [start, end).
void norm_item_output(global const float *plane, const int w, const int plane_w, const int y0,
                      const int x0, const int start, const int end, const int blocked,
                      const float mean, const float scale, const float shift, const int relu,
                      global const float *res, global float *dst)
{
    int first, last;
    norm_item_range(start, end, blocked, &first, &last);
    if (!blocked) {
        for (int i = first; i < last; i += REDUCE_GROUP) {
            float v = mad(*norm_at(plane, i, w, plane_w, y0, x0) - mean, scale, shift);
            if (relu)
                v = fmax(v, 0.0f);
            if (res)
                v += res[i];
            dst[i] = v;
        }
        return;
    }
    for (int i = first; i < last;) {
        const int x = i % w, len = min(w - x, last - i);
        global const float *run = norm_at(plane, i, w, plane_w, y0, x0);
        global float *out = dst + i;
        int j = 0;
        for (; j + 8 <= len; j += 8) {
            float8 v = mad(vload8(0, run + j) - mean, scale, shift);
            if (relu)
                v = fmax(v, 0.0f);
            if (res)
                v += vload8(0, res + i + j);
            vstore8(v, 0, out + j);
        }
        for (; j < len; j++) {
            float v = mad(run[j] - mean, scale, shift);
            if (relu)
                v = fmax(v, 0.0f);
            if (res)
                v += res[i + j];
            out[j] = v;
        }
        i += len;
    }
}

// partial[p * parts + part] = (mean, M2) of part `part` of plane p. Global size:
// n * c * parts * REDUCE_GROUP, local REDUCE_GROUP.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
instance_norm_stats(global const float *in, const int h, const int w, const int plane_size,
                    const int plane_w, const int y0, const int x0, const int parts,
                    const int blocked, global float2 *partial)
{
    local float ln[REDUCE_GROUP], lmean[REDUCE_GROUP], lm2[REDUCE_GROUP];
    const int g = get_group_id(0), p = g / parts, part = g % parts, count = h * w;
    global const float *plane = in + (size_t)p * plane_size;
    const int start = norm_part_start(count, part, parts);
    const int end = norm_part_start(count, part + 1, parts);
    const norm_stats s = norm_group_merge(
        ln, lmean, lm2, norm_item_stats(plane, w, plane_w, y0, x0, start, end, blocked));
    if (get_local_id(0) == 0)
        partial[g] = (float2)(s.mean, s.m2);
}

// out[n][c] = [relu](weight[c] * (in - mean) / sqrt(var + eps) + bias[c]) [+ residual[n][c]]
// over the h x w region at (y0, x0) of input planes plane_size floats apart with rows
// plane_w long (the host passes a region as wide as its plane as one row); out and residual
// are dense h x w planes. With parts 1 the statistics are found here (partial unused),
// else read from instance_norm_stats's partial. With store_stats, stats[n * c + c] gets
// the plane's (mean, 1 / sqrt(var + eps)) for the backward pass. Global size: n * c * parts * REDUCE_GROUP,
// local REDUCE_GROUP.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
instance_norm_forward(global const float *in, global const float *weight,
                      global const float *bias, global const float *residual, global float *out,
                      const int c, const int h, const int w, const int plane_size, const int plane_w,
                      const int y0, const int x0, const float eps, const int relu,
                      const int use_residual, const int parts, const int blocked,
                      global const float2 *partial, const int store_stats, global float2 *stats)
{
    local float ln[REDUCE_GROUP], lmean[REDUCE_GROUP], lm2[REDUCE_GROUP];
    const int g = get_group_id(0), p = g / parts, part = g % parts, count = h * w;
    const int channel = p % c;
    global const float *plane = in + (size_t)p * plane_size;
    const int start = norm_part_start(count, part, parts);
    const int end = norm_part_start(count, part + 1, parts);

    norm_stats s = {0.0f, 0.0f, 0.0f};
    if (parts == 1) {
        s = norm_item_stats(plane, w, plane_w, y0, x0, start, end, blocked);
    } else {
        for (int j = get_local_id(0); j < parts; j += REDUCE_GROUP) {
            const float2 pm = partial[(size_t)p * parts + j];
            const float n = (float)(norm_part_start(count, j + 1, parts) -
                                    norm_part_start(count, j, parts));
            const norm_stats t = {n, pm.x, pm.y};
            s = norm_merge(s, t);
        }
    }
    s = norm_group_merge(ln, lmean, lm2, s);
    const float var = s.m2 / (float)count, rstd = rsqrt(var + eps);
    const float scale = weight[channel] * rstd, shift = bias[channel];
    if (store_stats && part == 0 && get_local_id(0) == 0)
        stats[p] = (float2)(s.mean, rstd);
    norm_item_output(plane, w, plane_w, y0, x0, start, end, blocked, s.mean, scale, shift, relu,
                     use_residual ? residual + (size_t)p * count : 0,
                     out + (size_t)p * count);
}

// ---------------------------------------------------------------------------------------
// Backward pass. With xhat = (x - mean) rstd, dy the output gradient (0 where a ReLU's
// output was 0), M = h w and the plane sums S1 = sum dy, S2 = sum dy xhat:
//     dx = gamma rstd (dy - S1 / M - xhat S2 / M),  dgamma = sum over n of S2,
//     dbeta = sum over n of S1.
// Planes are split into parts as in the forward pass (every REDUCE_GROUP-th element per
// work-item); instance_norm_backward_sums writes each part's (S1, S2), the other two
// kernels merge them in a fixed order.
// ---------------------------------------------------------------------------------------

// dy at region index i of a dense plane, masked by the forward output when relu.
float norm_dy(global const float *dy, global const float *y, const int relu, const int i)
{
    return relu && !(y[i] > 0.0f) ? 0.0f : dy[i];
}

// partial[p * parts + part] = (S1, S2) of part `part` of plane p; grad_out and out (the
// forward's output, read only when relu) are dense h x w planes, in is read through the
// region like the forward pass. Global size: n * c * parts * REDUCE_GROUP, local
// REDUCE_GROUP.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
instance_norm_backward_sums(global const float *in, const int h, const int w, const int plane_size,
                            const int plane_w, const int y0, const int x0,
                            global const float *grad_out, global const float *out, const int relu,
                            global const float2 *stats, const int parts, global float2 *partial)
{
    local float l1[REDUCE_GROUP], l2[REDUCE_GROUP];
    const int g = get_group_id(0), p = g / parts, part = g % parts, count = h * w;
    const int lid = get_local_id(0);
    global const float *plane = in + (size_t)p * plane_size;
    global const float *dy = grad_out + (size_t)p * count;
    global const float *y = out + (size_t)p * count;
    const float2 st = stats[p];
    const int start = norm_part_start(count, part, parts);
    const int end = norm_part_start(count, part + 1, parts);
    float s1 = 0.0f, s2 = 0.0f;
    for (int i = start + lid; i < end; i += REDUCE_GROUP) {
        const float d = norm_dy(dy, y, relu, i);
        const float xhat = (*norm_at(plane, i, w, plane_w, y0, x0) - st.x) * st.y;
        s1 += d;
        s2 = d * xhat + s2;
    }
    l1[lid] = s1;
    l2[lid] = s2;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = REDUCE_GROUP / 2; stride > 0; stride /= 2) {
        if (lid < stride) {
            l1[lid] += l1[lid + stride];
            l2[lid] += l2[lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        partial[g] = (float2)(l1[0], l2[0]);
}

// The plane's (S1, S2): its parts' sums added in order.
float2 norm_plane_sums(global const float2 *partial, const int p, const int parts)
{
    float2 s = (float2)(0.0f);
    for (int j = 0; j < parts; j++)
        s += partial[(size_t)p * parts + j];
    return s;
}

// grad_in = gamma rstd (dy - S1 / M - xhat S2 / M) over the dense h x w planes of grad_in
// (which may be grad_out: each element is read before it is written, by the same
// work-item). Global size: n * c * parts * REDUCE_GROUP, local REDUCE_GROUP.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
instance_norm_backward_data(global const float *in, const int c, const int h, const int w,
                            const int plane_size, const int plane_w, const int y0, const int x0,
                            global const float *grad_out, global const float *out, const int relu,
                            global const float2 *stats, global const float *weight,
                            const int parts, global const float2 *partial, global float *grad_in)
{
    const int g = get_group_id(0), p = g / parts, part = g % parts, count = h * w;
    global const float *plane = in + (size_t)p * plane_size;
    global const float *dy = grad_out + (size_t)p * count;
    global const float *y = out + (size_t)p * count;
    global float *dx = grad_in + (size_t)p * count;
    const float2 st = stats[p];
    const float2 s = norm_plane_sums(partial, p, parts);
    const float m1 = s.x / (float)count, m2 = s.y / (float)count;
    const float scale = weight[p % c] * st.y;
    const int start = norm_part_start(count, part, parts);
    const int end = norm_part_start(count, part + 1, parts);
    for (int i = start + get_local_id(0); i < end; i += REDUCE_GROUP) {
        const float d = norm_dy(dy, y, relu, i);
        const float xhat = (*norm_at(plane, i, w, plane_w, y0, x0) - st.x) * st.y;
        dx[i] = scale * (d - m1 - xhat * m2);
    }
}

// grad_weight[ch] = sum over n of S2, grad_bias[ch] = sum over n of S1 (each written when
// its flag is set). Global size: c.
kernel void instance_norm_backward_params(global const float2 *partial, const int n,
                                          const int c, const int parts,
                                          global float *grad_weight, global float *grad_bias,
                                          const int use_weight, const int use_bias)
{
    const int ch = get_global_id(0);
    if (ch >= c)
        return;
    float2 s = (float2)(0.0f);
    for (int b = 0; b < n; b++)
        s += norm_plane_sums(partial, b * c + ch, parts);
    if (use_weight)
        grad_weight[ch] = s.y;
    if (use_bias)
        grad_bias[ch] = s.x;
}
