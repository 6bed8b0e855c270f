/* What the optimisers minimise and how they report: an objective evaluated on a device
 * vector, and a callback after each iteration. */
#ifndef CLS_OPTIM_OBJECTIVE_H
#define CLS_OPTIM_OBJECTIVE_H

#include "runtime/context.h"

/* f(x) into *loss and its gradient into grad (overwritten). eval is the 1-based number of
 * this evaluation, so the caller can match the losses of an accepted point later. */
typedef struct cls_objective {
    cls_status (*eval)(void *user, cl_mem x, cl_mem grad, int eval, double *loss);
    void *user;
} cls_objective;

typedef enum cls_stop_reason {
    CLS_STOP_MAX_ITER,         /* ran the requested iterations */
    CLS_STOP_MAX_EVAL,         /* used up the evaluation budget */
    CLS_STOP_TOLERANCE_GRAD,   /* max |gradient| <= tolerance_grad: a stationary point */
    CLS_STOP_TOLERANCE_CHANGE, /* the loss, the step or the directional derivative stalled */
    CLS_STOP_CANCELLED,        /* the iteration callback asked to stop */
} cls_stop_reason;

typedef struct cls_optim_progress {
    int iteration; /* 1-based, after the iteration's update */
    int evals;     /* objective evaluations so far */
    double loss;   /* at the current x */
    int loss_eval; /* which evaluation computed that loss */
} cls_optim_progress;

/* Called after every iteration; a status other than CLS_OK stops the optimiser, which
 * returns CLS_OK with CLS_STOP_CANCELLED when the status is CLS_ERR_CANCELLED and the
 * status itself otherwise. */
typedef cls_status (*cls_iteration_fn)(void *user, const cls_optim_progress *progress);

typedef struct cls_optim_result {
    int iterations;
    int evals;
    double loss;
    int loss_eval; /* which evaluation computed loss */
    cls_stop_reason reason;
} cls_optim_result;

const char *cls_stop_reason_str(cls_stop_reason reason);

#endif
