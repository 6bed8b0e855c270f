/* L-BFGS over a device vector with the semantics of torch.optim.LBFGS (one step() call
 * with max_iter iterations): the same history update, first-step scaling, strong-Wolfe
 * line search with cubic interpolation, and stopping rules, so runs are comparable with
 * PyTorch pipelines. Scalars are computed in double on the host. */
#ifndef CLS_OPTIM_LBFGS_H
#define CLS_OPTIM_LBFGS_H

#include "optim/objective.h"

typedef struct cls_lbfgs_params {
    int max_iter; /* iterations */
    int max_eval; /* objective evaluations; torch's default is max_iter * 5 / 4 */
    /* Evaluations one line search may take. 25 (the default): torch's max_ls in releases
     * before pytorch/pytorch#135026, the search may run past max_eval and the run stops after
     * it. 0: what is left of max_eval, as torch does since (2.15 here). */
    int max_line_search;
    int history_size;        /* correction pairs kept (torch default 100) */
    double lr;               /* step length scale (1) */
    double tolerance_grad;   /* stop when max |gradient| <= this (1e-7) */
    double tolerance_change; /* stop when loss or step changes less than this (1e-9) */
    bool strong_wolfe;       /* line search; false: fixed steps of lr (neural-style) */
    /* The history pairs and the vectors only copied (the line search's, the last gradient)
     * in host memory; the device keeps four vectors and receives each history vector when
     * the two-loop recursion needs it (2 x history_size uploads per iteration). Same
     * arithmetic, same results as on the device. (false) */
    bool history_on_host;
} cls_lbfgs_params;

cls_lbfgs_params cls_lbfgs_params_default(int iterations);

typedef struct cls_lbfgs cls_lbfgs;

/* Device bytes the optimiser allocates for vectors of n floats, and host bytes. */
size_t cls_lbfgs_bytes(size_t n, const cls_lbfgs_params *params);
size_t cls_lbfgs_host_bytes(size_t n, const cls_lbfgs_params *params);

/* Allocates every vector up front, so running out of memory happens before long work. */
cls_status cls_lbfgs_create(cls_ctx *ctx, size_t n, const cls_lbfgs_params *params,
                            cls_lbfgs **out);
void cls_lbfgs_destroy(cls_lbfgs *opt);

/* Minimises objective from x (updated in place). */
cls_status cls_lbfgs_run(cls_lbfgs *opt, cl_mem x, const cls_objective *objective,
                         cls_iteration_fn on_iteration, void *user, cls_optim_result *result);

#endif
