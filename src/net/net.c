/* The VGG graph: planning buffers for an image size, forward to the taps, backward from
 * the taps to the image. */
#include "net/net.h"
#include "ops/act.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "runtime/launch.h"

#include <stdlib.h>

struct cls_net {
    cls_model *model;
    cls_net_config config;
    int last;            /* deepest layer built */
    bool *is_tap;        /* per layer */
    bool *fused;         /* conv layers whose ReLU runs inside the convolution */
    cls_conv_algo *algo; /* per conv layer: direct or Winograd, forward and backward */
    cls_shape *shapes;   /* output shape per layer */
    cl_mem *outputs;     /* per layer; NULL for fused convolutions (output is the ReLU's) */
    cl_mem grad[2];      /* ping-pong gradients, each as large as the largest activation */
    size_t device_bytes;
    int planned_height, planned_width; /* the size the buffers hold (cls_net_resize) */
    int planned_batch;                 /* and the batch (cls_net_set_batch) */
};

/* The shapes of every layer's output up to `last`; CLS_ERR_SHAPE when the image is too
 * small for a pooling layer on the way. */
static int batch_of(const cls_net_config *c)
{
    return c->batch > 0 ? c->batch : 1;
}

static cls_status layer_shapes(const cls_model *m, const cls_net_config *c, int last,
                               cls_shape *shapes)
{
    cls_shape s = {batch_of(c), 3, c->height, c->width};
    for (int i = 0; i <= last; i++) {
        const cls_vgg_layer *layer = &m->layers[i];
        if (layer->kind == CLS_LAYER_CONV)
            s.c = layer->cout;
        if (layer->kind == CLS_LAYER_POOL) {
            if (s.h < 2 || s.w < 2)
                return cls_error(CLS_ERR_SHAPE,
                                 "a %dx%d image is too small: %s needs at least 2x2 but gets "
                                 "%dx%d; use a larger size or shallower layers",
                                 c->width, c->height, layer->name, s.w, s.h);
            s.h /= 2;
            s.w /= 2;
        }
        shapes[i] = s;
    }
    return CLS_OK;
}

static cls_status deepest_tap(const cls_model *m, const cls_net_config *c, int *last)
{
    if (c->tap_count < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "the network needs at least one tap layer");
    if (c->height < 1 || c->width < 1)
        return cls_error(CLS_ERR_SHAPE, "image size %dx%d", c->width, c->height);
    *last = -1;
    for (int t = 0; t < c->tap_count; t++) {
        if (c->taps[t] < 0 || (size_t)c->taps[t] >= m->layer_count)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "tap layer %d is not a layer of %s",
                             c->taps[t], cls_vgg_arch_name(m->arch));
        if (c->taps[t] > *last)
            *last = c->taps[t];
    }
    return CLS_OK;
}

static bool tapped(const cls_net_config *c, int layer)
{
    for (int t = 0; t < c->tap_count; t++)
        if (c->taps[t] == layer)
            return true;
    return false;
}

/* A convolution followed by a ReLU runs as one kernel unless its own (pre-activation)
 * output is a tap or the ReLU is not built. */
static bool fuses(const cls_model *m, const cls_net_config *c, int last, int i)
{
    return m->layers[i].kind == CLS_LAYER_CONV && i < last &&
           m->layers[i + 1].kind == CLS_LAYER_RELU && !tapped(c, i);
}

/* The input shape of layer i. */
static cls_shape input_shape(const cls_net_config *c, const cls_shape *shapes, int i)
{
    return i > 0 ? shapes[i - 1] : (cls_shape){batch_of(c), 3, c->height, c->width};
}

/* What the plan allocates: every stored output plus two gradient buffers, and the scratch
 * space of the Winograd layers (the context's two slots, as large as the largest layer's or
 * the caller's need in the first). */
static size_t plan_bytes(const cls_model *m, const cls_net_config *c, int last,
                         const cls_shape *shapes, size_t *largest)
{
    size_t total = 0, scratch[2] = {c->work_scratch, 0};
    *largest = cls_shape_count((cls_shape){batch_of(c), 3, c->height, c->width});
    for (int i = 0; i <= last; i++) {
        size_t bytes = cls_shape_count(shapes[i]) * sizeof(float);
        if (bytes > *largest)
            *largest = bytes;
        if (!fuses(m, c, last, i))
            total += bytes;
        const cls_shape in = input_shape(c, shapes, i);
        if (m->layers[i].kind == CLS_LAYER_CONV &&
            cls_conv3x3_choose(m->ctx, in, m->layers[i].cout) == CLS_CONV_WINOGRAD) {
            size_t s[2];
            cls_conv3x3_winograd_scratch_bytes(m->ctx, in, m->layers[i].cout, s);
            for (int k = 0; k < 2; k++)
                scratch[k] = s[k] > scratch[k] ? s[k] : scratch[k];
        }
    }
    return total + 2 * *largest + scratch[0] + scratch[1];
}

/* The output shape of every layer up to the deepest tap: *shapes (malloc'd, *last + 1). */
static cls_status planned_shapes(const cls_model *model, const cls_net_config *config, int *last,
                                 cls_shape **shapes)
{
    cls_status status = CLS_OK;
    *shapes = NULL;
    CLS_TRY(deepest_tap(model, config, last));
    *shapes = calloc((size_t)*last + 1, sizeof **shapes);
    CLS_CHECK_ALLOC(*shapes, "layer shapes");
    status = layer_shapes(model, config, *last, *shapes);
    if (status != CLS_OK) {
        free(*shapes);
        *shapes = NULL;
    }
fail:
    return status;
}

cls_status cls_net_plan_bytes(const cls_model *model, const cls_net_config *config, size_t *bytes)
{
    int last = 0;
    size_t largest;
    cls_shape *shapes;
    cls_status status = planned_shapes(model, config, &last, &shapes);
    if (status == CLS_OK)
        *bytes = plan_bytes(model, config, last, shapes, &largest);
    free(shapes);
    return status;
}

cls_status cls_net_derived_weight_bytes(const cls_model *model, const cls_net_config *config,
                                        size_t *bytes)
{
    int last = 0;
    cls_shape *shapes;
    cls_status status = planned_shapes(model, config, &last, &shapes);
    *bytes = 0;
    for (int i = 0; status == CLS_OK && i <= last; i++)
        if (model->layers[i].kind == CLS_LAYER_CONV)
            *bytes += cls_model_prepare_bytes(model, (size_t)i,
                                              cls_conv3x3_choose(model->ctx,
                                                                 input_shape(config, shapes, i),
                                                                 model->layers[i].cout));
    free(shapes);
    return status;
}

/* Whether a conv layer before i has layer i's shape (VGG repeats them: conv3_2 to conv3_4). */
static bool same_conv_earlier(const cls_model *model, const cls_net_config *config,
                              const cls_shape *shapes, int i)
{
    const cls_shape in = input_shape(config, shapes, i);
    for (int k = 0; k < i; k++) {
        const cls_shape other = input_shape(config, shapes, k);
        if (model->layers[k].kind == CLS_LAYER_CONV &&
            model->layers[k].cout == model->layers[i].cout && other.n == in.n && other.c == in.c &&
            other.h == in.h && other.w == in.w)
            return true;
    }
    return false;
}

cls_status cls_net_select_algorithms(const cls_model *model, const cls_net_config *config,
                                     bool dry_run, cls_cancel_fn cancel, void *cancel_user,
                                     int *measured)
{
    int last = 0;
    cls_shape *shapes;
    *measured = 0;
    cls_status status = planned_shapes(model, config, &last, &shapes);
    for (int i = 0; status == CLS_OK && i <= last; i++) {
        if (model->layers[i].kind != CLS_LAYER_CONV || same_conv_earlier(model, config, shapes, i))
            continue;
        if (cancel && cancel(cancel_user)) {
            status = cls_error(CLS_ERR_CANCELLED, "cancelled while timing convolutions");
            break;
        }
        bool timed = false;
        status = cls_conv3x3_select(model->ctx, input_shape(config, shapes, i),
                                    model->layers[i].cout, dry_run, &timed);
        *measured += timed;
    }
    free(shapes);
    return status;
}

static cls_status check_fits(const cls_net *net, size_t largest)
{
    const cls_device_info *d = &net->model->ctx->info;
    const double mib = 1024.0 * 1024.0;
    size_t weights = net->model->device_bytes; /* with the derived weights still to make */
    for (int i = 0; i <= net->last; i++)
        if (net->model->layers[i].kind == CLS_LAYER_CONV)
            weights += cls_model_prepare_bytes(net->model, (size_t)i, net->algo[i]);
    if (largest > d->max_alloc_bytes || net->device_bytes + weights > d->global_mem_bytes)
        return cls_error(CLS_ERR_OUT_OF_DEVICE_MEMORY,
                         "a %dx%d image needs %.0f MiB of device memory for activations "
                         "(largest buffer %.0f MiB) plus %.0f MiB of weights, but \"%s\" has "
                         "%.0f MiB (largest buffer %.0f MiB); use a smaller --size",
                         net->config.width, net->config.height, (double)net->device_bytes / mib,
                         (double)largest / mib, (double)weights / mib, d->name,
                         (double)d->global_mem_bytes / mib, (double)d->max_alloc_bytes / mib);
    return CLS_OK;
}

static cls_status allocate(cls_net *net, size_t largest)
{
    cls_status status = CLS_OK;
    cls_ctx *ctx = net->model->ctx;
    for (int i = 0; i <= net->last; i++) {
        if (net->fused[i])
            continue;
        size_t bytes = cls_shape_count(net->shapes[i]) * sizeof(float);
        CLS_TRY(cls_buffer_create(ctx, bytes, net->model->layers[i].name, &net->outputs[i]));
    }
    for (int g = 0; g < 2; g++)
        CLS_TRY(cls_buffer_create(ctx, largest, "gradients", &net->grad[g]));
    for (int i = 0; i <= net->last; i++)
        CLS_TRY(cls_model_prepare_conv(net->model, (size_t)i, net->algo[i]));
fail:
    return status;
}

cls_status cls_net_create(cls_model *model, const cls_net_config *config, cls_net **out)
{
    cls_status status = CLS_OK;
    size_t largest = 0;
    *out = NULL;
    cls_net *net = calloc(1, sizeof *net);
    CLS_CHECK_ALLOC(net, "a network");
    net->model = model;
    net->config = *config;
    CLS_TRY(deepest_tap(model, config, &net->last));
    const size_t n = (size_t)net->last + 1;
    net->is_tap = calloc(n, sizeof *net->is_tap);
    net->fused = calloc(n, sizeof *net->fused);
    net->shapes = calloc(n, sizeof *net->shapes);
    net->outputs = calloc(n, sizeof *net->outputs);
    net->algo = calloc(n, sizeof *net->algo);
    CLS_CHECK_ALLOC(net->is_tap && net->fused && net->shapes && net->outputs && net->algo ? net
                                                                                          : NULL,
                    "the network plan");
    CLS_TRY(layer_shapes(model, config, net->last, net->shapes));
    for (int i = 0; i <= net->last; i++) {
        net->is_tap[i] = tapped(config, i);
        net->fused[i] = fuses(model, config, net->last, i);
        if (model->layers[i].kind == CLS_LAYER_CONV) {
            net->algo[i] = cls_conv3x3_choose(model->ctx, input_shape(config, net->shapes, i),
                                              model->layers[i].cout);
            cls_log(model->ctx, CLS_LOG_DEBUG, "%s: %s convolution", model->layers[i].name,
                    cls_conv_algo_name(net->algo[i]));
        }
    }
    net->device_bytes = plan_bytes(model, config, net->last, net->shapes, &largest);
    CLS_TRY(check_fits(net, largest));
    CLS_TRY(allocate(net, largest));
    net->config.taps = NULL; /* not owned; is_tap holds what is needed */
    net->planned_height = config->height;
    net->planned_width = config->width;
    net->planned_batch = batch_of(config);
    *out = net;
    net = NULL;
fail:
    cls_net_destroy(net);
    return status;
}

void cls_net_destroy(cls_net *net)
{
    if (!net)
        return;
    for (int i = 0; net->outputs && i <= net->last; i++)
        if (net->outputs[i])
            clReleaseMemObject(net->outputs[i]);
    for (int g = 0; g < 2; g++)
        if (net->grad[g])
            clReleaseMemObject(net->grad[g]);
    free(net->is_tap);
    free(net->fused);
    free(net->shapes);
    free(net->outputs);
    free(net->algo);
    free(net);
}

size_t cls_net_device_bytes(const cls_net *net)
{
    return net->device_bytes;
}

cls_status cls_net_resize(cls_net *net, int height, int width)
{
    if (height < 1 || width < 1 || height > net->planned_height || width > net->planned_width)
        return cls_error(CLS_ERR_SHAPE, "a network planned for %dx%d cannot run %dx%d",
                         net->planned_width, net->planned_height, width, height);
    cls_net_config config = net->config;
    config.height = height;
    config.width = width;
    cls_status status = layer_shapes(net->model, &config, net->last, net->shapes);
    if (status == CLS_OK) {
        net->config.height = height;
        net->config.width = width;
    } else { /* back to the shapes of the size it had */
        layer_shapes(net->model, &net->config, net->last, net->shapes);
    }
    return status;
}

cls_status cls_net_set_batch(cls_net *net, int batch)
{
    if (batch < 1 || batch > net->planned_batch)
        return cls_error(CLS_ERR_SHAPE, "a network planned for %d images cannot run %d",
                         net->planned_batch, batch);
    net->config.batch = batch;
    return layer_shapes(net->model, &net->config, net->last, net->shapes);
}

/* The buffer holding layer i's output (a fused convolution's is its ReLU's). */
static cl_mem output_of(const cls_net *net, int i)
{
    return net->fused[i] ? net->outputs[i + 1] : net->outputs[i];
}

static cls_status forward_layer(cls_net *net, int i, cl_mem input, cls_shape in)
{
    cls_ctx *ctx = net->model->ctx;
    const cls_vgg_layer *layer = &net->model->layers[i];
    const cls_model_layer *p = &net->model->params[i];
    switch (layer->kind) {
    case CLS_LAYER_CONV:
        if (net->algo[i] == CLS_CONV_WINOGRAD)
            return cls_conv3x3_winograd_forward(ctx, in, layer->cout, input, p->winograd, p->bias,
                                                net->fused[i], output_of(net, i));
        return cls_conv3x3_forward(ctx, in, layer->cout, input, p->weight, p->bias, net->fused[i],
                                   output_of(net, i));
    case CLS_LAYER_RELU:
        if (net->fused[i - 1])
            return CLS_OK; /* done inside the convolution */
        return cls_relu_forward(ctx, cls_shape_count(in), input, net->outputs[i]);
    case CLS_LAYER_POOL:
        return cls_pool_forward(ctx, net->config.pooling, in, input, net->outputs[i]);
    }
    return cls_error(CLS_ERR_INVALID_ARGUMENT, "unknown layer kind");
}

cls_status cls_net_forward(cls_net *net, cl_mem image)
{
    return cls_net_forward_to(net, image, net->last);
}

cls_status cls_net_forward_to(cls_net *net, cl_mem image, int last)
{
    cls_status status = CLS_OK;
    cl_mem input = image;
    cls_shape in = input_shape(&net->config, net->shapes, 0);
    if (last < 0 || last > net->last)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "layer %d is beyond the network's %d", last,
                         net->last);
    for (int i = 0; i <= last; i++) {
        CLS_TRY(forward_layer(net, i, input, in));
        input = output_of(net, i);
        in = net->shapes[i];
    }
fail:
    return status;
}

cls_status cls_net_tap(const cls_net *net, int layer, cl_mem *buffer, cls_shape *shape)
{
    if (layer < 0 || layer > net->last || !net->is_tap[layer])
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "layer %d is not a tap of this network", layer);
    *buffer = output_of(net, layer);
    *shape = net->shapes[layer];
    return CLS_OK;
}

/* Propagates the gradient at layer i's output (in *grad) to its input. Writes into `other`
 * or updates in place, and swaps the two so *grad is the input gradient afterwards. */
static cls_status backward_layer(cls_net *net, int i, cl_mem *grad, cl_mem *other,
                                 cl_mem grad_image)
{
    cls_status status = CLS_OK;
    cls_ctx *ctx = net->model->ctx;
    const cls_vgg_layer *layer = &net->model->layers[i];
    const cls_shape in = input_shape(&net->config, net->shapes, i);
    switch (layer->kind) {
    case CLS_LAYER_RELU:
        /* The mask is this ReLU's output: positive exactly where its input was. */
        return cls_relu_backward(ctx, cls_shape_count(in), *grad, output_of(net, i), *grad);
    case CLS_LAYER_POOL:
        CLS_TRY(
            cls_pool_backward(ctx, net->config.pooling, in, output_of(net, i - 1), *grad, *other));
        break;
    case CLS_LAYER_CONV: {
        cl_mem target = i == 0 ? grad_image : *other;
        const cls_model_layer *p = &net->model->params[i];
        if (net->algo[i] == CLS_CONV_WINOGRAD)
            CLS_TRY(cls_conv3x3_winograd_backward_data(ctx, in, layer->cout, *grad, p->winograd,
                                                       target));
        else
            CLS_TRY(cls_conv3x3_backward_data(ctx, in, layer->cout, *grad, p->flipped, target));
        break;
    }
    }
    cl_mem swap = *grad;
    *grad = *other;
    *other = swap;
fail:
    return status;
}

cls_status cls_net_backward(cls_net *net, cls_tap_grad_fn tap_grad, void *user, cl_mem grad_image)
{
    cls_status status = CLS_OK;
    cl_mem grad = net->grad[0], other = net->grad[1];
    CLS_TRY(cls_fill(net->model->ctx, cls_shape_count(net->shapes[net->last]), 0.0f, grad));
    for (int i = net->last; i >= 0; i--) {
        if (net->is_tap[i])
            CLS_TRY(tap_grad(user, i, output_of(net, i), grad, net->shapes[i]));
        CLS_TRY(backward_layer(net, i, &grad, &other, grad_image));
    }
fail:
    return status;
}
