/* cls_transfer_run: validate, plan, compute targets, optimise, hand back the image. */
#include "ops/elementwise.h"
#include "ops/gram.h"
#include "optim/adam.h"
#include "optim/lbfgs.h"
#include "optim/vec.h"
#include "runtime/launch.h"
#include "transfer/color_match.h"
#include "transfer/image_tensor.h"
#include "transfer/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cls_transfer_params cls_transfer_params_default(void)
{
    return (cls_transfer_params){
        .iterations = 1000,
        .optimizer = CLS_OPTIMIZER_LBFGS,
        .learning_rate = 0.0,
        .lbfgs_history = 100,
        .line_search = true,
        .max_line_search = 25,
        .content_weight = 1e5,
        .style_weight = 3e4,
        .tv_weight = 1.0,
        .content_layers = "conv4_2",
        .style_layers = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1",
        .pooling = CLS_POOLING_MAX,
        .normalization = CLS_NORMALIZATION_DEFAULT,
        .init = CLS_INIT_CONTENT,
        .min_scale = 128,
    };
}

static cls_status check_params(const cls_transfer_params *p)
{
    if (p->iterations < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "iterations must be at least 1, got %d",
                         p->iterations);
    if (p->lbfgs_history < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "L-BFGS history must be at least 1, got %d",
                         p->lbfgs_history);
    if (p->style_masks && p->style_mask_count < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "style masks given with a count of %d",
                         p->style_mask_count);
    if (p->max_line_search < 0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "line search evaluations must be 0 (the budget) or more, got %d",
                         p->max_line_search);
    if (p->multiscale && p->min_scale < 16)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "the first stage's size (min_scale) must be at least 16 pixels, got %d",
                         p->min_scale);
    if (p->stage_iterations < 0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "stage iterations must be 0 (as the last stage) or more, got %d",
                         p->stage_iterations);
    const double numbers[] = {p->learning_rate, p->content_weight, p->style_weight, p->tv_weight};
    const char *names[] = {"learning rate", "content weight", "style weight", "tv weight"};
    for (int i = 0; i < 4; i++)
        if (!isfinite(numbers[i]) || numbers[i] < 0.0)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "%s must be a finite number >= 0, got %g",
                             names[i], numbers[i]);
    if (p->color_match != CLS_COLOR_MATCH_NONE && p->color_match != CLS_COLOR_MATCH_MEAN_COV &&
        p->color_match != CLS_COLOR_MATCH_HISTOGRAM)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "unknown colour matching method %d",
                         (int)p->color_match);
    /* Normalised gradients are not the loss's gradient, so the strong-Wolfe conditions,
     * which compare the two, would reject every step. */
    if (p->normalize_gradients && p->optimizer == CLS_OPTIMIZER_LBFGS && p->line_search)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "normalized gradients do not fit the strong-Wolfe line search, which "
                         "needs the loss's own gradient: use Adam or L-BFGS without line search");
    return CLS_OK;
}

static cls_status check_image(const cls_image *image, const char *what)
{
    if (!image || !image->pixels || image->width < 1 || image->height < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "%s: no image", what);
    return CLS_OK;
}

/* Layers, taps and the union of both lists as the network's taps. */
static cls_status resolve_layers(cls_transfer *run)
{
    cls_status status = CLS_OK;
    const cls_transfer_params *p = &run->params;
    cls_vgg_arch arch = run->model->arch;
    CLS_TRY(cls_layer_list_parse(arch, p->content_layers, NULL, 0, "content layers",
                                 &run->content_layers));
    CLS_TRY(cls_layer_list_parse(arch, p->style_layers, p->style_layer_weights,
                                 p->style_layer_weights ? p->style_layer_weight_count : 0,
                                 "style layers", &run->style_layers));
    run->tap_count = 0;
    const cls_layer_list *lists[2] = {&run->content_layers, &run->style_layers};
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < lists[l]->count; i++) {
            bool seen = false;
            for (int t = 0; t < run->tap_count; t++)
                seen = seen || run->taps[t] == lists[l]->index[i];
            if (!seen)
                run->taps[run->tap_count++] = lists[l]->index[i];
        }
    }
    for (int i = 0; i < run->content_layers.count; i++)
        run->content[i].layer = run->content_layers.index[i];
    for (int i = 0; i < run->style_layers.count; i++) {
        run->style[i].layer = run->style_layers.index[i];
        run->style[i].channels = run->model->layers[run->style[i].layer].cout;
    }
fail:
    return status;
}

int cls_run_poolings(const cls_transfer *run, int layer)
{
    int pools = 0;
    for (int i = 0; i <= layer; i++)
        pools += run->model->layers[i].kind == CLS_LAYER_POOL;
    return pools;
}

cls_shape cls_run_layer_shape(const cls_transfer *run, int layer, int height, int width)
{
    int h = height, w = width;
    for (int p = cls_run_poolings(run, layer); p > 0; p--) {
        h /= 2;
        w /= 2;
    }
    return (cls_shape){1, run->model->layers[layer].cout, h, w};
}

size_t cls_run_gram_scratch_bytes(const cls_transfer *run, int height, int width)
{
    size_t most = 0;
    for (int i = 0; i < run->style_layers.count; i++) {
        cls_shape s = cls_run_layer_shape(run, run->style[i].layer, height, width);
        size_t bytes = cls_gram_scratch_bytes(run->model->ctx, s);
        most = bytes > most ? bytes : most;
    }
    return most;
}

/* The network of the run: the image's size, or with tiling the largest tile region's. */
static cls_net_config net_config(const cls_transfer *run)
{
    const bool tiled = run->tiling.count > 0;
    const int h = tiled ? run->tiling.region_h : run->height;
    const int w = tiled ? run->tiling.region_w : run->width;
    return (cls_net_config){h,
                            w,
                            run->params.pooling == CLS_POOLING_AVG ? CLS_POOL_AVG : CLS_POOL_MAX,
                            run->taps,
                            run->tap_count,
                            cls_run_gram_scratch_bytes(run, h, w),
                            1};
}

static cls_lbfgs_params lbfgs_params(const cls_transfer *run)
{
    const cls_transfer_params *p = &run->params;
    cls_lbfgs_params lp = cls_lbfgs_params_default(p->iterations);
    lp.history_size = p->lbfgs_history;
    lp.strong_wolfe = p->line_search;
    lp.max_line_search = p->max_line_search;
    lp.history_on_host = run->history_on_host;
    if (p->learning_rate > 0.0)
        lp.lr = p->learning_rate;
    return lp;
}

/* The optimiser's device vectors and its small buffer of partial sums. */
static size_t optimizer_bytes(const cls_transfer *run)
{
    if (run->params.optimizer == CLS_OPTIMIZER_ADAM)
        return cls_adam_bytes(run->n) + cls_vec_space_bytes(run->ctx, run->n);
    const cls_lbfgs_params lp = lbfgs_params(run);
    return cls_lbfgs_bytes(run->n, &lp) + cls_vec_space_bytes(run->ctx, run->n);
}

/* The optimiser's vectors in host memory (L-BFGS history kept there). */
static size_t optimizer_host_bytes(const cls_transfer *run)
{
    if (run->params.optimizer == CLS_OPTIMIZER_ADAM)
        return 0;
    const cls_lbfgs_params lp = lbfgs_params(run);
    return cls_lbfgs_host_bytes(run->n, &lp);
}

static size_t larger(size_t a, size_t b)
{
    return a > b ? a : b;
}

static int larger_int(int a, int b)
{
    return a > b ? a : b;
}

static size_t content_target_bytes(const cls_transfer *run, int layer)
{
    return cls_shape_count(cls_run_layer_shape(run, layer, run->height, run->width)) *
           sizeof(float);
}

/* Target, Gram and loss buffers. */
static cls_status allocate_slots(cls_transfer *run)
{
    cls_status status = CLS_OK;
    for (int i = 0; i < run->style_layers.count; i++) {
        cls_style_slot *s = &run->style[i];
        const size_t bytes = (size_t)s->channels * s->channels * sizeof(float);
        CLS_TRY(cls_buffer_create(run->ctx, bytes, "style targets", &s->target));
        CLS_TRY(cls_buffer_create(run->ctx, bytes, "Gram matrices", &s->gram));
        CLS_TRY(cls_buffer_create(run->ctx, bytes, "Gram gradients", &s->grad_gram));
        run->device_bytes += 3 * bytes;
    }
    const size_t slots = (size_t)(run->content_layers.count +
                                  run->style_layers.count * cls_run_style_slots(run) + 1);
    CLS_TRY(cls_buffer_create(run->ctx, slots * sizeof(float), "losses", &run->losses));
    run->losses_host = calloc(slots, sizeof *run->losses_host);
    CLS_CHECK_ALLOC(run->losses_host, "loss values");
    CLS_TRY(cls_buffer_create(run->ctx, run->n * sizeof(float), "the image", &run->x));
    run->x_good = malloc(run->n * sizeof *run->x_good);
    CLS_CHECK_ALLOC(run->x_good, "a copy of the image");
    run->device_bytes += run->n * sizeof(float);
fail:
    return status;
}

/* On the device; a tiled run's on the host, each tile receiving its window when needed. */
static cls_status allocate_content_targets(cls_transfer *run)
{
    cls_status status = CLS_OK;
    for (int i = 0; i < run->content_layers.count; i++) {
        const size_t bytes = content_target_bytes(run, run->content[i].layer);
        if (run->tiling.count > 0) {
            run->content[i].target_host = malloc(bytes);
            CLS_CHECK_ALLOC(run->content[i].target_host, "content targets");
            continue;
        }
        CLS_TRY(cls_buffer_create(run->ctx, bytes, "content targets", &run->content[i].target));
        run->device_bytes += bytes;
    }
fail:
    return status;
}

/* normalize_gradients' buffers, the size of the largest content or style tap. */
static cls_status allocate_grad_norm(cls_transfer *run)
{
    cls_status status = CLS_OK;
    size_t largest = 0, bytes = 0;
    const cls_layer_list *lists[2] = {&run->content_layers, &run->style_layers};
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < lists[l]->count; i++) {
            cl_mem tap;
            cls_shape s;
            CLS_TRY(cls_net_tap(run->net, lists[l]->index[i], &tap, &s));
            largest = larger(largest, cls_shape_count(s));
        }
    }
    CLS_TRY(cls_grad_norm_allocate(run, largest, &bytes));
    run->device_bytes += bytes;
fail:
    return status;
}

static void destroy_run(cls_transfer *run)
{
    if (!run)
        return;
    cls_grad_norm_release(run);
    cls_masks_release(run);
    cls_tiling_release(&run->tiling);
    for (int i = 0; i < CLS_MAX_LAYER_LIST; i++) {
        free(run->content[i].target_host);
        cl_mem all[] = {run->content[i].target, run->style[i].target, run->style[i].gram,
                        run->style[i].grad_gram};
        for (int b = 0; b < 4; b++)
            if (all[b])
                clReleaseMemObject(all[b]);
    }
    cl_mem own[] = {run->x, run->losses};
    for (int b = 0; b < 2; b++)
        if (own[b])
            clReleaseMemObject(own[b]);
    free(run->x_good);
    cls_net_destroy(run->net);
    free(run->losses_host);
    free(run);
}

/* A run that is only planned, not started: its parameters checked and layers resolved. */
static cls_status planned_run(cls_model *model, int width, int height,
                              const cls_transfer_params *params, cls_transfer **out)
{
    cls_status status = CLS_OK;
    cls_transfer *run = calloc(1, sizeof *run);
    CLS_CHECK_ALLOC(run, "a transfer plan");
    *run = (cls_transfer){.ctx = model->ctx,
                          .model = model,
                          .params = *params,
                          .width = width,
                          .height = height,
                          .n = (size_t)3 * width * height};
    CLS_TRY(check_params(params));
    CLS_TRY(resolve_layers(run));
    *out = run;
    return CLS_OK;
fail:
    free(run);
    return status;
}

static void release_planned(cls_transfer *run)
{
    if (run)
        cls_tiling_release(&run->tiling);
    free(run);
}

/* Device bytes of a run as planned, tiled (run->tiling) or not, the model's own weights
 * excluded; *optimiser: the part the optimiser's state takes. */
static cls_status run_bytes(const cls_transfer *run, size_t *bytes, size_t *optimiser)
{
    cls_status status = CLS_OK;
    const cls_model *model = run->model;
    const bool tiled = run->tiling.count > 0;
    size_t net = 0, style_net = 0, derived = 0, slots = run->n * sizeof(float);
    size_t gram_backward = 0; /* the Gram backward pass's C x C scratch */
    cls_net_config config = net_config(run);
    CLS_TRY(cls_net_plan_bytes(model, &config, &net));
    CLS_TRY(cls_net_derived_weight_bytes(model, &config, &derived));
    config.taps = run->style_layers.index;
    config.tap_count = run->style_layers.count;
    /* Untiled, a style image of the content's size has a network of its own; tiled, it
     * shares the run's and takes only its pixels. */
    if (tiled)
        style_net = run->n * sizeof(float);
    else
        CLS_TRY(cls_net_plan_bytes(model, &config, &style_net));
    for (int i = 0; i < run->style_layers.count; i++) {
        const size_t cc = (size_t)run->style[i].channels * run->style[i].channels * sizeof(float);
        slots += 3 * cc;
        gram_backward = cc > gram_backward ? cc : gram_backward;
    }
    size_t largest_tap = 0; /* normalize_gradients' per-layer gradient */
    for (int i = 0; i < run->content_layers.count; i++) {
        if (!tiled) /* a tiled run keeps them on the host */
            slots += content_target_bytes(run, run->content[i].layer);
        largest_tap = larger(largest_tap, content_target_bytes(run, run->content[i].layer));
    }
    for (int i = 0; i < run->style_layers.count; i++)
        largest_tap = larger(largest_tap, content_target_bytes(run, run->style[i].layer));
    if (run->params.normalize_gradients)
        slots += cls_grad_norm_bytes(model->ctx, largest_tap / sizeof(float));
    slots += cls_masks_plan_bytes(run);
    *optimiser = optimizer_bytes(run);
    if (tiled) /* the network and the tiles' buffers stay from the style targets on */
        *bytes = derived + slots + gram_backward + net + cls_tiling_bytes(run) +
                 larger(style_net, *optimiser);
    else /* style images are done, their networks freed, before the optimiser starts */
        *bytes = derived + slots + gram_backward + larger(style_net, net + *optimiser);
fail:
    return status;
}

/* What the run may allocate in all: max_device_bytes or the device's memory. */
static size_t limit_bytes(const cls_transfer *run)
{
    return run->params.max_device_bytes ? run->params.max_device_bytes
                                        : run->ctx->info.global_mem_bytes;
}

static const char *limit_name(const cls_transfer *run)
{
    return run->params.max_device_bytes ? "the memory limit is" : "the device has";
}

/* What the run may allocate besides the model's weights. */
static size_t allowed_bytes(const cls_transfer *run)
{
    const size_t limit = limit_bytes(run);
    const size_t weights = cls_model_device_bytes(run->model);
    return limit > weights ? limit - weights : 0;
}

/* Whether L-BFGS may keep its history in host memory: when it takes at most half of it. */
static bool host_can_hold_history(const cls_transfer *run)
{
    if (run->params.optimizer != CLS_OPTIMIZER_LBFGS)
        return false;
    cls_lbfgs_params lp = lbfgs_params(run);
    lp.history_on_host = true;
    const size_t needed = cls_lbfgs_host_bytes(run->n, &lp);
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 && needed <= (size_t)pages / 2 * (size_t)page;
}

/* Untiled when the whole image fits what is allowed; else untiled with the L-BFGS history in
 * host memory (which costs uploads, far less than tiles); else the largest tiles that fit
 * (run->tiling), the history on the host when it can be. *bytes: the plan's device bytes;
 * *untiled: the whole image's with everything on the device. */
static cls_status choose_tiling(cls_transfer *run, size_t *bytes, size_t *untiled)
{
    cls_status status = CLS_OK;
    const double mib = 1048576.0;
    const size_t allowed = allowed_bytes(run);
    size_t optimiser = 0, whole = 0;
    run->history_on_host = false;
    CLS_TRY(run_bytes(run, &whole, &optimiser));
    *bytes = *untiled = whole;
    if (whole <= allowed)
        return CLS_OK;
    if (host_can_hold_history(run)) {
        run->history_on_host = true;
        CLS_TRY(run_bytes(run, bytes, &optimiser));
        if (*bytes <= allowed)
            return CLS_OK;
    }
    if (run->params.style_masks || run->params.content_mask || run->params.normalize_gradients)
        return cls_error(CLS_ERR_OUT_OF_DEVICE_MEMORY,
                         "a %dx%d run needs %.0f MiB of device memory besides the weights, but "
                         "%s %.0f MiB, %.0f MiB beside them; tiling, which might fit it, does "
                         "not yet combine with masks or normalised gradients",
                         run->width, run->height, whole / mib, limit_name(run),
                         limit_bytes(run) / mib, allowed / mib);
    int align = 1;
    int deepest = 0;
    for (int t = 0; t < run->tap_count; t++)
        deepest = larger_int(deepest, run->taps[t]);
    cls_tiling_halo(run->model, deepest, &align);
    const int longest = larger_int(run->width, run->height);
    for (int tile = (longest - 1) / align * align; tile >= align; tile -= align) {
        CLS_TRY(cls_tiling_plan(run, run->height, run->width, tile, 0, &run->tiling));
        CLS_TRY(run_bytes(run, bytes, &optimiser));
        if (*bytes <= allowed)
            return CLS_OK;
        cls_tiling_release(&run->tiling);
    }
    const char *history = run->params.optimizer != CLS_OPTIMIZER_LBFGS ? ""
                          : run->history_on_host
                              ? ", with the L-BFGS history already in host memory"
                              : ", the L-BFGS history being too large for half the host's memory";
    return cls_error(CLS_ERR_OUT_OF_DEVICE_MEMORY,
                     "a %dx%d run needs %.0f MiB of device memory besides the %.0f MiB of "
                     "weights, and %.0f MiB even in tiles of %d pixels (%.0f MiB of it the "
                     "optimiser's state%s), but %s %.0f MiB, %.0f MiB beside the weights",
                     run->width, run->height, whole / mib, cls_model_device_bytes(run->model) / mib,
                     *bytes / mib, align, optimiser / mib, history, limit_name(run),
                     limit_bytes(run) / mib, allowed / mib);
fail:
    return status;
}

cls_status cls_transfer_plan(const cls_model *model, int width, int height,
                             const cls_transfer_params *params, cls_transfer_plan_info *plan)
{
    cls_transfer *run = NULL;
    memset(plan, 0, sizeof *plan);
    cls_status status = planned_run((cls_model *)model, width, height, params, &run);
    if (status != CLS_OK)
        return status;
    CLS_TRY(choose_tiling(run, &plan->device_bytes, &plan->untiled_bytes));
    plan->tile = run->tiling.count ? run->tiling.tile : 0;
    plan->tiles = run->tiling.count;
    plan->halo = run->tiling.halo;
    plan->region_width = run->tiling.region_w;
    plan->region_height = run->tiling.region_h;
    plan->history_on_host = run->history_on_host;
    plan->host_bytes = optimizer_host_bytes(run);
fail:
    release_planned(run);
    return status;
}

cls_status cls_transfer_plan_bytes(const cls_model *model, int width, int height,
                                   const cls_transfer_params *params, size_t *bytes)
{
    cls_transfer_plan_info plan;
    cls_status status = cls_transfer_plan(model, width, height, params, &plan);
    *bytes = plan.device_bytes;
    return status;
}

cls_status cls_transfer_choose_algorithms(cls_model *model, int width, int height,
                                          const cls_transfer_params *params, bool dry_run,
                                          int *measured)
{
    const cls_transfer_params defaults = cls_transfer_params_default();
    if (!params)
        params = &defaults;
    cls_stage stages[CLS_MAX_STAGES];
    const int count = cls_transfer_stages(width, height, params, stages);
    if (count == 0)
        return CLS_ERR_INVALID_ARGUMENT; /* cls_transfer_stages set the error */
    int total = 0;
    cls_status status = CLS_OK;
    for (int k = 0; k < count && status == CLS_OK; k++) {
        cls_transfer *run = NULL;
        int timed = 0;
        size_t bytes = 0, untiled = 0;
        status = planned_run(model, stages[k].width, stages[k].height, params, &run);
        if (status == CLS_OK) /* a tiled run times its regions' shapes */
            status = choose_tiling(run, &bytes, &untiled);
        if (status == CLS_OK) {
            const cls_net_config config = net_config(run);
            status = cls_net_select_algorithms(model, &config, dry_run, params->cancel,
                                               params->cancel_user, &timed);
        }
        total += timed;
        release_planned(run);
    }
    if (measured)
        *measured = total;
    return status;
}

/* The starting image, in x. */
static cls_status initialise(cls_transfer *run, const cls_image *content, const cls_image *styles)
{
    const cls_transfer_params *p = &run->params;
    const cls_image *from = content;
    if (p->init == CLS_INIT_RANDOM) {
        float *noise = malloc(run->n * sizeof *noise);
        if (!noise)
            return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "the initial image");
        uint64_t state = p->seed;
        for (size_t i = 0; i < run->n; i += 2) {
            /* splitmix64 and Box-Muller: Gaussian noise, sigma 90, reproducible by seed */
            double u[2];
            for (int k = 0; k < 2; k++) {
                uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
                z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
                z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
                u[k] = ((double)((z ^ (z >> 31)) >> 11) + 0.5) / 9007199254740992.0;
            }
            const double r = 90.0 * sqrt(-2.0 * log(u[0])), a = 6.283185307179586 * u[1];
            noise[i] = (float)(r * cos(a));
            if (i + 1 < run->n)
                noise[i + 1] = (float)(r * sin(a));
        }
        cl_int err = clEnqueueWriteBuffer(run->ctx->queue, run->x, CL_TRUE, 0,
                                          run->n * sizeof *noise, noise, 0, NULL, NULL);
        free(noise);
        return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "uploading the initial image");
    }
    if (p->init == CLS_INIT_STYLE)
        from = &styles[0];
    else if (p->init == CLS_INIT_IMAGE)
        from = p->init_image;
    cls_status status = check_image(from, "initial image");
    if (status != CLS_OK)
        return status;
    if (from->width != run->width || from->height != run->height)
        return cls_error(CLS_ERR_SHAPE,
                         "the initial image is %dx%d but the content is %dx%d; "
                         "resize it first",
                         from->width, from->height, run->width, run->height);
    return cls_image_to_tensor(run->ctx, from, run->x);
}

typedef struct progress_state {
    cls_transfer *run;
    double start;
} progress_state;

/* After every optimiser iteration: remember the image, tell the caller. */
static cls_status on_iteration(void *user, const cls_optim_progress *p)
{
    cls_transfer *run = user;
    cls_status status = CLS_OK;
    CLS_TRY(cls_read_floats(run->ctx, run->x, 0, run->n, run->x_good));
    if (run->params.cancel && run->params.cancel(run->params.cancel_user))
        return CLS_ERR_CANCELLED;
    if (!run->params.progress)
        goto fail;
    cls_loss_terms t = cls_transfer_terms(run, p->loss_eval);
    cls_progress progress = {.iteration = p->iteration,
                             .iterations = run->params.iterations,
                             .evals = p->evals,
                             .loss = p->loss,
                             .content = t.content,
                             .style = t.style,
                             .tv = t.tv,
                             .elapsed_s = cls_now_seconds() - run->start,
                             .run = run,
                             .stage = 1,
                             .stages = 1,
                             .width = run->width,
                             .height = run->height};
    if (run->params.progress(run->params.progress_user, &progress) != 0)
        status = CLS_ERR_CANCELLED;
fail:
    return status;
}

static cls_status optimise(cls_transfer *run, cls_optim_result *result)
{
    cls_status status = CLS_OK;
    const cls_transfer_params *p = &run->params;
    const cls_objective objective = {cls_transfer_evaluate, run};
    if (p->optimizer == CLS_OPTIMIZER_ADAM) {
        cls_adam_params ap = cls_adam_params_default(p->iterations);
        if (p->learning_rate > 0.0)
            ap.lr = p->learning_rate;
        cls_adam *adam = NULL;
        CLS_TRY(cls_adam_create(run->ctx, run->n, &ap, &adam));
        run->device_bytes += optimizer_bytes(run);
        status = cls_adam_run(adam, run->x, &objective, on_iteration, run, result);
        cls_adam_destroy(adam);
        return status;
    }
    const cls_lbfgs_params lp = lbfgs_params(run);
    cls_lbfgs *lbfgs = NULL;
    CLS_TRY(cls_lbfgs_create(run->ctx, run->n, &lp, &lbfgs));
    run->device_bytes += optimizer_bytes(run);
    status = cls_lbfgs_run(lbfgs, run->x, &objective, on_iteration, run, result);
    cls_lbfgs_destroy(lbfgs);
fail:
    return status;
}

static cls_status check_inputs(const cls_image *content, const cls_image *styles, int count,
                               const double *blend, const cls_transfer_params *params)
{
    cls_status status = CLS_OK;
    CLS_TRY(check_params(params));
    CLS_TRY(check_image(content, "content image"));
    if (count < 1 || !styles)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "at least one style image is needed");
    double sum = 0.0;
    for (int s = 0; s < count; s++) {
        CLS_TRY(check_image(&styles[s], "style image"));
        if (blend && (!isfinite(blend[s]) || blend[s] < 0.0))
            return cls_error(CLS_ERR_INVALID_ARGUMENT,
                             "style blend weight %g is not a finite "
                             "number >= 0",
                             blend[s]);
        sum += blend ? blend[s] : 1.0;
    }
    if (sum <= 0.0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "the style blend weights sum to 0");
    if (params->style_masks && params->style_mask_count != count)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "%d style masks for %d style images: give one mask per style image",
                         params->style_mask_count, count);
fail:
    return status;
}

cls_status cls_transfer_poll_cancel(const cls_transfer *run)
{
    if (run->params.cancel && run->params.cancel(run->params.cancel_user))
        return cls_error(CLS_ERR_CANCELLED, "cancelled before the first iteration");
    return CLS_OK;
}

/* Tiles of tile x tile pixels, or with tile 0 as what the device allows needs
 * (choose_tiling). */
static cls_status plan_tiling(cls_transfer *run, int tile, int halo)
{
    size_t bytes = 0, untiled = 0;
    if (tile <= 0)
        return choose_tiling(run, &bytes, &untiled);
    if (run->params.style_masks || run->params.content_mask || run->params.normalize_gradients)
        return cls_error(CLS_ERR_UNSUPPORTED,
                         "tiling does not yet combine with masks or normalised gradients");
    return cls_tiling_plan(run, run->height, run->width, tile, halo, &run->tiling);
}

/* The network of a tiled run serves the style images too: planned for the largest region
 * of any of them. */
static cls_status fit_style_regions(cls_transfer *run, const cls_image *styles, int count)
{
    for (int k = 0; k < count && run->tiling.count > 0; k++) {
        cls_tiling style;
        cls_status status = cls_tiling_plan(run, styles[k].height, styles[k].width,
                                            run->tiling.tile, run->tiling.halo, &style);
        if (status != CLS_OK)
            return status;
        run->tiling.region_h = larger_int(run->tiling.region_h, style.region_h);
        run->tiling.region_w = larger_int(run->tiling.region_w, style.region_w);
        cls_tiling_release(&style);
    }
    return CLS_OK;
}

/* The targets, and the network. A tiled run's network comes first: its style targets are
 * computed with it, tile by tile. An untiled run's comes after: each style image gets a
 * network of its own size, freed before the run's is made. */
static cls_status targets_and_network(cls_transfer *run, const cls_image *styles, int count,
                                      const double *blend)
{
    cls_status status = CLS_OK;
    const cls_net_config config = net_config(run);
    if (run->tiling.count == 0) {
        CLS_TRY(cls_style_targets(run, styles, count, blend));
        CLS_TRY(cls_transfer_poll_cancel(run));
    }
    CLS_TRY(cls_net_create(run->model, &config, &run->net));
    run->device_bytes += cls_net_device_bytes(run->net);
    if (run->tiling.count > 0) {
        size_t bytes = 0;
        CLS_TRY(cls_tiling_allocate(run, &bytes));
        run->device_bytes += bytes;
        CLS_TRY(cls_tiled_style_targets(run, styles, count, blend));
        CLS_TRY(cls_transfer_poll_cancel(run));
    }
fail:
    return status;
}

/* Everything before the optimiser: layers, buffers, targets, the start image. */
static cls_status prepare(cls_transfer *run, const cls_image *content, const cls_image *styles,
                          int style_count, const double *blend, int tile, int halo)
{
    cls_status status = CLS_OK;
    CLS_TRY(resolve_layers(run));
    CLS_TRY(plan_tiling(run, tile, halo));
    CLS_TRY(fit_style_regions(run, styles, style_count));
    CLS_TRY(cls_masks_prepare(run, blend, style_count)); /* refuses bad masks before work */
    int measured = 0;
    const cls_net_config content_net = net_config(run);
    CLS_TRY(cls_net_select_algorithms(run->model, &content_net, false, run->params.cancel,
                                      run->params.cancel_user, &measured));
    CLS_TRY(allocate_slots(run));
    CLS_TRY(targets_and_network(run, styles, style_count, blend));
    CLS_TRY(allocate_content_targets(run));
    if (run->params.normalize_gradients)
        CLS_TRY(allocate_grad_norm(run));
    CLS_TRY(cls_image_to_tensor(run->ctx, content, run->x));
    if (run->tiling.count > 0)
        CLS_TRY(cls_tiled_content_targets(run, run->x));
    else
        CLS_TRY(cls_content_targets(run, run->x));
    CLS_TRY(cls_transfer_poll_cancel(run));
    CLS_TRY(initialise(run, content, styles));
    CLS_TRY(cls_read_floats(run->ctx, run->x, 0, run->n, run->x_good));
fail:
    return status;
}

static void fill_result(const cls_transfer *run, const cls_optim_result *r,
                        cls_transfer_result *result)
{
    const cls_loss_terms t = cls_transfer_terms(run, r->loss_eval);
    *result = (cls_transfer_result){.iterations = r->iterations,
                                    .evals = r->evals,
                                    .loss = r->loss,
                                    .content = t.content,
                                    .style = t.style,
                                    .tv = t.tv,
                                    .cancelled = r->reason == CLS_STOP_CANCELLED,
                                    .stop_reason = cls_stop_reason_str(r->reason),
                                    .device_bytes = run->device_bytes,
                                    .seconds = cls_now_seconds() - run->start};
}

cls_status cls_transfer_open(cls_ctx *ctx, cls_model *model, const cls_image *content,
                             const cls_image *styles, int style_count, const double *blend_weights,
                             const cls_transfer_params *params, cls_transfer **out)
{
    return cls_transfer_open_tiled(ctx, model, content, styles, style_count, blend_weights, params,
                                   0, 0, out);
}

cls_status cls_transfer_open_tiled(cls_ctx *ctx, cls_model *model, const cls_image *content,
                                   const cls_image *styles, int style_count,
                                   const double *blend_weights, const cls_transfer_params *params,
                                   int tile, int halo, cls_transfer **out)
{
    cls_status status = CLS_OK;
    cls_image *matched = NULL; /* the style images with the content's colours */
    cls_transfer *run = NULL;
    *out = NULL;
    CLS_TRY(check_inputs(content, styles, style_count, blend_weights, params));
    if (params->color_match != CLS_COLOR_MATCH_NONE) {
        CLS_TRY(cls_styles_matched(content, params->color_match, styles, style_count, &matched));
        styles = matched;
    }
    run = calloc(1, sizeof *run);
    CLS_CHECK_ALLOC(run, "a transfer");
    *run = (cls_transfer){.ctx = ctx,
                          .model = model,
                          .params = *params,
                          .width = content->width,
                          .height = content->height,
                          .n = (size_t)3 * content->width * content->height};
    CLS_TRY(prepare(run, content, styles, style_count, blend_weights, tile, halo));
    *out = run;
    run = NULL;
fail:
    destroy_run(run);
    cls_styles_free(matched, style_count);
    return status;
}

void cls_transfer_close(cls_transfer *run)
{
    destroy_run(run);
}

cls_status cls_transfer_run(cls_ctx *ctx, cls_model *model, const cls_image *content,
                            const cls_image *styles, int style_count, const double *blend_weights,
                            const cls_transfer_params *params, cls_image *output,
                            cls_transfer_result *result)
{
    if (params && params->multiscale)
        return cls_multiscale_run(ctx, model, content, styles, style_count, blend_weights, params,
                                  output, result);
    return cls_transfer_run_single(ctx, model, content, styles, style_count, blend_weights, params,
                                   output, result);
}

cls_status cls_transfer_run_single(cls_ctx *ctx, cls_model *model, const cls_image *content,
                                   const cls_image *styles, int style_count,
                                   const double *blend_weights,
                                   const cls_transfer_params *params_in, cls_image *output,
                                   cls_transfer_result *result)
{
    cls_status status = CLS_OK;
    cls_transfer_params params = params_in ? *params_in : cls_transfer_params_default();
    cls_optim_result r = {0};
    cls_transfer_result ignored;
    cls_transfer *run = NULL;
    result = result ? result : &ignored;
    memset(output, 0, sizeof *output);
    memset(result, 0, sizeof *result);
    CLS_TRY(
        cls_transfer_open(ctx, model, content, styles, style_count, blend_weights, &params, &run));
    run->start = cls_now_seconds();
    status = optimise(run, &r);
    fill_result(run, &r, result);
    /* On success the optimised image; when the loss blew up, the last finite one. */
    if (status == CLS_OK || status == CLS_ERR_NOT_FINITE) {
        cls_status failure = status;
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", cls_last_error());
        status = cls_image_alloc(output, run->width, run->height);
        if (status == CLS_OK && failure == CLS_OK)
            status = cls_tensor_to_image(ctx, run->x, output);
        else if (status == CLS_OK)
            cls_planar_to_image(run->x_good, output);
        if (status == CLS_OK && failure != CLS_OK)
            status = cls_error(failure, "%s", detail);
        if (status != CLS_OK && failure == CLS_OK)
            cls_image_free(output);
    }
fail:
    destroy_run(run);
    return status;
}

cls_status cls_transfer_current_image(cls_transfer *run, cls_image *out)
{
    cls_status status = cls_image_alloc(out, run->width, run->height);
    if (status == CLS_OK)
        status = cls_tensor_to_image(run->ctx, run->x, out);
    if (status != CLS_OK)
        cls_image_free(out);
    return status;
}
