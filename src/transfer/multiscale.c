/* Coarse-to-fine runs: the stages' sizes, and a run through them, each stage a single-scale
 * run of the content, style images and masks resized to it, started from the previous
 * stage's result resized up. */
#include "io/io.h"
#include "optim/objective.h"
#include "transfer/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SMALLEST_SIDE = 16 }; /* relu5_1 of a 16-pixel side is 1 x 1 */

int cls_transfer_stages(int width, int height, const cls_transfer_params *params,
                        cls_stage stages[CLS_MAX_STAGES])
{
    const cls_transfer_params defaults = cls_transfer_params_default();
    const cls_transfer_params *p = params ? params : &defaults;
    if (width < 1 || height < 1) {
        cls_error(CLS_ERR_INVALID_ARGUMENT, "no stages for an image of %dx%d", width, height);
        return 0;
    }
    if (p->multiscale && p->min_scale < SMALLEST_SIDE) {
        cls_error(CLS_ERR_INVALID_ARGUMENT,
                  "the first stage's size (min_scale) must be at least %d pixels, got %d",
                  SMALLEST_SIDE, p->min_scale);
        return 0;
    }
    if (p->stage_iterations < 0) {
        cls_error(CLS_ERR_INVALID_ARGUMENT, "stage iterations must be 0 or more, got %d",
                  p->stage_iterations);
        return 0;
    }
    const int longest = width > height ? width : height;
    int count = 0;
    if (p->multiscale && longest > p->min_scale) {
        /* The most halvings of the pixel count that keep the first stage >= min_scale. */
        int first = (int)floor(2.0 * log2((double)longest / p->min_scale) + 1e-9);
        first = first < CLS_MAX_STAGES - 1 ? first : CLS_MAX_STAGES - 1;
        const int iterations = p->stage_iterations ? p->stage_iterations : p->iterations;
        for (int k = first; k >= 1; k--) {
            const double f = pow(2.0, -0.5 * k);
            const int w = (int)lround(width * f), h = (int)lround(height * f);
            if (w >= SMALLEST_SIDE && h >= SMALLEST_SIDE)
                stages[count++] = (cls_stage){w, h, iterations};
        }
    }
    stages[count++] = (cls_stage){width, height, p->iterations};
    return count;
}

/* in resized by factor f (< 1), its shorter side kept at SMALLEST_SIDE or more where it had
 * that much, for the style images. */
static cls_status shrunk(const cls_image *in, double f, cls_image *out)
{
    const int shorter = in->width < in->height ? in->width : in->height;
    if (shorter * f < SMALLEST_SIDE)
        f = shorter > SMALLEST_SIDE ? (double)SMALLEST_SIDE / shorter : 1.0;
    int w = (int)lround(in->width * f), h = (int)lround(in->height * f);
    return cls_image_resize(in, w < 1 ? 1 : w, h < 1 ? 1 : h, out);
}

/* What the stages share: the caller's parameters, the plan, the optimisation time of the
 * stages before the current one. */
typedef struct stage_plan {
    const cls_transfer_params *user;
    cls_stage stages[CLS_MAX_STAGES];
    int count, current;
    double seconds_before;
} stage_plan;

/* The caller's progress callback, told the stage and the time since the first stage began
 * optimising. */
static int stage_progress(void *user, const cls_progress *p)
{
    const stage_plan *plan = user;
    cls_progress q = *p;
    q.stage = plan->current + 1;
    q.stages = plan->count;
    q.elapsed_s += plan->seconds_before;
    return plan->user->progress(plan->user->progress_user, &q);
}

static void free_images(cls_image *images, int count)
{
    for (int i = 0; images && i < count; i++)
        cls_image_free(&images[i]);
    free(images);
}

/* The current stage's images: the content and style images shrunk by its factor (the last
 * stage takes the caller's), and where it starts: the previous stage's result, or for the
 * first stage an init image, both resized to the stage. */
typedef struct stage_images {
    cls_image content, *styles, init;
    int style_count;
} stage_images;

static void release_stage_images(stage_images *im)
{
    cls_image_free(&im->content);
    cls_image_free(&im->init);
    free_images(im->styles, im->style_count);
}

static cls_status shrink_inputs(const cls_image *content, const cls_image *styles, int count,
                                const cls_stage *s, stage_images *im)
{
    cls_status status = CLS_OK;
    const int longest = content->width > content->height ? content->width : content->height;
    const double f = (double)(s->width > s->height ? s->width : s->height) / longest;
    CLS_TRY(cls_image_resize(content, s->width, s->height, &im->content));
    im->styles = calloc((size_t)count, sizeof *im->styles);
    CLS_CHECK_ALLOC(im->styles, "the style images of a stage");
    im->style_count = count;
    for (int i = 0; i < count; i++)
        CLS_TRY(shrunk(&styles[i], f, &im->styles[i]));
fail:
    return status;
}

/* One stage: a single-scale run at its size. *out: its result (empty when it stopped before
 * its first iteration or failed). */
static cls_status run_stage(cls_ctx *ctx, cls_model *model, const cls_image *content,
                            const cls_image *styles, int style_count, const double *blend,
                            const stage_plan *plan, const cls_image *previous, cls_image *out,
                            cls_transfer_result *r)
{
    cls_status status = CLS_OK;
    const cls_stage *s = &plan->stages[plan->current];
    stage_images im = {0};
    cls_transfer_params p = *plan->user;
    p.iterations = s->iterations;
    if (p.progress) {
        p.progress = stage_progress;
        p.progress_user = (void *)plan;
    }
    if (s->width != content->width || s->height != content->height) {
        CLS_TRY(shrink_inputs(content, styles, style_count, s, &im));
        content = &im.content;
        styles = im.styles;
    }
    const cls_image *from = previous->pixels ? previous
                            : p.init == CLS_INIT_IMAGE && p.init_image && p.init_image->pixels
                                ? p.init_image
                                : NULL;
    if (from) {
        CLS_TRY(cls_image_resize(from, s->width, s->height, &im.init));
        p.init = CLS_INIT_IMAGE;
        p.init_image = &im.init;
    }
    status = cls_transfer_run_single(ctx, model, content, styles, style_count, blend, &p, out, r);
fail:
    release_stage_images(&im);
    return status;
}

/* Adds a stage's counts and times to the run's; its losses and stop reason become the run's
 * unless it stopped before its first evaluation. */
static void add_stage(cls_transfer_result *total, const cls_transfer_result *r)
{
    if (r->evals == 0) {
        total->device_bytes =
            total->device_bytes > r->device_bytes ? total->device_bytes : r->device_bytes;
        return;
    }
    const int iterations = total->iterations + r->iterations, evals = total->evals + r->evals;
    const double seconds = total->seconds + r->seconds;
    const size_t bytes =
        total->device_bytes > r->device_bytes ? total->device_bytes : r->device_bytes;
    *total = *r;
    total->iterations = iterations;
    total->evals = evals;
    total->seconds = seconds;
    total->device_bytes = bytes;
}

/* The last stage's image at the content's size: resized up when the run stopped early. */
static cls_status full_size(cls_image *image, int width, int height, cls_image *output)
{
    if (image->width == width && image->height == height) {
        *output = *image;
        memset(image, 0, sizeof *image);
        return CLS_OK;
    }
    cls_status status = cls_image_resize(image, width, height, output);
    cls_image_free(image);
    return status;
}

cls_status cls_multiscale_run(cls_ctx *ctx, cls_model *model, const cls_image *content,
                              const cls_image *styles, int style_count, const double *blend,
                              const cls_transfer_params *params, cls_image *output,
                              cls_transfer_result *result)
{
    cls_transfer_result ignored, total = {0};
    result = result ? result : &ignored;
    memset(output, 0, sizeof *output);
    memset(result, 0, sizeof *result);
    if (!content || !content->pixels || content->width < 1 || content->height < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "content image: no image");
    if (style_count < 1 || !styles)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "at least one style image is needed");
    for (int i = 0; i < style_count; i++)
        if (!styles[i].pixels || styles[i].width < 1 || styles[i].height < 1)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "style image: no image");
    stage_plan plan = {.user = params};
    plan.count = cls_transfer_stages(content->width, content->height, params, plan.stages);
    if (plan.count == 0)
        return CLS_ERR_INVALID_ARGUMENT;
    cls_status status = CLS_OK;
    cls_image previous = {0}; /* the latest stage's result */
    for (plan.current = 0; plan.current < plan.count; plan.current++) {
        cls_image stage_out = {0};
        cls_transfer_result r = {0};
        status = run_stage(ctx, model, content, styles, style_count, blend, &plan, &previous,
                           &stage_out, &r);
        add_stage(&total, &r);
        plan.seconds_before = total.seconds;
        if (stage_out.pixels) {
            cls_image_free(&previous);
            previous = stage_out;
        }
        if (status != CLS_OK || r.cancelled)
            break;
    }
    /* Stopped before a later stage's first iteration: the previous stage's image stands. */
    if (status == CLS_ERR_CANCELLED && previous.pixels) {
        status = CLS_OK;
        total.cancelled = true;
        total.stop_reason = cls_stop_reason_str(CLS_STOP_CANCELLED);
    }
    *result = total;
    if ((status == CLS_OK || status == CLS_ERR_NOT_FINITE) && previous.pixels) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", cls_last_error());
        cls_status resized = full_size(&previous, content->width, content->height, output);
        if (resized != CLS_OK)
            return resized;
        if (status != CLS_OK)
            status = cls_error(status, "%s", detail);
    }
    cls_image_free(&previous);
    return status;
}
