/* A weight tensor read from its file into a new device buffer: what every network's loader
 * does with each of its tensors. */
#ifndef CLS_WEIGHTS_WEIGHTS_UPLOAD_H
#define CLS_WEIGHTS_WEIGHTS_UPLOAD_H

#include "runtime/context.h"
#include "weights/weights.h"

/* Reads t as float32 into host (at least t->count floats: the caller's staging buffer),
 * creates *out on ctx's device (named `what` in errors) and copies the values there. */
cls_status cls_weights_upload(cls_ctx *ctx, cls_weights *w, const cls_weight_tensor *t,
                              const char *what, float *host, cl_mem *out);

#endif
