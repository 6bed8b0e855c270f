/* Adam: first and second moment estimates with bias correction, one kernel per step. */
#include "optim/adam.h"
#include "ops/elementwise.h"
#include "optim/vec.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct cls_adam {
    cls_vec_space v;
    cls_adam_params p;
    cl_mem g, m, s; /* gradient, first and second moments */
};

cls_adam_params cls_adam_params_default(int iterations)
{
    return (cls_adam_params){
        .iterations = iterations, .lr = 10.0, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
}

size_t cls_adam_bytes(size_t n)
{
    return 3 * n * sizeof(float);
}

cls_status cls_adam_create(cls_ctx *ctx, size_t n, const cls_adam_params *params, cls_adam **out)
{
    cls_status status = CLS_OK;
    *out = NULL;
    if (params->iterations < 1 || params->lr <= 0.0 || n > UINT32_MAX)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "Adam needs iterations >= 1 and lr > 0");
    cls_adam *o = calloc(1, sizeof *o);
    CLS_CHECK_ALLOC(o, "the optimiser");
    o->p = *params;
    CLS_TRY(cls_vec_space_init(&o->v, ctx, n));
    CLS_TRY(cls_vec_alloc(&o->v, "Adam gradient", &o->g));
    CLS_TRY(cls_vec_alloc(&o->v, "Adam moments", &o->m));
    CLS_TRY(cls_vec_alloc(&o->v, "Adam moments", &o->s));
    *out = o;
    return CLS_OK;
fail:
    cls_adam_destroy(o);
    return status;
}

void cls_adam_destroy(cls_adam *o)
{
    if (!o)
        return;
    cl_mem all[] = {o->g, o->m, o->s};
    for (int i = 0; i < 3; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
    cls_vec_space_release(&o->v);
    free(o);
}

cls_status cls_adam_update(cls_ctx *ctx, const cls_adam_params *p, int k, size_t count, cl_mem x,
                           cl_mem g, cl_mem m, cl_mem v)
{
    if (k < 1 || count > UINT32_MAX)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "Adam step %d over %zu values", k, count);
    const float step_size = (float)(p->lr / (1.0 - pow(p->beta1, k)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(p->beta2, k));
    const float beta1 = (float)p->beta1, beta2 = (float)p->beta2, eps = (float)p->eps;
    const cl_uint n = (cl_uint)count;
    const cls_arg args[] = {CLS_ARG(x),         CLS_ARG(g),     CLS_ARG(m),     CLS_ARG(v),
                            CLS_ARG(step_size), CLS_ARG(beta1), CLS_ARG(beta2), CLS_ARG(eps),
                            CLS_ARG(bc2_sqrt),  CLS_ARG(n)};
    return cls_launch(ctx, "adam_step", args, 10, 1, &count, NULL);
}

static cls_status step(cls_adam *o, cl_mem x, int k)
{
    return cls_adam_update(o->v.ctx, &o->p, k, o->v.n, x, o->g, o->m, o->s);
}

cls_status cls_adam_run(cls_adam *o, cl_mem x, const cls_objective *objective,
                        cls_iteration_fn on_iteration, void *user, cls_optim_result *result)
{
    cls_status status = CLS_OK;
    double loss = 0.0;
    *result = (cls_optim_result){.reason = CLS_STOP_MAX_ITER};
    CLS_TRY(cls_fill(o->v.ctx, o->v.n, 0.0f, o->m));
    CLS_TRY(cls_fill(o->v.ctx, o->v.n, 0.0f, o->s));
    for (int k = 1; k <= o->p.iterations; k++) {
        CLS_TRY(objective->eval(objective->user, x, o->g, k, &loss));
        result->evals = k;
        result->loss = loss;
        result->loss_eval = k;
        if (!isfinite(loss)) {
            status = cls_error(CLS_ERR_NOT_FINITE, "the loss became %g at iteration %d", loss, k);
            goto fail;
        }
        CLS_TRY(step(o, x, k));
        result->iterations = k;
        if (on_iteration) {
            cls_optim_progress p = {k, k, loss, k};
            status = on_iteration(user, &p);
            if (status == CLS_ERR_CANCELLED) {
                result->reason = CLS_STOP_CANCELLED;
                return CLS_OK;
            }
            CLS_TRY(status);
        }
    }
fail:
    return status;
}
