/* One training step of a transformer network: the batch through the network (kept for the
 * backward pass), the loss network's losses and gradient, the network's weight gradients, and
 * an Adam update of every weight tensor. */
#include "ffnet/tape.h"
#include "optim/adam.h"
#include "ops/elementwise.h"
#include "runtime/launch.h"
#include "train/loss_net.h"

#include <math.h>
#include <stdlib.h>

/* A weight tensor under Adam: its buffers and moments. */
typedef struct adam_slot {
    cls_ffnet_tensor tensor;
    cl_mem m, v;
} adam_slot;

struct cls_trainer {
    cls_ctx *ctx;
    cls_ffnet *net;
    cls_train_params p;
    cls_adam_params adam;
    cls_ffnet_tape *tape;
    cls_loss_net *loss;
    cl_mem images, grad_output; /* [batch][3][S][S] */
    adam_slot *slots;
    size_t slot_count;
    long steps;
    size_t device_bytes;
};

cls_train_params cls_train_params_default(void)
{
    return (cls_train_params){.batch_size = 4,
                              .image_size = 256,
                              .content_weight = 1e5,
                              .style_weight = 1e10,
                              .tv_weight = 0.0,
                              .learning_rate = 1e-3};
}

static cls_status check_params(const cls_train_params *p)
{
    if (p->batch_size < 1 || p->image_size < CLS_FFNET_MIN_SIDE ||
        p->image_size % CLS_FFNET_SIZE_MULTIPLE)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "training needs a batch of at least 1 and an image size that is a "
                         "multiple of %d, at least %d (got batch %d, size %d)",
                         CLS_FFNET_SIZE_MULTIPLE, CLS_FFNET_MIN_SIDE, p->batch_size, p->image_size);
    if (!(p->learning_rate > 0.0) || !isfinite(p->learning_rate) || !(p->content_weight >= 0.0) ||
        !(p->style_weight >= 0.0) || !(p->tv_weight >= 0.0) || !isfinite(p->content_weight) ||
        !isfinite(p->style_weight) || !isfinite(p->tv_weight))
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "training needs a positive learning rate and finite weights of at least "
                         "0");
    return CLS_OK;
}

static cls_loss_net_params loss_params(const cls_train_params *p, const cls_image *style)
{
    return (cls_loss_net_params){.batch = p->batch_size,
                                 .size = p->image_size,
                                 .content_weight = p->content_weight,
                                 .style_weight = p->style_weight,
                                 .tv_weight = p->tv_weight,
                                 .style = style};
}

/* Images, the output gradient and two Adam moments of every weight. */
static size_t own_bytes(const cls_ffnet *net, const cls_train_params *p)
{
    size_t weights = 0;
    for (size_t i = 0; i < net->layer_count; i++)
        weights += cls_ffnet_layer_param_count(&net->layers[i]);
    const size_t image = (size_t)p->batch_size * 3 * p->image_size * p->image_size;
    return (2 * image + 2 * weights) * sizeof(float);
}

cls_status cls_trainer_plan_bytes(const cls_model *vgg16, const cls_ffnet *net,
                                  const cls_train_params *params, size_t *bytes)
{
    cls_status status = check_params(params);
    size_t tape = 0, loss = 0;
    if (status != CLS_OK)
        return status;
    /* Any valid image stands for the style: its Gram matrices are not counted here. */
    float pixel[3] = {0};
    const cls_image style = {1, 1, pixel};
    const cls_loss_net_params lp = loss_params(params, &style);
    CLS_TRY(cls_ffnet_tape_bytes(net, params->batch_size, params->image_size, params->image_size,
                                 &tape));
    CLS_TRY(cls_loss_net_plan_bytes(vgg16, &lp, &loss));
    *bytes = tape + loss + own_bytes(net, params);
fail:
    if (status == CLS_ERR_SHAPE)
        cls_error_context(status,
                          "a training step of %d images of %dx%d is too large for the kernels' "
                          "32-bit indices; use a smaller --batch-size or --image-size",
                          params->batch_size, params->image_size, params->image_size);
    return status;
}

static cls_status check_fits(const cls_trainer *t, const cls_model *vgg16)
{
    size_t need = 0;
    cls_status status = cls_trainer_plan_bytes(vgg16, t->net, &t->p, &need);
    const cls_device_info *d = &t->ctx->info;
    const size_t weights = vgg16->device_bytes + t->net->device_bytes;
    const double mib = 1024.0 * 1024.0;
    if (status == CLS_OK && need + weights > d->global_mem_bytes)
        status = cls_error(CLS_ERR_OUT_OF_DEVICE_MEMORY,
                           "a training step of %d images of %dx%d needs %.0f MiB of device "
                           "memory plus %.0f MiB of weights, but \"%s\" has %.0f MiB; use a "
                           "smaller --batch-size or --image-size",
                           t->p.batch_size, t->p.image_size, t->p.image_size, (double)need / mib,
                           (double)weights / mib, d->name, (double)d->global_mem_bytes / mib);
    return status;
}

static cls_status buffer(cls_trainer *t, size_t floats, const char *what, cl_mem *out)
{
    cls_status status = cls_buffer_create(t->ctx, floats * sizeof(float), what, out);
    if (status == CLS_OK)
        t->device_bytes += floats * sizeof(float);
    return status;
}

static cls_status create_slots(cls_trainer *t)
{
    cls_status status = CLS_OK;
    t->slot_count = cls_ffnet_tensor_count(t->net);
    t->slots = calloc(t->slot_count, sizeof *t->slots);
    CLS_CHECK_ALLOC(t->slots, "the optimiser's table");
    for (size_t i = 0; i < t->slot_count; i++) {
        adam_slot *s = &t->slots[i];
        cls_ffnet_tensor_at(t->net, t->tape, i, &s->tensor);
        CLS_TRY(buffer(t, s->tensor.count, "Adam moments", &s->m));
        CLS_TRY(buffer(t, s->tensor.count, "Adam moments", &s->v));
        CLS_TRY(cls_fill(t->ctx, s->tensor.count, 0.0f, s->m));
        CLS_TRY(cls_fill(t->ctx, s->tensor.count, 0.0f, s->v));
    }
fail:
    return status;
}

cls_status cls_trainer_create(cls_model *vgg16, cls_ffnet *net, const cls_image *style,
                              const cls_train_params *params, cls_trainer **out)
{
    cls_status status = CLS_OK;
    *out = NULL;
    if (!vgg16 || !net || !style || !style->pixels || !params)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "cls_trainer_create: missing argument");
    if (vgg16->ctx != net->ctx)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "cls_trainer_create: the networks are on different contexts");
    status = check_params(params);
    if (status != CLS_OK)
        return status;
    cls_trainer *t = calloc(1, sizeof *t);
    CLS_CHECK_ALLOC(t, "a trainer");
    t->ctx = net->ctx;
    t->net = net;
    t->p = *params;
    t->adam = (cls_adam_params){
        .iterations = 1, .lr = params->learning_rate, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    CLS_TRY(check_fits(t, vgg16));
    const cls_loss_net_params lp = loss_params(params, style);
    CLS_TRY(cls_loss_net_create(vgg16, &lp, &t->loss));
    CLS_TRY(cls_ffnet_tape_create(net, params->batch_size, params->image_size, params->image_size,
                                  &t->tape));
    const size_t image = (size_t)params->batch_size * 3 * params->image_size * params->image_size;
    CLS_TRY(buffer(t, image, "training images", &t->images));
    CLS_TRY(buffer(t, image, "output gradients", &t->grad_output));
    CLS_TRY(create_slots(t));
    CLS_CHECK_CL(clFinish(t->ctx->queue), "preparing the trainer");
    *out = t;
    t = NULL;
fail:
    cls_trainer_destroy(t);
    return status;
}

void cls_trainer_destroy(cls_trainer *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->slots && i < t->slot_count; i++) {
        if (t->slots[i].m)
            clReleaseMemObject(t->slots[i].m);
        if (t->slots[i].v)
            clReleaseMemObject(t->slots[i].v);
    }
    free(t->slots);
    if (t->images)
        clReleaseMemObject(t->images);
    if (t->grad_output)
        clReleaseMemObject(t->grad_output);
    cls_ffnet_tape_destroy(t->tape);
    cls_loss_net_destroy(t->loss);
    free(t);
}

size_t cls_trainer_device_bytes(const cls_trainer *t)
{
    return t->device_bytes + t->tape->device_bytes + cls_loss_net_device_bytes(t->loss);
}

long cls_trainer_steps(const cls_trainer *t)
{
    return t->steps;
}

static cls_status update_weights(cls_trainer *t)
{
    cls_status status = CLS_OK;
    const int k = (int)(t->steps + 1);
    for (size_t i = 0; i < t->slot_count; i++) {
        const adam_slot *s = &t->slots[i];
        CLS_TRY(cls_adam_update(t->ctx, &t->adam, k, s->tensor.count, *s->tensor.param,
                                *s->tensor.grad, s->m, s->v));
    }
    t->tape->weights_changed = true;
    t->steps++;
fail:
    return status;
}

cls_status cls_trainer_step(cls_trainer *t, const float *images, int count,
                            cls_train_losses *losses)
{
    cls_status status = CLS_OK;
    cl_mem y;
    if (!images || count < 1 || count > t->p.batch_size)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "a training step of %d images (batch %d)", count,
                         t->p.batch_size);
    const size_t floats = (size_t)count * 3 * t->p.image_size * t->p.image_size;
    CLS_CHECK_CL(clEnqueueWriteBuffer(t->ctx->queue, t->images, CL_TRUE, 0, floats * sizeof(float),
                                      images, 0, NULL, NULL),
                 "uploading a training batch");
    CLS_TRY(cls_ffnet_tape_forward(t->tape, count, t->images, &y));
    CLS_TRY(cls_loss_net_evaluate(t->loss, count, t->images, y, t->grad_output));
    CLS_TRY(cls_ffnet_tape_backward(t->tape, t->grad_output));
    CLS_TRY(cls_loss_net_losses(t->loss, losses));
    if (!isfinite(losses->total))
        return cls_error(CLS_ERR_NOT_FINITE,
                         "the loss is not finite at step %ld (%g: content %g, style %g): the "
                         "weights diverged; a lower learning rate or loss weights may help",
                         t->steps + 1, losses->total, losses->content, losses->style);
    CLS_TRY(update_weights(t));
fail:
    return status;
}
