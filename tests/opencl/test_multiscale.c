/* Coarse-to-fine runs (cls_transfer_params.multiscale): the stage plan, a multiscale run equal
 * bit for bit to the same stages run one by one by hand (each resized as documented), the
 * progress the stages report, cancellation in a later stage, bad parameters. Random VGG-19
 * weights of `make-weights --seed 1`, the 64x48 inputs of gatys.py (under
 * CLSTYLE_TEST_QUICK through the first two style layers only). Arguments: GOLDEN_DIR WEIGHTS. */
#include "check.h"
#include "device_util.h"

#include "io/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static cls_model *model;
static cls_image content, style;

static void stage_plan(void)
{
    cls_transfer_params p = cls_transfer_params_default();
    cls_stage s[CLS_MAX_STAGES];
    CHECK(cls_transfer_stages(1024, 724, &p, s) == 1); /* multiscale is off by default */
    CHECK(s[0].width == 1024 && s[0].height == 724 && s[0].iterations == 1000);
    p.multiscale = true;
    p.iterations = 300;
    p.stage_iterations = 100;
    const int longer[] = {128, 181, 256, 362, 512, 724, 1024};
    CHECK(cls_transfer_stages(1024, 724, &p, s) == 7);
    for (int k = 0; k < 7; k++) {
        CHECK(s[k].width == longer[k]);
        CHECK(abs(s[k].height - (int)lround(724.0 * longer[k] / 1024.0)) <= 1);
        CHECK(s[k].iterations == (k == 6 ? 300 : 100));
    }
    p.stage_iterations = 0; /* every stage as the last */
    CHECK(cls_transfer_stages(724, 1024, &p, s) == 7 && s[0].height == 128 &&
          s[0].iterations == 300);
    CHECK(cls_transfer_stages(128, 100, &p, s) == 1 && s[0].width == 128);
    /* A panorama: stages whose shorter side would be under 16 pixels are left out. */
    const int n = cls_transfer_stages(2000, 100, &p, s);
    CHECK(n >= 2 && s[0].height >= 16 && s[n - 1].width == 2000);
    p.min_scale = 16;
    CHECK(cls_transfer_stages(16384, 16384, &p, s) == 21);
    p.min_scale = 8;
    CHECK(cls_transfer_stages(1024, 724, &p, s) == 0);
    CHECK_CONTAINS(cls_last_error(), "min_scale");
}

typedef struct trace {
    int stage[64], stages[64], width[64], height[64], iteration[64];
    double elapsed[64];
    int count;
    int cancel_stage; /* stop at the first iteration of this stage */
} trace;

static int record(void *user, const cls_progress *p)
{
    trace *t = user;
    if (t->count < 64) {
        t->stage[t->count] = p->stage;
        t->stages[t->count] = p->stages;
        t->width[t->count] = p->width;
        t->height[t->count] = p->height;
        t->iteration[t->count] = p->iteration;
        t->elapsed[t->count] = p->elapsed_s;
        t->count++;
    }
    return p->stage == t->cancel_stage;
}

static cls_image resized(const cls_image *in, int w, int h)
{
    cls_image out = {0};
    CHECK_STATUS(cls_image_resize(in, w, h, &out), CLS_OK);
    return out;
}

/* Adam, whose iteration counts are exact (L-BFGS' first line search may take the whole
 * budget of a short stage); the stages do not depend on the optimiser. */
static cls_transfer_params adam(void)
{
    cls_transfer_params p = cls_transfer_params_default();
    p.optimizer = CLS_OPTIMIZER_ADAM;
    p.learning_rate = 1.0;
    if (check_quick()) { /* valgrind: the same code through two layers, not sixteen */
        p.content_layers = "relu2_1";
        p.style_layers = "relu1_1,relu2_1";
    }
    return p;
}

/* 64x48 with min_scale 32: stages 32x24, 45x34 and 64x48 (longer sides 64 / sqrt(2)^k). */
static cls_transfer_params three_stages(void)
{
    cls_transfer_params p = adam();
    p.multiscale = true;
    p.min_scale = 32;
    p.iterations = 3;
    p.stage_iterations = 2;
    return p;
}

/* The stages by hand: content and style resized by the stage's factor, each stage started
 * from the previous result resized to it. */
static cls_image by_hand(int *iterations, int *evals)
{
    const int w[] = {32, 45, 64}, h[] = {24, 34, 48};
    cls_image previous = {0};
    *iterations = *evals = 0;
    for (int k = 0; k < 3; k++) {
        const double f = w[k] / 64.0;
        cls_image c = resized(&content, w[k], h[k]);
        cls_image s = resized(&style, (int)lround(56 * f), (int)lround(40 * f));
        cls_image init = {0};
        cls_transfer_params p = adam();
        p.iterations = k == 2 ? 3 : 2;
        if (previous.pixels) {
            init = resized(&previous, w[k], h[k]);
            p.init = CLS_INIT_IMAGE;
            p.init_image = &init;
        }
        cls_image_free(&previous);
        cls_transfer_result r;
        CHECK_STATUS(cls_transfer_run(dev, model, &c, &s, 1, NULL, &p, &previous, &r), CLS_OK);
        *iterations += r.iterations;
        *evals += r.evals;
        cls_image_free(&c);
        cls_image_free(&s);
        cls_image_free(&init);
    }
    return previous;
}

static void stages_equal_runs_by_hand(void)
{
    cls_transfer_params p = three_stages();
    trace t = {0};
    p.progress = record;
    p.progress_user = &t;
    cls_image out;
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r), CLS_OK);
    int iterations, evals;
    cls_image want = by_hand(&iterations, &evals);
    printf("  multiscale: %d iterations, %d evaluations, loss %.6e; by hand %d, %d\n", r.iterations,
           r.evals, r.loss, iterations, evals);
    CHECK(r.iterations == 7 && r.iterations == iterations && r.evals == evals);
    CHECK(out.width == 64 && out.height == 48 && want.pixels);
    size_t differ = 0;
    for (size_t i = 0; out.pixels && want.pixels && i < (size_t)3 * 64 * 48; i++)
        differ += out.pixels[i] != want.pixels[i];
    printf("  %zu of %d values differ from the stages run by hand\n", differ, 3 * 64 * 48);
    CHECK(differ == 0);
    /* Progress: stage k of 3 at its size, iterations counted within the stage, the time
     * from the first stage on. */
    const int stage[] = {1, 1, 2, 2, 3, 3, 3}, width[] = {32, 32, 45, 45, 64, 64, 64};
    CHECK(t.count == 7);
    for (int i = 0; i < t.count && i < 7; i++) {
        CHECK(t.stage[i] == stage[i] && t.stages[i] == 3 && t.width[i] == width[i]);
        CHECK(t.iteration[i] == (i < 4 ? i % 2 + 1 : i - 3));
        CHECK(i == 0 || t.elapsed[i] >= t.elapsed[i - 1]);
    }
    cls_image_free(&out);
    cls_image_free(&want);
}

/* Cancelled in the second stage: its image, resized to the content's size, is the output. */
static void cancel_in_a_later_stage(void)
{
    cls_transfer_params p = three_stages();
    trace t = {.cancel_stage = 2};
    p.progress = record;
    p.progress_user = &t;
    cls_image out;
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r), CLS_OK);
    CHECK(r.cancelled && r.iterations == 3);
    CHECK(out.pixels && out.width == 64 && out.height == 48);
    cls_image_free(&out);
}

/* The first stage's last iteration asks to stop through the cancel callback, which the
 * second stage polls while it prepares: the first stage's image, resized, and its loss. */
typedef struct stop_after {
    bool stop;
    int stage_iterations;
} stop_after;

static int note_last_iteration(void *user, const cls_progress *p)
{
    stop_after *s = user;
    s->stop = s->stop || (p->stage == 1 && p->iteration == s->stage_iterations);
    return 0;
}

static int stop_requested(void *user)
{
    return ((stop_after *)user)->stop;
}

static void cancel_between_stages(void)
{
    cls_transfer_params p = three_stages();
    stop_after s = {false, p.stage_iterations};
    p.progress = note_last_iteration;
    p.progress_user = &s;
    p.cancel = stop_requested;
    p.cancel_user = &s;
    cls_image out;
    cls_transfer_result r;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, &r), CLS_OK);
    printf("  cancelled %d, %d iterations, loss %.6e\n", r.cancelled, r.iterations, r.loss);
    CHECK(r.cancelled && r.iterations == 2 && r.loss > 0.0);
    CHECK(out.pixels && out.width == 64 && out.height == 48);
    cls_image_free(&out);
}

static void bad_parameters(void)
{
    cls_transfer_params p = three_stages();
    cls_image out;
    p.min_scale = 15;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, NULL),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "min_scale");
    CHECK(out.pixels == NULL);
    p = three_stages();
    p.stage_iterations = -1;
    CHECK_STATUS(cls_transfer_run(dev, model, &content, &style, 1, NULL, &p, &out, NULL),
                 CLS_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "stage iterations");
    CHECK(out.pixels == NULL);
    size_t bytes = 0;
    CHECK_STATUS(cls_transfer_plan_bytes(model, 64, 48, &p, &bytes), CLS_ERR_INVALID_ARGUMENT);
}

int main(int argc, char **argv)
{
    const int failed = dev_open_with_model(argc, argv, &model);
    if (failed)
        return failed;
    golden_file g;
    golden_open(&g, "gatys_inputs.gold");
    content = golden_image(&g, "content", 64, 48);
    style = golden_image(&g, "style", 56, 40);
    CHECK(golden_close(&g));
    RUN_CASE(stage_plan);
    RUN_CASE(stages_equal_runs_by_hand);
    RUN_CASE(cancel_in_a_later_stage);
    RUN_CASE(cancel_between_stages);
    RUN_CASE(bad_parameters);
    cls_image_free(&content);
    cls_image_free(&style);
    cls_model_destroy(model);
    dev_close();
    return check_report();
}
