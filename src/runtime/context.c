/* cls_ctx: choosing the device, creating its context and queue, building the kernels. */
#include "runtime/context.h"
#include "runtime/blas_tune.h"
#include "runtime/device.h"
#include "runtime/kernel_cache.h"
#include "runtime/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cls_ctx_params cls_ctx_params_default(void)
{
    return (cls_ctx_params){.log_level = CLS_LOG_WARN};
}

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static cls_status choose_device(cls_ctx *ctx, const char *spec)
{
    cls_status status = CLS_OK;
    cls_device_info *list = NULL;
    cls_device_handles *handles = NULL;
    size_t count = 0, chosen = 0;
    CLS_TRY(cls_device_enumerate(&list, &handles, &count));
    CLS_TRY(cls_device_select(list, count, spec, &chosen));
    ctx->info = list[chosen];
    ctx->platform = handles[chosen].platform;
    ctx->device = handles[chosen].device;
fail:
    free(list);
    free(handles);
    return status;
}

static cls_status create_queue(cls_ctx *ctx, bool profiling)
{
    cls_status status = CLS_OK;
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform, 0};
    ctx->context = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    CLS_CHECK_CL(err, "clCreateContext");
    ctx->queue = clCreateCommandQueue(ctx->context, ctx->device,
                                      profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    CLS_CHECK_CL(err, "clCreateCommandQueue");
fail:
    if (status != CLS_OK)
        cls_error_context(status, "device %d \"%s\" (%s)", ctx->info.index, ctx->info.name,
                          ctx->info.platform);
    return status;
}

/* Decides where compiled kernels live; a cache that cannot be located is only a warning. */
static void choose_cache_dir(cls_ctx *ctx, const cls_ctx_params *params)
{
    ctx->cache_dir[0] = '\0';
    if (params->disable_cache || env_flag("CLSTYLE_NO_KERNEL_CACHE")) {
        cls_log(ctx, CLS_LOG_INFO, "kernel cache: disabled");
        return;
    }
    if (params->cache_dir) {
        snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s", params->cache_dir);
    } else if (cls_cache_default_dir(ctx->cache_dir, sizeof ctx->cache_dir) != CLS_OK) {
        cls_log(ctx, CLS_LOG_WARN, "kernel cache: %s; compiling kernels every run",
                cls_last_error());
        cls_error_clear();
        ctx->cache_dir[0] = '\0';
        return;
    }
    cls_log(ctx, CLS_LOG_DEBUG, "kernel cache: %s", ctx->cache_dir);
}

/* The BLAS tuning file lives in the cache directory even when the kernel cache is off. */
static void apply_blas_tuning(cls_ctx *ctx, const cls_ctx_params *params)
{
    ctx->tuning_dir[0] = '\0';
    if (params->cache_dir)
        snprintf(ctx->tuning_dir, sizeof ctx->tuning_dir, "%s", params->cache_dir);
    else if (cls_cache_default_dir(ctx->tuning_dir, sizeof ctx->tuning_dir) != CLS_OK) {
        cls_error_clear();
        ctx->tuning_dir[0] = '\0';
    }
    if (ctx->reproducible) {
        cls_log(ctx, CLS_LOG_INFO, "BLAS tuning: not applied (reproducible)");
        return;
    }
    if (params->no_blas_tuning || env_flag("CLSTYLE_NO_BLAS_TUNING")) {
        cls_log(ctx, CLS_LOG_INFO, "BLAS tuning: not applied (asked not to)");
        return;
    }
    cls_blas_tuning_apply(ctx);
}

static void choose_kernel_dir(cls_ctx *ctx, const cls_ctx_params *params)
{
    const char *dir = params->kernel_dir ? params->kernel_dir : getenv("CLSTYLE_KERNEL_DIR");
    ctx->kernel_dir[0] = '\0';
    if (dir && *dir) {
        snprintf(ctx->kernel_dir, sizeof ctx->kernel_dir, "%s", dir);
        cls_log(ctx, CLS_LOG_INFO, "reading kernel sources from %s", ctx->kernel_dir);
    }
}

cls_status cls_ctx_create(const cls_ctx_params *params_in, cls_ctx **out)
{
    cls_status status = CLS_OK;
    double start = cls_now_seconds();
    cls_ctx_params params = params_in ? *params_in : cls_ctx_params_default();
    if (!out)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "cls_ctx_create: NULL output pointer");
    *out = NULL;
    cls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating a context");
    ctx->log = params.log;
    ctx->log_user = params.log_user;
    ctx->log_level = params.log_level;

    const char *spec = params.device_spec ? params.device_spec : getenv("CLSTYLE_DEVICE");
    CLS_TRY(choose_device(ctx, spec));
    cls_log(ctx, CLS_LOG_INFO, "device %d: %s (%s, %s, driver %s)", ctx->info.index, ctx->info.name,
            ctx->info.platform, cls_device_type_str(ctx->info.type), ctx->info.driver_version);
    ctx->profile_on = env_flag("CLSTYLE_PROFILE");
    CLS_TRY(create_queue(ctx, params.profiling));
    ctx->tunables = cls_tunables_for(&ctx->info);
    ctx->reproducible = params.reproducible || env_flag("CLSTYLE_REPRODUCIBLE");
    if (ctx->reproducible)
        cls_log(ctx, CLS_LOG_INFO,
                "reproducible: convolution algorithms by the device rule, none timed");
    choose_cache_dir(ctx, &params);
    choose_kernel_dir(ctx, &params);
    apply_blas_tuning(ctx, &params);
    CLS_TRY(cls_programs_init(ctx));
    if (params.build_all_kernels)
        CLS_TRY(cls_programs_build_all(ctx));

    ctx->startup.seconds_total = cls_now_seconds() - start;
    if (params.build_all_kernels)
        cls_log(ctx, CLS_LOG_INFO,
                "kernels ready in %.3f s: %d programs, %d from the kernel cache, %d compiled%s",
                ctx->startup.seconds_total, ctx->startup.programs, ctx->startup.cache_hits,
                ctx->startup.compiled,
                ctx->startup.cache_rejected ? " (rejected cache files were rebuilt)" : "");
    else
        cls_log(ctx, CLS_LOG_INFO, "device ready in %.3f s; kernel programs build on first use",
                ctx->startup.seconds_total);
    *out = ctx;
    return CLS_OK;
fail:
    cls_ctx_destroy(ctx);
    return status;
}

void cls_ctx_destroy(cls_ctx *ctx)
{
    if (!ctx)
        return;
    cls_profile_report(ctx);
    cls_programs_release(ctx);
    free(ctx->conv_choices);
    for (int i = 0; i < CLS_SCRATCH_SLOTS; i++)
        if (ctx->scratch[i])
            clReleaseMemObject(ctx->scratch[i]);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->context)
        clReleaseContext(ctx->context);
    free(ctx);
}

const cls_device_info *cls_ctx_device(const cls_ctx *ctx)
{
    return &ctx->info;
}

bool cls_ctx_gram_uses_clblast(const cls_ctx *ctx)
{
    return !ctx->tunables.gram_kernel;
}

const cls_ctx_startup *cls_ctx_startup_stats(const cls_ctx *ctx)
{
    return &ctx->startup;
}

#define CLS_STRINGIFY_(x) #x
#define CLS_VERSION_TEXT_(major, minor, patch)                                                     \
    CLS_STRINGIFY_(major) "." CLS_STRINGIFY_(minor) "." CLS_STRINGIFY_(patch)

const char *cls_version(void)
{
    return CLS_VERSION_TEXT_(CLSTYLE_VERSION_MAJOR, CLSTYLE_VERSION_MINOR, CLSTYLE_VERSION_PATCH);
}
