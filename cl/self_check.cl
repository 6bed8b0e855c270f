// Known-answer kernels run by `clstyle check`: arithmetic, global memory, and the local
// memory plus barriers that tiled kernels rely on (the parts broken drivers get wrong).

kernel void self_check_axpy(const float a, global const float *x, global float *y,
                            const uint n)
{
    const uint i = get_global_id(0);
    if (i < n)
        y[i] = a * x[i] + y[i];
}

// One sum per work-group, by a tree reduction in local memory. The local size must be a
// power of two.
kernel void self_check_group_sum(global const float *x, global float *sums,
                                 local float *scratch)
{
    const uint lid = get_local_id(0);
    scratch[lid] = x[get_global_id(0)];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = get_local_size(0) / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        sums[get_group_id(0)] = scratch[0];
}
