/* Weight files: format detection by content, the tensor index, and reading a tensor as
 * float32 with the NaN / infinity check. The formats' own parsing lives in weights_*.c. */
#include "weights/weights_internal.h"

#include "weights/weights_dtype.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static cls_status unrecognised(const uint8_t *head, size_t n)
{
    char hex[3 * 16 + 1] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && i < 16; i++)
        len += (size_t)snprintf(hex + len, sizeof hex - len, "%s%02x", i ? " " : "", head[i]);
    return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                     "not a weight file this reader knows (it starts with %s%s): expected "
                     "safetensors (an 8-byte header length, then '{'), a PyTorch zip checkpoint "
                     "(PK\\x03\\x04) or a legacy PyTorch .pth (a pickle of torch's magic number)",
                     hex, head[0] == 0x80 ? ", a pickle but not torch.save's" : "");
}

static cls_status detect(const uint8_t *head, size_t n, cls_weights_format *format)
{
    if (n == 0)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "the file is empty");
    if (n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0)
        *format = CLS_WEIGHTS_PTH_ZIP;
    else if (cls_weights_legacy_magic_size(head, n) != 0)
        *format = CLS_WEIGHTS_PTH_LEGACY;
    else if (n >= 9 && head[8] == '{')
        *format = CLS_WEIGHTS_SAFETENSORS;
    else
        return unrecognised(head, n);
    return CLS_OK;
}

static cls_status open_file(const char *path, int *fd, uint64_t *size, uint8_t *head,
                            size_t *head_len)
{
    struct stat st;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return cls_error(CLS_ERR_IO, "cannot open: %s", strerror(errno));
    if (fstat(*fd, &st) != 0)
        return cls_error(CLS_ERR_IO, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cls_error(CLS_ERR_IO, "not a regular file");
    *size = (uint64_t)st.st_size;
    ssize_t got = pread(*fd, head, *head_len, 0);
    if (got < 0)
        return cls_error(CLS_ERR_IO, "cannot read: %s", strerror(errno));
    *head_len = (size_t)got;
    return CLS_OK;
}

/* Re-records the detail with control characters replaced: names in messages come from the
 * file, and a hostile one must not reach a terminal as escape sequences. */
static cls_status printable_error(cls_status status)
{
    char *copy = strdup(cls_last_error());
    if (!copy)
        return status;
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    cls_error(status, "%s", copy);
    free(copy);
    return status;
}

static cls_status open_format(cls_weights *w, int fd, uint64_t size)
{
    switch (w->format) {
    case CLS_WEIGHTS_SAFETENSORS: return cls_weights_open_safetensors(w, fd, size);
    case CLS_WEIGHTS_PTH_ZIP: return cls_weights_open_pth_zip(w, fd, size);
    case CLS_WEIGHTS_PTH_LEGACY: return cls_weights_open_pth_legacy(w, fd, size);
    }
    close(fd);
    return cls_error(CLS_ERR_INVALID_ARGUMENT, "unknown format");
}

cls_status cls_weights_open(const char *path, cls_weights **out)
{
    cls_status status = CLS_OK;
    cls_weights *w = NULL;
    int fd = -1;
    uint8_t head[32];
    size_t head_len = sizeof head;
    uint64_t size = 0;
    *out = NULL;
    if (!path)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "weight file path is NULL");
    w = calloc(1, sizeof *w);
    CLS_CHECK_ALLOC(w, "a weight file handle");
    w->path = strdup(path);
    CLS_CHECK_ALLOC(w->path, "a weight file path");
    CLS_TRY(open_file(path, &fd, &size, head, &head_len));
    CLS_TRY(detect(head, head_len, &w->format));
    status = open_format(w, fd, size); /* takes over fd */
    fd = -1;
    CLS_TRY(status);
    *out = w;
    return CLS_OK;
fail:
    if (fd >= 0)
        close(fd);
    cls_weights_close(w);
    return printable_error(cls_error_context(status, "%s", path));
}

void cls_weights_close(cls_weights *w)
{
    if (!w)
        return;
    if (w->map)
        munmap((void *)w->map, w->map_size);
    if (w->zip)
        zip_discard(w->zip);
    free(w->entries);
    free(w->path);
    free(w);
}

cls_status cls_weights_map(cls_weights *w, int fd, uint64_t size)
{
    if (size == 0 || size > SIZE_MAX) {
        close(fd);
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "file of %llu bytes cannot be mapped",
                         (unsigned long long)size);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (map == MAP_FAILED)
        return cls_error(CLS_ERR_IO, "cannot map the file: %s", strerror(err));
    w->map = map;
    w->map_size = (size_t)size;
    return CLS_OK;
}

cls_weights_format cls_weights_get_format(const cls_weights *w)
{
    return w->format;
}

const char *cls_weights_format_name(cls_weights_format format)
{
    switch (format) {
    case CLS_WEIGHTS_SAFETENSORS: return "safetensors";
    case CLS_WEIGHTS_PTH_ZIP: return "pth";
    case CLS_WEIGHTS_PTH_LEGACY: return "pth-legacy";
    }
    return "unknown";
}

size_t cls_weights_count(const cls_weights *w)
{
    return w ? w->count : 0;
}

const cls_weight_tensor *cls_weights_at(const cls_weights *w, size_t index)
{
    return w && index < w->count ? &w->entries[index].t : NULL;
}

const cls_weight_tensor *cls_weights_find(const cls_weights *w, const char *name)
{
    for (size_t i = 0; w && name && i < w->count; i++)
        if (strcmp(w->entries[i].t.name, name) == 0)
            return &w->entries[i].t;
    return NULL;
}

void cls_weights_shape_text(const int64_t *shape, int ndim, char *buf, size_t size)
{
    size_t pos = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && pos < size; i++)
        pos += (size_t)snprintf(buf + pos, size - pos, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (pos < size)
        snprintf(buf + pos, size - pos, "]");
}

cls_status cls_weights_expect(const cls_weights *w, const char *path, const char *name,
                              const int64_t *shape, int ndim, const char *hint,
                              const cls_weight_tensor **out)
{
    char want[96], got[96];
    const cls_weight_tensor *t = cls_weights_find(w, name);
    cls_weights_shape_text(shape, ndim, want, sizeof want);
    if (!t)
        return cls_error(CLS_ERR_WEIGHTS_MISMATCH, "%s: tensor %s (shape %s) is missing; %s",
                         path, name, want, hint);
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        cls_weights_shape_text(t->shape, t->ndim, got, sizeof got);
        return cls_error(CLS_ERR_WEIGHTS_MISMATCH, "%s: tensor %s has shape %s, expected %s", path,
                         name, got, want);
    }
    *out = t;
    return CLS_OK;
}

uint64_t cls_weights_bytes_read(const cls_weights *w)
{
    return w ? w->bytes_read : 0;
}

/* The entry t points into, or NULL when t is not one of w's tensors. */
static const cls_weight_entry *entry_of(const cls_weights *w, const cls_weight_tensor *t)
{
    uintptr_t p = (uintptr_t)t, first = (uintptr_t)w->entries;
    if (!w->count || p < first || p >= (uintptr_t)(w->entries + w->count) ||
        (p - first) % sizeof *w->entries != 0)
        return NULL;
    return &w->entries[(p - first) / sizeof *w->entries];
}

/* Writes the multi-dimensional index of flat element i of t into buf, as "[0,2,1,1]". */
static void unravel(const cls_weight_tensor *t, uint64_t i, char *buf, size_t size)
{
    uint64_t idx[CLS_WEIGHT_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
        idx[d] = i % (uint64_t)t->shape[d];
        i /= (uint64_t)t->shape[d];
    }
    int n = snprintf(buf, size, "[");
    for (int d = 0; d < t->ndim && n > 0 && (size_t)n < size; d++)
        n +=
            snprintf(buf + n, size - (size_t)n, "%s%llu", d ? "," : "", (unsigned long long)idx[d]);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

static cls_status check_finite(const cls_weights *w, const cls_weight_tensor *t, const float *v)
{
    for (uint64_t i = 0; i < t->count; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        if ((bits & 0x7f800000) != 0x7f800000)
            continue;
        char where[128];
        unravel(t, i, where, sizeof where);
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "%s: tensor %s: element %llu %s is %s", w->path,
                         t->name, (unsigned long long)i, where,
                         (bits & 0x7fffff) ? "NaN"
                         : (bits >> 31)    ? "-inf"
                                           : "+inf");
    }
    return CLS_OK;
}

cls_status cls_weights_read_f32(cls_weights *w, const cls_weight_tensor *t, float *out)
{
    if (!w || !t || !out)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "cls_weights_read_f32: NULL argument");
    const cls_weight_entry *e = entry_of(w, t);
    if (!e)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "%s: tensor %s is not from this file", w->path,
                         t->name);
    uint64_t bytes = t->count * cls_dtype_size(t->dtype);
    if (w->zip) {
        cls_status status = cls_weights_read_zip(w, e, out);
        if (status != CLS_OK)
            return printable_error(cls_error_context(status, "%s", w->path));
    } else {
        /* Bounds were checked at open; this cannot run past the mapping. */
        cls_dtype_decode(t->dtype, w->map + e->offset, (size_t)t->count, out);
    }
    w->bytes_read += bytes;
    cls_status status = check_finite(w, t, out);
    return status == CLS_OK ? CLS_OK : printable_error(status);
}
