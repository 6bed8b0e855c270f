/* Running a kernel by name with a list of arguments, and the context's reusable scratch
 * buffers: the boilerplate every op launcher would otherwise repeat. */
#ifndef CLS_RUNTIME_LAUNCH_H
#define CLS_RUNTIME_LAUNCH_H

#include "runtime/context.h"

/* One kernel argument: a value (size and address) or, with value NULL, local memory. */
typedef struct cls_arg {
    size_t size;
    const void *value;
} cls_arg;

#define CLS_ARG(x) ((cls_arg){sizeof(x), &(x)})
#define CLS_ARG_LOCAL(bytes) ((cls_arg){(bytes), NULL})

/* Sets the arguments and enqueues the kernel on the context's queue. global sizes are
 * rounded up to a multiple of local when local is given. Errors name the kernel. */
cls_status cls_launch(cls_ctx *ctx, const char *kernel, const cls_arg *args, int nargs, int dims,
                      const size_t *global, const size_t *local);

/* A device buffer of at least `bytes` for slot, kept by the context and grown (never
 * shrunk) on demand, so ops that need temporary space do not allocate per call. Valid
 * until the next request for the same slot. */
cls_status cls_ctx_scratch(cls_ctx *ctx, cls_scratch_slot slot, size_t bytes, cl_mem *out);

/* Creates a device buffer, recording what it is for when that fails. */
cls_status cls_buffer_create(cls_ctx *ctx, size_t bytes, const char *what, cl_mem *out);

#endif
