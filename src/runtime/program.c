/* Building the kernel programs at context creation: source (built-in or from
 * CLSTYLE_KERNEL_DIR), then the on-disk binary cache, then the compiler. */
#include "runtime/context.h"
#include "runtime/kernel_cache.h"
#include "runtime/kernel_sources.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kernels stay within OpenCL C 1.2 so old, Apple and mobile drivers build them. */
static const char build_options[] = "-cl-std=CL1.2";

/* Bumped when the cache file contents change meaning (not the file format). */
static const char cache_namespace[] = "clstyle kernel cache v1";

enum { MAX_SOURCE_BYTES = 4 << 20, MAX_LOG_IN_ERROR = 12000 };

static cls_status read_source_file(const char *dir, const char *file, char **text)
{
    cls_status status = CLS_OK;
    char path[4200];
    FILE *f = NULL;
    char *buf = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    f = fopen(path, "rb");
    if (!f) {
        status =
            cls_error(CLS_ERR_KERNEL_SOURCE,
                      "cannot open %s (CLSTYLE_KERNEL_DIR=%s must hold the cl/ files)", path, dir);
        goto fail;
    }
    buf = malloc(MAX_SOURCE_BYTES + 1);
    CLS_CHECK_ALLOC(buf, "a kernel source");
    size_t n = fread(buf, 1, MAX_SOURCE_BYTES + 1, f);
    if (ferror(f) || n > MAX_SOURCE_BYTES) {
        status = cls_error(CLS_ERR_KERNEL_SOURCE, "cannot read %s (error, or over 4 MiB)", path);
        goto fail;
    }
    buf[n] = '\0';
    fclose(f);
    *text = buf;
    return CLS_OK;
fail:
    if (f)
        fclose(f);
    free(buf);
    return status;
}

/* The exact text handed to the compiler: the device's tunables, then the file. The #line
 * directive keeps the driver's line numbers equal to those of the .cl file. */
static cls_status full_source(const cls_ctx *ctx, const cls_kernel_source *src, char **out)
{
    cls_status status = CLS_OK;
    char *from_disk = NULL;
    const char *text = src->text;
    if (ctx->kernel_dir[0]) {
        CLS_TRY(read_source_file(ctx->kernel_dir, src->file, &from_disk));
        text = from_disk;
    }
    char prelude[512];
    cls_tunables_prelude(&ctx->tunables, prelude, sizeof prelude);
    size_t size = strlen(prelude) + strlen(src->file) + strlen(text) + 64;
    char *full = malloc(size);
    CLS_CHECK_ALLOC(full, "a kernel source");
    snprintf(full, size, "%s#line 1 \"%s\"\n%s", prelude, src->file, text);
    *out = full;
fail:
    free(from_disk);
    return status;
}

static cls_cache_key program_key(const cls_ctx *ctx, const char *source)
{
    const char *parts[] = {cache_namespace,
                           source,
                           build_options,
                           ctx->info.platform,
                           ctx->info.platform_version,
                           ctx->info.name,
                           ctx->info.version,
                           ctx->info.driver_version};
    return cls_cache_key_of(parts, sizeof parts / sizeof parts[0]);
}

static cls_status build_failure(const cls_ctx *ctx, cl_program program, const char *file,
                                cl_int err)
{
    size_t size = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) ==
            CL_SUCCESS &&
        size > 0 && (log = malloc(size + 1)) != NULL) {
        if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, size, log, NULL) !=
            CL_SUCCESS)
            size = 0;
        log[size] = '\0';
    }
    const char *text = log ? log : "(the driver gave no build log)";
    size_t len = strlen(text);
    cls_log(ctx, CLS_LOG_DEBUG, "build log for %s:\n%s", file, text);
    cls_status status = cls_error(
        CLS_ERR_KERNEL_BUILD, "building %s for device \"%s\" (%s, driver %s) failed with %s:\n%s%s",
        file, ctx->info.name, ctx->info.platform, ctx->info.driver_version,
        cls_cl_error_name(err) ? cls_cl_error_name(err) : "an OpenCL error",
        len > MAX_LOG_IN_ERROR ? "[...]" : "",
        len > MAX_LOG_IN_ERROR ? text + len - MAX_LOG_IN_ERROR : text);
    free(log);
    return status;
}

static cls_status compile_source(cls_ctx *ctx, const char *file, const char *source,
                                 cl_program *out)
{
    cl_int err = CL_SUCCESS;
    cl_program program = clCreateProgramWithSource(ctx->context, 1, &source, NULL, &err);
    if (err != CL_SUCCESS)
        return cls_error_cl(err, "clCreateProgramWithSource");
    err = clBuildProgram(program, 1, &ctx->device, build_options, NULL, NULL);
    if (err != CL_SUCCESS) {
        cls_status status = build_failure(ctx, program, file, err);
        clReleaseProgram(program);
        return status;
    }
    *out = program;
    return CLS_OK;
}

/* A cached binary is only a shortcut: if the driver refuses it, the caller compiles. */
static bool load_binary(cls_ctx *ctx, const void *binary, size_t size, cl_program *out)
{
    cl_int err = CL_SUCCESS, binary_status = CL_SUCCESS;
    const unsigned char *bytes = binary;
    cl_program program = clCreateProgramWithBinary(ctx->context, 1, &ctx->device, &size, &bytes,
                                                   &binary_status, &err);
    if (err != CL_SUCCESS || binary_status != CL_SUCCESS) {
        if (err == CL_SUCCESS)
            clReleaseProgram(program);
        return false;
    }
    if (clBuildProgram(program, 1, &ctx->device, build_options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(program);
        return false;
    }
    *out = program;
    return true;
}

static cls_status program_binary(cl_program program, unsigned char **binary, size_t *size)
{
    *binary = NULL;
    cl_int err = clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof *size, size, NULL);
    if (err != CL_SUCCESS)
        return cls_error_cl(err, "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
    if (*size == 0)
        return cls_error(CLS_ERR_UNSUPPORTED, "the driver returns no program binaries");
    *binary = malloc(*size);
    if (!*binary)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating a program binary");
    err = clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof *binary, binary, NULL);
    if (err != CL_SUCCESS) {
        free(*binary);
        *binary = NULL;
        return cls_error_cl(err, "clGetProgramInfo(CL_PROGRAM_BINARIES)");
    }
    return CLS_OK;
}

/* Saving is best effort: a read-only or full cache directory costs speed, not the run. */
static void store_binary(cls_ctx *ctx, const cls_cache_key *key, cl_program program,
                         const char *file)
{
    unsigned char *binary = NULL;
    size_t size = 0;
    cls_status status = program_binary(program, &binary, &size);
    if (status == CLS_OK)
        status = cls_cache_store(ctx->cache_dir, key, binary, size);
    free(binary);
    if (status != CLS_OK) {
        cls_log(ctx, CLS_LOG_WARN,
                "kernel cache: not saving %s: %s (kernels will be compiled "
                "again next time; set XDG_CACHE_HOME to a writable directory)",
                file, cls_last_error());
        cls_error_clear();
    }
}

static bool load_cached(cls_ctx *ctx, const cls_cache_key *key, const char *file, cl_program *out)
{
    void *binary = NULL;
    size_t size = 0;
    bool rejected = false;
    if (cls_cache_load(ctx->cache_dir, key, &binary, &size, &rejected) != CLS_OK) {
        if (rejected) {
            ctx->startup.cache_rejected++;
            cls_log(ctx, CLS_LOG_INFO, "kernel cache: %s; rebuilding", cls_last_error());
        } else {
            cls_log(ctx, CLS_LOG_DEBUG, "kernel cache: miss for %s", file);
        }
        cls_error_clear();
        return false;
    }
    bool loaded = load_binary(ctx, binary, size, out);
    free(binary);
    if (!loaded) {
        ctx->startup.cache_rejected++;
        cls_log(ctx, CLS_LOG_INFO,
                "kernel cache: driver refused the cached binary of %s; "
                "rebuilding",
                file);
    }
    return loaded;
}

/* Builds program i from the cache or from source. A compiled program's binary is saved to
 * the cache when the context is destroyed (cls_programs_save), not now: asking PoCL for a
 * binary compiles every kernel of the program once more (for any work-group size), 5.5 s
 * for a style transfer's programs on 2 cores, which would delay the first iteration. */
static cls_status build_one(cls_ctx *ctx, size_t i)
{
    const cls_kernel_source *src = &cls_kernel_sources[i];
    cls_status status = CLS_OK;
    char *source = NULL;
    CLS_TRY(full_source(ctx, src, &source));
    cls_cache_key key = program_key(ctx, source);
    if (ctx->cache_dir[0] && load_cached(ctx, &key, src->file, &ctx->programs[i])) {
        ctx->startup.cache_hits++;
        cls_log(ctx, CLS_LOG_INFO, "kernel cache: hit for %s", src->file);
    } else {
        double start = cls_now_seconds();
        CLS_TRY(compile_source(ctx, src->file, source, &ctx->programs[i]));
        ctx->startup.compiled++;
        cls_log(ctx, CLS_LOG_INFO, "compiled %s in %.2f s", src->file, cls_now_seconds() - start);
        ctx->unsaved_programs[i] = ctx->cache_dir[0] != '\0';
        ctx->unsaved_keys[i] = key;
    }
fail:
    free(source);
    return status;
}

void cls_programs_save(cls_ctx *ctx)
{
    for (size_t i = 0; i < ctx->program_count; i++) {
        if (ctx->unsaved_programs[i] && ctx->programs[i])
            store_binary(ctx, &ctx->unsaved_keys[i], ctx->programs[i], cls_kernel_sources[i].file);
        ctx->unsaved_programs[i] = false;
    }
}

static cls_status add_kernels(cls_ctx *ctx, cl_program program)
{
    cls_status status = CLS_OK;
    cl_uint n = 0;
    cl_kernel *kernels = NULL;
    CLS_CHECK_CL(clCreateKernelsInProgram(program, 0, NULL, &n), "clCreateKernelsInProgram");
    kernels = calloc(n ? n : 1, sizeof *kernels);
    CLS_CHECK_ALLOC(kernels, "the kernel table");
    CLS_CHECK_CL(clCreateKernelsInProgram(program, n, kernels, NULL), "clCreateKernelsInProgram");
    cls_named_kernel *grown = realloc(ctx->kernels, (ctx->kernel_count + n) * sizeof *grown);
    if (!grown) {
        for (cl_uint i = 0; i < n; i++)
            clReleaseKernel(kernels[i]);
        status = cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating the kernel table");
        goto fail;
    }
    ctx->kernels = grown;
    for (cl_uint i = 0; i < n; i++) {
        cls_named_kernel *entry = &ctx->kernels[ctx->kernel_count++];
        entry->kernel = kernels[i];
        entry->name[0] = '\0';
        clGetKernelInfo(kernels[i], CL_KERNEL_FUNCTION_NAME, sizeof entry->name, entry->name, NULL);
        entry->name[sizeof entry->name - 1] = '\0';
    }
fail:
    free(kernels);
    return status;
}

/* Builds program i (of cls_kernel_sources) and adds its kernels to the table. */
static cls_status build_program(cls_ctx *ctx, size_t i)
{
    cls_status status = CLS_OK;
    const double start = cls_now_seconds();
    CLS_TRY(build_one(ctx, i));
    CLS_TRY(add_kernels(ctx, ctx->programs[i]));
    ctx->startup.programs++;
fail:
    ctx->startup.seconds_kernels += cls_now_seconds() - start;
    return status;
}

cls_status cls_programs_init(cls_ctx *ctx)
{
    ctx->programs = calloc(cls_kernel_source_count, sizeof *ctx->programs);
    ctx->unsaved_programs = calloc(cls_kernel_source_count, sizeof *ctx->unsaved_programs);
    ctx->unsaved_keys = calloc(cls_kernel_source_count, sizeof *ctx->unsaved_keys);
    if (!ctx->programs || !ctx->unsaved_programs || !ctx->unsaved_keys)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "the program table");
    ctx->program_count = cls_kernel_source_count;
    /* Sources from a directory: a missing or unreadable file is an error now, not at the
     * first launch of one of its kernels. */
    for (size_t i = 0; ctx->kernel_dir[0] && i < cls_kernel_source_count; i++) {
        char *text = NULL;
        cls_status status = read_source_file(ctx->kernel_dir, cls_kernel_sources[i].file, &text);
        free(text);
        if (status != CLS_OK)
            return status;
    }
    return CLS_OK;
}

cls_status cls_programs_build_all(cls_ctx *ctx)
{
    cls_status status = CLS_OK;
    for (size_t i = 0; i < ctx->program_count; i++)
        if (!ctx->programs[i])
            CLS_TRY(build_program(ctx, i));
fail:
    return status;
}

void cls_programs_release(cls_ctx *ctx)
{
    if (ctx->programs && ctx->unsaved_programs && ctx->unsaved_keys)
        cls_programs_save(ctx);
    for (size_t i = 0; i < ctx->kernel_count; i++)
        clReleaseKernel(ctx->kernels[i].kernel);
    free(ctx->kernels);
    ctx->kernels = NULL;
    ctx->kernel_count = 0;
    for (size_t i = 0; i < ctx->program_count; i++)
        if (ctx->programs[i])
            clReleaseProgram(ctx->programs[i]);
    free(ctx->programs);
    free(ctx->unsaved_programs);
    free(ctx->unsaved_keys);
    ctx->programs = NULL;
    ctx->unsaved_programs = NULL;
    ctx->unsaved_keys = NULL;
    ctx->program_count = 0;
}

static bool find_kernel(const cls_ctx *ctx, const char *name, cl_kernel *out)
{
    for (size_t i = 0; i < ctx->kernel_count; i++) {
        if (strcmp(ctx->kernels[i].name, name) == 0) {
            *out = ctx->kernels[i].kernel;
            return true;
        }
    }
    return false;
}

/* Whether text defines the kernel ("kernel void name("). */
static bool defines(const char *text, const char *name)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "kernel void %s(", name);
    return strstr(text, pattern) != NULL;
}

/* Whether text holds name as a whole identifier: the argument of the macro that defines the
 * kernel (cl/conv_kxk.cl), or perhaps only a mention in a comment. */
static bool mentions(const char *text, const char *name)
{
    const size_t len = strlen(name);
    for (const char *at = strstr(text, name); at; at = strstr(at + 1, name)) {
        const bool starts = at == text || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
        const bool ends = !(isalnum((unsigned char)at[len]) || at[len] == '_');
        if (starts && ends)
            return true;
    }
    return false;
}

cls_status cls_ctx_kernel(cls_ctx *ctx, const char *name, cl_kernel *out)
{
    if (find_kernel(ctx, name, out))
        return CLS_OK;
    /* Not built yet: the unbuilt program that defines it, else those that mention the name,
     * one at a time, then (sources from CLSTYLE_KERNEL_DIR may differ from the built-in
     * ones) all the rest. */
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < ctx->program_count; i++) {
            const char *text = cls_kernel_sources[i].text;
            if (ctx->programs[i] || (pass == 0 && !defines(text, name)) ||
                (pass == 1 && !mentions(text, name)))
                continue;
            cls_status status = build_program(ctx, i);
            if (status != CLS_OK)
                return status;
            if (find_kernel(ctx, name, out))
                return CLS_OK;
        }
    }
    return cls_error(CLS_ERR_KERNEL_NOT_FOUND, "no kernel named %s in cl/", name);
}
