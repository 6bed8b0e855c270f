/* Parsing layer lists and their weights. */
#include "transfer/layers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* "conv1_1, relu1_1, ..." of the whole table, for error messages. */
static void valid_names(cls_vgg_arch arch, char *buf, size_t size)
{
    size_t count, pos = 0;
    const cls_vgg_layer *layers = cls_vgg_layers(arch, &count);
    buf[0] = '\0';
    for (size_t i = 0; i < count && pos < size; i++)
        pos += (size_t)snprintf(buf + pos, size - pos, i ? ", %s" : "%s", layers[i].name);
}

static cls_status unknown_layer(cls_vgg_arch arch, const char *what, const char *name)
{
    char names[1024];
    valid_names(arch, names, sizeof names);
    return cls_error(CLS_ERR_INVALID_ARGUMENT, "unknown layer \"%s\" in %s; %s has: %s", name, what,
                     cls_vgg_arch_name(arch), names);
}

static cls_status normalise(const double *weights, int weight_count, const char *what,
                            cls_layer_list *out)
{
    if (weights && weight_count != out->count)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "%d weights given for %d %s", weight_count,
                         out->count, what);
    double sum = 0.0;
    for (int i = 0; i < out->count; i++) {
        double w = weights ? weights[i] : 1.0;
        if (!isfinite(w) || w < 0.0)
            return cls_error(CLS_ERR_INVALID_ARGUMENT,
                             "weight %g of %s is not a finite "
                             "non-negative number",
                             w, what);
        out->weight[i] = w;
        sum += w;
    }
    if (sum <= 0.0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "the weights of %s sum to 0", what);
    for (int i = 0; i < out->count; i++)
        out->weight[i] /= sum;
    return CLS_OK;
}

cls_status cls_layer_list_parse(cls_vgg_arch arch, const char *names, const double *weights,
                                int weight_count, const char *what, cls_layer_list *out)
{
    out->count = 0;
    const char *p = names ? names : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        char name[64];
        if (len == 0 || len >= sizeof name)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "malformed %s list \"%s\"", what, names);
        memcpy(name, p, len);
        name[len] = '\0';
        int index = cls_vgg_find(arch, name);
        if (index < 0)
            return unknown_layer(arch, what, name);
        for (int i = 0; i < out->count; i++)
            if (out->index[i] == index)
                return cls_error(CLS_ERR_INVALID_ARGUMENT, "layer %s appears twice in %s", name,
                                 what);
        if (out->count == CLS_MAX_LAYER_LIST)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "too many %s", what);
        out->index[out->count++] = index;
        p += len + (p[len] == ',');
        if (p[-1] == ',' && !*p)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "malformed %s list \"%s\"", what, names);
    }
    if (out->count == 0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "no %s given", what);
    return normalise(weights, weight_count, what, out);
}
