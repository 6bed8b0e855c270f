/* Turning a decoded image upright by its EXIF orientation (TIFF 6.0 / EXIF 2.3 tag 0x0112:
 * where the stored rows and columns go), the same transforms as PIL's exif_transpose. */
#include "io/io_internal.h"

#include <string.h>

/* The stored pixel (*sx, *sy) shown at (x, y) of the upright image, for a stored image of
 * width w and height h. */
static void source_of(int orientation, int x, int y, int w, int h, int *sx, int *sy)
{
    switch (orientation) {
    case 2: *sx = w - 1 - x, *sy = y; break;         /* mirrored left-right */
    case 3: *sx = w - 1 - x, *sy = h - 1 - y; break; /* rotated 180 */
    case 4: *sx = x, *sy = h - 1 - y; break;         /* mirrored top-bottom */
    case 5: *sx = y, *sy = x; break;                 /* transposed */
    case 6: *sx = y, *sy = h - 1 - x; break;         /* to be rotated 90 clockwise */
    case 7: *sx = w - 1 - y, *sy = h - 1 - x; break; /* transversed */
    case 8: *sx = w - 1 - y, *sy = x; break;         /* to be rotated 90 anticlockwise */
    default: *sx = x, *sy = y; break;
    }
}

cls_status cls_image_orient(cls_image *image, int orientation)
{
    if (orientation < 2 || orientation > 8)
        return CLS_OK;
    bool swap = orientation >= 5;
    int w = image->width, h = image->height;
    cls_image upright;
    cls_status status = cls_image_alloc(&upright, swap ? h : w, swap ? w : h);
    if (status != CLS_OK)
        return status;
    for (int y = 0; y < upright.height; y++) {
        for (int x = 0; x < upright.width; x++) {
            int sx, sy;
            source_of(orientation, x, y, w, h, &sx, &sy);
            memcpy(upright.pixels + ((size_t)y * upright.width + x) * 3,
                   image->pixels + ((size_t)sy * w + sx) * 3, 3 * sizeof(float));
        }
    }
    cls_image_free(image);
    *image = upright;
    return CLS_OK;
}
