// Instance normalisation (torch.nn.InstanceNorm2d, affine, no running statistics) with an
// optional ReLU and residual add fused into the output pass. One work-group of REDUCE_GROUP
// work-items per (n, c) plane: each work-item sums its share of the plane with compensated
// (Kahan) addition, the group adds the shares in a fixed tree, so results do not depend on
// timing. The mean is found first and the variance as the mean of squared deviations from
// it (two passes over the plane), which keeps accuracy when the mean is large.

#ifndef REDUCE_GROUP
#define REDUCE_GROUP 64
#endif

// Sum of value over the work-group, returned to every work-item. REDUCE_GROUP is a power of
// two. The leading barrier lets a group call this twice in a row on the same scratch.
float norm_group_sum(local float *scratch, float value)
{
    const int lid = get_local_id(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = REDUCE_GROUP / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[0];
}

// Kahan addition of v to (*sum, *carry).
void norm_kahan_add(float *sum, float *carry, float v)
{
    const float y = v - *carry;
    const float t = *sum + y;
    *carry = (t - *sum) - y;
    *sum = t;
}

// The sum over this work-item's share of the h x w region at (y0, x0) of a plane whose rows
// are plane_w long, of (x - shift) (squared when square is set). A region as wide as the
// plane is contiguous and read as one run; otherwise row by row.
float norm_share_sum(global const float *plane, const int h, const int w, const int plane_w,
                     const int y0, const int x0, const float shift, const int square)
{
    const int lid = get_local_id(0);
    float sum = 0.0f, carry = 0.0f;
    if (plane_w == w) {
        global const float *run = plane + (size_t)y0 * plane_w;
        const int count = h * w;
        for (int i = lid; i < count; i += REDUCE_GROUP) {
            const float d = run[i] - shift;
            norm_kahan_add(&sum, &carry, square ? d * d : d);
        }
    } else {
        for (int y = 0; y < h; y++) {
            global const float *row = plane + (size_t)(y0 + y) * plane_w + x0;
            for (int x = lid; x < w; x += REDUCE_GROUP) {
                const float d = row[x] - shift;
                norm_kahan_add(&sum, &carry, square ? d * d : d);
            }
        }
    }
    return sum;
}

// out[n][c] = [relu](weight[c] * (in - mean) / sqrt(var + eps) + bias[c]) [+ residual[n][c]]
// over the h x w region at (y0, x0) of input planes plane_h x plane_w; out and residual
// are dense h x w planes. Global size: n * c * REDUCE_GROUP, local REDUCE_GROUP.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
instance_norm_forward(global const float *in, global const float *weight,
                      global const float *bias, global const float *residual, global float *out,
                      const int c, const int h, const int w, const int plane_h, const int plane_w,
                      const int y0, const int x0, const float eps, const int relu,
                      const int use_residual)
{
    local float scratch[REDUCE_GROUP];
    const int p = get_group_id(0), lid = get_local_id(0);
    const int channel = p % c;
    global const float *plane = in + (size_t)p * plane_h * plane_w;
    const float count = (float)h * (float)w;

    const float mean = norm_group_sum(scratch, norm_share_sum(plane, h, w, plane_w, y0, x0,
                                                              0.0f, 0)) / count;
    const float var = norm_group_sum(scratch, norm_share_sum(plane, h, w, plane_w, y0, x0,
                                                             mean, 1)) / count;
    const float scale = weight[channel] * rsqrt(var + eps), shift = bias[channel];

    global float *dst = out + (size_t)p * h * w;
    global const float *res = use_residual ? residual + (size_t)p * h * w : residual;
    if (plane_w == w) {
        global const float *run = plane + (size_t)y0 * plane_w;
        const int count = h * w;
        for (int i = lid; i < count; i += REDUCE_GROUP) {
            float v = mad(run[i] - mean, scale, shift);
            if (relu)
                v = fmax(v, 0.0f);
            if (use_residual)
                v += res[i];
            dst[i] = v;
        }
        return;
    }
    for (int y = 0; y < h; y++) {
        global const float *row = plane + (size_t)(y0 + y) * plane_w + x0;
        for (int x = lid; x < w; x += REDUCE_GROUP) {
            const size_t i = (size_t)y * w + x;
            float v = mad(row[x] - mean, scale, shift);
            if (relu)
                v = fmax(v, 0.0f);
            if (use_residual)
                v += res[i];
            dst[i] = v;
        }
    }
}
