/* The inside of a cls_ctx, shared by the runtime and the op launchers. */
#ifndef CLS_RUNTIME_CONTEXT_H
#define CLS_RUNTIME_CONTEXT_H

#include "runtime/error.h"
#include "runtime/tunables.h"

typedef struct cls_named_kernel {
    char name[64];
    cl_kernel kernel;
} cls_named_kernel;

/* Temporary device buffers kept by the context (see cls_ctx_scratch in runtime/launch.h). */
typedef enum cls_scratch_slot {
    CLS_SCRATCH_REDUCE, /* partial sums of reductions */
    CLS_SCRATCH_GRAM,   /* C x C temporaries of the Gram backward pass */
    /* The large ones, shared by operations that never run at the same time: */
    CLS_SCRATCH_WORK_A, /* Winograd: transformed input (forward) or its gradient (backward);
                           split-K Gram matrices: the partial products */
    CLS_SCRATCH_WORK_B, /* Winograd: transformed output (forward) or output gradient */
    CLS_SCRATCH_SLOTS
} cls_scratch_slot;

/* A measured choice of 3x3 convolution algorithm for one layer shape (ops/conv_select.c). */
typedef struct cls_conv_choice {
    int n, cin, h, w, cout;
    int algo;     /* cls_conv_algo */
    double ms[2]; /* forward + backward-data: direct, Winograd */
} cls_conv_choice;

struct cls_ctx {
    cls_device_info info;
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;

    cls_tunables tunables;
    bool reproducible;                  /* choices by rule only (cls_ctx_params.reproducible) */
    cl_program *programs;               /* one per embedded .cl file, in cls_kernel_sources order */
    bool *unsaved_programs;             /* compiled this run, their binaries not yet in the cache */
    struct cls_cache_key *unsaved_keys; /* ... and the cache key each was built under */
    size_t program_count;
    cls_named_kernel *kernels; /* every kernel of every program */
    size_t kernel_count;

    char cache_dir[4096];  /* empty: cache disabled */
    char kernel_dir[4096]; /* empty: built-in sources */
    char tuning_dir[4096]; /* where the BLAS tuning file lives; empty: nowhere */

    cls_conv_choice *conv_choices; /* measured this run or read from the cache */
    size_t conv_choice_count;

    cl_mem scratch[CLS_SCRATCH_SLOTS];
    size_t scratch_bytes[CLS_SCRATCH_SLOTS];

    /* CLSTYLE_PROFILE=1: the per-kernel table (runtime/profile.h) */
    bool profile_on;
    struct cls_profile_row *profile;
    size_t profile_count;

    cls_log_fn log;
    void *log_user;
    cls_log_level log_level;
    cls_ctx_startup startup;
};

/* Sends a message to the context's log callback when level is enabled. */
void cls_log(const cls_ctx *ctx, cls_log_level level, const char *fmt, ...) CLS_PRINTF(3, 4);

/* The kernel with this function name. Programs are built on first use (through the kernel
 * cache): a run builds only the cl/ files it launches kernels from, since building one from
 * a fresh cache takes seconds on some drivers (PoCL: up to 5 s for cl/conv_kxk.cl). */
cls_status cls_ctx_kernel(cls_ctx *ctx, const char *name, cl_kernel *out);

/* The empty program table (one entry per embedded .cl file, none built). */
cls_status cls_programs_init(cls_ctx *ctx);
/* Builds every program not built yet, updating ctx->kernels and the startup counters. */
cls_status cls_programs_build_all(cls_ctx *ctx);
/* Saves the binaries of the programs compiled this run to the kernel cache (best effort:
 * a failure is a warning). cls_programs_release does it first. */
void cls_programs_save(cls_ctx *ctx);
void cls_programs_release(cls_ctx *ctx);

/* Monotonic seconds, for startup timings. */
double cls_now_seconds(void);

#endif
