/* Host images (interleaved RGB, 0..255) to and from the network's input tensor
 * (1 x 3 x H x W, RGB minus the ImageNet mean). */
#ifndef CLS_TRANSFER_IMAGE_TENSOR_H
#define CLS_TRANSFER_IMAGE_TENSOR_H

#include "runtime/context.h"

/* The ImageNet mean in 0..255 units, R G B. */
extern const float cls_imagenet_mean[3];

/* Uploads image into tensor (3 * width * height floats). */
cls_status cls_image_to_tensor(cls_ctx *ctx, const cls_image *image, cl_mem tensor);

/* The same with offset[c] subtracted from channel c instead of the ImageNet mean (zeros:
 * the image as it is, 0..255). */
cls_status cls_image_to_planes(cls_ctx *ctx, const cls_image *image, const float offset[3],
                               cl_mem tensor);

/* Downloads tensor into image (already allocated with the same size): x + mean, clamped
 * to 0..255. */
cls_status cls_tensor_to_image(cls_ctx *ctx, cl_mem tensor, cls_image *image);
/* The same from a planar tensor already on the host. */
void cls_planar_to_image(const float *planar, cls_image *image);

#endif
