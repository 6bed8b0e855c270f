/* A VGG network planned for one image size: the layers up to the deepest tap, their
 * activation buffers (sized once, reused by every evaluation), the forward pass to the
 * taps and the backward pass from tap gradients to the image gradient. Nothing is read
 * back to the host in between. */
#ifndef CLS_NET_NET_H
#define CLS_NET_NET_H

#include "net/model.h"
#include "ops/pool.h"
#include "ops/shape.h"

typedef struct cls_net cls_net;

typedef struct cls_net_config {
    int height, width;     /* of the image */
    cls_pool_kind pooling; /* max or average, for every pooling layer */
    const int *taps;       /* layer indices (cls_vgg_find) whose outputs are used */
    int tap_count;
    size_t work_scratch; /* bytes the caller's own operations take from the scratch slot
                            CLS_SCRATCH_WORK_A, which the Winograd layers share (the Gram
                            matrices' partial products); counted in the plan */
    int batch;           /* images run together (training batches); 0 counts as 1 */
} cls_net_config;

/* Plans and allocates. The memory needed is computed first: when it exceeds what the
 * device has (global memory or its largest allocation), CLS_ERR_OUT_OF_DEVICE_MEMORY says
 * how much is needed and that a smaller image size fits. */
cls_status cls_net_create(cls_model *model, const cls_net_config *config, cls_net **out);
void cls_net_destroy(cls_net *net);

/* Device bytes for activations and gradients, without allocating anything. */
cls_status cls_net_plan_bytes(const cls_model *model, const cls_net_config *config, size_t *bytes);
/* Has every conv layer of such a network measured for its algorithm (cls_conv3x3_select),
 * checking cancel between layers; *measured: how many layer shapes were timed (0: all known
 * from this run or the cache), or with dry_run would be. */
cls_status cls_net_select_algorithms(const cls_model *model, const cls_net_config *config,
                                     bool dry_run, cls_cancel_fn cancel, void *cancel_user,
                                     int *measured);
/* The derived weights (Winograd-transformed or flipped) such a network would still have to
 * add to the model: they are made when the first network needs them and kept. */
cls_status cls_net_derived_weight_bytes(const cls_model *model, const cls_net_config *config,
                                        size_t *bytes);
size_t cls_net_device_bytes(const cls_net *net);

/* From now on, runs the network on images of height x width, no larger either way than the
 * size it was planned for (so every buffer fits): the tiles of an image, whose sizes differ at
 * its edges. The convolution algorithms stay those of the planned size. CLS_ERR_SHAPE for a
 * larger size or one too small for a pooling layer. */
cls_status cls_net_resize(cls_net *net, int height, int width);

/* From now on, runs batch images at a time, at most the batch it was planned for (a short
 * last batch of a training epoch). */
cls_status cls_net_set_batch(cls_net *net, int batch);

/* Runs the network on image (batch x 3 x H x W, mean-subtracted RGB in 0..255 units, or
 * whatever normalisation the weights were trained with). */
cls_status cls_net_forward(cls_net *net, cl_mem image);

/* cls_net_forward through layer `last` only (a layer index up to the deepest tap): the taps
 * above it keep their previous outputs. */
cls_status cls_net_forward_to(cls_net *net, cl_mem image, int last);

/* The output of a tap layer after cls_net_forward, valid until the next forward. */
cls_status cls_net_tap(const cls_net *net, int layer, cl_mem *buffer, cls_shape *shape);

/* Called by the backward pass when it reaches a tap layer: add d(loss)/d(tap output) into
 * grad (which holds the gradient arriving from deeper layers; zeros at the deepest). */
typedef cls_status (*cls_tap_grad_fn)(void *user, int layer, cl_mem tap, cl_mem grad,
                                      cls_shape shape);

/* grad_image = d(loss)/d(image), from the tap gradients added by tap_grad. */
cls_status cls_net_backward(cls_net *net, cls_tap_grad_fn tap_grad, void *user, cl_mem grad_image);

#endif
