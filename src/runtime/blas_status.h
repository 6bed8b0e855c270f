/* Turning CLBlast's status codes into clstyle's. */
#ifndef CLS_RUNTIME_BLAS_STATUS_H
#define CLS_RUNTIME_BLAS_STATUS_H

#include "runtime/error.h"
#include "runtime/profile.h"

#include <clblast_c.h>

/* Records a failed CLBlast call. CLBlast codes that are OpenCL codes pass through;
 * its own codes (-1024 .. -1007 shared with clBLAS, -2050 .. -2039) are mapped onto
 * clstyle's, and the detail names the original code. */
cls_status cls_error_blas(CLBlastStatusCode code, const char *what);

#define CLS_CHECK_BLAS(code, what)                                                                 \
    do {                                                                                           \
        CLBlastStatusCode cls_blas_ = (code);                                                      \
        if (cls_blas_ != CLBlastSuccess) {                                                         \
            status = cls_error_blas(cls_blas_, (what));                                            \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* CLS_CHECK_BLAS for the routines a run calls, each a row of the CLSTYLE_PROFILE table
 * (runtime/profile.h) named by what. */
#define CLS_RUN_BLAS(ctx, code, what)                                                              \
    do {                                                                                           \
        double cls_start_ = 0.0;                                                                   \
        const bool cls_profiled_ = cls_profile_begin((ctx), &cls_start_);                          \
        CLBlastStatusCode cls_blas_ = (code);                                                      \
        if (cls_profiled_)                                                                         \
            cls_profile_end((ctx), (what), cls_start_);                                            \
        if (cls_blas_ != CLBlastSuccess) {                                                         \
            status = cls_error_blas(cls_blas_, (what));                                            \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

#endif
