/* A transformer network on the device (cls_ffnet of include/clstyle.h): its weights, and
 * the buffers of the last image size it ran at, kept for the next image of that size. */
#ifndef CLS_FFNET_FFNET_H
#define CLS_FFNET_FFNET_H

#include "ffnet/layers.h"
#include "ops/conv.h"
#include "ops/norm.h"
#include "ops/shape.h"
#include "runtime/context.h"
#include "weights/weights.h"

typedef struct cls_ffnet_params {
    cl_mem weight, bias;           /* the convolution: [cout][cin][k][k], [cout] */
    cl_mem norm_weight, norm_bias; /* the instance norm's gamma and beta, [cout]; or NULL */
    cl_mem winograd;               /* [36][cout][cin], made when a 3x3 layer first runs so */
    cl_mem flipped;                /* [cin][cout][3][3] rotated: a direct 3x3 layer's backward
                                      pass in training (ffnet/tape.c) */
} cls_ffnet_params;

/* One layer's shapes at a given image size and how its convolution runs. */
typedef struct cls_ffnet_step {
    cls_shape in;     /* the layer's input */
    cls_shape padded; /* upsampled and reflection-padded: what the convolution reads */
    cls_shape conv;   /* what the convolution writes (with a 1-pixel border for the 3x3
                         "same" kernels run on the padded input) */
    cls_shape out;    /* the layer's output */
    bool same3x3;     /* 3x3 stride 1: the VGG convolution kernels, with a border to drop */
    cls_conv_algo algo;
} cls_ffnet_step;

/* The floats of each buffer a plan needs: the largest of its kind over the layers. */
typedef struct cls_ffnet_sizes {
    size_t image, padded, conv, act;
    size_t scratch_bytes[2]; /* the Winograd scratch slots (CLS_SCRATCH_WORK_A and _B) */
    size_t derived_bytes;    /* Winograd-transformed weights not made yet */
} cls_ffnet_sizes;

/* The buffers for one image size. */
typedef struct cls_ffnet_plan {
    int width, height;     /* the image as given */
    int width4, height4;   /* padded to a multiple of CLS_FFNET_SIZE_MULTIPLE */
    cls_ffnet_step *steps; /* one per layer */
    cl_mem image;          /* 1 x 3 x height4 x width4: the input, then the output */
    cl_mem padded, conv;   /* the largest padded input and convolution output */
    cl_mem act[2];         /* layer outputs, in turn */
    float *host;           /* 3 x height4 x width4 staging for upload and download */
} cls_ffnet_plan;

struct cls_ffnet {
    cls_ctx *ctx;
    const cls_ffnet_layer *layers;
    size_t layer_count;
    cls_ffnet_params *params;
    size_t device_bytes; /* weights, and the derived ones made so far */
    cls_weights_format format;
    cls_ffnet_plan plan; /* width 0 until the first run */
    char path[4096];
};

/* A network of TransformerNet's layers without weights (*out, also on failure, for
 * cls_ffnet_destroy) and a host buffer as large as its largest weight tensor (*host, freed
 * by the caller). */
cls_status cls_ffnet_alloc(cls_ctx *ctx, cls_ffnet **out, float **host);

/* Opens a weight file and checks, before any value is read, that it holds exactly a
 * TransformerNet state_dict: every tensor present with its shape, nothing unknown (the
 * running_mean / running_var of the instance norms that old PyTorch versions saved are
 * allowed and ignored). On failure *w is left for the caller to close (may be NULL). */
cls_status cls_ffnet_open_checked(const char *path, cls_weights **w);

/* The shapes and algorithms of every layer for batch images of width x height (multiples of
 * CLS_FFNET_SIZE_MULTIPLE, at least CLS_FFNET_MIN_SIDE) into steps[layer_count], and the
 * sizes of the buffers a run at that size needs. */
cls_status cls_ffnet_plan_steps(const cls_ffnet *net, int batch, int width, int height,
                                cls_ffnet_step *steps, cls_ffnet_sizes *sizes);

/* The device bytes of everything in sizes. */
size_t cls_ffnet_sizes_bytes(const cls_ffnet_sizes *sizes);

void cls_ffnet_plan_release(cls_ffnet_plan *plan);

/* The region of a layer's convolution output its norm reads (inside the border of a 3x3
 * stride-1 layer's "same" output). */
cls_plane_view cls_ffnet_conv_view(const cls_ffnet_step *s);

/* The instance norm of layer i (which has one) from its convolution output conv into output,
 * adding residual where the layer ends a residual block. */
cls_instance_norm_args cls_ffnet_norm_args(const cls_ffnet *net, size_t i, const cls_ffnet_step *s,
                                           cl_mem conv, cl_mem residual, cl_mem output);

/* Layer i's convolution as step s plans it, from its padded input (a 3x3 stride-1 layer
 * writes a 1-pixel border around its output; see cls_ffnet_step). */
cls_status cls_ffnet_convolve(cls_ffnet *net, size_t i, const cls_ffnet_step *s, cl_mem input,
                              cl_mem output);

#endif
