/* From a state_dict pickle to index entries: every value must be a tensor, contiguous, inside
 * its storage; storages are gathered once per key so each format can locate them. */
#include "weights/weights_state_dict.h"

#include "weights/weights_dtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare_keys(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int compare_slots(const void *a, const void *b)
{
    const cls_storage_slot *x = a, *y = b;
    return compare_keys(x->key, x->key_len, y->key, y->key_len);
}

/* The name of pair i for messages, truncated to fit. */
static void entry_name(const cls_pickle_value *key, char *buf, size_t size)
{
    size_t n = key->u.string.len < size - 1 ? key->u.string.len : size - 1;
    memcpy(buf, key->u.string.data, n);
    buf[n] = '\0';
}

static cls_status check_pair(const cls_pickle_value *key, const cls_pickle_value *value,
                             size_t index)
{
    char name[CLS_WEIGHT_NAME_MAX];
    if (key->kind != CLS_PICKLE_STRING)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "key %zu of the state_dict is a Python %s, not a str", index,
                         cls_pickle_kind_name(key->kind));
    entry_name(key, name, sizeof name);
    if (value->kind != CLS_PICKLE_TENSOR)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "entry %s is a Python %s, not a tensor: expected a state_dict saved with "
                         "torch.save(model.state_dict(), path)",
                         name, cls_pickle_kind_name(value->kind));
    return CLS_OK;
}

/* Merges slots of the same key (sorted), which must agree on dtype and size. */
static cls_status merge_slots(cls_state_dict *sd, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        cls_storage_slot *s = &sd->slots[i];
        cls_storage_slot *prev = out ? &sd->slots[out - 1] : NULL;
        if (prev && compare_slots(prev, s) == 0) {
            if (prev->dtype != s->dtype || prev->numel != s->numel)
                return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                                 "storage %.*s is described as %llu %s and as %llu %s elements",
                                 (int)s->key_len, s->key, (unsigned long long)prev->numel,
                                 cls_dtype_name(prev->dtype), (unsigned long long)s->numel,
                                 cls_dtype_name(s->dtype));
            continue;
        }
        sd->slots[out++] = *s;
    }
    sd->nslots = out;
    return CLS_OK;
}

cls_status cls_state_dict_init(cls_state_dict *sd, const cls_pickle_value *root)
{
    cls_status status = CLS_OK;
    memset(sd, 0, sizeof *sd);
    if (root->kind != CLS_PICKLE_DICT)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "the pickle holds a Python %s, not a state_dict (a dict of tensors)",
                         cls_pickle_kind_name(root->kind));
    size_t n = root->u.seq.len / 2;
    if (n > CLS_WEIGHTS_MAX_TENSORS)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "state_dict of %zu tensors (the limit is %d)", n,
                         CLS_WEIGHTS_MAX_TENSORS);
    sd->root = root;
    sd->slots = calloc(n ? n : 1, sizeof *sd->slots);
    CLS_CHECK_ALLOC(sd->slots, "the storage table");
    for (size_t i = 0; i < n; i++) {
        const cls_pickle_value *key = root->u.seq.items[2 * i],
                               *value = root->u.seq.items[2 * i + 1];
        CLS_TRY(check_pair(key, value, i));
        const cls_pickle_storage *s = &value->u.tensor.storage->u.storage;
        sd->slots[i] = (cls_storage_slot){.key = s->key,
                                          .key_len = s->key_len,
                                          .dtype = s->dtype,
                                          .numel = s->numel,
                                          .zip_index = -1};
    }
    qsort(sd->slots, n, sizeof *sd->slots, compare_slots);
    CLS_TRY(merge_slots(sd, n));
    return CLS_OK;
fail:
    cls_state_dict_free(sd);
    return status;
}

void cls_state_dict_free(cls_state_dict *sd)
{
    free(sd->slots);
    memset(sd, 0, sizeof *sd);
}

cls_storage_slot *cls_state_dict_slot(const cls_state_dict *sd, const char *key, size_t len)
{
    cls_storage_slot probe = {.key = key, .key_len = len};
    return bsearch(&probe, sd->slots, sd->nslots, sizeof *sd->slots, compare_slots);
}

static void format_strides(const int64_t *stride, int ndim, char *buf, size_t size)
{
    int n = snprintf(buf, size, "(");
    for (int d = 0; d < ndim && n > 0 && (size_t)n < size; d++)
        n += snprintf(buf + n, size - (size_t)n, "%s%lld", d ? ", " : "", (long long)stride[d]);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, ")");
}

/* Contiguous means row-major strides; dims of size 1 may have any stride (as in torch). */
static cls_status check_contiguous(const cls_weight_tensor *t, const cls_pickle_tensor *pt)
{
    int64_t want[CLS_WEIGHT_MAX_DIMS], expect = 1;
    bool ok = true;
    if (t->count == 0)
        return CLS_OK; /* no element to address; and the products below could overflow */
    for (int d = pt->ndim - 1; d >= 0; d--) {
        want[d] = expect;
        if (pt->shape[d] != 1 && pt->stride[d] != expect)
            ok = false;
        expect *= pt->shape[d];
    }
    if (ok)
        return CLS_OK;
    char got_s[160], want_s[160];
    format_strides(pt->stride, pt->ndim, got_s, sizeof got_s);
    format_strides(want, pt->ndim, want_s, sizeof want_s);
    return cls_error(CLS_ERR_UNSUPPORTED,
                     "tensor %s: strides %s are not contiguous (expected %s): save it after "
                     ".contiguous()",
                     t->name, got_s, want_s);
}

/* Fills shape and count; dims were checked non-negative by the VM. */
static cls_status set_shape(cls_weight_tensor *t, const cls_pickle_tensor *pt)
{
    t->ndim = pt->ndim;
    t->count = 1;
    for (int d = 0; d < pt->ndim; d++) {
        t->shape[d] = pt->shape[d];
        if (pt->shape[d] != 0 && t->count > (UINT64_MAX >> 4) / (uint64_t)pt->shape[d])
            return cls_error(CLS_ERR_WEIGHTS_FORMAT, "tensor %s: element count overflows", t->name);
        t->count *= (uint64_t)pt->shape[d];
    }
    return CLS_OK;
}

static cls_status make_entry(const cls_state_dict *sd, const cls_pickle_value *key,
                             const cls_pickle_tensor *pt, cls_weight_entry *e)
{
    const cls_pickle_storage *s = &pt->storage->u.storage;
    const cls_storage_slot *slot = cls_state_dict_slot(sd, s->key, s->key_len);
    cls_status status = cls_weights_set_name(&e->t, key->u.string.data, key->u.string.len);
    if (status != CLS_OK || (status = set_shape(&e->t, pt)) != CLS_OK ||
        (status = check_contiguous(&e->t, pt)) != CLS_OK)
        return status;
    e->t.dtype = s->dtype;
    uint64_t base = s->view ? s->view_offset : 0, avail = s->view ? s->view_numel : s->numel;
    if (pt->offset > avail || e->t.count > avail - pt->offset)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "tensor %s: elements [%llu, %llu) run past the end of its storage %.*s "
                         "of %llu elements",
                         e->t.name, (unsigned long long)pt->offset,
                         (unsigned long long)(pt->offset + e->t.count), (int)s->key_len, s->key,
                         (unsigned long long)avail);
    e->offset = slot->offset + (base + pt->offset) * cls_dtype_size(s->dtype);
    e->zip_index = slot->zip_index;
    return CLS_OK;
}

cls_status cls_state_dict_entries(const cls_state_dict *sd, cls_weights *w)
{
    size_t n = sd->root->u.seq.len / 2;
    for (size_t i = 0; i < n; i++) {
        const cls_pickle_value *key = sd->root->u.seq.items[2 * i];
        const cls_pickle_value *value = sd->root->u.seq.items[2 * i + 1];
        cls_weight_entry e = {0};
        cls_status status = make_entry(sd, key, &value->u.tensor, &e);
        if (status == CLS_OK)
            status = cls_weights_add(w, &e);
        if (status != CLS_OK)
            return status;
    }
    return cls_weights_check_unique(w);
}
