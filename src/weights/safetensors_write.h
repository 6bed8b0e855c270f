/* Writing float32 tensors as a safetensors file, the format PyTorch users load with
 * safetensors.torch.load_file and cls_weights_open reads back (a trained transformer network). */
#ifndef CLS_WEIGHTS_SAFETENSORS_WRITE_H
#define CLS_WEIGHTS_SAFETENSORS_WRITE_H

#include "runtime/error.h"

#include <stddef.h>
#include <stdint.h>

/* One tensor to write; the caller keeps everything it points to. */
typedef struct cls_tensor_out {
    const char *name;     /* e.g. "conv1.conv2d.weight": non-empty UTF-8, unique in the file */
    const float *data;    /* row-major, count = product of shape (may be NULL when 0) */
    int ndim;             /* 0 (a scalar) to 8 */
    const int64_t *shape; /* ndim non-negative sizes (may be NULL when ndim is 0) */
} cls_tensor_out;

/* Serialises the tensors as a safetensors file in memory: an 8-byte little-endian header
 * length, the JSON header (for each tensor its dtype "F32", shape and data_offsets, after an
 * "__metadata__" object of the metadata_count string pairs metadata[2k] -> metadata[2k + 1]
 * when metadata_count > 0), padded with spaces to a multiple of 8 bytes, then the tensors'
 * little-endian float32 values, contiguous, in the order given. *out (malloc'd, the caller
 * frees it) holds *size bytes; both are untouched on failure.
 * CLS_ERR_INVALID_ARGUMENT naming the problem for: a missing, empty, duplicate, too long
 * (>= CLS_WEIGHT_NAME_MAX bytes) or non-UTF-8 name, the reserved name "__metadata__", ndim
 * outside 0..8, a negative dimension, NULL data or shape where values are needed, NULL or
 * non-UTF-8 metadata, duplicate metadata keys, a header over the format's 100 MB limit.
 * CLS_ERR_OUT_OF_HOST_MEMORY when the file does not fit in memory. */
cls_status cls_safetensors_encode(const cls_tensor_out *tensors, size_t count,
                                  const char *const *metadata, size_t metadata_count, uint8_t **out,
                                  size_t *size);

/* Encodes as above and replaces path atomically (cls_write_file_atomic): on any failure (bad
 * input, disk full, a missing or unwritable directory) the previous file at path is left as it
 * was, no temporary file remains, and the status (CLS_ERR_IO for the file system) and
 * cls_last_error() say what failed. */
cls_status cls_safetensors_write(const char *path, const cls_tensor_out *tensors, size_t count,
                                 const char *const *metadata, size_t metadata_count);

#endif
