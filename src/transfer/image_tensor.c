/* Conversions between host images and input tensors. */
#include "transfer/image_tensor.h"
#include "ops/elementwise.h"

#include <stdlib.h>

const float cls_imagenet_mean[3] = {123.675f, 116.28f, 103.53f};

cls_status cls_image_to_tensor(cls_ctx *ctx, const cls_image *image, cl_mem tensor)
{
    return cls_image_to_planes(ctx, image, cls_imagenet_mean, tensor);
}

cls_status cls_image_to_planes(cls_ctx *ctx, const cls_image *image, const float offset[3],
                               cl_mem tensor)
{
    const size_t plane = (size_t)image->width * (size_t)image->height;
    float *planar = malloc(3 * plane * sizeof *planar);
    if (!planar)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "converting an image");
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            planar[c * plane + i] = image->pixels[3 * i + c] - offset[c];
    cl_int err = clEnqueueWriteBuffer(ctx->queue, tensor, CL_TRUE, 0, 3 * plane * sizeof *planar,
                                      planar, 0, NULL, NULL);
    free(planar);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "uploading an image");
}

static float clamp255(float v)
{
    return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
}

void cls_planar_to_image(const float *planar, cls_image *image)
{
    const size_t plane = (size_t)image->width * (size_t)image->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            image->pixels[3 * i + c] = clamp255(planar[c * plane + i] + cls_imagenet_mean[c]);
}

cls_status cls_tensor_to_image(cls_ctx *ctx, cl_mem tensor, cls_image *image)
{
    const size_t plane = (size_t)image->width * (size_t)image->height;
    float *planar = malloc(3 * plane * sizeof *planar);
    if (!planar)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "converting an image");
    cls_status status = cls_read_floats(ctx, tensor, 0, 3 * plane, planar);
    if (status == CLS_OK)
        cls_planar_to_image(planar, image);
    free(planar);
    return status;
}
