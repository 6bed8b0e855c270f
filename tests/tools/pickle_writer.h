/* A pickle emitter that reproduces CPython's protocol-2 pickler, memo included, for what
 * torch.save writes: a state_dict of tensors whose storages are persistent ids. */
#ifndef CLS_TESTS_PICKLE_WRITER_H
#define CLS_TESTS_PICKLE_WRITER_H

#include "weights/weights.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct byte_buf {
    uint8_t *data;
    size_t len, cap;
    bool failed; /* an allocation failed: the contents are incomplete */
} byte_buf;

void buf_bytes(byte_buf *b, const void *p, size_t n);
void buf_u64le(byte_buf *b, uint64_t v);

/* One tensor as the state_dict pickle references it. */
typedef struct pickle_tensor {
    const char *name;
    cls_dtype dtype;
    int ndim;
    const int64_t *shape;
    uint64_t numel;
    const char *storage_key;
} pickle_tensor;

/* legacy: persistent ids carry the 6th view_metadata item (None), as _legacy_save writes.
 * metadata_versions: each module's version, or NULL for 1 everywhere. */
void pickle_state_dict(byte_buf *b, const pickle_tensor *t, size_t n,
                       const char *const *metadata_modules, const int *metadata_versions,
                       bool legacy);

/* The small pickles of a legacy file: magic number, protocol version, sys_info, the list of
 * storage keys. */
void pickle_legacy_header(byte_buf *b);
void pickle_key_list(byte_buf *b, const char *const *keys, size_t n);

#endif
