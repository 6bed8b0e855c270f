/* PNG decoding with libpng: every colour type and bit depth, interlaced or not, 16-bit
 * samples kept until the float conversion, alpha composited over white. */
#include "io/io_internal.h"

#include <ctype.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on what a hostile file can make libpng allocate before the pixel limit applies. */
enum { CHUNK_CACHE_MAX = 256, CHUNK_MALLOC_MAX = 16 << 20 };

typedef struct png_reader {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size, pos;
    const char *name;
    const cls_read_options *options;
    cls_status status;    /* of a step that failed outside libpng */
    char message[256];    /* libpng's error */
    char warning[256];    /* libpng's last warning */
    bool over_user_limit; /* libpng refused a dimension over png_set_user_limits */
    int channels, depth;  /* of the decoded samples: 3 or 4, 8 or 16 */
    uint64_t idat_bytes;  /* compressed image data in the file */
    uint8_t *samples;     /* the decoded rows */
    png_bytep *rows;
} png_reader;

static void on_error(png_structp png, png_const_charp message)
{
    png_reader *r = png_get_error_ptr(png);
    snprintf(r->message, sizeof r->message, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message)
{
    png_reader *r = png_get_error_ptr(png);
    snprintf(r->warning, sizeof r->warning, "%s", message);
    if (strstr(message, "exceeds user limit"))
        r->over_user_limit = true;
}

static void read_data(png_structp png, png_bytep out, size_t size)
{
    png_reader *r = png_get_io_ptr(png);
    if (size > r->size - r->pos)
        png_error(png, "unexpected end of file (truncated)");
    memcpy(out, r->data + r->pos, size);
    r->pos += size;
}

static void set_limits(png_reader *r)
{
    uint64_t max = cls_max_pixels(r->options);
    png_uint_32 side = max > PNG_UINT_31_MAX ? PNG_UINT_31_MAX : (png_uint_32)max;
    png_set_user_limits(r->png, side, side);
    png_set_chunk_cache_max(r->png, CHUNK_CACHE_MAX);
    png_set_chunk_malloc_max(r->png, CHUNK_MALLOC_MAX);
#ifdef PNG_HANDLE_AS_UNKNOWN_SUPPORTED
    /* Text, ICC profiles and palettes suggestions are never used, and libpng would keep
     * every one decompressed in memory: 100 zTXt chunks of 15 KB each inflating to 15 MB
     * cost 1.5 GB and 11 s before. They, and chunks libpng does not know, are skipped. */
    static const png_byte unused[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT";
    png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_NEVER, unused, 5);
#endif
}

/* Deflate turns at most 1032 bytes into one (a 258-byte match in 2 bits), so the IDAT
 * chunks bound the raw rows; without this a 100-byte file declaring 100 Mpx has its buffers
 * allocated before libpng finds the data missing. */
static cls_status check_data_bound(const png_reader *r, png_uint_32 width, png_uint_32 height)
{
    const uint64_t bits_per_pixel =
        (uint64_t)png_get_channels(r->png, r->info) * png_get_bit_depth(r->png, r->info);
    const uint64_t raw_bits = (uint64_t)width * height * bits_per_pixel;
    const uint64_t capacity_bits = (r->idat_bytes + 1) * 1032 * 8;
    return cls_check_data_bound(r->name, width, height, r->idat_bytes, capacity_bits, raw_bits);
}

/* Reads the header, refuses images over the pixel limit, and asks libpng for RGB or RGBA at
 * 8 or 16 bits whatever the colour type. False (r->status set) when refused. */
static bool read_header(png_reader *r)
{
    png_read_info(r->png, r->info);
    png_uint_32 width = png_get_image_width(r->png, r->info);
    png_uint_32 height = png_get_image_height(r->png, r->info);
    r->status = cls_check_pixel_limit(r->name, width, height, r->options);
    if (r->status == CLS_OK)
        r->status = check_data_bound(r, width, height);
    if (r->status != CLS_OK)
        return false;
    png_set_expand(r->png); /* palette to RGB, gray below 8 bits to 8, tRNS to alpha */
    if (!(png_get_color_type(r->png, r->info) & PNG_COLOR_MASK_COLOR))
        png_set_gray_to_rgb(r->png);
    png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    r->channels = png_get_channels(r->png, r->info);
    r->depth = png_get_bit_depth(r->png, r->info);
    if ((r->channels != 3 && r->channels != 4) || (r->depth != 8 && r->depth != 16))
        png_error(r->png, "unexpected layout after the colour transforms");
    return true;
}

/* Decodes every row (all Adam7 passes) into r->samples. False (r->status set) when memory
 * runs out. */
static bool read_rows(png_reader *r, cls_image *image)
{
    png_uint_32 height = png_get_image_height(r->png, r->info);
    size_t rowbytes = png_get_rowbytes(r->png, r->info);
    size_t want = (size_t)png_get_image_width(r->png, r->info) * r->channels * (r->depth / 8);
    if (rowbytes != want)
        png_error(r->png, "unexpected row size after the colour transforms");
    r->status = cls_image_alloc(image, (int)png_get_image_width(r->png, r->info), (int)height);
    if (r->status != CLS_OK)
        return false;
    r->samples = rowbytes <= SIZE_MAX / height ? malloc(rowbytes * height) : NULL;
    r->rows = malloc(height * sizeof *r->rows);
    if (!r->samples || !r->rows) {
        r->status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "decoding %s", r->name);
        return false;
    }
    for (png_uint_32 y = 0; y < height; y++)
        r->rows[y] = r->samples + (size_t)y * rowbytes;
    png_read_image(r->png, r->rows);
    png_read_end(r->png, r->info); /* checks the rest of the file; collects a late eXIf */
    return true;
}

/* May leave through longjmp: returns 1 when decoded, 0 when refused (r->status), -1 when
 * libpng reported an error (r->message). r lives in the caller, so nothing here needs to be
 * volatile. */
static int decode_guarded(png_reader *r, cls_image *image)
{
    if (setjmp(png_jmpbuf(r->png)))
        return -1;
    set_limits(r);
    png_set_read_fn(r->png, r, read_data);
    if (!read_header(r) || !read_rows(r, image))
        return 0;
    return 1;
}

static double sample_at(const uint8_t *row, size_t i, int depth)
{
    if (depth == 16)
        return (double)((row[2 * i] << 8) | row[2 * i + 1]);
    return (double)row[i];
}

/* Samples to 0..255 floats (v * 255 / max, no detour through 8 bits), alpha composited over
 * white. Returns whether any pixel was not fully opaque. */
static bool convert(const png_reader *r, cls_image *image)
{
    const double max = r->depth == 16 ? 65535.0 : 255.0;
    const size_t rowbytes = (size_t)image->width * r->channels * (r->depth / 8);
    bool translucent = false;
    for (int y = 0; y < image->height; y++) {
        const uint8_t *row = r->samples + (size_t)y * rowbytes;
        float *out = image->pixels + (size_t)y * image->width * 3;
        for (size_t x = 0; x < (size_t)image->width; x++) {
            size_t s = x * r->channels;
            double alpha = r->channels == 4 ? sample_at(row, s + 3, r->depth) / max : 1.0;
            translucent |= alpha < 1.0;
            for (int c = 0; c < 3; c++) {
                double v = sample_at(row, s + c, r->depth) * 255.0 / max;
                out[3 * x + c] = (float)(alpha * v + (1.0 - alpha) * 255.0);
            }
        }
    }
    return translucent;
}

/* The orientation of an eXIf chunk, 1 when there is none. */
static int exif_orientation(const png_reader *r)
{
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 size = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(r->png, r->info, &size, &exif) && exif)
        return cls_exif_orientation(exif, size);
#else
    (void)r;
#endif
    return 1;
}

static cls_status libpng_failure(const png_reader *r)
{
    if (r->over_user_limit)
        return cls_error(CLS_ERR_IMAGE_TOO_LARGE, "%s: %s (over the pixel limit of %llu)", r->name,
                         r->warning, (unsigned long long)cls_max_pixels(r->options));
    if (r->warning[0])
        return cls_error(CLS_ERR_IMAGE_FORMAT, "%s: not a valid PNG file: %s (libpng warned: %s)",
                         r->name, r->message, r->warning);
    return cls_error(CLS_ERR_IMAGE_FORMAT, "%s: not a valid PNG file: %s", r->name, r->message);
}

/* libpng allocates a chunk's declared length before it reads the chunk, and
 * png_set_chunk_malloc_max does not bound every chunk in every libpng version: a 100-byte
 * file declaring a 1.9 GB tEXt chunk cost 1.9 GB (found by tests/fuzz). Every chunk up to
 * IEND must fit in the file, so a length that runs past its end is refused first. Adds up
 * the IDAT chunks' lengths on the way. */
static cls_status check_chunk_lengths(const uint8_t *data, size_t size, const char *name,
                                      uint64_t *idat_bytes)
{
    *idat_bytes = 0;
    size_t pos = 8;
    while (pos <= size && size - pos >= 12) {
        const uint8_t *p = data + pos;
        uint32_t length = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (length > size - pos - 12) {
            char type[5];
            for (int i = 0; i < 4; i++)
                type[i] = isalpha(p[4 + i]) ? (char)p[4 + i] : '?';
            type[4] = '\0';
            return cls_error(CLS_ERR_IMAGE_FORMAT,
                             "%s: not a valid PNG file: unexpected end of file (truncated): "
                             "chunk %s at byte %zu declares %lu bytes, %zu remain",
                             name, type, pos, (unsigned long)length, size - pos - 12);
        }
        if (memcmp(p + 4, "IEND", 4) == 0)
            break;
        if (memcmp(p + 4, "IDAT", 4) == 0)
            *idat_bytes += length;
        pos += 12 + (size_t)length;
    }
    if (size > pos && size - pos < 12) /* a chunk's length, type and CRC cut short */
        return cls_error(CLS_ERR_IMAGE_FORMAT,
                         "%s: not a valid PNG file: unexpected end of file (truncated): "
                         "the chunk at byte %zu is cut off after %zu bytes",
                         name, pos, size - pos);
    return CLS_OK;
}

cls_status cls_png_decode(const uint8_t *data, size_t size, const char *name,
                          const cls_read_options *options, cls_image *image)
{
    cls_status status = CLS_OK;
    png_reader r = {.data = data, .size = size, .name = name, .options = options};
    CLS_TRY(check_chunk_lengths(data, size, name, &r.idat_bytes));
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    r.info = r.png ? png_create_info_struct(r.png) : NULL;
    CLS_CHECK_ALLOC(r.info, "a PNG decoder");
    int result = decode_guarded(&r, image);
    if (result < 0)
        status = libpng_failure(&r);
    else if (result == 0)
        status = r.status;
    if (status != CLS_OK)
        goto fail;
    bool translucent = convert(&r, image);
    if (options->had_alpha)
        *options->had_alpha = translucent;
    CLS_TRY(cls_image_orient(image, exif_orientation(&r)));
fail:
    png_destroy_read_struct(&r.png, &r.info, NULL);
    free(r.samples);
    free(r.rows);
    if (status != CLS_OK)
        cls_image_free(image);
    return status;
}
