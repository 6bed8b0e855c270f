/* The libjpeg error manager: longjmp instead of exit(), silence instead of stderr. */
#include "io/jpeg_error.h"

#include <jerror.h>
#include <string.h>

static _Noreturn void on_error(j_common_ptr cinfo)
{
    cls_jpeg_error *err = (cls_jpeg_error *)cinfo->err;
    err->code = err->pub.msg_code;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

/* Warnings after which the pixels are not what the file meant: libjpeg would fill the rest
 * of the image with grey and carry on. */
static bool data_lost(int code)
{
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL: return true;
    default: return false;
    }
}

/* level -1: a warning; 0 and up: trace messages, never shown. Harmless warnings (extraneous
 * bytes before a marker, an unknown JFIF revision, a bad ICC marker) are counted only. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return;
    if (data_lost(cinfo->err->msg_code))
        on_error(cinfo);
    cinfo->err->num_warnings++;
}

static void output_nothing(j_common_ptr cinfo)
{
    (void)cinfo;
}

struct jpeg_error_mgr *cls_jpeg_error_init(cls_jpeg_error *err)
{
    memset(err, 0, sizeof *err);
    jpeg_std_error(&err->pub);
    err->pub.error_exit = on_error;
    err->pub.emit_message = on_message;
    err->pub.output_message = output_nothing;
    return &err->pub;
}

_Noreturn void cls_jpeg_fail(j_common_ptr cinfo, const char *message)
{
    cls_jpeg_error *err = (cls_jpeg_error *)cinfo->err;
    err->code = -1;
    snprintf(err->message, sizeof err->message, "%s", message);
    longjmp(err->jump, 1);
}

cls_status cls_jpeg_error_status(const cls_jpeg_error *err)
{
    if (err->code == JERR_IMAGE_TOO_BIG)
        return CLS_ERR_IMAGE_TOO_LARGE;
    if (err->code == JERR_OUT_OF_MEMORY)
        return CLS_ERR_OUT_OF_HOST_MEMORY;
    return CLS_ERR_IMAGE_FORMAT;
}
