/* Fast-style training in clstyle-bench: seconds per training step of a transformer network
 * (pytorch/examples fast_neural_style `neural_style.py train`) with a VGG-16 loss network,
 * images per second, and the device memory of a step. Every timed step is the whole
 * cls_trainer_step call: upload of the batch, the transformer's forward pass, VGG-16 and the
 * losses, both backward passes and the Adam update of every weight. */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>

/* The host data of the benchmark, bench_random_image's generator (an LCG, the values in
 * 0..255): bench/peer/torch_train.py draws the same numbers, so the two sides' first step
 * computes the same losses from the same weights. */
enum { TRAIN_BATCH_SEED = 41, TRAIN_STYLE_SEED = 43 };

static float *random_batch(int batch, int size, unsigned seed)
{
    const size_t count = (size_t)batch * 3 * (size_t)size * (size_t)size;
    float *v = malloc(count * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)(seed >> 8) / (float)(1 << 24) * 255.0f;
    }
    return v;
}

typedef struct train_run {
    cls_trainer *trainer;
    const float *images;
    int count;
    cls_train_losses losses;
} train_run;

static cls_status train_once(cls_ctx *ctx, void *user)
{
    (void)ctx;
    train_run *r = user;
    return cls_trainer_step(r->trainer, r->images, r->count, &r->losses);
}

typedef struct train_result {
    double create_s, first_s, median_s, fastest_s;
    size_t device_bytes, plan_bytes, weight_bytes;
    cls_train_losses first_losses, last_losses;
} train_result;

/* The first step alone (it compiles kernels unless a cache has them), max(warmup, 1) - 1
 * more untimed, then o->repeats timed ones: their median and fastest. */
static cls_status time_steps(cls_ctx *ctx, train_run *r, const bench_options *o,
                             train_result *res)
{
    cls_status status = CLS_OK;
    const int n = o->repeats;
    double *runs = malloc((size_t)n * sizeof *runs);
    CLS_CHECK_ALLOC(runs, "timings");
    CLS_TRY(bench_time(ctx, train_once, r, 0, 1, &res->first_s));
    res->first_losses = r->losses;
    for (int i = 1; i < o->warmup; i++)
        CLS_TRY(train_once(ctx, r));
    for (int i = 0; i < n; i++)
        CLS_TRY(bench_time(ctx, train_once, r, 0, 1, &runs[i]));
    res->last_losses = r->losses;
    res->median_s = bench_median(runs, n); /* sorts */
    res->fastest_s = runs[0];
fail:
    free(runs);
    return status;
}

static void print_train(int size, int batch, const train_result *t, const bench_options *o,
                        bench_out *out)
{
    const double mib = 1024.0 * 1024.0;
    if (bench_item(out))
        printf("{\"op\": \"train\", \"size\": %d, \"batch\": %d, \"s\": %.6f, "
               "\"images_per_s\": %.4f, \"min_s\": %.6f, \"first_s\": %.6f, "
               "\"create_s\": %.6f, \"device_bytes\": %zu, \"plan_bytes\": %zu, "
               "\"weight_bytes\": %zu, \"first_loss\": {\"content\": %.9g, \"style\": %.9g, "
               "\"total\": %.9g}, \"last_loss\": {\"content\": %.9g, \"style\": %.9g, "
               "\"total\": %.9g}, \"warmup\": %d, \"repeats\": %d}",
               size, batch, t->median_s, batch / t->median_s, t->fastest_s, t->first_s,
               t->create_s, t->device_bytes, t->plan_bytes, t->weight_bytes,
               t->first_losses.content, t->first_losses.style, t->first_losses.total,
               t->last_losses.content, t->last_losses.style, t->last_losses.total,
               o->warmup > 0 ? o->warmup : 1, o->repeats);
    else
        printf("train %4dx%-4d batch %d  %9.3f s per step  %7.3f images/s (fastest %.3f s)  "
               "first step %.3f s (trainer created in %.3f s)\n"
               "      device memory %8.1f MiB (planned %.1f MiB) + weights %.1f MiB; "
               "first loss %.6g (content %.6g, style %.6g)\n",
               size, size, batch, t->median_s, batch / t->median_s, t->fastest_s, t->first_s,
               t->create_s, (double)t->device_bytes / mib, (double)t->plan_bytes / mib,
               (double)t->weight_bytes / mib, t->first_losses.total, t->first_losses.content,
               t->first_losses.style);
    fflush(stdout);
}

static cls_status train_size(cls_ctx *ctx, cls_model *vgg16, const char *init, int size,
                             int batch, const bench_options *o, bench_out *out)
{
    cls_status status = CLS_OK;
    cls_ffnet *net = NULL;
    cls_trainer *trainer = NULL;
    cls_image style = {0};
    train_result res = {0};
    train_run r = {.count = batch};
    float *images = NULL;
    /* A fresh network per size: training changes its weights. */
    if (init)
        CLS_TRY(cls_ffnet_load(ctx, init, &net));
    else
        CLS_TRY(cls_ffnet_create_random(ctx, 1, &net));
    cls_train_params tp = cls_train_params_default();
    tp.batch_size = batch;
    tp.image_size = size;
    CLS_TRY(cls_trainer_plan_bytes(vgg16, net, &tp, &res.plan_bytes));
    /* Host data first, outside every timing. */
    CLS_TRY(bench_random_image(size, TRAIN_STYLE_SEED, &style));
    images = random_batch(batch, size, TRAIN_BATCH_SEED);
    CLS_CHECK_ALLOC(images, "a training batch");
    r.images = images;
    CLS_CHECK_CL(clFinish(ctx->queue), "clFinish");
    double start = cls_now_seconds();
    CLS_TRY(cls_trainer_create(vgg16, net, &style, &tp, &trainer));
    res.create_s = cls_now_seconds() - start;
    res.device_bytes = cls_trainer_device_bytes(trainer);
    r.trainer = trainer;
    CLS_TRY(time_steps(ctx, &r, o, &res));
    /* The weights as they are after the steps (derived weights included). */
    res.weight_bytes = cls_model_device_bytes(vgg16) + cls_ffnet_device_bytes(net);
    print_train(size, batch, &res, o, out);
fail:
    cls_trainer_destroy(trainer);
    cls_ffnet_destroy(net);
    cls_image_free(&style);
    free(images);
    return status;
}

cls_status bench_train(cls_ctx *ctx, const char *vgg16_path, const char *init, const int *sizes,
                       int count, int batch, const bench_options *o, bench_out *out)
{
    cls_status status = CLS_OK;
    cls_model *vgg16 = NULL;
    CLS_TRY(cls_model_load(ctx, vgg16_path, &vgg16));
    for (int i = 0; i < count; i++)
        CLS_TRY(train_size(ctx, vgg16, init, sizes[i], batch, o, out));
fail:
    cls_model_destroy(vgg16);
    return status;
}
