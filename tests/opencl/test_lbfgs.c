/* L-BFGS and Adam on the device against torch.optim on a convex quadratic: the iterates of
 * every iteration (tests/data/golden/lbfgs_quadratic.gold, from make_lbfgs_golden.py). */
#include "check.h"
#include "device_util.h"
#include "optim/adam.h"
#include "optim/lbfgs.h"
#include "runtime/blas_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 40, K = 12 };

/* f(x) = 1/2 x^T A x - b^T x, gradient A x - b, evaluated on the device. */
typedef struct quadratic {
    cl_mem a, b, ax, scalar;
    int evals;
} quadratic;

static double read_dot(quadratic *q, cl_mem u, cl_mem v)
{
    CLBlastSdot(N, q->scalar, 0, u, 0, 1, v, 0, 1, &dev->queue, NULL);
    return dev_read_one(q->scalar, 0);
}

static cls_status quadratic_eval(void *user, cl_mem x, cl_mem grad, int eval, double *loss)
{
    quadratic *q = user;
    cls_status status = CLS_OK;
    q->evals = eval;
    CLS_CHECK_BLAS(CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, N, N, 1.0f, q->a, 0, N,
                                x, 0, 1, 0.0f, q->ax, 0, 1, &dev->queue, NULL),
                   "CLBlastSgemv");
    *loss = 0.5 * read_dot(q, x, q->ax) - read_dot(q, q->b, x);
    CLS_CHECK_CL(
        clEnqueueCopyBuffer(dev->queue, q->ax, grad, 0, 0, N * sizeof(float), 0, NULL, NULL),
        "copy");
    CLS_CHECK_BLAS(CLBlastSaxpy(N, -1.0f, q->b, 0, 1, grad, 0, 1, &dev->queue, NULL), "axpy");
fail:
    return status;
}

static quadratic make_quadratic(golden_file *g)
{
    quadratic q = {0};
    q.a = dev_upload(golden_tensor(g, "a", N * N), N * N);
    q.b = dev_upload(golden_tensor(g, "b", N), N);
    q.ax = dev_upload(host_zeros(N), N);
    q.scalar = dev_upload(host_zeros(4), 4);
    return q;
}

/* Runs k iterations from x0 and compares x, the loss and the evaluation count with torch's
 * k-th iterate. */
static void compare_iterates(const char *mode, cls_lbfgs_params params)
{
    golden_file g;
    golden_open(&g, "lbfgs_quadratic.gold");
    quadratic q = make_quadratic(&g);
    cls_objective objective = {quadratic_eval, &q};
    const float *x0 = golden_tensor(&g, "x0", N);
    double worst = 0.0;
    for (int k = 1; k <= K; k++) {
        char name[64];
        params.max_iter = k;
        params.max_eval = k * 5 / 4;
        cls_lbfgs *opt = NULL;
        CHECK_STATUS(cls_lbfgs_create(dev, N, &params, &opt), CLS_OK);
        if (!opt)
            break;
        cl_mem x = dev_upload(x0, N);
        cls_optim_result result;
        CHECK_STATUS(cls_lbfgs_run(opt, x, &objective, NULL, NULL, &result), CLS_OK);
        cls_lbfgs_destroy(opt);
        snprintf(name, sizeof name, "%s/x%d", mode, k);
        const float *want = golden_tensor(&g, name, N);
        float *got = dev_download(x, N);
        double err = max_rel_err(got, want, N);
        worst = fmax(worst, err);
        snprintf(name, sizeof name, "%s/evals%d", mode, k);
        const int want_evals = (int)golden_tensor(&g, name, 1)[0];
        snprintf(name, sizeof name, "%s/loss%d", mode, k);
        const double want_loss = golden_tensor(&g, name, 1)[0];
        printf("  %s iteration %2d: x max rel err %.2e, evals %d (torch %d), loss %.6f "
               "(torch %.6f)\n",
               mode, k, err, result.evals, want_evals, result.loss, want_loss);
        CHECK(err <= 1e-4);
        CHECK(result.evals == want_evals);
    }
    printf("  %s: worst iterate error %.2e\n", mode, worst);
    CHECK(golden_close(&g));
}

static void lbfgs_strong_wolfe_matches_torch(void)
{
    cls_lbfgs_params p = cls_lbfgs_params_default(1);
    p.history_size = 5; /* smaller than the iterations: the history ring wraps */
    compare_iterates("wolfe_ls25", p);
    p.max_line_search = 0; /* searches end at the evaluation budget, as torch 2.15's */
    compare_iterates("wolfe", p);
}

static void lbfgs_fixed_step_matches_torch(void)
{
    cls_lbfgs_params p = cls_lbfgs_params_default(1);
    p.history_size = 5;
    p.lr = 0.05;
    p.strong_wolfe = false;
    compare_iterates("fixed", p);
}

/* Runs params from x0 of the golden quadratic; x downloaded into *x_out. */
static cls_optim_result run_quadratic(cls_lbfgs_params params, float **x_out)
{
    golden_file g;
    golden_open(&g, "lbfgs_quadratic.gold");
    quadratic q = make_quadratic(&g);
    cls_objective objective = {quadratic_eval, &q};
    cls_optim_result result = {0};
    cls_lbfgs *opt = NULL;
    *x_out = NULL;
    CHECK_STATUS(cls_lbfgs_create(dev, N, &params, &opt), CLS_OK);
    if (opt) {
        cl_mem x = dev_upload(golden_tensor(&g, "x0", N), N);
        CHECK_STATUS(cls_lbfgs_run(opt, x, &objective, NULL, NULL, &result), CLS_OK);
        cls_lbfgs_destroy(opt);
        *x_out = dev_download(x, N);
    }
    CHECK(golden_close(&g));
    return result;
}

/* History kept on the host: the same iterates, bit for bit, as with everything on the
 * device (with a ring that wraps, in each line-search mode), and torch's iterates. */
static void lbfgs_host_history_is_the_same(void)
{
    cls_lbfgs_params modes[3];
    for (int m = 0; m < 3; m++) {
        modes[m] = cls_lbfgs_params_default(K);
        modes[m].history_size = 5;
    }
    modes[1].max_line_search = 0;
    modes[2].strong_wolfe = false;
    modes[2].lr = 0.05;
    for (int m = 0; m < 3; m++) {
        float *on_device = NULL, *on_host = NULL;
        cls_lbfgs_params host = modes[m];
        host.history_on_host = true;
        CHECK(cls_lbfgs_bytes(N, &host) == 4 * N * sizeof(float));
        CHECK(cls_lbfgs_host_bytes(N, &host) ==
              cls_lbfgs_bytes(N, &modes[m]) - 4 * N * sizeof(float));
        cls_optim_result a = run_quadratic(modes[m], &on_device);
        cls_optim_result b = run_quadratic(host, &on_host);
        printf("  mode %d: %d iterations, %d evaluations, loss %.9g on the device; %d, %d, %.9g "
               "with host history\n",
               m, a.iterations, a.evals, a.loss, b.iterations, b.evals, b.loss);
        CHECK(a.iterations == b.iterations && a.evals == b.evals && a.loss == b.loss);
        CHECK(on_device && on_host && memcmp(on_device, on_host, N * sizeof(float)) == 0);
    }
    cls_lbfgs_params p = modes[0];
    p.history_on_host = true;
    compare_iterates("wolfe_ls25", p);
}

/* The loss never increases from one strong-Wolfe iteration to the next, and the run stops
 * by convergence once the gradient vanishes. */
static cls_status record_loss(void *user, const cls_optim_progress *p)
{
    double *losses = user;
    losses[p->iteration] = p->loss;
    return CLS_OK;
}

static void lbfgs_converges(void)
{
    golden_file g;
    golden_open(&g, "lbfgs_quadratic.gold");
    quadratic q = make_quadratic(&g);
    cls_objective objective = {quadratic_eval, &q};
    cls_lbfgs_params p = cls_lbfgs_params_default(200);
    cls_lbfgs *opt = NULL;
    CHECK_STATUS(cls_lbfgs_create(dev, N, &p, &opt), CLS_OK);
    cl_mem x = dev_upload(golden_tensor(&g, "x0", N), N);
    double losses[201] = {0};
    cls_optim_result r;
    CHECK_STATUS(cls_lbfgs_run(opt, x, &objective, record_loss, losses, &r), CLS_OK);
    cls_lbfgs_destroy(opt);
    for (int i = 2; i <= r.iterations; i++)
        CHECK(losses[i] <= losses[i - 1]);
    printf("  converged after %d iterations, %d evaluations: %s, loss %.6f\n", r.iterations,
           r.evals, cls_stop_reason_str(r.reason), r.loss);
    CHECK(r.iterations < 200);
    CHECK(r.reason == CLS_STOP_TOLERANCE_CHANGE || r.reason == CLS_STOP_TOLERANCE_GRAD);
    CHECK(golden_close(&g));
}

static cls_status cancel_at_three(void *user, const cls_optim_progress *p)
{
    (void)user;
    return p->iteration == 3 ? CLS_ERR_CANCELLED : CLS_OK;
}

static void cancel_stops_cleanly(void)
{
    golden_file g;
    golden_open(&g, "lbfgs_quadratic.gold");
    quadratic q = make_quadratic(&g);
    cls_objective objective = {quadratic_eval, &q};
    cls_lbfgs_params p = cls_lbfgs_params_default(50);
    cls_lbfgs *opt = NULL;
    CHECK_STATUS(cls_lbfgs_create(dev, N, &p, &opt), CLS_OK);
    cl_mem x = dev_upload(golden_tensor(&g, "x0", N), N);
    cls_optim_result r;
    CHECK_STATUS(cls_lbfgs_run(opt, x, &objective, cancel_at_three, NULL, &r), CLS_OK);
    CHECK(r.reason == CLS_STOP_CANCELLED && r.iterations == 3);
    cls_lbfgs_destroy(opt);

    cls_adam_params ap = cls_adam_params_default(50);
    cls_adam *adam = NULL;
    CHECK_STATUS(cls_adam_create(dev, N, &ap, &adam), CLS_OK);
    CHECK_STATUS(cls_adam_run(adam, x, &objective, cancel_at_three, NULL, &r), CLS_OK);
    CHECK(r.reason == CLS_STOP_CANCELLED && r.iterations == 3);
    cls_adam_destroy(adam);
    CHECK(golden_close(&g));
}

/* Adam against the same update computed on the host in double. */
static void adam_matches_host(void)
{
    golden_file g;
    golden_open(&g, "lbfgs_quadratic.gold");
    quadratic q = make_quadratic(&g);
    cls_objective objective = {quadratic_eval, &q};
    const float *a = golden_tensor(&g, "a", N * N), *b = golden_tensor(&g, "b", N);
    const float *x0 = golden_tensor(&g, "x0", N);
    cls_adam_params p = cls_adam_params_default(25);
    p.lr = 0.1;
    cls_adam *adam = NULL;
    CHECK_STATUS(cls_adam_create(dev, N, &p, &adam), CLS_OK);
    cl_mem x = dev_upload(x0, N);
    cls_optim_result r;
    CHECK_STATUS(cls_adam_run(adam, x, &objective, NULL, NULL, &r), CLS_OK);
    cls_adam_destroy(adam);

    double hx[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++)
        hx[i] = x0[i];
    for (int k = 1; k <= p.iterations; k++) {
        double grads[N];
        for (int i = 0; i < N; i++) {
            grads[i] = -b[i];
            for (int j = 0; j < N; j++)
                grads[i] += (double)a[i * N + j] * hx[j];
        }
        for (int i = 0; i < N; i++) {
            const double grad = grads[i];
            m[i] = p.beta1 * m[i] + (1 - p.beta1) * grad;
            v[i] = p.beta2 * v[i] + (1 - p.beta2) * grad * grad;
            double denom = sqrt(v[i]) / sqrt(1 - pow(p.beta2, k)) + p.eps;
            hx[i] -= p.lr / (1 - pow(p.beta1, k)) * m[i] / denom;
        }
    }
    float want[N];
    for (int i = 0; i < N; i++)
        want[i] = (float)hx[i];
    CHECK(dev_expect_close(x, want, N, 1e-4, "adam 25 steps"));
    CHECK(r.iterations == 25 && r.evals == 25);
    CHECK(golden_close(&g));
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(lbfgs_strong_wolfe_matches_torch);
    RUN_CASE(lbfgs_fixed_step_matches_torch);
    RUN_CASE(lbfgs_host_history_is_the_same);
    RUN_CASE(lbfgs_converges);
    RUN_CASE(cancel_stops_cleanly);
    RUN_CASE(adam_matches_host);
    dev_close();
    return check_report();
}
