// Losses with their gradients, reduced on the device in a fixed order: every work-group
// writes one partial sum, one work-group adds the partials. No atomics, so the same
// inputs give bit-identical results on the same device.

#ifndef REDUCE_GROUP
#define REDUCE_GROUP 64
#endif

// Sum of value over the work-group, valid in work-item 0. REDUCE_GROUP is a power of two.
float group_sum(local float *scratch, float value)
{
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = REDUCE_GROUP / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[0];
}

// partial[group] = sum of (x - target)^2 over this group's grid-stride share;
// grad += grad_coef * (x - target) when grad is not null.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
sqdiff_partial(global const float *x, global const float *target, const uint n,
               global float *grad, const float grad_coef, global float *partial)
{
    local float scratch[REDUCE_GROUP];
    float sum = 0.0f;
    for (uint i = get_global_id(0); i < n; i += get_global_size(0)) {
        const float d = x[i] - target[i];
        sum += d * d;
        if (grad)
            grad[i] += grad_coef * d;
    }
    sum = group_sum(scratch, sum);
    if (get_local_id(0) == 0)
        partial[get_group_id(0)] = sum;
}

// The same for CPUs: work-item g takes the contiguous elements g * block .. (block a
// multiple of 8), float8 at a time, into partial[g]. The grid-stride loop above is what GPUs
// read fastest, but PoCL does not vectorise it: the content loss of a 512x512 run took 18 ms
// there against PyTorch's 2.
kernel void sqdiff_partial_block(global const float *x, global const float *target, const uint n,
                                 const uint block, global float *grad, const float grad_coef,
                                 global float *partial)
{
    const uint g = get_global_id(0);
    const uint start = g * block, end = min(n, start + block);
    float8 s8 = 0.0f;
    uint i = start;
    for (; i + 8 <= end; i += 8) {
        const float8 d = vload8(0, x + i) - vload8(0, target + i);
        s8 += d * d;
        if (grad)
            vstore8(vload8(0, grad + i) + grad_coef * d, 0, grad + i);
    }
    float sum = (s8.s0 + s8.s1) + (s8.s2 + s8.s3) + (s8.s4 + s8.s5) + (s8.s6 + s8.s7);
    for (; i < end; i++) {
        const float d = x[i] - target[i];
        sum += d * d;
        if (grad)
            grad[i] += grad_coef * d;
    }
    partial[g] = sum;
}

// Total variation of planes of h x w: the sum over horizontal and vertical neighbour
// differences d of |d| (squared = 0) or d^2 (squared = 1); grad += weight * its gradient,
// with sign(0) = 0 for the absolute value.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
tv_partial(global const float *x, const int h, const int w, const uint n, const int squared,
           global float *grad, const float weight, global float *partial)
{
    local float scratch[REDUCE_GROUP];
    float sum = 0.0f;
    for (uint i = get_global_id(0); i < n; i += get_global_size(0)) {
        const int col = i % w, row = (i / w) % h;
        const float v = x[i];
        float g = 0.0f;
        if (col + 1 < w) {
            const float d = x[i + 1] - v;
            sum += squared ? d * d : fabs(d);
            g -= squared ? 2.0f * d : sign(d);
        }
        if (row + 1 < h) {
            const float d = x[i + w] - v;
            sum += squared ? d * d : fabs(d);
            g -= squared ? 2.0f * d : sign(d);
        }
        if (col > 0) {
            const float d = v - x[i - 1];
            g += squared ? 2.0f * d : sign(d);
        }
        if (row > 0) {
            const float d = v - x[i - w];
            g += squared ? 2.0f * d : sign(d);
        }
        if (grad)
            grad[i] += weight * g;
    }
    sum = group_sum(scratch, sum);
    if (get_local_id(0) == 0)
        partial[get_group_id(0)] = sum;
}

// result[index] = scale * (sum of partial[0 .. count)). Run as a single work-group.
kernel __attribute__((reqd_work_group_size(REDUCE_GROUP, 1, 1))) void
reduce_partials(global const float *partial, const uint count, const float scale,
                global float *result, const uint index)
{
    local float scratch[REDUCE_GROUP];
    float sum = 0.0f;
    for (uint i = get_local_id(0); i < count; i += REDUCE_GROUP)
        sum += partial[i];
    sum = group_sum(scratch, sum);
    if (get_local_id(0) == 0)
        result[index] = scale * sum;
}
