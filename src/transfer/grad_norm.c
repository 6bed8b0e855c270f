/* neural-style's -normalize_gradients: each loss layer's gradient scaled to unit L1 norm
 * before its weight applies, so that every layer pulls with the strength of its weight
 * whatever its loss's scale. */
#include "ops/elementwise.h"
#include "runtime/launch.h"
#include "transfer/run.h"

/* neural-style's constant: keeps a zero gradient (a layer already at its target) zero. */
static const double norm_epsilon = 1e-8;

size_t cls_grad_norm_bytes(const cls_ctx *ctx, size_t elements)
{
    return elements * sizeof(float) + cls_vec_space_bytes(ctx, elements);
}

cls_status cls_grad_norm_allocate(cls_transfer *run, size_t elements, size_t *bytes)
{
    cls_status status = CLS_OK;
    CLS_TRY(cls_vec_space_init(&run->norm_space, run->ctx, elements));
    CLS_TRY(cls_buffer_create(run->ctx, elements * sizeof(float), "a loss layer's gradient",
                              &run->layer_grad));
    if (bytes)
        *bytes = cls_grad_norm_bytes(run->ctx, elements);
fail:
    return status;
}

void cls_grad_norm_release(cls_transfer *run)
{
    if (run->layer_grad)
        clReleaseMemObject(run->layer_grad);
    run->layer_grad = NULL;
    cls_vec_space_release(&run->norm_space);
}

cls_status cls_grad_norm_add(cls_transfer *run, size_t count, double weight, cl_mem grad)
{
    cls_status status = CLS_OK;
    double norm = 0.0;
    CLS_TRY(cls_vec_asum_count(&run->norm_space, count, run->layer_grad, &norm));
    CLS_TRY(
        cls_axpy(run->ctx, count, (float)(weight / (norm + norm_epsilon)), run->layer_grad, grad));
fail:
    return status;
}
