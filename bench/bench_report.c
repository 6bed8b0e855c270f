/* The full clstyle-bench report: per-op timings of a VGG-19 style transfer at each size
 * (conv layers, Gram matrices, losses), one evaluation, the L-BFGS overhead and a real
 * transfer, with GFLOP/s and the fraction of the device's peak. */
#include "bench_util.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/gram.h"
#include "ops/loss.h"
#include "optim/lbfgs.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The distinct conv shapes of VGG-19 up to relu5_1; `layers` of them run per evaluation. */
typedef struct conv_layer {
    const char *name;
    int cin, cout, div, layers;
} conv_layer;

static const conv_layer vgg19_convs[] = {
    {"conv1_1", 3, 64, 1, 1},    {"conv1_2", 64, 64, 1, 1},     {"conv2_1", 64, 128, 2, 1},
    {"conv2_2", 128, 128, 2, 1}, {"conv3_1", 128, 256, 4, 1},   {"conv3_2-4", 256, 256, 4, 3},
    {"conv4_1", 256, 512, 8, 1}, {"conv4_2-4", 512, 512, 8, 3}, {"conv5_1", 512, 512, 16, 1},
};

/* The five default style layers (channels, size divisor) and the content layer conv4_2. */
typedef struct tap_layer {
    const char *name;
    int c, div;
} tap_layer;

static const tap_layer style_taps[] = {
    {"relu1_1", 64, 1},  {"relu2_1", 128, 2},  {"relu3_1", 256, 4},
    {"relu4_1", 512, 8}, {"relu5_1", 512, 16},
};
static const tap_layer content_tap = {"conv4_2", 512, 8};

/* Per-evaluation sums of the op timings at one size, for the "accounted for" line. */
typedef struct size_totals {
    double conv_fwd, conv_bwd, gram, loss;
} size_totals;

static void release(cl_mem *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i]) {
            clReleaseMemObject(list[i]);
            list[i] = NULL;
        }
}

/* ---- convolution ---- */

static cls_status bench_conv_layer(cls_ctx *ctx, const bench_options *o, const bench_peak *peak,
                                   int size, const conv_layer *l, bench_out *out,
                                   size_totals *totals)
{
    cls_status status = CLS_OK;
    const int hw = size / l->div;
    bench_conv j;
    const size_t plane = (size_t)hw * (size_t)hw;
    CLS_TRY(bench_conv_create(ctx, (cls_shape){1, l->cin, hw, hw}, l->cout, &j));
    double fwd = 0, bwd = 0;
    status = bench_time(ctx, bench_conv_forward, &j, o->warmup, o->repeats, &fwd);
    if (status == CLS_OK)
        status = bench_time(ctx, bench_conv_backward, &j, o->warmup, o->repeats, &bwd);
    bench_conv_release(&j);
    if (status != CLS_OK)
        goto fail;
    const double flops = 2.0 * 9.0 * l->cin * l->cout * (double)plane;
    const double gf = bench_gflops(flops, fwd), gb = bench_gflops(flops, bwd);
    /* The peak fraction counts the arithmetic done: for Winograd the 36 products per 4x4
     * tile of the channel mixing (the transforms left out), a quarter of the direct count. */
    const double tiles = (double)((hw + 3) / 4) * (double)((hw + 3) / 4);
    const double done = j.algo == CLS_CONV_WINOGRAD ? 2.0 * 36.0 * l->cin * l->cout * tiles : flops;
    const double pf = bench_fraction(bench_gflops(done, fwd), peak);
    const double pb = bench_fraction(bench_gflops(done, bwd), peak);
    totals->conv_fwd += fwd * l->layers;
    totals->conv_bwd += bwd * l->layers;
    if (bench_item(out))
        printf("{\"op\": \"conv3x3\", \"layer\": \"%s\", \"algo\": \"%s\", \"size\": %d, "
               "\"cin\": %d, \"cout\": %d, \"h\": %d, \"w\": %d, \"layers\": %d, \"gflop\": %.4f, "
               "\"forward_s\": %.6f, \"forward_gflops\": %.2f, \"forward_peak_fraction\": %.4f, "
               "\"backward_data_s\": %.6f, \"backward_data_gflops\": %.2f, "
               "\"backward_data_peak_fraction\": %.4f}",
               l->name, cls_conv_algo_name(j.algo), size, l->cin, l->cout, hw, hw, l->layers,
               flops * 1e-9, fwd, gf, pf, bwd, gb, pb);
    else
        printf("%-10s %4d->%-4d %4dx%-4d x%d %9.2f %8.2f %6.1f%% %11.2f %8.2f %6.1f%%  %s\n",
               l->name, l->cin, l->cout, hw, hw, l->layers, fwd * 1e3, gf, 100 * pf, bwd * 1e3, gb,
               100 * pb, cls_conv_algo_name(j.algo));
    fflush(stdout);
fail:
    return status;
}

/* ---- Gram matrices and losses ---- */

typedef struct gram_job {
    cls_shape f;
    float scale;
    cl_mem features, gram, target, grad_gram, grad, result;
    size_t count; /* loss: elements */
} gram_job;

static cls_status gram_forward(cls_ctx *ctx, void *user)
{
    gram_job *j = user;
    return cls_gram_forward(ctx, j->f, j->features, j->scale, j->gram);
}

static cls_status gram_backward(cls_ctx *ctx, void *user)
{
    gram_job *j = user;
    return cls_gram_backward(ctx, j->f, j->features, j->grad_gram, j->scale, true, j->grad);
}

/* The loss as the objective runs it: value and gradient added into grad. */
static cls_status loss_sqdiff(cls_ctx *ctx, void *user)
{
    gram_job *j = user;
    return cls_loss_sqdiff(ctx, j->count, j->gram, j->target, 1.0f, 2.0f, j->grad_gram, j->result,
                           0);
}

static cls_status bench_gram_layer(cls_ctx *ctx, const bench_options *o, const bench_peak *peak,
                                   int size, const tap_layer *t, bench_out *out,
                                   size_totals *totals)
{
    cls_status status = CLS_OK;
    const int hw = size / t->div;
    gram_job j = {.f = {1, t->c, hw, hw}};
    const size_t c = (size_t)t->c, plane = (size_t)hw * (size_t)hw;
    j.scale = (float)(1.0 / ((double)c * (double)plane));
    j.count = c * c;
    CLS_TRY(bench_random_buffer(ctx, c * plane, 6, &j.features));
    CLS_TRY(bench_random_buffer(ctx, c * plane, 7, &j.grad));
    CLS_TRY(bench_random_buffer(ctx, c * c, 8, &j.gram));
    CLS_TRY(bench_random_buffer(ctx, c * c, 9, &j.target));
    CLS_TRY(bench_random_buffer(ctx, c * c, 10, &j.grad_gram));
    CLS_TRY(bench_random_buffer(ctx, 4, 11, &j.result));
    double fwd = 0, bwd = 0, loss = 0;
    CLS_TRY(bench_time(ctx, gram_forward, &j, o->warmup, o->repeats, &fwd));
    CLS_TRY(bench_time(ctx, gram_backward, &j, o->warmup, o->repeats, &bwd));
    CLS_TRY(bench_time(ctx, loss_sqdiff, &j, o->warmup, o->repeats, &loss));
    const double flops = 2.0 * (double)c * (double)c * (double)plane;
    const double gf = bench_gflops(flops, fwd), gb = bench_gflops(flops, bwd);
    totals->gram += fwd + bwd;
    totals->loss += loss;
    if (bench_item(out))
        printf("{\"op\": \"gram\", \"layer\": \"%s\", \"size\": %d, \"c\": %d, \"h\": %d, "
               "\"w\": %d, \"gflop\": %.4f, \"forward_s\": %.6f, \"forward_gflops\": %.2f, "
               "\"forward_peak_fraction\": %.4f, \"backward_s\": %.6f, \"backward_gflops\": %.2f, "
               "\"backward_peak_fraction\": %.4f}",
               t->name, size, t->c, hw, hw, flops * 1e-9, fwd, gf, bench_fraction(gf, peak), bwd,
               gb, bench_fraction(gb, peak));
    else
        printf("gram  %-8s %4d x %-7zu %9.2f %8.2f %6.1f%% %11.2f %8.2f %6.1f%%\n", t->name, t->c,
               plane, fwd * 1e3, gf, 100 * bench_fraction(gf, peak), bwd * 1e3, gb,
               100 * bench_fraction(gb, peak));
    if (bench_item(out))
        printf("{\"op\": \"loss\", \"kind\": \"style\", \"layer\": \"%s\", \"size\": %d, "
               "\"count\": %zu, \"s\": %.6f}",
               t->name, size, j.count, loss);
    else
        printf("loss  %-8s style, %9zu values %9.3f ms\n", t->name, j.count, loss * 1e3);
    fflush(stdout);
fail:
    release(&j.features, 1);
    release(&j.grad, 1);
    release(&j.gram, 1);
    release(&j.target, 1);
    release(&j.grad_gram, 1);
    release(&j.result, 1);
    return status;
}

static cls_status bench_content_loss(cls_ctx *ctx, const bench_options *o, int size, bench_out *out,
                                     size_totals *totals)
{
    cls_status status = CLS_OK;
    const int hw = size / content_tap.div;
    gram_job j = {.count = (size_t)content_tap.c * (size_t)hw * (size_t)hw};
    CLS_TRY(bench_random_buffer(ctx, j.count, 12, &j.gram));
    CLS_TRY(bench_random_buffer(ctx, j.count, 13, &j.target));
    CLS_TRY(bench_random_buffer(ctx, j.count, 14, &j.grad_gram));
    CLS_TRY(bench_random_buffer(ctx, 4, 15, &j.result));
    double loss = 0;
    CLS_TRY(bench_time(ctx, loss_sqdiff, &j, o->warmup, o->repeats, &loss));
    totals->loss += loss;
    if (bench_item(out))
        printf("{\"op\": \"loss\", \"kind\": \"content\", \"layer\": \"%s\", \"size\": %d, "
               "\"count\": %zu, \"s\": %.6f}",
               content_tap.name, size, j.count, loss);
    else
        printf("loss  %-8s content, %7zu values %9.3f ms\n", content_tap.name, j.count, loss * 1e3);
    fflush(stdout);
fail:
    release(&j.gram, 1);
    release(&j.target, 1);
    release(&j.grad_gram, 1);
    release(&j.result, 1);
    return status;
}

/* ---- one evaluation and a real transfer, through cls_transfer_run ---- */

typedef struct iter_times {
    double *elapsed; /* seconds since the start, after each iteration */
    int *evals;      /* evaluations so far, after each iteration */
    int count, done;
} iter_times;

static int record_iteration(void *user, const cls_progress *p)
{
    iter_times *t = user;
    if (p->iteration >= 1 && p->iteration <= t->count) {
        t->elapsed[p->iteration - 1] = p->elapsed_s;
        t->evals[p->iteration - 1] = p->evals;
        t->done = p->iteration;
    }
    return 0;
}

/* Median of the iteration durations after `skip` iterations; evals per iteration then. */
static double iteration_median(iter_times *t, int skip, double *evals_per_iter)
{
    const int n = t->done - skip;
    if (n < 1) {
        *evals_per_iter = 0;
        return 0.0;
    }
    double *d = malloc((size_t)n * sizeof *d);
    if (!d)
        return 0.0;
    for (int i = 0; i < n; i++)
        d[i] = t->elapsed[skip + i] - (skip + i > 0 ? t->elapsed[skip + i - 1] : 0.0);
    *evals_per_iter =
        (double)(t->evals[t->done - 1] - (skip > 0 ? t->evals[skip - 1] : 0)) / (double)n;
    double m = bench_median(d, n);
    free(d);
    return m;
}

static cls_status run_transfer(cls_ctx *ctx, cls_model *model, int size, cls_optimizer optimizer,
                               int iterations, iter_times *t, cls_transfer_result *result)
{
    cls_image content = {0}, style = {0}, image = {0};
    t->count = iterations;
    t->done = 0;
    t->elapsed = calloc((size_t)iterations, sizeof *t->elapsed);
    t->evals = calloc((size_t)iterations, sizeof *t->evals);
    cls_status status =
        t->elapsed && t->evals ? CLS_OK : cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "timings");
    if (status == CLS_OK)
        status = bench_random_image(size, 11, &content);
    if (status == CLS_OK)
        status = bench_random_image(size, 12, &style);
    cls_transfer_params tp = cls_transfer_params_default();
    tp.optimizer = optimizer;
    tp.iterations = iterations;
    tp.progress = record_iteration;
    tp.progress_user = t;
    if (status == CLS_OK)
        status = cls_transfer_run(ctx, model, &content, &style, 1, NULL, &tp, &image, result);
    cls_image_free(&image);
    cls_image_free(&style);
    cls_image_free(&content);
    return status;
}

static void free_times(iter_times *t)
{
    free(t->elapsed);
    free(t->evals);
}

/* One evaluation: an Adam run, which evaluates exactly once per iteration; the first
 * iteration and `warmup` more are left out. */
cls_status bench_eval_size(cls_ctx *ctx, cls_model *model, int size, const bench_options *o,
                           bench_out *out, double *eval_s)
{
    cls_status status = CLS_OK;
    size_t bytes = 0;
    iter_times t = {0};
    cls_transfer_result result;
    cls_transfer_params defaults = cls_transfer_params_default();
    CLS_TRY(cls_transfer_plan_bytes(model, size, size, &defaults, &bytes));
    const int count = 1 + o->warmup + o->repeats;
    CLS_TRY(run_transfer(ctx, model, size, CLS_OPTIMIZER_ADAM, count, &t, &result));
    if (t.done != count) {
        status = cls_error(CLS_ERR_UNSUPPORTED, "the run stopped after %d of %d iterations: %s",
                           t.done, count, result.stop_reason);
        goto fail;
    }
    double per_iter = 0;
    *eval_s = iteration_median(&t, 1 + o->warmup, &per_iter);
    if (bench_item(out))
        printf("{\"op\": \"eval\", \"size\": %d, \"eval_s\": %.6f, \"device_bytes\": %zu, "
               "\"warmup\": %d, \"repeats\": %d}",
               size, *eval_s, bytes, o->warmup, o->repeats);
    else
        printf("eval %4dx%-4d  %9.2f ms per evaluation   device memory %8.1f MiB\n", size, size,
               *eval_s * 1e3, (double)bytes / (1024.0 * 1024.0));
    fflush(stdout);
fail:
    free_times(&t);
    return status;
}

/* A default L-BFGS transfer (strong-Wolfe line search, history 100): seconds per
 * iteration after the first (whose line search from the content image takes several
 * evaluations), evaluations per iteration, and the mean over the whole run. A short run may
 * stop on its evaluation budget (1.25 x iterations, as in PyTorch); what it did is reported. */
static cls_status bench_transfer(cls_ctx *ctx, cls_model *model, int size, const bench_options *o,
                                 bench_out *out)
{
    cls_status status = CLS_OK;
    iter_times t = {0};
    cls_transfer_result result;
    const int count = o->transfer_iters > 0 ? o->transfer_iters : 8;
    CLS_TRY(run_transfer(ctx, model, size, CLS_OPTIMIZER_LBFGS, count, &t, &result));
    double evals_per_iter = 0;
    const int skip = t.done > 1 ? 1 : 0;
    const double per_iter = iteration_median(&t, skip, &evals_per_iter);
    const double mean = result.iterations ? result.seconds / result.iterations : 0.0;
    const double per_eval = result.evals ? result.seconds / result.evals : 0.0;
    if (bench_item(out))
        printf("{\"op\": \"lbfgs_iteration\", \"size\": %d, \"iteration_s\": %.6f, "
               "\"evals_per_iteration\": %.3f, \"first_excluded\": %s, "
               "\"mean_iteration_s\": %.6f, \"eval_s\": %.6f, \"iterations\": %d, "
               "\"evals\": %d, \"total_s\": %.3f, \"stop\": \"%s\"}",
               size, per_iter, evals_per_iter, skip ? "true" : "false", mean, per_eval,
               result.iterations, result.evals, result.seconds, result.stop_reason);
    else
        printf("transfer %4dx%-4d L-BFGS %8.2f s per iteration %s (%.2f evaluations each); "
               "whole run %d iterations, %d evaluations, %.1f s = %.2f s per iteration (%s)\n",
               size, size, per_iter, skip ? "after the first" : "(only the first ran)",
               evals_per_iter, result.iterations, result.evals, result.seconds, mean,
               result.stop_reason);
    fflush(stdout);
fail:
    free_times(&t);
    return status;
}

/* ---- the optimiser's own work: L-BFGS on a cheap objective ---- */

/* f(x) = sum of squared neighbour differences of x seen as a 3 x size x size image: one
 * pass over x, never converging within a few hundred iterations (its Hessian is a
 * Laplacian), so the history fills up. */
typedef struct cheap_objective {
    cls_ctx *ctx;
    cls_shape s;
    cl_mem result;
    cl_mem x, grad; /* for timing the objective alone */
} cheap_objective;

static cls_status cheap_eval(void *user, cl_mem x, cl_mem grad, int eval, double *loss)
{
    (void)eval;
    cheap_objective *c = user;
    float value = 0.0f;
    cls_status status = cls_fill(c->ctx, cls_shape_count(c->s), 0.0f, grad);
    if (status == CLS_OK)
        status = cls_loss_tv(c->ctx, CLS_TV_SQUARED, c->s, x, 1.0f, grad, c->result, 0);
    if (status == CLS_OK)
        status = cls_read_floats(c->ctx, c->result, 0, 1, &value);
    *loss = value;
    return status;
}

static cls_status cheap_eval_once(cls_ctx *ctx, void *user)
{
    (void)ctx;
    cheap_objective *c = user;
    double loss;
    return cheap_eval(c, c->x, c->grad, 0, &loss);
}

typedef struct lbfgs_clock {
    double *at;
    int *evals;
    int count, done;
} lbfgs_clock;

static cls_status lbfgs_tick(void *user, const cls_optim_progress *p)
{
    lbfgs_clock *c = user;
    if (p->iteration >= 1 && p->iteration <= c->count) {
        c->at[p->iteration - 1] = cls_now_seconds();
        c->evals[p->iteration - 1] = p->evals;
        c->done = p->iteration;
    }
    return CLS_OK;
}

static cls_status bench_lbfgs(cls_ctx *ctx, int size, const bench_options *o, bench_out *out)
{
    cls_status status = CLS_OK;
    const size_t n = 3 * (size_t)size * (size_t)size;
    cheap_objective c = {.ctx = ctx, .s = {1, 3, size, size}};
    cls_lbfgs *opt = NULL;
    lbfgs_clock clock = {0};
    const int history = o->lbfgs_history;
    const int timed = o->repeats < 3 ? 3 : o->repeats;
    cls_lbfgs_params p = cls_lbfgs_params_default(history + 1 + timed);
    p.history_size = history;
    p.history_on_host = o->lbfgs_host;
    p.max_eval = 4 * p.max_iter;
    clock.count = p.max_iter;
    clock.at = calloc((size_t)clock.count, sizeof *clock.at);
    clock.evals = calloc((size_t)clock.count, sizeof *clock.evals);
    CLS_CHECK_ALLOC(clock.at && clock.evals ? clock.at : NULL, "timings");
    CLS_TRY(bench_random_buffer(ctx, n, 21, &c.x));
    CLS_TRY(bench_random_buffer(ctx, n, 22, &c.grad));
    CLS_TRY(bench_random_buffer(ctx, 4, 23, &c.result));
    double objective_s = 0;
    CLS_TRY(bench_time(ctx, cheap_eval_once, &c, o->warmup, o->repeats, &objective_s));
    CLS_TRY(cls_lbfgs_create(ctx, n, &p, &opt));
    cls_objective objective = {.eval = cheap_eval, .user = &c};
    cls_optim_result result;
    CLS_TRY(cls_lbfgs_run(opt, c.x, &objective, lbfgs_tick, &clock, &result));
    /* The last `timed` iterations, with the history full when the run got that far. */
    const int first = clock.done > timed ? clock.done - timed : 1;
    double durations[64];
    int k = 0;
    for (int i = first; i < clock.done && k < 64; i++)
        durations[k++] = clock.at[i] - clock.at[i - 1];
    const double evals_per_iter =
        k ? (double)(clock.evals[clock.done - 1] - clock.evals[first - 1]) / k : 0.0;
    const double iter_s = bench_median(durations, k);
    const double overhead = iter_s - evals_per_iter * objective_s;
    const int pairs = clock.done - 1 < history ? clock.done - 1 : history;
    if (bench_item(out))
        printf("{\"op\": \"lbfgs_overhead\", \"size\": %d, \"n\": %zu, \"history\": %d, "
               "\"history_used\": %d, \"history_on_host\": %s, \"iteration_s\": %.6f, "
               "\"objective_s\": %.6f, "
               "\"evals_per_iteration\": %.3f, \"overhead_s\": %.6f, \"iterations\": %d, "
               "\"stop\": \"%s\"}",
               size, n, history, pairs, o->lbfgs_host ? "true" : "false", iter_s, objective_s,
               evals_per_iter, overhead, clock.done, cls_stop_reason_str(result.reason));
    else
        printf("lbfgs %4dx%-4d optimiser work %8.2f ms per iteration (history %d of %d%s; "
               "%.1f ms per iteration with a %.2f ms objective x %.2f)\n",
               size, size, overhead * 1e3, pairs, history, o->lbfgs_host ? " on the host" : "",
               iter_s * 1e3, objective_s * 1e3, evals_per_iter);
    fflush(stdout);
fail:
    cls_lbfgs_destroy(opt);
    release(&c.x, 1);
    release(&c.grad, 1);
    release(&c.result, 1);
    free(clock.at);
    free(clock.evals);
    return status;
}

/* ---- the report ---- */

static void conv_header(const bench_peak *peak, int size)
{
    printf("\n== %dx%d input (peak %.1f GFLOP/s) ==\n", size, size, peak->gflops);
    printf("%-10s %-9s %-9s %3s %9s %8s %7s %11s %8s %7s  %s\n", "layer", "channels", "map", "n",
           "fwd ms", "GFLOP/s", "peak", "bwd-data ms", "GFLOP/s", "peak", "algorithm");
}

static cls_status report_size(cls_ctx *ctx, cls_model *model, int size, const bench_options *o,
                              const bench_peak *peak, bench_out *out)
{
    cls_status status = CLS_OK;
    size_totals totals = {0};
    double eval_s = 0;
    if (!out->json)
        conv_header(peak, size);
    if (o->parts & BENCH_PART_CONV) {
        int layers = 0;
        for (size_t i = 0; i < sizeof vgg19_convs / sizeof vgg19_convs[0]; i++) {
            CLS_TRY(bench_conv_layer(ctx, o, peak, size, &vgg19_convs[i], out, &totals));
            layers += vgg19_convs[i].layers;
        }
        if (!out->json)
            printf("%-10s %d layers per evaluation %14.2f %27.2f\n"
                   "(GFLOP/s: the direct convolution's 2 x 9 x Cin x Cout x H x W over the time, "
                   "whatever the algorithm;\n peak: the arithmetic done, for Winograd its 36 "
                   "products per 4x4 tile, a quarter of that)\n",
                   "conv sum", layers, totals.conv_fwd * 1e3, totals.conv_bwd * 1e3);
    }
    if (o->parts & (BENCH_PART_GRAM | BENCH_PART_LOSS)) {
        if (!out->json)
            printf("%-14s %-12s %9s %8s %7s %11s %8s %7s\n", "gram", "C x HW", "fwd ms",
                   "GFLOP/s", "peak", "bwd ms", "GFLOP/s", "peak");
        for (size_t i = 0; i < sizeof style_taps / sizeof style_taps[0]; i++)
            CLS_TRY(bench_gram_layer(ctx, o, peak, size, &style_taps[i], out, &totals));
        CLS_TRY(bench_content_loss(ctx, o, size, out, &totals));
    }
    if ((o->parts & BENCH_PART_EVAL) && model)
        CLS_TRY(bench_eval_size(ctx, model, size, o, out, &eval_s));
    if (!out->json && (o->parts & BENCH_PART_CONV) && (o->parts & BENCH_PART_GRAM)) {
        const double sum = totals.conv_fwd + totals.conv_bwd + totals.gram + totals.loss;
        printf("ops per evaluation: conv forward %.0f ms + conv backward-data %.0f ms + Gram "
               "%.0f ms + losses %.0f ms = %.0f ms",
               totals.conv_fwd * 1e3, totals.conv_bwd * 1e3, totals.gram * 1e3, totals.loss * 1e3,
               sum * 1e3);
        if (eval_s > 0)
            printf(" (%.0f%% of the measured evaluation; the rest: ReLU and pooling "
                   "backward, fills, TV)",
                   100.0 * sum / eval_s);
        printf("\n");
    }
    if (o->parts & BENCH_PART_LBFGS)
        CLS_TRY(bench_lbfgs(ctx, size, o, out));
    if ((o->parts & BENCH_PART_TRANSFER) && model)
        CLS_TRY(bench_transfer(ctx, model, size, o, out));
fail:
    return status;
}

cls_status bench_report(cls_ctx *ctx, const bench_options *o, bench_out *out)
{
    cls_status status = CLS_OK;
    cls_model *model = NULL;
    bench_peak peak;
    bench_peak_detect(ctx, o->peak_override, &peak);
    char found[4096];
    const char *path = o->model;
    if (!path && (o->parts & (BENCH_PART_EVAL | BENCH_PART_TRANSFER))) {
        if (cls_model_find(found, sizeof found) == CLS_OK)
            path = found;
        else
            cls_error_clear();
    }
    if (path)
        CLS_TRY(cls_model_load(ctx, path, &model));
    if (bench_item(out))
        printf("{\"op\": \"peak\", \"gflops\": %.2f, \"how\": \"%s\", \"warmup\": %d, "
               "\"repeats\": %d, \"model\": %s}",
               peak.gflops, peak.how, o->warmup, o->repeats, model ? "true" : "false");
    else
        printf("peak: %.1f GFLOP/s = %s\ntimings: median of %d runs after %d warm-up\n",
               peak.gflops, peak.how, o->repeats, o->warmup);
    if (!model && (o->parts & (BENCH_PART_EVAL | BENCH_PART_TRANSFER)) && !out->json)
        printf("no weights (--model, or see `clstyle --help`): evaluation and transfer timings "
               "left out\n");
    for (int i = 0; i < o->nsizes; i++)
        CLS_TRY(report_size(ctx, model, o->sizes[i], o, &peak, out));
fail:
    cls_model_destroy(model);
    return status;
}
