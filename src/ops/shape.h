/* The shape of an NCHW float32 tensor, as the op launchers take it. */
#ifndef CLS_OPS_SHAPE_H
#define CLS_OPS_SHAPE_H

#include "runtime/error.h"

#include <stddef.h>

typedef struct cls_shape {
    int n, c, h, w;
} cls_shape;

static inline size_t cls_shape_count(cls_shape s)
{
    return (size_t)s.n * (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

/* CLS_ERR_SHAPE naming the op unless every dimension is at least 1 and the element count
 * fits a 32-bit index (what the kernels use). */
cls_status cls_shape_check(cls_shape s, const char *op);

#endif
