/* Reading and writing image files: PNG (libpng) and JPEG (libjpeg-turbo), recognised by
 * content when reading and by extension when writing, into and from cls_image. */
#ifndef CLS_IO_IO_H
#define CLS_IO_IO_H

#include "runtime/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cls_read_options {
    uint64_t max_pixels; /* refuse images with more pixels, before allocating (0: 100 M) */
    bool *had_alpha;     /* when not NULL: set to whether some pixel was not opaque (alpha is
                            always composited over white) */
} cls_read_options;

cls_read_options cls_read_options_default(void);

/* Decodes a PNG or JPEG file into image (0..255 floats, EXIF orientation applied).
 * CLS_ERR_IO for unreadable files, CLS_ERR_IMAGE_FORMAT for corrupt, truncated or
 * unsupported ones, CLS_ERR_IMAGE_TOO_LARGE over max_pixels (or files over 1 GiB); the
 * message names the file and the problem. */
cls_status cls_image_read(const char *path, const cls_read_options *options, cls_image *image);

/* cls_image_read for a file already in memory (data[0..size)): the same recognition by
 * content, decoders, limits and errors; name stands for the path in messages. */
cls_status cls_image_decode(const uint8_t *data, size_t size, const char *name,
                            const cls_read_options *options, cls_image *image);

typedef struct cls_write_options {
    int png_depth;    /* 8 or 16 */
    int jpeg_quality; /* 1..100, default 95 */
} cls_write_options;

cls_write_options cls_write_options_default(void);

/* Encodes by the extension of path (.png, .jpg, .jpeg, any case) into a temporary file in
 * the same directory, then renames it over path: an existing file is replaced only by a
 * complete new one, and a failure leaves no partial file. Values are rounded and clamped
 * to the output depth. */
cls_status cls_image_write(const char *path, const cls_image *image,
                           const cls_write_options *options);

/* A cheap check before a long run that cls_image_write(path, ...) can succeed: the
 * extension is supported (CLS_ERR_INVALID_ARGUMENT) and a file can be created in the
 * directory of path (CLS_ERR_IO naming the directory and the reason); path itself is not
 * touched. */
cls_status cls_image_check_writable(const char *path);

/* Resizes with an antialiasing filter, each axis on its own (area averaging with exact
 * fractional coverage where it shrinks, bilinear with half-pixel centres where it grows)
 * into out (allocated here; not in). */
cls_status cls_image_resize(const cls_image *in, int width, int height, cls_image *out);

/* The size whose longest side is `longest`, keeping the aspect ratio (at least 1x1). */
void cls_image_fit(int width, int height, int longest, int *out_width, int *out_height);

#endif
