/* cls_image_write: the format chosen by the file extension, encoded in memory, then written
 * atomically; and the pre-flight check the CLI runs before a long job. */
#include "io/io_internal.h"

#include <ctype.h>
#include <string.h>
#include <sys/stat.h>

typedef enum format { FORMAT_NONE, FORMAT_PNG, FORMAT_JPEG } format;

cls_write_options cls_write_options_default(void)
{
    return (cls_write_options){.png_depth = 8, .jpeg_quality = 95};
}

static bool same_ignoring_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

static format format_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot)
        return FORMAT_NONE;
    if (same_ignoring_case(dot, ".png"))
        return FORMAT_PNG;
    if (same_ignoring_case(dot, ".jpg") || same_ignoring_case(dot, ".jpeg"))
        return FORMAT_JPEG;
    return FORMAT_NONE;
}

static cls_status unsupported_extension(const char *path)
{
    return cls_error(CLS_ERR_INVALID_ARGUMENT,
                     "cannot write %s: unsupported file extension (supported: .png, .jpg, .jpeg)",
                     path);
}

static cls_status check_options(const char *path, const cls_write_options *options)
{
    if (options->png_depth != 8 && options->png_depth != 16)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "writing %s: PNG depth %d (must be 8 or 16)",
                         path, options->png_depth);
    if (options->jpeg_quality < 1 || options->jpeg_quality > 100)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "writing %s: JPEG quality %d (must be 1 to 100)",
                         path, options->jpeg_quality);
    return CLS_OK;
}

cls_status cls_image_write(const char *path, const cls_image *image,
                           const cls_write_options *options)
{
    cls_status status = CLS_OK;
    cls_bytes encoded = {0};
    cls_write_options defaults = cls_write_options_default();
    if (!options)
        options = &defaults;
    if (!path || !image || !image->pixels || image->width < 1 || image->height < 1)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "writing %s: no image", path ? path : "(null)");
    format fmt = format_of(path);
    if (fmt == FORMAT_NONE)
        return unsupported_extension(path);
    CLS_TRY(check_options(path, options));
    if (fmt == FORMAT_PNG)
        status = cls_png_encode(image, options->png_depth, &encoded);
    else
        status = cls_jpeg_encode(image, options->jpeg_quality, &encoded);
    if (status != CLS_OK) {
        cls_error_context(status, "writing %s", path);
        goto fail;
    }
    CLS_TRY(cls_write_file_atomic(path, encoded.data, encoded.size));
fail:
    cls_bytes_free(&encoded);
    return status;
}

cls_status cls_image_check_writable(const char *path)
{
    if (!path || format_of(path) == FORMAT_NONE)
        return unsupported_extension(path ? path : "(null)");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cls_error(CLS_ERR_IO, "cannot write %s: it is a directory", path);
    return cls_probe_directory_writable(path);
}
