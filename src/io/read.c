/* cls_image_read: the file into memory, its format recognised by content, then the codec. */
#include "io/io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cls_read_options cls_read_options_default(void)
{
    return (cls_read_options){.max_pixels = 100000000, .had_alpha = NULL};
}

static bool read_exact(int fd, uint8_t *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = read(fd, buf, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the file shrank while it was read */
            return false;
        }
        buf += n;
        size -= (size_t)n;
    }
    return true;
}

cls_status cls_read_file_bytes(const char *path, cls_bytes *out)
{
    cls_status status = CLS_OK;
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cls_error(CLS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        status = cls_error(CLS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        status = cls_error(CLS_ERR_IO, "cannot read %s: not a regular file", path);
        goto fail;
    }
    if ((uint64_t)st.st_size > CLS_IO_MAX_FILE_BYTES) {
        status = cls_error(CLS_ERR_IMAGE_TOO_LARGE, "%s: %lld bytes is over the limit of %zu", path,
                           (long long)st.st_size, CLS_IO_MAX_FILE_BYTES);
        goto fail;
    }
    out->size = out->capacity = (size_t)st.st_size;
    out->data = malloc(out->size ? out->size : 1);
    CLS_CHECK_ALLOC(out->data, "the contents of an image file");
    if (!read_exact(fd, out->data, out->size)) {
        status = cls_error(CLS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    close(fd);
    return CLS_OK;
fail:
    close(fd);
    cls_bytes_free(out);
    return status;
}

cls_status cls_check_data_bound(const char *name, uint64_t width, uint64_t height,
                                uint64_t data_bytes, uint64_t capacity_bits, uint64_t needed_bits)
{
    if (needed_bits <= capacity_bits)
        return CLS_OK;
    return cls_error(CLS_ERR_IMAGE_FORMAT,
                     "%s: not enough image data: %llux%llu pixels cannot fit in %llu bytes of "
                     "compressed data (truncated or corrupt)",
                     name, (unsigned long long)width, (unsigned long long)height,
                     (unsigned long long)data_bytes);
}

cls_status cls_check_pixel_limit(const char *name, uint64_t width, uint64_t height,
                                 const cls_read_options *options)
{
    uint64_t max = cls_max_pixels(options);
    if (width * height <= max)
        return CLS_OK;
    return cls_error(CLS_ERR_IMAGE_TOO_LARGE,
                     "%s: %llux%llu is %llu pixels, over the limit of %llu (max_pixels)", name,
                     (unsigned long long)width, (unsigned long long)height,
                     (unsigned long long)(width * height), (unsigned long long)max);
}

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_magic[3] = {0xff, 0xd8, 0xff};

static bool starts_with(const uint8_t *data, size_t size, const void *magic, size_t len)
{
    return size >= len && memcmp(data, magic, len) == 0;
}

/* Names formats people may try, so the message says what the file is. */
static const char *other_format(const uint8_t *data, size_t size)
{
    if (starts_with(data, size, "GIF8", 4))
        return "a GIF image";
    if (starts_with(data, size, "BM", 2))
        return "a BMP image";
    if (starts_with(data, size, "II*\0", 4) || starts_with(data, size, "MM\0*", 4))
        return "a TIFF image";
    if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
        return "a WebP image";
    if (size >= 12 && memcmp(data + 4, "ftyp", 4) == 0)
        return "an HEIF/AVIF or MP4 file";
    return NULL;
}

static cls_status unknown_format(const char *path, const uint8_t *data, size_t size)
{
    const char *what = other_format(data, size);
    if (what)
        return cls_error(CLS_ERR_IMAGE_FORMAT, "%s is %s; only PNG and JPEG are supported", path,
                         what);
    char start[3 * 8 + 1] = "";
    for (size_t i = 0; i < size && i < 8; i++)
        snprintf(start + strlen(start), 4, i ? " %02x" : "%02x", data[i]);
    return cls_error(CLS_ERR_IMAGE_FORMAT,
                     "%s is not a PNG or JPEG file (it starts with bytes %s); only PNG and JPEG "
                     "are supported",
                     path, start);
}

cls_status cls_image_decode(const uint8_t *data, size_t size, const char *name,
                            const cls_read_options *options, cls_image *image)
{
    cls_status status = CLS_OK;
    cls_read_options defaults = cls_read_options_default();
    if (!name || !image || (!data && size))
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "decoding an image: no data, name or image");
    if (!options)
        options = &defaults;
    if (options->had_alpha)
        *options->had_alpha = false;
    memset(image, 0, sizeof *image);
    if (size > CLS_IO_MAX_FILE_BYTES)
        return cls_error(CLS_ERR_IMAGE_TOO_LARGE, "%s: %zu bytes is over the limit of %zu", name,
                         size, CLS_IO_MAX_FILE_BYTES);
    if (size == 0)
        status = cls_error(CLS_ERR_IMAGE_FORMAT, "%s is an empty file", name);
    else if (starts_with(data, size, png_magic, sizeof png_magic))
        status = cls_png_decode(data, size, name, options, image);
    else if (starts_with(data, size, jpeg_magic, sizeof jpeg_magic))
        status = cls_jpeg_decode(data, size, name, options, image);
    else
        status = unknown_format(name, data, size);
    if (status != CLS_OK)
        cls_image_free(image);
    return status;
}

cls_status cls_image_read(const char *path, const cls_read_options *options, cls_image *image)
{
    cls_status status = CLS_OK;
    cls_bytes file = {0};
    if (!path || !image)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "reading an image: no path or no image");
    if (options && options->had_alpha)
        *options->had_alpha = false;
    memset(image, 0, sizeof *image);
    CLS_TRY(cls_read_file_bytes(path, &file));
    status = cls_image_decode(file.data, file.size, path, options, image);
fail:
    cls_bytes_free(&file);
    return status;
}
