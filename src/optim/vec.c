/* Device vector reductions (cl/optim.cl) and copies. */
#include "optim/vec.h"
#include "ops/elementwise.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdlib.h>

/* Work-items of a dot product: one per block, or the strided pattern's count, raised so that
 * none loops more than CLS_MAX_ITEM_ITERATIONS times. */
static size_t dot_items(const cls_tunables *t, size_t n)
{
    if (t->dot_block > 0)
        return n / (size_t)t->dot_block + 1;
    const size_t fewest = (n + CLS_MAX_ITEM_ITERATIONS - 1) / CLS_MAX_ITEM_ITERATIONS;
    return (size_t)t->dot_items > fewest ? (size_t)t->dot_items : fewest;
}

size_t cls_vec_space_bytes(const cls_ctx *ctx, size_t n)
{
    return dot_items(&ctx->tunables, n) * sizeof(float);
}

cls_status cls_vec_space_init(cls_vec_space *v, cls_ctx *ctx, size_t n)
{
    cls_status status = CLS_OK;
    *v = (cls_vec_space){.ctx = ctx, .n = n, .partial_count = dot_items(&ctx->tunables, n)};
    v->host_partials = malloc(v->partial_count * sizeof *v->host_partials);
    CLS_CHECK_ALLOC(v->host_partials, "the optimiser's partial sums");
    CLS_TRY(cls_buffer_create(ctx, v->partial_count * sizeof(float), "optimiser scalars",
                              &v->partials));
fail:
    return status;
}

void cls_vec_space_release(cls_vec_space *v)
{
    if (v->partials)
        clReleaseMemObject(v->partials);
    free(v->host_partials);
    v->partials = NULL;
    v->host_partials = NULL;
}

cls_status cls_vec_alloc(cls_vec_space *v, const char *what, cl_mem *out)
{
    return cls_buffer_create(v->ctx, v->n * sizeof(float), what, out);
}

/* A work-group per block in the blocked pattern: left to choose, PoCL put a dot product's
 * few hundred work-items (n / 1024) into few work-groups, short of the cores; one each took
 * an L-BFGS iteration's own work at 512x512 from 75 to 61 ms (history 100, 2-core EPYC). */
static const size_t block_group = 1;

/* *out = the sum, in double, of the partial sums the last launch wrote. */
static cls_status sum_partials(cls_vec_space *v, double *out)
{
    cls_status status = CLS_OK;
    CLS_TRY(cls_read_floats(v->ctx, v->partials, 0, v->partial_count, v->host_partials));
    double sum = 0.0;
    for (size_t i = 0; i < v->partial_count; i++)
        sum += v->host_partials[i];
    *out = sum;
fail:
    return status;
}

cls_status cls_vec_dot(cls_vec_space *v, cl_mem a, cl_mem b, double *out)
{
    cls_status status = CLS_OK;
    const cls_tunables *t = &v->ctx->tunables;
    const cl_uint n = (cl_uint)v->n, block = (cl_uint)t->dot_block;
    const size_t items = v->partial_count;
    if (t->dot_block > 0) {
        const cls_arg args[] = {CLS_ARG(a), CLS_ARG(b), CLS_ARG(n), CLS_ARG(block),
                                CLS_ARG(v->partials)};
        CLS_TRY(cls_launch(v->ctx, "dot_partials_block", args, 5, 1, &items, &block_group));
    } else {
        const cls_arg args[] = {CLS_ARG(a), CLS_ARG(b), CLS_ARG(n), CLS_ARG(v->partials)};
        CLS_TRY(cls_launch(v->ctx, "dot_partials", args, 4, 1, &items, NULL));
    }
    CLS_TRY(sum_partials(v, out));
fail:
    return status;
}

cls_status cls_vec_axpy_dot(cls_vec_space *v, float a, cl_mem x, cl_mem y, cl_mem z, double *out)
{
    cls_status status = CLS_OK;
    const cls_tunables *t = &v->ctx->tunables;
    const cl_uint n = (cl_uint)v->n, block = (cl_uint)t->dot_block;
    const size_t items = v->partial_count;
    if (t->dot_block > 0) {
        const cls_arg args[] = {CLS_ARG(y), CLS_ARG(x),     CLS_ARG(a),          CLS_ARG(z),
                                CLS_ARG(n), CLS_ARG(block), CLS_ARG(v->partials)};
        CLS_TRY(cls_launch(v->ctx, "axpy_dot_partials_block", args, 7, 1, &items, &block_group));
    } else {
        const cls_arg args[] = {CLS_ARG(y), CLS_ARG(x), CLS_ARG(a),
                                CLS_ARG(z), CLS_ARG(n), CLS_ARG(v->partials)};
        CLS_TRY(cls_launch(v->ctx, "axpy_dot_partials", args, 6, 1, &items, NULL));
    }
    CLS_TRY(sum_partials(v, out));
fail:
    return status;
}

cls_status cls_vec_asum(cls_vec_space *v, cl_mem a, double *out)
{
    return cls_vec_asum_count(v, v->n, a, out);
}

/* The partial sums (want_max false) or maxima of |a| over its first count elements, in
 * v->partials; returns how many. */
static cls_status abs_partials(cls_vec_space *v, size_t count, cl_mem a, bool want_max,
                               size_t *items)
{
    cls_status status = CLS_OK;
    const cls_tunables *t = &v->ctx->tunables;
    const cl_uint n = (cl_uint)count, block = (cl_uint)t->dot_block;
    const cl_int max_arg = want_max;
    if (count > v->n)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "a reduction over %zu of %zu floats", count,
                         v->n);
    *items = dot_items(t, count);
    if (t->dot_block > 0) {
        const cls_arg args[] = {CLS_ARG(a), CLS_ARG(n), CLS_ARG(block), CLS_ARG(max_arg),
                                CLS_ARG(v->partials)};
        CLS_TRY(cls_launch(v->ctx, "abs_partials_block", args, 5, 1, items, &block_group));
    } else {
        const cls_arg args[] = {CLS_ARG(a), CLS_ARG(n), CLS_ARG(max_arg), CLS_ARG(v->partials)};
        CLS_TRY(cls_launch(v->ctx, "abs_partials", args, 4, 1, items, NULL));
    }
    CLS_TRY(cls_read_floats(v->ctx, v->partials, 0, *items, v->host_partials));
fail:
    return status;
}

cls_status cls_vec_asum_count(cls_vec_space *v, size_t count, cl_mem a, double *out)
{
    size_t items = 0;
    cls_status status = abs_partials(v, count, a, false, &items);
    double sum = 0.0;
    for (size_t i = 0; status == CLS_OK && i < items; i++)
        sum += v->host_partials[i];
    *out = sum;
    return status;
}

cls_status cls_vec_absmax(cls_vec_space *v, cl_mem a, double *out)
{
    size_t items = 0;
    cls_status status = abs_partials(v, v->n, a, true, &items);
    double largest = 0.0; /* NaN if any partial is (fmax would drop it) */
    for (size_t i = 0; status == CLS_OK && i < items; i++)
        if (isnan(v->host_partials[i]) || v->host_partials[i] > largest)
            largest = v->host_partials[i];
    *out = largest;
    return status;
}

cls_status cls_vec_copy(cls_vec_space *v, cl_mem from, cl_mem to)
{
    return cls_copy_floats(v->ctx, from, to, 0, v->n);
}
