/* `clstyle info MODEL`: what a weight file holds and which network it supports. */
#include "cli/cli.h"
#include "ffnet/ffnet.h"
#include "net/model.h"
#include "weights/weights.h"

#include <stdio.h>
#include <string.h>

static const char *dtype_name(cls_dtype dtype)
{
    switch (dtype) {
    case CLS_DTYPE_F32: return "F32";
    case CLS_DTYPE_F16: return "F16";
    case CLS_DTYPE_BF16: return "BF16";
    }
    return "?";
}

static void print_shape(const cls_weight_tensor *t)
{
    char buf[96];
    cls_weights_shape_text(t->shape, t->ndim, buf, sizeof buf);
    printf("%-20s", buf);
}

static void print_layer_tensors(const cls_weights *w, cls_vgg_arch arch, size_t *used)
{
    size_t count;
    const cls_vgg_layer *layers = cls_vgg_layers(arch, &count);
    *used = 0;
    for (size_t i = 0; i < count; i++) {
        if (layers[i].kind != CLS_LAYER_CONV)
            continue;
        for (int b = 0; b < 2; b++) {
            char name[64];
            snprintf(name, sizeof name, "features.%d.%s", layers[i].torch_index,
                     b ? "bias" : "weight");
            const cls_weight_tensor *t = cls_weights_find(w, name);
            printf("  %-22s", name);
            if (t) {
                print_shape(t);
                printf("%-6s%s\n", dtype_name(t->dtype), layers[i].name);
                (*used)++;
            } else {
                printf("%-20s      %s\n", "(missing)", layers[i].name);
            }
        }
    }
}

/* A transformer network: every tensor of the file, in its order, with the layer it belongs
 * to; the running statistics old PyTorch versions saved are listed as ignored. */
static int transformer_info(cls_weights *w, const char *path)
{
    cls_weights *checked = NULL;
    cls_status status = cls_ffnet_open_checked(path, &checked);
    cls_weights_close(checked);
    if (status != CLS_OK)
        return cls_cli_fail(status);
    size_t count, ignored = 0;
    cls_ffnet_layers(&count);
    printf("network: transformer (pytorch/examples fast_neural_style TransformerNet, %zu "
           "convolutions); for `clstyle stylize -m`:\n",
           count);
    for (size_t i = 0; i < cls_weights_count(w); i++) {
        const cls_weight_tensor *t = cls_weights_at(w, i);
        const bool running = strstr(t->name, ".running_") != NULL;
        printf("  %-26s", t->name);
        print_shape(t);
        printf("%-6s%s\n", dtype_name(t->dtype), running ? "ignored" : "");
        ignored += running;
    }
    printf("%zu tensors used, %zu ignored (instance-norm running statistics)\n",
           cls_weights_count(w) - ignored, ignored);
    return CLS_EXIT_OK;
}

int cls_cmd_info(const char *path)
{
    cls_weights *w = NULL;
    cls_status status = cls_weights_open(path, &w);
    if (status != CLS_OK)
        return cls_cli_fail(status);
    cls_vgg_arch arch;
    printf("file:    %s\nformat:  %s\ntensors: %zu\n", path,
           cls_weights_format_name(cls_weights_get_format(w)), cls_weights_count(w));
    if (cls_weights_find(w, "conv1.conv2d.weight")) {
        int code = transformer_info(w, path);
        cls_weights_close(w);
        return code;
    }
    status = cls_model_detect_arch(w, path, &arch);
    if (status != CLS_OK) {
        cls_weights_close(w);
        return cls_cli_fail(status);
    }
    printf("network: %s (torchvision layout); tensors clstyle uses:\n", cls_vgg_arch_name(arch));
    size_t used = 0;
    print_layer_tensors(w, arch, &used);
    printf("%zu tensors used, %zu ignored (e.g. the classifier; never read)\n", used,
           cls_weights_count(w) - used);
    cls_weights_close(w);
    return CLS_EXIT_OK;
}
