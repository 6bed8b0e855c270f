/* PNG encoding with libpng: 8- or 16-bit RGB, samples rounded to nearest and clamped. */
#include "io/io_internal.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_writer {
    png_structp png;
    png_infop info;
    cls_bytes *out;
    bool out_of_memory;
    char message[256];
    uint8_t *row;
} png_writer;

static void on_error(png_structp png, png_const_charp message)
{
    png_writer *w = png_get_error_ptr(png);
    snprintf(w->message, sizeof w->message, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

static void write_data(png_structp png, png_bytep data, size_t size)
{
    png_writer *w = png_get_io_ptr(png);
    if (!cls_bytes_append(w->out, data, size)) {
        w->out_of_memory = true;
        png_error(png, "out of memory");
    }
}

static void flush_data(png_structp png)
{
    (void)png;
}

static void pack_row(const float *in, int width, int depth, uint8_t *row)
{
    for (size_t i = 0; i < (size_t)width * 3; i++) {
        if (depth == 16) {
            uint16_t v = cls_sample_to_u16(in[i]);
            row[2 * i] = (uint8_t)(v >> 8);
            row[2 * i + 1] = (uint8_t)v;
        } else {
            row[i] = cls_sample_to_u8(in[i]);
        }
    }
}

/* May leave through longjmp (false after it); w lives in the caller. */
static bool encode_guarded(png_writer *w, const cls_image *image, int depth)
{
    if (setjmp(png_jmpbuf(w->png)))
        return false;
    png_set_write_fn(w->png, w, write_data, flush_data);
    png_set_IHDR(w->png, w->info, (png_uint_32)image->width, (png_uint_32)image->height, depth,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    for (int y = 0; y < image->height; y++) {
        pack_row(image->pixels + (size_t)y * image->width * 3, image->width, depth, w->row);
        png_write_row(w->png, w->row);
    }
    png_write_end(w->png, w->info);
    return true;
}

cls_status cls_png_encode(const cls_image *image, int depth, cls_bytes *out)
{
    cls_status status = CLS_OK;
    png_writer w = {.out = out};
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_error, on_warning);
    w.info = w.png ? png_create_info_struct(w.png) : NULL;
    CLS_CHECK_ALLOC(w.info, "a PNG encoder");
    w.row = malloc((size_t)image->width * 3 * (size_t)(depth / 8));
    CLS_CHECK_ALLOC(w.row, "a PNG row");
    if (!encode_guarded(&w, image, depth)) {
        if (w.out_of_memory)
            status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "encoding a %dx%d PNG", image->width,
                               image->height);
        else
            status = cls_error(CLS_ERR_IMAGE_FORMAT, "encoding a %dx%d PNG: %s", image->width,
                               image->height, w.message);
    }
fail:
    png_destroy_write_struct(&w.png, &w.info);
    free(w.row);
    return status;
}
