/* The host image type: interleaved RGB floats in 0..255. */
#include "runtime/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

cls_status cls_image_alloc(cls_image *image, int width, int height)
{
    memset(image, 0, sizeof *image);
    if (width < 1 || height < 1 || (uint64_t)width * (uint64_t)height > (uint64_t)1 << 31)
        return cls_error(CLS_ERR_SHAPE, "image size %dx%d", width, height);
    image->pixels = calloc((size_t)width * (size_t)height * 3, sizeof *image->pixels);
    if (!image->pixels)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating a %dx%d image", width, height);
    image->width = width;
    image->height = height;
    return CLS_OK;
}

void cls_image_free(cls_image *image)
{
    if (!image)
        return;
    free(image->pixels);
    memset(image, 0, sizeof *image);
}
