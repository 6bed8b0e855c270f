/* Recording what failed: the thread-local detail behind cls_last_error(), and the
 * CLS_TRY / CLS_CHECK_CL macros every function with a cleanup path uses. */
#ifndef CLS_RUNTIME_ERROR_H
#define CLS_RUNTIME_ERROR_H

#include "clstyle.h"

#include <CL/cl.h>

/* The ICD loader's "no platform" code (cl_khr_icd), not in every cl.h. */
#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

#if defined(__GNUC__)
#define CLS_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define CLS_PRINTF(fmt_index, first_arg)
#endif

/* Replaces the detail message and returns status, so callers can `return cls_error(...)`. */
cls_status cls_error(cls_status status, const char *fmt, ...) CLS_PRINTF(2, 3);

/* Puts "context: " in front of the current detail message, so an outer function can say
 * what it was doing ("loading kernel cache: ..."). Returns status unchanged. */
cls_status cls_error_context(cls_status status, const char *fmt, ...) CLS_PRINTF(2, 3);

/* Records a failed OpenCL call: "what: CL_OUT_OF_RESOURCES (-5)". Returns err as status. */
cls_status cls_error_cl(cl_int err, const char *what);

/* The name of an OpenCL error code, or NULL when it is not one. */
const char *cls_cl_error_name(cl_int err);

/* Forgets the detail message (the start of a public call that succeeded partway before). */
void cls_error_clear(void);

/* Both macros need `cls_status status` in scope and a `fail:` label that cleans up. */
#define CLS_TRY(expr)                                                                              \
    do {                                                                                           \
        status = (expr);                                                                           \
        if (status != CLS_OK)                                                                      \
            goto fail;                                                                             \
    } while (0)

#define CLS_CHECK_CL(err, what)                                                                    \
    do {                                                                                           \
        cl_int cls_err_ = (err);                                                                   \
        if (cls_err_ != CL_SUCCESS) {                                                              \
            status = cls_error_cl(cls_err_, (what));                                               \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* For allocations: records CLS_ERR_OUT_OF_HOST_MEMORY naming what was being allocated. */
#define CLS_CHECK_ALLOC(ptr, what)                                                                 \
    do {                                                                                           \
        if ((ptr) == NULL) {                                                                       \
            status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating %s", (what));               \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

#endif
