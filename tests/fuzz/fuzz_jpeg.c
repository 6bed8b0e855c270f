/* libFuzzer target: JPEG files through cls_image_decode, the decoder behind the CLI's image
 * reading (libjpeg-turbo, CMYK/YCCK conversion, the EXIF orientation parser and rotation). */
#include "io/io.h"

#include <string.h>

/* Small enough that a hostile header cannot make a run allocate gigabytes (4 Mpx of floats
 * is 48 MiB); the same check guards the CLI's default of 100 Mpx. */
enum { MAX_PIXELS = 1 << 22 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff)
        return 0; /* fuzz_png has the other format; the dispatch is trivial */
    bool had_alpha = false;
    cls_read_options options = cls_read_options_default();
    options.max_pixels = MAX_PIXELS;
    options.had_alpha = &had_alpha;
    cls_image image;
    if (cls_image_decode(data, size, "fuzz.jpg", &options, &image) == CLS_OK)
        cls_image_free(&image);
    else
        (void)strlen(cls_last_error());
    return 0;
}
