/* safetensors writer: the whole file is built in one allocation, sized by a first pass over
 * the header that writes nothing, then replaced atomically. The layout follows the reference
 * implementation's serializer: "__metadata__" first, the header padded with spaces so the data
 * starts 8-byte aligned, data_offsets contiguous and covering the whole data section. */
#include "weights/safetensors_write.h"

#include "runtime/file_atomic.h"
#include "weights/weights.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX 100000000ull /* bytes: the reference implementation refuses longer headers */
#define ELEMENTS_MAX (UINT64_MAX >> 4) /* what cls_weights_open accepts for one tensor */

_Static_assert(sizeof(float) == 4, "safetensors F32 is a 4-byte IEEE 754 float");

static const char reserved_name[] = "__metadata__";

/* The output being built; with data NULL it only counts (the sizing pass). */
typedef struct out_buf {
    uint8_t *data;
    size_t len;
} out_buf;

static void put(out_buf *b, const void *s, size_t n)
{
    if (b->data)
        memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void put_text(out_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* s as a JSON string: quotes, backslashes and control characters escaped, other bytes (UTF-8,
 * checked beforehand) as they are, in runs. */
static void put_json_string(out_buf *b, const char *s)
{
    put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t run = 0;
        while (p[run] >= 0x20 && p[run] != '"' && p[run] != '\\')
            run++;
        put(b, p, run);
        p += run;
        if (!*p)
            break;
        char esc[8] = {'\\', 0};
        switch (*p) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: snprintf(esc, sizeof esc, "\\u%04x", *p);
        }
        put_text(b, esc);
        p++;
    }
    put(b, "\"", 1);
}

/* Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), as the
 * reference reader requires of the whole header. */
static bool valid_utf8(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        unsigned c = *s, n;
        uint32_t cp, min;
        if (c < 0x80) {
            s++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        for (unsigned i = 1; i <= n; i++) { /* a NUL ends the loop here: never read past it */
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        s += n + 1;
    }
    return true;
}

/* The element count of t, checked as the readers check it. */
static cls_status check_tensor(const cls_tensor_out *t, size_t index, uint64_t *count)
{
    if (!t->name || !t->name[0])
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "tensor %zu has %s name", index,
                         t->name ? "an empty" : "no");
    size_t len = strlen(t->name);
    if (len >= CLS_WEIGHT_NAME_MAX)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "tensor %zu: name of %zu bytes (%.40s...) is longer than the limit of %d",
                         index, len, t->name, CLS_WEIGHT_NAME_MAX - 1);
    if (!valid_utf8(t->name))
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "tensor %zu: name %s is not valid UTF-8", index,
                         t->name);
    if (strcmp(t->name, reserved_name) == 0)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "tensor %zu: the name %s is reserved for the file's metadata", index,
                         reserved_name);
    if (t->ndim < 0 || t->ndim > CLS_WEIGHT_MAX_DIMS)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "tensor %s: %d dimensions (0 to %d are possible)", t->name, t->ndim,
                         CLS_WEIGHT_MAX_DIMS);
    if (t->ndim > 0 && !t->shape)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "tensor %s: %d dimensions but no shape", t->name,
                         t->ndim);
    *count = 1;
    for (int d = 0; d < t->ndim; d++) {
        int64_t n = t->shape[d];
        if (n < 0)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "tensor %s: dimension %d is %lld", t->name,
                             d, (long long)n);
        if (n != 0 && *count > ELEMENTS_MAX / (uint64_t)n)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "tensor %s: shape's element count overflows",
                             t->name);
        *count *= (uint64_t)n;
    }
    if (*count > 0 && !t->data)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "tensor %s: %llu values but no data", t->name,
                         (unsigned long long)*count);
    return CLS_OK;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts names (an array the caller owns) and names the first repeated one. */
static cls_status check_unique(const char **names, size_t n, const char *what)
{
    qsort(names, n, sizeof *names, compare_strings);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "two %s are named %s", what, names[i]);
    return CLS_OK;
}

static cls_status check_metadata(const char *const *metadata, size_t count)
{
    for (size_t k = 0; k < 2 * count; k++) {
        const char *what = k % 2 ? "value" : "key";
        if (!metadata[k])
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "metadata %s %zu is missing", what, k / 2);
        if (!valid_utf8(metadata[k]))
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "metadata %s %zu is not valid UTF-8", what,
                             k / 2);
    }
    return CLS_OK;
}

/* Tensor names, then metadata keys, must be unique. */
static cls_status check_names(const cls_tensor_out *tensors, size_t count,
                              const char *const *metadata, size_t metadata_count)
{
    cls_status status = CLS_OK;
    size_t most = count > metadata_count ? count : metadata_count;
    const char **names = malloc((most ? most : 1) * sizeof *names);
    CLS_CHECK_ALLOC(names, "the tensor names");
    for (size_t i = 0; i < count; i++)
        names[i] = tensors[i].name;
    CLS_TRY(check_unique(names, count, "tensors"));
    for (size_t k = 0; k < metadata_count; k++)
        names[k] = metadata[2 * k];
    CLS_TRY(check_unique(names, metadata_count, "metadata keys"));
fail:
    free(names);
    return status;
}

/* The JSON header, unpadded; the sizing pass stops once it is past HEADER_MAX. */
static void put_header(out_buf *b, const cls_tensor_out *tensors, const uint64_t *counts,
                       size_t count, const char *const *metadata, size_t metadata_count)
{
    put(b, "{", 1);
    if (metadata_count > 0) {
        put_json_string(b, reserved_name);
        put(b, ":{", 2);
        for (size_t k = 0; k < metadata_count && b->len <= HEADER_MAX; k++) {
            if (k > 0)
                put(b, ",", 1);
            put_json_string(b, metadata[2 * k]);
            put(b, ":", 1);
            put_json_string(b, metadata[2 * k + 1]);
        }
        put(b, "}", 1);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < count && b->len <= HEADER_MAX; i++) {
        char text[64];
        if (i > 0 || metadata_count > 0)
            put(b, ",", 1);
        put_json_string(b, tensors[i].name);
        put_text(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < tensors[i].ndim; d++) {
            snprintf(text, sizeof text, "%s%lld", d ? "," : "", (long long)tensors[i].shape[d]);
            put_text(b, text);
        }
        uint64_t end = offset + counts[i] * sizeof(float);
        snprintf(text, sizeof text, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                 (unsigned long long)end);
        put_text(b, text);
        offset = end;
    }
    put(b, "}", 1);
}

/* n float32 values, little-endian, whatever the host's byte order. */
static void put_floats(uint8_t *dst, const float *src, uint64_t n)
{
    if (n == 0)
        return;
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                                 \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, (size_t)n * sizeof *src);
#else
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &src[i], sizeof bits);
        for (int k = 0; k < 4; k++)
            dst[4 * i + (uint64_t)k] = (uint8_t)(bits >> (8 * k));
    }
#endif
}

cls_status cls_safetensors_encode(const cls_tensor_out *tensors, size_t count,
                                  const char *const *metadata, size_t metadata_count, uint8_t **out,
                                  size_t *size)
{
    cls_status status = CLS_OK;
    uint64_t *counts = NULL;
    uint8_t *file = NULL;
    if (!out || !size)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "safetensors encode: no output pointer");
    if (count > 0 && !tensors)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "safetensors encode: %zu tensors but no list",
                         count);
    if (metadata_count > 0 && !metadata)
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "safetensors encode: %zu metadata pairs but no list", metadata_count);
    counts = malloc((count ? count : 1) * sizeof *counts);
    CLS_CHECK_ALLOC(counts, "the tensor sizes");
    uint64_t data_size = 0;
    for (size_t i = 0; i < count; i++) {
        CLS_TRY(check_tensor(&tensors[i], i, &counts[i]));
        if (counts[i] > (SIZE_MAX - 8 - HEADER_MAX - data_size) / sizeof(float)) {
            status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY,
                               "tensor %s: the file would be larger than memory", tensors[i].name);
            goto fail;
        }
        data_size += counts[i] * sizeof(float);
    }
    CLS_TRY(check_metadata(metadata, metadata_count));
    CLS_TRY(check_names(tensors, count, metadata, metadata_count));

    out_buf sizing = {0};
    put_header(&sizing, tensors, counts, count, metadata, metadata_count);
    size_t header_len = (sizing.len + 7) / 8 * 8;
    if (header_len > HEADER_MAX) {
        status = cls_error(CLS_ERR_INVALID_ARGUMENT,
                           "the safetensors header would be over %llu bytes, the format's limit "
                           "(names or metadata too long)",
                           HEADER_MAX);
        goto fail;
    }
    size_t total = 8 + header_len + (size_t)data_size;
    file = malloc(total);
    if (!file) {
        status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating a safetensors file of %zu bytes",
                           total);
        goto fail;
    }
    for (int k = 0; k < 8; k++)
        file[k] = (uint8_t)((uint64_t)header_len >> (8 * k));
    out_buf b = {.data = file + 8};
    put_header(&b, tensors, counts, count, metadata, metadata_count);
    memset(file + 8 + b.len, ' ', header_len - b.len);
    uint8_t *data = file + 8 + header_len;
    for (size_t i = 0; i < count; i++) {
        put_floats(data, tensors[i].data, counts[i]);
        data += counts[i] * sizeof(float);
    }
    *out = file;
    *size = total;
    file = NULL;
fail:
    free(counts);
    free(file);
    return status;
}

cls_status cls_safetensors_write(const char *path, const cls_tensor_out *tensors, size_t count,
                                 const char *const *metadata, size_t metadata_count)
{
    cls_status status = CLS_OK;
    uint8_t *file = NULL;
    size_t size = 0;
    if (!path || !path[0])
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "safetensors write: no file name");
    status = cls_safetensors_encode(tensors, count, metadata, metadata_count, &file, &size);
    if (status != CLS_OK) {
        cls_error_context(status, "writing %s", path);
        goto fail;
    }
    CLS_TRY(cls_write_file_atomic(path, file, size));
fail:
    free(file);
    return status;
}
