/* A PyTorch state_dict as the pickle VM returns it, turned into index entries: the tensors
 * and the storages they view, which each checkpoint format then locates in its file. */
#ifndef CLS_WEIGHTS_WEIGHTS_STATE_DICT_H
#define CLS_WEIGHTS_WEIGHTS_STATE_DICT_H

#include "weights/pickle.h"
#include "weights/weights_internal.h"

typedef struct cls_storage_slot {
    const char *key; /* not NUL-terminated; points into the pickle buffer */
    size_t key_len;
    cls_dtype dtype;
    uint64_t numel;
    bool located;
    uint64_t offset;   /* byte offset of element 0, set by the format: file or zip entry */
    int64_t zip_index; /* the zip entry holding the storage, or -1 */
} cls_storage_slot;

typedef struct cls_state_dict {
    const cls_pickle_value *root; /* a dict of name -> tensor */
    cls_storage_slot *slots;      /* one per distinct storage key, sorted by key */
    size_t nslots;
} cls_state_dict;

/* Checks that root is a dict of str -> tensor and gathers the storages its tensors use. */
cls_status cls_state_dict_init(cls_state_dict *sd, const cls_pickle_value *root);
void cls_state_dict_free(cls_state_dict *sd);

/* The slot of storage key, or NULL. */
cls_storage_slot *cls_state_dict_slot(const cls_state_dict *sd, const char *key, size_t len);

/* Once every slot is located: appends one checked entry per tensor to w. */
cls_status cls_state_dict_entries(const cls_state_dict *sd, cls_weights *w);

#endif
