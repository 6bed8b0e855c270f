/* safetensors: an 8-byte little-endian header length, a JSON header (parsed with json-c)
 * naming each tensor's dtype, shape and [begin, end) in the data section that follows. The
 * file is mapped read-only; every offset and size is checked before anything is trusted. */
#include "weights/weights_internal.h"

#include "weights/weights_dtype.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX 100000000ull /* bytes, as the reference implementation allows */
enum { JSON_DEPTH = 8, JSON_MAX_VALUES = 1 << 21 };

/* Dtypes of the safetensors spec this reader does not convert: valid but unsupported. */
static const char *const other_dtypes[] = {
    "BOOL", "U8",  "I8",      "I16",     "U16",     "I32",     "U32",     "I64", "U64",
    "F64",  "C64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4"};

static void format_shape(const cls_weight_tensor *t, char *buf, size_t size)
{
    int n = snprintf(buf, size, "[");
    for (int d = 0; d < t->ndim && n > 0 && (size_t)n < size; d++)
        n += snprintf(buf + n, size - (size_t)n, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

static cls_status parse_dtype(const char *name, json_object *v, cls_dtype *dtype)
{
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (!s)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "tensor %s: \"dtype\" is missing or not a string",
                         name);
    for (cls_dtype d = CLS_DTYPE_F32; d <= CLS_DTYPE_BF16; d++) {
        if (strcmp(s, cls_dtype_name(d)) == 0) {
            *dtype = d;
            return CLS_OK;
        }
    }
    for (size_t i = 0; i < sizeof other_dtypes / sizeof other_dtypes[0]; i++)
        if (strcmp(s, other_dtypes[i]) == 0)
            return cls_error(CLS_ERR_UNSUPPORTED,
                             "tensor %s: dtype %s is not supported (only F32, F16 and BF16)", name,
                             s);
    return cls_error(CLS_ERR_WEIGHTS_FORMAT, "tensor %s: unknown dtype \"%.32s\"", name, s);
}

/* A non-negative JSON integer. */
static bool get_count(json_object *v, int64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return *out >= 0;
}

static cls_status parse_shape(json_object *v, cls_weight_tensor *t)
{
    if (!json_object_is_type(v, json_type_array))
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "tensor %s: \"shape\" is missing or not a list",
                         t->name);
    size_t n = json_object_array_length(v);
    if (n > CLS_WEIGHT_MAX_DIMS)
        return cls_error(CLS_ERR_UNSUPPORTED,
                         "tensor %s: %zu dimensions (at most %d are supported)", t->name, n,
                         CLS_WEIGHT_MAX_DIMS);
    t->ndim = (int)n;
    t->count = 1;
    for (size_t d = 0; d < n; d++) {
        if (!get_count(json_object_array_get_idx(v, d), &t->shape[d]))
            return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                             "tensor %s: shape dimension %zu is not a non-negative integer",
                             t->name, d);
        if (t->shape[d] != 0 && t->count > (UINT64_MAX >> 4) / (uint64_t)t->shape[d])
            return cls_error(CLS_ERR_WEIGHTS_FORMAT, "tensor %s: shape's element count overflows",
                             t->name);
        t->count *= (uint64_t)t->shape[d];
    }
    return CLS_OK;
}

/* data_offsets [begin, end], relative to the data section of data_size bytes. */
static cls_status parse_offsets(json_object *v, const cls_weight_tensor *t, uint64_t data_size,
                                uint64_t *begin)
{
    int64_t b, e;
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2 ||
        !get_count(json_object_array_get_idx(v, 0), &b) ||
        !get_count(json_object_array_get_idx(v, 1), &e))
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "tensor %s: \"data_offsets\" is not [begin, end] of non-negative integers",
                         t->name);
    if (b > e)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "tensor %s: data_offsets [%lld, %lld] end before they begin", t->name,
                         (long long)b, (long long)e);
    if ((uint64_t)e > data_size)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "tensor %s: data_offsets [%lld, %lld] run past the end of the data "
                         "section (%llu bytes)",
                         t->name, (long long)b, (long long)e, (unsigned long long)data_size);
    uint64_t need = t->count * cls_dtype_size(t->dtype);
    if ((uint64_t)(e - b) != need) {
        char shape[160];
        format_shape(t, shape, sizeof shape);
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "tensor %s: data_offsets [%lld, %lld] hold %lld bytes but shape %s of %s "
                         "needs %llu",
                         t->name, (long long)b, (long long)e, (long long)(e - b), shape,
                         cls_dtype_name(t->dtype), (unsigned long long)need);
    }
    *begin = (uint64_t)b;
    return CLS_OK;
}

static cls_status parse_entry(cls_weights *w, const char *name, json_object *v, uint64_t data_start,
                              uint64_t data_size)
{
    cls_weight_entry e = {.zip_index = -1};
    json_object *dtype, *shape, *offsets;
    uint64_t begin = 0;
    cls_status status = cls_weights_set_name(&e.t, name, strlen(name));
    if (status != CLS_OK)
        return status;
    if (!json_object_is_type(v, json_type_object))
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "tensor %s: entry is not a JSON object", name);
    if (!json_object_object_get_ex(v, "dtype", &dtype))
        dtype = NULL;
    if (!json_object_object_get_ex(v, "shape", &shape))
        shape = NULL;
    if (!json_object_object_get_ex(v, "data_offsets", &offsets))
        offsets = NULL;
    if ((status = parse_dtype(e.t.name, dtype, &e.t.dtype)) != CLS_OK ||
        (status = parse_shape(shape, &e.t)) != CLS_OK ||
        (status = parse_offsets(offsets, &e.t, data_size, &begin)) != CLS_OK)
        return status;
    e.offset = data_start + begin;
    return cls_weights_add(w, &e);
}

static int compare_offsets(const void *a, const void *b)
{
    const cls_weight_entry *x = *(const cls_weight_entry *const *)a;
    const cls_weight_entry *y = *(const cls_weight_entry *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static uint64_t entry_end(const cls_weight_entry *e)
{
    return e->offset + e->t.count * cls_dtype_size(e->t.dtype);
}

/* No two tensors may share a byte: sorted by offset, each ends before the next begins. */
static cls_status check_overlaps(const cls_weights *w, uint64_t data_start)
{
    if (w->count < 2)
        return CLS_OK;
    const cls_weight_entry **sorted = malloc(w->count * sizeof *sorted);
    if (!sorted)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating %zu entries", w->count);
    for (size_t i = 0; i < w->count; i++)
        sorted[i] = &w->entries[i];
    qsort(sorted, w->count, sizeof *sorted, compare_offsets);
    cls_status status = CLS_OK;
    const cls_weight_entry *last = NULL; /* of the non-empty tensors so far, the one ending last */
    for (size_t i = 0; i < w->count && status == CLS_OK; i++) {
        const cls_weight_entry *b = sorted[i];
        if (entry_end(b) == b->offset)
            continue; /* empty tensors take no bytes */
        if (last && entry_end(last) > b->offset)
            status = cls_error(CLS_ERR_WEIGHTS_FORMAT,
                               "tensors %s [%llu, %llu] and %s [%llu, %llu] overlap", last->t.name,
                               (unsigned long long)(last->offset - data_start),
                               (unsigned long long)(entry_end(last) - data_start), b->t.name,
                               (unsigned long long)(b->offset - data_start),
                               (unsigned long long)(entry_end(b) - data_start));
        if (!last || entry_end(b) > entry_end(last))
            last = b;
    }
    free(sorted);
    return status;
}

/* Every JSON value but the first follows a ',', ':' or '[': counting them bounds the
 * memory json-c will use before it allocates any (a 100 MB array of zeros would need GBs). */
static cls_status check_json_size(const char *text, size_t len)
{
    size_t values = 1;
    for (size_t i = 0; i < len; i++)
        values += text[i] == ',' || text[i] == ':' || text[i] == '[';
    if (values > JSON_MAX_VALUES)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "header has about %zu JSON values, more than the limit of %d", values,
                         JSON_MAX_VALUES);
    return CLS_OK;
}

static cls_status parse_json(const char *text, size_t len, json_object **out)
{
    cls_status status = check_json_size(text, len);
    if (status != CLS_OK)
        return status;
    json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
    if (!tok)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating a JSON parser");
    *out = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!*out)
        return cls_error(
            CLS_ERR_WEIGHTS_FORMAT, "header is not valid JSON: %s (at byte %zu)",
            err == json_tokener_continue ? "it ends early" : json_tokener_error_desc(err), 8 + end);
    for (size_t i = end; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
            json_object_put(*out);
            *out = NULL;
            return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                             "header has data after its JSON object (at byte %zu)", 8 + i);
        }
    }
    return CLS_OK;
}

static cls_status parse_header(cls_weights *w, json_object *root, uint64_t data_start,
                               uint64_t data_size)
{
    if (!json_object_is_type(root, json_type_object))
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "header is JSON but not an object");
    json_object_object_foreach(root, name, entry)
    {
        if (strcmp(name, "__metadata__") == 0) {
            if (!json_object_is_type(entry, json_type_object))
                return cls_error(CLS_ERR_WEIGHTS_FORMAT, "__metadata__ is not a JSON object");
            continue; /* free-form strings: ignored */
        }
        cls_status status = parse_entry(w, name, entry, data_start, data_size);
        if (status != CLS_OK)
            return status;
    }
    return CLS_OK;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

cls_status cls_weights_open_safetensors(cls_weights *w, int fd, uint64_t size)
{
    cls_status status = CLS_OK;
    json_object *root = NULL;
    CLS_TRY(cls_weights_map(w, fd, size));
    uint64_t header_len = le64(w->map);
    if (header_len > HEADER_MAX) {
        status = cls_error(CLS_ERR_WEIGHTS_FORMAT,
                           "safetensors header length %llu exceeds the limit of %llu bytes",
                           (unsigned long long)header_len, HEADER_MAX);
        goto fail;
    }
    if (header_len > size - 8) {
        status = cls_error(CLS_ERR_WEIGHTS_FORMAT,
                           "safetensors header length %llu runs past the end of the file (8 + "
                           "%llu > %llu bytes)",
                           (unsigned long long)header_len, (unsigned long long)header_len,
                           (unsigned long long)size);
        goto fail;
    }
    CLS_TRY(parse_json((const char *)w->map + 8, (size_t)header_len, &root));
    CLS_TRY(parse_header(w, root, 8 + header_len, size - 8 - header_len));
    CLS_TRY(check_overlaps(w, 8 + header_len));
    CLS_TRY(cls_weights_check_unique(w));
fail:
    json_object_put(root);
    return status;
}
