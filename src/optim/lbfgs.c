/* L-BFGS with strong-Wolfe line search, following torch.optim.LBFGS step by step. */
#include "optim/lbfgs.h"
#include "ops/elementwise.h"
#include "optim/vec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A vector the optimiser keeps between uses: on the device, or with history_on_host in host
 * memory (copied to a device buffer when an operation needs it). */
typedef struct vec_slot {
    cl_mem mem;
    float *host;
} vec_slot;

enum { DEVICE_VECTORS = 4, SEARCH_SLOTS = 4 };

struct cls_lbfgs {
    cls_vec_space v;
    cls_lbfgs_params p;
    /* On the device: g, the gradient at x (also where the line search evaluates, its value
     * at the search's start being prev_g's); d, the search direction; y and s, the candidate
     * correction pair, which also receive host history on its way to the kernels. */
    cl_mem g, d, y, s;
    vec_slot prev_g;
    vec_slot x_init, g_prev, bracket_g[2]; /* line search only */
    vec_slot *dirs, *steps;                /* history ring: y and s pairs, oldest at `first` */
    double *ro, *al;
    int count, first;
    const cls_objective *objective;
    int evals;
};

cls_lbfgs_params cls_lbfgs_params_default(int iterations)
{
    return (cls_lbfgs_params){.max_iter = iterations,
                              .max_eval = iterations * 5 / 4,
                              .max_line_search = 25,
                              .history_size = 100,
                              .lr = 1.0,
                              .tolerance_grad = 1e-7,
                              .tolerance_change = 1e-9,
                              .strong_wolfe = true};
}

/* The vectors kept in slots: the history pairs, prev_g and the line search's. */
static size_t slot_vectors(const cls_lbfgs_params *p)
{
    return 2 * (size_t)p->history_size + 1 + (p->strong_wolfe ? SEARCH_SLOTS : 0);
}

size_t cls_lbfgs_bytes(size_t n, const cls_lbfgs_params *p)
{
    const size_t vectors = DEVICE_VECTORS + (p->history_on_host ? 0 : slot_vectors(p));
    return vectors * n * sizeof(float);
}

size_t cls_lbfgs_host_bytes(size_t n, const cls_lbfgs_params *p)
{
    return p->history_on_host ? slot_vectors(p) * n * sizeof(float) : 0;
}

static cls_status slot_alloc(cls_lbfgs *o, const char *what, vec_slot *out)
{
    if (!o->p.history_on_host)
        return cls_vec_alloc(&o->v, what, &out->mem);
    out->host = malloc(o->v.n * sizeof(float));
    if (!out->host)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY,
                         "no host memory for %s (%zu MiB); a smaller --lbfgs-history needs less",
                         what, o->v.n * sizeof(float) >> 20);
    return CLS_OK;
}

static void slot_release(vec_slot *slot)
{
    if (slot->mem)
        clReleaseMemObject(slot->mem);
    free(slot->host);
    *slot = (vec_slot){0};
}

static vec_slot on_device(cl_mem mem)
{
    return (vec_slot){.mem = mem};
}

/* to = from, wherever each lives. Transfers to and from the host complete before this
 * returns, so a host vector may be reused at once. */
static cls_status slot_copy(cls_lbfgs *o, vec_slot from, vec_slot to)
{
    const size_t bytes = o->v.n * sizeof(float);
    cl_command_queue q = o->v.ctx->queue;
    cl_int err = CL_SUCCESS;
    if (from.mem && to.mem)
        return cls_vec_copy(&o->v, from.mem, to.mem);
    if (from.mem)
        err = clEnqueueReadBuffer(q, from.mem, CL_TRUE, 0, bytes, to.host, 0, NULL, NULL);
    else if (to.mem)
        err = clEnqueueWriteBuffer(q, to.mem, CL_TRUE, 0, bytes, from.host, 0, NULL, NULL);
    else
        memcpy(to.host, from.host, bytes);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "copying an L-BFGS vector");
}

/* A history vector on the device: itself, or its host copy written into stage. The write
 * is not waited for: the queue runs in order and the history does not change while the
 * direction is computed. */
static cls_status history_on_device(cls_lbfgs *o, vec_slot h, cl_mem stage, cl_mem *out)
{
    *out = h.mem;
    if (h.mem)
        return CLS_OK;
    *out = stage;
    cl_int err = clEnqueueWriteBuffer(o->v.ctx->queue, stage, CL_FALSE, 0, o->v.n * sizeof(float),
                                      h.host, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "uploading L-BFGS history");
}

cls_status cls_lbfgs_create(cls_ctx *ctx, size_t n, const cls_lbfgs_params *params, cls_lbfgs **out)
{
    cls_status status = CLS_OK;
    *out = NULL;
    if (params->history_size < 1 || params->max_iter < 1 || params->lr <= 0.0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "L-BFGS needs history >= 1, iterations >= 1 and lr > 0");
    cls_lbfgs *o = calloc(1, sizeof *o);
    CLS_CHECK_ALLOC(o, "the optimiser");
    o->p = *params;
    const size_t m = (size_t)params->history_size;
    o->dirs = calloc(m, sizeof *o->dirs);
    o->steps = calloc(m, sizeof *o->steps);
    o->ro = calloc(m, sizeof *o->ro);
    o->al = calloc(m, sizeof *o->al);
    CLS_CHECK_ALLOC(o->dirs && o->steps && o->ro && o->al ? o : NULL, "the optimiser history");
    CLS_TRY(cls_vec_space_init(&o->v, ctx, n));
    cl_mem *device[] = {&o->g, &o->d, &o->y, &o->s};
    for (size_t i = 0; i < sizeof device / sizeof device[0]; i++)
        CLS_TRY(cls_vec_alloc(&o->v, "L-BFGS vectors", device[i]));
    CLS_TRY(slot_alloc(o, "L-BFGS vectors", &o->prev_g));
    if (params->strong_wolfe) {
        vec_slot *search[] = {&o->x_init, &o->g_prev, &o->bracket_g[0], &o->bracket_g[1]};
        for (size_t i = 0; i < sizeof search / sizeof search[0]; i++)
            CLS_TRY(slot_alloc(o, "line search vectors", search[i]));
    }
    for (size_t i = 0; i < m; i++) {
        CLS_TRY(slot_alloc(o, "L-BFGS history", &o->dirs[i]));
        CLS_TRY(slot_alloc(o, "L-BFGS history", &o->steps[i]));
    }
    *out = o;
    return CLS_OK;
fail:
    cls_lbfgs_destroy(o);
    return status;
}

void cls_lbfgs_destroy(cls_lbfgs *o)
{
    if (!o)
        return;
    cl_mem device[] = {o->g, o->d, o->y, o->s};
    for (size_t i = 0; i < sizeof device / sizeof device[0]; i++)
        if (device[i])
            clReleaseMemObject(device[i]);
    vec_slot *slots[] = {&o->prev_g, &o->x_init, &o->g_prev, &o->bracket_g[0], &o->bracket_g[1]};
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        slot_release(slots[i]);
    for (int i = 0; i < o->p.history_size; i++) {
        if (o->dirs)
            slot_release(&o->dirs[i]);
        if (o->steps)
            slot_release(&o->steps[i]);
    }
    cls_vec_space_release(&o->v);
    free(o->dirs);
    free(o->steps);
    free(o->ro);
    free(o->al);
    free(o);
}

static cls_status evaluate(cls_lbfgs *o, cl_mem x, cl_mem grad, double *loss)
{
    o->evals++;
    cls_status status = o->objective->eval(o->objective->user, x, grad, o->evals, loss);
    if (status == CLS_OK && !isfinite(*loss))
        status =
            cls_error(CLS_ERR_NOT_FINITE, "the loss became %g at evaluation %d", *loss, o->evals);
    return status;
}

/* ---- strong-Wolfe line search (torch.optim.lbfgs._strong_wolfe) ---- */

/* Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to the bounds. */
static double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                                const double *bounds)
{
    double lo = bounds ? bounds[0] : (x1 <= x2 ? x1 : x2);
    double hi = bounds ? bounds[1] : (x1 <= x2 ? x2 : x1);
    double d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    double d2_square = d1 * d1 - g1 * g2;
    if (d2_square < 0.0)
        return (lo + hi) / 2.0;
    double d2 = sqrt(d2_square), min_pos;
    if (x1 <= x2)
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2));
    else
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2));
    return fmin(fmax(min_pos, lo), hi);
}

/* One point of the search: step, loss, directional derivative, evaluation number. */
typedef struct ls_point {
    double t, f, gtd;
    int eval;
} ls_point;

typedef struct ls_state {
    cls_lbfgs *o;
    cl_mem x;
    double f0, gtd0; /* at t = 0 */
    ls_point bracket[2];
    int size; /* 1 once a point satisfies the Wolfe conditions, else 2 */
    int evals;
} ls_state;

/* Loss and gradient (into g) at x_init + t d. */
static cls_status ls_evaluate(ls_state *s, double t, ls_point *out)
{
    cls_status status = CLS_OK;
    cls_lbfgs *o = s->o;
    CLS_TRY(slot_copy(o, o->x_init, on_device(s->x)));
    CLS_TRY(cls_axpy(o->v.ctx, o->v.n, (float)t, o->d, s->x));
    CLS_TRY(evaluate(o, s->x, o->g, &out->f));
    CLS_TRY(cls_vec_dot(&o->v, o->g, o->d, &out->gtd));
    out->t = t;
    out->eval = o->evals;
    s->evals++;
fail:
    return status;
}

static cls_status set_bracket(ls_state *s, int slot, ls_point p, vec_slot grad)
{
    s->bracket[slot] = p;
    return slot_copy(s->o, grad, s->o->bracket_g[slot]);
}

/* Brackets an interval containing a step that satisfies the strong Wolfe conditions, or
 * finds such a step (size 1). Returns with the number of iterations used in *iter. */
static cls_status ls_bracket(ls_state *s, double t, int max_ls, const double c1, const double c2,
                             int *iter)
{
    cls_status status = CLS_OK;
    cls_lbfgs *o = s->o;
    ls_point prev = {0.0, s->f0, s->gtd0, 0}, now;
    vec_slot prev_g = o->prev_g; /* the gradient at t = 0 */
    CLS_TRY(ls_evaluate(s, t, &now));
    for (*iter = 0; *iter < max_ls; (*iter)++) {
        /* The order of the three tests matters: it is torch's. */
        bool bracketed = now.f > s->f0 + c1 * now.t * s->gtd0 || (*iter > 1 && now.f >= prev.f);
        if (!bracketed && fabs(now.gtd) <= -c2 * s->gtd0) {
            s->size = 1;
            return set_bracket(s, 0, now, on_device(o->g));
        }
        if (bracketed || now.gtd >= 0.0) {
            s->size = 2;
            CLS_TRY(set_bracket(s, 0, prev, prev_g));
            return set_bracket(s, 1, now, on_device(o->g));
        }
        const double bounds[2] = {now.t + 0.01 * (now.t - prev.t), now.t * 10.0};
        double next = cubic_interpolate(prev.t, prev.f, prev.gtd, now.t, now.f, now.gtd, bounds);
        prev = now;
        CLS_TRY(slot_copy(o, on_device(o->g), o->g_prev));
        prev_g = o->g_prev;
        CLS_TRY(ls_evaluate(s, next, &now));
    }
    /* Out of evaluations: the bracket is [0, t]. */
    s->size = 2;
    CLS_TRY(set_bracket(s, 0, (ls_point){0.0, s->f0, s->gtd0, 0}, o->prev_g));
    CLS_TRY(set_bracket(s, 1, now, on_device(o->g)));
fail:
    return status;
}

/* Zooms into the bracket until a point satisfies the conditions or it is too small. */
static cls_status ls_zoom(ls_state *s, int iter, int max_ls, double d_norm, const double c1,
                          const double c2)
{
    cls_status status = CLS_OK;
    bool insufficient_progress = false;
    ls_point *b = s->bracket;
    int low = b[0].f <= b[1].f ? 0 : 1, high = 1 - low;
    while (iter < max_ls) {
        if (fabs(b[1].t - b[0].t) * d_norm < s->o->p.tolerance_change)
            break;
        double t = cubic_interpolate(b[0].t, b[0].f, b[0].gtd, b[1].t, b[1].f, b[1].gtd, NULL);
        const double bmax = fmax(b[0].t, b[1].t), bmin = fmin(b[0].t, b[1].t);
        const double eps = 0.1 * (bmax - bmin);
        if (fmin(bmax - t, t - bmin) < eps) {
            /* Too close to an end: move 10% of the bracket inside unless this is new. */
            if (insufficient_progress || t >= bmax || t <= bmin) {
                t = fabs(t - bmax) < fabs(t - bmin) ? bmax - eps : bmin + eps;
                insufficient_progress = false;
            } else {
                insufficient_progress = true;
            }
        } else {
            insufficient_progress = false;
        }
        ls_point now;
        CLS_TRY(ls_evaluate(s, t, &now));
        iter++;
        if (now.f > s->f0 + c1 * t * s->gtd0 || now.f >= b[low].f) {
            CLS_TRY(set_bracket(s, high, now, on_device(s->o->g)));
            low = b[0].f <= b[1].f ? 0 : 1;
            high = 1 - low;
            continue;
        }
        if (fabs(now.gtd) <= -c2 * s->gtd0) {
            CLS_TRY(set_bracket(s, low, now, on_device(s->o->g)));
            break; /* the Wolfe conditions hold */
        }
        if (now.gtd * (b[high].t - b[low].t) >= 0.0) {
            b[high] = b[low];
            CLS_TRY(slot_copy(s->o, s->o->bracket_g[low], s->o->bracket_g[high]));
        }
        CLS_TRY(set_bracket(s, low, now, on_device(s->o->g)));
    }
    s->bracket[0] = b[low]; /* the result */
    if (low != 0)
        CLS_TRY(slot_copy(s->o, s->o->bracket_g[low], s->o->bracket_g[0]));
fail:
    return status;
}

/* Searches along d from x_init; leaves the accepted step, loss and evaluation in *result
 * and its gradient in o->g. */
static cls_status strong_wolfe(cls_lbfgs *o, cl_mem x, double t, double f, double gtd, int max_ls,
                               ls_point *result, int *evals)
{
    cls_status status = CLS_OK;
    const double c1 = 1e-4, c2 = 0.9;
    double d_norm = 0.0;
    ls_state s = {.o = o, .x = x, .f0 = f, .gtd0 = gtd};
    int iter = 0;
    CLS_TRY(cls_vec_absmax(&o->v, o->d, &d_norm));
    CLS_TRY(ls_bracket(&s, t, max_ls, c1, c2, &iter));
    if (s.size == 2)
        CLS_TRY(ls_zoom(&s, iter, max_ls, d_norm, c1, c2));
    *result = s.bracket[0];
    *evals = s.evals;
    CLS_TRY(slot_copy(o, o->bracket_g[0], on_device(o->g)));
fail:
    return status;
}

/* ---- the two-loop recursion ---- */

static vec_slot history_at(cls_lbfgs *o, vec_slot *ring, int i)
{
    return ring[(o->first + i) % o->p.history_size];
}

/* Moves the candidate pair into the ring's slot: by swapping buffers on the device. */
static cls_status keep_pair(cls_lbfgs *o, int slot)
{
    cls_status status = CLS_OK;
    if (o->p.history_on_host) {
        CLS_TRY(slot_copy(o, on_device(o->y), o->dirs[slot]));
        CLS_TRY(slot_copy(o, on_device(o->s), o->steps[slot]));
        return CLS_OK;
    }
    cl_mem swap = o->dirs[slot].mem;
    o->dirs[slot].mem = o->y;
    o->y = swap;
    swap = o->steps[slot].mem;
    o->steps[slot].mem = o->s;
    o->s = swap;
fail:
    return status;
}

/* Adds the pair (y, s) when it has positive curvature; returns the new H_diag scale. */
static cls_status update_history(cls_lbfgs *o, double t, double *h_diag)
{
    cls_status status = CLS_OK;
    cls_ctx *ctx = o->v.ctx;
    double ys = 0.0, yy = 0.0;
    /* y = g - prev_g as -prev_g + g: rounded the same, wherever prev_g lives */
    CLS_TRY(slot_copy(o, o->prev_g, on_device(o->y)));
    CLS_TRY(cls_scale(ctx, o->v.n, -1.0f, o->y));
    CLS_TRY(cls_axpy(ctx, o->v.n, 1.0f, o->g, o->y));
    CLS_TRY(cls_vec_copy(&o->v, o->d, o->s));
    CLS_TRY(cls_scale(ctx, o->v.n, (float)t, o->s));
    CLS_TRY(cls_vec_dot(&o->v, o->y, o->s, &ys));
    if (ys <= 1e-10)
        goto fail;
    CLS_TRY(cls_vec_dot(&o->v, o->y, o->y, &yy));
    const int m = o->p.history_size;
    if (o->count == m)
        o->first = (o->first + 1) % m; /* drop the oldest */
    else
        o->count++;
    const int slot = (o->first + o->count - 1) % m;
    CLS_TRY(keep_pair(o, slot));
    o->ro[slot] = 1.0 / ys;
    *h_diag = ys / yy;
fail:
    return status;
}

/* d = -H g with the history (two-loop recursion). Each update of d and the dot product
 * that follows it run as one pass (cls_vec_axpy_dot): a history vector uploaded from the
 * host goes to its own staging buffer (dirs to y, steps to s), so both are there at once. */
static cls_status direction(cls_lbfgs *o, double h_diag)
{
    cls_status status = CLS_OK;
    cls_ctx *ctx = o->v.ctx;
    const int m = o->p.history_size, newest = o->count - 1;
    cl_mem step, dir;
    double dot = 0.0;
    CLS_TRY(cls_vec_copy(&o->v, o->g, o->d));
    CLS_TRY(cls_scale(ctx, o->v.n, -1.0f, o->d));
    /* Newest to oldest: al_i = ro_i s_i . d, then d -= al_i y_i (with s_{i-1} . d). */
    if (o->count > 0) {
        CLS_TRY(history_on_device(o, history_at(o, o->steps, newest), o->s, &step));
        CLS_TRY(cls_vec_dot(&o->v, step, o->d, &dot));
    }
    for (int i = newest; i >= 0; i--) {
        const int slot = (o->first + i) % m;
        o->al[slot] = dot * o->ro[slot];
        CLS_TRY(history_on_device(o, history_at(o, o->dirs, i), o->y, &dir));
        if (i == 0) {
            CLS_TRY(cls_axpy(ctx, o->v.n, (float)-o->al[slot], dir, o->d));
            break;
        }
        CLS_TRY(history_on_device(o, history_at(o, o->steps, i - 1), o->s, &step));
        CLS_TRY(cls_vec_axpy_dot(&o->v, (float)-o->al[slot], dir, o->d, step, &dot));
    }
    CLS_TRY(cls_scale(ctx, o->v.n, (float)h_diag, o->d));
    /* Oldest to newest: be_i = ro_i y_i . d, then d += (al_i - be_i) s_i (with y_{i+1} . d). */
    if (o->count > 0) {
        CLS_TRY(history_on_device(o, history_at(o, o->dirs, 0), o->y, &dir));
        CLS_TRY(cls_vec_dot(&o->v, dir, o->d, &dot));
    }
    for (int i = 0; i <= newest; i++) {
        const int slot = (o->first + i) % m;
        const float coef = (float)(o->al[slot] - dot * o->ro[slot]);
        CLS_TRY(history_on_device(o, history_at(o, o->steps, i), o->s, &step));
        if (i == newest) {
            CLS_TRY(cls_axpy(ctx, o->v.n, coef, step, o->d));
            break;
        }
        CLS_TRY(history_on_device(o, history_at(o, o->dirs, i + 1), o->y, &dir));
        CLS_TRY(cls_vec_axpy_dot(&o->v, coef, step, o->d, dir, &dot));
    }
fail:
    return status;
}

/* ---- the iteration loop (torch.optim.LBFGS.step) ---- */

typedef struct run_state {
    double loss, h_diag, t;
    int loss_eval;
    bool optimal;
} run_state;

/* Moves x along d: with the line search from x_init, else by the fixed step. */
static cls_status take_step(cls_lbfgs *o, cl_mem x, int n_iter, double gtd, run_state *r)
{
    cls_status status = CLS_OK;
    double absmax = 0.0;
    if (o->p.strong_wolfe) {
        ls_point accepted;
        int ls_evals = 0;
        CLS_TRY(slot_copy(o, on_device(x), o->x_init));
        const int max_ls =
            o->p.max_line_search > 0 ? o->p.max_line_search : o->p.max_eval - o->evals;
        CLS_TRY(strong_wolfe(o, x, r->t, r->loss, gtd, max_ls, &accepted, &ls_evals));
        r->t = accepted.t;
        r->loss = accepted.f;
        r->loss_eval = accepted.eval ? accepted.eval : r->loss_eval;
        CLS_TRY(slot_copy(o, o->x_init, on_device(x)));
        CLS_TRY(cls_axpy(o->v.ctx, o->v.n, (float)r->t, o->d, x));
    } else {
        CLS_TRY(cls_axpy(o->v.ctx, o->v.n, (float)r->t, o->d, x));
        if (n_iter == o->p.max_iter)
            goto fail; /* torch does not evaluate after the last fixed step */
        CLS_TRY(evaluate(o, x, o->g, &r->loss));
        r->loss_eval = o->evals;
    }
    CLS_TRY(cls_vec_absmax(&o->v, o->g, &absmax));
    r->optimal = absmax <= o->p.tolerance_grad;
fail:
    return status;
}

/* Whether to stop after iteration n_iter, and why. */
static bool should_stop(cls_lbfgs *o, int n_iter, const run_state *r, double prev_loss,
                        cls_stop_reason *reason)
{
    double d_max = 0.0;
    if (n_iter == o->p.max_iter)
        *reason = CLS_STOP_MAX_ITER;
    else if (o->evals >= o->p.max_eval)
        *reason = CLS_STOP_MAX_EVAL;
    else if (r->optimal)
        *reason = CLS_STOP_TOLERANCE_GRAD;
    else if (cls_vec_absmax(&o->v, o->d, &d_max) == CLS_OK &&
             d_max * fabs(r->t) <= o->p.tolerance_change)
        *reason = CLS_STOP_TOLERANCE_CHANGE;
    else if (fabs(r->loss - prev_loss) < o->p.tolerance_change)
        *reason = CLS_STOP_TOLERANCE_CHANGE;
    else
        return false;
    return true;
}

static cls_status iteration(cls_lbfgs *o, cl_mem x, int n_iter, run_state *r, double *prev_loss,
                            bool *stalled)
{
    cls_status status = CLS_OK;
    double gtd = 0.0, asum = 0.0;
    if (n_iter == 1) {
        r->h_diag = 1.0;
        CLS_TRY(cls_vec_copy(&o->v, o->g, o->d));
        CLS_TRY(cls_scale(o->v.ctx, o->v.n, -1.0f, o->d));
    } else {
        CLS_TRY(update_history(o, r->t, &r->h_diag));
        CLS_TRY(direction(o, r->h_diag));
    }
    CLS_TRY(slot_copy(o, on_device(o->g), o->prev_g));
    *prev_loss = r->loss;
    if (n_iter == 1) {
        CLS_TRY(cls_vec_asum(&o->v, o->g, &asum));
        r->t = fmin(1.0, 1.0 / asum) * o->p.lr;
    } else {
        r->t = o->p.lr;
    }
    CLS_TRY(cls_vec_dot(&o->v, o->g, o->d, &gtd));
    *stalled = gtd > -o->p.tolerance_change;
    if (!*stalled)
        CLS_TRY(take_step(o, x, n_iter, gtd, r));
fail:
    return status;
}

cls_status cls_lbfgs_run(cls_lbfgs *o, cl_mem x, const cls_objective *objective,
                         cls_iteration_fn on_iteration, void *user, cls_optim_result *result)
{
    cls_status status = CLS_OK;
    run_state r = {0};
    double absmax = 0.0, prev_loss = 0.0;
    o->objective = objective;
    o->evals = 0;
    o->count = o->first = 0;
    *result = (cls_optim_result){.reason = CLS_STOP_TOLERANCE_GRAD};
    CLS_TRY(evaluate(o, x, o->g, &r.loss));
    r.loss_eval = o->evals;
    CLS_TRY(cls_vec_absmax(&o->v, o->g, &absmax));
    int n_iter = 0;
    bool stop = absmax <= o->p.tolerance_grad;
    while (!stop && n_iter < o->p.max_iter) {
        bool stalled = false;
        n_iter++;
        CLS_TRY(iteration(o, x, n_iter, &r, &prev_loss, &stalled));
        if (stalled) {
            result->reason = CLS_STOP_TOLERANCE_CHANGE;
            n_iter--; /* no step was taken */
            break;
        }
        if (on_iteration) {
            cls_optim_progress p = {n_iter, o->evals, r.loss, r.loss_eval};
            status = on_iteration(user, &p);
            if (status == CLS_ERR_CANCELLED) {
                status = CLS_OK;
                result->reason = CLS_STOP_CANCELLED;
                break;
            }
            CLS_TRY(status);
        }
        stop = should_stop(o, n_iter, &r, prev_loss, &result->reason);
    }
    result->iterations = n_iter;
fail:
    result->evals = o->evals;
    result->loss = r.loss;
    result->loss_eval = r.loss_eval;
    return status;
}

const char *cls_stop_reason_str(cls_stop_reason reason)
{
    switch (reason) {
    case CLS_STOP_MAX_ITER: return "reached the iteration count";
    case CLS_STOP_MAX_EVAL: return "used up the evaluation budget";
    case CLS_STOP_TOLERANCE_GRAD: return "the gradient vanished (converged)";
    case CLS_STOP_TOLERANCE_CHANGE: return "the loss stopped changing (converged)";
    case CLS_STOP_CANCELLED: return "cancelled";
    }
    return "unknown";
}
