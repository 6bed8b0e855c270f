/* The three weight file formats written from float32 tensors: safetensors (header JSON,
 * then the data), PyTorch zip (libzip, stored entries) and legacy PyTorch (pickles, then
 * each storage as an element count and its bytes). */
#include "weights_writer.h"

#include "weights/weights_dtype.h"
#include "pickle_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

uint64_t writer_count(const writer_tensor *t)
{
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (uint64_t)t->shape[d];
    return n;
}

/* t's values in dtype, little-endian, appended to b. */
static void encode(byte_buf *b, const writer_tensor *t, cls_dtype dtype)
{
    uint64_t n = writer_count(t);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &t->data[i], sizeof bits);
        uint8_t out[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16),
                          (uint8_t)(bits >> 24)};
        uint16_t half =
            dtype == CLS_DTYPE_F16 ? cls_f32_to_f16(t->data[i]) : cls_f32_to_bf16(t->data[i]);
        if (dtype != CLS_DTYPE_F32) {
            out[0] = (uint8_t)half;
            out[1] = (uint8_t)(half >> 8);
        }
        buf_bytes(b, out, cls_dtype_size(dtype));
    }
}

static cls_status write_file(const char *path, const byte_buf *b)
{
    if (b->failed)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "building %s", path);
    FILE *f = fopen(path, "wb");
    if (!f)
        return cls_error(CLS_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    bool ok = fwrite(b->data, 1, b->len, f) == b->len;
    ok = fclose(f) == 0 && ok;
    return ok ? CLS_OK : cls_error(CLS_ERR_IO, "writing %s failed", path);
}

static void json_string(byte_buf *b, const char *s)
{
    buf_bytes(b, "\"", 1);
    for (; *s; s++) {
        char esc[8];
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)*s);
            buf_bytes(b, esc, strlen(esc));
        } else {
            buf_bytes(b, s, 1);
        }
    }
    buf_bytes(b, "\"", 1);
}

static void header_entry(byte_buf *h, const writer_tensor *t, cls_dtype dtype, uint64_t *offset)
{
    char text[128];
    buf_bytes(h, ",", 1);
    json_string(h, t->name);
    snprintf(text, sizeof text, ":{\"dtype\":\"%s\",\"shape\":[", cls_dtype_name(dtype));
    buf_bytes(h, text, strlen(text));
    for (int d = 0; d < t->ndim; d++) {
        snprintf(text, sizeof text, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        buf_bytes(h, text, strlen(text));
    }
    uint64_t end = *offset + writer_count(t) * cls_dtype_size(dtype);
    snprintf(text, sizeof text, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)*offset,
             (unsigned long long)end);
    buf_bytes(h, text, strlen(text));
    *offset = end;
}

cls_status writer_safetensors(const char *path, const writer_tensor *t, size_t n,
                              const writer_options *opt)
{
    byte_buf h = {0}, file = {0};
    static const char meta[] = "{\"__metadata__\":{\"format\":\"pt\"}";
    uint64_t offset = 0;
    buf_bytes(&h, meta, strlen(meta));
    for (size_t i = 0; i < n; i++)
        header_entry(&h, &t[i], opt->dtype, &offset);
    buf_bytes(&h, "}", 1);
    while (h.len % 8) /* the data starts 8-byte aligned, padded with spaces as usual */
        buf_bytes(&h, " ", 1);
    buf_u64le(&file, h.len);
    buf_bytes(&file, h.data, h.len);
    for (size_t i = 0; i < n; i++)
        encode(&file, &t[i], opt->dtype);
    cls_status status = h.failed ? cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "building a header")
                                 : write_file(path, &file);
    free(h.data);
    free(file.data);
    return status;
}

static void state_dict(byte_buf *b, const writer_tensor *t, size_t n, const writer_options *opt,
                       char (*keys)[32], bool legacy)
{
    pickle_tensor *pt = calloc(n ? n : 1, sizeof *pt);
    if (!pt) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        pt[i] = (pickle_tensor){.name = t[i].name,
                                .dtype = opt->dtype,
                                .ndim = t[i].ndim,
                                .shape = t[i].shape,
                                .numel = writer_count(&t[i]),
                                .storage_key = keys[i]};
    pickle_state_dict(b, pt, n, opt->metadata_modules, opt->metadata_versions, legacy);
    free(pt);
}

/* torch names the archive folder after the file: "vgg19" for "out/vgg19.pth". */
static void archive_name(const char *path, char *out, size_t size)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    snprintf(out, size, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
    if (!out[0])
        snprintf(out, size, "archive");
}

static bool add_entry(zip_t *za, const char *prefix, const char *name, const void *data, size_t len)
{
    char full[512];
    snprintf(full, sizeof full, "%s/%s", prefix, name);
    zip_source_t *src = zip_source_buffer(za, data, len, 0);
    if (!src)
        return false;
    zip_int64_t index = zip_file_add(za, full, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
    if (index < 0) {
        zip_source_free(src);
        return false;
    }
    /* Stored, as torch writes them; a fixed time so the output is reproducible. */
    return zip_set_file_compression(za, (zip_uint64_t)index, ZIP_CM_STORE, 0) == 0 &&
           zip_file_set_mtime(za, (zip_uint64_t)index, 315532800, 0) == 0;
}

static cls_status zip_entries(zip_t *za, const char *prefix, const byte_buf *pkl,
                              const byte_buf *storages, char (*keys)[32], size_t n)
{
    static const char byteorder[] = "little", version[] = "3\n";
    bool ok = add_entry(za, prefix, "data.pkl", pkl->data, pkl->len) &&
              add_entry(za, prefix, "byteorder", byteorder, strlen(byteorder));
    for (size_t i = 0; ok && i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "data/%s", keys[i]);
        ok = add_entry(za, prefix, name, storages[i].data, storages[i].len);
    }
    ok = ok && add_entry(za, prefix, "version", version, strlen(version));
    return ok ? CLS_OK : cls_error(CLS_ERR_IO, "adding zip entries: %s", zip_strerror(za));
}

cls_status writer_pth(const char *path, const writer_tensor *t, size_t n, const writer_options *opt)
{
    cls_status status = CLS_OK;
    byte_buf pkl = {0}, *storages = calloc(n ? n : 1, sizeof *storages);
    char(*keys)[32] = calloc(n ? n : 1, sizeof *keys), prefix[256];
    zip_t *za = NULL;
    int err = 0;
    if (!storages || !keys) {
        status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "building %s", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "%zu", i); /* torch numbers storages in order */
        encode(&storages[i], &t[i], opt->dtype);
        pkl.failed |= storages[i].failed;
    }
    state_dict(&pkl, t, n, opt, keys, false);
    archive_name(path, prefix, sizeof prefix);
    za = pkl.failed ? NULL : zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za) {
        status = cls_error(CLS_ERR_IO, "cannot create %s (libzip error %d)", path, err);
        goto done;
    }
    status = zip_entries(za, prefix, &pkl, storages, keys, n);
    if (status == CLS_OK && zip_close(za) != 0)
        status = cls_error(CLS_ERR_IO, "writing %s: %s", path, zip_strerror(za));
    if (status != CLS_OK)
        zip_discard(za);
done:
    for (size_t i = 0; storages && i < n; i++)
        free(storages[i].data);
    free(storages);
    free(keys);
    free(pkl.data);
    return status;
}

typedef struct keyed {
    const char *key;
    size_t index;
} keyed;

static int compare_keyed(const void *a, const void *b)
{
    return strcmp(((const keyed *)a)->key, ((const keyed *)b)->key);
}

cls_status writer_pth_legacy(const char *path, const writer_tensor *t, size_t n,
                             const writer_options *opt)
{
    byte_buf file = {0};
    char(*keys)[32] = calloc(n ? n : 1, sizeof *keys);
    keyed *order = calloc(n ? n : 1, sizeof *order);
    const char **sorted = calloc(n ? n : 1, sizeof *sorted);
    cls_status status = CLS_OK;
    if (!keys || !order || !sorted) {
        status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "building %s", path);
        goto done;
    }
    /* Keys look like torch's (storage addresses); later tensors get lower addresses, so the
     * sorted storage list runs opposite to the state_dict's order, as it can in real files. */
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "%llu", 94500000000000ull - 65536ull * i);
        order[i] = (keyed){keys[i], i};
    }
    qsort(order, n, sizeof *order, compare_keyed);
    for (size_t k = 0; k < n; k++)
        sorted[k] = order[k].key;
    pickle_legacy_header(&file);
    state_dict(&file, t, n, opt, keys, true);
    pickle_key_list(&file, sorted, n);
    for (size_t k = 0; k < n; k++) {
        buf_u64le(&file, writer_count(&t[order[k].index]));
        encode(&file, &t[order[k].index], opt->dtype);
    }
    status = write_file(path, &file);
done:
    free(file.data);
    free(keys);
    free(order);
    free(sorted);
    return status;
}
