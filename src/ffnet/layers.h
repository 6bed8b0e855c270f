/* The layer table of the transformer network of pytorch/examples fast_neural_style
 * (Johnson et al., "Perceptual Losses for Real-Time Style Transfer"), one row per
 * convolution with the padding, upsampling, normalisation and residual around it. */
#ifndef CLS_FFNET_LAYERS_H
#define CLS_FFNET_LAYERS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cls_ffnet_residual {
    CLS_FFNET_RESIDUAL_NONE = 0,
    CLS_FFNET_RESIDUAL_SAVE, /* this layer's input is a residual block's input */
    CLS_FFNET_RESIDUAL_ADD,  /* the block's input is added to this layer's output */
} cls_ffnet_residual;

typedef struct cls_ffnet_layer {
    const char *conv; /* module of the convolution: "<conv>.conv2d.weight" / ".bias" */
    const char *norm; /* the InstanceNorm2d after it: "<norm>.weight" / ".bias"; NULL: none */
    int cin, cout;
    int kernel;   /* odd; the input is reflection-padded by kernel / 2 */
    int stride;   /* 1 or 2 */
    int upsample; /* nearest-neighbour factor before the padding (1: none) */
    bool relu;    /* after the norm */
    cls_ffnet_residual residual;
} cls_ffnet_layer;

/* The floats of a layer's parameters: the convolution's weight and bias, the norm's weight and
 * bias. */
size_t cls_ffnet_layer_param_count(const cls_ffnet_layer *l);

/* TransformerNet's 16 convolutions in order. */
const cls_ffnet_layer *cls_ffnet_layers(size_t *count);

/* The input side must be a multiple of this (the two stride-2 convolutions, undone by the
 * two upsamplings); other sizes are padded by reflection and cropped. */
enum { CLS_FFNET_SIZE_MULTIPLE = 4, CLS_FFNET_MIN_SIDE = 8 };

#endif
