/* Training passes of a transformer network: a forward pass over a batch that keeps every
 * layer's input, convolution output and norm statistics, and the backward pass from the
 * output's gradient to every weight's. */
#include "ffnet/tape.h"
#include "ops/conv.h"
#include "ops/conv_kxk.h"
#include "ops/elementwise.h"
#include "ops/norm.h"
#include "ops/pad.h"
#include "runtime/launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* The floats of each buffer a tape needs, from the steps of its largest batch. */
typedef struct tape_sizes {
    size_t *outputs, *convs; /* per layer */
    size_t grad, padded, residual;
    size_t bordered; /* the largest 3x3 stride-1 layer's output with its border */
    size_t grads;    /* the parameter gradients */
} tape_sizes;

static void measure(const cls_ffnet *net, const cls_ffnet_step *steps, tape_sizes *z)
{
    z->grad = cls_shape_count(steps[0].in);
    for (size_t i = 0; i < net->layer_count; i++) {
        const cls_ffnet_layer *l = &net->layers[i];
        const cls_ffnet_step *s = &steps[i];
        z->outputs[i] = cls_shape_count(s->out);
        z->convs[i] = l->norm ? cls_shape_count(s->conv) : 0;
        z->grad = max_size(z->grad, cls_shape_count(s->out));
        z->padded = max_size(z->padded, cls_shape_count(s->padded));
        if (l->residual == CLS_FFNET_RESIDUAL_ADD)
            z->residual = max_size(z->residual, cls_shape_count(s->out));
        if (s->same3x3)
            z->bordered = max_size(z->bordered, cls_shape_count(s->conv));
        z->grads += cls_ffnet_layer_param_count(l);
    }
}

static size_t total_bytes(const cls_ffnet *net, const tape_sizes *z, int batch)
{
    size_t floats = 2 * z->grad + 2 * z->padded + z->residual + z->bordered + z->grads;
    for (size_t i = 0; i < net->layer_count; i++) {
        floats += z->outputs[i] + z->convs[i];
        if (net->layers[i].norm)
            floats += 2 * (size_t)batch * (size_t)net->layers[i].cout;
    }
    /* The Winograd layers' scratch is the context's, shared with every other user. */
    return floats * sizeof(float);
}

static cls_status check_size(int batch, int width, int height)
{
    if (batch < 1 || width < CLS_FFNET_MIN_SIDE || height < CLS_FFNET_MIN_SIDE ||
        width % CLS_FFNET_SIZE_MULTIPLE || height % CLS_FFNET_SIZE_MULTIPLE)
        return cls_error(CLS_ERR_SHAPE,
                         "training needs images of at least %d pixels a side, in multiples of %d, "
                         "and a batch of at least 1 (got %d images of %dx%d)",
                         CLS_FFNET_MIN_SIDE, CLS_FFNET_SIZE_MULTIPLE, batch, width, height);
    return CLS_OK;
}

/* The steps[layer_count] of batch images of width x height and the sizes of the buffers they
 * need (z->outputs, which the caller frees, holds z->convs too). */
static cls_status plan(const cls_ffnet *net, int batch, int width, int height,
                       cls_ffnet_step *steps, tape_sizes *z)
{
    cls_status status = check_size(batch, width, height);
    if (status != CLS_OK)
        return status;
    size_t *per_layer = calloc(2 * net->layer_count, sizeof *per_layer);
    if (!per_layer)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "a training plan");
    *z = (tape_sizes){.outputs = per_layer, .convs = per_layer + net->layer_count};
    cls_ffnet_sizes sizes;
    status = cls_ffnet_plan_steps(net, batch, width, height, steps, &sizes);
    if (status == CLS_OK)
        measure(net, steps, z);
    return status;
}

cls_status cls_ffnet_tape_bytes(const cls_ffnet *net, int batch, int width, int height,
                                size_t *bytes)
{
    tape_sizes z = {0};
    cls_ffnet_step *steps = calloc(net->layer_count, sizeof *steps);
    cls_status status = steps ? plan(net, batch, width, height, steps, &z)
                              : cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "a training plan");
    if (status == CLS_OK)
        *bytes = total_bytes(net, &z, batch);
    free(steps);
    free(z.outputs);
    return status;
}

static cls_status buffer(cls_ffnet_tape *t, size_t floats, const char *what, cl_mem *out)
{
    if (floats == 0)
        return CLS_OK;
    cls_status status = cls_buffer_create(t->net->ctx, floats * sizeof(float), what, out);
    if (status == CLS_OK)
        t->device_bytes += floats * sizeof(float);
    return status;
}

static cls_status allocate_grads(cls_ffnet_tape *t)
{
    cls_status status = CLS_OK;
    for (size_t i = 0; i < t->net->layer_count; i++) {
        const cls_ffnet_layer *l = &t->net->layers[i];
        cls_ffnet_grads *g = &t->grads[i];
        CLS_TRY(buffer(t, (size_t)l->cout * l->cin * l->kernel * l->kernel, "weight gradients",
                       &g->weight));
        CLS_TRY(buffer(t, (size_t)l->cout, "bias gradients", &g->bias));
        if (l->norm) {
            CLS_TRY(buffer(t, (size_t)l->cout, "norm gradients", &g->norm_weight));
            CLS_TRY(buffer(t, (size_t)l->cout, "norm gradients", &g->norm_bias));
        }
    }
fail:
    return status;
}

static cls_status allocate(cls_ffnet_tape *t, const tape_sizes *z)
{
    cls_status status = CLS_OK;
    const cls_ffnet *net = t->net;
    for (size_t i = 0; i < net->layer_count; i++) {
        CLS_TRY(buffer(t, z->outputs[i], net->layers[i].conv, &t->outputs[i]));
        CLS_TRY(buffer(t, z->convs[i], net->layers[i].conv, &t->convs[i]));
        if (net->layers[i].norm)
            CLS_TRY(buffer(t, 2 * (size_t)t->batch * net->layers[i].cout, "norm statistics",
                           &t->stats[i]));
    }
    CLS_TRY(buffer(t, z->padded, "padded activations", &t->padded));
    CLS_TRY(buffer(t, z->padded, "padded gradients", &t->grad_padded));
    for (int g = 0; g < 2; g++)
        CLS_TRY(buffer(t, z->grad, "activation gradients", &t->grad[g]));
    CLS_TRY(buffer(t, z->residual, "residual gradients", &t->grad_residual));
    CLS_TRY(buffer(t, z->bordered, "bordered gradients", &t->grad_bordered));
    CLS_TRY(allocate_grads(t));
fail:
    return status;
}

cls_status cls_ffnet_tape_create(cls_ffnet *net, int batch, int width, int height,
                                 cls_ffnet_tape **out)
{
    cls_status status = CLS_OK;
    tape_sizes z = {0};
    *out = NULL;
    const size_t layers = net->layer_count;
    cls_ffnet_tape *t = calloc(1, sizeof *t);
    CLS_CHECK_ALLOC(t, "a training plan");
    *t = (cls_ffnet_tape){.net = net,
                          .batch = batch,
                          .width = width,
                          .height = height,
                          .n = batch,
                          .weights_changed = true};
    t->steps = calloc(layers, sizeof *t->steps);
    t->outputs = calloc(layers, sizeof *t->outputs);
    t->convs = calloc(layers, sizeof *t->convs);
    t->stats = calloc(layers, sizeof *t->stats);
    t->grads = calloc(layers, sizeof *t->grads);
    CLS_CHECK_ALLOC(t->steps && t->outputs && t->convs && t->stats && t->grads ? t->grads : NULL,
                    "a training plan");
    CLS_TRY(plan(net, batch, width, height, t->steps, &z));
    CLS_TRY(allocate(t, &z));
    *out = t;
    t = NULL;
fail:
    free(z.outputs);
    cls_ffnet_tape_destroy(t);
    return status;
}

static void release(cl_mem *buffers, size_t count)
{
    for (size_t i = 0; buffers && i < count; i++)
        if (buffers[i])
            clReleaseMemObject(buffers[i]);
}

void cls_ffnet_tape_destroy(cls_ffnet_tape *t)
{
    if (!t)
        return;
    const size_t layers = t->net->layer_count;
    release(t->outputs, layers);
    release(t->convs, layers);
    release(t->stats, layers);
    for (size_t i = 0; t->grads && i < layers; i++)
        release(&t->grads[i].weight, 4);
    cl_mem own[] = {t->padded,  t->grad_padded,   t->grad[0],
                    t->grad[1], t->grad_residual, t->grad_bordered};
    release(own, sizeof own / sizeof own[0]);
    free(t->steps);
    free(t->outputs);
    free(t->convs);
    free(t->stats);
    free(t->grads);
    free(t);
}

static cls_status derived_buffer(cls_ffnet *net, size_t floats, const char *what, cl_mem *out)
{
    if (*out)
        return CLS_OK;
    cls_status status = cls_buffer_create(net->ctx, floats * sizeof(float), what, out);
    if (status == CLS_OK)
        net->device_bytes += floats * sizeof(float);
    return status;
}

/* The derived weights of the 3x3 stride-1 layers, made or remade from the current weights
 * (training changes them every step): Winograd-transformed ones for both passes of a
 * Winograd layer, flipped ones for a direct layer's backward pass. */
static cls_status refresh_derived(cls_ffnet_tape *t)
{
    cls_status status = CLS_OK;
    cls_ffnet *net = t->net;
    for (size_t i = 0; i < net->layer_count; i++) {
        const cls_ffnet_layer *l = &net->layers[i];
        cls_ffnet_params *p = &net->params[i];
        if (!t->steps[i].same3x3)
            continue;
        if (t->steps[i].algo == CLS_CONV_WINOGRAD) {
            CLS_TRY(derived_buffer(net, cls_conv3x3_winograd_weight_count(l->cin, l->cout), l->conv,
                                   &p->winograd));
            CLS_TRY(
                cls_conv3x3_winograd_weights(net->ctx, l->cin, l->cout, p->weight, p->winograd));
        } else {
            CLS_TRY(derived_buffer(net, (size_t)l->cin * l->cout * 9, l->conv, &p->flipped));
            CLS_TRY(cls_conv3x3_flip_weights(net->ctx, l->cin, l->cout, p->weight, p->flipped));
        }
    }
    t->weights_changed = false;
fail:
    return status;
}

/* The steps for a batch of n (the convolution algorithms stay those of the full batch, so
 * a short last batch needs no new transformed weights). */
static cls_status plan_batch(cls_ffnet_tape *t, int n)
{
    if (n < 1 || n > t->batch)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "a batch of %d images on a plan for %d", n,
                         t->batch);
    if (n == t->n)
        return CLS_OK;
    cls_ffnet_step *steps = calloc(t->net->layer_count, sizeof *steps);
    cls_ffnet_sizes sizes;
    if (!steps)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "a training plan");
    cls_status status = cls_ffnet_plan_steps(t->net, n, t->width, t->height, steps, &sizes);
    for (size_t i = 0; status == CLS_OK && i < t->net->layer_count; i++) {
        steps[i].algo = t->steps[i].algo;
        t->steps[i] = steps[i];
    }
    if (status == CLS_OK)
        t->n = n;
    free(steps);
    return status;
}

static cl_mem layer_input(const cls_ffnet_tape *t, size_t i, cl_mem input)
{
    return i == 0 ? input : t->outputs[i - 1];
}

static cls_status forward_layer(cls_ffnet_tape *t, size_t i, cl_mem x, cl_mem residual)
{
    cls_status status = CLS_OK;
    cls_ffnet *net = t->net;
    const cls_ffnet_layer *l = &net->layers[i];
    const cls_ffnet_step *s = &t->steps[i];
    CLS_TRY(cls_pad_reflect(net->ctx, s->in, l->upsample, l->kernel / 2, x, t->padded));
    if (!l->norm)
        return cls_ffnet_convolve(net, i, s, t->padded, t->outputs[i]);
    CLS_TRY(cls_ffnet_convolve(net, i, s, t->padded, t->convs[i]));
    cls_instance_norm_args norm =
        cls_ffnet_norm_args(net, i, s, t->convs[i], residual, t->outputs[i]);
    norm.stats = t->stats[i];
    CLS_TRY(cls_instance_norm_forward(net->ctx, &norm));
fail:
    return status;
}

cls_status cls_ffnet_tape_forward(cls_ffnet_tape *t, int n, cl_mem input, cl_mem *output)
{
    cls_status status = CLS_OK;
    cl_mem residual = NULL;
    CLS_TRY(plan_batch(t, n));
    if (t->weights_changed)
        CLS_TRY(refresh_derived(t));
    for (size_t i = 0; i < t->net->layer_count; i++) {
        const cl_mem x = layer_input(t, i, input);
        if (t->net->layers[i].residual == CLS_FFNET_RESIDUAL_SAVE)
            residual = x;
        CLS_TRY(forward_layer(t, i, x, residual));
    }
    *output = t->outputs[t->net->layer_count - 1];
    t->input = input;
fail:
    return status;
}

/* The gradient of a norm layer's output (in grad, dense) becomes its convolution output's,
 * in place; a residual block's output gradient is kept for the block's input first. */
static cls_status norm_backward(cls_ffnet_tape *t, size_t i, cl_mem grad)
{
    cls_status status = CLS_OK;
    cls_ffnet *net = t->net;
    const cls_ffnet_layer *l = &net->layers[i];
    const cls_ffnet_step *s = &t->steps[i];
    if (l->residual == CLS_FFNET_RESIDUAL_ADD)
        CLS_TRY(cls_copy_floats(net->ctx, grad, t->grad_residual, 0, cls_shape_count(s->out)));
    cls_instance_norm_backward_args args = {
        .shape = s->out,
        .input = t->convs[i],
        .view = cls_ffnet_conv_view(s),
        .weight = net->params[i].norm_weight,
        .stats = t->stats[i],
        .relu = l->relu,
        .output = t->outputs[i],
        .grad_output = grad,
        .grad_input = grad,
        .grad_weight = t->grads[i].norm_weight,
        .grad_bias = t->grads[i].norm_bias,
    };
    CLS_TRY(cls_instance_norm_backward(net->ctx, &args));
fail:
    return status;
}

/* The gradient of a 3x3 stride-1 layer's padded input from its output's (dense, in grad),
 * by the layer's own fast 3x3 algorithm: the layer ran as a "same" convolution whose border
 * outputs were dropped, so its gradient is that convolution's backward pass from the output
 * gradient with a zero border. */
static cls_status same3x3_backward_data(cls_ffnet_tape *t, size_t i, cl_mem grad)
{
    cls_status status = CLS_OK;
    cls_ffnet *net = t->net;
    const cls_ffnet_step *s = &t->steps[i];
    const cls_ffnet_params *p = &net->params[i];
    const int cout = net->layers[i].cout;
    CLS_TRY(cls_fill(net->ctx, cls_shape_count(s->conv), 0.0f, t->grad_bordered));
    const cls_window from = {s->out, 0, 0}, to = {s->conv, 1, 1};
    CLS_TRY(cls_copy_window(net->ctx, grad, from, t->grad_bordered, to, s->out.h, s->out.w, false));
    if (s->algo == CLS_CONV_WINOGRAD)
        CLS_TRY(cls_conv3x3_winograd_backward_data(net->ctx, s->padded, cout, t->grad_bordered,
                                                   p->winograd, t->grad_padded));
    else
        CLS_TRY(cls_conv3x3_backward_data(net->ctx, s->padded, cout, t->grad_bordered, p->flipped,
                                          t->grad_padded));
fail:
    return status;
}

/* From the gradient of layer i's convolution output (dense, in grad): its weight and bias
 * gradients, and unless i is the first layer its input's gradient into grad_input. */
static cls_status conv_backward(cls_ffnet_tape *t, size_t i, cl_mem grad, cl_mem grad_input)
{
    cls_status status = CLS_OK;
    cls_ffnet *net = t->net;
    const cls_ffnet_layer *l = &net->layers[i];
    const cls_ffnet_step *s = &t->steps[i];
    const int pad = l->kernel / 2;
    /* The padded input is made again from the kept input rather than kept itself: one cheap
     * pass instead of a second copy of every layer's activations. The stride-1 3x3 layers ran
     * as "same" convolutions on it; their weight gradients are those of a valid convolution
     * of it (see cls_conv_kxk_backward_data). */
    CLS_TRY(
        cls_pad_reflect(net->ctx, s->in, l->upsample, pad, layer_input(t, i, t->input), t->padded));
    CLS_TRY(cls_conv_kxk_backward_weights(net->ctx, s->padded, l->cout, l->kernel, l->stride,
                                          t->padded, grad, t->grads[i].weight, t->grads[i].bias));
    if (i == 0)
        return CLS_OK;
    if (s->same3x3)
        CLS_TRY(same3x3_backward_data(t, i, grad));
    else
        CLS_TRY(cls_conv_kxk_backward_data(net->ctx, s->padded, l->cout, l->kernel, l->stride, grad,
                                           net->params[i].weight, t->grad_padded));
    CLS_TRY(
        cls_pad_reflect_backward(net->ctx, s->in, l->upsample, pad, t->grad_padded, grad_input));
    if (l->residual == CLS_FFNET_RESIDUAL_SAVE)
        CLS_TRY(cls_axpy(net->ctx, cls_shape_count(s->in), 1.0f, t->grad_residual, grad_input));
fail:
    return status;
}

cls_status cls_ffnet_tape_backward(cls_ffnet_tape *t, cl_mem grad_output)
{
    cls_status status = CLS_OK;
    cl_mem grad = grad_output;
    if (!t->input)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "a training backward pass before a forward");
    for (size_t i = t->net->layer_count; i-- > 0;) {
        if (t->net->layers[i].norm)
            CLS_TRY(norm_backward(t, i, grad));
        cl_mem next = grad == t->grad[0] ? t->grad[1] : t->grad[0];
        CLS_TRY(conv_backward(t, i, grad, next));
        grad = next;
    }
fail:
    return status;
}

size_t cls_ffnet_tensor_count(const cls_ffnet *net)
{
    size_t count = 0;
    for (size_t i = 0; i < net->layer_count; i++)
        count += net->layers[i].norm ? 4 : 2;
    return count;
}

void cls_ffnet_tensor_at(cls_ffnet *net, cls_ffnet_tape *tape, size_t index, cls_ffnet_tensor *out)
{
    *out = (cls_ffnet_tensor){0};
    for (size_t i = 0; i < net->layer_count; i++) {
        const cls_ffnet_layer *l = &net->layers[i];
        const size_t here = l->norm ? 4 : 2;
        if (index >= here) {
            index -= here;
            continue;
        }
        cls_ffnet_params *p = &net->params[i];
        cls_ffnet_grads *g = tape ? &tape->grads[i] : NULL;
        static const char *const parts[] = {"conv2d.weight", "conv2d.bias", "weight", "bias"};
        snprintf(out->name, sizeof out->name, "%s.%s", index < 2 ? l->conv : l->norm, parts[index]);
        cl_mem *params[] = {&p->weight, &p->bias, &p->norm_weight, &p->norm_bias};
        out->param = params[index];
        if (g) {
            cl_mem *grads[] = {&g->weight, &g->bias, &g->norm_weight, &g->norm_bias};
            out->grad = grads[index];
        }
        if (index == 0) {
            out->ndim = 4;
            out->shape[0] = l->cout;
            out->shape[1] = l->cin;
            out->shape[2] = out->shape[3] = l->kernel;
            out->count = (size_t)l->cout * l->cin * l->kernel * l->kernel;
        } else {
            out->ndim = 1;
            out->shape[0] = l->cout;
            out->count = (size_t)l->cout;
        }
        return;
    }
}
