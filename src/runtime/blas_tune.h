/* CLBlast's GEMM tuning parameters for the context's device: reading and overriding them,
 * the per-device file `clstyle tune` writes and context creation applies, and the search
 * itself (cls_ctx_tune_blas in clstyle.h). */
#ifndef CLS_RUNTIME_BLAS_TUNE_H
#define CLS_RUNTIME_BLAS_TUNE_H

#include <CL/cl.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { CLS_BLAS_MAX_PARAMS = 24, CLS_BLAS_NAME_LEN = 32, CLS_BLAS_MAX_KERNELS = 8 };

/* One CLBlast kernel's single-precision parameters ("Xgemm": MWG=64, NWG=64, ...). */
typedef struct cls_blas_params {
    char kernel[CLS_BLAS_NAME_LEN];
    int count;
    char names[CLS_BLAS_MAX_PARAMS][CLS_BLAS_NAME_LEN];
    size_t values[CLS_BLAS_MAX_PARAMS];
} cls_blas_params;

/* CLBlast's current parameters of kernel on device (its database, or what was overridden
 * last), names sorted. Returns a CLBlastStatusCode (0 = success). Only CLBlast's C++ API
 * offers this, hence blas_params.cc. */
int cls_blas_params_retrieve(cl_device_id device, const char *kernel, cls_blas_params *out);

#ifdef __cplusplus
}

#else /* the rest is C */

#include "runtime/context.h"

/* The value of name in p, or NULL. */
size_t *cls_blas_params_find(cls_blas_params *p, const char *name);

/* "NAME=V NAME=V ..." into buf. */
void cls_blas_params_format(const cls_blas_params *p, char *buf, size_t size);

/* CLBlastOverrideParameters for the device: the kernel is recompiled with these values at
 * its next use. */
cls_status cls_blas_params_override(cl_device_id device, const cls_blas_params *p);

/* The tuning file of the context's device: <dir>/blas-<key>.txt, the key a hash of the
 * platform, device, driver and CLBlast versions. CLS_ERR_IO when there is no cache
 * directory. */
cls_status cls_blas_tuning_path(const cls_ctx *ctx, char *buf, size_t size);

/* Writes the parameter sets (count may be 0: tuned, CLBlast's defaults were best) to path
 * atomically, with the device identity and a checksum. */
cls_status cls_blas_tuning_write(const cls_ctx *ctx, const char *path, const cls_blas_params *sets,
                                 int count);

/* Reads path: CLS_ERR_CACHE_MISS when it does not exist; CLS_ERR_IO with the reason when it
 * is unreadable, corrupt (checksum), malformed or written for another device or driver. */
cls_status cls_blas_tuning_read(const cls_ctx *ctx, const char *path, cls_blas_params *sets,
                                int max, int *count);

/* At context creation: applies the device's tuning file when there is one (silently when
 * there is none; a warning, and nothing applied, when it is corrupt or rejected). Sets
 * ctx->startup.blas_tuned_kernels. */
void cls_blas_tuning_apply(cls_ctx *ctx);

#endif

#endif
