/* Validating tensor shapes before launching kernels on them. */
#include "ops/shape.h"

#include <stdint.h>

cls_status cls_shape_check(cls_shape s, const char *op)
{
    if (s.n < 1 || s.c < 1 || s.h < 1 || s.w < 1)
        return cls_error(CLS_ERR_SHAPE, "%s: every dimension must be at least 1, got %dx%dx%dx%d",
                         op, s.n, s.c, s.h, s.w);
    if (cls_shape_count(s) > (size_t)INT32_MAX)
        return cls_error(CLS_ERR_SHAPE, "%s: tensor %dx%dx%dx%d has more than 2^31 elements", op,
                         s.n, s.c, s.h, s.w);
    return CLS_OK;
}
