/* Weight files as PyTorch users have them: safetensors, and PyTorch checkpoints (.pth) in
 * both the zip format (torch >= 1.6) and the legacy pickle-stream format. The format is
 * chosen by the file's content, never its name. Opening a file reads only its header /
 * index: tensor data is read (and converted to float32) when asked for, so unused tensors
 * (a classifier) cost nothing. */
#ifndef CLS_WEIGHTS_WEIGHTS_H
#define CLS_WEIGHTS_WEIGHTS_H

#include "runtime/error.h"

#include <stddef.h>
#include <stdint.h>

typedef enum cls_weights_format {
    CLS_WEIGHTS_SAFETENSORS,
    CLS_WEIGHTS_PTH_ZIP,
    CLS_WEIGHTS_PTH_LEGACY,
} cls_weights_format;

typedef enum cls_dtype {
    CLS_DTYPE_F32,
    CLS_DTYPE_F16,
    CLS_DTYPE_BF16,
} cls_dtype;

enum { CLS_WEIGHT_MAX_DIMS = 8, CLS_WEIGHT_NAME_MAX = 256 };

/* One tensor of the file, as its index describes it. */
typedef struct cls_weight_tensor {
    char name[CLS_WEIGHT_NAME_MAX];
    cls_dtype dtype;
    int ndim;
    int64_t shape[CLS_WEIGHT_MAX_DIMS];
    uint64_t count; /* product of shape (1 for a scalar) */
} cls_weight_tensor;

typedef struct cls_weights cls_weights;

/* Opens and validates a weight file's index. Errors (CLS_ERR_IO for unreadable files,
 * CLS_ERR_WEIGHTS_FORMAT for malformed or hostile ones, CLS_ERR_UNSUPPORTED for valid
 * files this reader does not handle) name the file and what is wrong. */
cls_status cls_weights_open(const char *path, cls_weights **out);
void cls_weights_close(cls_weights *w); /* NULL is a no-op */

cls_weights_format cls_weights_get_format(const cls_weights *w);
const char *cls_weights_format_name(cls_weights_format format); /* "safetensors", ... */

size_t cls_weights_count(const cls_weights *w);
const cls_weight_tensor *cls_weights_at(const cls_weights *w, size_t index);
/* NULL when the file has no tensor of that name. */
const cls_weight_tensor *cls_weights_find(const cls_weights *w, const char *name);

/* The tensor `name` with exactly this shape (ndim dimensions), or CLS_ERR_WEIGHTS_MISMATCH
 * naming path, the tensor, and the expected and actual shapes; a missing tensor's message
 * ends with hint (e.g. "is this a torchvision VGG checkpoint?"). */
cls_status cls_weights_expect(const cls_weights *w, const char *path, const char *name,
                              const int64_t *shape, int ndim, const char *hint,
                              const cls_weight_tensor **out);

/* "[64, 3, 3, 3]" into buf. */
void cls_weights_shape_text(const int64_t *shape, int ndim, char *buf, size_t size);

/* Reads a tensor's values as float32 (converting F16 / BF16) into out[t->count].
 * CLS_ERR_WEIGHTS_FORMAT when a value is NaN or infinite, naming the tensor and index. */
cls_status cls_weights_read_f32(cls_weights *w, const cls_weight_tensor *t, float *out);

#endif
