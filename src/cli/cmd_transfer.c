/* The main command: read the images, load the model, stylise, write the result. */
#include "cli/options.h"
#include "cli/progress.h"
#include "cli/signals.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

/* Everything the command holds, released in one place. */
typedef struct job {
    cls_cli_options *o;
    cls_image content, styles[CLS_CLI_MAX_STYLES], init, output;
    cls_image style_masks[CLS_CLI_MAX_STYLES], content_mask;
    cls_ctx *ctx;
    cls_model *model;
    cls_feedback feedback;
    char model_path[4096];
} job;

static void release(job *j)
{
    cls_image_free(&j->content);
    for (int i = 0; i < CLS_CLI_MAX_STYLES; i++) {
        cls_image_free(&j->styles[i]);
        cls_image_free(&j->style_masks[i]);
    }
    cls_image_free(&j->content_mask);
    cls_image_free(&j->init);
    cls_image_free(&j->output);
    cls_model_destroy(j->model);
    cls_ctx_destroy(j->ctx);
    cls_feedback_close(&j->feedback);
}

static int fail(job *j, cls_status status, const char *hint)
{
    cls_feedback_end_line(&j->feedback);
    cls_cli_fail(status);
    if (hint)
        fprintf(stderr, "clstyle: %s\n", hint);
    return CLS_EXIT_RUNTIME;
}

/* Reads path and resizes it so its longest side is `longest` (or to exactly w x h). */
static cls_status load_image(const job *j, const char *path, int longest, int w, int h,
                             cls_image *out)
{
    cls_image raw;
    cls_read_options r = cls_read_options_default();
    bool alpha = false;
    r.max_pixels = j->o->max_pixels;
    r.had_alpha = &alpha;
    cls_status status = cls_image_read(path, &r, &raw);
    if (status != CLS_OK)
        return status;
    if (alpha && j->o->common.verbosity > 0)
        fprintf(stderr, "clstyle: %s has transparency; composited over white\n", path);
    if (longest > 0)
        cls_image_fit(raw.width, raw.height, longest, &w, &h);
    if (w == raw.width && h == raw.height) {
        *out = raw;
        return CLS_OK;
    }
    status = cls_image_resize(&raw, w, h, out);
    cls_image_free(&raw);
    return status;
}

/* A mask at the content's size; one that is black everywhere is refused now, before the
 * device starts, naming the file. */
static cls_status load_mask(const job *j, const char *path, cls_image *out)
{
    cls_status status = load_image(j, path, 0, j->content.width, j->content.height, out);
    if (status != CLS_OK)
        return status;
    for (size_t i = 0; i < (size_t)3 * out->width * out->height; i++)
        if (out->pixels[i] > 0.0f)
            return CLS_OK;
    return cls_error(CLS_ERR_INVALID_ARGUMENT,
                     "%s: the mask is black everywhere, so it selects no pixel (white selects, "
                     "black leaves out)",
                     path);
}

static cls_status load_images(job *j)
{
    cls_status status = CLS_OK;
    const cls_cli_options *o = j->o;
    CLS_TRY(load_image(j, o->content, o->size, 0, 0, &j->content));
    const int style_size = (int)(o->size * o->style_scale + 0.5);
    for (int i = 0; i < o->style_count; i++)
        CLS_TRY(
            load_image(j, o->styles[i], style_size < 16 ? 16 : style_size, 0, 0, &j->styles[i]));
    /* --init style and --init FILE start from an image of the content's size. */
    if (o->params.init == CLS_INIT_STYLE || o->params.init == CLS_INIT_IMAGE) {
        const char *from = o->params.init == CLS_INIT_STYLE ? o->styles[0] : o->init_file;
        CLS_TRY(load_image(j, from, 0, j->content.width, j->content.height, &j->init));
    }
    /* Masks are drawn over the content: resized to it. */
    for (int i = 0; i < o->style_mask_count; i++)
        CLS_TRY(load_mask(j, o->style_masks[i], &j->style_masks[i]));
    if (o->content_mask)
        CLS_TRY(load_mask(j, o->content_mask, &j->content_mask));
    j->o->params.style_masks = o->style_mask_count ? j->style_masks : NULL;
    j->o->params.style_mask_count = o->style_mask_count;
    j->o->params.content_mask = o->content_mask ? &j->content_mask : NULL;
fail:
    return status;
}

/* Finds the weight file and checks its format and tensors, all before the device starts up,
 * so that a damaged or wrong file is reported at once. */
static cls_status check_model(job *j)
{
    cls_status status = CLS_OK;
    if (j->o->model)
        snprintf(j->model_path, sizeof j->model_path, "%s", j->o->model);
    else
        CLS_TRY(cls_model_find(j->model_path, sizeof j->model_path));
    CLS_TRY(cls_model_check(j->model_path));
fail:
    return status;
}

static cls_status open_device_and_model(job *j)
{
    cls_status status = CLS_OK;
    cls_ctx_params params = cls_cli_ctx_params(&j->o->common);
    CLS_TRY(cls_ctx_create(&params, &j->ctx));
    CLS_TRY(cls_model_load(j->ctx, j->model_path, &j->model));
fail:
    return status;
}

static int interrupted(void *unused)
{
    (void)unused;
    return cls_signals_interrupted();
}

/* Times the convolution algorithms for this device and size where no earlier run did, and
 * says so, since it delays the first iteration by seconds. After the memory check, which
 * uses the choices known so far (the device's rule for the others): a run that cannot fit
 * is refused before this work. */
static cls_status choose_algorithms(job *j)
{
    cls_transfer_params params = j->o->params;
    params.cancel = interrupted;
    const int w = j->content.width, h = j->content.height;
    int pending = 0, timed;
    cls_status status = cls_transfer_choose_algorithms(j->model, w, h, &params, true, &pending);
    if (status != CLS_OK || pending == 0)
        return status;
    if (j->o->common.verbosity >= 0)
        fprintf(stderr,
                "clstyle: timing both convolution algorithms on %d layer shapes (once "
                "for this device and size)...\n",
                pending);
    return cls_transfer_choose_algorithms(j->model, w, h, &params, false, &timed);
}

/* A multiscale run's stages, smallest first: "128x91 (1000) -> 181x128 (1000) -> ...". */
static void announce_stages(const job *j)
{
    const cls_feedback *f = &j->feedback;
    if (f->stage_count < 2 || j->o->common.verbosity < 0)
        return;
    fprintf(stderr, "clstyle: multiscale, %d stages:", f->stage_count);
    for (int k = 0; k < f->stage_count; k++)
        fprintf(stderr, "%s %dx%d (%d)", k ? " ->" : "", f->stages[k].width, f->stages[k].height,
                f->stages[k].iterations);
    fprintf(stderr, " iterations; --no-multiscale for one stage\n");
}

/* A tiled run's plan: "in 16 tiles of 512 px (halo 96): the whole image would need ...". */
static void announce_tiles(const job *j, const cls_transfer_plan_info *plan)
{
    if (plan->tiles == 0 || j->o->common.verbosity < 0)
        return;
    const size_t weights = cls_model_device_bytes(j->model);
    fprintf(stderr,
            "clstyle: the image does not fit %s: tiled exactly, %d tiles of %d px with a halo of "
            "%d (regions up to %dx%d), run twice per evaluation; untiled it would need %.0f "
            "MiB\n",
            j->o->params.max_device_bytes ? "--max-memory" : "the device", plan->tiles, plan->tile,
            plan->halo, plan->region_width, plan->region_height,
            (plan->untiled_bytes + weights) / 1048576.0);
}

/* L-BFGS history moved to host memory to fit: said, since it costs host memory and time. */
static void announce_history(const job *j, const cls_transfer_plan_info *plan)
{
    if (!plan->history_on_host || j->o->common.verbosity < 0)
        return;
    fprintf(stderr,
            "clstyle: the L-BFGS history is kept in host memory (%.0f MiB) to fit %s; each "
            "iteration uploads it (a smaller --lbfgs-history keeps it on the device)\n",
            plan->host_bytes / 1048576.0,
            j->o->params.max_device_bytes ? "--max-memory" : "the device");
}

/* Says what the run needs before it starts, and refuses what cannot fit. */
static cls_status announce(job *j)
{
    cls_transfer_plan_info plan;
    cls_status status =
        cls_transfer_plan(j->model, j->content.width, j->content.height, &j->o->params, &plan);
    if (status != CLS_OK)
        return status;
    const size_t bytes = plan.device_bytes;
    const cls_device_info *d = cls_ctx_device(j->ctx);
    const double mib = 1048576.0;
    const size_t weights = cls_model_device_bytes(j->model);
    if (j->o->common.verbosity >= 0)
        fprintf(stderr,
                "clstyle: %s on %s: %dx%d, %d iterations, %.0f MiB of device memory "
                "(%.0f MiB of it weights), model %s\n",
                j->o->params.optimizer == CLS_OPTIMIZER_ADAM ? "Adam" : "L-BFGS", d->name,
                j->content.width, j->content.height, j->o->params.iterations,
                (bytes + weights) / mib, weights / mib, j->model_path);
    j->feedback.stage_count =
        cls_transfer_stages(j->content.width, j->content.height, &j->o->params, j->feedback.stages);
    if (j->feedback.stage_count == 0)
        return CLS_ERR_INVALID_ARGUMENT;
    announce_stages(j);
    announce_history(j, &plan);
    announce_tiles(j, &plan);
    if (bytes + weights > d->global_mem_bytes)
        return cls_error(CLS_ERR_OUT_OF_DEVICE_MEMORY,
                         "this run needs %.0f MiB of device memory but %s has %.0f MiB",
                         (bytes + weights) / mib, d->name, d->global_mem_bytes / mib);
    return CLS_OK;
}

static const char *hint_for(cls_status status)
{
    switch ((int)status) {
    case CLS_ERR_OUT_OF_DEVICE_MEMORY:
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_OUT_OF_RESOURCES:
        return "reduce the memory needed with a smaller --lbfgs-history (e.g. 20), --optimizer "
               "adam, a smaller --size, or fewer/shallower --style-layers (or allow more with "
               "--max-memory)";
    case CLS_ERR_NOT_FINITE:
        return "the optimisation diverged: lower --learning-rate or the loss weights, or use "
               "--init content; the last finite image was written";
    default: return NULL;
    }
}

static cls_status write_output(job *j)
{
    cls_write_options w = cls_write_options_default();
    w.png_depth = j->o->output_depth;
    w.jpeg_quality = j->o->jpeg_quality;
    if (j->o->original_colors) {
        cls_status status = cls_image_original_colors(&j->content, &j->output);
        if (status != CLS_OK)
            return status;
    }
    cls_signals_block();
    cls_status status = cls_image_write(j->o->output, &j->output, &w);
    cls_signals_unblock();
    return status;
}

static int report_interrupted_early(void)
{
    fprintf(stderr, "clstyle: interrupted before the first iteration; nothing written\n");
    return CLS_EXIT_INTERRUPTED;
}

static int stylise(job *j)
{
    cls_transfer_result r;
    cls_transfer_params params = j->o->params;
    params.init_image = j->init.pixels ? &j->init : NULL;
    if (params.init == CLS_INIT_STYLE)
        params.init = CLS_INIT_IMAGE; /* the style image resized to the content's size */
    params.progress = cls_feedback_progress;
    params.progress_user = &j->feedback;
    params.cancel = interrupted;
    cls_status status =
        cls_transfer_run(j->ctx, j->model, &j->content, j->styles, j->o->style_count,
                         j->o->blend_count ? j->o->blend : NULL, &params, &j->output, &r);
    cls_feedback_end_line(&j->feedback);
    if (j->feedback.error != CLS_OK) {
        fprintf(stderr, "clstyle: error: %s\n", j->feedback.error_detail);
        return CLS_EXIT_RUNTIME;
    }
    if (status == CLS_ERR_CANCELLED)
        return report_interrupted_early();
    if (status != CLS_OK && status != CLS_ERR_NOT_FINITE)
        return fail(j, status, hint_for(status));
    cls_status written = write_output(j);
    if (written != CLS_OK)
        return fail(j, written, NULL);
    if (status == CLS_ERR_NOT_FINITE)
        return fail(j, status, hint_for(status));
    if (r.cancelled) {
        fprintf(stderr,
                "clstyle: interrupted after %d iterations; wrote the current image to "
                "%s\n",
                r.iterations, j->o->output);
        return CLS_EXIT_INTERRUPTED;
    }
    if (j->o->common.verbosity >= 0)
        fprintf(stderr,
                "clstyle: wrote %s: %d iterations, %d evaluations, loss %.6e, %.1f s (%s)\n",
                j->o->output, r.iterations, r.evals, r.loss, r.seconds, r.stop_reason);
    return CLS_EXIT_OK;
}

int cls_cmd_transfer(cls_cli_options *o)
{
    job j = {.o = o};
    int code = CLS_EXIT_RUNTIME;
    cls_status status;
    cls_signals_install();
    if (cls_feedback_open(&j.feedback, o) != CLS_OK) {
        fprintf(stderr, "clstyle: error: cannot create the log file %s\n", o->log_path);
        goto done;
    }
    if ((status = cls_image_check_writable(o->output)) != CLS_OK ||
        (status = load_images(&j)) != CLS_OK || (status = check_model(&j)) != CLS_OK ||
        (status = open_device_and_model(&j)) != CLS_OK || (status = announce(&j)) != CLS_OK ||
        (status = choose_algorithms(&j)) != CLS_OK) {
        code = status == CLS_ERR_CANCELLED ? report_interrupted_early()
                                           : fail(&j, status, hint_for(status));
        goto done;
    }
    if (cls_signals_interrupted()) {
        code = report_interrupted_early();
        goto done;
    }
    code = stylise(&j);
done:
    release(&j);
    return code;
}
