/* The style transfer objective: weighted content, style and total-variation losses of the
 * image, and their gradient, in one forward and one backward pass. */
#include "ops/elementwise.h"
#include "ops/gram.h"
#include "ops/loss.h"
#include "transfer/run.h"

#include <string.h>

cls_sqdiff_coef cls_content_coef(const cls_transfer *run, int i, cls_shape s)
{
    const double weight = run->params.content_weight * run->content_layers.weight[i];
    const double count = (double)cls_shape_count(s);
    if (run->params.normalization == CLS_NORMALIZATION_PAPER)
        return (cls_sqdiff_coef){0.5f, (float)weight, 1.0f, weight}; /* 1/2 sum (F - P)^2 */
    return (cls_sqdiff_coef){(float)(1.0 / count), (float)(weight * 2.0 / count),
                             (float)(2.0 / count), weight};
}

cls_sqdiff_coef cls_style_coef(const cls_transfer *run, int i, cls_shape s)
{
    const double weight = run->params.style_weight * run->style_layers.weight[i];
    if (run->params.normalization == CLS_NORMALIZATION_PAPER) {
        const double n = s.c, m = (double)s.h * s.w, norm = 4.0 * n * n * m * m;
        return (cls_sqdiff_coef){(float)(1.0 / norm), (float)(weight * 2.0 / norm),
                                 (float)(2.0 / norm), weight};
    }
    return (cls_sqdiff_coef){1.0f, (float)(weight * 2.0), 2.0f, weight};
}

float cls_gram_scale(const cls_transfer *run, cls_shape s)
{
    if (run->params.normalization == CLS_NORMALIZATION_PAPER)
        return 1.0f;
    return (float)(1.0 / ((double)s.c * s.h * s.w));
}

/* The content loss of a content mask: the squared error of the features times the mask's
 * square root (the target was masked alike), its gradient masked again into out. */
static cls_status masked_content_loss(cls_transfer *run, int i, cl_mem tap, cls_shape s,
                                      float value_scale, float grad_coef, cl_mem out)
{
    cls_status status = CLS_OK;
    const cl_mem mask = run->content[i].mask;
    const size_t count = cls_shape_count(s);
    CLS_TRY(cls_mask_planes(run->ctx, s, tap, mask, false, run->masked));
    CLS_TRY(cls_fill(run->ctx, count, 0.0f, run->masked_grad));
    CLS_TRY(cls_loss_sqdiff(run->ctx, count, run->masked, run->content[i].target, value_scale,
                            grad_coef, run->masked_grad, run->losses, i));
    CLS_TRY(cls_mask_planes(run->ctx, s, run->masked_grad, mask, true, out));
fail:
    return status;
}

static cls_status content_loss(cls_transfer *run, int i, cl_mem tap, cl_mem grad, cls_shape s)
{
    cls_status status = CLS_OK;
    const cls_sqdiff_coef k = cls_content_coef(run, i, s);
    const size_t count = cls_shape_count(s);
    const bool normalize = run->params.normalize_gradients;
    const cl_mem out = normalize ? run->layer_grad : grad;
    const float coef = normalize ? k.unit_coef : k.grad_coef;
    if (normalize)
        CLS_TRY(cls_fill(run->ctx, count, 0.0f, run->layer_grad));
    if (run->content[i].mask)
        CLS_TRY(masked_content_loss(run, i, tap, s, k.value_scale, coef, out));
    else
        CLS_TRY(cls_loss_sqdiff(run->ctx, count, tap, run->content[i].target, k.value_scale, coef,
                                out, run->losses, i));
    if (normalize)
        CLS_TRY(cls_grad_norm_add(run, count, k.weight, grad));
fail:
    return status;
}

/* The guided Gram loss of style layer i with masks: for each region r, G_r = gram(F * m_r) /
 * mean(m_r^2) against style image r's Gram, weighted by the region's weight; the gradient of
 * the masked features masked again into out. */
static cls_status guided_style_loss(cls_transfer *run, int i, cl_mem tap, cls_shape s, float coef,
                                    cl_mem out)
{
    cls_status status = CLS_OK;
    cls_style_slot *slot = &run->style[i];
    const size_t cc = (size_t)s.c * (size_t)s.c;
    const cls_sqdiff_coef k = cls_style_coef(run, i, s);
    for (int r = 0; r < run->regions; r++) {
        const cls_region *region = cls_run_region(run, i, r);
        const float scale = (float)(cls_gram_scale(run, s) * region->inv_energy);
        const int index = run->content_layers.count + i * run->regions + r;
        CLS_TRY(cls_mask_planes(run->ctx, s, tap, region->mask, false, run->masked));
        CLS_TRY(cls_gram_forward(run->ctx, s, run->masked, scale, slot->gram));
        CLS_TRY(cls_fill(run->ctx, cc, 0.0f, slot->grad_gram));
        CLS_TRY(cls_loss_sqdiff(run->ctx, cc, slot->gram, region->target, k.value_scale,
                                (float)(coef * run->region_weight[r]), slot->grad_gram, run->losses,
                                index));
        CLS_TRY(cls_gram_backward(run->ctx, s, run->masked, slot->grad_gram, scale, false,
                                  run->masked_grad));
        CLS_TRY(cls_mask_planes(run->ctx, s, run->masked_grad, region->mask, true, out));
    }
fail:
    return status;
}

static cls_status style_loss(cls_transfer *run, int i, cl_mem tap, cl_mem grad, cls_shape s)
{
    cls_status status = CLS_OK;
    cls_style_slot *slot = &run->style[i];
    const size_t cc = (size_t)s.c * (size_t)s.c;
    const float scale = cls_gram_scale(run, s);
    const cls_sqdiff_coef k = cls_style_coef(run, i, s);
    const bool normalize = run->params.normalize_gradients;
    if (run->regions > 0) {
        if (normalize)
            CLS_TRY(cls_fill(run->ctx, cls_shape_count(s), 0.0f, run->layer_grad));
        CLS_TRY(guided_style_loss(run, i, tap, s, normalize ? k.unit_coef : k.grad_coef,
                                  normalize ? run->layer_grad : grad));
        if (normalize)
            CLS_TRY(cls_grad_norm_add(run, cls_shape_count(s), k.weight, grad));
        return CLS_OK;
    }
    CLS_TRY(cls_gram_forward(run->ctx, s, tap, scale, slot->gram));
    CLS_TRY(cls_fill(run->ctx, cc, 0.0f, slot->grad_gram));
    CLS_TRY(cls_loss_sqdiff(run->ctx, cc, slot->gram, slot->target, k.value_scale,
                            normalize ? k.unit_coef : k.grad_coef, slot->grad_gram, run->losses,
                            run->content_layers.count + i));
    if (!normalize)
        return cls_gram_backward(run->ctx, s, tap, slot->grad_gram, scale, true, grad);
    CLS_TRY(cls_gram_backward(run->ctx, s, tap, slot->grad_gram, scale, false, run->layer_grad));
    CLS_TRY(cls_grad_norm_add(run, cls_shape_count(s), k.weight, grad));
fail:
    return status;
}

/* Called by the backward pass at every tap: adds the losses computed from this layer. */
static cls_status tap_losses(void *user, int layer, cl_mem tap, cl_mem grad, cls_shape shape)
{
    cls_status status = CLS_OK;
    cls_transfer *run = user;
    for (int i = 0; i < run->content_layers.count; i++)
        if (run->content[i].layer == layer && run->params.content_weight != 0.0)
            CLS_TRY(content_loss(run, i, tap, grad, shape));
    for (int i = 0; i < run->style_layers.count; i++)
        if (run->style[i].layer == layer && run->params.style_weight != 0.0)
            CLS_TRY(style_loss(run, i, tap, grad, shape));
fail:
    return status;
}

/* Weighted terms from the unweighted values in losses_host. */
static cls_loss_terms weigh(const cls_transfer *run, int eval)
{
    const float *v = run->losses_host;
    const int nc = run->content_layers.count, ns = run->style_layers.count;
    const int per_layer = cls_run_style_slots(run);
    cls_loss_terms t = {.eval = eval};
    for (int i = 0; i < nc; i++)
        t.content += run->params.content_weight * run->content_layers.weight[i] * v[i];
    for (int i = 0; i < ns; i++)
        for (int r = 0; r < per_layer; r++)
            t.style += run->params.style_weight * run->style_layers.weight[i] *
                       (run->regions ? run->region_weight[r] : 1.0) * v[nc + i * per_layer + r];
    t.tv = run->params.tv_weight * v[nc + ns * per_layer];
    t.total = t.content + t.style + t.tv;
    return t;
}

/* The objective of the whole image in one forward and one backward pass. */
static cls_status evaluate_whole(cls_transfer *run, cl_mem x, cl_mem grad, int slots)
{
    cls_status status = CLS_OK;
    CLS_TRY(cls_net_forward(run->net, x));
    CLS_TRY(cls_net_backward(run->net, tap_losses, run, grad));
    if (run->params.tv_weight != 0.0) {
        cls_shape image = {1, 3, run->height, run->width};
        CLS_TRY(cls_loss_tv(run->ctx, CLS_TV_ABS, image, x, (float)run->params.tv_weight, grad,
                            run->losses, slots - 1));
    }
    CLS_TRY(cls_read_floats(run->ctx, run->losses, 0, (size_t)slots, run->losses_host));
fail:
    return status;
}

cls_status cls_transfer_evaluate(void *user, cl_mem x, cl_mem grad, int eval, double *loss)
{
    cls_status status = CLS_OK;
    cls_transfer *run = user;
    const int slots =
        run->content_layers.count + run->style_layers.count * cls_run_style_slots(run) + 1;
    CLS_TRY(cls_fill(run->ctx, (size_t)slots, 0.0f, run->losses));
    if (run->tiling.count > 0)
        CLS_TRY(cls_tiled_evaluate(run, x, grad, slots));
    else
        CLS_TRY(evaluate_whole(run, x, grad, slots));
    cls_loss_terms terms = weigh(run, eval);
    run->terms[eval % CLS_TERMS_RING] = terms;
    *loss = terms.total;
fail:
    return status;
}

cls_loss_terms cls_transfer_terms(const cls_transfer *run, int eval)
{
    cls_loss_terms t = run->terms[eval % CLS_TERMS_RING];
    if (t.eval != eval)
        memset(&t, 0, sizeof t);
    return t;
}
