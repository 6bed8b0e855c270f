/* Writes weight files the way their real producers do, for tests and make-weights:
 * safetensors, PyTorch zip checkpoints (torch.save) and legacy PyTorch checkpoints
 * (_use_new_zipfile_serialization=False), with the exact pickle opcodes and memo use of
 * torch.save on a state_dict, so no Python or torch is needed to make test files. */
#ifndef CLS_TESTS_WEIGHTS_WRITER_H
#define CLS_TESTS_WEIGHTS_WRITER_H

#include "weights/weights.h"

#include <stddef.h>
#include <stdint.h>

typedef struct writer_tensor {
    const char *name;
    int ndim;
    int64_t shape[CLS_WEIGHT_MAX_DIMS];
    const float *data; /* writer_count(t) values, stored converted to the file's dtype */
} writer_tensor;

typedef struct writer_options {
    cls_dtype dtype;
    /* pth formats: the state_dict's _metadata (module versions) as model.state_dict() has;
     * NULL-terminated module names, "" first. */
    const char *const *metadata_modules;
    /* each module's version (InstanceNorm2d and BatchNorm2d: 2), or NULL for 1 everywhere */
    const int *metadata_versions;
} writer_options;

uint64_t writer_count(const writer_tensor *t);

cls_status writer_safetensors(const char *path, const writer_tensor *t, size_t n,
                              const writer_options *opt);
cls_status writer_pth(const char *path, const writer_tensor *t, size_t n,
                      const writer_options *opt);
cls_status writer_pth_legacy(const char *path, const writer_tensor *t, size_t n,
                             const writer_options *opt);

#endif
