/* Legacy PyTorch checkpoints (torch.save(..., _use_new_zipfile_serialization=False), as
 * torchvision's VGG files): pickles of the magic number, protocol version, sys_info, the
 * state_dict and the list of storage keys, then each storage as an int64 element count and
 * its raw bytes. Storages are located by their counts alone: the data is never touched
 * until a tensor is read. */
#include "weights/weights_internal.h"

#include "weights/pickle.h"
#include "weights/weights_dtype.h"
#include "weights/weights_state_dict.h"

#include <stdlib.h>
#include <string.h>

enum { PROTOCOL_VERSION = 1001 };

/* LONG1 0x1950a86a20f9469cfc6c, STOP. */
static const uint8_t magic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

size_t cls_weights_legacy_magic_size(const uint8_t *head, size_t n)
{
    if (n < 2 || head[0] != 0x80 || head[1] < 2 || head[1] > 5) /* PROTO 2..5 */
        return 0;
    size_t at = 2;
    if (n > at && head[at] == 0x95) /* FRAME and its 8-byte length (protocol 4 and up) */
        at += 9;
    if (n < at + sizeof magic || memcmp(head + at, magic, sizeof magic) != 0)
        return 0;
    return at + sizeof magic;
}

/* Runs the pickle at *pos, moving *pos past it. */
static cls_status load_at(const cls_weights *w, size_t *pos, const char *what, cls_pickle **p,
                          const cls_pickle_value **root)
{
    size_t used = 0;
    cls_status status = cls_pickle_load(w->map + *pos, w->map_size - *pos, *pos, p, root, &used);
    if (status != CLS_OK)
        return cls_error_context(status, "%s pickle", what);
    *pos += used;
    return CLS_OK;
}

static cls_status check_protocol(const cls_pickle_value *v)
{
    if (v->kind != CLS_PICKLE_INT || v->u.integer != PROTOCOL_VERSION)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "legacy protocol version is %lld, expected %d",
                         v->kind == CLS_PICKLE_INT ? (long long)v->u.integer : -1LL,
                         PROTOCOL_VERSION);
    return CLS_OK;
}

/* sys_info is a dict; a little_endian of False means the data is big-endian. */
static cls_status check_sys_info(const cls_pickle_value *v)
{
    if (v->kind != CLS_PICKLE_DICT)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "sys_info is a Python %s, not a dict",
                         cls_pickle_kind_name(v->kind));
    for (size_t i = 0; i + 1 < v->u.seq.len; i += 2) {
        const cls_pickle_value *value = v->u.seq.items[i + 1];
        if (cls_pickle_is_string(v->u.seq.items[i], "little_endian") &&
            value->kind == CLS_PICKLE_BOOL && !value->u.boolean)
            return cls_error(CLS_ERR_UNSUPPORTED, "sys_info says little_endian=False: "
                                                  "big-endian checkpoints are not supported");
    }
    return CLS_OK;
}

static cls_status locate_one(const cls_weights *w, cls_state_dict *sd, const cls_pickle_value *key,
                             size_t *pos)
{
    if (key->kind != CLS_PICKLE_STRING)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "storage list holds a Python %s, not a key",
                         cls_pickle_kind_name(key->kind));
    int klen = key->u.string.len > 64 ? 64 : (int)key->u.string.len;
    const char *k = key->u.string.data;
    cls_storage_slot *s = cls_state_dict_slot(sd, k, key->u.string.len);
    if (!s)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "storage %.*s is listed but no tensor uses it (its size is unknown)", klen,
                         k);
    if (s->located)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "storage %.*s is listed twice", klen, k);
    if (w->map_size - *pos < 8)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "storage %.*s: its element count at byte %zu is past the end of the file "
                         "(%zu bytes)",
                         klen, k, *pos, w->map_size);
    uint64_t count = 0, es = cls_dtype_size(s->dtype);
    for (int i = 0; i < 8; i++)
        count |= (uint64_t)w->map[*pos + (size_t)i] << (8 * i);
    if (count != s->numel)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "storage %.*s: the file holds %llu elements, the pickle says %llu", klen,
                         k, (unsigned long long)count, (unsigned long long)s->numel);
    size_t data = *pos + 8;
    if (count > (w->map_size - data) / es)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "storage %.*s: %llu %s elements from byte %zu run past the end of the "
                         "file (%zu bytes)",
                         klen, k, (unsigned long long)count, cls_dtype_name(s->dtype), data,
                         w->map_size);
    s->offset = data;
    s->located = true;
    *pos = data + (size_t)(count * es);
    return CLS_OK;
}

/* Walks the storages in the listed order, each an element count then its bytes. */
static cls_status locate_storages(const cls_weights *w, cls_state_dict *sd,
                                  const cls_pickle_value *keys, size_t pos)
{
    if (keys->kind != CLS_PICKLE_LIST)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "the storage list is a Python %s, not a list",
                         cls_pickle_kind_name(keys->kind));
    for (size_t i = 0; i < keys->u.seq.len; i++) {
        cls_status status = locate_one(w, sd, keys->u.seq.items[i], &pos);
        if (status != CLS_OK)
            return status;
    }
    for (size_t i = 0; i < sd->nslots; i++)
        if (!sd->slots[i].located)
            return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                             "storage %.*s is used by a tensor but missing from the storage list",
                             (int)sd->slots[i].key_len, sd->slots[i].key);
    return CLS_OK;
}

/* One of the small pickles before the state_dict: loaded, checked, dropped. */
static cls_status check_small(const cls_weights *w, size_t *pos, const char *what,
                              cls_status (*check)(const cls_pickle_value *))
{
    cls_pickle *p = NULL;
    const cls_pickle_value *v = NULL;
    cls_status status = load_at(w, pos, what, &p, &v);
    if (status == CLS_OK)
        status = check(v);
    cls_pickle_free(p);
    return status;
}

cls_status cls_weights_open_pth_legacy(cls_weights *w, int fd, uint64_t size)
{
    cls_status status = CLS_OK;
    cls_pickle *dict = NULL, *list = NULL;
    const cls_pickle_value *root = NULL, *keys = NULL;
    cls_state_dict sd = {0};
    size_t pos = 0;
    CLS_TRY(cls_weights_map(w, fd, size));
    pos = cls_weights_legacy_magic_size(w->map, w->map_size); /* non-zero: format detection */
    CLS_TRY(check_small(w, &pos, "protocol version", check_protocol));
    CLS_TRY(check_small(w, &pos, "sys_info", check_sys_info));
    CLS_TRY(load_at(w, &pos, "state_dict", &dict, &root));
    CLS_TRY(cls_state_dict_init(&sd, root));
    CLS_TRY(load_at(w, &pos, "storage list", &list, &keys));
    CLS_TRY(locate_storages(w, &sd, keys, pos));
    CLS_TRY(cls_state_dict_entries(&sd, w));
fail:
    cls_state_dict_free(&sd);
    cls_pickle_free(list);
    cls_pickle_free(dict);
    return status;
}
