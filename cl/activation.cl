// ReLU forward and backward, elementwise over any tensor.

kernel void relu_forward(global const float *in, global float *out, const uint n)
{
    const uint i = get_global_id(0);
    if (i < n)
        out[i] = fmax(in[i], 0.0f);
}

// grad_in = grad_out where mask > 0, else 0. The mask is the forward output or the
// pre-activation (both are positive exactly where the ReLU passed its input through).
// grad_in may be grad_out.
kernel void relu_backward(global const float *grad_out, global const float *mask,
                          global float *grad_in, const uint n)
{
    const uint i = get_global_id(0);
    if (i < n)
        grad_in[i] = mask[i] > 0.0f ? grad_out[i] : 0.0f;
}
