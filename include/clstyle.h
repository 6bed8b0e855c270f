/*
 * clstyle: neural style transfer (Gatys, Ecker & Bethge) as a portable OpenCL engine.
 *
 * Usage:
 *
 *     cls_ctx_params params = cls_ctx_params_default();
 *     params.device_spec = "gpu";               // or NULL: $CLSTYLE_DEVICE, else first GPU
 *     cls_ctx *ctx = NULL;
 *     cls_status st = cls_ctx_create(&params, &ctx);
 *     if (st != CLS_OK) {
 *         fprintf(stderr, "%s: %s\n", cls_status_str(st), cls_last_error());
 *         return 1;
 *     }
 *     const cls_device_info *dev = cls_ctx_device(ctx);
 *     printf("running on %s (%s)\n", dev->name, dev->platform);
 *     cls_ctx_destroy(ctx);
 *
 * Every function that can fail returns a cls_status: CLS_OK (0) or a negative code.
 * OpenCL's own error codes are passed through unchanged; clstyle's start at -1024.
 * cls_last_error() then says what failed, in words, for the calling thread.
 * The library never prints, exits or aborts; diagnostics go to the log callback.
 */
#ifndef CLSTYLE_H
#define CLSTYLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLSTYLE_VERSION_MAJOR 0
#define CLSTYLE_VERSION_MINOR 1
#define CLSTYLE_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH". */
const char *cls_version(void);

/* ---------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------- */

/* X(name, value, description). OpenCL's codes (-1 .. -72 and extensions) are not listed
 * here but are valid cls_status values too; cls_status_str() names them. */
#define CLS_STATUS_LIST(X)                                                                         \
    X(CLS_OK, 0, "success")                                                                        \
    X(CLS_ERR_INVALID_ARGUMENT, -1024, "invalid argument")                                         \
    X(CLS_ERR_OUT_OF_HOST_MEMORY, -1025, "out of host memory")                                     \
    X(CLS_ERR_NO_DEVICE, -1026, "no OpenCL device available")                                      \
    X(CLS_ERR_DEVICE_SPEC, -1027, "device selection matches no device or several")                 \
    X(CLS_ERR_KERNEL_BUILD, -1028, "OpenCL kernel build failed")                                   \
    X(CLS_ERR_KERNEL_SOURCE, -1029, "OpenCL kernel source missing or unreadable")                  \
    X(CLS_ERR_KERNEL_NOT_FOUND, -1030, "no such OpenCL kernel")                                    \
    X(CLS_ERR_IO, -1031, "file input/output error")                                                \
    X(CLS_ERR_CACHE_MISS, -1032, "kernel cache has no usable entry")                               \
    X(CLS_ERR_BLAS, -1033, "CLBlast failed")                                                       \
    X(CLS_ERR_BLAS_ARGUMENT, -1034, "CLBlast rejected its arguments")                              \
    X(CLS_ERR_UNSUPPORTED, -1035, "not supported by this device or build")                         \
    X(CLS_ERR_OUT_OF_DEVICE_MEMORY, -1036, "out of device memory")                                 \
    X(CLS_ERR_SHAPE, -1037, "tensor shapes do not fit together")

#define CLS_STATUS_ENUM_ENTRY_(name, value, text) name = value,
typedef enum cls_status { CLS_STATUS_LIST(CLS_STATUS_ENUM_ENTRY_) } cls_status;
#undef CLS_STATUS_ENUM_ENTRY_

/* A static string naming the status: "CLS_ERR_NO_DEVICE: no OpenCL device available",
 * "CL_OUT_OF_RESOURCES", or "unknown status". Never NULL. */
const char *cls_status_str(cls_status status);

/* What the last failing call on this thread was doing when it failed: the call, the
 * OpenCL error name, the file, tensor or device involved, a build log. Empty string when
 * nothing has failed yet. Valid until the next failing call on the same thread. */
const char *cls_last_error(void);

/* ---------------------------------------------------------------------------------------
 * Logging: the library reports what it does through this callback, never to stdout.
 * ------------------------------------------------------------------------------------- */

typedef enum cls_log_level {
    CLS_LOG_WARN = 0,  /* something degraded but the call goes on (cache not writable) */
    CLS_LOG_INFO = 1,  /* what a user asked for with --verbose (device chosen, timings) */
    CLS_LOG_DEBUG = 2, /* details for developers (each cache lookup, build logs) */
} cls_log_level;

typedef void (*cls_log_fn)(void *user, cls_log_level level, const char *message);

/* ---------------------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------------------- */

typedef enum cls_device_type {
    CLS_DEVICE_OTHER = 0,
    CLS_DEVICE_GPU = 1,
    CLS_DEVICE_CPU = 2,
    CLS_DEVICE_ACCELERATOR = 3,
} cls_device_type;

/* One row of the device table. Strings are NUL-terminated, truncated if longer. */
typedef struct cls_device_info {
    int index;          /* position in the table: what `--device N` selects */
    int platform_index; /* P of `--device P:D` */
    int device_index;   /* D of `--device P:D`: index within its platform */
    char platform[128]; /* CL_PLATFORM_NAME, e.g. "Portable Computing Language" */
    char platform_version[128];
    char name[128];   /* CL_DEVICE_NAME */
    char vendor[128]; /* CL_DEVICE_VENDOR */
    cls_device_type type;
    char version[128];       /* CL_DEVICE_VERSION, e.g. "OpenCL 3.0 PoCL ..." */
    char driver_version[64]; /* CL_DRIVER_VERSION */
    uint32_t compute_units;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t local_mem_bytes;
    bool fp16; /* cl_khr_fp16 */
    bool fp64; /* cl_khr_fp64 or a non-zero CL_DEVICE_DOUBLE_FP_CONFIG */
} cls_device_info;

/* "gpu", "cpu", "accelerator" or "other". */
const char *cls_device_type_str(cls_device_type type);

/* Enumerates every device of every OpenCL platform, in platform order. *out is allocated
 * by the library (free with cls_device_list_free); *count may be 0 with CLS_OK when an
 * ICD loader is present but reports no platform. */
cls_status cls_device_list(cls_device_info **out, size_t *count);
void cls_device_list_free(cls_device_info *list);

/* Picks one device from a table with a selection spec:
 *   NULL or ""           the first GPU, else the first device
 *   "2"                  index into the table
 *   "1:0"                platform index : device index within that platform
 *   "gpu", "cpu", "accelerator"  the first device of that type
 *   anything else        case-insensitive substring of the platform or device name;
 *                        it must match exactly one device
 * On a spec that matches nothing or several devices, returns CLS_ERR_DEVICE_SPEC and
 * cls_last_error() lists the devices. Does not read the environment. */
cls_status cls_device_select(const cls_device_info *list, size_t count, const char *spec,
                             size_t *selected);

/* Writes the table in aligned columns, one device a line, with a header line. Returns a
 * string allocated with malloc (caller frees) or NULL when out of memory. */
char *cls_device_table_format(const cls_device_info *list, size_t count);

/* ---------------------------------------------------------------------------------------
 * Context: one device, its queue and every clstyle kernel, built (or loaded from the
 * on-disk kernel cache) once at creation.
 * ------------------------------------------------------------------------------------- */

typedef struct cls_ctx cls_ctx;

typedef struct cls_ctx_params {
    /* Device selection spec (see cls_device_select). NULL: $CLSTYLE_DEVICE, else the
     * default choice. */
    const char *device_spec;
    /* Directory of compiled kernel binaries. NULL: $XDG_CACHE_HOME/clstyle, else
     * $HOME/.cache/clstyle. */
    const char *cache_dir;
    /* Never read or write compiled kernels on disk. Also set by
     * $CLSTYLE_NO_KERNEL_CACHE=1. */
    bool disable_cache;
    /* Read the .cl sources from this directory instead of the copies built into the
     * library. NULL: $CLSTYLE_KERNEL_DIR when set, else the built-in sources. */
    const char *kernel_dir;
    /* Create the command queue with profiling enabled (benchmarks). */
    bool profiling;
    /* Receives progress and warnings; NULL discards them. */
    cls_log_fn log;
    void *log_user;
    /* Messages above this level are not formatted at all. */
    cls_log_level log_level;
} cls_ctx_params;

/* No device spec, default cache, built-in kernels, warnings only, no callback. */
cls_ctx_params cls_ctx_params_default(void);

/* How context creation went: where the time went and what the kernel cache did. */
typedef struct cls_ctx_startup {
    double seconds_total;   /* from entering cls_ctx_create to a ready context */
    double seconds_kernels; /* of which building or loading kernel programs */
    int programs;           /* kernel programs (one per cl/ file) */
    int cache_hits;         /* programs loaded from the on-disk cache */
    int cache_rejected;     /* cache files found but corrupt or mismatched, rebuilt */
    int compiled;           /* programs compiled from source */
} cls_ctx_startup;

cls_status cls_ctx_create(const cls_ctx_params *params, cls_ctx **out);
void cls_ctx_destroy(cls_ctx *ctx); /* NULL is a no-op */

const cls_device_info *cls_ctx_device(const cls_ctx *ctx);
const cls_ctx_startup *cls_ctx_startup_stats(const cls_ctx *ctx);

/* Runs every self-check kernel on the context's device and compares with values computed
 * on the host: a quick way to find a broken driver before a long run. CLS_OK when the
 * device computes correctly; CLS_ERR_UNSUPPORTED with the mismatch in cls_last_error()
 * otherwise. */
cls_status cls_ctx_self_check(cls_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* CLSTYLE_H */
