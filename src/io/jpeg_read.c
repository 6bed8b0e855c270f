/* JPEG decoding with libjpeg-turbo: baseline, progressive or arithmetic-coded; grayscale,
 * YCbCr, RGB, CMYK or YCCK; the EXIF orientation applied so the image is upright. */
#include "io/io_internal.h"
#include "io/jpeg_error.h"

#include <stdlib.h>
#include <string.h>

/* A progressive file can hold any number of scans, each a pass over the whole image;
 * libjpeg-turbo's own tools refuse more than this many (TJFLAG_LIMITSCANS). */
enum { MAX_SCANS = 500 };

typedef struct jpeg_reader {
    struct jpeg_decompress_struct cinfo;
    cls_jpeg_error err;
    struct jpeg_progress_mgr progress;
    const char *name;
    const cls_read_options *options;
    cls_status status; /* of a step that failed outside libjpeg */
    JSAMPLE *row;
    bool inverted_cmyk; /* Adobe-style CMYK */
    int orientation;
} jpeg_reader;

static void limit_scans(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS)
        cls_jpeg_fail(cinfo, "more than 500 scans (a decompression bomb?)");
}

/* Output RGB, or CMYK for 4-component files (converted in convert_row). */
static void choose_output(jpeg_reader *r)
{
    j_decompress_ptr cinfo = &r->cinfo;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB: cinfo->out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; break;
    default: cls_jpeg_fail((j_common_ptr)cinfo, "unsupported colour space");
    }
    /* Photoshop writes CMYK inverted (0 = full ink) and says so with an Adobe APP14
     * segment; files without one are taken as plain ink amounts. */
    r->inverted_cmyk = cinfo->saw_Adobe_marker;
}

/* CMYK to RGB without a colour profile: each of R, G, B is the light left by its ink and the
 * black ink, (1 - c)(1 - k). Approximate, as every profile-free conversion is. */
static void convert_row(const jpeg_reader *r, const JSAMPLE *row, float *out, int width)
{
    if (r->cinfo.out_color_space == JCS_RGB) {
        for (size_t i = 0; i < (size_t)width * 3; i++)
            out[i] = (float)row[i];
        return;
    }
    for (size_t x = 0; x < (size_t)width; x++) {
        const JSAMPLE *s = row + 4 * x;
        float k = r->inverted_cmyk ? (float)s[3] : 255.0f - (float)s[3];
        for (int c = 0; c < 3; c++) {
            float ink = r->inverted_cmyk ? (float)s[c] : 255.0f - (float)s[c];
            out[3 * x + c] = ink * k / 255.0f;
        }
    }
}

static int exif_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return cls_exif_orientation(m->data + 6, m->data_length - 6);
    return 1;
}

/* Decompresses into image. False (r->status set) when refused or out of memory. */
static bool read_pixels(jpeg_reader *r, cls_image *image)
{
    j_decompress_ptr cinfo = &r->cinfo;
    jpeg_start_decompress(cinfo);
    int components = cinfo->out_color_space == JCS_RGB ? 3 : 4;
    if (cinfo->output_components != components)
        cls_jpeg_fail((j_common_ptr)cinfo, "unexpected number of output components");
    r->status = cls_image_alloc(image, (int)cinfo->output_width, (int)cinfo->output_height);
    if (r->status != CLS_OK)
        return false;
    r->row = malloc((size_t)cinfo->output_width * components);
    if (!r->row) {
        r->status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "decoding %s", r->name);
        return false;
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        size_t y = cinfo->output_scanline;
        if (jpeg_read_scanlines(cinfo, &r->row, 1) != 1)
            cls_jpeg_fail((j_common_ptr)cinfo, "no scanline decoded");
        convert_row(r, r->row, image->pixels + y * image->width * 3, image->width);
    }
    jpeg_finish_decompress(cinfo);
    return true;
}

/* Huffman coding spends at least one bit per 8x8 block of every component (its DC
 * difference; progressive files too, in their first DC scan), so the file size bounds the
 * blocks; without this a 700-byte file declaring 100 Mpx has its image allocated (and, if
 * progressive, a coefficient buffer of 6 bytes a pixel) before libjpeg finds the data
 * missing. Arithmetic coding can spend far less than a bit, so it has only the pixel limit. */
static cls_status check_data_bound(const jpeg_reader *r, size_t size)
{
    const struct jpeg_decompress_struct *cinfo = &r->cinfo;
    if (cinfo->arith_code)
        return CLS_OK;
    uint64_t blocks = 0;
    for (int i = 0; i < cinfo->num_components; i++)
        blocks +=
            (uint64_t)cinfo->comp_info[i].width_in_blocks * cinfo->comp_info[i].height_in_blocks;
    return cls_check_data_bound(r->name, cinfo->image_width, cinfo->image_height, size,
                                (uint64_t)size * 8, blocks);
}

/* May leave through longjmp: 1 decoded, 0 refused (r->status), -1 libjpeg error (r->err).
 * r lives in the caller, so nothing here needs to be volatile. */
static int decode_guarded(jpeg_reader *r, const uint8_t *data, size_t size, cls_image *image)
{
    j_decompress_ptr cinfo = &r->cinfo;
    if (setjmp(r->err.jump))
        return -1;
    jpeg_create_decompress(cinfo);
    r->progress.progress_monitor = limit_scans;
    cinfo->progress = &r->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(cinfo, TRUE);
    r->orientation = exif_orientation(cinfo); /* the saved markers go at finish_decompress */
    r->status = cls_check_pixel_limit(r->name, cinfo->image_width, cinfo->image_height, r->options);
    if (r->status == CLS_OK)
        r->status = check_data_bound(r, size);
    if (r->status != CLS_OK)
        return 0;
    choose_output(r);
    return read_pixels(r, image) ? 1 : 0;
}

cls_status cls_jpeg_decode(const uint8_t *data, size_t size, const char *name,
                           const cls_read_options *options, cls_image *image)
{
    cls_status status = CLS_OK;
    jpeg_reader *r = calloc(1, sizeof *r);
    CLS_CHECK_ALLOC(r, "a JPEG decoder");
    r->name = name;
    r->options = options;
    r->cinfo.err = cls_jpeg_error_init(&r->err);
    int result = decode_guarded(r, data, size, image);
    if (result < 0) {
        status = cls_jpeg_error_status(&r->err);
        if (status == CLS_ERR_IMAGE_TOO_LARGE)
            cls_error(status, "%s: %s (libjpeg's limit)", name, r->err.message);
        else
            cls_error(status, "%s: not a valid JPEG file: %s", name, r->err.message);
        goto fail;
    }
    CLS_TRY(result == 0 ? r->status : CLS_OK);
    if (options->had_alpha)
        *options->had_alpha = false;
    CLS_TRY(cls_image_orient(image, r->orientation));
fail:
    if (r) {
        jpeg_destroy_decompress(&r->cinfo);
        free(r->row);
    }
    free(r);
    if (status != CLS_OK)
        cls_image_free(image);
    return status;
}
