/* A minimal, safe pickle VM for PyTorch state_dicts: it builds values (no Python objects, no
 * code) from the handful of opcodes and allow-listed globals that torch.save writes for a
 * dict of float tensors, and rejects everything else, naming the opcode or global and its
 * byte offset. Every resource it uses is bounded. */
#ifndef CLS_WEIGHTS_PICKLE_H
#define CLS_WEIGHTS_PICKLE_H

#include "weights/weights.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CLS_PICKLE_MAX_STACK = 1 << 16,  /* values on the stack */
    CLS_PICKLE_MAX_MARKS = 64,       /* open MARKs: nesting depth */
    CLS_PICKLE_MAX_MEMO = 1 << 22,   /* memo indices */
    CLS_PICKLE_MAX_VALUES = 1 << 22, /* values built */
    CLS_PICKLE_MAX_STRING = 1 << 20, /* bytes in one string */
};
#define CLS_PICKLE_MAX_ALLOC ((size_t)256 << 20) /* bytes allocated by one load */

typedef enum cls_pickle_kind {
    CLS_PICKLE_NONE,
    CLS_PICKLE_BOOL,
    CLS_PICKLE_INT,
    CLS_PICKLE_FLOAT,
    CLS_PICKLE_STRING, /* str or bytes (BINSTRING); points into the pickle buffer */
    CLS_PICKLE_TUPLE,
    CLS_PICKLE_LIST,
    CLS_PICKLE_DICT,    /* dict or collections.OrderedDict: key, value pairs in order */
    CLS_PICKLE_GLOBAL,  /* an allow-listed class or function */
    CLS_PICKLE_STORAGE, /* a persistent id ('storage', type, key, location, numel[, view]) */
    CLS_PICKLE_TENSOR,  /* the result of torch._utils._rebuild_tensor{,_v2} */
} cls_pickle_kind;

/* The globals a state_dict of float tensors needs; nothing else can be named. */
typedef enum cls_pickle_global {
    CLS_PICKLE_ORDERED_DICT,     /* collections.OrderedDict */
    CLS_PICKLE_REBUILD_TENSOR,   /* torch._utils._rebuild_tensor (torch < 0.4 files) */
    CLS_PICKLE_REBUILD_TENSOR_2, /* torch._utils._rebuild_tensor_v2 */
    CLS_PICKLE_REBUILD_PARAM,    /* torch._utils._rebuild_parameter */
    CLS_PICKLE_FLOAT_STORAGE,    /* torch.FloatStorage */
    CLS_PICKLE_HALF_STORAGE,     /* torch.HalfStorage */
    CLS_PICKLE_BF16_STORAGE,     /* torch.BFloat16Storage */
} cls_pickle_global;

typedef struct cls_pickle_value cls_pickle_value;

typedef struct cls_pickle_storage {
    cls_dtype dtype;
    const char *key; /* not NUL-terminated */
    size_t key_len;
    uint64_t numel;       /* elements of the whole (root) storage */
    bool view;            /* legacy view_metadata present */
    uint64_t view_offset; /* elements */
    uint64_t view_numel;
} cls_pickle_storage;

typedef struct cls_pickle_tensor {
    const cls_pickle_value *storage; /* a CLS_PICKLE_STORAGE value */
    uint64_t offset;                 /* storage_offset, elements */
    int ndim;
    int64_t shape[CLS_WEIGHT_MAX_DIMS];
    int64_t stride[CLS_WEIGHT_MAX_DIMS];
} cls_pickle_tensor;

struct cls_pickle_value {
    cls_pickle_kind kind;
    union {
        bool boolean;
        int64_t integer;
        double real;
        struct {
            const char *data;
            size_t len;
        } string;
        struct {
            cls_pickle_value **items; /* a dict holds 2 * len items: key, value, ... */
            size_t len, cap;
            bool ordered; /* a dict made by collections.OrderedDict */
        } seq;
        cls_pickle_global global;
        cls_pickle_storage storage;
        cls_pickle_tensor tensor;
    } u;
};

/* Owns every value one load built. */
typedef struct cls_pickle cls_pickle;

/* Runs the pickle at buf[0..size) up to its STOP. *consumed receives the bytes used (the
 * pickle may be followed by other data); *root the value it returned, valid until
 * cls_pickle_free and only while buf lives (strings point into it). Error messages give
 * byte offsets as origin + position in buf. */
cls_status cls_pickle_load(const uint8_t *buf, size_t size, uint64_t origin, cls_pickle **out,
                           const cls_pickle_value **root, size_t *consumed);
void cls_pickle_free(cls_pickle *p); /* NULL is a no-op */

/* "int", "tuple", "dict", ... for messages. */
const char *cls_pickle_kind_name(cls_pickle_kind kind);

/* True when v is a string equal to s. */
bool cls_pickle_is_string(const cls_pickle_value *v, const char *s);

#endif
