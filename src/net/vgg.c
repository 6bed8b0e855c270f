/* VGG-19 and VGG-16 (Simonyan & Zisserman, configurations E and D), layer by layer. */
#include "net/vgg.h"

#include <string.h>

#define CONV(block, i, in, out, index)                                                             \
    {"conv" #block "_" #i, CLS_LAYER_CONV, in, out, index},                                        \
    {                                                                                              \
        "relu" #block "_" #i, CLS_LAYER_RELU, out, out, (index) + 1                                \
    }
#define POOL(block, channels, index)                                                               \
    {                                                                                              \
        "pool" #block, CLS_LAYER_POOL, channels, channels, index                                   \
    }

static const cls_vgg_layer vgg19[] = {
    CONV(1, 1, 3, 64, 0),     CONV(1, 2, 64, 64, 2),    POOL(1, 64, 4),
    CONV(2, 1, 64, 128, 5),   CONV(2, 2, 128, 128, 7),  POOL(2, 128, 9),
    CONV(3, 1, 128, 256, 10), CONV(3, 2, 256, 256, 12), CONV(3, 3, 256, 256, 14),
    CONV(3, 4, 256, 256, 16), POOL(3, 256, 18),         CONV(4, 1, 256, 512, 19),
    CONV(4, 2, 512, 512, 21), CONV(4, 3, 512, 512, 23), CONV(4, 4, 512, 512, 25),
    POOL(4, 512, 27),         CONV(5, 1, 512, 512, 28), CONV(5, 2, 512, 512, 30),
    CONV(5, 3, 512, 512, 32), CONV(5, 4, 512, 512, 34), POOL(5, 512, 36),
};

static const cls_vgg_layer vgg16[] = {
    CONV(1, 1, 3, 64, 0),     CONV(1, 2, 64, 64, 2),    POOL(1, 64, 4),
    CONV(2, 1, 64, 128, 5),   CONV(2, 2, 128, 128, 7),  POOL(2, 128, 9),
    CONV(3, 1, 128, 256, 10), CONV(3, 2, 256, 256, 12), CONV(3, 3, 256, 256, 14),
    POOL(3, 256, 16),         CONV(4, 1, 256, 512, 17), CONV(4, 2, 512, 512, 19),
    CONV(4, 3, 512, 512, 21), POOL(4, 512, 23),         CONV(5, 1, 512, 512, 24),
    CONV(5, 2, 512, 512, 26), CONV(5, 3, 512, 512, 28), POOL(5, 512, 30),
};

const cls_vgg_layer *cls_vgg_layers(cls_vgg_arch arch, size_t *count)
{
    if (arch == CLS_VGG16) {
        *count = sizeof vgg16 / sizeof vgg16[0];
        return vgg16;
    }
    *count = sizeof vgg19 / sizeof vgg19[0];
    return vgg19;
}

const char *cls_vgg_arch_name(cls_vgg_arch arch)
{
    return arch == CLS_VGG16 ? "vgg16" : "vgg19";
}

int cls_vgg_find(cls_vgg_arch arch, const char *name)
{
    size_t count;
    const cls_vgg_layer *layers = cls_vgg_layers(arch, &count);
    for (size_t i = 0; i < count; i++)
        if (strcmp(layers[i].name, name) == 0)
            return (int)i;
    return -1;
}
