/* The loss network of fast-style training (pytorch/examples fast_neural_style): VGG-16 on
 * images normalised as torchvision's weights expect, the content loss at relu2_2 against the
 * input batch's own features, the style loss of Gram matrices at relu1_2, relu2_2, relu3_3
 * and relu4_3 against the style image's, and the gradient of their weighted sum (with an
 * optional total variation term) with respect to the transformer's output. */
#ifndef CLS_TRAIN_LOSS_NET_H
#define CLS_TRAIN_LOSS_NET_H

#include "clstyle.h"
#include "net/net.h"

enum { CLS_LOSS_NET_TAPS = 4 };

typedef struct cls_loss_net_params {
    int batch, size;        /* images per step, each size x size */
    double content_weight;  /* of the mean squared relu2_2 difference */
    double style_weight;    /* of the sum over the taps of the mean squared Gram difference */
    double tv_weight;       /* of the summed squared neighbour differences of the output */
    const cls_image *style; /* at the size it is used */
} cls_loss_net_params;

typedef struct cls_loss_net cls_loss_net;

/* The style image's Gram matrices are computed here, on a network of its own size that is
 * released before the training network is planned. CLS_ERR_SHAPE when the style image or
 * the training size is too small for VGG-16's pooling layers up to relu4_3. */
cls_status cls_loss_net_create(cls_model *vgg16, const cls_loss_net_params *params,
                               cls_loss_net **out);
void cls_loss_net_destroy(cls_loss_net *ln);
size_t cls_loss_net_device_bytes(const cls_loss_net *ln);

/* The device bytes a loss network of params would take, without allocating. */
cls_status cls_loss_net_plan_bytes(const cls_model *vgg16, const cls_loss_net_params *params,
                                   size_t *bytes);

/* For n <= batch images: input x (the batch given to the transformer, [n][3][size][size],
 * 0..255) and output y, the transformer's. Computes the losses (read with
 * cls_loss_net_losses) and writes d(total)/dy into grad_y. */
cls_status cls_loss_net_evaluate(cls_loss_net *ln, int n, cl_mem x, cl_mem y, cl_mem grad_y);

/* The weighted losses of the last evaluation (blocking read). */
cls_status cls_loss_net_losses(cls_loss_net *ln, cls_train_losses *losses);

#endif
