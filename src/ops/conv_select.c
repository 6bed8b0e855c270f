/* Which 3x3 convolution algorithm a layer shape uses on a device: forced by $CLSTYLE_CONV,
 * else, on devices that time them (not CPUs, whose rule in runtime/tunables.c was measured;
 * or anywhere with CLSTYLE_CONV=measure), measured (both algorithms timed on the layer's
 * whole shape, forward + backward-data, once per device and shape, kept in the context and
 * in the cache directory), else, for a shape nobody measured or a reproducible context, the
 * device's rule. The two algorithms sum in different orders, so a choice changes the
 * result's last bits. */
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "runtime/kernel_cache.h"
#include "runtime/kernel_sources.h"
#include "runtime/launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $CLSTYLE_CONV: "direct" or "winograd" force one, "rule" skips measuring; else NULL. */
static const char *forced(void)
{
    const char *force = getenv("CLSTYLE_CONV");
    if (force && (strcmp(force, "direct") == 0 || strcmp(force, "winograd") == 0 ||
                  strcmp(force, "rule") == 0))
        return force;
    return NULL;
}

/* Whether this context times the algorithms: the device's tunable, or CLSTYLE_CONV=measure
 * on any device; never when reproducible or forced. */
static bool measuring(const cls_ctx *ctx)
{
    if (forced() || ctx->reproducible)
        return false;
    const char *force = getenv("CLSTYLE_CONV");
    return ctx->tunables.conv_measure || (force && strcmp(force, "measure") == 0);
}

cls_conv_algo cls_conv3x3_rule(const cls_ctx *ctx, cls_shape in, int cout)
{
    const cls_tunables *t = &ctx->tunables;
    const long tiles = (long)in.n * ((in.h + 3) / 4) * ((in.w + 3) / 4);
    const int channels = in.c < cout ? in.c : cout;
    return channels >= t->wino_min_channels && tiles >= t->wino_min_tiles &&
                   tiles * channels >= t->wino_min_work
               ? CLS_CONV_WINOGRAD
               : CLS_CONV_DIRECT;
}

static const cls_conv_choice *find_choice(const cls_ctx *ctx, cls_shape in, int cout)
{
    for (size_t i = 0; i < ctx->conv_choice_count; i++) {
        const cls_conv_choice *c = &ctx->conv_choices[i];
        if (c->n == in.n && c->cin == in.c && c->h == in.h && c->w == in.w && c->cout == cout)
            return c;
    }
    return NULL;
}

cls_conv_algo cls_conv3x3_choose(const cls_ctx *ctx, cls_shape in, int cout)
{
    const char *force = forced();
    if (force && strcmp(force, "direct") == 0)
        return CLS_CONV_DIRECT;
    if (force && strcmp(force, "winograd") == 0)
        return CLS_CONV_WINOGRAD;
    const cls_conv_choice *c = measuring(ctx) ? find_choice(ctx, in, cout) : NULL;
    return c ? (cls_conv_algo)c->algo : cls_conv3x3_rule(ctx, in, cout);
}

static cls_status remember(cls_ctx *ctx, cls_shape in, int cout, cls_conv_algo algo,
                           const double ms[2])
{
    cls_conv_choice *grown =
        realloc(ctx->conv_choices, (ctx->conv_choice_count + 1) * sizeof *grown);
    if (!grown)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "out of host memory for a conv choice");
    ctx->conv_choices = grown;
    grown[ctx->conv_choice_count++] = (cls_conv_choice){
        in.n, in.c, in.h, in.w, cout, (int)algo, {ms ? ms[0] : 0.0, ms ? ms[1] : 0.0}};
    return CLS_OK;
}

/* ---- the cache: one small record per device, kernel version and shape, in a directory of
 * the kernel cache's (the same checked, atomically written files) ---- */

/* Next to the BLAS tuning file: kept when the kernel cache is turned off. */
static bool choice_dir(const cls_ctx *ctx, char *buf, size_t size)
{
    if (!ctx->tuning_dir[0])
        return false;
    int n = snprintf(buf, size, "%s/conv-choices", ctx->tuning_dir);
    return n > 0 && (size_t)n < size;
}

static const char *source_text(const char *file)
{
    for (size_t i = 0; i < cls_kernel_source_count; i++)
        if (strcmp(cls_kernel_sources[i].file, file) == 0)
            return cls_kernel_sources[i].text;
    return "";
}

/* Everything that decides the timings: the device and driver, both algorithms' kernels and
 * parameters, the shape. */
static cls_cache_key choice_key(const cls_ctx *ctx, cls_shape in, int cout)
{
    char prelude[512], params[256], shape[96];
    cls_tunables_prelude(&ctx->tunables, prelude, sizeof prelude);
    const cls_tunables *t = &ctx->tunables;
    snprintf(params, sizeof params,
             "tile %d group %d column %d clblast %d scratch %zu gemm vectors %d", t->conv_cout_tile,
             t->wino_group, t->wino_gemm_column, t->wino_clblast, t->wino_scratch_bytes,
             t->wino_gemm_vecs);
    snprintf(shape, sizeof shape, "%d x %d x %d x %d -> %d", in.n, in.c, in.h, in.w, cout);
    const char *parts[] = {"conv-choice-1",
                           source_text("conv.cl"),
                           source_text("winograd.cl"),
                           ctx->kernel_dir,
                           prelude,
                           params,
                           ctx->info.platform,
                           ctx->info.platform_version,
                           ctx->info.name,
                           ctx->info.version,
                           ctx->info.driver_version,
                           shape};
    return cls_cache_key_of(parts, sizeof parts / sizeof parts[0]);
}

/* The record: "direct" or "winograd", then both times in ms, e.g. "winograd 41.2 12.9". */
static bool load_choice(cls_ctx *ctx, const cls_cache_key *key, cls_conv_algo *algo, double ms[2])
{
    void *data = NULL;
    size_t size = 0;
    bool rejected = false, ok = false;
    char dir[4200];
    if (!choice_dir(ctx, dir, sizeof dir) ||
        cls_cache_load(dir, key, &data, &size, &rejected) != CLS_OK) {
        if (rejected)
            cls_log(ctx, CLS_LOG_INFO, "conv choice cache: %s; measuring again", cls_last_error());
        cls_error_clear();
        return false;
    }
    char text[64], name[16];
    if (size < sizeof text) {
        memcpy(text, data, size);
        text[size] = '\0';
        ok = sscanf(text, "%15s %lf %lf", name, &ms[0], &ms[1]) == 3 &&
             (strcmp(name, "direct") == 0 || strcmp(name, "winograd") == 0);
        *algo = ok && strcmp(name, "winograd") == 0 ? CLS_CONV_WINOGRAD : CLS_CONV_DIRECT;
    }
    free(data);
    return ok;
}

static void store_choice(cls_ctx *ctx, const cls_cache_key *key, cls_conv_algo algo,
                         const double ms[2])
{
    char text[64], dir[4200];
    int n = snprintf(text, sizeof text, "%s %.3f %.3f\n", cls_conv_algo_name(algo), ms[0], ms[1]);
    if (!choice_dir(ctx, dir, sizeof dir))
        return;
    if (cls_cache_store(dir, key, text, (size_t)n) != CLS_OK) {
        cls_log(ctx, CLS_LOG_WARN,
                "conv choice cache: not saving: %s (the convolutions "
                "will be timed again next run)",
                cls_last_error());
        cls_error_clear();
    }
}

/* ---- timing ---- */

typedef struct conv_trial {
    cls_shape in;
    int cout;
    cl_mem x, y, dx, weight, bias, flipped, u;
} conv_trial;

static void trial_release(conv_trial *t)
{
    cl_mem all[] = {t->x, t->y, t->dx, t->weight, t->bias, t->flipped, t->u};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
}

/* Buffers of the layer's size holding ordinary values (no denormals, no overflow after the
 * passes), and each algorithm's form of the weights. */
static cls_status trial_create(cls_ctx *ctx, cls_shape in, int cout, conv_trial *t)
{
    cls_status status = CLS_OK;
    *t = (conv_trial){.in = in, .cout = cout};
    const size_t pixels = (size_t)in.n * in.h * in.w, weights = (size_t)in.c * cout * 9;
    const struct {
        cl_mem *buf;
        size_t count;
        float value;
    } bufs[] = {{&t->x, pixels * in.c, 0.5f},
                {&t->y, pixels * cout, 0.0f},
                {&t->dx, pixels * in.c, 0.0f},
                {&t->weight, weights, 1.0f / (9.0f * in.c)},
                {&t->bias, (size_t)cout, 0.1f},
                {&t->flipped, weights, 0.0f},
                {&t->u, cls_conv3x3_winograd_weight_count(in.c, cout), 0.0f}};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        CLS_TRY(cls_buffer_create(ctx, bufs[i].count * sizeof(float), "timing convolutions",
                                  bufs[i].buf));
        CLS_TRY(cls_fill(ctx, bufs[i].count, bufs[i].value, *bufs[i].buf));
    }
    CLS_TRY(cls_conv3x3_flip_weights(ctx, in.c, cout, t->weight, t->flipped));
    CLS_TRY(cls_conv3x3_winograd_weights(ctx, in.c, cout, t->weight, t->u));
    CLS_CHECK_CL(clFinish(ctx->queue), "preparing to time convolutions");
fail:
    return status;
}

/* Seconds of one forward + backward-data pass. */
static cls_status time_pass(cls_ctx *ctx, const conv_trial *t, cls_conv_algo algo, double *seconds)
{
    cls_status status = CLS_OK;
    const double start = cls_now_seconds();
    if (algo == CLS_CONV_WINOGRAD) {
        CLS_TRY(cls_conv3x3_winograd_forward(ctx, t->in, t->cout, t->x, t->u, t->bias, true, t->y));
        CLS_TRY(cls_conv3x3_winograd_backward_data(ctx, t->in, t->cout, t->y, t->u, t->dx));
    } else {
        CLS_TRY(cls_conv3x3_forward(ctx, t->in, t->cout, t->x, t->weight, t->bias, true, t->y));
        CLS_TRY(cls_conv3x3_backward_data(ctx, t->in, t->cout, t->y, t->flipped, t->dx));
    }
    CLS_CHECK_CL(clFinish(ctx->queue), "timing convolutions");
    *seconds = cls_now_seconds() - start;
fail:
    return status;
}

/* ms[algo]: one pass of each after one that compiles what the driver compiles on first
 * launch; when they are within 25%, the faster of that and a second pass. */
static cls_status measure(cls_ctx *ctx, cls_shape in, int cout, double ms[2])
{
    conv_trial t;
    double s = 0.0;
    cls_status status = trial_create(ctx, in, cout, &t);
    for (int round = 0; status == CLS_OK && round < 3; round++) {
        if (round == 2 && (ms[0] > 1.25 * ms[1] || ms[1] > 1.25 * ms[0]))
            break;
        for (int algo = 0; status == CLS_OK && algo < 2; algo++) {
            status = time_pass(ctx, &t, (cls_conv_algo)algo, &s);
            if (status == CLS_OK && (round == 1 || (round == 2 && 1e3 * s < ms[algo])))
                ms[algo] = 1e3 * s;
        }
    }
    trial_release(&t);
    if (status != CLS_OK)
        cls_error_context(status, "timing the convolution %d -> %d at %dx%d", in.c, cout, in.w,
                          in.h);
    return status;
}

cls_status cls_conv3x3_select(cls_ctx *ctx, cls_shape in, int cout, bool dry_run, bool *measured)
{
    *measured = false;
    if (!measuring(ctx) || find_choice(ctx, in, cout))
        return CLS_OK;
    cls_status status = cls_shape_check(in, "conv3x3_select");
    if (status != CLS_OK)
        return status;
    const cls_cache_key key = choice_key(ctx, in, cout);
    double ms[2];
    cls_conv_algo algo;
    if (load_choice(ctx, &key, &algo, ms)) {
        cls_log(ctx, CLS_LOG_DEBUG,
                "conv %d -> %d at %dx%d: %s (cached: direct %.1f ms, "
                "winograd %.1f ms)",
                in.c, cout, in.w, in.h, cls_conv_algo_name(algo), ms[CLS_CONV_DIRECT],
                ms[CLS_CONV_WINOGRAD]);
        return remember(ctx, in, cout, algo, ms);
    }
    if (dry_run) {
        *measured = true;
        return CLS_OK;
    }
    CLS_TRY(measure(ctx, in, cout, ms));
    algo = ms[CLS_CONV_WINOGRAD] < ms[CLS_CONV_DIRECT] ? CLS_CONV_WINOGRAD : CLS_CONV_DIRECT;
    cls_log(ctx, CLS_LOG_INFO, "conv %d -> %d at %dx%d: direct %.1f ms, winograd %.1f ms: %s", in.c,
            cout, in.w, in.h, ms[CLS_CONV_DIRECT], ms[CLS_CONV_WINOGRAD], cls_conv_algo_name(algo));
    store_choice(ctx, &key, algo, ms);
    *measured = true;
    status = remember(ctx, in, cout, algo, ms);
fail:
    return status;
}
