/* Exact tiling: the objective of an image larger than the device holds, computed on
 * overlapping tiles. Each tile runs the network on its own pixels plus a halo as wide as the
 * receptive field of the deepest tap, so the features at its own positions are those of the
 * whole image; every feature position belongs to exactly one tile. A first pass adds up the
 * Gram matrices of the tiles' own positions; the style losses and their Gram gradients are
 * then those of the whole image; a second pass runs each tile again and back-propagates the
 * losses of its own positions, adding its image gradient (halo included) into the whole's.
 * Tile origins are multiples of the cumulative pooling stride, so pooling windows fall as
 * they do on the whole image. */
#include "ops/elementwise.h"
#include "ops/gram.h"
#include "ops/loss.h"
#include "transfer/image_tensor.h"
#include "runtime/launch.h"
#include "transfer/run.h"

#include <stdlib.h>
#include <string.h>

int cls_tiling_halo(const cls_model *model, int last, int *align)
{
    int radius = 0, stride = 1;
    for (int i = 0; i <= last; i++) {
        if (model->layers[i].kind == CLS_LAYER_CONV)
            radius += stride; /* 3 x 3, padding 1: one input pixel each way */
        if (model->layers[i].kind == CLS_LAYER_POOL) {
            radius += stride; /* 2 x 2, stride 2: one more pixel, to the right and below */
            stride *= 2;
        }
    }
    *align = stride;
    return (radius + stride - 1) / stride * stride;
}

static int deepest(const cls_transfer *run)
{
    int last = 0;
    for (int t = 0; t < run->tap_count; t++)
        last = run->taps[t] > last ? run->taps[t] : last;
    return last;
}

/* Tiles of `tile` x `tile` own pixels; the last of a row or column keeps the rest, from tile
 * to 2 tile - 1 pixels, so that it owns positions at every layer. */
static cls_status plan_tiles(cls_tiling *t, int height, int width)
{
    const int rows = height > t->tile ? height / t->tile : 1;
    const int cols = width > t->tile ? width / t->tile : 1;
    t->tiles = calloc((size_t)rows * cols, sizeof *t->tiles);
    if (!t->tiles)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "the tile plan");
    t->count = rows * cols;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            cls_tile *tile = &t->tiles[r * cols + c];
            tile->y0 = r * t->tile;
            tile->x0 = c * t->tile;
            tile->y1 = r == rows - 1 ? height : tile->y0 + t->tile;
            tile->x1 = c == cols - 1 ? width : tile->x0 + t->tile;
            tile->ry0 = tile->y0 > t->halo ? tile->y0 - t->halo : 0;
            tile->rx0 = tile->x0 > t->halo ? tile->x0 - t->halo : 0;
            tile->ry1 = tile->y1 + t->halo < height ? tile->y1 + t->halo : height;
            tile->rx1 = tile->x1 + t->halo < width ? tile->x1 + t->halo : width;
            const int rh = tile->ry1 - tile->ry0, rw = tile->rx1 - tile->rx0;
            t->region_h = rh > t->region_h ? rh : t->region_h;
            t->region_w = rw > t->region_w ? rw : t->region_w;
        }
    }
    return CLS_OK;
}

cls_status cls_tiling_plan(const cls_transfer *run, int height, int width, int tile, int halo,
                           cls_tiling *t)
{
    memset(t, 0, sizeof *t);
    t->height = height;
    t->width = width;
    const int needed = cls_tiling_halo(run->model, deepest(run), &t->align);
    t->halo = halo > 0 ? halo : needed;
    if (tile < t->align || tile % t->align || t->halo % t->align)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "tiles of %d pixels with a halo of %d: both must be multiples of %d, "
                         "the network's pooling stride",
                         tile, t->halo, t->align);
    t->tile = tile;
    return plan_tiles(t, height, width);
}

void cls_tiling_release(cls_tiling *t)
{
    free(t->tiles);
    free(t->mask_host);
    cl_mem all[] = {t->x, t->grad, t->masked, t->masked_grad, t->target};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
    for (int i = 0; i < 2 * CLS_MAX_LAYER_LIST; i++)
        if (t->own[i])
            clReleaseMemObject(t->own[i]);
    memset(t, 0, sizeof *t);
}

/* The tap index of a layer in run->taps. */
static int tap_index(const cls_transfer *run, int layer)
{
    for (int t = 0; t < run->tap_count; t++)
        if (run->taps[t] == layer)
            return t;
    return -1;
}

/* The floats of the largest tap of a region, and of one plane of every tap together (the
 * ownership masks). */
static void region_taps(const cls_transfer *run, size_t *largest, size_t *planes)
{
    const cls_tiling *t = &run->tiling;
    *largest = *planes = 0;
    for (int k = 0; k < run->tap_count; k++) {
        const cls_shape s = cls_run_layer_shape(run, run->taps[k], t->region_h, t->region_w);
        *largest = cls_shape_count(s) > *largest ? cls_shape_count(s) : *largest;
        *planes += (size_t)s.h * s.w;
    }
}

size_t cls_tiling_bytes(const cls_transfer *run)
{
    const cls_tiling *t = &run->tiling;
    size_t largest, planes;
    region_taps(run, &largest, &planes);
    return (planes + 6 * (size_t)t->region_h * t->region_w + 3 * largest) * sizeof(float);
}

/* Buffers of the largest region: its image and gradient, masked features and their gradient
 * (the largest tap), a content target window, an ownership mask per tap. */
cls_status cls_tiling_allocate(cls_transfer *run, size_t *bytes)
{
    cls_status status = CLS_OK;
    cls_tiling *t = &run->tiling;
    const size_t pixels = (size_t)t->region_h * t->region_w;
    size_t largest, planes;
    region_taps(run, &largest, &planes);
    *bytes = cls_tiling_bytes(run);
    for (int k = 0; k < run->tap_count; k++) {
        const cls_shape s = cls_run_layer_shape(run, run->taps[k], t->region_h, t->region_w);
        CLS_TRY(cls_buffer_create(run->ctx, (size_t)s.h * s.w * sizeof(float), "tile masks",
                                  &t->own[k]));
    }
    t->mask_host = malloc(planes * sizeof *t->mask_host);
    CLS_CHECK_ALLOC(t->mask_host, "a tile mask");
    CLS_TRY(cls_buffer_create(run->ctx, 3 * pixels * sizeof(float), "a tile", &t->x));
    CLS_TRY(cls_buffer_create(run->ctx, 3 * pixels * sizeof(float), "a tile's gradient", &t->grad));
    CLS_TRY(cls_buffer_create(run->ctx, largest * sizeof(float), "tile features", &t->masked));
    CLS_TRY(
        cls_buffer_create(run->ctx, largest * sizeof(float), "tile gradients", &t->masked_grad));
    CLS_TRY(cls_buffer_create(run->ctx, largest * sizeof(float), "tile targets", &t->target));
fail:
    return status;
}

/* A tile's window at a layer with `pools` poolings: the region's origin and size there, and
 * where its own positions start and end inside it. */
typedef struct layer_window {
    int ry, rx;             /* the region's origin, in the layer's positions */
    int oy0, ox0, oy1, ox1; /* own positions, relative to the region */
} layer_window;

static layer_window window_at(const cls_tile *tile, int pools)
{
    const int f = 1 << pools;
    return (layer_window){tile->ry0 / f,
                          tile->rx0 / f,
                          (tile->y0 - tile->ry0) / f,
                          (tile->x0 - tile->rx0) / f,
                          (tile->y1 - tile->ry0) / f,
                          (tile->x1 - tile->rx0) / f};
}

/* Uploads, for every tap, which of the region's positions the tile owns (1) or not (0):
 * one wait for the previous tile's uploads, whose host memory this refills, then every
 * tap's mask from its own part of mask_host without waiting. */
static cls_status upload_masks(cls_transfer *run, const cls_tile *tile)
{
    cls_status status = CLS_OK;
    cls_tiling *t = &run->tiling;
    float *mask = t->mask_host;
    CLS_CHECK_CL(clFinish(run->ctx->queue), "uploading tile masks");
    for (int k = 0; k < run->tap_count; k++) {
        const cls_shape s =
            cls_run_layer_shape(run, run->taps[k], tile->ry1 - tile->ry0, tile->rx1 - tile->rx0);
        const layer_window w = window_at(tile, cls_run_poolings(run, run->taps[k]));
        for (int y = 0; y < s.h; y++)
            for (int x = 0; x < s.w; x++)
                mask[y * s.w + x] =
                    y >= w.oy0 && y < w.oy1 && x >= w.ox0 && x < w.ox1 ? 1.0f : 0.0f;
        CLS_CHECK_CL(clEnqueueWriteBuffer(run->ctx->queue, t->own[k], CL_FALSE, 0,
                                          (size_t)s.h * s.w * sizeof(float), mask, 0, NULL, NULL),
                     "uploading a tile mask");
        mask += (size_t)s.h * s.w;
    }
fail:
    return status;
}

/* Crops the tile's region of x (an image tiled by `image`) and runs the network on it; with
 * masks, uploads its ownership masks too. */
static cls_status forward_tile(cls_transfer *run, const cls_tiling *image, const cls_tile *tile,
                               cl_mem x, bool masks)
{
    cls_status status = CLS_OK;
    const int rh = tile->ry1 - tile->ry0, rw = tile->rx1 - tile->rx0;
    const cls_window whole = {{1, 3, image->height, image->width}, tile->ry0, tile->rx0};
    const cls_window region = {{1, 3, rh, rw}, 0, 0};
    CLS_TRY(cls_copy_window(run->ctx, x, whole, run->tiling.x, region, rh, rw, false));
    CLS_TRY(cls_net_resize(run->net, rh, rw));
    if (masks)
        CLS_TRY(upload_masks(run, tile));
    CLS_TRY(cls_net_forward(run->net, run->tiling.x));
fail:
    return status;
}

/* Float buffer rectangles of a C x H x W tensor: h x w at (y, x) in every plane. */
typedef struct planes_rect {
    size_t origin[3], region[3], row_pitch, slice_pitch;
} planes_rect;

static planes_rect planes_at(cls_shape s, int y, int x, int h, int w)
{
    return (planes_rect){{(size_t)x * sizeof(float), (size_t)y, 0},
                         {(size_t)w * sizeof(float), (size_t)h, (size_t)s.c},
                         (size_t)s.w * sizeof(float),
                         (size_t)s.w * s.h * sizeof(float)};
}

/* The own window of a tile's content tap into the host target. */
static cls_status read_content_window(cls_transfer *run, cl_mem tap, cls_shape s, layer_window w,
                                      cls_shape whole, float *target)
{
    const int h = w.oy1 - w.oy0, wd = w.ox1 - w.ox0;
    const planes_rect dev = planes_at(s, w.oy0, w.ox0, h, wd);
    const planes_rect host = planes_at(whole, w.ry + w.oy0, w.rx + w.ox0, h, wd);
    cl_int err = clEnqueueReadBufferRect(run->ctx->queue, tap, CL_TRUE, dev.origin, host.origin,
                                         dev.region, dev.row_pitch, dev.slice_pitch, host.row_pitch,
                                         host.slice_pitch, target, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "reading a tile's content target");
}

/* The host target's window of a tile's region into out (s, the region's tap shape). */
static cls_status write_content_window(cls_transfer *run, const float *target, cls_shape whole,
                                       layer_window w, cls_shape s, cl_mem out)
{
    const planes_rect dev = planes_at(s, 0, 0, s.h, s.w);
    const planes_rect host = planes_at(whole, w.ry, w.rx, s.h, s.w);
    cl_int err = clEnqueueWriteBufferRect(run->ctx->queue, out, CL_FALSE, dev.origin, host.origin,
                                          dev.region, dev.row_pitch, dev.slice_pitch,
                                          host.row_pitch, host.slice_pitch, target, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "uploading a tile's content target");
}

cls_status cls_tiled_content_targets(cls_transfer *run, cl_mem content)
{
    cls_status status = CLS_OK;
    for (int t = 0; t < run->tiling.count; t++) {
        const cls_tile *tile = &run->tiling.tiles[t];
        CLS_TRY(forward_tile(run, &run->tiling, tile, content, false)); /* copies own windows */
        for (int i = 0; i < run->content_layers.count; i++) {
            const int layer = run->content[i].layer;
            cl_mem tap;
            cls_shape s;
            CLS_TRY(cls_net_tap(run->net, layer, &tap, &s));
            const layer_window w = window_at(tile, cls_run_poolings(run, layer));
            const cls_shape whole = cls_run_layer_shape(run, layer, run->height, run->width);
            CLS_TRY(read_content_window(run, tap, s, w, whole, run->content[i].target_host));
        }
    }
fail:
    return status;
}

/* Adds weight x every style layer's Gram matrix of the image x (tiled by `image`) into
 * out[layer]: the sum over tiles of their own positions' products, with the whole image's
 * normaliser. Each slot's grad_gram holds a tile's part in between. */
static cls_status add_tiled_grams(cls_transfer *run, const cls_tiling *image, cl_mem x,
                                  float weight, const cl_mem *out)
{
    cls_status status = CLS_OK;
    cls_tiling *t = &run->tiling;
    for (int k = 0; k < image->count; k++) {
        CLS_TRY(forward_tile(run, image, &image->tiles[k], x, true));
        for (int i = 0; i < run->style_layers.count; i++) {
            cls_style_slot *slot = &run->style[i];
            cl_mem tap;
            cls_shape s;
            CLS_TRY(cls_net_tap(run->net, slot->layer, &tap, &s));
            const cls_shape whole =
                cls_run_layer_shape(run, slot->layer, image->height, image->width);
            const cl_mem own = t->own[tap_index(run, slot->layer)];
            CLS_TRY(cls_mask_planes(run->ctx, s, tap, own, false, t->masked));
            CLS_TRY(cls_gram_forward(run->ctx, s, t->masked, cls_gram_scale(run, whole),
                                     slot->grad_gram));
            CLS_TRY(cls_axpy(run->ctx, (size_t)s.c * s.c, weight, slot->grad_gram, out[i]));
        }
    }
fail:
    return status;
}

/* Pass 1: the Gram matrices of the image being optimised. */
static cls_status tiled_grams(cls_transfer *run, cl_mem x)
{
    cls_status status = CLS_OK;
    cl_mem grams[CLS_MAX_LAYER_LIST];
    for (int i = 0; i < run->style_layers.count; i++) {
        const size_t cc = (size_t)run->style[i].channels * run->style[i].channels;
        CLS_TRY(cls_fill(run->ctx, cc, 0.0f, run->style[i].gram));
        grams[i] = run->style[i].gram;
    }
    CLS_TRY(add_tiled_grams(run, &run->tiling, x, 1.0f, grams));
fail:
    return status;
}

cls_status cls_tiled_style_targets(cls_transfer *run, const cls_image *styles, int count,
                                   const double *blend)
{
    cls_status status = CLS_OK;
    cl_mem targets[CLS_MAX_LAYER_LIST], image = NULL;
    cls_tiling style = {0};
    double sum = 0.0;
    for (int k = 0; k < count; k++)
        sum += blend ? blend[k] : 1.0;
    for (int i = 0; i < run->style_layers.count; i++) {
        const size_t cc = (size_t)run->style[i].channels * run->style[i].channels;
        CLS_TRY(cls_fill(run->ctx, cc, 0.0f, run->style[i].target));
        targets[i] = run->style[i].target;
    }
    for (int k = 0; k < count; k++) {
        const cls_image *im = &styles[k];
        CLS_TRY(cls_transfer_poll_cancel(run));
        CLS_TRY(cls_tiling_plan(run, im->height, im->width, run->tiling.tile, run->tiling.halo,
                                &style));
        CLS_TRY(cls_buffer_create(run->ctx, (size_t)3 * im->width * im->height * sizeof(float),
                                  "a style image", &image));
        CLS_TRY(cls_image_to_tensor(run->ctx, im, image));
        CLS_TRY(
            add_tiled_grams(run, &style, image, (float)((blend ? blend[k] : 1.0) / sum), targets));
        CLS_CHECK_CL(clFinish(run->ctx->queue), "computing style targets");
        clReleaseMemObject(image);
        image = NULL;
        cls_tiling_release(&style);
    }
fail:
    if (image)
        clReleaseMemObject(image);
    cls_tiling_release(&style);
    return status;
}

/* The style losses of the whole image and their Gram gradients. */
static cls_status tiled_style_losses(cls_transfer *run)
{
    cls_status status = CLS_OK;
    for (int i = 0; i < run->style_layers.count && run->params.style_weight != 0.0; i++) {
        cls_style_slot *slot = &run->style[i];
        const cls_shape whole = cls_run_layer_shape(run, slot->layer, run->height, run->width);
        const size_t cc = (size_t)slot->channels * slot->channels;
        const cls_sqdiff_coef k = cls_style_coef(run, i, whole);
        CLS_TRY(cls_fill(run->ctx, cc, 0.0f, slot->grad_gram));
        CLS_TRY(cls_loss_sqdiff(run->ctx, cc, slot->gram, slot->target, k.value_scale, k.grad_coef,
                                slot->grad_gram, run->losses, run->content_layers.count + i));
    }
fail:
    return status;
}

/* The state of pass 2's backward through one tile. */
typedef struct tile_backward {
    cls_transfer *run;
    const cls_tile *tile;
    double *content; /* per content layer: the sum of the tiles' losses so far */
} tile_backward;

/* A content layer's loss at the tile's own positions: the target's window, both masked. */
static cls_status tile_content_loss(tile_backward *b, int i, cl_mem tap, cl_mem grad, cls_shape s)
{
    cls_status status = CLS_OK;
    cls_transfer *run = b->run;
    cls_tiling *t = &run->tiling;
    const int layer = run->content[i].layer;
    const cl_mem own = t->own[tap_index(run, layer)];
    const layer_window w = window_at(b->tile, cls_run_poolings(run, layer));
    const cls_shape whole = cls_run_layer_shape(run, layer, run->height, run->width);
    const cls_sqdiff_coef k = cls_content_coef(run, i, whole);
    /* Not waited for: the loss's read-back below comes after it in the queue, and the host
     * target does not change during the run. */
    CLS_TRY(write_content_window(run, run->content[i].target_host, whole, w, s, t->target));
    CLS_TRY(cls_mask_planes(run->ctx, s, t->target, own, false, t->target));
    CLS_TRY(cls_mask_planes(run->ctx, s, tap, own, false, t->masked));
    CLS_TRY(cls_fill(run->ctx, cls_shape_count(s), 0.0f, t->masked_grad));
    CLS_TRY(cls_loss_sqdiff(run->ctx, cls_shape_count(s), t->masked, t->target, k.value_scale,
                            k.grad_coef, t->masked_grad, run->losses, i));
    CLS_TRY(cls_mask_planes(run->ctx, s, t->masked_grad, own, true, grad));
    float value;
    CLS_TRY(cls_read_floats(run->ctx, run->losses, (size_t)i, 1, &value));
    b->content[i] += value;
fail:
    return status;
}

/* A style layer's gradient at the tile's own positions, from the whole image's Gram
 * gradient. */
static cls_status tile_style_grad(cls_transfer *run, int i, cl_mem tap, cl_mem grad, cls_shape s)
{
    cls_status status = CLS_OK;
    cls_tiling *t = &run->tiling;
    const cls_style_slot *slot = &run->style[i];
    const cl_mem own = t->own[tap_index(run, slot->layer)];
    const cls_shape whole = cls_run_layer_shape(run, slot->layer, run->height, run->width);
    CLS_TRY(cls_mask_planes(run->ctx, s, tap, own, false, t->masked));
    CLS_TRY(cls_gram_backward(run->ctx, s, t->masked, slot->grad_gram, cls_gram_scale(run, whole),
                              false, t->masked_grad));
    CLS_TRY(cls_mask_planes(run->ctx, s, t->masked_grad, own, true, grad));
fail:
    return status;
}

static cls_status tile_tap_losses(void *user, int layer, cl_mem tap, cl_mem grad, cls_shape s)
{
    cls_status status = CLS_OK;
    tile_backward *b = user;
    cls_transfer *run = b->run;
    for (int i = 0; i < run->content_layers.count; i++)
        if (run->content[i].layer == layer && run->params.content_weight != 0.0)
            CLS_TRY(tile_content_loss(b, i, tap, grad, s));
    for (int i = 0; i < run->style_layers.count; i++)
        if (run->style[i].layer == layer && run->params.style_weight != 0.0)
            CLS_TRY(tile_style_grad(run, i, tap, grad, s));
fail:
    return status;
}

/* Pass 2: each tile's image gradient, added into grad (zeroed first). */
static cls_status tiled_backward(cls_transfer *run, cl_mem x, cl_mem grad, double *content)
{
    cls_status status = CLS_OK;
    cls_tiling *t = &run->tiling;
    CLS_TRY(cls_fill(run->ctx, run->n, 0.0f, grad));
    for (int k = 0; k < t->count; k++) {
        const cls_tile *tile = &t->tiles[k];
        const int rh = tile->ry1 - tile->ry0, rw = tile->rx1 - tile->rx0;
        tile_backward b = {run, tile, content};
        CLS_TRY(forward_tile(run, t, tile, x, true));
        CLS_TRY(cls_net_backward(run->net, tile_tap_losses, &b, t->grad));
        CLS_TRY(cls_copy_window(run->ctx, t->grad, (cls_window){{1, 3, rh, rw}, 0, 0}, grad,
                                (cls_window){{1, 3, run->height, run->width}, tile->ry0, tile->rx0},
                                rh, rw, true));
    }
fail:
    return status;
}

cls_status cls_tiled_evaluate(cls_transfer *run, cl_mem x, cl_mem grad, int slots)
{
    cls_status status = CLS_OK;
    double content[CLS_MAX_LAYER_LIST] = {0};
    CLS_TRY(tiled_grams(run, x));
    CLS_TRY(tiled_style_losses(run));
    CLS_TRY(tiled_backward(run, x, grad, content));
    if (run->params.tv_weight != 0.0) {
        const cls_shape image = {1, 3, run->height, run->width};
        CLS_TRY(cls_loss_tv(run->ctx, CLS_TV_ABS, image, x, (float)run->params.tv_weight, grad,
                            run->losses, slots - 1));
    }
    CLS_TRY(cls_read_floats(run->ctx, run->losses, 0, (size_t)slots, run->losses_host));
    for (int i = 0; i < run->content_layers.count; i++)
        run->losses_host[i] = (float)content[i];
fail:
    return status;
}
