/* JPEG encoding with libjpeg-turbo: baseline, optimised Huffman tables, 4:4:4 chroma at
 * quality 90 and above (where 4:2:0 would be the largest loss), 4:2:0 below. */
#include "io/io_internal.h"
#include "io/jpeg_error.h"

#include <jerror.h>

#include <stdlib.h>
#include <string.h>

enum { CHUNK = 65536, FULL_CHROMA_QUALITY = 90 };

typedef struct jpeg_writer {
    struct jpeg_compress_struct cinfo;
    cls_jpeg_error err;
    struct jpeg_destination_mgr dest;
    cls_bytes *out;
    JOCTET chunk[CHUNK]; /* libjpeg writes here; full chunks are appended to out */
    JSAMPLE *row;
} jpeg_writer;

/* The destination manager: a fixed chunk flushed into the growable buffer, which the caller
 * owns, so nothing leaks when libjpeg fails halfway (jpeg_mem_dest can leak then). */
static jpeg_writer *writer_of(j_compress_ptr cinfo)
{
    return cinfo->client_data;
}

static void init_destination(j_compress_ptr cinfo)
{
    jpeg_writer *w = writer_of(cinfo);
    w->dest.next_output_byte = w->chunk;
    w->dest.free_in_buffer = CHUNK;
}

static boolean empty_output_buffer(j_compress_ptr cinfo)
{
    jpeg_writer *w = writer_of(cinfo);
    if (!cls_bytes_append(w->out, w->chunk, CHUNK))
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    init_destination(cinfo);
    return TRUE;
}

static void term_destination(j_compress_ptr cinfo)
{
    jpeg_writer *w = writer_of(cinfo);
    if (!cls_bytes_append(w->out, w->chunk, CHUNK - w->dest.free_in_buffer))
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
}

static void set_parameters(j_compress_ptr cinfo, const cls_image *image, int quality)
{
    cinfo->image_width = (JDIMENSION)image->width;
    cinfo->image_height = (JDIMENSION)image->height;
    cinfo->input_components = 3;
    cinfo->in_color_space = JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    cinfo->optimize_coding = TRUE;
    if (quality >= FULL_CHROMA_QUALITY) {
        cinfo->comp_info[0].h_samp_factor = 1;
        cinfo->comp_info[0].v_samp_factor = 1;
    }
}

/* May leave through longjmp (false after it); w lives in the caller. */
static bool encode_guarded(jpeg_writer *w, const cls_image *image, int quality)
{
    j_compress_ptr cinfo = &w->cinfo;
    if (setjmp(w->err.jump))
        return false;
    jpeg_create_compress(cinfo);
    w->dest.init_destination = init_destination;
    w->dest.empty_output_buffer = empty_output_buffer;
    w->dest.term_destination = term_destination;
    cinfo->dest = &w->dest;
    set_parameters(cinfo, image, quality);
    jpeg_start_compress(cinfo, TRUE);
    while (cinfo->next_scanline < cinfo->image_height) {
        const float *in = image->pixels + (size_t)cinfo->next_scanline * image->width * 3;
        for (size_t i = 0; i < (size_t)image->width * 3; i++)
            w->row[i] = cls_sample_to_u8(in[i]);
        jpeg_write_scanlines(cinfo, &w->row, 1);
    }
    jpeg_finish_compress(cinfo);
    return true;
}

cls_status cls_jpeg_encode(const cls_image *image, int quality, cls_bytes *out)
{
    cls_status status = CLS_OK;
    jpeg_writer *w = calloc(1, sizeof *w);
    CLS_CHECK_ALLOC(w, "a JPEG encoder");
    w->out = out;
    w->row = malloc((size_t)image->width * 3);
    CLS_CHECK_ALLOC(w->row, "a JPEG row");
    w->cinfo.err = cls_jpeg_error_init(&w->err);
    w->cinfo.client_data = w; /* kept by jpeg_create_compress */
    if (!encode_guarded(w, image, quality)) {
        status = cls_jpeg_error_status(&w->err);
        cls_error(status, "encoding a %dx%d JPEG: %s", image->width, image->height, w->err.message);
    }
fail:
    if (w) {
        jpeg_destroy_compress(&w->cinfo);
        free(w->row);
    }
    free(w);
    return status;
}
