/* PyTorch zip checkpoints (torch.save since 1.6): <archive>/data.pkl is the state_dict pickle,
 * <archive>/data/<key> each storage's raw little-endian bytes, read through libzip only when
 * a tensor is asked for. */
#include "weights/weights_internal.h"

#include "weights/pickle.h"
#include "weights/weights_dtype.h"
#include "weights/weights_state_dict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#define PICKLE_MAX ((uint64_t)64 << 20) /* bytes of data.pkl */
enum { MAX_ENTRIES = 1 << 20, PREFIX_MAX = 200, CHUNK = 1 << 20 };

static cls_status zip_failure(zip_t *za, const char *what)
{
    return cls_error(CLS_ERR_WEIGHTS_FORMAT, "%s: %s", what, zip_strerror(za));
}

static cls_status open_archive(cls_weights *w, int fd)
{
    int err = 0;
    w->zip = zip_fdopen(fd, ZIP_CHECKCONS, &err);
    if (w->zip)
        return CLS_OK; /* libzip now owns fd */
    close(fd);
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    cls_status status =
        cls_error(err == ZIP_ER_OPEN || err == ZIP_ER_READ ? CLS_ERR_IO : CLS_ERR_WEIGHTS_FORMAT,
                  "not a valid zip archive: %s", zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return status;
}

/* True for "<prefix>/data.pkl" with a non-empty prefix free of '/'. */
static bool is_data_pkl(const char *name, size_t *prefix_len)
{
    const char *slash = strchr(name, '/');
    if (!slash || slash == name || strcmp(slash, "/data.pkl") != 0)
        return false;
    *prefix_len = (size_t)(slash - name);
    return true;
}

static cls_status find_prefix(zip_t *za, char *prefix, size_t size)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n > MAX_ENTRIES)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "zip archive of %lld entries (the limit is %d)",
                         (long long)n, MAX_ENTRIES);
    size_t found = 0, len = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (name && is_data_pkl(name, &len) && found++ == 0) {
            if (len >= size)
                return cls_error(CLS_ERR_WEIGHTS_FORMAT, "zip entry name too long: %.64s...", name);
            memcpy(prefix, name, len);
            prefix[len] = '\0';
        }
    }
    if (found > 1)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "zip archive holds %zu data.pkl entries", found);
    if (found == 0)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "zip archive has no <archive>/data.pkl entry: not a torch.save "
                         "checkpoint%s",
                         zip_name_locate(za, "constants.pkl", ZIP_FL_NODIR) >= 0
                             ? " (a TorchScript archive? save the state_dict with torch.save)"
                             : "");
    return CLS_OK;
}

static cls_status locate(zip_t *za, const char *prefix, const char *name, bool required,
                         zip_int64_t *index, zip_uint64_t *size)
{
    char full[PREFIX_MAX + CLS_WEIGHT_NAME_MAX + 16];
    zip_stat_t st;
    snprintf(full, sizeof full, "%s/%s", prefix, name);
    *index = zip_name_locate(za, full, ZIP_FL_ENC_RAW);
    if (*index < 0)
        return required ? cls_error(CLS_ERR_WEIGHTS_FORMAT, "zip archive has no %s entry", full)
                        : CLS_OK;
    if (zip_stat_index(za, (zip_uint64_t)*index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return zip_failure(za, full);
    *size = st.size;
    return CLS_OK;
}

static const char *entry_name(zip_t *za, zip_int64_t index)
{
    const char *name = zip_get_name(za, (zip_uint64_t)index, ZIP_FL_ENC_RAW);
    return name ? name : "zip entry";
}

/* Reads exactly size bytes from zf into buf (NULL: read and drop them). */
static cls_status read_exact(zip_t *za, zip_int64_t index, zip_file_t *zf, void *buf, uint64_t size)
{
    uint8_t scratch[4096];
    for (uint64_t done = 0; done < size;) {
        uint64_t want = size - done;
        if (!buf && want > sizeof scratch)
            want = sizeof scratch;
        zip_int64_t got = zip_fread(zf, buf ? (uint8_t *)buf + done : scratch, want);
        if (got <= 0)
            return cls_error(CLS_ERR_WEIGHTS_FORMAT, "%s: read %llu of %llu bytes: %s",
                             entry_name(za, index), (unsigned long long)done,
                             (unsigned long long)size,
                             got < 0 ? zip_file_strerror(zf) : "the entry ends early");
        done += (uint64_t)got;
    }
    return CLS_OK;
}

/* Opens entry index positioned at offset: a seek for stored entries, else a skip. */
static cls_status open_at(zip_t *za, zip_int64_t index, uint64_t offset, zip_file_t **zf)
{
    *zf = zip_fopen_index(za, (zip_uint64_t)index, 0);
    if (!*zf)
        return zip_failure(za, entry_name(za, index));
    if (offset == 0 || zip_fseek(*zf, (zip_int64_t)offset, SEEK_SET) == 0)
        return CLS_OK;
    zip_fclose(*zf); /* compressed: read up to offset instead */
    *zf = zip_fopen_index(za, (zip_uint64_t)index, 0);
    if (!*zf)
        return zip_failure(za, entry_name(za, index));
    return read_exact(za, index, *zf, NULL, offset);
}

static cls_status read_entry(zip_t *za, zip_int64_t index, void *buf, uint64_t size)
{
    zip_file_t *zf = NULL;
    cls_status status = open_at(za, index, 0, &zf);
    if (status == CLS_OK)
        status = read_exact(za, index, zf, buf, size);
    if (zf)
        zip_fclose(zf);
    return status;
}

/* A small text entry (version, byteorder), NUL-terminated and without its trailing newline. */
static cls_status read_text(zip_t *za, const char *prefix, const char *name, bool required,
                            char *buf, size_t size)
{
    zip_int64_t index = -1;
    zip_uint64_t len = 0;
    buf[0] = '\0';
    cls_status status = locate(za, prefix, name, required, &index, &len);
    if (status != CLS_OK || index < 0)
        return status;
    if (len >= size)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "%s/%s entry of %llu bytes is too long", prefix,
                         name, (unsigned long long)len);
    if ((status = read_entry(za, index, buf, len)) != CLS_OK)
        return status;
    buf[len] = '\0';
    if (len && buf[len - 1] == '\n')
        buf[len - 1] = '\0';
    return CLS_OK;
}

static cls_status check_records(zip_t *za, const char *prefix)
{
    char version[32], order[32];
    cls_status status = read_text(za, prefix, "version", true, version, sizeof version);
    if (status != CLS_OK)
        return status;
    if (!version[0] || strspn(version, "0123456789") != strlen(version))
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "%s/version is not a number", prefix);
    if ((status = read_text(za, prefix, "byteorder", false, order, sizeof order)) != CLS_OK)
        return status;
    if (strcmp(order, "big") == 0)
        return cls_error(CLS_ERR_UNSUPPORTED,
                         "%s/byteorder is \"big\": big-endian checkpoints "
                         "are not supported (re-save it on a little-endian machine)",
                         prefix);
    if (order[0] && strcmp(order, "little") != 0)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "%s/byteorder is neither \"little\" nor \"big\"",
                         prefix);
    return CLS_OK;
}

static cls_status read_pickle(zip_t *za, const char *prefix, uint8_t **buf, size_t *size)
{
    zip_int64_t index = -1;
    zip_uint64_t len = 0;
    cls_status status = locate(za, prefix, "data.pkl", true, &index, &len);
    if (status != CLS_OK)
        return status;
    if (len > PICKLE_MAX)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "%s/data.pkl of %llu bytes exceeds the limit of "
                         "%llu",
                         prefix, (unsigned long long)len, (unsigned long long)PICKLE_MAX);
    *buf = malloc(len ? (size_t)len : 1);
    if (!*buf)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating %llu bytes for data.pkl",
                         (unsigned long long)len);
    *size = (size_t)len;
    return read_entry(za, index, *buf, len);
}

/* Each storage is the entry <prefix>/data/<key>, exactly numel elements long. */
static cls_status locate_storages(zip_t *za, const char *prefix, cls_state_dict *sd)
{
    for (size_t i = 0; i < sd->nslots; i++) {
        cls_storage_slot *s = &sd->slots[i];
        char name[CLS_WEIGHT_NAME_MAX + 8];
        zip_int64_t index = -1;
        zip_uint64_t len = 0;
        snprintf(name, sizeof name, "data/%.*s", (int)s->key_len, s->key);
        cls_status status = locate(za, prefix, name, true, &index, &len);
        if (status != CLS_OK)
            return cls_error_context(status, "storage %.*s", (int)s->key_len, s->key);
        size_t es = cls_dtype_size(s->dtype);
        if (s->numel > UINT64_MAX / es || len != s->numel * es)
            return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                             "storage %.*s: zip entry %s/%s holds %llu bytes but %llu %s elements "
                             "need %llu",
                             (int)s->key_len, s->key, prefix, name, (unsigned long long)len,
                             (unsigned long long)s->numel, cls_dtype_name(s->dtype),
                             (unsigned long long)(s->numel * es));
        s->zip_index = index;
        s->offset = 0;
        s->located = true;
    }
    return CLS_OK;
}

cls_status cls_weights_open_pth_zip(cls_weights *w, int fd, uint64_t size)
{
    cls_status status = CLS_OK;
    char prefix[PREFIX_MAX];
    uint8_t *pkl = NULL;
    size_t pkl_size = 0, used = 0;
    cls_pickle *p = NULL;
    const cls_pickle_value *root = NULL;
    cls_state_dict sd = {0};
    (void)size;
    CLS_TRY(open_archive(w, fd));
    CLS_TRY(find_prefix(w->zip, prefix, sizeof prefix));
    CLS_TRY(check_records(w->zip, prefix));
    CLS_TRY(read_pickle(w->zip, prefix, &pkl, &pkl_size));
    status = cls_pickle_load(pkl, pkl_size, 0, &p, &root, &used);
    if (status != CLS_OK) {
        cls_error_context(status, "%s/data.pkl", prefix);
        goto fail;
    }
    CLS_TRY(cls_state_dict_init(&sd, root));
    CLS_TRY(locate_storages(w->zip, prefix, &sd));
    CLS_TRY(cls_state_dict_entries(&sd, w));
fail:
    cls_state_dict_free(&sd);
    cls_pickle_free(p);
    free(pkl);
    return status;
}

/* When a read ends where its entry does, one more read lets libzip check the CRC. */
static cls_status check_end(zip_t *za, const cls_weight_entry *e, zip_file_t *zf)
{
    zip_stat_t st;
    uint8_t extra;
    uint64_t end = e->offset + e->t.count * cls_dtype_size(e->t.dtype);
    if (zip_stat_index(za, (zip_uint64_t)e->zip_index, 0, &st) != 0 ||
        !(st.valid & ZIP_STAT_SIZE) || st.size != end)
        return CLS_OK;
    if (zip_fread(zf, &extra, 1) < 0)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "%s: %s", entry_name(za, e->zip_index),
                         zip_file_strerror(zf));
    return CLS_OK;
}

cls_status cls_weights_read_zip(cls_weights *w, const cls_weight_entry *e, float *out)
{
    size_t es = cls_dtype_size(e->t.dtype);
    zip_file_t *zf = NULL;
    uint8_t *chunk = malloc(CHUNK);
    if (!chunk)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating a read buffer");
    cls_status status = open_at(w->zip, e->zip_index, e->offset, &zf);
    for (uint64_t done = 0; status == CLS_OK && done < e->t.count;) {
        uint64_t n = e->t.count - done < CHUNK / es ? e->t.count - done : CHUNK / es;
        status = read_exact(w->zip, e->zip_index, zf, chunk, n * es);
        if (status == CLS_OK)
            cls_dtype_decode(e->t.dtype, chunk, (size_t)n, out + done);
        done += n;
    }
    if (status == CLS_OK)
        status = check_end(w->zip, e, zf);
    if (zf)
        zip_fclose(zf);
    free(chunk);
    return status == CLS_OK ? CLS_OK : cls_error_context(status, "tensor %s", e->t.name);
}
