/* Adam over a device vector, with torch.optim.Adam's semantics (no weight decay, no
 * amsgrad): each iteration evaluates the objective once, then steps. */
#ifndef CLS_OPTIM_ADAM_H
#define CLS_OPTIM_ADAM_H

#include "optim/objective.h"

typedef struct cls_adam_params {
    int iterations;
    double lr;    /* 10 in neural-style's settings for images in 0..255 */
    double beta1; /* 0.9 */
    double beta2; /* 0.999 */
    double eps;   /* 1e-8 */
} cls_adam_params;

cls_adam_params cls_adam_params_default(int iterations);

typedef struct cls_adam cls_adam;

size_t cls_adam_bytes(size_t n);
cls_status cls_adam_create(cls_ctx *ctx, size_t n, const cls_adam_params *params, cls_adam **out);
void cls_adam_destroy(cls_adam *opt);

/* The k-th step (from 1) of torch.optim.Adam on the count values of x, given their gradient
 * g and the moments m and v (zeros before the first step), which it updates: the optimiser of
 * several parameter tensors at once (training a network) calls it for each. */
cls_status cls_adam_update(cls_ctx *ctx, const cls_adam_params *p, int k, size_t count, cl_mem x,
                           cl_mem g, cl_mem m, cl_mem v);

/* The loss reported for iteration k is the one evaluated before its step, as a PyTorch
 * training loop prints it. */
cls_status cls_adam_run(cls_adam *opt, cl_mem x, const cls_objective *objective,
                        cls_iteration_fn on_iteration, void *user, cls_optim_result *result);

#endif
