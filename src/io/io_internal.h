/* What the files of src/io share: the codecs behind cls_image_read/write, the growable byte
 * buffer they encode into, EXIF orientation, atomic file writing and sample conversion. */
#ifndef CLS_IO_IO_INTERNAL_H
#define CLS_IO_IO_INTERNAL_H

#include "io/io.h"
#include "runtime/file_atomic.h"

#include <stddef.h>
#include <stdint.h>

/* Files larger than this are refused before reading (CLS_ERR_IMAGE_TOO_LARGE). */
#define CLS_IO_MAX_FILE_BYTES ((size_t)1 << 30)

/* A growable byte buffer: the encoders write into one, cls_write_file_atomic writes it out. */
typedef struct cls_bytes {
    uint8_t *data;
    size_t size, capacity;
} cls_bytes;

/* Appends size bytes; false (buffer unchanged) when memory runs out. */
bool cls_bytes_append(cls_bytes *bytes, const void *data, size_t size);
void cls_bytes_free(cls_bytes *bytes);

/* The whole of a regular file (CLS_ERR_IO naming path and the reason). */
cls_status cls_read_file_bytes(const char *path, cls_bytes *out);

/* Decoders of a whole file in memory; name is the path for messages. The image is upright
 * (EXIF orientation applied) and alpha is composited over white. */
cls_status cls_png_decode(const uint8_t *data, size_t size, const char *name,
                          const cls_read_options *options, cls_image *image);
cls_status cls_jpeg_decode(const uint8_t *data, size_t size, const char *name,
                           const cls_read_options *options, cls_image *image);

/* Encoders into out (appended to); depth 8 or 16, quality 1..100. */
cls_status cls_png_encode(const cls_image *image, int depth, cls_bytes *out);
cls_status cls_jpeg_encode(const cls_image *image, int quality, cls_bytes *out);

/* The EXIF Orientation tag (0x0112) of a TIFF-structured EXIF block (starting with "II*\0"
 * or "MM\0*", as after the "Exif\0\0" of a JPEG APP1 segment or in a PNG eXIf chunk):
 * 1..8, or 1 when absent, malformed or out of range. Reads only IFD0, every access
 * bounds-checked. */
int cls_exif_orientation(const uint8_t *tiff, size_t size);

/* Applies EXIF orientation 2..8 so the image is upright (1: nothing to do). */
cls_status cls_image_orient(cls_image *image, int orientation);

/* The pixel limit in effect (0 in the options means the default). */
static inline uint64_t cls_max_pixels(const cls_read_options *options)
{
    return options->max_pixels ? options->max_pixels : 100000000;
}

/* CLS_ERR_IMAGE_TOO_LARGE when a width x height image (from the header of name) is over
 * the pixel limit, so decoders refuse it before allocating anything. */
/* Refuses a file whose compressed image data (`data_bytes`) is too small to hold the
 * `needed_bits` its header promises even at the format's best compression, before any pixel
 * buffer is allocated: a truncated or forged file declaring a huge image. */
cls_status cls_check_data_bound(const char *name, uint64_t width, uint64_t height,
                                uint64_t data_bytes, uint64_t capacity_bits, uint64_t needed_bits);

cls_status cls_check_pixel_limit(const char *name, uint64_t width, uint64_t height,
                                 const cls_read_options *options);

/* 0..255 float to an 8- or 16-bit sample: clamped, rounded to nearest, NaN to 0. */
static inline uint8_t cls_sample_to_u8(float v)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= 255.0f)
        return 255;
    return (uint8_t)(v + 0.5f);
}

static inline uint16_t cls_sample_to_u16(float v)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= 255.0f)
        return 65535;
    return (uint16_t)((double)v * 257.0 + 0.5);
}

#endif
