/* Training a transformer network against PyTorch running pytorch/examples' neural_style.py
 * train (tests/data/golden/train_steps.gold from reference/make_train_golden.py): random
 * VGG-16 weights and initial TransformerNet weights generated with seed 1, the 8 images of
 * data/images/train/photos at 64x64, batch 2, the default weights and learning rate. The
 * first step's output and gradients per evaluation; the losses of all four steps and the
 * final weights; saving and loading the trained model; bad calls.
 * Arguments: GOLDEN_DIR VGG16 INIT_SAFETENSORS TRAIN_DATA_DIR TMP_DIR. */
#include "check.h"
#include "device_util.h"
#include "ffnet/tape.h"
#include "io/io.h"
#include "train/dataset.h"
#include "train/loss_net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 2, SIZE = 64, STEPS = 4, SAMPLES = 1024, FULL_MAX = 2048 };

static const char *vgg16_path, *init_path, *data_dir, *tmp_dir;
static cls_model *vgg16;

/* Parameters whose exact gradient is zero (a per-channel constant that an instance norm
 * removes again): the bias of every convolution an instance norm follows, and the residual
 * blocks' in2.bias. PyTorch's gradient there is rounding noise that Adam turns into steps of
 * +-lr, so their values are not compared. */
static bool dead(const cls_ffnet *net, const char *name)
{
    if (strstr(name, "in2.bias") && strncmp(name, "res", 3) == 0)
        return true;
    if (!strstr(name, "conv2d.bias"))
        return false;
    for (size_t i = 0; i < net->layer_count; i++) {
        char bias[80];
        snprintf(bias, sizeof bias, "%s.conv2d.bias", net->layers[i].conv);
        if (strcmp(bias, name) == 0)
            return net->layers[i].norm != NULL;
    }
    return false;
}

/* ||got - want|| / ||want|| over want's entries: the whole tensor, or the golden file's
 * evenly spaced samples of it (see make_train_golden.py). */
static double relative_error(const float *got, size_t count, const ref_golden_tensor *want)
{
    const bool sampled = count > FULL_MAX;
    if (!want || want->count != (sampled ? SAMPLES : count))
        return INFINITY;
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < want->count; i++) {
        const size_t at = sampled ? i * count / SAMPLES : i;
        const double d = (double)got[at] - want->data[i];
        diff += d * d;
        norm += (double)want->data[i] * want->data[i];
    }
    return norm > 0.0 ? sqrt(diff / norm) : sqrt(diff);
}

static const ref_golden_tensor *find(const golden_file *g, const char *prefix, const char *name)
{
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const ref_golden_tensor *t = ref_golden_find(&g->data, full);
    if (!t)
        printf("  golden record %s missing\n", full);
    return t;
}

/* The worst relative error over the live tensors (dead ones printed apart); grads: the
 * gradients in the tape, else the weights. */
static double compare_tensors(cls_ffnet *net, cls_ffnet_tape *tape, const golden_file *g,
                              const char *prefix)
{
    double worst = 0.0;
    char worst_name[64] = "";
    for (size_t i = 0; i < cls_ffnet_tensor_count(net); i++) {
        cls_ffnet_tensor t;
        cls_ffnet_tensor_at(net, tape, i, &t);
        if (dead(net, t.name))
            continue;
        const float *got = dev_download(tape ? *t.grad : *t.param, t.count);
        const double e = got ? relative_error(got, t.count, find(g, prefix, t.name)) : INFINITY;
        if (getenv("CLSTYLE_TEST_VERBOSE"))
            printf("    %s %.3g\n", t.name, e);
        if (!(e <= worst)) {
            worst = e;
            snprintf(worst_name, sizeof worst_name, "%s", t.name);
        }
    }
    printf("  %s*: worst relative error %.3g (%s)\n", prefix, worst, worst_name);
    return worst;
}

static cls_image read_style(void)
{
    char path[4096];
    cls_image style = {0};
    snprintf(path, sizeof path, "%s/style.png", data_dir);
    CHECK_STATUS(cls_image_read(path, NULL, &style), CLS_OK);
    return style;
}

/* The first batch (img0, img1) as [2][3][64][64] planes, through the dataset reader. */
static float *first_batch(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/photos", data_dir);
    const cls_dataset_params p = {.dir = dir, .image_size = SIZE, .batch_size = BATCH};
    cls_dataset *d = NULL;
    float *batch = calloc((size_t)BATCH * 3 * SIZE * SIZE, sizeof *batch);
    int count = 0;
    CHECK_STATUS(cls_dataset_open(&p, &d), CLS_OK);
    CHECK_STATUS(cls_dataset_start_epoch(d, 0), CLS_OK);
    CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
    CHECK(count == BATCH);
    cls_dataset_close(d);
    return batch;
}

static bool close_rel(double got, double want, double tol, const char *what)
{
    const double rel = fabs(got - want) / fabs(want);
    printf("  %s: %.9g, PyTorch %.9g (relative %.2g)\n", what, got, want, rel);
    return rel <= tol;
}

/* One evaluation, exact to rounding: the output, the losses and every weight's gradient. */
static void first_step_gradients(void)
{
    golden_file g;
    golden_open(&g, "train_steps.gold");
    cls_image style = read_style();
    float *batch = first_batch();
    cls_ffnet *net = NULL;
    cls_ffnet_tape *tape = NULL;
    cls_loss_net *ln = NULL;
    const cls_loss_net_params lp = {BATCH, SIZE, 1e5, 1e10, 0.0, &style};
    CHECK_STATUS(cls_ffnet_load(dev, init_path, &net), CLS_OK);
    CHECK_STATUS(cls_loss_net_create(vgg16, &lp, &ln), CLS_OK);
    if (net && ln && batch) {
        CHECK_STATUS(cls_ffnet_tape_create(net, BATCH, SIZE, SIZE, &tape), CLS_OK);
        const size_t floats = (size_t)BATCH * 3 * SIZE * SIZE;
        cl_mem x = dev_upload(batch, floats), grad_y = dev_poisoned(floats), y = NULL;
        cls_train_losses losses = {0};
        CHECK_STATUS(cls_ffnet_tape_forward(tape, BATCH, x, &y), CLS_OK);
        CHECK_STATUS(cls_loss_net_evaluate(ln, BATCH, x, y, grad_y), CLS_OK);
        CHECK_STATUS(cls_ffnet_tape_backward(tape, grad_y), CLS_OK);
        CHECK_STATUS(cls_loss_net_losses(ln, &losses), CLS_OK);
        const float *out = dev_download(y, floats);
        const double ey = out ? relative_error(out, floats, find(&g, "", "y1")) : INFINITY;
        printf("  y1: relative error %.3g\n", ey);
        CHECK(ey <= 1e-5);
        CHECK(close_rel(losses.content, golden_tensor(&g, "step1.content", 1)[0], 1e-4,
                        "step 1 content"));
        CHECK(
            close_rel(losses.style, golden_tensor(&g, "step1.style", 1)[0], 1e-4, "step 1 style"));
        /* Not tighter: one ReLU decision of this evaluation is within float32 rounding of
         * zero (conv2_1's pre-activation at image 0, channel 52, (15, 15): -9.3e-6 in
         * float64), which clstyle's summation order flips; that moves the image gradient by
         * 2e-3 around it and every weight gradient by up to 4e-3. PyTorch float32 is within
         * 4e-6 of float64 here. */
        CHECK(compare_tensors(net, tape, &g, "grad1.") <= 1e-2);
    }
    cls_ffnet_tape_destroy(tape);
    cls_loss_net_destroy(ln);
    cls_ffnet_destroy(net);
    cls_image_free(&style);
    free(batch);
    CHECK(golden_close(&g));
}

/* The trainer over the dataset, four steps as neural_style.py takes them at learning rate
 * lr: each step's losses against the golden file's within tolerance[step], the final
 * weights within final_tolerance. */
static void run_steps(const char *file, double lr, const double tolerance[STEPS + 1],
                      double final_tolerance)
{
    golden_file g;
    golden_open(&g, file);
    cls_image style = read_style();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/photos", data_dir);
    const cls_dataset_params dp = {.dir = dir, .image_size = SIZE, .batch_size = BATCH};
    cls_dataset *d = NULL;
    cls_ffnet *net = NULL;
    cls_trainer *tr = NULL;
    cls_train_params tp = cls_train_params_default();
    tp.batch_size = BATCH;
    tp.image_size = SIZE;
    tp.learning_rate = lr;
    float *batch = calloc((size_t)BATCH * 3 * SIZE * SIZE, sizeof *batch);
    CHECK_STATUS(cls_ffnet_load(dev, init_path, &net), CLS_OK);
    CHECK_STATUS(cls_dataset_open(&dp, &d), CLS_OK);
    if (net && d && batch) {
        CHECK_STATUS(cls_trainer_create(vgg16, net, &style, &tp, &tr), CLS_OK);
        CHECK_STATUS(cls_dataset_start_epoch(d, 0), CLS_OK);
    }
    printf("  %s (lr %g):\n", file, lr);
    for (int k = 1; tr && k <= STEPS; k++) {
        int count = 0;
        cls_train_losses l = {0};
        char name[64];
        CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
        CHECK(count == BATCH);
        CHECK_STATUS(cls_trainer_step(tr, batch, count, &l), CLS_OK);
        snprintf(name, sizeof name, "step%d.content", k);
        CHECK(close_rel(l.content, golden_tensor(&g, name, 1)[0], tolerance[k], name));
        snprintf(name, sizeof name, "step%d.style", k);
        CHECK(close_rel(l.style, golden_tensor(&g, name, 1)[0], tolerance[k], name));
    }
    if (tr) {
        CHECK(cls_trainer_steps(tr) == STEPS);
        CHECK(compare_tensors(net, NULL, &g, "final.") <= final_tolerance);
    }
    cls_trainer_destroy(tr);
    cls_dataset_close(d);
    cls_ffnet_destroy(net);
    cls_image_free(&style);
    free(batch);
    CHECK(golden_close(&g));
}

/* At lr 1e-4 the trajectory is well conditioned (PyTorch with 2 threads stays within 5e-5
 * of 1 thread over the four steps): every step and the final weights within 1e-3. */
static void steps_match_pytorch(void)
{
    static const double tolerance[STEPS + 1] = {0, 1e-4, 1e-3, 1e-3, 1e-3};
    run_steps("train_steps_lr1e-4.gold", 1e-4, tolerance, 1e-3);
}

/* At the default lr 1e-3 Adam's first steps move every weight by about lr whatever its
 * gradient's size, which amplifies rounding about tenfold a step: PyTorch itself with 2
 * threads instead of 1 differs by 1e-5, 4e-4 and 2e-3 at steps 2, 3 and 4, and the ReLU
 * decision of first_step_gradients (a 2e-3 gradient difference) grows to a few 1e-3. */
static void default_rate_steps(void)
{
    static const double tolerance[STEPS + 1] = {0, 1e-4, 2e-3, 2e-2, 2e-2};
    run_steps("train_steps.gold", 1e-3, tolerance, 2e-2);
}

/* Under valgrind (CLSTYLE_TEST_QUICK): one small step of every part, the model saved and
 * loaded back, instead of the 64x64 runs against PyTorch. */
static void small_step(void)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/photos", data_dir);
    snprintf(path, sizeof path, "%s/test_train_small.safetensors", tmp_dir);
    const cls_dataset_params dp = {.dir = dir, .image_size = 16, .batch_size = 2};
    cls_image style = read_style();
    cls_dataset *d = NULL;
    cls_ffnet *net = NULL, *back = NULL;
    cls_trainer *tr = NULL;
    cls_train_params tp = cls_train_params_default();
    tp.batch_size = 2;
    tp.image_size = 16;
    tp.tv_weight = 1.0;
    float batch[2 * 3 * 16 * 16];
    int count = 0;
    cls_train_losses l = {0};
    CHECK_STATUS(cls_ffnet_create_random(dev, 3, &net), CLS_OK);
    CHECK_STATUS(cls_dataset_open(&dp, &d), CLS_OK);
    if (net && d) {
        CHECK_STATUS(cls_trainer_create(vgg16, net, &style, &tp, &tr), CLS_OK);
        CHECK_STATUS(cls_dataset_start_epoch(d, 0), CLS_OK);
        CHECK_STATUS(cls_dataset_next_batch(d, batch, &count), CLS_OK);
    }
    if (tr) {
        CHECK_STATUS(cls_trainer_step(tr, batch, 1, &l), CLS_OK); /* a short batch */
        CHECK_STATUS(cls_trainer_step(tr, batch, count, &l), CLS_OK);
        CHECK(isfinite(l.total) && l.tv > 0.0 && l.total > l.content + l.style);
        CHECK_STATUS(cls_ffnet_save(net, path), CLS_OK);
        CHECK_STATUS(cls_ffnet_load(dev, path, &back), CLS_OK);
    }
    remove(path);
    cls_ffnet_destroy(back);
    cls_trainer_destroy(tr);
    cls_dataset_close(d);
    cls_ffnet_destroy(net);
    cls_image_free(&style);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s GOLDEN_DIR VGG16 INIT_SAFETENSORS TRAIN_DATA_DIR TMP_DIR\n",
                argv[0]);
        return 2;
    }
    vgg16_path = argv[2];
    init_path = argv[3];
    data_dir = argv[4];
    tmp_dir = argv[5];
    if (!dev_open(argc, argv))
        return 1;
    if (cls_model_load(dev, vgg16_path, &vgg16) != CLS_OK) {
        fprintf(stderr, "loading %s: %s\n", vgg16_path, cls_last_error());
        return 1;
    }
    if (check_quick()) {
        RUN_CASE(small_step);
    } else {
        RUN_CASE(first_step_gradients);
        RUN_CASE(steps_match_pytorch);
        RUN_CASE(default_rate_steps);
        RUN_CASE(small_step);
    }
    cls_model_destroy(vgg16);
    dev_close();
    return check_report();
}
