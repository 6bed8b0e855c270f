/* VGG-16 as the loss network of fast-style training: normalised input, content and style
 * losses at the taps of pytorch/examples' Vgg16, and their gradient back to the image. */
#include "train/loss_net.h"
#include "ops/elementwise.h"
#include "ops/gram.h"
#include "ops/loss.h"
#include "runtime/launch.h"
#include "transfer/image_tensor.h"

#include <stdlib.h>

/* pytorch/examples' Vgg16 outputs, in order; the content loss is at the second. */
static const char *const tap_names[CLS_LOSS_NET_TAPS] = {"relu1_2", "relu2_2", "relu3_3",
                                                         "relu4_3"};
enum { CONTENT_TAP = 1 };

/* result[] slots: the unweighted losses of the last evaluation. */
enum {
    RESULT_CONTENT = 0,
    RESULT_STYLE = 1,
    RESULT_TV = RESULT_STYLE + CLS_LOSS_NET_TAPS,
    RESULT_COUNT
};

/* torchvision's ImageNet normalisation of images in 0..1: (x / 255 - mean) / std, as
 * x * scale + shift; the gradient goes back through x * scale. */
static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

struct cls_loss_net {
    cls_ctx *ctx;
    cls_model *vgg;
    cls_loss_net_params p;
    int taps[CLS_LOSS_NET_TAPS];
    cls_net *net;
    int n;                                  /* images in the current evaluation */
    cl_mem normalized;                      /* [batch][3][size][size] */
    cl_mem content_target;                  /* relu2_2 of the normalised input */
    cl_mem style_target[CLS_LOSS_NET_TAPS]; /* [batch][C][C]: the style's Gram, repeated */
    cl_mem gram, gram_grad;                 /* [batch][C][C] of the widest tap */
    cl_mem grad_image;                      /* d(loss) / d(normalised output) */
    cl_mem result;                          /* RESULT_COUNT floats */
    float scale[3], shift[3], zero[3];
    size_t device_bytes;
};

static cls_status find_taps(const cls_model *vgg, int taps[CLS_LOSS_NET_TAPS])
{
    if (vgg->arch != CLS_VGG16)
        return cls_error(CLS_ERR_WEIGHTS_MISMATCH,
                         "%s holds %s weights; training's loss network is VGG-16 (torchvision's "
                         "vgg16-397923af.pth: `tools/fetch-model.sh vgg16`, then --vgg FILE)",
                         vgg->path, cls_vgg_arch_name(vgg->arch));
    for (int t = 0; t < CLS_LOSS_NET_TAPS; t++)
        taps[t] = cls_vgg_find(CLS_VGG16, tap_names[t]);
    return CLS_OK;
}

/* Tap t's output for batch images of h x w: its layer's channels, after t pooling layers. */
static cls_shape tap_shape(int t, int batch, int h, int w)
{
    size_t count;
    const cls_vgg_layer *layers = cls_vgg_layers(CLS_VGG16, &count);
    return (cls_shape){batch, layers[cls_vgg_find(CLS_VGG16, tap_names[t])].cout, h >> t, w >> t};
}

/* The floats of the largest Gram matrices of a batch (the last tap's). */
static size_t widest_grams(int batch)
{
    const cls_shape s = tap_shape(CLS_LOSS_NET_TAPS - 1, batch, 1, 1);
    return (size_t)batch * s.c * s.c;
}

/* The Gram split's scratch for the widest tap of an image of h x w. */
static size_t gram_scratch(const cls_ctx *ctx, int h, int w)
{
    size_t most = 0;
    for (int t = 0; t < CLS_LOSS_NET_TAPS; t++) {
        const size_t b = cls_gram_scratch_bytes(ctx, tap_shape(t, 1, h, w));
        most = b > most ? b : most;
    }
    return most;
}

static cls_net_config net_config(const cls_ctx *ctx, const int *taps, int h, int w, int batch)
{
    return (cls_net_config){h,    w, CLS_POOL_MAX, taps, CLS_LOSS_NET_TAPS, gram_scratch(ctx, h, w),
                            batch};
}

/* What the taps' shapes need beyond the network: the style targets, the Gram buffers, the
 * normalised image, the content target and the image gradient. */
static size_t own_floats(const cls_loss_net_params *p)
{
    const size_t image = (size_t)p->batch * 3 * p->size * p->size;
    const size_t content = cls_shape_count(tap_shape(CONTENT_TAP, p->batch, p->size, p->size));
    size_t style = 0;
    for (int t = 0; t < CLS_LOSS_NET_TAPS; t++) {
        const cls_shape s = tap_shape(t, p->batch, 1, 1);
        style += (size_t)s.n * s.c * s.c;
    }
    return 2 * image + content + style + 2 * widest_grams(p->batch) + RESULT_COUNT;
}

static cls_status buffer(cls_loss_net *ln, size_t floats, const char *what, cl_mem *out)
{
    cls_status status = cls_buffer_create(ln->ctx, floats * sizeof(float), what, out);
    if (status == CLS_OK)
        ln->device_bytes += floats * sizeof(float);
    return status;
}

static float gram_scale(cls_shape s)
{
    return 1.0f / (float)((double)s.c * s.h * s.w);
}

/* The style image's Gram matrices at every tap, repeated for each image of a batch. */
static cls_status style_targets(cls_loss_net *ln)
{
    cls_status status = CLS_OK;
    const cls_image *style = ln->p.style;
    cls_net *net = NULL;
    cl_mem image = NULL;
    if (style->width < 8 || style->height < 8)
        return cls_error(CLS_ERR_SHAPE,
                         "the style image (%dx%d) is too small for VGG-16 up to relu4_3: it "
                         "needs at least 8x8 pixels; use a larger image or --style-size",
                         style->width, style->height);
    const cls_net_config config = net_config(ln->ctx, ln->taps, style->height, style->width, 1);
    CLS_TRY(cls_net_create(ln->vgg, &config, &net));
    const cls_shape shape = {1, 3, style->height, style->width};
    CLS_TRY(cls_buffer_create(ln->ctx, cls_shape_count(shape) * sizeof(float), "a style image",
                              &image));
    CLS_TRY(cls_image_to_planes(ln->ctx, style, ln->zero, image));
    CLS_TRY(cls_scale_shift_channels(ln->ctx, shape, ln->scale, ln->shift, image, image));
    CLS_TRY(cls_net_forward(net, image));
    for (int t = 0; t < CLS_LOSS_NET_TAPS; t++) {
        cl_mem tap;
        cls_shape s;
        CLS_TRY(cls_net_tap(net, ln->taps[t], &tap, &s));
        const size_t cc = (size_t)s.c * s.c;
        CLS_TRY(buffer(ln, cc * ln->p.batch, "style Gram matrices", &ln->style_target[t]));
        CLS_TRY(cls_gram_forward(ln->ctx, s, tap, gram_scale(s), ln->style_target[t]));
        for (int b = 1; b < ln->p.batch; b++)
            CLS_TRY(cls_copy_floats(ln->ctx, ln->style_target[t], ln->style_target[t], b * cc, cc));
    }
    CLS_CHECK_CL(clFinish(ln->ctx->queue), "computing the style's Gram matrices");
fail:
    if (image)
        clReleaseMemObject(image);
    cls_net_destroy(net);
    return status;
}

static cls_status check_params(const cls_loss_net_params *p)
{
    if (p->batch < 1 || p->size < 1 || !p->style || !p->style->pixels)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "the loss network needs a batch, a size and "
                                                   "a style image");
    if (p->size < 8)
        return cls_error(CLS_ERR_SHAPE,
                         "training images of %dx%d are too small for VGG-16 up to relu4_3 (at "
                         "least 8x8)",
                         p->size, p->size);
    return CLS_OK;
}

cls_status cls_loss_net_plan_bytes(const cls_model *vgg16, const cls_loss_net_params *params,
                                   size_t *bytes)
{
    int taps[CLS_LOSS_NET_TAPS];
    cls_status status = check_params(params);
    if (status == CLS_OK)
        status = find_taps(vgg16, taps);
    if (status != CLS_OK)
        return status;
    const cls_net_config config =
        net_config(vgg16->ctx, taps, params->size, params->size, params->batch);
    status = cls_net_plan_bytes(vgg16, &config, bytes);
    if (status == CLS_OK)
        *bytes += own_floats(params) * sizeof(float);
    return status;
}

cls_status cls_loss_net_create(cls_model *vgg16, const cls_loss_net_params *params,
                               cls_loss_net **out)
{
    cls_status status = check_params(params);
    *out = NULL;
    if (status != CLS_OK)
        return status;
    cls_loss_net *ln = calloc(1, sizeof *ln);
    CLS_CHECK_ALLOC(ln, "the loss network");
    *ln = (cls_loss_net){.ctx = vgg16->ctx, .vgg = vgg16, .p = *params, .n = params->batch};
    for (int c = 0; c < 3; c++) {
        ln->scale[c] = 1.0f / (255.0f * imagenet_std[c]);
        ln->shift[c] = -imagenet_mean[c] / imagenet_std[c];
    }
    CLS_TRY(find_taps(vgg16, ln->taps));
    CLS_TRY(style_targets(ln));
    ln->p.style = NULL; /* not owned, and not needed any more */
    const int b = params->batch, s = params->size;
    const size_t image = cls_shape_count((cls_shape){b, 3, s, s});
    const cls_net_config config = net_config(ln->ctx, ln->taps, s, s, b);
    CLS_TRY(cls_net_create(vgg16, &config, &ln->net));
    CLS_TRY(buffer(ln, image, "normalised images", &ln->normalized));
    CLS_TRY(buffer(ln, image, "image gradients", &ln->grad_image));
    CLS_TRY(buffer(ln, cls_shape_count(tap_shape(CONTENT_TAP, b, s, s)), "content targets",
                   &ln->content_target));
    CLS_TRY(buffer(ln, widest_grams(b), "Gram matrices", &ln->gram));
    CLS_TRY(buffer(ln, widest_grams(b), "Gram gradients", &ln->gram_grad));
    CLS_TRY(buffer(ln, RESULT_COUNT, "losses", &ln->result));
    *out = ln;
    ln = NULL;
fail:
    cls_loss_net_destroy(ln);
    return status;
}

void cls_loss_net_destroy(cls_loss_net *ln)
{
    if (!ln)
        return;
    cl_mem all[] = {ln->normalized,      ln->content_target,  ln->gram,
                    ln->gram_grad,       ln->grad_image,      ln->result,
                    ln->style_target[0], ln->style_target[1], ln->style_target[2],
                    ln->style_target[3]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
    cls_net_destroy(ln->net);
    free(ln);
}

size_t cls_loss_net_device_bytes(const cls_loss_net *ln)
{
    return ln->device_bytes + cls_net_device_bytes(ln->net);
}

/* The style loss of tap t: mean over the batch's Gram entries of the squared difference from
 * the style's, its gradient added into grad through the Gram's backward pass. */
static cls_status style_loss(cls_loss_net *ln, int t, cl_mem tap, cl_mem grad, cls_shape s)
{
    cls_status status = CLS_OK;
    const size_t count = (size_t)s.n * s.c * s.c;
    const float mean = 1.0f / (float)count;
    const float coef = (float)(2.0 * ln->p.style_weight / (double)count);
    CLS_TRY(cls_gram_forward(ln->ctx, s, tap, gram_scale(s), ln->gram));
    CLS_TRY(cls_fill(ln->ctx, count, 0.0f, ln->gram_grad));
    CLS_TRY(cls_loss_sqdiff(ln->ctx, count, ln->gram, ln->style_target[t], mean, coef,
                            ln->gram_grad, ln->result, RESULT_STYLE + t));
    CLS_TRY(cls_gram_backward(ln->ctx, s, tap, ln->gram_grad, gram_scale(s), true, grad));
fail:
    return status;
}

static cls_status tap_grad(void *user, int layer, cl_mem tap, cl_mem grad, cls_shape s)
{
    cls_status status = CLS_OK;
    cls_loss_net *ln = user;
    for (int t = 0; t < CLS_LOSS_NET_TAPS; t++) {
        if (ln->taps[t] != layer)
            continue;
        if (t == CONTENT_TAP) {
            const size_t count = cls_shape_count(s);
            const float coef = (float)(2.0 * ln->p.content_weight / (double)count);
            CLS_TRY(cls_loss_sqdiff(ln->ctx, count, tap, ln->content_target, 1.0f / (float)count,
                                    coef, grad, ln->result, RESULT_CONTENT));
        }
        CLS_TRY(style_loss(ln, t, tap, grad, s));
    }
fail:
    return status;
}

cls_status cls_loss_net_evaluate(cls_loss_net *ln, int n, cl_mem x, cl_mem y, cl_mem grad_y)
{
    cls_status status = CLS_OK;
    const cls_shape image = {n, 3, ln->p.size, ln->p.size};
    if (n != ln->n) {
        CLS_TRY(cls_net_set_batch(ln->net, n));
        ln->n = n;
    }
    /* The content target: relu2_2 of the input batch. */
    CLS_TRY(cls_scale_shift_channels(ln->ctx, image, ln->scale, ln->shift, x, ln->normalized));
    CLS_TRY(cls_net_forward_to(ln->net, ln->normalized, ln->taps[CONTENT_TAP]));
    cl_mem tap;
    cls_shape s;
    CLS_TRY(cls_net_tap(ln->net, ln->taps[CONTENT_TAP], &tap, &s));
    CLS_TRY(cls_copy_floats(ln->ctx, tap, ln->content_target, 0, cls_shape_count(s)));
    /* The output's features, losses and gradient. */
    CLS_TRY(cls_scale_shift_channels(ln->ctx, image, ln->scale, ln->shift, y, ln->normalized));
    CLS_TRY(cls_net_forward(ln->net, ln->normalized));
    CLS_TRY(cls_net_backward(ln->net, tap_grad, ln, ln->grad_image));
    CLS_TRY(cls_scale_shift_channels(ln->ctx, image, ln->scale, ln->zero, ln->grad_image, grad_y));
    if (ln->p.tv_weight > 0.0)
        CLS_TRY(cls_loss_tv(ln->ctx, CLS_TV_SQUARED, image, y, (float)ln->p.tv_weight, grad_y,
                            ln->result, RESULT_TV));
fail:
    return status;
}

cls_status cls_loss_net_losses(cls_loss_net *ln, cls_train_losses *losses)
{
    float r[RESULT_COUNT];
    cls_status status = cls_read_floats(ln->ctx, ln->result, 0, RESULT_COUNT, r);
    if (status != CLS_OK)
        return status;
    double style = 0.0;
    for (int t = 0; t < CLS_LOSS_NET_TAPS; t++)
        style += r[RESULT_STYLE + t];
    losses->content = ln->p.content_weight * r[RESULT_CONTENT];
    losses->style = ln->p.style_weight * style;
    losses->tv = ln->p.tv_weight > 0.0 ? ln->p.tv_weight * r[RESULT_TV] : 0.0;
    losses->total = losses->content + losses->style + losses->tv;
    return CLS_OK;
}
