/* libjpeg's error manager made fit for a library: errors longjmp back with libjpeg's message
 * (the default manager calls exit()), nothing is printed, and warnings that mean pixel data
 * was lost (a truncated or corrupt scan) are errors too. */
#ifndef CLS_IO_JPEG_ERROR_H
#define CLS_IO_JPEG_ERROR_H

#include "runtime/error.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */

#include <jpeglib.h>

typedef struct cls_jpeg_error {
    struct jpeg_error_mgr pub; /* first: libjpeg sees a struct jpeg_error_mgr */
    jmp_buf jump;              /* set by the caller before any libjpeg call that can fail */
    char message[JMSG_LENGTH_MAX + 64];
    int code; /* libjpeg's message code, -1 for errors raised by clstyle */
} cls_jpeg_error;

/* Initialises err; returns the pointer to store in cinfo.err. */
struct jpeg_error_mgr *cls_jpeg_error_init(cls_jpeg_error *err);

/* Raises an error of clstyle's own (message as given) through the same longjmp. */
_Noreturn void cls_jpeg_fail(j_common_ptr cinfo, const char *message);

/* The status of the error recorded in err: CLS_ERR_IMAGE_TOO_LARGE for libjpeg's dimension
 * limit, CLS_ERR_OUT_OF_HOST_MEMORY when it ran out of memory, else CLS_ERR_IMAGE_FORMAT. */
cls_status cls_jpeg_error_status(const cls_jpeg_error *err);

#endif
