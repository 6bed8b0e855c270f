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
