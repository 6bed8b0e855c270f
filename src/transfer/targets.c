/* The optimisation targets: content features of the content image, and Gram matrices of
 * the style images blended with their weights (with style masks: each style image's own). */
#include "ops/elementwise.h"
#include "ops/gram.h"
#include "transfer/image_tensor.h"
#include "transfer/run.h"
#include "runtime/launch.h"

#include <stdlib.h>

static cls_pool_kind pool_kind(cls_pooling pooling)
{
    return pooling == CLS_POOLING_AVG ? CLS_POOL_AVG : CLS_POOL_MAX;
}

/* Adds weight x the Gram matrices of one style image into the style targets, or with style
 * masks writes them as region r's targets. */
static cls_status add_style_image(cls_transfer *run, const cls_image *style, double weight, int r)
{
    cls_status status = CLS_OK;
    cls_net *net = NULL;
    cl_mem image = NULL;
    const cls_net_config config = {style->height,
                                   style->width,
                                   pool_kind(run->params.pooling),
                                   run->style_layers.index,
                                   run->style_layers.count,
                                   cls_run_gram_scratch_bytes(run, style->height, style->width),
                                   1};
    CLS_TRY(cls_net_create(run->model, &config, &net));
    CLS_TRY(cls_buffer_create(run->ctx, (size_t)3 * style->width * style->height * sizeof(float),
                              "a style image", &image));
    CLS_TRY(cls_image_to_tensor(run->ctx, style, image));
    CLS_TRY(cls_net_forward(net, image));
    for (int i = 0; i < run->style_layers.count; i++) {
        cls_style_slot *slot = &run->style[i];
        cl_mem tap;
        cls_shape s;
        CLS_TRY(cls_net_tap(net, slot->layer, &tap, &s));
        if (run->regions > 0) {
            CLS_TRY(cls_gram_forward(run->ctx, s, tap, cls_gram_scale(run, s),
                                     cls_run_region(run, i, r)->target));
            continue;
        }
        CLS_TRY(cls_gram_forward(run->ctx, s, tap, cls_gram_scale(run, s), slot->gram));
        CLS_TRY(cls_axpy(run->ctx, (size_t)s.c * s.c, (float)weight, slot->gram, slot->target));
    }
    CLS_CHECK_CL(clFinish(run->ctx->queue), "computing style targets");
fail:
    if (status != CLS_OK)
        cls_error_context(status, "style image %dx%d", style->width, style->height);
    if (image)
        clReleaseMemObject(image);
    cls_net_destroy(net);
    return status;
}

cls_status cls_style_targets(cls_transfer *run, const cls_image *styles, int count,
                             const double *blend)
{
    cls_status status = CLS_OK;
    double sum = 0.0;
    for (int s = 0; s < count; s++)
        sum += blend ? blend[s] : 1.0;
    for (int i = 0; i < run->style_layers.count; i++) {
        cls_style_slot *slot = &run->style[i];
        CLS_TRY(cls_fill(run->ctx, (size_t)slot->channels * slot->channels, 0.0f, slot->target));
    }
    for (int s = 0; s < count; s++) {
        CLS_TRY(cls_transfer_poll_cancel(run));
        CLS_TRY(add_style_image(run, &styles[s], (blend ? blend[s] : 1.0) / sum, s));
    }
fail:
    return status;
}

cls_status cls_content_targets(cls_transfer *run, cl_mem content)
{
    cls_status status = CLS_OK;
    CLS_TRY(cls_net_forward(run->net, content));
    for (int i = 0; i < run->content_layers.count; i++) {
        cl_mem tap;
        cls_shape s;
        CLS_TRY(cls_net_tap(run->net, run->content[i].layer, &tap, &s));
        CLS_TRY(cls_copy_floats(run->ctx, tap, run->content[i].target, 0, cls_shape_count(s)));
        if (run->content[i].mask) /* compared with the features times the same mask */
            CLS_TRY(cls_mask_planes(run->ctx, s, run->content[i].target, run->content[i].mask,
                                    false, run->content[i].target));
    }
fail:
    return status;
}
