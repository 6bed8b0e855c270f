/* The VGG networks as tables: one row per layer (name, kind, channels), in torchvision's
 * order, so features.{index} names map straight onto rows. */
#ifndef CLS_NET_VGG_H
#define CLS_NET_VGG_H

#include <stddef.h>

typedef enum cls_vgg_arch {
    CLS_VGG19 = 0,
    CLS_VGG16 = 1,
} cls_vgg_arch;

typedef enum cls_layer_kind {
    CLS_LAYER_CONV, /* 3x3 convolution with bias; cin -> cout channels */
    CLS_LAYER_RELU,
    CLS_LAYER_POOL, /* 2x2 stride 2, max or average per run */
} cls_layer_kind;

typedef struct cls_vgg_layer {
    const char *name; /* "conv1_1", "relu1_1", "pool1", ... */
    cls_layer_kind kind;
    int cin, cout;   /* channels in and out (equal for relu and pool) */
    int torch_index; /* i of features.{i} in torchvision's model */
} cls_vgg_layer;

/* The layers of arch, in order; *count receives their number. */
const cls_vgg_layer *cls_vgg_layers(cls_vgg_arch arch, size_t *count);

/* "vgg19" or "vgg16". */
const char *cls_vgg_arch_name(cls_vgg_arch arch);

/* The row index of a layer name in arch, or -1. */
int cls_vgg_find(cls_vgg_arch arch, const char *name);

#endif
