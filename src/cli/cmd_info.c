/* `clstyle info MODEL`: what a weight file holds and which network it supports. */
#include "cli/cli.h"
#include "net/model.h"
#include "weights/weights.h"

#include <stdio.h>

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
    int pos = snprintf(buf, sizeof buf, "[");
    for (int d = 0; d < t->ndim && pos < (int)sizeof buf; d++)
        pos += snprintf(buf + pos, sizeof buf - (size_t)pos, d ? ", %lld" : "%lld",
                        (long long)t->shape[d]);
    if (pos < (int)sizeof buf)
        snprintf(buf + pos, sizeof buf - (size_t)pos, "]");
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

int cls_cmd_info(const char *path)
{
    cls_weights *w = NULL;
    cls_status status = cls_weights_open(path, &w);
    if (status != CLS_OK)
        return cls_cli_fail(status);
    cls_vgg_arch arch;
    printf("file:    %s\nformat:  %s\ntensors: %zu\n", path,
           cls_weights_format_name(cls_weights_get_format(w)), cls_weights_count(w));
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
