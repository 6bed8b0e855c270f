/* Style transfer end to end against the PyTorch implementation of the same algorithm
 * (tests/reference/gatys.py), with the random VGG-19 weights of `make-weights --seed 1`:
 * iteration-0 losses, the loss after 10 iterations, the output image; monotonic L-BFGS
 * progress; cancellation; input validation. Under CLSTYLE_TEST_QUICK, without the Adam run
 * and the 50-iteration run. Arguments: GOLDEN_DIR WEIGHTS. */
#include "check.h"
#include "device_util.h"

#include "ops/conv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static cls_model *model;

typedef struct inputs {
    golden_file g;
    cls_image content, style, shifted;
} inputs;

static void open_inputs(inputs *in)
{
    golden_open(&in->g, "gatys_inputs.gold");
    in->content = golden_image(&in->g, "content", 64, 48);
    in->style = golden_image(&in->g, "style", 56, 40);
    in->shifted = golden_image(&in->g, "shifted", 64, 48);
}

static void close_inputs(inputs *in)
{
    CHECK(golden_close(&in->g));
    cls_image_free(&in->content);
    cls_image_free(&in->style);
    cls_image_free(&in->shifted);
}

typedef struct trace {
    double loss[64], content[64], style[64], tv[64];
    int count;
    int cancel_at;
} trace;

static int record(void *user, const cls_progress *p)
{
    trace *t = user;
    if (p->iteration < 64) {
        t->loss[p->iteration] = p->loss;
        t->content[p->iteration] = p->content;
        t->style[p->iteration] = p->style;
        t->tv[p->iteration] = p->tv;
        t->count = p->iteration;
    }
    CHECK(fabs(p->content + p->style + p->tv - p->loss) <= 1e-6 * fabs(p->loss));
    return t->cancel_at && p->iteration == t->cancel_at;
}

static double rel(double got, double want)
{
    return fabs(got - want) / fmax(fabs(want), 1e-30);
}

static double mean_abs_diff(const cls_image *img, const float *chw)
{
    const int plane = img->width * img->height;
    double sum = 0.0;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < plane; i++)
            sum += fabs(img->pixels[3 * i + c] - chw[(size_t)c * plane + i]);
    return sum / (3.0 * plane);
}

/* Iteration-0 losses: one Adam iteration reports the losses of the start image. */
static void first_losses(const inputs *in, cls_init init, const float *want)
{
    cls_transfer_params p = cls_transfer_params_default();
    p.optimizer = CLS_OPTIMIZER_ADAM;
    p.iterations = 1;
    p.init = init;
    p.init_image = &in->shifted;
    trace t = {0};
    p.progress = record;
    p.progress_user = &t;
    cls_image out;
    CHECK_STATUS(cls_transfer_run(dev, model, &in->content, &in->style, 1, NULL, &p, &out, NULL),
                 CLS_OK);
    const double got[4] = {t.loss[1], t.content[1], t.style[1], t.tv[1]};
    const char *names[4] = {"total", "content", "style", "tv"};
    for (int k = 0; k < 4; k++) {
        double err = want[k] == 0.0 ? fabs(got[k]) : rel(got[k], want[k]);
        printf("  iteration-0 %-7s %.6e (torch %.6e) rel err %.2e\n", names[k], got[k],
               (double)want[k], err);
        CHECK(want[k] == 0.0 ? got[k] == 0.0 : err <= 1e-4);
    }
    cls_image_free(&out);
}

/* The losses at a start whose content term is not 0 (the content image shifted). */
static void shifted_start_losses(void)
{
    inputs in;
    open_inputs(&in);
    first_losses(&in, CLS_INIT_IMAGE, golden_tensor(&in.g, "shifted_losses", 4));
    close_inputs(&in);
}

/* Ten iterations against gatys.py: the loss to 1e-2 relative and the image to a mean
 * absolute difference of 1.0, or, when PyTorch's own result moves more than that under
 * float32-sized noise (sensitivity_*: the default L-BFGS settings are chaotic on random
 * weights; see gatys.py), to twice its move: that is a maximum over 16 samples, which an
 * independent float32 run may pass (2.10 against 2.07 here), as in short_run. */
static void compare_run(const char *file, cls_optimizer optimizer, double learning_rate)
{
    inputs in;
    open_inputs(&in);
    golden_file g;
    golden_open(&g, file);
    const ref_golden_tensor *rows = ref_golden_find(&g.data, "evals"); /* evals x 4 */
    CHECK(rows && rows->ndim == 2 && rows->dims[1] == 4);
    if (!rows)
        return;
    const float *evals = rows->data;
    first_losses(&in, CLS_INIT_CONTENT, evals);

    cls_transfer_params p = cls_transfer_params_default();
    p.iterations = 10;
    p.optimizer = optimizer;
    p.learning_rate = learning_rate;
    trace t = {0};
    p.progress = record;
    p.progress_user = &t;
    cls_image out;
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &in.content, &in.style, 1, NULL, &p, &out, &r),
                 CLS_OK);
    /* L-BFGS reports the loss of its final image; Adam the one before its last step. */
    const size_t n = rows->dims[0];
    const double want =
        optimizer == CLS_OPTIMIZER_LBFGS ? golden_tensor(&g, "final", 4)[0] : evals[4 * (n - 1)];
    printf("  after 10 iterations (%d evaluations, torch %zu): loss %.6e (torch %.6e), rel err "
           "%.2e\n",
           r.evals, n, r.loss, want, rel(r.loss, want));
    const double spread_loss = golden_tensor(&g, "sensitivity_loss", 1)[0];
    const double spread_mad = golden_tensor(&g, "sensitivity_mad", 1)[0];
    const double loss_tol = spread_loss > 1e-2 ? 2.0 * spread_loss : 1e-2;
    const double mad_tol = spread_mad > 1.0 ? 2.0 * spread_mad : 1.0;
    printf("  tolerances: loss %.2e, image %.4f\n", loss_tol, mad_tol);
    CHECK(rel(r.loss, want) <= loss_tol);
    CHECK((size_t)r.evals == n);
    if (optimizer == CLS_OPTIMIZER_LBFGS)
        for (int i = 2; i <= t.count; i++)
            CHECK(t.loss[i] <= t.loss[i - 1]);
    const double mad = mean_abs_diff(&out, golden_tensor(&g, "output", (size_t)3 * 48 * 64));
    printf("  output image: mean abs difference %.4f (0..255 scale)\n", mad);
    CHECK(mad <= mad_tol);
    cls_image_free(&out);
    CHECK(golden_close(&g));
    close_inputs(&in);
}

static void lbfgs_default_settings(void)
{
    compare_run("gatys_lbfgs_content.gold", CLS_OPTIMIZER_LBFGS, 0.0);
}

static void adam(void)
{
    compare_run("gatys_adam.gold", CLS_OPTIMIZER_ADAM, 1.0);
}

/* 1, 2 and 3 L-BFGS iterations, whose evaluation budgets (1, 2, 3) are shorter than the first
 * line search (gatys_lbfgs_short.gold): the evaluation count within those of PyTorch's own
 * runs (this one's and 16 perturbed ones': exactly where they all agree), a final loss below
 * the start's, and the final loss to 1e-3 relative where the search is well-conditioned. At lr 1
 * the first search is chaotic (see gatys.py): PyTorch's own final loss moves by up to its
 * measured spread over 16 perturbed runs, a sample maximum that clstyle's float32 run has
 * landed just past (23% against 21% on a CI machine; 14% here), so a chaotic case is held to
 * twice that spread. "ls25": every search may take 25 evaluations (clstyle's default, older
 * PyTorch); "budget": a search stops at the budget (max_line_search 0, PyTorch 2.15). */
static void short_run(const char *mode, int max_line_search, double lr, int iterations)
{
    inputs in;
    open_inputs(&in);
    golden_file g;
    golden_open(&g, "gatys_lbfgs_short.gold");
    char name[64];
    snprintf(name, sizeof name, "%s/lr%g/iter%d/evals", mode, lr, iterations);
    const ref_golden_tensor *rows = ref_golden_find(&g.data, name);
    CHECK(rows && rows->ndim == 2 && rows->dims[1] == 4);
    snprintf(name, sizeof name, "%s/lr%g/iter%d/final", mode, lr, iterations);
    const double want = golden_tensor(&g, name, 4)[0];
    snprintf(name, sizeof name, "%s/lr%g/iter%d/sensitivity_loss", mode, lr, iterations);
    const double spread = golden_tensor(&g, name, 1)[0];
    const double loss_tol = spread > 1e-3 ? 2.0 * spread : 1e-3;

    cls_transfer_params p = cls_transfer_params_default();
    p.iterations = iterations;
    p.max_line_search = max_line_search;
    p.learning_rate = lr;
    cls_image out;
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &in.content, &in.style, 1, NULL, &p, &out, &r),
                 CLS_OK);
    const int want_evals = rows ? (int)rows->dims[0] : -1;
    /* PyTorch's own moved runs may take another count (at lr 1: 6 or 7 with ls25). */
    snprintf(name, sizeof name, "%s/lr%g/iter%d/sensitivity_evals", mode, lr, iterations);
    const float *evals_range = golden_tensor(&g, name, 2);
    printf("  %s, lr %g, %d iterations: %d evaluations (torch %d, its runs %g to %g), loss %.6e "
           "(torch %.6e), rel err %.2e (tolerance %.2e)\n",
           mode, lr, iterations, r.evals, want_evals, evals_range[0], evals_range[1], r.loss, want,
           rel(r.loss, want), loss_tol);
    CHECK(want_evals >= evals_range[0] && want_evals <= evals_range[1]);
    CHECK(r.evals >= evals_range[0] && r.evals <= evals_range[1]);
    CHECK(rows && r.loss < rows->data[0]); /* row 0: the start's total loss */
    CHECK(rel(r.loss, want) <= loss_tol);
    cls_image_free(&out);
    CHECK(golden_close(&g));
    close_inputs(&in);
}

static void short_runs_search_past_the_budget(void)
{
    for (int k = 1; k <= (check_quick() ? 1 : 3); k++) { /* quick: the telling case */
        if (!check_quick())
            short_run("ls25", 25, 1.0, k);
        short_run("ls25", 25, 300.0, k);
    }
}

static void short_runs_search_within_the_budget(void)
{
    for (int k = 1; k <= (check_quick() ? 1 : 3); k++) { /* quick: the telling case */
        if (!check_quick())
            short_run("budget", 0, 1.0, k);
        short_run("budget", 0, 300.0, k);
    }
}

/* 64x64, 50 L-BFGS iterations from noise: the loss falls at every iteration and the
 * image stays finite. */
static void long_run_decreases(void)
{
    cls_image content, style;
    cls_image_alloc(&content, 64, 64);
    cls_image_alloc(&style, 48, 48);
    ref_rng rng = ref_rng_make(5);
    ref_rng_fill(&rng, content.pixels, (size_t)64 * 64 * 3, 0.0f, 255.0f);
    ref_rng_fill(&rng, style.pixels, (size_t)48 * 48 * 3, 0.0f, 255.0f);
    cls_transfer_params p = cls_transfer_params_default();
    p.iterations = 50;
    p.init = CLS_INIT_RANDOM;
    p.seed = 3;
    trace t = {0};
    p.progress = record;
    p.progress_user = &t;
    cls_image out;
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r), CLS_OK);
    int increases = 0;
    for (int i = 2; i <= t.count; i++)
        increases += t.loss[i] > t.loss[i - 1];
    printf("  %d iterations, %d evaluations, loss %.4e -> %.4e, %d increases, %.1f s, %.1f MiB\n",
           r.iterations, r.evals, t.loss[1], r.loss, increases, r.seconds,
           (double)r.device_bytes / 1048576.0);
    CHECK(increases == 0);
    CHECK(r.loss < t.loss[1]);
    bool finite = out.pixels != NULL;
    for (int i = 0; finite && i < 64 * 64 * 3; i++)
        finite = isfinite(out.pixels[i]) && out.pixels[i] >= 0.0f && out.pixels[i] <= 255.0f;
    CHECK(finite);
    cls_image_free(&out);
    cls_image_free(&content);
    cls_image_free(&style);
}

static cls_image run_lbfgs(const inputs *in, int iterations)
{
    cls_transfer_params p = cls_transfer_params_default();
    p.iterations = iterations;
    cls_image out = {0};
    CHECK_STATUS(cls_transfer_run(dev, model, &in->content, &in->style, 1, NULL, &p, &out, NULL),
                 CLS_OK);
    return out;
}

static bool same_pixels(const cls_image *a, const cls_image *b)
{
    return a->pixels && b->pixels && a->width == b->width && a->height == b->height &&
           memcmp(a->pixels, b->pixels, sizeof(float) * 3 * a->width * a->height) == 0;
}

/* The convolution choices a first run measures change the image (so timing noise on a
 * fresh cache could), and a reproducible context ignores them: it gives the image of the
 * device rule bit for bit, whatever was measured. */
static void reproducible_ignores_measured_choices(void)
{
    inputs in;
    open_inputs(&in);
    dev->reproducible = true;
    cls_image rule = run_lbfgs(&in, 3);
    dev->reproducible = false;
    /* Measure every layer shape (as a GPU does by default); make each the other algorithm's. */
    const bool saved_measure = dev->tunables.conv_measure;
    dev->tunables.conv_measure = true;
    const cls_transfer_params defaults = cls_transfer_params_default();
    CHECK_STATUS(cls_transfer_choose_algorithms(model, 64, 48, &defaults, false, NULL), CLS_OK);
    CHECK(dev->conv_choice_count > 0);
    for (size_t i = 0; i < dev->conv_choice_count; i++) {
        cls_conv_choice *c = &dev->conv_choices[i];
        const cls_shape in_shape = {c->n, c->cin, c->h, c->w};
        c->algo = cls_conv3x3_rule(dev, in_shape, c->cout) == CLS_CONV_DIRECT ? CLS_CONV_WINOGRAD
                                                                              : CLS_CONV_DIRECT;
    }
    cls_image flipped = run_lbfgs(&in, 3);
    dev->reproducible = true;
    cls_image again = run_lbfgs(&in, 3);
    dev->reproducible = false;
    printf("  %zu layer shapes flipped; the image %s with them, %s bit for bit without\n",
           dev->conv_choice_count, same_pixels(&rule, &flipped) ? "is the same" : "changes",
           same_pixels(&rule, &again) ? "the same" : "NOT the same");
    CHECK(!same_pixels(&rule, &flipped));
    CHECK(same_pixels(&rule, &again));
    /* Later cases measure afresh, where the device does. */
    dev->tunables.conv_measure = saved_measure;
    free(dev->conv_choices);
    dev->conv_choices = NULL;
    dev->conv_choice_count = 0;
    cls_image_free(&rule);
    cls_image_free(&flipped);
    cls_image_free(&again);
    close_inputs(&in);
}

static void cancel_returns_current_image(void)
{
    inputs in;
    open_inputs(&in);
    cls_transfer_params p = cls_transfer_params_default();
    p.iterations = 20;
    trace t = {.cancel_at = 2};
    p.progress = record;
    p.progress_user = &t;
    cls_image out;
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &in.content, &in.style, 1, NULL, &p, &out, &r),
                 CLS_OK);
    CHECK(r.cancelled && r.iterations == 2 && out.pixels && out.width == 64);
    cls_image_free(&out);
    close_inputs(&in);
}

static void bad_parameters(void)
{
    inputs in;
    open_inputs(&in);
    cls_image out;
    cls_transfer_params p = cls_transfer_params_default();
    p.style_layers = "relu1_1,relu9_9";
    CHECK_STATUS(cls_transfer_run(dev, model, &in.content, &in.style, 1, NULL, &p, &out, NULL),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "relu9_9");
    p = cls_transfer_params_default();
    p.style_weight = NAN;
    CHECK_STATUS(cls_transfer_run(dev, model, &in.content, &in.style, 1, NULL, &p, &out, NULL),
                 CLS_ERR_INVALID_ARGUMENT);
    p = cls_transfer_params_default();
    double weights[2] = {1, 2};
    p.style_layer_weights = weights;
    p.style_layer_weight_count = 2;
    CHECK_STATUS(cls_transfer_run(dev, model, &in.content, &in.style, 1, NULL, &p, &out, NULL),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "2 weights given for 5 style layers");
    p = cls_transfer_params_default();
    p.init = CLS_INIT_STYLE; /* the style image is 56x40, the content 64x48 */
    CHECK_STATUS(cls_transfer_run(dev, model, &in.content, &in.style, 1, NULL, &p, &out, NULL),
                 CLS_ERR_SHAPE);
    CHECK(out.pixels == NULL);
    close_inputs(&in);
}

int main(int argc, char **argv)
{
    const int failed = dev_open_with_model(argc, argv, &model);
    if (failed)
        return failed;
    RUN_CASE(shifted_start_losses);
    RUN_CASE(lbfgs_default_settings);
    RUN_CASE(short_runs_search_past_the_budget);
    RUN_CASE(short_runs_search_within_the_budget);
    if (!check_quick()) { /* what these add to the others is numbers, not code paths */
        RUN_CASE(adam);   /* Adam's step is in every first_losses */
        RUN_CASE(long_run_decreases);
    }
    if (!check_quick()) /* nine L-BFGS evaluations for one flag: minutes under valgrind */
        RUN_CASE(reproducible_ignores_measured_choices);
    RUN_CASE(cancel_returns_current_image);
    RUN_CASE(bad_parameters);
    cls_model_destroy(model);
    dev_close();
    return check_report();
}
