/* The weight file reader's shared state: the index entries and where their bytes are, and
 * the per-format openers that fill them in (weights_safetensors.c, weights_pth_zip.c,
 * weights_pth_legacy.c). */
#ifndef CLS_WEIGHTS_WEIGHTS_INTERNAL_H
#define CLS_WEIGHTS_WEIGHTS_INTERNAL_H

#include "weights/weights.h"

#include <stdbool.h>

enum { CLS_WEIGHTS_MAX_TENSORS = 1 << 20 };

typedef struct cls_weight_entry {
    cls_weight_tensor t; /* first, so cls_weights_at can hand out &entry->t */
    uint64_t offset;     /* byte offset of element 0: in the mapping, or in the zip entry */
    int64_t zip_index;   /* the zip entry holding the bytes (PyTorch zip), else -1 */
} cls_weight_entry;

struct zip;

struct cls_weights {
    cls_weights_format format;
    char *path;
    cls_weight_entry *entries;
    size_t count, cap;
    const uint8_t *map; /* safetensors and legacy .pth: the whole file, read-only */
    size_t map_size;
    struct zip *zip;     /* PyTorch zip */
    uint64_t bytes_read; /* tensor bytes read so far: what cls_weights_bytes_read reports */
};

/* Each opener gets the file open as fd, of size bytes, and takes over fd (closing it). */
cls_status cls_weights_open_safetensors(cls_weights *w, int fd, uint64_t size);
cls_status cls_weights_open_pth_zip(cls_weights *w, int fd, uint64_t size);
cls_status cls_weights_open_pth_legacy(cls_weights *w, int fd, uint64_t size);

/* The size of the magic number pickle a legacy .pth starts with (protocol 2, or 3 to 5 as
 * torch.save(pickle_protocol=N) writes it), or 0 when head does not start with it. */
size_t cls_weights_legacy_magic_size(const uint8_t *head, size_t n);

/* Maps the whole file read-only into w->map and closes fd. */
cls_status cls_weights_map(cls_weights *w, int fd, uint64_t size);

/* Reads e's bytes from its zip entry, converting them to float32 into out. */
cls_status cls_weights_read_zip(cls_weights *w, const cls_weight_entry *e, float *out);

/* Appends an entry to the index (bounded by CLS_WEIGHTS_MAX_TENSORS). */
cls_status cls_weights_add(cls_weights *w, const cls_weight_entry *e);

/* Checks a tensor name's length and bytes and copies it into t->name. */
cls_status cls_weights_set_name(cls_weight_tensor *t, const char *name, size_t len);

/* Fails when two entries share a name. */
cls_status cls_weights_check_unique(const cls_weights *w);

/* How many bytes of tensor data this handle has read: unused tensors cost none, which the
 * tests check through this. */
uint64_t cls_weights_bytes_read(const cls_weights *w);

#endif
