/* Spatial control: the masks of style_masks and content_mask, from images to one weight per
 * pixel at every loss layer's size, and the buffers the guided losses work in. A mask is
 * pooled like the network pools (2x2 means, rounding down), so a weight follows its pixels
 * through the layers. */
#include "io/io.h"
#include "runtime/launch.h"
#include "transfer/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mask at some size: width x height weights, row-major. */
typedef struct plane {
    int width, height;
    float *w;
} plane;

/* The mask image as weights in 0..1 at the content's size. */
static cls_status mask_weights(const cls_transfer *run, const cls_image *image, const char *what,
                               plane *out)
{
    cls_status status = CLS_OK;
    cls_image sized = {0};
    const cls_image *src = image;
    if (!image || !image->pixels || image->width < 1 || image->height < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "%s: no image", what);
    if (image->width != run->width || image->height != run->height) {
        CLS_TRY(cls_image_resize(image, run->width, run->height, &sized));
        src = &sized;
    }
    const size_t count = (size_t)run->width * run->height;
    out->width = run->width;
    out->height = run->height;
    out->w = malloc(count * sizeof *out->w);
    CLS_CHECK_ALLOC(out->w, "a mask");
    bool any = false;
    for (size_t i = 0; i < count; i++) {
        const float *rgb = src->pixels + 3 * i;
        const float v = (rgb[0] + rgb[1] + rgb[2]) / (3.0f * 255.0f);
        out->w[i] = isfinite(v) ? fminf(fmaxf(v, 0.0f), 1.0f) : 0.0f;
        any = any || out->w[i] > 0.0f;
    }
    if (!any)
        status = cls_error(CLS_ERR_INVALID_ARGUMENT,
                           "%s is black everywhere: it would select no pixel (white selects, "
                           "black leaves out)",
                           what);
fail:
    cls_image_free(&sized);
    return status;
}

/* The next pooling level: 2x2 means, rounding the size down. */
static cls_status pool_plane(const plane *in, plane *out)
{
    out->width = in->width / 2;
    out->height = in->height / 2;
    out->w = malloc((size_t)(out->width ? out->width : 1) * (out->height ? out->height : 1) *
                    sizeof *out->w);
    if (!out->w)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "pooling a mask");
    for (int y = 0; y < out->height; y++)
        for (int x = 0; x < out->width; x++) {
            const float *a = in->w + (size_t)(2 * y) * in->width + 2 * x;
            out->w[(size_t)y * out->width + x] =
                0.25f * ((a[0] + a[1]) + (a[in->width] + a[in->width + 1]));
        }
    return CLS_OK;
}

/* A mask at every pooling level: level[p] is the mask after p poolings (level[0] at the
 * content's size), as deep as the deepest loss layer. */
enum { MAX_LEVELS = 8 };
typedef struct pyramid {
    plane level[MAX_LEVELS];
    int count;
} pyramid;

static void pyramid_free(pyramid *m)
{
    for (int p = 0; p < m->count; p++)
        free(m->level[p].w);
    m->count = 0;
}

/* Poolings up to the deepest content or style layer. */
static int deepest_poolings(const cls_transfer *run)
{
    int most = 0;
    for (int i = 0; i < run->content_layers.count; i++) {
        const int p = cls_run_poolings(run, run->content[i].layer);
        most = p > most ? p : most;
    }
    for (int i = 0; i < run->style_layers.count; i++) {
        const int p = cls_run_poolings(run, run->style[i].layer);
        most = p > most ? p : most;
    }
    return most;
}

/* The mask image (what: for messages) as weights, pooled to every level the layers use. */
static cls_status mask_pyramid(const cls_transfer *run, const cls_image *image, const char *what,
                               pyramid *out)
{
    cls_status status = CLS_OK;
    const int levels = deepest_poolings(run) + 1;
    *out = (pyramid){.count = 0};
    if (levels > MAX_LEVELS)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "%s: layers %d poolings deep", what, levels - 1);
    CLS_TRY(mask_weights(run, image, what, &out->level[0]));
    out->count = 1;
    for (; out->count < levels; out->count++)
        CLS_TRY(pool_plane(&out->level[out->count - 1], &out->level[out->count]));
    return CLS_OK;
fail:
    if (out->count < MAX_LEVELS)
        free(out->level[out->count].w); /* the level that failed, if it got its memory */
    pyramid_free(out);
    return status;
}

/* The mask at the size of a layer's output. */
static const plane *mask_at_layer(const cls_transfer *run, const pyramid *m, int layer)
{
    return &m->level[cls_run_poolings(run, layer)];
}

static cls_status upload(cls_transfer *run, const float *values, size_t count, const char *what,
                         cl_mem *out)
{
    cls_status status = CLS_OK;
    CLS_TRY(cls_buffer_create(run->ctx, count * sizeof(float), what, out));
    CLS_CHECK_CL(clEnqueueWriteBuffer(run->ctx->queue, *out, CL_TRUE, 0, count * sizeof(float),
                                      values, 0, NULL, NULL),
                 what);
    run->device_bytes += count * sizeof(float);
fail:
    return status;
}

/* Style image r's region at every style layer: its pooled mask, 1 / mean(mask^2), and a
 * buffer for its Gram target. */
static cls_status prepare_region(cls_transfer *run, int r, const pyramid *m, const char *what)
{
    cls_status status = CLS_OK;
    for (int i = 0; i < run->style_layers.count; i++) {
        cls_region *region = cls_run_region(run, i, r);
        const plane *at = mask_at_layer(run, m, run->style[i].layer);
        const size_t count = (size_t)at->width * at->height;
        double energy = 0.0;
        for (size_t k = 0; k < count; k++)
            energy += (double)at->w[k] * at->w[k];
        energy /= (double)(count ? count : 1);
        if (!(energy > 0.0))
            return cls_error(CLS_ERR_INVALID_ARGUMENT,
                             "%s selects too few pixels: nothing of it is left at %s (%dx%d); "
                             "make its region larger",
                             what, run->model->layers[run->style[i].layer].name, at->width,
                             at->height);
        region->inv_energy = 1.0 / energy;
        CLS_TRY(upload(run, at->w, count, what, &region->mask));
        const size_t cc = (size_t)run->style[i].channels * run->style[i].channels;
        CLS_TRY(cls_buffer_create(run->ctx, cc * sizeof(float), "style targets", &region->target));
        run->device_bytes += cc * sizeof(float);
    }
fail:
    return status;
}

/* The content mask's square root at every content layer (the loss squares it back). */
static cls_status prepare_content_mask(cls_transfer *run, const pyramid *m)
{
    cls_status status = CLS_OK;
    float *root = NULL;
    for (int i = 0; i < run->content_layers.count; i++) {
        const plane *at = mask_at_layer(run, m, run->content[i].layer);
        const size_t count = (size_t)at->width * at->height;
        free(root);
        root = malloc(count * sizeof *root);
        CLS_CHECK_ALLOC(root, "the content mask");
        for (size_t k = 0; k < count; k++)
            root[k] = sqrtf(at->w[k]);
        CLS_TRY(upload(run, root, count, "the content mask", &run->content[i].mask));
    }
fail:
    free(root);
    return status;
}

/* Elements of the largest tap the masks apply to: the content layers' with a content mask,
 * the style layers' with style masks. */
static size_t largest_masked_tap(const cls_transfer *run, bool content, bool style)
{
    size_t most = 0;
    for (int i = 0; content && i < run->content_layers.count; i++) {
        size_t n = cls_shape_count(
            cls_run_layer_shape(run, run->content[i].layer, run->height, run->width));
        most = n > most ? n : most;
    }
    for (int i = 0; style && i < run->style_layers.count; i++) {
        size_t n =
            cls_shape_count(cls_run_layer_shape(run, run->style[i].layer, run->height, run->width));
        most = n > most ? n : most;
    }
    return most;
}

size_t cls_masks_plan_bytes(const cls_transfer *run)
{
    const cls_transfer_params *p = &run->params;
    const size_t regions = p->style_masks ? (size_t)p->style_mask_count : 0;
    size_t bytes = 0;
    for (int i = 0; regions && i < run->style_layers.count; i++) {
        const cls_shape s = cls_run_layer_shape(run, run->style[i].layer, run->height, run->width);
        bytes += regions * ((size_t)s.c * s.c + (size_t)s.h * s.w) * sizeof(float);
    }
    for (int i = 0; p->content_mask && i < run->content_layers.count; i++) {
        const cls_shape s =
            cls_run_layer_shape(run, run->content[i].layer, run->height, run->width);
        bytes += (size_t)s.h * s.w * sizeof(float);
    }
    return bytes +
           2 * largest_masked_tap(run, p->content_mask != NULL, regions > 0) * sizeof(float);
}

/* The blend weights scaled to mean 1 (each style at full strength in its region). */
static void region_weights(cls_transfer *run, const double *blend)
{
    double sum = 0.0;
    for (int r = 0; r < run->regions; r++)
        sum += blend ? blend[r] : 1.0;
    for (int r = 0; r < run->regions; r++)
        run->region_weight[r] = (blend ? blend[r] : 1.0) * run->regions / sum;
}

/* The style images' counts agree with the masks' (check_inputs). */
cls_status cls_masks_prepare(cls_transfer *run, const double *blend, int style_count)
{
    cls_status status = CLS_OK;
    const cls_transfer_params *p = &run->params;
    pyramid m = {.count = 0};
    if (p->style_masks) {
        run->regions = style_count;
        run->region = calloc((size_t)style_count * run->style_layers.count, sizeof *run->region);
        run->region_weight = calloc((size_t)style_count, sizeof *run->region_weight);
        CLS_CHECK_ALLOC(run->region, "style masks");
        CLS_CHECK_ALLOC(run->region_weight, "style mask weights");
        region_weights(run, blend);
        for (int r = 0; r < style_count; r++) {
            char what[64];
            snprintf(what, sizeof what, "style mask %d", r + 1);
            CLS_TRY(mask_pyramid(run, &p->style_masks[r], what, &m));
            CLS_TRY(prepare_region(run, r, &m, what));
            pyramid_free(&m);
        }
    }
    if (p->content_mask) {
        CLS_TRY(mask_pyramid(run, p->content_mask, "the content mask", &m));
        CLS_TRY(prepare_content_mask(run, &m));
    }
    const size_t largest = largest_masked_tap(run, p->content_mask != NULL, run->regions > 0);
    if (largest) {
        CLS_TRY(
            cls_buffer_create(run->ctx, largest * sizeof(float), "masked features", &run->masked));
        CLS_TRY(cls_buffer_create(run->ctx, largest * sizeof(float), "masked feature gradients",
                                  &run->masked_grad));
        run->device_bytes += 2 * largest * sizeof(float);
    }
fail:
    pyramid_free(&m);
    return status;
}

void cls_masks_release(cls_transfer *run)
{
    for (int i = 0; run->region && i < run->style_layers.count * run->regions; i++) {
        if (run->region[i].mask)
            clReleaseMemObject(run->region[i].mask);
        if (run->region[i].target)
            clReleaseMemObject(run->region[i].target);
    }
    for (int i = 0; i < CLS_MAX_LAYER_LIST; i++)
        if (run->content[i].mask)
            clReleaseMemObject(run->content[i].mask);
    if (run->masked)
        clReleaseMemObject(run->masked);
    if (run->masked_grad)
        clReleaseMemObject(run->masked_grad);
    free(run->region);
    free(run->region_weight);
}
