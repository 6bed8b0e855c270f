/* A VGG model on the device: the weights of every convolution, read from a weight file,
 * validated against the layer table and uploaded once. */
#ifndef CLS_NET_MODEL_H
#define CLS_NET_MODEL_H

#include "net/vgg.h"
#include "weights/weights.h"
#include "ops/conv.h"
#include "runtime/context.h"

typedef struct cls_model_layer {
    cl_mem weight; /* [cout][cin][3][3], convolutions only */
    cl_mem bias;   /* [cout] */
    /* Made on first use (cls_model_prepare_conv), only for the algorithm a network chooses: */
    cl_mem flipped;  /* [cin][cout][3][3] rotated: the direct kernel's backward pass */
    cl_mem winograd; /* [36][cout][cin] = G g G^T: both Winograd passes */
} cls_model_layer;

struct cls_model {
    cls_ctx *ctx;
    cls_vgg_arch arch;
    const cls_vgg_layer *layers;
    size_t layer_count;
    cls_model_layer *params; /* one per layer; NULL buffers for relu and pool */
    cls_weights_format format;
    size_t device_bytes;
    char path[4096];
};

/* cls_model_load (include/clstyle.h) recognises VGG-19 or VGG-16 from the tensors a file
 * holds; CLS_ERR_WEIGHTS_MISMATCH names the tensor and the expected and actual shapes. */

/* Makes the derived weights convolution `layer` needs for algo (flipped weights for the
 * direct backward pass, transformed weights for Winograd), once; they are kept until the
 * model is destroyed and counted in device_bytes. */
cls_status cls_model_prepare_conv(cls_model *m, size_t layer, cls_conv_algo algo);

/* The bytes cls_model_prepare_conv(m, layer, algo) would allocate now (0 when done). */
size_t cls_model_prepare_bytes(const cls_model *m, size_t layer, cls_conv_algo algo);

/* Which network a weight file holds, from its tensor names and shapes. */
cls_status cls_model_detect_arch(const cls_weights *w, const char *path, cls_vgg_arch *arch);

#endif
