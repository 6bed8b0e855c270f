/* A transformer network run for training: the forward pass over a batch keeps what the
 * backward pass needs (every layer's input and convolution output, the instance norms'
 * statistics), and the backward pass turns the gradient of the output into the gradients of
 * every weight. */
#ifndef CLS_FFNET_TAPE_H
#define CLS_FFNET_TAPE_H

#include "ffnet/ffnet.h"

/* The gradients of one layer's parameters, shaped as cls_ffnet_params. */
typedef struct cls_ffnet_grads {
    cl_mem weight, bias, norm_weight, norm_bias; /* norm's NULL when the layer has none */
} cls_ffnet_grads;

typedef struct cls_ffnet_tape {
    cls_ffnet *net;
    int batch, width, height; /* planned for: at most this batch, exactly this size */
    int n;                    /* the batch of the last forward (n <= batch) */
    cl_mem input;             /* the last forward's input (the caller's buffer) */
    cls_ffnet_step *steps;    /* one per layer, for n images */
    cl_mem *outputs;          /* per layer: its output, the next layer's input */
    cl_mem *convs;            /* per layer with a norm: its convolution output */
    cl_mem *stats;            /* per layer with a norm: [n][c][2] mean and 1 / std */
    cl_mem padded;            /* the largest padded input (forward, and again backward) */
    cl_mem grad[2];           /* gradients of layer outputs, in turn */
    cl_mem grad_padded;       /* the gradient of a padded input */
    cl_mem grad_residual;     /* a residual block's output gradient, kept for its input */
    cl_mem grad_bordered;     /* a 3x3 stride-1 layer's output gradient with a zero border */
    cls_ffnet_grads *grads;   /* per layer, written by cls_ffnet_tape_backward */
    bool weights_changed;     /* the Winograd copies need remaking before the next forward */
    size_t device_bytes;
} cls_ffnet_tape;

/* The device bytes a tape for batch images of width x height needs (buffers and gradients). */
cls_status cls_ffnet_tape_bytes(const cls_ffnet *net, int batch, int width, int height,
                                size_t *bytes);

/* Plans and allocates a tape for up to batch images of width x height (multiples of
 * CLS_FFNET_SIZE_MULTIPLE). */
cls_status cls_ffnet_tape_create(cls_ffnet *net, int batch, int width, int height,
                                 cls_ffnet_tape **out);
void cls_ffnet_tape_destroy(cls_ffnet_tape *tape);

/* Runs n <= batch images (input [n][3][height][width]) through the network; the output
 * [n][3][height][width], not clamped, is *output (a tape buffer, valid until the next call). */
cls_status cls_ffnet_tape_forward(cls_ffnet_tape *tape, int n, cl_mem input, cl_mem *output);

/* From the gradient of the last forward's output, writes every parameter's gradient into
 * tape->grads. grad_output is read and may be overwritten. */
cls_status cls_ffnet_tape_backward(cls_ffnet_tape *tape, cl_mem grad_output);

/* The number of parameter tensors (weight, bias, and the norms' weight and bias) and each one
 * in state_dict order: its name, element count and parameter and gradient buffers. */
typedef struct cls_ffnet_tensor {
    char name[64];
    size_t count;
    int ndim;
    int64_t shape[4];
    cl_mem *param, *grad; /* pointers into the network's and the tape's tables */
} cls_ffnet_tensor;

size_t cls_ffnet_tensor_count(const cls_ffnet *net);
void cls_ffnet_tensor_at(cls_ffnet *net, cls_ffnet_tape *tape, size_t index, cls_ffnet_tensor *out);

#endif
