/* Keeping the content's colours: the result's luminance with the content's chroma, in
 * YCbCr (ITU-R BT.601, full range, as JPEG uses). */
#include "runtime/error.h"

static float clamp255(float v)
{
    return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
}

cls_status cls_image_original_colors(const cls_image *content, cls_image *image)
{
    if (!content || !image || content->width != image->width ||
        content->height != image->height)
        return cls_error(CLS_ERR_SHAPE, "original colours: the content image must have the "
                                        "result's size");
    const size_t pixels = (size_t)image->width * (size_t)image->height;
    for (size_t i = 0; i < pixels; i++) {
        const float *c = content->pixels + 3 * i;
        float *p = image->pixels + 3 * i;
        const float y = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
        const float cb = -0.168736f * c[0] - 0.331264f * c[1] + 0.5f * c[2];
        const float cr = 0.5f * c[0] - 0.418688f * c[1] - 0.081312f * c[2];
        p[0] = clamp255(y + 1.402f * cr);
        p[1] = clamp255(y - 0.344136f * cb - 0.714136f * cr);
        p[2] = clamp255(y + 1.772f * cb);
    }
    return CLS_OK;
}
