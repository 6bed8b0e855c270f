/* Loading a transformer network's weights from a file onto the device. */
#include "ffnet/ffnet.h"
#include "weights/weights_upload.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FFNET_HINT                                                                                 \
    "clstyle stylize needs a TransformerNet state_dict as pytorch/examples fast_neural_style "     \
    "or `clstyle train` writes"

/* The four tensors of layer l (the norm's NULL when it has none), shapes checked. */
typedef struct layer_tensors {
    const cls_weight_tensor *weight, *bias, *norm_weight, *norm_bias;
} layer_tensors;

static cls_status find_layer(const cls_weights *w, const char *path, const cls_ffnet_layer *l,
                             layer_tensors *t)
{
    cls_status status = CLS_OK;
    char name[CLS_WEIGHT_NAME_MAX];
    const int64_t wshape[4] = {l->cout, l->cin, l->kernel, l->kernel}, vshape[1] = {l->cout};
    *t = (layer_tensors){0};
    snprintf(name, sizeof name, "%s.conv2d.weight", l->conv);
    CLS_TRY(cls_weights_expect(w, path, name, wshape, 4, FFNET_HINT, &t->weight));
    snprintf(name, sizeof name, "%s.conv2d.bias", l->conv);
    CLS_TRY(cls_weights_expect(w, path, name, vshape, 1, FFNET_HINT, &t->bias));
    if (!l->norm)
        return CLS_OK;
    snprintf(name, sizeof name, "%s.weight", l->norm);
    CLS_TRY(cls_weights_expect(w, path, name, vshape, 1, FFNET_HINT, &t->norm_weight));
    snprintf(name, sizeof name, "%s.bias", l->norm);
    CLS_TRY(cls_weights_expect(w, path, name, vshape, 1, FFNET_HINT, &t->norm_bias));
fail:
    return status;
}

/* Whether name is one of the network's tensors, or an instance norm's running statistics,
 * which pytorch/examples deletes before loading with the same pattern. */
static bool known_tensor(const char *name, const cls_ffnet_layer *layers, size_t count)
{
    char want[CLS_WEIGHT_NAME_MAX];
    for (size_t i = 0; i < count; i++) {
        static const char *const conv_parts[] = {"conv2d.weight", "conv2d.bias"};
        static const char *const norm_parts[] = {"weight", "bias"};
        for (int p = 0; p < 2; p++) {
            snprintf(want, sizeof want, "%s.%s", layers[i].conv, conv_parts[p]);
            if (strcmp(name, want) == 0)
                return true;
            if (!layers[i].norm)
                continue;
            snprintf(want, sizeof want, "%s.%s", layers[i].norm, norm_parts[p]);
            if (strcmp(name, want) == 0)
                return true;
        }
    }
    regex_t running;
    if (regcomp(&running, "in[0-9]+\\.running_(mean|var)$", REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    const bool ignored = regexec(&running, name, 0, NULL, 0) == 0;
    regfree(&running);
    return ignored;
}

static cls_status detect(const cls_weights *w, const char *path)
{
    if (cls_weights_find(w, "conv1.conv2d.weight"))
        return CLS_OK;
    if (cls_weights_find(w, "features.0.weight"))
        return cls_error(CLS_ERR_WEIGHTS_MISMATCH,
                         "%s: holds VGG weights (features.0.weight), the loss network of the "
                         "optimisation; `clstyle stylize` needs a fast-style transformer model "
                         "(pytorch/examples' candy.pth, ..., or one `clstyle train` wrote); use "
                         "VGG weights with `clstyle -m FILE -c CONTENT -s STYLE`",
                         path);
    return cls_error(CLS_ERR_WEIGHTS_MISMATCH,
                     "%s: holds %zu tensors but no conv1.conv2d.weight; %s", path,
                     cls_weights_count(w), FFNET_HINT);
}

cls_status cls_ffnet_open_checked(const char *path, cls_weights **w)
{
    cls_status status = CLS_OK;
    size_t count;
    layer_tensors t;
    const cls_ffnet_layer *layers = cls_ffnet_layers(&count);
    CLS_TRY(cls_weights_open(path, w));
    CLS_TRY(detect(*w, path));
    for (size_t i = 0; i < count; i++)
        CLS_TRY(find_layer(*w, path, &layers[i], &t));
    for (size_t i = 0; i < cls_weights_count(*w); i++) {
        const char *name = cls_weights_at(*w, i)->name;
        if (!known_tensor(name, layers, count))
            return cls_error(CLS_ERR_WEIGHTS_MISMATCH,
                             "%s: unknown tensor %s: TransformerNet has no such parameter (is "
                             "this a model of another network?)",
                             path, name);
    }
fail:
    return status;
}

static cls_status upload(cls_ffnet *net, cls_weights *w, const cls_weight_tensor *t, float *host,
                         cl_mem *out)
{
    cls_status status = cls_weights_upload(net->ctx, w, t, t->name, host, out);
    if (status == CLS_OK)
        net->device_bytes += t->count * sizeof(float);
    return status;
}

static cls_status load_layer(cls_ffnet *net, cls_weights *w, size_t i, float *host)
{
    cls_status status = CLS_OK;
    layer_tensors t;
    cls_ffnet_params *p = &net->params[i];
    CLS_TRY(find_layer(w, net->path, &net->layers[i], &t));
    CLS_TRY(upload(net, w, t.weight, host, &p->weight));
    CLS_TRY(upload(net, w, t.bias, host, &p->bias));
    if (t.norm_weight) {
        CLS_TRY(upload(net, w, t.norm_weight, host, &p->norm_weight));
        CLS_TRY(upload(net, w, t.norm_bias, host, &p->norm_bias));
    }
fail:
    return status;
}

cls_status cls_ffnet_alloc(cls_ctx *ctx, cls_ffnet **out, float **host)
{
    cls_status status = CLS_OK;
    *host = NULL;
    cls_ffnet *net = calloc(1, sizeof *net);
    CLS_CHECK_ALLOC(net, "a transformer network");
    net->ctx = ctx;
    net->layers = cls_ffnet_layers(&net->layer_count);
    net->params = calloc(net->layer_count, sizeof *net->params);
    CLS_CHECK_ALLOC(net->params, "the network's layer table");
    *host = malloc(128 * 128 * 9 * sizeof **host); /* the largest convolution */
    CLS_CHECK_ALLOC(*host, "a weight staging buffer");
fail:
    *out = net;
    return status;
}

cls_status cls_ffnet_load(cls_ctx *ctx, const char *path, cls_ffnet **out)
{
    cls_status status = CLS_OK;
    cls_weights *w = NULL;
    float *host = NULL;
    *out = NULL;
    cls_ffnet *net = NULL;
    CLS_TRY(cls_ffnet_open_checked(path, &w)); /* every shape before any upload */
    CLS_TRY(cls_ffnet_alloc(ctx, &net, &host));
    snprintf(net->path, sizeof net->path, "%s", path);
    net->format = cls_weights_get_format(w);
    for (size_t i = 0; i < net->layer_count; i++)
        CLS_TRY(load_layer(net, w, i, host));
    CLS_CHECK_CL(clFinish(ctx->queue), "finishing the weight upload");
    *out = net;
    net = NULL;
fail:
    free(host);
    cls_weights_close(w);
    cls_ffnet_destroy(net);
    return status;
}

cls_status cls_ffnet_check(const char *path)
{
    cls_weights *w = NULL;
    cls_status status = cls_ffnet_open_checked(path, &w);
    cls_weights_close(w);
    return status;
}

size_t cls_ffnet_device_bytes(const cls_ffnet *net)
{
    return net->device_bytes;
}

void cls_ffnet_destroy(cls_ffnet *net)
{
    if (!net)
        return;
    cls_ffnet_plan_release(&net->plan);
    for (size_t i = 0; net->params && i < net->layer_count; i++) {
        const cls_ffnet_params *p = &net->params[i];
        const cl_mem buffers[] = {p->weight,    p->bias,     p->norm_weight,
                                  p->norm_bias, p->winograd, p->flipped};
        for (size_t b = 0; b < sizeof buffers / sizeof buffers[0]; b++)
            if (buffers[b])
                clReleaseMemObject(buffers[b]);
    }
    free(net->params);
    free(net);
}
