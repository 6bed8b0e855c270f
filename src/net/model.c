/* Loading VGG weights from a file onto the device. */
#include "net/model.h"
#include "ops/conv.h"
#include "runtime/launch.h"
#include "weights/weights_upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cls_status cls_model_detect_arch(const cls_weights *w, const char *path, cls_vgg_arch *arch)
{
    /* VGG-19's last convolution is features.34; VGG-16 has a pooling layer there and its
     * last convolution at features.28. */
    if (cls_weights_find(w, "features.34.weight")) {
        *arch = CLS_VGG19;
        return CLS_OK;
    }
    if (cls_weights_find(w, "features.28.weight")) {
        *arch = CLS_VGG16;
        return CLS_OK;
    }
    if (cls_weights_find(w, "conv1.conv2d.weight"))
        return cls_error(CLS_ERR_WEIGHTS_MISMATCH,
                         "%s: holds a fast-style transformer network (conv1.conv2d.weight), "
                         "not VGG weights; stylise with it by `clstyle stylize -m %s -c IMAGE "
                         "-o OUTPUT`",
                         path, path);
    return cls_error(CLS_ERR_WEIGHTS_MISMATCH,
                     "%s: holds %zu tensors but neither VGG-19 (features.34.weight) nor VGG-16 "
                     "(features.28.weight) convolutions; clstyle needs torchvision's VGG "
                     "weights (tools/fetch-model.sh downloads them)",
                     path, cls_weights_count(w));
}

static cls_status upload(cls_model *m, cls_weights *w, const cls_weight_tensor *t, const char *what,
                         float *host, cl_mem *out)
{
    cls_status status = cls_weights_upload(m->ctx, w, t, what, host, out);
    if (status == CLS_OK)
        m->device_bytes += t->count * sizeof(float);
    return status;
}

#define VGG_HINT "is this a torchvision VGG checkpoint?"

/* The weight and bias tensors of convolution layer, with their shapes checked. */
static cls_status conv_tensors(const cls_weights *w, const char *path, const cls_vgg_layer *layer,
                               const cls_weight_tensor **weight, const cls_weight_tensor **bias)
{
    cls_status status = CLS_OK;
    char name[64];
    const int64_t wshape[4] = {layer->cout, layer->cin, 3, 3}, bshape[1] = {layer->cout};
    snprintf(name, sizeof name, "features.%d.weight", layer->torch_index);
    CLS_TRY(cls_weights_expect(w, path, name, wshape, 4, VGG_HINT, weight));
    snprintf(name, sizeof name, "features.%d.bias", layer->torch_index);
    CLS_TRY(cls_weights_expect(w, path, name, bshape, 1, VGG_HINT, bias));
fail:
    return status;
}

/* Opens a weight file and checks, before any value is read, what a model needs of it: the
 * format, the architecture and every convolution's tensors and shapes. On failure *w is
 * left for the caller to close (it may be NULL). */
static cls_status open_checked(const char *path, cls_weights **w, cls_vgg_arch *arch)
{
    cls_status status = CLS_OK;
    size_t count = 0;
    const cls_weight_tensor *weight, *bias;
    CLS_TRY(cls_weights_open(path, w));
    CLS_TRY(cls_model_detect_arch(*w, path, arch));
    const cls_vgg_layer *layers = cls_vgg_layers(*arch, &count);
    for (size_t i = 0; i < count; i++)
        if (layers[i].kind == CLS_LAYER_CONV)
            CLS_TRY(conv_tensors(*w, path, &layers[i], &weight, &bias));
fail:
    return status;
}

static cls_status load_conv(cls_model *m, cls_weights *w, size_t index, float *host)
{
    cls_status status = CLS_OK;
    const cls_vgg_layer *layer = &m->layers[index];
    cls_model_layer *p = &m->params[index];
    const cls_weight_tensor *weight, *bias;
    CLS_TRY(conv_tensors(w, m->path, layer, &weight, &bias));
    CLS_TRY(upload(m, w, weight, layer->name, host, &p->weight));
    CLS_TRY(upload(m, w, bias, layer->name, host, &p->bias));
fail:
    return status;
}

size_t cls_model_prepare_bytes(const cls_model *m, size_t layer, cls_conv_algo algo)
{
    const cls_vgg_layer *l = &m->layers[layer];
    const cls_model_layer *p = &m->params[layer];
    if (algo == CLS_CONV_WINOGRAD)
        return p->winograd ? 0 : cls_conv3x3_winograd_weight_count(l->cin, l->cout) * sizeof(float);
    return p->flipped ? 0 : (size_t)l->cin * (size_t)l->cout * 9 * sizeof(float);
}

cls_status cls_model_prepare_conv(cls_model *m, size_t layer, cls_conv_algo algo)
{
    cls_status status = CLS_OK;
    const cls_vgg_layer *l = &m->layers[layer];
    cls_model_layer *p = &m->params[layer];
    const size_t bytes = cls_model_prepare_bytes(m, layer, algo);
    if (l->kind != CLS_LAYER_CONV || bytes == 0)
        return CLS_OK;
    if (algo == CLS_CONV_WINOGRAD) {
        CLS_TRY(cls_buffer_create(m->ctx, bytes, l->name, &p->winograd));
        CLS_TRY(cls_conv3x3_winograd_weights(m->ctx, l->cin, l->cout, p->weight, p->winograd));
    } else {
        CLS_TRY(cls_buffer_create(m->ctx, bytes, l->name, &p->flipped));
        CLS_TRY(cls_conv3x3_flip_weights(m->ctx, l->cin, l->cout, p->weight, p->flipped));
    }
    m->device_bytes += bytes;
fail:
    return status;
}

cls_status cls_model_load(cls_ctx *ctx, const char *path, cls_model **out)
{
    cls_status status = CLS_OK;
    cls_weights *w = NULL;
    float *host = NULL;
    *out = NULL;
    cls_model *m = calloc(1, sizeof *m);
    CLS_CHECK_ALLOC(m, "a model");
    m->ctx = ctx;
    snprintf(m->path, sizeof m->path, "%s", path);
    CLS_TRY(open_checked(path, &w, &m->arch)); /* every shape before any upload */
    m->format = cls_weights_get_format(w);
    m->layers = cls_vgg_layers(m->arch, &m->layer_count);
    m->params = calloc(m->layer_count, sizeof *m->params);
    CLS_CHECK_ALLOC(m->params, "the model's layer table");
    host = malloc(512 * 512 * 9 * sizeof *host); /* the largest VGG convolution */
    CLS_CHECK_ALLOC(host, "a weight staging buffer");
    for (size_t i = 0; i < m->layer_count; i++)
        if (m->layers[i].kind == CLS_LAYER_CONV)
            CLS_TRY(load_conv(m, w, i, host));
    CLS_CHECK_CL(clFinish(ctx->queue), "finishing the weight upload");
    *out = m;
    m = NULL;
fail:
    free(host);
    cls_weights_close(w);
    cls_model_destroy(m);
    return status;
}

cls_status cls_model_check(const char *path)
{
    cls_status status = CLS_OK;
    cls_weights *w = NULL;
    cls_vgg_arch arch;
    CLS_TRY(open_checked(path, &w, &arch));
fail:
    cls_weights_close(w);
    return status;
}

const char *cls_model_arch(const cls_model *m)
{
    return cls_vgg_arch_name(m->arch);
}

size_t cls_model_device_bytes(const cls_model *m)
{
    return m->device_bytes;
}

void cls_model_destroy(cls_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->params && i < m->layer_count; i++) {
        cl_mem buffers[] = {m->params[i].weight, m->params[i].flipped, m->params[i].bias,
                            m->params[i].winograd};
        for (int b = 0; b < 4; b++)
            if (buffers[b])
                clReleaseMemObject(buffers[b]);
    }
    free(m->params);
    free(m);
}
