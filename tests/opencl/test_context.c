/* Context creation on a real device: every kernel builds, the self-check passes, the
 * kernel cache is hit on the second start and a corrupted entry is rebuilt, kernel
 * sources can come from disk, build errors carry the log; without build_all_kernels, a
 * context builds only the programs of the kernels it asks for. */
#include "check.h"
#include "runtime/context.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

static char cache_dir[256];
static const char *cl_dir;
static int warnings;

static void count_warnings(void *user, cls_log_level level, const char *message)
{
    (void)user;
    if (level == CLS_LOG_WARN) {
        warnings++;
        printf("  warning: %s\n", message);
    }
}

static cls_ctx_params params_with_cache(const char *dir)
{
    cls_ctx_params p = cls_ctx_params_default();
    p.device_spec = getenv("CLSTYLE_TEST_DEVICE");
    p.cache_dir = dir;
    p.log = count_warnings;
    p.build_all_kernels = true;
    return p;
}

static int cache_files(void)
{
    DIR *d = opendir(cache_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, ".clbin") != NULL && strstr(e->d_name, ".tmp") == NULL;
    if (d)
        closedir(d);
    return n;
}

static void device_present(void)
{
    cls_device_info *list = NULL;
    size_t count = 0;
    CHECK_STATUS(cls_device_list(&list, &count), CLS_OK);
    if (count == 0)
        fprintf(stderr, "no OpenCL device found: install pocl-opencl-icd, or run only the unit "
                        "tests with `meson test --suite unit`\n");
    CHECK(count > 0);
    cls_device_list_free(list);
}

static void cold_then_warm_start(void)
{
    cls_ctx_params p = params_with_cache(cache_dir);
    cls_ctx *ctx = NULL;
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK);
    if (!ctx)
        return;
    const cls_ctx_startup cold = *cls_ctx_startup_stats(ctx);
    CHECK(cold.programs > 0);
    CHECK(cold.compiled == cold.programs && cold.cache_hits == 0);
    CHECK_STATUS(cls_ctx_self_check(ctx), CLS_OK);
    cls_ctx_destroy(ctx);
    CHECK(cache_files() == cold.programs);

    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK);
    if (!ctx)
        return;
    const cls_ctx_startup warm = *cls_ctx_startup_stats(ctx);
    CHECK(warm.cache_hits == warm.programs && warm.compiled == 0);
    CHECK_STATUS(cls_ctx_self_check(ctx), CLS_OK); /* the cached binaries compute right */
    printf("  cold start %.3f s, warm start %.3f s\n", cold.seconds_total, warm.seconds_total);
    CHECK(warm.seconds_total < cold.seconds_total);
    cls_ctx_destroy(ctx);
}

/* Damages every cache file in the middle; the next start must rebuild all of them. */
static void corrupted_cache_is_rebuilt(void)
{
    DIR *d = opendir(cache_dir);
    int damaged = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (!strstr(e->d_name, ".clbin"))
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", cache_dir, e->d_name);
        FILE *f = fopen(path, "r+b");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, size / 2, SEEK_SET);
        fputs("garbage in the middle", f);
        fclose(f);
        damaged++;
    }
    if (d)
        closedir(d);
    CHECK(damaged > 0);

    cls_ctx_params p = params_with_cache(cache_dir);
    cls_ctx *ctx = NULL;
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK);
    if (!ctx)
        return;
    const cls_ctx_startup *s = cls_ctx_startup_stats(ctx);
    CHECK(s->cache_rejected == damaged);
    CHECK(s->compiled == damaged);
    CHECK_STATUS(cls_ctx_self_check(ctx), CLS_OK);
    cls_ctx_destroy(ctx);

    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK); /* and the rebuilt entries are good */
    if (ctx)
        CHECK(cls_ctx_startup_stats(ctx)->cache_hits == cls_ctx_startup_stats(ctx)->programs);
    cls_ctx_destroy(ctx);
}

static void unwritable_cache_only_warns(void)
{
    char blocker[300];
    snprintf(blocker, sizeof blocker, "%s/file", cache_dir);
    FILE *f = fopen(blocker, "w");
    if (f)
        fclose(f);
    char below[340];
    snprintf(below, sizeof below, "%s/cache", blocker);
    cls_ctx_params p = params_with_cache(below);
    warnings = 0;
    cls_ctx *ctx = NULL;
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK);
    cls_ctx_destroy(ctx); /* which saves the binaries */
    CHECK(warnings > 0);
}

static void disabled_cache_writes_nothing(void)
{
    char empty[300];
    snprintf(empty, sizeof empty, "%s/disabled", cache_dir);
    cls_ctx_params p = params_with_cache(empty);
    p.disable_cache = true;
    cls_ctx *ctx = NULL;
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK);
    if (ctx)
        CHECK(cls_ctx_startup_stats(ctx)->cache_hits == 0);
    cls_ctx_destroy(ctx);
    CHECK(access(empty, F_OK) != 0);
}

static void kernels_from_directory(void)
{
    cls_ctx_params p = params_with_cache(cache_dir);
    p.kernel_dir = cl_dir;
    cls_ctx *ctx = NULL;
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK);
    if (ctx)
        CHECK_STATUS(cls_ctx_self_check(ctx), CLS_OK);
    cls_ctx_destroy(ctx);

    p.kernel_dir = "/nonexistent-kernel-dir";
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_ERR_KERNEL_SOURCE);
    CHECK_CONTAINS(cls_last_error(), "/nonexistent-kernel-dir/");
}

/* A broken kernel file: the error names the file, the line and the device. */
static void build_error_carries_log(void)
{
    char broken[300];
    snprintf(broken, sizeof broken, "%s/broken-cl", cache_dir);
    char cmd[900];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/*.cl %s/", broken, cl_dir, broken);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "printf '\\n\\nkernel void broken(global float *x) { x[0] = y; }\\n'"
             " >> %s/self_check.cl",
             broken);
    CHECK(system(cmd) == 0);
    cls_ctx_params p = params_with_cache(cache_dir);
    p.kernel_dir = broken;
    cls_ctx *ctx = NULL;
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_ERR_KERNEL_BUILD);
    CHECK_CONTAINS(cls_last_error(), "self_check.cl");
    CHECK_CONTAINS(cls_last_error(), "undeclared identifier 'y'");
    cls_device_info *list = NULL;
    size_t count = 0;
    cls_device_list(&list, &count);
    if (count > 0)
        CHECK_CONTAINS(cls_last_error(), list[0].name);
    cls_device_list_free(list);
    cls_ctx_destroy(ctx);
}

/* Programs on first use: none at creation; a kernel's own program (found by its definition,
 * by the argument of the macro that defines it, past mentions in other files' comments);
 * an unknown name builds the rest and fails. */
static void lazy_builds_only_what_is_used(void)
{
    cls_ctx_params p = params_with_cache(cache_dir);
    p.build_all_kernels = false;
    cls_ctx *ctx = NULL;
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK);
    if (!ctx)
        return;
    CHECK(cls_ctx_startup_stats(ctx)->programs == 0);
    CHECK_STATUS(cls_ctx_self_check(ctx), CLS_OK);
    CHECK(cls_ctx_startup_stats(ctx)->programs == 1);
    static const char *const names[] = {"wino_gemm", "conv_kxk_bwb_k3_s1", "relu_forward"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cl_kernel k = NULL;
        const int before = cls_ctx_startup_stats(ctx)->programs;
        CHECK_STATUS(cls_ctx_kernel(ctx, names[i], &k), CLS_OK);
        CHECK(k != NULL);
        const int built = cls_ctx_startup_stats(ctx)->programs - before;
        printf("  %s: %d program%s built\n", names[i], built, built == 1 ? "" : "s");
        CHECK(built == 1);
    }
    cl_kernel k = NULL;
    CHECK_STATUS(cls_ctx_kernel(ctx, "no_such_kernel", &k), CLS_ERR_KERNEL_NOT_FOUND);
    CHECK(cls_ctx_startup_stats(ctx)->programs == (int)ctx->program_count);
    cls_ctx_destroy(ctx);
}

static void bad_spec_lists_devices(void)
{
    cls_ctx_params p = params_with_cache(cache_dir);
    p.device_spec = "99";
    cls_ctx *ctx = NULL;
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_ERR_DEVICE_SPEC);
    CHECK(ctx == NULL);
    CHECK_CONTAINS(cls_last_error(), "available devices");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CL_DIR\n", argv[0]);
        return 2;
    }
    cl_dir = argv[1];
    snprintf(cache_dir, sizeof cache_dir, "/tmp/clstyle-ctx-test-XXXXXX");
    if (!mkdtemp(cache_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(device_present);
    RUN(cold_then_warm_start);
    RUN(corrupted_cache_is_rebuilt);
    RUN(unwritable_cache_only_warns);
    RUN(disabled_cache_writes_nothing);
    RUN(kernels_from_directory);
    RUN(build_error_carries_log);
    RUN(lazy_builds_only_what_is_used);
    RUN(bad_spec_lists_devices);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cache_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", cache_dir);
    return check_report();
}
